//! Output formats, each written from a root tree without loop devices or mounts.
//!
//! Interface shared by the image pipeline (`root`, `artifacts`) and the format
//! writers; every writer is deterministic: the same [`FormatInput`] gives the
//! same bytes.

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
    pub const ALL: [Format; 11] = [
        Format::Tar,
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
