//! The build graph of one architecture.
//!
//! Nodes are components (with their [`SpecFacts`] for the arch). A
//! component depends on another when one of its BuildRequires is satisfied
//! by a package the other builds — directly, or through the runtime
//! Requires of such a package (the buildroot installs the closure: `greeter`
//! BuildRequires `libgreet-devel`, which Requires `libgreet`).
//!
//! Resolution rules, in order:
//! - A component excluded on the arch (ExclusiveArch without it, ExcludeArch
//!   with it) is reported, not built, and provides nothing.
//! - A BuildRequires whose name the component's `bootstrap-prebuilt` list
//!   names is taken prebuilt from the buildroot's repositories: no edge
//!   (recorded in [`Graph::prebuilt`]). This is how a cycle is broken.
//! - A plain requirement `name [OP evr]` is satisfied by every in-distro
//!   package with a provide of that name whose range overlaps (rpm's
//!   `rpmdsCompare`, `rpmvercmp` with `~`/`^`, missing epoch 0, a side
//!   without release matching any release). Several providers: the choice
//!   is, in order, a provider from another component before the component
//!   itself, a package whose name is the requirement's name, then the
//!   smallest (component, package) name; every such case is reported
//!   with the choice ([`Graph::choices`]).
//! - Not provided in-distro: a file dependency (`/usr/bin/foo`; rpmspec
//!   does not list files) or a name the buildroot provides is external (no
//!   edge). When the buildroot's provides are unknown, everything else is
//!   external too; when they are known, the rest is unresolved (component,
//!   requirement, spec line).
//! - Rich dependencies: `and` needs every operand; `or` takes the first
//!   operand that can be satisfied, in written order; `with` needs one
//!   package satisfying all its plain operands; `without` the first
//!   operand's providers that do not satisfy the second; `a if b` needs `a`
//!   when `b` is "installed" — when a plain requirement of the same
//!   component (or package) overlaps `b` — else its `else` branch;
//!   `a unless b` the reverse.
//! - A component whose requirement only it provides depends on itself: a
//!   cycle of one, unless it is declared `bootstrap-prebuilt` or the
//!   buildroot is known to provide it.
//!
//! Cycles are the strongly connected components (Tarjan, iterative); each
//! is reported with its members and the edge that closes a cycle through
//! its smallest member. The build order puts each cycle's members in one
//! wave.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use azldev_buildroot::arch::Arch;
use azldev_spec::facts::SpecFacts;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dep::{Req, Simple};

/// What the buildroot's repositories provide (capability names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Buildroot {
    /// Not known: every requirement not provided in-distro is external.
    #[default]
    Unknown,
    /// These names (and file paths) are provided; the rest is unresolved.
    Known(BTreeSet<String>),
}

impl Buildroot {
    fn provides(&self, name: &str) -> bool {
        match self {
            Buildroot::Unknown => true,
            Buildroot::Known(s) => s.contains(name),
        }
    }
}

/// How to build the graph.
#[derive(Debug, Clone, Default)]
pub struct GraphOptions {
    pub buildroot: Buildroot,
    /// Per component: requirement names taken prebuilt from the buildroot
    /// (`build.bootstrap-prebuilt`).
    pub bootstrap: BTreeMap<String, Vec<String>>,
    /// Per component: the dynamic BuildRequires (`%generate_buildrequires`)
    /// its last build resolved (the build store's record). Used only for
    /// components whose spec has `%generate_buildrequires`; they are
    /// resolved after the static ones, marked dynamic.
    pub dynamic: BTreeMap<String, Vec<String>>,
}

/// A package of a component: `(node, package index)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PkgRef {
    pub node: usize,
    pub pkg: usize,
}

/// One component in the graph.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub facts: SpecFacts,
    /// Why it is not built on this arch.
    pub excluded: Option<String>,
    /// Components it must be built after (never itself; see `self_dep`).
    pub deps: BTreeSet<usize>,
    /// It needs one of its own packages to build.
    pub self_dep: bool,
    /// Each BuildRequires, resolved (in spec order), then the recorded
    /// dynamic ones (`dynamic: true`).
    pub requirements: Vec<Resolved>,
    /// The dynamic BuildRequires a build recorded (also the tail of
    /// `facts.buildrequires`).
    pub dynamic: Vec<String>,
    /// Members of `deps` reached only through dynamic BuildRequires.
    pub dynamic_deps: BTreeSet<usize>,
}

/// How one requirement was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// In-distro packages (the chosen providers).
    InDistro,
    /// Provided by the buildroot's repositories (or a file dependency).
    External,
    /// Declared `bootstrap-prebuilt`.
    Prebuilt,
    /// Nothing provides it.
    Unresolved,
    /// Not a valid dependency.
    Invalid,
}

/// A requirement and what satisfies it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub text: String,
    pub line: Option<u32>,
    pub resolution: Resolution,
    /// Chosen in-distro packages.
    pub packages: Vec<PkgRef>,
    /// From `%generate_buildrequires`, as a build resolved it.
    pub dynamic: bool,
}

/// A BuildRequires nothing provides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unresolved {
    pub component: String,
    pub requirement: String,
    pub line: Option<u32>,
}

/// A requirement several in-distro packages satisfy, and the choice made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub component: String,
    pub requirement: String,
    /// `component/package`, sorted.
    pub providers: Vec<String>,
    pub chosen: String,
}

/// A requirement taken prebuilt (bootstrap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prebuilt {
    pub component: String,
    pub requirement: String,
}

/// A dependency cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cycle {
    /// Every member, sorted.
    pub members: Vec<String>,
    /// The edge that closes a cycle through the smallest member.
    pub closing_edge: EdgeInfo,
}

/// An edge of the graph: `from` needs `to` because of `requirement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeInfo {
    pub from: String,
    pub to: String,
    pub requirement: String,
}

/// The graph of one architecture.
#[derive(Debug, Clone)]
pub struct Graph {
    pub arch: Arch,
    /// Sorted by name.
    pub nodes: Vec<Node>,
    index: HashMap<String, usize>,
    /// Capability name → providers.
    providers: HashMap<String, Vec<(PkgRef, Simple)>>,
    /// Package name → its ref.
    packages: HashMap<String, PkgRef>,
    /// Why `from` depends on `to` (first requirement that made the edge).
    pub reasons: BTreeMap<(usize, usize), String>,
    pub unresolved: Vec<Unresolved>,
    pub choices: Vec<Choice>,
    pub prebuilt: Vec<Prebuilt>,
    pub cycles: Vec<Cycle>,
    buildroot: Buildroot,
}

/// Why a component is not built on `arch`.
#[must_use]
pub fn exclusion(facts: &SpecFacts, arch: Arch) -> Option<String> {
    let a = arch.rpm();
    let noarch = facts.buildarch.as_deref() == Some("noarch");
    if !facts.exclusive_arch.is_empty()
        && !facts
            .exclusive_arch
            .iter()
            .any(|x| x == a || (noarch && x == "noarch"))
    {
        return Some(format!("ExclusiveArch: {}", facts.exclusive_arch.join(" ")));
    }
    if facts.exclude_arch.iter().any(|x| x == a) {
        return Some(format!("ExcludeArch: {a}"));
    }
    None
}

/// For every package, the set of components its install closure (the
/// package and, transitively, its in-distro runtime Requires) reaches: one
/// bitset per strongly connected component of the package graph, filled
/// dependencies first.
struct Closures {
    words: usize,
    scc_of: Vec<usize>,
    bits: Vec<u64>,
}

impl Closures {
    fn new(runtime: &[Vec<PkgRef>], offsets: &[usize], components: usize) -> Closures {
        let words = components.div_ceil(64).max(1);
        let flat = |p: &PkgRef| offsets[p.node] + p.pkg;
        let sccs = tarjan(runtime.len(), |i| runtime[i].iter().map(flat).collect());
        let mut scc_of = vec![0usize; runtime.len()];
        for (si, scc) in sccs.iter().enumerate() {
            for &i in scc {
                scc_of[i] = si;
            }
        }
        // Which component a flat package id belongs to.
        let node_of = |i: usize| offsets.partition_point(|&o| o <= i) - 1;
        let mut bits = vec![0u64; sccs.len() * words];
        for (si, scc) in sccs.iter().enumerate() {
            let mut acc = vec![0u64; words];
            for &i in scc {
                let c = node_of(i);
                acc[c / 64] |= 1u64 << (c % 64);
                for q in &runtime[i] {
                    let t = scc_of[flat(q)];
                    if t != si {
                        // Tarjan emits dependencies first: `t` is done.
                        for (a, b) in acc.iter_mut().zip(&bits[t * words..(t + 1) * words]) {
                            *a |= b;
                        }
                    }
                }
            }
            bits[si * words..(si + 1) * words].copy_from_slice(&acc);
        }
        Closures { words, scc_of, bits }
    }

    fn of(&self, flat: usize) -> &[u64] {
        let s = self.scc_of[flat];
        &self.bits[s * self.words..(s + 1) * self.words]
    }
}

/// What resolving one component gives.
#[derive(Default)]
struct NodeResult {
    deps: BTreeSet<usize>,
    dynamic_deps: BTreeSet<usize>,
    self_dep: bool,
    resolved: Vec<Resolved>,
    /// `(to, why)` of each edge (the self edge included).
    reasons: Vec<(usize, String)>,
    unresolved: Vec<Unresolved>,
    choices: Vec<Choice>,
    prebuilt: Vec<Prebuilt>,
}

#[derive(Default)]
struct Outcome {
    ok: bool,
    pkgs: Vec<PkgRef>,
}

impl Outcome {
    fn ok(pkgs: Vec<PkgRef>) -> Self {
        Outcome { ok: true, pkgs }
    }
}

/// Context for `if`/`unless`: the plain requirements written beside.
struct Ctx<'a> {
    node: usize,
    plain: &'a [Simple],
    /// Record multiple-provider choices (BuildRequires only).
    choices: Option<&'a mut Vec<(String, Vec<PkgRef>, PkgRef)>>,
}

impl Graph {
    /// Build the graph of `arch` from every component's facts.
    #[must_use]
    pub fn build(arch: Arch, components: Vec<(String, SpecFacts)>, opts: &GraphOptions) -> Graph {
        let mut components = components;
        components.sort_by(|a, b| a.0.cmp(&b.0));
        components.dedup_by(|a, b| a.0 == b.0);
        let nodes: Vec<Node> = components
            .into_iter()
            .map(|(name, mut facts)| {
                let dynamic: Vec<String> = match opts.dynamic.get(&name) {
                    Some(d) if facts.dynamic_buildrequires => d
                        .iter()
                        .filter(|t| !facts.buildrequires.iter().any(|b| &b.text == *t))
                        .cloned()
                        .collect(),
                    _ => Vec::new(),
                };
                facts
                    .buildrequires
                    .extend(dynamic.iter().map(|t| azldev_spec::facts::Dep {
                        text: t.clone(),
                        line: None,
                    }));
                Node {
                    excluded: exclusion(&facts, arch),
                    name,
                    facts,
                    deps: BTreeSet::new(),
                    self_dep: false,
                    requirements: Vec::new(),
                    dynamic,
                    dynamic_deps: BTreeSet::new(),
                }
            })
            .collect();
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut providers: HashMap<String, Vec<(PkgRef, Simple)>> = HashMap::new();
        let mut packages = HashMap::new();
        for (ni, n) in nodes.iter().enumerate() {
            if n.excluded.is_some() {
                continue;
            }
            for (pi, p) in n.facts.packages.iter().enumerate() {
                let r = PkgRef { node: ni, pkg: pi };
                packages.entry(p.name.clone()).or_insert(r);
                for prov in &p.provides {
                    if let Some(s) = Simple::parse(prov) {
                        providers.entry(s.name.clone()).or_default().push((r, s));
                    }
                }
            }
        }
        let mut g = Graph {
            arch,
            nodes,
            index,
            providers,
            packages,
            reasons: BTreeMap::new(),
            unresolved: Vec::new(),
            choices: Vec::new(),
            prebuilt: Vec::new(),
            cycles: Vec::new(),
            buildroot: opts.buildroot.clone(),
        };
        g.resolve_all(opts);
        g.find_cycles();
        g
    }

    fn resolve_all(&mut self, opts: &GraphOptions) {
        // Every package's in-distro runtime dependencies, once.
        let offsets: Vec<usize> = self
            .nodes
            .iter()
            .scan(0usize, |acc, n| {
                let o = *acc;
                *acc += n.facts.packages.len();
                Some(o)
            })
            .collect();
        let all: Vec<PkgRef> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.excluded.is_none())
            .flat_map(|(node, n)| (0..n.facts.packages.len()).map(move |pkg| PkgRef { node, pkg }))
            .collect();
        let total = self.nodes.iter().map(|n| n.facts.packages.len()).sum();
        let mut runtime: Vec<Vec<PkgRef>> = vec![Vec::new(); total];
        let computed: Vec<(PkgRef, Vec<PkgRef>)> =
            all.par_iter().map(|p| (*p, self.runtime_deps(*p))).collect();
        for (p, v) in computed {
            runtime[offsets[p.node] + p.pkg] = v;
        }
        let closure = Closures::new(&runtime, &offsets, self.nodes.len());
        let results: Vec<Option<NodeResult>> = (0..self.nodes.len())
            .into_par_iter()
            .map(|ni| {
                (self.nodes[ni].excluded.is_none()).then(|| self.resolve_node(ni, opts, &closure, &offsets))
            })
            .collect();
        for (ni, r) in results.into_iter().enumerate() {
            let Some(r) = r else { continue };
            self.unresolved.extend(r.unresolved);
            self.choices.extend(r.choices);
            self.prebuilt.extend(r.prebuilt);
            for (to, why) in r.reasons {
                self.reasons.insert((ni, to), why);
            }
            let n = &mut self.nodes[ni];
            n.deps = r.deps;
            n.dynamic_deps = r.dynamic_deps;
            n.self_dep = r.self_dep;
            n.requirements = r.resolved;
        }
    }

    fn resolve_node(
        &self,
        ni: usize,
        opts: &GraphOptions,
        closure: &Closures,
        offsets: &[usize],
    ) -> NodeResult {
        let mut out = NodeResult::default();
        let name = &self.nodes[ni].name;
        let boot: BTreeSet<&str> = opts
            .bootstrap
            .get(name)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let plain: Vec<Simple> = self.nodes[ni]
            .facts
            .buildrequires
            .iter()
            .filter(|d| !d.text.starts_with('('))
            .filter_map(|d| Simple::parse(&d.text))
            .collect();
        // (package, index of the requirement that brought it in)
        let mut direct: Vec<(PkgRef, usize)> = Vec::new();
        let node = &self.nodes[ni];
        let first_dynamic = node.facts.buildrequires.len() - node.dynamic.len();
        for (di, d) in node.facts.buildrequires.iter().enumerate() {
            let dynamic = di >= first_dynamic;
            let unresolved = || Unresolved {
                component: name.clone(),
                requirement: d.text.clone(),
                line: d.line,
            };
            let resolved = |resolution, packages| Resolved {
                text: d.text.clone(),
                line: d.line,
                resolution,
                packages,
                dynamic,
            };
            let Ok(req) = Req::parse(&d.text) else {
                out.unresolved.push(unresolved());
                out.resolved.push(resolved(Resolution::Invalid, Vec::new()));
                continue;
            };
            if req.atoms().iter().any(|a| boot.contains(a.name.as_str())) {
                out.prebuilt.push(Prebuilt {
                    component: name.clone(),
                    requirement: d.text.clone(),
                });
                out.resolved.push(resolved(Resolution::Prebuilt, Vec::new()));
                continue;
            }
            let mut choices = Vec::new();
            let o = self.resolve(
                &req,
                &mut Ctx {
                    node: ni,
                    plain: &plain,
                    choices: Some(&mut choices),
                },
            );
            for (text, cands, chosen) in choices {
                let show = |r: &PkgRef| {
                    let (c, p) = self.pkg_name(*r);
                    format!("{c}/{p}")
                };
                let mut providers: Vec<String> = cands.iter().map(show).collect();
                providers.sort();
                providers.dedup();
                out.choices.push(Choice {
                    component: name.clone(),
                    requirement: text,
                    providers,
                    chosen: show(&chosen),
                });
            }
            let resolution = if !o.ok {
                out.unresolved.push(unresolved());
                Resolution::Unresolved
            } else if o.pkgs.is_empty() {
                Resolution::External
            } else {
                Resolution::InDistro
            };
            let idx = out.resolved.len();
            direct.extend(o.pkgs.iter().map(|p| (*p, idx)));
            out.resolved.push(resolved(resolution, o.pkgs));
        }
        // The install closure: runtime Requires of chosen packages. Each
        // visited package remembers the requirement and the package that
        // pulled it in; reasons are spelt only for edges.
        // The components each chosen package's install closure reaches;
        // the first requirement (in spec order) reaching one names the edge.
        let mut reached = vec![0u64; closure.words];
        let mut self_dep = false;
        // Static requirements come first: a component first reached by a
        // dynamic one is a dynamic-only dependency.
        for (p, idx) in direct {
            let dynamic = out.resolved[idx].dynamic;
            let bits = closure.of(offsets[p.node] + p.pkg);
            for (w, (have, add)) in reached.iter_mut().zip(bits).enumerate() {
                let mut new = add & !*have;
                *have |= add;
                while new != 0 {
                    let b = new.trailing_zeros() as usize;
                    new &= new - 1;
                    let c = w * 64 + b;
                    if c == ni {
                        self_dep = true;
                        continue;
                    }
                    out.deps.insert(c);
                    if dynamic {
                        out.dynamic_deps.insert(c);
                    }
                    let text = &out.resolved[idx].text;
                    let why = if c == p.node {
                        text.clone()
                    } else {
                        format!("{text} (through the Requires of {})", self.pkg_name(p).1)
                    };
                    out.reasons.push((c, why));
                }
            }
        }
        // A requirement only the component itself provides: when the
        // buildroot is known to provide it, it comes from there.
        if self_dep {
            let own = out.resolved.iter().find(|r| {
                !r.packages.is_empty()
                    && r.packages.iter().all(|p| p.node == ni)
                    && !matches!(&self.buildroot, Buildroot::Known(s)
                        if Req::parse(&r.text).is_ok_and(|q| q.atoms().iter().all(|a| s.contains(&a.name))))
            });
            match own {
                Some(r) => out.reasons.push((ni, r.text.clone())),
                None => self_dep = false,
            }
        }
        out.self_dep = self_dep;
        out
    }

    /// In-distro packages a package's runtime Requires pull in.
    fn runtime_deps(&self, p: PkgRef) -> Vec<PkgRef> {
        let pkg = &self.nodes[p.node].facts.packages[p.pkg];
        let plain: Vec<Simple> = pkg
            .requires
            .iter()
            .filter(|d| !d.starts_with('('))
            .filter_map(|d| Simple::parse(d))
            .collect();
        let mut out = Vec::new();
        for r in &pkg.requires {
            if let Ok(req) = Req::parse(r) {
                let o = self.resolve(
                    &req,
                    &mut Ctx {
                        node: p.node,
                        plain: &plain,
                        choices: None,
                    },
                );
                out.extend(o.pkgs);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Matching, non-excluded providers of a plain requirement.
    fn candidates(&self, s: &Simple) -> Vec<PkgRef> {
        let mut v: Vec<PkgRef> = self
            .providers
            .get(&s.name)
            .map(|ps| {
                ps.iter()
                    .filter(|(_, p)| s.overlaps(p))
                    .map(|(r, _)| *r)
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }

    /// The deterministic choice among providers (see the module docs).
    fn choose(&self, cands: &[PkgRef], want: &str, from: usize) -> Option<PkgRef> {
        cands.iter().copied().min_by_key(|r| {
            let n = &self.nodes[r.node];
            let p = n.facts.packages[r.pkg].name.as_str();
            (r.node == from, p != want, n.name.as_str(), p)
        })
    }

    fn pick(&self, s: &Simple, cands: Vec<PkgRef>, ctx: &mut Ctx<'_>) -> Outcome {
        if cands.is_empty() {
            return Outcome {
                ok: s.is_file() || self.buildroot.provides(&s.name),
                pkgs: Vec::new(),
            };
        }
        let Some(chosen) = self.choose(&cands, &s.name, ctx.node) else {
            return Outcome::default();
        };
        let distinct: BTreeSet<(usize, usize)> = cands.iter().map(|r| (r.node, r.pkg)).collect();
        if distinct.len() > 1
            && let Some(c) = ctx.choices.as_deref_mut()
        {
            c.push((s.to_string(), cands.clone(), chosen));
        }
        Outcome::ok(vec![chosen])
    }

    fn installed(&self, cond: &Req, ctx: &Ctx<'_>) -> bool {
        cond.atoms()
            .iter()
            .all(|a| ctx.plain.iter().any(|p| p.overlaps(a) || p.name == a.name))
    }

    fn resolve(&self, req: &Req, ctx: &mut Ctx<'_>) -> Outcome {
        match req {
            Req::Simple(s) => {
                let c = self.candidates(s);
                self.pick(s, c, ctx)
            }
            Req::And(v) => {
                let mut all = Outcome::ok(Vec::new());
                for r in v {
                    let o = self.resolve(r, ctx);
                    all.ok &= o.ok;
                    all.pkgs.extend(o.pkgs);
                }
                all
            }
            Req::Or(v) => {
                for r in v {
                    let o = self.resolve(r, ctx);
                    if o.ok {
                        return o;
                    }
                }
                Outcome::default()
            }
            Req::With(v) => {
                let simple: Option<Vec<&Simple>> = v
                    .iter()
                    .map(|r| match r {
                        Req::Simple(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                let Some(simple) = simple else {
                    return self.resolve(&Req::And(v.clone()), ctx);
                };
                let mut common: Option<BTreeSet<PkgRef>> = None;
                for s in &simple {
                    let c: BTreeSet<PkgRef> = self.candidates(s).into_iter().collect();
                    common = Some(match common {
                        None => c,
                        Some(prev) => prev.intersection(&c).copied().collect(),
                    });
                }
                let common: Vec<PkgRef> = common.unwrap_or_default().into_iter().collect();
                match simple.first() {
                    Some(first) if !common.is_empty() => self.pick(first, common, ctx),
                    Some(first) if simple.iter().all(|s| self.candidates(s).is_empty()) => {
                        self.pick(first, Vec::new(), ctx)
                    }
                    _ => Outcome::default(),
                }
            }
            Req::Without(a, b) => match (a.as_ref(), b.as_ref()) {
                (Req::Simple(sa), Req::Simple(sb)) => {
                    let excluded: BTreeSet<PkgRef> = self.candidates(sb).into_iter().collect();
                    let all = self.candidates(sa);
                    let rest: Vec<PkgRef> = all.iter().copied().filter(|r| !excluded.contains(r)).collect();
                    if all.is_empty() {
                        self.pick(sa, Vec::new(), ctx)
                    } else if rest.is_empty() {
                        Outcome::default()
                    } else {
                        self.pick(sa, rest, ctx)
                    }
                }
                _ => self.resolve(a, ctx),
            },
            Req::If {
                then,
                cond,
                otherwise,
            } => {
                if self.installed(cond, ctx) {
                    self.resolve(then, ctx)
                } else if let Some(o) = otherwise {
                    self.resolve(o, ctx)
                } else {
                    Outcome::ok(Vec::new())
                }
            }
            Req::Unless {
                then,
                cond,
                otherwise,
            } => {
                if !self.installed(cond, ctx) {
                    self.resolve(then, ctx)
                } else if let Some(o) = otherwise {
                    self.resolve(o, ctx)
                } else {
                    Outcome::ok(Vec::new())
                }
            }
        }
    }

    /// Successors of a node, including itself when it depends on itself.
    fn succ(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let n = &self.nodes[i];
        n.deps.iter().copied().chain(n.self_dep.then_some(i))
    }

    fn find_cycles(&mut self) {
        let sccs = tarjan(self.nodes.len(), |i| self.succ(i).collect());
        let mut cycles = Vec::new();
        for scc in sccs {
            if scc.len() == 1 && !self.nodes[scc[0]].self_dep {
                continue;
            }
            let members: BTreeSet<usize> = scc.iter().copied().collect();
            let start = *members
                .iter()
                .min_by_key(|i| &self.nodes[**i].name)
                .unwrap_or(&scc[0]);
            let (from, to) = self.closing_edge(start, &members);
            cycles.push(Cycle {
                members: {
                    let mut m: Vec<String> = members.iter().map(|i| self.nodes[*i].name.clone()).collect();
                    m.sort();
                    m
                },
                closing_edge: EdgeInfo {
                    from: self.nodes[from].name.clone(),
                    to: self.nodes[to].name.clone(),
                    requirement: self.reasons.get(&(from, to)).cloned().unwrap_or_default(),
                },
            });
        }
        cycles.sort_by(|a, b| a.members.cmp(&b.members));
        self.cycles = cycles;
    }

    /// Depth-first from `start` within the SCC, successors in name order;
    /// the first edge back to a node on the path closes a cycle.
    fn closing_edge(&self, start: usize, members: &BTreeSet<usize>) -> (usize, usize) {
        let mut on_path = vec![start];
        let mut visited: BTreeSet<usize> = BTreeSet::from([start]);
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, self.sorted_succ(start, members))];
        while let Some((node, rest)) = stack.last_mut() {
            let node = *node;
            let Some(next) = rest.pop() else {
                stack.pop();
                on_path.pop();
                continue;
            };
            if on_path.contains(&next) {
                return (node, next);
            }
            if visited.insert(next) {
                on_path.push(next);
                let s = self.sorted_succ(next, members);
                stack.push((next, s));
            }
        }
        (start, start)
    }

    /// Successors inside `members`, reversed name order (popped smallest first).
    fn sorted_succ(&self, i: usize, members: &BTreeSet<usize>) -> Vec<usize> {
        let mut v: Vec<usize> = self.succ(i).filter(|j| members.contains(j)).collect();
        v.sort_by(|a, b| self.nodes[*b].name.cmp(&self.nodes[*a].name));
        v
    }

    /// A component's index.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The package named `name`.
    #[must_use]
    pub fn package(&self, name: &str) -> Option<PkgRef> {
        self.packages.get(name).copied()
    }

    /// `component/package` of a package.
    #[must_use]
    pub fn pkg_name(&self, r: PkgRef) -> (&str, &str) {
        let n = &self.nodes[r.node];
        (&n.name, &n.facts.packages[r.pkg].name)
    }

    /// Every in-distro package whose provides satisfy `cap` (a plain
    /// dependency, `name [OP evr]`), with the matching provide; sorted.
    #[must_use]
    pub fn what_provides(&self, cap: &Simple) -> Vec<(PkgRef, String)> {
        let mut v: Vec<(PkgRef, String)> = self
            .providers
            .get(&cap.name)
            .map(|ps| {
                ps.iter()
                    .filter(|(_, p)| cap.overlaps(p))
                    .map(|(r, p)| (*r, p.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| self.pkg_name(a.0).cmp(&self.pkg_name(b.0)).then(a.1.cmp(&b.1)));
        v
    }

    /// Whether the buildroot is taken to provide `name`.
    #[must_use]
    pub fn buildroot_provides(&self, name: &str) -> bool {
        self.buildroot.provides(name)
    }

    /// How a package's runtime Requires resolve: each requirement with the
    /// in-distro packages chosen for it (empty: external or unresolved —
    /// the second element says whether anything provides it).
    #[must_use]
    pub fn package_requires(&self, p: PkgRef) -> Vec<(String, bool, Vec<PkgRef>)> {
        let pkg = &self.nodes[p.node].facts.packages[p.pkg];
        let plain: Vec<Simple> = pkg
            .requires
            .iter()
            .filter(|d| !d.starts_with('('))
            .filter_map(|d| Simple::parse(d))
            .collect();
        pkg.requires
            .iter()
            .map(|r| match Req::parse(r) {
                Ok(req) => {
                    let o = self.resolve(
                        &req,
                        &mut Ctx {
                            node: p.node,
                            plain: &plain,
                            choices: None,
                        },
                    );
                    (r.clone(), o.ok, o.pkgs)
                }
                Err(_) => (r.clone(), false, Vec::new()),
            })
            .collect()
    }

    /// Components that must be rebuilt when `node` changes: everything
    /// that depends on it, transitively; with the distance (1 = direct),
    /// sorted by distance then name.
    #[must_use]
    pub fn rdeps(&self, node: usize) -> Vec<(usize, usize)> {
        let mut rev: Vec<Vec<usize>> = vec![Vec::new(); self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            for d in &n.deps {
                rev[*d].push(i);
            }
        }
        let mut dist: BTreeMap<usize, usize> = BTreeMap::new();
        let mut q = VecDeque::from([(node, 0usize)]);
        while let Some((i, d)) = q.pop_front() {
            for &j in &rev[i] {
                if j != node && !dist.contains_key(&j) {
                    dist.insert(j, d + 1);
                    q.push_back((j, d + 1));
                }
            }
        }
        let mut v: Vec<(usize, usize)> = dist.into_iter().collect();
        v.sort_by(|a, b| {
            a.1.cmp(&b.1)
                .then_with(|| self.nodes[a.0].name.cmp(&self.nodes[b.0].name))
        });
        v
    }

    /// The build-dependency closure of `roots` (themselves included).
    #[must_use]
    pub fn closure(&self, roots: &[usize]) -> BTreeSet<usize> {
        let mut seen: BTreeSet<usize> = roots.iter().copied().collect();
        let mut q: VecDeque<usize> = roots.iter().copied().collect();
        while let Some(i) = q.pop_front() {
            for &d in &self.nodes[i].deps {
                if seen.insert(d) {
                    q.push_back(d);
                }
            }
        }
        seen
    }

    /// Waves of components buildable in parallel, for the components in
    /// `set` that are not excluded: each after every wave holding one of its
    /// dependencies; a cycle's members share a wave. Names sorted per wave.
    #[must_use]
    pub fn order(&self, set: &BTreeSet<usize>) -> Vec<Vec<String>> {
        let live: Vec<usize> = set
            .iter()
            .copied()
            .filter(|i| self.nodes[*i].excluded.is_none())
            .collect();
        let live_set: BTreeSet<usize> = live.iter().copied().collect();
        let sccs = tarjan(self.nodes.len(), |i| {
            if live_set.contains(&i) {
                self.nodes[i]
                    .deps
                    .iter()
                    .copied()
                    .filter(|d| live_set.contains(d))
                    .collect()
            } else {
                Vec::new()
            }
        });
        // Tarjan emits SCCs dependencies-first.
        let mut comp_of = vec![usize::MAX; self.nodes.len()];
        for (ci, scc) in sccs.iter().enumerate() {
            for &i in scc {
                comp_of[i] = ci;
            }
        }
        let mut level = vec![0usize; sccs.len()];
        let mut waves: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (ci, scc) in sccs.iter().enumerate() {
            if !live_set.contains(&scc[0]) {
                continue;
            }
            let mut l = 0;
            for &i in scc {
                for &d in &self.nodes[i].deps {
                    if live_set.contains(&d) && comp_of[d] != ci {
                        l = l.max(level[comp_of[d]] + 1);
                    }
                }
            }
            level[ci] = l;
            waves
                .entry(l)
                .or_default()
                .extend(scc.iter().map(|i| self.nodes[*i].name.clone()));
        }
        waves
            .into_values()
            .map(|mut w| {
                w.sort();
                w
            })
            .collect()
    }
}

/// Tarjan's strongly connected components, iterative; SCCs come out
/// dependencies first (reverse topological order of the condensation).
fn tarjan(n: usize, succ: impl Fn(usize) -> Vec<usize>) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0usize;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut call: Vec<(usize, Vec<usize>, usize)> = vec![(root, succ(root), 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some((v, s, pos)) = call.last_mut() {
            let v = *v;
            if *pos < s.len() {
                let w = s[*pos];
                *pos += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    let sw = succ(w);
                    call.push((w, sw, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some((parent, _, _)) = call.last() {
                low[*parent] = low[*parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                scc.sort_unstable();
                out.push(scc);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarjan_finds_sccs_in_dependency_order() {
        // 0 -> 1 -> 2 -> 1, 3 -> 0, 4 alone
        let edges: Vec<Vec<usize>> = vec![vec![1], vec![2], vec![1], vec![0], vec![]];
        let sccs = tarjan(5, |i| edges[i].clone());
        assert_eq!(sccs, vec![vec![1, 2], vec![0], vec![3], vec![4]]);
    }
}
