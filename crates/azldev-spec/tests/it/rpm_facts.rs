//! The evaluator against rpm itself: for a deterministic sample of the
//! azl4 corpus (every `STRIDE`-th spec; `AZLDEV_FULL_CORPUS=1` for all of
//! it), for x86_64 and aarch64, [`evaluate`] with the host's rpm macro files
//! (read here, handed in as bytes) is compared with what Debian's rpm 4.18
//! prints for `rpmspec -q --buildrequires`, `--provides` and `--requires`
//! (`--target ARCH`, private home and database, `_sourcedir` the spec's
//! directory). rpm's answers are cached under the test's target tmp dir by
//! spec content and arch.
//!
//! Every spec rpm handles falls in one of: identical; unresolved (the
//! evaluator said it could not evaluate something: the graph asks rpm);
//! rejected by us (the evaluator reports an rpm error rpm did not have:
//! also handed to rpm); or wrong (complete, no error, and different from
//! rpm) — which must never happen. The differences are explained in
//! `rpmspec-differences.md` beside this file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use azldev_spec::eval::{MacroContext, RootProbe, Shell, evaluate};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::common::all_corpus_specs;

const STRIDE: usize = 40;
/// The share of the specs rpm handles that must come out identical (the
/// whole corpus; the sample). The rest must be unresolved (asked of rpm),
/// never different: the misses are `%(…)` whose output depends on a
/// program in the root (`pkg-config`, `rpm -q`), see
/// `rpmspec-differences.md`.
const MIN_IDENTICAL_PCT: (f64, f64) = (99.5, 98.5);
const ARCHES: [&str; 2] = ["x86_64", "aarch64"];

fn read_sorted(dir: &Path, prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    n.starts_with(prefix) && n.ends_with(suffix)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The host as the shell rpmspec runs `%(…)` with sees it (this test's
/// environment, with the `HOME` and `LC_ALL` given to rpmspec).
#[derive(Debug)]
struct HostProbe;

impl RootProbe for HostProbe {
    fn exists(&self, path: &str) -> bool {
        Path::new(path).exists()
    }

    fn program(&self, name: &str) -> bool {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    }

    fn env(&self, name: &str) -> Option<String> {
        match name {
            // What `rpmspec` below sets.
            "HOME" | "PWD" => Some(rpm_home().display().to_string()),
            "LC_ALL" => Some("C".into()),
            _ => std::env::var(name).ok(),
        }
    }
}

/// The private home (and working directory) rpmspec runs in.
fn rpm_home() -> PathBuf {
    std::env::temp_dir().join(format!("azldev-rpm-facts-{}", std::process::id()))
}

/// The macro files rpm 4.18 reads for `arch`, in its `macrofiles` order.
pub fn host_macro_context(arch: &str) -> MacroContext {
    let mut ctx = MacroContext::for_target(arch);
    ctx.set_probe(std::sync::Arc::new(HostProbe));
    // Debian's /bin/sh, which rpmspec runs `%(…)` with here.
    ctx.set_shell(Shell::Dash);
    let lib = Path::new("/usr/lib/rpm");
    let mut files = vec![lib.join("macros")];
    files.extend(read_sorted(&lib.join("macros.d"), "macros.", ""));
    files.push(lib.join(format!("platform/{arch}-linux/macros")));
    files.extend(read_sorted(&lib.join("fileattrs"), "", ".attr"));
    files.push(lib.join("debian/macros"));
    files.extend(read_sorted(Path::new("/etc/rpm"), "macros.", ""));
    files.push(PathBuf::from("/etc/rpm/macros"));
    files.push(PathBuf::from(format!("/etc/rpm/{arch}-linux/macros")));
    for f in files {
        if let Ok(bytes) = std::fs::read(&f) {
            ctx.load_file(&f.to_string_lossy(), &bytes);
        }
    }
    assert!(
        ctx.get("_isa").is_some(),
        "rpm's macro files are missing (apt-get install rpm)"
    );
    ctx
}

/// Hand in the small files beside a spec (what `%{load:%{SOURCE1}}`
/// reads), as the graph hands in a component's sources.
fn provide_sources(ctx: &mut MacroContext, spec: &Path) {
    let Some(dir) = spec.parent() else { return };
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "spec") || !p.is_file() {
            continue;
        }
        if e.metadata().is_ok_and(|m| m.len() < 256 * 1024)
            && let Ok(bytes) = std::fs::read(&p)
        {
            ctx.provide_file(&p.to_string_lossy(), &bytes);
        }
    }
}

/// rpm's answer: `Ok((binary, buildrequires))` or its error.
type RpmAnswer = Result<(String, String), String>;

fn rpmspec(file: &Path, arch: &str, args: &[&str], home: &Path) -> Result<String, String> {
    let out = Command::new("rpmspec")
        .env("HOME", home)
        .env("LC_ALL", "C")
        .current_dir(home)
        .arg("--dbpath")
        .arg(home.join("db"))
        .arg("--define")
        .arg(format!(
            "_sourcedir {}",
            file.parent().expect("spec in a dir").display()
        ))
        .arg("--define")
        .arg(format!("_topdir {}", home.join("rpmbuild").display()))
        .arg("--target")
        .arg(arch)
        .arg("-q")
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run rpmspec (apt-get install rpm): {e}"));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("rpmspec failed")
            .to_owned())
    }
}

const BIN_QF: &str = "=%{NAME}\\n[P %{PROVIDENEVRS}\\n][R %{REQUIRENEVRS}\\n]";

fn ask_rpm(file: &Path, bytes: &[u8], arch: &str, cache: &Path, home: &Path) -> RpmAnswer {
    let mut h = Sha256::new();
    h.update(b"rpm-facts-v1\0");
    h.update(arch.as_bytes());
    h.update(b"\0");
    h.update(
        file.parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    h.update(b"\0");
    h.update(bytes);
    let key: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let path = cache.join(&key);
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(e) = text.strip_prefix("ERR ") {
            return Err(e.to_owned());
        }
        if let Some(ok) = text.strip_prefix("OK\n")
            && let Some((a, b)) = ok.split_once('\u{0}')
        {
            return Ok((a.to_owned(), b.to_owned()));
        }
    }
    let ans = rpmspec(file, arch, &["--qf", BIN_QF], home).and_then(|bin| {
        rpmspec(file, arch, &["--srpm", "--qf", "[%{REQUIRENEVRS}\\n]"], home).map(|br| (bin, br))
    });
    let text = match &ans {
        Ok((a, b)) => format!("OK\n{a}\u{0}{b}"),
        Err(e) => format!("ERR {e}"),
    };
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    ans
}

fn ours_text(f: &azldev_spec::facts::SpecFacts) -> (String, String) {
    let mut bin = String::new();
    for p in &f.packages {
        let _ = writeln!(bin, "={}", p.name);
        for x in &p.provides {
            let _ = writeln!(bin, "P {x}");
        }
        for x in &p.requires {
            let _ = writeln!(bin, "R {x}");
        }
    }
    let mut br = String::new();
    for d in &f.buildrequires {
        let _ = writeln!(br, "{}", d.text);
    }
    (bin, br)
}

#[derive(Debug, Default)]
struct Tally {
    handled: usize,
    identical: usize,
    unresolved: Vec<String>,
    we_reject: Vec<String>,
    wrong: Vec<String>,
    rpm_rejects: usize,
    both_reject: usize,
    we_accept_rpm_rejects: Vec<String>,
}

#[test]
fn facts_match_rpmspec() {
    let full = std::env::var_os("AZLDEV_FULL_CORPUS").is_some();
    let specs: Vec<(String, PathBuf)> = all_corpus_specs()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| full || i % STRIDE == 0)
        .map(|(_, s)| s)
        .collect();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rpmspec-facts-cache");
    std::fs::create_dir_all(&cache).expect("cache dir");
    let home = rpm_home();
    std::fs::create_dir_all(home.join("db")).expect("private rpm home");
    let mut report = String::new();
    let mut total = Tally::default();
    for arch in ARCHES {
        let base = host_macro_context(arch);
        let results: Vec<(String, RpmAnswer, azldev_spec::eval::Evaluation)> = specs
            .par_iter()
            .map(|(rel, path)| {
                let bytes = std::fs::read(path).expect("read corpus spec");
                let rpm = ask_rpm(path, &bytes, arch, &cache, &home);
                let mut ctx = base.clone();
                ctx.define("_sourcedir", &path.parent().expect("dir").to_string_lossy());
                ctx.define("_topdir", &home.join("rpmbuild").to_string_lossy());
                provide_sources(&mut ctx, path);
                let ev = evaluate(&bytes, &ctx, arch);
                (rel.clone(), rpm, ev)
            })
            .collect();
        for (rel, rpm, ev) in results {
            let tag = format!("{arch} {rel}");
            match (rpm, &ev.error) {
                (Err(_), Some(_)) => {
                    total.rpm_rejects += 1;
                    total.both_reject += 1;
                }
                (Err(e), None) => {
                    total.rpm_rejects += 1;
                    total.we_accept_rpm_rejects.push(format!("{tag}: rpm: {e}"));
                }
                (Ok(_), Some(e)) => {
                    total.handled += 1;
                    total.we_reject.push(format!("{tag}: {e:?}"));
                }
                (Ok((bin, br)), None) => {
                    total.handled += 1;
                    if !ev.unresolved.is_empty() {
                        total.unresolved.push(format!(
                            "{tag}:{}: {}",
                            ev.unresolved[0].line, ev.unresolved[0].what
                        ));
                        continue;
                    }
                    let (obin, obr) = ours_text(&ev.facts);
                    if obin == bin && obr == br {
                        total.identical += 1;
                    } else {
                        let mut d = format!("{tag}:\n");
                        for (what, r, o) in [("binary", &bin, &obin), ("buildrequires", &br, &obr)] {
                            if r != o {
                                let rl: Vec<&str> = r.lines().collect();
                                let ol: Vec<&str> = o.lines().collect();
                                for l in rl.iter().filter(|l| !ol.contains(l)) {
                                    let _ = writeln!(d, "  {what} rpm only: {l}");
                                }
                                for l in ol.iter().filter(|l| !rl.contains(l)) {
                                    let _ = writeln!(d, "  {what} ours only: {l}");
                                }
                                if rl.len() == ol.len() && rl.iter().all(|l| ol.contains(l)) {
                                    let _ = writeln!(d, "  {what}: same lines, different order");
                                }
                            }
                        }
                        total.wrong.push(d);
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&home);
    let pct = 100.0 * total.identical as f64 / total.handled.max(1) as f64;
    let _ = writeln!(
        report,
        "specs x arches: {} ; rpm handles {} ; identical {} ({pct:.2}%) ; unresolved {} ; we reject {} ; WRONG {} ; rpm rejects {} (we agree on {})",
        specs.len() * ARCHES.len(),
        total.handled,
        total.identical,
        total.unresolved.len(),
        total.we_reject.len(),
        total.wrong.len(),
        total.rpm_rejects,
        total.both_reject,
    );
    for (title, list) in [
        ("WRONG", &total.wrong),
        ("unresolved", &total.unresolved),
        ("we reject, rpm accepts", &total.we_reject),
        ("we accept, rpm rejects", &total.we_accept_rpm_rejects),
    ] {
        let _ = writeln!(report, "\n## {title} ({})", list.len());
        for l in list {
            let _ = writeln!(report, "{l}");
        }
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rpm-facts-report.txt");
    let _ = std::fs::write(&out, &report);
    eprintln!("{}", report.lines().next().unwrap_or(""));
    eprintln!("report: {}", out.display());
    assert!(
        total.handled >= specs.len(),
        "too few specs handled by rpm: {}",
        total.handled
    );
    assert!(total.wrong.is_empty(), "silently wrong facts:\n{report}");
    let min = if full {
        MIN_IDENTICAL_PCT.0
    } else {
        MIN_IDENTICAL_PCT.1
    };
    assert!(pct >= min, "only {pct:.2}% identical:\n{report}");
}

/// The whole corpus, both arches, evaluated in parallel: the speed the
/// build graph relies on (printed; asserted loosely against CI noise).
#[test]
fn corpus_evaluation_speed() {
    let specs: Vec<Vec<u8>> = all_corpus_specs()
        .into_iter()
        .map(|(_, p)| std::fs::read(p).expect("read corpus spec"))
        .collect();
    let ctxs: Vec<MacroContext> = ARCHES.iter().map(|a| host_macro_context(a)).collect();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let n: usize = ctxs
            .iter()
            .zip(ARCHES)
            .map(|(ctx, arch)| {
                specs
                    .par_iter()
                    .map(|s| evaluate(s, ctx, arch).facts.packages.len())
                    .sum::<usize>()
            })
            .sum();
        assert!(n > specs.len());
        best = best.min(t.elapsed().as_secs_f64());
    }
    eprintln!(
        "evaluated {} specs x {} arches in {best:.3} s (best of 3, warm)",
        specs.len(),
        ARCHES.len()
    );
}
