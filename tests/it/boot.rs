//! End-to-end boot checks of Demo Linux's `demo-vm` disk image, for x86_64
//! and aarch64, with real parts only: the toolchain seed (Debian's kernel
//! and systemd-boot converted into RPMs), `azldev build hello`, a root
//! installed by dnf from the seed and the local repository, the ESP tree and
//! initramfs written by azldev-image, a GPT disk, and `azldev image boot`
//! under qemu-system (TCG) with OVMF / AAVMF. Needs root (dnf, like the
//! build tests) and qemu-system-x86 / qemu-system-arm, ovmf,
//! qemu-efi-aarch64, dosfstools, mtools and gdisk.
//!
//! Until the image pipeline's root builder and raw disk writer are merged,
//! the root and the disk are made here (dnf; `mkfs.vfat` + `mcopy` +
//! `sgdisk`); the boot path (ESP tree, initramfs) and the check are the
//! crate's and the CLI's own.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use azldev_buildroot::arch::Arch;
use azldev_e2e::copy_tree;
use azldev_image::boot::esp::{self, EspInput};
use azldev_image::boot::initrd::Extra;

fn cache() -> PathBuf {
    let d = azldev_e2e::demo::workspace_root().join("target/azldev-test-cache");
    std::fs::create_dir_all(&d).expect("cache dir");
    d
}

fn lock(name: &str) -> File {
    let f = File::create(cache().join(name)).expect("lock file");
    f.lock().expect("lock");
    f
}

/// Where the image's boot program runs from (`rdinit=`).
const INIT: &str = "/usr/lib/demo-vm/boot";

struct Vm {
    dir: tempfile::TempDir,
    arch: Arch,
}

impl Vm {
    /// The demo copied, seeded and `hello` built for `arch`; a root
    /// installed from the seed and the local repository.
    fn new(arch: Arch) -> Vm {
        let dir = tempfile::tempdir_in(cache()).expect("tempdir");
        let src = azldev_e2e::demo::workspace_root();
        std::fs::copy(src.join("distro.toml"), dir.path().join("distro.toml")).expect("distro.toml");
        for d in ["components", "overlays", "locks", "mock", "images"] {
            copy_tree(&src.join(d), &dir.path().join(d));
        }
        azldev_e2e::demo::generate(
            &azldev_e2e::demo::default_fixtures(),
            &dir.path().join("target/demo-upstreams"),
        )
        .expect("generate the demo upstreams");
        let vm = Vm { dir, arch };
        {
            // The build cache and base roots are shared with the build tests.
            let _serial = lock("e2e-build.lock");
            vm.expect(0, &["toolchain", "seed", "--arch", arch.rpm()]);
            vm.expect(0, &["build", "--arch", arch.rpm(), "hello"]);
        }
        vm.install_root();
        vm
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        assert_cmd::Command::cargo_bin("azldev")
            .expect("azldev binary")
            .current_dir(self.dir.path())
            .env("AZLDEV_CACHE_DIR", cache())
            .env_remove("AZLDEV_JOBS")
            .args(args)
            .output()
            .expect("runs")
    }

    fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "azldev {args:?}\n{text}");
        text
    }

    /// dnf installs the image's packages from the seed and the local repository.
    fn install_root(&self) {
        let root = self.path("root");
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("home");
        std::fs::write(home.join(".rpmmacros"), "%_dbpath /var/lib/rpm\n").expect("rpmmacros");
        let kernel = match self.arch {
            Arch::X86_64 => "linux-image-amd64",
            Arch::Aarch64 => "linux-image-arm64",
        };
        let seed = self.path(&format!("build/seed/{}", self.arch.rpm()));
        let local = self.path(&format!("out/{}", self.arch.rpm()));
        let out = Command::new("dnf")
            .env("HOME", &home)
            .arg(format!("--installroot={}", root.display()))
            .arg(format!("--forcearch={}", self.arch.rpm()))
            .args([
                "--releasever=1.0",
                "--setopt=reposdir=/dev/null",
                "--setopt=install_weak_deps=0",
                "--nogpgcheck",
                "-y",
                "-q",
            ])
            .arg(format!("--repofrompath=seed,file://{}", seed.display()))
            .arg(format!("--repofrompath=local,file://{}", local.display()))
            .args(["--repo=seed", "--repo=local", "install"])
            .args(["dash", "coreutils", "mount", "hello", kernel, "systemd-boot-efi"])
            .output()
            .expect("dnf runs");
        assert!(
            out.status.success(),
            "dnf: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The ESP tree with `boot` as the boot program, and a GPT disk holding it.
    fn disk(&self, label: &str, boot: &[u8]) -> (PathBuf, esp::EspReport) {
        let mut extra = BTreeMap::new();
        extra.insert(
            INIT.trim_start_matches('/').to_owned(),
            Extra::File {
                mode: 0o755,
                data: boot.to_vec(),
            },
        );
        let esp_dir = self.path(&format!("esp-{label}"));
        let report = esp::write(
            &EspInput {
                root: &self.path("root"),
                name: "demo-vm",
                arch: self.arch,
                cmdline: "",
                init: INIT,
                extra,
                source_date_epoch: 1_700_000_000,
            },
            &esp_dir,
        )
        .expect("ESP tree");
        let disk = self.path(&format!("{label}.raw"));
        gpt_disk(&esp_dir, &disk);
        (disk, report)
    }

    fn console(&self) -> String {
        let p = self.path(&format!("build/logs/boot/demo-vm-{}/console.log", self.arch));
        String::from_utf8_lossy(&std::fs::read(p).expect("console log")).into_owned()
    }
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A GPT disk with one FAT32 EFI system partition holding `esp`.
fn gpt_disk(esp: &Path, disk: &Path) {
    let bytes: u64 = walkdir::WalkDir::new(esp)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let mib = bytes / (1 << 20) + 40;
    let part = disk.with_extension("esp");
    File::create(&part)
        .and_then(|f| f.set_len(mib << 20))
        .expect("ESP image");
    sh(Command::new("mkfs.vfat")
        .args(["-F", "32", "-n", "ESP", "-i", "0a2d1e5f"])
        .arg(&part));
    let mut mcopy = Command::new("mcopy");
    mcopy
        .env("MTOOLS_SKIP_CHECK", "1")
        .args(["-s", "-p", "-i"])
        .arg(&part);
    for e in std::fs::read_dir(esp).expect("ESP tree") {
        mcopy.arg(e.expect("entry").path());
    }
    sh(mcopy.arg("::/"));
    File::create(disk)
        .and_then(|f| f.set_len((mib + 2) << 20))
        .expect("disk");
    sh(Command::new("sgdisk")
        .args([
            "-n",
            &format!("1:2048:+{mib}M"),
            "-t",
            "1:ef00",
            "-U",
            "3d0c1a7e-1b5e-4c2a-9d3f-000000000001",
        ])
        .arg(disk));
    sh(Command::new("dd")
        .arg(format!("if={}", part.display()))
        .arg(format!("of={}", disk.display()))
        .args(["bs=1M", "seek=1", "conv=notrunc,sparse", "status=none"]));
    std::fs::remove_file(&part).expect("remove the ESP image");
}

/// qemu processes whose command line names `disk`.
fn machines_using(disk: &Path) -> Vec<String> {
    let needle = disk.display().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("qemu-system") && c.contains(&needle))
        .collect()
}

fn boot_program() -> Vec<u8> {
    std::fs::read(azldev_e2e::demo::workspace_root().join("images/demo-vm/boot.sh")).expect("boot.sh")
}

fn boots_and_shows_the_marker(arch: Arch) -> Vm {
    let vm = Vm::new(arch);
    let (disk, report) = vm.disk("demo-vm", &boot_program());
    assert!(report.options.contains(esp::console(arch)), "{report:?}");
    // The ESP tree is deterministic: the same root gives the same initramfs.
    let (_, again) = vm.disk("demo-vm-again", &boot_program());
    let initrd =
        |label: &str| std::fs::read(vm.path(&format!("esp-{label}")).join(&report.initrd)).expect("initrd");
    assert_eq!(report, again);
    assert!(
        initrd("demo-vm") == initrd("demo-vm-again"),
        "initramfs bytes differ"
    );

    let _serial = lock("e2e-boot.lock");
    let start = Instant::now();
    let disk_arg = disk.to_str().expect("utf-8 path");
    let out = vm.expect(
        0,
        &[
            "image",
            "boot",
            "demo-vm",
            "--arch",
            arch.rpm(),
            "--timeout",
            "400",
            "--disk",
            disk_arg,
        ],
    );
    eprintln!("{arch}: boot check {:.1}s", start.elapsed().as_secs_f64());
    let marker = format!("AZLDEV-BOOT-OK demo-vm {arch}");
    assert!(
        out.contains(&format!("demo-vm {arch}: booted, `{marker}`")),
        "{out}"
    );
    assert!(out.contains("powered off"), "{out}");
    let console = vm.console();
    let lines: Vec<&str> = console.lines().map(str::trim).collect();
    let at = lines.iter().position(|l| *l == marker).expect("the marker line");
    // The demo program built by `azldev build` ran just before.
    assert!(lines[..at].iter().any(|l| l.contains("Hello")), "{console}");
    assert!(
        console.contains(&format!("Run {INIT} as init process")),
        "{console}"
    );
    assert!(machines_using(&disk).is_empty(), "qemu is gone");
    vm
}

#[test]
fn demo_vm_boots_on_x86_64_and_failures_are_reported() {
    let vm = boots_and_shows_the_marker(Arch::X86_64);

    // A boot program that fails: init exits, the kernel panics; exit 1 with
    // the console's tail.
    let (disk, _) = vm.disk("panics", b"#!/bin/sh\necho demo-vm: giving up\nexit 3\n");
    let _serial = lock("e2e-boot.lock");
    let out = vm.expect(
        1,
        &[
            "image",
            "boot",
            "demo-vm",
            "--disk",
            disk.to_str().expect("utf-8"),
            "--timeout",
            "400",
        ],
    );
    assert!(
        out.contains("the kernel panicked before `AZLDEV-BOOT-OK demo-vm x86_64`"),
        "{out}"
    );
    assert!(out.contains("Attempted to kill init"), "{out}");
    assert!(out.contains("demo-vm: giving up"), "{out}");
    assert!(machines_using(&disk).is_empty(), "qemu is gone");

    // One that never prints the marker: the timeout stops the machine.
    let (disk, _) = vm.disk("hangs", b"#!/bin/sh\nwhile :; do sleep 1; done\n");
    let out = vm.expect(
        1,
        &[
            "image",
            "boot",
            "demo-vm",
            "--disk",
            disk.to_str().expect("utf-8"),
            "--timeout",
            "6",
        ],
    );
    assert!(
        out.contains("no `AZLDEV-BOOT-OK demo-vm x86_64` on the serial console after 6s"),
        "{out}"
    );
    assert!(machines_using(&disk).is_empty(), "qemu is gone after the timeout");

    // Ctrl-C (SIGINT to azldev) stops the machine too.
    let child = Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(vm.dir.path())
        .env("AZLDEV_CACHE_DIR", cache())
        .args(["image", "boot", "demo-vm", "--timeout", "400", "--disk"])
        .arg(&disk)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while machines_using(&disk).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!machines_using(&disk).is_empty(), "qemu started");
    std::thread::sleep(Duration::from_secs(1));
    sh(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let out = child.wait_with_output().expect("exits");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert!(machines_using(&disk).is_empty(), "qemu is gone after Ctrl-C");
}

#[test]
fn demo_vm_boots_on_aarch64() {
    boots_and_shows_the_marker(Arch::Aarch64);
}
