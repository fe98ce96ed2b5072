//! The persistent bare-repository cache: one entry per remote URL, fetched
//! incrementally, read straight from the object store.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use gix::ObjectId;

use crate::url::Remote;
use crate::{Error, time};

/// Whether the network (or, for local remotes, a fetch) may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Allowed,
    /// Never fetch; fail when something is not cached.
    Offline,
}

/// What a caller needs from a cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// This commit must be present; fetch only if it is not.
    Commit(ObjectId),
    /// The newest state of the branches: fetch (unless offline).
    Fresh,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct GitCache {
    root: PathBuf,
}

/// How a file in a tree is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryMode {
    Regular,
    Executable,
    Symlink,
}

/// A file read from a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the directory read.
    pub path: String,
    pub mode: EntryMode,
    pub data: Vec<u8>,
}

/// Entries of one directory of one commit: name → (object, is a tree).
type Listing = Arc<HashMap<Vec<u8>, (ObjectId, bool)>>;

/// A cache entry, shareable across threads.
///
/// Thread-local repository handles are pooled so their object caches
/// survive between calls, and directory listings are memoised: with one
/// repository holding thousands of packages (`dist-git-path`), the big
/// `SPECS/` tree is decoded once, not once per package.
#[derive(Debug, Clone)]
pub struct CachedRepo {
    repo: gix::ThreadSafeRepository,
    remote: Remote,
    pool: Arc<Mutex<Vec<gix::Repository>>>,
    listings: Arc<Mutex<HashMap<(ObjectId, String), Listing>>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn git_err(remote: &Remote, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Git {
        url: remote.as_git_url(),
        what: what.to_owned(),
        message: e.to_string(),
    }
}

impl GitCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `$AZLDEV_CACHE_DIR/git`, else `$XDG_CACHE_HOME/azldev/git`, else
    /// `~/.cache/azldev/git`.
    pub fn default_root() -> PathBuf {
        if let Some(d) = std::env::var_os("AZLDEV_CACHE_DIR").filter(|v| !v.is_empty()) {
            return PathBuf::from(d).join("git");
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"));
        base.join("azldev").join("git")
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory of a remote's entry.
    /// Remove what failed first fetches left: `<entry>.init` directories
    /// whose entry nobody holds (its lock file is free). Returns them.
    pub fn clean_leftovers(&self) -> Result<Vec<PathBuf>, Error> {
        let io = |path: &Path, e: std::io::Error| Error::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let entries = match std::fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.root, e)),
        };
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "init") && p.is_dir())
            .collect();
        dirs.sort();
        let mut removed = Vec::new();
        for dir in dirs {
            let lock_path = dir.with_extension("lock");
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| io(&lock_path, e))?;
            // Held: a fetch is running right now; leave it alone.
            if f.try_lock().is_err() {
                continue;
            }
            std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
            removed.push(dir);
        }
        Ok(removed)
    }

    pub fn entry_dir(&self, remote: &Remote) -> PathBuf {
        self.root.join(remote.cache_key())
    }

    /// Open the entry for `remote`, fetching when `want` needs it and the
    /// network policy allows. Concurrent processes serialise on a lock file
    /// per entry, so they never corrupt it.
    pub fn open(&self, remote: &Remote, want: Want, net: Network) -> Result<CachedRepo, Error> {
        std::fs::create_dir_all(&self.root).map_err(|e| Error::Io {
            path: self.root.clone(),
            message: e.to_string(),
        })?;
        let dir = self.entry_dir(remote);
        let _lock = lock(&dir.with_extension("lock"))?;
        let exists = dir.join("HEAD").is_file();
        if !exists {
            if net == Network::Offline {
                return Err(Error::NotCached {
                    url: remote.as_git_url(),
                    what: "the repository".into(),
                });
            }
            // Initialise under a temporary name so an interrupted first
            // fetch never leaves a half-made entry behind.
            let tmp = dir.with_extension("init");
            let _ = std::fs::remove_dir_all(&tmp);
            gix::init_bare(&tmp).map_err(|e| git_err(remote, "initialise the cache entry", e))?;
            fetch(&tmp, remote)?;
            std::fs::rename(&tmp, &dir).map_err(|e| Error::Io {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        } else {
            let need_fetch = match want {
                Want::Fresh => true,
                Want::Commit(id) => !has_object(&dir, id),
            };
            if need_fetch {
                if net == Network::Offline {
                    if let Want::Commit(id) = want {
                        return Err(Error::NotCached {
                            url: remote.as_git_url(),
                            what: format!("commit {id}"),
                        });
                    }
                } else {
                    fetch(&dir, remote)?;
                }
            }
        }
        let repo =
            gix::ThreadSafeRepository::open(&dir).map_err(|e| git_err(remote, "open the cache entry", e))?;
        Ok(CachedRepo {
            repo,
            remote: remote.clone(),
            pool: Arc::default(),
            listings: Arc::default(),
        })
    }
}

fn has_object(dir: &Path, id: ObjectId) -> bool {
    gix::open(dir).is_ok_and(|r| r.has_object(id))
}

/// An exclusive lock held until the returned file is dropped.
fn lock(path: &Path) -> Result<File, Error> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    f.lock().map_err(|e| Error::Io {
        path: path.to_path_buf(),
        message: format!("cannot lock: {e}"),
    })?;
    Ok(f)
}

/// Fetch every branch and tag of `remote` into the bare repository at `dir`
/// (mirror refspecs, so the entry's branches are the remote's).
fn fetch(dir: &Path, remote: &Remote) -> Result<(), Error> {
    let repo = gix::open(dir).map_err(|e| git_err(remote, "open the cache entry", e))?;
    let url = remote.as_git_url();
    let r = repo
        .remote_at(url.as_str())
        .map_err(|e| git_err(remote, "configure the remote", e))?
        .with_refspecs(
            ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
            gix::remote::Direction::Fetch,
        )
        .map_err(|e| git_err(remote, "configure the refspecs", e))?;
    let conn = r
        .connect(gix::remote::Direction::Fetch)
        .map_err(|e| git_err(remote, "connect", e))?;
    conn.prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| git_err(remote, "list references", e))?
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        .map_err(|e| git_err(remote, "fetch", e))?;
    Ok(())
}

impl CachedRepo {
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// Run `f` with a pooled thread-local handle (for readers of history,
    /// e.g. `azldev-autospec`; the handle keeps its object cache).
    pub fn with_repo<R>(&self, f: impl FnOnce(&gix::Repository) -> R) -> R {
        let repo = locked(&self.pool).pop().unwrap_or_else(|| {
            let mut r = self.repo.to_thread_local();
            r.object_cache_size_if_unset(16 * 1024 * 1024);
            r
        });
        let out = f(&repo);
        locked(&self.pool).push(repo);
        out
    }

    /// The entries of directory `dir` ("" for the root) of `commit`,
    /// memoised.
    fn listing(&self, repo: &gix::Repository, commit: ObjectId, dir: &str) -> Result<Listing, Error> {
        let key = (commit, dir.to_owned());
        if let Some(l) = locked(&self.listings).get(&key) {
            return Ok(l.clone());
        }
        let err = |what: &str, e: &dyn std::fmt::Display| git_err(&self.remote, what, e);
        let c = repo.find_commit(commit).map_err(|_| Error::NoCommit {
            url: self.remote.as_git_url(),
            commit: commit.to_string(),
        })?;
        let mut tree = c.tree().map_err(|e| err("read the tree", &e))?;
        if !dir.is_empty() {
            let parent_key = dir.rsplit_once('/').map_or("", |(p, _)| p);
            let leaf = dir.rsplit_once('/').map_or(dir, |(_, l)| l);
            let parent = self.listing(repo, commit, parent_key)?;
            let (id, is_tree) = parent
                .get(leaf.as_bytes())
                .copied()
                .ok_or_else(|| Error::NoPath {
                    url: self.remote.as_git_url(),
                    commit: commit.to_string(),
                    path: dir.to_owned(),
                })?;
            if !is_tree {
                return Err(Error::NoPath {
                    url: self.remote.as_git_url(),
                    commit: commit.to_string(),
                    path: dir.to_owned(),
                });
            }
            tree = repo
                .find_object(id)
                .map_err(|e| err("read a tree", &e))?
                .into_tree();
        }
        let mut map = HashMap::new();
        for e in tree.iter() {
            let e = e.map_err(|e| err("read a tree", &e))?;
            map.insert(e.filename().to_vec(), (e.oid().to_owned(), e.mode().is_tree()));
        }
        let listing = Arc::new(map);
        locked(&self.listings).insert(key, listing.clone());
        Ok(listing)
    }

    /// The commit a branch points to.
    pub fn branch(&self, branch: &str) -> Result<ObjectId, Error> {
        self.with_repo(|repo| {
            let mut r = repo
                .find_reference(format!("refs/heads/{branch}").as_str())
                .map_err(|_| Error::NoBranch {
                    url: self.remote.as_git_url(),
                    branch: branch.to_owned(),
                })?;
            r.peel_to_id()
                .map(gix::Id::detach)
                .map_err(|e| git_err(&self.remote, "resolve the branch", e))
        })
    }

    /// The newest first-parent commit of `branch` whose committer date is at
    /// or before `snapshot` (RFC 3339 date or date-time).
    pub fn snapshot(&self, branch: &str, snapshot: &str) -> Result<ObjectId, Error> {
        let limit = time::parse_rfc3339(snapshot).ok_or_else(|| Error::BadSnapshot(snapshot.to_owned()))?;
        let mut id = self.branch(branch)?;
        self.with_repo(|repo| {
            loop {
                let c = repo
                    .find_commit(id)
                    .map_err(|e| git_err(&self.remote, "read a commit", e))?;
                let t = c
                    .time()
                    .map_err(|e| git_err(&self.remote, "read a commit date", e))?;
                if t.seconds <= limit {
                    return Ok(id);
                }
                match c.parent_ids().next() {
                    Some(p) => id = p.detach(),
                    None => {
                        return Err(Error::NothingBefore {
                            branch: branch.to_owned(),
                            snapshot: snapshot.to_owned(),
                        });
                    }
                }
            }
        })
    }

    /// Whether the commit is in the cache.
    pub fn has_commit(&self, id: ObjectId) -> bool {
        self.with_repo(|repo| repo.find_commit(id).is_ok())
    }

    /// Resolve a full or abbreviated commit id.
    pub fn resolve_commit(&self, rev: &str) -> Result<ObjectId, Error> {
        let missing = || Error::NoCommit {
            url: self.remote.as_git_url(),
            commit: rev.to_owned(),
        };
        self.with_repo(|repo| {
            let id = repo.rev_parse_single(rev).map_err(|_| missing())?.detach();
            repo.find_commit(id).map_err(|_| missing())?;
            Ok(id)
        })
    }

    /// Every file under `subdir` (or the whole tree) of `commit`, read from
    /// the object store without a checkout. Submodules are skipped.
    pub fn read_tree(&self, commit: ObjectId, subdir: Option<&str>) -> Result<Vec<Entry>, Error> {
        self.with_repo(|repo| {
            let err = |what: &str, e: &dyn std::fmt::Display| git_err(&self.remote, what, e);
            let sub = subdir.map(|s| s.trim_matches('/')).unwrap_or("");
            let tree = if sub.is_empty() {
                let c = repo.find_commit(commit).map_err(|_| Error::NoCommit {
                    url: self.remote.as_git_url(),
                    commit: commit.to_string(),
                })?;
                c.tree().map_err(|e| err("read the tree", &e))?
            } else {
                let (parent, leaf) = sub.rsplit_once('/').unwrap_or(("", sub));
                let listing = self.listing(repo, commit, parent)?;
                let no_path = || Error::NoPath {
                    url: self.remote.as_git_url(),
                    commit: commit.to_string(),
                    path: sub.to_owned(),
                };
                let (id, is_tree) = listing.get(leaf.as_bytes()).copied().ok_or_else(no_path)?;
                if !is_tree {
                    return Err(no_path());
                }
                repo.find_object(id)
                    .map_err(|e| err("read a tree", &e))?
                    .into_tree()
            };
            let mut out = Vec::new();
            walk(repo, &tree, "", &mut out).map_err(|e| err("read the tree", &e))?;
            out.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(out)
        })
    }
}

fn walk(
    repo: &gix::Repository,
    tree: &gix::Tree<'_>,
    prefix: &str,
    out: &mut Vec<Entry>,
) -> Result<(), String> {
    for e in tree.iter() {
        let e = e.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(e.filename()).into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let mode = e.mode();
        if mode.is_tree() {
            let sub = repo.find_object(e.oid()).map_err(|e| e.to_string())?.into_tree();
            walk(repo, &sub, &path, out)?;
        } else if mode.is_commit() {
            continue;
        } else {
            let kind = if mode.is_link() {
                EntryMode::Symlink
            } else if mode.is_executable() {
                EntryMode::Executable
            } else {
                EntryMode::Regular
            };
            let data = repo
                .find_object(e.oid())
                .map_err(|e| e.to_string())?
                .detach()
                .data;
            out.push(Entry {
                path,
                mode: kind,
                data,
            });
        }
    }
    Ok(())
}
