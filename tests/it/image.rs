//! End-to-end tests of `azldev image`: the azl4 corpus's five kiwi images
//! load and show; bad descriptions are reported at file:line:column; the
//! demo's `demo-container` is built for both arches from the seed and the
//! local build repository with real dnf, is byte-identical when built again,
//! is cached, runs its program from the unpacked OCI image (aarch64 under
//! qemu-user), lists exactly its installed packages in the manifest and the
//! SBOM, and fails when over its size budget. `azldev repo sign` signs the
//! local repository with a throwaway key, checked with `rpm -K` and gpg.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::build::{Demo, serial};

fn azl4() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/azl4");
    assert!(
        dir.is_dir(),
        "the test corpus is missing: expected {}",
        dir.display()
    );
    dir
}

fn azldev(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .env_remove("NO_COLOR")
        .arg("--color=never")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = azldev(dir, args);
    assert!(
        out.status.success(),
        "azldev {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn azl4_images_list_and_show() {
    let dir = azl4();
    let list: Value = serde_json::from_str(&ok(&dir, &["image", "list", "--format", "json"])).expect("JSON");
    let names: Vec<&str> = list["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "container-base",
            "container-distroless-base",
            "container-distroless-debug",
            "container-distroless-minimal",
            "vm-base"
        ]
    );
    // The text table's columns line up (every description starts at the
    // same column).
    let text = ok(&dir, &["image", "list"]);
    let at: Vec<Option<usize>> = text
        .lines()
        .map(|l| l.find(" Image").map(|i| l[..i].rfind("  ")))
        .map(Option::flatten)
        .collect();
    assert_eq!(at.len(), 5, "{text}");
    assert!(at.iter().all(|a| a.is_some() && *a == at[0]), "{text}");
    for name in &names {
        let v: Value =
            serde_json::from_str(&ok(&dir, &["image", "show", name, "--format", "json"])).expect("JSON");
        insta::assert_json_snapshot!(format!("image_show_azl4_{name}"), v);
        // The text form shows the same description.
        let text = ok(&dir, &["image", "show", name]);
        assert!(text.starts_with(&format!("image {name} (x86_64)")), "{text}");
    }
    // Per-arch packages: grub2-efi-aa64 and shim on aarch64, x64 on x86_64.
    let arm: Value = serde_json::from_str(&ok(
        &dir,
        &[
            "image", "show", "vm-base", "--arch", "aarch64", "--format", "json",
        ],
    ))
    .expect("JSON");
    let boot: Vec<&str> = arm["bootstrap-packages"]
        .as_array()
        .expect("bootstrap")
        .iter()
        .map(|p| p["value"].as_str().expect("name"))
        .collect();
    assert_eq!(
        boot,
        [
            "azurelinux-release-cloud",
            "filesystem",
            "grub2-efi-aa64-modules",
            "grub2-efi-aa64",
            "shim"
        ]
    );
    assert_eq!(arm["formats"][0]["value"], "vhd");
    assert_eq!(arm["disk-size"]["value"], 5u64 << 30);
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

const MINI: &str = "[project]\ndescription = \"t\"\n";

#[test]
fn unsupported_kiwi_and_bad_native_descriptions_point_at_file_line_column() {
    let kiwi = r#"<?xml version="1.0"?>
<image schemaversion="8.3" name="x">
    <preferences>
        <type image="oem" format="vmdk" filesystem="btrfs" bogus="1"/>
    </preferences>
    <drivers/>
    <packages type="image" profiles="nope">
        <package name="bash" arch="s390x"/>
    </packages>
</image>
"#;
    let native = "packages = [\"bash\"]\nformats = [\"oci\", \"floppy\"]\nsize-budget = \"12 parsecs\"\ngroups = [\"missing\"]\n";
    let typo = "packages = [\"bash\"]\nformats = [\"tar\"]\npackges = []\n";
    let d = project(&[
        (
            "distro.toml",
            &format!(
                "{MINI}[images.k]\ndefinition = {{ type = \"kiwi\", path = \"k/k.kiwi\" }}\n\
                 [images.n]\ndefinition = {{ type = \"toml\", path = \"n.image.toml\" }}\n\
                 [images.t]\ndefinition = {{ type = \"toml\", path = \"t.image.toml\" }}\n"
            ),
        ),
        ("k/k.kiwi", kiwi),
        ("n.image.toml", native),
        ("t.image.toml", typo),
    ]);
    let out = azldev(d.path(), &["image", "show", "k"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "k/k.kiwi:4:27: disk format `vmdk` is not supported",
        "k/k.kiwi:4:41: root filesystem `btrfs` is not supported",
        "k/k.kiwi:4:60: unsupported attribute `bogus` on <type>",
        "k/k.kiwi:6:5: unsupported element <drivers> in <image>",
        "k/k.kiwi:7:28: profile `nope` is not defined in <profiles> (defined: none)",
        "k/k.kiwi:8:30: unsupported architecture `s390x`",
        "the description of image `k` has 6 problems",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    let out = azldev(d.path(), &["image", "show", "n"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "n.image.toml:2:19: unknown image format `floppy`",
        "n.image.toml:3:15: a size is a number of bytes",
        "n.image.toml:4:11: package group `missing` is not defined",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    let out = azldev(d.path(), &["image", "show", "t"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("t.image.toml:3:1: unknown field `packges`"), "{err}");
    let out = azldev(d.path(), &["image", "show", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    // Every image command names an unknown image the same way.
    for cmd in ["show", "build", "boot"] {
        let out = azldev(d.path(), &["image", cmd, "nn"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "image {cmd}: {err}");
        assert!(
            err.contains("no image named `nn`") && err.contains("did you mean `n`?"),
            "image {cmd}: {err}"
        );
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256(p: &Path) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(std::fs::read(p).expect("read")))
}

/// Every file of an output directory (OCI layouts included) → sha256.
fn digests(dir: &Path) -> std::collections::BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != "image.json")
        .map(|e| {
            (
                e.path().strip_prefix(dir).expect("inside").display().to_string(),
                sha256(e.path()),
            )
        })
        .collect()
}

fn image<'a>(report: &'a Value, arch: &str) -> &'a Value {
    report["images"]
        .as_array()
        .expect("images")
        .iter()
        .find(|i| i["arch"] == arch)
        .expect("arch")
}

#[test]
fn demo_container_builds_for_both_arches_reproducibly_runs_and_is_accounted_for() {
    let _one = serial();
    let d = Demo::new();
    azldev_e2e::copy_tree(
        &azldev_e2e::demo::workspace_root().join("images"),
        &d.root.path().join("images"),
    );
    // The demo's packages (from the shared build cache when current).
    d.expect(0, &["build", "-a", "--arch", "all", "--format", "json"]);

    let first = d.json(
        0,
        &[
            "image",
            "build",
            "demo-container",
            "--arch",
            "all",
            "--format",
            "json",
        ],
    );
    let out = d.root.path().join("out/images/demo-container");
    let mut before = std::collections::BTreeMap::new();
    for arch in ["x86_64", "aarch64"] {
        let r = image(&first, arch);
        assert_eq!(r["status"], "built", "{r}");
        let formats: Vec<&str> = r["artifacts"]
            .as_array()
            .expect("artifacts")
            .iter()
            .map(|a| a["format"].as_str().expect("format"))
            .collect();
        assert_eq!(formats, ["oci", "tar"]);
        let tar = out.join(arch).join("demo-container.tar");
        let tar_art = &r["artifacts"][1];
        assert_eq!(tar_art["sha256"], sha256(&tar));
        before.insert(arch, digests(&out.join(arch)));
    }

    // Second run: nothing to do.
    let second = d.json(
        0,
        &[
            "image",
            "build",
            "demo-container",
            "--arch",
            "all",
            "--format",
            "json",
        ],
    );
    for arch in ["x86_64", "aarch64"] {
        assert_eq!(image(&second, arch)["status"], "cached");
    }
    let text = d.expect(0, &["image", "build", "demo-container", "--arch", "x86_64"]);
    assert!(text.contains("cached"), "{text}");

    // Built again from scratch: the same bytes, every file.
    let third = d.json(
        0,
        &[
            "image",
            "build",
            "demo-container",
            "--arch",
            "all",
            "--rebuild",
            "--format",
            "json",
        ],
    );
    for arch in ["x86_64", "aarch64"] {
        assert_eq!(image(&third, arch)["status"], "built");
        assert_eq!(
            digests(&out.join(arch)),
            before[arch],
            "{arch} differs between two builds"
        );
    }

    let scratch = tempfile::tempdir_in(crate::build::cache()).expect("tempdir");
    for (arch, oci_arch) in [("x86_64", "amd64"), ("aarch64", "arm64")] {
        let dir = out.join(arch);
        let layout = dir.join("demo-container.oci");
        // skopeo accepts it.
        let inspect: Value = serde_json::from_str(&run(Command::new("skopeo")
            .arg("inspect")
            .arg(format!("oci:{}:1.0", layout.display()))))
        .expect("skopeo JSON");
        assert_eq!(inspect["Architecture"], oci_arch);

        // umoci unpacks it, and the program runs in the unpacked root,
        // isolated (aarch64 under qemu-user).
        let bundle = scratch.path().join(arch);
        run(Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:1.0", layout.display()))
            .arg(&bundle));
        let rootfs = bundle.join("rootfs");
        let said = run(Command::new("bwrap")
            .arg("--bind")
            .arg(&rootfs)
            .arg("/")
            .args([
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--unshare-all",
                "--die-with-parent",
                "--clearenv",
            ])
            .args(["--setenv", "PATH", "/usr/bin:/bin", "--"])
            .args([
                "/bin/sh",
                "-c",
                "hello; greeter; cat /etc/motd /etc/demo-container-arch; grep ^demo: /etc/passwd",
            ]));
        // The description's script ran inside the root, for the image's arch.
        assert_eq!(
            said,
            format!(
                "Hello, world!\nHello, world!\nWelcome to the Demo Linux container.\n\
                 Demo Linux container for {arch}\ndemo:x:1000:1000::/home/demo:/bin/sh\n"
            ),
            "{arch}"
        );
        // Nothing of the install is left: no dnf cache, history or logs, an
        // empty machine-id, timestamps clamped.
        for gone in [
            "var/cache/dnf",
            "var/lib/dnf",
            "var/log/dnf.log",
            "var/lib/rpm/rpmdb.sqlite-shm",
        ] {
            assert!(!rootfs.join(gone).exists(), "{arch}: {gone} left in the image");
        }

        // The manifest and the SBOM list exactly the installed packages.
        let installed: std::collections::BTreeSet<String> = run(Command::new("rpm")
            .arg("--root")
            .arg(&rootfs)
            .args(["--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME}\\n"]))
        .lines()
        .map(str::to_owned)
        .collect();
        assert!(
            installed.contains("hello") && installed.contains("libgreet"),
            "{installed:?}"
        );
        let manifest: Value = serde_json::from_slice(
            &std::fs::read(dir.join("demo-container.manifest.json")).expect("manifest"),
        )
        .expect("JSON");
        let listed: std::collections::BTreeSet<String> = manifest["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect();
        assert_eq!(listed, installed, "{arch}: manifest");
        for p in manifest["packages"].as_array().expect("packages") {
            if p["name"] == "hello" {
                assert_eq!(p["license"], "MIT");
                assert!(p["source-rpm"].as_str().expect("srpm").starts_with("hello-1.2-"));
                assert_eq!(p["arch"], arch);
            }
        }
        let sbom: Value =
            serde_json::from_slice(&std::fs::read(dir.join("demo-container.spdx.json")).expect("sbom"))
                .expect("JSON");
        assert_eq!(sbom["spdxVersion"], "SPDX-2.3");
        let in_sbom: std::collections::BTreeSet<String> = sbom["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .filter(|p| p["SPDXID"] != "SPDXRef-Image")
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect();
        assert_eq!(in_sbom, installed, "{arch}: SBOM");
        let sizes = std::fs::read_to_string(dir.join("demo-container.sizes.txt")).expect("sizes");
        assert!(sizes.lines().count() == installed.len() + 2, "{sizes}");
    }

    // Over budget: a clear error, exit 1, nothing replaced.
    let toml = std::fs::read_to_string(d.root.path().join("images/demo-container.image.toml")).expect("read");
    d.write(
        "images/demo-container.image.toml",
        &toml.replace("size-budget = \"128 MiB\"", "size-budget = \"1 MiB\""),
    );
    let out_run = d.run(&["image", "build", "demo-container", "--arch", "x86_64"]);
    assert_eq!(out_run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out_run.stderr);
    // miette wraps long lines: compare without the wrapping.
    let flat: String = err.chars().filter(|c| !c.is_whitespace() && *c != '│').collect();
    assert!(
        flat.contains("overitssizebudgetof1.0MiB")
            && flat.contains("images/demo-container.image.toml:8:15")
            && flat.contains("largestpackages:coreutils"),
        "{err}"
    );
    assert_eq!(digests(&out.join("x86_64")), before["x86_64"]);

    // A failing script fails the build, naming the script, where the
    // description lists it, its last line and the log.
    d.write("images/demo-container.image.toml", &toml);
    d.write(
        "images/demo-container.setup.sh",
        "#!/bin/sh\necho cannot set up >&2\nexit 3\n",
    );
    let out_run = d.run(&["image", "build", "demo-container", "--arch", "x86_64"]);
    assert_eq!(out_run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out_run.stderr);
    let flat: String = err.chars().filter(|c| !c.is_whitespace() && *c != '│').collect();
    assert!(
        flat.contains("demo-container.setup.shofimage`demo-container`(images/demo-container.image.toml:10:12)failed:cannotsetup;log:"),
        "{err}"
    );
    assert_eq!(digests(&out.join("x86_64")), before["x86_64"]);
}

/// The creation time of the OpenPGP signature in an RPM's header, as rpm prints it.
fn rpm_signature(rpm: &Path) -> String {
    run(Command::new("rpm")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .args([
            "-qp",
            "--nosignature",
            "--nodigest",
            "--qf",
            "%{RSAHEADER:pgpsig}",
        ])
        .arg(rpm))
}

/// `gpg --batch ARGS` with `home` as GNUPGHOME; its output.
fn gpg_in(home: &Path, args: &[&str]) -> String {
    run_both(
        Command::new("gpg")
            .env("GNUPGHOME", home)
            .arg("--batch")
            .args(args),
    )
}

/// A signing key without passphrase or expiry in `home`, made at a fixed
/// time long before the packages were built (2001-09-09), so signatures
/// carry the packages' own times.
fn throwaway_key(home: &Path, uid: &str, algo: &str) {
    gpg_in(
        home,
        &[
            "--passphrase",
            "",
            "--faked-system-time",
            "1000000000!",
            "--quick-gen-key",
            uid,
            algo,
            "sign",
            "never",
        ],
    );
}

#[test]
fn repo_sign_signs_rpms_and_repomd_with_a_throwaway_key_reproducibly() {
    let _one = serial();
    let d = Demo::new();
    d.expect(0, &["build", "-a", "--arch", "x86_64", "--format", "json"]);
    let gnupg = tempfile::tempdir_in(crate::build::cache()).expect("tempdir");
    let gpg = |args: &[&str]| gpg_in(gnupg.path(), args);
    throwaway_key(gnupg.path(), "Demo Signing <sign@demo.invalid>", "rsa2048");
    let sign = |env: &[(&str, &str)]| -> Value {
        let out = Command::new(assert_cmd::cargo::cargo_bin("azldev"))
            .current_dir(d.root.path())
            .env("GNUPGHOME", gnupg.path())
            .env("AZLDEV_CACHE_DIR", crate::build::cache())
            .env_remove("SOURCE_DATE_EPOCH")
            .envs(env.iter().copied())
            .args([
                "repo",
                "sign",
                "--arch",
                "x86_64",
                "--key",
                "sign@demo.invalid",
                "--format",
                "json",
            ])
            .output()
            .expect("runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let repo = d.repo("x86_64");
    // The unsigned repository, kept to be signed again.
    let unsigned = d.root.path().join("out/unsigned-x86_64");
    run(Command::new("cp").arg("-a").arg(&repo).arg(&unsigned));
    let report = sign(&[]);
    let signed = report["repositories"][0]["signed"].as_u64().expect("signed");
    // The build cache the repository's packages came from is untouched.
    let cached: Vec<PathBuf> = walkdir::WalkDir::new(crate::build::cache().join("builds"))
        .into_iter()
        .filter_map(Result::ok)
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().is_some_and(|x| x == "rpm"))
        .collect();
    for p in &cached {
        assert_eq!(
            rpm_signature(p),
            "(none)",
            "{} was signed in the build cache",
            p.display()
        );
    }
    let rpms: Vec<PathBuf> = std::fs::read_dir(repo.join("Packages"))
        .expect("Packages")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rpm"))
        .collect();
    assert!(!rpms.is_empty());
    assert_eq!(signed, rpms.len() as u64);
    let verify = |repo: &Path| {
        // rpm -K against a fresh rpmdb holding only the exported key.
        let db = tempfile::tempdir_in(crate::build::cache()).expect("tempdir");
        run(Command::new("rpm")
            .arg("--dbpath")
            .arg(db.path())
            .arg("--import")
            .arg(repo.join("RPM-GPG-KEY-azldev")));
        for rpm in std::fs::read_dir(repo.join("Packages")).expect("Packages") {
            let rpm = rpm.expect("entry").path();
            let k = run(Command::new("rpm")
                .arg("--dbpath")
                .arg(db.path())
                .arg("-K")
                .arg(&rpm));
            assert!(k.contains("signatures OK") && !k.contains("NOT OK"), "{k}");
        }
        gpg(&[
            "--verify",
            &repo.join("repodata/repomd.xml.asc").display().to_string(),
            &repo.join("repodata/repomd.xml").display().to_string(),
        ])
    };
    let said = verify(&repo);
    assert!(said.contains("Good signature"), "{said}");

    // Each RPM's signature carries the RPM's build time; repomd.xml's the newest.
    let mut newest = 0i64;
    for rpm in &rpms {
        let built: i64 = run(Command::new("rpm")
            .args(["-qp", "--nosignature", "--nodigest", "--qf", "%{BUILDTIME}"])
            .arg(rpm))
        .parse()
        .expect("build time");
        newest = newest.max(built);
        let sig = rpm_signature(rpm);
        let date = run(Command::new("date")
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .arg("-d")
            .arg(format!("@{built}"))
            .arg("+%a %b %e %T %Y"));
        assert!(
            sig.contains(date.trim()),
            "{}: `{sig}`, built {date}",
            rpm.display()
        );
    }
    assert_eq!(report["repositories"][0]["time"], newest);
    let repomd = std::fs::read_to_string(repo.join("repodata/repomd.xml")).expect("repomd");
    assert!(
        repomd.contains(&format!("<revision>{newest}</revision>")),
        "{repomd}"
    );

    // Signed again from the same unsigned packages, a second later: the
    // same bytes, every RPM, the metadata and its signature.
    let first = digests(&repo);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let signed_once = d.root.path().join("out/signed-x86_64");
    std::fs::rename(&repo, &signed_once).expect("move aside");
    run(Command::new("cp").arg("-a").arg(&unsigned).arg(&repo));
    sign(&[]);
    let second = digests(&repo);
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );
    for (file, digest) in &second {
        assert_eq!(digest, &first[file], "{file} differs between two signings");
    }
    assert!(first.contains_key("repodata/repomd.xml.asc"), "{first:?}");

    // With SOURCE_DATE_EPOCH every signature is made then (and again the
    // same bytes twice).
    let mut epoch_digests = Vec::new();
    for _ in 0..2 {
        std::fs::remove_dir_all(&repo).expect("remove");
        run(Command::new("cp").arg("-a").arg(&unsigned).arg(&repo));
        let r = sign(&[("SOURCE_DATE_EPOCH", "1234567890")]);
        assert_eq!(r["repositories"][0]["time"], 1_234_567_890);
        epoch_digests.push(digests(&repo));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    assert_eq!(epoch_digests[0], epoch_digests[1]);
    assert_ne!(epoch_digests[0], first);
    for rpm in &rpms {
        let sig = rpm_signature(&repo.join("Packages").join(rpm.file_name().expect("name")));
        assert!(sig.contains("Fri Feb 13 23:31:30 2009"), "{sig}");
    }
    let said = verify(&repo);
    assert!(said.contains("Good signature"), "{said}");
}

/// `[project.signing]`: the key named in distro.toml (from the keyring, or
/// as a key file inside the project, imported into a throwaway keyring)
/// signs like `--key` does, to the same bytes; `--key` overrides it; a key
/// file outside the project is refused at its file:line:column; no key at
/// all is a usage error.
#[test]
fn repo_sign_takes_the_key_from_the_project() {
    let _one = serial();
    let d = Demo::new();
    d.expect(0, &["build", "-a", "--arch", "x86_64", "--format", "json"]);
    let gnupg = tempfile::tempdir_in(crate::build::cache()).expect("tempdir");
    let empty = tempfile::tempdir_in(crate::build::cache()).expect("tempdir");
    let gpg = |args: &[&str]| gpg_in(gnupg.path(), args);
    throwaway_key(gnupg.path(), "Project Signing <project@demo.invalid>", "ed25519");
    let repo = d.repo("x86_64");
    let unsigned = d.root.path().join("out/unsigned-x86_64");
    run(Command::new("cp").arg("-a").arg(&repo).arg(&unsigned));
    let fresh = || {
        std::fs::remove_dir_all(&repo).expect("remove");
        run(Command::new("cp").arg("-a").arg(&unsigned).arg(&repo));
    };
    let original = std::fs::read_to_string(d.root.path().join("distro.toml")).expect("distro.toml");
    let configure = |signing: &str| {
        std::fs::write(
            d.root.path().join("distro.toml"),
            format!("{original}\n[project.signing]\n{signing}\n"),
        )
        .expect("write distro.toml");
    };
    let sign = |home: &Path, extra: &[&str]| -> Output {
        Command::new(assert_cmd::cargo::cargo_bin("azldev"))
            .current_dir(d.root.path())
            .env("GNUPGHOME", home)
            .env("AZLDEV_CACHE_DIR", crate::build::cache())
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("AZLDEV_SIGNING_KEY")
            .args(["repo", "sign", "--arch", "x86_64"])
            .args(extra)
            .output()
            .expect("runs")
    };
    let ok = |o: Output| {
        assert!(
            o.status.success(),
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };

    // Nothing configured, nothing given: a usage error that says how.
    let o = sign(gnupg.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no signing key") && err.contains("[project.signing]"),
        "{err}"
    );

    // The key by user id, from the user's keyring.
    configure("key = \"project@demo.invalid\"");
    ok(sign(gnupg.path(), &[]));
    let by_name = digests(&repo);
    assert!(by_name.contains_key("repodata/repomd.xml.asc"), "{by_name:?}");
    let said = gpg(&[
        "--verify",
        &repo.join("repodata/repomd.xml.asc").display().to_string(),
        &repo.join("repodata/repomd.xml").display().to_string(),
    ]);
    assert!(
        said.contains("Good signature") && said.contains("project@demo.invalid"),
        "{said}"
    );

    // By fingerprint (gpg records the user id a key is chosen by in the
    // signature, so a fingerprint is what a key file's signature matches).
    let colons = gpg(&["--with-colons", "--list-secret-keys", "project@demo.invalid"]);
    let fpr = colons
        .lines()
        .find_map(|l| l.strip_prefix("fpr:::::::::"))
        .and_then(|r| r.split(':').next())
        .expect("a fingerprint")
        .to_owned();
    configure(&format!("key = \"{fpr}\""));
    fresh();
    ok(sign(gnupg.path(), &[]));
    let by_fpr = digests(&repo);

    // `--key` overrides the project's: a key that does not exist fails.
    fresh();
    let o = sign(gnupg.path(), &["--key", "nobody@demo.invalid"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no secret key `nobody@demo.invalid`"), "{err}");

    // The key as a file in the project, with an empty keyring: the same
    // bytes as signing from the keyring (same key, data and times).
    std::fs::create_dir_all(d.root.path().join("keys")).expect("keys");
    let secret = gpg(&["--armor", "--export-secret-keys", "project@demo.invalid"]);
    std::fs::write(d.root.path().join("keys/signing.asc"), secret).expect("key file");
    configure("key-file = \"keys/signing.asc\"");
    fresh();
    ok(sign(empty.path(), &[]));
    assert_eq!(digests(&repo), by_fpr, "a key file signs like the keyring's key");
    // No key was imported into the user's keyring; no agent is left.
    let listed = run_both(
        Command::new("gpg")
            .env("GNUPGHOME", empty.path())
            .args(["--batch", "--list-secret-keys"]),
    );
    assert!(!listed.contains("project@demo.invalid"), "{listed}");
    let leftover: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .expect("tmp")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("azldev-gnupg-"))
        .collect();
    assert!(leftover.is_empty(), "throwaway keyrings left: {leftover:?}");
    let agents: Vec<String> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains("gpg-agent") && c.contains("azldev-gnupg-"))
        .collect();
    assert!(
        agents.is_empty(),
        "gpg-agents of throwaway keyrings left: {agents:?}"
    );

    // A key file that leaves the project: refused at the value, a
    // configuration error (exit 2, as for every command but config check).
    configure("key-file = \"../outside.asc\"");
    let o = sign(empty.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = original.lines().count() + 3;
    assert!(
        err.contains("signing key file `../outside.asc` is outside the project")
            && err.contains(&format!("distro.toml:{line}:12")),
        "{err}"
    );
}

/// Every format `azldev image build` writes, by name.
/// (`tar.xz` is checked on `demo-container`: xz preset 6 takes about
/// 2.5 MB/s per core, 100 s for demo-vm's 500 MB.)
const EVERY_FORMAT: [&str; 11] = [
    "tar",
    "oci",
    "oci-archive",
    "ext4",
    "erofs",
    "squashfs",
    "raw",
    "qcow2",
    "vhd",
    "vhdx",
    "iso",
];

/// `run`, with stdout and stderr together (xorriso reports on stderr).
fn run_both(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}:\n{text}");
    text
}

/// Each artefact of one arch of `demo-vm`, checked by its own tool.
fn verify_every_format(dir: &Path, arch: &str, scratch: &Path) {
    let p = |ext: &str| dir.join(format!("demo-vm.{ext}"));
    let oci_arch = if arch == "x86_64" { "amd64" } else { "arm64" };
    // The demo program built by `azldev build`, in every root.
    let hello = "usr/bin/hello";

    // tar: GNU tar lists it.
    let listing = run(Command::new("tar").arg("-tvf").arg(p("tar")));
    assert!(
        listing.lines().any(|l| l.ends_with(&format!(" {hello}"))),
        "{arch} tar: {listing}"
    );

    // OCI layout: skopeo inspects, umoci unpacks it.
    let inspect: Value = serde_json::from_str(&run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:latest", p("oci").display()))))
    .expect("skopeo JSON");
    assert_eq!(inspect["Architecture"], oci_arch, "{arch} oci");
    let bundle = scratch.join(format!("{arch}-bundle"));
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:latest", p("oci").display()))
        .arg(&bundle));
    assert!(
        bundle.join("rootfs").join(hello).is_file(),
        "{arch} oci: no {hello}"
    );
    std::fs::remove_dir_all(&bundle).expect("remove the bundle");

    // oci-archive: skopeo reads it as an archive.
    let inspect: Value = serde_json::from_str(&run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:latest", p("oci.tar").display()))))
    .expect("skopeo JSON");
    assert_eq!(inspect["Architecture"], oci_arch, "{arch} oci-archive");

    // ext4: e2fsck finds nothing, debugfs finds the program.
    run_both(Command::new("e2fsck").arg("-fn").arg(p("ext4")));
    let stat = run_both(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("stat /{hello}"))
            .arg(p("ext4")),
    );
    assert!(stat.contains("Type: regular"), "{arch} ext4: {stat}");

    // erofs: fsck.erofs checks every file's data.
    run_both(Command::new("fsck.erofs").arg("--extract").arg(p("erofs")));

    // squashfs: unsquashfs lists it.
    let listing = run(Command::new("unsquashfs").arg("-l").arg(p("squashfs")));
    assert!(
        listing.lines().any(|l| l == format!("squashfs-root/{hello}")),
        "{arch} squashfs"
    );

    // raw: sgdisk verifies the GPT; the ESP and the root partition.
    let v = run(Command::new("sgdisk").arg("-v").arg(p("raw")));
    assert!(v.contains("No problems found"), "{arch} raw: {v}");
    let table = run(Command::new("sgdisk").arg("-p").arg(p("raw")));
    for name in ["esp", "root"] {
        assert!(
            table.lines().any(|l| l.trim_end().ends_with(&format!(" {name}"))),
            "{arch} raw: no partition `{name}`:\n{table}"
        );
    }

    // qcow2, vhd, vhdx: qemu-img checks or reads them, and each holds
    // exactly the raw disk.
    for (ext, fmt) in [("qcow2", "qcow2"), ("vhd", "vpc"), ("vhdx", "vhdx")] {
        if fmt != "vpc" {
            run(Command::new("qemu-img").args(["check", "-f", fmt]).arg(p(ext)));
        }
        let info: Value = serde_json::from_str(&run(Command::new("qemu-img")
            .args(["info", "--output=json", "-f", fmt])
            .arg(p(ext))))
        .expect("qemu-img JSON");
        assert_eq!(info["format"], fmt, "{arch} {ext}");
        run(Command::new("qemu-img")
            .args(["compare", "-f", fmt, "-F", "raw"])
            .arg(p(ext))
            .arg(p("raw")));
    }

    // iso: xorriso sees a UEFI El Torito image and the root as squashfs.
    let report = run_both(Command::new("xorriso").arg("-indev").arg(p("iso")).args([
        "-report_el_torito",
        "plain",
        "-find",
        "/",
        "-exec",
        "lsdl",
    ]));
    let boot = report
        .lines()
        .find(|l| l.starts_with("El Torito boot img :"))
        .unwrap_or_else(|| panic!("{arch} iso: no boot image:\n{report}"));
    assert!(boot.contains("UEFI"), "{arch} iso: {boot}");
    assert!(report.contains("/LiveOS/squashfs.img"), "{arch} iso: {report}");
    let v = run(Command::new("sgdisk").arg("-v").arg(p("iso")));
    assert!(v.contains("No problems found"), "{arch} iso: {v}");
}

#[test]
fn demo_vm_every_format_for_both_arches_verified_and_reproducible() {
    let _one = serial();
    let d = Demo::new();
    azldev_e2e::copy_tree(
        &azldev_e2e::demo::workspace_root().join("images"),
        &d.root.path().join("images"),
    );
    d.expect(0, &["build", "-a", "--arch", "all", "--format", "json"]);
    let out = d.root.path().join("out/images/demo-vm");
    let scratch = tempfile::tempdir_in(crate::build::cache()).expect("tempdir");
    // One arch at a time, its artefacts removed once compared (about
    // 4.5 GB per build of the eleven formats).
    for arch in ["x86_64", "aarch64"] {
        let mut args = vec!["image", "build", "demo-vm", "--arch", arch, "--format", "json"];
        for f in EVERY_FORMAT {
            args.extend(["--image-format", f]);
        }
        let mut builds = Vec::new();
        for round in 0..2 {
            let start = std::time::Instant::now();
            let report = d.json(0, &args);
            eprintln!(
                "demo-vm {arch}, {} formats, build {}: {:.1}s",
                EVERY_FORMAT.len(),
                round + 1,
                start.elapsed().as_secs_f64()
            );
            let r = image(&report, arch);
            assert_eq!(r["status"], "built", "{r}");
            let formats: Vec<&str> = r["artifacts"]
                .as_array()
                .expect("artifacts")
                .iter()
                .map(|a| a["format"].as_str().expect("format"))
                .collect();
            assert_eq!(formats, EVERY_FORMAT, "{arch}");
            for a in r["artifacts"].as_array().expect("artifacts") {
                let path = PathBuf::from(a["path"].as_str().expect("path"));
                if a["format"] != "oci" {
                    assert_eq!(a["sha256"], sha256(&path), "{arch} {}", a["format"]);
                }
            }
            if round == 0 {
                verify_every_format(&out.join(arch), arch, scratch.path());
            }
            builds.push(digests(&out.join(arch)));
            // Built again from scratch (a new root from the same
            // repositories) once this build's artefacts are gone.
            std::fs::remove_dir_all(out.join(arch)).expect("remove the artefacts");
        }
        assert_eq!(
            builds[1].keys().collect::<Vec<_>>(),
            builds[0].keys().collect::<Vec<_>>(),
            "{arch}"
        );
        let differ: Vec<&String> = builds[1]
            .iter()
            .filter(|(file, digest)| builds[0][*file] != **digest)
            .map(|(file, _)| file)
            .collect();
        assert!(differ.is_empty(), "{arch}: differ between two builds: {differ:?}");

        // tar.xz, on the container (the same writer as any root): twice
        // the same bytes, xz checks it, and it holds exactly the tar.
        let dir = d.root.path().join("out/images/demo-container").join(arch);
        let mut xz = Vec::new();
        for _ in 0..2 {
            let _ = std::fs::remove_dir_all(&dir);
            let r = d.json(
                0,
                &[
                    "image",
                    "build",
                    "demo-container",
                    "--arch",
                    arch,
                    "--image-format",
                    "tar",
                    "--image-format",
                    "tar.xz",
                    "--format",
                    "json",
                ],
            );
            assert_eq!(image(&r, arch)["artifacts"][1]["format"], "tar.xz");
            let p = |ext: &str| dir.join(format!("demo-container.{ext}"));
            run(Command::new("xz").arg("-t").arg(p("tar.xz")));
            let unpacked = run(Command::new("sh")
                .arg("-c")
                .arg("xz -dc \"$1\" | sha256sum")
                .arg("sh")
                .arg(p("tar.xz")));
            assert_eq!(
                unpacked.split_whitespace().next(),
                Some(sha256(&p("tar")).as_str()),
                "{arch} tar.xz"
            );
            let listing = run(Command::new("tar").arg("-tJf").arg(p("tar.xz")));
            assert!(listing.lines().any(|l| l == "usr/bin/hello"), "{arch} tar.xz");
            xz.push(sha256(&p("tar.xz")));
        }
        assert_eq!(xz[0], xz[1], "{arch}: tar.xz differs between two builds");
    }
}
