//! Changelog entries in rpmautospec 0.8's form, and the magic comments of
//! commit messages.

use std::sync::LazyLock;

use regex::Regex;

use crate::textwrap::{fill, py_strip};

/// What a commit message asks for in `[…]` lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Magic {
    /// `[skip changelog]`: no entry for this commit (it still counts).
    pub skip_changelog: bool,
    /// `[bump release: N]`: the release number becomes at least N.
    pub bump_release: u64,
}

static MAGIC_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\[(.*)\]\s*$").expect("valid regex"));
static SKIP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*skip\s+changelog").expect("valid regex"));
static BUMP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*bump\s+release\s*(?::\s*)?([0-9]+)").expect("valid regex"));
static ELLIPSIS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\.{3,}|…+)\s*(.*)$").expect("valid regex"));

/// Parse the magic comments of a commit message: a line that is only
/// `[part, part…]`, each part `skip changelog` or `bump release: N`.
pub fn parse_magic(message: &str) -> Magic {
    let mut m = Magic::default();
    for line in message.split('\n') {
        let Some(c) = MAGIC_LINE.captures(line) else {
            continue;
        };
        for part in c.get(1).map_or("", |g| g.as_str()).split(',') {
            if SKIP.is_match(part) {
                m.skip_changelog = true;
            }
            if let Some(b) = BUMP.captures(part) {
                let n = b
                    .get(1)
                    .map_or("0", |g| g.as_str())
                    .parse::<u64>()
                    .unwrap_or(u64::MAX);
                m.bump_release = m.bump_release.max(n);
            }
        }
    }
    m
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeforeSubject,
    Subject,
    BeforeBody,
    InContinuation,
    Body,
}

/// The changelog items of a commit message: the subject (its lines joined,
/// a leading `-` removed, `…`/`...` continuations appended), then each `-`
/// bullet of the body; anything else ends the entry. `%` is doubled.
pub fn commitlog_items(message: &str) -> Vec<String> {
    let mut items: Vec<Vec<String>> = vec![Vec::new()];
    let mut state = State::BeforeSubject;
    for raw in message.split('\n') {
        let quoted = raw.replace('%', "%%");
        let mut line: &str = py_strip(&quoted);
        if state == State::BeforeSubject {
            if line.is_empty() {
                continue;
            }
            state = State::Subject;
            if let Some(rest) = line.strip_prefix('-') {
                line = rest.trim_start_matches(crate::textwrap::is_py_space);
            }
        }
        if state == State::Subject {
            if !line.is_empty() {
                items[0].push(line.to_owned());
                continue;
            }
            state = State::BeforeBody;
        }
        if state == State::BeforeBody {
            if line.is_empty() {
                continue;
            }
            if let Some(c) = ELLIPSIS.captures(line) {
                state = State::InContinuation;
                items[0].push(c.get(1).map_or("", |g| g.as_str()).to_owned());
                continue;
            }
            if !line.starts_with('-') {
                break;
            }
            state = State::Body;
        }
        if state == State::InContinuation {
            if line.is_empty() || line.starts_with('-') {
                state = State::Body;
            } else {
                items[0].push(line.to_owned());
                continue;
            }
        }
        // Body.
        if line.is_empty() {
            break;
        }
        if let Some(rest) = line.strip_prefix('-') {
            line = rest.trim_start_matches(crate::textwrap::is_py_space);
            items.push(Vec::new());
        }
        if let Some(last) = items.last_mut() {
            last.push(line.to_owned());
        }
    }
    items.into_iter().map(|l| l.join(" ")).collect()
}

/// What an entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryBody {
    /// Items from a commit message.
    Commit { message: String },
    /// `- RPMAUTOSPEC: <detail>` (e.g. `unresolvable merge`).
    Error(String),
    /// The text of the `changelog` file, verbatim.
    Verbatim(String),
}

/// One changelog entry, newest first in [`crate::History::entries`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The commit it comes from.
    pub commit: gix::ObjectId,
    /// Committer time, Unix seconds.
    pub time: i64,
    /// `Name <email>` of the author.
    pub author: String,
    /// Expanded `epoch:version` of the spec in that commit (`None` when it
    /// could not be parsed).
    pub epoch_version: Option<String>,
    /// The complete release (`0.` prefix, number with base, extraversion,
    /// snapshot), without the dist tag.
    pub release: String,
    pub body: EntryBody,
}

impl Entry {
    /// The entry as rpmautospec 0.8 writes it (no trailing newline, except
    /// what a verbatim `changelog` file has).
    pub fn format(&self) -> String {
        if let EntryBody::Verbatim(text) = &self.body {
            return text.clone();
        }
        let mut out = format!("* {} {}", format_date(self.time), self.author);
        if let Some(ev) = self.epoch_version.as_deref().filter(|e| !e.is_empty()) {
            out.push_str(" - ");
            out.push_str(ev);
            if !self.release.is_empty() {
                out.push('-');
                out.push_str(&self.release);
            }
        }
        let items = match &self.body {
            EntryBody::Error(detail) => vec![format!("RPMAUTOSPEC: {detail}")],
            EntryBody::Commit { message } => commitlog_items(message),
            EntryBody::Verbatim(_) => Vec::new(),
        };
        for item in items {
            out.push('\n');
            out.push_str(&fill(&format!("- {item}")));
        }
        out
    }
}

/// `%a %b %d %Y` of a Unix time, in UTC, C locale.
pub fn format_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let wd = DAYS[days.rem_euclid(7) as usize];
    let mon = MONTHS[(m - 1).clamp(0, 11) as usize];
    format!("{wd} {mon} {d:02} {y}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "Thu Jan 01 1970");
        assert_eq!(format_date(1_777_507_200), "Thu Apr 30 2026");
        assert_eq!(format_date(951_782_400), "Tue Feb 29 2000");
        assert_eq!(format_date(-1), "Wed Dec 31 1969");
    }

    #[test]
    fn magic() {
        assert_eq!(
            parse_magic("x\n\n[bump release: 7]\n"),
            Magic {
                skip_changelog: false,
                bump_release: 7
            }
        );
        assert_eq!(
            parse_magic("[skip changelog, bump release 3]"),
            Magic {
                skip_changelog: true,
                bump_release: 3
            }
        );
        assert_eq!(parse_magic("see [bump release: 7] here"), Magic::default());
        assert_eq!(parse_magic("[Bump release: 7]"), Magic::default());
    }

    #[test]
    fn items() {
        assert_eq!(commitlog_items("- Fix 100% of it\n"), ["Fix 100%% of it"]);
        assert_eq!(
            commitlog_items("Subject\nsecond line\n\n- a\n  cont\n- b\n\nignored\n"),
            ["Subject second line", "a cont", "b"]
        );
        assert_eq!(
            commitlog_items("Subject\n\nBody text\n- not a bullet\n"),
            ["Subject"]
        );
        assert_eq!(
            commitlog_items("Subject\n\n... continued\nmore\n- b\n"),
            ["Subject continued more", "b"]
        );
    }
}
