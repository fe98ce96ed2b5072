//! The text of every file a load read, for diagnostics and provenance.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::span::{FileId, Loc};

/// One file read during a load: a configuration file or an overlay file.
#[derive(Debug)]
pub struct SourceFile {
    pub id: FileId,
    /// Absolute path.
    pub path: PathBuf,
    /// Path shown to people: relative to the project root directory when inside it.
    pub display: String,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub(crate) fn new(id: FileId, path: PathBuf, display: String, text: Arc<str>) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            id,
            path,
            display,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    #[must_use]
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The directory relative paths in this file are resolved against.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new("/"))
    }
}

/// All files read by one load, indexed by [`FileId`].
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<Arc<SourceFile>>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, display: String, text: Arc<str>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files
            .push(Arc::new(SourceFile::new(id, path, display, text)));
        id
    }

    #[must_use]
    pub fn get(&self, id: FileId) -> Option<&Arc<SourceFile>> {
        self.files.get(id.index())
    }

    #[must_use]
    pub fn find(&self, path: &Path) -> Option<&Arc<SourceFile>> {
        self.files.iter().find(|f| f.path == path)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<SourceFile>> {
        self.files.iter()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `path:line:column` of a location, for messages and provenance.
    #[must_use]
    pub fn describe(&self, loc: &Loc) -> String {
        match self.get(loc.file) {
            Some(f) => {
                let (l, c) = f.line_col(loc.span.start);
                format!("{}:{l}:{c}", f.display)
            }
            None => "<unknown>".to_owned(),
        }
    }

    /// `path:line` of a location.
    #[must_use]
    pub fn describe_line(&self, loc: &Loc) -> String {
        match self.get(loc.file) {
            Some(f) => format!("{}:{}", f.display, f.line_col(loc.span.start).0),
            None => "<unknown>".to_owned(),
        }
    }

    /// Directory of the file a location is in.
    #[must_use]
    pub fn dir_of(&self, loc: &Loc) -> PathBuf {
        self.get(loc.file)
            .map_or_else(PathBuf::new, |f| f.dir().to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let f = SourceFile::new(FileId(0), "/x".into(), "x".into(), Arc::from("ab\nçd\n"));
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(2), (1, 3));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(5), (2, 2)); // after the two-byte ç
        assert_eq!(f.line_col(99), (3, 1));
    }
}
