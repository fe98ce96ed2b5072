//! A maintainer's day (issue 17, items 5–9): render-time overlay reports,
//! commands that fit a distro repository, CLI habits, bot output.

use super::{World, upstream_component};

/// A component whose upstream spec has a `-extras` sub-package.
fn extras_upstream(w: &World, pkg: &str) {
    let spec = azldev_e2e::spec(pkg, "1.0", "1").replace(
        "%files\n",
        &format!("%package extras\nSummary: Extras\n\n%description extras\nExtras.\n\n%files extras\n/usr/share/{pkg}\n\n%files\n"),
    );
    let r = azldev_e2e::Repo::init(w.root.path().join("up").join(pkg), "main");
    r.commit(
        &[
            (&format!("{pkg}.spec"), Some(&spec)),
            (&format!("{pkg}.conf"), Some("setting = 1\n")),
            ("sources", Some(&format!("SHA512 ({pkg}-1.0.tar.gz) = 00\n"))),
        ],
        "import",
        "2024-01-01T00:00:00Z",
    );
}

/// Item 5: every failing overlay of a component is reported, numbered as its
/// file numbers it, with the caret under the value at fault and the nearest
/// package, section or tag suggested.
#[test]
fn overlay_failures_point_at_the_value_and_suggest() {
    let w = World::new();
    extras_upstream(&w, "tinyping");
    w.config(&format!(
        "{}overlay-files = [\"overlays/{{component}}/*.overlay.toml\"]\n",
        upstream_component("tinyping")
    ));
    // Three overlays in one overlay file: the 1st and 3rd fail.
    w.write(
        "overlays/tinyping/fix.overlay.toml",
        "[metadata]\ncategory = \"azl-temp-workaround\"\nupstream-status = \"unknown\"\n\n\
         [[overlays]]\ntype = \"spec-append-lines\"\nsection = \"%files\"\npackage = \"extra\"\nlines = [\"/usr/share/x\"]\n\n\
         [[overlays]]\ntype = \"spec-update-tag\"\ntag = \"Summary\"\nvalue = \"Pings\"\n\n\
         [[overlays]]\ntype = \"spec-prepend-lines\"\nsection = \"%descriptoin\"\nlines = [\"x\"]\n\n\
         [[overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Licence\"\n",
    );
    let out = w.azldev(&["render", "--color", "never"]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    // Numbered within the file, 1-based, with the file's name.
    assert!(
        text.contains("overlay 1 (spec-append-lines) in overlays/tinyping/fix.overlay.toml"),
        "{text}"
    );
    assert!(
        text.contains("overlay 3 (spec-prepend-lines) in overlays/tinyping/fix.overlay.toml"),
        "{text}"
    );
    assert!(
        text.contains("overlay 4 (spec-remove-tag) in overlays/tinyping/fix.overlay.toml"),
        "{text}"
    );
    assert!(
        !text.contains("overlay 2 "),
        "the good overlay is not reported: {text}"
    );
    // The caret is under the value: line 8 `package = "extra"`, column 11.
    assert!(text.contains("fix.overlay.toml:8:11"), "{text}");
    assert!(text.contains("did you mean `extras`?"), "{text}");
    assert!(text.contains("did you mean `%description`?"), "{text}");
    assert!(text.contains("did you mean `License`?"), "{text}");
    assert!(!w.distro().join("specs/t/tinyping").exists());
    // JSON: one error string naming every failure.
    let json = w.azldev(&["render", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let err = v["components"][0]["error"].as_str().expect("error");
    assert_eq!(err.matches("(spec-").count(), 3, "{err}");
    assert!(err.contains("did you mean `License`?"), "{err}");
}

/// Item 5: an unknown component name on the command line is suggested like
/// `component show` does.
#[test]
fn render_suggests_a_misspelt_component() {
    let w = World::new();
    w.upstream("tinyping");
    w.config(&upstream_component("tinyping"));
    let out = w.fails(&["render", "tinypnig"]);
    assert!(
        out.contains("no component named `tinypnig`; did you mean `tinyping`?"),
        "{out}"
    );
}
