//! Release artefacts beside each image: package manifest, SPDX SBOM, size report and budget, signatures.
//!
//! All of them come from the root's rpmdb ([`crate::root::Package`]) and are
//! deterministic: the SBOM's `documentNamespace` derives from the image's
//! input digest and `created` from `SOURCE_DATE_EPOCH`.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::desc::{ImageSpec, Sourced};
use crate::root::Package;

/// One package line of the manifest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ManifestEntry<'a> {
    pub name: &'a str,
    pub evr: &'a str,
    pub arch: &'a str,
    pub license: &'a str,
    pub source_rpm: &'a str,
    pub size: u64,
}

/// The package manifest (`<image>.manifest.json`).
pub fn manifest(spec: &ImageSpec, packages: &[Package]) -> String {
    let entries: Vec<ManifestEntry<'_>> = packages
        .iter()
        .map(|p| ManifestEntry {
            name: &p.name,
            evr: &p.evr,
            arch: &p.arch,
            license: &p.license,
            source_rpm: &p.source_rpm,
            size: p.size,
        })
        .collect();
    let v = serde_json::json!({
        "image": spec.name,
        "arch": spec.arch,
        "packages": entries,
    });
    serde_json::to_string_pretty(&v).expect("serialisable") + "\n"
}

/// Whether `s` looks like an SPDX license expression (identifiers,
/// `LicenseRef-…`, AND/OR/WITH, parentheses); Debian's free-text
/// `Debian (see …)` does not.
pub fn is_spdx_expression(s: &str) -> bool {
    let spaced = s.replace('(', " ( ").replace(')', " ) ");
    let mut any = false;
    let mut depth = 0i32;
    for tok in spaced.split_whitespace() {
        match tok {
            "(" => depth += 1,
            ")" => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            "AND" | "OR" | "WITH" | "and" | "or" => {}
            t => {
                if !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
                    || !t.starts_with(|c: char| c.is_ascii_alphanumeric())
                {
                    return false;
                }
                any = true;
            }
        }
    }
    any && depth == 0
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a Unix time.
pub fn rfc3339(secs: i64) -> String {
    let (y, m, d, hh, mm, ss) = crate::format::util::utc(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

fn spdx_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// An SPDX 2.3 JSON document: the image, and every installed package it contains.
pub fn sbom(spec: &ImageSpec, packages: &[Package], distro: &str, seed_hex: &str, sde: i64) -> String {
    let image_id = "SPDXRef-Image".to_owned();
    let mut pkgs = vec![serde_json::json!({
        "SPDXID": image_id,
        "name": spec.name,
        "versionInfo": seed_hex.get(..16).unwrap_or(seed_hex),
        "primaryPackagePurpose": if spec.formats.iter().any(|f| matches!(f.value, crate::format::Format::Oci | crate::format::Format::OciArchive)) { "CONTAINER" } else { "OPERATING-SYSTEM" },
        "supplier": "NOASSERTION",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "comment": format!("{} image for {}", spec.name, spec.arch),
    })];
    let mut rels = vec![serde_json::json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": image_id,
    })];
    for p in packages {
        let id = format!("SPDXRef-Package-{}", spdx_id(&p.nevra()));
        let declared = if is_spdx_expression(&p.license) {
            p.license.clone()
        } else {
            "NOASSERTION".to_owned()
        };
        let mut v = serde_json::json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.evr,
            "supplier": "NOASSERTION",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared,
            "copyrightText": "NOASSERTION",
            "sourceInfo": format!("built from the source RPM {}", p.source_rpm),
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": format!(
                    "pkg:rpm/{}/{}@{}?arch={}",
                    purl_part(distro), purl_part(&p.name), purl_part(&p.evr), p.arch
                ),
            }],
        });
        if declared == "NOASSERTION" && !p.license.is_empty() {
            v["licenseComments"] = serde_json::Value::String(format!("License tag: {}", p.license));
        }
        pkgs.push(v);
        rels.push(serde_json::json!({
            "spdxElementId": image_id,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let doc = serde_json::json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{}-{}", spec.name, spec.arch),
        "documentNamespace": format!("https://spdx.azldev.invalid/{}/{}-{}-{}", purl_part(distro), spec.name, spec.arch, seed_hex),
        "creationInfo": {
            "created": rfc3339(sde),
            "creators": [format!("Tool: azldev-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": pkgs,
        "relationships": rels,
    });
    serde_json::to_string_pretty(&doc).expect("serialisable") + "\n"
}

fn purl_part(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `12.3 MiB`.
pub fn human(b: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = b as f64;
    if b >= 1 << 30 {
        format!("{:.1} GiB", f / f64::from(1u32 << 30))
    } else if b >= 1 << 20 {
        format!("{:.1} MiB", f / f64::from(1u32 << 20))
    } else if b >= 1 << 10 {
        format!("{:.1} KiB", f / 1024.0)
    } else {
        format!("{b} B")
    }
}

/// Packages by installed size, largest first (ties by name).
pub fn by_size(packages: &[Package]) -> Vec<&Package> {
    let mut v: Vec<&Package> = packages.iter().collect();
    v.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.nevra().cmp(&b.nevra())));
    v
}

/// The size report (`<image>.sizes.txt`): the root's size, then each
/// package's installed size, largest first.
pub fn size_report(spec: &ImageSpec, packages: &[Package], root_size: u64) -> String {
    let total: u64 = packages.iter().map(|p| p.size).sum();
    let mut s = format!(
        "# {} ({}): root {} ({root_size} bytes); packages {} ({total} bytes) in {} packages\n",
        spec.name,
        spec.arch,
        human(root_size),
        human(total),
        packages.len()
    );
    if let Some(b) = &spec.size_budget {
        let _ = writeln!(
            s,
            "# size budget {} ({} bytes), set at {}",
            human(b.value),
            b.value,
            b.from
        );
    }
    for p in by_size(packages) {
        let _ = writeln!(s, "{:>12}  {:>10}  {}", p.size, human(p.size), p.nevra());
    }
    s
}

/// The root exceeds the description's size budget.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(
    "image `{image}` ({arch}) is {} ({size} bytes), over its size budget of {} ({budget} bytes, set at {from}) by {}",
    human(*size), human(*budget), human(size - budget)
)]
#[diagnostic(help("largest packages: {largest}"))]
pub struct OverBudget {
    pub image: String,
    pub arch: String,
    pub size: u64,
    pub budget: u64,
    pub from: String,
    pub largest: String,
}

/// Checks the root's size against the description's budget.
pub fn check_budget(spec: &ImageSpec, packages: &[Package], root_size: u64) -> Result<(), OverBudget> {
    let Some(Sourced { value: budget, from }) = &spec.size_budget else {
        return Ok(());
    };
    if root_size <= *budget {
        return Ok(());
    }
    let largest = by_size(packages)
        .iter()
        .take(5)
        .map(|p| format!("{} ({})", p.name, human(p.size)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(OverBudget {
        image: spec.name.clone(),
        arch: spec.arch.to_string(),
        size: root_size,
        budget: *budget,
        from: from.clone(),
        largest,
    })
}

/// The apparent size of a tree (regular files and symlinks, hard links once).
pub fn tree_size(root: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.nlink() < 2 || seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_expressions() {
        assert!(is_spdx_expression("MIT"));
        assert!(is_spdx_expression("GPL-2.0-or-later AND (MIT OR Apache-2.0)"));
        assert!(is_spdx_expression("GPL-2.0-only WITH Linux-syscall-note"));
        assert!(!is_spdx_expression("Debian (see /usr/share/doc/bash/copyright)"));
        assert!(!is_spdx_expression(""));
        assert!(!is_spdx_expression("(MIT"));
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_778_185_982), "2026-05-07T20:33:02Z");
    }
}
