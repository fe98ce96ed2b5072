//! Seed → base root → layers, for both architectures, on real tools.

use std::collections::BTreeMap;
use std::path::Path;

use azldev_buildroot::arch::Arch;
use azldev_buildroot::layer::{Bind, Layer, RunOptions};

use crate::common::*;

fn sh(layer: &Layer, script: &str) -> String {
    let out = layer
        .run(&["sh".into(), "-c".into(), script.into()], &RunOptions::default())
        .unwrap_or_else(|e| panic!("`{script}` runs in the layer: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every path of a tree with its type, mode, size and content digest.
fn tree_digest(root: &Path) -> BTreeMap<String, String> {
    use sha2::Digest;
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable").filter_map(Result::ok) {
            let p = e.path();
            let m = p.symlink_metadata().expect("stat");
            let rel = p.strip_prefix(root).expect("below root").display().to_string();
            let v = if m.is_dir() {
                stack.push(p.clone());
                format!("d {:o} {}:{}", m.mode(), m.uid(), m.gid())
            } else if m.file_type().is_symlink() {
                format!("l {}", std::fs::read_link(&p).expect("link").display())
            } else {
                let bytes = std::fs::read(&p).expect("read");
                format!(
                    "f {:o} {}:{} {} {:x}",
                    m.mode(),
                    m.uid(),
                    m.gid(),
                    m.mtime(),
                    sha2::Sha256::digest(&bytes)
                )
            };
            out.insert(rel, v);
        }
    }
    out
}

#[test]
fn seed_installs_whole_without_conflicts_and_verifies_clean() {
    for arch in Arch::ALL {
        let repo = seed_repo(arch);
        let names: Vec<String> = std::fs::read_dir(repo.join("Packages"))
            .expect("packages")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.len() > 140, "{arch}: {} RPMs", names.len());
        assert!(names.iter().any(|n| n.starts_with("filesystem-")));
        // The soname provides come from rpm's own generator.
        let libc = names.iter().find(|n| n.starts_with("libc6-2")).expect("libc6");
        let provides = std::process::Command::new("rpm")
            .args(["-qp", "--provides"])
            .arg(repo.join("Packages").join(libc))
            .output()
            .expect("rpm runs");
        let provides = String::from_utf8_lossy(&provides.stdout);
        assert!(provides.contains("libc.so.6()(64bit)"), "{provides}");
        assert!(provides.contains("libc.so.6(GLIBC_2.34)(64bit)"), "{provides}");
        assert!(provides.contains("rtld(GNU_HASH)"), "{provides}");

        // Every seed RPM installed together: no conflicts, nothing
        // unresolved, and rpm verifies the result clean.
        let every: Vec<String> = names
            .iter()
            .map(|n| {
                let q = std::process::Command::new("rpm")
                    .args(["-qp", "--qf", "%{NAME}"])
                    .arg(repo.join("Packages").join(n))
                    .output()
                    .expect("rpm runs");
                String::from_utf8_lossy(&q.stdout).into_owned()
            })
            .collect();
        let tmp = tempfile::tempdir_in(cache()).expect("tempdir");
        let mut spec = base_spec(arch);
        spec.packages = every;
        let all = azldev_buildroot::base::BaseRoots::new(tmp.path(), &tmp.path().join("logs"))
            .ensure(&spec)
            .unwrap_or_else(|e| panic!("{arch}: every seed package installs together: {e}"));
        assert_eq!(all.meta.installed.len(), names.len(), "{arch}");
        let verify = std::process::Command::new("rpm")
            .arg("--root")
            .arg(all.root())
            .args(["--dbpath", "/var/lib/rpm", "-Va"])
            .output()
            .expect("rpm -Va runs");
        let out = String::from_utf8_lossy(&verify.stdout);
        assert!(
            out.trim().is_empty() && verify.status.success(),
            "{arch}: rpm -Va:\n{out}"
        );
    }
}

#[test]
fn base_root_is_cached_and_layers_build_and_run_programs() {
    for arch in Arch::ALL {
        let base = base_root(arch);
        assert!(
            base.meta.installed.iter().any(|p| p.starts_with("gcc-12-")),
            "{:?}",
            base.meta.installed
        );
        // Cached: the same spec gives the same root without work.
        let again = base_root(arch);
        assert_eq!(again.dir, base.dir);
        assert_eq!(again.meta.created, base.meta.created);

        let before = tree_digest(&base.root());
        let layer = Layer::new(&base, &layers_dir()).expect("a layer");
        let out = sh(
            &layer,
            "printf '#include <stdio.h>\\nint main(void){puts(\"hello from the layer\");return 0;}\\n' > /tmp/h.c \
             && cc -O2 -o /tmp/h /tmp/h.c && /tmp/h && file -b /tmp/h",
        );
        assert!(out.starts_with("hello from the layer\n"), "{arch}: {out}");
        let want = match arch {
            Arch::X86_64 => "x86-64",
            Arch::Aarch64 => "ARM aarch64",
        };
        assert!(out.contains(want), "{arch}: the program is {out}");
        // rpm inside sees the root's own database; the macros of the definition apply.
        let q = sh(
            &layer,
            "rpm -q --qf '%{NAME}\\n' bash; rpm --eval '%{dist} %{_arch}'",
        );
        assert_eq!(q, format!("bash\n.demo1 {arch}\n"));
        // No network: only the loopback interface exists.
        let net = sh(&layer, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
        assert_eq!(net.trim(), "lo", "{arch}");
        // Its own pid namespace: the shell's parent is bubblewrap's init.
        let pid = sh(&layer, "echo $$");
        assert!(pid.trim().parse::<u32>().expect("a pid") < 10, "{pid}");
        // Writes (and deletions) through the layer stay in the layer.
        sh(
            &layer,
            "rm -f /usr/bin/gcc-12 && echo x > /usr/bin/azldev-probe && rm -rf /etc/rpm",
        );
        assert!(layer.upper().join("usr/bin/azldev-probe").exists());
        drop(layer);
        assert_eq!(
            tree_digest(&base.root()),
            before,
            "{arch}: the base root is unchanged"
        );
    }
}

#[test]
fn rpmbuild_checks_buildrequires_against_the_layer_rpmdb() {
    let base = base_root(Arch::X86_64);
    let layer = Layer::new(&base, &layers_dir()).expect("a layer");
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        work.path().join("t.spec"),
        "Name: t\nVersion: 1\nRelease: 1\nSummary: t\nLicense: MIT\nBuildRequires: gcc\nBuildRequires: no-such-package\n\
         %description\nt\n%files\n",
    )
    .expect("write spec");
    let err = layer
        .run(
            &["rpmbuild".into(), "-bb".into(), "/src/t.spec".into()],
            &RunOptions {
                binds: vec![Bind {
                    host: work.path().to_owned(),
                    inside: "/src".into(),
                    writable: false,
                }],
                ..RunOptions::default()
            },
        )
        .expect_err("a missing BuildRequires fails");
    let text = err.to_string();
    assert!(text.contains("no-such-package is needed by t-1-1"), "{text}");
    assert!(!text.contains("gcc is needed"), "gcc is installed: {text}");
}

#[test]
fn two_layers_at_once_do_not_see_each_other() {
    let base = base_root(Arch::X86_64);
    let a = Layer::new(&base, &layers_dir()).expect("layer a");
    let b = Layer::new(&base, &layers_dir()).expect("layer b");
    std::thread::scope(|s| {
        let ta = s.spawn(|| sh(&a, "echo a > /tmp/mark; sleep 0.3; cat /tmp/mark"));
        let tb = s.spawn(|| sh(&b, "echo b > /tmp/mark; sleep 0.3; cat /tmp/mark"));
        assert_eq!(ta.join().expect("a"), "a\n");
        assert_eq!(tb.join().expect("b"), "b\n");
    });
}

#[test]
fn binds_bring_sources_in_and_results_out() {
    let base = base_root(Arch::X86_64);
    let layer = Layer::new(&base, &layers_dir()).expect("a layer");
    let src = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::write(src.path().join("in.txt"), "payload\n").expect("write");
    let res = layer.run(
        &[
            "sh".into(),
            "-c".into(),
            "cp /in/in.txt /out/copied.txt && ! touch /in/nope 2>/dev/null".into(),
        ],
        &RunOptions {
            binds: vec![
                Bind {
                    host: src.path().to_owned(),
                    inside: "/in".into(),
                    writable: false,
                },
                Bind {
                    host: out.path().to_owned(),
                    inside: "/out".into(),
                    writable: true,
                },
            ],
            ..RunOptions::default()
        },
    );
    res.expect("runs");
    assert_eq!(
        std::fs::read_to_string(out.path().join("copied.txt")).expect("copied"),
        "payload\n"
    );
    // The host is invisible but for binds.
    let listing = sh(&layer, "ls /work 2>&1 || true");
    assert!(listing.contains("No such file"), "{listing}");
}

#[test]
fn a_pinned_version_the_archive_no_longer_serves_is_a_clear_error() {
    use azldev_buildroot::seed::{SeedError, SeedLock, SeedOptions, seed};
    let tmp = tempfile::tempdir_in(cache()).expect("tempdir");
    let mut lock = SeedLock::read(&workspace().join("locks/seed-x86_64.lock"))
        .expect("readable")
        .expect("the lock exists");
    let make = lock
        .packages
        .iter_mut()
        .find(|p| p.name == "make")
        .expect("make is pinned");
    make.version = "4.3-0azldevgone".into();
    make.filename = "pool/main/m/make-dfsg/make_4.3-0azldevgone_amd64.deb".into();
    make.sha256 = "0".repeat(64);
    let lock_path = tmp.path().join("seed-x86_64.lock");
    std::fs::write(&lock_path, lock.to_toml()).expect("write the lock");
    let err = seed(&SeedOptions {
        arch: Arch::X86_64,
        lock_path,
        out_dir: tmp.path().join("repo"),
        cache_dir: cache(),
        log_dir: tmp.path().join("logs"),
        update: false,
        include: None,
        mirror: None,
        suite: None,
        jobs: 2,
    })
    .expect_err("the pinned deb is not served");
    assert!(matches!(err, SeedError::NotServed { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("make 4.3-0azldevgone"), "{text}");
    assert!(text.contains("--update"), "{text}");
    assert!(!tmp.path().join("repo").exists(), "nothing published");
}

#[test]
fn commands_run_in_a_base_root_read_only_with_its_own_programs_and_macros() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let base = base_root(arch);
        let scratch = tempfile::tempdir().expect("tempdir");
        let out = azldev_buildroot::layer::run_in_base(
            &base,
            &[
                "sh".into(),
                "-c".into(),
                "uname -m; rpm --eval '%{dist}'; echo x > /tmp/t && cat /tmp/t; \
                 echo y > /tmp/io/result; ! touch /etc/nope 2>/dev/null && echo ro; \
                 ls /work 2>&1 || true"
                    .into(),
            ],
            &RunOptions {
                binds: vec![Bind {
                    host: scratch.path().to_owned(),
                    inside: "/tmp/io".into(),
                    writable: true,
                }],
                ..RunOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{arch}: runs in the base root: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        // The root's own programs (an aarch64 root's under qemu-user) and
        // its macro files; a fresh /tmp; the root itself read-only; the
        // host invisible but for binds.
        assert_eq!(lines[..4], [arch.rpm(), ".demo1", "x", "ro"], "{arch}: {text}");
        assert!(lines[4].contains("No such file"), "{arch}: {text}");
        assert_eq!(
            std::fs::read_to_string(scratch.path().join("result")).expect("written through the bind"),
            "y\n"
        );
        assert!(!base.root().join("etc/nope").exists());
        assert!(!base.root().join("tmp/t").exists());
    }
}
