//! End-to-end tests of `azldev build --plan` and `azldev query` on the
//! demo distro: rendered in memory, evaluated by the real rpmspec, planned.
//!
//! The demo distro is copied into a temporary directory with its upstreams
//! generated there, so edits (a removed `-devel` package, a cycle, a
//! bootstrap declaration) never touch the repository's own files.

use std::process::Output;

use serde_json::Value;

struct Demo {
    root: tempfile::TempDir,
    cache: tempfile::TempDir,
}

use azldev_e2e::copy_tree;

impl Demo {
    fn new() -> Demo {
        let root = tempfile::tempdir().expect("tempdir");
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
        Demo {
            root,
            cache: tempfile::tempdir().expect("cache"),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        assert_cmd::Command::cargo_bin("azldev")
            .expect("azldev binary")
            .current_dir(self.root.path())
            .env("AZLDEV_CACHE_DIR", self.cache.path())
            .env_remove("AZLDEV_JOBS")
            .args(args)
            .output()
            .expect("runs")
    }

    /// Run, expect `code`, return stdout.
    fn expect(&self, code: i32, args: &[&str]) -> String {
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

    fn json(&self, code: i32, args: &[&str]) -> Value {
        serde_json::from_str(&self.expect(code, args)).expect("JSON")
    }

    fn append(&self, rel: &str, text: &str) {
        let p = self.root.path().join(rel);
        let mut s = std::fs::read_to_string(&p).unwrap_or_default();
        s.push_str(text);
        std::fs::write(p, s).expect("write");
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.path().join(rel), text).expect("write");
    }
}

fn component<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in the plan"))
}

fn position(plan: &Value, name: &str) -> usize {
    plan["order"]
        .as_array()
        .expect("order")
        .iter()
        .position(|w| w.as_array().expect("wave").iter().any(|n| n == name))
        .unwrap_or_else(|| panic!("{name} in the order"))
}

/// What the demo's buildroot provides: the toolchain the specs ask for.
const BUILDROOT: &str = "# demo buildroot\ngcc\nmake\ngawk\ncoreutils\nbash\npython3\nsystemd-rpm-macros\n";

#[test]
fn demo_plan_puts_libgreet_before_greeter() {
    let d = Demo::new();
    d.write("buildroot.txt", BUILDROOT);
    let plan = d.json(
        0,
        &[
            "build",
            "--plan",
            "--format",
            "json",
            "--buildroot-provides",
            "buildroot.txt",
        ],
    );
    assert_eq!(plan["arch"], "x86_64");
    assert_eq!(plan["components"].as_array().expect("components").len(), 14);
    let greeter = component(&plan, "greeter");
    assert_eq!(greeter["depends-on"], serde_json::json!(["libgreet"]));
    assert!(
        greeter["buildrequires"]
            .as_array()
            .expect("br")
            .iter()
            .any(|b| b == "libgreet-devel >= 1.0")
    );
    assert!(position(&plan, "libgreet") < position(&plan, "greeter"));
    assert_eq!(plan["unresolved"], serde_json::json!([]));
    assert_eq!(plan["cycles"], serde_json::json!([]));
    // The whole plan, as a snapshot (every byte is determined by the
    // demo's fixed inputs).
    insta::assert_json_snapshot!("demo_plan_x86_64", plan);

    // Warm: the same bytes again, from the facts cache.
    let again = d.json(
        0,
        &[
            "build",
            "--plan",
            "--format",
            "json",
            "--buildroot-provides",
            "buildroot.txt",
        ],
    );
    assert_eq!(again, plan);

    // Naming greeter plans its build-dependency closure.
    let closure = d.json(0, &["build", "--plan", "greeter", "--format", "json"]);
    let names: Vec<&str> = closure["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["greeter", "libgreet"]);
    assert_eq!(closure["order"], serde_json::json!([["libgreet"], ["greeter"]]));

    let dot = d.expect(0, &["build", "--plan", "greeter", "--format", "dot"]);
    assert!(dot.starts_with("digraph build {"), "{dot}");
    assert!(dot.contains("\"greeter\" -> \"libgreet\";"), "{dot}");

    let text = d.expect(0, &["build", "--plan", "greeter"]);
    assert!(
        text.contains("1. libgreet\n") && text.contains("2. greeter\n"),
        "{text}"
    );
}

#[test]
fn demo_plan_for_both_arches_builds_noarch_once() {
    let d = Demo::new();
    let plans = d.json(0, &["build", "--plan", "-a", "--arch", "all", "--format", "json"]);
    let plans = plans["plans"].as_array().expect("one plan per arch");
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0]["arch"], "x86_64");
    assert_eq!(plans[1]["arch"], "aarch64");
    let wl_x = component(&plans[0], "wordlist");
    let wl_a = component(&plans[1], "wordlist");
    assert_eq!(wl_x["build-arch"], "noarch");
    assert!(wl_x.get("built-for").is_none());
    assert_eq!(wl_a["built-for"], "x86_64");
    // Arch-specific provides follow the arch.
    let lib = component(&plans[1], "libgreet");
    assert!(
        lib["packages"][1]["requires"]
            .as_array()
            .expect("requires")
            .iter()
            .any(|r| r.as_str().is_some_and(|s| s.starts_with("libgreet(aarch-64)")))
    );
    assert!(position(&plans[1], "libgreet") < position(&plans[1], "greeter"));
    let dot = d.expect(0, &["build", "--plan", "--arch", "all", "--format", "dot"]);
    assert!(dot.contains("subgraph \"cluster_aarch64\""), "{dot}");
    assert!(
        dot.contains("\"aarch64/greeter\" -> \"aarch64/libgreet\";"),
        "{dot}"
    );
    let text = d.expect(0, &["build", "--plan", "--arch", "aarch64", "wordlist"]);
    assert!(
        text.starts_with("plan for aarch64: 1 components to build in 1 waves\n"),
        "{text}"
    );
    assert!(text.contains("wordlist (noarch)"), "{text}");
}

#[test]
fn removed_devel_package_leaves_greeter_unresolved() {
    let d = Demo::new();
    d.write("buildroot.txt", BUILDROOT);
    d.append(
        "components/libgreet.comp.toml",
        "\n[[components.libgreet.overlays]]\ndescription = \"Drop the headers\"\ntype = \"spec-remove-subpackage\"\npackage = \"devel\"\n",
    );
    let plan = d.json(
        1,
        &[
            "build",
            "--plan",
            "greeter",
            "--format",
            "json",
            "--buildroot-provides",
            "buildroot.txt",
        ],
    );
    assert_eq!(
        plan["unresolved"],
        serde_json::json!([{"component": "greeter", "requirement": "libgreet-devel >= 1.0", "line": 14}])
    );
    assert_eq!(component(&plan, "greeter")["depends-on"], serde_json::json!([]));
    let text = d.expect(
        1,
        &[
            "build",
            "--plan",
            "greeter",
            "--buildroot-provides",
            "buildroot.txt",
        ],
    );
    assert!(
        text.contains("unresolved: greeter needs `libgreet-devel >= 1.0` (line 14)"),
        "{text}"
    );
    // Without knowing the buildroot, it is taken as external.
    d.expect(0, &["build", "--plan", "greeter"]);
}

#[test]
fn cycle_reported_then_broken_by_bootstrap_prebuilt() {
    let d = Demo::new();
    d.append(
        "components/libgreet.comp.toml",
        "\n[[components.libgreet.overlays]]\ndescription = \"Test suite uses greeter\"\ntype = \"spec-add-tag\"\ntag = \"BuildRequires\"\nvalue = \"greeter\"\n",
    );
    let plan = d.json(1, &["build", "--plan", "greeter", "--format", "json"]);
    assert_eq!(plan["cycles"], serde_json::json!([["greeter", "libgreet"]]));
    assert_eq!(
        plan["cycle-edges"],
        serde_json::json!([{"from": "libgreet", "to": "greeter", "requirement": "greeter"}])
    );
    // Both in one wave.
    assert_eq!(plan["order"], serde_json::json!([["greeter", "libgreet"]]));

    d.append(
        "components/libgreet.comp.toml",
        "\n[components.libgreet.build]\nbootstrap-prebuilt = [\"greeter\", \"not-a-dependency\"]\n",
    );
    let out = d.run(&["build", "--plan", "greeter", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["cycles"], serde_json::json!([]));
    assert_eq!(
        plan["prebuilt"],
        serde_json::json!([{"component": "libgreet", "requirement": "greeter"}])
    );
    assert_eq!(plan["order"], serde_json::json!([["libgreet"], ["greeter"]]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("components/libgreet.comp.toml:")
            && stderr.contains("`bootstrap-prebuilt` names `not-a-dependency`"),
        "{stderr}"
    );

    // A malformed entry is a configuration error with its position.
    d.append(
        "components/greeter.comp.toml",
        "\n[components.greeter.build]\nbootstrap-prebuilt = [\"gcc >= 2\"]\n",
    );
    let out = d.run(&["build", "--plan"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("greeter.comp.toml:") && stderr.contains("is not a capability name"),
        "{stderr}"
    );
}

#[test]
fn queries() {
    let d = Demo::new();
    let wp = d.json(
        0,
        &[
            "query",
            "whatprovides",
            "libgreet-devel >= 1.0",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        wp["providers"],
        serde_json::json!([{"component": "libgreet", "package": "libgreet-devel", "provide": "libgreet-devel = 1.0-2.demo1"}])
    );
    let none = d.json(
        1,
        &[
            "query",
            "whatprovides",
            "libgreet-devel",
            ">=",
            "9",
            "--format",
            "json",
        ],
    );
    assert_eq!(none["providers"], serde_json::json!([]));
    let text = d.expect(0, &["query", "whatprovides", "system-release"]);
    assert!(
        text.contains("demo-release (demo-release) provides `system-release`"),
        "{text}"
    );

    let req = d.json(0, &["query", "requires", "greeter", "--format", "json"]);
    let br = req["buildrequires"].as_array().expect("br");
    let devel = br
        .iter()
        .find(|r| r["requirement"] == "libgreet-devel >= 1.0")
        .expect("devel");
    assert_eq!(devel["resolution"], "in-distro");
    assert_eq!(devel["line"], 14);
    assert_eq!(devel["providers"][0]["package"], "libgreet-devel");
    let pkg = d.json(
        0,
        &[
            "query",
            "requires",
            "libgreet-devel",
            "--arch",
            "aarch64",
            "--format",
            "json",
        ],
    );
    assert_eq!(pkg["component"], "libgreet");
    assert_eq!(
        pkg["requires"][0]["requirement"],
        "libgreet(aarch-64) = 1.0-2.demo1"
    );
    assert_eq!(pkg["requires"][0]["providers"][0]["package"], "libgreet");

    let rd = d.json(0, &["query", "rdeps", "libgreet-devel", "--format", "json"]);
    assert_eq!(rd["component"], "libgreet");
    assert_eq!(
        rd["rdeps"],
        serde_json::json!([{"name": "greeter", "distance": 1}])
    );
    let rd = d.json(
        0,
        &["query", "rdeps", "greeter", "--arch", "all", "--format", "json"],
    );
    assert_eq!(rd.as_array().expect("per arch").len(), 2);
    assert_eq!(rd[0]["rdeps"], serde_json::json!([]));

    let out = d.run(&["query", "rdeps", "no-such-thing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no component or package `no-such-thing`"));
}

#[test]
fn unknown_names_are_errors() {
    let d = Demo::new();
    let out = d.run(&["build", "--plan", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no component named `nope`"));
}

#[test]
fn diff_and_render_warn_when_a_removed_devel_package_leaves_a_buildrequires_unprovided() {
    let d = Demo::new();
    let date = "2025-06-01T00:00:00Z";
    // The distro repository: everything but the generated upstreams, with
    // its rendered tree.
    d.expect(0, &["render", "-q"]);
    d.write(".gitignore", "/target/\n");
    azldev_e2e::git(d.root.path(), &["init", "-q", "-b", "main"], date);
    azldev_e2e::git(d.root.path(), &["add", "-A"], date);
    azldev_e2e::git(d.root.path(), &["commit", "-q", "-m", "demo"], date);
    // A change that does not remove a package: no warning.
    let out = d.run(&["diff", "--format", "stat"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("BuildRequires"));
    d.append(
        "components/libgreet.comp.toml",
        "\n[[components.libgreet.overlays]]\ndescription = \"Drop the headers\"\ntype = \"spec-remove-subpackage\"\npackage = \"devel\"\n",
    );
    let out = d.run(&["diff", "--format", "stat"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: greeter BuildRequires `libgreet-devel >= 1.0` (line 14): this change removes libgreet-devel (from libgreet) and nothing else in the distro provides it"
        ),
        "{stderr}"
    );
    // render says the same when it rewrites libgreet without the package
    // the committed tree had.
    let out = d.run(&["render"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: greeter BuildRequires `libgreet-devel >= 1.0` (line 14): this change removes libgreet-devel (from libgreet)"
        ),
        "{stderr}"
    );
    // Once rendered, a render that changes nothing says nothing.
    let out = d.run(&["render"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning:"));
}
