//! Writing component directories atomically, and comparing them with what is
//! on disk.
//!
//! A component directory is written to a staging directory beside it and
//! then swapped in with `renameat2(RENAME_EXCHANGE)`, so at every instant the
//! final path holds either the complete old or the complete new directory.
//! Where the filesystem cannot exchange, the old directory is first renamed
//! aside; [`recover`] puts it back if a crash interrupted the swap.
//!
//! Every component directory azldev writes holds a marker file,
//! [`MARKER`], naming the component and the fingerprint of the inputs it
//! was rendered from. It is written inside the staging directory, so it
//! appears and changes together with the directory. azldev replaces or
//! removes only directories that carry a marker naming them: a directory of
//! the user's under the output tree is never deleted, and the incremental
//! shortcut trusts the output itself, not the lock file.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use azldev_overlay::{ComponentTree, FileMode, TreeFile};

const STAGING: &str = ".azldev-staging";
const ASIDE: &str = ".azldev-old";
const NEW_ROOT: &str = ".azldev-new";

/// The marker file at the top of every component directory azldev writes.
pub const MARKER: &str = ".azldev-rendered";

/// The text of a component directory's marker.
pub fn marker_text(name: &str, fingerprint: &str) -> String {
    format!(
        "# Written by azldev render, which replaces this directory whole and removes it\n\
         # (--clean-stale) when the component goes away. Do not edit.\n\
         component = {}\nfingerprint = {}\n",
        toml_string(name),
        toml_string(fingerprint)
    )
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// What a component directory's marker says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Marker {
    pub component: String,
    pub fingerprint: String,
}

/// Read the marker of `dir`; `None` when there is none (or it is not one
/// of azldev's).
pub fn read_marker(dir: &Path) -> Option<Marker> {
    let path = dir.join(MARKER);
    // A marker is a small regular file; anything else is not azldev's.
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > 4096 {
        return None;
    }
    toml::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Whether azldev wrote `dir` as the directory of `component`.
pub fn is_azldev_dir(dir: &Path, component: &str) -> bool {
    read_marker(dir).is_some_and(|m| m.component == component)
}

fn foreign(dir: &Path) -> io::Error {
    io::Error::other(format!(
        "{} exists and azldev did not write it (it has no {MARKER} naming this component); \
         azldev replaces only directories it wrote: move it away",
        dir.display()
    ))
}

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
        .filter(|f| f.path != MARKER)
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

/// Paths that differ between a tree (with its `marker`) and a directory on
/// disk (missing, extra, or different content or mode). Empty when
/// identical.
pub fn differences(tree: &ComponentTree, marker: &str, dir: &Path) -> Vec<String> {
    let disk = match read_dir(dir) {
        Ok(d) => d,
        Err(_) => return vec!["(directory missing)".to_owned()],
    };
    let mut out = Vec::new();
    match std::fs::read(dir.join(MARKER)) {
        Ok(m) if m == marker.as_bytes() => {}
        Ok(_) => out.push(MARKER.to_owned()),
        Err(_) => out.push(format!("{MARKER} (missing)")),
    }
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

/// `--check`: the drift of a component's directory as a unified diff, from
/// the directory on disk (`a/`) to the render (`b/`); `rel` is the
/// directory relative to the output (`h/hello`). The marker is left out:
/// it only records the fingerprint.
pub fn drift_patch(tree: &ComponentTree, dir: &Path, rel: &Path) -> String {
    let disk = read_dir(dir).unwrap_or_default();
    let rel = rel.display().to_string();
    let mut paths: Vec<&String> = tree.files.keys().chain(disk.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = String::new();
    for path in paths {
        let old = disk.get(path);
        let new = tree.files.get(path);
        if old == new {
            continue;
        }
        let text = |f: Option<&TreeFile>| f.map(|f| String::from_utf8_lossy(&f.data).into_owned());
        let (o, n) = (text(old), text(new));
        let name = format!("{rel}/{path}");
        if old.is_some_and(|f| f.data.contains(&0)) || new.is_some_and(|f| f.data.contains(&0)) {
            out.push_str(&format!("Binary files a/{name} and b/{name} differ\n"));
        } else if o == n {
            out.push_str(&format!("mode changed: {name}\n"));
        } else {
            out.push_str(&unified(&name, o.as_deref(), n.as_deref()));
        }
    }
    out
}

/// A unified diff of one text file (three lines of context); `None`: the
/// file does not exist on that side.
pub fn unified(name: &str, old: Option<&str>, new: Option<&str>) -> String {
    let a = if old.is_some() {
        format!("a/{name}")
    } else {
        "/dev/null".to_owned()
    };
    let b = if new.is_some() {
        format!("b/{name}")
    } else {
        "/dev/null".to_owned()
    };
    let (old, new) = (old.unwrap_or(""), new.unwrap_or(""));
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

/// Whether the process umask removes bits from the two modes files are
/// created with (0644, 0755), learnt from the first file of each; the umask
/// does not change while we run.
static UMASK_STRIPS: [std::sync::OnceLock<bool>; 2] =
    [std::sync::OnceLock::new(), std::sync::OnceLock::new()];

/// Write the files of `tree` into the existing directory `dir`. Files are
/// created relative to an open handle of `dir`, so the kernel walks one
/// path component per file instead of the whole output path.
fn write_files(dir: &Path, tree: &ComponentTree, marker: &str) -> io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let handle = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let marker_file = TreeFile {
        data: marker.as_bytes().to_vec(),
        mode: FileMode::Regular,
    };
    let marker_name = MARKER.to_owned();
    let marker_entry = (&marker_name, &marker_file);
    for (path, f) in tree.files.iter().chain(std::iter::once(marker_entry)) {
        // Most files sit at the top of the component directory.
        if let Some((parent, _)) = path.rsplit_once('/') {
            std::fs::create_dir_all(dir.join(parent))?;
        }
        match f.mode {
            FileMode::Symlink => {
                rustix::fs::symlinkat(String::from_utf8_lossy(&f.data).as_ref(), &handle, path.as_str())?;
            }
            FileMode::Regular | FileMode::Executable => {
                let mode = if f.mode == FileMode::Executable {
                    0o755
                } else {
                    0o644
                };
                let fd = rustix::fs::openat(
                    &handle,
                    path.as_str(),
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC,
                    Mode::from_raw_mode(mode),
                )?;
                let mut file = std::fs::File::from(fd);
                file.write_all(&f.data)?;
                // The umask may have removed bits; only then pay for a chmod.
                let slot = &UMASK_STRIPS[usize::from(f.mode == FileMode::Executable)];
                let strips = *slot.get_or_init(|| {
                    file.metadata()
                        .map_or(true, |m| m.permissions().mode() & 0o777 != mode)
                });
                if strips {
                    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
                }
            }
        }
    }
    Ok(())
}

/// The entries of the output directory when a render starts: its `<l>`
/// directories and what each holds. With it, writing a component directory
/// that did not exist (the whole tree, on a first render) costs no `stat`s.
#[derive(Debug, Default)]
pub struct OutIndex {
    /// `None` when the directory could not be read (then nothing is known).
    entries: Option<std::collections::HashSet<PathBuf>>,
    /// The output directory did not exist.
    missing: bool,
}

impl OutIndex {
    /// Nothing known: every question is answered from the filesystem.
    pub fn unknown() -> Self {
        Self::default()
    }

    /// Read `out` and its `<l>` directories.
    pub fn scan(out: &Path) -> Self {
        let mut entries = std::collections::HashSet::new();
        let letters = match std::fs::read_dir(out) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Self {
                    entries: Some(entries),
                    missing: true,
                };
            }
            Err(_) => return Self::unknown(),
        };
        let scan = || -> io::Result<()> {
            for l in letters {
                let l = l?;
                if !l.file_type()?.is_dir() {
                    continue;
                }
                for c in std::fs::read_dir(l.path())? {
                    entries.insert(c?.path());
                }
                entries.insert(l.path());
            }
            Ok(())
        };
        match scan() {
            Ok(()) => Self {
                entries: Some(entries),
                missing: false,
            },
            Err(_) => Self::unknown(),
        }
    }

    /// Whether the output directory did not exist (a first render).
    pub fn out_missing(&self) -> bool {
        self.missing
    }

    /// Whether `dir` existed, when known.
    pub fn exists(&self, dir: &Path) -> Option<bool> {
        self.entries.as_ref().map(|e| e.contains(dir))
    }

    /// Whether `dir` is known to be absent with nothing of an interrupted
    /// write beside it.
    fn is_new(&self, dir: &Path) -> bool {
        self.entries.as_ref().is_some_and(|e| {
            !e.contains(dir) && !e.contains(&sibling(dir, ASIDE)) && !e.contains(&sibling(dir, STAGING))
        })
    }
}

/// A whole output tree built beside its final place and renamed into it
/// once every component is written: for an output directory that does not
/// exist yet (a first render, a new `-o`). Component directories are then
/// written in place — no staging directory and rename each — and the tree
/// appears all at once; a render killed half-way leaves only the hidden
/// sibling, which the next render removes.
#[derive(Debug)]
pub struct NewRoot {
    path: PathBuf,
    out: PathBuf,
    /// A component failed half-written and could not be removed: the tree
    /// must not be published.
    poisoned: std::sync::atomic::AtomicBool,
}

impl NewRoot {
    /// The hidden sibling of `out` a new tree is built in.
    pub fn path_for(out: &Path) -> PathBuf {
        sibling(out, NEW_ROOT)
    }

    /// Start building `out` (which does not exist), replacing what an
    /// interrupted render left.
    pub fn begin(out: &Path) -> io::Result<Self> {
        let path = Self::path_for(out);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(&path)?;
        Ok(Self {
            path,
            out: out.to_path_buf(),
            poisoned: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Write a component directory (`rel` is `<l>/<name>`).
    pub fn write_component(&self, rel: &Path, tree: &ComponentTree, marker: &str) -> io::Result<bool> {
        let dir = self.path.join(rel);
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir(&dir)?;
        if let Err(e) = write_files(&dir, tree, marker) {
            // Never publish a half-written directory.
            if std::fs::remove_dir_all(&dir).is_err() {
                self.poisoned.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Put the tree in place.
    pub fn publish(self) -> io::Result<()> {
        if self.poisoned.load(std::sync::atomic::Ordering::SeqCst) {
            let _ = std::fs::remove_dir_all(&self.path);
            return Err(io::Error::other(format!(
                "a half-written component directory could not be removed from {}",
                self.path.display()
            )));
        }
        // Renaming onto an existing non-empty directory fails: whatever
        // appeared meanwhile is kept, and this tree is not lost either.
        std::fs::rename(&self.path, &self.out).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} could not be renamed to {}: {e}",
                    self.path.display(),
                    self.out.display()
                ),
            )
        })
    }
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
/// [`recover`]). When `index` knows `dir` is new, no `stat`s are needed;
/// with [`OutIndex::unknown`] the filesystem is asked (two `stat`s for a
/// new directory).
///
/// An existing directory is replaced only when its marker names this
/// component (see [`MARKER`]); otherwise nothing is written and the error
/// says why. A failed write leaves no staging directory behind.
pub fn write_component(dir: &Path, tree: &ComponentTree, marker: &str, index: &OutIndex) -> io::Result<bool> {
    let result = if index.is_new(dir) {
        match write_new(dir, tree, marker) {
            Ok(true) => Ok(true),
            Ok(false) => write_general(dir, tree, marker),
            Err(e) => Err(e),
        }
    } else {
        write_general(dir, tree, marker)
    };
    if result.is_err() {
        // ENOSPC and the like: drop what was staged (best effort; the next
        // render sweeps what is left, see [`sweep`]).
        let _ = remove_if_exists(&sibling(dir, STAGING));
    }
    result
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Write a directory that did not exist when the render started: staging
/// directory, files, rename. `Ok(false)` when something appeared meanwhile
/// (then the general path takes over).
fn write_new(dir: &Path, tree: &ComponentTree, marker: &str) -> io::Result<bool> {
    let staging = sibling(dir, STAGING);
    match std::fs::create_dir(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::create_dir(&staging)?;
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    }
    write_files(&staging, tree, marker)?;
    if std::fs::rename(&staging, dir).is_ok() {
        return Ok(true);
    }
    // `dir` appeared meanwhile (renaming onto a non-empty directory fails).
    std::fs::remove_dir_all(&staging)?;
    Ok(false)
}

fn write_general(dir: &Path, tree: &ComponentTree, marker: &str) -> io::Result<bool> {
    let staging = sibling(dir, STAGING);
    let aside = sibling(dir, ASIDE);
    let mut exists = std::fs::symlink_metadata(dir).is_ok();
    if !exists && aside.exists() {
        // A crash between the two renames of the fallback swap.
        std::fs::rename(&aside, dir)?;
        exists = true;
    }
    if exists {
        if !is_azldev_dir(dir, &tree.name) {
            return Err(foreign(dir));
        }
        if aside.exists() {
            std::fs::remove_dir_all(&aside)?;
        }
        if differences(tree, marker, dir).is_empty() {
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
    write_files(&staging, tree, marker)?;
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

/// Remove the directory of component `name` (a stale one) and its
/// now-empty parent — only when azldev wrote it (its marker names `name`).
pub fn remove_component(dir: &Path, name: &str) -> io::Result<()> {
    if !is_azldev_dir(dir, name) {
        return Err(foreign(dir));
    }
    std::fs::remove_dir_all(dir)?;
    if let Some(parent) = dir.parent()
        && std::fs::read_dir(parent)?.next().is_none()
    {
        std::fs::remove_dir(parent)?;
    }
    Ok(())
}

/// Remove what interrupted writes left under `out`: staging directories
/// (a render killed, or a write that failed on a full disk), directories
/// renamed aside by a fallback swap (put back when their directory is
/// gone), and a half-built new tree beside `out`. Called at the start of
/// every writing render, under the output lock, so no other render owns
/// them. Only names azldev makes are touched.
pub fn sweep(out: &Path) -> io::Result<()> {
    remove_if_exists(&sibling(out, NEW_ROOT))?;
    let letters = match std::fs::read_dir(out) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for l in letters {
        let l = l?;
        if !l.file_type()?.is_dir() {
            continue;
        }
        for c in std::fs::read_dir(l.path())? {
            let c = c?;
            let name = c.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') || !c.file_type()?.is_dir() {
                continue;
            }
            if name.ends_with(STAGING) {
                std::fs::remove_dir_all(c.path())?;
            } else if let Some(base) = name.strip_suffix(ASIDE)
                && let Some(base) = base.strip_prefix('.')
            {
                recover(&l.path().join(base))?;
            }
        }
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

    fn marker() -> String {
        marker_text("xyz", "sha256:0")
    }

    fn tree(files: &[(&str, &str)]) -> ComponentTree {
        let mut t = ComponentTree::new("xyz");
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
        assert!(write_component(&dir, &a, &marker(), &OutIndex::unknown()).expect("write"));
        assert!(differences(&a, &marker(), &dir).is_empty());
        assert!(
            !write_component(&dir, &a, &marker(), &OutIndex::unknown()).expect("rewrite"),
            "identical content is not rewritten"
        );
        let b = tree(&[("xyz.spec", "b")]);
        assert_eq!(
            differences(&b, &marker(), &dir),
            ["xyz.spec", "p/q.patch (extra)"]
        );
        assert!(write_component(&dir, &b, &marker(), &OutIndex::unknown()).expect("replace"));
        assert!(differences(&b, &marker(), &dir).is_empty());
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
        write_component(
            &dir,
            &tree(&[("xyz.spec", "old")]),
            &marker(),
            &OutIndex::unknown(),
        )
        .expect("write");
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
        assert!(
            !write_component(
                &dir,
                &tree(&[("xyz.spec", "old")]),
                &marker(),
                &OutIndex::unknown()
            )
            .expect("write")
        );
        assert!(
            write_component(
                &dir,
                &tree(&[("xyz.spec", "new")]),
                &marker(),
                &OutIndex::unknown()
            )
            .expect("write")
        );
        assert_eq!(std::fs::read(dir.join("xyz.spec")).expect("read"), b"new");
        assert!(!sibling(&dir, STAGING).exists() && !sibling(&dir, ASIDE).exists());
    }

    #[test]
    fn index_of_a_missing_output_knows_every_directory_is_new() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("specs");
        let index = OutIndex::scan(&out);
        let dir = out.join("x/xyz");
        assert_eq!(index.exists(&dir), Some(false));
        let t = tree(&[("xyz.spec", "a"), ("p/q.patch", "q"), ("run.sh", "#!/bin/sh")]);
        assert!(write_component(&dir, &t, &marker(), &index).expect("write"));
        assert!(differences(&t, &marker(), &dir).is_empty());
        assert_eq!(OutIndex::scan(&out).exists(&dir), Some(true));
        assert_eq!(OutIndex::unknown().exists(&dir), None);
    }

    #[test]
    fn index_leftovers_and_directories_that_appear_later_take_the_general_path() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("specs");
        let dir = out.join("x/xyz");
        // A staging directory left by a killed render: not "new".
        std::fs::create_dir_all(sibling(&dir, STAGING).join("junk")).expect("staging");
        let index = OutIndex::scan(&out);
        assert!(!index.is_new(&dir));
        let a = tree(&[("xyz.spec", "a")]);
        assert!(write_component(&dir, &a, &marker(), &index).expect("write"));
        assert!(differences(&a, &marker(), &dir).is_empty());
        assert!(!sibling(&dir, STAGING).exists());
        // The index says new, but the directory was written since.
        let stale = OutIndex::scan(&tmp.path().join("elsewhere"));
        let other = out.join("x/other");
        assert!(stale.entries.as_ref().is_some_and(|e| e.is_empty()));
        let b = tree(&[("xyz.spec", "b")]);
        write_component(&other, &a, &marker(), &OutIndex::unknown()).expect("write");
        let index = OutIndex {
            entries: Some(std::collections::HashSet::new()),
            missing: false,
        };
        assert!(index.is_new(&other));
        assert!(write_component(&other, &b, &marker(), &index).expect("replace"));
        assert!(differences(&b, &marker(), &other).is_empty());
        let names: Vec<_> = std::fs::read_dir(out.join("x"))
            .expect("read")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(names, ["other", "xyz"], "no staging or aside directories left");
    }

    #[test]
    fn only_marked_directories_are_replaced_or_removed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("x/xyz");
        // A directory of the user's where a component would go.
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("mine.txt"), "precious").expect("write");
        let t = tree(&[("xyz.spec", "a")]);
        let err = write_component(&dir, &t, &marker(), &OutIndex::unknown()).expect_err("refused");
        assert!(err.to_string().contains("azldev did not write it"), "{err}");
        assert_eq!(std::fs::read(dir.join("mine.txt")).expect("kept"), b"precious");
        assert!(remove_component(&dir, "xyz").is_err());
        assert!(dir.join("mine.txt").is_file());
        assert!(
            !sibling(&dir, STAGING).exists(),
            "a refused write leaves no staging directory"
        );
        // A marker naming another component is not this one's.
        std::fs::write(dir.join(MARKER), marker_text("other", "sha256:0")).expect("write");
        assert!(!is_azldev_dir(&dir, "xyz"));
        assert!(write_component(&dir, &t, &marker(), &OutIndex::unknown()).is_err());
        // What azldev wrote it replaces and removes.
        std::fs::remove_dir_all(&dir).expect("rm");
        assert!(write_component(&dir, &t, &marker(), &OutIndex::unknown()).expect("write"));
        assert_eq!(
            read_marker(&dir),
            Some(Marker {
                component: "xyz".into(),
                fingerprint: "sha256:0".into()
            })
        );
        assert!(
            !read_dir(&dir).expect("read").contains_key(MARKER),
            "the marker is not a tree file"
        );
        std::fs::write(dir.join(MARKER), "tampered").expect("write");
        assert_eq!(differences(&t, &marker(), &dir), [MARKER]);
        std::fs::remove_file(dir.join(MARKER)).expect("rm");
        assert_eq!(differences(&t, &marker(), &dir), [format!("{MARKER} (missing)")]);
        std::fs::write(dir.join(MARKER), marker()).expect("write");
        remove_component(&dir, "xyz").expect("removed");
        assert!(!tmp.path().join("x").exists());
    }

    #[test]
    fn sweep_removes_leftovers_of_interrupted_writes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("specs");
        let a = out.join("a/alpha");
        let b = out.join("b/beta");
        write_component(&a, &tree(&[("xyz.spec", "a")]), &marker(), &OutIndex::unknown()).expect("write");
        std::fs::create_dir_all(sibling(&a, STAGING).join("half")).expect("staging");
        std::fs::create_dir_all(sibling(&out, NEW_ROOT).join("x/xyz")).expect("new root");
        // beta was renamed aside and the render killed before the new one
        // was renamed in: it is put back.
        write_component(&b, &tree(&[("xyz.spec", "b")]), &marker(), &OutIndex::unknown()).expect("write");
        std::fs::rename(&b, sibling(&b, ASIDE)).expect("aside");
        // A user's hidden file and directory are not azldev's.
        std::fs::create_dir_all(out.join("a/.mine")).expect("mkdir");
        sweep(&out).expect("sweep");
        assert!(!sibling(&a, STAGING).exists());
        assert!(!sibling(&out, NEW_ROOT).exists());
        assert!(b.join("xyz.spec").is_file() && !sibling(&b, ASIDE).exists());
        assert!(out.join("a/.mine").is_dir());
        sweep(&tmp.path().join("missing")).expect("nothing to sweep");
    }
}
