//! The distro repository: finding it, resolving revisions, the default base.

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::Error;
use crate::gitfs::GitFs;

/// Branches tried, in order, for the default base revision.
pub const DEFAULT_BRANCHES: [&str; 4] = ["main", "master", "origin/main", "origin/master"];

/// The git repository holding the distro.
#[derive(Debug, Clone)]
pub struct DistroRepo {
    repo: gix::ThreadSafeRepository,
    workdir: PathBuf,
}

/// A resolved revision of the distro repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// As the user wrote it (or the default branch it was derived from).
    pub spec: String,
    pub commit: ObjectId,
    pub tree: ObjectId,
    /// The merge base of `spec` and the other side, rather than `spec` itself.
    pub merge_base: bool,
}

impl Revision {
    /// How the revision is shown: `main`, or `main (merge base)`.
    #[must_use]
    pub fn label(&self) -> String {
        if self.merge_base {
            format!("{} (merge base)", self.spec)
        } else {
            self.spec.clone()
        }
    }
}

fn git(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Git {
        what: what.to_owned(),
        message: e.to_string(),
    }
}

impl DistroRepo {
    /// The repository `dir` is in (its working tree must exist).
    ///
    /// # Errors
    /// Not in a git repository, or a bare one.
    pub fn discover(dir: &Path) -> Result<Self, Error> {
        let repo = gix::discover(dir).map_err(|e| Error::NotARepo {
            dir: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let workdir = repo
            .workdir()
            .ok_or_else(|| Error::Bare(repo.git_dir().to_path_buf()))?;
        let workdir = std::fs::canonicalize(workdir).map_err(|e| git("find the working tree", e))?;
        Ok(Self {
            repo: repo.into_sync(),
            workdir,
        })
    }

    /// The working tree's directory (absolute, canonical).
    #[must_use]
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// Resolve a revision (`main`, `HEAD~2`, a commit id, a tag) to a commit.
    ///
    /// # Errors
    /// It names no commit.
    pub fn resolve(&self, spec: &str) -> Result<Revision, Error> {
        let bad = |message: String| Error::BadRevision {
            rev: spec.to_owned(),
            message,
        };
        let repo = self.repo.to_thread_local();
        let id = repo.rev_parse_single(spec).map_err(|e| bad(e.to_string()))?;
        let commit = id
            .object()
            .map_err(|e| bad(e.to_string()))?
            .peel_to_commit()
            .map_err(|e| bad(e.to_string()))?;
        let tree = commit.tree_id().map_err(|e| bad(e.to_string()))?.detach();
        Ok(Revision {
            spec: spec.to_owned(),
            commit: commit.id,
            tree,
            merge_base: false,
        })
    }

    /// The merge base of `head` (default: `HEAD`) with the default branch:
    /// the first of [`DEFAULT_BRANCHES`] that exists.
    ///
    /// # Errors
    /// No default branch, or no common history.
    pub fn default_base(&self, head: Option<&Revision>) -> Result<Revision, Error> {
        let head = match head {
            Some(h) => h.clone(),
            None => self.resolve("HEAD")?,
        };
        let branch = DEFAULT_BRANCHES
            .iter()
            .find_map(|b| self.resolve(b).ok())
            .ok_or(Error::NoDefaultBranch)?;
        let repo = self.repo.to_thread_local();
        let base = repo
            .merge_base(branch.commit, head.commit)
            .map_err(|e| Error::NoMergeBase {
                base: branch.spec.clone(),
                head: head.spec.clone(),
                message: e.to_string(),
            })?
            .detach();
        let mut rev = self.resolve(&base.to_string())?;
        rev.spec = branch.spec;
        rev.merge_base = true;
        Ok(rev)
    }

    /// The files of `rev`, read from the object store.
    #[must_use]
    pub fn fs(&self, rev: &Revision) -> GitFs {
        GitFs::new(self.repo.clone(), self.workdir.clone(), rev.tree)
    }
}
