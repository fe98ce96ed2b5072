//! Developer automation: `cargo xtask <task>`.
//!
//! - `ci` — what CI runs: format check, clippy with `-D warnings`, every test.
//! - `bench spec [--corpus DIR] [--runs N]` — parse and round-trip every spec
//!   of the real corpus, next to the time to merely read the same files.
//! - `bench render [--sample N] [--per-package N]` — the corpus as upstreams,
//!   rendered as a distro: full, no-op and one-change renders next to
//!   `git archive` (see `bench_render.rs`).
//! - `bench diff [--sample N] [--runs N]` — `azldev diff` on the corpus as a
//!   distro, for changes touching 1 and 10 components (see `bench_diff.rs`).
//! - `bench graph [--sample N] [--limit N]` — the build graph of the azl4
//!   corpus for both arches, cold (rpmspec) and warm (cache), next to
//!   `rpmspec --buildrequires` on a sample (see `bench_graph.rs`).
//! - `bench build [--components N] [--runs N] [--cache DIR] [--keep]` —
//!   `azldev build`: `-j 2` against `-j 1` on generated components, azldev's
//!   overhead per build, a no-op demo build, aarch64 against x86_64 (see
//!   `bench_build.rs`).
//! - `bench image [--root DIR] [--arch A] [--runs N] [--no-kiwi] [--keep]` —
//!   every image format writer on a real root, next to `kiwi-ng system
//!   create` for tar, OCI, squashfs and ext4 (see `bench_image.rs`);
//!   `bench image --demo`: the whole demo image set, both arches.
//! - `bench autospec [--commits N]` — native `%autorelease`/`%autochangelog`
//!   on a 5,000-commit history (see `bench_autospec.rs`).
//! - `bench buildroot [--runs N] [--arch A] [--seed-arch A|none]` — layer
//!   setup + teardown against extracting a tarball of the base root and a
//!   fresh `dnf --installroot`; seed import and base creation times (see
//!   `bench_buildroot.rs`; needs root).
//! - `bench config [ROOT] [N]` — load and validate the azl4 configuration.
//! - `demo [RENDER-ARGS…]` — check (as root on Debian: install) the toolchain
//!   stage's system packages, generate the demo upstreams, render, then
//!   `toolchain seed --arch x86_64`, `buildroot create` and `build -a`.
//! - `demo-upstreams [--out DIR] [--fixtures DIR] [--write-sources]` — the demo
//!   distro's upstream git repositories and lookaside cache, made
//!   deterministically from `tests/fixtures/demo/` (see `tests/src/demo.rs`).

mod bench_autospec;
mod bench_build;
mod bench_buildroot;
mod bench_diff;
mod bench_graph;
mod bench_image;
mod bench_render;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["ci"] => ci(),
        ["bench", "spec", rest @ ..] => bench_spec(rest),
        ["bench", "render", rest @ ..] => {
            bench_render::run(&workspace_root(), |n| Ok(flag(rest, n)?.map(str::to_owned)))
        }
        ["bench", "diff", rest @ ..] => {
            bench_diff::run(&workspace_root(), |n| Ok(flag(rest, n)?.map(str::to_owned)))
        }
        ["bench", "graph", rest @ ..] => {
            bench_graph::run(&workspace_root(), |n| Ok(flag(rest, n)?.map(str::to_owned)))
        }
        ["bench", "buildroot", rest @ ..] => {
            bench_buildroot::run(&workspace_root(), |n| Ok(flag(rest, n)?.map(str::to_owned)))
        }
        ["bench", "build", rest @ ..] => bench_build::run(&workspace_root(), rest),
        ["bench", "image", rest @ ..] => bench_image::run(&workspace_root(), rest),
        ["bench", "autospec", rest @ ..] => bench_autospec::run(rest, &workspace_root()),
        ["bench", "config", rest @ ..] => run(cargo()
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "azldev-config",
                "--example",
                "bench_config",
                "--",
            ])
            .args(rest)),
        ["demo-upstreams", rest @ ..] => azldev_e2e::demo::upstreams(rest),
        ["demo", rest @ ..] => demo(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\n\
                 tasks:\n  \
                 ci                                   fmt check, clippy -D warnings, all tests\n  \
                 bench spec [--corpus DIR] [--runs N] parse + round-trip the spec corpus\n  \
                 bench render [--sample N]            render the corpus as a distro of bare components\n  \
                 bench diff [--sample N]              `azldev diff` of 1 and 10 changed components on the corpus distro\n  \
                 bench graph [--sample N] [--limit N] the azl4 corpus's build graph, both arches, cold/warm, next to rpmspec\n  \
                 bench build [--components N]         `azldev build`: -j 2 vs -j 1, overhead, no-op, aarch64 vs x86_64\n  \
                 bench autospec [--commits N]         %autorelease/%autochangelog on a 5,000-commit history\n  \
                 bench image [--runs N] [--no-kiwi]   image format writers on a cached base root, next to kiwi-ng\n  \
                 bench image --demo [--bin PATH]      the whole demo image set (demo-container, demo-vm), both arches\n  \
                 bench buildroot [--runs N]           layer setup+teardown vs untar vs dnf --installroot; seed import\n  \
                 bench config [ROOT] [N]              load + validate the azl4 configuration N times\n  \
                 demo [ARGS…]                         system packages, demo upstreams, `azldev render ARGS`,\n                                      \
                 then `toolchain seed`, `buildroot create`, `build -a` (x86_64)\n  \
                 demo-upstreams [--out DIR]           the demo distro's upstream git repositories and\n                                      \
                 lookaside (default target/demo-upstreams)"
            );
            bail!("unknown or missing task")
        }
    }
}

/// `cargo xtask demo [RENDER-ARGS…]`: check the system packages of the
/// toolchain stage (installing them when root on Debian), generate the demo
/// distro's upstreams (offline, deterministic), render it with the release
/// `azldev`, then make the x86_64 toolchain seed and the demo's base root,
/// build every component and say where the repository is.
fn demo(rest: &[&str]) -> Result<()> {
    system_packages()?;
    azldev_e2e::demo::upstreams(&[])?;
    let bin = bench_render::release_azldev(&workspace_root())?;
    run(Command::new(&bin).arg("render").args(rest))?;
    run(Command::new(&bin).args(["toolchain", "seed", "--arch", "x86_64"]))?;
    if !is_root() {
        eprintln!(
            "skipping `azldev buildroot create` and `azldev build`: base roots and build layers need root \
             (run `cargo xtask demo` as root)"
        );
        return Ok(());
    }
    run(Command::new(&bin).args(["buildroot", "create", "--arch", "x86_64"]))?;
    run(Command::new(&bin).args(["build", "-a", "--arch", "x86_64"]))?;
    let repo = workspace_root().join("out/x86_64");
    eprintln!(
        "demo: the x86_64 repository is {} (try `{} buildroot shell --install greeter -- greeter`)",
        repo.display(),
        bin.display()
    );
    // The image stage: the container (OCI + tar) and the bootable disk,
    // then the disk's boot check under qemu-system.
    run(Command::new(&bin).args(["image", "build", "demo-container", "--arch", "x86_64"]))?;
    run(Command::new(&bin).args(["image", "build", "demo-vm", "--arch", "x86_64"]))?;
    run(Command::new(&bin).args(["image", "boot", "demo-vm", "--arch", "x86_64"]))?;
    eprintln!(
        "demo: the images are under {}",
        workspace_root().join("out/images").display()
    );
    Ok(())
}

/// What the toolchain stage runs: (program, Debian package).
const SYSTEM_TOOLS: &[(&str, &str)] = &[
    ("dnf", "dnf"),
    ("createrepo_c", "createrepo-c"),
    ("bwrap", "bubblewrap"),
    ("debootstrap", "debootstrap"),
    ("qemu-aarch64-static", "qemu-user-static"),
    ("update-binfmts", "binfmt-support"),
    ("rpmbuild", "rpm"),
    ("wget", "wget"),
    ("dpkg-deb", "dpkg"),
    ("file", "file"),
    ("unshare", "util-linux"),
    ("mkfs.ext4", "e2fsprogs"),
    ("mkfs.erofs", "erofs-utils"),
    ("mksquashfs", "squashfs-tools"),
    ("mcopy", "mtools"),
    ("mkfs.vfat", "dosfstools"),
    ("sgdisk", "gdisk"),
    ("xorriso", "xorriso"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("gpg", "gnupg"),
    ("qemu-img", "qemu-utils"),
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("qemu-system-aarch64", "qemu-system-arm"),
];

/// The one command that installs them on Debian (README.md "System
/// packages" and `.ci/run` give the same list).
const APT_INSTALL: &str = "apt-get install -y --no-install-recommends rpm git dnf createrepo-c \
    bubblewrap qemu-user-static binfmt-support debootstrap wget file util-linux dpkg ca-certificates \
    e2fsprogs erofs-utils squashfs-tools mtools dosfstools gdisk xorriso skopeo umoci gnupg cpio zstd xz-utils \
    openssl qemu-system-x86 qemu-system-arm ovmf qemu-efi-aarch64 \
    qemu-utils=$(apt-cache madison qemu-system-common | awk 'NR==1 {print $3}') --allow-downgrades";

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

fn is_root() -> bool {
    azldev_buildroot::base::is_root()
}

/// Makes sure the toolchain stage's system packages are installed: when
/// some are missing, installs them as root on Debian, else fails with the
/// command to run.
fn system_packages() -> Result<()> {
    let missing: Vec<&str> = SYSTEM_TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, _)| *tool)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let debian = Path::new("/etc/debian_version").exists() && on_path("apt-get");
    if !(is_root() && debian) {
        bail!(
            "the toolchain stage needs {} (not found on PATH); on Debian, as root:\n  {APT_INSTALL}",
            missing.join(", ")
        );
    }
    eprintln!(
        "installing the toolchain stage's system packages ({} missing)",
        missing.join(", ")
    );
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("sh").args(["-c", &format!("DEBIAN_FRONTEND=noninteractive {APT_INSTALL}")]))?;
    let still: Vec<&str> = SYSTEM_TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, _)| *tool)
        .collect();
    if !still.is_empty() {
        bail!("still missing after apt-get install: {}", still.join(", "));
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ci() -> Result<()> {
    let start = Instant::now();
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    if has_nextest() {
        run(cargo().args(["nextest", "run", "--workspace", "--no-fail-fast"]))?;
        // nextest does not run doctests.
        run(cargo().args(["test", "--workspace", "--doc"]))?;
    } else {
        run(cargo().args(["test", "--workspace", "--no-fail-fast"]))?;
    }
    eprintln!("ci: all green in {:.0?}", start.elapsed());
    Ok(())
}

fn flag<'a>(args: &[&'a str], name: &str) -> Result<Option<&'a str>> {
    match args.iter().position(|a| *a == name) {
        Some(i) => args
            .get(i + 1)
            .copied()
            .map(Some)
            .with_context(|| format!("{name} needs a value")),
        None => Ok(None),
    }
}

fn default_corpus() -> PathBuf {
    workspace_root().join("../shared/corpus/azl4/specs")
}

fn spec_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!("corpus directory {} not found (pass --corpus DIR)", dir.display());
    }
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "spec"))
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    Ok(files)
}

fn best(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}

fn bench_spec(args: &[&str]) -> Result<()> {
    let dir = flag(args, "--corpus")?.map_or_else(default_corpus, PathBuf::from);
    let runs: usize = flag(args, "--runs")?.map_or(Ok(5), str::parse)?;
    let files = spec_files(&dir)?;
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    // Warm the page cache so both measurements read from memory.
    files.par_iter().try_for_each(|f| std::fs::read(f).map(drop))?;

    let read = best(runs, || {
        files.par_iter().try_for_each(|f| std::fs::read(f).map(drop))?;
        Ok(())
    })?;
    let mut failures = 0usize;
    let parse = best(runs, || {
        failures = files
            .par_iter()
            .map(|f| -> Result<usize> {
                let src = std::fs::read(f)?;
                let spec = azldev_spec::Spec::parse(src.as_slice());
                Ok(usize::from(spec.reconstruct() != src))
            })
            .sum::<Result<usize>>()?;
        Ok(())
    })?;
    let mb = bytes as f64 / 1e6;
    println!("corpus: {} ({} specs, {mb:.1} MB)", dir.display(), files.len());
    println!("threads: {}", rayon::current_num_threads());
    println!(
        "read only:            {:>8.1} ms  ({:.0} MB/s)",
        read.as_secs_f64() * 1e3,
        mb / read.as_secs_f64()
    );
    println!(
        "read+parse+roundtrip: {:>8.1} ms  ({:.0} MB/s)",
        parse.as_secs_f64() * 1e3,
        mb / parse.as_secs_f64()
    );
    println!(
        "ratio parse/read: {:.1}x; best of {runs} runs",
        parse.as_secs_f64() / read.as_secs_f64()
    );
    if failures > 0 {
        bail!("{failures} specs did not round-trip");
    }
    if parse > Duration::from_secs(1) {
        eprintln!("warning: above the 1 s target for the whole corpus");
    }
    Ok(())
}
