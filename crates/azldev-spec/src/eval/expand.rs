//! Macro expansion as rpm's `expandMacro` does it: `%%`, `%name`,
//! `%{name}`, `%{?name}`, `%{!?name:…}`, `%{name:arg}`, parametric calls
//! with getopt options (`%1`, `%*`, `%**`, `%#`, `%0`, `%{-x}`, `%{-x*}`),
//! rpm's built-ins, `%[expr]` and `%{lua:…}`. `%(shell)` and what needs the
//! file system or the environment are reported as unresolved, never run.

use std::collections::HashMap;
use std::sync::Arc;

use super::expr;
use super::macros::{MacroContext, MacroDef, clean_body, parse_definition};

/// rpm's recursion limit for macro expansion.
const MAX_DEPTH: u32 = 64;
/// Give up on expansions longer than this (exponential definitions).
const MAX_LEN: usize = 4 << 20;
/// Expansions of one evaluation before it is given up.
const MAX_STEPS: u64 = 2_000_000;
/// rpm's marker around `%{quote:}` text, so it stays one argument.
pub(crate) const QUOTE: char = '\x1f';

#[derive(Debug, Default)]
struct Local {
    pushed: Vec<MacroDef>,
    popped_base: usize,
}

/// A call's positional arguments and `(option, value)` pairs.
pub(crate) type CallArgs = (Vec<String>, Vec<(String, String)>);

#[derive(Debug, Default)]
struct Frame {
    args: Vec<(String, String)>,
    /// `%define`s made during this call (removed when it returns).
    defs: Vec<String>,
    /// For Lua's `arg` and `opt`.
    argv: Vec<String>,
    opts: Vec<(String, String)>,
}

/// The state of one evaluation: the macro table (a layer over the base
/// context), the parametric call stack, and what could not be evaluated.
pub struct Expander<'c> {
    base: &'c MacroContext,
    local: HashMap<String, Local>,
    frames: Vec<Frame>,
    /// Constructs that could not be evaluated since the last drain.
    pub unresolved: Vec<String>,
    /// rpm would stop with this error.
    pub errors: Vec<String>,
    depth: u32,
    out_len: usize,
    steps: u64,
    /// Spec-only mode (package identity): the table holds only what the
    /// spec itself defines, so any other macro, `%(…)` and `%{lua:}` are
    /// unknown; they are reported and written as `%{name}`.
    strict: bool,
    max_len: usize,
    pub(crate) lua: Option<mlua::Lua>,
    pub(crate) lua_busy: bool,
    /// `Source`/`Patch` tags read so far: (number, path in %_sourcedir),
    /// rpm's Lua `sources`/`source_nums` and `patches`/`patch_nums`.
    pub(crate) sources: Vec<(u32, String)>,
    pub(crate) patches: Vec<(u32, String)>,
    /// Questions asked of the root probe, with their answers.
    pub asked: Vec<super::macros::Asked>,
}

impl std::fmt::Debug for Expander<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expander")
            .field("frames", &self.frames.len())
            .field("unresolved", &self.unresolved)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Index of the byte closing the bracket opened just before `from`
/// (`%%` and backslash-escapes are skipped, like rpm's `matchchar`).
pub(crate) fn matching(s: &[u8], from: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 1usize;
    let mut i = from;
    while i < s.len() {
        let c = s[i];
        if c == b'\\' {
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

impl<'c> Expander<'c> {
    /// A fresh state over `base`.
    pub fn new(base: &'c MacroContext) -> Self {
        Expander {
            base,
            local: HashMap::new(),
            frames: Vec::new(),
            unresolved: Vec::new(),
            errors: Vec::new(),
            depth: 0,
            out_len: 0,
            steps: 0,
            strict: false,
            max_len: MAX_LEN,
            lua: None,
            lua_busy: false,
            sources: Vec::new(),
            patches: Vec::new(),
            asked: Vec::new(),
        }
    }

    /// A spec-only state (see the `strict` field): for package identity,
    /// where the build system's macros are not known.
    pub fn spec_only(base: &'c MacroContext, max_len: usize) -> Self {
        let mut e = Self::new(base);
        e.strict = true;
        e.max_len = max_len;
        e
    }

    /// A macro this state cannot know (strict mode): report it and write it
    /// as `%{name}`.
    fn unknown(&mut self, name: &str, out: &mut String) {
        self.unresolved(format!("%{{{name}}}"));
        out.push_str("%{");
        out.push_str(name);
        out.push('}');
    }

    pub(crate) fn unresolved(&mut self, what: impl Into<String>) {
        let what = what.into();
        if !self.unresolved.contains(&what) {
            self.unresolved.push(what);
        }
    }

    pub(crate) fn error(&mut self, what: impl Into<String>) {
        self.errors.push(what.into());
    }

    fn is_special(name: &str) -> bool {
        name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '*' || c == '#')
    }

    /// The current definition of `name`.
    pub fn lookup(&self, name: &str) -> Option<MacroDef> {
        if Self::is_special(name) {
            for f in self.frames.iter().rev() {
                if let Some((_, v)) = f.args.iter().find(|(k, _)| k == name) {
                    let mut d = MacroDef::plain(v);
                    d.literal = true;
                    return Some(d);
                }
            }
            return None;
        }
        let base = self.base.table.get(name);
        match self.local.get(name) {
            Some(l) => l.pushed.last().cloned().or_else(|| {
                let b = base?;
                b.len().checked_sub(l.popped_base + 1).map(|i| b[i].clone())
            }),
            None => base.and_then(|v| v.last().cloned()),
        }
    }

    /// Start another pass over the spec with the definitions made so far
    /// (what was unresolved or failed is the previous pass's).
    pub(crate) fn reset_pass(&mut self) {
        self.unresolved.clear();
        self.errors.clear();
        self.frames.clear();
        self.depth = 0;
        self.out_len = 0;
        self.sources.clear();
        self.patches.clear();
        // A fresh Lua state: functions the first pass's chunks left in
        // it refer to that pass's (gone) API tables.
        self.lua = None;
    }

    /// A file handed in with [`MacroContext::provide_file`], by path.
    pub(crate) fn provided_file(&self, path: &str) -> Option<Arc<[u8]>> {
        self.base.files.get(path).cloned()
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// Push a definition; a `%define` inside a parametric call is local to it.
    pub fn push_def(&mut self, name: &str, def: MacroDef, global: bool) {
        if self.base.pinned.iter().any(|p| p == name) {
            return;
        }
        self.local.entry(name.to_owned()).or_default().pushed.push(def);
        if !global && let Some(f) = self.frames.last_mut() {
            f.defs.push(name.to_owned());
        }
    }

    /// Define a plain macro at the top level.
    pub fn define(&mut self, name: &str, body: &str) {
        self.push_def(name, MacroDef::plain(body), true);
    }

    /// Pop the newest definition of `name`.
    pub fn undefine(&mut self, name: &str) {
        if self.base.pinned.iter().any(|p| p == name) {
            return;
        }
        let base_len = self.base.table.get(name).map_or(0, Vec::len);
        let l = self.local.entry(name.to_owned()).or_default();
        if l.pushed.pop().is_none() && l.popped_base < base_len {
            l.popped_base += 1;
        }
    }

    /// Expand `s` completely.
    pub fn expand(&mut self, s: &str) -> String {
        let mut out = String::new();
        self.expand_into(s, &mut out);
        out
    }

    /// Expand and drop `%{quote:}` markers (what rpm hands on as text).
    pub fn expand_text(&mut self, s: &str) -> String {
        let mut out = self.expand(s);
        if out.contains(QUOTE) {
            out.retain(|c| c != QUOTE);
        }
        out
    }

    pub(crate) fn expand_into(&mut self, s: &str, out: &mut String) {
        if !s.contains('%') {
            out.push_str(s);
            return;
        }
        // rpm stops at the first error; so does a runaway expansion here.
        if !self.errors.is_empty() {
            return;
        }
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.error("macro expansion does not terminate in reasonable time");
            return;
        }
        if self.depth >= MAX_DEPTH {
            self.error("Too many levels of recursion in macro expansion");
            return;
        }
        self.depth += 1;
        self.expand_inner(s, out);
        self.depth -= 1;
    }

    fn expand_inner(&mut self, s: &str, out: &mut String) {
        let b = s.as_bytes();
        let mut i = 0;
        let mut lit = 0;
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            out.push_str(&s[lit..i]);
            if out.len() + self.out_len > self.max_len {
                self.unresolved("macro expansion too long");
                return;
            }
            let start = i;
            i = match b.get(i + 1) {
                None => {
                    out.push('%');
                    i + 1
                }
                Some(b'%') => {
                    out.push('%');
                    i + 2
                }
                Some(b'(') => match matching(b, i + 2, b'(', b')') {
                    Some(close) if self.strict => {
                        self.unresolved(format!("shell expansion {}", &s[start..=close]));
                        out.push_str(&s[start..=close]);
                        close + 1
                    }
                    Some(close) => {
                        let before = self.unresolved.len();
                        let cmd = self.expand_text(&s[i + 2..close]);
                        let mut world = super::shell::World {
                            probe: self.base.probe.as_deref(),
                            files: &self.base.files,
                            asked: Vec::new(),
                        };
                        let r = super::shell::eval(
                            &cmd,
                            self.base.shell == super::macros::Shell::Bash,
                            &mut world,
                        );
                        for a in world.asked {
                            if !self.asked.contains(&a) {
                                self.asked.push(a);
                            }
                        }
                        match r {
                            Some(v) if self.unresolved.len() == before => {
                                out.push_str(v.trim_end_matches('\n'));
                            }
                            _ => {
                                self.unresolved(format!("shell expansion {}", &s[start..=close]));
                                out.push_str(&s[start..=close]);
                            }
                        }
                        close + 1
                    }
                    None => {
                        self.error(format!("Unterminated (: {}", &s[start..]));
                        b.len()
                    }
                },
                Some(b'[') => match matching(b, i + 2, b'[', b']') {
                    Some(close) => {
                        let raw = &s[i + 2..close];
                        let mut f = |t: &str| self.expand(t);
                        let r = expr::eval_lazy(raw, &mut f);
                        match r {
                            Ok(v) => out.push_str(&v.render()),
                            Err(e) => self.error(e),
                        }
                        close + 1
                    }
                    None => {
                        self.error(format!("Unterminated [: {}", &s[start..]));
                        b.len()
                    }
                },
                Some(b'{') => match matching(b, i + 2, b'{', b'}') {
                    Some(close) => {
                        self.braced(&s[i + 2..close], &s[start..=close], out);
                        close + 1
                    }
                    None => {
                        self.error(format!("Unterminated {{: {}", &s[start..]));
                        b.len()
                    }
                },
                Some(_) => self.unbraced(s, i, out),
            };
            lit = i;
        }
        out.push_str(&s[lit..]);
    }

    /// `%name…` without braces at `s[i]`; returns where to continue.
    fn unbraced(&mut self, s: &str, i: usize, out: &mut String) -> usize {
        let b = s.as_bytes();
        let mut j = i + 1;
        let (mut negate, mut test) = (false, false);
        while j < b.len() && matches!(b[j], b'!' | b'?') {
            if b[j] == b'!' {
                negate = !negate;
            } else {
                test = true;
            }
            j += 1;
        }
        let ns = j;
        match b.get(j) {
            Some(b'-') if b.get(j + 1).is_some_and(|c| c.is_ascii_alphanumeric()) => {
                j += 2;
                if b.get(j) == Some(&b'*') {
                    j += 1;
                }
            }
            Some(b'*') => {
                j += 1;
                if b.get(j) == Some(&b'*') {
                    j += 1;
                }
            }
            Some(b'#') => j += 1,
            Some(c) if c.is_ascii_digit() => {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                while j < b.len() && is_name_byte(b[j]) {
                    j += 1;
                }
            }
            _ => {
                // Not a macro: rpm copies the `%` and goes on.
                out.push('%');
                return i + 1;
            }
        }
        let name = &s[ns..j];
        let literal = &s[i..j];
        let eol = s[j..].find('\n').map_or(s.len(), |p| p + j);
        match name {
            "define" | "global" | "undefine" if !test => {
                let rest = &s[j..];
                let end = definition_end(rest);
                self.define_builtin(name, &rest[..end]);
                return j + end;
            }
            _ => {}
        }
        if !test && let Some(r) = self.builtin(name, None, Some(&s[j..eol]), literal, out) {
            return if r { eol } else { j };
        }
        let def = self.lookup(name);
        if self.strict && def.is_none() && (self.frames.is_empty() || !Self::is_special(name)) {
            self.unknown(name, out);
            return j;
        }
        if test {
            if def.is_some() != negate
                && let Some(def) = def
            {
                if def.opts.is_some() {
                    self.call(name, &def, None, None, out);
                } else {
                    self.use_def(&def, out);
                }
            }
            return j;
        }
        match def {
            None if name.starts_with('-') => j,
            None => {
                out.push_str(literal);
                j
            }
            Some(def) if def.opts.is_some() => {
                self.call(name, &def, Some(&s[j..eol]), None, out);
                eol
            }
            Some(def) => {
                self.use_def(&def, out);
                j
            }
        }
    }

    fn use_def(&mut self, def: &MacroDef, out: &mut String) {
        if let Some(t) = &def.taint {
            let t = t.to_string();
            self.unresolved(t);
        }
        if def.literal {
            out.push_str(&def.body);
            return;
        }
        let body = def.body.clone();
        self.expand_into(&body, out);
    }

    /// `%{…}`; `inner` is between the braces, `literal` the whole.
    fn braced(&mut self, inner: &str, literal: &str, out: &mut String) {
        let b = inner.as_bytes();
        let mut i = 0;
        let (mut negate, mut test) = (false, false);
        while i < b.len() && matches!(b[i], b'!' | b'?') {
            if b[i] == b'!' {
                negate = !negate;
            } else {
                test = true;
            }
            i += 1;
        }
        let ns = i;
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b':' | b'\n') {
            i += 1;
        }
        let name = &inner[ns..i];
        let (colon, args) = match b.get(i) {
            Some(b':') => (Some(&inner[i + 1..]), None),
            Some(_) => (None, Some(&inner[i + 1..])),
            None => (None, None),
        };
        if name.is_empty() {
            out.push_str(literal);
            return;
        }
        // `%{-x:…}` and `%{!-x:…}` test the option like `%{?-x:…}`.
        if name.starts_with('-') && colon.is_some() {
            test = true;
        }
        if !test {
            match name {
                "define" | "global" | "undefine" => {
                    let text = colon.or(args).unwrap_or("");
                    self.define_builtin(name, text);
                    return;
                }
                _ => {}
            }
            if self.builtin(name, colon, args, literal, out).is_some() {
                return;
            }
        }
        let def = self.lookup(name);
        if self.strict && def.is_none() && (self.frames.is_empty() || !Self::is_special(name)) {
            self.unknown(name, out);
            return;
        }
        if test {
            if def.is_some() == negate {
                return;
            }
            if let Some(text) = colon {
                self.expand_into(text, out);
                return;
            }
            if negate {
                return;
            }
            // `%{?name args}` calls a parametric macro without its arguments.
            if let Some(d) = def.as_ref().filter(|d| d.opts.is_some()) {
                self.call(name, d, None, None, out);
                return;
            }
        }
        match def {
            None if name.starts_with('-') => {}
            None => out.push_str(literal),
            Some(def) if def.opts.is_some() => match colon {
                Some(g) if !test => {
                    let arg = self.expand(g);
                    self.call(name, &def, None, Some(arg), out);
                }
                _ => self.call(name, &def, args, None, out),
            },
            Some(def) => self.use_def(&def, out),
        }
    }

    /// `%define`/`%global`/`%undefine` with what follows the keyword.
    fn define_builtin(&mut self, kw: &str, text: &str) {
        if kw == "undefine" {
            let name = text.trim();
            if name.is_empty() || !name.bytes().all(is_name_byte) {
                self.error(format!("%undefine: illegal name {name:?}"));
            } else {
                self.undefine(name);
            }
            return;
        }
        match parse_definition(text) {
            Ok((name, mut def)) => {
                let global = kw == "global";
                if global {
                    let before = self.unresolved.len();
                    let body = self.expand(&def.body);
                    if self.unresolved.len() > before {
                        def.taint = Some(Arc::from(self.unresolved[before..].join("; ")));
                        self.unresolved.truncate(before);
                    }
                    def.body = Arc::from(body.as_str());
                }
                self.push_def(&name, def, global);
            }
            Err(e) => self.error(e),
        }
    }

    /// A parametric call: `args` unexpanded (split after expansion), or
    /// `single` as the one argument (`%{name:arg}`).
    fn call(
        &mut self,
        name: &str,
        def: &MacroDef,
        args: Option<&str>,
        single: Option<String>,
        out: &mut String,
    ) {
        let argv: Vec<String> = match single {
            Some(a) => vec![a],
            None => {
                let expanded = self.expand(args.unwrap_or(""));
                split_args(&expanded)
            }
        };
        let opts = def.opts.as_deref().unwrap_or("");
        let mut frame = Frame::default();
        frame.args.push(("0".into(), name.to_owned()));
        frame.args.push(("**".into(), argv.join(" ")));
        // glibc's getopt, as rpm calls it: options may follow the
        // positional arguments (argv is permuted), `--` ends them.
        let mut rest: Vec<String> = Vec::new();
        let mut k = 0;
        while k < argv.len() {
            let a = &argv[k];
            if a == "--" {
                rest.extend(argv[k + 1..].iter().cloned());
                break;
            }
            let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
                rest.push(a.clone());
                k += 1;
                continue;
            };
            let mut chars = flags.char_indices();
            while let Some((p, c)) = chars.next() {
                let Some(pos) = opts.find(c).filter(|_| c != ':') else {
                    self.error(format!("Unknown option {c} in {name}({opts})"));
                    return;
                };
                if opts[pos + 1..].starts_with(':') {
                    let rest = &flags[p + c.len_utf8()..];
                    let val = if rest.is_empty() {
                        k += 1;
                        match argv.get(k) {
                            Some(v) => v.clone(),
                            None => {
                                self.error(format!("Option {c} requires an argument in {name}({opts})"));
                                return;
                            }
                        }
                    } else {
                        rest.to_owned()
                    };
                    frame.args.push((format!("-{c}"), format!("-{c} {val}")));
                    frame.args.push((format!("-{c}*"), val.clone()));
                    frame.opts.push((c.to_string(), val));
                    break;
                }
                frame.args.push((format!("-{c}"), format!("-{c}")));
                frame.opts.push((c.to_string(), String::new()));
                let _ = &mut chars;
            }
            k += 1;
        }
        frame.args.push(("*".into(), rest.join(" ")));
        frame.args.push(("#".into(), rest.len().to_string()));
        for (n, a) in rest.iter().enumerate() {
            frame.args.push(((n + 1).to_string(), a.clone()));
        }
        frame.argv = rest.to_vec();
        self.frames.push(frame);
        self.use_def(def, out);
        if let Some(f) = self.frames.pop() {
            for d in f.defs.iter().rev() {
                self.undefine(d);
            }
        }
    }

    /// The Lua `arg` and `opt` of the innermost call.
    pub(crate) fn call_args(&self) -> Option<CallArgs> {
        self.frames.last().map(|f| (f.argv.clone(), f.opts.clone()))
    }

    /// rpm's built-in macros. `Some(consumed_rest_of_line)` when `name` is
    /// one (for the unbraced form, whether the rest of the line was used).
    fn builtin(
        &mut self,
        name: &str,
        colon: Option<&str>,
        args: Option<&str>,
        literal: &str,
        out: &mut String,
    ) -> Option<bool> {
        let unbraced = !literal.starts_with("%{");
        // Unbraced, only the argument-less built-ins take part.
        let arg = colon.unwrap_or("");
        match name {
            "verbose" if colon.is_none() && !unbraced => out.push('0'),
            "lua" => {
                if unbraced {
                    return None;
                }
                if self.strict {
                    self.unresolved("%{lua:}");
                    out.push_str(literal);
                    return Some(false);
                }
                super::lua::run(self, arg, out);
            }
            "dnl" => {
                // Comment to the end of the line.
                return Some(true);
            }
            "expand" | "lower" | "upper" | "basename" | "dirname" | "suffix" | "shrink" | "quote"
            | "shescape" | "url2path" | "u2p" | "expr" | "macrobody" | "verbose" | "echo" | "warn"
            | "error" | "exists" | "load" | "getenv" | "uncompress" | "P" | "S" => {
                if unbraced || colon.is_none() {
                    return None;
                }
                let v = self.expand(arg);
                match name {
                    "expand" => self.expand_into(&v, out),
                    "lower" => out.push_str(&v.to_lowercase()),
                    "upper" => out.push_str(&v.to_uppercase()),
                    "basename" => out.push_str(v.rsplit('/').next().unwrap_or("")),
                    "dirname" => out.push_str(v.rsplit_once('/').map_or(v.as_str(), |(d, _)| d)),
                    "suffix" => out.push_str(v.rsplit_once('.').map_or("", |(_, s)| s)),
                    "shrink" => out.push_str(&v.split_whitespace().collect::<Vec<_>>().join(" ")),
                    "quote" => {
                        out.push(QUOTE);
                        out.push_str(&v);
                        out.push(QUOTE);
                    }
                    "shescape" => {
                        out.push('\'');
                        out.push_str(&v.replace('\'', "'\\''"));
                        out.push('\'');
                    }
                    "url2path" | "u2p" => out.push_str(&url2path(&v)),
                    "expr" => match expr::eval(&v) {
                        Ok(x) => out.push_str(&x.render()),
                        Err(e) => self.error(e),
                    },
                    "macrobody" => match self.lookup(v.trim()) {
                        Some(d) => out.push_str(&d.body),
                        None => self.error(format!("no such macro: {}", v.trim())),
                    },
                    "verbose" | "echo" | "warn" => {}
                    "error" => self.error(format!("%{{error:}} {v}")),
                    "load" => {
                        let path = v.trim();
                        match self.base.files.get(path).cloned() {
                            Some(bytes) => {
                                let (defs, problems) = MacroContext::parse_file(path, &bytes);
                                if let Some(p) = problems.first() {
                                    self.error(p.clone());
                                }
                                for (n, d) in defs {
                                    self.push_def(&n, d, true);
                                }
                            }
                            None => {
                                self.unresolved(format!("%{{load:{path}}}"));
                                out.push_str(literal);
                            }
                        }
                    }
                    "P" => self.expand_into(&format!("%PATCH{v}"), out),
                    "S" => self.expand_into(&format!("%SOURCE{v}"), out),
                    _ => {
                        self.unresolved(format!("%{{{name}:{v}}}"));
                        out.push_str(literal);
                    }
                }
            }
            "getncpus" | "getconfdir" | "trace" | "dump" => {
                if colon.is_some() || args.is_some_and(|a| !a.trim().is_empty() && !unbraced) {
                    return None;
                }
                match name {
                    "getconfdir" => out.push_str("/usr/lib/rpm"),
                    "getncpus" => {
                        self.unresolved("%{getncpus}");
                        out.push_str(literal);
                    }
                    _ => {}
                }
                return Some(false);
            }
            _ => return None,
        }
        Some(false)
    }
}

/// Length of a `%define` line's text: to the first newline that is not
/// escaped and not inside an open `%{`, `%(` or `%[`.
fn definition_end(s: &str) -> usize {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                continue;
            }
            b'\n' if depth <= 0 => return i,
            b'%' if matches!(b.get(i + 1), Some(b'{' | b'(' | b'[')) => {
                depth += 1;
                i += 2;
                continue;
            }
            b'%' if b.get(i + 1) == Some(&b'%') => {
                i += 2;
                continue;
            }
            b'{' | b'(' | b'[' if depth > 0 => depth += 1,
            b'}' | b')' | b']' if depth > 0 => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Split expanded macro arguments on blanks, keeping `%{quote:}` text
/// together.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut has = false;
    for c in s.chars() {
        if c == QUOTE {
            quoted = !quoted;
            has = true;
        } else if !quoted && matches!(c, ' ' | '\t' | '\n') {
            if has {
                out.push(std::mem::take(&mut cur));
                has = false;
            }
        } else {
            cur.push(c);
            has = true;
        }
    }
    if has {
        out.push(cur);
    }
    out
}

fn url2path(s: &str) -> String {
    for scheme in ["http://", "https://", "ftp://", "hkp://", "file://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            return rest.find('/').map_or(String::new(), |p| rest[p..].to_owned());
        }
    }
    s.to_owned()
}

/// The body of a `%define` after `clean_body` (for tests).
#[allow(dead_code)]
pub(crate) fn cleaned(s: &str) -> String {
    clean_body(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> MacroContext {
        let mut c = MacroContext::new();
        c.load_file(
            "m",
            b"%pm(ab:) [0=%0 *=%* **=%** #=%# 1=%1 2=%2 a=%{-a} b=%{-b} b*=%{-b*} ?a=%{?-a:Y} x=%{-x} q=%{?1}]\n%plain PLAIN\n%with()\t\t%{expand:%%{?with_%{1}:1}%%{!?with_%{1}:0}}\n%bcond()\t%[ (%2)\\\n    ? \"%{expand:%%{!?_without_%{1}:%%global with_%{1} 1}}\"\\\n    : \"%{expand:%%{?_with_%{1}:%%global with_%{1} 1}}\"\\\n]\n%bcond_without() %bcond %{1} 1\n",
        );
        c
    }

    fn ev(s: &str) -> String {
        let c = ctx();
        let mut e = Expander::new(&c);
        e.expand_text(s)
    }

    #[test]
    fn parametric_calls() {
        assert_eq!(
            ev("%pm -a -b val x y"),
            "[0=pm *=x y **=-a -b val x y #=2 1=x 2=y a=-a b=-b val b*=val ?a=Y x= q=x]"
        );
        assert_eq!(
            ev("%{pm -b v}"),
            "[0=pm *= **=-b v #=0 1=%1 2=%2 a= b=-b v b*=v ?a= x= q=]"
        );
        assert_eq!(
            ev("%{pm:a b}"),
            "[0=pm *=a b **=a b #=1 1=a b 2=%2 a= b= b*= ?a= x= q=a b]"
        );
        assert_eq!(
            ev("%{pm %{quote:a b} c}"),
            "[0=pm *=a b c **=a b c #=2 1=a b 2=c a= b= b*= ?a= x= q=a b]"
        );
        assert_eq!(
            ev("%pm x\nnext"),
            "[0=pm *=x **=x #=1 1=x 2=%2 a= b= b*= ?a= x= q=x]\nnext"
        );
    }

    #[test]
    fn conditionals_and_literals() {
        assert_eq!(ev("%{plain x y}"), "PLAIN");
        assert_eq!(ev("%{?plain:z}%{!?plain:w}%{!?nope:n}%{?nope}"), "zn");
        assert_eq!(ev("%{!plain}%?plain"), "PLAINPLAIN");
        assert_eq!(
            ev("%1 %{-a} %{undefined_xyz} %undefined_xyz 100%%"),
            "%1  %{undefined_xyz} %undefined_xyz 100%"
        );
        assert_eq!(ev("%{with foo}%{with plain}"), "00");
    }

    #[test]
    fn builtins() {
        assert_eq!(ev("%{lower:AbC}%{upper:x}"), "abcX");
        assert_eq!(
            ev("%{basename:/a/b.c} %{dirname:/a/b.c} %{dirname:a} %{suffix:a.tar.gz} %{suffix:abc}"),
            "b.c /a a gz "
        );
        assert_eq!(ev("%{shescape:a'b}"), "'a'\\''b'");
        assert_eq!(ev("%{shrink:  a   b }"), "a b");
        assert_eq!(ev("%{expand:%%{plain}}"), "PLAIN");
        assert_eq!(
            ev("%[1 + 2] %{expr:\"a\" < \"b\"} %[v\"1.2\" < v\"1.10\"]"),
            "3 1 1"
        );
        assert_eq!(ev("%{macrobody:plain}%{dnl: x}y"), "PLAINy");
        assert_eq!(ev("%{url2path:http://x/y}"), "/y");
        assert_eq!(ev("%{len:abc}"), "%{len:abc}");
    }

    #[test]
    fn definitions_and_bcond() {
        let c = ctx();
        let mut e = Expander::new(&c);
        assert_eq!(
            e.expand("%define foo bar\n%global baz %{foo}-x\n%baz"),
            "\n\nbar-x"
        );
        assert_eq!(e.expand("%bcond_without docs"), "");
        assert_eq!(e.expand("%{with docs}"), "1");
        assert_eq!(e.expand("%undefine baz\n%{?baz}"), "\n");
        assert_eq!(
            e.expand("%define lvl(x) %define inner 1\n%lvl\n%{?inner:yes}"),
            "\n\n"
        );
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        e.expand("%pm -c");
        assert_eq!(e.errors.len(), 1);
    }

    #[test]
    fn shell_is_unresolved() {
        let c = ctx();
        let mut e = Expander::new(&c);
        assert_eq!(e.expand("a%(hostname)b"), "a%(hostname)b");
        assert_eq!(e.unresolved.len(), 1);
        e.unresolved.clear();
        e.expand("%global x %(date)\n");
        assert!(e.unresolved.is_empty());
        e.expand("%x");
        assert_eq!(e.unresolved.len(), 1);
    }

    #[test]
    fn recursion_is_bounded() {
        let mut c = ctx();
        c.define("loop", "%loop");
        c.define("big", "%big%big%big%big%big%big%big%big");
        let mut e = Expander::new(&c);
        e.expand("%loop");
        assert!(!e.errors.is_empty());
        let mut e = Expander::new(&c);
        e.expand("%big");
        assert!(!e.errors.is_empty() || !e.unresolved.is_empty());
    }
}
