//! Terminal output: colour decision, verbosity, and miette report rendering.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::cli::{ColorChoice, GlobalArgs};

#[derive(Debug)]
pub struct Output {
    pub color: bool,
    /// `--color` as given (commands writing to stdout decide for it).
    pub color_choice: ColorChoice,
    /// Negative is quieter, positive more verbose.
    pub verbosity: i8,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Self {
        let color = match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
            }
        };
        let verbosity = i8::try_from(i16::from(global.verbose) - i16::from(global.quiet)).unwrap_or_default();
        Self {
            color,
            color_choice: global.color,
            verbosity,
        }
    }

    fn handler(&self) -> GraphicalReportHandler {
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        GraphicalReportHandler::new_themed(theme)
    }

    /// Render a diagnostic (with source snippet when it has one) to a string.
    pub fn render(&self, diag: &dyn miette::Diagnostic) -> String {
        let mut s = String::new();
        if self.handler().render_report(&mut s, diag).is_err() {
            s = format!("{diag}\n");
        }
        s
    }

    /// [`Self::render`] without wrapping long lines: for messages holding
    /// values to copy (a digest to paste into the configuration).
    pub fn render_unwrapped(&self, diag: &dyn miette::Diagnostic) -> String {
        let mut s = String::new();
        if self
            .handler()
            .with_wrap_lines(false)
            .render_report(&mut s, diag)
            .is_err()
        {
            s = format!("{diag}\n");
        }
        s
    }

    /// Print a fatal error to stderr.
    pub fn fatal(&self, report: &miette::Report) {
        eprint!("{}", self.render(report.as_ref()));
    }
}
