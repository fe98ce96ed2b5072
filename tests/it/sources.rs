//! End-to-end test of `azldev sources fetch` on the demo distro: its
//! upstream tarballs are fetched from the generated local lookaside into a
//! private cache and checked against their digests.
//!
//! The demo distro is copied into a temporary directory and its upstreams are
//! generated there (the same bytes as `cargo xtask demo-upstreams`), so this
//! test never races with others regenerating `target/demo-upstreams`.

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

use azldev_e2e::copy_tree;

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
    // hello's tarball is edited by an archive overlay: render makes it
    // (from the upstream one), fetching has nothing to download for it.
    let out = d.azldev(&["sources", "fetch"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "hello: `hello-1.2.tar.gz` is made by an archive overlay and is not in the source cache; \
             run `azldev render hello`"
        ),
        "{}",
        text(&out)
    );
    let n = d.tarballs.len() - 1;
    assert!(
        text(&out).contains(&format!("{n} fetched, 0 cached, 1 failed")),
        "the others are fetched: {}",
        text(&out)
    );
    let out = d.azldev(&["render", "hello"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = d.azldev(&["sources", "fetch"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("0 fetched, {n} cached, 0 failed")),
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
    for t in d.tarballs.iter().filter(|t| t.file_name != "hello-1.2.tar.gz") {
        assert!(files.contains(&t.file_name.as_str()), "{files:?}");
    }
    assert!(!files.contains(&"hello-1.2.tar.gz"), "{files:?}");
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
    assert_eq!(out.status.code(), Some(2), "an unknown name is a usage error");
    assert!(
        text(&out).contains("no component named `no-such-component`"),
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

/// Every 128-digit hex word in `s` (SHA-512 digests).
fn sha512_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 128)
        .map(str::to_owned)
        .collect()
}

#[test]
fn archive_overlays_edit_lookaside_tarballs_in_render() {
    // The demo's hello edits its README inside the upstream tarball
    // (overlays/hello/readme.overlay.toml) and declares the result's digest.
    let d = Demo::new();
    let comp_file = d.root.path().join("components/hello.comp.toml");
    let original = std::fs::read_to_string(&comp_file).expect("hello.comp.toml");
    let declared = sha512_words(&original);
    let [produced] = declared.as_slice() else {
        panic!("hello declares one digest: {declared:?}");
    };
    let produced = produced.clone();
    let upstream = d
        .tarballs
        .iter()
        .find(|t| t.file_name == "hello-1.2.tar.gz")
        .expect("hello's tarball");

    // A wrong digest: render fetches the upstream tarball, edits it, and
    // says which digest the result has — the declared one (the repacking
    // is deterministic).
    let placeholder = "0".repeat(128);
    std::fs::write(&comp_file, original.replace(&produced, &placeholder)).expect("write");
    let out = d.azldev(&["render", "hello"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("hello-1.2.tar.gz"), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("set `hash = \"{produced}\"`")),
        "{}",
        text(&out)
    );
    assert!(
        d.cached(&upstream.sha512).is_file(),
        "the upstream tarball was fetched"
    );
    std::fs::write(&comp_file, &original).expect("write");

    // The right digest: the rendered `sources` lists the edited tarball,
    // which is in the source cache, not in the rendered directory.
    let out = d.azldev(&["render", "hello"]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = d.root.path().join("specs/h/hello");
    let sources = std::fs::read_to_string(dir.join("sources")).expect("sources");
    assert_eq!(
        sources.trim_end(),
        format!("SHA512 (hello-1.2.tar.gz) = {produced}")
    );
    assert!(
        !dir.join("hello-1.2.tar.gz").exists(),
        "lookaside files stay out of the tree"
    );
    let data = std::fs::read(d.cached(&produced)).expect("the edited tarball is cached");
    assert_eq!(sha512_hex(&data), produced);
    let readme = std::process::Command::new("tar")
        .args([
            "-xzOf",
            &d.cached(&produced).to_string_lossy(),
            "hello-1.2/README.md",
        ])
        .output()
        .expect("tar");
    assert!(readme.status.success());
    let readme = String::from_utf8_lossy(&readme.stdout);
    assert!(
        readme.contains("A Demo Linux greeting on standard output."),
        "{readme}"
    );

    // Nothing changed: nothing to do; `--check` agrees.
    let out = d.azldev(&["render", "hello"]);
    assert!(text(&out).contains("0 rendered, 1 unchanged"), "{}", text(&out));
    let out = d.azldev(&["render", "--check", "hello"]);
    assert!(out.status.success(), "{}", text(&out));
    // The edited tarball lost from the cache: the next render makes it again.
    std::fs::remove_file(d.cached(&produced)).expect("remove");
    let out = d.azldev(&["render", "hello"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sha512_hex(&std::fs::read(d.cached(&produced)).expect("cached again")),
        produced
    );

    // `sources fetch` has nothing to download for an overlay's output.
    let out = d.azldev(&["sources", "fetch", "hello"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("0 failed"), "{}", text(&out));

    // Neither in the cache nor in the lookaside: a clear error naming the
    // archive; the rendered directory stays as it was.
    std::fs::remove_dir_all(d.cache.path().join("sources")).expect("empty the source cache");
    let lookaside = d.root.path().join("target/demo-upstreams/lookaside/hello");
    std::fs::remove_dir_all(&lookaside).expect("remove the lookaside copy");
    let out = d.azldev(&["render", "--force", "hello"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("archive `hello-1.2.tar.gz`"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sources")).expect("sources"),
        sources
    );

    // An HTTP lookaside and --offline: refused before any connection.
    let distro_file = d.root.path().join("distro.toml");
    let distro = std::fs::read_to_string(&distro_file).expect("distro.toml");
    let remote = distro.replace(
        "lookaside-base-uri = \"target/demo-upstreams/lookaside/$pkg/$filename/$hashtype/$hash/$filename\"",
        "lookaside-base-uri = \"http://127.0.0.1:9/$pkg/$filename\"",
    );
    assert_ne!(remote, distro);
    std::fs::write(&distro_file, remote).expect("write");
    let out = d.azldev(&["render", "--offline", "--force", "hello"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("--offline forbids fetching http://127.0.0.1:9/hello/hello-1.2.tar.gz"),
        "{}",
        text(&out)
    );
}

#[test]
fn origins_fall_back_to_the_lookaside_unless_disabled() {
    let d = Demo::new();
    let notes = b"Demo Linux notes for kvstore\n";
    let hash = sha512_hex(notes);
    let origin = d.root.path().join("origin/notes.txt");
    let comp_file = d.root.path().join("components/kvstore.comp.toml");
    let mut comp = std::fs::read_to_string(&comp_file).expect("kvstore.comp.toml");
    comp.push_str(&format!(
        r#"
[[components.kvstore.source-files]]
filename = "notes.txt"
hash = "{hash}"
hash-type = "SHA512"
origin = {{ type = "download", uri = "file://{}" }}
"#,
        origin.display()
    ));
    std::fs::write(&comp_file, comp).expect("write");
    let lookaside = d
        .root
        .path()
        .join("target/demo-upstreams/lookaside/kvstore/notes.txt/sha512")
        .join(&hash)
        .join("notes.txt");

    // Neither the origin nor the lookaside has it: both are named.
    let out = d.azldev(&["sources", "fetch", "kvstore"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("every source failed") && text(&out).contains("origin/notes.txt"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("lookaside/kvstore/notes.txt"),
        "{}",
        text(&out)
    );

    // The origin is gone but the lookaside has a copy.
    std::fs::create_dir_all(lookaside.parent().expect("parent")).expect("mkdir");
    std::fs::write(&lookaside, notes).expect("write");
    let out = d.azldev(&["sources", "fetch", "kvstore"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(d.cached(&hash)).expect("cached"), notes);

    // `disable-origins`: the origin is never asked, even when it has the
    // file and the lookaside does not.
    std::fs::remove_file(d.cached(&hash)).expect("uncache");
    std::fs::remove_file(&lookaside).expect("remove the lookaside copy");
    std::fs::create_dir_all(origin.parent().expect("parent")).expect("mkdir");
    std::fs::write(&origin, notes).expect("write");
    let distro_file = d.root.path().join("distro.toml");
    let distro = std::fs::read_to_string(&distro_file).expect("distro.toml");
    let disabled = distro.replacen(
        "[distros.demo-upstream]\n",
        "[distros.demo-upstream]\ndisable-origins = true\n",
        1,
    );
    assert_ne!(disabled, distro, "the demo has a demo-upstream distro");
    std::fs::write(&distro_file, &disabled).expect("write");
    let out = d.azldev(&["sources", "fetch", "kvstore"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("lookaside/kvstore/notes.txt"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("origin/notes.txt"), "{}", text(&out));
    // Enabled again, the origin serves it.
    std::fs::write(&distro_file, &distro).expect("write");
    let out = d.azldev(&["sources", "fetch", "kvstore"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(d.cached(&hash)).expect("cached"), notes);
}

#[test]
fn archive_overlays_observe_the_member_and_total_caps() {
    // Issue 16, class 6: a small archive of a huge member must not be
    // unpacked in memory. The demo's hello edits its upstream tarball; with
    // tiny caps the overlay fails, naming the setting, and nothing is
    // written.
    let d = Demo::new();
    let before = std::fs::read(d.root.path().join("specs/h/hello/sources")).expect("sources");
    for (var, setting) in [
        ("AZLDEV_ARCHIVE_MAX_MEMBER_SIZE", "archive-max-member-size"),
        ("AZLDEV_ARCHIVE_MAX_TOTAL_SIZE", "archive-max-total-size"),
    ] {
        let out = assert_cmd::Command::cargo_bin("azldev")
            .expect("azldev binary")
            .current_dir(d.root.path())
            .env("AZLDEV_CACHE_DIR", d.cache.path())
            .env(var, "100")
            .args(["render", "hello"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("larger than the 100 bytes `{setting}` allows")),
            "{}",
            text(&out)
        );
        assert_eq!(
            std::fs::read(d.root.path().join("specs/h/hello/sources")).expect("sources"),
            before
        );
    }
    let out = d.azldev(&["render", "hello"]);
    assert!(out.status.success(), "{}", text(&out));
}
