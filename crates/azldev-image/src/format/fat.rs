//! FAT images of a tree (the ESP of disks, the El Torito image of ISOs):
//! `mkfs.vfat --invariant` with a volume id from the seed, directories
//! made with one `mmd` and files copied with one `mcopy` per directory in
//! sorted order, then every directory entry's times set to
//! `SOURCE_DATE_EPOCH` here (mtools stamps entries with the current time
//! and does not read `SOURCE_DATE_EPOCH`).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::util::{self, round_up};
use super::{FormatError, FormatInput};

const MIB: u64 = 1 << 20;

/// How big a FAT image to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FatKind {
    /// A disk's EFI system partition: FAT32, at least 64 MiB.
    Esp,
    /// The smallest FAT that holds the tree (FAT12/16; El Torito images).
    Tight,
}

/// Writes a FAT image of `tree` to `out`; returns its size.
pub(crate) fn make(
    input: &FormatInput,
    tree: &Path,
    out: &Path,
    kind: FatKind,
    label: &str,
) -> Result<u64, FormatError> {
    // Directories (parents first) and files per directory, sorted.
    let mut dirs: Vec<Vec<u8>> = Vec::new();
    let mut files: BTreeMap<Vec<u8>, Vec<PathBuf>> = BTreeMap::new();
    let mut content = 0u64;
    super::fs::walk(tree, &mut |rel, m| {
        let ft = m.file_type();
        if ft.is_dir() {
            dirs.push(rel.to_vec());
            content += 4096;
        } else if ft.is_file() {
            let parent = rel[..rel.iter().rposition(|&b| b == b'/').unwrap_or(0)].to_vec();
            files
                .entry(parent)
                .or_default()
                .push(tree.join(std::ffi::OsStr::from_bytes(&rel[1..])));
            content += round_up(m.len(), 4096);
        } else {
            return Err(FormatError::Entry {
                path: tree.join(std::ffi::OsStr::from_bytes(&rel[1..])),
                message: "FAT holds only files and directories".into(),
            });
        }
        Ok(())
    })?;
    let size = match kind {
        FatKind::Esp => round_up((content + content / 10 + 16 * MIB).max(64 * MIB), MIB),
        FatKind::Tight => round_up(content + content / 10 + MIB, MIB),
    };
    let _ = std::fs::remove_file(out);
    let volid = format!(
        "{:08x}",
        util::u32_from_seed(&input.seed, &format!("fat-{label}"))
    );
    let runner = util::runner(input);
    let mut mkfs = Command::new("mkfs.vfat");
    mkfs.args(["-C", "--invariant", "-i", &volid, "-n", label]);
    if kind == FatKind::Esp {
        mkfs.args(["-F", "32"]);
    }
    mkfs.arg(out).arg((size / 1024).to_string());
    runner.run(&mut mkfs)?;
    let mtools = |cmd: &mut Command| {
        cmd.env("MTOOLS_SKIP_CHECK", "1")
            .env("TZ", "UTC")
            .arg("-i")
            .arg(out);
    };
    if !dirs.is_empty() {
        let mut mmd = Command::new("mmd");
        mtools(&mut mmd);
        for d in &dirs {
            mmd.arg(format!("::{}", String::from_utf8_lossy(d)));
        }
        runner.run(&mut mmd)?;
    }
    for (dir, list) in &files {
        let mut mcopy = Command::new("mcopy");
        mtools(&mut mcopy);
        mcopy.args(list);
        mcopy.arg(format!("::{}/", String::from_utf8_lossy(dir)));
        runner.run(&mut mcopy)?;
    }
    set_times(out, input.source_date_epoch)?;
    Ok(size)
}

/// FAT date and time (local time = UTC here) of an epoch, clamped to FAT's range.
fn fat_datetime(epoch: i64) -> (u16, u16) {
    let epoch = epoch.clamp(315_532_800, 4_354_819_199); // 1980-01-01 .. 2107-12-31
    let (y, mo, d, h, mi, s) = util::utc(epoch);
    let date = (((y - 1980) as u16) << 9) | ((mo as u16) << 5) | d as u16;
    let time = ((h as u16) << 11) | ((mi as u16) << 5) | (s as u16 / 2);
    (date, time)
}

fn bad(path: &Path, message: impl Into<String>) -> FormatError {
    FormatError::Tool {
        tool: "mkfs.vfat",
        message: format!("{}: {}", path.display(), message.into()),
    }
}

/// Sets creation, access and write times of every directory entry.
pub(crate) fn set_times(image: &Path, epoch: i64) -> Result<(), FormatError> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .map_err(FormatError::io(image))?;
    let mut bs = [0u8; 512];
    f.read_exact(&mut bs).map_err(FormatError::io(image))?;
    let u16le = |o: usize| u64::from(u16::from_le_bytes([bs[o], bs[o + 1]]));
    let u32le = |o: usize| u64::from(u32::from_le_bytes([bs[o], bs[o + 1], bs[o + 2], bs[o + 3]]));
    let sector = u16le(11);
    let per_cluster = u64::from(bs[13]);
    let reserved = u16le(14);
    let nfats = u64::from(bs[16]);
    let root_entries = u16le(17);
    let total = if u16le(19) != 0 { u16le(19) } else { u32le(32) };
    let fat_size = if u16le(22) != 0 { u16le(22) } else { u32le(36) };
    if sector == 0 || per_cluster == 0 || nfats == 0 || fat_size == 0 {
        return Err(bad(image, "not a FAT boot sector"));
    }
    let root_sectors = (root_entries * 32).div_ceil(sector);
    let data_start = reserved + nfats * fat_size + root_sectors;
    let clusters = (total - data_start) / per_cluster;
    let bits = if clusters < 4085 {
        12
    } else if clusters < 65_525 {
        16
    } else {
        32
    };
    let mut fat = vec![0u8; (fat_size * sector) as usize];
    f.seek(SeekFrom::Start(reserved * sector))
        .map_err(FormatError::io(image))?;
    f.read_exact(&mut fat).map_err(FormatError::io(image))?;
    let next = |c: u64| -> u64 {
        let c = c as usize;
        match bits {
            12 => {
                let o = c + c / 2;
                let v = u16::from_le_bytes([fat[o], fat[o + 1]]);
                u64::from(if c.is_multiple_of(2) { v & 0xfff } else { v >> 4 })
            }
            16 => u64::from(u16::from_le_bytes([fat[2 * c], fat[2 * c + 1]])),
            _ => u64::from(
                u32::from_le_bytes([fat[4 * c], fat[4 * c + 1], fat[4 * c + 2], fat[4 * c + 3]])
                    & 0x0fff_ffff,
            ),
        }
    };
    let eoc = match bits {
        12 => 0xff8,
        16 => 0xfff8,
        _ => 0x0fff_fff8,
    };
    let cluster_bytes = per_cluster * sector;
    let chain = |start: u64| -> Result<Vec<(u64, u64)>, FormatError> {
        let mut v = Vec::new();
        let mut c = start;
        while (2..eoc).contains(&c) {
            if c - 2 >= clusters || v.len() as u64 > clusters {
                return Err(bad(image, "broken cluster chain"));
            }
            v.push(((data_start + (c - 2) * per_cluster) * sector, cluster_bytes));
            c = next(c);
        }
        Ok(v)
    };
    let (date, time) = fat_datetime(epoch);
    // Directory regions still to visit: (offset, length) lists.
    let mut todo: Vec<Vec<(u64, u64)>> = vec![if bits == 32 {
        chain(u32le(44))?
    } else {
        vec![((reserved + nfats * fat_size) * sector, root_sectors * sector)]
    }];
    let mut visited = 0u64;
    while let Some(regions) = todo.pop() {
        visited += 1;
        if visited > clusters + 1 {
            return Err(bad(image, "directory loop"));
        }
        'dir: for (off, len) in regions {
            let mut buf = vec![0u8; len as usize];
            f.seek(SeekFrom::Start(off)).map_err(FormatError::io(image))?;
            f.read_exact(&mut buf).map_err(FormatError::io(image))?;
            let mut end = false;
            for e in buf.chunks_exact_mut(32) {
                if e[0] == 0 {
                    end = true;
                    break;
                }
                if e[0] == 0xe5 || e[11] == 0x0f {
                    continue;
                }
                e[13] = 0;
                e[14..16].copy_from_slice(&time.to_le_bytes());
                e[16..18].copy_from_slice(&date.to_le_bytes());
                e[18..20].copy_from_slice(&date.to_le_bytes());
                e[22..24].copy_from_slice(&time.to_le_bytes());
                e[24..26].copy_from_slice(&date.to_le_bytes());
                let is_dot = e[0] == b'.';
                if e[11] & 0x10 != 0 && !is_dot {
                    let hi = u64::from(u16::from_le_bytes([e[20], e[21]]));
                    let lo = u64::from(u16::from_le_bytes([e[26], e[27]]));
                    todo.push(chain((hi << 16) | lo)?);
                }
            }
            f.seek(SeekFrom::Start(off)).map_err(FormatError::io(image))?;
            f.write_all(&buf).map_err(FormatError::io(image))?;
            if end {
                break 'dir;
            }
        }
    }
    f.flush().map_err(FormatError::io(image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fat_dates() {
        // 2023-11-14 22:13:20
        let (d, t) = fat_datetime(1_700_000_000);
        assert_eq!(d >> 9, 43);
        assert_eq!((d >> 5) & 0xf, 11);
        assert_eq!(d & 0x1f, 14);
        assert_eq!(t >> 11, 22);
        assert_eq!((t >> 5) & 0x3f, 13);
        assert_eq!(t & 0x1f, 10);
        // Before 1980 is clamped.
        assert_eq!(fat_datetime(0), (1 << 5 | 1, 0));
    }
}
