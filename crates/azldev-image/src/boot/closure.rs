//! The files a set of programs needs from the image root: each program,
//! every symbolic link on the way to it (`/bin` → `usr/bin`,
//! `/sbin/insmod` → `../bin/kmod`), its ELF interpreter and the `DT_NEEDED`
//! libraries, recursively, found the way the dynamic loader finds them
//! (`DT_RUNPATH`/`DT_RPATH` with `$ORIGIN`, the root's `/etc/ld.so.conf`,
//! then the system directories) and only inside the root; a script's `#!`
//! interpreter is a program too. Paths are confined to the root: an
//! absolute link target starts again at the root, `..` stops there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::BootError;
use super::elf;

/// One entry the closure takes from the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A regular file, copied with its mode and owner.
    File,
    /// A symbolic link, with its target as written.
    Symlink(String),
}

/// The closure being built.
#[derive(Debug)]
pub struct Closure<'r> {
    root: &'r Path,
    /// The loader's directories after the run path: ld.so.conf, then the system ones.
    lib_dirs: Vec<String>,
    /// Relative path (no leading `/`) → entry.
    pub items: BTreeMap<String, Item>,
    /// Real paths whose dependencies were added.
    done: BTreeSet<String>,
}

/// Symbolic links met on the way to a path.
type Links = Vec<(String, String)>;

const MAX_LINKS: usize = 40;

fn join(parts: &[String]) -> String {
    parts.join("/")
}

impl<'r> Closure<'r> {
    /// A closure over `root`, whose libraries live in `/usr/lib/<triplet>`
    /// (Debian's multiarch directory, e.g. `x86_64-linux-gnu`) besides the
    /// usual ones.
    pub fn new(root: &'r Path, triplet: &str) -> Closure<'r> {
        let mut lib_dirs = Vec::new();
        ld_so_conf(root, "/etc/ld.so.conf", &mut lib_dirs, 0);
        for d in [
            format!("/lib/{triplet}"),
            format!("/usr/lib/{triplet}"),
            "/lib64".to_owned(),
            "/usr/lib64".to_owned(),
            "/lib".to_owned(),
            "/usr/lib".to_owned(),
        ] {
            if !lib_dirs.contains(&d) {
                lib_dirs.push(d);
            }
        }
        Closure {
            root,
            lib_dirs,
            items: BTreeMap::new(),
            done: BTreeSet::new(),
        }
    }

    /// The real path (relative, no leading `/`) of `path` in the root and the
    /// links on the way, or `None` when it does not exist (links are followed
    /// inside the root, never on the host).
    pub fn resolve(&self, path: &str) -> Result<Option<(String, Links)>, BootError> {
        let mut todo: Vec<String> = path.split('/').rev().map(str::to_owned).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut links = Vec::new();
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    cur.pop();
                    continue;
                }
                _ => {}
            }
            cur.push(c);
            let rel = join(&cur);
            let host = self.root.join(&rel);
            let Ok(meta) = fs::symlink_metadata(&host) else {
                return Ok(None);
            };
            if meta.file_type().is_symlink() {
                if links.len() >= MAX_LINKS {
                    return Err(BootError::Unsupported {
                        what: format!(
                            "more than {MAX_LINKS} symbolic links resolving {path} in the image root"
                        ),
                    });
                }
                let target = fs::read_link(&host).map_err(|source| BootError::Io {
                    what: format!("read link {}", host.display()),
                    source,
                })?;
                let target = target.to_str().ok_or_else(|| BootError::Unsupported {
                    what: format!("a link target that is not UTF-8 ({})", host.display()),
                })?;
                links.push((rel, target.to_owned()));
                cur.pop();
                if target.starts_with('/') {
                    cur.clear();
                }
                todo.extend(target.split('/').rev().map(str::to_owned));
            }
        }
        Ok(Some((join(&cur), links)))
    }

    fn commit(&mut self, real: &str, links: Links) {
        for (l, t) in links {
            self.items.insert(l, Item::Symlink(t));
        }
        self.items.insert(real.to_owned(), Item::File);
    }

    /// Adds one file (and the links to it); returns its real relative path.
    pub fn add_file(&mut self, path: &str, needed_by: &str) -> Result<String, BootError> {
        let (real, links) = self.resolve(path)?.ok_or_else(|| BootError::NotInRoot {
            path: path.to_owned(),
            needed_by: needed_by.to_owned(),
            root: self.root.to_owned(),
        })?;
        if !self.root.join(&real).is_file() {
            return Err(BootError::Unsupported {
                what: format!("{path} (needed by {needed_by}) is not a regular file in the image root"),
            });
        }
        self.commit(&real, links);
        Ok(real)
    }

    /// Adds a program with everything it needs to run.
    pub fn add_program(&mut self, path: &str, needed_by: &str) -> Result<(), BootError> {
        let real = self.add_file(path, needed_by)?;
        self.dependencies(&real, path)
    }

    fn dependencies(&mut self, real: &str, shown: &str) -> Result<(), BootError> {
        if !self.done.insert(real.to_owned()) {
            return Ok(());
        }
        let host = self.root.join(real);
        let f = fs::File::open(&host).map_err(|source| BootError::Io {
            what: format!("open {}", host.display()),
            source,
        })?;
        let mut head = [0u8; 256];
        let n = read_head(&f, &mut head);
        let head = &head[..n];
        if head.starts_with(b"#!") {
            let line = head[2..].split(|&c| c == b'\n').next().unwrap_or_default();
            let line = String::from_utf8_lossy(line);
            if let Some(interp) = line.split_whitespace().next() {
                return self.add_program(interp, shown);
            }
            return Ok(());
        }
        if !elf::is_elf(head) {
            return Ok(());
        }
        let d = elf::dynamic(&f).map_err(|message| BootError::Elf {
            path: format!("/{real}"),
            message,
        })?;
        if let Some(i) = &d.interp {
            let ireal = self.add_file(i, shown)?;
            self.done.insert(ireal);
        }
        let origin = Path::new(real)
            .parent()
            .map_or_else(String::new, |p| p.to_string_lossy().into_owned());
        for lib in &d.needed {
            if lib.contains('/') {
                let r = self.add_file(lib, shown)?;
                self.dependencies(&r, lib)?;
                continue;
            }
            let dirs = d
                .runpath
                .iter()
                .map(|p| {
                    p.replace("$ORIGIN", &format!("/{origin}"))
                        .replace("${ORIGIN}", &format!("/{origin}"))
                })
                .chain(self.lib_dirs.iter().cloned())
                .collect::<Vec<_>>();
            let mut found = None;
            for dir in dirs {
                let cand = format!("{}/{lib}", dir.trim_end_matches('/'));
                let Some((r, links)) = self.resolve(&cand)? else {
                    continue;
                };
                if self.matches(&r, &d) {
                    found = Some((r, links));
                    break;
                }
            }
            let Some((r, links)) = found else {
                return Err(BootError::NotInRoot {
                    path: (*lib).clone(),
                    needed_by: format!("/{real}"),
                    root: self.root.to_owned(),
                });
            };
            self.commit(&r, links);
            self.dependencies(&r, lib)?;
        }
        Ok(())
    }

    /// Whether the file at `real` is an ELF library the loader would take
    /// for a program like `prog` (same class and machine).
    fn matches(&self, real: &str, prog: &elf::Dynamic) -> bool {
        let Ok(f) = fs::File::open(self.root.join(real)) else {
            return false;
        };
        let mut head = [0u8; 64];
        let n = read_head(&f, &mut head);
        n >= 20
            && elf::is_elf(&head)
            && head[4] == prog.class
            && u16::from_le_bytes([head[18], head[19]]) == prog.machine
    }
}

fn read_head(f: &fs::File, buf: &mut [u8]) -> usize {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match f.read_at(&mut buf[n..], n as u64) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

/// The directories of `/etc/ld.so.conf` (and its `include`s) in the root.
fn ld_so_conf(root: &Path, file: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(text) = fs::read_to_string(root.join(file.trim_start_matches('/'))) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some(pat) = line.strip_prefix("include") {
            for pat in pat.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_owned()
                } else {
                    format!(
                        "{}/{pat}",
                        Path::new(file)
                            .parent()
                            .map_or("/".into(), |p| p.to_string_lossy())
                    )
                };
                for f in glob1(root, &pat) {
                    ld_so_conf(root, &f, out, depth + 1);
                }
            }
        } else if line.starts_with('/') {
            for d in line.split([' ', ':', ',', '\t']).filter(|d| !d.is_empty()) {
                if !out.iter().any(|x| x == d) {
                    out.push(d.to_owned());
                }
            }
        }
    }
}

/// Files matching `dir/prefix*suffix` (one `*` in the last component), sorted.
fn glob1(root: &Path, pat: &str) -> Vec<String> {
    let (dir, name) = pat.rsplit_once('/').unwrap_or(("", pat));
    let Some((pre, suf)) = name.split_once('*') else {
        return vec![pat.to_owned()];
    };
    let mut v: Vec<String> = fs::read_dir(root.join(dir.trim_start_matches('/')))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n.starts_with(pre) && n.ends_with(suf) && n.len() >= pre.len() + suf.len())
        .map(|n| format!("{dir}/{n}"))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::super::elf::fixture;
    use super::*;
    use std::os::unix::fs::symlink;

    /// A merged-/usr root: `/lib`, `/lib64`, `/bin`, `/sbin` link into `/usr`.
    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        for dir in [
            "usr/bin",
            "usr/sbin",
            "usr/lib/x86_64-linux-gnu",
            "usr/lib64",
            "usr/lib/extra",
            "etc/ld.so.conf.d",
            "opt/app/lib",
        ] {
            fs::create_dir_all(r.join(dir)).expect("mkdir");
        }
        for (l, t) in [
            ("bin", "usr/bin"),
            ("sbin", "usr/sbin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
        ] {
            symlink(t, r.join(l)).expect("symlink");
        }
        let w = |p: &str, b: Vec<u8>| fs::write(r.join(p), b).expect("write");
        let ld = "/lib64/ld-linux-x86-64.so.2";
        w(
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            fixture::program(62, None, &[], None),
        );
        symlink(
            "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            r.join("usr/lib64/ld-linux-x86-64.so.2"),
        )
        .expect("symlink");
        w(
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            fixture::program(62, None, &[], None),
        );
        w(
            "usr/lib/x86_64-linux-gnu/libkmod.so.2.4.0",
            fixture::program(62, None, &["libc.so.6", "libzstd.so.1"], None),
        );
        symlink(
            "libkmod.so.2.4.0",
            r.join("usr/lib/x86_64-linux-gnu/libkmod.so.2"),
        )
        .expect("symlink");
        // An aarch64 libzstd first in the search path must be skipped.
        w("usr/lib64/libzstd.so.1", fixture::program(183, None, &[], None));
        w(
            "usr/lib/extra/libzstd.so.1",
            fixture::program(62, None, &["libc.so.6"], None),
        );
        w("etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n".to_vec());
        w(
            "etc/ld.so.conf.d/extra.conf",
            b"# extra\n/usr/lib/extra\n".to_vec(),
        );
        w(
            "usr/bin/kmod",
            fixture::program(62, Some(ld), &["libkmod.so.2", "libc.so.6"], None),
        );
        symlink("../bin/kmod", r.join("usr/sbin/insmod")).expect("symlink");
        // Debian's links are absolute: followed inside the root, not on the host.
        symlink("/bin/kmod", r.join("usr/sbin/modprobe")).expect("symlink");
        w(
            "opt/app/lib/libapp.so",
            fixture::program(62, None, &["libc.so.6"], None),
        );
        w(
            "opt/app/run",
            fixture::program(62, Some(ld), &["libapp.so"], Some("$ORIGIN/lib")),
        );
        w(
            "usr/bin/dash",
            fixture::program(62, Some(ld), &["libc.so.6"], None),
        );
        w("opt/app/script", b"#!/bin/sh -e\necho\n".to_vec());
        symlink("dash", r.join("usr/bin/sh")).expect("symlink");
        d
    }

    fn listing(c: &Closure<'_>) -> Vec<String> {
        c.items
            .iter()
            .map(|(p, i)| match i {
                Item::File => p.clone(),
                Item::Symlink(t) => format!("{p} -> {t}"),
            })
            .collect()
    }

    #[test]
    fn program_links_loader_and_libraries() {
        let r = root();
        let mut c = Closure::new(r.path(), "x86_64-linux-gnu");
        c.add_program("/sbin/insmod", "init").expect("closure");
        assert_eq!(
            listing(&c),
            [
                "lib -> usr/lib",
                "lib64 -> usr/lib64",
                "sbin -> usr/sbin",
                "usr/bin/kmod",
                "usr/lib/extra/libzstd.so.1",
                "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                "usr/lib/x86_64-linux-gnu/libc.so.6",
                "usr/lib/x86_64-linux-gnu/libkmod.so.2 -> libkmod.so.2.4.0",
                "usr/lib/x86_64-linux-gnu/libkmod.so.2.4.0",
                "usr/lib64/ld-linux-x86-64.so.2 -> ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                "usr/sbin/insmod -> ../bin/kmod",
            ]
        );
    }

    #[test]
    fn origin_run_paths_and_script_interpreters() {
        let r = root();
        let mut c = Closure::new(r.path(), "x86_64-linux-gnu");
        c.add_program("/opt/app/run", "init").expect("closure");
        assert!(c.items.contains_key("opt/app/lib/libapp.so"), "{:?}", listing(&c));
        c.add_program("/opt/app/script", "init").expect("closure");
        c.add_program("/sbin/modprobe", "init").expect("closure");
        assert_eq!(
            c.items.get("usr/sbin/modprobe"),
            Some(&Item::Symlink("/bin/kmod".into()))
        );
        assert_eq!(c.items.get("usr/bin/kmod"), Some(&Item::File));
        assert_eq!(c.items.get("bin"), Some(&Item::Symlink("usr/bin".into())));
        assert_eq!(c.items.get("usr/bin/sh"), Some(&Item::Symlink("dash".into())));
        assert_eq!(c.items.get("usr/bin/dash"), Some(&Item::File));
    }

    #[test]
    fn missing_programs_and_libraries_are_named() {
        let r = root();
        let mut c = Closure::new(r.path(), "x86_64-linux-gnu");
        let e = c
            .add_program("/usr/sbin/switch_root", "the initramfs init")
            .expect_err("missing");
        assert!(e.to_string().contains("/usr/sbin/switch_root"), "{e}");
        assert!(e.to_string().contains("the initramfs init"), "{e}");
        fs::remove_file(r.path().join("usr/lib/extra/libzstd.so.1")).expect("rm");
        let e = c.add_program("/usr/bin/kmod", "init").expect_err("no libzstd");
        assert!(e.to_string().contains("libzstd.so.1"), "{e}");
        assert!(e.to_string().contains("libkmod.so.2.4.0"), "{e}");
    }

    #[test]
    fn links_cannot_leave_the_root_and_loops_stop() {
        let r = root();
        symlink("../../../../etc/passwd", r.path().join("usr/bin/escape")).expect("symlink");
        symlink("loop2", r.path().join("usr/bin/loop1")).expect("symlink");
        symlink("loop1", r.path().join("usr/bin/loop2")).expect("symlink");
        let c = Closure::new(r.path(), "x86_64-linux-gnu");
        // `..` stops at the root: the root's own /etc/passwd (absent here).
        assert_eq!(c.resolve("/usr/bin/escape").expect("resolved"), None);
        assert!(c.resolve("/usr/bin/loop1").is_err());
    }

    #[test]
    fn the_hosts_shell_closure() {
        // A real program and its real libraries: the host's /bin/sh inside a
        // root that is the host itself.
        let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
        let mut c = Closure::new(Path::new("/"), &triplet);
        c.add_program("/bin/sh", "test").expect("closure");
        let files: Vec<&String> = c
            .items
            .iter()
            .filter(|(_, i)| **i == Item::File)
            .map(|(p, _)| p)
            .collect();
        assert!(files.iter().any(|p| p.contains("libc.so")), "{files:?}");
        assert!(files.iter().any(|p| p.contains("ld-linux")), "{files:?}");
    }
}
