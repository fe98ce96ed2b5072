//! Reading a spec the way rpm's parser does: logical lines expanded in
//! order, conditionals, sections, preamble tags and dependencies, ending in
//! the [`SpecFacts`] `rpmspec -q --buildrequires/--provides/--requires`
//! would print for one architecture.

use std::cmp::Ordering;

use super::expand::Expander;
use super::expr;
use super::macros::MacroContext;
use crate::facts::{Dep, PackageFacts, SpecFacts};
use crate::{CondKind, SectionKind};

/// Something the evaluator could not evaluate, with the (1-based) spec line
/// that needed it. A spec with any is to be asked of rpm instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub what: String,
    pub line: u32,
}

/// The main package's identity tags, expanded (for `%autorelease` and
/// package identity).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    pub name: Option<String>,
    pub version: Option<String>,
    pub release: Option<String>,
    pub epoch: Option<String>,
    pub summary: bool,
    pub license: bool,
}

/// The result of evaluating one spec for one architecture.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// What the spec says to the build graph (meaningful when `error` is
    /// `None` and `unresolved` is empty).
    pub facts: SpecFacts,
    /// Constructs not evaluated that the facts depend on.
    pub unresolved: Vec<Unresolved>,
    /// rpm would reject the spec: line (when known) and rpm's reason.
    pub error: Option<(Option<u32>, String)>,
    /// The main package's tags.
    pub tags: Tags,
    /// What `%(…)` asked of the root probe, with the answers the facts
    /// rest on.
    pub asked: Vec<super::macros::Asked>,
}

impl Evaluation {
    /// The facts, when the evaluation is complete (nothing unresolved, rpm
    /// would accept the spec).
    pub fn complete(&self) -> Option<&SpecFacts> {
        (self.error.is_none() && self.unresolved.is_empty()).then_some(&self.facts)
    }
}

// rpmsenseFlags that matter for ordering and deduplication.
const LESS: u32 = 1 << 1;
const GREATER: u32 = 1 << 2;
const EQUAL: u32 = 1 << 3;
const POSTTRANS: u32 = 1 << 5;
const PRETRANS: u32 = 1 << 7;
const INTERP: u32 = 1 << 8;
const PRE: u32 = 1 << 9;
const POST: u32 = 1 << 10;
const PREUN: u32 = 1 << 11;
const POSTUN: u32 = 1 << 12;
const VERIFY: u32 = 1 << 13;
const RPMLIB: u32 = 1 << 24;
const META: u32 = 1 << 29;

/// One dependency as rpm keeps it (a sorted set on name, EVR, flags).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RDep {
    name: String,
    evr: String,
    flags: u32,
    line: Option<u32>,
}

impl RDep {
    fn key_cmp(&self, o: &Self) -> Ordering {
        self.name
            .as_bytes()
            .cmp(o.name.as_bytes())
            .then_with(|| self.evr.as_bytes().cmp(o.evr.as_bytes()))
            .then_with(|| self.flags.cmp(&o.flags))
    }

    fn text(&self) -> String {
        let op = match self.flags & (LESS | GREATER | EQUAL) {
            x if x == LESS => "<",
            x if x == GREATER => ">",
            x if x == EQUAL => "=",
            x if x == LESS | EQUAL => "<=",
            x if x == GREATER | EQUAL => ">=",
            _ => "",
        };
        if op.is_empty() || self.evr.is_empty() {
            self.name.clone()
        } else {
            format!("{} {op} {}", self.name, self.evr)
        }
    }
}

fn add_dep(set: &mut Vec<RDep>, d: RDep) {
    match set.binary_search_by(|x| x.key_cmp(&d)) {
        Ok(_) => {}
        Err(p) => set.insert(p, d),
    }
}

#[derive(Debug, Default)]
struct Pkg {
    name: String,
    arch: Option<String>,
    provides: Vec<RDep>,
    requires: Vec<RDep>,
    description: bool,
    summary: bool,
    /// A sub-package's own `Version`/`Release`/`Epoch`.
    version: Option<String>,
    release: Option<String>,
    epoch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sect {
    Preamble(usize),
    Other(SectionKind),
}

struct Level {
    reading: bool,
    outer: bool,
    matched: bool,
}

/// Parse state for one pass.
struct Walk<'c> {
    exp: Expander<'c>,
    levels: Vec<Level>,
    sect: Sect,
    pkgs: Vec<Pkg>,
    buildrequires: Vec<RDep>,
    exclusive: Vec<String>,
    exclude: Vec<String>,
    dynamic: bool,
    tags: Tags,
    main_buildarch: Option<String>,
    unresolved: Vec<Unresolved>,
    error: Option<(Option<u32>, String)>,
    target: String,
    /// The current line held something not evaluated.
    line_unresolved: bool,
    /// `%include`s being read.
    include_depth: u32,
}

/// Evaluate `src` for `arch` over the definitions in `ctx` (which should
/// hold rpm's macro files for that architecture, see
/// [`MacroContext::set_target`]).
pub fn evaluate(src: &[u8], ctx: &MacroContext, arch: &str) -> Evaluation {
    let text = String::from_utf8_lossy(src);
    let first = walk(&text, ctx, arch, None, None);
    let ev = match first.main_buildarch.clone() {
        Some(ba) if first.error.is_none() => {
            // rpm parses again with %_target_cpu set to the first
            // compatible BuildArch.
            let chosen = ba
                .split(|c: char| c.is_whitespace() || c == ',')
                .find(|a| *a == "noarch" || *a == arch)
                .map(str::to_owned);
            match chosen {
                // The macros the first pass defined stay defined (rpm's
                // global macro context outlives it).
                Some(a) => walk(&text, ctx, arch, Some(a), Some(first.exp)),
                None => {
                    let mut w = first;
                    w.error = Some((None, "No compatible architectures found for build".into()));
                    w
                }
            }
        }
        _ => first,
    };
    ev.finish()
}

fn walk<'c>(
    text: &str,
    ctx: &'c MacroContext,
    arch: &str,
    buildarch: Option<String>,
    seed: Option<Expander<'c>>,
) -> Walk<'c> {
    let mut exp = match seed {
        Some(mut e) => {
            e.reset_pass();
            e
        }
        None => Expander::new(ctx),
    };
    let target = buildarch.clone().unwrap_or_else(|| arch.to_owned());
    exp.define("_target_cpu", &target);
    exp.define("_docdir", "%{_defaultdocdir}");
    let mut w = Walk {
        exp,
        levels: vec![Level {
            reading: true,
            outer: true,
            matched: true,
        }],
        sect: Sect::Preamble(0),
        pkgs: vec![Pkg::default()],
        buildrequires: Vec::new(),
        exclusive: Vec::new(),
        exclude: Vec::new(),
        dynamic: false,
        tags: Tags::default(),
        main_buildarch: None,
        unresolved: Vec::new(),
        error: None,
        target,
        line_unresolved: false,
        include_depth: 0,
    };
    let recursing = buildarch.is_some();
    let raw = crate::lines::split(text.as_bytes());
    let mut k = 0;
    while k < raw.len() && w.error.is_none() {
        let first = &raw[k];
        let mut last = k;
        while raw[last].continued && last + 1 < raw.len() {
            last += 1;
        }
        let lineno = u32::try_from(first.first_phys + 1).unwrap_or(u32::MAX);
        let buf = &text[first.start..raw[last].content_end];
        k = last + 1;
        w.line(buf, lineno);
        if !recursing && w.main_buildarch.is_some() && !matches!(w.sect, Sect::Preamble(0)) {
            // The first pass ends with the main preamble.
            return w;
        }
    }
    if w.error.is_none() && w.levels.len() > 1 {
        w.error = Some((None, "Unclosed %if".into()));
    }
    w
}

fn lead_trim(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

impl Walk<'_> {
    fn reading(&self) -> bool {
        self.levels.last().is_none_or(|l| l.reading)
    }

    fn fail(&mut self, line: u32, msg: impl Into<String>) {
        if self.line_unresolved {
            // rpm might not have failed: the line held something we could
            // not evaluate.
            self.unresolved.push(Unresolved {
                what: format!("{} (after an unresolved expansion)", msg.into()),
                line,
            });
            return;
        }
        if self.error.is_none() {
            self.error = Some((Some(line), msg.into()));
        }
    }

    fn relevant(&self) -> bool {
        matches!(self.sect, Sect::Preamble(_))
    }

    /// Move what the expander found unresolved into the result, when it
    /// bears on the facts.
    fn drain(&mut self, line: u32, relevant: bool) {
        let u = std::mem::take(&mut self.exp.unresolved);
        for what in u {
            // A Lua chunk that failed may have printed sections or defined
            // macros: that always matters.
            if relevant || what.starts_with("%{lua:}") {
                self.unresolved.push(Unresolved { what, line });
            }
        }
        if let Some(e) = self.exp.errors.first().cloned() {
            self.exp.errors.clear();
            // An expansion error in a build script does not change what the
            // spec declares; only `%{error:}` stops rpm for certain.
            if relevant || !e.starts_with("Unterminated") {
                self.fail(line, e);
            }
        }
    }

    fn line(&mut self, buf: &str, line: u32) {
        // A conditional is evaluated from its own text.
        if let Some(kind) = CondKind::detect(lead_trim(buf).as_bytes()) {
            self.conditional(kind, lead_trim(buf), line, true);
            return;
        }
        if self.reading() && lead_trim(buf).starts_with("%include") {
            self.include(lead_trim(buf), line);
            return;
        }
        if !self.reading() {
            // Unread, but a later physical line of the group may still be
            // a conditional.
            for sub in buf.split('\n').skip(1) {
                let t = lead_trim(sub);
                if let Some(kind) = CondKind::detect(t.as_bytes()) {
                    self.conditional(kind, t, line, true);
                }
            }
            return;
        }
        self.line_unresolved = false;
        if self.skippable(buf) {
            // Still look for conditionals on later physical lines.
            for sub in buf.split('\n').skip(1) {
                let t = lead_trim(sub);
                if let Some(kind) = CondKind::detect(t.as_bytes()) {
                    self.conditional(kind, t, line, true);
                }
            }
            return;
        }
        let expanded = if buf.contains('%') {
            let e = self.exp.expand_text(buf);
            // Outside a preamble, what could not be evaluated matters only
            // if the line turned into a section header (definitions carry
            // their own taint).
            let relevant = self.relevant() || e.split('\n').any(is_header);
            self.line_unresolved = !self.exp.unresolved.is_empty();
            self.drain(line, relevant);
            if self.error.is_some() {
                return;
            }
            e
        } else {
            buf.to_owned()
        };
        for sub in expanded.split('\n') {
            if self.error.is_some() {
                return;
            }
            let t = lead_trim(sub);
            if let Some(kind) = CondKind::detect(t.as_bytes()) {
                self.conditional(kind, t, line, false);
                continue;
            }
            if !self.reading() {
                continue;
            }
            self.content(sub.trim_end_matches('\r'), line);
        }
    }

    /// `%include FILE`: rpm reads the file's lines in place of this one.
    /// The file must have been handed in (the component's files); every
    /// line read from it is reported as this line.
    fn include(&mut self, t: &str, line: u32) {
        let arg = t["%include".len()..].trim();
        let path = self.exp.expand_text(arg);
        self.line_unresolved = !self.exp.unresolved.is_empty();
        self.drain(line, true);
        if self.error.is_some() || self.line_unresolved {
            return;
        }
        let path = path.trim();
        if path.is_empty() || path.split_whitespace().count() != 1 {
            self.fail(line, "malformed %include statement");
            return;
        }
        let Some(bytes) = self.exp.provided_file(path) else {
            self.unresolved.push(Unresolved {
                what: format!("%include {path} (a file not handed in)"),
                line,
            });
            return;
        };
        if self.include_depth >= 16 {
            self.fail(line, format!("%include nested too deeply: {path}"));
            return;
        }
        self.include_depth += 1;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let raw = crate::lines::split(text.as_bytes());
        let mut k = 0;
        while k < raw.len() && self.error.is_none() {
            let mut last = k;
            while raw[last].continued && last + 1 < raw.len() {
                last += 1;
            }
            let buf = &text[raw[k].start..raw[last].content_end];
            k = last + 1;
            self.line(buf, line);
        }
        self.include_depth -= 1;
    }

    /// A line of a build script or scriptlet that cannot change the facts:
    /// rpm expands it into the script; here it is skipped unless it may
    /// define a macro or start a section.
    fn skippable(&self, buf: &str) -> bool {
        let Sect::Other(kind) = self.sect else {
            return false;
        };
        if matches!(
            kind,
            SectionKind::Description | SectionKind::Files | SectionKind::Package
        ) {
            return false;
        }
        if !buf.contains('%') {
            return true;
        }
        if buf.starts_with('%') && is_header(buf) {
            return false;
        }
        // A macro of the spec that writes section headers (`%define
        // trigger() %triggerin …`).
        let t = lead_trim(buf);
        if let Some(r) = t.strip_prefix('%') {
            let r = r.strip_prefix('{').unwrap_or(r);
            let r = r.trim_start_matches(['?', '!']);
            let n = r
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                .count();
            if n > 0
                && let Some(def) = self.exp.lookup(&r[..n])
                && def.body.split('\n').any(|l| is_header(lead_trim(l)))
            {
                return false;
            }
        }
        const MARKERS: [&str; 10] = [
            "%global",
            "%define",
            "%undefine",
            "%bcond",
            "lua",
            "expand",
            "%package",
            "%files",
            "%description",
            "%{error",
        ];
        !MARKERS.iter().any(|m| buf.contains(m))
    }

    fn conditional(&mut self, kind: CondKind, t: &str, line: u32, expand: bool) {
        let arg = t[kind.keyword().len().min(t.len())..].trim();
        let reading = self.reading();
        let eval = |w: &mut Self| -> bool {
            let a = if expand && arg.contains('%') {
                let e = w.exp.expand_text(arg);
                w.line_unresolved = !w.exp.unresolved.is_empty();
                w.drain(line, true);
                e
            } else {
                arg.to_owned()
            };
            match kind {
                CondKind::If | CondKind::Elif => match expr::eval(&a) {
                    Ok(v) => v.truthy(),
                    Err(e) => {
                        w.fail(line, format!("bad %if condition: {e}"));
                        false
                    }
                },
                CondKind::Ifarch | CondKind::Ifnarch | CondKind::Elifarch => {
                    if a.is_empty() {
                        w.fail(line, format!("Argument expected for {}", kind.keyword()));
                    }
                    let hit = a.split([' ', '\t', ',']).any(|x| x == w.target);
                    if kind == CondKind::Ifnarch { !hit } else { hit }
                }
                CondKind::Ifos | CondKind::Ifnos | CondKind::Elifos => {
                    if a.is_empty() {
                        w.fail(line, format!("Argument expected for {}", kind.keyword()));
                    }
                    let os = w.exp.expand_text("%{_target_os}");
                    let hit = a.split([' ', '\t', ',']).any(|x| x == os);
                    if kind == CondKind::Ifnos { !hit } else { hit }
                }
                CondKind::Else | CondKind::Endif => false,
            }
        };
        match kind {
            CondKind::Endif => {
                if self.levels.len() <= 1 {
                    self.fail(line, "Got a %endif with no %if");
                } else {
                    self.levels.pop();
                }
            }
            CondKind::Else => {
                if self.levels.len() <= 1 {
                    self.fail(line, "Got a %else with no %if");
                } else if let Some(l) = self.levels.last_mut() {
                    l.reading = l.outer && !l.matched;
                    l.matched = true;
                }
            }
            CondKind::Elif | CondKind::Elifarch | CondKind::Elifos => {
                if self.levels.len() <= 1 {
                    self.fail(line, format!("Got a {} with no %if", kind.keyword()));
                    return;
                }
                let (outer, matched) = self.levels.last().map_or((false, true), |l| (l.outer, l.matched));
                let v = outer && !matched && eval(self);
                if let Some(l) = self.levels.last_mut() {
                    l.reading = v;
                    l.matched |= v;
                }
            }
            _ => {
                let v = reading && eval(self);
                self.levels.push(Level {
                    reading: v,
                    outer: reading,
                    matched: v || !reading,
                });
            }
        }
    }

    /// One expanded line being read.
    fn content(&mut self, s: &str, line: u32) {
        if let Some(r) = s.strip_prefix('%') {
            let word_end = r.find([' ', '\t']).unwrap_or(r.len());
            if let Some(kind) = SectionKind::from_keyword(&r.as_bytes()[..word_end])
                && kind != SectionKind::Preamble
            {
                self.section(kind, r[word_end..].trim(), line);
                return;
            }
        }
        match self.sect {
            Sect::Preamble(p) => self.preamble(p, s, line),
            Sect::Other(_) => {}
        }
    }

    fn pkg_by_name(&self, name: &str) -> Option<usize> {
        self.pkgs.iter().position(|p| p.name == name)
    }

    /// The package a section header names (`-n NAME` or a suffix); `None`
    /// after reporting rpm's error.
    fn header_pkg(&mut self, args: &[&str], line: u32, trigger: bool) -> Option<(usize, Option<String>)> {
        let mut full: Option<String> = None;
        let mut suffix: Option<String> = None;
        let mut prog = None;
        let mut i = 0;
        while i < args.len() {
            match args[i] {
                "--" if trigger => break,
                "-n" | "-p" | "-f" | "-l" => {
                    let Some(v) = args.get(i + 1) else {
                        self.fail(line, format!("missing argument to {}", args[i]));
                        return None;
                    };
                    match args[i] {
                        "-n" => full = Some((*v).to_owned()),
                        "-p" => prog = Some((*v).to_owned()),
                        _ => {}
                    }
                    i += 2;
                    continue;
                }
                a if a.starts_with('-') => {}
                a => {
                    if suffix.is_none() && full.is_none() {
                        suffix = Some(a.to_owned());
                    }
                }
            }
            i += 1;
        }
        let main = self.pkgs[0].name.clone();
        let name = match (full, suffix) {
            (Some(n), _) => n,
            (None, Some(s)) => format!("{main}-{s}"),
            (None, None) => main,
        };
        match self.pkg_by_name(&name) {
            Some(p) => Some((p, prog)),
            None => {
                self.fail(line, format!("Package does not exist: {name}"));
                None
            }
        }
    }

    fn section(&mut self, kind: SectionKind, rest: &str, line: u32) {
        if self.pkgs[0].name.is_empty() && !matches!(self.sect, Sect::Other(_)) {
            // The main preamble is over; rpm checks it now.
            if self.tags.name.is_none() {
                self.fail(line, "Name field must be present in package: (main package)");
                return;
            }
        }
        let args: Vec<&str> = rest.split_whitespace().collect();
        match kind {
            SectionKind::Package => {
                let name = match args.as_slice() {
                    ["-n", n, ..] => (*n).to_owned(),
                    [n, ..] if !n.starts_with('-') => format!("{}-{n}", self.pkgs[0].name),
                    _ => {
                        self.fail(line, "line: %package needs a name");
                        return;
                    }
                };
                if self.pkg_by_name(&name).is_some() {
                    self.fail(line, format!("Package already exists: {name}"));
                    return;
                }
                self.pkgs.push(Pkg {
                    name,
                    ..Pkg::default()
                });
                self.sect = Sect::Preamble(self.pkgs.len() - 1);
                return;
            }
            SectionKind::Description | SectionKind::Files => {
                if let Some((p, _)) = self.header_pkg(&args, line, false)
                    && kind == SectionKind::Description
                {
                    self.pkgs[p].description = true;
                }
            }
            SectionKind::GenerateBuildrequires => self.dynamic = true,
            k if is_script(k) => {
                if let Some((p, prog)) = self.header_pkg(&args, line, k.is_trigger()) {
                    let mut expand = false;
                    for a in &args {
                        if *a == "--" {
                            break;
                        }
                        expand |= a.starts_with('-') && !a.starts_with("--") && a[1..].contains('e');
                    }
                    self.script_deps(k, p, prog, expand, line);
                }
            }
            _ => {}
        }
        self.sect = Sect::Other(kind);
    }

    fn script_deps(&mut self, kind: SectionKind, p: usize, prog: Option<String>, expand: bool, line: u32) {
        if expand {
            add_dep(
                &mut self.pkgs[p].requires,
                RDep {
                    name: "rpmlib(ScriptletExpansion)".into(),
                    evr: "4.9.0-1".into(),
                    flags: RPMLIB | LESS | EQUAL,
                    line: Some(line),
                },
            );
        }
        let sense = match kind {
            SectionKind::Pre => PRE,
            SectionKind::Post => POST,
            SectionKind::Preun => PREUN,
            SectionKind::Postun => POSTUN,
            SectionKind::Pretrans => PRETRANS,
            SectionKind::Posttrans => POSTTRANS,
            SectionKind::Verifyscript => VERIFY,
            _ => 0,
        };
        let prog = prog.unwrap_or_else(|| "/bin/sh".to_owned());
        let interp = prog.split_whitespace().next().unwrap_or("").to_owned();
        if interp == "<lua>" {
            add_dep(
                &mut self.pkgs[p].requires,
                RDep {
                    name: "rpmlib(BuiltinLuaScripts)".into(),
                    evr: "4.2.2-1".into(),
                    flags: RPMLIB | LESS | EQUAL,
                    line: Some(line),
                },
            );
        } else if interp.starts_with('/') {
            add_dep(
                &mut self.pkgs[p].requires,
                RDep {
                    name: interp,
                    evr: String::new(),
                    flags: INTERP | sense,
                    line: Some(line),
                },
            );
        } else {
            self.fail(line, format!("script program must begin with '/': {interp}"));
        }
    }

    fn preamble(&mut self, p: usize, s: &str, line: u32) {
        let t = s.trim();
        if t.is_empty() || t.starts_with('#') {
            return;
        }
        let Some((tag, qual, value)) = split_tag(t) else {
            self.fail(line, format!("Unknown tag: {t}"));
            return;
        };
        let lower = tag.to_ascii_lowercase();
        let base = lower.trim_end_matches(|c: char| c.is_ascii_digit());
        let numbered = base.len() != lower.len();
        // rpm 4.18 does not know the 4.20 declarative-build tags.
        let newer = matches!(base, "buildsystem" | "buildoption");
        if newer || !crate::is_known_tag(base) || (numbered && !matches!(base, "source" | "patch")) {
            self.fail(line, format!("Unknown tag: {t}"));
            return;
        }
        let value = value.trim();
        let main = p == 0;
        match base {
            "name" | "version" | "release" | "epoch" => {
                if value.is_empty() {
                    self.fail(line, format!("line {line}: Empty tag: {t}"));
                    return;
                }
                if !main {
                    // rpm redefines the macro, not the main package's tag.
                    if base != "name" {
                        self.exp.define(base, value);
                    }
                    let v = Some(value.to_owned());
                    match base {
                        "version" => self.pkgs[p].version = v,
                        "release" => self.pkgs[p].release = v,
                        "epoch" => self.pkgs[p].epoch = v,
                        _ => {}
                    }
                    return;
                }
                if base != "epoch" && value.split_whitespace().count() > 1 {
                    self.fail(line, format!("line {line}: Tag takes single token only: {t}"));
                    return;
                }
                let slot = match base {
                    "name" => &mut self.tags.name,
                    "version" => &mut self.tags.version,
                    "release" => &mut self.tags.release,
                    _ => &mut self.tags.epoch,
                };
                *slot = Some(value.to_owned());
                if base == "name" {
                    self.pkgs[0].name = value.to_owned();
                }
                if base != "epoch" {
                    self.exp.define(base, value);
                    if base != "name" {
                        self.exp.define(&base.to_ascii_uppercase(), value);
                    }
                } else {
                    self.exp.define("epoch", value);
                }
            }
            "source" | "patch" => {
                let num = &lower[base.len()..];
                let num = if num.is_empty() { "0" } else { num };
                let file = match value.rfind("#/") {
                    Some(p) => &value[p + 2..],
                    None => value.rsplit('/').next().unwrap_or(value),
                };
                let dir = self.exp.expand_text("%{_sourcedir}");
                let mac = format!("{}{num}", base.to_ascii_uppercase());
                let path = format!("{dir}/{file}");
                self.exp.define(&mac, &path);
                if let Ok(n) = num.parse::<u32>() {
                    if base == "source" {
                        self.exp.sources.push((n, path));
                    } else {
                        self.exp.patches.push((n, path));
                    }
                }
            }
            "summary" => {
                self.pkgs[p].summary = true;
                if main {
                    self.tags.summary = true;
                }
            }
            "license" if main => self.tags.license = true,
            "buildrequires" | "buildprereq" => {
                let mut deps = Vec::new();
                if self.parse_deps(value, 0, line, &mut deps) {
                    for d in deps {
                        add_dep(&mut self.buildrequires, d);
                    }
                }
            }
            "requires" | "prereq" => {
                let Some(flags) = self.qualifiers(qual, line) else {
                    return;
                };
                let mut deps = Vec::new();
                if self.parse_deps(value, flags, line, &mut deps) {
                    for d in deps {
                        add_dep(&mut self.pkgs[p].requires, d);
                    }
                }
            }
            "provides" => {
                let mut deps = Vec::new();
                if self.parse_deps(value, 0, line, &mut deps) {
                    for d in deps {
                        add_dep(&mut self.pkgs[p].provides, d);
                    }
                }
            }
            "conflicts" | "obsoletes" | "recommends" | "suggests" | "supplements" | "enhances"
            | "buildconflicts" | "orderwithrequires" => {
                let mut deps = Vec::new();
                self.parse_deps(value, 0, line, &mut deps);
            }
            "buildarch" | "buildarchitectures" => {
                if main {
                    if self.main_buildarch.is_none() {
                        self.main_buildarch = Some(value.to_owned());
                    }
                    if self.target == "noarch" || value.split_whitespace().any(|a| a == self.target) {
                        self.pkgs[0].arch = Some(self.target.clone());
                    }
                } else if value != "noarch" {
                    self.fail(line, format!("Only noarch subpackages are supported: {t}"));
                } else {
                    self.pkgs[p].arch = Some("noarch".into());
                }
            }
            "exclusivearch" | "excludearch" if main => {
                let list = if base == "exclusivearch" {
                    &mut self.exclusive
                } else {
                    &mut self.exclude
                };
                list.extend(
                    value
                        .split([' ', '\t', ','])
                        .filter(|x| !x.is_empty())
                        .map(str::to_owned),
                );
            }
            _ => {}
        }
    }

    fn qualifiers(&mut self, qual: Option<&str>, line: u32) -> Option<u32> {
        let mut flags = 0;
        for q in qual
            .unwrap_or("")
            .split([',', ' ', '\t'])
            .filter(|q| !q.is_empty())
        {
            flags |= match q.to_ascii_lowercase().as_str() {
                "pre" => PRE,
                "post" => POST,
                "preun" => PREUN,
                "postun" => POSTUN,
                "pretrans" => PRETRANS,
                "posttrans" => POSTTRANS,
                "verify" => VERIFY,
                "interp" => INTERP,
                "meta" => META,
                _ => {
                    self.fail(line, format!("Bad Requires qualifier: {q}"));
                    return None;
                }
            };
        }
        Some(flags)
    }

    /// rpm's `parseRCPOT`: names, optional `op EVR`, rich dependencies in
    /// parentheses, separated by blanks or commas.
    fn parse_deps(&mut self, v: &str, flags: u32, line: u32, out: &mut Vec<RDep>) -> bool {
        let b = v.as_bytes();
        let mut i = 0;
        let ws = |c: u8| c.is_ascii_whitespace();
        while i < b.len() {
            while i < b.len() && (ws(b[i]) || b[i] == b',') {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            if b[i] == b'(' {
                let mut depth = 0i32;
                let st = i;
                while i < b.len() {
                    match b[i] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                if i >= b.len() {
                    self.fail(line, format!("Missing ')' in rich dependency: {v}"));
                    return false;
                }
                i += 1;
                let Some(norm) = normalize_rich(&v[st..i]) else {
                    self.fail(line, format!("Invalid rich dependency: {}", &v[st..i]));
                    return false;
                };
                out.push(RDep {
                    name: norm,
                    evr: String::new(),
                    flags,
                    line: Some(line),
                });
                continue;
            }
            let st = i;
            while i < b.len() && !ws(b[i]) && b[i] != b',' {
                i += 1;
            }
            let name = &v[st..i];
            let c0 = name.as_bytes()[0];
            if !(c0.is_ascii_alphanumeric() || c0 == b'_' || c0 == b'/') {
                self.fail(
                    line,
                    format!("Dependency tokens must begin with alpha-numeric, '_' or '/': {v}"),
                );
                return false;
            }
            // An operator?
            let mut j = i;
            while j < b.len() && ws(b[j]) {
                j += 1;
            }
            let os = j;
            while j < b.len() && matches!(b[j], b'<' | b'=' | b'>') {
                j += 1;
            }
            let mut d = RDep {
                name: name.to_owned(),
                evr: String::new(),
                flags,
                line: Some(line),
            };
            if j > os {
                let op = match &v[os..j] {
                    "<" => LESS,
                    "<=" | "=<" => LESS | EQUAL,
                    "=" | "==" => EQUAL,
                    ">=" | "=>" => GREATER | EQUAL,
                    ">" => GREATER,
                    other => {
                        self.fail(line, format!("Invalid dependency operator {other}: {v}"));
                        return false;
                    }
                };
                while j < b.len() && ws(b[j]) {
                    j += 1;
                }
                let es = j;
                while j < b.len() && !ws(b[j]) && b[j] != b',' {
                    j += 1;
                }
                if es == j {
                    self.fail(line, format!("Version required: {v}"));
                    return false;
                }
                if name.starts_with('/') {
                    self.fail(line, format!("Versioned file name not permitted: {v}"));
                    return false;
                }
                d.evr = v[es..j].to_owned();
                d.flags |= op;
                i = j;
            }
            out.push(d);
        }
        true
    }

    fn finish(mut self) -> Evaluation {
        let mut ev = Evaluation {
            tags: self.tags.clone(),
            ..Evaluation::default()
        };
        if self.error.is_none() && self.unresolved.is_empty() {
            self.final_checks();
        }
        let epoch = self.tags.epoch.clone();
        let version = self.tags.version.clone().unwrap_or_default();
        let release = self.tags.release.clone().unwrap_or_default();
        let evr = match &epoch {
            Some(e) => format!("{e}:{version}-{release}"),
            None => format!("{version}-{release}"),
        };
        let mut packages = Vec::new();
        let target = self.target.clone();
        let main_arch = self.pkgs[0].arch.clone().unwrap_or_else(|| target.clone());
        for k in 0..self.pkgs.len() {
            let arch = self.pkgs[k].arch.clone().unwrap_or_else(|| target.clone());
            let name = self.pkgs[k].name.clone();
            let pk = &self.pkgs[k];
            let evr = if pk.version.is_some() || pk.release.is_some() || pk.epoch.is_some() {
                let v = pk.version.as_deref().unwrap_or(&version);
                let r = pk.release.as_deref().unwrap_or(&release);
                match pk.epoch.as_ref().or(epoch.as_ref()) {
                    Some(e) => format!("{e}:{v}-{r}"),
                    None => format!("{v}-{r}"),
                }
            } else {
                evr.clone()
            };
            add_dep(
                &mut self.pkgs[k].provides,
                RDep {
                    name: name.clone(),
                    evr: evr.clone(),
                    flags: EQUAL,
                    line: None,
                },
            );
            let isa = self.exp.expand_text(&format!("{name}%{{?_isa}}"));
            if !self.exp.unresolved.is_empty() {
                self.exp.unresolved.clear();
            }
            if arch != "noarch" && isa != name {
                add_dep(
                    &mut self.pkgs[k].provides,
                    RDep {
                        name: isa,
                        evr: evr.clone(),
                        flags: EQUAL,
                        line: None,
                    },
                );
            }
            let pk = &self.pkgs[k];
            packages.push(PackageFacts {
                name,
                buildarch: (k > 0 && pk.arch.is_some() && pk.arch.as_deref() != Some(main_arch.as_str()))
                    .then(|| arch.clone()),
                provides: pk.provides.iter().map(RDep::text).collect(),
                requires: pk.requires.iter().map(RDep::text).collect(),
            });
        }
        ev.facts = SpecFacts {
            name: self.pkgs[0].name.clone(),
            evr,
            buildrequires: self
                .buildrequires
                .iter()
                .map(|d| Dep {
                    text: d.text(),
                    line: d.line,
                })
                .collect(),
            dynamic_buildrequires: self.dynamic,
            packages,
            buildarch: self.main_buildarch.clone(),
            exclusive_arch: self.exclusive.clone(),
            exclude_arch: self.exclude.clone(),
        };
        ev.unresolved = self.unresolved;
        ev.error = self.error;
        ev.asked = std::mem::take(&mut self.exp.asked);
        ev
    }

    fn final_checks(&mut self) {
        let t = &self.tags;
        let msg = if t.name.is_none() {
            Some("Name field must be present in package: (main package)".to_owned())
        } else if t.version.is_none() {
            Some("Version field must be present in package: (main package)".to_owned())
        } else if t.release.is_none() {
            Some("Release field must be present in package: (main package)".to_owned())
        } else if t.epoch.as_deref().is_some_and(|e| e.parse::<u32>().is_err()) {
            Some(format!(
                "Epoch field must be an unsigned number: {}",
                t.epoch.as_deref().unwrap_or("")
            ))
        } else if let Some(p) = self.pkgs.iter().find(|p| !p.summary) {
            Some(format!("Summary field must be present in package: {}", p.name))
        } else if !t.license {
            Some("License field must be present in package: (main package)".to_owned())
        } else {
            self.pkgs
                .iter()
                .find(|p| !p.description)
                .map(|p| format!("Package has no %description: {}", p.name))
        };
        if let Some(m) = msg {
            self.error = Some((None, m));
            return;
        }
        for (tag, v) in [("Version", t.version.clone()), ("Release", t.release.clone())] {
            let v = v.unwrap_or_default();
            if let Some(c) = v
                .chars()
                .find(|c| !c.is_ascii_alphanumeric() && !"._+%{}~^".contains(*c))
            {
                self.error = Some((None, format!("Illegal char '{c}' in: {tag}: {v}")));
                return;
            }
            if v.contains("..") {
                self.error = Some((None, format!("Illegal sequence \"..\" in: {tag}: {v}")));
                return;
            }
        }
    }
}

/// rpm's rendering of a rich dependency: single blanks between its
/// words, none inside the parentheses' edges (`( a  >= 1 with b )` →
/// `(a >= 1 with b)`). `None` when the parentheses do not balance.
pub(crate) fn normalize_rich(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut depth = 0i32;
    let mut need_space = false;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'(' {
            if need_space {
                out.push(' ');
            }
            out.push('(');
            depth += 1;
            need_space = false;
            i += 1;
            continue;
        }
        if c == b')' {
            out.push(')');
            depth -= 1;
            if depth < 0 {
                return None;
            }
            need_space = true;
            i += 1;
            continue;
        }
        // A word: a name (with balanced parentheses inside), an operator,
        // a version or a keyword.
        let st = i;
        let mut pd = 0i32;
        while i < b.len() {
            let d = b[i];
            if d == b'(' {
                pd += 1;
            } else if d == b')' {
                if pd == 0 {
                    break;
                }
                pd -= 1;
            } else if d.is_ascii_whitespace() && pd == 0 {
                break;
            }
            i += 1;
        }
        if need_space {
            out.push(' ');
        }
        out.push_str(&s[st..i]);
        need_space = true;
    }
    (depth == 0).then_some(out)
}

/// Whether an expanded line starts a section.
fn is_header(s: &str) -> bool {
    s.strip_prefix('%').is_some_and(|r| {
        let w = r.split([' ', '\t']).next().unwrap_or("");
        SectionKind::from_keyword(w.as_bytes()).is_some_and(|k| k != SectionKind::Preamble)
    })
}

fn is_script(k: SectionKind) -> bool {
    matches!(
        k,
        SectionKind::Pre
            | SectionKind::Post
            | SectionKind::Preun
            | SectionKind::Postun
            | SectionKind::Pretrans
            | SectionKind::Posttrans
            | SectionKind::Preuntrans
            | SectionKind::Postuntrans
            | SectionKind::Verifyscript
    ) || k.is_trigger()
}

/// `Tag(qual): value` → (tag, qualifier, value).
fn split_tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let tag = &s[..i];
    let mut qual = None;
    if b.get(i) == Some(&b'(') {
        let close = s[i..].find(')')? + i;
        qual = Some(&s[i + 1..close]);
        i = close + 1;
    }
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    // `Patch 3:` is rpm's `Patch:` (number 0): a number must follow the
    // tag name directly.
    if b.get(i).is_some_and(u8::is_ascii_digit)
        && matches!(tag.to_ascii_lowercase().as_str(), "source" | "patch")
    {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    Some((tag, qual, &s[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORE: &str = "%_isa %{?__isa:(%{__isa})}\n%__isa x86-64\n%defined() %{expand:%%{?%{1}:1}%%{!?%{1}:0}}\n%with() %{expand:%%{?with_%{1}:1}%%{!?with_%{1}:0}}\n%bcond() %[ (%2) ? \"%{expand:%%{!?_without_%{1}:%%global with_%{1} 1}}\" : \"%{expand:%%{?_with_%{1}:%%global with_%{1} 1}}\" ]\n%bcond_without() %bcond %{1} 1\n%bcond_with() %bcond %{1} 0\n";

    fn ctx() -> MacroContext {
        let mut c = MacroContext::for_target("x86_64");
        c.load_file("core", CORE.as_bytes());
        c
    }

    fn ev(spec: &str) -> Evaluation {
        evaluate(spec.as_bytes(), &ctx(), "x86_64")
    }

    const HEAD: &str = "Name: foo\nVersion: 1.2\nRelease: 3\nSummary: s\nLicense: MIT\n";

    fn pkg<'a>(e: &'a Evaluation, name: &str) -> &'a PackageFacts {
        e.facts
            .packages
            .iter()
            .find(|p| p.name == name)
            .expect("package exists")
    }

    #[test]
    fn tags_and_automatic_provides() {
        let e = ev(&format!(
            "{HEAD}Epoch: 2\nBuildRequires: zlib-devel >= 1.2, (a  or b) gcc\nBuildRequires: bar bar\nRequires: aa%{{?_isa}}\nRequires(pre,post): shadow\nProvides: xyz = 3\n%description\nd\n%package devel\nSummary: d\nBuildArch: noarch\nRequires: %{{name}} = %{{version}}-%{{release}}\n%description devel\nd\n%package -n other\nSummary: o\n%description -n other\no\n%pre\n%post -p /sbin/ldconfig\n%postun -p <lua>\n%files\n"
        ));
        assert_eq!(e.error, None);
        assert!(e.unresolved.is_empty());
        let f = &e.facts;
        assert_eq!(f.evr, "2:1.2-3");
        let br: Vec<&str> = f.buildrequires.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(br, ["(a or b)", "bar", "gcc", "zlib-devel >= 1.2"]);
        assert_eq!(f.buildrequires[3].line, Some(7));
        assert_eq!(
            pkg(&e, "foo").provides,
            ["foo = 2:1.2-3", "foo(x86-64) = 2:1.2-3", "xyz = 3"]
        );
        assert_eq!(
            pkg(&e, "foo").requires,
            [
                "/bin/sh",
                "/sbin/ldconfig",
                "aa(x86-64)",
                "rpmlib(BuiltinLuaScripts) <= 4.2.2-1",
                "shadow"
            ]
        );
        let devel = pkg(&e, "foo-devel");
        assert_eq!(devel.provides, ["foo-devel = 2:1.2-3"]);
        assert_eq!(devel.requires, ["foo = 1.2-3"]);
        assert_eq!(devel.buildarch.as_deref(), Some("noarch"));
        assert_eq!(
            pkg(&e, "other").provides,
            ["other = 2:1.2-3", "other(x86-64) = 2:1.2-3"]
        );
    }

    #[test]
    fn conditionals_and_bconds() {
        let e = ev(&format!(
            "%bcond_without docs\n%bcond_with tests\n%global v 3\n{HEAD}%if %{{with docs}} && !%{{with tests}}\nBuildRequires: docs\n%elif 1\nBuildRequires: never\n%else\nBuildRequires: never2\n%endif\n%ifarch x86_64 aarch64\nBuildRequires: arch\n%endif\n%ifnarch x86_64\nBuildRequires: notx\n%endif\n%ifos linux\nBuildRequires: os\n%endif\n%if v\"%{{v}}.0\" > v\"3\"\nBuildRequires: ver\n%endif\n%if \"%{{_target_cpu}}\" == \"x86_64\"\nBuildRequires: str\n%endif\n%description\n"
        ));
        assert_eq!(e.error, None);
        let br: Vec<&str> = e.facts.buildrequires.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(br, ["arch", "docs", "os", "str", "ver"]);
        let e = evaluate(
            b"Name: x\n%ifarch x86_64\nBuildRequires: x\n%endif\n",
            &ctx(),
            "aarch64",
        );
        assert!(e.facts.buildrequires.is_empty());
    }

    #[test]
    fn noarch_main_package_reparses() {
        let e = ev(&format!(
            "{HEAD}BuildArch: noarch\n%ifarch noarch\nBuildRequires: seen-as-noarch\n%endif\nExclusiveArch: x86_64 aarch64\nExcludeArch: s390x\n%description\n%generate_buildrequires\necho\n"
        ));
        assert_eq!(e.error, None);
        let f = &e.facts;
        assert_eq!(f.buildarch.as_deref(), Some("noarch"));
        assert_eq!(f.buildrequires[0].text, "seen-as-noarch");
        assert_eq!(f.packages[0].provides, ["foo = 1.2-3"]);
        assert_eq!(f.exclusive_arch, ["x86_64", "aarch64"]);
        assert_eq!(f.exclude_arch, ["s390x"]);
        assert!(f.dynamic_buildrequires);
    }

    #[test]
    fn rpm_errors_are_reported() {
        for (spec, want) in [
            ("Name: x\n%if 1\n", "Unclosed %if"),
            ("Name: x\n%endif\n", "Got a %endif with no %if"),
            (&format!("{HEAD}Bogus: 1\n%description\n")[..], "Unknown tag"),
            (
                &format!("{HEAD}%description\n%files -n nope\n")[..],
                "Package does not exist",
            ),
            (
                &format!("{HEAD}BuildRequires: -x\n%description\n")[..],
                "Dependency tokens",
            ),
            (
                &format!("{HEAD}\n%package sub\nSummary: x\n")[..],
                "Package has no %description",
            ),
            (
                "Version: 1\nRelease: 1\nSummary: s\nLicense: l\n%description\n",
                "Name field",
            ),
            (&format!("{HEAD}%{{error:stop}}\n%description\n")[..], "stop"),
        ] {
            let e = ev(spec);
            let msg = e.error.map(|(_, m)| m).unwrap_or_default();
            assert!(msg.contains(want), "{spec:?}: {msg:?}");
        }
    }

    #[test]
    fn unresolved_is_reported_not_guessed() {
        let e = ev(&format!("{HEAD}BuildRequires: %(cat foo)\n%description\n"));
        assert!(e.unresolved[0].what.contains("%(cat foo)"));
        assert_eq!(e.unresolved[0].line, 6);
        assert_eq!(e.error, None);
        assert!(e.complete().is_none());
        // A tainted %global matters only where it is used.
        let e = ev(&format!(
            "%global x %(uname -m)\n{HEAD}%description\n%build\necho %{{x}}\n"
        ));
        assert!(e.unresolved.is_empty());
        let e = ev(&format!(
            "%global x %(uname -m)\n{HEAD}Provides: %{{x}}\n%description\n"
        ));
        assert!(
            e.unresolved
                .iter()
                .any(|u| u.what.contains("uname") && u.line == 7)
        );
        assert_eq!(e.error, None);
        // Shell idioms with a known result are evaluated.
        let e = ev(&format!(
            "%global c 0123456789\n{HEAD}Provides: p = %(c=%{{c}}; echo ${{c:0:7}})\n%description\n"
        ));
        assert!(e.unresolved.is_empty());
        assert_eq!(e.facts.packages[0].provides[2], "p = 0123456");
    }

    #[test]
    fn blank_before_a_patch_number_means_patch_zero() {
        let e = ev(&format!(
            "{HEAD}Patch 3: a.patch\nProvides: %{{?PATCH0:zero}} %{{?PATCH3:three}}\n%description\n"
        ));
        assert_eq!(e.error, None);
        assert!(e.facts.packages[0].provides.contains(&"zero".to_owned()));
        assert!(!e.facts.packages[0].provides.contains(&"three".to_owned()));
    }

    #[test]
    fn rich_dependencies_are_respelled() {
        assert_eq!(
            normalize_rich("( a  >= 1   with b(x y) )").as_deref(),
            Some("(a >= 1 with b(x y))")
        );
        assert_eq!(
            normalize_rich("(a or (b and c))").as_deref(),
            Some("(a or (b and c))")
        );
        assert_eq!(normalize_rich("(a or (b"), None);
    }

    #[test]
    fn macro_generated_sections_and_tags() {
        let e = ev(&format!(
            "%define sub() %package -n %1\\\nSummary: s\\\nProvides: gen-%1\\\n%description -n %1\\\nd\n{HEAD}%description\n%sub one\n%sub two\n"
        ));
        assert_eq!(e.error, None);
        assert_eq!(
            pkg(&e, "one").provides,
            ["gen-one", "one = 1.2-3", "one(x86-64) = 1.2-3"]
        );
        assert!(e.facts.packages.iter().any(|p| p.name == "two"));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::super::expand::Expander;
    use super::super::vercmp::rpmvercmp;
    use super::*;

    proptest! {
        /// `%%` escapes round-trip through expansion: whatever the text.
        #[test]
        fn percent_escapes_round_trip(s in "[ -~\n]{0,60}") {
            let ctx = MacroContext::new();
            let mut e = Expander::new(&ctx);
            prop_assert_eq!(e.expand_text(&s.replace('%', "%%")), s);
            prop_assert!(e.errors.is_empty());
        }

        /// Respelling a rich dependency is idempotent.
        #[test]
        fn rich_respelling_is_idempotent(words in proptest::collection::vec("[a-z]{1,4}|>=|with|or|\\(|\\)", 1..12)) {
            let raw = format!("({})", words.join("  "));
            if let Some(n) = normalize_rich(&raw) {
                prop_assert_eq!(normalize_rich(&n), Some(n.clone()));
            }
        }

        /// rpmvercmp is antisymmetric and reflexive.
        #[test]
        fn vercmp_is_antisymmetric(a in "[0-9a-z.~^_+]{0,10}", b in "[0-9a-z.~^_+]{0,10}") {
            prop_assert_eq!(rpmvercmp(&a, &b), rpmvercmp(&b, &a).reverse());
            prop_assert_eq!(rpmvercmp(&a, &a), std::cmp::Ordering::Equal);
        }
    }
}
