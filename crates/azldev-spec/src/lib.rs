//! `azldev-spec`: a lossless syntax tree of RPM spec files, and structured
//! edits that keep upstream formatting.
//!
//! The parser follows how rpm itself reads a spec (see
//! `../shared/docs/spec-hard-cases.md`): physical lines are joined into
//! logical lines on backslash-newline and while a `%{`, `%(` or `%[` is open;
//! conditionals form a tree; sections are regions that start at a header in
//! column 1 and know the conditional branch they start in; tags live in the
//! preamble and `%package` bodies; sub-packages are identified by their full
//! name however a header spells it.
//!
//! Parsing never fails and never loses a byte: [`Spec::as_bytes`] (and
//! [`Spec::reconstruct`], which concatenates the logical lines) return the
//! input. Problems are reported as [`Diagnostic`]s.
//!
//! ```
//! use azldev_spec::{Spec, TagSel, Occurrence};
//! let mut spec = Spec::parse("Name:    foo\nRelease: 1%{?dist}\n\n%package devel\nSummary: x\n\n%files -n %{name}-devel\n");
//! assert_eq!(spec.packages()[1].name, "foo-devel");
//! spec.set_tag(&TagSel { name: "Release", ..Default::default() }, "2%{?dist}", Occurrence::One).unwrap();
//! assert!(spec.as_bytes().starts_with(b"Name:    foo\nRelease: 2%{?dist}\n"));
//! ```
//!
//! The crate does no I/O and knows nothing of TOML or git.

mod diag;
mod edit;
pub mod eval;
pub mod facts;
pub mod header;
mod kinds;
pub mod lines;
pub mod prep;
mod query;
mod tree;

pub use diag::{Diagnostic, Severity};
pub use edit::{EditError, Occurrence, SectionSel, TagSel};
pub use kinds::{
    CondKind, SectionKind, SectionMacros, is_known_tag, is_section_macro, macro_call_name, section_macro_call,
};
pub use tree::{
    Branch, ChangelogEntry, Cond, CtxId, CtxNode, Line, LineId, LineKind, MacroDef, MacroDefKind, Package,
    PackageId, Section, SectionId, SourceEntry, SourceKind, SourceOrigin, Spec, Tag, TagFamily, TagId,
};
