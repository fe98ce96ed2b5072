//! End-to-end tests of `azldev diff` on a fixture distro repository with a
//! series of commits, one change each: overlay added, component added,
//! removed and renamed, upstream pin moved, build option changed, a change
//! with no effect on the output, a change that breaks a component. Every
//! format is snapshotted; commit ids are redacted.

use std::process::Output;

use azldev_e2e::{Repo, spec};

use super::{World, upstream_component};

/// The fixture: a distro repository whose tags name each step.
struct Fixture {
    w: World,
    repo: Repo,
}

const ALPHA_OVERLAY: &str = "[[components.alpha.overlays]]\ndescription = \"bump the release\"\ntype = \"spec-update-tag\"\ntag = \"Release\"\nvalue = \"2%{?dist}\"\n";

fn local_component() -> &'static str {
    "[components.delta]\nspec = { type = \"local\", path = \"components/delta/delta.spec\" }\n"
}

impl Fixture {
    fn components(&self, parts: &[&str]) {
        self.w.config(&parts.concat());
    }

    fn step(&self, tag: &str, date: &str) {
        self.repo.commit(&[], tag, date);
        self.repo.git(&["tag", tag], date);
    }

    fn new() -> Fixture {
        let w = World::new();
        w.upstream("alpha");
        w.upstream("beta");
        w.upstream("gamma");
        w.write("components/delta/delta.spec", &spec("delta", "0.1", "1"));
        w.write("components/delta/delta.conf", "d\n");
        let gamma = upstream_component("gamma");
        let beta = upstream_component("beta");
        let alpha = upstream_component("alpha");
        w.config(&[alpha.as_str(), &beta, &gamma, local_component()].concat());
        let repo = Repo::init(w.distro(), "main");
        let f = Fixture { w, repo };
        // The author renders and commits pins and specs.
        f.w.ok(&["render"]);
        f.step("base", "2024-03-01T00:00:00Z");

        // An overlay on alpha.
        f.components(&[&alpha, ALPHA_OVERLAY, &beta, &gamma, local_component()]);
        f.step("overlay", "2024-03-02T00:00:00Z");

        // A new component, committed without rendering (no lock file).
        f.w.upstream("epsilon");
        let epsilon = upstream_component("epsilon");
        f.components(&[&alpha, ALPHA_OVERLAY, &beta, &epsilon, &gamma, local_component()]);
        f.step("add", "2024-03-03T00:00:00Z");

        // beta removed.
        f.components(&[&alpha, ALPHA_OVERLAY, &epsilon, &gamma, local_component()]);
        f.step("remove", "2024-03-04T00:00:00Z");

        // gamma renamed to gamma2 (same upstream package).
        let gamma2 = "[components.gamma2]\nspec = { type = \"upstream\", upstream-name = \"gamma\", upstream-distro = { name = \"up\", version = \"1\" } }\n";
        f.components(&[&alpha, ALPHA_OVERLAY, &epsilon, gamma2, local_component()]);
        f.step("rename", "2024-03-05T00:00:00Z");

        // alpha's upstream moves; the pin follows (`lock update`).
        let up = Repo {
            dir: f.w.root.path().join("up/alpha"),
        };
        up.commit(
            &[
                (
                    "alpha.spec",
                    Some(
                        &spec("alpha", "1.1", "1")
                            .replace("Source1:", "Patch0:         alpha-fix.patch\nSource1:"),
                    ),
                ),
                ("alpha-fix.patch", Some("--- a/x\n+++ b/x\n")),
            ],
            "update to 1.1",
            "2024-03-06T00:00:00Z",
        );
        f.w.ok(&["lock", "update", "alpha"]);
        f.step("pin", "2024-03-06T00:00:00Z");

        // A build option on the local component.
        let delta_with = "[components.delta.build]\nwith = [\"tests\"]\ncheck = { skip = true, skip_reason = \"needs network\" }\n";
        f.components(&[
            &alpha,
            ALPHA_OVERLAY,
            &epsilon,
            gamma2,
            local_component(),
            delta_with,
        ]);
        f.step("build-option", "2024-03-07T00:00:00Z");

        // No effect on the output: an overlay's description and a comment.
        let described = ALPHA_OVERLAY.replace("bump the release", "bump the release (rebuild)");
        f.components(&[
            "# Components.\n",
            &alpha,
            &described,
            &epsilon,
            gamma2,
            local_component(),
            delta_with,
        ]);
        f.step("no-effect", "2024-03-08T00:00:00Z");

        // An overlay that cannot apply breaks gamma2.
        let broken = "[[components.gamma2.overlays]]\ndescription = \"drop docs\"\ntype = \"spec-remove-section\"\nsection = \"%files\"\npackage = \"docs\"\n";
        f.components(&[
            "# Components.\n",
            &alpha,
            &described,
            &epsilon,
            gamma2,
            broken,
            local_component(),
            delta_with,
        ]);
        f.step("break", "2024-03-09T00:00:00Z");
        f
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String) {
        let out: Output = self.w.azldev(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // 2 with a report: a component fails to render (the report says
        // which); 2 without one: the command itself failed.
        assert!(
            out.status.code() != Some(2) || !out.stdout.is_empty(),
            "azldev {args:?} failed:\n{stderr}"
        );
        (
            out.status.code(),
            self.redact(&String::from_utf8_lossy(&out.stdout)),
        )
    }

    /// Replace the distro repository's commit ids with their tags.
    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for tag in [
            "base",
            "overlay",
            "add",
            "remove",
            "rename",
            "pin",
            "build-option",
            "no-effect",
            "break",
        ] {
            let id = self.repo.git(
                &["rev-parse", &format!("{tag}^{{commit}}")],
                "2024-01-01T00:00:00Z",
            );
            text = text.replace(&id, &format!("<{tag}>"));
        }
        text
    }
}

#[test]
fn each_kind_of_change() {
    let f = Fixture::new();
    let status_before = f.repo.git(&["status", "--porcelain"], "2024-01-01T00:00:00Z");
    let steps = [
        ("base", "overlay", 1),
        ("overlay", "add", 1),
        ("add", "remove", 1),
        ("remove", "rename", 1),
        ("rename", "pin", 1),
        ("pin", "build-option", 1),
        ("build-option", "no-effect", 0),
        // A component that fails to render is a failure, not a difference.
        ("no-effect", "break", 2),
    ];
    let mut all = String::new();
    for (a, b, code) in steps {
        let (got, unified) = f.run(&["diff", a, b]);
        assert_eq!(got, Some(code), "{a}..{b}:\n{unified}");
        let (_, stat) = f.run(&["diff", a, b, "--format", "stat"]);
        all.push_str(&format!("==== {a} → {b} (exit {code})\n{stat}\n{unified}\n"));
    }
    insta::assert_snapshot!("each_step", all);
    // Nothing was checked out or written.
    assert_eq!(
        f.repo.git(&["status", "--porcelain"], "2024-01-01T00:00:00Z"),
        status_before
    );
}

#[test]
fn every_format_over_the_whole_series() {
    let f = Fixture::new();
    let (code, unified) = f.run(&["diff", "base", "break"]);
    assert_eq!(code, Some(2), "gamma2 fails to render at `break`");
    insta::assert_snapshot!("series_unified", unified);
    let (_, stat) = f.run(&["diff", "base", "break", "--format", "stat"]);
    insta::assert_snapshot!("series_stat", stat);
    let (_, markdown) = f.run(&["diff", "base", "break", "--format", "markdown"]);
    insta::assert_snapshot!("series_markdown", markdown);
    let (_, json) = f.run(&["diff", "base", "break", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["summary"]["changed"], 2, "{json}");
    assert_eq!(v["components"][0]["name"], "alpha");
    insta::assert_snapshot!("series_json", json);
    // Same bytes for any number of threads.
    assert_eq!(
        f.run(&["diff", "base", "break", "--format", "json", "-j", "1"]).1,
        json
    );
    let (_, names) = f.run(&["diff", "base", "break", "--name-only"]);
    assert_eq!(names, "alpha\nbeta\ndelta\nepsilon\ngamma\ngamma2\n");

    // Truncation, and a project's own template.
    let (_, short) = f.run(&[
        "diff",
        "base",
        "break",
        "--format",
        "markdown",
        "--max-lines",
        "6",
    ]);
    insta::assert_snapshot!("series_markdown_truncated", short);
    f.w.write(
        "../review.md.j2",
        "{{ summary_line }}\n{% for c in components %}\n- {{ c.name }}: {{ c.status }} {{ c.notes | join(\"; \") }}\n{% endfor %}\n",
    );
    let template = f.w.root.path().join("review.md.j2");
    let (_, custom) = f.run(&[
        "diff",
        "base",
        "break",
        "--format",
        "markdown",
        "--template",
        template.to_str().expect("utf-8"),
    ]);
    insta::assert_snapshot!("series_markdown_template", custom);

    // --output writes the report and nothing to stdout; colour only when asked.
    let (_, nothing) = f.run(&["diff", "base", "overlay", "--output", "../report.diff"]);
    assert_eq!(nothing, "");
    let written = std::fs::read_to_string(f.w.root.path().join("report.diff")).expect("report");
    assert_eq!(written, f.run(&["diff", "base", "overlay"]).1);
    assert!(!written.contains('\x1b'));
    let (_, coloured) = f.run(&["diff", "base", "overlay", "--color", "always"]);
    // The overlay sets 2; committed without re-rendering its lock, it is
    // one downstream change on top (`release.calculation = "auto"`).
    assert!(
        coloured.contains("\x1b[32m+Release:        3%{?dist}\x1b[m"),
        "{coloured:?}"
    );
}

#[test]
fn working_tree_against_the_merge_base() {
    let f = Fixture::new();
    f.repo.git(
        &["checkout", "-q", "-b", "feature", "pin"],
        "2024-04-01T00:00:00Z",
    );
    // The feature branch has a commit of its own, and an uncommitted change.
    f.repo.commit(
        &[("components/delta/delta.conf", Some("e\n"))],
        "conf",
        "2024-04-02T00:00:00Z",
    );
    f.w.write("components/delta/delta.spec", &spec("delta", "0.2", "1"));
    let (code, stat) = f.run(&["diff", "--format", "stat"]);
    assert_eq!(code, Some(1));
    // Base: the merge base of the branch with main (`pin`), not main's tip
    // (which has more changes).
    assert_eq!(
        stat,
        "delta  changed   +3 -3  2 files (2 modified)\n    Version: 0.1 → 0.2\n1 of 4 components differ: 1 changed; 2 files, +3 -3\n"
    );
    let (_, json) = f.run(&["diff", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["base"]["label"], "main (merge base)");
    assert_eq!(v["head"]["label"], "working tree");
    // The working tree is left as it was.
    assert_eq!(f.w.read("components/delta/delta.spec"), spec("delta", "0.2", "1"));
    // A revision and the working tree: identical → exit 0.
    f.repo.commit(&[], "spec", "2024-04-03T00:00:00Z");
    let (code, out) = f.run(&["diff", "HEAD"]);
    assert_eq!((code, out.as_str()), (Some(0), ""));
}

#[test]
fn errors_exit_2() {
    let f = Fixture::new();
    let out = f.w.azldev(&["diff", "no-such-rev", "base"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-rev"));
    // A configuration that does not load at one side.
    f.w.write("distro.toml", "[components.x\n");
    let out = f.w.azldev(&["diff", "base"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid TOML") && err.contains("working tree"),
        "{err}"
    );
}

#[test]
fn without_committed_pins_only_changed_components_render() {
    // Pins are not committed (no lock files on either side): components whose
    // inputs are equal are still not rendered, and one that cannot render on
    // either side for the same reason is not reported.
    let w = World::new();
    w.upstream("alpha");
    w.upstream("beta");
    let ghost = "[components.ghost]\nspec = { type = \"upstream\", upstream-name = \"missing\", upstream-distro = { name = \"up\", version = \"1\" } }\n";
    let (alpha, beta) = (upstream_component("alpha"), upstream_component("beta"));
    w.config(&[alpha.as_str(), &beta, ghost].concat());
    let repo = Repo::init(w.distro(), "main");
    repo.commit(&[], "one", "2024-05-01T00:00:00Z");
    w.config(&[alpha.as_str(), ALPHA_OVERLAY, &beta, ghost].concat());
    repo.commit(&[], "two", "2024-05-02T00:00:00Z");
    let out = w.azldev(&["diff", "HEAD~1", "HEAD", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["summary"]["rendered"], 2, "alpha on both sides only");
    assert_eq!(v["summary"]["changed"], 1);
    assert_eq!(v["summary"]["unchanged"], 2);
    assert_eq!(v["components"].as_array().map(Vec::len), Some(1));
    // No lock file was written.
    assert!(!w.distro().join("locks").exists());
}
