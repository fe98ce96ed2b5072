//! `azldev config check|dump|schema`, and loading the project for other commands.

use std::io::Write;
use std::process::ExitCode;

use azldev_config::{Diagnostics, Loaded};
use clap::{Args, Subcommand, ValueEnum};

use crate::output::Output;

/// `azldev config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration; report every problem.
    ///
    /// Exit status: 0 when there are no errors, 1 when there are.
    Check(CheckArgs),
    /// Print the merged configuration (all included files, before inheritance).
    Dump(DumpArgs),
    /// Print the JSON Schema of configuration files (or of overlay files).
    #[command(alias = "generate-schema")]
    Schema(SchemaArgs),
}

/// Output format of `config dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DataFormat {
    #[default]
    Toml,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Report format (`json`: the diagnostics and counts as one object on
    /// standard output).
    #[arg(long, value_enum, default_value_t)]
    pub format: crate::cli::ReportFormat,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DataFormat,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of overlay files (`overlay-files`) instead of configuration files.
    #[arg(long)]
    pub overlay_file: bool,
}

pub fn run(cmd: ConfigCommand, out: &Output) -> miette::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check(args) => match args.format {
            crate::cli::ReportFormat::Text => check(out),
            crate::cli::ReportFormat::Json => check_json(),
        },
        ConfigCommand::Dump(args) => dump(&args, out),
        ConfigCommand::Schema(args) => {
            let schema = if args.overlay_file {
                azldev_config::schema::overlay_file_schema()
            } else {
                azldev_config::schema::config_schema()
            };
            emit(&azldev_config::schema::to_pretty(schema))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Write to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn emit(text: &str) -> miette::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(miette::miette!("cannot write to standard output: {e}"))
        }
        _ => Ok(()),
    }
}

/// Find the root file from the current directory and load the project. A
/// missing or unreadable root file is fatal (exit 2).
pub(crate) fn load_project() -> miette::Result<Loaded> {
    let cwd = std::env::current_dir()
        .map_err(|e| miette::miette!("cannot determine the current directory: {e}"))?;
    azldev_config::load_from_dir(&cwd).map_err(miette::Report::new)
}

/// The project for a command that needs a valid configuration: its
/// diagnostics are printed, and errors among them stop the command (exit 2,
/// as for any other input the command cannot run with; only `config check`
/// answers 1, "problems found").
pub(crate) fn load_valid_project(out: &Output) -> miette::Result<Loaded> {
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Err(miette::miette!("fix the configuration first (see above)"));
    }
    Ok(loaded)
}

/// Print every diagnostic to stderr, followed by a one-line summary when there
/// are errors. Returns whether there were errors.
pub(crate) fn report(out: &Output, diags: &Diagnostics) -> bool {
    if out.verbosity < -1 && !diags.has_errors() {
        return false;
    }
    let mut stderr = std::io::stderr().lock();
    for d in diags {
        if d.is_error() || out.verbosity >= 0 {
            let _ = write!(stderr, "{}", out.render(d));
        }
    }
    let errors = diags.error_count();
    if errors > 0 {
        let _ = writeln!(
            stderr,
            "error: the configuration has {errors} problem{}",
            if errors == 1 { "" } else { "s" }
        );
    }
    errors > 0
}

fn check(out: &Output) -> miette::Result<ExitCode> {
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    if out.verbosity >= 0 {
        let c = &loaded.config;
        let overlays: usize = c.components.values().map(|x| x.overlays.len()).sum();
        emit(&format!(
            "ok: {} ({} files, {} components, {} overlays)\n",
            c.root_file.display(),
            c.config_files.len(),
            c.components.len(),
            overlays
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One diagnostic as JSON (notes nested).
pub(crate) fn diagnostic_json(d: &azldev_config::Diagnostic) -> serde_json::Value {
    let severity = match d.severity {
        azldev_config::Severity::Error => "error",
        azldev_config::Severity::Warning => "warning",
        azldev_config::Severity::Note => "note",
    };
    let mut v = serde_json::json!({
        "severity": severity,
        "code": d.code,
        "message": d.message,
    });
    if let Some(p) = &d.position {
        v["path"] = p.path.clone().into();
        v["line"] = p.line.into();
        v["column"] = p.column.into();
    }
    if let Some(h) = &d.help {
        v["help"] = h.clone().into();
    }
    if !d.notes.is_empty() {
        v["notes"] = d.notes.iter().map(diagnostic_json).collect::<Vec<_>>().into();
    }
    v
}

/// `config check --format json`: `{ok, errors, warnings, diagnostics, …}`.
fn check_json() -> miette::Result<ExitCode> {
    let loaded = load_project()?;
    let d = &loaded.diagnostics;
    let errors = d.error_count();
    let warnings = d
        .iter()
        .filter(|x| x.severity == azldev_config::Severity::Warning)
        .count();
    let c = &loaded.config;
    let v = serde_json::json!({
        "ok": errors == 0,
        "root-file": c.root_file.display().to_string(),
        "errors": errors,
        "warnings": warnings,
        "diagnostics": d.iter().map(diagnostic_json).collect::<Vec<_>>(),
        "files": c.config_files.len(),
        "components": c.components.len(),
        "overlays": c.components.values().map(|x| x.overlays.len()).sum::<usize>(),
    });
    let mut s = serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?;
    s.push('\n');
    emit(&s)?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn dump(args: &DumpArgs, out: &Output) -> miette::Result<ExitCode> {
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    let text = match args.format {
        DataFormat::Toml => azldev_config::view::dump_toml(&loaded.config).map_err(miette::Report::msg)?,
        DataFormat::Json => {
            let v = azldev_config::view::dump_json(&loaded.config).map_err(miette::Report::msg)?;
            let mut s = serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?;
            s.push('\n');
            s
        }
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
