//! Remote URLs: which are accepted, and how a cache entry is named.

use std::path::{Path, PathBuf};

use crate::Error;

/// An accepted remote: `https://`, `http://`, `file://`, or a local path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Remote {
    Http(String),
    /// Absolute local path (from `file://` or a plain path).
    Local(PathBuf),
}

impl Remote {
    /// Parse a URL as written in configuration; relative paths resolve
    /// against `base` (the directory of the file that names them). Anything
    /// but http(s), file and paths — `ssh://`, `git://`, `ext::`, scp-like
    /// `host:path` — is refused.
    pub fn parse(url: &str, base: &Path) -> Result<Remote, Error> {
        let refuse = |why: &str| Error::RefusedUrl {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        let u = url.trim();
        if u.is_empty() {
            return Err(refuse("it is empty"));
        }
        if u.contains('\n') || u.contains('\0') {
            return Err(refuse("it contains a control character"));
        }
        let lower = u.to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            return Ok(Remote::Http(u.to_owned()));
        }
        if let Some(rest) = u.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(refuse("a file:// URL needs an absolute path"));
            }
            return Ok(Remote::Local(PathBuf::from(rest)));
        }
        if let Some(scheme_end) = u.find("://") {
            return Err(refuse(&format!(
                "the `{}` transport is not allowed (only https, http, file and paths)",
                &u[..scheme_end]
            )));
        }
        if u.contains("::") {
            return Err(refuse("transport helpers (`ext::`, `fd::`) are not allowed"));
        }
        // scp-like `host:path` (a colon before any slash).
        if let Some(colon) = u.find(':')
            && !u[..colon].contains('/')
        {
            return Err(refuse(
                "ssh remotes are not allowed (only https, http, file and paths)",
            ));
        }
        if u.starts_with('-') {
            return Err(refuse("a path may not start with `-`"));
        }
        let p = Path::new(u);
        Ok(Remote::Local(if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }))
    }

    /// The URL handed to git.
    pub fn as_git_url(&self) -> String {
        match self {
            Remote::Http(u) => u.clone(),
            Remote::Local(p) => format!("file://{}", p.display()),
        }
    }

    /// Whether fetching needs the network.
    pub fn is_network(&self) -> bool {
        matches!(self, Remote::Http(_))
    }

    /// Directory name of this remote's cache entry: readable and unique.
    pub fn cache_key(&self) -> String {
        use sha2::Digest;
        let url = self.as_git_url();
        let digest = sha2::Sha256::digest(url.as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        let readable: String = url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("file://")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let readable = readable.trim_matches('_');
        let tail: String = readable
            .chars()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{tail}-{hex}.git")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused() {
        let base = Path::new("/distro");
        assert_eq!(
            Remote::parse("https://src.example.org/rpms/$pkg", base),
            Ok(Remote::Http("https://src.example.org/rpms/$pkg".into()))
        );
        assert_eq!(
            Remote::parse("file:///srv/git/x", base),
            Ok(Remote::Local("/srv/git/x".into()))
        );
        assert_eq!(
            Remote::parse("../up/x", base),
            Ok(Remote::Local("/distro/../up/x".into()))
        );
        for bad in [
            "ssh://host/x",
            "git://host/x",
            "ext::sh -c touch% /tmp/pwned",
            "host:repo.git",
            "git@github.com:a/b.git",
            "file://relative",
            "-uhelp",
            "",
        ] {
            assert!(
                matches!(Remote::parse(bad, base), Err(Error::RefusedUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn cache_keys_are_distinct_and_safe() {
        let a = Remote::Http("https://h/rpms/a".into()).cache_key();
        let b = Remote::Http("https://h/rpms/b".into()).cache_key();
        assert_ne!(a, b);
        assert!(a.ends_with(".git"));
        assert!(!a.contains('/'));
    }
}
