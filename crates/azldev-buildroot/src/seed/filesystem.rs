//! The seed's `filesystem` package: what Debian's maintainer scripts and
//! installer would have created and an RPM root needs — the usrmerge links,
//! the base directories, /etc/passwd and /etc/group from base-passwd's
//! masters, the alternatives links (from a fixed table, only those whose
//! target the seed ships), rpm's database path and the ld.so entry for
//! /usr/lib64 (Debian's rpm sets `%_libdir` to it, which neither gcc nor
//! ld.so search by default).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::convert::{FILESYSTEM, files_path, rpmbuild_bb};
use super::{RemoveOnDrop, SeedError, hex, io_err};
use crate::arch::Arch;

/// Bumped when the package's content rules change (cache and seed keys).
pub const VERSION: u32 = 5;

/// Fixed build time of the package (reproducible bytes).
const SOURCE_DATE_EPOCH: u64 = 1_700_000_000;

/// `update-alternatives` links Debian's postinst scripts create: link →
/// candidate targets, first present wins.
const ALTERNATIVES: &[(&str, &[&str])] = &[
    ("/usr/bin/cc", &["/usr/bin/gcc"]),
    ("/usr/bin/c++", &["/usr/bin/g++"]),
    ("/usr/bin/c89", &["/usr/bin/c89-gcc"]),
    ("/usr/bin/c99", &["/usr/bin/c99-gcc"]),
    ("/usr/bin/awk", &["/usr/bin/gawk", "/usr/bin/mawk"]),
    ("/usr/bin/nawk", &["/usr/bin/gawk", "/usr/bin/mawk"]),
    ("/usr/bin/which", &["/usr/bin/which.debianutils"]),
    ("/usr/bin/pager", &["/usr/bin/less", "/usr/bin/more"]),
    ("/usr/bin/lzma", &["/usr/bin/xz"]),
    ("/usr/bin/unlzma", &["/usr/bin/unxz"]),
    ("/usr/bin/lzcat", &["/usr/bin/xzcat"]),
    ("/usr/bin/rmt", &["/usr/sbin/rmt-tar"]),
    ("/usr/bin/yacc", &["/usr/bin/bison.yacc"]),
    ("/usr/bin/lex", &["/usr/bin/flex"]),
];

/// The account databases to install.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub passwd: String,
    pub group: String,
}

impl Accounts {
    /// Root only, when the seed has no base-passwd.
    pub fn fallback() -> Accounts {
        Accounts {
            passwd: "root:x:0:0:root:/root:/bin/sh\n".into(),
            group: "root:x:0:\n".into(),
        }
    }
}

/// Builds (or reuses) the filesystem RPM for this package set.
pub fn build_cached(
    arch: Arch,
    seed_paths: &BTreeSet<String>,
    essential: &[String],
    accounts: &Accounts,
    rpm_cache: &Path,
    log_dir: &Path,
) -> Result<(PathBuf, bool), SeedError> {
    let links: Vec<(&str, &str)> = ALTERNATIVES
        .iter()
        .filter(|(link, _)| !seed_paths.contains(*link))
        .filter_map(|(link, cands)| {
            cands
                .iter()
                .find(|c| seed_paths.contains(**c))
                .map(|t| (*link, *t))
        })
        .collect();
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("/etc/passwd".into(), accounts.passwd.clone().into_bytes()),
        ("/etc/group".into(), accounts.group.clone().into_bytes()),
        ("/etc/shadow".into(), shadow(&accounts.passwd).into_bytes()),
        (
            "/etc/rpm/macros.dbpath".into(),
            b"%_dbpath /var/lib/rpm\n".to_vec(),
        ),
        (
            "/etc/ld.so.conf.d/azldev-seed.conf".into(),
            b"/usr/lib64\n/usr/local/lib64\n".to_vec(),
        ),
    ];
    if !seed_paths.contains("/etc/hosts") {
        files.push((
            "/etc/hosts".into(),
            b"127.0.0.1 localhost\n::1 localhost\n".to_vec(),
        ));
    }
    let mut h = Sha256::new();
    h.update(format!("filesystem\0{VERSION}\0{arch}\0"));
    for p in seed_paths.iter().chain(essential) {
        h.update(p.as_bytes());
        h.update([0]);
    }
    for (l, t) in &links {
        h.update(format!("{l}\0{t}\0"));
    }
    for (p, b) in &files {
        h.update(p.as_bytes());
        h.update([0]);
        h.update(b);
        h.update([0]);
    }
    let key = hex(&h.finalize());
    let dir = rpm_cache.join(format!("filesystem-{}", &key[..32]));
    let rpm_name = format!("{FILESYSTEM}-{VERSION}-0.{arch}.rpm");
    if dir.join(&rpm_name).is_file() {
        return Ok((dir.join(rpm_name), false));
    }

    let work = rpm_cache.join(format!(".work-filesystem-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    let guard = RemoveOnDrop(work.clone());
    let br = work.join("root");
    let mk = |p: &str| {
        fs::create_dir_all(br.join(p.trim_start_matches('/'))).map_err(io_err(format!("create {p}")))
    };
    // Debian packages depend on the Essential set implicitly; everything
    // requires this package, so it pulls that set into every root.
    let requires: String = essential.iter().map(|e| format!("Requires: {e}\n")).collect();
    let mut spec = String::new();
    let _ = write!(
        spec,
        "Name: {FILESYSTEM}\nVersion: {VERSION}\nRelease: 0\nSummary: The basic directory layout of an azldev seed root\n\
         License: MIT\nAutoReq: no\nAutoProv: no\n{requires}\n%description\nThe usrmerge links, base directories, accounts, rpm \
         database path and alternatives links of a root made from the azldev toolchain seed.\n\n%files\n"
    );
    let dirs: &[(&str, &str)] = &[
        ("/usr", "0755"),
        ("/usr/bin", "0755"),
        ("/usr/sbin", "0755"),
        ("/usr/lib", "0755"),
        ("/usr/lib64", "0755"),
        ("/usr/local", "0755"),
        ("/usr/local/bin", "0755"),
        ("/usr/local/sbin", "0755"),
        ("/usr/local/lib", "0755"),
        ("/usr/local/lib64", "0755"),
        ("/usr/local/include", "0755"),
        ("/usr/local/share", "0755"),
        ("/usr/local/src", "0755"),
        ("/etc", "0755"),
        ("/etc/rpm", "0755"),
        ("/etc/ld.so.conf.d", "0755"),
        ("/var", "0755"),
        ("/var/lib", "0755"),
        ("/var/lib/rpm", "0755"),
        ("/var/tmp", "1777"),
        ("/var/mail", "0775"),
        ("/var/log", "0755"),
        ("/var/cache", "0755"),
        ("/tmp", "1777"),
        ("/root", "0700"),
        ("/home", "0755"),
        ("/proc", "0555"),
        ("/sys", "0555"),
        ("/dev", "0755"),
        ("/run", "0755"),
        ("/mnt", "0755"),
        ("/opt", "0755"),
        ("/srv", "0755"),
        ("/builddir", "0755"),
    ];
    // Debian's rpm puts %_libdir at /usr/lib64 on every arch, but only
    // x86_64's gcc searches it; on aarch64 it is the multiarch directory.
    let multiarch_lib64 = arch == Arch::Aarch64 && !seed_paths.contains("/usr/lib64");
    let mut links = links.clone();
    if multiarch_lib64 {
        links.push(("/usr/lib64", "lib/aarch64-linux-gnu"));
    }
    // Directories a seed package owns keep that package's attributes.
    for (d, mode) in dirs
        .iter()
        .filter(|(d, _)| !(seed_paths.contains(*d) || (multiarch_lib64 && *d == "/usr/lib64")))
    {
        mk(d)?;
        // Everything root-owned: rpm resolves owner names before this very
        // package's /etc/group exists.
        let _ = writeln!(spec, "%dir %attr({mode},root,root) {}", files_path(d));
    }
    for (link, target) in [
        ("/bin", "usr/bin"),
        ("/sbin", "usr/sbin"),
        ("/lib", "usr/lib"),
        ("/lib64", "usr/lib64"),
    ] {
        std::os::unix::fs::symlink(target, br.join(link.trim_start_matches('/')))
            .map_err(io_err(format!("link {link}")))?;
        let _ = writeln!(spec, "%attr(-,root,root) {}", files_path(link));
    }
    for (link, target) in &links {
        mk(Path::new(link).parent().and_then(Path::to_str).unwrap_or("/"))?;
        std::os::unix::fs::symlink(target, br.join(link.trim_start_matches('/')))
            .map_err(io_err(format!("link {link}")))?;
        let _ = writeln!(spec, "%attr(-,root,root) {}", files_path(link));
    }
    for (path, bytes) in &files {
        let dst = br.join(path.trim_start_matches('/'));
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(io_err(format!("create {}", parent.display())))?;
        }
        fs::write(&dst, bytes).map_err(io_err(format!("write {path}")))?;
        let (mode, cfg) = match path.as_str() {
            "/etc/shadow" => ("0600", "%config(noreplace) "),
            "/etc/passwd" | "/etc/group" | "/etc/hosts" => ("0644", "%config(noreplace) "),
            _ => ("0644", ""),
        };
        let _ = writeln!(spec, "{cfg}%attr({mode},root,root) {}", files_path(path));
    }
    let spec_path = work.join("filesystem.spec");
    fs::write(&spec_path, spec).map_err(io_err("write filesystem.spec"))?;
    let staged = work.join("out");
    let rpm = rpmbuild_bb(
        &spec_path,
        &br,
        &work.join("top"),
        arch,
        &staged,
        SOURCE_DATE_EPOCH,
        &log_dir.join("filesystem.log"),
    )?;
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(rpm_cache).map_err(io_err(format!("create {}", rpm_cache.display())))?;
    fs::rename(&staged, &dir).map_err(io_err(format!("store {}", dir.display())))?;
    drop(guard);
    let stored = dir.join(rpm.file_name().expect("an RPM has a file name"));
    Ok((stored, true))
}

/// A shadow file with every account locked (`*`), root included.
fn shadow(passwd: &str) -> String {
    passwd
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|n| !n.is_empty())
        .map(|n| format!("{n}:*:19000:0:99999:7:::\n"))
        .collect()
}
