//! Global behaviour: help, version, completions, colour, `-C`.

use assert_cmd::Command;

pub fn azldev() -> Command {
    let mut cmd = Command::cargo_bin("azldev").expect("the azldev binary is built with the tests");
    cmd.env_remove("NO_COLOR");
    cmd
}

fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("azldev runs");
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn version_and_help() {
    let v = stdout(azldev().arg("--version"));
    assert_eq!(v.trim(), format!("azldev {}", env!("CARGO_PKG_VERSION")));
    let help = stdout(azldev().arg("--help"));
    for word in [
        "spec",
        "completions",
        "--color",
        "-C <DIR>",
        "--quiet",
        "--verbose",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
    let help = stdout(azldev().args(["spec", "check", "--help"]));
    for word in ["--roundtrip", "--format", "PATH"] {
        assert!(help.contains(word), "spec check --help lacks {word}:\n{help}");
    }
}

#[test]
fn every_command_has_help() {
    for args in [&["spec", "--help"][..], &["completions", "--help"]] {
        let out = stdout(azldev().args(args));
        assert!(out.contains("Usage: azldev"), "{args:?}: {out}");
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = stdout(azldev().args(["completions", shell, "--static"]));
        assert!(out.contains("azldev"), "{shell} completions mention the binary");
        assert!(
            out.contains("roundtrip"),
            "{shell} completions know subcommand flags"
        );
        // The default script asks `azldev` for candidates (names included).
        let out = stdout(azldev().args(["completions", shell]));
        assert!(out.contains("COMPLETE"), "{shell}: {out}");
    }
    let out = azldev().args(["completions", "tcsh"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "unknown shell is a usage error");
}

#[test]
fn unknown_command_is_usage_error() {
    let out = azldev().arg("frobnicate").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
}

#[test]
fn missing_directory_for_dash_c() {
    let out = azldev()
        .args(["-C", "/nonexistent/dir", "spec", "check", "x.spec"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dir"), "{err}");
}
