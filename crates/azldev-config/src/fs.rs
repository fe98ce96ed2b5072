//! Where configuration (and the other files of a distro repository) is read
//! from: the real file system by default ([`RealFs`]), or any other
//! implementation of [`Fs`] — `azldev-diff` reads a git revision of the
//! distro repository through one, without checking anything out.
//!
//! Paths handed to an [`Fs`] are absolute, as the loader builds them from the
//! root file's location; an implementation decides what they map to.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What a path names, after following symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    /// Anything else (a device, a git submodule, …).
    Other,
}

/// How a file found by [`Fs::read_dir_all`] is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    Regular,
    Executable,
    /// The data is the link target.
    Symlink,
}

/// One file under a directory, as listed by [`Fs::read_dir_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirFile {
    /// Path relative to the directory listed, `/`-separated.
    pub path: String,
    pub mode: FileMode,
    pub data: Vec<u8>,
}

/// Read access to the files of a distro repository.
pub trait Fs: Send + Sync + fmt::Debug {
    /// The bytes of a file (symbolic links followed).
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;

    /// The text of a file.
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        String::from_utf8(self.read(path)?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
    }

    /// What `path` is (symbolic links followed); `None` when it does not exist.
    fn kind(&self, path: &Path) -> Option<FileKind>;

    /// Whether `path` is a file (symbolic links followed).
    fn is_file(&self, path: &Path) -> bool {
        self.kind(path) == Some(FileKind::File)
    }

    /// Whether `path` exists (symbolic links followed).
    fn exists(&self, path: &Path) -> bool {
        self.kind(path).is_some()
    }

    /// The absolute path with `.`, `..` and symbolic links resolved; an
    /// error when it does not exist.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;

    /// Paths matching the glob `pattern` (`**` allowed) written relative to
    /// `base` (or absolute), in no particular order; directories may be
    /// among them. `Err` holds why the pattern is invalid.
    fn glob(&self, base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String>;

    /// Every file under `dir`, recursively (symbolic links are listed, not
    /// followed), sorted by path.
    fn read_dir_all(&self, dir: &Path) -> io::Result<Vec<DirFile>>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

/// Glob options shared by every pattern the configuration writes.
#[must_use]
pub fn glob_options() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    }
}

/// The absolute pattern for `pattern` written in a file in `base`.
#[must_use]
pub fn absolute_pattern(base: &Path, pattern: &str) -> String {
    if Path::new(pattern).is_absolute() {
        pattern.to_owned()
    } else {
        let base = glob::Pattern::escape(&base.to_string_lossy());
        format!("{}/{}", base.trim_end_matches('/'), pattern)
    }
}

impl Fs for RealFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn kind(&self, path: &Path) -> Option<FileKind> {
        let m = std::fs::metadata(path).ok()?;
        Some(if m.is_file() {
            FileKind::File
        } else if m.is_dir() {
            FileKind::Dir
        } else {
            FileKind::Other
        })
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn glob(&self, base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
        let abs = absolute_pattern(base, pattern);
        match glob::glob_with(&abs, glob_options()) {
            Err(e) => Err(e.msg.to_owned()),
            Ok(paths) => Ok(paths.filter_map(Result::ok).collect()),
        }
    }

    fn read_dir_all(&self, dir: &Path) -> io::Result<Vec<DirFile>> {
        let mut out = Vec::new();
        read_into(dir, "", &mut out)?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

fn read_into(dir: &Path, prefix: &str, out: &mut Vec<DirFile>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let ft = entry.file_type()?;
        if ft.is_dir() {
            read_into(&entry.path(), &rel, out)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            out.push(DirFile {
                path: rel,
                mode: FileMode::Symlink,
                data: target.to_string_lossy().as_bytes().to_vec(),
            });
        } else {
            use std::os::unix::fs::PermissionsExt;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            out.push(DirFile {
                path: rel,
                mode: if executable {
                    FileMode::Executable
                } else {
                    FileMode::Regular
                },
                data: std::fs::read(entry.path())?,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_fs_lists_reads_and_globs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
        std::fs::write(root.join("a/x.toml"), "x").expect("write");
        std::fs::write(root.join("a/b/y.toml"), "y").expect("write");
        std::os::unix::fs::symlink("x.toml", root.join("a/link")).expect("symlink");
        let fs = RealFs;
        assert_eq!(fs.read_to_string(&root.join("a/link")).expect("read"), "x");
        assert_eq!(fs.kind(&root.join("a/b")), Some(FileKind::Dir));
        assert!(fs.is_file(&root.join("a/x.toml")));
        assert!(!fs.exists(&root.join("a/none")));
        let listed: Vec<(String, FileMode)> = fs
            .read_dir_all(&root.join("a"))
            .expect("list")
            .into_iter()
            .map(|f| (f.path, f.mode))
            .collect();
        assert_eq!(
            listed,
            [
                ("b/y.toml".to_owned(), FileMode::Regular),
                ("link".to_owned(), FileMode::Symlink),
                ("x.toml".to_owned(), FileMode::Regular)
            ]
        );
        let mut found = fs.glob(root, "a/**/*.toml").expect("glob");
        found.sort();
        assert_eq!(found, [root.join("a/b/y.toml"), root.join("a/x.toml")]);
        assert!(fs.glob(root, "a/[").is_err());
    }
}
