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

/// Dist-git plumbing (`.git*` anywhere), and azldev's own marker (which
/// only azldev writes).
fn is_git_plumbing(path: &str) -> bool {
    path == crate::output::MARKER || path.split('/').any(|c| c.starts_with(".git"))
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
    // Every upstream file by path, to publish what an in-tree link points at.
    let by_path: std::collections::HashMap<String, (EntryMode, Vec<u8>)> = others
        .iter()
        .map(|e| (e.path.clone(), (e.mode, e.data.clone())))
        .collect();
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
    let spec_data = match spec_entry.mode {
        EntryMode::Symlink => follow_link(&spec_entry.path, &spec_entry.data, &by_path)?.1,
        _ => spec_entry.data,
    };
    let mut tree = ComponentTree::new(component);
    tree.files.insert(
        tree.spec_path(),
        TreeFile {
            data: spec_data,
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
        let (mode, data) = match e.mode {
            EntryMode::Regular => (FileMode::Regular, e.data),
            EntryMode::Executable => (FileMode::Executable, e.data),
            // A link is never published: one inside the directory is
            // replaced by the file it points at; one out of it (or to
            // nothing, or to a directory) is refused.
            EntryMode::Symlink => follow_link(&e.path, &e.data, &by_path)?,
        };
        tree.files.insert(e.path, TreeFile { data, mode });
    }
    Ok(Selection { tree, notes })
}

/// The file a symbolic link at `path` (pointing at `target`) resolves to
/// inside the component directory `files`, following up to 16 links.
fn follow_link(
    path: &str,
    target: &[u8],
    files: &std::collections::HashMap<String, (EntryMode, Vec<u8>)>,
) -> Result<(FileMode, Vec<u8>), String> {
    let refuse = |why: &str| {
        format!(
            "`{path}` is a symbolic link to `{}`, {why}: azldev publishes no links",
            String::from_utf8_lossy(target)
        )
    };
    let mut at = path.to_owned();
    let mut target = target.to_vec();
    for _ in 0..16 {
        let t = String::from_utf8_lossy(&target).into_owned();
        if t.starts_with('/') {
            return Err(refuse("outside the component directory"));
        }
        let mut parts: Vec<&str> = at.split('/').collect();
        parts.pop();
        for c in t.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(refuse("outside the component directory"));
                    }
                }
                c => parts.push(c),
            }
        }
        let resolved = parts.join("/");
        match files.get(&resolved) {
            Some((EntryMode::Regular, data)) => return Ok((FileMode::Regular, data.clone())),
            Some((EntryMode::Executable, data)) => return Ok((FileMode::Executable, data.clone())),
            Some((EntryMode::Symlink, next)) => {
                at = resolved;
                target = next.clone();
            }
            None => return Err(refuse("which names no file of the component directory")),
        }
    }
    Err(refuse("in a chain of too many links"))
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

    #[test]
    fn links_publish_their_content_or_are_refused() {
        let link = |path: &str, target: &str| Entry {
            path: path.into(),
            mode: EntryMode::Symlink,
            data: target.as_bytes().to_vec(),
        };
        let spec = "Name: foo\nSource1: a.conf\nSource2: b.conf\n";
        let base = || vec![entry("foo.spec", spec), entry("real/b.conf", "b")];
        let mut ok = base();
        ok.push(link("a.conf", "real/b.conf"));
        ok.push(link("b.conf", "a.conf"));
        let sel = select("foo", "foo.spec", ok, false).expect("in-tree links");
        assert_eq!(sel.tree.files["a.conf"].data, b"b");
        assert_eq!(sel.tree.files["a.conf"].mode, FileMode::Regular);
        assert_eq!(sel.tree.files["b.conf"].data, b"b");
        for (target, why) in [
            ("/etc/passwd", "outside"),
            ("../../etc/passwd", "outside"),
            ("missing", "names no file"),
            ("real", "names no file"),
            ("a.conf", "too many links"),
        ] {
            let mut bad = base();
            bad.push(link("a.conf", target));
            let err = select("foo", "foo.spec", bad, false).expect_err(target);
            assert!(
                err.contains("`a.conf` is a symbolic link") && err.contains(why),
                "{err}"
            );
        }
        // An unreferenced link is not published, and not an error.
        let mut unused = base();
        unused.push(link("b.conf", "real/b.conf"));
        unused.push(link("other", "/etc/passwd"));
        assert!(select("foo", "foo.spec", unused, false).is_ok());
    }
}
