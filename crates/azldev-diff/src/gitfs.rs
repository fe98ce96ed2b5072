//! [`GitFs`]: the files of one commit of the distro repository, read
//! straight from the object store (no checkout, the working tree untouched),
//! behind `azldev-config`'s [`Fs`] so the configuration loader and the render
//! pipeline read a revision exactly as they read the working tree.
//!
//! Paths are the working tree's: `<workdir>/components/a.comp.toml` names
//! `components/a.comp.toml` of the commit's tree, so everything derived from
//! paths (relative upstream URLs, display paths, lock directories) is the
//! same on both sides of a diff. Paths outside the working tree do not exist.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use azldev_config::fs::{DirFile, FileKind, FileMode, Fs, glob_options};
use gix::ObjectId;

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tree,
    Blob,
    Executable,
    Link,
    /// A submodule.
    Commit,
}

/// One directory of the tree: name → (object, kind).
type Listing = Arc<BTreeMap<String, (ObjectId, Kind)>>;

/// The files of one commit of a repository; see the module documentation.
pub struct GitFs {
    repo: gix::ThreadSafeRepository,
    workdir: PathBuf,
    tree: ObjectId,
    /// Pooled thread-local handles, so their object caches survive.
    pool: Mutex<Vec<gix::Repository>>,
    /// Memoised directory listings, by path relative to the tree root.
    listings: Mutex<HashMap<String, Listing>>,
}

impl fmt::Debug for GitFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitFs")
            .field("workdir", &self.workdir)
            .field("tree", &self.tree)
            .finish_non_exhaustive()
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn not_found(what: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{what}: no such file or directory"),
    )
}

fn git_error(e: impl fmt::Display) -> io::Error {
    io::Error::other(format!("git: {e}"))
}

/// A resolved path: its components relative to the tree root, and what it is.
struct Found {
    rel: Vec<String>,
    id: ObjectId,
    kind: Kind,
}

impl GitFs {
    /// The tree `tree` of `repo`, seen as if checked out at `workdir`
    /// (absolute and canonical).
    #[must_use]
    pub fn new(repo: gix::ThreadSafeRepository, workdir: PathBuf, tree: ObjectId) -> Self {
        Self {
            repo,
            workdir,
            tree,
            pool: Mutex::default(),
            listings: Mutex::default(),
        }
    }

    /// The tree read.
    #[must_use]
    pub fn tree(&self) -> ObjectId {
        self.tree
    }

    fn with_repo<R>(&self, f: impl FnOnce(&gix::Repository) -> R) -> R {
        let repo = locked(&self.pool).pop().unwrap_or_else(|| {
            let mut r = self.repo.to_thread_local();
            r.object_cache_size_if_unset(8 * 1024 * 1024);
            r
        });
        let out = f(&repo);
        locked(&self.pool).push(repo);
        out
    }

    fn blob(&self, id: ObjectId) -> io::Result<Vec<u8>> {
        self.with_repo(|repo| repo.find_object(id).map(|o| o.detach().data).map_err(git_error))
    }

    /// The listing of directory `dir` (components relative to the root).
    fn listing(&self, dir: &[String]) -> io::Result<Listing> {
        let key = dir.join("/");
        if let Some(l) = locked(&self.listings).get(&key) {
            return Ok(l.clone());
        }
        let id = match dir.split_last() {
            None => self.tree,
            Some((leaf, parent)) => {
                let parent = self.listing(parent)?;
                match parent.get(leaf) {
                    Some((id, Kind::Tree)) => *id,
                    _ => return Err(not_found(&key)),
                }
            }
        };
        let map = self.with_repo(|repo| -> io::Result<BTreeMap<String, (ObjectId, Kind)>> {
            let tree = repo.find_tree(id).map_err(git_error)?;
            let mut map = BTreeMap::new();
            for e in tree.iter() {
                let e = e.map_err(git_error)?;
                let mode = e.mode();
                let kind = if mode.is_tree() {
                    Kind::Tree
                } else if mode.is_commit() {
                    Kind::Commit
                } else if mode.is_link() {
                    Kind::Link
                } else if mode.is_executable() {
                    Kind::Executable
                } else {
                    Kind::Blob
                };
                map.insert(
                    String::from_utf8_lossy(e.filename()).into_owned(),
                    (e.oid().to_owned(), kind),
                );
            }
            Ok(map)
        })?;
        let listing = Arc::new(map);
        locked(&self.listings).insert(key, listing.clone());
        Ok(listing)
    }

    /// `path`'s components relative to the working tree, `None` outside it.
    fn relative(&self, path: &Path) -> Option<Vec<String>> {
        let rel = path.strip_prefix(&self.workdir).ok()?;
        Some(
            rel.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                    Component::ParentDir => Some("..".to_owned()),
                    _ => None,
                })
                .collect(),
        )
    }

    /// Resolve `path`: `.` and `..` lexically, symbolic links inside the
    /// tree (the last one only when `follow_last`).
    fn lookup(&self, path: &Path, follow_last: bool) -> io::Result<Found> {
        let outside = || not_found(format!("{} (outside the repository)", path.display()));
        let mut pending: VecDeque<String> = self.relative(path).ok_or_else(outside)?.into();
        let mut dir: Vec<String> = Vec::new();
        let mut hops = 0;
        let mut last: Option<(ObjectId, Kind)> = None;
        while let Some(comp) = pending.pop_front() {
            if comp == "." || comp.is_empty() {
                continue;
            }
            if comp == ".." {
                dir.pop().ok_or_else(outside)?;
                last = None;
                continue;
            }
            let listing = self.listing(&dir)?;
            let Some(&(id, kind)) = listing.get(&comp) else {
                return Err(not_found(path.display()));
            };
            match kind {
                Kind::Link if follow_last || !pending.is_empty() => {
                    hops += 1;
                    if hops > 40 {
                        return Err(io::Error::other(format!(
                            "{}: too many levels of symbolic links",
                            path.display()
                        )));
                    }
                    let target = String::from_utf8_lossy(&self.blob(id)?).into_owned();
                    let target_path = Path::new(&target);
                    let mut comps: Vec<String> = if target_path.is_absolute() {
                        dir.clear();
                        self.relative(target_path).ok_or_else(outside)?
                    } else {
                        target.split('/').map(str::to_owned).collect()
                    };
                    comps.extend(pending.drain(..));
                    pending = comps.into();
                    last = None;
                }
                Kind::Tree => {
                    dir.push(comp);
                    last = Some((id, kind));
                }
                _ if !pending.is_empty() => return Err(not_found(path.display())),
                _ => {
                    dir.push(comp);
                    last = Some((id, kind));
                }
            }
        }
        let (id, kind) = match last {
            Some(l) => l,
            // The root, or a path that ended on `..`.
            None => {
                let id = if dir.is_empty() {
                    self.tree
                } else {
                    let (leaf, parent) = dir.split_last().ok_or_else(outside)?;
                    match self.listing(parent)?.get(leaf) {
                        Some(&(id, Kind::Tree)) => id,
                        _ => return Err(not_found(path.display())),
                    }
                };
                (id, Kind::Tree)
            }
        };
        Ok(Found { rel: dir, id, kind })
    }

    fn walk(
        &self,
        dir: &mut Vec<String>,
        prefix: &str,
        out: &mut Vec<(String, ObjectId, Kind)>,
    ) -> io::Result<()> {
        let listing = self.listing(dir)?;
        for (name, &(id, kind)) in listing.iter() {
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            match kind {
                Kind::Tree => {
                    dir.push(name.clone());
                    self.walk(dir, &rel, out)?;
                    dir.pop();
                }
                Kind::Commit => {}
                _ => out.push((rel, id, kind)),
            }
        }
        Ok(())
    }
}

fn is_meta(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

impl Fs for GitFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let f = self.lookup(path, true)?;
        match f.kind {
            Kind::Blob | Kind::Executable => self.blob(f.id),
            Kind::Tree => Err(io::Error::other(format!("{}: is a directory", path.display()))),
            Kind::Link | Kind::Commit => Err(not_found(path.display())),
        }
    }

    fn kind(&self, path: &Path) -> Option<FileKind> {
        let f = self.lookup(path, true).ok()?;
        Some(match f.kind {
            Kind::Blob | Kind::Executable => FileKind::File,
            Kind::Tree => FileKind::Dir,
            Kind::Link | Kind::Commit => FileKind::Other,
        })
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let f = self.lookup(path, true)?;
        let mut p = self.workdir.clone();
        p.extend(&f.rel);
        Ok(p)
    }

    fn glob(&self, base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
        // The pattern relative to the tree root, `..` resolved lexically.
        let full = if Path::new(pattern).is_absolute() {
            match self.relative(Path::new(pattern)) {
                Some(_) => pattern
                    .strip_prefix(&*self.workdir.to_string_lossy())
                    .unwrap_or(pattern)
                    .to_owned(),
                None => {
                    glob::Pattern::new(pattern).map_err(|e| e.msg.to_owned())?;
                    return Ok(Vec::new());
                }
            }
        } else {
            let Some(base) = self.relative(base) else {
                glob::Pattern::new(pattern).map_err(|e| e.msg.to_owned())?;
                return Ok(Vec::new());
            };
            let base: Vec<String> = base.iter().map(|c| glob::Pattern::escape(c)).collect();
            format!("{}/{pattern}", base.join("/"))
        };
        let mut comps: Vec<&str> = Vec::new();
        for c in full.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if comps.pop().is_none() {
                        return Ok(Vec::new());
                    }
                }
                c => comps.push(c),
            }
        }
        let normalized = comps.join("/");
        let pat = glob::Pattern::new(&normalized).map_err(|e| e.msg.to_owned())?;
        // Walk only below the literal prefix of the pattern.
        let literal: Vec<String> = comps
            .iter()
            .take_while(|c| !is_meta(c))
            .map(|c| (*c).to_owned())
            .collect();
        if literal.len() == comps.len() {
            // No wildcard at all: the path itself.
            let p = self.workdir.join(&normalized);
            return Ok(if self.kind(&p).is_some() {
                vec![p]
            } else {
                Vec::new()
            });
        }
        let Ok(start) = self.lookup(&self.workdir.join(literal.join("/")), true) else {
            return Ok(Vec::new());
        };
        if start.kind != Kind::Tree {
            return Ok(Vec::new());
        }
        let mut dir = start.rel;
        let mut entries = Vec::new();
        self.walk(&mut dir, &literal.join("/"), &mut entries)
            .map_err(|e| e.to_string())?;
        let opts = glob_options();
        Ok(entries
            .into_iter()
            .filter(|(p, _, _)| pat.matches_with(p, opts))
            .map(|(p, _, _)| self.workdir.join(p))
            .collect())
    }

    fn read_dir_all(&self, dir: &Path) -> io::Result<Vec<DirFile>> {
        let found = self.lookup(dir, true)?;
        if found.kind != Kind::Tree {
            return Err(io::Error::other(format!("{}: not a directory", dir.display())));
        }
        let mut d = found.rel.clone();
        let mut entries = Vec::new();
        self.walk(&mut d, "", &mut entries)?;
        let mut out = entries
            .into_iter()
            .map(|(path, id, kind)| {
                Ok(DirFile {
                    path,
                    mode: match kind {
                        Kind::Executable => FileMode::Executable,
                        Kind::Link => FileMode::Symlink,
                        _ => FileMode::Regular,
                    },
                    data: self.blob(id)?,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn reads_a_commit_not_the_working_tree() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(tmp.path()).expect("canonical");
        let w = |p: &str, t: &str| {
            let p = root.join(p);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, t).expect("write");
        };
        git(&root, &["init", "-q", "-b", "main"]);
        w("distro.toml", "includes = [\"components/**/*.toml\"]\n");
        w("components/a.comp.toml", "a");
        w("components/sub/b.comp.toml", "b");
        w("components/sub/notes.txt", "n");
        w("local/x/x.spec", "spec");
        std::os::unix::fs::symlink("../../components/a.comp.toml", root.join("local/x/link.toml"))
            .expect("symlink");
        git(&root, &["add", "-A"]);
        git(&root, &["commit", "-q", "-m", "one"]);
        // The working tree moves on; the commit is what is read.
        w("components/a.comp.toml", "changed");
        w("components/c.comp.toml", "new");
        let repo = gix::open(&root).expect("open");
        let tree = repo
            .head_commit()
            .expect("head")
            .tree_id()
            .expect("tree")
            .detach();
        let fs = GitFs::new(repo.into_sync(), root.clone(), tree);
        assert_eq!(
            fs.read_to_string(&root.join("components/a.comp.toml"))
                .expect("read"),
            "a"
        );
        assert!(!fs.exists(&root.join("components/c.comp.toml")));
        assert_eq!(fs.kind(&root.join("components/sub")), Some(FileKind::Dir));
        assert!(fs.is_file(&root.join("components/sub/../a.comp.toml")));
        assert!(!fs.exists(&root.join("../outside")));
        // Symbolic links are followed within the tree.
        assert_eq!(
            fs.read_to_string(&root.join("local/x/link.toml")).expect("link"),
            "a"
        );
        assert_eq!(
            fs.canonicalize(&root.join("local/x/link.toml"))
                .expect("canonical"),
            root.join("components/a.comp.toml")
        );
        let mut found = fs.glob(&root, "components/**/*.toml").expect("glob");
        found.sort();
        assert_eq!(
            found,
            [
                root.join("components/a.comp.toml"),
                root.join("components/sub/b.comp.toml")
            ]
        );
        let mut found = fs
            .glob(&root.join("local/x"), "../../components/*.toml")
            .expect("glob");
        found.sort();
        assert_eq!(found, [root.join("components/a.comp.toml")]);
        assert!(fs.glob(&root, "components/[").is_err());
        let listed: Vec<(String, FileMode)> = fs
            .read_dir_all(&root.join("local/x"))
            .expect("list")
            .into_iter()
            .map(|f| (f.path, f.mode))
            .collect();
        assert_eq!(
            listed,
            [
                ("link.toml".to_owned(), FileMode::Symlink),
                ("x.spec".to_owned(), FileMode::Regular)
            ]
        );
        // The configuration loader reads through it.
        let loaded = azldev_config::load_with(&fs, &root.join("distro.toml")).expect("load");
        assert_eq!(loaded.config.config_files.len(), 3, "the root and both includes");
    }
}
