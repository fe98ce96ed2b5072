//! End-to-end tests of release bumps for downstream changes
//! (`release.calculation = "auto"`): a distro git repository (fixed authors
//! and dates) whose commits change an overlay, move the upstream pin, leave
//! a change uncommitted, and break the Release tag.

use azldev_e2e::{Repo, spec};

use super::{World, upstream_component};

/// An overlay of alpha setting URL to `value`.
fn url_overlay(value: &str) -> String {
    format!(
        "[[components.alpha.overlays]]\ndescription = \"our URL\"\ntype = \"spec-set-tag\"\ntag = \"URL\"\nvalue = \"{value}\"\n"
    )
}

/// The rendered spec's Release line and its changelog.
fn release_and_changelog(w: &World) -> (String, String) {
    let text = w.read("specs/a/alpha/alpha.spec");
    let release = text
        .lines()
        .find(|l| l.starts_with("Release:"))
        .expect("Release line")
        .to_owned();
    let changelog = text.split("%changelog\n").nth(1).expect("changelog").to_owned();
    (release, changelog)
}

const INITIAL: &str = "* Mon Jan 01 2024 Fixture Author <fixture@example.org> - 1.0-1\n- Initial\n";

/// The one-commit flow: render, then commit the change, its render and its
/// lock together; `render --check` passes on that commit and on every
/// later one that does not touch the component.
fn commit_and_check(w: &World, distro: &Repo, message: &str, date: &str) {
    let before = w.read("specs/a/alpha/alpha.spec");
    distro.commit(&[], message, date);
    let out = w.ok(&["render", "--check"]);
    assert!(out.contains("0 drifted"), "{out}");
    let out = w.ok(&["render"]);
    assert!(!out.contains("1 rendered"), "{out}");
    assert_eq!(
        w.read("specs/a/alpha/alpha.spec"),
        before,
        "the commit reproduces its render"
    );
}

#[test]
fn downstream_commits_bump_the_release_until_the_pin_moves() {
    let w = World::new();
    let up = w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let distro = Repo::init(w.distro(), "main");
    w.ok(&["render"]);
    commit_and_check(&w, &distro, "Add alpha", "2024-02-01T10:00:00Z");
    let (release, changelog) = release_and_changelog(&w);
    assert_eq!(release, "Release:        1%{?dist}");
    assert_eq!(changelog, INITIAL);

    // An overlay change: +1 at once; its entry cannot exist yet (no date,
    // author or message before the commit), so it has none.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://a.example/")
    ));
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        2%{?dist}".into(), INITIAL.into())
    );
    // Committed with its render: the same bytes, `--check` passes.
    commit_and_check(
        &w,
        &distro,
        "Point URL at 100% ours\n\nBody.",
        "2024-02-02T10:00:00Z",
    );
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        2%{?dist}".into(), INITIAL.into())
    );

    // The next change: its predecessor's entry appears (author date,
    // author, subject, `%` escaped).
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://b.example/")
    ));
    w.ok(&["render"]);
    let first =
        "* Fri Feb 02 2024 Fixture Author <fixture@example.org> - 1.0-2\n- Point URL at 100%% ours\n\n";
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        3%{?dist}".into(), format!("{first}{INITIAL}"))
    );
    commit_and_check(&w, &distro, "Move URL", "2024-02-03T10:00:00Z");

    // A commit that does not change alpha's inputs changes nothing.
    distro.commit(&[("README.md", Some("Demo\n"))], "Readme", "2024-02-04T10:00:00Z");
    let out = w.ok(&["render", "--check"]);
    assert!(out.contains("0 drifted"), "{out}");
    assert_eq!(release_and_changelog(&w).0, "Release:        3%{?dist}");

    // Editing only the overlay's description: the package is the same, no
    // bump (the lock's fingerprint changes, its content does not).
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://b.example/").replace("our URL", "the URL of our fork")
    ));
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        3%{?dist}".into(), format!("{first}{INITIAL}"))
    );
    commit_and_check(&w, &distro, "Reword the URL overlay", "2024-02-05T10:00:00Z");
    assert_eq!(release_and_changelog(&w).0, "Release:        3%{?dist}");

    // The upstream pin moves: the count restarts, and the downstream
    // entries of the old pin give way to upstream's changelog.
    up.commit(
        &[("alpha.conf", Some("setting = 2\n"))],
        "new setting",
        "2024-03-01T00:00:00Z",
    );
    w.ok(&["lock", "update", "alpha"]);
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        1%{?dist}".into(), INITIAL.into())
    );
    commit_and_check(&w, &distro, "Update alpha", "2024-03-02T10:00:00Z");
    assert_eq!(release_and_changelog(&w).0, "Release:        1%{?dist}");

    // Counting starts again from the pin.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://c.example/")
    ));
    w.ok(&["render"]);
    commit_and_check(&w, &distro, "Third URL", "2024-03-03T10:00:00Z");
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        2%{?dist}".into(), INITIAL.into())
    );
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://d.example/")
    ));
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        (
            "Release:        3%{?dist}".into(),
            format!(
                "* Sun Mar 03 2024 Fixture Author <fixture@example.org> - 1.0-2\n- Third URL\n\n{INITIAL}"
            )
        )
    );
}

#[test]
fn autorelease_specs_count_downstream_changes() {
    let w = World::new();
    let up = Repo::init(w.root.path().join("up").join("alpha"), "main");
    let auto = spec("alpha", "1.0", "1")
        .replace("Release:        1%{?dist}", "Release:        %autorelease")
        .replace(
            "* Mon Jan 01 2024 Fixture Author <fixture@example.org> - 1.0-1\n- Initial\n",
            "%autochangelog\n",
        );
    up.commit(
        &[
            ("alpha.spec", Some(&auto)),
            ("alpha.conf", Some("setting = 1\n")),
            ("sources", Some("SHA512 (alpha-1.0.tar.gz) = 00\n")),
        ],
        "Import",
        "2024-01-01T00:00:00Z",
    );
    up.commit(
        &[("alpha.conf", Some("setting = 2\n"))],
        "Upstream fix",
        "2024-01-02T00:00:00Z",
    );
    w.config(&upstream_component("alpha"));
    let distro = Repo::init(w.distro(), "main");
    w.ok(&["render"]);
    distro.commit(&[], "Add alpha", "2024-02-01T10:00:00Z");
    let number = |w: &World| {
        w.read("specs/a/alpha/alpha.spec")
            .lines()
            .find_map(|l| l.trim().strip_prefix("release_number = ").map(str::to_owned))
            .expect("rpmautospec block")
    };
    assert_eq!(number(&w), "2;");
    // A downstream patch overlay: upstream's count + 1.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://a.example/")
    ));
    w.ok(&["render"]);
    assert_eq!(number(&w), "3;");
    distro.commit(&[], "Our URL", "2024-02-02T10:00:00Z");
    let out = w.ok(&["render", "--check"]);
    assert!(out.contains("0 drifted"), "{out}");
    // The next change brings the entry of the first, in rpmautospec's form
    // above upstream's entries.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://b.example/")
    ));
    w.ok(&["render"]);
    assert_eq!(number(&w), "4;");
    let text = w.read("specs/a/alpha/alpha.spec");
    let changelog = text
        .split("## START: Generated by rpmautospec\n")
        .nth(1)
        .expect("changelog");
    assert!(
        changelog.starts_with(
            "* Fri Feb 02 2024 Fixture Author <fixture@example.org> - 1.0-3\n- Our URL\n\n\
             * Tue Jan 02 2024 Fixture Author <fixture@example.org> - 1.0-2\n- Upstream fix\n"
        ),
        "{changelog}"
    );
}

#[test]
fn local_components_bump_unless_manual() {
    let w = World::new();
    w.write("components/gamma/gamma.spec", &spec("gamma", "0.1", "4"));
    w.write("components/gamma/gamma.conf", "g\n");
    let local = "[components.gamma]\nspec = { type = \"local\", path = \"components/gamma/gamma.spec\" }\n";
    let distro_wide = "[default-component-config]\n[[default-component-config.overlays]]\ntype = \"spec-set-tag\"\ntag = \"BugURL\"\nvalue = \"https://bugs.example/\"\n";
    w.config(local);
    let distro = Repo::init(w.distro(), "main");
    w.ok(&["render"]);
    distro.commit(&[], "Add gamma", "2024-02-01T10:00:00Z");
    let release = |w: &World| {
        w.read("specs/g/gamma/gamma.spec")
            .lines()
            .find(|l| l.starts_with("Release:"))
            .expect("Release")
            .to_owned()
    };
    assert_eq!(release(&w), "Release:        4%{?dist}");
    // A distro-wide overlay changes the package: bumped.
    w.config(&format!("{distro_wide}{local}"));
    w.ok(&["render"]);
    assert_eq!(release(&w), "Release:        5%{?dist}");
    distro.commit(&[], "Bug URL everywhere", "2024-02-02T10:00:00Z");
    assert!(w.ok(&["render", "--check"]).contains("0 drifted"));
    // The author sets Release in the spec: their number, no bump on top.
    w.write("components/gamma/gamma.spec", &spec("gamma", "0.1", "6"));
    w.ok(&["render"]);
    assert_eq!(release(&w), "Release:        6%{?dist}");
    distro.commit(&[], "gamma 0.1-6", "2024-02-03T10:00:00Z");
    assert!(w.ok(&["render", "--check"]).contains("0 drifted"));
    // `manual`: never bumped.
    w.config(&format!(
        "{distro_wide}{local}release = {{ calculation = \"manual\" }}\n[[components.gamma.overlays]]\ntype = \"spec-set-tag\"\ntag = \"URL\"\nvalue = \"https://g.example/\"\n"
    ));
    w.ok(&["render"]);
    assert_eq!(release(&w), "Release:        6%{?dist}");
}

#[test]
fn a_pin_moved_by_lock_update_alone_is_not_a_downstream_change() {
    let w = World::new();
    let up = w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let distro = Repo::init(w.distro(), "main");
    w.ok(&["render"]);
    distro.commit(&[], "Add alpha", "2024-02-01T10:00:00Z");
    up.commit(
        &[("alpha.conf", Some("setting = 2\n"))],
        "new setting",
        "2024-03-01T00:00:00Z",
    );
    // `lock update` committed without rendering: the lock keeps the old
    // fingerprint, so the render that follows is part of the pin move.
    w.ok(&["lock", "update", "alpha"]);
    distro.commit(&[], "Update alpha's pin", "2024-03-02T10:00:00Z");
    w.ok(&["render"]);
    assert_eq!(release_and_changelog(&w).0, "Release:        1%{?dist}");
    distro.commit(&[], "Render alpha", "2024-03-02T11:00:00Z");
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        1%{?dist}".into(), INITIAL.into())
    );
    // The next change counts.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://a.example/")
    ));
    w.ok(&["render"]);
    distro.commit(&[], "Our URL", "2024-03-03T10:00:00Z");
    w.ok(&["render"]);
    assert_eq!(release_and_changelog(&w).0, "Release:        2%{?dist}");
}

#[test]
fn static_and_manual_leave_release_alone_and_unparseable_release_is_an_error() {
    let w = World::new();
    w.upstream("alpha");
    let beta = Repo::init(w.root.path().join("up").join("beta"), "main");
    beta.commit(
        &[
            ("beta.spec", Some(&spec("beta", "1.0", "%{rel}"))),
            ("beta.conf", Some("b\n")),
        ],
        "import",
        "2024-01-01T00:00:00Z",
    );
    let static_alpha = format!(
        "{}release = {{ calculation = \"static\" }}\n",
        upstream_component("alpha")
    );
    w.config(&format!("{static_alpha}{}", upstream_component("beta")));
    let distro = Repo::init(w.distro(), "main");
    // No downstream change yet: any Release form renders as upstream wrote it.
    w.ok(&["render"]);
    distro.commit(&[], "Add alpha and beta", "2024-02-01T10:00:00Z");
    w.ok(&["render"]);
    // A downstream change to beta needs a bump its Release cannot take.
    w.config(&format!(
        "{static_alpha}{}[[components.beta.overlays]]\ntype = \"spec-set-tag\"\ntag = \"URL\"\nvalue = \"https://b.example/\"\n",
        upstream_component("beta")
    ));
    let out = w.fails(&["render"]);
    assert!(out.contains("1 failed"), "{out}");
    assert!(out.contains("Release: %{rel}%{?dist}"), "{out}");
    assert!(out.contains("release.calculation = \"manual\""), "{out}");
    // `static`: downstream changes do not bump.
    w.config(&format!(
        "{static_alpha}{}{}release = {{ calculation = \"manual\" }}\n",
        url_overlay("https://a.example/"),
        upstream_component("beta")
    ));
    w.ok(&["render"]);
    distro.commit(&[], "Our URL", "2024-02-02T10:00:00Z");
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        1%{?dist}".into(), INITIAL.into())
    );
    assert!(
        w.read("specs/b/beta/beta.spec")
            .contains("Release:        %{rel}%{?dist}\n")
    );
}

#[test]
fn diff_warns_when_content_changes_but_the_nvr_does_not() {
    let w = World::new();
    w.upstream("alpha");
    let manual = format!(
        "{}release = {{ calculation = \"manual\" }}\n",
        upstream_component("alpha")
    );
    w.config(&manual);
    let distro = Repo::init(w.distro(), "main");
    w.ok(&["render"]);
    distro.commit(&[], "Add alpha", "2024-02-01T10:00:00Z");
    distro.git(&["tag", "base"], "2024-02-01T10:00:00Z");
    w.config(&format!("{manual}{}", url_overlay("https://a.example/")));
    w.ok(&["render"]);
    distro.commit(&[], "Our URL", "2024-02-02T10:00:00Z");
    let out = w.azldev(&["diff", "base", "HEAD", "--format", "stat"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: the package content changed but its NVR did not (alpha-1.0-1%{?dist})"),
        "{text}"
    );
    // With `auto` the release moves (counting every content change since
    // the pin, the one made under `manual` too), and there is nothing to
    // warn about.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://b.example/")
    ));
    w.ok(&["render"]);
    distro.commit(&[], "Auto releases", "2024-02-03T10:00:00Z");
    let out = w.azldev(&["diff", "base", "HEAD", "--format", "stat"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Release: 1%{?dist} → 3%{?dist}"), "{text}");
    assert!(!text.contains("NVR did not"), "{text}");
}

#[test]
fn render_refuses_what_rpm_refuses_with_file_line_and_column() {
    let w = World::new();
    let good = spec("gamma", "0.1", "1");
    // An unterminated `%if` and a second `Source0`.
    let broken = good
        .replace(
            "Source1:        gamma.conf\n",
            "Source1:        gamma.conf\nSource0:        other.tar.gz\n",
        )
        .replace("%check\n", "%if 0%{?with_tests}\n%check\n");
    w.write("components/gamma/gamma.spec", &broken);
    w.write("components/gamma/gamma.conf", "g\n");
    w.config("[components.gamma]\nspec = { type = \"local\", path = \"components/gamma/gamma.spec\" }\n");
    let out = w.azldev(&["render"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("components/gamma/gamma.spec:8:1: "), "{err}");
    assert!(err.contains("Source0"), "{err}");
    assert!(err.contains("components/gamma/gamma.spec:22:1: "), "{err}");
    assert!(err.contains("%if"), "{err}");
    assert!(!w.distro().join("specs/g/gamma").exists(), "nothing published");
    // A Patch0 whose file exists nowhere.
    let missing = good.replace(
        "Source1:        gamma.conf\n",
        "Source1:        gamma.conf\nPatch0:         gamma-fix.patch\n",
    );
    w.write("components/gamma/gamma.spec", &missing);
    let out = w.azldev(&["render"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("components/gamma/gamma.spec:8:17: Patch0 `gamma-fix.patch` exists nowhere"),
        "{err}"
    );
    // With the patch beside the spec it renders, and publishes the patch.
    w.write("components/gamma/gamma-fix.patch", "--- a\n+++ b\n");
    w.ok(&["render"]);
    assert!(w.distro().join("specs/g/gamma/gamma-fix.patch").is_file());
}

/// The demo distro copied into a temporary directory (its upstreams
/// generated there), rendered with an extra overlay file for libgreet.
#[test]
fn removing_check_keeps_the_ldconfig_scriptlets_of_libgreet() {
    let root = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("cache");
    let src = azldev_e2e::demo::workspace_root();
    std::fs::copy(src.join("distro.toml"), root.path().join("distro.toml")).expect("distro.toml");
    for dir in ["components", "overlays", "locks"] {
        azldev_e2e::copy_tree(&src.join(dir), &root.path().join(dir));
    }
    azldev_e2e::demo::generate(
        &azldev_e2e::demo::default_fixtures(),
        &root.path().join("target/demo-upstreams"),
    )
    .expect("generate the demo upstreams");
    std::fs::create_dir_all(root.path().join("overlays/libgreet")).expect("mkdir");
    std::fs::write(
        root.path().join("overlays/libgreet/no-check.overlay.toml"),
        "[metadata]\ncategory = \"azl-temp-workaround\"\nupstream-status = \"inapplicable\"\n\n\
         [[overlays]]\ndescription = \"No tests\"\ntype = \"spec-remove-section\"\nsection = \"%check\"\n",
    )
    .expect("overlay");
    let out = assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .current_dir(root.path())
        .env("AZLDEV_CACHE_DIR", cache.path())
        .args(["render", "libgreet"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spec = std::fs::read_to_string(root.path().join("specs/l/libgreet/libgreet.spec")).expect("spec");
    assert!(!spec.lines().any(|l| l == "%check"), "{spec}");
    assert!(!spec.contains("make check"), "{spec}");
    assert!(
        spec.contains("%make_install PREFIX=%{_prefix} LIBDIR=%{_libdir} INCLUDEDIR=%{_includedir}\n\n%{?ldconfig_scriptlets}\n\n%files\n"),
        "{spec}"
    );
}

#[test]
fn check_shows_the_drift_as_a_unified_diff() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    w.ok(&["render"]);
    w.write("specs/a/alpha/alpha.conf", "hand edited\n");
    let out = w.azldev(&["render", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "--- a/a/alpha/alpha.conf\n+++ b/a/alpha/alpha.conf\n@@ -1 +1 @@\n-hand edited\n+setting = 1\n"
        ),
        "{text}"
    );
    // A lock left behind (rendered, not written) is drift too, shown as such.
    w.ok(&["render", "alpha"]);
    let lock = w.read("locks/alpha.lock");
    w.write("locks/alpha.lock", &lock.replace("content = ", "# content = "));
    let out = w.azldev(&["render", "--check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let patch = v["components"][0]["patch"].as_str().expect("patch");
    assert!(
        patch.contains("--- a/locks/alpha.lock\n+++ b/locks/alpha.lock\n"),
        "{patch}"
    );
    assert!(patch.contains("-# content = \"sha256:"), "{patch}");
}
