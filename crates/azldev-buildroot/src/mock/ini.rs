//! The INI dialect of `dnf.conf` (and `.repo` files), as dnf's own parser
//! reads it: `[section]` headers, `key=value` lines, lines starting with
//! whitespace continue the previous value, `#` and `;` start comment lines.

/// One `key=value` of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniEntry {
    pub key: String,
    pub value: String,
    /// 1-based line of the key in the text.
    pub line: usize,
}

/// One `[name]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniSection {
    pub name: String,
    /// 1-based line of the header.
    pub line: usize,
    pub entries: Vec<IniEntry>,
}

impl IniSection {
    /// The value of `key` (the last one when written twice, as dnf reads it).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&IniEntry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

/// A problem in the text: 1-based line and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniError {
    pub line: usize,
    pub message: String,
}

/// Parse `text`; every problem is returned, the sections read around them too.
#[must_use]
pub fn parse(text: &str) -> (Vec<IniSection>, Vec<IniError>) {
    let mut sections: Vec<IniSection> = Vec::new();
    let mut errors = Vec::new();
    // Whether the previous line was a `key=value` that a continuation extends.
    let mut in_value = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            in_value = false;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if indented && in_value {
            if let Some(entry) = sections.last_mut().and_then(|s| s.entries.last_mut()) {
                if !entry.value.is_empty() {
                    entry.value.push('\n');
                }
                entry.value.push_str(trimmed);
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            in_value = false;
            let Some(name) = rest.strip_suffix(']') else {
                errors.push(IniError {
                    line,
                    message: format!("section header `{trimmed}` is missing its closing `]`"),
                });
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                errors.push(IniError {
                    line,
                    message: "empty section name `[]`".to_owned(),
                });
                continue;
            }
            if let Some(prev) = sections.iter().find(|s| s.name == name) {
                errors.push(IniError {
                    line,
                    message: format!(
                        "section `[{name}]` is defined twice (first on line {})",
                        prev.line
                    ),
                });
                continue;
            }
            sections.push(IniSection {
                name: name.to_owned(),
                line,
                entries: Vec::new(),
            });
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            in_value = false;
            errors.push(IniError {
                line,
                message: format!("expected `key=value` or `[section]`, found `{trimmed}`"),
            });
            continue;
        };
        let key = key.trim();
        if key.is_empty() {
            in_value = false;
            errors.push(IniError {
                line,
                message: format!("option without a name: `{trimmed}`"),
            });
            continue;
        }
        let Some(section) = sections.last_mut() else {
            in_value = false;
            errors.push(IniError {
                line,
                message: format!("option `{key}` before any `[section]`"),
            });
            continue;
        };
        section.entries.push(IniEntry {
            key: key.to_owned(),
            value: value.trim().to_owned(),
            line,
        });
        in_value = true;
    }
    (sections, errors)
}

/// dnf's boolean spellings.
#[must_use]
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// The items of a list option (`baseurl`): separated by whitespace or commas.
#[must_use]
pub fn parse_list(s: &str) -> Vec<String> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Replace `$name` and `${name}` by the value of a dnf variable; unknown
/// variables stay as written. Longest variable name wins (`$releasever_major`
/// before `$releasever`).
#[must_use]
pub fn substitute(s: &str, vars: &[(String, String)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(end) = inner.find('}')
            && let Some((_, v)) = vars.iter().find(|(k, _)| *k == inner[..end])
        {
            out.push_str(v);
            rest = &inner[end + 1..];
            continue;
        }
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let best = vars
            .iter()
            .filter(|(k, _)| !k.is_empty() && name.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len());
        match best {
            Some((k, v)) => {
                out.push_str(v);
                rest = &after[k.len()..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_options_and_continuations() {
        let text = "[main]\ngpgcheck=0\n# comment\n; also\nsyslog_device=\n\n[repo]\nname = Repo One\nbaseurl=http://a/\n  http://b/\n\tfile:///c\nenabled=1\n";
        let (s, e) = parse(text);
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].get("syslog_device").map(|e| e.value.as_str()), Some(""));
        let repo = &s[1];
        assert_eq!(repo.line, 7);
        assert_eq!(repo.get("name").map(|e| e.value.as_str()), Some("Repo One"));
        let baseurl = repo.get("baseurl").expect("baseurl");
        assert_eq!(baseurl.line, 9);
        assert_eq!(
            parse_list(&baseurl.value),
            ["http://a/", "http://b/", "file:///c"]
        );
    }

    #[test]
    fn problems_are_all_reported_with_lines() {
        let text = "orphan=1\n[main]\njunk\n[main]\n[broken\n=x\n";
        let (_, e) = parse(text);
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 3, 4, 5, 6]);
        assert!(e[2].message.contains("defined twice"));
    }

    #[test]
    fn dnf_booleans() {
        for t in ["1", "yes", "True", "ON", "true"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["0", "no", "False", "off"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        assert_eq!(parse_bool("maybe"), None);
        assert_eq!(parse_bool(""), None);
    }

    #[test]
    fn dnf_variables() {
        let vars = vec![
            ("basearch".to_owned(), "aarch64".to_owned()),
            ("releasever".to_owned(), "4.0".to_owned()),
            ("releasever_major".to_owned(), "4".to_owned()),
        ];
        assert_eq!(
            substitute(
                "http://x/$releasever/${basearch}/$releasever_major/$unknown/$",
                &vars
            ),
            "http://x/4.0/aarch64/4/$unknown/$"
        );
        assert_eq!(substitute("f$releasever-$basearch", &vars), "f4.0-aarch64");
    }
}
