//! Helpers shared by the writers: atomic outputs, digests, identifiers
//! derived from the seed, timestamps, sparse copies.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::{FormatError, FormatInput};
use crate::run::Runner;

/// A process-wide counter: writers may run in parallel (several formats of
/// one image share a scratch directory), so names include it.
fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// An output being written beside its final path; removed unless committed.
pub(crate) struct Temp {
    pub path: PathBuf,
    committed: bool,
}

/// A fresh path beside `out` (same directory, so the final rename is atomic).
pub(crate) fn temp_sibling(out: &Path) -> Result<Temp, FormatError> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(FormatError::io(&dir))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let path = dir.join(format!(".{name}.tmp-{}", unique()));
    remove_any(&path)?;
    Ok(Temp {
        path,
        committed: false,
    })
}

fn remove_any(path: &Path) -> Result<(), FormatError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(FormatError::io(path)),
        Ok(_) => std::fs::remove_file(path).map_err(FormatError::io(path)),
        Err(_) => Ok(()),
    }
}

impl Temp {
    /// Moves the finished output to `out`. A directory output replaces an
    /// existing directory only when that one is an OCI layout (what this
    /// crate writes there), never anything else.
    pub fn commit(mut self, out: &Path, is_dir: bool) -> Result<(), FormatError> {
        if is_dir {
            if let Ok(m) = std::fs::symlink_metadata(out) {
                if m.is_dir() && out.join("oci-layout").is_file() {
                    std::fs::remove_dir_all(out).map_err(FormatError::io(out))?;
                } else {
                    return Err(FormatError::Io {
                        path: out.to_path_buf(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::AlreadyExists,
                            "exists and is not an OCI image layout; not replacing it",
                        ),
                    });
                }
            }
        } else if std::fs::symlink_metadata(out).is_ok_and(|m| m.is_dir()) {
            return Err(FormatError::Io {
                path: out.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "is a directory"),
            });
        }
        std::fs::rename(&self.path, out).map_err(FormatError::io(out))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_any(&self.path);
        }
    }
}

/// A scratch directory for one write, removed afterwards.
pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(input: &FormatInput, what: &str) -> Result<Scratch, FormatError> {
        let path = input.scratch.join(format!("{what}.{}", unique()));
        remove_any(&path)?;
        std::fs::create_dir_all(&path).map_err(FormatError::io(&path))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, FormatError> {
    let mut f = File::open(path).map_err(FormatError::io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(FormatError::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// What the hashing thread of a [`Hasher`] is given.
enum Chunk {
    Data(Vec<u8>),
    Zeros(u64),
}

/// SHA-256 of a stream computed on its own thread, so the digest of an
/// artefact written in order costs no wall time where a core is free
/// (instead of reading the finished file again).
pub(crate) struct Hasher {
    tx: std::sync::mpsc::SyncSender<Chunk>,
    thread: std::thread::JoinHandle<String>,
}

impl Hasher {
    pub(crate) fn new() -> Hasher {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(16);
        let thread = std::thread::spawn(move || {
            let mut h = Sha256::new();
            let zeros = vec![0u8; 1 << 20];
            for chunk in rx {
                match chunk {
                    Chunk::Data(d) => h.update(&d),
                    Chunk::Zeros(mut n) => {
                        while n > 0 {
                            let k = usize::try_from(n.min(1 << 20)).expect("at most a MiB");
                            h.update(&zeros[..k]);
                            n -= k as u64;
                        }
                    }
                }
            }
            hex(&h.finalize())
        });
        Hasher { tx, thread }
    }

    /// The next bytes of the stream.
    pub(crate) fn data(&self, bytes: &[u8]) {
        // The thread only ends when the sender is dropped.
        let _ = self.tx.send(Chunk::Data(bytes.to_vec()));
    }

    /// `n` zero bytes next in the stream (a hole).
    pub(crate) fn zeros(&self, n: u64) {
        let _ = self.tx.send(Chunk::Zeros(n));
    }

    /// The digest of everything given, in hex.
    pub(crate) fn finish(self) -> String {
        drop(self.tx);
        self.thread.join().expect("the hashing thread does not panic")
    }
}

/// A writer that passes what it writes to a [`Hasher`] too.
pub(crate) struct HashingWriter<W> {
    pub inner: W,
    pub hasher: Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.data(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Apparent size of a file, or the sum over a directory's files.
pub(crate) fn apparent_size(path: &Path) -> Result<u64, FormatError> {
    let m = std::fs::symlink_metadata(path).map_err(FormatError::io(path))?;
    if !m.is_dir() {
        return Ok(m.len());
    }
    let mut total = 0;
    for e in std::fs::read_dir(path).map_err(FormatError::io(path))? {
        let e = e.map_err(FormatError::io(path))?;
        total += apparent_size(&e.path())?;
    }
    Ok(total)
}

/// 16 bytes derived from the seed and a purpose, shaped as an RFC 4122
/// version 4 UUID so tools that check the bits accept it.
pub(crate) fn uuid(seed: &[u8; 32], purpose: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(b"\0uuid\0");
    h.update(purpose.as_bytes());
    let d = h.finalize();
    let mut u = [0u8; 16];
    u.copy_from_slice(&d[..16]);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    u
}

/// The textual form (big-endian fields, as `uuidgen` prints).
pub(crate) fn uuid_string(u: &[u8; 16]) -> String {
    let h = hex(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Four bytes from the seed (FAT volume ids, serials).
pub(crate) fn u32_from_seed(seed: &[u8; 32], purpose: &str) -> u32 {
    let u = uuid(seed, purpose);
    u32::from_be_bytes([u[0], u[1], u[2], u[3]])
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// UTC broken-down time: (year, month, day, hour, minute, second).
pub(crate) fn utc(epoch: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

/// RFC 3339 in UTC, as OCI's `created` wants it.
pub(crate) fn rfc3339(epoch: i64) -> String {
    let (y, mo, d, h, mi, s) = utc(epoch);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// The runner every writer uses: the input's log, a generous timeout.
pub(crate) fn runner(input: &FormatInput) -> Runner {
    let mut r = Runner::new().timeout(Duration::from_secs(3600));
    if let Some(log) = input.log {
        r = r.log(log);
    }
    r
}

/// Copies `src` into `dst` at `offset`, leaving all-zero blocks as holes.
pub(crate) fn copy_sparse(src: &Path, dst: &File, dst_path: &Path, offset: u64) -> Result<u64, FormatError> {
    let f = File::open(src).map_err(FormatError::io(src))?;
    let len = f.metadata().map_err(FormatError::io(src))?.len();
    copy_file_sparse(&f, src, len, dst, dst_path, offset, None)?;
    Ok(len)
}

/// Copies the first `len` bytes of `src` into `dst` at `offset`: `src`'s
/// holes (found with `SEEK_DATA`/`SEEK_HOLE`) and all-zero MiBs are left
/// as holes in `dst`; with `hasher`, every byte of `src` goes to it too,
/// in order.
pub(crate) fn copy_file_sparse(
    src: &File,
    src_path: &Path,
    len: u64,
    dst: &File,
    dst_path: &Path,
    offset: u64,
    hasher: Option<&Hasher>,
) -> Result<(), FormatError> {
    use std::os::unix::fs::FileExt;
    let seek_err = |e: rustix::io::Errno| FormatError::Io {
        path: src_path.to_path_buf(),
        source: e.into(),
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0;
    while pos < len {
        let data = match rustix::fs::seek(src, rustix::fs::SeekFrom::Data(pos)) {
            Ok(d) => d.min(len),
            Err(rustix::io::Errno::NXIO) => len,
            Err(e) => return Err(seek_err(e)),
        };
        if let Some(h) = hasher
            && data > pos
        {
            h.zeros(data - pos);
        }
        if data >= len {
            break;
        }
        let hole = rustix::fs::seek(src, rustix::fs::SeekFrom::Hole(data))
            .map_err(seek_err)?
            .min(len);
        let mut p = data;
        while p < hole {
            let n = usize::try_from((hole - p).min(1 << 20)).expect("at most a MiB");
            src.read_exact_at(&mut buf[..n], p)
                .map_err(FormatError::io(src_path))?;
            if buf[..n].iter().any(|&b| b != 0) {
                dst.write_all_at(&buf[..n], offset + p)
                    .map_err(FormatError::io(dst_path))?;
                if let Some(h) = hasher {
                    h.data(&buf[..n]);
                }
            } else if let Some(h) = hasher {
                h.zeros(n as u64);
            }
            p += n as u64;
        }
        pos = hole;
    }
    Ok(())
}

/// Sets atime and mtime of `path` (not following symlinks).
pub(crate) fn set_mtime(path: &Path, epoch: i64) -> Result<(), FormatError> {
    let t = rustix::fs::Timespec {
        tv_sec: epoch,
        tv_nsec: 0,
    };
    let ts = rustix::fs::Timestamps {
        last_access: t,
        last_modification: t,
    };
    rustix::fs::utimensat(rustix::fs::CWD, path, &ts, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).map_err(|e| {
        FormatError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::from_raw_os_error(e.raw_os_error()),
        }
    })
}

/// Rounds `v` up to a multiple of `to`.
pub(crate) fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to) * to
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn uuids_are_v4_and_depend_on_seed_and_purpose() {
        let a = uuid(&[1; 32], "root");
        assert_eq!(a[6] >> 4, 4);
        assert_eq!(a[8] >> 6, 2);
        assert_ne!(a, uuid(&[1; 32], "esp"));
        assert_ne!(a, uuid(&[2; 32], "root"));
        assert_eq!(a, uuid(&[1; 32], "root"));
        assert_eq!(uuid_string(&a).len(), 36);
    }
}
