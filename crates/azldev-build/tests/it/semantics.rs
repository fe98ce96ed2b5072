//! Graph semantics on purpose-built `SpecFacts`.

use std::collections::{BTreeMap, BTreeSet};

use azldev_build::graph::{Buildroot, Graph, GraphOptions, Resolution};
use azldev_build::{Arch, SpecFacts};
use azldev_spec::facts::{Dep, PackageFacts};

/// A component: name, EVR, BuildRequires, packages `(name, extra provides,
/// requires)`; each package provides `name = evr` like rpmspec prints.
fn comp(name: &str, evr: &str, br: &[&str], pkgs: &[(&str, &[&str], &[&str])]) -> (String, SpecFacts) {
    let facts = SpecFacts {
        name: name.into(),
        evr: evr.into(),
        buildrequires: br
            .iter()
            .enumerate()
            .map(|(i, t)| Dep {
                text: (*t).into(),
                line: Some(10 + u32::try_from(i).expect("small")),
            })
            .collect(),
        packages: pkgs
            .iter()
            .map(|(p, prov, req)| PackageFacts {
                name: (*p).into(),
                buildarch: None,
                provides: std::iter::once(format!("{p} = {evr}"))
                    .chain(prov.iter().map(|s| (*s).to_owned()))
                    .collect(),
                requires: req.iter().map(|s| (*s).to_owned()).collect(),
            })
            .collect(),
        ..SpecFacts::default()
    };
    (name.into(), facts)
}

fn lib(name: &str, evr: &str) -> (String, SpecFacts) {
    let devel = format!("{name}-devel");
    let req = format!("{name} = {evr}");
    let mut c = comp(name, evr, &["gcc"], &[(name, &[], &[]), (&devel, &[], &[])]);
    c.1.packages[1].requires.push(req);
    c
}

fn known(names: &[&str]) -> GraphOptions {
    GraphOptions {
        // Every fixture library BuildRequires gcc.
        buildroot: Buildroot::Known(names.iter().chain(&["gcc"]).map(|s| (*s).to_owned()).collect()),
        bootstrap: BTreeMap::new(),
        dynamic: BTreeMap::new(),
    }
}

fn deps(g: &Graph, name: &str) -> Vec<String> {
    let i = g.node(name).expect("component");
    g.nodes[i].deps.iter().map(|d| g.nodes[*d].name.clone()).collect()
}

fn plan_all(g: &Graph) -> azldev_build::Plan {
    g.plan(&[], &|_| None).expect("plan")
}

#[test]
fn devel_edge_and_order() {
    let g = Graph::build(
        Arch::X86_64,
        vec![
            lib("libgreet", "1.0-1"),
            comp(
                "greeter",
                "2.0-1",
                &["gcc", "libgreet-devel >= 1.0"],
                &[("greeter", &[], &[])],
            ),
        ],
        &known(&["gcc"]),
    );
    assert_eq!(deps(&g, "greeter"), ["libgreet"]);
    let p = plan_all(&g);
    assert_eq!(
        p.order,
        vec![vec!["libgreet".to_owned()], vec!["greeter".to_owned()]]
    );
    assert!(p.unresolved.is_empty() && p.cycles.is_empty());
    let greeter = p.component("greeter").expect("greeter");
    assert_eq!(greeter.depends_on, ["libgreet"]);
    // Naming greeter plans its closure; naming libgreet plans it alone.
    let only = g.plan(&["libgreet".into()], &|_| None).expect("plan");
    assert_eq!(only.components.len(), 1);
    let closure = g.plan(&["greeter".into()], &|_| None).expect("plan");
    assert_eq!(closure.components.len(), 2);
    assert!(g.plan(&["nope".into()], &|_| None).is_err());
}

#[test]
fn versioned_requirements() {
    let build = |req: &str| {
        Graph::build(
            Arch::X86_64,
            vec![
                lib("libfoo", "2:1.4~rc2-3"),
                comp("app", "1-1", &[req], &[("app", &[], &[])]),
            ],
            &known(&[]),
        )
    };
    for (req, satisfied) in [
        ("libfoo-devel", true),
        ("libfoo-devel >= 2:1.3", true),
        ("libfoo-devel >= 1.3", true),    // a missing epoch is 0, and 0 < 2
        ("libfoo-devel < 9.0", false),    // the same: 2:1.4 is newer than 0:9.0
        ("libfoo-devel >= 2:1.4", false), // ~rc2 sorts before 1.4
        ("libfoo-devel >= 2:1.4~rc1", true),
        ("libfoo-devel = 2:1.4~rc2", true), // release-less matches any release
        ("libfoo-devel = 2:1.4~rc2-4", false),
        ("libfoo-devel < 2:1.4~rc2-10", true),
        ("libfoo-devel > 2:1.4~rc2", false),
    ] {
        let g = build(req);
        let app = &g.nodes[g.node("app").expect("app")];
        assert_eq!(
            app.requirements[0].resolution == Resolution::InDistro,
            satisfied,
            "{req}: {:?}",
            app.requirements[0]
        );
        assert_eq!(g.unresolved.len(), usize::from(!satisfied), "{req}");
        if !satisfied {
            assert_eq!(g.unresolved[0].requirement, req);
            assert_eq!(g.unresolved[0].line, Some(10));
        }
    }
}

#[test]
fn rich_dependencies() {
    let comps = || {
        vec![
            lib("liba", "1.0-1"),
            lib("libb", "2.0-1"),
            comp(
                "py",
                "3.12-1",
                &[],
                &[("python3", &["python3dist(x) = 3.12"], &[])],
            ),
        ]
    };
    let resolve = |req: &str, extra: &[&str], br: &[&str]| {
        let mut c = comps();
        let mut all: Vec<&str> = vec![req];
        all.extend(extra);
        c.push(comp("app", "1-1", &all, &[("app", &[], &[])]));
        let g = Graph::build(Arch::X86_64, c, &known(br));
        let d = deps(&g, "app");
        (d, g.unresolved.len())
    };
    assert_eq!(
        resolve("(liba-devel and libb-devel)", &[], &[]).0,
        ["liba", "libb"]
    );
    // `or`: the first operand that can be satisfied.
    assert_eq!(resolve("(missing-devel or libb-devel)", &[], &[]).0, ["libb"]);
    assert_eq!(
        resolve("(liba-devel >= 5 or libb-devel >= 2)", &[], &[]).0,
        ["libb"]
    );
    assert_eq!(resolve("(missing or other)", &[], &[]), (vec![], 1));
    assert_eq!(resolve("(missing or other)", &[], &["other"]), (vec![], 0));
    // `if`: only when the condition is among the plain requirements.
    assert_eq!(
        resolve("(liba-devel if python3)", &[], &[]).0,
        Vec::<String>::new()
    );
    assert_eq!(
        resolve("(liba-devel if python3)", &["python3"], &[]).0,
        ["liba", "py"]
    );
    assert_eq!(
        resolve("(liba-devel if python3 else libb-devel)", &[], &[]).0,
        ["libb"]
    );
    // `unless` is the reverse.
    assert_eq!(resolve("(liba-devel unless python3)", &[], &[]).0, ["liba"]);
    assert_eq!(
        resolve("(liba-devel unless python3 else libb-devel)", &["python3"], &[]).0,
        ["libb", "py"]
    );
    // `with`: one package satisfying both.
    assert_eq!(resolve("(python3 with python3dist(x) >= 3)", &[], &[]).0, ["py"]);
    assert_eq!(resolve("(python3 with python3dist(x) >= 4)", &[], &[]).1, 1);
    // `without`.
    assert_eq!(resolve("(python3 without python3dist(x))", &[], &[]).1, 1);
    assert_eq!(resolve("(liba without libb)", &[], &[]).0, ["liba"]);
    // Nested.
    assert_eq!(
        resolve("((liba-devel >= 9 or libb-devel) and python3)", &[], &[]).0,
        ["libb", "py"]
    );
    // A malformed rich dependency is reported, not guessed.
    assert_eq!(resolve("(liba-devel and)", &[], &[]).1, 1);
}

#[test]
fn cycles_reported_with_closing_edge_and_broken_by_bootstrap() {
    let comps = vec![
        comp(
            "a",
            "1-1",
            &["b-devel"],
            &[("a", &[], &[]), ("a-devel", &[], &[])],
        ),
        comp("b", "1-1", &["c"], &[("b", &[], &[]), ("b-devel", &[], &[])]),
        comp("c", "1-1", &["a-devel"], &[("c", &[], &[])]),
        comp("d", "1-1", &["a"], &[("d", &[], &[])]),
        comp(
            "self",
            "1-1",
            &["self-tools"],
            &[("self", &[], &[]), ("self-tools", &[], &[])],
        ),
    ];
    let g = Graph::build(Arch::X86_64, comps.clone(), &known(&[]));
    assert_eq!(g.cycles.len(), 2);
    assert_eq!(g.cycles[0].members, ["a", "b", "c"]);
    let e = &g.cycles[0].closing_edge;
    // a -> b -> c -> a: the edge back to `a` closes it.
    assert_eq!(
        (e.from.as_str(), e.to.as_str(), e.requirement.as_str()),
        ("c", "a", "a-devel")
    );
    assert_eq!(g.cycles[1].members, ["self"]);
    assert_eq!(g.cycles[1].closing_edge.requirement, "self-tools");
    let p = plan_all(&g);
    // The cycle's members share a wave; d comes after it.
    assert_eq!(
        p.order,
        vec![
            vec!["a".to_owned(), "b".into(), "c".into(), "self".into()],
            vec!["d".to_owned()]
        ]
    );
    assert_eq!(p.cycles.len(), 2);
    assert_eq!(p.cycle_edges[0].from, "c");
    // The plan is data: JSON and back gives the same plan.
    let json = serde_json::to_string(&p).expect("serialise");
    let back: azldev_build::Plan = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, p);
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    for key in ["arch", "components", "cycles", "unresolved", "order"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    for key in ["name", "excluded", "buildrequires", "packages", "depends-on"] {
        assert!(v["components"][0].get(key).is_some(), "{key}");
    }

    // Bootstrap: `c` takes `a-devel` prebuilt; the cycle is gone.
    let mut opts = known(&["self-tools"]);
    opts.bootstrap.insert("c".into(), vec!["a-devel".into()]);
    let g = Graph::build(Arch::X86_64, comps, &opts);
    assert!(g.cycles.is_empty(), "{:?}", g.cycles);
    assert_eq!(g.prebuilt.len(), 1);
    assert_eq!(g.prebuilt[0].requirement, "a-devel");
    let p = plan_all(&g);
    let waves: Vec<Vec<&str>> = p
        .order
        .iter()
        .map(|w| w.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(waves, vec![vec!["c", "self"], vec!["b"], vec!["a"], vec!["d"]]);
}

#[test]
fn arch_exclusion_and_noarch() {
    let mut only_x86 = lib("fastlib", "1-1");
    only_x86.1.exclusive_arch = vec!["x86_64".into()];
    let mut not_arm = comp("armless", "1-1", &[], &[("armless", &[], &[])]);
    not_arm.1.exclude_arch = vec!["aarch64".into()];
    let mut data = comp("data", "1-1", &[], &[("data", &[], &[])]);
    data.1.buildarch = Some("noarch".into());
    let user = comp("user", "1-1", &["fastlib-devel", "data"], &[("user", &[], &[])]);
    let comps = vec![only_x86, not_arm, data, user];
    let x = Graph::build(Arch::X86_64, comps.clone(), &known(&[]));
    assert_eq!(deps(&x, "user"), ["data", "fastlib"]);
    assert!(x.unresolved.is_empty());
    let a = Graph::build(Arch::Aarch64, comps, &known(&[]));
    let px = plan_all(&x);
    let pa = plan_all(&a);
    assert!(pa.component("fastlib").expect("fastlib").excluded);
    assert_eq!(
        pa.component("armless").expect("armless").excluded_why.as_deref(),
        Some("ExcludeArch: aarch64")
    );
    // An excluded component provides nothing: user's requirement is unresolved.
    assert_eq!(deps(&a, "user"), ["data"]);
    assert_eq!(a.unresolved.len(), 1);
    assert_eq!(a.unresolved[0].requirement, "fastlib-devel");
    assert!(
        !pa.order
            .iter()
            .flatten()
            .any(|n| n == "fastlib" || n == "armless")
    );
    // noarch is built once over both arches.
    let mut plans = vec![px, pa];
    azldev_build::plan::share_noarch(&mut plans);
    assert_eq!(plans[0].component("data").expect("data").built_for, None);
    assert_eq!(
        plans[1].component("data").expect("data").built_for.as_deref(),
        Some("x86_64")
    );
    assert_eq!(plans[0].component("data").expect("data").build_arch, "noarch");
}

#[test]
fn multiple_providers_choice_is_reported_and_deterministic() {
    let comps = vec![
        comp("zlib-ng", "2-1", &[], &[("zlib-ng-compat", &["libz = 1.3"], &[])]),
        comp(
            "zlib",
            "1.3-1",
            &[],
            &[("zlib", &["libz = 1.3"], &[]), ("libz", &[], &[])],
        ),
        comp("mta-a", "1-1", &[], &[("mta-a", &["mta"], &[])]),
        comp("mta-b", "1-1", &[], &[("mta-b", &["mta"], &[])]),
        comp("app", "1-1", &["libz", "mta"], &[("app", &[], &[])]),
    ];
    let mut rev = comps.clone();
    rev.reverse();
    for c in [comps, rev] {
        let g = Graph::build(Arch::X86_64, c, &known(&[]));
        assert_eq!(deps(&g, "app"), ["mta-a", "zlib"]);
        let choices: Vec<(String, String)> = g
            .choices
            .iter()
            .map(|c| (c.requirement.clone(), c.chosen.clone()))
            .collect();
        // The package named like the requirement wins; otherwise the
        // smallest component name.
        assert_eq!(
            choices,
            [
                ("libz".to_owned(), "zlib/libz".to_owned()),
                ("mta".into(), "mta-a/mta-a".into())
            ]
        );
        assert_eq!(
            g.choices[0].providers,
            ["zlib-ng/zlib-ng-compat", "zlib/libz", "zlib/zlib"]
        );
    }
}

#[test]
fn removed_devel_leaves_requirement_unresolved() {
    let mut without = lib("libgreet", "1.0-1");
    without.1.packages.pop();
    let app = comp(
        "greeter",
        "1-1",
        &["gcc", "libgreet-devel >= 1.0"],
        &[("greeter", &[], &[])],
    );
    let g = Graph::build(Arch::X86_64, vec![without, app], &known(&["gcc"]));
    let p = plan_all(&g);
    assert_eq!(p.unresolved.len(), 1);
    assert_eq!(p.unresolved[0].component, "greeter");
    assert_eq!(p.unresolved[0].requirement, "libgreet-devel >= 1.0");
    assert_eq!(p.unresolved[0].line, Some(11));
    assert!(p.has_problems());
    // With the buildroot's provides unknown, it is external instead.
    let g = Graph::build(
        Arch::X86_64,
        vec![
            lib("l", "1-1"),
            comp("x", "1-1", &["nothing-provides-this"], &[("x", &[], &[])]),
        ],
        &GraphOptions::default(),
    );
    assert!(g.unresolved.is_empty());
}

#[test]
fn runtime_requires_join_the_build_closure_and_queries() {
    // tool BuildRequires libx-devel, which Requires libx and (through it)
    // libbase: tool depends on libx and libbase.
    let mut libx = lib("libx", "1-1");
    libx.1.packages[0].requires.push("libbase >= 1".into());
    let comps = vec![
        libx,
        comp("libbase", "1-1", &[], &[("libbase", &[], &["/bin/sh"])]),
        comp("tool", "1-1", &["libx-devel"], &[("tool", &[], &[])]),
        comp("other", "1-1", &["tool"], &[("other", &[], &[])]),
    ];
    let g = Graph::build(Arch::X86_64, comps, &known(&[]));
    assert_eq!(deps(&g, "tool"), ["libbase", "libx"]);
    let why = &g.reasons[&(g.node("tool").expect("tool"), g.node("libbase").expect("libbase"))];
    assert_eq!(why, "libx-devel (through the Requires of libx-devel)");
    // rdeps: what is rebuilt when libbase changes.
    let r: Vec<(String, usize)> = g
        .rdeps(g.node("libbase").expect("libbase"))
        .into_iter()
        .map(|(i, d)| (g.nodes[i].name.clone(), d))
        .collect();
    // libx only needs libbase at run time: it is not rebuilt.
    assert_eq!(r, [("tool".to_owned(), 1), ("other".into(), 2)]);
    let wp = g.what_provides(&azldev_build::dep::Simple::parse("libx-devel >= 1").expect("dep"));
    assert_eq!(wp.len(), 1);
    assert_eq!(g.pkg_name(wp[0].0), ("libx", "libx-devel"));
    let set: BTreeSet<usize> = (0..g.nodes.len()).collect();
    assert_eq!(g.order(&set).len(), 3);
}

/// A producer that evaluates only some specs, in front of one that
/// answers for all: the fallback chain the macro evaluator will use.
#[test]
fn fallback_asks_the_next_producer_for_what_the_first_cannot_evaluate() {
    use azldev_build::{FactsError, FactsSource, Fallback, SpecInput};
    struct Partial;
    impl FactsSource for Partial {
        fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
            if input.name == "shell" {
                return Err(FactsError::Unsupported {
                    component: input.name.clone(),
                    arch,
                    reason: "%(shell)".into(),
                });
            }
            if input.name == "broken" {
                return Err(FactsError::NoSpec {
                    component: input.name.clone(),
                });
            }
            Ok(comp(&input.name, "1-1", &[], &[(&input.name, &[], &[])]).1)
        }
    }
    struct Everything;
    impl FactsSource for Everything {
        fn facts(&self, input: &SpecInput, _: Arch) -> Result<SpecFacts, FactsError> {
            Ok(comp(&input.name, "9-9", &[], &[(&input.name, &[], &[])]).1)
        }
    }
    let chain = Fallback {
        primary: Partial,
        fallback: Everything,
    };
    let inputs: Vec<SpecInput> = ["plain", "shell", "broken"]
        .iter()
        .map(|n| SpecInput::new(*n, BTreeMap::new()))
        .collect();
    let (ok, failed) = azldev_build::facts(&chain, &inputs, Arch::X86_64);
    let evrs: Vec<(&str, &str)> = ok.iter().map(|(n, f)| (n.as_str(), f.evr.as_str())).collect();
    assert_eq!(evrs, [("plain", "1-1"), ("shell", "9-9")]);
    // Other errors are answers, not reasons to ask again.
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].component(), "broken");
}

#[test]
fn recorded_dynamic_buildrequires_add_edges_marked_dynamic() {
    // `app` has %generate_buildrequires; its last build asked for
    // libgreet-devel (new edge) and libfoo-devel (already a static edge).
    let mut app = comp("app", "1-1", &["gcc", "libfoo-devel"], &[("app", &[], &[])]);
    app.1.dynamic_buildrequires = true;
    // `other` records something but has no generator any more: ignored.
    let other = comp("other", "1-1", &["gcc"], &[("other", &[], &[])]);
    let mut opts = known(&["gcc"]);
    opts.dynamic.insert(
        "app".into(),
        vec![
            "libgreet-devel >= 1.0".into(),
            "libfoo-devel".into(),
            "gcc".into(),
        ],
    );
    opts.dynamic.insert("other".into(), vec!["libgreet-devel".into()]);
    let g = Graph::build(
        Arch::X86_64,
        vec![lib("libgreet", "1.0-1"), lib("libfoo", "1.0-1"), app, other],
        &opts,
    );
    assert_eq!(deps(&g, "app"), ["libfoo", "libgreet"]);
    assert!(deps(&g, "other").is_empty());
    let i = g.node("app").expect("app");
    let n = &g.nodes[i];
    // What the static BuildRequires already ask is not repeated.
    assert_eq!(n.dynamic, ["libgreet-devel >= 1.0"]);
    let marked: Vec<(&str, bool)> = n
        .requirements
        .iter()
        .map(|r| (r.text.as_str(), r.dynamic))
        .collect();
    assert_eq!(
        marked,
        [
            ("gcc", false),
            ("libfoo-devel", false),
            ("libgreet-devel >= 1.0", true)
        ]
    );
    assert_eq!(n.requirements[2].resolution, Resolution::InDistro);
    let p = plan_all(&g);
    let c = p.component("app").expect("app");
    assert_eq!(c.buildrequires, ["gcc", "libfoo-devel"], "static only");
    assert_eq!(c.resolved_dynamic_buildrequires, ["libgreet-devel >= 1.0"]);
    assert_eq!(c.depends_on, ["libfoo", "libgreet"]);
    assert_eq!(c.dynamic_depends_on, ["libgreet"], "libfoo is a static edge");
    let waves: Vec<usize> = ["libgreet", "app"]
        .iter()
        .map(|n| {
            p.order
                .iter()
                .position(|w| w.iter().any(|x| x == n))
                .expect("ordered")
        })
        .collect();
    assert!(waves[0] < waves[1], "{:?}", p.order);
    let json = serde_json::to_value(c).expect("serialises");
    assert_eq!(json["dynamic-depends-on"], serde_json::json!(["libgreet"]));
    assert_eq!(
        json["resolved-dynamic-buildrequires"],
        serde_json::json!(["libgreet-devel >= 1.0"])
    );
    assert!(
        azldev_build::plan::to_text(&p)
            .contains("dynamic BuildRequires of app (its last build): libgreet-devel >= 1.0")
    );
}
