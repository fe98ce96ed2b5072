//! The report as text: `git diff`-style unified diff, a per-component stat,
//! Markdown for a pull-request comment (a minijinja template, replaceable),
//! JSON for bots, and the names of the components that differ.

use std::fmt::Write as _;

use serde::Serialize;

use crate::{ComponentDiff, Error, Report, Status, patch};

/// The built-in Markdown template.
pub const MARKDOWN_TEMPLATE: &str = include_str!("../templates/report.md.j2");

/// Per-component line limit of the Markdown diff, by default.
pub const DEFAULT_MAX_LINES: usize = 300;

/// `git diff`-style: every changed file of every component, with `a/` and
/// `b/` paths under the rendered layout. A component that fails to render
/// is a `#` comment (which `git apply` and `patch` skip) with the diagnostic.
#[must_use]
pub fn unified(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for c in &report.components {
        let mut comment = |side: &str, err: &str| {
            let first = format!("# {}: does not render at {side}:", c.name);
            out.push_str(&if color {
                format!("\x1b[33m{first}\x1b[m\n")
            } else {
                format!("{first}\n")
            });
            for l in err.lines() {
                let l = format!("#   {l}");
                out.push_str(&if color {
                    format!("\x1b[33m{l}\x1b[m\n")
                } else {
                    format!("{l}\n")
                });
            }
        };
        if let Some(e) = &c.base_error {
            comment(&report.base.label, e);
        }
        if let Some(e) = &c.head_error {
            comment(&report.head.label, e);
        }
        for f in &c.files {
            out.push_str(&patch::render(&f.lines, color));
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn files_summary(c: &ComponentDiff) -> String {
    let mut parts = Vec::new();
    if c.files_added > 0 {
        parts.push(format!("{} added", c.files_added));
    }
    if c.files_removed > 0 {
        parts.push(format!("{} removed", c.files_removed));
    }
    if c.files_modified > 0 {
        parts.push(format!("{} modified", c.files_modified));
    }
    if c.files_renamed > 0 {
        parts.push(format!("{} moved", c.files_renamed));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "{} ({})",
            plural(c.files.len(), "file", "files"),
            parts.join(", ")
        )
    }
}

/// The summary line shared by `stat` and the end of other formats.
#[must_use]
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let differ = report.components.iter().filter(|c| c.differs()).count();
    if differ == 0 {
        let mut line = format!(
            "no difference in the generated specs ({})",
            plural(s.components, "component", "components")
        );
        if s.touched > 0 {
            line.push_str(&format!(
                "; {} touched without effect",
                plural(s.touched, "component", "components")
            ));
        }
        return line;
    }
    let mut parts = Vec::new();
    for (n, word) in [
        (s.added, "added"),
        (s.removed, "removed"),
        (s.renamed, "renamed"),
        (s.changed, "changed"),
        (s.failed, "failed"),
        (s.fixed, "fixed"),
        (s.touched, "touched"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let mut line = format!(
        "{differ} of {} differ: {}",
        plural(s.components, "component", "components"),
        parts.join(", ")
    );
    if s.files_changed > 0 {
        line.push_str(&format!(
            "; {}, +{} -{}",
            plural(s.files_changed, "file", "files"),
            s.lines_added,
            s.lines_removed
        ));
    }
    line
}

/// Per component: status, lines added/removed, files added/removed/
/// modified, then its notes and errors; a summary line last.
#[must_use]
pub fn stat(report: &Report) -> String {
    let mut out = String::new();
    let width = report
        .components
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in &report.components {
        let status = match &c.old_name {
            Some(old) => format!("{} (from {old})", c.status.as_str()),
            None => c.status.as_str().to_owned(),
        };
        let mut line = format!("{:<width$}  {status:<8}", c.name);
        if !c.files.is_empty() {
            let _ = write!(
                line,
                "  +{} -{}  {}",
                c.lines_added,
                c.lines_removed,
                files_summary(c)
            );
        } else if c.status == Status::Touched {
            line.push_str("  configuration changed, generated files identical");
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for n in &c.notes {
            let _ = writeln!(out, "    {n}");
        }
        if let Some(e) = &c.base_error {
            let _ = writeln!(
                out,
                "    at {}: {}",
                report.base.label,
                e.replace('\n', "\n      ")
            );
        }
        if let Some(e) = &c.head_error {
            let _ = writeln!(
                out,
                "    at {}: {}",
                report.head.label,
                e.replace('\n', "\n      ")
            );
        }
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// The names of the components whose generated specs differ, one a line
/// (the new name of a renamed one).
#[must_use]
pub fn name_only(report: &Report) -> String {
    report
        .components
        .iter()
        .filter(|c| c.differs())
        .map(|c| format!("{}\n", c.name))
        .collect()
}

/// The report as pretty JSON (file patches included, without colour).
///
/// # Errors
/// Serialisation failed (it does not, for this data).
pub fn json(report: &Report) -> Result<String, Error> {
    serde_json::to_string_pretty(report)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| Error::Template(e.to_string()))
}

fn snake_keys(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut child) in old {
                snake_keys(&mut child);
                map.insert(k.replace('-', "_"), child);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(snake_keys),
        _ => {}
    }
}

/// What a Markdown template sees of one component: the report's fields plus
/// its diff, truncated.
#[derive(Debug, Serialize)]
struct MdComponent<'a> {
    #[serde(flatten)]
    component: &'a ComponentDiff,
    /// The component's patches, at most `max_lines` lines.
    diff: String,
    truncated: bool,
    /// Lines left out of `diff`.
    omitted_lines: usize,
    /// A code fence longer than any run of backticks in the diff.
    fence: String,
}

#[derive(Debug, Serialize)]
struct MdContext<'a> {
    base: &'a crate::SideInfo,
    head: &'a crate::SideInfo,
    summary: &'a crate::Summary,
    summary_line: String,
    differs: bool,
    components: Vec<MdComponent<'a>>,
    max_lines: usize,
}

fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

/// Escape text for a Markdown table cell.
fn cell(value: String) -> String {
    value
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', "<br>")
}

/// GitHub's limit on a pull-request comment, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// [`markdown`], kept under `limit` characters (GitHub's comment limit,
/// [`COMMENT_LIMIT`]): when the report is longer, each component's diff is
/// cut shorter (halving `max_lines` down to none) and, if the tables alone
/// are still too long, the text is cut at a line; a note at the end says
/// what was left out.
///
/// # Errors
/// As [`markdown`].
pub fn markdown_limited(
    report: &Report,
    template: Option<&str>,
    max_lines: usize,
    limit: usize,
) -> Result<String, Error> {
    let len = |s: &str| s.chars().count();
    let mut lines = max_lines;
    let mut text = markdown(report, template, lines)?;
    while len(&text) > limit && lines > 0 {
        lines /= 2;
        text = markdown(report, template, lines)?;
    }
    let mut note = String::new();
    if lines < max_lines {
        note = format!(
            "\n*Diffs cut to {lines} lines each to stay under GitHub's {limit}-character comment limit; run `azldev diff` locally for all of it.*\n"
        );
    }
    if len(&text) + len(&note) > limit {
        let shown = report.components.len();
        note = format!(
            "\n*Report cut to stay under GitHub's {limit}-character comment limit ({shown} components in all, diffs left out); run `azldev diff` locally for all of it.*\n"
        );
        let budget = limit.saturating_sub(len(&note) + 1);
        let cut: String = text.chars().take(budget).collect();
        let end = cut.rfind('\n').map_or(0, |i| i + 1);
        text = cut[..end].to_owned();
    }
    text.push_str(&note);
    Ok(text)
}

/// Markdown for a pull-request comment, from `template` (minijinja; the
/// built-in [`MARKDOWN_TEMPLATE`] when `None`). Each component's diff is cut
/// at `max_lines` lines. Templates get `base`, `head` (`label`, `commit`),
/// `summary` (the counts), `summary_line`, `differs`, `max_lines` and
/// `components` (every field of the JSON report, spelt with `_` for the
/// report's `-`, plus `diff`, `truncated`,
/// `omitted_lines`, `fence`), and a `cell` filter escaping table cells.
///
/// # Errors
/// The template does not parse or fails to render.
pub fn markdown(report: &Report, template: Option<&str>, max_lines: usize) -> Result<String, Error> {
    let components = report
        .components
        .iter()
        .map(|c| {
            let mut all = String::new();
            for f in &c.files {
                all.push_str(&f.patch);
            }
            let total = all.lines().count();
            let (diff, truncated) = if total > max_lines {
                let mut kept: String = all.lines().take(max_lines).collect::<Vec<_>>().join("\n");
                kept.push('\n');
                (kept, true)
            } else {
                (all, false)
            };
            MdComponent {
                component: c,
                fence: fence_for(&diff),
                omitted_lines: total.saturating_sub(max_lines),
                diff,
                truncated,
            }
        })
        .collect();
    let ctx = MdContext {
        base: &report.base,
        head: &report.head,
        summary: &report.summary,
        summary_line: summary_line(report),
        differs: report.has_differences(),
        components,
        max_lines,
    };
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("cell", cell);
    let source = template.unwrap_or(MARKDOWN_TEMPLATE);
    env.add_template("report.md", source)
        .map_err(|e| Error::Template(describe(&e)))?;
    let tmpl = env
        .get_template("report.md")
        .map_err(|e| Error::Template(describe(&e)))?;
    // The JSON report's keys are kebab-case; templates name fields as Rust
    // does (`c.head_error`, `summary.lines_added`).
    let mut value = serde_json::to_value(&ctx).map_err(|e| Error::Template(e.to_string()))?;
    snake_keys(&mut value);
    tmpl.render(minijinja::Value::from_serialize(&value))
        .map_err(|e| Error::Template(describe(&e)))
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    s
}
