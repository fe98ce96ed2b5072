//! The real rpmautospec, when it can be run: `$AZLDEV_RPMAUTOSPEC`, else
//! `rpmautospec` on `PATH`, else `target/rpmautospec-venv/bin/rpmautospec`
//! in the workspace (what `.ci/run` sets up: a venv made with Debian's
//! `/usr/bin/python3 -m venv --system-site-packages` over `python3-rpm` and
//! `python3-pygit2`, with `pip install rpmautospec==0.8.5 click`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fixture::{JANE, Repo, autospec};

/// The reference's executable, or why there is none.
pub fn find() -> Result<PathBuf, String> {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND.get_or_init(probe_all).clone()
}

fn probe_all() -> Result<PathBuf, String> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("AZLDEV_RPMAUTOSPEC").filter(|v| !v.is_empty()) {
        candidates.push(PathBuf::from(p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            let exe = d.join("rpmautospec");
            if exe.is_file() {
                candidates.push(exe);
            }
        }
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    candidates.push(ws.join("target/rpmautospec-venv/bin/rpmautospec"));
    let mut why = Vec::new();
    for c in candidates {
        match probe(&c) {
            Ok(()) => return Ok(c),
            Err(e) => why.push(format!("{}: {e}", c.display())),
        }
    }
    Err(why.join("; "))
}

/// Run the candidate on a one-commit repository.
fn probe(exe: &Path) -> Result<(), String> {
    if !exe.exists() {
        return Err("not found".into());
    }
    let mut r = Repo::new("probe");
    r.write("probe.spec", &autospec("probe", "1.0", "%autorelease"));
    r.commit(JANE, "Initial import");
    let out = process_distgit(exe, &r.path, "probe.spec")?;
    if out
        .windows(b"release_number = 1;".len())
        .any(|w| w == b"release_number = 1;")
    {
        Ok(())
    } else {
        Err(format!("unexpected output: {}", String::from_utf8_lossy(&out)))
    }
}

/// `rpmautospec process-distgit <dir>/<spec> <out>`; the processed spec.
pub fn process_distgit(exe: &Path, dir: &Path, spec: &str) -> Result<Vec<u8>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let target = tmp.path().join("out.spec");
    let out = Command::new(exe)
        .arg("process-distgit")
        .arg(dir.join(spec))
        .arg(&target)
        .env("LC_ALL", "C.UTF-8")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        return Err(format!("exit {}: {}", out.status, tail.join(" / ")));
    }
    // Nothing to process leaves no target.
    Ok(std::fs::read(&target).unwrap_or_default())
}

/// The version in the block the reference writes.
pub fn version_of(processed: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(processed);
    let line = text.lines().find(|l| l.starts_with("## (rpmautospec version "))?;
    Some(
        line.trim_start_matches("## (rpmautospec version ")
            .trim_end_matches(')')
            .to_owned(),
    )
}
