//! Fixture histories shared by the hand-checked tests and the comparison
//! with the real rpmautospec.

use crate::fixture::{JANE, JOHN, RELENG, Repo, autospec, spec};

const OLD_CHANGELOG: &str = "* Tue Jan 02 2024 John Smith <john@example.org> - 1.0-2\n- Fix build\n\n\
                             * Mon Jan 01 2024 Jane Doe <jane@example.com> - 1.0-1\n- Initial import\n";

/// A linear history of 30 commits: conversion from a static release with a
/// `changelog` file, commits not touching the spec, an empty commit, version
/// bumps, `[bump release: N]`, `[skip changelog]`, a revert of a version
/// bump, `-b 2 -e pre1`, `-p -e rc2`, `-s`, an Epoch, an unparseable spec,
/// time zones, an edit of the `changelog` file, macros in Version, wrapped
/// and `%`-quoted messages, a retired and unretired package.
pub fn linear() -> Repo {
    let mut r = Repo::new("foo");
    let manual = |release: &str, log: &str| spec("foo", "1.0", release, "", log);
    r.write(
        "foo.spec",
        &manual(
            "1%{?dist}",
            "* Mon Jan 01 2024 Jane Doe <jane@example.com> - 1.0-1\n- Initial import\n",
        ),
    );
    r.write("README", "foo\n");
    r.commit(JANE, "Initial import (#1234)");
    r.write("foo.spec", &manual("2%{?dist}", OLD_CHANGELOG));
    r.commit(JOHN, "Fix build");
    r.write("foo.spec", &autospec("foo", "1.0", "%autorelease"));
    r.write("changelog", OLD_CHANGELOG);
    r.commit(JANE, "Convert to rpmautospec");
    r.write("sources", "SHA512 (foo-1.0.tar.gz) = 0123abcd\n");
    r.commit(JOHN, "Add the sources file");
    r.commit(
        RELENG,
        "Rebuilt for https://fedoraproject.org/wiki/Fedora_40_Mass_Rebuild",
    );
    r.write(
        "foo.spec",
        &spec(
            "foo",
            "1.0",
            "%autorelease",
            "BuildRequires:  gcc\n",
            "%autochangelog\n",
        ),
    );
    r.commit(
        JANE,
        "Update packaging\n\n- Use the %{name} macro, 100% of the time\n- Drop obsolete BuildRequires\n  \
         spanning two lines\n\nSigned-off-by: Jane Doe <jane@example.com>\n",
    );
    r.write("foo.spec", &autospec("foo", "1.1", "%autorelease"));
    r.commit(JOHN, "Update to 1.1 (rhbz#2345678)");
    r.write("README", "foo, the package\n");
    r.commit(
        JANE,
        "A rather long subject line which-goes-on and on, with hyphenated-words and a URL: \
         https://example.com/a/very/long/path/that/cannot/be/broken/anywhere/at/all/really.html",
    );
    r.commit(JOHN, "Rebuild for the new toolchain\n\n[bump release: 10]\n");
    r.write("README", "foo, the package.\n");
    r.commit(JANE, "Tidy the README\n\n[skip changelog]\n");
    r.write("foo.spec", &autospec("foo", "1.2", "%autorelease"));
    let bump = r.commit(JOHN, "- Update to 1.2\n- Fixes rhbz#1\n");
    r.revert(JANE, &bump);
    r.write("foo.spec", &autospec("foo", "2.0", "%autorelease -b 2 -e pre1"));
    r.commit(JOHN, "Update to 2.0 pre-release 1");
    r.write("README", "2.0\n");
    r.commit(
        JANE,
        "Subject that is\n\n... continued after an ellipsis\nover two lines\n- and then a bullet\n\nA \
         paragraph that ends the entry.\n- not this bullet\n",
    );
    r.write("foo.spec", &autospec("foo", "2.0", "%autorelease -p -e rc2"));
    r.commit(JOHN, "Release candidate 2");
    r.write("README", "rc2\n");
    r.commit(JANE, "Tests pass 100%");
    r.write("foo.spec", &autospec("foo", "2.0", "%autorelease"));
    r.commit(JOHN, "Final 2.0");
    r.write(
        "foo.spec",
        &spec(
            "foo",
            "2.0",
            "%autorelease",
            "Epoch:          1\n",
            "%autochangelog\n",
        ),
    );
    r.commit(JANE, "Add an Epoch");
    r.write(
        "foo.spec",
        &autospec("foo", "2.0", "%autorelease").replace("Version:        2.0\n", ""),
    );
    r.commit(JOHN, "Oops, drop the Version");
    r.write(
        "foo.spec",
        &spec(
            "foo",
            "2.0",
            "%autorelease",
            "Epoch:          1\n",
            "%autochangelog\n",
        ),
    );
    r.commit(JOHN, "Restore the Version");
    r.write(
        "foo.spec",
        &spec(
            "foo",
            "2.1",
            "%autorelease -s 20240501git1234abc",
            "Epoch:          1\n",
            "%autochangelog\n",
        ),
    );
    r.commit(JANE, "Snapshot of 2.1");
    r.tz = "+0530";
    r.clock += 3 * 3600;
    r.write("README", "late\n");
    r.commit(JOHN, "Committed late in the evening, east of UTC");
    r.tz = "-0800";
    r.write("changelog", &OLD_CHANGELOG.replace("Fix build", "Fix the build"));
    r.commit(JANE, "Fix a typo in the old changelog");
    r.tz = "+0000";
    r.write("README", "after\n");
    r.commit(
        JOHN,
        "First line of a subject\nthat goes on\n\n- a bullet with 50% off\n",
    );
    let macros = "%global majorver 3\n%global minorver %{majorver}.1\n";
    r.write(
        "foo.spec",
        &spec("foo", "%{minorver}", "%{autorelease}", macros, "%autochangelog\n"),
    );
    r.commit(JANE, "Update to 3.1, spelled with macros");
    r.commit(JOHN, "Lower bump\n\n[bump release: 1]\n");
    r.commit(
        ("José Müller", "jose@example.net"),
        "Ünïcödé in the message — and an em-dash",
    );
    r.rm("foo.spec");
    r.commit(JANE, "Retire the package");
    r.write(
        "foo.spec",
        &spec("foo", "%{minorver}", "%{autorelease}", macros, "%autochangelog\n"),
    );
    r.commit(JOHN, "Unretire the package");
    r.write("README", "end\n");
    r.commit(
        JANE,
        "Tabs\tin\tthe subject and a tail \n\n-\tbullet  with  double  spaces\n",
    );
    r
}

/// Branches and merges: a merge whose tree differs from both parents
/// (unresolvable), a `--no-ff` merge equal to its second parent, an `-s ours`
/// merge equal to its first parent, a version bump on a branch, a merge that
/// brings a `changelog` file.
pub fn merges() -> Repo {
    let mut r = Repo::new("bar");
    r.write("bar.spec", &autospec("bar", "1.0", "%autorelease"));
    r.commit(JANE, "Initial import");
    r.write("README", "one\n");
    r.commit(JOHN, "Add a README");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("bar.spec", &autospec("bar", "1.1", "%autorelease"));
    r.commit(JANE, "Update to 1.1 on a branch");
    r.write("feature.txt", "f\n");
    r.commit(JANE, "Feature work");
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", "m\n");
    r.commit(JOHN, "Work on main");
    r.commit(JOHN, "More work on main");
    r.merge(JANE, "feature", &[]);
    r.commit(JOHN, "After the first merge");
    r.git(&["checkout", "-q", "-b", "f2"]);
    r.write("f2.txt", "f2\n");
    r.commit(JANE, "Branch f2 work");
    r.commit(JANE, "Branch f2 more work\n\n[bump release: 9]\n");
    r.git(&["checkout", "-q", "main"]);
    r.merge(JOHN, "f2", &[]);
    r.git(&["checkout", "-q", "-b", "f3"]);
    r.write("f3.txt", "f3\n");
    r.commit(JANE, "Branch f3 work, dropped by an ours merge");
    r.git(&["checkout", "-q", "main"]);
    r.write("main2.txt", "m2\n");
    r.commit(JOHN, "Main moves on");
    r.merge(JOHN, "f3", &["-s", "ours"]);
    r.commit(JANE, "After the ours merge");
    r.git(&["checkout", "-q", "-b", "f4"]);
    r.write(
        "changelog",
        "* Mon Jan 01 2024 Jane Doe <jane@example.com> - 1.1-1\n- Imported changelog\n",
    );
    r.commit(JANE, "Add a changelog file on a branch");
    r.git(&["checkout", "-q", "main"]);
    r.write("main3.txt", "m3\n");
    r.commit(JOHN, "Main moves again");
    r.merge(JOHN, "f4", &[]);
    r.write("bar.spec", &autospec("bar", "2.0", "%autorelease"));
    r.commit(JANE, "Update to 2.0");
    r.git(&["checkout", "-q", "-b", "f5"]);
    r.write("f5.txt", "f5\n");
    r.commit(JOHN, "Branch f5");
    r.git(&["checkout", "-q", "main"]);
    r.write("bar.spec", &autospec("bar", "2.1", "%autorelease"));
    r.commit(JANE, "Update to 2.1 on main");
    r.merge(JANE, "f5", &[]);
    r.commit(JOHN, "Last commit");
    r
}

/// One repository per way a spec can use (or not use) the macros.
pub fn features() -> Vec<(Repo, &'static str)> {
    let mut out = Vec::new();
    // %autorelease with a changelog of its own: only the release block.
    let mut r = Repo::new("manual");
    r.write(
        "manual.spec",
        &spec(
            "manual",
            "1.0",
            "%autorelease",
            "",
            "* Mon Jan 01 2024 Jane Doe <jane@example.com> - 1.0-1\n- Initial\n",
        ),
    );
    r.commit(JANE, "Initial");
    r.commit(JOHN, "Rebuild");
    out.push((r, "manual.spec"));
    // Neither macro, no %changelog: one is generated.
    let mut r = Repo::new("nolog");
    r.write(
        "nolog.spec",
        &spec("nolog", "1.0", "3%{?dist}", "", "").replace("\n%changelog\n", "\n"),
    );
    r.commit(JANE, "Initial");
    r.commit(JOHN, "Second");
    out.push((r, "nolog.spec"));
    // %autochangelog without a %changelog line, %{autorelease -b 5}.
    let mut r = Repo::new("bare");
    r.write(
        "bare.spec",
        &spec("bare", "1.0", "%{autorelease -b 5}", "", "")
            .replace("\n%changelog\n", "\n%autochangelog\n# gone\n"),
    );
    r.commit(JANE, "Initial");
    r.write("x", "x\n");
    r.commit(JOHN, "Second");
    out.push((r, "bare.spec"));
    // A comment between %changelog and %autochangelog is replaced too.
    let mut r = Repo::new("comment");
    r.write(
        "comment.spec",
        &spec(
            "comment",
            "1.0",
            "%autorelease -n",
            "",
            "# keep me?\n%autochangelog\n",
        ),
    );
    r.commit(JANE, "Initial");
    out.push((r, "comment.spec"));
    // Neither macro and a changelog of its own: nothing to do.
    let mut r = Repo::new("static");
    r.write(
        "static.spec",
        &spec(
            "static",
            "1.0",
            "1%{?dist}",
            "",
            "* Mon Jan 01 2024 Jane Doe <jane@example.com> - 1.0-1\n- Initial\n",
        ),
    );
    r.commit(JANE, "Initial");
    out.push((r, "static.spec"));
    out
}

/// A repository holding several packages under `SPECS/` (`dist-git-path`),
/// with interleaved commits and a merge touching `SPECS/baz`.
pub fn monorepo() -> Repo {
    let mut r = Repo::new("distro");
    r.write("README", "distro\n");
    r.commit(RELENG, "Start the distro repository");
    r.write("SPECS/qux/qux.spec", &autospec("qux", "1.0", "%autorelease"));
    r.commit(JOHN, "Add qux");
    r.write("SPECS/baz/baz.spec", &autospec("baz", "1.0", "%autorelease"));
    r.commit(JANE, "Add baz");
    r.write("SPECS/qux/qux.spec", &autospec("qux", "1.1", "%autorelease"));
    r.commit(JOHN, "qux: update to 1.1");
    r.write("SPECS/baz/baz.patch", "patch\n");
    r.commit(JANE, "baz: add a patch");
    r.write("README", "distro repo\n");
    r.commit(RELENG, "Touch the README");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("SPECS/baz/baz.spec", &autospec("baz", "1.1", "%autorelease"));
    r.commit(JANE, "baz: update to 1.1 on a branch");
    r.write("SPECS/qux/other", "o\n");
    r.commit(JOHN, "qux: on the branch too");
    r.git(&["checkout", "-q", "main"]);
    r.write("SPECS/baz/baz.conf", "conf\n");
    r.commit(JANE, "baz: add a config file");
    r.merge(RELENG, "side", &[]);
    r.write("SPECS/qux/qux.spec", &autospec("qux", "1.2", "%autorelease"));
    r.commit(JOHN, "qux: update to 1.2");
    r.write(
        "SPECS/baz/changelog",
        "* Mon Jan 01 2024 Jane Doe <jane@example.com> - 1.0-1\n- Old\n",
    );
    r.commit(JANE, "baz: keep the old changelog in a file");
    r.write("SPECS/baz/baz.patch", "patch 2\n");
    r.commit(JANE, "baz: refresh the patch\n\n[bump release: 7]\n");
    r.write("README", "the end\n");
    r.commit(RELENG, "Touch the README again");
    r
}
