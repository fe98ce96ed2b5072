//! Filesystem images of the root, made by the filesystems' own tools from
//! the tree (no loop devices, no mounts): ext4 (`mke2fs -d`, then a pass
//! over the inode tables for the times mke2fs copies from the source:
//! `ext4_times`), erofs
//! (`mkfs.erofs`) and squashfs (`mksquashfs`), with UUIDs and hash seeds
//! from the input's seed and every time from `SOURCE_DATE_EPOCH`.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use super::util::{self, Scratch, round_up};
use super::{FormatError, FormatInput, RootFs};

const MIB: u64 = 1 << 20;

/// What a walk of the root found.
#[derive(Debug, Default)]
pub(crate) struct TreeStats {
    /// Files, directories, symlinks and special files (hard links once).
    pub inodes: u64,
    /// Bytes of 4 KiB blocks the content needs (files, directories, long symlinks).
    pub blocks_bytes: u64,
    /// Bytes of file content.
    pub content: u64,
    /// The newest mtime.
    pub max_mtime: i64,
}

/// A walk's visitor: the path relative to the root (bytes, leading `/`) and its metadata.
pub(crate) type Visit<'a> = dyn FnMut(&[u8], &std::fs::Metadata) -> Result<(), FormatError> + 'a;

/// Walks `root` (sorted, not following symlinks); `visit` gets each path
/// below the root, as bytes relative to it with a leading `/`.
pub(crate) fn walk(root: &Path, visit: &mut Visit<'_>) -> Result<(), FormatError> {
    fn inner(dir: &Path, rel: &mut Vec<u8>, visit: &mut Visit<'_>) -> Result<(), FormatError> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir).map_err(FormatError::io(dir))? {
            names.push(e.map_err(FormatError::io(dir))?.file_name());
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let meta = std::fs::symlink_metadata(&path).map_err(FormatError::io(&path))?;
            let len = rel.len();
            rel.push(b'/');
            rel.extend_from_slice(name.as_bytes());
            visit(rel, &meta)?;
            if meta.is_dir() {
                inner(&path, rel, visit)?;
            }
            rel.truncate(len);
        }
        Ok(())
    }
    inner(root, &mut Vec::new(), visit)
}

pub(crate) fn tree_stats(root: &Path) -> Result<TreeStats, FormatError> {
    let mut s = TreeStats::default();
    let mut seen = std::collections::HashSet::new();
    walk(root, &mut |_, m| {
        if m.nlink() > 1 && !m.is_dir() && !seen.insert((m.dev(), m.ino())) {
            return Ok(());
        }
        s.inodes += 1;
        s.max_mtime = s.max_mtime.max(m.mtime());
        if m.is_file() {
            s.content += m.len();
            s.blocks_bytes += round_up(m.len(), 4096);
        } else if m.is_dir() || (m.file_type().is_symlink() && m.len() >= 60) {
            s.blocks_bytes += 4096;
        }
        Ok(())
    })?;
    Ok(s)
}

/// mke2fs configuration pinned here, so the host's /etc/mke2fs.conf does not
/// change the bytes.
const MKE2FS_CONF: &str = "[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tenable_periodic_fsck = 0
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384
\treserved_ratio = 0
\tlazy_itable_init = 0
\tlazy_journal_init = 0

[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
\t}
";

/// The size an ext4 image of the tree needs (with headroom), in bytes.
fn ext4_size(stats: &TreeStats) -> u64 {
    let data = stats.blocks_bytes + stats.blocks_bytes / 10;
    let inodes = (stats.inodes + 1024) * 256;
    let base = data + inodes + 8 * MIB;
    // The journal mke2fs picks for that size (ext2fs_default_journal_size).
    let journal = match base / 4096 {
        0..32_768 => 4 * MIB,
        32_768..262_144 => 16 * MIB,
        262_144..524_288 => 32 * MIB,
        524_288..4_194_304 => 64 * MIB,
        _ => 128 * MIB,
    };
    round_up(base + journal, MIB)
}

/// Where mke2fs and debugfs write the ext4 image.
enum Ext4Target {
    /// An anonymous in-memory file (memfd), reached by the tools through
    /// `/proc/<azldev's pid>/fd/N` and copied into `out` at the end.
    Memory { file: File, path: String },
    /// `out` itself.
    Disk,
}

/// Whether an image needing `need` bytes is built in memory: when it
/// takes at most a quarter of the memory available now.
fn memory_target(need: u64) -> Option<Ext4Target> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let avail_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    if need > avail_kib * 1024 / 4 {
        return None;
    }
    let fd = rustix::fs::memfd_create("azldev-ext4", rustix::fs::MemfdFlags::CLOEXEC).ok()?;
    let file = File::from(fd);
    let path = format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        std::os::fd::AsRawFd::as_raw_fd(&file)
    );
    Some(Ext4Target::Memory { file, path })
}

/// Copies the first `len` bytes of `src` into a new file `out`, sparse;
/// with `hasher`, every byte in order goes to it too.
fn copy_out(src: &File, len: u64, out: &Path, hasher: Option<&util::Hasher>) -> Result<(), FormatError> {
    let _ = std::fs::remove_file(out);
    let dst = File::create(out).map_err(FormatError::io(out))?;
    dst.set_len(len).map_err(FormatError::io(out))?;
    util::copy_file_sparse(src, out, len, &dst, out, 0, hasher)
}

/// ext4 image of the root in `out`, at least `min_size` bytes (a disk's
/// root partition fills its space).
///
/// mke2fs and debugfs each end with an fsync of the whole image, which on
/// this kind of machine costs as much as building it: when the image fits
/// in memory with room to spare they write to an in-memory file instead,
/// and azldev copies the result out once (no fsync, like every other
/// format). The bytes are the same either way.
///
/// With `digest`, the image's SHA-256 comes back too when it could be
/// computed while copying out (the in-memory path).
pub(crate) fn ext4(
    input: &FormatInput,
    out: &Path,
    min_size: Option<u64>,
    digest: bool,
) -> Result<(u64, Option<String>), FormatError> {
    let stats = tree_stats(input.root)?;
    let target = memory_target(ext4_size(&stats)).unwrap_or(Ext4Target::Disk);
    ext4_in(input, out, min_size, &stats, target, digest)
}

fn ext4_in(
    input: &FormatInput,
    out: &Path,
    min_size: Option<u64>,
    stats: &TreeStats,
    target: Ext4Target,
    digest: bool,
) -> Result<(u64, Option<String>), FormatError> {
    let scratch = Scratch::new(input, "ext4")?;
    let conf = scratch.0.join("mke2fs.conf");
    std::fs::write(&conf, MKE2FS_CONF).map_err(FormatError::io(&conf))?;
    let sde = input.source_date_epoch.max(0);
    let uuid = util::uuid_string(&util::uuid(&input.seed, "root-fs"));
    let hash_seed = util::uuid_string(&util::uuid(&input.seed, "root-fs-hash-seed"));
    let mut size = ext4_size(stats).max(min_size.unwrap_or(0));
    let inodes = (stats.inodes + stats.inodes / 5 + 256).max(size / 16_384);
    let runner = util::runner(input);
    let device: &std::ffi::OsStr = match &target {
        Ext4Target::Memory { path, .. } => path.as_ref(),
        Ext4Target::Disk => out.as_os_str(),
    };
    // The estimate has headroom; grow and retry if mke2fs still runs out.
    let mut attempt = 0;
    loop {
        match &target {
            Ext4Target::Memory { file, .. } => {
                let mem = |e| FormatError::Io {
                    path: out.to_path_buf(),
                    source: e,
                };
                file.set_len(0).map_err(mem)?;
                file.set_len(size).map_err(mem)?;
            }
            Ext4Target::Disk => {
                let _ = std::fs::remove_file(out);
            }
        }
        let r = runner.run(
            Command::new("mke2fs")
                .env("MKE2FS_CONFIG", &conf)
                .env("E2FSPROGS_FAKE_TIME", sde.to_string())
                .args([
                    "-q",
                    "-F",
                    "-t",
                    "ext4",
                    "-L",
                    "root",
                    "-U",
                    &uuid,
                    "-N",
                    &inodes.to_string(),
                ])
                .arg("-E")
                .arg(format!(
                    "hash_seed={hash_seed},root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0,nodiscard"
                ))
                .arg("-d")
                .arg(input.root)
                .arg(device)
                .arg(format!("{}k", size / 1024)),
        );
        match r {
            Ok(_) => break,
            Err(e) if attempt < 3 && e.tail().contains("Could not allocate block") => {
                attempt += 1;
                size = round_up(size + size / 2, MIB);
            }
            Err(e) => return Err(e.into()),
        }
    }
    // mke2fs copies atime, ctime and mtime from the source tree: set them
    // from SOURCE_DATE_EPOCH in the inode tables.
    let fixed = match &target {
        Ext4Target::Memory { file, .. } => super::ext4_times::fix(file, sde),
        Ext4Target::Disk => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(out)
            .map_err(super::ext4_times::Ext4TimesError::Io)
            .and_then(|f| super::ext4_times::fix(&f, sde)),
    };
    fixed.map_err(|e| match e {
        super::ext4_times::Ext4TimesError::Io(source) => FormatError::Io {
            path: out.to_path_buf(),
            source,
        },
        e @ super::ext4_times::Ext4TimesError::Layout(_) => FormatError::Tool {
            tool: "mke2fs",
            message: e.to_string(),
        },
    })?;
    let mut sha256 = None;
    if let Ext4Target::Memory { file, .. } = &target {
        let hasher = digest.then(util::Hasher::new);
        copy_out(file, size, out, hasher.as_ref())?;
        sha256 = hasher.map(util::Hasher::finish);
    }
    Ok((size, sha256))
}

/// erofs image of the root (lz4: on a 480 MB root 6× faster than lz4hc
/// for 9% more bytes), mtimes clamped by `SOURCE_DATE_EPOCH`.
pub(crate) fn erofs(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let sde = input.source_date_epoch.max(0).to_string();
    let uuid = util::uuid_string(&util::uuid(&input.seed, "root-fs"));
    let _ = std::fs::remove_file(out);
    util::runner(input).run(
        Command::new("mkfs.erofs")
            .env("SOURCE_DATE_EPOCH", &sde)
            .args(["--quiet", "-zlz4", "-T", &sde, "-U", &uuid])
            .arg(out)
            .arg(input.root),
    )?;
    erofs_restore_special_bits(input, out)
}

/// mkfs.erofs 1.5 drops the setuid, setgid and sticky bits (it writes
/// 0755 for a 04755 file): put them back into the inodes, found with
/// `dump.erofs --path`. Inodes carry no checksum; `i_mode` is at offset 4
/// of compact and extended inodes alike.
fn erofs_restore_special_bits(input: &FormatInput, image: &Path) -> Result<(), FormatError> {
    let mut special = Vec::new();
    walk(input.root, &mut |rel, m| {
        if m.mode() & 0o7000 != 0 && !m.file_type().is_symlink() {
            special.push((rel.to_vec(), m.mode()));
        }
        Ok(())
    })?;
    if special.is_empty() {
        return Ok(());
    }
    let bad = |m: String| FormatError::Tool {
        tool: "mkfs.erofs",
        message: format!("{}: {m}", image.display()),
    };
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .map_err(FormatError::io(image))?;
    let mut sb = [0u8; 128];
    f.seek(SeekFrom::Start(1024)).map_err(FormatError::io(image))?;
    f.read_exact(&mut sb).map_err(FormatError::io(image))?;
    if sb[0..4] != 0xe0f5_e1e2u32.to_le_bytes() {
        return Err(bad("no erofs superblock".into()));
    }
    let blkszbits = u32::from(sb[0x0c]);
    let meta_blkaddr = u64::from(u32::from_le_bytes([sb[0x28], sb[0x29], sb[0x2a], sb[0x2b]]));
    let runner = util::runner(input).capture_stdout();
    for (rel, mode) in special {
        let out = runner.run(
            Command::new("dump.erofs")
                .arg(format!("--path={}", String::from_utf8_lossy(&rel)))
                .arg(image),
        )?;
        let text = out.stdout_str();
        let nid: u64 = text
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("NID:"))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad(format!("no NID for {} in: {text}", String::from_utf8_lossy(&rel))))?;
        let off = (meta_blkaddr << blkszbits) + nid * 32 + 4;
        let mut cur = [0u8; 2];
        f.seek(SeekFrom::Start(off)).map_err(FormatError::io(image))?;
        f.read_exact(&mut cur).map_err(FormatError::io(image))?;
        let cur = u16::from_le_bytes(cur);
        let want = (mode & 0o177_777) as u16;
        if cur & !0o7000 != want & !0o7000 {
            return Err(bad(format!(
                "inode {nid} of {} has mode {cur:o}, expected {want:o}",
                String::from_utf8_lossy(&rel)
            )));
        }
        f.seek(SeekFrom::Start(off)).map_err(FormatError::io(image))?;
        f.write_all(&want.to_le_bytes()).map_err(FormatError::io(image))?;
    }
    // The superblock's checksum (EROFS_FEATURE_COMPAT_SB_CHKSUM) covers
    // its whole block, where the first inodes of a small image live too:
    // crc32c seeded with !0, no final inversion, checksum field zeroed.
    let feature_compat = u32::from_le_bytes([sb[8], sb[9], sb[10], sb[11]]);
    if feature_compat & 1 != 0 {
        let mut block = vec![0u8; (1usize << blkszbits) - 1024];
        f.seek(SeekFrom::Start(1024)).map_err(FormatError::io(image))?;
        f.read_exact(&mut block).map_err(FormatError::io(image))?;
        block[4..8].fill(0);
        let crc = !super::disk::crc32c(&block);
        f.seek(SeekFrom::Start(1028)).map_err(FormatError::io(image))?;
        f.write_all(&crc.to_le_bytes()).map_err(FormatError::io(image))?;
    }
    f.flush().map_err(FormatError::io(image))
}

/// squashfs image of the root (mksquashfs' reproducible mode), zstd level 3
/// (on a 480 MB root: 3.4 s and 173 MB, where the default gzip took 120 s
/// for 166 MB on the same loaded machine). mksquashfs
/// cannot clamp: when a file is newer than `SOURCE_DATE_EPOCH`, every time
/// is set to it.
pub(crate) fn squashfs(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let sde = input.source_date_epoch.max(0).to_string();
    let stats = tree_stats(input.root)?;
    let _ = std::fs::remove_file(out);
    let mut cmd = Command::new("mksquashfs");
    cmd.env_remove("SOURCE_DATE_EPOCH")
        .arg(input.root)
        .arg(out)
        .args([
            "-noappend",
            "-quiet",
            "-no-progress",
            "-reproducible",
            "-mkfs-time",
            &sde,
        ])
        .args(["-comp", "zstd", "-Xcompression-level", "3"]);
    if stats.max_mtime > input.source_date_epoch {
        cmd.args(["-all-time", &sde]);
    }
    util::runner(input).run(&mut cmd)?;
    Ok(())
}

/// The root partition's filesystem image for a disk; returns its size.
pub(crate) fn root_fs(input: &FormatInput, out: &Path, min_size: Option<u64>) -> Result<u64, FormatError> {
    match input.root_fs {
        RootFs::Ext4 => ext4(input, out, min_size, false).map(|(size, _)| size),
        RootFs::Erofs => erofs(input, out).and_then(|()| file_len(out)),
        RootFs::Squashfs => squashfs(input, out).and_then(|()| file_len(out)),
    }
}

fn file_len(p: &Path) -> Result<u64, FormatError> {
    Ok(std::fs::metadata(p).map_err(FormatError::io(p))?.len())
}

/// The `ext4` format; its digest when it was computed on the way.
pub(super) fn write_ext4(input: &FormatInput, out: &Path) -> Result<Option<String>, FormatError> {
    ext4(input, out, None, true).map(|(_, digest)| digest)
}

pub(super) fn write_erofs(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    erofs(input, out)
}

pub(super) fn write_squashfs(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    squashfs(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-memory path gives the same bytes as mke2fs writing the file
    /// itself, and e2fsck accepts it.
    #[test]
    fn ext4_in_memory_is_the_same_image() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
        std::fs::write(root.join("usr/bin/hello"), vec![7u8; 300_000]).expect("write");
        std::fs::write(root.join("empty"), b"").expect("write");
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).expect("symlink");
        for p in ["usr/bin/hello", "empty", "usr/bin", "usr", ""] {
            util::set_mtime(&root.join(p), 1_000).expect("mtime");
        }
        let container = super::super::ContainerConfig::default();
        let scratch = dir.path().join("scratch");
        let input = FormatInput {
            root: &root,
            name: "t",
            arch: azldev_buildroot::arch::Arch::X86_64,
            source_date_epoch: 2_000,
            seed: [3; 32],
            esp: None,
            root_fs: RootFs::Ext4,
            disk_size: None,
            kernel_cmdline: None,
            container: &container,
            log: None,
            scratch: &scratch,
            raw_disk: None,
            squashfs: None,
        };
        let stats = tree_stats(&root).expect("stats");
        let on_disk = dir.path().join("disk.ext4");
        let in_mem = dir.path().join("mem.ext4");
        let (a, none) =
            ext4_in(&input, &on_disk, Some(40 * MIB), &stats, Ext4Target::Disk, true).expect("disk");
        assert_eq!(none, None, "no digest on the way when mke2fs writes the file");
        let target = memory_target(ext4_size(&stats)).expect("a small image fits in memory");
        assert!(matches!(target, Ext4Target::Memory { .. }));
        let (b, digest) = ext4_in(&input, &in_mem, Some(40 * MIB), &stats, target, true).expect("memory");
        assert_eq!(
            digest,
            Some(util::sha256_file(&on_disk).expect("digest")),
            "hashed on the way"
        );
        assert_eq!(a, b);
        let (da, db) = (
            std::fs::read(&on_disk).expect("read"),
            std::fs::read(&in_mem).expect("read"),
        );
        assert_eq!(da.len() as u64, a);
        assert!(da == db, "the two ext4 images differ");
        // Sparse: the copy skipped the zeros.
        let used = std::fs::metadata(&in_mem).expect("stat").blocks() * 512;
        assert!(used < a / 2, "{used} of {a} bytes allocated");
        let fsck = Command::new("e2fsck")
            .args(["-fn"])
            .arg(&in_mem)
            .output()
            .expect("e2fsck");
        assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stdout));
    }

    #[test]
    fn ext4_size_grows_with_content() {
        let small = ext4_size(&TreeStats {
            inodes: 10,
            blocks_bytes: 40_960,
            ..Default::default()
        });
        let big = ext4_size(&TreeStats {
            inodes: 10_000,
            blocks_bytes: 400 << 20,
            ..Default::default()
        });
        assert_eq!(small % MIB, 0);
        assert!(big > (440 << 20), "{big}");
        assert!(small < big);
    }
}
