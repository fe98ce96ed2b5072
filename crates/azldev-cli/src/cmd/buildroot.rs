//! `azldev buildroot show`: the buildroot definition of a distro version, as
//! read from its mock configuration.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use azldev_buildroot::arch::Arch;
use azldev_buildroot::mock::{self, MockConfig, Origin, Sourced};
use azldev_config::Config;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::ReportFormat;
use crate::cmd::config::{emit, load_project, report};
use crate::output::Output;

/// `azldev buildroot …`
#[derive(Debug, Subcommand)]
pub enum BuildrootCommand {
    /// Show a distro version's buildroot definition: the mock config it is
    /// read from, target arch, releasever, dist, setup packages, macros and
    /// repositories, each with the file and line that set it.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
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

pub fn run(cmd: &BuildrootCommand, out: &Output) -> miette::Result<ExitCode> {
    match cmd {
        BuildrootCommand::Show(args) => show(args, out),
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

fn show(args: &ShowArgs, out: &Output) -> miette::Result<ExitCode> {
    let arch = match &args.arch {
        Some(a) => a.parse::<Arch>().map_err(miette::Report::msg)?,
        None => Arch::host().unwrap_or(Arch::X86_64),
    };
    let loaded = load_project()?;
    if report(out, &loaded.diagnostics) {
        return Ok(ExitCode::from(1));
    }
    let config = &loaded.config;
    let (distro, version) = select_version(config, args.distro.as_deref(), args.version.as_deref())?;
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
    let mut mc = mock::load(&m.path, &opts).map_err(miette::Report::new)?;
    if mc.target_arch.value != arch.rpm() {
        return Err(miette::miette!(
            "{} is `{}` of {distro} {version} but sets target_arch `{}` ({})",
            display(&m.path, &config.root_dir),
            m.key,
            mc.target_arch.value,
            mc.target_arch.origin
        ));
    }
    mc.relativize(&config.root_dir);
    if out.verbosity >= 0 {
        for w in &mc.warnings {
            eprintln!("warning: {w}");
        }
    }
    let declared_at = config.files.describe(&m.loc);
    let text = match args.format {
        ReportFormat::Json => {
            let view = ShowView {
                distro: &distro,
                version: &version,
                arch,
                mock_config_key: m.key,
                mock_config_declared_at: declared_at,
                config: &mc,
            };
            let mut s = serde_json::to_string_pretty(&view).map_err(miette::Report::msg)?;
            s.push('\n');
            s
        }
        ReportFormat::Text => text(&distro, &version, arch, m.key, &declared_at, &mc),
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
