//! The in-memory component tree overlays edit: the spec plus its sidecar
//! files, keyed by a normalised relative path.

use std::collections::BTreeMap;

/// How a file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileMode {
    Regular,
    Executable,
    /// The data is the link target.
    Symlink,
}

/// One file of a component tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    pub data: Vec<u8>,
    pub mode: FileMode,
}

impl TreeFile {
    pub fn regular(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: data.into(),
            mode: FileMode::Regular,
        }
    }
}

/// A component's files. Paths are relative, `/`-separated, normalised (no
/// `.`, `..`, empty or absolute components).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentTree {
    /// Component name; the spec is `<name>.spec`.
    pub name: String,
    pub files: BTreeMap<String, TreeFile>,
}

/// Why a path is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("`{0}` is empty")]
    Empty(String),
    #[error("`{0}` is absolute; paths are relative to the component")]
    Absolute(String),
    #[error("`{0}` leaves the directory it is relative to")]
    Escapes(String),
    #[error("`{0}` contains a NUL byte")]
    BadChar(String),
}

/// Normalise a relative path: drop `.` and empty components; refuse `..`,
/// absolute paths and NULs. (A backslash is an ordinary character in a file
/// name: azl4 has `run-vmblock\x2dfuse.mount`.)
pub fn normalize(path: &str) -> Result<String, PathError> {
    if path.contains('\0') {
        return Err(PathError::BadChar(path.to_owned()));
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute(path.to_owned()));
    }
    let mut parts = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(PathError::Escapes(path.to_owned())),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(PathError::Empty(path.to_owned()));
    }
    Ok(parts.join("/"))
}

impl ComponentTree {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            files: BTreeMap::new(),
        }
    }

    /// Path of the spec file in the tree.
    pub fn spec_path(&self) -> String {
        format!("{}.spec", self.name)
    }

    pub fn spec(&self) -> Option<&[u8]> {
        self.files.get(&self.spec_path()).map(|f| f.data.as_slice())
    }

    /// Add or replace a regular file.
    pub fn insert(&mut self, path: impl Into<String>, data: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), TreeFile::regular(data));
    }

    /// Whether a symlink in the tree points outside it.
    pub fn symlink_escapes(&self, path: &str) -> bool {
        let Some(f) = self.files.get(path) else {
            return false;
        };
        if f.mode != FileMode::Symlink {
            return false;
        }
        let target = String::from_utf8_lossy(&f.data);
        if target.starts_with('/') {
            return true;
        }
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        let joined = if dir.is_empty() {
            target.into_owned()
        } else {
            format!("{dir}/{target}")
        };
        let mut depth = 0i32;
        for c in joined.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    depth -= 1;
                    if depth < 0 {
                        return true;
                    }
                }
                _ => depth += 1,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("a/./b//c").as_deref(), Ok("a/b/c"));
        assert!(matches!(normalize("../x"), Err(PathError::Escapes(_))));
        assert!(matches!(normalize("a/../../x"), Err(PathError::Escapes(_))));
        assert!(matches!(normalize("/etc/passwd"), Err(PathError::Absolute(_))));
        assert!(matches!(normalize("./"), Err(PathError::Empty(_))));
        assert!(matches!(normalize("a\0b"), Err(PathError::BadChar(_))));
        assert_eq!(normalize("run\\x2d.mount").as_deref(), Ok("run\\x2d.mount"));
    }

    #[test]
    fn symlink_escape() {
        let mut t = ComponentTree::new("x");
        t.files.insert(
            "a/link".into(),
            TreeFile {
                data: b"../../etc".to_vec(),
                mode: FileMode::Symlink,
            },
        );
        t.files.insert(
            "a/ok".into(),
            TreeFile {
                data: b"../b".to_vec(),
                mode: FileMode::Symlink,
            },
        );
        assert!(t.symlink_escapes("a/link"));
        assert!(!t.symlink_escapes("a/ok"));
    }
}
