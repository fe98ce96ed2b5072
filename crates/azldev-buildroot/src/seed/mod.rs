//! A toolchain seed for hosts without an RPM toolchain: the closure of a
//! package set from the host distribution's archive (Debian), each `.deb`
//! turned into a real RPM, plus a `filesystem` package for what maintainer
//! scripts would have created, as one `createrepo_c` repository.
//!
//! Pinned like upstreams: `locks/seed-<arch>.lock` records the suite, mirror,
//! requested packages and every resolved `.deb` (name, version, pool path,
//! sha256). With a lock, the same debs make the same seed on every machine;
//! `update` re-resolves it. Everything is cached by content: debs under
//! `<cache>/seed/debs/<sha256>.deb`, converted RPMs under
//! `<cache>/seed/rpms/<arch>/<key>/`, and the output repository carries a
//! manifest of its key, so a second run with the same inputs does nothing.

pub mod convert;
pub mod deb;
mod filesystem;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::run::{RunError, Runner};

/// What the demo's buildroot needs (issue: build essentials, rpm and the
/// basic tools); Debian's Essential packages come with the closure.
///
/// Bootable images need a kernel and a boot loader too: the demo's locks
/// also request `linux-image-amd64`/`linux-image-arm64` and
/// `systemd-boot-efi` (`toolchain seed --include …`). They only land in the
/// repository (a base root installs what its definition names). The
/// conversion keeps `/boot/vmlinuz-*` and moves the modules to
/// `/usr/lib/modules`; what the kernel's maintainer scripts did is lost
/// (`depmod`, the initramfs, the `/vmlinuz` links): azldev-image writes
/// its own initramfs.
pub const DEFAULT_PACKAGES: &[&str] = &[
    "build-essential",
    "rpm",
    "bash",
    "coreutils",
    "findutils",
    "sed",
    "grep",
    "gawk",
    "tar",
    "gzip",
    "xz-utils",
    "diffutils",
    "patch",
    "make",
    "file",
    "cpio",
    "python3",
];

pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// Failures of `toolchain seed`.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(Box<RunError>),
    #[error("cannot convert {}: {why}", .deb.display())]
    BadDeb { deb: PathBuf, why: String },
    #[error("{}: {why}", .path.display())]
    BadLock { path: PathBuf, why: String },
    #[error(
        "the seed lock pins {name} {version} ({filename}), which {mirror} no longer serves; \
         run `azldev toolchain seed --arch {arch} --update` to re-resolve the seed"
    )]
    NotServed {
        name: String,
        version: String,
        filename: String,
        mirror: String,
        arch: Arch,
    },
    #[error("downloaded {name} {version} does not match the lock: sha256 {got}, locked {want}")]
    Digest {
        name: String,
        version: String,
        got: String,
        want: String,
    },
    #[error("cannot resolve the seed package set with debootstrap from {mirror} ({suite}): {source}")]
    Resolve {
        mirror: String,
        suite: String,
        #[source]
        source: Box<RunError>,
    },
    #[error("{tool} is needed to make a seed but is not installed; on Debian: apt-get install -y {package}")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error(
        "output directory {} exists and was not written by `azldev toolchain seed` (no {MANIFEST}); \
         choose another with -o or remove it",
        .0.display()
    )]
    ForeignOutput(PathBuf),
}

impl From<RunError> for SeedError {
    fn from(e: RunError) -> Self {
        SeedError::Run(Box::new(e))
    }
}

/// The seed's lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SeedLock {
    /// Debian's architecture name.
    pub arch: String,
    pub suite: String,
    pub mirror: String,
    /// The requested packages (the closure adds the rest).
    pub include: Vec<String>,
    #[serde(rename = "package", default)]
    pub packages: Vec<LockedDeb>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LockedDeb {
    pub name: String,
    pub version: String,
    /// Path below the mirror (`pool/main/b/bash/bash_5.2.15-2+b7_amd64.deb`).
    pub filename: String,
    pub sha256: String,
    pub size: u64,
}

impl SeedLock {
    pub fn read(path: &Path) -> Result<Option<SeedLock>, SeedError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(SeedError::Io {
                    what: format!("read {}", path.display()),
                    source: e,
                });
            }
        };
        toml::from_str(&text).map(Some).map_err(|e| SeedError::BadLock {
            path: path.to_owned(),
            why: e.to_string(),
        })
    }

    pub fn to_toml(&self) -> String {
        let mut s = String::from(
            "# The toolchain seed's pinned Debian packages; written by `azldev toolchain seed`.\n\
             # `azldev toolchain seed --update` re-resolves it.\n",
        );
        s.push_str(&toml::to_string(self).expect("the lock serialises"));
        s
    }
}

/// How to make a seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub arch: Arch,
    pub lock_path: PathBuf,
    pub out_dir: PathBuf,
    /// Root of azldev's cache (`<cache>/seed/…` is used).
    pub cache_dir: PathBuf,
    pub log_dir: PathBuf,
    /// Re-resolve the package set even when a lock exists.
    pub update: bool,
    /// Packages to request on (re-)resolution; default [`DEFAULT_PACKAGES`]
    /// or the lock's own list.
    pub include: Option<Vec<String>>,
    pub mirror: Option<String>,
    pub suite: Option<String>,
    pub jobs: usize,
}

/// What a seed run did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SeedReport {
    pub arch: Arch,
    pub repository: PathBuf,
    pub lock: PathBuf,
    pub packages: usize,
    pub resolved: bool,
    pub downloaded: usize,
    pub converted: usize,
    pub cached: usize,
    /// Nothing changed: the repository already held exactly this seed.
    pub up_to_date: bool,
    pub seconds: f64,
}

/// Name of the manifest written into a seed repository.
pub const MANIFEST: &str = ".azldev-seed.json";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    key: String,
    arch: String,
    packages: Vec<String>,
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SeedError {
    let what = what.into();
    move |source| SeedError::Io { what, source }
}

/// Makes (or confirms) the seed repository for one arch.
pub fn seed(opts: &SeedOptions) -> Result<SeedReport, SeedError> {
    let start = Instant::now();
    for (tool, package) in [
        ("dpkg-deb", "dpkg"),
        ("rpmbuild", "rpm"),
        ("createrepo_c", "createrepo-c"),
        ("debootstrap", "debootstrap"),
        ("wget", "wget"),
    ] {
        if !crate::run::have(tool) {
            return Err(SeedError::MissingTool { tool, package });
        }
    }
    let seed_cache = opts.cache_dir.join("seed");
    let deb_cache = seed_cache.join("debs");
    fs::create_dir_all(&deb_cache).map_err(io_err(format!("create {}", deb_cache.display())))?;
    let log_dir = opts.log_dir.join(format!("seed-{}", opts.arch));
    fs::create_dir_all(&log_dir).map_err(io_err(format!("create {}", log_dir.display())))?;
    // One seed run per cache and arch at a time (concurrent runs would
    // convert the same debs into the same cache entries).
    let cache_lock = fs::File::create(seed_cache.join(format!(".lock-{}", opts.arch)))
        .map_err(io_err("create the seed cache lock"))?;
    cache_lock.lock().map_err(io_err("lock the seed cache"))?;

    let existing = SeedLock::read(&opts.lock_path)?;
    let mut resolved = false;
    let lock = match existing {
        Some(lock) if !opts.update && opts.include.is_none() => lock,
        prev => {
            let include = opts
                .include
                .clone()
                .or_else(|| prev.as_ref().map(|l| l.include.clone()))
                .unwrap_or_else(|| DEFAULT_PACKAGES.iter().map(|s| (*s).to_owned()).collect());
            let mirror = opts
                .mirror
                .clone()
                .or_else(|| prev.as_ref().map(|l| l.mirror.clone()))
                .unwrap_or_else(|| DEFAULT_MIRROR.to_owned());
            let suite = opts
                .suite
                .clone()
                .or_else(|| prev.as_ref().map(|l| l.suite.clone()))
                .unwrap_or_else(host_suite);
            let lock = resolve(
                opts.arch,
                &include,
                &mirror,
                &suite,
                &seed_cache,
                &deb_cache,
                &log_dir,
            )?;
            if prev.as_ref() != Some(&lock) {
                write_atomic(&opts.lock_path, lock.to_toml().as_bytes())?;
            }
            resolved = true;
            lock
        }
    };
    if lock.arch != opts.arch.deb() {
        return Err(SeedError::BadLock {
            path: opts.lock_path.clone(),
            why: format!("the lock is for {}, not {}", lock.arch, opts.arch.deb()),
        });
    }

    // Every pinned deb in the cache, verified.
    let missing: Vec<&LockedDeb> = lock
        .packages
        .iter()
        .filter(|p| !deb_path(&deb_cache, p).is_file())
        .collect();
    let downloaded = missing.len();
    missing
        .par_iter()
        .with_max_len(1)
        .try_for_each(|p| download(p, &lock.mirror, opts.arch, &deb_cache, &log_dir))?;

    let key = seed_key(opts.arch, &lock);
    if let Some(m) = read_manifest(&opts.out_dir)
        && m.key == key
        && opts.out_dir.join("repodata/repomd.xml").is_file()
    {
        return Ok(SeedReport {
            arch: opts.arch,
            repository: opts.out_dir.clone(),
            lock: opts.lock_path.clone(),
            packages: m.packages.len(),
            resolved,
            downloaded,
            converted: 0,
            cached: m.packages.len(),
            up_to_date: true,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    if opts.out_dir.exists() && read_manifest(&opts.out_dir).is_none() && !dir_is_empty(&opts.out_dir) {
        return Err(SeedError::ForeignOutput(opts.out_dir.clone()));
    }

    // Convert (cached per deb).
    let rpm_cache = seed_cache.join("rpms").join(opts.arch.rpm());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .map_err(|e| SeedError::Io {
            what: "start worker threads".into(),
            source: std::io::Error::other(e),
        })?;
    let results: Vec<Result<(CachedRpm, bool), SeedError>> = pool.install(|| {
        lock.packages
            .par_iter()
            .with_max_len(1)
            .map(|p| convert_cached(p, opts.arch, &deb_cache, &rpm_cache, &log_dir))
            .collect()
    });
    let mut rpms = Vec::new();
    let mut converted = 0;
    for r in results {
        let (rpm, fresh) = r?;
        converted += usize::from(fresh);
        rpms.push(rpm);
    }
    let all_paths: BTreeSet<String> = rpms.iter().flat_map(|r| r.paths.iter().cloned()).collect();
    let passwd = base_passwd(&lock, &deb_cache)?;
    let essential: Vec<String> = rpms
        .iter()
        .filter(|r| r.essential)
        .map(|r| r.name.clone())
        .collect();
    let (fs_rpm, fs_fresh) =
        filesystem::build_cached(opts.arch, &all_paths, &essential, &passwd, &rpm_cache, &log_dir)?;
    converted += usize::from(fs_fresh);
    let mut files: Vec<PathBuf> = rpms.iter().map(|r| r.rpm.clone()).collect();
    files.push(fs_rpm);
    files.sort();

    publish(&opts.out_dir, &files, &key, opts.arch, &log_dir)?;
    Ok(SeedReport {
        arch: opts.arch,
        repository: opts.out_dir.clone(),
        lock: opts.lock_path.clone(),
        packages: files.len(),
        resolved,
        downloaded,
        converted,
        cached: files.len() - converted,
        up_to_date: false,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The codename of the host's Debian release (`bookworm`), from os-release.
pub fn host_suite() -> String {
    fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("VERSION_CODENAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bookworm".to_owned())
}

fn deb_path(cache: &Path, p: &LockedDeb) -> PathBuf {
    cache.join(format!("{}.deb", p.sha256))
}

fn sha256_file(path: &Path) -> Result<(String, u64), SeedError> {
    let mut f = fs::File::open(path).map_err(io_err(format!("open {}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(io_err(format!("read {}", path.display())))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((hex(&h.finalize()), size))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Resolves the closure with `debootstrap --download-only` (no emulation
/// needed for a foreign arch) and moves the debs into the cache.
fn resolve(
    arch: Arch,
    include: &[String],
    mirror: &str,
    suite: &str,
    seed_cache: &Path,
    deb_cache: &Path,
    log_dir: &Path,
) -> Result<SeedLock, SeedError> {
    let scratch = seed_cache.join(format!(".resolve-{}-{}", arch.deb(), std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    let guard = RemoveOnDrop(scratch.clone());
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--download-only")
        .arg(format!("--arch={}", arch.deb()))
        .arg("--variant=minbase")
        .arg(format!("--include={}", include.join(",")))
        .arg(suite)
        .arg(&scratch)
        .arg(mirror);
    Runner::new()
        .log(log_dir.join("resolve.log"))
        .timeout(Duration::from_secs(1800))
        .run(&mut cmd)
        .map_err(|source| SeedError::Resolve {
            mirror: mirror.to_owned(),
            suite: suite.to_owned(),
            source: Box::new(source),
        })?;
    let uris = fs::read_to_string(scratch.join("debootstrap/deburis")).map_err(io_err(
        "read debootstrap's list of packages (debootstrap/deburis)",
    ))?;
    let prefix = format!("{}/", mirror.trim_end_matches('/'));
    let mut packages = Vec::new();
    let archives = scratch.join("var/cache/apt/archives");
    for line in uris.lines() {
        let mut it = line.split_whitespace();
        let (Some(name), Some(version), Some(uri)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let filename = uri.strip_prefix(&prefix).unwrap_or(uri).to_owned();
        let base = uri.rsplit('/').next().unwrap_or_default();
        // debootstrap names the file `<name>_<version, ':' as %3a>_<arch>.deb`.
        let arch_part = base.rsplit('_').next().unwrap_or_default();
        let local = archives.join(format!("{name}_{}_{arch_part}", version.replace(':', "%3a")));
        let local = if local.is_file() {
            local
        } else {
            archives.join(base)
        };
        let (sha256, size) = sha256_file(&local)?;
        let dst = deb_cache.join(format!("{sha256}.deb"));
        if !dst.is_file() {
            fs::rename(&local, &dst)
                .or_else(|_| fs::copy(&local, &dst).map(|_| ()))
                .map_err(io_err(format!("store {}", local.display())))?;
        }
        packages.push(LockedDeb {
            name: name.to_owned(),
            version: version.to_owned(),
            filename,
            sha256,
            size,
        });
    }
    drop(guard);
    packages.sort();
    let mut include = include.to_vec();
    include.sort();
    include.dedup();
    Ok(SeedLock {
        arch: arch.deb().to_owned(),
        suite: suite.to_owned(),
        mirror: mirror.to_owned(),
        include,
        packages,
    })
}

fn download(
    p: &LockedDeb,
    mirror: &str,
    arch: Arch,
    deb_cache: &Path,
    log_dir: &Path,
) -> Result<(), SeedError> {
    let url = format!("{}/{}", mirror.trim_end_matches('/'), p.filename);
    let part = deb_cache.join(format!(".{}.part-{}", p.sha256, std::process::id()));
    let guard = RemoveOnDrop(part.clone());
    let res = Runner::new()
        .log(log_dir.join("download.log"))
        .timeout(Duration::from_secs(600))
        .run(
            Command::new("wget")
                .args(["-q", "--tries=3", "--timeout=30", "-O"])
                .arg(&part)
                .arg(&url),
        );
    match res {
        Ok(_) => {}
        // wget: 8 = the server answered with an error (404).
        Err(e) if e.code() == Some(8) => {
            return Err(SeedError::NotServed {
                name: p.name.clone(),
                version: p.version.clone(),
                filename: p.filename.clone(),
                mirror: mirror.to_owned(),
                arch,
            });
        }
        Err(e) => return Err(e.into()),
    }
    let (got, _) = sha256_file(&part)?;
    if got != p.sha256 {
        return Err(SeedError::Digest {
            name: p.name.clone(),
            version: p.version.clone(),
            got,
            want: p.sha256.clone(),
        });
    }
    fs::rename(&part, deb_path(deb_cache, p)).map_err(io_err(format!("store {}", p.filename)))?;
    drop(guard);
    Ok(())
}

/// A converted package in the cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedRpm {
    name: String,
    #[serde(default)]
    essential: bool,
    rpm: PathBuf,
    paths: BTreeSet<String>,
}

fn convert_cached(
    p: &LockedDeb,
    arch: Arch,
    deb_cache: &Path,
    rpm_cache: &Path,
    log_dir: &Path,
) -> Result<(CachedRpm, bool), SeedError> {
    let key = hex(&Sha256::digest(format!(
        "{}\0{}\0{}",
        convert::CONVERTER_VERSION,
        arch,
        p.sha256
    )));
    let dir = rpm_cache.join(&key[..32]);
    let meta = dir.join("meta.json");
    if let Ok(bytes) = fs::read(&meta)
        && let Ok(mut c) = serde_json::from_slice::<CachedRpm>(&bytes)
    {
        c.rpm = dir.join(&c.rpm);
        if c.rpm.is_file() {
            return Ok((c, false));
        }
    }
    let work = rpm_cache.join(format!(".work-{}-{}", &key[..16], std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let guard = RemoveOnDrop(work.clone());
    let staged = work.join("out");
    let log = log_dir.join(format!("{}.log", p.name));
    let _ = fs::remove_file(&log);
    let c = convert::convert(&deb_path(deb_cache, p), arch, &work, &staged, &log)?;
    let file_name = c.rpm.file_name().expect("an RPM has a file name").to_owned();
    let meta_bytes = serde_json::to_vec(&CachedRpm {
        name: c.name.clone(),
        essential: c.essential,
        rpm: file_name.clone().into(),
        paths: c.paths.clone(),
    })
    .expect("serialisable");
    fs::write(staged.join("meta.json"), meta_bytes).map_err(io_err("write cache metadata"))?;
    let _ = fs::remove_dir_all(&dir);
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent).map_err(io_err(format!("create {}", parent.display())))?;
    }
    fs::rename(&staged, &dir).map_err(io_err(format!("store {}", dir.display())))?;
    drop(guard);
    Ok((
        CachedRpm {
            name: c.name,
            essential: c.essential,
            rpm: dir.join(file_name),
            paths: c.paths,
        },
        true,
    ))
}

/// base-passwd's `passwd.master` and `group.master`: the users and groups
/// its postinst would have installed as /etc/passwd and /etc/group.
fn base_passwd(lock: &SeedLock, deb_cache: &Path) -> Result<filesystem::Accounts, SeedError> {
    let Some(p) = lock.packages.iter().find(|p| p.name == "base-passwd") else {
        return Ok(filesystem::Accounts::fallback());
    };
    let out = Runner::new().capture_stdout().run(
        Command::new("dpkg-deb")
            .arg("--fsys-tarfile")
            .arg(deb_path(deb_cache, p)),
    )?;
    let mut accounts = filesystem::Accounts::default();
    let mut ar = tar::Archive::new(&out.stdout[..]);
    for e in ar.entries().map_err(io_err("read base-passwd"))? {
        let mut e = e.map_err(io_err("read base-passwd"))?;
        let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut text = String::new();
        if path.ends_with("base-passwd/passwd.master") {
            e.read_to_string(&mut text)
                .map_err(io_err("read passwd.master"))?;
            accounts.passwd = text;
        } else if path.ends_with("base-passwd/group.master") {
            e.read_to_string(&mut text).map_err(io_err("read group.master"))?;
            accounts.group = text;
        }
    }
    if accounts.passwd.is_empty() || accounts.group.is_empty() {
        return Ok(filesystem::Accounts::fallback());
    }
    Ok(accounts)
}

fn seed_key(arch: Arch, lock: &SeedLock) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "azldev-seed\0{}\0{}\0{}\0",
        convert::CONVERTER_VERSION,
        filesystem::VERSION,
        arch
    ));
    for p in &lock.packages {
        h.update(format!("{}\0{}\0", p.name, p.sha256));
    }
    hex(&h.finalize())
}

fn read_manifest(dir: &Path) -> Option<Manifest> {
    serde_json::from_slice(&fs::read(dir.join(MANIFEST)).ok()?).ok()
}

fn dir_is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true)
}

/// Writes the repository beside `out` and swaps it in whole.
fn publish(out: &Path, rpms: &[PathBuf], key: &str, arch: Arch, log_dir: &Path) -> Result<(), SeedError> {
    let parent = out.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(format!("create {}", parent.display())))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "seed".into());
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let guard = RemoveOnDrop(staging.clone());
    let pkgs = staging.join("Packages");
    fs::create_dir_all(&pkgs).map_err(io_err(format!("create {}", pkgs.display())))?;
    let mut names = Vec::new();
    for rpm in rpms {
        let file = rpm.file_name().expect("an RPM has a file name");
        names.push(file.to_string_lossy().into_owned());
        let dst = pkgs.join(file);
        fs::hard_link(rpm, &dst)
            .or_else(|_| fs::copy(rpm, &dst).map(|_| ()))
            .map_err(io_err(format!("copy {}", rpm.display())))?;
    }
    Runner::new().log(log_dir.join("createrepo.log")).run(
        Command::new("createrepo_c")
            .args([
                "--quiet",
                "--no-database",
                "--revision",
                "0",
                "--set-timestamp-to-revision",
            ])
            .arg(&staging),
    )?;
    let manifest = Manifest {
        key: key.to_owned(),
        arch: arch.rpm().to_owned(),
        packages: names,
    };
    fs::write(
        staging.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest).expect("serialisable"),
    )
    .map_err(io_err("write the seed manifest"))?;
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if out.exists() {
        fs::rename(out, &old).map_err(io_err(format!("move aside {}", out.display())))?;
    }
    fs::rename(&staging, out).map_err(io_err(format!("publish {}", out.display())))?;
    drop(guard);
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// Writes a file through a temporary sibling and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SeedError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(format!("create {}", parent.display())))?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes).map_err(io_err(format!("write {}", tmp.display())))?;
    fs::rename(&tmp, path).map_err(io_err(format!("write {}", path.display())))
}

/// Removes a scratch directory or file when dropped (errors and panics included).
#[derive(Debug)]
pub(crate) struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = fs::remove_dir_all(&self.0);
        } else {
            let _ = fs::remove_file(&self.0);
        }
    }
}

/// Used by callers that want to show what a lock pins.
pub fn lock_summary(lock: &SeedLock) -> BTreeMap<String, String> {
    lock.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect()
}
