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
    // `spec = { type = "" }` is refused on purpose (issue 17): it says
    // nothing, and an editor should flag it.
    their_enums.remove("");
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

/// Each overlay type's required keys: the validation pass asks for exactly
/// `OverlayType::required_keys`, and the schema's `if`/`then` rule for the
/// type says the same (so an editor rejects a `spec-set-tag` without
/// `value`).
#[test]
fn overlay_required_keys_agree_in_validation_and_schema() {
    use azldev_config::raw::OverlayType;
    let overlay = &config_schema()["$defs"]["Overlay"]["allOf"];
    for t in OverlayType::ALL {
        let (_p, loaded) = crate::support::load_files(&[(
            "distro.toml",
            &format!("[[components.a.overlays]]\ntype = \"{t}\"\n"),
        )]);
        let asked: BTreeSet<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "config::overlay-missing-field")
            .filter_map(|d| d.message.rsplit('`').nth(1).map(str::to_owned))
            .collect();
        let want: BTreeSet<String> = t.required_keys().iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(asked, want, "validation of {t}");
        let rule = overlay
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|r| r["if"]["properties"]["type"]["const"] == t.as_str())
            })
            .unwrap_or_else(|| panic!("no schema rule for {t}"));
        let required: BTreeSet<String> = rule["then"]["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        assert_eq!(required, want, "schema rule of {t}");
    }
    let set_tag = overlay
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|r| r["if"]["properties"]["type"]["const"] == "spec-set-tag")
        })
        .expect("spec-set-tag rule");
    assert_eq!(set_tag["then"]["properties"]["value"]["minLength"], 1);
}

#[test]
fn schema_rejects_what_validation_rejects() {
    let s = config_schema();
    // A real identifier, not a placeholder host.
    let id = s["$id"].as_str().expect("$id");
    assert!(
        id.starts_with("urn:azldev:schema:") && !id.contains("invalid"),
        "{id}"
    );
    assert_ne!(overlay_file_schema()["$id"], s["$id"]);
    // `check.skip = true` needs a non-empty `skip_reason`.
    let check = &s["$defs"]["CheckConfig"]["allOf"][0];
    assert_eq!(check["if"]["properties"]["skip"]["const"], true);
    assert_eq!(check["then"]["required"][0], "skip_reason");
    // `spec = { type = "" }` is not a spec type, for the editor and for
    // `config check` alike.
    let mut types = BTreeSet::new();
    enum_values(&s["$defs"]["SpecType"], &mut types);
    assert_eq!(types, BTreeSet::from(["local".to_owned(), "upstream".to_owned()]));
    let (_p, loaded) =
        crate::support::load_files(&[("distro.toml", "[components.a]\nspec = { type = \"\" }\n")]);
    assert!(loaded.diagnostics.has_errors(), "type = \"\" is refused");
}
