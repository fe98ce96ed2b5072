//! `cargo xtask bench graph [--corpus DIR] [--sample N] [--limit N] [--work DIR]`:
//! the build graph of the whole azl4 corpus (`../shared/corpus/azl4/specs`)
//! for x86_64 and aarch64, in one run:
//!
//! - **cold**: an empty facts cache, every spec evaluated by the rpmspec
//!   producer (two rpmspec queries per spec and arch, on all cores), then
//!   the graph and the plan of every component per arch;
//! - **warm**: the same again with the cache filled — read the spec
//!   directories, look every spec's facts up, build both graphs and plans;
//! - next to **`rpmspec -q --buildrequires`** alone on an evenly spread
//!   sample of N specs (default 200), on all cores, scaled to the corpus
//!   and both arches — what the Azure Linux toolkit pays for its graph.
//!
//! rpmspec runs on the host with the host's rpm macros (the base root's
//! macros come later), so specs that need distro macros may fail; they are
//! counted and left out of the graph, the same for both measurements.
//! `--limit N` plans only the first N specs (for a quick check); `--cache
//! DIR` reuses a filled facts cache (the "cold" line is then warm too).
//! xtask uses the system allocator; the `azldev` binary uses mimalloc, so
//! the allocation-heavy parts (facts decoding, the plan) run faster there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use azldev_build::graph::{Graph, GraphOptions};
use azldev_build::{Arch, MacroInputs, RpmspecSource, SpecFacts, SpecInput};
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
    facts: Vec<Vec<(String, SpecFacts)>>,
    failed: Vec<usize>,
    graphs: Vec<Graph>,
    plans: Vec<azldev_build::Plan>,
}

fn plan_both(src: &RpmspecSource, inputs: &[SpecInput]) -> Result<Run> {
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
    let src = RpmspecSource::host(Some(cache.clone()), MacroInputs::default())?;

    // Cold.
    let t = Instant::now();
    let inputs = read_inputs(&dirs)?;
    let cold = plan_both(&src, &inputs)?;
    let cold_t = t.elapsed();
    eprintln!("  cold done in {}", secs(cold_t));
    let cold_label = if reused.is_some() {
        "(cache reused: NOT cold) "
    } else {
        "(rpmspec producer, empty cache; "
    };

    // Warm, best of three: read the tree, look facts up, graph, plan.
    let mut best: Option<(Duration, Duration, Duration, Duration)> = None;
    let mut warm_plans = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let inputs = read_inputs(&dirs)?;
        let read = t.elapsed();
        let src = RpmspecSource::host(Some(cache.clone()), MacroInputs::default())?;
        let t = Instant::now();
        let facts: Vec<_> = Arch::ALL
            .into_iter()
            .map(|arch| azldev_build::facts(&src, &inputs, arch).0)
            .collect();
        let lookup = t.elapsed();
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
            "  warm run: read {} + lookups {} + graph and plan {} (graph build {})",
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
            "  {arch:<8} {} components ({} rpmspec failures), {} excluded, {edges} edges, {} waves, {} cycles ({} members), {} several-provider choices, {} dynamic-BR\n",
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
        "  cold  {cold_label}read + facts + graph + plan, both arches) {}\n",
        secs(cold_t)
    ));
    report.push_str(&format!(
        "  warm  (cache filled; read + facts + graph + plan, both arches, best of 3)      {}\n",
        secs(warm_t)
    ));
    report.push_str(&format!(
        "    = reading the spec directories {} + cache lookups {} + graph and plan {}\n",
        secs(read_t),
        secs(lookup_t),
        secs(graph_t)
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
    report.push_str(&format!("  warm plans identical to cold: {same}\n"));
    print!("{report}");
    Ok(())
}
