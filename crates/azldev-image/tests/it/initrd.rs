//! Module resolution on Debian's real kernel modules: the seed's converted
//! kernel package (`target/azldev-test-cache/seed/<arch>/Packages`, made by
//! the e2e tests' `azldev toolchain seed`) is unpacked with rpm2cpio and
//! cpio, indexed from every module's `.modinfo` (no depmod), and the minimal
//! initramfs's modules (with the live ISO's and Hyper-V's) are resolved:
//! each after its dependencies. What Hyper-V's storage adds to a disk's
//! initramfs and what the live modules add to the ISO's is measured.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use azldev_image::boot::initramfs::{DEFAULT_MODULES, LIVE_MODULES, fs_modules};
use azldev_image::boot::kmod::{self, ModuleIndex};
use azldev_image::format::RootFs;

fn kernel_rpm(arch: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/azldev-test-cache/seed")
        .join(arch)
        .join("Packages");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-image-6.") && n.ends_with(&format!(".{arch}.rpm")))
        })
}

fn resolves(arch: &str) {
    let Some(rpm) = kernel_rpm(arch) else {
        eprintln!("no seed kernel for {arch} in the test cache (run the boot e2e tests first): skipped");
        return;
    };
    let root = tempfile::tempdir().expect("tempdir");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "rpm2cpio '{}' | cpio -idm --quiet '*.ko' '*/modules.builtin' '*/modules.builtin.modinfo'",
            rpm.display()
        ))
        .current_dir(root.path())
        .status()
        .expect("rpm2cpio and cpio run");
    assert!(status.success());
    let modules = root.path().join("usr/lib/modules");
    let version = std::fs::read_dir(&modules)
        .expect("modules")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .expect("a kernel version");
    let start = Instant::now();
    let idx = ModuleIndex::read(root.path(), &version).expect("index");
    let took = start.elapsed();
    eprintln!(
        "{arch}: indexed {} modules ({} built in) in {:.0} ms",
        idx.modules.len(),
        idx.builtin.len(),
        took.as_secs_f64() * 1000.0
    );
    assert!(idx.modules.len() > 2000, "{}", idx.modules.len());
    let wanted: Vec<(String, bool)> = DEFAULT_MODULES
        .iter()
        .chain(fs_modules(RootFs::Ext4))
        .chain(fs_modules(RootFs::Erofs))
        .chain(fs_modules(RootFs::Squashfs))
        .chain(LIVE_MODULES)
        .map(|m| ((*m).to_owned(), true))
        .collect();
    let order = idx.resolve(&wanted).expect("resolved");
    eprintln!("{arch}: {}", order.join(" "));
    for m in [
        "virtio_pci",
        "virtio_blk",
        "virtio_scsi",
        "ext4",
        "jbd2",
        "mbcache",
        "crc16",
        "crc32c_generic",
        "erofs",
        "squashfs",
        // Hyper-V's storage (Azure).
        "hv_vmbus",
        "scsi_transport_fc",
        "hv_storvsc",
        // The live ISO's: the CD, its filesystem, loop, overlay.
        "cdrom",
        "sr_mod",
        "isofs",
        "loop",
        "overlay",
        "ahci",
        "libata",
        "usb_storage",
        "xhci_hcd",
    ] {
        assert!(order.iter().any(|o| o == m), "{m} in {order:?}");
    }
    // Bytes of modules as the initramfs holds them: (decompressed, gzip -6).
    let bytes = |names: &[String]| {
        let mut raw = Vec::new();
        for n in names {
            let rel = idx.path(n).expect("a module file");
            raw.extend(kmod::read_module(&root.path().join(rel)).expect("module"));
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &raw).expect("gzip");
        (raw.len(), gz.finish().expect("gzip").len())
    };
    let disk = |extra: &[&str]| {
        let wanted: Vec<(String, bool)> = DEFAULT_MODULES
            .iter()
            .filter(|m| !m.starts_with("hv_"))
            .chain(fs_modules(RootFs::Ext4))
            .chain(extra)
            .map(|m| ((*m).to_owned(), false))
            .collect();
        idx.resolve(&wanted).expect("resolved")
    };
    let without = disk(&[]);
    let with = disk(&["hv_vmbus", "hv_storvsc"]);
    let added: Vec<String> = with.iter().filter(|m| !without.contains(m)).cloned().collect();
    let (raw, gz) = bytes(&added);
    eprintln!("{arch}: Hyper-V storage adds {added:?} to a disk's initramfs: {raw} bytes, {gz} gzipped");
    assert!(added.contains(&"hv_storvsc".to_owned()), "{added:?}");
    let live: Vec<(String, bool)> = DEFAULT_MODULES
        .iter()
        .chain(fs_modules(RootFs::Squashfs))
        .chain(LIVE_MODULES)
        .map(|m| ((*m).to_owned(), false))
        .collect();
    let live = idx.resolve(&live).expect("resolved");
    let (raw, gz) = bytes(&live);
    let (draw, dgz) = bytes(&with);
    eprintln!(
        "{arch}: live initramfs modules: {} ({raw} bytes, {gz} gzipped); a disk's: {} ({draw} bytes, {dgz} gzipped)",
        live.len(),
        with.len()
    );
    // Every module comes after the modules it depends on.
    for (i, m) in order.iter().enumerate() {
        let info = idx.modules.get(m).expect("a module file");
        for d in &info.depends {
            if idx.builtin.contains(d) {
                continue;
            }
            let at = order.iter().position(|o| o == d).unwrap_or(usize::MAX);
            assert!(at < i, "{m} needs {d} first: {order:?}");
        }
    }
    // Same modules, same order.
    assert_eq!(
        ModuleIndex::read(root.path(), &version)
            .expect("index")
            .resolve(&wanted)
            .expect("resolved"),
        order
    );
}

#[test]
fn debian_modules_x86_64() {
    resolves("x86_64");
}

#[test]
fn debian_modules_aarch64() {
    resolves("aarch64");
}
