//! Parse any bytes: the tree must reproduce them exactly, and a few edits
//! must either succeed with a result that round-trips or refuse with the
//! spec unchanged — never panic.
#![no_main]

use azldev_spec::{Occurrence, SectionKind, SectionSel, Spec, TagSel};
use libfuzzer_sys::fuzz_target;

fn round_trips(spec: &Spec) {
    let again = Spec::parse(spec.as_bytes());
    assert_eq!(again.reconstruct(), spec.as_bytes());
}

fn check<T>(spec: &Spec, r: Result<T, azldev_spec::EditError>, edited: &Spec) {
    match r {
        Ok(_) => round_trips(edited),
        Err(_) => assert_eq!(
            edited.as_bytes(),
            spec.as_bytes(),
            "a refused edit changed the spec"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let spec = Spec::parse(data);
    assert_eq!(spec.as_bytes(), data);
    assert_eq!(spec.reconstruct(), data);
    for d in spec.diagnostics() {
        let _ = spec.line_col(d.span.start);
    }
    let release = TagSel {
        name: "Release",
        ..Default::default()
    };
    let files = SectionSel {
        kind: SectionKind::Files,
        package: None,
    };

    let mut s = spec.clone();
    let r = s.set_tag(&release, "2%{?dist}", Occurrence::All);
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.insert_tag(None, "BuildRequires", "make");
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.add_tag(Some("devel"), "Requires", "x");
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.append_lines(&files, "/usr/share/x", Occurrence::All);
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.prepend_lines(&files, "/usr/share/y", Occurrence::One);
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.remove_section(&files, Occurrence::All);
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.remove_subpackage("devel");
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.remove_tags(
        &TagSel {
            name: "Requires",
            ..Default::default()
        },
        Occurrence::All,
    );
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.add_patch("fuzz.patch");
    check(&spec, r, &s);

    let mut s = spec.clone();
    let r = s.remove_patches(&|f| f.len() % 2 == 0);
    check(&spec, r, &s);
});
