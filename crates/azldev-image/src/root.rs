//! Root trees: packages installed with dnf into a fresh root, scripts run, caches removed, timestamps clamped.
//!
//! The host's dnf installs into the directory (`--installroot`,
//! `--forcearch`; foreign-arch scriptlets run under qemu-user through
//! binfmt_misc, and a failed scriptlet — which dnf's exit code does not
//! show — fails the build). The description's users, files and services
//! are applied, its scripts run inside the root with bubblewrap (own pid,
//! ipc, uts and network namespaces), then dnf's caches, logs and history,
//! the rpmdb's shared-memory and lock files and the machine-id's content
//! are removed and every timestamp is clamped to `SOURCE_DATE_EPOCH` (the
//! newest build time of the installed packages unless given).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use azldev_buildroot::arch::Arch;
use azldev_buildroot::base::{BaseSpec, BuildrootError, RepoSpec};
use serde::{Deserialize, Serialize};

use crate::desc::ImageSpec;
use crate::run::{RunError, Runner};

/// Failures of making a root tree.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RootError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("installing the packages of image `{image}` ({arch}) failed: {source}")]
    Install {
        image: String,
        arch: Arch,
        #[source]
        source: Box<BuildrootError>,
    },
    #[error("{what} failed: {source}")]
    Run {
        what: String,
        #[source]
        source: Box<RunError>,
    },
    #[error("script {} of image `{image}` ({from}) failed: {tail}; log: {}", script.display(), log.display())]
    Script {
        image: String,
        script: PathBuf,
        from: String,
        tail: String,
        log: PathBuf,
    },
    #[error("service `{service}` ({from}): {why}")]
    Service {
        service: String,
        from: String,
        why: String,
    },
    #[error(
        "building an image root needs root (dnf installs into the root as its owner); run azldev as root, e.g. with sudo"
    )]
    NotRoot,
    #[error("{tool} is needed but is not installed; on Debian: apt-get install -y {package}")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RootError {
    let what = what.into();
    move |source| RootError::Io { what, source }
}

/// An installed package, as the root's rpmdb says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Package {
    pub name: String,
    /// `[epoch:]version-release`.
    pub evr: String,
    pub arch: String,
    pub license: String,
    pub source_rpm: String,
    /// Installed size in bytes.
    pub size: u64,
    pub build_time: i64,
    /// `%{SIGMD5}`: the digest of the header and payload rpm records.
    pub sigmd5: String,
}

impl Package {
    /// `name-evr.arch`.
    pub fn nevra(&self) -> String {
        format!("{}-{}.{}", self.name, self.evr, self.arch)
    }
}

/// Where to make a root and from what.
#[derive(Debug, Clone)]
pub struct RootRequest<'a> {
    pub spec: &'a ImageSpec,
    /// The distro's repositories followed by the local build repository.
    pub repos: Vec<RepoSpec>,
    pub releasever: String,
    /// `[main]` dnf options of the buildroot definition that change what is installed.
    pub dnf_main: BTreeMap<String, String>,
    /// The kiwi description (copied to `/image/config.xml` for `config.sh`).
    pub definition_path: &'a Path,
    /// A directory that does not exist yet; the root is created there.
    pub root: &'a Path,
    /// Scratch space outside the root (dnf.conf, HOME).
    pub scratch: &'a Path,
    pub log: &'a Path,
    /// Clamp to this instead of the newest package build time.
    pub source_date_epoch: Option<i64>,
}

/// What a finished root holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RootInfo {
    pub source_date_epoch: i64,
    /// Sorted by name then arch.
    pub packages: Vec<Package>,
}

/// Makes the root tree of `req.spec`.
pub fn make(req: &RootRequest<'_>) -> Result<RootInfo, RootError> {
    let spec = req.spec;
    if !azldev_buildroot::base::is_root() {
        return Err(RootError::NotRoot);
    }
    azldev_buildroot::layer::ensure_emulation(spec.arch).map_err(|e| RootError::Install {
        image: spec.name.clone(),
        arch: spec.arch,
        source: Box::new(e),
    })?;
    if req.root.exists() {
        fs::remove_dir_all(req.root).map_err(io_err(format!("remove {}", req.root.display())))?;
    }
    fs::create_dir_all(req.root).map_err(io_err(format!("create {}", req.root.display())))?;
    fs::create_dir_all(req.scratch).map_err(io_err(format!("create {}", req.scratch.display())))?;
    if let Some(p) = req.log.parent() {
        fs::create_dir_all(p).map_err(io_err(format!("create {}", p.display())))?;
    }
    let _ = fs::remove_file(req.log);

    let base = BaseSpec {
        arch: spec.arch,
        releasever: req.releasever.clone(),
        packages: Vec::new(),
        repos: req.repos.clone(),
        macros: BTreeMap::new(),
        dnf_main: req.dnf_main.clone(),
    };
    let install = |packages: Vec<String>| -> Result<(), RootError> {
        if packages.is_empty() {
            return Ok(());
        }
        let wrap = |e| RootError::Install {
            image: spec.name.clone(),
            arch: spec.arch,
            source: Box::new(e),
        };
        let mut cmd =
            azldev_buildroot::base::dnf_command(req.root, req.scratch, &base, &req.repos).map_err(wrap)?;
        // rpm (>= 4.18) takes the install time and transaction id it records
        // in the rpmdb from SOURCE_DATE_EPOCH: 0 makes the database the same
        // on every build (the tree is clamped to the real epoch afterwards).
        cmd.env("SOURCE_DATE_EPOCH", "0").arg("install").args(&packages);
        azldev_buildroot::base::run_dnf(&mut cmd, req.root, &req.repos, req.log).map_err(wrap)
    };
    // Kiwi installs its bootstrap packages first, then the image's.
    let boot: Vec<String> = dedup(spec.bootstrap_packages.iter().map(|p| p.value.clone()));
    if boot.is_empty() {
        install(spec.install_list())?;
    } else {
        install(boot.clone())?;
        install(
            spec.packages
                .iter()
                .map(|p| p.value.clone())
                .filter(|p| !boot.contains(p))
                .collect(),
        )?;
    }
    if !spec.remove_packages.is_empty() {
        let mut cmd = rpm(req.root);
        cmd.env("SOURCE_DATE_EPOCH", "0")
            .args(["-e", "--nodeps"])
            .args(spec.remove_packages.iter().map(|p| p.value.as_str()));
        run("removing the description's packages", req.log, &mut cmd)?;
    }
    apply_users(req.root, spec)?;
    apply_files(req.root, spec)?;
    apply_services(req.root, spec)?;
    for script in &spec.scripts {
        run_script(req, &script.value.path, script.value.kiwi, &script.from)?;
    }
    let packages = query(req.root, req.log)?;
    scrub(req.root);
    let sde = req
        .source_date_epoch
        .unwrap_or_else(|| packages.iter().map(|p| p.build_time).max().unwrap_or(0));
    clamp_mtimes(req.root, sde)?;
    let _ = fs::remove_dir_all(req.scratch);
    Ok(RootInfo {
        source_date_epoch: sde,
        packages,
    })
}

fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    it.filter(|p| seen.insert(p.clone())).collect()
}

fn rpm(root: &Path) -> Command {
    let mut cmd = Command::new("rpm");
    cmd.env("LC_ALL", "C.UTF-8")
        .arg("--root")
        .arg(root)
        .args(["--dbpath", "/var/lib/rpm"]);
    cmd
}

fn run(what: &str, log: &Path, cmd: &mut Command) -> Result<crate::run::Output, RootError> {
    Runner::new()
        .log(log)
        .capture_stdout()
        .timeout(Duration::from_secs(600))
        .run(cmd)
        .map_err(|e| RootError::Run {
            what: what.to_owned(),
            source: Box::new(e),
        })
}

/// Every package of a root's rpmdb.
pub fn query(root: &Path, log: &Path) -> Result<Vec<Package>, RootError> {
    let mut cmd = rpm(root);
    cmd.args([
        "-qa",
        "--qf",
        "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{LICENSE}\\t%{SOURCERPM}\\t%{SIZE}\\t%{BUILDTIME}\\t%{SIGMD5}\\n",
    ]);
    let out = run("querying the root's rpm database", log, &mut cmd)?;
    let mut v: Vec<Package> = out
        .stdout_str()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let [name, evr, arch, license, srpm, size, bt, md5] = f.as_slice() else {
                return None;
            };
            Some(Package {
                name: (*name).to_owned(),
                evr: (*evr).to_owned(),
                arch: (*arch).to_owned(),
                license: (*license).to_owned(),
                source_rpm: (*srpm).to_owned(),
                size: size.parse().unwrap_or(0),
                build_time: bt.parse().unwrap_or(0),
                sigmd5: (*md5).to_owned(),
            })
        })
        .filter(|p| p.name != "gpg-pubkey")
        .collect();
    v.sort_by(|a, b| (&a.name, &a.arch, &a.evr).cmp(&(&b.name, &b.arch, &b.evr)));
    Ok(v)
}

/// Adds the description's users to `/etc/passwd`, `/etc/group` and
/// `/etc/shadow` (existing accounts are left as they are).
fn apply_users(root: &Path, spec: &ImageSpec) -> Result<(), RootError> {
    if spec.users.is_empty() {
        return Ok(());
    }
    let etc = root.join("etc");
    fs::create_dir_all(&etc).map_err(io_err("create /etc"))?;
    let read = |f: &str| fs::read_to_string(etc.join(f)).unwrap_or_default();
    let mut passwd = read("passwd");
    let mut group = read("group");
    let mut shadow = read("shadow");
    let ids = |text: &str| -> Vec<u32> {
        text.lines()
            .filter_map(|l| l.split(':').nth(2)?.parse().ok())
            .collect()
    };
    let has = |text: &str, name: &str| text.lines().any(|l| l.split(':').next() == Some(name));
    for u in &spec.users {
        let u = &u.value;
        if has(&passwd, &u.name) {
            continue;
        }
        let uid = u.uid.unwrap_or_else(|| {
            let used = ids(&passwd);
            (1000..).find(|i| !used.contains(i)).unwrap_or(1000)
        });
        let primary = u.groups.first().cloned().unwrap_or_else(|| u.name.clone());
        if !has(&group, &primary) {
            let used = ids(&group);
            let gid = if used.contains(&uid) {
                (1000..).find(|i| !used.contains(i)).unwrap_or(1000)
            } else {
                uid
            };
            push_line(&mut group, &format!("{primary}:x:{gid}:"));
        }
        let gid = group
            .lines()
            .find(|l| l.split(':').next() == Some(primary.as_str()))
            .and_then(|l| l.split(':').nth(2))
            .unwrap_or("0")
            .to_owned();
        for extra in u.groups.iter().skip(1) {
            let mut found = false;
            group = group
                .lines()
                .map(|l| {
                    let mut f: Vec<String> = l.split(':').map(str::to_owned).collect();
                    if f.first().map(String::as_str) == Some(extra.as_str()) && f.len() == 4 {
                        found = true;
                        let mut members: Vec<&str> = f[3].split(',').filter(|s| !s.is_empty()).collect();
                        members.push(&u.name);
                        f[3] = members.join(",");
                    }
                    f.join(":") + "\n"
                })
                .collect();
            if !found {
                let used = ids(&group);
                let gid = (1000..).find(|i| !used.contains(i)).unwrap_or(1000);
                push_line(&mut group, &format!("{extra}:x:{gid}:{}", u.name));
            }
        }
        let home = u.home.clone().unwrap_or_else(|| format!("/home/{}", u.name));
        push_line(
            &mut passwd,
            &format!(
                "{}:x:{uid}:{gid}:{}:{home}:{}",
                u.name,
                u.realname.clone().unwrap_or_default(),
                u.shell.clone().unwrap_or_else(|| "/bin/sh".into())
            ),
        );
        push_line(
            &mut shadow,
            &format!(
                "{}:{}:0:0:99999:7:::",
                u.name,
                u.password.clone().unwrap_or_else(|| "!".into())
            ),
        );
        let h = root.join(home.trim_start_matches('/'));
        fs::create_dir_all(&h).map_err(io_err(format!("create {}", h.display())))?;
        let gid_n: u32 = gid.parse().unwrap_or(0);
        std::os::unix::fs::chown(&h, Some(uid), Some(gid_n))
            .map_err(io_err(format!("chown {}", h.display())))?;
        fs::set_permissions(&h, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("chmod {}", h.display())))?;
    }
    fs::write(etc.join("passwd"), passwd).map_err(io_err("write /etc/passwd"))?;
    fs::write(etc.join("group"), group).map_err(io_err("write /etc/group"))?;
    fs::write(etc.join("shadow"), shadow).map_err(io_err("write /etc/shadow"))?;
    fs::set_permissions(etc.join("shadow"), fs::Permissions::from_mode(0o000))
        .map_err(io_err("chmod /etc/shadow"))?;
    Ok(())
}

fn push_line(text: &mut String, line: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
}

fn apply_files(root: &Path, spec: &ImageSpec) -> Result<(), RootError> {
    for f in &spec.files {
        let f = &f.value;
        let dest = root.join(f.path.trim_start_matches('/'));
        if let Some(p) = dest.parent() {
            fs::create_dir_all(p).map_err(io_err(format!("create {}", p.display())))?;
        }
        // Never through a symlink the packages put there.
        if dest.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&dest).map_err(io_err(format!("replace {}", dest.display())))?;
        }
        let bytes = match (&f.content, &f.source) {
            (Some(c), _) => c.clone().into_bytes(),
            (None, Some(s)) => fs::read(s).map_err(io_err(format!("read {}", s.display())))?,
            (None, None) => Vec::new(),
        };
        fs::write(&dest, bytes).map_err(io_err(format!("write {}", dest.display())))?;
        fs::set_permissions(&dest, fs::Permissions::from_mode(f.mode))
            .map_err(io_err(format!("chmod {}", dest.display())))?;
    }
    Ok(())
}

/// Enables services the way `systemctl enable` does: a symlink in
/// `/etc/systemd/system/<target>.wants/` for each `WantedBy=`.
fn apply_services(root: &Path, spec: &ImageSpec) -> Result<(), RootError> {
    for s in &spec.services {
        let unit = if s.value.contains('.') {
            s.value.clone()
        } else {
            format!("{}.service", s.value)
        };
        let err = |why: String| RootError::Service {
            service: s.value.clone(),
            from: s.from.clone(),
            why,
        };
        let dir = [
            "etc/systemd/system",
            "usr/lib/systemd/system",
            "lib/systemd/system",
        ]
        .into_iter()
        .find(|d| root.join(d).join(&unit).is_file())
        .ok_or_else(|| err(format!("no unit file `{unit}` in the image")))?;
        let text = fs::read_to_string(root.join(dir).join(&unit)).map_err(|e| err(e.to_string()))?;
        let wanted: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("WantedBy="))
            .flat_map(str::split_whitespace)
            .collect();
        if wanted.is_empty() {
            return Err(err(format!("`{unit}` has no WantedBy= in [Install]")));
        }
        for t in wanted {
            let wants = root.join("etc/systemd/system").join(format!("{t}.wants"));
            fs::create_dir_all(&wants).map_err(io_err(format!("create {}", wants.display())))?;
            let link = wants.join(&unit);
            let _ = fs::remove_file(&link);
            symlink(format!("/{dir}/{unit}"), &link).map_err(io_err(format!("link {}", link.display())))?;
        }
    }
    Ok(())
}

const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs a script inside the root with bubblewrap, no network.
fn run_script(req: &RootRequest<'_>, script: &Path, kiwi: bool, from: &str) -> Result<(), RootError> {
    if !azldev_buildroot::run::have("bwrap") {
        return Err(RootError::MissingTool {
            tool: "bwrap",
            package: "bubblewrap",
        });
    }
    let root = req.root;
    let image_dir = root.join("image");
    let had_image_dir = image_dir.exists();
    fs::create_dir_all(&image_dir).map_err(io_err(format!("create {}", image_dir.display())))?;
    let name = script
        .file_name()
        .map_or_else(|| "script".into(), |n| n.to_string_lossy().into_owned());
    let inside = image_dir.join(&name);
    fs::copy(script, &inside).map_err(io_err(format!("copy {}", script.display())))?;
    fs::set_permissions(&inside, fs::Permissions::from_mode(0o755))
        .map_err(io_err(format!("chmod {}", inside.display())))?;
    let profile = root.join(".profile");
    if kiwi {
        fs::copy(req.definition_path, image_dir.join("config.xml"))
            .map_err(io_err("copy the kiwi description into the root"))?;
        let spec = req.spec;
        let profiles = spec
            .settings
            .get("kiwi-profiles")
            .map(|s| s.value.clone())
            .unwrap_or_default();
        let version = spec
            .settings
            .get("version")
            .map(|s| s.value.clone())
            .unwrap_or_default();
        fs::write(
            &profile,
            format!(
                "kiwi_profiles='{profiles}'\nkiwi_iname='{}'\nkiwi_iversion='{version}'\nkiwi_arch='{}'\n",
                spec.settings
                    .get("kiwi-name")
                    .map_or(spec.name.as_str(), |s| s.value.as_str()),
                spec.arch
            ),
        )
        .map_err(io_err("write /.profile"))?;
    }
    let mut cmd = Command::new("bwrap");
    cmd.arg("--bind")
        .arg(root)
        .arg("/")
        .args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"])
        .args([
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-net",
            "--unshare-cgroup-try",
        ])
        .args([
            "--hostname",
            "azldev",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ])
        .args([
            "--setenv", "PATH", PATH, "--setenv", "HOME", "/root", "--setenv", "LANG", "C.UTF-8",
        ])
        .args(["--chdir", "/image", "--"])
        .arg(format!("/image/{name}"));
    let res = Runner::new()
        .log(req.log)
        .timeout(Duration::from_secs(1800))
        .run(&mut cmd);
    if kiwi {
        let _ = fs::remove_file(&profile);
    }
    if had_image_dir {
        let _ = fs::remove_file(&inside);
        if kiwi {
            let _ = fs::remove_file(image_dir.join("config.xml"));
        }
    } else {
        let _ = fs::remove_dir_all(&image_dir);
    }
    res.map(|_| ()).map_err(|e| RootError::Script {
        image: req.spec.name.clone(),
        script: script.to_owned(),
        from: from.to_owned(),
        tail: e
            .tail()
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .to_owned(),
        log: req.log.to_owned(),
    })
}

/// Removes what an install leaves that is not part of the image.
pub fn scrub(root: &Path) {
    for p in [
        "var/cache/dnf",
        "var/cache/libdnf5",
        "var/lib/dnf",
        "var/lib/libdnf5",
        "var/log/dnf.log",
        "var/log/dnf.librepo.log",
        "var/log/dnf.rpm.log",
        "var/log/dnf5.log",
        "var/log/hawkey.log",
        "var/cache/ldconfig/aux-cache",
        "var/lib/rpm/rpmdb.sqlite-shm",
        "var/lib/rpm/.rpm.lock",
        "var/lib/rpm/.dbenv.lock",
    ] {
        let path = root.join(p);
        if path.is_dir() {
            let _ = fs::remove_dir_all(&path);
        } else {
            let _ = fs::remove_file(&path);
        }
    }
    // An empty write-ahead log is nothing; a non-empty one means the
    // database was not closed cleanly and must stay.
    let wal = root.join("var/lib/rpm/rpmdb.sqlite-wal");
    if wal.metadata().is_ok_and(|m| m.len() == 0) {
        let _ = fs::remove_file(&wal);
    }
    if let Ok(entries) = fs::read_dir(root.join("var/lib/rpm")) {
        for e in entries.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().starts_with("__db.") {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    // Each booted system makes its own machine-id.
    let mid = root.join("etc/machine-id");
    if mid.is_file() {
        let _ = fs::write(&mid, b"");
    }
    let _ = fs::remove_file(root.join("var/lib/systemd/random-seed"));
    for d in ["tmp", "var/tmp"] {
        if let Ok(entries) = fs::read_dir(root.join(d)) {
            for e in entries.filter_map(Result::ok) {
                let p = e.path();
                let _ = if p.is_dir() && !p.is_symlink() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
}

/// Sets every timestamp newer than `sde` (and every access time) to `sde`.
pub fn clamp_mtimes(root: &Path, sde: i64) -> Result<(), RootError> {
    use rustix::fs::{AtFlags, CWD, Timespec, Timestamps, utimensat};
    use std::os::unix::fs::MetadataExt;
    let mut stack = vec![root.to_owned()];
    let mut paths = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).map_err(io_err(format!("read {}", d.display())))?;
        for e in entries {
            let e = e.map_err(io_err(format!("read {}", d.display())))?;
            let p = e.path();
            let ft = e.file_type().map_err(io_err(format!("stat {}", p.display())))?;
            if ft.is_dir() {
                stack.push(p.clone());
            }
            paths.push(p);
        }
    }
    for p in paths.iter().rev() {
        let m = p
            .symlink_metadata()
            .map_err(io_err(format!("stat {}", p.display())))?;
        let mtime = m.mtime().min(sde);
        let t = Timespec {
            tv_sec: mtime,
            tv_nsec: 0,
        };
        utimensat(
            CWD,
            p,
            &Timestamps {
                last_access: t,
                last_modification: t,
            },
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| RootError::Io {
            what: format!("set the times of {}", p.display()),
            source: e.into(),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_files_links_and_directories() {
        let t = tempfile::tempdir().expect("tempdir");
        let r = t.path();
        fs::create_dir_all(r.join("a/b")).expect("mkdir");
        fs::write(r.join("a/b/f"), "x").expect("write");
        symlink("f", r.join("a/b/l")).expect("symlink");
        clamp_mtimes(r, 1_000_000).expect("clamp");
        use std::os::unix::fs::MetadataExt;
        for p in ["a", "a/b", "a/b/f", "a/b/l"] {
            let m = r.join(p).symlink_metadata().expect("stat");
            assert_eq!(m.mtime(), 1_000_000, "{p}");
            assert_eq!(m.atime(), 1_000_000, "{p}");
        }
    }
}
