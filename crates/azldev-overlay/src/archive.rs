//! Archive overlays: file overlays with `archive = "x.tar.gz"` edit the
//! members of an archive in the component tree.
//!
//! A run of consecutive overlays naming the same archive is one batch: the
//! archive is decoded into an in-memory member list (order, modes, link
//! targets and each member's original bytes kept), the file overlays run on
//! the members through the same code as on the tree ([`FileSet`]), and the
//! archive is repacked with the compression it had. After all overlays, the
//! digest of each edited archive is checked against its `source-files` entry
//! (`origin = { type = "overlay" }`) and written to the `sources` file.
//!
//! Repacking is deterministic: the same input gives the same bytes on any
//! machine and with any set of Cargo features enabled elsewhere.
//! - Untouched members are copied byte for byte (tar: their headers,
//!   extension headers and data; zip: local record and central directory
//!   record, only the offset updated).
//! - New or changed members get fixed metadata: mtime = the newest mtime of
//!   the original members, uid/gid 0 (`root`), mode 0644 for a new member;
//!   a changed or renamed member keeps its mode (an edited `configure` stays
//!   executable).
//! - Compression uses fixed settings and pure-Rust encoders pinned by
//!   `Cargo.lock`: gzip level 9 through `miniz_oxide` directly (so a zlib
//!   backend switched on for `flate2` elsewhere cannot change the output),
//!   with a header without timestamp or name (OS byte 255); xz preset 6 with
//!   CRC64, single block and single thread; bzip2 level 9; zstd at
//!   `ruzstd`'s `Fastest` level with a content checksum; zip members deflated
//!   at level 9 with `miniz_oxide`.
//!
//! Decoding rejects (a typed error naming the member) absolute paths, `..`
//! components, device, fifo and socket entries, symbolic links whose target
//! (resolved through the archive's other links) leaves the archive, hard
//! links to anything but an earlier member, and duplicate members.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::ops::Range;

use azldev_config::ResolvedOverlay;
use azldev_config::raw::{HashType, OriginType};
use globset::GlobMatcher;
use sha2::Digest;

use crate::apply::{FileSet, InputReader, OpError, apply_file_overlay};
use crate::tree::{ComponentTree, FileMode, normalize};

/// Why an archive overlay failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("archive `{archive}`: {kind}")]
pub struct ArchiveError {
    /// The archive's file name.
    pub archive: String,
    pub kind: ArchiveErrorKind,
}

impl ArchiveError {
    pub fn new(archive: &str, kind: ArchiveErrorKind) -> Self {
        Self {
            archive: archive.to_owned(),
            kind,
        }
    }
}

/// What went wrong with an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveErrorKind {
    #[error("it is not in the component's files")]
    NotInTree,
    #[error("`archive` is only valid on file overlays")]
    NotAFileOverlay,
    #[error("archive overlays are applied in batches by `apply_overlays`")]
    NotBatched,
    #[error("the component has no `source-files` entry for it")]
    NoSourceFile,
    #[error("its `source-files` entry needs `origin = {{ type = \"overlay\" }}`")]
    NotOverlayOrigin,
    #[error("its `source-files` entry needs `hash` and `hash-type` (the digest after the overlays)")]
    NoDigest,
    #[error("unsupported archive type; supported: .tar, .tar.gz, .tar.xz, .tar.bz2, .tar.zst, .zip")]
    UnsupportedType,
    #[error("the name says {named} but the contents are {found}")]
    FormatMismatch { named: String, found: String },
    #[error("cannot read it: {0}")]
    Corrupt(String),
    #[error("cannot write it: {0}")]
    Encode(String),
    #[error("member `{0}` has an absolute path")]
    AbsolutePath(String),
    #[error("member `{0}` has a `..` component")]
    ParentDir(String),
    #[error("member `{member}` is a {what}, which source archives may not contain")]
    SpecialFile { member: String, what: String },
    #[error("link `{member}` points at `{target}`, outside the archive")]
    LinkEscapes { member: String, target: String },
    #[error("hard link `{member}` points at `{target}`, which is not an earlier file of the archive")]
    HardLinkTarget { member: String, target: String },
    #[error("member `{0}` appears more than once")]
    Duplicate(String),
    #[error("member `{member}`: {why}")]
    UnsupportedMember { member: String, why: String },
    #[error("{what} is larger than the {limit} bytes `{setting}` allows")]
    TooLarge {
        what: String,
        limit: u64,
        setting: &'static str,
    },
    #[error(
        "after its overlays it has {hash_type} digest {actual}, but its `source-files` entry says {expected}; \
         if the change is intended, set `hash = \"{actual}\"`"
    )]
    DigestMismatch {
        hash_type: String,
        expected: String,
        actual: String,
    },
}

type Kind = ArchiveErrorKind;

/// Size limits on decoding an archive: an archive is unpacked in memory, so
/// a small archive of a huge zero-filled member must not exhaust it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Largest member, uncompressed (`archive-max-member-size`).
    pub max_member: u64,
    /// Largest archive, decompressed (`archive-max-total-size`).
    pub max_total: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_member: 1 << 30,
            max_total: 2 << 30,
        }
    }
}

static MAX_MEMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 30);
static MAX_TOTAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(2 << 30);

/// Set the limits archive overlays observe in this process (the tool
/// settings; the defaults are [`ArchiveLimits::default`]).
pub fn set_archive_limits(limits: ArchiveLimits) {
    MAX_MEMBER.store(limits.max_member, std::sync::atomic::Ordering::Relaxed);
    MAX_TOTAL.store(limits.max_total, std::sync::atomic::Ordering::Relaxed);
}

/// The limits in force.
#[must_use]
pub fn archive_limits() -> ArchiveLimits {
    ArchiveLimits {
        max_member: MAX_MEMBER.load(std::sync::atomic::Ordering::Relaxed),
        max_total: MAX_TOTAL.load(std::sync::atomic::Ordering::Relaxed),
    }
}

/// Read all of `r` into `out`, failing once more than `limit` bytes come.
fn read_capped(
    r: impl Read,
    out: &mut Vec<u8>,
    limit: u64,
    what: &str,
    setting: &'static str,
) -> Result<(), Kind> {
    let start = out.len() as u64;
    r.take(limit.saturating_add(1).saturating_sub(start))
        .read_to_end(out)
        .map_err(io_err)?;
    if out.len() as u64 > limit {
        return Err(Kind::TooLarge {
            what: what.to_owned(),
            limit,
            setting,
        });
    }
    Ok(())
}

// ----- formats ------------------------------------------------------------

/// Container and compression of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tar,
    TarGz,
    TarXz,
    TarBz2,
    TarZst,
    Zip,
}

impl Format {
    /// The format a file name announces.
    pub fn from_name(name: &str) -> Option<Self> {
        const SUFFIXES: [(&str, Format); 10] = [
            (".tar.gz", Format::TarGz),
            (".tgz", Format::TarGz),
            (".tar.xz", Format::TarXz),
            (".txz", Format::TarXz),
            (".tar.bz2", Format::TarBz2),
            (".tbz2", Format::TarBz2),
            (".tar.zst", Format::TarZst),
            (".tzst", Format::TarZst),
            (".tar", Format::Tar),
            (".zip", Format::Zip),
        ];
        let lower = name.to_ascii_lowercase();
        SUFFIXES
            .iter()
            .find(|(suffix, _)| lower.len() > suffix.len() && lower.ends_with(suffix))
            .map(|&(_, f)| f)
    }

    /// The format the first bytes announce (a tar is recognised by its
    /// header; anything else is `None`).
    pub fn sniff(data: &[u8]) -> Option<Self> {
        if data.starts_with(&[0x1f, 0x8b]) {
            Some(Self::TarGz)
        } else if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Self::TarXz)
        } else if data.starts_with(b"BZh") {
            Some(Self::TarBz2)
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Self::TarZst)
        } else if data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06") {
            Some(Self::Zip)
        } else if looks_like_tar(data) {
            Some(Self::Tar)
        } else {
            None
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Tar => "an uncompressed tar",
            Self::TarGz => "gzip",
            Self::TarXz => "xz",
            Self::TarBz2 => "bzip2",
            Self::TarZst => "zstd",
            Self::Zip => "zip",
        }
    }
}

/// A tar header block: `ustar` magic, or a valid checksum, or the
/// end-of-archive zeros of an empty tar.
fn looks_like_tar(data: &[u8]) -> bool {
    let Some(block) = data.get(..512) else {
        return false;
    };
    if block.get(257..262) == Some(b"ustar".as_slice()) {
        return true;
    }
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    let stored = block
        .get(148..156)
        .and_then(|f| std::str::from_utf8(f).ok())
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) })
        .sum();
    stored == Some(sum)
}

fn io_err(e: impl std::fmt::Display) -> Kind {
    Kind::Corrupt(e.to_string())
}

fn decompress(format: Format, data: &[u8]) -> Result<Vec<u8>, Kind> {
    let limit = archive_limits().max_total;
    let total = |out: &mut Vec<u8>, r: &mut dyn Read| {
        read_capped(
            r,
            out,
            limit,
            "the decompressed archive",
            "archive-max-total-size",
        )
    };
    let mut out = Vec::new();
    match format {
        Format::Tar | Format::Zip => {
            if data.len() as u64 > limit {
                return Err(Kind::TooLarge {
                    what: "the archive".into(),
                    limit,
                    setting: "archive-max-total-size",
                });
            }
            return Ok(data.to_vec());
        }
        Format::TarGz => total(&mut out, &mut flate2::read::MultiGzDecoder::new(data))?,
        Format::TarXz => total(&mut out, &mut lzma_rust2::XzReader::new(data, true))?,
        Format::TarBz2 => total(&mut out, &mut bzip2::read::MultiBzDecoder::new(data))?,
        Format::TarZst => {
            let mut input = data;
            while !input.is_empty() {
                match ruzstd::decoding::StreamingDecoder::new(&mut input) {
                    Ok(mut frame) => total(&mut out, &mut frame)?,
                    Err(ruzstd::decoding::errors::FrameDecoderError::ReadFrameHeaderError(
                        ruzstd::decoding::errors::ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        input = usize::try_from(length)
                            .ok()
                            .and_then(|l| input.get(l..))
                            .ok_or_else(|| Kind::Corrupt("truncated skippable zstd frame".into()))?;
                    }
                    Err(e) => return Err(io_err(e)),
                }
            }
        }
    }
    Ok(out)
}

/// Deflate with fixed settings (raw deflate stream).
fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(data, 9)
}

fn compress(format: Format, data: Vec<u8>) -> Result<Vec<u8>, Kind> {
    let enc = |e: std::io::Error| Kind::Encode(e.to_string());
    Ok(match format {
        Format::Tar | Format::Zip => data,
        Format::TarGz => {
            // RFC 1952 header: deflate, no flags, mtime 0, XFL 2 (best
            // compression), OS 255 (unknown).
            let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];
            out.extend_from_slice(&deflate(&data));
            out.extend_from_slice(&crc32fast::hash(&data).to_le_bytes());
            // ISIZE is the length modulo 2^32.
            out.extend_from_slice(&((data.len() as u64 & 0xffff_ffff) as u32).to_le_bytes());
            out
        }
        Format::TarXz => {
            use std::io::Write;
            let mut w =
                lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).map_err(enc)?;
            w.write_all(&data).map_err(enc)?;
            w.finish().map_err(enc)?
        }
        Format::TarBz2 => {
            use std::io::Write;
            let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            w.write_all(&data).map_err(enc)?;
            w.finish().map_err(enc)?
        }
        Format::TarZst => {
            ruzstd::encoding::compress_to_vec(data.as_slice(), ruzstd::encoding::CompressionLevel::Fastest)
        }
    })
}

// ----- the member model -----------------------------------------------------

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberKind {
    File,
    Dir,
    Symlink,
    HardLink,
    /// Kept as it is, never matched: a pax global header, the `./` entry.
    Opaque,
}

/// Where a member's original bytes are.
#[derive(Debug, Clone)]
enum Orig {
    /// Added by an overlay.
    New,
    Tar {
        /// Extension headers, header, data and padding.
        range: Range<usize>,
        style: TarStyle,
    },
    Zip {
        /// Local header, data and data descriptor.
        local: Range<usize>,
        /// Central directory record.
        central: Range<usize>,
        method: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TarStyle {
    Ustar,
    Gnu,
}

#[derive(Debug, Clone)]
struct Member {
    /// Normalised path (no `./`, no trailing `/`); empty for the root entry.
    path: String,
    /// The name as written in the archive, used when a changed member is
    /// written again.
    name: String,
    kind: MemberKind,
    /// Contents of a file.
    data: Vec<u8>,
    /// Target of a link (hard links: a normalised member path).
    link: String,
    /// Permission bits.
    mode: u32,
    /// Changed since decoding: written with fixed metadata.
    dirty: bool,
    orig: Orig,
}

/// A decoded archive.
#[derive(Debug, Clone)]
pub(crate) struct Archive {
    name: String,
    format: Format,
    /// The decompressed container (tar or zip bytes) the members point into.
    raw: Vec<u8>,
    members: Vec<Member>,
    /// Newest mtime of the original members: seconds for tar, the DOS
    /// `date << 16 | time` for zip.
    newest: u64,
    /// Header style of new tar members (the first member's).
    style: TarStyle,
    /// Zip archive comment.
    comment: Vec<u8>,
}

impl Archive {
    fn err(&self, kind: Kind) -> ArchiveError {
        ArchiveError::new(&self.name, kind)
    }

    /// Decode an archive, rejecting unsafe members.
    pub(crate) fn decode(name: &str, bytes: &[u8]) -> Result<Self, ArchiveError> {
        let e = |kind| ArchiveError::new(name, kind);
        let named = Format::from_name(name).ok_or_else(|| e(Kind::UnsupportedType))?;
        let found = Format::sniff(bytes).ok_or_else(|| {
            e(Kind::FormatMismatch {
                named: named.describe().into(),
                found: "not a recognised archive".into(),
            })
        })?;
        if found != named {
            return Err(e(Kind::FormatMismatch {
                named: named.describe().into(),
                found: found.describe().into(),
            }));
        }
        let raw = decompress(named, bytes).map_err(e)?;
        let mut archive = Self {
            name: name.to_owned(),
            format: named,
            raw: Vec::new(),
            members: Vec::new(),
            newest: 0,
            style: TarStyle::Ustar,
            comment: Vec::new(),
        };
        if named == Format::Zip {
            read_zip(&raw, &mut archive).map_err(e)?;
        } else {
            if !raw.is_empty() && !looks_like_tar(&raw) {
                return Err(e(Kind::Corrupt(
                    "the decompressed data is not a tar archive".into(),
                )));
            }
            read_tar(&raw, &mut archive).map_err(e)?;
        }
        archive.raw = raw;
        check_members(&archive.members).map_err(e)?;
        Ok(archive)
    }

    /// Repack: same format, untouched members byte for byte.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, ArchiveError> {
        check_members(&self.members).map_err(|k| self.err(k))?;
        let container = if self.format == Format::Zip {
            write_zip(self)
        } else {
            write_tar(self)
        }
        .map_err(|k| self.err(k))?;
        compress(self.format, container).map_err(|k| self.err(k))
    }

    fn index_of(&self, path: &str) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.kind != MemberKind::Opaque && m.path == path)
    }

    /// Paths of the member list, for unit tests.
    #[cfg(test)]
    fn paths(&self) -> Vec<&str> {
        self.members.iter().map(|m| m.path.as_str()).collect()
    }
}

fn utf8_name(bytes: &[u8]) -> Result<String, Kind> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Kind::UnsupportedMember {
        member: String::from_utf8_lossy(bytes).into_owned(),
        why: "the name is not UTF-8".into(),
    })
}

/// Normalise a member name: refuse absolute paths and `..`; the root entry
/// (`./`) is the empty path.
fn member_path(name: &str) -> Result<String, Kind> {
    if name.starts_with('/') {
        return Err(Kind::AbsolutePath(name.to_owned()));
    }
    if name.split('/').any(|c| c == "..") {
        return Err(Kind::ParentDir(name.to_owned()));
    }
    if name.contains('\0') {
        return Err(Kind::UnsupportedMember {
            member: name.to_owned(),
            why: "the name contains a NUL byte".into(),
        });
    }
    if name.split('/').all(|c| c.is_empty() || c == ".") {
        return Ok(String::new());
    }
    normalize(name).map_err(|e| Kind::UnsupportedMember {
        member: name.to_owned(),
        why: e.to_string(),
    })
}

/// Whether a symbolic link at `path` with `target`, resolved through the
/// archive's other symbolic links, leaves the archive (or loops).
fn symlink_escapes(links: &HashMap<&str, &str>, path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut pending: Vec<String> = target.split('/').rev().map(str::to_owned).collect();
    pending.extend(dir.split('/').rev().map(str::to_owned));
    let mut cur: Vec<String> = Vec::new();
    let mut budget = 64u32;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "" | "." => {}
            ".." => {
                if cur.pop().is_none() {
                    return true;
                }
            }
            _ => {
                cur.push(c);
                let joined = cur.join("/");
                if let Some(t) = links.get(joined.as_str()) {
                    budget -= 1;
                    if budget == 0 || t.starts_with('/') {
                        return true;
                    }
                    cur.pop();
                    pending.extend(t.split('/').rev().map(str::to_owned));
                }
            }
        }
    }
    false
}

/// The safety rules, on decoding and again before encoding.
fn check_members(members: &[Member]) -> Result<(), Kind> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut files_before: HashSet<&str> = HashSet::new();
    let links: HashMap<&str, &str> = members
        .iter()
        .filter(|m| m.kind == MemberKind::Symlink)
        .map(|m| (m.path.as_str(), m.link.as_str()))
        .collect();
    for m in members {
        if m.kind == MemberKind::Opaque {
            continue;
        }
        if !seen.insert(m.path.as_str()) {
            return Err(Kind::Duplicate(m.path.clone()));
        }
        match m.kind {
            MemberKind::Symlink if m.link.is_empty() || symlink_escapes(&links, &m.path, &m.link) => {
                return Err(Kind::LinkEscapes {
                    member: m.path.clone(),
                    target: m.link.clone(),
                });
            }
            MemberKind::HardLink if !files_before.contains(m.link.as_str()) => {
                return Err(Kind::HardLinkTarget {
                    member: m.path.clone(),
                    target: m.link.clone(),
                });
            }
            _ => {}
        }
        if m.kind != MemberKind::Dir {
            files_before.insert(m.path.as_str());
        }
    }
    Ok(())
}

// ----- tar ------------------------------------------------------------------

fn pad512(n: u64) -> Option<u64> {
    n.checked_add(511).map(|v| v & !511)
}

fn read_tar(raw: &[u8], archive: &mut Archive) -> Result<(), Kind> {
    let mut ar = tar::Archive::new(raw);
    let mut group_start = 0usize;
    let mut first = true;
    for entry in ar.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        let header = entry.header().clone();
        let name = utf8_name(&entry.path_bytes())?;
        let ty = header.entry_type();
        let end = usize::try_from(
            pad512(entry.size())
                .and_then(|s| s.checked_add(entry.raw_file_position()))
                .ok_or_else(|| Kind::Corrupt("member size overflows".into()))?,
        )
        .map_err(io_err)?;
        if end > raw.len() || group_start > end {
            return Err(Kind::Corrupt(format!("member `{name}` is truncated")));
        }
        let range = group_start..end;
        group_start = end;
        let style = if header.as_gnu().is_some() {
            TarStyle::Gnu
        } else {
            TarStyle::Ustar
        };
        if first && !ty.is_pax_global_extensions() {
            archive.style = style;
            first = false;
        }
        let orig = Orig::Tar { range, style };
        if ty.is_pax_global_extensions() {
            archive.members.push(Member {
                path: String::new(),
                name,
                kind: MemberKind::Opaque,
                data: Vec::new(),
                link: String::new(),
                mode: 0,
                dirty: false,
                orig,
            });
            continue;
        }
        let path = member_path(&name)?;
        let special = |what: &str| Kind::SpecialFile {
            member: name.clone(),
            what: what.into(),
        };
        let kind = if ty.is_file() || ty.is_contiguous() {
            MemberKind::File
        } else if ty.is_dir() {
            MemberKind::Dir
        } else if ty.is_symlink() {
            MemberKind::Symlink
        } else if ty.is_hard_link() {
            MemberKind::HardLink
        } else if ty.is_character_special() {
            return Err(special("character device"));
        } else if ty.is_block_special() {
            return Err(special("block device"));
        } else if ty.is_fifo() {
            return Err(special("fifo"));
        } else {
            return Err(Kind::UnsupportedMember {
                member: name,
                why: format!("unsupported tar entry type `{}`", char::from(ty.as_byte())),
            });
        };
        let mut data = Vec::new();
        let mut link = String::new();
        match kind {
            MemberKind::File => {
                let limit = archive_limits().max_member;
                read_capped(
                    &mut entry,
                    &mut data,
                    limit,
                    &format!("member `{name}`"),
                    "archive-max-member-size",
                )?;
            }
            MemberKind::Symlink | MemberKind::HardLink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                link = utf8_name(&target)?;
                if kind == MemberKind::HardLink {
                    link = hard_link_target(&name, &link)?;
                }
            }
            _ => {}
        }
        let kind = if kind == MemberKind::Dir && path.is_empty() {
            MemberKind::Opaque
        } else {
            kind
        };
        if kind != MemberKind::Opaque && path.is_empty() {
            return Err(Kind::UnsupportedMember {
                member: name,
                why: "the name is empty".into(),
            });
        }
        archive.newest = archive.newest.max(header.mtime().unwrap_or(0));
        archive.members.push(Member {
            path,
            name,
            kind,
            data,
            link,
            mode: header.mode().unwrap_or(0o644) & 0o7777,
            dirty: false,
            orig,
        });
    }
    Ok(())
}

/// A hard link's target: a member path, relative to the archive root.
fn hard_link_target(member: &str, target: &str) -> Result<String, Kind> {
    let escapes = || Kind::LinkEscapes {
        member: member.to_owned(),
        target: target.to_owned(),
    };
    if target.starts_with('/') || target.split('/').any(|c| c == "..") {
        return Err(escapes());
    }
    match member_path(target) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => Err(escapes()),
    }
}

fn tar_header(style: TarStyle) -> tar::Header {
    match style {
        TarStyle::Ustar => tar::Header::new_ustar(),
        TarStyle::Gnu => tar::Header::new_gnu(),
    }
}

fn write_tar(a: &Archive) -> Result<Vec<u8>, Kind> {
    let enc = |m: &Member, e: std::io::Error| Kind::Encode(format!("member `{}`: {e}", m.path));
    let mut b = tar::Builder::new(Vec::new());
    for m in &a.members {
        let style = match &m.orig {
            Orig::Tar { range, style } => {
                if !m.dirty {
                    let bytes = a
                        .raw
                        .get(range.clone())
                        .ok_or_else(|| Kind::Encode(format!("member `{}` lost its bytes", m.path)))?;
                    b.get_mut().extend_from_slice(bytes);
                    continue;
                }
                *style
            }
            _ => a.style,
        };
        let mut h = tar_header(style);
        h.set_mode(m.mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root").map_err(|e| enc(m, e))?;
        h.set_groupname("root").map_err(|e| enc(m, e))?;
        h.set_mtime(a.newest);
        match m.kind {
            MemberKind::File => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(m.data.len() as u64);
                b.append_data(&mut h, &m.name, m.data.as_slice())
                    .map_err(|e| enc(m, e))?;
            }
            MemberKind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                let name = if m.name.ends_with('/') {
                    m.name.clone()
                } else {
                    format!("{}/", m.name)
                };
                b.append_data(&mut h, name, std::io::empty())
                    .map_err(|e| enc(m, e))?;
            }
            MemberKind::Symlink | MemberKind::HardLink => {
                h.set_entry_type(if m.kind == MemberKind::Symlink {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_size(0);
                b.append_link(&mut h, &m.name, &m.link).map_err(|e| enc(m, e))?;
            }
            MemberKind::Opaque => {
                return Err(Kind::Encode(format!("entry `{}` lost its bytes", m.name)));
            }
        }
    }
    b.into_inner().map_err(|e| Kind::Encode(e.to_string()))
}

// ----- zip ------------------------------------------------------------------

const ZIP_LOCAL: u32 = 0x0403_4b50;
const ZIP_CENTRAL: u32 = 0x0201_4b50;
const ZIP_END: u32 = 0x0605_4b50;
const ZIP_DESCRIPTOR: u32 = 0x0807_4b50;
const S_IFMT: u32 = 0o170_000;

fn le16(b: &[u8], at: usize) -> Result<u16, Kind> {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or_else(|| Kind::Corrupt("truncated zip structure".into()))
}

fn le32(b: &[u8], at: usize) -> Result<u32, Kind> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| Kind::Corrupt("truncated zip structure".into()))
}

fn slice(b: &[u8], r: Range<usize>) -> Result<&[u8], Kind> {
    b.get(r)
        .ok_or_else(|| Kind::Corrupt("truncated zip structure".into()))
}

fn usize_of(v: u32) -> usize {
    // Lossless on every target this tool supports (32 bits or more).
    v as usize
}

fn read_zip(raw: &[u8], archive: &mut Archive) -> Result<(), Kind> {
    // End of central directory: the last signature within the comment range.
    let min = raw.len().saturating_sub(22 + 0xffff);
    let eocd = (min..raw.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(raw, i).ok() == Some(ZIP_END))
        .ok_or_else(|| Kind::Corrupt("no zip end of central directory".into()))?;
    let disk = le16(raw, eocd + 4)?;
    let cd_disk = le16(raw, eocd + 6)?;
    let count = le16(raw, eocd + 10)?;
    let cd_size = le32(raw, eocd + 12)?;
    let cd_offset = le32(raw, eocd + 16)?;
    let comment_len = usize::from(le16(raw, eocd + 20)?);
    if disk != 0 || cd_disk != 0 {
        return Err(Kind::Corrupt("multi-disk zip archives are not supported".into()));
    }
    if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        return Err(Kind::Corrupt("zip64 archives are not supported".into()));
    }
    archive.comment = slice(raw, eocd + 22..eocd + 22 + comment_len)?.to_vec();
    let mut at = usize_of(cd_offset);
    for _ in 0..count {
        if le32(raw, at)? != ZIP_CENTRAL {
            return Err(Kind::Corrupt("bad zip central directory record".into()));
        }
        let made_by = le16(raw, at + 4)?;
        let flags = le16(raw, at + 8)?;
        let method = le16(raw, at + 10)?;
        let dos_time = le16(raw, at + 12)?;
        let dos_date = le16(raw, at + 14)?;
        let crc = le32(raw, at + 16)?;
        let csize = le32(raw, at + 20)?;
        let usize_ = le32(raw, at + 24)?;
        let name_len = usize::from(le16(raw, at + 28)?);
        let extra_len = usize::from(le16(raw, at + 30)?);
        let comment_len = usize::from(le16(raw, at + 32)?);
        let external = le32(raw, at + 38)?;
        let local_at = usize_of(le32(raw, at + 42)?);
        let name = utf8_name(slice(raw, at + 46..at + 46 + name_len)?)?;
        let central = at..at + 46 + name_len + extra_len + comment_len;
        slice(raw, central.clone())?;
        at = central.end;

        if csize == 0xffff_ffff || usize_ == 0xffff_ffff || local_at == 0xffff_ffff {
            return Err(Kind::UnsupportedMember {
                member: name,
                why: "zip64 members are not supported".into(),
            });
        }
        if flags & 1 != 0 {
            return Err(Kind::UnsupportedMember {
                member: name,
                why: "the member is encrypted".into(),
            });
        }
        if name.contains('\\') {
            // Unzip treats `\` in names written by DOS tools as a separator.
            member_path(&name.replace('\\', "/")).map_err(|k| match k {
                Kind::AbsolutePath(_) => Kind::AbsolutePath(name.clone()),
                Kind::ParentDir(_) => Kind::ParentDir(name.clone()),
                other => other,
            })?;
        }
        let path = member_path(&name)?;
        // Unix file type and mode live in the high half of the external
        // attributes when the archive was made on Unix.
        let unix_mode = (made_by >> 8 == 3).then_some(external >> 16).filter(|&m| m != 0);
        let ftype = unix_mode.map_or(0, |m| m & S_IFMT);
        let is_dir =
            name.ends_with('/') || ftype == 0o040_000 || (unix_mode.is_none() && external & 0x10 != 0);
        let special = |what: &str| Kind::SpecialFile {
            member: name.clone(),
            what: what.into(),
        };
        let kind = match ftype {
            0o020_000 => return Err(special("character device")),
            0o060_000 => return Err(special("block device")),
            0o010_000 => return Err(special("fifo")),
            0o140_000 => return Err(special("socket")),
            0o120_000 => MemberKind::Symlink,
            _ if is_dir => MemberKind::Dir,
            _ => MemberKind::File,
        };
        if path.is_empty() {
            return Err(Kind::UnsupportedMember {
                member: name,
                why: "the name is empty".into(),
            });
        }

        // Local record: header, data, optional data descriptor.
        if le32(raw, local_at)? != ZIP_LOCAL {
            return Err(Kind::Corrupt(format!("bad zip local header for `{name}`")));
        }
        let local_name = usize::from(le16(raw, local_at + 26)?);
        let local_extra = usize::from(le16(raw, local_at + 28)?);
        let data_at = local_at + 30 + local_name + local_extra;
        let data_end = data_at + usize_of(csize);
        let compressed = slice(raw, data_at..data_end)?;
        let mut local_end = data_end;
        if flags & 8 != 0 {
            local_end += if le32(raw, data_end).ok() == Some(ZIP_DESCRIPTOR) {
                16
            } else {
                12
            };
            slice(raw, data_at..local_end)?;
        }
        let data = match method {
            0 => compressed.to_vec(),
            8 => {
                let limit = archive_limits().max_member;
                let mut out = Vec::with_capacity(usize_of(usize_).min(usize::try_from(limit).unwrap_or(0)));
                read_capped(
                    flate2::read::DeflateDecoder::new(compressed),
                    &mut out,
                    limit,
                    &format!("member `{name}`"),
                    "archive-max-member-size",
                )
                .map_err(|k| match k {
                    Kind::Corrupt(e) => Kind::Corrupt(format!("member `{name}`: {e}")),
                    other => other,
                })?;
                out
            }
            m => {
                return Err(Kind::UnsupportedMember {
                    member: name,
                    why: format!("zip compression method {m} (only stored and deflate)"),
                });
            }
        };
        if crc32fast::hash(&data) != crc || data.len() != usize_of(usize_) {
            return Err(Kind::Corrupt(format!("member `{name}` fails its CRC check")));
        }
        let (data, link) = if kind == MemberKind::Symlink {
            (Vec::new(), utf8_name(&data)?)
        } else {
            (data, String::new())
        };
        let mode = unix_mode.map_or(if kind == MemberKind::Dir { 0o755 } else { 0o644 }, |m| {
            m & 0o7777
        });
        let dos = (u64::from(dos_date) << 16) | u64::from(dos_time);
        archive.newest = archive.newest.max(dos);
        archive.members.push(Member {
            path,
            name,
            kind,
            data,
            link,
            mode,
            dirty: false,
            orig: Orig::Zip {
                local: local_at..local_end,
                central,
                method,
            },
        });
    }
    Ok(())
}

fn u32_len(n: usize, what: &str) -> Result<u32, Kind> {
    u32::try_from(n).map_err(|_| Kind::Encode(format!("{what} is too large for a zip without zip64")))
}

fn u16_len(n: usize, what: &str) -> Result<u16, Kind> {
    u16::try_from(n).map_err(|_| Kind::Encode(format!("{what} is too long for a zip")))
}

fn write_zip(a: &Archive) -> Result<Vec<u8>, Kind> {
    let mut out: Vec<u8> = Vec::new();
    let mut cd: Vec<u8> = Vec::new();
    let (dos_date, dos_time) = ((a.newest >> 16) as u16, (a.newest & 0xffff) as u16);
    let mut count = 0usize;
    for m in &a.members {
        let offset = u32_len(out.len(), "the archive")?;
        count += 1;
        if let (Orig::Zip { local, central, .. }, false) = (&m.orig, m.dirty) {
            let local = slice(&a.raw, local.clone())?;
            let central = slice(&a.raw, central.clone())?;
            out.extend_from_slice(local);
            let start = cd.len();
            cd.extend_from_slice(central);
            if let Some(field) = cd.get_mut(start + 42..start + 46) {
                field.copy_from_slice(&offset.to_le_bytes());
            }
            continue;
        }
        let (name, ftype, payload): (String, u32, &[u8]) = match m.kind {
            MemberKind::File => (m.name.clone(), 0o100_000, &m.data),
            MemberKind::Dir => {
                let name = if m.name.ends_with('/') {
                    m.name.clone()
                } else {
                    format!("{}/", m.name)
                };
                (name, 0o040_000, &[])
            }
            MemberKind::Symlink => (m.name.clone(), 0o120_000, m.link.as_bytes()),
            MemberKind::HardLink | MemberKind::Opaque => {
                return Err(Kind::Encode(format!(
                    "member `{}` cannot be written to a zip",
                    m.path
                )));
            }
        };
        let stored = match m.orig {
            Orig::Zip { method, .. } => method == 0,
            _ => false,
        } || payload.is_empty()
            || m.kind != MemberKind::File;
        let (method, compressed): (u16, Vec<u8>) = if stored {
            (0, payload.to_vec())
        } else {
            (8, deflate(payload))
        };
        let version: u16 = if method == 8 || m.kind == MemberKind::Dir {
            20
        } else {
            10
        };
        let flags: u16 = if name.is_ascii() { 0 } else { 0x0800 };
        let crc = crc32fast::hash(payload);
        let csize = u32_len(compressed.len(), "a member")?;
        let usize_ = u32_len(payload.len(), "a member")?;
        let name_len = u16_len(name.len(), "a member name")?;
        let dos_attr: u32 = if m.kind == MemberKind::Dir { 0x10 } else { 0 };
        let external = ((ftype | (m.mode & 0o7777)) << 16) | dos_attr;

        out.extend_from_slice(&ZIP_LOCAL.to_le_bytes());
        for v in [version, flags, method, dos_time, dos_date] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, csize, usize_] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&compressed);

        cd.extend_from_slice(&ZIP_CENTRAL.to_le_bytes());
        // Made by: Unix (3), spec version 3.0.
        for v in [0x031e, version, flags, method, dos_time, dos_date] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, csize, usize_] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        // Name, extra and comment lengths, disk, internal attributes.
        for v in [name_len, 0, 0, 0, 0] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        cd.extend_from_slice(&external.to_le_bytes());
        cd.extend_from_slice(&offset.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let cd_offset = u32_len(out.len(), "the archive")?;
    let cd_size = u32_len(cd.len(), "the central directory")?;
    let count = u16::try_from(count).map_err(|_| Kind::Encode("more than 65535 members".into()))?;
    out.extend_from_slice(&cd);
    out.extend_from_slice(&ZIP_END.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&u16_len(a.comment.len(), "the archive comment")?.to_le_bytes());
    out.extend_from_slice(&a.comment);
    Ok(out)
}

// ----- file overlays on members ---------------------------------------------

impl FileSet for Archive {
    fn matching(&self, m: &GlobMatcher, contents: bool) -> Result<Vec<String>, OpError> {
        Ok(self
            .members
            .iter()
            .filter(|x| match x.kind {
                MemberKind::File => true,
                MemberKind::Dir | MemberKind::Symlink | MemberKind::HardLink => !contents,
                MemberKind::Opaque => false,
            })
            .filter(|x| m.is_match(&x.path))
            .map(|x| x.path.clone())
            .collect())
    }

    fn contents(&self, path: &str) -> Option<&[u8]> {
        let m = self.members.get(self.index_of(path)?)?;
        (m.kind == MemberKind::File).then_some(m.data.as_slice())
    }

    /// An edit that changes nothing leaves the member untouched.
    fn set_contents(&mut self, path: &str, data: Vec<u8>) {
        let Some(i) = self.index_of(path) else {
            return;
        };
        if let Some(m) = self.members.get_mut(i)
            && m.kind == MemberKind::File
            && m.data != data
        {
            m.data = data;
            m.dirty = true;
        }
    }

    fn contains(&self, path: &str) -> bool {
        self.index_of(path).is_some()
    }

    fn check_writable(&self, _path: &str) -> Result<(), OpError> {
        Ok(())
    }

    fn add(&mut self, path: String, data: Vec<u8>) {
        self.members.push(Member {
            name: path.clone(),
            path,
            kind: MemberKind::File,
            data,
            link: String::new(),
            mode: 0o644,
            dirty: true,
            orig: Orig::New,
        });
    }

    fn remove(&mut self, path: &str) {
        let below = format!("{path}/");
        self.members
            .retain(|m| m.kind == MemberKind::Opaque || !(m.path == path || m.path.starts_with(&below)));
    }

    fn rename(&mut self, from: &str, to: String) -> Result<(), OpError> {
        if self.index_of(from).is_none() {
            return Err(OpError::FileMissing(from.to_owned()));
        }
        let below = format!("{from}/");
        let moved = |p: &str| -> Option<String> {
            if p == from {
                Some(to.clone())
            } else {
                p.strip_prefix(&below).map(|rest| format!("{to}/{rest}"))
            }
        };
        for m in &mut self.members {
            if m.kind == MemberKind::Opaque {
                continue;
            }
            if let Some(new) = moved(&m.path) {
                m.name = if m.kind == MemberKind::Dir {
                    format!("{new}/")
                } else {
                    new.clone()
                };
                m.path = new;
                m.dirty = true;
            }
            if m.kind == MemberKind::HardLink
                && let Some(new) = moved(&m.link)
            {
                m.link = new;
                m.dirty = true;
            }
        }
        Ok(())
    }
}

// ----- batches, digests and the `sources` file ------------------------------

/// The archive an overlay edits, if any.
pub(crate) fn archive_of(ro: &ResolvedOverlay) -> Option<&str> {
    ro.overlay.value.archive.as_ref().map(|a| a.value.as_str())
}

/// The expected digest of the edited archive, from its `source-files` entry.
fn expected_digest(ro: &ResolvedOverlay, archive: &str) -> Result<(HashType, String), ArchiveError> {
    let e = |kind| ArchiveError::new(archive, kind);
    let sf = ro.archive_source.as_ref().ok_or_else(|| e(Kind::NoSourceFile))?;
    let is_overlay = sf
        .value
        .origin
        .as_ref()
        .is_some_and(|o| o.value.kind.value == OriginType::Overlay);
    if !is_overlay {
        return Err(e(Kind::NotOverlayOrigin));
    }
    match (&sf.value.hash, &sf.value.hash_type) {
        (Some(h), Some(t)) => Ok((t.value, h.value.trim().to_ascii_lowercase())),
        _ => Err(e(Kind::NoDigest)),
    }
}

/// Apply a batch of overlays that all edit `archive`. On error, returns the
/// position in `batch` of the overlay at fault; `tree` may be partly
/// changed (the caller works on a copy).
pub(crate) fn apply_batch(
    tree: &mut ComponentTree,
    archive: &str,
    batch: &[ResolvedOverlay],
    read_input: &InputReader<'_>,
) -> Result<(), (usize, OpError)> {
    let e = |kind| ArchiveError::new(archive, kind);
    for (i, ro) in batch.iter().enumerate() {
        if !ro.overlay.value.kind.value.is_file_overlay() {
            return Err((i, e(Kind::NotAFileOverlay).into()));
        }
        expected_digest(ro, archive).map_err(|err| (i, err.into()))?;
    }
    let last = batch.len().saturating_sub(1);
    let path = normalize(archive).map_err(|err| (0, err.into()))?;
    let file = tree
        .files
        .get(&path)
        .filter(|f| f.mode != FileMode::Symlink)
        .ok_or_else(|| (0, e(Kind::NotInTree).into()))?;
    let mut decoded = Archive::decode(archive, &file.data).map_err(|err| (0, err.into()))?;
    for (i, ro) in batch.iter().enumerate() {
        apply_file_overlay(&mut decoded, ro, read_input).map_err(|err| (i, err))?;
    }
    let bytes = decoded.encode().map_err(|err| (last, err.into()))?;
    if let Some(f) = tree.files.get_mut(&path) {
        f.data = bytes;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest of `data` as lowercase hex.
pub fn digest(hash_type: HashType, data: &[u8]) -> String {
    match hash_type {
        HashType::Sha256 => hex(&sha2::Sha256::digest(data)),
        HashType::Sha512 => hex(&sha2::Sha512::digest(data)),
    }
}

fn hash_name(t: HashType) -> &'static str {
    match t {
        HashType::Sha256 => "SHA256",
        HashType::Sha512 => "SHA512",
    }
}

/// Check the edited archive's digest against its `source-files` entry
/// (`ro` is the last overlay that edited it) and record it in `sources`.
pub(crate) fn verify_and_record(
    tree: &mut ComponentTree,
    archive: &str,
    ro: &ResolvedOverlay,
) -> Result<(), OpError> {
    let (hash_type, expected) = expected_digest(ro, archive)?;
    let path = normalize(archive)?;
    let data = tree
        .files
        .get(&path)
        .map(|f| f.data.as_slice())
        .ok_or_else(|| ArchiveError::new(archive, Kind::NotInTree))?;
    let actual = digest(hash_type, data);
    if actual != expected {
        return Err(ArchiveError::new(
            archive,
            Kind::DigestMismatch {
                hash_type: hash_name(hash_type).into(),
                expected,
                actual,
            },
        )
        .into());
    }
    let line = format!("{} ({archive}) = {actual}", hash_name(hash_type));
    let sources = tree
        .files
        .entry("sources".to_owned())
        .or_insert_with(|| crate::tree::TreeFile::regular(Vec::new()));
    sources.data = rewrite_sources(&sources.data, archive, &line);
    Ok(())
}

/// The file name a `sources` line is about (BSD `TYPE (name) = hash` or the
/// legacy `hash  name`).
fn sources_line_file(line: &str) -> Option<&str> {
    let l = line.trim();
    if let Some((ty, rest)) = l.split_once(" (")
        && let Some((file, _)) = rest.rsplit_once(") = ")
        && ty.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Some(file);
    }
    let mut parts = l.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(file), None) if h.bytes().all(|b| b.is_ascii_hexdigit()) => Some(file),
        _ => None,
    }
}

/// Replace the lines about `archive` with `line` (keeping line endings), or
/// append it.
fn rewrite_sources(text: &[u8], archive: &str, line: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + line.len() + 1);
    let mut replaced = false;
    for raw in text.split_inclusive(|&b| b == b'\n') {
        let body_len = raw.len()
            - raw
                .iter()
                .rev()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
        let (body, end) = raw.split_at(body_len);
        let about_archive = std::str::from_utf8(body)
            .ok()
            .and_then(sources_line_file)
            .is_some_and(|f| f == archive);
        if about_archive {
            if !replaced {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(if end.is_empty() { b"\n" } else { end });
                replaced = true;
            }
        } else {
            out.extend_from_slice(raw);
        }
    }
    if !replaced {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(path: &str, target: &str) -> Member {
        Member {
            path: path.into(),
            name: path.into(),
            kind: MemberKind::Symlink,
            data: Vec::new(),
            link: target.into(),
            mode: 0o777,
            dirty: false,
            orig: Orig::New,
        }
    }

    #[test]
    fn formats_by_name_and_magic() {
        assert_eq!(Format::from_name("a-1.0.TAR.GZ"), Some(Format::TarGz));
        assert_eq!(Format::from_name("a.tbz2"), Some(Format::TarBz2));
        assert_eq!(Format::from_name("a.tar"), Some(Format::Tar));
        assert_eq!(Format::from_name(".tar"), None);
        assert_eq!(Format::from_name("a.rar"), None);
        assert_eq!(Format::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Some(Format::TarZst));
        assert_eq!(Format::sniff(b"hello"), None);
        assert_eq!(Format::sniff(&[0u8; 1024]), Some(Format::Tar));
    }

    #[test]
    fn symlinks_resolve_through_other_links() {
        let members = [sym("s", "."), sym("t", "s/..")];
        let links: HashMap<&str, &str> = members
            .iter()
            .map(|m| (m.path.as_str(), m.link.as_str()))
            .collect();
        assert!(!symlink_escapes(&links, "s", "."));
        assert!(
            symlink_escapes(&links, "t", "s/.."),
            "`s` is the root, so `s/..` is outside"
        );
        assert!(!symlink_escapes(&links, "d/x", "../s"));
        assert!(symlink_escapes(&links, "d/x", "../../x"));
        assert!(symlink_escapes(&links, "x", "/etc"));
        let looping = [sym("a", "b"), sym("b", "a")];
        let links: HashMap<&str, &str> = looping
            .iter()
            .map(|m| (m.path.as_str(), m.link.as_str()))
            .collect();
        assert!(symlink_escapes(&links, "a", "b"), "a loop is refused");
    }

    #[test]
    fn sources_lines_are_rewritten_or_added() {
        let text = b"SHA512 (a.tar.gz) = 00\r\nSHA512 (b.tar.gz) = 11\n";
        let out = rewrite_sources(text, "a.tar.gz", "SHA256 (a.tar.gz) = ff");
        assert_eq!(out, b"SHA256 (a.tar.gz) = ff\r\nSHA512 (b.tar.gz) = 11\n");
        let out = rewrite_sources(b"SHA512 (b.tar.gz) = 11", "a.tar.gz", "SHA512 (a.tar.gz) = ff");
        assert_eq!(out, b"SHA512 (b.tar.gz) = 11\nSHA512 (a.tar.gz) = ff\n");
        let legacy = b"d41d8cd98f00b204e9800998ecf8427e  a.tar.gz\n";
        let out = rewrite_sources(legacy, "a.tar.gz", "SHA512 (a.tar.gz) = ff");
        assert_eq!(out, b"SHA512 (a.tar.gz) = ff\n");
    }

    #[test]
    fn empty_tar_round_trips() {
        let empty = vec![0u8; 1024];
        let a = Archive::decode("e.tar", &empty).expect("decodes");
        assert!(a.paths().is_empty());
        assert_eq!(a.encode().expect("encodes"), empty);
    }
}
