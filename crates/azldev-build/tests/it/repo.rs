//! The local repository's metadata is a function of its RPMs' bytes, with
//! real rpmbuild and createrepo_c: re-storing the same packages (new file
//! times, new inodes, another order, incremental or full index) gives the
//! same `repodata/`, and a replaced package of the same size and build time
//! is indexed again.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use azldev_build::sched::{Store, createrepo};
use sha2::Digest;

/// A noarch package whose build time is its changelog date (the build's
/// reproducibility macros), holding `content`.
fn spec(name: &str, content: &str) -> String {
    format!(
        "Name: {name}\nVersion: 1\nRelease: 1\nSummary: {name}\nLicense: MIT\nBuildArch: noarch\n\
         %description\n{name}\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\n\
         echo {content} > %{{buildroot}}/usr/share/{name}/data\n%files\n/usr/share/{name}\n\
         %changelog\n* Tue Nov 14 2023 A <a@example.invalid> - 1-1\n- first\n"
    )
}

fn rpmbuild(dir: &Path, name: &str, content: &str) -> PathBuf {
    let top = dir.join(format!("top-{name}-{content}"));
    std::fs::create_dir_all(&top).expect("topdir");
    let spec_file = dir.join(format!("{name}.spec"));
    std::fs::write(&spec_file, spec(name, content)).expect("spec");
    let mut cmd = Command::new("rpmbuild");
    cmd.arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("_dbpath {}", dir.join("rpmdb").display()));
    for (k, v) in azldev_build::exec::REPRODUCIBLE {
        cmd.arg("--define").arg(format!("{k} {v}"));
    }
    let out = cmd
        .arg(&spec_file)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("rpmbuild runs");
    assert!(
        out.status.success(),
        "rpmbuild: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rpm = top.join(format!("RPMS/noarch/{name}-1-1.noarch.rpm"));
    assert!(rpm.is_file(), "{}", rpm.display());
    rpm
}

/// Every file of `repodata/` with its bytes.
fn repodata(repo: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(repo.join("repodata"))
        .expect("repodata")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

fn primary(repo: &Path) -> String {
    let (_, gz) = repodata(repo)
        .into_iter()
        .find(|(n, _)| n.ends_with("-primary.xml.gz"))
        .expect("primary.xml.gz");
    let mut s = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut s)
        .expect("gzip");
    s
}

fn store(cache: &Path, repo: &Path) -> Store {
    Store {
        cache: cache.to_owned(),
        repo: repo.to_owned(),
        noarch_repos: Vec::new(),
        logs: cache.join("logs"),
    }
}

/// A fresh copy of `f` (a new inode written now), as a rebuild leaves.
fn fresh_copy(f: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let to = dir.join(f.file_name().expect("name"));
    std::fs::copy(f, &to).expect("copy");
    to
}

#[test]
fn the_same_rpms_give_the_same_repodata_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let a = rpmbuild(d, "alpha", "one");
    let b = rpmbuild(d, "beta", "two");
    let c = rpmbuild(d, "gamma", "three");
    // The build time is the changelog's date (2023-11-14 00:00 UTC).
    let built = azldev_build::payload::build_time(&a).expect("build time");
    assert_eq!(built, 1_699_920_000);

    // Repository 1: alpha and beta, indexed; then gamma, indexed
    // incrementally.
    let r1 = d.join("r1");
    let s1 = store(&d.join("cache1"), &r1);
    s1.publish(&[a.clone(), b.clone()], true).expect("publish");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s1.publish(std::slice::from_ref(&c), true).expect("publish");
    let first = repodata(&r1);
    let repomd = String::from_utf8(first["repomd.xml"].clone()).expect("utf-8");
    assert!(repomd.contains("<revision>1699920000</revision>"), "{repomd}");
    assert!(
        !repomd.contains("<timestamp>17"),
        "a wall-clock timestamp: {repomd}"
    );
    let p = primary(&r1);
    assert_eq!(p.matches("<time file=\"1699920000\"").count(), 3, "{p}");

    // Repository 2: the same packages in another order, one full index.
    let r2 = d.join("r2");
    let s2 = store(&d.join("cache2"), &r2);
    s2.publish(&[c.clone(), a.clone(), b.clone()], false)
        .expect("publish");
    s2.index_pending().expect("index");
    assert_eq!(
        repodata(&r2),
        first,
        "a full index differs from the incremental one"
    );

    // The same bytes stored again (new inodes, new times: a reproducible
    // rebuild) and indexed again: nothing changes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = [fresh_copy(&a, &d.join("again")), fresh_copy(&b, &d.join("again"))];
    s1.publish(&again, true).expect("publish");
    assert_eq!(
        repodata(&r1),
        first,
        "re-storing the same RPMs changed the metadata"
    );
    // Files merely touched, then indexed.
    for f in ["alpha-1-1.noarch.rpm", "gamma-1-1.noarch.rpm"] {
        std::fs::File::options()
            .write(true)
            .open(r1.join("Packages").join(f))
            .expect("open")
            .set_modified(std::time::SystemTime::now())
            .expect("touch");
    }
    createrepo(&r1).expect("createrepo");
    assert_eq!(repodata(&r1), first, "touching the RPMs changed the metadata");
}

#[test]
fn a_replaced_package_of_the_same_size_and_time_is_indexed_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    let old = rpmbuild(d, "delta", "aaaa");
    let new = rpmbuild(d, "delta", "bbbb");
    let (old_len, new_len) = (
        std::fs::metadata(&old).expect("old").len(),
        std::fs::metadata(&new).expect("new").len(),
    );
    let sha = |p: &Path| format!("{:x}", sha2::Sha256::digest(std::fs::read(p).expect("read")));
    assert_ne!(sha(&old), sha(&new));
    let r = d.join("r");
    let s = store(&d.join("cache"), &r);
    s.publish(std::slice::from_ref(&old), true).expect("publish");
    assert!(primary(&r).contains(&sha(&old)));
    s.publish(std::slice::from_ref(&new), true).expect("publish");
    let p = primary(&r);
    assert!(
        p.contains(&sha(&new)) && !p.contains(&sha(&old)),
        "sizes {old_len} → {new_len}; the metadata kept the replaced package: {p}"
    );
    // And it equals a fresh repository of the new package.
    let r2 = d.join("r2");
    store(&d.join("cache2"), &r2)
        .publish(std::slice::from_ref(&new), true)
        .expect("publish");
    assert_eq!(repodata(&r2), repodata(&r));
}
