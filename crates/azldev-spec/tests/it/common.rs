//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use azldev_spec::Spec;

/// `<workspace>/../shared/corpus`.
pub fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// The azl4 spec directory. Panics (the test fails loudly) when it is
/// missing: CI has it, and a silently skipped corpus test proves nothing.
pub fn azl4_specs() -> PathBuf {
    let dir = corpus_root().join("azl4/specs");
    assert!(
        dir.is_dir(),
        "the spec corpus is missing: expected it at {} (the tests read the real azl4 specs from \
         <workspace>/../shared/corpus)",
        dir.display()
    );
    dir
}

/// Path of one corpus spec by package name (`<l>/<name>/<name>.spec`).
pub fn corpus_spec_path(name: &str) -> PathBuf {
    let first = name.chars().next().expect("a non-empty spec name");
    azl4_specs()
        .join(first.to_string())
        .join(name)
        .join(format!("{name}.spec"))
}

/// Read one corpus spec by package name.
pub fn corpus_spec(name: &str) -> Vec<u8> {
    let p = corpus_spec_path(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read corpus spec {}: {e}", p.display()))
}

/// Every `*.spec` under the azl4 corpus, sorted, as paths relative to the
/// spec directory (`a/acl/acl.spec`) and absolute paths.
pub fn all_corpus_specs() -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "spec") {
                out.push(path);
            }
        }
    }
    let root = azl4_specs();
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("walked below the root")
                .to_string_lossy()
                .into_owned();
            (rel, p)
        })
        .collect()
}

/// Parse and assert the round trip; every test goes through this.
pub fn parse(src: &str) -> Spec {
    parse_bytes(src.as_bytes())
}

pub fn parse_bytes(src: &[u8]) -> Spec {
    let spec = Spec::parse(src);
    assert_eq!(spec.as_bytes(), src, "as_bytes differs from the input");
    assert_eq!(
        spec.reconstruct(),
        src,
        "the logical lines do not reproduce the input"
    );
    spec
}

/// The source as a string (tests only edit UTF-8 text).
pub fn text(spec: &Spec) -> &str {
    std::str::from_utf8(spec.as_bytes()).expect("edited spec is UTF-8")
}

/// Codes of the error diagnostics.
pub fn error_codes(spec: &Spec) -> Vec<&'static str> {
    spec.diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

/// Codes of all diagnostics.
pub fn codes(spec: &Spec) -> Vec<&'static str> {
    spec.diagnostics().iter().map(|d| d.code).collect()
}

/// Section titles (header lines) in file order, the preamble first.
pub fn section_titles(spec: &Spec) -> Vec<String> {
    (0..spec.sections().len())
        .map(|s| spec.section_title(s).into_owned())
        .collect()
}

/// Package names in declaration order, the main package first.
pub fn package_names(spec: &Spec) -> Vec<&str> {
    spec.packages().iter().map(|p| p.name.as_str()).collect()
}

/// Name of the package a section belongs to.
pub fn section_package(spec: &Spec, s: usize) -> Option<&str> {
    spec.sections()[s].package.map(|p| spec.package_name(p))
}

/// Text of every logical line of a kind matching `pred`.
pub fn lines_where(spec: &Spec, pred: impl Fn(&azldev_spec::LineKind) -> bool) -> Vec<String> {
    spec.lines()
        .iter()
        .filter(|l| pred(&l.kind))
        .map(|l| spec.text(l.start..l.content_end).into_owned())
        .collect()
}

/// `(tag name as written, value)` for every tag of a package.
pub fn tags_of(spec: &Spec, package: usize) -> Vec<(String, String)> {
    spec.package_tags(package)
        .map(|t| (spec.tag_name(t).into_owned(), spec.tag_value(t).into_owned()))
        .collect()
}
