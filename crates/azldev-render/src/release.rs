//! Release bumps for downstream changes (`release.calculation = "auto"`).
//!
//! The Release moves exactly when the rendered package changes. Every lock
//! file records `content`, the digest of the component's rendered files
//! after overlays and build configuration but before any bump; a component
//! whose spec has a static `Release: N%{?dist}` gets `N+k`, and one using
//! `%autorelease` gets rpmautospec's number `+k`, where k counts the
//! distro-repository commits that changed `content` since the release base
//! last moved — the upstream pin (`upstream-commit`) for an upstream
//! component, the spec's own Epoch/Version/Release (`release-base`) for a
//! local one:
//!
//! - the first-parent history of the starting commit (HEAD, or the commit a
//!   diff renders) is walked, reading the lock file's blob at each commit
//!   (no checkout); the walk stops at the first commit whose lock names a
//!   different base or has no lock file — the commit that moved the base
//!   resets the count and is not counted;
//! - a commit counts when its lock's content differs from its parent's;
//!   an overlay's `description` or metadata, a new azldev version or a
//!   configuration change that renders the same files change the
//!   fingerprint but not the content, and bump nothing. Locks written
//!   before `content` existed compare by fingerprint among themselves
//!   (upstream components only), and the first lock with `content` after
//!   them is not a change;
//! - when the commit that moved a pin kept the old fingerprint (`azldev
//!   lock update` committed before rendering), the first content change
//!   after it belongs to the pin move and is not counted;
//! - one more while the lock being rendered now has another content than
//!   the starting commit's (the change being made); none if it names
//!   another base (an uncommitted pin move resets the count).
//!
//! One commit per change: the rendered tree must be a function of the
//! committed files, so that a change, its rendered output and its lock go
//! in one commit and `render --check` on that commit reproduces the bytes.
//! So the newest counted change — the commit being made, or, once made,
//! the newest commit that changed the content — moves the Release but has
//! no `%changelog` entry yet: its date, author and message do not exist
//! when it is rendered. Every older counted commit has one (author date,
//! author, `- subject`, `%` escaped) at the top of the changelog, with the
//! release it introduced; it appears with the next change of the
//! component. A commit that does not change the content renders the same
//! bytes, however many follow. `N.M%{?dist}` forms bump the last number
//! (`29.1` → `29.1+k`), so they stay below upstream's next release `N+1`.
//!
//! When the pin moves, the count restarts and the downstream entries of the
//! old pin are no longer generated: upstream's new changelog replaces them
//! (the commits stay in the distro repository's history and in the RPMs
//! built before). Without a git repository k = 0.
//!
//! A local spec using `%autorelease`/`%autochangelog` has the distro
//! repository as its dist-git ([`DistroRepo::series`], [`LocalAuto`]): the
//! same walk, going on across base moves, numbers the content changes
//! (1 for the commit that added the component or moved its Epoch/Version)
//! and gives their entries, with the same rule for the newest one.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use azldev_source::Lock;
use azldev_spec::Spec;

/// One counted commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// Author time, Unix seconds (kept by rebases and cherry-picks).
    pub time: i64,
    /// `Name <email>` of the author.
    pub author: String,
    pub subject: String,
    /// The whole message (rpmautospec's entries take its `-` items).
    pub message: String,
    /// The commit.
    pub commit: Option<gix::ObjectId>,
}

/// One change of a local component's package in the distro repository's
/// first-parent history: a commit whose lock changed `content` or
/// `release-base`, or introduced the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeriesItem {
    pub change: Change,
    /// The commit moved the base (Epoch/Version/Release as the spec writes
    /// them) or introduced the component: the count restarts at 1.
    pub reset: bool,
}

/// The release and changelog of a local `%autorelease`/`%autochangelog`
/// spec, rpmautospec's way with the distro repository as the dist-git.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LocalAuto {
    /// The raw release number (1 for the commit that introduced the
    /// component or changed its version).
    pub release_number: i64,
    /// Entries, oldest first, each with the release number it introduced:
    /// every counted commit but the newest (see the module's notes).
    pub entries: Vec<(Change, i64)>,
}

impl LocalAuto {
    /// From the committed series (oldest first), the lock at the starting
    /// commit and the lock being rendered.
    pub(crate) fn compute(series: &[SeriesItem], start: Option<&Lock>, now: &Lock) -> Self {
        let mut numbered: Vec<(Change, i64)> = Vec::with_capacity(series.len());
        let mut n = 0i64;
        for item in series {
            n = if item.reset { 1 } else { n.saturating_add(1) };
            // `[bump release: N]` on a line of its own raises it to N.
            let bump = azldev_autospec::parse_magic(&item.change.message).bump_release;
            n = n.max(i64::try_from(bump).unwrap_or(i64::MAX));
            numbered.push((item.change.clone(), n));
        }
        match start {
            // Not committed yet (or not in a repository): a new component.
            None => Self {
                release_number: 1,
                entries: numbered,
            },
            Some(start) if base(start) != base(now) => Self {
                release_number: 1,
                entries: numbered,
            },
            Some(start) if content_changed(now, start) => Self {
                release_number: n.saturating_add(1),
                entries: numbered,
            },
            Some(_) => {
                numbered.pop();
                Self {
                    release_number: n.max(1),
                    entries: numbered,
                }
            }
        }
    }
}

/// What the history says about one component's lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LockHistory {
    /// The lock at the starting commit.
    pub start: Option<Lock>,
    /// Counted commits, oldest first.
    pub changes: Vec<Change>,
    /// The next fingerprint change still belongs to the pin move.
    pub pending_pin_move: bool,
}

/// The bump of one render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bump {
    pub count: u64,
    /// Changelog entries, oldest first: every counted change but the
    /// newest (`count - changes.len()` is 1 when count > 0).
    pub changes: Vec<Change>,
}

/// The base the downstream count starts from: the upstream pin, or a
/// local spec's own Epoch/Version/Release.
fn base(l: &Lock) -> (Option<&str>, &str) {
    (l.upstream_commit.as_deref(), l.release_base.as_str())
}

/// Whether `child`'s rendered content differs from `parent`'s.
fn content_changed(child: &Lock, parent: &Lock) -> bool {
    match (child.content.is_empty(), parent.content.is_empty()) {
        (false, false) => child.content != parent.content,
        // Both written before `content` existed: their fingerprints.
        (true, true) => child.upstream_commit.is_some() && child.fingerprint != parent.fingerprint,
        // The first lock with `content`: the same package, newly described.
        _ => false,
    }
}

impl LockHistory {
    /// The bump for a render whose lock is `now`.
    pub(crate) fn bump(&self, now: &Lock) -> Bump {
        let Some(start) = &self.start else {
            return Bump::default();
        };
        if base(start) != base(now) {
            return Bump::default();
        }
        let uncommitted = content_changed(now, start) && !self.pending_pin_move;
        // The newest counted change has no entry (see the module's notes).
        let entries = if uncommitted {
            self.changes.len()
        } else {
            self.changes.len().saturating_sub(1)
        };
        Bump {
            count: self.changes.len() as u64 + u64::from(uncommitted),
            changes: self.changes[..entries].to_vec(),
        }
    }
}

/// The distro repository, opened once per render.
#[derive(Debug)]
pub(crate) struct DistroRepo {
    repo: gix::ThreadSafeRepository,
    start: gix::ObjectId,
    /// The lock directory relative to the work tree, `/`-separated.
    lock_rel: String,
    /// Computed on first use, shared by all components.
    index: std::sync::OnceLock<Result<Index, String>>,
}

/// The versions of one lock file: (commit index, its blob or `None` where
/// it was removed), oldest first.
type LockBlobs = [(usize, Option<gix::ObjectId>)];

/// Reads one lock file's blobs (errors name it by `display`).
struct LockReader {
    repo: gix::Repository,
    display: String,
}

impl LockReader {
    fn parse(&self, blob: gix::ObjectId) -> Result<Lock, String> {
        let data = self
            .repo
            .find_blob(blob)
            .map_err(|e| git_error("read a lock file", &e))?;
        let text = String::from_utf8_lossy(&data.data).into_owned();
        Lock::parse(&text, Path::new(&self.display)).map_err(|e| e.to_string())
    }
}

/// The first-parent chain and where each lock file changed along it.
#[derive(Debug, Default)]
struct Index {
    /// From the starting commit, following first parents.
    commits: Vec<gix::ObjectId>,
    /// Per lock file name: `(i, blob)` for the starting commit (`i = 0`) and
    /// every commit `i` of `commits` whose blob differs from that of commit
    /// `i - 1` (its child); `None`: no such file.
    blobs: HashMap<String, Vec<(usize, Option<gix::ObjectId>)>>,
}

fn git_error(what: &str, e: &dyn std::fmt::Display) -> String {
    format!("distro repository: {what}: {e}")
}

impl DistroRepo {
    /// Open the repository holding `root` and `lock_dir`; `None` when there
    /// is none (or it has no commit, or the lock directory is outside it).
    /// `at`: the commit to start from (HEAD when `None`).
    pub(crate) fn open(root: &Path, lock_dir: &Path, at: Option<&str>) -> Option<Self> {
        let repo = gix::discover(root).ok()?;
        let work = repo.workdir()?.canonicalize().ok()?;
        let locks = lock_dir.canonicalize().ok()?;
        let rel = locks.strip_prefix(&work).ok()?;
        let lock_rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let start = match at {
            None => repo.head_id().ok()?.detach(),
            Some(rev) => repo.rev_parse_single(rev).ok()?.detach(),
        };
        Some(Self {
            repo: repo.into_sync(),
            start,
            lock_rel,
            index: std::sync::OnceLock::new(),
        })
    }

    /// The first-parent chain from `start` and, per lock file, the commits
    /// where its blob changed — computed once for all components: one commit
    /// decode per commit, one tree decode per change of the lock directory.
    fn index(&self) -> Result<&Index, String> {
        let index = self.index.get_or_init(|| {
            let repo = self.repo.to_thread_local();
            let mut index = Index::default();
            let mut next = Some(self.start);
            // The previous (child) link's lock directory and its lock files.
            let mut prev: Option<(Option<gix::ObjectId>, BTreeMap<String, gix::ObjectId>)> = None;
            while let Some(id) = next {
                let c = repo.find_commit(id).map_err(|e| git_error("read a commit", &e))?;
                next = c.parent_ids().next().map(gix::Id::detach);
                let tree = c.tree().map_err(|e| git_error("read a tree", &e))?;
                let locks = if self.lock_rel.is_empty() {
                    Some(tree.id)
                } else {
                    tree.lookup_entry_by_path(&self.lock_rel)
                        .map_err(|e| git_error("read a tree", &e))?
                        .filter(|e| e.mode().is_tree())
                        .map(|e| e.object_id())
                };
                let i = index.commits.len();
                index.commits.push(id);
                if prev.as_ref().is_some_and(|(t, _)| *t == locks) {
                    continue;
                }
                let mut files = BTreeMap::new();
                if let Some(t) = locks {
                    let t = repo.find_tree(t).map_err(|e| git_error("read a tree", &e))?;
                    for e in t.iter() {
                        let e = e.map_err(|e| git_error("read a tree", &e))?;
                        let name = String::from_utf8_lossy(e.filename()).into_owned();
                        if e.mode().is_blob() && name.ends_with(".lock") {
                            files.insert(name, e.oid().to_owned());
                        }
                    }
                }
                let empty = BTreeMap::new();
                let old = prev.as_ref().map_or(&empty, |(_, f)| f);
                for (name, blob) in &files {
                    if old.get(name) != Some(blob) {
                        index
                            .blobs
                            .entry(name.clone())
                            .or_default()
                            .push((i, Some(*blob)));
                    }
                }
                for name in old.keys().filter(|n| !files.contains_key(*n)) {
                    index.blobs.entry(name.clone()).or_default().push((i, None));
                }
                prev = Some((locks, files));
            }
            Ok(index)
        });
        index.as_ref().map_err(Clone::clone)
    }

    /// The versions of `locks/<name>.lock` in the index, oldest first
    /// (`None` where it was removed), its blob at the starting commit, and
    /// a reader of its blobs; `None` when the starting commit has no lock.
    fn lock_blobs(&self, name: &str) -> Result<Option<(&LockBlobs, gix::ObjectId, LockReader)>, String> {
        let index = self.index()?;
        let file = format!("{name}.lock");
        let display = if self.lock_rel.is_empty() {
            file.clone()
        } else {
            format!("{}/{file}", self.lock_rel)
        };
        let Some(blobs) = index.blobs.get(&file) else {
            return Ok(None);
        };
        let Some(&(0, Some(first))) = blobs.first() else {
            return Ok(None);
        };
        let reader = LockReader {
            repo: self.repo.to_thread_local(),
            display,
        };
        Ok(Some((blobs.as_slice(), first, reader)))
    }

    /// The history of `locks/<name>.lock` from the starting commit.
    ///
    /// # Errors
    /// A commit, tree or lock file of the history cannot be read.
    pub(crate) fn history(&self, name: &str) -> Result<LockHistory, String> {
        let index = self.index()?;
        let Some((blobs, first, reader)) = self.lock_blobs(name)? else {
            return Ok(LockHistory::default());
        };
        let parse = |blob| reader.parse(blob);
        let start = parse(first)?;
        // Commits whose lock changed the fingerprint, newest first. Between
        // two entries of `blobs` the lock is the same.
        let mut changed: Vec<gix::ObjectId> = Vec::new();
        let mut pending_pin_move = false;
        let mut lock = start.clone();
        for &(j, blob) in &blobs[1..] {
            let Some(child) = j.checked_sub(1).and_then(|c| index.commits.get(c)) else {
                break;
            };
            let Some(parent_lock) = blob.map(&parse).transpose()? else {
                break;
            };
            if base(&parent_lock) != base(&lock) {
                // `child` moved the base; a pin moved with the old
                // fingerprint (`lock update`): the next change is the pin
                // move's own.
                pending_pin_move =
                    lock.upstream_commit.is_some() && parent_lock.fingerprint == lock.fingerprint;
                break;
            }
            if content_changed(&lock, &parent_lock) {
                changed.push(*child);
            }
            lock = parent_lock;
        }
        changed.reverse();
        if pending_pin_move && !changed.is_empty() {
            changed.remove(0);
            pending_pin_move = false;
        }
        let changes = changed
            .into_iter()
            .map(|id| self.change(id))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(LockHistory {
            start: Some(start),
            changes,
            pending_pin_move,
        })
    }

    /// A commit as a changelog entry's source.
    fn change(&self, id: gix::ObjectId) -> Result<Change, String> {
        let repo = self.repo.to_thread_local();
        let c = repo.find_commit(id).map_err(|e| git_error("read a commit", &e))?;
        let d = c.decode().map_err(|e| git_error("decode a commit", &e))?;
        let a = d.author();
        let time = a.time().map_err(|e| git_error("read a commit date", &e))?.seconds;
        let message = String::from_utf8_lossy(d.message).into_owned();
        let subject = message
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_owned();
        Ok(Change {
            time,
            author: format!("{} <{}>", a.name, a.email),
            subject,
            message,
            commit: Some(id),
        })
    }

    /// The lock at the starting commit and every change of a local
    /// component's package along the first-parent history, oldest first:
    /// commits whose lock changed `content` or `release-base` (a reset),
    /// and the one that introduced the lock (a reset). Unlike
    /// [`Self::history`] the walk goes on across base moves, as
    /// rpmautospec's changelog does across versions; it stops where the
    /// lock file did not exist.
    ///
    /// # Errors
    /// A commit, tree or lock file of the history cannot be read.
    pub(crate) fn series(&self, name: &str) -> Result<(Option<Lock>, Vec<SeriesItem>), String> {
        let index = self.index()?;
        let Some((blobs, first, reader)) = self.lock_blobs(name)? else {
            return Ok((None, Vec::new()));
        };
        let parse = |blob| reader.parse(blob);
        let start = parse(first)?;
        // (commit, reset), newest first.
        let mut items: Vec<(gix::ObjectId, bool)> = Vec::new();
        let mut lock = start.clone();
        let mut introduced_by = index.commits.last().copied();
        for &(j, blob) in &blobs[1..] {
            let Some(child) = j.checked_sub(1).and_then(|c| index.commits.get(c)) else {
                break;
            };
            let Some(parent_lock) = blob.map(&parse).transpose()? else {
                introduced_by = Some(*child);
                break;
            };
            if base(&parent_lock) != base(&lock) {
                items.push((*child, true));
            } else if content_changed(&lock, &parent_lock) {
                items.push((*child, false));
            }
            lock = parent_lock;
        }
        if let Some(id) = introduced_by {
            items.push((id, true));
        }
        items.reverse();
        let series = items
            .into_iter()
            .map(|(id, reset)| {
                Ok(SeriesItem {
                    change: self.change(id)?,
                    reset,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok((Some(start), series))
    }

    /// A file of the repository at a commit (`rel`: `/`-separated, from
    /// the work tree's root); `None` when it is not there.
    pub(crate) fn file_at(&self, commit: gix::ObjectId, rel: &str) -> Option<Vec<u8>> {
        let repo = self.repo.to_thread_local();
        let tree = repo.find_commit(commit).ok()?.tree().ok()?;
        let entry = tree.lookup_entry_by_path(rel).ok()??;
        Some(repo.find_blob(entry.object_id()).ok()?.data.clone())
    }

    /// `path` relative to the work tree, `/`-separated.
    pub(crate) fn relative(&self, path: &Path) -> Option<String> {
        let repo = self.repo.to_thread_local();
        let work = repo.workdir()?.canonicalize().ok()?;
        let dir = path.parent()?.canonicalize().ok()?;
        let rel = dir.strip_prefix(&work).ok()?;
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.push(path.file_name()?.to_string_lossy().into_owned());
        Some(parts.join("/"))
    }
}

/// A static release: the numbers and what follows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StaticRelease {
    /// Everything up to the last number (`29.` of `29.1%{?dist}`).
    pub prefix: String,
    pub last: u64,
    /// The dist suffix as written (possibly empty).
    pub dist: String,
}

impl StaticRelease {
    /// `N`, `N.M…`, optionally followed by `%{?dist}`, `%{dist}` or `%dist`.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let (num, dist) = ["%{?dist}", "%{dist}", "%dist"]
            .iter()
            .find_map(|d| value.strip_suffix(d).map(|n| (n, *d)))
            .unwrap_or((value, ""));
        let parts: Vec<&str> = num.split('.').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let last = parts.last()?;
        let prefix_len = num.len() - last.len();
        Some(Self {
            prefix: num[..prefix_len].to_owned(),
            last: last.parse().ok()?,
            dist: dist.to_owned(),
        })
    }

    /// The release without the dist suffix, bumped by `k`.
    pub(crate) fn plus(&self, k: u64) -> String {
        format!("{}{}", self.prefix, self.last.saturating_add(k))
    }
}

/// Whether a Release value is left to rpmautospec.
fn is_autorelease(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("%autorelease") || v.starts_with("%{autorelease") || v.starts_with("%{?autorelease")
}

/// Apply `bump` to a spec: the main package's Release and the changelog.
/// `Ok(None)`: nothing to change (no bump, or `%autorelease`).
///
/// # Errors
/// The Release tag is missing or not a static number (the message suggests
/// `release.calculation = "manual"`).
pub(crate) fn apply(spec: &[u8], bump: &Bump) -> Result<Option<Vec<u8>>, String> {
    // Nothing to bump: the Release stays exactly as upstream wrote it,
    // whatever its form (most specs with macro-built releases never get a
    // downstream change).
    if bump.count == 0 {
        return Ok(None);
    }
    let parsed = Spec::parse(spec.to_vec());
    let main = 0;
    let releases: Vec<usize> = parsed
        .package_tags(main)
        .filter(|&t| parsed.tags()[t].key == "release")
        .collect();
    let manual = "set `release.calculation = \"manual\"` (or \"static\") on the component to keep it as is";
    if releases.is_empty() {
        return Err(format!("the spec has no Release tag; {manual}"));
    }
    if releases.iter().any(|&t| is_autorelease(&parsed.tag_value(t))) {
        return Ok(None);
    }
    let mut values = Vec::new();
    for &t in &releases {
        let v = parsed.tag_value(t);
        let Some(r) = StaticRelease::parse(&v) else {
            return Err(format!(
                "cannot bump `Release: {v}` for downstream changes (only `N`, `N.M…` with an optional `%{{?dist}}` are understood); {manual}"
            ));
        };
        values.push((t, r));
    }
    // Changelog entries, newest first.
    let version = main_tag(&parsed, "version").unwrap_or_default();
    let epoch = main_tag(&parsed, "epoch").filter(|e| !e.is_empty() && e != "0");
    let base = &values[0].1;
    let mut entries = String::new();
    for (i, ch) in bump.changes.iter().enumerate().rev() {
        // Commits come first; an uncommitted step is the newest.
        let release = base.plus(i as u64 + 1);
        let evr = match &epoch {
            Some(e) => format!("{e}:{version}-{release}"),
            None => format!("{version}-{release}"),
        };
        entries.push_str(&format!(
            "* {} {} - {}\n- {}\n\n",
            azldev_autospec::format_date(ch.time),
            ch.author.replace('%', "%%"),
            evr.replace('%', "%%"),
            ch.subject.replace('%', "%%")
        ));
    }
    // Splices, from the end of the file backwards.
    let mut splices: Vec<(std::ops::Range<usize>, String)> = values
        .iter()
        .map(|(t, r)| {
            (
                parsed.tags()[*t].value.clone(),
                format!("{}{}", r.plus(bump.count), r.dist),
            )
        })
        .collect();
    if !entries.is_empty() {
        splices.push(changelog_splice(&parsed, spec, &entries));
    }
    splices.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let mut out = spec.to_vec();
    for (r, text) in splices {
        out.splice(r, text.into_bytes());
    }
    Ok(Some(out))
}

/// Where `entries` (each ending in a blank line) go: right after the
/// `%changelog` header, or in a new `%changelog` at the end.
fn changelog_splice(parsed: &Spec, spec: &[u8], entries: &str) -> (std::ops::Range<usize>, String) {
    let changelog = parsed
        .sections()
        .iter()
        .find(|s| s.kind == azldev_spec::SectionKind::Changelog && s.header.is_some());
    match changelog.and_then(|s| s.header) {
        Some(h) => {
            let end = parsed.lines()[h].end;
            let nl = if parsed.lines()[h].content_end == end {
                "\n"
            } else {
                ""
            };
            (end..end, format!("{nl}{entries}"))
        }
        None => {
            let end = spec.len();
            let nl = if spec.ends_with(b"\n") || spec.is_empty() {
                ""
            } else {
                "\n"
            };
            let entries = entries.trim_end_matches('\n');
            (end..end, format!("{nl}\n%changelog\n{entries}\n"))
        }
    }
}

/// Put changelog `entries` (each ending in a blank line) at the top of a
/// spec's own `%changelog`: the downstream entries of a spec using
/// `%autorelease` with a hand-written changelog.
pub(crate) fn insert_entries(spec: &[u8], entries: &str) -> Vec<u8> {
    if entries.is_empty() {
        return spec.to_vec();
    }
    let parsed = Spec::parse(spec.to_vec());
    let (r, text) = changelog_splice(&parsed, spec, entries);
    let mut out = spec.to_vec();
    out.splice(r, text.into_bytes());
    out
}

/// A main-package tag's value, expanded when possible.
fn main_tag(spec: &Spec, key: &str) -> Option<String> {
    let t = spec.package_tags(0).find(|&t| spec.tags()[t].key == key)?;
    let v = spec.tag_value(t);
    let e = spec.expand(&v);
    Some(if e.resolved { e.text } else { v.into_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(time: i64, subject: &str) -> Change {
        Change {
            time,
            author: "Ann Example <ann@example.org>".into(),
            subject: subject.into(),
            message: format!("{subject}\n"),
            commit: None,
        }
    }

    #[test]
    fn local_autorelease_numbers() {
        let local = |base: &str, content: &str| Lock {
            upstream_commit: None,
            upstream_url: None,
            resolved_from: azldev_source::ResolvedFrom::Local,
            fingerprint: String::new(),
            content: content.into(),
            release_base: base.into(),
        };
        let item = |t: i64, s: &str, reset: bool| SeriesItem {
            change: change(t, s),
            reset,
        };
        let now = local(":1.0-%autorelease", "c2");
        // Nothing committed: 1, no entries.
        assert_eq!(LocalAuto::compute(&[], None, &now).release_number, 1);
        let series = [item(1, "Add", true), item(2, "Fix", false)];
        let start = local(":1.0-%autorelease", "c2");
        // Committed: the newest change has no entry yet.
        let a = LocalAuto::compute(&series, Some(&start), &now);
        assert_eq!(a.release_number, 2);
        assert_eq!(
            a.entries
                .iter()
                .map(|(c, n)| (c.subject.as_str(), *n))
                .collect::<Vec<_>>(),
            [("Add", 1)]
        );
        // The change being made: 3, every commit has its entry.
        let a = LocalAuto::compute(&series, Some(&start), &local(":1.0-%autorelease", "c3"));
        assert_eq!((a.release_number, a.entries.len()), (3, 2));
        // A new version being made: 1 again, the old entries stay.
        let a = LocalAuto::compute(&series, Some(&start), &local(":1.1-%autorelease", "c3"));
        assert_eq!((a.release_number, a.entries.len()), (1, 2));
        // `[bump release: 7]` raises the number; counting goes on from it.
        let mut bumped = item(2, "Fix", false);
        bumped.change.message = "Fix\n\n[bump release: 7]\n".into();
        let a = LocalAuto::compute(
            &[item(1, "Add", true), bumped],
            Some(&start),
            &local(":1.0-%autorelease", "c3"),
        );
        assert_eq!(
            (
                a.release_number,
                a.entries.iter().map(|(_, n)| *n).collect::<Vec<_>>()
            ),
            (8, vec![1, 7])
        );
        // Committed after the version change.
        let series = [item(1, "Add", true), item(2, "Fix", false), item(3, "1.1", true)];
        let a = LocalAuto::compute(
            &series,
            Some(&local(":1.1-%autorelease", "c3")),
            &local(":1.1-%autorelease", "c3"),
        );
        assert_eq!(
            (
                a.release_number,
                a.entries.iter().map(|(_, n)| *n).collect::<Vec<_>>()
            ),
            (1, vec![1, 2])
        );
    }

    #[test]
    fn parses_static_releases() {
        let r = StaticRelease::parse("29%{?dist}").expect("static");
        assert_eq!((r.prefix.as_str(), r.last, r.dist.as_str()), ("", 29, "%{?dist}"));
        assert_eq!(r.plus(1), "30");
        let r = StaticRelease::parse(" 3.1%{dist} ").expect("static");
        assert_eq!((r.prefix.as_str(), r.last, r.dist.as_str()), ("3.", 1, "%{dist}"));
        assert_eq!(r.plus(2), "3.3");
        assert_eq!(StaticRelease::parse("7").map(|r| r.plus(0)), Some("7".into()));
        assert!(StaticRelease::parse("7%dist").is_some());
        for bad in [
            "",
            "%{?dist}",
            "0.rc1%{?dist}",
            "1.%{?dist}",
            "%{baserelease}%{?dist}",
            "1%{?dist}.1",
            "x",
        ] {
            assert_eq!(StaticRelease::parse(bad), None, "{bad}");
        }
    }

    const SPEC: &str = "Name: foo\nVersion: 1.2\nRelease:        29%{?dist}\nSummary: x\n\n%description\nx\n\n%changelog\n* Mon Jan 05 2026 Up Stream <up@example.org> - 1.2-29\n- Upstream\n";

    #[test]
    fn bumps_release_and_adds_entries() {
        let bump = Bump {
            count: 3,
            changes: vec![
                change(1_777_507_200, "Fix 100% of it"),
                change(1_777_593_600, "Second"),
            ],
        };
        let out = apply(SPEC.as_bytes(), &bump).expect("ok").expect("changed");
        let out = String::from_utf8(out).expect("utf-8");
        assert!(out.contains("Release:        32%{?dist}\n"), "{out}");
        assert!(
            out.ends_with(
                "%changelog\n* Fri May 01 2026 Ann Example <ann@example.org> - 1.2-31\n- Second\n\n\
                 * Thu Apr 30 2026 Ann Example <ann@example.org> - 1.2-30\n- Fix 100%% of it\n\n\
                 * Mon Jan 05 2026 Up Stream <up@example.org> - 1.2-29\n- Upstream\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn no_bump_no_change_and_autorelease_left_alone() {
        assert_eq!(apply(SPEC.as_bytes(), &Bump::default()), Ok(None));
        let auto = "Name: foo\nVersion: 1\nRelease: %autorelease\n";
        let bump = Bump {
            count: 1,
            changes: Vec::new(),
        };
        assert_eq!(apply(auto.as_bytes(), &bump), Ok(None));
    }

    #[test]
    fn unparseable_release_suggests_manual() {
        let spec = "Name: foo\nVersion: 1\nRelease: %{rel}.git%{?dist}\n";
        let one = Bump {
            count: 1,
            changes: vec![change(0, "x")],
        };
        let e = apply(spec.as_bytes(), &one).expect_err("error");
        assert!(e.contains("manual"), "{e}");
        let e = apply(b"Name: foo\nVersion: 1\n", &one).expect_err("error");
        assert!(e.contains("manual"), "{e}");
        // Without a downstream change nothing is bumped, so any form is fine.
        assert_eq!(apply(spec.as_bytes(), &Bump::default()), Ok(None));
    }

    #[test]
    fn epoch_and_missing_changelog() {
        let spec = "Name: foo\nEpoch: 2\nVersion: 1\nRelease: 4\n\n%description\nx";
        let bump = Bump {
            count: 2,
            changes: vec![change(0, "One")],
        };
        let out = apply(spec.as_bytes(), &bump).expect("ok").expect("changed");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "Name: foo\nEpoch: 2\nVersion: 1\nRelease: 6\n\n%description\nx\n\n%changelog\n\
             * Thu Jan 01 1970 Ann Example <ann@example.org> - 2:1-5\n- One\n"
        );
    }

    #[test]
    fn entries_go_on_top_of_a_hand_written_changelog() {
        let spec = "Name: foo\nRelease: %autorelease\n\n%changelog\n* Mon Jan 05 2026 Up <u@e> - 1-1\n- Up\n";
        let out = insert_entries(spec.as_bytes(), "* Fri May 01 2026 A <a@e> - 1-2\n- Ours\n\n");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "Name: foo\nRelease: %autorelease\n\n%changelog\n* Fri May 01 2026 A <a@e> - 1-2\n- Ours\n\n* Mon Jan 05 2026 Up <u@e> - 1-1\n- Up\n"
        );
        assert_eq!(insert_entries(spec.as_bytes(), ""), spec.as_bytes());
    }

    #[test]
    fn bump_from_history() {
        let lock = |commit: &str, content: &str| Lock {
            upstream_commit: Some(commit.into()),
            upstream_url: None,
            resolved_from: azldev_source::ResolvedFrom::Local,
            fingerprint: format!("fp-{content}"),
            content: content.into(),
            release_base: String::new(),
        };
        let h = LockHistory {
            start: Some(lock("a", "c1")),
            changes: vec![change(0, "x"), change(1, "y")],
            pending_pin_move: false,
        };
        // Committed: the newest change has no entry yet.
        let b = h.bump(&lock("a", "c1"));
        assert_eq!((b.count, b.changes.len()), (2, 1));
        assert_eq!(b.changes[0].subject, "x");
        // The change being made: +1, and every commit has its entry.
        let b = h.bump(&lock("a", "c2"));
        assert_eq!((b.count, b.changes.len()), (3, 2));
        // Only the fingerprint differs (a description): no change.
        let same = Lock {
            fingerprint: "other".into(),
            ..lock("a", "c1")
        };
        assert_eq!(h.bump(&same).count, 2);
        assert_eq!(h.bump(&lock("b", "c2")), Bump::default());
        let pending = LockHistory {
            pending_pin_move: true,
            changes: Vec::new(),
            ..h.clone()
        };
        assert_eq!(pending.bump(&lock("a", "c2")).count, 0);
        assert_eq!(LockHistory::default().bump(&lock("a", "c1")), Bump::default());
        // Locks from before `content`: fingerprints compare among them; the
        // first lock with content is not a change.
        let old = |fp: &str| Lock {
            content: String::new(),
            fingerprint: fp.into(),
            ..lock("a", "")
        };
        assert!(content_changed(&old("f2"), &old("f1")));
        assert!(!content_changed(&lock("a", "c1"), &old("f1")));
        // A local component: its own Epoch/Version/Release is the base.
        let local = |base: &str, content: &str| Lock {
            upstream_commit: None,
            release_base: base.into(),
            ..lock("", content)
        };
        let h = LockHistory {
            start: Some(local(":1.0-1", "c1")),
            changes: Vec::new(),
            pending_pin_move: false,
        };
        assert_eq!(h.bump(&local(":1.0-1", "c2")).count, 1);
        assert_eq!(h.bump(&local(":1.0-2", "c2")).count, 0);
        let old_local = |fp: &str| Lock {
            upstream_commit: None,
            ..old(fp)
        };
        assert!(!content_changed(&old_local("f2"), &old_local("f1")));
    }
}
