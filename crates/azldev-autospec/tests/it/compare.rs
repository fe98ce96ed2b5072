//! Our output against the real rpmautospec's, byte for byte, at every
//! commit of the fixture histories where the package has a spec. Skipped
//! (with the reason printed) when the reference cannot be run.

use std::path::Path;

use azldev_autospec::{Options, Package, process};

use crate::fixture::{Repo, git_in, oid};
use crate::{reference, scenarios};

/// The reference, or print why the comparison is skipped.
fn reference_or_skip(test: &str) -> Option<std::path::PathBuf> {
    match reference::find() {
        Ok(exe) => Some(exe),
        Err(why) => {
            eprintln!("SKIPPED {test}: the reference rpmautospec cannot be run ({why})");
            None
        }
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  rpmautospec: {x:?}\n  ours:        {y:?}", i + 1);
        }
    }
    format!(
        "lengths differ: rpmautospec {} lines, ours {} lines",
        a.lines().count(),
        b.lines().count()
    )
}

/// Our processed spec at (commit, rpmautospec version), or an error.
type Ours<'a> = dyn Fn(&str, &str) -> Result<Vec<u8>, String> + 'a;

/// Compare at every commit of `heads`, checking each out in `checkout`
/// (where the reference runs, on `<checkout>/<spec>`) while ours reads
/// `repo` at the same commit (mapped by `map`) in package directory `dir`.
fn compare_heads(
    exe: &Path,
    checkout: &Path,
    spec_name: &str,
    heads: &[String],
    ours: &Ours<'_>,
) -> (usize, Vec<String>) {
    let mut compared = 0;
    let mut failures = Vec::new();
    for h in heads {
        git_in(checkout, &["checkout", "-q", h]);
        if !checkout.join(spec_name).exists() {
            continue;
        }
        let theirs = reference::process_distgit(exe, checkout, spec_name);
        let version = theirs
            .as_ref()
            .ok()
            .and_then(|t| reference::version_of(t))
            .unwrap_or_default();
        let mine = ours(h, &version);
        compared += 1;
        let (theirs, mine) = match (theirs, mine) {
            (Ok(t), Ok(m)) => (t, m),
            // Both refuse a head spec rpm cannot parse.
            (Err(t), Err(m)) if t.contains("parse spec file") && m.contains("cannot parse") => continue,
            (t, m) => {
                failures.push(format!("{h}: rpmautospec {t:?}, ours {m:?}"));
                continue;
            }
        };
        if let Some(dump) = std::env::var_os("AZLDEV_AUTOSPEC_DUMP") {
            let d = Path::new(&dump);
            let _ = std::fs::create_dir_all(d);
            let _ = std::fs::write(d.join(format!("{h}.{spec_name}")), &theirs);
        }
        if mine != theirs {
            let subject = git_in(checkout, &["log", "-1", "--format=%s", h]);
            failures.push(format!(
                "{h} ({}): {}",
                subject.trim(),
                first_difference(&theirs, &mine)
            ));
        }
    }
    (compared, failures)
}

fn ours_at(
    repo: &gix::Repository,
    dir: &str,
    spec_name: &str,
    head: &str,
    version: &str,
) -> Result<Vec<u8>, String> {
    let opts = Options {
        rpmautospec_version: version.to_owned(),
        ..Options::default()
    };
    let pkg = Package { dir, spec_name };
    match process(repo, oid(head), pkg, &opts) {
        Ok(Some(p)) => Ok(p.spec),
        Ok(None) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

fn run_scenario(test: &str, r: &Repo, spec_name: &str, min: usize) {
    let Some(exe) = reference_or_skip(test) else {
        return;
    };
    let repo = r.gix();
    let heads = r.all_commits();
    let (compared, failures) = compare_heads(&exe, &r.path, spec_name, &heads, &|h, v| {
        ours_at(&repo, "", spec_name, h, v)
    });
    eprintln!("{test}: compared {compared} commits with {}", exe.display());
    assert!(
        failures.is_empty(),
        "{} of {compared} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= min, "only {compared} commits compared");
}

#[test]
fn reference_linear_history() {
    let r = scenarios::linear();
    run_scenario("reference_linear_history", &r, "foo.spec", 29);
}

#[test]
fn reference_merges() {
    let r = scenarios::merges();
    run_scenario("reference_merges", &r, "bar.spec", 23);
}

#[test]
fn reference_features() {
    if reference_or_skip("reference_features").is_none() {
        return;
    }
    for (r, spec) in scenarios::features() {
        run_scenario("reference_features", &r, spec, 1);
    }
}

/// A package in a subdirectory against rpmautospec on the repository that
/// `git filter-branch --subdirectory-filter` makes of that directory.
#[test]
fn reference_subdirectory() {
    let Some(exe) = reference_or_skip("reference_subdirectory") else {
        return;
    };
    let r = scenarios::monorepo();
    let repo = r.gix();
    for pkg in ["baz", "qux"] {
        let dir = format!("SPECS/{pkg}");
        let tmp = tempfile::tempdir().expect("tempdir");
        let split = tmp.path().join(pkg);
        git_in(tmp.path(), &["clone", "-q", r.path.to_str().expect("utf-8"), pkg]);
        let out = std::process::Command::new("git")
            .args([
                "filter-branch",
                "-f",
                "--subdirectory-filter",
                &dir,
                "--",
                "--all",
            ])
            .current_dir(&split)
            .env("FILTER_BRANCH_SQUELCH_WARNING", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git filter-branch runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // Map each rewritten commit back to the original by message + date.
        let originals = r.git(&["log", "--format=%H %ct %s", "main"]);
        let rewritten = git_in(&split, &["log", "--format=%H %ct %s", "main"]);
        let heads: Vec<String> = rewritten
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(h, _)| h.to_owned()))
            .collect();
        let original_of = |h: &str| -> String {
            let line = rewritten.lines().find(|l| l.starts_with(h)).unwrap_or_default();
            let rest = line.split_once(' ').map_or("", |(_, r)| r);
            originals
                .lines()
                .find(|l| l.split_once(' ').is_some_and(|(_, r)| r == rest))
                .and_then(|l| l.split_once(' '))
                .map(|(h, _)| h.to_owned())
                .unwrap_or_default()
        };
        let spec_name = format!("{pkg}.spec");
        let (compared, failures) = compare_heads(&exe, &split, &spec_name, &heads, &|h, v| {
            ours_at(&repo, &dir, &spec_name, &original_of(h), v)
        });
        eprintln!("reference_subdirectory {pkg}: compared {compared} commits");
        assert!(
            failures.is_empty(),
            "{pkg}: {} differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(compared >= 4, "{pkg}: only {compared} commits compared");
    }
}
