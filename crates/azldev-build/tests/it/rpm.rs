//! Against rpm itself: version comparison through rpm's own Lua
//! `rpm.vercmp`, and real specs through the rpmspec producer.

use std::collections::BTreeMap;
use std::process::Command;

use azldev_build::evr::rpmvercmp;
use azldev_build::graph::{Buildroot, GraphOptions};
use azldev_build::{Arch, FactsSource, MacroInputs, RpmspecSource, SpecInput};

#[test]
fn vercmp_agrees_with_rpm() {
    let versions = [
        "1.0",
        "1.0.0",
        "1.00",
        "1.0a",
        "1.0~rc1",
        "1.0~rc2",
        "1.0^git1",
        "1.0^git1~pre",
        "1.0~",
        "1.0^",
        "2",
        "10",
        "1.a",
        "1.A",
        "a",
        "1_0",
        "1+0",
        "001",
        "0.9.9",
        "1.0~~",
        "1.0^^",
        "1.0.^",
        "2020.1",
        "abc",
        "1..0",
        "0",
    ];
    let mut pairs: Vec<(String, String)> = Vec::new();
    for a in versions {
        for b in versions {
            pairs.push((a.to_owned(), b.to_owned()));
        }
    }
    // And 3,000 pseudo-random pairs over the characters that matter
    // (a fixed LCG: the same pairs every run).
    let alphabet = b"0123456789ab.~^_+Z";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    let random = |next: &mut dyn FnMut(u64) -> u64| {
        let len = 1 + next(7) as usize;
        let mut s: String = (0..len)
            .map(|_| alphabet[next(alphabet.len() as u64) as usize] as char)
            .collect();
        // rpm refuses versions that do not start with an alphanumeric.
        s.insert(0, (b'0' + next(3) as u8) as char);
        s
    };
    for _ in 0..3000 {
        let a = random(&mut next);
        let b = if next(4) == 0 {
            a.clone()
        } else {
            random(&mut next)
        };
        pairs.push((a, b));
    }
    let mut lua = String::new();
    for (a, b) in &pairs {
        lua.push_str(&format!("print(rpm.vercmp(\"{a}\", \"{b}\") .. \"\\n\")\n"));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("vercmp.lua");
    std::fs::write(&script, lua).expect("write");
    let out = Command::new("rpm")
        .arg("--eval")
        .arg(format!("%{{lua: dofile(\"{}\")}}", script.display()))
        .output()
        .expect("rpm runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rpm: Vec<i32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim().parse().expect("number"))
        .collect();
    assert_eq!(rpm.len(), pairs.len());
    for ((a, b), want) in pairs.iter().zip(rpm) {
        assert_eq!(rpmvercmp(a, b) as i32, want.signum(), "rpmvercmp({a:?}, {b:?})");
    }
}

fn input(name: &str, spec: &str, extra: &[(&str, &str)]) -> SpecInput {
    let mut files = BTreeMap::new();
    files.insert(format!("{name}.spec"), spec.as_bytes().to_vec());
    for (p, b) in extra {
        files.insert((*p).to_owned(), b.as_bytes().to_vec());
    }
    SpecInput::new(name, files)
}

const LIB: &str = r#"Name: libgreet
Version: 1.2
Release: 3%{?dist}
Summary: lib
License: MIT
BuildRequires: gcc
BuildRequires: make >= 4
%{?with_docs:BuildRequires: doxygen}
%description
x
%package devel
Summary: dev
Requires: %{name}%{?_isa} = %{version}-%{release}
%description devel
x
%package doc
Summary: doc
BuildArch: noarch
%description doc
x
%files
%files devel
%files doc
"#;

const APP: &str = r#"%{load:%{_sourcedir}/greeter.azl.macros}
%bcond_with extra
Name: greeter
Epoch: 2
Version: 0.9~rc1
Release: 1
Summary: app
License: MIT
ExclusiveArch: x86_64 aarch64
ExcludeArch: %{?no_arm:aarch64}
BuildRequires: libgreet-devel >= 1.0
BuildRequires: (python3 or python3.12)
%if %{with extra}
BuildRequires: extra-devel
%endif
Requires: (bash if coreutils)
Provides: hello-world = %{version}
%description
x
%generate_buildrequires
echo foo
%files
"#;

#[test]
fn rpmspec_producer_end_to_end() {
    let cache = tempfile::tempdir().expect("tempdir");
    let src = RpmspecSource::host(
        Some(cache.path().to_owned()),
        MacroInputs {
            files: vec![("dist.macros".into(), b"%dist .demo1\n".to_vec())],
            defines: vec![("no_arm".into(), "1".into())],
        },
    )
    .expect("rpmspec is installed");
    let lib = input("libgreet", LIB, &[]);
    let app = input("greeter", APP, &[("greeter.azl.macros", "%_with_extra 1\n")]);
    let f = src.facts(&lib, Arch::X86_64).expect("facts");
    assert_eq!(f.name, "libgreet");
    assert_eq!(f.evr, "1.2-3.demo1");
    let br: Vec<(&str, Option<u32>)> = f
        .buildrequires
        .iter()
        .map(|d| (d.text.as_str(), d.line))
        .collect();
    assert_eq!(br, [("gcc", Some(6)), ("make >= 4", Some(7))]);
    let names: Vec<&str> = f.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["libgreet", "libgreet-devel", "libgreet-doc"]);
    assert_eq!(
        f.packages[1].provides,
        [
            "libgreet-devel = 1.2-3.demo1",
            "libgreet-devel(x86-64) = 1.2-3.demo1"
        ]
    );
    assert_eq!(f.packages[1].requires, ["libgreet(x86-64) = 1.2-3.demo1"]);
    assert_eq!(f.packages[2].buildarch.as_deref(), Some("noarch"));
    assert!(!f.dynamic_buildrequires);
    let fa = src.facts(&lib, Arch::Aarch64).expect("facts");
    assert_eq!(fa.packages[1].requires, ["libgreet(aarch-64) = 1.2-3.demo1"]);

    let g = src.facts(&app, Arch::X86_64).expect("facts");
    assert_eq!(g.evr, "2:0.9~rc1-1");
    // The sidecar macros file was loaded (`%{with extra}`); rpm sorts the
    // header's dependencies.
    let br: Vec<(&str, Option<u32>)> = g
        .buildrequires
        .iter()
        .map(|d| (d.text.as_str(), d.line))
        .collect();
    assert_eq!(
        br,
        [
            ("(python3 or python3.12)", Some(12)),
            ("extra-devel", Some(14)),
            ("libgreet-devel >= 1.0", Some(11))
        ]
    );
    assert!(g.dynamic_buildrequires);
    assert_eq!(g.exclusive_arch, ["x86_64", "aarch64"]);
    assert_eq!(g.exclude_arch, ["aarch64"]);
    assert_eq!(g.packages[0].requires, ["(bash if coreutils)"]);
    assert!(
        g.packages[0]
            .provides
            .contains(&"hello-world = 0.9~rc1".to_owned())
    );

    // Cached: the same answer without rpmspec, and a changed sidecar file
    // is a different key.
    assert_eq!(src.cached(&app, Arch::X86_64), Some(Ok(g.clone())));
    let changed = input("greeter", APP, &[("greeter.azl.macros", "%_without_extra 1\n")]);
    assert!(src.cached(&changed, Arch::X86_64).is_none());
    assert_ne!(src.key(&app, Arch::X86_64), src.key(&app, Arch::Aarch64));
    let g2 = src.facts(&changed, Arch::X86_64).expect("facts");
    assert_eq!(g2.buildrequires.len(), 2);
    assert_eq!(src.facts(&app, Arch::X86_64).expect("cached"), g);

    // The graph over both, for both arches.
    let opts = GraphOptions {
        buildroot: Buildroot::Known(
            ["gcc", "make", "python3", "extra-devel"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        ),
        ..GraphOptions::default()
    };
    let inputs = [lib, app];
    let (_, x) =
        azldev_build::plan_arch(&src, &inputs, Arch::X86_64, &opts, &["greeter".into()]).expect("plan");
    assert_eq!(
        x.order,
        vec![vec!["libgreet".to_owned()], vec!["greeter".to_owned()]]
    );
    assert!(x.unresolved.is_empty(), "{:?}", x.unresolved);
    assert_eq!(x.component("greeter").expect("greeter").depends_on, ["libgreet"]);
    assert!(x.component("greeter").expect("greeter").input_hash.is_some());
    let (_, a) = azldev_build::plan_arch(&src, &inputs, Arch::Aarch64, &opts, &[]).expect("plan");
    assert!(a.component("greeter").expect("greeter").excluded);
    assert_eq!(a.order, vec![vec!["libgreet".to_owned()]]);
}

#[test]
fn rpmspec_failure_is_a_typed_error_with_output() {
    let src = RpmspecSource::host(None, MacroInputs::default()).expect("rpmspec");
    let bad = input("bad", "Name: bad\n%if\n", &[]);
    let e = src.facts(&bad, Arch::X86_64).expect_err("fails");
    let msg = e.to_string();
    assert!(msg.starts_with("bad (x86_64): rpmspec:"), "{msg}");
    assert!(msg.contains("error"), "{msg}");
    // A refusal is cached: the same inputs give the same error again.
    let cache = tempfile::tempdir().expect("tempdir");
    let cached = RpmspecSource::host(Some(cache.path().to_owned()), MacroInputs::default()).expect("rpmspec");
    let first = cached.facts(&bad, Arch::X86_64).expect_err("fails");
    assert_eq!(cached.cached(&bad, Arch::X86_64), Some(Err(first)));
    let none = SpecInput::new("nothing", BTreeMap::new());
    assert!(matches!(
        src.facts(&none, Arch::X86_64),
        Err(azldev_build::FactsError::NoSpec { .. })
    ));
}
