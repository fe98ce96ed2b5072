//! Package identity: the spec's own plain definitions, expanded by the
//! evaluator in spec-only mode. Enough to resolve package names
//! (`%{name}-devel`, `python3-%{srcname}`) from the spec's own plain
//! `%global`/`%define` values and its `Name`/`Version`/`Release` tags.
//!
//! It never guesses: a macro it cannot resolve (defined by the build system,
//! defined differently in several places, defined only inside a conditional,
//! parametric, or using anything but plain `%name`, `%{name}`, `%{?name}`,
//! `%%`) leaves the result unresolved, with the unresolved macro kept in
//! canonical `%{name}` form so two spellings of the same unresolved name
//! still compare equal.

use std::collections::HashMap;

use super::expand::Expander;
use super::macros::MacroContext;

/// A macro's value as far as the spec itself tells.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// Defined once (or always to the same body).
    One(Vec<u8>),
    /// Defined to different bodies, or in a form we cannot evaluate.
    Unknown,
}

/// Definitions known from the spec text.
#[derive(Debug, Clone, Default)]
pub struct Macros {
    defs: HashMap<Vec<u8>, Value>,
}

/// The result of expanding a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// Every macro in the input was resolved.
    pub resolved: bool,
}

/// Expansions longer than this are given up as unresolved: a macro used
/// several times in its own (or a nested) body grows exponentially with
/// the depth, and no name or file name is this long.
const MAX_LEN: usize = 64 * 1024;

impl Macros {
    /// Record a definition of `name` with `body`.
    pub fn define(&mut self, name: &[u8], body: &[u8]) {
        let body = body.to_vec();
        match self.defs.get_mut(name) {
            None => {
                self.defs.insert(name.to_vec(), Value::One(body));
            }
            Some(Value::One(old)) if *old == body => {}
            Some(v) => *v = Value::Unknown,
        }
    }

    /// Record that `name` has a value we cannot know (parametric, undefined
    /// somewhere, defined by an opaque construct).
    pub fn poison(&mut self, name: &[u8]) {
        self.defs.insert(name.to_vec(), Value::Unknown);
    }

    /// Whether `token` is exactly a reference to a macro (`%x`, `%{x}`,
    /// `%{?x}`) whose known body spans several lines.
    pub fn is_multiline_ref(&self, token: &[u8]) -> bool {
        let name = if let Some(inner) = token.strip_prefix(b"%{").and_then(|t| t.strip_suffix(b"}")) {
            inner.strip_prefix(b"?").unwrap_or(inner)
        } else if let Some(n) = token.strip_prefix(b"%") {
            n
        } else {
            return false;
        };
        is_name(name) && matches!(self.defs.get(name), Some(Value::One(b)) if b.contains(&b'\n'))
    }

    /// Expand `input` with the evaluator in spec-only mode: only these
    /// definitions are known; anything else leaves the result unresolved.
    pub fn expand(&self, input: &[u8]) -> Expanded {
        let mut ctx = MacroContext::new();
        ctx.define("nil", "");
        for (name, v) in &self.defs {
            if let Value::One(body) = v {
                ctx.define(&String::from_utf8_lossy(name), &String::from_utf8_lossy(body));
            }
        }
        let mut e = Expander::spec_only(&ctx, MAX_LEN);
        let text = e.expand_text(&String::from_utf8_lossy(input));
        let resolved = e.unresolved.is_empty() && e.errors.is_empty();
        Expanded { text, resolved }
    }
}

/// A valid macro name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_name(s: &[u8]) -> bool {
    !s.is_empty()
        && (s[0].is_ascii_alphabetic() || s[0] == b'_')
        && s.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_plain_macros() {
        let mut m = Macros::default();
        m.define(b"name", b"foo");
        m.define(b"srcname", b"%{name}-core");
        assert_eq!(m.expand(b"%{name}-devel").text, "foo-devel");
        assert_eq!(m.expand(b"%name-devel").text, "foo-devel");
        assert_eq!(m.expand(b"python3-%{?srcname}").text, "python3-foo-core");
        assert_eq!(m.expand(b"100%%").text, "100%");
        assert!(m.expand(b"x").resolved);
    }

    #[test]
    fn unresolved_kept_canonical() {
        let mut m = Macros::default();
        m.define(b"v", b"1");
        m.define(b"v", b"2");
        let a = m.expand(b"%{v}-x");
        let b = m.expand(b"%v-x");
        assert!(!a.resolved);
        assert_eq!(a, b);
        assert!(!m.expand(b"%{lua: print(1)}").resolved);
        assert!(!m.expand(b"%(echo)").resolved);
    }

    #[test]
    fn exponential_expansion_is_bounded() {
        let mut m = Macros::default();
        m.define(b"a", b"%{a}%{a}%{a}-%{a}");
        let e = m.expand(b"%{a}");
        assert!(!e.resolved);
        assert!(e.text.len() <= MAX_LEN + 64);
    }

    #[test]
    fn recursion_is_bounded() {
        let mut m = Macros::default();
        m.define(b"a", b"%{a}x");
        assert!(!m.expand(b"%{a}").resolved);
    }
}
