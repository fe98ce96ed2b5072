//! `azldev-build`: the per-architecture build graph and the build plan.
//!
//! - [`source`]: [`FactsSource`] — something that turns a rendered spec into
//!   [`SpecFacts`] for an arch — and [`RpmspecSource`], the producer that asks
//!   `rpmspec`, cached by content hash.
//! - [`evr`], [`dep`]: rpm's version comparison and dependencies (plain,
//!   versioned, rich).
//! - [`graph`]: [`Graph`] — edges BuildRequires → in-distro providers
//!   (through their runtime Requires), external and unresolved
//!   requirements, several providers, bootstrap, cycles, build order.
//! - [`plan`]: [`Plan`] — the executor-neutral, serialisable plan; JSON,
//!   Graphviz and text forms.
//!
//! Typical use: [`facts`] for every rendered component and an arch, then
//! [`Graph::build`], then [`Graph::plan`] for the components asked for.
//! Never prints.

pub mod dep;
pub mod eval_source;
pub mod evr;
pub mod exec;
pub mod graph;
pub mod payload;
pub mod plan;
pub mod run;
pub mod sched;
pub mod simulate;
pub mod source;

pub use azldev_buildroot::arch::Arch;
pub use azldev_spec::facts::SpecFacts;
pub use graph::{Buildroot, Graph, GraphOptions};
pub use plan::{Plan, PlanComponent, PlanError, PlanPackage};
pub use source::{FactsError, FactsSource, Fallback, MacroInputs, RpmspecSource, SpecInput};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// The facts of every input for `arch`, in parallel (in the current rayon
/// pool): successes as `(component, facts)` and failures, both in input
/// order.
pub fn facts(
    source: &dyn FactsSource,
    inputs: &[SpecInput],
    arch: Arch,
) -> (Vec<(String, SpecFacts)>, Vec<FactsError>) {
    let results: Vec<Result<SpecFacts, FactsError>> =
        inputs.par_iter().map(|i| source.facts(i, arch)).collect();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (i, r) in inputs.iter().zip(results) {
        match r {
            Ok(f) => ok.push((i.name.clone(), f)),
            Err(e) => failed.push(e),
        }
    }
    (ok, failed)
}

/// The SHA-256 of a rendered tree (paths and bytes): the plan's
/// `input-hash`.
#[must_use]
pub fn input_hash(input: &SpecInput) -> String {
    let mut h = Sha256::new();
    for (p, b) in &input.files {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Facts, graph and plan of one arch in one call: `names` and their
/// build-dependency closure (all when empty). Facts failures are listed in
/// the plan's `errors`.
///
/// # Errors
/// A name is not a component (or its facts failed).
pub fn plan_arch(
    source: &dyn FactsSource,
    inputs: &[SpecInput],
    arch: Arch,
    opts: &GraphOptions,
    names: &[String],
) -> Result<(Graph, Plan), plan::UnknownComponent> {
    let (ok, failed) = facts(source, inputs, arch);
    let graph = Graph::build(arch, ok, opts);
    let hashes: std::collections::HashMap<&str, &SpecInput> =
        inputs.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut plan = graph.plan(names, &|n| hashes.get(n).map(|i| input_hash(i)))?;
    plan.errors = failed
        .iter()
        .map(|e| PlanError {
            component: e.component(),
            message: e.to_string(),
        })
        .collect();
    Ok((graph, plan))
}
