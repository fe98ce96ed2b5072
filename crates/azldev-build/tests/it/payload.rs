//! The in-process payload check against real rpmbuild output: a host
//! (x86-64) binary packaged with `rpmbuild --target aarch64` — the silent
//! cross-arch trap — is found; the same binary in an x86_64 package is not.

use std::path::{Path, PathBuf};
use std::process::Command;

use azldev_build::Arch;
use azldev_build::payload::{elf_machine, scan};

const SPEC: &str = r#"Name: trap
Version: 1
Release: 1
Summary: a host binary
License: MIT
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none
%description
x
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/trap
cp %{hostbin} %{buildroot}/usr/bin/trap
echo text > %{buildroot}/usr/share/trap/readme
ln -s trap %{buildroot}/usr/bin/trap-link
%files
/usr/bin/trap
/usr/bin/trap-link
/usr/share/trap
"#;

fn build(dir: &Path, target: &str, payload: &str) -> PathBuf {
    let top = dir.join(format!("top-{target}-{payload}"));
    std::fs::create_dir_all(&top).expect("topdir");
    let spec = dir.join("trap.spec");
    std::fs::write(&spec, SPEC).expect("spec");
    // A small host (x86-64) executable.
    let bin = Path::new("/usr/bin/true");
    let st = Command::new("rpmbuild")
        .arg("-bb")
        .args(["--target", target])
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("_dbpath {}", dir.join("rpmdb").display()))
        .arg("--define")
        .arg(format!("hostbin {}", bin.display()))
        .arg("--define")
        .arg(format!("_binary_payload {payload}"))
        .arg(&spec)
        .output()
        .expect("rpmbuild runs");
    assert!(
        st.status.success(),
        "rpmbuild: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let rpms: Vec<PathBuf> = walk(&top.join("RPMS"));
    assert_eq!(rpms.len(), 1, "{rpms:?}");
    rpms.into_iter().next().expect("one rpm")
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "rpm") {
            out.push(p);
        }
    }
    out
}

#[test]
fn payload_scan_finds_the_cross_arch_trap_in_every_compression() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for payload in ["w9.gzdio", "w2.xzdio", "w3.zstdio"] {
        let arm = build(dir.path(), "aarch64", payload);
        let s = scan(&arm, elf_machine(Arch::Aarch64)).expect("the aarch64 rpm reads");
        assert_eq!(s.files, 2, "{payload}: {s:?}");
        assert_eq!(s.elfs, 1, "{payload}: {s:?}");
        assert_eq!(s.foreign, vec![("/usr/bin/trap".to_owned(), 62)], "{payload}");

        let x86 = build(dir.path(), "x86_64", payload);
        let s = scan(&x86, elf_machine(Arch::X86_64)).expect("the x86_64 rpm reads");
        assert_eq!((s.files, s.elfs), (2, 1), "{payload}: {s:?}");
        assert!(s.foreign.is_empty(), "{payload}: {s:?}");
    }
}

#[test]
fn payload_scan_rejects_what_is_not_an_rpm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("x.rpm");
    std::fs::write(&f, b"not an rpm at all, just some bytes; long enough to read a lead from it, surely: .........................").expect("write");
    let e = scan(&f, 62).expect_err("rejected");
    assert!(e.to_string().contains("not an RPM"), "{e}");
}
