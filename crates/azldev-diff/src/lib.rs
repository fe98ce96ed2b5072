//! `azldev-diff`: pull-request previews — what a change to the distro
//! configuration does to the generated specs, whether or not its author
//! re-rendered.
//!
//! Each side is a git revision of the distro repository, read from the
//! object store through [`GitFs`] (nothing is checked out; the working tree
//! is not touched), or the working tree itself. Both sides' configurations
//! are loaded; every component's input fingerprint is computed on both
//! sides from its effective configuration, overlay inputs, local files and
//! the pin in that side's lock file; only components whose fingerprints
//! differ (or cannot be known without resolving a pin) are rendered — in
//! memory, through `azldev-render`, reusing the git object cache — and their
//! trees compared file by file. The work is proportional to what changed,
//! not to the size of the distro.
//!
//! The [`Report`] says, per component: added, removed, renamed (same
//! upstream, new name), changed, failed (with the diagnostic), fixed, or
//! touched (inputs changed, output identical); with `git diff`-style file
//! patches and semantic notes ([`semantic`]). [`format`] turns it into
//! unified diff, stat, Markdown (minijinja, replaceable template) and JSON.
//! Never prints.

pub mod format;
mod gitfs;
pub mod patch;
mod repo;
pub mod semantic;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use azldev_config::fs::{Fs, RealFs};
use azldev_config::{Config, Loaded, ResolvedComponent};
use azldev_overlay::ComponentTree;
use azldev_render::{Options, Prepared, RenderError, SourcePlan};
use azldev_source::GitCache;
use rayon::prelude::*;
use serde::Serialize;

pub use gitfs::GitFs;
pub use patch::{FileDiff, FileStatus};
pub use repo::{DEFAULT_BRANCHES, DistroRepo, Revision};

/// Failures that stop a diff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is not in a git repository: {message}", dir.display())]
    NotARepo { dir: PathBuf, message: String },
    #[error("the git repository at {} has no working tree", .0.display())]
    Bare(PathBuf),
    #[error("`{rev}` is not a revision of the distro repository: {message}")]
    BadRevision { rev: String, message: String },
    #[error("no default branch to compare with (tried {}); name the base revision", DEFAULT_BRANCHES.join(", "))]
    NoDefaultBranch,
    #[error("`{base}` and `{head}` have no common history: {message}")]
    NoMergeBase {
        base: String,
        head: String,
        message: String,
    },
    #[error("git: cannot {what}: {message}")]
    Git { what: String, message: String },
    #[error("at {side}: {source}")]
    Config {
        side: String,
        #[source]
        source: azldev_config::Error,
    },
    #[error("{} is outside the repository at {}", dir.display(), workdir.display())]
    Outside { dir: PathBuf, workdir: PathBuf },
    #[error("template: {0}")]
    Template(String),
}

/// Where one side of a diff is read from.
#[derive(Debug, Clone)]
pub enum At {
    Revision(Revision),
    /// The working tree as it is, uncommitted changes included.
    WorkTree,
}

/// One side: its files and its loaded configuration.
#[derive(Debug)]
pub struct Side {
    /// How the side is shown (`main (merge base)`, `HEAD`, `working tree`).
    pub label: String,
    /// The commit, for a revision.
    pub commit: Option<String>,
    fs: Box<dyn Fs>,
    /// The configuration and its diagnostics (the caller decides whether
    /// errors stop the diff).
    pub loaded: Loaded,
}

impl Side {
    /// Load the configuration at `at`, finding the root file from `start`
    /// (a directory of the working tree) upwards.
    ///
    /// # Errors
    /// `start` is outside the repository, or no root file at that side.
    pub fn open(repo: &DistroRepo, at: At, start: &Path) -> Result<Side, Error> {
        let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
        if !start.starts_with(repo.workdir()) {
            return Err(Error::Outside {
                dir: start,
                workdir: repo.workdir().to_path_buf(),
            });
        }
        let (label, commit, fs): (String, Option<String>, Box<dyn Fs>) = match at {
            At::WorkTree => ("working tree".to_owned(), None, Box::new(RealFs)),
            At::Revision(rev) => (rev.label(), Some(rev.commit.to_string()), Box::new(repo.fs(&rev))),
        };
        let loaded =
            azldev_config::load_from_dir_with(fs.as_ref(), &start).map_err(|source| Error::Config {
                side: label.clone(),
                source,
            })?;
        Ok(Side {
            label,
            commit,
            fs,
            loaded,
        })
    }

    /// A side from a configuration already loaded through `fs`.
    #[must_use]
    pub fn from_loaded(
        label: impl Into<String>,
        commit: Option<String>,
        fs: Box<dyn Fs>,
        loaded: Loaded,
    ) -> Side {
        Side {
            label: label.into(),
            commit,
            fs,
            loaded,
        }
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.loaded.config
    }

    #[must_use]
    pub fn fs(&self) -> &dyn Fs {
        self.fs.as_ref()
    }

    /// `rendered-specs-dir` relative to the distro root (`specs` when it is
    /// elsewhere): the prefix of paths in patches.
    #[must_use]
    pub fn specs_prefix(&self) -> String {
        let c = self.config();
        let out = Options::for_project(c).out_dir;
        out.strip_prefix(&c.root_dir)
            .ok()
            .map(|p| p.to_string_lossy().trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty() && !p.starts_with(".."))
            .unwrap_or_else(|| "specs".to_owned())
    }
}

/// How to diff.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub cache: GitCache,
    /// Never fetch; a pin that is not cached fails that component.
    pub offline: bool,
    /// Fail a component whose pin would have to be resolved.
    pub locked: bool,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Source archives for archive overlays (read, fetched; nothing
    /// produced is stored).
    pub sources: azldev_render::SourceStore,
    /// Section-generating macros known from the project's macro files
    /// (see `azldev_render::Options::section_macros`).
    pub section_macros: Option<std::sync::Arc<azldev_spec::SectionMacros>>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            cache: GitCache::new(GitCache::default_root()),
            offline: false,
            locked: false,
            jobs: None,
            sources: azldev_render::SourceStore::local(),
            section_macros: None,
        }
    }
}

/// What happened to a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Added,
    Removed,
    /// Removed under one name and added under another, same upstream.
    Renamed,
    Changed,
    /// Does not render at the head side.
    Failed,
    /// Failed at the base side, renders at the head side.
    Fixed,
    /// Inputs changed, generated files identical.
    Touched,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Renamed => "renamed",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Fixed => "fixed",
            Status::Touched => "touched",
        }
    }
}

/// One component that differs (or was touched).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ComponentDiff {
    /// The name at the head side (at the base side for a removed one).
    pub name: String,
    pub status: Status,
    /// The base side's name of a renamed component.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_name: Option<String>,
    /// Semantic notes (`Release: 3 → 4`, `patch added: x.patch`, …).
    pub notes: Vec<String>,
    /// Why it does not render at the base side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_error: Option<String>,
    /// Why it does not render at the head side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_error: Option<String>,
    pub files_added: usize,
    pub files_removed: usize,
    pub files_modified: usize,
    /// Moved with a renamed component, content unchanged.
    pub files_renamed: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub files: Vec<FileDiff>,
}

impl ComponentDiff {
    fn new(name: &str, status: Status) -> Self {
        Self {
            name: name.to_owned(),
            status,
            old_name: None,
            notes: Vec::new(),
            base_error: None,
            head_error: None,
            files_added: 0,
            files_removed: 0,
            files_modified: 0,
            files_renamed: 0,
            lines_added: 0,
            lines_removed: 0,
            files: Vec::new(),
        }
    }

    fn set_files(&mut self, files: Vec<FileDiff>) {
        for f in &files {
            match f.status {
                FileStatus::Added => self.files_added += 1,
                FileStatus::Removed => self.files_removed += 1,
                FileStatus::Modified => self.files_modified += 1,
                FileStatus::Renamed => self.files_renamed += 1,
            }
            self.lines_added += f.lines_added;
            self.lines_removed += f.lines_removed;
        }
        self.files = files;
    }

    /// Whether this is a difference in the generated specs (everything but
    /// [`Status::Touched`]).
    #[must_use]
    pub fn differs(&self) -> bool {
        self.status != Status::Touched
    }
}

/// A side as the report shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SideInfo {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Counts over all components.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Summary {
    /// Components on either side.
    pub components: usize,
    pub added: usize,
    pub removed: usize,
    pub renamed: usize,
    pub changed: usize,
    pub failed: usize,
    pub fixed: usize,
    pub touched: usize,
    pub unchanged: usize,
    /// Components rendered to find out (on either side).
    pub rendered: usize,
    pub files_changed: usize,
    pub lines_added: usize,
    pub lines_removed: usize,
}

/// The result of a diff.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Report {
    pub base: SideInfo,
    pub head: SideInfo,
    pub summary: Summary,
    /// Components that differ or were touched, by name.
    pub components: Vec<ComponentDiff>,
}

impl Report {
    /// Whether the generated specs differ.
    #[must_use]
    pub fn has_differences(&self) -> bool {
        self.components.iter().any(ComponentDiff::differs)
    }

    /// Whether a component fails to render at the head side: a failure,
    /// not a difference (the command exits 2, after printing the report).
    #[must_use]
    pub fn has_failures(&self) -> bool {
        self.components.iter().any(|c| c.status == Status::Failed)
    }
}

/// Everything about a component's configuration that a reader would call
/// "touched": the effective configuration and every overlay, metadata and
/// descriptions included (locations excluded).
fn config_signature(c: &ResolvedComponent) -> String {
    let overlays: Vec<&azldev_config::raw::Overlay> = c.overlays.iter().map(|o| &o.overlay.value).collect();
    serde_json::to_string(&(&c.config, overlays, &c.groups, &c.layers)).unwrap_or_default()
}

/// Where a component's packaging comes from, to recognise a rename.
fn source_identity(plan: &SourcePlan) -> String {
    match plan {
        SourcePlan::Upstream {
            url,
            subdir,
            upstream_name,
            ..
        } => format!(
            "upstream\0{url}\0{}\0{upstream_name}",
            subdir.as_deref().unwrap_or("")
        ),
        SourcePlan::Local { relative, .. } => format!("local\0{relative}"),
    }
}

fn render_options(side: &Side, opts: &DiffOptions) -> Options {
    let mut o = Options::for_project(side.config());
    o.cache = opts.cache.clone();
    o.offline = opts.offline;
    o.locked = opts.locked;
    o.jobs = opts.jobs;
    o.sources = opts.sources.clone();
    o.section_macros = opts.section_macros.clone();
    // Release bumps read the history of the side's own commit; the working
    // tree reads HEAD's plus its uncommitted changes.
    if let Some(commit) = &side.commit {
        o.release_history = azldev_render::ReleaseHistory::At(commit.clone());
    }
    o
}

/// One side of one component after rendering (when needed).
enum Outcome {
    Absent,
    /// Inputs identical to the other side's: not rendered.
    Skipped,
    Rendered {
        tree: ComponentTree,
        fingerprint: String,
    },
    Failed(String),
}

struct Entry<'a> {
    name: String,
    components: (Option<&'a ResolvedComponent>, Option<&'a ResolvedComponent>),
    base: Option<Result<Prepared<'a>, RenderError>>,
    head: Option<Result<Prepared<'a>, RenderError>>,
}

impl Entry<'_> {
    /// Both sides present with the same inputs (an unresolved pin is
    /// resolved the same way on both sides), or failing the same way before
    /// rendering with the same configuration.
    fn same_inputs(&self) -> bool {
        match (&self.base, &self.head) {
            (Some(Ok(a)), Some(Ok(b))) => a.fingerprint == b.fingerprint,
            (Some(Err(a)), Some(Err(b))) => {
                a == b
                    && match self.components {
                        (Some(x), Some(y)) => config_signature(x) == config_signature(y),
                        _ => false,
                    }
            }
            _ => false,
        }
    }
}

fn render_side(
    side: &Side,
    entries: &[Entry<'_>],
    base_side: bool,
    opts: &Options,
) -> BTreeMap<String, Result<azldev_render::Rendered, RenderError>> {
    let wanted: Vec<&Prepared<'_>> = entries
        .iter()
        .filter(|e| !e.same_inputs())
        .filter_map(|e| {
            if base_side {
                e.base.as_ref()
            } else {
                e.head.as_ref()
            }
        })
        .filter_map(|p| p.as_ref().ok())
        .collect();
    let results = azldev_render::render_prepared(side.config(), side.fs(), &wanted, opts);
    wanted.iter().map(|p| p.name().to_owned()).zip(results).collect()
}

fn outcome(
    prepared: Option<&Result<Prepared<'_>, RenderError>>,
    rendered: &mut BTreeMap<String, Result<azldev_render::Rendered, RenderError>>,
    name: &str,
    skipped: bool,
) -> Outcome {
    match prepared {
        None => Outcome::Absent,
        Some(Err(e)) => Outcome::Failed(e.to_string()),
        Some(Ok(_)) if skipped => Outcome::Skipped,
        Some(Ok(_)) => match rendered.remove(name) {
            Some(Ok(r)) => Outcome::Rendered {
                tree: r.tree,
                fingerprint: r.lock.fingerprint,
            },
            Some(Err(e)) => Outcome::Failed(e.to_string()),
            None => Outcome::Failed("not rendered".to_owned()),
        },
    }
}

/// The note on a new component shown against its upstream.
pub const UPSTREAM_NOTE: &str = "new: shown against its upstream at the pinned commit";
/// The note on a new component that renders as its upstream publishes it.
pub const UPSTREAM_SAME_NOTE: &str =
    "new: as its upstream publishes it at the pinned commit (no overlay changes it)";

/// A new upstream component as azldev renders it without its overlays
/// (the upstream files at the pin, with the build configuration): what its
/// diff is shown against. `None` for a local component, or when it cannot
/// be rendered that way.
fn upstream_tree(side: &Side, o: &Options, name: &str) -> Option<ComponentTree> {
    let c = side.config().components.get(name)?;
    if c.spec_path.is_some() {
        return None;
    }
    let mut bare = c.clone();
    bare.overlays.clear();
    let p = azldev_render::prepare(side.config(), side.fs(), &bare, o).ok()?;
    let rendered = azldev_render::render_prepared(side.config(), side.fs(), &[&p], o);
    rendered.into_iter().next()?.ok().map(|r| r.tree)
}

/// Compare the generated specs of two sides; see the crate documentation.
pub fn diff(base: &Side, head: &Side, opts: &DiffOptions) -> Report {
    let (bo, ho) = (render_options(base, opts), render_options(head, opts));
    let (bc, hc) = (base.config(), head.config());
    let names: BTreeSet<&String> = bc.components.keys().chain(hc.components.keys()).collect();
    fn prepare<'s>(side: &'s Side, o: &Options, name: &str) -> Option<Result<Prepared<'s>, RenderError>> {
        side.config()
            .components
            .get(name)
            .map(|c| azldev_render::prepare(side.config(), side.fs(), c, o))
    }
    let entries: Vec<Entry<'_>> = {
        let run = || {
            names
                .par_iter()
                .map(|n| Entry {
                    name: (*n).clone(),
                    components: (bc.components.get(*n), hc.components.get(*n)),
                    base: prepare(base, &bo, n),
                    head: prepare(head, &ho, n),
                })
                .collect()
        };
        match rayon::ThreadPoolBuilder::new()
            .num_threads(opts.jobs.unwrap_or(0))
            .build()
        {
            Ok(p) => p.install(run),
            Err(_) => run(),
        }
    };
    let mut base_rendered = render_side(base, &entries, true, &bo);
    let mut head_rendered = render_side(head, &entries, false, &ho);
    let mut summary = Summary {
        components: entries.len(),
        rendered: base_rendered.len() + head_rendered.len(),
        ..Summary::default()
    };
    let (bp, hp) = (base.specs_prefix(), head.specs_prefix());
    let dir_of = |prefix: &str, name: &str| {
        azldev_render::component_dir(Path::new(prefix), name)
            .to_string_lossy()
            .into_owned()
    };

    let mut out: Vec<ComponentDiff> = Vec::new();
    // Added and removed components kept aside to pair renames.
    let mut added: Vec<(ComponentDiff, Option<String>, ComponentTree)> = Vec::new();
    let mut removed: Vec<(ComponentDiff, Option<String>, ComponentTree)> = Vec::new();
    for e in &entries {
        let skipped = e.same_inputs();
        let b = outcome(e.base.as_ref(), &mut base_rendered, &e.name, skipped);
        let h = outcome(e.head.as_ref(), &mut head_rendered, &e.name, skipped);
        let identity = |p: &Option<Result<Prepared<'_>, RenderError>>| {
            p.as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|p| source_identity(p.plan()))
        };
        match (b, h) {
            (Outcome::Absent, Outcome::Absent) => {}
            (Outcome::Failed(_), Outcome::Failed(_)) if skipped => summary.unchanged += 1,
            (Outcome::Skipped, Outcome::Skipped) => {
                let touched = match (&e.base, &e.head) {
                    (Some(Ok(a)), Some(Ok(b))) => {
                        config_signature(a.component()) != config_signature(b.component())
                    }
                    _ => false,
                };
                if touched {
                    out.push(ComponentDiff::new(&e.name, Status::Touched));
                } else {
                    summary.unchanged += 1;
                }
            }
            (Outcome::Absent, Outcome::Rendered { tree, .. }) => {
                let mut d = ComponentDiff::new(&e.name, Status::Added);
                d.set_files(patch::compare(
                    None,
                    Some(patch::Dir {
                        prefix: &dir_of(&hp, &e.name),
                        tree: &tree,
                    }),
                ));
                added.push((d, identity(&e.head), tree));
            }
            (Outcome::Rendered { tree, .. }, Outcome::Absent) => {
                let mut d = ComponentDiff::new(&e.name, Status::Removed);
                d.set_files(patch::compare(
                    Some(patch::Dir {
                        prefix: &dir_of(&bp, &e.name),
                        tree: &tree,
                    }),
                    None,
                ));
                removed.push((d, identity(&e.base), tree));
            }
            (Outcome::Failed(err), Outcome::Absent) => {
                let mut d = ComponentDiff::new(&e.name, Status::Removed);
                d.base_error = Some(err);
                out.push(d);
            }
            (b, Outcome::Failed(err)) => {
                let mut d = ComponentDiff::new(&e.name, Status::Failed);
                d.head_error = Some(err);
                if let Outcome::Failed(be) = b {
                    d.base_error = Some(be);
                }
                out.push(d);
            }
            (Outcome::Failed(err), _) => {
                let mut d = ComponentDiff::new(&e.name, Status::Fixed);
                d.base_error = Some(err);
                out.push(d);
            }
            (
                Outcome::Rendered {
                    tree: bt,
                    fingerprint: bf,
                },
                Outcome::Rendered {
                    tree: ht,
                    fingerprint: hf,
                },
            ) => {
                let files = patch::compare(
                    Some(patch::Dir {
                        prefix: &dir_of(&bp, &e.name),
                        tree: &bt,
                    }),
                    Some(patch::Dir {
                        prefix: &dir_of(&hp, &e.name),
                        tree: &ht,
                    }),
                );
                if files.is_empty() {
                    let touched = bf != hf
                        || match (&e.base, &e.head) {
                            (Some(Ok(a)), Some(Ok(b))) => {
                                config_signature(a.component()) != config_signature(b.component())
                            }
                            _ => false,
                        };
                    if touched {
                        out.push(ComponentDiff::new(&e.name, Status::Touched));
                    } else {
                        summary.unchanged += 1;
                    }
                } else {
                    let mut d = ComponentDiff::new(&e.name, Status::Changed);
                    d.notes = semantic::notes(&bt, &ht);
                    d.notes.extend(semantic::nvr_warning(&bt, &ht));
                    d.set_files(files);
                    out.push(d);
                }
            }
            // One side skipped and the other not cannot happen (skipping
            // needs both sides' inputs); treat defensively as unchanged.
            _ => summary.unchanged += 1,
        }
    }

    // Renames: a removed and an added component with the same upstream,
    // each the only one with it.
    let count = |list: &[(ComponentDiff, Option<String>, ComponentTree)], id: &str| {
        list.iter().filter(|(_, i, _)| i.as_deref() == Some(id)).count()
    };
    let mut renamed_from: BTreeMap<usize, usize> = BTreeMap::new();
    for (ai, (_, id, _)) in added.iter().enumerate() {
        let Some(id) = id else { continue };
        if count(&added, id) == 1
            && count(&removed, id) == 1
            && let Some(ri) = removed
                .iter()
                .position(|(_, i, _)| i.as_deref() == Some(id.as_str()))
        {
            renamed_from.insert(ai, ri);
        }
    }
    let paired: BTreeSet<usize> = renamed_from.values().copied().collect();
    for (ai, (mut d, _, tree)) in added.into_iter().enumerate() {
        if let Some(&ri) = renamed_from.get(&ai) {
            let (old, _, old_tree) = &removed[ri];
            let mut r = ComponentDiff::new(&d.name, Status::Renamed);
            r.old_name = Some(old.name.clone());
            r.set_files(patch::compare(
                Some(patch::Dir {
                    prefix: &dir_of(&bp, &old.name),
                    tree: old_tree,
                }),
                Some(patch::Dir {
                    prefix: &dir_of(&hp, &d.name),
                    tree: &tree,
                }),
            ));
            r.notes = semantic::notes(old_tree, &tree);
            d = r;
        } else if let Some(upstream) = upstream_tree(head, &ho, &d.name) {
            // A new upstream component is shown against what upstream
            // publishes at the pin: the review is of azldev's changes.
            let mut a = ComponentDiff::new(&d.name, Status::Added);
            let prefix = dir_of(&hp, &d.name);
            a.set_files(patch::compare(
                Some(patch::Dir {
                    prefix: &prefix,
                    tree: &upstream,
                }),
                Some(patch::Dir {
                    prefix: &prefix,
                    tree: &tree,
                }),
            ));
            a.notes = semantic::notes(&upstream, &tree);
            let note = if a.files.is_empty() {
                UPSTREAM_SAME_NOTE
            } else {
                UPSTREAM_NOTE
            };
            a.notes.insert(0, note.to_owned());
            d = a;
        }
        out.push(d);
    }
    for (ri, (d, _, _)) in removed.into_iter().enumerate() {
        if !paired.contains(&ri) {
            out.push(d);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.status.cmp(&b.status)));
    for d in &out {
        match d.status {
            Status::Added => summary.added += 1,
            Status::Removed => summary.removed += 1,
            Status::Renamed => summary.renamed += 1,
            Status::Changed => summary.changed += 1,
            Status::Failed => summary.failed += 1,
            Status::Fixed => summary.fixed += 1,
            Status::Touched => summary.touched += 1,
        }
        summary.files_changed += d.files.len();
        summary.lines_added += d.lines_added;
        summary.lines_removed += d.lines_removed;
    }
    Report {
        base: SideInfo {
            label: base.label.clone(),
            commit: base.commit.clone(),
        },
        head: SideInfo {
            label: head.label.clone(),
            commit: head.commit.clone(),
        },
        summary,
        components: out,
    }
}
