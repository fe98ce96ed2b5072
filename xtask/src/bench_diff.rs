//! `cargo xtask bench diff [--sample N] [--work DIR] [--runs N]`: the
//! pull-request preview on the real-data distro. The corpus spec
//! directories become one upstream repository (`dist-git-path =
//! "SPECS/$pkg"`); the distro repository has one `components/<name>.comp.toml`
//! per package (as Azure Linux 4.0 does), is rendered once, and its pins and
//! specs committed. Then commits change 1 and 10 components (an overlay
//! each), and `azldev diff` is timed between revisions and against the
//! working tree — next to a no-change diff (the fixed cost: loading both
//! configurations and fingerprinting every component) — checking that only
//! the changed components are rendered.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench_render::{git, toml_key};

struct Run {
    best: Duration,
    rendered: u64,
    differ: u64,
}

/// `azldev diff ARGS --format json` in `dir`, `runs` times: the best time
/// and what the report says.
fn diff(bin: &Path, dir: &Path, cache: &Path, args: &[&str], runs: usize) -> Result<Run> {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let out = Command::new(bin)
            .arg("diff")
            .args(args)
            .args(["--format", "json", "--offline"])
            .current_dir(dir)
            .env("AZLDEV_CACHE_DIR", cache)
            .output()
            .context("run azldev diff")?;
        best = best.min(t.elapsed());
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "azldev diff {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        last = Some(out.stdout);
    }
    let v: serde_json::Value = serde_json::from_slice(&last.unwrap_or_default()).context("diff JSON")?;
    let s = &v["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    Ok(Run {
        best,
        rendered: n("rendered"),
        differ: n("added") + n("removed") + n("renamed") + n("changed") + n("failed") + n("fixed"),
    })
}

fn overlay(name: &str, i: usize) -> String {
    format!(
        "\n[[components.{}.overlays]]\ntype = \"spec-prepend-lines\"\nlines = [\"# changed by the diff benchmark ({i})\"]\n",
        toml_key(name)
    )
}

pub fn run(root: &Path, flag: impl Fn(&str) -> Result<Option<String>>) -> Result<()> {
    let corpus = flag("--corpus")?.map_or_else(|| root.join("../shared/corpus/azl4/specs"), PathBuf::from);
    let work = flag("--work")?.map_or_else(|| root.join("target/bench-diff"), PathBuf::from);
    let sample: usize = flag("--sample")?.map_or(Ok(usize::MAX), |s| s.parse())?;
    let runs: usize = flag("--runs")?.map_or(Ok(3), |s| s.parse())?;
    let bin = crate::bench_render::release_azldev(root)?;
    let dirs = crate::bench_render::sampled_corpus(&corpus, sample)?;
    if dirs.len() < 20 {
        bail!("need at least 20 components, have {}", dirs.len());
    }
    eprintln!("{} components from {}", dirs.len(), corpus.display());
    let (work, previous) = crate::bench_render::fresh_dir_deferred(&work)?;
    crate::bench_render::monorepo(&work, &dirs)?;

    let distro = work.join("distro");
    std::fs::create_dir_all(distro.join("components"))?;
    std::fs::write(
        distro.join("distro.toml"),
        "includes = [\"components/*.comp.toml\"]\n\n[project]\nrendered-specs-dir = \"specs\"\n\n\
         [distros.mono]\ndist-git-base-uri = \"../mono\"\ndist-git-path = \"SPECS/$pkg\"\ndefault-version = \"1\"\n\
         [distros.mono.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n",
    )?;
    let comp_file = |name: &str| distro.join("components").join(format!("{name}.comp.toml"));
    let mut texts = Vec::with_capacity(dirs.len());
    for (name, _) in &dirs {
        let mut text = String::new();
        writeln!(
            text,
            "[components.{}]\nspec = {{ type = \"upstream\", upstream-distro = {{ name = \"mono\", version = \"1\" }} }}",
            toml_key(name)
        )?;
        std::fs::write(comp_file(name), &text)?;
        texts.push(text);
    }
    let cache = work.join("cache");
    let t = Instant::now();
    let out = Command::new(&bin)
        .args(["render", "-q"])
        .current_dir(&distro)
        .env("AZLDEV_CACHE_DIR", &cache)
        .output()?;
    let render = t.elapsed();
    if !out.status.success() {
        bail!("render failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    git(&distro, &["init", "-q", "-b", "main"])?;
    git(&distro, &["add", "-A"])?;
    git(&distro, &["commit", "-q", "-m", "base"])?;

    // Spread the changed components over the distro.
    let step = dirs.len() / 11;
    let change = |indices: &[usize], label: &str| -> Result<Vec<String>> {
        let mut names = Vec::new();
        for (k, &i) in indices.iter().enumerate() {
            let name = &dirs[i].0;
            std::fs::write(comp_file(name), format!("{}{}", texts[i], overlay(name, k)))?;
            names.push(name.clone());
        }
        git(&distro, &["commit", "-q", "-a", "-m", label])?;
        Ok(names)
    };
    let one: Vec<usize> = vec![dirs.len() / 2];
    change(&one, "one")?;
    let ten: Vec<usize> = (1..=10).map(|k| k * step).collect();
    // Restore the first change so `one..ten` is exactly ten components.
    std::fs::write(comp_file(&dirs[one[0]].0), &texts[one[0]])?;
    change(&ten, "ten")?;
    // Uncommitted: one component changed in the working tree.
    let wt = dirs.len() / 3;
    std::fs::write(
        comp_file(&dirs[wt].0),
        format!("{}{}", texts[wt], overlay(&dirs[wt].0, 99)),
    )?;

    let none = diff(&bin, &distro, &cache, &["HEAD~2", "HEAD~2"], runs)?;
    let d1 = diff(&bin, &distro, &cache, &["HEAD~2", "HEAD~1"], runs)?;
    let d10 = diff(&bin, &distro, &cache, &["HEAD~2", "HEAD"], runs)?;
    let dwt = diff(&bin, &distro, &cache, &["HEAD"], runs)?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("components: {}", dirs.len());
    println!("full render (cold cache, for scale):      {:>8.0} ms", ms(render));
    println!(
        "diff, no change (fixed cost):              {:>8.0} ms  ({} rendered)",
        ms(none.best),
        none.rendered
    );
    println!(
        "diff, 1 component changed:                 {:>8.0} ms  ({} rendered, {} differ)",
        ms(d1.best),
        d1.rendered,
        d1.differ
    );
    println!(
        "diff, 10 components changed:               {:>8.0} ms  ({} rendered, {} differ)",
        ms(d10.best),
        d10.rendered,
        d10.differ
    );
    println!(
        "diff, working tree (1 changed):            {:>8.0} ms  ({} rendered, {} differ)",
        ms(dwt.best),
        dwt.rendered,
        dwt.differ
    );
    println!("best of {runs} runs; target < 2000 ms, rendering only what changed");
    previous.remove();
    if (none.rendered, d1.rendered, d10.rendered, dwt.rendered) != (0, 2, 20, 2)
        || (d1.differ, d10.differ, dwt.differ) != (1, 10, 1)
    {
        bail!("the diff did not render exactly the changed components on both sides");
    }
    if d10.best > Duration::from_secs(2) {
        eprintln!("warning: above the 2 s target");
    }
    Ok(())
}
