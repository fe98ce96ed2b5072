//! rpm's version comparison: `rpmvercmp` on version and release strings
//! (with `~` sorting before anything and `^` after the end), and
//! `[epoch:]version[-release]` values compared the way rpm compares a
//! requirement with a provide (a missing epoch is 0; a side without a
//! release matches any release).

use std::cmp::Ordering;

/// rpm's `rpmvercmp`: compare two version (or release) strings segment by
/// segment. Digits compare numerically (leading zeros ignored), letters
/// lexically, a numeric segment is newer than an alphabetic one, `~` sorts
/// before everything (also the end), `^` after the end but before anything
/// else. Other characters only separate segments.
#[must_use]
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        if i >= a.len() && j >= b.len() {
            break;
        }
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            break;
        };
        let numeric = ca.is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        // `a`'s segment is never empty (its first byte is alphanumeric and
        // decides the class); `b`'s is when it is of the other class.
        if sj == j {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[si..i], &b[sj..j]);
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// An `[epoch:]version[-release]` value as written in a dependency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evr {
    /// `None` when not written (compares as 0).
    pub epoch: Option<u64>,
    pub version: String,
    /// `None` when not written: matches any release.
    pub release: Option<String>,
}

impl Evr {
    /// Split the way rpm's `rpmverParse` does: the epoch is the leading
    /// digits before a `:`, the release follows the last `-`.
    #[must_use]
    pub fn parse(s: &str) -> Evr {
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
                (e.parse().ok(), rest)
            }
            Some(("", rest)) => (None, rest),
            _ => (None, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v.to_owned(), Some(r.to_owned())),
            None => (rest.to_owned(), None),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }

    /// rpm's comparison of two EVRs in a dependency match: epochs (missing
    /// = 0), then versions, then releases only when both sides have one.
    #[must_use]
    pub fn compare(&self, other: &Evr) -> Ordering {
        let e = self.epoch.unwrap_or(0).cmp(&other.epoch.unwrap_or(0));
        if e != Ordering::Equal {
            return e;
        }
        let v = rpmvercmp(&self.version, &other.version);
        if v != Ordering::Equal {
            return v;
        }
        match (&self.release, &other.release) {
            (Some(a), Some(b)) => rpmvercmp(a, b),
            _ => Ordering::Equal,
        }
    }
}

impl std::fmt::Display for Evr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    #[test]
    fn vercmp_cases() {
        // Cases from rpm's own test suite (rpmvercmp.at).
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("5.5p1", "5.5p10", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("8", "xyz.4", Greater),
            ("1.0aa", "1.0a", Greater),
            ("1.0010", "1.9", Greater),
            ("1.05", "1.5", Equal),
            ("1.0", "1", Greater),
            ("2.50", "2.5", Greater),
            ("fc4", "fc.4", Equal),
            ("FC5", "fc4", Less),
            ("2a", "2.0", Less),
            ("1.0a", "1.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0^git1", "1.01", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0^20160101^git1", "1.0^20160101", Greater),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("+", "_", Equal),
            ("1.0", "1.0~", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn evr_parse_and_compare() {
        let e = Evr::parse("2:1.2-3.azl4");
        assert_eq!(e.epoch, Some(2));
        assert_eq!(e.version, "1.2");
        assert_eq!(e.release.as_deref(), Some("3.azl4"));
        assert_eq!(e.to_string(), "2:1.2-3.azl4");
        let n = Evr::parse("1.2");
        assert_eq!((n.epoch, n.release), (None, None));
        // A release-less side matches any release.
        assert_eq!(Evr::parse("1.2").compare(&Evr::parse("1.2-7")), Equal);
        // A missing epoch is 0.
        assert_eq!(Evr::parse("1.2").compare(&Evr::parse("0:1.2")), Equal);
        assert_eq!(Evr::parse("9.9").compare(&Evr::parse("1:1.0")), Less);
        assert_eq!(Evr::parse("1.2-3").compare(&Evr::parse("1.2-10")), Less);
    }
}
