//! Signing: RPMs with rpmsign and repository metadata with a detached armored signature.
//!
//! The key is a GnuPG key (id, fingerprint or user id) of the keyring
//! `GNUPGHOME` points at, without a passphrase or with an agent that has it.
//! Signing a repository: every RPM under it gets a signature
//! (`rpmsign --addsign`), the metadata is regenerated (the packages'
//! checksums changed), `repodata/repomd.xml.asc` is written and the public
//! key is exported beside the packages as `RPM-GPG-KEY-azldev` (what a
//! client imports with `rpm --import`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::run::{RunError, Runner};

/// Failures of signing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SignError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} failed: {source}")]
    Run {
        what: String,
        #[source]
        source: Box<RunError>,
    },
    #[error("{tool} is needed but is not installed; on Debian: apt-get install -y {package}")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("no secret key `{key}` in the GnuPG keyring{}", home.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    #[diagnostic(help("list the keys with `gpg --list-secret-keys`; set GNUPGHOME for another keyring"))]
    NoKey { key: String, home: Option<String> },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SignError {
    let what = what.into();
    move |source| SignError::Io { what, source }
}

fn run(what: &str, log: &Path, cmd: &mut Command) -> Result<crate::run::Output, SignError> {
    Runner::new()
        .log(log)
        .capture_stdout()
        .timeout(Duration::from_secs(900))
        .run(cmd)
        .map_err(|e| SignError::Run {
            what: what.to_owned(),
            source: Box::new(e),
        })
}

/// What signing a repository did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SignReport {
    /// RPMs that had no signature before.
    pub signed: usize,
    /// RPMs that were already signed (signed again only if by another key).
    pub already: usize,
    pub signature: PathBuf,
    pub public_key: PathBuf,
}

fn check_tools() -> Result<(), SignError> {
    for (tool, package) in [
        ("rpmsign", "rpm"),
        ("gpg", "gnupg"),
        ("createrepo_c", "createrepo-c"),
    ] {
        if !crate::run::have(tool) {
            return Err(SignError::MissingTool { tool, package });
        }
    }
    Ok(())
}

/// Whether an RPM carries an OpenPGP signature.
fn is_signed(rpm: &Path, log: &Path) -> Result<bool, SignError> {
    let out = run(
        "reading a package's signature",
        log,
        Command::new("rpm")
            .args([
                "-qp",
                "--nosignature",
                "--nodigest",
                "--qf",
                "%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}\\n",
            ])
            .arg(rpm),
    )?;
    Ok(out
        .stdout_str()
        .trim()
        .split('|')
        .any(|s| !s.is_empty() && s != "(none)"))
}

fn rpms(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SignError> {
    for e in fs::read_dir(dir).map_err(io_err(format!("read {}", dir.display())))? {
        let e = e.map_err(io_err(format!("read {}", dir.display())))?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "repodata" {
            continue;
        }
        if p.is_dir() {
            rpms(&p, out)?;
        } else if name.ends_with(".rpm") {
            out.push(p);
        }
    }
    Ok(())
}

/// Replaces a hard-linked file by a copy of its own (same bytes and mode).
fn unshare(path: &Path) -> Result<(), SignError> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).map_err(io_err(format!("stat {}", path.display())))?;
    if m.nlink() < 2 {
        return Ok(());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.azldev-unshare"));
    fs::copy(path, &tmp).map_err(io_err(format!("copy {}", path.display())))?;
    fs::rename(&tmp, path).map_err(io_err(format!("replace {}", path.display())))?;
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Signs every RPM of `repo` with `key`, regenerates its metadata and
/// signs `repomd.xml`.
pub fn sign_repo(repo: &Path, key: &str, log: &Path) -> Result<SignReport, SignError> {
    check_tools()?;
    if let Some(p) = log.parent() {
        fs::create_dir_all(p).map_err(io_err(format!("create {}", p.display())))?;
    }
    let _ = fs::remove_file(log);
    if Runner::new()
        .log(log)
        .capture_stdout()
        .run(Command::new("gpg").args(["--batch", "--list-secret-keys", key]))
        .is_err()
    {
        return Err(SignError::NoKey {
            key: key.to_owned(),
            home: std::env::var("GNUPGHOME").ok(),
        });
    }
    // Publishing and signing the repository in turn with builds.
    let lock = fs::File::create(repo.join(".azldev-publish.lock")).map_err(io_err("lock the repository"))?;
    lock.lock().map_err(io_err("lock the repository"))?;
    let mut all = Vec::new();
    rpms(repo, &mut all)?;
    all.sort();
    let mut signed = 0;
    let mut already = 0;
    for r in &all {
        if is_signed(r, log)? {
            already += 1;
        } else {
            signed += 1;
        }
    }
    // rpmsign rewrites a package in place, and the build publishes packages
    // as hard links into its cache: give each its own copy first, so signing
    // the repository never touches the build cache.
    for r in &all {
        unshare(r)?;
    }
    // rpm's `%__gpg` may name a gpg2 that does not exist (Debian): use
    // the gpg on PATH.
    let gpg = which("gpg").unwrap_or_else(|| PathBuf::from("/usr/bin/gpg"));
    for chunk in all.chunks(64) {
        run(
            "rpmsign --addsign",
            log,
            Command::new("rpmsign")
                .arg("--addsign")
                .arg("--define")
                .arg(format!("_gpg_name {key}"))
                .arg("--define")
                .arg(format!("__gpg {}", gpg.display()))
                .arg("--define")
                .arg("_gpg_sign_cmd_extra_args --batch")
                .args(chunk),
        )?;
    }
    let stale = repo.join(".repodata");
    if stale.exists() {
        fs::remove_dir_all(&stale).map_err(io_err(format!("remove {}", stale.display())))?;
    }
    run(
        "createrepo_c",
        log,
        Command::new("createrepo_c")
            .args(["--quiet", "--no-database", "--excludes", ".azldev-publish.lock"])
            .arg(repo),
    )?;
    let repomd = repo.join("repodata/repomd.xml");
    let signature = repo.join("repodata/repomd.xml.asc");
    let tmp = repo.join("repodata/.repomd.xml.asc.tmp");
    let _ = fs::remove_file(&tmp);
    run(
        "gpg --detach-sign",
        log,
        Command::new("gpg")
            .args([
                "--batch",
                "--yes",
                "--armor",
                "--detach-sign",
                "--local-user",
                key,
                "--output",
            ])
            .arg(&tmp)
            .arg(&repomd),
    )?;
    fs::rename(&tmp, &signature).map_err(io_err(format!("write {}", signature.display())))?;
    let exported = run(
        "gpg --export",
        log,
        Command::new("gpg").args(["--batch", "--armor", "--export", key]),
    )?;
    let public_key = repo.join("RPM-GPG-KEY-azldev");
    let tmp = repo.join(".RPM-GPG-KEY-azldev.tmp");
    fs::write(&tmp, &exported.stdout).map_err(io_err("write the public key"))?;
    fs::rename(&tmp, &public_key).map_err(io_err("write the public key"))?;
    Ok(SignReport {
        signed,
        already,
        signature,
        public_key,
    })
}
