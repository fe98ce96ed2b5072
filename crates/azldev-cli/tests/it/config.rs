//! End-to-end tests of `azldev config …` and `azldev component …`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn azldev(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("azldev").expect("the azldev binary is built with the tests");
    cmd.env_remove("NO_COLOR").arg("--color=never").arg("-C").arg(dir);
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = azldev(dir).args(args).output().expect("azldev runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn azl4() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azl4");
    assert!(
        dir.is_dir(),
        "the test corpus is missing: expected {}",
        dir.display()
    );
    dir
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

const SMALL: &[(&str, &str)] = &[
    (
        "distro.toml",
        "# My distro\nincludes = [\"comps/*.toml\"]\n\n[project]\ndescription = \"small\"\n\n[component-groups.net]\ncomponents = [\"curl\"]\ndefault-component-config = { build = { check = { skip = true, skip_reason = \"network\" } } }\n",
    ),
    (
        "comps/components.toml",
        "# Sorted list.\n\n[components.bash]\n[components.curl]\n[components.zlib]\n",
    ),
    (
        "comps/kernel.toml",
        "[components.kernel]\nrelease = { calculation = \"manual\" }\n\n[[components.kernel.overlays]]\ntype = \"spec-set-tag\"\ntag = \"Vendor\"\nvalue = \"me\"\n",
    ),
];

#[test]
fn check_azl4_is_clean() {
    let r = run(&azl4(), &["config", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("7583 components, 233 overlays"), "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn list_azl4_sees_every_component() {
    let r = run(&azl4(), &["component", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 7583);
    let r = run(&azl4(), &["component", "list", "--format", "json", "kernel*"]);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let kernel = rows["components"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "kernel"))
        .expect("kernel listed");
    assert_eq!(kernel["overlays"], 17);
    assert_eq!(kernel["defined-at"], "base/comps/kernel/kernel.comp.toml:1");
}

#[test]
fn check_reports_every_problem_with_location() {
    let dir = project(&[(
        "distro.toml",
        "[components.a]\nrelase = {}\n\n[[components.b.overlays]]\ntype = \"spec-serch-replace\"\n",
    )]);
    let r = run(dir.path(), &["config", "check"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    for want in [
        "unknown key `relase` in `components.a`",
        "[distro.toml:2:1]",
        "did you mean `release`?",
        "`spec-serch-replace` is not a valid value for `type`",
        "[distro.toml:5:8]",
        "did you mean `spec-search-replace`?",
        "the configuration has 2 problems",
    ] {
        assert!(r.stderr.contains(want), "missing {want:?} in:\n{}", r.stderr);
    }
}

#[test]
fn no_root_file_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = run(dir.path(), &["config", "check"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no distro.toml or azldev.toml found"),
        "{}",
        r.stderr
    );
}

#[test]
fn dump_and_schema() {
    let dir = project(SMALL);
    let r = run(dir.path(), &["config", "dump", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["project"]["description"], "small");
    assert!(v["components"]["kernel"]["overlays"].is_array());
    let r = run(dir.path(), &["config", "dump"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("[components.bash]"), "{}", r.stdout);

    let r = run(dir.path(), &["config", "schema"]);
    let schema: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert!(schema["$defs"]["Overlay"].is_object());
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../azldev-config/azldev.schema.json"),
    )
    .expect("committed schema");
    assert_eq!(r.stdout, committed);
}

#[test]
fn show_with_provenance() {
    let dir = project(SMALL);
    let r = run(dir.path(), &["component", "show", "curl"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("# groups: net"), "{}", r.stdout);
    assert!(r.stdout.contains("skip = true  # distro.toml:9"), "{}", r.stdout);
    let r = run(dir.path(), &["component", "show", "kernel", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["overlays"][0]["from"], "comps/kernel.toml:4");
    assert_eq!(v["provenance"]["release.calculation"], "comps/kernel.toml:2");
    let r = run(dir.path(), &["component", "show", "krenel"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("did you mean `kernel`?"), "{}", r.stderr);
}

#[test]
fn add_then_remove_is_byte_identical() {
    let dir = project(SMALL);
    let file = dir.path().join("comps/components.toml");
    let before = std::fs::read_to_string(&file).expect("read");
    let r = run(
        dir.path(),
        &[
            "component",
            "add",
            "coreutils",
            "--upstream-name",
            "coreutils-single",
            // No upstream distro in this project: nothing to check against.
            "--no-verify",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        after,
        "# Sorted list.\n\n[components.bash]\n[components.coreutils]\nspec = { type = \"upstream\", upstream-name = \"coreutils-single\" }\n[components.curl]\n[components.zlib]\n"
    );
    assert!(
        r.stderr
            .contains("added component `coreutils` at comps/components.toml:4"),
        "{}",
        r.stderr
    );
    let r = run(dir.path(), &["component", "list", "c*"]);
    assert_eq!(r.stdout.lines().count(), 2);

    let r = run(dir.path(), &["component", "remove", "coreutils"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), before);
}

#[test]
fn add_rejects_bad_input_and_keeps_files() {
    let dir = project(SMALL);
    let r = run(dir.path(), &["component", "add", "curl"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("already exists (defined at comps/components.toml:4:1)"),
        "{}",
        r.stderr
    );
    let r = run(dir.path(), &["component", "add", "x", "--file", "elsewhere.toml"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not part of the configuration"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("elsewhere.toml").exists());
    let r = run(
        dir.path(),
        &["component", "add", "x", "--upstream-commit", "main"],
    );
    assert_eq!(r.code, 2);
    // A new file matched by an include is fine.
    let r = run(
        dir.path(),
        &[
            "component",
            "add",
            "newpkg",
            "--file",
            "comps/new.toml",
            "--no-verify",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("comps/new.toml")).expect("new file"),
        "[components.newpkg]\n"
    );
}

#[test]
fn remove_refuses_to_break_references() {
    let dir = project(SMALL);
    let file = dir.path().join("comps/components.toml");
    let before = std::fs::read_to_string(&file).expect("read");
    let r = run(dir.path(), &["component", "remove", "curl"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("component group `net` lists `curl`"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), before);

    let r = run(dir.path(), &["component", "remove", "kernel"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Nothing but comments would be left: the file goes (a glob includes it).
    assert!(
        r.stderr
            .contains("removed comps/kernel.toml (nothing left in it)"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("comps/kernel.toml").exists());
}
