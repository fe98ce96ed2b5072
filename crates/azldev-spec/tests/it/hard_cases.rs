//! The numbered hard cases of `../shared/docs/spec-hard-cases.md`, each as
//! parse + round trip + the edit behaviour it implies, on small inline specs
//! and, where the document names real occurrences, on real corpus specs.
//! rpm's own rules decide what is right.

use azldev_spec::{
    CondKind, EditError, LineKind, MacroDefKind, Occurrence, SectionKind, SectionSel, SourceKind, Spec,
    TagFamily, TagSel,
};

use crate::common::{
    codes, corpus_spec, error_codes, lines_where, package_names, parse, parse_bytes, section_package,
    section_titles, tags_of, text,
};

fn tag<'a>(name: &'a str) -> TagSel<'a> {
    TagSel {
        name,
        ..Default::default()
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

fn kinds(spec: &Spec) -> Vec<SectionKind> {
    spec.sections().iter().map(|s| s.kind).collect()
}

/// Parse a corpus spec, asserting the round trip and that it has no error
/// diagnostics.
fn corpus(name: &str) -> Spec {
    let spec = parse_bytes(&corpus_spec(name));
    assert_eq!(
        error_codes(&spec),
        Vec::<&str>::new(),
        "{name}: {:?}",
        spec.diagnostics()
    );
    spec
}

/// Apply an edit to a copy and check the result round-trips and has no
/// new error.
fn edit_ok<T>(spec: &Spec, f: impl FnOnce(&mut Spec) -> Result<T, EditError>) -> Spec {
    let mut copy = spec.clone();
    if let Err(e) = f(&mut copy) {
        panic!("edit failed: {e}");
    }
    let again = parse_bytes(copy.as_bytes());
    assert!(error_codes(&again).len() <= error_codes(spec).len());
    copy
}

// ----- How rpm reads a spec: numbering and joining -------------------------

#[test]
fn rpm_numbers_unnumbered_sources_and_patches() {
    let src = "\
Name: foo
Source: a.tar
Source5: b.tar
Source: c.tar
%if 0%{?fedora}
Source: d.tar
%else
Source: e.tar
Source: f.tar
%endif
Source: g.tar
Patch: p.patch
Patch 7: spaced.patch
%patchlist
q.patch
r.patch
%sourcelist
s.tar
";
    let spec = parse(src);
    let got: Vec<(SourceKind, u32, bool, bool)> = spec
        .sources()
        .iter()
        .map(|e| (e.kind, e.number, e.explicit, e.certain))
        .collect();
    use SourceKind::{Patch, Source};
    assert_eq!(
        got,
        [
            (Source, 0, false, true),
            (Source, 5, true, true),
            (Source, 6, false, true),
            (Source, 7, false, true),
            (Source, 7, false, true),
            (Source, 8, false, true),
            // 8 when rpm takes the %if branch, 9 otherwise.
            (Source, 9, false, false),
            (Patch, 0, false, true),
            // rpm reads a number only when it is glued to the name.
            (Patch, 1, false, true),
            (Patch, 2, false, true),
            (Patch, 3, false, true),
            (Source, 10, false, false),
        ]
    );
    assert_eq!(codes(&spec), ["tag-spaced-number"]);
    assert_eq!(spec.source_file_name(&spec.sources()[10]), "r.patch");
}

#[test]
fn rpm_duplicate_numbers_unless_exclusive() {
    let spec = parse("Name: foo\nSource: a\nSource0: b\nPatch1: p\nPatch1: q\n");
    assert_eq!(error_codes(&spec), ["duplicate-source", "duplicate-patch"]);
    // Different branches of one conditional never both apply.
    let spec = parse("Name: foo\n%if 1\nSource1: a\n%else\nSource1: b\n%endif\n");
    assert!(error_codes(&spec).is_empty());
    // Nested inside a branch that also has it: both apply.
    let spec = parse("Name: foo\nSource1: a\n%if 1\nSource1: b\n%endif\n");
    assert_eq!(error_codes(&spec), ["duplicate-source"]);
}

#[test]
fn rpm_joins_lines_on_open_macros_and_backslashes() {
    let src = "\
Name: foo
# see %{foo
Requires: swallowed}
%global long \\
  continued
%build
./configure \\
%if 1
%endif
";
    let spec = parse(src);
    // The comment swallows the next line; the Requires is not a tag.
    assert_eq!(spec.tags().len(), 1);
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::Comment),
        ["# see %{foo\nRequires: swallowed}"]
    );
    assert_eq!(spec.text(spec.macro_defs()[0].body.clone()), "\\\n  continued");
    // A shell continuation does not hide the conditional after it.
    assert_eq!(spec.conds().len(), 1);
    assert!(error_codes(&spec).is_empty());
    // A macro left open swallows the rest of the file: an error.
    let spec = parse("Name: foo\nSummary: %{lua: x\n%files\n");
    assert_eq!(error_codes(&spec), ["unclosed-macro"]);
    assert_eq!(spec.sections().len(), 1);
}

#[test]
fn rpm_conditional_structure_errors() {
    let spec = parse("Name: foo\n%endif\n%if 1\n%else\n%elif 0\n%endif\n%if 1\n");
    assert_eq!(
        error_codes(&spec),
        ["cond-unbalanced", "cond-after-else", "cond-unbalanced"]
    );
    // Nesting to depth 5 (gcc) is fine.
    let deep = "Name: foo\n%if 1\n%if 1\n%ifarch x86_64\n%if 1\n%ifnarch s390x\nRequires: x\n%endif\n%endif\n%endif\n%endif\n%endif\n";
    let spec = parse(deep);
    assert!(error_codes(&spec).is_empty());
    let t = &spec.tags()[1];
    assert_eq!(spec.ctx_depth(spec.lines()[t.line].ctx), 5);
    let s = edit_ok(&spec, |s| s.insert_tag(None, "Requires", "y"));
    assert!(text(&s).ends_with("%endif\n%endif\nRequires: y\n"));
}

// ----- 1. Section headers inside %if; a conditional spanning sections --------

const HC1: &str = "\
Name: foo
Version: 1
%if %{with python}
%package -n python3-foo
Summary: Python bindings

%description -n python3-foo
Bindings.
%endif

%build
make
%if %{with docs}
make doc

%install
make install-doc
%endif
make install

%files
/usr/bin/foo
";

#[test]
fn hc01_headers_inside_conditionals() {
    let spec = parse(HC1);
    assert_eq!(
        section_titles(&spec),
        [
            "preamble",
            "%package -n python3-foo",
            "%description -n python3-foo",
            "%build",
            "%install",
            "%files"
        ]
    );
    assert_eq!(package_names(&spec), ["foo", "python3-foo"]);
    let secs = spec.sections();
    // The %package and %description headers sit in the %if branch.
    assert_eq!(spec.ctx_depth(secs[1].ctx), 1);
    assert_eq!(spec.ctx_depth(secs[2].ctx), 1);
    assert_eq!(secs[1].ctx, secs[2].ctx);
    // %install starts inside the %if that %build opened.
    assert_eq!(spec.ctx_depth(secs[3].ctx), 0);
    assert_eq!(spec.ctx_depth(secs[4].ctx), 1);
    assert_eq!(spec.ctx_depth(secs[5].ctx), 0);
    // The conditional that spans sections is not part of %build's own lines.
    let build_own = spec.section_own_lines(3);
    let last = &spec.lines()[build_own.end - 1];
    assert_eq!(spec.text(last.start..last.content_end), "make");
    assert!(error_codes(&spec).is_empty());
    assert_eq!(spec.conds().len(), 2);
    assert!(spec.conds().iter().all(|c| c.endif.is_some()));
}

#[test]
fn hc01_edits_respect_conditional_sections() {
    let spec = parse(HC1);
    // Appending to %build goes before the %if that belongs to %install too.
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Build), "make check", Occurrence::One)
    });
    assert!(
        text(&s).contains("%build\nmake\nmake check\n%if %{with docs}\n"),
        "{}",
        text(&s)
    );
    // A tag for the conditional sub-package stays inside its %if.
    let s = edit_ok(&spec, |s| s.add_tag(Some("python3-foo"), "Requires", "python3"));
    assert!(
        text(&s).contains("Summary: Python bindings\nRequires: python3\n\n%description -n python3-foo"),
        "{}",
        text(&s)
    );
    // Appending to %install stops before the %endif of the %if it starts in.
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Install), "rm -f x", Occurrence::One)
    });
    assert!(
        text(&s).contains("make install-doc\nrm -f x\n%endif\nmake install\n"),
        "{}",
        text(&s)
    );
    // Removing the conditional sub-package keeps %if/%endif balanced.
    let s = edit_ok(&spec, |s| s.remove_subpackage("python3-foo"));
    assert!(
        text(&s).starts_with("Name: foo\nVersion: 1\n%if %{with python}\n%endif\n"),
        "{}",
        text(&s)
    );
}

#[test]
fn hc01_corpus_package_declared_in_a_conditional_branch() {
    // `%package -n %{pkgname}` in the %if branch; the lines after its %else
    // belong to that %package section when rpm takes the branch.
    let spec = corpus("postgresql18-decoderbufs");
    let pkgs = package_names(&spec);
    assert_eq!(
        pkgs,
        [
            "postgresql18-decoderbufs",
            "%{pkgname}",
            "postgresql18-decoderbufs-llvmjit"
        ]
    );
    let decl = spec.sections()[spec.packages()[1].declared_by[0]].ctx;
    assert_eq!(spec.ctx_depth(decl), 1);
    let files: Vec<_> = spec.sections_of(SectionKind::Files, Some(1));
    assert_eq!(files.len(), 1, "%files -n %{{pkgname}} is the same package");
    let jit = spec.sections_of(SectionKind::Files, Some(2));
    assert_eq!(spec.ctx_depth(spec.sections()[jit[0]].ctx), 1);
    // A new main-package tag goes to the unconditional part of the preamble.
    let s = edit_ok(&spec, |s| s.add_tag(None, "Requires", "foo"));
    assert!(
        text(&s).contains("/v%{full_version}.tar.gz\nRequires:\tfoo\n\n%if %?postgresql_default\n"),
        "{}",
        text(&s)
    );
}

#[test]
fn hc01_corpus_subpackage_and_its_files_in_one_conditional() {
    let spec = corpus("weldr-client");
    let tests = spec.find_package(Some("tests")).expect("a tests sub-package");
    let secs: Vec<_> = (0..spec.sections().len())
        .filter(|&s| spec.sections()[s].package == Some(tests))
        .collect();
    assert_eq!(secs.len(), 3, "%package, %description and %files of -tests");
    assert!(secs.iter().all(|&s| spec.ctx_depth(spec.sections()[s].ctx) == 1));
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sub_sec(SectionKind::Files, "tests"), "/extra", Occurrence::One)
    });
    let t = text(&s);
    let at = t.find("/extra\n").expect("appended");
    assert!(
        t[at..].starts_with("/extra\n%endif\n"),
        "inside the conditional, before %endif"
    );
}

// ----- 2. The same section in both branches ----------------------------------

const HC2: &str = "\
Name: foo
%package devel
Summary: d
%description devel
d

%if 0%{?rhel}
%files devel
/usr/include/rhel.h
%else
%files devel
/usr/include/fedora.h
%endif
";

#[test]
fn hc02_same_section_in_both_branches_is_ambiguous() {
    let spec = parse(HC2);
    let files = spec.sections_of(SectionKind::Files, Some(1));
    assert_eq!(files.len(), 2);
    let (a, b) = (spec.sections()[files[0]].ctx, spec.sections()[files[1]].ctx);
    assert!(spec.exclusive(a, b), "the two %files are in exclusive branches");
    let mut s = spec.clone();
    let err = s
        .append_lines(&sub_sec(SectionKind::Files, "devel"), "/x", Occurrence::One)
        .expect_err("ambiguous");
    assert_eq!(
        err,
        EditError::Ambiguous {
            what: "section %files of package `devel`".into(),
            lines: vec![8, 11]
        }
    );
    assert_eq!(s.as_bytes(), HC2.as_bytes());
    // The overlay can say which one, or all.
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sub_sec(SectionKind::Files, "devel"), "/x", Occurrence::Nth(0))
    });
    assert!(text(&s).contains("rhel.h\n/x\n%else\n"));
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sub_sec(SectionKind::Files, "foo-devel"), "/x", Occurrence::All)
    });
    assert!(text(&s).contains("rhel.h\n/x\n%else\n") && text(&s).contains("fedora.h\n/x\n%endif\n"));
    let mut s = spec.clone();
    let err = s
        .remove_section(&sub_sec(SectionKind::Files, "devel"), Occurrence::One)
        .expect_err("ambiguous");
    assert!(matches!(err, EditError::Ambiguous { .. }));
}

#[test]
fn hc02_corpus_files_in_both_branches() {
    let spec = corpus("python-autopage");
    let files = spec
        .find_sections(&sub_sec(SectionKind::Files, "python3-autopage"))
        .expect("found");
    assert_eq!(files.len(), 2);
    let mut s = spec.clone();
    assert_eq!(
        s.append_lines(
            &sub_sec(SectionKind::Files, "python3-autopage"),
            "/x",
            Occurrence::One
        ),
        Err(EditError::Ambiguous {
            what: "section %files of package `python3-autopage`".into(),
            lines: vec![88, 90]
        })
    );
    let s = edit_ok(&spec, |s| {
        s.append_lines(
            &sub_sec(SectionKind::Files, "python3-autopage"),
            "/x",
            Occurrence::All,
        )
    });
    assert_eq!(text(&s).matches("\n/x\n").count(), 2);
}

// ----- 3. Macro bodies with header- and tag-like lines -----------------------

#[test]
fn hc03_macro_bodies_are_not_structure() {
    let src = "\
Name: fonts
Version: 1
%define pkg() \\
%package -n x-%1\\
Summary: %* fonts \\
Requires: x-common\\
%description -n x-%1\\
The %1 fonts.\\
%files -n x-%1\\
%{_datadir}/fonts/%1
%pkg sans Sans
%pkg serif Serif

%description
All.
";
    let spec = parse(src);
    assert_eq!(kinds(&spec), [SectionKind::Preamble, SectionKind::Description]);
    assert_eq!(package_names(&spec), ["fonts"]);
    assert_eq!(
        tags_of(&spec, 0),
        [("Name".into(), "fonts".into()), ("Version".into(), "1".into())]
    );
    let defs = spec.macro_defs();
    assert_eq!(defs.len(), 1);
    assert_eq!(spec.text(defs[0].name.clone()), "pkg");
    assert_eq!(
        defs[0].params.clone().map(|p| spec.text(p).into_owned()),
        Some(String::new())
    );
    assert_eq!(spec.lines()[defs[0].line].phys_count, 8);
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::MacroCall),
        ["%pkg sans Sans", "%pkg serif Serif"]
    );
    assert!(error_codes(&spec).is_empty());
    // `Summary`/`Requires` in the body are not tags of the main package.
    let mut s = spec.clone();
    assert!(matches!(
        s.set_tag(&tag("Summary"), "x", Occurrence::One),
        Err(EditError::NotFound { .. })
    ));
    assert!(matches!(
        s.remove_tags(&tag("Requires"), Occurrence::All),
        Err(EditError::NotFound { .. })
    ));
    // A new tag goes after Version, not into the body.
    let s = edit_ok(&spec, |s| s.insert_tag(None, "Requires", "y"));
    assert!(text(&s).starts_with("Name: fonts\nVersion: 1\nRequires: y\n%define pkg() \\\n"));
}

#[test]
fn hc03_corpus_macro_generated_langpacks() {
    let spec = corpus("tesseract-tessdata");
    // Only the real headers count; the ones in `%define lang_subpkg()` and
    // `%define script_subpkg()` do not.
    assert!(
        spec.packages()
            .iter()
            .all(|p| !p.name.contains("langpack-%") && !p.name.contains("script-%"))
    );
    let defs: Vec<String> = spec
        .macro_defs()
        .iter()
        .map(|d| spec.text(d.name.clone()).into_owned())
        .collect();
    assert!(defs.contains(&"lang_subpkg".to_owned()) && defs.contains(&"script_subpkg".to_owned()));
    let def = spec
        .macro_defs()
        .iter()
        .find(|d| spec.text(d.name.clone()) == "lang_subpkg")
        .expect("defined");
    assert_eq!(
        def.params.clone().map(|p| spec.text(p).into_owned()),
        Some("l:m:n:".into())
    );
    let body = spec.text(def.body.clone());
    assert!(body.contains("%package -n tesseract-langpack-%{macrolang}\\\n"));
    assert!(body.ends_with("%{_datadir}/tesseract/tessdata/%{macrolang}.*"));
    // The 123 calls follow a %description: text to us, expanded by rpm.
    let calls = lines_where(&spec, |k| matches!(k, LineKind::Text | LineKind::MacroCall));
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("%lang_subpkg ")).count(),
        123
    );
}

// ----- 4. Sub-packages generated by macros -----------------------------------

#[test]
fn hc04_macro_generated_subpackages_are_opaque() {
    let src = "\
Name: foo
Version: 1
%{?python_subpackages}
%fontpkg -a
%gometa -f
%description
d
%files -n foo-fonts
/f
";
    let spec = parse(src);
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::MacroCall),
        ["%{?python_subpackages}", "%fontpkg -a", "%gometa -f"]
    );
    assert_eq!(spec.tags().len(), 2);
    // `%files -n foo-fonts` may be declared by `%fontpkg`: no warning, and
    // the section is left without a known package rather than guessed.
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
    let files = spec.sections().iter().position(|s| s.kind == SectionKind::Files);
    assert_eq!(files.map(|f| spec.sections()[f].package), Some(None));
    // Editing the main package still works and keeps the opaque lines.
    let s = edit_ok(&spec, |s| s.add_tag(None, "License", "MIT"));
    assert_eq!(
        text(&s),
        "Name: foo\nVersion: 1\nLicense: MIT\n%{?python_subpackages}\n%fontpkg -a\n%gometa -f\n%description\nd\n%files -n foo-fonts\n/f\n"
    );
    // Without any opaque line, such a %files is reported.
    let spec = parse("Name: foo\n%description\nd\n%files -n foo-fonts\n/f\n");
    assert_eq!(codes(&spec), ["package-undeclared"]);
}

#[test]
fn hc04_corpus_fontpkg_python_subpackages_gometa() {
    let spec = corpus("wqy-zenhei-fonts");
    assert!(lines_where(&spec, |k| *k == LineKind::MacroCall).contains(&"%fontpkg".to_owned()));
    assert!(codes(&spec).iter().all(|c| *c != "package-undeclared"));

    let spec = corpus("python-tensile");
    assert!(lines_where(&spec, |k| *k == LineKind::MacroCall).contains(&"%python_subpackages".to_owned()));

    let spec = corpus("butane");
    assert!(lines_where(&spec, |k| *k == LineKind::MacroCall).contains(&"%gometa -f".to_owned()));
    assert_eq!(package_names(&spec), ["butane", "butane-redistributable"]);
    let s = edit_ok(&spec, |s| s.insert_tag(Some("redistributable"), "Provides", "x"));
    parse_bytes(s.as_bytes());
}

// ----- 5. Tags wrapped in conditional expansion -------------------------------

#[test]
fn hc05_tags_in_macro_conditionals_are_opaque() {
    let src = "Name: foo\nRequires: a\n%{?fedora:Recommends: foo}\n%{!?rhel:Requires: b}\n";
    let spec = parse(src);
    assert_eq!(
        tags_of(&spec, 0),
        [("Name".into(), "foo".into()), ("Requires".into(), "a".into())]
    );
    assert_eq!(lines_where(&spec, |k| *k == LineKind::MacroCall).len(), 2);
    // set on Requires sees only the real tag; Recommends is not a tag.
    let s = edit_ok(&spec, |s| s.set_tag(&tag("Requires"), "c", Occurrence::One));
    assert_eq!(
        text(&s),
        "Name: foo\nRequires: c\n%{?fedora:Recommends: foo}\n%{!?rhel:Requires: b}\n"
    );
    let mut s = spec.clone();
    assert!(matches!(
        s.remove_tags(&tag("Recommends"), Occurrence::All),
        Err(EditError::NotFound { .. })
    ));
}

#[test]
fn hc05_corpus_isa_provides() {
    let spec = corpus("qt");
    let calls = lines_where(&spec, |k| *k == LineKind::MacroCall);
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("%{?_isa:Provides: qt4%{?_isa} ="))
    );
    // None of them became a Provides tag.
    assert!(
        spec.tags()
            .iter()
            .all(|t| !spec.text(t.value.clone()).contains("_isa:"))
    );
}

// ----- 6. Multi-line values -----------------------------------------------------

#[test]
fn hc06_multiline_tag_values() {
    let src = "Name: foo\nLicense: %{shrink:\n    MIT AND\n    (MIT OR Apache-2.0)\n}\nURL: https://x\n";
    let spec = parse(src);
    let t = spec.find_tags(&tag("License")).expect("found");
    assert_eq!(t.len(), 1);
    assert_eq!(
        spec.tag_value(t[0]),
        "%{shrink:\n    MIT AND\n    (MIT OR Apache-2.0)\n}"
    );
    assert_eq!(spec.lines()[spec.tags()[t[0]].line].phys_count, 4);
    let s = edit_ok(&spec, |s| s.set_tag(&tag("License"), "MIT", Occurrence::One));
    assert_eq!(text(&s), "Name: foo\nLicense: MIT\nURL: https://x\n");
    // A tag added after it goes after the whole logical line.
    let s = edit_ok(&spec, |s| s.insert_tag(None, "License", "BSD"));
    assert_eq!(
        text(&s),
        "Name: foo\nLicense: %{shrink:\n    MIT AND\n    (MIT OR Apache-2.0)\n}\nLicense: BSD\nURL: https://x\n"
    );
}

// ----- 7. %{expand:} and %{lua:} bodies ---------------------------------------------

#[test]
fn hc07_expand_and_lua_bodies() {
    let src = "\
%global _description %{expand:
This is foo.

%files
Summary: not a tag
%package not-a-package
}
%define autorelease(e:s:pb:n) %{?-p:0.}%{lua:
    release_number = 3;
    print(release_number);
}%{?-e:.%{-e*}}
%{lua:
for i = 1, 3 do
  print(\"%package lua\" .. i .. \"\\n\")
end
}
Name: foo
Release: %autorelease
%description %_description
";
    let spec = parse(src);
    assert_eq!(kinds(&spec), [SectionKind::Preamble, SectionKind::Description]);
    let defs = spec.macro_defs();
    assert_eq!(defs.len(), 2);
    assert_eq!(spec.lines()[defs[0].line].phys_count, 7);
    assert_eq!(spec.text(defs[1].name.clone()), "autorelease");
    assert_eq!(
        defs[1].params.clone().map(|p| spec.text(p).into_owned()),
        Some("e:s:pb:n".into())
    );
    assert_eq!(spec.lines()[defs[1].line].phys_count, 4);
    let lua = lines_where(&spec, |k| *k == LineKind::MacroCall);
    assert_eq!(lua.len(), 1);
    assert!(lua[0].starts_with("%{lua:\n") && lua[0].ends_with("end\n}"));
    assert_eq!(
        tags_of(&spec, 0),
        [
            ("Name".into(), "foo".into()),
            ("Release".into(), "%autorelease".into())
        ]
    );
    assert!(error_codes(&spec).is_empty());
    let s = edit_ok(&spec, |s| {
        s.set_tag(&tag("Release"), "5%{?dist}", Occurrence::One)
    });
    assert!(text(&s).contains("\nRelease: 5%{?dist}\n"));
    let s = edit_ok(&spec, |s| {
        s.prepend_lines(&sec(SectionKind::Preamble), "%global x 1", Occurrence::One)
    });
    assert!(text(&s).starts_with("%global x 1\n%global _description %{expand:\n"));
}

#[test]
fn hc07_corpus_rpmautospec_block() {
    let spec = corpus("byaccj");
    let def = &spec.macro_defs()[0];
    assert_eq!(spec.text(def.name.clone()), "autorelease");
    assert_eq!(spec.lines()[def.line].phys_count, 5);
    let r = spec.find_tags(&tag("Release")).expect("found");
    assert_eq!(spec.tag_value(r[0]), "%autorelease");
    let s = edit_ok(&spec, |s| {
        s.set_tag(&tag("Release"), "39%{?dist}", Occurrence::One)
    });
    assert!(text(&s).contains("\nRelease:        39%{?dist}\n"));
}

// ----- 8. Header with a trailing macro as its body ---------------------------------

#[test]
fn hc08_header_with_body_macro() {
    let src = "\
%global _description %{expand:
Foo does things.}
Name: python-foo
%description %_description

%package -n python3-foo
Summary: py
%description -n python3-foo %{_description}

%package devel
Summary: dev
%description devel %_description
";
    let spec = parse(src);
    assert_eq!(
        package_names(&spec),
        ["python-foo", "python3-foo", "python-foo-devel"]
    );
    let descs: Vec<_> = (0..spec.sections().len())
        .filter(|&s| spec.sections()[s].kind == SectionKind::Description)
        .map(|s| section_package(&spec, s))
        .collect();
    assert_eq!(
        descs,
        [Some("python-foo"), Some("python3-foo"), Some("python-foo-devel")]
    );
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
    let s = edit_ok(&spec, |s| {
        s.append_lines(
            &sub_sec(SectionKind::Description, "python3-foo"),
            "More.",
            Occurrence::One,
        )
    });
    assert!(text(&s).contains("%description -n python3-foo %{_description}\nMore.\n\n%package devel"));
}

#[test]
fn hc08_header_options_from_a_macro() {
    // rpm expands the header line before reading its options
    // (python-tensile in the corpus).
    let src = "\
%global python_files -n python3-foo-devel
%global doc_files doc
%global nothing %{nil}
Name: python-foo
%package -n python3-foo-devel
Summary: d
%description -n python3-foo-devel
d
%package doc
Summary: d
%description doc
d
%description
m
%files %{python_files}
%files %doc_files
%files %{nothing}
";
    let spec = parse(src);
    let files: Vec<_> = (0..spec.sections().len())
        .filter(|&s| spec.sections()[s].kind == SectionKind::Files)
        .map(|s| section_package(&spec, s))
        .collect();
    assert_eq!(
        files,
        [
            Some("python3-foo-devel"),
            Some("python-foo-doc"),
            Some("python-foo")
        ]
    );
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
}

#[test]
fn hc08_surplus_plain_words_are_an_error() {
    let spec = parse("Name: foo\n%package devel\nSummary: d\n%description devel extra\nd\n");
    assert_eq!(error_codes(&spec), ["header-extra-args"]);
}

#[test]
fn hc08_corpus_common_description() {
    let spec = corpus("python-configargparse");
    assert_eq!(
        package_names(&spec),
        ["python-configargparse", "python3-configargparse"]
    );
    let d = spec.sections_of(SectionKind::Description, Some(1));
    assert_eq!(d.len(), 1);
}

// ----- 9. Header options in any order ----------------------------------------------

#[test]
fn hc09_header_options_in_any_order() {
    let src = "\
Name: foo
%package -n foo
%package devel
Summary: d
%files -f x.lang -n foo
%files devel -f devel.lang
%post -p /sbin/ldconfig devel
%triggerin -n foo -- bar >= 1
%description -l de
Deutsch.
%description -l de devel
Deutsch.
%postun devel -p <lua>
print(1)
";
    let spec = parse(src);
    let got: Vec<(SectionKind, Option<&str>)> = (1..spec.sections().len())
        .map(|s| (spec.sections()[s].kind, section_package(&spec, s)))
        .collect();
    assert_eq!(
        got,
        [
            (SectionKind::Package, Some("foo")),
            (SectionKind::Package, Some("foo-devel")),
            (SectionKind::Files, Some("foo")),
            (SectionKind::Files, Some("foo-devel")),
            (SectionKind::Post, Some("foo-devel")),
            (SectionKind::Triggerin, Some("foo")),
            (SectionKind::Description, Some("foo")),
            (SectionKind::Description, Some("foo-devel")),
            (SectionKind::Postun, Some("foo-devel")),
        ]
    );
    let secs = spec.sections();
    assert_eq!(
        secs[3]
            .args
            .option(b'f')
            .and_then(|o| o.value.clone())
            .map(|r| spec.text(r).into_owned()),
        Some("x.lang".into())
    );
    assert_eq!(
        secs[5]
            .args
            .option(b'p')
            .and_then(|o| o.value.clone())
            .map(|r| spec.text(r).into_owned()),
        Some("/sbin/ldconfig".into())
    );
    assert_eq!(
        secs[6].args.trigger.clone().map(|r| spec.text(r).into_owned()),
        Some("bar >= 1".into())
    );
    assert_eq!(
        secs[7]
            .args
            .option(b'l')
            .and_then(|o| o.value.clone())
            .map(|r| spec.text(r).into_owned()),
        Some("de".into())
    );
    // `Name: foo` + `%package -n foo` is the main package declared again.
    assert_eq!(spec.packages().len(), 2);
    // The edit API addresses them by package whatever the option order.
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sub_sec(SectionKind::Post, "devel"), "true", Occurrence::One)
    });
    assert!(text(&s).contains("%post -p /sbin/ldconfig devel\ntrue\n%triggerin"));
}

#[test]
fn hc09_option_missing_its_value() {
    let spec = parse("Name: foo\n%files -f\n/a\n");
    assert_eq!(error_codes(&spec), ["header-option"]);
    let spec = parse("Name: foo\n%package\nSummary: x\n");
    assert_eq!(error_codes(&spec), ["package-no-name"]);
}

#[test]
fn hc09_corpus_files_options_before_the_name() {
    let spec = corpus("policycoreutils");
    let by_title = |t: &str| {
        (0..spec.sections().len())
            .find(|&s| spec.section_title(s) == t)
            .unwrap_or_else(|| panic!("no {t}"))
    };
    let s = by_title("%files -f selinux-python.lang -n python3-policycoreutils");
    assert_eq!(section_package(&spec, s), Some("python3-policycoreutils"));
    let s = by_title("%files -f selinux-sandbox.lang sandbox");
    assert_eq!(section_package(&spec, s), Some("policycoreutils-sandbox"));
    let s = by_title("%files -f %{name}.lang");
    assert_eq!(section_package(&spec, s), Some("policycoreutils"));
}

// ----- 10. %build -a / %install -p; BuildSystem ---------------------------------

#[test]
fn hc10_append_prepend_build_sections() {
    let src = "\
Name: foo
BuildSystem: pyproject
BuildOption(install): -l foo
%description
d
%build -p
echo before
%build -a
echo after
%install -a
rm -f x
%files -f %{pyproject_files}
";
    let spec = parse(src);
    assert!(error_codes(&spec).is_empty(), "{:?}", spec.diagnostics());
    let builds = spec.sections_of(SectionKind::Build, None);
    assert_eq!(builds.len(), 2);
    assert!(spec.sections()[builds[0]].args.has_flag(b'p'));
    assert!(spec.sections()[builds[1]].args.has_flag(b'a'));
    assert_eq!(
        tags_of(&spec, 0),
        [
            ("Name".into(), "foo".into()),
            ("BuildSystem".into(), "pyproject".into()),
            ("BuildOption".into(), "-l foo".into())
        ]
    );
    // Several %build sections: the overlay must say which.
    let mut s = spec.clone();
    assert!(matches!(
        s.append_lines(&sec(SectionKind::Build), "x", Occurrence::One),
        Err(EditError::Ambiguous { lines, .. }) if lines == [6, 8]
    ));
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Build), "x", Occurrence::Nth(1))
    });
    assert!(text(&s).contains("echo after\nx\n%install -a\n"));
    // No %check at all (BuildSystem provides it): NotFound, not a guess.
    let mut s = spec.clone();
    assert!(matches!(
        s.append_lines(&sec(SectionKind::Check), "x", Occurrence::One),
        Err(EditError::NotFound { .. })
    ));
    let s = edit_ok(&spec, |s| {
        s.set_tag(&tag("BuildOption(install)"), "-l bar", Occurrence::One)
    });
    assert!(text(&s).contains("BuildOption(install): -l bar\n"));
}

#[test]
fn hc10_corpus_buildsystem_without_build() {
    let spec = corpus("myst-nb");
    assert!(spec.find_tags(&tag("BuildSystem")).map(|t| t.len()) == Ok(1));
    let builds = spec.sections_of(SectionKind::Build, None);
    assert_eq!(builds.len(), 1);
    assert!(spec.sections()[builds[0]].args.has_flag(b'a'));
    let spec = corpus("python-configargparse");
    assert!(spec.sections_of(SectionKind::Build, None).is_empty());
    assert!(
        spec.sections()[spec.sections_of(SectionKind::Check, None)[0]]
            .args
            .has_flag(b'a')
    );
}

// ----- 11. Conditionalised Version ------------------------------------------------------

#[test]
fn hc11_conditional_version() {
    let src = "\
Name: foo
%if 0%{?commit:1}
Version: %{ver}^git%{short}
%else
Version: %{ver}
%endif
Release: 1
";
    let spec = parse(src);
    let v = spec.find_tags(&tag("Version")).expect("found");
    assert_eq!(v.len(), 2);
    let ctx = |t: usize| spec.lines()[spec.tags()[t].line].ctx;
    assert!(spec.exclusive(ctx(v[0]), ctx(v[1])));
    // A plain "set Version" must not silently change both.
    let mut s = spec.clone();
    assert_eq!(
        s.set_tag(&tag("Version"), "2", Occurrence::One),
        Err(EditError::Ambiguous {
            what: "tag `Version`".into(),
            lines: vec![3, 5]
        })
    );
    let s = edit_ok(&spec, |s| s.set_tag(&tag("Version"), "2", Occurrence::Nth(1)));
    assert_eq!(
        text(&s),
        "Name: foo\n%if 0%{?commit:1}\nVersion: %{ver}^git%{short}\n%else\nVersion: 2\n%endif\nRelease: 1\n"
    );
    // The evaluator does not guess a version defined in two branches.
    assert!(!spec.expand("%{version}").resolved);
}

#[test]
fn hc11_corpus_systemd_version_in_both_branches() {
    let spec = corpus("systemd");
    let mut s = spec.clone();
    assert_eq!(
        s.set_tag(&tag("Version"), "259", Occurrence::One),
        Err(EditError::Ambiguous {
            what: "tag `Version`".into(),
            lines: vec![84, 86]
        })
    );
    assert_eq!(s.as_bytes(), spec.as_bytes());
}

// ----- 12. Version/Release through macros --------------------------------------------------

#[test]
fn hc12_version_and_release_through_macros() {
    let src = "\
%global majorver 3
%global minorver 14
%global baserelease 3
Name: python%{majorver}%{minorver}
Version: %{majorver}.%{minorver}.2
Release: %{baserelease}%{?dist}
%package devel
Summary: d
%files -n python314-devel
";
    let spec = parse(src);
    assert_eq!(spec.expand("%{version}").text, "3.14.2");
    assert_eq!(spec.expand("%{name}-%{version}").text, "python314-3.14.2");
    assert!(
        !spec.expand("%{release}").resolved,
        "%{{?dist}} is the build system's"
    );
    assert_eq!(package_names(&spec), ["python314", "python314-devel"]);
    let f = spec.sections_of(SectionKind::Files, Some(1));
    assert_eq!(f.len(), 1, "%files -n python314-devel is `%package devel`");
    // Bumping the release edits the tag as written; the macro stays.
    let s = edit_ok(&spec, |s| {
        s.set_tag(&tag("Release"), "%{baserelease}.1%{?dist}", Occurrence::One)
    });
    assert!(text(&s).contains("\nRelease: %{baserelease}.1%{?dist}\n%package devel\n"));
}

#[test]
fn hc12_corpus_cmake_baserelease() {
    let spec = corpus("cmake");
    let r = spec.find_tags(&tag("Release")).expect("found");
    assert_eq!(spec.tag_value(r[0]), "%{baserelease}%{?dist}");
    // %{pkg_version} is defined in both branches of a conditional: the
    // version is not guessed.
    assert!(!spec.expand("%{version}").resolved);
    assert_eq!(spec.expand("%{baserelease}").text, "3");
    let s = edit_ok(&spec, |s| {
        s.set_tag(&tag("Release"), "%{baserelease}.azl1%{?dist}", Occurrence::One)
    });
    assert!(text(&s).contains("\nRelease:        %{baserelease}.azl1%{?dist}\n"));
}

// ----- 13. Macro definition forms -------------------------------------------------------------

#[test]
fn hc13_macro_definition_forms() {
    let src = "\
%global g 1
%define d 2
%undefine u
%define f(a:) %{-a*}
%bcond x 1
%bcond_with y
%bcond_without z
  %global indented 3
%{!?w: %global w 4}
%dnl %global commented 5
# %global hashed 6
Name: foo-%{w}
";
    let spec = parse(src);
    let got: Vec<(MacroDefKind, String)> = spec
        .macro_defs()
        .iter()
        .map(|d| (d.kind, spec.text(d.name.clone()).into_owned()))
        .collect();
    assert_eq!(
        got,
        [
            (MacroDefKind::Global, "g".into()),
            (MacroDefKind::Define, "d".into()),
            (MacroDefKind::Undefine, "u".into()),
            (MacroDefKind::Define, "f".into()),
            (MacroDefKind::Bcond, "x".into()),
            (MacroDefKind::BcondWith, "y".into()),
            (MacroDefKind::BcondWithout, "z".into()),
            (MacroDefKind::Global, "indented".into()),
        ]
    );
    assert_eq!(
        spec.text(spec.macro_defs()[3].params.clone().expect("parametric")),
        "a:"
    );
    assert_eq!(spec.text(spec.macro_defs()[0].body.clone()), "1");
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::MacroCall),
        ["%{!?w: %global w 4}"]
    );
    assert_eq!(lines_where(&spec, |k| *k == LineKind::Comment).len(), 2);
    assert_eq!(spec.expand("%{g}%{d}%{indented}").text, "123");
    // `w` is defined by an opaque construct: not guessed.
    assert!(!spec.expand("%{w}").resolved);
    assert!(!spec.packages()[0].resolved);
    // A parametric macro or an undefined one cannot be expanded.
    assert!(!spec.expand("%{f}").resolved);
    assert!(!spec.expand("%{u}").resolved);
    // %dnl and # lines define nothing.
    assert!(!spec.expand("%{commented}").resolved);
}

#[test]
fn hc13_redefinition_is_not_guessed() {
    let spec = parse(
        "%global v 1\n%if 0%{?rhel}\n%global v 2\n%endif\nName: foo%{v}\n%package -n bar%{v}\nSummary: x\n",
    );
    assert_eq!(package_names(&spec), ["foo%{v}", "bar%{v}"]);
    assert!(spec.packages().iter().all(|p| !p.resolved));
    // Same body twice is still known.
    let spec = parse("%global v 1\n%global v 1\nName: foo%{v}\n");
    assert_eq!(package_names(&spec), ["foo1"]);
}

// ----- 14. Patch application ---------------------------------------------------------------

#[test]
fn hc14_patch_application_forms() {
    let src = "\
Name: foo
Patch0: a.patch
Patch3: b.patch
Patch100: c.patch
Patch150: d.patch
%prep
%setup -q
%patch 3 -p1
%patch -P 0 -p1 -b .a
%patch -P3 -F 2
%autopatch -m 100 -M 199
";
    let spec = parse(src);
    let apps: Vec<Vec<u32>> = spec
        .patch_applications()
        .iter()
        .map(|a| a.numbers.iter().map(|n| n.number).collect())
        .collect();
    assert_eq!(apps, [vec![3], vec![0], vec![3]]);
    let opts: Vec<String> = spec.patch_applications()[1]
        .options
        .iter()
        .map(|r| spec.text(r.clone()).into_owned())
        .collect();
    assert_eq!(opts, ["-p1", "-b .a"]);
    let auto = &spec.autopatches()[0];
    assert_eq!((auto.min, auto.max), (Some(100), Some(199)));
    assert!(auto.covers(150) && !auto.covers(3) && !auto.covers(200));
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
    // Removing b.patch removes both %patch lines that apply it.
    let s = edit_ok(&spec, |s| s.remove_patches(&|f| f == "b.patch"));
    assert_eq!(
        text(&s),
        "Name: foo\nPatch0: a.patch\nPatch100: c.patch\nPatch150: d.patch\n%prep\n%setup -q\n%patch -P 0 -p1 -b .a\n%autopatch -m 100 -M 199\n"
    );
    assert!(
        s.patch_applications()
            .iter()
            .all(|a| a.numbers.iter().all(|n| n.number != 3))
    );
    // d.patch is covered by %autopatch: nothing else to remove.
    let s = edit_ok(&spec, |s| s.remove_patches(&|f| f == "d.patch"));
    assert!(!text(&s).contains("d.patch") && text(&s).contains("%autopatch -m 100 -M 199\n"));
}

#[test]
fn hc14_patch_for_a_missing_patch_is_reported() {
    let spec = parse("Name: foo\nPatch1: a.patch\n%prep\n%patch -P 2 -p1\n%patch 1\n");
    assert_eq!(error_codes(&spec), ["patch-missing"]);
    // Adding a patch line for a missing patch is refused.
    let mut s = parse("Name: foo\nPatch1: a.patch\n%prep\n%patch 1\n");
    let err = s
        .append_lines(&sec(SectionKind::Prep), "%patch 7", Occurrence::One)
        .expect_err("refused");
    assert!(matches!(err, EditError::WouldBreak(_)));
}

#[test]
fn hc14_autopatch_numbers_override_ranges() {
    // rpm's %autopatch ignores -m/-M when numbers are listed, and fails
    // ("no such patch") for a listed number that does not exist.
    let spec = parse("Name: foo\nPatch1: a.patch\nPatch7: b.patch\n%prep\n%autopatch -m 5 1\n");
    let auto = &spec.autopatches()[0];
    assert_eq!(auto.listed, [1]);
    assert!(auto.covers(1) && !auto.covers(7));
    assert!(codes(&spec).is_empty());
    let spec = parse("Name: foo\nPatch1: a.patch\n%prep\n%autopatch -v 1 2\n");
    assert_eq!(error_codes(&spec), ["patch-missing"]);
    let spec = parse("Name: foo\nPatch1: a.patch\n%prep\n%autosetup -N\n%autopatch -p 2\n");
    assert!(spec.autopatches()[1].covers(1));
}

#[test]
fn hc14_corpus_autopatch_lists() {
    // %autopatch -M 999 for the upstream patches, then `%autopatch 1000`.
    let spec = corpus("python-django5");
    let listed: Vec<u32> = spec.autopatches().iter().flat_map(|a| a.listed.clone()).collect();
    assert_eq!(listed, [1000, 1001]);
    let s = edit_ok(&spec, |s| {
        s.remove_patches(&|f| f == "django-py314-skip-failing-tests.diff")
    });
    assert!(!text(&s).contains("%autopatch -p1 1000\n"));
    let listed: Vec<u32> = s.autopatches().iter().flat_map(|a| a.listed.clone()).collect();
    assert_eq!(listed, [1001]);
}

#[test]
fn hc14_corpus_unnumbered_patch_removal() {
    let spec = corpus("byaccj");
    let patches: Vec<_> = spec
        .sources()
        .iter()
        .filter(|s| s.kind == SourceKind::Patch)
        .collect();
    assert_eq!(patches.len(), 1);
    assert_eq!((patches[0].number, patches[0].explicit), (0, false));
    let s = edit_ok(&spec, |s| s.remove_patches(&|f| f == "byaccj-c99.patch"));
    assert!(!text(&s).contains("byaccj-c99.patch\n"));
    assert!(s.sources().iter().all(|e| e.kind != SourceKind::Patch));
}

// ----- 15. Rich and multi-value dependencies; `#` in values ------------------------------------

#[test]
fn hc15_rich_dependencies_and_hash_in_values() {
    let src = "\
Name: foo
Requires: a, b c >= 1.0, (d or e)
Requires: (python3-foo if python3 else python2-foo) # not a comment
Source0: https://example.com/v1.tar.gz#/foo-1.tar.gz
URL: https://example.com/#anchor
";
    let spec = parse(src);
    assert_eq!(
        tags_of(&spec, 0)[1..],
        [
            ("Requires".into(), "a, b c >= 1.0, (d or e)".into()),
            (
                "Requires".into(),
                "(python3-foo if python3 else python2-foo) # not a comment".into()
            ),
            (
                "Source0".into(),
                "https://example.com/v1.tar.gz#/foo-1.tar.gz".into()
            ),
            ("URL".into(), "https://example.com/#anchor".into()),
        ]
    );
    assert_eq!(spec.source_file_name(&spec.sources()[0]), "foo-1.tar.gz");
    let s = edit_ok(&spec, |s| {
        s.set_tag(
            &TagSel {
                name: "Requires",
                value: Some("a, b c >= 1.0, (d or e)"),
                package: None,
            },
            "(d or e) # still a value",
            Occurrence::One,
        )
    });
    assert!(text(&s).contains("\nRequires: (d or e) # still a value\n"));
}

// ----- 16. %include and %{load:} -------------------------------------------------------------

#[test]
fn hc16_include_and_load() {
    let src = "%{load:%{_sourcedir}/foo.macros}\nName: foo\nSource1: common.inc\n%include %{SOURCE1}\n%description\nd\n";
    let spec = parse(src);
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::Include),
        ["%include %{SOURCE1}"]
    );
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::MacroCall),
        ["%{load:%{_sourcedir}/foo.macros}"]
    );
    // An include may define anything: a new tag goes after the last real tag.
    let s = edit_ok(&spec, |s| s.add_tag(None, "License", "MIT"));
    assert!(text(&s).contains("Source1: common.inc\nLicense: MIT\n%include %{SOURCE1}\n"));
}

#[test]
fn hc16_corpus_include_and_load() {
    let spec = corpus("mokutil");
    assert_eq!(
        lines_where(&spec, |k| *k == LineKind::Include),
        ["%include %{SOURCE1}"]
    );
    let spec = corpus("wget2");
    assert!(
        lines_where(&spec, |k| *k == LineKind::MacroCall)
            .iter()
            .any(|l| l == "%{load:%{_sourcedir}/wget2.azl.macros}")
    );
}

// ----- 17. %changelog ----------------------------------------------------------------------------

#[test]
fn hc17_changelog_entries() {
    let src = "\
Name: foo
%changelog
* Tue Jan 02 2024 B <b@x> - 1.0-2
- use 100%% less %%{bugs}
- Requires: not a tag
* Mon Jan 01 2024 A <a@x> - 1.0-1
- initial
";
    let spec = parse(src);
    let entries = spec.changelog_entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].lines.len(), 3);
    assert_eq!(entries[1].lines.len(), 2);
    assert_eq!(spec.tags().len(), 1);
    assert!(codes(&spec).is_empty());
    let s = edit_ok(&spec, |s| {
        s.prepend_lines(
            &sec(SectionKind::Changelog),
            "* Wed Jan 03 2024 C <c@x> - 1.0-3\n- fix 50%% of it\n",
            Occurrence::One,
        )
    });
    assert!(text(&s).contains("%changelog\n* Wed Jan 03 2024 C <c@x> - 1.0-3\n- fix 50%% of it\n* Tue"));
    assert_eq!(s.changelog_entries().len(), 3);
}

#[test]
fn hc17_autochangelog_is_not_an_entry() {
    let spec = parse("Name: foo\n%changelog\n%autochangelog\n");
    assert!(spec.changelog_entries().is_empty());
    assert_eq!(spec.sections().len(), 2);
}

#[test]
fn hc17_corpus_changelogs() {
    // rpmautospec rendered the changelog: real entries, up to its end marker.
    let spec = corpus("byaccj");
    let entries = spec.changelog_entries();
    assert!(entries.len() > 10);
    let last = entries.last().expect("entries");
    let end = &spec.lines()[last.lines.end - 1];
    assert_eq!(
        spec.text(end.start..end.content_end),
        "## END: Generated by rpmautospec"
    );
    let spec = corpus("postgresql18-decoderbufs");
    assert_eq!(spec.changelog_entries().len(), 2);
}

// ----- 18. Scriptlet bodies ----------------------------------------------------------------------

#[test]
fn hc18_scriptlets_are_opaque_but_conditionals_count() {
    let src = "\
Name: foo
%post -p <lua>
Requires: not a tag
if posix.access(\"/x\") then
  print(\"%{name}\")
end
%if 0%{?fedora}
print(1)
%endif

%preun
Summary: not a tag either
if [ $1 -eq 0 ]; then
%if %{with systemd}
  systemctl stop foo
%endif
fi
";
    let spec = parse(src);
    assert_eq!(tags_of(&spec, 0), [("Name".into(), "foo".into())]);
    assert_eq!(spec.conds().len(), 2);
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
    assert_eq!(
        spec.sections()[1]
            .args
            .option(b'p')
            .and_then(|o| o.value.clone())
            .map(|r| spec.text(r).into_owned()),
        Some("<lua>".into())
    );
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Preun), ":", Occurrence::One)
    });
    assert!(text(&s).ends_with("%endif\nfi\n:\n"));
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Post), "print(2)", Occurrence::One)
    });
    assert!(text(&s).contains("%endif\nprint(2)\n\n%preun\n"));
}

#[test]
fn hc18_corpus_append_after_a_continued_pytest() {
    // %check ends in `--deselect=… \` ⏎ ⏎ ⏎: appended lines go after the
    // blank line that ends the command, not into its arguments.
    let spec = corpus("python-pymongo");
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Check), "echo checked", Occurrence::One)
    });
    assert!(
        text(&s).contains("srvMaxHosts=0_and_replicaSet \\\n\necho checked\n\n%files doc\n"),
        "{}",
        text(&s)
    );
}

#[test]
fn hc18_corpus_lua_scriptlets() {
    let spec = corpus("bash");
    let posts: Vec<_> = (0..spec.sections().len())
        .filter(|&s| spec.sections()[s].kind == SectionKind::Post)
        .collect();
    assert!(!posts.is_empty());
    let lua = posts
        .iter()
        .copied()
        .find(|&s| spec.section_title(s) == "%post -p <lua>")
        .expect("a lua %post");
    assert_eq!(section_package(&spec, lua), Some("bash"));
    let body = spec.section_body_lines(lua);
    assert!(
        body.clone()
            .all(|l| matches!(spec.lines()[l].kind, LineKind::Text | LineKind::Blank))
    );
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Post), "-- azl", Occurrence::One)
    });
    assert!(text(&s).contains("  f:close()\nend\n-- azl\n\n%postun -p <lua>\n"));
}

// ----- 19. Bytes -----------------------------------------------------------------------------------

#[test]
fn hc19_bytes_survive_parse_and_edit() {
    let mut src: Vec<u8> = Vec::new();
    src.extend_from_slice(b"Name:\tfoo   \r\n");
    src.extend_from_slice(b"Version: 1\x0c\r\n");
    src.extend_from_slice(b"Summary: caf\xe9 \xff\xfe\r\n");
    src.extend_from_slice(b"Release: 1\r\n");
    src.extend_from_slice(b"%description\r\n");
    src.extend_from_slice(&vec![b'x'; 70 * 1024]);
    src.extend_from_slice(b"\r\n%build\r\ncat > f <<'EOF'\r\n%{nothing\r\nEOF\r\n");
    src.extend_from_slice(b"make\t\t  ");
    let spec = parse_bytes(&src);
    assert_eq!(spec.sections().len(), 3);
    assert_eq!(
        spec.lines().iter().map(|l| l.end - l.start).max(),
        Some(70 * 1024 + 2),
        "a line over 64 KiB is one line"
    );
    let mut s = spec.clone();
    s.set_tag(&tag("Release"), "2", Occurrence::One).expect("set");
    s.append_lines(&sec(SectionKind::Build), "make install", Occurrence::One)
        .expect("append");
    let mut want = src.clone();
    let at = want
        .windows(10)
        .position(|w| w == b"Release: 1")
        .expect("present");
    want[at + 9] = b'2';
    want.extend_from_slice(b"\r\nmake install");
    assert_eq!(s.as_bytes(), want.as_slice());
    parse_bytes(s.as_bytes());
}

#[test]
fn hc19_heredoc_with_header_like_lines() {
    // rpm reads column-0 keywords as headers even inside a heredoc.
    let src = "Name: foo\n%install\ncat > x <<EOF\n%files\nEOF\n";
    let spec = parse(src);
    assert_eq!(
        kinds(&spec),
        [SectionKind::Preamble, SectionKind::Install, SectionKind::Files]
    );
    // Indented, it stays shell.
    let spec = parse("Name: foo\n%install\ncat > x <<EOF\n  %files\nEOF\n");
    assert_eq!(kinds(&spec), [SectionKind::Preamble, SectionKind::Install]);
    assert!(codes(&spec).is_empty());
}

#[test]
fn hc19_corpus_trailing_whitespace_tabs_heredocs() {
    // Specs with trailing whitespace, TABs and heredocs: editing Release
    // changes exactly its value, nothing else.
    for name in ["cups", "doxygen", "iptables", "libselinux", "atlas"] {
        let src = corpus_spec(name);
        let spec = parse_bytes(&src);
        let count = |b: &[u8]| {
            let trailing = b
                .split(|&c| c == b'\n')
                .filter(|l| l.ends_with(b" ") || l.ends_with(b"\t"))
                .count();
            let tabs = b.iter().filter(|&&c| c == b'\t').count();
            let heredocs = b.windows(2).filter(|w| w == b"<<").count();
            (trailing, tabs, heredocs)
        };
        let before = count(&src);
        assert!(before.0 > 3 && before.1 > 3 && before.2 > 0, "{name}: {before:?}");
        let mut s = spec.clone();
        s.set_tag(&tag("Release"), "99%{?dist}", Occurrence::One)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let t = s.find_tags(&tag("Release")).expect("found")[0];
        let release_line = &s.lines()[s.tags()[t].line];
        let mut want = src.clone();
        let old = &spec.tags()[spec.find_tags(&tag("Release")).expect("found")[0]];
        want.splice(old.value.clone(), b"99%{?dist}".iter().copied());
        assert_eq!(s.as_bytes(), want.as_slice(), "{name}");
        assert!(
            s.text(release_line.start..release_line.content_end)
                .ends_with("99%{?dist}")
        );
        assert_eq!(count(s.as_bytes()), before, "{name}");
        parse_bytes(s.as_bytes());
    }
}

// ----- 20. Case-odd sections and tags -------------------------------------------------------------

#[test]
fn hc20_odd_case_spellings_survive() {
    let src = "\
name: foo
BUildRequires:  gcc
SOURCE2:        b.tar
patch0:         p.patch
%Package Devel
summary: d
%Description Devel
d
%FILES Devel
/x
%Prep
%setup
%patch0 -p1
";
    let spec = parse(src);
    assert_eq!(package_names(&spec), ["foo", "foo-Devel"]);
    assert_eq!(
        kinds(&spec),
        [
            SectionKind::Preamble,
            SectionKind::Package,
            SectionKind::Description,
            SectionKind::Files,
            SectionKind::Prep
        ]
    );
    assert!(matches!(spec.tags()[2].family, TagFamily::Source(Some(2))));
    assert!(matches!(spec.tags()[3].family, TagFamily::Patch(Some(0))));
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
    let mut s = spec.clone();
    s.set_tag(&tag("BuildRequires"), "clang", Occurrence::One)
        .expect("set");
    s.insert_tag(None, "buildrequires", "make").expect("insert");
    s.set_tag(
        &TagSel {
            package: Some("Devel"),
            name: "Summary",
            value: None,
        },
        "D",
        Occurrence::One,
    )
    .expect("set");
    s.append_lines(&sub_sec(SectionKind::Files, "Devel"), "/y", Occurrence::One)
        .expect("append");
    assert_eq!(
        text(&s),
        "name: foo\nBUildRequires:  clang\nbuildrequires:  make\nSOURCE2:        b.tar\npatch0:         p.patch\n%Package Devel\nsummary: D\n%Description Devel\nd\n%FILES Devel\n/x\n/y\n%Prep\n%setup\n%patch0 -p1\n"
    );
}

#[test]
fn hc20_corpus_newt_capitalised_description() {
    // `%Description` (capital D) is the main package's description to rpm.
    let spec = corpus("newt");
    let d = spec.sections_of(SectionKind::Description, Some(0));
    assert_eq!(d.len(), 1);
    assert_eq!(spec.section_title(d[0]), "%Description");
    let s = edit_ok(&spec, |s| {
        s.append_lines(&sec(SectionKind::Description), "More.", Occurrence::One)
    });
    assert!(
        text(&s).contains("\nslang library.\nMore.\n\n%description devel\n"),
        "{}",
        text(&s)
    );
}

#[test]
fn hc20_unknown_and_indented_tags_fail_in_rpm() {
    // rpm looks tags up at column 1 only, and fails on a name it does not
    // know ("Unknown tag"); inside a conditional only if the branch is taken.
    let spec = parse("Name: foo\n  Requires: bar\nRequries: baz\n%if 0\n Requires: x\nFoo: y\n%endif\n");
    let got: Vec<_> = spec
        .diagnostics()
        .iter()
        .map(|d| (d.code, d.is_error()))
        .collect();
    assert_eq!(
        got,
        [
            ("tag-indented", true),
            ("unknown-tag", true),
            ("tag-indented", false),
            ("unknown-tag", false)
        ]
    );
    // Every spelling of a known tag is known.
    let spec = parse("NAME: foo\nbuildarch: noarch\nOrderWithRequires: x\nSourceLicense: MIT\nVCS: git:x\n");
    assert!(codes(&spec).is_empty(), "{:?}", spec.diagnostics());
}

#[test]
fn hc20_section_keyword_spelled_wrong_is_not_a_section() {
    // rpm's section is %verifyscript; %verify is just a macro.
    let spec = parse("Name: foo\n%verify\nx\n%verifyscript\ny\n");
    assert_eq!(kinds(&spec), [SectionKind::Preamble, SectionKind::Verifyscript]);
    // Indented or glued keywords are not headers, and rpm would misread them.
    let spec = parse("Name: foo\n%description\nd\n  %files\n%files-devel\n");
    assert_eq!(kinds(&spec), [SectionKind::Preamble, SectionKind::Description]);
    assert_eq!(error_codes(&spec), ["header-misread", "header-misread"]);
    // Conditionals are case-sensitive.
    let spec = parse("Name: foo\n%description\n%IF 1\n%Endif\n");
    assert!(spec.conds().is_empty());
    assert!(matches!(
        CondKind::detect(b"%ifarch x86_64"),
        Some(CondKind::Ifarch)
    ));
}
