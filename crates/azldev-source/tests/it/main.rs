//! The git cache against real repositories made with `git` (fixed authors
//! and dates, so commit ids are stable).

use std::path::Path;
use std::process::Command;

use azldev_source::{Error, GitCache, Network, Remote, Want};

mod lookaside;

fn git(dir: &Path, args: &[&str], date: &str) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.org")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.org")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A dist-git-like repository with three commits on `main` and a second
/// branch.
struct Upstream {
    dir: tempfile::TempDir,
    commits: Vec<String>,
}

fn commit_file(dir: &Path, path: &str, content: &str, date: &str) -> String {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, content).expect("write");
    git(dir, &["add", "-A"], date);
    git(dir, &["commit", "-q", "-m", &format!("update {path}")], date);
    git(dir, &["rev-parse", "HEAD"], date)
}

fn upstream() -> Upstream {
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
    let mut commits = Vec::new();
    commits.push(commit_file(
        dir.path(),
        "SPECS/a/a.spec",
        "Name: a\nVersion: 1\n",
        "2024-01-01T00:00:00Z",
    ));
    commits.push(commit_file(
        dir.path(),
        "SPECS/b/b.spec",
        "Name: b\n",
        "2024-02-01T00:00:00Z",
    ));
    commits.push(commit_file(
        dir.path(),
        "SPECS/a/a.spec",
        "Name: a\nVersion: 2\n",
        "2024-03-01T00:00:00Z",
    ));
    std::fs::write(dir.path().join("SPECS/a/run.sh"), "#!/bin/sh\n").expect("write");
    git(dir.path(), &["add", "-A"], "2024-03-02T00:00:00Z");
    git(
        dir.path(),
        &["update-index", "--chmod=+x", "SPECS/a/run.sh"],
        "2024-03-02T00:00:00Z",
    );
    git(
        dir.path(),
        &["commit", "-q", "-m", "script"],
        "2024-03-02T00:00:00Z",
    );
    commits.push(git(dir.path(), &["rev-parse", "HEAD"], "2024-03-02T00:00:00Z"));
    git(
        dir.path(),
        &["branch", "f43", &commits[1]],
        "2024-03-02T00:00:00Z",
    );
    Upstream { dir, commits }
}

#[test]
fn commit_ids_are_stable() {
    let u = upstream();
    let v = upstream();
    assert_eq!(u.commits, v.commits);
}

#[test]
fn fetch_resolve_and_read() {
    let u = upstream();
    let cache_dir = tempfile::tempdir().expect("cache");
    let cache = GitCache::new(cache_dir.path());
    let remote = Remote::parse(u.dir.path().to_str().expect("utf-8"), Path::new("/")).expect("path remote");
    let repo = cache.open(&remote, Want::Fresh, Network::Allowed).expect("fetch");
    assert_eq!(repo.branch("main").expect("main").to_string(), u.commits[3]);
    assert_eq!(repo.branch("f43").expect("f43").to_string(), u.commits[1]);
    assert!(matches!(repo.branch("nope"), Err(Error::NoBranch { .. })));
    // Snapshots: newest first-parent commit at or before the date.
    assert_eq!(
        repo.snapshot("main", "2024-02-15T00:00:00Z")
            .expect("snap")
            .to_string(),
        u.commits[1]
    );
    assert_eq!(
        repo.snapshot("main", "2024-02-01").expect("snap").to_string(),
        u.commits[1]
    );
    assert_eq!(
        repo.snapshot("main", "2024-03-01T00:00:00+00:00")
            .expect("snap")
            .to_string(),
        u.commits[2]
    );
    assert!(matches!(
        repo.snapshot("main", "2023-01-01"),
        Err(Error::NothingBefore { .. })
    ));
    assert!(matches!(
        repo.snapshot("main", "soon"),
        Err(Error::BadSnapshot(_))
    ));
    // Trees straight from the object store, with modes.
    let id = repo.resolve_commit(&u.commits[3][..10]).expect("abbreviated id");
    let files = repo.read_tree(id, Some("SPECS/a")).expect("read");
    let names: Vec<(&str, azldev_source::EntryMode)> =
        files.iter().map(|e| (e.path.as_str(), e.mode)).collect();
    assert_eq!(
        names,
        [
            ("a.spec", azldev_source::EntryMode::Regular),
            ("run.sh", azldev_source::EntryMode::Executable)
        ]
    );
    assert_eq!(files[0].data, b"Name: a\nVersion: 2\n");
    let old = repo
        .read_tree(repo.resolve_commit(&u.commits[0]).expect("id"), None)
        .expect("read");
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].path, "SPECS/a/a.spec");
    assert!(matches!(
        repo.read_tree(id, Some("SPECS/zzz")),
        Err(Error::NoPath { .. })
    ));
}

#[test]
fn incremental_fetch_offline_and_rewritten_history() {
    let u = upstream();
    let cache_dir = tempfile::tempdir().expect("cache");
    let cache = GitCache::new(cache_dir.path());
    let remote = Remote::parse(&format!("file://{}", u.dir.path().display()), Path::new("/")).expect("url");
    // Offline with an empty cache: a clear error.
    assert!(matches!(
        cache.open(&remote, Want::Fresh, Network::Offline),
        Err(Error::NotCached { .. })
    ));
    cache
        .open(&remote, Want::Fresh, Network::Allowed)
        .expect("first fetch");
    // Upstream moves on; the cache has the old state until fetched.
    let new = commit_file(
        u.dir.path(),
        "SPECS/c/c.spec",
        "Name: c\n",
        "2024-04-01T00:00:00Z",
    );
    let id = gix::ObjectId::from_hex(new.as_bytes()).expect("hex");
    let offline = cache
        .open(&remote, Want::Fresh, Network::Offline)
        .expect("offline works from cache");
    assert!(!offline.has_commit(id));
    assert!(matches!(
        cache.open(&remote, Want::Commit(id), Network::Offline),
        Err(Error::NotCached { .. })
    ));
    let repo = cache
        .open(&remote, Want::Commit(id), Network::Allowed)
        .expect("fetches the missing commit");
    assert!(repo.has_commit(id));
    assert_eq!(repo.branch("main").expect("main"), id);
    // History rewritten: main is reset; the old tip is gone upstream but a
    // fresh fetch moves the branch.
    git(
        u.dir.path(),
        &["reset", "-q", "--hard", &u.commits[0]],
        "2024-05-01T00:00:00Z",
    );
    let rewritten = commit_file(
        u.dir.path(),
        "SPECS/d/d.spec",
        "Name: d\n",
        "2024-05-01T00:00:00Z",
    );
    let repo = cache.open(&remote, Want::Fresh, Network::Allowed).expect("fetch");
    assert_eq!(repo.branch("main").expect("main").to_string(), rewritten);
}

#[test]
fn concurrent_opens_do_not_corrupt_the_cache() {
    let u = upstream();
    let cache_dir = tempfile::tempdir().expect("cache");
    let remote = Remote::parse(u.dir.path().to_str().expect("utf-8"), Path::new("/")).expect("path");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let cache = GitCache::new(cache_dir.path());
                let repo = cache.open(&remote, Want::Fresh, Network::Allowed).expect("fetch");
                assert_eq!(repo.branch("main").expect("main").to_string(), u.commits[3]);
            });
        }
    });
    let entries: Vec<_> = std::fs::read_dir(cache_dir.path())
        .expect("read")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "git"))
        .collect();
    assert_eq!(entries.len(), 1, "one entry per remote");
}
