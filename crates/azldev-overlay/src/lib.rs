//! `azldev-overlay`: apply a component's overlays and build configuration to
//! an in-memory component tree (the spec plus its sidecar files).
//!
//! Overlays apply in declared order through `azldev-spec`'s edits, which keep
//! upstream formatting and refuse missing or ambiguous targets. A failing
//! overlay fails the component, and the tree is left exactly as it was; the
//! later overlays are still tried (each on the tree without the failed
//! ones), so one error reports every failing overlay: its place in TOML, the
//! value of the key at fault, what it expected and the nearest candidate
//! (see `explain`). This crate does no I/O: files an overlay reads (`source`) come
//! through a caller-supplied reader.
//!
//! File overlays with `archive` edit the members of an archive in the tree
//! and repack it deterministically; see [`archive`].

mod apply;
pub mod archive;
pub mod buildconf;
mod explain;
pub mod tree;

use azldev_config::{Loc, ResolvedComponent, ResolvedOverlay};
use azldev_spec::Spec;

pub use apply::{InputReader, OpError, compile_regex};
pub use archive::{ArchiveError, ArchiveErrorKind, ArchiveLimits, archive_limits, set_archive_limits};
pub use buildconf::{BuildSettings, SPEC_HEADER};
pub use tree::{ComponentTree, FileMode, PathError, TreeFile, normalize};

/// A failed overlay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("overlay {number} ({kind}){}: {error}{}", description.as_deref().map(|d| format!(" \"{d}\"")).unwrap_or_default(), more_suffix(more))]
pub struct OverlayFailure {
    /// Zero-based position in the component's overlay list.
    pub index: usize,
    /// One-based position among the overlays written in the same list of
    /// the same file (`[[overlays]]` of an overlay file, or one
    /// component's or default's `overlays`), as a reader counts them.
    pub number: usize,
    /// The overlay type as written (`spec-update-tag`).
    pub kind: String,
    pub description: Option<String>,
    /// Where the overlay is written in TOML.
    pub loc: Loc,
    pub error: OpError,
    /// Spec lines involved (the matches of an ambiguous target).
    pub spec_lines: Vec<usize>,
    /// The value of the key the failure is about (`package = "extra"`,
    /// `section`, `tag`, `regex`, …); the overlay's table when no key is
    /// to blame.
    pub focus: Loc,
    /// The key `focus` points at, when it is a key.
    pub focus_key: Option<&'static str>,
    /// "did you mean …" or the list of candidates, when there is one.
    pub help: Option<String>,
    /// Later overlays of the same component that failed as well (each
    /// applied to the tree without the failed ones).
    pub more: Vec<OverlayFailure>,
}

fn more_suffix(more: &[OverlayFailure]) -> String {
    match more.len() {
        0 => String::new(),
        1 => " (and 1 more failing overlay)".to_owned(),
        n => format!(" (and {n} more failing overlays)"),
    }
}

impl OverlayFailure {
    /// This failure followed by the others of the same component.
    pub fn all(&self) -> impl Iterator<Item = &OverlayFailure> {
        std::iter::once(self).chain(self.more.iter())
    }
}

/// Why a component could not be processed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Overlay(#[from] Box<OverlayFailure>),
    #[error("the component has no spec file `{0}`")]
    NoSpec(String),
    #[error("build configuration: {0}")]
    BuildConfig(azldev_spec::EditError),
}

/// Apply `overlays` in order to `tree`. On failure `tree` is unchanged.
///
/// Consecutive overlays with the same `archive` are applied to that archive
/// as one batch; after all overlays, each edited archive's digest must match
/// its `source-files` entry, and is written to the `sources` file.
pub fn apply_overlays(
    tree: &mut ComponentTree,
    overlays: &[ResolvedOverlay],
    read_input: &InputReader<'_>,
) -> Result<(), Error> {
    apply_overlays_with(tree, overlays, read_input, None)
}

/// [`apply_overlays`], with section-generating macros known from the
/// project's macro files besides rpm's and Fedora's common ones (see
/// [`azldev_spec::SectionMacros`]): a line calling one ends the section
/// before it, so no edit removes or swallows it.
pub fn apply_overlays_with(
    tree: &mut ComponentTree,
    overlays: &[ResolvedOverlay],
    read_input: &InputReader<'_>,
    section_macros: Option<&std::sync::Arc<azldev_spec::SectionMacros>>,
) -> Result<(), Error> {
    let spec_path = tree.spec_path();
    if !tree.files.contains_key(&spec_path) {
        return Err(Error::NoSpec(spec_path));
    }
    if overlays.is_empty() {
        return Ok(());
    }
    let mut work = tree.clone();
    let bytes = work
        .files
        .get(&spec_path)
        .map(|f| f.data.clone())
        .ok_or_else(|| Error::NoSpec(spec_path.clone()))?;
    let mut spec = Spec::parse(bytes).with_section_macros(section_macros.cloned());
    // Archives edited so far, with the last overlay that edited each.
    let mut edited: Vec<(&str, usize)> = Vec::new();
    // Every failure, in order. After the first one the result is an error
    // whatever follows, so each later overlay is tried on a copy and kept
    // only when it applies: every failing overlay is reported, and none is
    // reported because of an earlier one.
    let mut failures: Vec<OverlayFailure> = Vec::new();
    let mut index = 0;
    while let Some(ro) = overlays.get(index) {
        if let Some(archive) = archive::archive_of(ro) {
            // Consecutive overlays on the same archive: one decode and repack.
            let len = overlays[index..]
                .iter()
                .take_while(|o| archive::archive_of(o) == Some(archive))
                .count();
            let batch = &overlays[index..index + len];
            let before = (!failures.is_empty()).then(|| work.clone());
            if let Err((at, error)) = archive::apply_batch(&mut work, archive, batch, read_input) {
                failures.push(failure(overlays, index + at, &spec, error));
                if let Some(b) = before {
                    work = b;
                }
            } else {
                let last = index + len - 1;
                match edited.iter_mut().find(|(a, _)| *a == archive) {
                    Some(e) => e.1 = last,
                    None => edited.push((archive, last)),
                }
            }
            index += len;
            continue;
        }
        let before = (!failures.is_empty()).then(|| (work.clone(), spec.clone()));
        if let Err(error) = apply::apply_one(&mut work, &mut spec, ro, read_input) {
            failures.push(failure(overlays, index, &spec, error));
            if let Some((w, s)) = before {
                work = w;
                spec = s;
            }
        }
        index += 1;
    }
    if failures.is_empty() {
        // The digest is of the archive after all its overlays.
        for (archive, last) in edited {
            if let Err(error) = archive::verify_and_record(&mut work, archive, &overlays[last]) {
                failures.push(failure(overlays, last, &spec, error));
            }
        }
    }
    let mut failures = failures.into_iter();
    if let Some(mut first) = failures.next() {
        first.more = failures.collect();
        return Err(Error::Overlay(Box::new(first)));
    }
    if let Some(f) = work.files.get_mut(&spec_path) {
        f.data = spec.into_bytes();
    }
    *tree = work;
    Ok(())
}

fn failure(overlays: &[ResolvedOverlay], index: usize, spec: &Spec, error: OpError) -> OverlayFailure {
    let ro = &overlays[index];
    let spec_lines = match &error {
        OpError::Spec(azldev_spec::EditError::Ambiguous { lines, .. }) => lines.clone(),
        OpError::TagExists { line, .. } => vec![*line],
        _ => Vec::new(),
    };
    let o = &ro.overlay.value;
    let loc = apply::overlay_loc(ro);
    let number = overlays[..index]
        .iter()
        .filter(|p| p.overlay.loc.file == loc.file && p.layer == ro.layer)
        .count()
        + 1;
    let focus_key = explain::focus_key(o, &error);
    let focus = focus_key
        .and_then(|k| explain::key_loc(o, k))
        .unwrap_or_else(|| loc.clone());
    let help = explain::help(o, spec, &error);
    OverlayFailure {
        index,
        number,
        kind: o.kind.value.to_string(),
        description: o.description.as_ref().map(|d| d.value.clone()),
        loc,
        error,
        spec_lines,
        focus,
        focus_key,
        help,
        more: Vec::new(),
    }
}

/// Apply the build configuration (macros file, `%check` skipping) and the
/// header. On failure `tree` is unchanged.
pub fn apply_build_config(tree: &mut ComponentTree, settings: &BuildSettings) -> Result<(), Error> {
    // `buildconf::apply` changes the tree (the macros file) only once
    // nothing can fail any more, so no copy of the tree is needed.
    let spec_path = tree.spec_path();
    let bytes = tree
        .files
        .get(&spec_path)
        .map(|f| f.data.clone())
        .ok_or_else(|| Error::NoSpec(spec_path.clone()))?;
    let bytes = buildconf::apply(tree, bytes, settings).map_err(Error::BuildConfig)?;
    if let Some(f) = tree.files.get_mut(&spec_path) {
        f.data = bytes;
    }
    Ok(())
}

/// Overlays, then build configuration, for a resolved component.
pub fn process_component(
    tree: &mut ComponentTree,
    component: &ResolvedComponent,
    read_input: &InputReader<'_>,
) -> Result<(), Error> {
    process_component_with(tree, component, read_input, None)
}

/// [`process_component`] with section-generating macros known from macro
/// files (see [`apply_overlays_with`]).
pub fn process_component_with(
    tree: &mut ComponentTree,
    component: &ResolvedComponent,
    read_input: &InputReader<'_>,
    section_macros: Option<&std::sync::Arc<azldev_spec::SectionMacros>>,
) -> Result<(), Error> {
    let settings = BuildSettings::of(component);
    if component.overlays.is_empty() {
        // Both steps leave the tree untouched on failure; with no overlays
        // only the second can change it.
        return apply_build_config(tree, &settings);
    }
    let mut work = tree.clone();
    apply_overlays_with(&mut work, &component.overlays, read_input, section_macros)?;
    apply_build_config(&mut work, &settings)?;
    *tree = work;
    Ok(())
}
