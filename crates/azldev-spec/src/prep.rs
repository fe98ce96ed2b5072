//! Patch application in build sections: `%patch`, `%autosetup`, `%autopatch`.

use std::ops::Range;

use crate::header::tokenize;
use crate::kinds::SectionKind;
use crate::tree::{LineId, LineKind, Spec};

/// How a `%patch` line names a patch number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchForm {
    /// `%patch3` (removed in rpm 4.20).
    Glued,
    /// `%patch 3`.
    Positional,
    /// `%patch -P 3` or `%patch -P3`.
    Option,
    /// A bare `%patch`: patch 0 in rpm before 4.20.
    Implicit,
}

/// One number a `%patch` line applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchNumber {
    pub number: u32,
    pub form: PatchForm,
    /// The digits.
    pub digits: Range<usize>,
    /// What to delete to stop applying this number (`-P 3`, `3`); for the
    /// glued and implicit forms the keyword itself.
    pub token: Range<usize>,
}

/// A `%patch` line.
#[derive(Debug, Clone)]
pub struct PatchApply {
    pub line: LineId,
    pub numbers: Vec<PatchNumber>,
    /// Options other than patch numbers, as written (`-p1`, `-b .orig`).
    pub options: Vec<Range<usize>>,
}

/// `%autosetup` or `%autopatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoKind {
    Autosetup,
    Autopatch,
}

/// A line that applies patches automatically.
#[derive(Debug, Clone)]
pub struct AutoPatch {
    pub line: LineId,
    pub kind: AutoKind,
    /// False for `%autosetup -N`.
    pub applies: bool,
    /// `-m N`.
    pub min: Option<u32>,
    /// `-M N`.
    pub max: Option<u32>,
    /// Explicit numbers (`%autopatch 1 3`); empty means all.
    pub listed: Vec<u32>,
    /// Where each of `listed` is written.
    pub listed_at: Vec<Range<usize>>,
}

impl AutoPatch {
    /// Whether this line applies patch `n`. Like rpm's `%autopatch`, explicit
    /// numbers override `-m`/`-M`.
    pub fn covers(&self, n: u32) -> bool {
        if !self.applies {
            return false;
        }
        if !self.listed.is_empty() {
            return self.listed.contains(&n);
        }
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Find every patch-applying line in the build sections.
pub fn scan(spec: &Spec, src: &[u8]) -> (Vec<PatchApply>, Vec<AutoPatch>) {
    let mut apps = Vec::new();
    let mut autos = Vec::new();
    for sec in &spec.sections {
        if !matches!(
            sec.kind,
            SectionKind::Prep | SectionKind::Conf | SectionKind::Build
        ) {
            continue;
        }
        for id in sec.lines.clone() {
            let l = &spec.lines[id];
            if l.kind != LineKind::Text {
                continue;
            }
            let text = &src[l.start..l.content_end];
            let lead = text.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
            let start = l.start + lead;
            let s = &text[lead..];
            if let Some(rest) = s.strip_prefix(b"%patch") {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let after = rest.get(digits);
                if after.is_some_and(|b| !b.is_ascii_whitespace()) {
                    continue; // some other macro, e.g. %patches
                }
                apps.push(patch_line(id, src, start, l.content_end, digits));
            } else if let Some(kind) = [
                (&b"%autosetup"[..], AutoKind::Autosetup),
                (b"%autopatch", AutoKind::Autopatch),
            ]
            .iter()
            .find(|(kw, _)| s.starts_with(kw) && s.get(kw.len()).is_none_or(u8::is_ascii_whitespace))
            .map(|&(_, k)| k)
            {
                // Both keywords are ten bytes long.
                autos.push(auto_line(id, kind, src, start + 10, l.content_end));
            }
        }
    }
    (apps, autos)
}

fn patch_line(line: LineId, src: &[u8], start: usize, end: usize, glued_digits: usize) -> PatchApply {
    let kw_end = start + 6 + glued_digits;
    let mut numbers = Vec::new();
    if glued_digits > 0
        && let Some(n) = parse_u32(&src[start + 6..kw_end])
    {
        numbers.push(PatchNumber {
            number: n,
            form: PatchForm::Glued,
            digits: start + 6..kw_end,
            token: start..kw_end,
        });
    }
    let mut options = Vec::new();
    let toks = tokenize(src, kw_end..end);
    let mut i = 0;
    let mut saw_number_syntax = glued_digits > 0;
    while i < toks.len() {
        let t = toks[i].clone();
        let tok = &src[t.clone()];
        if tok.starts_with(b"-P") {
            saw_number_syntax = true;
            let (digits, token) = if tok.len() > 2 {
                (t.start + 2..t.end, t.clone())
            } else if let Some(next) = toks.get(i + 1) {
                i += 1;
                (next.clone(), t.start..next.end)
            } else {
                (t.end..t.end, t.clone())
            };
            if let Some(n) = parse_u32(&src[digits.clone()]) {
                numbers.push(PatchNumber {
                    number: n,
                    form: PatchForm::Option,
                    digits,
                    token,
                });
            }
        } else if tok.first() == Some(&b'-') {
            // Options with a separate value: -b SUFFIX, -d DIR, -o FILE,
            // -z SUFFIX, -F FUZZ, and -p N when written apart.
            let takes = tok.len() == 2 && matches!(tok[1], b'b' | b'd' | b'o' | b'z' | b'F' | b'p' | b'D');
            if takes && i + 1 < toks.len() {
                i += 1;
                options.push(t.start..toks[i].end);
            } else {
                options.push(t);
            }
        } else if let Some(n) = parse_u32(tok) {
            saw_number_syntax = true;
            numbers.push(PatchNumber {
                number: n,
                form: PatchForm::Positional,
                digits: t.clone(),
                token: t,
            });
        } else {
            // A macro as the number: cannot know which patch.
            saw_number_syntax = true;
        }
        i += 1;
    }
    if !saw_number_syntax {
        numbers.push(PatchNumber {
            number: 0,
            form: PatchForm::Implicit,
            digits: start..start,
            token: start..kw_end,
        });
    }
    PatchApply {
        line,
        numbers,
        options,
    }
}

fn auto_line(line: LineId, kind: AutoKind, src: &[u8], from: usize, end: usize) -> AutoPatch {
    let toks = tokenize(src, from..end);
    let mut a = AutoPatch {
        line,
        kind,
        applies: true,
        min: None,
        max: None,
        listed: Vec::new(),
        listed_at: Vec::new(),
    };
    let mut i = 0;
    while i < toks.len() {
        let tok = &src[toks[i].clone()];
        let value = |i: &mut usize| -> Option<u32> {
            if tok.len() > 2 {
                parse_u32(&tok[2..])
            } else {
                *i += 1;
                toks.get(*i).and_then(|r| parse_u32(&src[r.clone()]))
            }
        };
        match tok {
            b"-N" => a.applies = false,
            _ if tok.starts_with(b"-m") => a.min = value(&mut i),
            _ if tok.starts_with(b"-M") => a.max = value(&mut i),
            // Options whose value is the next token (`-p 1`, `-n DIR`).
            _ if tok.len() == 2
                && (tok[1] == b'p'
                    || kind == AutoKind::Autosetup && matches!(tok[1], b'n' | b'S' | b'a' | b'b')) =>
            {
                i += 1;
            }
            _ => {
                if kind == AutoKind::Autopatch
                    && let Some(n) = parse_u32(tok)
                {
                    a.listed.push(n);
                    a.listed_at.push(toks[i].clone());
                }
            }
        }
        i += 1;
    }
    a
}
