//! One test (success and failure) per overlay type, on real specs.

use azldev_overlay::OpError;
use azldev_spec::{EditError, Spec};

use crate::util::{Project, apply, changed_lines, corpus_tree, failure, spec_text, spec_tree};

fn project(component: &str, overlays: &str) -> Project {
    Project::new(&format!("[components.{component}]\n{overlays}"), &[])
}

fn project_with(component: &str, overlays: &str, files: &[(&str, &[u8])]) -> Project {
    Project::new(&format!("[components.{component}]\n{overlays}"), files)
}

/// Apply and return (before, after) spec texts.
fn run(component: &str, overlays: &str) -> (String, String) {
    let p = project(component, overlays);
    let mut tree = corpus_tree(component);
    let before = spec_text(&tree);
    apply(&mut tree, &p).unwrap_or_else(|e| panic!("apply failed: {e}"));
    let after = spec_text(&tree);
    let spec = Spec::parse(after.as_bytes());
    assert_eq!(spec.reconstruct(), after.as_bytes());
    assert!(
        spec.diagnostics().iter().filter(|d| d.is_error()).count()
            <= Spec::parse(before.as_bytes())
                .diagnostics()
                .iter()
                .filter(|d| d.is_error())
                .count(),
        "the overlays added a structural problem"
    );
    (before, after)
}

fn inserted_lines(before: &str, after: &str) -> Vec<(usize, String)> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut i = 0;
    while i < a.len() && a[i] == b[i] {
        i += 1;
    }
    let extra = b.len() - a.len();
    assert_eq!(a[i..], b[i + extra..], "only one block of lines was inserted");
    (i..i + extra).map(|j| (j + 1, b[j].to_owned())).collect()
}

fn removed_lines(before: &str, after: &str) -> Vec<String> {
    let mut after_lines = after.lines().peekable();
    let mut out = Vec::new();
    for l in before.lines() {
        if after_lines.peek() == Some(&l) {
            after_lines.next();
        } else {
            out.push(l.to_owned());
        }
    }
    assert!(after_lines.next().is_none(), "nothing was added");
    out
}

// ----- spec-add-tag -----------------------------------------------------

#[test]
fn add_tag_lands_after_last_tag_outside_conditionals() {
    let (before, after) = run(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-add-tag\"\ntag = \"BuildRequires\"\nvalue = \"azl-foo\"\n",
    );
    let ins = inserted_lines(&before, &after);
    assert_eq!(ins.len(), 1);
    assert_eq!(ins[0].1, "BuildRequires: azl-foo");
    // After the preamble's last tag (line 145), outside every conditional.
    assert_eq!(ins[0].0, 146);
    let spec = Spec::parse(after.as_bytes());
    assert_eq!(spec.ctx_depth(spec.lines()[145].ctx), 0);
}

#[test]
fn add_tag_to_subpackage_by_full_name_and_suffix() {
    for package in ["libcurl-devel", "lib%{name}-devel"] {
        let (before, after) = run(
            "curl",
            &format!(
                "[[components.curl.overlays]]\ntype = \"spec-add-tag\"\npackage = \"{package}\"\ntag = \"Requires\"\nvalue = \"pkgconf\"\n"
            ),
        );
        let ins = inserted_lines(&before, &after);
        let lines: Vec<&str> = after.lines().collect();
        assert_eq!(ins[0].1, "Requires: pkgconf");
        assert!(
            lines[..ins[0].0]
                .iter()
                .rev()
                .any(|l| *l == "%package -n libcurl-devel")
        );
    }
    // Suffix form on a spec that declares `%package devel`.
    let (before, after) = run(
        "intel-cmt-cat",
        "[[components.intel-cmt-cat.overlays]]\ntype = \"spec-add-tag\"\npackage = \"devel\"\ntag = \"Requires\"\nvalue = \"x\"\n\
         [[components.intel-cmt-cat.overlays]]\ntype = \"spec-add-tag\"\npackage = \"%{name}-devel\"\ntag = \"Provides\"\nvalue = \"y\"\n",
    );
    let ins = inserted_lines(&before, &after);
    // Copies the neighbour's TAB separator; both selector forms reach
    // `%package devel`.
    assert_eq!(ins[0].1, "Requires:\tx");
    assert_eq!(ins[1].1, "Provides:\ty");
}

#[test]
fn add_tag_refuses_duplicates_and_singletons() {
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-add-tag\"\ntag = \"Release\"\nvalue = \"9\"\n",
    );
    let mut tree = corpus_tree("curl");
    let f = failure(apply(&mut tree, &p));
    assert!(matches!(f.error, OpError::TagExists { line: 13, .. }), "{f}");
    assert_eq!(f.spec_lines, vec![13]);
    assert_eq!(f.kind, "spec-add-tag");
    assert!(
        p.describe(&f.loc).contains("distro.toml:2"),
        "{}",
        p.describe(&f.loc)
    );
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-add-tag\"\ntag = \"Provides\"\nvalue = \"webclient\"\n",
    );
    let f = failure(apply(&mut corpus_tree("curl"), &p));
    assert!(matches!(f.error, OpError::TagExists { .. }), "{f}");
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-add-tag\"\npackage = \"nope\"\ntag = \"Requires\"\nvalue = \"x\"\n",
    );
    let f = failure(apply(&mut corpus_tree("curl"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NoSuchPackage { .. })),
        "{f}"
    );
}

// ----- spec-insert-tag ----------------------------------------------------

#[test]
fn insert_tag_after_family_and_out_of_conditionals() {
    let (before, after) = run(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-insert-tag\"\ntag = \"Source9999\"\nvalue = \"alsa-lib.azl.macros\"\n",
    );
    let ins = inserted_lines(&before, &after);
    // The last Source (Source40) sits in `%if %{ucm_patch}` … `%endif`: the
    // new one goes after the %endif, aligned like its neighbours.
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(ins[0].1, "Source9999: alsa-lib.azl.macros");
    assert_eq!(lines[ins[0].0 - 2], "%endif");
    assert_eq!(lines[ins[0].0 - 3], "Source40: alsa-ucm-conf.patch");
}

#[test]
fn insert_tag_fails_for_missing_subpackage() {
    let p = project(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-insert-tag\"\npackage = \"docs\"\ntag = \"Requires\"\nvalue = \"x\"\n",
    );
    let f = failure(apply(&mut corpus_tree("alsa-lib"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NoSuchPackage { .. })),
        "{f}"
    );
}

// ----- spec-set-tag / spec-update-tag ----------------------------------------

#[test]
fn set_tag_replaces_or_adds() {
    let (before, after) = run(
        "intel-cmt-cat",
        "[[components.intel-cmt-cat.overlays]]\ntype = \"spec-set-tag\"\ntag = \"release\"\nvalue = \"5%{?dist}\"\n\
         [[components.intel-cmt-cat.overlays]]\ntype = \"spec-set-tag\"\ntag = \"Vendor\"\nvalue = \"Microsoft\"\n",
    );
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b[12], "Release: 4%{?dist}");
    assert_eq!(a[12], "Release: 5%{?dist}", "spelling and separator kept");
    // `BuildRequires:\tmake` puts values at column 16; the new tag reaches
    // it with tabs.
    assert!(
        a.contains(&"Vendor:\t\tMicrosoft"),
        "added with the neighbours' tabs"
    );
}

#[test]
fn update_tag_keeps_alignment_and_refuses_missing_or_ambiguous() {
    let (before, after) = run(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Source11\"\nvalue = \"modprobe-azl.conf\"\n",
    );
    let changed = changed_lines(&before, &after);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].2, "Source11: modprobe-azl.conf");
    let p = project(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Epoch\"\nvalue = \"1\"\n",
    );
    let f = failure(apply(&mut corpus_tree("alsa-lib"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NotFound { .. })),
        "{f}"
    );
    // The same tag in both branches of a conditional is ambiguous.
    let spec = "Name: x\n%if 0%{?rhel}\nRelease: 1\n%else\nRelease: 2\n%endif\n";
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Release\"\nvalue = \"3\"\n",
    );
    let mut tree = spec_tree("x", spec);
    let f = failure(apply(&mut tree, &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::Ambiguous { .. })),
        "{f}"
    );
    assert_eq!(f.spec_lines, vec![3, 5]);
    assert_eq!(
        spec_text(&tree),
        spec,
        "a failed overlay leaves the tree unchanged"
    );
}

// ----- spec-remove-tag ---------------------------------------------------

#[test]
fn remove_tag_by_value_in_subpackage() {
    let (before, after) = run(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-remove-tag\"\npackage = \"libcurl\"\ntag = \"Requires\"\nvalue = \"libssh%{?_isa} >= %{libssh_version}\"\n",
    );
    assert_eq!(
        removed_lines(&before, &after),
        ["Requires: libssh%{?_isa} >= %{libssh_version}"]
    );
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Requires\"\nvalue = \"libssh%{?_isa} >= %{libssh_version}\"\n",
    );
    let f = failure(apply(&mut corpus_tree("curl"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NotFound { .. })),
        "main package has no such Requires: {f}"
    );
}

#[test]
fn remove_tag_without_value_removes_every_instance() {
    let (before, after) = run(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-remove-tag\"\npackage = \"libcurl\"\ntag = \"Requires\"\n",
    );
    assert_eq!(removed_lines(&before, &after).len(), 4);
}

// ----- spec-prepend-lines / spec-append-lines --------------------------------

#[test]
fn append_lines_to_files_of_subpackage_both_naming_forms() {
    let (before, after) = run(
        "intel-cmt-cat",
        "[[components.intel-cmt-cat.overlays]]\ntype = \"spec-append-lines\"\nsection = \"%files\"\npackage = \"devel\"\nlines = [\"%{_libdir}/extra.so\"]\n",
    );
    let ins = inserted_lines(&before, &after);
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(ins[0].1, "%{_libdir}/extra.so");
    assert!(
        lines[..ins[0].0]
            .iter()
            .rev()
            .any(|l| *l == "%files -n %{name}-devel")
    );
}

#[test]
fn append_lines_stays_inside_its_branch() {
    let spec =
        "Name: x\n%package docs\nSummary: d\n\n%if 0%{?with_docs}\n%files docs\n/a\n%endif\n\n%files\n/b\n";
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"spec-append-lines\"\nsection = \"%files docs\"\nlines = [\"/c\"]\n\
         [[components.x.overlays]]\ntype = \"spec-prepend-lines\"\nsection = \"%files\"\nlines = [\"%license COPYING\"]\n",
    );
    let mut tree = spec_tree("x", spec);
    apply(&mut tree, &p).expect("applies");
    assert_eq!(
        spec_text(&tree),
        "Name: x\n%package docs\nSummary: d\n\n%if 0%{?with_docs}\n%files docs\n/a\n/c\n%endif\n\n%files\n%license COPYING\n/b\n"
    );
}

#[test]
fn append_lines_refuses_the_same_section_in_both_branches() {
    let spec = "Name: x\n%if 0%{?rhel}\n%files\n/a\n%else\n%files\n/b\n%endif\n";
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"spec-append-lines\"\nsection = \"%files\"\nlines = [\"/c\"]\n",
    );
    let f = failure(apply(&mut spec_tree("x", spec), &p));
    assert!(
        matches!(&f.error, OpError::Spec(EditError::Ambiguous { lines, .. }) if *lines == [3, 6]),
        "{f}"
    );
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"spec-prepend-lines\"\nsection = \"%check\"\nlines = [\"true\"]\n",
    );
    let f = failure(apply(&mut spec_tree("x", spec), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NotFound { .. })),
        "{f}"
    );
}

#[test]
fn prepend_and_append_whole_file_without_section() {
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"spec-prepend-lines\"\nlines = [\"%global azl 1\"]\n\
         [[components.x.overlays]]\ntype = \"spec-append-lines\"\nlines = [\"# end\"]\n",
    );
    let mut tree = spec_tree("x", "Name: x\r\nVersion: 1");
    apply(&mut tree, &p).expect("applies");
    assert_eq!(
        spec_text(&tree),
        "%global azl 1\r\nName: x\r\nVersion: 1\r\n# end"
    );
}

// ----- spec-search-replace -------------------------------------------------

#[test]
fn search_replace_scoped_by_section_with_captures() {
    let (before, after) = run(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-search-replace\"\nsection = \"%prep\"\nregex = '^%patch -P(\\d) -p1 -b \\.([\\w-]+)$'\nreplacement = '%patch -P$1 -p1 -b .azl-$2'\n",
    );
    let changed = changed_lines(&before, &after);
    assert_eq!(changed.len(), 3, "only the three %patch lines: {changed:?}");
    assert!(changed.iter().all(|(_, _, new)| new.contains(".azl-")));
    assert!(after.contains("%patch -P1 -p1 -b .azl-config\n"));
}

#[test]
fn search_replace_scoped_by_package_and_failing() {
    let (before, after) = run(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-search-replace\"\npackage = \"libcurl-minimal\"\nregex = 'Conflicts'\nreplacement = 'Obsoletes'\n",
    );
    let changed = changed_lines(&before, &after);
    assert!(!changed.is_empty());
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-search-replace\"\nsection = \"%build\"\nregex = 'no-such-text-anywhere'\n",
    );
    let f = failure(apply(&mut corpus_tree("curl"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NotFound { .. })),
        "{f}"
    );
}

// ----- spec-remove-section / spec-remove-subpackage ----------------------------

#[test]
fn remove_section_of_subpackage() {
    let (before, after) = run(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-remove-section\"\nsection = \"%description\"\npackage = \"alsa-topology\"\n",
    );
    let removed = removed_lines(&before, &after);
    assert_eq!(removed[0], "%description -n alsa-topology");
    let p = project(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"spec-remove-section\"\nsection = \"%check\"\n",
    );
    let f = failure(apply(&mut corpus_tree("alsa-lib"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NotFound { .. })),
        "{f}"
    );
}

/// A section-generating macro the project's macro files define (and no
/// table lists) ends `%check`: removing `%check` and appending to it leave
/// the line in place; without the macro files it is `%check`'s last line.
#[test]
fn section_macros_from_macro_files_end_sections_for_overlays() {
    let spec = "Name: foo\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n\n%description\nd\n\n\
                %check\nmake check\n\n%my_scriptlets\n\n%files\n/a\n";
    let p = project(
        "foo",
        "[[components.foo.overlays]]\ntype = \"spec-append-lines\"\nsection = \"%check\"\nlines = [\"exit 0\"]\n\
         [[components.foo.overlays]]\ntype = \"spec-remove-section\"\nsection = \"%check\"\n",
    );
    let overlays = &p.component("foo").overlays;
    let macros = std::sync::Arc::new(azldev_spec::SectionMacros::from_macro_files([(
        "macros.distro",
        &b"%my_scriptlets %{?ldconfig:\\\n%post -p %ldconfig\\\n%postun -p %ldconfig\\\n}\n"[..],
    )]));
    let mut tree = spec_tree("foo", spec);
    azldev_overlay::apply_overlays_with(&mut tree, overlays, &crate::util::read_input, Some(&macros))
        .expect("applies");
    assert!(
        spec_text(&tree).ends_with("%description\nd\n\n%my_scriptlets\n\n%files\n/a\n"),
        "{}",
        spec_text(&tree)
    );
    let mut tree = spec_tree("foo", spec);
    apply(&mut tree, &p).expect("applies");
    assert!(
        spec_text(&tree).ends_with("%description\nd\n\n%files\n/a\n"),
        "{}",
        spec_text(&tree)
    );
}

#[test]
fn remove_subpackage_with_both_naming_forms_and_conditionals() {
    let (_, after) = run(
        "intel-cmt-cat",
        "[[components.intel-cmt-cat.overlays]]\ntype = \"spec-remove-subpackage\"\npackage = \"devel\"\n",
    );
    assert!(!after.contains("%package devel"));
    assert!(!after.contains("%description devel"));
    assert!(!after.contains("%files -n %{name}-devel"), "the -n form goes too");
    let spec = "Name: x\n%if %{with docs}\n%package docs\nSummary: d\n\n%description docs\nD\n%endif\n\n%files\n/a\n\n%if %{with docs}\n%files docs\n/d\n%endif\n";
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"spec-remove-subpackage\"\npackage = \"x-docs\"\n",
    );
    let mut tree = spec_tree("x", spec);
    apply(&mut tree, &p).expect("applies");
    assert_eq!(
        spec_text(&tree),
        "Name: x\n%if %{with docs}\n%endif\n\n%files\n/a\n\n%if %{with docs}\n%endif\n"
    );
    let f = failure(apply(&mut tree, &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NoSuchPackage { .. })),
        "{f}"
    );
}

// ----- patch-add / patch-remove ---------------------------------------------

#[test]
fn patch_add_with_explicit_patch_lines() {
    let p = project_with(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"patch-add\"\nsource = \"patches/fix.patch\"\n",
        &[("patches/fix.patch", b"--- a\n+++ b\n")],
    );
    let mut tree = corpus_tree("alsa-lib");
    apply(&mut tree, &p).expect("applies");
    assert_eq!(tree.files["fix.patch"].data, b"--- a\n+++ b\n");
    let after = spec_text(&tree);
    assert!(
        after.contains("Patch2:   alsa-lib-1.2.10-glibc-open.patch\nPatch3:   fix.patch\n"),
        "{after}"
    );
    assert!(
        after.contains("%patch -P2 -p1 -b .glibc-open\n%patch -P 3 -p1\n"),
        "{after}"
    );
    let f = failure(apply(&mut tree, &p));
    assert!(matches!(f.error, OpError::FileExists(_)), "{f}");
}

#[test]
fn patch_add_with_autosetup_and_patchlist() {
    let p = project_with(
        "intel-cmt-cat",
        "[[components.intel-cmt-cat.overlays]]\ntype = \"patch-add\"\nsource = \"a.patch\"\nfile = \"0004-azl.patch\"\n",
        &[("a.patch", b"x")],
    );
    let mut tree = corpus_tree("intel-cmt-cat");
    let before = spec_text(&tree);
    apply(&mut tree, &p).expect("applies");
    let ins = inserted_lines(&before, &spec_text(&tree));
    assert_eq!(
        ins,
        [(23, "Patch3:\t\t0004-azl.patch".to_owned())],
        "%autosetup applies it"
    );
    let spec = "Name: x\n%patchlist\na.patch\nb.patch\n\n%prep\n%autosetup -p1\n";
    let p = project_with(
        "x",
        "[[components.x.overlays]]\ntype = \"patch-add\"\nsource = \"c.patch\"\n",
        &[("c.patch", b"c")],
    );
    let mut tree = spec_tree("x", spec);
    apply(&mut tree, &p).expect("applies");
    assert_eq!(
        spec_text(&tree),
        "Name: x\n%patchlist\na.patch\nb.patch\nc.patch\n\n%prep\n%autosetup -p1\n"
    );
    // An input that disappeared after loading is reported, not a panic.
    let p = project_with(
        "x",
        "[[components.x.overlays]]\ntype = \"patch-add\"\nsource = \"gone.patch\"\n",
        &[("gone.patch", b"g")],
    );
    std::fs::remove_file(p.dir.path().join("gone.patch")).expect("remove");
    let f = failure(apply(&mut spec_tree("x", spec), &p));
    assert!(matches!(f.error, OpError::Input { .. }), "{f}");
}

#[test]
fn patch_remove_glob_removes_tags_files_and_patch_lines() {
    let (before, after) = {
        let p = project(
            "alsa-lib",
            "[[components.alsa-lib.overlays]]\ntype = \"patch-remove\"\nfile = \"alsa-git*.patch\"\n",
        );
        let mut tree = corpus_tree("alsa-lib");
        let before = spec_text(&tree);
        apply(&mut tree, &p).expect("applies");
        (before, spec_text(&tree))
    };
    assert_eq!(
        removed_lines(&before, &after),
        ["Patch0:   alsa-git.patch", "%patch -P0 -p1 -b .alsa-git"]
    );
    let p = project(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"patch-remove\"\nfile = \"nothing-*.patch\"\n",
    );
    let f = failure(apply(&mut corpus_tree("alsa-lib"), &p));
    assert!(
        matches!(f.error, OpError::Spec(EditError::NotFound { .. })),
        "{f}"
    );
}

#[test]
fn patch_remove_renumbers_unnumbered_references() {
    let spec = "Name: x\nPatch: a.patch\nPatch: b.patch\nPatch: c.patch\n\n%prep\n%setup -q\n%patch 0 -p1\n%patch 1 -p1\n%patch 2 -p1\n";
    let p = project(
        "x",
        "[[components.x.overlays]]\ntype = \"patch-remove\"\nfile = \"a.patch\"\n",
    );
    let mut tree = spec_tree("x", spec);
    tree.insert("a.patch", b"a".to_vec());
    apply(&mut tree, &p).expect("applies");
    assert_eq!(
        spec_text(&tree),
        "Name: x\nPatch: b.patch\nPatch: c.patch\n\n%prep\n%setup -q\n%patch 0 -p1\n%patch 1 -p1\n"
    );
    assert!(!tree.files.contains_key("a.patch"));
}

// ----- file overlays -----------------------------------------------------

#[test]
fn file_overlays_on_sidecar_files() {
    let p = project_with(
        "alsa-lib",
        "[[components.alsa-lib.overlays]]\ntype = \"file-prepend-lines\"\nfile = \"*.conf\"\nlines = [\"# azl\"]\n\
         [[components.alsa-lib.overlays]]\ntype = \"file-search-replace\"\nfile = \"asound.conf\"\nregex = '^#'\nreplacement = ';'\n\
         [[components.alsa-lib.overlays]]\ntype = \"file-add\"\nfile = \"conf/extra.conf\"\nsource = \"extra.conf\"\n\
         [[components.alsa-lib.overlays]]\ntype = \"file-rename\"\nfile = \"modprobe-dist-oss.conf\"\nreplacement = \"modprobe-oss.conf\"\n\
         [[components.alsa-lib.overlays]]\ntype = \"file-remove\"\nfile = \"**/extra.conf\"\n",
        &[("extra.conf", b"e\n")],
    );
    let mut tree = corpus_tree("alsa-lib");
    let original = tree.files["modprobe-dist-oss.conf"].data.clone();
    apply(&mut tree, &p).expect("applies");
    assert!(tree.files["asound.conf"].data.starts_with(b"; azl\n"));
    let mut expected = b"# azl\n".to_vec();
    expected.extend_from_slice(&original);
    assert_eq!(tree.files["modprobe-oss.conf"].data, expected);
    assert!(!tree.files.contains_key("modprobe-dist-oss.conf"));
    assert!(!tree.files.contains_key("conf/extra.conf"));
}

#[test]
fn file_overlay_failures() {
    type Check = fn(&OpError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("type = \"file-remove\"\nfile = \"*.nothing\"", |e| {
            matches!(e, OpError::NoFileMatch(_))
        }),
        (
            "type = \"file-search-replace\"\nfile = \"*.conf\"\nregex = 'zzz-not-there'",
            |e| matches!(e, OpError::NoTextMatch { .. }),
        ),
        (
            "type = \"file-rename\"\nfile = \"nope.conf\"\nreplacement = \"x.conf\"",
            |e| matches!(e, OpError::FileMissing(_)),
        ),
        (
            "type = \"file-rename\"\nfile = \"asound.conf\"\nreplacement = \"modprobe-dist-oss.conf\"",
            |e| matches!(e, OpError::FileExists(_)),
        ),
        (
            "type = \"file-prepend-lines\"\nfile = \"*.spec\"\nlines = [\"x\"]",
            |e| matches!(e, OpError::SpecFile(_)),
        ),
        (
            "type = \"file-add\"\nfile = \"../escape.conf\"\nsource = \"extra.conf\"",
            |e| matches!(e, OpError::Path(azldev_overlay::PathError::Escapes(_))),
        ),
        (
            "type = \"file-add\"\nfile = \"asound.conf\"\nsource = \"extra.conf\"",
            |e| matches!(e, OpError::FileExists(_)),
        ),
    ];
    for (overlay, check) in cases {
        let p = project_with(
            "alsa-lib",
            &format!("[[components.alsa-lib.overlays]]\n{overlay}\n"),
            &[("extra.conf", b"e\n")],
        );
        let mut tree = corpus_tree("alsa-lib");
        let before = tree.clone();
        let f = failure(apply(&mut tree, &p));
        assert!(check(&f.error), "{overlay}: {f}");
        assert_eq!(tree, before, "{overlay}: the tree is unchanged");
    }
}

#[test]
fn failure_names_the_overlay_and_keeps_the_tree() {
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Release\"\nvalue = \"9%{?dist}\"\n\
         [[components.curl.overlays]]\ndescription = \"drop docs\"\ntype = \"spec-remove-section\"\nsection = \"%files\"\npackage = \"docs\"\n",
    );
    let mut tree = corpus_tree("curl");
    let before = tree.clone();
    let f = failure(apply(&mut tree, &p));
    assert_eq!(f.index, 1);
    assert_eq!(f.description.as_deref(), Some("drop docs"));
    assert!(
        p.describe(&f.loc).contains("distro.toml:6"),
        "{}",
        p.describe(&f.loc)
    );
    assert_eq!(tree, before);
    let msg = f.to_string();
    assert!(
        msg.contains("overlay 2 (spec-remove-section) \"drop docs\""),
        "{msg}"
    );
    // Blamed on `package = "docs"` (line 10, column 11), not the table.
    assert_eq!(f.number, 2);
    assert_eq!(f.focus_key, Some("package"));
    assert_eq!(p.describe(&f.focus), "distro.toml:10:11");
    assert!(f.more.is_empty());
}

#[test]
fn every_failing_overlay_is_reported_with_a_suggestion() {
    let p = project(
        "curl",
        "[[components.curl.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Sumary\"\nvalue = \"x\"\n\
         [[components.curl.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Release\"\nvalue = \"9%{?dist}\"\n\
         [[components.curl.overlays]]\ntype = \"spec-remove-section\"\nsection = \"%chek\"\n\
         [[components.curl.overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Release\"\npackage = \"libcurl-devl\"\n",
    );
    let mut tree = corpus_tree("curl");
    let before = tree.clone();
    let f = failure(apply(&mut tree, &p));
    assert_eq!(tree, before, "a failed component leaves the tree untouched");
    let all: Vec<_> = f.all().collect();
    assert_eq!(all.iter().map(|f| f.number).collect::<Vec<_>>(), vec![1, 3, 4]);
    assert_eq!(
        all.iter().map(|f| f.focus_key).collect::<Vec<_>>(),
        vec![Some("tag"), Some("section"), Some("package")]
    );
    assert_eq!(all[0].help.as_deref(), Some("did you mean `Summary`?"));
    assert_eq!(all[1].help.as_deref(), Some("did you mean `%check`?"));
    assert_eq!(all[2].help.as_deref(), Some("did you mean `libcurl-devel`?"));
    assert!(f.to_string().contains("(and 2 more failing overlays)"), "{f}");
}
