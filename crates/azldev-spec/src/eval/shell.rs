//! A few `%(…)` shell idioms that specs use to cut up a version or a
//! commit hash, evaluated exactly (they have no inputs but their text):
//! `c=X; echo ${c:0:N}`, `v=X; echo ${v%.*}`, `echo X | cut -dD -fN[-M]`,
//! `echo X | tr A B`, `echo X | tr -d A`, `echo X | awk -F. '{print
//! $1"."$2}'`, `echo X | sed 's/A/B/[g]'` with literal A and B. Anything
//! else is not run (the caller reports it unresolved).

/// A word: quoted or bare, with no shell expansion in it.
fn word(s: &str) -> Option<String> {
    let s = s.trim();
    let safe = |c: char| c.is_ascii_alphanumeric() || "._+~^:-/@,=".contains(c);
    if let Some(q) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return (!q.contains('\'')).then(|| q.to_owned());
    }
    if let Some(q) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return q.chars().all(|c| safe(c) || c == ' ').then(|| q.to_owned());
    }
    (!s.is_empty() && s.chars().all(safe)).then(|| s.to_owned())
}

/// A single character argument (`.`, `'~'`, `"-"`, `\^`).
fn one_char(s: &str) -> Option<char> {
    let s = s.trim();
    let w = match s.strip_prefix('\\') {
        Some(r) if r.chars().count() == 1 => r.to_owned(),
        _ => word(s)?,
    };
    let mut it = w.chars();
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

fn cut(v: &str, args: &str) -> Option<String> {
    // `-d.` `-f1-2` in either order, attached or separate.
    let toks: Vec<&str> = args.split_whitespace().collect();
    let (mut delim, mut fields) = (None, None);
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let (flag, rest) = t.split_at(2.min(t.len()));
        let val = if rest.is_empty() {
            i += 1;
            *toks.get(i)?
        } else {
            rest
        };
        match flag {
            "-d" => delim = Some(one_char(val)?),
            "-f" => fields = Some(val.to_owned()),
            _ => return None,
        }
        i += 1;
    }
    let (d, f) = (delim?, fields?);
    if !v.contains(d) {
        return Some(v.to_owned());
    }
    let parts: Vec<&str> = v.split(d).collect();
    let (lo, hi) = match f.split_once('-') {
        Some((a, "")) => (a.parse::<usize>().ok()?, parts.len()),
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = f.parse().ok()?;
            (n, n)
        }
    };
    if lo == 0 || hi < lo {
        return None;
    }
    let sel: Vec<&str> = parts.iter().skip(lo - 1).take(hi + 1 - lo).copied().collect();
    Some(sel.join(&d.to_string()))
}

fn tr(v: &str, args: &str) -> Option<String> {
    let toks: Vec<&str> = args.split_whitespace().collect();
    match toks.as_slice() {
        ["-d", a] => {
            let a = one_char(a)?;
            Some(v.chars().filter(|c| *c != a).collect())
        }
        [a, b] => {
            let (a, b) = (one_char(a)?, one_char(b)?);
            Some(v.chars().map(|c| if c == a { b } else { c }).collect())
        }
        _ => None,
    }
}

fn sed(v: &str, args: &str) -> Option<String> {
    let args = args.trim();
    let script = word(args.strip_prefix("-e ").unwrap_or(args))?;
    let body = script.strip_prefix('s')?;
    let sep = body.chars().next()?;
    let parts: Vec<&str> = body[sep.len_utf8()..].split(sep).collect();
    let [pat, rep, flags] = parts.as_slice() else {
        return None;
    };
    let literal =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_~ ".contains(c));
    if literal(pat) && (rep.is_empty() || literal(rep)) {
        return match *flags {
            "g" => Some(v.replace(pat, rep)),
            "" => Some(v.replacen(pat, rep, 1)),
            _ => None,
        };
    }
    let re = regex::Regex::new(&bre_to_regex(pat)?).ok()?;
    let rep = sed_replacement(rep)?;
    match *flags {
        "g" => Some(re.replace_all(v, rep.as_str()).into_owned()),
        "" => Some(re.replace(v, rep.as_str()).into_owned()),
        _ => None,
    }
}

/// A POSIX basic regular expression (groups, `.`, `*`, anchors, bracket
/// expressions, `\{m,n\}`) as a `regex` pattern; `None` for anything else.
fn bre_to_regex(p: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next()? {
                '(' => out.push('('),
                ')' => out.push(')'),
                '{' => out.push('{'),
                '}' => out.push('}'),
                d @ ('.' | '*' | '[' | ']' | '^' | '$' | '\\' | '/' | '|' | '#') => {
                    out.push('\\');
                    out.push(d);
                }
                _ => return None,
            },
            '[' => {
                out.push('[');
                let mut first = true;
                loop {
                    let d = it.next()?;
                    if d == ']' && !first {
                        out.push(']');
                        break;
                    }
                    if (first || d != '-') && matches!(d, '[' | '\\' | '&' | '~' | '-') {
                        out.push('\\');
                    }
                    out.push(d);
                    first = false;
                }
            }
            '+' | '?' | '|' | '(' | ')' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// sed's replacement (`\1`, `&`) in `regex` syntax.
fn sed_replacement(r: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = r.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next()? {
                d @ '1'..='9' => {
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                '&' => out.push('&'),
                '/' => out.push('/'),
                '\\' => out.push('\\'),
                _ => return None,
            },
            '&' => out.push_str("${0}"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    Some(out)
}

/// Evaluate an expanded `%(…)` body, or `None` when it is not one of the
/// idioms.
pub(crate) fn eval(cmd: &str, bash: bool) -> Option<String> {
    let cmd = cmd.trim();
    if let Some((assign, rest)) = cmd.split_once(';')
        && let Some((var, val)) = assign.trim().split_once('=')
        && !var.is_empty()
        && var.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !rest.contains("${")
    {
        // `c=X; echo $c | …`: substitute and evaluate the rest.
        let val = word(val)?;
        let pat = format!("${var}");
        let whole = rest.match_indices(&pat).all(|(i, _)| {
            !rest[i + pat.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
        if !whole {
            return None;
        }
        let rest = rest.replace(&pat, &val);
        return eval(&rest, bash);
    }
    if !cmd.contains(';') && cmd.contains('|') {
        // A pipeline of filters over one echo.
        let mut parts = cmd.split('|');
        let mut v = echo(parts.next()?)?;
        for f in parts {
            v = filter(&v, f.trim())?;
        }
        return Some(v);
    }
    if !cmd.contains([';', '|', '`', '$', '<', '>', '&']) && cmd.starts_with("echo") {
        return echo(cmd);
    }
    // VAR=VALUE; echo ${VAR:0:N} / ${VAR%.*}
    if let Some((assign, echo)) = cmd.split_once(';') {
        let (var, val) = assign.trim().split_once('=')?;
        if var.is_empty() || !var.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return None;
        }
        let val = word(val)?;
        let expr = echo.trim().strip_prefix("echo")?.trim();
        let inner = expr.strip_prefix("${")?.strip_suffix('}')?;
        let rest = inner.strip_prefix(var)?;
        if let Some(range) = rest.strip_prefix(":0:") {
            let n: usize = range.parse().ok()?;
            if !bash {
                // dash: "Bad substitution", nothing on stdout.
                return Some(String::new());
            }
            return Some(val.chars().take(n).collect());
        }
        if rest == "%.*" {
            return Some(val.rsplit_once('.').map_or(val.clone(), |(a, _)| a.to_owned()));
        }
        return None;
    }
    None
}

/// `echo WORD` / `echo -n WORD`.
fn echo(s: &str) -> Option<String> {
    let r = s.trim().strip_prefix("echo ")?.trim();
    let r = r.strip_prefix("-n ").unwrap_or(r);
    word(r)
}

/// One filter of a pipeline applied to `v`.
fn filter(v: &str, filter: &str) -> Option<String> {
    let (prog, args) = filter.split_once(' ')?;
    let v = v.to_owned();
    match prog {
        "cut" => cut(&v, args),
        "tr" => tr(&v, args),
        "sed" => sed(&v, args),
        "awk" => {
            let a = args.trim();
            let prog = a.strip_prefix("-F.")?.trim();
            if prog == "'{print $1\".\"$2}'" {
                let p: Vec<&str> = v.split('.').collect();
                Some(format!("{}.{}", p.first()?, p.get(1).copied().unwrap_or("")))
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    fn eval(s: &str) -> Option<String> {
        super::eval(s, true)
    }

    #[test]
    fn idioms() {
        assert_eq!(
            eval("c=0123456789abcdef; echo ${c:0:7}").as_deref(),
            Some("0123456")
        );
        assert_eq!(eval("v=1.2.3; echo ${v%.*}").as_deref(), Some("1.2"));
        assert_eq!(eval("echo 5.15.2 | cut -d. -f1-2").as_deref(), Some("5.15"));
        assert_eq!(eval("echo 1.0~rc1 | cut -d~ -f1").as_deref(), Some("1.0"));
        assert_eq!(eval("echo 1.0 | cut -d~ -f2").as_deref(), Some("1.0"));
        assert_eq!(eval("echo 1.0~rc1 | tr '~' '.'").as_deref(), Some("1.0.rc1"));
        assert_eq!(eval("echo '1.0~rc1' | tr -d '~'").as_deref(), Some("1.0rc1"));
        assert_eq!(
            eval("echo 3.2.1 | awk -F. '{print $1\".\"$2}'").as_deref(),
            Some("3.2")
        );
        assert_eq!(eval("echo \"a-b-c\" | sed \"s/-/_/g\"").as_deref(), Some("a_b_c"));
        assert_eq!(eval("echo $HOME | cut -d/ -f2"), None);
        assert_eq!(super::eval("c=abc; echo ${c:0:2}", false).as_deref(), Some(""));
        assert_eq!(eval("echo \"a-b\"").as_deref(), Some("a-b"));
        assert_eq!(eval("echo 1.2 | sed -e 's/\\./_/g'").as_deref(), Some("1_2"));
        assert_eq!(
            eval("c=1.2~rc; echo $c | cut -d. -f1 | cut -d~ -f1").as_deref(),
            Some("1")
        );
        assert_eq!(eval("echo 1.2^x|cut -d\\^ -f1").as_deref(), Some("1.2"));
        assert_eq!(
            eval("echo 3.2~b | cut -f 1 -d '~' | cut -f 1 -d '.'").as_deref(),
            Some("3")
        );
        assert_eq!(eval("pkg-config --variable=udevdir udev"), None);
        assert_eq!(
            eval("echo 1.23456 | sed 's/\\(\\.....\\)/\\1./'").as_deref(),
            Some("1.2345.6")
        );
        assert_eq!(eval("echo abc | sed 's/[ab]/x&/g'").as_deref(), Some("xaxbc"));
        assert_eq!(eval("echo x | sed 's/\\w/y/'"), None);
    }
}
