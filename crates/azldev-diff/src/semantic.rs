//! What a change did, in the spec's own terms, where that is cheap and
//! exact: tags changed (`Release: 3 → 4`), sub-packages added or removed,
//! patches added or removed, `%check` disabled, build macros changed. Read
//! from the two rendered specs with `azldev-spec`; values are compared as
//! written (no macro expansion beyond the spec's own plain macros in names).

use std::collections::{BTreeMap, BTreeSet};

use azldev_overlay::ComponentTree;
use azldev_spec::{SectionKind, SourceKind, Spec, TagFamily};

/// At most this many notes per component; the rest are counted.
const MAX_NOTES: usize = 20;
const CHECK_SKIP: &str = "# Check section disabled";

/// Tag values per (package, tag), in file order. The tag is keyed
/// case-insensitively (with its qualifier) and shown as first written.
fn tags(spec: &Spec) -> BTreeMap<(String, String), (String, Vec<String>)> {
    let mut out: BTreeMap<(String, String), (String, Vec<String>)> = BTreeMap::new();
    for (pid, pkg) in spec.packages().iter().enumerate() {
        for t in spec.package_tags(pid) {
            let tag = &spec.tags()[t];
            if !matches!(tag.family, TagFamily::Other) {
                continue;
            }
            let mut shown = spec.tag_name(t).into_owned();
            if let Some(q) = &tag.qualifier {
                shown = format!("{shown}({})", spec.text(q.clone()));
            }
            let key = (pkg.name.clone(), shown.to_ascii_lowercase());
            let e = out.entry(key).or_insert_with(|| (shown, Vec::new()));
            e.1.push(spec.tag_value(t).into_owned());
        }
    }
    out
}

fn patches(spec: &Spec) -> BTreeSet<String> {
    spec.sources()
        .iter()
        .filter(|s| s.kind == SourceKind::Patch)
        .map(|s| spec.source_file_name(s))
        .collect()
}

fn check_state(spec: &Spec) -> (bool, Option<String>) {
    let has_check = !spec.sections_of(SectionKind::Check, None).is_empty();
    let text = String::from_utf8_lossy(spec.as_bytes());
    let reason = text
        .lines()
        .find_map(|l| l.strip_prefix(CHECK_SKIP))
        .map(|r| r.trim_start_matches(':').trim().to_owned());
    (has_check, reason)
}

fn file_lines(tree: &ComponentTree, path: &str) -> BTreeSet<String> {
    tree.files
        .get(path)
        .map(|f| {
            String::from_utf8_lossy(&f.data)
                .lines()
                .map(str::to_owned)
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .collect()
        })
        .unwrap_or_default()
}

/// Notes on what changed between two renders of a component.
#[must_use]
pub fn notes(old: &ComponentTree, new: &ComponentTree) -> Vec<String> {
    let mut out = Vec::new();
    let old_spec = old
        .files
        .get(&old.spec_path())
        .map(|f| Spec::parse(f.data.clone()));
    let new_spec = new
        .files
        .get(&new.spec_path())
        .map(|f| Spec::parse(f.data.clone()));
    if let (Some(a), Some(b)) = (&old_spec, &new_spec)
        && a.as_bytes() != b.as_bytes()
    {
        spec_notes(a, b, &new.name, &mut out);
    }
    let (ma, mb) = (
        file_lines(old, &format!("{}.azl.macros", old.name)),
        file_lines(new, &format!("{}.azl.macros", new.name)),
    );
    for m in ma.difference(&mb) {
        out.push(format!("build macro removed: {m}"));
    }
    for m in mb.difference(&ma) {
        out.push(format!("build macro added: {m}"));
    }
    if out.len() > MAX_NOTES {
        let more = out.len() - MAX_NOTES;
        out.truncate(MAX_NOTES);
        out.push(format!("… and {more} more"));
    }
    out
}

/// The main package's identity as the rendered spec writes it: Name,
/// Epoch, Version, Release (expanded where the spec's own macros allow),
/// and the rpmautospec block's `release_number` (what `%autorelease`
/// expands to).
fn nvr(spec: &Spec) -> (String, String, String, String, Option<String>) {
    let tag = |key: &str| {
        spec.package_tags(0)
            .find(|&t| spec.tags()[t].key == key)
            .map(|t| {
                let v = spec.tag_value(t);
                let e = spec.expand(&v);
                if e.resolved { e.text } else { v.into_owned() }
            })
            .unwrap_or_default()
    };
    let number = String::from_utf8_lossy(spec.as_bytes())
        .lines()
        .take_while(|l| !l.starts_with("## END: Set by rpmautospec"))
        .find_map(|l| {
            l.trim()
                .strip_prefix("release_number = ")
                .map(|n| n.trim_end_matches(';').to_owned())
        });
    (tag("name"), tag("epoch"), tag("version"), tag("release"), number)
}

/// A warning when a component's rendered content changed but the main
/// package's Name-Epoch-Version-Release did not: the new build could not
/// be told from the old one (`release.calculation = "manual"` or
/// `"static"`, or an edit of the Release itself).
#[must_use]
pub fn nvr_warning(old: &ComponentTree, new: &ComponentTree) -> Option<String> {
    let spec = |t: &ComponentTree| t.files.get(&t.spec_path()).map(|f| Spec::parse(f.data.clone()));
    let (a, b) = (spec(old)?, spec(new)?);
    let (na, nb) = (nvr(&a), nvr(&b));
    if na != nb || old.files == new.files || na.3.is_empty() {
        return None;
    }
    let (name, epoch, version, release, _) = nb;
    let epoch = if epoch.is_empty() {
        String::new()
    } else {
        format!("{epoch}:")
    };
    Some(format!(
        "warning: the package content changed but its NVR did not ({name}-{epoch}{version}-{release})"
    ))
}

fn spec_notes(a: &Spec, b: &Spec, main: &str, out: &mut Vec<String>) {
    let main_old = a.main_package().name.clone();
    let main_new = b.main_package().name.clone();
    // Package names: the main package keeps its place even if renamed.
    let canon = |name: &str, main_name: &str| {
        if name == main_name {
            String::new()
        } else {
            name.to_owned()
        }
    };
    let (ta, tb) = (tags(a), tags(b));
    let ta: BTreeMap<(String, String), (String, Vec<String>)> = ta
        .into_iter()
        .map(|((p, k), v)| ((canon(&p, &main_old), k), v))
        .collect();
    let tb: BTreeMap<(String, String), (String, Vec<String>)> = tb
        .into_iter()
        .map(|((p, k), v)| ((canon(&p, &main_new), k), v))
        .collect();
    let (pa, pb): (BTreeSet<String>, BTreeSet<String>) = (
        a.packages().iter().skip(1).map(|p| p.name.clone()).collect(),
        b.packages().iter().skip(1).map(|p| p.name.clone()).collect(),
    );
    let removed_pkgs: BTreeSet<&String> = pa.difference(&pb).collect();
    let added_pkgs: BTreeSet<&String> = pb.difference(&pa).collect();
    let keys: BTreeSet<&(String, String)> = ta.keys().chain(tb.keys()).collect();
    // Main package first, then sub-packages by name.
    for key in keys {
        let (pkg, _) = key;
        if removed_pkgs.contains(pkg) || added_pkgs.contains(pkg) {
            continue;
        }
        let prefix = if pkg.is_empty() {
            String::new()
        } else {
            format!("{pkg}: ")
        };
        match (ta.get(key), tb.get(key)) {
            (Some((name, va)), Some((_, vb))) if va != vb => {
                if let ([x], [y]) = (va.as_slice(), vb.as_slice()) {
                    out.push(format!("{prefix}{name}: {x} → {y}"));
                } else {
                    for v in va.iter().filter(|v| !vb.contains(v)) {
                        out.push(format!("{prefix}{name} removed: {v}"));
                    }
                    for v in vb.iter().filter(|v| !va.contains(v)) {
                        out.push(format!("{prefix}{name} added: {v}"));
                    }
                }
            }
            (Some((name, va)), None) => {
                for v in va {
                    out.push(format!("{prefix}{name} removed: {v}"));
                }
            }
            (None, Some((name, vb))) => {
                for v in vb {
                    out.push(format!("{prefix}{name} added: {v}"));
                }
            }
            _ => {}
        }
    }
    for p in removed_pkgs {
        out.push(format!("sub-package removed: {p}"));
    }
    for p in added_pkgs {
        out.push(format!("sub-package added: {p}"));
    }
    let (xa, xb) = (patches(a), patches(b));
    for p in xa.difference(&xb) {
        out.push(format!("patch removed: {p}"));
    }
    for p in xb.difference(&xa) {
        out.push(format!("patch added: {p}"));
    }
    let ((ca, ra), (cb, rb)) = (check_state(a), check_state(b));
    match (ra, rb) {
        (None, Some(reason)) if cb => out.push(if reason.is_empty() {
            "%check disabled".to_owned()
        } else {
            format!("%check disabled: {reason}")
        }),
        (Some(_), None) if cb => out.push("%check enabled again".to_owned()),
        _ => {}
    }
    if ca && !cb {
        out.push("%check removed".to_owned());
    }
    let _ = main;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str, spec: &str) -> ComponentTree {
        let mut t = ComponentTree::new(name);
        t.insert(format!("{name}.spec"), spec.as_bytes().to_vec());
        t
    }

    #[test]
    fn content_change_without_an_nvr_change_is_warned_about() {
        let base = "Name: foo\nVersion: 1\nRelease: 2%{?dist}\n%description\nx\n";
        let same_nvr = "Name: foo\nVersion: 1\nRelease: 2%{?dist}\nURL: https://x/\n%description\nx\n";
        let bumped = "Name: foo\nVersion: 1\nRelease: 3%{?dist}\nURL: https://x/\n%description\nx\n";
        let w = nvr_warning(&tree("foo", base), &tree("foo", same_nvr)).expect("warning");
        assert!(w.contains("foo-1-2%{?dist}"), "{w}");
        assert_eq!(nvr_warning(&tree("foo", base), &tree("foo", bumped)), None);
        assert_eq!(nvr_warning(&tree("foo", base), &tree("foo", base)), None);
        // %autorelease: the rpmautospec block's number is the release.
        let auto = |n: u32, url: &str| {
            format!(
                "## START: Set by rpmautospec\n## (rpmautospec version 0.8.3)\n%define autorelease(e:s:pb:n) %{{?-p:0.}}%{{lua:\n    release_number = {n};\n}}\n## END: Set by rpmautospec\nName: foo\nVersion: 1\nRelease: %autorelease\nURL: {url}\n"
            )
        };
        assert!(nvr_warning(&tree("foo", &auto(2, "a")), &tree("foo", &auto(2, "b"))).is_some());
        assert_eq!(
            nvr_warning(&tree("foo", &auto(2, "a")), &tree("foo", &auto(3, "b"))),
            None
        );
    }

    #[test]
    fn tags_packages_patches_and_check() {
        let a = tree(
            "foo",
            "Name: foo\nVersion: 1\nRelease: 3%{?dist}\nBuildRequires: gcc\nPatch0: a.patch\n\n%description\nx\n\n%package docs\nSummary: d\n\n%description docs\nd\n\n%check\nmake check\n",
        );
        let b = tree(
            "foo",
            "Name: foo\nVersion: 1\nRelease: 4%{?dist}\nBuildRequires: gcc\nBuildRequires: make\nPatch0: a.patch\nPatch1: b.patch\n\n%description\nx\n\n%check\n# Check section disabled: flaky\nexit 0\nmake check\n",
        );
        assert_eq!(
            notes(&a, &b),
            [
                "BuildRequires added: make",
                "Release: 3%{?dist} → 4%{?dist}",
                "sub-package removed: foo-docs",
                "patch added: b.patch",
                "%check disabled: flaky"
            ]
        );
        assert!(notes(&a, &a).is_empty());
    }
}
