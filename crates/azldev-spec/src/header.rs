//! Tokenising section headers and their options (`%files -f x.lang -n foo`).

use std::ops::Range;

use crate::kinds::SectionKind;

/// Split `src[range]` into whitespace-separated tokens. A token keeps
/// `%{…}`, `%(…)`, `%[…]` and quoted strings whole even when they contain
/// spaces. Returns absolute byte ranges.
pub fn tokenize(src: &[u8], range: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = range.start;
    let end = range.end;
    while i < end {
        while i < end && src[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= end {
            break;
        }
        let start = i;
        let mut depth = 0u32;
        let mut quote: Option<u8> = None;
        while i < end {
            let b = src[i];
            if let Some(q) = quote {
                if b == q {
                    quote = None;
                }
            } else if b == b'%' && i + 1 < end && matches!(src[i + 1], b'{' | b'(' | b'[') {
                depth += 1;
                i += 1;
            } else if depth > 0 && matches!(b, b'{' | b'(' | b'[') {
                depth += 1;
            } else if depth > 0 && matches!(b, b'}' | b')' | b']') {
                depth -= 1;
            } else if depth == 0 && (b == b'"' || b == b'\'') {
                quote = Some(b);
            } else if depth == 0 && b.is_ascii_whitespace() {
                break;
            }
            i += 1;
        }
        out.push(start..i.min(end));
    }
    out
}

/// The package-name argument of a section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameArg {
    /// `-n NAME` (the full name) rather than a suffix of the main name.
    pub absolute: bool,
    /// Byte range of NAME.
    pub range: Range<usize>,
}

/// One `-x` option of a section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderOption {
    pub flag: u8,
    pub value: Option<Range<usize>>,
}

/// Parsed arguments of a section header line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderArgs {
    pub name: Option<NameArg>,
    pub options: Vec<HeaderOption>,
    /// Positional arguments beyond the one used as name suffix.
    pub extra: Vec<Range<usize>>,
    /// Everything after `--` in a trigger header.
    pub trigger: Option<Range<usize>>,
    /// An option that needs a value was last on the line.
    pub missing_value: Option<u8>,
}

impl HeaderArgs {
    pub fn option(&self, flag: u8) -> Option<&HeaderOption> {
        self.options.iter().find(|o| o.flag == flag)
    }

    pub fn has_flag(&self, flag: u8) -> bool {
        self.option(flag).is_some()
    }
}

/// Parse the arguments of a `kind` header found in `src[range]` (the text
/// after the keyword).
pub fn parse_args(kind: SectionKind, src: &[u8], range: Range<usize>) -> HeaderArgs {
    let tokens = tokenize(src, range.clone());
    let mut args = HeaderArgs::default();
    let mut positional: Option<Range<usize>> = None;
    let mut absolute: Option<Range<usize>> = None;
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].clone();
        let tok = &src[t.clone()];
        if tok == b"--" && kind.is_trigger() {
            let start = tokens.get(i + 1).map_or(t.end, |r| r.start);
            args.trigger = Some(start..range.end.max(start));
            break;
        }
        if tok.len() >= 2 && tok[0] == b'-' && tok[1] != b'-' {
            let flag = tok[1];
            let value = if kind.option_takes_arg(flag) {
                if tok.len() > 2 {
                    Some(t.start + 2..t.end)
                } else if let Some(next) = tokens.get(i + 1) {
                    i += 1;
                    Some(next.clone())
                } else {
                    args.missing_value = Some(flag);
                    None
                }
            } else {
                None
            };
            if flag == b'n'
                && kind.is_package_scoped()
                && let Some(v) = &value
            {
                absolute = Some(v.clone());
            }
            args.options.push(HeaderOption { flag, value });
        } else if kind.is_package_scoped() && positional.is_none() {
            positional = Some(t);
        } else {
            args.extra.push(t);
        }
        i += 1;
    }
    args.name = match (absolute, positional) {
        (Some(range), pos) => {
            if let Some(p) = pos {
                args.extra.insert(0, p);
            }
            Some(NameArg {
                absolute: true,
                range,
            })
        }
        (None, Some(range)) => Some(NameArg {
            absolute: false,
            range,
        }),
        (None, None) => None,
    };
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokenize(s.as_bytes(), 0..s.len())
            .into_iter()
            .map(|r| &s[r])
            .collect()
    }

    #[test]
    fn tokens_keep_macros_whole() {
        assert_eq!(
            toks(" -n %{?foo: a b}-x  devel"),
            ["-n", "%{?foo: a b}-x", "devel"]
        );
        assert_eq!(toks("-f \"a b\" x"), ["-f", "\"a b\"", "x"]);
    }

    fn args(kind: SectionKind, s: &str) -> (Option<(bool, String)>, HeaderArgs) {
        let a = parse_args(kind, s.as_bytes(), 0..s.len());
        (
            a.name
                .as_ref()
                .map(|n| (n.absolute, s[n.range.clone()].to_owned())),
            a,
        )
    }

    #[test]
    fn options_in_any_order() {
        let (n, a) = args(SectionKind::Files, " -f x.lang -n foo");
        assert_eq!(n, Some((true, "foo".into())));
        assert!(a.has_flag(b'f'));
        let (n, _) = args(SectionKind::Post, " -p /sbin/ldconfig devel");
        assert_eq!(n, Some((false, "devel".into())));
        let (n, a) = args(SectionKind::Triggerin, " -n foo -- bar >= 1");
        assert_eq!(n, Some((true, "foo".into())));
        assert!(a.trigger.is_some());
        let (n, a) = args(SectionKind::Description, " -l de");
        assert_eq!(n, None);
        assert!(a.has_flag(b'l'));
        let (n, a) = args(SectionKind::Build, " -a");
        assert_eq!(n, None);
        assert!(a.has_flag(b'a'));
        let (n, _) = args(SectionKind::Files, " -nfoo-libs");
        assert_eq!(n, Some((true, "foo-libs".into())));
    }
}
