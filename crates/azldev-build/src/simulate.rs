//! Capacity planning: the plan replayed on N builders per arch with
//! durations recorded by earlier runs (local or Koji), for sizing a
//! builder pool. Pure: no I/O besides [`Durations::load`] and
//! [`Durations::record`].
//!
//! The replay is an event simulation of list scheduling, as a Koji hub
//! with a pool per arch or the local scheduler runs a plan: a build starts
//! when all its dependencies have finished and a builder of its arch is
//! free; among ready builds the one with the longest remaining path
//! (by duration) goes first; ties by arch and name, so the result is a
//! function of the inputs only. With unlimited builders the makespan is
//! the critical path; with one builder (one arch) it is the serial sum.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// One build to place.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SimBuild {
    pub name: String,
    pub arch: String,
    /// Builds it waits for, as indexes into the list.
    pub deps: Vec<usize>,
    pub seconds: f64,
    /// The duration was not recorded: the default was used.
    pub estimated: bool,
}

/// Where and when a build ran in the replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Slot {
    pub name: String,
    pub arch: String,
    pub builder: usize,
    pub start: f64,
    pub end: f64,
}

/// Per-arch figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ArchSim {
    pub arch: String,
    pub builds: usize,
    /// Builders used (with unlimited builders: the peak concurrency).
    pub builders: usize,
    pub busy_seconds: f64,
    /// Last build of the arch ends.
    pub makespan: f64,
    /// busy / (builders × overall makespan).
    pub utilisation: f64,
}

/// The replay's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SimReport {
    /// Builders per arch (`None`: unlimited).
    pub builders_per_arch: Option<usize>,
    pub makespan: f64,
    /// The longest chain of builds by duration (a lower bound of the
    /// makespan for any number of builders).
    pub critical_path: Vec<String>,
    pub critical_path_seconds: f64,
    /// Every build one after the other.
    pub serial_seconds: f64,
    pub arches: Vec<ArchSim>,
    /// Builds whose duration was not recorded, and the default used.
    pub estimated: usize,
    pub default_seconds: f64,
    /// Dependencies ignored to break dependency cycles (`build → dependency`).
    pub cycle_edges: Vec<String>,
    /// Builds that could never start (none once cycles are broken).
    pub unschedulable: Vec<String>,
    pub schedule: Vec<Slot>,
}

/// Durations recorded by earlier runs: `<arch>/<name>` → seconds of the
/// last successful build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations(pub BTreeMap<String, f64>);

impl Durations {
    /// Reads the record (empty when there is none or it cannot be read).
    #[must_use]
    pub fn load(path: &Path) -> Durations {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Adds `entries` (`(arch, name, seconds)`) to the record at `path`,
    /// written beside and renamed in.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(path: &Path, entries: &[(String, String, f64)]) -> std::io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let lock = std::fs::File::create(path.with_extension("lock"))?;
        lock.lock()?;
        let mut d = Durations::load(path);
        for (arch, name, s) in entries {
            d.0.insert(format!("{arch}/{name}"), *s);
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&d).unwrap_or_default())?;
        std::fs::rename(&tmp, path)
    }

    /// The recorded seconds of `name` on `arch` (or on any arch: noarch
    /// builds and a first build of an arch).
    #[must_use]
    pub fn get(&self, arch: &str, name: &str) -> Option<f64> {
        self.0.get(&format!("{arch}/{name}")).copied().or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.rsplit_once('/').is_some_and(|(_, n)| n == name))
                .map(|(_, v)| *v)
        })
    }

    /// The median of the recorded durations (the default for builds
    /// never recorded), if any.
    #[must_use]
    pub fn median(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.0.values().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(v[v.len() / 2])
    }
}

/// The builds of `plans` (excluded components and noarch ones built on
/// another arch left out), with durations from `durations` or `default`.
#[must_use]
pub fn builds_of(plans: &[Plan], durations: &Durations, default: f64) -> Vec<SimBuild> {
    let mut builds: Vec<SimBuild> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut deps_by_name: Vec<Vec<String>> = Vec::new();
    for p in plans {
        for c in &p.components {
            if c.excluded || c.built_for.is_some() {
                continue;
            }
            let known = durations.get(&p.arch, &c.name);
            index.insert((p.arch.clone(), c.name.clone()), builds.len());
            builds.push(SimBuild {
                name: c.name.clone(),
                arch: p.arch.clone(),
                deps: Vec::new(),
                seconds: known.unwrap_or(default),
                estimated: known.is_none(),
            });
            deps_by_name.push(c.depends_on.clone());
        }
    }
    for (i, deps) in deps_by_name.iter().enumerate() {
        let arch = builds[i].arch.clone();
        let mut ds: Vec<usize> = deps
            .iter()
            .filter_map(|d| {
                index.get(&(arch.clone(), d.clone())).copied().or_else(|| {
                    // A noarch dependency built in another arch's plan.
                    index.iter().find(|((_, n), _)| n == d).map(|(_, j)| *j)
                })
            })
            .filter(|j| *j != i)
            .collect();
        ds.sort_unstable();
        ds.dedup();
        builds[i].deps = ds;
    }
    builds
}

#[derive(Debug, PartialEq)]
struct Ready {
    rank: f64,
    arch: String,
    name: String,
    i: usize,
}

impl Eq for Ready {}

impl Ord for Ready {
    fn cmp(&self, o: &Self) -> Ordering {
        self.rank
            .total_cmp(&o.rank)
            .then_with(|| o.arch.cmp(&self.arch))
            .then_with(|| o.name.cmp(&self.name))
    }
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Replays `builds` on `builders` per arch (`None`: unlimited).
#[must_use]
pub fn simulate(builds: &[SimBuild], builders: Option<usize>, default_seconds: f64) -> SimReport {
    let n = builds.len();
    // Dependency cycles: a depth-first walk over the dependencies drops
    // each edge that closes a cycle (as a bootstrap build breaks it), so
    // every build is placed; the dropped edges are reported.
    let mut deps: Vec<Vec<usize>> = builds.iter().map(|b| b.deps.clone()).collect();
    let mut cycle_edges = Vec::new();
    {
        let mut colour = vec![0u8; n];
        for root in 0..n {
            if colour[root] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            colour[root] = 1;
            while let Some(&mut (i, ref mut k)) = stack.last_mut() {
                if *k < deps[i].len() {
                    let d = deps[i][*k];
                    *k += 1;
                    match colour[d] {
                        0 => {
                            colour[d] = 1;
                            stack.push((d, 0));
                        }
                        1 => {
                            cycle_edges.push(format!(
                                "{} ({}) → {}",
                                builds[i].name, builds[i].arch, builds[d].name
                            ));
                            *k -= 1;
                            deps[i].remove(*k);
                        }
                        _ => {}
                    }
                } else {
                    colour[i] = 2;
                    stack.pop();
                }
            }
        }
    }
    cycle_edges.sort();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = vec![0; n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            dependents[d].push(i);
            waiting[i] += 1;
        }
    }
    // Topological order (Kahn); what is left is in or behind a cycle.
    let mut topo = Vec::with_capacity(n);
    {
        let mut w = waiting.clone();
        let mut stack: Vec<usize> = (0..n).filter(|i| w[*i] == 0).collect();
        while let Some(i) = stack.pop() {
            topo.push(i);
            for &j in &dependents[i] {
                w[j] -= 1;
                if w[j] == 0 {
                    stack.push(j);
                }
            }
        }
    }
    let schedulable: Vec<bool> = {
        let mut s = vec![false; n];
        for &i in &topo {
            s[i] = true;
        }
        s
    };
    // Bottom level: the longest path from a build to the end, itself included.
    let mut bottom = vec![0.0_f64; n];
    let mut next_on_path: Vec<Option<usize>> = vec![None; n];
    for &i in topo.iter().rev() {
        let mut best = 0.0;
        for &j in &dependents[i] {
            if schedulable[j] && bottom[j] > best {
                best = bottom[j];
                next_on_path[i] = Some(j);
            }
        }
        bottom[i] = builds[i].seconds + best;
    }
    // The critical path starts at the build with the largest bottom level.
    let mut critical_path = Vec::new();
    let mut critical_path_seconds = 0.0;
    if let Some(start) = topo
        .iter()
        .copied()
        .filter(|i| deps[*i].is_empty())
        .max_by(|a, b| {
            bottom[*a]
                .total_cmp(&bottom[*b])
                .then_with(|| builds[*b].name.cmp(&builds[*a].name))
        })
    {
        critical_path_seconds = bottom[start];
        let mut cur = Some(start);
        while let Some(i) = cur {
            critical_path.push(format!("{} ({})", builds[i].name, builds[i].arch));
            cur = next_on_path[i];
        }
    }

    // Event simulation.
    let mut arch_names: Vec<String> = builds.iter().map(|b| b.arch.clone()).collect();
    arch_names.sort();
    arch_names.dedup();
    let mut ready: BTreeMap<String, BinaryHeap<Ready>> = BTreeMap::new();
    // Free builder ids per arch (lowest last, popped first), and how many
    // builders each arch has used.
    let mut free: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    let mut peak: BTreeMap<String, usize> = BTreeMap::new();
    let mut running: Vec<(f64, usize, usize)> = Vec::new(); // (end, build, builder)
    let mut w = waiting.clone();
    let mut schedule = Vec::with_capacity(n);
    let mut now = 0.0_f64;
    let push_ready = |ready: &mut BTreeMap<String, BinaryHeap<Ready>>, i: usize| {
        ready.entry(builds[i].arch.clone()).or_default().push(Ready {
            rank: bottom[i],
            arch: builds[i].arch.clone(),
            name: builds[i].name.clone(),
            i,
        });
    };
    for i in 0..n {
        if w[i] == 0 && schedulable[i] {
            push_ready(&mut ready, i);
        }
    }
    loop {
        // Start what can start now.
        for arch in &arch_names {
            let a = arch.as_str();
            while let Some(heap) = ready.get_mut(a) {
                let f = free.entry(arch.clone()).or_default();
                let count = used.entry(arch.clone()).or_insert(0);
                let builder = if let Some(b) = f.pop() {
                    b
                } else if builders.is_none_or(|max| *count < max) {
                    *count += 1;
                    *count - 1
                } else {
                    break;
                };
                let Some(r) = heap.pop() else {
                    f.push(builder);
                    f.sort_unstable_by(|x, y| y.cmp(x));
                    break;
                };
                let end = now + builds[r.i].seconds;
                running.push((end, r.i, builder));
                schedule.push(Slot {
                    name: builds[r.i].name.clone(),
                    arch: builds[r.i].arch.clone(),
                    builder,
                    start: now,
                    end,
                });
                let live = running
                    .iter()
                    .filter(|(_, j, _)| builds[*j].arch == *arch)
                    .count();
                let p = peak.entry(arch.clone()).or_insert(0);
                *p = (*p).max(live);
            }
        }
        if running.is_empty() {
            break;
        }
        // Advance to the next completion (all ending then finish together).
        let t = running.iter().map(|r| r.0).fold(f64::INFINITY, f64::min);
        now = t;
        let (done, rest): (Vec<_>, Vec<_>) = running.into_iter().partition(|r| r.0 <= t);
        running = rest;
        let mut done = done;
        done.sort_by_key(|r| r.1);
        for (_, i, builder) in done {
            let f = free.entry(builds[i].arch.clone()).or_default();
            f.push(builder);
            f.sort_unstable_by(|x, y| y.cmp(x));
            for &j in &dependents[i] {
                w[j] -= 1;
                if w[j] == 0 && schedulable[j] {
                    push_ready(&mut ready, j);
                }
            }
        }
    }
    let makespan = now;
    let serial_seconds: f64 = (0..n)
        .filter(|i| schedulable[*i])
        .map(|i| builds[i].seconds)
        .sum();
    let arches = arch_names
        .iter()
        .map(|a| {
            let mine: Vec<&Slot> = schedule.iter().filter(|s| s.arch == *a).collect();
            let busy: f64 = mine.iter().map(|s| s.end - s.start).sum();
            let used_builders = builders.unwrap_or_else(|| peak.get(a).copied().unwrap_or(0));
            #[allow(clippy::cast_precision_loss)]
            let capacity = used_builders as f64 * makespan;
            ArchSim {
                arch: a.clone(),
                builds: mine.len(),
                builders: used_builders,
                busy_seconds: busy,
                makespan: mine.iter().map(|s| s.end).fold(0.0, f64::max),
                utilisation: if capacity > 0.0 { busy / capacity } else { 0.0 },
            }
        })
        .collect();
    schedule.sort_by(|a, b| {
        a.start
            .total_cmp(&b.start)
            .then_with(|| a.arch.cmp(&b.arch))
            .then_with(|| a.builder.cmp(&b.builder))
    });
    let mut unschedulable: Vec<String> = (0..n)
        .filter(|i| !schedulable[*i])
        .map(|i| format!("{} ({})", builds[i].name, builds[i].arch))
        .collect();
    unschedulable.sort();
    SimReport {
        builders_per_arch: builders,
        makespan,
        critical_path,
        critical_path_seconds,
        serial_seconds,
        arches,
        estimated: builds.iter().filter(|b| b.estimated).count(),
        default_seconds,
        cycle_edges,
        unschedulable,
        schedule,
    }
}

/// Seconds as `1h02m03s` / `2m03s` / `3.4s`.
#[must_use]
pub fn hms(s: f64) -> String {
    if s < 60.0 {
        return format!("{s:.1}s");
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let t = s.round() as u64;
    if t >= 3600 {
        format!("{}h{:02}m{:02}s", t / 3600, t % 3600 / 60, t % 60)
    } else {
        format!("{}m{:02}s", t / 60, t % 60)
    }
}

/// The report as text.
#[must_use]
pub fn to_text(r: &SimReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let builders = r.builders_per_arch.map_or_else(
        || "unlimited builders".to_owned(),
        |n| format!("{n} builder(s) per arch"),
    );
    let _ = writeln!(s, "simulated on {builders}:");
    let _ = writeln!(s, "  predicted makespan   {}", hms(r.makespan));
    let _ = writeln!(
        s,
        "  critical path        {} ({} builds)",
        hms(r.critical_path_seconds),
        r.critical_path.len()
    );
    let _ = writeln!(s, "  serial sum           {}", hms(r.serial_seconds));
    if r.makespan > 0.0 {
        let _ = writeln!(s, "  speed-up             {:.2}×", r.serial_seconds / r.makespan);
    }
    for a in &r.arches {
        let _ = writeln!(
            s,
            "  {:8} {} builds on {} builder(s), busy {}, utilisation {:.0}%",
            a.arch,
            a.builds,
            a.builders,
            hms(a.busy_seconds),
            a.utilisation * 100.0
        );
    }
    if r.estimated > 0 {
        let _ = writeln!(
            s,
            "  {} build(s) never recorded: estimated at {} each",
            r.estimated,
            hms(r.default_seconds)
        );
    }
    if !r.cycle_edges.is_empty() {
        let shown: Vec<&str> = r.cycle_edges.iter().map(String::as_str).take(5).collect();
        let _ = writeln!(
            s,
            "  {} dependency edge(s) ignored to break cycles: {}{}",
            r.cycle_edges.len(),
            shown.join(", "),
            if r.cycle_edges.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        );
    }
    if !r.unschedulable.is_empty() {
        let _ = writeln!(
            s,
            "  {} build(s) in dependency cycles left out: {}",
            r.unschedulable.len(),
            r.unschedulable.join(", ")
        );
    }
    let shown: Vec<&str> = r.critical_path.iter().map(String::as_str).take(30).collect();
    let _ = writeln!(
        s,
        "critical path: {}{}",
        shown.join(" → "),
        if r.critical_path.len() > shown.len() {
            " → …"
        } else {
            ""
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn b(name: &str, deps: &[usize], seconds: f64) -> SimBuild {
        SimBuild {
            name: name.into(),
            arch: "x86_64".into(),
            deps: deps.to_vec(),
            seconds,
            estimated: false,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn a_chain_takes_its_sum_whatever_the_builders() {
        let builds: Vec<SimBuild> = (0..5)
            .map(|i| {
                let deps: Vec<usize> = if i == 0 { Vec::new() } else { vec![i - 1] };
                b(&format!("c{i}"), &deps, 1.0 + i as f64)
            })
            .collect();
        for builders in [Some(1), Some(4), None] {
            let r = simulate(&builds, builders, 60.0);
            assert!(close(r.makespan, 15.0), "{builders:?}: {}", r.makespan);
            assert!(close(r.critical_path_seconds, 15.0));
        }
        let r = simulate(&builds, Some(4), 60.0);
        assert_eq!(r.critical_path.len(), 5);
        assert_eq!(r.arches[0].builders, 4);
        assert!(close(r.arches[0].utilisation, 15.0 / (4.0 * 15.0)));
    }

    #[test]
    fn a_wide_fan_out_divides_among_builders() {
        // One root, 100 independent leaves of 10 s each.
        let mut builds = vec![b("root", &[], 5.0)];
        builds.extend((0..100).map(|i| b(&format!("leaf{i:03}"), &[0], 10.0)));
        let r = simulate(&builds, Some(10), 60.0);
        assert!(close(r.makespan, 5.0 + 100.0), "{}", r.makespan);
        let r = simulate(&builds, Some(1), 60.0);
        assert!(close(r.makespan, 1005.0));
        let r = simulate(&builds, None, 60.0);
        assert!(close(r.makespan, 15.0));
        assert_eq!(r.arches[0].builders, 100);
        let r = simulate(&builds, Some(3), 60.0);
        // ceil(100 / 3) = 34 rounds of 10 s after the root.
        assert!(close(r.makespan, 5.0 + 340.0), "{}", r.makespan);
    }

    #[test]
    fn cycles_are_broken_and_named() {
        let builds = vec![b("a", &[1], 1.0), b("b", &[0], 1.0), b("c", &[], 2.0)];
        let r = simulate(&builds, Some(1), 60.0);
        assert!(r.unschedulable.is_empty());
        assert_eq!(r.cycle_edges, vec!["b (x86_64) → a"]);
        assert!(close(r.makespan, 4.0));
        let r = simulate(&builds, None, 60.0);
        assert!(close(r.makespan, 2.0));
        assert!(close(r.critical_path_seconds, 2.0));
    }

    #[test]
    fn arches_have_pools_of_their_own() {
        let mut builds = vec![b("a", &[], 10.0), b("b", &[], 10.0)];
        builds.push(SimBuild {
            arch: "aarch64".into(),
            ..b("a", &[], 30.0)
        });
        let r = simulate(&builds, Some(1), 60.0);
        assert!(close(r.makespan, 30.0));
        assert_eq!(r.arches.len(), 2);
    }

    #[test]
    fn plans_become_builds_with_recorded_durations_and_shared_noarch() {
        let comp = |name: &str, deps: &[&str], built_for: Option<&str>, excluded: bool| {
            serde_json::json!({
                "name": name, "excluded": excluded, "evr": "1-1", "build-arch": "x86_64",
                "buildrequires": [], "dynamic-buildrequires": false, "packages": [],
                "depends-on": deps, "built-for": built_for,
            })
        };
        let plan = |arch: &str, comps: Vec<serde_json::Value>| -> Plan {
            serde_json::from_value(serde_json::json!({
                "arch": arch, "components": comps, "cycles": [], "unresolved": [], "order": [],
                "cycle-edges": [], "providers": [], "prebuilt": [], "errors": [],
            }))
            .expect("a plan")
        };
        let plans = vec![
            plan(
                "x86_64",
                vec![
                    comp("app", &["data"], None, false),
                    comp("data", &[], None, false),
                ],
            ),
            plan(
                "aarch64",
                vec![
                    comp("app", &["data"], None, false),
                    comp("data", &[], Some("x86_64"), false),
                    comp("x86only", &[], None, true),
                ],
            ),
        ];
        let mut d = Durations::default();
        d.0.insert("x86_64/app".into(), 10.0);
        d.0.insert("x86_64/data".into(), 4.0);
        let builds = builds_of(&plans, &d, 99.0);
        let names: Vec<String> = builds.iter().map(|b| format!("{}/{}", b.arch, b.name)).collect();
        assert_eq!(names, ["x86_64/app", "x86_64/data", "aarch64/app"]);
        // aarch64's app waits for the noarch data built in the x86_64 plan,
        // and takes the duration recorded on another arch.
        assert_eq!(builds[2].deps, vec![1]);
        assert!(close(builds[2].seconds, 10.0));
        assert!(builds.iter().all(|b| !b.estimated));
        let r = simulate(&builds, None, 99.0);
        assert!(close(r.makespan, 14.0));
        assert_eq!(r.critical_path.len(), 2);
        assert!(
            to_text(&r).contains("predicted makespan   14.0s"),
            "{}",
            to_text(&r)
        );
        assert_eq!(hms(3725.0), "1h02m05s");
    }

    fn dag() -> impl Strategy<Value = Vec<SimBuild>> {
        proptest::collection::vec(
            (
                1u32..500,
                proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
            ),
            1..40,
        )
        .prop_map(|spec| {
            spec.iter()
                .enumerate()
                .map(|(i, (secs, deps))| {
                    let mut ds: Vec<usize> = if i == 0 {
                        Vec::new()
                    } else {
                        deps.iter().map(|d| d.index(i)).collect()
                    };
                    ds.sort_unstable();
                    ds.dedup();
                    b(&format!("n{i:02}"), &ds, f64::from(*secs) / 10.0)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn unlimited_builders_reach_the_critical_path(builds in dag()) {
            let r = simulate(&builds, None, 60.0);
            prop_assert!(close(r.makespan, r.critical_path_seconds), "{} vs {}", r.makespan, r.critical_path_seconds);
        }

        #[test]
        fn one_builder_takes_the_serial_sum(builds in dag()) {
            let r = simulate(&builds, Some(1), 60.0);
            let sum: f64 = builds.iter().map(|b| b.seconds).sum();
            prop_assert!(close(r.makespan, sum), "{} vs {}", r.makespan, sum);
        }

        #[test]
        fn any_pool_lies_between_the_bounds(builds in dag(), k in 1usize..8) {
            let r = simulate(&builds, Some(k), 60.0);
            #[allow(clippy::cast_precision_loss)]
            let lower = r.critical_path_seconds.max(r.serial_seconds / k as f64);
            prop_assert!(r.makespan + 1e-6 >= lower);
            prop_assert!(r.makespan <= r.serial_seconds + 1e-6);
            // Every dependency ends before its dependent starts.
            let by: BTreeMap<&str, &Slot> = r.schedule.iter().map(|s| (s.name.as_str(), s)).collect();
            for bl in &builds {
                for d in &bl.deps {
                    prop_assert!(by[builds[*d].name.as_str()].end <= by[bl.name.as_str()].start + 1e-9);
                }
            }
        }
    }
}
