//! `azldev-config`: the distro configuration.
//!
//! Loads `distro.toml` (or `azldev.toml`) and everything it includes, checks each
//! file against the schema of [`raw`] (all problems, each with file, line, column
//! and a caret), applies azldev's merge rules across files and its validation
//! rules, and resolves every component's effective configuration along the
//! inheritance chain with provenance ([`ResolvedComponent`]). Also: the JSON
//! Schema ([`schema`]), format-preserving edits ([`edit`]), and views for dumping
//! and showing configuration ([`view`]).
//!
//! The crate reads files but never writes them (edits return new text), runs no
//! git, and never prints.
//!
//! ```no_run
//! let loaded = azldev_config::load_from_dir(std::path::Path::new(".")).expect("root file");
//! for d in loaded.diagnostics.iter() {
//!     eprintln!("{}", d.short());
//! }
//! println!("{} components", loaded.config.components.len());
//! ```

mod check;
pub mod diag;
pub mod edit;
pub mod fs;
pub mod go_regex;
mod load;
mod merge;
mod mock_config;
pub mod paths;
pub mod raw;
mod resolve;
pub mod schema;
pub mod signing;
mod source;
pub mod span;
pub mod suggest;
mod validate;
pub mod view;

pub use diag::{Diagnostic, Diagnostics, Position, Severity};
pub use fs::{Fs, RealFs};
pub use load::{
    Config, Error, Loaded, ROOT_FILE_NAMES, find_root, find_root_with, load, load_from_dir,
    load_from_dir_with, load_with,
};
pub use merge::Merged;
pub use mock_config::MockConfigRef;
pub use resolve::{Layer, ResolvedComponent, ResolvedOverlay};
pub use source::{SourceFile, SourceMap};
pub use span::{FileId, Loc, Sp};

/// Timed load for benchmarks (`cargo xtask bench config`): load `root_file`
/// `iterations` times and report the timings. Never prints.
pub mod bench {
    use std::path::Path;
    use std::time::{Duration, Instant};

    /// Result of [`load_timed`].
    #[derive(Debug, Clone)]
    pub struct Report {
        /// Wall time of each iteration.
        pub times: Vec<Duration>,
        pub files: usize,
        pub components: usize,
        pub overlays: usize,
        pub errors: usize,
    }

    impl Report {
        #[must_use]
        pub fn best(&self) -> Duration {
            self.times.iter().min().copied().unwrap_or_default()
        }
        #[must_use]
        pub fn median(&self) -> Duration {
            let mut t = self.times.clone();
            t.sort();
            t.get(t.len() / 2).copied().unwrap_or_default()
        }
    }

    /// Load (find includes, check, merge, validate, resolve) `iterations` times.
    ///
    /// # Errors
    /// The root file cannot be read.
    pub fn load_timed(root_file: &Path, iterations: usize) -> Result<Report, crate::Error> {
        let mut times = Vec::with_capacity(iterations.max(1));
        let mut last = None;
        for _ in 0..iterations.max(1) {
            let start = Instant::now();
            let loaded = crate::load(root_file)?;
            times.push(start.elapsed());
            last = Some(loaded);
        }
        let (files, components, overlays, errors) = last.map_or((0, 0, 0, 0), |l| {
            (
                l.config.files.len(),
                l.config.components.len(),
                l.config.components.values().map(|c| c.overlays.len()).sum(),
                l.diagnostics.error_count(),
            )
        });
        Ok(Report {
            times,
            files,
            components,
            overlays,
            errors,
        })
    }
}
