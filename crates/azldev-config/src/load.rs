//! Loading: find the root file, read it and its includes depth first, check and
//! deserialize each file, merge, validate and resolve.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::check::Checker;
use crate::diag::{Diagnostic, Diagnostics};
use crate::fs::{Fs, RealFs};
use crate::merge::{self, Merged};
use crate::raw::{ConfigFile, OverlayType};
use crate::resolve::{self, ResolvedComponent};
use crate::source::SourceMap;
use crate::span::{FileId, Loc, Sp, with_current_file};
use crate::validate::{self, Ctx};

/// Names of the root configuration file, in order of preference.
pub const ROOT_FILE_NAMES: [&str; 2] = ["distro.toml", "azldev.toml"];

/// Failures that stop a load before any diagnostics can be collected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no distro.toml or azldev.toml found in {} or any parent directory", start.display())]
    NoRoot { start: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl miette::Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(match self {
            Error::NoRoot { .. } => "config::no-root",
            Error::Io { .. } => "config::io",
        }))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            Error::NoRoot { .. } => Some(Box::new("run inside a distro repository, or pass -C DIR")),
            Error::Io { .. } => None,
        }
    }
}

/// Find the root file by walking up from `start`.
#[must_use]
pub fn find_root(start: &Path) -> Option<PathBuf> {
    find_root_with(&RealFs, start)
}

/// [`find_root`] in the files of `fs`.
#[must_use]
pub fn find_root_with(fs: &dyn Fs, start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        for name in ROOT_FILE_NAMES {
            let candidate = d.join(name);
            if fs.is_file(&candidate) {
                return Some(candidate);
            }
        }
        dir = d.parent();
    }
    None
}

/// A loaded project: the configuration (best effort when there are errors) and
/// every diagnostic found.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Diagnostics,
}

/// The loaded, merged and resolved configuration.
#[derive(Debug)]
pub struct Config {
    /// The root file (`distro.toml` or `azldev.toml`).
    pub root_file: PathBuf,
    /// Its directory; displayed paths are relative to it.
    pub root_dir: PathBuf,
    /// Every file read: configuration files in load order, then overlay files.
    pub files: SourceMap,
    /// Configuration files, in load order (a subset of `files`).
    pub config_files: Vec<FileId>,
    /// The project after merging all files.
    pub merged: Merged,
    /// Effective configuration of every component.
    pub components: BTreeMap<String, ResolvedComponent>,
    /// Absolute include patterns, to tell whether a new file would be loaded.
    pub(crate) include_patterns: Vec<String>,
}

impl Config {
    /// `path:line:column` of a location.
    #[must_use]
    pub fn describe(&self, loc: &Loc) -> String {
        self.files.describe(loc)
    }

    /// The file a component is defined in.
    #[must_use]
    pub fn component_file(&self, name: &str) -> Option<&Path> {
        let c = self.merged.components.get(name)?;
        self.files.get(c.loc.file).map(|f| f.path.as_path())
    }

    /// Number of overlays of each type over all components (inherited overlays
    /// counted once per component they apply to).
    #[must_use]
    pub fn overlay_counts(&self) -> BTreeMap<OverlayType, usize> {
        let mut counts = BTreeMap::new();
        for c in self.components.values() {
            for o in &c.overlays {
                *counts.entry(o.overlay.kind.value).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The configuration file that defines the most components: where
    /// `component add` puts a new one by default.
    #[must_use]
    pub fn default_component_file(&self) -> PathBuf {
        let mut counts: BTreeMap<FileId, usize> = BTreeMap::new();
        for c in self.merged.components.values() {
            *counts.entry(c.loc.file).or_insert(0) += 1;
        }
        let best = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(id, _)| *id);
        best.and_then(|id| self.files.get(id))
            .map_or_else(|| self.root_file.clone(), |f| f.path.clone())
    }

    /// Whether a file at `path` is, or would be, loaded as configuration.
    #[must_use]
    pub fn is_config_file(&self, path: &Path) -> bool {
        let loaded = self
            .config_files
            .iter()
            .filter_map(|id| self.files.get(*id))
            .any(|f| f.path == path);
        loaded
            || self
                .include_patterns
                .iter()
                .any(|p| glob::Pattern::new(p).is_ok_and(|pat| pat.matches_path_with(path, glob_options())))
    }
}

use crate::fs::glob_options;

/// Load a project from its root file.
///
/// # Errors
/// Only when the root file itself cannot be read; every other problem is a
/// diagnostic in [`Loaded::diagnostics`].
pub fn load(root_file: &Path) -> Result<Loaded, Error> {
    load_with(&RealFs, root_file)
}

/// [`load`], reading every file through `fs` (a git revision of the distro
/// repository, for instance). Paths in the result are the paths `fs` was
/// asked for.
///
/// # Errors
/// Only when the root file itself cannot be read.
pub fn load_with(fs: &dyn Fs, root_file: &Path) -> Result<Loaded, Error> {
    let root_file = fs.canonicalize(root_file).map_err(|source| Error::Io {
        path: root_file.to_path_buf(),
        source,
    })?;
    let root_dir = root_file
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let mut loader = Loader {
        fs,
        files: SourceMap::default(),
        diags: Vec::new(),
        stack: Vec::new(),
        seen: HashSet::new(),
        parsed: Vec::new(),
        config_files: Vec::new(),
        root_dir: root_dir.clone(),
        include_patterns: Vec::new(),
    };
    let text = fs.read_to_string(&root_file).map_err(|source| Error::Io {
        path: root_file.clone(),
        source,
    })?;
    loader.load_text(&root_file, text);

    let Loader {
        mut files,
        mut diags,
        parsed,
        config_files,
        include_patterns,
        ..
    } = loader;
    let merged = merge::merge_files(&parsed, &files, &mut diags);
    // When a file could not be read as configuration, references into it would
    // only produce follow-on errors ("not defined"); report those once it is fixed.
    if parsed.len() == config_files.len() {
        let mut ctx = Ctx {
            files: &files,
            out: &mut diags,
        };
        validate::validate_merged(&merged, &mut ctx);
    }
    let components = resolve::resolve_all(fs, &merged, &mut files, &root_dir, &mut diags);
    let inputs = config_files
        .iter()
        .filter_map(|id| files.get(*id))
        .map(|f| crate::paths::resolve(fs, &f.path))
        .chain(
            components
                .values()
                .filter_map(|c| c.spec_path.as_deref())
                .map(|p| crate::paths::resolve(fs, p)),
        )
        .collect();
    crate::paths::check_project_dirs(
        fs,
        &files,
        &root_dir,
        merged.project.rendered_specs_dir.as_ref(),
        merged.project.lock_dir.as_ref(),
        inputs,
        &mut diags,
    );
    crate::signing::check(fs, &files, &root_dir, merged.project.signing.as_ref(), &mut diags);

    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(diags);
    diagnostics.finish();
    Ok(Loaded {
        config: Config {
            root_file,
            root_dir,
            files,
            config_files,
            merged,
            components,
            include_patterns,
        },
        diagnostics,
    })
}

/// Find the root file from `start` upwards and load it.
///
/// # Errors
/// No root file, or it cannot be read.
pub fn load_from_dir(start: &Path) -> Result<Loaded, Error> {
    load_from_dir_with(&RealFs, start)
}

/// [`load_from_dir`], reading every file through `fs`.
///
/// # Errors
/// No root file, or it cannot be read.
pub fn load_from_dir_with(fs: &dyn Fs, start: &Path) -> Result<Loaded, Error> {
    let root = find_root_with(fs, start).ok_or_else(|| Error::NoRoot {
        start: start.to_path_buf(),
    })?;
    load_with(fs, &root)
}

struct Loader<'a> {
    fs: &'a dyn Fs,
    files: SourceMap,
    diags: Vec<Diagnostic>,
    /// Files being loaded (the include chain), for cycle detection.
    stack: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
    parsed: Vec<(FileId, ConfigFile)>,
    config_files: Vec<FileId>,
    root_dir: PathBuf,
    include_patterns: Vec<String>,
}

fn display_path(path: &Path, root_dir: &Path) -> String {
    path.strip_prefix(root_dir)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string())
}

/// Parse a loaded file as TOML, check it against `schema`, and deserialize it.
/// Diagnostics go to `diags`. Returns the file's `includes` (with locations,
/// whenever they could be read) and the value when everything succeeded.
fn parse_checked<T: DeserializeOwned>(
    id: FileId,
    files: &SourceMap,
    schema: &Json,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Sp<String>>, Option<T>) {
    let Some(text) = files.get(id).map(|f| Arc::clone(&f.text)) else {
        return (Vec::new(), None);
    };
    let (doc, errors) = toml::de::DeTable::parse_recoverable(&text);
    if let Some(first) = errors.first() {
        // Recovery after a syntax error produces cascades of follow-on errors;
        // the first one is the one to fix.
        let span = first.span().unwrap_or(0..0);
        diags.push(
            Diagnostic::error(
                "config::syntax",
                format!("invalid TOML: {}", first.message().trim()),
            )
            .at(files, &Loc::new(id, span), "here"),
        );
        return (Vec::new(), None);
    }
    let includes = includes_of(&doc, id);
    let mut checker = Checker::new(schema, files, id);
    checker.check_document(&doc);
    let problems = !checker.out.is_empty();
    diags.extend(checker.out);
    if problems {
        return (includes, None);
    }
    let value = with_current_file(id, || toml::from_str::<T>(&text));
    match value {
        Ok(v) => (includes, Some(v)),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            diags.push(
                Diagnostic::error("config::invalid", e.message().trim().to_owned()).at(
                    files,
                    &Loc::new(id, span),
                    "here",
                ),
            );
            (includes, None)
        }
    }
}

/// Read, parse, check and deserialize one file, adding it to `files`.
pub(crate) fn read_and_parse<T: DeserializeOwned>(
    fs: &dyn Fs,
    path: &Path,
    root_dir: &Path,
    files: &mut SourceMap,
    schema: &Json,
    diags: &mut Vec<Diagnostic>,
) -> (Option<FileId>, Option<T>) {
    let text = match fs.read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::error(
                "config::io",
                format!("cannot read {}: {e}", display_path(path, root_dir)),
            ));
            return (None, None);
        }
    };
    let id = files.add(path.to_path_buf(), display_path(path, root_dir), Arc::from(text));
    let (_, value) = parse_checked::<T>(id, files, schema, diags);
    (Some(id), value)
}

/// Result of expanding an include or overlay-files pattern.
pub(crate) enum Expand {
    /// Matching files (possibly none, for a glob), unsorted.
    Matches(Vec<PathBuf>),
    /// A literal path (no `*?[`) that does not exist.
    MissingLiteral(PathBuf),
    /// The pattern is not a valid glob.
    Invalid(String),
}

pub(crate) fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

pub(crate) use crate::fs::absolute_pattern;

pub(crate) fn expand_glob(fs: &dyn Fs, base: &Path, pattern: &str) -> Expand {
    if !is_glob(pattern) {
        let p = base.join(pattern);
        return if fs.is_file(&p) {
            Expand::Matches(vec![fs.canonicalize(&p).unwrap_or(p)])
        } else {
            Expand::MissingLiteral(p)
        };
    }
    match fs.glob(base, pattern) {
        Err(msg) => Expand::Invalid(msg),
        Ok(paths) => Expand::Matches(
            paths
                .into_iter()
                .filter(|p| fs.is_file(p))
                .map(|p| fs.canonicalize(&p).unwrap_or(p))
                .collect(),
        ),
    }
}

impl Loader<'_> {
    fn load_text(&mut self, path: &Path, text: String) {
        let id = self.files.add(
            path.to_path_buf(),
            display_path(path, &self.root_dir),
            Arc::from(text),
        );
        self.config_files.push(id);
        self.seen.insert(path.to_path_buf());
        self.stack.push(path.to_path_buf());

        let (includes, value) =
            parse_checked::<ConfigFile>(id, &self.files, crate::schema::config_schema(), &mut self.diags);
        if let Some(cfg) = &value {
            let mut ctx = Ctx {
                files: &self.files,
                out: &mut self.diags,
            };
            validate::validate_file(cfg, &mut ctx);
        }
        if let Some(cfg) = value {
            self.parsed.push((id, cfg));
        }
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        for inc in includes {
            self.include(id, &dir, &inc);
        }
        self.stack.pop();
    }

    fn include(&mut self, from: FileId, dir: &Path, inc: &Sp<String>) {
        let loc = inc.loc.clone();
        let pattern = inc.value.as_str();
        if pattern.trim().is_empty() {
            self.diags
                .push(Diagnostic::error("config::include", "empty include pattern").at(
                    &self.files,
                    &loc,
                    "empty",
                ));
            return;
        }
        self.include_patterns.push(absolute_pattern(dir, pattern));
        let mut matches = match expand_glob(self.fs, dir, pattern) {
            Expand::Matches(m) => m,
            Expand::MissingLiteral(p) => {
                self.diags.push(
                    Diagnostic::error(
                        "config::include-missing",
                        format!("included file `{pattern}` does not exist"),
                    )
                    .at(
                        &self.files,
                        &loc,
                        format!("looked for {}", display_path(&p, &self.root_dir)),
                    )
                    .help(
                        "a literal include must name an existing file; use a glob pattern to allow no match",
                    ),
                );
                return;
            }
            Expand::Invalid(msg) => {
                self.diags.push(
                    Diagnostic::error(
                        "config::include",
                        format!("invalid include pattern `{pattern}`: {msg}"),
                    )
                    .at(&self.files, &loc, "invalid pattern"),
                );
                return;
            }
        };
        matches.sort();
        let root = crate::paths::resolve(self.fs, &self.root_dir);
        for m in matches {
            let real = crate::paths::resolve(self.fs, &m);
            if !real.starts_with(&root) {
                // Never read (or echo in diagnostics) files outside the project.
                self.diags.push(
                    Diagnostic::error(
                        "config::include-outside",
                        format!(
                            "`{pattern}` includes {}, which is outside the project",
                            real.display()
                        ),
                    )
                    .at(&self.files, &loc, "outside the project")
                    .help("includes must name files inside the project (the directory of the root file)"),
                );
                continue;
            }
            if let Some(pos) = self.stack.iter().position(|p| *p == m) {
                let chain = self.stack[pos..]
                    .iter()
                    .chain(std::iter::once(&m))
                    .map(|p| display_path(p, &self.root_dir))
                    .collect::<Vec<_>>()
                    .join(" → ");
                self.diags.push(
                    Diagnostic::error("config::include-cycle", format!("include cycle: {chain}"))
                        .at(
                            &self.files,
                            &loc,
                            format!(
                                "includes {}, which is already being loaded",
                                display_path(&m, &self.root_dir)
                            ),
                        )
                        .help("remove one of the includes that form the cycle"),
                );
                continue;
            }
            if self.seen.contains(&m) {
                // Included twice (e.g. by two files): loaded once, the first time.
                continue;
            }
            match self.fs.read_to_string(&m) {
                Ok(text) => self.load_text(&m, text),
                Err(e) => self.diags.push(
                    Diagnostic::error(
                        "config::io",
                        format!(
                            "cannot read included file {}: {e}",
                            display_path(&m, &self.root_dir)
                        ),
                    )
                    .at(&self.files, &loc, "included here"),
                ),
            }
        }
        let _ = from;
    }
}

/// The `includes` strings of a document, with their locations.
fn includes_of(doc: &toml::Spanned<toml::de::DeTable<'_>>, id: FileId) -> Vec<Sp<String>> {
    let mut out = Vec::new();
    let Some(v) = doc.get_ref().get("includes") else {
        return out;
    };
    if let toml::de::DeValue::Array(items) = v.get_ref() {
        for item in items {
            if let toml::de::DeValue::String(s) = item.get_ref() {
                out.push(Sp::new(s.to_string(), Loc::new(id, item.span())));
            }
        }
    }
    out
}
