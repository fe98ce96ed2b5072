//! Line wrapping exactly as Python's `textwrap.TextWrapper(width=75,
//! subsequent_indent="  ").fill()` does it (the defaults otherwise: tabs
//! expanded to 8 columns, whitespace replaced by spaces, long words broken,
//! preferably after a hyphen, whitespace dropped at line ends).
//!
//! The word splitting follows the semantics of textwrap's `wordsep_re`
//! (whitespace runs; em-dashes between words; words, split after hyphens
//! between letters), implemented as a scanner because it needs lookaround.

/// The whitespace characters textwrap knows (`'\t\n\x0b\x0c\r '`).
fn is_tw_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// Python's `str.isspace()`.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\x1c'..='\x1f')
}

/// Python's `str.strip()` without arguments.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `\w` (Unicode).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Python's `\d` (Unicode decimal digits; other numerics approximated).
fn is_decimal(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && is_nd(c))
}

/// Decimal digits outside ASCII (a few common blocks; the rest of Unicode's
/// `Nd` is rare enough in commit messages to be treated as letters).
fn is_nd(c: char) -> bool {
    let u = c as u32;
    [
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
        0x0E50, 0x0ED0, 0x0F20, 0x1040, 0xFF10,
    ]
    .iter()
    .any(|&base| (base..base + 10).contains(&u))
}

/// textwrap's `letter`: `[^\d\W]`.
fn is_letter(c: char) -> bool {
    is_word(c) && !is_decimal(c)
}

/// textwrap's `word_punct`: `[\w!"\'&.,?]`.
fn is_word_punct(c: char) -> bool {
    is_word(c) || matches!(c, '!' | '"' | '\'' | '&' | '.' | ',' | '?')
}

/// `str.expandtabs(8)`, then every textwrap whitespace character to a space.
fn munge(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    let mut col = 0usize;
    for c in text.chars() {
        match c {
            '\t' => {
                let n = 8 - col % 8;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\n' | '\r' => {
                out.push(' ');
                col = 0;
            }
            c if is_tw_space(c) => {
                out.push(' ');
                col += 1;
            }
            c => {
                out.push(c);
                col += 1;
            }
        }
    }
    out
}

/// A run of two or more dashes at `q` followed by a word character.
fn em_dash_at(t: &[char], q: usize) -> bool {
    let mut e = q;
    while e < t.len() && t[e] == '-' {
        e += 1;
    }
    e - q >= 2 && e < t.len() && is_word(t[e])
}

/// Split into chunks the way `TextWrapper._split` does.
fn split_chunks(t: &[char]) -> Vec<&[char]> {
    let n = t.len();
    let letter = |i: usize| i < n && is_letter(t[i]);
    let mut chunks = Vec::new();
    let mut p = 0;
    while p < n {
        if is_tw_space(t[p]) {
            let mut q = p;
            while q < n && is_tw_space(t[q]) {
                q += 1;
            }
            chunks.push(&t[p..q]);
            p = q;
            continue;
        }
        // An em-dash between words.
        if p > 0 && is_word_punct(t[p - 1]) && t[p] == '-' && em_dash_at(t, p) {
            let mut q = p;
            while q < n && t[q] == '-' {
                q += 1;
            }
            chunks.push(&t[p..q]);
            p = q;
            continue;
        }
        // A word (lazily extended), possibly ending after a hyphen.
        let mut q = p + 1;
        let end = loop {
            // Hyphenated word: `-` preceded by two letters (or letter,
            // hyphen, letter) and followed by letter, optional hyphen, letter.
            if q < n && t[q] == '-' {
                let behind = (q >= 2 && letter(q - 2) && letter(q - 1))
                    || (q >= 3 && letter(q - 3) && t[q - 2] == '-' && letter(q - 1));
                let ahead =
                    letter(q + 1) && (letter(q + 2) || (q + 2 < n && t[q + 2] == '-' && letter(q + 3)));
                if behind && ahead {
                    break q + 1;
                }
            }
            if q == n || is_tw_space(t[q]) {
                break q;
            }
            if is_word_punct(t[q - 1]) && em_dash_at(t, q) {
                break q;
            }
            q += 1;
        };
        chunks.push(&t[p..end]);
        p = end;
    }
    chunks
}

fn is_blank(chunk: &[char]) -> bool {
    chunk.iter().all(|&c| is_py_space(c))
}

/// `TextWrapper(width=75, subsequent_indent="  ").fill(text)`.
pub fn fill(text: &str) -> String {
    const WIDTH: usize = 75;
    const INDENT: &str = "  ";
    let munged = munge(text);
    let mut chunks: Vec<Vec<char>> = split_chunks(&munged).into_iter().map(<[char]>::to_vec).collect();
    chunks.reverse();
    let mut lines: Vec<String> = Vec::new();
    while !chunks.is_empty() {
        let indent = if lines.is_empty() { "" } else { INDENT };
        let width = WIDTH - indent.len();
        if !lines.is_empty() && chunks.last().is_some_and(|c| is_blank(c)) {
            chunks.pop();
        }
        let mut cur: Vec<Vec<char>> = Vec::new();
        let mut cur_len = 0usize;
        while let Some(c) = chunks.last() {
            if cur_len + c.len() <= width {
                cur_len += c.len();
                if let Some(c) = chunks.pop() {
                    cur.push(c);
                }
            } else {
                break;
            }
        }
        if let Some(chunk) = chunks.last_mut()
            && chunk.len() > width
        {
            // Break the long word, after its last hyphen if that has
            // non-hyphens before it.
            let space_left = if width < 1 { 1 } else { width - cur_len };
            let mut end = space_left;
            if chunk.len() > space_left {
                let hyphen = chunk[..space_left.min(chunk.len())]
                    .iter()
                    .rposition(|&c| c == '-');
                if let Some(h) = hyphen
                    && h > 0
                    && chunk[..h].iter().any(|&c| c != '-')
                {
                    end = h + 1;
                }
            }
            let end = end.min(chunk.len());
            cur.push(chunk[..end].to_vec());
            chunk.drain(..end);
            cur_len = cur.iter().map(Vec::len).sum();
        }
        if cur.last().is_some_and(|c| is_blank(c)) {
            cur_len -= cur.last().map_or(0, Vec::len);
            cur.pop();
        }
        let _ = cur_len;
        if !cur.is_empty() {
            let mut line = String::from(indent);
            for c in &cur {
                line.extend(c.iter());
            }
            lines.push(line);
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(s: &str) -> Vec<String> {
        let t: Vec<char> = s.chars().collect();
        split_chunks(&t).into_iter().map(|c| c.iter().collect()).collect()
    }

    #[test]
    fn splits_like_wordsep_re() {
        assert_eq!(
            chunks("Hello there -- you goof-ball"),
            ["Hello", " ", "there", " ", "--", " ", "you", " ", "goof-", "ball"]
        );
        assert_eq!(chunks("this--that"), ["this", "--", "that"]);
        assert_eq!(chunks("a-b-c"), ["a-b-c"]);
        assert_eq!(chunks("ab-cd-ef"), ["ab-", "cd-", "ef"]);
        assert_eq!(chunks("x-ab-cd"), ["x-ab-", "cd"]);
        assert_eq!(chunks("foo-1.2"), ["foo-1.2"]);
        assert_eq!(chunks("  a  "), ["  ", "a", "  "]);
    }

    #[test]
    fn fills() {
        assert_eq!(fill("- short"), "- short");
        let long = format!("- {}", "word ".repeat(20).trim_end());
        assert_eq!(
            fill(&long),
            "- word word word word word word word word word word word word word word\n  word word word word \
             word word"
        );
        // A long word is broken at the width, after a hyphen when it can be.
        let url = format!("- {}", "x".repeat(80));
        assert_eq!(fill(&url), format!("- {}\n  {}", "x".repeat(73), "x".repeat(7)));
        // Double spaces are kept inside a line.
        assert_eq!(fill("- a  b"), "- a  b");
        assert_eq!(fill("- tab\there"), "- tab   here");
    }
}
