//! `%(…)` bodies evaluated exactly when they depend on nothing but their
//! text: a small interpreter for the part of the POSIX shell specs use to
//! cut up versions and commit hashes. Lists (`;`, newlines, `&&`, `||`),
//! pipelines, subshells, variables (`v=X`, `$v`, `${v}`, `${v%pat}`,
//! `${v%%pat}`, `${v#pat}`, `${v##pat}`, bash's `${v:off:len}` and
//! `${v/pat/rep}`), `$((arith))`, `$?`, here-strings (bash) and
//! here-documents, `>/dev/null`, `2>/dev/null`, `2>&1`; the builtins
//! `echo`, `printf`, `test`/`[`, `true`, `false`, `:`, `eval`; and the
//! filters `cut`, `tr`, `sed` (`s` commands), `grep`, `head`, `tail`,
//! `cat` and a small `awk` (`print`/`printf` of fields, strings and
//! `substr`). Anything else — another program, a file, a glob, a command
//! substitution, an unset variable — is not run: the caller reports the
//! expansion unresolved. The root's `/bin/sh` matters: under dash, bash's
//! substitutions are "Bad substitution" (the script stops, as rpm sees it)
//! and a here-string is a syntax error.

use std::collections::HashMap;
use std::sync::Arc;

use super::macros::{Asked, RootProbe};

/// What the script may learn about the world: the root (through the
/// caller's probe) and the files handed in (the component's sources).
pub(crate) struct World<'a> {
    pub probe: Option<&'a dyn RootProbe>,
    pub files: &'a HashMap<String, Arc<[u8]>>,
    pub asked: Vec<Asked>,
}

impl World<'_> {
    fn exists(&mut self, path: &str) -> Option<bool> {
        let a = self.probe?.exists(path);
        self.asked.push(Asked::Exists(path.to_owned(), a));
        Some(a)
    }

    fn program(&mut self, name: &str) -> Option<bool> {
        let a = self.probe?.program(name);
        self.asked.push(Asked::Program(name.to_owned(), a));
        Some(a)
    }

    fn env(&mut self, name: &str) -> Option<Option<String>> {
        let a = self.probe?.env(name);
        self.asked.push(Asked::Env(name.to_owned(), a.clone()));
        Some(a)
    }

    /// A file's text: `Ok` when handed in, `Err(())` when the root says
    /// it does not exist, `None` when not known.
    fn read(&mut self, path: &str) -> Option<Result<String, ()>> {
        if let Some(b) = self.files.get(path) {
            return Some(Ok(String::from_utf8_lossy(b).into_owned()));
        }
        if !path.starts_with('/') {
            return None;
        }
        match self.exists(path)? {
            false => Some(Err(())),
            true => None,
        }
    }
}

/// Evaluate an expanded `%(…)` body: its standard output, or `None` when
/// it does something not evaluated here.
pub(crate) fn eval(cmd: &str, bash: bool, world: &mut World<'_>) -> Option<String> {
    if !bash && cmd.contains("<<<") && !cmd.trim().contains('\n') {
        // dash: a syntax error before anything runs.
        return Some(String::new());
    }
    let mut p = Parser::new(cmd.as_bytes());
    let ast = p.list(&[])?;
    p.skip_blank_lines()?;
    if p.i < p.s.len() || !p.heredocs.is_empty() {
        return None;
    }
    let mut sh = Sh {
        vars: HashMap::new(),
        status: 0,
        bash,
        steps: 0,
        bodies: p.bodies,
        world,
    };
    let mut out = String::new();
    match sh.run(&ast, "", &mut out) {
        Ok(()) | Err(Stop::Fatal) => Some(out),
        Err(Stop::Unknown) => None,
    }
}

#[derive(Debug, Clone)]
enum Part {
    Lit(String, bool),
    Param(String, Option<String>, bool),
    Arith(String, bool),
}

type Word = Vec<Part>;

#[derive(Debug, Clone)]
enum Redir {
    /// `>/dev/null`, `2>/dev/null` (fd).
    Null(u8),
    /// `2>&1`.
    ErrToOut,
    /// `<<<WORD`.
    HereString(Word),
    /// A here-document (its body by index).
    HereDoc(usize),
}

#[derive(Debug, Clone)]
enum Node {
    Simple {
        assigns: Vec<(String, Word)>,
        words: Vec<Word>,
        redirs: Vec<Redir>,
    },
    Sub(Box<Node>),
    Pipe(Vec<Node>),
    AndOr(Box<Node>, Vec<(bool, Node)>),
    List(Vec<Node>),
    /// `if C; then A; [elif …;] else B; fi`: (condition, body) pairs and
    /// the else body.
    If(Vec<(Node, Node)>, Option<Box<Node>>),
    /// `for NAME in WORDS; do BODY; done`.
    For(String, Vec<Word>, Box<Node>),
}

const RESERVED: [&str; 7] = ["then", "else", "elif", "fi", "do", "done", "in"];

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// Delimiters of here-documents whose bodies start after this line.
    heredocs: Vec<String>,
    /// Here-document bodies read so far.
    bodies: Vec<String>,
}

enum Stop {
    /// Not evaluated here.
    Unknown,
    /// The shell stopped (dash's "Bad substitution"); output so far stands.
    Fatal,
}

type R<T> = Result<T, Stop>;

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

impl<'a> Parser<'a> {
    fn new(s: &'a [u8]) -> Self {
        Parser {
            s,
            i: 0,
            heredocs: Vec::new(),
            bodies: Vec::new(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn blanks(&mut self) {
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' {
                self.i += 1;
            } else if c == b'\\' && self.s.get(self.i + 1) == Some(&b'\n') {
                self.i += 2;
            } else if c == b'#' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn skip_blank_lines(&mut self) -> Option<()> {
        loop {
            self.blanks();
            if self.peek() == Some(b'\n') {
                self.newline()?;
            } else {
                return Some(());
            }
        }
    }

    /// Consume a newline and any here-document bodies pending.
    fn newline(&mut self) -> Option<()> {
        self.i += 1;
        for delim in std::mem::take(&mut self.heredocs) {
            let mut body = String::new();
            loop {
                let end = self.s[self.i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(self.s.len(), |p| self.i + p);
                let line = std::str::from_utf8(&self.s[self.i..end]).ok()?;
                self.i = (end + 1).min(self.s.len());
                if line == delim {
                    break;
                }
                body.push_str(line);
                body.push('\n');
                if end >= self.s.len() {
                    return None;
                }
            }
            // An unquoted delimiter: backslash-newline joins lines; an
            // expansion in the body is not evaluated here.
            if body.contains(['$', '`']) {
                return None;
            }
            let body = body.replace("\\\n", "").replace("\\\\", "\\");
            self.bodies.push(body);
        }
        Some(())
    }

    /// Whether the reserved word `w` is at the cursor.
    fn at_word(&self, w: &str) -> bool {
        self.s[self.i..].starts_with(w.as_bytes())
            && self
                .s
                .get(self.i + w.len())
                .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\n' | b';' | b')'))
    }

    fn expect_word(&mut self, w: &str) -> Option<()> {
        self.skip_blank_lines()?;
        self.at_word(w).then_some(())?;
        self.i += w.len();
        Some(())
    }

    fn list(&mut self, ends: &[u8]) -> Option<Node> {
        let mut items = Vec::new();
        loop {
            self.skip_blank_lines()?;
            match self.peek() {
                None => break,
                Some(c) if ends.contains(&c) => break,
                _ => {}
            }
            if RESERVED[..6].iter().any(|w| self.at_word(w)) {
                break;
            }
            items.push(self.and_or()?);
            self.blanks();
            match self.peek() {
                Some(b';') => {
                    self.i += 1;
                    if self.peek() == Some(b';') {
                        return None;
                    }
                }
                Some(b'\n') => {
                    self.newline()?;
                }
                _ => break,
            }
        }
        Some(Node::List(items))
    }

    fn and_or(&mut self) -> Option<Node> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            self.blanks();
            let and = if self.s[self.i..].starts_with(b"&&") {
                true
            } else if self.s[self.i..].starts_with(b"||") {
                false
            } else {
                break;
            };
            self.i += 2;
            self.skip_blank_lines()?;
            rest.push((and, self.pipeline()?));
        }
        Some(if rest.is_empty() {
            first
        } else {
            Node::AndOr(Box::new(first), rest)
        })
    }

    fn pipeline(&mut self) -> Option<Node> {
        let mut cmds = vec![self.command()?];
        loop {
            self.blanks();
            if self.peek() == Some(b'|') && self.s.get(self.i + 1) != Some(&b'|') {
                self.i += 1;
                self.skip_blank_lines()?;
                cmds.push(self.command()?);
            } else {
                break;
            }
        }
        Some(if cmds.len() == 1 {
            cmds.pop()?
        } else {
            Node::Pipe(cmds)
        })
    }

    fn command(&mut self) -> Option<Node> {
        self.blanks();
        if self.at_word("if") {
            self.i += 2;
            let mut arms = Vec::new();
            let mut otherwise = None;
            loop {
                let cond = self.list(&[])?;
                self.expect_word("then")?;
                let body = self.list(&[])?;
                arms.push((cond, body));
                self.skip_blank_lines()?;
                if self.at_word("elif") {
                    self.i += 4;
                    continue;
                }
                if self.at_word("else") {
                    self.i += 4;
                    otherwise = Some(Box::new(self.list(&[])?));
                }
                self.expect_word("fi")?;
                return Some(Node::If(arms, otherwise));
            }
        }
        if self.at_word("for") {
            self.i += 3;
            self.blanks();
            let st = self.i;
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.i += 1;
            }
            let name = std::str::from_utf8(&self.s[st..self.i]).ok()?.to_owned();
            if !is_name(&name) {
                return None;
            }
            self.blanks();
            self.at_word("in").then_some(())?;
            self.i += 2;
            let mut words = Vec::new();
            loop {
                self.blanks();
                match self.peek()? {
                    b';' | b'\n' => {
                        self.i += 1;
                        break;
                    }
                    _ => words.push(self.word()?),
                }
            }
            self.expect_word("do")?;
            let body = self.list(&[])?;
            self.expect_word("done")?;
            return Some(Node::For(name, words, Box::new(body)));
        }
        if self.peek() == Some(b'(') {
            if self.s.get(self.i + 1) == Some(&b'(') {
                return None;
            }
            self.i += 1;
            let inner = self.list(b")")?;
            if self.peek() != Some(b')') {
                return None;
            }
            self.i += 1;
            return Some(Node::Sub(Box::new(inner)));
        }
        let mut assigns = Vec::new();
        let mut words = Vec::new();
        let mut redirs = Vec::new();
        loop {
            self.blanks();
            let Some(c) = self.peek() else { break };
            if matches!(c, b';' | b'\n' | b'|' | b'&' | b')') {
                if c == b'&' && self.s.get(self.i + 1) != Some(&b'&') {
                    return None;
                }
                break;
            }
            if let Some(r) = self.redirect()? {
                redirs.push(r);
                continue;
            }
            if matches!(c, b'<' | b'>' | b'(') {
                return None;
            }
            let start = self.i;
            let w = self.word()?;
            if words.is_empty() {
                let raw = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                if let Some((n, _)) = raw.split_once('=')
                    && is_name(n)
                {
                    // An assignment: the word after `=`.
                    let mut p = Parser::new(&self.s[start + n.len() + 1..self.i]);
                    if p.s.first() == Some(&b'(') {
                        return None;
                    }
                    let v = if p.s.is_empty() { Vec::new() } else { p.word()? };
                    assigns.push((n.to_owned(), v));
                    continue;
                }
            }
            words.push(w);
        }
        if words.is_empty() && assigns.is_empty() && redirs.is_empty() {
            return None;
        }
        Some(Node::Simple {
            assigns,
            words,
            redirs,
        })
    }

    /// A redirection at the cursor, if any.
    fn redirect(&mut self) -> Option<Option<Redir>> {
        let rest = &self.s[self.i..];
        let (fd, skip) = match rest {
            [b'2', b'>', b'&', b'1', ..] => {
                self.i += 4;
                return Some(Some(Redir::ErrToOut));
            }
            [b'>', b'&', ..] | [b'1', b'>', b'&', ..] | [b'2', b'>', b'&', ..] => return None,
            [b'2', b'>', ..] => (2, 2),
            [b'1', b'>', ..] => (1, 2),
            [b'>', ..] => (1, 1),
            [b'<', b'<', b'<', ..] => {
                self.i += 3;
                self.blanks();
                let w = self.word()?;
                return Some(Some(Redir::HereString(w)));
            }
            [b'<', b'<', ..] => {
                self.i += 2;
                if self.peek() == Some(b'-') {
                    return None;
                }
                self.blanks();
                let st = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let delim = std::str::from_utf8(&self.s[st..self.i]).ok()?.to_owned();
                if delim.is_empty() {
                    return None;
                }
                // The body is read at the end of the line.
                let index = self.bodies.len() + self.heredocs.len();
                self.heredocs.push(delim);
                return Some(Some(Redir::HereDoc(index)));
            }
            _ => return Some(None),
        };
        if self.s.get(self.i + skip) == Some(&b'>') {
            return None;
        }
        self.i += skip;
        self.blanks();
        let st = self.i;
        while self
            .peek()
            .is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b';' | b'|' | b'&' | b')'))
        {
            self.i += 1;
        }
        if &self.s[st..self.i] != b"/dev/null" {
            return None;
        }
        Some(Some(Redir::Null(fd)))
    }

    /// One word: quoted and bare parts, parameter and arithmetic
    /// expansions.
    fn word(&mut self) -> Option<Word> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, parts: &mut Word, q: bool| {
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(lit), q));
            }
        };
        let start = self.i;
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'|' | b'&' | b')' | b'<' | b'>' => break,
                b'(' => return None,
                b'`' => return None,
                b'\'' => {
                    flush(&mut lit, &mut parts, false);
                    let end = self.s[self.i + 1..].iter().position(|&c| c == b'\'')? + self.i + 1;
                    parts.push(Part::Lit(
                        std::str::from_utf8(&self.s[self.i + 1..end]).ok()?.to_owned(),
                        true,
                    ));
                    self.i = end + 1;
                }
                b'"' => {
                    flush(&mut lit, &mut parts, false);
                    self.i += 1;
                    let mut q = String::new();
                    loop {
                        let c = self.peek()?;
                        match c {
                            b'"' => {
                                self.i += 1;
                                break;
                            }
                            b'\\' => {
                                let n = *self.s.get(self.i + 1)?;
                                if matches!(n, b'$' | b'`' | b'"' | b'\\') {
                                    q.push(n as char);
                                } else if n == b'\n' {
                                } else {
                                    q.push('\\');
                                    q.push(n as char);
                                }
                                self.i += 2;
                            }
                            b'`' => return None,
                            b'$' => {
                                if !q.is_empty() {
                                    parts.push(Part::Lit(std::mem::take(&mut q), true));
                                }
                                parts.push(self.dollar(true)?);
                            }
                            _ => {
                                let ch = std::str::from_utf8(&self.s[self.i..]).ok()?.chars().next()?;
                                q.push(ch);
                                self.i += ch.len_utf8();
                            }
                        }
                    }
                    parts.push(Part::Lit(q, true));
                }
                b'\\' => {
                    let n = *self.s.get(self.i + 1)?;
                    self.i += 2;
                    if n != b'\n' {
                        flush(&mut lit, &mut parts, false);
                        parts.push(Part::Lit((n as char).to_string(), true));
                    }
                }
                b'$' => {
                    flush(&mut lit, &mut parts, false);
                    parts.push(self.dollar(false)?);
                }
                _ => {
                    let ch = std::str::from_utf8(&self.s[self.i..]).ok()?.chars().next()?;
                    lit.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
        flush(&mut lit, &mut parts, false);
        (self.i > start).then_some(parts)
    }

    fn dollar(&mut self, quoted: bool) -> Option<Part> {
        self.i += 1;
        let Some(c) = self.peek() else {
            return Some(Part::Lit("$".into(), true));
        };
        match c {
            b'{' => {
                let end = self.s[self.i..].iter().position(|&c| c == b'}')? + self.i;
                let inner = std::str::from_utf8(&self.s[self.i + 1..end]).ok()?;
                self.i = end + 1;
                let n = inner
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                let (name, op) = inner.split_at(n);
                if !is_name(name) {
                    return None;
                }
                Some(Part::Param(
                    name.to_owned(),
                    (!op.is_empty()).then(|| op.to_owned()),
                    quoted,
                ))
            }
            b'(' if self.s.get(self.i + 1) == Some(&b'(') => {
                let st = self.i + 2;
                let end = self.s[st..].windows(2).position(|w| w == b"))")? + st;
                let inner = std::str::from_utf8(&self.s[st..end]).ok()?.to_owned();
                self.i = end + 2;
                Some(Part::Arith(inner, quoted))
            }
            b'?' => {
                self.i += 1;
                Some(Part::Param("?".into(), None, quoted))
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let st = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                Some(Part::Param(
                    std::str::from_utf8(&self.s[st..self.i]).ok()?.to_owned(),
                    None,
                    quoted,
                ))
            }
            b' ' | b'\t' | b'\n' | b'"' | b'\'' | b')' | b'|' | b';' => Some(Part::Lit("$".into(), true)),
            _ => None,
        }
    }
}

/// The interpreter's state.
struct Sh<'w, 'a> {
    vars: HashMap<String, String>,
    status: i32,
    bash: bool,
    steps: u32,
    bodies: Vec<String>,
    world: &'w mut World<'a>,
}

/// A command's result: standard output, whether it wrote to standard
/// error, exit status.
struct Out {
    stdout: String,
    stderr: bool,
    status: i32,
}

impl Out {
    fn ok(stdout: String) -> Self {
        Out {
            stdout,
            stderr: false,
            status: 0,
        }
    }

    fn status(stdout: String, status: i32) -> Self {
        Out {
            stdout,
            stderr: false,
            status,
        }
    }

    fn err(status: i32) -> Self {
        Out {
            stdout: String::new(),
            stderr: true,
            status,
        }
    }
}

/// A shell pattern (`*`, `?`, `[…]`, literal characters) as a regex
/// matching the whole text.
fn glob_regex(pat: &str, greedy: bool) -> Option<String> {
    let mut out = String::new();
    let mut it = pat.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '*' => out.push_str(if greedy { ".*" } else { ".*?" }),
            '?' => out.push('.'),
            '[' => {
                out.push('[');
                if it.peek() == Some(&'!') {
                    it.next();
                    out.push('^');
                }
                loop {
                    let d = it.next()?;
                    if d == ']' {
                        break;
                    }
                    if matches!(d, '\\' | '[' | '&' | '~') {
                        out.push('\\');
                    }
                    out.push(d);
                }
                out.push(']');
            }
            '\\' => out.push_str(&regex::escape(&it.next()?.to_string())),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    Some(out)
}

/// `${v%pat}` and friends: the shortest/longest suffix/prefix match removed.
fn trim_pattern(v: &str, pat: &str, suffix: bool, longest: bool) -> Option<String> {
    let re = regex::Regex::new(&format!("^(?:{})$", glob_regex(pat, true)?)).ok()?;
    let cuts: Vec<usize> = v.char_indices().map(|(i, _)| i).chain([v.len()]).collect();
    if suffix {
        let order: Box<dyn Iterator<Item = &usize>> = if longest {
            Box::new(cuts.iter())
        } else {
            Box::new(cuts.iter().rev())
        };
        for &i in order {
            if re.is_match(&v[i..]) {
                return Some(v[..i].to_owned());
            }
        }
    } else {
        let order: Box<dyn Iterator<Item = &usize>> = if longest {
            Box::new(cuts.iter().rev())
        } else {
            Box::new(cuts.iter())
        };
        for &i in order {
            if re.is_match(&v[..i]) {
                return Some(v[i..].to_owned());
            }
        }
    }
    Some(v.to_owned())
}

/// Integer arithmetic (`+ - * / %`, parentheses, variables).
fn arith(s: &str, vars: &HashMap<String, String>) -> Option<i64> {
    fn atom(t: &[String], i: &mut usize, vars: &HashMap<String, String>) -> Option<i64> {
        let tok = t.get(*i)?.clone();
        *i += 1;
        match tok.as_str() {
            "(" => {
                let v = sum(t, i, vars)?;
                (t.get(*i)? == ")").then_some(())?;
                *i += 1;
                Some(v)
            }
            "-" => atom(t, i, vars).map(|v| -v),
            "+" => atom(t, i, vars),
            x if x.bytes().all(|c| c.is_ascii_digit()) => x.parse().ok(),
            x if is_name(x) => {
                let v = vars.get(x)?;
                if v.is_empty() {
                    Some(0)
                } else {
                    v.trim().parse().ok()
                }
            }
            _ => None,
        }
    }
    fn prod(t: &[String], i: &mut usize, vars: &HashMap<String, String>) -> Option<i64> {
        let mut v = atom(t, i, vars)?;
        while let Some(op) = t.get(*i).filter(|o| matches!(o.as_str(), "*" | "/" | "%")) {
            let op = op.clone();
            *i += 1;
            let r = atom(t, i, vars)?;
            v = match op.as_str() {
                "*" => v.checked_mul(r)?,
                "/" => v.checked_div(r)?,
                _ => v.checked_rem(r)?,
            };
        }
        Some(v)
    }
    fn sum(t: &[String], i: &mut usize, vars: &HashMap<String, String>) -> Option<i64> {
        let mut v = prod(t, i, vars)?;
        while let Some(op) = t.get(*i).filter(|o| matches!(o.as_str(), "+" | "-")) {
            let op = op.clone();
            *i += 1;
            let r = prod(t, i, vars)?;
            v = if op == "+" {
                v.checked_add(r)?
            } else {
                v.checked_sub(r)?
            };
        }
        Some(v)
    }
    let mut toks = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' {
            let st = if c == b'$' { i + 1 } else { i };
            i = st;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push(s[st..i].to_owned());
        } else if b"+-*/%()".contains(&c) {
            toks.push((c as char).to_string());
            i += 1;
        } else {
            return None;
        }
    }
    let mut k = 0;
    let v = sum(&toks, &mut k, vars)?;
    (k == toks.len()).then_some(v)
}

impl Sh<'_, '_> {
    /// Expand a word to fields (unquoted expansions split on blanks; an
    /// unquoted glob character is not evaluated).
    fn fields(&mut self, w: &Word) -> R<Vec<String>> {
        let mut fields: Vec<String> = Vec::new();
        let mut cur = String::new();
        let mut have = false;
        for p in w {
            match p {
                Part::Lit(t, q) => {
                    if !q && t.contains(['*', '?', '[', '~', '{']) && !(t == "[" || t == "]") {
                        // A glob (or bash's brace expansion / tilde): depends
                        // on files or is not evaluated here.
                        let brace = t.contains('{') && (t.contains(',') || t.contains(".."));
                        if t.contains(['*', '?'])
                            || (t.contains('[') && t.len() > 1)
                            || t.starts_with('~')
                            || brace
                        {
                            return Err(Stop::Unknown);
                        }
                    }
                    cur.push_str(t);
                    have = true;
                }
                Part::Param(..) | Part::Arith(..) => {
                    let (v, q) = match p {
                        Part::Param(n, op, q) => (self.param(n, op.as_deref())?, *q),
                        Part::Arith(e, q) => (arith(e, &self.vars).ok_or(Stop::Unknown)?.to_string(), *q),
                        Part::Lit(..) => unreachable_part(),
                    };
                    if q {
                        cur.push_str(&v);
                        have = true;
                    } else {
                        if v.contains(['*', '?', '[']) {
                            return Err(Stop::Unknown);
                        }
                        let starts_blank = v.starts_with([' ', '\t', '\n']);
                        if starts_blank && have {
                            fields.push(std::mem::take(&mut cur));
                            have = false;
                        }
                        let mut first = true;
                        for piece in v.split([' ', '\t', '\n']) {
                            if piece.is_empty() {
                                continue;
                            }
                            if !first && have {
                                fields.push(std::mem::take(&mut cur));
                            }
                            cur.push_str(piece);
                            have = true;
                            first = false;
                        }
                        if v.ends_with([' ', '\t', '\n']) && have {
                            fields.push(std::mem::take(&mut cur));
                            have = false;
                        }
                    }
                }
            }
        }
        if have {
            fields.push(cur);
        }
        Ok(fields)
    }

    /// A word as one string (assignments, here-strings: no splitting).
    fn string(&mut self, w: &Word) -> R<String> {
        let mut s = String::new();
        for p in w {
            match p {
                Part::Lit(t, _) => s.push_str(t),
                Part::Param(n, op, _) => s.push_str(&self.param(n, op.as_deref())?),
                Part::Arith(e, _) => s.push_str(&arith(e, &self.vars).ok_or(Stop::Unknown)?.to_string()),
            }
        }
        Ok(s)
    }

    fn param(&mut self, name: &str, op: Option<&str>) -> R<String> {
        if name == "?" {
            return Ok(self.status.to_string());
        }
        // A variable the script did not set comes from the environment
        // rpm runs in, which only the caller's probe knows.
        let v = match self.vars.get(name) {
            Some(v) => v.clone(),
            None => self.world.env(name).ok_or(Stop::Unknown)?.unwrap_or_default(),
        };
        let Some(op) = op else { return Ok(v) };
        let bad = |bash: bool| if bash { Stop::Unknown } else { Stop::Fatal };
        if let Some(p) = op.strip_prefix("%%") {
            return trim_pattern(&v, p, true, true).ok_or(Stop::Unknown);
        }
        if let Some(p) = op.strip_prefix('%') {
            return trim_pattern(&v, p, true, false).ok_or(Stop::Unknown);
        }
        if let Some(p) = op.strip_prefix("##") {
            return trim_pattern(&v, p, false, true).ok_or(Stop::Unknown);
        }
        if let Some(p) = op.strip_prefix('#') {
            return trim_pattern(&v, p, false, false).ok_or(Stop::Unknown);
        }
        if let Some(r) = op.strip_prefix(':') {
            if !self.bash {
                return Err(bad(false));
            }
            let (off, len) = match r.split_once(':') {
                Some((o, l)) => (o.trim(), Some(l.trim())),
                None => (r.trim(), None),
            };
            let off: usize = off.parse().map_err(|_| Stop::Unknown)?;
            let chars = v.chars().skip(off);
            return Ok(match len {
                Some(l) => chars.take(l.parse().map_err(|_| Stop::Unknown)?).collect(),
                None => chars.collect(),
            });
        }
        if let Some(r) = op.strip_prefix('/') {
            if !self.bash {
                return Err(bad(false));
            }
            let (all, r) = match r.strip_prefix('/') {
                Some(r) => (true, r),
                None => (false, r),
            };
            let (pat, rep) = r.split_once('/').unwrap_or((r, ""));
            let re =
                regex::Regex::new(&glob_regex(pat, true).ok_or(Stop::Unknown)?).map_err(|_| Stop::Unknown)?;
            let rep = rep.replace('$', "$$");
            return Ok(if all {
                re.replace_all(&v, rep.as_str()).into_owned()
            } else {
                re.replace(&v, rep.as_str()).into_owned()
            });
        }
        Err(Stop::Unknown)
    }

    fn run(&mut self, n: &Node, stdin: &str, out: &mut String) -> R<()> {
        let o = self.exec(n, stdin, out)?;
        out.push_str(&o.stdout);
        Ok(())
    }

    /// Run a node; output of list members before the last is written to
    /// `sink` as it is produced (so a fatal error keeps it).
    fn exec(&mut self, n: &Node, stdin: &str, sink: &mut String) -> R<Out> {
        self.steps += 1;
        if self.steps > 10_000 {
            return Err(Stop::Unknown);
        }
        match n {
            Node::List(items) => {
                let mut last = Out::ok(String::new());
                for it in items {
                    sink.push_str(&last.stdout);
                    last = self.exec(it, stdin, sink)?;
                    self.status = last.status;
                }
                Ok(last)
            }
            Node::AndOr(first, rest) => {
                let mut o = self.exec(first, stdin, sink)?;
                self.status = o.status;
                for (and, node) in rest {
                    if (o.status == 0) == *and {
                        sink.push_str(&o.stdout);
                        o = self.exec(node, stdin, sink)?;
                        self.status = o.status;
                    }
                }
                Ok(o)
            }
            Node::Pipe(cmds) => {
                let mut data = stdin.to_owned();
                let mut last = Out::ok(String::new());
                for c in cmds {
                    // Each command of a pipeline runs in a subshell.
                    let mut sub = self.vars.clone();
                    let mut tmp = String::new();
                    let r = self.exec(c, &data, &mut tmp);
                    std::mem::swap(&mut self.vars, &mut sub);
                    let mut o = match r {
                        Ok(o) => o,
                        Err(Stop::Fatal) => Out::err(2),
                        Err(e) => return Err(e),
                    };
                    tmp.push_str(&o.stdout);
                    o.stdout = tmp;
                    data = std::mem::take(&mut o.stdout);
                    last = Out {
                        stdout: String::new(),
                        stderr: last.stderr || o.stderr,
                        status: o.status,
                    };
                }
                last.stdout = data;
                Ok(last)
            }
            Node::If(arms, otherwise) => {
                for (cond, body) in arms {
                    let c = self.exec(cond, stdin, sink)?;
                    sink.push_str(&c.stdout);
                    self.status = c.status;
                    if c.status == 0 {
                        return self.exec(body, stdin, sink);
                    }
                }
                match otherwise {
                    Some(b) => self.exec(b, stdin, sink),
                    None => Ok(Out::ok(String::new())),
                }
            }
            Node::For(name, words, body) => {
                let mut items = Vec::new();
                for w in words {
                    items.extend(self.fields(w)?);
                }
                let mut last = Out::ok(String::new());
                for it in items {
                    self.vars.insert(name.clone(), it);
                    sink.push_str(&last.stdout);
                    last = self.exec(body, stdin, sink)?;
                    self.status = last.status;
                }
                Ok(last)
            }
            Node::Sub(inner) => {
                let saved = self.vars.clone();
                let mut tmp = String::new();
                let r = self.exec(inner, stdin, &mut tmp);
                self.vars = saved;
                let mut o = match r {
                    Ok(o) => o,
                    Err(Stop::Fatal) => Out::err(2),
                    Err(e) => return Err(e),
                };
                tmp.push_str(&o.stdout);
                o.stdout = tmp;
                Ok(o)
            }
            Node::Simple {
                assigns,
                words,
                redirs,
            } => {
                let mut argv = Vec::new();
                for w in words {
                    argv.extend(self.fields(w)?);
                }
                let mut values = Vec::new();
                for (name, w) in assigns {
                    values.push((name.clone(), self.string(w)?));
                }
                if argv.is_empty() {
                    for (n, v) in values {
                        self.vars.insert(n, v);
                    }
                    return Ok(Out::ok(String::new()));
                }
                // `VAR=x cmd`: only locale settings, which change nothing
                // the commands here print.
                if values
                    .iter()
                    .any(|(n, _)| !matches!(n.as_str(), "LC_ALL" | "LANG" | "LC_NUMERIC"))
                {
                    return Err(Stop::Unknown);
                }
                let mut input = stdin.to_owned();
                // Where standard output and error go, in redirection order
                // (`>/dev/null 2>&1` silences both, `2>&1 >/dev/null` not).
                let (mut null_out, mut null_err, mut err_to_out) = (false, false, false);
                for r in redirs {
                    match r {
                        Redir::Null(1) => null_out = true,
                        Redir::Null(_) => {
                            null_err = true;
                            err_to_out = false;
                        }
                        Redir::ErrToOut => {
                            err_to_out = !null_out;
                            null_err = null_out;
                        }
                        Redir::HereString(w) => {
                            if !self.bash {
                                return Err(Stop::Fatal);
                            }
                            input = self.string(w)? + "\n";
                        }
                        Redir::HereDoc(i) => input = self.bodies.get(*i).cloned().ok_or(Stop::Unknown)?,
                    }
                }
                let mut o = if argv[0] == "eval" {
                    let text = argv[1..].join(" ");
                    let mut p = Parser::new(text.as_bytes());
                    let ast = p.list(&[]).ok_or(Stop::Unknown)?;
                    if p.i < p.s.len() {
                        return Err(Stop::Unknown);
                    }
                    let mut tmp = String::new();
                    let mut o = self.exec(&ast, &input, &mut tmp)?;
                    tmp.push_str(&o.stdout);
                    o.stdout = tmp;
                    o
                } else {
                    self.command(&argv, &input).ok_or(Stop::Unknown)?
                };
                if o.stderr && err_to_out && !null_err {
                    // Its message would be in the output: not known here.
                    return Err(Stop::Unknown);
                }
                if null_out {
                    o.stdout.clear();
                }
                Ok(o)
            }
        }
    }
}

fn unreachable_part() -> (String, bool) {
    (String::new(), false)
}

impl Sh<'_, '_> {
    /// Run one command (builtin or filter) on `input`.
    fn command(&mut self, argv: &[String], input: &str) -> Option<Out> {
        let bash = self.bash;
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        // File operands: handed-in files are read, missing ones fail.
        let file_input = |sh: &mut Self, files: &[&str]| -> Option<Result<String, ()>> {
            let mut all = String::new();
            for f in files {
                match sh.world.read(f)? {
                    Ok(t) => all.push_str(&t),
                    Err(()) => return Some(Err(())),
                }
            }
            Some(Ok(all))
        };
        match argv[0].as_str() {
            "true" | ":" => Some(Out::ok(String::new())),
            "false" => Some(Out::status(String::new(), 1)),
            "echo" => {
                let (nl, rest) = match args.first() {
                    Some(&"-n") => (false, &args[1..]),
                    _ => (true, &args[..]),
                };
                let text = rest.join(" ");
                if text.contains('\\') {
                    // dash's echo interprets escapes, bash's does not.
                    return None;
                }
                Some(Out::ok(if nl { text + "\n" } else { text }))
            }
            "printf" => printf(&args).map(Out::ok),
            "test" => self.test_files(&args).or_else(|| test(&args, bash)),
            "[" => {
                let (last, rest) = args.split_last()?;
                (*last == "]").then_some(())?;
                self.test_files(rest).or_else(|| test(rest, bash))
            }
            "cat" if args.is_empty() => Some(Out::ok(input.to_owned())),
            "cat" => match file_input(self, &args)? {
                Ok(t) => Some(Out::ok(t)),
                Err(()) => Some(Out::err(1)),
            },
            "cut" => lines_filter(input, |l| cut(l, &args)),
            "tr" => tr(input, &args).map(Out::ok),
            "sed" => {
                // `sed SCRIPT FILE…`: the operands after the script.
                let n_opts = sed_operands(&args)?;
                if n_opts < args.len() {
                    return match file_input(self, &args[n_opts..])? {
                        Ok(t) => sed(&t, &args[..n_opts]).map(Out::ok),
                        Err(()) => Some(Out::err(2)),
                    };
                }
                sed(input, &args).map(Out::ok)
            }
            "grep" => grep(input, &args),
            "head" | "tail" => {
                let n: usize = match args.as_slice() {
                    [] => 10,
                    [a] if a.starts_with("-n") && a.len() > 2 => a[2..].parse().ok()?,
                    [a] if a.starts_with('-') => a[1..].parse().ok()?,
                    ["-n", n] => n.parse().ok()?,
                    _ => return None,
                };
                let lines: Vec<&str> = input.lines().collect();
                let sel: Vec<&str> = if argv[0] == "head" {
                    lines.iter().take(n).copied().collect()
                } else {
                    lines
                        .iter()
                        .skip(lines.len().saturating_sub(n))
                        .copied()
                        .collect()
                };
                Some(Out::ok(sel.iter().map(|l| format!("{l}\n")).collect()))
            }
            "awk" => awk(input, &args).map(Out::ok),
            name => {
                // Another program: only its absence is known.
                let present = if name.contains('/') {
                    self.world.exists(name)?
                } else {
                    self.world.program(name)?
                };
                (!present).then(|| Out::err(127))
            }
        }
    }
}

impl Sh<'_, '_> {
    /// `test -e/-f/-d/-x FILE` when the file is missing from the root.
    fn test_files(&mut self, args: &[&str]) -> Option<Out> {
        let [op @ ("-e" | "-f" | "-d" | "-x" | "-r" | "-s"), path] = args else {
            return None;
        };
        if self.world.files.contains_key(*path) || !path.starts_with('/') {
            return None;
        }
        match self.world.exists(path)? {
            false => Some(Out::status(String::new(), 1)),
            // Only `-e` is answered by existence alone.
            true => (*op == "-e").then(|| Out::ok(String::new())),
        }
    }
}

/// How many of sed's arguments are options and the script (the rest are
/// file operands).
fn sed_operands(args: &[&str]) -> Option<usize> {
    let mut i = 0;
    let mut script = false;
    while i < args.len() {
        match args[i] {
            "-r" | "-E" => {}
            "-e" => {
                script = true;
                i += 1;
            }
            a if a.starts_with('-') => return None,
            _ if script => return Some(i),
            _ => script = true,
        }
        i += 1;
    }
    Some(args.len())
}

fn lines_filter(input: &str, f: impl Fn(&str) -> Option<String>) -> Option<Out> {
    let mut out = String::new();
    for l in input.lines() {
        out.push_str(&f(l)?);
        out.push('\n');
    }
    Some(Out::ok(out))
}

/// C's printf for `%s`, `%d`, `%f` with flags, width and precision.
fn printf(args: &[&str]) -> Option<String> {
    let (fmt, mut rest) = args.split_first()?;
    let mut out = String::new();
    loop {
        let mut it = fmt.chars().peekable();
        let mut used = 0;
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    '\\' => out.push('\\'),
                    _ => return None,
                },
                '%' => {
                    if it.peek() == Some(&'%') {
                        it.next();
                        out.push('%');
                        continue;
                    }
                    let mut spec = String::new();
                    while let Some(&d) = it.peek() {
                        if d.is_ascii_digit() || matches!(d, '.' | '-' | '0') {
                            spec.push(d);
                            it.next();
                        } else {
                            break;
                        }
                    }
                    let conv = it.next()?;
                    let arg = rest.get(used).copied().unwrap_or("");
                    used += 1;
                    out.push_str(&format_one(&spec, conv, arg)?);
                }
                c => out.push(c),
            }
        }
        rest = rest.get(used..).unwrap_or(&[]);
        if rest.is_empty() || used == 0 {
            break;
        }
    }
    Some(out)
}

fn format_one(spec: &str, conv: char, arg: &str) -> Option<String> {
    let left = spec.starts_with('-');
    let spec = spec.trim_start_matches('-');
    let zero = spec.starts_with('0');
    let (w, p) = match spec.split_once('.') {
        Some((w, p)) => (w, Some(p.parse::<usize>().unwrap_or(0))),
        None => (spec, None),
    };
    let width: usize = if w.is_empty() { 0 } else { w.parse().ok()? };
    let body = match conv {
        's' => match p {
            Some(p) => arg.chars().take(p).collect(),
            None => arg.to_owned(),
        },
        'd' | 'i' => {
            let v: i64 = if arg.is_empty() {
                0
            } else {
                arg.trim().parse().ok()?
            };
            v.to_string()
        }
        'f' => {
            let v: f64 = if arg.is_empty() {
                0.0
            } else {
                arg.trim().parse().ok()?
            };
            if !v.is_finite() {
                return None;
            }
            format!("{v:.*}", p.unwrap_or(6))
        }
        _ => return None,
    };
    let pad = width.saturating_sub(body.chars().count());
    Some(if left {
        format!("{body}{}", " ".repeat(pad))
    } else if zero && conv != 's' {
        match body.strip_prefix('-') {
            Some(b) => format!("-{}{b}", "0".repeat(pad)),
            None => format!("{}{body}", "0".repeat(pad)),
        }
    } else {
        format!("{}{body}", " ".repeat(pad))
    })
}

fn test(args: &[&str], bash: bool) -> Option<Out> {
    let t = |b: bool| Some(Out::status(String::new(), i32::from(!b)));
    if !bash && args.contains(&"==") {
        // dash's test: "unexpected operator".
        return Some(Out::err(2));
    }
    match args {
        [] => t(false),
        ["!", rest @ ..] => test(rest, bash).map(|o| Out::status(String::new(), i32::from(o.status == 0))),
        [a] => t(!a.is_empty()),
        ["-n", a] => t(!a.is_empty()),
        ["-z", a] => t(a.is_empty()),
        [a, "=", b] => t(a == b),
        [a, "==", b] if bash => t(a == b),
        // dash's test: "unexpected operator".
        [_, "==", _] => Some(Out::err(2)),
        [a, "!=", b] => t(a != b),
        [a, op @ ("-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"), b] => {
            let (a, b): (i64, i64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            t(match *op {
                "-eq" => a == b,
                "-ne" => a != b,
                "-lt" => a < b,
                "-le" => a <= b,
                "-gt" => a > b,
                _ => a >= b,
            })
        }
        _ => None,
    }
}

/// A `cut -f`/`-c` list: 1-based inclusive ranges.
fn ranges(list: &str) -> Option<Vec<(usize, usize)>> {
    list.split(',')
        .map(|r| {
            let (a, b) = match r.split_once('-') {
                Some((a, b)) => (
                    if a.is_empty() { 1 } else { a.parse().ok()? },
                    if b.is_empty() { usize::MAX } else { b.parse().ok()? },
                ),
                None => {
                    let n = r.parse().ok()?;
                    (n, n)
                }
            };
            (a >= 1 && b >= a).then_some((a, b))
        })
        .collect()
}

fn cut(line: &str, args: &[&str]) -> Option<String> {
    let (mut delim, mut fields, mut chars, mut outd) = (None, None, None, None);
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if let Some(v) = a.strip_prefix("--output-delimiter=") {
            outd = Some(v.to_owned());
            i += 1;
            continue;
        }
        if a == "--output-delimiter" {
            outd = Some((*args.get(i + 1)?).to_owned());
            i += 2;
            continue;
        }
        let (flag, rest) = a.split_at(2.min(a.len()));
        let val = if rest.is_empty() {
            i += 1;
            *args.get(i)?
        } else {
            rest
        };
        match flag {
            "-d" => {
                let mut c = val.chars();
                delim = Some(c.next()?);
                if c.next().is_some() {
                    return None;
                }
            }
            "-f" => fields = Some(ranges(val)?),
            "-c" | "-b" => chars = Some(ranges(val)?),
            _ => return None,
        }
        i += 1;
    }
    let pick = |n: usize, rs: &[(usize, usize)]| rs.iter().any(|(a, b)| n >= *a && n <= *b);
    if let Some(rs) = chars {
        if !line.is_ascii() {
            return None;
        }
        return Some(
            line.chars()
                .enumerate()
                .filter(|(k, _)| pick(k + 1, &rs))
                .map(|(_, c)| c)
                .collect(),
        );
    }
    let rs = fields?;
    let d = delim.unwrap_or('\t');
    if !line.contains(d) {
        return Some(line.to_owned());
    }
    let outd = outd.unwrap_or_else(|| d.to_string());
    let sel: Vec<&str> = line
        .split(d)
        .enumerate()
        .filter(|(k, _)| pick(k + 1, &rs))
        .map(|(_, f)| f)
        .collect();
    Some(sel.join(&outd))
}

/// A `tr` set: characters, ranges `a-z`, `\n`-style escapes.
fn tr_set(s: &str) -> Option<Vec<char>> {
    let s = &s
        .replace("[:upper:]", "A-Z")
        .replace("[:lower:]", "a-z")
        .replace("[:digit:]", "0-9");
    let mut raw = Vec::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            raw.push(match it.next()? {
                'n' => '\n',
                't' => '\t',
                '\\' => '\\',
                c if c.is_ascii_punctuation() => c,
                _ => return None,
            });
        } else if c == '[' && s.contains(":]") {
            return None;
        } else {
            raw.push(c);
        }
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k < raw.len() {
        if k + 2 < raw.len() && raw[k + 1] == '-' {
            let (a, b) = (raw[k], raw[k + 2]);
            if b < a {
                return None;
            }
            out.extend(a..=b);
            k += 3;
        } else {
            out.push(raw[k]);
            k += 1;
        }
    }
    Some(out)
}

fn tr(input: &str, args: &[&str]) -> Option<String> {
    match args {
        ["-d", a] => {
            let a = tr_set(a)?;
            Some(input.chars().filter(|c| !a.contains(c)).collect())
        }
        [a, b] => {
            let (a, b) = (tr_set(a)?, tr_set(b)?);
            let last = *b.last()?;
            Some(
                input
                    .chars()
                    .map(|c| match a.iter().rposition(|x| *x == c) {
                        Some(p) => b.get(p).copied().unwrap_or(last),
                        None => c,
                    })
                    .collect(),
            )
        }
        _ => None,
    }
}

/// A POSIX basic regular expression (groups, `.`, `*`, anchors, bracket
/// expressions with classes, `\{m,n\}`) as a `regex` pattern; `None` for
/// anything else.
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
                d @ ('.' | '*' | '[' | ']' | '^' | '$' | '\\' | '/' | '|' | '#' | '-' | '~' | ',') => {
                    out.push('\\');
                    out.push(d);
                }
                _ => return None,
            },
            '[' => bracket(&mut it, &mut out)?,
            '+' | '?' | '|' | '(' | ')' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    Some(out)
}

/// An extended regular expression in `regex` syntax.
fn ere_to_regex(p: &str) -> Option<String> {
    let mut out = String::new();
    let mut it = p.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                let d = it.next()?;
                if d.is_ascii_alphanumeric() {
                    return None;
                }
                out.push('\\');
                out.push(d);
            }
            '[' => bracket(&mut it, &mut out)?,
            _ => out.push(c),
        }
    }
    Some(out)
}

/// A bracket expression after its `[`.
fn bracket(it: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) -> Option<()> {
    out.push('[');
    if it.peek() == Some(&'^') {
        it.next();
        out.push('^');
    }
    let mut first = true;
    loop {
        let d = it.next()?;
        if d == ']' && !first {
            out.push(']');
            return Some(());
        }
        if d == '[' && it.peek() == Some(&':') {
            // [:class:]
            let mut class = String::from("[");
            for e in it.by_ref() {
                class.push(e);
                if class.ends_with(":]") {
                    break;
                }
            }
            if !class.ends_with(":]") {
                return None;
            }
            out.push_str(&class);
            first = false;
            continue;
        }
        if matches!(d, '[' | '\\' | '&' | '~') || (d == '-' && first) {
            out.push('\\');
        }
        out.push(d);
        first = false;
    }
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
                'n' => out.push('\n'),
                d if d.is_ascii_punctuation() => {
                    if d == '$' {
                        out.push('$');
                    }
                    out.push(d);
                }
                _ => return None,
            },
            '&' => out.push_str("${0}"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    Some(out)
}

/// One `s/A/B/F` command: (regex, replacement, global).
fn sed_subst(script: &str, ere: bool) -> Option<(regex::Regex, String, bool)> {
    let body = script.trim().strip_prefix('s')?;
    let sep = body.chars().next()?;
    if sep.is_alphanumeric() || sep == '\\' || sep == '\n' {
        return None;
    }
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut it = body[sep.len_utf8()..].chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            let d = it.next()?;
            if d == sep && sep != '&' {
                if sep == '.' || sep == '|' || sep == '^' || sep == '$' || sep == '*' {
                    cur.push('\\');
                }
                cur.push(d);
            } else {
                cur.push('\\');
                cur.push(d);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    let [pat, rep, flags] = parts.as_slice() else {
        return None;
    };
    let global = match flags.trim() {
        "g" => true,
        "" => false,
        _ => return None,
    };
    let re = if ere {
        ere_to_regex(pat)?
    } else {
        bre_to_regex(pat)?
    };
    let re = regex::Regex::new(&re).ok()?;
    Some((re, sed_replacement(rep)?, global))
}

fn sed(input: &str, args: &[&str]) -> Option<String> {
    let mut ere = false;
    let mut scripts = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            "-r" | "-E" => ere = true,
            "-e" => {
                scripts.push(*args.get(i + 1)?);
                i += 1;
            }
            a if a.starts_with('-') => return None,
            a if scripts.is_empty() => scripts.push(a),
            // A file operand.
            _ => return None,
        }
        i += 1;
    }
    let mut cmds = Vec::new();
    for s in scripts {
        for part in s.split(';') {
            if part.trim().is_empty() {
                continue;
            }
            cmds.push(sed_subst(part, ere)?);
        }
    }
    if cmds.is_empty() {
        return None;
    }
    let mut out = String::new();
    for line in input.lines() {
        let mut l = line.to_owned();
        for (re, rep, g) in &cmds {
            l = if *g {
                re.replace_all(&l, rep.as_str()).into_owned()
            } else {
                re.replace(&l, rep.as_str()).into_owned()
            };
        }
        out.push_str(&l);
        out.push('\n');
    }
    Some(out)
}

fn grep(input: &str, args: &[&str]) -> Option<Out> {
    let (mut quiet, mut only, mut ere, mut invert, mut max) = (false, false, false, false, usize::MAX);
    let mut pattern = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if let Some(n) = a.strip_prefix("-m") {
            max = if n.is_empty() {
                i += 1;
                args.get(i)?.parse().ok()?
            } else {
                n.parse().ok()?
            };
        } else if a.starts_with('-') && a.len() > 1 && pattern.is_none() {
            for f in a[1..].chars() {
                match f {
                    'q' => quiet = true,
                    'o' => only = true,
                    'E' => ere = true,
                    'v' => invert = true,
                    _ => return None,
                }
            }
        } else if pattern.is_none() {
            pattern = Some(a);
        } else {
            return None;
        }
        i += 1;
    }
    let p = pattern?;
    let re = regex::Regex::new(&if ere { ere_to_regex(p)? } else { bre_to_regex(p)? }).ok()?;
    let mut out = String::new();
    let mut hits = 0;
    for line in input.lines() {
        if hits >= max {
            break;
        }
        let m = re.is_match(line);
        if m == invert {
            continue;
        }
        hits += 1;
        if only && !invert {
            for x in re.find_iter(line) {
                if !x.as_str().is_empty() {
                    out.push_str(x.as_str());
                    out.push('\n');
                }
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if quiet {
        out.clear();
    }
    Some(Out::status(out, i32::from(hits == 0)))
}

/// A small awk: `-F SEP` and one `{ print …; }` or `{ printf … }` action
/// over fields, string literals and `substr`.
fn awk(input: &str, args: &[&str]) -> Option<String> {
    let (mut sep, mut prog) = (None, None);
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        if let Some(s) = a.strip_prefix("-F") {
            sep = Some(if s.is_empty() {
                i += 1;
                (*args.get(i)?).to_owned()
            } else {
                s.to_owned()
            });
        } else if prog.is_none() {
            prog = Some(a);
        } else {
            return None;
        }
        i += 1;
    }
    let prog = prog?.trim();
    let body = prog
        .strip_prefix('{')?
        .strip_suffix('}')?
        .trim()
        .trim_end_matches(';');
    let (is_printf, rest) = if let Some(r) = body.strip_prefix("printf") {
        (true, r)
    } else {
        (false, body.strip_prefix("print")?)
    };
    let exprs = awk_args(rest.trim())?;
    let mut out = String::new();
    for line in input.lines() {
        let fields: Vec<&str> = match &sep {
            Some(s) if s.chars().count() == 1 && s != " " => line.split(s.as_str()).collect(),
            Some(s) if s != " " => return None,
            _ => line.split_whitespace().collect(),
        };
        let vals: Vec<String> = exprs
            .iter()
            .map(|e| awk_expr(e, line, &fields))
            .collect::<Option<_>>()?;
        if is_printf {
            let (f, a) = vals.split_first()?;
            let mut all = vec![f.as_str()];
            all.extend(a.iter().map(String::as_str));
            out.push_str(&printf(&all)?);
        } else {
            out.push_str(&vals.join(" "));
            out.push('\n');
        }
    }
    Some(out)
}

/// Split an awk argument list on top-level commas.
fn awk_args(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut q) = (0, false);
    for c in s.chars() {
        match c {
            '"' => q = !q,
            '(' if !q => depth += 1,
            ')' if !q => depth -= 1,
            ',' if !q && depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_owned());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    Some(out)
}

/// A concatenation of `$N`, `"str"`, `substr(E, a[, b])` terms.
fn awk_expr(e: &str, line: &str, fields: &[&str]) -> Option<String> {
    let b = e.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'$' => {
                let st = i + 1;
                i = st;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: usize = e[st..i].parse().ok()?;
                out.push_str(if n == 0 {
                    line
                } else {
                    fields.get(n - 1).copied().unwrap_or("")
                });
            }
            b'"' => {
                let end = e[i + 1..].find('"')? + i + 1;
                let lit = &e[i + 1..end];
                if lit.contains('\\') {
                    if lit == "\\n" {
                        out.push('\n');
                    } else {
                        return None;
                    }
                } else {
                    out.push_str(lit);
                }
                i = end + 1;
            }
            _ if e[i..].starts_with("substr(") => {
                let st = i + 7;
                let mut depth = 1;
                let mut j = st;
                while j < b.len() && depth > 0 {
                    match b[j] {
                        b'(' => depth += 1,
                        b')' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                let inner = &e[st..j - 1];
                let a = awk_args(inner)?;
                let s = awk_expr(a.first()?, line, fields)?;
                let from: i64 = a.get(1)?.trim().parse().ok()?;
                let len: Option<i64> = match a.get(2) {
                    Some(l) => Some(l.trim().parse().ok()?),
                    None => None,
                };
                let chars: Vec<char> = s.chars().collect();
                let start = (from.max(1) - 1) as usize;
                let end = match len {
                    Some(l) => (from + l - 1).max(0) as usize,
                    None => chars.len(),
                };
                out.extend(chars.iter().take(end.min(chars.len())).skip(start));
                i = j;
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    fn run(s: &str, bash: bool) -> Option<String> {
        let files = HashMap::new();
        let mut w = super::World {
            probe: None,
            files: &files,
            asked: Vec::new(),
        };
        super::eval(s, bash, &mut w).map(|o| o.trim_end_matches('\n').to_owned())
    }

    fn eval(s: &str) -> Option<String> {
        run(s, true)
    }

    fn dash(s: &str) -> Option<String> {
        run(s, false)
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
        assert_eq!(dash("c=abc; echo ${c:0:2}").as_deref(), Some(""));
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

    #[test]
    fn more_of_the_shell() {
        assert_eq!(
            eval("echo 20230627 | awk '{print substr($0,1,4)\".\"substr($0,5,2)\".\"substr($0,7)}'")
                .as_deref(),
            Some("2023.06.27")
        );
        assert_eq!(
            eval("echo 3.12.1 | awk -F. '{printf \"%d%02d%02d00\", $1, $2, $3}'").as_deref(),
            Some("3120100")
        );
        assert_eq!(
            eval("echo 1.2.3.4 | awk -F'.' '{print $1\".\"$2\".\"$3}'").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(
            eval("echo 2.8.0 | grep \"\\.0$\" >/dev/null; echo $?").as_deref(),
            Some("0")
        );
        assert_eq!(
            eval("echo 46.0 | grep -qE 'alpha|beta|final'; echo $?").as_deref(),
            Some("1")
        );
        assert_eq!(
            eval("test \"1.0\" = \"1.0\" || echo testing/").as_deref(),
            Some("")
        );
        assert_eq!(
            eval("test \"1.0\" = \"1.1\" || echo testing/").as_deref(),
            Some("testing/")
        );
        assert_eq!(eval("printf %.7s 0123456789").as_deref(), Some("0123456"));
        assert_eq!(
            eval("LC_ALL=C; printf '%.6f' '2.0132'").as_deref(),
            Some("2.013200")
        );
        assert_eq!(eval("LANG=C printf \"%.4f\" 0.36").as_deref(), Some("0.3600"));
        assert_eq!(eval("echo $((41+1))").as_deref(), Some("42"));
        assert_eq!(eval(" echo $(( 16 + 1 )) ").as_deref(), Some("17"));
        assert_eq!(eval("sed 's/\\.//g' <<< 9.0.1").as_deref(), Some("901"));
        assert_eq!(dash("sed 's/\\.//g' <<< 9.0.1").as_deref(), Some(""));
        assert_eq!(eval("cut -d \".\" -f 1 <<<48.0").as_deref(), Some("48"));
        assert_eq!(eval("(v=1.2.3; echo ${v%.*})").as_deref(), Some("1.2"));
        assert_eq!(eval("echo abcdef0123 | cut -c1-7").as_deref(), Some("abcdef0"));
        assert_eq!(eval("echo abcdef0123 | cut -c -7").as_deref(), Some("abcdef0"));
        assert_eq!(
            eval("echo 1.2.3.4 | cut -d. -f1,2,3 --output-delimiter .").as_deref(),
            Some("1.2.3")
        );
        assert_eq!(
            eval("echo URW Gothic | tr \"A-Z \" \"a-z-\" | sed -e 's/urw-//'").as_deref(),
            Some("gothic")
        );
        assert_eq!(
            eval("echo 3.24.1 | grep -m1 -o \"[0-9]*.[0-9]*\" | head -1").as_deref(),
            Some("3.24")
        );
        assert_eq!(
            eval("v=1.2^x~y; echo $v | sed -r \"s,[\\^~],,g\"").as_deref(),
            Some("1.2xy")
        );
        assert_eq!(
            eval("eval echo 2.41.2 | sed -e 's/([[:digit:]]*).([[:digit:]]*).[[:digit:]]*$/1.2/'").as_deref(),
            Some("2.41.2")
        );
        assert_eq!(eval("cat <<EOF\na \\\nb\n\nEOF").as_deref(), Some("a b"));
        assert_eq!(eval("foo=7.1.1-21; echo ${foo:6}").as_deref(), Some("21"));
        assert_eq!(dash("foo=7.1.1-21; echo ${foo:6}").as_deref(), Some(""));
        assert_eq!(eval("v=47.1; echo ${v/.*/}").as_deref(), Some("47"));
        assert_eq!(eval("echo 1_2 | tr '_' '.'}").as_deref(), Some("1.2"));
        assert_eq!(
            eval("echo Ab-C | tr '[:upper:]' '[:lower:]'").as_deref(),
            Some("ab-c")
        );
        assert_eq!(
            eval("false >/dev/null 2>&1 && echo y || echo n").as_deref(),
            Some("n")
        );
        assert_eq!(
            eval(" if [ \"a\" == \"b\" -o \"a\" == \"c\" ]; then echo \"0\" ; else echo \"1\"; fi ")
                .as_deref(),
            None
        );
        assert_eq!(
            eval(" if [ \"a\" == \"b\" ]; then echo \"0\" ; else echo \"1\"; fi ").as_deref(),
            Some("1")
        );
        assert_eq!(
            dash(" if [ \"a\" == \"a\" ]; then echo \"0\" ; else echo \"1\"; fi ").as_deref(),
            Some("1")
        );
        assert_eq!(
            eval("if true; then echo a; elif false; then echo b; fi").as_deref(),
            Some("a")
        );
        assert_eq!(
            eval("svn=21.0.0; for i in 1 2 3 4 5 6 ; do svn=${svn%.0} ; done; echo ${svn}").as_deref(),
            Some("21")
        );
        assert_eq!(
            eval("echo %{version}. | awk -F. '{print $1\".\"$2}'").as_deref(),
            Some("%{version}.")
        );
        // Not evaluated: other programs, files, globs, unset variables,
        // command substitution.
        for s in [
            "cat /usr/include/httpd/.mmn 2>/dev/null || echo 0-0",
            "echo ${version} | cut -d. -f1,2",
            "echo *",
            "x=`date`; echo $x",
            "echo $(date)",
            "rpm -q samba-devel --queryformat %{version}",
            "test -x /usr/bin/ocamlopt && echo 1 || echo 0",
        ] {
            assert_eq!(eval(s), None, "{s}");
        }
    }
}
