//! What rpmautospec asks rpm about a spec: the expanded `epoch:version` and
//! the options of `%autorelease` (with `%autorelease` defined as
//! `E%{?-e*}_S%{?-s*}_P%{?-p:1}%{!?-p:0}_B%{?-b*}`, the expanded Release).
//!
//! A small sequential evaluator of the preamble stands in for rpm: plain and
//! parametric `%global`/`%define`/`%undefine`, `%bcond*`, conditionals
//! (`%if` expressions, `%ifarch` and `%ifos` for x86_64 Linux), the
//! conditional and builtin macro forms a Version or Release uses. What only
//! rpm can do (`%{lua:}`, `%()`, other macros with arguments) is kept
//! literally and reported, never guessed. rpm's parse failures that matter
//! here are reproduced: a missing Name, Version, Release, Summary or
//! License, unbalanced conditionals, illegal characters in Version and
//! Release, a non-numeric Epoch.

use std::collections::HashMap;

use azldev_spec::{CondKind, MacroDefKind, SectionKind};

/// The epoch-version and `%autorelease` flags of one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerFlags {
    /// `epoch:version` or `version`.
    pub epoch_version: String,
    /// `-e`.
    pub extraver: Option<String>,
    /// `-s`.
    pub snapinfo: Option<String>,
    /// `-p`.
    pub prerelease: bool,
    /// `-b` (1 when not given or when Release is not `%autorelease`).
    pub base: i64,
}

/// The evaluation of one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The flags, or why rpm would not parse the spec.
    pub flags: Result<VerFlags, String>,
    /// Constructs the evaluator could not expand (rpm might have).
    pub unresolved: Vec<String>,
}

#[derive(Debug, Clone)]
enum Def {
    Plain(String),
    /// A parametric macro (its body is not evaluated).
    Param,
}

const MAX_DEPTH: u32 = 32;
const MAX_LEN: usize = 64 * 1024;

struct Env {
    defs: HashMap<String, Vec<Def>>,
    unresolved: Vec<String>,
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Index of the bracket closing the one opened just before `from`.
fn matching(s: &[u8], from: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = from;
    while i < s.len() {
        let c = s[i];
        if c == b'%' && s.get(i + 1) == Some(&b'%') {
            i += 2;
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

impl Env {
    fn new(predefined: &[(String, String)]) -> Self {
        let mut env = Env {
            defs: HashMap::new(),
            unresolved: Vec::new(),
        };
        for (k, v) in [
            ("_arch", "x86_64"),
            ("_target_cpu", "x86_64"),
            ("_os", "linux"),
            ("nil", ""),
        ] {
            env.define(k, Def::Plain(v.to_owned()));
        }
        for (k, v) in predefined {
            env.define(k, Def::Plain(v.clone()));
        }
        env
    }

    fn define(&mut self, name: &str, def: Def) {
        self.defs.entry(name.to_owned()).or_default().push(def);
    }

    fn undefine(&mut self, name: &str) {
        if let Some(v) = self.defs.get_mut(name) {
            v.pop();
            if v.is_empty() {
                self.defs.remove(name);
            }
        }
    }

    fn get(&self, name: &str) -> Option<&Def> {
        self.defs.get(name).and_then(|v| v.last())
    }

    fn defined(&self, name: &str) -> bool {
        name == "autorelease" || self.get(name).is_some()
    }

    fn unresolved(&mut self, what: &str) {
        if !self.unresolved.iter().any(|u| u == what) {
            self.unresolved.push(what.to_owned());
        }
    }

    fn expand(&mut self, s: &str) -> String {
        let mut out = String::new();
        self.expand_into(s.as_bytes(), &mut out, 0);
        out
    }

    fn expand_into(&mut self, s: &[u8], out: &mut String, depth: u32) {
        if depth > MAX_DEPTH {
            self.unresolved("too deeply nested macros");
            out.push_str(&String::from_utf8_lossy(s));
            return;
        }
        let mut i = 0;
        let mut lit = 0;
        while i < s.len() {
            if out.len() > MAX_LEN {
                self.unresolved("macro expansion too long");
                return;
            }
            if s[i] != b'%' {
                i += 1;
                continue;
            }
            out.push_str(&String::from_utf8_lossy(&s[lit..i]));
            let start = i;
            match s.get(i + 1).copied() {
                None => {
                    out.push('%');
                    i += 1;
                }
                Some(b'%') => {
                    out.push('%');
                    i += 2;
                }
                Some(b'{') => match matching(s, i + 2, b'{', b'}') {
                    Some(close) => {
                        self.braced(&s[i + 2..close], &s[start..=close], out, depth);
                        i = close + 1;
                    }
                    None => {
                        self.unresolved("unterminated %{");
                        out.push_str(&String::from_utf8_lossy(&s[i..]));
                        i = s.len();
                    }
                },
                Some(b'(') => {
                    let close = matching(s, i + 2, b'(', b')').unwrap_or(s.len() - 1);
                    let text = String::from_utf8_lossy(&s[i..=close]).into_owned();
                    self.unresolved(&text);
                    out.push_str(&text);
                    i = close + 1;
                }
                Some(b'[') => {
                    let close = matching(s, i + 2, b'[', b']').unwrap_or(s.len() - 1);
                    let inner = String::from_utf8_lossy(&s[i + 2..close.max(i + 2)]).into_owned();
                    let mut e = String::new();
                    self.expand_into(inner.as_bytes(), &mut e, depth + 1);
                    match eval_expr(&e) {
                        Some(v) => out.push_str(&v.to_string()),
                        None => {
                            let text = String::from_utf8_lossy(&s[i..=close]).into_owned();
                            self.unresolved(&text);
                            out.push_str(&text);
                        }
                    }
                    i = close + 1;
                }
                Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                    let mut j = i + 1;
                    while j < s.len() && is_name_char(s[j]) {
                        j += 1;
                    }
                    let name = String::from_utf8_lossy(&s[i + 1..j]).into_owned();
                    if self.is_parametric(&name) {
                        // Without braces, the arguments are the rest of the line.
                        let eol = s[j..].iter().position(|&c| c == b'\n').map_or(s.len(), |p| p + j);
                        let args = String::from_utf8_lossy(&s[j..eol]).into_owned();
                        self.call(&name, &args, &format!("%{name}"), out, depth);
                        i = eol;
                    } else {
                        self.plain(&name, &format!("%{name}"), out, depth);
                        i = j;
                    }
                }
                Some(_) => {
                    // `%-e`, `%*`, `%1`, `%?x`… outside a parametric macro.
                    let text = String::from_utf8_lossy(&s[i..(i + 2).min(s.len())]).into_owned();
                    self.unresolved(&text);
                    out.push_str(&text);
                    i += 2;
                }
            }
            lit = i;
        }
        if lit < s.len() {
            out.push_str(&String::from_utf8_lossy(&s[lit..]));
        }
    }

    fn is_parametric(&self, name: &str) -> bool {
        name == "autorelease" || matches!(self.get(name), Some(Def::Param))
    }

    /// A plain macro reference; undefined ones stay as written.
    fn plain(&mut self, name: &str, literal: &str, out: &mut String, depth: u32) {
        match self.get(name).cloned() {
            Some(Def::Plain(body)) => self.expand_into(body.as_bytes(), out, depth + 1),
            Some(Def::Param) => self.call(name, "", literal, out, depth),
            None if name == "autorelease" => self.call(name, "", literal, out, depth),
            None => out.push_str(literal),
        }
    }

    /// A macro called with arguments.
    fn call(&mut self, name: &str, args: &str, literal: &str, out: &mut String, depth: u32) {
        let mut expanded = String::new();
        self.expand_into(args.as_bytes(), &mut expanded, depth + 1);
        let argv: Vec<&str> = expanded.split_whitespace().collect();
        match name {
            "autorelease" => match autorelease_flags(&argv) {
                Ok(s) => out.push_str(&s),
                Err(e) => {
                    self.unresolved(&e);
                    out.push_str(literal);
                }
            },
            "with" | "without" | "defined" | "undefined" => {
                let Some(arg) = argv.first() else {
                    self.unresolved(literal);
                    out.push_str(literal);
                    return;
                };
                let yes = match name {
                    "with" => self.defined(&format!("with_{arg}")),
                    "without" => !self.defined(&format!("with_{arg}")),
                    "defined" => self.defined(arg),
                    _ => !self.defined(arg),
                };
                out.push(if yes { '1' } else { '0' });
            }
            _ => {
                let text = format!("{literal}{}{args}", if args.is_empty() { "" } else { " " });
                self.unresolved(text.trim());
                out.push_str(literal);
            }
        }
    }

    /// `%{…}`: `inner` is what is between the braces.
    fn braced(&mut self, inner: &[u8], literal: &[u8], out: &mut String, depth: u32) {
        let literal = String::from_utf8_lossy(literal).into_owned();
        let mut i = 0;
        let mut negate = false;
        let mut cond = false;
        while i < inner.len() {
            match inner[i] {
                b'!' => negate = !negate,
                b'?' => cond = true,
                _ => break,
            }
            i += 1;
        }
        let name_start = i;
        while i < inner.len() && is_name_char(inner[i]) {
            i += 1;
        }
        let name = String::from_utf8_lossy(&inner[name_start..i]).into_owned();
        let rest = &inner[i..];
        if name.is_empty() {
            self.unresolved(&literal);
            out.push_str(&literal);
            return;
        }
        if cond {
            let defined = self.defined(&name);
            if let Some(text) = rest.strip_prefix(b":") {
                if defined != negate {
                    self.expand_into(text, out, depth + 1);
                }
            } else if rest.is_empty() {
                if defined && !negate {
                    self.plain(&name, &literal, out, depth);
                }
            } else {
                self.unresolved(&literal);
                out.push_str(&literal);
            }
            return;
        }
        if let Some(arg) = rest.strip_prefix(b":") {
            match name.as_str() {
                "expand" => {
                    let mut once = String::new();
                    self.expand_into(arg, &mut once, depth + 1);
                    self.expand_into(once.as_bytes(), out, depth + 1);
                }
                "lower" | "upper" | "len" | "basename" | "dirname" | "suffix" | "shrink" => {
                    let mut v = String::new();
                    self.expand_into(arg, &mut v, depth + 1);
                    out.push_str(&match name.as_str() {
                        "lower" => v.to_lowercase(),
                        "upper" => v.to_uppercase(),
                        "len" => v.chars().count().to_string(),
                        "basename" => v.rsplit('/').next().unwrap_or("").to_owned(),
                        "dirname" => v.rsplit_once('/').map_or(".".to_owned(), |(d, _)| d.to_owned()),
                        "suffix" => v.rsplit_once('.').map_or(String::new(), |(_, s)| s.to_owned()),
                        _ => v.split_whitespace().collect::<Vec<_>>().join(" "),
                    });
                }
                "defined" | "undefined" | "with" | "without" => {
                    let a = String::from_utf8_lossy(arg).into_owned();
                    self.call(&name, &a, &literal, out, depth);
                }
                _ => {
                    self.unresolved(&literal);
                    out.push_str(&literal);
                }
            }
            return;
        }
        if rest.first().is_some_and(u8::is_ascii_whitespace) {
            let args = String::from_utf8_lossy(rest).into_owned();
            if self.is_parametric(&name)
                || matches!(name.as_str(), "with" | "without" | "defined" | "undefined")
            {
                self.call(&name, &args, &literal, out, depth);
            } else {
                self.plain(&name, &literal, out, depth);
            }
            return;
        }
        if !rest.is_empty() {
            self.unresolved(&literal);
            out.push_str(&literal);
            return;
        }
        self.plain(&name, &literal, out, depth);
    }
}

/// `%autorelease`'s options (`e:s:pb:n`, POSIX getopt) expanded through
/// rpmautospec's probe definition.
fn autorelease_flags(argv: &[&str]) -> Result<String, String> {
    let (mut e, mut s, mut p, mut b) = (None, None, false, None);
    let mut i = 0;
    while i < argv.len() {
        let a = argv[i];
        if a == "--" {
            break;
        }
        let Some(opts) = a.strip_prefix('-').filter(|o| !o.is_empty()) else {
            break;
        };
        let mut chars = opts.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                'p' => p = true,
                'n' => {}
                'e' | 's' | 'b' => {
                    let rest = &opts[k + 1..];
                    let val = if rest.is_empty() {
                        i += 1;
                        argv.get(i)
                            .copied()
                            .ok_or_else(|| format!("%autorelease: -{c} needs a value"))?
                    } else {
                        rest
                    };
                    let slot = match c {
                        'e' => &mut e,
                        's' => &mut s,
                        _ => &mut b,
                    };
                    *slot = Some(val.to_owned());
                    break;
                }
                other => return Err(format!("%autorelease: unknown option -{other}")),
            }
            let _ = &mut chars;
        }
        i += 1;
    }
    Ok(format!(
        "E{}_S{}_P{}_B{}",
        e.unwrap_or_default(),
        s.unwrap_or_default(),
        if p { 1 } else { 0 },
        b.unwrap_or_default()
    ))
}

/// rpm's expression values.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Int(i64),
    Str(String),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Int(i) => write!(f, "{i}"),
            Val::Str(s) => f.write_str(s),
        }
    }
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Int(i) => *i != 0,
            Val::Str(s) => !s.is_empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Str(String),
    Op(&'static str),
}

fn tokenize(s: &str) -> Option<Vec<Tok>> {
    const OPS: [&str; 19] = [
        "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "(", ")", "?", ":", "%", ",",
    ];
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push(Tok::Int(s[st..i].parse().ok()?));
        } else if c == b'"' {
            let end = s[i + 1..].find('"')? + i + 1;
            out.push(Tok::Str(s[i + 1..end].to_owned()));
            i = end + 1;
        } else {
            let op = OPS.iter().find(|o| s[i..].starts_with(**o))?;
            if matches!(*op, "%" | ",") {
                return None;
            }
            out.push(Tok::Op(op));
            i += op.len();
        }
    }
    Some(out)
}

/// Evaluate an rpm expression (`%if`, `%[…]`); `None` when it is not one
/// this evaluator understands.
fn eval_expr(s: &str) -> Option<Val> {
    let toks = tokenize(s)?;
    let mut p = Parser { toks, pos: 0 };
    let v = p.ternary()?;
    (p.pos == p.toks.len()).then_some(v)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn ternary(&mut self) -> Option<Val> {
        let c = self.logical()?;
        if self.eat("?") {
            let a = self.ternary()?;
            if !self.eat(":") {
                return None;
            }
            let b = self.ternary()?;
            return Some(if c.truthy() { a } else { b });
        }
        Some(c)
    }

    fn logical(&mut self) -> Option<Val> {
        let mut v = self.relational()?;
        loop {
            if self.eat("&&") {
                let r = self.relational()?;
                v = if v.truthy() { r } else { v };
            } else if self.eat("||") {
                let r = self.relational()?;
                v = if v.truthy() { v } else { r };
            } else {
                return Some(v);
            }
        }
    }

    fn relational(&mut self) -> Option<Val> {
        let mut v = self.additive()?;
        loop {
            let op = ["==", "!=", "<=", ">=", "<", ">"]
                .into_iter()
                .find(|o| self.eat(o));
            let Some(op) = op else { return Some(v) };
            let r = self.additive()?;
            let ord = match (&v, &r) {
                (Val::Int(a), Val::Int(b)) => a.cmp(b),
                (Val::Str(a), Val::Str(b)) => a.cmp(b),
                _ => return None,
            };
            let yes = match op {
                "==" => ord.is_eq(),
                "!=" => ord.is_ne(),
                "<=" => ord.is_le(),
                ">=" => ord.is_ge(),
                "<" => ord.is_lt(),
                _ => ord.is_gt(),
            };
            v = Val::Int(i64::from(yes));
        }
    }

    fn additive(&mut self) -> Option<Val> {
        let mut v = self.multiplicative()?;
        loop {
            let plus = if self.eat("+") {
                true
            } else if self.eat("-") {
                false
            } else {
                return Some(v);
            };
            let r = self.multiplicative()?;
            v = match (v, r) {
                (Val::Int(a), Val::Int(b)) => Val::Int(if plus {
                    a.checked_add(b)?
                } else {
                    a.checked_sub(b)?
                }),
                (Val::Str(a), Val::Str(b)) if plus => Val::Str(a + &b),
                _ => return None,
            };
        }
    }

    fn multiplicative(&mut self) -> Option<Val> {
        let mut v = self.unary()?;
        loop {
            let mul = if self.eat("*") {
                true
            } else if self.eat("/") {
                false
            } else {
                return Some(v);
            };
            let (Val::Int(a), Val::Int(b)) = (v, self.unary()?) else {
                return None;
            };
            v = Val::Int(if mul { a.checked_mul(b)? } else { a.checked_div(b)? });
        }
    }

    fn unary(&mut self) -> Option<Val> {
        if self.eat("!") {
            return Some(Val::Int(i64::from(!self.unary()?.truthy())));
        }
        if self.eat("-") {
            let Val::Int(a) = self.unary()? else { return None };
            return Some(Val::Int(a.checked_neg()?));
        }
        if self.eat("(") {
            let v = self.ternary()?;
            return self.eat(")").then_some(v);
        }
        let t = self.toks.get(self.pos)?.clone();
        self.pos += 1;
        match t {
            Tok::Int(i) => Some(Val::Int(i)),
            Tok::Str(s) => Some(Val::Str(s)),
            Tok::Op(_) => None,
        }
    }
}

/// One level of `%if` nesting.
struct Frame {
    /// The enclosing level is being read.
    outer: bool,
    /// A branch of this conditional was taken already.
    taken: bool,
    /// The current branch is being read.
    active: bool,
}

const VERREL_CHARS: &str = "._+%{}~^";

fn check_verrel(tag: &str, v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Err(format!("{tag} field must be present in package: (main package)"));
    }
    if let Some(c) = v
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !VERREL_CHARS.contains(*c))
    {
        return Err(format!("Illegal char '{c}' (0x{:x}) in: {tag}: {v}", c as u32));
    }
    if v.contains("..") {
        return Err(format!("Illegal sequence \"..\" in: {tag}: {v}"));
    }
    Ok(())
}

/// Evaluate a spec as rpmautospec's rpm query would: first the lines
/// before `%prep` (what rpmautospec hands rpm first), the whole spec only
/// when that fails.
pub fn evaluate(src: &[u8], predefined: &[(String, String)]) -> Evaluated {
    let abridged = abridge(src);
    let attempt = |text: &[u8]| {
        let mut env = Env::new(predefined);
        let flags = run(text, &mut env);
        Evaluated {
            flags,
            unresolved: env.unresolved,
        }
    };
    let first = attempt(abridged);
    if first.flags.is_ok() || abridged.len() == src.len() {
        return first;
    }
    attempt(src)
}

/// Python's `bytes.strip()`.
fn py_bytes_strip(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ws(b)).map_or(start, |p| p + 1);
    &s[start..end]
}

/// The spec up to (without) the first line that is `%prep` once stripped.
fn abridge(src: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < src.len() {
        let end = src[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |p| start + p + 1);
        if py_bytes_strip(&src[start..end]) == b"%prep" {
            return &src[..start];
        }
        start = end;
    }
    src
}

/// A logical line of the preamble, as far as the evaluator cares.
enum PLine<'a> {
    Cond(CondKind, &'a [u8]),
    Def {
        kind: MacroDefKind,
        name: &'a [u8],
        parametric: bool,
        body: &'a [u8],
    },
    Tag(&'static str, &'a [u8]),
    /// A section header: the preamble ends.
    Section,
    Other,
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_blank(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_blank(b)).map_or(start, |p| p + 1);
    &s[start..end]
}

/// `%global NAME BODY` and friends (with `s` at the keyword).
fn macro_def(s: &[u8]) -> Option<PLine<'_>> {
    const FORMS: &[(&[u8], MacroDefKind)] = &[
        (b"%global", MacroDefKind::Global),
        (b"%define", MacroDefKind::Define),
        (b"%undefine", MacroDefKind::Undefine),
        (b"%bcond_without", MacroDefKind::BcondWithout),
        (b"%bcond_with", MacroDefKind::BcondWith),
        (b"%bcond", MacroDefKind::Bcond),
    ];
    let (kw, kind) = FORMS
        .iter()
        .find(|(kw, _)| s.starts_with(kw) && s.get(kw.len()).is_some_and(|&b| matches!(b, b' ' | b'\t')))?;
    let mut i = kw.len();
    while i < s.len() && matches!(s[i], b' ' | b'\t') {
        i += 1;
    }
    let name_start = i;
    while i < s.len() && is_name_char(s[i]) {
        i += 1;
    }
    let name = &s[name_start..i];
    let mut parametric = false;
    if matches!(kind, MacroDefKind::Global | MacroDefKind::Define) && s.get(i) == Some(&b'(') {
        let close = s[i..].iter().position(|&b| b == b')')? + i;
        parametric = true;
        i = close + 1;
    }
    Some(PLine::Def {
        kind: *kind,
        name,
        parametric,
        body: trim(&s[i..]),
    })
}

/// Classify one logical line.
fn classify(text: &[u8]) -> PLine<'_> {
    let lead = text.iter().take_while(|&&b| matches!(b, b' ' | b'\t')).count();
    let s = &text[lead..];
    if s.iter().all(|&b| is_blank(b)) || s[0] == b'#' {
        return PLine::Other;
    }
    if let Some(kind) = CondKind::detect(s) {
        return PLine::Cond(kind, trim(&s[kind.keyword().len().min(s.len())..]));
    }
    if let Some(def) = macro_def(s) {
        return def;
    }
    if s[0] == b'%' {
        if lead == 0 {
            let word_len = s[1..].iter().take_while(|&&b| !is_blank(b)).count();
            if SectionKind::from_keyword(&s[1..1 + word_len]).is_some_and(|k| k != SectionKind::Preamble) {
                return PLine::Section;
            }
        }
        return PLine::Other;
    }
    let name_len = s.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    let mut i = name_len;
    if s.get(i) == Some(&b'(') {
        match s[i..].iter().position(|&b| b == b')') {
            Some(p) => i += p + 1,
            None => return PLine::Other,
        }
    }
    while i < s.len() && matches!(s[i], b' ' | b'\t') {
        i += 1;
    }
    if name_len == 0 || s.get(i) != Some(&b':') {
        return PLine::Other;
    }
    let key: &'static str = match s[..name_len].to_ascii_lowercase().as_slice() {
        b"name" => "name",
        b"version" => "version",
        b"release" => "release",
        b"epoch" => "epoch",
        b"summary" => "summary",
        b"license" => "license",
        _ => return PLine::Other,
    };
    PLine::Tag(key, trim(&s[i + 1..]))
}

fn run(src: &[u8], env: &mut Env) -> Result<VerFlags, String> {
    let raw = azldev_spec::lines::split(src);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // Conditionals must balance over the whole text.
    let mut depth = 0usize;
    for r in &raw {
        let t = &src[r.content()];
        let lead = t.iter().take_while(|&&b| matches!(b, b' ' | b'\t')).count();
        if let Some(kind) = CondKind::detect(&t[lead..]) {
            if kind.opens() {
                depth += 1;
            } else if depth == 0 {
                return Err(format!(
                    "line {}: Got a {} with no %if",
                    r.first_phys + 1,
                    kind.keyword()
                ));
            } else if kind == CondKind::Endif {
                depth -= 1;
            }
        }
    }
    if depth > 0 {
        return Err("Unclosed %if".to_owned());
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut tags: HashMap<&'static str, String> = HashMap::new();
    let mut seen_other: HashMap<&'static str, bool> = HashMap::new();
    for r in &raw {
        let line = classify(&src[r.content()]);
        let active = stack.last().is_none_or(|f| f.active);
        match line {
            PLine::Section => break,
            PLine::Other => {}
            PLine::Cond(kind, arg) => {
                let arg = text(arg);
                match kind {
                    CondKind::Endif => {
                        stack.pop();
                    }
                    CondKind::Else => {
                        if let Some(f) = stack.last_mut() {
                            f.active = f.outer && !f.taken;
                            f.taken = true;
                        }
                    }
                    CondKind::Elif | CondKind::Elifarch | CondKind::Elifos => {
                        let (outer, taken) = stack.last().map_or((true, false), |f| (f.outer, f.taken));
                        let yes = outer && !taken && condition(env, kind, &arg);
                        if let Some(f) = stack.last_mut() {
                            f.active = yes;
                            f.taken |= yes;
                        }
                    }
                    _ => {
                        let yes = active && condition(env, kind, &arg);
                        stack.push(Frame {
                            outer: active,
                            taken: yes,
                            active: yes,
                        });
                    }
                }
            }
            PLine::Def { .. } if !active => {}
            PLine::Def {
                kind,
                name,
                parametric,
                body,
            } => {
                let name = text(name);
                let body = text(body);
                match kind {
                    MacroDefKind::Global | MacroDefKind::Define if parametric => {
                        env.define(&name, Def::Param)
                    }
                    MacroDefKind::Global => {
                        let v = env.expand(&body.replace("\\\n", "\n"));
                        env.define(&name, Def::Plain(v));
                    }
                    MacroDefKind::Define => env.define(&name, Def::Plain(body.replace("\\\n", "\n"))),
                    MacroDefKind::Undefine => env.undefine(&name),
                    MacroDefKind::BcondWithout => {
                        if !env.defined(&format!("_without_{name}")) {
                            env.define(&format!("with_{name}"), Def::Plain("1".into()));
                        }
                    }
                    MacroDefKind::BcondWith => {
                        if env.defined(&format!("_with_{name}")) {
                            env.define(&format!("with_{name}"), Def::Plain("1".into()));
                        }
                    }
                    MacroDefKind::Bcond => {
                        let default = env.expand(&body);
                        let on = eval_expr(&default).map(|v| v.truthy());
                        if on.is_none() {
                            env.unresolved(&format!("%bcond {name} {default}"));
                        }
                        if on.unwrap_or(false) {
                            env.define(&format!("with_{name}"), Def::Plain("1".into()));
                        }
                    }
                }
            }
            PLine::Tag(..) if !active => {}
            PLine::Tag(key, value) => {
                if matches!(key, "summary" | "license") {
                    seen_other.insert(key, true);
                    continue;
                }
                let value = env.expand(&text(value)).trim().to_owned();
                env.define(key, Def::Plain(value.clone()));
                tags.insert(key, value);
            }
        }
    }
    let name = tags.get("name").filter(|n| !n.is_empty());
    if name.is_none() {
        return Err("Name field must be present in package: (main package)".into());
    }
    let version = tags.get("version").cloned().unwrap_or_default();
    check_verrel("Version", &version)?;
    let release = tags.get("release").cloned().unwrap_or_default();
    check_verrel("Release", &release)?;
    for (k, label) in [("summary", "Summary"), ("license", "License")] {
        if !seen_other.contains_key(k) {
            return Err(format!(
                "{label} field must be present in package: (main package)"
            ));
        }
    }
    let epoch_version = match tags.get("epoch") {
        Some(e) => {
            let n: u32 = e
                .parse()
                .map_err(|_| format!("Epoch field must be an unsigned number: {e}"))?;
            format!("{n}:{version}")
        }
        None => version,
    };
    Ok(parse_probe(&release, epoch_version))
}

fn condition(env: &mut Env, kind: CondKind, arg: &str) -> bool {
    let expanded = env.expand(arg);
    match kind {
        CondKind::If | CondKind::Elif => match eval_expr(&expanded) {
            Some(v) => v.truthy(),
            None => {
                env.unresolved(&format!("%if {arg}"));
                false
            }
        },
        CondKind::Ifarch | CondKind::Elifarch => expanded.split_whitespace().any(|a| a == "x86_64"),
        CondKind::Ifnarch => !expanded.split_whitespace().any(|a| a == "x86_64"),
        CondKind::Ifos | CondKind::Elifos => expanded.split_whitespace().any(|a| a == "linux"),
        CondKind::Ifnos => !expanded.split_whitespace().any(|a| a == "linux"),
        CondKind::Else | CondKind::Endif => false,
    }
}

/// rpmautospec's `^E(?P<extraver>[^_]*)_S(?P<snapinfo>[^_]*)_P(?P<prerelease>[01])_B(?P<base>\d*)$`.
fn parse_probe(release: &str, epoch_version: String) -> VerFlags {
    let none = VerFlags {
        epoch_version: epoch_version.clone(),
        extraver: None,
        snapinfo: None,
        prerelease: false,
        base: 1,
    };
    let Some(rest) = release.strip_prefix('E') else {
        return none;
    };
    let Some((e, rest)) = rest.split_once("_S") else {
        return none;
    };
    let Some((s, rest)) = rest.split_once("_P") else {
        return none;
    };
    let Some((p, b)) = rest.split_once("_B") else {
        return none;
    };
    if e.contains('_') || s.contains('_') || !matches!(p, "0" | "1") || !b.bytes().all(|c| c.is_ascii_digit())
    {
        return none;
    }
    VerFlags {
        epoch_version,
        extraver: (!e.is_empty()).then(|| e.to_owned()),
        snapinfo: (!s.is_empty()).then(|| s.to_owned()),
        prerelease: p == "1",
        base: if b.is_empty() {
            1
        } else {
            b.parse().unwrap_or(i64::MAX)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(spec: &str) -> Result<VerFlags, String> {
        evaluate(spec.as_bytes(), &[]).flags
    }

    const HEAD: &str = "Name: foo\nSummary: s\nLicense: MIT\n";

    #[test]
    fn plain_and_autorelease() {
        let f = flags(&format!(
            "{HEAD}Version: 1.2\nRelease: %autorelease -b 2 -e pre1\n"
        ))
        .expect("parses");
        assert_eq!(
            f,
            VerFlags {
                epoch_version: "1.2".into(),
                extraver: Some("pre1".into()),
                snapinfo: None,
                prerelease: false,
                base: 2
            }
        );
        let f = flags(&format!(
            "{HEAD}Epoch: 02\nVersion: 3\nRelease: %{{autorelease -p -s 20240101git}}\n"
        ))
        .expect("parses");
        assert_eq!(f.epoch_version, "2:3");
        assert!(f.prerelease);
        assert_eq!(f.snapinfo.as_deref(), Some("20240101git"));
        let f = flags(&format!("{HEAD}Version: 3\nRelease: 4%{{?dist}}\n")).expect("parses");
        assert_eq!((f.base, f.prerelease, f.extraver), (1, false, None));
    }

    #[test]
    fn macros_and_conditionals() {
        let spec = format!(
            "%global major 2\n%define minor %{{major}}1\n%bcond_without docs\n%if %{{with docs}} && 0%{{?fedora}} == 0\n%global patch 7\n%else\n%global patch 9\n%endif\n%ifarch x86_64\n%global arch_suffix .x\n%endif\n{HEAD}Version: %{{major}}.%{{minor}}.%{{patch}}%{{?arch_suffix}}%{{!?nothing:.y}}\nRelease: %autorelease\n"
        );
        assert_eq!(flags(&spec).expect("parses").epoch_version, "2.21.7.x.y");
    }

    #[test]
    fn rpm_failures() {
        assert!(flags(&format!("{HEAD}Release: 1\n")).is_err());
        assert!(flags(&format!("{HEAD}Version: 1-2\nRelease: 1\n")).is_err());
        assert!(flags(&format!("{HEAD}Version: 1\nRelease: 1\n%if 1\n")).is_err());
        assert!(flags("Name: foo\nVersion: 1\nRelease: 1\n").is_err());
        // `-e` with a dash makes rpm reject the Release.
        assert!(flags(&format!("{HEAD}Version: 1\nRelease: %autorelease -e rc-1\n")).is_err());
    }

    #[test]
    fn unresolved_is_reported() {
        let e = evaluate(
            format!("{HEAD}Version: %{{lua: print(1)}}\nRelease: 1\n").as_bytes(),
            &[],
        );
        assert!(!e.unresolved.is_empty());
    }

    #[test]
    fn expressions() {
        assert_eq!(eval_expr("1 + 2 * 3"), Some(Val::Int(7)));
        assert_eq!(eval_expr("0 || \"a\" == \"a\""), Some(Val::Int(1)));
        assert_eq!(eval_expr("!(2 > 3) ? 5 : 6"), Some(Val::Int(5)));
        assert_eq!(eval_expr("foo"), None);
    }
}
