//! Fixture dist-git repositories built with `git`, deterministic: fixed
//! authors, committers and dates, no user configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use azldev_autospec::ObjectId;

pub const JANE: (&str, &str) = ("Jane Doe", "jane@example.com");
pub const JOHN: (&str, &str) = ("John Smith", "john@example.org");
pub const RELENG: (&str, &str) = ("Fedora Release Engineering", "releng@fedoraproject.org");

/// A repository with a work tree under a temporary directory, at
/// `<tmp>/<name>` (rpmautospec names a package after its directory).
#[derive(Debug)]
pub struct Repo {
    _tmp: tempfile::TempDir,
    pub path: PathBuf,
    /// Unix time of the next commit.
    pub clock: i64,
    /// Time zone of the next commit's dates.
    pub tz: &'static str,
}

/// 2024-01-01T10:00:00Z.
const START: i64 = 1_704_103_200;

pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.com")
        .stdin(Stdio::null())
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Repo {
    pub fn new(name: &str) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        git_in(&path, &["init", "-q", "-b", "main"]);
        git_in(&path, &["config", "commit.gpgsign", "false"]);
        Repo {
            _tmp: tmp,
            path,
            clock: START,
            tz: "+0000",
        }
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.path, args)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(p, content).expect("write");
    }

    pub fn rm(&self, rel: &str) {
        std::fs::remove_file(self.path.join(rel)).expect("rm");
    }

    fn dated(&mut self, who: (&str, &str), args: &[&str]) -> String {
        let date = format!("@{} {}", self.clock, self.tz);
        self.clock += 86_400 + 3_600;
        let out = Command::new("git")
            .args(args)
            .current_dir(&self.path)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", who.0)
            .env("GIT_AUTHOR_EMAIL", who.1)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_NAME", "Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", &date)
            .stdin(Stdio::null())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.rev("HEAD")
    }

    /// Commit everything in the work tree.
    pub fn commit(&mut self, who: (&str, &str), message: &str) -> String {
        self.git(&["add", "-A"]);
        self.dated(
            who,
            &[
                "commit",
                "-q",
                "--allow-empty",
                "--cleanup=verbatim",
                "-m",
                message,
            ],
        )
    }

    /// `git revert` of a commit.
    pub fn revert(&mut self, who: (&str, &str), rev: &str) -> String {
        self.dated(who, &["revert", "--no-edit", rev])
    }

    /// A merge commit of `branch` into the current branch (never a fast-forward).
    pub fn merge(&mut self, who: (&str, &str), branch: &str, extra: &[&str]) -> String {
        let mut args = vec!["merge", "-q", "--no-ff", "--no-edit"];
        args.extend_from_slice(extra);
        args.push(branch);
        self.dated(who, &args)
    }

    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev]).trim().to_owned()
    }

    /// First-parent and all commits, newest first.
    pub fn all_commits(&self) -> Vec<String> {
        self.git(&["rev-list", "--all"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn gix(&self) -> gix::Repository {
        gix::open(&self.path).expect("gix opens")
    }
}

pub fn oid(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex.as_bytes()).expect("hex id")
}

/// A spec for package `name`.
pub fn spec(name: &str, version: &str, release: &str, extra: &str, changelog: &str) -> String {
    format!(
        "Name:           {name}\nVersion:        {version}\nRelease:        {release}\nSummary:        The {name} \
         package\nLicense:        MIT\n{extra}\n%description\nThe {name} package.\n\n%prep\n%autosetup\n\n%files\n\
         %doc README\n\n%changelog\n{changelog}"
    )
}

/// A spec with `%autochangelog`.
pub fn autospec(name: &str, version: &str, release: &str) -> String {
    spec(name, version, release, "", "%autochangelog\n")
}
