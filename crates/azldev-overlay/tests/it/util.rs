//! Helpers: a throwaway distro with one component, corpus specs as trees.

use std::path::{Path, PathBuf};

use azldev_config::{Loaded, ResolvedComponent, ResolvedOverlay};
use azldev_overlay::{ComponentTree, Error, FileMode, OpError, TreeFile};

pub fn corpus() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(p.is_dir(), "the real-data corpus is expected at {}", p.display());
    p
}

/// A loaded project made from `toml` (the root file) plus extra files.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub loaded: Loaded,
}

impl Project {
    pub fn new(toml: &str, extra: &[(&str, &[u8])]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, data) in extra {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, data).expect("write");
        }
        std::fs::write(dir.path().join("distro.toml"), toml).expect("write distro.toml");
        let loaded = azldev_config::load(&dir.path().join("distro.toml")).expect("load");
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == azldev_config::Severity::Error)
            .map(|d| d.short())
            .collect();
        assert!(errors.is_empty(), "config errors: {errors:#?}");
        Self { dir, loaded }
    }

    pub fn component(&self, name: &str) -> &ResolvedComponent {
        self.loaded.config.components.get(name).expect("component exists")
    }

    /// `path:line` of an overlay failure's TOML location.
    pub fn describe(&self, loc: &azldev_config::Loc) -> String {
        self.loaded.config.describe(loc)
    }
}

/// Reads overlay inputs from disk (tests only; the render crate has the
/// real, containment-checking reader).
pub fn read_input(ro: &ResolvedOverlay) -> Result<Vec<u8>, OpError> {
    let path = ro.source_path.as_ref().ok_or(OpError::MissingField("source"))?;
    std::fs::read(path).map_err(|e| OpError::Input {
        path: path.display().to_string(),
        why: e.to_string(),
    })
}

/// A corpus component directory as a tree.
pub fn corpus_tree(name: &str) -> ComponentTree {
    let first = name.chars().next().expect("non-empty").to_ascii_lowercase();
    let dir = corpus().join("azl4/specs").join(first.to_string()).join(name);
    let mut tree = ComponentTree::new(name);
    for entry in std::fs::read_dir(&dir).expect("component dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_file() {
            let data = std::fs::read(entry.path()).expect("read");
            tree.files.insert(
                entry.file_name().to_string_lossy().into_owned(),
                TreeFile {
                    data,
                    mode: FileMode::Regular,
                },
            );
        }
    }
    tree
}

/// A tree holding only a spec.
pub fn spec_tree(name: &str, spec: &str) -> ComponentTree {
    let mut t = ComponentTree::new(name);
    t.insert(format!("{name}.spec"), spec.as_bytes().to_vec());
    t
}

pub fn spec_text(tree: &ComponentTree) -> String {
    String::from_utf8(tree.spec().expect("spec").to_vec()).expect("utf-8 spec")
}

/// Apply the overlays of component `name` of a project whose root file is
/// `overlays` (a TOML fragment for that component).
pub fn apply(tree: &mut ComponentTree, project: &Project) -> Result<(), Error> {
    let comp = project.component(&tree.name.clone());
    azldev_overlay::apply_overlays(tree, &comp.overlays, &read_input)
}

/// Lines that differ between two texts, as (line number, left, right).
pub fn changed_lines(a: &str, b: &str) -> Vec<(usize, String, String)> {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(la.len(), lb.len(), "line counts differ");
    la.iter()
        .zip(&lb)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i + 1, (*x).to_owned(), (*y).to_owned()))
        .collect()
}

/// The failure of a failed apply, unwrapped.
pub fn failure(r: Result<(), Error>) -> azldev_overlay::OverlayFailure {
    match r {
        Err(Error::Overlay(f)) => *f,
        other => panic!("expected an overlay failure, got {other:?}"),
    }
}
