//! rpm's version comparison (`rpmvercmp`) and EVR comparison.

use std::cmp::Ordering;

/// Compare two version (or release) strings the way `rpmvercmp` does.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        // Tilde sorts before everything, even the end of the string.
        let (ta, tb) = (a.get(i) == Some(&b'~'), b.get(j) == Some(&b'~'));
        if ta || tb {
            if !(ta && tb) {
                return if ta { Ordering::Less } else { Ordering::Greater };
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret sorts after the end of the string but before anything else.
        let (ca, cb) = (a.get(i) == Some(&b'^'), b.get(j) == Some(&b'^'));
        if ca || cb {
            if i >= a.len() {
                return Ordering::Less;
            }
            if j >= b.len() {
                return Ordering::Greater;
            }
            if !(ca && cb) {
                return if ca { Ordering::Less } else { Ordering::Greater };
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let seg = |s: &[u8], mut k: usize| {
            let st = k;
            while k < s.len()
                && (if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            (st, k)
        };
        let (sa, ea) = seg(a, i);
        let (sb, eb) = seg(b, j);
        if sb == eb {
            // Segments of different kinds: numeric is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut x, mut y) = (&a[sa..ea], &b[sb..eb]);
        if numeric {
            while x.first() == Some(&b'0') {
                x = &x[1..];
            }
            while y.first() == Some(&b'0') {
                y = &y[1..];
            }
            match x.len().cmp(&y.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match x.cmp(y) {
            Ordering::Equal => {}
            o => return o,
        }
        i = ea;
        j = eb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// An `[epoch:]version[-release]` split as rpm splits it.
pub fn split_evr(evr: &str) -> (Option<&str>, &str, Option<&str>) {
    let (epoch, rest) = match evr.find(|c: char| !c.is_ascii_digit()) {
        Some(p) if evr.as_bytes()[p] == b':' => (Some(&evr[..p]), &evr[p + 1..]),
        _ => (None, evr),
    };
    match rest.rfind('-') {
        Some(p) => (epoch, &rest[..p], Some(&rest[p + 1..])),
        None => (epoch, rest, None),
    }
}

/// Compare two EVR strings (`rpmVersionCompare` on parsed EVRs; a missing
/// epoch is 0, a missing release on either side is not compared).
pub fn evrcmp(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split_evr(a);
    let (eb, vb, rb) = split_evr(b);
    let epoch = |e: Option<&str>| e.and_then(|e| e.parse::<u64>().ok()).unwrap_or(0);
    epoch(ea)
        .cmp(&epoch(eb))
        .then_with(|| rpmvercmp(va, vb))
        .then_with(|| match (ra, rb) {
            (Some(x), Some(y)) => rpmvercmp(x, y),
            _ => Ordering::Equal,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn known_orderings() {
        for (a, b, o) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("1.10", "1.9", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("a", "1", Less),
            ("001", "1", Equal),
            ("1.0", "1_0", Equal),
        ] {
            assert_eq!(rpmvercmp(a, b), o, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), o.reverse(), "{b} vs {a}");
        }
        assert_eq!(evrcmp("1:1.0-1", "2.0-1"), Greater);
        assert_eq!(evrcmp("1.0", "1.0-5"), Equal);
    }
}
