//! `cargo xtask bench render [--sample N] [--work DIR] [--per-package N]`:
//! the real-data run. Turns the corpus spec directories into upstreams — one
//! repository holding all of them (`dist-git-path = "SPECS/$pkg"`) and a
//! sample of one-repository-per-package — renders them as a distro of bare
//! components, checks that every rendered spec is the header plus the
//! upstream spec, and times a full render with a warm cache (into tmpfs,
//! and into new directories on the work directory's filesystem), a no-op
//! re-render and a one-component change, next to `git archive` of the same
//! tree (the cost of just reading the data) and `git archive | tar -x`
//! (reading it and writing the files).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const HEADER: &str = "# This spec file has been modified by azldev to include build configuration overlays.\n# Do not edit manually; changes may be overwritten.\n\n";

pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Corpus")
        .env("GIT_AUTHOR_EMAIL", "corpus@example.org")
        .env("GIT_COMMITTER_NAME", "Corpus")
        .env("GIT_COMMITTER_EMAIL", "corpus@example.org")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .with_context(|| format!("git {args:?}"))?;
    if !out.status.success() {
        bail!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Corpus component directories: (name, path), sorted by name.
fn corpus_dirs(corpus: &Path) -> Result<Vec<(String, PathBuf)>> {
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

pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else if e.file_type()?.is_file() && std::fs::hard_link(e.path(), &dest).is_err() {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

pub(crate) fn toml_key(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

struct Timed {
    elapsed: Duration,
    stderr: String,
}

fn azldev(bin: &Path, dir: &Path, cache: &Path, args: &[&str]) -> Result<Timed> {
    let t = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("AZLDEV_CACHE_DIR", cache)
        .output()
        .context("run azldev")?;
    let elapsed = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!(
            "azldev {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr.lines().rev().take(20).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(Timed { elapsed, stderr })
}

/// Build the release `azldev` and return its path.
pub(crate) fn release_azldev(root: &Path) -> Result<PathBuf> {
    eprintln!("building azldev (release)…");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--quiet", "-p", "azldev-cli"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo build failed");
    }
    Ok(root.join("target/release/azldev"))
}

/// The corpus component directories, or every n-th of them to keep about
/// `sample`.
/// Corpus directories missing a file the spec names (the corpus README:
/// files that could not be recovered): render rightly refuses them, as
/// rpmbuild would (see `crates/azldev-render/tests/it/corpus.rs`).
const INCOMPLETE: &[&str] = &["ipmitool", "nss", "petsc"];

pub(crate) fn sampled_corpus(corpus: &Path, sample: usize) -> Result<Vec<(String, PathBuf)>> {
    let mut dirs = corpus_dirs(corpus)?;
    dirs.retain(|(name, _)| !INCOMPLETE.contains(&name.as_str()));
    if sample < dirs.len() {
        let step = dirs.len().div_ceil(sample);
        dirs = dirs.into_iter().step_by(step).collect();
    }
    Ok(dirs)
}

/// Move a previous run's `dir` aside (deleted by [`Aside::remove`] after
/// the measurements) and create `dir` empty. Deleting tens of thousands of
/// files just before measuring would time the filesystem instead: ext4
/// without a journal (this machine's root) skips inodes freed in the last
/// minutes when it allocates new ones, and a full render then takes
/// several times longer.
pub(crate) fn fresh_dir_deferred(dir: &Path) -> Result<(PathBuf, Aside)> {
    let aside = dir.with_extension("previous");
    let _ = std::fs::remove_dir_all(&aside);
    let moved = std::fs::rename(dir, &aside).is_ok();
    std::fs::create_dir_all(dir)?;
    Ok((std::fs::canonicalize(dir)?, Aside(moved.then_some(aside))))
}

/// A previous run's work directory, to delete once the timings are taken.
pub(crate) struct Aside(Option<PathBuf>);

impl Aside {
    pub(crate) fn remove(self) {
        if let Some(p) = self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// The best and the median of `runs` timings of `f`.
fn best_median(runs: usize, mut f: impl FnMut(usize) -> Result<Duration>) -> Result<(Duration, Duration)> {
    let mut t = Vec::new();
    for i in 0..runs {
        t.push(f(i)?);
    }
    t.sort();
    Ok((t[0], t[t.len() / 2]))
}

/// Files below `dir`, relative path to content, for comparing two trees.
fn tree_files(dir: &Path) -> Result<std::collections::BTreeMap<PathBuf, Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let p = e.path();
            if e.file_type()?.is_dir() {
                stack.push(p);
            } else {
                let data = std::fs::read(&p)?;
                out.insert(p.strip_prefix(dir)?.to_path_buf(), data);
            }
        }
    }
    Ok(out)
}

/// A directory on tmpfs for the output-in-memory runs, when there is one.
fn tmpfs_dir() -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    let dir = shm.join(format!("azldev-bench-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// One repository holding every package as `SPECS/<name>/`, one commit.
pub(crate) fn monorepo(work: &Path, dirs: &[(String, PathBuf)]) -> Result<PathBuf> {
    let t = Instant::now();
    let mono = work.join("mono");
    for (name, dir) in dirs {
        copy_dir(dir, &mono.join("SPECS").join(name))?;
    }
    git(&mono, &["init", "-q", "-b", "main"])?;
    git(&mono, &["add", "-A"])?;
    git(&mono, &["commit", "-q", "-m", "corpus"])?;
    eprintln!("monorepo made in {:.1?}", t.elapsed());
    Ok(mono)
}

pub fn run(root: &Path, flag: impl Fn(&str) -> Result<Option<String>>) -> Result<()> {
    let corpus = flag("--corpus")?.map_or_else(|| root.join("../shared/corpus/azl4/specs"), PathBuf::from);
    let work = flag("--work")?.map_or_else(|| root.join("target/bench-render"), PathBuf::from);
    let sample: usize = flag("--sample")?.map_or(Ok(usize::MAX), |s| s.parse())?;
    let per_package: usize = flag("--per-package")?.map_or(Ok(100), |s| s.parse())?;
    let bin = release_azldev(root)?;
    let dirs = sampled_corpus(&corpus, sample)?;
    eprintln!("{} components from {}", dirs.len(), corpus.display());
    let (work, previous) = fresh_dir_deferred(&work)?;
    monorepo(&work, &dirs)?;

    // A sample as one repository per package.
    let per: Vec<&(String, PathBuf)> = dirs
        .iter()
        .step_by(dirs.len().div_ceil(per_package).max(1))
        .collect();
    for (name, dir) in &per {
        let repo = work.join("rpms").join(name);
        copy_dir(dir, &repo)?;
        git(&repo, &["init", "-q", "-b", "main"])?;
        git(&repo, &["add", "-A"])?;
        git(&repo, &["commit", "-q", "-m", "import"])?;
    }

    let distro = work.join("distro");
    std::fs::create_dir_all(&distro)?;
    let mut toml = String::from(
        "[project]\nrendered-specs-dir = \"specs\"\n\n\
         [distros.mono]\ndist-git-base-uri = \"../mono\"\ndist-git-path = \"SPECS/$pkg\"\ndefault-version = \"1\"\n\
         [distros.mono.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\n\
         [distros.rpms]\ndist-git-base-uri = \"../rpms/$pkg\"\ndefault-version = \"1\"\n\
         [distros.rpms.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\n",
    );
    let per_names: std::collections::BTreeSet<&str> = per.iter().map(|(n, _)| n.as_str()).collect();
    for (name, _) in &dirs {
        let d = if per_names.contains(name.as_str()) {
            "rpms"
        } else {
            "mono"
        };
        writeln!(
            toml,
            "[components.{}]\nspec = {{ type = \"upstream\", upstream-distro = {{ name = \"{d}\", version = \"1\" }} }}",
            toml_key(name)
        )?;
    }
    std::fs::write(distro.join("distro.toml"), &toml)?;
    let cache = work.join("cache");

    // Cold: fetch everything into the cache and pin.
    let cold = azldev(&bin, &distro, &cache, &["render", "-q"])?;
    // Full render with a warm cache, each run into a new directory on the
    // work directory's filesystem (best and median of three: the
    // write-bound runs vary with the filesystem's state) ...
    let (full, full_median) = best_median(3, |i| {
        let out = format!("specs-full-{}", i + 1);
        Ok(azldev(&bin, &distro, &cache, &["render", "-q", "--force", "-o", &out])?.elapsed)
    })?;
    // ... and into tmpfs, where writing costs what it costs the program
    // (no block allocation): render's own cost next to git archive's.
    let shm = tmpfs_dir();
    let in_memory = match &shm {
        Some(shm) => {
            let (best, median) = best_median(3, |i| {
                let out = shm.join(format!("specs-{i}"));
                let out = out.to_string_lossy();
                Ok(azldev(&bin, &distro, &cache, &["render", "-q", "--force", "-o", &out])?.elapsed)
            })?;
            // Same bytes wherever and however often it renders.
            if tree_files(&shm.join("specs-0"))? != tree_files(&distro.join("specs-full-1"))? {
                bail!("the tmpfs render differs from the on-disk render");
            }
            Some((best, median))
        }
        None => None,
    };
    // Compute only: render everything again over an identical tree (reads,
    // renders and compares; writes nothing).
    let compute = azldev(
        &bin,
        &distro,
        &cache,
        &["render", "-q", "--force", "-o", "specs-full-1"],
    )?;
    let noop = azldev(&bin, &distro, &cache, &["render", "-q"])?;
    // Change one component.
    let first = &dirs[dirs.len() / 2].0;
    toml.push_str(&format!(
        "[[components.{}.overlays]]\ntype = \"spec-prepend-lines\"\nlines = [\"# changed by the benchmark\"]\n",
        toml_key(first)
    ));
    std::fs::write(distro.join("distro.toml"), &toml)?;
    let one = azldev(&bin, &distro, &cache, &["render", "-q"])?;

    // Reference: git archive of the same tree, from the same (packed) cache
    // entry render reads (best of three); and, for what writing the files
    // costs on this filesystem, the archive extracted by tar.
    let entry = std::fs::read_dir(cache.join("git"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "git") && p.to_string_lossy().contains("mono"))
        .context("the monorepo's cache entry")?;
    let (reference, _) = best_median(3, |_| {
        let t = Instant::now();
        let archive = Command::new("git")
            .args(["archive", "--format=tar", "main"])
            .current_dir(&entry)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !archive.success() {
            bail!("git archive failed");
        }
        Ok(t.elapsed())
    })?;
    let (extract, _) = best_median(3, |i| {
        let out = work.join(format!("tar-x-{i}"));
        std::fs::create_dir_all(&out)?;
        let t = Instant::now();
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "git -C '{}' archive --format=tar main | tar -x -C '{}'",
                entry.display(),
                out.display()
            ))
            .status()?;
        if !status.success() {
            bail!("git archive | tar -x failed");
        }
        Ok(t.elapsed())
    })?;
    if let Some(shm) = &shm {
        let _ = std::fs::remove_dir_all(shm);
    }
    let full = Timed {
        elapsed: full,
        stderr: String::new(),
    };

    // Every rendered spec is the header plus the upstream spec.
    let mut mismatches = Vec::new();
    for (name, dir) in &dirs {
        if name == first {
            continue;
        }
        let upstream = std::fs::read(dir.join(format!("{name}.spec")))?;
        let first_char: String = name
            .chars()
            .next()
            .map(|c| c.to_lowercase().collect())
            .unwrap_or_default();
        let rendered = std::fs::read(
            distro
                .join("specs-full-1")
                .join(first_char)
                .join(name)
                .join(format!("{name}.spec")),
        )
        .unwrap_or_default();
        let mut expected = HEADER.as_bytes().to_vec();
        expected.extend_from_slice(&upstream);
        if rendered != expected {
            mismatches.push(name.clone());
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "components: {} ({} in one repository, {} one per package)",
        dirs.len(),
        dirs.len() - per.len(),
        per.len()
    );
    let ratio = |d: Duration| d.as_secs_f64() / reference.as_secs_f64();
    println!("cold render (fetch + pin + render): {:>9.0} ms", ms(cold.elapsed));
    println!(
        "git archive of the same tree:       {:>9.0} ms best of 3 (the reference)",
        ms(reference)
    );
    if let Some((best, median)) = in_memory {
        println!(
            "full render, warm cache, to tmpfs:  {:>9.0} ms best, {:.0} ms median of 3 = {:.2}x the reference (target ≤ 2x)",
            ms(best),
            ms(median),
            ratio(best)
        );
    }
    println!(
        "full render, warm cache, to disk:   {:>9.0} ms best, {:.0} ms median of 3 = {:.2}x",
        ms(full.elapsed),
        ms(full_median),
        ratio(full.elapsed)
    );
    println!(
        "  git archive | tar -x to disk:     {:>9.0} ms best of 3 = {:.2}x (writing the same files)",
        ms(extract),
        ratio(extract)
    );
    println!(
        "re-render over an identical tree:   {:>9.0} ms = {:.2}x (reads, renders, compares; writes nothing)",
        ms(compute.elapsed),
        ratio(compute.elapsed)
    );
    println!(
        "no-op re-render:                    {:>9.0} ms (target < 1000)",
        ms(noop.elapsed)
    );
    println!(
        "one component changed:              {:>9.0} ms (target < 1000)",
        ms(one.elapsed)
    );
    println!(
        "rendered specs equal to header + upstream: {}/{}",
        dirs.len() - 1 - mismatches.len(),
        dirs.len() - 1
    );
    previous.remove();
    if !mismatches.is_empty() {
        bail!(
            "{} specs differ, e.g. {:?}\n{}",
            mismatches.len(),
            &mismatches[..mismatches.len().min(10)],
            full.stderr
        );
    }
    Ok(())
}
