//! The scheduler: runs a plan's builds through an [`Executor`], a build as
//! soon as everything it needs is built, longest remaining chain first, `-j`
//! at once; a failure blocks exactly its dependents. Builds are
//! content-addressed: a build's key covers its rendered inputs, the base
//! root, the options and the exact RPMs its in-distro dependencies
//! produced, so a dependency rebuilt into byte-identical RPMs does not
//! rebuild its dependents (early cut-off).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Arch;
use crate::exec::{BuildFailure, BuildJob, Executor, FailureKind};

/// One component to build for one arch.
#[derive(Debug, Clone)]
pub struct Unit {
    pub job: BuildJob,
    /// In-plan components whose RPMs it builds against.
    pub deps: Vec<String>,
    /// The members of `deps` that only its dynamic BuildRequires
    /// (`%generate_buildrequires`, as its last build resolved them) bring
    /// in. They are not hashed into the key (the first build, which
    /// discovered them, had no such edges); instead a cached build is used
    /// only when the exact RPMs of theirs it was built against are still
    /// what they produce (see [`DynamicRecord`]).
    pub dynamic_deps: Vec<String>,
    /// What determines the output besides the dependencies' RPMs (rendered
    /// tree, sources, base root, options), hashed into the key.
    pub inputs: String,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub jobs: usize,
    /// Stop starting builds after the first failure.
    pub fail_fast: bool,
    /// Ignore the build cache.
    pub rebuild: bool,
    /// Decide what would be built and why; build nothing.
    pub dry_run: bool,
}

/// What happened to one component.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", rename_all_fields = "kebab-case", tag = "status")]
pub enum Outcome {
    Built {
        seconds: f64,
        rpmbuild_seconds: f64,
        why: String,
        attempts: u32,
    },
    Cached,
    /// `dry_run`: it would be built, and why.
    WouldBuild {
        why: String,
    },
    Failed {
        failure: BuildFailure,
        attempts: u32,
    },
    Blocked {
        by: String,
    },
    /// Not started (fail-fast after another failure).
    Skipped,
}

/// The result of one component.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UnitResult {
    pub name: String,
    pub arch: Arch,
    pub key: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// RPM file names it produced (or its cached build holds).
    pub rpms: Vec<String>,
    pub logs: PathBuf,
    /// The dynamic BuildRequires (`%generate_buildrequires`) the build
    /// resolved (built or cached; absent for other builds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_buildrequires: Option<Vec<String>>,
}

/// Progress events for a front end.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Started { name: &'a str, arch: Arch },
    Finished { result: &'a UnitResult },
}

/// Where builds are kept and published.
#[derive(Debug, Clone)]
pub struct Store {
    /// `<cache>/builds/<arch>`: one directory per key.
    pub cache: PathBuf,
    /// The local repository of the arch (`<output-dir>/<arch>`).
    pub repo: PathBuf,
    /// Other arches' repositories that receive noarch RPMs too.
    pub noarch_repos: Vec<PathBuf>,
    /// `<log-dir>/<arch>`: one directory per component.
    pub logs: PathBuf,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheRecord {
    name: String,
    rpms: Vec<String>,
    digests: Vec<String>,
    /// For a build with `%generate_buildrequires`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dynamic: Option<DynamicRecord>,
}

/// What a build with `%generate_buildrequires` resolved: kept in the
/// build's `result.json` and, per component, as the latest in
/// `<cache>/builds/<arch>/dynamic/<project>/<name>.json` ([`dynamic_dir`]:
/// per local repository, as it is what they were resolved against), which
/// later plans of that project read ([`dynamic_records`]) to order the
/// component after the providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DynamicRecord {
    pub name: String,
    /// The key of the build that resolved them.
    pub key: String,
    /// The dynamic BuildRequires (beyond the static ones), sorted.
    pub buildrequires: Vec<String>,
    /// `rpmbuild -br` rounds.
    pub rounds: u32,
    /// `<file> <sha256>` of every RPM of the local repository installed
    /// in the build's layer: the exact in-distro RPMs it was built against.
    pub rpms: Vec<String>,
}

/// Where the latest dynamic records of builds published into `repo` (a
/// project's local repository) are kept under `cache` (`<cache>/builds/<arch>`):
/// two checkouts with a component of the same name do not share them.
#[must_use]
pub fn dynamic_dir(cache: &Path, repo: &Path) -> PathBuf {
    let digest = Sha256::digest(repo.as_os_str().as_encoded_bytes());
    let id: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    cache.join("dynamic").join(id)
}

/// The latest dynamic BuildRequires each component's builds resolved, from
/// `<cache>/builds/<arch>` (the store's `cache`) for the local repository
/// `repo` ([`dynamic_dir`]). Unreadable records are skipped (they are only
/// a cache of what a build found).
#[must_use]
pub fn dynamic_records(cache: &Path, repo: &Path) -> BTreeMap<String, DynamicRecord> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dynamic_dir(cache, repo)) else {
        return out;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        if let Some(r) = fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice::<DynamicRecord>(&b).ok())
        {
            out.insert(r.name.clone(), r);
        }
    }
    out
}

/// Whether a cached build's dynamic closure is still current: each
/// dynamic-only dependency still produces one of the exact RPMs (file and
/// digest) the build was made against, and no RPM it was built against
/// now has another digest.
fn dynamic_current(
    rec: Option<&DynamicRecord>,
    unit: &Unit,
    dep_digests: &BTreeMap<String, Vec<String>>,
) -> bool {
    if unit.dynamic_deps.is_empty() {
        return true;
    }
    let Some(rec) = rec else { return false };
    let recorded: BTreeMap<&str, &str> = rec.rpms.iter().filter_map(|l| l.split_once(' ')).collect();
    unit.dynamic_deps.iter().all(|d| {
        let now: Vec<(&str, &str)> = dep_digests
            .get(d)
            .map(|v| v.iter().filter_map(|l| l.split_once(' ')).collect())
            .unwrap_or_default();
        now.iter().any(|(f, sha)| recorded.get(f) == Some(sha))
            && now
                .iter()
                .all(|(f, sha)| recorded.get(f).is_none_or(|r| r == sha))
    })
}

fn sha256_file(p: &Path) -> String {
    let bytes = fs::read(p).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    fn lookup(
        &self,
        key: &str,
        unit: &Unit,
        dep_digests: &BTreeMap<String, Vec<String>>,
    ) -> Option<(Vec<PathBuf>, Vec<String>, Option<DynamicRecord>)> {
        let dir = self.cache.join(key);
        let rec: CacheRecord = serde_json::from_slice(&fs::read(dir.join("result.json")).ok()?).ok()?;
        if !dynamic_current(rec.dynamic.as_ref(), unit, dep_digests) {
            return None;
        }
        let files: Vec<PathBuf> = rec.rpms.iter().map(|r| dir.join(r)).collect();
        files
            .iter()
            .all(|f| f.is_file())
            .then_some((files, rec.digests, rec.dynamic))
    }

    /// The record of a dynamic build: the local repository's RPMs among
    /// those installed in its layer, with their digests.
    fn dynamic_record(&self, key: &str, name: &str, d: &crate::exec::DynamicDeps) -> DynamicRecord {
        let rpms = d
            .installed
            .iter()
            .filter_map(|f| {
                let p = self.repo.join("Packages").join(f);
                p.is_file().then(|| format!("{f} {}", sha256_file(&p)))
            })
            .collect();
        DynamicRecord {
            name: name.to_owned(),
            key: key.to_owned(),
            buildrequires: d.buildrequires.clone(),
            rounds: d.rounds,
            rpms,
        }
    }

    /// Keeps `rec` as the component's latest dynamic BuildRequires
    /// (written beside and renamed in).
    fn save_dynamic(&self, rec: &DynamicRecord) -> std::io::Result<()> {
        let dir = dynamic_dir(&self.cache, &self.repo);
        fs::create_dir_all(&dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        std::io::Write::write_all(&mut tmp, &serde_json::to_vec_pretty(rec).unwrap_or_default())?;
        tmp.persist(dir.join(format!("{}.json", rec.name)))
            .map_err(|e| e.error)?;
        Ok(())
    }

    fn save(
        &self,
        key: &str,
        name: &str,
        files: &[PathBuf],
        dynamic: Option<&DynamicRecord>,
    ) -> std::io::Result<(Vec<PathBuf>, Vec<String>)> {
        let dir = self.cache.join(key);
        let staging = self.cache.join(format!(".tmp-{key}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging)?;
        let mut names = Vec::new();
        let mut digests = Vec::new();
        for f in files {
            let n = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            fs::rename(f, staging.join(&n)).or_else(|_| fs::copy(f, staging.join(&n)).map(|_| ()))?;
            digests.push(format!("{n} {}", sha256_file(&staging.join(&n))));
            names.push(n);
        }
        let rec = CacheRecord {
            name: name.to_owned(),
            rpms: names.clone(),
            digests: digests.clone(),
            dynamic: dynamic.cloned(),
        };
        fs::write(
            staging.join("result.json"),
            serde_json::to_vec_pretty(&rec).unwrap_or_default(),
        )?;
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&staging, &dir)?;
        Ok((names.iter().map(|n| dir.join(n)).collect(), digests))
    }

    /// Copies RPMs into the repository (noarch ones into every arch's) and
    /// refreshes its metadata now when `index_now` (a build of this run
    /// needs them), else leaves that to [`Store::index_pending`] at the end
    /// of the run: independent builds finishing one after another then cost
    /// one createrepo_c, not one each. A repository with packages not yet
    /// indexed carries a marker, so a run killed before indexing is
    /// finished by the next one.
    pub fn publish(&self, files: &[PathBuf], index_now: bool) -> Result<(), String> {
        let _one = PUBLISH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
        for f in files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut targets = vec![self.repo.clone()];
            if name.ends_with(".noarch.rpm") {
                targets.extend(self.noarch_repos.iter().cloned());
            }
            for repo in targets {
                let dst = repo.join("Packages").join(&name);
                if same_file(f, &dst) {
                    continue;
                }
                fs::create_dir_all(repo.join("Packages")).map_err(|e| e.to_string())?;
                if !touched.contains(&repo) {
                    fs::write(repo.join(UNINDEXED), b"").map_err(|e| e.to_string())?;
                }
                if dst.exists() {
                    // A replaced package may keep its size and (build) time:
                    // `createrepo_c --update` would keep its old entry.
                    fs::write(repo.join(REINDEX), b"").map_err(|e| e.to_string())?;
                }
                let _ = fs::remove_file(&dst);
                fs::hard_link(f, &dst)
                    .or_else(|_| fs::copy(f, &dst).map(|_| ()))
                    .map_err(|e| e.to_string())?;
                touched.insert(repo);
            }
        }
        drop(_one);
        if index_now {
            for repo in touched {
                createrepo(&repo)?;
            }
        }
        Ok(())
    }

    /// Indexes every repository of this store that has packages not yet
    /// in its metadata (see [`Store::publish`]).
    pub fn index_pending(&self) -> Result<(), String> {
        let mut repos = vec![self.repo.clone()];
        repos.extend(self.noarch_repos.iter().cloned());
        for repo in repos {
            if repo.join(UNINDEXED).exists() {
                createrepo(&repo)?;
            }
        }
        Ok(())
    }
}

/// The marker of a repository whose `Packages/` holds RPMs its metadata
/// does not list yet.
const UNINDEXED: &str = ".azldev-unindexed";

/// The marker of a repository where a package was replaced since the last
/// index: the next one reads every package (`createrepo_c --update` trusts
/// an entry whose file kept its name, size and time).
const REINDEX: &str = ".azldev-reindex";

/// One createrepo_c at a time: builds finishing together publish in turn.
static PUBLISH: Mutex<()> = Mutex::new(());

/// Sets every package's file time to its build time (createrepo_c records
/// the file time) and returns the newest build time (0 for no package):
/// the metadata's revision and every timestamp in it, so the same package
/// bytes always give the same `repodata/`.
fn stamp_packages(repo: &Path) -> Result<i64, String> {
    let dir = repo.join("Packages");
    let mut newest = 0;
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(newest);
    };
    for e in entries {
        let p = e.map_err(|e| format!("read {}: {e}", dir.display()))?.path();
        if p.extension().is_none_or(|x| x != "rpm") || !p.is_file() {
            continue;
        }
        let t = crate::payload::build_time(&p).map_err(|e| e.to_string())?;
        newest = newest.max(t);
        let want = if t >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.unsigned_abs())
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_secs(t.unsigned_abs())
        };
        let f = fs::File::options()
            .write(true)
            .open(&p)
            .map_err(|e| format!("open {}: {e}", p.display()))?;
        if f.metadata().and_then(|m| m.modified()).ok() != Some(want) {
            f.set_modified(want)
                .map_err(|e| format!("set the time of {}: {e}", p.display()))?;
        }
    }
    Ok(newest)
}

/// (Re)indexes a repository; incremental when it has metadata and no
/// package was replaced. Deterministic: the same RPM bytes give the same
/// `repodata/` bytes, incremental or not ([`stamp_packages`]).
pub fn createrepo(repo: &Path) -> Result<(), String> {
    let _one = PUBLISH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Other azldev processes publish in turn too; and a run killed inside
    // createrepo_c leaves its `.repodata` staging directory, which would
    // make every later createrepo_c refuse to start.
    let lock = fs::File::create(repo.join(".azldev-publish.lock"))
        .map_err(|e| format!("lock {}: {e}", repo.display()))?;
    lock.lock().map_err(|e| format!("lock {}: {e}", repo.display()))?;
    let stale = repo.join(".repodata");
    if stale.exists() {
        fs::remove_dir_all(&stale).map_err(|e| format!("remove {}: {e}", stale.display()))?;
    }
    let revision = stamp_packages(repo)?;
    let mut cmd = Command::new("createrepo_c");
    cmd.args(["--quiet", "--no-database", "--excludes", ".azldev-publish.lock"]);
    cmd.arg("--revision")
        .arg(revision.to_string())
        .arg("--set-timestamp-to-revision");
    let full = repo.join(REINDEX).exists();
    if repo.join("repodata/repomd.xml").is_file() && !full {
        cmd.arg("--update");
    }
    cmd.arg(repo);
    // Whatever is linked from here on gets the markers again.
    let _ = fs::remove_file(repo.join(UNINDEXED));
    let _ = fs::remove_file(repo.join(REINDEX));
    let res = azldev_buildroot::run::Runner::new()
        .run(&mut cmd)
        .map(|_| ())
        .map_err(|e| e.to_string());
    if res.is_err() {
        let _ = fs::write(repo.join(UNINDEXED), b"");
        if full {
            let _ = fs::write(repo.join(REINDEX), b"");
        }
    }
    res
}

/// The key of a unit given its dependencies' output digests.
fn key_of(unit: &Unit, dep_digests: &BTreeMap<String, Vec<String>>) -> String {
    let mut h = Sha256::new();
    h.update(b"azldev-build\x001\0");
    h.update(unit.job.arch.rpm());
    h.update([0]);
    h.update(unit.inputs.as_bytes());
    h.update([0]);
    h.update(if unit.job.check { "check" } else { "nocheck" });
    let mut deps: Vec<String> = unit
        .deps
        .iter()
        .filter(|d| !unit.dynamic_deps.contains(d))
        .cloned()
        .collect();
    deps.sort();
    for d in deps {
        h.update(d.as_bytes());
        h.update([0]);
        for dg in dep_digests.get(&d).map(Vec::as_slice).unwrap_or_default() {
            h.update(dg.as_bytes());
            h.update([0]);
        }
    }
    h.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug)]
enum State {
    Waiting,
    Running,
    Done { digests: Vec<String>, rebuilt: bool },
    Failed,
}

/// A unit ready to run, its dependencies' digests, and whether one of
/// them was rebuilt.
type Ready<'u> = (&'u Unit, BTreeMap<String, Vec<String>>, bool);

struct Shared {
    states: BTreeMap<String, State>,
    results: Vec<UnitResult>,
    stop: bool,
}

/// Runs the units (one arch) and returns a result per unit, in the units' order.
pub fn run(
    units: &[Unit],
    exec: &dyn Executor,
    store: &Store,
    opts: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<UnitResult> {
    let by_name: BTreeMap<&str, &Unit> = units.iter().map(|u| (u.job.name.as_str(), u)).collect();
    // Dependents and the longest chain below each unit (critical path first).
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in units {
        for d in &u.deps {
            if by_name.contains_key(d.as_str()) {
                dependents.entry(d.as_str()).or_default().push(&u.job.name);
            }
        }
    }
    // A component with `%generate_buildrequires` whose dynamic
    // BuildRequires no build has recorded yet has no edges to what they
    // will ask for: it starts after every other unit of the run that does
    // not depend on it, so whatever in-distro package its generator asks
    // for and this run builds is in the local repository by then.
    let unknown_dynamic: BTreeSet<&str> = units
        .iter()
        .filter(|u| {
            u.job.files.iter().any(|(p, b)| {
                p.ends_with(".spec") && !p.contains('/') && crate::exec::has_generate_buildrequires(b)
            }) && !dynamic_dir(&store.cache, &store.repo)
                .join(format!("{}.json", u.job.name))
                .is_file()
        })
        .map(|u| u.job.name.as_str())
        .collect();
    let below: BTreeMap<&str, BTreeSet<&str>> = unknown_dynamic
        .iter()
        .map(|n| {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut stack: Vec<&str> = vec![n];
            while let Some(x) = stack.pop() {
                for d in dependents.get(x).map(Vec::as_slice).unwrap_or_default() {
                    if seen.insert(d) {
                        stack.push(d);
                    }
                }
            }
            (*n, seen)
        })
        .collect();
    let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
    fn chain<'a>(
        n: &'a str,
        dependents: &BTreeMap<&'a str, Vec<&'a str>>,
        memo: &mut BTreeMap<&'a str, usize>,
        guard: usize,
    ) -> usize {
        if let Some(d) = memo.get(n) {
            return *d;
        }
        let d = if guard > 10_000 {
            0
        } else {
            1 + dependents.get(n).map_or(0, |ds| {
                ds.iter()
                    .map(|c| chain(c, dependents, memo, guard + 1))
                    .max()
                    .unwrap_or(0)
            })
        };
        memo.insert(n, d);
        d
    }
    for u in units {
        chain(&u.job.name, &dependents, &mut depth, 0);
    }
    let shared = Mutex::new(Shared {
        states: units
            .iter()
            .map(|u| (u.job.name.clone(), State::Waiting))
            .collect(),
        results: Vec::new(),
        stop: false,
    });
    let wake = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);

    // Picks the ready unit with the longest chain; None when nothing is
    // left to start. Waits while builds run that may release others.
    let next = || -> Option<Ready<'_>> {
        let mut g = lock();
        loop {
            let mut best: Option<&Unit> = None;
            let mut any_waiting = false;
            let mut any_running = false;
            let mut newly_blocked: Vec<(String, String)> = Vec::new();
            for u in units {
                match g.states.get(&u.job.name) {
                    Some(State::Running) => any_running = true,
                    Some(State::Waiting) => {
                        any_waiting = true;
                        let mut ready = true;
                        for d in u.deps.iter().filter(|d| by_name.contains_key(d.as_str())) {
                            match g.states.get(d) {
                                Some(State::Done { .. }) => {}
                                Some(State::Failed) => {
                                    newly_blocked.push((u.job.name.clone(), d.clone()));
                                    ready = false;
                                }
                                _ => ready = false,
                            }
                        }
                        let name = u.job.name.as_str();
                        if ready && let Some(under) = below.get(name) {
                            ready = g.states.iter().all(|(n, s)| {
                                n == name
                                    || under.contains(n.as_str())
                                    || unknown_dynamic.contains(n.as_str())
                                    || matches!(s, State::Done { .. } | State::Failed)
                            });
                        }
                        if ready
                            && !g.stop
                            && best.is_none_or(|b| depth[b.job.name.as_str()] < depth[u.job.name.as_str()])
                        {
                            best = Some(u);
                        }
                    }
                    _ => {}
                }
            }
            if !newly_blocked.is_empty() {
                for (name, by) in newly_blocked {
                    g.states.insert(name.clone(), State::Failed);
                    let u = by_name[name.as_str()];
                    let r = UnitResult {
                        name: name.clone(),
                        arch: u.job.arch,
                        key: None,
                        outcome: Outcome::Blocked { by },
                        rpms: Vec::new(),
                        logs: store.logs.join(&name),
                        dynamic_buildrequires: None,
                    };
                    on_event(Event::Finished { result: &r });
                    g.results.push(r);
                }
                continue;
            }
            if let Some(u) = best {
                g.states.insert(u.job.name.clone(), State::Running);
                let mut digests = BTreeMap::new();
                let mut dep_rebuilt = false;
                for d in &u.deps {
                    if let Some(State::Done { digests: dg, rebuilt }) = g.states.get(d) {
                        digests.insert(d.clone(), dg.clone());
                        dep_rebuilt |= *rebuilt;
                    }
                }
                return Some((u, digests, dep_rebuilt));
            }
            if !any_waiting {
                return None;
            }
            if !any_running {
                // Nothing can start: stopped, or the rest waits on nothing running.
                {
                    let waiting: Vec<String> = g
                        .states
                        .iter()
                        .filter(|(_, s)| matches!(s, State::Waiting))
                        .map(|(n, _)| n.clone())
                        .collect();
                    for name in waiting {
                        g.states.insert(name.clone(), State::Failed);
                        let u = by_name[name.as_str()];
                        let r = UnitResult {
                            name: name.clone(),
                            arch: u.job.arch,
                            key: None,
                            outcome: Outcome::Skipped,
                            rpms: Vec::new(),
                            logs: store.logs.join(&name),
                            dynamic_buildrequires: None,
                        };
                        g.results.push(r);
                    }
                    wake.notify_all();
                }
                return None;
            }
            g = wake.wait(g).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    };

    let work = |unit: &Unit, dep_digests: BTreeMap<String, Vec<String>>, dep_rebuilt: bool| {
        let key = key_of(unit, &dep_digests);
        let logs = store.logs.join(&unit.job.name);
        let cached = if opts.rebuild {
            None
        } else {
            store.lookup(&key, unit, &dep_digests)
        };
        let mut dynamic_brs: Option<Vec<String>> = None;
        let (outcome, rpms, digests, ok, rebuilt) = match cached {
            Some((files, digests, dynamic)) => {
                // The component's latest record is this build's (a record
                // only informs later plans: failing to write it is not a
                // failure of the build).
                if let Some(d) = &dynamic
                    && !opts.dry_run
                {
                    let _ = store.save_dynamic(d);
                }
                dynamic_brs = dynamic.map(|d| d.buildrequires);
                let published = if opts.dry_run {
                    Ok(())
                } else {
                    store.publish(&files, dependents.contains_key(unit.job.name.as_str()))
                };
                match published {
                    Ok(()) => (Outcome::Cached, names(&files), digests, true, false),
                    Err(e) => (
                        Outcome::Failed {
                            failure: BuildFailure {
                                kind: FailureKind::Infrastructure,
                                message: e,
                                log: None,
                                tail: String::new(),
                            },
                            attempts: 0,
                        },
                        Vec::new(),
                        Vec::new(),
                        false,
                        false,
                    ),
                }
            }
            None => {
                let why = if opts.rebuild {
                    "--rebuild".to_owned()
                } else if dep_rebuilt {
                    "a dependency's RPMs changed".to_owned()
                } else {
                    "its inputs changed (or it was never built)".to_owned()
                };
                if opts.dry_run {
                    // Unknown outputs: dependents are reported as rebuilt too.
                    (
                        Outcome::WouldBuild { why },
                        Vec::new(),
                        vec![format!("rebuild:{key}")],
                        true,
                        true,
                    )
                } else {
                    on_event(Event::Started {
                        name: &unit.job.name,
                        arch: unit.job.arch,
                    });
                    // It starts last for what the run published to be
                    // installable: index what was left for the end.
                    if unknown_dynamic.contains(unit.job.name.as_str()) {
                        let _ = store.index_pending();
                    }
                    let mut job = unit.job.clone();
                    job.key = key.clone();
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        let out = store.cache.join(format!(".out-{key}-{}", std::process::id()));
                        let _ = fs::remove_dir_all(&out);
                        let res = exec.build(&job, &out, &logs);
                        match res {
                            Ok(o) => {
                                let mut files = o.rpms.clone();
                                files.push(o.srpm.clone());
                                let dynamic = o
                                    .dynamic
                                    .as_ref()
                                    .map(|d| store.dynamic_record(&key, &unit.job.name, d));
                                let saved = store
                                    .save(&key, &unit.job.name, &files, dynamic.as_ref())
                                    .and_then(|r| {
                                        if let Some(d) = &dynamic {
                                            store.save_dynamic(d)?;
                                        }
                                        Ok(r)
                                    })
                                    .map_err(|e| e.to_string());
                                dynamic_brs = dynamic.map(|d| d.buildrequires);
                                let _ = fs::remove_dir_all(&out);
                                match saved.and_then(|(files, digests)| {
                                    store
                                        .publish(&files, dependents.contains_key(unit.job.name.as_str()))
                                        .map(|()| (files, digests))
                                }) {
                                    Ok((files, digests)) => {
                                        break (
                                            Outcome::Built {
                                                seconds: o.seconds,
                                                rpmbuild_seconds: o.rpmbuild_seconds,
                                                why,
                                                attempts,
                                            },
                                            names(&files),
                                            digests,
                                            true,
                                            true,
                                        );
                                    }
                                    Err(e) => {
                                        break (
                                            Outcome::Failed {
                                                failure: BuildFailure {
                                                    kind: FailureKind::Infrastructure,
                                                    message: e,
                                                    log: None,
                                                    tail: String::new(),
                                                },
                                                attempts,
                                            },
                                            Vec::new(),
                                            Vec::new(),
                                            false,
                                            false,
                                        );
                                    }
                                }
                            }
                            Err(f)
                                if f.kind == FailureKind::Infrastructure
                                    && attempts < 2
                                    && !azldev_buildroot::run::cancelled() =>
                            {
                                let _ = fs::remove_dir_all(&out);
                            }
                            Err(f) => {
                                let _ = fs::remove_dir_all(&out);
                                break (
                                    Outcome::Failed { failure: f, attempts },
                                    Vec::new(),
                                    Vec::new(),
                                    false,
                                    false,
                                );
                            }
                        }
                    }
                }
            }
        };
        // Early cut-off happens through the digests: identical RPMs leave
        // dependents' keys unchanged; `rebuilt` only explains why.
        let result = UnitResult {
            name: unit.job.name.clone(),
            arch: unit.job.arch,
            key: Some(key),
            outcome,
            rpms,
            logs,
            dynamic_buildrequires: dynamic_brs,
        };
        on_event(Event::Finished { result: &result });
        let mut g = lock();
        g.states.insert(
            unit.job.name.clone(),
            if ok {
                State::Done { digests, rebuilt }
            } else {
                State::Failed
            },
        );
        if !ok && opts.fail_fast {
            g.stop = true;
        }
        g.results.push(result);
        drop(g);
        wake.notify_all();
    };

    let jobs = opts.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build();
    let workers = || {
        rayon::scope(|s| {
            for _ in 0..jobs {
                s.spawn(|_| {
                    while let Some((u, d, r)) = next() {
                        work(u, d, r);
                    }
                });
            }
        });
    };
    match pool {
        Ok(pool) => pool.install(workers),
        Err(_) => workers(),
    }
    let mut results = std::mem::take(&mut lock().results);
    // The builds nothing in this run waited for are indexed once, now.
    if !opts.dry_run
        && let Err(e) = store.index_pending()
    {
        for r in &mut results {
            if matches!(r.outcome, Outcome::Built { .. } | Outcome::Cached) {
                r.outcome = Outcome::Failed {
                    failure: BuildFailure {
                        kind: FailureKind::Infrastructure,
                        message: format!("indexing the repository: {e}"),
                        log: None,
                        tail: String::new(),
                    },
                    attempts: 1,
                };
            }
        }
    }
    let order: BTreeMap<&str, usize> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.job.name.as_str(), i))
        .collect();
    results.sort_by_key(|r| order.get(r.name.as_str()).copied().unwrap_or(usize::MAX));
    results
}

/// Whether two paths are the same file (hard links of one inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// Total seconds of a run, for reports.
pub fn elapsed_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dynamic_deps: &[&str]) -> Unit {
        Unit {
            job: BuildJob {
                name: "app".into(),
                arch: Arch::X86_64,
                build_arch: "x86_64".into(),
                files: BTreeMap::new(),
                sources: Vec::new(),
                buildrequires: Vec::new(),
                check: true,
                ncpus: 1,
                key: String::new(),
            },
            deps: vec!["libfoo".into(), "libgreet".into()],
            dynamic_deps: dynamic_deps.iter().map(|d| (*d).to_owned()).collect(),
            inputs: "inputs".into(),
        }
    }

    /// Records the order builds start in; every build fails (nothing
    /// is stored or published).
    struct Recorder(Mutex<Vec<String>>);

    impl Executor for Recorder {
        fn build(
            &self,
            job: &BuildJob,
            _out: &Path,
            _logs: &Path,
        ) -> Result<crate::exec::BuildOutput, BuildFailure> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(job.name.clone());
            Err(BuildFailure {
                kind: FailureKind::Build,
                message: "recorded".into(),
                log: None,
                tail: String::new(),
            })
        }
    }

    #[test]
    fn a_dynamic_component_without_a_record_starts_after_the_rest_of_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store {
            cache: dir.path().join("builds"),
            repo: dir.path().join("repo"),
            noarch_repos: Vec::new(),
            logs: dir.path().join("logs"),
        };
        let spec = |name: &str, dynamic: bool| {
            let body = format!(
                "Name: {name}\n%description\nx\n{}%build\n",
                if dynamic {
                    "%generate_buildrequires\necho lib-devel\n"
                } else {
                    ""
                }
            );
            BTreeMap::from([(format!("{name}.spec"), body.into_bytes())])
        };
        let mk = |name: &str, deps: &[&str], dynamic: bool| {
            let mut u = unit(&[]);
            u.job.name = name.into();
            u.job.files = spec(name, dynamic);
            u.deps = deps.iter().map(|d| (*d).to_owned()).collect();
            u
        };
        // `app` has the longest chain (`tool` needs it), so it would go
        // first; without a record it waits for `lib` (and `zlib`).
        let units = vec![
            mk("app", &[], true),
            mk("lib", &[], false),
            mk("tool", &["app"], false),
            mk("zlib", &[], false),
        ];
        let opts = Options {
            jobs: 1,
            fail_fast: false,
            rebuild: false,
            dry_run: false,
        };
        let order = |store: &Store| {
            let rec = Recorder(Mutex::new(Vec::new()));
            let results = run(&units, &rec, store, &opts, &|_| {});
            assert_eq!(results.len(), 4);
            rec.0
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        assert_eq!(order(&store), ["lib", "zlib", "app"], "tool is blocked by app");
        // Once a build recorded what it asks for, the plan has the edges:
        // the usual order, longest chain first.
        let records = dynamic_dir(&store.cache, &store.repo);
        std::fs::create_dir_all(&records).expect("mkdir");
        std::fs::write(records.join("app.json"), "{}").expect("write");
        assert_eq!(order(&store), ["app", "lib", "zlib"]);
    }

    #[test]
    fn dynamic_only_dependencies_are_checked_by_their_exact_rpms_not_keyed() {
        let digests = |greet: &str| {
            BTreeMap::from([
                ("libfoo".to_owned(), vec!["libfoo-1-1.x86_64.rpm aa".to_owned()]),
                (
                    "libgreet".to_owned(),
                    vec![
                        format!("libgreet-devel-1.0-1.x86_64.rpm {greet}"),
                        "libgreet-1.0-1.src.rpm ff".to_owned(),
                    ],
                ),
            ])
        };
        // The key ignores the dynamic-only dependency's digests, keeps the
        // static one's.
        let u = unit(&["libgreet"]);
        assert_eq!(key_of(&u, &digests("11")), key_of(&u, &digests("22")));
        let mut other_foo = digests("11");
        other_foo.insert("libfoo".into(), vec!["libfoo-1-1.x86_64.rpm bb".into()]);
        assert_ne!(key_of(&u, &digests("11")), key_of(&u, &other_foo));
        assert_ne!(key_of(&u, &digests("11")), key_of(&unit(&[]), &digests("11")));
        // The record decides: same RPM, same digest → current.
        let rec = DynamicRecord {
            name: "app".into(),
            key: "k".into(),
            buildrequires: vec!["libgreet-devel".into()],
            rounds: 2,
            rpms: vec!["libgreet-devel-1.0-1.x86_64.rpm 11".into()],
        };
        assert!(dynamic_current(Some(&rec), &u, &digests("11")));
        assert!(
            !dynamic_current(Some(&rec), &u, &digests("22")),
            "rebuilt differently"
        );
        let mut bumped = digests("11");
        bumped.insert(
            "libgreet".into(),
            vec!["libgreet-devel-1.1-1.x86_64.rpm 11".into()],
        );
        assert!(!dynamic_current(Some(&rec), &u, &bumped), "a new version");
        assert!(!dynamic_current(None, &u, &digests("11")), "no record");
        assert!(dynamic_current(None, &unit(&[]), &digests("11")), "not dynamic");
    }

    #[test]
    fn reports_name_fields_in_kebab_case() {
        let r = UnitResult {
            name: "hello".into(),
            arch: Arch::X86_64,
            key: None,
            outcome: Outcome::Built {
                seconds: 2.0,
                rpmbuild_seconds: 1.5,
                why: "--rebuild".into(),
                attempts: 1,
            },
            rpms: Vec::new(),
            logs: PathBuf::from("logs"),
            dynamic_buildrequires: None,
        };
        let v = serde_json::to_value(&r).expect("serializes");
        assert_eq!(v["status"], "built");
        assert_eq!(v["rpmbuild-seconds"], 1.5);
        assert_eq!(v["seconds"], 2.0);
        assert!(v.get("rpmbuild_seconds").is_none(), "{v}");
    }
}
