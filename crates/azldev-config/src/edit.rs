//! Format-preserving edits of a configuration file with `toml_edit`: add or
//! remove a component, keeping every comment, the order and the formatting of
//! everything else. The functions take and return file text; writing it is the
//! caller's business.
//!
//! Placement: a new `[components.NAME]` goes before the first component (in
//! document order) whose name sorts after it (byte order, as the sorted lists in
//! Azure Linux use), otherwise after the last component. Comments: a comment block
//! separated from the next table by a blank line (a section header) stays above
//! the new table; a comment directly above the next table stays with that table.
//! Adding and then removing a component gives back the original bytes.

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// Errors of an edit.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("the file is not valid TOML: {0}")]
    Parse(String),
    #[error("component `{0}` is already defined in this file")]
    Exists(String),
    #[error("component `{0}` is not defined in this file")]
    NotFound(String),
    #[error("`components` is not a table in this file")]
    NotATable,
}

/// What to write into a new component's table.
#[derive(Debug, Clone, Default)]
pub struct NewComponent {
    pub upstream_name: Option<String>,
    pub upstream_commit: Option<String>,
    /// A local spec (`spec = { type = "local", path = … }`), the path
    /// relative to the file the component is written in.
    pub local_spec: Option<String>,
}

fn parse(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Parse(e.to_string()))
}

/// Every table's position, in a pass over the document.
fn shift_positions(t: &mut Table, from: isize) {
    if let Some(p) = t.position()
        && p >= from
    {
        t.set_position(p + 1);
    }
    for (_, item) in t.iter_mut() {
        match item {
            Item::Table(sub) => shift_positions(sub, from),
            Item::ArrayOfTables(aot) => {
                for sub in aot.iter_mut() {
                    shift_positions(sub, from);
                }
            }
            _ => {}
        }
    }
}

/// Positions of a table and everything nested in it.
fn positions(t: &Table, out: &mut Vec<isize>) {
    if let Some(p) = t.position()
        && !t.is_implicit()
    {
        out.push(p);
    }
    for (_, item) in t.iter() {
        match item {
            Item::Table(sub) => positions(sub, out),
            Item::ArrayOfTables(aot) => aot.iter().for_each(|sub| positions(sub, out)),
            _ => {}
        }
    }
}

/// Visit every table (mutably) whose position is `pos`, stopping at the first.
fn table_at_mut(t: &mut Table, pos: isize) -> Option<&mut Table> {
    if t.position() == Some(pos) && !t.is_implicit() {
        return Some(t);
    }
    for (_, item) in t.iter_mut() {
        let found = match item {
            Item::Table(sub) => table_at_mut(sub, pos),
            Item::ArrayOfTables(aot) => aot.iter_mut().find_map(|sub| table_at_mut(sub, pos)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn prefix_of(t: &Table) -> String {
    t.decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or("")
        .to_owned()
}

fn is_blank_line(l: &str) -> bool {
    l.trim().is_empty()
}

/// Split a table's prefix into the detached part (up to and including the last
/// blank line) and the attached part (comment lines directly above the header).
fn split_prefix(p: &str) -> (&str, &str) {
    let mut end_of_detached = 0;
    let mut pos = 0;
    for line in p.split_inclusive('\n') {
        pos += line.len();
        if line.ends_with('\n') && is_blank_line(line) {
            end_of_detached = pos;
        }
    }
    p.split_at(end_of_detached)
}

fn starts_with_blank_line(s: &str) -> bool {
    s.split_inclusive('\n')
        .next()
        .is_some_and(|l| l.ends_with('\n') && is_blank_line(l))
}

fn drop_first_line(s: &str) -> &str {
    s.find('\n').map_or("", |i| &s[i + 1..])
}

fn ends_with_blank_line(s: &str) -> bool {
    s.split_inclusive('\n')
        .next_back()
        .is_some_and(|l| l.ends_with('\n') && is_blank_line(l))
}

/// The first table (lowest position) of each component defined with tables,
/// in document order: (name, first position, last position).
fn component_spans(doc: &DocumentMut) -> Vec<(String, isize, isize)> {
    let mut out = Vec::new();
    if let Some(Item::Table(comps)) = doc.get("components") {
        for (name, item) in comps.iter() {
            let mut ps = Vec::new();
            match item {
                Item::Table(t) => positions(t, &mut ps),
                Item::ArrayOfTables(a) => a.iter().for_each(|t| positions(t, &mut ps)),
                _ => {}
            }
            if let (Some(min), Some(max)) = (ps.iter().min(), ps.iter().max()) {
                out.push((name.to_owned(), *min, *max));
            }
        }
    }
    out.sort_by_key(|(_, min, _)| *min);
    out
}

fn all_positions(doc: &DocumentMut) -> Vec<isize> {
    let mut ps = Vec::new();
    positions(doc.as_table(), &mut ps);
    ps.sort_unstable();
    ps
}

/// Whether tables in this file are separated by blank lines.
fn blank_style(doc: &DocumentMut, comps: &[(String, isize, isize)]) -> bool {
    let mut starts: Vec<isize> = comps.iter().skip(1).map(|(_, min, _)| *min).collect();
    if starts.is_empty() {
        starts = all_positions(doc).into_iter().skip(1).collect();
    }
    if starts.is_empty() {
        return true;
    }
    let mut doc = doc.clone();
    let blank = starts
        .iter()
        .filter(|p| {
            table_at_mut(doc.as_table_mut(), **p).is_some_and(|t| starts_with_blank_line(&prefix_of(t)))
        })
        .count();
    blank * 2 > starts.len()
}

/// Add `[components.NAME]` to a configuration file's text.
///
/// # Errors
/// The text is not TOML, or already defines the component.
pub fn add_component(text: &str, name: &str, new: &NewComponent) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    match doc.get("components") {
        Some(Item::Table(t)) if t.contains_key(name) => return Err(EditError::Exists(name.to_owned())),
        Some(Item::Table(_)) | None => {}
        Some(_) => return Err(EditError::NotATable),
    }
    let comps = component_spans(&doc);
    let blank = blank_style(&doc, &comps);
    let next = comps.iter().find(|(n, _, _)| n.as_bytes() > name.as_bytes());

    let mut table = Table::new();
    let mut spec = InlineTable::new();
    if let Some(path) = &new.local_spec {
        spec.insert("type", Value::from("local"));
        spec.insert("path", Value::from(path.as_str()));
        table.insert("spec", Item::Value(Value::InlineTable(spec)));
    } else if new.upstream_name.is_some() || new.upstream_commit.is_some() {
        spec.insert("type", Value::from("upstream"));
        if let Some(n) = &new.upstream_name {
            spec.insert("upstream-name", Value::from(n.as_str()));
        }
        if let Some(c) = &new.upstream_commit {
            spec.insert("upstream-commit", Value::from(c.as_str()));
        }
        table.insert("spec", Item::Value(Value::InlineTable(spec)));
    }

    let position;
    let new_prefix;
    if let Some((_, next_pos, _)) = next {
        position = *next_pos;
        shift_positions(doc.as_table_mut(), position);
        let moved = position + 1;
        let mut prefix = String::new();
        if let Some(t) = table_at_mut(doc.as_table_mut(), moved) {
            let old = prefix_of(t);
            let (detached, attached) = split_prefix(&old);
            prefix = detached.to_owned();
            let sep = if blank && !detached.is_empty() && ends_with_blank_line(detached) {
                "\n"
            } else {
                ""
            };
            t.decor_mut().set_prefix(format!("{sep}{attached}"));
        }
        new_prefix = prefix;
    } else {
        let after = comps
            .iter()
            .map(|(_, _, max)| *max)
            .max()
            .or_else(|| all_positions(&doc).last().copied())
            .unwrap_or(0);
        position = after + 1;
        shift_positions(doc.as_table_mut(), position);
        let empty = doc.as_table().is_empty() && text.trim().is_empty();
        new_prefix = if blank && !empty {
            "\n".to_owned()
        } else {
            String::new()
        };
    }
    table.set_position(position);
    table.decor_mut().set_prefix(new_prefix);

    if doc.get("components").is_none() {
        let mut comps_table = Table::new();
        comps_table.set_implicit(true);
        comps_table.set_position(position);
        doc.insert("components", Item::Table(comps_table));
    }
    if let Some(Item::Table(c)) = doc.get_mut("components") {
        c.insert(name, Item::Table(table));
    }
    Ok(doc.to_string())
}

/// Add `name` to `[component-groups.GROUP].components` (created when
/// missing), keeping the array's formatting; nothing changes when it is
/// already a member.
///
/// # Errors
/// The text is not TOML, or the group's `components` is not an array.
pub fn add_to_group(text: &str, group: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let groups = doc
        .entry("component-groups")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .ok_or(EditError::NotATable)?;
    let g = groups
        .entry(group)
        .or_insert(Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or(EditError::NotATable)?;
    let members = g
        .entry("components")
        .or_insert(Item::Value(Value::Array(toml_edit::Array::new())))
        .as_array_mut()
        .ok_or(EditError::NotATable)?;
    if !members.iter().any(|v| v.as_str() == Some(name)) {
        members.push(name);
    }
    Ok(doc.to_string())
}

/// Remove `[components.NAME]` (and its sub-tables) from a configuration file's text.
///
/// # Errors
/// The text is not TOML, or does not define the component.
pub fn remove_component(text: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(text)?;
    let comps = component_spans(&doc);
    let span = comps.iter().find(|(n, _, _)| n == name).cloned();
    let exists = matches!(doc.get("components"), Some(Item::Table(t)) if t.contains_key(name));
    if !exists {
        return Err(EditError::NotFound(name.to_owned()));
    }
    if let Some((_, first, last)) = span {
        let detached = table_at_mut(doc.as_table_mut(), first)
            .map(|t| split_prefix(&prefix_of(t)).0.to_owned())
            .unwrap_or_default();
        let mut owned = Vec::new();
        if let Some(Item::Table(c)) = doc.get("components")
            && let Some(item) = c.get(name)
        {
            match item {
                Item::Table(t) => positions(t, &mut owned),
                Item::ArrayOfTables(a) => a.iter().for_each(|t| positions(t, &mut owned)),
                _ => {}
            }
        }
        let next_pos = all_positions(&doc)
            .into_iter()
            .find(|p| *p > last && !owned.contains(p));
        if !detached.is_empty() {
            match next_pos.and_then(|p| table_at_mut(doc.as_table_mut(), p)) {
                Some(t) => {
                    let old = prefix_of(t);
                    let rest = if ends_with_blank_line(&detached) && starts_with_blank_line(&old) {
                        drop_first_line(&old)
                    } else {
                        old.as_str()
                    };
                    t.decor_mut().set_prefix(format!("{detached}{rest}"));
                }
                None => {
                    if detached.trim().chars().any(|c| !c.is_whitespace()) {
                        let trailing = doc.trailing().as_str().unwrap_or("").to_owned();
                        doc.set_trailing(format!("{detached}{trailing}"));
                    }
                }
            }
        }
    }
    if let Some(Item::Table(c)) = doc.get_mut("components") {
        c.remove(name);
        if c.is_empty() && c.is_implicit() {
            doc.remove("components");
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str, name: &str) -> String {
        let added = add_component(text, name, &NewComponent::default()).expect("add");
        let removed = remove_component(&added, name).expect("remove");
        assert_eq!(
            removed, text,
            "add+remove of {name} changed the file; after add:\n{added}"
        );
        added
    }

    #[test]
    fn sorted_bare_list() {
        let text = "includes = [\"x\"]\n\n#\n# Header\n#\n\n[components.b]\n[components.d]\n[components.f]\n";
        let added = roundtrip(text, "c");
        assert_eq!(
            added,
            "includes = [\"x\"]\n\n#\n# Header\n#\n\n[components.b]\n[components.c]\n[components.d]\n[components.f]\n"
        );
        let first = roundtrip(text, "a");
        assert_eq!(
            first,
            "includes = [\"x\"]\n\n#\n# Header\n#\n\n[components.a]\n[components.b]\n[components.d]\n[components.f]\n"
        );
        let last = roundtrip(text, "z");
        assert!(last.ends_with("[components.f]\n[components.z]\n"), "{last}");
    }

    #[test]
    fn blank_separated_with_subtables_and_comments() {
        let text = "[components.a]\nrelease = { calculation = \"manual\" }\n\n# about c\n[components.c]\n\n[components.c.build]\nwithout = [\"x\"]\n\n[[components.c.overlays]]\ntype = \"spec-add-tag\"\n\n[components.e]\n";
        let added = roundtrip(text, "b");
        assert!(
            added.contains("\n\n[components.b]\n\n# about c\n[components.c]"),
            "{added}"
        );
        roundtrip(text, "d");
        roundtrip(text, "f");
        let removed = remove_component(text, "c").expect("remove");
        assert_eq!(
            removed,
            "[components.a]\nrelease = { calculation = \"manual\" }\n\n[components.e]\n"
        );
    }

    #[test]
    fn new_file_and_spec_fields() {
        let out = add_component(
            "",
            "curl",
            &NewComponent {
                upstream_name: Some("curl-minimal".into()),
                upstream_commit: None,
                local_spec: None,
            },
        )
        .expect("add");
        assert_eq!(
            out,
            "[components.curl]\nspec = { type = \"upstream\", upstream-name = \"curl-minimal\" }\n"
        );
        assert!(matches!(
            add_component(&out, "curl", &NewComponent::default()),
            Err(EditError::Exists(_))
        ));
        assert!(matches!(
            remove_component(&out, "wget"),
            Err(EditError::NotFound(_))
        ));
    }
}
