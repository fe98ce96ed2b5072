//! `azldev spec check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use azldev_spec::{Severity, Spec};
use miette::LabeledSpan;
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
#[serde(rename_all = "kebab-case")]
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
#[serde(rename_all = "kebab-case")]
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
    src: Snippet,
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

/// For a file that is not UTF-8: the offset in the lossily decoded text of
/// every byte offset of the original (computed once per file). `None` when
/// the file is UTF-8 and offsets are the same.
fn lossy_offsets(bytes: &[u8]) -> Option<Vec<usize>> {
    if std::str::from_utf8(bytes).is_ok() {
        return None;
    }
    let mut map = Vec::with_capacity(bytes.len() + 1);
    let mut pos = 0;
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().len();
        map.extend(pos..pos + valid);
        pos += valid;
        if !chunk.invalid().is_empty() {
            map.extend(std::iter::repeat_n(pos, chunk.invalid().len()));
            pos += char::REPLACEMENT_CHARACTER.len_utf8();
        }
    }
    map.push(pos);
    Some(map)
}

/// The lines around one diagnostic, as the source its report shows: each
/// report carries only its own few lines (never the whole file), and finding
/// them is a binary search in the file's line index, so a report of many
/// diagnostics costs time linear in their number.
#[derive(Debug)]
struct Snippet {
    name: String,
    text: String,
    /// Zero-based line of the file where `text` starts.
    first_line: usize,
}

/// Lines shown before and after a diagnostic's span (miette's handler shows
/// one; two leave it room).
const CONTEXT_LINES: usize = 2;

impl miette::SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Byte offsets where each line of `text` starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect()
}

/// The snippet of `text` holding `start..end` with context lines, and the
/// span relative to it.
fn snippet(name: &str, text: &str, starts: &[usize], start: usize, end: usize) -> (Snippet, usize, usize) {
    let line_of = |o: usize| starts.partition_point(|&s| s <= o).saturating_sub(1);
    let first = line_of(start).saturating_sub(CONTEXT_LINES);
    let last = line_of(end) + CONTEXT_LINES + 1;
    let from = starts[first];
    let to = starts.get(last).copied().unwrap_or(text.len());
    (
        Snippet {
            name: name.to_owned(),
            text: text[from..to].to_owned(),
            first_line: first,
        },
        start - from,
        end - from,
    )
}

fn render(out: &Output, rec: &FileRecord, min: Severity) -> String {
    let mut s = String::new();
    let text = rec
        .source
        .as_deref()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let starts = line_starts(&text);
    let offsets = rec.source.as_deref().and_then(lossy_offsets);
    let lossy = |o: usize| match &offsets {
        Some(map) => map.get(o).copied().unwrap_or(text.len()),
        None => o,
    };
    for d in rec.diagnostics.iter().filter(|d| d.severity >= min) {
        let mut src = Snippet {
            name: rec.path.clone(),
            text: String::new(),
            first_line: 0,
        };
        let label = rec.source.as_deref().filter(|_| d.line > 0).map(|_| {
            let start = lossy(d.span.start).min(text.len());
            let end = lossy(d.span.end).clamp(start, text.len());
            let (snip, start, end) = snippet(&rec.path, &text, &starts, start, end);
            src = snip;
            LabeledSpan::new(Some(d.code.to_owned()), start, end - start)
        });
        let report = Report {
            // A diagnostic of the file as a whole (it cannot be read) has
            // no position.
            message: if d.line == 0 {
                format!("{}: {}", rec.path, d.message)
            } else {
                format!("{}:{}:{}: {}", rec.path, d.line, d.column, d.message)
            },
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            code: d.code.to_owned(),
            src,
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
