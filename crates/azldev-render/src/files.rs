//! Which upstream files go into the rendered directory.
//!
//! The spec and its `sources` file always; sidecar files that a Source or
//! Patch refers to (after expanding the spec's own macros, honouring `#/name`
//! URL hints); never dist-git plumbing (`.git*`) or the tarballs `sources`
//! lists. When a reference cannot be resolved, every file is kept — a
//! rendered directory must never lack a file the build might need — and a
//! note says why.

use std::collections::BTreeSet;

use azldev_overlay::{ComponentTree, FileMode, TreeFile};
use azldev_source::{Entry, EntryMode};
use azldev_spec::Spec;

/// The chosen files and notes for `--verbose`.
#[derive(Debug, Default)]
pub struct Selection {
    pub tree: ComponentTree,
    pub notes: Vec<String>,
}

fn is_git_plumbing(path: &str) -> bool {
    path.split('/').any(|c| c.starts_with(".git"))
}

/// Build the component tree from upstream files. `spec_name` is the
/// upstream spec's file name; it is renamed to `<component>.spec`.
pub fn select(
    component: &str,
    spec_name: &str,
    entries: Vec<Entry>,
    keep_all: bool,
) -> Result<Selection, String> {
    let mut spec_entry = None;
    let mut others = Vec::new();
    for e in entries {
        if e.path == spec_name {
            spec_entry = Some(e);
        } else {
            others.push(e);
        }
    }
    let spec_entry = match spec_entry {
        Some(s) => s,
        None => {
            // A single top-level spec of another name is still the spec.
            let specs: Vec<usize> = others
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.path.contains('/') && e.path.ends_with(".spec"))
                .map(|(i, _)| i)
                .collect();
            match specs.as_slice() {
                [one] => others.remove(*one),
                [] => return Err(format!("no `{spec_name}` upstream")),
                _ => return Err(format!("no `{spec_name}` upstream, and several other specs")),
            }
        }
    };
    let lookaside: BTreeSet<String> = others
        .iter()
        .find(|e| e.path == "sources")
        .and_then(|e| azldev_source::parse_sources(&String::from_utf8_lossy(&e.data)).ok())
        .map(|v| v.into_iter().map(|l| l.filename).collect())
        .unwrap_or_default();
    let dropped = |e: &Entry| {
        let base = e.path.rsplit('/').next().unwrap_or(&e.path);
        is_git_plumbing(&e.path) || lookaside.contains(base) && e.path != "sources"
    };
    // Only a sidecar file needs the spec's references; most components
    // have none, and then the spec is not parsed at all.
    let candidates = others.iter().any(|e| e.path != "sources" && !dropped(e));
    let mut notes = Vec::new();
    let mut referenced = BTreeSet::new();
    let mut keep_everything = keep_all;
    if candidates && !keep_all {
        let spec = Spec::parse(spec_entry.data.as_slice());
        let mut unresolved = Vec::new();
        for s in spec.sources() {
            let name = spec.source_file_name(s);
            if name.contains('%') {
                unresolved.push(format!("{}{}", s.kind.tag_name(), s.number));
            } else {
                referenced.insert(name);
            }
        }
        if !unresolved.is_empty() {
            keep_everything = true;
            notes.push(format!(
                "kept every upstream file: cannot resolve the file name of {}",
                unresolved.join(", ")
            ));
        }
    }
    let mut tree = ComponentTree::new(component);
    tree.files.insert(
        tree.spec_path(),
        TreeFile {
            data: spec_entry.data,
            mode: FileMode::Regular,
        },
    );
    for e in others {
        if dropped(&e) {
            continue;
        }
        let keep = e.path == "sources" || keep_everything || referenced.contains(&e.path);
        if !keep {
            continue;
        }
        let mode = match e.mode {
            EntryMode::Regular => FileMode::Regular,
            EntryMode::Executable => FileMode::Executable,
            EntryMode::Symlink => FileMode::Symlink,
        };
        tree.files.insert(e.path, TreeFile { data: e.data, mode });
    }
    Ok(Selection { tree, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, data: &str) -> Entry {
        Entry {
            path: path.into(),
            mode: EntryMode::Regular,
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn keeps_referenced_files_only() {
        let spec = "Name: foo\nVersion: 1\nSource0: https://x/%{name}-%{version}.tar.gz\nSource1: foo.service\nSource2: https://x/get?f=1#/renamed.conf\nPatch: fix.patch\n";
        let entries = vec![
            entry("foo.spec", spec),
            entry("sources", "SHA512 (foo-1.tar.gz) = ab\n"),
            entry("foo-1.tar.gz", "tarball"),
            entry("foo.service", "s"),
            entry("renamed.conf", "c"),
            entry("fix.patch", "p"),
            entry("unused.patch", "u"),
            entry(".gitignore", "g"),
            entry("tests/tests.yml", "t"),
        ];
        let sel = select("bar", "foo.spec", entries, false).expect("selects");
        let names: Vec<&str> = sel.tree.files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["bar.spec", "fix.patch", "foo.service", "renamed.conf", "sources"]
        );
        assert!(sel.notes.is_empty());
    }

    #[test]
    fn unresolved_reference_keeps_everything() {
        let spec = "Name: foo\nSource1: %{lua: print('x')}.conf\n";
        let entries = vec![
            entry("foo.spec", spec),
            entry("a.conf", "a"),
            entry(".gitignore", "g"),
        ];
        let sel = select("foo", "foo.spec", entries, false).expect("selects");
        assert!(sel.tree.files.contains_key("a.conf"));
        assert!(!sel.tree.files.contains_key(".gitignore"));
        assert_eq!(sel.notes.len(), 1);
        assert!(sel.notes[0].contains("Source1"));
    }

    #[test]
    fn missing_spec() {
        assert!(
            select(
                "foo",
                "foo.spec",
                vec![entry("a.spec", "x"), entry("b.spec", "y")],
                false
            )
            .is_err()
        );
        let sel =
            select("foo", "foo.spec", vec![entry("other.spec", "Name: o\n")], false).expect("single spec");
        assert!(sel.tree.files.contains_key("foo.spec"));
    }
}
