//! UEFI-bootable hybrid ISO (xorriso): the root as `/LiveOS/squashfs.img`
//! (dracut's live layout; the ESP's live initramfs boots it, see
//! `boot::initramfs`) and the ESP tree as a FAT image, `/images/efiboot.img`,
//! which is both the El Torito EFI boot image (a CD) and GPT partition 2 of
//! type ESP (the same file written to a USB stick or attached as a disk).
//!
//! The FAT is a file of the ISO 9660 volume, not a partition appended after
//! it: an El Torito entry counts its size in 512-byte sectors in 16 bits,
//! and for a larger image (the arm64 kernel alone is over 30 MB) xorriso
//! writes 0, which UEFI firmware (EDK II) reads as "from the image to the
//! end of the ISO 9660 volume"; an appended partition lies after that end
//! and came out empty (AAVMF: `Not Found`), while a file inside the volume
//! is covered. Reproducible through `SOURCE_DATE_EPOCH` (xorriso takes
//! every date and its GPT GUIDs from it) and a GPT disk GUID from the seed.

use std::path::Path;
use std::process::Command;

use super::fat::{self, FatKind};
use super::util::{self, Scratch};
use super::{Format, FormatError, FormatInput};

/// The ISO volume id of an image name: ISO 9660 d-characters, 32 at most
/// (what the live initramfs finds the medium by: `root=live:LABEL=<id>`).
pub fn volume_id(name: &str) -> String {
    let v: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    if v.is_empty() { "AZLDEV".into() } else { v }
}

pub(super) fn write(input: &FormatInput, out: &Path) -> Result<(), FormatError> {
    let esp = input.esp.ok_or_else(|| FormatError::Input {
        format: Format::Iso,
        message: "an ISO needs the EFI system partition's tree (no ESP was given)".into(),
    })?;
    let scratch = Scratch::new(input, "iso")?;
    let tree = scratch.0.join("tree");
    let live = tree.join("LiveOS");
    std::fs::create_dir_all(&live).map_err(FormatError::io(&live))?;
    match input.squashfs {
        Some(sq) => {
            let to = live.join("squashfs.img");
            std::fs::hard_link(sq, &to)
                .or_else(|_| std::fs::copy(sq, &to).map(|_| ()))
                .map_err(FormatError::io(sq))?;
        }
        None => super::fs::squashfs(input, &live.join("squashfs.img"))?,
    }
    let images = tree.join("images");
    std::fs::create_dir_all(&images).map_err(FormatError::io(&images))?;
    let efi = images.join("efiboot.img");
    fat::make(input, esp, &efi, FatKind::Tight, "ESP")?;
    // xorriso takes file dates from the files: these were made just now.
    for p in [
        live.join("squashfs.img"),
        live.clone(),
        efi.clone(),
        images.clone(),
        tree.clone(),
    ] {
        util::set_mtime(&p, input.source_date_epoch)?;
    }
    let _ = std::fs::remove_file(out);
    let guid = util::uuid(&input.seed, "iso-gpt");
    util::runner(input).run(
        Command::new("xorriso")
            .env("SOURCE_DATE_EPOCH", input.source_date_epoch.max(0).to_string())
            .args(["-as", "mkisofs", "-quiet", "-r", "-V", &volume_id(input.name)])
            .arg("-o")
            .arg(out)
            .args(["--gpt_disk_guid", &util::hex(&guid)])
            .args([
                "-e",
                "images/efiboot.img",
                "-no-emul-boot",
                "-efi-boot-part",
                "--efi-boot-image",
            ])
            .arg(&tree),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_ids() {
        assert_eq!(volume_id("demo-vm"), "DEMO_VM");
        assert_eq!(volume_id(""), "AZLDEV");
        assert_eq!(volume_id(&"x".repeat(40)).len(), 32);
    }
}
