//! `component add` / `component remove` keep files byte for byte.

use azldev_config::edit::{NewComponent, add_component, remove_component};

use crate::support::{corpus, load_files};

fn roundtrip(text: &str, name: &str) -> String {
    let added = add_component(text, name, &NewComponent::default()).expect("add");
    assert_ne!(added, text);
    let removed = remove_component(&added, name).expect("remove");
    assert!(removed == text, "adding then removing `{name}` changed the file");
    added
}

#[test]
fn azl4_components_list_roundtrip() {
    let path = corpus().join("azl4/base/comps/components.toml");
    let text = std::fs::read_to_string(path).expect("components.toml");
    let added = roundtrip(&text, "curl-ng");
    assert!(
        added.contains("[components.curl-minimal]\n[components.curl-ng]\n")
            || added.contains("[components.curl]\n[components.curl-ng]\n")
    );
    // Diff is exactly one inserted line.
    let before: Vec<&str> = text.lines().collect();
    let after: Vec<&str> = added.lines().collect();
    assert_eq!(after.len(), before.len() + 1);
    // First and last positions, and a name that sorts before digits.
    roundtrip(&text, "000-first");
    roundtrip(&text, "zzzz-last");
    let first = add_component(&text, "000-first", &NewComponent::default()).expect("add");
    assert!(first.contains("# Please keep this list sorted alphabetically for readability.\n#\n\n[components.000-first]\n[components.389-ds-base]\n"));
}

#[test]
fn azl4_comp_files_roundtrip() {
    for rel in [
        "kernel/kernel.comp.toml",
        "apache-ivy/apache-ivy.comp.toml",
        "anaconda/anaconda.comp.toml",
    ] {
        let text = std::fs::read_to_string(corpus().join("azl4/base/comps").join(rel)).expect("comp file");
        roundtrip(&text, "aaa");
        roundtrip(&text, "zzz");
    }
}

#[test]
fn remove_keeps_section_comments() {
    let text =
        std::fs::read_to_string(corpus().join("azl4/base/comps/components.toml")).expect("components.toml");
    let removed = remove_component(&text, "389-ds-base").expect("remove");
    assert!(removed.contains(
        "# Please keep this list sorted alphabetically for readability.\n#\n\n[components.7zip]\n"
    ));
    assert_eq!(removed.lines().count(), text.lines().count() - 1);
}

#[test]
fn added_component_loads_with_its_spec() {
    let (p, _) = load_files(&[("distro.toml", "# my distro\n\n[components.a]\n[components.c]\n")]);
    let path = p.path("distro.toml");
    let text = std::fs::read_to_string(&path).expect("read");
    let new = NewComponent {
        upstream_name: Some("bee".into()),
        upstream_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        local_spec: None,
    };
    let out = add_component(&text, "b", &new).expect("add");
    std::fs::write(&path, &out).expect("write");
    let l = azldev_config::load(&path).expect("load");
    assert!(l.diagnostics.is_empty());
    let b = &l.config.components["b"];
    let spec = b.config.spec.as_ref().expect("spec");
    assert_eq!(spec.upstream_name.as_ref().map(|s| s.as_str()), Some("bee"));
    assert_eq!(l.config.files.describe_line(&b.defined_at), "distro.toml:4");
}
