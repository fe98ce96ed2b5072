//! `azldev build --executor koji`: the plan of each arch run by the same
//! scheduler, each build submitted to a Koji hub (`azldev_koji`); and
//! `azldev build --plan --simulate N`, the capacity planner.
//!
//! Sources: when the rendered tree of every planned component is what is
//! committed at HEAD and HEAD is on a remote-tracking branch, Koji builds
//! from SCM (`git+<remote URL>?<specs dir>/<l>/<name>#<commit>`);
//! otherwise (uncommitted or unrendered work, or `--scratch`) the SRPM is
//! made here and uploaded. A committed but unpushed HEAD is an error: the
//! hub could not fetch it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use azldev_build::sched::{self, Event, Outcome};
use azldev_build::simulate::{Durations, builds_of, simulate as replay, to_text};
use azldev_build::{Arch, Plan};
use azldev_koji::executor::nvr;
use azldev_koji::{KojiExecutor, KojiOptions, Session, SourceMode};
use azldev_source::{HttpTransport, SourceCache};

use super::build::{BuildArgs, Distro, PlanFormat, plans};
use super::build_run::{
    ArchReport, Progress, durations_file, record_durations, report_failures, status_line, store, summary,
    units,
};
use super::toolchain::ProjectDirs;
use crate::output::Output;
use crate::settings::Settings;

/// `build --plan --simulate N`.
pub fn simulate(args: &BuildArgs, plans: &[Plan], n: usize, settings: &Settings) -> miette::Result<ExitCode> {
    let durations = Durations::load(&durations_file(settings));
    let default = args
        .default_seconds
        .filter(|s| s.is_finite() && *s >= 0.0)
        .or_else(|| durations.median())
        .unwrap_or(300.0);
    let builds = builds_of(plans, &durations, default);
    let report = replay(&builds, (n > 0).then_some(n), default);
    match args.format {
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| miette::miette!("{e}"))?
        ),
        PlanFormat::Dot => return Err(miette::miette!("--simulate prints text or json")),
        PlanFormat::Text => print!("{}", to_text(&report)),
    }
    Ok(if plans.iter().any(Plan::has_problems) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    azldev_build::run::run(cmd, Duration::from_secs(60))
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .map_err(|e| e.to_string())
}

/// SCM when the rendered tree of every component is committed at HEAD
/// and pushed; upload otherwise. Returns the mode and a note for the user.
fn source_mode(
    config: &azldev_config::Config,
    distro: &Distro,
    names: &[String],
) -> miette::Result<(SourceMode, String)> {
    let upload = |why: String| Ok((SourceMode::Upload, why));
    let root = &config.root_dir;
    let Ok(top) = git(root, &["rev-parse", "--show-toplevel"]) else {
        return upload("the project is not in a git repository: SRPMs are made here and uploaded".into());
    };
    let top = PathBuf::from(top);
    let specs = azldev_render::Options::for_project(config).out_dir;
    let specs = specs.canonicalize().unwrap_or(specs);
    let top = top.canonicalize().unwrap_or(top);
    let Ok(rel) = specs.strip_prefix(&top) else {
        return upload("the rendered tree is outside the repository: SRPMs are uploaded".into());
    };
    let rel = rel.to_string_lossy().into_owned();
    // The rendered tree on disk is what HEAD holds …
    let dirty = git(&top, &["status", "--porcelain", "--", &rel]).unwrap_or_else(|_| "?".into());
    if !dirty.is_empty() {
        return upload(format!(
            "{rel}/ has uncommitted changes: SRPMs are made here and uploaded"
        ));
    }
    // … and what the distro renders now.
    for i in distro.inputs.iter().filter(|i| names.contains(&i.name)) {
        let dir = azldev_render::component_dir(&specs, &i.name);
        let same = i
            .files
            .iter()
            .all(|(p, b)| std::fs::read(dir.join(p)).is_ok_and(|d| d == *b));
        if !same {
            return upload(format!(
                "{} renders differently from the committed {rel}/ (run `azldev render` and commit): SRPMs are uploaded",
                i.name
            ));
        }
    }
    let commit = git(&top, &["rev-parse", "HEAD"]).map_err(|e| miette::miette!("git: {e}"))?;
    let upstream = git(
        &top,
        &["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"],
    )
    .ok();
    let remote_branches = git(&top, &["branch", "-r", "--contains", &commit]).unwrap_or_default();
    let Some(remote_ref) = upstream
        .filter(|u| remote_branches.lines().any(|l| l.trim() == u))
        .or_else(|| remote_branches.lines().next().map(|l| l.trim().to_owned()))
    else {
        return Err(miette::miette!(
            help = "push it (the hub fetches the rendered tree from the remote), or use --scratch to upload SRPMs",
            "commit {commit} is not on any remote-tracking branch"
        ));
    };
    let remote = remote_ref.split('/').next().unwrap_or("origin").to_owned();
    let url = git(&top, &["remote", "get-url", &remote])
        .map_err(|e| miette::miette!("git remote {remote}: {e}"))?;
    Ok((
        SourceMode::Scm {
            url: url.clone(),
            commit: commit.clone(),
            specs_dir: rel,
        },
        format!("SCM builds of {url} at {commit} ({remote_ref})"),
    ))
}

pub fn build(
    args: &BuildArgs,
    config: &azldev_config::Config,
    distro: &Distro,
    out: &Output,
    settings: &Settings,
) -> miette::Result<ExitCode> {
    if args.format == PlanFormat::Dot {
        return Err(miette::miette!("--format dot is for --plan"));
    }
    if args.check {
        return Err(miette::miette!("--check is for the local executor"));
    }
    let start = Instant::now();
    let _ = ctrlc::set_handler(azldev_buildroot::run::cancel);
    let text = args.format == PlanFormat::Text;
    let dirs = ProjectDirs::of(config);
    let profile_name = args
        .koji_profile
        .clone()
        .or_else(|| settings.koji_profile.clone())
        .unwrap_or_else(|| "koji".into());
    let target = args
        .target
        .clone()
        .or_else(|| settings.koji_target.clone())
        .ok_or_else(|| {
            miette::miette!(
                help = "pass --target or set `koji-target` in the settings",
                "a Koji build needs a build target"
            )
        })?;
    let profile = azldev_koji::profile::load(&profile_name, &azldev_koji::profile::default_files())
        .map_err(|e| miette::miette!("{e}"))?;
    if out.verbosity >= 0 {
        for w in &profile.warnings {
            eprintln!("warning: koji profile `{}`: {w}", profile.name);
        }
    }
    let plans = plans(args, config, distro, out, settings)?;
    let mut failed = false;
    for plan in &plans {
        for e in &plan.errors {
            eprintln!("error: {}: {}", e.component, e.message);
            failed = true;
        }
        for c in &plan.cycles {
            eprintln!("error: {}: build-dependency cycle: {}", plan.arch, c.join(" → "));
            failed = true;
        }
    }
    let mut nvrs = BTreeMap::new();
    let mut deps = BTreeMap::new();
    let mut names = Vec::new();
    for p in &plans {
        for c in &p.components {
            nvrs.insert(c.name.clone(), nvr(&c.name, &c.evr));
            deps.insert(c.name.clone(), c.depends_on.clone());
            names.push(c.name.clone());
        }
    }
    let (source, note) = if args.scratch {
        (
            SourceMode::Upload,
            "scratch builds: SRPMs are made here and uploaded".to_owned(),
        )
    } else {
        source_mode(config, distro, &names)?
    };
    if text && out.verbosity >= 0 {
        eprintln!(
            "koji: {} ({}), target {target}: {note}",
            profile.name, profile.server
        );
    }
    let hub = profile.server.clone();
    let mut session = Session::new(profile, Duration::from_secs(300)).map_err(|e| miette::miette!("{e}"))?;
    // A Kerberos login from a keytab keeps its ticket in a private cache here.
    session.credentials_dir = settings.cache_root().join("koji-krb5");
    let secs = |var: &str, default: u64| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(Duration::from_secs(default), Duration::from_secs_f64)
    };
    let work_dir = dirs.work_dir.join("koji");
    let opts = KojiOptions {
        target: target.clone(),
        scratch: args.scratch,
        source,
        poll: secs("AZLDEV_KOJI_POLL", 5),
        max_poll: secs("AZLDEV_KOJI_MAX_POLL", 60),
        task_timeout: secs("AZLDEV_KOJI_TASK_TIMEOUT", 24 * 3600),
        repo_timeout: secs("AZLDEV_KOJI_REPO_TIMEOUT", 4 * 3600),
        work_dir: work_dir.clone(),
        chunk: 1 << 20,
    };
    let exec = KojiExecutor::connect(session, opts, nvrs, deps).map_err(|e| miette::miette!("{e}"))?;
    let arches: Vec<Arch> = args.graph.arch.arches();
    let repos: BTreeMap<Arch, PathBuf> = arches
        .iter()
        .map(|a| (*a, dirs.output_dir.join(a.rpm())))
        .collect();
    let jobs = args.graph.jobs.or(settings.jobs).unwrap_or(8).max(1);
    let inputs: BTreeMap<&str, &azldev_build::SpecInput> =
        distro.inputs.iter().map(|i| (i.name.as_str(), i)).collect();
    let cache = SourceCache::new(settings.source_cache());
    let transport = HttpTransport::default();
    let base_key = format!(
        "koji {hub} {target}{}",
        if args.scratch { " scratch" } else { "" }
    );
    let mut reports = Vec::new();
    for plan in &plans {
        let arch: Arch = plan.arch.parse().map_err(miette::Report::msg)?;
        let repo = repos[&arch].clone();
        std::fs::create_dir_all(&repo).map_err(|e| miette::miette!("create {}: {e}", repo.display()))?;
        if !repo.join("repodata/repomd.xml").is_file() {
            sched::createrepo(&repo).map_err(|e| miette::miette!("{e}"))?;
        }
        let (units, not_built, unit_failures) = units(
            plan, arch, &base_key, &inputs, config, &cache, &transport, args, 1,
        )?;
        for (name, why) in &unit_failures {
            eprintln!("error: {arch}: {name}: {why}");
            failed = true;
        }
        // Koji's results are cached apart from local builds: a key found
        // here was built by this hub and target.
        let koji_cache = settings
            .cache_root()
            .join("builds-koji")
            .join(sanitize(&format!("{hub}-{target}")))
            .join(arch.rpm());
        let store = store(koji_cache, arch, &repos, &dirs);
        let sopts = sched::Options {
            jobs,
            fail_fast: args.fail_fast,
            rebuild: args.rebuild,
            dry_run: false,
        };
        // On a terminal: an overall bar plus one spinner line per build in
        // flight on the hub, as for local builds.
        let progress = Progress::new(text && out.verbosity >= 0, units.len(), format!("{arch} on koji"));
        let on_event = |e: Event<'_>| match e {
            Event::Started { name, arch } => {
                if !progress.drawing() && text && out.verbosity > 0 {
                    eprintln!("  submitting {name} ({arch})");
                }
                progress.started(name, format!("koji: building {name}"));
            }
            Event::Finished { result } => {
                let task = exec
                    .records()
                    .get(&result.name)
                    .and_then(|r| {
                        r.url
                            .clone()
                            .or_else(|| r.tasks.last().map(|t| format!("task {t}")))
                    })
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default();
                progress.finished(
                    result,
                    format!("{}{task}", status_line(result)),
                    text && (out.verbosity > 0 || !matches!(result.outcome, Outcome::Cached)),
                );
            }
        };
        let results = sched::run(&units, &exec, &store, &sopts, &on_event);
        progress.finish();
        record_durations(settings, &results);
        failed |= report_failures(arch, &results, text);
        reports.push(ArchReport {
            arch,
            repository: repo,
            base_root: base_key.clone(),
            components: results,
            not_built,
        });
        if azldev_buildroot::run::cancelled() {
            break;
        }
    }
    let cancelled_tasks = exec.cancel_open();
    let _ = std::fs::remove_dir_all(&work_dir);
    match args.format {
        PlanFormat::Json => {
            let v = serde_json::json!({
                "arches": reports,
                "seconds": start.elapsed().as_secs_f64(),
                "ok": !failed,
                "koji": {
                    "profile": exec.session.profile.name,
                    "hub": hub,
                    "target": exec.target,
                    "scratch": args.scratch,
                    "source": note,
                    "builds": exec.records(),
                    "cancelled-tasks": cancelled_tasks,
                    "repo-requests": exec.uses_repo_requests(),
                },
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&v).map_err(|e| miette::miette!("{e}"))?
            );
        }
        _ => {
            if out.verbosity >= 0 {
                print!("{}", summary(&reports, start.elapsed().as_secs_f64(), false));
                let recs = exec.records();
                let submitted: usize = recs.values().map(|r| r.tasks.len()).sum();
                let tagged = recs.values().filter(|r| r.already_tagged).count();
                println!(
                    "koji: {submitted} task(s) submitted to {hub} (target {target}), {tagged} build(s) already tagged in {}",
                    exec.target.dest_tag
                );
            }
        }
    }
    if azldev_buildroot::run::cancelled() {
        eprintln!(
            "interrupted: the Koji tasks this run submitted were cancelled{}",
            if cancelled_tasks.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    cancelled_tasks
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        return Ok(ExitCode::from(130));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
