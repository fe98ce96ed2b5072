//! Format writers, each checked by its own tool (GNU tar, skopeo, umoci,
//! e2fsck, fsck.erofs, unsquashfs, sgdisk, qemu-img, xorriso) and written
//! twice to check the bytes are the same.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use azldev_buildroot::arch::Arch;
use azldev_image::format::{Artifact, ContainerConfig, Format, FormatInput, RootFs, write};

const SDE: i64 = 1_700_000_000;

/// A small root tree and ESP tree in a tempdir.
struct Fixture {
    dir: tempfile::TempDir,
    container: ContainerConfig,
}

fn set_mtime(path: &Path, secs: i64) {
    let ts = rustix::fs::Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
        last_modification: rustix::fs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    };
    rustix::fs::utimensat(rustix::fs::CWD, path, &ts, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .expect("utimensat");
}

/// `security.capability` for cap_net_raw+ep (VFS_CAP_REVISION_2).
fn cap_net_raw() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0x0200_0001u32.to_le_bytes());
    v.extend_from_slice(&(1u32 << 13).to_le_bytes());
    v.extend_from_slice(&[0u8; 12]);
    v
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let w = |rel: &str, data: &[u8], mode: u32| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, data).expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        w("etc/os-release", b"NAME=\"Demo\"\nID=demo\n", 0o644);
        w("usr/bin/hello", b"#!/bin/sh\necho hello from the image\n", 0o755);
        w("usr/bin/su-helper", b"setuid\n", 0o4755);
        w("usr/sbin/ping", b"needs a capability\n", 0o755);
        w("etc/empty", b"", 0o600);
        w(
            "var/lib/data.bin",
            &(0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
            0o644,
        );
        let long = format!("usr/share/{}/{}", "a".repeat(90), "b".repeat(90));
        w(&format!("{long}/file-with-a-long-name"), b"long\n", 0o644);
        std::fs::create_dir_all(root.join("tmp")).expect("tmp");
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        std::fs::create_dir_all(root.join("var/empty-dir")).expect("dir");
        std::fs::create_dir_all(root.join("dev")).expect("dev");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("dev/null"),
            rustix::fs::FileType::CharacterDevice,
            rustix::fs::Mode::from_raw_mode(0o666),
            rustix::fs::makedev(1, 3),
        )
        .expect("mknod");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("dev/initctl"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        symlink("../usr/bin/hello", root.join("etc/hello-link")).expect("symlink");
        symlink("usr/bin", root.join("bin")).expect("symlink");
        std::fs::hard_link(root.join("usr/bin/hello"), root.join("usr/bin/hello-again")).expect("hardlink");
        rustix::fs::lsetxattr(
            root.join("usr/sbin/ping"),
            "security.capability",
            &cap_net_raw(),
            rustix::fs::XattrFlags::empty(),
        )
        .expect("setxattr");
        rustix::fs::chown(
            root.join("var/lib/data.bin"),
            Some(rustix::process::Uid::from_raw(1000)),
            Some(rustix::process::Gid::from_raw(100)),
        )
        .expect("chown");
        // A file from the future is clamped; the rest carries an older date.
        walk(&root, &mut |p| set_mtime(p, SDE - 86_400));
        set_mtime(&root.join("etc/os-release"), SDE + 1_000_000);
        let esp = dir.path().join("esp");
        std::fs::create_dir_all(esp.join("EFI/BOOT")).expect("esp");
        std::fs::write(esp.join("EFI/BOOT/BOOTX64.EFI"), vec![0x4d; 70_000]).expect("efi");
        std::fs::create_dir_all(esp.join("loader/entries")).expect("esp");
        std::fs::write(esp.join("loader/loader.conf"), b"timeout 0\n").expect("loader");
        let container = ContainerConfig {
            name: Some("demo-container".into()),
            tag: Some("1.0".into()),
            entrypoint: vec!["/usr/bin/hello".into()],
            cmd: vec!["--greet".into()],
            env: vec!["LANG=C.UTF-8".into()],
            working_dir: Some("/var/lib".into()),
            user: Some("0:0".into()),
            labels: vec![("org.example.kind".into(), "demo".into())],
            exposed_ports: vec!["8080".into(), "53/udp".into()],
        };
        Fixture { dir, container }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn input(&self, arch: Arch, scratch: &Path) -> FormatInput<'_> {
        FormatInput {
            root: Box::leak(self.root().into_boxed_path()),
            name: "demo",
            arch,
            source_date_epoch: SDE,
            seed: [7; 32],
            esp: Some(Box::leak(self.dir.path().join("esp").into_boxed_path())),
            root_fs: RootFs::Ext4,
            disk_size: None,
            kernel_cmdline: Some("console=ttyS0 root=PARTLABEL=root"),
            container: &self.container,
            log: Some(Box::leak(self.dir.path().join("format.log").into_boxed_path())),
            scratch: Box::leak(scratch.to_path_buf().into_boxed_path()),
            raw_disk: None,
            squashfs: None,
        }
    }

    /// Writes `format` twice (different scratch and output directories) and
    /// checks both results are byte-identical; returns the first.
    fn write_twice(&self, format: Format, arch: Arch, tweak: impl Fn(&mut FormatInput)) -> Artifact {
        let mut arts = Vec::new();
        for i in 0..2 {
            let out_dir = self.dir.path().join(format!("out{i}"));
            let mut input = self.input(arch, &self.dir.path().join(format!("scratch{i}")));
            tweak(&mut input);
            let out = out_dir.join(format!("demo.{}", format.name()));
            let art = write(format, &input, &out).unwrap_or_else(|e| panic!("{format}: {e}"));
            assert_eq!(art.path, out);
            assert_eq!(art.format, format);
            assert!(art.size > 0);
            arts.push(art);
        }
        assert_eq!(arts[0].sha256, arts[1].sha256, "{format}: two writes differ");
        same_bytes(&arts[0].path, &arts[1].path);
        // The reported digest is the file's (some writers hash on the way).
        if format != Format::Oci {
            let sum = Command::new("sha256sum")
                .arg(&arts[0].path)
                .output()
                .expect("sha256sum");
            let sum = String::from_utf8_lossy(&sum.stdout);
            assert_eq!(
                sum.split_whitespace().next(),
                Some(arts[0].sha256.as_str()),
                "{format}"
            );
        }
        arts.swap_remove(0)
    }
}

fn walk(p: &Path, f: &mut dyn FnMut(&Path)) {
    let m = std::fs::symlink_metadata(p).expect("lstat");
    if m.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(p)
            .expect("readdir")
            .map(|e| e.expect("entry").path())
            .collect();
        names.sort();
        for n in names {
            walk(&n, f);
        }
    }
    f(p);
}

/// Files (or every file of two directories) are byte-identical.
fn same_bytes(a: &Path, b: &Path) {
    let ma = std::fs::symlink_metadata(a).expect("lstat a");
    if ma.is_dir() {
        let list = |d: &Path| {
            let mut v = Vec::new();
            walk(d, &mut |p| {
                v.push(p.strip_prefix(d).expect("prefix").to_path_buf())
            });
            v
        };
        assert_eq!(list(a), list(b));
        for rel in list(a) {
            if a.join(&rel).is_file() {
                same_bytes(&a.join(&rel), &b.join(&rel));
            }
        }
    } else {
        let (x, y) = (
            std::fs::read(a).expect("read a"),
            std::fs::read(b).expect("read b"),
        );
        assert!(x == y, "{} and {} differ", a.display(), b.display());
    }
}

/// Runs a tool, asserting success; returns stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What an extracted tree keeps.
#[derive(Clone, Copy)]
struct Keeps {
    hard_links: bool,
    mtimes: bool,
    setuid: bool,
}

const ALL: Keeps = Keeps {
    hard_links: true,
    mtimes: true,
    setuid: true,
};

/// Runs a tool, asserting success; returns stdout and stderr.
fn run_both(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

/// Checks an extracted tree against the fixture's root.
fn check_extracted(fx: &Fixture, x: &Path) {
    check_extracted_keeping(fx, x, ALL);
}

fn check_extracted_keeping(fx: &Fixture, x: &Path, keeps: Keeps) {
    use std::os::unix::fs::MetadataExt;
    let root = fx.root();
    assert_eq!(
        std::fs::read(x.join("usr/bin/hello")).expect("hello"),
        std::fs::read(root.join("usr/bin/hello")).expect("hello")
    );
    assert_eq!(
        std::fs::read(x.join("var/lib/data.bin")).expect("data"),
        std::fs::read(root.join("var/lib/data.bin")).expect("data")
    );
    let m = |p: &str| std::fs::symlink_metadata(x.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    if keeps.setuid {
        assert_eq!(m("usr/bin/su-helper").mode() & 0o7777, 0o4755);
    }
    assert_eq!(m("tmp").mode() & 0o7777, 0o1777);
    assert_eq!(m("etc/empty").len(), 0);
    assert_eq!(m("etc/empty").mode() & 0o7777, 0o600);
    assert_eq!(
        (m("var/lib/data.bin").uid(), m("var/lib/data.bin").gid()),
        (1000, 100)
    );
    assert_eq!(
        std::fs::read_link(x.join("etc/hello-link")).expect("link"),
        Path::new("../usr/bin/hello")
    );
    assert_eq!(
        std::fs::read_link(x.join("bin")).expect("link"),
        Path::new("usr/bin")
    );
    assert!(m("var/empty-dir").is_dir());
    {
        use std::os::unix::fs::FileTypeExt;
        assert!(m("dev/null").file_type().is_char_device());
        assert_eq!(m("dev/null").rdev(), rustix::fs::makedev(1, 3));
        assert!(m("dev/initctl").file_type().is_fifo());
    }
    assert_eq!(m("etc/os-release").mtime(), SDE, "future mtime clamped");
    if keeps.mtimes {
        assert_eq!(m("usr/bin/hello").mtime(), SDE - 86_400, "older mtime kept");
    }
    if keeps.hard_links {
        assert_eq!(
            m("usr/bin/hello").ino(),
            m("usr/bin/hello-again").ino(),
            "hard link kept"
        );
    } else {
        assert_eq!(
            std::fs::read(x.join("usr/bin/hello-again")).expect("hello-again"),
            std::fs::read(x.join("usr/bin/hello")).expect("hello")
        );
    }
    let long = format!(
        "usr/share/{}/{}/file-with-a-long-name",
        "a".repeat(90),
        "b".repeat(90)
    );
    assert_eq!(std::fs::read(x.join(long)).expect("long"), b"long\n");
}

#[test]
fn tar_gnu_tar_reads_it_back() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Tar, Arch::X86_64, |_| {});
    let listing = run(Command::new("tar")
        .args(["--numeric-owner", "-tvf"])
        .arg(&art.path));
    assert!(listing.contains("-rwsr-xr-x 0/0"), "{listing}");
    assert!(listing.contains("1000/100"), "{listing}");
    assert!(listing.contains("crw-r--r-- 0/0             1,3"), "{listing}");
    assert!(listing.contains("prw------- 0/0"), "{listing}");
    assert!(
        listing.contains("etc/hello-link -> ../usr/bin/hello"),
        "{listing}"
    );
    assert!(
        listing.contains("usr/bin/hello-again link to usr/bin/hello"),
        "{listing}"
    );
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().nth(5).expect("name"))
        .collect();
    assert_eq!(names[0], "bin", "{listing}");
    assert!(
        !listing.contains("PaxHeaders"),
        "pax headers are not entries: {listing}"
    );
    let x = fx.dir.path().join("x");
    std::fs::create_dir_all(&x).expect("x");
    run(Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf"])
        .arg(&art.path)
        .arg("-C")
        .arg(&x));
    check_extracted(&fx, &x);
    let mut cap = [0u8; 64];
    let n = rustix::fs::lgetxattr(x.join("usr/sbin/ping"), "security.capability", &mut cap[..])
        .expect("capability kept");
    assert_eq!(&cap[..n], &cap_net_raw()[..]);
}

#[test]
fn write_is_atomic_and_reports_errors() {
    let fx = Fixture::new();
    let scratch = fx.dir.path().join("scratch");
    let mut input = fx.input(Arch::X86_64, &scratch);
    let missing = fx.dir.path().join("no-such-root");
    input.root = &missing;
    let out = fx.dir.path().join("out/x.tar");
    let err = write(Format::Tar, &input, &out).expect_err("missing root");
    assert!(err.to_string().contains("no-such-root"), "{err}");
    assert!(!out.exists());
    // Nothing but the output is left beside it.
    let input = fx.input(Arch::X86_64, &scratch);
    write(Format::Tar, &input, &out).expect("tar");
    let left: Vec<_> = std::fs::read_dir(fx.dir.path().join("out"))
        .expect("out")
        .map(|e| e.expect("e").file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("x.tar")]);
    // An existing directory that is not an OCI layout is never replaced.
    let not_oci = fx.dir.path().join("mine");
    std::fs::create_dir_all(&not_oci).expect("dir");
    std::fs::write(not_oci.join("keep"), b"x").expect("file");
    let err = write(Format::Oci, &input, &not_oci).expect_err("not replaced");
    assert!(err.to_string().contains("not an OCI image layout"), "{err}");
    assert!(not_oci.join("keep").exists());
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read json")).expect("json")
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").expect("sha256"))
}

#[test]
fn oci_layout_skopeo_and_umoci_accept_it() {
    let fx = Fixture::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let art = fx.write_twice(Format::Oci, arch, |_| {});
        let layout = &art.path;
        let inspect = run(Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci:{}:1.0", layout.display())));
        let v: serde_json::Value = serde_json::from_str(&inspect).expect("skopeo json");
        assert_eq!(
            v["Architecture"],
            if arch == Arch::X86_64 { "amd64" } else { "arm64" }
        );
        assert_eq!(v["Os"], "linux");
        assert_eq!(v["Created"], "2023-11-14T22:13:20Z");
        assert_eq!(v["Labels"]["org.example.kind"], "demo");
        assert_eq!(v["Layers"].as_array().expect("layers").len(), 1);
        let index = json(&layout.join("index.json"));
        let mdesc = &index["manifests"][0];
        assert_eq!(mdesc["annotations"]["org.opencontainers.image.ref.name"], "1.0");
        let manifest = json(&blob(layout, mdesc["digest"].as_str().expect("digest")));
        let config = json(&blob(
            layout,
            manifest["config"]["digest"].as_str().expect("digest"),
        ));
        let c = &config["config"];
        assert_eq!(c["Entrypoint"], serde_json::json!(["/usr/bin/hello"]));
        assert_eq!(c["Cmd"], serde_json::json!(["--greet"]));
        assert_eq!(c["WorkingDir"], "/var/lib");
        assert_eq!(c["User"], "0:0");
        assert!(
            c["Env"]
                .as_array()
                .expect("env")
                .iter()
                .any(|e| e == "LANG=C.UTF-8")
        );
        assert!(c["ExposedPorts"]["8080/tcp"].is_object() && c["ExposedPorts"]["53/udp"].is_object());
        // diff_id is the sha256 of the uncompressed layer.
        let layer = blob(layout, manifest["layers"][0]["digest"].as_str().expect("digest"));
        let raw = run(Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -dc {} | sha256sum", layer.display())));
        assert_eq!(config["rootfs"]["diff_ids"][0], format!("sha256:{}", &raw[..64]));
        // umoci unpacks it into a runtime bundle with the same tree.
        let bundle = fx.dir.path().join(format!("bundle-{}", arch.rpm()));
        run(Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:1.0", layout.display()))
            .arg(&bundle));
        check_extracted(&fx, &bundle.join("rootfs"));
        let rt = json(&bundle.join("config.json"));
        assert_eq!(
            rt["process"]["args"],
            serde_json::json!(["/usr/bin/hello", "--greet"])
        );
        assert_eq!(rt["process"]["cwd"], "/var/lib");
    }
}

#[test]
fn oci_archive_skopeo_reads_it() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::OciArchive, Arch::X86_64, |_| {});
    let inspect = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:1.0", art.path.display())));
    let v: serde_json::Value = serde_json::from_str(&inspect).expect("skopeo json");
    assert_eq!(v["Architecture"], "amd64");
    let listing = run(Command::new("tar").arg("-tf").arg(&art.path));
    assert!(listing.lines().any(|l| l == "index.json"), "{listing}");
    assert!(listing.lines().any(|l| l == "oci-layout"), "{listing}");
}

fn debugfs(image: &Path, request: &str) -> String {
    run(Command::new("debugfs").arg("-R").arg(request).arg(image))
}

/// Checks an ext4 image: e2fsck, content, modes, owners, times, xattrs.
fn check_ext4(image: &Path, expected_uuid: &str) {
    run(Command::new("e2fsck").arg("-fn").arg(image));
    assert_eq!(
        debugfs(image, "cat /usr/bin/hello"),
        "#!/bin/sh\necho hello from the image\n"
    );
    let stat = debugfs(image, "stat /usr/bin/su-helper");
    assert!(stat.contains("Mode:  04755"), "{stat}");
    for line in stat.lines().filter(|l| l.contains("time:")) {
        assert!(
            line.contains("Tue Nov 14 22:13:20 2023") || line.contains("Mon Nov 13 22:13:20 2023"),
            "{line}"
        );
    }
    // Every inode's times, nanoseconds included, come from SOURCE_DATE_EPOCH
    // (or a clamped mtime), whatever the tree's clock said.
    for path in ["/", "/lost+found", "/usr", "/usr/bin/hello", "/etc/os-release"] {
        let stat = debugfs(image, &format!("stat {path}"));
        for line in stat.lines().filter(|l| l.contains("time:")) {
            assert!(line.contains(":00000000 --"), "{path}: {line}");
            if !line.contains("mtime:") {
                assert!(line.contains("0x6553f100:"), "{path}: {line}");
            }
        }
    }
    let stat = debugfs(image, "stat /etc/os-release");
    assert!(stat.contains("mtime: 0x6553f100"), "future mtime clamped: {stat}");
    let stat = debugfs(image, "stat /var/lib/data.bin");
    assert!(stat.contains("User:  1000   Group:   100"), "{stat}");
    let ea = debugfs(image, "ea_list /usr/sbin/ping");
    assert!(ea.contains("security.capability"), "{ea}");
    let link = debugfs(image, "stat /etc/hello-link");
    assert!(link.contains("Fast link dest: \"../usr/bin/hello\""), "{link}");
    let sb = run(Command::new("dumpe2fs").arg("-h").arg(image));
    assert!(
        sb.contains(&format!("Filesystem UUID:          {expected_uuid}")),
        "{sb}"
    );
    assert!(
        sb.contains("Filesystem created:       Tue Nov 14 22:13:20 2023"),
        "{sb}"
    );
}

#[test]
fn ext4_e2fsck_accepts_it_and_times_are_fixed() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Ext4, Arch::X86_64, |_| {});
    check_ext4(&art.path, &azldev_image::format::disk_ids(&[7; 32]).root_fs_uuid);
}

/// `i_mode` of the inode at `path` of an erofs image.
fn erofs_mode(image: &Path, path: &str) -> u16 {
    let dump = run(Command::new("dump.erofs")
        .arg(format!("--path={path}"))
        .arg(image));
    let nid: u64 = dump
        .lines()
        .find_map(|l| l.strip_prefix("NID: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no NID: {dump}"));
    let d = std::fs::read(image).expect("image");
    let sb = &d[1024..1152];
    let meta = u64::from(u32::from_le_bytes([sb[0x28], sb[0x29], sb[0x2a], sb[0x2b]]));
    let off = ((meta << sb[0x0c]) + nid * 32 + 4) as usize;
    u16::from_le_bytes([d[off], d[off + 1]])
}

#[test]
fn erofs_fsck_erofs_accepts_and_extracts_it() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Erofs, Arch::X86_64, |_| {});
    run(Command::new("fsck.erofs").arg(&art.path));
    let x = fx.dir.path().join("x");
    run(Command::new("fsck.erofs")
        .arg(format!("--extract={}", x.display()))
        .arg(&art.path));
    check_extracted_keeping(
        &fx,
        &x,
        Keeps {
            hard_links: false,
            mtimes: true,
            setuid: false,
        },
    );
    // mkfs.erofs 1.5 drops setuid/sticky bits; the writer puts them back.
    // fsck.erofs's extraction loses setuid itself and dump.erofs prints
    // only the permission bits: read i_mode of the inode dump.erofs names.
    assert_eq!(erofs_mode(&art.path, "/usr/bin/su-helper"), 0o104_755);
    assert_eq!(erofs_mode(&art.path, "/tmp"), 0o41_777);
    let dump = run(Command::new("dump.erofs").arg(&art.path));
    assert!(
        dump.contains(&azldev_image::format::disk_ids(&[7; 32]).root_fs_uuid),
        "{dump}"
    );
}

#[test]
fn squashfs_unsquashfs_lists_and_extracts_it() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Squashfs, Arch::X86_64, |_| {});
    let listing = run(Command::new("unsquashfs").args(["-lln", "-UTC"]).arg(&art.path));
    assert!(listing.contains("-rwsr-xr-x 0/0"), "{listing}");
    assert!(listing.contains("1000/100"), "{listing}");
    assert!(
        listing.contains("squashfs-root/etc/hello-link -> ../usr/bin/hello"),
        "{listing}"
    );
    let sb = run(Command::new("unsquashfs").args(["-s", "-UTC"]).arg(&art.path));
    assert!(sb.contains("Compression zstd"), "{sb}");
    assert!(sb.contains("Tue Nov 14 22:13:20 2023"), "mkfs time: {sb}");
    let x = fx.dir.path().join("x");
    run(Command::new("unsquashfs").arg("-d").arg(&x).arg(&art.path));
    // A file newer than SOURCE_DATE_EPOCH: mksquashfs sets every time to it.
    check_extracted_keeping(
        &fx,
        &x,
        Keeps {
            hard_links: true,
            mtimes: false,
            setuid: true,
        },
    );
}

/// Partition table of a disk as `sgdisk` reads it, after `sgdisk -v`.
fn check_gpt(disk: &Path, arch: Arch) -> String {
    let v = run(Command::new("sgdisk").arg("-v").arg(disk));
    assert!(v.contains("No problems found"), "{v}");
    let ids = azldev_image::format::disk_ids(&[7; 32]);
    let p = run(Command::new("sgdisk").arg("-p").arg(disk));
    assert!(
        p.to_lowercase()
            .contains(&format!("disk identifier (guid): {}", ids.disk_guid)),
        "{p}"
    );
    assert!(p.contains(" esp") && p.contains(" root"), "{p}");
    let esp = run(Command::new("sgdisk").args(["-i", "1"]).arg(disk)).to_lowercase();
    assert!(esp.contains("c12a7328-f81f-11d2-ba4b-00a0c93ec93b"), "{esp}");
    assert!(esp.contains(&ids.esp_partuuid), "{esp}");
    assert!(esp.contains("first sector: 2048 "), "{esp}");
    let root = run(Command::new("sgdisk").args(["-i", "2"]).arg(disk)).to_lowercase();
    let ty = if arch == Arch::X86_64 {
        "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
    } else {
        "b921b045-1df0-41c3-af44-4c6f280d3fae"
    };
    assert!(root.contains(ty), "{root}");
    assert!(root.contains(&ids.root_partuuid), "{root}");
    root
}

/// First sector and size in bytes of partition `n` (from `sgdisk -i`).
fn partition(disk: &Path, n: u32) -> (u64, u64) {
    let i = run(Command::new("sgdisk").args(["-i", &n.to_string()]).arg(disk));
    let num = |key: &str| -> u64 {
        let l = i
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key}: {i}"));
        l[key.len()..]
            .split_whitespace()
            .next()
            .expect("number")
            .parse()
            .expect("number")
    };
    let first = num("First sector:");
    (first, (num("Last sector:") - first + 1) * 512)
}

fn extract(disk: &Path, n: u32, out: &Path) {
    let (first, size) = partition(disk, n);
    run(Command::new("dd")
        .arg(format!("if={}", disk.display()))
        .arg(format!("of={}", out.display()))
        .args([
            "bs=512",
            &format!("skip={first}"),
            &format!("count={}", size / 512),
            "status=none",
        ]));
}

/// Checks the ESP partition: fsck.vfat, the files, every time = SDE.
fn check_esp(fx: &Fixture, esp: &Path) {
    run(Command::new("fsck.vfat").arg("-n").arg(esp));
    let mt = |args: &[&str]| {
        run(Command::new(args[0])
            .env("MTOOLS_SKIP_CHECK", "1")
            .args(["-i"])
            .arg(esp)
            .args(&args[1..]))
    };
    assert_eq!(mt(&["mtype", "::/loader/loader.conf"]), "timeout 0\n");
    let efi = fx.dir.path().join("efi.out");
    mt(&["mcopy", "::/EFI/BOOT/BOOTX64.EFI", efi.to_str().expect("utf-8")]);
    assert_eq!(std::fs::read(&efi).expect("efi"), vec![0x4d; 70_000]);
    let listing = mt(&["mdir", "-/", "::/"]);
    let dated: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains(':') && l.contains('-') && !l.contains("Directory"))
        .collect();
    assert!(!dated.is_empty(), "{listing}");
    for l in dated {
        assert!(
            l.contains("2023-11-14  22:13"),
            "entry not at SOURCE_DATE_EPOCH: {l}"
        );
    }
    let id = azldev_image::format::disk_ids(&[7; 32]).esp_volume_id;
    assert!(
        listing.contains(&format!("Volume Serial Number is {id}")),
        "{listing}"
    );
}

#[test]
fn raw_disk_sgdisk_verifies_it_and_partitions_check() {
    let fx = Fixture::new();
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let art = fx.write_twice(Format::Raw, arch, |_| {});
        assert_eq!(art.size % (1 << 20), 0);
        check_gpt(&art.path, arch);
        let root = fx.dir.path().join("root.part");
        extract(&art.path, 2, &root);
        check_ext4(&root, &azldev_image::format::disk_ids(&[7; 32]).root_fs_uuid);
        let esp = fx.dir.path().join("esp.part");
        extract(&art.path, 1, &esp);
        check_esp(&fx, &esp);
    }
}

#[test]
fn raw_disk_grows_to_the_requested_size_and_takes_erofs_or_squashfs() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Raw, Arch::X86_64, |i| i.disk_size = Some(300 << 20));
    assert_eq!(art.size, 300 << 20);
    check_gpt(&art.path, Arch::X86_64);
    let (_, root_size) = partition(&art.path, 2);
    let root = fx.dir.path().join("root.part");
    extract(&art.path, 2, &root);
    let sb = run(Command::new("dumpe2fs").arg("-h").arg(&root));
    let blocks: u64 = sb
        .lines()
        .find(|l| l.starts_with("Block count:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse().ok())
        .expect("block count");
    assert_eq!(blocks * 4096, root_size, "ext4 fills the root partition");
    run(Command::new("e2fsck").arg("-fn").arg(&root));
    for (fs, check) in [(RootFs::Erofs, "fsck.erofs"), (RootFs::Squashfs, "unsquashfs")] {
        let art = fx.write_twice(Format::Raw, Arch::X86_64, |i| i.root_fs = fs);
        check_gpt(&art.path, Arch::X86_64);
        extract(&art.path, 2, &root);
        let mut cmd = Command::new(check);
        if check == "unsquashfs" {
            cmd.arg("-l");
        }
        let out = run(cmd.arg(&root));
        if check == "unsquashfs" {
            assert!(out.contains("squashfs-root/usr/bin/hello"), "{out}");
        }
    }
}

#[test]
fn disk_without_esp_is_an_error() {
    let fx = Fixture::new();
    let scratch = fx.dir.path().join("scratch");
    let mut input = fx.input(Arch::X86_64, &scratch);
    input.esp = None;
    let err = write(Format::Raw, &input, &fx.dir.path().join("d.raw")).expect_err("no esp");
    assert!(err.to_string().contains("EFI system partition"), "{err}");
}

/// The raw disk of the same input, for comparing converted formats.
fn raw_of(fx: &Fixture) -> PathBuf {
    let input = fx.input(Arch::X86_64, &fx.dir.path().join("scratch-raw"));
    let out = fx.dir.path().join("ref.raw");
    write(Format::Raw, &input, &out).expect("raw");
    out
}

#[test]
fn qcow2_qemu_img_checks_it_and_it_holds_the_raw_disk() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Qcow2, Arch::X86_64, |_| {});
    run(Command::new("qemu-img")
        .args(["check", "-f", "qcow2"])
        .arg(&art.path));
    let raw = raw_of(&fx);
    run(Command::new("qemu-img")
        .args(["compare", "-f", "qcow2", "-F", "raw"])
        .arg(&art.path)
        .arg(&raw));
}

fn virtual_size(path: &Path, fmt: &str) -> u64 {
    let info = run(Command::new("qemu-img")
        .args(["info", "--output=json", "-f", fmt])
        .arg(path));
    let v: serde_json::Value = serde_json::from_str(&info).expect("json");
    v["virtual-size"].as_u64().expect("virtual-size")
}

#[test]
fn vhd_fixed_is_azure_aligned_and_qemu_img_reads_it() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Vhd, Arch::X86_64, |_| {});
    let raw = raw_of(&fx);
    let raw_len = std::fs::metadata(&raw).expect("raw").len();
    assert_eq!(art.size, raw_len + 512);
    assert_eq!(virtual_size(&art.path, "vpc"), raw_len);
    assert_eq!(
        raw_len % (1 << 20),
        0,
        "Azure wants the virtual size a multiple of 1 MiB"
    );
    let info = run(Command::new("qemu-img")
        .args(["info", "--output=json", "-f", "vpc"])
        .arg(&art.path));
    assert!(info.contains("\"format\": \"vpc\""), "{info}");
    run(Command::new("qemu-img")
        .args(["compare", "-f", "vpc", "-F", "raw"])
        .arg(&art.path)
        .arg(&raw));
    // The footer qemu-img itself writes for the same disk has the same layout.
    let q = fx.dir.path().join("q.vhd");
    run(Command::new("qemu-img")
        .args([
            "convert",
            "-f",
            "raw",
            "-O",
            "vpc",
            "-o",
            "subformat=fixed,force_size=on",
        ])
        .arg(&raw)
        .arg(&q));
    let ours = std::fs::read(&art.path).expect("vhd");
    let theirs = std::fs::read(&q).expect("vhd");
    let (a, b) = (&ours[ours.len() - 512..], &theirs[theirs.len() - 512..]);
    assert_eq!(a[..24], b[..24], "cookie, features, version, data offset");
    assert_eq!(a[28..56], b[28..56], "creator, sizes");
    assert_eq!(a[60..64], b[60..64], "disk type");
    // Geometry: the VHD specification's algorithm (as Hyper-V writes it),
    // where qemu's force_size writes the maximum.
    assert_eq!(&a[56..60], &[0x03, 0xb7, 10, 17]);
}

#[test]
fn vhdx_qemu_img_checks_it_and_guids_come_from_the_seed() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Vhdx, Arch::X86_64, |_| {});
    run(Command::new("qemu-img")
        .args(["check", "-f", "vhdx"])
        .arg(&art.path));
    let raw = raw_of(&fx);
    assert_eq!(
        virtual_size(&art.path, "vhdx"),
        std::fs::metadata(&raw).expect("raw").len()
    );
    run(Command::new("qemu-img")
        .args(["compare", "-f", "vhdx", "-F", "raw"])
        .arg(&art.path)
        .arg(&raw));
    // Another seed gives other GUIDs (so they are not left as qemu wrote them).
    let other = fx.dir.path().join("other.vhdx");
    let mut input = fx.input(Arch::X86_64, &fx.dir.path().join("scratch-o"));
    input.seed = [8; 32];
    write(Format::Vhdx, &input, &other).expect("vhdx");
    let (a, b) = (
        std::fs::read(&art.path).expect("a"),
        std::fs::read(&other).expect("b"),
    );
    assert_ne!(a[65536 + 16..65536 + 48], b[65536 + 16..65536 + 48]);
    run(Command::new("qemu-img").args(["check", "-f", "vhdx"]).arg(&other));
}

#[test]
fn iso_is_uefi_bootable_with_the_root_as_squashfs() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::Iso, Arch::X86_64, |_| {});
    let report = run_both(Command::new("xorriso").args(["-indev"]).arg(&art.path).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]));
    assert!(report.contains("Volume id    : 'DEMO'"), "{report}");
    let boot = report
        .lines()
        .find(|l| l.starts_with("El Torito boot img :"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(boot.contains("UEFI") && boot.contains("none"), "{boot}");
    assert!(
        report.contains("28732ac11ff8d211ba4b00a0c93ec93b"),
        "an ESP-typed GPT partition: {report}"
    );
    // Also a disk: the GPT holds the ESP (partition 2), which checks as a disk's would.
    let v = run(Command::new("sgdisk").arg("-v").arg(&art.path));
    assert!(v.contains("No problems found"), "{v}");
    let esp = fx.dir.path().join("iso-esp.img");
    extract(&art.path, 2, &esp);
    check_esp(&fx, &esp);
    let sq = fx.dir.path().join("squashfs.img");
    run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(&art.path)
        .args(["-extract", "/LiveOS/squashfs.img"])
        .arg(&sq));
    let listing = run(Command::new("unsquashfs").arg("-l").arg(&sq));
    assert!(listing.contains("squashfs-root/usr/bin/su-helper"), "{listing}");
}

#[test]
fn oci_layer_of_several_gzip_members_unpacks_with_umoci() {
    let fx = Fixture::new();
    // 10 MB: the layer is compressed as three 4 MiB gzip members.
    let big: Vec<u8> = (0..10_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    std::fs::write(fx.root().join("var/lib/big.bin"), &big).expect("big");
    let art = fx.write_twice(Format::Oci, Arch::X86_64, |_| {});
    let index = json(&art.path.join("index.json"));
    let manifest = json(&blob(
        &art.path,
        index["manifests"][0]["digest"].as_str().expect("digest"),
    ));
    let layer = blob(
        &art.path,
        manifest["layers"][0]["digest"].as_str().expect("digest"),
    );
    let bytes = std::fs::read(&layer).expect("layer");
    let members = bytes
        .windows(4)
        .filter(|w| *w == [0x1f, 0x8b, 0x08, 0x00])
        .count();
    assert!(members >= 3, "{members} gzip members");
    run(Command::new("gzip").arg("-t").arg(&layer));
    let bundle = fx.dir.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:1.0", art.path.display()))
        .arg(&bundle));
    assert!(std::fs::read(bundle.join("rootfs/var/lib/big.bin")).expect("big") == big);
    check_extracted(&fx, &bundle.join("rootfs"));
}

#[test]
fn formats_written_in_parallel_with_one_scratch_directory_match_sequential_writes() {
    let fx = Fixture::new();
    let formats = [Format::Raw, Format::Vhd, Format::Ext4, Format::Oci, Format::Tar];
    let scratch = fx.dir.path().join("shared-scratch");
    let sequential: Vec<String> = formats
        .iter()
        .map(|f| {
            let input = fx.input(Arch::X86_64, &scratch);
            write(*f, &input, &fx.dir.path().join(format!("seq/demo.{}", f.name())))
                .expect("write")
                .sha256
        })
        .collect();
    let parallel: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = formats
            .iter()
            .map(|f| {
                let fx = &fx;
                let scratch = &scratch;
                s.spawn(move || {
                    let input = fx.input(Arch::X86_64, scratch);
                    write(*f, &input, &fx.dir.path().join(format!("par/demo.{}", f.name())))
                        .expect("write")
                        .sha256
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    assert_eq!(sequential, parallel);
    // Nothing is left in the scratch directory.
    let left: Vec<_> = std::fs::read_dir(&scratch).expect("scratch").collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn esp_directories_over_several_clusters_get_fixed_times() {
    let fx = Fixture::new();
    // 60 long names: LFN entries fill several 512-byte clusters of one directory.
    let many = fx.dir.path().join("esp/EFI/Linux");
    std::fs::create_dir_all(&many).expect("dir");
    for i in 0..60 {
        std::fs::write(
            many.join(format!("a-rather-long-unified-kernel-image-name-{i:03}.efi")),
            [i as u8; 100],
        )
        .expect("file");
    }
    let art = fx.write_twice(Format::Raw, Arch::X86_64, |_| {});
    let esp = fx.dir.path().join("esp.part");
    extract(&art.path, 1, &esp);
    check_esp(&fx, &esp);
    let listing = run(Command::new("mdir")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(&esp)
        .arg("::/EFI/Linux"));
    let files: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains("a-rather-long-unified"))
        .collect();
    assert_eq!(files.len(), 60, "{listing}");
    for l in files {
        assert!(
            l.contains("2023-11-14  22:13"),
            "entry not at SOURCE_DATE_EPOCH: {l}"
        );
    }
}

#[test]
fn disks_and_iso_made_from_a_written_raw_disk_and_squashfs_are_the_same_bytes() {
    let fx = Fixture::new();
    let raw = raw_of(&fx);
    let sq = fx.dir.path().join("ref.squashfs");
    write(
        Format::Squashfs,
        &fx.input(Arch::X86_64, &fx.dir.path().join("scratch-sq")),
        &sq,
    )
    .expect("squashfs");
    for format in [Format::Raw, Format::Qcow2, Format::Vhd, Format::Vhdx, Format::Iso] {
        let alone = write(
            format,
            &fx.input(Arch::X86_64, &fx.dir.path().join(format!("scratch-a-{format}"))),
            &fx.dir.path().join(format!("alone.{format}")),
        )
        .expect("alone");
        let mut input = fx.input(Arch::X86_64, &fx.dir.path().join(format!("scratch-b-{format}")));
        input.raw_disk = Some(&raw);
        input.squashfs = Some(&sq);
        let derived =
            write(format, &input, &fx.dir.path().join(format!("derived.{format}"))).expect("derived");
        assert_eq!(alone.sha256, derived.sha256, "{format}");
        assert_eq!(alone.size, derived.size, "{format}");
    }
    // The squashfs the ISO was given is still there, unchanged in content.
    let listing = run(Command::new("unsquashfs").arg("-l").arg(&sq));
    assert!(listing.contains("squashfs-root/usr/bin/su-helper"), "{listing}");
}

#[test]
fn tar_xz_is_the_tar_compressed_and_xz_and_gnu_tar_read_it() {
    let fx = Fixture::new();
    let art = fx.write_twice(Format::TarXz, Arch::X86_64, |_| {});
    run(Command::new("xz").arg("-t").arg(&art.path));
    let plain = fx.dir.path().join("plain.tar");
    write(
        Format::Tar,
        &fx.input(Arch::X86_64, &fx.dir.path().join("scratch-plain")),
        &plain,
    )
    .expect("tar");
    let out = Command::new("xz")
        .arg("-dc")
        .arg(&art.path)
        .output()
        .expect("xz runs");
    assert!(out.status.success());
    assert!(
        out.stdout == std::fs::read(&plain).expect("tar"),
        "tar.xz holds exactly the tar"
    );
    let x = fx.dir.path().join("x");
    std::fs::create_dir_all(&x).expect("x");
    run(Command::new("tar")
        .args(["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpJf"])
        .arg(&art.path)
        .arg("-C")
        .arg(&x));
    check_extracted(&fx, &x);
    let info = run(Command::new("xz").args(["--robot", "-lvv"]).arg(&art.path));
    assert!(info.contains("CRC64"), "{info}");
}
