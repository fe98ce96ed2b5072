//! `cargo xtask bench graph [--corpus DIR] [--sample N] [--limit N] [--work DIR]`:
//! the build graph of the whole azl4 corpus (`../shared/corpus/azl4/specs`)
//! for x86_64 and aarch64, timed the way `azldev build --plan` produces it
//! (`EvalSource`: the macro evaluator over rpm's macro files, rpmspec for
//! what it cannot evaluate, both cached by content hash), in one run:
//!
//! - **cold**: empty caches — read the spec directories, evaluate every
//!   spec for both arches, ask rpmspec for the rest (two queries per spec
//!   and arch), build both graphs and plans, write the caches;
//! - **warm**: the same again in a fresh producer with the caches filled
//!   (best of three) — read, hash, one pack file per arch, graph, plan;
//! - **evaluator, no facts cache**: every spec evaluated again (rpmspec's
//!   answers cached), what a run pays when every spec changed;
//! - next to **`rpmspec -q --buildrequires`** alone on an evenly spread
//!   sample of N specs (default 200), on all cores, scaled to the corpus
//!   and both arches — what the Azure Linux toolkit pays for its graph.
//!
//! The macro files are the host's (Debian's rpm, as in the seeded base
//! root), so specs that need Fedora's macros fail in rpmspec too; they are
//! counted and left out of the graph, the same in every measurement.
//! `--limit N` plans only the first N specs (for a quick check).
//! xtask uses the system allocator; the `azldev` binary uses mimalloc, so
//! the allocation-heavy parts run faster there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use azldev_build::eval_source::{DirProbe, EvalSource, macro_files};
use azldev_build::graph::{Graph, GraphOptions};
use azldev_build::{Arch, FactsSource, MacroInputs, RpmspecSource, SpecFacts, SpecInput};
use rayon::prelude::*;

fn corpus_specs(corpus: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for l in std::fs::read_dir(corpus).with_context(|| corpus.display().to_string())? {
        let l = l?;
        if !l.file_type()?.is_dir() {
            continue;
        }
        for c in std::fs::read_dir(l.path())? {
            let c = c?;
            let name = c.file_name().to_string_lossy().into_owned();
            if c.file_type()?.is_dir() && c.path().join(format!("{name}.spec")).is_file() {
                out.push((name, c.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_inputs(dirs: &[(String, PathBuf)]) -> Result<Vec<SpecInput>> {
    dirs.par_iter()
        .map(|(n, d)| SpecInput::from_dir(n, d).with_context(|| d.display().to_string()))
        .collect()
}

struct Run {
    #[allow(dead_code)]
    facts: Vec<Vec<(String, SpecFacts)>>,
    failed: Vec<usize>,
    graphs: Vec<Graph>,
    plans: Vec<azldev_build::Plan>,
}

fn plan_both(src: &dyn FactsSource, inputs: &[SpecInput]) -> Result<Run> {
    let mut run = Run {
        facts: Vec::new(),
        failed: Vec::new(),
        graphs: Vec::new(),
        plans: Vec::new(),
    };
    for arch in Arch::ALL {
        let (ok, failed) = azldev_build::facts(src, inputs, arch);
        run.failed.push(failed.len());
        let g = Graph::build(arch, ok.clone(), &GraphOptions::default());
        let p = g.plan(&[], &|_| None).map_err(|e| anyhow::anyhow!("{e}"))?;
        run.facts.push(ok);
        run.graphs.push(g);
        run.plans.push(p);
    }
    src.flush().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(run)
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

pub(crate) fn run(root: &Path, flag: impl Fn(&str) -> Result<Option<String>>) -> Result<()> {
    let corpus = flag("--corpus")?
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus/azl4/specs"));
    let sample: usize = flag("--sample")?.map(|s| s.parse()).transpose()?.unwrap_or(200);
    let limit: Option<usize> = flag("--limit")?.map(|s| s.parse()).transpose()?;
    let work = flag("--work")?
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench-graph"));
    let mut dirs = corpus_specs(&corpus)?;
    if let Some(l) = limit {
        dirs.truncate(l);
    }
    let n = dirs.len();
    eprintln!(
        "bench graph: {n} specs from {}, {} threads",
        corpus.display(),
        rayon::current_num_threads()
    );
    // `--cache DIR`: reuse a filled cache (a previous run's
    // target/bench-graph/facts-*); its "cold" run is then warm too.
    // Otherwise a fresh cache, the previous run's removed first (ours).
    std::fs::create_dir_all(&work)?;
    let reused = flag("--cache")?.map(PathBuf::from);
    let cache = match &reused {
        Some(c) => c.clone(),
        None => {
            for e in std::fs::read_dir(&work)? {
                let e = e?;
                if e.file_name().to_string_lossy().starts_with("facts-") {
                    std::fs::remove_dir_all(e.path())?;
                }
            }
            work.join(format!("facts-{}", std::process::id()))
        }
    };
    let producer = |facts_cache: bool| -> Result<EvalSource<RpmspecSource>> {
        let rpm = RpmspecSource::host(Some(cache.join("rpmspec")), MacroInputs::default())?;
        Ok(EvalSource::new(|a| macro_files(Path::new("/"), a), rpm)
            .with_probe(std::sync::Arc::new(DirProbe {
                root: PathBuf::from("/"),
            }))
            .with_shell(azldev_build::eval_source::root_shell(Path::new("/")))
            .with_cache(facts_cache.then(|| cache.join("eval"))))
    };

    // Cold.
    let t = Instant::now();
    let inputs = read_inputs(&dirs)?;
    let src = producer(true)?;
    let cold = plan_both(&src, &inputs)?;
    let cold_t = t.elapsed();
    let (evaluated, fell_back) = src.counts();
    eprintln!("  cold done in {}", secs(cold_t));
    let cold_label = if reused.is_some() {
        "(cache reused: NOT cold) "
    } else {
        "(empty caches; "
    };

    // Warm, best of three: read the tree, hash, look facts up, graph, plan.
    let mut best: Option<(Duration, Duration, Duration, Duration)> = None;
    let mut warm_plans = Vec::new();
    let mut hits = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let inputs = read_inputs(&dirs)?;
        let read = t.elapsed();
        let src = producer(true)?;
        let t = Instant::now();
        let facts: Vec<_> = Arch::ALL
            .into_iter()
            .map(|arch| azldev_build::facts(&src, &inputs, arch).0)
            .collect();
        let lookup = t.elapsed();
        hits = src.cache_hits();
        let t = Instant::now();
        let mut plans = Vec::new();
        let mut build = Duration::ZERO;
        for (arch, f) in Arch::ALL.into_iter().zip(facts) {
            let tb = Instant::now();
            let g = Graph::build(arch, f, &GraphOptions::default());
            build += tb.elapsed();
            plans.push(g.plan(&[], &|_| None).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        let graph = t.elapsed();
        eprintln!(
            "  warm run: read {} + facts {} + graph and plan {} (graph build {})",
            secs(read),
            secs(lookup),
            secs(graph),
            secs(build)
        );
        let total = read + lookup + graph;
        if best.is_none_or(|b| total < b.0) {
            best = Some((total, read, lookup, graph));
        }
        warm_plans = plans;
    }
    let (warm_t, read_t, lookup_t, graph_t) = best.context("three warm runs")?;
    let same = warm_plans == cold.plans;

    // The evaluator without the facts cache (rpmspec's answers cached).
    let inputs = read_inputs(&dirs)?;
    let src = producer(false)?;
    let t = Instant::now();
    let nocache = plan_both(&src, &inputs)?;
    let nocache_t = t.elapsed();
    let same_nocache = nocache.plans == cold.plans;

    // rpmspec --buildrequires on a spread sample, all cores.
    let step = (n / sample.max(1)).max(1);
    let picked: Vec<&(String, PathBuf)> = dirs.iter().step_by(step).take(sample).collect();
    let t = Instant::now();
    let rpm_ok: usize = picked
        .par_iter()
        .map(|(name, dir)| {
            let db = work.join("rpmdb");
            Command::new("rpmspec")
                .arg("--define")
                .arg(format!("_sourcedir {}", dir.display()))
                .arg("--define")
                .arg(format!("_dbpath {}", db.display()))
                .args(["-q", "--buildrequires"])
                .arg(dir.join(format!("{name}.spec")))
                .output()
                .map_or(0, |o| usize::from(o.status.success()))
        })
        .sum();
    let rpm_t = t.elapsed();
    let per_spec = rpm_t.as_secs_f64() / picked.len().max(1) as f64;
    let scaled = per_spec * n as f64 * 2.0;

    let mut report = String::new();
    report.push_str(&format!(
        "\nbench graph — {n} specs, x86_64 + aarch64, {} threads\n",
        rayon::current_num_threads()
    ));
    for (i, arch) in Arch::ALL.into_iter().enumerate() {
        let g = &cold.graphs[i];
        let p = &cold.plans[i];
        let edges: usize = g.nodes.iter().map(|n| n.deps.len()).sum();
        report.push_str(&format!(
            "  {arch:<8} {} components ({} facts failures), {} excluded, {edges} edges, {} waves, {} cycles ({} members), {} several-provider choices, {} dynamic-BR\n",
            g.nodes.len(),
            cold.failed[i],
            p.components.iter().filter(|c| c.excluded).count(),
            p.order.len(),
            p.cycles.len(),
            p.cycles.iter().map(Vec::len).sum::<usize>(),
            p.providers.len(),
            p.components.iter().filter(|c| c.dynamic_buildrequires).count(),
        ));
    }
    report.push_str(&format!(
        "  spec x arch: {evaluated} evaluated, {fell_back} asked of rpmspec (unresolved or rejected by the evaluator); warm: {hits} cache hits\n"
    ));
    report.push_str(&format!(
        "  cold  {cold_label}read + evaluate/rpmspec + graph + plan, both arches) {}\n",
        secs(cold_t)
    ));
    report.push_str(&format!(
        "  warm  (caches filled; read + facts + graph + plan, both arches, best of 3)   {}\n",
        secs(warm_t)
    ));
    report.push_str(&format!(
        "    = reading the spec directories {} + facts (hash + pack lookups) {} + graph and plan {}\n",
        secs(read_t),
        secs(lookup_t),
        secs(graph_t)
    ));
    report.push_str(&format!(
        "  evaluator, no facts cache (rpmspec answers cached; facts + graph + plan)   {}\n",
        secs(nocache_t)
    ));
    report.push_str(&format!(
        "  rpmspec --buildrequires: {} specs ({} ok) in {} = {:.1} ms/spec → scaled to {n} specs × 2 arches: {:.1} s\n",
        picked.len(),
        rpm_ok,
        secs(rpm_t),
        per_spec * 1000.0,
        scaled
    ));
    report.push_str(&format!(
        "  warm vs rpmspec --buildrequires alone: {:.0}× faster; cold vs that: {:.2}×\n",
        scaled / warm_t.as_secs_f64(),
        scaled / cold_t.as_secs_f64()
    ));
    report.push_str(&format!(
        "  warm plans identical to cold: {same}; without the facts cache: {same_nocache}\n"
    ));
    print!("{report}");
    Ok(())
}
