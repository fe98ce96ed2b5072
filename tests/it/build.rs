//! End-to-end tests of `azldev build` on the demo distro, with real
//! rpmbuild, dnf, createrepo_c and qemu-user: the toolchain seed (from the
//! project's seed locks), base roots for both arches, builds in isolated
//! layers, the local repositories, the build cache.
//!
//! The demo is copied into a temporary directory (upstreams generated
//! there). The azldev cache is shared with the buildroot crate's tests
//! (`target/azldev-test-cache`), so converted seed RPMs, base roots and
//! content-addressed builds are reused across tests and runs; tests that
//! must see builds happen use `--rebuild`. Needs root.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

pub(crate) struct Demo {
    pub(crate) root: tempfile::TempDir,
}

use azldev_e2e::copy_tree;

pub(crate) fn cache() -> PathBuf {
    let d = azldev_e2e::demo::workspace_root().join("target/azldev-test-cache");
    std::fs::create_dir_all(&d).expect("cache dir");
    d
}

/// One build test at a time: they share the build cache and base roots.
pub(crate) fn serial() -> File {
    let f = File::create(cache().join("e2e-build.lock")).expect("lock file");
    f.lock().expect("lock");
    f
}

impl Demo {
    pub(crate) fn new() -> Demo {
        let root = tempfile::tempdir_in(cache()).expect("tempdir");
        let src = azldev_e2e::demo::workspace_root();
        std::fs::copy(src.join("distro.toml"), root.path().join("distro.toml")).expect("distro.toml");
        for dir in ["components", "overlays", "locks", "mock"] {
            copy_tree(&src.join(dir), &root.path().join(dir));
        }
        azldev_e2e::demo::generate(
            &azldev_e2e::demo::default_fixtures(),
            &root.path().join("target/demo-upstreams"),
        )
        .expect("generate the demo upstreams");
        let d = Demo { root };
        for arch in ["x86_64", "aarch64"] {
            d.expect(0, &["toolchain", "seed", "--arch", arch]);
        }
        d
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        assert_cmd::Command::cargo_bin("azldev")
            .expect("azldev binary")
            .current_dir(self.root.path())
            .env("AZLDEV_CACHE_DIR", cache())
            .env_remove("AZLDEV_JOBS")
            .args(args)
            .output()
            .expect("runs")
    }

    pub(crate) fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "azldev {args:?}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    pub(crate) fn json(&self, code: i32, args: &[&str]) -> Value {
        serde_json::from_str(&self.expect(code, args)).expect("JSON")
    }

    pub(crate) fn write(&self, rel: &str, text: &str) {
        let p = self.root.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    pub(crate) fn repo(&self, arch: &str) -> PathBuf {
        self.root.path().join("out").join(arch)
    }
}

/// `name → status` of one arch's report.
fn statuses(report: &Value, arch: &str) -> BTreeMap<String, String> {
    let a = report["arches"]
        .as_array()
        .expect("arches")
        .iter()
        .find(|a| a["arch"] == arch)
        .expect("arch");
    let mut m: BTreeMap<String, String> = a["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().expect("name").to_owned(),
                c["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    for n in a["not-built"].as_array().expect("not-built") {
        m.insert(
            n["name"].as_str().expect("name").to_owned(),
            n["status"].as_str().expect("status").to_owned(),
        );
    }
    m
}

fn rpm_digests(dir: &Path) -> BTreeMap<String, String> {
    use sha2::Digest;
    std::fs::read_dir(dir.join("Packages"))
        .expect("Packages")
        .filter_map(Result::ok)
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("read");
            (
                e.file_name().to_string_lossy().into_owned(),
                format!("{:x}", sha2::Sha256::digest(&bytes)),
            )
        })
        .collect()
}

#[test]
fn demo_builds_for_both_arches_installs_and_runs_and_then_is_cached() {
    let _one = serial();
    let d = Demo::new();
    let first = d.json(
        0,
        &["build", "-a", "--arch", "all", "--rebuild", "--format", "json"],
    );
    let x86 = statuses(&first, "x86_64");
    let arm = statuses(&first, "aarch64");
    assert!(x86.values().all(|s| s == "built"), "{x86:?}");
    assert_eq!(x86.len(), 14, "{x86:?}");
    // Excluded on aarch64 by ExclusiveArch; noarch packages built once.
    assert_eq!(arm["rpncalc"], "excluded", "{arm:?}");
    for noarch in ["cheatsheets", "demo-motd", "demo-release", "systemd-rpm-macros"] {
        assert_eq!(arm[noarch], "noarch", "{noarch}: {arm:?}");
    }
    for native in ["libgreet", "greeter", "hello", "kvstore"] {
        assert_eq!(arm[native], "built", "{native}: {arm:?}");
    }
    // The repositories hold the RPMs and SRPMs, noarch ones in both.
    let x86_rpms = rpm_digests(&d.repo("x86_64"));
    let arm_rpms = rpm_digests(&d.repo("aarch64"));
    assert!(
        x86_rpms.contains_key("greeter-2.1-2.demo1.src.rpm"),
        "{x86_rpms:?}"
    );
    assert!(
        arm_rpms.contains_key("libgreet-devel-1.0-2.demo1.aarch64.rpm"),
        "{arm_rpms:?}"
    );
    assert!(
        arm_rpms
            .keys()
            .any(|k| k.starts_with("systemd-rpm-macros-") && k.ends_with(".noarch.rpm"))
    );
    assert!(!arm_rpms.keys().any(|k| k.starts_with("rpncalc-")));

    // dnf installs the program from the local repository into a fresh
    // layer and it runs against the library built here.
    for arch in ["x86_64", "aarch64"] {
        let out = d.expect(
            0,
            &[
                "buildroot",
                "shell",
                "--arch",
                arch,
                "--install",
                "greeter",
                "--",
                "sh",
                "-c",
                "greeter; rpm -q --qf '%{ARCH}\\n' libgreet",
            ],
        );
        assert_eq!(out, format!("Hello, world!\n{arch}\n"));
    }

    // A second build does nothing.
    let second = d.json(0, &["build", "-a", "--arch", "all", "--format", "json"]);
    let all: Vec<String> = ["x86_64", "aarch64"]
        .iter()
        .flat_map(|a| statuses(&second, a).into_values())
        .collect();
    assert!(
        all.iter()
            .all(|s| matches!(s.as_str(), "cached" | "excluded" | "noarch")),
        "{all:?}"
    );
    assert_eq!(rpm_digests(&d.repo("x86_64")), x86_rpms);
    // Builds nothing else waited for were indexed once, at the end: every
    // published RPM is in the metadata and no repository is left marked.
    for arch in ["x86_64", "aarch64"] {
        let repo = d.repo(arch);
        assert!(!repo.join(".azldev-unindexed").exists(), "{arch}");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("zcat repodata/*-primary.xml.gz | grep -o 'location href=\"[^\"]*\"' | sort")
            .current_dir(&repo)
            .output()
            .expect("zcat runs");
        let listed = String::from_utf8_lossy(&out.stdout).lines().count();
        let files = rpm_digests(&repo).len();
        assert_eq!(listed, files, "{arch}: metadata lists {listed} of {files} RPMs");
    }
}

#[test]
fn rebuilds_are_byte_identical_and_cut_off_early_and_overlays_rebuild_only_what_changed() {
    let _one = serial();
    let d = Demo::new();
    d.expect(0, &["build", "-a"]);
    let before = rpm_digests(&d.repo("x86_64"));
    let repomd = || std::fs::read(d.repo("x86_64").join("repodata/repomd.xml")).expect("repomd.xml");
    let repomd_before = repomd();
    // libgreet rebuilt from scratch: the same bytes, so greeter (which
    // builds against it) is not rebuilt.
    let r = d.json(0, &["build", "libgreet", "--rebuild", "--format", "json"]);
    assert_eq!(statuses(&r, "x86_64")["libgreet"], "built");
    assert_eq!(
        rpm_digests(&d.repo("x86_64")),
        before,
        "two clean builds give identical RPMs"
    );
    // And the same repository metadata, which an image's key hashes: a
    // no-change rebuild does not invalidate the images.
    assert!(
        repomd() == repomd_before,
        "a no-change rebuild changed repomd.xml:\n{}",
        String::from_utf8_lossy(&repomd())
    );
    let r = d.json(0, &["build", "greeter", "--format", "json"]);
    assert_eq!(statuses(&r, "x86_64")["greeter"], "cached");

    // An overlay on banner: banner would be rebuilt, nothing else. (The
    // comment is unique to this run: the build cache outlives test runs.)
    let token = d
        .root
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    d.write(
        "overlays/banner/touch.overlay.toml",
        &format!(
            "[metadata]\ncategory = \"azl-temp-workaround\"\nupstream-status = \"inapplicable\"\n\n[[overlays]]\n\
             description = \"A comment in %build\"\ntype = \"spec-prepend-lines\"\nsection = \"%build\"\n\
             lines = [\"# touched {token}\"]\n"
        ),
    );
    let check = d.expect(0, &["build", "-a", "--check"]);
    assert!(check.contains("1 would be built"), "{check}");
    assert!(check.contains("  banner: its inputs changed"), "{check}");
    let r = d.json(0, &["build", "-a", "--format", "json"]);
    let s = statuses(&r, "x86_64");
    assert_eq!(s["banner"], "built", "{s:?}");
    assert_eq!(s.values().filter(|v| *v == "built").count(), 1, "{s:?}");
}

#[test]
fn a_failing_check_blocks_exactly_its_dependents() {
    let _one = serial();
    let d = Demo::new();
    d.write(
        "overlays/libgreet/fail-check.overlay.toml",
        "[metadata]\ncategory = \"azl-temp-workaround\"\nupstream-status = \"inapplicable\"\n\n[[overlays]]\ndescription = \"Fail %check\"\ntype = \"spec-prepend-lines\"\nsection = \"%check\"\nlines = [\"echo failing on purpose; exit 1\"]\n",
    );
    let out = d.run(&["build", "libgreet", "greeter", "banner", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let s = statuses(&r, "x86_64");
    assert_eq!(s["libgreet"], "failed", "{s:?}");
    assert_eq!(s["greeter"], "blocked", "{s:?}");
    assert!(matches!(s["banner"].as_str(), "built" | "cached"), "{s:?}");
    let a = &r["arches"][0]["components"];
    let lib = a
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == "libgreet")
        .expect("libgreet");
    assert_eq!(lib["failure"]["kind"], "check", "{lib}");
    let log = lib["failure"]["log"].as_str().expect("log path");
    assert!(
        std::fs::read_to_string(log)
            .expect("log")
            .contains("failing on purpose")
    );
    // --no-check builds it.
    let r = d.json(0, &["build", "libgreet", "--no-check", "--format", "json"]);
    assert!(matches!(
        statuses(&r, "x86_64")["libgreet"].as_str(),
        "built" | "cached"
    ));
}

/// Processes whose command line mentions `needle` (zombies ignored).
pub(crate) fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").filter_map(Result::ok) {
        let p = e.path();
        if !e
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let zombie = std::fs::read_to_string(p.join("stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        });
        let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if !zombie && cmd.contains(needle) {
            found.push(cmd);
        }
    }
    found
}

/// Waits until a process names `needle` (a layer of the build under test
/// exists), then a little longer so the build is well under way.
fn wait_for_layers(needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while processes_with(needle).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no layer of the build appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
}

/// Layer directories (and locks) the azldev process `pid` left in the cache.
fn layer_leftovers(pid: u32) -> Vec<String> {
    std::fs::read_dir(cache().join("buildroot/layers"))
        .expect("layers dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("aarch64-{pid}-")))
        .collect()
}

#[test]
fn a_killed_build_leaves_no_process_mount_or_broken_repository() {
    let _one = serial();
    let d = Demo::new();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(d.root.path())
        .env("AZLDEV_CACHE_DIR", cache())
        .args([
            "build",
            "kvstore",
            "hello",
            "--arch",
            "aarch64",
            "--rebuild",
            "-j",
            "2",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("azldev starts");
    // Wait until its layers exist (their holders name the layer directory).
    let needle = format!("buildroot/layers/aarch64-{}-", child.id());
    wait_for_layers(&needle);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // Everything of the run goes with it: holders, nsenter/bwrap, rpmbuild.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let left = processes_with(&needle);
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "left running: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains("azldev-layer"), "{mounts}");
    // The next build works (the repository is usable) and sweeps the
    // killed run's layer directories.
    let r = d.json(
        0,
        &[
            "build", "kvstore", "hello", "--arch", "aarch64", "--format", "json",
        ],
    );
    let s = statuses(&r, "aarch64");
    assert!(s.values().all(|v| v == "built" || v == "cached"), "{s:?}");
    let stale = layer_leftovers(child.id());
    assert!(stale.is_empty(), "left in the layers directory: {stale:?}");
}

#[test]
fn ctrl_c_stops_running_builds_and_discards_their_layers() {
    let _one = serial();
    let d = Demo::new();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(d.root.path())
        .env("AZLDEV_CACHE_DIR", cache())
        .args([
            "build",
            "kvstore",
            "hello",
            "--arch",
            "aarch64",
            "--rebuild",
            "-j",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("azldev starts");
    let pid = child.id();
    let needle = format!("buildroot/layers/aarch64-{pid}-");
    wait_for_layers(&needle);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("azldev ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Stopped and discarded by azldev itself, before it exited.
    assert!(processes_with(&needle).is_empty());
    let left = layer_leftovers(pid);
    assert!(left.is_empty(), "{left:?}");
}
