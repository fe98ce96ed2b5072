//! Debian package metadata in rpm's terms: control paragraphs, versions and
//! dependency fields.

use std::collections::BTreeMap;

/// One control paragraph: field name (as written) → value (continuation
/// lines joined with `\n`, leading space removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Control {
    fields: BTreeMap<String, String>,
}

impl Control {
    /// Parses the first paragraph of a control file.
    pub fn parse(text: &str) -> Control {
        let mut fields = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if line.trim().is_empty() {
                if current.is_some() {
                    break;
                }
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(key) = &current {
                    let v: &mut String = fields.entry(key.clone()).or_default();
                    v.push('\n');
                    v.push_str(line.trim_start());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                let key = k.trim().to_ascii_lowercase();
                fields.insert(key.clone(), v.trim().to_owned());
                current = Some(key);
            }
        }
        Control { fields }
    }

    /// A field by (case-insensitive) name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// A Debian version as rpm's epoch, version and release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evr {
    pub epoch: Option<String>,
    pub version: String,
    pub release: String,
}

impl Evr {
    /// `[epoch:]upstream[-revision]` → rpm EVR: `-` inside the upstream
    /// version becomes `_` (rpm forbids `-` there), no revision becomes
    /// release `0`, and `:` after the epoch is dropped from the version.
    pub fn from_debian(v: &str) -> Evr {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (Some(e.to_owned()), r),
            _ => (None, v),
        };
        let (upstream, revision) = match rest.rfind('-') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        Evr {
            epoch,
            version: sanitize(upstream),
            release: if revision.is_empty() {
                "0".to_owned()
            } else {
                sanitize(revision)
            },
        }
    }

    /// Whether the Debian version had a revision.
    pub fn has_revision(v: &str) -> bool {
        v.split_once(':').map_or(v, |(_, r)| r).contains('-')
    }

    /// `E:V-R` (epoch omitted when absent).
    pub fn to_rpm(&self) -> String {
        match &self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

/// rpm allows letters, digits, `._+~^` in versions; Debian also allows `-`
/// (upstream part) and `:` (after an epoch).
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+~^".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One relation: `name [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    pub constraint: Option<(String, String)>,
}

impl Relation {
    fn parse(s: &str) -> Option<Relation> {
        let s = s.trim();
        let (name_part, rest) = match s.find('(') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        // Drop architecture restrictions `[amd64]` and profiles `<!nocheck>`.
        let name_part = name_part.split(['[', '<']).next().unwrap_or_default().trim();
        // `python3:any`, `libc6:amd64`: the qualifier does not exist in rpm.
        let name = name_part.split(':').next().unwrap_or_default().trim();
        if name.is_empty() {
            return None;
        }
        let constraint = rest.and_then(|r| {
            let r = r.split(')').next()?.trim();
            let op_len = r.find(|c: char| !"<>=".contains(c)).unwrap_or(r.len());
            let (op, ver) = r.split_at(op_len);
            Some((op.to_owned(), ver.trim().to_owned()))
        });
        Some(Relation {
            name: name.to_owned(),
            constraint,
        })
    }

    /// rpm's spelling of this relation.
    pub fn to_rpm(&self) -> String {
        let Some((op, ver)) = &self.constraint else {
            return self.name.clone();
        };
        let evr = Evr::from_debian(ver);
        let has_rev = Evr::has_revision(ver);
        // rpm ignores the release when a requirement has none: `> 2.36`
        // would not match 2.36-1, which Debian's `>> 2.36` does.
        let bound = |release_zero: bool| {
            let mut s = match &evr.epoch {
                Some(e) => format!("{e}:{}", evr.version),
                None => evr.version.clone(),
            };
            if has_rev {
                s.push('-');
                s.push_str(&evr.release);
            } else if release_zero {
                s.push_str("-0");
            }
            s
        };
        let (rop, b) = match op.as_str() {
            ">>" | ">" => (">", bound(true)),
            "<<" | "<" => ("<", bound(false)),
            ">=" => (">=", bound(false)),
            "<=" => ("<=", bound(false)),
            _ => ("=", bound(false)),
        };
        format!("{} {rop} {b}", self.name)
    }
}

/// A dependency field (`Depends`, `Pre-Depends`, `Provides`) as rpm
/// dependencies: one per comma-separated entry, alternatives as rich
/// `(a or b)` dependencies.
pub fn relations_to_rpm(field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in field.split(',') {
        let alts: Vec<String> = entry
            .split('|')
            .filter_map(Relation::parse)
            .map(|r| r.to_rpm())
            .collect();
        match alts.len() {
            0 => {}
            1 => out.extend(alts),
            _ => out.push(format!("({})", alts.join(" or "))),
        }
    }
    out
}

/// The relations of a field, alternatives flattened (for closure checks).
pub fn relation_names(field: &str) -> Vec<Vec<String>> {
    field
        .split(',')
        .map(|entry| {
            entry
                .split('|')
                .filter_map(Relation::parse)
                .map(|r| r.name)
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_fields_and_continuations() {
        let c = Control::parse(
            "Package: bash\nVersion: 5.2.15-2+b7\nDepends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)\nDescription: GNU Bourne Again SHell\n Bash is an sh-compatible command language interpreter.\n .\n more\n\nPackage: other\n",
        );
        assert_eq!(c.get("package"), Some("bash"));
        assert_eq!(c.get("Version"), Some("5.2.15-2+b7"));
        assert_eq!(
            c.get("description"),
            Some("GNU Bourne Again SHell\nBash is an sh-compatible command language interpreter.\n.\nmore")
        );
    }

    #[test]
    fn versions() {
        let e = Evr::from_debian("1:2.38.1-5+deb12u3");
        assert_eq!(
            (e.epoch.as_deref(), e.version.as_str(), e.release.as_str()),
            (Some("1"), "2.38.1", "5+deb12u3")
        );
        assert_eq!(Evr::from_debian("12.9").to_rpm(), "12.9-0");
        assert_eq!(Evr::from_debian("1.2-3-4").to_rpm(), "1.2_3-4");
        assert_eq!(Evr::from_debian("2:1.0~rc1-1").to_rpm(), "2:1.0~rc1-1");
    }

    #[test]
    fn relations() {
        assert_eq!(
            relations_to_rpm("libc6 (>= 2.34), libtinfo6 (>= 6), dash | bash, python3:any (>> 3.9)"),
            vec![
                "libc6 >= 2.34",
                "libtinfo6 >= 6",
                "(dash or bash)",
                "python3 > 3.9-0",
            ]
        );
        assert_eq!(
            relations_to_rpm("libgcc-s1 (>> 2.36-1)"),
            vec!["libgcc-s1 > 2.36-1"]
        );
        assert_eq!(
            relations_to_rpm("gcc-12 (<< 12.3), x (= 1:2-3)"),
            vec!["gcc-12 < 12.3", "x = 1:2-3"]
        );
        assert_eq!(relations_to_rpm(""), Vec::<String>::new());
        assert_eq!(relations_to_rpm("awk"), vec!["awk"]);
    }
}
