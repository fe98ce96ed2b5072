//! Executors: what runs one build of the plan. The plan and the scheduler
//! do not know how; the local executor builds in an isolated layer of the
//! base root, a Koji executor (later) would submit the same job.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use azldev_buildroot::base::{BaseRoot, BaseSpec, BuildrootError, RepoSpec};
use azldev_buildroot::layer::{Bind, Layer, RunOptions};
use serde::{Deserialize, Serialize};

use crate::Arch;

/// One build, as the executor receives it: everything that determines its
/// output is here (and in the executor's buildroot).
#[derive(Debug, Clone)]
pub struct BuildJob {
    pub name: String,
    pub arch: Arch,
    /// `noarch` or the arch.
    pub build_arch: String,
    /// The rendered tree: spec, sidecar files, `sources`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Source archives: file name → path of the verified copy in the cache.
    pub sources: Vec<(String, PathBuf)>,
    /// BuildRequires as rpmspec prints them.
    pub buildrequires: Vec<String>,
    /// Run `%check`.
    pub check: bool,
    /// `%_smp_build_ncpus` for this build.
    pub ncpus: usize,
    /// The content key of the build (see the scheduler).
    pub key: String,
}

/// Why a build failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// BuildRequires could not be installed.
    Dependencies,
    /// The spec or `%build`/`%install` failed.
    Build,
    /// `%check` failed.
    Check,
    /// The machinery failed (layer, tools): retried once.
    Infrastructure,
}

/// A failed build.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BuildFailure {
    pub kind: FailureKind,
    pub message: String,
    /// The log of the failing phase.
    pub log: Option<PathBuf>,
    /// Its last lines.
    pub tail: String,
}

/// What a successful build produced.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// Binary RPMs and the SRPM, in a directory the executor owns until the
    /// caller moves them.
    pub rpms: Vec<PathBuf>,
    pub srpm: PathBuf,
    pub seconds: f64,
    /// Seconds spent in rpmbuild itself, making the SRPM and rebuilding it
    /// (the rest is azldev's overhead).
    pub rpmbuild_seconds: f64,
    /// For a spec with `%generate_buildrequires`: what the loop resolved
    /// (`None` otherwise, and from executors that leave the loop to their
    /// builder, as Koji's mock does).
    pub dynamic: Option<DynamicDeps>,
}

/// The dynamic BuildRequires of one build (`%generate_buildrequires`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DynamicDeps {
    /// What `%generate_buildrequires` asked for beyond the static
    /// BuildRequires, as rpm prints them (sorted).
    pub buildrequires: Vec<String>,
    /// `rpmbuild -br` runs it took (the last one found nothing missing).
    pub rounds: u32,
    /// Every package installed in the layer when the build ran, as RPM
    /// file names (`name-version-release.arch.rpm`): the scheduler picks
    /// out those of in-distro builds to record the exact RPMs the build
    /// was made against.
    pub installed: Vec<String>,
}

/// At most this many `rpmbuild -br` rounds (mock's default loop is
/// unbounded; a generator that keeps asking for more is a bug).
pub const DYNAMIC_ROUNDS: u32 = 10;

/// Whether a spec has a `%generate_buildrequires` section.
#[must_use]
pub fn has_generate_buildrequires(spec: &[u8]) -> bool {
    azldev_spec::Spec::parse(spec)
        .sections()
        .iter()
        .any(|s| s.kind == azldev_spec::SectionKind::GenerateBuildrequires)
}

/// Runs one build.
pub trait Executor: Sync {
    /// Builds `job`; `out` is an empty directory for the results; logs go
    /// under `logs` (one file per phase).
    fn build(&self, job: &BuildJob, out: &Path, logs: &Path) -> Result<BuildOutput, BuildFailure>;
}

/// Builds in isolated layers of a local base root.
#[derive(Debug, Clone)]
pub struct LocalExecutor {
    pub base: BaseRoot,
    pub spec: BaseSpec,
    /// `<cache>/buildroot/layers`.
    pub layers_dir: PathBuf,
    /// The definition's repositories plus this distro's local repository.
    pub repos: Vec<RepoSpec>,
    /// Scratch space (`<work-dir>/<arch>`).
    pub work_dir: PathBuf,
    pub timeout: Duration,
}

fn infra(e: impl std::fmt::Display) -> BuildFailure {
    BuildFailure {
        kind: FailureKind::Infrastructure,
        message: e.to_string(),
        log: None,
        tail: String::new(),
    }
}

fn failed(kind: FailureKind, what: &str, log: &Path, e: &BuildrootError) -> BuildFailure {
    let tail = match e {
        BuildrootError::Run(r) => r.tail().to_owned(),
        BuildrootError::Install { tail, .. } => tail.clone(),
        _ => String::new(),
    };
    let tail = if tail.is_empty() { read_tail(log) } else { tail };
    let message = match e {
        BuildrootError::Run(r) if matches!(**r, azldev_buildroot::run::RunError::Cancelled { .. }) => {
            format!("{what}: interrupted")
        }
        BuildrootError::Run(r) => match r.code() {
            Some(code) => format!("{what} (exit code {code})"),
            None => format!("{what}: {}", first_line(&r.to_string())),
        },
        other => format!("{what}: {}", first_line(&other.to_string())),
    };
    BuildFailure {
        kind,
        message,
        log: Some(log.to_owned()),
        tail,
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn read_tail(log: &Path) -> String {
    azldev_buildroot::run::tail(&fs::read(log).unwrap_or_default())
}

/// The macros that make two builds of the same inputs byte-identical.
pub const REPRODUCIBLE: &[(&str, &str)] = &[
    ("source_date_epoch_from_changelog", "1"),
    ("use_source_date_epoch_as_buildtime", "1"),
    ("clamp_mtime_to_source_date_epoch", "1"),
    ("_buildhost", "azldev.build"),
];

impl Executor for LocalExecutor {
    fn build(&self, job: &BuildJob, out: &Path, logs: &Path) -> Result<BuildOutput, BuildFailure> {
        let start = Instant::now();
        fs::create_dir_all(logs).map_err(infra)?;
        let scratch = self.work_dir.join(&job.name);
        let _ = fs::remove_dir_all(&scratch);
        let src = scratch.join("src");
        fs::create_dir_all(&src).map_err(infra)?;
        fs::create_dir_all(out).map_err(infra)?;
        let spec_file = job
            .files
            .keys()
            .find(|p| p.ends_with(".spec") && !p.contains('/'))
            .cloned()
            .ok_or_else(|| infra(format!("{}: the rendered tree has no spec", job.name)))?;
        for (path, bytes) in &job.files {
            let dst = src.join(path);
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent).map_err(infra)?;
            }
            fs::write(&dst, bytes).map_err(infra)?;
        }
        for (name, cached) in &job.sources {
            let dst = src.join(name);
            fs::hard_link(cached, &dst)
                .or_else(|_| fs::copy(cached, &dst).map(|_| ()))
                .map_err(infra)?;
        }
        let layer = Layer::new(&self.base, &self.layers_dir).map_err(infra)?;
        let binds = vec![
            Bind {
                host: src.clone(),
                inside: "/builddir/src".into(),
                writable: false,
            },
            Bind {
                host: out.to_owned(),
                inside: "/builddir/out".into(),
                writable: true,
            },
        ];
        let mut defines: Vec<String> = Vec::new();
        for (k, v) in REPRODUCIBLE {
            defines.push("--define".into());
            defines.push(format!("{k} {v}"));
        }
        defines.push("--define".into());
        defines.push(format!("_smp_build_ncpus {}", job.ncpus.max(1)));
        defines.push("--define".into());
        defines.push("_topdir /builddir/build".into());

        // SRPM.
        let srpm_log = logs.join("srpm.log");
        let _ = fs::remove_file(&srpm_log);
        let mut argv: Vec<String> = vec!["rpmbuild".into(), "-bs".into()];
        argv.extend(defines.iter().cloned());
        argv.extend([
            "--define".into(),
            "_sourcedir /builddir/src".into(),
            "--define".into(),
            "_srcrpmdir /builddir/out".into(),
            format!("/builddir/src/{spec_file}"),
        ]);
        let opts = RunOptions {
            binds: binds.clone(),
            log: Some(srpm_log.clone()),
            timeout: Some(self.timeout),
            ..RunOptions::default()
        };
        let srpm_start = Instant::now();
        layer
            .run(&argv, &opts)
            .map_err(|e| failed(FailureKind::Build, "making the SRPM", &srpm_log, &e))?;
        let srpm_seconds = srpm_start.elapsed().as_secs_f64();
        let srpm = list(out, ".src.rpm")
            .into_iter()
            .next()
            .ok_or_else(|| infra("rpmbuild -bs made no SRPM"))?;
        let srpm_name = srpm
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();

        // BuildRequires.
        let deps_log = logs.join("deps.log");
        let _ = fs::remove_file(&deps_log);
        // BuildRequires the base root already has (plain package names)
        // need no dnf run: reading the repositories' metadata is most of
        // a small build's overhead.
        let base_names = self.base.installed_names();
        let needed: Vec<String> = job
            .buildrequires
            .iter()
            .filter(|br| !base_names.contains(br.as_str()))
            .cloned()
            .collect();
        if needed.is_empty() {
            let _ = fs::write(&deps_log, "every BuildRequires is installed in the base root\n");
        }
        layer
            .install(&self.spec, &self.repos, &needed, &deps_log)
            .map_err(|e| {
                failed(
                    FailureKind::Dependencies,
                    "installing BuildRequires",
                    &deps_log,
                    &e,
                )
            })?;

        // Dynamic BuildRequires: `rpmbuild -br` until nothing is missing.
        let dynamic = if job
            .files
            .get(&spec_file)
            .is_some_and(|s| has_generate_buildrequires(s))
        {
            Some(self.dynamic_loop(&layer, job, &defines, &spec_file, &opts, out, &deps_log)?)
        } else {
            None
        };

        // Build (and %check).
        let build_log = logs.join("build.log");
        let _ = fs::remove_file(&build_log);
        let mut argv: Vec<String> = vec!["rpmbuild".into(), "--rebuild".into()];
        if !job.check {
            argv.push("--nocheck".into());
        }
        argv.extend(defines.iter().cloned());
        argv.extend([
            "--define".into(),
            "_rpmdir /builddir/out/rpms".into(),
            format!("/builddir/out/{srpm_name}"),
        ]);
        let opts = RunOptions {
            log: Some(build_log.clone()),
            ..opts
        };
        let rb_start = Instant::now();
        let res = layer.run(&argv, &opts);
        let rpmbuild_seconds = srpm_seconds + rb_start.elapsed().as_secs_f64();
        // The %check phase gets a log of its own (rpmbuild runs it in the
        // same invocation; build.log keeps everything).
        let check_log = logs.join("check.log");
        let _ = fs::remove_file(&check_log);
        let text = fs::read_to_string(&build_log).unwrap_or_default();
        if let Some(check) = check_section(&text) {
            let _ = fs::write(&check_log, check);
        }
        if let Err(e) = res {
            let kind = if text
                .lines()
                .any(|l| l.contains("Bad exit status from") && l.contains("(%check)"))
            {
                FailureKind::Check
            } else {
                FailureKind::Build
            };
            let what = if kind == FailureKind::Check {
                "%check failed"
            } else {
                "rpmbuild"
            };
            let log = if kind == FailureKind::Check && check_log.is_file() {
                &check_log
            } else {
                &build_log
            };
            return Err(failed(kind, what, log, &e));
        }

        drop(layer);
        // Every ELF in every payload is for the target (the silent
        // x86-64-in-aarch64 trap), read in-process from the RPMs.
        let verify_log = logs.join("verify.log");
        let want = crate::payload::elf_machine(job.arch);
        let mut report = String::new();
        let mut wrong = Vec::new();
        for rpm in list(&out.join("rpms"), ".rpm") {
            let scan = crate::payload::scan(&rpm, want).map_err(|e| BuildFailure {
                kind: FailureKind::Infrastructure,
                message: format!("checking the payload's ELF files: {e}"),
                log: Some(verify_log.clone()),
                tail: String::new(),
            })?;
            let file = rpm
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            report.push_str(&format!(
                "{file}: {} files, {} ELF, {} not {}\n",
                scan.files,
                scan.elfs,
                scan.foreign.len(),
                crate::payload::machine_name(want)
            ));
            for (path, m) in scan.foreign {
                wrong.push(format!(
                    "{file}: {path}: ELF for {}",
                    crate::payload::machine_name(m)
                ));
            }
        }
        for w in &wrong {
            report.push_str(w);
            report.push('\n');
        }
        let _ = fs::write(&verify_log, &report);
        if !wrong.is_empty() {
            return Err(BuildFailure {
                kind: FailureKind::Build,
                message: format!(
                    "the {} payload holds ELF files that are not {}",
                    job.arch,
                    crate::payload::machine_name(want)
                ),
                log: Some(verify_log),
                tail: wrong.join("\n"),
            });
        }
        let _ = fs::remove_dir_all(&scratch);
        let rpms = list(&out.join("rpms"), ".rpm");
        if rpms.is_empty() {
            return Err(infra("rpmbuild made no binary RPM"));
        }
        Ok(BuildOutput {
            rpms,
            srpm,
            seconds: start.elapsed().as_secs_f64(),
            rpmbuild_seconds,
            dynamic,
        })
    }
}

impl LocalExecutor {
    /// The `%generate_buildrequires` loop, in the layer: `rpmbuild -br`
    /// (runs `%prep` and the generator; exit code 11 and a
    /// `*.buildreqs.nosrc.rpm` while BuildRequires are missing), its
    /// requirements read with `rpm -qp` and installed with dnf from the
    /// same repositories, until it succeeds (its `.src.rpm` then lists
    /// every BuildRequires) — at most [`DYNAMIC_ROUNDS`] rounds. Logged
    /// into the `deps` phase's log.
    #[allow(clippy::too_many_arguments)]
    fn dynamic_loop(
        &self,
        layer: &Layer,
        job: &BuildJob,
        defines: &[String],
        spec_file: &str,
        opts: &RunOptions,
        out: &Path,
        deps_log: &Path,
    ) -> Result<DynamicDeps, BuildFailure> {
        let note = |text: &str| {
            if let Ok(mut f) = fs::File::options().create(true).append(true).open(deps_log) {
                let _ = std::io::Write::write_all(&mut f, text.as_bytes());
            }
        };
        let opts = RunOptions {
            log: Some(deps_log.to_owned()),
            ..opts.clone()
        };
        // What is installed already: the static BuildRequires, and plain
        // names the base root has.
        let mut asked: Vec<String> = job.buildrequires.clone();
        asked.extend(self.base.installed_names().into_iter().map(str::to_owned));
        for round in 1..=DYNAMIC_ROUNDS {
            let dir = format!("dynbr-{round}");
            let _ = fs::remove_dir_all(out.join(&dir));
            note(&format!(
                "# %generate_buildrequires, round {round}: rpmbuild -br\n"
            ));
            let mut argv: Vec<String> = vec!["rpmbuild".into(), "-br".into()];
            argv.extend(defines.iter().cloned());
            argv.extend([
                "--define".into(),
                "_sourcedir /builddir/src".into(),
                "--define".into(),
                format!("_srcrpmdir /builddir/out/{dir}"),
                format!("/builddir/src/{spec_file}"),
            ]);
            let res = layer.run(&argv, &opts);
            let missing = match &res {
                Ok(_) => false,
                Err(BuildrootError::Run(r)) if r.code() == Some(11) => true,
                Err(e) => {
                    return Err(failed(
                        FailureKind::Build,
                        "%generate_buildrequires (rpmbuild -br)",
                        deps_log,
                        e,
                    ));
                }
            };
            let written = list(&out.join(&dir), ".rpm");
            let Some(pkg) = written.first() else {
                // Exit code 11 before the generator ran: static
                // BuildRequires are missing.
                return Err(BuildFailure {
                    kind: if missing {
                        FailureKind::Dependencies
                    } else {
                        FailureKind::Build
                    },
                    message: "rpmbuild -br wrote no package".into(),
                    log: Some(deps_log.to_owned()),
                    tail: read_tail(deps_log),
                });
            };
            let file = pkg
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let q = vec![
                "rpm".to_owned(),
                "-qp".into(),
                "--qf".into(),
                "[%{REQUIRENEVRS}\n]".into(),
                format!("/builddir/out/{dir}/{file}"),
            ];
            let reqs = layer
                .run(&q, &opts)
                .map_err(|e| {
                    failed(
                        FailureKind::Infrastructure,
                        "reading rpmbuild -br's requirements",
                        deps_log,
                        &e,
                    )
                })?
                .stdout_str();
            let _ = fs::remove_dir_all(out.join(&dir));
            let mut reqs: Vec<String> = reqs
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("rpmlib("))
                .map(str::to_owned)
                .collect();
            reqs.sort();
            reqs.dedup();
            if !missing {
                let dynamic: Vec<String> = reqs
                    .into_iter()
                    .filter(|r| !job.buildrequires.contains(r))
                    .collect();
                note(&format!(
                    "# %generate_buildrequires satisfied after {round} round(s); dynamic BuildRequires: {}\n",
                    if dynamic.is_empty() {
                        "none".to_owned()
                    } else {
                        dynamic.join(", ")
                    }
                ));
                let q = vec![
                    "rpm".to_owned(),
                    "-qa".into(),
                    "--qf".into(),
                    "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm\n".into(),
                ];
                let mut installed: Vec<String> = layer
                    .run(&q, &opts)
                    .map_err(|e| {
                        failed(
                            FailureKind::Infrastructure,
                            "listing the layer's packages",
                            deps_log,
                            &e,
                        )
                    })?
                    .stdout_str()
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect();
                installed.sort();
                return Ok(DynamicDeps {
                    buildrequires: dynamic,
                    rounds: round,
                    installed,
                });
            }
            let new: Vec<String> = reqs.into_iter().filter(|r| !asked.contains(r)).collect();
            if new.is_empty() {
                return Err(BuildFailure {
                    kind: FailureKind::Dependencies,
                    message: "%generate_buildrequires: rpmbuild -br still reports missing BuildRequires after every one it named was installed (see the log for which)".to_owned(),
                    log: Some(deps_log.to_owned()),
                    tail: read_tail(deps_log),
                });
            }
            note(&format!("# installing: {}\n", new.join(", ")));
            layer
                .install(&self.spec, &self.repos, &new, deps_log)
                .map_err(|e| {
                    failed(
                        FailureKind::Dependencies,
                        "installing dynamic BuildRequires",
                        deps_log,
                        &e,
                    )
                })?;
            asked.extend(new);
        }
        Err(BuildFailure {
            kind: FailureKind::Dependencies,
            message: format!(
                "%generate_buildrequires: still missing BuildRequires after {DYNAMIC_ROUNDS} rounds of rpmbuild -br"
            ),
            log: Some(deps_log.to_owned()),
            tail: read_tail(deps_log),
        })
    }
}

/// The `%check` part of an rpmbuild log: from `Executing(%check)` to the
/// next phase (or the end).
fn check_section(log: &str) -> Option<String> {
    let start = log.find("Executing(%check)")?;
    let rest = &log[start..];
    let end = rest[1..].find("Executing(%").map_or(rest.len(), |i| i + 1);
    Some(rest[..end].to_owned())
}

/// Files under `dir` (recursively) ending in `suffix`, sorted.
pub fn list(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_generate_buildrequires() {
        assert!(has_generate_buildrequires(
            b"Name: x\n%description\nx\n%generate_buildrequires\necho foo\n%build\n"
        ));
        assert!(!has_generate_buildrequires(
            b"Name: x\n%description\n%%generate_buildrequires is prose here\n%build\n"
        ));
    }
}
