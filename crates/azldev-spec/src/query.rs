//! Read-only access to the tree: accessors, conditional-context queries,
//! package and section lookup.

use std::borrow::Cow;
use std::ops::Range;

use crate::diag::Diagnostic;
use crate::edit::EditError;
use crate::kinds::SectionKind;
use crate::prep::{AutoPatch, PatchApply};
use crate::tree::{
    ChangelogEntry, Cond, CtxId, Line, LineId, LineKind, MacroDef, Package, PackageId, Section, SectionId,
    SourceEntry, Spec, Tag, TagId,
};

impl Spec {
    /// The source bytes, exactly as parsed (or as edited).
    pub fn as_bytes(&self) -> &[u8] {
        &self.src
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.src
    }

    /// Concatenate every logical line's bytes. Equal to the input: this is
    /// what the round-trip check verifies.
    pub fn reconstruct(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.src.len());
        for l in &self.lines {
            out.extend_from_slice(&self.src[l.start..l.end]);
        }
        out
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
    pub fn conds(&self) -> &[Cond] {
        &self.conds
    }
    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }
    /// Sources and patches in file order, with their rpm numbers.
    pub fn sources(&self) -> &[SourceEntry] {
        &self.sources
    }
    pub fn macro_defs(&self) -> &[MacroDef] {
        &self.macro_defs
    }
    /// `%patch` lines.
    pub fn patch_applications(&self) -> &[PatchApply] {
        &self.patch_apps
    }
    /// `%autosetup`/`%autopatch` lines.
    pub fn autopatches(&self) -> &[AutoPatch] {
        &self.autopatches
    }
    pub fn changelog_entries(&self) -> &[ChangelogEntry] {
        &self.changelog
    }
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Raw bytes of a range.
    pub fn bytes(&self, r: Range<usize>) -> &[u8] {
        &self.src[r]
    }

    /// Text of a range (invalid UTF-8 replaced).
    pub fn text(&self, r: Range<usize>) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.src[r])
    }

    /// One-based line and byte column of an offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.index.line_col(offset)
    }

    /// The logical line containing byte `offset`.
    pub fn line_at(&self, offset: usize) -> Option<LineId> {
        let i = self.lines.partition_point(|l| l.end <= offset);
        (i < self.lines.len()).then_some(i)
    }

    /// Conditional path of a context, outermost first: `(cond, branch)`.
    pub fn ctx_path(&self, mut ctx: CtxId) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.ctxs[ctx].depth);
        while ctx != 0 {
            let n = self.ctxs[ctx];
            out.push((n.cond, n.branch));
            ctx = n.parent;
        }
        out.reverse();
        out
    }

    /// Nesting depth of a context (0 = outside any conditional).
    pub fn ctx_depth(&self, ctx: CtxId) -> usize {
        self.ctxs[ctx].depth
    }

    /// Whether `ctx` is `ancestor` or nested inside it.
    pub fn ctx_within(&self, mut ctx: CtxId, ancestor: CtxId) -> bool {
        loop {
            if ctx == ancestor {
                return true;
            }
            if ctx == 0 || self.ctxs[ctx].depth <= self.ctxs[ancestor].depth {
                return false;
            }
            ctx = self.ctxs[ctx].parent;
        }
    }

    /// Whether two contexts are in different branches of one conditional, so
    /// rpm can never see both.
    pub fn exclusive(&self, a: CtxId, b: CtxId) -> bool {
        let (pa, pb) = (self.ctx_path(a), self.ctx_path(b));
        pa.iter()
            .zip(&pb)
            .find(|(x, y)| x != y)
            .is_some_and(|((ca, ba), (cb, bb))| ca == cb && ba != bb)
    }

    /// The context directly under `outer` that contains `ctx` (the branch of
    /// the outermost conditional opened inside `outer`), if `ctx` is deeper.
    pub(crate) fn child_ctx_towards(&self, mut ctx: CtxId, outer: CtxId) -> Option<CtxId> {
        if !self.ctx_within(ctx, outer) || ctx == outer {
            return None;
        }
        while self.ctxs[ctx].parent != outer {
            ctx = self.ctxs[ctx].parent;
        }
        Some(ctx)
    }

    pub fn main_package(&self) -> &Package {
        &self.packages[0]
    }

    pub fn package_name(&self, id: PackageId) -> &str {
        &self.packages[id].name
    }

    /// Find a package by full name (`foo-devel`) or by the suffix used in
    /// `%package devel`. `None` or the empty string is the main package.
    pub fn find_package(&self, sel: Option<&str>) -> Result<PackageId, EditError> {
        let Some(sel) = sel.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(0);
        };
        // `%{name}-devel` as the spec itself would write it.
        let expanded = self.macros.expand(sel.as_bytes());
        let sel = if sel.contains('%') && expanded.resolved {
            expanded.text.as_str()
        } else {
            sel
        };
        let full = self.packages.iter().position(|p| p.name == sel);
        let suffixed = format!("{}-{sel}", self.packages[0].name);
        let by_suffix = self.packages.iter().position(|p| p.name == suffixed);
        match (full, by_suffix) {
            (Some(a), Some(b)) if a != b => Err(EditError::AmbiguousPackage {
                name: sel.to_owned(),
                candidates: vec![self.packages[a].name.clone(), self.packages[b].name.clone()],
            }),
            (Some(a), _) | (None, Some(a)) => Ok(a),
            (None, None) => Err(EditError::NoSuchPackage {
                name: sel.to_owned(),
                known: self.packages.iter().map(|p| p.name.clone()).collect(),
            }),
        }
    }

    /// Sections of `kind`; for package-scoped kinds only those of `package`.
    pub fn sections_of(&self, kind: SectionKind, package: Option<PackageId>) -> Vec<SectionId> {
        self.sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == kind && (!kind.is_package_scoped() || s.package == package))
            .map(|(i, _)| i)
            .collect()
    }

    /// Tags that belong to `package` (in the preamble or its `%package`
    /// sections), in file order.
    pub fn package_tags(&self, package: PackageId) -> impl Iterator<Item = TagId> + '_ {
        self.tags
            .iter()
            .enumerate()
            .filter(move |(_, t)| self.sections[t.section].package == Some(package))
            .map(|(i, _)| i)
    }

    /// Tag name as written.
    pub fn tag_name(&self, t: TagId) -> Cow<'_, str> {
        self.text(self.tags[t].name.clone())
    }

    /// Tag value as written.
    pub fn tag_value(&self, t: TagId) -> Cow<'_, str> {
        self.text(self.tags[t].value.clone())
    }

    /// The header line text of a section (`%files -n foo`), or `preamble`.
    pub fn section_title(&self, s: SectionId) -> Cow<'_, str> {
        match self.sections[s].header {
            Some(h) => {
                let l = &self.lines[h];
                let end = self.src[l.start..l.content_end]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(l.content_end, |p| l.start + p);
                self.text(l.start..end)
            }
            None => Cow::Borrowed("preamble"),
        }
    }

    /// The lines that belong to a section itself: from its header up to the
    /// first line that leaves the conditional branch the header is in (an
    /// `%else`/`%endif` of an enclosing conditional), or opens a conditional
    /// that only closes in a later section. Trailing blank lines are
    /// included; a trailing comment block set off by a blank line and
    /// directly followed by the next header (or the `%if` around it) is not:
    /// it describes what follows (see [`Spec::section_leading_comments`]).
    pub fn section_own_lines(&self, s: SectionId) -> Range<LineId> {
        let sec = &self.sections[s];
        let start = sec.lines.start;
        let mut stop = start + usize::from(sec.header.is_some());
        while stop < sec.lines.end {
            let l = &self.lines[stop];
            if !self.ctx_within(l.ctx, sec.ctx) || self.generates_sections(stop) {
                break;
            }
            if let LineKind::Conditional { kind, cond: Some(c) } = l.kind
                && kind.opens()
            {
                let closes_inside = self.conds[c].endif.filter(|&e| e < sec.lines.end);
                let Some(endif) = closes_inside else {
                    break;
                };
                // A conditional holding a section-generating macro line
                // ends the section as a whole (it generates sections in
                // one of its branches).
                if (stop + 1..endif).any(|i| self.generates_sections(i)) {
                    break;
                }
            }
            stop += 1;
        }
        let first_body = start + usize::from(sec.header.is_some());
        start..self.trailing_comment_block(first_body, stop)
    }

    /// Whether a line is a call of a macro that expands to section headers
    /// (`%{?ldconfig_scriptlets}`, see [`crate::is_section_macro`], or one
    /// the macro files define, see [`Spec::set_section_macros`]): it ends
    /// the section before it, like a header, so edits of that section never
    /// take it along.
    pub fn generates_sections(&self, lid: LineId) -> bool {
        let Some(l) = self.lines.get(lid) else {
            return false;
        };
        if !matches!(l.kind, LineKind::Text | LineKind::MacroCall) {
            return false;
        }
        crate::kinds::macro_call_name(&self.src[l.start..l.content_end]).is_some_and(|name| {
            crate::kinds::is_section_macro(name)
                || self.section_macros.as_ref().is_some_and(|m| m.contains(name))
        })
    }

    /// Also treat the macros of `macros` (known from macro files) as
    /// section-generating; kept by every edit of this spec.
    pub fn set_section_macros(&mut self, macros: std::sync::Arc<crate::kinds::SectionMacros>) {
        self.section_macros = (!macros.is_empty()).then_some(macros);
    }

    /// [`Spec::set_section_macros`], builder style.
    #[must_use]
    pub fn with_section_macros(
        mut self,
        macros: Option<std::sync::Arc<crate::kinds::SectionMacros>>,
    ) -> Self {
        if let Some(m) = macros {
            self.set_section_macros(m);
        }
        self
    }

    /// Where a comment block that introduces the structure at `stop` starts
    /// (`stop` when there is none): comment lines directly before a section
    /// header or an opening `%if`, with a blank line before them.
    fn trailing_comment_block(&self, first_body: LineId, stop: LineId) -> LineId {
        let introduces = self.lines.get(stop).is_some_and(|l| match l.kind {
            LineKind::SectionHeader => true,
            LineKind::Text | LineKind::MacroCall => self.generates_sections(stop),
            LineKind::Conditional { kind, .. } => kind.opens(),
            _ => false,
        });
        if !introduces {
            return stop;
        }
        let mut c = stop;
        while c > first_body && self.lines[c - 1].kind == LineKind::Comment {
            c -= 1;
        }
        if c < stop && c > first_body && self.lines[c - 1].kind == LineKind::Blank {
            c
        } else {
            stop
        }
    }

    /// The comment lines directly above a section's header that introduce
    /// it (they are not part of the previous section's own lines); empty
    /// when there are none. Removing the section removes them too.
    pub fn section_leading_comments(&self, s: SectionId) -> Range<LineId> {
        let Some(h) = self.sections[s].header else {
            return 0..0;
        };
        if s == 0 {
            return h..h;
        }
        let prev_end = self.section_own_lines(s - 1).end;
        let attached = prev_end < h && (prev_end..h).all(|l| self.lines[l].kind == LineKind::Comment);
        if attached { prev_end..h } else { h..h }
    }

    /// One past the last non-blank line of the section's own lines: where
    /// appended lines go. A blank line that ends a shell command continued
    /// with a backslash (`--opt \` ⏎ ⏎) stays before them, or they would
    /// become part of that command.
    pub fn section_content_end(&self, s: SectionId) -> LineId {
        let own = self.section_own_lines(s);
        let mut end = own.end;
        let first_body = own.start + usize::from(self.sections[s].header.is_some());
        while end > first_body && self.lines[end - 1].kind == LineKind::Blank {
            if end - 1 > first_body && self.ends_in_backslash(end - 2) {
                break;
            }
            end -= 1;
        }
        end
    }

    /// Whether a line's content ends in an unescaped backslash.
    fn ends_in_backslash(&self, lid: LineId) -> bool {
        let l = &self.lines[lid];
        let text = &self.src[l.start..l.content_end];
        text.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
    }

    /// File name of a source or patch: the value after expanding the spec's
    /// own macros, reduced to the part after the last `/` (or the `#/name`
    /// URL hint).
    pub fn source_file_name(&self, e: &SourceEntry) -> String {
        let expanded = self.macros.expand(&self.src[e.value.clone()]).text;
        let s = match expanded.rfind("#/") {
            Some(p) => &expanded[p + 2..],
            None => &expanded,
        };
        s.rsplit('/').next().unwrap_or(s).to_owned()
    }

    /// Expand the spec's own plain macros in `text` (see [`crate::eval`]).
    pub fn expand(&self, text: &str) -> crate::eval::Expanded {
        self.macros.expand(text.as_bytes())
    }
}
