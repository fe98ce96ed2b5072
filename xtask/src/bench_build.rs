//! `cargo xtask bench build [--cache DIR] [--components N] [--runs N] [--keep]`:
//! `azldev build` with real rpmbuild, dnf and qemu-user, in one run:
//!
//! - **(a) parallel**: N (default 24) independent generated components, a
//!   tiny C program each (local specs in a generated project that reuses
//!   the demo's `mock/` configurations and toolchain seed), built with
//!   `build -a -j 2 --rebuild` against `build -a -j 1 --rebuild` (the same
//!   builds one after another, in one invocation; run second so that its
//!   logs are the ones (b) reads; the median of up to 3 alternating pairs,
//!   as builds this short are noisy), and against the issue's own baseline, a
//!   serial loop of `azldev build NAME --rebuild` — goal ≥ 1.8×; next to
//!   them the machine's ceiling for this shape of work: the same specs
//!   built by the host's plain `rpmbuild -bb`, one at a time and two at
//!   once (no azldev, no isolation);
//! - **(b) overhead**: from the `-j 1` run's JSON report, azldev's time
//!   per build (layer, BuildRequires install, SRPM, payload check) next to
//!   the `rpmbuild --rebuild` time itself, `(seconds − rpmbuild-seconds) /
//!   rpmbuild-seconds` summed over the builds — goal < 20%; the same for
//!   the demo's `hello` (a small C package with a Makefile and `%check`),
//!   the split of a build into its phases (from the times the phase logs
//!   were last written), the rpmbuild time from which the fixed cost is
//!   under 20%, and the whole command's wall time per build;
//! - **(c) no-op**: `build -a` of the demo with everything cached, best of
//!   `--runs` (default 5) — goal < 1 s;
//! - **(d) aarch64**: the demo's `hello` built with `--rebuild` for
//!   x86_64 and for aarch64 (qemu-user), the ratio of the build times.
//!
//! The azldev cache is the end-to-end tests' (`target/azldev-test-cache`,
//! or `--cache DIR`), so converted seed RPMs and base roots are reused; its
//! `e2e-build.lock` is held for the whole run, as the build tests do, so
//! no test builds at the same time. The projects live in a temporary
//! directory inside the cache (removed at the end unless `--keep`). The
//! machine's load average is printed with the table: every number here is
//! wall time on a shared machine.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Copies a tree (real copies: the projects are written to).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for e in walkdir::WalkDir::new(from) {
        let e = e?;
        let dest = to.join(e.path().strip_prefix(from)?);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else {
            std::fs::copy(e.path(), &dest).with_context(|| e.path().display().to_string())?;
        }
    }
    Ok(())
}

struct Azldev<'a> {
    bin: &'a Path,
    cache: &'a Path,
}

impl Azldev<'_> {
    /// Runs `azldev ARGS` in `dir`; its stdout and wall time. Fails on a
    /// non-zero exit, with the output's tail.
    fn run(&self, dir: &Path, args: &[&str]) -> Result<(String, Duration)> {
        let t = Instant::now();
        let out = Command::new(self.bin)
            .args(args)
            .current_dir(dir)
            .env("AZLDEV_CACHE_DIR", self.cache)
            .env_remove("AZLDEV_JOBS")
            .output()
            .context("run azldev")?;
        let elapsed = t.elapsed();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail = |s: &str| {
                let l: Vec<&str> = s.lines().collect();
                l[l.len().saturating_sub(30)..].join("\n")
            };
            bail!(
                "azldev {args:?} in {} failed ({}):\n{}\n{}",
                dir.display(),
                out.status,
                tail(&stdout),
                tail(&stderr)
            );
        }
        Ok((stdout, elapsed))
    }

    /// `azldev build ARGS --format json`: the report and the wall time.
    fn build(&self, dir: &Path, args: &[&str]) -> Result<(Value, Duration)> {
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        all.extend(["--format", "json"]);
        eprintln!("  azldev {}", all.join(" "));
        let (out, t) = self.run(dir, &all)?;
        let v: Value = serde_json::from_str(&out).context("azldev build's JSON report")?;
        eprintln!("    {:.1} s", t.as_secs_f64());
        Ok((v, t))
    }
}

/// One built component of a build report.
#[derive(Debug)]
struct Built {
    name: String,
    seconds: f64,
    rpmbuild: f64,
}

/// The components of `report` and arch, each required to be `built`.
fn built(report: &Value, arch: &str) -> Result<Vec<Built>> {
    let a = report["arches"]
        .as_array()
        .context("arches")?
        .iter()
        .find(|a| a["arch"] == arch)
        .with_context(|| format!("no {arch} in the report"))?;
    let mut out = Vec::new();
    for c in a["components"].as_array().context("components")? {
        let name = c["name"].as_str().context("name")?.to_owned();
        if c["status"] != "built" {
            bail!("{name} ({arch}) was not built: {c}");
        }
        out.push(Built {
            name,
            seconds: c["seconds"].as_f64().context("seconds")?,
            rpmbuild: c["rpmbuild-seconds"].as_f64().context("rpmbuild-seconds")?,
        });
    }
    Ok(out)
}

/// The demo distro in `dir`: its configuration, generated upstreams and
/// toolchain seed for both arches.
fn demo(root: &Path, az: &Azldev<'_>, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::copy(root.join("distro.toml"), dir.join("distro.toml"))?;
    for d in ["components", "overlays", "locks", "mock"] {
        copy_tree(&root.join(d), &dir.join(d))?;
    }
    azldev_e2e::demo::generate(
        &azldev_e2e::demo::default_fixtures(),
        &dir.join("target/demo-upstreams"),
    )?;
    for arch in ["x86_64", "aarch64"] {
        az.run(dir, &["toolchain", "seed", "--arch", arch])?;
    }
    Ok(())
}

/// A tiny C program: its own name and a little arithmetic, so `%check`
/// has something to verify.
fn program(n: usize) -> String {
    format!(
        "#include <stdio.h>\n\n\
         static unsigned long fib(unsigned k) {{\n    \
         unsigned long a = 0, b = 1;\n    \
         while (k--) {{ unsigned long t = a + b; a = b; b = t; }}\n    \
         return a;\n}}\n\n\
         int main(void) {{\n    \
         printf(\"bench-{n:02} %lu\\n\", fib({n}));\n    \
         return 0;\n}}\n"
    )
}

fn spec(n: usize) -> String {
    format!(
        "Name:           bench-{n:02}\n\
         Version:        1.0\n\
         Release:        1%{{?dist}}\n\
         Summary:        Benchmark program {n}\n\
         License:        MIT\n\
         URL:            https://bench.example/\n\
         Source0:        bench-{n:02}.c\n\n\
         BuildRequires:  gcc\n\n\
         %description\n\
         A tiny C program generated by `cargo xtask bench build`.\n\n\
         %prep\n\
         %setup -q -c -T\n\
         cp -p %{{SOURCE0}} .\n\n\
         %build\n\
         %set_build_flags\n\
         gcc $CFLAGS $LDFLAGS -o bench-{n:02} bench-{n:02}.c\n\n\
         %install\n\
         install -Dpm 0755 bench-{n:02} %{{buildroot}}%{{_bindir}}/bench-{n:02}\n\n\
         %check\n\
         ./bench-{n:02} | grep -q '^bench-{n:02} '\n\n\
         %files\n\
         %{{_bindir}}/bench-{n:02}\n\n\
         %changelog\n\
         * Thu Jan 01 2026 Bench <bench@bench.example> - 1.0-1\n\
         - Generated\n"
    )
}

/// The generated project in `dir`: `count` independent local components,
/// the demo's mock configurations and (hard-linked) toolchain seed.
fn generated(demo: &Path, dir: &Path, count: usize) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    copy_tree(&demo.join("mock"), &dir.join("mock"))?;
    crate::bench_render::copy_dir(&demo.join("build/seed"), &dir.join("build/seed"))?;
    let mut toml = String::from(
        "# Generated by `cargo xtask bench build`.\n\n\
         [project]\n\
         description = \"azldev build benchmark\"\n\
         default-distro = { name = \"bench\", version = \"1.0\" }\n\
         lock-dir = \"locks\"\n\
         log-dir = \"build/logs\"\n\
         work-dir = \"build/work\"\n\
         output-dir = \"out\"\n\n\
         [distros.bench]\n\
         description = \"Benchmark\"\n\
         default-version = \"1.0\"\n\n\
         [distros.bench.versions.'1.0']\n\
         description = \"Benchmark 1.0\"\n\
         release-ver = \"1.0\"\n\
         mock-config-x86_64 = \"mock/demo-1.0-x86_64.cfg\"\n\
         mock-config-aarch64 = \"mock/demo-1.0-aarch64.cfg\"\n\n",
    );
    let mut names = Vec::new();
    for n in 1..=count {
        let name = format!("bench-{n:02}");
        let c = dir.join("components").join(&name);
        std::fs::create_dir_all(&c)?;
        std::fs::write(c.join(format!("{name}.spec")), spec(n))?;
        std::fs::write(c.join(format!("{name}.c")), program(n))?;
        let _ = writeln!(
            toml,
            "[components.{name}]\nspec = {{ type = \"local\", path = \"components/{name}/{name}.spec\" }}\n"
        );
        names.push(name);
    }
    std::fs::write(dir.join("distro.toml"), toml)?;
    Ok(names)
}

/// The mean time of each phase of the builds `b` (layer + SRPM,
/// BuildRequires, rpmbuild, payload check), from the modification times of
/// their logs under `logs` (each written until its phase ends): the build
/// started `seconds` before its last log was written.
fn phases(logs: &Path, b: &[Built]) -> Result<[f64; 4]> {
    let mtime = |p: PathBuf| -> Result<f64> {
        let m = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .with_context(|| p.display().to_string())?;
        Ok(m.duration_since(std::time::UNIX_EPOCH)?.as_secs_f64())
    };
    let mut total = [0.0; 4];
    for c in b {
        let d = logs.join(&c.name);
        let ends = [
            mtime(d.join("srpm.log"))?,
            mtime(d.join("deps.log"))?,
            mtime(d.join("build.log"))?,
            mtime(d.join("verify.log"))?,
        ];
        let mut from = ends[3] - c.seconds;
        for (t, end) in total.iter_mut().zip(ends) {
            *t += (end - from).max(0.0);
            from = end;
        }
    }
    Ok(total.map(|t| t / b.len().max(1) as f64))
}

/// The same specs built by the host's `rpmbuild -bb --nodeps` (no
/// azldev, no buildroot, no isolation), one after another and then two at
/// once: how far two builds at once can go on this machine for this shape
/// of work (many short processes). The wall times, serial and parallel.
fn host_ceiling(project: &Path, names: &[String], work: &Path) -> Result<(f64, f64)> {
    let one = |name: &str, top: &Path| -> Result<()> {
        let sources = top.join("SOURCES");
        std::fs::create_dir_all(&sources)?;
        let comp = project.join("components").join(name);
        let c = format!("{name}.c");
        std::fs::copy(comp.join(&c), sources.join(&c))?;
        let out = Command::new("rpmbuild")
            .args(["--quiet", "--nodeps", "-bb", "--define"])
            .arg(format!("_topdir {}", top.display()))
            .arg("--define")
            .arg(format!("_dbpath {}", top.join("rpmdb").display()))
            .arg(comp.join(format!("{name}.spec")))
            .output()
            .context("run rpmbuild")?;
        if !out.status.success() {
            bail!("host rpmbuild {name}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    let pass = |tag: &str, workers: usize| -> Result<f64> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let t = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    s.spawn(|| -> Result<()> {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(n) = names.get(i) else {
                                return Ok(());
                            };
                            one(n, &work.join(format!("host-{tag}-{n}")))?;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().map_err(|_| anyhow::anyhow!("worker panicked"))??;
            }
            Ok(())
        })?;
        Ok(t.elapsed().as_secs_f64())
    };
    // One warm-up pass (page cache), then the two measured ones.
    pass("warm", 2)?;
    Ok((pass("serial", 1)?, pass("parallel", 2)?))
}

fn sum(b: &[Built], f: impl Fn(&Built) -> f64) -> f64 {
    b.iter().map(f).sum()
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

pub(crate) fn run(root: &Path, rest: &[&str]) -> Result<()> {
    let flag = |n: &str| crate::flag(rest, n);
    let cache = flag("--cache")?
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/azldev-test-cache"));
    let count: usize = flag("--components")?
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(24)
        .max(1);
    let runs: usize = flag("--runs")?
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5)
        .max(1);
    let keep = rest.contains(&"--keep");
    let bin = crate::bench_render::release_azldev(root)?;
    std::fs::create_dir_all(&cache)?;
    let cache = cache.canonicalize()?;
    let lock = File::create(cache.join("e2e-build.lock"))?;
    eprintln!(
        "bench build: waiting for {}…",
        cache.join("e2e-build.lock").display()
    );
    lock.lock()?;
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let work = tempfile::Builder::new()
        .prefix("bench-build-")
        .tempdir_in(&cache)?;
    eprintln!("bench build: work directory {}", work.path().display());
    let az = Azldev {
        bin: &bin,
        cache: &cache,
    };

    // The demo, built once for x86_64 (usually all from the build cache).
    let demo_dir = work.path().join("demo");
    eprintln!("demo: copy, upstreams, toolchain seed");
    demo(root, &az, &demo_dir)?;
    eprintln!("demo: build -a");
    az.build(&demo_dir, &["-a"])?;

    // (c) No-op build of the demo.
    eprintln!("(c) no-op build -a of the demo, {runs} runs");
    let mut noop = Vec::new();
    for _ in 0..runs {
        let (out, t) = az.run(&demo_dir, &["build", "-a"])?;
        if !out.contains(" 0 built,") {
            bail!("the no-op build built something:\n{out}");
        }
        noop.push(t.as_secs_f64());
    }
    let noop_best = noop.iter().copied().fold(f64::INFINITY, f64::min);

    // (d) hello for x86_64 and for aarch64.
    eprintln!("(d) hello, x86_64 then aarch64, --rebuild");
    let (r, hello_x86_wall) = az.build(&demo_dir, &["hello", "--rebuild"])?;
    let hello_x86 = built(&r, "x86_64")?;
    let (r, hello_arm_wall) = az.build(&demo_dir, &["hello", "--rebuild", "--arch", "aarch64"])?;
    let hello_arm = built(&r, "aarch64")?;
    let one = |b: &[Built], what: &str| -> Result<(f64, f64)> {
        b.iter()
            .find(|b| b.name == "hello")
            .map(|b| (b.seconds, b.rpmbuild))
            .with_context(|| format!("hello not in the {what} report"))
    };
    let (hx, hx_rb) = one(&hello_x86, "x86_64")?;
    let (ha, ha_rb) = one(&hello_arm, "aarch64")?;

    // (a) and (b): the generated components.
    let gen_dir = work.path().join("gen");
    let names = generated(&demo_dir, &gen_dir, count)?;
    eprintln!("(a) {count} generated components; warming the facts cache");
    az.run(&gen_dir, &["build", "-a", "--check"])?;
    // Parallel first: the serial run's logs are the ones left for (b).
    eprintln!(
        "(a) parallel (-j 2) then serial (-j 1), --rebuild, {} times",
        runs.min(3)
    );
    // Builds this short make one run noisy: `--runs` pairs, alternating,
    // and the median of each.
    let (mut pts, mut sts) = (Vec::new(), Vec::new());
    let (mut parallel, mut serial) = (Vec::new(), Vec::new());
    for _ in 0..runs.min(3) {
        let (p, pt) = az.build(&gen_dir, &["-a", "-j", "2", "--rebuild"])?;
        parallel = built(&p, "x86_64")?;
        pts.push(pt);
        let (s, st) = az.build(&gen_dir, &["-a", "-j", "1", "--rebuild"])?;
        serial = built(&s, "x86_64")?;
        sts.push(st);
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (parallel_t, serial_t) = (median(pts), median(sts));
    for (what, b) in [("-j 1", &serial), ("-j 2", &parallel)] {
        if b.len() != names.len() {
            bail!("{what} built {} components, not {}", b.len(), names.len());
        }
    }
    let speedup = serial_t.as_secs_f64() / parallel_t.as_secs_f64();
    // The issue's own baseline: a serial loop of the same builds, one
    // `azldev build NAME --rebuild` after another (what a mock user does).
    eprintln!("(a) a serial loop: {count} × azldev build NAME --rebuild");
    let t = Instant::now();
    for n in &names {
        az.run(&gen_dir, &["build", n, "--rebuild"])?;
    }
    let loop_t = t.elapsed();
    let loop_speedup = loop_t.as_secs_f64() / parallel_t.as_secs_f64();
    // The machine's own ceiling for this shape of work, without azldev:
    // the same specs with the host's plain rpmbuild, one after another and
    // two at once.
    eprintln!("(a) machine ceiling: host rpmbuild -bb, 1 then 2 at once");
    let ceiling = host_ceiling(&gen_dir, &names, work.path())?;

    // (b) from the serial run: nothing else was building at the time.
    let secs_total = sum(&serial, |b| b.seconds);
    let rb_total = sum(&serial, |b| b.rpmbuild);
    let overhead = (secs_total - rb_total) / rb_total;
    let per_build_wall = serial_t.as_secs_f64() / count as f64;
    let rb_mean = rb_total / count as f64;
    let hello_overhead = (hx - hx_rb) / hx_rb;
    let split = phases(&gen_dir.join("build/logs/x86_64"), &serial)?;

    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\nbench build — {} cores; load average before {} / after {}",
        std::thread::available_parallelism().map_or(0, usize::from),
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        load_after
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(t, "  {:<62} {:>14}  {:>10}", "measure", "result", "goal");
    let mut row = |what: String, result: String, goal: &str, ok: Option<bool>| {
        let mark = match ok {
            Some(true) => "  met",
            Some(false) => "  NOT met",
            None => "",
        };
        let _ = writeln!(t, "  {what:<62} {result:>14}  {goal:>10}{mark}");
    };
    row(
        format!("(a) {count} components, -j 1 (wall, median of {})", runs.min(3)),
        format!("{:.1} s", serial_t.as_secs_f64()),
        "",
        None,
    );
    row(
        format!("    {count} components, -j 2 (wall)"),
        format!("{:.1} s", parallel_t.as_secs_f64()),
        "",
        None,
    );
    row(
        format!("    a serial loop of {count} × `build NAME --rebuild` (wall)"),
        format!("{:.1} s", loop_t.as_secs_f64()),
        "",
        None,
    );
    row(
        "    speed-up -j 2 vs the serial loop (the issue's measure)".into(),
        format!("{loop_speedup:.2}×"),
        "≥ 1.8×",
        Some(loop_speedup >= 1.8),
    );
    row(
        "    speed-up -j 2 vs -j 1 (one invocation, stricter)".into(),
        format!("{speedup:.2}×"),
        "≥ 1.8×",
        Some(speedup >= 1.8),
    );
    row(
        format!(
            "    machine ceiling: host rpmbuild -bb, 1 at a time {:.1} s, 2 at once {:.1} s",
            ceiling.0, ceiling.1
        ),
        format!("{:.2}×", ceiling.0 / ceiling.1),
        "report",
        None,
    );
    row(
        "    azldev -j 2 vs -j 1, as a share of the machine's ceiling".into(),
        pct(speedup / (ceiling.0 / ceiling.1)),
        "report",
        None,
    );
    row(
        "(b) per build (-j 1): azldev executor time, mean".into(),
        format!("{:.2} s", secs_total / count as f64),
        "",
        None,
    );
    row(
        "    rpmbuild --rebuild inside it, mean".into(),
        format!("{rb_mean:.2} s"),
        "",
        None,
    );
    row(
        "    overhead (seconds − rpmbuild) / rpmbuild, generated".into(),
        pct(overhead),
        "< 20%",
        Some(overhead < 0.2),
    );
    row(
        format!("    the same for the demo's hello ({hx:.2} s, rpmbuild {hx_rb:.2} s)"),
        pct(hello_overhead),
        "< 20%",
        Some(hello_overhead < 0.2),
    );
    row(
        "    split, mean (approx., from the phase logs' times):".into(),
        String::new(),
        "",
        None,
    );
    row(
        format!(
            "      layer + SRPM {:.2} s, BuildRequires (dnf) {:.2} s,",
            split[0], split[1]
        ),
        String::new(),
        "",
        None,
    );
    row(
        format!(
            "      rpmbuild {:.2} s, payload ELF check {:.2} s",
            split[2], split[3]
        ),
        String::new(),
        "",
        None,
    );
    let fixed = (secs_total - rb_total) / count as f64;
    row(
        format!("    fixed cost {fixed:.2} s: 20% when rpmbuild takes at least"),
        format!("{:.1} s", fixed / 0.2),
        "",
        None,
    );
    row(
        "    whole command per build (wall / N) vs rpmbuild".into(),
        pct((per_build_wall - rb_mean) / rb_mean),
        "",
        None,
    );
    row(
        format!("(c) no-op build -a of the demo, best of {runs}"),
        format!("{noop_best:.3} s"),
        "< 1 s",
        Some(noop_best < 1.0),
    );
    row(
        "(d) hello x86_64: build (rpmbuild) [command wall]".into(),
        format!("{hx:.1} ({hx_rb:.1}) [{:.1}] s", hello_x86_wall.as_secs_f64()),
        "",
        None,
    );
    row(
        "    hello aarch64 (qemu-user): build (rpmbuild) [wall]".into(),
        format!("{ha:.1} ({ha_rb:.1}) [{:.1}] s", hello_arm_wall.as_secs_f64()),
        "",
        None,
    );
    row(
        "    aarch64 / x86_64, build (rpmbuild alone)".into(),
        format!("{:.1}× ({:.1}×)", ha / hx, ha_rb / hx_rb),
        "report",
        None,
    );
    let _ = writeln!(
        t,
        "  no-op runs: {}; total bench time {:.0} s",
        noop.iter()
            .map(|s| format!("{s:.3}"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    print!("{t}");
    if keep {
        let kept = work.keep();
        eprintln!("kept {}", kept.display());
    }
    drop(lock);
    Ok(())
}
