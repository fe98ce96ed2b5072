//! Capacity planning on the real Azure Linux 4.0 plan: every spec of the
//! corpus (`../shared/corpus/azl4/specs`) evaluated for x86_64 by the macro
//! evaluator over the host's rpm macros, taking its facts as far as it gets
//! (Debian's rpm lacks most Fedora macro packages, and rpmspec would be too
//! slow for 7,611 specs in a test: the graph is real in shape, not exact),
//! then the plan of everything and the replay.

use std::collections::BTreeMap;
use std::path::Path;

use azldev_build::eval_source::macro_files;
use azldev_build::graph::{Buildroot, GraphOptions};
use azldev_build::simulate::{Durations, builds_of, simulate};
use azldev_build::{Arch, FactsError, FactsSource, Graph, SpecFacts, SpecInput};
use azldev_spec::eval::{MacroContext, evaluate};

/// The evaluator's facts, complete or not.
struct Partial(MacroContext);

impl FactsSource for Partial {
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        let ev = evaluate(input.spec().unwrap_or_default(), &self.0, arch.rpm());
        if ev.facts.name.is_empty() {
            return Err(FactsError::Unsupported {
                component: input.name.clone(),
                arch,
                reason: "no Name".into(),
            });
        }
        Ok(ev.facts)
    }
}

fn corpus_inputs(root: &Path) -> Vec<SpecInput> {
    let mut inputs = Vec::new();
    let Ok(letters) = std::fs::read_dir(root) else {
        return inputs;
    };
    let mut dirs: Vec<_> = letters
        .filter_map(Result::ok)
        .flat_map(|l| {
            std::fs::read_dir(l.path())
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        let Some(name) = d.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let mut files = BTreeMap::new();
        for f in std::fs::read_dir(&d).into_iter().flatten().filter_map(Result::ok) {
            let fname = f.file_name().to_string_lossy().into_owned();
            if (fname.ends_with(".spec") || fname.ends_with(".macros"))
                && let Ok(b) = std::fs::read(f.path())
            {
                files.insert(fname, b);
            }
        }
        if files.contains_key(&format!("{name}.spec")) {
            inputs.push(SpecInput::new(name, files));
        }
    }
    inputs
}

#[test]
fn the_azl4_plan_replays_within_its_bounds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/azl4/specs");
    let inputs = corpus_inputs(&root);
    if inputs.len() < 1000 {
        eprintln!("skipped: the azl4 corpus is not at {}", root.display());
        return;
    }
    let mut ctx = MacroContext::for_target(Arch::X86_64.rpm());
    for (name, bytes) in macro_files(Path::new("/"), Arch::X86_64) {
        ctx.load_file(&name, &bytes);
    }
    let source = Partial(ctx);
    let (ok, _failed) = azldev_build::facts(&source, &inputs, Arch::X86_64);
    assert!(
        ok.len() > inputs.len() / 2,
        "only {} of {} evaluated",
        ok.len(),
        inputs.len()
    );
    let graph = Graph::build(
        Arch::X86_64,
        ok,
        &GraphOptions {
            buildroot: Buildroot::Unknown,
            bootstrap: BTreeMap::new(),
            dynamic: BTreeMap::new(),
        },
    );
    let plan = graph.plan(&[], &|_| None).expect("plans everything");
    // Durations: a few recorded, the rest the default.
    let mut d = Durations::default();
    for (i, c) in plan.components.iter().enumerate().take(200) {
        d.0.insert(format!("x86_64/{}", c.name), 30.0 + (i % 17) as f64 * 40.0);
    }
    let default = d.median().expect("recorded");
    let builds = builds_of(std::slice::from_ref(&plan), &d, default);
    assert!(builds.len() > 1000, "{} builds", builds.len());
    let recorded = plan.components.iter().take(200).filter(|c| !c.excluded).count();
    assert_eq!(builds.iter().filter(|b| !b.estimated).count(), recorded);

    let unlimited = simulate(&builds, None, default);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.max(b).max(1.0);
    assert!(
        close(unlimited.makespan, unlimited.critical_path_seconds),
        "{} vs {}",
        unlimited.makespan,
        unlimited.critical_path_seconds
    );
    let one = simulate(&builds, Some(1), default);
    assert!(
        close(one.makespan, one.serial_seconds),
        "{} vs {}",
        one.makespan,
        one.serial_seconds
    );
    assert!(unlimited.critical_path.len() > 1, "{:?}", unlimited.critical_path);
    let mut last = one.makespan;
    for n in [4, 16, 64] {
        let r = simulate(&builds, Some(n), default);
        assert!(r.makespan <= last + 1e-6, "{n} builders slower than fewer");
        assert!(r.makespan + 1e-6 >= unlimited.makespan.max(one.serial_seconds / n as f64));
        assert!(r.arches[0].utilisation > 0.0 && r.arches[0].utilisation <= 1.0 + 1e-9);
        last = r.makespan;
    }
    eprintln!(
        "azl4: {} builds; serial {:.0}s, 16 builders {:.0}s, critical path {:.0}s over {} builds; {} cycle edges ignored",
        builds.len(),
        one.makespan,
        simulate(&builds, Some(16), default).makespan,
        unlimited.critical_path_seconds,
        unlimited.critical_path.len(),
        unlimited.cycle_edges.len()
    );
    assert!(unlimited.unschedulable.is_empty());
}
