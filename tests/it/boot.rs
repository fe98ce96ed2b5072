//! End-to-end boot checks of Demo Linux's `demo-vm` disk image, for x86_64
//! and aarch64, with real parts only: the toolchain seed (Debian's kernel
//! and systemd-boot converted into RPMs), `azldev build hello`, `azldev
//! image build demo-vm --image-format raw` (root installed by dnf from the
//! seed and the local repository, ESP tree and initramfs from
//! `boot::esp`, the GPT disk from `format::write(Format::Raw, …)`), and
//! `azldev image boot` under qemu-system (TCG) with OVMF / AAVMF. Needs root
//! (dnf, like the build tests) and qemu-system-x86 / qemu-system-arm, ovmf,
//! qemu-efi-aarch64, dosfstools, mtools and gdisk.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use azldev_buildroot::arch::Arch;
use azldev_e2e::copy_tree;

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

/// Where the image's boot program runs from (`init=`, on the disk's root).
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

    /// Adds an image to the demo copy: demo-vm with `boot` as its boot program.
    fn variant(&self, name: &str, boot: &str) {
        let text = std::fs::read_to_string(self.path("images/demo-vm.image.toml")).expect("demo-vm");
        let text = text.replace(
            "source = \"demo-vm/boot.sh\"",
            &format!("content = {}", toml::Value::String(boot.to_owned())),
        );
        assert!(
            text.contains("content = "),
            "the boot program is a file of demo-vm"
        );
        std::fs::write(self.path(&format!("images/{name}.image.toml")), text).expect("write");
        let mut distro = std::fs::read_to_string(self.path("distro.toml")).expect("distro.toml");
        distro.push_str(&format!(
            "\n[images.{name}]\ndefinition = {{ type = \"toml\", path = \"images/{name}.image.toml\" }}\n"
        ));
        std::fs::write(self.path("distro.toml"), distro).expect("write");
    }

    /// `image build NAME --image-format raw`; the disk's path.
    fn build_disk(&self, name: &str) -> PathBuf {
        self.expect(
            0,
            &[
                "image",
                "build",
                name,
                "--arch",
                self.arch.rpm(),
                "--image-format",
                "raw",
            ],
        );
        let disk = self.path(&format!("out/images/{name}/{}/{name}.raw", self.arch));
        assert!(disk.is_file(), "{}", disk.display());
        // As azldev names it (the test cache may be reached through a link).
        disk.canonicalize().expect("canonical path")
    }

    fn console(&self, name: &str) -> String {
        let p = self.path(&format!("build/logs/boot/{name}-{}/console.log", self.arch));
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

fn boot(vm: &Vm, name: &str, code: i32, timeout: &str) -> String {
    let _serial = lock("e2e-boot.lock");
    let start = Instant::now();
    let out = vm.expect(
        code,
        &[
            "image",
            "boot",
            name,
            "--arch",
            vm.arch.rpm(),
            "--timeout",
            timeout,
        ],
    );
    eprintln!(
        "{name} {}: boot check {:.1}s",
        vm.arch,
        start.elapsed().as_secs_f64()
    );
    out
}

/// `image boot demo-vm` printed `out` after booting `booted` (a disk or
/// the ISO): the marker reached the console, the machine powered off, and
/// the demo program built by `azldev build` ran just before the marker.
/// Returns the console and the marker's line number.
fn demo_vm_booted(vm: &Vm, out: &str, booted: &Path) -> (String, usize) {
    let arch = vm.arch;
    let marker = format!("AZLDEV-BOOT-OK demo-vm {arch}");
    assert!(
        out.contains(&booted.display().to_string()),
        "{} is booted: {out}",
        booted.display()
    );
    assert!(
        out.contains(&format!("demo-vm {arch}: booted, `{marker}`")),
        "{out}"
    );
    assert!(out.contains("powered off"), "{out}");
    let console = vm.console("demo-vm");
    let lines: Vec<&str> = console.lines().map(str::trim).collect();
    for l in lines
        .iter()
        .filter(|l| l.starts_with("azldev-initrd:") || l.starts_with("insmod:") || l.starts_with("demo-vm:"))
    {
        eprintln!("{arch} console: {l}");
    }
    let at = lines.iter().position(|l| *l == marker).expect("the marker line");
    assert!(lines[..at].contains(&"Hello, world!"), "{console}");
    (console, at)
}

fn boots_and_shows_the_marker(arch: Arch) -> Vm {
    let vm = Vm::new(arch);
    seed_kernel_is_usable(&vm);
    let disk = vm.build_disk("demo-vm");
    let initrd = minimal_initrd(&vm, &disk);
    let out = boot(&vm, "demo-vm", 0, "400");
    let (console, at) = demo_vm_booted(&vm, &out, &disk);
    let lines: Vec<&str> = console.lines().map(str::trim).collect();
    // The kernel ran azldev's init from the initramfs; it mounted the disk's
    // root partition (by its PARTUUID, read only) and switched to the boot
    // program, which runs from the disk: / is the virtio disk's ext4
    // partition, and neither the boot program nor `hello` is in the initramfs.
    assert!(console.contains("Run /init as init process"), "{console}");
    let mounted = lines
        .iter()
        .find(|l| l.starts_with("azldev-initrd: root /dev/vda2 (PARTUUID="))
        .unwrap_or_else(|| panic!("the initramfs mounted the root partition: {console}"));
    assert!(
        mounted.ends_with(&format!("ro) mounted; switching to {INIT}")),
        "{mounted}"
    );
    assert!(
        lines[..at]
            .iter()
            .any(|l| l.starts_with("demo-vm: / is /dev/vda2 ext4 ro")),
        "{console}"
    );
    assert!(
        !initrd.iter().any(|p| p.ends_with("/hello") || p == &INIT[1..]),
        "{initrd:?}"
    );
    assert!(console.contains(esp_console(arch)), "{console}");
    assert!(machines_using(&disk).is_empty(), "qemu is gone");
    vm
}

/// The image's `image.json`.
fn image_json(vm: &Vm) -> serde_json::Value {
    let p = vm.path(&format!("out/images/demo-vm/{}/image.json", vm.arch));
    serde_json::from_slice(&std::fs::read(p).expect("image.json")).expect("JSON")
}

/// The initramfs on the disk's ESP (read with mtools, no mount): azldev's
/// init, the programs it runs with their libraries, the modules that reach
/// the ext4 root in load order; a few MB, reported in the build's report and
/// size report; the same bytes when the image is built again. Its listing.
fn minimal_initrd(vm: &Vm, disk: &Path) -> Vec<String> {
    let report = image_json(vm);
    let size = report["initrd-size"].as_u64().expect("initrd-size in image.json");
    assert!(size < 8 << 20, "a minimal initramfs: {size} bytes");
    let sizes =
        std::fs::read_to_string(vm.path(&format!("out/images/demo-vm/{}/demo-vm.sizes.txt", vm.arch)))
            .expect("size report");
    assert!(
        sizes.contains(&format!("({size} bytes)")) && sizes.contains("# initramfs "),
        "{sizes}"
    );
    let extract = |to: &Path| {
        let entry = Command::new("mtype")
            .args([
                "-i",
                &format!("{}@@1M", disk.display()),
                "::loader/entries/demo-vm.conf",
            ])
            .output()
            .expect("mtype runs");
        assert!(
            entry.status.success(),
            "{}",
            String::from_utf8_lossy(&entry.stderr)
        );
        let entry = String::from_utf8_lossy(&entry.stdout).into_owned();
        let path = entry
            .lines()
            .find_map(|l| l.strip_prefix("initrd /"))
            .expect("an initrd line")
            .to_owned();
        sh(Command::new("mcopy").args([
            "-o",
            "-i",
            &format!("{}@@1M", disk.display()),
            &format!("::{path}"),
            &to.display().to_string(),
        ]));
        entry
    };
    let dir = tempfile::tempdir_in(cache()).expect("tempdir");
    let entry = extract(&dir.path().join("a"));
    let bytes = std::fs::read(dir.path().join("a")).expect("initrd");
    assert_eq!(bytes.len() as u64, size);
    assert!(
        entry.contains(" root=PARTUUID=") && entry.contains(&format!(" init={INIT}")),
        "{entry}"
    );
    assert!(entry.contains(" rootfstype=ext4"), "{entry}");
    // Built again from scratch: the same archive, byte for byte.
    vm.expect(
        0,
        &[
            "image",
            "build",
            "demo-vm",
            "--arch",
            vm.arch.rpm(),
            "--image-format",
            "raw",
            "--rebuild",
        ],
    );
    extract(&dir.path().join("b"));
    assert!(
        bytes == std::fs::read(dir.path().join("b")).expect("initrd"),
        "the initramfs changed"
    );
    // gzip-compressed newc.
    assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
    let listing = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -dc < '{}' | cpio -it --quiet",
            dir.path().join("a").display()
        ))
        .output()
        .expect("cpio runs");
    assert!(listing.status.success());
    let names: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for want in [
        "init",
        "etc/initrd-modules",
        "usr/sbin/switch_root",
        "usr/sbin/blkid",
        "usr/bin/mount",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    for module in [
        "virtio_blk.ko",
        "ext4.ko",
        "jbd2.ko",
        "mbcache.ko",
        "crc32c_generic.ko",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(&format!("/{module}"))),
            "{module} in {names:?}"
        );
    }
    assert!(names.iter().any(|n| n.contains("/libc.so")), "{names:?}");
    assert!(names.len() < 400, "{} entries", names.len());
    eprintln!(
        "demo-vm {}: initramfs {size} bytes, {} entries",
        vm.arch,
        names.len()
    );
    names
}

/// The seed's converted kernel: /boot and the modules moved under /usr,
/// Debian's relations kept, no maintainer scripts (the initramfs is azldev's).
fn seed_kernel_is_usable(vm: &Vm) {
    let packages = vm.path(&format!("build/seed/{}/Packages", vm.arch));
    let kernel = std::fs::read_dir(&packages)
        .expect("seed packages")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().expect("name").to_string_lossy().into_owned();
            n.starts_with("linux-image-6.") && n.ends_with(&format!(".{}.rpm", vm.arch))
        })
        .expect("the seed holds the kernel package");
    let rpm = |args: &[&str]| {
        let out = Command::new("rpm")
            .args(args)
            .arg(&kernel)
            .output()
            .expect("rpm runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let files = rpm(&["-qlp"]);
    assert!(files.lines().any(|l| l.starts_with("/boot/vmlinuz-")), "{files}");
    assert!(files.contains("/kernel/drivers/block/virtio_blk.ko\n"), "modules");
    assert!(
        files.lines().all(|l| !l.starts_with("/lib/")),
        "modules moved under /usr"
    );
    assert!(rpm(&["-qp", "--requires"]).contains("kmod"));
    assert_eq!(rpm(&["-qp", "--scripts"]).trim(), "", "no maintainer scripts");
}

fn esp_console(arch: Arch) -> &'static str {
    azldev_image::boot::esp::console(arch)
}

#[test]
fn demo_vm_boots_on_x86_64_and_failures_are_reported() {
    let vm = boots_and_shows_the_marker(Arch::X86_64);

    // What cannot be booted is an error (exit 2) naming what is missing.
    let out = vm.expect(2, &["image", "boot", "nosuch"]);
    assert!(out.contains("no image named `nosuch`"), "{out}");
    let out = vm.expect(2, &["image", "boot", "demo-vm", "--arch", "aarch64"]);
    assert!(
        out.contains("no built disk of image `demo-vm` for aarch64"),
        "{out}"
    );
    assert!(out.contains("out/images/demo-vm/aarch64/demo-vm.raw"), "{out}");
    assert!(
        out.contains("image build demo-vm --arch aarch64") && !out.contains("{}"),
        "{out}"
    );

    // A boot program that fails: init exits, the kernel panics; exit 1 with
    // the console's tail.
    vm.variant("vm-panics", "#!/bin/sh\necho demo-vm: giving up\nexit 3\n");
    let disk = vm.build_disk("vm-panics");
    let out = boot(&vm, "vm-panics", 1, "400");
    assert!(
        out.contains("the kernel panicked before `AZLDEV-BOOT-OK vm-panics x86_64`"),
        "{out}"
    );
    assert!(out.contains("Attempted to kill init"), "{out}");
    assert!(out.contains("demo-vm: giving up"), "{out}");
    assert!(machines_using(&disk).is_empty(), "qemu is gone");

    // An erofs root partition: the initramfs loads erofs (not ext4) and
    // mounts it read only.
    let boot_sh = std::fs::read_to_string(vm.path("images/demo-vm/boot.sh")).expect("boot.sh");
    vm.variant(
        "vm-erofs",
        &boot_sh.replace("AZLDEV-BOOT-OK demo-vm", "AZLDEV-BOOT-OK vm-erofs"),
    );
    let toml = vm.path("images/vm-erofs.image.toml");
    let text = std::fs::read_to_string(&toml).expect("variant");
    std::fs::write(
        &toml,
        text.replace("[disk]\n", "[disk]\nroot-filesystem = \"erofs\"\n"),
    )
    .expect("write");
    let disk = vm.build_disk("vm-erofs");
    boot(&vm, "vm-erofs", 0, "400");
    let console = vm.console("vm-erofs");
    assert!(
        console
            .lines()
            .any(|l| l.trim().starts_with("demo-vm: / is /dev/vda2 erofs ro")),
        "{console}"
    );
    assert!(console.contains("AZLDEV-BOOT-OK vm-erofs x86_64"), "{console}");
    assert!(machines_using(&disk).is_empty(), "qemu is gone");

    // One that never prints the marker: the timeout stops the machine.
    vm.variant("vm-hangs", "#!/bin/sh\nwhile :; do sleep 1; done\n");
    let disk = vm.build_disk("vm-hangs");
    let out = boot(&vm, "vm-hangs", 1, "6");
    let json = vm.run(&["image", "boot", "vm-hangs", "--timeout", "3", "--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    assert_eq!(v["passed"], false, "{v}");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("after 3s")), "{v}");
    assert!(
        out.contains("no `AZLDEV-BOOT-OK vm-hangs x86_64` on the serial console after 6s"),
        "{out}"
    );
    assert!(machines_using(&disk).is_empty(), "qemu is gone after the timeout");

    // Ctrl-C (SIGINT to azldev) stops the machine too.
    let child = Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(vm.dir.path())
        .env("AZLDEV_CACHE_DIR", cache())
        .args(["image", "boot", "vm-hangs", "--timeout", "400"])
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

/// The ISO's loader entry (read from the FAT inside the ISO: the El Torito
/// image is the appended ESP, in clear).
fn iso_entry(iso: &Path) -> String {
    let bytes = std::fs::read(iso).expect("the ISO");
    let at = bytes
        .windows(8)
        .position(|w| w == b"\noptions")
        .expect("a loader entry in the ISO");
    let end = bytes[at + 1..].iter().position(|b| *b == b'\n').expect("a line");
    String::from_utf8_lossy(&bytes[at + 1..at + 1 + end]).into_owned()
}

/// `image build demo-vm --image-format iso`, then `image boot
/// --image-format iso`: the ISO attached as a CD-ROM boots its ESP's live
/// initramfs, which finds the CD by the volume id, loop-mounts
/// /LiveOS/squashfs.img under a tmpfs overlay and switches to the boot
/// program, which runs from that root.
fn live_iso_boots(arch: Arch) -> Vm {
    let vm = Vm::new(arch);
    let start = Instant::now();
    vm.expect(
        0,
        &[
            "image",
            "build",
            "demo-vm",
            "--arch",
            arch.rpm(),
            "--image-format",
            "iso",
        ],
    );
    eprintln!(
        "demo-vm {arch}: ISO built in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    let iso = vm
        .path(&format!("out/images/demo-vm/{arch}/demo-vm.iso"))
        .canonicalize()
        .expect("the ISO");
    let report = image_json(&vm);
    let initrd = report["iso-initrd-size"].as_u64().expect("iso-initrd-size");
    assert!(initrd < 12 << 20, "a minimal live initramfs: {initrd} bytes");
    let size = std::fs::metadata(&iso).expect("the ISO").len();
    eprintln!("demo-vm {arch}: ISO {size} bytes, live initramfs {initrd} bytes");
    let entry = iso_entry(&iso);
    assert_eq!(
        entry,
        format!(
            "options {} panic=-1 root=live:LABEL=DEMO_VM init={INIT}",
            esp_console(arch)
        )
    );

    let serial = lock("e2e-boot.lock");
    let start = Instant::now();
    let out = vm.expect(
        0,
        &[
            "image",
            "boot",
            "demo-vm",
            "--arch",
            arch.rpm(),
            "--image-format",
            "iso",
            "--timeout",
            "400",
        ],
    );
    drop(serial);
    eprintln!(
        "demo-vm {arch}: ISO boot check {:.1}s: {}",
        start.elapsed().as_secs_f64(),
        out.lines().find(|l| l.contains(": booted, ")).unwrap_or_default()
    );
    let (console, at) = demo_vm_booted(&vm, &out, &iso);
    let lines: Vec<&str> = console.lines().map(str::trim).collect();
    // The initramfs found the CD by its volume id and booted the squashfs
    // under an overlay; the boot program sees / as that overlay, its lower
    // layer the squashfs on a loop device, on the CD's ISO 9660.
    let live = lines
        .iter()
        .find(|l| l.starts_with("azldev-initrd: live root /dev/sr0 (LABEL=DEMO_VM)"))
        .unwrap_or_else(|| panic!("the live initramfs found the CD: {console}"));
    assert!(
        live.ends_with(&format!(
            "/LiveOS/squashfs.img mounted (overlay of the squashfs and a tmpfs, rw); switching to {INIT}"
        )),
        "{live}"
    );
    let before = &lines[..at];
    let root = before
        .iter()
        .find(|l| l.starts_with("demo-vm: / is "))
        .expect("the boot program's / line");
    assert!(
        root.starts_with("demo-vm: / is overlay overlay rw,")
            && root.contains("lowerdir=/run/azldev/live/squashfs"),
        "{root}"
    );
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("demo-vm: /dev/loop")
                && l.ends_with(" squashfs on /run/azldev/live/squashfs")),
        "{console}"
    );
    assert!(
        before.contains(&"demo-vm: /dev/sr0 iso9660 on /run/azldev/live/medium"),
        "{console}"
    );
    assert!(
        before.contains(&"demo-vm: / is writable"),
        "the overlay's tmpfs takes writes: {console}"
    );
    assert!(machines_using(&iso).is_empty(), "qemu is gone");
    vm
}

#[test]
fn demo_vm_live_iso_boots_on_x86_64() {
    let vm = live_iso_boots(Arch::X86_64);
    // `[initrd] kind = "root"` keeps the former ISO: the whole root as its
    // initramfs (rdinit=), about twice the size.
    let boot_sh = std::fs::read_to_string(vm.path("images/demo-vm/boot.sh")).expect("boot.sh");
    vm.variant(
        "vm-root-iso",
        &boot_sh.replace("AZLDEV-BOOT-OK demo-vm", "AZLDEV-BOOT-OK vm-root-iso"),
    );
    let toml = vm.path("images/vm-root-iso.image.toml");
    let text = std::fs::read_to_string(&toml).expect("variant");
    std::fs::write(&toml, text.replace("kind = \"minimal\"", "kind = \"root\"")).expect("write");
    vm.expect(
        0,
        &[
            "image",
            "build",
            "vm-root-iso",
            "--arch",
            "x86_64",
            "--image-format",
            "iso",
        ],
    );
    let root_iso = vm.path("out/images/vm-root-iso/x86_64/vm-root-iso.iso");
    assert_eq!(
        iso_entry(&root_iso),
        format!("options console=ttyS0,115200 panic=-1 rdinit={INIT}")
    );
    let live = std::fs::metadata(vm.path("out/images/demo-vm/x86_64/demo-vm.iso"))
        .expect("ISO")
        .len();
    let whole = std::fs::metadata(&root_iso).expect("ISO").len();
    let whole_initrd = std::fs::read(vm.path("out/images/vm-root-iso/x86_64/image.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["iso-initrd-size"].as_u64())
        .expect("iso-initrd-size");
    eprintln!(
        "x86_64 ISO: {live} bytes live, {whole} bytes with the whole-root initramfs ({whole_initrd} bytes)"
    );
    // The root is no longer carried twice: the ISO lost the whole-root
    // initramfs (tens of MB) and kept only the live one.
    assert!(whole_initrd > 64 << 20, "{whole_initrd}");
    assert!(live + (64 << 20) < whole, "live {live}, whole-root {whole}");
    // A medium that never appears: the live init gives up after rd.timeout=
    // (30 s by default) with the label it looked for, and the kernel panics
    // (exit 1).
    vm.variant("vm-no-medium", &boot_sh);
    let toml = vm.path("images/vm-no-medium.image.toml");
    let text = std::fs::read_to_string(&toml).expect("variant");
    std::fs::write(
        &toml,
        format!("kernel-cmdline = \"root=live:LABEL=NOPE rd.timeout=3\"\n{text}"),
    )
    .expect("write");
    vm.expect(
        0,
        &[
            "image",
            "build",
            "vm-no-medium",
            "--arch",
            "x86_64",
            "--image-format",
            "iso",
        ],
    );
    let serial = lock("e2e-boot.lock");
    let start = Instant::now();
    let out = vm.expect(
        1,
        &[
            "image",
            "boot",
            "vm-no-medium",
            "--image-format",
            "iso",
            "--timeout",
            "400",
        ],
    );
    drop(serial);
    eprintln!(
        "vm-no-medium x86_64: boot check {:.1}s",
        start.elapsed().as_secs_f64()
    );
    assert!(out.contains("the kernel panicked before"), "{out}");
    assert!(
        out.contains("azldev-initrd: no live medium with LABEL=NOPE appeared within 3 seconds"),
        "{out}"
    );
    // With no ISO built, asking for one names it.
    let out = vm.expect(
        2,
        &[
            "image",
            "boot",
            "demo-vm",
            "--arch",
            "aarch64",
            "--image-format",
            "iso",
        ],
    );
    assert!(out.contains("out/images/demo-vm/aarch64/demo-vm.iso"), "{out}");
    assert!(out.contains("--image-format iso"), "{out}");
}

#[test]
fn demo_vm_live_iso_boots_on_aarch64() {
    let vm = live_iso_boots(Arch::Aarch64);
    // The same file is a disk (a USB stick): attached as a virtio disk (a
    // `.raw` name for it), the firmware boots GPT partition 2, the ESP,
    // and the initramfs finds the medium's label on the whole disk.
    let iso = vm
        .path("out/images/demo-vm/aarch64/demo-vm.iso")
        .canonicalize()
        .expect("the ISO");
    let stick = vm.path("usb-stick.raw");
    std::os::unix::fs::symlink(&iso, &stick).expect("symlink");
    let serial = lock("e2e-boot.lock");
    let start = Instant::now();
    let out = vm.expect(
        0,
        &[
            "image",
            "boot",
            "demo-vm",
            "--arch",
            "aarch64",
            "--disk",
            &stick.display().to_string(),
            "--timeout",
            "400",
        ],
    );
    drop(serial);
    eprintln!(
        "demo-vm aarch64: ISO as a disk, boot check {:.1}s",
        start.elapsed().as_secs_f64()
    );
    assert!(out.contains("booted, `AZLDEV-BOOT-OK demo-vm aarch64`"), "{out}");
    let console = vm.console("demo-vm");
    assert!(
        console.lines().any(|l| l
            .trim()
            .starts_with("azldev-initrd: live root /dev/vda (LABEL=DEMO_VM)")),
        "{console}"
    );
    assert!(
        console
            .lines()
            .any(|l| l.trim() == "demo-vm: /dev/vda iso9660 on /run/azldev/live/medium"),
        "{console}"
    );
}
