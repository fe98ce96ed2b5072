//! The whole azl4 corpus (7,611 real specs, read from
//! `<workspace>/../shared/corpus`): byte-identical round trip, exactly the
//! expected error diagnostics, and edits applied to many specs at once.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use azldev_spec::{EditError, LineKind, Occurrence, SectionKind, SectionSel, Spec, TagSel};
use rayon::prelude::*;

use crate::common::all_corpus_specs;

type Parsed = Vec<(String, Vec<u8>, Spec)>;

/// Every corpus spec, read and parsed once (in parallel) for all the tests
/// of this module.
fn parse_corpus() -> &'static Parsed {
    static CORPUS: OnceLock<Parsed> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let files = all_corpus_specs();
        assert_eq!(files.len(), 7611, "the azl4 corpus has 7,611 specs");
        files
            .into_par_iter()
            .map(|(rel, path)| {
                let src =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                let spec = Spec::parse(src.as_slice());
                (rel, src, spec)
            })
            .collect()
    })
}

/// `(spec, line, code)` of every error diagnostic.
fn errors(spec_rel: &str, spec: &Spec) -> Vec<(String, usize, &'static str)> {
    spec.diagnostics()
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (spec_rel.to_owned(), spec.line_col(d.span.start).0, d.code))
        .collect()
}

#[test]
fn every_corpus_spec_round_trips() {
    let specs = parse_corpus();
    let failed: Vec<&str> = specs
        .par_iter()
        .filter(|(_, src, spec)| spec.reconstruct() != *src || spec.as_bytes() != src.as_slice())
        .map(|(rel, _, _)| rel.as_str())
        .collect();
    assert!(
        failed.is_empty(),
        "{} specs do not round-trip: {failed:?}",
        failed.len()
    );
    // The lines partition the file and every line knows its section.
    for (rel, src, spec) in specs {
        let lines = spec.lines();
        assert_eq!(lines.first().map_or(0, |l| l.start), 0, "{rel}");
        assert_eq!(lines.last().map_or(0, |l| l.end), src.len(), "{rel}");
        assert!(lines.windows(2).all(|w| w[0].end == w[1].start), "{rel}");
        assert!(
            spec.sections()
                .windows(2)
                .all(|w| w[0].lines.end == w[1].lines.start),
            "{rel}: sections partition the lines"
        );
    }
}

/// The error diagnostics over the whole corpus, each judged against what
/// rpm itself does with the spec.
const EXPECTED_ERRORS: &[(&str, usize, &str)] = &[
    // `%patch -P 0` but the spec defines no patch at all (its only patch was
    // removed, see the %changelog): rpm 4.20 fails with "No patch number 0".
    ("n/nodejs-nodemon/nodejs-nodemon.spec", 58, "patch-missing"),
    // `%patch -P1 -p1` while only Patch0 exists (rtslib-fix-setup.patch was
    // removed, see the %changelog): rpm fails with "No patch number 1".
    ("p/python-rtslib/python-rtslib.spec", 72, "patch-missing"),
];

#[test]
fn corpus_error_diagnostics_are_exactly_the_expected_ones() {
    let specs = parse_corpus();
    let mut got: Vec<(String, usize, &'static str)> = specs
        .iter()
        .flat_map(|(rel, _, spec)| errors(rel, spec))
        .collect();
    got.sort();
    let want: Vec<(String, usize, &str)> = EXPECTED_ERRORS
        .iter()
        .map(|&(f, l, c)| (f.to_owned(), l, c))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn corpus_is_recognised_as_specs_with_structure() {
    let specs = parse_corpus();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, spec) in specs {
        let has = |pred: &dyn Fn(&LineKind) -> bool| spec.lines().iter().any(|l| pred(&l.kind));
        *counts.entry("specs").or_default() += 1;
        if spec.conds().iter().any(|c| {
            let h = c.branches[0].line;
            spec.sections()
                .iter()
                .any(|s| s.header.is_some_and(|x| x > h) && s.ctx != c.outer)
        }) {
            *counts.entry("header inside %if").or_default() += 1;
        }
        if has(&|k| *k == LineKind::Include) {
            *counts.entry("%include").or_default() += 1;
        }
        if spec
            .sections()
            .iter()
            .any(|s| s.kind == SectionKind::Build && s.args.has_flag(b'a'))
            || spec
                .sections()
                .iter()
                .any(|s| s.kind.is_build_step() && (s.args.has_flag(b'a') || s.args.has_flag(b'p')))
        {
            *counts.entry("build step -a/-p").or_default() += 1;
        }
        if spec.tags().iter().any(|t| t.key == "buildsystem") {
            *counts.entry("BuildSystem").or_default() += 1;
        }
        if spec.tags().iter().any(|t| t.qualifier.is_some()) {
            *counts.entry("Tag(qualifier)").or_default() += 1;
        }
        if spec
            .sources()
            .iter()
            .any(|s| !s.explicit && s.kind == azldev_spec::SourceKind::Source)
        {
            *counts.entry("unnumbered Source").or_default() += 1;
        }
        if spec
            .sources()
            .iter()
            .any(|s| !s.explicit && s.kind == azldev_spec::SourceKind::Patch)
        {
            *counts.entry("unnumbered Patch").or_default() += 1;
        }
    }
    // Every spec has a main package and at least one section.
    assert!(
        specs
            .iter()
            .all(|(_, _, s)| !s.packages().is_empty() && s.sections().len() > 1)
    );
    // The counts of spec-hard-cases.md (which counts files by grep, so
    // ours are close to, not equal to, its numbers).
    let at_least = |k: &str, n: usize| {
        let got = counts.get(k).copied().unwrap_or(0);
        assert!(got >= n, "{k}: {got} < {n} ({counts:?})");
    };
    assert_eq!(counts["specs"], 7611);
    at_least("header inside %if", 3000);
    at_least("%include", 15);
    at_least("build step -a/-p", 74);
    at_least("BuildSystem", 79);
    at_least("Tag(qualifier)", 340);
    at_least("unnumbered Source", 2900);
    at_least("unnumbered Patch", 1150);
}

/// Apply `edit` to every spec where `applies` holds; check each result
/// round-trips and gains no error diagnostic. Returns how many were edited.
fn edit_corpus(
    specs: &Parsed,
    applies: impl Fn(&Spec) -> bool + Sync,
    edit: impl Fn(&mut Spec) -> Result<(), azldev_spec::EditError> + Sync,
    check: impl Fn(&str, &Spec, &Spec) + Sync,
) -> usize {
    edit_corpus_refusing(specs, applies, edit, check, &[]).0
}

/// [`edit_corpus`], where the specs named in `may_refuse` may refuse the
/// edit with [`EditError::WouldBreak`] (leaving the spec unchanged).
/// Returns how many were edited and how many refused.
fn edit_corpus_refusing(
    specs: &Parsed,
    applies: impl Fn(&Spec) -> bool + Sync,
    edit: impl Fn(&mut Spec) -> Result<(), azldev_spec::EditError> + Sync,
    check: impl Fn(&str, &Spec, &Spec) + Sync,
    may_refuse: &[&str],
) -> (usize, usize) {
    let results: Vec<bool> = specs
        .par_iter()
        .filter(|(_, _, spec)| applies(spec))
        .map(|(rel, _, spec)| {
            let mut edited = spec.clone();
            match edit(&mut edited) {
                Ok(()) => {}
                Err(EditError::WouldBreak(_)) if may_refuse.contains(&rel.as_str()) => {
                    assert_eq!(edited.as_bytes(), spec.as_bytes(), "{rel}: refused but changed");
                    return false;
                }
                Err(e) => panic!("{rel}: edit refused: {e}"),
            }
            let again = Spec::parse(edited.as_bytes());
            assert_eq!(
                again.reconstruct(),
                edited.as_bytes(),
                "{rel}: edited spec does not round-trip"
            );
            let before: Vec<_> = errors(rel, spec).into_iter().map(|e| e.2).collect();
            let after: Vec<_> = errors(rel, &again).into_iter().map(|e| e.2).collect();
            assert_eq!(before, after, "{rel}: the edit changed the error diagnostics");
            check(rel, spec, &again);
            true
        })
        .collect();
    let edited = results.iter().filter(|&&r| r).count();
    (edited, results.len() - edited)
}

fn release() -> TagSel<'static> {
    TagSel {
        name: "Release",
        ..Default::default()
    }
}

#[test]
fn corpus_set_release_where_unambiguous() {
    let specs = parse_corpus();
    let n = edit_corpus(
        specs,
        |spec| {
            let found = spec.find_tags(&release()).unwrap_or_default();
            found.len() == 1 && spec.lines()[spec.tags()[found[0]].line].ctx == 0
        },
        |spec| {
            spec.set_tag(&release(), "99.azl%{?dist}", Occurrence::One)
                .map(drop)
        },
        |rel, before, after| {
            // Exactly one line changed: the Release line, keeping its
            // spelling and separator.
            let t = before.find_tags(&release()).expect("found")[0];
            let tag = &before.tags()[t];
            let line = &before.lines()[tag.line];
            let mut want = before.as_bytes()[..tag.value.start].to_vec();
            want.extend_from_slice(b"99.azl%{?dist}");
            want.extend_from_slice(&before.as_bytes()[tag.value.end..]);
            assert_eq!(after.as_bytes(), want.as_slice(), "{rel}");
            assert!(line.end > line.start);
            assert_eq!(after.find_tags(&release()).map(|t| t.len()), Ok(1), "{rel}");
        },
    );
    assert!(n > 7000, "only {n} specs have one unconditional Release");
}

#[test]
fn corpus_append_to_main_files_where_unambiguous() {
    let specs = parse_corpus();
    let files = SectionSel {
        kind: SectionKind::Files,
        package: None,
    };
    let line = "%{_datadir}/azl-marker";
    let n = edit_corpus(
        specs,
        |spec| spec.find_sections(&files).map(|f| f.len()) == Ok(1),
        |spec| spec.append_lines(&files, line, Occurrence::One),
        |rel, before, after| {
            // The line is in the main package's %files, and the sections are
            // the same as before.
            let f = after.find_sections(&files).expect("found");
            assert_eq!(f.len(), 1, "{rel}");
            let body: Vec<_> = after
                .section_body_lines(f[0])
                .map(|l| {
                    after
                        .text(after.lines()[l].start..after.lines()[l].content_end)
                        .into_owned()
                })
                .collect();
            assert!(body.iter().any(|l| l == line), "{rel}");
            let kinds = |s: &Spec| {
                s.sections()
                    .iter()
                    .map(|x| (x.kind, x.package))
                    .collect::<Vec<_>>()
            };
            assert_eq!(kinds(before), kinds(after), "{rel}");
            assert_eq!(before.lines().len() + 1, after.lines().len(), "{rel}");
        },
    );
    assert!(n > 3900, "only {n} specs have one main %files");
}

#[test]
fn corpus_insert_tag_and_remove_it_again() {
    let specs = parse_corpus();
    let n = edit_corpus(
        specs,
        |spec| {
            !spec
                .find_tags(&TagSel {
                    name: "BuildRequires",
                    ..Default::default()
                })
                .unwrap_or_default()
                .is_empty()
        },
        |spec| {
            let before = spec.as_bytes().to_vec();
            spec.insert_tag(None, "BuildRequires", "azl-marker-devel")?;
            let sel = TagSel {
                name: "BuildRequires",
                value: Some("azl-marker-devel"),
                package: None,
            };
            assert_eq!(spec.find_tags(&sel).map(|t| t.len()), Ok(1));
            spec.remove_tags(&sel, Occurrence::One)?;
            assert_eq!(
                spec.as_bytes(),
                before.as_slice(),
                "insert + remove is the identity"
            );
            Ok(())
        },
        |_, _, _| {},
    );
    assert!(n > 6500, "only {n} specs have BuildRequires");
}

#[test]
fn corpus_remove_every_check_section() {
    let specs = parse_corpus();
    let check = SectionSel {
        kind: SectionKind::Check,
        package: None,
    };
    let n = edit_corpus(
        specs,
        |spec| spec.find_sections(&check).is_ok_and(|f| !f.is_empty()),
        |spec| spec.remove_section(&check, Occurrence::All).map(drop),
        |rel, before, after| {
            assert!(after.sections_of(SectionKind::Check, None).is_empty(), "{rel}");
            // Only the conditionals inside the removed sections go.
            let inside = before
                .conds()
                .iter()
                .filter(|c| {
                    before
                        .sections_of(SectionKind::Check, None)
                        .iter()
                        .any(|&s| before.section_own_lines(s).contains(&c.branches[0].line))
                })
                .count();
            assert_eq!(before.conds().len() - inside, after.conds().len(), "{rel}");
        },
    );
    assert!(n > 3000, "only {n} specs have %check");
}

#[test]
fn corpus_remove_a_subpackage() {
    let specs = parse_corpus();
    // The last sub-package with a resolved name, declared once.
    let victim = |spec: &Spec| {
        (1..spec.packages().len())
            .rev()
            .find(|&p| spec.packages()[p].resolved && spec.packages()[p].declared_by.len() == 1)
    };
    // These sub-packages' %package sections hold Source/Patch tags that
    // %prep uses: removing the section would remove the patch too, so the
    // edit is refused (patch-missing).
    let may_refuse = ["t/tzdata/tzdata.spec"];
    let (n, refused) = edit_corpus_refusing(
        specs,
        |spec| {
            victim(spec).is_some()
                && spec
                    .find_package(victim(spec).map(|p| spec.package_name(p)))
                    .is_ok()
        },
        |spec| {
            let p = victim(spec).expect("selected");
            let name = spec.package_name(p).to_owned();
            spec.remove_subpackage(&name).map(drop)
        },
        |rel, before, after| {
            let p = victim(before).expect("selected");
            let name = before.package_name(p);
            assert!(
                after.packages().iter().all(|q| q.name != name),
                "{rel}: {name} is gone"
            );
            assert_eq!(after.packages().len() + 1, before.packages().len(), "{rel}");
            assert!(
                after.sections().iter().filter(|s| s.header.is_some()).count()
                    < before.sections().iter().filter(|s| s.header.is_some()).count(),
                "{rel}"
            );
        },
        &may_refuse,
    );
    assert_eq!(refused, may_refuse.len());
    assert!(n > 2500, "only {n} specs have a removable sub-package");
}
