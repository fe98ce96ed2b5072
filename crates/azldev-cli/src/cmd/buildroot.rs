//! `azldev buildroot show`: the buildroot definition of a distro version, as
//! read from its mock configuration.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use azldev_buildroot::arch::Arch;
use std::path::PathBuf;

use azldev_buildroot::base::{BaseRoot, BaseRoots, BaseSpec, RepoSpec};
use azldev_buildroot::layer::{Bind, Layer, RunOptions};
use azldev_buildroot::mock::{self, MockConfig, Origin, Sourced};
use azldev_config::Config;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::ReportFormat;
use crate::cmd::config::{emit, load_project};
use crate::cmd::toolchain::ProjectDirs;
use crate::output::Output;
use crate::settings::Settings;

/// `azldev buildroot …`
#[derive(Debug, Subcommand)]
pub enum BuildrootCommand {
    /// Show a distro version's buildroot definition: the mock config it is
    /// read from, target arch, releasever, dist, setup packages, macros and
    /// repositories, each with the file and line that set it.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
    /// Create (or confirm) the base root of the definition: its setup
    /// packages installed with dnf, cached under a key of every input.
    #[command(disable_version_flag = true)]
    Create(CreateArgs),
    /// List the cached base roots.
    List(ListArgs),
    /// Remove cached base roots no layer is using: those the current
    /// definitions no longer produce (all of them with --all), and layers
    /// left behind by killed runs.
    #[command(disable_version_flag = true)]
    Clean(CleanArgs),
    /// Run a shell (or a command) in a fresh isolated layer over the base
    /// root — mock's `--shell`: own mount, pid, ipc, uts and network
    /// namespaces, the host invisible but for --bind, discarded afterwards.
    #[command(disable_version_flag = true)]
    Shell(ShellArgs),
}

/// Which definition.
#[derive(Debug, Args)]
pub struct Which {
    /// Distro (default: the project's default distro).
    #[arg(long, value_name = "NAME")]
    pub distro: Option<String>,
    /// Version of the distro (default: the project's default version of it).
    #[arg(long = "version", id = "distro_version", value_name = "VERSION")]
    pub version: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Target architecture: x86_64, aarch64 or all (default: the host's).
    #[arg(long, value_name = "ARCH", value_parser = ["x86_64", "aarch64", "all"])]
    pub arch: Option<String>,
    #[command(flatten)]
    pub which: Which,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Remove every base root not in use, current ones included.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub which: Which,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Target architecture (default: the host's).
    #[arg(long, value_name = "ARCH", value_parser = ["x86_64", "aarch64"])]
    pub arch: Option<String>,
    #[command(flatten)]
    pub which: Which,
    /// Install these packages into the layer first (from the definition's
    /// repositories and the project's local repository).
    #[arg(long = "install", value_name = "PKG")]
    pub install: Vec<String>,
    /// Bind a host directory into the layer: HOST:INSIDE[:rw] (read-only
    /// unless `:rw`).
    #[arg(long = "bind", value_name = "HOST:INSIDE[:rw]")]
    pub bind: Vec<String>,
    /// The command (default: an interactive login shell).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Target architecture (default: the host's).
    #[arg(long, value_name = "ARCH", value_parser = ["x86_64", "aarch64"])]
    pub arch: Option<String>,
    /// Distro (default: the project's default distro).
    #[arg(long, value_name = "NAME")]
    pub distro: Option<String>,
    /// Version of the distro (default: the project's default version of it).
    #[arg(long = "version", id = "distro_version", value_name = "VERSION")]
    pub version: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

pub fn run(cmd: &BuildrootCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match cmd {
        BuildrootCommand::Show(args) => show(args, out),
        BuildrootCommand::Create(args) => create(args, out, settings),
        BuildrootCommand::List(args) => list(args, settings),
        BuildrootCommand::Clean(args) => clean(args, out, settings),
        BuildrootCommand::Shell(args) => shell(args, out, settings),
    }
}

fn arches(arg: Option<&str>) -> miette::Result<Vec<Arch>> {
    Ok(match arg {
        Some("all") => Arch::ALL.to_vec(),
        Some(a) => vec![a.parse::<Arch>().map_err(miette::Report::msg)?],
        None => vec![Arch::host().unwrap_or(Arch::X86_64)],
    })
}

fn err(e: impl std::fmt::Display) -> miette::Report {
    miette::miette!("{e}")
}

/// The project's base roots, creating the one of `arch` when needed.
pub(crate) fn ensure_base(
    config: &Config,
    arch: Arch,
    which: &Which,
    settings: &Settings,
) -> miette::Result<(Definition, BaseSpec, BaseRoot, BaseRoots)> {
    let def = load_definition(config, arch, which.distro.as_deref(), which.version.as_deref())?;
    let spec = base_spec(&def, config)?;
    let dirs = ProjectDirs::of(config);
    let roots = BaseRoots::new(&settings.cache_root(), &dirs.log_dir);
    let root = roots.ensure(&spec).map_err(|e| explain(e, &def))?;
    Ok((def, spec, root, roots))
}

/// A base root error with, where the definition knows it, the file and
/// line to look at.
fn explain(e: azldev_buildroot::base::BuildrootError, def: &Definition) -> miette::Report {
    use azldev_buildroot::base::BuildrootError as E;
    let help = match &e {
        E::RepoUnreachable { id, url, .. } => {
            let at = def
                .mock
                .repos
                .iter()
                .find(|r| &r.id == id)
                .map(|r| format!("the repository `{id}` is defined at {}", r.origin));
            let seed = azldev_buildroot::base::local_path(url.trim_end_matches('/'))
                .filter(|p| p.ends_with(format!("seed/{}", def.arch)))
                .map(|_| {
                    format!(
                        "if it is the toolchain seed, make it with `azldev toolchain seed --arch {}`",
                        def.arch
                    )
                });
            let parts: Vec<String> = at.into_iter().chain(seed).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        E::NoSuchPackage { names, .. } => {
            let at: Vec<String> = names
                .iter()
                .filter_map(|n| {
                    def.mock
                        .setup_packages
                        .iter()
                        .find(|p| &p.value == n)
                        .map(|p| format!("`{n}` is a setup package of {}", p.origin))
                })
                .collect();
            (!at.is_empty()).then(|| at.join("; "))
        }
        _ => None,
    };
    match help {
        Some(h) => miette::miette!(help = h, "{e}"),
        None => err(e),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct RootView {
    arch: Arch,
    key: String,
    path: PathBuf,
    packages: usize,
    size_bytes: u64,
    created: u64,
    create_seconds: f64,
}

impl RootView {
    fn of(r: &BaseRoot) -> RootView {
        RootView {
            arch: r.arch,
            key: r.key.clone(),
            path: r.root(),
            packages: r.meta.installed.len(),
            size_bytes: r.meta.size_bytes,
            created: r.meta.created,
            create_seconds: r.meta.create_seconds,
        }
    }
}

fn create(args: &CreateArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let loaded = super::config::load_valid_project(out)?;
    let mut views = Vec::new();
    for arch in arches(args.arch.as_deref())? {
        let start = std::time::Instant::now();
        let (_, _, root, _) = ensure_base(&loaded.config, arch, &args.which, settings)?;
        let fresh =
            root.meta.created + 5 >= now() && start.elapsed().as_secs_f64() + 1.0 >= root.meta.create_seconds;
        if args.format == ReportFormat::Text && out.verbosity >= 0 {
            println!(
                "{arch}: base root {} ({} packages, {}) {} {}",
                root.key,
                root.meta.installed.len(),
                human_size(root.meta.size_bytes),
                if fresh {
                    format!("created in {:.1}s at", root.meta.create_seconds)
                } else {
                    "cached at".to_owned()
                },
                root.root().display()
            );
        }
        views.push(RootView::of(&root));
    }
    if args.format == ReportFormat::Json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "roots": views }))
                .map_err(miette::Report::msg)?
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time.
fn utc(secs: u64) -> String {
    let full = azldev_image::artifacts::rfc3339(i64::try_from(secs).unwrap_or(i64::MAX));
    // `YYYY-MM-DDTHH:MM:SSZ` → `YYYY-MM-DD HH:MM`.
    full.get(..16).unwrap_or(&full).replacen('T', " ", 1)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn human_size(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30))
    } else {
        format!("{:.0} MiB", b as f64 / f64::from(1u32 << 20))
    }
}

fn cache_roots(settings: &Settings) -> BaseRoots {
    let log_dir =
        load_project().map_or_else(|_| std::env::temp_dir(), |l| ProjectDirs::of(&l.config).log_dir);
    BaseRoots::new(&settings.cache_root(), &log_dir)
}

fn list(args: &ListArgs, settings: &Settings) -> miette::Result<ExitCode> {
    let roots = cache_roots(settings);
    let views: Vec<RootView> = roots.list().iter().map(RootView::of).collect();
    match args.format {
        ReportFormat::Json => {
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({ "roots": views }))
                    .map_err(miette::Report::msg)?
            ))?;
        }
        ReportFormat::Text => {
            let mut s = String::new();
            if views.is_empty() {
                s.push_str("no base roots\n");
            }
            for v in &views {
                let _ = writeln!(
                    s,
                    "{:8} {}  {:4} packages  {:>9}  created {}  {}",
                    v.arch.to_string(),
                    v.key,
                    v.packages,
                    human_size(v.size_bytes),
                    utc(v.created),
                    v.path.display()
                );
            }
            emit(&s)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn clean(args: &CleanArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let mut keep = Vec::new();
    if !args.all {
        let loaded = load_project()?;
        let dirs = ProjectDirs::of(&loaded.config);
        let roots = BaseRoots::new(&settings.cache_root(), &dirs.log_dir);
        for arch in Arch::ALL {
            if let Ok(def) = load_definition(
                &loaded.config,
                arch,
                args.which.distro.as_deref(),
                args.which.version.as_deref(),
            ) && let Ok(spec) = base_spec(&def, &loaded.config)
                && let Ok(key) = roots.key(&spec)
            {
                keep.push(key);
            }
        }
    }
    let roots = cache_roots(settings);
    let swept = azldev_buildroot::layer::sweep(&roots.dir.join("layers"));
    let removed = roots.clean(&keep).map_err(err)?;
    if out.verbosity >= 0 {
        for r in &removed {
            println!(
                "removed {} base root {} ({})",
                r.arch,
                r.key,
                human_size(r.meta.size_bytes)
            );
        }
        println!(
            "{} base root{} removed, {} kept{}",
            removed.len(),
            if removed.len() == 1 { "" } else { "s" },
            roots.list().len(),
            if swept > 0 {
                format!(", {swept} abandoned layers swept")
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn shell(args: &ShellArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let arch = arches(args.arch.as_deref())?[0];
    let loaded = super::config::load_valid_project(out)?;
    let mut binds = Vec::new();
    for b in &args.bind {
        let parts: Vec<&str> = b.split(':').collect();
        let (host, inside, rw) = match parts.as_slice() {
            [h, i] => (*h, *i, false),
            [h, i, "rw"] => (*h, *i, true),
            [h, i, "ro"] => (*h, *i, false),
            _ => {
                return Err(miette::miette!(
                    help = "--bind HOST:INSIDE[:rw]",
                    "bad --bind `{b}`"
                ));
            }
        };
        if !inside.starts_with('/') {
            return Err(miette::miette!("--bind `{b}`: the path inside must be absolute"));
        }
        let host = std::fs::canonicalize(host).map_err(|e| miette::miette!("--bind `{b}`: {host}: {e}"))?;
        binds.push(Bind {
            host,
            inside: inside.to_owned(),
            writable: rw,
        });
    }
    let (_, spec, root, roots) = ensure_base(&loaded.config, arch, &args.which, settings)?;
    let dirs = ProjectDirs::of(&loaded.config);
    let layer = Layer::new(&root, &roots.dir.join("layers")).map_err(err)?;
    if !args.install.is_empty() {
        let mut repos = spec.repos.clone();
        let local = dirs.output_dir.join(arch.rpm());
        if local.join("repodata/repomd.xml").is_file() {
            repos.push(RepoSpec {
                id: "azldev-local".into(),
                baseurl: vec![format!("file://{}", local.display())],
                gpgcheck: false,
                options: BTreeMap::new(),
            });
        }
        let log = dirs
            .log_dir
            .join("buildroot")
            .join(format!("shell-{arch}-install.log"));
        layer.install(&spec, &repos, &args.install, &log).map_err(err)?;
    }
    let argv = if args.command.is_empty() {
        vec!["/bin/bash".to_owned(), "-l".to_owned()]
    } else {
        args.command.clone()
    };
    if out.verbosity > 0 {
        eprintln!("layer {} over {} base root {}", layer.id(), arch, root.key);
    }
    let res = layer.run(
        &argv,
        &RunOptions {
            binds,
            interactive: true,
            ..RunOptions::default()
        },
    );
    drop(layer);
    match res {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(azldev_buildroot::base::BuildrootError::Run(e)) if e.code().is_some() => {
            Ok(ExitCode::from(u8::try_from(e.code().unwrap_or(1)).unwrap_or(1)))
        }
        Err(e) => Err(err(e)),
    }
}

/// The distro and version selected by `--distro`/`--version` or the project's
/// defaults.
pub(crate) fn select_version(
    config: &Config,
    distro: Option<&str>,
    version: Option<&str>,
) -> miette::Result<(String, String)> {
    let default = config.default_distro_version();
    let name = match (distro, &default) {
        (Some(d), _) => d.to_owned(),
        (None, Some((d, _))) => d.clone(),
        (None, None) => {
            return Err(miette::miette!(
                help = "set `project.default-distro` or pass --distro",
                "the project has no default distro"
            ));
        }
    };
    let Some(d) = config.merged.distros.get(&name) else {
        let names = config.merged.distros.keys().map(String::as_str);
        return Err(match azldev_config::suggest::closest(&name, names) {
            Some(n) => miette::miette!(help = format!("did you mean `{n}`?"), "no distro named `{name}`"),
            None => miette::miette!("no distro named `{name}`"),
        });
    };
    let version = match (version, &default) {
        (Some(v), _) => v.to_owned(),
        (None, Some((dn, dv))) if *dn == name => dv.clone(),
        (None, _) => match &d.default_version {
            Some(v) => v.value.clone(),
            None => {
                return Err(miette::miette!(
                    help = "pass --version",
                    "distro `{name}` has no default version"
                ));
            }
        },
    };
    if !d.versions.contains_key(&version) {
        let known: Vec<&str> = d.versions.keys().map(String::as_str).collect();
        return Err(miette::miette!(
            help = format!("its versions: {}", known.join(", ")),
            "distro `{name}` has no version `{version}`"
        ));
    }
    Ok((name, version))
}

/// What `show --format json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ShowView<'a> {
    distro: &'a str,
    version: &'a str,
    arch: Arch,
    /// `mock-config-<arch>` or `mock-config`.
    mock_config_key: &'a str,
    /// Where the distro version names the mock config (`file:line:column`).
    mock_config_declared_at: String,
    #[serde(flatten)]
    config: &'a MockConfig,
}

/// A distro version's buildroot definition for one arch, loaded.
pub(crate) struct Definition {
    pub distro: String,
    pub version: String,
    pub arch: Arch,
    pub key: &'static str,
    pub declared_at: String,
    /// Paths relative to the project root (for display).
    pub mock: MockConfig,
    /// Paths as loaded (absolute).
    pub mock_abs: MockConfig,
}

/// Loads the mock config of `distro`/`version` (or the defaults) for `arch`.
pub(crate) fn load_definition(
    config: &Config,
    arch: Arch,
    distro: Option<&str>,
    version: Option<&str>,
) -> miette::Result<Definition> {
    let (distro, version) = select_version(config, distro, version)?;
    let Some(m) = config.mock_config(&distro, &version, arch.rpm()) else {
        let at = config.merged.distros[&distro].versions[&version].loc.clone();
        return Err(miette::miette!(
            help = format!(
                "set `mock-config-{arch}` (or `mock-config`) in [distros.{distro}.versions.'{version}'] at {}",
                config.files.describe_line(&at)
            ),
            "distro `{distro}` version `{version}` has no mock config for {arch}"
        ));
    };
    let opts = mock::LoadOptions {
        confine_to: Some(config.root_dir.clone()),
        vars: BTreeMap::from([(
            "project_dir".to_owned(),
            serde_json::Value::String(config.root_dir.display().to_string()),
        )]),
    };
    let mc = mock::load(&m.path, &opts).map_err(miette::Report::new)?;
    if mc.target_arch.value != arch.rpm() {
        return Err(miette::miette!(
            "{} is `{}` of {distro} {version} but sets target_arch `{}` ({})",
            display(&m.path, &config.root_dir),
            m.key,
            mc.target_arch.value,
            mc.target_arch.origin
        ));
    }
    let mock_abs = mc.clone();
    let mut mc = mc;
    mc.relativize(&config.root_dir);
    Ok(Definition {
        distro,
        version,
        arch,
        key: m.key,
        declared_at: config.files.describe(&m.loc),
        mock: mc,
        mock_abs,
    })
}

/// What a base root is made of, from a definition.
pub(crate) fn base_spec(def: &Definition, config: &Config) -> miette::Result<BaseSpec> {
    let mc = &def.mock_abs;
    let releasever = match &mc.releasever {
        Some(r) => r.value.clone(),
        None => config.merged.distros[&def.distro].versions[&def.version]
            .release_ver
            .value
            .clone(),
    };
    let mut repos = Vec::new();
    for r in mc.enabled_repos() {
        if r.baseurl.is_empty() {
            return Err(miette::miette!(
                help = "give the repository a `baseurl` (azldev reads repository metadata directly)",
                "repository `{}` ({}) has no baseurl{}",
                r.id,
                r.origin,
                r.metalink
                    .as_ref()
                    .map(|m| format!(", only a metalink ({m})"))
                    .unwrap_or_default()
            ));
        }
        let mut options = r.options.clone();
        if let Some(c) = r.cost {
            options.insert("cost".into(), c.to_string());
        }
        if let Some(p) = r.priority {
            options.insert("priority".into(), p.to_string());
        }
        repos.push(RepoSpec {
            id: r.id.clone(),
            baseurl: r.baseurl.clone(),
            gpgcheck: r.gpgcheck,
            options,
        });
    }
    if repos.is_empty() {
        return Err(miette::miette!(
            "the buildroot definition {} enables no repository",
            mc.path.display()
        ));
    }
    Ok(BaseSpec {
        arch: def.arch,
        releasever,
        packages: mc.setup_packages.iter().map(|p| p.value.clone()).collect(),
        repos,
        macros: mc
            .macros
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect(),
        dnf_main: mc.dnf_main.clone(),
    })
}

fn show(args: &ShowArgs, out: &Output) -> miette::Result<ExitCode> {
    let arch = match &args.arch {
        Some(a) => a.parse::<Arch>().map_err(miette::Report::msg)?,
        None => Arch::host().unwrap_or(Arch::X86_64),
    };
    let loaded = super::config::load_valid_project(out)?;
    let config = &loaded.config;
    let def = load_definition(config, arch, args.distro.as_deref(), args.version.as_deref())?;
    let (distro, version, mc) = (&def.distro, &def.version, &def.mock);
    let m_key = def.key;
    if out.verbosity >= 0 {
        for w in &mc.warnings {
            eprintln!("warning: {w}");
        }
    }
    let declared_at = def.declared_at.clone();
    let text = match args.format {
        ReportFormat::Json => {
            let view = ShowView {
                distro,
                version,
                arch,
                mock_config_key: m_key,
                mock_config_declared_at: declared_at,
                config: mc,
            };
            let mut s = serde_json::to_string_pretty(&view).map_err(miette::Report::msg)?;
            s.push('\n');
            s
        }
        ReportFormat::Text => text(distro, version, arch, m_key, &declared_at, mc),
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn display(path: &Path, root: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

/// `file:line`, or `mock default`.
fn at(o: &Origin) -> String {
    if o.is_mock_default() {
        "(mock default)".to_owned()
    } else {
        format!("{}:{}", o.file.display(), o.line)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Rows of `label  value  origin`, aligned.
fn table(out: &mut String, indent: &str, rows: &[(String, String, String)]) {
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    for (a, b, c) in rows {
        let line = if c.is_empty() {
            format!("{indent}{a:w0$}  {b}")
        } else if w1 == 0 {
            format!("{indent}{a:w0$}  {c}")
        } else {
            format!("{indent}{a:w0$}  {b:w1$}  {c}")
        };
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn text(distro: &str, version: &str, arch: Arch, key: &str, declared_at: &str, c: &MockConfig) -> String {
    let mut s = String::new();
    let opt = |v: &Option<Sourced<String>>| -> (String, String) {
        match v {
            Some(x) => (x.value.clone(), at(&x.origin)),
            None => ("(not set)".to_owned(), String::new()),
        }
    };
    let mut rows = vec![
        (
            "buildroot".to_owned(),
            format!("{distro} {version} {arch}"),
            String::new(),
        ),
        (
            "mock config".to_owned(),
            c.path.display().to_string(),
            format!("{key} at {declared_at}"),
        ),
    ];
    for inc in c.files.iter().skip(1) {
        rows.push(("  includes".to_owned(), inc.display().to_string(), String::new()));
    }
    rows.push((
        "target arch".to_owned(),
        c.target_arch.value.clone(),
        at(&c.target_arch.origin),
    ));
    for (label, v) in [
        ("releasever", &c.releasever),
        ("dist", &c.dist),
        ("root", &c.root),
        ("package manager", &c.package_manager),
    ] {
        let (value, origin) = opt(v);
        rows.push((label.to_owned(), value, origin));
    }
    if let Some(l) = &c.legal_host_arches {
        rows.push(("legal host arches".to_owned(), l.value.join(" "), at(&l.origin)));
    }
    table(&mut s, "", &rows);

    let _ = writeln!(s, "\nsetup packages ({})", c.setup_packages.len());
    let rows: Vec<_> = c
        .setup_packages
        .iter()
        .map(|p| (p.value.clone(), String::new(), at(&p.origin)))
        .collect();
    table(&mut s, "  ", &rows);

    let _ = writeln!(s, "\nmacros ({})", c.macros.len());
    let rows: Vec<_> = c
        .macros
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone(), at(&v.origin)))
        .collect();
    table(&mut s, "  ", &rows);

    let _ = writeln!(s, "\nrepositories ({})", c.repos.len());
    for r in &c.repos {
        let _ = writeln!(
            s,
            "  [{}]  {}  {}",
            r.id,
            if r.enabled { "enabled" } else { "disabled" },
            at(&r.origin)
        );
        let mut rows = Vec::new();
        if let Some(n) = &r.name {
            rows.push(("name".to_owned(), n.clone(), String::new()));
        }
        for u in &r.baseurl {
            rows.push(("baseurl".to_owned(), u.clone(), String::new()));
        }
        if let Some(m) = &r.metalink {
            rows.push(("metalink".to_owned(), m.clone(), String::new()));
        }
        if let Some(m) = &r.mirrorlist {
            rows.push(("mirrorlist".to_owned(), m.clone(), String::new()));
        }
        rows.push((
            "gpgcheck".to_owned(),
            yes_no(r.gpgcheck).to_owned(),
            String::new(),
        ));
        if let Some(b) = r.skip_if_unavailable {
            rows.push((
                "skip_if_unavailable".to_owned(),
                yes_no(b).to_owned(),
                String::new(),
            ));
        }
        if let Some(n) = r.cost {
            rows.push(("cost".to_owned(), n.to_string(), String::new()));
        }
        if let Some(n) = r.priority {
            rows.push(("priority".to_owned(), n.to_string(), String::new()));
        }
        for (k, v) in &r.options {
            rows.push((k.clone(), v.clone(), String::new()));
        }
        table(&mut s, "      ", &rows);
    }
    s
}
