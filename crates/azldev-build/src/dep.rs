//! Dependencies as rpm writes them: `name`, `name OP evr`, and rich
//! (boolean) dependencies `(a or b)`, `(a and b)`, `(a if b [else c])`,
//! `(a unless b [else c])`, `(a with b)`, `(a without b)`, nested. Matching a
//! requirement against a provide follows rpm's `rpmdsCompare` (overlapping
//! ranges; an unversioned side matches anything).

use std::fmt;

use crate::evr::Evr;

/// A comparison as a set of rpm sense bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sense {
    pub less: bool,
    pub equal: bool,
    pub greater: bool,
}

impl Sense {
    fn parse(op: &str) -> Option<Sense> {
        let (less, equal, greater) = match op {
            "<" => (true, false, false),
            "<=" | "=<" => (true, true, false),
            "=" | "==" => (false, true, false),
            ">=" | "=>" => (false, true, true),
            ">" => (false, false, true),
            _ => return None,
        };
        Some(Sense { less, equal, greater })
    }
}

impl fmt::Display for Sense {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match (self.less, self.equal, self.greater) {
            (true, false, false) => "<",
            (true, true, false) => "<=",
            (false, false, true) => ">",
            (false, true, true) => ">=",
            _ => "=",
        };
        f.write_str(s)
    }
}

/// One plain dependency: a name and an optional version range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Simple {
    pub name: String,
    pub range: Option<(Sense, Evr)>,
}

impl Simple {
    /// Parse `name`, `name OP evr` (the form `rpmspec -q` prints). Returns
    /// `None` for an empty string.
    #[must_use]
    pub fn parse(s: &str) -> Option<Simple> {
        let mut it = s.split_whitespace();
        let name = it.next()?.to_owned();
        let range = match (it.next(), it.next()) {
            (Some(op), Some(evr)) => Sense::parse(op).map(|o| (o, Evr::parse(evr))),
            _ => None,
        };
        Some(Simple { name, range })
    }

    /// Whether this is a file dependency (`/usr/bin/foo`).
    #[must_use]
    pub fn is_file(&self) -> bool {
        self.name.starts_with('/')
    }

    /// rpm's `rpmdsCompare`: same name and overlapping ranges; a side
    /// without a version matches any version of the other.
    #[must_use]
    pub fn overlaps(&self, other: &Simple) -> bool {
        self.name == other.name && ranges_overlap(self.range.as_ref(), other.range.as_ref())
    }
}

/// Whether two version ranges on the same name overlap (rpm's rule).
#[must_use]
pub fn ranges_overlap(a: Option<&(Sense, Evr)>, b: Option<&(Sense, Evr)>) -> bool {
    let (Some((sa, ea)), Some((sb, eb))) = (a, b) else {
        return true;
    };
    match ea.compare(eb) {
        std::cmp::Ordering::Less => sa.greater || sb.less,
        std::cmp::Ordering::Greater => sa.less || sb.greater,
        std::cmp::Ordering::Equal => {
            (sa.equal && sb.equal) || (sa.less && sb.less) || (sa.greater && sb.greater)
        }
    }
}

impl fmt::Display for Simple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some((s, e)) = &self.range {
            write!(f, " {s} {e}")?;
        }
        Ok(())
    }
}

/// A requirement: plain or rich.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Req {
    Simple(Simple),
    /// Every operand.
    And(Vec<Req>),
    /// The first operand that can be satisfied.
    Or(Vec<Req>),
    /// `then if cond [else otherwise]`.
    If {
        then: Box<Req>,
        cond: Box<Req>,
        otherwise: Option<Box<Req>>,
    },
    /// `then unless cond [else otherwise]`.
    Unless {
        then: Box<Req>,
        cond: Box<Req>,
        otherwise: Option<Box<Req>>,
    },
    /// One package satisfying every operand.
    With(Vec<Req>),
    /// A package satisfying the first operand and not the second.
    Without(Box<Req>, Box<Req>),
}

/// Why a dependency string is not a valid rich dependency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad rich dependency `{text}` at byte {at}: {why}")]
pub struct DepError {
    pub text: String,
    pub at: usize,
    pub why: &'static str,
}

impl Req {
    /// Parse a dependency as `rpmspec -q` prints it.
    ///
    /// # Errors
    /// An empty string, or a rich dependency that is malformed (unbalanced
    /// parentheses, an unknown or mixed operator, a missing operand).
    pub fn parse(text: &str) -> Result<Req, DepError> {
        let t = text.trim();
        if !t.starts_with('(') {
            return Simple::parse(t).map(Req::Simple).ok_or(DepError {
                text: text.to_owned(),
                at: 0,
                why: "empty dependency",
            });
        }
        let mut p = Parser {
            s: t.as_bytes(),
            text,
            i: 0,
        };
        let r = p.rich()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("text after the closing parenthesis"));
        }
        Ok(r)
    }

    /// Every plain dependency named inside.
    pub fn atoms(&self) -> Vec<&Simple> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Simple>) {
        match self {
            Req::Simple(s) => out.push(s),
            Req::And(v) | Req::Or(v) | Req::With(v) => v.iter().for_each(|r| r.collect(out)),
            Req::If {
                then,
                cond,
                otherwise,
            }
            | Req::Unless {
                then,
                cond,
                otherwise,
            } => {
                then.collect(out);
                cond.collect(out);
                if let Some(o) = otherwise {
                    o.collect(out);
                }
            }
            Req::Without(a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn err(&self, why: &'static str) -> DepError {
        DepError {
            text: self.text.to_owned(),
            at: self.i,
            why,
        }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    /// `( operand op operand … )`.
    fn rich(&mut self) -> Result<Req, DepError> {
        self.i += 1; // '('
        let first = self.operand()?;
        let mut operands = vec![first];
        let mut op: Option<String> = None;
        let mut otherwise = None;
        loop {
            self.ws();
            match self.s.get(self.i) {
                None => return Err(self.err("missing `)`")),
                Some(b')') => {
                    self.i += 1;
                    break;
                }
                Some(_) => {}
            }
            let word = self.word();
            match (word.as_str(), op.as_deref()) {
                ("else", Some("if" | "unless")) if operands.len() == 2 && otherwise.is_none() => {
                    otherwise = Some(Box::new(self.operand()?));
                }
                ("and" | "or" | "with", None | Some("and" | "or" | "with")) if otherwise.is_none() => {
                    if op.as_deref().is_some_and(|o| o != word) {
                        return Err(self.err("different operators need parentheses"));
                    }
                    op = Some(word);
                    operands.push(self.operand()?);
                }
                ("if" | "unless" | "without", None) => {
                    op = Some(word);
                    operands.push(self.operand()?);
                }
                ("", _) => return Err(self.err("expected an operator")),
                _ => return Err(self.err("unexpected operator")),
            }
        }
        let Some(op) = op else {
            // `(a)` is just `a`.
            return operands.pop().ok_or_else(|| self.err("empty parentheses"));
        };
        let mut it = operands.into_iter();
        let mut next = || {
            it.next().map(Box::new).ok_or(DepError {
                text: self.text.to_owned(),
                at: self.i,
                why: "missing operand",
            })
        };
        Ok(match op.as_str() {
            "and" => Req::And(std::iter::from_fn(|| next().ok().map(|b| *b)).collect()),
            "or" => Req::Or(std::iter::from_fn(|| next().ok().map(|b| *b)).collect()),
            "with" => Req::With(std::iter::from_fn(|| next().ok().map(|b| *b)).collect()),
            "if" => Req::If {
                then: next()?,
                cond: next()?,
                otherwise,
            },
            "unless" => Req::Unless {
                then: next()?,
                cond: next()?,
                otherwise,
            },
            _ => Req::Without(next()?, next()?),
        })
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphabetic() {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// A nested rich dependency or `name [OP evr]`.
    fn operand(&mut self) -> Result<Req, DepError> {
        self.ws();
        match self.s.get(self.i) {
            None => return Err(self.err("missing operand")),
            Some(b'(') => return self.rich(),
            Some(b')') => return Err(self.err("missing operand")),
            Some(_) => {}
        }
        let name = self.token(true);
        if name.is_empty() {
            return Err(self.err("missing operand"));
        }
        let save = self.i;
        self.ws();
        let opstart = self.i;
        while self.i < self.s.len() && matches!(self.s[self.i], b'<' | b'>' | b'=') {
            self.i += 1;
        }
        let op = String::from_utf8_lossy(&self.s[opstart..self.i]).into_owned();
        if op.is_empty() {
            self.i = save;
            return Ok(Req::Simple(Simple { name, range: None }));
        }
        let sense = Sense::parse(&op).ok_or_else(|| self.err("unknown comparison"))?;
        self.ws();
        let evr = self.token(false);
        if evr.is_empty() {
            return Err(self.err("missing version after comparison"));
        }
        Ok(Req::Simple(Simple {
            name,
            range: Some((sense, Evr::parse(&evr))),
        }))
    }

    /// Up to whitespace or an unbalanced `)`; a name may hold balanced
    /// parentheses (`perl(Foo::Bar)`).
    fn token(&mut self, name: bool) -> String {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(&c) = self.s.get(self.i) {
            if c.is_ascii_whitespace() {
                break;
            }
            if c == b'(' && name {
                depth += 1;
            } else if c == b')' {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
}

impl fmt::Display for Req {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, v: &[Req], op: &str| {
            f.write_str("(")?;
            for (i, r) in v.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{r}")?;
            }
            f.write_str(")")
        };
        match self {
            Req::Simple(s) => write!(f, "{s}"),
            Req::And(v) => list(f, v, "and"),
            Req::Or(v) => list(f, v, "or"),
            Req::With(v) => list(f, v, "with"),
            Req::If {
                then,
                cond,
                otherwise,
            }
            | Req::Unless {
                then,
                cond,
                otherwise,
            } => {
                let op = if matches!(self, Req::If { .. }) {
                    "if"
                } else {
                    "unless"
                };
                write!(f, "({then} {op} {cond}")?;
                if let Some(o) = otherwise {
                    write!(f, " else {o}")?;
                }
                f.write_str(")")
            }
            Req::Without(a, b) => write!(f, "({a} without {b})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Simple {
        Simple::parse(t).expect("simple")
    }

    #[test]
    fn simple_forms() {
        assert_eq!(s("gcc").range, None);
        let d = s("libgreet-devel >= 1.0");
        assert_eq!(d.name, "libgreet-devel");
        assert_eq!(d.to_string(), "libgreet-devel >= 1.0");
        assert_eq!(
            s("perl(Foo::Bar) = 1:2.0-3").to_string(),
            "perl(Foo::Bar) = 1:2.0-3"
        );
        assert!(s("/usr/bin/python3").is_file());
    }

    #[test]
    fn overlap_rules() {
        let p = s("foo = 1.2-3");
        assert!(s("foo").overlaps(&p));
        assert!(s("foo >= 1.0").overlaps(&p));
        assert!(s("foo >= 1.2").overlaps(&p));
        assert!(!s("foo > 1.2-3").overlaps(&p));
        // Release-less requirement: any release of 1.2.
        assert!(!s("foo > 1.2").overlaps(&p));
        assert!(s("foo = 1.2").overlaps(&p));
        assert!(s("foo <= 1.2").overlaps(&p));
        assert!(!s("foo < 1.2").overlaps(&p));
        assert!(!s("foo >= 2").overlaps(&p));
        assert!(s("foo < 2").overlaps(&p));
        // Epochs win over versions.
        assert!(!s("foo >= 1:0.1").overlaps(&p));
        assert!(s("foo >= 1:0.1").overlaps(&s("foo = 1:0.1-1")));
        // An unversioned provide satisfies any version.
        assert!(s("foo >= 99").overlaps(&s("foo")));
        // Tilde: a pre-release is older.
        assert!(!s("foo >= 1.2").overlaps(&s("foo = 1.2~rc1-1")));
        assert!(s("foo >= 1.2~rc1").overlaps(&s("foo = 1.2-1")));
        // Different names never match.
        assert!(!s("bar").overlaps(&p));
        // Provide ranges too.
        assert!(s("foo >= 2").overlaps(&s("foo > 1")));
        assert!(!s("foo < 1").overlaps(&s("foo > 1")));
    }

    #[test]
    fn rich_parse() {
        let r = Req::parse("(foo >= 1.0 or bar)").expect("parse");
        assert_eq!(
            r,
            Req::Or(vec![Req::Simple(s("foo >= 1.0")), Req::Simple(s("bar"))])
        );
        let r = Req::parse("((a and b) if c else (d with e))").expect("parse");
        assert_eq!(r.to_string(), "((a and b) if c else (d with e))");
        let r = Req::parse("(perl(Foo) unless python3(x) > 2)").expect("parse");
        assert_eq!(r.atoms().len(), 2);
        assert_eq!(r.atoms()[0].name, "perl(Foo)");
        assert_eq!(
            Req::parse("(a without b)").expect("parse").to_string(),
            "(a without b)"
        );
        assert_eq!(Req::parse("(a and b and c)").expect("parse").atoms().len(), 3);
        for bad in [
            "(a and b or c)",
            "(a",
            "(a xor b)",
            "(a and)",
            "(a >= )",
            "()",
            "(a) b",
            "(a if b else c else d)",
        ] {
            assert!(Req::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    fn simple() -> impl Strategy<Value = Simple> {
        let name = prop_oneof![
            "p[a-z0-9_.+-]{0,8}",
            "p[a-z]{0,5}\\([A-Za-z:]{1,8}\\)",
            "/usr/bin/[a-z]{1,6}",
        ];
        let evr = (
            proptest::option::of(0u64..5),
            "[0-9][0-9a-z.~^]{0,6}",
            proptest::option::of("[0-9][0-9a-z.]{0,4}"),
        )
            .prop_map(|(epoch, version, release)| Evr {
                epoch,
                version,
                release,
            });
        let sense = prop_oneof![Just("<"), Just("<="), Just("="), Just(">="), Just(">")]
            .prop_map(|o| Sense::parse(o).expect("operator"));
        (name, proptest::option::of((sense, evr))).prop_map(|(name, range)| Simple { name, range })
    }

    fn req() -> impl Strategy<Value = Req> {
        simple().prop_map(Req::Simple).prop_recursive(3, 16, 3, |inner| {
            let two_or_three = proptest::collection::vec(inner.clone(), 2..4);
            prop_oneof![
                two_or_three.clone().prop_map(Req::And),
                two_or_three.clone().prop_map(Req::Or),
                two_or_three.prop_map(Req::With),
                (inner.clone(), inner.clone(), proptest::option::of(inner.clone())).prop_map(|(t, c, o)| {
                    Req::If {
                        then: Box::new(t),
                        cond: Box::new(c),
                        otherwise: o.map(Box::new),
                    }
                }),
                (inner.clone(), inner.clone(), proptest::option::of(inner.clone())).prop_map(|(t, c, o)| {
                    Req::Unless {
                        then: Box::new(t),
                        cond: Box::new(c),
                        otherwise: o.map(Box::new),
                    }
                }),
                (inner.clone(), inner).prop_map(|(a, b)| Req::Without(Box::new(a), Box::new(b))),
            ]
        })
    }

    proptest! {
        /// Printing a dependency and parsing it back gives the same tree.
        #[test]
        fn print_then_parse_round_trips(r in req()) {
            let text = r.to_string();
            prop_assert_eq!(Req::parse(&text).map_err(|e| e.to_string()), Ok(r), "{}", text);
        }

        /// `rpmvercmp` is a total order on what it compares: antisymmetric
        /// and reflexive.
        #[test]
        fn vercmp_antisymmetric(a in "[0-9a-z.~^_+]{0,8}", b in "[0-9a-z.~^_+]{0,8}") {
            prop_assert_eq!(crate::evr::rpmvercmp(&a, &b), crate::evr::rpmvercmp(&b, &a).reverse());
            prop_assert_eq!(crate::evr::rpmvercmp(&a, &a), std::cmp::Ordering::Equal);
        }
    }
}
