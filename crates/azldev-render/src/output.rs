//! Writing component directories atomically, and comparing them with what is
//! on disk.
//!
//! A component directory is written to a staging directory beside it and
//! then swapped in with `renameat2(RENAME_EXCHANGE)`, so at every instant the
//! final path holds either the complete old or the complete new directory.
//! Where the filesystem cannot exchange, the old directory is first renamed
//! aside; [`recover`] puts it back if a crash interrupted the swap.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use azldev_overlay::{ComponentTree, FileMode, TreeFile};

const STAGING: &str = ".azldev-staging";
const ASIDE: &str = ".azldev-old";

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}{suffix}"))
}

/// Read a directory's files (recursively) as a tree's file map.
pub fn read_dir(dir: &Path) -> io::Result<BTreeMap<String, TreeFile>> {
    use azldev_config::fs::{FileMode as FsMode, Fs};
    Ok(azldev_config::fs::RealFs
        .read_dir_all(dir)?
        .into_iter()
        .map(|f| {
            let mode = match f.mode {
                FsMode::Regular => FileMode::Regular,
                FsMode::Executable => FileMode::Executable,
                FsMode::Symlink => FileMode::Symlink,
            };
            (f.path, TreeFile { data: f.data, mode })
        })
        .collect())
}

/// Paths that differ between a tree and a directory on disk (missing,
/// extra, or different content or mode). Empty when identical.
pub fn differences(tree: &ComponentTree, dir: &Path) -> Vec<String> {
    let disk = match read_dir(dir) {
        Ok(d) => d,
        Err(_) => return vec!["(directory missing)".to_owned()],
    };
    let mut out = Vec::new();
    for (path, f) in &tree.files {
        match disk.get(path) {
            Some(d) if d == f => {}
            Some(_) => out.push(path.clone()),
            None => out.push(format!("{path} (missing)")),
        }
    }
    for path in disk.keys() {
        if !tree.files.contains_key(path) {
            out.push(format!("{path} (extra)"));
        }
    }
    out
}

/// Whether the process umask removes bits from the two modes files are
/// created with (0644, 0755), learnt from the first file of each; the umask
/// does not change while we run.
static UMASK_STRIPS: [std::sync::OnceLock<bool>; 2] =
    [std::sync::OnceLock::new(), std::sync::OnceLock::new()];

/// Write the files of `tree` into the existing directory `dir`.
fn write_files(dir: &Path, tree: &ComponentTree) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (path, f) in &tree.files {
        let p = dir.join(path);
        // Most files sit at the top of the component directory.
        if path.contains('/')
            && let Some(parent) = p.parent()
        {
            std::fs::create_dir_all(parent)?;
        }
        match f.mode {
            FileMode::Symlink => {
                std::os::unix::fs::symlink(String::from_utf8_lossy(&f.data).as_ref(), &p)?;
            }
            FileMode::Regular | FileMode::Executable => {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let mode = if f.mode == FileMode::Executable {
                    0o755
                } else {
                    0o644
                };
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&p)?;
                file.write_all(&f.data)?;
                // The umask may have removed bits; only then pay for a chmod.
                let slot = &UMASK_STRIPS[usize::from(f.mode == FileMode::Executable)];
                let strips = *slot.get_or_init(|| {
                    file.metadata()
                        .map_or(true, |m| m.permissions().mode() & 0o777 != mode)
                });
                if strips {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
                }
            }
        }
    }
    Ok(())
}

/// Put back a directory that a crash left renamed aside, and drop stale
/// staging directories.
pub fn recover(dir: &Path) -> io::Result<()> {
    let aside = sibling(dir, ASIDE);
    if aside.exists() {
        if dir.exists() {
            std::fs::remove_dir_all(&aside)?;
        } else {
            std::fs::rename(&aside, dir)?;
        }
    }
    let staging = sibling(dir, STAGING);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    Ok(())
}

/// Write `tree` as directory `dir`, atomically. Returns `false` (and
/// writes nothing) when the directory already holds exactly this tree.
/// Leftovers of an interrupted earlier write are cleaned up on the way (see
/// [`recover`]); the common case — a new directory — costs two `stat`s.
pub fn write_component(dir: &Path, tree: &ComponentTree) -> io::Result<bool> {
    let staging = sibling(dir, STAGING);
    let aside = sibling(dir, ASIDE);
    let mut exists = dir.exists();
    if !exists && aside.exists() {
        // A crash between the two renames of the fallback swap.
        std::fs::rename(&aside, dir)?;
        exists = true;
    }
    if exists {
        if aside.exists() {
            std::fs::remove_dir_all(&aside)?;
        }
        if differences(tree, dir).is_empty() {
            return Ok(false);
        }
    }
    match std::fs::create_dir(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            std::fs::remove_dir_all(&staging)?;
            std::fs::create_dir(&staging)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::create_dir(&staging)?;
        }
        Err(e) => return Err(e),
    }
    write_files(&staging, tree)?;
    if !exists {
        std::fs::rename(&staging, dir)?;
        return Ok(true);
    }
    match rustix::fs::renameat_with(
        rustix::fs::CWD,
        &staging,
        rustix::fs::CWD,
        dir,
        rustix::fs::RenameFlags::EXCHANGE,
    ) {
        Ok(()) => {
            // `staging` now holds the old directory.
            std::fs::remove_dir_all(&staging)?;
        }
        Err(_) => {
            std::fs::rename(dir, &aside)?;
            std::fs::rename(&staging, dir)?;
            std::fs::remove_dir_all(&aside)?;
        }
    }
    Ok(true)
}

/// Remove a component directory (a stale one) and its now-empty parent.
pub fn remove_component(dir: &Path) -> io::Result<()> {
    std::fs::remove_dir_all(dir)?;
    if let Some(parent) = dir.parent()
        && std::fs::read_dir(parent)?.next().is_none()
    {
        std::fs::remove_dir(parent)?;
    }
    Ok(())
}

/// Component directories present under `out` (`<l>/<name>`), by name.
pub fn existing_components(out: &Path) -> io::Result<BTreeMap<String, PathBuf>> {
    let mut found = BTreeMap::new();
    let Ok(letters) = std::fs::read_dir(out) else {
        return Ok(found);
    };
    for l in letters {
        let l = l?;
        if !l.file_type()?.is_dir() || l.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        for c in std::fs::read_dir(l.path())? {
            let c = c?;
            let name = c.file_name().to_string_lossy().into_owned();
            if c.file_type()?.is_dir() && !name.starts_with('.') {
                found.insert(name, c.path());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> ComponentTree {
        let mut t = ComponentTree::new("x");
        for (p, d) in files {
            t.insert(*p, d.as_bytes().to_vec());
        }
        t
    }

    #[test]
    fn write_replace_and_compare() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("x/xyz");
        let a = tree(&[("xyz.spec", "a"), ("p/q.patch", "q")]);
        assert!(write_component(&dir, &a).expect("write"));
        assert!(differences(&a, &dir).is_empty());
        assert!(
            !write_component(&dir, &a).expect("rewrite"),
            "identical content is not rewritten"
        );
        let b = tree(&[("xyz.spec", "b")]);
        assert_eq!(differences(&b, &dir), ["xyz.spec", "p/q.patch (extra)"]);
        assert!(write_component(&dir, &b).expect("replace"));
        assert!(differences(&b, &dir).is_empty());
        let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("x"))
            .expect("read")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, ["xyz"], "no staging or aside directories left");
    }

    #[test]
    fn recover_after_interrupted_swap() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("x/xyz");
        write_component(&dir, &tree(&[("xyz.spec", "old")])).expect("write");
        // Simulate a crash after the old directory was renamed aside.
        std::fs::rename(&dir, sibling(&dir, ASIDE)).expect("rename");
        std::fs::create_dir_all(sibling(&dir, STAGING)).expect("staging");
        recover(&dir).expect("recover");
        assert_eq!(std::fs::read(dir.join("xyz.spec")).expect("read"), b"old");
        assert!(!sibling(&dir, STAGING).exists());
        // write_component recovers on its own: the old directory comes back,
        // and is found identical; a stale staging directory is replaced.
        std::fs::rename(&dir, sibling(&dir, ASIDE)).expect("rename");
        std::fs::create_dir_all(sibling(&dir, STAGING).join("junk")).expect("staging");
        assert!(!write_component(&dir, &tree(&[("xyz.spec", "old")])).expect("write"));
        assert!(write_component(&dir, &tree(&[("xyz.spec", "new")])).expect("write"));
        assert_eq!(std::fs::read(dir.join("xyz.spec")).expect("read"), b"new");
        assert!(!sibling(&dir, STAGING).exists() && !sibling(&dir, ASIDE).exists());
    }
}
