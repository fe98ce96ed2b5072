//! Comparing two rendered trees file by file, as `git diff` shows them:
//! headers with `a/` and `b/` paths, modes, binary files, and unified hunks
//! with three lines of context (Myers line diff, from `similar`).

use azldev_overlay::{ComponentTree, FileMode, TreeFile};
use serde::Serialize;
use similar::{Algorithm, ChangeTag, TextDiff};

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Bytes git looks at to decide that a file is binary.
const BINARY_PROBE: usize = 8000;

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    Added,
    Removed,
    Modified,
    /// Moved (a renamed component) with identical content and mode.
    Renamed,
}

/// The role of one line of a patch, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `diff --git`, mode lines, `---`/`+++`.
    Header,
    /// `@@ … @@`.
    Hunk,
    Context,
    Added,
    Removed,
    /// `\ No newline at end of file`, `Binary files … differ`.
    Meta,
}

/// One line of a patch, without its newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchLine {
    pub kind: LineKind,
    pub text: String,
}

/// One file's change.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileDiff {
    /// Path before, relative to the distro root (`specs/a/alpha/alpha.spec`);
    /// absent for an added file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// Path after; absent for a removed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_path: Option<String>,
    pub status: FileStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_mode: Option<&'static str>,
    pub binary: bool,
    pub lines_added: usize,
    pub lines_removed: usize,
    /// The `git diff` text of this file (no colour).
    pub patch: String,
    #[serde(skip)]
    pub lines: Vec<PatchLine>,
}

fn mode(m: FileMode) -> &'static str {
    match m {
        FileMode::Regular => "100644",
        FileMode::Executable => "100755",
        FileMode::Symlink => "120000",
    }
}

fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_PROBE)].contains(&0)
}

/// `start,len` of a hunk header, git's way: a one-line range is just its
/// line, an empty range names the line before it.
fn range(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

struct Builder {
    lines: Vec<PatchLine>,
    added: usize,
    removed: usize,
}

impl Builder {
    fn push(&mut self, kind: LineKind, text: impl Into<String>) {
        self.lines.push(PatchLine {
            kind,
            text: text.into(),
        });
    }

    fn hunks(&mut self, old: &str, new: &str) {
        let diff = TextDiff::configure()
            .algorithm(Algorithm::Myers)
            .diff_lines(old, new);
        for group in diff.grouped_ops(CONTEXT) {
            let (Some(first), Some(last)) = (group.first(), group.last()) else {
                continue;
            };
            let (o0, n0) = (first.old_range().start, first.new_range().start);
            let (o1, n1) = (last.old_range().end, last.new_range().end);
            self.push(
                LineKind::Hunk,
                format!("@@ -{} +{} @@", range(o0, o1 - o0), range(n0, n1 - n0)),
            );
            for op in &group {
                for change in diff.iter_changes(op) {
                    let (kind, sign) = match change.tag() {
                        ChangeTag::Equal => (LineKind::Context, ' '),
                        ChangeTag::Insert => {
                            self.added += 1;
                            (LineKind::Added, '+')
                        }
                        ChangeTag::Delete => {
                            self.removed += 1;
                            (LineKind::Removed, '-')
                        }
                    };
                    let value = change.value();
                    // A CR before the newline stays, as git shows it.
                    let text = value.strip_suffix('\n').unwrap_or(value);
                    self.push(kind, format!("{sign}{text}"));
                    if change.missing_newline() {
                        self.push(LineKind::Meta, "\\ No newline at end of file");
                    }
                }
            }
        }
    }
}

/// The change of one file between two trees (`None` when identical).
/// Paths are relative to the distro root, without `a/`/`b/`.
#[must_use]
pub fn file_diff(old: Option<(&str, &TreeFile)>, new: Option<(&str, &TreeFile)>) -> Option<FileDiff> {
    let status = match (old, new) {
        (None, None) => return None,
        (None, Some(_)) => FileStatus::Added,
        (Some(_), None) => FileStatus::Removed,
        (Some((op, o)), Some((np, n))) => {
            if o == n {
                if op == np {
                    return None;
                }
                FileStatus::Renamed
            } else {
                FileStatus::Modified
            }
        }
    };
    let a = old.map_or_else(|| new.map(|n| n.0).unwrap_or_default(), |o| o.0);
    let b = new.map_or(a, |n| n.0);
    let mut p = Builder {
        lines: Vec::new(),
        added: 0,
        removed: 0,
    };
    p.push(LineKind::Header, format!("diff --git a/{a} b/{b}"));
    let (old_mode, new_mode) = (old.map(|o| mode(o.1.mode)), new.map(|n| mode(n.1.mode)));
    match (old_mode, new_mode) {
        (None, Some(m)) => p.push(LineKind::Header, format!("new file mode {m}")),
        (Some(m), None) => p.push(LineKind::Header, format!("deleted file mode {m}")),
        (Some(o), Some(n)) if o != n => {
            p.push(LineKind::Header, format!("old mode {o}"));
            p.push(LineKind::Header, format!("new mode {n}"));
        }
        _ => {}
    }
    if a != b {
        if status == FileStatus::Renamed {
            p.push(LineKind::Header, "similarity index 100%");
        }
        p.push(LineKind::Header, format!("rename from {a}"));
        p.push(LineKind::Header, format!("rename to {b}"));
    }
    let old_data = old.map_or(&[][..], |o| o.1.data.as_slice());
    let new_data = new.map_or(&[][..], |n| n.1.data.as_slice());
    let binary = is_binary(old_data) || is_binary(new_data);
    let from = if old.is_some() {
        format!("a/{a}")
    } else {
        "/dev/null".to_owned()
    };
    let to = if new.is_some() {
        format!("b/{b}")
    } else {
        "/dev/null".to_owned()
    };
    if old_data != new_data {
        if binary {
            p.push(LineKind::Meta, format!("Binary files {from} and {to} differ"));
        } else {
            p.push(LineKind::Header, format!("--- {from}"));
            p.push(LineKind::Header, format!("+++ {to}"));
            p.hunks(
                &String::from_utf8_lossy(old_data),
                &String::from_utf8_lossy(new_data),
            );
        }
    }
    let patch = render(&p.lines, false);
    Some(FileDiff {
        old_path: old.map(|o| o.0.to_owned()),
        new_path: new.map(|n| n.0.to_owned()),
        status,
        old_mode,
        new_mode,
        binary,
        lines_added: p.added,
        lines_removed: p.removed,
        patch,
        lines: p.lines,
    })
}

/// Lines as text, coloured the way `git diff` colours them when asked.
#[must_use]
pub fn render(lines: &[PatchLine], color: bool) -> String {
    let mut out = String::new();
    for l in lines {
        let (pre, post) = if color {
            match l.kind {
                LineKind::Header => ("\x1b[1m", "\x1b[m"),
                LineKind::Hunk => ("\x1b[36m", "\x1b[m"),
                LineKind::Added => ("\x1b[32m", "\x1b[m"),
                LineKind::Removed => ("\x1b[31m", "\x1b[m"),
                LineKind::Context | LineKind::Meta => ("", ""),
            }
        } else {
            ("", "")
        };
        out.push_str(pre);
        out.push_str(&l.text);
        out.push_str(post);
        out.push('\n');
    }
    out
}

/// The rendered directory of a component on one side: its prefix relative
/// to the distro root (`specs/a/alpha`) and its tree.
#[derive(Debug, Clone, Copy)]
pub struct Dir<'a> {
    pub prefix: &'a str,
    pub tree: &'a ComponentTree,
}

/// A file on each side: (path under the distro root, file).
type Pair<'a> = (Option<(String, &'a TreeFile)>, Option<(String, &'a TreeFile)>);

/// Every file that differs between two component directories, in path
/// order. A renamed component's own files (`<old>.spec`,
/// `<old>.azl.macros`) are paired with the new name's.
#[must_use]
pub fn compare(old: Option<Dir<'_>>, new: Option<Dir<'_>>) -> Vec<FileDiff> {
    use std::collections::BTreeMap;
    // Key: the path in the new tree's terms.
    let mut pairs: BTreeMap<String, Pair<'_>> = BTreeMap::new();
    let rename = match (old, new) {
        (Some(o), Some(n)) if o.tree.name != n.tree.name => {
            Some((o.tree.name.as_str(), n.tree.name.as_str()))
        }
        _ => None,
    };
    if let Some(o) = old {
        for (path, f) in &o.tree.files {
            let key = match rename {
                Some((from, to)) if *path == format!("{from}.spec") => format!("{to}.spec"),
                Some((from, to)) if *path == format!("{from}.azl.macros") => format!("{to}.azl.macros"),
                _ => path.clone(),
            };
            pairs.entry(key).or_default().0 = Some((format!("{}/{path}", o.prefix), f));
        }
    }
    if let Some(n) = new {
        for (path, f) in &n.tree.files {
            pairs.entry(path.clone()).or_default().1 = Some((format!("{}/{path}", n.prefix), f));
        }
    }
    pairs
        .into_values()
        .filter_map(|(o, n)| {
            file_diff(
                o.as_ref().map(|(p, f)| (p.as_str(), *f)),
                n.as_ref().map(|(p, f)| (p.as_str(), *f)),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> TreeFile {
        TreeFile::regular(s.as_bytes().to_vec())
    }

    #[test]
    fn modified_file_has_git_hunks() {
        let old = f("a\nb\nc\nd\ne\nf\ng\nh\n");
        let new = f("a\nb\nc\nD\ne\nf\ng\nh\ni");
        let d = file_diff(Some(("x/y", &old)), Some(("x/y", &new))).expect("differs");
        assert_eq!(
            d.patch,
            "diff --git a/x/y b/x/y\n--- a/x/y\n+++ b/x/y\n@@ -1,8 +1,9 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n+i\n\\ No newline at end of file\n"
        );
        assert_eq!((d.lines_added, d.lines_removed), (2, 1));
        assert!(file_diff(Some(("x", &old)), Some(("x", &old))).is_none());
    }

    #[test]
    fn added_removed_binary_and_mode() {
        let d = file_diff(None, Some(("n", &f("one\n")))).expect("added");
        assert_eq!(
            d.patch,
            "diff --git a/n b/n\nnew file mode 100644\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+one\n"
        );
        let d = file_diff(Some(("o", &f("x\ny\n"))), None).expect("removed");
        assert!(
            d.patch
                .contains("deleted file mode 100644\n--- a/o\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n")
        );
        let bin = TreeFile::regular(vec![0u8, 1, 2]);
        let d = file_diff(Some(("b", &bin)), Some(("b", &f("text")))).expect("binary");
        assert!(d.binary);
        assert!(d.patch.ends_with("Binary files a/b and b/b differ\n"));
        let exec = TreeFile {
            data: b"x\n".to_vec(),
            mode: FileMode::Executable,
        };
        let d = file_diff(Some(("s", &f("x\n"))), Some(("s", &exec))).expect("mode");
        assert_eq!(d.patch, "diff --git a/s b/s\nold mode 100644\nnew mode 100755\n");
    }

    #[test]
    fn colour_and_crlf() {
        let d = file_diff(Some(("c", &f("a\r\nb\r\n"))), Some(("c", &f("a\r\nc\r\n")))).expect("differs");
        assert!(d.patch.contains("\n-b\r\n+c\r\n"), "{:?}", d.patch);
        let coloured = render(&d.lines, true);
        assert!(coloured.contains("\x1b[31m-b\r\x1b[m\n"));
        assert!(coloured.starts_with("\x1b[1mdiff --git"));
    }
}
