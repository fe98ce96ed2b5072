//! Build configuration: macros file, `%{load:}`, `Source9999`, check skipping,
//! header — in the layout azldev produces (compared with real azl4 output).

use azldev_overlay::{BuildSettings, SPEC_HEADER, apply_build_config};
use azldev_spec::Spec;

use crate::util::{Project, corpus, corpus_tree, spec_text, spec_tree};

/// Remove the block rpmautospec prepends (after azldev added its header;
/// expanding it is a separate feature).
fn strip_autospec(text: &str) -> String {
    let start = "## START: Set by rpmautospec\n";
    let end = "## END: Set by rpmautospec\n\n";
    match (text.find(start), text.find(end)) {
        (Some(a), Some(b)) => format!("{}{}", &text[..a], &text[b + end.len()..]),
        _ => text.to_owned(),
    }
}

#[test]
fn header_only_without_options() {
    let mut tree = spec_tree("x", "Name: x\n");
    apply_build_config(&mut tree, &BuildSettings::default()).expect("applies");
    assert_eq!(
        spec_text(&tree),
        format!("{}\n{}\n\nName: x\n", SPEC_HEADER[0], SPEC_HEADER[1])
    );
    assert_eq!(tree.files.len(), 1, "no macros file");
}

#[test]
fn macros_file_matches_azldev_layout() {
    let p = Project::new(
        "[components.wxGTK]\n[components.wxGTK.build]\nwithout = [\"tests\"]\n",
        &[],
    );
    let settings = BuildSettings::of(p.component("wxGTK"));
    let expected_macros =
        std::fs::read_to_string(corpus().join("azl4/specs/w/wxGTK/wxGTK.azl.macros")).expect("macros");
    assert_eq!(settings.macros_file(), expected_macros);

    // Reconstruct the pristine spec from azldev's output, then redo the
    // build configuration: the result equals azldev's, up to the alignment of
    // the added Source9999 line.
    let rendered = strip_autospec(
        &std::fs::read_to_string(corpus().join("azl4/specs/w/wxGTK/wxGTK.spec")).expect("spec"),
    );
    let pristine: String = rendered
        .lines()
        .skip(6)
        .filter(|l| *l != "Source9999: wxGTK.azl.macros")
        .map(|l| format!("{l}\n"))
        .collect();
    let mut tree = spec_tree("wxGTK", &pristine);
    apply_build_config(&mut tree, &settings).expect("applies");
    let ours = spec_text(&tree);
    assert_eq!(tree.files["wxGTK.azl.macros"].data, expected_macros.as_bytes());
    let diff: Vec<(&str, &str)> = ours
        .lines()
        .zip(rendered.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        diff,
        [("Source9999:     wxGTK.azl.macros", "Source9999: wxGTK.azl.macros")]
    );
    assert_eq!(ours.lines().count(), rendered.lines().count());
}

#[test]
fn sorted_defines_with_and_without() {
    let s = BuildSettings {
        with: vec!["zeta".into()],
        without: vec!["alpha".into()],
        defines: [
            ("rhel".to_owned(), "10".to_owned()),
            ("_vpath".to_owned(), "b".to_owned()),
        ]
        .into(),
        ..Default::default()
    };
    assert_eq!(
        s.macros_file().lines().skip(2).collect::<Vec<_>>(),
        ["%_vpath b", "%_with_zeta 1", "%_without_alpha 1", "%rhel 10"]
    );
}

#[test]
fn check_skip_in_every_check_body() {
    let spec = "Name: x\n%if %{with a}\n%check\nmake test-a\n%else\n%check\nmake test-b\n%endif\n";
    let mut tree = spec_tree("x", spec);
    let settings = BuildSettings {
        check_skip: Some("flaky".into()),
        ..Default::default()
    };
    apply_build_config(&mut tree, &settings).expect("applies");
    let out = spec_text(&tree);
    assert_eq!(
        out.matches("%check\n# Check section disabled: flaky\nexit 0\n")
            .count(),
        2,
        "{out}"
    );
    assert!(!Spec::parse(out.as_bytes()).has_errors());
}

#[test]
fn check_skip_matches_real_output() {
    // bats is in the azl4 group that skips %check; reverse azldev's edit and
    // redo it.
    let tree = corpus_tree("bats");
    let rendered = strip_autospec(&spec_text(&tree));
    let marker = "%check\n# Check section disabled: Disabling checks for initial set of failures.\nexit 0\n";
    assert!(rendered.contains(marker));
    let pristine = rendered
        .replacen(&format!("{}\n{}\n\n", SPEC_HEADER[0], SPEC_HEADER[1]), "", 1)
        .replacen(marker, "%check\n", 1);
    let mut t = spec_tree("bats", &pristine);
    let settings = BuildSettings {
        check_skip: Some("Disabling checks for initial set of failures.".into()),
        ..Default::default()
    };
    apply_build_config(&mut t, &settings).expect("applies");
    assert_eq!(spec_text(&t), rendered);
}
