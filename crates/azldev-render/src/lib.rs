//! `azldev-render`: the per-component pipeline — effective configuration →
//! upstream tree at the pinned commit → overlays → build configuration →
//! `<out>/<l>/<name>/` — parallel over components, incremental (a component
//! whose input fingerprint is unchanged is not recomputed), atomic (each
//! directory is swapped in whole), with a drift check for CI. It never
//! prints: progress goes to a caller-supplied callback.

mod archives;
mod files;
pub mod output;
mod plan;
pub mod refuse;
mod release;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use azldev_config::fs::{DirFile, Fs, RealFs};
use azldev_config::{Config, Loc, ResolvedComponent, ResolvedOverlay};
use azldev_overlay::{ComponentTree, OpError};
use azldev_source::{CachedRepo, GitCache, Lock, Network, ObjectId, ResolvedFrom, Want};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub use archives::{SourceStore, lookaside, origins_disabled};
pub use plan::{SourcePlan, component_dir, plan};

/// Why a component could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{message}")]
    Config { component: String, message: String },
    #[error(transparent)]
    Source(#[from] azldev_source::Error),
    #[error("{0}")]
    Overlay(String, Option<Loc>),
    /// Overlays that failed (every failing one of the component).
    #[error("{}", problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Overlays { problems: Vec<OverlayProblem> },
    #[error("upstream: {0}")]
    Upstream(String),
    #[error(
        "the pinned upstream commit {commit} no longer exists in {url} (history rewritten?); run `azldev lock update {component}`"
    )]
    PinGone {
        component: String,
        commit: String,
        url: String,
    },
    #[error(
        "{component} has no valid pin ({why}) and --locked forbids changing it; run `azldev lock update {component}`"
    )]
    Locked { component: String, why: String },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// The rendered directory would hold a file it may not publish.
    #[error("`{path}` cannot be published in {component}'s directory: {why}")]
    Unpublishable {
        component: String,
        path: String,
        why: String,
    },
    /// The Release tag cannot be bumped for downstream changes.
    #[error("{message}")]
    Release { component: String, message: String },
    /// The spec has problems rpm would refuse (an unterminated `%if`, a
    /// duplicate `Source0`, a Patch whose file exists nowhere): each is
    /// `file:line:column: message`.
    #[error("{}", problems.join("\n"))]
    Spec {
        component: String,
        problems: Vec<String>,
    },
}

/// One failed overlay, located and explained: `message` is one line
/// (`path:line:col: overlay N (type) in FILE: why`), `focus` the value of
/// the key at fault (or the overlay's table), `help` the nearest candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayProblem {
    pub message: String,
    /// The failure without its location (`overlay 2 (spec-update-tag) …: why`).
    pub title: String,
    pub focus: Loc,
    /// What the caret under `focus` says.
    pub label: String,
    pub help: Option<String>,
    /// The overlay's table.
    pub overlay: Loc,
}

/// What happened to one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Written (its directory changed).
    Rendered,
    /// Inputs unchanged, or output identical: nothing written.
    Unchanged,
    /// `--check`: the directory on disk differs (these paths).
    Drifted(Vec<String>),
    Failed(RenderError),
}

/// One component's result.
#[derive(Debug, Clone)]
pub struct ComponentReport {
    pub name: String,
    pub status: Status,
    /// Things worth saying with `--verbose` (files kept because a
    /// reference could not be resolved, …).
    pub notes: Vec<String>,
    /// The lock file was created or changed.
    pub lock_changed: bool,
    /// `--check` and drifted: what the render would change, as a unified
    /// diff (`a/` the directory on disk, `b/` the render); empty otherwise.
    pub patch: String,
}

/// The result of a render.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In component-name order.
    pub components: Vec<ComponentReport>,
    /// Directories azldev wrote under the output that belong to no
    /// component (any more).
    pub stale: Vec<(String, PathBuf)>,
    /// Directories under the output that belong to no component and that
    /// azldev did not write (no marker): never removed, only reported.
    pub foreign: Vec<(String, PathBuf)>,
    /// Whether `stale` directories were removed.
    pub stale_removed: bool,
    /// Lock files of components that no longer exist (`--check`, or
    /// `clean_stale`): reported, never removed by render.
    pub orphan_locks: Vec<(String, PathBuf)>,
    pub elapsed: Duration,
}

impl Report {
    pub fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.components.iter().filter(|c| f(&c.status)).count()
    }
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed(_)))
    }
}

/// How to render.
#[derive(Debug, Clone)]
pub struct Options {
    pub out_dir: PathBuf,
    pub lock_dir: PathBuf,
    pub cache: GitCache,
    /// Render in memory and compare with disk; write nothing.
    pub check: bool,
    /// Refuse to create or change pins.
    pub locked: bool,
    pub offline: bool,
    /// Remove (or, with `check`, report) directories of unknown components.
    pub clean_stale: bool,
    /// Ignore fingerprints: recompute everything.
    pub force: bool,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Which distro-repository history release bumps read.
    pub release_history: ReleaseHistory,
    /// Source archives for archive overlays (see [`SourceStore`]).
    pub sources: SourceStore,
    /// In-memory renders also store what archive overlays produce in the
    /// source cache (`build` needs it there; `diff` does not).
    pub store_produced: bool,
    /// Section-generating macros known from the project's macro files
    /// (the distro version's buildroot macros, a base root's macro
    /// files), besides rpm's and Fedora's common ones: overlays never
    /// remove or swallow a line calling one. `None`: the table only.
    pub section_macros: Option<std::sync::Arc<azldev_spec::SectionMacros>>,
}

/// Which history of the distro repository (the git repository holding the
/// project) decides release bumps for downstream changes; see
/// `release.calculation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ReleaseHistory {
    /// HEAD, plus one while the lock being rendered differs from HEAD's.
    #[default]
    Head,
    /// The history of this revision (e.g. the base side of a diff).
    At(String),
    /// No bumps.
    Off,
}

impl Options {
    /// Defaults from the project: `rendered-specs-dir` (or `specs`) and
    /// `lock-dir` (or `locks`), relative to the root file's directory.
    pub fn for_project(config: &Config) -> Self {
        let root = &config.root_dir;
        let project = &config.merged.project;
        let out = project.rendered_specs_dir.as_ref().map_or_else(
            || root.join("specs"),
            |d| config.files.dir_of(&d.loc).join(&d.value),
        );
        let locks = project.lock_dir.as_ref().map_or_else(
            || root.join("locks"),
            |d| config.files.dir_of(&d.loc).join(&d.value),
        );
        Self {
            out_dir: out,
            lock_dir: locks,
            cache: GitCache::new(GitCache::default_root()),
            check: false,
            locked: false,
            offline: false,
            clean_stale: false,
            force: false,
            jobs: None,
            release_history: ReleaseHistory::Head,
            sources: SourceStore::local(),
            store_produced: false,
            section_macros: None,
        }
    }

    fn network(&self) -> Network {
        if self.offline {
            Network::Offline
        } else {
            Network::Allowed
        }
    }

    fn lock_path(&self, name: &str) -> PathBuf {
        self.lock_dir.join(format!("{name}.lock"))
    }
}

/// Read an overlay's `source` through `fs`, refusing paths that leave the
/// directory of the file that defined the overlay (`..`, absolute paths,
/// symlinks out).
fn read_input(fs: &dyn Fs, config: &Config, ro: &ResolvedOverlay) -> Result<Vec<u8>, OpError> {
    let path = ro.source_path.as_ref().ok_or(OpError::MissingField("source"))?;
    let base = config.files.dir_of(&ro.overlay.loc);
    let input = |why: String| OpError::Input {
        path: path.display().to_string(),
        why,
    };
    let real = fs.canonicalize(path).map_err(|e| input(e.to_string()))?;
    let real_base = fs.canonicalize(&base).map_err(|e| input(e.to_string()))?;
    if !real.starts_with(&real_base) {
        return Err(input(format!(
            "it resolves to {}, outside {}, the directory of the file that names it",
            real.display(),
            real_base.display()
        )));
    }
    fs.read(&real).map_err(|e| input(e.to_string()))
}

/// The files of a local component's directory, read through `fs`.
fn read_local(fs: &dyn Fs, dir: &Path) -> std::io::Result<Vec<DirFile>> {
    fs.read_dir_all(dir)
}

/// A lock file read through `fs`, and its text; `Ok(None)` when there is
/// none.
fn read_lock(fs: &dyn Fs, path: &Path) -> Result<Option<(Lock, String)>, azldev_source::Error> {
    match fs.read_to_string(path) {
        Ok(text) => Lock::parse(&text, path).map(|l| Some((l, text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(azldev_source::Error::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// Everything that determines a component's output, hashed.
fn fingerprint(
    fs: &dyn Fs,
    config: &Config,
    c: &ResolvedComponent,
    plan: &SourcePlan,
    commit: Option<&str>,
    section_macros: Option<&azldev_spec::SectionMacros>,
) -> String {
    let mut h = Sha256::new();
    let mut field = |k: &str, v: &[u8]| {
        h.update(k.as_bytes());
        h.update(b"\0");
        h.update((v.len() as u64).to_le_bytes());
        h.update(v);
    };
    field("tool", env!("CARGO_PKG_VERSION").as_bytes());
    field("name", c.name.as_bytes());
    field(
        "config",
        serde_json::to_string(&c.config).unwrap_or_default().as_bytes(),
    );
    for ro in &c.overlays {
        // Metadata documents an overlay; it does not change the output.
        let mut o = ro.overlay.value.clone();
        o.metadata = None;
        field(
            "overlay",
            serde_json::to_string(&o).unwrap_or_default().as_bytes(),
        );
        if ro.source_path.is_some() {
            match read_input(fs, config, ro) {
                Ok(data) => field("input", &data),
                Err(e) => field("input-error", e.to_string().as_bytes()),
            }
        }
    }
    // Where overlays edit sections, the macros that end them (only when
    // the macro files define some: no other fingerprint changes).
    if let Some(m) = section_macros.filter(|m| !c.overlays.is_empty() && !m.is_empty()) {
        field(
            "section-macros",
            m.names().collect::<Vec<_>>().join(" ").as_bytes(),
        );
    }
    match plan {
        SourcePlan::Upstream {
            url,
            subdir,
            upstream_name,
            ..
        } => {
            field("remote", url.as_bytes());
            field("subdir", subdir.as_deref().unwrap_or("").as_bytes());
            field("upstream-name", upstream_name.as_bytes());
            field("commit", commit.unwrap_or("").as_bytes());
        }
        SourcePlan::Local { spec_file, relative } => {
            field("local", relative.as_bytes());
            if let Some(dir) = spec_file.parent()
                && let Ok(files) = read_local(fs, dir)
            {
                for f in files {
                    field("file", f.path.as_bytes());
                    field("data", &f.data);
                }
            }
        }
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn desired_matches(lock: &Lock, plan: &SourcePlan) -> Result<ObjectId, String> {
    let SourcePlan::Upstream { url, desired, .. } = plan else {
        return Err("local".into());
    };
    if lock.upstream_url.as_deref() != Some(url.as_str()) {
        return Err("the upstream URL changed".into());
    }
    if &lock.resolved_from != desired {
        return Err("the pin's source (branch, snapshot or commit) changed".into());
    }
    let commit = lock.upstream_commit.as_deref().ok_or("the lock has no commit")?;
    ObjectId::from_hex(commit.as_bytes()).map_err(|_| format!("`{commit}` is not a full commit id"))
}

/// Per-component state between the phases.
#[derive(Debug)]
struct Work<'a> {
    c: &'a ResolvedComponent,
    plan: SourcePlan,
    lock: Option<Lock>,
    /// The lock file's text as read, so that writing the lock back does
    /// not read it again.
    lock_text: Option<String>,
    /// Commit from a valid lock.
    pinned: Option<ObjectId>,
    /// Why the lock cannot be used as is.
    stale_why: Option<String>,
}

/// Resolve the desired pin of an upstream component.
fn resolve(repo: &CachedRepo, desired: &ResolvedFrom) -> Result<ObjectId, RenderError> {
    Ok(match desired {
        ResolvedFrom::Branch { branch } => repo.branch(branch)?,
        ResolvedFrom::Snapshot { branch, snapshot } => repo.snapshot(branch, snapshot)?,
        ResolvedFrom::Pin { commit } => repo.resolve_commit(commit)?,
        ResolvedFrom::Local => {
            return Err(RenderError::Upstream("a local component has no upstream".into()));
        }
    })
}

/// Plan a component and read its lock file (through `fs`).
fn prepare_work<'a>(
    config: &Config,
    fs: &dyn Fs,
    c: &'a ResolvedComponent,
    opts: &Options,
) -> Result<Work<'a>, RenderError> {
    let plan = plan::plan(config, c)?;
    let (lock, lock_text) = read_lock(fs, &opts.lock_path(&c.name))?.unzip();
    let (pinned, stale_why) = match (&plan, &lock) {
        (SourcePlan::Local { .. }, _) => (None, None),
        (_, None) => (None, Some("no lock file".to_owned())),
        (_, Some(l)) => match desired_matches(l, &plan) {
            Ok(id) => (Some(id), None),
            Err(why) => (None, Some(why)),
        },
    };
    Ok(Work {
        c,
        plan,
        lock,
        lock_text,
        pinned,
        stale_why,
    })
}

/// Where the lock serialising writing renders into `out` lives: in the
/// cache (never in the distro repository), keyed by the output directory's
/// absolute path.
fn output_lock_path(cache: &GitCache, out: &Path) -> Option<PathBuf> {
    let out = std::path::absolute(out).ok()?;
    let key: String = Sha256::digest(out.as_os_str().as_encoded_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(
        cache
            .root()
            .parent()?
            .join("render-locks")
            .join(format!("{key}.lock")),
    )
}

/// One writing render per output directory at a time (another waits):
/// concurrent renders would take each other's staging directories away.
/// Best effort: without a usable cache directory, no lock.
fn lock_output(cache: &GitCache, out: &Path) -> Option<std::fs::File> {
    let path = output_lock_path(cache, out)?;
    std::fs::create_dir_all(path.parent()?).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

/// Run `f` on a pool of `jobs` threads (one per core when `None`).
fn in_pool<R: Send>(jobs: Option<usize>, f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
    {
        Ok(p) => p.install(f),
        Err(_) => f(),
    }
}

/// Render the named components (all when `names` is empty).
pub fn render(
    config: &Config,
    names: &[String],
    opts: &Options,
    on_done: &(dyn Fn(&ComponentReport) + Sync),
) -> Report {
    let start = Instant::now();
    let mut report = in_pool(opts.jobs, || render_inner(config, names, opts, on_done));
    report.elapsed = start.elapsed();
    report
}

fn selected<'a>(
    config: &'a Config,
    names: &[String],
) -> Vec<Result<&'a ResolvedComponent, Box<ComponentReport>>> {
    if names.is_empty() {
        return config.components.values().map(Ok).collect();
    }
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            config.components.get(n.as_str()).ok_or_else(|| {
                Box::new(failed(
                    n,
                    RenderError::Config {
                        component: n.clone(),
                        message: match azldev_config::suggest::closest(
                            n,
                            config.components.keys().map(String::as_str),
                        ) {
                            Some(near) => format!("no component named `{n}`; did you mean `{near}`?"),
                            None => format!("no component named `{n}`"),
                        },
                    },
                ))
            })
        })
        .collect()
}

fn failed(name: &str, e: RenderError) -> ComponentReport {
    ComponentReport {
        name: name.to_owned(),
        status: Status::Failed(e),
        notes: Vec::new(),
        lock_changed: false,
        patch: String::new(),
    }
}

fn render_inner(
    config: &Config,
    names: &[String],
    opts: &Options,
    on_done: &(dyn Fn(&ComponentReport) + Sync),
) -> Report {
    let finish = |r: ComponentReport| {
        on_done(&r);
        r
    };
    let finish_boxed = |r: Box<ComponentReport>| {
        on_done(&r);
        r
    };
    let _writing = (!opts.check).then(|| lock_output(&opts.cache, &opts.out_dir));
    if !opts.check {
        // What a killed render or a full disk left is removed every time
        // (best effort: a leftover that cannot be removed here is met again
        // when its component is written).
        let _ = output::sweep(&opts.out_dir);
    }
    let distro = open_distro(config, opts);
    let selection = selected(config, names);
    // What the output directory holds, read once (a few directory reads)
    // when many components are rendered, instead of `stat`s per component.
    let index = if !opts.check && selection.len() > 64 {
        output::OutIndex::scan(&opts.out_dir)
    } else {
        output::OutIndex::unknown()
    };
    // Phase A: plans, locks, and the fingerprint shortcut.
    let phase_a: Vec<Result<Work<'_>, Box<ComponentReport>>> = selection
        .into_par_iter()
        .map(|sel| {
            let c = sel.map_err(finish_boxed)?;
            let w =
                prepare_work(config, &RealFs, c, opts).map_err(|e| Box::new(finish(failed(&c.name, e))))?;
            let is_local = matches!(w.plan, SourcePlan::Local { .. });
            // The fingerprint shortcut serves whole-distro renders. Named
            // components are rendered and compared (written only when they
            // differ), which also repairs a hand edit of their directories.
            if !opts.check && !opts.force && names.is_empty() && (w.pinned.is_some() || is_local) {
                let fp = fingerprint(
                    &RealFs,
                    config,
                    c,
                    &w.plan,
                    w.pinned.map(|p| p.to_string()).as_deref(),
                    opts.section_macros.as_deref(),
                );
                // The shortcut trusts the output itself: the directory's
                // marker records the fingerprint it was rendered from, and
                // is swapped in with it. The lock must agree too (else it is
                // rewritten).
                // A lock from before `content` is rewritten with it.
                let same = w
                    .lock
                    .as_ref()
                    .is_some_and(|l| l.fingerprint == fp && !l.content.is_empty());
                let dir = component_dir(&opts.out_dir, &c.name);
                if same
                    && index.exists(&dir) != Some(false)
                    && output::read_marker(&dir).is_some_and(|m| m.component == c.name && m.fingerprint == fp)
                    && archives::produced_paths(c, &opts.sources)
                        .iter()
                        .all(|p| p.is_file())
                    && !release_bumped(distro.as_ref(), c, &w.plan, w.pinned, &fp, w.lock.as_ref())
                {
                    return Err(Box::new(finish(ComponentReport {
                        name: c.name.clone(),
                        status: Status::Unchanged,
                        notes: Vec::new(),
                        lock_changed: false,
                        patch: String::new(),
                    })));
                }
            }
            if opts.locked
                && let Some(why) = &w.stale_why
            {
                return Err(Box::new(finish(failed(
                    &c.name,
                    RenderError::Locked {
                        component: c.name.clone(),
                        why: why.clone(),
                    },
                ))));
            }
            Ok(w)
        })
        .collect();
    let mut done: Vec<ComponentReport> = Vec::new();
    let mut work: Vec<Work<'_>> = Vec::new();
    for r in phase_a {
        match r {
            Ok(w) => work.push(w),
            Err(rep) => done.push(*rep),
        }
    }

    // Phase B: open each remote once, fetching only what is needed.
    let repos = open_remotes(&work.iter().collect::<Vec<_>>(), opts, false);

    // Phase C: render. A first render builds the whole tree beside its
    // place and renames it in at the end (see `output::NewRoot`); a render
    // into an existing tree swaps each directory in on its own.
    let new_root = if opts.check {
        None
    } else if index.out_missing() && !work.is_empty() {
        output::NewRoot::begin(&opts.out_dir).ok()
    } else {
        None
    };
    let target = match &new_root {
        Some(root) => Target::NewRoot(root),
        None => Target::Tree(&index),
    };
    let mut rendered: Vec<ComponentReport> = work
        .par_iter()
        .map(|w| finish(render_one(config, w, &repos, distro.as_ref(), &target, opts)))
        .collect();
    if let Some(root) = new_root
        && let Err(e) = root.publish()
    {
        for r in &mut rendered {
            if matches!(r.status, Status::Rendered) {
                r.status = Status::Failed(RenderError::Io {
                    path: opts.out_dir.clone(),
                    message: e.to_string(),
                });
            }
        }
    }
    done.extend(rendered);
    done.sort_by(|a, b| a.name.cmp(&b.name));

    let mut report = Report {
        components: done,
        ..Report::default()
    };
    // `--check` reports stale directories and orphaned locks without being
    // asked to clean them.
    if names.is_empty() && (opts.clean_stale || opts.check) {
        report.orphan_locks = orphan_locks(config, &opts.lock_dir);
        if let Ok(existing) = output::existing_components(&opts.out_dir) {
            // Only what azldev wrote is ever removed.
            (report.stale, report.foreign) = existing
                .into_iter()
                .filter(|(n, _)| !config.components.contains_key(n))
                .partition(|(n, p)| output::is_azldev_dir(p, n));
        }
        if !opts.check {
            report.stale_removed = report
                .stale
                .iter()
                .all(|(n, p)| output::remove_component(p, n).is_ok());
        }
    }
    report
}

/// `<lock-dir>/<name>.lock` files that are component locks (they parse as
/// one: the toolchain seed's locks do not) of no configured component.
fn orphan_locks(config: &Config, lock_dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(lock_dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".lock")?.to_owned();
            if name.starts_with('.') || config.components.contains_key(&name) || !path.is_file() {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            Lock::parse(&text, &path).ok()?;
            Some((name, path))
        })
        .collect();
    out.sort();
    out
}

type Repos = HashMap<String, Result<CachedRepo, azldev_source::Error>>;

/// Open every remote the work needs. `fresh`: fetch regardless (lock
/// update).
fn open_remotes(work: &[&Work<'_>], opts: &Options, fresh: bool) -> Repos {
    let mut by_url: BTreeMap<String, (azldev_source::Remote, bool, Vec<ObjectId>)> = BTreeMap::new();
    for w in work {
        if let SourcePlan::Upstream { remote, .. } = &w.plan {
            let e = by_url
                .entry(remote.as_git_url())
                .or_insert_with(|| (remote.clone(), false, Vec::new()));
            e.1 |= fresh || w.pinned.is_none();
            e.2.extend(w.pinned);
        }
    }
    by_url
        .into_par_iter()
        .map(|(url, (remote, needs_fresh, commits))| {
            let net = opts.network();
            let opened = if needs_fresh || commits.is_empty() {
                opts.cache.open(&remote, Want::Fresh, net)
            } else {
                opts.cache
                    .open(&remote, Want::Commit(commits[0]), net)
                    .and_then(|repo| match commits.iter().find(|c| !repo.has_commit(**c)) {
                        Some(missing) => opts.cache.open(&remote, Want::Commit(*missing), net),
                        None => Ok(repo),
                    })
            };
            (url, opened)
        })
        .collect()
}

/// Where phase C writes component directories.
enum Target<'a> {
    /// Into the output tree, each directory swapped in on its own.
    Tree(&'a output::OutIndex),
    /// Into a new tree published at the end.
    NewRoot(&'a output::NewRoot),
}

fn render_one(
    config: &Config,
    w: &Work<'_>,
    repos: &Repos,
    distro: Option<&release::DistroRepo>,
    target: &Target<'_>,
    opts: &Options,
) -> ComponentReport {
    let name = &w.c.name;
    match render_tree(config, &RealFs, w, repos, distro, opts, !opts.check) {
        Err(e) => failed(name, e),
        Ok((tree, notes, lock)) => {
            let dir = component_dir(&opts.out_dir, name);
            let marker = output::marker_text(name, &lock.fingerprint);
            let mut patch = String::new();
            let status = if opts.check {
                let mut diff = output::differences(&tree, &marker, &dir);
                // The lock belongs to the same commit: release bumps read
                // its `content` from history.
                let lock_text = lock.to_text();
                let lock_drift = w.lock_text.as_deref() != Some(lock_text.as_str());
                if lock_drift {
                    diff.push(opts.lock_path(name).display().to_string());
                }
                if diff.is_empty() {
                    Status::Unchanged
                } else {
                    patch = output::drift_patch(&tree, &dir, &component_dir(Path::new(""), name));
                    if lock_drift {
                        patch.push_str(&output::unified(
                            &format!("locks/{name}.lock"),
                            w.lock_text.as_deref(),
                            Some(&lock_text),
                        ));
                    }
                    Status::Drifted(diff)
                }
            } else {
                let written = match target {
                    Target::Tree(index) => output::write_component(&dir, &tree, &marker, index),
                    Target::NewRoot(root) => {
                        root.write_component(&component_dir(Path::new(""), name), &tree, &marker)
                    }
                };
                match written {
                    Ok(true) => Status::Rendered,
                    Ok(false) => Status::Unchanged,
                    Err(e) => Status::Failed(RenderError::Io {
                        path: dir.clone(),
                        message: e.to_string(),
                    }),
                }
            };
            let mut lock_changed = false;
            if !opts.check && !matches!(status, Status::Failed(_)) {
                match lock.write_over(&opts.lock_path(name), w.lock_text.as_deref()) {
                    Ok(changed) => lock_changed = changed,
                    Err(e) => return failed(name, e.into()),
                }
            }
            ComponentReport {
                name: name.clone(),
                status,
                notes,
                lock_changed,
                patch,
            }
        }
    }
}

fn render_tree(
    config: &Config,
    fs: &dyn Fs,
    w: &Work<'_>,
    repos: &Repos,
    distro: Option<&release::DistroRepo>,
    opts: &Options,
    keep_produced: bool,
) -> Result<(ComponentTree, Vec<String>, Lock), RenderError> {
    let c = w.c;
    // Where the upstream history is, for %autorelease / %autochangelog.
    let mut history_at: Option<(&CachedRepo, ObjectId, String, String)> = None;
    let (selection, mut lock) = match &w.plan {
        SourcePlan::Local { spec_file, .. } => {
            let dir = spec_file.parent().unwrap_or_else(|| Path::new("."));
            let files = read_local(fs, dir).map_err(|e| RenderError::Io {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })?;
            let entries = files
                .into_iter()
                .map(|f| azldev_source::Entry {
                    path: f.path,
                    mode: match f.mode {
                        azldev_config::fs::FileMode::Regular => azldev_source::EntryMode::Regular,
                        azldev_config::fs::FileMode::Executable => azldev_source::EntryMode::Executable,
                        azldev_config::fs::FileMode::Symlink => azldev_source::EntryMode::Symlink,
                    },
                    data: f.data,
                })
                .collect();
            let spec_name = spec_file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // Like an upstream directory: the spec, `sources` and the files
            // the spec refers to — not whatever else the directory holds.
            let keep_all = c
                .config
                .render
                .as_ref()
                .and_then(|r| r.value.skip_file_filter.as_ref())
                .is_some_and(|s| s.value);
            let sel = files::select(&c.name, &spec_name, entries, keep_all).map_err(RenderError::Upstream)?;
            let lock = Lock {
                upstream_commit: None,
                upstream_url: None,
                resolved_from: ResolvedFrom::Local,
                fingerprint: fingerprint(fs, config, c, &w.plan, None, opts.section_macros.as_deref()),
                content: String::new(),
                release_base: String::new(),
            };
            (sel, lock)
        }
        SourcePlan::Upstream {
            remote,
            url,
            subdir,
            upstream_name,
            desired,
        } => {
            let repo = match repos.get(&remote.as_git_url()) {
                Some(Ok(r)) => r,
                Some(Err(e)) => return Err(e.clone().into()),
                None => return Err(RenderError::Upstream(format!("{url} was not opened"))),
            };
            let commit = match w.pinned {
                Some(id) if repo.has_commit(id) => id,
                Some(id) => {
                    return Err(RenderError::PinGone {
                        component: c.name.clone(),
                        commit: id.to_string(),
                        url: url.clone(),
                    });
                }
                None => {
                    if opts.locked {
                        return Err(RenderError::Locked {
                            component: c.name.clone(),
                            why: w.stale_why.clone().unwrap_or_default(),
                        });
                    }
                    resolve(repo, desired)?
                }
            };
            let entries = repo.read_tree(commit, subdir.as_deref())?;
            let keep_all = c
                .config
                .render
                .as_ref()
                .and_then(|r| r.value.skip_file_filter.as_ref())
                .is_some_and(|s| s.value);
            let sel = files::select(&c.name, &format!("{upstream_name}.spec"), entries, keep_all)
                .map_err(RenderError::Upstream)?;
            history_at = Some((
                repo,
                commit,
                subdir.clone().unwrap_or_default(),
                format!("{upstream_name}.spec"),
            ));
            let commit_hex = commit.to_string();
            let lock = Lock {
                upstream_commit: Some(commit_hex.clone()),
                upstream_url: Some(url.clone()),
                resolved_from: desired.clone(),
                fingerprint: fingerprint(
                    fs,
                    config,
                    c,
                    &w.plan,
                    Some(&commit_hex),
                    opts.section_macros.as_deref(),
                ),
                content: String::new(),
                release_base: String::new(),
            };
            (sel, lock)
        }
    };
    let mut tree = selection.tree;
    // Where the spec comes from, for refusals: the local file, or the
    // upstream spec at its pin.
    let spec_origin = match &w.plan {
        SourcePlan::Local { spec_file, .. } => spec_file
            .strip_prefix(&config.root_dir)
            .unwrap_or(spec_file)
            .display()
            .to_string(),
        SourcePlan::Upstream {
            url, upstream_name, ..
        } => format!(
            "{url}@{}:{upstream_name}.spec",
            lock.upstream_commit
                .as_deref()
                .map_or("", |c| &c[..c.len().min(12)])
        ),
    };
    let source_spec = tree
        .files
        .get(&tree.spec_path())
        .map(|f| azldev_spec::Spec::parse(f.data.clone()));
    if let Some(spec) = &source_spec {
        let problems: Vec<String> = refuse::structural(spec)
            .into_iter()
            .map(|r| format!("{spec_origin}:{}:{}: {}", r.line, r.column, r.message))
            .collect();
        if !problems.is_empty() {
            return Err(RenderError::Spec {
                component: c.name.clone(),
                problems,
            });
        }
    }
    let loaded = archives::load(&mut tree, config, c, &opts.sources, opts.offline)?;
    let reader = |ro: &ResolvedOverlay| read_input(fs, config, ro);
    azldev_overlay::process_component_with(&mut tree, c, &reader, opts.section_macros.as_ref()).map_err(
        |e| match &e {
            azldev_overlay::Error::Overlay(f) => RenderError::Overlays {
                problems: f.all().map(|f| overlay_problem(config, f)).collect(),
            },
            other => RenderError::Overlay(other.to_string(), None),
        },
    )?;
    check_publishable(&tree)?;
    check_referenced_files(&tree, c, source_spec.as_ref(), &spec_origin, &opts.out_dir)?;
    archives::store_produced(&mut tree, loaded, &opts.sources, keep_produced)?;
    // What the package is before any bump: release bumps count the commits
    // where it changed.
    lock.content = content_digest(&tree);
    if history_at.is_none() {
        lock.release_base = local_release_base(&tree);
    }
    let bump = if release_auto(c) {
        bump_release(&mut tree, c, distro, &lock)?
    } else {
        release::Bump::default()
    };
    if let Some((repo, commit, dir, spec_name)) = history_at {
        expand_autospec(&mut tree, repo, commit, &dir, &spec_name, &bump)?;
    } else if let SourcePlan::Local { spec_file, .. } = &w.plan {
        expand_local_autospec(&mut tree, c, distro, &lock, spec_file)?;
    }
    Ok((tree, selection.notes, lock))
}

/// Refuse a rendered spec whose Sources or Patches exist nowhere (see
/// [`refuse`]). Positions are the source spec's when the entry is there
/// (same kind, number and value), else the rendered spec's (an overlay
/// added it).
fn check_referenced_files(
    tree: &ComponentTree,
    c: &ResolvedComponent,
    source_spec: Option<&azldev_spec::Spec>,
    origin: &str,
    out_dir: &Path,
) -> Result<(), RenderError> {
    let Some(file) = tree.files.get(&tree.spec_path()) else {
        return Ok(());
    };
    let spec = azldev_spec::Spec::parse(file.data.clone());
    let known: std::collections::BTreeSet<String> = c
        .config
        .source_files
        .iter()
        .map(|f| f.value.filename.value.clone())
        .collect();
    let missing = refuse::missing_files(tree, &spec, &known);
    if missing.is_empty() {
        return Ok(());
    }
    let rendered = component_dir(out_dir, &c.name).join(tree.spec_path());
    let problems = missing
        .into_iter()
        .map(|r| {
            let entry = spec
                .sources()
                .iter()
                .find(|e| spec.line_col(e.value.start) == (r.line, r.column));
            let in_source = entry.and_then(|e| {
                let src = source_spec?;
                src.sources()
                    .iter()
                    .find(|s| {
                        s.kind == e.kind
                            && s.number == e.number
                            && src.text(s.value.clone()) == spec.text(e.value.clone())
                    })
                    .map(|s| src.line_col(s.value.start))
            });
            match in_source {
                Some((l, col)) => format!("{origin}:{l}:{col}: {}", r.message),
                None => format!("{}:{}:{}: {}", rendered.display(), r.line, r.column, r.message),
            }
        })
        .collect();
    Err(RenderError::Spec {
        component: c.name.clone(),
        problems,
    })
}

/// Digest of a rendered tree's files (paths, modes, bytes): what the
/// package is made of.
fn content_digest(tree: &ComponentTree) -> String {
    let mut h = Sha256::new();
    for (path, f) in &tree.files {
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update([match f.mode {
            azldev_overlay::FileMode::Regular => 0u8,
            azldev_overlay::FileMode::Executable => 1,
            azldev_overlay::FileMode::Symlink => 2,
        }]);
        h.update((f.data.len() as u64).to_le_bytes());
        h.update(&f.data);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A local spec's main-package Epoch, Version and Release as written (after
/// overlays): its author's release decision, see [`release`].
fn local_release_base(tree: &ComponentTree) -> String {
    let Some(file) = tree.files.get(&tree.spec_path()) else {
        return String::new();
    };
    let spec = azldev_spec::Spec::parse(file.data.clone());
    let tag = |key: &str| {
        spec.package_tags(0)
            .find(|&t| spec.tags()[t].key == key)
            .map(|t| spec.tag_value(t).trim().to_owned())
            .unwrap_or_default()
    };
    format!("{}:{}-{}", tag("epoch"), tag("version"), tag("release"))
}

/// A failed overlay as the CLI and `diff` show it.
fn overlay_problem(config: &Config, f: &azldev_overlay::OverlayFailure) -> OverlayProblem {
    let file = config
        .files
        .get(f.loc.file)
        .map(|s| s.display.clone())
        .unwrap_or_default();
    let description = f
        .description
        .as_deref()
        .map(|d| format!(" \"{d}\""))
        .unwrap_or_default();
    let mut title = format!(
        "overlay {} ({}) in {file}{description}: {}",
        f.number, f.kind, f.error
    );
    if !f.spec_lines.is_empty() {
        let lines: Vec<String> = f.spec_lines.iter().map(ToString::to_string).collect();
        title.push_str(&format!(" (spec lines {})", lines.join(", ")));
    }
    let label = match f.focus_key {
        Some(k) => format!("this `{k}`"),
        None => "this overlay".to_owned(),
    };
    let help = f.help.as_deref().map(|h| format!("; {h}")).unwrap_or_default();
    OverlayProblem {
        message: format!("{}: {title}{help}", config.describe(&f.focus)),
        title,
        focus: f.focus.clone(),
        label,
        help: f.help.clone(),
        overlay: f.loc.clone(),
    }
}

/// What a rendered directory may not hold, whatever put it there (an
/// overlay adding `.git/config`, say): version-control metadata, azldev's
/// own marker, links.
fn check_publishable(tree: &ComponentTree) -> Result<(), RenderError> {
    for (path, f) in &tree.files {
        let why = if path
            .split('/')
            .any(|c| matches!(c, ".git" | ".hg" | ".svn" | ".bzr"))
        {
            Some("version-control metadata is never published")
        } else if path == output::MARKER {
            Some("the name is azldev's marker of directories it wrote")
        } else if f.mode == azldev_overlay::FileMode::Symlink {
            Some("azldev publishes no links")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(RenderError::Unpublishable {
                component: tree.name.clone(),
                path: path.clone(),
                why: why.to_owned(),
            });
        }
    }
    Ok(())
}

/// The distro repository whose history decides release bumps, if any.
fn open_distro(config: &Config, opts: &Options) -> Option<release::DistroRepo> {
    let at = match &opts.release_history {
        ReleaseHistory::Head => None,
        ReleaseHistory::At(rev) => Some(rev.as_str()),
        ReleaseHistory::Off => return None,
    };
    release::DistroRepo::open(&config.root_dir, &opts.lock_dir, at)
}

/// `release.calculation` is `auto` (or unset).
fn release_auto(c: &ResolvedComponent) -> bool {
    c.config
        .release
        .as_ref()
        .and_then(|r| r.value.calculation.as_ref())
        .is_none_or(|k| matches!(k.value, azldev_config::raw::ReleaseCalculation::Auto))
}

/// Phase A: whether an upstream component with `auto` releases has a
/// downstream bump. The bump is derived from the distro repository's
/// history, which the fingerprint does not cover, so such a component is
/// always rendered (and written only when its output changed); without a
/// bump the output is a function of the fingerprint alone and the shortcut
/// holds. Reading the history is cheap (one blob lookup per commit).
fn release_bumped(
    distro: Option<&release::DistroRepo>,
    c: &ResolvedComponent,
    plan: &SourcePlan,
    pinned: Option<ObjectId>,
    fingerprint: &str,
    lock: Option<&Lock>,
) -> bool {
    let Some(distro) = distro else {
        return false;
    };
    // A local `%autorelease`/`%autochangelog` spec's release and changelog
    // come from the history: rendered (cheaply) and compared every time.
    if let SourcePlan::Local { spec_file, .. } = plan
        && std::fs::read(spec_file).is_ok_and(|b| {
            memchr::memmem::find(&b, b"autorelease").is_some()
                || memchr::memmem::find(&b, b"autochangelog").is_some()
        })
    {
        return true;
    }
    if !release_auto(c) {
        return false;
    }
    // The shortcut is taken only when the fingerprint equals the lock's, so
    // the content is the lock's too.
    let Some(lock) = lock else {
        return true;
    };
    let now = Lock {
        upstream_commit: match plan {
            SourcePlan::Upstream { .. } => pinned.map(|p| p.to_string()),
            SourcePlan::Local { .. } => None,
        },
        fingerprint: fingerprint.to_owned(),
        ..lock.clone()
    };
    distro.history(&c.name).map_or(true, |h| h.bump(&now).count > 0)
}

/// Bump a static Release for downstream changes (`release.calculation =
/// "auto"`), see [`release`]. Runs after the overlays and before
/// `%autorelease` expansion (a spec using `%autorelease` is left to it).
fn bump_release(
    tree: &mut ComponentTree,
    c: &ResolvedComponent,
    distro: Option<&release::DistroRepo>,
    lock: &Lock,
) -> Result<release::Bump, RenderError> {
    let err = |message: String| RenderError::Release {
        component: c.name.clone(),
        message,
    };
    let bump = match distro {
        Some(d) => d.history(&c.name).map_err(err)?.bump(lock),
        None => release::Bump::default(),
    };
    let spec_path = tree.spec_path();
    let Some(file) = tree.files.get_mut(&spec_path) else {
        return Ok(bump);
    };
    if let Some(data) = release::apply(&file.data, &bump).map_err(err)? {
        file.data = data;
    }
    Ok(bump)
}

/// The tree's spec file and its rpmautospec features, when it uses
/// `%autorelease` or `%autochangelog` (most specs use neither: the line
/// scan is skipped for them).
fn autospec_spec(
    tree: &mut ComponentTree,
) -> Option<(&mut azldev_overlay::TreeFile, azldev_autospec::Features)> {
    let spec_path = tree.spec_path();
    let file = tree.files.get_mut(&spec_path)?;
    let mentions = |m: &[u8]| memchr::memmem::find(&file.data, m).is_some();
    if !mentions(b"autorelease") && !mentions(b"autochangelog") {
        return None;
    }
    let features = azldev_autospec::features(&file.data);
    features.processing_necessary().then_some((file, features))
}

/// Expand `%autorelease` and `%autochangelog` natively from the upstream
/// history, as rpmautospec does after azldev's build configuration: the
/// release number and changelog come from the pinned commit's history, and
/// the rpmautospec block goes above the azldev header. A spec that (after
/// overlays) uses neither macro, or was already processed, is unchanged.
fn expand_autospec(
    tree: &mut ComponentTree,
    repo: &CachedRepo,
    commit: ObjectId,
    dir: &str,
    spec_name: &str,
    bump: &release::Bump,
) -> Result<(), RenderError> {
    let Some((file, features)) = autospec_spec(tree) else {
        return Ok(());
    };
    let opts = azldev_autospec::Options::default();
    let pkg = azldev_autospec::Package { dir, spec_name };
    let history = repo
        .with_repo(|r| azldev_autospec::history(r, commit, pkg, &opts, features.needs_autochangelog()))
        .map_err(|e| RenderError::Upstream(format!("%autorelease/%autochangelog: {e}")))?;
    // Downstream changes count into the release (see [`release`]); their
    // entries go on top of upstream's, in rpmautospec's form.
    let release_number = history
        .release_number
        .saturating_add(i64::try_from(bump.count).unwrap_or(i64::MAX));
    let mut changelog: Vec<String> = bump
        .changes
        .iter()
        .enumerate()
        .rev()
        .map(|(i, ch)| {
            azldev_autospec::Entry {
                commit: ObjectId::null(gix::hash::Kind::Sha1),
                time: ch.time,
                author: ch.author.clone(),
                epoch_version: Some(history.epoch_version.clone()),
                release: history.flags.release_string(
                    history
                        .release_number
                        .saturating_add(i64::try_from(i).unwrap_or(i64::MAX))
                        .saturating_add(1),
                ),
                body: azldev_autospec::EntryBody::Commit {
                    message: ch.subject.clone(),
                },
            }
            .format()
        })
        .collect();
    // A hand-written changelog (no `%autochangelog`) gets them on top.
    let own: String = if features.needs_autochangelog() {
        String::new()
    } else {
        changelog.iter().map(|e| format!("{e}\n\n")).collect()
    };
    let upstream = history.changelog();
    if !upstream.is_empty() {
        changelog.push(upstream);
    }
    file.data = azldev_autospec::rewrite(
        &file.data,
        &features,
        &opts.rpmautospec_version,
        release_number,
        &changelog.join("\n\n"),
    );
    file.data = release::insert_entries(&file.data, &own);
    Ok(())
}

/// Expand `%autorelease` and `%autochangelog` of a local spec as
/// rpmautospec does for a dist-git repository, with the distro repository
/// as the dist-git (see [`release::LocalAuto`]): the release counts the
/// commits that changed the component's package (its lock's `content`),
/// restarting at 1 where its Epoch or Version changed, and the changelog
/// has one entry per such commit — except the newest, whose date, author
/// and message do not exist when it is rendered (one commit per change).
/// Without a distro repository: release 1, no entries.
fn expand_local_autospec(
    tree: &mut ComponentTree,
    c: &ResolvedComponent,
    distro: Option<&release::DistroRepo>,
    lock: &Lock,
    spec_file: &Path,
) -> Result<(), RenderError> {
    let Some((file, features)) = autospec_spec(tree) else {
        return Ok(());
    };
    let err = |message: String| RenderError::Release {
        component: c.name.clone(),
        message,
    };
    let (start, series) = match distro {
        Some(d) => d.series(&c.name).map_err(err)?,
        None => (None, Vec::new()),
    };
    let auto = release::LocalAuto::compute(&series, start.as_ref(), lock);
    let opts = azldev_autospec::Options::default();
    // Each entry names the EVR its commit introduced: the local spec's
    // Epoch, Version and `%autorelease` options at that commit.
    let spec_rel = distro.and_then(|d| d.relative(spec_file));
    let fallback = azldev_autospec::specinfo::evaluate(&file.data, &opts.macros)
        .flags
        .ok();
    let changelog: Vec<String> = if features.needs_autochangelog() {
        auto.entries
            .iter()
            .rev()
            .filter(|(ch, _)| !azldev_autospec::parse_magic(&ch.message).skip_changelog)
            .map(|(ch, n)| {
                let flags = match (distro, ch.commit, spec_rel.as_deref()) {
                    (Some(d), Some(id), Some(rel)) => d
                        .file_at(id, rel)
                        .and_then(|b| azldev_autospec::specinfo::evaluate(&b, &opts.macros).flags.ok()),
                    _ => None,
                }
                .or_else(|| fallback.clone());
                azldev_autospec::Entry {
                    commit: ch.commit.unwrap_or_else(|| ObjectId::null(gix::hash::Kind::Sha1)),
                    time: ch.time,
                    author: ch.author.clone(),
                    epoch_version: flags.as_ref().map(|f| f.epoch_version.clone()),
                    release: flags
                        .as_ref()
                        .map_or_else(|| n.to_string(), |f| f.release_string(*n)),
                    body: azldev_autospec::EntryBody::Commit {
                        message: ch.message.clone(),
                    },
                }
                .format()
            })
            .collect()
    } else {
        Vec::new()
    };
    file.data = azldev_autospec::rewrite(
        &file.data,
        &features,
        &opts.rpmautospec_version,
        auto.release_number,
        &changelog.join("\n\n"),
    );
    Ok(())
}

/// A component's inputs on one side, read without rendering anything: its
/// source plan, its lock file and — when the pin is known — the fingerprint
/// of everything that determines its output. Two components with the same
/// fingerprint render to the same tree. See [`prepare`].
#[derive(Debug)]
pub struct Prepared<'a> {
    work: Work<'a>,
    /// The input fingerprint, as lock files record it when the component is
    /// local or its lock file holds a valid pin ([`Self::resolved`]). When
    /// the pin must first be resolved (no lock, or the pin's source
    /// changed), the commit is replaced by what it will be resolved from:
    /// two such components with equal fingerprints, resolved against the
    /// same cache, render the same.
    pub fingerprint: String,
    /// Whether the fingerprint names a commit (or the component is local).
    pub resolved: bool,
}

impl Prepared<'_> {
    #[must_use]
    pub fn name(&self) -> &str {
        &self.work.c.name
    }

    #[must_use]
    pub fn component(&self) -> &ResolvedComponent {
        self.work.c
    }

    #[must_use]
    pub fn plan(&self) -> &SourcePlan {
        &self.work.plan
    }

    /// The lock file as read.
    #[must_use]
    pub fn lock(&self) -> Option<&Lock> {
        self.work.lock.as_ref()
    }

    /// Why the lock file's pin cannot be used as is.
    #[must_use]
    pub fn stale_why(&self) -> Option<&str> {
        self.work.stale_why.as_deref()
    }
}

/// Plan a component and read its lock file (`opts.lock_dir`) through `fs`,
/// without touching the network or rendering.
///
/// # Errors
/// The component's source cannot be planned, or its lock file is unreadable.
pub fn prepare<'a>(
    config: &Config,
    fs: &dyn Fs,
    c: &'a ResolvedComponent,
    opts: &Options,
) -> Result<Prepared<'a>, RenderError> {
    let work = prepare_work(config, fs, c, opts)?;
    let resolved = work.pinned.is_some() || matches!(work.plan, SourcePlan::Local { .. });
    let commit = match (&work.plan, work.pinned) {
        (_, Some(p)) => Some(p.to_string()),
        (SourcePlan::Upstream { desired, .. }, None) => Some(format!(
            "unresolved:{}",
            serde_json::to_string(desired).unwrap_or_default()
        )),
        (SourcePlan::Local { .. }, None) => None,
    };
    let fingerprint = fingerprint(
        fs,
        config,
        c,
        &work.plan,
        commit.as_deref(),
        opts.section_macros.as_deref(),
    );
    Ok(Prepared {
        work,
        fingerprint,
        resolved,
    })
}

/// A component rendered in memory.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub name: String,
    /// The generated directory's files.
    pub tree: ComponentTree,
    /// Things worth saying with `--verbose`.
    pub notes: Vec<String>,
    /// The lock the render would write (pin and fingerprint).
    pub lock: Lock,
}

/// Render prepared components in memory: nothing is written — neither the
/// output tree nor lock files (only the git object cache may fetch). Local
/// specs and overlay inputs are read through `fs`; `opts.locked`,
/// `opts.offline`, `opts.cache` and `opts.jobs` apply. Results are in the
/// order of `prepared`.
pub fn render_prepared(
    config: &Config,
    fs: &dyn Fs,
    prepared: &[&Prepared<'_>],
    opts: &Options,
) -> Vec<Result<Rendered, RenderError>> {
    in_pool(opts.jobs, || {
        let work: Vec<&Work<'_>> = prepared.iter().map(|p| &p.work).collect();
        let repos = open_remotes(&work, opts, false);
        let distro = open_distro(config, opts);
        work.par_iter()
            .map(|w| {
                if opts.locked
                    && let Some(why) = &w.stale_why
                {
                    return Err(RenderError::Locked {
                        component: w.c.name.clone(),
                        why: why.clone(),
                    });
                }
                render_tree(config, fs, w, &repos, distro.as_ref(), opts, opts.store_produced).map(
                    |(tree, notes, lock)| Rendered {
                        name: w.c.name.clone(),
                        tree,
                        notes,
                        lock,
                    },
                )
            })
            .collect()
    })
}

/// Render the named components (all when `names` is empty) in memory,
/// reading the distro repository's files through `fs`; see
/// [`render_prepared`]. In component-name order.
pub fn render_in_memory(
    config: &Config,
    fs: &dyn Fs,
    names: &[String],
    opts: &Options,
) -> Vec<(String, Result<Rendered, RenderError>)> {
    let mut out = Vec::new();
    let mut ready = Vec::new();
    for sel in selected(config, names) {
        match sel {
            Err(r) => {
                if let Status::Failed(e) = r.status {
                    out.push((r.name, Err(e)));
                }
            }
            Ok(c) => match prepare(config, fs, c, opts) {
                Ok(p) => ready.push(p),
                Err(e) => out.push((c.name.clone(), Err(e))),
            },
        }
    }
    let refs: Vec<&Prepared<'_>> = ready.iter().collect();
    let results = render_prepared(config, fs, &refs, opts);
    out.extend(ready.iter().map(|p| p.name().to_owned()).zip(results));
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Result of re-resolving one component's pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockUpdate {
    pub name: String,
    pub result: Result<(Option<String>, String), RenderError>,
    /// The upstream spec's `Version` at the old and at the new pin (when
    /// the spec and the tag are there; macros it defines itself expanded).
    pub versions: (Option<String>, Option<String>),
}

/// The `Version` of `<upstream_name>.spec` at `commit`.
fn upstream_version(
    repo: &CachedRepo,
    commit: ObjectId,
    subdir: Option<&str>,
    upstream_name: &str,
) -> Option<String> {
    let spec_name = format!("{upstream_name}.spec");
    let entries = repo.read_tree(commit, subdir).ok()?;
    let data = entries.into_iter().find(|e| e.path == spec_name)?.data;
    let spec = azldev_spec::Spec::parse(data);
    let sel = azldev_spec::TagSel {
        package: None,
        name: "Version",
        value: None,
    };
    let tag = *spec.find_tags(&sel).ok()?.first()?;
    let value = spec.tag_value(tag).into_owned();
    Some(spec.expand(&value).text)
}

/// `azldev lock update`: re-resolve the pins of the named components (all
/// when empty), fetching fresh upstream state. The fingerprint is kept, so
/// the next render redoes exactly the components whose pin moved.
pub fn update_locks(config: &Config, names: &[String], opts: &Options) -> Vec<LockUpdate> {
    update_locks_with(config, names, opts, true)
}

/// [`update_locks`]; with `write` false nothing is written (`lock update
/// --dry-run`, `component outdated`): the pins are only re-resolved.
pub fn update_locks_with(config: &Config, names: &[String], opts: &Options, write: bool) -> Vec<LockUpdate> {
    let mut out = Vec::new();
    let mut work = Vec::new();
    for sel in selected(config, names) {
        match sel {
            Err(r) => {
                let r = *r;
                if let Status::Failed(e) = r.status {
                    out.push(LockUpdate {
                        name: r.name,
                        result: Err(e),
                        versions: (None, None),
                    });
                }
            }
            Ok(c) => match plan::plan(config, c) {
                Err(e) => out.push(LockUpdate {
                    name: c.name.clone(),
                    result: Err(e),
                    versions: (None, None),
                }),
                Ok(SourcePlan::Local { .. }) => {}
                Ok(plan) => work.push(Work {
                    c,
                    lock: Lock::read(&opts.lock_path(&c.name)).ok().flatten(),
                    lock_text: None,
                    plan,
                    pinned: None,
                    stale_why: None,
                }),
            },
        }
    }
    let repos = open_remotes(&work.iter().collect::<Vec<_>>(), opts, true);
    let updated: Vec<LockUpdate> = work
        .par_iter()
        .map(|w| {
            let SourcePlan::Upstream {
                remote,
                url,
                desired,
                subdir,
                upstream_name,
            } = &w.plan
            else {
                return LockUpdate {
                    name: w.c.name.clone(),
                    result: Err(RenderError::Upstream("local".into())),
                    versions: (None, None),
                };
            };
            let mut versions = (None, None);
            let result = (|| {
                let repo = match repos.get(&remote.as_git_url()) {
                    Some(Ok(r)) => r,
                    Some(Err(e)) => return Err(RenderError::from(e.clone())),
                    None => return Err(RenderError::Upstream("remote not opened".into())),
                };
                let new_id = resolve(repo, desired)?;
                let commit = new_id.to_string();
                let old = w.lock.as_ref().and_then(|l| l.upstream_commit.clone());
                if old.as_deref() != Some(commit.as_str()) {
                    let old_id = old.as_deref().and_then(|o| ObjectId::from_hex(o.as_bytes()).ok());
                    versions = (
                        old_id.and_then(|id| upstream_version(repo, id, subdir.as_deref(), upstream_name)),
                        upstream_version(repo, new_id, subdir.as_deref(), upstream_name),
                    );
                }
                let lock = Lock {
                    upstream_commit: Some(commit.clone()),
                    upstream_url: Some(url.clone()),
                    resolved_from: desired.clone(),
                    fingerprint: w.lock.as_ref().map(|l| l.fingerprint.clone()).unwrap_or_default(),
                    // The rendered content is the old pin's until the next
                    // render: it decides whether that render is a change.
                    content: w.lock.as_ref().map(|l| l.content.clone()).unwrap_or_default(),
                    release_base: String::new(),
                };
                if write {
                    lock.write(&opts.lock_path(&w.c.name))?;
                }
                Ok((old, commit))
            })();
            LockUpdate {
                name: w.c.name.clone(),
                result,
                versions,
            }
        })
        .collect();
    out.extend(updated);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writing_render_per_output_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cache = GitCache::new(tmp.path().join("cache/git"));
        let cwd = std::env::current_dir().expect("cwd");
        // The same directory, however it is spelled, has one lock; another
        // directory has its own.
        assert_eq!(
            output_lock_path(&cache, Path::new("specs")),
            output_lock_path(&cache, &cwd.join("specs"))
        );
        assert_ne!(
            output_lock_path(&cache, Path::new("specs")),
            output_lock_path(&cache, Path::new("other"))
        );
        let path = output_lock_path(&cache, Path::new("specs")).expect("path");
        assert!(path.starts_with(tmp.path().join("cache/render-locks")));
        let held = lock_output(&cache, Path::new("specs")).expect("locked");
        let other = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
        assert!(other.try_lock().is_err(), "a second render waits");
        drop(held);
        assert!(other.try_lock().is_ok(), "and goes on once the first is done");
    }
}
