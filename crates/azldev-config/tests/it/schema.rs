//! The committed JSON Schemas are current, and cover azldev's vocabulary.

use std::collections::BTreeSet;
use std::path::Path;

use azldev_config::schema::{config_schema, overlay_file_schema, to_pretty};
use serde_json::Value;

use crate::support::corpus;

fn check_committed(file: &str, generated: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let want = to_pretty(generated);
    if std::env::var_os("AZLDEV_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write schema");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is out of date with the config types; regenerate it with\n    AZLDEV_BLESS=1 cargo test -p azldev-config --test it schema\nand commit the result",
        path.display()
    );
}

#[test]
fn committed_config_schema_is_current() {
    check_committed("azldev.schema.json", config_schema());
}

#[test]
fn committed_overlay_schema_is_current() {
    check_committed("azldev-overlay.schema.json", overlay_file_schema());
}

fn property_names(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                out.extend(props.keys().cloned());
            }
            m.values().for_each(|c| property_names(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| property_names(c, out)),
        _ => {}
    }
}

fn enum_values(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(e)) = m.get("enum") {
                out.extend(e.iter().filter_map(|x| x.as_str().map(str::to_owned)));
            }
            if let Some(Value::String(c)) = m.get("const") {
                out.insert(c.clone());
            }
            m.values().for_each(|c| enum_values(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| enum_values(c, out)),
        _ => {}
    }
}

#[test]
fn every_azldev_key_and_enum_value_is_known() {
    let text = std::fs::read_to_string(corpus().join("azl4/external/schemas/azldev.schema.json"))
        .expect("azldev schema");
    let theirs: Value = serde_json::from_str(&text).expect("json");
    let (mut their_keys, mut our_keys) = (BTreeSet::new(), BTreeSet::new());
    property_names(&theirs, &mut their_keys);
    property_names(config_schema(), &mut our_keys);
    let missing: Vec<_> = their_keys.difference(&our_keys).collect();
    assert!(
        missing.is_empty(),
        "keys of azldev's schema we do not accept: {missing:?}"
    );

    let (mut their_enums, mut our_enums) = (BTreeSet::new(), BTreeSet::new());
    enum_values(&theirs, &mut their_enums);
    enum_values(config_schema(), &mut our_enums);
    let missing: Vec<_> = their_enums.difference(&our_enums).collect();
    assert!(
        missing.is_empty(),
        "enum values of azldev's schema we do not accept: {missing:?}"
    );
    assert!(
        our_keys.contains("dist-git-path"),
        "our extension is in the schema"
    );
}
