//! GPT disks written here (protective MBR, both GPT headers and entry
//! arrays; no sgdisk, no loop device): an EFI system partition (FAT32 of
//! `input.esp`) at 1 MiB and the root partition (ext4, erofs or squashfs
//! of the root) after it, typed per the Discoverable Partitions
//! Specification, GUIDs from the seed. The other disk formats start from
//! that raw disk: qcow2 and vhdx by `qemu-img convert -m 1` (vhdx's random
//! GUIDs and sequence numbers then set from the seed, checksums
//! recomputed), vhd as the raw disk plus a fixed-disk footer written here.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;

use azldev_buildroot::arch::Arch;

use super::fat::{self, FatKind};
use super::util::{self, Scratch, round_up};
use super::{DiskIds, Format, FormatError, FormatInput, disk_ids};

const MIB: u64 = 1 << 20;
const SECTOR: u64 = 512;
/// Partition entries in each GPT array (the usual 128 × 128 bytes).
const ENTRIES: u64 = 128;
const ENTRY_SIZE: u64 = 128;
const ENTRY_SECTORS: u64 = ENTRIES * ENTRY_SIZE / SECTOR;

/// Partition type GUIDs (Discoverable Partitions Specification).
pub(crate) const ESP_TYPE: &str = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
pub(crate) fn root_type(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
        Arch::Aarch64 => "b921b045-1df0-41c3-af44-4c6f280d3fae",
    }
}

/// A GUID as stored on disk: the first three fields little-endian.
pub(crate) fn guid_bytes(text: &str) -> [u8; 16] {
    let hex: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'-')
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("00"), 16).unwrap_or(0))
        .collect();
    let mut b = [0u8; 16];
    b.copy_from_slice(&hex[..16]);
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

struct Partition {
    type_guid: &'static str,
    guid: String,
    name: &'static str,
    first_lba: u64,
    last_lba: u64,
}

/// Protective MBR, primary and backup GPT of a disk of `sectors` sectors.
fn write_gpt(
    f: &mut File,
    path: &Path,
    sectors: u64,
    disk_guid: &str,
    parts: &[Partition],
) -> Result<(), FormatError> {
    let io = |source: std::io::Error| FormatError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut mbr = [0u8; 512];
    let p = &mut mbr[446..462];
    p[1..4].copy_from_slice(&[0x00, 0x02, 0x00]);
    p[4] = 0xee;
    p[5..8].copy_from_slice(&[0xff, 0xff, 0xff]);
    p[8..12].copy_from_slice(&1u32.to_le_bytes());
    p[12..16].copy_from_slice(&u32::try_from(sectors - 1).unwrap_or(u32::MAX).to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    let mut entries = vec![0u8; (ENTRIES * ENTRY_SIZE) as usize];
    for (i, part) in parts.iter().enumerate() {
        let e = &mut entries[i * ENTRY_SIZE as usize..(i + 1) * ENTRY_SIZE as usize];
        e[0..16].copy_from_slice(&guid_bytes(part.type_guid));
        e[16..32].copy_from_slice(&guid_bytes(&part.guid));
        e[32..40].copy_from_slice(&part.first_lba.to_le_bytes());
        e[40..48].copy_from_slice(&part.last_lba.to_le_bytes());
        for (j, u) in part.name.encode_utf16().take(36).enumerate() {
            e[56 + 2 * j..58 + 2 * j].copy_from_slice(&u.to_le_bytes());
        }
    }
    let entries_crc = crc32fast::hash(&entries);
    let last = sectors - 1;
    let header = |my: u64, alt: u64, entries_lba: u64| {
        let mut h = [0u8; 512];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&my.to_le_bytes());
        h[32..40].copy_from_slice(&alt.to_le_bytes());
        h[40..48].copy_from_slice(&(2 + ENTRY_SECTORS).to_le_bytes());
        h[48..56].copy_from_slice(&(last - 1 - ENTRY_SECTORS).to_le_bytes());
        h[56..72].copy_from_slice(&guid_bytes(disk_guid));
        h[72..80].copy_from_slice(&entries_lba.to_le_bytes());
        h[80..84].copy_from_slice(&(ENTRIES as u32).to_le_bytes());
        h[84..88].copy_from_slice(&(ENTRY_SIZE as u32).to_le_bytes());
        h[88..92].copy_from_slice(&entries_crc.to_le_bytes());
        let crc = crc32fast::hash(&h[..92]);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        h
    };
    let at = |f: &mut File, lba: u64, bytes: &[u8]| -> std::io::Result<()> {
        f.seek(SeekFrom::Start(lba * SECTOR))?;
        f.write_all(bytes)
    };
    at(f, 0, &mbr).map_err(&io)?;
    at(f, 1, &header(1, last, 2)).map_err(&io)?;
    at(f, 2, &entries).map_err(&io)?;
    at(f, last - ENTRY_SECTORS, &entries).map_err(&io)?;
    at(f, last, &header(last, 1, last - ENTRY_SECTORS)).map_err(FormatError::io(path))
}

/// Writes the raw GPT disk to `out` (a fresh file); returns its size.
fn write_raw(input: &FormatInput, format: Format, scratch: &Path, out: &Path) -> Result<u64, FormatError> {
    let esp_tree = input.esp.ok_or_else(|| FormatError::Input {
        format,
        message: "a disk needs the EFI system partition's tree (no ESP was given)".into(),
    })?;
    let ids: DiskIds = disk_ids(&input.seed);
    let esp_img = scratch.join("esp.img");
    let esp_size = fat::make(input, esp_tree, &esp_img, FatKind::Esp, "ESP")?;
    let root_img = scratch.join("root.img");
    // 1 MiB before the ESP, 1 MiB at the end for the backup GPT (alignment).
    let fixed = MIB + esp_size + MIB;
    let min_root = input.disk_size.and_then(|d| round_up(d, MIB).checked_sub(fixed));
    let root_size = round_up(super::fs::root_fs(input, &root_img, min_root)?, MIB);
    let size = round_up(input.disk_size.unwrap_or(0), MIB).max(fixed + root_size);
    let sectors = size / SECTOR;
    let esp_first = MIB / SECTOR;
    let esp_last = esp_first + esp_size / SECTOR - 1;
    let root_first = esp_last + 1;
    // The root partition fills the disk up to the backup GPT's 1 MiB.
    let root_last = (size - MIB) / SECTOR - 1;
    let parts = [
        Partition {
            type_guid: ESP_TYPE,
            guid: ids.esp_partuuid.clone(),
            name: super::ESP_PARTITION_NAME,
            first_lba: esp_first,
            last_lba: esp_last,
        },
        Partition {
            type_guid: root_type(input.arch),
            guid: ids.root_partuuid.clone(),
            name: super::ROOT_PARTITION_NAME,
            first_lba: root_first,
            last_lba: root_last,
        },
    ];
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)
        .map_err(FormatError::io(out))?;
    f.set_len(size).map_err(FormatError::io(out))?;
    write_gpt(&mut f, out, sectors, &ids.disk_guid, &parts)?;
    util::copy_sparse(&esp_img, &f, out, esp_first * SECTOR)?;
    util::copy_sparse(&root_img, &f, out, root_first * SECTOR)?;
    f.flush().map_err(FormatError::io(out))?;
    Ok(size)
}

/// VHD's CHS geometry of a size (the algorithm of the VHD specification).
fn chs(size: u64) -> (u16, u8, u8) {
    let mut total = size / SECTOR;
    if total > 65_535 * 16 * 255 {
        total = 65_535 * 16 * 255;
    }
    let (spt, heads, cth);
    if total >= 65_535 * 16 * 63 {
        spt = 255;
        heads = 16;
        cth = total / spt;
    } else {
        let mut s = 17;
        let mut c = total / s;
        let mut h = c.div_ceil(1024).max(4);
        if c >= h * 1024 || h > 16 {
            s = 31;
            h = 16;
            c = total / s;
        }
        if c >= h * 1024 {
            s = 63;
            h = 16;
            c = total / s;
        }
        spt = s;
        heads = h;
        cth = c;
    }
    ((cth / heads) as u16, heads as u8, spt as u8)
}

/// The 512-byte footer of a fixed VHD of `size` bytes.
pub(crate) fn vhd_footer(size: u64, epoch: i64, unique_id: [u8; 16]) -> [u8; 512] {
    let mut f = [0u8; 512];
    f[0..8].copy_from_slice(b"conectix");
    f[8..12].copy_from_slice(&2u32.to_be_bytes());
    f[12..16].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    f[16..24].copy_from_slice(&u64::MAX.to_be_bytes());
    // Seconds since 2000-01-01 00:00:00 UTC.
    let ts = u32::try_from((epoch - 946_684_800).max(0)).unwrap_or(u32::MAX);
    f[24..28].copy_from_slice(&ts.to_be_bytes());
    // The creator qemu writes with force_size: readers take the size from
    // the footer rather than from the CHS geometry (Hyper-V and Azure do).
    f[28..32].copy_from_slice(b"qem2");
    f[32..36].copy_from_slice(&0x0005_0003u32.to_be_bytes());
    f[36..40].copy_from_slice(b"Wi2k");
    f[40..48].copy_from_slice(&size.to_be_bytes());
    f[48..56].copy_from_slice(&size.to_be_bytes());
    let (c, h, s) = chs(size);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f[58] = h;
    f[59] = s;
    f[60..64].copy_from_slice(&2u32.to_be_bytes());
    f[68..84].copy_from_slice(&unique_id);
    let sum: u32 = f.iter().map(|&b| u32::from(b)).sum();
    f[64..68].copy_from_slice(&(!sum).to_be_bytes());
    f
}

/// CRC-32C (Castagnoli), VHDX's checksum.
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, v) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82f6_3b78
                } else {
                    c >> 1
                };
            }
            *v = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in data {
        crc = table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Replaces what `qemu-img convert -O vhdx` makes random (FileWriteGuid,
/// DataWriteGuid and sequence numbers of both headers, the LogGuid of log
/// entries, the Page83 disk identifier) with values from the seed and
/// recomputes the checksums.
fn patch_vhdx(path: &Path, seed: &[u8; 32]) -> Result<(), FormatError> {
    let bad = |m: &str| FormatError::Tool {
        tool: "qemu-img",
        message: format!("{}: {m}", path.display()),
    };
    let io = |source: std::io::Error| FormatError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(&io)?;
    let read = |f: &mut File, off: u64, len: usize| -> Result<Vec<u8>, FormatError> {
        let mut b = vec![0u8; len];
        f.seek(SeekFrom::Start(off)).map_err(FormatError::io(path))?;
        f.read_exact(&mut b).map_err(FormatError::io(path))?;
        Ok(b)
    };
    let le64 = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    let le32 = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let seed_guid = |p: &str| util::uuid(seed, p);
    // Headers at 64 KiB and 128 KiB (4 KiB each, checksum over 4 KiB).
    let mut headers = Vec::new();
    for off in [64 * 1024u64, 128 * 1024] {
        let h = read(&mut f, off, 4096)?;
        if &h[0..4] != b"head" {
            return Err(bad("no VHDX header"));
        }
        headers.push((off, h));
    }
    let min_seq = headers.iter().map(|(_, h)| le64(h, 8)).min().unwrap_or(0);
    let (log_offset, log_length) = (le64(&headers[0].1, 72), u64::from(le32(&headers[0].1, 68)));
    for (off, mut h) in headers {
        let seq = le64(&h, 8) - min_seq + 1;
        h[8..16].copy_from_slice(&seq.to_le_bytes());
        h[16..32].copy_from_slice(&seed_guid("vhdx-file-write"));
        h[32..48].copy_from_slice(&seed_guid("vhdx-data-write"));
        if h[48..64].iter().any(|&b| b != 0) {
            h[48..64].copy_from_slice(&seed_guid("vhdx-log"));
        }
        h[4..8].fill(0);
        let c = crc32c(&h);
        h[4..8].copy_from_slice(&c.to_le_bytes());
        f.seek(SeekFrom::Start(off)).map_err(&io)?;
        f.write_all(&h).map_err(&io)?;
    }
    // Log entries (qemu writes one while creating the image).
    let mut pos = 0u64;
    while pos + 64 <= log_length {
        let head = read(&mut f, log_offset + pos, 64)?;
        if &head[0..4] != b"loge" {
            break;
        }
        let len = u64::from(le32(&head, 8));
        if len < 4096 || pos + len > log_length {
            return Err(bad("bad log entry length"));
        }
        let mut e = read(&mut f, log_offset + pos, len as usize)?;
        e[32..48].copy_from_slice(&seed_guid("vhdx-log-entry"));
        e[4..8].fill(0);
        let c = crc32c(&e);
        e[4..8].copy_from_slice(&c.to_le_bytes());
        f.seek(SeekFrom::Start(log_offset + pos)).map_err(&io)?;
        f.write_all(&e).map_err(&io)?;
        pos += len;
    }
    // Region table → metadata region → Page83Data item.
    let rt = read(&mut f, 192 * 1024, 64 * 1024)?;
    if &rt[0..4] != b"regi" {
        return Err(bad("no region table"));
    }
    let metadata_region = guid_bytes("8b7ca206-4790-4b9a-b8fe-575f050f886e");
    let page83 = guid_bytes("beca12ab-b2e6-4523-93ef-c309e000c746");
    let count = le32(&rt, 8) as usize;
    let mut meta_off = None;
    for i in 0..count.min(2047) {
        let e = &rt[16 + 32 * i..48 + 32 * i];
        if e[0..16] == metadata_region {
            meta_off = Some(le64(e, 16));
        }
    }
    let meta_off = meta_off.ok_or_else(|| bad("no metadata region"))?;
    let mt = read(&mut f, meta_off, 64 * 1024)?;
    if &mt[0..8] != b"metadata" {
        return Err(bad("no metadata table"));
    }
    let n = usize::from(u16::from_le_bytes([mt[10], mt[11]]));
    for i in 0..n.min(2047) {
        let e = &mt[32 + 32 * i..64 + 32 * i];
        if e[0..16] == page83 {
            f.seek(SeekFrom::Start(meta_off + u64::from(le32(e, 16))))
                .map_err(&io)?;
            f.write_all(&seed_guid("vhdx-page83")).map_err(&io)?;
        }
    }
    f.flush().map_err(&io)
}

/// Copies a raw disk (holes kept); returns its size.
fn copy_raw(raw: &Path, out: &Path) -> Result<u64, FormatError> {
    let size = std::fs::metadata(raw).map_err(FormatError::io(raw))?.len();
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)
        .map_err(FormatError::io(out))?;
    f.set_len(size).map_err(FormatError::io(out))?;
    util::copy_sparse(raw, &f, out, 0)?;
    f.flush().map_err(FormatError::io(out))?;
    Ok(size)
}

pub(super) fn write(format: Format, input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let scratch = Scratch::new(input, "disk")?;
    // The raw disk of this input, written already or here.
    let raw_to = |path: &Path| -> Result<u64, FormatError> {
        match input.raw_disk {
            Some(raw) => copy_raw(raw, path),
            None => write_raw(input, format, &scratch.0, path),
        }
    };
    match format {
        Format::Raw => raw_to(out).map(|_| ()),
        Format::Vhd => {
            let size = raw_to(out)?;
            let footer = vhd_footer(size, input.source_date_epoch, util::uuid(&input.seed, "vhd"));
            let mut f = OpenOptions::new()
                .append(true)
                .open(out)
                .map_err(FormatError::io(out))?;
            f.write_all(&footer).map_err(FormatError::io(out))?;
            f.flush().map_err(FormatError::io(out))
        }
        Format::Qcow2 | Format::Vhdx => {
            let raw = match input.raw_disk {
                Some(raw) => raw.to_path_buf(),
                None => {
                    let raw = scratch.0.join("disk.raw");
                    write_raw(input, format, &scratch.0, &raw)?;
                    raw
                }
            };
            let mut cmd = Command::new("qemu-img");
            // One coroutine, writes in order: with qemu-img's default of 8
            // the order clusters (qcow2) and blocks and log entries (vhdx)
            // are allocated in follows I/O completion, and the file's
            // layout differs from one run to the next.
            cmd.args(["convert", "-m", "1", "-f", "raw"]);
            if format == Format::Qcow2 {
                cmd.args(["-O", "qcow2"]);
            } else {
                cmd.args(["-O", "vhdx", "-o", "subformat=dynamic"]);
            }
            let _ = std::fs::remove_file(out);
            util::runner(input).run(cmd.arg(&raw).arg(out))?;
            if format == Format::Vhdx {
                patch_vhdx(out, &input.seed)?;
            }
            Ok(())
        }
        _ => Err(FormatError::Input {
            format,
            message: "not a disk format".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_on_disk_is_mixed_endian() {
        let b = guid_bytes("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        assert_eq!(
            b,
            [
                0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9,
                0x3b
            ]
        );
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn vhd_footer_checksum_and_geometry() {
        let f = vhd_footer(64 << 20, 946_684_800 + 5, [1; 16]);
        assert_eq!(&f[0..8], b"conectix");
        assert_eq!(u32::from_be_bytes([f[24], f[25], f[26], f[27]]), 5);
        let mut g = f;
        g[64..68].fill(0);
        let sum: u32 = g.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(u32::from_be_bytes([f[64], f[65], f[66], f[67]]), !sum);
        // 64 MiB = 131072 sectors: 17 spt, 8 heads, 963 cylinders.
        assert_eq!(chs(64 << 20), (963, 8, 17));
    }
}
