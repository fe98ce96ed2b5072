//! One `.deb` → one real RPM: the payload with /bin, /sbin and /lib moved
//! under /usr, ownership and modes kept, Depends/Pre-Depends as Requires,
//! Debian Provides plus rpm's own automatic provides (sonames from elfdeps),
//! conffiles as `%config(noreplace)`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::SeedError;
use super::deb::{Control, Evr, relations_to_rpm};
use crate::arch::Arch;
use crate::run::Runner;

/// Bumped whenever the conversion changes what it produces (cache key).
pub const CONVERTER_VERSION: u32 = 2;

/// The package every converted package requires before its files land
/// (it holds /etc/passwd and /etc/group, which ownership needs).
pub const FILESYSTEM: &str = "filesystem";

/// One payload entry after the usrmerge move.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub mtime: u64,
    pub kind: Kind,
    pub mode: u32,
    pub user: String,
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink(String),
    Hardlink(String),
}

/// What a converted package is, for the seed's own bookkeeping.
#[derive(Debug, Clone)]
pub struct Converted {
    pub name: String,
    /// Debian's `Essential: yes`: other packages depend on it implicitly.
    pub essential: bool,
    pub rpm: PathBuf,
    /// Every path the package owns (after the move), for the filesystem package.
    pub paths: BTreeSet<String>,
}

/// `./bin/x` → `/usr/bin/x`; returns the new path and whether it moved.
pub fn usrmerge(path: &str) -> Option<(String, bool)> {
    let p = path
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    if p.is_empty() || p == "." {
        return None;
    }
    for top in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
        if p == top || p.starts_with(&format!("{top}/")) {
            return Some((format!("/usr/{p}"), true));
        }
    }
    Some((format!("/{p}"), false))
}

/// Reads the payload's entries from `dpkg-deb --fsys-tarfile` output.
fn read_entries(tar_bytes: &[u8]) -> Result<Vec<(Entry, bool, String)>, std::io::Error> {
    let mut out = Vec::new();
    let mut ar = tar::Archive::new(tar_bytes);
    for e in ar.entries()? {
        let e = e?;
        let h = e.header();
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let Some((path, moved)) = usrmerge(&raw) else {
            continue;
        };
        let kind = match h.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink(
                e.link_name()?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            tar::EntryType::Link => {
                let l = e
                    .link_name()?
                    .map(|l| l.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Kind::Hardlink(usrmerge(&l).map(|(p, _)| p).unwrap_or(l))
            }
            _ => Kind::File,
        };
        let user = h
            .username()
            .ok()
            .flatten()
            .filter(|s| !s.is_empty())
            .unwrap_or("root")
            .to_owned();
        let group = h
            .groupname()
            .ok()
            .flatten()
            .filter(|s| !s.is_empty())
            .unwrap_or("root")
            .to_owned();
        let mtime = h.mtime()?;
        out.push((
            Entry {
                path,
                mtime,
                kind,
                mode: h.mode()? & 0o7777,
                user,
                group,
            },
            moved,
            raw,
        ));
    }
    Ok(out)
}

/// `"%attr(…) path"` quoting: `%` doubled, glob characters as bracket
/// expressions, the whole path in double quotes (spaces).
pub fn files_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len() + 2);
    s.push('"');
    for c in path.chars() {
        match c {
            '%' => s.push_str("%%"),
            '*' | '?' | '[' | '{' | '}' => {
                s.push('[');
                s.push(c);
                s.push(']');
            }
            '"' | '\\' => {
                s.push('[');
                s.push(c);
                s.push(']');
            }
            _ => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Per-package additions the seed needs beyond what the .deb says.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub provides: Vec<String>,
    /// Whole scriptlet sections appended to the spec.
    pub scriptlets: String,
    /// Add `Requires(pre): filesystem`.
    pub requires_filesystem: bool,
}

/// The extra provides and scriptlets for a few packages whose maintainer
/// scripts did something the build roots rely on.
pub fn extras_for(name: &str, arch: Arch) -> Extras {
    let mut x = Extras {
        requires_filesystem: true,
        ..Extras::default()
    };
    match name {
        // The dynamic linker: packages built in the buildroot require it.
        "libc6" => x.provides.push("rtld(GNU_HASH)".into()),
        // ldconfig's trigger: libraries installed later (into /usr/lib64,
        // rpm's %_libdir here) are found. `-p` would pass an argument.
        "libc-bin" => {
            let multiarch = match arch {
                Arch::X86_64 => "x86_64-linux-gnu",
                Arch::Aarch64 => "aarch64-linux-gnu",
            };
            let _ = write!(
                x.scriptlets,
                "\n%posttrans -p /usr/sbin/ldconfig\n\n%transfiletriggerin -- /usr/lib64 /usr/lib /usr/lib/{multiarch}\n/usr/sbin/ldconfig\n"
            );
        }
        _ => {}
    }
    x
}

/// Converts one .deb into one RPM in `out_dir`. `work` is a scratch
/// directory this call owns (removed afterwards by the caller).
pub fn convert(
    deb: &Path,
    arch: Arch,
    work: &Path,
    out_dir: &Path,
    log: &Path,
) -> Result<Converted, SeedError> {
    let io = |what: &str, e: std::io::Error| SeedError::Io {
        what: format!("{what} ({})", deb.display()),
        source: e,
    };
    let ctrl_dir = work.join("control");
    let br = work.join("root");
    let top = work.join("top");
    for d in [&ctrl_dir, &br, &top] {
        fs::create_dir_all(d).map_err(|e| io("create scratch directory", e))?;
    }
    let runner = Runner::new().log(log);
    runner.run(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&ctrl_dir))?;
    let control =
        Control::parse(&fs::read_to_string(ctrl_dir.join("control")).map_err(|e| io("read control", e))?);
    let name = control.get("package").unwrap_or_default().to_owned();
    let version = control.get("version").unwrap_or_default().to_owned();
    if name.is_empty() || version.is_empty() {
        return Err(SeedError::BadDeb {
            deb: deb.to_owned(),
            why: "no Package or Version field".into(),
        });
    }
    let conffiles: BTreeSet<String> = fs::read_to_string(ctrl_dir.join("conffiles"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().trim_start_matches("remove-on-upgrade ").to_owned())
        .filter(|l| !l.is_empty())
        .filter_map(|l| usrmerge(&l).map(|(p, _)| p))
        .collect();

    let payload = runner
        .clone()
        .capture_stdout()
        .run(Command::new("dpkg-deb").arg("--fsys-tarfile").arg(deb))?;
    let entries = read_entries(&payload.stdout).map_err(|e| io("read payload", e))?;
    // Reproducible RPMs: build time and clamped mtimes from the payload itself.
    let source_date_epoch = entries.iter().map(|(e, _, _)| e.mtime).max().unwrap_or(0);

    // Resolve collisions the move creates (a package shipping both /bin/x
    // and /usr/bin/x): the entry already under /usr wins.
    let mut chosen: BTreeMap<String, (Entry, bool)> = BTreeMap::new();
    for (entry, moved, _) in entries {
        match chosen.get(&entry.path) {
            Some((prev, prev_moved)) if prev.kind == Kind::Dir || (!*prev_moved && moved) => continue,
            _ => {
                chosen.insert(entry.path.clone(), (entry, moved));
            }
        }
    }
    // Unpack into the build root, in tar order is not needed: directories
    // first (sorted paths put parents before children), then the rest.
    let mut ar = tar::Archive::new(&payload.stdout[..]);
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for e in ar.entries().map_err(|e| io("read payload", e))? {
        let mut e = e.map_err(|e| io("read payload", e))?;
        if e.header().entry_type() != tar::EntryType::Regular
            && e.header().entry_type() != tar::EntryType::Continuous
        {
            continue;
        }
        let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let Some((path, moved)) = usrmerge(&raw) else {
            continue;
        };
        if chosen
            .get(&path)
            .is_some_and(|(c, m)| *m == moved && c.kind == Kind::File)
        {
            let mut buf = Vec::with_capacity(usize::try_from(e.size()).unwrap_or(0));
            std::io::Read::read_to_end(&mut e, &mut buf).map_err(|e| io("read payload", e))?;
            data.insert(path, buf);
        }
    }
    for (path, (entry, _)) in &chosen {
        let dst = br.join(path.trim_start_matches('/'));
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(|e| io("unpack", e))?;
        }
        match &entry.kind {
            Kind::Dir => fs::create_dir_all(&dst).map_err(|e| io("unpack", e))?,
            Kind::File => {
                fs::write(&dst, data.get(path).map_or(&[][..], Vec::as_slice))
                    .map_err(|e| io("unpack", e))?;
            }
            Kind::Symlink(target) => std::os::unix::fs::symlink(target, &dst).map_err(|e| io("unpack", e))?,
            Kind::Hardlink(_) => {}
        }
    }
    for (path, (entry, _)) in &chosen {
        if let Kind::Hardlink(target) = &entry.kind {
            let dst = br.join(path.trim_start_matches('/'));
            let src = br.join(target.trim_start_matches('/'));
            fs::hard_link(&src, &dst)
                .or_else(|_| fs::copy(&src, &dst).map(|_| ()))
                .map_err(|e| io("unpack", e))?;
        }
    }
    for (path, (entry, _)) in chosen.iter().rev() {
        if matches!(entry.kind, Kind::Dir | Kind::File) {
            use std::os::unix::fs::PermissionsExt;
            let dst = br.join(path.trim_start_matches('/'));
            // Modes are recorded by %attr; on disk keep them readable for rpmbuild.
            fs::set_permissions(&dst, fs::Permissions::from_mode((entry.mode & 0o777) | 0o600))
                .map_err(|e| io("unpack", e))?;
        }
    }

    let evr = Evr::from_debian(&version);
    let extras = extras_for(&name, arch);
    let noarch = control.get("architecture") == Some("all");
    let description = control.get("description").unwrap_or(&name).to_owned();
    let summary = description.lines().next().unwrap_or(&name).replace('%', "%%");
    let mut spec = String::new();
    let _ = writeln!(spec, "Name: {name}");
    if let Some(e) = &evr.epoch {
        let _ = writeln!(spec, "Epoch: {e}");
    }
    let _ = writeln!(spec, "Version: {}", evr.version);
    let _ = writeln!(spec, "Release: {}", evr.release);
    let _ = writeln!(spec, "Summary: {summary}");
    let _ = writeln!(spec, "License: Debian (see /usr/share/doc/{name}/copyright)");
    let _ = writeln!(spec, "URL: https://packages.debian.org/{name}");
    if noarch {
        let _ = writeln!(spec, "BuildArch: noarch");
    }
    let _ = writeln!(spec, "AutoReq: no\nAutoProv: yes");
    let provides: Vec<String> = control.get("provides").map(relations_to_rpm).unwrap_or_default();
    for p in provides.iter().chain(&extras.provides) {
        let _ = writeln!(spec, "Provides: {p}");
    }
    for (path, (entry, moved)) in &chosen {
        if *moved
            && entry.kind != Kind::Dir
            && (path.starts_with("/usr/bin/") || path.starts_with("/usr/sbin/"))
        {
            let old = path.trim_start_matches("/usr");
            let _ = writeln!(spec, "Provides: {old}");
        }
    }
    if extras.requires_filesystem && name != FILESYSTEM {
        let _ = writeln!(spec, "Requires(pre): {FILESYSTEM}");
    }
    for r in control
        .get("pre-depends")
        .map(relations_to_rpm)
        .unwrap_or_default()
    {
        let _ = writeln!(spec, "Requires(pre): {r}");
    }
    for r in control.get("depends").map(relations_to_rpm).unwrap_or_default() {
        let _ = writeln!(spec, "Requires: {r}");
    }
    let _ = writeln!(spec, "\n%description\n{}\n", description.replace('%', "%%"));
    spec.push_str(&extras.scriptlets);
    spec.push_str("\n%files\n");
    for (path, (entry, _)) in &chosen {
        let p = files_path(path);
        let (u, g) = (&entry.user, &entry.group);
        match entry.kind {
            Kind::Dir => {
                let _ = writeln!(spec, "%dir %attr({:04o},{u},{g}) {p}", entry.mode);
            }
            Kind::Symlink(_) => {
                let _ = writeln!(spec, "%attr(-,{u},{g}) {p}");
            }
            Kind::File => {
                let cfg = if conffiles.contains(path) {
                    "%config(noreplace) "
                } else {
                    ""
                };
                let _ = writeln!(spec, "{cfg}%attr({:04o},{u},{g}) {p}", entry.mode);
            }
            Kind::Hardlink(_) => {
                let cfg = if conffiles.contains(path) {
                    "%config(noreplace) "
                } else {
                    ""
                };
                let _ = writeln!(spec, "{cfg}%attr(-,{u},{g}) {p}");
            }
        }
    }
    let spec_path = work.join(format!("{name}.spec"));
    fs::write(&spec_path, &spec).map_err(|e| io("write spec", e))?;
    let rpm = rpmbuild_bb(&spec_path, &br, &top, arch, out_dir, source_date_epoch, log)?;
    let essential = control.get("essential") == Some("yes");
    Ok(Converted {
        name,
        essential,
        rpm,
        paths: chosen.keys().cloned().collect(),
    })
}

/// `rpmbuild -bb` of a prepared build root, reproducibly; returns the RPM.
pub fn rpmbuild_bb(
    spec: &Path,
    buildroot: &Path,
    top: &Path,
    arch: Arch,
    out_dir: &Path,
    source_date_epoch: u64,
    log: &Path,
) -> Result<PathBuf, SeedError> {
    let rpmdir = top.join("RPMS");
    let mut cmd = Command::new("rpmbuild");
    cmd.arg("-bb")
        .arg("--target")
        .arg(arch.rpm())
        .arg("--buildroot")
        .arg(buildroot)
        .env("HOME", top)
        .env("SOURCE_DATE_EPOCH", source_date_epoch.to_string())
        .env("LC_ALL", "C");
    for (k, v) in [
        ("_topdir", top.display().to_string()),
        ("_rpmdir", rpmdir.display().to_string()),
        ("_dbpath", top.join("rpmdb").display().to_string()),
        ("_rpmfilename", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm".into()),
        ("__os_install_post", "%{nil}".into()),
        ("debug_package", "%{nil}".into()),
        ("_build_id_links", "none".into()),
        ("_buildhost", "azldev-seed".into()),
        ("use_source_date_epoch_as_buildtime", "1".into()),
        ("clamp_mtime_to_source_date_epoch", "1".into()),
        ("_binary_payload", "w3.zstdio".into()),
        ("_source_payload", "w3.zstdio".into()),
        ("_smp_build_ncpus", "1".into()),
    ] {
        cmd.arg("--define").arg(format!("{k} {v}"));
    }
    cmd.arg(spec);
    Runner::new().log(log).run(&mut cmd)?;
    let built: Vec<PathBuf> = fs::read_dir(&rpmdir)
        .map_err(|e| SeedError::Io {
            what: format!("read {}", rpmdir.display()),
            source: e,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rpm"))
        .collect();
    let [one] = built.as_slice() else {
        return Err(SeedError::BadDeb {
            deb: spec.to_owned(),
            why: format!("rpmbuild made {} RPMs", built.len()),
        });
    };
    fs::create_dir_all(out_dir).map_err(|e| SeedError::Io {
        what: format!("create {}", out_dir.display()),
        source: e,
    })?;
    let dst = out_dir.join(one.file_name().expect("an RPM has a file name"));
    fs::rename(one, &dst)
        .or_else(|_| fs::copy(one, &dst).map(|_| ()))
        .map_err(|e| SeedError::Io {
            what: format!("move {}", one.display()),
            source: e,
        })?;
    // Repository metadata records file times: make them reproducible too.
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(source_date_epoch);
    fs::File::options()
        .write(true)
        .open(&dst)
        .and_then(|f| f.set_modified(when))
        .map_err(|e| SeedError::Io {
            what: format!("set the time of {}", dst.display()),
            source: e,
        })?;
    Ok(dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usrmerge_moves_top_level_dirs_only() {
        assert_eq!(usrmerge("./bin/bash"), Some(("/usr/bin/bash".into(), true)));
        assert_eq!(
            usrmerge("./lib/x86_64-linux-gnu/"),
            Some(("/usr/lib/x86_64-linux-gnu".into(), true))
        );
        assert_eq!(usrmerge("./usr/bin/env"), Some(("/usr/bin/env".into(), false)));
        assert_eq!(usrmerge("./library/x"), Some(("/library/x".into(), false)));
        assert_eq!(usrmerge("./"), None);
    }

    #[test]
    fn files_paths_escape_globs_and_percent() {
        assert_eq!(files_path("/usr/bin/["), "\"/usr/bin/[[]\"");
        assert_eq!(files_path("/a b/%x*"), "\"/a b/%%x[*]\"");
    }
}
