//! `cargo xtask bench buildroot [--runs N] [--tar-runs N] [--base-runs N]
//! [--seed-arch A|none]`: what the toolchain stage costs, all in one run
//! and on real tools (needs root):
//!
//! - **seed import**: `toolchain seed` of `--seed-arch` (default x86_64)
//!   into a fresh cache whose `.deb` store is pre-filled from the test
//!   cache (so the network is not measured: every .deb converted to an
//!   RPM, the filesystem package, createrepo_c), then the same run again
//!   (up to date: it does nothing);
//! - **base creation** per arch: a fresh `dnf --installroot` of the demo
//!   buildroot's setup packages into an empty cache (`BaseRoots::ensure`);
//!   this is also comparison (b), what a build would pay without base roots;
//! - **layer setup + teardown** per arch, N times: `Layer::new` + `run(["true"])`
//!   + drop — the overlay in its held namespace, bubblewrap, the discard;
//! - comparison (a): the base root packed once into a `.tar.gz` (as the
//!   Azure Linux 2/3 toolkit packs its worker chroot), then per run
//!   `tar -xzf` into a fresh directory + `rm -rf` of it — what that toolkit
//!   pays per build.
//!
//! Goal (issue 11): a layer ≤ 100 ms and ≥ 20× faster than (a).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use azldev_buildroot::arch::Arch;
use azldev_buildroot::base::{BaseRoot, BaseRoots, BaseSpec, RepoSpec};
use azldev_buildroot::layer::{Layer, RunOptions};
use azldev_buildroot::seed::{self, SeedOptions};

/// The demo buildroot's setup packages (`mock/demo-1.0.tpl`).
const SETUP: &[&str] = &[
    "bash",
    "build-essential",
    "coreutils",
    "cpio",
    "diffutils",
    "file",
    "findutils",
    "gawk",
    "grep",
    "gzip",
    "make",
    "patch",
    "rpm",
    "sed",
    "tar",
    "xz-utils",
];

/// Median and 90th percentile of some timings.
#[derive(Debug, Clone, Copy)]
struct Stats {
    n: usize,
    median: Duration,
    p90: Duration,
    min: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i.min(v.len() - 1)]
    };
    Stats {
        n: v.len(),
        median: at(0.5),
        p90: at(0.9),
        min: v[0],
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

fn sh(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn du(path: &Path) -> u64 {
    Command::new("du")
        .args(["-sb"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
        })
        .unwrap_or(0)
}

struct SeedTiming {
    arch: Arch,
    packages: usize,
    converted: usize,
    cold: Duration,
    again: Duration,
    again_up_to_date: bool,
}

/// `toolchain seed` of `arch` into a fresh cache (debs linked in from the
/// test cache), then again.
fn seed_import(root: &Path, scratch: &Path, arch: Arch) -> Result<SeedTiming> {
    let cache = scratch.join(format!("seed-cache-{arch}"));
    let debs = cache.join("seed/debs");
    std::fs::create_dir_all(&debs)?;
    let have = root.join("target/azldev-test-cache/seed/debs");
    let mut linked = 0;
    if let Ok(entries) = std::fs::read_dir(&have) {
        for e in entries.filter_map(Result::ok) {
            if std::fs::hard_link(e.path(), debs.join(e.file_name())).is_ok() {
                linked += 1;
            }
        }
    }
    eprintln!("seed {arch}: {linked} .debs linked from the test cache; converting…");
    let opts = SeedOptions {
        arch,
        lock_path: root.join(format!("locks/seed-{arch}.lock")),
        out_dir: scratch.join(format!("seed-{arch}")),
        cache_dir: cache.clone(),
        log_dir: scratch.join("logs"),
        update: false,
        include: None,
        mirror: None,
        suite: None,
        jobs: std::thread::available_parallelism().map_or(2, usize::from),
    };
    let t = Instant::now();
    let first = seed::seed(&opts).with_context(|| format!("seed {arch}"))?;
    let cold = t.elapsed();
    let t = Instant::now();
    let second = seed::seed(&opts).with_context(|| format!("seed {arch} again"))?;
    let again = t.elapsed();
    Ok(SeedTiming {
        arch,
        packages: first.packages,
        converted: first.converted,
        cold,
        again,
        again_up_to_date: second.up_to_date,
    })
}

/// The shared test seed of `arch` (made from the project's lock when missing).
fn test_seed(root: &Path, arch: Arch) -> Result<PathBuf> {
    let cache = root.join("target/azldev-test-cache");
    let out = cache.join("seed").join(arch.rpm());
    let report = seed::seed(&SeedOptions {
        arch,
        lock_path: root.join(format!("locks/seed-{arch}.lock")),
        out_dir: out.clone(),
        cache_dir: cache.clone(),
        log_dir: cache.join("logs"),
        update: false,
        include: None,
        mirror: None,
        suite: None,
        jobs: std::thread::available_parallelism().map_or(2, usize::from),
    })
    .with_context(|| format!("the {arch} seed"))?;
    if !report.up_to_date {
        eprintln!("seed {arch}: made in {:.1}s", report.seconds);
    }
    Ok(out)
}

fn spec(arch: Arch, seed: &Path) -> BaseSpec {
    BaseSpec {
        arch,
        releasever: "1.0".into(),
        packages: SETUP.iter().map(|s| (*s).to_owned()).collect(),
        repos: vec![RepoSpec {
            id: "seed".into(),
            baseurl: vec![format!("file://{}", seed.display())],
            gpgcheck: false,
            options: Default::default(),
        }],
        macros: [
            ("%dist".to_owned(), ".demo1".to_owned()),
            ("%vendor".to_owned(), "Demo Linux".to_owned()),
        ]
        .into(),
        dnf_main: Default::default(),
    }
}

struct ArchTiming {
    arch: Arch,
    packages: usize,
    size: u64,
    base: Stats,
    layer: Stats,
    /// `run(["true"])` alone in one live layer (for aarch64: qemu-user's cost).
    run_only: Stats,
    /// `Layer::new` + drop, no command.
    bare: Stats,
    tar_size: u64,
    untar: Stats,
    untar_rm: Stats,
}

fn measure_arch(
    root: &Path,
    scratch: &Path,
    arch: Arch,
    runs: usize,
    tar_runs: usize,
    base_runs: usize,
) -> Result<ArchTiming> {
    let seed = test_seed(root, arch)?;
    let spec = spec(arch, &seed);
    // (b) and base creation: fresh dnf --installroot into empty caches.
    let mut base_times = Vec::new();
    let mut kept: Option<(BaseRoot, PathBuf)> = None;
    for i in 0..base_runs.max(1) {
        let cache = scratch.join(format!("base-{arch}-{i}"));
        let roots = BaseRoots::new(&cache, &scratch.join("logs"));
        eprintln!(
            "{arch}: base root {}/{} (dnf --installroot)…",
            i + 1,
            base_runs.max(1)
        );
        let t = Instant::now();
        let base = roots.ensure(&spec).with_context(|| format!("{arch} base root"))?;
        base_times.push(t.elapsed());
        if kept.is_none() {
            kept = Some((base, cache));
        } else {
            std::fs::remove_dir_all(&cache)?;
        }
    }
    let (base, cache) = kept.expect("at least one base root");
    let layers = cache.join("buildroot/layers");

    // Layer setup + teardown.
    eprintln!("{arch}: {runs} layers…");
    let argv = vec!["true".to_owned()];
    // One untimed warm-up (page cache, binfmt).
    drop(Layer::new(&base, &layers)?.run(&argv, &RunOptions::default())?);
    let mut layer_times = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let layer = Layer::new(&base, &layers)?;
        layer.run(&argv, &RunOptions::default())?;
        drop(layer);
        layer_times.push(t.elapsed());
    }
    let mut bare_times = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        drop(Layer::new(&base, &layers)?);
        bare_times.push(t.elapsed());
    }
    let layer = Layer::new(&base, &layers)?;
    let mut run_times = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        layer.run(&argv, &RunOptions::default())?;
        run_times.push(t.elapsed());
    }
    drop(layer);

    // (a) the toolkit's way: a tarball of the root, extracted per build.
    let tarball = scratch.join(format!("base-{arch}.tar.gz"));
    eprintln!("{arch}: packing the base root into {}…", tarball.display());
    sh(Command::new("tar")
        .arg("-C")
        .arg(base.root())
        .args(["--numeric-owner", "-czf"])
        .arg(&tarball)
        .arg("."))?;
    let tar_size = std::fs::metadata(&tarball)?.len();
    let mut untar = Vec::new();
    let mut untar_rm = Vec::new();
    for i in 0..tar_runs.max(1) {
        let dir = scratch.join(format!("untar-{arch}-{i}"));
        let t = Instant::now();
        std::fs::create_dir(&dir)?;
        sh(Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .args(["--numeric-owner", "-xzf"])
            .arg(&tarball))?;
        let x = t.elapsed();
        std::fs::remove_dir_all(&dir)?;
        untar.push(x);
        untar_rm.push(t.elapsed());
    }
    Ok(ArchTiming {
        arch,
        packages: base.meta.installed.len(),
        size: du(&base.root()),
        base: stats(base_times),
        layer: stats(layer_times),
        run_only: stats(run_times),
        bare: stats(bare_times),
        tar_size,
        untar: stats(untar),
        untar_rm: stats(untar_rm),
    })
}

pub(crate) fn run(root: &Path, flag: impl Fn(&str) -> Result<Option<String>>) -> Result<()> {
    if !rustix_is_root() {
        bail!("bench buildroot needs root (base roots and layers do); run it with sudo");
    }
    let num = |name: &str, default: usize| -> Result<usize> {
        flag(name)?
            .map(|v| v.parse().with_context(|| format!("{name} {v}")))
            .transpose()
            .map(|v| v.unwrap_or(default))
    };
    let runs = num("--runs", 20)?;
    let tar_runs = num("--tar-runs", 5)?;
    let base_runs = num("--base-runs", 2)?;
    let seed_arch = flag("--seed-arch")?.unwrap_or_else(|| "x86_64".into());
    let arches: Vec<Arch> = match flag("--arch")?.as_deref() {
        None | Some("all") => Arch::ALL.to_vec(),
        Some(a) => vec![a.parse().map_err(anyhow::Error::msg)?],
    };
    std::fs::create_dir_all(root.join("target"))?;
    let scratch = tempfile::Builder::new()
        .prefix("bench-buildroot-")
        .tempdir_in(root.join("target"))?;

    let seed_timing = match seed_arch.as_str() {
        "none" => None,
        a => Some(seed_import(
            root,
            scratch.path(),
            a.parse().map_err(anyhow::Error::msg)?,
        )?),
    };
    let mut per_arch = Vec::new();
    for arch in arches {
        per_arch.push(measure_arch(
            root,
            scratch.path(),
            arch,
            runs,
            tar_runs,
            base_runs,
        )?);
    }

    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nbench buildroot (the demo buildroot; {} cores)\n",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    if let Some(t) = &seed_timing {
        let _ = writeln!(
            s,
            "seed import {}: {} RPMs ({} converted from cached .debs) in {}; again: {} ({})",
            t.arch,
            t.packages,
            t.converted,
            ms(t.cold),
            ms(t.again),
            if t.again_up_to_date {
                "up to date, nothing done"
            } else {
                "NOT up to date"
            }
        );
    }
    let _ = writeln!(
        s,
        "\n{:8} {:>5} {:>9} | {:>26} | {:>26} | {:>26} | {:>8} {:>8}",
        "arch",
        "pkgs",
        "root",
        "layer setup+teardown",
        "(a) tar -xzf + rm -rf",
        "(b) dnf --installroot",
        "a/layer",
        "b/layer"
    );
    let _ = writeln!(
        s,
        "{:8} {:>5} {:>9} | {:>26} | {:>26} | {:>26} |",
        "", "", "", "median / p90 (n)", "median / p90 (n)", "median / p90 (n)"
    );
    let mut goals = Vec::new();
    for t in &per_arch {
        let cell = |st: &Stats| format!("{} / {} ({})", ms(st.median), ms(st.p90), st.n);
        let ra = t.untar_rm.median.as_secs_f64() / t.layer.median.as_secs_f64();
        let rb = t.base.median.as_secs_f64() / t.layer.median.as_secs_f64();
        let _ = writeln!(
            s,
            "{:8} {:>5} {:>6} MiB | {:>26} | {:>26} | {:>26} | {:>7.0}× {:>7.0}×",
            t.arch.to_string(),
            t.packages,
            t.size >> 20,
            cell(&t.layer),
            cell(&t.untar_rm),
            cell(&t.base),
            ra,
            rb
        );
        let _ = writeln!(
            s,
            "{:8} {:>5} {:>9}   (layer min {}; medians: `true` alone in a live layer {}, Layer::new + drop without a command {}; tar -xzf alone {}; tarball {} MiB)",
            "",
            "",
            "",
            ms(t.layer.min),
            ms(t.run_only.median),
            ms(t.bare.median),
            ms(t.untar.median),
            t.tar_size >> 20
        );
        goals.push((t.arch, t.layer.median <= Duration::from_millis(100) && ra >= 20.0));
    }
    for (arch, met) in goals {
        let _ = writeln!(
            s,
            "{}goal for {arch} (layer median ≤ 100 ms and ≥ 20× faster than (a)): {}",
            if arch == per_arch[0].arch { "\n" } else { "" },
            if met { "met" } else { "NOT met" }
        );
    }
    println!("{s}");
    Ok(())
}

fn rustix_is_root() -> bool {
    azldev_buildroot::base::is_root()
}
