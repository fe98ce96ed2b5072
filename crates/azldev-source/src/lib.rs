//! `azldev-source`: pinned upstream sources.
//!
//! A persistent cache of bare git repositories (one per remote URL, fetched
//! incrementally with gix, read from the object store without checkouts,
//! locked per entry so concurrent processes cannot corrupt it), resolution of
//! branches and snapshot dates to commits, lock files, and `sources` files.
//! Only `https`, `http`, `file` and path remotes are accepted. This crate
//! knows nothing about overlays.

mod cache;
mod lock;
mod lookaside;
mod sources;
pub mod time;
mod url;

use std::path::{Path, PathBuf};

pub use cache::{CachedRepo, Entry, EntryMode, GitCache, Network, Want};
pub use gix::ObjectId;
pub use lock::{Lock, ResolvedFrom};
#[cfg(feature = "http")]
pub use lookaside::HttpTransport;
pub use lookaside::{
    Body, ExtraOrigin, ExtraSource, FetchItem, FetchReport, Fetched, HashKind, Limits, Lookaside,
    SourceCache, SourcesError, Transport, checked_hash, digest_bytes, digest_file, fetch_all, fetch_one,
    merge,
};
pub use sources::{SourceLine, parse_sources};
pub use url::Remote;

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("remote `{url}` refused: {why}")]
    RefusedUrl { url: String, why: String },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("git ({url}): cannot {what}: {message}")]
    Git {
        url: String,
        what: String,
        message: String,
    },
    #[error("offline, and {what} of {url} is not in the cache")]
    NotCached { url: String, what: String },
    #[error("{url} has no branch `{branch}`")]
    NoBranch { url: String, branch: String },
    #[error("{url} has no commit {commit}")]
    NoCommit { url: String, commit: String },
    #[error("{url} at {commit} has no directory `{path}`")]
    NoPath {
        url: String,
        commit: String,
        path: String,
    },
    #[error("`{0}` is not a date (expected RFC 3339, e.g. 2026-02-24T00:00:00-08:00)")]
    BadSnapshot(String),
    #[error("branch `{branch}` has no commit at or before {snapshot}")]
    NothingBefore { branch: String, snapshot: String },
    #[error("{path}: not a valid lock file: {message}")]
    BadLock { path: PathBuf, message: String },
}

/// Write a file atomically: a temporary file in the same directory, then a
/// rename, so readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
