//! `azldev-autospec`: rpmautospec-compatible `%autorelease` and
//! `%autochangelog`, computed natively from a dist-git history with gix.
//!
//! Given a repository, a commit and where the package lives in it, this
//! computes what `rpmautospec process-distgit` (0.8) computes on a clean
//! checkout of that commit — the release number and the changelog — and
//! writes the processed spec byte for byte as it does: the
//! `## START: Set by rpmautospec` block first, the `%changelog` replaced
//! by the generated entries.
//!
//! ```no_run
//! # fn f(repo: &gix::Repository, commit: gix::ObjectId) -> Result<(), azldev_autospec::Error> {
//! use azldev_autospec::{Options, Package, process};
//! let pkg = Package { dir: "", spec_name: "foo.spec" };
//! if let Some(done) = process(repo, commit, pkg, &Options::default())? {
//!     println!("release {}", done.history.release);
//!     std::fs::write("foo.spec", &done.spec).ok();
//! }
//! # Ok(()) }
//! ```
//!
//! What it follows from rpmautospec (see `shared/docs/rpmautospec-behaviour.md`):
//!
//! - Every commit whose tree has the spec adds one to the release number;
//!   only a change of the expanded `epoch:version` (evaluated per commit)
//!   restarts it; `[bump release: N]` on a line of its own raises it to N;
//!   merges take the maximum of their parents (with the same version).
//! - `%autorelease` options `-b`, `-e`, `-s`, `-p`, `-n` as rpmautospec's
//!   probe definition sees them; the block stores the raw number.
//! - The changelog: the `changelog` file verbatim where it last changed,
//!   newer commits' messages as entries (committer date in UTC, author,
//!   EVR, subject and `-` bullets, `%` doubled, wrapped like Python's
//!   textwrap), `[skip changelog]`, merges following the parent with the
//!   same tree, or one `RPMAUTOSPEC: unresolvable merge` entry.
//! - The walk's pruning and order (which commits are processed) exactly,
//!   since they decide what results may draw on.
//!
//! rpmautospec needs the spec at the repository root. For a package in a
//! subdirectory (`dist-git-path`, e.g. `SPECS/foo`), the history is first
//! simplified to the commits that change that directory, as `git log
//! --simplify-merges -- SPECS/foo` shows it (what `git filter-branch
//! --subdirectory-filter` turns into a repository of its own); the result
//! is rpmautospec's on that repository.
//!
//! rpm itself is not used: a small evaluator reads Version, Epoch and
//! Release (see [`specinfo`]). What it cannot evaluate is reported in
//! [`History::unresolved`], never guessed silently.

mod changelog;
mod graph;
mod history;
mod rewrite;
pub mod specinfo;
mod textwrap;

use std::collections::HashMap;
use std::rc::Rc;

pub use changelog::{Entry, EntryBody, Magic, commitlog_items, format_date, parse_magic};
pub use gix::ObjectId;
pub use rewrite::{Features, features, header_block, rewrite};
pub use specinfo::VerFlags;
pub use textwrap::fill;

/// The rpmautospec version named in the block by default: the one Azure
/// Linux 4.0's specs were processed with.
pub const DEFAULT_RPMAUTOSPEC_VERSION: &str = "0.8.3";

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("git: cannot {what}: {message}")]
    Git { what: String, message: String },
    #[error("no commit {0} in the repository")]
    NoCommit(String),
    #[error("no `{path}` at commit {commit}")]
    NoSpec { commit: String, path: String },
    #[error("cannot parse `{path}` at commit {commit}: {detail}")]
    Unparseable {
        commit: String,
        path: String,
        detail: String,
    },
}

/// Where the package is in the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package<'a> {
    /// Directory of the package ("" for the repository root; `SPECS/foo`
    /// for a `dist-git-path`).
    pub dir: &'a str,
    /// File name of the spec in that directory (`foo.spec`).
    pub spec_name: &'a str,
}

impl Package<'_> {
    /// Path of the spec inside the repository.
    pub fn spec_path(&self) -> String {
        let dir = self.dir.trim_matches('/');
        if dir.is_empty() {
            self.spec_name.to_owned()
        } else {
            format!("{dir}/{}", self.spec_name)
        }
    }
}

/// Settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The version named in `## (rpmautospec version …)`.
    pub rpmautospec_version: String,
    /// Macros defined before the spec is read (the build system's, e.g.
    /// `fedora`); none by default, as with rpmautospec in a bare chroot.
    pub macros: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            rpmautospec_version: DEFAULT_RPMAUTOSPEC_VERSION.to_owned(),
            macros: Vec::new(),
        }
    }
}

/// The release and changelog of a package at a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The commit the results are for (for a subdirectory package, the
    /// newest commit at or before the one asked for that changed it).
    pub head: ObjectId,
    /// The number stored in the block (`release_number = N;`).
    pub release_number: i64,
    /// The complete release without dist tag (`0.` for `-p`, the base
    /// added, `.EXTRA`, `.SNAPSHOT`), as in the newest entry's header.
    pub release: String,
    /// `epoch:version` of the spec at the head.
    pub epoch_version: String,
    /// The `%autorelease` options at the head.
    pub flags: VerFlags,
    /// The changelog, newest first (empty unless asked for).
    pub entries: Vec<Entry>,
    /// Commits in the package's history graph.
    pub commits: usize,
    /// Commits the walk processed.
    pub processed: usize,
    /// Spec constructs that were not evaluated (rpm might have): the
    /// versions may be off where these matter.
    pub unresolved: Vec<String>,
}

impl History {
    /// The entries as rpmautospec joins them (blank line between entries,
    /// no trailing newline of its own).
    pub fn changelog(&self) -> String {
        self.entries
            .iter()
            .map(Entry::format)
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// A processed spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub spec: Vec<u8>,
    pub history: History,
}

/// Compute the release number and (with `with_changelog`) the changelog of
/// the package at `head`.
pub fn history(
    repo: &gix::Repository,
    head: ObjectId,
    pkg: Package<'_>,
    opts: &Options,
    with_changelog: bool,
) -> Result<History, Error> {
    let dir = pkg.dir.trim_matches('/');
    let g = graph::load(repo, head, dir, pkg.spec_name)?;
    let head_commit = g.commits[0].id;
    let mut cache = history::SpecCache {
        repo,
        predefined: &opts.macros,
        by_blob: HashMap::new(),
        missing: Rc::new(specinfo::Evaluated {
            flags: Err("Spec file is missing.".into()),
            unresolved: Vec::new(),
        }),
    };
    if g.commits[0].spec.is_none() {
        return Err(Error::NoSpec {
            commit: head.to_string(),
            path: pkg.spec_path(),
        });
    }
    let blobs: Vec<Option<ObjectId>> = g.commits.iter().map(|c| c.spec).collect();
    for (id, e) in evaluate_all(repo, &blobs, &opts.macros) {
        cache.by_blob.insert(id, Rc::new(e));
    }
    let outcome = history::walk(&g, &mut |i| cache.get(blobs[i]), with_changelog);
    let flags = outcome.flags.clone().map_err(|detail| Error::Unparseable {
        commit: head_commit.to_string(),
        path: pkg.spec_path(),
        detail,
    })?;
    let mut entries = Vec::new();
    let mut cur = outcome.changelog;
    while let Some(i) = cur {
        let l = &outcome.links[i];
        let c = &g.commits[l.commit];
        let body = match &l.item {
            history::Item::Commit => EntryBody::Commit {
                message: c.message.clone(),
            },
            history::Item::UnresolvableMerge => EntryBody::Error("unresolvable merge".into()),
            history::Item::Verbatim(blob) => {
                let data = repo
                    .find_blob(*blob)
                    .map_err(|e| Error::Git {
                        what: "read the changelog file".into(),
                        message: e.to_string(),
                    })?
                    .data
                    .clone();
                EntryBody::Verbatim(String::from_utf8_lossy(&data).into_owned())
            }
        };
        entries.push(Entry {
            commit: c.id,
            time: c.time,
            author: c.author.clone(),
            epoch_version: l.epoch_version.clone(),
            release: l.release.clone(),
            body,
        });
        cur = l.next;
    }
    let mut unresolved: Vec<String> = Vec::new();
    let mut evaluated: Vec<_> = cache.by_blob.values().collect();
    evaluated.sort_by(|a, b| a.unresolved.cmp(&b.unresolved));
    for e in evaluated {
        for u in &e.unresolved {
            if !unresolved.contains(u) {
                unresolved.push(u.clone());
            }
        }
    }
    Ok(History {
        head: head_commit,
        release_number: outcome.release_number,
        release: outcome.release,
        epoch_version: flags.epoch_version.clone(),
        flags,
        entries,
        commits: g.commits.len(),
        processed: outcome.processed,
        unresolved,
    })
}

/// Evaluate every distinct spec blob of the history, on several threads
/// when there are many (a kernel-sized history has thousands).
fn evaluate_all(
    repo: &gix::Repository,
    blobs: &[Option<ObjectId>],
    macros: &[(String, String)],
) -> Vec<(ObjectId, specinfo::Evaluated)> {
    // In history order: neighbouring versions share delta chains in packs.
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<ObjectId> = blobs
        .iter()
        .flatten()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    let threads = if distinct.len() < 64 { 1 } else { threads };
    let eval = |repo: &gix::Repository, ids: &[ObjectId]| -> Vec<(ObjectId, specinfo::Evaluated)> {
        ids.iter()
            .map(|&id| {
                let e = match repo.find_blob(id) {
                    Ok(b) => specinfo::evaluate(&b.data, macros),
                    Err(e) => specinfo::Evaluated {
                        flags: Err(format!("cannot read the spec: {e}")),
                        unresolved: Vec::new(),
                    },
                };
                (id, e)
            })
            .collect()
    };
    let mut local = repo.clone();
    local.object_cache_size_if_unset(32 * 1024 * 1024);
    if threads <= 1 {
        return eval(&local, &distinct);
    }
    let shared = local.into_sync();
    let chunk = distinct.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = distinct
            .chunks(chunk)
            .map(|ids| {
                let shared = &shared;
                let eval = &eval;
                s.spawn(move || {
                    let mut r = shared.to_thread_local();
                    r.object_cache_size_if_unset(32 * 1024 * 1024);
                    eval(&r, ids)
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Process the package's spec at `head` as `rpmautospec process-distgit`
/// does on a clean checkout. `None` when there is nothing to do (neither
/// macro used and a changelog of its own, or already processed).
pub fn process(
    repo: &gix::Repository,
    head: ObjectId,
    pkg: Package<'_>,
    opts: &Options,
) -> Result<Option<Processed>, Error> {
    let spec = read_spec(repo, head, pkg)?;
    process_spec(repo, head, pkg, &spec, opts)
}

/// [`process`] with the spec text at `head` already at hand (the caller
/// read the tree). The text must be the commit's, unmodified.
pub fn process_spec(
    repo: &gix::Repository,
    head: ObjectId,
    pkg: Package<'_>,
    spec: &[u8],
    opts: &Options,
) -> Result<Option<Processed>, Error> {
    let f = features(spec);
    if !f.processing_necessary() {
        return Ok(None);
    }
    let history = history(repo, head, pkg, opts, f.needs_autochangelog())?;
    let text = rewrite(
        spec,
        &f,
        &opts.rpmautospec_version,
        history.release_number,
        &history.changelog(),
    );
    Ok(Some(Processed { spec: text, history }))
}

/// The spec file of the package at a commit.
pub fn read_spec(repo: &gix::Repository, head: ObjectId, pkg: Package<'_>) -> Result<Vec<u8>, Error> {
    let path = pkg.spec_path();
    let no_spec = || Error::NoSpec {
        commit: head.to_string(),
        path: path.clone(),
    };
    let commit = repo
        .find_commit(head)
        .map_err(|_| Error::NoCommit(head.to_string()))?;
    let tree = commit.tree().map_err(|e| Error::Git {
        what: "read a tree".into(),
        message: e.to_string(),
    })?;
    let entry = tree
        .lookup_entry_by_path(&path)
        .map_err(|e| Error::Git {
            what: "read a tree".into(),
            message: e.to_string(),
        })?
        .ok_or_else(no_spec)?;
    let blob = repo.find_blob(entry.object_id()).map_err(|_| no_spec())?;
    Ok(blob.data.clone())
}
