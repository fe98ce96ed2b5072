//! Applying one overlay to a component tree.

use azldev_config::raw::{Overlay, OverlayType};
use azldev_config::{Loc, ResolvedOverlay};
use azldev_spec::{EditError, Occurrence, SectionKind, SectionSel, Spec, TagSel};
use globset::{GlobBuilder, GlobMatcher};
use regex::bytes::{Regex, RegexBuilder};

use crate::tree::{ComponentTree, FileMode, PathError, TreeFile, normalize};

/// What went wrong with one overlay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error(transparent)]
    Spec(#[from] EditError),
    #[error("the overlay needs `{0}`")]
    MissingField(&'static str),
    #[error("unknown section `{0}`")]
    UnknownSection(String),
    #[error("invalid regular expression: {0}")]
    Regex(String),
    #[error("invalid glob `{pattern}`: {why}")]
    Glob { pattern: String, why: String },
    #[error("no file matches `{0}`")]
    NoFileMatch(String),
    #[error("no match for /{regex}/ in the files matching `{glob}`")]
    NoTextMatch { glob: String, regex: String },
    #[error("`{0}` already exists")]
    FileExists(String),
    #[error("`{0}` does not exist")]
    FileMissing(String),
    #[error("file overlays cannot edit the spec (`{0}`); use a spec overlay")]
    SpecFile(String),
    #[error("`{0}` is a symlink pointing outside the component")]
    SymlinkEscapes(String),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("`{0}` must be a file name, not a path")]
    NotAFileName(String),
    #[error("tag `{tag}` already exists (line {line}); use spec-set-tag or spec-update-tag to change it")]
    TagExists { tag: String, line: usize },
    #[error("cannot read `{path}`: {why}")]
    Input { path: String, why: String },
    #[error("the component has no spec file `{0}`")]
    NoSpec(String),
    #[error("`{0}` is not a file overlay")]
    NotAFileOverlay(String),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
}

/// Reads the input file an overlay names in `source` (for `file-add` and
/// `patch-add`). Supplied by the caller, so this crate does no I/O; the
/// implementation must refuse paths that escape the overlay's directory.
pub type InputReader<'a> = dyn Fn(&ResolvedOverlay) -> Result<Vec<u8>, OpError> + 'a;

/// Tags a package has at most once.
const SINGLETON_TAGS: &[&str] = &[
    "name",
    "version",
    "release",
    "epoch",
    "summary",
    "license",
    "sourcelicense",
    "url",
    "bugurl",
    "vcs",
    "buildsystem",
];

fn field<'a>(v: &'a Option<azldev_config::Sp<String>>, name: &'static str) -> Result<&'a str, OpError> {
    v.as_ref()
        .map(|s| s.value.as_str())
        .ok_or(OpError::MissingField(name))
}

fn opt(v: &Option<azldev_config::Sp<String>>) -> Option<&str> {
    v.as_ref().map(|s| s.value.as_str()).filter(|s| !s.is_empty())
}

/// Compile an overlay regex: RE2 syntax as azldev writes it, line-anchored
/// (`^`/`$` match at line boundaries, CRLF aware).
pub fn compile_regex(pattern: &str) -> Result<Regex, OpError> {
    RegexBuilder::new(&azldev_config::go_regex::translate(pattern))
        .multi_line(true)
        .crlf(true)
        .build()
        .map_err(|e| OpError::Regex(e.to_string()))
}

fn glob(pattern: &str) -> Result<GlobMatcher, OpError> {
    let p = pattern.trim_start_matches("./");
    GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| OpError::Glob {
            pattern: pattern.to_owned(),
            why: e.kind().to_string(),
        })
}

/// Where a section-scoped spec overlay applies.
struct SectionTarget {
    kind: SectionKind,
    package: Option<String>,
}

/// `section = "%files"`, optionally with header arguments
/// (`%files devel`, `%files -n foo`), combined with `package`.
fn section_target(section: &str, package: Option<&str>) -> Result<SectionTarget, OpError> {
    let s = section.trim();
    let (word, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    let kind = SectionKind::parse_name(word).ok_or_else(|| OpError::UnknownSection(section.to_owned()))?;
    let rest = rest.trim();
    let mut pkg = package.map(str::to_owned);
    if !rest.is_empty() {
        let args = azldev_spec::header::parse_args(kind, rest.as_bytes(), 0..rest.len());
        if let Some(n) = args.name {
            let name = rest[n.range].to_owned();
            match &pkg {
                Some(p) if *p != name => {
                    return Err(OpError::UnknownSection(format!(
                        "{section} (names package `{name}` but `package` is `{p}`)"
                    )));
                }
                _ => pkg = Some(name),
            }
        }
    }
    Ok(SectionTarget { kind, package: pkg })
}

fn spec_lines(lines: &[azldev_config::Sp<String>]) -> String {
    lines
        .iter()
        .map(|l| l.value.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Apply one overlay. On error the tree may be partly changed; the caller
/// works on a copy.
pub(crate) fn apply_one(
    tree: &mut ComponentTree,
    spec: &mut Spec,
    ro: &ResolvedOverlay,
    read_input: &InputReader<'_>,
) -> Result<(), OpError> {
    let o: &Overlay = &ro.overlay.value;
    let package = opt(&o.package);
    let lines = o.lines.as_ref().map(|l| spec_lines(&l.value));
    match o.kind.value {
        OverlayType::SpecAddTag => {
            let tag = field(&o.tag, "tag")?;
            let value = field(&o.tag_value, "value")?;
            let sel = TagSel {
                package,
                name: tag,
                value: None,
            };
            let existing = spec.find_tags(&sel)?;
            let singleton = SINGLETON_TAGS.contains(&tag.trim().to_ascii_lowercase().as_str());
            let clash = existing
                .iter()
                .find(|&&t| singleton || spec.tag_value(t).trim() == value.trim());
            if let Some(&t) = clash {
                return Err(OpError::TagExists {
                    tag: tag.to_owned(),
                    line: spec.lines()[spec.tags()[t].line].number(),
                });
            }
            spec.add_tag(package, tag, value)?;
        }
        OverlayType::SpecInsertTag => {
            spec.insert_tag(package, field(&o.tag, "tag")?, field(&o.tag_value, "value")?)?;
        }
        OverlayType::SpecSetTag => {
            let tag = field(&o.tag, "tag")?;
            let value = field(&o.tag_value, "value")?;
            let sel = TagSel {
                package,
                name: tag,
                value: None,
            };
            if spec.find_tags(&sel)?.is_empty() {
                spec.add_tag(package, tag, value)?;
            } else {
                spec.set_tag(&sel, value, Occurrence::One)?;
            }
        }
        OverlayType::SpecUpdateTag => {
            let sel = TagSel {
                package,
                name: field(&o.tag, "tag")?,
                value: None,
            };
            spec.set_tag(&sel, field(&o.tag_value, "value")?, Occurrence::One)?;
        }
        OverlayType::SpecRemoveTag => {
            let sel = TagSel {
                package,
                name: field(&o.tag, "tag")?,
                value: opt(&o.tag_value),
            };
            spec.remove_tags(&sel, Occurrence::All)?;
        }
        OverlayType::SpecPrependLines | OverlayType::SpecAppendLines => {
            let text = lines.ok_or(OpError::MissingField("lines"))?;
            let prepend = o.kind.value == OverlayType::SpecPrependLines;
            match opt(&o.section) {
                Some(section) => {
                    let t = section_target(section, package)?;
                    let sel = SectionSel {
                        kind: t.kind,
                        package: t.package.as_deref(),
                    };
                    if prepend {
                        spec.prepend_lines(&sel, &text, Occurrence::One)?;
                    } else {
                        spec.append_lines(&sel, &text, Occurrence::One)?;
                    }
                }
                None if prepend => spec.prepend_file(&text)?,
                None => spec.append_file(&text)?,
            }
        }
        OverlayType::SpecSearchReplace => {
            let re = compile_regex(field(&o.regex, "regex")?)?;
            let replacement = opt(&o.replacement).unwrap_or("");
            match (opt(&o.section), package) {
                (Some(section), _) => {
                    let t = section_target(section, package)?;
                    let sel = SectionSel {
                        kind: t.kind,
                        package: t.package.as_deref(),
                    };
                    let secs = spec.find_sections(&sel)?;
                    if secs.is_empty() {
                        return Err(EditError::NotFound {
                            what: format!("section {section}"),
                        }
                        .into());
                    }
                    spec.replace_regex_in(Some(&secs), &re, replacement)?;
                }
                (None, Some(p)) => {
                    let id = spec.find_package(Some(p))?;
                    let secs: Vec<usize> = (0..spec.sections().len())
                        .filter(|&s| spec.sections()[s].package == Some(id))
                        .collect();
                    spec.replace_regex_in(Some(&secs), &re, replacement)?;
                }
                (None, None) => {
                    spec.replace_regex_in(None, &re, replacement)?;
                }
            }
        }
        OverlayType::SpecRemoveSection => {
            let t = section_target(field(&o.section, "section")?, package)?;
            let sel = SectionSel {
                kind: t.kind,
                package: t.package.as_deref(),
            };
            spec.remove_section(&sel, Occurrence::One)?;
        }
        OverlayType::SpecRemoveSubpackage => {
            spec.remove_subpackage(field(&o.package, "package")?)?;
        }
        OverlayType::PatchAdd => {
            let source = field(&o.source, "source")?;
            let name = match opt(&o.file) {
                Some(f) => f.to_owned(),
                None => source.rsplit('/').next().unwrap_or(source).to_owned(),
            };
            let dest = normalize(&name)?;
            if dest.contains('/') {
                return Err(OpError::NotAFileName(name));
            }
            if tree.files.contains_key(&dest) {
                return Err(OpError::FileExists(dest));
            }
            let data = read_input(ro)?;
            spec.add_patch(&dest)?;
            tree.files.insert(dest, TreeFile::regular(data));
        }
        OverlayType::PatchRemove => {
            let pattern = field(&o.file, "file")?;
            let m = glob(pattern)?;
            let removed = spec.remove_patches(&|name: &str| m.is_match(name));
            match removed {
                Ok(_) => {}
                Err(EditError::NotFound { .. }) => {
                    return Err(EditError::NotFound {
                        what: format!("patch matching `{pattern}`"),
                    }
                    .into());
                }
                Err(e) => return Err(e.into()),
            }
            let spec_path = tree.spec_path();
            tree.files
                .retain(|p, _| *p == spec_path || !m.is_match(p.rsplit('/').next().unwrap_or(p)));
        }
        OverlayType::FilePrependLines
        | OverlayType::FileSearchReplace
        | OverlayType::FileAdd
        | OverlayType::FileRemove
        | OverlayType::FileRename => {
            if let Some(archive) = &o.archive {
                // Archive overlays are applied in batches by the caller.
                return Err(crate::archive::ArchiveError::new(
                    &archive.value,
                    crate::archive::ArchiveErrorKind::NotBatched,
                )
                .into());
            }
            apply_file_overlay(tree, ro, read_input)?;
        }
    }
    Ok(())
}

/// The files a file overlay edits: the component tree, or the members of
/// an archive in it (see `crate::archive`). Paths are normalised.
pub(crate) trait FileSet {
    /// Paths matching `m`, in a stable order. `contents`: the overlay edits
    /// the contents of what it matches (else it removes it). A match the
    /// overlays may not touch is an error.
    fn matching(&self, m: &GlobMatcher, contents: bool) -> Result<Vec<String>, OpError>;
    /// Contents of a matched path.
    fn contents(&self, path: &str) -> Option<&[u8]>;
    /// Replace the contents of an existing path.
    fn set_contents(&mut self, path: &str, data: Vec<u8>);
    fn contains(&self, path: &str) -> bool;
    /// Refuse a path file overlays may not create or rename (the spec).
    fn check_writable(&self, path: &str) -> Result<(), OpError>;
    /// Add a new regular file (the caller checked it does not exist).
    fn add(&mut self, path: String, data: Vec<u8>);
    fn remove(&mut self, path: &str);
    /// Move `from` to `to` (the caller checked `to` does not exist).
    fn rename(&mut self, from: &str, to: String) -> Result<(), OpError>;
}

impl FileSet for ComponentTree {
    fn matching(&self, m: &GlobMatcher, _contents: bool) -> Result<Vec<String>, OpError> {
        let spec = self.spec_path();
        let mut out = Vec::new();
        for (path, f) in &self.files {
            if !m.is_match(path) {
                continue;
            }
            if *path == spec {
                return Err(OpError::SpecFile(path.clone()));
            }
            if f.mode == FileMode::Symlink && self.symlink_escapes(path) {
                return Err(OpError::SymlinkEscapes(path.clone()));
            }
            out.push(path.clone());
        }
        Ok(out)
    }

    fn contents(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(|f| f.data.as_slice())
    }

    fn set_contents(&mut self, path: &str, data: Vec<u8>) {
        if let Some(f) = self.files.get_mut(path) {
            f.data = data;
        }
    }

    fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    fn check_writable(&self, path: &str) -> Result<(), OpError> {
        if path == self.spec_path() {
            return Err(OpError::SpecFile(path.to_owned()));
        }
        Ok(())
    }

    fn add(&mut self, path: String, data: Vec<u8>) {
        self.files.insert(path, TreeFile::regular(data));
    }

    fn remove(&mut self, path: &str) {
        self.files.remove(path);
    }

    fn rename(&mut self, from: &str, to: String) -> Result<(), OpError> {
        let f = self
            .files
            .remove(from)
            .ok_or_else(|| OpError::FileMissing(from.to_owned()))?;
        self.files.insert(to, f);
        Ok(())
    }
}

/// Paths matching a glob (with `**`); at least one.
fn matching_files(files: &dyn FileSet, pattern: &str, contents: bool) -> Result<Vec<String>, OpError> {
    let out = files.matching(&glob(pattern)?, contents)?;
    if out.is_empty() {
        return Err(OpError::NoFileMatch(pattern.to_owned()));
    }
    Ok(out)
}

/// Apply one file overlay (`file-*`) to `files`. On error `files` may be
/// partly changed; the caller works on a copy.
pub(crate) fn apply_file_overlay(
    files: &mut dyn FileSet,
    ro: &ResolvedOverlay,
    read_input: &InputReader<'_>,
) -> Result<(), OpError> {
    let o: &Overlay = &ro.overlay.value;
    match o.kind.value {
        OverlayType::FilePrependLines => {
            let text = o
                .lines
                .as_ref()
                .map(|l| spec_lines(&l.value))
                .ok_or(OpError::MissingField("lines"))?;
            for path in matching_files(files, field(&o.file, "file")?, true)? {
                let Some(data) = files.contents(&path) else {
                    continue;
                };
                let term: &[u8] = if data.windows(2).any(|w| w == b"\r\n") {
                    b"\r\n"
                } else {
                    b"\n"
                };
                let mut out = Vec::with_capacity(data.len() + text.len() + 2);
                for line in text.split('\n') {
                    out.extend_from_slice(line.as_bytes());
                    out.extend_from_slice(term);
                }
                out.extend_from_slice(data);
                files.set_contents(&path, out);
            }
        }
        OverlayType::FileSearchReplace => {
            let pattern = field(&o.file, "file")?;
            let regex = field(&o.regex, "regex")?;
            let re = compile_regex(regex)?;
            let replacement = opt(&o.replacement).unwrap_or("");
            let mut hits = 0;
            for path in matching_files(files, pattern, true)? {
                let Some(data) = files.contents(&path) else {
                    continue;
                };
                let n = re.find_iter(data).count();
                if n > 0 {
                    hits += n;
                    let new = re.replace_all(data, replacement.as_bytes()).into_owned();
                    files.set_contents(&path, new);
                }
            }
            if hits == 0 {
                return Err(OpError::NoTextMatch {
                    glob: pattern.to_owned(),
                    regex: regex.to_owned(),
                });
            }
        }
        OverlayType::FileAdd => {
            let dest = normalize(field(&o.file, "file")?)?;
            files.check_writable(&dest)?;
            if files.contains(&dest) {
                return Err(OpError::FileExists(dest));
            }
            let data = read_input(ro)?;
            files.add(dest, data);
        }
        OverlayType::FileRemove => {
            for path in matching_files(files, field(&o.file, "file")?, false)? {
                files.remove(&path);
            }
        }
        OverlayType::FileRename => {
            let from = normalize(field(&o.file, "file")?)?;
            let new_name = field(&o.replacement, "replacement")?;
            if new_name.contains('/') || new_name.is_empty() || new_name == "." || new_name == ".." {
                return Err(OpError::NotAFileName(new_name.to_owned()));
            }
            files.check_writable(&from)?;
            let to = match from.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/{new_name}"),
                None => new_name.to_owned(),
            };
            if files.contains(&to) {
                return Err(OpError::FileExists(to));
            }
            files.rename(&from, to)?;
        }
        other => return Err(OpError::NotAFileOverlay(other.to_string())),
    }
    Ok(())
}

/// Where in TOML an overlay was written.
pub(crate) fn overlay_loc(ro: &ResolvedOverlay) -> Loc {
    ro.overlay.loc.clone()
}
