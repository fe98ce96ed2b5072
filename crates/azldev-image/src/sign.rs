//! Signing: RPMs with rpmsign and repository metadata with a detached armored signature.
//!
//! The key is a GnuPG key (id, fingerprint or user id) of the keyring
//! `GNUPGHOME` points at, without a passphrase or with an agent that has it
//! ([`Key::Keyring`]), or an armored secret key file without a passphrase
//! ([`Key::File`]: imported into a throwaway keyring for the run, whose
//! agent is stopped and whose directory is removed afterwards).
//! Signing a repository: every RPM under it gets a signature
//! (`rpmsign --addsign`), the metadata is regenerated (the packages'
//! checksums changed), `repodata/repomd.xml.asc` is written and the public
//! key is exported beside the packages as `RPM-GPG-KEY-azldev` (what a
//! client imports with `rpm --import`).
//!
//! Signing is reproducible: the same RPMs signed with the same key give the
//! same bytes. An OpenPGP signature's only varying part is its creation time
//! (RSA PKCS#1 v1.5 and EdDSA signatures are a function of the key, the data
//! and the hashed subpackets; ECDSA and DSA draw a random nonce and are not),
//! so gpg runs with its clock frozen (`--faked-system-time T!`, through
//! rpm's `%_gpg_sign_cmd_extra_args`) at:
//! - for an RPM, `SOURCE_DATE_EPOCH` when given, else the RPM's own build
//!   time;
//! - for `repomd.xml`, `SOURCE_DATE_EPOCH` when given, else the newest
//!   RPM's time, which is also the metadata's revision and every timestamp
//!   in it (`createrepo_c --set-timestamp-to-revision`), and every RPM's
//!   file time is set to its signing time (createrepo_c records it);
//!
//! each raised to the signing key's creation time when older (a signature
//! older than its key is refused by gpg and by rpm's verifiers).

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
    #[error("{what}: unexpected output: {text}")]
    Output { what: String, text: String },
    #[error("no secret key `{key}` in the GnuPG keyring{}", home.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    #[diagnostic(help("list the keys with `gpg --list-secret-keys`; set GNUPGHOME for another keyring"))]
    NoKey { key: String, home: Option<String> },
    #[error("{path}: no OpenPGP secret key in it")]
    #[diagnostic(help("export one without a passphrase: gpg --armor --export-secret-keys KEY > FILE"))]
    NoKeyInFile { path: String },
}

/// Which key signs.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// Key id, fingerprint or user id of the keyring `GNUPGHOME` names.
    Keyring(&'a str),
    /// An armored (or binary) OpenPGP secret key file without a passphrase.
    File(&'a Path),
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
    /// The creation time of `repomd.xml`'s signature (seconds since 1970),
    /// also the metadata's revision.
    pub time: i64,
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

/// The build time of each RPM, in order.
fn build_times(rpms: &[PathBuf], log: &Path) -> Result<Vec<i64>, SignError> {
    let mut times = Vec::with_capacity(rpms.len());
    for chunk in rpms.chunks(256) {
        let out = run(
            "reading the packages' build times",
            log,
            Command::new("rpm")
                .args(["-qp", "--nosignature", "--nodigest", "--qf", "%{BUILDTIME}\\n"])
                .args(chunk),
        )?;
        let text = out.stdout_str();
        let got: Vec<i64> = text
            .lines()
            .map(|l| l.trim().parse::<i64>().unwrap_or(0))
            .collect();
        if got.len() != chunk.len() {
            return Err(SignError::Output {
                what: "rpm -qp --qf %{BUILDTIME}".into(),
                text: crate::run::tail(text.as_bytes()),
            });
        }
        times.extend(got);
    }
    Ok(times)
}

/// The newest creation time of the signing-capable keys `key` names
/// (`gpg --with-colons`: field 6 is the creation time, field 12 the
/// capabilities; a lowercase `s` is a key that signs).
pub fn key_created(colons: &str) -> Option<i64> {
    let keys: Vec<(i64, bool)> = colons
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if !matches!(f.first(), Some(&("sec" | "ssb" | "pub" | "sub"))) {
                return None;
            }
            let created = f.get(5)?.parse::<i64>().ok()?;
            let signs = f.get(11).is_some_and(|c| c.contains('s'));
            Some((created, signs))
        })
        .collect();
    let signing = keys.iter().filter(|(_, s)| *s).map(|(t, _)| *t).max();
    signing.or_else(|| keys.iter().map(|(t, _)| *t).max())
}

/// When a signature over something of time `own` is made.
pub fn signing_time(own: i64, source_date_epoch: Option<i64>, key_created: i64) -> i64 {
    source_date_epoch.unwrap_or(own).max(key_created)
}

fn set_mtime(path: &Path, secs: i64) -> Result<(), SignError> {
    let t = if secs >= 0 {
        std::time::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        std::time::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(t))
        .map_err(io_err(format!("set the time of {}", path.display())))
}

/// gpg's frozen clock.
fn faked_time(t: i64) -> String {
    format!("--faked-system-time={t}!")
}

/// Signs every RPM of `repo` with `key` (of the keyring `GNUPGHOME`
/// names), regenerates its metadata and signs `repomd.xml`, reproducibly
/// (see the module's documentation): `source_date_epoch` is
/// `SOURCE_DATE_EPOCH` when set.
pub fn sign_repo(
    repo: &Path,
    key: &str,
    log: &Path,
    source_date_epoch: Option<i64>,
) -> Result<SignReport, SignError> {
    sign_repo_with(repo, Key::Keyring(key), log, source_date_epoch)
}

/// [`sign_repo`] with a key of the keyring or from a key file.
pub fn sign_repo_with(
    repo: &Path,
    key: Key<'_>,
    log: &Path,
    source_date_epoch: Option<i64>,
) -> Result<SignReport, SignError> {
    check_tools()?;
    if let Some(p) = log.parent() {
        fs::create_dir_all(p).map_err(io_err(format!("create {}", p.display())))?;
    }
    let _ = fs::remove_file(log);
    match key {
        Key::Keyring(k) => sign_in(repo, k, None, log, source_date_epoch),
        Key::File(file) => {
            let home = Keyring::import(file, log)?;
            let res = sign_in(
                repo,
                &home.fingerprint,
                Some(home.dir.path()),
                log,
                source_date_epoch,
            );
            home.close(log);
            res
        }
    }
}

/// A throwaway GnuPG home holding one imported secret key.
struct Keyring {
    dir: tempfile::TempDir,
    fingerprint: String,
}

impl Keyring {
    fn import(file: &Path, log: &Path) -> Result<Keyring, SignError> {
        // In the system's temporary directory: gpg-agent's socket path must
        // stay short.
        let dir = tempfile::Builder::new()
            .prefix("azldev-gnupg-")
            .tempdir()
            .map_err(io_err("create a temporary GnuPG home"))?;
        let home = Keyring {
            dir,
            fingerprint: String::new(),
        };
        let gpg = |args: &[&str]| {
            let mut c = Command::new("gpg");
            c.env("GNUPGHOME", home.dir.path()).arg("--batch").args(args);
            c
        };
        let imported = run(
            "gpg --import (the signing key file)",
            log,
            gpg(&["--import"]).arg(file),
        );
        let listed = imported.and_then(|_| {
            run(
                "gpg --list-secret-keys",
                log,
                &mut gpg(&["--with-colons", "--list-secret-keys"]),
            )
        });
        let fingerprint = match listed {
            Ok(out) => primary_fingerprint(&out.stdout_str()),
            Err(e) => {
                home.close(log);
                return Err(e);
            }
        };
        match fingerprint {
            Some(fingerprint) => Ok(Keyring { fingerprint, ..home }),
            None => {
                home.close(log);
                Err(SignError::NoKeyInFile {
                    path: file.display().to_string(),
                })
            }
        }
    }

    /// Stops the home's gpg-agent (gpg started one to sign) and removes it.
    fn close(self, log: &Path) {
        let _ = Runner::new().log(log).run(
            Command::new("gpgconf")
                .env("GNUPGHOME", self.dir.path())
                .args(["--kill", "gpg-agent"]),
        );
        drop(self.dir);
    }
}

/// The fingerprint of the first secret primary key of a
/// `gpg --with-colons --list-secret-keys` listing.
fn primary_fingerprint(colons: &str) -> Option<String> {
    let mut in_sec = false;
    for l in colons.lines() {
        let f: Vec<&str> = l.split(':').collect();
        match f.first() {
            Some(&"sec") => in_sec = true,
            Some(&"fpr") if in_sec => return f.get(9).filter(|s| !s.is_empty()).map(|s| (*s).to_owned()),
            Some(&("ssb" | "sub" | "pub")) => in_sec = false,
            _ => {}
        }
    }
    None
}

fn sign_in(
    repo: &Path,
    key: &str,
    home: Option<&Path>,
    log: &Path,
    source_date_epoch: Option<i64>,
) -> Result<SignReport, SignError> {
    let with_home = |mut c: Command| {
        if let Some(h) = home {
            c.env("GNUPGHOME", h);
        }
        c
    };
    let listed = Runner::new()
        .log(log)
        .capture_stdout()
        .run(with_home(Command::new("gpg")).args(["--batch", "--with-colons", "--list-secret-keys", key]));
    let no_key = || SignError::NoKey {
        key: key.to_owned(),
        home: home
            .map(|h| h.display().to_string())
            .or_else(|| std::env::var("GNUPGHOME").ok()),
    };
    let created = match listed {
        Ok(out) => key_created(&out.stdout_str()).ok_or_else(no_key)?,
        Err(_) => return Err(no_key()),
    };
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
    let times: Vec<i64> = build_times(&all, log)?
        .into_iter()
        .map(|t| signing_time(t, source_date_epoch, created))
        .collect();
    // One rpmsign per signing time (gpg's clock is frozen per run).
    let mut by_time: std::collections::BTreeMap<i64, Vec<&PathBuf>> = std::collections::BTreeMap::new();
    for (r, t) in all.iter().zip(&times) {
        by_time.entry(*t).or_default().push(r);
    }
    for (t, rpms) in &by_time {
        for chunk in rpms.chunks(64) {
            run(
                "rpmsign --addsign",
                log,
                with_home(Command::new("rpmsign"))
                    .arg("--addsign")
                    .arg("--define")
                    .arg(format!("_gpg_name {key}"))
                    .arg("--define")
                    .arg(format!("__gpg {}", gpg.display()))
                    .arg("--define")
                    .arg(format!("_gpg_sign_cmd_extra_args --batch {}", faked_time(*t)))
                    .args(chunk.iter().copied()),
            )?;
        }
    }
    // createrepo_c records each file's time.
    for (r, t) in all.iter().zip(&times) {
        set_mtime(r, *t)?;
    }
    let repo_time = times
        .iter()
        .copied()
        .max()
        .unwrap_or_else(|| signing_time(0, source_date_epoch, created));
    let stale = repo.join(".repodata");
    if stale.exists() {
        fs::remove_dir_all(&stale).map_err(io_err(format!("remove {}", stale.display())))?;
    }
    run(
        "createrepo_c",
        log,
        Command::new("createrepo_c")
            .args(["--quiet", "--no-database", "--excludes", ".azldev-publish.lock"])
            .arg("--revision")
            .arg(repo_time.to_string())
            .arg("--set-timestamp-to-revision")
            .arg(repo),
    )?;
    let repomd = repo.join("repodata/repomd.xml");
    let signature = repo.join("repodata/repomd.xml.asc");
    let tmp = repo.join("repodata/.repomd.xml.asc.tmp");
    let _ = fs::remove_file(&tmp);
    run(
        "gpg --detach-sign",
        log,
        with_home(Command::new("gpg"))
            .args([
                "--batch",
                "--yes",
                "--armor",
                &faked_time(repo_time),
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
        with_home(Command::new("gpg")).args(["--batch", "--armor", "--export", key]),
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
        time: repo_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_signing_key_s_creation_time() {
        let colons = "sec:u:2048:1:AAAA:1700000000:::u:::scESC:::+:::23::0:\n\
                      fpr:::::::::ABCD:\n\
                      uid:u::::1700000000::HASH::Demo <d@x>::::::::::0:\n\
                      ssb:u:2048:1:BBBB:1700000500::::::e:::+:::23:\n\
                      ssb:u:255:22:CCCC:1700000100::::::s:::+:::ed25519:\n";
        assert_eq!(key_created(colons), Some(1_700_000_100));
        assert_eq!(
            key_created("sec:u:2048:1:AAAA:1600000000::::::::\n"),
            Some(1_600_000_000)
        );
        assert_eq!(key_created("uid:u::::1::x\n"), None);
    }

    #[test]
    fn the_primary_secret_key_s_fingerprint() {
        let colons = "sec:u:2048:1:AAAA:1700000000:::u:::scESC:::+:::23::0:\n\
                      fpr:::::::::ABCDEF0123:\n\
                      grp:::::::::1111:\n\
                      uid:u::::1700000000::HASH::Demo <d@x>::::::::::0:\n\
                      ssb:u:2048:1:BBBB:1700000500::::::e:::+:::23:\n\
                      fpr:::::::::SUBKEY:\n";
        assert_eq!(primary_fingerprint(colons).as_deref(), Some("ABCDEF0123"));
        // A subkey's fingerprint alone is not a primary key's.
        assert_eq!(
            primary_fingerprint("ssb:u:1:1:B:1::::::s:\nfpr:::::::::SUB:\n"),
            None
        );
        assert_eq!(primary_fingerprint(""), None);
    }

    #[test]
    fn signing_time_is_the_epoch_or_own_time_never_before_the_key() {
        assert_eq!(signing_time(100, None, 50), 100);
        assert_eq!(signing_time(100, Some(70), 50), 70);
        assert_eq!(signing_time(100, Some(10), 50), 50);
        assert_eq!(signing_time(10, None, 50), 50);
    }
}
