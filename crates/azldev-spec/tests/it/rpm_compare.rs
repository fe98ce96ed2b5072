//! What our tree sees against what rpm itself sees, on real specs.
//!
//! For a deterministic sample of the azl4 corpus (every `STRIDE`-th spec in
//! sorted order, plus every spec with a rare kind of section header;
//! `AZLDEV_RPM_COMPARE_STRIDE=1` runs the whole corpus,
//! `AZLDEV_RPM_COMPARE_VERBOSE=1` lists the skipped specs) this runs Debian's
//! `rpmspec` twice per spec, with a private, empty home, database and build
//! tree:
//! - `rpmspec -q --qf '%{name}\n'`: the binary packages rpm declares;
//! - `rpmspec --parse`: the spec after conditionals and macros, where section
//!   headers are the lines starting with `%keyword` in column 1.
//!
//! Specs rpm cannot parse with Debian's macros are skipped (and counted; at
//! least `MIN_COMPARED` must remain). For the others we compare exactly what
//! is decidable without evaluating conditionals or distro macros:
//! - (a) every package rpm reports is one of ours (by resolved full name);
//! - (b) every package we resolve whose every `%package` lies outside any
//!   conditional is one rpm reports;
//! - (c) the multisets of (section kind, package): ours outside any
//!   conditional ⊆ rpm's, and rpm's ⊆ ours in all branches; every
//!   package-scoped section outside any conditional belongs to a package we
//!   know.
//!
//! (a), the second half of (c) and the last check are skipped where our
//! tree cannot know what rpm generates: a package name we cannot resolve,
//! an opaque macro line where tags are expected (`%gometa`,
//! `%{?python_provide:…}`), `%include`, or a macro whose text holds section
//! headers (`%define gen() \` ⏎ `%package -n gen-%1`, `%{lua: print("%package
//! …")}`). Two further rules follow rpm 4.18 itself: `%preuntrans` and
//! `%postuntrans` (rpm 4.19) are no sections to it, and its `--parse` output
//! drops the header that ends a `%prep` section.
//!
//! `pinned_cases_match_rpm` runs the same comparison on small specs for each
//! parser rule it found wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use azldev_spec::{LineKind, SectionKind, Spec};
use memchr::memchr_iter;
use rayon::prelude::*;

/// Every `STRIDE`-th spec of the sorted corpus (762 of 7,611, and about 160
/// with rare headers).
const DEFAULT_STRIDE: usize = 10;
/// The test must have compared at least this many specs, so that it cannot
/// pass by skipping everything.
const MIN_COMPARED: usize = 150;
/// One `rpmspec` run that takes longer than this is killed and the spec
/// skipped.
const RPM_TIMEOUT: Duration = Duration::from_secs(30);
/// Mismatches listed per file in the failure report.
const MAX_LINES_PER_FILE: usize = 12;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azl4/specs")
}

fn spec_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            spec_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "spec") {
            out.push(path);
        }
    }
}

/// Section kinds Debian's rpm 4.18 does not know (added in 4.19): to it they
/// are body lines of the section before, so they cannot be compared.
fn known_to_rpm(kind: SectionKind) -> bool {
    !matches!(kind, SectionKind::Preuntrans | SectionKind::Postuntrans)
}

/// Whether a spec has a section header of a rare form that a sample by
/// stride would mostly miss: a keyword spelled with capitals
/// (`%Description devel`), a TAB after the keyword, or a trigger.
fn has_rare_header(file: &Path) -> bool {
    let src = std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
    src.split(|&b| b == b'\n').any(|line| {
        let Some(rest) = line.strip_prefix(b"%") else {
            return false;
        };
        let word_len = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        let word = &rest[..word_len];
        SectionKind::from_keyword(&word.to_ascii_lowercase()).is_some_and(|k| {
            word.iter().any(u8::is_ascii_uppercase) || rest.get(word_len) == Some(&b'\t') || k.is_trigger()
        })
    })
}

/// What rpm saw.
struct RpmView {
    packages: Vec<String>,
    sections: BTreeMap<(&'static str, String), usize>,
}

/// The result of comparing one spec.
struct Comparison {
    mismatches: Vec<String>,
    /// The spec has constructs only rpm can expand, so only our certain
    /// structure was checked against rpm's, not the reverse.
    opaque: bool,
    /// Packages and (section, package) pairs checked.
    checks: usize,
}

enum Outcome {
    Compared(Comparison),
    Skipped(String),
}

/// Runs `rpmspec` with a private, empty home, database and build tree under
/// a scratch directory (removed on drop), so it never reads `~/.rpmmacros`
/// or touches a real rpm database.
struct Rpm {
    root: PathBuf,
    home: PathBuf,
    db: PathBuf,
}

impl Drop for Rpm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Rpm {
    /// Check that rpm runs, and set up the scratch directory
    /// `<tmp>/azldev-rpm-compare-<pid>-<label>`.
    fn new(label: &str) -> Rpm {
        let rpm_ok = Command::new("rpmspec")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            rpm_ok,
            "`rpmspec` is not installed or does not run (apt-get install rpm)"
        );
        let root = std::env::temp_dir().join(format!("azldev-rpm-compare-{}-{label}", std::process::id()));
        let home = root.join("home");
        let db = root.join("db");
        for d in [&home, &db] {
            std::fs::create_dir_all(d).expect("create private rpm dirs");
        }
        Rpm { root, home, db }
    }

    /// Run `rpmspec ARGS FILE` privately. `Err` carries rpm's complaint.
    fn run(&self, file: &Path, args: &[&str], scratch: &Path) -> Result<String, String> {
        let out = scratch.with_extension("out");
        let err = scratch.with_extension("err");
        let sourcedir = file.parent().expect("spec in a directory");
        let mut child = Command::new("rpmspec")
            .env("HOME", &self.home)
            .env("LC_ALL", "C")
            .current_dir(&self.home)
            .arg("--dbpath")
            .arg(&self.db)
            .arg("--define")
            .arg(format!("_sourcedir {}", sourcedir.display()))
            .arg("--define")
            .arg(format!("_topdir {}", self.home.join("rpmbuild").display()))
            .args(args)
            .arg(file)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("scratch file"))
            .stderr(std::fs::File::create(&err).expect("scratch file"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run rpmspec (install rpm): {e}"));
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for rpmspec") {
                break Some(status);
            }
            if start.elapsed() > RPM_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let stdout = String::from_utf8_lossy(&std::fs::read(&out).unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&std::fs::read(&err).unwrap_or_default()).into_owned();
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&err);
        match status {
            Some(s) if s.success() => Ok(stdout),
            Some(_) => Err(stderr
                .lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("rpmspec failed")
                .to_owned()),
            None => Err(format!("rpmspec timed out after {RPM_TIMEOUT:?}")),
        }
    }

    fn view(&self, file: &Path, scratch: &Path) -> Result<RpmView, String> {
        let q = self.run(file, &["-q", "--qf", "%{name}\\n"], scratch)?;
        let packages: Vec<String> = q.lines().map(str::to_owned).collect();
        let main = packages.first().ok_or("rpm reports no package")?.clone();
        let parsed = self.run(file, &["--parse"], scratch)?;
        let mut sections = BTreeMap::new();
        for line in parsed.lines() {
            if let Some((kind, pkg)) = rpm_header(line, &main) {
                *sections.entry((kind.keyword(), pkg)).or_default() += 1;
            }
        }
        Ok(RpmView { packages, sections })
    }
}

/// A section header in rpm's expanded output, with its package as rpm
/// names it (`-n NAME`, else `<main>-SUFFIX`, else the main package); the
/// empty string for sections that belong to no package.
///
/// This follows rpm's option tables, not our header parser, so that a bug
/// there shows up as a mismatch.
fn rpm_header(line: &str, main: &str) -> Option<(SectionKind, String)> {
    let rest = line.strip_prefix('%')?;
    let word_len = rest.find(|c: char| c.is_ascii_whitespace()).unwrap_or(rest.len());
    // rpm matches section keywords case-insensitively (`%Description`).
    let word = rest[..word_len].to_ascii_lowercase();
    let kind = SectionKind::from_keyword(word.as_bytes()).filter(|&k| known_to_rpm(k))?;
    if !kind.is_package_scoped() {
        return Some((kind, String::new()));
    }
    let mut args = &rest[word_len..];
    if kind.is_trigger() {
        // rpm cuts trigger headers at the first `--`, wherever it is.
        args = args.find("--").map_or(args, |p| &args[..p]);
    }
    // Options that take a value (popt: `-n NAME` or `-nNAME`).
    let with_value: &[u8] = match kind {
        SectionKind::Package | SectionKind::Sepolicy => b"n",
        SectionKind::Description => b"nl",
        SectionKind::Files => b"nf",
        _ => b"npfP",
    };
    let mut tokens = args.split_ascii_whitespace();
    let (mut name, mut positional) = (None, None);
    while let Some(t) = tokens.next() {
        let b = t.as_bytes();
        if b.len() >= 2 && b[0] == b'-' {
            if with_value.contains(&b[1]) {
                let value = if b.len() > 2 { Some(&t[2..]) } else { tokens.next() };
                if b[1] == b'n' {
                    name = value;
                }
            }
        } else if positional.is_none() {
            positional = Some(t);
        }
    }
    let pkg = match (name, positional) {
        (Some(n), _) => n.to_owned(),
        (None, Some(p)) => format!("{main}-{p}"),
        (None, None) => main.to_owned(),
    };
    Some((kind, pkg))
}

/// Whether `text` mentions a section keyword as a macro (`%package`,
/// `%%files`, `"%description -n " .. name`). In a macro body or a macro
/// call that spans lines (`%{lua: … print("%package …") … }`) such text is
/// what generates sections and packages when rpm expands it, wherever it is
/// called — none of which our tree can see.
fn mentions_section(text: &[u8]) -> bool {
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    memchr_iter(b'%', text).any(|i| {
        let rest = &text[i + 1..];
        let word_len = rest.iter().take_while(|b| ident(b)).count();
        SectionKind::from_keyword(&rest[..word_len]).is_some()
    })
}

/// Where rpm may generate sections and packages our tree cannot see: the
/// bodies of the spec's own macros, and expansions that span lines.
fn may_generate_sections(spec: &Spec) -> bool {
    let in_defs = spec
        .macro_defs()
        .iter()
        .any(|d| mentions_section(spec.bytes(d.body.clone())));
    let in_calls = spec.lines().iter().any(|l| {
        let text = spec.bytes(l.start..l.content_end);
        let multi = l.phys_count > 1 || memchr::memmem::find(text, b"%{lua:").is_some();
        let first_end = memchr::memchr(b'\n', text).unwrap_or(text.len());
        multi
            && !matches!(l.kind, LineKind::MacroDef(_))
            && match l.kind {
                LineKind::SectionHeader | LineKind::Conditional { .. } => {
                    mentions_section(&text[first_end..])
                }
                _ => mentions_section(text),
            }
    });
    in_defs || in_calls
}

/// Compare one spec with what rpm saw.
fn compare(spec: &Spec, rpm: &RpmView) -> Comparison {
    let mut out = Vec::new();
    let mut checks = 0;
    let pkgs = spec.packages();
    let resolved: BTreeSet<&str> = pkgs
        .iter()
        .filter(|p| p.resolved)
        .map(|p| p.name.as_str())
        .collect();
    let any_unresolved = pkgs.iter().any(|p| !p.resolved);
    // Lines whose expansion only rpm knows and that may generate packages
    // and sections: opaque macro lines where tags are expected, `%include`,
    // and macros whose text holds section headers. (A non-tag text line
    // where tags are expected is no such construct: rpm rejects it, so in a
    // spec rpm accepts it can only be in a branch rpm skips.)
    let opaque = spec.lines().iter().any(|l| match l.kind {
        LineKind::MacroCall => spec.sections()[l.section].kind.holds_tags(),
        LineKind::Include => true,
        _ => false,
    }) || may_generate_sections(spec);
    let rpm_pkgs: BTreeSet<&str> = rpm.packages.iter().map(String::as_str).collect();

    // (a) rpm's packages are ours.
    if !opaque && !any_unresolved {
        for p in &rpm.packages {
            checks += 1;
            if !resolved.contains(p.as_str()) {
                out.push(format!(
                    "rpm declares package `{p}`, we do not (ours: {resolved:?})"
                ));
            }
        }
    }
    // (b) our unconditional packages are rpm's.
    let certain = |id: usize| {
        let p = &pkgs[id];
        p.resolved
            && (p.main
                || p.declared_by
                    .iter()
                    .all(|&s| spec.ctx_depth(spec.sections()[s].ctx) == 0))
    };
    for (id, p) in pkgs.iter().enumerate() {
        checks += usize::from(certain(id));
        if certain(id) && !rpm_pkgs.contains(p.name.as_str()) {
            out.push(format!(
                "we declare package `{}` outside any conditional, rpm does not (rpm: {:?})",
                p.name, rpm.packages
            ));
        }
    }

    // (c) sections.
    let mut ours_all: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut ours_certain: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    let mut unknown_pkg_sections = false;
    for (i, sec) in spec.sections().iter().enumerate().skip(1) {
        if !known_to_rpm(sec.kind) {
            continue;
        }
        let (pkg, pkg_resolved) = if sec.kind.is_package_scoped() {
            match sec.package {
                Some(id) => (pkgs[id].name.clone(), pkgs[id].resolved),
                None => {
                    // rpm accepted the spec, so every section it reads
                    // belongs to a declared package; with every name known
                    // to us, one we cannot tie to a `%package` is our error.
                    if !opaque && !any_unresolved && spec.ctx_depth(sec.ctx) == 0 {
                        out.push(format!(
                            "we tie `{}` to no declared package, rpm accepts it",
                            spec.section_title(i)
                        ));
                    }
                    unknown_pkg_sections = true;
                    continue;
                }
            }
        } else {
            (String::new(), true)
        };
        if !pkg_resolved {
            continue;
        }
        let key = (sec.kind.keyword(), pkg);
        if spec.ctx_depth(sec.ctx) == 0 {
            *ours_certain.entry(key.clone()).or_default() += 1;
        }
        *ours_all.entry(key).or_default() += 1;
    }
    // rpm 4.18's `--parse` drops the header that ends a `%prep` section
    // (its body lines follow `%prep`'s). When that header is unconditional
    // to us we know which one it is; otherwise any one may be missing.
    let mut lost_unknown = rpm.sections.get(&("prep", String::new())).copied().unwrap_or(0);
    let secs = spec.sections();
    for (i, sec) in secs.iter().enumerate().skip(1) {
        let Some(next) = secs.get(i + 1) else { continue };
        if sec.kind != SectionKind::Prep || spec.ctx_depth(sec.ctx) != 0 || spec.ctx_depth(next.ctx) != 0 {
            continue;
        }
        let pkg = match next.package {
            Some(id) if next.kind.is_package_scoped() => pkgs[id].name.clone(),
            _ => String::new(),
        };
        if let Some(n) = ours_certain.get_mut(&(next.kind.keyword(), pkg))
            && *n > 0
            && lost_unknown > 0
        {
            *n -= 1;
            lost_unknown -= 1;
        }
    }
    let (mut missing, mut deficit) = (Vec::new(), 0);
    for (key, &n) in &ours_certain {
        checks += usize::from(n > 0);
        let theirs = rpm.sections.get(key).copied().unwrap_or(0);
        if theirs < n {
            deficit += n - theirs;
            missing.push(format!(
                "we see %{} for `{}` {n}x outside any conditional, rpm {theirs}x",
                key.0, key.1
            ));
        }
    }
    if deficit > lost_unknown {
        out.extend(missing);
    }
    if !opaque {
        for (key, &n) in &rpm.sections {
            let ours = ours_all.get(key).copied().unwrap_or(0);
            // A section for a package we cannot name may be one of ours.
            let undecidable = !key.1.is_empty()
                && !resolved.contains(key.1.as_str())
                && (any_unresolved || unknown_pkg_sections);
            checks += usize::from(!undecidable);
            if ours < n && !undecidable {
                out.push(format!(
                    "rpm sees %{} for `{}` {n}x, we see it {ours}x (in all branches)",
                    key.0, key.1
                ));
            }
        }
    }
    Comparison {
        mismatches: out,
        opaque,
        checks,
    }
}

#[test]
fn sections_and_packages_match_rpm() {
    let dir = corpus_dir();
    assert!(
        dir.is_dir(),
        "the spec corpus is missing: expected {} (the shared corpus next to the workspace)",
        dir.display()
    );
    let rpm = Rpm::new("corpus");
    let stride: usize = std::env::var("AZLDEV_RPM_COMPARE_STRIDE")
        .ok()
        .map_or(DEFAULT_STRIDE, |s| {
            s.parse().expect("AZLDEV_RPM_COMPARE_STRIDE is a number")
        })
        .max(1);
    let mut files = Vec::new();
    spec_files(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no *.spec files under {}", dir.display());
    let sample: Vec<&PathBuf> = files
        .iter()
        .enumerate()
        .filter(|(i, f)| i % stride == 0 || has_rare_header(f))
        .map(|(_, f)| f)
        .collect();

    let start = Instant::now();
    let results: Vec<(&PathBuf, Outcome)> = sample
        .par_iter()
        .enumerate()
        .map(|(i, &file)| {
            let src = std::fs::read(file).unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
            let spec = Spec::parse(src.as_slice());
            assert!(
                spec.reconstruct() == src,
                "{} does not round-trip",
                file.display()
            );
            let scratch = rpm.root.join(format!("run{i}"));
            let outcome = match rpm.view(file, &scratch) {
                Ok(view) => Outcome::Compared(compare(&spec, &view)),
                Err(why) => Outcome::Skipped(why),
            };
            (file, outcome)
        })
        .collect();

    let mut report = String::new();
    let (mut compared, mut one_way, mut checks, mut bad) = (0, 0, 0, 0);
    let mut skipped = 0;
    for (file, outcome) in &results {
        match outcome {
            Outcome::Compared(c) => {
                compared += 1;
                one_way += usize::from(c.opaque);
                checks += c.checks;
                let m = &c.mismatches;
                if !m.is_empty() {
                    bad += 1;
                    let rel = file.strip_prefix(&dir).unwrap_or(file);
                    let _ = writeln!(report, "{}:", rel.display());
                    for line in m.iter().take(MAX_LINES_PER_FILE) {
                        let _ = writeln!(report, "  {line}");
                    }
                    if m.len() > MAX_LINES_PER_FILE {
                        let _ = writeln!(report, "  … and {} more", m.len() - MAX_LINES_PER_FILE);
                    }
                }
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                if std::env::var_os("AZLDEV_RPM_COMPARE_VERBOSE").is_some() {
                    eprintln!("skipped {}: {why}", file.display());
                }
            }
        }
    }
    eprintln!(
        "rpm comparison: {} sampled (every {stride}th of {}); {compared} compared ({one_way} of them only \
         one way: rpm expands constructs we cannot see), {checks} packages and sections checked; \
         {skipped} skipped (rpm cannot parse them with Debian's macros); {bad} with mismatches; {:.1?}",
        sample.len(),
        files.len(),
        start.elapsed()
    );
    assert!(
        report.is_empty(),
        "our tree and rpm disagree on {bad} of {compared} specs:\n{report}"
    );
    // A smaller sample (a larger stride) needs proportionally fewer.
    let required = MIN_COMPARED.min(sample.len() / 2);
    assert!(
        compared >= required,
        "only {compared} specs could be compared with rpm (need {required}); is rpm working?"
    );
}

/// A direct check of our tree for a pinned case.
type Check = dyn Fn(&Spec);

/// Name and resolution of package `i`.
fn pkg(spec: &Spec, i: usize) -> (String, bool) {
    (spec.packages()[i].name.clone(), spec.packages()[i].resolved)
}

/// The package of the first `%post`.
fn post_owner(spec: &Spec) -> Option<String> {
    let s = spec.sections().iter().find(|s| s.kind == SectionKind::Post)?;
    Some(spec.packages()[s.package?].name.clone())
}

/// The preamble every pinned case starts with.
const HEAD: &str = "Name: foo\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n";

/// Small specs for the rules the corpus comparison found or depends on, each
/// checked against rpm the same way and against the tree directly.
#[test]
fn pinned_cases_match_rpm() {
    let rpm = Rpm::new("pinned");
    let cases: &[(&str, String, &Check)] = &[
        (
            // libburn: a `%global` only inside a conditional may not be
            // defined at all (rpm: `bar`, not `bar1`).
            "conditional-definition",
            format!(
                "{HEAD}%if 0%{{?rhel}}\n%global variant 1\n%endif\n%description\nd\n\
                 %package -n bar%{{?variant}}\nSummary: b\n%description -n bar%{{?variant}}\nb\n\
                 %files -n bar%{{?variant}}\n"
            ),
            &|spec| assert_eq!(pkg(spec, 1), ("bar%{variant}".into(), false)),
        ),
        (
            "unconditional-definition",
            format!(
                "{HEAD}%global variant 1\n%if 0%{{?rhel}}\n%global variant 1\n%endif\n%description\nd\n\
                 %package -n bar%{{?variant}}\nSummary: b\n%description -n bar%{{?variant}}\nb\n"
            ),
            &|spec| assert_eq!(pkg(spec, 1), ("bar1".into(), true)),
        ),
        (
            // rpm's scriptlet options: `-f FILE` takes a value.
            "scriptlet-file-option",
            format!(
                "{HEAD}%description\nd\n%package devel\nSummary: x\n%description devel\nx\n\
                 %post -f script.sh devel\n%post -p /sbin/ldconfig\n"
            ),
            &|spec| assert_eq!(post_owner(spec).as_deref(), Some("foo-devel")),
        ),
        (
            "case-and-tabs",
            format!(
                "{HEAD}%Description\nd\n%Package\tdevel\nSummary: x\n%DESCRIPTION devel\nx\n%Files\tdevel\n"
            ),
            &|spec| assert_eq!(pkg(spec, 1), ("foo-devel".into(), true)),
        ),
        (
            "triggers",
            format!(
                "{HEAD}%description\nd\n%package -n bar\nSummary: b\n%description -n bar\nb\n\
                 %triggerin -n bar -- baz >= 1\ntrue\n%triggerun -- baz\ntrue\n%trigger -- qux\n"
            ),
            &|spec| assert_eq!(spec.sections().iter().filter(|s| s.kind.is_trigger()).count(), 3),
        ),
        (
            // Packages a macro of the spec generates: rpm sees them, we
            // cannot (hard case 3), and the comparison must know.
            "generated-packages",
            format!(
                "{HEAD}%description\nd\n%define gen() \\\n%package -n gen-%1\\\nSummary: g\\\n\
                 %description -n gen-%1\\\ng\\\n%{{nil}}\n%gen a\n%gen b\n%prep\n%build\n%files\n"
            ),
            &|spec| assert_eq!(spec.packages().len(), 1),
        ),
    ];
    let mut report = String::new();
    for (i, (name, text, _)) in cases.iter().enumerate() {
        let file = rpm.root.join(format!("{name}.spec"));
        std::fs::write(&file, text).expect("write pinned spec");
        let spec = Spec::parse(text.as_str());
        let view = rpm
            .view(&file, &rpm.root.join(format!("run{i}")))
            .unwrap_or_else(|e| panic!("rpm rejects pinned case {name}: {e}"));
        for m in compare(&spec, &view).mismatches {
            let _ = writeln!(report, "{name}: {m}");
        }
    }
    assert!(report.is_empty(), "pinned cases disagree with rpm:\n{report}");
    for (_, text, check) in cases {
        check(&Spec::parse(text.as_str()));
    }
}
