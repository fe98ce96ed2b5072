//! rpm's macro language and spec evaluation: one evaluator for package
//! identity, `%autorelease` and the build graph.
//!
//! [`MacroContext`] holds the macro files' definitions (handed in as
//! bytes: no I/O here); [`evaluate`] reads a spec the way rpm's parser
//! does, line by line, and returns its [`SpecFacts`](crate::facts::SpecFacts)
//! for one architecture plus everything it could not evaluate.

mod expand;
pub mod expr;
mod ident;
mod lua;
mod macros;
mod shell;
mod spec;
pub mod vercmp;

pub use expand::Expander;
pub use ident::{Expanded, Macros, is_name};
pub use macros::{Asked, MacroContext, MacroDef, RootProbe, Shell};
pub use spec::{Evaluation, Tags, Unresolved, evaluate};

/// The source text of the evaluator and everything it uses, for caches of
/// its results: a cache keyed by these bytes cannot outlive a change to
/// the evaluator (a version number could be forgotten).
pub const SOURCE_FINGERPRINT: &[&[u8]] = &[
    include_bytes!("mod.rs"),
    include_bytes!("expand.rs"),
    include_bytes!("expr.rs"),
    include_bytes!("ident.rs"),
    include_bytes!("lua.rs"),
    include_bytes!("macros.rs"),
    include_bytes!("shell.rs"),
    include_bytes!("spec.rs"),
    include_bytes!("vercmp.rs"),
    include_bytes!("../facts.rs"),
    include_bytes!("../kinds.rs"),
    include_bytes!("../lines.rs"),
    include_bytes!("../header.rs"),
    include_bytes!("../tree.rs"),
];
