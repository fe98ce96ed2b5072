//! `azldev build` (without `--plan`): the plan of each arch run by the
//! scheduler through the local executor, in isolated layers of the arch's
//! base root; results published into `<output-dir>/<arch>` (createrepo_c).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use azldev_build::exec::{BuildJob, LocalExecutor};
use azldev_build::sched::{self, Event, Outcome, Store, Unit, UnitResult};
use azldev_build::{Arch, Plan};
use azldev_buildroot::base::RepoSpec;
use azldev_source::{HttpTransport, SourceCache};
use serde::Serialize;

use super::build::{BuildArgs, Distro, PlanFormat, plans};
use super::buildroot::{Which, ensure_base};
use super::toolchain::ProjectDirs;
use crate::output::Output;
use crate::settings::Settings;

/// A component not built on an arch, and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct NotBuilt {
    pub(crate) name: String,
    pub(crate) arch: Arch,
    pub(crate) status: &'static str,
    pub(crate) why: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct ArchReport {
    pub(crate) arch: Arch,
    pub(crate) repository: PathBuf,
    pub(crate) base_root: String,
    pub(crate) components: Vec<UnitResult>,
    pub(crate) not_built: Vec<NotBuilt>,
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
    let start = Instant::now();
    // Ctrl-C: running programs are killed with their process groups, their
    // layers discarded, nothing new starts; the report still prints.
    let _ = ctrlc::set_handler(azldev_buildroot::run::cancel);
    let dirs = ProjectDirs::of(config);
    let plans = plans(args, config, distro, out, settings)?;
    let arches: Vec<Arch> = args.graph.arch.arches();
    let repos: BTreeMap<Arch, PathBuf> = arches
        .iter()
        .map(|a| (*a, dirs.output_dir.join(a.rpm())))
        .collect();
    let jobs = args.graph.jobs.or(settings.jobs).unwrap_or(2).max(1);
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let text = args.format == PlanFormat::Text;
    let inputs: BTreeMap<&str, &azldev_build::SpecInput> =
        distro.inputs.iter().map(|i| (i.name.as_str(), i)).collect();
    let cache = SourceCache::new(settings.source_cache());
    let transport = HttpTransport::default();
    let mut reports = Vec::new();
    let mut failed = false;
    for plan in &plans {
        let arch: Arch = plan.arch.parse().map_err(miette::Report::msg)?;
        for e in &plan.errors {
            eprintln!("error: {}: {}", e.component, e.message);
            failed = true;
        }
        if out.verbosity > 0 {
            for n in &plan.notes {
                eprintln!("note: {arch}: {n}");
            }
        }
        for c in &plan.cycles {
            eprintln!("error: {arch}: build-dependency cycle: {}", c.join(" → "));
            failed = true;
        }
        for u in &plan.unresolved {
            eprintln!(
                "warning: {arch}: {}: BuildRequires `{}` is provided by nothing in the distro; expecting it from the buildroot's repositories",
                u.component, u.requirement
            );
        }
        let (_, spec, root, roots) = ensure_base(
            config,
            arch,
            &Which {
                distro: None,
                version: None,
            },
            settings,
        )?;
        // Layers of killed runs go now, even when nothing needs building.
        azldev_buildroot::layer::sweep(&roots.dir.join("layers"));
        let repo = repos[&arch].clone();
        std::fs::create_dir_all(&repo).map_err(|e| miette::miette!("create {}: {e}", repo.display()))?;
        if !repo.join("repodata/repomd.xml").is_file() {
            sched::createrepo(&repo).map_err(|e| miette::miette!("{e}"))?;
        }
        let mut all_repos = spec.repos.clone();
        all_repos.push(RepoSpec {
            id: "azldev-local".into(),
            baseurl: vec![format!("file://{}", repo.display())],
            gpgcheck: false,
            options: BTreeMap::from([("cost".to_owned(), "500".to_owned())]),
        });
        let exec = LocalExecutor {
            base: root.clone(),
            spec: spec.clone(),
            layers_dir: roots.dir.join("layers"),
            repos: all_repos,
            work_dir: dirs.work_dir.join(arch.rpm()),
            timeout: Duration::from_secs(6 * 3600),
        };
        let (units, not_built, unit_failures) = units(
            plan,
            arch,
            &root.key,
            &inputs,
            config,
            &cache,
            &transport,
            args,
            cores / jobs.min(cores).max(1),
        )?;
        for (name, why) in &unit_failures {
            eprintln!("error: {arch}: {name}: {why}");
            failed = true;
        }
        let store = store(
            settings.cache_root().join("builds").join(arch.rpm()),
            arch,
            &repos,
            &dirs,
        );
        let opts = sched::Options {
            jobs,
            fail_fast: args.fail_fast,
            rebuild: args.rebuild,
            dry_run: args.check,
        };
        // On a terminal: an overall bar plus one spinner line per running build.
        let progress = Progress::new(
            text && out.verbosity >= 0 && !args.check,
            units.len(),
            arch.to_string(),
        );
        let on_event = |e: Event<'_>| match e {
            Event::Started { name, .. } => progress.started(name, format!("building {name}")),
            Event::Finished { result } => progress.finished(
                result,
                status_line(result),
                text && (out.verbosity > 0 || !matches!(result.outcome, Outcome::Cached)),
            ),
        };
        let results = sched::run(&units, &exec, &store, &opts, &on_event);
        record_durations(settings, &results);
        progress.finish();
        failed |= report_failures(arch, &results, text);
        reports.push(ArchReport {
            arch,
            repository: repo,
            base_root: root.key.clone(),
            components: results,
            not_built,
        });
    }
    match args.format {
        PlanFormat::Json => {
            let v = serde_json::json!({
                "arches": reports,
                "seconds": start.elapsed().as_secs_f64(),
                "ok": !failed,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&v).map_err(|e| miette::miette!("{e}"))?
            );
        }
        _ => {
            if out.verbosity >= 0 {
                print!("{}", summary(&reports, start.elapsed().as_secs_f64(), args.check));
            }
        }
    }
    if azldev_buildroot::run::cancelled() {
        eprintln!("interrupted: running builds were stopped and their layers discarded");
        return Ok(ExitCode::from(130));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The store of one arch's builds: results cached under `cache`, RPMs in
/// the arch's repository (noarch ones in the others too), logs per arch.
pub(crate) fn store(
    cache: PathBuf,
    arch: Arch,
    repos: &BTreeMap<Arch, PathBuf>,
    dirs: &ProjectDirs,
) -> Store {
    Store {
        cache,
        repo: repos[&arch].clone(),
        noarch_repos: repos
            .iter()
            .filter(|(a, _)| **a != arch)
            .map(|(_, r)| r.clone())
            .collect(),
        logs: dirs.log_dir.join(arch.rpm()),
    }
}

/// Progress on a terminal while one arch builds: an overall bar plus one
/// spinner line per build in flight; off the terminal, status lines on
/// stderr. The same for the local and the Koji executors.
pub(crate) struct Progress {
    multi: Option<indicatif::MultiProgress>,
    bar: Option<indicatif::ProgressBar>,
    running: Mutex<BTreeMap<String, indicatif::ProgressBar>>,
}

impl Progress {
    /// `show`: whether progress is wanted at all (text output, not quiet);
    /// bars only when stderr is a terminal.
    pub(crate) fn new(show: bool, total: usize, prefix: String) -> Progress {
        let multi = (show && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
        let bar = multi.as_ref().map(|m| {
            let b = m.add(indicatif::ProgressBar::new(total as u64));
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {pos}/{len} {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_prefix(prefix);
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            multi,
            bar,
            running: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether bars are drawn (stderr is a terminal).
    pub(crate) fn drawing(&self) -> bool {
        self.multi.is_some()
    }

    /// A build started: its spinner line says `message`.
    pub(crate) fn started(&self, name: &str, message: String) {
        let Some(m) = &self.multi else { return };
        let line = m.add(indicatif::ProgressBar::new_spinner());
        line.set_style(
            indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        line.set_message(message);
        line.enable_steady_tick(Duration::from_millis(200));
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_owned(), line);
    }

    /// A build finished: its spinner goes, the bar moves, and `line` is
    /// printed when `show`.
    pub(crate) fn finished(&self, result: &UnitResult, line: String, show: bool) {
        let spinner = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&result.name);
        if let Some(spinner) = spinner {
            spinner.finish_and_clear();
            if let Some(m) = &self.multi {
                m.remove(&spinner);
            }
        }
        match &self.bar {
            Some(b) => {
                b.inc(1);
                if show {
                    b.println(line);
                }
            }
            None if show => eprintln!("{line}"),
            None => {}
        }
    }

    /// The arch is done: the bar goes.
    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

pub(crate) fn status_line(r: &UnitResult) -> String {
    match &r.outcome {
        Outcome::Built { seconds, .. } => format!("   built {} ({}) [{seconds:.1}s]", r.name, r.arch),
        Outcome::Cached => format!("  cached {} ({})", r.name, r.arch),
        Outcome::WouldBuild { why } => format!("would build {} ({}): {why}", r.name, r.arch),
        Outcome::Failed { failure, .. } => format!("  FAILED {} ({}): {:?}", r.name, r.arch, failure.kind),
        Outcome::Blocked { by } => format!(" blocked {} ({}): {by} failed", r.name, r.arch),
        Outcome::Skipped => format!(" skipped {} ({})", r.name, r.arch),
    }
}

/// The units to build, what is not built and why, and components whose
/// sources could not be had.
pub(crate) type Units = (Vec<Unit>, Vec<NotBuilt>, Vec<(String, String)>);

#[allow(clippy::too_many_arguments)]
pub(crate) fn units(
    plan: &Plan,
    arch: Arch,
    base_key: &str,
    inputs: &BTreeMap<&str, &azldev_build::SpecInput>,
    config: &azldev_config::Config,
    cache: &SourceCache,
    transport: &HttpTransport,
    args: &BuildArgs,
    ncpus: usize,
) -> miette::Result<Units> {
    let mut units = Vec::new();
    let mut not_built = Vec::new();
    let mut failures = Vec::new();
    let excluded = plan.components.iter().filter(|c| c.excluded).map(|c| &c.name);
    for name in plan.order.iter().flatten().chain(excluded) {
        let Some(c) = plan.component(name) else { continue };
        if c.excluded {
            if not_built.iter().any(|n: &NotBuilt| n.name == c.name) {
                continue;
            }
            not_built.push(NotBuilt {
                name: c.name.clone(),
                arch,
                status: "excluded",
                why: c.excluded_why.clone().unwrap_or_default(),
            });
            continue;
        }
        if let Some(other) = &c.built_for {
            not_built.push(NotBuilt {
                name: c.name.clone(),
                arch,
                status: "noarch",
                why: format!("noarch: built once, on {other}, and published for every arch"),
            });
            continue;
        }
        let Some(input) = inputs.get(c.name.as_str()) else {
            continue;
        };
        let Some(resolved) = config.components.get(&c.name) else {
            continue;
        };
        let sources_text = input
            .files
            .get("sources")
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let items =
            match super::sources::plan_from(config, resolved, sources_text.as_deref(), "sources", cache) {
                Ok(items) => items,
                Err(e) => {
                    failures.push((c.name.clone(), format!("sources: {e}")));
                    continue;
                }
            };
        let reports = azldev_source::fetch_all(cache, Some(transport), &items, &|_| {});
        let mut sources = Vec::new();
        let mut ok = true;
        for r in reports {
            match r.result {
                Ok(_) => sources.push((
                    r.item.filename.clone(),
                    cache.path(r.item.hash_kind, &r.item.hash),
                )),
                Err(e) => {
                    failures.push((c.name.clone(), format!("source {}: {e}", r.item.filename)));
                    ok = false;
                }
            }
        }
        // Files the rendered `sources` lists that nothing downloads (what
        // archive overlays make) are in the cache since render made them.
        if let Some(text) = &sources_text
            && let Ok(lines) = azldev_source::parse_sources(text)
        {
            for l in lines {
                if sources.iter().any(|(n, _)| *n == l.filename) {
                    continue;
                }
                let path = azldev_source::HashKind::parse(&l.hash_type)
                    .map(|k| cache.path(k, &l.hash.to_ascii_lowercase()));
                match path {
                    Some(p) if p.is_file() => sources.push((l.filename.clone(), p)),
                    _ => {
                        failures.push((
                            c.name.clone(),
                            format!(
                                "source {} is not in the source cache; run `azldev render {}`",
                                l.filename, c.name
                            ),
                        ));
                        ok = false;
                    }
                }
            }
        }
        if !ok {
            continue;
        }
        let mut digests: Vec<String> = items
            .iter()
            .map(|i| format!("{} {}", i.filename, i.hash))
            .collect();
        digests.sort();
        let inputs_key = format!(
            "{}\n{}\n{}\n{}",
            c.input_hash.clone().unwrap_or_default(),
            base_key,
            c.build_arch,
            digests.join("\n")
        );
        units.push(Unit {
            job: BuildJob {
                name: c.name.clone(),
                arch,
                build_arch: c.build_arch.clone(),
                files: input.files.clone(),
                sources,
                buildrequires: c.buildrequires.clone(),
                check: !args.no_check,
                ncpus: ncpus.max(1),
                key: String::new(),
            },
            deps: c.depends_on.clone(),
            dynamic_deps: c.dynamic_depends_on.clone(),
            inputs: inputs_key,
        });
    }
    Ok((units, not_built, failures))
}

pub(crate) fn summary(reports: &[ArchReport], seconds: f64, dry_run: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let mut slow: Vec<(f64, String)> = Vec::new();
    for r in reports {
        let count = |f: &dyn Fn(&Outcome) -> bool| r.components.iter().filter(|c| f(&c.outcome)).count();
        let built = count(&|o| matches!(o, Outcome::Built { .. }));
        let cached = count(&|o| matches!(o, Outcome::Cached));
        let would = count(&|o| matches!(o, Outcome::WouldBuild { .. }));
        let failed = count(&|o| matches!(o, Outcome::Failed { .. }));
        let blocked = count(&|o| matches!(o, Outcome::Blocked { .. } | Outcome::Skipped));
        let excluded = r.not_built.iter().filter(|n| n.status == "excluded").count();
        let noarch = r.not_built.iter().filter(|n| n.status == "noarch").count();
        if dry_run {
            let _ = writeln!(
                s,
                "{}: {would} would be built, {cached} cached, {excluded} excluded",
                r.arch
            );
            for c in &r.components {
                if let Outcome::WouldBuild { why } = &c.outcome {
                    let _ = writeln!(s, "  {}: {why}", c.name);
                }
            }
            continue;
        }
        let _ = writeln!(
            s,
            "{:8} {built} built, {cached} cached, {failed} failed, {blocked} blocked, {excluded} excluded{}  → {}",
            r.arch.to_string(),
            if noarch > 0 {
                format!(", {noarch} noarch from another arch")
            } else {
                String::new()
            },
            r.repository.display()
        );
        for n in r.not_built.iter().filter(|n| n.status == "excluded") {
            let _ = writeln!(s, "  excluded {}: {}", n.name, n.why);
        }
        for c in &r.components {
            if let Outcome::Built { seconds, .. } = c.outcome {
                slow.push((seconds, format!("{} ({})", c.name, c.arch)));
            }
        }
    }
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    if !slow.is_empty() {
        let list: Vec<String> = slow.iter().take(3).map(|(t, n)| format!("{n} {t:.1}s")).collect();
        let _ = writeln!(s, "slowest: {}", list.join(", "));
    }
    let _ = writeln!(s, "done in {seconds:.1}s");
    s
}

/// Where build durations are recorded for `build --plan --simulate`.
pub(crate) fn durations_file(settings: &Settings) -> PathBuf {
    settings.cache_root().join("build-times.json")
}

/// Records the seconds of every build that ran (a failure to write the
/// record is not a build failure).
pub(crate) fn record_durations(settings: &Settings, results: &[UnitResult]) {
    let entries: Vec<(String, String, f64)> = results
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::Built { seconds, .. } => Some((r.arch.rpm().to_owned(), r.name.clone(), seconds)),
            _ => None,
        })
        .collect();
    let _ = azldev_build::simulate::Durations::record(&durations_file(settings), &entries);
}

/// Prints every failed build of `results` (message, log path and the log's
/// tail) when `text`; whether anything failed, was blocked or skipped.
pub(crate) fn report_failures(arch: Arch, results: &[UnitResult], text: bool) -> bool {
    let mut failed = false;
    for r in results {
        if let Outcome::Failed { failure, .. } = &r.outcome {
            failed = true;
            if text {
                eprintln!(
                    "error: {arch}: {} failed ({:?}): {}{}",
                    r.name,
                    failure.kind,
                    failure.message,
                    failure
                        .log
                        .as_ref()
                        .map(|l| format!("\n  log: {}", l.display()))
                        .unwrap_or_default()
                );
                for l in failure.tail.lines() {
                    eprintln!("  | {l}");
                }
            }
        }
        if matches!(r.outcome, Outcome::Blocked { .. } | Outcome::Skipped) {
            failed = true;
        }
    }
    failed
}
