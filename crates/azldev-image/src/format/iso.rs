//! UEFI-bootable hybrid ISO (xorriso): the root as `/LiveOS/squashfs.img`
//! (dracut's live layout; the ESP's live initramfs boots it, see
//! `boot::initramfs`), the ESP tree as a FAT image appended as GPT
//! partition 2 (type ESP) and used as the El Torito EFI boot image, so the
//! same file boots as a CD and as a disk. Reproducible through
//! `SOURCE_DATE_EPOCH` (xorriso takes every date and its GPT GUIDs from it)
//! and a GPT disk GUID from the seed.

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
    // xorriso takes file dates from the files: these were made just now.
    for p in [live.join("squashfs.img"), live.clone(), tree.clone()] {
        util::set_mtime(&p, input.source_date_epoch)?;
    }
    let efi = scratch.0.join("efi.img");
    fat::make(input, esp, &efi, FatKind::Tight, "ESP")?;
    let _ = std::fs::remove_file(out);
    let guid = util::uuid(&input.seed, "iso-gpt");
    util::runner(input).run(
        Command::new("xorriso")
            .env("SOURCE_DATE_EPOCH", input.source_date_epoch.max(0).to_string())
            .args(["-as", "mkisofs", "-quiet", "-r", "-V", &volume_id(input.name)])
            .arg("-o")
            .arg(out)
            .args(["--gpt_disk_guid", &util::hex(&guid)])
            .args(["-append_partition", "2", "0xef"])
            .arg(&efi)
            .args([
                "-appended_part_as_gpt",
                "-e",
                "--interval:appended_partition_2:all::",
                "-no-emul-boot",
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
