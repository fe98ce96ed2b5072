//! Fixture builders for end-to-end tests: dist-git-like repositories made
//! with the `git` program, with fixed authors and dates so commit ids are the
//! same on every machine.

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod demo;

/// Copies a directory tree (files and directories) to `to`.
///
/// # Panics
/// On any I/O error (a test fixture helper).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(from).expect("inside");
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Run `git` in `dir` with a fixed identity and date; return its stdout.
pub fn git(dir: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Fixture Author")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.org")
        .env("GIT_COMMITTER_NAME", "Fixture Author")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.org")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A git repository in a directory.
#[derive(Debug)]
pub struct Repo {
    pub dir: PathBuf,
}

impl Repo {
    /// `git init` on branch `branch`.
    pub fn init(dir: impl Into<PathBuf>, branch: &str) -> Repo {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).expect("mkdir");
        git(&dir, &["init", "-q", "-b", branch], "2024-01-01T00:00:00Z");
        Repo { dir }
    }

    /// Write files (path, content; `None` deletes) and commit them at `date`.
    /// Returns the commit id.
    pub fn commit(&self, files: &[(&str, Option<&str>)], message: &str, date: &str) -> String {
        for (path, content) in files {
            let p = self.dir.join(path);
            match content {
                Some(c) => {
                    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                    std::fs::write(&p, c).expect("write");
                }
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        git(&self.dir, &["add", "-A"], date);
        git(&self.dir, &["commit", "-q", "--allow-empty", "-m", message], date);
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"], "2024-01-01T00:00:00Z")
    }

    /// Run any git command.
    pub fn git(&self, args: &[&str], date: &str) -> String {
        git(&self.dir, args, date)
    }
}

/// A small valid spec.
pub fn spec(name: &str, version: &str, release: &str) -> String {
    format!(
        "Name:           {name}\nVersion:        {version}\nRelease:        {release}%{{?dist}}\nSummary:        The {name} package\nLicense:        MIT\nSource0:        https://example.org/{name}/{name}-%{{version}}.tar.gz\nSource1:        {name}.conf\n\n%description\nThe {name} package.\n\n%prep\n%autosetup\n\n%build\nmake\n\n%install\nmake install\n\n%check\nmake check\n\n%files\n/usr/bin/{name}\n\n%changelog\n* Mon Jan 01 2024 Fixture Author <fixture@example.org> - {version}-{release}\n- Initial\n"
    )
}
