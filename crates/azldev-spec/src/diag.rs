//! Structural diagnostics found while parsing.

use std::ops::Range;

use serde::Serialize;

/// How bad a diagnostic is. Only errors make a file "have problems".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A problem rpm would trip over (error) or that is probably unintended
/// (warning), located by a byte range of the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable kebab-case identifier, e.g. `cond-unbalanced`.
    pub code: &'static str,
    pub message: String,
    pub span: Range<usize>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, span: Range<usize>, message: String) -> Self {
        Self {
            severity,
            code,
            message,
            span,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
