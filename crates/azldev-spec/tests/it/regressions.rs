//! Inputs that once broke the crate (found by the fuzzer, the proptests or
//! review), each with what went wrong.

use std::time::{Duration, Instant};

use azldev_spec::{Occurrence, SectionKind, SectionSel, Spec, TagSel};

use crate::common::{error_codes, parse, text};

/// Fuzzer (out of memory): `Name:` whose value refers to `%{name}` several
/// times made the evaluator expand it 2^16 times over (a 195 MB package
/// name from a 5 KB file). Expansion is now capped.
#[test]
fn fuzz_oom_self_referencing_name() {
    let src = "Name: x/%{name}-%{version}/%{name}-%{name}\nVersion: %{version}%{name}\n%package devel\nSummary: s\n%files devel\n";
    let start = Instant::now();
    let spec = parse(src);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert!(!spec.packages()[0].resolved);
    assert!(spec.packages().iter().all(|p| p.name.len() < 70 * 1024));
    assert_eq!(spec.sections_of(SectionKind::Files, Some(1)).len(), 1);
}

/// Fuzzer (out of memory), the same through a chain of plain macros that
/// each use the next one twice.
#[test]
fn fuzz_oom_macro_chain() {
    let mut src = String::new();
    for i in 0..20 {
        src.push_str(&format!("%global m{i} %{{m{}}}%{{m{}}}\n", i + 1, i + 1));
    }
    src.push_str("%global m20 abcdefgh\nName: %{m0}\n");
    let spec = parse(&src);
    assert!(!spec.packages()[0].resolved);
    assert!(spec.expand("%{m0}").text.len() < 70 * 1024);
    assert_eq!(spec.expand("%{m18}").text, "abcdefgh".repeat(4));
}

/// Proptest: deleting the last line of a file without a final newline left
/// the previous line's newline at the end.
#[test]
fn delete_last_line_keeps_no_final_newline() {
    let mut spec = parse("Name: foo\nRequires: a\nRequires: b");
    spec.remove_tags(
        &TagSel {
            name: "Requires",
            ..Default::default()
        },
        Occurrence::All,
    )
    .expect("removed");
    assert_eq!(text(&spec), "Name: foo");
    let mut spec = parse("Name: foo\r\n%check\r\nmake check");
    spec.remove_section(
        &SectionSel {
            kind: SectionKind::Check,
            package: None,
        },
        Occurrence::One,
    )
    .expect("removed");
    assert_eq!(text(&spec), "Name: foo");
}

/// Review: removing an unnumbered patch renumbers the later ones; the
/// intermediate state (patch gone, `%patch` not yet renumbered) was checked
/// for new errors and the edit refused.
#[test]
fn remove_unnumbered_patch_renumbers_instead_of_refusing() {
    let mut spec = parse("Name: foo\nPatch: a.patch\nPatch: b.patch\n%prep\n%patch 0\n%patch 1\n");
    assert_eq!(spec.remove_patches(&|f| f == "a.patch"), Ok(vec![0]));
    assert_eq!(text(&spec), "Name: foo\nPatch: b.patch\n%prep\n%patch 0\n");
    assert!(error_codes(&spec).is_empty());
}

/// Review: `%autopatch -p 1` read the strip level as "apply only patch 1",
/// so `add_patch` added a `%patch` line for a patch `%autopatch` already
/// applies (applied twice, the build fails).
#[test]
fn autopatch_separate_strip_level_is_not_a_patch_number() {
    let spec = parse("Name: foo\nPatch0: a.patch\nPatch1: b.patch\n%prep\n%autosetup -N\n%autopatch -p 1\n");
    let auto = &spec.autopatches()[1];
    assert!(auto.listed.is_empty());
    assert!(auto.covers(0) && auto.covers(1));
}

/// Review: removing a patch that `%autopatch N` lists left `%autopatch N`
/// behind (rpm: "no such patch N"), and nothing reported it.
#[test]
fn autopatch_list_of_a_removed_patch() {
    let src = "Name: foo\nPatch1: a.patch\nPatch2: b.patch\n%prep\n%autosetup -N\n%autopatch 1 2\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "b.patch"), Ok(vec![2]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: a.patch\n%prep\n%autosetup -N\n%autopatch 1\n"
    );
    let spec = Spec::parse("Name: foo\nPatch1: a.patch\n%prep\n%autopatch 1 2\n");
    assert_eq!(error_codes(&spec), ["patch-missing"]);
}
