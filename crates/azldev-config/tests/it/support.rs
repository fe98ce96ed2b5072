//! Shared helpers: temporary projects and the corpus location.

use std::path::{Path, PathBuf};

use azldev_config::{Loaded, load};

/// `../shared/corpus` next to the workspace. CI has it; a missing corpus is a
/// test failure, never a skip.
pub fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "the test corpus is missing: expected {} (the `shared/` directory next to the workspace)",
        dir.display()
    );
    dir
}

pub fn azl4_root() -> PathBuf {
    corpus().join("azl4/azldev.toml")
}

/// A temporary project made of `files` (relative path, content); the first file
/// is the root.
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, text) in files {
            let p = dir.path().join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&p, text).expect("write");
        }
        Self { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn load(&self, root: &str) -> Loaded {
        load(&self.path(root)).expect("root file readable")
    }
}

/// Load a project given as files; the first one is the root.
pub fn load_files(files: &[(&str, &str)]) -> (Project, Loaded) {
    let p = Project::new(files);
    let l = p.load(files[0].0);
    (p, l)
}
