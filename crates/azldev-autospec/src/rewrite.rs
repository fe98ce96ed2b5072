//! Which rpmautospec features a spec uses, and the processed spec text, as
//! `rpmautospec process-distgit` 0.8 writes it.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use regex::Regex;

static AUTORELEASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"%(?:autorelease(?:\s|$)|\{\??autorelease(?:\s+[^\}]*)?\})").expect("valid regex")
});
static CHANGELOG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^%changelog(?:\s.*)?$").expect("valid regex"));
static AUTOCHANGELOG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*%(?:autochangelog|\{\??autochangelog\})").expect("valid regex"));
static DEFINITION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*%define\s+autorelease\s*\(").expect("valid regex"));

/// What a spec uses (rpmautospec-core's `check_specfile_features`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// `%autorelease` before the `%changelog` line.
    pub has_autorelease: bool,
    /// An `%autochangelog` line.
    pub has_autochangelog: bool,
    /// 1-based line of `%changelog`.
    pub changelog_lineno: Option<usize>,
    /// 1-based line of `%autochangelog`.
    pub autochangelog_lineno: Option<usize>,
    /// The spec already holds rpmautospec's `%define autorelease(`.
    pub is_processed: bool,
}

impl Features {
    /// `%autochangelog` is used, or the spec has no changelog at all (then
    /// rpmautospec appends one).
    pub fn needs_autochangelog(&self) -> bool {
        (self.changelog_lineno.is_none() && self.autochangelog_lineno.is_none()) || self.has_autochangelog
    }

    /// Whether `process-distgit` would write anything.
    pub fn processing_necessary(&self) -> bool {
        !self.is_processed && (self.has_autorelease || self.needs_autochangelog())
    }
}

/// The spec's lines as Python's universal-newline reader yields them: split
/// after `\n`, `\r\n` or `\r`, each terminator turned into `\n`.
fn lines(spec: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < spec.len() {
        match spec[i] {
            b'\n' => {
                cur.push(b'\n');
                out.push(std::mem::take(&mut cur));
            }
            b'\r' => {
                if spec.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                cur.push(b'\n');
                out.push(std::mem::take(&mut cur));
            }
            c => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The spec's lines as [`lines`] splits them, without their terminators
/// and without copying.
fn line_slices(spec: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = spec;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match memchr::memchr2(b'\n', b'\r', rest) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => Some(std::mem::take(&mut rest)),
        }
    })
}

/// Detect the features of a spec.
pub fn features(spec: &[u8]) -> Features {
    let mut f = Features::default();
    let mut definition = None;
    static AUTORELEASE_WORD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("autorelease"));
    static AUTOCHANGELOG_WORD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("autochangelog"));
    static DEFINE_WORD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("define"));
    for (n, line) in line_slices(spec).enumerate() {
        let lineno = n + 1;
        // Every pattern needs a `%` and a literal word; test for them before
        // paying for a regular expression (most lines have none).
        if memchr::memchr(b'%', line).is_none() {
            continue;
        }
        let text = || String::from_utf8_lossy(line);
        if f.changelog_lineno.is_none() {
            if !f.has_autorelease && AUTORELEASE_WORD.find(line).is_some() && AUTORELEASE.is_match(&text()) {
                f.has_autorelease = true;
            }
            if line.first() == Some(&b'%') && CHANGELOG.is_match(&text()) {
                f.changelog_lineno = Some(lineno);
            }
        }
        if f.autochangelog_lineno.is_none()
            && AUTOCHANGELOG_WORD.find(line).is_some()
            && AUTOCHANGELOG.is_match(&text())
        {
            f.autochangelog_lineno = Some(lineno);
        }
        if definition.is_none() && DEFINE_WORD.find(line).is_some() && DEFINITION.is_match(&text()) {
            definition = Some(lineno);
        }
    }
    f.has_autochangelog = f.autochangelog_lineno.is_some();
    f.is_processed = definition.is_some();
    f
}

/// The `## START: Set by rpmautospec` … `## END` block, with the blank line
/// rpmautospec leaves after it. `release_number` is `Some` when the spec
/// uses `%autorelease`.
pub fn header_block(version: &str, release_number: Option<i64>, autochangelog: bool) -> String {
    let mut used = Vec::new();
    if release_number.is_some() {
        used.push("autorelease");
    }
    if autochangelog {
        used.push("autochangelog");
    }
    let mut s = format!(
        "## START: Set by rpmautospec\n## (rpmautospec version {version})\n## RPMAUTOSPEC: {}",
        used.join(", ")
    );
    if let Some(n) = release_number {
        s.push_str(&format!(
            "\n%define autorelease(e:s:pb:n) %{{?-p:0.}}%{{lua:\n    release_number = {n};\n    \
             base_release_number = tonumber(rpm.expand(\"%{{?-b*}}%{{!?-b:1}}\"));\n    \
             print(release_number + base_release_number - 1);\n}}%{{?-e:.%{{-e*}}}}%{{?-s:.%{{-s*}}}}%{{!?-n:%{{?dist}}}}"
        ));
    }
    s.push_str("\n## END: Set by rpmautospec\n\n");
    s
}

/// Rewrite a spec: the header block first, then the spec's lines; with
/// `%autochangelog`, everything after the `%changelog` line (or the
/// `%autochangelog` line itself, when there is no `%changelog`) is
/// replaced by the generated changelog; a spec without any changelog gets
/// one appended. `changelog` is the entries joined by blank lines.
pub fn rewrite(spec: &[u8], f: &Features, version: &str, release_number: i64, changelog: &str) -> Vec<u8> {
    let needs = f.needs_autochangelog();
    let mut out = header_block(version, f.has_autorelease.then_some(release_number), needs).into_bytes();
    for (n, line) in lines(spec).iter().enumerate() {
        let lineno = n + 1;
        if let Some(cl) = f.changelog_lineno {
            if f.has_autochangelog && lineno > cl {
                break;
            }
        } else if f.has_autochangelog && Some(lineno) == f.autochangelog_lineno {
            out.extend_from_slice(b"%changelog\n");
            break;
        }
        out.extend_from_slice(line);
    }
    if !f.has_autochangelog && f.changelog_lineno.is_none() {
        out.extend_from_slice(b"\n%changelog\n");
    }
    if needs {
        out.extend_from_slice(b"## START: Generated by rpmautospec\n");
        out.extend_from_slice(changelog.as_bytes());
        out.extend_from_slice(b"\n## END: Generated by rpmautospec\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_slices_split_as_lines_does() {
        for text in [
            &b""[..],
            b"\n",
            b"x",
            b"a\r\nb\rc\n\nd",
            b"\r\r\n\n",
            b"one\ntwo\n",
            b"%changelog\r",
        ] {
            let owned: Vec<Vec<u8>> = lines(text)
                .into_iter()
                .map(|l| l.strip_suffix(b"\n").unwrap_or(&l).to_vec())
                .collect();
            let borrowed: Vec<Vec<u8>> = line_slices(text).map(<[u8]>::to_vec).collect();
            assert_eq!(owned, borrowed, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn detects_with_carriage_returns_and_lines_without_percent() {
        let f =
            features(b"Name: x\r\nRelease: %{autorelease -b 2}\r\n%define autorelease(e) 1\r%changelog\n");
        assert!(f.has_autorelease);
        assert!(f.is_processed);
        assert_eq!(f.changelog_lineno, Some(4));
        assert!(!features(b"Release: autorelease\nchangelog\n").has_autorelease);
    }

    #[test]
    fn detects() {
        let f = features(b"Release: %autorelease\n%changelog\n%autochangelog\n");
        assert_eq!(
            f,
            Features {
                has_autorelease: true,
                has_autochangelog: true,
                changelog_lineno: Some(2),
                autochangelog_lineno: Some(3),
                is_processed: false,
            }
        );
        assert!(f.processing_necessary());
        let f = features(b"Release: 1\n%changelog\n* Mon Jan 01 2024 A <a> - 1-1\n- x\n");
        assert!(!f.processing_necessary());
        let f = features(b"Release: %{autorelease -b 2}\r\n");
        assert!(f.has_autorelease && f.needs_autochangelog());
        assert!(features(b"%define autorelease(e:s:pb:n) x\nRelease: %autorelease\n").is_processed);
    }

    #[test]
    fn rewrites() {
        let spec = b"Name: x\nRelease: %autorelease\n\n%changelog\n# comment\n%autochangelog\n";
        let out = rewrite(spec, &features(spec), "0.8.3", 3, "* e1\n- a\n\n* e2\n- b");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("## START: Set by rpmautospec\n## (rpmautospec version 0.8.3)\n"));
        assert!(text.contains("    release_number = 3;\n"));
        assert!(text.ends_with(
            "## END: Set by rpmautospec\n\nName: x\nRelease: %autorelease\n\n%changelog\n## START: Generated \
             by rpmautospec\n* e1\n- a\n\n* e2\n- b\n## END: Generated by rpmautospec\n"
        ));
        // No changelog at all: one is appended.
        let spec = b"Name: x\nRelease: 1";
        let text = String::from_utf8(rewrite(spec, &features(spec), "0.8.3", 1, "* e")).expect("utf-8");
        assert!(text.ends_with("## RPMAUTOSPEC: autochangelog\n## END: Set by rpmautospec\n\nName: x\nRelease: 1\n%changelog\n## START: Generated by rpmautospec\n* e\n## END: Generated by rpmautospec\n"));
    }
}
