//! Output formats, each written from a root tree without loop devices or mounts.
//!
//! Interface shared by the image pipeline (`root`, `artifacts`) and the format
//! writers; every writer is deterministic: the same [`FormatInput`] gives the
//! same bytes. [`write`] is the one entry point.
//!
//! What each format holds:
//! - `tar`: POSIX (pax) tar written here: entries sorted by name, numeric
//!   owners, mtimes clamped to `SOURCE_DATE_EPOCH`, hard links, xattrs as
//!   `SCHILY.xattr.*` (file capabilities survive); no entry for `/` itself.
//! - `tar.xz`: that tar, xz preset 6 (xz's default, as kiwi's `tbz`) in
//!   independent 24 MiB blocks (`xz -T0`'s size for preset 6) compressed
//!   on every core; the blocks make the bytes the same for any core count.
//! - `oci` / `oci-archive`: one layer (that tar, gzip level 2 as fixed 4 MiB
//!   members compressed in parallel), config from [`ContainerConfig`]
//!   (`PATH` added when `env` has none), `index.json` with
//!   `org.opencontainers.image.ref.name` = the tag and
//!   `io.containerd.image.name` = `name:tag`.
//! - `ext4` (label `root`), `erofs` (lz4), `squashfs` (zstd level 3): UUID from the
//!   seed ([`DiskIds::root_fs_uuid`]); squashfs sets every time to
//!   `SOURCE_DATE_EPOCH` when a file is newer (mksquashfs cannot clamp).
//! - `raw`: GPT written here; partition 1 `esp` (FAT32 of [`FormatInput::esp`],
//!   ≥ 64 MiB) at 1 MiB, partition 2 `root` (the [`RootFs`] image, typed
//!   per the Discoverable Partitions Specification for the arch) filling the
//!   disk; size a multiple of 1 MiB, at least [`FormatInput::disk_size`]
//!   (ext4 then fills the partition). `qcow2`, `vhd` (fixed, raw + footer
//!   written here), `vhdx` (qemu-img, random fields patched) are that disk.
//! - `iso`: hybrid UEFI ISO: `/LiveOS/squashfs.img` (always squashfs) and
//!   the ESP tree as a FAT El Torito image, also GPT partition 2 (type ESP).
//!
//! Writing several formats of one root, [`FormatInput::raw_disk`] and
//! [`FormatInput::squashfs`] let the derived formats reuse what another
//! format wrote ([`Format::made_from`]).
//!
//! [`FormatInput::kernel_cmdline`] is not written by these writers: the ESP
//! tree (boot loader entries) carries the command line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use azldev_buildroot::arch::Arch;

/// An output format of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// A tar archive of the root (`.tar`).
    Tar,
    /// That tar archive xz-compressed (`.tar.xz`, as kiwi's `tbz` type).
    #[serde(rename = "tar.xz")]
    TarXz,
    /// An OCI image layout directory.
    Oci,
    /// An OCI image layout as one tar archive (`oci-archive`).
    OciArchive,
    /// An ext4 filesystem image of the root.
    Ext4,
    /// An erofs filesystem image of the root.
    Erofs,
    /// A squashfs filesystem image of the root.
    Squashfs,
    /// A raw GPT disk: an EFI system partition and the root partition.
    Raw,
    /// The raw disk as qcow2.
    Qcow2,
    /// The raw disk as a fixed VHD (Azure: size aligned to 1 MiB).
    Vhd,
    /// The raw disk as VHDX.
    Vhdx,
    /// A UEFI-bootable ISO 9660 image.
    Iso,
}

impl Format {
    pub const ALL: [Format; 12] = [
        Format::Tar,
        Format::TarXz,
        Format::Oci,
        Format::OciArchive,
        Format::Ext4,
        Format::Erofs,
        Format::Squashfs,
        Format::Raw,
        Format::Qcow2,
        Format::Vhd,
        Format::Vhdx,
        Format::Iso,
    ];

    /// The name used in configuration, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::TarXz => "tar.xz",
            Format::Oci => "oci",
            Format::OciArchive => "oci-archive",
            Format::Ext4 => "ext4",
            Format::Erofs => "erofs",
            Format::Squashfs => "squashfs",
            Format::Raw => "raw",
            Format::Qcow2 => "qcow2",
            Format::Vhd => "vhd",
            Format::Vhdx => "vhdx",
            Format::Iso => "iso",
        }
    }

    /// Whether the format is a bootable disk (needs an ESP tree).
    pub fn is_disk(self) -> bool {
        matches!(
            self,
            Format::Raw | Format::Qcow2 | Format::Vhd | Format::Vhdx | Format::Iso
        )
    }
}

#[cfg(test)]
mod name_tests {
    use super::Format;

    #[test]
    fn reports_and_the_command_line_use_the_same_names() {
        for f in Format::ALL {
            assert_eq!(serde_json::to_value(f).expect("json"), f.name());
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!(
                "unknown image format `{s}` (expected one of: {})",
                names.join(", ")
            )
        })
    }
}

/// The filesystem of a disk's root partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootFs {
    #[default]
    Ext4,
    Erofs,
    Squashfs,
}

/// Container settings of an OCI image (kiwi's `<containerconfig>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ContainerConfig {
    /// Image name (the `org.opencontainers.image.ref.name` annotation's repository part).
    pub name: Option<String>,
    /// Tag; `latest` when unset.
    pub tag: Option<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: Vec<(String, String)>,
    pub exposed_ports: Vec<String>,
}

/// Everything a format writer reads. Writers never modify `root`.
#[derive(Debug, Clone)]
pub struct FormatInput<'a> {
    /// The finished root tree (owned by root:root, timestamps already clamped).
    pub root: &'a Path,
    /// Image name, used for labels and volume names.
    pub name: &'a str,
    pub arch: Arch,
    /// Every timestamp written is clamped to this.
    pub source_date_epoch: i64,
    /// Digest of the image's inputs: UUIDs, hash seeds and serials derive from it.
    pub seed: [u8; 32],
    /// The tree of the EFI system partition (boot loader, kernel, initrd) for disk formats.
    pub esp: Option<&'a Path>,
    /// Filesystem of the root partition of disk formats.
    pub root_fs: RootFs,
    /// Disk size in bytes; grown to fit when `None` or too small.
    pub disk_size: Option<u64>,
    /// Kernel command line (disk and ISO formats).
    pub kernel_cmdline: Option<&'a str>,
    pub container: &'a ContainerConfig,
    /// Where external programs' output goes.
    pub log: Option<&'a Path>,
    /// Scratch directory (inside the image's work directory) writers may use.
    pub scratch: &'a Path,
    /// The [`Format::Raw`] disk already written from this same input: qcow2,
    /// vhd, vhdx (and raw itself) start from it instead of writing the
    /// filesystems again. Same bytes either way.
    pub raw_disk: Option<&'a Path>,
    /// The [`Format::Squashfs`] image already written from this same input:
    /// the ISO holds it instead of compressing the root again.
    pub squashfs: Option<&'a Path>,
}

impl Format {
    /// The format whose artefact this one is made from when both are
    /// written ([`FormatInput::raw_disk`], [`FormatInput::squashfs`]).
    pub fn made_from(self) -> Option<Format> {
        match self {
            Format::Qcow2 | Format::Vhd | Format::Vhdx => Some(Format::Raw),
            Format::Iso => Some(Format::Squashfs),
            _ => None,
        }
    }
}

/// One written artefact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Artifact {
    pub path: PathBuf,
    pub format: Format,
    /// sha256 of the file (for a directory such as an OCI layout: of its index.json).
    pub sha256: String,
    pub size: u64,
}

mod disk;
mod ext4_times;
mod fat;
mod fs;
mod iso;
mod oci;
mod tar;
pub(crate) mod util;

pub use iso::volume_id as iso_volume_id;
pub use tar::{TarStats, write_tar};

/// GPT partition name of a disk's EFI system partition.
pub const ESP_PARTITION_NAME: &str = "esp";
/// GPT partition name of a disk's root partition (also the label of its ext4).
pub const ROOT_PARTITION_NAME: &str = "root";

/// The identifiers a disk written from `seed` carries (what a kernel
/// command line or an fstab can name: `root=PARTUUID=…`, `UUID=…`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct DiskIds {
    pub disk_guid: String,
    pub esp_partuuid: String,
    pub root_partuuid: String,
    /// UUID of the root filesystem (ext4, erofs; squashfs has none).
    pub root_fs_uuid: String,
    /// Volume id of the ESP's FAT (`XXXX-XXXX`).
    pub esp_volume_id: String,
}

/// The identifiers of disks written with `seed`.
pub fn disk_ids(seed: &[u8; 32]) -> DiskIds {
    let v = util::u32_from_seed(seed, "fat-ESP");
    DiskIds {
        disk_guid: util::uuid_string(&util::uuid(seed, "disk")),
        esp_partuuid: util::uuid_string(&util::uuid(seed, "esp-partition")),
        root_partuuid: util::uuid_string(&util::uuid(seed, "root-partition")),
        root_fs_uuid: util::uuid_string(&util::uuid(seed, "root-fs")),
        esp_volume_id: format!("{:04X}-{:04X}", v >> 16, v & 0xffff),
    }
}

/// Why a format writer failed.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// The root tree holds something the format cannot represent.
    #[error("{}: {message}", .path.display())]
    Entry { path: PathBuf, message: String },
    /// The input lacks something the format needs (an ESP tree for a disk…).
    #[error("{format}: {message}")]
    Input { format: Format, message: String },
    /// A tool printed something this crate could not read.
    #[error("{tool}: unexpected output: {message}")]
    Tool { tool: &'static str, message: String },
}

impl FormatError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FormatError {
        let path = path.into();
        move |source| FormatError::Io { path, source }
    }
}

/// Writes `input` in `format` to `out` (a file; a directory for [`Format::Oci`]),
/// atomically: the result appears under `out` only once complete (renamed
/// into place; not fsynced, like GNU tar, kiwi and mkfs tools), replacing
/// what a previous write left there. The same input gives the same bytes.
pub fn write(format: Format, input: &FormatInput, out: &Path) -> Result<Artifact, FormatError> {
    if !input.root.is_dir() {
        return Err(FormatError::Input {
            format,
            message: format!("root tree {} is not a directory", input.root.display()),
        });
    }
    std::fs::create_dir_all(input.scratch).map_err(FormatError::io(input.scratch))?;
    let tmp = util::temp_sibling(out)?;
    // Writers that stream their artefact hash it on the way (a thread).
    let none = |()| None;
    let digest = match format {
        Format::Tar => tar::write_file(input, &tmp.path).map(Some),
        Format::TarXz => tar::write_xz(input, &tmp.path).map(none),
        Format::Oci => oci::write_layout(input, &tmp.path).map(none),
        Format::OciArchive => oci::write_archive(input, &tmp.path).map(none),
        Format::Ext4 => fs::write_ext4(input, &tmp.path),
        Format::Erofs => fs::write_erofs(input, &tmp.path).map(none),
        Format::Squashfs => fs::write_squashfs(input, &tmp.path).map(none),
        Format::Raw | Format::Qcow2 | Format::Vhd | Format::Vhdx => {
            disk::write(format, input, &tmp.path).map(none)
        }
        Format::Iso => iso::write(input, &tmp.path).map(none),
    }?;
    let sha256 = match digest {
        Some(d) => d,
        None if format == Format::Oci => util::sha256_file(&tmp.path.join("index.json"))?,
        None => util::sha256_file(&tmp.path)?,
    };
    let size = util::apparent_size(&tmp.path)?;
    tmp.commit(out, format == Format::Oci)?;
    Ok(Artifact {
        path: out.to_path_buf(),
        format,
        sha256,
        size,
    })
}
