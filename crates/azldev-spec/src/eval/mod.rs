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
pub use macros::{MacroContext, MacroDef, Shell};
pub use spec::{Evaluation, Tags, Unresolved, evaluate};
