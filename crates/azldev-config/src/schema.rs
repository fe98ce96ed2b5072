//! JSON Schema of the configuration files and of overlay files, generated from
//! [`crate::raw`] with schemars. The same schemas drive the structural checker.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::Value as Json;

use crate::raw::{ConfigFile, OverlayFile, OverlayType};

fn generate<T: schemars::JsonSchema>(id: &str) -> Json {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.root_schema_for::<T>();
    let mut value = serde_json::to_value(&schema).unwrap_or(Json::Null);
    strip_null(&mut value);
    editor_rules(&mut value);
    if let Json::Object(map) = &mut value {
        map.insert("$id".to_owned(), Json::String(id.to_owned()));
    }
    value
}

/// Rules the validation pass enforces that an editor can check too: each
/// overlay type's own required (non-empty) keys, and `check.skip = true`
/// needing a `skip_reason`. `if`/`then` is ignored by the structural checker
/// (`crate::check`), which leaves these to `validate` and its messages.
fn editor_rules(root: &mut Json) {
    let Some(defs) = root.get_mut("$defs").and_then(Json::as_object_mut) else {
        return;
    };
    if let Some(Json::Object(overlay)) = defs.get_mut("Overlay") {
        let rules: Vec<Json> = OverlayType::ALL
            .iter()
            .map(|t| {
                let required = t.required_keys();
                let mut props = serde_json::Map::new();
                for k in required {
                    let rule = if *k == "lines" {
                        serde_json::json!({ "minItems": 1 })
                    } else {
                        serde_json::json!({ "minLength": 1 })
                    };
                    props.insert((*k).to_owned(), rule);
                }
                serde_json::json!({
                    "if": { "properties": { "type": { "const": t.as_str() } }, "required": ["type"] },
                    "then": { "required": required, "properties": props },
                })
            })
            .collect();
        overlay.insert("allOf".to_owned(), Json::Array(rules));
    }
    if let Some(Json::Object(check)) = defs.get_mut("CheckConfig") {
        check.insert(
            "allOf".to_owned(),
            serde_json::json!([{
                "if": { "properties": { "skip": { "const": true } }, "required": ["skip"] },
                "then": { "required": ["skip_reason"], "properties": { "skip_reason": { "minLength": 1 } } },
            }]),
        );
    }
}

/// The schemas' identifiers: URNs naming azldev's vocabulary and its
/// version, not a web address (none is published; editors map files to the
/// schema `azldev config schema` prints).
pub const CONFIG_SCHEMA_ID: &str = "urn:azldev:schema:config:1";
/// See [`CONFIG_SCHEMA_ID`].
pub const OVERLAY_FILE_SCHEMA_ID: &str = "urn:azldev:schema:overlay-file:1";

/// TOML has no null: turn `Option<T>`'s `T | null` into plain `T`.
fn strip_null(v: &mut Json) {
    match v {
        Json::Object(map) => {
            if let Some(Json::Array(types)) = map.get_mut("type") {
                types.retain(|t| t.as_str() != Some("null"));
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".to_owned(), only);
                }
            }
            if let Some(Json::Array(branches)) = map.get("anyOf") {
                let non_null: Vec<Json> = branches
                    .iter()
                    .filter(|b| b.get("type").and_then(Json::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if non_null.len() == 1 && non_null.len() < branches.len() {
                    map.remove("anyOf");
                    if let Some(Json::Object(inner)) = non_null.into_iter().next() {
                        for (k, val) in inner {
                            map.entry(k).or_insert(val);
                        }
                    }
                }
            }
            if let Some(Json::Array(e)) = map.get_mut("enum") {
                e.retain(|x| !x.is_null());
            }
            for child in map.values_mut() {
                strip_null(child);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// Schema of a configuration file (`distro.toml` and everything it includes).
#[must_use]
pub fn config_schema() -> &'static Json {
    static S: OnceLock<Json> = OnceLock::new();
    S.get_or_init(|| generate::<ConfigFile>(CONFIG_SCHEMA_ID))
}

/// Schema of an overlay file (one `[metadata]` plus `[[overlays]]`).
#[must_use]
pub fn overlay_file_schema() -> &'static Json {
    static S: OnceLock<Json> = OnceLock::new();
    S.get_or_init(|| generate::<OverlayFile>(OVERLAY_FILE_SCHEMA_ID))
}

/// Pretty-printed schema with a trailing newline, as committed in the repository.
#[must_use]
pub fn to_pretty(schema: &Json) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}
