//! Mock configuration files read without Python or mock.
//!
//! A mock config is a Python file of `config_opts[...] = value` statements.
//! [`load`] reads the subset real configs are written in — assignments and
//! `+=` to (nested) keys of `config_opts`, Python literals, reads of
//! `config_opts[...]` with `+ == != not and or`, comments and
//! `include('file')` (relative to the including file, confined to a root) —
//! and reports everything else (imports, calls, `if`, `config_opts.update`,
//! other operators) as a diagnostic with file, line and column, all of a load
//! at once. It starts from mock's own defaults where a config relies on them
//! (`macros` and `plugin_conf` exist, `user_agent`, `chroot_setup_cmd`, …).
//!
//! Values are then rendered with Jinja as mock renders them: each string with
//! every option (as assigned) in the context, repeatedly until it is stable.
//! From the result comes what a buildroot needs ([`MockConfig`]): setup
//! packages of `chroot_setup_cmd`, macros, `dist`, `releasever`, the
//! repositories of `dnf.conf` (parsed by [`ini`]), each with where it was set.

pub mod ini;
mod lexer;
mod parser;
mod template;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use serde::Serialize;

use self::parser::{AssignOp, Expr, ExprKind, Stmt};
use self::template::Renderer;
use self::value::Value;

/// Where a value was set: file, 1-based line and column of the assignment.
/// Mock's built-in defaults have the file `<mock default>` and line 0.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Origin {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
}

impl Origin {
    /// The origin of a value mock itself supplies when a config does not set it.
    #[must_use]
    pub fn mock_default() -> Origin {
        Origin {
            file: PathBuf::from("<mock default>"),
            line: 0,
            column: 0,
        }
    }

    #[must_use]
    pub fn is_mock_default(&self) -> bool {
        self.line == 0
    }

    fn relativize(&mut self, base: &Path) {
        if let Ok(rel) = self.file.strip_prefix(base) {
            self.file = rel.to_path_buf();
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_mock_default() {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
        }
    }
}

/// A value and where it was set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

/// How to load a mock config.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Every file read (the root and its includes) must be inside this
    /// directory.
    pub confine_to: Option<PathBuf>,
    /// Template variables beyond `config_opts` itself (options of the same
    /// name win), e.g. `project_dir`.
    pub vars: BTreeMap<String, serde_json::Value>,
}

/// What a buildroot takes from a mock config.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct MockConfig {
    /// The root file, as given.
    pub path: PathBuf,
    /// The root file, then every included file in load order.
    pub files: Vec<PathBuf>,
    pub target_arch: Sourced<String>,
    pub releasever: Option<Sourced<String>>,
    /// `config_opts['dist']` as written (mock's: without the leading dot).
    pub dist: Option<Sourced<String>>,
    pub root: Option<Sourced<String>>,
    pub package_manager: Option<Sourced<String>>,
    pub legal_host_arches: Option<Sourced<Vec<String>>>,
    /// Packages and `@group`s installed into a fresh root, in order:
    /// `chroot_setup_cmd`, then `chroot_additional_packages`.
    pub setup_packages: Vec<Sourced<String>>,
    /// `config_opts['macros']`, keys as written (`%dist`).
    pub macros: BTreeMap<String, Sourced<String>>,
    /// The repositories of `dnf.conf`, in file order.
    pub repos: Vec<Repo>,
    /// The `[main]` section of `dnf.conf`.
    pub dnf_main: BTreeMap<String, String>,
    /// dnf's variables as azldev substitutes them in repositories
    /// (`basearch`, `arch`, `releasever`, `releasever_major`,
    /// `releasever_minor`, then `config_opts['dnf_vars']`).
    pub dnf_vars: BTreeMap<String, String>,
    /// The rendered `dnf.conf` text, `$variables` left for dnf, to hand to
    /// dnf as it is.
    #[serde(skip)]
    pub dnf_conf: Option<String>,
    /// Every other option set by the files, rendered, as JSON.
    pub options: BTreeMap<String, Sourced<serde_json::Value>>,
    /// Things mock accepts but that deserve a look (a file included twice).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A `[repo]` section of `dnf.conf`, with dnf variables substituted in
/// `name`, `baseurl`, `metalink` and `mirrorlist`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Repo {
    pub id: String,
    pub name: Option<String>,
    pub baseurl: Vec<String>,
    pub metalink: Option<String>,
    pub mirrorlist: Option<String>,
    pub enabled: bool,
    pub gpgcheck: bool,
    pub cost: Option<i64>,
    pub priority: Option<i64>,
    pub skip_if_unavailable: Option<bool>,
    /// Every other option of the section, as written.
    pub options: BTreeMap<String, String>,
    /// The `[id]` header (or, when it cannot be found in the source, the
    /// assignment of `dnf.conf`).
    pub origin: Origin,
}

impl MockConfig {
    /// Make every path under `base` relative to it (for display and stable
    /// output).
    pub fn relativize(&mut self, base: &Path) {
        if let Ok(rel) = self.path.strip_prefix(base) {
            self.path = rel.to_path_buf();
        }
        for f in &mut self.files {
            if let Ok(rel) = f.strip_prefix(base) {
                *f = rel.to_path_buf();
            }
        }
        self.target_arch.origin.relativize(base);
        for o in [
            &mut self.releasever,
            &mut self.dist,
            &mut self.root,
            &mut self.package_manager,
        ]
        .into_iter()
        .flatten()
        {
            o.origin.relativize(base);
        }
        if let Some(l) = &mut self.legal_host_arches {
            l.origin.relativize(base);
        }
        for p in &mut self.setup_packages {
            p.origin.relativize(base);
        }
        for m in self.macros.values_mut() {
            m.origin.relativize(base);
        }
        for r in &mut self.repos {
            r.origin.relativize(base);
        }
        for o in self.options.values_mut() {
            o.origin.relativize(base);
        }
    }

    /// The enabled repositories.
    pub fn enabled_repos(&self) -> impl Iterator<Item = &Repo> {
        self.repos.iter().filter(|r| r.enabled)
    }
}

/// One problem in a mock config, with its place in the source.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct MockDiagnostic {
    pub message: String,
    pub origin: Origin,
    #[help]
    pub help: Option<String>,
    #[source_code]
    src: NamedSource<Arc<str>>,
    #[label("here")]
    span: SourceSpan,
}

impl MockDiagnostic {
    /// `file:line:column: message`.
    #[must_use]
    pub fn short(&self) -> String {
        format!("{}: {}", self.origin, self.message)
    }
}

/// Loading a mock config failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MockError {
    #[error("cannot read mock config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mock config {} is outside {}", path.display(), root.display())]
    #[diagnostic(help("mock configs and their includes must stay inside the project"))]
    Outside { path: PathBuf, root: PathBuf },
    #[error(
        "mock config {}: {} problem{}",
        path.display(),
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    )]
    Invalid {
        path: PathBuf,
        #[related]
        diagnostics: Vec<MockDiagnostic>,
    },
}

impl MockError {
    /// Every diagnostic (empty for a file that could not be read at all).
    #[must_use]
    pub fn diagnostics(&self) -> &[MockDiagnostic] {
        match self {
            MockError::Invalid { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

/// Read the mock config at `path` and everything it includes.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<MockConfig, MockError> {
    let confine = match &opts.confine_to {
        Some(root) => Some(root.canonicalize().map_err(|source| MockError::Read {
            path: root.clone(),
            source,
        })?),
        None => None,
    };
    let canonical = path.canonicalize().map_err(|source| MockError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(root) = &confine
        && !canonical.starts_with(root)
    {
        return Err(MockError::Outside {
            path: path.to_path_buf(),
            root: root.clone(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| MockError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut loader = Loader {
        confine,
        files: Vec::new(),
        stack: Vec::new(),
        diags: Vec::new(),
        warnings: Vec::new(),
        state: State::with_mock_defaults(),
    };
    loader.run_file(path.to_path_buf(), canonical, text);
    let config = if loader.diags.is_empty() {
        loader.extract(path, opts)
    } else {
        None
    };
    match config {
        Some(c) if loader.diags.is_empty() => Ok(c),
        _ => Err(MockError::Invalid {
            path: path.to_path_buf(),
            diagnostics: loader.diags,
        }),
    }
}

// ---------------------------------------------------------------------------
// Loading and running files

#[derive(Debug)]
struct SourceText {
    path: PathBuf,
    text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceText {
    fn new(path: PathBuf, text: String) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceText {
            path,
            text: Arc::from(text),
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self
            .line_starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(0, |s| s.chars().count());
        (
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(col + 1).unwrap_or(u32::MAX),
        )
    }
}

/// A place in a loaded file (`file == DEFAULT` for mock's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loc {
    file: usize,
    span: Range<usize>,
}

const DEFAULT: usize = usize::MAX;

impl Loc {
    fn default_value() -> Loc {
        Loc {
            file: DEFAULT,
            span: 0..0,
        }
    }
}

/// The raw text a string option was built from, piece by piece (`=` then
/// `+=`), each with the place of its value expression.
#[derive(Debug, Clone)]
struct Segment {
    value_loc: Loc,
    stmt_loc: Loc,
    text: String,
}

#[derive(Debug, Default)]
struct State {
    opts: BTreeMap<String, Value>,
    /// The last statement that touched each option.
    origins: BTreeMap<String, Loc>,
    /// Options set by a file (not only by mock's defaults).
    from_file: BTreeSet<String>,
    macro_origins: BTreeMap<String, Loc>,
    segments: BTreeMap<String, Vec<Segment>>,
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

fn strs(v: &[&str]) -> Value {
    Value::List(v.iter().map(|x| s(x)).collect())
}

impl State {
    /// The defaults of mock a config relies on: containers it assigns into,
    /// values its templates use, and the setup command it may leave unset.
    fn with_mock_defaults() -> State {
        let defaults = [
            ("basedir", s("/var/lib/mock")),
            ("resultdir", s("{{basedir}}/{{root}}/result")),
            ("rootdir", s("{{basedir}}/{{root}}/root")),
            ("cache_topdir", s("/var/cache/mock")),
            ("chroothome", s("/builddir")),
            ("chrootuser", s("mockbuild")),
            ("chrootgroup", s("mock")),
            ("user_agent", s("Mock ({{ root }}; {{ target_arch }})")),
            ("package_manager", s("dnf")),
            ("releasever", Value::None),
            ("repo_arch", Value::None),
            (
                "chroot_setup_cmd",
                Value::Tuple(vec![s("groupinstall"), s("buildsys-build")]),
            ),
            ("macros", Value::Dict(Vec::new())),
            ("plugin_conf", Value::Dict(Vec::new())),
            ("environment", Value::Dict(Vec::new())),
            ("dnf_vars", Value::Dict(Vec::new())),
            ("files", Value::Dict(Vec::new())),
            ("more_buildreqs", Value::Dict(Vec::new())),
            ("repo_arch_map", Value::Dict(Vec::new())),
            ("scm_opts", Value::Dict(Vec::new())),
            ("extra_chroot_dirs", Value::List(Vec::new())),
            ("chroot_additional_packages", Value::List(Vec::new())),
            ("module_enable", Value::List(Vec::new())),
            ("module_install", Value::List(Vec::new())),
            ("module_setup_commands", Value::List(Vec::new())),
            ("bootstrap_chroot_additional_packages", Value::List(Vec::new())),
            ("yum_common_opts", Value::List(Vec::new())),
            ("yum_builddep_opts", Value::List(Vec::new())),
            ("nspawn_args", strs(&["--capability=cap_ipc_lock"])),
            (
                "dnf4_common_opts",
                strs(&[
                    "--setopt=deltarpm=False",
                    "--setopt=allow_vendor_change=yes",
                    "--allowerasing",
                ]),
            ),
            (
                "dnf5_common_opts",
                strs(&[
                    "--setopt=deltarpm=False",
                    "--setopt=allow_vendor_change=yes",
                    "--allowerasing",
                ]),
            ),
        ];
        let mut st = State::default();
        for (k, v) in defaults {
            st.opts.insert(k.to_owned(), v);
            st.origins.insert(k.to_owned(), Loc::default_value());
        }
        st
    }
}

/// Mock's option aliases (`yum.conf` is `dnf.conf`, …).
fn alias(key: &str) -> &str {
    match key {
        "yum.conf" | "dnf4.conf" | "dnf5.conf" => "dnf.conf",
        "dnf_command" => "dnf4_command",
        "dnf_common_opts" => "dnf4_common_opts",
        "dnf_install_command" => "dnf4_install_command",
        "dnf_disable_plugins" => "dnf4_disable_plugins",
        "dnf_avoid_opts" => "dnf4_avoid_opts",
        "dnf_builddep_opts" => "dnf4_builddep_opts",
        "system_dnf_command" => "dnf4_system_command",
        other => other,
    }
}

struct Loader {
    confine: Option<PathBuf>,
    files: Vec<SourceText>,
    /// Canonical paths of the include chain being run.
    stack: Vec<PathBuf>,
    diags: Vec<MockDiagnostic>,
    warnings: Vec<String>,
    state: State,
}

/// A problem found while running a statement: where and what.
struct Fail {
    span: Range<usize>,
    message: String,
    help: Option<String>,
}

fn fail(span: Range<usize>, message: impl Into<String>) -> Fail {
    Fail {
        span,
        message: message.into(),
        help: None,
    }
}

impl Loader {
    fn origin(&self, loc: &Loc) -> Origin {
        match self.files.get(loc.file) {
            Some(f) => {
                let (line, column) = f.line_col(loc.span.start);
                Origin {
                    file: f.path.clone(),
                    line,
                    column,
                }
            }
            None => Origin::mock_default(),
        }
    }

    fn diag(&mut self, loc: &Loc, message: impl Into<String>, help: Option<String>) {
        let file = if loc.file == DEFAULT { 0 } else { loc.file };
        let Some(f) = self.files.get(file) else {
            return;
        };
        let loc = Loc {
            file,
            span: loc.span.clone(),
        };
        let origin = self.origin(&loc);
        let len = loc.span.end.saturating_sub(loc.span.start);
        self.diags.push(MockDiagnostic {
            message: message.into(),
            origin,
            help,
            src: NamedSource::new(f.path.display().to_string(), Arc::clone(&f.text)),
            span: SourceSpan::new(loc.span.start.into(), len),
        });
    }

    fn run_file(&mut self, path: PathBuf, canonical: PathBuf, text: String) {
        let file = self.files.len();
        self.files.push(SourceText::new(path, text));
        self.stack.push(canonical);
        let text = Arc::clone(&self.files[file].text);
        let (tokens, lex_errors) = lexer::tokenize(&text);
        for e in lex_errors {
            self.diag(&Loc { file, span: e.span }, e.message, None);
        }
        let (stmts, parse_errors) = parser::parse(&tokens);
        for e in parse_errors {
            self.diag(&Loc { file, span: e.span }, e.message, e.help);
        }
        for stmt in &stmts {
            if let Err(f) = self.run_stmt(file, stmt) {
                self.diag(&Loc { file, span: f.span }, f.message, f.help);
            }
        }
        self.stack.pop();
    }

    fn run_stmt(&mut self, file: usize, stmt: &Stmt) -> Result<(), Fail> {
        match stmt {
            Stmt::Assign { at, keys, op, value } => {
                let mut key_values = Vec::with_capacity(keys.len());
                for k in keys {
                    key_values.push((self.eval(k)?, k.span.clone()));
                }
                let v = self.eval(value)?;
                let Value::Str(top) = &key_values[0].0 else {
                    return Err(fail(
                        key_values[0].1.clone(),
                        format!("option names are strings, not {}", key_values[0].0.type_name()),
                    ));
                };
                let top = alias(top).to_owned();
                let top_span = key_values[0].1.clone();
                let stmt_loc = Loc {
                    file,
                    span: at.clone(),
                };
                let value_loc = Loc {
                    file,
                    span: value.span.clone(),
                };
                self.assign(&top, top_span, &key_values[1..], *op, v, &stmt_loc, value_loc)?;
                Ok(())
            }
            Stmt::Include { at, arg } => {
                let v = self.eval(arg)?;
                let Value::Str(name) = v else {
                    return Err(fail(
                        arg.span.clone(),
                        format!("`include()` takes a file name, not {}", v.type_name()),
                    ));
                };
                self.include(file, at.start..arg.span.end + 1, &name)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn assign(
        &mut self,
        top: &str,
        top_span: Range<usize>,
        path: &[(Value, Range<usize>)],
        op: AssignOp,
        v: Value,
        stmt_loc: &Loc,
        value_loc: Loc,
    ) -> Result<(), Fail> {
        let shown = |n: usize| -> String {
            let mut out = format!("config_opts[{}]", value::str_repr(top));
            for (k, _) in &path[..n] {
                out.push_str(&format!("[{}]", k.py_repr()));
            }
            out
        };
        let segment = Segment {
            value_loc,
            stmt_loc: stmt_loc.clone(),
            text: match &v {
                Value::Str(t) => t.clone(),
                _ => String::new(),
            },
        };
        let is_str = matches!(v, Value::Str(_));
        if path.is_empty() {
            match op {
                AssignOp::Set => {
                    if top == "macros"
                        && let Value::Dict(entries) = &v
                    {
                        self.state.macro_origins = entries
                            .iter()
                            .map(|(k, _)| (k.py_str(), stmt_loc.clone()))
                            .collect();
                    }
                    self.state.opts.insert(top.to_owned(), v);
                    if is_str {
                        self.state.segments.insert(top.to_owned(), vec![segment]);
                    } else {
                        self.state.segments.remove(top);
                    }
                }
                AssignOp::Append => {
                    let Some(cur) = self.state.opts.get(top) else {
                        return Err(fail(
                            stmt_loc.span.clone(),
                            format!("{} is not set, so `+=` has nothing to add to", shown(0)),
                        ));
                    };
                    let new = py_add(cur, &v).map_err(|m| fail(stmt_loc.span.clone(), m))?;
                    self.state.opts.insert(top.to_owned(), new);
                    match self.state.segments.get_mut(top) {
                        Some(segs) if is_str => segs.push(segment),
                        _ => {
                            self.state.segments.remove(top);
                        }
                    }
                }
            }
        } else {
            let Some(root) = self.state.opts.get_mut(top) else {
                return Err(fail(top_span, format!("{} is not set", shown(0))));
            };
            let mut target = root;
            for (depth, (k, kspan)) in path[..path.len() - 1].iter().enumerate() {
                // mock gives every plugin an `_opts` dict; configs assign into them.
                let vivify = top == "plugin_conf"
                    && depth == 0
                    && matches!(k, Value::Str(name) if name.ends_with("_opts"));
                target = child_mut(target, k, vivify).map_err(|m| {
                    fail(
                        kspan.clone(),
                        m.unwrap_or_else(|| format!("{} is not set", shown(depth + 1))),
                    )
                })?;
            }
            let (last, lspan) = &path[path.len() - 1];
            match (target, op) {
                (Value::Dict(entries), AssignOp::Set) => {
                    check_hashable(last).map_err(|m| fail(lspan.clone(), m))?;
                    Value::dict_set(entries, last.clone(), v);
                }
                (Value::Dict(entries), AssignOp::Append) => {
                    let Some(cur) = Value::dict_get_mut(entries, last) else {
                        return Err(fail(
                            stmt_loc.span.clone(),
                            format!("{} is not set, so `+=` has nothing to add to", shown(path.len())),
                        ));
                    };
                    *cur = py_add(cur, &v).map_err(|m| fail(stmt_loc.span.clone(), m))?;
                }
                (Value::List(items), op) => {
                    let i = list_index(items.len(), last).map_err(|m| fail(lspan.clone(), m))?;
                    match op {
                        AssignOp::Set => items[i] = v,
                        AssignOp::Append => {
                            items[i] = py_add(&items[i], &v).map_err(|m| fail(stmt_loc.span.clone(), m))?;
                        }
                    }
                }
                (other, _) => {
                    return Err(fail(
                        lspan.clone(),
                        format!(
                            "{} is a {}, which cannot be assigned into",
                            shown(path.len() - 1),
                            other.type_name()
                        ),
                    ));
                }
            }
            self.state.segments.remove(top);
            if top == "macros" {
                self.state
                    .macro_origins
                    .insert(path[0].0.py_str(), stmt_loc.clone());
            }
        }
        self.state.origins.insert(top.to_owned(), stmt_loc.clone());
        self.state.from_file.insert(top.to_owned());
        Ok(())
    }

    fn include(&mut self, file: usize, site: Range<usize>, name: &str) -> Result<(), Fail> {
        let including = &self.files[file].path;
        let dir = including.parent().unwrap_or(Path::new(""));
        let path = normalize(&dir.join(name));
        let canonical = path.canonicalize().map_err(|e| {
            fail(
                site.clone(),
                format!("cannot read included file {}: {e}", path.display()),
            )
        })?;
        if let Some(root) = &self.confine
            && !canonical.starts_with(root)
        {
            return Err(Fail {
                span: site,
                message: format!("included file {} is outside {}", path.display(), root.display()),
                help: Some("mock configs and their includes must stay inside the project".to_owned()),
            });
        }
        if let Some(i) = self.stack.iter().position(|p| *p == canonical) {
            let chain: Vec<String> = self.stack[i..]
                .iter()
                .chain(std::iter::once(&canonical))
                .map(|p| p.display().to_string())
                .collect();
            return Err(fail(site, format!("include cycle: {}", chain.join(" → "))));
        }
        if self
            .files
            .iter()
            .any(|f| f.path.canonicalize().ok().as_ref() == Some(&canonical))
        {
            let at = self.origin(&Loc { file, span: site });
            self.warnings.push(format!(
                "{at}: {} is already included; skipped, as mock does",
                path.display()
            ));
            return Ok(());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            fail(
                site.clone(),
                format!("cannot read included file {}: {e}", path.display()),
            )
        })?;
        self.run_file(path, canonical, text);
        Ok(())
    }

    fn eval(&self, e: &Expr) -> Result<Value, Fail> {
        Ok(match &e.kind {
            ExprKind::Lit(v) => v.clone(),
            ExprKind::List(items) => {
                Value::List(items.iter().map(|x| self.eval(x)).collect::<Result<_, _>>()?)
            }
            ExprKind::Tuple(items) => {
                Value::Tuple(items.iter().map(|x| self.eval(x)).collect::<Result<_, _>>()?)
            }
            ExprKind::Dict(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = self.eval(k)?;
                    check_hashable(&key).map_err(|m| fail(k.span.clone(), m))?;
                    Value::dict_set(&mut out, key, self.eval(v)?);
                }
                Value::Dict(out)
            }
            ExprKind::Read(keys) => {
                let mut shown = String::from("config_opts");
                let mut cur: Option<&Value> = None;
                for (i, k) in keys.iter().enumerate() {
                    let key = self.eval(k)?;
                    shown.push_str(&format!("[{}]", key.py_repr()));
                    let next = if i == 0 {
                        match &key {
                            Value::Str(name) => self.state.opts.get(alias(name)),
                            other => {
                                return Err(fail(
                                    k.span.clone(),
                                    format!("option names are strings, not {}", other.type_name()),
                                ));
                            }
                        }
                    } else {
                        match cur {
                            Some(Value::Dict(entries)) => Value::dict_get(entries, &key),
                            Some(Value::List(items) | Value::Tuple(items)) => {
                                let i = list_index(items.len(), &key).map_err(|m| fail(k.span.clone(), m))?;
                                items.get(i)
                            }
                            Some(other) => {
                                return Err(fail(
                                    k.span.clone(),
                                    format!("a {} cannot be indexed", other.type_name()),
                                ));
                            }
                            None => None,
                        }
                    };
                    match next {
                        Some(v) => cur = Some(v),
                        None => return Err(fail(e.span.clone(), format!("{shown} is not set"))),
                    }
                }
                cur.cloned().unwrap_or(Value::None)
            }
            ExprKind::Not(x) => Value::Bool(!self.eval(x)?.truthy()),
            ExprKind::Neg(x) => match self.eval(x)? {
                Value::Int(i) => Value::Int(-i),
                Value::Float(f) => Value::Float(-f),
                other => {
                    return Err(fail(
                        e.span.clone(),
                        format!("cannot negate a {}", other.type_name()),
                    ));
                }
            },
            ExprKind::And(a, b) => {
                let l = self.eval(a)?;
                if l.truthy() { self.eval(b)? } else { l }
            }
            ExprKind::Or(a, b) => {
                let l = self.eval(a)?;
                if l.truthy() { l } else { self.eval(b)? }
            }
            ExprKind::Eq(a, b, eq) => Value::Bool(self.eval(a)?.py_eq(&self.eval(b)?) == *eq),
            ExprKind::Add(a, b) => {
                let l = self.eval(a)?;
                let r = self.eval(b)?;
                py_add(&l, &r).map_err(|m| fail(e.span.clone(), m))?
            }
        })
    }
}

fn check_hashable(v: &Value) -> Result<(), String> {
    match v {
        Value::List(_) | Value::Dict(_) => Err(format!("a {} cannot be a dict key", v.type_name())),
        _ => Ok(()),
    }
}

fn list_index(len: usize, key: &Value) -> Result<usize, String> {
    let Value::Int(i) = key else {
        return Err(format!("list indices are integers, not {}", key.type_name()));
    };
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let idx = if *i < 0 { len_i + i } else { *i };
    if idx < 0 || idx >= len_i {
        return Err(format!("list index {i} is out of range (length {len})"));
    }
    usize::try_from(idx).map_err(|_| format!("list index {i} is out of range"))
}

/// The child of a container for assignment; `Err(None)` when the key is missing.
fn child_mut<'v>(target: &'v mut Value, key: &Value, vivify: bool) -> Result<&'v mut Value, Option<String>> {
    match target {
        Value::Dict(entries) => {
            if Value::dict_get(entries, key).is_none() {
                if !vivify {
                    return Err(None);
                }
                entries.push((key.clone(), Value::Dict(Vec::new())));
            }
            Value::dict_get_mut(entries, key).ok_or(None)
        }
        Value::List(items) => {
            let i = list_index(items.len(), key).map_err(Some)?;
            Ok(&mut items[i])
        }
        other => Err(Some(format!("a {} cannot be assigned into", other.type_name()))),
    }
}

/// Python's `a + b` (and `a += b`) for the types configs use.
fn py_add(a: &Value, b: &Value) -> Result<Value, String> {
    Ok(match (a, b) {
        (Value::Str(x), Value::Str(y)) => Value::Str(format!("{x}{y}")),
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_add(*y).ok_or("integer overflow")?),
        (Value::Float(x), Value::Float(y)) => Value::Float(x + y),
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => Value::Float(*x as f64 + y),
        (Value::List(x), Value::List(y) | Value::Tuple(y)) => {
            Value::List(x.iter().chain(y).cloned().collect())
        }
        (Value::Tuple(x), Value::Tuple(y)) => Value::Tuple(x.iter().chain(y).cloned().collect()),
        _ => {
            return Err(format!("cannot add a {} to a {}", b.type_name(), a.type_name()));
        }
    })
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// What a buildroot needs

/// Options read into typed fields of [`MockConfig`] (not repeated in `options`).
const EXTRACTED: &[&str] = &[
    "target_arch",
    "releasever",
    "dist",
    "root",
    "package_manager",
    "legal_host_arches",
    "chroot_setup_cmd",
    "chroot_additional_packages",
    "macros",
    "dnf.conf",
];

/// Repositories, `[main]` and the rendered text of `dnf.conf`.
type DnfConf = (Vec<Repo>, BTreeMap<String, String>, Option<String>);

/// dnf's `$basearch` of an rpm arch.
fn basearch(arch: &str) -> String {
    match arch {
        "i386" | "i486" | "i586" | "i686" | "athlon" | "geode" => "i386".to_owned(),
        a if a.starts_with("armv7") || a.starts_with("armv6") => "armhfp".to_owned(),
        a => a.to_owned(),
    }
}

impl Loader {
    fn loc_of(&self, key: &str) -> Loc {
        self.state
            .origins
            .get(key)
            .cloned()
            .unwrap_or_else(Loc::default_value)
    }

    fn sourced<T>(&self, value: T, loc: &Loc) -> Sourced<T> {
        Sourced {
            value,
            origin: self.origin(loc),
        }
    }

    /// The rendered value of an option; render problems become diagnostics.
    fn rendered(&mut self, r: &Renderer, key: &str) -> Option<Value> {
        let raw = self.state.opts.get(key)?.clone();
        match r.render(&raw) {
            Ok(v) => Some(v),
            Err(m) => {
                let loc = self.loc_of(key);
                self.diag(&loc, format!("config_opts['{key}']: {m}"), None);
                None
            }
        }
    }

    fn string_opt(&mut self, r: &Renderer, key: &str) -> Option<Sourced<String>> {
        let v = self.rendered(r, key)?;
        let loc = self.loc_of(key);
        match v {
            Value::None => None,
            Value::Str(s) => Some(self.sourced(s, &loc)),
            Value::Int(_) | Value::Float(_) => Some(self.sourced(v.py_str(), &loc)),
            other => {
                self.diag(
                    &loc,
                    format!("config_opts['{key}'] must be a string, not {}", other.type_name()),
                    None,
                );
                None
            }
        }
    }

    fn extract(&mut self, path: &Path, opts: &LoadOptions) -> Option<MockConfig> {
        let r = Renderer::new(&self.state.opts, &opts.vars);
        let root_loc = Loc { file: 0, span: 0..0 };

        let target_arch = match self.string_opt(&r, "target_arch") {
            Some(t) if !t.value.is_empty() => Some(t),
            Some(t) => {
                self.diag(
                    &self.loc_of("target_arch"),
                    "config_opts['target_arch'] is empty",
                    None,
                );
                drop(t);
                None
            }
            None => {
                match self.state.opts.get("target_arch") {
                    None => self.diag(
                        &root_loc,
                        "the config never sets config_opts['target_arch']",
                        Some("mock's default (i386) is not a target azldev builds for".to_owned()),
                    ),
                    Some(Value::None) => {
                        let loc = self.loc_of("target_arch");
                        self.diag(&loc, "config_opts['target_arch'] is None", None);
                    }
                    // A wrong type or a template error is reported already.
                    Some(_) => {}
                }
                None
            }
        };
        let releasever = self.string_opt(&r, "releasever");
        let dist = self.string_opt(&r, "dist");
        let root = self.string_opt(&r, "root");
        let package_manager = self.string_opt(&r, "package_manager");
        let legal_host_arches = self.legal_host_arches(&r);
        let mut setup_packages = self.setup_packages(&r);
        setup_packages.extend(self.additional_packages(&r));
        let macros = self.macros(&r);
        let arch = target_arch.as_ref().map(|t| t.value.clone()).unwrap_or_default();
        let dnf_vars = self.dnf_vars(&r, &arch, releasever.as_ref().map(|s| s.value.as_str()));
        let (repos, dnf_main, dnf_conf) = self.dnf_conf(&r, &dnf_vars);

        let mut options = BTreeMap::new();
        let keys: Vec<String> = self
            .state
            .from_file
            .iter()
            .filter(|k| !EXTRACTED.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in keys {
            if let Some(v) = self.rendered(&r, &k) {
                let loc = self.loc_of(&k);
                options.insert(k, self.sourced(v.to_json(), &loc));
            }
        }
        let target_arch = target_arch?;
        Some(MockConfig {
            path: path.to_path_buf(),
            files: self.files.iter().map(|f| f.path.clone()).collect(),
            target_arch,
            releasever,
            dist,
            root,
            package_manager,
            legal_host_arches,
            setup_packages,
            macros,
            repos,
            dnf_main,
            dnf_conf,
            dnf_vars: dnf_vars.into_iter().collect(),
            options,
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    fn legal_host_arches(&mut self, r: &Renderer) -> Option<Sourced<Vec<String>>> {
        if !self.state.opts.contains_key("legal_host_arches") {
            return None;
        }
        let v = self.rendered(r, "legal_host_arches")?;
        let loc = self.loc_of("legal_host_arches");
        let arches = match v {
            Value::Str(s) => vec![s],
            Value::List(items) | Value::Tuple(items) => items.iter().map(Value::py_str).collect(),
            other => {
                self.diag(
                    &loc,
                    format!(
                        "config_opts['legal_host_arches'] must be a tuple of arches, not {}",
                        other.type_name()
                    ),
                    None,
                );
                return None;
            }
        };
        Some(self.sourced(arches, &loc))
    }

    fn macros(&mut self, r: &Renderer) -> BTreeMap<String, Sourced<String>> {
        let mut out = BTreeMap::new();
        let Some(v) = self.rendered(r, "macros") else {
            return out;
        };
        let whole = self.loc_of("macros");
        let Value::Dict(entries) = v else {
            self.diag(
                &whole,
                format!("config_opts['macros'] must be a dict, not {}", v.type_name()),
                None,
            );
            return out;
        };
        for (k, val) in entries {
            let name = k.py_str();
            let loc = self
                .state
                .macro_origins
                .get(&name)
                .cloned()
                .unwrap_or_else(|| whole.clone());
            match val {
                Value::List(_) | Value::Tuple(_) | Value::Dict(_) => {
                    self.diag(
                        &loc,
                        format!(
                            "macro `{name}` must have a string value, not a {}",
                            val.type_name()
                        ),
                        None,
                    );
                }
                other => {
                    out.insert(name, self.sourced(other.py_str(), &loc));
                }
            }
        }
        out
    }

    fn setup_packages(&mut self, r: &Renderer) -> Vec<Sourced<String>> {
        let key = "chroot_setup_cmd";
        let Some(v) = self.rendered(r, key) else {
            return Vec::new();
        };
        let whole = self.loc_of(key);
        // Words with the statement that contributed each.
        let words: Vec<(String, Loc)> = match &v {
            Value::Str(text) => {
                let words = match shell_words(text) {
                    Ok(w) => w,
                    Err(m) => {
                        self.diag(&whole, format!("config_opts['{key}']: {m}"), None);
                        return Vec::new();
                    }
                };
                let attribution = self.attribute(r, key, text);
                words
                    .into_iter()
                    .map(|(w, at)| {
                        let loc = attribution
                            .as_ref()
                            .and_then(|a| a.iter().rev().find(|(start, _)| *start <= at))
                            .map_or_else(|| whole.clone(), |(_, l)| l.clone());
                        (w, loc)
                    })
                    .collect()
            }
            Value::List(items) | Value::Tuple(items) => {
                items.iter().map(|i| (i.py_str(), whole.clone())).collect()
            }
            other => {
                self.diag(
                    &whole,
                    format!(
                        "config_opts['{key}'] must be a string or a tuple, not {}",
                        other.type_name()
                    ),
                    None,
                );
                return Vec::new();
            }
        };
        let mut it = words.into_iter();
        let Some((command, cmd_loc)) = it.next() else {
            return Vec::new();
        };
        let group = match command.as_str() {
            "install" => false,
            "groupinstall" => true,
            other => {
                self.diag(
                    &cmd_loc,
                    format!("config_opts['{key}'] runs `{other}`: only `install` and `groupinstall` set up a buildroot here"),
                    None,
                );
                return Vec::new();
            }
        };
        it.map(|(w, loc)| {
            let name = if group && !w.starts_with('@') {
                format!("@{w}")
            } else {
                w
            };
            self.sourced(name, &loc)
        })
        .collect()
    }

    fn additional_packages(&mut self, r: &Renderer) -> Vec<Sourced<String>> {
        let key = "chroot_additional_packages";
        let Some(v) = self.rendered(r, key) else {
            return Vec::new();
        };
        let loc = self.loc_of(key);
        match v {
            Value::Str(s) => s
                .split_whitespace()
                .map(|p| self.sourced(p.to_owned(), &loc))
                .collect(),
            Value::List(items) | Value::Tuple(items) => {
                items.iter().map(|p| self.sourced(p.py_str(), &loc)).collect()
            }
            Value::None => Vec::new(),
            other => {
                self.diag(
                    &loc,
                    format!(
                        "config_opts['{key}'] must be a list of packages, not {}",
                        other.type_name()
                    ),
                    None,
                );
                Vec::new()
            }
        }
    }

    /// Which statement wrote each part of the rendered string `whole`: start
    /// offsets with the statement, when rendering the pieces one by one gives
    /// the same text as rendering the whole.
    fn attribute(&self, r: &Renderer, key: &str, whole: &str) -> Option<Vec<(usize, Loc)>> {
        let segs = self.state.segments.get(key)?;
        let mut out = Vec::with_capacity(segs.len());
        let mut joined = String::new();
        for seg in segs {
            out.push((joined.len(), seg.stmt_loc.clone()));
            joined.push_str(&r.render_str(&seg.text).ok()?);
        }
        (joined == whole).then_some(out)
    }

    /// The place of the line `needle` of a string option in its source, when
    /// the option was written as literal text.
    fn locate_line(&self, key: &str, needle: &str) -> Option<Loc> {
        let needle = needle.trim();
        for seg in self.state.segments.get(key)? {
            let f = self.files.get(seg.value_loc.file)?;
            let src = f.text.get(seg.value_loc.span.clone())?;
            let mut offset = seg.value_loc.span.start;
            for line in src.split_inclusive('\n') {
                let trimmed = line
                    .trim()
                    .trim_start_matches(['"', '\''])
                    .trim_end_matches(['"', '\'']);
                if trimmed.trim() == needle {
                    let lead = line.len() - line.trim_start().len();
                    let start = offset + lead;
                    return Some(Loc {
                        file: seg.value_loc.file,
                        span: start..start + line.trim().len(),
                    });
                }
                offset += line.len();
            }
        }
        None
    }

    /// dnf's variables for this config: `basearch` (`repo_arch` or the
    /// target arch's base arch), `arch`, `releasever` (with `_major` and
    /// `_minor`), then `dnf_vars`.
    fn dnf_vars(
        &mut self,
        r: &Renderer,
        target_arch: &str,
        releasever: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = Vec::new();
        let repo_arch = match self.rendered(r, "repo_arch") {
            Some(Value::Str(a)) if !a.is_empty() => a,
            _ => basearch(target_arch),
        };
        vars.push(("basearch".to_owned(), repo_arch));
        vars.push(("arch".to_owned(), target_arch.to_owned()));
        if let Some(rv) = releasever {
            vars.push(("releasever".to_owned(), rv.to_owned()));
            let (major, minor) = rv.split_once('.').unwrap_or((rv, ""));
            vars.push(("releasever_major".to_owned(), major.to_owned()));
            vars.push(("releasever_minor".to_owned(), minor.to_owned()));
        }
        if let Some(Value::Dict(entries)) = self.rendered(r, "dnf_vars") {
            for (k, v) in entries {
                let name = k.py_str();
                vars.retain(|(n, _)| *n != name);
                vars.push((name, v.py_str()));
            }
        }

        vars
    }

    fn dnf_conf(&mut self, r: &Renderer, vars: &[(String, String)]) -> DnfConf {
        let key = "dnf.conf";
        let mut repos = Vec::new();
        let mut main = BTreeMap::new();
        let Some(v) = self.rendered(r, key) else {
            return (repos, main, None);
        };
        let whole = self.loc_of(key);
        let Value::Str(text) = v else {
            self.diag(
                &whole,
                format!("config_opts['dnf.conf'] must be a string, not {}", v.type_name()),
                None,
            );
            return (repos, main, None);
        };
        let lines: Vec<&str> = text.lines().collect();
        let at_line = |this: &Self, line: usize| -> Loc {
            lines
                .get(line.saturating_sub(1))
                .and_then(|l| this.locate_line(key, l))
                .unwrap_or_else(|| whole.clone())
        };
        let (sections, errors) = ini::parse(&text);
        for e in errors {
            let loc = at_line(self, e.line);
            self.diag(&loc, format!("dnf.conf: {}", e.message), None);
        }

        let main_gpgcheck = sections
            .iter()
            .find(|s| s.name == "main")
            .and_then(|s| s.get("gpgcheck"))
            .and_then(|e| ini::parse_bool(&e.value))
            .unwrap_or(false);
        for section in &sections {
            if section.name == "main" {
                for e in &section.entries {
                    main.insert(e.key.clone(), e.value.clone());
                }
                continue;
            }
            let header = at_line(self, section.line);
            let id = section.name.clone();
            let mut repo = Repo {
                id: id.clone(),
                name: None,
                baseurl: Vec::new(),
                metalink: None,
                mirrorlist: None,
                enabled: true,
                gpgcheck: main_gpgcheck,
                cost: None,
                priority: None,
                skip_if_unavailable: None,
                options: BTreeMap::new(),
                origin: self.origin(&header),
            };
            let mut seen = BTreeSet::new();
            for e in section.entries.iter().rev() {
                // Later lines win, as dnf reads them.
                if !seen.insert(e.key.clone()) {
                    continue;
                }
                let sub = |s: &str| ini::substitute(s, vars);
                let bad = |this: &mut Self, what: &str| {
                    let loc = at_line(this, e.line);
                    this.diag(
                        &loc,
                        format!("dnf.conf: [{id}] {}={}: not {what}", e.key, e.value),
                        None,
                    );
                };
                match e.key.as_str() {
                    "name" => repo.name = Some(sub(&e.value)),
                    "baseurl" => repo.baseurl = ini::parse_list(&e.value).iter().map(|u| sub(u)).collect(),
                    "metalink" => repo.metalink = Some(sub(&e.value)).filter(|s| !s.is_empty()),
                    "mirrorlist" => repo.mirrorlist = Some(sub(&e.value)).filter(|s| !s.is_empty()),
                    "enabled" | "gpgcheck" | "skip_if_unavailable" => match ini::parse_bool(&e.value) {
                        Some(b) if e.key == "enabled" => repo.enabled = b,
                        Some(b) if e.key == "gpgcheck" => repo.gpgcheck = b,
                        Some(b) => repo.skip_if_unavailable = Some(b),
                        None => bad(self, "a boolean (1/0, yes/no, true/false, on/off)"),
                    },
                    "cost" | "priority" => match e.value.trim().parse::<i64>() {
                        Ok(n) if e.key == "cost" => repo.cost = Some(n),
                        Ok(n) => repo.priority = Some(n),
                        Err(_) => bad(self, "an integer"),
                    },
                    _ => {
                        repo.options.insert(e.key.clone(), e.value.clone());
                    }
                }
            }
            if repo.enabled && repo.baseurl.is_empty() && repo.metalink.is_none() && repo.mirrorlist.is_none()
            {
                self.diag(
                    &header,
                    format!("dnf.conf: enabled repository [{id}] has no baseurl, metalink or mirrorlist"),
                    None,
                );
            }
            repos.push(repo);
        }
        (repos, main, Some(text))
    }
}

/// `shlex.split` with the start offset of each word.
fn shell_words(s: &str) -> Result<Vec<(String, usize)>, String> {
    let mut out = Vec::new();
    let mut cur: Option<(String, usize)> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            '\'' | '"' => {
                let word = cur.get_or_insert_with(|| (String::new(), i));
                let mut closed = false;
                while let Some((_, d)) = chars.next() {
                    if d == c {
                        closed = true;
                        break;
                    }
                    if c == '"'
                        && d == '\\'
                        && let Some((_, e)) = chars.next_if(|(_, e)| matches!(e, '"' | '\\' | '$' | '`'))
                    {
                        word.0.push(e);
                        continue;
                    }
                    word.0.push(d);
                }
                if !closed {
                    return Err("unclosed quotation".to_owned());
                }
            }
            '\\' => {
                let word = cur.get_or_insert_with(|| (String::new(), i));
                if let Some((_, d)) = chars.next() {
                    word.0.push(d);
                }
            }
            c => cur.get_or_insert_with(|| (String::new(), i)).0.push(c),
        }
    }
    if let Some(w) = cur.take() {
        out.push(w);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_like_shlex() {
        let w = shell_words(" install a 'b c' \"d\\\"e\" @g").expect("ok");
        let words: Vec<&str> = w.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(words, ["install", "a", "b c", "d\"e", "@g"]);
        assert_eq!(w[1].1, 9);
        assert!(shell_words("a 'b").is_err());
    }

    #[test]
    fn paths_normalize_lexically() {
        assert_eq!(normalize(Path::new("/a/b/./../c")), PathBuf::from("/a/c"));
    }

    #[test]
    fn python_addition() {
        assert_eq!(
            py_add(
                &Value::List(vec![Value::Int(1)]),
                &Value::Tuple(vec![Value::Int(2)])
            )
            .expect("list+tuple"),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert!(py_add(&Value::Str("a".into()), &Value::Int(1)).is_err());
        assert!(py_add(&Value::Tuple(vec![]), &Value::List(vec![])).is_err());
    }
}

#[cfg(test)]
mod roundtrip {
    use proptest::prelude::*;

    use super::*;

    /// Run `src` as the only file of a load, without the file system.
    fn run(src: &str) -> (State, Vec<String>) {
        let mut l = Loader {
            confine: None,
            files: Vec::new(),
            stack: Vec::new(),
            diags: Vec::new(),
            warnings: Vec::new(),
            state: State::with_mock_defaults(),
        };
        l.run_file(PathBuf::from("t.cfg"), PathBuf::from("/t.cfg"), src.to_owned());
        let diags = l.diags.iter().map(MockDiagnostic::short).collect();
        (l.state, diags)
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::None),
            any::<bool>().prop_map(Value::Bool),
            // i64::MIN has no literal (its magnitude overflows before the `-`).
            (i64::MIN + 1..=i64::MAX).prop_map(Value::Int),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Float),
            any::<String>().prop_map(Value::Str),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Tuple),
                prop::collection::vec((any::<String>().prop_map(Value::Str), inner), 0..4).prop_map(|kv| {
                    let mut d = Vec::new();
                    for (k, v) in kv {
                        Value::dict_set(&mut d, k, v);
                    }
                    Value::Dict(d)
                }),
            ]
        })
    }

    proptest! {
        /// What Python's `repr()` writes, the reader reads back unchanged.
        #[test]
        fn repr_reads_back(v in value()) {
            let src = format!("config_opts['x'] = {}\n", v.py_repr());
            let (state, diags) = run(&src);
            prop_assert!(diags.is_empty(), "{src}: {diags:?}");
            let got = state.opts.get("x").expect("assigned");
            prop_assert_eq!(got, &v);
        }

        /// Any text at all: diagnostics, never a panic; every diagnostic
        /// inside the file.
        #[test]
        fn arbitrary_text_never_panics(src in "(config_opts|\\[|\\]|'|\"|\\\\|\n| |=|\\+=|\\(|\\)|\\{|\\}|,|:|#|include|import|if|\\.|[a-z0-9]|\r|\t|é){0,60}") {
            let (_, diags) = run(&src);
            for d in diags {
                prop_assert!(d.starts_with("t.cfg:"), "{d}");
            }
        }

        #[test]
        fn arbitrary_ini_never_panics(text in "(\\[|\\]|=|\n| |\t|#|;|[a-z]|\\$|\\{|\\}){0,80}") {
            let (sections, errors) = ini::parse(&text);
            let lines = text.lines().count();
            prop_assert!(errors.iter().all(|e| e.line >= 1 && e.line <= lines));
            prop_assert!(sections.iter().all(|s| s.line >= 1 && s.line <= lines));
            let _ = ini::substitute(&text, &[("a".to_owned(), "b".to_owned())]);
        }
    }
}
