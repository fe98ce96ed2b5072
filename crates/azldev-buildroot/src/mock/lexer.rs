//! Tokens of the Python subset mock configuration files are written in.
//!
//! Logical lines as Python makes them: newlines inside brackets and after a
//! backslash continue the line; comments and blank lines vanish. A logical
//! line that starts indented yields an [`Tok::Indent`] token (the parser
//! reports it, or skips it as the body of a construct it already reported).

use std::ops::Range;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Name(String),
    /// A string literal (`prefix` lower-cased: `r`, `b`, `f`, `u`, combinations).
    Str {
        value: String,
        prefix: String,
    },
    Int(i64),
    Float(f64),
    Op(&'static str),
    Newline,
    Indent,
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Range<usize>,
}

/// A lexing problem: byte range and message.
#[derive(Debug, Clone)]
pub(crate) struct LexError {
    pub span: Range<usize>,
    pub message: String,
}

const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
    "^=", "@=", "**", "//", "<<", ">>", "->", ":=", "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<",
    ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "=",
];

pub(crate) fn tokenize(src: &str) -> (Vec<Token>, Vec<LexError>) {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        depth: 0,
        tokens: Vec::new(),
        errors: Vec::new(),
    };
    lx.run();
    (lx.tokens, lx.errors)
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    tokens: Vec<Token>,
    errors: Vec<LexError>,
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> Option<u8> {
        self.bytes.get(self.pos + off).copied()
    }

    fn push(&mut self, tok: Tok, start: usize) {
        self.tokens.push(Token {
            tok,
            span: start..self.pos,
        });
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(LexError {
            span,
            message: message.into(),
        });
    }

    fn at_line_start(&self) -> bool {
        self.depth == 0 && matches!(self.tokens.last().map(|t| &t.tok), None | Some(Tok::Newline))
    }

    fn run(&mut self) {
        let mut line_start = true;
        while self.pos < self.bytes.len() {
            if line_start && self.at_line_start() {
                line_start = false;
                let start = self.pos;
                while matches!(self.peek(0), Some(b' ' | b'\t' | b'\x0c')) {
                    self.pos += 1;
                }
                // Blank and comment-only lines do not count.
                match self.peek(0) {
                    None | Some(b'\n' | b'\r' | b'#') => {}
                    Some(_) if self.pos > start => {
                        self.push(Tok::Indent, start);
                    }
                    Some(_) => {}
                }
                continue;
            }
            let c = self.bytes[self.pos];
            match c {
                b' ' | b'\t' | b'\x0c' | b'\r' => self.pos += 1,
                b'#' => {
                    while !matches!(self.peek(0), None | Some(b'\n')) {
                        self.pos += 1;
                    }
                }
                b'\\' => {
                    let start = self.pos;
                    self.pos += 1;
                    if self.peek(0) == Some(b'\r') {
                        self.pos += 1;
                    }
                    if self.peek(0) == Some(b'\n') {
                        self.pos += 1;
                    } else {
                        self.error(start..self.pos, "unexpected `\\` outside a string");
                    }
                }
                b'\n' => {
                    let start = self.pos;
                    self.pos += 1;
                    if self.depth == 0 {
                        if !matches!(self.tokens.last().map(|t| &t.tok), None | Some(Tok::Newline)) {
                            self.push(Tok::Newline, start);
                        }
                        line_start = true;
                    }
                }
                b'0'..=b'9' => self.number(),
                b'.' if matches!(self.peek(1), Some(b'0'..=b'9')) => self.number(),
                b'\'' | b'"' => self.string(self.pos, String::new()),
                c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => self.name(),
                _ => self.op(),
            }
        }
        let end = self.pos;
        if self.depth > 0 {
            self.error(end..end, "unexpected end of file: a bracket is not closed");
        }
        if !matches!(self.tokens.last().map(|t| &t.tok), None | Some(Tok::Newline)) {
            self.push(Tok::Newline, end);
        }
        self.push(Tok::Eof, end);
    }

    fn name(&mut self) {
        let start = self.pos;
        while let Some(ch) = self.src[self.pos..].chars().next() {
            if ch == '_' || ch.is_alphanumeric() {
                self.pos += ch.len_utf8();
            } else {
                break;
            }
        }
        let word = &self.src[start..self.pos];
        let lower = word.to_ascii_lowercase();
        let is_prefix = matches!(lower.as_str(), "r" | "u" | "b" | "f" | "br" | "rb" | "fr" | "rf");
        if is_prefix && matches!(self.peek(0), Some(b'\'' | b'"')) {
            self.string(start, lower);
        } else {
            self.push(Tok::Name(word.to_owned()), start);
        }
    }

    fn number(&mut self) {
        let start = self.pos;
        let radix = match (self.peek(0), self.peek(1).map(|b| b.to_ascii_lowercase())) {
            (Some(b'0'), Some(b'x')) => 16,
            (Some(b'0'), Some(b'o')) => 8,
            (Some(b'0'), Some(b'b')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.pos += 2;
            let digits_start = self.pos;
            while matches!(self.peek(0), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
                self.pos += 1;
            }
            let digits: String = self.src[digits_start..self.pos]
                .chars()
                .filter(|&c| c != '_')
                .collect();
            match i64::from_str_radix(&digits, radix) {
                Ok(v) => self.push(Tok::Int(v), start),
                Err(_) => {
                    self.error(start..self.pos, "invalid integer literal");
                    self.push(Tok::Int(0), start);
                }
            }
            return;
        }
        let mut is_float = false;
        while let Some(c) = self.peek(0) {
            match c {
                b'0'..=b'9' | b'_' => self.pos += 1,
                b'.' if !is_float => {
                    is_float = true;
                    self.pos += 1;
                }
                b'e' | b'E' => {
                    is_float = true;
                    self.pos += 1;
                    if matches!(self.peek(0), Some(b'+' | b'-')) {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        if matches!(self.peek(0), Some(c) if c.is_ascii_alphabetic()) {
            while matches!(self.peek(0), Some(c) if c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            self.error(start..self.pos, "invalid number literal");
            self.push(Tok::Int(0), start);
            return;
        }
        let text: String = self.src[start..self.pos].chars().filter(|&c| c != '_').collect();
        if is_float {
            match text.parse::<f64>() {
                Ok(v) => self.push(Tok::Float(v), start),
                Err(_) => {
                    self.error(start..self.pos, "invalid float literal");
                    self.push(Tok::Float(0.0), start);
                }
            }
        } else if text.len() > 1 && text.starts_with('0') && text.bytes().any(|b| b != b'0') {
            self.error(
                start..self.pos,
                "leading zeros in a decimal integer are not allowed in Python 3 (use 0o for octal)",
            );
            self.push(Tok::Int(0), start);
        } else {
            match text.parse::<i64>() {
                Ok(v) => self.push(Tok::Int(v), start),
                Err(_) => {
                    self.error(start..self.pos, "integer literal out of range");
                    self.push(Tok::Int(0), start);
                }
            }
        }
    }

    /// A string literal; `self.pos` is at the opening quote, `start` at the prefix.
    fn string(&mut self, start: usize, prefix: String) {
        let raw = prefix.contains('r');
        let quote = self.bytes[self.pos];
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut value = String::new();
        loop {
            let Some(ch) = self.src[self.pos..].chars().next() else {
                self.error(
                    start..self.pos,
                    if triple {
                        "unterminated triple-quoted string"
                    } else {
                        "unterminated string"
                    },
                );
                break;
            };
            if ch as u32 == u32::from(quote) {
                if !triple {
                    self.pos += 1;
                    break;
                }
                if self.peek(1) == Some(quote) && self.peek(2) == Some(quote) {
                    self.pos += 3;
                    break;
                }
                value.push(ch);
                self.pos += 1;
                continue;
            }
            if ch == '\n' && !triple {
                self.error(
                    start..self.pos,
                    "unterminated string (a newline before the closing quote)",
                );
                break;
            }
            if ch == '\\' {
                let esc_start = self.pos;
                self.pos += 1;
                let Some(next) = self.src[self.pos..].chars().next() else {
                    continue;
                };
                if raw {
                    // Raw strings keep the backslash; it only protects the next char.
                    value.push('\\');
                    value.push(next);
                    self.pos += next.len_utf8();
                    continue;
                }
                self.pos += next.len_utf8();
                match next {
                    '\n' => {}
                    '\r' => {
                        if self.peek(0) == Some(b'\n') {
                            self.pos += 1;
                        }
                    }
                    '\\' => value.push('\\'),
                    '\'' => value.push('\''),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    'a' => value.push('\x07'),
                    'b' => value.push('\x08'),
                    'f' => value.push('\x0c'),
                    'v' => value.push('\x0b'),
                    '0'..='7' => {
                        let mut n = next.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match self.peek(0) {
                                Some(d @ b'0'..=b'7') => {
                                    n = n * 8 + u32::from(d - b'0');
                                    self.pos += 1;
                                }
                                _ => break,
                            }
                        }
                        self.push_code(&mut value, n, esc_start);
                    }
                    'x' => self.hex_escape(&mut value, 2, esc_start),
                    'u' if !prefix.contains('b') => self.hex_escape(&mut value, 4, esc_start),
                    'U' if !prefix.contains('b') => self.hex_escape(&mut value, 8, esc_start),
                    'N' if !prefix.contains('b') => {
                        self.error(esc_start..self.pos, "`\\N{...}` escapes are not supported");
                    }
                    other => {
                        // Python keeps unknown escapes as written.
                        value.push('\\');
                        value.push(other);
                    }
                }
                continue;
            }
            value.push(ch);
            self.pos += ch.len_utf8();
        }
        self.push(Tok::Str { value, prefix }, start);
    }

    fn hex_escape(&mut self, value: &mut String, digits: usize, esc_start: usize) {
        let end = (self.pos + digits).min(self.bytes.len());
        // Not on a character boundary: a non-ASCII character among the
        // digits, so not a hex escape either.
        let text = self.src.get(self.pos..end).unwrap_or_default();
        if text.len() == digits && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            self.pos = end;
            let n = u32::from_str_radix(text, 16).unwrap_or(0);
            self.push_code(value, n, esc_start);
        } else {
            self.error(
                esc_start..self.pos,
                format!("truncated `\\x`/`\\u` escape: {digits} hex digits expected"),
            );
        }
    }

    fn push_code(&mut self, value: &mut String, n: u32, esc_start: usize) {
        match char::from_u32(n) {
            Some(c) => value.push(c),
            None => self.error(esc_start..self.pos, "escape is not a valid character"),
        }
    }

    fn op(&mut self) {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
            self.pos += op.len();
            match *op {
                "(" | "[" | "{" => self.depth += 1,
                ")" | "]" | "}" => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
            self.push(Tok::Op(op), start);
        } else {
            let ch = rest.chars().next().unwrap_or('?');
            self.pos += ch.len_utf8();
            self.error(start..self.pos, format!("unexpected character `{ch}`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let (t, e) = tokenize(src);
        assert!(e.is_empty(), "{e:?}");
        t.into_iter().map(|t| t.tok).collect()
    }

    fn s(v: &str) -> Tok {
        Tok::Str {
            value: v.into(),
            prefix: String::new(),
        }
    }

    #[test]
    fn a_non_ascii_character_inside_a_hex_escape_is_an_error_not_a_panic() {
        let (_, e) = tokenize("'\\u([[\u{e9}'");
        assert!(e.iter().any(|e| e.message.contains("truncated")), "{e:?}");
        let (_, e) = tokenize("'\\x\u{e9}'");
        assert!(e.iter().any(|e| e.message.contains("truncated")), "{e:?}");
    }

    #[test]
    fn strings_in_every_quoting() {
        assert_eq!(
            toks(r#"'a' "b" '''c'd''' """e"f""" r'\n' 'x\ty\x41\u00e9\101\q'"#)[..6],
            [
                s("a"),
                s("b"),
                s("c'd"),
                s("e\"f"),
                Tok::Str {
                    value: "\\n".into(),
                    prefix: "r".into()
                },
                s("x\tyAéA\\q"),
            ]
        );
    }

    #[test]
    fn logical_lines_and_comments() {
        let t = toks("a = [1,\n  2] # c\n\n# only\nb = \\\n 3\n");
        assert_eq!(t.iter().filter(|t| **t == Tok::Newline).count(), 2);
        assert!(!t.contains(&Tok::Indent));
        let t = toks("if x:\n    y\n");
        assert!(t.contains(&Tok::Indent));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("1 0x1f 1_000 2.5 1e3")[..5],
            [
                Tok::Int(1),
                Tok::Int(31),
                Tok::Int(1000),
                Tok::Float(2.5),
                Tok::Float(1000.0)
            ]
        );
    }

    #[test]
    fn errors_have_spans() {
        let (_, e) = tokenize("x = 'abc\ny = $\n");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].span.start, 4);
        assert_eq!(e[1].span, 13..14);
    }
}
