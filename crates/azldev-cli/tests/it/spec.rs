//! `azldev spec check`.

use std::path::Path;

use serde_json::Value;

use crate::cli::azldev;

const GOOD: &str =
    "Name: hello\nVersion: 1\nRelease: 1%{?dist}\nSummary: s\nLicense: MIT\n\n%description\nd\n\n%files\n";
const BAD: &str = "Name: bad\nVersion: 1\n%if 0%{?fedora}\nRelease: 1\n\n%description\nd\n";

fn write(dir: &Path, rel: &str, content: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
    std::fs::write(p, content).expect("write");
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = azldev()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("azldev runs");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn good_file_exits_zero() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "hello.spec", GOOD.as_bytes());
    let r = run(tmp.path(), &["spec", "check", "--roundtrip", "hello.spec"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout.lines().last(), Some("1 files, 1 ok, 0 with problems"));
}

#[test]
fn directory_is_searched_and_problems_located() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "specs/a/good.spec", GOOD.as_bytes());
    write(tmp.path(), "specs/b/deep/bad.spec", BAD.as_bytes());
    write(tmp.path(), "specs/b/notes.txt", b"not looked at");
    let r = run(tmp.path(), &["--color", "never", "spec", "check", "specs"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("specs/b/deep/bad.spec:3:1: %if without a matching %endif"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("cond-unbalanced"),
        "the code is shown: {}",
        r.stdout
    );
    assert_eq!(r.stdout.lines().last(), Some("2 files, 1 ok, 1 with problems"));
    assert!(!r.stdout.contains('\u{1b}'), "no colour with --color never");
}

#[test]
fn json_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "good.spec", GOOD.as_bytes());
    write(tmp.path(), "bad.spec", BAD.as_bytes());
    let r = run(
        tmp.path(),
        &[
            "spec",
            "check",
            "--roundtrip",
            "--format",
            "json",
            "good.spec",
            "bad.spec",
            "missing.spec",
        ],
    );
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    let files = v["files"].as_array().expect("files array");
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["path"], "good.spec");
    assert_eq!(files[0]["roundtrip"], true);
    assert_eq!(files[0]["diagnostics"].as_array().map(Vec::len), Some(0));
    let d = &files[1]["diagnostics"][0];
    assert_eq!(d["code"], "cond-unbalanced");
    assert_eq!(d["severity"], "error");
    assert_eq!((d["line"].as_u64(), d["column"].as_u64()), (Some(3), Some(1)));
    assert_eq!(files[2]["roundtrip"], Value::Null);
    assert_eq!(files[2]["diagnostics"][0]["code"], "unreadable");
    assert_eq!(v["summary"]["files"], 3);
    assert_eq!(v["summary"]["ok"], 1);
    assert_eq!(v["summary"]["with-problems"], 2);
}

#[test]
fn an_unreadable_file_is_named_without_a_position() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "good.spec", GOOD.as_bytes());
    let r = run(tmp.path(), &["spec", "check", "good.spec", "missing.spec"]);
    assert_eq!(r.code, 1);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("missing.spec: cannot read the file") && !all.contains("missing.spec:0:0"),
        "{all}"
    );
}

#[test]
fn not_a_spec_is_one_diagnostic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(
        tmp.path(),
        "pkg.spec",
        &[0xed, 0xab, 0xee, 0xdb, 3, 0, 0, 0, 1, 2],
    );
    write(tmp.path(), "notes.spec", b"just some words\n");
    let r = run(
        tmp.path(),
        &["spec", "check", "--format", "json", "pkg.spec", "notes.spec"],
    );
    assert_eq!(r.code, 1);
    let v: Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    for f in v["files"].as_array().expect("files") {
        let d = f["diagnostics"].as_array().expect("diagnostics");
        assert_eq!(d.len(), 1, "{f}");
        assert_eq!(d[0]["code"], "not-a-spec");
    }
}

#[test]
fn odd_bytes_round_trip() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let crlf = GOOD.replace('\n', "\r\n");
    write(tmp.path(), "crlf.spec", crlf.trim_end().as_bytes());
    let mut latin1 = GOOD.as_bytes().to_vec();
    latin1.extend_from_slice(
        b"%changelog\n* Mon Jan 01 2024 J\xf6rg <j@example.org> - 1-1\n- caf\xe9\t \n\x0c\n",
    );
    write(tmp.path(), "latin1.spec", &latin1);
    let r = run(
        tmp.path(),
        &["spec", "check", "--roundtrip", "--format", "json", "."],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).expect("valid JSON");
    assert!(
        v["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["roundtrip"] == true)
    );
}

#[test]
fn quiet_and_verbose() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "good.spec", GOOD.as_bytes());
    write(tmp.path(), "bad.spec", BAD.as_bytes());
    let r = run(tmp.path(), &["-qq", "spec", "check", "good.spec", "bad.spec"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "2 files, 1 ok, 1 with problems\n");
    let r = run(tmp.path(), &["-v", "spec", "check", "good.spec"]);
    assert!(r.stdout.contains("good.spec: ok"), "{}", r.stdout);
}

#[test]
fn colour_follows_flag_and_no_color() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "bad.spec", BAD.as_bytes());
    let r = run(tmp.path(), &["--color", "always", "spec", "check", "bad.spec"]);
    assert!(r.stdout.contains('\u{1b}'), "colour with --color always");
    let out = azldev()
        .current_dir(tmp.path())
        .env("NO_COLOR", "1")
        .args(["spec", "check", "bad.spec"])
        .output()
        .expect("runs");
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

#[test]
fn dash_c_changes_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "sub/good.spec", GOOD.as_bytes());
    let dir = tmp.path().join("sub");
    let r = run(
        Path::new("/"),
        &["-C", dir.to_str().expect("utf-8"), "spec", "check", "good.spec"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}
