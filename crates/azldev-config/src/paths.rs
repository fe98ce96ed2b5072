//! What paths the project's configuration may name: where azldev writes
//! (the rendered-specs directory, the lock directory) and what it reads
//! (local specs, includes). Rules are checked on paths as written, made
//! absolute and normalised lexically, with symlinks of the part that exists
//! resolved through the [`Fs`] the project is read through.

use std::path::{Component, Path, PathBuf};

use crate::diag::Diagnostic;
use crate::fs::Fs;
use crate::source::SourceMap;
use crate::span::Sp;

/// `path` with `.` and `..` resolved lexically (a `..` at the root stays
/// at the root).
#[must_use]
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `path` (absolute) with the symlinks of its longest existing ancestor
/// resolved: where it really is, also when it does not exist yet.
#[must_use]
pub fn resolve(fs: &dyn Fs, path: &Path) -> PathBuf {
    let path = normalize(path);
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = fs.canonicalize(existing) {
            let mut out = real;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return normalize(&out);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path,
        }
    }
}

/// Names of version-control metadata directories.
const VCS_DIRS: [&str; 4] = [".git", ".hg", ".svn", ".bzr"];

fn is_vcs(name: &std::ffi::OsStr) -> bool {
    VCS_DIRS.iter().any(|v| name == *v)
}

/// What an output directory must not be or hold.
#[derive(Debug)]
pub struct Protected<'a> {
    /// The project root (the root file's directory), resolved.
    pub root: &'a Path,
    /// The lock directory, resolved.
    pub lock_dir: Option<&'a Path>,
    /// Configuration files and local specs, resolved.
    pub inputs: Vec<PathBuf>,
}

/// Why `out` (resolved) cannot be the rendered-specs directory, if it
/// cannot. `allow_outside`: a directory given on the command line may lie
/// outside the project.
#[must_use]
pub fn output_dir_problem(fs: &dyn Fs, out: &Path, p: &Protected<'_>, allow_outside: bool) -> Option<String> {
    let root = p.root;
    if out == root {
        return Some("it is the project root".into());
    }
    if root.starts_with(out) {
        return Some(format!("it contains the project ({})", root.display()));
    }
    if !out.starts_with(root) && !allow_outside {
        return Some(format!("it lies outside the project ({})", root.display()));
    }
    if let Some(name) = out.components().find_map(|c| match c {
        Component::Normal(n) if is_vcs(n) => Some(n),
        _ => None,
    }) {
        return Some(format!(
            "it is inside version-control metadata (`{}`)",
            name.to_string_lossy()
        ));
    }
    if let Some(v) = VCS_DIRS.iter().find(|v| fs.exists(&out.join(v))) {
        return Some(format!("it holds version-control metadata (`{v}`)"));
    }
    if let Some(locks) = p.lock_dir {
        if locks == out {
            return Some("it is the lock directory".into());
        }
        if locks.starts_with(out) {
            return Some(format!("it contains the lock directory ({})", locks.display()));
        }
        if out.starts_with(locks) {
            return Some(format!("it is inside the lock directory ({})", locks.display()));
        }
    }
    if let Some(input) = p.inputs.iter().find(|i| i.starts_with(out)) {
        return Some(format!(
            "it contains {}, which is configuration azldev reads",
            input.display()
        ));
    }
    None
}

/// Why `dir` (resolved) cannot be the lock directory, if it cannot.
#[must_use]
pub fn lock_dir_problem(dir: &Path, root: &Path) -> Option<String> {
    if dir == root || root.starts_with(dir) {
        return Some("it is or contains the project root".into());
    }
    if !dir.starts_with(root) {
        return Some(format!("it lies outside the project ({})", root.display()));
    }
    dir.components()
        .any(|c| matches!(c, Component::Normal(n) if is_vcs(n)))
        .then(|| "it is inside version-control metadata".into())
}

/// Where a path of the configuration really is (absolute, resolved).
fn located(fs: &dyn Fs, files: &SourceMap, value: &Sp<String>) -> PathBuf {
    resolve(fs, &files.dir_of(&value.loc).join(value.as_str()))
}

/// Check `rendered-specs-dir` and `lock-dir` against the rules; one
/// diagnostic per broken rule, at the value.
pub(crate) fn check_project_dirs(
    fs: &dyn Fs,
    files: &SourceMap,
    root: &Path,
    specs_dir: Option<&Sp<String>>,
    lock_dir: Option<&Sp<String>>,
    inputs: Vec<PathBuf>,
    out: &mut Vec<Diagnostic>,
) {
    let root = resolve(fs, root);
    let locks = lock_dir.map_or_else(|| root.join("locks"), |d| located(fs, files, d));
    if let Some(d) = lock_dir
        && let Some(why) = lock_dir_problem(&locks, &root)
    {
        out.push(
            Diagnostic::error(
                "config::lock-dir",
                format!("`lock-dir` cannot be `{}`: {why}", d.value),
            )
            .at(files, &d.loc, "not a lock directory")
            .help("name a directory of its own inside the project, e.g. \"locks\""),
        );
    }
    if let Some(d) = specs_dir {
        let dir = located(fs, files, d);
        let protected = Protected {
            root: &root,
            lock_dir: Some(&locks),
            inputs,
        };
        if let Some(why) = output_dir_problem(fs, &dir, &protected, false) {
            out.push(
                Diagnostic::error(
                    "config::rendered-specs-dir",
                    format!("`rendered-specs-dir` cannot be `{}`: {why}", d.value),
                )
                .at(files, &d.loc, "not an output directory")
                .help(
                    "azldev replaces and (with --clean-stale) removes directories in it: name a directory \
                     of its own inside the project, e.g. \"specs\"",
                ),
            );
        }
    }
}

/// Why `out`, an output directory given on the command line (`-o`), cannot
/// be one, if it cannot: the rules of `rendered-specs-dir`, except that it
/// may lie outside the project.
#[must_use]
pub fn output_override_problem(config: &crate::Config, out: &Path, lock_dir: &Path) -> Option<String> {
    let fs = crate::fs::RealFs;
    let root = resolve(&fs, &config.root_dir);
    let locks = resolve(&fs, lock_dir);
    let inputs = config
        .config_files
        .iter()
        .filter_map(|id| config.files.get(*id))
        .map(|f| resolve(&fs, &f.path))
        .chain(
            config
                .components
                .values()
                .filter_map(|c| c.spec_path.as_deref())
                .map(|p| resolve(&fs, p)),
        )
        .collect();
    let p = Protected {
        root: &root,
        lock_dir: Some(&locks),
        inputs,
    };
    output_dir_problem(&fs, &resolve(&fs, out), &p, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::RealFs;

    #[test]
    fn normalizes_and_resolves() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), Path::new("/x"));
        let tmp = tempfile::tempdir().expect("tempdir");
        let real = RealFs.canonicalize(tmp.path()).expect("canonical");
        std::fs::create_dir(real.join("d")).expect("mkdir");
        std::os::unix::fs::symlink("/", real.join("d/up")).expect("symlink");
        assert_eq!(
            resolve(&RealFs, &real.join("d/up/etc/new")),
            Path::new("/etc/new")
        );
        assert_eq!(resolve(&RealFs, &real.join("d/x/../y")), real.join("d/y"));
    }

    #[test]
    fn output_rules() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = RealFs.canonicalize(tmp.path()).expect("canonical");
        std::fs::create_dir_all(root.join(".git")).expect("mkdir");
        std::fs::create_dir_all(root.join("vendor/sub/.git")).expect("mkdir");
        let locks = root.join("locks");
        let p = Protected {
            root: &root,
            lock_dir: Some(&locks),
            inputs: vec![root.join("distro.toml"), root.join("components/a.toml")],
        };
        let why = |d: &Path, outside: bool| output_dir_problem(&RealFs, d, &p, outside);
        assert_eq!(why(&root.join("specs"), false), None);
        assert!(why(&root, false).is_some_and(|w| w.contains("project root")));
        assert!(why(Path::new("/"), true).is_some_and(|w| w.contains("contains the project")));
        assert!(why(Path::new("/tmp/elsewhere"), false).is_some_and(|w| w.contains("outside")));
        assert_eq!(why(Path::new("/tmp/elsewhere"), true), None, "-o may lie outside");
        assert!(why(&root.join(".git"), false).is_some_and(|w| w.contains("version-control")));
        assert!(why(&root.join(".git/x"), false).is_some_and(|w| w.contains("version-control")));
        assert!(why(&root.join("vendor/sub"), false).is_some_and(|w| w.contains("holds version-control")));
        assert!(why(&locks, false).is_some_and(|w| w.contains("lock directory")));
        assert!(why(&locks.join("x"), false).is_some_and(|w| w.contains("inside the lock")));
        assert!(why(&root.join("components"), false).is_some_and(|w| w.contains("a.toml")));
        assert!(lock_dir_problem(&root, &root).is_some());
        assert!(lock_dir_problem(Path::new("/tmp/l"), &root).is_some());
        assert_eq!(lock_dir_problem(&locks, &root), None);
    }
}
