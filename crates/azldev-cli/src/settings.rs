//! Tool settings that are not part of the distro: worker threads, the cache
//! directory, offline mode, colour, and the limits on downloads and archive
//! overlays. Layered, later wins: built-in defaults →
//! `$XDG_CONFIG_HOME/azldev/config.toml` (or `~/.config/azldev/config.toml`)
//! → `AZLDEV_*` environment variables (`AZLDEV_CACHE_DIR` for `cache-dir`)
//! → command-line flags.
//!
//! Problems are diagnostics like configuration errors: the file, line and
//! column of the value (or the environment variable and its value), with a
//! did-you-mean for a misspelt key.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use azldev_config::{Diagnostic, Loc, SourceMap};

use crate::cli::ColorChoice;

/// Effective tool settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Root of azldev's caches (git repositories go in `<dir>/git`).
    pub cache_dir: Option<PathBuf>,
    /// Never touch the network.
    pub offline: bool,
    /// `auto`, `always` or `never`.
    pub color: Option<String>,
    /// Download limits (`fetch-*`).
    pub fetch: FetchSettings,
    /// Archive overlay limits (`archive-*`).
    pub archive: azldev_overlay::ArchiveLimits,
    /// `koji-profile`: the Koji client profile of `build --executor koji`.
    pub koji_profile: Option<String>,
    /// `koji-target`: the Koji build target.
    pub koji_target: Option<String>,
}

/// `fetch-read-timeout` (seconds), `fetch-low-speed-limit` (bytes per
/// second), `fetch-low-speed-time` (seconds), `fetch-max-size` (bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchSettings(pub azldev_source::Limits);

/// Every key, with what its value must be.
const KEYS: [(&str, Kind); 12] = [
    ("jobs", Kind::Count),
    ("cache-dir", Kind::Path),
    ("offline", Kind::Bool),
    ("color", Kind::Color),
    ("fetch-read-timeout", Kind::Count),
    ("fetch-low-speed-limit", Kind::Size),
    ("fetch-low-speed-time", Kind::Count),
    ("fetch-max-size", Kind::Count),
    ("archive-max-member-size", Kind::Count),
    ("archive-max-total-size", Kind::Count),
    ("koji-profile", Kind::Name),
    ("koji-target", Kind::Name),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A positive integer.
    Count,
    /// A non-negative integer.
    Size,
    Path,
    Bool,
    Color,
    /// A non-empty string.
    Name,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Count => "a positive integer",
            Kind::Size => "a non-negative integer",
            Kind::Path => "a path (a string)",
            Kind::Bool => "true or false",
            Kind::Color => "\"auto\", \"always\" or \"never\"",
            Kind::Name => "a non-empty string",
        }
    }
}

/// A value as read, before it is checked against its key's kind.
enum Raw {
    Int(i64),
    Str(String),
    Bool(bool),
    Other,
}

/// Settings that could not be loaded: every problem, as diagnostics.
#[derive(Debug)]
pub struct SettingsError {
    pub diagnostics: Vec<Diagnostic>,
}

/// The user settings file.
pub fn user_file() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|d| d.join("azldev").join("config.toml"))
}

fn env_name(key: &str) -> String {
    format!("AZLDEV_{}", key.to_ascii_uppercase().replace('-', "_"))
}

impl Settings {
    /// Defaults → user file → environment. Command-line flags are applied by
    /// the commands on top.
    pub fn load() -> Result<Settings, SettingsError> {
        let mut s = Settings::default();
        let mut files = SourceMap::default();
        let mut diags = Vec::new();
        if let Some(path) = user_file()
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            let id = files.add(path.clone(), path.display().to_string(), Arc::from(text.as_str()));
            match toml::de::DeTable::parse(&text) {
                Err(e) => {
                    let span = e.span().unwrap_or(0..0);
                    diags.push(
                        Diagnostic::error("settings::syntax", format!("invalid TOML: {}", e.message())).at(
                            &files,
                            &Loc::new(id, span),
                            "here",
                        ),
                    );
                }
                Ok(doc) => {
                    // In the order of the file.
                    let mut entries: Vec<_> = doc.get_ref().iter().collect();
                    entries.sort_by_key(|(k, _)| k.span().start);
                    for (key, value) in entries {
                        let raw = match value.get_ref() {
                            toml::de::DeValue::Integer(i) => {
                                i.to_string().parse::<i64>().map_or(Raw::Other, Raw::Int)
                            }
                            toml::de::DeValue::String(v) => Raw::Str(v.to_string()),
                            toml::de::DeValue::Boolean(b) => Raw::Bool(*b),
                            _ => Raw::Other,
                        };
                        let key_loc = Loc::new(id, key.span());
                        let value_loc = Loc::new(id, value.span());
                        s.set(key.get_ref(), raw, &files, &key_loc, &value_loc, &mut diags);
                    }
                }
            }
        }
        for (key, kind) in KEYS {
            let name = env_name(key);
            let Some(value) = std::env::var_os(&name) else {
                continue;
            };
            let value = value.to_string_lossy().into_owned();
            // The variable is shown as `NAME=value`, with the value marked.
            let shown = format!("{name}={value}");
            let id = files.add(
                PathBuf::from(&name),
                format!("${name}"),
                Arc::from(shown.as_str()),
            );
            let loc = Loc::new(id, name.len() + 1..shown.len());
            let raw = match kind {
                Kind::Count | Kind::Size => value.trim().parse::<i64>().map_or(Raw::Str(value), Raw::Int),
                Kind::Bool => match value.trim() {
                    "true" | "1" | "yes" => Raw::Bool(true),
                    "false" | "0" | "no" | "" => Raw::Bool(false),
                    _ => Raw::Str(value),
                },
                Kind::Path | Kind::Color | Kind::Name => Raw::Str(value),
            };
            s.set(key, raw, &files, &loc, &loc, &mut diags);
        }
        if diags.is_empty() {
            Ok(s)
        } else {
            Err(SettingsError { diagnostics: diags })
        }
    }

    /// Apply one key's value, or say why it cannot be.
    fn set(
        &mut self,
        key: &str,
        raw: Raw,
        files: &SourceMap,
        key_loc: &Loc,
        value_loc: &Loc,
        diags: &mut Vec<Diagnostic>,
    ) {
        let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let mut d = Diagnostic::error("settings::unknown-key", format!("unknown setting `{key}`")).at(
                files,
                key_loc,
                "not a setting",
            );
            d = match azldev_config::suggest::closest(key, KEYS.iter().map(|(k, _)| *k)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "settings are {}",
                    KEYS.iter()
                        .map(|(k, _)| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
            diags.push(d);
            return;
        };
        let bad = |diags: &mut Vec<Diagnostic>| {
            diags.push(
                Diagnostic::error(
                    "settings::invalid-value",
                    format!("`{key}` must be {}", kind.expected()),
                )
                .at(files, value_loc, format!("expected {}", kind.expected())),
            );
        };
        let count = |raw: &Raw, min: i64| match raw {
            Raw::Int(i) if *i >= min => u64::try_from(*i).ok(),
            _ => None,
        };
        let ok = match (key, &raw) {
            ("jobs", r) => count(r, 1)
                .and_then(|n| usize::try_from(n).ok())
                .map(|n| self.jobs = Some(n))
                .is_some(),
            ("cache-dir", Raw::Str(p)) if !p.is_empty() => {
                self.cache_dir = Some(PathBuf::from(p));
                true
            }
            ("offline", Raw::Bool(b)) => {
                self.offline = *b;
                true
            }
            ("color", Raw::Str(c)) if matches!(c.as_str(), "auto" | "always" | "never") => {
                self.color = Some(c.clone());
                true
            }
            ("color", Raw::Str(c)) => {
                let mut d = Diagnostic::error(
                    "settings::invalid-value",
                    format!("`color` must be {}, not `{c}`", kind.expected()),
                )
                .at(files, value_loc, "not a colour choice");
                if let Some(s) = azldev_config::suggest::closest(c, ["auto", "always", "never"]) {
                    d = d.help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                return;
            }
            ("fetch-read-timeout", r) => count(r, 1)
                .map(|n| self.fetch.0.read_timeout = Duration::from_secs(n))
                .is_some(),
            ("fetch-low-speed-limit", r) => count(r, 0).map(|n| self.fetch.0.low_speed_limit = n).is_some(),
            ("fetch-low-speed-time", r) => count(r, 1)
                .map(|n| self.fetch.0.low_speed_time = Duration::from_secs(n))
                .is_some(),
            ("fetch-max-size", r) => count(r, 1).map(|n| self.fetch.0.max_size = n).is_some(),
            ("archive-max-member-size", r) => count(r, 1).map(|n| self.archive.max_member = n).is_some(),
            ("archive-max-total-size", r) => count(r, 1).map(|n| self.archive.max_total = n).is_some(),
            ("koji-profile", Raw::Str(p)) if !p.is_empty() => {
                self.koji_profile = Some(p.clone());
                true
            }
            ("koji-target", Raw::Str(t)) if !t.is_empty() => {
                self.koji_target = Some(t.clone());
                true
            }
            _ => false,
        };
        if !ok {
            bad(diags);
        }
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

    /// HTTPS downloads with the `fetch-*` limits.
    pub fn transport(&self) -> azldev_source::HttpTransport {
        azldev_source::HttpTransport::new(&self.fetch.0)
    }

    /// Where archive overlays find source archives and keep what they
    /// produce: the source cache (`sources fetch` fills it) with HTTPS.
    pub fn source_store(&self) -> azldev_render::SourceStore {
        azldev_render::SourceStore {
            cache: azldev_source::SourceCache::new(self.source_cache()),
            transport: Some(Arc::new(self.transport())),
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
    fn layering_and_diagnostics() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("XDG_CONFIG_HOME", jail.directory().display().to_string());
            jail.create_dir("azldev")?;
            jail.create_file(
                "azldev/config.toml",
                "jobs = 3\noffline = true\ncolor = \"never\"\nfetch-max-size = 1000\n",
            )?;
            let load = || Settings::load().map_err(|e| figment::Error::from(format!("{e:?}")));
            let s = load()?;
            assert_eq!(s.jobs, Some(3));
            assert!(s.offline);
            assert_eq!(s.fetch.0.max_size, 1000);
            assert_eq!(
                s.fetch.0.read_timeout,
                azldev_source::Limits::default().read_timeout
            );
            assert_eq!(s.color(ColorChoice::Auto), ColorChoice::Never);
            assert_eq!(s.color(ColorChoice::Always), ColorChoice::Always, "flags win");
            jail.set_env("AZLDEV_JOBS", "5");
            jail.set_env("AZLDEV_CACHE_DIR", "/tmp/c");
            jail.set_env("AZLDEV_ARCHIVE_MAX_MEMBER_SIZE", "77");
            let s = load()?;
            assert_eq!(s.jobs, Some(5), "environment beats the user file");
            assert_eq!(s.git_cache(), PathBuf::from("/tmp/c/git"));
            assert_eq!(s.archive.max_member, 77);
            // A misspelt key: where, and what was meant.
            jail.create_file(
                "azldev/config.toml",
                "offline = true\njobz = 3\ncolor = \"nevr\"\n",
            )?;
            let err = Settings::load().expect_err("unknown key");
            let msgs: Vec<String> = err.diagnostics.iter().map(Diagnostic::short).collect();
            assert_eq!(err.diagnostics.len(), 2, "{msgs:?}");
            assert_eq!(err.diagnostics[0].line_col(), Some((2, 1)), "{msgs:?}");
            assert!(msgs[0].contains("unknown setting `jobz`"), "{msgs:?}");
            assert_eq!(err.diagnostics[0].help.as_deref(), Some("did you mean `jobs`?"));
            assert_eq!(err.diagnostics[1].line_col(), Some((3, 9)), "{msgs:?}");
            assert_eq!(err.diagnostics[1].help.as_deref(), Some("did you mean `never`?"));
            // A bad environment value names the variable.
            jail.create_file("azldev/config.toml", "")?;
            jail.set_env("AZLDEV_JOBS", "many");
            let err = Settings::load().expect_err("bad value");
            let text = format!("{:?}", err.diagnostics[0]);
            assert!(text.contains("AZLDEV_JOBS"), "{text}");
            assert!(
                err.diagnostics[0]
                    .short()
                    .contains("`jobs` must be a positive integer")
            );
            Ok(())
        });
    }
}
