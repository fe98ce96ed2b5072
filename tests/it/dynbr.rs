//! `%generate_buildrequires` end to end, on the demo with real rpmbuild
//! and dnf: a component whose generator asks for another component's
//! package (`libgreet-devel`) is built through the `rpmbuild -br` loop,
//! its build records the dynamic BuildRequires, and later plans order it
//! after the provider, `query requires` lists them marked dynamic, and
//! the next build is cached. A generator asking for what nothing provides
//! fails clearly, as a dependency failure. And the rpmspec fallback of
//! the graph (for what the macro evaluator cannot evaluate) runs inside
//! the demo's base roots — the aarch64 one under qemu-user — cached by
//! content. Needs root.

use serde_json::Value;

use crate::build::{Demo, cache, serial};

const DYN: &str = "Name:           dyngreet
Version:        1.0
Release:        1%{?dist}
Summary:        Reports the libgreet it was built against
License:        MIT
BuildArch:      noarch

%description
Built against whatever %%generate_buildrequires asked for.

%prep

%generate_buildrequires
echo 'libgreet-devel >= 1.0'

%build
rpm -q --qf 'built against %%{NAME}-%%{VERSION}\\n' libgreet-devel >&2
rpm -q --qf '%%{NAME}-%%{VERSION}\\n' libgreet-devel > built-against

%install
install -Dpm 0644 built-against %{buildroot}%{_datadir}/dyngreet/built-against

%files
%{_datadir}/dyngreet/built-against

%changelog
* Mon Jul 07 2025 Demo Linux Maintainers <maintainers@demo-linux.example> - 1.0-1
- Initial package
";

fn add_component(d: &Demo, name: &str, spec: &str) {
    d.write(
        &format!("components/{name}.comp.toml"),
        &format!("[components.{name}]\nspec = {{ type = \"local\", path = \"{name}/{name}.spec\" }}\n"),
    );
    d.write(&format!("components/{name}/{name}.spec"), spec);
}

fn component<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in the plan: {plan}"))
}

fn unit<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["arches"][0]["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} in the report: {report}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[test]
fn generate_buildrequires_loop_records_and_feeds_later_plans() {
    let _one = serial();
    let d = Demo::new();
    add_component(&d, "dyngreet", DYN);
    add_component(
        &d,
        "dynmissing",
        &DYN.replace("dyngreet", "dynmissing")
            .replace("libgreet-devel >= 1.0", "no-such-capability-azldev"),
    );
    // Records are per project (local repository): this copy has none.
    // (The project's directories are as azldev sees them: symlinks resolved.)
    let repo = d
        .root
        .path()
        .canonicalize()
        .expect("canonical")
        .join("out/x86_64");
    let record =
        azldev_build::sched::dynamic_dir(&cache().join("builds/x86_64"), &repo).join("dyngreet.json");
    assert!(!record.exists());

    // Before any build: dynamic, nothing known about what it asks.
    let plan = d.json(0, &["build", "--plan", "--format", "json", "dyngreet"]);
    let c = component(&plan, "dyngreet");
    assert_eq!(c["dynamic-buildrequires"], true, "{c}");
    assert!(strings(&c["depends-on"]).is_empty(), "{c}");
    assert!(c.get("resolved-dynamic-buildrequires").is_none(), "{c}");

    // The build runs the loop: rpmbuild -br, dnf installs what it named,
    // rpmbuild -br again, then the build, against libgreet built here. In
    // one run with libgreet (nothing orders them yet, and two builds run
    // at once): with no record, dyngreet starts after the rest of the run.
    let r = d.json(
        0,
        &[
            "build",
            "libgreet",
            "dyngreet",
            "--rebuild",
            "-j",
            "2",
            "--format",
            "json",
        ],
    );
    assert_eq!(unit(&r, "libgreet")["status"], "built", "{r}");
    let u = unit(&r, "dyngreet");
    eprintln!(
        "measured: libgreet built in {}s (rpmbuild {}s); dyngreet, with two rpmbuild -br rounds and a dnf install, in {}s (rpmbuild {}s)",
        unit(&r, "libgreet")["seconds"],
        unit(&r, "libgreet")["rpmbuild-seconds"],
        u["seconds"],
        u["rpmbuild-seconds"]
    );
    assert_eq!(u["status"], "built", "{u}");
    assert_eq!(
        strings(&u["dynamic-buildrequires"]),
        ["libgreet-devel >= 1.0"],
        "{u}"
    );
    let logs = std::path::PathBuf::from(u["logs"].as_str().expect("logs"));
    let deps = std::fs::read_to_string(logs.join("deps.log")).expect("deps.log");
    assert!(deps.contains("round 1: rpmbuild -br"), "{deps}");
    assert!(deps.contains("# installing: libgreet-devel >= 1.0"), "{deps}");
    assert!(
        deps.contains("satisfied after 2 round(s); dynamic BuildRequires: libgreet-devel >= 1.0"),
        "{deps}"
    );
    let build = std::fs::read_to_string(logs.join("build.log")).expect("build.log");
    assert!(build.contains("built against libgreet-devel-1.0"), "{build}");
    // The record, in the build store, with the exact in-distro RPMs.
    let rec: Value = serde_json::from_slice(&std::fs::read(&record).expect("record")).expect("JSON");
    assert_eq!(strings(&rec["buildrequires"]), ["libgreet-devel >= 1.0"]);
    let rpms = strings(&rec["rpms"]);
    assert!(
        rpms.iter()
            .any(|l| l.starts_with("libgreet-devel-1.0-2.demo1.x86_64.rpm ")),
        "{rpms:?}"
    );
    assert_eq!(rec["key"], u["key"]);

    // Later plans: after the provider, the requirement marked dynamic.
    let plan = d.json(0, &["build", "--plan", "--format", "json", "dyngreet"]);
    let c = component(&plan, "dyngreet");
    assert_eq!(strings(&c["depends-on"]), ["libgreet"], "{c}");
    assert_eq!(strings(&c["dynamic-depends-on"]), ["libgreet"], "{c}");
    assert_eq!(
        strings(&c["resolved-dynamic-buildrequires"]),
        ["libgreet-devel >= 1.0"]
    );
    assert!(strings(&c["buildrequires"]).is_empty(), "static only: {c}");
    let order: Vec<Vec<String>> = plan["order"]
        .as_array()
        .expect("order")
        .iter()
        .map(strings)
        .collect();
    let wave = |n: &str| {
        order
            .iter()
            .position(|w| w.iter().any(|x| x == n))
            .expect("in order")
    };
    assert!(wave("libgreet") < wave("dyngreet"), "{order:?}");
    let text = d.expect(0, &["build", "--plan", "dyngreet"]);
    assert!(
        text.contains("dynamic BuildRequires of dyngreet (its last build): libgreet-devel >= 1.0"),
        "{text}"
    );
    let q = d.json(0, &["query", "requires", "dyngreet", "--format", "json"]);
    let br = q["buildrequires"].as_array().expect("buildrequires");
    let dynamic: Vec<&Value> = br.iter().filter(|b| b["dynamic"] == true).collect();
    assert_eq!(dynamic.len(), 1, "{q}");
    assert_eq!(dynamic[0]["requirement"], "libgreet-devel >= 1.0");
    assert_eq!(dynamic[0]["resolution"], "in-distro");
    assert_eq!(dynamic[0]["providers"][0]["component"], "libgreet", "{q}");
    let text = d.expect(0, &["query", "requires", "dyngreet"]);
    assert!(
        text.contains("libgreet-devel >= 1.0 [dynamic, from its last build]"),
        "{text}"
    );

    // The next build: libgreet's RPMs are the ones it was built against,
    // so it is cached (the edge discovered by the build does not make it
    // build again).
    let r = d.json(0, &["build", "dyngreet", "--format", "json"]);
    assert_eq!(unit(&r, "libgreet")["status"], "cached", "{r}");
    let u = unit(&r, "dyngreet");
    assert_eq!(u["status"], "cached", "{u}");
    assert_eq!(strings(&u["dynamic-buildrequires"]), ["libgreet-devel >= 1.0"]);

    // A generator asking for what nothing provides: a dependency failure
    // naming the phase, with the deps log.
    let out = d.run(&["build", "dynmissing", "--rebuild", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let u = unit(&r, "dynmissing");
    assert_eq!(u["status"], "failed", "{u}");
    assert_eq!(u["failure"]["kind"], "dependencies", "{u}");
    assert!(
        u["failure"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("installing dynamic BuildRequires")),
        "{u}"
    );
    assert!(
        u["failure"]["tail"]
            .as_str()
            .is_some_and(|t| t.contains("no-such-capability-azldev")),
        "{u}"
    );
}

const SHELLFACTS: &str = "Name:           shellfacts
Version:        1.0
Release:        1%{?dist}
Summary:        Facts only a shell in the root can tell
License:        MIT
Provides:       probe-arch(%(uname -m))

%description
Asked of rpmspec: the macro evaluator does not run %%(...). TOKEN

%files

%changelog
* Mon Jul 07 2025 Demo Linux Maintainers <maintainers@demo-linux.example> - 1.0-1
- Initial package
";

#[test]
fn rpmspec_fallback_runs_in_the_base_root_and_is_cached() {
    let _one = serial();
    let d = Demo::new();
    for arch in ["x86_64", "aarch64"] {
        d.expect(0, &["buildroot", "create", "--arch", arch]);
    }
    // Unique to this run (the facts cache outlives test runs).
    let token = d
        .root
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    add_component(&d, "shellfacts", &SHELLFACTS.replace("TOKEN", &token));
    let plan = |expect_runs: &dyn Fn(usize) -> bool| -> Value {
        let out = d.run(&[
            "build",
            "--plan",
            "--arch",
            "all",
            "--format",
            "json",
            "-v",
            "shellfacts",
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        for arch in ["x86_64", "aarch64"] {
            let line = stderr
                .lines()
                .find(|l| l.starts_with(&format!("{arch}: rpmspec asked for ")))
                .unwrap_or_else(|| panic!("{arch}: {stderr}"));
            let runs: usize = line
                .split(", run for ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{line}"));
            assert!(expect_runs(runs), "{line}");
            assert!(line.contains(&format!("in the {arch} base root ")), "{line}");
        }
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let first = plan(&|runs| runs >= 1);
    for (i, arch) in ["x86_64", "aarch64"].iter().enumerate() {
        let p = &first["plans"][i];
        assert_eq!(p["arch"], *arch);
        let c = component(p, "shellfacts");
        let provides = strings(&c["packages"][0]["provides"]);
        // `%(uname -m)` ran in the arch's root: under qemu-user for
        // aarch64 (the host, and --target, would say x86_64).
        assert!(
            provides.contains(&format!("probe-arch({arch})")),
            "{arch}: {provides:?}"
        );
        // `%dist` is defined by the base root's macro files
        // (/etc/rpm/macros.zz-azldev-buildroot), not the host's.
        assert!(
            provides.iter().any(|p| p == "shellfacts = 1.0-1.demo1"),
            "{arch}: {provides:?}"
        );
        assert_eq!(c["evr"], "1.0-1.demo1");
        let notes = strings(&p["notes"]);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("asked of rpmspec, in the") && n.contains(&format!("{arch} base root"))),
            "{arch}: {notes:?}"
        );
    }
    // Again: every answer from the cache, the same plan.
    let second = plan(&|runs| runs == 0);
    assert_eq!(first, second);
}
