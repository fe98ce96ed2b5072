//! Diagnostics: every problem found in a load, with file, line, column and the
//! byte span a caret should point at. They implement [`miette::Diagnostic`] with a
//! [`miette::NamedSource`] and labels, so a graphical handler draws the snippet.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};

use crate::source::SourceMap;
use crate::span::Loc;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    /// A note attached to another diagnostic ("first defined here").
    Note,
}

/// Where a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Path as shown (relative to the project root when inside it).
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
struct Label {
    span: Range<usize>,
    text: Option<String>,
    primary: bool,
}

/// One problem, with its location and optional notes at other locations.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier, e.g. `config::unknown-field`.
    pub code: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// The primary location, when the problem has one.
    pub position: Option<Position>,
    /// Notes at other places (possibly other files).
    pub notes: Vec<Diagnostic>,
    labels: Vec<Label>,
    source: Option<NamedSource<Arc<str>>>,
    file: Option<crate::span::FileId>,
}

impl Diagnostic {
    fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity,
            code,
            message: message.into(),
            help: None,
            position: None,
            notes: Vec::new(),
            labels: Vec::new(),
            source: None,
            file: None,
        }
    }

    #[must_use]
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, message)
    }

    #[must_use]
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, message)
    }

    #[must_use]
    pub fn note(message: impl Into<String>) -> Self {
        Self::new(Severity::Note, "config::note", message)
    }

    /// Set the primary location and the text under its caret.
    #[must_use]
    pub fn at(mut self, files: &SourceMap, loc: &Loc, label: impl Into<String>) -> Self {
        if let Some(f) = files.get(loc.file) {
            let (line, column) = f.line_col(loc.span.start);
            let span = clamp(&loc.span, f.text.len());
            self.position = Some(Position {
                path: f.display.clone(),
                line,
                column,
                span: span.clone(),
            });
            self.source = Some(NamedSource::new(f.display.clone(), Arc::clone(&f.text)));
            self.file = Some(loc.file);
            let label = label.into();
            self.labels.push(Label {
                span,
                text: (!label.is_empty()).then_some(label),
                primary: true,
            });
        }
        self
    }

    /// Add a secondary location: a second caret when in the same file, otherwise
    /// a note rendered with its own snippet.
    #[must_use]
    pub fn also(mut self, files: &SourceMap, loc: &Loc, label: impl Into<String>) -> Self {
        let label = label.into();
        if self.file == Some(loc.file) {
            if let Some(f) = files.get(loc.file) {
                self.labels.push(Label {
                    span: clamp(&loc.span, f.text.len()),
                    text: (!label.is_empty()).then_some(label),
                    primary: false,
                });
            }
        } else {
            self.notes.push(Diagnostic::note(label).at(files, loc, ""));
        }
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn with_note(mut self, note: Diagnostic) -> Self {
        self.notes.push(note);
        self
    }

    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:column: message`, one line, for logs and tests.
    #[must_use]
    pub fn short(&self) -> String {
        match &self.position {
            Some(p) => format!("{}:{}:{}: {}", p.path, p.line, p.column, self.message),
            None => self.message.clone(),
        }
    }

    /// `line:column` of the primary location, if any.
    #[must_use]
    pub fn line_col(&self) -> Option<(usize, usize)> {
        self.position.as_ref().map(|p| (p.line, p.column))
    }

    pub(crate) fn sort_key(&self) -> (String, usize, usize) {
        self.position.as_ref().map_or((String::new(), 0, 0), |p| {
            (p.path.clone(), p.span.start, p.span.end)
        })
    }
}

fn clamp(span: &Range<usize>, len: usize) -> Range<usize> {
    let start = span.start.min(len);
    let end = span.end.clamp(start, len);
    start..end
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (self.severity != Severity::Note).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(|l| {
            let span = SourceSpan::from(l.span.start..l.span.end);
            if l.primary {
                LabeledSpan::new_primary_with_span(l.text.clone(), span)
            } else {
                LabeledSpan::new_with_span(l.text.clone(), span)
            }
        })))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.notes.is_empty() {
            return None;
        }
        Some(Box::new(self.notes.iter().map(|n| n as &dyn miette::Diagnostic)))
    }
}

/// All diagnostics of a load, in a stable order (by file, then position).
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub(crate) fn finish(&mut self) {
        self.items.sort_by_key(Diagnostic::sort_key);
        self.items
            .dedup_by(|a, b| a.message == b.message && a.position == b.position);
    }

    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    #[must_use]
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}
