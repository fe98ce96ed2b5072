//! Properties on generated input: any bytes round-trip and never panic;
//! spec-like text built from fragments (conditionals, continuations, open
//! macros, headers, tags, CRLF) round-trips, and every edit on it either
//! succeeds with a result that round-trips and has no new error, or is
//! refused with the spec unchanged.

use std::collections::HashMap;

use azldev_spec::{EditError, Occurrence, SectionKind, SectionSel, Spec, TagSel};
use proptest::collection::vec;
use proptest::prelude::*;
use regex::bytes::Regex;

/// Structural invariants every parse must satisfy.
fn check_invariants(src: &[u8], spec: &Spec) -> Result<(), TestCaseError> {
    prop_assert_eq!(spec.as_bytes(), src);
    prop_assert_eq!(spec.reconstruct(), src);
    let lines = spec.lines();
    prop_assert_eq!(lines.first().map_or(0, |l| l.start), 0);
    prop_assert_eq!(lines.last().map_or(0, |l| l.end), src.len());
    for w in lines.windows(2) {
        prop_assert_eq!(w[0].end, w[1].start);
    }
    for l in lines {
        prop_assert!(l.start < l.end && l.start <= l.content_end && l.content_end <= l.end);
        prop_assert!(l.section < spec.sections().len());
    }
    let secs = spec.sections();
    prop_assert_eq!(secs[0].lines.start, 0);
    prop_assert_eq!(secs.last().map(|s| s.lines.end), Some(lines.len()));
    for w in secs.windows(2) {
        prop_assert_eq!(w[0].lines.end, w[1].lines.start);
    }
    for (i, s) in secs.iter().enumerate() {
        for l in s.lines.clone() {
            prop_assert_eq!(lines[l].section, i);
        }
        let own = spec.section_own_lines(i);
        prop_assert!(own.start == s.lines.start && own.end <= s.lines.end);
    }
    prop_assert!(!spec.packages().is_empty());
    for d in spec.diagnostics() {
        prop_assert!(d.span.start <= d.span.end && d.span.end <= src.len());
    }
    Ok(())
}

fn error_counts(spec: &Spec) -> HashMap<&'static str, usize> {
    let mut m = HashMap::new();
    for d in spec.diagnostics().iter().filter(|d| d.is_error()) {
        *m.entry(d.code).or_insert(0) += 1;
    }
    m
}

const FRAGMENTS: &[&str] = &[
    // conditionals
    "%if 0%{?fedora}\n",
    "%if %{with docs}\n",
    "%ifarch x86_64 aarch64\n",
    "  %ifnos linux\n",
    "%elif 1\n",
    "%elifarch s390x\n",
    "%else\n",
    "%endif\n",
    "  %endif # comment\n",
    // continuations and open macros
    "\\\n",
    "make \\\n",
    "  CFLAGS=x\n",
    "%global x %{expand:\n",
    "%define f() \\\n",
    "%global y 1\n",
    "}\n",
    "%{\n",
    "%(\n",
    ")\n",
    "%[\n",
    "]\n",
    "%%{\n",
    "\\%{\n",
    "# comment %{\n",
    "# plain comment\n",
    "%{lua:\n",
    "%{?fedora:Recommends: x}\n",
    "%fontpkg\n",
    // headers
    "%package devel\n",
    "%package -n bar\n",
    "%package\n",
    "%description\n",
    "%description devel\n",
    "%description -n bar %_description\n",
    "%files\n",
    "%files -n foo-devel -f x.lang\n",
    "%Files devel\n",
    "%files-devel\n",
    "  %files\n",
    "%prep\n",
    "%build\n",
    "%build -a\n",
    "%install\n",
    "%check\n",
    "%post -p /sbin/ldconfig devel\n",
    "%triggerin -- bar\n",
    "%changelog\n",
    "%patchlist\n",
    "%sourcelist\n",
    // tags
    "Name: foo\n",
    "Name:\t\tfoo\n",
    "Version: 1.0\n",
    "Release:        1%{?dist}\n",
    "Requires: a, (b or c) # x\n",
    "Requires(post): d\n",
    "BUildRequires:\tgcc\n",
    "Summary: s\n",
    "Source: a.tar\n",
    "Source3: b.tar\n",
    "Patch: p.patch\n",
    "Patch0: q.patch\n",
    "Patch 2: r.patch\n",
    "  Requires: indented\n",
    "Unknown: tag\n",
    "License: %{shrink:\n",
    // bodies
    "%setup -q\n",
    "%autosetup -p1\n",
    "%autopatch -M 5\n",
    "%patch -P 0 -p1\n",
    "%patch 1\n",
    "%patch2 -p1\n",
    "%patch\n",
    "p.patch\n",
    "* Mon Jan 01 2024 A <a@b> - 1-1\n",
    "- entry 100%%\n",
    "/usr/bin/foo\n",
    "%include %{SOURCE1}\n",
    "%dnl %global z 1\n",
    "text\n",
    "\n",
    "\t  \n",
    "\x0c\n",
    "trailing   \n",
];

/// Spec-like bytes: fragments, optionally with CRLF line ends, a missing
/// final newline and a non-UTF-8 byte.
fn spec_like() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(proptest::sample::select(FRAGMENTS), 0..40),
        any::<bool>(),
        any::<bool>(),
        any::<Option<proptest::sample::Index>>(),
    )
        .prop_map(|(frags, crlf, cut_final, bad_byte)| {
            let mut s = frags.concat();
            if crlf {
                s = s.replace('\n', "\r\n");
            }
            let mut b = s.into_bytes();
            if cut_final {
                while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                    b.pop();
                }
            }
            if let Some(i) = bad_byte
                && !b.is_empty()
            {
                let at = i.index(b.len());
                b.insert(at, 0xff);
            }
            b
        })
}

const PREAMBLE_TAGS: &[&str] = &[
    "Version:        1.0\n",
    "Release:        1%{?dist}\n",
    "Summary:\tsummary\n",
    "License: MIT\n",
    "Requires: a\n",
    "Requires(post): b\n",
    "BuildRequires:  gcc\n",
    "buildrequires: make\n",
    "Source0: a.tar.gz\n",
    "Source: b.tar.gz\n",
    "Patch0: q.patch\n",
    "Patch: p.patch\n",
    "%global g 1\n",
    "%{?fedora:Recommends: x}\n",
    "# comment\n",
    "\n",
];

const HEADERS: &[&str] = &[
    "%package devel\nSummary: d\n",
    "%package -n bar\nSummary: b\n",
    "%description\n",
    "%description devel\n",
    "%prep\n%setup -q\n",
    "%prep\n%autosetup -p1\n",
    "%build\n",
    "%install\n",
    "%check\n",
    "%files\n",
    "%files devel\n",
    "%files -n bar\n",
    "%post -p /sbin/ldconfig\n",
    "%changelog\n",
];

const BODY: &[&str] = &[
    "make\n",
    "/usr/bin/x\n",
    "Requires: not-a-tag-here\n",
    "echo \\\n  arg \\\n\n",
    "# note\n",
    "\n",
    "%if %{with x}\nx\n%else\ny\n%endif\n",
    "%patch -P 0 -p1\n",
];

/// A spec that rpm would accept: a preamble, then sections, each part
/// optionally inside a balanced `%if`, optionally introduced by a comment.
fn well_formed_spec() -> impl Strategy<Value = Vec<u8>> {
    let tag = (proptest::sample::select(PREAMBLE_TAGS), any::<bool>());
    let section = (
        proptest::sample::select(HEADERS),
        vec(proptest::sample::select(BODY), 0..4),
        any::<bool>(),
        any::<bool>(),
    );
    (vec(tag, 0..10), vec(section, 0..8), any::<bool>(), any::<bool>()).prop_map(
        |(tags, sections, crlf, cut_final)| {
            let mut s = String::from("Name: foo\n");
            for (t, wrap) in tags {
                if wrap {
                    s.push_str("%if 0%{?fedora}\n");
                    s.push_str(t);
                    s.push_str("%endif\n");
                } else {
                    s.push_str(t);
                }
            }
            for (header, body, wrap, comment) in sections {
                if comment {
                    s.push_str("\n# the next section\n");
                }
                if wrap {
                    s.push_str("%if %{with feature}\n");
                }
                s.push_str(header);
                for b in body {
                    s.push_str(b);
                }
                if wrap {
                    s.push_str("%endif\n");
                }
            }
            if crlf {
                s = s.replace('\n', "\r\n");
            }
            let mut b = s.into_bytes();
            if cut_final {
                while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                    b.pop();
                }
            }
            b
        },
    )
}

type EditFn = fn(&mut Spec) -> Result<(), EditError>;

fn tag(name: &str) -> TagSel<'_> {
    TagSel {
        name,
        ..Default::default()
    }
}

fn sec(kind: SectionKind) -> SectionSel<'static> {
    SectionSel { kind, package: None }
}

const EDITS: &[(&str, EditFn)] = &[
    ("set Release", |s| {
        s.set_tag(&tag("Release"), "2%{?dist}", Occurrence::One).map(drop)
    }),
    ("set Requires all", |s| {
        s.set_tag(&tag("requires"), "x", Occurrence::All).map(drop)
    }),
    ("set Source1", |s| {
        s.set_tag(&tag("Source1"), "s.tar", Occurrence::Nth(0)).map(drop)
    }),
    ("add Requires", |s| s.add_tag(None, "Requires", "new")),
    ("add to devel", |s| s.add_tag(Some("devel"), "Requires", "new")),
    ("insert BuildRequires", |s| {
        s.insert_tag(None, "BuildRequires", "make")
    }),
    ("insert Patch9", |s| s.insert_tag(None, "Patch9", "n.patch")),
    ("remove Requires", |s| {
        s.remove_tags(&tag("Requires"), Occurrence::All).map(drop)
    }),
    ("prepend build", |s| {
        s.prepend_lines(&sec(SectionKind::Build), "echo a\necho b", Occurrence::All)
    }),
    ("prepend preamble", |s| {
        s.prepend_lines(&sec(SectionKind::Preamble), "%global g 1", Occurrence::One)
    }),
    ("append files", |s| {
        s.append_lines(&sec(SectionKind::Files), "/new", Occurrence::One)
    }),
    ("append files all", |s| {
        s.append_lines(&sec(SectionKind::Files), "/new", Occurrence::All)
    }),
    ("append devel files", |s| {
        s.append_lines(
            &SectionSel {
                kind: SectionKind::Files,
                package: Some("devel"),
            },
            "/dev",
            Occurrence::Nth(0),
        )
    }),
    ("remove files", |s| {
        s.remove_section(&sec(SectionKind::Files), Occurrence::All)
            .map(drop)
    }),
    ("remove check", |s| {
        s.remove_section(&sec(SectionKind::Check), Occurrence::One)
            .map(drop)
    }),
    ("remove devel", |s| s.remove_subpackage("devel").map(drop)),
    ("remove bar", |s| s.remove_subpackage("bar").map(drop)),
    ("regex", |s| {
        let re = Regex::new("(?m)^make").expect("regex");
        s.replace_regex(None, Occurrence::One, &re, "ninja").map(drop)
    }),
    ("regex build", |s| {
        let re = Regex::new("x").expect("regex");
        s.replace_regex(Some(&sec(SectionKind::Build)), Occurrence::All, &re, "y")
            .map(drop)
    }),
    ("add patch", |s| s.add_patch("new.patch").map(drop)),
    ("remove patch p", |s| {
        s.remove_patches(&|f| f.starts_with('p')).map(drop)
    }),
    ("remove patch q", |s| {
        s.remove_patches(&|f| f == "q.patch").map(drop)
    }),
];

/// Run every edit on a copy of `spec`.
fn check_edits(src: &[u8]) -> Result<(), TestCaseError> {
    let spec = Spec::parse(src);
    let before = error_counts(&spec);
    for (name, edit) in EDITS {
        let mut s = spec.clone();
        match edit(&mut s) {
            Ok(()) => {
                let again = Spec::parse(s.as_bytes());
                check_invariants(s.as_bytes(), &again)?;
                let after = error_counts(&again);
                for (code, n) in &after {
                    prop_assert!(
                        *n <= before.get(code).copied().unwrap_or(0),
                        "{}: new {} error in {:?}",
                        name,
                        code,
                        String::from_utf8_lossy(s.as_bytes())
                    );
                }
                // Without a final newline before, still none after (unless
                // the new last line was a blank line, whose terminator
                // then went away: `a\n\nb` without `b` is `a\n`).
                if !src.is_empty() && !src.ends_with(b"\n") && s.as_bytes().ends_with(b"\n") {
                    let had_blank = src
                        .split(|&b| b == b'\n')
                        .any(|l| l.iter().all(u8::is_ascii_whitespace));
                    prop_assert!(
                        had_blank,
                        "{}: final newline added to {:?}",
                        name,
                        String::from_utf8_lossy(src)
                    );
                }
            }
            Err(_) => prop_assert_eq!(s.as_bytes(), src, "{}: a refused edit changed the spec", name),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_round_trip(src in vec(any::<u8>(), 0..600)) {
        let spec = Spec::parse(src.as_slice());
        check_invariants(&src, &spec)?;
    }

    #[test]
    fn any_ascii_text_round_trips(src in "[ -~\t\r\n]{0,400}") {
        let spec = Spec::parse(src.as_bytes());
        check_invariants(src.as_bytes(), &spec)?;
    }

    #[test]
    fn spec_like_text_round_trips(src in spec_like()) {
        let spec = Spec::parse(src.as_slice());
        check_invariants(&src, &spec)?;
    }
}

/// `(kind, package name)` of every section: the structure an edit of a
/// section body or a tag must not change.
fn structure(spec: &Spec) -> Vec<(SectionKind, Option<String>)> {
    spec.sections()
        .iter()
        .map(|s| (s.kind, s.package.map(|p| spec.package_name(p).to_owned())))
        .collect()
}

/// The body lines' texts of a section.
fn body(spec: &Spec, s: usize) -> Vec<String> {
    spec.section_body_lines(s)
        .map(|l| {
            spec.text(spec.lines()[l].start..spec.lines()[l].content_end)
                .into_owned()
        })
        .collect()
}

/// What the edits mean, beyond not breaking anything.
fn check_edit_semantics(src: &[u8]) -> Result<(), TestCaseError> {
    let spec = Spec::parse(src);
    let files = sec(SectionKind::Files);
    let mut s = spec.clone();
    if s.append_lines(&files, "/azl/new", Occurrence::One).is_ok() {
        prop_assert_eq!(structure(&s), structure(&spec));
        let f = s.find_sections(&files).expect("still there");
        prop_assert_eq!(f.len(), 1);
        let b = body(&s, f[0]);
        prop_assert!(b.iter().any(|l| l == "/azl/new"), "{:?}", b);
        prop_assert_eq!(s.lines().len(), spec.lines().len() + 1);
        // In the branch of the section header, not after an %else.
        let lid = s
            .section_body_lines(f[0])
            .find(|&l| s.text(s.lines()[l].start..s.lines()[l].content_end) == "/azl/new");
        let ctx = lid.map(|l| s.lines()[l].ctx);
        prop_assert_eq!(ctx, Some(s.sections()[f[0]].ctx));
    }
    let mut s = spec.clone();
    if s.add_tag(None, "Requires", "azl-new").is_ok() {
        prop_assert_eq!(structure(&s), structure(&spec));
        let sel = TagSel {
            name: "Requires",
            value: Some("azl-new"),
            package: None,
        };
        let t = s.find_tags(&sel).expect("main package");
        prop_assert_eq!(t.len(), 1);
        // Unconditional, like the preamble itself.
        prop_assert_eq!(s.lines()[s.tags()[t[0]].line].ctx, 0);
    }
    let mut s = spec.clone();
    if s.remove_section(&files, Occurrence::All).is_ok() {
        prop_assert!(s.find_sections(&files).is_ok_and(|f| f.is_empty()));
        let before = structure(&spec);
        let after = structure(&s);
        let kept: Vec<_> = before
            .iter()
            .filter(|(k, p)| !(*k == SectionKind::Files && p.as_deref() == Some(spec.package_name(0))))
            .cloned()
            .collect();
        prop_assert_eq!(after, kept);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edits_on_well_formed_specs_mean_what_they_say(src in well_formed_spec()) {
        check_edit_semantics(&src)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn edits_on_spec_like_text_succeed_cleanly_or_refuse(src in spec_like()) {
        check_edits(&src)?;
    }

    #[test]
    fn edits_on_well_formed_specs_succeed_cleanly_or_refuse(src in well_formed_spec()) {
        check_edits(&src)?;
    }

    #[test]
    fn well_formed_specs_round_trip(src in well_formed_spec()) {
        let spec = Spec::parse(src.as_slice());
        check_invariants(&src, &spec)?;
    }

    #[test]
    fn edits_on_any_bytes_never_panic(src in vec(any::<u8>(), 0..300)) {
        check_edits(&src)?;
    }
}

/// The generator is good enough to matter: over a fixed sample, every edit
/// succeeds on some inputs, and all but one are refused on many others.
#[test]
fn spec_like_samples_exercise_every_edit() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (like, formed) = (spec_like(), well_formed_spec());
    let mut ok = vec![0usize; EDITS.len()];
    let mut refused = vec![0usize; EDITS.len()];
    for i in 0..2000 {
        let src = if i % 2 == 0 {
            like.new_tree(&mut runner).expect("a sample").current()
        } else {
            formed.new_tree(&mut runner).expect("a sample").current()
        };
        let spec = Spec::parse(src.as_slice());
        for (i, (_, edit)) in EDITS.iter().enumerate() {
            let mut s = spec.clone();
            match edit(&mut s) {
                Ok(()) => ok[i] += 1,
                Err(_) => refused[i] += 1,
            }
        }
    }
    for (i, (name, _)) in EDITS.iter().enumerate() {
        assert!(ok[i] >= 20, "{name} succeeded only {} times", ok[i]);
    }
    // Most samples are not valid specs; edits on them must be refused.
    assert!(
        refused.iter().filter(|&&r| r >= 100).count() >= EDITS.len() - 1,
        "{refused:?}"
    );
}
