//! What render refuses to publish because rpm would refuse it: structural
//! errors of the spec (an unterminated `%if`, an `%else` or `%endif`
//! without its `%if`, two `Source0` or two `Patch3`, a macro left open) and
//! a Source or Patch whose file exists nowhere — not in the rendered
//! directory, not in `sources` (the lookaside), and not a URL.
//!
//! No guessing: a Source or Patch inside a conditional (rpm may never take
//! that branch) or whose file name needs a macro the spec does not define
//! is not checked; `%patch` lines naming an undefined patch are left to
//! rpm's `%prep` (rpmspec parses such specs, and real ones exist).

use std::collections::BTreeSet;

use azldev_overlay::ComponentTree;
use azldev_spec::{SourceKind, Spec};

/// Diagnostic codes of the spec parser that rpm refuses when it parses.
const REFUSED: &[&str] = &[
    "cond-unbalanced",
    "cond-after-else",
    "duplicate-source",
    "duplicate-patch",
    "unclosed-macro",
];

/// One refusal: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// One-based line and column in the spec checked.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Structural errors of a spec that rpm refuses to parse, in file order.
pub fn structural(spec: &Spec) -> Vec<Refusal> {
    spec.diagnostics()
        .iter()
        .filter(|d| d.is_error() && REFUSED.contains(&d.code))
        .map(|d| {
            let (line, column) = spec.line_col(d.span.start);
            Refusal {
                line,
                column,
                message: d.message.clone(),
            }
        })
        .collect()
}

/// The Sources and Patches of the tree's spec whose file is nowhere: not
/// in the tree, not listed in its `sources` file or in `known` (the
/// component's `source-files`), and not a URL.
pub fn missing_files(tree: &ComponentTree, spec: &Spec, known: &BTreeSet<String>) -> Vec<Refusal> {
    let mut lookaside: BTreeSet<String> = tree
        .files
        .get("sources")
        .and_then(|f| azldev_source::parse_sources(&String::from_utf8_lossy(&f.data)).ok())
        .map(|v| v.into_iter().map(|l| l.filename).collect())
        .unwrap_or_default();
    lookaside.extend(known.iter().cloned());
    let mut out = Vec::new();
    for e in spec.sources() {
        if spec.lines()[e.line].ctx != 0 {
            continue;
        }
        let raw = spec.text(e.value.clone());
        let expanded = spec.expand(&raw);
        if !expanded.resolved || expanded.text.contains('%') || expanded.text.contains("://") {
            continue;
        }
        let name = spec.source_file_name(e);
        if name.is_empty() || tree.files.contains_key(&name) || lookaside.contains(&name) {
            continue;
        }
        let (line, column) = spec.line_col(e.value.start);
        let what = match e.kind {
            SourceKind::Source => "Source",
            SourceKind::Patch => "Patch",
        };
        out.push(Refusal {
            line,
            column,
            message: format!(
                "{what}{} `{name}` exists nowhere: not in the component's directory, not in `sources`, and not a URL",
                e.number
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use azldev_overlay::{FileMode, TreeFile};

    fn tree(files: &[(&str, &str)]) -> ComponentTree {
        let mut t = ComponentTree::new("foo");
        for (p, d) in files {
            t.files.insert(
                (*p).to_owned(),
                TreeFile {
                    data: d.as_bytes().to_vec(),
                    mode: FileMode::Regular,
                },
            );
        }
        t
    }

    #[test]
    fn unterminated_if_and_duplicates_are_refused_with_their_position() {
        let spec = Spec::parse(
            "Name: foo\nSource0: a.tar.gz\nSource0: b.tar.gz\nPatch0: x.patch\nPatch0: y.patch\n%if 0%{?fedora}\nBuildRequires: x\n"
                .as_bytes(),
        );
        let got = structural(&spec);
        let mut lines: Vec<usize> = got.iter().map(|r| r.line).collect();
        lines.sort_unstable();
        // The second Source0, the second Patch0, the `%if` never closed.
        assert_eq!(lines, [3, 5, 6], "{got:?}");
        assert!(got.iter().all(|r| r.column == 1), "{got:?}");
    }

    #[test]
    fn missing_files_but_not_urls_lookaside_or_conditionals() {
        let text = "Name: foo\nVersion: 1\nSource0: https://h/%{name}-%{version}.tar.gz\nSource1: foo.conf\nSource2: %{name}-extra.tar.gz\nPatch0: gone.patch\nPatch1: there.patch\n%if 0%{?rhel}\nPatch2: rhel-only.patch\n%endif\nSource3: %{undefined_macro}.txt\n";
        let t = tree(&[
            ("foo.spec", text),
            ("sources", "SHA512 (foo-extra.tar.gz) = ab\n"),
            ("there.patch", "x"),
        ]);
        let spec = Spec::parse(text.as_bytes());
        let got: Vec<(usize, usize, String)> = missing_files(&t, &spec, &BTreeSet::new())
            .into_iter()
            .map(|r| (r.line, r.column, r.message))
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!((got[0].0, got[0].1), (4, 10));
        assert!(
            got[0].2.starts_with("Source1 `foo.conf` exists nowhere"),
            "{got:?}"
        );
        assert_eq!((got[1].0, got[1].1), (6, 9));
        assert!(got[1].2.starts_with("Patch0 `gone.patch`"), "{got:?}");
    }
}
