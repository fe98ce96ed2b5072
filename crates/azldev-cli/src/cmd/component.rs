//! `azldev component list|show|add|remove`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use azldev_config::edit::{self, NewComponent};
use clap::{Args, Subcommand, ValueEnum};

use crate::cli::ReportFormat;
use crate::cmd::config::{emit, load_project, report};
use crate::output::Output;

/// `azldev component …`
#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// List components (all, or those whose name matches a glob PATTERN).
    List(ListArgs),
    /// Show a component's effective configuration and where each part came from.
    Show(ShowArgs),
    /// Add a component, keeping the target file's comments, order and formatting.
    Add(AddArgs),
    /// Remove a component's definition from the file that defines it.
    Remove(RemoveArgs),
    /// Render components (the same as `azldev render`, azldev's spelling
    /// `azldev component render -a`).
    Render(crate::cmd::RenderArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Only components whose name matches this glob (e.g. `python-*`).
    pub pattern: Option<String>,
}

/// Output format of `component show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ShowFormat {
    #[default]
    Toml,
    Json,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ShowFormat,
    /// The component.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::complete::components))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Name of the new component.
    pub name: String,
    /// Configuration file to add it to (default: the file that defines the most
    /// components). The file must be loaded by the configuration, or match one
    /// of its `includes`.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Name of the package in the upstream distro, when different.
    #[arg(long, value_name = "NAME")]
    pub upstream_name: Option<String>,
    /// Pin the upstream spec to this commit (7 to 40 hex digits).
    #[arg(long, value_name = "SHA")]
    pub upstream_commit: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The component to remove.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::complete::components))]
    pub name: String,
}

pub fn run(cmd: ComponentCommand, out: &Output) -> miette::Result<ExitCode> {
    match cmd {
        ComponentCommand::List(args) => list(&args, out),
        ComponentCommand::Show(args) => show(&args, out),
        ComponentCommand::Add(args) => add(&args, out),
        ComponentCommand::Remove(args) => remove(&args, out),
        // Dispatched by `cmd::run`, which has the settings.
        ComponentCommand::Render(_) => Err(miette::miette!("`component render` is run by `azldev render`")),
    }
}

fn list(args: &ListArgs, out: &Output) -> miette::Result<ExitCode> {
    let pattern = match &args.pattern {
        Some(p) => {
            Some(glob::Pattern::new(p).map_err(|e| miette::miette!("invalid pattern `{p}`: {}", e.msg))?)
        }
        None => None,
    };
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    let config = &loaded.config;
    let selected: Vec<_> = config
        .components
        .values()
        .filter(|c| pattern.as_ref().is_none_or(|p| p.matches(&c.name)))
        .collect();
    let text = match args.format {
        ReportFormat::Json => {
            let rows: Vec<_> = selected
                .iter()
                .map(|c| azldev_config::view::summary(config, c))
                .collect();
            let mut s = serde_json::to_string_pretty(&serde_json::json!({ "components": rows }))
                .map_err(miette::Report::msg)?;
            s.push('\n');
            s
        }
        ReportFormat::Text => {
            let width = selected.iter().map(|c| c.name.len()).max().unwrap_or(0);
            let mut s = String::new();
            for c in &selected {
                let n = c.overlays.len();
                let overlays = match n {
                    0 => String::new(),
                    1 => "1 overlay".to_owned(),
                    n => format!("{n} overlays"),
                };
                s.push_str(&format!(
                    "{:width$}  {:<11}  {}\n",
                    c.name,
                    overlays,
                    config.files.describe_line(&c.defined_at),
                ));
            }
            s
        }
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn unknown_component(config: &azldev_config::Config, name: &str) -> miette::Report {
    let names = config.components.keys().map(String::as_str);
    match azldev_config::suggest::closest(name, names) {
        Some(n) => miette::miette!(
            help = format!("did you mean `{n}`?"),
            "no component named `{name}`"
        ),
        None => miette::miette!("no component named `{name}`"),
    }
}

fn show(args: &ShowArgs, out: &Output) -> miette::Result<ExitCode> {
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    let config = &loaded.config;
    let Some(c) = config.components.get(&args.name) else {
        return Err(unknown_component(config, &args.name));
    };
    let text = match args.format {
        ShowFormat::Toml => azldev_config::view::component_toml(config, c).map_err(miette::Report::msg)?,
        ShowFormat::Json => {
            let v = azldev_config::view::component_json(config, c).map_err(miette::Report::msg)?;
            let mut s = serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?;
            s.push('\n');
            s
        }
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

/// Replace a file's contents: write a sibling temporary file, then rename.
fn write_atomic(path: &Path, text: &str) -> miette::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.azldev-tmp"));
    std::fs::write(&tmp, text).map_err(|e| miette::miette!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        miette::miette!("cannot replace {}: {e}", path.display())
    })
}

/// Write `new` to `path`, reload, and keep the change only if the configuration
/// still loads without errors; otherwise restore `old` (or delete the new file)
/// and report.
fn commit_edit(
    path: &Path,
    old: Option<&str>,
    new: &str,
    out: &Output,
) -> miette::Result<Option<azldev_config::Loaded>> {
    write_atomic(path, new)?;
    let reloaded = load_project();
    let ok = reloaded.as_ref().is_ok_and(|l| !l.diagnostics.has_errors());
    if ok {
        return reloaded.map(Some);
    }
    match old {
        Some(text) => write_atomic(path, text)?,
        None => {
            let _ = std::fs::remove_file(path);
        }
    }
    if let Ok(l) = &reloaded {
        report(out, &l.diagnostics);
    }
    Ok(None)
}

fn add(args: &AddArgs, out: &Output) -> miette::Result<ExitCode> {
    if !valid_name(&args.name) {
        return Err(miette::miette!(
            help = "use letters, digits and `-_.+`, not starting with `.` or `-`",
            "invalid component name `{}`",
            args.name
        ));
    }
    if let Some(c) = &args.upstream_commit
        && !((7..=40).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    {
        return Err(miette::miette!(
            "--upstream-commit must be 7 to 40 hexadecimal digits, got `{c}`"
        ));
    }
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    let config = &loaded.config;
    if config.components.contains_key(&args.name) {
        let at = config
            .merged
            .components
            .get(&args.name)
            .map(|c| config.describe(&c.loc))
            .unwrap_or_default();
        return Err(miette::miette!(
            "component `{}` already exists (defined at {at})",
            args.name
        ));
    }
    let target = match &args.file {
        Some(f) => {
            let abs = std::env::current_dir()
                .map_err(|e| miette::miette!("{e}"))?
                .join(f);
            let parent = abs.parent().map(Path::to_path_buf).unwrap_or_default();
            let parent = std::fs::canonicalize(&parent)
                .map_err(|e| miette::miette!("cannot use {}: {e}", f.display()))?;
            parent.join(abs.file_name().unwrap_or_default())
        }
        None => config.default_component_file(),
    };
    if !config.is_config_file(&target) {
        return Err(miette::miette!(
            help = "add the file to `includes`, or choose a file the configuration already loads",
            "{} is not part of the configuration",
            target.display()
        ));
    }
    let old = if target.exists() {
        Some(
            std::fs::read_to_string(&target)
                .map_err(|e| miette::miette!("cannot read {}: {e}", target.display()))?,
        )
    } else {
        None
    };
    let new = NewComponent {
        upstream_name: args.upstream_name.clone(),
        upstream_commit: args.upstream_commit.clone(),
    };
    let text = edit::add_component(old.as_deref().unwrap_or(""), &args.name, &new)
        .map_err(|e| miette::miette!("cannot edit {}: {e}", target.display()))?;
    match commit_edit(&target, old.as_deref(), &text, out)? {
        Some(l) => {
            if out.verbosity >= 0 {
                let at = l
                    .config
                    .components
                    .get(&args.name)
                    .map(|c| l.config.files.describe_line(&c.defined_at))
                    .unwrap_or_default();
                eprintln!("added component `{}` at {at}", args.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "error: adding `{}` would make the configuration invalid; nothing was changed",
                args.name
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn remove(args: &RemoveArgs, out: &Output) -> miette::Result<ExitCode> {
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    let config = &loaded.config;
    if !config.components.contains_key(&args.name) {
        return Err(unknown_component(config, &args.name));
    }
    let Some(path) = config.component_file(&args.name).map(Path::to_path_buf) else {
        return Err(miette::miette!("cannot tell which file defines `{}`", args.name));
    };
    let old =
        std::fs::read_to_string(&path).map_err(|e| miette::miette!("cannot read {}: {e}", path.display()))?;
    let text = edit::remove_component(&old, &args.name)
        .map_err(|e| miette::miette!("cannot edit {}: {e}", path.display()))?;
    match commit_edit(&path, Some(&old), &text, out)? {
        Some(l) => {
            if out.verbosity >= 0 {
                let shown = path
                    .strip_prefix(&l.config.root_dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                eprintln!("removed component `{}` from {shown}", args.name);
                let still_defines = l
                    .config
                    .merged
                    .components
                    .values()
                    .any(|c| l.config.files.get(c.loc.file).is_some_and(|f| f.path == path));
                if !still_defines {
                    eprintln!(
                        "note: {shown} defines no components any more; delete it if it is no longer needed"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!(
                "error: removing `{}` would leave references to it (above); remove those first. Nothing was changed",
                args.name
            );
            Ok(ExitCode::from(1))
        }
    }
}
