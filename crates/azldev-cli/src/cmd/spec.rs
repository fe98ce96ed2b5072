//! `azldev spec check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use azldev_spec::{Severity, Spec};
use miette::{LabeledSpan, NamedSource};
use rayon::prelude::*;
use serde::Serialize;

use crate::cli::{ReportFormat, SpecCheckArgs, SpecCommand};
use crate::output::Output;

pub fn run(cmd: SpecCommand, out: &Output) -> miette::Result<ExitCode> {
    match cmd {
        SpecCommand::Check(args) => check(&args, out),
    }
}

#[derive(Debug, Serialize)]
struct DiagRecord {
    severity: Severity,
    code: &'static str,
    message: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip)]
    span: std::ops::Range<usize>,
}

#[derive(Debug, Serialize)]
struct FileRecord {
    path: String,
    /// `None` when not checked (no `--roundtrip`, or unreadable).
    roundtrip: Option<bool>,
    diagnostics: Vec<DiagRecord>,
    #[serde(skip)]
    source: Option<Vec<u8>>,
}

impl FileRecord {
    fn ok(&self) -> bool {
        self.roundtrip != Some(false) && !self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

#[derive(Debug, Serialize)]
struct Summary {
    files: usize,
    ok: usize,
    with_problems: usize,
}

/// Expand the command-line paths into spec files: directories are searched
/// recursively for `*.spec` (sorted, so output order is stable); files are
/// taken as given, whatever their name.
fn collect(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .follow_links(false)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "spec"))
                .map(walkdir::DirEntry::into_path)
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
}

fn check_file(path: &Path, roundtrip: bool) -> FileRecord {
    let display = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return FileRecord {
                path: display,
                roundtrip: None,
                diagnostics: vec![DiagRecord {
                    severity: Severity::Error,
                    code: "unreadable",
                    message: format!("cannot read the file: {e}"),
                    line: 0,
                    column: 0,
                    end_line: 0,
                    end_column: 0,
                    span: 0..0,
                }],
                source: None,
            };
        }
    };
    let spec = Spec::parse(bytes.as_slice());
    let rt = roundtrip.then(|| spec.reconstruct() == bytes);
    let mut diagnostics: Vec<DiagRecord> = spec
        .diagnostics()
        .iter()
        .map(|d| {
            let (line, column) = spec.line_col(d.span.start);
            let (end_line, end_column) = spec.line_col(d.span.end);
            DiagRecord {
                severity: d.severity,
                code: d.code,
                message: d.message.clone(),
                line,
                column,
                end_line,
                end_column,
                span: d.span.clone(),
            }
        })
        .collect();
    if rt == Some(false) {
        diagnostics.push(DiagRecord {
            severity: Severity::Error,
            code: "roundtrip",
            message: "the syntax tree does not reproduce the file byte for byte".into(),
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
            span: 0..0,
        });
    }
    FileRecord {
        path: display,
        roundtrip: rt,
        diagnostics,
        source: Some(bytes),
    }
}

/// A diagnostic in miette's terms, with the file as source.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Report {
    message: String,
    severity: miette::Severity,
    code: String,
    src: NamedSource<String>,
    label: Option<LabeledSpan>,
}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.label.as_ref().map(|_| &self.src as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label
            .clone()
            .map(|l| Box::new(std::iter::once(l)) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
}

/// Byte offset in the lossily decoded text that corresponds to `offset` in
/// the original bytes.
fn lossy_offset(bytes: &[u8], offset: usize) -> usize {
    match std::str::from_utf8(bytes) {
        Ok(_) => offset,
        Err(_) => String::from_utf8_lossy(&bytes[..offset.min(bytes.len())]).len(),
    }
}

fn render(out: &Output, rec: &FileRecord, min: Severity) -> String {
    let mut s = String::new();
    let text = rec
        .source
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    for d in rec.diagnostics.iter().filter(|d| d.severity >= min) {
        let label = rec.source.as_deref().filter(|_| d.line > 0).map(|b| {
            let start = lossy_offset(b, d.span.start);
            let end = lossy_offset(b, d.span.end).max(start);
            LabeledSpan::new(Some(d.code.to_owned()), start, end - start)
        });
        let report = Report {
            message: format!("{}:{}:{}: {}", rec.path, d.line, d.column, d.message),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            code: d.code.to_owned(),
            src: NamedSource::new(&rec.path, text.clone()),
            label,
        };
        s.push_str(&out.render(&report));
    }
    s
}

fn check(args: &SpecCheckArgs, out: &Output) -> miette::Result<ExitCode> {
    let files = collect(&args.paths);
    let records: Vec<FileRecord> = files.par_iter().map(|p| check_file(p, args.roundtrip)).collect();
    let ok = records.iter().filter(|r| r.ok()).count();
    let summary = Summary {
        files: records.len(),
        ok,
        with_problems: records.len() - ok,
    };
    match args.format {
        ReportFormat::Json => {
            #[derive(Serialize)]
            struct All<'a> {
                files: &'a [FileRecord],
                summary: &'a Summary,
            }
            let json = serde_json::to_string_pretty(&All {
                files: &records,
                summary: &summary,
            })
            .map_err(|e| miette::miette!("cannot serialise the report: {e}"))?;
            println!("{json}");
        }
        ReportFormat::Text => {
            let min = if out.verbosity < 0 {
                Severity::Error
            } else {
                Severity::Warning
            };
            for rec in &records {
                if out.verbosity >= -1 {
                    print!("{}", render(out, rec, min));
                }
                if out.verbosity > 0 && rec.ok() {
                    println!("{}: ok", rec.path);
                }
            }
            println!(
                "{} files, {} ok, {} with problems",
                summary.files, summary.ok, summary.with_problems
            );
        }
    }
    Ok(if summary.with_problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
