//! The macro table an evaluation starts from: rpm's macro files (handed in
//! as bytes), the distro's macros and a component's build options.

use std::collections::HashMap;
use std::sync::Arc;

/// One definition of a macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    /// The body, unexpanded (for `%global`: expanded at definition).
    pub body: Arc<str>,
    /// `Some(getopt string)` for a parametric macro (`%foo(a:b)`).
    pub opts: Option<Arc<str>>,
    /// Why the body is not what rpm would hold (it was computed from
    /// something this evaluator could not evaluate).
    pub taint: Option<Arc<str>>,
    /// Used as is, not expanded (a parametric macro's arguments).
    pub literal: bool,
}

impl MacroDef {
    pub(crate) fn plain(body: &str) -> Self {
        MacroDef {
            body: Arc::from(body),
            opts: None,
            taint: None,
            literal: false,
        }
    }
}

/// The `/bin/sh` of the root rpm runs in: `%(…)` idioms that only bash
/// understands (`${c:0:7}`) print nothing under dash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shell {
    #[default]
    Bash,
    Dash,
}

/// What the shell rpm runs `%(…)` with would find in its root. The
/// evaluator does no I/O: for a command that only depends on whether a
/// program, a file or an environment variable exists (`cat /usr/include/
/// httpd/.mmn || echo 0-0`, `pkgconf … || echo X` with no `pkgconf`),
/// it asks the caller, and records every answer in
/// [`Evaluation::asked`](super::Evaluation::asked) so a cache of results
/// can check them again.
pub trait RootProbe: Send + Sync + std::fmt::Debug {
    /// Whether the absolute `path` exists in the root.
    fn exists(&self, path: &str) -> bool;
    /// Whether `name` is a program on the shell's `PATH` in the root.
    fn program(&self, name: &str) -> bool;
    /// The shell's environment variable `name`.
    fn env(&self, name: &str) -> Option<String>;
}

/// One question asked of a [`RootProbe`] and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Asked {
    Exists(String, bool),
    Program(String, bool),
    Env(String, Option<String>),
}

impl Asked {
    /// Whether `probe` still gives the same answer.
    pub fn holds(&self, probe: &dyn RootProbe) -> bool {
        match self {
            Asked::Exists(p, a) => probe.exists(p) == *a,
            Asked::Program(n, a) => probe.program(n) == *a,
            Asked::Env(n, a) => probe.env(n) == *a,
        }
    }
}

/// Macro definitions loaded from rpm macro files and explicit defines. No
/// I/O: callers hand in each file's bytes, in rpm's load order (`macros`,
/// `macros.d/macros.*`, `platform/<arch>-linux/macros`, then the distro's
/// and the component's).
#[derive(Debug, Clone, Default)]
pub struct MacroContext {
    pub(crate) table: HashMap<String, Vec<MacroDef>>,
    /// Definitions in the files that could not be read.
    pub(crate) problems: Vec<String>,
    pub(crate) shell: Shell,
    /// Names a spec cannot redefine or undefine.
    pub(crate) pinned: Vec<String>,
    /// Files `%{load:PATH}` may read, by path (the component's sources).
    pub(crate) files: HashMap<String, Arc<[u8]>>,
    /// The root `%(…)` runs in, when the caller can answer for it.
    pub(crate) probe: Option<Arc<dyn RootProbe>>,
}

impl MacroContext {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table for `arch` with the macros rpm itself defines from its
    /// rpmrc before reading macro files (`_target`, `_target_cpu`,
    /// `_target_os`).
    pub fn for_target(arch: &str) -> Self {
        let mut c = Self::new();
        c.set_target(arch);
        c
    }

    /// Define `_target_cpu`, `_target_os` and `_target` as rpm does for
    /// `--target ARCH`.
    pub fn set_target(&mut self, arch: &str) {
        self.define("_target", &format!("{arch}-linux"));
        self.define("_target_cpu", arch);
        self.define("_target_os", "linux");
    }

    /// Keep `name`'s current definition whatever a spec does to it (a
    /// probe definition, as rpmautospec's `%autorelease`).
    pub fn pin(&mut self, name: &str) {
        self.pinned.push(name.to_owned());
    }

    /// Hand in a file a spec may `%{load:}` (by the path it names after
    /// expansion, e.g. `%{_sourcedir}/macros.foo`).
    pub fn provide_file(&mut self, path: &str, bytes: &[u8]) {
        self.files.insert(path.to_owned(), Arc::from(bytes));
    }

    /// The definitions in a macro file, without loading them.
    pub(crate) fn parse_file(name: &str, bytes: &[u8]) -> (Vec<(String, MacroDef)>, Vec<String>) {
        let mut c = MacroContext::new();
        c.load_file(name, bytes);
        let mut defs = Vec::new();
        // Keep file order: re-read names in order of appearance.
        let text = String::from_utf8_lossy(bytes);
        let mut seen = std::collections::HashSet::new();
        for line in text.lines() {
            let Some(r) = line.trim_start().strip_prefix('%') else {
                continue;
            };
            let n: String = r
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !n.is_empty()
                && seen.insert(n.clone())
                && let Some(v) = c.table.remove(&n)
            {
                defs.extend(v.into_iter().map(|d| (n.clone(), d)));
            }
        }
        (defs, c.problems)
    }

    /// Answer `%(…)`'s questions about its root with `probe`.
    pub fn set_probe(&mut self, probe: Arc<dyn RootProbe>) {
        self.probe = Some(probe);
    }

    /// Set the root's `/bin/sh` (bash unless told).
    pub fn set_shell(&mut self, shell: Shell) {
        self.shell = shell;
    }

    /// Read an rpm macro file: every line starting with `%NAME` defines
    /// `NAME` (`%NAME(opts)` a parametric macro); a body continues over
    /// backslash-newlines and while a `%{`, `%(` or `%[` is open.
    pub fn load_file(&mut self, name: &str, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let b = text.as_bytes();
        let mut i = 0;
        let mut lineno = 0usize;
        while i < b.len() {
            // Gather one logical definition.
            let start = i;
            let first_line = lineno + 1;
            let mut depth = 0i32;
            loop {
                if i >= b.len() {
                    break;
                }
                let c = b[i];
                if c == b'\n' {
                    lineno += 1;
                    let escaped = i > start && b[i - 1] == b'\\';
                    i += 1;
                    if escaped || depth > 0 {
                        continue;
                    }
                    break;
                }
                if c == b'%' && i + 1 < b.len() {
                    match b[i + 1] {
                        b'%' => {
                            i += 2;
                            continue;
                        }
                        b'{' | b'(' | b'[' => {
                            depth += 1;
                            i += 2;
                            continue;
                        }
                        _ => {}
                    }
                } else if depth > 0 && matches!(c, b'}' | b')' | b']') {
                    depth -= 1;
                } else if depth > 0 && matches!(c, b'{' | b'(' | b'[') {
                    depth += 1;
                }
                i += 1;
            }
            let line = text[start..i].trim_start_matches([' ', '\t']);
            let Some(def) = line.strip_prefix('%') else {
                continue;
            };
            if !def.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                continue;
            }
            if let Err(e) = self.define_spec(def.trim_end_matches(['\n', '\r'])) {
                self.problems.push(format!("{name}:{first_line}: {e}"));
            }
        }
    }

    /// Define a plain macro (like `rpm --define 'NAME BODY'`; the body is
    /// not expanded).
    pub fn define(&mut self, name: &str, body: &str) {
        self.table
            .entry(name.to_owned())
            .or_default()
            .push(MacroDef::plain(body));
    }

    /// Define from rpm's `NAME[(opts)] BODY` form (as in a macro file or
    /// `--define`).
    pub fn define_spec(&mut self, s: &str) -> Result<(), String> {
        let (name, def) = parse_definition(s)?;
        self.table.entry(name).or_default().push(def);
        Ok(())
    }

    /// Remove the newest definition of `name`.
    pub fn undefine(&mut self, name: &str) {
        if let Some(v) = self.table.get_mut(name) {
            v.pop();
            if v.is_empty() {
                self.table.remove(name);
            }
        }
    }

    /// `--with NAME`.
    pub fn with(&mut self, name: &str) {
        self.define(&format!("_with_{name}"), &format!("--with-{name}"));
    }

    /// `--without NAME`.
    pub fn without(&mut self, name: &str) {
        self.define(&format!("_without_{name}"), &format!("--without-{name}"));
    }

    /// The newest definition of `name`.
    pub fn get(&self, name: &str) -> Option<&MacroDef> {
        self.table.get(name).and_then(|v| v.last())
    }

    /// Definitions in loaded files that could not be read, as
    /// `file:line: why`.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Parse `NAME[(opts)] BODY` (what follows `%define`): the body loses its
/// leading and trailing blanks and its backslashes before newlines.
pub(crate) fn parse_definition(s: &str) -> Result<(String, MacroDef), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let ns = i;
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    let name = &s[ns..i];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(format!("Macro %{} has illegal name", s.trim()));
    }
    let mut opts = None;
    if b.get(i) == Some(&b'(') {
        let close = s[i..]
            .find(')')
            .ok_or_else(|| format!("Macro %{name} has unterminated opts"))?
            + i;
        opts = Some(Arc::from(&s[i + 1..close]));
        i = close + 1;
    }
    if i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') && !s[i..].starts_with("\\\n") {
        return Err(format!("Macro %{name} has illegal name"));
    }
    let body = clean_body(&s[i..]);
    if body.is_empty() {
        return Err(format!("Macro %{name} has empty body"));
    }
    Ok((
        name.to_owned(),
        MacroDef {
            body: Arc::from(body.as_str()),
            opts,
            taint: None,
            literal: false,
        },
    ))
}

/// Trim blanks and drop every escaping backslash, as rpm's `%define` does
/// (`\` + newline is a newline, `\\` a backslash, `\x` an `x`).
pub(crate) fn clean_body(s: &str) -> String {
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let mut t = s.trim_matches(blank);
    // A body ending in an escaped newline: rpm unescapes it, then trims
    // the newline away (no backslash is left).
    let trailing = t.len() - t.trim_end_matches('\\').len();
    let end = s.len() - s.trim_end_matches(blank).len();
    let after = &s[s.len() - end..];
    if trailing % 2 == 1 && (after.starts_with('\n') || after.starts_with("\r\n")) {
        t = t[..t.len() - 1].trim_end_matches(blank);
    }
    if !t.contains('\\') {
        return t.to_owned();
    }
    let mut out = String::with_capacity(t.len());
    let mut it = t.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_files() {
        let mut c = MacroContext::new();
        c.load_file(
            "macros",
            b"# comment\n%_foo\t/usr\n%bar() %{1}\\\n  x\n%lua_thing %{lua:\nprint(1)\n}\n  %_indented 1\nnot a macro\n%{lua: x}\n",
        );
        assert_eq!(&*c.get("_foo").expect("defined").body, "/usr");
        let bar = c.get("bar").expect("defined");
        assert_eq!(bar.opts.as_deref(), Some(""));
        assert_eq!(&*bar.body, "%{1}\n  x");
        assert_eq!(&*c.get("lua_thing").expect("defined").body, "%{lua:\nprint(1)\n}");
        assert!(c.get("_indented").is_some());
        assert_eq!(c.table.len(), 4);
    }

    #[test]
    fn bad_definitions() {
        assert!(parse_definition("1x 1").is_err());
        assert!(parse_definition("foo").is_err());
        assert!(parse_definition("foo-bar 1").is_err());
        assert!(parse_definition("foo(a: 1").is_err());
        let (_, d) = parse_definition("a1 A\\\\nB\\nC\\\"D\\%E\\\nF").expect("valid");
        assert_eq!(&*d.body, "A\\nBnC\"D%E\nF");
        // An escaped newline at the end leaves no backslash.
        let (_, d) = parse_definition("r \\\nRequires: a \\\nRequires: b  \\\n").expect("valid");
        assert_eq!(&*d.body, "\nRequires: a \nRequires: b");
    }
}
