//! `azldev cache dir|clean`.

use std::process::ExitCode;

use clap::Subcommand;

use crate::output::Output;
use crate::settings::Settings;

/// `azldev cache …`
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the cache directory (`cache-dir`, `AZLDEV_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/azldev`).
    Dir,
    /// Remove what interrupted or failed work left in the cache: the
    /// `.init` directories of first clones that did not complete. Entries in
    /// use by another azldev are left alone.
    Clean,
}

pub fn run(cmd: &CacheCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match cmd {
        CacheCommand::Dir => {
            crate::cmd::config::emit(&format!("{}\n", settings.cache_root().display()))?;
        }
        CacheCommand::Clean => {
            let removed = azldev_source::GitCache::new(settings.git_cache())
                .clean_leftovers()
                .map_err(miette::Report::msg)?;
            if out.verbosity >= 0 {
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
