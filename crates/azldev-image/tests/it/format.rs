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

/// Checks an extracted tree against the fixture's root.
fn check_extracted(fx: &Fixture, x: &Path) {
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
    assert_eq!(m("usr/bin/su-helper").mode() & 0o7777, 0o4755);
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
    assert_eq!(m("etc/os-release").mtime(), SDE, "future mtime clamped");
    assert_eq!(m("usr/bin/hello").mtime(), SDE - 86_400, "older mtime kept");
    assert_eq!(
        m("usr/bin/hello").ino(),
        m("usr/bin/hello-again").ino(),
        "hard link kept"
    );
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
    let mut cap = vec![0u8; 64];
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
