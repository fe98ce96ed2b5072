//! Structured edits. Every edit computes byte splices that touch only the
//! lines it changes, applies them, parses the result again and refuses (with
//! the spec unchanged) if the result has a structural error the original did
//! not have. Targets that are missing or ambiguous are typed errors, never a
//! silent wrong edit.

use std::collections::HashMap;
use std::ops::Range;

use regex::bytes::Regex;

use crate::kinds::{SectionKind, is_known_tag};
use crate::prep::PatchForm;
use crate::tree::{LineId, LineKind, PackageId, SectionId, SourceKind, SourceOrigin, Spec, TagFamily, TagId};

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("no package `{name}` in this spec (packages: {})", known.join(", "))]
    NoSuchPackage { name: String, known: Vec<String> },
    #[error("`{name}` could mean either of {}", candidates.join(" or "))]
    AmbiguousPackage { name: String, candidates: Vec<String> },
    #[error("no {what} found")]
    NotFound { what: String },
    #[error("{what} is ambiguous: it occurs on lines {}", join_lines(lines))]
    Ambiguous { what: String, lines: Vec<usize> },
    #[error("invalid {what}: {why}")]
    Invalid { what: String, why: String },
    #[error("refusing the edit: {0}")]
    WouldBreak(String),
    #[error("no place to put {0}")]
    NoAnchor(String),
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which matches of a target an edit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Occurrence {
    /// Exactly one match; several is an [`EditError::Ambiguous`].
    #[default]
    One,
    /// Every match (at least one).
    All,
    /// The n-th match (zero-based) in file order.
    Nth(usize),
}

/// Selects tags of one package.
#[derive(Debug, Clone, Copy, Default)]
pub struct TagSel<'a> {
    /// Sub-package suffix or full name; `None` for the main package.
    pub package: Option<&'a str>,
    /// Tag name, case-insensitive, optionally with a qualifier:
    /// `Requires(post)`, `Source1`, `release`.
    pub name: &'a str,
    /// Only tags whose value is exactly this (surrounding space ignored).
    pub value: Option<&'a str>,
}

/// Selects sections.
#[derive(Debug, Clone, Copy)]
pub struct SectionSel<'a> {
    pub kind: SectionKind,
    /// For package-scoped sections: suffix or full name; `None` for the main
    /// package. Must be `None` for build sections.
    pub package: Option<&'a str>,
}

#[derive(Debug)]
struct Splice {
    range: Range<usize>,
    text: Vec<u8>,
}

/// `Requires(post)` → (`requires`, Some(`post`), None); `Source3` →
/// (`source`, None, Some(3)).
fn split_tag_name(name: &str) -> Result<(String, Option<String>, Option<u32>), EditError> {
    let name = name.trim();
    let (base, qual) = match name.find('(') {
        Some(p) if name.ends_with(')') => (&name[..p], Some(name[p + 1..name.len() - 1].trim().to_owned())),
        Some(_) => {
            return Err(EditError::Invalid {
                what: format!("tag name `{name}`"),
                why: "unbalanced parenthesis".into(),
            });
        }
        None => (name, None),
    };
    let base = base.trim();
    if base.is_empty() || !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(EditError::Invalid {
            what: format!("tag name `{name}`"),
            why: "a tag name is letters, digits and `_`".into(),
        });
    }
    let lower = base.to_ascii_lowercase();
    for prefix in ["source", "patch"] {
        if let Some(rest) = lower.strip_prefix(prefix)
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            let n = rest.parse().map_err(|_| EditError::Invalid {
                what: format!("tag name `{name}`"),
                why: "number too large".into(),
            })?;
            return Ok((prefix.to_owned(), qual, Some(n)));
        }
    }
    Ok((lower, qual, None))
}

/// Display column after `s`, with tab stops every 8.
fn visual_col(s: &[u8]) -> usize {
    s.iter()
        .fold(0, |c, &b| if b == b'\t' { (c / 8 + 1) * 8 } else { c + 1 })
}

fn check_single_line(what: &str, value: &str) -> Result<(), EditError> {
    if value.contains(['\n', '\r']) {
        return Err(EditError::Invalid {
            what: what.to_owned(),
            why: "it must be a single line".into(),
        });
    }
    Ok(())
}

fn text_lines(text: &str) -> Vec<&str> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    t.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect()
}

impl Spec {
    // ----- machinery -------------------------------------------------------

    fn terminator(&self, lid: LineId) -> &[u8] {
        let l = &self.lines[lid];
        if l.end > l.content_end {
            &self.src[l.content_end..l.end]
        } else {
            self.default_terminator()
        }
    }

    fn default_terminator(&self) -> &'static [u8] {
        match self.lines.first() {
            Some(l) if self.src[l.content_end..l.end].starts_with(b"\r") => b"\r\n",
            _ => b"\n",
        }
    }

    /// Splice that inserts `new` lines after line `lid`.
    fn insert_after(&self, lid: LineId, new: &[Vec<u8>]) -> Splice {
        let l = &self.lines[lid];
        let term = self.terminator(lid).to_vec();
        let mut text = Vec::new();
        if l.end == l.content_end {
            // Last line without a terminator: give it one, keep the file
            // ending without one.
            for n in new {
                text.extend_from_slice(&term);
                text.extend_from_slice(n);
            }
        } else {
            for n in new {
                text.extend_from_slice(n);
                text.extend_from_slice(&term);
            }
        }
        Splice {
            range: l.end..l.end,
            text,
        }
    }

    /// Splice that inserts `new` lines before line `lid` (or at the end of an
    /// empty spec).
    fn insert_before(&self, lid: LineId, new: &[Vec<u8>]) -> Splice {
        let at = self.lines.get(lid).map_or(self.src.len(), |l| l.start);
        let term = if lid < self.lines.len() {
            self.terminator(lid).to_vec()
        } else {
            self.default_terminator().to_vec()
        };
        let mut text = Vec::new();
        for n in new {
            text.extend_from_slice(n);
            text.extend_from_slice(&term);
        }
        Splice { range: at..at, text }
    }

    /// A token with the blanks before it, for deleting it from a line.
    fn token_with_space(&self, token: Range<usize>) -> Range<usize> {
        let mut s = token.start;
        while s > 0 && matches!(self.src[s - 1], b' ' | b'\t') {
            s -= 1;
        }
        s..token.end
    }

    fn delete_lines(&self, lines: Range<LineId>) -> Splice {
        let start = self.lines[lines.start].start;
        let end = self.lines[lines.end - 1].end;
        Splice {
            range: start..end,
            text: Vec::new(),
        }
    }

    /// Apply splices, re-parse, and refuse if a structural error appeared.
    fn apply(&mut self, splices: Vec<Splice>) -> Result<(), EditError> {
        let new = Spec::parse(self.spliced(splices)?);
        self.accept(new)
    }

    /// The source with `splices` applied. A file that ended without a final
    /// newline still does (deleting its last line must not expose the
    /// previous line's terminator).
    fn spliced(&self, mut splices: Vec<Splice>) -> Result<Vec<u8>, EditError> {
        splices.sort_by_key(|s| (s.range.start, s.range.end));
        for w in splices.windows(2) {
            if w[0].range.end > w[1].range.start {
                return Err(EditError::WouldBreak("two changes overlap".into()));
            }
        }
        let mut out = Vec::with_capacity(self.src.len() + 256);
        let mut pos = 0;
        for s in &splices {
            out.extend_from_slice(&self.src[pos..s.range.start]);
            out.extend_from_slice(&s.text);
            pos = s.range.end;
        }
        out.extend_from_slice(&self.src[pos..]);
        if !self.src.is_empty() && !self.src.ends_with(b"\n") && out.ends_with(b"\n") {
            out.pop();
            if out.ends_with(b"\r") {
                out.pop();
            }
        }
        Ok(out)
    }

    /// Replace `self` with `new` unless `new` has a structural error `self`
    /// does not have.
    fn accept(&mut self, mut new: Spec) -> Result<(), EditError> {
        new.section_macros = self.section_macros.clone();
        let count = |spec: &Spec| {
            let mut m: HashMap<&'static str, usize> = HashMap::new();
            for d in spec.diagnostics.iter().filter(|d| d.is_error()) {
                *m.entry(d.code).or_default() += 1;
            }
            m
        };
        let (before, after) = (count(self), count(&new));
        if let Some(d) = new
            .diagnostics
            .iter()
            .find(|d| d.is_error() && after.get(d.code) > before.get(d.code).or(Some(&0)))
        {
            let (line, _) = new.line_col(d.span.start);
            return Err(EditError::WouldBreak(format!(
                "the result would have a new problem at line {line}: {}",
                d.message
            )));
        }
        *self = new;
        Ok(())
    }

    fn pick<T: Copy>(
        &self,
        found: Vec<T>,
        occ: Occurrence,
        what: &dyn Fn() -> String,
        line_of: &dyn Fn(T) -> LineId,
    ) -> Result<Vec<T>, EditError> {
        if found.is_empty() {
            return Err(EditError::NotFound { what: what() });
        }
        match occ {
            Occurrence::All => Ok(found),
            Occurrence::One if found.len() == 1 => Ok(found),
            Occurrence::One => Err(EditError::Ambiguous {
                what: what(),
                lines: found.iter().map(|&t| self.lines[line_of(t)].number()).collect(),
            }),
            Occurrence::Nth(n) => match found.get(n) {
                Some(&t) => Ok(vec![t]),
                None => Err(EditError::NotFound {
                    what: format!("occurrence {n} of {} (there are {})", what(), found.len()),
                }),
            },
        }
    }

    // ----- tags ------------------------------------------------------------

    /// Tags matching `sel`, in file order.
    pub fn find_tags(&self, sel: &TagSel<'_>) -> Result<Vec<TagId>, EditError> {
        let pkg = self.find_package(sel.package)?;
        let (key, qual, number) = split_tag_name(sel.name)?;
        let numbers: HashMap<TagId, u32> = self
            .sources
            .iter()
            .filter_map(|e| match e.origin {
                SourceOrigin::Tag(t) => Some((t, e.number)),
                SourceOrigin::List(_) => None,
            })
            .collect();
        Ok(self
            .package_tags(pkg)
            .filter(|&t| {
                let tag = &self.tags[t];
                tag.key == key
                    && match (&qual, &tag.qualifier) {
                        (None, None) => true,
                        (Some(q), Some(r)) => self.text(r.clone()).trim().eq_ignore_ascii_case(q),
                        _ => false,
                    }
                    && number.is_none_or(|n| numbers.get(&t) == Some(&n))
                    && sel.value.is_none_or(|v| self.text(tag.value.clone()) == v.trim())
            })
            .collect())
    }

    fn describe_tag(&self, sel: &TagSel<'_>) -> String {
        let mut s = format!("tag `{}`", sel.name);
        if let Some(v) = sel.value {
            s.push_str(&format!(" with value `{v}`"));
        }
        if let Some(p) = sel.package {
            s.push_str(&format!(" in package `{p}`"));
        }
        s
    }

    /// Replace the value of matching tags, keeping the tag's spelling and the
    /// separator before the value. Returns how many tags changed.
    pub fn set_tag(&mut self, sel: &TagSel<'_>, value: &str, occ: Occurrence) -> Result<usize, EditError> {
        check_single_line("tag value", value)?;
        let found = self.find_tags(sel)?;
        let picked = self.pick(found, occ, &|| self.describe_tag(sel), &|t| self.tags[t].line)?;
        let splices = picked
            .iter()
            .map(|&t| {
                let tag = &self.tags[t];
                // `Requires:` with nothing after the colon gets one space.
                let mut text = if tag.value.is_empty() && tag.value.start == tag.colon + 1 {
                    b" ".to_vec()
                } else {
                    Vec::new()
                };
                text.extend_from_slice(value.trim().as_bytes());
                Splice {
                    range: tag.value.clone(),
                    text,
                }
            })
            .collect();
        let n = picked.len();
        self.apply(splices)?;
        Ok(n)
    }

    /// Remove matching tag lines. Returns how many were removed.
    pub fn remove_tags(&mut self, sel: &TagSel<'_>, occ: Occurrence) -> Result<usize, EditError> {
        let found = self.find_tags(sel)?;
        let picked = self.pick(found, occ, &|| self.describe_tag(sel), &|t| self.tags[t].line)?;
        let splices = picked
            .iter()
            .map(|&t| self.delete_lines(self.tags[t].line..self.tags[t].line + 1))
            .collect();
        let n = picked.len();
        self.apply(splices)?;
        Ok(n)
    }

    /// Add a tag after the last tag of the package (outside any conditional
    /// that the package's declaration is not itself in).
    pub fn add_tag(&mut self, package: Option<&str>, name: &str, value: &str) -> Result<(), EditError> {
        self.insert_tag_impl(package, name, value, false)
    }

    /// Add a tag after the last tag of the same family (`Requires` and
    /// `Requires(post)` are one family, as are all `SourceN`), falling back to
    /// the last tag of the package; never inside a conditional it would
    /// otherwise land in.
    pub fn insert_tag(&mut self, package: Option<&str>, name: &str, value: &str) -> Result<(), EditError> {
        self.insert_tag_impl(package, name, value, true)
    }

    fn home_section(&self, pkg: PackageId) -> Result<SectionId, EditError> {
        if pkg == 0 {
            return Ok(0);
        }
        let decl = &self.packages[pkg].declared_by;
        match decl.as_slice() {
            [one] => Ok(*one),
            [] => Err(EditError::NoAnchor(format!(
                "a tag of `{}`: no %package declares it",
                self.packages[pkg].name
            ))),
            many => Err(EditError::Ambiguous {
                what: format!("the %package section of `{}`", self.packages[pkg].name),
                lines: many
                    .iter()
                    .filter_map(|&s| self.sections[s].header.map(|h| self.lines[h].number()))
                    .collect(),
            }),
        }
    }

    /// The line after which a tag of `family` (or any tag) goes in section
    /// `sid`, and the tag whose layout to copy.
    fn tag_anchor(
        &self,
        sid: SectionId,
        family: Option<&str>,
    ) -> Result<(Option<LineId>, Option<TagId>), EditError> {
        let sec = &self.sections[sid];
        let own = self.section_own_lines(sid);
        let in_sec: Vec<TagId> = (0..self.tags.len())
            .filter(|&t| self.tags[t].section == sid && own.contains(&self.tags[t].line))
            .collect();
        let fam: Vec<TagId> = match family {
            Some(f) => in_sec
                .iter()
                .copied()
                .filter(|&t| self.tags[t].key == f)
                .collect(),
            None => Vec::new(),
        };
        let candidates = if fam.is_empty() { &in_sec } else { &fam };
        let Some(&last) = candidates.last() else {
            // No tags: right after the header (or at the top of an empty
            // preamble).
            return Ok((sec.header, None));
        };
        let lid = self.tags[last].line;
        let ctx = self.lines[lid].ctx;
        match self.child_ctx_towards(ctx, sec.ctx) {
            None => Ok((Some(lid), Some(last))),
            Some(child) => {
                let cond = self.ctxs[child].cond;
                if let Some(e) = self.conds[cond].endif.filter(|e| own.contains(e)) {
                    return Ok((Some(e), Some(last)));
                }
                // The conditional runs past the section: use the last tag of
                // the family outside any conditional.
                candidates
                    .iter()
                    .rev()
                    .find(|&&t| self.lines[self.tags[t].line].ctx == sec.ctx)
                    .map(|&t| (Some(self.tags[t].line), Some(t)))
                    .ok_or_else(|| EditError::NoAnchor("the new tag outside a conditional".into()))
            }
        }
    }

    /// Format `Name:<sep>value` copying the anchor tag's separator style.
    fn format_tag(&self, anchor: Option<TagId>, name: &str, value: &str) -> Vec<u8> {
        let anchor = anchor.or_else(|| (!self.tags.is_empty()).then_some(0));
        let mut line = format!("{name}:").into_bytes();
        let sep: Vec<u8> = match anchor {
            Some(t) => {
                let tag = &self.tags[t];
                let sep = &self.src[tag.colon + 1..tag.value.start];
                if sep.contains(&b'\t') {
                    // Tab-aligned: reach the anchor's visual value column
                    // (tab stops every 8) with tabs.
                    let target = visual_col(&self.src[self.lines[tag.line].start..tag.value.start]);
                    let mut col = visual_col(&line);
                    let mut tabs = Vec::new();
                    while col < target || tabs.is_empty() {
                        tabs.push(b'\t');
                        col = (col / 8 + 1) * 8;
                    }
                    tabs
                } else if sep.len() <= 1 {
                    b" ".to_vec()
                } else {
                    let col = tag.value.start - self.lines[tag.line].start;
                    let pad = col.saturating_sub(line.len()).max(1);
                    vec![b' '; pad]
                }
            }
            None => b" ".to_vec(),
        };
        line.extend_from_slice(&sep);
        line.extend_from_slice(value.trim().as_bytes());
        line
    }

    fn insert_tag_impl(
        &mut self,
        package: Option<&str>,
        name: &str,
        value: &str,
        by_family: bool,
    ) -> Result<(), EditError> {
        check_single_line("tag value", value)?;
        let (key, _, _) = split_tag_name(name)?;
        if !is_known_tag(&key) {
            return Err(EditError::Invalid {
                what: format!("tag name `{}`", name.trim()),
                why: "rpm does not know this tag (\"Unknown tag\")".into(),
            });
        }
        let pkg = self.find_package(package)?;
        let sid = self.home_section(pkg)?;
        let (after, anchor) = self.tag_anchor(sid, by_family.then_some(key.as_str()))?;
        let line = self.format_tag(anchor, name.trim(), value);
        let splice = match after {
            Some(l) => self.insert_after(l, &[line]),
            None => self.insert_before(0, &[line]),
        };
        self.apply(vec![splice])
    }

    // ----- sections --------------------------------------------------------

    /// Sections matching `sel`, in file order.
    pub fn find_sections(&self, sel: &SectionSel<'_>) -> Result<Vec<SectionId>, EditError> {
        let pkg = if sel.kind.is_package_scoped() {
            Some(self.find_package(sel.package)?)
        } else if let Some(p) = sel.package {
            return Err(EditError::Invalid {
                what: format!("section %{}", sel.kind.keyword()),
                why: format!("it belongs to no package, but package `{p}` was given"),
            });
        } else {
            None
        };
        if sel.kind == SectionKind::Preamble {
            if pkg == Some(0) {
                return Ok(vec![0]);
            }
            return Err(EditError::Invalid {
                what: "section".into(),
                why: "a sub-package has no preamble; use %package".into(),
            });
        }
        Ok(self.sections_of(sel.kind, pkg))
    }

    fn describe_section(&self, sel: &SectionSel<'_>) -> String {
        match sel.package {
            Some(p) => format!("section %{} of package `{p}`", sel.kind.keyword()),
            None => format!("section %{}", sel.kind.keyword()),
        }
    }

    fn pick_sections(&self, sel: &SectionSel<'_>, occ: Occurrence) -> Result<Vec<SectionId>, EditError> {
        let found = self.find_sections(sel)?;
        self.pick(found, occ, &|| self.describe_section(sel), &|s| {
            self.sections[s].header.unwrap_or(0)
        })
    }

    /// Insert lines at the top of a section's body (right after its header).
    pub fn prepend_lines(
        &mut self,
        sel: &SectionSel<'_>,
        text: &str,
        occ: Occurrence,
    ) -> Result<(), EditError> {
        let new: Vec<Vec<u8>> = text_lines(text).iter().map(|l| l.as_bytes().to_vec()).collect();
        let splices = self
            .pick_sections(sel, occ)?
            .into_iter()
            .map(|s| match self.sections[s].header {
                Some(h) => self.insert_after(h, &new),
                None => self.insert_before(0, &new),
            })
            .collect();
        self.apply(splices)
    }

    /// Insert lines at the end of a section's own body: after its last
    /// non-blank line, and before any `%else`/`%endif` that belongs to an
    /// enclosing conditional.
    pub fn append_lines(
        &mut self,
        sel: &SectionSel<'_>,
        text: &str,
        occ: Occurrence,
    ) -> Result<(), EditError> {
        let new: Vec<Vec<u8>> = text_lines(text).iter().map(|l| l.as_bytes().to_vec()).collect();
        let splices = self
            .pick_sections(sel, occ)?
            .into_iter()
            .map(|s| {
                let end = self.section_content_end(s);
                if end == 0 {
                    self.insert_before(0, &new)
                } else {
                    self.insert_after(end - 1, &new)
                }
            })
            .collect();
        self.apply(splices)
    }

    /// Splice deleting a section's own lines and the comment introducing it.
    fn delete_section(&self, s: SectionId) -> Splice {
        let own = self.section_own_lines(s);
        self.delete_lines(self.section_leading_comments(s).start.min(own.start)..own.end)
    }

    /// Remove a section: its header and own lines (see
    /// [`Spec::section_own_lines`]) and the comment introducing it (see
    /// [`Spec::section_leading_comments`]). `%package` sections are refused:
    /// remove the whole sub-package instead.
    pub fn remove_section(&mut self, sel: &SectionSel<'_>, occ: Occurrence) -> Result<usize, EditError> {
        if sel.kind == SectionKind::Package {
            return Err(EditError::Invalid {
                what: "section %package".into(),
                why: "removing only the declaration would orphan the package's other sections; remove the sub-package"
                    .into(),
            });
        }
        if sel.kind == SectionKind::Preamble {
            return Err(EditError::Invalid {
                what: "section".into(),
                why: "the preamble cannot be removed".into(),
            });
        }
        let picked = self.pick_sections(sel, occ)?;
        let splices = picked.iter().map(|&s| self.delete_section(s)).collect();
        self.apply(splices)?;
        Ok(picked.len())
    }

    /// Remove a sub-package: its `%package` declaration(s) and every section
    /// that belongs to it (`%description`, `%files`, scriptlets, triggers).
    pub fn remove_subpackage(&mut self, package: &str) -> Result<usize, EditError> {
        let pkg = self.find_package(Some(package))?;
        if pkg == 0 {
            return Err(EditError::Invalid {
                what: format!("package `{package}`"),
                why: "it is the main package".into(),
            });
        }
        let secs: Vec<SectionId> = (1..self.sections.len())
            .filter(|&s| self.sections[s].package == Some(pkg))
            .collect();
        let splices = secs.iter().map(|&s| self.delete_section(s)).collect();
        self.apply(splices)?;
        Ok(secs.len())
    }

    // ----- regex -----------------------------------------------------------

    /// Regex replace (`$1` expands capture groups) within the byte range of
    /// the selected sections, or the whole spec when `sel` is `None`.
    /// Returns the number of replacements; none is an error.
    pub fn replace_regex(
        &mut self,
        sel: Option<&SectionSel<'_>>,
        occ: Occurrence,
        re: &Regex,
        replacement: &str,
    ) -> Result<usize, EditError> {
        let sections = match sel {
            Some(sel) => Some(self.pick_sections(sel, occ)?),
            None => None,
        };
        self.replace_regex_in(sections.as_deref(), re, replacement)
    }

    /// Regex replace within the given sections (whole spec for `None`).
    pub fn replace_regex_in(
        &mut self,
        sections: Option<&[SectionId]>,
        re: &Regex,
        replacement: &str,
    ) -> Result<usize, EditError> {
        let ranges: Vec<Range<usize>> = match sections {
            None => std::iter::once(0..self.src.len()).collect(),
            Some(secs) => secs
                .iter()
                .filter(|&&s| !self.sections[s].lines.is_empty())
                .map(|&s| {
                    let l = &self.sections[s].lines;
                    self.lines[l.start].start..self.lines[l.end - 1].end
                })
                .collect(),
        };
        let mut count = 0;
        let mut splices = Vec::new();
        for r in ranges {
            let hay = &self.src[r.clone()];
            let n = re.find_iter(hay).count();
            if n > 0 {
                count += n;
                let text = re.replace_all(hay, replacement.as_bytes()).into_owned();
                splices.push(Splice { range: r, text });
            }
        }
        if count == 0 {
            return Err(EditError::NotFound {
                what: format!("match for /{}/", re.as_str()),
            });
        }
        self.apply(splices)?;
        Ok(count)
    }

    // ----- patches ---------------------------------------------------------

    /// Add a patch file. Numbered above every patch number in any branch
    /// (or appended to `%patchlist` when the spec lists patches there), and
    /// applied in `%prep` unless `%autosetup`/`%autopatch` already cover it.
    /// Returns the patch number.
    pub fn add_patch(&mut self, file: &str) -> Result<u32, EditError> {
        check_single_line("patch file name", file)?;
        let patches: Vec<_> = self
            .sources
            .iter()
            .filter(|e| e.kind == SourceKind::Patch)
            .collect();
        let uses_list =
            !patches.is_empty() && patches.iter().all(|e| matches!(e.origin, SourceOrigin::List(_)));
        let number = patches.iter().map(|e| e.number + 1).max().unwrap_or(0);
        if uses_list {
            let sid = self
                .sections
                .iter()
                .rposition(|s| s.kind == SectionKind::Patchlist)
                .ok_or_else(|| EditError::NoAnchor("the patch: no %patchlist".into()))?;
            let end = self.section_content_end(sid);
            let splice = self.insert_after(end - 1, &[file.trim().as_bytes().to_vec()]);
            let before = self.clone();
            self.apply(vec![splice])?;
            // The list entry takes the next number in rpm's count.
            let Some(n) = self
                .sources
                .iter()
                .filter(|e| e.kind == SourceKind::Patch)
                .map(|e| e.number)
                .max()
            else {
                *self = before;
                return Err(EditError::WouldBreak(
                    "the new %patchlist entry was not recognised".into(),
                ));
            };
            return self
                .apply_patch_in_prep(n)
                .map(|()| n)
                .inspect_err(|_| *self = before);
        }
        let before = self.clone();
        let (after, anchor) = {
            let (a, t) = self.tag_anchor(0, Some("patch"))?;
            if t.is_some_and(|t| matches!(self.tags[t].family, TagFamily::Patch(_))) {
                (a, t)
            } else {
                self.tag_anchor(0, Some("source"))?
            }
        };
        let line = self.format_tag(anchor, &format!("Patch{number}"), file);
        let splice = match after {
            Some(l) => self.insert_after(l, &[line]),
            None => self.insert_before(0, &[line]),
        };
        self.apply(vec![splice])?;
        self.apply_patch_in_prep(number).inspect_err(|_| *self = before)?;
        Ok(number)
    }

    /// Make sure `%prep` applies patch `n`.
    fn apply_patch_in_prep(&mut self, n: u32) -> Result<(), EditError> {
        if self.autopatches.iter().any(|a| a.covers(n)) {
            return Ok(());
        }
        // Anchor: the last line in %prep that applies patches or sets up the
        // source tree.
        let prep: Vec<SectionId> = self.sections_of(SectionKind::Prep, None);
        let mut anchor: Option<LineId> = self.patch_apps.iter().map(|p| p.line).max();
        let mut opts = b" -p1".to_vec();
        let mut positional = false;
        if let Some(a) = anchor {
            let app = self
                .patch_apps
                .iter()
                .find(|p| p.line == a)
                .expect("anchor comes from patch_apps");
            // Copy the strip level (`-p1`, `-p 0`) only: a backup suffix
            // (`-b .config`) or output file belongs to that one patch.
            if let Some(p) = app
                .options
                .iter()
                .find(|o| self.src[(*o).clone()].starts_with(b"-p"))
            {
                opts = b" ".to_vec();
                opts.extend_from_slice(&self.src[p.clone()]);
            }
            positional = app.numbers.iter().any(|x| x.form == PatchForm::Positional);
        } else {
            anchor = self.autopatches.iter().map(|a| a.line).max();
        }
        if anchor.is_none() {
            anchor = prep
                .iter()
                .flat_map(|&s| self.sections[s].lines.clone())
                .filter(|&l| {
                    let t = &self.src[self.lines[l].start..self.lines[l].content_end];
                    let t = &t[t.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
                    t.starts_with(b"%setup") || t.starts_with(b"%{setup")
                })
                .max();
        }
        let Some(mut at) = anchor else {
            return Err(EditError::NoAnchor(format!(
                "`%patch -P {n}`: %prep has no %setup, %autosetup or %patch line"
            )));
        };
        // Do not land inside a conditional that the anchor is in.
        let sid = self.lines[at].section;
        let sec_ctx = self.sections[sid].ctx;
        if let Some(child) = self.child_ctx_towards(self.lines[at].ctx, sec_ctx)
            && let Some(e) = self.conds[self.ctxs[child].cond].endif
        {
            at = e;
        }
        let mut line = if positional {
            format!("%patch {n}").into_bytes()
        } else {
            format!("%patch -P {n}").into_bytes()
        };
        line.extend_from_slice(&opts);
        let indent_len = {
            let l = &self.lines[at];
            self.src[l.start..l.content_end]
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count()
        };
        let mut full = self.src[self.lines[at].start..self.lines[at].start + indent_len].to_vec();
        full.extend_from_slice(&line);
        let splice = self.insert_after(at, &[full]);
        self.apply(vec![splice])
    }

    /// Remove the patches whose file name (see [`Spec::source_file_name`])
    /// satisfies `pred`, with the `%patch` lines that apply them. Later
    /// unnumbered patches that rpm renumbers have their `%patch` references
    /// updated. Returns the removed numbers.
    pub fn remove_patches(&mut self, pred: &dyn Fn(&str) -> bool) -> Result<Vec<u32>, EditError> {
        let matched: Vec<usize> = (0..self.sources.len())
            .filter(|&i| {
                self.sources[i].kind == SourceKind::Patch && pred(&self.source_file_name(&self.sources[i]))
            })
            .collect();
        if matched.is_empty() {
            return Err(EditError::NotFound {
                what: "patch with a matching file name".into(),
            });
        }
        let removed: Vec<u32> = matched.iter().map(|&i| self.sources[i].number).collect();
        let still_defined = |n: u32| {
            self.sources
                .iter()
                .enumerate()
                .any(|(i, e)| e.kind == SourceKind::Patch && e.number == n && !matched.contains(&i))
        };
        let gone: Vec<u32> = removed.iter().copied().filter(|&n| !still_defined(n)).collect();
        let mut splices: Vec<Splice> = matched
            .iter()
            .map(|&i| self.delete_lines(self.sources[i].line..self.sources[i].line + 1))
            .collect();
        for app in &self.patch_apps {
            let hits: Vec<_> = app.numbers.iter().filter(|x| gone.contains(&x.number)).collect();
            if hits.is_empty() {
                continue;
            }
            if hits.len() == app.numbers.len() {
                splices.push(self.delete_lines(app.line..app.line + 1));
            } else {
                for h in hits {
                    // `%patch3 -P 4`: keep the keyword, drop its digits.
                    let range = if h.form == PatchForm::Glued {
                        h.digits.clone()
                    } else {
                        self.token_with_space(h.token.clone())
                    };
                    splices.push(Splice {
                        range,
                        text: Vec::new(),
                    });
                }
            }
        }
        // `%autopatch 3 5` lists numbers; with none left it would apply
        // every patch, so the line goes.
        for auto in &self.autopatches {
            let hits: Vec<_> = auto
                .listed
                .iter()
                .zip(&auto.listed_at)
                .filter(|(n, _)| gone.contains(n))
                .map(|(_, at)| at.clone())
                .collect();
            if hits.is_empty() {
                continue;
            }
            if hits.len() == auto.listed.len() {
                splices.push(self.delete_lines(auto.line..auto.line + 1));
            } else {
                splices.extend(hits.into_iter().map(|at| Splice {
                    range: self.token_with_space(at),
                    text: Vec::new(),
                }));
            }
        }
        // Numbers of the surviving patches, to detect renumbering.
        let survivors_before: Vec<u32> = self
            .sources
            .iter()
            .enumerate()
            .filter(|(i, e)| e.kind == SourceKind::Patch && !matched.contains(i))
            .map(|(_, e)| e.number)
            .collect();
        // Check only the final result: between the two steps a `%patch`
        // of a renumbered patch refers to a number that no longer exists.
        let mid = Spec::parse(self.spliced(splices)?);
        let survivors_after: Vec<u32> = mid
            .sources
            .iter()
            .filter(|e| e.kind == SourceKind::Patch)
            .map(|e| e.number)
            .collect();
        let renumber: HashMap<u32, u32> = survivors_before
            .iter()
            .zip(&survivors_after)
            .filter(|(a, b)| a != b)
            .map(|(&a, &b)| (a, b))
            .collect();
        let mut result = mid;
        if !renumber.is_empty() {
            let mut splices: Vec<Splice> = result
                .patch_apps
                .iter()
                .flat_map(|a| &a.numbers)
                .filter_map(|x| {
                    let new = renumber.get(&x.number)?;
                    Some(match x.form {
                        PatchForm::Glued => Splice {
                            range: x.digits.clone(),
                            text: new.to_string().into_bytes(),
                        },
                        PatchForm::Implicit => Splice {
                            range: x.token.clone(),
                            text: format!("%patch -P {new}").into_bytes(),
                        },
                        _ => Splice {
                            range: x.digits.clone(),
                            text: new.to_string().into_bytes(),
                        },
                    })
                })
                .collect();
            for auto in &result.autopatches {
                for (n, at) in auto.listed.iter().zip(&auto.listed_at) {
                    if let Some(new) = renumber.get(n) {
                        splices.push(Splice {
                            range: at.clone(),
                            text: new.to_string().into_bytes(),
                        });
                    }
                }
            }
            if !splices.is_empty() {
                result = Spec::parse(result.spliced(splices)?);
            }
        }
        self.accept(result)?;
        Ok(removed)
    }

    /// Lines of a section's body, for callers that want to inspect before
    /// editing.
    pub fn section_body_lines(&self, s: SectionId) -> Range<LineId> {
        let sec = &self.sections[s];
        sec.lines.start + usize::from(sec.header.is_some())..sec.lines.end
    }

    /// Whether a line is a tag line.
    pub fn is_tag_line(&self, l: LineId) -> bool {
        matches!(self.lines[l].kind, LineKind::Tag(_))
    }

    /// Insert lines at the very top of the file.
    pub fn prepend_file(&mut self, text: &str) -> Result<(), EditError> {
        let new: Vec<Vec<u8>> = text_lines(text).iter().map(|l| l.as_bytes().to_vec()).collect();
        let splice = self.insert_before(0, &new);
        self.apply(vec![splice])
    }

    /// Insert lines after the last line of the file.
    pub fn append_file(&mut self, text: &str) -> Result<(), EditError> {
        let new: Vec<Vec<u8>> = text_lines(text).iter().map(|l| l.as_bytes().to_vec()).collect();
        let splice = match self.lines.len() {
            0 => self.insert_before(0, &new),
            n => self.insert_after(n - 1, &new),
        };
        self.apply(vec![splice])
    }
}
