//! `azldev component list|show|add|remove`.

use std::collections::BTreeMap;
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
    /// Components whose upstream moved past their pin (`lock update
    /// --dry-run`, listing only those), with the version change.
    Outdated(crate::cmd::render::LockUpdateArgs),
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
    /// Configuration file to add it to. Default: what the layout implies —
    /// `<dir>/<name>.comp.toml` (or `<dir>/<name>/<name>.comp.toml`) when
    /// components have files of their own, except that a component with
    /// nothing to configure joins a shared list when there is one; else the
    /// file that defines the most components. The file must be loaded by the
    /// configuration, or match one of its `includes`.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Name of the package in the upstream distro, when different.
    #[arg(long, value_name = "NAME")]
    pub upstream_name: Option<String>,
    /// Pin the upstream spec to this commit (7 to 40 hex digits).
    #[arg(long, value_name = "SHA", conflicts_with = "spec")]
    pub upstream_commit: Option<String>,
    /// A local spec kept in this repository instead of an upstream one.
    #[arg(long, value_name = "PATH", conflicts_with = "upstream_name")]
    pub spec: Option<PathBuf>,
    /// Also make it a member of this component group (repeatable).
    #[arg(long, short = 'g', value_name = "GROUP", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::groups))]
    pub group: Vec<String>,
    /// Do not check that the upstream has the package (offline).
    #[arg(long)]
    pub no_verify: bool,
    /// Output format (`json`: `{"name", "file", "groups"}` on success).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Also delete what the component leaves elsewhere: its overlay files
    /// (those no other component uses), its lock and its rendered directory
    /// (only when azldev wrote it). Without it they are listed.
    #[arg(long)]
    pub purge: bool,
    /// Output format (`json`: `{"name", "file", "removed", "kept"}`).
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// The component to remove.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::complete::components))]
    pub name: String,
}

pub fn run(
    cmd: ComponentCommand,
    out: &Output,
    settings: &crate::settings::Settings,
) -> miette::Result<ExitCode> {
    match cmd {
        ComponentCommand::List(args) => list(&args, out),
        ComponentCommand::Show(args) => show(&args, out),
        ComponentCommand::Add(args) => add(&args, out, settings),
        ComponentCommand::Remove(args) => remove(&args, out),
        // Dispatched by `cmd::run`, which has the settings.
        ComponentCommand::Render(_) | ComponentCommand::Outdated(_) => {
            Err(miette::miette!("dispatched by `cmd::run`"))
        }
    }
}

fn list(args: &ListArgs, out: &Output) -> miette::Result<ExitCode> {
    let pattern = match &args.pattern {
        Some(p) => {
            Some(glob::Pattern::new(p).map_err(|e| miette::miette!("invalid pattern `{p}`: {}", e.msg))?)
        }
        None => None,
    };
    let loaded = super::config::load_valid_project(out)?;
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
    // A pattern that matches nothing is worth saying (like grep, exit 1);
    // the nearest name helps with a typo.
    if let (Some(p), true) = (&args.pattern, selected.is_empty()) {
        if out.verbosity >= -1 {
            let names = config.components.keys().map(String::as_str);
            let hint = azldev_config::suggest::closest(p.trim_matches(|c| "*?[]".contains(c)), names)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            eprintln!("no component matches `{p}`{hint}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `no component named NAME`, with the nearest name as help.
pub(crate) fn unknown_component(config: &azldev_config::Config, name: &str) -> miette::Report {
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
    let loaded = super::config::load_valid_project(out)?;
    let config = &loaded.config;
    let Some(c) = config.components.get(&args.name) else {
        return Err(unknown_component(config, &args.name));
    };
    let state = pin_state(config, &c.name);
    let text = match args.format {
        ShowFormat::Toml => {
            let mut s = String::new();
            for (k, v) in &state {
                if let Some(v) = v.as_str() {
                    s.push_str(&format!("# {k}: {v}\n"));
                }
            }
            s.push_str(&azldev_config::view::component_toml(config, c).map_err(miette::Report::msg)?);
            s
        }
        ShowFormat::Json => {
            let mut v = azldev_config::view::component_json(config, c).map_err(miette::Report::msg)?;
            if let serde_json::Value::Object(m) = &mut v {
                for (k, val) in state {
                    m.insert(k.to_owned(), val);
                }
            }
            let mut s = serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?;
            s.push('\n');
            s
        }
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Where a component stands outside its configuration: the pin in its lock
/// (commit, upstream URL) and its rendered directory (paths relative to the
/// project). Missing parts are `null`.
fn pin_state(config: &azldev_config::Config, name: &str) -> Vec<(&'static str, serde_json::Value)> {
    let opts = azldev_render::Options::for_project(config);
    let shown = |p: &Path| {
        p.strip_prefix(&config.root_dir)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let lock_path = opts.lock_dir.join(format!("{name}.lock"));
    let lock = azldev_source::Lock::read(&lock_path).ok().flatten();
    let dir = azldev_render::component_dir(&opts.out_dir, name);
    let some = |s: Option<String>| s.map_or(serde_json::Value::Null, serde_json::Value::String);
    vec![
        (
            "pinned-commit",
            some(lock.as_ref().and_then(|l| l.upstream_commit.clone())),
        ),
        (
            "upstream-url",
            some(lock.as_ref().and_then(|l| l.upstream_url.clone())),
        ),
        ("lock-file", some(lock.as_ref().map(|_| shown(&lock_path)))),
        ("rendered-dir", some(dir.is_dir().then(|| shown(&dir)))),
    ]
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

/// Components defined in each configuration file.
fn components_per_file(config: &azldev_config::Config) -> BTreeMap<PathBuf, Vec<String>> {
    let mut m: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for (name, c) in &config.merged.components {
        if let Some(f) = config.files.get(c.loc.file) {
            m.entry(f.path.clone()).or_default().push(name.clone());
        }
    }
    m
}

/// The file the repository's layout implies for a new component (see
/// `AddArgs::file`). `bare`: the component has nothing but its name.
fn layout_file(config: &azldev_config::Config, name: &str, bare: bool) -> PathBuf {
    let default = config.default_component_file();
    let per_file = components_per_file(config);
    // Files holding one component and named after it.
    let own: Vec<&PathBuf> = per_file
        .iter()
        .filter(|(p, names)| {
            names.len() == 1
                && p.file_name().and_then(|f| f.to_str()) == Some(&format!("{}.comp.toml", names[0]))
        })
        .map(|(p, _)| p)
        .collect();
    if own.is_empty() {
        return default;
    }
    let shared = per_file.get(&default).map_or(0, Vec::len);
    if bare && shared > 1 {
        return default;
    }
    let stem = |p: &Path| {
        p.file_name()
            .and_then(|f| f.to_str())
            .map(|f| f.trim_end_matches(".comp.toml").to_owned())
    };
    let in_own_dir = |p: &&&PathBuf| {
        p.parent()
            .and_then(|d| d.file_name())
            .and_then(|d| d.to_str())
            .map(str::to_owned)
            == stem(p)
    };
    let nested = own.iter().filter(in_own_dir).count() * 2 > own.len();
    // The most common base directory.
    let mut bases: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for p in &own {
        let base = if nested {
            p.parent().and_then(Path::parent)
        } else {
            p.parent()
        };
        if let Some(b) = base {
            *bases.entry(b.to_path_buf()).or_default() += 1;
        }
    }
    let Some((base, _)) = bases.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))) else {
        return default;
    };
    let candidate = if nested {
        base.join(name).join(format!("{name}.comp.toml"))
    } else {
        base.join(format!("{name}.comp.toml"))
    };
    if config.is_config_file(&candidate) {
        candidate
    } else {
        default
    }
}

/// `to` relative to directory `from` (both absolute), with `..` as needed.
fn relative_to(to: &Path, from: &Path) -> PathBuf {
    let to: Vec<_> = to.components().collect();
    let from: Vec<_> = from.components().collect();
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c);
    }
    out
}

fn add(args: &AddArgs, out: &Output, settings: &crate::settings::Settings) -> miette::Result<ExitCode> {
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
    let loaded = super::config::load_valid_project(out)?;
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
    for g in &args.group {
        if !config.merged.component_groups.contains_key(g) {
            let names = config.merged.component_groups.keys().map(String::as_str);
            return Err(match azldev_config::suggest::closest(g, names) {
                Some(n) => miette::miette!(help = format!("did you mean `{n}`?"), "no component group `{g}`"),
                None => miette::miette!("no component group `{g}`"),
            });
        }
    }
    let cwd = std::env::current_dir().map_err(|e| miette::miette!("{e}"))?;
    let bare = args.upstream_name.is_none() && args.upstream_commit.is_none() && args.spec.is_none();
    let target = match &args.file {
        Some(f) => {
            let abs = cwd.join(f);
            let parent = abs.parent().map(Path::to_path_buf).unwrap_or_default();
            let parent = std::fs::canonicalize(&parent)
                .map_err(|e| miette::miette!("cannot use {}: {e}", f.display()))?;
            parent.join(abs.file_name().unwrap_or_default())
        }
        None => layout_file(config, &args.name, bare),
    };
    if !config.is_config_file(&target) {
        return Err(miette::miette!(
            help = "add the file to `includes`, or choose a file the configuration already loads",
            "{} is not part of the configuration",
            target.display()
        ));
    }
    let local_spec = match &args.spec {
        Some(p) => {
            let abs = std::fs::canonicalize(cwd.join(p))
                .map_err(|e| miette::miette!("cannot use {}: {e}", p.display()))?;
            if !abs.is_file() {
                return Err(miette::miette!("{} is not a file", p.display()));
            }
            let dir = target.parent().unwrap_or_else(|| Path::new("/"));
            Some(relative_to(&abs, dir).display().to_string())
        }
        None => None,
    };
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
        local_spec,
    };
    let text = edit::add_component(old.as_deref().unwrap_or(""), &args.name, &new)
        .map_err(|e| miette::miette!("cannot edit {}: {e}", target.display()))?;
    // A new `<name>/<name>.comp.toml` needs its directory.
    let made_dir = match target.parent() {
        Some(d) if !d.exists() => {
            std::fs::create_dir_all(d).map_err(|e| miette::miette!("cannot create {}: {e}", d.display()))?;
            Some(d.to_path_buf())
        }
        _ => None,
    };
    // Every file changed, with its previous text, to undo on failure.
    let mut undo: Vec<(PathBuf, Option<String>)> = vec![(target.clone(), old.clone())];
    let restore = |undo: &[(PathBuf, Option<String>)]| {
        for (p, t) in undo.iter().rev() {
            match t {
                Some(t) => {
                    let _ = write_atomic(p, t);
                }
                None => {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        if let Some(d) = &made_dir {
            let _ = std::fs::remove_dir(d);
        }
    };
    let mut reloaded = commit_edit(&target, old.as_deref(), &text, out)?;
    for g in &args.group {
        let Some(l) = &reloaded else { break };
        let Some(path) = l
            .config
            .merged
            .component_groups
            .get(g)
            .and_then(|grp| l.config.files.get(grp.loc.file))
            .map(|f| f.path.clone())
        else {
            break;
        };
        let before = std::fs::read_to_string(&path)
            .map_err(|e| miette::miette!("cannot read {}: {e}", path.display()))?;
        let after = edit::add_to_group(&before, g, &args.name)
            .map_err(|e| miette::miette!("cannot edit {}: {e}", path.display()))?;
        undo.push((path.clone(), Some(before.clone())));
        reloaded = commit_edit(&path, Some(&before), &after, out)?;
    }
    let Some(l) = reloaded else {
        restore(&undo);
        eprintln!(
            "error: adding `{}` would make the configuration invalid; nothing was changed",
            args.name
        );
        return Ok(ExitCode::from(1));
    };
    // The upstream must have the package: resolve the pin (no lock written)
    // and look for the spec at that commit.
    if args.spec.is_none() && !args.no_verify && !settings.offline {
        let mut opts = azldev_render::Options::for_project(&l.config);
        opts.cache = azldev_source::GitCache::new(settings.git_cache());
        let r = azldev_render::update_locks_with(&l.config, std::slice::from_ref(&args.name), &opts, false);
        let problem = match r.first().map(|u| (&u.result, &u.versions.1)) {
            Some((Err(e), _)) => Some(e.to_string()),
            Some((Ok(_), None)) => {
                Some("the upstream has no spec for it (or one without a Version)".to_owned())
            }
            Some((Ok(_), Some(_))) => None,
            None => None,
        };
        if let Some(why) = problem {
            restore(&undo);
            return Err(miette::miette!(
                help = "check the name (--upstream-name when upstream calls it differently), or pass --no-verify",
                "cannot add `{}`: {why}; nothing was changed",
                args.name
            ));
        }
    }
    if out.verbosity >= 0 {
        let at = l
            .config
            .components
            .get(&args.name)
            .map(|c| l.config.files.describe_line(&c.defined_at))
            .unwrap_or_default();
        eprintln!("added component `{}` at {at}", args.name);
        for g in &args.group {
            eprintln!("added `{}` to group `{g}`", args.name);
        }
    }
    if args.format == ReportFormat::Json {
        let file = target.strip_prefix(&l.config.root_dir).unwrap_or(&target);
        emit(&format!(
            "{}\n",
            serde_json::json!({ "name": args.name, "file": file, "groups": args.group })
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What a component has outside its definition.
#[derive(Debug, Default)]
struct Leftovers {
    /// Overlay files only this component uses.
    overlay_files: Vec<PathBuf>,
    /// Overlay files other components use too (never deleted).
    shared_overlay_files: Vec<PathBuf>,
    lock: Option<PathBuf>,
    rendered: Option<PathBuf>,
}

fn leftovers(config: &azldev_config::Config, name: &str) -> Leftovers {
    let mut l = Leftovers::default();
    let overlay_file = |o: &azldev_config::ResolvedOverlay| match &o.layer {
        azldev_config::Layer::OverlayFile { .. } => {
            config.files.get(o.overlay.loc.file).map(|f| f.path.clone())
        }
        _ => None,
    };
    if let Some(c) = config.components.get(name) {
        let mut files: Vec<PathBuf> = c.overlays.iter().filter_map(overlay_file).collect();
        files.sort();
        files.dedup();
        for f in files {
            let shared = config
                .components
                .values()
                .filter(|o| o.name != name)
                .any(|o| o.overlays.iter().filter_map(overlay_file).any(|p| p == f));
            if shared {
                l.shared_overlay_files.push(f);
            } else {
                l.overlay_files.push(f);
            }
        }
    }
    let opts = azldev_render::Options::for_project(config);
    let lock = opts.lock_dir.join(format!("{name}.lock"));
    l.lock = lock.is_file().then_some(lock);
    let dir = azldev_render::component_dir(&opts.out_dir, name);
    l.rendered = dir.is_dir().then_some(dir);
    l
}

/// Only comments and blank lines.
fn is_empty_toml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#')
    })
}

fn remove(args: &RemoveArgs, out: &Output) -> miette::Result<ExitCode> {
    let loaded = super::config::load_valid_project(out)?;
    let config = &loaded.config;
    if !config.components.contains_key(&args.name) {
        return Err(unknown_component(config, &args.name));
    }
    let Some(path) = config.component_file(&args.name).map(Path::to_path_buf) else {
        return Err(miette::miette!("cannot tell which file defines `{}`", args.name));
    };
    let left = leftovers(config, &args.name);
    let root_dir = config.root_dir.clone();
    let root_file = config.root_file.clone();
    let shown = |p: &Path| p.strip_prefix(&root_dir).unwrap_or(p).display().to_string();
    let old =
        std::fs::read_to_string(&path).map_err(|e| miette::miette!("cannot read {}: {e}", path.display()))?;
    let text = edit::remove_component(&old, &args.name)
        .map_err(|e| miette::miette!("cannot edit {}: {e}", path.display()))?;
    let Some(l) = commit_edit(&path, Some(&old), &text, out)? else {
        eprintln!(
            "error: removing `{}` would leave references to it (above); remove those first. Nothing was changed",
            args.name
        );
        return Ok(ExitCode::from(1));
    };
    let quiet = out.verbosity < 0;
    if !quiet {
        eprintln!("removed component `{}` from {}", args.name, shown(&path));
    }
    let still_defines = l
        .config
        .merged
        .components
        .values()
        .any(|c| l.config.files.get(c.loc.file).is_some_and(|f| f.path == path));
    if !still_defines && is_empty_toml(&text) && path != root_file {
        // No empty file is left behind, unless the configuration names it
        // (a literal include): then it stays, as it was.
        std::fs::remove_file(&path).map_err(|e| miette::miette!("cannot remove {}: {e}", path.display()))?;
        let ok = load_project().is_ok_and(|l| !l.diagnostics.has_errors());
        if ok {
            if !quiet {
                eprintln!("removed {} (nothing left in it)", shown(&path));
            }
        } else {
            write_atomic(&path, &text)?;
            if !quiet {
                eprintln!(
                    "note: {} defines no components any more; it is kept because the configuration includes it by name",
                    shown(&path)
                );
            }
        }
    } else if !still_defines && !quiet {
        eprintln!(
            "note: {} defines no components any more; delete it if it is no longer needed",
            shown(&path)
        );
    }
    let mut kept = Vec::new();
    // What was deleted besides the definition, as shown.
    let mut deleted: Vec<String> = Vec::new();
    if !path.exists() {
        deleted.push(shown(&path));
    }
    if args.purge {
        for f in &left.overlay_files {
            std::fs::remove_file(f).map_err(|e| miette::miette!("cannot remove {}: {e}", f.display()))?;
            deleted.push(shown(f));
            if !quiet {
                eprintln!("removed overlay file {}", shown(f));
            }
            // Its directory too, when that leaves it empty (`overlays/NAME/`).
            if let Some(dir) = f.parent()
                && dir != root_dir
                && std::fs::remove_dir(dir).is_ok()
                && !quiet
            {
                eprintln!("removed {}/", shown(dir));
            }
        }
        if let Some(lock) = &left.lock {
            std::fs::remove_file(lock)
                .map_err(|e| miette::miette!("cannot remove {}: {e}", lock.display()))?;
            deleted.push(shown(lock));
            if !quiet {
                eprintln!("removed lock {}", shown(lock));
            }
        }
        if let Some(dir) = &left.rendered {
            if azldev_render::output::is_azldev_dir(dir, &args.name) {
                azldev_render::output::remove_component(dir, &args.name)
                    .map_err(|e| miette::miette!("cannot remove {}: {e}", dir.display()))?;
                deleted.push(format!("{}/", shown(dir)));
                if !quiet {
                    eprintln!("removed rendered directory {}/", shown(dir));
                }
            } else {
                kept.push(format!("{}/ (azldev did not write it)", shown(dir)));
            }
        }
    } else {
        kept.extend(
            left.overlay_files
                .iter()
                .map(|f| format!("overlay file {}", shown(f))),
        );
        kept.extend(left.lock.iter().map(|f| format!("lock {}", shown(f))));
        kept.extend(
            left.rendered
                .iter()
                .map(|d| format!("rendered directory {}/", shown(d))),
        );
    }
    kept.extend(
        left.shared_overlay_files
            .iter()
            .map(|f| format!("overlay file {} (other components use it)", shown(f))),
    );
    if !kept.is_empty() && !quiet {
        eprintln!(
            "left in place{}:",
            if args.purge { "" } else { " (delete with --purge)" }
        );
        for k in &kept {
            eprintln!("  {k}");
        }
    }
    if args.format == ReportFormat::Json {
        emit(&format!(
            "{}\n",
            serde_json::json!({ "name": args.name, "file": shown(&path), "removed": deleted, "kept": kept })
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
