//! The syntax tree: the types, and the parser that builds them.
//!
//! The tree is a set of tables over the source bytes. Logical lines partition
//! the source exactly, so printing every line's bytes in order reproduces the
//! input; everything else (sections, conditionals, tags, packages) refers to
//! lines and byte ranges. Edits splice the source and parse again, so the
//! tables can never disagree with the text.

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;

use crate::diag::{Diagnostic, Severity};
use crate::eval::Macros;
use crate::header::{self, HeaderArgs};
use crate::kinds::{CondKind, SectionKind, is_known_tag};
use crate::lines::{self, LineIndex};
use crate::prep::{self, AutoPatch, PatchApply};

/// Index into [`Spec::lines`].
pub type LineId = usize;
/// Index into [`Spec::sections`].
pub type SectionId = usize;
/// Index into [`Spec::conds`].
pub type CondId = usize;
/// Index into [`Spec::tags`].
pub type TagId = usize;
/// Index into [`Spec::packages`].
pub type PackageId = usize;
/// Index of a conditional context (see [`Spec::ctx_path`]); 0 is "not inside
/// any conditional".
pub type CtxId = usize;

/// What a logical line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    /// `# …` or `%dnl …`.
    Comment,
    /// A conditional directive; `cond` is `None` when it matches no open
    /// `%if` (an unbalanced `%else`/`%endif`).
    Conditional {
        kind: CondKind,
        cond: Option<CondId>,
    },
    /// The header of the section it belongs to.
    SectionHeader,
    /// `%global`, `%define`, `%undefine`, `%bcond…`; index into
    /// [`Spec::macro_defs`].
    MacroDef(usize),
    /// A preamble or `%package` tag.
    Tag(TagId),
    /// A line starting with a macro whose expansion only rpm can know
    /// (`%{?fedora:Recommends: foo}`, `%fontpkg`, `%{?python_subpackages}`).
    /// Where tags are expected, such a line may generate structure.
    MacroCall,
    /// `%include …`.
    Include,
    /// `* date name - version` starting a `%changelog` entry.
    ChangelogEntry,
    /// A file name in `%patchlist` or `%sourcelist`.
    ListEntry,
    /// Anything else: shell, file lists, description text, or a line rpm
    /// would reject where tags are expected.
    Text,
}

/// One logical line.
#[derive(Debug, Clone)]
pub struct Line {
    pub start: usize,
    /// One past the terminator.
    pub end: usize,
    /// One past the last content byte (before `\n`/`\r\n`).
    pub content_end: usize,
    /// Zero-based first physical line.
    pub first_phys: usize,
    pub phys_count: usize,
    pub kind: LineKind,
    pub section: SectionId,
    /// Conditional context. A directive line itself is in the context
    /// *around* its conditional.
    pub ctx: CtxId,
}

impl Line {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
    /// One-based number of the first physical line.
    pub fn number(&self) -> usize {
        self.first_phys + 1
    }
}

/// A node of the conditional-context tree.
#[derive(Debug, Clone, Copy)]
pub struct CtxNode {
    pub parent: CtxId,
    pub cond: CondId,
    pub branch: usize,
    pub depth: usize,
}

/// One branch of a conditional: `%if`, `%elif…` or `%else` up to the next.
#[derive(Debug, Clone)]
pub struct Branch {
    pub line: LineId,
    pub kind: CondKind,
    /// Context of the lines inside this branch.
    pub ctx: CtxId,
}

/// A conditional block `%if … [%elif …]* [%else …] %endif`.
#[derive(Debug, Clone)]
pub struct Cond {
    pub branches: Vec<Branch>,
    pub endif: Option<LineId>,
    /// Context the block itself sits in.
    pub outer: CtxId,
}

/// A section: a header line and the lines up to the next header.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: SectionKind,
    /// `None` for the preamble.
    pub header: Option<LineId>,
    /// Lines from the header (inclusive) to the next header (exclusive).
    pub lines: Range<LineId>,
    /// Byte range of the keyword as written (`%Files`), for the preamble empty.
    pub keyword: Range<usize>,
    pub args: HeaderArgs,
    /// Owning package for package-scoped sections and the preamble.
    pub package: Option<PackageId>,
    /// Context the header is in.
    pub ctx: CtxId,
}

/// Source, Patch and their list forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Source,
    Patch,
}

impl SourceKind {
    pub fn tag_name(self) -> &'static str {
        match self {
            Self::Source => "Source",
            Self::Patch => "Patch",
        }
    }
}

/// What a tag is, beyond its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagFamily {
    /// `Source`/`SourceN`; the number when written.
    Source(Option<u32>),
    /// `Patch`/`PatchN`; the number when written.
    Patch(Option<u32>),
    Other,
}

/// A preamble or `%package` tag.
#[derive(Debug, Clone)]
pub struct Tag {
    pub line: LineId,
    pub section: SectionId,
    /// Tag name as written.
    pub name: Range<usize>,
    /// Qualifier or language in parentheses (`post`, `de`), without them.
    pub qualifier: Option<Range<usize>>,
    /// Offset of the colon.
    pub colon: usize,
    /// The value, without surrounding whitespace; may span physical lines.
    pub value: Range<usize>,
    pub family: TagFamily,
    /// Lower-cased name, without any number for Source/Patch.
    pub key: String,
}

/// Where a numbered source or patch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOrigin {
    Tag(TagId),
    /// An entry of `%sourcelist`/`%patchlist`.
    List(LineId),
}

/// A Source or Patch with the number rpm assigns to it.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    pub kind: SourceKind,
    pub number: u32,
    /// The number is written in the spec (`Source3:`).
    pub explicit: bool,
    /// The number does not depend on which branch of an earlier conditional
    /// rpm takes.
    pub certain: bool,
    pub origin: SourceOrigin,
    pub line: LineId,
    /// The file name or URL.
    pub value: Range<usize>,
}

/// Kinds of macro definition lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroDefKind {
    Global,
    Define,
    Undefine,
    Bcond,
    BcondWith,
    BcondWithout,
}

/// A macro definition line, with its full body extent.
#[derive(Debug, Clone)]
pub struct MacroDef {
    pub line: LineId,
    pub kind: MacroDefKind,
    pub name: Range<usize>,
    /// Option string of a parametric macro, without parentheses.
    pub params: Option<Range<usize>>,
    /// Body (may span many physical lines), trailing whitespace excluded.
    pub body: Range<usize>,
}

/// A (sub-)package.
#[derive(Debug, Clone)]
pub struct Package {
    /// Full name, expanded; unresolved macros appear as `%{name}`.
    pub name: String,
    pub resolved: bool,
    /// The main package (declared by the preamble).
    pub main: bool,
    /// `%package` sections declaring it (several when declared in more than
    /// one conditional branch).
    pub declared_by: Vec<SectionId>,
}

/// A `%changelog` entry.
#[derive(Debug, Clone)]
pub struct ChangelogEntry {
    pub header: LineId,
    /// Header through the line before the next entry.
    pub lines: Range<LineId>,
}

/// The parsed spec.
#[derive(Debug, Clone)]
pub struct Spec {
    pub(crate) src: Vec<u8>,
    pub(crate) lines: Vec<Line>,
    pub(crate) sections: Vec<Section>,
    pub(crate) conds: Vec<Cond>,
    pub(crate) ctxs: Vec<CtxNode>,
    pub(crate) tags: Vec<Tag>,
    pub(crate) macro_defs: Vec<MacroDef>,
    pub(crate) packages: Vec<Package>,
    pub(crate) sources: Vec<SourceEntry>,
    pub(crate) patch_apps: Vec<PatchApply>,
    pub(crate) autopatches: Vec<AutoPatch>,
    pub(crate) changelog: Vec<ChangelogEntry>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) macros: Macros,
    pub(crate) index: LineIndex,
    /// Section-generating macros known from macro files, besides the
    /// table (see [`Spec::set_section_macros`]); kept across edits.
    pub(crate) section_macros: Option<std::sync::Arc<crate::kinds::SectionMacros>>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

fn lead_ws(s: &[u8]) -> usize {
    s.iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | 0x0b | 0x0c))
        .count()
}

fn trim_end(src: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && is_space(src[end - 1]) {
        end -= 1;
    }
    end
}

/// Number-assignment state saved at an `%if`.
#[derive(Debug, Clone)]
struct NumFrame {
    at_if: NumState,
    ends: Vec<NumState>,
    has_else: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct NumState {
    next_source: u32,
    next_patch: u32,
    source_uncertain: bool,
    patch_uncertain: bool,
}

impl NumState {
    fn merge(states: &[NumState]) -> NumState {
        let first = states[0];
        let mut m = first;
        for s in &states[1..] {
            m.next_source = m.next_source.max(s.next_source);
            m.next_patch = m.next_patch.max(s.next_patch);
            m.source_uncertain |= s.source_uncertain || s.next_source != first.next_source;
            m.patch_uncertain |= s.patch_uncertain || s.next_patch != first.next_patch;
        }
        m
    }
}

struct Builder<'a> {
    src: &'a [u8],
    spec: Spec,
    stack: Vec<CondId>,
    cur_ctx: CtxId,
    num: NumState,
    frames: Vec<NumFrame>,
}

impl Spec {
    /// Parse a spec. Never fails: problems become [`Spec::diagnostics`].
    pub fn parse(src: impl Into<Vec<u8>>) -> Spec {
        let src: Vec<u8> = src.into();
        let raw = lines::split(&src);
        let index = LineIndex::new(&src);
        let spec = Spec {
            src: Vec::new(),
            lines: Vec::with_capacity(raw.len()),
            sections: vec![Section {
                kind: SectionKind::Preamble,
                header: None,
                lines: 0..0,
                keyword: 0..0,
                args: HeaderArgs::default(),
                package: Some(0),
                ctx: 0,
            }],
            conds: Vec::new(),
            ctxs: vec![CtxNode {
                parent: 0,
                cond: usize::MAX,
                branch: 0,
                depth: 0,
            }],
            tags: Vec::new(),
            macro_defs: Vec::new(),
            packages: Vec::new(),
            sources: Vec::new(),
            patch_apps: Vec::new(),
            autopatches: Vec::new(),
            changelog: Vec::new(),
            diagnostics: Vec::new(),
            macros: Macros::default(),
            index,
            section_macros: None,
        };
        let mut b = Builder {
            src: &src,
            spec,
            stack: Vec::new(),
            cur_ctx: 0,
            num: NumState::default(),
            frames: Vec::new(),
        };
        for r in &raw {
            b.line(r);
        }
        b.finish();
        let mut spec = b.spec;
        spec.src = src;
        spec
    }
}

impl Builder<'_> {
    fn diag(&mut self, severity: Severity, code: &'static str, span: Range<usize>, message: String) {
        self.spec
            .diagnostics
            .push(Diagnostic::new(severity, code, span, message));
    }

    fn line(&mut self, r: &lines::RawLine) {
        let src = self.src;
        let id = self.spec.lines.len();
        let text = &src[r.start..r.content_end];
        let lead = lead_ws(text);
        let s = &text[lead..];
        let section = self.spec.sections.len() - 1;
        let mut line = Line {
            start: r.start,
            end: r.end,
            content_end: r.content_end,
            first_phys: r.first_phys,
            phys_count: r.phys_count,
            kind: LineKind::Text,
            section,
            ctx: self.cur_ctx,
        };
        if r.unclosed {
            self.diag(
                Severity::Error,
                "unclosed-macro",
                r.start..r.content_end.min(r.start + text.len().min(80)).max(r.start),
                format!(
                    "a macro opened here is never closed; rpm reads the remaining {} lines as part of this one",
                    r.phys_count.saturating_sub(1)
                ),
            );
        }
        if let Some(kind) = CondKind::detect(s) {
            line.kind = self.conditional(id, kind, r.start + lead..r.content_end, &mut line.ctx);
        } else if let Some((kind, word_len)) = header_keyword(text) {
            self.start_section(id, kind, r, word_len);
            line.section = section + 1;
            line.kind = LineKind::SectionHeader;
        } else {
            line.kind = self.classify(id, section, r, lead);
        }
        self.spec.lines.push(line);
    }

    fn conditional(&mut self, id: LineId, kind: CondKind, span: Range<usize>, ctx: &mut CtxId) -> LineKind {
        if kind.opens() {
            let cond = self.spec.conds.len();
            let inner = self.new_ctx(cond, 0);
            self.spec.conds.push(Cond {
                branches: vec![Branch {
                    line: id,
                    kind,
                    ctx: inner,
                }],
                endif: None,
                outer: self.cur_ctx,
            });
            self.stack.push(cond);
            self.cur_ctx = inner;
            self.frames.push(NumFrame {
                at_if: self.num,
                ends: Vec::new(),
                has_else: false,
            });
            return LineKind::Conditional {
                kind,
                cond: Some(cond),
            };
        }
        let Some(&cond) = self.stack.last() else {
            self.diag(
                Severity::Error,
                "cond-unbalanced",
                span,
                format!("{} without a matching %if", kind.keyword()),
            );
            return LineKind::Conditional { kind, cond: None };
        };
        let outer = self.spec.conds[cond].outer;
        *ctx = outer;
        self.cur_ctx = outer;
        if kind == CondKind::Endif {
            self.stack.pop();
            self.spec.conds[cond].endif = Some(id);
            if let Some(mut f) = self.frames.pop() {
                f.ends.push(self.num);
                if !f.has_else {
                    f.ends.push(f.at_if);
                }
                self.num = NumState::merge(&f.ends);
            }
        } else {
            let c = &self.spec.conds[cond];
            let last = c.branches.last().map(|b| (b.kind, b.line));
            if let Some((CondKind::Else, else_line)) = last {
                let n = self.spec.lines[else_line].number();
                self.diag(
                    Severity::Error,
                    "cond-after-else",
                    span,
                    format!("{} after the %else on line {n}", kind.keyword()),
                );
            }
            let branch = self.spec.conds[cond].branches.len();
            let inner = self.new_ctx(cond, branch);
            self.spec.conds[cond].branches.push(Branch {
                line: id,
                kind,
                ctx: inner,
            });
            self.cur_ctx = inner;
            if let Some(f) = self.frames.last_mut() {
                f.ends.push(self.num);
                f.has_else |= kind == CondKind::Else;
                self.num = f.at_if;
            }
        }
        LineKind::Conditional {
            kind,
            cond: Some(cond),
        }
    }

    fn new_ctx(&mut self, cond: CondId, branch: usize) -> CtxId {
        let depth = self.spec.ctxs[self.cur_ctx].depth + 1;
        self.spec.ctxs.push(CtxNode {
            parent: self.cur_ctx,
            cond,
            branch,
            depth,
        });
        self.spec.ctxs.len() - 1
    }

    fn start_section(&mut self, id: LineId, kind: SectionKind, r: &lines::RawLine, word_len: usize) {
        let end = self.spec.lines.len();
        if let Some(prev) = self.spec.sections.last_mut() {
            prev.lines.end = end;
        }
        let kw = r.start..r.start + 1 + word_len;
        let args = header::parse_args(kind, self.src, kw.end..r.content_end);
        if let Some(flag) = args.missing_value {
            self.diag(
                Severity::Error,
                "header-option",
                r.start..r.content_end,
                format!("option -{} of %{} needs a value", flag as char, kind.keyword()),
            );
        }
        if kind == SectionKind::Package && args.name.is_none() {
            self.diag(
                Severity::Error,
                "package-no-name",
                r.start..r.content_end,
                "%package needs a name (`%package NAME` or `%package -n NAME`)".into(),
            );
        }
        self.spec.sections.push(Section {
            kind,
            header: Some(id),
            lines: id..id,
            keyword: kw,
            args,
            package: None,
            ctx: self.cur_ctx,
        });
    }

    fn classify(&mut self, id: LineId, section: SectionId, r: &lines::RawLine, lead: usize) -> LineKind {
        let src = self.src;
        let text = &src[r.start..r.content_end];
        let s = &text[lead..];
        let kind = self.spec.sections[section].kind;
        if s.iter().all(|&b| is_space(b)) {
            return LineKind::Blank;
        }
        if s[0] == b'#' || starts_word(s, b"%dnl") {
            return LineKind::Comment;
        }
        if let Some(def) = parse_macro_def(src, r.start + lead, r.content_end) {
            let mut def = def;
            def.line = id;
            self.spec.macro_defs.push(def);
            return LineKind::MacroDef(self.spec.macro_defs.len() - 1);
        }
        if starts_word(s, b"%include") {
            return LineKind::Include;
        }
        if lead == 0 {
            self.check_glued_header(r);
        } else if s[0] == b'%' {
            self.check_indented_header(r, lead);
        }
        match kind {
            SectionKind::Preamble | SectionKind::Package => {
                if s[0] == b'%' {
                    return LineKind::MacroCall;
                }
                match self.tag(id, section, r, lead) {
                    Some(t) => LineKind::Tag(t),
                    None => {
                        let what = if kind == SectionKind::Preamble {
                            "preamble"
                        } else {
                            "%package section"
                        };
                        // In a conditional rpm only trips over it when the
                        // branch is taken.
                        let severity = if self.cur_ctx == 0 {
                            Severity::Error
                        } else {
                            Severity::Warning
                        };
                        self.diag(
                            severity,
                            "not-a-tag",
                            r.start + lead..r.content_end,
                            format!("rpm expects a `Tag: value` line in the {what}; this line is not one"),
                        );
                        LineKind::Text
                    }
                }
            }
            SectionKind::Changelog if lead == 0 && s[0] == b'*' => {
                if let Some(prev) = self.spec.changelog.last_mut() {
                    prev.lines.end = id;
                }
                self.spec.changelog.push(ChangelogEntry {
                    header: id,
                    lines: id..id + 1,
                });
                LineKind::ChangelogEntry
            }
            SectionKind::Patchlist | SectionKind::Sourcelist => {
                let sk = if kind == SectionKind::Patchlist {
                    SourceKind::Patch
                } else {
                    SourceKind::Source
                };
                let number = self.next_number(sk, None);
                let certain = !self.uncertain(sk);
                let vend = trim_end(src, r.start + lead, r.content_end);
                self.spec.sources.push(SourceEntry {
                    kind: sk,
                    number,
                    explicit: false,
                    certain,
                    origin: SourceOrigin::List(id),
                    line: id,
                    value: r.start + lead..vend,
                });
                LineKind::ListEntry
            }
            _ => LineKind::Text,
        }
    }

    fn uncertain(&self, kind: SourceKind) -> bool {
        match kind {
            SourceKind::Source => self.num.source_uncertain,
            SourceKind::Patch => self.num.patch_uncertain,
        }
    }

    /// The number rpm gives a source/patch: the written one, or the highest
    /// so far plus one.
    fn next_number(&mut self, kind: SourceKind, written: Option<u32>) -> u32 {
        let next = match kind {
            SourceKind::Source => &mut self.num.next_source,
            SourceKind::Patch => &mut self.num.next_patch,
        };
        let n = written.unwrap_or(*next);
        *next = (*next).max(n.saturating_add(1));
        n
    }

    /// `%Files-devel`, `%description:` — a section keyword glued to
    /// something rpm then reads as a different macro.
    fn check_glued_header(&mut self, r: &lines::RawLine) {
        let text = &self.src[r.start..r.content_end];
        if text.first() != Some(&b'%') {
            return;
        }
        let word_len = text[1..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let word = &text[1..1 + word_len];
        if let Some(kind) = SectionKind::from_keyword(word)
            && matches!(text.get(1 + word_len), Some(b'-' | b':' | b'.' | b','))
        {
            self.diag(
                Severity::Error,
                "header-misread",
                r.start..r.content_end,
                format!(
                    "rpm does not read this as a %{} header: the keyword must be followed by a space",
                    kind.keyword()
                ),
            );
        }
    }

    /// `  %files` — an indented section keyword is not a header to rpm.
    fn check_indented_header(&mut self, r: &lines::RawLine, lead: usize) {
        let section = self.spec.sections.len() - 1;
        let kind = self.spec.sections[section].kind;
        // Inside shell bodies an indented word is most likely deliberate.
        if !(kind.holds_tags() || kind == SectionKind::Description || kind == SectionKind::Files) {
            return;
        }
        let text = &self.src[r.start + lead..r.content_end];
        if let Some((kind, _)) = header_keyword(text) {
            self.diag(
                Severity::Error,
                "header-misread",
                r.start..r.content_end,
                format!(
                    "rpm does not read an indented %{} as a section header; move it to column 1",
                    kind.keyword()
                ),
            );
        }
    }

    fn tag(&mut self, line: LineId, section: SectionId, r: &lines::RawLine, lead: usize) -> Option<TagId> {
        let src = self.src;
        let end = r.content_end;
        let mut i = r.start + lead;
        let name_start = i;
        if !src.get(i)?.is_ascii_alphabetic() {
            return None;
        }
        while i < end && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
            i += 1;
        }
        let name = name_start..i;
        while i < end && matches!(src[i], b' ' | b'\t') {
            i += 1;
        }
        // `Patch 0:` — rpm reads the number only when it is glued to the
        // name, so this is an unnumbered patch.
        let mut spaced_number = None;
        let lower_name = src[name.clone()].to_ascii_lowercase();
        if (lower_name == b"source" || lower_name == b"patch") && i > name.end {
            let d = src[i..end].iter().take_while(|b| b.is_ascii_digit()).count();
            let mut j = i + d;
            while j < end && matches!(src[j], b' ' | b'\t') {
                j += 1;
            }
            if d > 0 && j < end && src[j] == b':' {
                spaced_number = Some(i..i + d);
                i = j;
            }
        }
        let mut qualifier = None;
        if i < end && src[i] == b'(' {
            let close = src[i..end].iter().position(|&b| b == b')')? + i;
            qualifier = Some(i + 1..close);
            i = close + 1;
            while i < end && matches!(src[i], b' ' | b'\t') {
                i += 1;
            }
        }
        if i >= end || src[i] != b':' {
            return None;
        }
        let colon = i;
        i += 1;
        while i < end && matches!(src[i], b' ' | b'\t') {
            i += 1;
        }
        let value = i..trim_end(src, i, end);
        let lower = String::from_utf8_lossy(&src[name.clone()]).to_ascii_lowercase();
        let (family, key) = source_family(&lower);
        // rpm fails on both ("Unknown tag"), but in a conditional only when
        // the branch is taken.
        let severity = if self.cur_ctx == 0 {
            Severity::Error
        } else {
            Severity::Warning
        };
        if lead > 0 {
            self.diag(
                severity,
                "tag-indented",
                r.start..r.content_end,
                "rpm only recognises tags that start in column 1".into(),
            );
        }
        if !is_known_tag(&key) {
            self.diag(
                severity,
                "unknown-tag",
                name.clone(),
                format!(
                    "rpm does not know the tag `{}`",
                    String::from_utf8_lossy(&src[name.clone()])
                ),
            );
        }
        if matches!(family, TagFamily::Source(None) | TagFamily::Patch(None))
            && lower.bytes().last().is_some_and(|b| b.is_ascii_digit())
        {
            // Digits that do not fit rpm's unsigned 32-bit number: rpm
            // fails ("Bad source number").
            self.diag(
                severity,
                "source-number-range",
                name.clone(),
                format!(
                    "`{}`: rpm numbers sources and patches from 0 to {}",
                    String::from_utf8_lossy(&src[name.clone()]),
                    u32::MAX
                ),
            );
        }
        let tag_id = self.spec.tags.len();
        let number_kind = match family {
            TagFamily::Source(n) => Some((SourceKind::Source, n)),
            TagFamily::Patch(n) => Some((SourceKind::Patch, n)),
            TagFamily::Other => None,
        };
        if let Some((sk, written)) = number_kind {
            let certain = written.is_some() || !self.uncertain(sk);
            let number = self.next_number(sk, written);
            if let Some(digits) = spaced_number.filter(|d| parse_num(&src[d.clone()]) != Some(number)) {
                let written = String::from_utf8_lossy(&src[digits.clone()]).into_owned();
                self.diag(
                    Severity::Warning,
                    "tag-spaced-number",
                    digits,
                    format!(
                        "rpm ignores a number separated from the tag name: this is {0}{number}, not {0}{written}",
                        sk.tag_name(),
                    ),
                );
            }
            self.spec.sources.push(SourceEntry {
                kind: sk,
                number,
                explicit: written.is_some(),
                certain,
                origin: SourceOrigin::Tag(tag_id),
                line,
                value: value.clone(),
            });
        }
        self.spec.tags.push(Tag {
            line,
            section,
            name,
            qualifier,
            colon,
            value,
            family,
            key,
        });
        Some(tag_id)
    }

    fn finish(&mut self) {
        let n = self.spec.lines.len();
        if let Some(last) = self.spec.sections.last_mut() {
            last.lines.end = n;
        }
        if let Some(last) = self.spec.changelog.last_mut() {
            let sec = &self.spec.sections[self.spec.lines[last.header].section];
            last.lines.end = sec.lines.end;
        }
        // Changelog entries end at their section's end.
        for i in 0..self.spec.changelog.len() {
            let sec_end = self.spec.sections[self.spec.lines[self.spec.changelog[i].header].section]
                .lines
                .end;
            let e = &mut self.spec.changelog[i];
            e.lines.end = e.lines.end.min(sec_end).max(e.header + 1);
        }
        while let Some(cond) = self.stack.pop() {
            let line = &self.spec.lines[self.spec.conds[cond].branches[0].line];
            let span = line.start..line.content_end;
            self.diag(
                Severity::Error,
                "cond-unbalanced",
                span,
                "%if without a matching %endif".into(),
            );
        }
        self.spec.macros = build_macros(&self.spec, self.src);
        self.resolve_packages();
        let (apps, autos) = prep::scan(&self.spec, self.src);
        self.spec.patch_apps = apps;
        self.spec.autopatches = autos;
        self.check_numbers();
        self.check_patch_refs();
        self.check_is_spec();
        self.spec
            .diagnostics
            .sort_by(|a, b| a.span.start.cmp(&b.span.start).then(a.code.cmp(b.code)));
    }

    /// A header may end in a macro whose expansion is the section's body:
    /// `%description -n python3-foo %{_description}`. rpm reads only the
    /// first line of the expansion as part of the header. Such a token is
    /// body, not a name; any other surplus argument is an error.
    fn fix_header_bodies(&mut self) {
        let src = self.src;
        let mut diags = Vec::new();
        for sec in &mut self.spec.sections {
            if !sec.kind.is_package_scoped() || sec.args.trigger.is_some() {
                continue;
            }
            let is_body = |r: &Range<usize>| self.spec.macros.is_multiline_ref(&src[r.clone()]);
            if sec
                .args
                .name
                .as_ref()
                .is_some_and(|n| !n.absolute && is_body(&n.range))
            {
                sec.args.name = None;
            }
            if let Some(first_body) = sec.args.extra.iter().position(is_body) {
                sec.args.extra.truncate(first_body);
            }
            // A surplus macro we cannot expand may be body text as well.
            if let Some(r) = sec.args.extra.iter().find(|r| !src[(*r).clone()].contains(&b'%')) {
                diags.push((r.clone(), sec.kind));
            }
        }
        for (span, kind) in diags {
            self.diag(
                Severity::Error,
                "header-extra-args",
                span,
                format!("%{} takes at most one package name", kind.keyword()),
            );
        }
    }

    fn resolve_packages(&mut self) {
        self.fix_header_bodies();
        let spec = &mut self.spec;
        let name_tags: Vec<&Tag> = spec
            .tags
            .iter()
            .filter(|t| t.section == 0 && t.key == "name")
            .collect();
        let main = match name_tags.as_slice() {
            [] => crate::eval::Expanded {
                text: "%{name}".into(),
                resolved: false,
            },
            _ => spec.macros.expand(b"%{name}"),
        };
        spec.packages.push(Package {
            name: main.text.clone(),
            resolved: main.resolved,
            main: true,
            declared_by: Vec::new(),
        });
        let mut by_name: HashMap<String, PackageId> = HashMap::new();
        by_name.insert(main.text.clone(), 0);
        let mut undeclared: Vec<(SectionId, String)> = Vec::new();
        // Declarations first, then the sections that refer to packages.
        for pass in 0..2 {
            for sid in 1..spec.sections.len() {
                let sec = &spec.sections[sid];
                let is_decl = sec.kind == SectionKind::Package;
                if (pass == 0) != is_decl || !sec.kind.is_package_scoped() {
                    continue;
                }
                let full = match &sec.args.name {
                    None if is_decl => continue,
                    None => Some(0),
                    Some(n) => {
                        let e = spec.macros.expand(&self.src[n.range.clone()]);
                        let (text, resolved) = if n.absolute {
                            (e.text, e.resolved)
                        } else if e.resolved
                            && (e.text.trim_start().starts_with('-') || e.text.trim().is_empty())
                        {
                            // A macro that expands to options
                            // (`%global python_files -n python3-foo`) or to
                            // nothing: rpm expands the header before reading
                            // it.
                            let t = e.text.as_bytes();
                            match header::parse_args(sec.kind, t, 0..t.len()).name {
                                Some(a) if a.absolute => {
                                    (String::from_utf8_lossy(&t[a.range]).into_owned(), true)
                                }
                                Some(a) => (
                                    format!("{}-{}", main.text, String::from_utf8_lossy(&t[a.range])),
                                    main.resolved,
                                ),
                                None => (main.text.clone(), main.resolved),
                            }
                        } else {
                            (format!("{}-{}", main.text, e.text), e.resolved && main.resolved)
                        };
                        match by_name.get(&text) {
                            Some(&id) => Some(id),
                            None if is_decl => {
                                spec.packages.push(Package {
                                    name: text.clone(),
                                    resolved,
                                    main: false,
                                    declared_by: Vec::new(),
                                });
                                let id = spec.packages.len() - 1;
                                by_name.insert(text, id);
                                Some(id)
                            }
                            None => {
                                undeclared.push((sid, text));
                                None
                            }
                        }
                    }
                };
                if let Some(id) = full {
                    if is_decl {
                        spec.packages[id].declared_by.push(sid);
                    }
                    spec.sections[sid].package = Some(id);
                }
            }
        }
        // A section naming a package nobody declares: rpm fails, unless a
        // macro we cannot see generates the declaration.
        let opaque = spec.lines.iter().any(|l| {
            l.kind == LineKind::MacroCall
                || (l.kind == LineKind::Text && spec.sections[l.section].kind.holds_tags())
        });
        // An unresolved declared name may be the one referred to.
        let all_resolved = spec.packages.iter().all(|p| p.resolved);
        if !opaque && all_resolved {
            for (sid, name) in undeclared {
                let line = &spec.lines[spec.sections[sid].header.unwrap_or(0)];
                let span = line.start..line.content_end;
                spec.diagnostics.push(Diagnostic::new(
                    Severity::Warning,
                    "package-undeclared",
                    span,
                    format!("no %package declares `{name}`"),
                ));
            }
        }
    }

    /// Two sources/patches with one number, both possibly active.
    fn check_numbers(&mut self) {
        let mut seen: HashMap<(SourceKind, u32), Vec<usize>> = HashMap::new();
        let mut found = Vec::new();
        for (i, e) in self.spec.sources.iter().enumerate() {
            if !e.certain {
                continue;
            }
            let prev = seen.entry((e.kind, e.number)).or_default();
            let ctx = self.spec.lines[e.line].ctx;
            // Only certain when one is active whenever the other is: the
            // earlier one's context encloses the later one's (or vice versa).
            // Separate conditionals may well be mutually exclusive.
            if let Some(&p) = prev.iter().find(|&&p| {
                let pc = self.spec.lines[self.spec.sources[p].line].ctx;
                self.spec.ctx_within(ctx, pc) || self.spec.ctx_within(pc, ctx)
            }) {
                found.push((p, i));
            }
            prev.push(i);
        }
        for (p, i) in found {
            let (a, b) = (&self.spec.sources[p], &self.spec.sources[i]);
            let first = self.spec.lines[a.line].number();
            let line = &self.spec.lines[b.line];
            let span = line.start..line.content_end;
            let msg = format!(
                "{}{} is already defined on line {first}",
                b.kind.tag_name(),
                b.number
            );
            let code = match b.kind {
                SourceKind::Source => "duplicate-source",
                SourceKind::Patch => "duplicate-patch",
            };
            self.diag(Severity::Error, code, span, msg);
        }
    }

    fn check_patch_refs(&mut self) {
        let patches: Vec<u32> = self
            .spec
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Patch)
            .map(|s| s.number)
            .collect();
        let mut out = Vec::new();
        for app in &self.spec.patch_apps {
            for n in &app.numbers {
                if !patches.contains(&n.number) {
                    out.push((n.token.clone(), n.number, "%patch"));
                }
            }
        }
        // `%autopatch 3`: rpm fails with "no such patch 3".
        for auto in &self.spec.autopatches {
            for (n, at) in auto.listed.iter().zip(&auto.listed_at) {
                if !patches.contains(n) {
                    out.push((at.clone(), *n, "%autopatch"));
                }
            }
        }
        for (span, n, what) in out {
            self.diag(
                Severity::Error,
                "patch-missing",
                span,
                format!("{what} applies patch {n}, but no Patch{n} is defined"),
            );
        }
    }

    fn check_is_spec(&mut self) {
        let src = self.src;
        let head = &src[..src.len().min(8192)];
        let binary = head.starts_with(&[0xed, 0xab, 0xee, 0xdb]) || head.contains(&0);
        let empty_structure = self.spec.tags.is_empty() && self.spec.sections.len() == 1;
        if binary || empty_structure {
            let why = if binary {
                "binary data (an RPM package or other non-text file)"
            } else {
                "no tags and no sections"
            };
            self.spec.diagnostics.clear();
            self.diag(
                Severity::Error,
                "not-a-spec",
                0..0,
                format!("not an RPM spec file: {why}"),
            );
        }
    }
}

fn parse_num(s: &[u8]) -> Option<u32> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Lower-cased tag name → family and key (`source12` → Source(12), "source").
fn source_family(lower: &str) -> (TagFamily, String) {
    for (prefix, is_source) in [("source", true), ("patch", false)] {
        if let Some(rest) = lower.strip_prefix(prefix)
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            let n = if rest.is_empty() { None } else { rest.parse().ok() };
            let fam = if is_source {
                TagFamily::Source(n)
            } else {
                TagFamily::Patch(n)
            };
            return (fam, prefix.to_owned());
        }
    }
    (TagFamily::Other, lower.to_owned())
}

/// `%files`, `%Description` at column 0 followed by whitespace or the end:
/// returns the kind and the keyword length (without `%`).
pub(crate) fn header_keyword(text: &[u8]) -> Option<(SectionKind, usize)> {
    if text.first() != Some(&b'%') {
        return None;
    }
    let word_len = text[1..].iter().take_while(|&&b| !is_space(b)).count();
    SectionKind::from_keyword(&text[1..1 + word_len]).map(|k| (k, word_len))
}

/// `s` starts with `word` followed by whitespace or the end.
fn starts_word(s: &[u8], word: &[u8]) -> bool {
    s.starts_with(word) && s.get(word.len()).is_none_or(|&b| is_space(b))
}

/// Parse `%global NAME BODY` and friends starting at `start`.
fn parse_macro_def(src: &[u8], start: usize, end: usize) -> Option<MacroDef> {
    const FORMS: &[(&[u8], MacroDefKind)] = &[
        (b"%global", MacroDefKind::Global),
        (b"%define", MacroDefKind::Define),
        (b"%undefine", MacroDefKind::Undefine),
        (b"%bcond_without", MacroDefKind::BcondWithout),
        (b"%bcond_with", MacroDefKind::BcondWith),
        (b"%bcond", MacroDefKind::Bcond),
    ];
    let s = &src[start..end];
    let (kw, kind) = FORMS
        .iter()
        .find(|(kw, _)| s.starts_with(kw) && s.get(kw.len()).is_some_and(|&b| matches!(b, b' ' | b'\t')))?;
    let mut i = start + kw.len();
    while i < end && matches!(src[i], b' ' | b'\t') {
        i += 1;
    }
    let name_start = i;
    while i < end && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
        i += 1;
    }
    let name = name_start..i;
    let mut params = None;
    if matches!(kind, MacroDefKind::Global | MacroDefKind::Define) && i < end && src[i] == b'(' {
        let close = src[i..end].iter().position(|&b| b == b')').map(|p| p + i)?;
        params = Some(i + 1..close);
        i = close + 1;
    }
    while i < end && is_space(src[i]) {
        i += 1;
    }
    let body = i..trim_end(src, i, end).max(i);
    Some(MacroDef {
        line: 0,
        kind: *kind,
        name,
        params,
        body,
    })
}

/// The evaluator's view of the spec's own definitions.
fn build_macros(spec: &Spec, src: &[u8]) -> Macros {
    let mut m = Macros::default();
    // A definition inside a conditional only happens when rpm takes that
    // branch. Unless the name is also defined outside any conditional, the
    // macro may be undefined (`%if 0%{?rhel}` ⏎ `%global variant 1`), so its
    // value is not known.
    let depth = |d: &MacroDef| spec.ctxs[spec.lines[d.line].ctx].depth;
    let unconditional: std::collections::HashSet<&[u8]> = spec
        .macro_defs
        .iter()
        .filter(|d| depth(d) == 0 && matches!(d.kind, MacroDefKind::Global | MacroDefKind::Define))
        .map(|d| &src[d.name.clone()])
        .collect();
    for d in &spec.macro_defs {
        let name = &src[d.name.clone()];
        match d.kind {
            MacroDefKind::Global | MacroDefKind::Define
                if d.params.is_none() && (depth(d) == 0 || unconditional.contains(name)) =>
            {
                m.define(name, &src[d.body.clone()]);
            }
            MacroDefKind::Global | MacroDefKind::Define | MacroDefKind::Undefine => m.poison(name),
            _ => {}
        }
    }
    // Definitions hidden inside other constructs: `%{!?x: %global x 1}`.
    for l in &spec.lines {
        if l.kind == LineKind::MacroCall || l.kind == LineKind::Text {
            let text = &src[l.start..l.content_end];
            for kw in [&b"%global"[..], b"%define"] {
                let mut from = 0;
                while let Some(p) = memchr::memmem::find(&text[from..], kw) {
                    let at = from + p + kw.len();
                    let rest = &text[at..];
                    let ws = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                    let n = rest[ws..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .count();
                    if ws > 0 && n > 0 {
                        m.poison(&rest[ws..ws + n]);
                    }
                    from = at;
                }
            }
        }
    }
    for (tag, mac) in [
        ("name", "name"),
        ("version", "version"),
        ("release", "release"),
        ("epoch", "epoch"),
    ] {
        for t in spec.tags.iter().filter(|t| t.section == 0 && t.key == tag) {
            m.define(mac.as_bytes(), &src[t.value.clone()]);
        }
    }
    m
}
