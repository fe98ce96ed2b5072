//! Kernel modules of the image root without depmod: the index of
//! `usr/lib/modules/<version>/` is read from each module's `.modinfo`
//! section (`depends=`, `softdep=`, `alias=`), and `modules.builtin` says
//! what the kernel already holds. Modules may be `.ko`, `.ko.xz`, `.ko.zst`
//! or `.ko.gz`; compressed ones are decompressed here (the initramfs
//! carries plain `.ko` files, which every kernel loads).
//!
//! [`ModuleIndex::resolve`] turns wanted names (module names or aliases
//! such as `crc32c`) into a load order: every module after its `depends=`
//! and `softdep=pre:` modules, `softdep=post:` ones after it, each once.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::BootError;
use super::elf;

/// One module file's facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// Path relative to the image root (`usr/lib/modules/<v>/kernel/…/x.ko[.xz]`).
    pub path: String,
    pub depends: Vec<String>,
    pub pre: Vec<String>,
    pub post: Vec<String>,
    pub aliases: Vec<String>,
}

/// The modules of one kernel version in an image root.
#[derive(Debug, Clone, Default)]
pub struct ModuleIndex {
    /// `usr/lib/modules/<version>` (relative to the root).
    pub dir: String,
    /// Module name (`-` written `_`) → facts.
    pub modules: BTreeMap<String, Module>,
    /// Modules built into the kernel.
    pub builtin: BTreeSet<String>,
    /// Alias → module names (sorted).
    aliases: BTreeMap<String, BTreeSet<String>>,
}

/// A module name as the kernel writes it: `-` is `_`.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// The module name of a file name (`crc32c-intel.ko.xz` → `crc32c_intel`).
fn module_name(file: &str) -> Option<String> {
    [".ko", ".ko.xz", ".ko.zst", ".ko.gz"]
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .map(normalize)
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> BootError {
    move |source| BootError::Io { what, source }
}

/// The module's bytes, decompressed.
pub fn read_module(path: &Path) -> Result<Vec<u8>, BootError> {
    let name = path.to_string_lossy();
    let file = fs::File::open(path).map_err(io(format!("open {name}")))?;
    let mut out = Vec::new();
    let bad = |e: std::io::Error| BootError::Module {
        message: format!("{name}: cannot decompress: {e}"),
    };
    if name.ends_with(".xz") {
        lzma_rust2::XzReader::new(std::io::BufReader::new(file), true)
            .read_to_end(&mut out)
            .map_err(bad)?;
    } else if name.ends_with(".zst") {
        ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(file))
            .map_err(|e| BootError::Module {
                message: format!("{name}: cannot decompress: {e}"),
            })?
            .read_to_end(&mut out)
            .map_err(bad)?;
    } else if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut out)
            .map_err(bad)?;
    } else {
        std::io::BufReader::new(file)
            .read_to_end(&mut out)
            .map_err(io(format!("read {name}")))?;
    }
    Ok(out)
}

/// The `.modinfo` strings of a module file (read in place when uncompressed).
fn modinfo(path: &Path) -> Result<Vec<(String, String)>, BootError> {
    let name = path.to_string_lossy();
    let bytes = if name.ends_with(".ko") {
        let f = fs::File::open(path).map_err(io(format!("open {name}")))?;
        elf::section(&f, ".modinfo")
    } else {
        let b = read_module(path)?;
        elf::section(b.as_slice(), ".modinfo")
    }
    .map_err(|message| BootError::Elf {
        path: name.clone().into_owned(),
        message,
    })?;
    Ok(parse_modinfo(&bytes.unwrap_or_default()))
}

/// `key=value` strings separated by NULs.
pub fn parse_modinfo(b: &[u8]) -> Vec<(String, String)> {
    b.split(|&c| c == 0)
        .filter_map(|s| {
            let s = String::from_utf8_lossy(s);
            s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// A module's facts from its modinfo.
fn facts(path: String, info: &[(String, String)]) -> Module {
    let mut m = Module {
        path,
        ..Module::default()
    };
    for (k, v) in info {
        match k.as_str() {
            "depends" => m
                .depends
                .extend(v.split(',').filter(|d| !d.is_empty()).map(normalize)),
            "alias" => m.aliases.push(v.clone()),
            "softdep" => {
                let mut into_post = None;
                for w in v.split_whitespace() {
                    match w {
                        "pre:" => into_post = Some(false),
                        "post:" => into_post = Some(true),
                        _ => match into_post {
                            Some(false) => m.pre.push(w.to_owned()),
                            Some(true) => m.post.push(w.to_owned()),
                            None => {}
                        },
                    }
                }
            }
            _ => {}
        }
    }
    m
}

impl ModuleIndex {
    /// Reads `usr/lib/modules/<version>` of `root` (in parallel; only the
    /// `.modinfo` sections of uncompressed modules are read).
    pub fn read(root: &Path, version: &str) -> Result<ModuleIndex, BootError> {
        let dir = format!("usr/lib/modules/{version}");
        let base = root.join(&dir);
        if !base.is_dir() {
            return Err(BootError::Module {
                message: format!(
                    "no kernel modules for {version} in the image root ({} is missing)",
                    base.display()
                ),
            });
        }
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        let mut stack = vec![base.clone()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).map_err(io(format!("read {}", d.display())))? {
                let e = e.map_err(io(format!("read {}", d.display())))?;
                let ft = e
                    .file_type()
                    .map_err(io(format!("stat {}", e.path().display())))?;
                if ft.is_dir() {
                    stack.push(e.path());
                } else if ft.is_file()
                    && let Some(n) = e.file_name().to_str()
                    && module_name(n).is_some()
                {
                    let rel = e
                        .path()
                        .strip_prefix(root)
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    files.push((rel, e.path()));
                }
            }
        }
        files.sort();
        let parsed: Vec<Result<(String, Module), BootError>> = files
            .par_iter()
            .map(|(rel, host)| {
                let file = Path::new(rel)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let name = module_name(file).unwrap_or_default();
                Ok((name, facts(rel.clone(), &modinfo(host)?)))
            })
            .collect();
        let mut idx = ModuleIndex {
            dir,
            ..ModuleIndex::default()
        };
        for p in parsed {
            let (name, m) = p?;
            // The first path wins (sorted: `extra/`, `kernel/`, `updates/`…).
            if idx.modules.contains_key(&name) {
                continue;
            }
            for a in &m.aliases {
                idx.aliases.entry(a.clone()).or_default().insert(name.clone());
            }
            idx.modules.insert(name, m);
        }
        if let Ok(text) = fs::read_to_string(base.join("modules.builtin")) {
            for l in text.lines() {
                if let Some(n) = l.rsplit('/').next().and_then(module_name) {
                    idx.builtin.insert(n);
                }
            }
        }
        // Aliases of built-in modules (`crc32c` when it is built in).
        if let Ok(b) = fs::read(base.join("modules.builtin.modinfo")) {
            for (k, v) in parse_modinfo(&b) {
                if let Some((module, "alias")) = k.split_once('.') {
                    idx.aliases.entry(v).or_default().insert(normalize(module));
                    idx.builtin.insert(normalize(module));
                }
            }
        }
        Ok(idx)
    }

    /// The modules a name stands for: itself, or the modules with that alias.
    fn lookup(&self, name: &str) -> Vec<String> {
        let n = normalize(name);
        if self.modules.contains_key(&n) || self.builtin.contains(&n) {
            return vec![n];
        }
        self.aliases
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The load order of `wanted` (names or aliases) and everything they
    /// need; built-in modules are left out. A wanted name that is `required`
    /// and neither a module, nor built in, nor an alias is an error;
    /// optional ones (defaults that a kernel may lack) are skipped.
    pub fn resolve(&self, wanted: &[(String, bool)]) -> Result<Vec<String>, BootError> {
        let mut order = Vec::new();
        let mut state: BTreeMap<String, bool> = BTreeMap::new(); // false: visiting, true: done
        for (w, required) in wanted {
            let found = self.lookup(w);
            if found.is_empty() {
                if *required {
                    return Err(BootError::Module {
                        message: format!(
                            "kernel module `{w}` is neither in {} nor built into the kernel",
                            self.dir
                        ),
                    });
                }
                continue;
            }
            for m in found {
                self.visit(&m, &mut state, &mut order, &mut Vec::new())?;
            }
        }
        Ok(order)
    }

    fn visit(
        &self,
        name: &str,
        state: &mut BTreeMap<String, bool>,
        order: &mut Vec<String>,
        path: &mut Vec<String>,
    ) -> Result<(), BootError> {
        match state.get(name) {
            Some(true) => return Ok(()),
            Some(false) => {
                path.push(name.to_owned());
                return Err(BootError::Module {
                    message: format!(
                        "kernel modules depend on each other in a cycle: {}",
                        path.join(" → ")
                    ),
                });
            }
            None => {}
        }
        let Some(m) = self.modules.get(name) else {
            // Built in: nothing to load.
            state.insert(name.to_owned(), true);
            return Ok(());
        };
        state.insert(name.to_owned(), false);
        path.push(name.to_owned());
        for d in &m.depends {
            if !self.modules.contains_key(d) && !self.builtin.contains(d) {
                return Err(BootError::Module {
                    message: format!(
                        "kernel module `{name}` ({}) depends on `{d}`, which is not there",
                        m.path
                    ),
                });
            }
            self.visit(d, state, order, path)?;
        }
        // Soft dependencies are best effort: a missing one is skipped.
        for s in &m.pre {
            for d in self.lookup(s) {
                if state.get(&d) != Some(&false) {
                    self.visit(&d, state, order, path)?;
                }
            }
        }
        path.pop();
        state.insert(name.to_owned(), true);
        order.push(name.to_owned());
        for s in &m.post {
            for d in self.lookup(s) {
                if !state.contains_key(&d) {
                    self.visit(&d, state, order, &mut Vec::new())?;
                }
            }
        }
        Ok(())
    }

    /// The module's path relative to the root.
    pub fn path(&self, name: &str) -> Option<&str> {
        self.modules.get(name).map(|m| m.path.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::super::elf::fixture;
    use super::*;

    fn ko(info: &str) -> Vec<u8> {
        let info = info.replace(';', "\0");
        fixture::object(62, &[(".text", b"\xc3"), (".modinfo", info.as_bytes())])
    }

    fn compress_xz(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = lzma_rust2::XzWriter::new(&mut out, lzma_rust2::XzOptions::default()).expect("xz");
            std::io::Write::write_all(&mut w, b).expect("compress");
            w.finish().expect("finish");
        }
        out
    }

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        let m = d.path().join("usr/lib/modules/6.1.0-9-amd64");
        let k = m.join("kernel");
        for sub in [
            "fs/ext4",
            "fs/jbd2",
            "lib",
            "crypto",
            "arch/x86/crypto",
            "drivers/virtio",
            "drivers/block",
        ] {
            fs::create_dir_all(k.join(sub)).expect("mkdir");
        }
        let w = |p: &str, b: Vec<u8>| fs::write(k.join(p), b).expect("write");
        w(
            "fs/ext4/ext4.ko",
            ko("license=GPL;softdep=pre: crc32c;depends=mbcache,jbd2,crc16;alias=fs-ext4;name=ext4"),
        );
        w("fs/jbd2/jbd2.ko", ko("depends=;name=jbd2"));
        w("fs/mbcache.ko", ko("depends=;name=mbcache"));
        w("lib/crc16.ko", ko("depends=;name=crc16"));
        w(
            "crypto/crc32c_generic.ko",
            ko("alias=crypto-crc32c;alias=crc32c;depends=;name=crc32c_generic"),
        );
        fs::write(
            k.join("arch/x86/crypto/crc32c-intel.ko.xz"),
            compress_xz(&ko("alias=crypto-crc32c;alias=crc32c;depends=;name=crc32c_intel")),
        )
        .expect("write");
        w(
            "drivers/virtio/virtio_pci.ko",
            ko("depends=virtio_pci_modern_dev,virtio_pci_legacy_dev;name=virtio_pci"),
        );
        w(
            "drivers/virtio/virtio_pci_modern_dev.ko",
            ko("depends=;name=virtio_pci_modern_dev"),
        );
        w(
            "drivers/virtio/virtio_pci_legacy_dev.ko",
            ko("depends=;name=virtio_pci_legacy_dev"),
        );
        w(
            "drivers/block/virtio_blk.ko",
            ko("depends=;name=virtio_blk;softdep=post: loop_a"),
        );
        w("drivers/block/loop_a.ko", ko("depends=loop_b;name=loop_a"));
        w("drivers/block/loop_b.ko", ko("depends=loop_a;name=loop_b"));
        fs::write(
            m.join("modules.builtin"),
            "kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n",
        )
        .expect("write");
        fs::write(
            m.join("modules.builtin.modinfo"),
            b"virtio_ring.alias=vring\0virtio_ring.license=GPL\0",
        )
        .expect("write");
        d
    }

    #[test]
    fn dependencies_before_dependents_softdeps_by_alias() {
        let t = tree();
        let idx = ModuleIndex::read(t.path(), "6.1.0-9-amd64").expect("index");
        assert_eq!(idx.modules.len(), 12);
        assert!(idx.builtin.contains("virtio") && idx.builtin.contains("virtio_ring"));
        let order = idx
            .resolve(&[
                ("ext4".into(), true),
                ("virtio-pci".into(), true),
                ("virtio".into(), true),
                ("vring".into(), true),
            ])
            .expect("resolved");
        assert_eq!(
            order,
            [
                "mbcache",
                "jbd2",
                "crc16",
                "crc32c_generic",
                "crc32c_intel",
                "ext4",
                "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev",
                "virtio_pci",
            ]
        );
        assert_eq!(
            idx.path("crc32c_intel"),
            Some("usr/lib/modules/6.1.0-9-amd64/kernel/arch/x86/crypto/crc32c-intel.ko.xz")
        );
        // The compressed module reads back as the ELF it holds.
        let b = read_module(&t.path().join(idx.path("crc32c_intel").expect("path"))).expect("decompressed");
        assert!(elf::is_elf(&b));
        // Same input, same order.
        let again = ModuleIndex::read(t.path(), "6.1.0-9-amd64").expect("index");
        assert_eq!(
            again.resolve(&[("ext4".into(), true)]).expect("resolved"),
            order[..6]
        );
    }

    #[test]
    fn missing_and_cyclic_modules_are_errors() {
        let t = tree();
        let idx = ModuleIndex::read(t.path(), "6.1.0-9-amd64").expect("index");
        let e = idx.resolve(&[("nvme".into(), true)]).expect_err("missing");
        assert!(e.to_string().contains("`nvme`"), "{e}");
        assert_eq!(
            idx.resolve(&[("nvme".into(), false)]).expect("optional"),
            Vec::<String>::new()
        );
        let e = idx.resolve(&[("virtio_blk".into(), true)]).expect_err("cycle");
        assert!(e.to_string().contains("loop_a → loop_b → loop_a"), "{e}");
        fs::remove_file(
            t.path()
                .join("usr/lib/modules/6.1.0-9-amd64/kernel/fs/jbd2/jbd2.ko"),
        )
        .expect("rm");
        let idx = ModuleIndex::read(t.path(), "6.1.0-9-amd64").expect("index");
        let e = idx.resolve(&[("ext4".into(), true)]).expect_err("no jbd2");
        assert!(e.to_string().contains("depends on `jbd2`"), "{e}");
        let e = ModuleIndex::read(t.path(), "7.0").expect_err("no such kernel");
        assert!(e.to_string().contains("usr/lib/modules/7.0"), "{e}");
    }

    #[test]
    fn softdep_parsing() {
        let m = facts(
            "x.ko".into(),
            &parse_modinfo(b"softdep=pre: a b post: c\0depends=d-e,f\0alias=x-y\0"),
        );
        assert_eq!(m.pre, ["a", "b"]);
        assert_eq!(m.post, ["c"]);
        assert_eq!(m.depends, ["d_e", "f"]);
        assert_eq!(m.aliases, ["x-y"]);
    }
}
