//! rpm's expression language (`%if`, `%[…]`, `%{expr:…}`): integers,
//! strings, versions (`v"1.2"`), `!`, `*`, `/`, `+`, `-`, comparisons,
//! `&&`, `||` and `?:`. Operands of a binary operator must have the same
//! type, as in rpm.

use std::cmp::Ordering;

use super::vercmp::evrcmp;

/// A value of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Str(String),
    Ver(String),
}

impl Value {
    /// rpm's truth: non-zero integer, non-empty string or version.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Int(i) => *i != 0,
            Value::Str(s) | Value::Ver(s) => !s.is_empty(),
        }
    }

    /// How `%[…]` prints the value.
    pub fn render(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Str(s) | Value::Ver(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Str(String),
    Ver(String),
    /// A quoted string or version whose macros are expanded only when the
    /// evaluation reaches it (`%[…]`, as rpm's `RPMEXPR_EXPAND`).
    LazyStr(String),
    LazyVer(String),
    Op(&'static str),
}

/// Expands macros for a lazily evaluated expression.
pub type ExpandFn<'a> = &'a mut dyn FnMut(&str) -> String;

const OPS: [&str; 17] = [
    "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "(", ")", "?", ":",
];

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
                return Err(format!("syntax error in expression: {s}"));
            }
            out.push(Tok::Int(
                s[st..i].parse().map_err(|_| format!("number too large: {s}"))?,
            ));
        } else if c == b'"' || (c == b'v' && b.get(i + 1) == Some(&b'"')) {
            let q = if c == b'v' { i + 1 } else { i };
            let end = s[q + 1..]
                .find('"')
                .ok_or_else(|| format!("unterminated string in expression: {s}"))?
                + q
                + 1;
            let text = s[q + 1..end].to_owned();
            out.push(if c == b'v' { Tok::Ver(text) } else { Tok::Str(text) });
            i = end + 1;
        } else {
            let op = OPS
                .iter()
                .find(|o| s[i..].starts_with(**o))
                .ok_or_else(|| format!("syntax error in expression: {s}"))?;
            out.push(Tok::Op(op));
            i += op.len();
        }
    }
    Ok(out)
}

/// Evaluate an (already macro-expanded) expression.
pub fn eval(s: &str) -> Result<Value, String> {
    let toks = tokenize(s)?;
    run(toks, s, None)
}

/// Evaluate `%[…]` text as rpm does: macros outside quotes are expanded
/// first, quoted strings only if the evaluation reaches them (not in the
/// branch `?:`, `&&` or `||` skips), so their side effects happen only
/// there.
pub fn eval_lazy(raw: &str, expand: ExpandFn<'_>) -> Result<Value, String> {
    let mut toks = Vec::new();
    let b = raw.as_bytes();
    let mut seg = 0;
    let mut i = 0;
    while i < b.len() {
        let ver =
            b[i] == b'v' && b.get(i + 1) == Some(&b'"') && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if b[i] == b'"' || ver {
            let q = if ver { i + 1 } else { i };
            let Some(end) = raw[q + 1..].find('"').map(|p| p + q + 1) else {
                return Err(format!("unterminated string in expression: {raw}"));
            };
            if seg < i {
                let e = expand(&raw[seg..i]);
                toks.extend(tokenize(&e)?);
            }
            let content = raw[q + 1..end].to_owned();
            toks.push(if ver {
                Tok::LazyVer(content)
            } else {
                Tok::LazyStr(content)
            });
            i = end + 1;
            seg = i;
            continue;
        }
        i += 1;
    }
    if seg < b.len() {
        let e = expand(&raw[seg..]);
        toks.extend(tokenize(&e)?);
    }
    run(toks, raw, Some(expand))
}

fn run(toks: Vec<Tok>, s: &str, expand: Option<ExpandFn<'_>>) -> Result<Value, String> {
    if toks.is_empty() {
        return Err(format!("empty expression: {s}"));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        src: s,
        expand,
        discard: 0,
    };
    let v = p.ternary()?;
    if p.pos != p.toks.len() {
        return Err(format!("syntax error in expression: {s}"));
    }
    Ok(v)
}

struct Parser<'a, 'e> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
    expand: Option<ExpandFn<'e>>,
    /// Inside a branch the evaluation skips: lazy strings stay unexpanded.
    discard: u32,
}

impl Parser<'_, '_> {
    fn skipping<T>(&mut self, skip: bool, f: impl FnOnce(&mut Self) -> T) -> T {
        if skip {
            self.discard += 1;
        }
        let r = f(self);
        if skip {
            self.discard -= 1;
        }
        r
    }

    fn lazy(&mut self, s: String) -> String {
        match (&mut self.expand, self.discard) {
            (Some(f), 0) => f(&s),
            _ => s,
        }
    }

    fn err(&self, what: &str) -> String {
        format!("{what}: {}", self.src)
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn same_type(&self, a: &Value, b: &Value) -> Result<(), String> {
        if std::mem::discriminant(a) == std::mem::discriminant(b) {
            Ok(())
        } else {
            Err(self.err("types must match"))
        }
    }

    fn ternary(&mut self) -> Result<Value, String> {
        let c = self.or()?;
        if self.eat("?") {
            let yes = c.truthy();
            let a = self.skipping(!yes, Self::ternary)?;
            if !self.eat(":") {
                return Err(self.err("syntax error in expression"));
            }
            let b = self.skipping(yes, Self::ternary)?;
            self.same_type(&a, &b)?;
            return Ok(if c.truthy() { a } else { b });
        }
        Ok(c)
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut v = self.and()?;
        while self.eat("||") {
            let skip = v.truthy();
            let r = self.skipping(skip, Self::and)?;
            self.same_type(&v, &r)?;
            if !v.truthy() {
                v = r;
            }
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut v = self.relational()?;
        while self.eat("&&") {
            let skip = !v.truthy();
            let r = self.skipping(skip, Self::relational)?;
            self.same_type(&v, &r)?;
            if v.truthy() {
                v = r;
            }
        }
        Ok(v)
    }

    fn relational(&mut self) -> Result<Value, String> {
        let mut v = self.additive()?;
        loop {
            let Some(op) = ["==", "!=", "<=", ">=", "<", ">"]
                .into_iter()
                .find(|o| self.eat(o))
            else {
                return Ok(v);
            };
            let r = self.additive()?;
            self.same_type(&v, &r)?;
            let ord = match (&v, &r) {
                (Value::Int(a), Value::Int(b)) => a.cmp(b),
                (Value::Str(a), Value::Str(b)) => a.cmp(b),
                (Value::Ver(a), Value::Ver(b)) => evrcmp(a, b),
                _ => Ordering::Equal,
            };
            let yes = match op {
                "==" => ord.is_eq(),
                "!=" => ord.is_ne(),
                "<=" => ord.is_le(),
                ">=" => ord.is_ge(),
                "<" => ord.is_lt(),
                _ => ord.is_gt(),
            };
            v = Value::Int(i64::from(yes));
        }
    }

    fn additive(&mut self) -> Result<Value, String> {
        let mut v = self.multiplicative()?;
        loop {
            let plus = if self.eat("+") {
                true
            } else if self.eat("-") {
                false
            } else {
                return Ok(v);
            };
            let r = self.multiplicative()?;
            self.same_type(&v, &r)?;
            v = match (v, r) {
                (Value::Int(a), Value::Int(b)) => Value::Int(
                    if plus { a.checked_add(b) } else { a.checked_sub(b) }
                        .ok_or_else(|| self.err("integer overflow"))?,
                ),
                (Value::Str(a), Value::Str(b)) if plus => Value::Str(a + &b),
                _ => return Err(self.err("- and + not supported for this type")),
            };
        }
    }

    fn multiplicative(&mut self) -> Result<Value, String> {
        let mut v = self.unary()?;
        loop {
            let mul = if self.eat("*") {
                true
            } else if self.eat("/") {
                false
            } else {
                return Ok(v);
            };
            let r = self.unary()?;
            self.same_type(&v, &r)?;
            let (Value::Int(a), Value::Int(b)) = (v, r) else {
                return Err(self.err("* and / not supported for strings"));
            };
            v = Value::Int(if mul {
                a.checked_mul(b).ok_or_else(|| self.err("integer overflow"))?
            } else {
                if b == 0 {
                    return Err(self.err("division by zero"));
                }
                a.checked_div(b).ok_or_else(|| self.err("integer overflow"))?
            });
        }
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat("!") {
            let v = self.unary()?;
            if matches!(v, Value::Ver(_)) {
                return Err(self.err("! not supported for versions"));
            }
            return Ok(Value::Int(i64::from(!v.truthy())));
        }
        if self.eat("-") {
            let Value::Int(a) = self.unary()? else {
                return Err(self.err("- only on numbers"));
            };
            return Ok(Value::Int(
                a.checked_neg().ok_or_else(|| self.err("integer overflow"))?,
            ));
        }
        if self.eat("(") {
            let v = self.ternary()?;
            return if self.eat(")") {
                Ok(v)
            } else {
                Err(self.err("unmatched ("))
            };
        }
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| self.err("unexpected end of expression"))?;
        self.pos += 1;
        match t {
            Tok::Int(i) => Ok(Value::Int(i)),
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::Ver(s) => Ok(Value::Ver(s)),
            Tok::LazyStr(s) => Ok(Value::Str(self.lazy(s))),
            Tok::LazyVer(s) => Ok(Value::Ver(self.lazy(s))),
            Tok::Op(_) => Err(self.err("syntax error in expression")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_strings_expand_only_when_reached() {
        let mut seen = Vec::new();
        let mut f = |s: &str| {
            seen.push(s.to_owned());
            s.replace("%x", "1")
        };
        let v = eval_lazy("(%x) ? \"a%x\" : \"b\"", &mut f);
        assert_eq!(v, Ok(Value::Str("a1".into())));
        assert_eq!(
            seen,
            vec!["(%x) ? ".to_owned(), " : ".to_owned(), "a%x".to_owned()]
        );
        let mut n = 0;
        let mut g = |s: &str| {
            n += usize::from(s.contains('%'));
            s.to_owned()
        };
        assert_eq!(eval_lazy("\"\" || \"%z\"", &mut g), Ok(Value::Str("%z".into())));
    }

    fn ev(s: &str) -> Result<Value, String> {
        eval(s)
    }

    #[test]
    fn arithmetic_and_logic() {
        assert_eq!(ev("1 + 2 * 3"), Ok(Value::Int(7)));
        assert_eq!(ev("!(2 > 3) ? 5 : 6"), Ok(Value::Int(5)));
        assert_eq!(ev("0 || 3"), Ok(Value::Int(3)));
        assert_eq!(ev("2 && 0"), Ok(Value::Int(0)));
        assert_eq!(ev("3 / 2"), Ok(Value::Int(1)));
        assert!(ev("0%{?x}").is_err());
        assert_eq!(ev("010 == 10"), Ok(Value::Int(1)));
    }

    #[test]
    fn strings_and_versions() {
        assert_eq!(ev("\"a\" < \"b\""), Ok(Value::Int(1)));
        assert_eq!(ev("\"a\" + \"b\""), Ok(Value::Str("ab".into())));
        assert_eq!(ev("v\"1.2\" < v\"1.10\""), Ok(Value::Int(1)));
        assert_eq!(ev("v\"1:1.0\" > v\"2.0\""), Ok(Value::Int(1)));
        assert!(ev("1 && \"x\"").is_err());
        assert!(ev("foo").is_err());
        assert!(ev("").is_err());
        assert!(ev("1 / 0").is_err());
    }
}
