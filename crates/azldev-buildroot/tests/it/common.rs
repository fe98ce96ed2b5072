//! Shared fixtures: the seed repositories (made once per machine from the
//! project's own `locks/seed-<arch>.lock`, under `target/azldev-test-cache`)
//! and base roots over them. Serialised across test processes by file locks.

use std::fs::File;
use std::path::{Path, PathBuf};

use azldev_buildroot::arch::Arch;
use azldev_buildroot::base::{BaseRoot, BaseRoots, BaseSpec, RepoSpec};
use azldev_buildroot::seed::{self, SeedOptions};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

pub fn cache() -> PathBuf {
    let d = workspace().join("target/azldev-test-cache");
    std::fs::create_dir_all(&d).expect("create the test cache");
    d
}

fn locked(name: &str) -> File {
    let f = File::create(cache().join(format!("{name}.lock"))).expect("lock file");
    f.lock().expect("lock");
    f
}

/// The seed repository of `arch`, made from the project's seed lock.
pub fn seed_repo(arch: Arch) -> PathBuf {
    let _guard = locked(&format!("seed-{arch}"));
    let out = cache().join("seed").join(arch.rpm());
    let report = seed::seed(&SeedOptions {
        arch,
        lock_path: workspace().join(format!("locks/seed-{arch}.lock")),
        out_dir: out.clone(),
        cache_dir: cache(),
        log_dir: cache().join("logs"),
        update: false,
        include: None,
        mirror: None,
        suite: None,
        jobs: 2,
    })
    .expect("the seed is made");
    assert!(!report.resolved, "the project's lock pins the seed");
    out
}

pub fn seed_repo_spec(arch: Arch) -> RepoSpec {
    RepoSpec {
        id: "seed".into(),
        baseurl: vec![format!("file://{}", seed_repo(arch).display())],
        gpgcheck: false,
        options: Default::default(),
    }
}

/// The packages of the demo's buildroot.
pub const SETUP: &[&str] = &[
    "bash",
    "build-essential",
    "coreutils",
    "diffutils",
    "file",
    "findutils",
    "gawk",
    "grep",
    "gzip",
    "make",
    "patch",
    "rpm",
    "sed",
    "tar",
    "xz-utils",
    "cpio",
];

pub fn base_spec(arch: Arch) -> BaseSpec {
    BaseSpec {
        arch,
        releasever: "1.0".into(),
        packages: SETUP.iter().map(|s| (*s).to_owned()).collect(),
        repos: vec![seed_repo_spec(arch)],
        macros: [
            ("%dist".to_owned(), ".demo1".to_owned()),
            ("%vendor".to_owned(), "Demo Linux".to_owned()),
        ]
        .into(),
        dnf_main: Default::default(),
    }
}

pub fn roots() -> BaseRoots {
    BaseRoots::new(&cache(), &cache().join("logs"))
}

pub fn base_root(arch: Arch) -> BaseRoot {
    let spec = base_spec(arch);
    let _guard = locked(&format!("base-{arch}"));
    roots().ensure(&spec).expect("the base root is created")
}

pub fn layers_dir() -> PathBuf {
    cache().join("buildroot/layers")
}
