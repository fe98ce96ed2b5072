//! Includes, merge rules, inheritance and overlay files on small projects.

use azldev_config::Layer;

use crate::support::load_files;

fn no_errors(l: &azldev_config::Loaded) {
    let shown: Vec<String> = l.diagnostics.iter().map(|d| d.short()).collect();
    assert!(
        l.diagnostics.is_empty(),
        "unexpected diagnostics:\n{}",
        shown.join("\n")
    );
}

const BASE: &str = r#"includes = ["groups.toml"]

[project]
default-distro = { name = "azl" }

[distros.azl]
default-version = "4"

[distros.azl.versions.4]
release-ver = "4.0"

[distros.azl.versions.4.default-component-config]
spec = { type = "upstream", upstream-distro = { name = "fedora", version = "43", snapshot = "2026-02-24T00:00:00-08:00" } }
build = { with = ["distro"], defines = { vendor = "azl", dist = ".azl4" } }
overlays = [{ type = "spec-set-tag", tag = "Vendor", value = "Microsoft" }]

[distros.fedora]
dist-git-base-uri = "https://src.fedoraproject.org/rpms/$pkg.git"

[distros.fedora.versions.43]
release-ver = "43"
dist-git-branch = "f43"

[default-component-config]
build = { with = ["project"], without = ["docs"] }
overlay-files = ["overlays/{component}/*.toml"]

[components.curl]
spec = { type = "upstream", upstream-distro = { name = "fedora", version = "43" }, upstream-commit = "0123456789abcdef0123456789abcdef01234567" }
build = { with = ["component"], defines = { dist = ".curl" } }
overlays = [{ type = "spec-remove-tag", tag = "Requires", value = "x" }]

[components.wget]
overlay-files = []
"#;

const GROUPS: &str = r##"
[component-groups.zz-last]
components = ["curl"]
default-component-config = { build = { with = ["zz"] }, overlays = [{ type = "spec-prepend-lines", section = "%build", lines = ["# zz"] }] }

[component-groups.aa-first]
components = ["curl", "wget"]
default-component-config = { build = { with = ["aa"] } }
"##;

const OVERLAY_B: &str = r#"[metadata]
category = "azl-compatibility"
upstream-status = "upstreamable"

[[overlays]]
type = "file-add"
file = "b.conf"
source = "files/b.conf"
"#;

const OVERLAY_A: &str = r#"[metadata]
category = "upstream-backport"
upstream-status = "upstreamed"
commits = [{ url = "https://src.fedoraproject.org/rpms/curl/c/abc" }]

[[overlays]]
type = "spec-search-replace"
regex = "%{name}-%{version}"
replacement = "curl"
"#;

#[test]
fn inheritance_chain_in_order() {
    let (_p, l) = load_files(&[
        ("distro.toml", BASE),
        ("groups.toml", GROUPS),
        ("overlays/curl/b-second.toml", OVERLAY_B),
        ("overlays/curl/files/b.conf", "x=1\n"),
        ("overlays/curl/a-first.toml", OVERLAY_A),
    ]);
    no_errors(&l);
    let c = &l.config;
    let curl = &c.components["curl"];

    // Arrays append in layer order: distro default, project, groups alphabetical, component.
    let with: Vec<&str> = curl
        .config
        .build
        .as_ref()
        .expect("build")
        .with
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(with, ["distro", "project", "aa", "zz", "component"]);
    // Maps merge by key; later wins.
    let defines = &curl.config.build.as_ref().expect("build").defines;
    assert_eq!(defines["vendor"].as_str(), "azl");
    assert_eq!(defines["dist"].as_str(), ".curl");
    assert_eq!(c.files.describe_line(&defines["dist"].loc), "distro.toml:30");

    // Tables merge field by field: the component pins a commit, the snapshot is inherited.
    let spec = curl.config.spec.as_ref().expect("spec");
    let ud = spec.upstream_distro.as_ref().expect("upstream");
    assert_eq!(
        ud.snapshot
            .as_ref()
            .map(|s| c.files.describe_line(&s.loc))
            .as_deref(),
        Some("distro.toml:13")
    );
    assert!(spec.upstream_commit.is_some());

    assert_eq!(curl.groups, ["aa-first", "zz-last"]);
    assert_eq!(
        curl.layers[..5],
        [
            Layer::DistroDefault {
                distro: "azl".into(),
                version: "4".into()
            },
            Layer::ProjectDefault,
            Layer::Group {
                name: "aa-first".into()
            },
            Layer::Group {
                name: "zz-last".into()
            },
            Layer::Component,
        ]
    );

    // Overlays: inline ones in layer order, then overlay files by file name.
    let kinds: Vec<(&str, String)> = curl
        .overlays
        .iter()
        .map(|o| {
            (
                o.overlay.kind.value.as_str(),
                c.files.describe_line(&o.overlay.loc),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("spec-set-tag", "distro.toml:15".to_owned()),
            ("spec-prepend-lines", "groups.toml:4".to_owned()),
            ("spec-remove-tag", "distro.toml:31".to_owned()),
            ("spec-search-replace", "overlays/curl/a-first.toml:6".to_owned()),
            ("file-add", "overlays/curl/b-second.toml:5".to_owned()),
        ]
    );
    // Overlay-file overlays carry the file's metadata, and sources resolve next to the file.
    let last = curl.overlays.last().expect("overlay");
    assert!(last.overlay.metadata.is_some());
    assert!(
        last.source_path
            .as_ref()
            .is_some_and(|p| p.ends_with("overlays/curl/files/b.conf"))
    );
    assert!(matches!(&last.layer, Layer::OverlayFile { path } if path.ends_with("b-second.toml")));

    // `overlay-files` replaces: wget opts out of the project's pattern.
    let wget = &c.components["wget"];
    assert!(wget.config.overlay_files.as_ref().is_some_and(|o| o.is_empty()));
    let wget_with: Vec<&str> = wget
        .config
        .build
        .as_ref()
        .expect("build")
        .with
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(wget_with, ["distro", "project", "aa"]);
}

#[test]
fn includes_merge_rules() {
    let (_p, l) = load_files(&[
        (
            "distro.toml",
            "includes = [\"a/**/*.toml\", \"z.toml\"]\n[project]\ndescription = \"root\"\nwork-dir = \"w\"\n[distros.d]\ndescription = \"first\"\ndefault-version = \"1\"\n[distros.d.versions.1]\nrelease-ver = \"1\"\n",
        ),
        (
            "a/b/deep.toml",
            "[project]\ndescription = \"deep\"\n[distros.d.versions.2]\nrelease-ver = \"2\"\n",
        ),
        (
            "a/shallow.toml",
            "includes = [\"../z.toml\"]\n[distros.d]\ndefault-version = \"2\"\n",
        ),
        ("z.toml", "[project]\noutput-dir = \"out\"\n[components.z]\n"),
    ]);
    no_errors(&l);
    let m = &l.config.merged;
    // Depth first, a file before its includes; later non-empty fields win.
    assert_eq!(m.project.description.as_ref().map(|s| s.as_str()), Some("deep"));
    assert_eq!(m.project.work_dir.as_ref().map(|s| s.as_str()), Some("w"));
    assert_eq!(m.project.output_dir.as_ref().map(|s| s.as_str()), Some("out"));
    let d = &m.distros["d"];
    assert_eq!(d.description.as_ref().map(|s| s.as_str()), Some("first"));
    assert_eq!(d.default_version.as_ref().map(|s| s.as_str()), Some("2"));
    assert_eq!(d.versions.keys().collect::<Vec<_>>(), ["1", "2"]);
    // z.toml is included twice (diamond) but loaded once: no duplicate component.
    assert_eq!(l.config.components.len(), 1);
    let order: Vec<&str> = l
        .config
        .config_files
        .iter()
        .map(|id| l.config.files.get(*id).expect("file").display.as_str())
        .collect();
    assert_eq!(
        order,
        ["distro.toml", "a/b/deep.toml", "a/shallow.toml", "z.toml"]
    );
}

#[test]
fn find_root_walks_up() {
    let (p, _l) = load_files(&[("azldev.toml", "[components.a]\n"), ("x/y/keep", "")]);
    let found = azldev_config::find_root(&p.path("x/y")).expect("root");
    assert!(found.ends_with("azldev.toml"));
    let loaded = azldev_config::load_from_dir(&p.path("x/y")).expect("load");
    assert_eq!(loaded.config.components.len(), 1);
    assert!(matches!(
        azldev_config::load_from_dir(std::path::Path::new("/")),
        Err(azldev_config::Error::NoRoot { .. })
    ));
}

#[test]
fn archive_overlays_get_their_source_file_along_inheritance() {
    let hash = "0f".repeat(64);
    let distro = format!(
        r#"[components.foo]
overlay-files = ["overlays/*.toml"]

[component-groups.edited]
components = ["foo"]

[[component-groups.edited.default-component-config.source-files]]
filename = "foo-1.0.tar.gz"
origin = {{ type = "overlay" }}
replace-upstream = true
replace-reason = "drop the bundled copy of zlib"
hash = "{hash}"
hash-type = "SHA512"

[[components.foo.overlays]]
type = "file-search-replace"
archive = "foo-1.0.tar.gz"
file = "foo-1.0/configure"
regex = "-Werror"
replacement = ""
"#
    );
    let overlay = "[metadata]\ncategory = \"azl-pruning\"\nupstream-status = \"inapplicable\"\n\n\
                   [[overlays]]\ntype = \"file-remove\"\narchive = \"foo-1.0.tar.gz\"\nfile = \"foo-1.0/zlib/**\"\n\n\
                   [[overlays]]\ntype = \"file-add\"\nfile = \"foo.conf\"\nsource = \"foo.conf\"\n";
    let (_p, l) = load_files(&[
        ("distro.toml", distro.as_str()),
        ("overlays/foo.toml", overlay),
        ("overlays/foo.conf", "x\n"),
    ]);
    no_errors(&l);
    let foo = &l.config.components["foo"];
    assert_eq!(foo.overlays.len(), 3);
    for o in &foo.overlays[..2] {
        let sf = o
            .archive_source
            .as_ref()
            .expect("archive overlays carry their source file");
        assert_eq!(sf.filename.value, "foo-1.0.tar.gz");
        assert_eq!(sf.hash.as_ref().map(|h| h.value.as_str()), Some(hash.as_str()));
    }
    assert!(
        foo.overlays[2].archive_source.is_none(),
        "a plain file overlay has none"
    );
}
