//! `azldev render` and `azldev lock update`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use azldev_config::Config;
use azldev_render::{ComponentReport, Options, OverlayProblem, RenderError, Report, Status};
use clap::Args;
use serde::Serialize;

use crate::cli::ReportFormat;
use crate::output::Output;
use crate::settings::Settings;

/// Which components a command acts on.
#[derive(Debug, Args)]
pub struct Selection {
    /// Components to act on (default: all).
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::components))]
    pub names: Vec<String>,
    /// Every component (the default when no NAME or group is given).
    #[arg(short = 'a', long, conflicts_with_all = ["names", "group"])]
    pub all: bool,
    /// The members of a component group.
    #[arg(short = 'g', long, value_name = "GROUP", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::groups))]
    pub group: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Output directory (default: the project's `rendered-specs-dir`, or `specs`).
    #[arg(short = 'o', long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Render in memory and compare with the tree on disk; write nothing.
    /// Exit 1 when something drifted. For CI.
    #[arg(long)]
    pub check: bool,
    /// Remove directories of components that no longer exist (with --check:
    /// report them).
    #[arg(long)]
    pub clean_stale: bool,
    /// Fail instead of creating or changing any pin in `locks/`.
    #[arg(long)]
    pub locked: bool,
    /// Never touch the network; fail when something is not cached.
    #[arg(long)]
    pub offline: bool,
    /// Recompute every component, ignoring fingerprints.
    #[arg(long)]
    pub force: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct LockUpdateArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Re-resolve and report, but write no lock file (what moved upstream;
    /// also `azldev component outdated`).
    #[arg(long)]
    pub dry_run: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// `azldev lock …`
#[derive(Debug, clap::Subcommand)]
pub enum LockCommand {
    /// Re-resolve pins (branch tip, snapshot date or explicit commit) and
    /// rewrite `locks/<name>.lock`; the next render picks up moved pins.
    Update(LockUpdateArgs),
}

fn loaded_config(out: &Output) -> miette::Result<Config> {
    Ok(super::config::load_valid_project(out)?.config)
}

fn names(config: &Config, sel: &Selection) -> miette::Result<Vec<String>> {
    let mut names = sel.names.clone();
    for g in &sel.group {
        let group = config.merged.component_groups.get(g.as_str()).ok_or_else(|| {
            let groups = config.merged.component_groups.keys().map(String::as_str);
            match azldev_config::suggest::closest(g, groups) {
                Some(n) => miette::miette!(help = format!("did you mean `{n}`?"), "no component group `{g}`"),
                None => miette::miette!("no component group `{g}`"),
            }
        })?;
        names.extend(group.value.components.iter().map(|c| c.value.clone()));
    }
    // An unknown name is a usage error (exit 2), as in `build`.
    for n in &names {
        if !config.components.contains_key(n) {
            return Err(super::component::unknown_component(config, n));
        }
    }
    Ok(names)
}

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Rendered => "rendered",
        Status::Unchanged => "unchanged",
        Status::Drifted(_) => "drifted",
        Status::Failed(_) => "failed",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct JsonComponent<'a> {
    name: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Failed overlays, located (`path`, `line`, `column` of the value at
    /// fault) with their suggestion.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    overlay_errors: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    drift: Vec<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    lock_changed: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    patch: &'a str,
}

/// The project's render options: [`Options::for_project`] plus the
/// section-generating macros the distro versions' buildroot definitions
/// (`config_opts['macros']` of their mock configs) define. Every command
/// that renders uses these, so `render`, `render --check`, `diff` and
/// `build` agree. A base root's macro files are not read: the rendered
/// tree is a function of committed files only.
pub(crate) fn project_options(config: &Config) -> Options {
    let mut opts = Options::for_project(config);
    opts.section_macros = project_section_macros(config);
    opts
}

/// Section-generating macros of every distro version's mock configs
/// (both arches); `None` when they define none. A mock config that does
/// not load adds nothing here (`buildroot show` reports why).
fn project_section_macros(config: &Config) -> Option<std::sync::Arc<azldev_spec::SectionMacros>> {
    let load = azldev_buildroot::mock::LoadOptions {
        confine_to: Some(config.root_dir.clone()),
        vars: std::collections::BTreeMap::from([(
            "project_dir".to_owned(),
            serde_json::Value::String(config.root_dir.display().to_string()),
        )]),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut all = azldev_spec::SectionMacros::default();
    for (distro, d) in &config.merged.distros {
        for version in d.versions.keys() {
            for arch in ["x86_64", "aarch64"] {
                let Some(m) = config.mock_config(distro, version, arch) else {
                    continue;
                };
                if !seen.insert(m.path.clone()) {
                    continue;
                }
                let Ok(mc) = azldev_buildroot::mock::load(&m.path, &load) else {
                    continue;
                };
                all.extend(&azldev_spec::SectionMacros::from_definitions(
                    mc.macros.iter().map(|(k, v)| (k.as_str(), v.value.as_str())),
                ));
            }
        }
    }
    (!all.is_empty()).then(|| std::sync::Arc::new(all))
}

pub fn render(args: &RenderArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let config = loaded_config(out)?;
    let selected = names(&config, &args.select)?;
    let mut opts = project_options(&config);
    opts.cache = azldev_source::GitCache::new(settings.git_cache());
    opts.sources = settings.source_store();
    if let Some(o) = &args.output {
        opts.out_dir = std::env::current_dir()
            .map(|d| d.join(o))
            .unwrap_or_else(|_| o.clone());
        if let Some(why) =
            azldev_config::paths::output_override_problem(&config, &opts.out_dir, &opts.lock_dir)
        {
            return Err(miette::miette!(
                help =
                    "give a directory of its own; azldev replaces the component directories it writes there",
                "-o {}: not an output directory: {why}",
                o.display()
            ));
        }
    }
    opts.check = args.check;
    opts.locked = args.locked;
    opts.offline = args.offline || settings.offline;
    opts.clean_stale = args.clean_stale;
    opts.force = args.force;
    opts.jobs = args.jobs.or(settings.jobs);
    let text = args.format == ReportFormat::Text;
    let total = if selected.is_empty() {
        config.components.len()
    } else {
        selected.len()
    };
    let bar = (text && out.verbosity >= 0 && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(total as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let lines = Mutex::new(());
    let verbose = out.verbosity > 0;
    let on_done = |r: &ComponentReport| {
        if let Some(b) = &bar {
            b.inc(1);
            b.set_message(r.name.clone());
        }
        if !text {
            return;
        }
        let show = match &r.status {
            Status::Unchanged => verbose,
            Status::Failed(_) => true,
            _ => out.verbosity >= 0,
        };
        if show {
            let _g = lines.lock();
            let line = format!("{:>9} {}", status_word(&r.status), r.name);
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
            if verbose {
                for n in &r.notes {
                    eprintln!("          note: {n}");
                }
            }
        }
    };
    let report = azldev_render::render(&config, &selected, &opts, &on_done);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Only for the project's own tree (the one committed), not `-o DIR`.
    if !args.check && args.output.is_none() && out.verbosity >= 0 {
        for w in crate::cmd::build::render_removed_warnings(
            &config,
            &report,
            &opts.out_dir,
            settings,
            opts.offline,
            opts.jobs,
        ) {
            eprintln!("{w}");
        }
    }
    match args.format {
        ReportFormat::Text => print_text(out, &report, args.check, &config),
        ReportFormat::Json => print_json(&report, &config)?,
    }
    let drift = report.count(|s| matches!(s, Status::Drifted(_))) > 0
        || (args.check && !(report.stale.is_empty() && report.orphan_locks.is_empty()));
    Ok(if report.failed() > 0 || drift {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_text(out: &Output, report: &Report, check: bool, config: &Config) {
    for c in &report.components {
        match &c.status {
            Status::Failed(RenderError::Overlays { problems }) => {
                for p in problems {
                    eprint!(
                        "{}",
                        out.render_unwrapped(&overlay_diagnostic(config, &c.name, p))
                    );
                }
            }
            Status::Failed(e) => eprintln!("error: {}: {e}", c.name),
            Status::Drifted(paths) => {
                println!("drifted: {}", c.name);
                if out.verbosity >= 0 {
                    for p in paths {
                        println!("    {p}");
                    }
                    // What `azldev render` would change, as a diff.
                    print!("{}", c.patch);
                }
            }
            _ => {}
        }
    }
    for (name, path) in &report.stale {
        if check || !report.stale_removed {
            println!("stale: {name} ({})", path.display());
        } else if out.verbosity >= 0 {
            eprintln!("  removed {name} (stale)");
        }
    }
    for (name, path) in &report.orphan_locks {
        println!("orphaned lock: {name} ({})", path.display());
    }
    for (_, path) in &report.foreign {
        eprintln!(
            "warning: {} belongs to no component and azldev did not write it (no {}): kept",
            path.display(),
            azldev_render::output::MARKER
        );
    }
    let rendered = report.count(|s| *s == Status::Rendered);
    let unchanged = report.count(|s| *s == Status::Unchanged);
    let drifted = report.count(|s| matches!(s, Status::Drifted(_)));
    let mut summary = format!("{rendered} rendered, {unchanged} unchanged, ");
    if check {
        summary.push_str(&format!("{drifted} drifted, "));
    }
    summary.push_str(&format!(
        "{} failed in {:.2}s",
        report.failed(),
        report.elapsed.as_secs_f64()
    ));
    if out.verbosity >= -1 {
        eprintln!("{summary}");
    }
}

/// A failed overlay as a report with the configuration snippet, the caret
/// under the value at fault and the suggestion.
pub(crate) fn overlay_diagnostic(
    config: &Config,
    component: &str,
    p: &OverlayProblem,
) -> azldev_config::Diagnostic {
    let d = azldev_config::Diagnostic::error("render::overlay", format!("{component}: {}", p.title)).at(
        &config.files,
        &p.focus,
        p.label.clone(),
    );
    match &p.help {
        Some(h) => d.help(h.clone()),
        None => d,
    }
}

fn print_json(report: &Report, config: &Config) -> miette::Result<()> {
    let components: Vec<JsonComponent<'_>> = report
        .components
        .iter()
        .map(|c| JsonComponent {
            name: &c.name,
            status: status_word(&c.status),
            error: match &c.status {
                Status::Failed(e) => Some(e.to_string()),
                _ => None,
            },
            overlay_errors: match &c.status {
                Status::Failed(RenderError::Overlays { problems }) => problems
                    .iter()
                    .map(|p| crate::cmd::config::diagnostic_json(&overlay_diagnostic(config, &c.name, p)))
                    .collect(),
                _ => Vec::new(),
            },
            drift: match &c.status {
                Status::Drifted(d) => d.clone(),
                _ => Vec::new(),
            },
            notes: &c.notes,
            lock_changed: c.lock_changed,
            patch: &c.patch,
        })
        .collect();
    let v = serde_json::json!({
        "components": components,
        "stale": report.stale.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "foreign": report.foreign.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "orphan-locks": report.orphan_locks.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "summary": {
            "rendered": report.count(|s| *s == Status::Rendered),
            "unchanged": report.count(|s| *s == Status::Unchanged),
            "drifted": report.count(|s| matches!(s, Status::Drifted(_))),
            "failed": report.failed(),
            "seconds": report.elapsed.as_secs_f64(),
        }
    });
    let text = serde_json::to_string_pretty(&v).map_err(|e| miette::miette!("{e}"))?;
    println!("{text}");
    Ok(())
}

pub fn lock(cmd: &LockCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let LockCommand::Update(args) = cmd;
    lock_update(args, false, out, settings)
}

/// `lock update` (`only_moved`: `component outdated`, which lists only the
/// components whose upstream moved).
pub fn lock_update(
    args: &LockUpdateArgs,
    only_moved: bool,
    out: &Output,
    settings: &Settings,
) -> miette::Result<ExitCode> {
    let config = loaded_config(out)?;
    let selected = names(&config, &args.select)?;
    let mut opts = project_options(&config);
    opts.cache = azldev_source::GitCache::new(settings.git_cache());
    opts.sources = settings.source_store();
    opts.jobs = settings.jobs;
    let results = azldev_render::update_locks_with(&config, &selected, &opts, !args.dry_run);
    let mut failed = 0;
    let mut json = Vec::new();
    let short = |c: &str| c[..12.min(c.len())].to_owned();
    for r in &results {
        match &r.result {
            Ok((old, new)) => {
                let moved = old.as_deref() != Some(new.as_str());
                if only_moved && !moved {
                    continue;
                }
                let (old_v, new_v) = &r.versions;
                if args.format == ReportFormat::Text && (moved || out.verbosity > 0) {
                    let from = old.as_deref().map_or("(none)".to_owned(), short);
                    let version = match (old_v, new_v) {
                        (Some(a), Some(b)) if a != b => format!(" (version {a} -> {b})"),
                        (Some(a), Some(_)) => format!(" (version {a}, unchanged)"),
                        (None, Some(b)) => format!(" (version {b})"),
                        _ => String::new(),
                    };
                    println!("{}: {from} -> {}{version}", r.name, short(new));
                }
                json.push(serde_json::json!({
                    "name": r.name, "old": old, "new": new, "moved": moved,
                    "old-version": old_v, "new-version": new_v,
                }));
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e}", r.name);
                json.push(serde_json::json!({"name": r.name, "error": e.to_string()}));
            }
        }
    }
    if args.format == ReportFormat::Json {
        let text = serde_json::to_string_pretty(&serde_json::json!({ "components": json }))
            .map_err(|e| miette::miette!("{e}"))?;
        println!("{text}");
    } else if args.dry_run && out.verbosity >= 0 {
        eprintln!("dry run: no lock file was written");
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
