//! `azldev cache dir|clean`.

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::ReportFormat;
use crate::output::Output;
use crate::settings::Settings;

/// `azldev cache …`
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the cache directory (`cache-dir`, `AZLDEV_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/azldev`).
    Dir {
        /// Output format (`json`: `{"cache-dir", "git", "sources"}`).
        #[arg(long, value_enum, default_value_t)]
        format: crate::cli::ReportFormat,
    },
    /// Remove what interrupted or failed work left in the cache: the
    /// `.init` directories of first clones that did not complete. Entries in
    /// use by another azldev are left alone.
    Clean {
        /// Output format (`json`: `{"removed": [paths]}`).
        #[arg(long, value_enum, default_value_t)]
        format: crate::cli::ReportFormat,
    },
}

pub fn run(cmd: &CacheCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match cmd {
        CacheCommand::Dir { format } => {
            let text = match format {
                ReportFormat::Text => format!("{}\n", settings.cache_root().display()),
                ReportFormat::Json => json(&serde_json::json!({
                    "cache-dir": settings.cache_root(),
                    "git": settings.git_cache(),
                    "sources": settings.source_cache(),
                }))?,
            };
            crate::cmd::config::emit(&text)?;
        }
        CacheCommand::Clean { format } => {
            let removed = azldev_source::GitCache::new(settings.git_cache())
                .clean_leftovers()
                .map_err(miette::Report::msg)?;
            if *format == ReportFormat::Json {
                crate::cmd::config::emit(&json(&serde_json::json!({ "removed": removed }))?)?;
            } else if out.verbosity >= 0 {
                for d in &removed {
                    eprintln!("removed {}", d.display());
                }
                eprintln!(
                    "{} failed clone{} removed",
                    removed.len(),
                    if removed.len() == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn json(v: &serde_json::Value) -> miette::Result<String> {
    let mut s = serde_json::to_string_pretty(v).map_err(miette::Report::msg)?;
    s.push('\n');
    Ok(s)
}
