//! Tool settings that are not part of the distro: worker threads, the cache
//! directory, offline mode, colour. Layered with figment, later wins:
//! built-in defaults → `$XDG_CONFIG_HOME/azldev/config.toml` (or
//! `~/.config/azldev/config.toml`) → `AZLDEV_*` environment variables →
//! command-line flags.

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::cli::ColorChoice;

/// Effective tool settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Root of azldev's caches (git repositories go in `<dir>/git`).
    pub cache_dir: Option<PathBuf>,
    /// Never touch the network.
    pub offline: bool,
    /// `auto`, `always` or `never`.
    pub color: Option<String>,
}

/// The user settings file.
pub fn user_file() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("azldev").join("config.toml"))
}

impl Settings {
    /// Defaults → user file → environment. Command-line flags are applied by
    /// the commands on top.
    pub fn load() -> Result<Settings, String> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(f) = user_file() {
            fig = fig.merge(Toml::file(f));
        }
        fig.merge(
            Env::prefixed("AZLDEV_")
                .map(|k| k.as_str().replace('_', "-").into())
                .only(&["jobs", "cache-dir", "offline", "color"]),
        )
        .extract()
        .map_err(|e| format!("tool settings: {e}"))
    }

    /// Colour: the flag unless it was left at `auto`, else the setting.
    pub fn color(&self, flag: ColorChoice) -> ColorChoice {
        if flag != ColorChoice::Auto {
            return flag;
        }
        match self.color.as_deref() {
            Some("always") => ColorChoice::Always,
            Some("never") => ColorChoice::Never,
            _ => ColorChoice::Auto,
        }
    }

    /// Where archive overlays find source archives and keep what they
    /// produce: the source cache (`sources fetch` fills it) with HTTPS.
    pub fn source_store(&self) -> azldev_render::SourceStore {
        azldev_render::SourceStore {
            cache: azldev_source::SourceCache::new(self.source_cache()),
            transport: Some(std::sync::Arc::new(azldev_source::HttpTransport::default())),
        }
    }

    /// The source-file cache root.
    pub fn source_cache(&self) -> PathBuf {
        match &self.cache_dir {
            Some(d) => d.join("sources"),
            None => azldev_source::SourceCache::default_root(),
        }
    }

    /// Root of every azldev cache (`cache-dir`, else `$XDG_CACHE_HOME/azldev`).
    pub fn cache_root(&self) -> PathBuf {
        match &self.cache_dir {
            Some(d) => d.clone(),
            None => azldev_source::GitCache::default_root()
                .parent()
                .map_or_else(|| PathBuf::from(".cache/azldev"), std::path::Path::to_path_buf),
        }
    }

    /// Where the build graph caches spec facts (`<cache>/facts`).
    pub fn facts_cache(&self) -> PathBuf {
        match &self.cache_dir {
            Some(d) => d.join("facts"),
            None => self
                .git_cache()
                .parent()
                .map_or_else(|| PathBuf::from("facts"), |p| p.join("facts")),
        }
    }

    /// The git cache root.
    pub fn git_cache(&self) -> PathBuf {
        match &self.cache_dir {
            Some(d) => d.join("git"),
            None => azldev_source::GitCache::default_root(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API
    fn layering() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("XDG_CONFIG_HOME", jail.directory().display().to_string());
            jail.create_dir("azldev")?;
            jail.create_file(
                "azldev/config.toml",
                "jobs = 3\noffline = true\ncolor = \"never\"\n",
            )?;
            let s = Settings::load().map_err(figment::Error::from)?;
            assert_eq!(s.jobs, Some(3));
            assert!(s.offline);
            assert_eq!(s.color(ColorChoice::Auto), ColorChoice::Never);
            assert_eq!(s.color(ColorChoice::Always), ColorChoice::Always, "flags win");
            jail.set_env("AZLDEV_JOBS", "5");
            jail.set_env("AZLDEV_CACHE_DIR", "/tmp/c");
            let s = Settings::load().map_err(figment::Error::from)?;
            assert_eq!(s.jobs, Some(5), "environment beats the user file");
            assert_eq!(s.git_cache(), PathBuf::from("/tmp/c/git"));
            jail.create_file("azldev/config.toml", "jobz = 3\n")?;
            assert!(Settings::load().is_err(), "unknown keys are errors");
            Ok(())
        });
    }
}
