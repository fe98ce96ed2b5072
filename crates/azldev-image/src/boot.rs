//! The boot path of disk images (the EFI system partition's tree: boot loader,
//! kernel, initrd, loader entries) and boot checks under qemu-system.
//!
//! - [`esp`] writes the ESP tree a disk writer puts into the FAT partition
//!   (`FormatInput::esp`): systemd-boot from the root, a loader entry, the
//!   root's kernel and an initramfs;
//! - [`initramfs`] plans the minimal initramfs: azldev's init, the programs
//!   it runs with their ELF closure ([`closure`], [`elf`]) and the kernel
//!   modules that reach the root partition ([`kmod`], dependencies from each
//!   module's `.modinfo`, no depmod);
//! - [`initrd`] writes that initramfs, a deterministic newc cpio archive;
//! - [`qemu`] boots a disk under qemu-system (TCG) with OVMF or AAVMF and
//!   watches the serial console for a marker.

pub mod closure;
pub mod elf;
pub mod esp;
pub mod initramfs;
pub mod initrd;
pub mod kmod;
pub mod qemu;

use std::path::PathBuf;
use std::time::Duration;

use azldev_buildroot::arch::Arch;

/// Failures of the boot path and of boot checks.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported: {what}")]
    Unsupported { what: String },
    #[error("no kernel in the image root {} (no boot/vmlinuz-* or usr/lib/modules/*/vmlinuz); add the kernel package to the image", .root.display())]
    NoKernel { root: PathBuf },
    #[error("no boot loader for {arch} in the image root: {} is missing; add systemd-boot-efi to the image", .path.display())]
    NoBootLoader { path: PathBuf, arch: Arch },
    #[error("{path} is needed by {needed_by} but is not in the image root {}; add the package that has it to the image", .root.display())]
    NotInRoot {
        path: String,
        needed_by: String,
        root: PathBuf,
    },
    #[error("{path}: bad ELF file: {message}")]
    Elf { path: String, message: String },
    #[error("{message}")]
    Module { message: String },
    #[error("the boot program {init} is neither in the image root {} nor added to the initramfs", .root.display())]
    NoInit { init: String, root: PathBuf },
    #[error(
        "{what} is needed for a boot check but is not installed; on Debian: apt-get install -y {package}"
    )]
    MissingTool { what: String, package: &'static str },
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no `{marker}` on the serial console after {after:?}; console: {}\n{tail}",
        .log.display()
    )]
    Timeout {
        marker: String,
        after: Duration,
        tail: String,
        log: PathBuf,
    },
    #[error("the kernel panicked before `{marker}` reached the serial console; console: {}\n{tail}", .log.display())]
    Panic {
        marker: String,
        tail: String,
        log: PathBuf,
    },
    #[error(
        "the machine stopped ({status}) before `{marker}` reached the serial console; console: {}\n{tail}",
        .log.display()
    )]
    Stopped {
        marker: String,
        status: String,
        tail: String,
        log: PathBuf,
    },
    #[error("the boot check was interrupted")]
    Cancelled,
}

/// The marker a booted image prints when it came up: `AZLDEV-BOOT-OK <image> <arch>`.
pub fn marker(image: &str, arch: Arch) -> String {
    format!("AZLDEV-BOOT-OK {image} {}", arch.rpm())
}
