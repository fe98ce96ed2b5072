//! `cargo xtask demo-upstreams`: the demo distro's upstreams, made
//! deterministically from the fixtures in `tests/fixtures/demo/`.
//!
//! The fixtures' `manifest.toml` lists the upstream releases (each
//! `<name>/upstream/` tree is packed as `<name>-<version>.tar.gz`) and the
//! dist-git repositories with their history: every commit names the fixture
//! directories that make up its tree. From that this task writes
//!
//! - `OUT/git/<repo>`: one non-bare git repository per manifest entry, its
//!   commits made by the `git` program with fixed identities and dates and no
//!   user or system configuration, so commit ids are the same on every
//!   machine and every run;
//! - `OUT/lookaside/<pkg>/<file>/sha512/<hash>/<file>`: the tarballs, built
//!   here byte for byte (ustar with sorted entries and fixed metadata, in a
//!   gzip member of stored deflate blocks), so their hashes depend on the
//!   fixtures only — not on a compression library's version or settings.
//!
//! Every `sources` file in every commit must name a tarball of the manifest
//! with its SHA512; `--write-sources` rewrites the fixtures' `sources` files
//! after an upstream tree changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use sha2::{Digest, Sha512};

/// Modification time of every tarball entry: 2025-01-01T00:00:00Z.
const TAR_MTIME: u64 = 1_735_689_600;

/// `tests/fixtures/demo/manifest.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    author: Author,
    /// Upstream releases: package name → version.
    tarballs: BTreeMap<String, String>,
    repos: Vec<Repo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Author {
    name: String,
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repo {
    name: String,
    branch: String,
    /// Author and committer of this repository's commits, if not the default.
    #[serde(default)]
    author: Option<Author>,
    commits: Vec<Commit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Commit {
    /// RFC 3339 with an explicit offset, e.g. `2025-03-03T09:00:00+00:00`.
    date: String,
    message: String,
    /// Path in the repository (`.` for its root) → fixture directory.
    tree: BTreeMap<String, String>,
}

/// The tip of a generated repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tip {
    pub repo: String,
    pub branch: String,
    pub commit: String,
    pub commits: usize,
}

/// A generated tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tarball {
    pub package: String,
    pub file_name: String,
    pub sha512: String,
}

/// What [`generate`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tips: Vec<Tip>,
    pub tarballs: Vec<Tarball>,
}

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is one level below the workspace root")
        .to_path_buf()
}

pub fn default_fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures/demo")
}

pub fn default_out() -> PathBuf {
    workspace_root().join("target/demo-upstreams")
}

/// `cargo xtask demo-upstreams [--out DIR] [--fixtures DIR] [--write-sources]`.
pub fn upstreams(args: &[&str]) -> Result<()> {
    let mut out = default_out();
    let mut fixtures = default_fixtures();
    let mut write = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--out" => out = PathBuf::from(it.next().context("--out needs a directory")?),
            "--fixtures" => fixtures = PathBuf::from(it.next().context("--fixtures needs a directory")?),
            "--write-sources" => write = true,
            other => bail!(
                "unknown argument `{other}`\n\
                 usage: cargo xtask demo-upstreams [--out DIR] [--fixtures DIR] [--write-sources]"
            ),
        }
    }
    if write {
        let changed = write_sources(&fixtures)?;
        eprintln!("demo-upstreams: {changed} sources file(s) rewritten");
    }
    let report = generate(&fixtures, &out)?;
    println!("demo upstreams in {}", out.display());
    println!("lookaside: {} tarballs", report.tarballs.len());
    for t in &report.tarballs {
        println!("  {:<28} sha512:{}…", t.file_name, &t.sha512[..16]);
    }
    println!("branch tips:");
    for t in &report.tips {
        println!(
            "  git/{:<14} {:<11} {}  ({} commits)",
            t.repo, t.branch, t.commit, t.commits
        );
    }
    Ok(())
}

fn read_manifest(fixtures: &Path) -> Result<Manifest> {
    let path = fixtures.join("manifest.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))
}

/// Generate everything into `out` (its `git/` and `lookaside/` are deleted
/// and recreated).
pub fn generate(fixtures: &Path, out: &Path) -> Result<Report> {
    let manifest = read_manifest(fixtures)?;
    let git_dir = out.join("git");
    let lookaside_dir = out.join("lookaside");
    for d in [&git_dir, &lookaside_dir] {
        if d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("cannot remove {}", d.display()))?;
        }
    }

    let mut tarballs = Vec::new();
    let mut by_file: BTreeMap<String, String> = BTreeMap::new();
    for (package, version) in &manifest.tarballs {
        let tb = build_tarball(fixtures, package, version)?;
        let hash = sha512_hex(&tb.1);
        let dir = lookaside_dir.join(package).join(&tb.0).join("sha512").join(&hash);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(&tb.0), &tb.1)?;
        by_file.insert(tb.0.clone(), hash.clone());
        tarballs.push(Tarball {
            package: package.clone(),
            file_name: tb.0,
            sha512: hash,
        });
    }

    let mut tips = Vec::new();
    for repo in &manifest.repos {
        let author = repo.author.as_ref().unwrap_or(&manifest.author);
        tips.push(make_repo(fixtures, &git_dir, repo, author, &by_file)?);
    }
    Ok(Report { tips, tarballs })
}

/// `(file name, .tar.gz bytes)` of a package's upstream release.
fn build_tarball(fixtures: &Path, package: &str, version: &str) -> Result<(String, Vec<u8>)> {
    let top = format!("{package}-{version}");
    let src = fixtures.join(package).join("upstream");
    ensure!(src.is_dir(), "{} is missing", src.display());
    let tar = ustar(&src, &top)?;
    Ok((format!("{top}.tar.gz"), gzip_stored(&tar)))
}

fn sha512_hex(data: &[u8]) -> String {
    Sha512::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Files under `root` as sorted relative `/`-paths, with every directory
/// (relative path ending in `/`). Only regular files and directories.
fn walk(root: &Path) -> Result<Vec<(String, Option<PathBuf>)>> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let e = e?;
        let rel = e
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths under its root");
        let rel = rel
            .to_str()
            .with_context(|| format!("{} is not UTF-8", e.path().display()))?
            .replace('\\', "/");
        let ft = e.file_type();
        if ft.is_dir() {
            out.push((format!("{rel}/"), None));
        } else if ft.is_file() {
            out.push((rel, Some(e.into_path())));
        } else {
            bail!("{} is neither a file nor a directory", e.path().display());
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A ustar archive of `root`'s contents under the directory `top`:
/// entries sorted by path, directories 0755 and files 0644, owner
/// root:root (0:0), mtime [`TAR_MTIME`].
fn ustar(root: &Path, top: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(&tar_header(&format!("{top}/"), 0)?);
    for (rel, file) in walk(root)? {
        let path = format!("{top}/{rel}");
        match file {
            None => out.extend_from_slice(&tar_header(&path, 0)?),
            Some(f) => {
                let data = std::fs::read(&f).with_context(|| format!("cannot read {}", f.display()))?;
                out.extend_from_slice(&tar_header(&path, data.len() as u64)?);
                out.extend_from_slice(&data);
                out.resize(out.len().next_multiple_of(512), 0);
            }
        }
    }
    // End of archive: two zero blocks, then pad to GNU tar's 10 KiB record.
    out.resize(out.len() + 1024, 0);
    out.resize(out.len().next_multiple_of(10240), 0);
    Ok(out)
}

/// One ustar header block; a `path` ending in `/` is a directory.
fn tar_header(path: &str, size: u64) -> Result<[u8; 512]> {
    fn put(h: &mut [u8; 512], at: usize, len: usize, v: &[u8]) {
        assert!(v.len() <= len, "tar field overflow");
        h[at..at + v.len()].copy_from_slice(v);
    }
    fn octal(h: &mut [u8; 512], at: usize, len: usize, v: u64) {
        // `len - 1` octal digits and a NUL.
        let s = format!("{v:0width$o}", width = len - 1);
        put(h, at, len, s.as_bytes());
    }
    let is_dir = path.ends_with('/');
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        // Split at a `/` so that the name fits 100 bytes and the prefix 155.
        let cut = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && path.len() - i - 1 <= 100 && i + 1 < path.len())
            .map(|(i, _)| i)
            .next()
            .with_context(|| format!("path too long for ustar: {path}"))?;
        (&path[..cut], &path[cut + 1..])
    };
    let mut h = [0u8; 512];
    put(&mut h, 0, 100, name.as_bytes());
    octal(&mut h, 100, 8, if is_dir { 0o755 } else { 0o644 });
    octal(&mut h, 108, 8, 0);
    octal(&mut h, 116, 8, 0);
    octal(&mut h, 124, 12, size);
    octal(&mut h, 136, 12, TAR_MTIME);
    h[156] = if is_dir { b'5' } else { b'0' };
    put(&mut h, 257, 6, b"ustar\0");
    put(&mut h, 263, 2, b"00");
    put(&mut h, 265, 32, b"root");
    put(&mut h, 297, 32, b"root");
    octal(&mut h, 329, 8, 0);
    octal(&mut h, 337, 8, 0);
    put(&mut h, 345, 155, prefix.as_bytes());
    // The checksum is computed with its own field as eight spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, 8, format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// A gzip member (RFC 1952: no name, mtime 0, OS Unix) whose deflate
/// stream is stored blocks: valid for every gunzip, and the same bytes no
/// matter which compressor a machine has.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = u16::try_from(chunk.len()).expect("chunks are at most 0xffff bytes");
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the length modulo 2^32.
    out.extend_from_slice(&((data.len() as u64 & 0xffff_ffff) as u32).to_le_bytes());
    out
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// CRC-32 (IEEE 802.3), as gzip uses it.
fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// `SHA512 (file) = hash` lines of a `sources` file.
fn parse_sources(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parsed = line
            .strip_prefix("SHA512 (")
            .and_then(|r| r.rsplit_once(") = "))
            .filter(|(_, h)| h.len() == 128 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        let (file, hash) = parsed.with_context(|| format!("not a `SHA512 (file) = hash` line: {line}"))?;
        out.push((file.to_owned(), hash.to_ascii_lowercase()));
    }
    Ok(out)
}

/// Rewrite every fixture `sources` file that names a manifest tarball with
/// the tarball's current hash. Returns how many files changed.
pub fn write_sources(fixtures: &Path) -> Result<usize> {
    let manifest = read_manifest(fixtures)?;
    let mut hashes = BTreeMap::new();
    for (package, version) in &manifest.tarballs {
        let (name, data) = build_tarball(fixtures, package, version)?;
        hashes.insert(name, sha512_hex(&data));
    }
    let mut changed = 0;
    for e in walkdir::WalkDir::new(fixtures).sort_by_file_name() {
        let e = e?;
        if !(e.file_type().is_file() && e.file_name() == "sources") {
            continue;
        }
        // Upstream source trees may have files of that name too.
        if e.path().components().any(|c| c.as_os_str() == "upstream") {
            continue;
        }
        let text = std::fs::read_to_string(e.path())?;
        let mut new = String::new();
        for line in text.lines() {
            let file = line
                .strip_prefix("SHA512 (")
                .and_then(|r| r.split_once(") = "))
                .map(|(f, _)| f);
            match file.and_then(|f| hashes.get(f).map(|h| (f, h))) {
                Some((f, h)) => new.push_str(&format!("SHA512 ({f}) = {h}\n")),
                None => {
                    new.push_str(line);
                    new.push('\n');
                }
            }
        }
        if new != text {
            std::fs::write(e.path(), new)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// `2025-03-03T09:00:00+01:00` → git's internal `1740988800 +0100`.
/// Parsed here, strictly, so no git version or local time zone can read a
/// date differently.
fn git_date(s: &str) -> Result<String> {
    let bad = || format!("date `{s}` is not YYYY-MM-DDTHH:MM:SS followed by Z or ±HH:MM");
    let b = s.as_bytes();
    ensure!(b.len() == 20 || b.len() == 25, bad());
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        let t = s.get(r).with_context(bad)?;
        ensure!(t.bytes().all(|c| c.is_ascii_digit()), bad());
        Ok(t.parse()?)
    };
    ensure!(
        b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':' && b[16] == b':',
        bad()
    );
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    ensure!(
        (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && sec < 60,
        bad()
    );
    let (sign, oh, om) = match b[19] {
        b'Z' if b.len() == 20 => (1, 0, 0),
        c @ (b'+' | b'-') if b.len() == 25 && b[22] == b':' => {
            (if c == b'+' { 1 } else { -1 }, num(20..22)?, num(23..25)?)
        }
        _ => bail!(bad()),
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
    let (yy, mm) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let offset = sign * (oh * 3600 + om * 60);
    let epoch = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Ok(format!(
        "{epoch} {}{oh:02}{om:02}",
        if sign < 0 { '-' } else { '+' }
    ))
}

/// `git` with no configuration but the repository's own and a fixed
/// identity, from a clean environment.
fn git(dir: &Path, author: &Author, date: &str) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env("GIT_AUTHOR_NAME", &author.name)
        .env("GIT_AUTHOR_EMAIL", &author.email)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_NAME", &author.name)
        .env("GIT_COMMITTER_EMAIL", &author.email)
        .env("GIT_COMMITTER_DATE", date)
        .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
        .args(["-c", "core.fileMode=true", "-c", "core.hooksPath=/dev/null"]);
    c
}

fn run_git(mut cmd: Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn make_repo(
    fixtures: &Path,
    git_dir: &Path,
    repo: &Repo,
    author: &Author,
    tarballs: &BTreeMap<String, String>,
) -> Result<Tip> {
    ensure!(
        !repo.commits.is_empty(),
        "repository {} has no commits",
        repo.name
    );
    let dir = git_dir.join(&repo.name);
    std::fs::create_dir_all(&dir)?;
    // No template: no sample hooks, no `info/exclude`.
    let mut init = git(&dir, author, "0 +0000");
    init.args(["init", "-q", "--template=", "--object-format=sha1"])
        .arg(format!("--initial-branch={}", repo.branch))
        .arg(".");
    run_git(init)?;

    for (n, commit) in repo.commits.iter().enumerate() {
        let what = format!(
            "{} commit {} ({})",
            repo.name,
            n + 1,
            commit.message.lines().next().unwrap_or("")
        );
        // The worktree becomes exactly this commit's tree.
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            if e.file_name() == ".git" {
                continue;
            }
            if e.file_type()?.is_dir() {
                std::fs::remove_dir_all(e.path())?;
            } else {
                std::fs::remove_file(e.path())?;
            }
        }
        for (dest, src) in &commit.tree {
            let src_dir = fixtures.join(src);
            ensure!(src_dir.is_dir(), "{what}: {} is missing", src_dir.display());
            let dest_dir = if dest == "." { dir.clone() } else { dir.join(dest) };
            for (rel, file) in walk(&src_dir)? {
                let target = dest_dir.join(rel.trim_end_matches('/'));
                match file {
                    None => std::fs::create_dir_all(&target)?,
                    Some(f) => {
                        if let Some(parent) = target.parent() {
                            std::fs::create_dir_all(parent)?;
                        }
                        std::fs::write(&target, std::fs::read(&f)?)?;
                        if target.file_name().is_some_and(|n| n == "sources") {
                            check_sources(&f, tarballs).with_context(|| what.clone())?;
                        }
                    }
                }
            }
        }
        let date = git_date(&commit.date).with_context(|| what.clone())?;
        let mut add = git(&dir, author, &date);
        add.args(["add", "-A", "."]);
        run_git(add)?;
        let mut ci = git(&dir, author, &date);
        ci.args([
            "commit",
            "-q",
            "--no-verify",
            "--cleanup=strip",
            "-m",
            &commit.message,
        ]);
        run_git(ci).with_context(|| what.clone())?;
        // The date git recorded is the one we meant.
        let mut show = git(&dir, author, &date);
        show.args(["show", "-s", "--format=%ad %cd", "--date=raw", "HEAD"]);
        let recorded = run_git(show)?;
        ensure!(
            recorded == format!("{date} {date}"),
            "{what}: git recorded `{recorded}` for `{date}`"
        );
    }
    let mut head = git(&dir, author, "0 +0000");
    head.args(["rev-parse", "HEAD"]);
    Ok(Tip {
        repo: repo.name.clone(),
        branch: repo.branch.clone(),
        commit: run_git(head)?,
        commits: repo.commits.len(),
    })
}

fn check_sources(path: &Path, tarballs: &BTreeMap<String, String>) -> Result<()> {
    let text = std::fs::read_to_string(path)?;
    for (file, hash) in parse_sources(&text).with_context(|| format!("in {}", path.display()))? {
        let want = tarballs
            .get(&file)
            .with_context(|| format!("{} names `{file}`, which no manifest tarball is", path.display()))?;
        ensure!(
            *want == hash,
            "{} says SHA512 ({file}) = {hash}, but the tarball's is {want}; \
             run `cargo xtask demo-upstreams --write-sources`",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn git_dates() {
        assert_eq!(git_date("1970-01-01T00:00:00Z").expect("valid"), "0 +0000");
        assert_eq!(
            git_date("2025-03-03T09:00:00+01:00").expect("valid"),
            "1740988800 +0100"
        );
        assert_eq!(
            git_date("2024-02-29T23:30:00-05:30").expect("valid"),
            "1709269200 -0530"
        );
        for bad in [
            "2025-03-03",
            "2025-03-03 09:00:00Z",
            "2025-03-03T09:00:00",
            "2025-13-01T00:00:00Z",
        ] {
            assert!(git_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gzip_round_trips_through_system_tools() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).expect("mkdir");
        std::fs::write(src.join("a.txt"), "alpha\n").expect("write");
        std::fs::write(src.join("sub/big.bin"), vec![7u8; 200_000]).expect("write");
        let tgz = gzip_stored(&ustar(&src, "pkg-1.0").expect("tar"));
        let file = dir.path().join("pkg-1.0.tar.gz");
        std::fs::write(&file, &tgz).expect("write");
        let Ok(out) = Command::new("tar").arg("-tvzf").arg(&file).output() else {
            return; // no tar program here
        };
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listing = String::from_utf8_lossy(&out.stdout);
        for name in ["pkg-1.0/", "pkg-1.0/a.txt", "pkg-1.0/sub/", "pkg-1.0/sub/big.bin"] {
            assert!(listing.lines().any(|l| l.ends_with(name)), "{name} in\n{listing}");
        }
        assert!(listing.contains("root/root"), "{listing}");
    }

    /// Two generations into fresh directories, and a third over the first,
    /// agree on every commit id and tarball hash; each `sources` file of
    /// each commit names its tarball's hash (checked while generating).
    #[test]
    fn generation_is_deterministic() {
        let fixtures = default_fixtures();
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let first = generate(&fixtures, a.path()).expect("first generation");
        let second = generate(&fixtures, b.path()).expect("second generation");
        assert_eq!(first, second);
        let again = generate(&fixtures, a.path()).expect("regeneration over the first");
        assert_eq!(first, again);

        assert!(first.tips.iter().all(|t| t.commit.len() == 40));
        for t in &first.tarballs {
            let path = a
                .path()
                .join("lookaside")
                .join(&t.package)
                .join(&t.file_name)
                .join("sha512")
                .join(&t.sha512)
                .join(&t.file_name);
            let data = std::fs::read(&path).expect("tarball in the lookaside");
            assert_eq!(sha512_hex(&data), t.sha512);
        }
        // The fixtures' own `sources` files agree with the tarballs.
        let hashes: BTreeMap<String, String> = first
            .tarballs
            .iter()
            .map(|t| (t.file_name.clone(), t.sha512.clone()))
            .collect();
        let mut checked = 0;
        for e in walkdir::WalkDir::new(&fixtures) {
            let e = e.expect("walk");
            if e.file_name() == "sources" && !e.path().components().any(|c| c.as_os_str() == "upstream") {
                check_sources(e.path(), &hashes).expect("sources matches its tarball");
                checked += 1;
            }
        }
        assert!(checked >= first.tarballs.len());
    }
}
