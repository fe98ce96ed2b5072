//! `azldev query …`: questions to the build graph of the distro as it
//! renders now (see `build --plan` for how the graph is made).

use std::process::ExitCode;

use azldev_build::dep::Simple;
use azldev_build::graph::{Graph, PkgRef, Resolution};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::build::{GraphArgs, load_distro};
use crate::cli::ReportFormat;
use crate::output::Output;
use crate::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum QueryCommand {
    /// Which in-distro packages provide a capability (`name` or `name OP
    /// evr`, as a BuildRequires would ask). Exit 1 when none does.
    Whatprovides(WhatprovidesArgs),
    /// What a component needs to build (its BuildRequires and how each
    /// resolves) and its packages' runtime Requires; or, for a package
    /// name, that package's Requires.
    Requires(NameArgs),
    /// What must be rebuilt when a component (or the component of a
    /// package) changes: every component that build-depends on it,
    /// transitively, nearest first.
    Rdeps(NameArgs),
}

#[derive(Debug, Args)]
pub struct WhatprovidesArgs {
    /// The capability, e.g. `libgreet-devel` or `libgreet-devel >= 1.0`.
    #[arg(value_name = "CAP", num_args = 1.., required = true)]
    pub capability: Vec<String>,
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// A component or package name.
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::components))]
    pub name: String,
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Serialize)]
struct Provider {
    component: String,
    package: String,
    /// The matching provide, as rpmspec prints it.
    #[serde(skip_serializing_if = "Option::is_none")]
    provide: Option<String>,
}

#[derive(Serialize)]
struct WhatProvides {
    arch: String,
    capability: String,
    providers: Vec<Provider>,
    /// Nothing in the distro provides it and the buildroot does (or its
    /// provides are not known).
    external: bool,
}

#[derive(Serialize)]
struct Requirement {
    requirement: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    resolution: Resolution,
    providers: Vec<Provider>,
    /// From `%generate_buildrequires`, as the component's last build
    /// resolved it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dynamic: bool,
}

#[derive(Serialize)]
struct PackageRequires {
    name: String,
    requires: Vec<Requirement>,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Requires {
    arch: String,
    component: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    excluded: Option<String>,
    buildrequires: Vec<Requirement>,
    dynamic_buildrequires: bool,
    packages: Vec<PackageRequires>,
}

#[derive(Serialize)]
struct Rdep {
    name: String,
    /// 1: depends on it directly.
    distance: usize,
}

#[derive(Serialize)]
struct Rdeps {
    arch: String,
    component: String,
    rdeps: Vec<Rdep>,
}

pub fn run(cmd: &QueryCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let (graph_args, format) = match cmd {
        QueryCommand::Whatprovides(a) => (&a.graph, a.format),
        QueryCommand::Requires(a) | QueryCommand::Rdeps(a) => (&a.graph, a.format),
    };
    let (_, distro) = load_distro(out, settings, graph_args)?;
    if out.verbosity >= 0 {
        for (c, e) in &distro.render_failures {
            eprintln!("warning: {c} could not be rendered and is not in the graph: {e}");
        }
    }
    let mut json = Vec::new();
    let mut found = true;
    for arch in graph_args.arch.arches() {
        let (graph, failed) = distro.graph(arch, graph_args.jobs.or(settings.jobs));
        if out.verbosity >= 0 {
            for e in &failed {
                eprintln!("warning: not in the graph: {e}");
            }
        }
        let (value, text, ok) = match cmd {
            QueryCommand::Whatprovides(a) => whatprovides(&graph, &a.capability.join(" "))?,
            QueryCommand::Requires(a) => requires(&graph, &a.name)?,
            QueryCommand::Rdeps(a) => rdeps(&graph, &a.name)?,
        };
        found &= ok;
        match format {
            ReportFormat::Json => json.push(value),
            ReportFormat::Text => print!("{text}"),
        }
    }
    if format == ReportFormat::Json {
        let v = if json.len() == 1 {
            json.pop().unwrap_or_default()
        } else {
            serde_json::Value::Array(json)
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| miette::miette!("{e}"))?
        );
    }
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn provider(g: &Graph, r: PkgRef, provide: Option<String>) -> Provider {
    let (c, p) = g.pkg_name(r);
    Provider {
        component: c.to_owned(),
        package: p.to_owned(),
        provide,
    }
}

fn to_json(v: &impl Serialize) -> miette::Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| miette::miette!("{e}"))
}

type Answer = (serde_json::Value, String, bool);

fn whatprovides(g: &Graph, cap: &str) -> miette::Result<Answer> {
    let want = Simple::parse(cap).ok_or_else(|| miette::miette!("empty capability"))?;
    let providers: Vec<Provider> = g
        .what_provides(&want)
        .into_iter()
        .map(|(r, p)| provider(g, r, Some(p)))
        .collect();
    let external = providers.is_empty() && (want.is_file() || g.buildroot_provides(&want.name));
    let mut text = String::new();
    for p in &providers {
        text.push_str(&format!(
            "{}: {} ({}) provides `{}`\n",
            g.arch,
            p.package,
            p.component,
            p.provide.as_deref().unwrap_or_default()
        ));
    }
    if providers.is_empty() {
        text.push_str(&format!(
            "{}: nothing in the distro provides `{cap}`{}\n",
            g.arch,
            if external {
                " (external: the buildroot's repositories)"
            } else {
                ""
            }
        ));
    }
    let ok = !providers.is_empty();
    let v = to_json(&WhatProvides {
        arch: g.arch.rpm().to_owned(),
        capability: want.to_string(),
        providers,
        external,
    })?;
    Ok((v, text, ok))
}

fn resolution_word(r: &Resolution) -> &'static str {
    match r {
        Resolution::InDistro => "in-distro",
        Resolution::External => "external",
        Resolution::Prebuilt => "prebuilt",
        Resolution::Unresolved => "UNRESOLVED",
        Resolution::Invalid => "INVALID",
    }
}

fn show_requirement(text: &mut String, r: &Requirement) {
    let provs: Vec<String> = r
        .providers
        .iter()
        .map(|p| format!("{} ({})", p.package, p.component))
        .collect();
    let mut line = r.line.map(|l| format!(" [line {l}]")).unwrap_or_default();
    if r.dynamic {
        line.push_str(" [dynamic, from its last build]");
    }
    text.push_str(&format!(
        "    {}{line}: {}{}\n",
        r.requirement,
        resolution_word(&r.resolution),
        if provs.is_empty() {
            String::new()
        } else {
            format!(" → {}", provs.join(", "))
        }
    ));
}

fn package_requires(g: &Graph, r: PkgRef) -> PackageRequires {
    PackageRequires {
        name: g.pkg_name(r).1.to_owned(),
        requires: g
            .package_requires(r)
            .into_iter()
            .map(|(req, ok, pkgs)| Requirement {
                requirement: req,
                line: None,
                resolution: if !pkgs.is_empty() {
                    Resolution::InDistro
                } else if ok {
                    Resolution::External
                } else {
                    Resolution::Unresolved
                },
                providers: pkgs.into_iter().map(|p| provider(g, p, None)).collect(),
                dynamic: false,
            })
            .collect(),
    }
}

fn requires(g: &Graph, name: &str) -> miette::Result<Answer> {
    let mut text = String::new();
    if let Some(i) = g.node(name) {
        let n = &g.nodes[i];
        let buildrequires: Vec<Requirement> = n
            .requirements
            .iter()
            .map(|r| Requirement {
                requirement: r.text.clone(),
                line: r.line,
                resolution: r.resolution.clone(),
                providers: r.packages.iter().map(|p| provider(g, *p, None)).collect(),
                dynamic: r.dynamic,
            })
            .collect();
        let packages: Vec<PackageRequires> = (0..n.facts.packages.len())
            .map(|pkg| package_requires(g, PkgRef { node: i, pkg }))
            .collect();
        text.push_str(&format!("{} ({}):\n", n.name, g.arch));
        if let Some(why) = &n.excluded {
            text.push_str(&format!("  excluded ({why})\n"));
        }
        text.push_str("  BuildRequires:\n");
        for r in &buildrequires {
            show_requirement(&mut text, r);
        }
        if n.facts.dynamic_buildrequires && n.dynamic.is_empty() {
            text.push_str(
                "    (and dynamic BuildRequires from %generate_buildrequires, known after a build)\n",
            );
        }
        for p in &packages {
            text.push_str(&format!("  {} Requires:\n", p.name));
            for r in &p.requires {
                show_requirement(&mut text, r);
            }
        }
        let v = to_json(&Requires {
            arch: g.arch.rpm().to_owned(),
            component: n.name.clone(),
            excluded: n.excluded.clone(),
            buildrequires,
            dynamic_buildrequires: n.facts.dynamic_buildrequires,
            packages,
        })?;
        return Ok((v, text, true));
    }
    let Some(r) = g.package(name) else {
        return Err(miette::miette!("no component or package `{name}` on {}", g.arch));
    };
    let p = package_requires(g, r);
    text.push_str(&format!(
        "{} ({}, from {}) Requires:\n",
        p.name,
        g.arch,
        g.pkg_name(r).0
    ));
    for req in &p.requires {
        show_requirement(&mut text, req);
    }
    let mut v = to_json(&p)?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("arch".into(), g.arch.rpm().into());
        m.insert("component".into(), g.pkg_name(r).0.into());
    }
    Ok((v, text, true))
}

fn rdeps(g: &Graph, name: &str) -> miette::Result<Answer> {
    let i = g
        .node(name)
        .or_else(|| g.package(name).map(|r| r.node))
        .ok_or_else(|| miette::miette!("no component or package `{name}` on {}", g.arch))?;
    let list: Vec<Rdep> = g
        .rdeps(i)
        .into_iter()
        .map(|(j, d)| Rdep {
            name: g.nodes[j].name.clone(),
            distance: d,
        })
        .collect();
    let comp = g.nodes[i].name.clone();
    let mut text = String::new();
    if list.is_empty() {
        text.push_str(&format!("{}: nothing build-depends on {comp}\n", g.arch));
    } else {
        text.push_str(&format!("{}: rebuilt when {comp} changes:\n", g.arch));
        for r in &list {
            text.push_str(&format!("  {} (distance {})\n", r.name, r.distance));
        }
    }
    let v = to_json(&Rdeps {
        arch: g.arch.rpm().to_owned(),
        component: comp,
        rdeps: list,
    })?;
    Ok((v, text, true))
}
