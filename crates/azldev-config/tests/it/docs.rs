//! `docs/overlays.md` cannot drift from the overlay types: every type has a
//! section, its key table names exactly the keys the code requires and
//! accepts, and its example loads without a diagnostic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use azldev_config::raw::{OVERLAY_COMMON_KEYS, OverlayType};

use crate::support::load_files;

/// One `## \`type\`` section of the reference.
#[derive(Debug, Default)]
struct Section {
    required: BTreeSet<String>,
    optional: BTreeSet<String>,
    example: Option<String>,
}

/// `| \`key\` | required | …` → (key, required).
fn key_row(line: &str) -> Option<(String, bool)> {
    let cells: Vec<&str> = line.trim().trim_matches('|').split('|').map(str::trim).collect();
    let key = cells.first()?.strip_prefix('`')?.strip_suffix('`')?;
    match *cells.get(1)? {
        "required" => Some((key.to_owned(), true)),
        "optional" => Some((key.to_owned(), false)),
        _ => None,
    }
}

fn parse(doc: &str) -> (BTreeMap<String, Section>, Section) {
    let mut sections: BTreeMap<String, Section> = BTreeMap::new();
    // Keys before the first type section: those every overlay accepts.
    let mut common = Section::default();
    let mut current: Option<String> = None;
    let mut in_toml: Option<String> = None;
    for line in doc.lines() {
        if let Some(block) = &mut in_toml {
            if line.trim_start().starts_with("```") {
                let text = std::mem::take(block);
                in_toml = None;
                if let Some(s) = current.as_ref().and_then(|c| sections.get_mut(c))
                    && s.example.is_none()
                {
                    s.example = Some(text);
                }
            } else {
                block.push_str(line);
                block.push('\n');
            }
            continue;
        }
        if line.trim_start().starts_with("```toml") {
            in_toml = Some(String::new());
            continue;
        }
        if let Some(h) = line.strip_prefix("## ") {
            current = h
                .strip_prefix('`')
                .and_then(|t| t.strip_suffix('`'))
                .map(str::to_owned);
            if let Some(c) = &current {
                assert!(!sections.contains_key(c), "`{c}` documented twice");
                sections.insert(c.clone(), Section::default());
            }
            continue;
        }
        if let Some((key, required)) = key_row(line) {
            let s = match &current {
                Some(c) => sections.get_mut(c).expect("section"),
                None => &mut common,
            };
            if required {
                s.required.insert(key);
            } else {
                s.optional.insert(key);
            }
        }
    }
    (sections, common)
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

#[test]
fn overlay_reference_matches_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/overlays.md");
    let doc = std::fs::read_to_string(&path).expect("docs/overlays.md");
    let (sections, common) = parse(&doc);

    let mut all_common = common.required.clone();
    all_common.extend(common.optional.iter().cloned());
    assert_eq!(all_common, set(OVERLAY_COMMON_KEYS), "keys every overlay accepts");

    let documented: BTreeSet<&str> = sections.keys().map(String::as_str).collect();
    let types: BTreeSet<&str> = OverlayType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(documented, types, "every overlay type has exactly one section");

    for t in OverlayType::ALL {
        let s = &sections[t.as_str()];
        assert_eq!(s.required, set(t.required_keys()), "required keys of `{t}`");
        assert_eq!(s.optional, set(t.optional_keys()), "optional keys of `{t}`");
        // The example is an overlay of that type that loads cleanly; input
        // files it names exist (empty) beside the root file.
        let example = s
            .example
            .as_deref()
            .unwrap_or_else(|| panic!("`{t}` has no example"));
        assert!(
            example.contains(&format!("type = \"{t}\"")),
            "example of `{t}`: {example}"
        );
        let value: toml::Value = toml::from_str(example).unwrap_or_else(|e| panic!("example of `{t}`: {e}"));
        let overlay = &value["components"]["hello"]["overlays"][0];
        let keys: BTreeSet<String> = overlay.as_table().expect("table").keys().cloned().collect();
        for k in &keys {
            assert!(
                OVERLAY_COMMON_KEYS.contains(&k.as_str())
                    || t.required_keys().contains(&k.as_str())
                    || t.optional_keys().contains(&k.as_str()),
                "example of `{t}` uses `{k}`, which the type does not accept"
            );
        }
        let mut files = vec![("distro.toml", example.to_owned())];
        if let Some(src) = overlay.get("source").and_then(toml::Value::as_str) {
            files.push((src, String::new()));
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        let (_p, loaded) = load_files(&files);
        let problems: Vec<String> = loaded.diagnostics.iter().map(|d| d.short()).collect();
        assert!(problems.is_empty(), "example of `{t}`: {problems:#?}");
    }
}
