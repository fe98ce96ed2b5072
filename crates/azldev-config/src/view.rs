//! Views of a loaded configuration for people and tools: the merged configuration
//! (`config dump`), a component's effective configuration with provenance
//! (`component show`), and component summaries (`component list`). These return
//! strings and JSON values; they never print.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

use crate::load::Config;
use crate::resolve::ResolvedComponent;
use crate::span::{FileId, Loc, annotated};

/// Errors while rendering a view.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("cannot serialize configuration: {0}")]
    Serialize(String),
}

/// The merged configuration (all files, before inheritance) as JSON.
///
/// # Errors
/// Serialization failed (not expected for loaded configurations).
pub fn dump_json(config: &Config) -> Result<Json, ViewError> {
    serde_json::to_value(&config.merged).map_err(|e| ViewError::Serialize(e.to_string()))
}

/// The merged configuration as TOML.
///
/// # Errors
/// Serialization failed (not expected for loaded configurations).
pub fn dump_toml(config: &Config) -> Result<String, ViewError> {
    toml::to_string(&config.merged).map_err(|e| ViewError::Serialize(e.to_string()))
}

/// One line of `component list`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ComponentSummary {
    pub name: String,
    /// `path:line` of `[components.NAME]`.
    pub defined_at: String,
    pub groups: Vec<String>,
    pub spec_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_commit: Option<String>,
    pub overlays: usize,
    pub check_skipped: bool,
}

#[must_use]
pub fn summary(config: &Config, c: &ResolvedComponent) -> ComponentSummary {
    let spec = c.config.spec.as_ref();
    ComponentSummary {
        name: c.name.clone(),
        defined_at: config.files.describe_line(&c.defined_at),
        groups: c.groups.clone(),
        spec_type: spec
            .and_then(|s| serde_json::to_value(s.kind.value).ok())
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "upstream".to_owned()),
        upstream_name: spec
            .and_then(|s| s.upstream_name.as_ref())
            .map(|s| s.value.clone()),
        upstream_commit: spec
            .and_then(|s| s.upstream_commit.as_ref())
            .map(|s| s.value.clone()),
        overlays: c.overlays.len(),
        check_skipped: c.check_skipped(),
    }
}

/// Serialize with locations, then split into the plain value and a map from
/// dotted path to `path:line`.
fn with_provenance<T: Serialize>(
    config: &Config,
    value: &T,
) -> Result<(Json, BTreeMap<String, String>), ViewError> {
    let annotated_json =
        annotated(|| serde_json::to_value(value)).map_err(|e| ViewError::Serialize(e.to_string()))?;
    let mut prov = BTreeMap::new();
    let plain = strip(config, &annotated_json, "", &mut prov);
    Ok((plain, prov))
}

fn loc_of(config: &Config, v: &Json) -> Option<String> {
    let arr = v.get("$loc")?.as_array()?;
    let file = u32::try_from(arr.first()?.as_u64()?).ok()?;
    let offset = usize::try_from(arr.get(1)?.as_u64()?).ok()?;
    Some(
        config
            .files
            .describe_line(&Loc::new(FileId(file), offset..offset)),
    )
}

fn strip(config: &Config, v: &Json, path: &str, prov: &mut BTreeMap<String, String>) -> Json {
    match v {
        Json::Object(m) if m.contains_key("$value") && m.contains_key("$loc") => {
            if let Some(l) = loc_of(config, v) {
                prov.insert(path.to_owned(), l);
            }
            strip(config, &m["$value"], path, prov)
        }
        Json::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.insert(k.clone(), strip(config, val, &p, prov));
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| strip(config, item, &format!("{path}[{i}]"), prov))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A component's effective configuration as JSON: `config` (plain values, with
/// every overlay in application order), `provenance` (dotted path → `file:line`),
/// and where the component, its layers and each overlay came from.
///
/// # Errors
/// Serialization failed (not expected for loaded configurations).
pub fn component_json(config: &Config, c: &ResolvedComponent) -> Result<Json, ViewError> {
    let (mut plain, mut prov) = with_provenance(config, &c.config)?;
    let mut overlays = Vec::new();
    for (i, o) in c.overlays.iter().enumerate() {
        let (ov, p) = with_provenance(config, &o.overlay)?;
        for (k, v) in p {
            let key = if k.is_empty() {
                format!("overlays[{i}]")
            } else {
                format!("overlays[{i}].{k}")
            };
            prov.insert(key, v);
        }
        overlays.push(ov);
    }
    if let Json::Object(m) = &mut plain
        && !overlays.is_empty()
    {
        m.insert("overlays".to_owned(), Json::Array(overlays));
    }
    let overlay_info: Vec<Json> = c
        .overlays
        .iter()
        .map(|o| {
            json!({
                "type": o.overlay.kind.value.as_str(),
                "from": config.files.describe_line(&o.overlay.loc),
                "layer": o.layer,
                "source-path": o.source_path,
            })
        })
        .collect();
    Ok(json!({
        "name": c.name,
        "defined-at": config.files.describe_line(&c.defined_at),
        "groups": c.groups,
        "layers": c.layers,
        "config": plain,
        "overlays": overlay_info,
        "spec-path": c.spec_path,
        "provenance": prov,
    }))
}

/// A component's effective configuration as commented TOML: every value says
/// where it came from.
///
/// # Errors
/// Serialization failed (not expected for loaded configurations).
pub fn component_toml(config: &Config, c: &ResolvedComponent) -> Result<String, ViewError> {
    let annotated_cfg =
        annotated(|| serde_json::to_value(&c.config)).map_err(|e| ViewError::Serialize(e.to_string()))?;
    let mut doc = DocumentMut::new();
    let layers = c
        .layers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" → ");
    let mut header = format!(
        "# Effective configuration of component `{}`\n# defined at {}\n",
        c.name,
        config.files.describe_line(&c.defined_at)
    );
    if !c.groups.is_empty() {
        header.push_str(&format!("# groups: {}\n", c.groups.join(", ")));
    }
    header.push_str(&format!("# layers: {layers}\n"));
    if let Some(p) = &c.spec_path {
        header.push_str(&format!("# local spec: {}\n", p.display()));
    }
    header.push('\n');
    doc.decor_mut().set_prefix(header);
    fill_table(config, doc.as_table_mut(), &annotated_cfg);

    if !c.overlays.is_empty() {
        let mut aot = ArrayOfTables::new();
        for o in &c.overlays {
            let ann = annotated(|| serde_json::to_value(&o.overlay))
                .map_err(|e| ViewError::Serialize(e.to_string()))?;
            let inner = ann.get("$value").cloned().unwrap_or(ann);
            let mut t = Table::new();
            fill_table(config, &mut t, &inner);
            t.decor_mut().set_prefix(format!(
                "\n# from {} ({})\n",
                config.files.describe_line(&o.overlay.loc),
                o.layer
            ));
            strip_leaf_comments(&mut t);
            aot.push(t);
        }
        doc.insert("overlays", Item::ArrayOfTables(aot));
    }
    Ok(doc.to_string())
}

/// Inside an overlay every field comes from the overlay's own table, already
/// named in the table's header comment.
fn strip_leaf_comments(t: &mut Table) {
    for (_, item) in t.iter_mut() {
        if let Item::Value(v) = item {
            v.decor_mut().set_suffix("");
        }
    }
}

fn unwrap_ann(v: &Json) -> (&Json, Option<&Json>) {
    match v {
        Json::Object(m) if m.contains_key("$value") && m.contains_key("$loc") => (&m["$value"], Some(v)),
        _ => (v, None),
    }
}

/// Keys shown first in a table, the rest alphabetical.
const FIRST_KEYS: [&str; 3] = ["type", "name", "filename"];

fn fill_table(config: &Config, t: &mut Table, v: &Json) {
    let (inner, _) = unwrap_ann(v);
    let Json::Object(m) = inner else { return };
    let mut entries: Vec<(&String, &Json)> = m.iter().collect();
    entries.sort_by_key(|(k, _)| FIRST_KEYS.iter().position(|f| f == k).unwrap_or(FIRST_KEYS.len()));
    for (k, val) in entries {
        let (raw, ann) = unwrap_ann(val);
        match raw {
            Json::Object(_) => {
                let mut sub = Table::new();
                fill_table(config, &mut sub, val);
                if sub.is_empty() {
                    sub.set_implicit(false);
                }
                t.insert(k, Item::Table(sub));
            }
            Json::Array(items) if !items.is_empty() && items.iter().all(|i| unwrap_ann(i).0.is_object()) => {
                let mut aot = ArrayOfTables::new();
                for item in items {
                    let mut sub = Table::new();
                    fill_table(config, &mut sub, item);
                    if let Some(l) = loc_of(config, item) {
                        sub.decor_mut().set_prefix(format!("\n# from {l}\n"));
                    }
                    aot.push(sub);
                }
                t.insert(k, Item::ArrayOfTables(aot));
            }
            _ => {
                let mut value = plain_value(raw);
                let mut places: Vec<String> = Vec::new();
                if let Json::Array(items) = raw {
                    for i in items {
                        if let Some(l) = loc_of(config, i)
                            && !places.contains(&l)
                        {
                            places.push(l);
                        }
                    }
                }
                if places.is_empty()
                    && let Some(l) = ann.and_then(|a| loc_of(config, a))
                {
                    places.push(l);
                }
                if !places.is_empty() {
                    value.decor_mut().set_suffix(format!("  # {}", places.join(", ")));
                }
                t.insert(k, Item::Value(value));
            }
        }
    }
}

fn plain_value(v: &Json) -> Value {
    match v {
        Json::String(s) => Value::from(s.as_str()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or_else(|| Value::from(n.to_string())),
        Json::Array(items) => {
            let mut arr = toml_edit::Array::new();
            for i in items {
                arr.push(plain_value(unwrap_ann(i).0));
            }
            Value::Array(arr)
        }
        Json::Object(m) => {
            let mut it = toml_edit::InlineTable::new();
            for (k, val) in m {
                it.insert(k, plain_value(unwrap_ann(val).0));
            }
            Value::InlineTable(it)
        }
        Json::Null => Value::from(""),
    }
}
