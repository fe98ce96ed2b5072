//! A deterministic POSIX (pax) tar writer: entries sorted by name, numeric
//! owners only, mtimes clamped to `SOURCE_DATE_EPOCH`, hard links kept,
//! extended attributes (file capabilities, SELinux labels) as
//! `SCHILY.xattr.*` records, long names and large numbers as pax records.
//! Written here rather than by GNU tar so the OCI layer can be hashed and
//! compressed while it is written, and so no tool version changes the bytes.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::{FormatError, FormatInput, util};

const BLOCK: usize = 512;

/// What one entry of the walk is.
#[derive(Debug)]
enum Kind {
    Dir,
    File,
    /// A further name of a file already written (its archive name).
    HardLink(Vec<u8>),
    Symlink(Vec<u8>),
    Char(u64),
    Block(u64),
    Fifo,
}

/// Counts of a written archive.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TarStats {
    pub entries: u64,
    /// Bytes of file content.
    pub content: u64,
}

/// Writes the tree under `root` (not `root` itself) as a tar stream to `out`.
pub fn write_tar<W: Write>(
    root: &Path,
    source_date_epoch: i64,
    out: W,
) -> Result<(W, TarStats), FormatError> {
    write_tar_owned(root, source_date_epoch, out, false)
}

/// [`write_tar`]; with `root_owned`, every entry is recorded as owned by
/// 0:0 (archives of files this crate wrote itself, such as an OCI layout,
/// whoever runs it).
pub(crate) fn write_tar_owned<W: Write>(
    root: &Path,
    source_date_epoch: i64,
    out: W,
    root_owned: bool,
) -> Result<(W, TarStats), FormatError> {
    let mut w = TarWriter {
        out,
        root_owned,
        sde: source_date_epoch.max(0) as u64,
        links: HashMap::new(),
        stats: TarStats::default(),
        buf: vec![0u8; 1 << 20],
    };
    w.dir(root, &mut Vec::new())?;
    w.out
        .write_all(&[0u8; BLOCK * 2])
        .map_err(FormatError::io(root))?;
    Ok((w.out, w.stats))
}

/// The `tar` format: one archive file; returns its digest (hashed while
/// it is written).
pub(super) fn write_file(input: &FormatInput, out: &Path) -> Result<String, FormatError> {
    let f = File::create(out).map_err(FormatError::io(out))?;
    let hashing = util::HashingWriter {
        inner: f,
        hasher: util::Hasher::new(),
    };
    let (w, _) = write_tar(
        input.root,
        input.source_date_epoch,
        BufWriter::with_capacity(1 << 20, hashing),
    )?;
    let mut hashing = w.into_inner().map_err(|e| FormatError::Io {
        path: out.to_path_buf(),
        source: e.into_error(),
    })?;
    hashing.flush().map_err(FormatError::io(out))?;
    Ok(hashing.hasher.finish())
}

/// xz's preset 6 block size in multithreaded mode (3 × its 8 MiB dictionary).
const XZ_BLOCK: u64 = 24 << 20;

/// An xz stream of independent `block`-sized blocks compressed on
/// `workers` threads: the bytes depend on the preset and block size only.
fn xz_writer<W: Write>(
    out: W,
    preset: u32,
    block: u64,
    workers: u32,
) -> std::io::Result<lzma_rust2::XzWriterMt<W>> {
    let mut options = lzma_rust2::XzOptions::with_preset(preset);
    options.set_block_size(std::num::NonZeroU64::new(block));
    lzma_rust2::XzWriterMt::new(out, options, workers)
}

pub(super) fn write_xz(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let io = |e: std::io::Error| FormatError::Io {
        path: out.to_path_buf(),
        source: e,
    };
    let f = File::create(out).map_err(FormatError::io(out))?;
    let workers = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1));
    let xz = xz_writer(BufWriter::with_capacity(1 << 20, f), 6, XZ_BLOCK, workers).map_err(io)?;
    let (xz, _) = write_tar(
        input.root,
        input.source_date_epoch,
        BufWriter::with_capacity(1 << 20, xz),
    )?;
    let xz = xz.into_inner().map_err(|e| io(e.into_error()))?;
    let w = xz.finish().map_err(io)?;
    let mut f = w.into_inner().map_err(|e| io(e.into_error()))?;
    f.flush().map_err(io)
}

struct TarWriter<W> {
    out: W,
    root_owned: bool,
    sde: u64,
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: TarStats,
    buf: Vec<u8>,
}

/// Sorted children of a directory (byte order of their names).
fn children(dir: &Path) -> Result<Vec<OsString>, FormatError> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(FormatError::io(dir))? {
        names.push(e.map_err(FormatError::io(dir))?.file_name());
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Extended attributes: (name, value) pairs.
pub(crate) type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// Extended attributes of `path` (not following symlinks), sorted by name.
pub(crate) fn xattrs(path: &Path) -> Result<Xattrs, FormatError> {
    let err = |e: rustix::io::Errno| FormatError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::from_raw_os_error(e.raw_os_error()),
    };
    let n = match rustix::fs::llistxattr_query(path) {
        Ok(n) => n,
        // Filesystems without xattr support.
        Err(e) if e == rustix::io::Errno::NOTSUP || e == rustix::io::Errno::NOSYS => return Ok(Vec::new()),
        Err(e) => return Err(err(e)),
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut list = vec![0u8; n];
    let n = rustix::fs::llistxattr(path, &mut list[..]).map_err(err)?;
    let mut out = Vec::new();
    for name in list[..n].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let cname = std::ffi::OsStr::from_bytes(name);
        let len = match rustix::fs::lgetxattr_query(path, cname) {
            Ok(len) => len,
            Err(e) if e == rustix::io::Errno::NODATA => continue,
            Err(e) => return Err(err(e)),
        };
        let mut value = vec![0u8; len];
        let len = if len == 0 {
            0
        } else {
            rustix::fs::lgetxattr(path, cname, &mut value[..]).map_err(err)?
        };
        value.truncate(len);
        out.push((name.to_vec(), value));
    }
    out.sort();
    Ok(out)
}

impl<W: Write> TarWriter<W> {
    fn dir(&mut self, dir: &Path, prefix: &mut Vec<u8>) -> Result<(), FormatError> {
        for name in children(dir)? {
            let path = dir.join(&name);
            let meta = std::fs::symlink_metadata(&path).map_err(FormatError::io(&path))?;
            let len = prefix.len();
            prefix.extend_from_slice(name.as_bytes());
            let ft = meta.file_type();
            let kind = if ft.is_dir() {
                Some(Kind::Dir)
            } else if ft.is_file() {
                let key = (meta.dev(), meta.ino());
                match self.links.get(&key) {
                    Some(first) if meta.nlink() > 1 => Some(Kind::HardLink(first.clone())),
                    _ => {
                        if meta.nlink() > 1 {
                            self.links.insert(key, prefix.clone());
                        }
                        Some(Kind::File)
                    }
                }
            } else if ft.is_symlink() {
                let target = std::fs::read_link(&path).map_err(FormatError::io(&path))?;
                Some(Kind::Symlink(target.into_os_string().into_vec()))
            } else if ft.is_char_device() {
                Some(Kind::Char(meta.rdev()))
            } else if ft.is_block_device() {
                Some(Kind::Block(meta.rdev()))
            } else if ft.is_fifo() {
                Some(Kind::Fifo)
            } else {
                // Sockets cannot be archived (GNU tar skips them too).
                None
            };
            if let Some(kind) = kind {
                let is_dir = matches!(kind, Kind::Dir);
                if is_dir {
                    prefix.push(b'/');
                }
                self.entry(&path, prefix, &meta, &kind)?;
                if is_dir {
                    self.dir(&path, prefix)?;
                }
            }
            prefix.truncate(len);
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, name: &[u8], meta: &Metadata, kind: &Kind) -> Result<(), FormatError> {
        let mtime = (meta.mtime().max(0) as u64).min(self.sde);
        let size = if matches!(kind, Kind::File) { meta.len() } else { 0 };
        let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut h = [0u8; BLOCK];
        // name / prefix
        if !split_name(name, &mut h) {
            pax.push((b"path".to_vec(), name.to_vec()));
            let cut = &name[..name.len().min(99)];
            h[..cut.len()].copy_from_slice(cut);
        }
        let mode = meta.mode() & 0o7777;
        octal(&mut h[100..108], u64::from(mode));
        let (uid, gid) = if self.root_owned {
            (0, 0)
        } else {
            (u64::from(meta.uid()), u64::from(meta.gid()))
        };
        if !octal(&mut h[108..116], uid) {
            pax.push((b"uid".to_vec(), uid.to_string().into_bytes()));
        }
        if !octal(&mut h[116..124], gid) {
            pax.push((b"gid".to_vec(), gid.to_string().into_bytes()));
        }
        if !octal(&mut h[124..136], size) {
            pax.push((b"size".to_vec(), size.to_string().into_bytes()));
        }
        octal(&mut h[136..148], mtime);
        let (ty, link): (u8, Option<&[u8]>) = match kind {
            Kind::File => (b'0', None),
            Kind::HardLink(t) => (b'1', Some(t)),
            Kind::Symlink(t) => (b'2', Some(t)),
            Kind::Char(_) => (b'3', None),
            Kind::Block(_) => (b'4', None),
            Kind::Dir => (b'5', None),
            Kind::Fifo => (b'6', None),
        };
        h[156] = ty;
        if let Some(link) = link {
            if link.len() > 100 {
                pax.push((b"linkpath".to_vec(), link.to_vec()));
            } else {
                h[157..157 + link.len()].copy_from_slice(link);
            }
        }
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        if let Kind::Char(dev) | Kind::Block(dev) = kind {
            let (major, minor) = (rustix::fs::major(*dev), rustix::fs::minor(*dev));
            if !octal(&mut h[329..337], u64::from(major)) || !octal(&mut h[337..345], u64::from(minor)) {
                return Err(FormatError::Entry {
                    path: path.to_path_buf(),
                    message: format!("device number {major}:{minor} too large for tar"),
                });
            }
        }
        if !matches!(kind, Kind::HardLink(_)) {
            for (k, v) in xattrs(path)? {
                let mut key = b"SCHILY.xattr.".to_vec();
                key.extend_from_slice(&k);
                pax.push((key, v));
            }
        }
        if !pax.is_empty() {
            self.pax_header(name, mtime, &pax, path)?;
        }
        checksum(&mut h);
        self.out.write_all(&h).map_err(FormatError::io(path))?;
        self.stats.entries += 1;
        if size > 0 {
            self.content(path, size)?;
        }
        Ok(())
    }

    /// A pax extended header (`x`) for the entry that follows.
    fn pax_header(
        &mut self,
        name: &[u8],
        mtime: u64,
        records: &[(Vec<u8>, Vec<u8>)],
        path: &Path,
    ) -> Result<(), FormatError> {
        let mut body = Vec::new();
        for (k, v) in records {
            let rest = k.len() + v.len() + 3; // ' ', '=', '\n'
            let mut len = rest + 1;
            while len != rest + len.to_string().len() {
                len = rest + len.to_string().len();
            }
            body.extend_from_slice(len.to_string().as_bytes());
            body.push(b' ');
            body.extend_from_slice(k);
            body.push(b'=');
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        let mut h = [0u8; BLOCK];
        // Like POSIX's default `%d/PaxHeaders.%p/%f`, without the pid.
        let base = name
            .strip_suffix(b"/")
            .unwrap_or(name)
            .rsplit(|&b| b == b'/')
            .next()
            .unwrap_or(b"");
        let mut hname = b"PaxHeaders/".to_vec();
        hname.extend_from_slice(&base[..base.len().min(88)]);
        h[..hname.len()].copy_from_slice(&hname);
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], body.len() as u64);
        octal(&mut h[136..148], mtime);
        h[156] = b'x';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        checksum(&mut h);
        self.out.write_all(&h).map_err(FormatError::io(path))?;
        self.out.write_all(&body).map_err(FormatError::io(path))?;
        self.pad(body.len() as u64, path)
    }

    fn content(&mut self, path: &Path, size: u64) -> Result<(), FormatError> {
        let mut f = File::open(path).map_err(FormatError::io(path))?;
        let mut left = size;
        while left > 0 {
            let want = (self.buf.len() as u64).min(left) as usize;
            let n = f.read(&mut self.buf[..want]).map_err(FormatError::io(path))?;
            if n == 0 {
                return Err(FormatError::Entry {
                    path: path.to_path_buf(),
                    message: "file shrank while being archived".into(),
                });
            }
            self.out
                .write_all(&self.buf[..n])
                .map_err(FormatError::io(path))?;
            left -= n as u64;
        }
        self.stats.content += size;
        self.pad(size, path)
    }

    fn pad(&mut self, len: u64, path: &Path) -> Result<(), FormatError> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.out
                .write_all(&[0u8; BLOCK][..BLOCK - rem])
                .map_err(FormatError::io(path))?;
        }
        Ok(())
    }
}

/// Puts `name` into the ustar name (100) and prefix (155) fields; false when
/// it does not fit.
fn split_name(name: &[u8], h: &mut [u8; BLOCK]) -> bool {
    if name.len() <= 100 {
        h[..name.len()].copy_from_slice(name);
        return true;
    }
    // Split at a '/' so that prefix <= 155 and the rest <= 100 (and non-empty).
    let limit = name.len().min(156);
    for i in (0..limit).rev() {
        if name[i] == b'/' && name.len() - i - 1 <= 100 && name.len() - i - 1 > 0 {
            h[345..345 + i].copy_from_slice(&name[..i]);
            let rest = &name[i + 1..];
            h[..rest.len()].copy_from_slice(rest);
            return true;
        }
    }
    false
}

/// Octal, zero-padded, NUL-terminated; false (field zeroed) when it does not fit.
fn octal(field: &mut [u8], v: u64) -> bool {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    if s.len() > digits {
        field.fill(b'0');
        field[digits] = 0;
        return false;
    }
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
    true
}

fn checksum(h: &mut [u8; BLOCK]) {
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}");
    h[148..154].copy_from_slice(s.as_bytes());
    h[154] = 0;
    h[155] = b' ';
}

/// Every path the walk visits, for tests of ordering.
#[cfg(test)]
fn names(root: &Path) -> Vec<std::path::PathBuf> {
    let (buf, _) = write_tar(root, 0, Vec::new()).expect("tar");
    let mut a = ::tar::Archive::new(&buf[..]);
    a.entries()
        .expect("entries")
        .map(|e| e.expect("entry").path().expect("path").into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn xz_bytes_do_not_depend_on_the_number_of_threads() {
        // 5 MB over 1 MiB blocks (preset 1: a 1 MiB dictionary).
        let data: Vec<u8> = (0..5_000_000u32)
            .map(|i| {
                if i % 7 == 0 {
                    (i.wrapping_mul(2_654_435_761) >> 24) as u8
                } else {
                    (i % 61) as u8
                }
            })
            .collect();
        let compress = |workers| {
            let mut w = super::xz_writer(Vec::new(), 1, 1 << 20, workers).expect("xz");
            std::io::Write::write_all(&mut w, &data).expect("write");
            w.finish().expect("finish")
        };
        let one = compress(1);
        assert_eq!(one, compress(3));
        assert!(one.len() < data.len() / 2, "{}", one.len());
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut lzma_rust2::XzReader::new(&one[..], false), &mut back)
            .expect("xz reads");
        assert!(back == data);
    }

    use super::*;

    #[test]
    fn octal_fields() {
        let mut f = [0u8; 8];
        assert!(octal(&mut f, 0o755));
        assert_eq!(&f, b"0000755\0");
        assert!(!octal(&mut f, 0o100000000));
    }

    #[test]
    fn long_names_split_or_go_to_pax() {
        let mut h = [0u8; BLOCK];
        let name = format!("{}/{}", "d".repeat(120), "f".repeat(50));
        assert!(split_name(name.as_bytes(), &mut h));
        assert_eq!(&h[345..465], "d".repeat(120).as_bytes());
        let mut h = [0u8; BLOCK];
        assert!(!split_name("x".repeat(300).as_bytes(), &mut h));
    }

    #[test]
    fn sorted_parents_first() {
        let t = tempfile::tempdir().expect("tempdir");
        for p in ["b/z", "a-c", "a/b"] {
            let p = t.path().join(p);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, b"x").expect("write");
        }
        let n: Vec<String> = names(t.path()).iter().map(|p| p.display().to_string()).collect();
        assert_eq!(n, ["a/", "a/b", "a-c", "b/", "b/z"]);
    }
}
