//! What a failed overlay is blamed on: the key whose value is at fault, and
//! the nearest thing the spec has ("did you mean `tinyping-extras`?").

use azldev_config::raw::{Overlay, OverlayType};
use azldev_config::{Loc, suggest};
use azldev_spec::{EditError, SectionKind, Spec};

use crate::apply::OpError;

/// The key an error is about, by overlay type and error.
pub(crate) fn focus_key(o: &Overlay, error: &OpError) -> Option<&'static str> {
    use OverlayType as T;
    let kind = o.kind.value;
    let by_type = || -> Option<&'static str> {
        Some(match kind {
            T::SpecAddTag | T::SpecInsertTag | T::SpecSetTag | T::SpecUpdateTag | T::SpecRemoveTag => "tag",
            T::SpecPrependLines | T::SpecAppendLines | T::SpecRemoveSection => {
                if o.section.is_some() {
                    "section"
                } else {
                    "lines"
                }
            }
            T::SpecSearchReplace | T::FileSearchReplace => "regex",
            T::SpecRemoveSubpackage => "package",
            T::PatchAdd => "source",
            T::PatchRemove | T::FilePrependLines | T::FileAdd | T::FileRemove | T::FileRename => "file",
        })
    };
    let key =
        match error {
            OpError::MissingField(_) | OpError::NoSpec(_) | OpError::NotAFileOverlay(_) => return None,
            OpError::UnknownSection(_) => "section",
            OpError::Regex(_) | OpError::NoTextMatch { .. } => "regex",
            OpError::Glob { .. }
            | OpError::NoFileMatch(_)
            | OpError::FileMissing(_)
            | OpError::SpecFile(_)
            | OpError::SymlinkEscapes(_) => "file",
            OpError::FileExists(_) | OpError::Path(_) => {
                if o.file.is_some() {
                    "file"
                } else {
                    "source"
                }
            }
            OpError::NotAFileName(_) => {
                if kind == T::FileRename {
                    "replacement"
                } else {
                    "file"
                }
            }
            OpError::TagExists { .. } => "tag",
            OpError::Input { .. } => "source",
            OpError::Archive(_) => "archive",
            OpError::Spec(e) => match e {
                EditError::NoSuchPackage { .. } | EditError::AmbiguousPackage { .. } => {
                    if o.package.is_some() { "package" } else { "section" }
                }
                EditError::WouldBreak(_) | EditError::Invalid { .. } | EditError::NoAnchor(_) => match kind {
                    T::SpecAddTag | T::SpecInsertTag | T::SpecSetTag | T::SpecUpdateTag => "value",
                    T::SpecSearchReplace => "replacement",
                    _ => by_type()?,
                },
                EditError::NotFound { .. } | EditError::Ambiguous { .. } => by_type()?,
            },
        };
    key_loc(o, key).is_some().then_some(key)
}

/// Where the value of `key` is written.
pub(crate) fn key_loc(o: &Overlay, key: &str) -> Option<Loc> {
    let s = match key {
        "file" => &o.file,
        "archive" => &o.archive,
        "section" => &o.section,
        "package" => &o.package,
        "tag" => &o.tag,
        "value" => &o.tag_value,
        "regex" => &o.regex,
        "replacement" => &o.replacement,
        "source" => &o.source,
        "lines" => return o.lines.as_ref().map(|l| l.loc.clone()),
        _ => return None,
    };
    s.as_ref().map(|v| v.loc.clone())
}

/// "did you mean `x`?", or what there is to choose from when nothing is close.
fn did_you_mean(input: &str, candidates: &[String], what: &str) -> Option<String> {
    if let Some(c) = suggest::closest(input, candidates.iter().map(String::as_str)) {
        return Some(format!("did you mean `{c}`?"));
    }
    if candidates.is_empty() || candidates.len() > 20 {
        return None;
    }
    let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
    Some(format!("{what}: {}", list.join(", ")))
}

/// Names a package can be selected by: full names and `%package` suffixes.
fn package_names(spec: &Spec) -> Vec<String> {
    let main = spec
        .packages()
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    for p in spec.packages().iter().skip(1) {
        out.push(p.name.clone());
        if let Some(suffix) = p.name.strip_prefix(&format!("{main}-")) {
            out.push(suffix.to_owned());
        }
    }
    out
}

/// `%files`, `%check`… as the spec writes them (each once, in file order).
fn spec_sections(spec: &Spec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in spec.sections() {
        if s.kind == SectionKind::Preamble {
            continue;
        }
        let name = format!("%{}", s.kind.keyword());
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Tag names of the spec (each once, as written, in file order).
fn spec_tags(spec: &Spec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in 0..spec.tags().len() {
        let name = spec.tag_name(t).into_owned();
        if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    out
}

/// The section word of a `section` value (`%files devel` → `%files`).
fn section_word(section: &str) -> &str {
    let s = section.trim();
    s.split_once(char::is_whitespace).map_or(s, |(w, _)| w)
}

/// A suggestion for the failure, from the spec's own packages, sections
/// and tags (or rpm's section keywords).
pub(crate) fn help(o: &Overlay, spec: &Spec, error: &OpError) -> Option<String> {
    use OverlayType as T;
    match error {
        OpError::Spec(EditError::NoSuchPackage { name, .. }) => {
            did_you_mean(name, &package_names(spec), "packages of this spec")
        }
        OpError::UnknownSection(_) => {
            let written = o.section.as_ref().map(|s| section_word(&s.value).to_owned())?;
            let bare = written.trim_start_matches('%');
            let keywords: Vec<String> = SectionKind::keywords().map(|k| format!("%{k}")).collect();
            let present = spec_sections(spec);
            // Prefer what the spec has; rpm's vocabulary otherwise.
            suggest::closest(&format!("%{bare}"), present.iter().map(String::as_str))
                .or_else(|| suggest::closest(&format!("%{bare}"), keywords.iter().map(String::as_str)))
                .map(|c| format!("did you mean `{c}`?"))
        }
        OpError::Spec(EditError::NotFound { .. }) => match o.kind.value {
            T::SpecUpdateTag | T::SpecRemoveTag | T::SpecSetTag | T::SpecAddTag | T::SpecInsertTag => {
                let tag = o.tag.as_ref()?;
                did_you_mean(tag.value.trim(), &spec_tags(spec), "tags of this spec")
            }
            T::SpecPrependLines | T::SpecAppendLines | T::SpecRemoveSection | T::SpecSearchReplace => {
                let section = o.section.as_ref()?;
                let word = section_word(&section.value);
                let present = spec_sections(spec);
                let word = format!("%{}", word.trim_start_matches('%'));
                did_you_mean(&word, &present, "sections of this spec")
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_word_drops_arguments() {
        assert_eq!(section_word(" %files -n foo"), "%files");
        assert_eq!(section_word("%check"), "%check");
    }

    #[test]
    fn candidates_are_listed_when_nothing_is_close() {
        let c = vec!["alpha".to_owned(), "beta".to_owned()];
        assert_eq!(
            did_you_mean("zzz", &c, "packages").as_deref(),
            Some("packages: `alpha`, `beta`")
        );
        assert_eq!(
            did_you_mean("alpah", &c, "packages").as_deref(),
            Some("did you mean `alpha`?")
        );
    }
}
