//! Base roots: the setup packages of a buildroot definition installed with
//! `dnf --installroot` (`--forcearch` for a foreign arch) into a directory
//! cached under a key of its inputs — repository metadata, package list,
//! macros, arch, releasever — and then only ever used read-only, as the
//! lower layer of per-build overlays.
//!
//! Layout under `<cache>/buildroot/`:
//! - `base/<arch>-<key>/root/` the root, `…/meta.json` what it is;
//! - `base/<arch>-<key>.lock` held shared by every layer using the root and
//!   exclusively while it is created or removed;
//! - `base/.tmp-…` a root being created (swept when its creator is gone).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::run::{RunError, Runner};
use crate::seed::{RemoveOnDrop, hex};

/// Failures of the toolchain stage's roots and layers.
#[derive(Debug, thiserror::Error)]
pub enum BuildrootError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(Box<RunError>),
    #[error(
        "{what} needs root (mount namespaces, overlayfs and installs into a root); \
         run azldev as root, e.g. with sudo"
    )]
    NotRoot { what: String },
    #[error("repository `{id}` ({url}) cannot be reached: {why}")]
    RepoUnreachable { id: String, url: String, why: String },
    #[error("nothing provides {} in the repositories of the buildroot ({}){}", .names.join(", "), .repos.join(", "), log_hint(.log))]
    NoSuchPackage {
        names: Vec<String>,
        repos: Vec<String>,
        log: Option<PathBuf>,
    },
    #[error("dnf could not install into {}: {tail}{}", .root.display(), log_hint(.log))]
    Install {
        root: PathBuf,
        tail: String,
        log: Option<PathBuf>,
    },
    #[error("{tool} is needed but is not installed; on Debian: apt-get install -y {package}")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("{0}")]
    Emulation(String),
    #[error("the buildroot definition has no setup packages")]
    NoPackages,
}

impl From<RunError> for BuildrootError {
    fn from(e: RunError) -> Self {
        BuildrootError::Run(Box::new(e))
    }
}

fn log_hint(log: &Option<PathBuf>) -> String {
    log.as_ref()
        .map(|p| format!("; log: {}", p.display()))
        .unwrap_or_default()
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildrootError {
    let what = what.into();
    move |source| BuildrootError::Io { what, source }
}

/// A package repository a root installs from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RepoSpec {
    pub id: String,
    /// `file://`, absolute paths, `http(s)://`; `$basearch`/`$releasever`
    /// already substituted.
    pub baseurl: Vec<String>,
    pub gpgcheck: bool,
    /// Further `dnf.conf` options of the repository (cost, priority…).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Everything that determines a base root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BaseSpec {
    pub arch: Arch,
    pub releasever: String,
    pub packages: Vec<String>,
    pub repos: Vec<RepoSpec>,
    /// rpm macros of the definition (`%dist` → `.azl4`), written to
    /// `/etc/rpm/macros.zz-azldev-buildroot` in the root.
    pub macros: BTreeMap<String, String>,
    /// `[main]` options of the definition's dnf.conf that change what is
    /// installed (`install_weak_deps`, `best`, `obsoletes`…).
    #[serde(default)]
    pub dnf_main: BTreeMap<String, String>,
}

/// `[main]` options kept from a definition (the others are mock's or host
/// paths that have no meaning here).
pub const DNF_MAIN_KEPT: &[&str] = &[
    "install_weak_deps",
    "best",
    "obsoletes",
    "module_platform_id",
    "protected_packages",
];

/// What `buildroot list` shows of a base root.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BaseMeta {
    pub key: String,
    pub arch: Arch,
    pub spec: BaseSpec,
    /// `name-evr.arch` of every installed package, sorted.
    pub installed: Vec<String>,
    pub size_bytes: u64,
    /// Seconds since the epoch.
    pub created: u64,
    pub create_seconds: f64,
}

/// A base root ready for layers.
#[derive(Debug, Clone)]
pub struct BaseRoot {
    pub key: String,
    pub arch: Arch,
    /// `<cache>/buildroot/base/<arch>-<key>`.
    pub dir: PathBuf,
    pub meta: BaseMeta,
}

impl BaseRoot {
    /// The root directory (never write to it).
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Names of the packages installed in the root (from `name-evr.arch`).
    pub fn installed_names(&self) -> std::collections::BTreeSet<&str> {
        self.meta
            .installed
            .iter()
            .filter_map(|p| {
                // name-version-release.arch: the name is before the last two dashes.
                let mut it = p.rsplitn(3, '-');
                let (_, _, name) = (it.next()?, it.next()?, it.next()?);
                Some(name)
            })
            .collect()
    }

    /// The lock file layers hold shared.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.with_extension("lock")
    }
}

/// The base roots of one cache.
#[derive(Debug, Clone)]
pub struct BaseRoots {
    /// `<cache>/buildroot`.
    pub dir: PathBuf,
    /// Where creation logs go (`<log-dir>/buildroot`).
    pub log_dir: PathBuf,
}

/// Is this process root?
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl BaseRoots {
    pub fn new(cache_dir: &Path, log_dir: &Path) -> BaseRoots {
        BaseRoots {
            dir: cache_dir.join("buildroot"),
            log_dir: log_dir.join("buildroot"),
        }
    }

    fn base_dir(&self) -> PathBuf {
        self.dir.join("base")
    }

    /// The key of a spec: its fields plus the content of every repository's
    /// `repodata/repomd.xml` (so a changed repository means a new root).
    /// Where a repository lives is not part of the key — its content is
    /// (the same seed in two checkouts gives one base root).
    pub fn key(&self, spec: &BaseSpec) -> Result<String, BuildrootError> {
        let mut h = Sha256::new();
        h.update(b"azldev-base-root\x002\0");
        let mut keyed = spec.clone();
        for r in &mut keyed.repos {
            r.baseurl.clear();
        }
        h.update(serde_json::to_vec(&keyed).expect("serialisable"));
        for repo in &spec.repos {
            h.update(repo.id.as_bytes());
            h.update(repomd(repo)?);
        }
        Ok(hex(&h.finalize())[..24].to_owned())
    }

    /// The base root of `spec`, created when missing. Concurrent callers
    /// wait for one creation.
    pub fn ensure(&self, spec: &BaseSpec) -> Result<BaseRoot, BuildrootError> {
        if spec.packages.is_empty() {
            return Err(BuildrootError::NoPackages);
        }
        let key = self.key(spec)?;
        let base_dir = self.base_dir();
        fs::create_dir_all(&base_dir).map_err(io_err(format!("create {}", base_dir.display())))?;
        let dir = base_dir.join(format!("{}-{key}", spec.arch));
        if let Some(root) = self.open(&dir) {
            return Ok(root);
        }
        if !is_root() {
            return Err(BuildrootError::NotRoot {
                what: "creating a base root".into(),
            });
        }
        crate::layer::ensure_emulation(spec.arch)?;
        let lock = File::create(dir.with_extension("lock")).map_err(io_err("create the base root lock"))?;
        lock.lock().map_err(io_err("lock the base root"))?;
        if let Some(root) = self.open(&dir) {
            return Ok(root);
        }
        self.sweep();
        let start = Instant::now();
        let staging = base_dir.join(format!(".tmp-{}-{key}-{}", spec.arch, std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        let guard = RemoveOnDrop(staging.clone());
        let root = staging.join("root");
        fs::create_dir_all(&root).map_err(io_err(format!("create {}", root.display())))?;
        let log = self.log_dir.join(format!("base-{}-{key}.log", spec.arch));
        let _ = fs::remove_file(&log);
        dnf_install(&root, &staging, spec, &spec.repos, &spec.packages, &log)?;
        write_macros(&root, &spec.macros)?;
        scrub(&root);
        let installed = rpm_qa(&root, &log)?;
        let meta = BaseMeta {
            key: key.clone(),
            arch: spec.arch,
            spec: spec.clone(),
            installed,
            size_bytes: tree_size(&root),
            created: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            create_seconds: start.elapsed().as_secs_f64(),
        };
        fs::write(
            staging.join("meta.json"),
            serde_json::to_vec_pretty(&meta).expect("serialisable"),
        )
        .map_err(io_err("write meta.json"))?;
        let _ = fs::remove_dir_all(staging.join("home"));
        let _ = fs::remove_file(staging.join("dnf.conf"));
        fs::rename(&staging, &dir).map_err(io_err(format!("publish {}", dir.display())))?;
        drop(guard);
        drop(lock);
        Ok(BaseRoot {
            key,
            arch: spec.arch,
            dir,
            meta,
        })
    }

    /// The base root of `spec` if it exists (never creates one).
    pub fn find(&self, spec: &BaseSpec) -> Result<Option<BaseRoot>, BuildrootError> {
        let key = self.key(spec)?;
        Ok(self.open(&self.base_dir().join(format!("{}-{key}", spec.arch))))
    }

    fn open(&self, dir: &Path) -> Option<BaseRoot> {
        let meta: BaseMeta = serde_json::from_slice(&fs::read(dir.join("meta.json")).ok()?).ok()?;
        if !dir.join("root").is_dir() {
            return None;
        }
        Some(BaseRoot {
            key: meta.key.clone(),
            arch: meta.arch,
            dir: dir.to_owned(),
            meta,
        })
    }

    /// Every complete base root, sorted by arch then creation time.
    pub fn list(&self) -> Vec<BaseRoot> {
        let mut roots: Vec<BaseRoot> = fs::read_dir(self.base_dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| self.open(&e.path()))
                    .collect()
            })
            .unwrap_or_default();
        roots.sort_by(|a, b| (a.arch, a.meta.created, &a.key).cmp(&(b.arch, b.meta.created, &b.key)));
        roots
    }

    /// Removes base roots not in use (no layer holds their lock), keeping
    /// those whose key is in `keep`; returns what was removed.
    pub fn clean(&self, keep: &[String]) -> Result<Vec<BaseRoot>, BuildrootError> {
        self.sweep();
        let mut removed = Vec::new();
        for root in self.list() {
            if keep.contains(&root.key) {
                continue;
            }
            let Ok(lock) = File::options()
                .write(true)
                .create(true)
                .truncate(false)
                .open(root.lock_path())
            else {
                continue;
            };
            if lock.try_lock().is_err() {
                continue;
            }
            // Make it invisible first, then delete: a killed clean leaves
            // only a hidden directory the next sweep removes.
            let trash = self
                .base_dir()
                .join(format!(".tmp-trash-{}-{}", root.key, std::process::id()));
            fs::rename(&root.dir, &trash).map_err(io_err(format!("remove {}", root.dir.display())))?;
            fs::remove_dir_all(&trash).map_err(io_err(format!("remove {}", trash.display())))?;
            let _ = fs::remove_file(root.lock_path());
            removed.push(root);
        }
        Ok(removed)
    }

    /// Removes staging directories whose creator is gone.
    fn sweep(&self) {
        let Ok(entries) = fs::read_dir(self.base_dir()) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(".tmp-") else {
                continue;
            };
            let pid = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// The bytes of a repository's `repodata/repomd.xml`.
fn repomd(repo: &RepoSpec) -> Result<Vec<u8>, BuildrootError> {
    let mut last = String::from("no baseurl");
    for url in &repo.baseurl {
        let base = url.trim_end_matches('/');
        if let Some(path) = local_path(base) {
            match fs::read(path.join("repodata/repomd.xml")) {
                Ok(b) => return Ok(b),
                Err(e) => last = format!("{}: {e}", path.join("repodata/repomd.xml").display()),
            }
        } else if base.starts_with("http://") || base.starts_with("https://") {
            let res = Runner::new()
                .capture_stdout()
                .timeout(Duration::from_secs(60))
                .run(
                    Command::new("wget")
                        .args(["-nv", "--tries=2", "--timeout=20", "-O", "-"])
                        .arg(format!("{base}/repodata/repomd.xml")),
                );
            match res {
                Ok(out) => return Ok(out.stdout),
                Err(e) => last = wget_failure(&format!("{base}/repodata/repomd.xml"), &e),
            }
        } else {
            last = format!("unsupported URL scheme in {url}");
        }
    }
    Err(BuildrootError::RepoUnreachable {
        id: repo.id.clone(),
        url: repo.baseurl.first().cloned().unwrap_or_default(),
        why: last.lines().next().unwrap_or_default().to_owned(),
    })
}

/// One line saying why wget could not fetch `url`: what wget said last
/// (`failed: Connection refused.`, `ERROR 404: Not Found.`) and what its
/// exit status means.
fn wget_failure(url: &str, e: &RunError) -> String {
    let said = e
        .tail()
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.ends_with(':'))
        .unwrap_or_default()
        .to_owned();
    let meaning = match e.code() {
        Some(4) => "network failure",
        Some(5) => "TLS failure",
        Some(6) => "authentication failure",
        Some(8) => "the server answered with an error",
        Some(_) => "wget failed",
        None => return e.to_string().lines().next().unwrap_or_default().to_owned(),
    };
    if said.is_empty() {
        format!("{url}: {meaning}")
    } else {
        format!("{url}: {meaning}: {said}")
    }
}

/// `file:///x` or `/x` → `/x`.
pub fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(p) = url.strip_prefix("file://") {
        return Some(PathBuf::from(p));
    }
    url.starts_with('/').then(|| PathBuf::from(url))
}

/// A dnf.conf for installs into roots: only the given repositories, no
/// weak dependencies unless the definition wants them. (dnf keeps its cache
/// and logs inside the install root whatever the configuration says; they
/// are scrubbed afterwards.)
pub(crate) fn dnf_conf(spec: &BaseSpec, repos: &[RepoSpec]) -> String {
    let mut s = String::from(
        "[main]\nreposdir=/dev/null\nkeepcache=0\nmetadata_expire=0\ninstall_weak_deps=0\n\
         skip_if_unavailable=False\nretries=3\ntimeout=30\n",
    );
    for (k, v) in &spec.dnf_main {
        if DNF_MAIN_KEPT.contains(&k.as_str()) {
            s.push_str(&format!("{k}={v}\n"));
        }
    }
    for r in repos {
        s.push_str(&format!(
            "\n[{}]\nname={}\nbaseurl={}\nenabled=1\ngpgcheck={}\n",
            r.id,
            r.id,
            r.baseurl.join(" "),
            u8::from(r.gpgcheck)
        ));
        for (k, v) in &r.options {
            if !matches!(
                k.as_str(),
                "name" | "baseurl" | "enabled" | "gpgcheck" | "metalink" | "mirrorlist"
            ) {
                s.push_str(&format!("{k}={v}\n"));
            }
        }
    }
    s
}

/// Installs `packages` into `root` with the host's dnf. `scratch` holds
/// the dnf.conf, its cache and a HOME whose `.rpmmacros` puts the database
/// at `/var/lib/rpm` (host dnf ignores the root's own macros for that).
pub(crate) fn dnf_install(
    root: &Path,
    scratch: &Path,
    spec: &BaseSpec,
    repos: &[RepoSpec],
    packages: &[String],
    log: &Path,
) -> Result<(), BuildrootError> {
    let mut cmd = dnf_command(root, scratch, spec, repos)?;
    cmd.arg("install").args(packages);
    run_dnf(&mut cmd, root, repos, log)
}

/// The dnf command line for installs into `root` (without the verb).
pub fn dnf_command(
    root: &Path,
    scratch: &Path,
    spec: &BaseSpec,
    repos: &[RepoSpec],
) -> Result<Command, BuildrootError> {
    if !crate::run::have("dnf") {
        return Err(BuildrootError::MissingTool {
            tool: "dnf",
            package: "dnf",
        });
    }
    let home = scratch.join("home");
    fs::create_dir_all(&home).map_err(io_err(format!("create {}", home.display())))?;
    fs::write(home.join(".rpmmacros"), "%_dbpath /var/lib/rpm\n").map_err(io_err("write .rpmmacros"))?;
    let conf = scratch.join("dnf.conf");
    fs::write(&conf, dnf_conf(spec, repos)).map_err(io_err("write dnf.conf"))?;
    // Killed with azldev, whatever it is doing (not only at its next write
    // into a closed pipe).
    let mut cmd = Command::new("setpriv");
    cmd.args(["--pdeathsig", "KILL", "--", "dnf"])
        .env("HOME", &home)
        .env("LC_ALL", "C.UTF-8")
        .arg("-c")
        .arg(&conf)
        .arg(format!("--installroot={}", root.display()))
        .arg(format!("--releasever={}", spec.releasever))
        .arg(format!("--forcearch={}", spec.arch))
        .args(["-y", "--setopt=tsflags=nocontexts", "--noplugins"]);
    if repos.iter().all(|r| !r.gpgcheck) {
        cmd.arg("--nogpgcheck");
    }
    Ok(cmd)
}

pub fn run_dnf(cmd: &mut Command, root: &Path, repos: &[RepoSpec], log: &Path) -> Result<(), BuildrootError> {
    match Runner::new().log(log).timeout(Duration::from_secs(3600)).run(cmd) {
        Ok(out) => {
            // dnf's exit code does not show failed scriptlets.
            let text = String::from_utf8_lossy(&out.stderr);
            if let Some(line) = text
                .lines()
                .find(|l| l.contains("scriptlet failed") || l.starts_with("Error in "))
            {
                return Err(BuildrootError::Install {
                    root: root.to_owned(),
                    tail: line.to_owned(),
                    log: Some(log.to_owned()),
                });
            }
            Ok(())
        }
        Err(RunError::Failed { tail, .. }) => {
            let all = fs::read_to_string(log).unwrap_or_default();
            let missing: Vec<String> = all
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("No match for argument: ")
                        .or_else(|| l.trim().strip_prefix("- nothing provides "))
                        .map(|s| s.trim().to_owned())
                })
                .collect();
            if !missing.is_empty() {
                let mut names = missing;
                names.sort();
                names.dedup();
                return Err(BuildrootError::NoSuchPackage {
                    names,
                    repos: repos.iter().map(|r| r.id.clone()).collect(),
                    log: Some(log.to_owned()),
                });
            }
            if let Some(l) = all
                .lines()
                .find(|l| l.contains("Failed to download metadata for repo"))
            {
                let id = l.split('\'').nth(1).unwrap_or_default().to_owned();
                let url = repos
                    .iter()
                    .find(|r| r.id == id)
                    .and_then(|r| r.baseurl.first().cloned())
                    .unwrap_or_default();
                return Err(BuildrootError::RepoUnreachable {
                    id,
                    url,
                    why: l.trim().to_owned(),
                });
            }
            Err(BuildrootError::Install {
                root: root.to_owned(),
                tail,
                log: Some(log.to_owned()),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a base root holds its definition's macros.
pub const MACROS_FILE: &str = "etc/rpm/macros.zz-azldev-buildroot";

/// The rpm macro file of a definition's macros, as a base root holds it
/// (also what the spec evaluator loads when it plans for that root).
pub fn macros_file(macros: &BTreeMap<String, String>) -> String {
    let mut s =
        String::from("# The buildroot definition's macros (written by azldev).\n%_dbpath /var/lib/rpm\n");
    for (k, v) in macros {
        let name = k.trim_start_matches('%');
        s.push_str(&format!("%{name} {}\n", v.replace('\n', "\\\n")));
    }
    s
}

fn write_macros(root: &Path, macros: &BTreeMap<String, String>) -> Result<(), BuildrootError> {
    let dir = root.join("etc/rpm");
    fs::create_dir_all(&dir).map_err(io_err(format!("create {}", dir.display())))?;
    fs::write(root.join(MACROS_FILE), macros_file(macros)).map_err(io_err("write the buildroot macros"))
}

/// Removes what an install leaves that is not part of the root: caches,
/// logs, dnf history, rpmdb's shared-memory file.
pub(crate) fn scrub(root: &Path) {
    for p in [
        "var/cache/dnf",
        "var/log/dnf.log",
        "var/log/dnf.librepo.log",
        "var/log/dnf.rpm.log",
        "var/log/hawkey.log",
        "var/lib/dnf",
    ] {
        let path = root.join(p);
        if path.is_dir() {
            let _ = fs::remove_dir_all(&path);
        } else {
            let _ = fs::remove_file(&path);
        }
    }
    let _ = fs::remove_file(root.join("var/lib/rpm/rpmdb.sqlite-shm"));
}

fn rpm_qa(root: &Path, log: &Path) -> Result<Vec<String>, BuildrootError> {
    let out =
        Runner::new()
            .log(log)
            .capture_stdout()
            .run(Command::new("rpm").arg("--root").arg(root).args([
                "--dbpath",
                "/var/lib/rpm",
                "-qa",
                "--qf",
                "%{NAME}-%{EVR}.%{ARCH}\\n",
            ]))?;
    let mut v: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
    v.sort();
    Ok(v)
}

fn tree_size(root: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total += m.blocks() * 512;
            }
        }
    }
    total
}
