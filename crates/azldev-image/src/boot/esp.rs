//! The EFI system partition's tree of a bootable disk: systemd-boot as the
//! removable-media boot loader, a Boot Loader Specification (type 1) entry,
//! the kernel and an initramfs written by azldev.
//!
//! Layout (all names fixed, so the same root gives the same tree):
//! ```text
//! EFI/BOOT/BOOTX64.EFI | BOOTAA64.EFI    systemd-boot from the root
//! loader/loader.conf                      default entry, no menu
//! loader/entries/<image>.conf             linux, initrd, options
//! <image>/<kernel version>/linux          the root's kernel
//! <image>/<kernel version>/initrd         see `initrd`
//! ```
//!
//! The initramfs is azldev's minimal one by default ([`super::initramfs`]):
//! its init loads the modules that reach the root partition, mounts
//! `root=PARTUUID=<root partition>` (fixed by the disk writer's seed) and
//! switches to the image's init (`init=`). On an ISO the root device is
//! `live:LABEL=<volume id>` and the initramfs is the minimal one's live
//! variant, which boots the medium's `/LiveOS/squashfs.img` under a tmpfs
//! overlay ([`super::initramfs`]). With `[initrd] kind = "root"` it
//! is the image root itself (minus `/boot`, kernel modules, firmware and
//! documentation) with the image's init as `rdinit=`: no module, no block
//! driver and no switch of root, at the cost of size.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use azldev_buildroot::arch::Arch;

use super::BootError;
use super::initramfs::{self, MinimalInput};
use super::initrd::{self, Extra, InitrdInput};
use crate::desc::{InitrdConfig, InitrdKind};
use crate::format::RootFs;

/// Subtrees of the root the initramfs leaves out.
pub const INITRD_EXCLUDE: &[&str] = &[
    "boot",
    "usr/lib/modules",
    "usr/lib/firmware",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache",
    "var/log",
];

/// What the ESP tree is made from.
#[derive(Debug, Clone)]
pub struct EspInput<'a> {
    /// The finished image root (read only).
    pub root: &'a Path,
    /// Image name: the entry's file name and title.
    pub name: &'a str,
    pub arch: Arch,
    /// The description's kernel command line (may be empty); the serial
    /// console, `panic=-1` and `root=`, `rootfstype=`, `init=` (or `rdinit=`)
    /// are added when it does not set them.
    pub cmdline: &'a str,
    /// The image's init, as a path inside the root.
    pub init: &'a str,
    /// The description's `[initrd]`.
    pub initrd: &'a InitrdConfig,
    /// The root partition's filesystem.
    pub root_fs: RootFs,
    /// The root partition as `root=` names it (`PARTUUID=…`), or the live
    /// medium (`live:LABEL=<volume id>`, an ISO's): the minimal initramfs is
    /// then the live variant and no `rootfstype=` is added.
    pub root_device: &'a str,
    /// Files added to the initramfs (relative paths), e.g. the boot program
    /// when the root does not hold it.
    pub extra: BTreeMap<String, Extra>,
    /// Every timestamp written.
    pub source_date_epoch: i64,
}

/// What the tree holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EspReport {
    pub kernel_version: String,
    pub boot_loader: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub initrd_bytes: u64,
    pub initrd_entries: usize,
    /// The cpio archive's size before compression.
    pub initrd_archive_bytes: u64,
    pub initrd_kind: InitrdKind,
    /// Kernel modules in the initramfs, in load order.
    pub initrd_modules: Vec<String>,
    pub options: String,
}

/// How the kernel reaches the image's init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot<'a> {
    /// The initramfs is the root: `rdinit=<init>`.
    Rdinit(&'a str),
    /// The minimal initramfs mounts `root=` (of type `rootfstype=`) and runs `init=`.
    Root {
        device: &'a str,
        fstype: &'a str,
        init: &'a str,
    },
}

/// The serial console of the architecture's qemu machine (and of most VMs).
pub fn console(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "console=ttyS0,115200",
        Arch::Aarch64 => "console=ttyAMA0,115200",
    }
}

/// systemd-boot's file name in the root and the removable-media path on the ESP.
pub fn boot_loader(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::X86_64 => ("systemd-bootx64.efi", "EFI/BOOT/BOOTX64.EFI"),
        Arch::Aarch64 => ("systemd-bootaa64.efi", "EFI/BOOT/BOOTAA64.EFI"),
    }
}

/// The kernel command line of the entry.
pub fn options(arch: Arch, cmdline: &str, boot: Boot<'_>) -> String {
    let mut words: Vec<String> = cmdline.split_whitespace().map(str::to_owned).collect();
    let has = |words: &[String], key: &str| words.iter().any(|w| w.split('=').next() == Some(key));
    if !has(&words, "console") {
        words.push(console(arch).to_owned());
    }
    if !has(&words, "panic") {
        // A panic reboots at once; the boot check runs qemu with -no-reboot.
        words.push("panic=-1".to_owned());
    }
    match boot {
        Boot::Rdinit(init) => {
            if !has(&words, "rdinit") {
                words.push(format!("rdinit={init}"));
            }
        }
        Boot::Root { device, fstype, init } => {
            if !has(&words, "root") {
                words.push(format!("root={device}"));
                if !has(&words, "rootfstype") && !device.starts_with("live:") {
                    words.push(format!("rootfstype={fstype}"));
                }
            }
            if !has(&words, "init") {
                words.push(format!("init={init}"));
            }
        }
    }
    words.join(" ")
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> BootError {
    move |source| BootError::Io { what, source }
}

/// The root's kernel: `(version, path)` of the one `boot/vmlinuz-*` (or
/// `usr/lib/modules/*/vmlinuz`).
pub fn find_kernel(root: &Path) -> Result<(String, PathBuf), BootError> {
    let mut found = BTreeMap::new();
    if let Ok(rd) = fs::read_dir(root.join("boot")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = name.strip_prefix("vmlinuz-") {
                found.insert(v.to_owned(), e.path());
            }
        }
    }
    if let Ok(rd) = fs::read_dir(root.join("usr/lib/modules")) {
        for e in rd.flatten() {
            let p = e.path().join("vmlinuz");
            if p.is_file() {
                found
                    .entry(e.file_name().to_string_lossy().into_owned())
                    .or_insert(p);
            }
        }
    }
    let mut it = found.into_iter();
    match (it.next(), it.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(BootError::NoKernel {
            root: root.to_owned(),
        }),
        (Some((a, _)), Some((b, _))) => Err(BootError::Unsupported {
            what: format!(
                "more than one kernel in {} ({a}, {b}…); a bootable image holds one",
                root.display()
            ),
        }),
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), BootError> {
    if let Some(p) = to.parent() {
        fs::create_dir_all(p).map_err(io(format!("create {}", p.display())))?;
    }
    fs::copy(from, to).map_err(io(format!("copy {} to {}", from.display(), to.display())))?;
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), BootError> {
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).map_err(io(format!("create {}", p.display())))?;
    }
    fs::write(path, text).map_err(io(format!("write {}", path.display())))
}

/// Writes the ESP tree into `out` (a directory that must not exist yet;
/// built beside it and renamed in, so it is complete or absent).
pub fn write(input: &EspInput<'_>, out: &Path) -> Result<EspReport, BootError> {
    let (loader_name, loader_dst) = boot_loader(input.arch);
    let loader_src = input.root.join("usr/lib/systemd/boot/efi").join(loader_name);
    if !loader_src.is_file() {
        return Err(BootError::NoBootLoader {
            path: loader_src,
            arch: input.arch,
        });
    }
    let (kver, kernel_src) = find_kernel(input.root)?;
    let init_in_root = input.root.join(input.init.trim_start_matches('/'));
    if !input.extra.contains_key(input.init.trim_start_matches('/'))
        && fs::symlink_metadata(&init_in_root).is_err()
    {
        return Err(BootError::NoInit {
            init: input.init.to_owned(),
            root: input.root.to_owned(),
        });
    }
    let staging = out.with_file_name(format!(
        ".{}.azldev-staging",
        out.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(io(format!("create {}", staging.display())))?;
    let guard = initrd::RemoveOnDrop(staging.clone());

    copy(&loader_src, &staging.join(loader_dst))?;
    let dir = format!("{}/{kver}", input.name);
    copy(&kernel_src, &staging.join(&dir).join("linux"))?;
    let mut extra = initrd::base_extras();
    // The minimal archive is compressed (a third of its size); the root
    // kind stays plain (gzip made its TCG boot slower).
    let (tree, exclude, modules, opts) = match input.initrd.kind {
        InitrdKind::Root => (
            Some(input.root),
            INITRD_EXCLUDE.iter().map(|s| (*s).to_owned()).collect(),
            Vec::new(),
            options(input.arch, input.cmdline, Boot::Rdinit(input.init)),
        ),
        InitrdKind::Minimal => {
            let m = initramfs::plan(&MinimalInput {
                root: input.root,
                arch: input.arch,
                image: input.name,
                kernel_version: &kver,
                root_fs: input.root_fs,
                config: input.initrd,
                live: input.root_device.starts_with("live:"),
            })?;
            extra.extend(m.entries);
            let boot = Boot::Root {
                device: input.root_device,
                fstype: initramfs::fs_type(input.root_fs),
                init: input.init,
            };
            (
                None,
                Vec::new(),
                m.modules,
                options(input.arch, input.cmdline, boot),
            )
        }
    };
    extra.extend(input.extra.clone());
    let rep = initrd::write(
        &InitrdInput {
            root: tree,
            exclude,
            extra,
            mtime: input.source_date_epoch,
            gzip: input.initrd.kind == InitrdKind::Minimal,
        },
        &staging.join(&dir).join("initrd"),
    )?;
    write_file(
        &staging.join("loader/loader.conf"),
        &format!(
            "default {}.conf\ntimeout 0\nconsole-mode keep\neditor no\n",
            input.name
        ),
    )?;
    write_file(
        &staging.join(format!("loader/entries/{}.conf", input.name)),
        &format!(
            "title {name}\nversion {kver}\nlinux /{dir}/linux\ninitrd /{dir}/initrd\noptions {opts}\n",
            name = input.name
        ),
    )?;
    clamp_times(&staging, input.source_date_epoch)?;
    if out.exists() {
        fs::remove_dir_all(out).map_err(io(format!("replace {}", out.display())))?;
    }
    fs::rename(&staging, out).map_err(io(format!("write {}", out.display())))?;
    std::mem::forget(guard);
    Ok(EspReport {
        kernel_version: kver,
        boot_loader: PathBuf::from(loader_dst),
        kernel: PathBuf::from(format!("{dir}/linux")),
        initrd: PathBuf::from(format!("{dir}/initrd")),
        initrd_bytes: rep.bytes,
        initrd_entries: rep.entries,
        initrd_archive_bytes: rep.archive_bytes,
        initrd_kind: input.initrd.kind,
        initrd_modules: modules,
        options: opts,
    })
}

/// Sets every file's and directory's mtime to `epoch` (the FAT writer copies them).
fn clamp_times(dir: &Path, epoch: i64) -> Result<(), BootError> {
    let when =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(epoch.max(0)).unwrap_or(0));
    let mut stack = vec![dir.to_owned()];
    let mut all = Vec::new();
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(io(format!("read {}", d.display())))? {
            let p = e.map_err(io(format!("read {}", d.display())))?.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            all.push(p);
        }
    }
    all.push(dir.to_owned());
    for p in all {
        let f = fs::File::open(&p).map_err(io(format!("open {}", p.display())))?;
        f.set_times(fs::FileTimes::new().set_modified(when).set_accessed(when))
            .map_err(io(format!("set the times of {}", p.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    static ROOT_KIND: InitrdConfig = InitrdConfig {
        kind: InitrdKind::Root,
        modules: Vec::new(),
        programs: Vec::new(),
        init: None,
    };

    #[test]
    fn options_add_console_panic_and_init_once() {
        assert_eq!(
            options(Arch::X86_64, "quiet", Boot::Rdinit("/init")),
            "quiet console=ttyS0,115200 panic=-1 rdinit=/init"
        );
        assert_eq!(
            options(
                Arch::Aarch64,
                "console=ttyAMA0 panic=5",
                Boot::Rdinit("/usr/lib/x")
            ),
            "console=ttyAMA0 panic=5 rdinit=/usr/lib/x"
        );
        let boot = Boot::Root {
            device: "PARTUUID=0a",
            fstype: "ext4",
            init: "/sbin/init",
        };
        assert_eq!(
            options(Arch::X86_64, "rw", boot),
            "rw console=ttyS0,115200 panic=-1 root=PARTUUID=0a rootfstype=ext4 init=/sbin/init"
        );
        // A live medium has no rootfstype= (the squashfs is found on it).
        let live = Boot::Root {
            device: "live:LABEL=VM",
            fstype: "squashfs",
            init: "/sbin/init",
        };
        assert_eq!(
            options(Arch::Aarch64, "", live),
            "console=ttyAMA0,115200 panic=-1 root=live:LABEL=VM init=/sbin/init"
        );
        // The description's own root= and init= win (and no rootfstype= is guessed).
        assert_eq!(
            options(Arch::X86_64, "root=/dev/sda2 init=/bin/sh", boot),
            "root=/dev/sda2 init=/bin/sh console=ttyS0,115200 panic=-1"
        );
    }

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("tempdir");
        let r = d.path();
        fs::create_dir_all(r.join("usr/lib/systemd/boot/efi")).expect("mkdir");
        fs::write(
            r.join("usr/lib/systemd/boot/efi/systemd-bootx64.efi"),
            b"MZ loader",
        )
        .expect("write");
        fs::create_dir_all(r.join("boot")).expect("mkdir");
        fs::write(r.join("boot/vmlinuz-6.1.0-9-amd64"), b"MZ kernel").expect("write");
        fs::create_dir_all(r.join("usr/lib/modules/6.1.0-9-amd64/kernel")).expect("mkdir");
        fs::create_dir_all(r.join("usr/bin")).expect("mkdir");
        fs::write(r.join("usr/bin/boot-check"), b"#!/bin/sh\n").expect("write");
        d
    }

    #[test]
    fn writes_the_tree_deterministically() {
        let r = root();
        let out = tempfile::tempdir().expect("tempdir");
        let input = vm_input(r.path(), Arch::X86_64, &ROOT_KIND, 1_700_000_000);
        let rep = write(&input, &out.path().join("esp")).expect("written");
        assert_eq!(rep.kernel_version, "6.1.0-9-amd64");
        let esp = out.path().join("esp");
        assert_eq!(
            fs::read(esp.join("EFI/BOOT/BOOTX64.EFI")).expect("loader"),
            b"MZ loader"
        );
        assert_eq!(
            fs::read(esp.join("vm/6.1.0-9-amd64/linux")).expect("kernel"),
            b"MZ kernel"
        );
        let entry = fs::read_to_string(esp.join("loader/entries/vm.conf")).expect("entry");
        assert_eq!(
            entry,
            "title vm\nversion 6.1.0-9-amd64\nlinux /vm/6.1.0-9-amd64/linux\ninitrd /vm/6.1.0-9-amd64/initrd\noptions console=ttyS0,115200 panic=-1 rdinit=/usr/bin/boot-check\n"
        );
        let mtime = fs::metadata(esp.join("loader/loader.conf"))
            .expect("stat")
            .modified()
            .expect("mtime");
        assert_eq!(
            mtime,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)
        );
        let first = fs::read(esp.join("vm/6.1.0-9-amd64/initrd")).expect("initrd");
        write(&input, &out.path().join("esp")).expect("rewritten");
        assert_eq!(
            fs::read(esp.join("vm/6.1.0-9-amd64/initrd")).expect("initrd"),
            first
        );
        assert!(!out.path().join(".esp.azldev-staging").exists());
    }

    #[test]
    fn missing_parts_are_named() {
        let r = root();
        let out = tempfile::tempdir().expect("tempdir");
        let mut input = vm_input(r.path(), Arch::Aarch64, &ROOT_KIND, 0);
        let e = write(&input, &out.path().join("esp")).expect_err("no aa64 loader");
        assert!(e.to_string().contains("systemd-bootaa64.efi"), "{e}");
        input.arch = Arch::X86_64;
        input.init = "/sbin/missing";
        let e = write(&input, &out.path().join("esp")).expect_err("no init");
        assert!(e.to_string().contains("/sbin/missing"), "{e}");
        fs::remove_file(r.path().join("boot/vmlinuz-6.1.0-9-amd64")).expect("rm");
        input.init = "/usr/bin/boot-check";
        let e = write(&input, &out.path().join("esp")).expect_err("no kernel");
        assert!(e.to_string().contains("no kernel"), "{e}");
        assert!(!out.path().join("esp").exists());
    }

    /// A root with fixture programs (ELF, a loader, libc, absolute Debian
    /// links) and fixture modules for the minimal initramfs.
    fn minimal_root() -> tempfile::TempDir {
        use super::super::elf::fixture;
        use std::os::unix::fs::symlink;
        let d = root();
        let r = d.path();
        for dir in ["usr/sbin", "usr/lib/x86_64-linux-gnu", "usr/lib64"] {
            fs::create_dir_all(r.join(dir)).expect("mkdir");
        }
        for (l, t) in [("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib64", "usr/lib64")] {
            symlink(t, r.join(l)).expect("symlink");
        }
        let ld = "/lib64/ld-linux-x86-64.so.2";
        let w = |p: &str, b: Vec<u8>| fs::write(r.join(p), b).expect("write");
        w(
            "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            fixture::program(62, None, &[], None),
        );
        symlink(
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            r.join("usr/lib64/ld-linux-x86-64.so.2"),
        )
        .expect("symlink");
        w(
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            fixture::program(62, None, &[], None),
        );
        for p in [
            "usr/bin/dash",
            "usr/bin/mount",
            "usr/bin/kmod",
            "usr/sbin/blkid",
            "usr/sbin/switch_root",
            "usr/bin/sleep",
        ] {
            w(p, fixture::program(62, Some(ld), &["libc.so.6"], None));
        }
        symlink("dash", r.join("usr/bin/sh")).expect("symlink");
        symlink("/bin/kmod", r.join("usr/sbin/insmod")).expect("symlink");
        let k = r.join(KERNEL);
        let ko = |p: &str, info: &str| module(&k, p, info);
        ko("drivers/block/virtio_blk.ko", "depends=virtio_ring");
        ko("drivers/virtio/virtio_ring.ko", "depends=");
        ko("fs/ext4/ext4.ko", "depends=jbd2;softdep=pre: crc32c");
        ko("fs/jbd2/jbd2.ko", "depends=");
        ko("crypto/crc32c_generic.ko", "alias=crc32c;depends=");
        ko("drivers/scsi/virtio_scsi.ko", "depends=virtio_ring");
        ko("drivers/block/loop.ko", "alias=block-major-7;depends=");
        d
    }

    #[test]
    fn minimal_initramfs_mounts_the_root_partition() {
        let r = minimal_root();
        let out = tempfile::tempdir().expect("tempdir");
        let cfg = InitrdConfig {
            // An alias, beyond the defaults.
            modules: vec!["block-major-7".into()],
            ..InitrdConfig::default()
        };
        let input = vm_input(r.path(), Arch::X86_64, &cfg, 1_700_000_000);
        let rep = write(&input, &out.path().join("esp")).expect("written");
        assert_eq!(rep.initrd_kind, InitrdKind::Minimal);
        assert_eq!(
            rep.initrd_modules,
            [
                "virtio_ring",
                "virtio_blk",
                "virtio_scsi",
                "jbd2",
                "crc32c_generic",
                "ext4",
                "loop"
            ]
        );
        assert_eq!(
            rep.options,
            "console=ttyS0,115200 panic=-1 root=PARTUUID=0a rootfstype=ext4 init=/usr/bin/boot-check"
        );
        let initrd = out.path().join("esp/vm/6.1.0-9-amd64/initrd");
        let bytes = fs::read(&initrd).expect("initrd");
        assert_eq!(rep.initrd_bytes, bytes.len() as u64);
        assert!(bytes.starts_with(&[0x1f, 0x8b]), "gzip");
        let mut archive = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut archive)
            .expect("gunzip");
        let x = out.path().join("x");
        fs::create_dir(&x).expect("mkdir");
        let mut cpio = std::process::Command::new("cpio")
            .args(["-id", "--quiet", "--no-absolute-filenames"])
            .current_dir(&x)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("cpio runs");
        std::io::Write::write_all(&mut cpio.stdin.take().expect("stdin"), &archive).expect("feed");
        assert!(cpio.wait().expect("cpio").success());
        let list = fs::read_to_string(x.join("etc/initrd-modules")).expect("module list");
        assert_eq!(
            list.lines().collect::<Vec<_>>(),
            [
                "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/virtio/virtio_ring.ko",
                "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/block/virtio_blk.ko",
                "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/scsi/virtio_scsi.ko",
                "usr/lib/modules/6.1.0-9-amd64/kernel/fs/jbd2/jbd2.ko",
                "usr/lib/modules/6.1.0-9-amd64/kernel/crypto/crc32c_generic.ko",
                "usr/lib/modules/6.1.0-9-amd64/kernel/fs/ext4/ext4.ko",
                "usr/lib/modules/6.1.0-9-amd64/kernel/drivers/block/loop.ko",
            ]
        );
        for l in list.lines() {
            assert!(x.join(l).is_file(), "{l}");
        }
        assert!(
            fs::read_to_string(x.join("init"))
                .expect("init")
                .contains("switch_root")
        );
        assert_eq!(
            fs::read_link(x.join("usr/sbin/insmod")).expect("link"),
            Path::new("/bin/kmod")
        );
        for p in [
            "usr/bin/kmod",
            "usr/bin/dash",
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            "sysroot",
            "dev/console",
        ] {
            assert!(fs::symlink_metadata(x.join(p)).is_ok(), "{p}");
        }
        // Not the image's programs, not the kernel: only what boots the root.
        assert!(!x.join("usr/bin/boot-check").exists());
        assert!(!x.join("boot").exists());

        // A missing program or module is named.
        fs::remove_file(r.path().join("usr/sbin/switch_root")).expect("rm");
        let e = write(&input, &out.path().join("esp")).expect_err("no switch_root");
        assert!(e.to_string().contains("switch_root (package util-linux)"), "{e}");
        w_back(r.path());
        let cfg = InitrdConfig {
            modules: vec!["nvme_tcp".into()],
            ..InitrdConfig::default()
        };
        let e = write(
            &EspInput {
                initrd: &cfg,
                ..input.clone()
            },
            &out.path().join("esp"),
        )
        .expect_err("no module");
        assert!(e.to_string().contains("`nvme_tcp`"), "{e}");
    }

    #[test]
    fn a_custom_init_replaces_azldevs() {
        let r = minimal_root();
        fs::write(
            r.path().join("usr/bin/my-init"),
            b"#!/bin/sh\nexec /usr/bin/sleep 1\n",
        )
        .expect("write");
        // azldev's programs are not needed by a custom init: only its own closure.
        fs::remove_file(r.path().join("usr/sbin/switch_root")).expect("rm");
        let out = tempfile::tempdir().expect("tempdir");
        let cfg = InitrdConfig {
            init: Some("/usr/bin/my-init".into()),
            programs: vec!["/usr/sbin/blkid".into()],
            ..InitrdConfig::default()
        };
        let input = vm_input(r.path(), Arch::X86_64, &cfg, 0);
        write(&input, &out.path().join("esp")).expect("written");
        let bytes = fs::read(out.path().join("esp/vm/6.1.0-9-amd64/initrd")).expect("initrd");
        let mut archive = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut archive)
            .expect("gunzip");
        let text = String::from_utf8_lossy(&archive);
        assert!(
            text.contains("#!/bin/sh\nexec /usr/bin/sleep 1\n"),
            "the custom init"
        );
        for name in [
            "init\0",
            "usr/sbin/blkid\0",
            "usr/bin/dash\0",
            "etc/initrd-modules\0",
            "ext4.ko\0",
        ] {
            assert!(text.contains(name), "{name}");
        }
        assert!(!text.contains("usr/sbin/switch_root\0"));
        assert!(!text.contains("azldev-initrd:"), "not azldev's init");
    }

    /// The fixture kernel's module directory, below the root.
    const KERNEL: &str = "usr/lib/modules/6.1.0-9-amd64/kernel";

    /// A kernel module `rel` below `kernel` whose `.modinfo` is `info`
    /// (`;` separating its fields).
    fn module(kernel: &Path, rel: &str, info: &str) {
        let p = kernel.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let info = info.replace(';', "\0");
        fs::write(
            p,
            super::super::elf::fixture::object(62, &[(".modinfo", info.as_bytes())]),
        )
        .expect("write");
    }

    /// The tests' ESP input: image `vm`, `/usr/bin/boot-check` as the init,
    /// an ext4 root on `PARTUUID=0a`, no command line or extra files.
    fn vm_input<'a>(root: &'a Path, arch: Arch, initrd: &'a InitrdConfig, sde: i64) -> EspInput<'a> {
        EspInput {
            root,
            name: "vm",
            arch,
            cmdline: "",
            init: "/usr/bin/boot-check",
            initrd,
            root_fs: RootFs::Ext4,
            root_device: "PARTUUID=0a",
            extra: BTreeMap::new(),
            source_date_epoch: sde,
        }
    }

    /// The ESP's initramfs unpacked into `x`.
    fn unpack(initrd: &Path, x: &Path) {
        let bytes = fs::read(initrd).expect("initrd");
        let mut archive = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut archive)
            .expect("gunzip");
        fs::create_dir(x).expect("mkdir");
        let mut cpio = std::process::Command::new("cpio")
            .args(["-id", "--quiet", "--no-absolute-filenames"])
            .current_dir(x)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("cpio runs");
        std::io::Write::write_all(&mut cpio.stdin.take().expect("stdin"), &archive).expect("feed");
        assert!(cpio.wait().expect("cpio").success());
    }

    #[test]
    fn hyper_v_storage_is_a_default_when_the_kernel_has_it() {
        let r = minimal_root();
        let k = r.path().join(KERNEL);
        let ko = |p: &str, info: &str| module(&k, p, info);
        ko("drivers/hv/hv_vmbus.ko", "depends=");
        ko("drivers/scsi/scsi_transport_fc.ko", "depends=");
        ko("drivers/scsi/hv_storvsc.ko", "depends=hv_vmbus,scsi_transport_fc");
        let out = tempfile::tempdir().expect("tempdir");
        let cfg = InitrdConfig::default();
        let input = vm_input(r.path(), Arch::X86_64, &cfg, 0);
        let rep = write(&input, &out.path().join("esp")).expect("written");
        assert_eq!(
            rep.initrd_modules,
            [
                "virtio_ring",
                "virtio_blk",
                "virtio_scsi",
                "hv_vmbus",
                "scsi_transport_fc",
                "hv_storvsc",
                "jbd2",
                "crc32c_generic",
                "ext4",
            ]
        );
        // Absent (the fixture root of the other tests), they are skipped.
        fs::remove_dir_all(k.join("drivers/hv")).expect("rm");
        fs::remove_file(k.join("drivers/scsi/hv_storvsc.ko")).expect("rm");
        let rep = write(&input, &out.path().join("esp")).expect("written");
        assert!(
            !rep.initrd_modules.iter().any(|m| m.starts_with("hv_")),
            "{:?}",
            rep.initrd_modules
        );
    }

    #[test]
    fn the_live_initramfs_boots_a_squashfs_from_the_medium() {
        let r = minimal_root();
        let k = r.path().join(KERNEL);
        for (p, info) in [
            ("fs/isofs/isofs.ko", "depends="),
            ("fs/squashfs/squashfs.ko", "depends="),
            ("fs/overlayfs/overlay.ko", "depends="),
            ("drivers/cdrom/cdrom.ko", "depends="),
            ("drivers/scsi/sr_mod.ko", "depends=cdrom"),
        ] {
            module(&k, p, info);
        }
        let out = tempfile::tempdir().expect("tempdir");
        let cfg = InitrdConfig::default();
        let input = EspInput {
            root_fs: RootFs::Squashfs,
            root_device: "live:LABEL=VM",
            ..vm_input(r.path(), Arch::X86_64, &cfg, 0)
        };
        // The live init needs mkdir.
        let e = write(&input, &out.path().join("esp")).expect_err("no mkdir");
        assert!(e.to_string().contains("mkdir (package coreutils)"), "{e}");
        fs::write(
            r.path().join("usr/bin/mkdir"),
            super::super::elf::fixture::program(
                62,
                Some("/lib64/ld-linux-x86-64.so.2"),
                &["libc.so.6"],
                None,
            ),
        )
        .expect("write");
        let rep = write(&input, &out.path().join("esp")).expect("written");
        assert_eq!(
            rep.options,
            "console=ttyS0,115200 panic=-1 root=live:LABEL=VM init=/usr/bin/boot-check"
        );
        // The disk's modules, the filesystem's, then the medium's (loop is
        // the fixture's; the rest of LIVE_MODULES is not in this kernel).
        assert_eq!(
            rep.initrd_modules,
            [
                "virtio_ring",
                "virtio_blk",
                "virtio_scsi",
                "squashfs",
                "cdrom",
                "sr_mod",
                "isofs",
                "loop",
                "overlay",
            ]
        );
        let x = out.path().join("x");
        unpack(&out.path().join("esp/vm/6.1.0-9-amd64/initrd"), &x);
        let init = fs::read_to_string(x.join("init")).expect("init");
        assert!(init.contains("boot_live \"${root#live:}\""), "{init}");
        assert!(x.join("usr/bin/mkdir").is_file());
        // A disk's initramfs has neither, and refuses root=live: clearly.
        let disk = EspInput {
            root_fs: RootFs::Ext4,
            root_device: "PARTUUID=0a",
            ..input.clone()
        };
        let rep = write(&disk, &out.path().join("esp")).expect("written");
        assert!(!rep.initrd_modules.iter().any(|m| m == "isofs" || m == "overlay"));
        let x = out.path().join("y");
        unpack(&out.path().join("esp/vm/6.1.0-9-amd64/initrd"), &x);
        let init = fs::read_to_string(x.join("init")).expect("init");
        assert!(!init.contains("boot_live"));
        assert!(init.contains("a live medium needs the live initramfs"));
        assert!(!x.join("usr/bin/mkdir").exists());
    }

    fn w_back(r: &Path) {
        fs::write(
            r.join("usr/sbin/switch_root"),
            super::super::elf::fixture::program(
                62,
                Some("/lib64/ld-linux-x86-64.so.2"),
                &["libc.so.6"],
                None,
            ),
        )
        .expect("write");
    }
}
