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

#[test]
fn downstream_commits_bump_the_release_until_the_pin_moves() {
    let w = World::new();
    let up = w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let distro = Repo::init(w.distro(), "main");
    w.ok(&["render"]);
    distro.commit(&[], "Add alpha", "2024-02-01T10:00:00Z");
    let (release, changelog) = release_and_changelog(&w);
    assert_eq!(release, "Release:        1%{?dist}");
    assert_eq!(changelog, INITIAL);

    // An uncommitted overlay change: +1, no changelog entry yet.
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

    // Committed: the same release, now with its entry (`%` escaped). The
    // fingerprint is unchanged, yet the render is not skipped.
    distro.commit(&[], "Point URL at 100% ours\n\nBody.", "2024-02-02T10:00:00Z");
    let out = w.ok(&["render"]);
    assert!(out.contains("1 rendered"), "{out}");
    let first =
        "* Fri Feb 02 2024 Fixture Author <fixture@example.org> - 1.0-2\n- Point URL at 100%% ours\n\n";
    assert_eq!(
        release_and_changelog(&w),
        ("Release:        2%{?dist}".into(), format!("{first}{INITIAL}"))
    );
    // Rendering again changes nothing.
    let out = w.ok(&["render"]);
    assert!(out.contains("0 rendered, 1 unchanged"), "{out}");
    distro.commit(&[], "Render alpha", "2024-02-02T11:00:00Z");

    // A second overlay change, committed with its render.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://b.example/")
    ));
    w.ok(&["render"]);
    distro.commit(&[], "Move URL", "2024-02-03T10:00:00Z");
    w.ok(&["render"]);
    let second = "* Sat Feb 03 2024 Fixture Author <fixture@example.org> - 1.0-3\n- Move URL\n\n";
    assert_eq!(
        release_and_changelog(&w),
        (
            "Release:        3%{?dist}".into(),
            format!("{second}{first}{INITIAL}")
        )
    );
    // A commit that does not change alpha's inputs does not count.
    distro.commit(&[("README.md", Some("Demo\n"))], "Readme", "2024-02-04T10:00:00Z");
    let out = w.ok(&["render"]);
    assert!(out.contains("0 rendered, 1 unchanged"), "{out}");
    assert_eq!(release_and_changelog(&w).0, "Release:        3%{?dist}");
    // `--check` agrees with what is on disk.
    w.ok(&["render", "--check"]);

    // The upstream pin moves (uncommitted): the count resets.
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
    distro.commit(&[], "Update alpha", "2024-03-02T10:00:00Z");
    w.ok(&["render"]);
    assert_eq!(release_and_changelog(&w).0, "Release:        1%{?dist}");

    // Counting starts again from the pin.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        url_overlay("https://c.example/")
    ));
    w.ok(&["render"]);
    distro.commit(&[], "Third URL", "2024-03-03T10:00:00Z");
    w.ok(&["render"]);
    assert_eq!(
        release_and_changelog(&w),
        (
            "Release:        2%{?dist}".into(),
            format!(
                "* Sun Mar 03 2024 Fixture Author <fixture@example.org> - 1.0-2\n- Third URL\n\n{INITIAL}"
            )
        )
    );
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
        &[("beta.spec", Some(&spec("beta", "1.0", "%{rel}")))],
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
