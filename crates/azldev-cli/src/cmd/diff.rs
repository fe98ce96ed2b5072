//! `azldev diff [BASE] [HEAD]`: what a change does to the generated specs.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use azldev_diff::{At, DiffOptions, DistroRepo, Side, format};
use clap::{Args, ValueEnum};

use crate::cli::ColorChoice;
use crate::cmd::config::{emit, report as report_diagnostics};
use crate::output::Output;
use crate::settings::Settings;

/// Output format of `azldev diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DiffFormat {
    /// `git diff`-style patches under the rendered layout.
    #[default]
    Unified,
    /// Per component: lines and files added/removed, semantic notes.
    Stat,
    /// A pull-request comment: summary table, then one collapsible diff per
    /// component (see --template).
    Markdown,
    /// Machine-readable, for bots.
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Base revision of the distro repository (default: the merge base of
    /// HEAD with `main`, or `master`).
    #[arg(value_name = "BASE")]
    pub base: Option<String>,
    /// Head revision (default: the working tree, uncommitted changes
    /// included).
    #[arg(value_name = "HEAD")]
    pub head: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// A minijinja template for `--format markdown` instead of the built-in
    /// one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Markdown: cut each component's diff after N lines.
    #[arg(long, value_name = "N", default_value_t = format::DEFAULT_MAX_LINES)]
    pub max_lines: usize,
    /// Write the report to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only list the components whose generated specs differ (with
    /// `--format json`: `{"components": [{"name", "status"}]}`).
    #[arg(long, conflicts_with_all = ["template"])]
    pub name_only: bool,
    /// Never touch the network; a pin that is not cached fails its component.
    #[arg(long)]
    pub offline: bool,
    /// Fail a component whose pin is missing or stale instead of resolving it.
    #[arg(long)]
    pub locked: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// Check a loaded side; configuration errors are fatal (exit 2), after
/// printing them.
fn side(side: Result<Side, azldev_diff::Error>, out: &Output) -> miette::Result<Side> {
    let side = side.map_err(miette::Report::msg)?;
    if report_diagnostics(out, &side.loaded.diagnostics) {
        return Err(miette::miette!(
            "the configuration at {} has errors (see above)",
            side.label
        ));
    }
    Ok(side)
}

pub fn run(args: &DiffArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let cwd = std::env::current_dir()
        .map_err(|e| miette::miette!("cannot determine the current directory: {e}"))?;
    let repo = DistroRepo::discover(&cwd).map_err(miette::Report::msg)?;
    let head_at = match &args.head {
        Some(h) => At::Revision(repo.resolve(h).map_err(miette::Report::msg)?),
        None => At::WorkTree,
    };
    let base_rev = match &args.base {
        Some(b) => repo.resolve(b).map_err(miette::Report::msg)?,
        None => {
            let head_rev = match &head_at {
                At::Revision(r) => Some(r),
                At::WorkTree => None,
            };
            repo.default_base(head_rev).map_err(miette::Report::msg)?
        }
    };
    let template = args
        .template
        .as_ref()
        .map(|p| std::fs::read_to_string(p).map_err(|e| miette::miette!("cannot read {}: {e}", p.display())))
        .transpose()?;
    if template.is_some() && args.format != DiffFormat::Markdown {
        return Err(miette::miette!("--template applies to --format markdown"));
    }
    // Both configurations load at once.
    let (base, head) = std::thread::scope(|s| {
        let base = s.spawn(|| Side::open(&repo, At::Revision(base_rev), &cwd));
        let head = Side::open(&repo, head_at, &cwd);
        let base = base.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (base, head)
    });
    // A side whose configuration has errors: Markdown and JSON reports still
    // say so (a bot posts them), with the diagnostics; exit 2.
    if matches!(args.format, DiffFormat::Markdown | DiffFormat::Json) && !args.name_only {
        let broken: Vec<&Side> = [&base, &head]
            .into_iter()
            .filter_map(|s| s.as_ref().ok())
            .filter(|s| s.loaded.diagnostics.has_errors())
            .collect();
        if !broken.is_empty() {
            let labels = (
                base.as_ref().map_or("base", |s| s.label.as_str()),
                head.as_ref().map_or("head", |s| s.label.as_str()),
            );
            for s in &broken {
                report_diagnostics(out, &s.loaded.diagnostics);
            }
            let text = broken_config_report(args.format, labels, &broken)?;
            write_report(args, &text)?;
            return Ok(ExitCode::from(2));
        }
    }
    let base = side(base, out)?;
    let head = side(head, out)?;
    let opts = DiffOptions {
        cache: azldev_source::GitCache::new(settings.git_cache()),
        offline: args.offline || settings.offline,
        locked: args.locked,
        jobs: args.jobs.or(settings.jobs),
        sources: settings.source_store(),
        section_macros: crate::cmd::render::project_options(head.config()).section_macros,
    };
    let report = azldev_diff::diff(&base, &head, &opts);
    if out.verbosity >= 0 {
        for w in
            crate::cmd::build::removed_provides_warnings(&report, &head, settings, opts.offline, opts.jobs)
        {
            eprintln!("{w}");
        }
    }

    let color = args.output.is_none()
        && match out.color_choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        };
    let text = if args.name_only && args.format == DiffFormat::Json {
        let names: Vec<serde_json::Value> = report
            .components
            .iter()
            .filter(|c| c.differs())
            .map(|c| serde_json::json!({ "name": c.name, "status": c.status.as_str() }))
            .collect();
        let mut s = serde_json::to_string_pretty(&serde_json::json!({ "components": names }))
            .map_err(miette::Report::msg)?;
        s.push('\n');
        s
    } else if args.name_only {
        format::name_only(&report)
    } else {
        match args.format {
            DiffFormat::Unified => format::unified(&report, color),
            DiffFormat::Stat => format::stat(&report),
            DiffFormat::Markdown => format::markdown_limited(
                &report,
                template.as_deref(),
                args.max_lines,
                format::COMMENT_LIMIT,
            )
            .map_err(miette::Report::msg)?,
            DiffFormat::Json => format::json(&report).map_err(miette::Report::msg)?,
        }
    };
    write_report(args, &text)?;
    if out.verbosity > 0 || (args.output.is_some() && out.verbosity >= 0) {
        eprintln!(
            "{} ({} rendered)",
            format::summary_line(&report),
            report.summary.rendered
        );
    }
    // A component that fails to render at the head side is a failure (2),
    // not a difference (1); the report above says which.
    Ok(if report.has_failures() {
        ExitCode::from(2)
    } else if report.has_differences() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_report(args: &DiffArgs, text: &str) -> miette::Result<()> {
    match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .map_err(|e| miette::miette!("cannot write {}: {e}", path.display())),
        None => emit(text),
    }
}

/// The report when a side's configuration does not load: which side, and
/// its diagnostics (`path:line:column: message`).
fn broken_config_report(
    format: DiffFormat,
    labels: (&str, &str),
    broken: &[&Side],
) -> miette::Result<String> {
    if format == DiffFormat::Json {
        let sides: Vec<serde_json::Value> = broken
            .iter()
            .map(|s| {
                serde_json::json!({
                    "label": s.label,
                    "commit": s.commit,
                    "diagnostics": s.loaded.diagnostics.iter().map(crate::cmd::config::diagnostic_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        let v = serde_json::json!({
            "base": { "label": labels.0 },
            "head": { "label": labels.1 },
            "config-errors": sides,
        });
        let mut s = serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?;
        s.push('\n');
        return Ok(s);
    }
    let mut md = format!("### Generated specs: `{}` → `{}`\n\n", labels.0, labels.1);
    for s in broken {
        let errors = s.loaded.diagnostics.error_count();
        md.push_str(&format!(
            "**The configuration at `{}` does not load** ({errors} error{}); no spec was rendered.\n\n```text\n",
            s.label,
            if errors == 1 { "" } else { "s" }
        ));
        for d in s.loaded.diagnostics.iter().filter(|d| d.is_error()) {
            md.push_str(&d.short());
            if let Some(h) = &d.help {
                md.push_str(&format!(" (help: {h})"));
            }
            md.push('\n');
        }
        md.push_str("```\n\nRun `azldev config check` for the details.\n");
    }
    Ok(md)
}
