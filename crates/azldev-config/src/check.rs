//! Structural check of a parsed TOML document against the JSON Schema generated
//! from [`crate::raw`]: unknown keys, wrong value types, enum values and missing
//! required keys. Unlike serde, which stops at the first problem, this walks the
//! whole document and reports every problem, each at the span of the offending key
//! or value, with "did you mean" suggestions from the schema's vocabulary.
//!
//! Only a document that passes this check is handed to serde.

use std::ops::Range;

use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::Diagnostic;
use crate::source::SourceMap;
use crate::span::{FileId, Loc};
use crate::suggest;

pub(crate) struct Checker<'a> {
    root: &'a Json,
    files: &'a SourceMap,
    file: FileId,
    pub(crate) out: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(root: &'a Json, files: &'a SourceMap, file: FileId) -> Self {
        Self {
            root,
            files,
            file,
            out: Vec::new(),
        }
    }

    fn loc(&self, span: Range<usize>) -> Loc {
        Loc::new(self.file, span)
    }

    /// Check a whole document against the root schema.
    pub(crate) fn check_document(&mut self, doc: &Spanned<DeTable<'_>>) {
        let root = self.root;
        let span = 0..0;
        self.check_table(root, doc.get_ref(), span, "");
    }

    fn resolve(&self, mut schema: &'a Json) -> &'a Json {
        // Follow `$ref`s (bounded, in case of a reference loop).
        for _ in 0..32 {
            let Some(r) = schema.get("$ref").and_then(Json::as_str) else {
                break;
            };
            let Some(name) = r.strip_prefix("#/$defs/") else {
                break;
            };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(s) => schema = s,
                None => break,
            }
        }
        // `Option<T>` becomes `anyOf: [T, null]`; TOML has no null.
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = schema.get(key).and_then(Json::as_array) {
                let non_null: Vec<&Json> = branches
                    .iter()
                    .filter(|b| b.get("type").and_then(Json::as_str) != Some("null"))
                    .collect();
                if non_null.len() == 1 && enum_values(schema).is_none() {
                    return self.resolve(non_null[0]);
                }
            }
        }
        schema
    }

    fn check_value(&mut self, schema: &'a Json, value: &Spanned<DeValue<'_>>, key: &str, path: &str) {
        let schema = self.resolve(schema);
        let span = value.span();
        let v = value.get_ref();
        let expected = expected_types(schema);
        if !expected.is_empty() && !expected.iter().any(|t| type_matches(t, v)) {
            let want = expected
                .iter()
                .map(|t| article(t))
                .collect::<Vec<_>>()
                .join(" or ");
            let found = found_type(v);
            let mut d = Diagnostic::error(
                "config::wrong-type",
                format!("wrong type for `{path}`: expected {want}, found {found}"),
            )
            .at(self.files, &self.loc(span), format!("expected {want}"));
            if expected.contains(&"string") && matches!(v, DeValue::Datetime(_)) {
                d = d.help("quote the value to make it a string");
            }
            self.out.push(d);
            return;
        }
        if let Some(allowed) = enum_values(schema)
            && let DeValue::String(s) = v
            && !allowed.iter().any(|a| a == s.as_ref())
        {
            let shown = if s.is_empty() { "\"\"" } else { s.as_ref() };
            let mut d = Diagnostic::error(
                "config::invalid-value",
                format!("`{shown}` is not a valid value for `{key}`"),
            )
            .at(self.files, &self.loc(span), "unknown value");
            let candidates: Vec<&str> = allowed.iter().map(String::as_str).collect();
            if let Some(h) = suggest::help_for(s, &candidates, "expected one of") {
                d = d.help(h);
            }
            self.out.push(d);
            return;
        }
        match v {
            DeValue::Table(t) => self.check_table(schema, t, span, path),
            DeValue::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check_value(item_schema, item, key, &format!("{path}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }

    fn check_table(&mut self, schema: &'a Json, table: &DeTable<'_>, span: Range<usize>, path: &str) {
        let schema = self.resolve(schema);
        let props = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        for (k, v) in table.iter() {
            let key: &str = k.get_ref();
            let child_path = join_path(path, key);
            if let Some(prop) = props.and_then(|p| p.get(key)) {
                self.check_value(prop, v, key, &child_path);
                continue;
            }
            match additional {
                Some(Json::Bool(false)) => {
                    let names: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let where_ = if path.is_empty() {
                        "at the top level".to_owned()
                    } else {
                        format!("in `{path}`")
                    };
                    let mut d = Diagnostic::error(
                        "config::unknown-key",
                        format!("unknown key `{key}` {where_}"),
                    )
                    .at(self.files, &self.loc(k.span()), "unknown key");
                    if let Some(h) = suggest::help_for(key, &names, "expected one of") {
                        d = d.help(h);
                    }
                    self.out.push(d);
                }
                Some(s @ Json::Object(_)) => self.check_value(s, v, key, &child_path),
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(Json::as_array) {
            for r in required.iter().filter_map(Json::as_str) {
                if table.get(r).is_none() {
                    let where_ = if path.is_empty() {
                        "at the top level".to_owned()
                    } else {
                        format!("in `{path}`")
                    };
                    self.out.push(
                        Diagnostic::error(
                            "config::missing-key",
                            format!("missing required key `{r}` {where_}"),
                        )
                        .at(
                            self.files,
                            &self.loc(span.clone()),
                            format!("`{r}` is required here"),
                        ),
                    );
                }
            }
        }
    }
}

fn join_path(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let key = if bare {
        key.to_owned()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

fn expected_types(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(Json::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    }
}

/// Allowed string values, from `enum` or from `oneOf`/`anyOf` of `const`s.
fn enum_values(schema: &Json) -> Option<Vec<String>> {
    if let Some(e) = schema.get("enum").and_then(Json::as_array) {
        return Some(e.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
    }
    if let Some(c) = schema.get("const").and_then(Json::as_str) {
        return Some(vec![c.to_owned()]);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema.get(key).and_then(Json::as_array) {
            let mut out = Vec::new();
            for b in branches {
                if let Some(c) = b.get("const").and_then(Json::as_str) {
                    out.push(c.to_owned());
                } else if let Some(e) = b.get("enum").and_then(Json::as_array) {
                    out.extend(e.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                } else {
                    return None;
                }
            }
            return Some(out);
        }
    }
    None
}

fn type_matches(t: &str, v: &DeValue<'_>) -> bool {
    match t {
        "string" => matches!(v, DeValue::String(_)),
        "integer" => matches!(v, DeValue::Integer(_)),
        "number" => matches!(v, DeValue::Integer(_) | DeValue::Float(_)),
        "boolean" => matches!(v, DeValue::Boolean(_)),
        "array" => matches!(v, DeValue::Array(_)),
        "object" => matches!(v, DeValue::Table(_)),
        _ => true,
    }
}

fn found_type(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn article(t: &str) -> &'static str {
    match t {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean",
        "array" => "an array",
        "object" => "a table",
        _ => "a value",
    }
}
