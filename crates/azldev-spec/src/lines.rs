//! Physical and logical lines, joined the way rpm's spec reader joins them.
//!
//! rpm reads a spec one physical line at a time into a buffer and keeps
//! appending physical lines while the buffer ends in a backslash immediately
//! followed by the newline, or while a `%{`, `%(` or `%[` opened in it is not
//! closed yet. A backslash escapes the following byte (so `\%{` opens
//! nothing) and `%%` is a literal percent sign. This happens before anything
//! else, so it applies to comment lines too: `# see %{foo` swallows the next
//! line.
//!
//! rpm then expands macros in the whole buffer and hands the *result* out
//! again one line at a time; conditionals and section headers are recognised
//! on those lines. So the unit that matters for structure — what this module
//! calls a logical line — is:
//! - a macro definition (`%global`, `%define`) with its whole body: the
//!   definition swallows backslash-continued lines and open macros alike;
//! - a macro call that stays open across lines (`%{expand: …}`, `%{lua: …}`,
//!   `%(…)`): expansion replaces all of it;
//! - otherwise one physical line. A shell line ending in a backslash is
//!   still its own line to rpm after expansion, and a `%if` or `%endif` on
//!   the next line is still a conditional (`./configure \` ⏎ `%if …`). Such
//!   lines are marked [`RawLine::continued`].

use std::ops::Range;

/// One logical line: one or more physical lines that rpm reads as a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the line terminator (or end of input).
    pub end: usize,
    /// Byte offset one past the last content byte: `end` minus the final
    /// `\n` or `\r\n`.
    pub content_end: usize,
    /// Zero-based index of the first physical line.
    pub first_phys: usize,
    /// Number of physical lines joined into this one.
    pub phys_count: usize,
    /// The line ran into the end of input with a macro still open.
    pub unclosed: bool,
    /// The line ends in a backslash-newline that rpm's reader joins with the
    /// next line (without it mattering for structure; see the module docs).
    pub continued: bool,
}

impl RawLine {
    /// Byte range of the content (without the final terminator).
    pub fn content(&self) -> Range<usize> {
        self.start..self.content_end
    }
}

#[derive(Default)]
struct Counters {
    brace: u32,
    paren: u32,
    bracket: u32,
}

impl Counters {
    fn open(&self) -> bool {
        self.brace > 0 || self.paren > 0 || self.bracket > 0
    }
}

/// Split `src` into logical lines. The lines partition `src` exactly: each
/// starts where the previous one ended and the last ends at `src.len()`.
pub fn split(src: &[u8]) -> Vec<RawLine> {
    let mut out = Vec::with_capacity(src.len() / 32 + 1);
    let mut pos = 0;
    let mut phys = 0;
    while pos < src.len() {
        let start = pos;
        let first_phys = phys;
        let mut c = Counters::default();
        let mut continued;
        let mut unclosed = false;
        let definition = is_definition(&src[pos..]);
        loop {
            let line_end = memchr::memchr(b'\n', &src[pos..]).map_or(src.len(), |i| pos + i + 1);
            continued = scan(&src[pos..line_end], &mut c);
            phys += 1;
            pos = line_end;
            if !((definition && continued) || c.open()) {
                break;
            }
            if pos >= src.len() {
                unclosed = true;
                break;
            }
        }
        let end = pos;
        let mut content_end = end;
        if content_end > start && src[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > start && src[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        out.push(RawLine {
            start,
            end,
            content_end,
            first_phys,
            phys_count: phys - first_phys,
            unclosed,
            continued: continued && !unclosed,
        });
    }
    out
}

/// Whether the text starts (after blanks) a `%global`/`%define`.
fn is_definition(s: &[u8]) -> bool {
    let lead = s.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    let s = &s[lead..];
    [&b"%global"[..], b"%define"]
        .iter()
        .any(|kw| s.starts_with(kw) && s.get(kw.len()).is_some_and(|b| matches!(b, b' ' | b'\t')))
}

/// Scan one physical line (including its `\n`), updating the open-macro
/// counters. Returns whether the line ends in a backslash-newline.
fn scan(line: &[u8], c: &mut Counters) -> bool {
    let mut cont = false;
    let mut i = 0;
    let n = line.len();
    while i < n {
        if !c.open() {
            // Fast path: only `\`, `%` and `\n` matter while nothing is open.
            match memchr::memchr3(b'\\', b'%', b'\n', &line[i..]) {
                Some(off) => i += off,
                None => break,
            }
        }
        match line[i] {
            b'\\' if i + 1 < n => {
                if line[i + 1] == b'\n' {
                    cont = true;
                }
                i += 1;
            }
            b'\n' => cont = false,
            b'%' if i + 1 < n => match line[i + 1] {
                b'{' => {
                    c.brace += 1;
                    i += 1;
                }
                b'(' => {
                    c.paren += 1;
                    i += 1;
                }
                b'[' => {
                    c.bracket += 1;
                    i += 1;
                }
                b'%' => i += 1,
                _ => {}
            },
            b'{' if c.brace > 0 => c.brace += 1,
            b'}' if c.brace > 0 => c.brace -= 1,
            b'(' if c.paren > 0 => c.paren += 1,
            b')' if c.paren > 0 => c.paren -= 1,
            b'[' if c.bracket > 0 => c.bracket += 1,
            b']' if c.bracket > 0 => c.bracket -= 1,
            _ => {}
        }
        i += 1;
    }
    cont
}

/// Byte offsets of the start of every physical line, for line:column lookup.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(src: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', src).map(|i| i + 1));
        Self { starts }
    }

    /// One-based line and column (in bytes) of `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        (line + 1, offset - self.starts[line] + 1)
    }

    /// Byte offset where one-based physical line `line` starts.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(src: &str) -> Vec<&str> {
        split(src.as_bytes())
            .iter()
            .map(|l| &src[l.start..l.end])
            .collect()
    }

    #[test]
    fn plain_lines_and_terminators() {
        assert_eq!(spans("a\nb\r\nc"), ["a\n", "b\r\n", "c"]);
        let l = split(b"b\r\n");
        assert_eq!(l[0].content_end, 1);
    }

    #[test]
    fn backslash_continuation() {
        assert_eq!(
            spans("%define f() \\\n  x \\\n  y\nz\n"),
            ["%define f() \\\n  x \\\n  y\n", "z\n"]
        );
        assert_eq!(spans("  %global x a \\\nb\n"), ["  %global x a \\\nb\n"]);
        // An escaped backslash followed by newline is not a continuation.
        assert_eq!(spans("%global a \\\\\nb\n"), ["%global a \\\\\n", "b\n"]);
        // Backslash before CRLF does not continue (rpm looks for `\` `\n`).
        assert_eq!(spans("%global a \\\r\nb\n"), ["%global a \\\r\n", "b\n"]);
        // Outside definitions each physical line stays a line of its own.
        let l = split(b"./configure \\\n%if 1\n");
        assert_eq!(l.len(), 2);
        assert!(l[0].continued);
    }

    #[test]
    fn unclosed_macros_join() {
        assert_eq!(
            spans("%global d %{expand:\nx {y}\n}\nz\n"),
            ["%global d %{expand:\nx {y}\n}\n", "z\n"]
        );
        assert_eq!(
            spans("# see %{foo\nbar}\nbaz\n"),
            ["# see %{foo\nbar}\n", "baz\n"]
        );
        assert_eq!(spans("%(echo (a)\n)\nq"), ["%(echo (a)\n)\n", "q"]);
        assert_eq!(spans("%[1 +\n2]\n"), ["%[1 +\n2]\n"]);
        // Escaped and doubled percent signs open nothing.
        assert_eq!(spans("\\%{a\n%%{b\nc\n"), ["\\%{a\n", "%%{b\n", "c\n"]);
        // A plain brace outside a macro is not counted.
        assert_eq!(spans("{\n}\n"), ["{\n", "}\n"]);
    }

    #[test]
    fn unclosed_to_eof() {
        let l = split(b"%{lua:\nprint(1)\n");
        assert_eq!(l.len(), 1);
        assert!(l[0].unclosed);
        assert_eq!(l[0].phys_count, 2);
    }

    #[test]
    fn line_index() {
        let idx = LineIndex::new(b"ab\ncd\n");
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(4), (2, 2));
        assert_eq!(idx.line_col(6), (3, 1));
        assert_eq!(idx.line_start(2), Some(3));
    }
}
