//! Producers of [`SpecFacts`]: the [`FactsSource`] trait, and the `rpmspec`
//! producer with its content-addressed cache.
//!
//! The rpmspec producer writes the rendered component (spec and sidecar
//! files, so `%{load:%{_sourcedir}/<name>.azl.macros}` works) into a
//! temporary directory and asks rpm twice per architecture: once for the
//! source header (`--srpm`: name, EVR, arch, ExclusiveArch/ExcludeArch and
//! the BuildRequires exactly as `rpmspec -q --buildrequires` prints them)
//! and once for the binary headers (each package's name, arch, Provides and
//! Requires exactly as `--provides`/`--requires` print them). Its results
//! are cached under `<cache>/<hh>/<key>.json`, keyed by the SHA-256 of the
//! rpmspec version, the macro inputs, the arch, the spec bytes and the
//! files the spec may read while it is parsed (`*.macros`, and sidecar
//! files named on a `%include` or `%{load:…}` line).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use azldev_buildroot::arch::Arch;
use azldev_buildroot::base::{BaseRoot, BuildrootError};
use azldev_spec::facts::{Dep, PackageFacts, SpecFacts};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::run::{RunError, run};

/// A rendered component as the graph sees it: its name and files (the
/// spec is `<name>.spec`). Paths are relative and `/`-separated. Make a new
/// one rather than editing `files` after it has been used (its digest is
/// computed once).
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    pub name: String,
    pub files: BTreeMap<String, Vec<u8>>,
    /// The digest of what rpm reads while parsing (computed once).
    digest: std::sync::OnceLock<[u8; 32]>,
}

impl SpecInput {
    #[must_use]
    pub fn new(name: impl Into<String>, files: BTreeMap<String, Vec<u8>>) -> SpecInput {
        SpecInput {
            name: name.into(),
            files,
            digest: std::sync::OnceLock::new(),
        }
    }

    /// SHA-256 of the name, the spec and the files rpm may read while
    /// parsing it (see the module docs).
    #[must_use]
    pub fn parse_digest(&self) -> [u8; 32] {
        *self.digest.get_or_init(|| {
            let mut h = Sha256::new();
            let mut field = |b: &[u8]| {
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            };
            field(self.name.as_bytes());
            let spec = self.spec().unwrap_or_default();
            field(spec);
            let refs = ParseRefs::of(spec);
            let spec_path = self.spec_path();
            for (p, b) in &self.files {
                let base = p.rsplit('/').next().unwrap_or(p);
                if *p != spec_path && refs.reads(base) {
                    field(p.as_bytes());
                    field(b);
                }
            }
            h.finalize().into()
        })
    }

    #[must_use]
    pub fn spec_path(&self) -> String {
        format!("{}.spec", self.name)
    }

    #[must_use]
    pub fn spec(&self) -> Option<&[u8]> {
        self.files.get(&self.spec_path()).map(Vec::as_slice)
    }

    /// Read a component directory: the spec plus the files it may read
    /// while being parsed (see the module docs), which is all the rpmspec
    /// producer needs. Used for trees on disk (the corpus bench).
    ///
    /// # Errors
    /// The spec cannot be read.
    pub fn from_dir(name: &str, dir: &Path) -> std::io::Result<SpecInput> {
        let spec_name = format!("{name}.spec");
        let spec = std::fs::read(dir.join(&spec_name))?;
        let refs = ParseRefs::of(&spec);
        let mut files = BTreeMap::new();
        for e in std::fs::read_dir(dir)?.flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            if f != spec_name && refs.reads(&f) && e.file_type().is_ok_and(|t| t.is_file()) {
                files.insert(f, std::fs::read(e.path())?);
            }
        }
        files.insert(spec_name, spec);
        Ok(SpecInput::new(name, files))
    }
}

/// The spec's `%include` and `%{load:…}` lines: a sidecar file may be read
/// while rpm parses the spec when it is a macro file or named on one.
pub(crate) struct ParseRefs(Vec<String>);

impl ParseRefs {
    pub(crate) fn of(spec: &[u8]) -> ParseRefs {
        let mut lines: Vec<String> = Vec::new();
        for needle in [&b"%include"[..], b"load:"] {
            for at in memchr::memmem::find_iter(spec, needle) {
                let start = memchr::memrchr(b'\n', &spec[..at]).map_or(0, |i| i + 1);
                let end = memchr::memchr(b'\n', &spec[at..]).map_or(spec.len(), |i| at + i);
                lines.push(String::from_utf8_lossy(&spec[start..end]).into_owned());
            }
        }
        ParseRefs(lines)
    }

    pub(crate) fn reads(&self, file: &str) -> bool {
        file.ends_with(".macros") || self.0.iter().any(|l| l.contains(file))
    }
}

/// Why facts could not be produced for a component.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    #[error("{component}: no spec `{component}.spec` in the rendered tree")]
    NoSpec { component: String },
    #[error("{component} ({arch}): rpmspec: {source}")]
    Rpmspec {
        component: String,
        arch: Arch,
        #[source]
        source: RunError,
    },
    #[error("{component} ({arch}): rpmspec printed no package")]
    Empty { component: String, arch: Arch },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    /// The producer cannot evaluate this spec (the macro evaluator on a
    /// `%(shell)` or an unknown Lua API): [`Fallback`] asks the next one.
    #[error("{component} ({arch}): cannot evaluate: {reason}")]
    Unsupported {
        component: String,
        arch: Arch,
        reason: String,
    },
}

impl FactsError {
    /// The component (or, for I/O errors, the path) concerned.
    #[must_use]
    pub fn component(&self) -> String {
        match self {
            FactsError::NoSpec { component }
            | FactsError::Rpmspec { component, .. }
            | FactsError::Empty { component, .. }
            | FactsError::Unsupported { component, .. } => component.clone(),
            FactsError::Io { path, .. } => path.display().to_string(),
        }
    }
}

/// Something that turns a rendered spec into [`SpecFacts`] for one
/// architecture. The macro evaluator in `azldev-spec` will be one; the
/// [`RpmspecSource`] is the other (and the evaluator's fallback).
pub trait FactsSource: Sync {
    /// The facts of `input` for `arch`.
    ///
    /// # Errors
    /// The spec cannot be evaluated.
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError>;

    /// Write what the producer learnt to its cache (a no-op by default).
    /// Called after a batch of [`FactsSource::facts`] calls.
    ///
    /// # Errors
    /// The cache cannot be written.
    fn flush(&self) -> Result<(), FactsError> {
        Ok(())
    }
}

impl<T: FactsSource + ?Sized> FactsSource for Box<T> {
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        (**self).facts(input, arch)
    }

    fn flush(&self) -> Result<(), FactsError> {
        (**self).flush()
    }
}

/// Ask `primary`; when it answers [`FactsError::Unsupported`], ask
/// `fallback` (the evaluator first, rpmspec for what it cannot evaluate).
#[derive(Debug)]
pub struct Fallback<A, B> {
    pub primary: A,
    pub fallback: B,
}

impl<A: FactsSource, B: FactsSource> FactsSource for Fallback<A, B> {
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        match self.primary.facts(input, arch) {
            Err(FactsError::Unsupported { .. }) => self.fallback.facts(input, arch),
            other => other,
        }
    }

    fn flush(&self) -> Result<(), FactsError> {
        self.primary.flush()?;
        self.fallback.flush()
    }
}

/// Macro inputs handed to rpm beside the spec: macro files (the base
/// root's, the distro version's) and single definitions. Part of the cache
/// key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacroInputs {
    /// `(file name, bytes)`, loaded in order with `--load`.
    pub files: Vec<(String, Vec<u8>)>,
    /// `--define "name value"`, in order.
    pub defines: Vec<(String, String)>,
}

/// Where rpmspec runs.
#[derive(Debug, Clone)]
pub enum RpmspecPlace {
    /// On the host, through a program (`["rpmspec"]`): what is used when
    /// no base root exists yet.
    Host(Vec<OsString>),
    /// In the base roots (read-only, isolated: see
    /// `azldev_buildroot::layer::run_in_base`): the root of the arch asked
    /// for (a foreign arch under qemu-user), else the first one with
    /// `--target` — with each root's own rpm and macro files.
    Roots(Vec<BaseRoot>),
}

/// The `rpmspec` producer.
#[derive(Debug, Clone)]
pub struct RpmspecSource {
    /// The command that runs rpmspec on the host (`["rpmspec"]`); unused
    /// when it runs in base roots.
    pub program: Vec<OsString>,
    /// Where it runs (part of the cache key: the base root's key).
    pub place: RpmspecPlace,
    pub macros: MacroInputs,
    /// Where results are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    pub timeout: Duration,
    /// `rpmspec --version`, part of the cache key.
    version: String,
    /// Specs asked (from the cache or not) and rpmspec runs (pairs of
    /// queries) made, for reports; shared by clones.
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    runs: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Where a spec's facts are asked inside the bubblewrap of a base root:
/// the scratch directory is bound under the root's fresh `/tmp`.
const IN_ROOT: &str = "/tmp/azldev-facts";

/// The cache format version; bump when the stored form or the queries change.
const CACHE_FORMAT: &str = "azldev-build facts 2";

/// The source header query: name, EVR, arch, ExclusiveArch/ExcludeArch and
/// BuildRequires (`--buildrequires` is this header's REQUIRENEVRS).
const SRPM_QF: &str = "@N %{name}\n@V %|epoch?{%{epoch}:}:{}|%{version}-%{release}\n@A %{arch}\n\
[@X %{exclusivearch}\n][@Y %{excludearch}\n][@B %{requirenevrs}\n]";
/// The binary headers: `--provides` is PROVIDENEVRS, `--requires` REQUIRENEVRS.
const RPM_QF: &str = "@P %{name} %{arch}\n[@p %{providenevrs}\n][@r %{requirenevrs}\n]";

impl RpmspecSource {
    /// rpmspec on the host (`rpmspec` from `PATH`).
    ///
    /// # Errors
    /// `rpmspec --version` cannot be run.
    pub fn host(cache_dir: Option<PathBuf>, macros: MacroInputs) -> Result<Self, RunError> {
        Self::with_program(vec!["rpmspec".into()], cache_dir, macros)
    }

    /// rpmspec run through `program` (its last element is rpmspec itself).
    ///
    /// # Errors
    /// `<program> --version` cannot be run.
    pub fn with_program(
        program: Vec<OsString>,
        cache_dir: Option<PathBuf>,
        macros: MacroInputs,
    ) -> Result<Self, RunError> {
        let mut s = RpmspecSource {
            place: RpmspecPlace::Host(program.clone()),
            program,
            macros,
            cache_dir,
            timeout: Duration::from_secs(120),
            version: String::new(),
            asked: std::sync::Arc::default(),
            runs: std::sync::Arc::default(),
        };
        let mut cmd = s.base_command();
        cmd.arg("--version");
        let out = run(cmd, s.timeout)?;
        s.version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(s)
    }

    /// rpmspec inside base roots (see [`RpmspecPlace::Roots`]); with no
    /// root, on the host as [`RpmspecSource::host`]. A root's identity (its
    /// key: repositories' metadata, packages, macros) stands for its
    /// rpmspec version in the cache key.
    ///
    /// # Errors
    /// No root, and the host's `rpmspec --version` cannot be run.
    pub fn in_roots(
        roots: Vec<BaseRoot>,
        cache_dir: Option<PathBuf>,
        macros: MacroInputs,
    ) -> Result<Self, RunError> {
        if roots.is_empty() {
            return Self::host(cache_dir, macros);
        }
        Ok(RpmspecSource {
            program: vec!["rpmspec".into()],
            place: RpmspecPlace::Roots(roots),
            macros,
            cache_dir,
            timeout: Duration::from_secs(300),
            version: String::new(),
            asked: std::sync::Arc::default(),
            runs: std::sync::Arc::default(),
        })
    }

    /// How many specs rpmspec was run for (not answered from the cache).
    #[must_use]
    pub fn runs(&self) -> usize {
        self.runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many specs were asked (answered from the cache or by a run).
    #[must_use]
    pub fn asked(&self) -> usize {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The base root rpmspec runs in for `arch`, if any.
    #[must_use]
    pub fn root_for(&self, arch: Arch) -> Option<&BaseRoot> {
        match &self.place {
            RpmspecPlace::Host(_) => None,
            RpmspecPlace::Roots(roots) => roots.iter().find(|r| r.arch == arch).or_else(|| roots.first()),
        }
    }

    /// Where rpmspec runs for `arch`, in words (for plan notes).
    #[must_use]
    pub fn describe(&self, arch: Arch) -> String {
        match self.root_for(arch) {
            None => "on the host (no base root exists yet)".to_owned(),
            Some(r) if r.arch == arch => format!("in the {} base root {}", r.arch, r.key),
            Some(r) => format!(
                "in the {} base root {} with --target {}",
                r.arch,
                r.key,
                arch.rpm()
            ),
        }
    }

    fn base_command(&self) -> Command {
        let (first, rest) = self
            .program
            .split_first()
            .map_or_else(|| (OsString::from("rpmspec"), &[][..]), |(f, r)| (f.clone(), r));
        let mut cmd = Command::new(first);
        cmd.args(rest);
        // rpm reads the environment's locale for some messages only; keep
        // output stable.
        cmd.env("LC_ALL", "C.UTF-8");
        cmd
    }

    /// The one place an rpmspec query is built (its arguments): `dir`
    /// holds the rendered files (it is `_sourcedir`/`_specdir`), `work` is
    /// scratch space (`_topdir`, `_dbpath`, macro files) — paths as rpmspec
    /// sees them.
    fn query_args(&self, dir: &Path, work: &Path, spec: &str, arch: Arch, srpm: bool) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut def = |name: &str, value: &Path| {
            let mut d = OsString::from(format!("{name} "));
            d.push(value.as_os_str());
            args.push("--define".into());
            args.push(d);
        };
        def("_topdir", work);
        def("_dbpath", &work.join("rpmdb"));
        def("_sourcedir", dir);
        def("_specdir", dir);
        args.push("--target".into());
        args.push(arch.rpm().into());
        for (i, _) in self.macros.files.iter().enumerate() {
            args.push("--load".into());
            args.push(work.join(format!("macros.{i}")).into());
        }
        for (k, v) in &self.macros.defines {
            args.push("--define".into());
            args.push(format!("{k} {v}").into());
        }
        args.push("-q".into());
        if srpm {
            args.extend(["--srpm".into(), "--qf".into(), SRPM_QF.into()]);
        } else {
            args.extend(["--qf".into(), RPM_QF.into()]);
        }
        args.push(dir.join(spec).into());
        args
    }

    /// Runs one query: on the host, or in the base root for `arch` with
    /// `scratch` (holding `src/` and `work/`) bound at [`IN_ROOT`].
    fn run_query(&self, scratch: &Path, spec: &str, arch: Arch, srpm: bool) -> Result<Vec<u8>, RunError> {
        let Some(root) = self.root_for(arch) else {
            let mut cmd = self.base_command();
            cmd.args(self.query_args(&scratch.join("src"), &scratch.join("work"), spec, arch, srpm));
            return run(cmd, self.timeout).map(|o| o.stdout);
        };
        let inside = Path::new(IN_ROOT);
        let mut argv = vec!["rpmspec".to_owned()];
        argv.extend(
            self.query_args(&inside.join("src"), &inside.join("work"), spec, arch, srpm)
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        let opts = azldev_buildroot::layer::RunOptions {
            binds: vec![azldev_buildroot::layer::Bind {
                host: scratch.to_owned(),
                inside: IN_ROOT.to_owned(),
                writable: true,
            }],
            env: vec![("LC_ALL".into(), "C.UTF-8".into())],
            timeout: Some(self.timeout),
            ..Default::default()
        };
        azldev_buildroot::layer::run_in_base(root, &argv, &opts)
            .map(|o| o.stdout)
            .map_err(|e| match e {
                BuildrootError::Run(r) => match *r {
                    azldev_buildroot::run::RunError::Failed { status, tail, .. } => RunError::Failed {
                        program: "rpmspec".into(),
                        status: format!("{status}, in the {} base root {}", root.arch, root.key),
                        tail,
                    },
                    azldev_buildroot::run::RunError::Timeout { timeout, .. } => RunError::Timeout {
                        program: "rpmspec".into(),
                        seconds: timeout.as_secs(),
                    },
                    other => RunError::Spawn {
                        program: "rpmspec".into(),
                        message: other.to_string(),
                    },
                },
                other => RunError::Spawn {
                    program: "rpmspec".into(),
                    message: format!("in the {} base root {}: {other}", root.arch, root.key),
                },
            })
    }

    /// The cache key of `input` for `arch`.
    #[must_use]
    pub fn key(&self, input: &SpecInput, arch: Arch) -> String {
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(CACHE_FORMAT.as_bytes());
        field(self.version.as_bytes());
        // Where it runs: the base root's identity (its key covers the
        // repositories' metadata, so rpm's version and macro files).
        if let Some(r) = self.root_for(arch) {
            field(format!("base root {} {}", r.arch, r.key).as_bytes());
        }
        for (n, b) in &self.macros.files {
            field(n.as_bytes());
            field(b);
        }
        for (k, v) in &self.macros.defines {
            field(k.as_bytes());
            field(v.as_bytes());
        }
        field(arch.rpm().as_bytes());
        field(&input.parse_digest());
        let d = h.finalize();
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn cache_path(&self, key: &str) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|d| d.join(&key[..2]).join(format!("{key}.json")))
    }

    /// The cached answer for `input` on `arch`, if any: its facts, or the
    /// error rpmspec gave for exactly these inputs.
    #[must_use]
    pub fn cached(&self, input: &SpecInput, arch: Arch) -> Option<Result<SpecFacts, FactsError>> {
        self.lookup(&self.key(input, arch), input, arch)
    }

    fn lookup(&self, key: &str, input: &SpecInput, arch: Arch) -> Option<Result<SpecFacts, FactsError>> {
        let path = self.cache_path(key)?;
        let bytes = std::fs::read(path).ok()?;
        Some(match serde_json::from_slice::<Cached>(&bytes).ok()? {
            Cached::Facts(f) => Ok(f.into()),
            Cached::Failed { status, tail } => Err(FactsError::Rpmspec {
                component: input.name.clone(),
                arch,
                source: RunError::Failed {
                    program: self.program_name(),
                    status,
                    tail,
                },
            }),
        })
    }

    fn program_name(&self) -> String {
        self.program
            .last()
            .map_or_else(|| "rpmspec".to_owned(), |p| p.to_string_lossy().into_owned())
    }

    fn store(&self, key: &str, answer: &Cached) -> Result<(), FactsError> {
        let Some(path) = self.cache_path(key) else {
            return Ok(());
        };
        let io = |e: std::io::Error, p: &Path| FactsError::Io {
            path: p.to_owned(),
            message: e.to_string(),
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        let bytes = serde_json::to_vec(answer).map_err(|e| FactsError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io(e, dir))?;
        std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| io(e, &path))?;
        tmp.persist(&path).map_err(|e| io(e.error, &path))?;
        Ok(())
    }

    /// Run rpmspec (no cache).
    ///
    /// # Errors
    /// See [`FactsError`].
    pub fn query(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        let spec = input.spec().ok_or_else(|| FactsError::NoSpec {
            component: input.name.clone(),
        })?;
        let io = |e: std::io::Error, p: &Path| FactsError::Io {
            path: p.to_owned(),
            message: e.to_string(),
        };
        let tmp = tempfile::Builder::new()
            .prefix("azldev-facts-")
            .tempdir()
            .map_err(|e| io(e, &std::env::temp_dir()))?;
        let dir = tmp.path().join("src");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&work).map_err(|e| io(e, &work))?;
        for (p, b) in &input.files {
            let path = dir.join(p);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(e, parent))?;
            }
            std::fs::write(&path, b).map_err(|e| io(e, &path))?;
        }
        for (i, (_, b)) in self.macros.files.iter().enumerate() {
            let path = work.join(format!("macros.{i}"));
            std::fs::write(&path, b).map_err(|e| io(e, &path))?;
        }
        let fail = |source| FactsError::Rpmspec {
            component: input.name.clone(),
            arch,
            source,
        };
        let spec_path = input.spec_path();
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let src = self.run_query(tmp.path(), &spec_path, arch, true).map_err(fail)?;
        let bin = self
            .run_query(tmp.path(), &spec_path, arch, false)
            .map_err(fail)?;
        let mut facts = parse_output(&src, &bin, arch);
        if facts.name.is_empty() && facts.packages.is_empty() {
            return Err(FactsError::Empty {
                component: input.name.clone(),
                arch,
            });
        }
        annotate(&mut facts, spec);
        Ok(facts)
    }
}

impl FactsSource for RpmspecSource {
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = self.key(input, arch);
        if let Some(answer) = self.lookup(&key, input, arch) {
            return answer;
        }
        match self.query(input, arch) {
            Ok(facts) => {
                self.store(&key, &Cached::Facts(Stored::from(&facts)))?;
                Ok(facts)
            }
            // rpmspec refused these inputs: the same inputs give the same
            // answer, so it is cached too (a timeout or a program that
            // cannot start is not).
            Err(FactsError::Rpmspec {
                component,
                arch,
                source:
                    RunError::Failed {
                        program,
                        status,
                        tail,
                    },
            }) => {
                self.store(
                    &key,
                    &Cached::Failed {
                        status: status.clone(),
                        tail: tail.clone(),
                    },
                )?;
                Err(FactsError::Rpmspec {
                    component,
                    arch,
                    source: RunError::Failed {
                        program,
                        status,
                        tail,
                    },
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// Parse the two queries' output (see [`SRPM_QF`] and [`RPM_QF`]).
#[must_use]
pub fn parse_output(srpm: &[u8], rpms: &[u8], arch: Arch) -> SpecFacts {
    let mut f = SpecFacts::default();
    let mut src_arch = String::new();
    for line in String::from_utf8_lossy(srpm).lines() {
        let Some((tag, v)) = line.split_at_checked(3) else {
            continue;
        };
        match tag {
            "@N " => f.name = v.to_owned(),
            "@V " => f.evr = v.to_owned(),
            "@A " => src_arch = v.to_owned(),
            "@X " => f.exclusive_arch.push(v.to_owned()),
            "@Y " => f.exclude_arch.push(v.to_owned()),
            "@B " => f.buildrequires.push(Dep {
                text: v.to_owned(),
                line: None,
            }),
            _ => {}
        }
    }
    if !src_arch.is_empty() && src_arch != arch.rpm() {
        f.buildarch = Some(src_arch.clone());
    }
    let main_arch = f.buildarch.clone().unwrap_or_else(|| arch.rpm().to_owned());
    for line in String::from_utf8_lossy(rpms).lines() {
        let Some((tag, v)) = line.split_at_checked(3) else {
            continue;
        };
        match tag {
            "@P " => {
                let (name, parch) = v.rsplit_once(' ').unwrap_or((v, ""));
                f.packages.push(PackageFacts {
                    name: name.to_owned(),
                    buildarch: (!parch.is_empty() && parch != main_arch).then(|| parch.to_owned()),
                    provides: Vec::new(),
                    requires: Vec::new(),
                });
            }
            "@p " => {
                if let Some(p) = f.packages.last_mut() {
                    p.provides.push(v.to_owned());
                }
            }
            "@r " => {
                if let Some(p) = f.packages.last_mut() {
                    p.requires.push(v.to_owned());
                }
            }
            _ => {}
        }
    }
    f
}

/// What rpmspec cannot say, from the spec text: whether it has
/// `%generate_buildrequires`, and the line each BuildRequires was written
/// on (matched by the dependency's first name, after expanding the spec's
/// own plain macros; the first BuildRequires line naming it wins).
fn annotate(facts: &mut SpecFacts, spec_bytes: &[u8]) {
    let spec = azldev_spec::Spec::parse(spec_bytes);
    facts.dynamic_buildrequires = spec
        .sections()
        .iter()
        .any(|s| s.kind == azldev_spec::SectionKind::GenerateBuildrequires);
    let mut lines: BTreeMap<String, u32> = BTreeMap::new();
    for t in spec.tags() {
        if t.key != "buildrequires" {
            continue;
        }
        let (line, _) = spec.line_col(t.name.start);
        let value = spec.expand(&spec.text(t.value.clone())).text;
        for word in value.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')') {
            if word.is_empty() || word.starts_with(['<', '>', '=']) {
                continue;
            }
            lines
                .entry(word.to_owned())
                .or_insert(u32::try_from(line).unwrap_or(u32::MAX));
        }
    }
    for d in &mut facts.buildrequires {
        let first = d
            .text
            .trim_start_matches('(')
            .split(|c: char| c.is_whitespace() || c == ')')
            .next()
            .unwrap_or_default();
        // `perl(Foo)` is written whole; try the name with its parentheses
        // first, then up to the first `(`.
        let whole = d
            .text
            .trim_start_matches('(')
            .split_whitespace()
            .next()
            .unwrap_or_default();
        d.line = lines
            .get(whole)
            .or_else(|| lines.get(first))
            .or_else(|| lines.get(whole.split('(').next().unwrap_or_default()))
            .copied();
    }
}

/// A cached answer.
#[derive(Serialize, Deserialize)]
enum Cached {
    Facts(Stored),
    Failed { status: String, tail: String },
}

/// The cached form of [`SpecFacts`] (which is the cross-crate contract and
/// only serialises).
#[derive(Serialize, Deserialize)]
pub(crate) struct Stored {
    name: String,
    evr: String,
    buildrequires: Vec<(String, Option<u32>)>,
    dynamic: bool,
    packages: Vec<StoredPkg>,
    buildarch: Option<String>,
    exclusive_arch: Vec<String>,
    exclude_arch: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredPkg {
    name: String,
    buildarch: Option<String>,
    provides: Vec<String>,
    requires: Vec<String>,
}

impl From<&SpecFacts> for Stored {
    fn from(f: &SpecFacts) -> Self {
        Stored {
            name: f.name.clone(),
            evr: f.evr.clone(),
            buildrequires: f.buildrequires.iter().map(|d| (d.text.clone(), d.line)).collect(),
            dynamic: f.dynamic_buildrequires,
            packages: f
                .packages
                .iter()
                .map(|p| StoredPkg {
                    name: p.name.clone(),
                    buildarch: p.buildarch.clone(),
                    provides: p.provides.clone(),
                    requires: p.requires.clone(),
                })
                .collect(),
            buildarch: f.buildarch.clone(),
            exclusive_arch: f.exclusive_arch.clone(),
            exclude_arch: f.exclude_arch.clone(),
        }
    }
}

impl From<Stored> for SpecFacts {
    fn from(s: Stored) -> Self {
        SpecFacts {
            name: s.name,
            evr: s.evr,
            buildrequires: s
                .buildrequires
                .into_iter()
                .map(|(text, line)| Dep { text, line })
                .collect(),
            dynamic_buildrequires: s.dynamic,
            packages: s
                .packages
                .into_iter()
                .map(|p| PackageFacts {
                    name: p.name,
                    buildarch: p.buildarch,
                    provides: p.provides,
                    requires: p.requires,
                })
                .collect(),
            buildarch: s.buildarch,
            exclusive_arch: s.exclusive_arch,
            exclude_arch: s.exclude_arch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_output() {
        let srpm = b"@N kvstore\n@V 1:0.4-3\n@A x86_64\n@X x86_64\n@X aarch64\n@B gcc\n@B (a or b)\n";
        let rpms = b"@P kvstore x86_64\n@p kvstore = 1:0.4-3\n@r libkvstore(x86-64) = 1:0.4-3\n\
@P kvstore-doc noarch\n@p kvstore-doc = 1:0.4-3\n";
        let f = parse_output(srpm, rpms, Arch::X86_64);
        assert_eq!(f.name, "kvstore");
        assert_eq!(f.evr, "1:0.4-3");
        assert_eq!(f.buildarch, None);
        assert_eq!(f.exclusive_arch, ["x86_64", "aarch64"]);
        assert_eq!(f.buildrequires.len(), 2);
        assert_eq!(f.packages.len(), 2);
        assert_eq!(f.packages[0].requires, ["libkvstore(x86-64) = 1:0.4-3"]);
        assert_eq!(f.packages[1].buildarch.as_deref(), Some("noarch"));
        let n = parse_output(b"@N x\n@V 1-1\n@A noarch\n", b"@P x noarch\n", Arch::Aarch64);
        assert_eq!(n.buildarch.as_deref(), Some("noarch"));
        assert_eq!(n.packages[0].buildarch, None);
    }

    #[test]
    fn annotates_lines_and_dynamic() {
        let spec = b"Name: x\nVersion: 1\n%global dev libfoo-devel\nBuildRequires: gcc, %{dev} >= 2\nBuildRequires: perl(Foo::Bar)\n\n%generate_buildrequires\necho\n";
        let mut f = SpecFacts {
            buildrequires: [
                "gcc",
                "libfoo-devel >= 2",
                "perl(Foo::Bar)",
                "(libfoo-devel or z)",
                "zz",
            ]
            .iter()
            .map(|t| Dep {
                text: (*t).to_owned(),
                line: None,
            })
            .collect(),
            ..SpecFacts::default()
        };
        annotate(&mut f, spec);
        let lines: Vec<Option<u32>> = f.buildrequires.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(4), Some(4), Some(5), Some(4), None]);
        assert!(f.dynamic_buildrequires);
    }

    fn root(arch: Arch, key: &str) -> BaseRoot {
        let spec = azldev_buildroot::base::BaseSpec {
            arch,
            releasever: "1.0".into(),
            packages: vec!["rpm-build".into()],
            repos: Vec::new(),
            macros: BTreeMap::new(),
            dnf_main: BTreeMap::new(),
        };
        BaseRoot {
            key: key.into(),
            arch,
            dir: PathBuf::from(format!("/nonexistent/{arch}-{key}")),
            meta: azldev_buildroot::base::BaseMeta {
                key: key.into(),
                arch,
                spec,
                installed: Vec::new(),
                size_bytes: 0,
                created: 0,
                create_seconds: 0.0,
            },
        }
    }

    #[test]
    fn base_roots_are_chosen_per_arch_and_keyed() {
        let input = SpecInput::new(
            "x",
            BTreeMap::from([("x.spec".to_owned(), b"Name: x\n".to_vec())]),
        );
        let both = RpmspecSource::in_roots(
            vec![root(Arch::X86_64, "aaa"), root(Arch::Aarch64, "bbb")],
            None,
            MacroInputs::default(),
        )
        .expect("no program is run");
        assert_eq!(both.root_for(Arch::Aarch64).map(|r| r.key.as_str()), Some("bbb"));
        assert_eq!(both.describe(Arch::Aarch64), "in the aarch64 base root bbb");
        let x86 = RpmspecSource::in_roots(vec![root(Arch::X86_64, "aaa")], None, MacroInputs::default())
            .expect("no program is run");
        // Only another arch's root: that one, with --target.
        assert_eq!(
            x86.describe(Arch::Aarch64),
            "in the x86_64 base root aaa with --target aarch64"
        );
        let other = RpmspecSource::in_roots(vec![root(Arch::X86_64, "ccc")], None, MacroInputs::default())
            .expect("no program is run");
        // The key covers the root's identity and the arch.
        assert_eq!(both.key(&input, Arch::X86_64), x86.key(&input, Arch::X86_64));
        assert_ne!(x86.key(&input, Arch::X86_64), other.key(&input, Arch::X86_64));
        assert_ne!(both.key(&input, Arch::Aarch64), x86.key(&input, Arch::Aarch64));
        assert_ne!(x86.key(&input, Arch::X86_64), x86.key(&input, Arch::Aarch64));
        assert_eq!(x86.runs(), 0);
    }

    #[test]
    fn parse_time_files() {
        let spec =
            b"%{load:%{_sourcedir}/x.azl.macros}\n%include %{SOURCE1}\n%include common.inc\nSource1: a.txt\n";
        let refs = ParseRefs::of(spec);
        assert!(refs.reads("x.azl.macros"));
        assert!(refs.reads("common.inc"));
        assert!(!refs.reads("a.txt"));
    }
}
