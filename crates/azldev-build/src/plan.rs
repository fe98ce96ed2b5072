//! The build plan: what to build, for which arch, after what, with which
//! inputs — plain data, serialisable, for any executor (the local
//! scheduler, Koji later).
//!
//! The JSON form is issue 12's: `{"arch", "components": [{"name",
//! "excluded", "buildrequires", "packages": [{"name", "provides",
//! "requires"}], "depends-on"}], "cycles", "unresolved": [{"component",
//! "requirement", "line"}], "order"}`, plus keys of its own that consumers
//! of the keys can ignore: per component `excluded-why`, `evr`,
//! `build-arch` (`noarch` or the arch), `dynamic-buildrequires` (the spec
//! has `%generate_buildrequires`), `resolved-dynamic-buildrequires` (what
//! its last build resolved them to; their providers are in `depends-on`,
//! and those only they bring in also in `dynamic-depends-on`),
//! `input-hash` (SHA-256 of the rendered tree the facts came from) and
//! `built-for` (for a noarch component in a multi-arch plan: the arch
//! whose plan builds it; it is not built again); at the top level
//! `cycle-edges` (the edge closing each cycle), `providers` (requirements
//! several in-distro packages satisfy, with the choice made), `prebuilt`
//! (requirements taken from the buildroot by `bootstrap-prebuilt`) and
//! `errors` (components whose facts could not be produced).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::graph::{Choice, Cycle, EdgeInfo, Graph, Prebuilt, Unresolved};

/// One binary package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPackage {
    pub name: String,
    pub provides: Vec<String>,
    pub requires: Vec<String>,
}

/// One component of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlanComponent {
    pub name: String,
    pub excluded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_why: Option<String>,
    pub evr: String,
    /// `noarch`, or the plan's arch.
    pub build_arch: String,
    /// BuildRequires as rpmspec prints them.
    pub buildrequires: Vec<String>,
    pub dynamic_buildrequires: bool,
    /// The dynamic BuildRequires the component's last build resolved
    /// (`%generate_buildrequires`; from the build store's record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dynamic_buildrequires: Vec<String>,
    pub packages: Vec<PlanPackage>,
    /// In-distro components to build first (sorted), dynamic BuildRequires'
    /// providers included.
    pub depends_on: Vec<String>,
    /// The members of `depends_on` only a dynamic BuildRequires brings in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_for: Option<String>,
}

/// A component whose facts could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanError {
    pub component: String,
    pub message: String,
}

/// The plan of one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    pub arch: String,
    /// Sorted by name.
    pub components: Vec<PlanComponent>,
    /// Members of each cycle.
    pub cycles: Vec<Vec<String>>,
    pub unresolved: Vec<Unresolved>,
    /// Waves buildable in parallel, in order.
    pub order: Vec<Vec<String>>,
    pub cycle_edges: Vec<EdgeInfo>,
    pub providers: Vec<Choice>,
    pub prebuilt: Vec<Prebuilt>,
    pub errors: Vec<PlanError>,
    /// How the facts were made, when the reader should know (e.g. rpmspec
    /// ran on the host because no base root exists yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether the plan reports problems (cycles, unresolved requirements,
    /// components without facts).
    #[must_use]
    pub fn has_problems(&self) -> bool {
        !self.cycles.is_empty() || !self.unresolved.is_empty() || !self.errors.is_empty()
    }

    /// A component by name.
    #[must_use]
    pub fn component(&self, name: &str) -> Option<&PlanComponent> {
        self.components
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.components[i])
    }
}

/// A name the plan was asked for that no component has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no component `{0}` (or its facts could not be produced)")]
pub struct UnknownComponent(pub String);

impl Graph {
    /// The plan for `names` and their build-dependency closure (every
    /// component when `names` is empty). `hash` gives a component's input
    /// hash, when known.
    ///
    /// # Errors
    /// A name is not a component of the graph.
    pub fn plan(
        &self,
        names: &[String],
        hash: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Plan, UnknownComponent> {
        let set: BTreeSet<usize> = if names.is_empty() {
            (0..self.nodes.len()).collect()
        } else {
            let roots = names
                .iter()
                .map(|n| self.node(n).ok_or_else(|| UnknownComponent(n.clone())))
                .collect::<Result<Vec<_>, _>>()?;
            self.closure(&roots)
        };
        let names_in: BTreeSet<&str> = set.iter().map(|i| self.nodes[*i].name.as_str()).collect();
        let components = set
            .iter()
            .map(|&i| {
                let n = &self.nodes[i];
                PlanComponent {
                    name: n.name.clone(),
                    excluded: n.excluded.is_some(),
                    excluded_why: n.excluded.clone(),
                    evr: n.facts.evr.clone(),
                    build_arch: n
                        .facts
                        .buildarch
                        .clone()
                        .unwrap_or_else(|| self.arch.rpm().to_owned()),
                    buildrequires: n.facts.buildrequires[..n.facts.buildrequires.len() - n.dynamic.len()]
                        .iter()
                        .map(|d| d.text.clone())
                        .collect(),
                    dynamic_buildrequires: n.facts.dynamic_buildrequires,
                    resolved_dynamic_buildrequires: n.dynamic.clone(),
                    packages: n
                        .facts
                        .packages
                        .iter()
                        .map(|p| PlanPackage {
                            name: p.name.clone(),
                            provides: p.provides.clone(),
                            requires: p.requires.clone(),
                        })
                        .collect(),
                    depends_on: n.deps.iter().map(|d| self.nodes[*d].name.clone()).collect(),
                    dynamic_depends_on: n
                        .dynamic_deps
                        .iter()
                        .map(|d| self.nodes[*d].name.clone())
                        .collect(),
                    input_hash: hash(&n.name),
                    built_for: None,
                }
            })
            .collect();
        let cycles: Vec<&Cycle> = self
            .cycles
            .iter()
            .filter(|c| c.members.iter().any(|m| names_in.contains(m.as_str())))
            .collect();
        let keep = |c: &str| names_in.contains(c);
        Ok(Plan {
            arch: self.arch.rpm().to_owned(),
            components,
            cycles: cycles.iter().map(|c| c.members.clone()).collect(),
            cycle_edges: cycles.iter().map(|c| c.closing_edge.clone()).collect(),
            unresolved: self
                .unresolved
                .iter()
                .filter(|u| keep(&u.component))
                .cloned()
                .collect(),
            order: self.order(&set),
            providers: self
                .choices
                .iter()
                .filter(|c| keep(&c.component))
                .cloned()
                .collect(),
            prebuilt: self
                .prebuilt
                .iter()
                .filter(|p| keep(&p.component))
                .cloned()
                .collect(),
            errors: Vec::new(),
            notes: Vec::new(),
        })
    }
}

/// Mark noarch components built by an earlier arch's plan: they are built
/// once, by the first plan (in the order given) that builds them.
pub fn share_noarch(plans: &mut [Plan]) {
    let mut built: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for p in plans.iter_mut() {
        for c in &mut p.components {
            if c.build_arch != "noarch" || c.excluded {
                continue;
            }
            match built.get(&c.name) {
                Some(arch) => c.built_for = Some(arch.clone()),
                None => {
                    built.insert(c.name.clone(), p.arch.clone());
                }
            }
        }
    }
}

/// Graphviz: one node per component (excluded ones dashed, cycle members
/// red), one edge per dependency.
#[must_use]
pub fn to_dot(plans: &[Plan]) -> String {
    let mut s = String::from("digraph build {\n  rankdir=LR;\n  node [shape=box];\n");
    for p in plans {
        let prefix = if plans.len() > 1 {
            format!("{}/", p.arch)
        } else {
            String::new()
        };
        let in_cycle: BTreeSet<&str> = p.cycles.iter().flatten().map(String::as_str).collect();
        if plans.len() > 1 {
            let _ = writeln!(
                s,
                "  subgraph \"cluster_{}\" {{\n    label=\"{}\";",
                p.arch, p.arch
            );
        }
        for c in &p.components {
            let mut attrs = vec![format!("label=\"{}\"", esc(&c.name))];
            if c.excluded {
                attrs.push("style=dashed".into());
            }
            if in_cycle.contains(c.name.as_str()) {
                attrs.push("color=red".into());
            }
            let _ = writeln!(
                s,
                "  \"{}{}\" [{}];",
                esc(&prefix),
                esc(&c.name),
                attrs.join(", ")
            );
        }
        for c in &p.components {
            for d in &c.depends_on {
                let _ = writeln!(
                    s,
                    "  \"{0}{1}\" -> \"{0}{2}\";",
                    esc(&prefix),
                    esc(&c.name),
                    esc(d)
                );
            }
        }
        if plans.len() > 1 {
            s.push_str("  }\n");
        }
    }
    s.push_str("}\n");
    s
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A human-readable plan.
#[must_use]
pub fn to_text(p: &Plan) -> String {
    let mut s = String::new();
    let built = p
        .components
        .iter()
        .filter(|c| !c.excluded && c.built_for.is_none())
        .count();
    let _ = writeln!(
        s,
        "plan for {}: {} components to build in {} waves",
        p.arch,
        built,
        p.order.len()
    );
    for (i, w) in p.order.iter().enumerate() {
        let shown: Vec<String> = w
            .iter()
            .map(|n| match p.component(n) {
                Some(c) if c.built_for.is_some() => {
                    format!("{n} (noarch, built for {})", c.built_for.as_deref().unwrap_or(""))
                }
                Some(c) if c.build_arch == "noarch" => format!("{n} (noarch)"),
                _ => n.clone(),
            })
            .collect();
        let _ = writeln!(s, "  {:>3}. {}", i + 1, shown.join(", "));
    }
    for c in p.components.iter().filter(|c| c.excluded) {
        let _ = writeln!(
            s,
            "  excluded: {} ({})",
            c.name,
            c.excluded_why.as_deref().unwrap_or("")
        );
    }
    for c in p
        .components
        .iter()
        .filter(|c| !c.resolved_dynamic_buildrequires.is_empty())
    {
        let _ = writeln!(
            s,
            "  dynamic BuildRequires of {} (its last build): {}",
            c.name,
            c.resolved_dynamic_buildrequires.join(", ")
        );
    }
    for (c, e) in p.cycles.iter().zip(&p.cycle_edges) {
        let _ = writeln!(
            s,
            "  cycle: {} (closed by {} -> {} for `{}`)",
            c.join(", "),
            e.from,
            e.to,
            e.requirement
        );
    }
    for u in &p.unresolved {
        let line = u.line.map(|l| format!(" (line {l})")).unwrap_or_default();
        let _ = writeln!(s, "  unresolved: {} needs `{}`{line}", u.component, u.requirement);
    }
    for c in &p.providers {
        let _ = writeln!(
            s,
            "  several providers: {} needs `{}`: {} — chose {}",
            c.component,
            c.requirement,
            c.providers.join(", "),
            c.chosen
        );
    }
    for b in &p.prebuilt {
        let _ = writeln!(
            s,
            "  prebuilt: {} takes `{}` from the buildroot",
            b.component, b.requirement
        );
    }
    for e in &p.errors {
        let _ = writeln!(s, "  error: {}: {}", e.component, e.message);
    }
    for n in &p.notes {
        let _ = writeln!(s, "  note: {n}");
    }
    s
}
