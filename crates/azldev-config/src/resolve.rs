//! Inheritance: the effective configuration of each component, with provenance.
//!
//! Order, later wins: the default distro version's `default-component-config` →
//! the project `default-component-config` → each group the component belongs to
//! (alphabetical) → the component itself → overlays of its `overlay-files`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::fs::Fs;
use crate::load::{self, Expand};
use crate::merge::Merged;
use crate::raw::{ComponentConfig, OriginType, Overlay, OverlayFile, SourceFileRef};
use crate::source::SourceMap;
use crate::span::{Loc, Sp};
use crate::validate::{self, Ctx};

/// Where a part of a component's effective configuration came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Layer {
    /// `[distros.D.versions.V.default-component-config]` of the project's default distro.
    DistroDefault { distro: String, version: String },
    /// The project `default-component-config`.
    ProjectDefault,
    /// `default-component-config` of a component group.
    Group { name: String },
    /// The component's own table.
    Component,
    /// An overlay file matched by `overlay-files`.
    OverlayFile { path: PathBuf },
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::DistroDefault { distro, version } => write!(f, "distro {distro} {version} default"),
            Layer::ProjectDefault => f.write_str("project default"),
            Layer::Group { name } => write!(f, "group {name}"),
            Layer::Component => f.write_str("component"),
            Layer::OverlayFile { path } => write!(f, "overlay file {}", path.display()),
        }
    }
}

/// One overlay of a component, in application order.
#[derive(Debug, Clone)]
pub struct ResolvedOverlay {
    /// The overlay; its `loc` (and each field's) points into the defining file.
    /// Overlays from an overlay file carry that file's `[metadata]`.
    pub overlay: Sp<Overlay>,
    pub layer: Layer,
    /// `source`, resolved against the file that defined the overlay.
    pub source_path: Option<PathBuf>,
    /// For an overlay with `archive`: the component's effective `source-files`
    /// entry of that archive (its `hash` is the digest after the overlays).
    pub archive_source: Option<Sp<SourceFileRef>>,
}

/// A component after inheritance.
#[derive(Debug, Clone)]
pub struct ResolvedComponent {
    pub name: String,
    /// The component's table (`[components.NAME]`).
    pub defined_at: Loc,
    /// Groups it belongs to, alphabetical.
    pub groups: Vec<String>,
    /// The layers that contributed, in order.
    pub layers: Vec<Layer>,
    /// Effective configuration. Its `overlays` is empty: see [`Self::overlays`].
    pub config: ComponentConfig,
    /// Every overlay, inline ones first (in layer order), then overlay files.
    pub overlays: Vec<ResolvedOverlay>,
    /// Absolute path of a local spec.
    pub spec_path: Option<PathBuf>,
}

impl ResolvedComponent {
    /// Whether `%check` is skipped.
    #[must_use]
    pub fn check_skipped(&self) -> bool {
        self.config
            .build
            .as_ref()
            .and_then(|b| b.check.as_ref())
            .and_then(|c| c.skip.as_ref())
            .is_some_and(|s| s.value)
    }
}

/// A path as shown to people: relative to the project root when inside it.
fn shown(root_dir: &Path, p: &Path) -> String {
    p.strip_prefix(root_dir).unwrap_or(p).display().to_string()
}

fn resolve_path(files: &SourceMap, value: &Sp<String>) -> PathBuf {
    let p = Path::new(value.as_str());
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        files.dir_of(&value.loc).join(p)
    }
}

struct OverlayFileCache {
    loaded: HashMap<PathBuf, Option<Vec<Sp<Overlay>>>>,
}

pub(crate) fn resolve_all(
    fs: &dyn Fs,
    m: &Merged,
    files: &mut SourceMap,
    root_dir: &Path,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, ResolvedComponent> {
    let mut groups_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (gname, g) in &m.component_groups {
        for member in &g.components {
            groups_of.entry(member.as_str()).or_default().push(gname.as_str());
        }
    }

    let distro_default = m.project.default_distro.as_ref().and_then(|r| {
        let d = m.distros.get(r.name.as_str())?;
        let version = r
            .version
            .as_ref()
            .or(d.default_version.as_ref())
            .map(|v| v.value.clone())?;
        let cfg = d.versions.get(&version)?.default_component_config.as_ref()?;
        Some((
            Layer::DistroDefault {
                distro: r.name.value.clone(),
                version,
            },
            &cfg.value,
        ))
    });

    let mut cache = OverlayFileCache {
        loaded: HashMap::new(),
    };
    let mut out = BTreeMap::new();
    for (name, comp) in &m.components {
        let mut layers: Vec<(Layer, &ComponentConfig)> = Vec::new();
        if let Some((l, c)) = &distro_default {
            layers.push((l.clone(), c));
        }
        layers.push((Layer::ProjectDefault, &m.default_component_config));
        let mut groups: Vec<&str> = groups_of.get(name.as_str()).cloned().unwrap_or_default();
        groups.sort_unstable();
        groups.dedup();
        for g in &groups {
            if let Some(cfg) = m
                .component_groups
                .get(*g)
                .and_then(|g| g.default_component_config.as_ref())
            {
                layers.push((
                    Layer::Group {
                        name: (*g).to_owned(),
                    },
                    &cfg.value,
                ));
            }
        }
        layers.push((Layer::Component, &comp.value));

        let mut eff = ComponentConfig::default();
        let mut overlays = Vec::new();
        let mut applied = Vec::new();
        for (layer, cfg) in &layers {
            eff.inherit_from(cfg);
            for o in &cfg.overlays {
                overlays.push(ResolvedOverlay {
                    source_path: o.source.as_ref().map(|s| resolve_path(files, s)),
                    overlay: o.clone(),
                    layer: layer.clone(),
                    archive_source: None,
                });
            }
            applied.push(layer.clone());
        }
        eff.overlays.clear();

        if let Some(patterns) = eff.overlay_files.clone() {
            for (path, list) in expand_overlay_files(fs, name, &patterns, files, root_dir, &mut cache, diags)
            {
                applied.push(Layer::OverlayFile { path: path.clone() });
                for o in list {
                    overlays.push(ResolvedOverlay {
                        source_path: o.source.as_ref().map(|s| resolve_path(files, s)),
                        overlay: o,
                        layer: Layer::OverlayFile { path: path.clone() },
                        archive_source: None,
                    });
                }
            }
        }

        for o in &overlays {
            if let (Some(p), Some(s)) = (&o.source_path, &o.overlay.source)
                && !fs.exists(p)
            {
                diags.push(
                    Diagnostic::error(
                        "config::overlay-source-missing",
                        format!("overlay source `{}` does not exist", s.value),
                    )
                    .at(files, &s.loc, format!("looked for {}", shown(root_dir, p))),
                );
            }
        }

        let spec_path = eff
            .spec
            .as_ref()
            .and_then(|s| s.path.as_ref())
            .map(|p| resolve_path(files, p));
        let outside = |p: &Path| {
            let real = crate::paths::resolve(fs, p);
            let root = crate::paths::resolve(fs, root_dir);
            (!real.starts_with(&root)).then_some(real)
        };
        let confined = match (&spec_path, eff.spec.as_ref().and_then(|s| s.path.as_ref())) {
            (Some(p), Some(v)) => match outside(p) {
                Some(real) => {
                    diags.push(
                        Diagnostic::error(
                            "config::spec-outside",
                            format!("local spec `{}` is outside the project", v.value),
                        )
                        .at(files, &v.loc, format!("resolves to {}", real.display()))
                        .help(
                            "`spec.path` must name a spec inside the project (the directory of the root \
                             file); render publishes files of its directory",
                        ),
                    );
                    false
                }
                None => true,
            },
            _ => true,
        };
        let spec_path = spec_path.filter(|_| confined);
        if let (Some(p), Some(v)) = (&spec_path, eff.spec.as_ref().and_then(|s| s.path.as_ref()))
            && !fs.is_file(p)
        {
            diags.push(
                Diagnostic::error(
                    "config::spec-missing",
                    format!("local spec `{}` does not exist", v.value),
                )
                .at(files, &v.loc, format!("looked for {}", shown(root_dir, p))),
            );
        }

        check_unique_source_files(&eff.source_files, files, diags);
        attach_archive_sources(name, &mut overlays, &eff.source_files, files, diags);

        out.insert(
            name.clone(),
            ResolvedComponent {
                name: name.clone(),
                defined_at: comp.loc.clone(),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                layers: applied,
                config: eff,
                overlays,
                spec_path,
            },
        );
    }
    out
}

fn check_unique_source_files(list: &[Sp<SourceFileRef>], files: &SourceMap, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, &Loc> = HashMap::new();
    for sf in list {
        if let Some(first) = seen.get(sf.filename.as_str()) {
            diags.push(
                Diagnostic::error(
                    "config::duplicate-source-file",
                    format!("source file `{}` is listed twice", sf.filename.value),
                )
                .at(files, &sf.filename.loc, "listed again here")
                .also(files, first, "first listed here")
                .help("each `source-files` filename must be unique within a component"),
            );
        } else {
            seen.insert(sf.filename.as_str(), &sf.filename.loc);
        }
    }
}

/// Give every archive overlay its archive's `source-files` entry, which must
/// exist and say `origin = { type = "overlay" }` (the entry's own rules, such
/// as `hash` and `replace-upstream`, are checked where it is written).
fn attach_archive_sources(
    component: &str,
    overlays: &mut [ResolvedOverlay],
    source_files: &[Sp<SourceFileRef>],
    files: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) {
    for o in overlays.iter_mut() {
        let Some(archive) = &o.overlay.archive else {
            continue;
        };
        // A misplaced or malformed `archive` is reported where it is written.
        if !o.overlay.kind.value.is_file_overlay()
            || !validate::is_file_name(archive)
            || !validate::is_archive_name(archive)
        {
            continue;
        }
        let Some(sf) = source_files
            .iter()
            .rev()
            .find(|sf| sf.filename.value == archive.value)
        else {
            diags.push(
                Diagnostic::error(
                    "config::overlay-archive",
                    format!("archive `{}` has no `source-files` entry", archive.value),
                )
                .at(files, &archive.loc, format!("component `{component}` lists no such source file"))
                .help(format!(
                    "add a `[[components.{component}.source-files]]` entry with `filename = \"{}\"`, `origin = {{ type = \"overlay\" }}`, `replace-upstream = true`, a `replace-reason`, `hash` and `hash-type`",
                    archive.value
                )),
            );
            continue;
        };
        let is_overlay_origin = sf
            .origin
            .as_ref()
            .is_some_and(|origin| origin.kind.value == OriginType::Overlay);
        if !is_overlay_origin {
            diags.push(
                Diagnostic::error(
                    "config::overlay-archive",
                    format!(
                        "archive `{}` is edited by overlays, so its `source-files` entry needs `origin = {{ type = \"overlay\" }}`",
                        archive.value
                    ),
                )
                .at(files, &archive.loc, "edited here")
                .also(files, &sf.filename.loc, "source file declared here"),
            );
        }
        o.archive_source = Some(sf.clone());
    }
}

/// Expand a component's `overlay-files` into (file, overlays) in application
/// order: patterns in the order written; within one pattern by file name, then
/// full path; a file matched twice counts once.
fn expand_overlay_files(
    fs: &dyn Fs,
    component: &str,
    patterns: &Sp<Vec<Sp<String>>>,
    files: &mut SourceMap,
    root_dir: &Path,
    cache: &mut OverlayFileCache,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(PathBuf, Vec<Sp<Overlay>>)> {
    let mut ordered: Vec<PathBuf> = Vec::new();
    for p in patterns.iter() {
        if p.trim().is_empty() {
            continue;
        }
        let pattern = p.replace("{component}", component);
        let base = files.dir_of(&p.loc);
        match load::expand_glob(fs, &base, &pattern) {
            Expand::Matches(mut matches) => {
                matches.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then_with(|| a.cmp(b)));
                for m in matches {
                    if !ordered.contains(&m) {
                        ordered.push(m);
                    }
                }
            }
            Expand::MissingLiteral(path) => diags.push(
                Diagnostic::error(
                    "config::overlay-file-missing",
                    format!("overlay file `{pattern}` does not exist"),
                )
                .at(files, &p.loc, format!("looked for {}", shown(root_dir, &path)))
                .help("a literal path must name an existing file; use a glob pattern to allow no match"),
            ),
            Expand::Invalid(msg) => diags.push(
                Diagnostic::error(
                    "config::overlay-files",
                    format!("invalid glob pattern `{pattern}`: {msg}"),
                )
                .at(files, &p.loc, "invalid pattern"),
            ),
        }
    }
    let mut out = Vec::new();
    for path in ordered {
        let entry = cache
            .loaded
            .entry(path.clone())
            .or_insert_with(|| load_overlay_file(fs, &path, files, root_dir, diags));
        if let Some(list) = entry {
            out.push((path, list.clone()));
        }
    }
    out
}

fn load_overlay_file(
    fs: &dyn Fs,
    path: &Path,
    files: &mut SourceMap,
    root_dir: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Sp<Overlay>>> {
    let (id, parsed) = load::read_and_parse::<OverlayFile>(
        fs,
        path,
        root_dir,
        files,
        crate::schema::overlay_file_schema(),
        diags,
    );
    let id = id?;
    let file = parsed?;
    let mut ok = true;
    let before = diags.len();
    {
        let mut ctx = Ctx { files, out: diags };
        validate::validate_metadata(&file.metadata, &mut ctx);
        if file.overlays.is_empty() {
            ctx.out.push(
                Diagnostic::error("config::overlay-file-empty", "overlay file declares no overlays")
                    .at(files, &file.metadata.loc, "only metadata here")
                    .help("add `[[overlays]]` tables (note the double brackets)"),
            );
        }
        for o in &file.overlays {
            if let Some(m) = &o.metadata {
                ctx.out.push(
                    Diagnostic::error(
                        "config::overlay-file-metadata",
                        "an overlay in an overlay file may not have its own `metadata`",
                    )
                    .at(files, &m.loc, "per-overlay metadata")
                    .help(
                        "declare `[metadata]` once at the top of the file; it applies to every overlay in it",
                    ),
                );
            }
            validate::validate_overlay(o, &mut ctx);
        }
    }
    if diags[before..].iter().any(Diagnostic::is_error) {
        ok = false;
    }
    let _ = id;
    ok.then(|| {
        file.overlays
            .into_iter()
            .map(|mut o| {
                o.value.metadata = Some(file.metadata.clone());
                o
            })
            .collect()
    })
}
