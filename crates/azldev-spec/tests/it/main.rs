//! The integration tests of `azldev-spec`, as one binary.
//!
//! - `hard_cases`: every numbered hard case of `spec-hard-cases.md`.
//! - `edits`: every edit operation, success and refusal.
//! - `corpus`: the whole azl4 corpus (read from `<workspace>/../shared/corpus`).
//! - `proptests`: round-trip and no-panic properties on generated input.
//! - `regressions`: inputs found by fuzzing and review.
//! - `rpm_compare`: sections and sub-packages compared with `rpmspec`.

mod common;
mod corpus;
mod edits;
mod hard_cases;
mod proptests;
mod regressions;
mod rpm_compare;
mod rpm_facts;
