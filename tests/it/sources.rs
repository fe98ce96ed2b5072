//! End-to-end test of `azldev sources fetch` on the demo distro: its
//! upstream tarballs are fetched from the generated local lookaside into a
//! private cache and checked against their digests.
//!
//! The demo distro is copied into a temporary directory and its upstreams are
//! generated there (the same bytes as `cargo xtask demo-upstreams`), so this
//! test never races with others regenerating `target/demo-upstreams`.

use std::path::Path;
use std::process::Output;

use sha2::{Digest, Sha512};

struct Demo {
    root: tempfile::TempDir,
    cache: tempfile::TempDir,
    tarballs: Vec<azldev_e2e::demo::Tarball>,
}

impl Demo {
    fn new() -> Demo {
        let root = tempfile::tempdir().expect("tempdir");
        let src = azldev_e2e::demo::workspace_root();
        std::fs::copy(src.join("distro.toml"), root.path().join("distro.toml")).expect("distro.toml");
        for dir in ["components", "overlays", "specs", "locks"] {
            copy_tree(&src.join(dir), &root.path().join(dir));
        }
        let report = azldev_e2e::demo::generate(
            &azldev_e2e::demo::default_fixtures(),
            &root.path().join("target/demo-upstreams"),
        )
        .expect("generate the demo upstreams");
        assert!(report.tarballs.len() >= 5, "the demo distro has tarballs");
        Demo {
            root,
            cache: tempfile::tempdir().expect("cache"),
            tarballs: report.tarballs,
        }
    }

    fn azldev(&self, args: &[&str]) -> Output {
        assert_cmd::Command::cargo_bin("azldev")
            .expect("azldev binary")
            .current_dir(self.root.path())
            .env("AZLDEV_CACHE_DIR", self.cache.path())
            .args(args)
            .output()
            .expect("runs")
    }

    fn cached(&self, sha512: &str) -> std::path::PathBuf {
        self.cache.path().join("sources/sha512").join(sha512)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(from).expect("inside");
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn sha512_hex(data: &[u8]) -> String {
    Sha512::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn fetches_the_demo_tarballs_from_the_lookaside() {
    let d = Demo::new();
    let n = d.tarballs.len();
    let out = d.azldev(&["sources", "fetch"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{n} fetched, 0 cached, 0 failed")),
        "{}",
        text(&out)
    );
    for t in &d.tarballs {
        let data = std::fs::read(d.cached(&t.sha512)).expect("in the cache");
        assert_eq!(sha512_hex(&data), t.sha512, "{}", t.file_name);
    }

    // Everything is cached now; JSON names each file.
    let out = d.azldev(&["sources", "fetch", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["summary"]["cached"], n);
    assert_eq!(v["summary"]["fetched"], 0);
    let files: Vec<&str> = v["components"]
        .as_array()
        .expect("components")
        .iter()
        .flat_map(|c| c["files"].as_array().into_iter().flatten())
        .map(|f| f["filename"].as_str().expect("filename"))
        .collect();
    for t in &d.tarballs {
        assert!(files.contains(&t.file_name.as_str()), "{files:?}");
    }
}

#[test]
fn one_component_and_a_corrupt_lookaside_file() {
    let d = Demo::new();
    let t = &d.tarballs[0];
    let comp = t.package.as_str();
    let path = d
        .root
        .path()
        .join("target/demo-upstreams/lookaside")
        .join(comp)
        .join(&t.file_name)
        .join("sha512")
        .join(&t.sha512)
        .join(&t.file_name);
    std::fs::write(&path, b"not the tarball").expect("corrupt");
    let out = d.azldev(&["sources", "fetch", comp]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("mismatch"), "{}", text(&out));
    assert!(
        text(&out).contains("0 fetched, 0 cached, 1 failed"),
        "{}",
        text(&out)
    );
    assert!(!d.cached(&t.sha512).exists(), "a bad file is not kept");

    let out = d.azldev(&["sources", "fetch", "no-such-component"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no component `no-such-component`"),
        "{}",
        text(&out)
    );
}

#[test]
fn unrendered_components_say_to_render_first() {
    let d = Demo::new();
    std::fs::remove_dir_all(d.root.path().join("specs")).expect("rm specs");
    let out = d.azldev(&["sources", "fetch"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("run `azldev render` first"), "{}", text(&out));
}
