//! Overlay regular expressions are written for azldev (Go, RE2 syntax). RE2 and
//! the `regex` crate agree on almost everything, except that RE2 treats a `{` that
//! does not start a valid repetition (`{n}`, `{n,}`, `{n,m}`) as a literal brace —
//! and spec files are full of `%{macro}`. [`translate`] escapes such braces so the
//! pattern means the same to the `regex` crate; [`compile`] is what later stages
//! should use to apply overlay regexes.

use regex::Regex;

/// Rewrite an RE2 pattern into an equivalent `regex` crate pattern.
#[must_use]
pub fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                    i += 1;
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // `[]…]` and `[^]…]`: a leading `]` is literal.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
            }
            '[' if in_class => {
                // POSIX class `[:alpha:]` inside a bracket expression.
                if chars.get(i + 1) == Some(&':') {
                    let rest: String = chars[i..].iter().collect();
                    if let Some(end) = rest.find(":]") {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                        continue;
                    }
                }
                out.push_str("\\[");
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' if !in_class => {
                if valid_repetition(&chars[i..]) {
                    out.push(c);
                } else {
                    out.push_str("\\{");
                }
            }
            '}' if !in_class => {
                // A `}` that closes a valid repetition was copied with it below.
                out.push_str("\\}");
            }
            _ => out.push(c),
        }
        if c == '{' && !in_class && valid_repetition(&chars[i..]) {
            // Copy the whole `{n,m}` so its `}` is not escaped.
            let mut j = i + 1;
            while let Some(&d) = chars.get(j) {
                out.push(d);
                j += 1;
                if d == '}' {
                    break;
                }
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// Whether `s` (starting at `{`) is `{n}`, `{n,}` or `{n,m}`.
fn valid_repetition(s: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return false;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    s.get(i) == Some(&'}')
}

/// Compile an overlay regex (RE2 syntax) with the `regex` crate.
///
/// # Errors
/// The pattern is not a valid regular expression.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&translate(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_braces_are_escaped() {
        assert_eq!(translate("%{name}"), "%\\{name\\}");
        assert_eq!(translate("a{2}b{1,}c{1,3}"), "a{2}b{1,}c{1,3}");
        assert_eq!(translate("a{,3}"), "a\\{,3\\}");
        assert_eq!(translate("[{}]"), "[{}]");
        assert_eq!(translate("\\{x"), "\\{x");
        assert_eq!(translate("[]{]"), "[]{]");
        assert_eq!(translate("[[:alpha:]{]"), "[[:alpha:]{]");
    }

    #[test]
    fn spec_macros_compile_and_match() {
        let re = compile("cp -a %{SOURCE1} .").expect("valid");
        assert!(re.is_match("cp -a %{SOURCE1} ."));
        let re = compile("%define specrpmversion .+").expect("valid");
        assert!(re.is_match("%define specrpmversion 6.18"));
        assert!(compile("(unclosed").is_err());
        assert!(compile("x{2").is_ok()); // literal in RE2
    }
}
