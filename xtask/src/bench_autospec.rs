//! `cargo xtask bench autospec [--commits N] [--runs N] [--reference]`:
//! `%autorelease`/`%autochangelog` expansion on a kernel-sized dist-git
//! history. Builds (once, with `git fast-import`, under
//! `target/bench-autospec/`) a deterministic history of N commits (default
//! 5,000, the size of the kernel's) of a ~2,400-line spec that changes in
//! most commits — version bumps every 25 commits, `%global`s, conditionals,
//! `%bcond`s, multi-line messages with bullets, `[bump release: N]`, a side
//! branch merged back every 500 commits — then times the expansion in a
//! release build (`examples/autospec.rs` of `azldev-autospec`). With
//! `--reference`, also times `rpmautospec process-distgit` on a checkout
//! (from `$AZLDEV_RPMAUTOSPEC`, `PATH` or `target/rpmautospec-venv`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

fn arg<'a>(rest: &[&'a str], name: &str) -> Option<&'a str> {
    rest.iter()
        .position(|a| *a == name)
        .and_then(|i| rest.get(i + 1).copied())
}

pub fn run(rest: &[&str], root: &Path) -> Result<()> {
    let commits: usize = arg(rest, "--commits")
        .unwrap_or("5000")
        .parse()
        .context("--commits")?;
    let runs: usize = arg(rest, "--runs").unwrap_or("5").parse().context("--runs")?;
    let repo = root
        .join("target/bench-autospec")
        .join(format!("kernel-{commits}.git"));
    if !repo.join("HEAD").is_file() {
        let t = Instant::now();
        build(&repo, commits)?;
        eprintln!("built {} in {:.1} s", repo.display(), t.elapsed().as_secs_f64());
    }
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "azldev-autospec",
            "--example",
            "autospec",
            "--",
        ])
        .arg(&repo)
        .args(["kernel.spec", "--runs", &runs.to_string()])
        .status()
        .context("cargo run")?;
    if !status.success() {
        bail!("the expansion failed");
    }
    if rest.contains(&"--reference") {
        reference(root, &repo)?;
    }
    Ok(())
}

/// Time `rpmautospec process-distgit` on a checkout of the fixture.
fn reference(root: &Path, repo: &Path) -> Result<()> {
    let exe = std::env::var_os("AZLDEV_RPMAUTOSPEC")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("rpmautospec"))
                    .find(|e| e.is_file())
            })
        })
        .unwrap_or_else(|| root.join("target/rpmautospec-venv/bin/rpmautospec"));
    if !exe.is_file() {
        println!("reference: no rpmautospec found ({})", exe.display());
        return Ok(());
    }
    let work = root.join("target/bench-autospec/checkout");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let out = Command::new("git")
        .arg("clone")
        .arg("-q")
        .arg(repo)
        .arg(work.join("kernel"))
        .status()?;
    if !out.success() {
        bail!("git clone failed");
    }
    let t = Instant::now();
    let out = Command::new(&exe)
        .arg("process-distgit")
        .arg(work.join("kernel/kernel.spec"))
        .arg(work.join("out.spec"))
        .output()?;
    if !out.status.success() {
        bail!("rpmautospec: {}", String::from_utf8_lossy(&out.stderr));
    }
    println!(
        "reference: rpmautospec process-distgit took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A small deterministic generator (LCG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The spec at a point of the history.
fn spec(version: &str, build: usize, churn: &[u64]) -> String {
    let mut s = String::with_capacity(96 * 1024);
    s.push_str("# The kernel, for the autospec benchmark.\n%global released_kernel 1\n");
    let _ = writeln!(s, "%global buildid .b{build}");
    s.push_str(
        "%if 0%{?fedora}\n%global primary_target fedora\n%else\n%global primary_target rhel\n%endif\n",
    );
    for i in 0..80 {
        let _ = writeln!(s, "%bcond_without feature{i}");
        let _ = writeln!(
            s,
            "%global option{i} %{{?with_feature{i}:1}}%{{!?with_feature{i}:0}}"
        );
        let _ = writeln!(s, "%if %{{with feature{i}}}\n%global use_feature{i} 1\n%endif");
    }
    let _ = writeln!(s, "%global specrpmversion {version}");
    s.push_str("%global tarfile_release %{specrpmversion}\n\n");
    s.push_str(
        "Name: kernel\nSummary: The Linux kernel\nLicense: GPL-2.0-only\nURL: https://www.kernel.org/\n",
    );
    s.push_str("Version: %{specrpmversion}\nRelease: %autorelease\n");
    for i in 0..120 {
        let _ = writeln!(
            s,
            "BuildRequires: build-dependency-{i} >= {}",
            churn[i % churn.len()] % 10
        );
    }
    for i in 0..100 {
        let _ = writeln!(s, "Source{i}: kernel-source-{i}-%{{specrpmversion}}.config");
    }
    s.push_str(
        "\n%description\nThe kernel meta package.\n\n%prep\n%setup -q -n linux-%{tarfile_release}\n\n",
    );
    for i in 0..1500 {
        let _ = writeln!(s, "echo 'configure option {i} = {}'", churn[i % churn.len()]);
    }
    s.push_str("\n%files\n");
    for i in 0..400 {
        let _ = writeln!(s, "/lib/modules/%{{version}}/kernel/drivers/module{i}.ko");
    }
    s.push_str("\n%changelog\n%autochangelog\n");
    s
}

fn data(out: &mut Vec<u8>, bytes: &[u8]) {
    let _ = writeln!(out, "data {}", bytes.len());
    out.extend_from_slice(bytes);
    out.push(b'\n');
}

const AUTHORS: [(&str, &str); 5] = [
    ("Justin M. Forbes", "jforbes@fedoraproject.org"),
    ("Fedora Kernel Team", "kernel-team@fedoraproject.org"),
    ("Jane Doe", "jane@example.com"),
    ("John Smith", "john@example.org"),
    ("Patrick Talbert", "ptalbert@example.com"),
];

/// Write the fast-import stream of the history.
fn stream(commits: usize) -> Vec<u8> {
    let mut rng = Rng(0x5eed);
    let mut out = Vec::new();
    let mut churn: Vec<u64> = (0..64).map(|_| rng.next()).collect();
    let (mut minor, mut patch) = (1usize, 0usize);
    let mut time = 1_600_000_000i64;
    let mut mark = 0usize;
    let mut main_head = 0usize;
    let mut i = 0usize;
    while i < commits {
        let merge_round = i > 0 && i.is_multiple_of(500) && i + 4 <= commits;
        if merge_round {
            // A side branch of three commits from the current main, merged
            // back with main's tree (as `-s ours` does).
            let _ = writeln!(out, "reset refs/heads/side\nfrom :{main_head}\n");
            for k in 0..3 {
                mark += 1;
                time += 3600;
                let (name, email) = AUTHORS[k % AUTHORS.len()];
                let _ = writeln!(out, "commit refs/heads/side\nmark :{mark}");
                let _ = writeln!(
                    out,
                    "author {name} <{email}> {time} +0000\ncommitter {name} <{email}> {time} +0000"
                );
                data(&mut out, format!("Side work {i}.{k}\n").as_bytes());
                let _ = writeln!(out, "M 100644 inline side.txt");
                data(&mut out, format!("{i}.{k}\n").as_bytes());
                i += 1;
            }
            let side = mark;
            mark += 1;
            time += 3600;
            let _ = writeln!(out, "commit refs/heads/main\nmark :{mark}");
            let _ = writeln!(
                out,
                "author Fedora Kernel Team <kernel-team@fedoraproject.org> {time} +0000\ncommitter Fedora Kernel Team \
                 <kernel-team@fedoraproject.org> {time} +0000"
            );
            data(&mut out, format!("Merge side work at {i}\n").as_bytes());
            let _ = writeln!(out, "from :{main_head}\nmerge :{side}\n");
            main_head = mark;
            i += 1;
            continue;
        }
        mark += 1;
        time += 3600 + rng.below(7200) as i64;
        let (name, email) = AUTHORS[rng.below(AUTHORS.len() as u64) as usize];
        let kind = rng.below(100);
        let message;
        let mut files: Vec<(&str, String)> = Vec::new();
        if i.is_multiple_of(25) {
            patch += 1;
            if patch > 20 {
                patch = 0;
                minor += 1;
            }
            message = format!(
                "kernel-6.{minor}.{patch}-0\n\n- Linux v6.{minor}.{patch}\n- Resolves: rhbz#{}\n",
                2_000_000 + rng.below(999_999)
            );
        } else if kind < 70 {
            let k = rng.below(churn.len() as u64) as usize;
            churn[k] = rng.next();
            message = format!(
                "Update configuration option {k}\n\n- Turn option {k} to {}\n- Adjust the dependent options\n  \
                 for all architectures\n\nSigned-off-by: {name} <{email}>\n",
                churn[k] % 3
            );
        } else if kind < 72 {
            message = format!("Rebuild for the toolchain\n\n[bump release: {}]\n", 40 + i % 7);
        } else {
            message = format!("Update the sources for build {i}\n");
            files.push((
                "sources",
                format!("SHA512 (linux-6.{minor}.tar.xz) = {:016x}\n", rng.next()),
            ));
        }
        let version = format!("6.{minor}.{patch}");
        let _ = writeln!(out, "commit refs/heads/main\nmark :{mark}");
        let _ = writeln!(
            out,
            "author {name} <{email}> {time} +0000\ncommitter {name} <{email}> {time} +0000"
        );
        data(&mut out, message.as_bytes());
        if main_head > 0 {
            let _ = writeln!(out, "from :{main_head}");
        }
        if files.is_empty() || i == 0 {
            let _ = writeln!(out, "M 100644 inline kernel.spec");
            data(&mut out, spec(&version, i, &churn).as_bytes());
        }
        for (path, content) in &files {
            let _ = writeln!(out, "M 100644 inline {path}");
            data(&mut out, content.as_bytes());
        }
        out.push(b'\n');
        main_head = mark;
        i += 1;
    }
    out
}

fn build(repo: &Path, commits: usize) -> Result<()> {
    let tmp = repo.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let git = |args: &[&str]| -> Result<()> {
        let ok = Command::new("git")
            .args(args)
            .current_dir(&tmp)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()?
            .success();
        if ok { Ok(()) } else { bail!("git {args:?} failed") }
    };
    git(&["init", "-q", "--bare", "-b", "main"])?;
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&tmp)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .context("git fast-import")?;
    let input = stream(commits);
    child.stdin.take().context("stdin")?.write_all(&input)?;
    if !child.wait()?.success() {
        bail!("git fast-import failed");
    }
    std::fs::rename(&tmp, repo)?;
    Ok(())
}
