//! The Koji executor: one build of the plan submitted to a hub as a Koji
//! `build` task, driven by the same scheduler as local builds.
//!
//! For each job:
//! 1. an NVR the target's destination tag already holds is not submitted
//!    again; its RPMs are fetched from `topurl` (same cache semantics as
//!    locally);
//! 2. it waits until every in-distro dependency's NVR is in the build tag's
//!    repository, so a build never runs against a stale one. On a hub with
//!    repository requests (Koji ≥ 1.35: `repo.request` and
//!    `repo.checkRequest` in `system.listMethods`), as the koji CLI's
//!    `wait-repo --request` does: wait until the NVRs are tagged (inherited)
//!    into the build tag, then request a repository at least as new as
//!    the event that tagged the last of them (`min_event`) and follow the
//!    request until it names its repository, which is checked (its
//!    `create_event`, and `listTagged` at that event holds the NVRs).
//!    On older hubs (no such calls, or "Invalid method"): `getRepo` of the
//!    build tag, then `listTagged` at the repository's `create_event` (the
//!    `wait-repo --build` check), polled with backoff while kojira
//!    regenerates the repository by itself;
//! 3. it submits `build(src, target, opts)`: an SCM URL of the rendered
//!    tree at a pushed commit (`git+<url>?<dir>#<commit>`), or an SRPM made
//!    here with `rpmbuild -bs` and uploaded in chunks (`uploadFile`);
//! 4. it follows the task with backoff (`getTaskInfo`, `getTaskChildren`),
//!    cancelling it on Ctrl-C or timeout (`cancelTask`);
//! 5. on success it downloads the arch's RPMs and the SRPM from the
//!    `buildArch` tasks' output (`listTaskOutput`/`downloadTaskOutput`)
//!    for the local repository; on failure it downloads the failing
//!    tasks' logs into the component's log directory, shows the tail and
//!    classifies: mock's exit status 30 (the buildroot or its
//!    dependencies could not be set up) is an infrastructure failure that
//!    the scheduler retries once, status 1 a build (or `%check`) failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use azldev_build::exec::{BuildFailure, BuildJob, BuildOutput, Executor, FailureKind, REPRODUCIBLE};
use serde::Serialize;

use crate::client::{KojiError, Session};
use crate::xmlrpc::Value;

/// Koji task states (`koji.TASK_STATES`).
pub mod task_state {
    pub const FREE: i64 = 0;
    pub const OPEN: i64 = 1;
    pub const CLOSED: i64 = 2;
    pub const CANCELED: i64 = 3;
    pub const ASSIGNED: i64 = 4;
    pub const FAILED: i64 = 5;
}

/// Where a build's sources come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMode {
    /// An SCM build of the rendered tree: `git+<url>?<specs_dir>/<l>/<name>#<commit>`.
    Scm {
        url: String,
        commit: String,
        /// The rendered-specs directory relative to the repository root.
        specs_dir: String,
    },
    /// The SRPM made here and uploaded.
    Upload,
}

/// How the executor runs.
#[derive(Debug, Clone)]
pub struct KojiOptions {
    pub target: String,
    pub scratch: bool,
    pub source: SourceMode,
    /// First polling interval; doubled up to `max_poll`.
    pub poll: Duration,
    pub max_poll: Duration,
    /// A task running longer is cancelled (an infrastructure failure).
    pub task_timeout: Duration,
    /// How long to wait for dependencies to reach the build tag's repo.
    pub repo_timeout: Duration,
    /// Scratch space for SRPMs and downloads.
    pub work_dir: PathBuf,
    /// Upload chunk size in bytes.
    pub chunk: usize,
}

/// The target's tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Target {
    pub name: String,
    pub build_tag: String,
    pub dest_tag: String,
}

/// What Koji did for one component (for the report).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaskRecord {
    pub name: String,
    /// The NVR expected from the plan, or built.
    pub nvr: String,
    /// Task ids submitted, in order (a retried build has two).
    pub tasks: Vec<i64>,
    /// Web URL of the last task.
    pub url: Option<String>,
    /// Already in the destination tag: not submitted.
    pub already_tagged: bool,
    /// Seconds spent waiting for dependencies in the build tag's repo.
    pub repo_wait_seconds: f64,
    /// Final task state name.
    pub state: Option<String>,
    /// The repository request waited on (hubs with `repo.request`).
    pub repo_request: Option<i64>,
    /// The build tag's repository the dependencies were found in.
    pub repo_id: Option<i64>,
}

/// Submits builds to a Koji hub.
#[derive(Debug)]
pub struct KojiExecutor {
    pub session: Session,
    pub opts: KojiOptions,
    pub target: Target,
    /// Component → NVR the plan expects (name-version-release).
    pub nvrs: BTreeMap<String, String>,
    /// Component → in-plan components it builds against.
    pub deps: BTreeMap<String, Vec<String>>,
    /// Component → NVR known to be built (this run or already tagged).
    built: Mutex<BTreeMap<String, String>>,
    /// Tasks this run submitted that have not ended.
    open: Mutex<Vec<i64>>,
    /// Whether the hub takes repository requests (`repo.request`); turned
    /// off if a call says the method does not exist.
    repo_requests: std::sync::atomic::AtomicBool,
    records: Mutex<BTreeMap<String, TaskRecord>>,
}

fn infra(message: impl Into<String>) -> BuildFailure {
    BuildFailure {
        kind: FailureKind::Infrastructure,
        message: message.into(),
        log: None,
        tail: String::new(),
    }
}

/// The entry of a `listTagged` answer whose NVR is `nvr`.
fn entry_for(list: &Value, nvr: &str) -> Option<Value> {
    list.as_array()
        .unwrap_or_default()
        .iter()
        .find(|b| b.get("nvr").and_then(Value::as_str) == Some(nvr))
        .cloned()
}

fn koji_failure(e: &KojiError) -> BuildFailure {
    infra(e.to_string())
}

/// `name-version-release` of a plan component (the epoch dropped).
#[must_use]
pub fn nvr(name: &str, evr: &str) -> String {
    let vr = evr.split_once(':').map_or(evr, |(_, r)| r);
    format!("{name}-{vr}")
}

/// The state name of a task state number.
#[must_use]
pub fn state_name(s: i64) -> &'static str {
    match s {
        task_state::FREE => "FREE",
        task_state::OPEN => "OPEN",
        task_state::CLOSED => "CLOSED",
        task_state::CANCELED => "CANCELED",
        task_state::ASSIGNED => "ASSIGNED",
        task_state::FAILED => "FAILED",
        _ => "UNKNOWN",
    }
}

fn kw<const N: usize>(pairs: [(&str, Value); N]) -> BTreeMap<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// The repository a build's dependencies were found in.
#[derive(Debug, Default)]
struct RepoFound {
    repo: Option<i64>,
    /// The repository request fulfilled by it, if one was made.
    request: Option<i64>,
}

/// The hub has no repository requests: wait the older way.
#[derive(Debug)]
struct Fallback;

/// Exponential backoff between polls.
#[derive(Debug)]
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn sleep(&mut self) {
        // Sleep in small slices so Ctrl-C is noticed quickly.
        let until = Instant::now() + self.next;
        while Instant::now() < until && !azldev_buildroot::run::cancelled() {
            std::thread::sleep(Duration::from_millis(50).min(self.next));
        }
        self.next = (self.next * 2).min(self.max);
    }
}

impl KojiExecutor {
    /// Logs in, resolves the target.
    ///
    /// # Errors
    /// Login refused, or no such target.
    pub fn connect(
        session: Session,
        opts: KojiOptions,
        nvrs: BTreeMap<String, String>,
        deps: BTreeMap<String, Vec<String>>,
    ) -> Result<KojiExecutor, KojiError> {
        session.login()?;
        // Koji >= 1.35 makes repositories on request.
        let repo_requests = session
            .call("system.listMethods", &[])
            .ok()
            .and_then(|v| {
                let names: Vec<&str> = v.as_array()?.iter().filter_map(Value::as_str).collect();
                Some(names.contains(&"repo.request") && names.contains(&"repo.checkRequest"))
            })
            .unwrap_or(false);
        let t = session.call("getBuildTarget", &[Value::str(opts.target.clone())])?;
        if t.is_nil() {
            return Err(KojiError::Other(format!(
                "the hub has no build target `{}`",
                opts.target
            )));
        }
        let field = |k: &str| {
            t.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| KojiError::Other(format!("getBuildTarget: no `{k}` in the answer")))
        };
        let target = Target {
            name: field("name")?,
            build_tag: field("build_tag_name")?,
            dest_tag: field("dest_tag_name")?,
        };
        Ok(KojiExecutor {
            session,
            opts,
            target,
            nvrs,
            deps,
            built: Mutex::new(BTreeMap::new()),
            open: Mutex::new(Vec::new()),
            repo_requests: std::sync::atomic::AtomicBool::new(repo_requests),
            records: Mutex::new(BTreeMap::new()),
        })
    }

    /// Whether dependencies are waited for with repository requests
    /// (else by polling the build tag's latest repository).
    #[must_use]
    pub fn uses_repo_requests(&self) -> bool {
        self.repo_requests.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What was done per component.
    #[must_use]
    pub fn records(&self) -> BTreeMap<String, TaskRecord> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn record(&self, name: &str, f: impl FnOnce(&mut TaskRecord)) {
        let mut r = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = r.entry(name.to_owned()).or_insert_with(|| TaskRecord {
            name: name.to_owned(),
            ..TaskRecord::default()
        });
        f(e);
    }

    /// Cancels every task this run submitted that has not ended
    /// (`cancelTask`); returns the ids cancelled.
    pub fn cancel_open(&self) -> Vec<i64> {
        let open: Vec<i64> = std::mem::take(
            &mut *self
                .open
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        open.into_iter()
            .filter(|t| self.session.call("cancelTask", &[Value::Int(*t)]).is_ok())
            .collect()
    }

    fn task_url(&self, task: i64) -> Option<String> {
        self.session
            .profile
            .weburl
            .as_ref()
            .map(|w| format!("{}/taskinfo?taskID={task}", w.trim_end_matches('/')))
    }

    /// The build of `nvr` in the destination tag, if tagged there.
    fn tagged(&self, name: &str, nvr: &str) -> Result<Option<Value>, KojiError> {
        let list = self.session.call_kw(
            "listTagged",
            &[Value::str(self.target.dest_tag.clone())],
            kw([("package", Value::str(name)), ("inherit", Value::Bool(false))]),
        )?;
        Ok(entry_for(&list, nvr))
    }

    /// `listTagged` of `pkg` in the build tag (inherited), at `event`
    /// (else now): the entry for `nvr`, if tagged.
    fn in_build_tag(&self, pkg: &str, nvr: &str, event: Option<i64>) -> Result<Option<Value>, BuildFailure> {
        let mut k = kw([("inherit", Value::Bool(true)), ("package", Value::str(pkg))]);
        if let Some(e) = event {
            k.insert("event".into(), Value::Int(e));
        }
        let list = self
            .session
            .call_kw("listTagged", &[Value::str(self.target.build_tag.clone())], k)
            .map_err(|e| koji_failure(&e))?;
        Ok(entry_for(&list, nvr))
    }

    /// Waits until every NVR of `want` (package → NVR) is in the build
    /// tag's repository; the repository's id.
    fn wait_repo(&self, want: &[(String, String)]) -> Result<RepoFound, BuildFailure> {
        if want.is_empty() {
            return Ok(RepoFound::default());
        }
        if self.uses_repo_requests() {
            match self.wait_repo_request(want) {
                Err(Fallback) => {
                    self.repo_requests
                        .store(false, std::sync::atomic::Ordering::SeqCst);
                }
                Ok(r) => return r,
            }
        }
        self.wait_repo_polling(want)
    }

    /// The repository-request way (Koji >= 1.35). `Err(Fallback)` when the
    /// hub turns out not to have the calls.
    fn wait_repo_request(
        &self,
        want: &[(String, String)],
    ) -> Result<Result<RepoFound, BuildFailure>, Fallback> {
        let start = Instant::now();
        let mut backoff = Backoff {
            next: self.opts.poll,
            max: self.opts.max_poll,
        };
        let tag = &self.target.build_tag;
        let timeout = |what: &str| {
            infra(format!(
                "{what} after {}s (build tag {tag})",
                self.opts.repo_timeout.as_secs()
            ))
        };
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(f) => return Ok(Err(f)),
                }
            };
        }
        'fresh: loop {
            // 1. The NVRs tagged (inherited) into the build tag: the event
            // that tagged the last of them is the repository's minimum.
            let min_event = loop {
                if azldev_buildroot::run::cancelled() {
                    return Ok(Err(infra(
                        "interrupted while waiting for the build tag's repository",
                    )));
                }
                let mut events = Vec::new();
                let mut missing = Vec::new();
                for (pkg, nvr) in want {
                    match tri!(self.in_build_tag(pkg, nvr, None)) {
                        Some(b) => events.push(b.get("create_event").and_then(Value::as_i64)),
                        None => missing.push(nvr.clone()),
                    }
                }
                if missing.is_empty() {
                    match events.iter().copied().collect::<Option<Vec<i64>>>() {
                        Some(ev) => break ev.into_iter().max().unwrap_or_default(),
                        // No tagging events in the answer: the tag's last change.
                        None => {
                            let v = tri!(
                                self.session
                                    .call("tagLastChangeEvent", &[Value::str(tag.clone())])
                                    .map_err(|e| koji_failure(&e))
                            );
                            match v.as_i64() {
                                Some(e) => break e,
                                None => return Err(Fallback),
                            }
                        }
                    }
                }
                if start.elapsed() > self.opts.repo_timeout {
                    return Ok(Err(timeout(&format!("{} not tagged", missing.join(", ")))));
                }
                backoff.sleep();
            };
            // 2. A repository at least that new, or a request for one.
            let check = match self.session.call_kw(
                "repo.request",
                &[Value::str(tag.clone())],
                kw([("min_event", Value::Int(min_event))]),
            ) {
                Ok(v) => v,
                Err(KojiError::Fault { message, .. }) if message.contains("Invalid method") => {
                    return Err(Fallback);
                }
                Err(e) => return Ok(Err(koji_failure(&e))),
            };
            let mut repo = check.get("repo").filter(|r| !r.is_nil()).cloned();
            let request = check
                .get("request")
                .and_then(|r| r.get("id"))
                .and_then(Value::as_i64);
            // 3. Follow the request until it names its repository.
            while repo.is_none() {
                let Some(id) = request else {
                    return Ok(Err(infra(format!(
                        "repo.request for {tag} returned neither a repository nor a request"
                    ))));
                };
                if azldev_buildroot::run::cancelled() {
                    return Ok(Err(infra(
                        "interrupted while waiting for the build tag's repository",
                    )));
                }
                if start.elapsed() > self.opts.repo_timeout {
                    return Ok(Err(timeout(&format!("repository request {id} not fulfilled"))));
                }
                backoff.sleep();
                let c = tri!(
                    self.session
                        .call("repo.checkRequest", &[Value::Int(id)])
                        .map_err(|e| koji_failure(&e))
                );
                repo = c.get("repo").filter(|r| !r.is_nil()).cloned();
                let req = c.get("request");
                let active = req.and_then(|r| r.get("active")).and_then(Value::as_bool);
                if repo.is_none() && active == Some(false) {
                    let task = req
                        .and_then(|r| r.get("task_id"))
                        .and_then(Value::as_i64)
                        .map(|t| {
                            let state = req
                                .and_then(|r| r.get("task_state"))
                                .and_then(Value::as_i64)
                                .map_or("", state_name);
                            format!(" (newRepo task {t} {state})")
                        })
                        .unwrap_or_default();
                    return Ok(Err(infra(format!(
                        "repository request {id} for {tag} is no longer active and made no repository{task}"
                    ))));
                }
            }
            // 4. Check the repository: new enough, and holding the NVRs.
            let repo = repo.unwrap_or(Value::Nil);
            let event = repo.get("create_event").and_then(Value::as_i64).unwrap_or(-1);
            if event >= min_event {
                let mut all = true;
                for (pkg, nvr) in want {
                    all &= tri!(self.in_build_tag(pkg, nvr, Some(event))).is_some();
                }
                if all {
                    return Ok(Ok(RepoFound {
                        repo: repo.get("id").and_then(Value::as_i64),
                        request,
                    }));
                }
            }
            // Untagged meanwhile, or a repository that does not fit: again.
            if start.elapsed() > self.opts.repo_timeout {
                return Ok(Err(timeout("no repository holds the dependencies")));
            }
            backoff.sleep();
            continue 'fresh;
        }
    }

    /// The polling way (hubs before repository requests).
    fn wait_repo_polling(&self, want: &[(String, String)]) -> Result<RepoFound, BuildFailure> {
        let start = Instant::now();
        let mut backoff = Backoff {
            next: self.opts.poll,
            max: self.opts.max_poll,
        };
        loop {
            if azldev_buildroot::run::cancelled() {
                return Err(infra("interrupted while waiting for the build tag's repository"));
            }
            let repo = self
                .session
                .call("getRepo", &[Value::str(self.target.build_tag.clone())])
                .map_err(|e| koji_failure(&e))?;
            let mut missing = Vec::new();
            let repo_id = repo.get("id").and_then(Value::as_i64);
            if let Some(event) = repo.get("create_event").and_then(Value::as_i64) {
                for (pkg, nvr) in want {
                    let list = self
                        .session
                        .call_kw(
                            "listTagged",
                            &[Value::str(self.target.build_tag.clone())],
                            kw([
                                ("event", Value::Int(event)),
                                ("inherit", Value::Bool(true)),
                                ("package", Value::str(pkg.clone())),
                            ]),
                        )
                        .map_err(|e| koji_failure(&e))?;
                    let present = list
                        .as_array()
                        .unwrap_or_default()
                        .iter()
                        .any(|b| b.get("nvr").and_then(Value::as_str) == Some(nvr.as_str()));
                    if !present {
                        missing.push(nvr.clone());
                    }
                }
            } else {
                missing.extend(want.iter().map(|(_, n)| n.clone()));
            }
            if missing.is_empty() {
                return Ok(RepoFound {
                    repo: repo_id,
                    request: None,
                });
            }
            if start.elapsed() > self.opts.repo_timeout {
                return Err(infra(format!(
                    "{} not in the repository of build tag {} after {}s",
                    missing.join(", "),
                    self.target.build_tag,
                    self.opts.repo_timeout.as_secs()
                )));
            }
            backoff.sleep();
        }
    }

    fn source(&self, job: &BuildJob, scratch: &Path) -> Result<String, BuildFailure> {
        match &self.opts.source {
            SourceMode::Scm {
                url,
                commit,
                specs_dir,
            } => {
                let first = job
                    .name
                    .chars()
                    .next()
                    .map(|c| c.to_lowercase().collect::<String>())
                    .unwrap_or_default();
                let dir = if specs_dir.is_empty() || specs_dir == "." {
                    format!("{first}/{}", job.name)
                } else {
                    format!("{}/{first}/{}", specs_dir.trim_end_matches('/'), job.name)
                };
                Ok(format!("git+{url}?{dir}#{commit}"))
            }
            SourceMode::Upload => {
                let srpm = make_srpm(job, scratch)?;
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default();
                let dir = format!("cli-build/azldev-{}-{stamp}-{}", std::process::id(), job.name);
                self.session
                    .upload(&srpm, &dir, self.opts.chunk)
                    .map_err(|e| koji_failure(&e))
            }
        }
    }

    fn closed(&self, task: i64) {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|t| *t != task);
    }

    /// Follows `task` to its end; the final info.
    fn follow(&self, task: i64) -> Result<Value, BuildFailure> {
        let start = Instant::now();
        let mut backoff = Backoff {
            next: self.opts.poll,
            max: self.opts.max_poll,
        };
        loop {
            let info = self
                .session
                .call("getTaskInfo", &[Value::Int(task)])
                .map_err(|e| koji_failure(&e))?;
            let state = info.get("state").and_then(Value::as_i64).unwrap_or(-1);
            if matches!(
                state,
                task_state::CLOSED | task_state::FAILED | task_state::CANCELED
            ) {
                self.closed(task);
                return Ok(info);
            }
            if azldev_buildroot::run::cancelled() {
                if self.session.call("cancelTask", &[Value::Int(task)]).is_ok() {
                    self.closed(task);
                }
                return Err(infra(format!("interrupted: task {task} cancelled")));
            }
            if start.elapsed() > self.opts.task_timeout {
                if self.session.call("cancelTask", &[Value::Int(task)]).is_ok() {
                    self.closed(task);
                }
                return Err(infra(format!(
                    "task {task} did not finish within {}s; cancelled",
                    self.opts.task_timeout.as_secs()
                )));
            }
            backoff.sleep();
        }
    }

    fn children(&self, task: i64) -> Result<Vec<Value>, BuildFailure> {
        let v = self
            .session
            .call("getTaskChildren", &[Value::Int(task)])
            .map_err(|e| koji_failure(&e))?;
        Ok(v.as_array().unwrap_or_default().to_vec())
    }

    fn outputs(&self, task: i64) -> Result<Vec<String>, BuildFailure> {
        let v = self
            .session
            .call("listTaskOutput", &[Value::Int(task)])
            .map_err(|e| koji_failure(&e))?;
        Ok(match v {
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
            Value::Struct(m) => m.keys().cloned().collect(),
            _ => Vec::new(),
        })
    }

    /// Downloads the logs of a failed task (and its failed children) and
    /// makes the failure.
    fn failure(&self, task: i64, info: &Value, logs: &Path) -> BuildFailure {
        let mut failed: Vec<Value> = vec![info.clone()];
        if let Ok(ch) = self.children(task) {
            failed.extend(
                ch.into_iter()
                    .filter(|c| c.get("state").and_then(Value::as_i64) == Some(task_state::FAILED)),
            );
        }
        let _ = std::fs::create_dir_all(logs);
        let mut message = String::new();
        let mut best_log: Option<PathBuf> = None;
        let mut kind = FailureKind::Build;
        // The deepest failed task carries the real error.
        for t in failed.iter().rev() {
            let Some(id) = t.get("id").and_then(Value::as_i64) else {
                continue;
            };
            if message.is_empty()
                && let Err(KojiError::Fault { message: m, .. }) =
                    self.session.call("getTaskResult", &[Value::Int(id)])
            {
                message = m;
            }
            for f in self.outputs(id).unwrap_or_default() {
                if !f.ends_with(".log") {
                    continue;
                }
                let Ok(bytes) = self.session.download_task_output(id, &f) else {
                    continue;
                };
                let arch = t.get("arch").and_then(Value::as_str).unwrap_or("task");
                let dest = logs.join(format!("koji-{id}-{arch}-{f}"));
                if std::fs::write(&dest, &bytes).is_ok() {
                    let want = if message.contains("status 30") || message.contains("status: 30") {
                        "root.log"
                    } else {
                        "build.log"
                    };
                    if f == want || best_log.is_none() {
                        best_log = Some(dest);
                    }
                }
            }
        }
        let state = info.get("state").and_then(Value::as_i64).unwrap_or(-1);
        if state == task_state::CANCELED {
            kind = FailureKind::Infrastructure;
            if message.is_empty() {
                message = format!("task {task} was cancelled");
            }
        } else if message.contains("exited with status 30") {
            // mock could not set up the buildroot or install the
            // BuildRequires: infrastructure or dependencies; retried once.
            kind = FailureKind::Infrastructure;
        } else if best_log.as_ref().is_some_and(|l| {
            std::fs::read_to_string(l)
                .unwrap_or_default()
                .lines()
                .any(|x| x.contains("Bad exit status from") && x.contains("(%check)"))
        }) {
            kind = FailureKind::Check;
        }
        if message.is_empty() {
            message = format!("task {task} {}", state_name(state));
        }
        let tail = best_log
            .as_ref()
            .map(|l| {
                let text = std::fs::read(l).unwrap_or_default();
                azldev_build::run::tail(&text, 20)
            })
            .unwrap_or_default();
        BuildFailure {
            kind,
            message: format!(
                "Koji task {task}{}: {}",
                self.task_url(task).map(|u| format!(" ({u})")).unwrap_or_default(),
                message.lines().next().unwrap_or_default()
            ),
            log: best_log,
            tail,
        }
    }

    /// Downloads the RPMs of a finished build task for `arch` (and noarch)
    /// and its SRPM into `out`.
    fn fetch_task_rpms(
        &self,
        task: i64,
        arch: &str,
        out: &Path,
    ) -> Result<(Vec<PathBuf>, PathBuf, f64), BuildFailure> {
        std::fs::create_dir_all(out).map_err(|e| infra(e.to_string()))?;
        let mut rpms = Vec::new();
        let mut srpm = None;
        let mut build_seconds: f64 = 0.0;
        for c in self.children(task)? {
            let Some(id) = c.get("id").and_then(Value::as_i64) else {
                continue;
            };
            let method = c.get("method").and_then(Value::as_str).unwrap_or_default();
            let carch = c.get("arch").and_then(Value::as_str).unwrap_or_default();
            if method != "buildArch" || (carch != arch && carch != "noarch") {
                continue;
            }
            if let (Some(s), Some(e)) = (
                c.get("start_ts").and_then(Value::as_f64),
                c.get("completion_ts").and_then(Value::as_f64),
            ) {
                build_seconds = build_seconds.max(e - s);
            }
            for f in self.outputs(id)? {
                if !f.ends_with(".rpm") {
                    continue;
                }
                let is_src = f.ends_with(".src.rpm");
                if is_src && srpm.is_some() {
                    continue;
                }
                let bytes = self
                    .session
                    .download_task_output(id, &f)
                    .map_err(|e| koji_failure(&e))?;
                let dest = out.join(&f);
                std::fs::write(&dest, bytes).map_err(|e| infra(e.to_string()))?;
                if is_src {
                    srpm = Some(dest);
                } else {
                    rpms.push(dest);
                }
            }
        }
        let srpm = srpm.ok_or_else(|| infra(format!("task {task} produced no SRPM")))?;
        if rpms.is_empty() {
            return Err(infra(format!("task {task} produced no {arch} or noarch RPM")));
        }
        rpms.sort();
        Ok((rpms, srpm, build_seconds))
    }

    /// Downloads the RPMs of an existing build from `topurl`.
    fn fetch_build_rpms(
        &self,
        build: &Value,
        arch: &str,
        out: &Path,
    ) -> Result<(Vec<PathBuf>, PathBuf), BuildFailure> {
        let top = self.session.profile.topurl.clone().ok_or_else(|| {
            infra(format!(
                "profile `{}` has no topurl: cannot fetch already-built RPMs",
                self.session.profile.name
            ))
        })?;
        let id = build
            .get("build_id")
            .or_else(|| build.get("id"))
            .and_then(Value::as_i64)
            .ok_or_else(|| infra("listTagged: a build without an id"))?;
        std::fs::create_dir_all(out).map_err(|e| infra(e.to_string()))?;
        let list = self
            .session
            .call("listBuildRPMs", &[Value::Int(id)])
            .map_err(|e| koji_failure(&e))?;
        let mut rpms = Vec::new();
        let mut srpm = None;
        for r in list.as_array().unwrap_or_default() {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let a = s("arch");
            if a != arch && a != "noarch" && a != "src" {
                continue;
            }
            let file = format!("{}-{}-{}.{a}.rpm", s("name"), s("version"), s("release"));
            let url = format!(
                "{}/packages/{}/{}/{}/{a}/{file}",
                top.trim_end_matches('/'),
                build
                    .get("package_name")
                    .and_then(Value::as_str)
                    .unwrap_or(&s("name")),
                s("version"),
                s("release")
            );
            let dest = out.join(&file);
            self.session.download(&url, &dest).map_err(|e| koji_failure(&e))?;
            if a == "src" {
                srpm = Some(dest);
            } else {
                rpms.push(dest);
            }
        }
        let srpm = srpm.ok_or_else(|| infra(format!("build {id} has no SRPM")))?;
        rpms.sort();
        Ok((rpms, srpm))
    }
}

impl Executor for KojiExecutor {
    fn build(&self, job: &BuildJob, out: &Path, logs: &Path) -> Result<BuildOutput, BuildFailure> {
        let start = Instant::now();
        let expected = self
            .nvrs
            .get(&job.name)
            .cloned()
            .ok_or_else(|| infra(format!("{}: no NVR in the plan", job.name)))?;
        self.record(&job.name, |r| r.nvr.clone_from(&expected));
        let arch = job.arch.rpm();
        // 1. Already in the destination tag: not submitted again.
        if !self.opts.scratch
            && let Some(b) = self.tagged(&job.name, &expected).map_err(|e| koji_failure(&e))?
        {
            let (rpms, srpm) = self.fetch_build_rpms(&b, arch, out)?;
            self.built
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(job.name.clone(), expected);
            self.record(&job.name, |r| r.already_tagged = true);
            return Ok(BuildOutput {
                rpms,
                srpm,
                seconds: start.elapsed().as_secs_f64(),
                rpmbuild_seconds: 0.0,
                dynamic: None,
            });
        }
        // 2. Dependencies visible in the build tag's repository.
        if !self.opts.scratch {
            let want: Vec<(String, String)> = {
                let built = self
                    .built
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.deps
                    .get(&job.name)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|d| {
                        built
                            .get(d)
                            .or_else(|| self.nvrs.get(d))
                            .map(|n| (d.clone(), n.clone()))
                    })
                    .collect()
            };
            let waited = Instant::now();
            let found = self.wait_repo(&want)?;
            self.record(&job.name, |r| {
                r.repo_wait_seconds = waited.elapsed().as_secs_f64();
                r.repo_id = found.repo;
                r.repo_request = found.request;
            });
        }
        // 3. Submit.
        let scratch_dir = self.opts.work_dir.join(format!("{}-{}", job.name, arch));
        let _ = std::fs::remove_dir_all(&scratch_dir);
        let src = self.source(job, &scratch_dir);
        let src = match src {
            Ok(s) => s,
            Err(f) => {
                let _ = std::fs::remove_dir_all(&scratch_dir);
                return Err(f);
            }
        };
        let mut opts = BTreeMap::new();
        if self.opts.scratch {
            opts.insert("scratch".to_owned(), Value::Bool(true));
        }
        let task = self
            .session
            .call(
                "build",
                &[
                    Value::str(src),
                    Value::str(self.target.name.clone()),
                    Value::Struct(opts),
                ],
            )
            .map_err(|e| koji_failure(&e))?
            .as_i64()
            .ok_or_else(|| infra("build: the hub returned no task id"))?;
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(task);
        let url = self.task_url(task);
        self.record(&job.name, |r| {
            r.tasks.push(task);
            r.url.clone_from(&url);
        });
        // 4. Follow.
        let info = self.follow(task);
        let _ = std::fs::remove_dir_all(&scratch_dir);
        let info = info?;
        let state = info.get("state").and_then(Value::as_i64).unwrap_or(-1);
        self.record(&job.name, |r| r.state = Some(state_name(state).to_owned()));
        if state != task_state::CLOSED {
            return Err(self.failure(task, &info, logs));
        }
        // 5. Results.
        let (rpms, srpm, build_seconds) = self.fetch_task_rpms(task, arch, out)?;
        if !self.opts.scratch {
            let nvr = srpm
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".src.rpm"))
                .unwrap_or(&expected)
                .to_owned();
            self.record(&job.name, |r| r.nvr.clone_from(&nvr));
            self.built
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(job.name.clone(), nvr);
        }
        Ok(BuildOutput {
            rpms,
            srpm,
            // The task's own time on the hub (what a builder pool spends;
            // the capacity planner replays it), else what was waited here.
            seconds: match (
                info.get("start_ts").and_then(Value::as_f64),
                info.get("completion_ts").and_then(Value::as_f64),
            ) {
                (Some(s), Some(e)) if e >= s => e - s,
                _ => start.elapsed().as_secs_f64(),
            },
            rpmbuild_seconds: build_seconds,
            // mock runs the %generate_buildrequires loop on the builder.
            dynamic: None,
        })
    }
}

/// `rpmbuild -bs` of the job's rendered tree and sources on this host (no
/// BuildRequires needed): the SRPM to upload.
fn make_srpm(job: &BuildJob, scratch: &Path) -> Result<PathBuf, BuildFailure> {
    let src = scratch.join("src");
    let out = scratch.join("srpm");
    let top = scratch.join("top");
    for d in [&src, &out, &top] {
        std::fs::create_dir_all(d).map_err(|e| infra(format!("{}: {e}", d.display())))?;
    }
    let spec = job
        .files
        .keys()
        .find(|p| p.ends_with(".spec") && !p.contains('/'))
        .cloned()
        .ok_or_else(|| infra(format!("{}: the rendered tree has no spec", job.name)))?;
    for (p, bytes) in &job.files {
        let dst = src.join(p);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| infra(e.to_string()))?;
        }
        std::fs::write(&dst, bytes).map_err(|e| infra(e.to_string()))?;
    }
    for (name, cached) in &job.sources {
        let dst = src.join(name);
        std::fs::hard_link(cached, &dst)
            .or_else(|_| std::fs::copy(cached, &dst).map(|_| ()))
            .map_err(|e| infra(format!("{}: {e}", cached.display())))?;
    }
    let mut cmd = std::process::Command::new("rpmbuild");
    cmd.arg("-bs").arg("--nodeps");
    for (k, v) in REPRODUCIBLE {
        cmd.arg("--define").arg(format!("{k} {v}"));
    }
    cmd.arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("_sourcedir {}", src.display()))
        .arg("--define")
        .arg(format!("_srcrpmdir {}", out.display()))
        .arg(src.join(&spec));
    azldev_build::run::run(cmd, Duration::from_secs(600)).map_err(|e| BuildFailure {
        kind: FailureKind::Build,
        message: format!(
            "making the SRPM to upload: {}",
            e.to_string().lines().next().unwrap_or_default()
        ),
        log: None,
        tail: match &e {
            azldev_build::run::RunError::Failed { tail, .. } => tail.clone(),
            _ => String::new(),
        },
    })?;
    azldev_build::exec::list(&out, ".src.rpm")
        .into_iter()
        .next()
        .ok_or_else(|| infra("rpmbuild -bs made no SRPM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvr_drops_the_epoch() {
        assert_eq!(nvr("a", "1:2.0-3.azl4"), "a-2.0-3.azl4");
        assert_eq!(nvr("libgreet", "1.0-2"), "libgreet-1.0-2");
    }
}
