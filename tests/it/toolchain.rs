//! End-to-end tests of the toolchain stage through the binary: `toolchain
//! seed`, `buildroot create|list|clean|shell`, their errors, and what a
//! killed layer leaves behind. Needs root and the real tools (dnf,
//! createrepo_c, bwrap).
//!
//! The seed repositories and the converted RPMs live in the shared test
//! cache `target/azldev-test-cache` (the one azldev-buildroot's own tests
//! use), so they are converted once per machine; each test's project is a
//! copy of the demo's `mock/` files pointing at that seed.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    azldev_e2e::demo::workspace_root()
}

/// The shared test cache (seed, converted RPMs, base roots).
fn cache() -> PathBuf {
    let d = workspace().join("target/azldev-test-cache");
    std::fs::create_dir_all(&d).expect("create the test cache");
    d
}

/// An exclusive lock shared with azldev-buildroot's tests (`common.rs`).
fn locked(name: &str) -> File {
    let f = File::create(cache().join(format!("{name}.lock"))).expect("lock file");
    f.lock().expect("lock");
    f
}

fn azldev_cmd(project: &Path, cache_dir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("azldev"));
    c.env_remove("NO_COLOR")
        .env("AZLDEV_CACHE_DIR", cache_dir)
        .arg("--color=never")
        .arg("-C")
        .arg(project);
    c
}

fn run(project: &Path, cache_dir: &Path, args: &[&str]) -> Output {
    azldev_cmd(project, cache_dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("azldev runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(project: &Path, cache_dir: &Path, args: &[&str]) -> String {
    let out = run(project, cache_dir, args);
    assert!(
        out.status.success(),
        "azldev {args:?} failed ({}):\n{}",
        out.status,
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit code and stderr of a run that must fail.
fn fails(project: &Path, cache_dir: &Path, args: &[&str]) -> (i32, String) {
    let out = run(project, cache_dir, args);
    assert!(
        !out.status.success(),
        "azldev {args:?} should fail:\n{}",
        text(&out)
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DISTRO_TOML: &str = "[project]\ndefault-distro = { name = \"demo\", version = \"1.0\" }\n\n\
    [distros.demo]\ndefault-version = \"1.0\"\n\n\
    [distros.demo.versions.'1.0']\nrelease-ver = \"1.0\"\n\
    mock-config-x86_64 = \"mock/demo-1.0-x86_64.cfg\"\n\
    mock-config-aarch64 = \"mock/demo-1.0-aarch64.cfg\"\n";

const DEMO_BASEURL: &str = "file://{{ project_dir }}/build/seed/$basearch/";

/// A project whose buildroot is the demo's (its `mock/` files copied),
/// with the seed repository at `baseurl` (`$basearch` allowed) and
/// `edit` applied to the shared template. The seed locks are copied too.
fn project_with(baseurl: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::write(p.join("distro.toml"), DISTRO_TOML).expect("write distro.toml");
    std::fs::create_dir_all(p.join("mock")).expect("mkdir mock");
    std::fs::create_dir_all(p.join("locks")).expect("mkdir locks");
    for e in std::fs::read_dir(workspace().join("mock")).expect("the demo's mock/") {
        let e = e.expect("entry");
        let mut content = std::fs::read_to_string(e.path()).expect("read");
        if e.file_name() == "demo-1.0.tpl" {
            assert!(
                content.contains(DEMO_BASEURL),
                "the demo's template names the seed"
            );
            content = edit(content.replace(DEMO_BASEURL, baseurl));
        }
        std::fs::write(p.join("mock").join(e.file_name()), content).expect("write");
    }
    for arch in ["x86_64", "aarch64"] {
        let name = format!("seed-{arch}.lock");
        std::fs::copy(workspace().join("locks").join(&name), p.join("locks").join(&name))
            .expect("copy the seed lock");
    }
    dir
}

/// A project over the shared test seed (same bytes in every test, so the
/// base root key — and the base root — is shared).
fn seed_project() -> tempfile::TempDir {
    project_with(&format!("file://{}/seed/$basearch/", cache().display()), |s| s)
}

/// Makes sure the shared seed of `arch` exists, through the binary
/// (`toolchain seed -o <cache>/seed/<arch>`); returns its report.
fn ensure_seed(project: &Path, arch: &str) -> serde_json::Value {
    let _guard = locked(&format!("seed-{arch}"));
    let out_dir = cache().join("seed").join(arch);
    let out = ok(
        project,
        &cache(),
        &[
            "toolchain",
            "seed",
            "--arch",
            arch,
            "-o",
            out_dir.to_str().expect("utf-8 path"),
            "--format",
            "json",
        ],
    );
    serde_json::from_str(&out).expect("the seed report is JSON")
}

/// pid → (ppid, state, argv) of every process.
fn processes() -> BTreeMap<u32, (u32, char, Vec<String>)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir("/proc").expect("/proc").filter_map(Result::ok) {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let argv = std::fs::read(e.path().join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.insert(pid, (ppid, state, argv));
    }
    out
}

/// Every live descendant of `root` with its argv.
fn descendants(root: u32) -> BTreeMap<u32, Vec<String>> {
    let all = processes();
    let mut found = BTreeMap::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, (ppid, state, argv)) in &all {
            if *ppid == p && *state != 'Z' && !found.contains_key(pid) {
                found.insert(*pid, argv.clone());
                frontier.push(*pid);
            }
        }
    }
    found
}

/// Processes (not zombies) among `pids` still alive with the same argv.
fn survivors(pids: &BTreeMap<u32, Vec<String>>) -> Vec<(u32, Vec<String>)> {
    let all = processes();
    pids.iter()
        .filter(|(pid, argv)| {
            all.get(pid)
                .is_some_and(|(_, state, now)| *state != 'Z' && now == *argv)
        })
        .map(|(p, a)| (*p, a.clone()))
        .collect()
}

fn host_mounts_of_layers() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|l| l.contains("azldev-layer") || l.contains("buildroot/layers"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_killed_shell_leaves_no_process_no_mount_and_its_directory_is_swept() {
    let project = seed_project();
    ensure_seed(project.path(), "x86_64");
    let stderr = tempfile::NamedTempFile::new().expect("stderr file");
    let mut child = azldev_cmd(project.path(), &cache())
        .args(["buildroot", "shell", "--arch", "x86_64", "--", "sleep", "600"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr.reopen().expect("reopen"))
        .spawn()
        .expect("spawn azldev");
    let pid = child.id();
    let layer_dir = cache().join(format!("buildroot/layers/x86_64-{pid}-0"));
    // Wait for the sleep inside the layer (the base root may be created first).
    let deadline = Instant::now() + Duration::from_secs(900);
    let tree = loop {
        let tree = descendants(pid);
        if tree.values().any(|a| a == &["sleep", "600"]) {
            break tree;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "azldev ended ({status}) before the layer ran:\n{}",
                std::fs::read_to_string(stderr.path()).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "no layer after 15 minutes");
        std::thread::sleep(Duration::from_millis(50));
    };
    let layer = layer_dir.display().to_string();
    // The chain is what the design says: a holder sh naming the layer, and
    // bubblewrap entered into its namespace.
    assert!(
        tree.values()
            .any(|a| a.first().is_some_and(|p| p == "sh") && a.iter().any(|x| x.contains(&layer))),
        "a holder for {layer}: {tree:#?}"
    );
    assert!(
        tree.values().any(|a| a.first().is_some_and(|p| p == "bwrap")),
        "bubblewrap: {tree:#?}"
    );
    assert!(layer_dir.is_dir(), "the layer lives in {layer}");
    assert!(
        host_mounts_of_layers().is_empty(),
        "the overlay is not mounted on the host"
    );

    // SIGKILL: no destructor runs.
    child.kill().expect("SIGKILL azldev");
    child.wait().expect("reap azldev");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = survivors(&tree);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the killed layer survive: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let naming_layer: Vec<_> = processes()
        .into_iter()
        .filter(|(_, (_, state, argv))| *state != 'Z' && argv.iter().any(|a| a.contains(&layer)))
        .collect();
    assert!(
        naming_layer.is_empty(),
        "processes name {layer}: {naming_layer:?}"
    );
    assert!(
        host_mounts_of_layers().is_empty(),
        "nothing is mounted on the host"
    );
    assert!(
        layer_dir.is_dir(),
        "nothing ran to remove the killed layer's directory (so the sweep below is what removes it)"
    );

    // The next layer sweeps what the killed one left.
    let out = run(
        project.path(),
        &cache(),
        &["buildroot", "shell", "--arch", "x86_64", "--", "true"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!layer_dir.exists(), "{layer} was swept");
    assert!(
        !layer_dir.with_extension("lock").exists(),
        "its lock file was swept too"
    );
}

/// What a failed create left in a cache: anything but lock files.
fn leftovers(cache_dir: &Path) -> Vec<String> {
    let base = cache_dir.join("buildroot/base");
    std::fs::read_dir(&base)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_unreachable_repository_is_one_clear_error() {
    let cache_dir = tempfile::tempdir().expect("cache");
    // A local path that does not exist: the seed was never made.
    let p = project_with(DEMO_BASEURL, |s| s);
    let (code, err) = fails(
        p.path(),
        cache_dir.path(),
        &["buildroot", "create", "--arch", "x86_64"],
    );
    assert_eq!(code, 2, "{err}");
    let root = p.path().canonicalize().expect("canonical");
    assert!(
        err.contains(&format!(
            "repository `seed` (file://{}/build/seed/x86_64/) cannot be reached: {}/build/seed/x86_64/repodata/repomd.xml: No such file or directory",
            root.display(),
            root.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("the repository `seed` is defined at mock/demo-1.0.tpl:"),
        "{err}"
    );
    assert!(
        err.contains("make it with `azldev toolchain seed --arch x86_64`"),
        "{err}"
    );
    assert_eq!(err.matches('×').count(), 1, "one message: {err}");
    assert!(leftovers(cache_dir.path()).is_empty());

    // A server that refuses the connection.
    let p = project_with("http://127.0.0.1:1/seed/$basearch/", |s| s);
    let (code, err) = fails(
        p.path(),
        cache_dir.path(),
        &["buildroot", "create", "--arch", "x86_64"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "repository `seed` (http://127.0.0.1:1/seed/x86_64/) cannot be reached: \
             http://127.0.0.1:1/seed/x86_64/repodata/repomd.xml: network failure: failed: Connection refused."
        ),
        "{err}"
    );
    assert!(!err.contains("toolchain seed"), "not a local seed: {err}");
    assert!(leftovers(cache_dir.path()).is_empty());
}

#[test]
fn a_setup_package_nothing_provides_is_one_clear_error_and_leaves_no_half_root() {
    let seed = seed_project();
    ensure_seed(seed.path(), "x86_64");
    let cache_dir = tempfile::tempdir().expect("cache");
    let p = project_with(&format!("file://{}/seed/$basearch/", cache().display()), |s| {
        s.replace("tar xz-utils'", "tar xz-utils no-such-package'")
    });
    let (code, err) = fails(
        p.path(),
        cache_dir.path(),
        &["buildroot", "create", "--arch", "x86_64"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nothing provides no-such-package in the repositories of the buildroot (seed)"),
        "{err}"
    );
    assert!(
        err.contains("`no-such-package` is a setup package of mock/demo-1.0.tpl:11:1"),
        "{err}"
    );
    assert_eq!(err.matches('×').count(), 1, "one message: {err}");
    assert!(
        leftovers(cache_dir.path()).is_empty(),
        "{:?}",
        leftovers(cache_dir.path())
    );
    let listed = ok(p.path(), cache_dir.path(), &["buildroot", "list"]);
    assert_eq!(listed, "no base roots\n");
}

#[test]
fn not_being_root_says_what_is_needed() {
    use std::os::unix::fs::PermissionsExt;
    let p = seed_project();
    ensure_seed(p.path(), "x86_64");
    let cache_dir = tempfile::tempdir().expect("cache");
    for d in [p.path(), cache_dir.path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    // The same binary, as `nobody`.
    let as_nobody = |args: &[&str]| {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(assert_cmd::cargo::cargo_bin("azldev"))
            .env("AZLDEV_CACHE_DIR", cache_dir.path())
            .env("HOME", cache_dir.path())
            .arg("--color=never")
            .arg("-C")
            .arg(p.path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("setpriv runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = as_nobody(&["buildroot", "create", "--arch", "x86_64"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "creating a base root needs root (mount namespaces, overlayfs and installs into a root); \
             run azldev as root, e.g. with sudo"
        ),
        "{err}"
    );
    assert_eq!(err.matches('×').count(), 1, "one message: {err}");
    let (code, err) = as_nobody(&["buildroot", "shell", "--arch", "x86_64", "--", "true"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs root"), "{err}");
    assert!(leftovers(cache_dir.path()).is_empty());
}

#[test]
fn toolchain_seed_second_run_is_up_to_date_and_does_nothing() {
    let p = seed_project();
    // First run: makes the seed when missing, else confirms it.
    let first = ensure_seed(p.path(), "x86_64");
    assert_eq!(first["arch"], "x86_64");
    assert!(first["packages"].as_u64().expect("packages") > 140, "{first}");
    let repo = cache().join("seed/x86_64");
    let repomd = repo.join("repodata/repomd.xml");
    let before = std::fs::metadata(&repomd)
        .expect("repomd.xml")
        .modified()
        .expect("mtime");
    let _guard = locked("seed-x86_64");
    let out = ok(
        p.path(),
        &cache(),
        &[
            "toolchain",
            "seed",
            "--arch",
            "x86_64",
            "-o",
            repo.to_str().expect("utf-8"),
        ],
    );
    assert!(
        out.starts_with(&format!(
            "x86_64: seed up to date ({} packages) in {}",
            first["packages"],
            repo.display()
        )),
        "{out}"
    );
    let again: serde_json::Value = serde_json::from_str(&ok(
        p.path(),
        &cache(),
        &[
            "toolchain",
            "seed",
            "--arch",
            "x86_64",
            "-o",
            repo.to_str().expect("utf-8"),
            "--format",
            "json",
        ],
    ))
    .expect("JSON");
    assert_eq!(again["up-to-date"], true, "{again}");
    assert_eq!(again["converted"], 0, "{again}");
    assert_eq!(again["downloaded"], 0, "{again}");
    assert_eq!(again["resolved"], false, "{again}");
    assert_eq!(
        std::fs::metadata(&repomd)
            .expect("repomd.xml")
            .modified()
            .expect("mtime"),
        before,
        "the repository was not rewritten"
    );
}

/// `buildroot create --format json` on the shared cache: the one root.
fn create_json(project: &Path, cache_dir: &Path) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&ok(
        project,
        cache_dir,
        &["buildroot", "create", "--arch", "x86_64", "--format", "json"],
    ))
    .expect("JSON");
    assert_eq!(v["roots"].as_array().map(Vec::len), Some(1), "{v}");
    v["roots"][0].clone()
}

#[test]
fn buildroot_create_list_and_shell() {
    let p = seed_project();
    ensure_seed(p.path(), "x86_64");
    let root = create_json(p.path(), &cache());
    assert_eq!(root["arch"], "x86_64");
    let key = root["key"].as_str().expect("key").to_owned();
    assert!(
        key.len() == 24 && key.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    let path = PathBuf::from(root["path"].as_str().expect("path"));
    assert_eq!(path, cache().join(format!("buildroot/base/x86_64-{key}/root")));
    assert!(path.join("usr/bin/gcc").exists() || path.join("usr/bin/cc").exists());
    assert!(root["packages"].as_u64().expect("packages") > 100, "{root}");
    // Again: cached, the same root.
    let again = create_json(p.path(), &cache());
    assert_eq!(again["key"], root["key"]);
    assert_eq!(again["created"], root["created"]);
    let created = ok(p.path(), &cache(), &["buildroot", "create", "--arch", "x86_64"]);
    assert!(
        created.starts_with(&format!("x86_64: base root {key} (")) && created.contains(" cached at "),
        "{created}"
    );

    // list: text and JSON name it.
    let listed = ok(p.path(), &cache(), &["buildroot", "list"]);
    let line = listed
        .lines()
        .find(|l| l.contains(&key))
        .unwrap_or_else(|| panic!("{key} listed:\n{listed}"));
    assert!(
        line.starts_with("x86_64 ") && line.ends_with(&path.display().to_string()),
        "{line}"
    );
    let v: serde_json::Value = serde_json::from_str(&ok(
        p.path(),
        &cache(),
        &["buildroot", "list", "--format", "json"],
    ))
    .expect("JSON");
    let entry = v["roots"]
        .as_array()
        .expect("roots")
        .iter()
        .find(|r| r["key"] == key.as_str())
        .expect("listed in JSON");
    assert_eq!(entry["size-bytes"], root["size-bytes"]);

    // shell: the command's exit code comes back.
    let out = run(
        p.path(),
        &cache(),
        &[
            "buildroot",
            "shell",
            "--arch",
            "x86_64",
            "--",
            "sh",
            "-c",
            "exit 7",
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    // --bind: read-only by default, `:rw` writable; the rest of the host unseen.
    let src = tempfile::tempdir().expect("src");
    let dst = tempfile::tempdir().expect("dst");
    std::fs::write(src.path().join("in.txt"), "from the host\n").expect("write");
    let out = ok(
        p.path(),
        &cache(),
        &[
            "buildroot",
            "shell",
            "--arch",
            "x86_64",
            "--bind",
            &format!("{}:/in", src.path().display()),
            "--bind",
            &format!("{}:/out:rw", dst.path().display()),
            "--",
            "sh",
            "-c",
            "cat /in/in.txt > /out/copied.txt && ! touch /in/x 2>/dev/null && echo ok; \
             test -e /work && echo host-visible; hostname",
        ],
    );
    assert_eq!(out, "ok\nazldev\n");
    assert_eq!(
        std::fs::read_to_string(dst.path().join("copied.txt")).expect("copied"),
        "from the host\n"
    );
    assert!(!src.path().join("x").exists());
    // --install: a seed package the base does not have (mawk), in this layer only.
    let out = run(
        p.path(),
        &cache(),
        &[
            "buildroot",
            "shell",
            "--arch",
            "x86_64",
            "--",
            "sh",
            "-c",
            "test -e /usr/bin/mawk",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "mawk is not in the base: {}",
        text(&out)
    );
    let out = ok(
        p.path(),
        &cache(),
        &[
            "buildroot",
            "shell",
            "--arch",
            "x86_64",
            "--install",
            "mawk",
            "--",
            "sh",
            "-c",
            "mawk 'BEGIN { print 6 * 7 }' && rpm -q --qf '%{NAME}\\n' mawk",
        ],
    );
    assert_eq!(out, "42\nmawk\n");
    assert!(!path.join("usr/bin/mawk").exists(), "the base root is untouched");
}

#[test]
fn buildroot_clean_removes_roots_the_definitions_no_longer_produce() {
    let seed = seed_project();
    ensure_seed(seed.path(), "x86_64");
    let cache_dir = tempfile::tempdir().expect("cache");
    let baseurl = format!("file://{}/seed/$basearch/", cache().display());
    let p = project_with(&baseurl, |s| s);
    let old = create_json(p.path(), cache_dir.path());
    let old_key = old["key"].as_str().expect("key").to_owned();
    // Nothing to clean while the definition still produces it.
    let out = ok(p.path(), cache_dir.path(), &["buildroot", "clean"]);
    assert_eq!(out, "0 base roots removed, 1 kept\n");
    // A changed definition (another macro) means another key: the old root
    // is no longer produced, and clean removes it.
    let changed = project_with(&baseurl, |s| {
        s.replace(
            "'Demo Linux'\nconfig_opts['macros']['%distribution']",
            "'Demo Linux 2'\nconfig_opts['macros']['%distribution']",
        )
    });
    let v: serde_json::Value = serde_json::from_str(&ok(
        changed.path(),
        cache_dir.path(),
        &["buildroot", "show", "--arch", "x86_64", "--format", "json"],
    ))
    .expect("JSON");
    assert_eq!(v["macros"]["%vendor"]["value"], "Demo Linux 2", "{v}");
    // A layer left by a killed run is swept too.
    let layers = cache_dir.path().join("buildroot/layers");
    std::fs::create_dir_all(layers.join("x86_64-4194304-0/upper")).expect("mkdir");
    std::fs::write(layers.join("x86_64-4194304-0.lock"), "").expect("lock");
    let out = ok(changed.path(), cache_dir.path(), &["buildroot", "clean"]);
    assert!(
        out.starts_with(&format!("removed x86_64 base root {old_key} (")),
        "{out}"
    );
    assert!(
        out.ends_with("1 base root removed, 0 kept, 1 abandoned layers swept\n"),
        "{out}"
    );
    assert!(
        !cache_dir
            .path()
            .join(format!("buildroot/base/x86_64-{old_key}"))
            .exists()
    );
    assert!(!layers.join("x86_64-4194304-0").exists());
    assert_eq!(
        ok(changed.path(), cache_dir.path(), &["buildroot", "list"]),
        "no base roots\n"
    );
}

#[test]
fn buildroot_show_demo_json() {
    let root = workspace();
    let out = run(
        &root,
        &cache(),
        &["buildroot", "show", "--arch", "x86_64", "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = String::from_utf8(out.stdout)
        .expect("utf-8")
        .replace(&root.display().to_string(), "[PROJECT]");
    let v: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v["distro"], "demo");
    assert_eq!(v["mock-config-key"], "mock-config-x86_64");
    assert_eq!(v["repos"][0]["baseurl"][0], "file://[PROJECT]/build/seed/x86_64/");
    insta::assert_snapshot!("buildroot_show_demo_x86_64_json", json);
}

#[test]
fn a_create_killed_mid_install_leaves_no_process_and_no_root_and_the_next_one_completes() {
    let seed = seed_project();
    ensure_seed(seed.path(), "x86_64");
    let cache_dir = tempfile::tempdir().expect("cache");
    let mut child = azldev_cmd(seed.path(), cache_dir.path())
        .args(["buildroot", "create", "--arch", "x86_64"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn azldev");
    let pid = child.id();
    // Kill it while dnf installs into the staging directory.
    let deadline = Instant::now() + Duration::from_secs(600);
    let tree = loop {
        let tree = descendants(pid);
        let staging = std::fs::read_dir(cache_dir.path().join("buildroot/base"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            })
            .unwrap_or(false);
        if staging
            && tree
                .values()
                .any(|a| a.iter().any(|x| x == "dnf" || x.ends_with("/dnf")))
        {
            break tree;
        }
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "azldev ended before dnf ran"
        );
        assert!(Instant::now() < deadline, "dnf never ran");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(500));
    child.kill().expect("SIGKILL azldev");
    child.wait().expect("reap");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = survivors(&tree);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes of the killed create survive: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // No root was published; list shows none.
    assert_eq!(
        ok(seed.path(), cache_dir.path(), &["buildroot", "list"]),
        "no base roots\n"
    );
    // The next create sweeps the staging directory and completes.
    let root = create_json(seed.path(), cache_dir.path());
    assert!(
        PathBuf::from(root["path"].as_str().expect("path"))
            .join("usr/bin/bash")
            .exists()
    );
    assert!(
        leftovers(cache_dir.path())
            .iter()
            .all(|n| !n.starts_with(".tmp-")),
        "{:?}",
        leftovers(cache_dir.path())
    );
}
