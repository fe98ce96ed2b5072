//! A deterministic initramfs: a newc (`070701`) cpio archive of a root tree,
//! written in Rust. Entries are sorted by path (parents first), every mtime
//! is the image's `SOURCE_DATE_EPOCH`, owners are the tree's numeric ids,
//! inode numbers are assigned in order and hard links are stored as separate
//! files, so the same tree always gives the same bytes. The archive is a
//! tree (the `root` initramfs kind), extra entries (the minimal kind: files
//! of the image root named one by one), or both; optionally gzip-compressed
//! with fixed header fields.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::BootError;

/// An entry added to (or replacing one of) the tree's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extra {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        data: Vec<u8>,
    },
    Symlink {
        target: String,
    },
    CharDev {
        mode: u32,
        major: u32,
        minor: u32,
    },
    /// A file or symbolic link of the host (the image root), with its mode
    /// and owner.
    Host {
        path: PathBuf,
    },
}

/// What goes into an initramfs.
#[derive(Debug, Clone)]
pub struct InitrdInput<'a> {
    /// The tree to archive (read only); `None`: only the extra entries.
    pub root: Option<&'a Path>,
    /// Subtrees left out, relative to `root` (`usr/lib/modules`): the
    /// directory itself is kept, empty.
    pub exclude: Vec<String>,
    /// Entries added to the tree, by relative path; they win over the tree's.
    pub extra: BTreeMap<String, Extra>,
    /// Every entry's mtime.
    pub mtime: i64,
    /// Compress the archive with gzip (level 6, no name, mtime 0: the same
    /// archive gives the same bytes); every kernel of the seed reads it.
    pub gzip: bool,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitrdReport {
    pub entries: usize,
    /// Size of the file written.
    pub bytes: u64,
    /// Size of the cpio archive (before compression).
    pub archive_bytes: u64,
}

/// The entries the kernel needs before anything is mounted: `/dev/console`
/// (init's stdin, stdout and stderr) and the mount points init uses.
pub fn base_extras() -> BTreeMap<String, Extra> {
    let mut m = BTreeMap::new();
    for d in ["dev", "proc", "sys", "run", "tmp"] {
        let mode = if d == "tmp" { 0o1777 } else { 0o755 };
        m.insert(d.to_owned(), Extra::Dir { mode });
    }
    m.insert(
        "dev/console".to_owned(),
        Extra::CharDev {
            mode: 0o600,
            major: 5,
            minor: 1,
        },
    );
    m
}

enum Source {
    Tree(PathBuf, fs::Metadata),
    Extra(Extra),
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> BootError {
    move |source| BootError::Io { what, source }
}

/// Collects the tree's entries by relative path (sorted: a parent sorts
/// before its children).
fn collect(input: &InitrdInput<'_>) -> Result<BTreeMap<String, Source>, BootError> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<(PathBuf, String)> = input
        .root
        .map(|r| (r.to_owned(), String::new()))
        .into_iter()
        .collect();
    while let Some((dir, rel)) = stack.pop() {
        let rd = fs::read_dir(&dir).map_err(io(format!("read {}", dir.display())))?;
        for e in rd {
            let e = e.map_err(io(format!("read {}", dir.display())))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                return Err(BootError::Unsupported {
                    what: format!("a file name that is not UTF-8 in {}", dir.display()),
                });
            };
            let path = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(e.path()).map_err(io(format!("stat {}", e.path().display())))?;
            let excluded = input.exclude.iter().any(|x| x == &path);
            if meta.is_dir() && !excluded {
                stack.push((e.path(), path.clone()));
            }
            out.insert(path, Source::Tree(e.path(), meta));
        }
    }
    for (path, extra) in &input.extra {
        let path = path.trim_matches('/').to_owned();
        // The kernel creates no parent directories: add the missing ones.
        let mut parent = Path::new(&path).parent();
        while let Some(p) = parent.and_then(Path::to_str).filter(|p| !p.is_empty()) {
            out.entry(p.to_owned())
                .or_insert(Source::Extra(Extra::Dir { mode: 0o755 }));
            parent = Path::new(p).parent();
        }
        let src = match extra {
            Extra::Host { path: host } => {
                let meta = fs::symlink_metadata(host).map_err(io(format!("stat {}", host.display())))?;
                Source::Tree(host.clone(), meta)
            }
            other => Source::Extra(other.clone()),
        };
        out.insert(path, src);
    }
    Ok(out)
}

/// One newc header: `fields` are ino, mode, uid, gid, nlink, mtime,
/// filesize, rdevmajor, rdevminor (devmajor/devminor are 0).
fn header(w: &mut impl Write, fields: [u32; 9], name: &str) -> std::io::Result<u64> {
    let namesize = u32::try_from(name.len() + 1).unwrap_or(u32::MAX);
    let [ino, mode, uid, gid, nlink, mtime, size, rmaj, rmin] = fields;
    let fields = [
        ino, mode, uid, gid, nlink, mtime, size, 0, 0, rmaj, rmin, namesize, 0,
    ];
    let mut h = String::with_capacity(110);
    h.push_str("070701");
    for f in fields {
        h.push_str(&format!("{f:08x}"));
    }
    w.write_all(h.as_bytes())?;
    w.write_all(name.as_bytes())?;
    w.write_all(&[0])?;
    let len = 110 + name.len() as u64 + 1;
    let pad = (4 - len % 4) % 4;
    w.write_all(&[0u8; 3][..usize::try_from(pad).unwrap_or(0)])?;
    Ok(len + pad)
}

fn data(w: &mut impl Write, bytes: &[u8]) -> std::io::Result<u64> {
    w.write_all(bytes)?;
    let len = bytes.len() as u64;
    let pad = (4 - len % 4) % 4;
    w.write_all(&[0u8; 3][..usize::try_from(pad).unwrap_or(0)])?;
    Ok(len + pad)
}

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;
const S_IFBLK: u32 = 0o060_000;
const S_IFIFO: u32 = 0o010_000;

/// Writes the archive to `out` (through a temporary sibling and a rename).
pub fn write(input: &InitrdInput<'_>, out: &Path) -> Result<InitrdReport, BootError> {
    let entries = collect(input)?;
    let mtime = u32::try_from(input.mtime.max(0)).unwrap_or(u32::MAX);
    let tmp = out.with_extension("azldev-tmp");
    let file = fs::File::create(&tmp).map_err(io(format!("create {}", tmp.display())))?;
    let guard = RemoveOnDrop(tmp.clone());
    let buffered = BufWriter::with_capacity(1 << 20, file);
    let mut w = if input.gzip {
        Out::Gz(
            flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(buffered, flate2::Compression::new(6)),
        )
    } else {
        Out::Plain(buffered)
    };
    let werr = |e: std::io::Error| BootError::Io {
        what: format!("write {}", tmp.display()),
        source: e,
    };
    let mut total = 0u64;
    let mut ino = 0u32;
    for (path, src) in &entries {
        ino += 1;
        let (mode, uid, gid, nlink, rdev, body): (u32, u32, u32, u32, (u32, u32), Vec<u8>) = match src {
            Source::Extra(Extra::Dir { mode }) => (S_IFDIR | mode, 0, 0, 2, (0, 0), Vec::new()),
            Source::Extra(Extra::File { mode, data }) => (S_IFREG | mode, 0, 0, 1, (0, 0), data.clone()),
            Source::Extra(Extra::Symlink { target }) => {
                (S_IFLNK | 0o777, 0, 0, 1, (0, 0), target.as_bytes().to_vec())
            }
            Source::Extra(Extra::CharDev { mode, major, minor }) => {
                (S_IFCHR | mode, 0, 0, 1, (*major, *minor), Vec::new())
            }
            // `collect` turns host entries into tree entries.
            Source::Extra(Extra::Host { path }) => {
                return Err(BootError::Unsupported {
                    what: format!("an unread host entry {}", path.display()),
                });
            }
            Source::Tree(p, meta) => {
                let ft = meta.file_type();
                let perm = meta.mode() & 0o7777;
                let (uid, gid) = (meta.uid(), meta.gid());
                let dev = (major(meta.rdev()), minor(meta.rdev()));
                if ft.is_dir() {
                    (S_IFDIR | perm, uid, gid, 2, (0, 0), Vec::new())
                } else if ft.is_symlink() {
                    let t = fs::read_link(p).map_err(io(format!("read link {}", p.display())))?;
                    let t = t.to_str().ok_or_else(|| BootError::Unsupported {
                        what: format!("a link target that is not UTF-8 ({})", p.display()),
                    })?;
                    (S_IFLNK | 0o777, uid, gid, 1, (0, 0), t.as_bytes().to_vec())
                } else if ft.is_file() {
                    let bytes = fs::read(p).map_err(io(format!("read {}", p.display())))?;
                    (S_IFREG | perm, uid, gid, 1, (0, 0), bytes)
                } else if ft.is_char_device() {
                    (S_IFCHR | perm, uid, gid, 1, dev, Vec::new())
                } else if ft.is_block_device() {
                    (S_IFBLK | perm, uid, gid, 1, dev, Vec::new())
                } else if ft.is_fifo() {
                    (S_IFIFO | perm, uid, gid, 1, (0, 0), Vec::new())
                } else {
                    // Sockets have no place in an archive.
                    continue;
                }
            }
        };
        let size = u32::try_from(body.len()).map_err(|_| BootError::Unsupported {
            what: format!("{path}: a file of 4 GiB or more in an initramfs"),
        })?;
        total += header(
            &mut w,
            [ino, mode, uid, gid, nlink, mtime, size, rdev.0, rdev.1],
            path,
        )
        .map_err(werr)?;
        total += data(&mut w, &body).map_err(werr)?;
    }
    total += header(&mut w, [0, 0, 0, 0, 1, 0, 0, 0, 0], "TRAILER!!!").map_err(werr)?;
    // The kernel reads archives in 512-byte blocks at most; pad like cpio does.
    let pad = (512 - total % 512) % 512;
    w.write_all(&vec![0u8; usize::try_from(pad).unwrap_or(0)])
        .map_err(werr)?;
    total += pad;
    let file = w.finish().map_err(werr)?;
    file.sync_all().map_err(werr)?;
    let bytes = file.metadata().map_err(werr)?.len();
    drop(file);
    fs::rename(&tmp, out).map_err(io(format!("write {}", out.display())))?;
    std::mem::forget(guard);
    Ok(InitrdReport {
        entries: entries.len(),
        bytes,
        archive_bytes: total,
    })
}

/// The archive's destination: the file, or gzip into it.
enum Out {
    Plain(BufWriter<fs::File>),
    Gz(flate2::write::GzEncoder<BufWriter<fs::File>>),
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Plain(w) => w.write(b),
            Out::Gz(w) => w.write(b),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Plain(w) => w.flush(),
            Out::Gz(w) => w.flush(),
        }
    }
}

impl Out {
    /// Ends the stream (the gzip trailer) and returns the flushed file.
    fn finish(self) -> std::io::Result<fs::File> {
        let b = match self {
            Out::Plain(w) => w,
            Out::Gz(w) => w.finish()?,
        };
        b.into_inner().map_err(std::io::IntoInnerError::into_error)
    }
}

fn major(dev: u64) -> u32 {
    u32::try_from(((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff)).unwrap_or(0)
}

fn minor(dev: u64) -> u32 {
    u32::try_from(((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff)).unwrap_or(0)
}

/// Removes a temporary file unless forgotten.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        fs::create_dir_all(r.join("usr/bin")).expect("mkdir");
        fs::create_dir_all(r.join("usr/lib/modules/6.1/kernel")).expect("mkdir");
        fs::write(r.join("usr/bin/hello"), b"#!/bin/sh\necho hi\n").expect("write");
        fs::write(r.join("usr/lib/modules/6.1/kernel/x.ko"), b"big").expect("write");
        std::os::unix::fs::symlink("usr/bin", r.join("bin")).expect("symlink");
        d
    }

    #[test]
    fn same_tree_same_bytes_sorted_and_excluded() {
        let t = tree();
        let out = tempfile::tempdir().expect("tempdir");
        let mut extra = base_extras();
        extra.insert(
            "usr/lib/x/init".into(),
            Extra::File {
                mode: 0o755,
                data: b"#!/bin/sh\n".to_vec(),
            },
        );
        extra.insert(
            "init".into(),
            Extra::File {
                mode: 0o755,
                data: b"#!/bin/sh\n".to_vec(),
            },
        );
        let input = InitrdInput {
            root: Some(t.path()),
            exclude: vec!["usr/lib/modules".into()],
            extra,
            mtime: 1_700_000_000,
            gzip: false,
        };
        let a = out.path().join("a.cpio");
        let b = out.path().join("b.cpio");
        let ra = write(&input, &a).expect("written");
        // A file touched later must not change the bytes (mtimes are fixed).
        fs::write(t.path().join("usr/bin/hello"), b"#!/bin/sh\necho hi\n").expect("rewrite");
        write(&input, &b).expect("written");
        let (ba, bb) = (fs::read(&a).expect("read"), fs::read(&b).expect("read"));
        assert_eq!(ba, bb);
        assert_eq!(ba.len() as u64, ra.bytes);
        assert_eq!(ba.len() % 512, 0);

        // cpio itself reads it back: sorted, excluded subtree empty, extras there.
        let listing = std::process::Command::new("cpio")
            .args(["-itv", "--quiet"])
            .stdin(fs::File::open(&a).expect("open"))
            .output()
            .expect("cpio runs");
        assert!(listing.status.success());
        let text = String::from_utf8_lossy(&listing.stdout);
        let names: Vec<&str> = text
            .lines()
            .map(|l| {
                let l = l.split(" -> ").next().unwrap_or_default();
                l.rsplit(' ').next().unwrap_or_default()
            })
            .collect();
        assert_eq!(
            names,
            [
                "bin",
                "dev",
                "dev/console",
                "init",
                "proc",
                "run",
                "sys",
                "tmp",
                "usr",
                "usr/bin",
                "usr/bin/hello",
                "usr/lib",
                "usr/lib/modules",
                "usr/lib/x",
                "usr/lib/x/init",
            ]
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("crw-------") && l.contains("5,   1") && l.ends_with("dev/console")),
            "{text}"
        );
        assert!(text.contains("bin -> usr/bin"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with(" init")),
            "{text}"
        );
    }

    #[test]
    fn gzip_holds_the_same_archive_and_is_deterministic() {
        let t = tree();
        let out = tempfile::tempdir().expect("tempdir");
        let mut input = InitrdInput {
            root: Some(t.path()),
            exclude: vec![],
            extra: base_extras(),
            mtime: 5,
            gzip: false,
        };
        let plain = write(&input, &out.path().join("plain")).expect("written");
        input.gzip = true;
        let gz = write(&input, &out.path().join("gz")).expect("written");
        write(&input, &out.path().join("gz2")).expect("written");
        let bytes = fs::read(out.path().join("gz")).expect("read");
        assert_eq!(bytes, fs::read(out.path().join("gz2")).expect("read"));
        assert_eq!(gz.bytes, bytes.len() as u64);
        assert_eq!(gz.archive_bytes, plain.bytes);
        let mut unpacked = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut unpacked)
            .expect("gunzip");
        assert_eq!(unpacked, fs::read(out.path().join("plain")).expect("read"));
    }

    #[test]
    fn extracts_with_contents() {
        let t = tree();
        let out = tempfile::tempdir().expect("tempdir");
        let a = out.path().join("a.cpio");
        write(
            &InitrdInput {
                root: Some(t.path()),
                exclude: vec![],
                extra: BTreeMap::new(),
                mtime: 0,
                gzip: false,
            },
            &a,
        )
        .expect("written");
        let x = out.path().join("x");
        fs::create_dir(&x).expect("mkdir");
        let st = std::process::Command::new("cpio")
            .args(["-id", "--quiet", "--no-absolute-filenames"])
            .current_dir(&x)
            .stdin(fs::File::open(&a).expect("open"))
            .status()
            .expect("cpio runs");
        assert!(st.success());
        assert_eq!(
            fs::read(x.join("usr/lib/modules/6.1/kernel/x.ko")).expect("read"),
            b"big"
        );
        assert_eq!(
            fs::read(x.join("usr/bin/hello")).expect("read"),
            b"#!/bin/sh\necho hi\n"
        );
    }
}
