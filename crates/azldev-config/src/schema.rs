//! JSON Schema of the configuration files and of overlay files, generated from
//! [`crate::raw`] with schemars. The same schemas drive the structural checker.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::Value as Json;

use crate::raw::{ConfigFile, OverlayFile};

fn generate<T: schemars::JsonSchema>(id: &str) -> Json {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.root_schema_for::<T>();
    let mut value = serde_json::to_value(&schema).unwrap_or(Json::Null);
    strip_null(&mut value);
    if let Json::Object(map) = &mut value {
        map.insert("$id".to_owned(), Json::String(id.to_owned()));
    }
    value
}

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
    S.get_or_init(|| generate::<ConfigFile>("https://azldev.invalid/schemas/azldev.schema.json"))
}

/// Schema of an overlay file (one `[metadata]` plus `[[overlays]]`).
#[must_use]
pub fn overlay_file_schema() -> &'static Json {
    static S: OnceLock<Json> = OnceLock::new();
    S.get_or_init(|| generate::<OverlayFile>("https://azldev.invalid/schemas/azldev-overlay.schema.json"))
}

/// Pretty-printed schema with a trailing newline, as committed in the repository.
#[must_use]
pub fn to_pretty(schema: &Json) -> String {
    let mut s = serde_json::to_string_pretty(schema).unwrap_or_default();
    s.push('\n');
    s
}
