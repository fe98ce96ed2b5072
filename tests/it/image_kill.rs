//! A killed `azldev image build` (SIGKILL, nothing to catch) leaves no
//! process running, never a half-written or missing image: while the root
//! is being installed, nothing is published yet; while the formats are
//! being written, the previous build stays in place; the next run removes
//! what the killed ones left (root trees, staging directories) and finds
//! the previous build intact.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{Demo, cache, processes_with, serial};

fn spawn(d: &Demo, extra: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(d.root.path())
        .env("AZLDEV_CACHE_DIR", cache())
        .args(["image", "build", "demo-container", "--arch", "x86_64"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("azldev starts")
}

/// Waits (up to two minutes) until `p` exists, then SIGKILLs `child`.
fn kill_once(child: &mut Child, p: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !p.exists() {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "azldev finished before {} appeared",
            p.display()
        );
        assert!(Instant::now() < deadline, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// Every process naming `needle` is gone within 15 s (they die with azldev).
fn none_left(needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = processes_with(needle);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left running: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn digests(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(dir).expect("inside").display().to_string();
            v.push((rel, std::fs::read(e.path()).expect("read")));
        }
    }
    v
}

#[test]
fn a_killed_image_build_leaves_no_process_and_never_a_broken_image() {
    let _one = serial();
    let d = Demo::new();
    azldev_e2e::copy_tree(
        &azldev_e2e::demo::workspace_root().join("images"),
        &d.root.path().join("images"),
    );
    d.expect(0, &["build", "-a", "--arch", "x86_64"]);
    let work: PathBuf = d.root.path().join("build/work/image");
    let images = d.root.path().join("out/images/demo-container");
    let out = images.join("x86_64");

    // Killed while dnf installs the root: nothing published, nothing runs.
    let mut a = spawn(&d, &[]);
    let tag_a = format!("demo-container-x86_64-{}", a.id());
    kill_once(&mut a, &work.join(&tag_a).join("root/usr"));
    none_left(&tag_a);
    assert!(!out.exists(), "published by a killed run: {:?}", names(&out));

    // A whole build, then one killed while it writes the formats: the
    // first build stays in place, byte for byte.
    d.expect(0, &["image", "build", "demo-container", "--arch", "x86_64"]);
    let before = digests(&out);
    assert!(!before.is_empty());
    let mut c = spawn(&d, &["--rebuild"]);
    let staging = images.join(format!(".tmp-x86_64-{}", c.id()));
    kill_once(&mut c, &staging.join("demo-container.oci"));
    none_left(&format!("demo-container-x86_64-{}", c.id()));
    assert!(digests(&out) == before, "the published image changed");

    // The next run finds it intact (cached) and removes the leftovers of
    // both killed runs.
    let r = d.json(
        0,
        &[
            "image",
            "build",
            "demo-container",
            "--arch",
            "x86_64",
            "--format",
            "json",
        ],
    );
    assert_eq!(r["images"][0]["status"], "cached", "{r}");
    assert_eq!(names(&images), ["x86_64"], "leftovers in {}", images.display());
    let work_left: Vec<String> = names(&work)
        .into_iter()
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert!(
        work_left.is_empty(),
        "leftovers in {}: {work_left:?}",
        work.display()
    );
}
