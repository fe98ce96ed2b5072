//! Module resolution on Debian's real kernel modules: the seed's converted
//! kernel package (`target/azldev-test-cache/seed/<arch>/Packages`, made by
//! the e2e tests' `azldev toolchain seed`) is unpacked with rpm2cpio and
//! cpio, indexed from every module's `.modinfo` (no depmod), and the minimal
//! initramfs's modules are resolved: each after its dependencies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use azldev_image::boot::initramfs::{DEFAULT_MODULES, fs_modules};
use azldev_image::boot::kmod::ModuleIndex;
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
    ] {
        assert!(order.iter().any(|o| o == m), "{m} in {order:?}");
    }
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
