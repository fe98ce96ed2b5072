//! Every edit operation: success cases with the exact output bytes, and
//! refusals with the exact [`EditError`] variant. Formatting must survive
//! edits: CRLF, a missing final newline, TABs, odd-case tag names,
//! separator alignment.

use azldev_spec::{EditError, Occurrence, SectionKind, SectionSel, Spec, TagSel};
use insta::assert_snapshot;
use regex::bytes::Regex;

use crate::common::{error_codes, parse, parse_bytes, text};

fn tag<'a>(name: &'a str) -> TagSel<'a> {
    TagSel {
        name,
        ..Default::default()
    }
}

fn sub_tag<'a>(package: &'a str, name: &'a str) -> TagSel<'a> {
    TagSel {
        package: Some(package),
        name,
        value: None,
    }
}

fn sec(kind: SectionKind) -> SectionSel<'static> {
    SectionSel { kind, package: None }
}

fn sub_sec(kind: SectionKind, package: &str) -> SectionSel<'_> {
    SectionSel {
        kind,
        package: Some(package),
    }
}

/// Run an edit that must succeed; return the new text (checked to
/// round-trip through a fresh parse).
fn edited<T: std::fmt::Debug>(src: &str, f: impl FnOnce(&mut Spec) -> Result<T, EditError>) -> String {
    let mut spec = parse(src);
    f(&mut spec).expect("the edit succeeds");
    let out = text(&spec).to_owned();
    parse(&out);
    out
}

/// Run an edit that must fail; check the spec is unchanged and return the
/// error.
fn refused<T: std::fmt::Debug>(src: &str, f: impl FnOnce(&mut Spec) -> Result<T, EditError>) -> EditError {
    let mut spec = parse(src);
    let err = f(&mut spec).expect_err("the edit is refused");
    assert_eq!(text(&spec), src, "a refused edit must leave the spec unchanged");
    err
}

fn is_ambiguous(e: &EditError, want_lines: &[usize]) -> bool {
    matches!(e, EditError::Ambiguous { lines, .. } if lines == want_lines)
}

// ----- set_tag ---------------------------------------------------------------

#[test]
fn set_tag_replaces_only_the_value() {
    let out = edited("Name:    foo\nRelease: 1%{?dist}\n", |s| {
        s.set_tag(&tag("Release"), "2%{?dist}", Occurrence::One)
    });
    assert_eq!(out, "Name:    foo\nRelease: 2%{?dist}\n");
}

#[test]
fn set_tag_keeps_alignment_tabs_and_trailing_space() {
    let src = "Name:\t\tfoo\nVersion:        1.0   \nRelease:\t1\n";
    let out = edited(src, |s| s.set_tag(&tag("version"), "2.0", Occurrence::One));
    assert_eq!(out, "Name:\t\tfoo\nVersion:        2.0   \nRelease:\t1\n");
    let out = edited(src, |s| s.set_tag(&tag("RELEASE"), "7", Occurrence::One));
    assert_eq!(out, "Name:\t\tfoo\nVersion:        1.0   \nRelease:\t7\n");
}

#[test]
fn set_tag_keeps_odd_case_tag_names() {
    let src = "Name: foo\nBUildRequires:  gcc\nbuildrequires: make\n";
    let out = edited(src, |s| {
        s.set_tag(
            &TagSel {
                name: "BuildRequires",
                value: Some("gcc"),
                package: None,
            },
            "clang",
            Occurrence::One,
        )
    });
    assert_eq!(out, "Name: foo\nBUildRequires:  clang\nbuildrequires: make\n");
}

#[test]
fn set_tag_crlf_and_no_final_newline() {
    let out = edited("Name: foo\r\nRelease: 1\r\n", |s| {
        s.set_tag(&tag("Release"), "2", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\r\nRelease: 2\r\n");
    let out = edited("Name: foo\nRelease: 1", |s| {
        s.set_tag(&tag("Release"), "2", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\nRelease: 2");
}

#[test]
fn set_tag_value_is_trimmed() {
    let out = edited("Release: 1\n", |s| {
        s.set_tag(&tag("Release"), "  3  ", Occurrence::One)
    });
    assert_eq!(out, "Release: 3\n");
}

#[test]
fn set_tag_without_a_value_gets_a_separator() {
    let out = edited("Name: foo\nRequires:\nURL:\t\n", |s| {
        s.set_tag(&tag("Requires"), "bar", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\nRequires: bar\nURL:\t\n");
    let out = edited("Name: foo\nURL:\t\n", |s| {
        s.set_tag(&tag("URL"), "https://x", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\nURL:\thttps://x\n");
    // A value glued to the colon stays glued.
    let out = edited("Name:foo\n", |s| s.set_tag(&tag("Name"), "bar", Occurrence::One));
    assert_eq!(out, "Name:bar\n");
}

#[test]
fn set_tag_qualifier_and_language_select_exactly() {
    let src = "Name: foo\nRequires(post): a\nRequires: b\nSummary: S\nSummary(de): D\n";
    let out = edited(src, |s| s.set_tag(&tag("Requires(post)"), "x", Occurrence::One));
    assert_eq!(
        out,
        "Name: foo\nRequires(post): x\nRequires: b\nSummary: S\nSummary(de): D\n"
    );
    let out = edited(src, |s| s.set_tag(&tag("requires"), "y", Occurrence::One));
    assert_eq!(
        out,
        "Name: foo\nRequires(post): a\nRequires: y\nSummary: S\nSummary(de): D\n"
    );
    let out = edited(src, |s| s.set_tag(&tag("Summary(DE)"), "Z", Occurrence::One));
    assert_eq!(
        out,
        "Name: foo\nRequires(post): a\nRequires: b\nSummary: S\nSummary(de): Z\n"
    );
}

#[test]
fn set_tag_by_rpm_source_number() {
    // Unnumbered sources count up from the highest number so far.
    let src = "Name: foo\nSource: a.tar\nSource5: b.tar\nSource: c.tar\n";
    let out = edited(src, |s| s.set_tag(&tag("Source0"), "A.tar", Occurrence::One));
    assert_eq!(out, "Name: foo\nSource: A.tar\nSource5: b.tar\nSource: c.tar\n");
    let out = edited(src, |s| s.set_tag(&tag("source6"), "C.tar", Occurrence::One));
    assert_eq!(out, "Name: foo\nSource: a.tar\nSource5: b.tar\nSource: C.tar\n");
    let err = refused(src, |s| s.set_tag(&tag("Source1"), "x", Occurrence::One));
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    // Without a number every source matches.
    let err = refused(src, |s| s.set_tag(&tag("Source"), "x", Occurrence::One));
    assert!(is_ambiguous(&err, &[2, 3, 4]), "{err:?}");
}

#[test]
fn set_tag_in_a_subpackage() {
    let src =
        "Name: foo\nSummary: main\n\n%package devel\nSummary: dev\n\n%package -n libfoo\nSummary: lib\n";
    let out = edited(src, |s| {
        s.set_tag(&sub_tag("devel", "Summary"), "DEV", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\nSummary: main\n\n%package devel\nSummary: DEV\n\n%package -n libfoo\nSummary: lib\n"
    );
    let out = edited(src, |s| {
        s.set_tag(&sub_tag("foo-devel", "Summary"), "D", Occurrence::One)
    });
    assert!(out.contains("Summary: D\n") && out.contains("Summary: main\n"));
    let out = edited(src, |s| {
        s.set_tag(&sub_tag("libfoo", "Summary"), "L", Occurrence::One)
    });
    assert!(out.ends_with("%package -n libfoo\nSummary: L\n"));
}

#[test]
fn set_tag_occurrences() {
    let src = "Name: foo\n%if 0%{?fedora}\nRelease: 1\n%else\nRelease: 2\n%endif\n";
    let err = refused(src, |s| s.set_tag(&tag("Release"), "3", Occurrence::One));
    assert!(is_ambiguous(&err, &[3, 5]), "{err:?}");
    let out = edited(src, |s| s.set_tag(&tag("Release"), "3", Occurrence::All));
    assert_eq!(
        out,
        "Name: foo\n%if 0%{?fedora}\nRelease: 3\n%else\nRelease: 3\n%endif\n"
    );
    let out = edited(src, |s| s.set_tag(&tag("Release"), "3", Occurrence::Nth(1)));
    assert_eq!(
        out,
        "Name: foo\n%if 0%{?fedora}\nRelease: 1\n%else\nRelease: 3\n%endif\n"
    );
    let err = refused(src, |s| s.set_tag(&tag("Release"), "3", Occurrence::Nth(2)));
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    let mut spec = parse(src);
    assert_eq!(spec.set_tag(&tag("Release"), "9", Occurrence::All), Ok(2));
}

#[test]
fn set_tag_refusals() {
    let src =
        "Name: foo\nRequires: a\nRequires: b\n\n%package -n bar\nSummary: b\n\n%package bar\nSummary: fb\n";
    let err = refused(src, |s| s.set_tag(&tag("Epoch"), "1", Occurrence::One));
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    let err = refused(src, |s| s.set_tag(&tag("Requires"), "c", Occurrence::One));
    assert!(is_ambiguous(&err, &[2, 3]), "{err:?}");
    let err = refused(src, |s| {
        s.set_tag(&tag("Requires"), "c\nRequires: d", Occurrence::All)
    });
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| s.set_tag(&tag("Re quires"), "c", Occurrence::All));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| s.set_tag(&tag("Requires(post"), "c", Occurrence::All));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| {
        s.set_tag(&sub_tag("nope", "Summary"), "c", Occurrence::One)
    });
    assert!(
        matches!(&err, EditError::NoSuchPackage { name, known } if name == "nope" && known == &["foo", "bar", "foo-bar"]),
        "{err:?}"
    );
    // `bar` is both a full name and the suffix of `foo-bar`.
    let err = refused(src, |s| {
        s.set_tag(&sub_tag("bar", "Summary"), "c", Occurrence::One)
    });
    assert!(
        matches!(&err, EditError::AmbiguousPackage { candidates, .. } if candidates == &["bar", "foo-bar"]),
        "{err:?}"
    );
    // A value that would open a macro swallowing the rest of the file.
    let err = refused(src, |s| s.set_tag(&tag("Name"), "%{foo", Occurrence::One));
    assert!(matches!(err, EditError::WouldBreak(_)), "{err:?}");
}

// ----- remove_tags -----------------------------------------------------------

#[test]
fn remove_tags_removes_whole_lines() {
    let src = "Name: foo\nRequires: a\nRequires: b\nRequires(post): c\n";
    let out = edited(src, |s| {
        s.remove_tags(
            &TagSel {
                name: "Requires",
                value: Some("b"),
                package: None,
            },
            Occurrence::One,
        )
    });
    assert_eq!(out, "Name: foo\nRequires: a\nRequires(post): c\n");
    let mut spec = parse(src);
    assert_eq!(spec.remove_tags(&tag("Requires"), Occurrence::All), Ok(2));
    assert_eq!(text(&spec), "Name: foo\nRequires(post): c\n");
}

#[test]
fn remove_tags_keeps_crlf_and_missing_final_newline() {
    let out = edited("Name: foo\r\nRequires: a\r\nLicense: MIT\r\n", |s| {
        s.remove_tags(&tag("Requires"), Occurrence::One)
    });
    assert_eq!(out, "Name: foo\r\nLicense: MIT\r\n");
    let out = edited("Name: foo\nRequires: a", |s| {
        s.remove_tags(&tag("Requires"), Occurrence::One)
    });
    assert_eq!(out, "Name: foo");
}

#[test]
fn remove_tags_multiline_value() {
    let src = "Name: foo\nLicense: %{shrink:\n  MIT AND\n  BSD}\nURL: u\n";
    let out = edited(src, |s| s.remove_tags(&tag("License"), Occurrence::One));
    assert_eq!(out, "Name: foo\nURL: u\n");
}

#[test]
fn remove_tags_refusals() {
    let src = "Name: foo\nRequires: a\nRequires: b\n";
    let err = refused(src, |s| s.remove_tags(&tag("Requires"), Occurrence::One));
    assert!(is_ambiguous(&err, &[2, 3]), "{err:?}");
    let err = refused(src, |s| s.remove_tags(&tag("Provides"), Occurrence::All));
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    // Removing a Source shifts the numbers of later unnumbered sources;
    // removing the only tag of a %package leaves the package declared.
    let src = "Name: foo\n%if 1\nRequires: a\n%endif\n";
    let out = edited(src, |s| s.remove_tags(&tag("Requires"), Occurrence::One));
    assert_eq!(out, "Name: foo\n%if 1\n%endif\n");
}

// ----- add_tag / insert_tag -------------------------------------------------

#[test]
fn add_tag_after_the_last_tag_copying_alignment() {
    let src = "Name:           foo\nVersion:        1\nLicense:        MIT\n\n%description\nd\n";
    let out = edited(src, |s| s.add_tag(None, "Requires", "bar >= 1"));
    assert_eq!(
        out,
        "Name:           foo\nVersion:        1\nLicense:        MIT\nRequires:       bar >= 1\n\n%description\nd\n"
    );
    // A name longer than the alignment column gets one space.
    let out = edited(src, |s| s.add_tag(None, "OrderWithRequires", "x"));
    assert!(
        out.contains("License:        MIT\nOrderWithRequires: x\n"),
        "{out}"
    );
}

#[test]
fn add_tag_copies_tab_and_single_space_separators() {
    let out = edited("Name:\tfoo\nVersion:\t1\n", |s| {
        s.add_tag(None, "Requires", "bar")
    });
    assert_eq!(out, "Name:\tfoo\nVersion:\t1\nRequires:\tbar\n");
    let out = edited("Name: foo\nVersion: 1\n", |s| {
        s.add_tag(None, "BuildRequires", "gcc")
    });
    assert_eq!(out, "Name: foo\nVersion: 1\nBuildRequires: gcc\n");
    // No space after the colon: still one space in the new line.
    let out = edited("Name:foo\n", |s| s.add_tag(None, "Version", "1"));
    assert_eq!(out, "Name:foo\nVersion: 1\n");
}

#[test]
fn add_tag_crlf_and_no_final_newline() {
    let out = edited("Name: foo\r\nVersion: 1\r\n", |s| {
        s.add_tag(None, "Requires", "bar")
    });
    assert_eq!(out, "Name: foo\r\nVersion: 1\r\nRequires: bar\r\n");
    let out = edited("Name: foo\nVersion: 1", |s| s.add_tag(None, "Requires", "bar"));
    assert_eq!(out, "Name: foo\nVersion: 1\nRequires: bar");
    let out = edited("Name: foo\r\nVersion: 1", |s| s.add_tag(None, "Requires", "bar"));
    assert_eq!(out, "Name: foo\r\nVersion: 1\r\nRequires: bar");
}

#[test]
fn add_tag_to_a_subpackage() {
    let src = "Name: foo\nLicense: MIT\n\n%package devel\nSummary:  dev\n\n%description devel\nd\n";
    let out = edited(src, |s| s.add_tag(Some("devel"), "Requires", "foo = 1"));
    assert_eq!(
        out,
        "Name: foo\nLicense: MIT\n\n%package devel\nSummary:  dev\nRequires: foo = 1\n\n%description devel\nd\n"
    );
    // A %package without tags: right after the header.
    let src = "Name: foo\n\n%package devel\n%description devel\nd\n";
    let out = edited(src, |s| s.add_tag(Some("foo-devel"), "Summary", "x"));
    assert_eq!(
        out,
        "Name: foo\n\n%package devel\nSummary: x\n%description devel\nd\n"
    );
}

#[test]
fn add_tag_to_an_empty_preamble_goes_to_the_top() {
    let out = edited("%description\nd\n", |s| s.add_tag(None, "Name", "foo"));
    assert_eq!(out, "Name: foo\n%description\nd\n");
}

#[test]
fn add_tag_never_lands_in_the_next_subpackages_conditional() {
    // The conditional after the last preamble tag belongs to the
    // sub-package it declares.
    let src = "Name: foo\nLicense: MIT\n%if %{with py}\n%package -n python3-foo\nSummary: py\n%endif\n";
    let out = edited(src, |s| s.add_tag(None, "Requires", "bar"));
    assert_eq!(
        out,
        "Name: foo\nLicense: MIT\nRequires: bar\n%if %{with py}\n%package -n python3-foo\nSummary: py\n%endif\n"
    );
}

#[test]
fn add_tag_is_lifted_out_of_a_conditional_of_the_section() {
    let src = "Name: foo\nLicense: MIT\n%ifarch x86_64\nRequires: a\n%if 1\nRequires: b\n%endif\n%endif\n\n%description\n";
    let out = edited(src, |s| s.add_tag(None, "Requires", "c"));
    assert_eq!(
        out,
        "Name: foo\nLicense: MIT\n%ifarch x86_64\nRequires: a\n%if 1\nRequires: b\n%endif\n%endif\nRequires: c\n\n%description\n"
    );
}

#[test]
fn add_tag_in_a_conditional_subpackage_stays_in_it() {
    let src = "Name: foo\n%if %{with doc}\n%package doc\nSummary: d\n%endif\n";
    let out = edited(src, |s| s.add_tag(Some("doc"), "BuildArch", "noarch"));
    assert_eq!(
        out,
        "Name: foo\n%if %{with doc}\n%package doc\nSummary: d\nBuildArch: noarch\n%endif\n"
    );
}

#[test]
fn add_tag_refusals() {
    let src = "Name: foo\n%if 1\n%package doc\nSummary: a\n%else\n%package doc\nSummary: b\n%endif\n";
    let err = refused(src, |s| s.add_tag(Some("doc"), "Requires", "x"));
    assert!(is_ambiguous(&err, &[3, 6]), "{err:?}");
    let err = refused(src, |s| s.add_tag(Some("nope"), "Requires", "x"));
    assert!(matches!(err, EditError::NoSuchPackage { .. }), "{err:?}");
    let err = refused(src, |s| s.add_tag(None, "Requires", "x\ny"));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| s.add_tag(None, "Bad Name", "x"));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    // A misspelt tag would make rpm fail ("Unknown tag"), even in a
    // conditional sub-package.
    let err = refused(src, |s| s.add_tag(None, "Requries", "x"));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| s.insert_tag(Some("doc"), "Sumary", "x"));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| s.add_tag(None, "Requires", "%{oops"));
    assert!(matches!(err, EditError::WouldBreak(_)), "{err:?}");
}

#[test]
fn insert_tag_goes_after_its_family() {
    let src = "Name: foo\nRequires: a\nRequires(post): b\nBuildRequires: c\nLicense: MIT\n";
    let out = edited(src, |s| s.insert_tag(None, "Requires", "d"));
    assert_eq!(
        out,
        "Name: foo\nRequires: a\nRequires(post): b\nRequires: d\nBuildRequires: c\nLicense: MIT\n"
    );
    let out = edited(src, |s| s.insert_tag(None, "buildrequires", "e"));
    assert_eq!(
        out,
        "Name: foo\nRequires: a\nRequires(post): b\nBuildRequires: c\nbuildrequires: e\nLicense: MIT\n"
    );
    // No tag of the family: after the last tag.
    let out = edited(src, |s| s.insert_tag(None, "Provides", "x"));
    assert!(out.ends_with("License: MIT\nProvides: x\n"), "{out}");
}

#[test]
fn insert_tag_sources_and_patches_are_families() {
    let src = "Name: foo\nSource0:  a.tar\nSource1:  b.tar\nPatch0:   p.patch\nBuildRequires: gcc\n";
    let out = edited(src, |s| s.insert_tag(None, "Source2", "c.tar"));
    assert_eq!(
        out,
        "Name: foo\nSource0:  a.tar\nSource1:  b.tar\nSource2:  c.tar\nPatch0:   p.patch\nBuildRequires: gcc\n"
    );
    let out = edited(src, |s| s.insert_tag(None, "Patch1", "q.patch"));
    assert!(
        out.contains("Patch0:   p.patch\nPatch1:   q.patch\nBuildRequires"),
        "{out}"
    );
}

#[test]
fn insert_tag_lifted_after_endif() {
    let src = "Name: foo\nRequires: a\n%if 0%{?fedora}\nRequires: b\n%endif\nBuildRequires: c\n";
    let out = edited(src, |s| s.insert_tag(None, "Requires", "x"));
    assert_eq!(
        out,
        "Name: foo\nRequires: a\n%if 0%{?fedora}\nRequires: b\n%endif\nRequires: x\nBuildRequires: c\n"
    );
}

#[test]
fn insert_tag_in_subpackage_with_tabs() {
    let src =
        "Name:\tfoo\n\n%package devel\nSummary:\tdev\nRequires:\tfoo\nBuildArch:\tnoarch\n\n%files devel\n";
    let out = edited(src, |s| s.insert_tag(Some("devel"), "Requires", "bar"));
    assert_eq!(
        out,
        "Name:\tfoo\n\n%package devel\nSummary:\tdev\nRequires:\tfoo\nRequires:\tbar\nBuildArch:\tnoarch\n\n%files devel\n"
    );
}

// ----- prepend_lines / append_lines -------------------------------------------

#[test]
fn prepend_lines_after_the_header() {
    let src = "Name: foo\n\n%build\nmake\n\n%install\nmake install\n";
    let out = edited(src, |s| {
        s.prepend_lines(&sec(SectionKind::Build), "export X=1\n", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n\n%build\nexport X=1\nmake\n\n%install\nmake install\n"
    );
    // The preamble has no header: the lines go to the top of the file.
    let out = edited(src, |s| {
        s.prepend_lines(&sec(SectionKind::Preamble), "%global x 1", Occurrence::One)
    });
    assert_eq!(
        out,
        "%global x 1\nName: foo\n\n%build\nmake\n\n%install\nmake install\n"
    );
}

#[test]
fn prepend_lines_crlf() {
    let src = "Name: foo\r\n%build\r\nmake\r\n";
    let out = edited(src, |s| {
        s.prepend_lines(&sec(SectionKind::Build), "a\nb", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\r\n%build\r\na\r\nb\r\nmake\r\n");
}

#[test]
fn append_lines_after_the_last_non_blank_line() {
    let src = "Name: foo\n\n%files\n/a\n/b\n\n\n%changelog\n* x\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c\n/d\n", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n\n%files\n/a\n/b\n/c\n/d\n\n\n%changelog\n* x\n");
}

#[test]
fn append_lines_to_an_empty_section_and_at_eof() {
    let out = edited("Name: foo\n%files\n%changelog\n", |s| {
        s.append_lines(&sec(SectionKind::Files), "/a", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%files\n/a\n%changelog\n");
    let out = edited("Name: foo\n%files\n/a", |s| {
        s.append_lines(&sec(SectionKind::Files), "/b", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%files\n/a\n/b");
    let out = edited("Name: foo\r\n%files\r\n/a", |s| {
        s.append_lines(&sec(SectionKind::Files), "/b\n/c", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\r\n%files\r\n/a\r\n/b\r\n/c");
}

#[test]
fn append_lines_before_the_enclosing_endif() {
    let src = "Name: foo\n%if %{with x}\n%files\n/a\n\n%endif\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/b", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%if %{with x}\n%files\n/a\n/b\n\n%endif\n");
}

#[test]
fn append_lines_after_a_conditional_inside_the_section() {
    let src = "Name: foo\n%files\n/a\n%ifarch x86_64\n/b\n%endif\n\n%changelog\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n%files\n/a\n%ifarch x86_64\n/b\n%endif\n/c\n\n%changelog\n"
    );
}

#[test]
fn append_lines_before_a_comment_that_introduces_the_next_section() {
    let src = "Name: foo\n%files\n/a\n\n# Development files\n# (headers)\n%files devel\n/b\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n%files\n/a\n/c\n\n# Development files\n# (headers)\n%files devel\n/b\n"
    );
    // The same before a conditional that holds the next section.
    let src = "Name: foo\n%files\n/a\n\n# docs\n%if %{with doc}\n%files doc\n%endif\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n%files\n/a\n/c\n\n# docs\n%if %{with doc}\n%files doc\n%endif\n"
    );
    // A comment not set off by a blank line is the section's own.
    let src = "Name: foo\n%files\n/a\n# more\n%files devel\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%files\n/a\n# more\n/c\n%files devel\n");
    // A comment set off from the next header is the section's own too.
    let src = "Name: foo\n%files\n/a\n\n# more\n\n%files devel\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%files\n/a\n\n# more\n/c\n\n%files devel\n");
}

#[test]
fn append_lines_after_a_continued_command_keeps_the_blank_line_that_ends_it() {
    // `%pytest \` ⏎ ⏎: the blank line ends the command; a line appended
    // right after the backslash would become one of its arguments.
    let src = "Name: foo\n%check\n%pytest \\\n  --deselect=x \\\n\n%files\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Check), "echo done", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n%check\n%pytest \\\n  --deselect=x \\\n\necho done\n%files\n"
    );
    // An escaped backslash continues nothing.
    let src = "Name: foo\n%check\necho \\\\\n\n%files\n";
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Check), "true", Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%check\necho \\\\\ntrue\n\n%files\n");
}

#[test]
fn append_lines_same_section_in_both_branches() {
    let src = "Name: foo\n%if 0%{?rhel}\n%files\n/a\n%else\n%files\n/b\n%endif\n";
    let err = refused(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::One)
    });
    assert!(is_ambiguous(&err, &[3, 6]), "{err:?}");
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::Nth(1))
    });
    assert_eq!(
        out,
        "Name: foo\n%if 0%{?rhel}\n%files\n/a\n%else\n%files\n/b\n/c\n%endif\n"
    );
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/c", Occurrence::All)
    });
    assert_eq!(
        out,
        "Name: foo\n%if 0%{?rhel}\n%files\n/a\n/c\n%else\n%files\n/b\n/c\n%endif\n"
    );
}

#[test]
fn append_lines_to_a_subpackage_however_named() {
    let src = "Name: foo\n%package devel\nSummary: d\n%description devel\nd\n%files -n foo-devel\n/inc\n";
    for name in ["devel", "foo-devel"] {
        let out = edited(src, |s| {
            s.append_lines(&sub_sec(SectionKind::Files, name), "/lib", Occurrence::One)
        });
        assert!(out.ends_with("%files -n foo-devel\n/inc\n/lib\n"), "{out}");
    }
    let err = refused(src, |s| {
        s.append_lines(&sec(SectionKind::Files), "/x", Occurrence::One)
    });
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
}

#[test]
fn append_and_prepend_refusals() {
    let src = "Name: foo\n%build\nmake\n%files\n/a\n";
    let err = refused(src, |s| {
        s.append_lines(&sec(SectionKind::Check), "x", Occurrence::One)
    });
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    let err = refused(src, |s| {
        s.append_lines(&sub_sec(SectionKind::Build, "devel"), "x", Occurrence::One)
    });
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| {
        s.append_lines(&sec(SectionKind::Build), "%if 1", Occurrence::One)
    });
    assert!(matches!(err, EditError::WouldBreak(_)), "{err:?}");
    let err = refused(src, |s| {
        s.prepend_lines(&sec(SectionKind::Build), "%endif", Occurrence::One)
    });
    assert!(matches!(err, EditError::WouldBreak(_)), "{err:?}");
    let err = refused(src, |s| {
        s.append_lines(&sec(SectionKind::Build), "echo %{", Occurrence::One)
    });
    assert!(matches!(err, EditError::WouldBreak(_)), "{err:?}");
    let err = refused(src, |s| {
        s.prepend_lines(&sub_sec(SectionKind::Preamble, "devel"), "x", Occurrence::One)
    });
    assert!(matches!(err, EditError::NoSuchPackage { .. }), "{err:?}");
}

// ----- remove_section ---------------------------------------------------------

#[test]
fn remove_section_with_its_trailing_blank_lines() {
    let src = "Name: foo\n\n%install\nmake install\n\n%check\nmake test\n\n%files\n/a\n";
    let mut spec = parse(src);
    assert_eq!(
        spec.remove_section(&sec(SectionKind::Check), Occurrence::One),
        Ok(1)
    );
    assert_eq!(text(&spec), "Name: foo\n\n%install\nmake install\n\n%files\n/a\n");
}

#[test]
fn section_generating_macro_lines_end_a_section() {
    // libgreet: `%{?ldconfig_scriptlets}` expands to `%post`/`%postun`; it
    // is not part of `%check`.
    let src = "Name: foo\n\n%check\nmake check\n\n%{?ldconfig_scriptlets}\n\n%files\n/a\n";
    let out = edited(src, |s| {
        s.remove_section(&sec(SectionKind::Check), Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n\n%{?ldconfig_scriptlets}\n\n%files\n/a\n");
    // Appended lines go before it, into `%check`.
    let out = edited(src, |s| {
        s.append_lines(&sec(SectionKind::Check), "exit 0", Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n\n%check\nmake check\nexit 0\n\n%{?ldconfig_scriptlets}\n\n%files\n/a\n"
    );
    // Other spellings, a comment introducing it, and one inside a
    // conditional: the whole conditional stays.
    for (macro_line, kept) in [
        ("%ldconfig_scriptlets libs\n", "%ldconfig_scriptlets libs\n"),
        (
            "%python_extras_subpkg -n python3-foo -i %{python3_sitelib}/*.egg-info toml\n",
            "%python_extras_subpkg -n python3-foo -i %{python3_sitelib}/*.egg-info toml\n",
        ),
        (
            "# scriptlets\n%{?ldconfig_scriptlets}\n",
            "# scriptlets\n%{?ldconfig_scriptlets}\n",
        ),
        (
            "%if 0%{?fedora}\n%pyproject_extras_subpkg -n python3-foo a\n%endif\n",
            "%if 0%{?fedora}\n%pyproject_extras_subpkg -n python3-foo a\n%endif\n",
        ),
    ] {
        let src = format!("Name: foo\n\n%check\nmake check\n\n{macro_line}\n%files\n/a\n");
        let out = edited(&src, |s| {
            s.remove_section(&sec(SectionKind::Check), Occurrence::One)
        });
        assert_eq!(out, format!("Name: foo\n\n{kept}\n%files\n/a\n"), "{macro_line}");
    }
    // A macro that expands to shell code inside a scriptlet is body text.
    let src = "Name: foo\n\n%post\n%systemd_post foo.service\n\n%files\n/a\n";
    let out = edited(src, |s| {
        s.remove_section(&sec(SectionKind::Post), Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n\n%files\n/a\n");
}

#[test]
fn section_generating_macros_known_from_macro_files_end_a_section() {
    // `%my_scriptlets` is in no table; a macro file defines it (through a
    // second macro) to expand to `%post`/`%postun`.
    let file: &[u8] = b"%my_ldconfig_pair %{?ldconfig:\\\n%post -p %ldconfig\\\n%postun -p %ldconfig\\\n}\n\
%my_scriptlets() %{expand:%%my_ldconfig_pair}\n\
%my_shell_bit /sbin/ldconfig\n";
    let macros = std::sync::Arc::new(azldev_spec::SectionMacros::from_macro_files([(
        "macros.distro",
        file,
    )]));
    assert!(macros.contains("my_scriptlets") && macros.contains("my_ldconfig_pair"));
    assert!(!macros.contains("my_shell_bit"));
    for line in ["%my_scriptlets", "%{?my_scriptlets}"] {
        let src = format!("Name: foo\n\n%check\nmake check\n\n{line}\n\n%files\n/a\n");
        // Without the macro files the line is part of `%check`.
        let out = edited(&src, |s| {
            s.remove_section(&sec(SectionKind::Check), Occurrence::One)
        });
        assert_eq!(out, "Name: foo\n\n%files\n/a\n");
        // With them it stays, through every edit (the set survives
        // re-parsing), and appended lines go before it.
        let mut spec = parse(&src).with_section_macros(Some(macros.clone()));
        spec.append_lines(&sec(SectionKind::Check), "exit 0", Occurrence::One)
            .expect("append");
        assert_eq!(
            text(&spec),
            format!("Name: foo\n\n%check\nmake check\nexit 0\n\n{line}\n\n%files\n/a\n")
        );
        spec.remove_section(&sec(SectionKind::Check), Occurrence::One)
            .expect("remove");
        assert_eq!(text(&spec), format!("Name: foo\n\n{line}\n\n%files\n/a\n"));
    }
}

/// rpm's own macro file: `%debug_package` generates `%package debuginfo`
/// (through `%_debuginfo_template`); macros used inside scriptlets or as
/// values do not count.
#[test]
fn section_macros_of_rpms_macro_file() {
    let bytes = std::fs::read("/usr/lib/rpm/macros").expect("rpm's macro file (apt-get install rpm)");
    let m = azldev_spec::SectionMacros::from_macro_files([("/usr/lib/rpm/macros", &bytes[..])]);
    let names: Vec<&str> = m.names().collect();
    assert!(m.contains("debug_package"), "{names:?}");
    assert!(m.contains("_debuginfo_template"), "{names:?}");
    for not in [
        "ldconfig",
        "_prefix",
        "configure",
        "make_install",
        "__spec_install_pre",
        "setup",
    ] {
        assert!(!m.contains(not), "{not}: {names:?}");
    }
}

#[test]
fn remove_section_takes_its_introducing_comment_and_keeps_the_next_ones() {
    let src = "Name: foo\n\n# run the tests\n%check\nmake test\n\n# main files\n%files\n/a\n";
    let out = edited(src, |s| {
        s.remove_section(&sec(SectionKind::Check), Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n\n# main files\n%files\n/a\n");
    let src = "Name: foo\n%package devel\nSummary: d\n\n# Not for end users.\n%package tests\nSummary: t\n\n# Tests\n%files tests\n/t\n\n# Headers\n%files devel\n/h\n";
    let out = edited(src, |s| s.remove_subpackage("tests"));
    assert_eq!(
        out,
        "Name: foo\n%package devel\nSummary: d\n\n# Headers\n%files devel\n/h\n"
    );
}

#[test]
fn remove_section_inside_a_conditional_keeps_it_balanced() {
    let src = "Name: foo\n%if %{with check}\n%check\nmake test\n%endif\n\n%files\n";
    let out = edited(src, |s| {
        s.remove_section(&sec(SectionKind::Check), Occurrence::One)
    });
    assert_eq!(out, "Name: foo\n%if %{with check}\n%endif\n\n%files\n");
}

#[test]
fn remove_section_keeps_a_conditional_it_opens_for_later_sections() {
    // The %if opened in %build closes in %install: it is not %build's.
    let src = "Name: foo\n%build\nmake\n%if %{with doc}\nmake doc\n%install\nmake install\n%endif\n";
    let out = edited(src, |s| {
        s.remove_section(&sec(SectionKind::Build), Occurrence::One)
    });
    assert_eq!(
        out,
        "Name: foo\n%if %{with doc}\nmake doc\n%install\nmake install\n%endif\n"
    );
}

#[test]
fn remove_section_all_branches() {
    let src = "Name: foo\n%if 1\n%files\n/a\n%else\n%files\n/b\n%endif\n";
    let err = refused(src, |s| {
        s.remove_section(&sec(SectionKind::Files), Occurrence::One)
    });
    assert!(is_ambiguous(&err, &[3, 6]), "{err:?}");
    let mut spec = parse(src);
    assert_eq!(
        spec.remove_section(&sec(SectionKind::Files), Occurrence::All),
        Ok(2)
    );
    assert_eq!(text(&spec), "Name: foo\n%if 1\n%else\n%endif\n");
}

#[test]
fn remove_section_refusals() {
    let src = "Name: foo\n%package devel\nSummary: d\n%files devel\n";
    let err = refused(src, |s| {
        s.remove_section(&sec(SectionKind::Package), Occurrence::All)
    });
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| {
        s.remove_section(&sec(SectionKind::Preamble), Occurrence::All)
    });
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(src, |s| {
        s.remove_section(&sec(SectionKind::Files), Occurrence::All)
    });
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    let err = refused(src, |s| {
        s.remove_section(&sub_sec(SectionKind::Files, "docs"), Occurrence::All)
    });
    assert!(matches!(err, EditError::NoSuchPackage { .. }), "{err:?}");
}

// ----- remove_subpackage -------------------------------------------------------

const SUBPACKAGES: &str = "\
Name:           foo
Version:        1.0
Release:        1%{?dist}
Summary:        Foo
License:        MIT

%package        devel
Summary:        Development files for %{name}
Requires:       %{name}%{?_isa} = %{version}-%{release}

%if %{with doc}
%package        doc
Summary:        Documentation
BuildArch:      noarch

%description    doc
Docs.
%endif

%description
Foo.

%description devel
Headers.

%build
%make_build

%post devel -p /sbin/ldconfig

%files
/usr/bin/foo

%files -n %{name}-devel
/usr/include/foo.h

%if %{with doc}
%files doc
%doc html
%endif

%changelog
* Mon Jan 01 2024 A <a@b> - 1.0-1
- init
";

#[test]
fn remove_subpackage_removes_every_section_of_it() {
    let mut spec = parse(SUBPACKAGES);
    assert_eq!(spec.remove_subpackage("devel"), Ok(4));
    assert!(!String::from_utf8_lossy(spec.as_bytes()).contains("devel"));
    assert!(error_codes(&spec).is_empty());
    assert_snapshot!("remove_subpackage_devel", text(&spec));
}

#[test]
fn remove_subpackage_in_a_conditional_keeps_the_endif() {
    let mut spec = parse(SUBPACKAGES);
    assert_eq!(spec.remove_subpackage("foo-doc"), Ok(3));
    assert!(error_codes(&spec).is_empty());
    assert_eq!(spec.conds().len(), 2, "both %if blocks stay, emptied");
    assert_snapshot!("remove_subpackage_doc", text(&spec));
}

#[test]
fn remove_subpackage_refusals() {
    let err = refused(SUBPACKAGES, |s| s.remove_subpackage("foo"));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(SUBPACKAGES, |s| s.remove_subpackage(""));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
    let err = refused(SUBPACKAGES, |s| s.remove_subpackage("libs"));
    assert!(matches!(err, EditError::NoSuchPackage { .. }), "{err:?}");
}

// ----- replace_regex -------------------------------------------------------

#[test]
fn replace_regex_within_a_section() {
    let src = "Name: foo\n%build\nCFLAGS=-O2 make\n%install\nCFLAGS=-O2 make install\n";
    let re = Regex::new(r"-O(\d)").expect("regex");
    let mut spec = parse(src);
    let n = spec
        .replace_regex(Some(&sec(SectionKind::Build)), Occurrence::One, &re, "-O3 -g$1")
        .expect("replaced");
    assert_eq!(n, 1);
    assert_eq!(
        text(&spec),
        "Name: foo\n%build\nCFLAGS=-O3 -g2 make\n%install\nCFLAGS=-O2 make install\n"
    );
    let mut spec = parse(src);
    assert_eq!(spec.replace_regex(None, Occurrence::One, &re, "-Os"), Ok(2));
    assert_eq!(
        text(&spec),
        "Name: foo\n%build\nCFLAGS=-Os make\n%install\nCFLAGS=-Os make install\n"
    );
}

#[test]
fn replace_regex_keeps_crlf_and_bytes() {
    let src = b"Name: foo\r\n%build\r\nmake \xff\r\n";
    let mut spec = parse_bytes(src);
    let re = Regex::new("make").expect("regex");
    assert_eq!(
        spec.replace_regex(Some(&sec(SectionKind::Build)), Occurrence::One, &re, "ninja"),
        Ok(1)
    );
    assert_eq!(spec.as_bytes(), b"Name: foo\r\n%build\r\nninja \xff\r\n");
}

#[test]
fn replace_regex_refusals() {
    let src = "Name: foo\n%build\n%if 1\nmake\n%endif\n";
    let re = Regex::new("ninja").expect("regex");
    let err = refused(src, |s| s.replace_regex(None, Occurrence::One, &re, "x"));
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
    let re = Regex::new("(?m)^%endif\n").expect("regex");
    let err = refused(src, |s| {
        s.replace_regex(Some(&sec(SectionKind::Build)), Occurrence::One, &re, "")
    });
    assert!(matches!(err, EditError::WouldBreak(_)), "{err:?}");
    let err = refused(src, |s| {
        s.replace_regex(Some(&sec(SectionKind::Install)), Occurrence::One, &re, "")
    });
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
}

// ----- add_patch ----------------------------------------------------------------

#[test]
fn add_patch_numbers_after_the_highest_and_applies_it() {
    // The strip level is copied from the last %patch; its backup suffix
    // belongs to that patch alone.
    let src = "Name: foo\nSource0:  foo.tar.gz\nPatch0:   a.patch\nPatch5:   b.patch\nBuildRequires: gcc\n\n%prep\n%setup -q\n%patch -P 0 -p1\n%patch -P 5 -p1 -b .b\n\n%build\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("new.patch"), Ok(6));
    assert_eq!(
        text(&spec),
        "Name: foo\nSource0:  foo.tar.gz\nPatch0:   a.patch\nPatch5:   b.patch\nPatch6:   new.patch\nBuildRequires: gcc\n\n%prep\n%setup -q\n%patch -P 0 -p1\n%patch -P 5 -p1 -b .b\n%patch -P 6 -p1\n\n%build\n"
    );
}

#[test]
fn add_patch_copies_the_positional_form() {
    let src = "Name: foo\nPatch0: a.patch\n%prep\n%setup -q\n%patch 0 -p2\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("b.patch"), Ok(1));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch0: a.patch\nPatch1: b.patch\n%prep\n%setup -q\n%patch 0 -p2\n%patch 1 -p2\n"
    );
}

#[test]
fn add_patch_covered_by_autosetup() {
    let src = "Name: foo\nSource: foo.tar.gz\nPatch: a.patch\n\n%prep\n%autosetup -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("b.patch"), Ok(1));
    assert_eq!(
        text(&spec),
        "Name: foo\nSource: foo.tar.gz\nPatch: a.patch\nPatch1: b.patch\n\n%prep\n%autosetup -p1\n"
    );
}

#[test]
fn add_patch_without_patches_goes_after_the_sources() {
    let src = "Name: foo\nSource0: foo.tar.gz\nSource1: extra\nBuildRequires: gcc\n%prep\n%setup -q -n foo\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("fix.patch"), Ok(0));
    assert_eq!(
        text(&spec),
        "Name: foo\nSource0: foo.tar.gz\nSource1: extra\nPatch0: fix.patch\nBuildRequires: gcc\n%prep\n%setup -q -n foo\n%patch -P 0 -p1\n"
    );
}

#[test]
fn add_patch_to_a_patchlist() {
    let src = "Name: foo\nSource: foo.tar.gz\n\n%patchlist\na.patch\nb.patch\n\n%prep\n%autosetup -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("c.patch"), Ok(2));
    assert_eq!(
        text(&spec),
        "Name: foo\nSource: foo.tar.gz\n\n%patchlist\na.patch\nb.patch\nc.patch\n\n%prep\n%autosetup -p1\n"
    );
}

#[test]
fn add_patch_outside_the_anchors_conditional() {
    let src = "Name: foo\nPatch0: a.patch\n%prep\n%setup -q\n%if 0%{?fedora}\n%patch -P 0 -p1\n%endif\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("b.patch"), Ok(1));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch0: a.patch\nPatch1: b.patch\n%prep\n%setup -q\n%if 0%{?fedora}\n%patch -P 0 -p1\n%endif\n%patch -P 1 -p1\n"
    );
}

#[test]
fn add_patch_numbers_above_every_branch() {
    let src = "Name: foo\n%if 1\nPatch3: a.patch\n%else\nPatch7: b.patch\n%endif\n%prep\n%autosetup\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("c.patch"), Ok(8));
    assert_eq!(
        text(&spec),
        "Name: foo\n%if 1\nPatch3: a.patch\n%else\nPatch7: b.patch\n%endif\nPatch8: c.patch\n%prep\n%autosetup\n"
    );
}

#[test]
fn add_patch_refusals() {
    // Nowhere to apply it.
    let src = "Name: foo\nPatch0: a.patch\n%build\nmake\n";
    let err = refused(src, |s| s.add_patch("b.patch"));
    assert!(matches!(err, EditError::NoAnchor(_)), "{err:?}");
    let err = refused(src, |s| s.add_patch("b\n.patch"));
    assert!(matches!(err, EditError::Invalid { .. }), "{err:?}");
}

// ----- remove_patches -----------------------------------------------------------

#[test]
fn remove_patch_and_its_application() {
    let src =
        "Name: foo\nPatch0: a.patch\nPatch1: b.patch\n%prep\n%setup -q\n%patch -P 0 -p1\n%patch 1 -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "a.patch"), Ok(vec![0]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: b.patch\n%prep\n%setup -q\n%patch 1 -p1\n"
    );
    assert!(error_codes(&spec).is_empty());
}

#[test]
fn remove_patch_renumbers_unnumbered_successors() {
    let src = "Name: foo\nPatch: a.patch\nPatch: b.patch\nPatch: c.patch\n%prep\n%setup -q\n%patch -P 0 -p1\n%patch -P1 -p1\n%patch 2 -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "a.patch"), Ok(vec![0]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch: b.patch\nPatch: c.patch\n%prep\n%setup -q\n%patch -P0 -p1\n%patch 1 -p1\n"
    );
    assert!(error_codes(&spec).is_empty());
}

#[test]
fn remove_patch_from_a_multi_number_line() {
    let src = "Name: foo\nPatch1: a.patch\nPatch2: b.patch\n%prep\n%setup -q\n%patch -P 1 -P 2 -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "b.patch"), Ok(vec![2]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: a.patch\n%prep\n%setup -q\n%patch -P 1 -p1\n"
    );
}

#[test]
fn remove_patch_by_url_file_name_with_autosetup() {
    let src = "Name: foo\nPatch0: https://example.com/fix.patch#/foo-fix.patch\nPatch1: other.patch\n%prep\n%autosetup -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "foo-fix.patch"), Ok(vec![0]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: other.patch\n%prep\n%autosetup -p1\n"
    );
}

#[test]
fn remove_patch_keeps_crlf() {
    let src = "Name: foo\r\nPatch0: a.patch\r\nPatch1: b.patch\r\n%prep\r\n%patch -P 0\r\n%patch -P 1\r\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f.starts_with('a')), Ok(vec![0]));
    assert_eq!(
        text(&spec),
        "Name: foo\r\nPatch1: b.patch\r\n%prep\r\n%patch -P 1\r\n"
    );
}

#[test]
fn remove_patch_listed_by_autopatch() {
    let src = "Name: foo\nPatch1: a.patch\nPatch1000: b.patch\nPatch1001: c.patch\n%prep\n%setup -q\n%autopatch -p1 -M 999\n%autopatch -p1 1000 1001\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "b.patch"), Ok(vec![1000]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: a.patch\nPatch1001: c.patch\n%prep\n%setup -q\n%autopatch -p1 -M 999\n%autopatch -p1 1001\n"
    );
    // With no number left, `%autopatch` would apply every patch: the line
    // goes.
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f != "a.patch"), Ok(vec![1000, 1001]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: a.patch\n%prep\n%setup -q\n%autopatch -p1 -M 999\n"
    );
    assert!(error_codes(&spec).is_empty());
}

#[test]
fn remove_patch_renumbers_autopatch_lists() {
    let src = "Name: foo\nPatch: a.patch\nPatch: b.patch\n%prep\n%autosetup -N\n%autopatch 0\necho between\n%autopatch 1\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "a.patch"), Ok(vec![0]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch: b.patch\n%prep\n%autosetup -N\necho between\n%autopatch 0\n"
    );
    assert!(error_codes(&spec).is_empty());
}

#[test]
fn remove_patch_glued_with_another_number() {
    let src = "Name: foo\nPatch0: a.patch\nPatch1: b.patch\n%prep\n%patch0 -P 1 -p1\n";
    let mut spec = parse(src);
    assert_eq!(spec.remove_patches(&|f| f == "a.patch"), Ok(vec![0]));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1: b.patch\n%prep\n%patch -P 1 -p1\n"
    );
    assert!(error_codes(&spec).is_empty());
}

#[test]
fn add_patch_autopatch_with_separate_p_value_covers_all() {
    // `-p 1` is the strip level, not a list of patch 1.
    let src = "Name: foo\nPatch0: a.patch\n%prep\n%autosetup -N\n%autopatch -p 1\n";
    let spec = parse(src);
    assert!(spec.autopatches()[1].listed.is_empty());
    let mut spec = spec;
    assert_eq!(spec.add_patch("b.patch"), Ok(1));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch0: a.patch\nPatch1: b.patch\n%prep\n%autosetup -N\n%autopatch -p 1\n"
    );
}

#[test]
fn add_patch_not_covered_by_an_autopatch_list() {
    let src = "Name: foo\nPatch1000: a.patch\n%prep\n%autosetup -N\n%autopatch -p1 -m 5 1000\n";
    let mut spec = parse(src);
    assert_eq!(spec.add_patch("b.patch"), Ok(1001));
    assert_eq!(
        text(&spec),
        "Name: foo\nPatch1000: a.patch\nPatch1001: b.patch\n%prep\n%autosetup -N\n%autopatch -p1 -m 5 1000\n%patch -P 1001 -p1\n"
    );
}

#[test]
fn remove_patch_refusal() {
    let src = "Name: foo\nPatch0: a.patch\n%prep\n%patch -P 0\n";
    let err = refused(src, |s| s.remove_patches(&|f| f == "zzz.patch"));
    assert!(matches!(err, EditError::NotFound { .. }), "{err:?}");
}

// ----- several edits in a row ------------------------------------------------------

#[test]
fn a_sequence_of_edits_touches_only_its_lines() {
    let src = "Name:\t\tfoo\r\nVersion:\t1.0\r\nRelease:\t1%{?dist}\r\nBUildRequires:\tgcc\r\n\r\n%Description\r\nFoo.\r\n\r\n%Files\r\n/usr/bin/foo";
    let mut spec = parse(src);
    spec.set_tag(&tag("release"), "2%{?dist}", Occurrence::One)
        .expect("set");
    spec.insert_tag(None, "BuildRequires", "make").expect("insert");
    spec.append_lines(&sec(SectionKind::Files), "/usr/share/foo", Occurrence::One)
        .expect("append");
    spec.prepend_lines(&sec(SectionKind::Description), "Really:", Occurrence::One)
        .expect("prepend");
    assert_eq!(
        text(&spec),
        "Name:\t\tfoo\r\nVersion:\t1.0\r\nRelease:\t2%{?dist}\r\nBUildRequires:\tgcc\r\nBuildRequires:\tmake\r\n\r\n%Description\r\nReally:\r\nFoo.\r\n\r\n%Files\r\n/usr/bin/foo\r\n/usr/share/foo"
    );
}
