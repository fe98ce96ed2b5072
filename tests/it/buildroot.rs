//! End-to-end tests of `azldev buildroot show`: on the azl4 corpus as it is,
//! and on small projects made here.

use std::path::{Path, PathBuf};
use std::process::Output;

fn azl4() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/azl4");
    assert!(
        dir.is_dir(),
        "the test corpus is missing: expected {}",
        dir.display()
    );
    dir
}

fn azldev(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .env_remove("NO_COLOR")
        .arg("--color=never")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = azldev(dir, args);
    assert!(
        out.status.success(),
        "azldev {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Exit status and stderr of a failing run.
fn fails(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = azldev(dir, args);
    assert!(!out.status.success(), "azldev {args:?} should fail");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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

#[test]
fn show_azl4_default_version_text() {
    let text = ok(&azl4(), &["buildroot", "show", "--arch", "x86_64"]);
    insta::assert_snapshot!("buildroot_show_azl4_stage2_x86_64", text);
}

#[test]
fn show_azl4_stage1_aarch64_json() {
    let text = ok(
        &azl4(),
        &[
            "buildroot",
            "show",
            "--arch",
            "aarch64",
            "--version",
            "4.0-stage1",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["distro"], "azurelinux");
    assert_eq!(v["version"], "4.0-stage1");
    assert_eq!(v["arch"], "aarch64");
    assert_eq!(v["mock-config-key"], "mock-config-aarch64");
    assert_eq!(
        v["mock-config-declared-at"],
        "distro/azurelinux.distro.toml:17:23"
    );
    assert_eq!(v["path"], "distro/mock/azl4/stage1/azurelinux-4.0-aarch64.cfg");
    assert_eq!(v["target-arch"]["value"], "aarch64");
    assert_eq!(v["setup-packages"][0]["value"], "@build");
    assert_eq!(
        v["repos"][0]["baseurl"][0],
        "https://kojipkgs.fedoraproject.org/repos/f43-build/latest/aarch64/"
    );
    insta::assert_snapshot!("buildroot_show_azl4_stage1_aarch64_json", text);
}

const DISTRO: &str = "[project]\ndefault-distro = { name = \"demo\" }\n\n\
    [distros.demo]\ndefault-version = \"1\"\n\
    [distros.demo.versions.1]\nrelease-ver = \"1\"\nmock-config-x86_64 = \"mock/demo-x86_64.cfg\"\n";

#[test]
fn project_dir_reaches_the_templates() {
    let p = project(&[
        ("distro.toml", DISTRO),
        (
            "mock/demo-x86_64.cfg",
            "config_opts['target_arch'] = 'x86_64'\n\
             config_opts['releasever'] = '1'\n\
             config_opts['chroot_setup_cmd'] = 'install bash rpm-build'\n\
             config_opts['dnf.conf'] = '''\n[main]\n\n[seed]\nbaseurl=file://{{ project_dir }}/build/seed/$basearch/\ngpgcheck=0\n'''\n",
        ),
    ]);
    let root = p.path().canonicalize().expect("canonical");
    let text = ok(p.path(), &["buildroot", "show", "--arch", "x86_64"]);
    assert!(
        text.contains(&format!("baseurl   file://{}/build/seed/x86_64/", root.display())),
        "{text}"
    );
    let line = |start: &str| {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("  bash ").ends_with(" mock/demo-x86_64.cfg:3"), "{text}");
    assert!(
        line("  rpm-build ").ends_with(" mock/demo-x86_64.cfg:3"),
        "{text}"
    );
    assert!(line("package manager ").ends_with(" (mock default)"), "{text}");
    assert!(
        text.contains("  [seed]  enabled  mock/demo-x86_64.cfg:7\n"),
        "{text}"
    );
}

#[test]
fn a_missing_arch_or_version_is_a_clear_error() {
    let p = project(&[
        ("distro.toml", DISTRO),
        ("mock/demo-x86_64.cfg", "config_opts['target_arch'] = 'x86_64'\n"),
    ]);
    let (code, err) = fails(p.path(), &["buildroot", "show", "--arch", "aarch64"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("distro `demo` version `1` has no mock config for aarch64"),
        "{err}"
    );
    assert!(err.contains("mock-config-aarch64"), "{err}");
    let (code, err) = fails(p.path(), &["buildroot", "show", "--version", "2"]);
    assert_eq!(code, 2);
    assert!(err.contains("distro `demo` has no version `2`"), "{err}");
    let (code, err) = fails(p.path(), &["buildroot", "show", "--distro", "dmeo"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no distro named `dmeo`") && err.contains("did you mean `demo`?"),
        "{err}"
    );
}

#[test]
fn a_bad_mock_config_reports_every_problem() {
    let p = project(&[
        ("distro.toml", DISTRO),
        (
            "mock/demo-x86_64.cfg",
            "import os\nconfig_opts['target_arch'] = 'x86_64'\nconfig_opts.update({})\ninclude('../../outside.tpl')\n",
        ),
    ]);
    let (code, err) = fails(p.path(), &["buildroot", "show", "--arch", "x86_64"]);
    assert_eq!(code, 2);
    assert!(err.contains("3 problems"), "{err}");
    assert!(err.contains("`import` statements are not supported"), "{err}");
    assert!(err.contains("demo-x86_64.cfg:1:1"), "{err}");
    assert!(err.contains("`config_opts.update` is not supported"), "{err}");
    assert!(err.contains("demo-x86_64.cfg:3:12"), "{err}");
    assert!(err.contains("demo-x86_64.cfg:4:1"), "{err}");
}

#[test]
fn a_config_for_the_wrong_arch_is_refused() {
    let p = project(&[
        ("distro.toml", DISTRO),
        ("mock/demo-x86_64.cfg", "config_opts['target_arch'] = 'aarch64'\n"),
    ]);
    let (code, err) = fails(p.path(), &["buildroot", "show", "--arch", "x86_64"]);
    assert_eq!(code, 2);
    assert!(err.contains("sets target_arch `aarch64`"), "{err}");
}
