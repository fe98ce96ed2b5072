//! What a spec says to the build graph, for one target architecture: the
//! contract between the macro evaluator (which produces it from a spec and
//! macro files) and the graph in `azldev-build` (which consumes it). The same
//! type is filled from `rpmspec -q` output when the evaluator cannot resolve
//! a spec, so both producers must agree on spelling: every string is exactly
//! what `rpmspec -q --buildrequires` / `--provides` / `--requires` prints
//! (macros expanded, EVR expanded, one dependency per entry, rich
//! dependencies kept whole in their parentheses).

use serde::Serialize;

/// The build-relevant facts of one spec for one architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SpecFacts {
    /// The source package's name (`Name:` expanded).
    pub name: String,
    /// `Epoch:Version-Release` of the source package, expanded (`1.2-3.azl4`,
    /// `1:1.2-3.azl4`).
    pub evr: String,
    /// `BuildRequires` (and `BuildConflicts` are not included), in spec order.
    pub buildrequires: Vec<Dep>,
    /// Whether the spec has `%generate_buildrequires` (its dynamic
    /// BuildRequires are known only from a build).
    pub dynamic_buildrequires: bool,
    /// Binary packages the spec produces for this arch, main package first.
    pub packages: Vec<PackageFacts>,
    /// `BuildArch:` of the main package (`noarch`), if any.
    pub buildarch: Option<String>,
    /// `ExclusiveArch:` entries, expanded (empty = no restriction).
    pub exclusive_arch: Vec<String>,
    /// `ExcludeArch:` entries, expanded.
    pub exclude_arch: Vec<String>,
}

/// One dependency with the (1-based) spec line it was written on, when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dep {
    pub text: String,
    pub line: Option<u32>,
}

/// One binary package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PackageFacts {
    pub name: String,
    /// `BuildArch` of this package if it differs from the main package's.
    pub buildarch: Option<String>,
    /// As `rpmspec -q --provides` prints them (including `name = evr` and
    /// `name(x86-64) = evr`).
    pub provides: Vec<String>,
    /// As `rpmspec -q --requires` prints them (`Requires(pre)` etc. included).
    pub requires: Vec<String>,
}
