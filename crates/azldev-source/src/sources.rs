//! Dist-git `sources` files: which tarballs live in the lookaside cache.

/// One line of a `sources` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub filename: String,
    /// `SHA512`, `SHA256`, … or `MD5` for the legacy form.
    pub hash_type: String,
    pub hash: String,
}

/// Parse a `sources` file: BSD-tagged `SHA512 (file) = hash` lines and the
/// legacy `hash  file` (md5) form. Lines that fit neither are returned as
/// errors with their one-based line number.
pub fn parse_sources(text: &str) -> Result<Vec<SourceLine>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some((ty, rest)) = l.split_once(" (")
            && let Some((file, hash)) = rest.rsplit_once(") = ")
            && ty.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            out.push(SourceLine {
                filename: file.to_owned(),
                hash_type: ty.to_ascii_uppercase(),
                hash: hash.trim().to_ascii_lowercase(),
            });
            continue;
        }
        let mut parts = l.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(hash), Some(file), None)
                if hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                out.push(SourceLine {
                    filename: file.to_owned(),
                    hash_type: "MD5".into(),
                    hash: hash.to_ascii_lowercase(),
                });
            }
            _ => return Err((i + 1, line.to_owned())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms() {
        let s = "SHA512 (curl-8.15.0.tar.xz) = ABCD\n\nd41d8cd98f00b204e9800998ecf8427e  old.tar.gz\n";
        let v = parse_sources(s).expect("parses");
        assert_eq!(v[0].filename, "curl-8.15.0.tar.xz");
        assert_eq!(v[0].hash, "abcd");
        assert_eq!(v[1].hash_type, "MD5");
        assert_eq!(
            parse_sources("garbage line here\n"),
            Err((1, "garbage line here".into()))
        );
    }
}
