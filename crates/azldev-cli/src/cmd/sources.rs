//! `azldev sources fetch`: download every component's source files (its
//! rendered `sources` file merged with `source-files`) into the
//! content-addressed cache, verifying their digests.

use std::io::IsTerminal;
use std::process::ExitCode;

use azldev_config::raw::{HashType, OriginType};
use azldev_config::{Config, ResolvedComponent};
use azldev_source::{
    ExtraOrigin, ExtraSource, FetchItem, FetchReport, Fetched, HashKind, SourceCache, parse_sources,
};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::ReportFormat;
use crate::output::Output;
use crate::settings::Settings;

/// `azldev sources …`
#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Download components' source files (upstream's `sources` merged with
    /// `source-files`) from the lookaside cache or their origins into the
    /// local cache, in parallel, verifying every digest. Interrupted
    /// downloads resume. Reads the rendered spec tree: run `azldev render`
    /// first. Exit 1 when any file failed.
    Fetch(FetchArgs),
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Components to fetch for (default: all).
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::components))]
    pub names: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

pub fn run(cmd: &SourcesCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let SourcesCommand::Fetch(args) = cmd;
    fetch(args, out, settings)
}

/// The per-component plan: its files, or why it has none.
struct Planned {
    name: String,
    items: Result<Vec<FetchItem>, String>,
}

fn fetch(args: &FetchArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let config = super::config::load_valid_project(out)?.config;
    let names: Vec<String> = if args.names.is_empty() {
        config.components.keys().cloned().collect()
    } else {
        for n in &args.names {
            if !config.components.contains_key(n) {
                return Err(super::component::unknown_component(&config, n));
            }
        }
        args.names.clone()
    };
    let out_dir = azldev_render::Options::for_project(&config).out_dir;
    let cache = SourceCache::new(settings.source_cache());
    let planned: Vec<Planned> = names
        .iter()
        .filter_map(|n| config.components.get(n))
        .map(|c| Planned {
            name: c.name.clone(),
            items: plan(&config, c, &out_dir, &cache),
        })
        .collect();
    let items: Vec<FetchItem> = planned
        .iter()
        .filter_map(|p| p.items.as_ref().ok())
        .flatten()
        .cloned()
        .collect();
    let text = args.format == ReportFormat::Text;
    let bar = (text && out.verbosity >= 0 && std::io::stderr().is_terminal()).then(|| {
        let b = indicatif::ProgressBar::new(items.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let verbose = out.verbosity > 0;
    let on_done = |r: &FetchReport| {
        if let Some(b) = &bar {
            b.inc(1);
            b.set_message(r.item.filename.clone());
        }
        if text && (verbose || matches!(r.result, Ok(Fetched::Fetched))) && out.verbosity >= 0 {
            let word = match &r.result {
                Ok(Fetched::Fetched) => "fetched",
                Ok(Fetched::Cached) => "cached",
                Err(_) => return,
            };
            let line = format!("{word:>9} {}", r.item.filename);
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
    };
    let transport = settings.transport();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.or(settings.jobs).unwrap_or(0))
        .build()
        .map_err(|e| miette::miette!("thread pool: {e}"))?;
    let reports = pool.install(|| azldev_source::fetch_all(&cache, Some(&transport), &items, &on_done));
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let count = |f: Fetched| reports.iter().filter(|r| r.result == Ok(f)).count();
    let fetched = count(Fetched::Fetched);
    let cached = count(Fetched::Cached);
    let failed_files = reports.iter().filter(|r| r.result.is_err()).count();
    let failed_components = planned.iter().filter(|p| p.items.is_err()).count();
    let failed = failed_files + failed_components;
    match args.format {
        ReportFormat::Text => {
            for p in &planned {
                if let Err(e) = &p.items {
                    eprintln!("error: {}: {e}", p.name);
                }
            }
            for r in &reports {
                if let Err(e) = &r.result {
                    eprintln!("error: {e}");
                }
            }
            if out.verbosity >= -1 {
                eprintln!(
                    "{fetched} fetched, {cached} cached, {failed} failed ({})",
                    cache.root().display()
                );
            }
        }
        ReportFormat::Json => print_json(&planned, &reports, &cache, [fetched, cached, failed])?,
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct JsonFile<'a> {
    filename: &'a str,
    hash_type: &'static str,
    hash: &'a str,
    url: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn print_json(
    planned: &[Planned],
    reports: &[FetchReport],
    cache: &SourceCache,
    [fetched, cached, failed]: [usize; 3],
) -> miette::Result<()> {
    // Reports are in plan order, so each component's files follow one another.
    let mut rest = reports;
    let mut components = Vec::new();
    for p in planned {
        let entry = match &p.items {
            Err(e) => serde_json::json!({"name": p.name, "error": e}),
            Ok(items) => {
                let (mine, tail) = rest.split_at(items.len().min(rest.len()));
                rest = tail;
                let files: Vec<JsonFile<'_>> = mine
                    .iter()
                    .map(|r| JsonFile {
                        filename: &r.item.filename,
                        hash_type: r.item.hash_kind.as_str(),
                        hash: &r.item.hash,
                        url: &r.item.url,
                        status: match r.result {
                            Ok(Fetched::Fetched) => "fetched",
                            Ok(Fetched::Cached) => "cached",
                            Err(_) => "failed",
                        },
                        path: r
                            .result
                            .is_ok()
                            .then(|| cache.path(r.item.hash_kind, &r.item.hash).display().to_string()),
                        error: r.result.as_ref().err().map(ToString::to_string),
                    })
                    .collect();
                serde_json::json!({"name": p.name, "files": files})
            }
        };
        components.push(entry);
    }
    let v = serde_json::json!({
        "components": components,
        "summary": {"fetched": fetched, "cached": cached, "failed": failed},
    });
    let text = serde_json::to_string_pretty(&v).map_err(|e| miette::miette!("{e}"))?;
    println!("{text}");
    Ok(())
}

/// The files of one component: its rendered `sources` merged with its
/// `source-files`.
fn plan(
    config: &Config,
    c: &ResolvedComponent,
    out_dir: &std::path::Path,
    cache: &SourceCache,
) -> Result<Vec<FetchItem>, String> {
    let dir = azldev_render::component_dir(out_dir, &c.name);
    if !dir.is_dir() {
        return Err(format!(
            "not rendered ({} is missing); run `azldev render` first",
            dir.display()
        ));
    }
    let sources_file = dir.join("sources");
    let text = match std::fs::read_to_string(&sources_file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", sources_file.display())),
    };
    plan_from(
        config,
        c,
        text.as_deref(),
        &sources_file.display().to_string(),
        cache,
    )
}

/// The files of a component from its rendered `sources` text (`None`: no
/// such file) merged with its `source-files`.
pub(crate) fn plan_from(
    config: &Config,
    c: &ResolvedComponent,
    sources_text: Option<&str>,
    sources_name: &str,
    cache: &SourceCache,
) -> Result<Vec<FetchItem>, String> {
    let upstream = match sources_text {
        Some(text) => parse_sources(text)
            .map_err(|(line, l)| format!("{sources_name}:{line}: not a sources line: {l}"))?,
        None => Vec::new(),
    };
    let extra: Vec<ExtraSource> = c
        .config
        .source_files
        .iter()
        .map(|f| {
            let f = &f.value;
            let origin = match f.origin.as_ref().map(|o| &o.value) {
                None => ExtraOrigin::Lookaside,
                Some(o) => match o.kind.value {
                    OriginType::Download => match &o.uri {
                        Some(uri) => ExtraOrigin::Uri {
                            uri: uri.value.clone(),
                            base_dir: config.files.dir_of(&uri.loc),
                        },
                        None => ExtraOrigin::Lookaside,
                    },
                    OriginType::Custom | OriginType::Overlay => ExtraOrigin::Generated,
                },
            };
            ExtraSource {
                filename: f.filename.value.clone(),
                hash_kind: f.hash_type.as_ref().map(|t| match t.value {
                    HashType::Sha256 => HashKind::Sha256,
                    HashType::Sha512 => HashKind::Sha512,
                }),
                hash: f.hash.as_ref().map(|h| h.value.clone()),
                origin,
                replace_upstream: f.replace_upstream.as_ref().is_some_and(|r| r.value),
            }
        })
        .collect();
    // What an archive overlay makes is nowhere to download: render stores
    // it in the cache. Say so when it is missing (a fresh clone, a cleared
    // cache) instead of reporting success.
    for e in &extra {
        if let (ExtraOrigin::Generated, Some(kind), Some(hash)) = (&e.origin, e.hash_kind, &e.hash)
            && c.overlays.iter().any(|o| {
                o.overlay
                    .value
                    .archive
                    .as_ref()
                    .is_some_and(|a| a.value == e.filename)
            })
            && !cache.path(kind, &hash.trim().to_ascii_lowercase()).is_file()
        {
            return Err(format!(
                "`{}` is made by an archive overlay and is not in the source cache; run `azldev render {}`",
                e.filename, c.name
            ));
        }
    }
    let lookaside = azldev_render::lookaside(config, c);
    if lookaside.is_none()
        && azldev_render::origins_disabled(config, c)
        && extra.iter().any(|e| matches!(e.origin, ExtraOrigin::Uri { .. }))
    {
        return Err("the distro sets `disable-origins` but has no `lookaside-base-uri`".to_owned());
    }
    azldev_source::merge(&upstream, &extra, lookaside.as_ref()).map_err(|e| e.to_string())
}
