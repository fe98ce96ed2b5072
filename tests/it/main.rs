//! End-to-end tests of `azldev render` and `azldev lock update` on fixture
//! upstreams made with git.

use std::path::{Path, PathBuf};
use std::process::Output;

use azldev_e2e::{Repo, spec};

mod boot;
mod build;
mod buildroot;
mod diff;
mod dynbr;
mod graph;
mod image;
mod image_kill;
mod koji;
mod local_autorelease;
mod release;
mod safety;
mod section_macros;
mod sources;
mod toolchain;
mod ux;

/// A distro repository plus upstream repositories and a private git cache.
struct World {
    root: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            root: tempfile::tempdir().expect("tempdir"),
            cache: tempfile::tempdir().expect("cache"),
        }
    }

    fn distro(&self) -> PathBuf {
        self.root.path().join("distro")
    }

    fn upstream(&self, pkg: &str) -> Repo {
        let r = Repo::init(self.root.path().join("up").join(pkg), "main");
        r.commit(
            &[
                (&format!("{pkg}.spec"), Some(&spec(pkg, "1.0", "1"))),
                (&format!("{pkg}.conf"), Some("setting = 1\n")),
                ("sources", Some(&format!("SHA512 ({pkg}-1.0.tar.gz) = 00\n"))),
                ("README.md", Some("dist-git readme\n")),
                (".gitignore", Some("*.tar.gz\n")),
            ],
            "import",
            "2024-01-01T00:00:00Z",
        );
        r
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.distro().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// `distro.toml` with an upstream distro (one repository per package)
    /// and `components`.
    fn config(&self, components: &str) {
        self.write(
            "distro.toml",
            &format!(
                "[project]\nrendered-specs-dir = \"specs\"\n\n\
                 [distros.up]\ndist-git-base-uri = \"../up/$pkg\"\ndefault-version = \"1\"\n\
                 [distros.up.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\n{components}"
            ),
        );
    }

    fn azldev(&self, args: &[&str]) -> Output {
        assert_cmd::Command::cargo_bin("azldev")
            .expect("azldev binary")
            .current_dir(self.distro())
            .env("AZLDEV_CACHE_DIR", self.cache.path())
            .env_remove("NO_COLOR")
            .args(args)
            .output()
            .expect("runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.azldev(args);
        assert!(
            out.status.success(),
            "azldev {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.azldev(args);
        assert_eq!(out.status.code(), Some(1), "azldev {args:?} should fail with 1");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.distro().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn lock_commit(&self, name: &str) -> String {
        let text = self.read(&format!("locks/{name}.lock"));
        let line = text
            .lines()
            .find(|l| l.starts_with("upstream-commit"))
            .expect("commit line");
        line.split('"').nth(1).expect("quoted").to_owned()
    }
}

fn upstream_component(name: &str) -> String {
    format!(
        "[components.{name}]\nspec = {{ type = \"upstream\", upstream-distro = {{ name = \"up\", version = \"1\" }} }}\n"
    )
}

#[test]
fn pin_render_and_incremental_rerender() {
    let w = World::new();
    let a = w.upstream("alpha");
    w.upstream("beta");
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        upstream_component("beta")
    ));
    let out = w.ok(&["render"]);
    assert!(out.contains("2 rendered, 0 unchanged, 0 failed"), "{out}");
    assert_eq!(w.lock_commit("alpha"), a.head());
    let rendered = w.read("specs/a/alpha/alpha.spec");
    assert!(rendered.starts_with(
        "# This spec file has been modified by azldev to include build configuration overlays.\n\
         # Do not edit manually; changes may be overwritten.\n\n"
    ));
    assert!(
        rendered.ends_with(&spec("alpha", "1.0", "1")),
        "header + upstream spec"
    );
    // Referenced sidecars and `sources` are copied; dist-git plumbing and
    // unreferenced files are not.
    let mut files: Vec<String> = std::fs::read_dir(w.distro().join("specs/a/alpha"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, [".azldev-rendered", "alpha.conf", "alpha.spec", "sources"]);
    // Nothing changed: nothing recomputed.
    let out = w.ok(&["render"]);
    assert!(out.contains("0 rendered, 2 unchanged"), "{out}");
    // An overlay on one component re-renders only that one.
    w.config(&format!(
        "{}[[components.alpha.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Release\"\nvalue = \"2%{{?dist}}\"\n{}",
        upstream_component("alpha"),
        upstream_component("beta")
    ));
    let out = w.ok(&["render"]);
    assert!(out.contains("1 rendered, 1 unchanged"), "{out}");
    assert!(
        w.read("specs/a/alpha/alpha.spec")
            .contains("\nRelease:        2%{?dist}\n")
    );
    // Same output for any -j.
    w.ok(&["render", "--force", "-j", "1", "-o", "one"]);
    w.ok(&["render", "--force", "-j", "2", "-o", "two"]);
    for f in ["a/alpha/alpha.spec", "a/alpha/alpha.conf", "b/beta/beta.spec"] {
        assert_eq!(w.read(&format!("one/{f}")), w.read(&format!("two/{f}")));
        assert_eq!(w.read(&format!("one/{f}")), w.read(&format!("specs/{f}")));
    }
}

#[test]
fn upstream_moves_pin_holds_until_lock_update() {
    let w = World::new();
    let a = w.upstream("alpha");
    let first = a.head();
    w.config(&upstream_component("alpha"));
    w.ok(&["render"]);
    let second = a.commit(
        &[("alpha.spec", Some(&spec("alpha", "1.1", "1")))],
        "update to 1.1",
        "2024-02-01T00:00:00Z",
    );
    let out = w.ok(&["render"]);
    assert!(out.contains("0 rendered, 1 unchanged"), "the pin holds: {out}");
    assert_eq!(w.lock_commit("alpha"), first);
    let out = w.ok(&["lock", "update", "alpha"]);
    assert!(
        out.contains(&format!("alpha: {} -> {}", &first[..12], &second[..12])),
        "{out}"
    );
    assert_eq!(w.lock_commit("alpha"), second);
    let out = w.ok(&["render"]);
    assert!(out.contains("1 rendered"), "{out}");
    assert!(
        w.read("specs/a/alpha/alpha.spec")
            .contains("Version:        1.1\n")
    );
}

#[test]
fn snapshot_resolves_to_newest_commit_before_the_date() {
    let w = World::new();
    let a = w.upstream("alpha");
    let jan = a.head();
    a.commit(
        &[("alpha.spec", Some(&spec("alpha", "2.0", "1")))],
        "feb",
        "2024-02-01T00:00:00Z",
    );
    // Snapshots are set for a whole distro version (azldev refuses them per
    // component).
    w.write(
        "distro.toml",
        "[project]\ndefault-distro = { name = \"up\", version = \"1\" }\n\n\
         [distros.up]\ndist-git-base-uri = \"../up/$pkg\"\ndefault-version = \"1\"\n\
         [distros.up.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\
         [distros.up.versions.1.default-component-config]\n\
         spec = { type = \"upstream\", upstream-distro = { name = \"up\", version = \"1\", snapshot = \"2024-01-15T00:00:00Z\" } }\n\n\
         [components.alpha]\n",
    );
    w.ok(&["render"]);
    assert_eq!(w.lock_commit("alpha"), jan);
    assert!(
        w.read("locks/alpha.lock")
            .contains("snapshot = \"2024-01-15T00:00:00Z\"")
    );
    assert!(
        w.read("specs/a/alpha/alpha.spec")
            .contains("Version:        1.0\n")
    );
}

#[test]
fn rewritten_history_is_a_clear_error() {
    let w = World::new();
    let a = w.upstream("alpha");
    a.commit(
        &[("alpha.conf", Some("setting = 2\n"))],
        "tweak",
        "2024-02-01T00:00:00Z",
    );
    w.config(&upstream_component("alpha"));
    w.ok(&["render"]);
    let pinned = w.lock_commit("alpha");
    // Upstream force-pushes: the pinned commit is gone.
    a.git(&["reset", "-q", "--hard", "HEAD~1"], "2024-03-01T00:00:00Z");
    a.commit(
        &[("alpha.conf", Some("setting = 3\n"))],
        "rewritten",
        "2024-03-01T00:00:00Z",
    );
    a.git(
        &["reflog", "expire", "--expire=now", "--all"],
        "2024-03-01T00:00:00Z",
    );
    a.git(&["gc", "-q", "--prune=now"], "2024-03-01T00:00:00Z");
    // A fresh machine (empty cache) cannot find the pin.
    std::fs::remove_dir_all(w.cache.path()).expect("clear cache");
    let out = w.fails(&["render", "--force"]);
    assert!(out.contains(&pinned), "{out}");
    assert!(out.contains("azldev lock update alpha"), "{out}");
    w.ok(&["lock", "update", "alpha"]);
    w.ok(&["render"]);
    assert_eq!(w.read("specs/a/alpha/alpha.conf"), "setting = 3\n");
}

#[test]
fn offline_with_and_without_cache() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let out = w.fails(&["render", "--offline"]);
    assert!(out.contains("offline"), "{out}");
    assert!(
        !w.distro().join("specs/a/alpha").exists(),
        "nothing written for the failure"
    );
    w.ok(&["render"]);
    // The upstream disappears entirely; the cache is enough offline.
    std::fs::remove_dir_all(w.root.path().join("up")).expect("remove upstream");
    w.ok(&["render", "--offline", "--force", "-o", "again"]);
    assert_eq!(
        w.read("again/a/alpha/alpha.spec"),
        w.read("specs/a/alpha/alpha.spec")
    );
}

#[test]
fn monorepo_upstream_with_dist_git_path() {
    let w = World::new();
    let mono = Repo::init(w.root.path().join("mono"), "trunk");
    mono.commit(
        &[
            ("SPECS/alpha/alpha.spec", Some(&spec("alpha", "1.0", "3"))),
            ("SPECS/alpha/alpha.conf", Some("a\n")),
            ("SPECS/beta/beta.spec", Some(&spec("beta", "2.0", "1"))),
            ("SPECS/beta/beta.conf", Some("b\n")),
            ("toolkit/README", Some("other stuff\n")),
        ],
        "import",
        "2024-01-01T00:00:00Z",
    );
    w.write(
        "distro.toml",
        "[project]\nrendered-specs-dir = \"specs\"\n\n\
         [distros.mono]\ndist-git-base-uri = \"../mono\"\ndist-git-path = \"SPECS/$pkg\"\ndefault-version = \"3\"\n\
         [distros.mono.versions.3]\nrelease-ver = \"3\"\ndist-git-branch = \"trunk\"\n\n\
         [components.alpha]\nspec = { type = \"upstream\", upstream-distro = { name = \"mono\", version = \"3\" } }\n\
         [components.beta]\nspec = { type = \"upstream\", upstream-distro = { name = \"mono\", version = \"3\" } }\n",
    );
    let out = w.ok(&["render"]);
    assert!(out.contains("2 rendered"), "{out}");
    assert!(
        w.read("specs/b/beta/beta.spec")
            .ends_with(&spec("beta", "2.0", "1"))
    );
    assert_eq!(w.read("specs/a/alpha/alpha.conf"), "a\n");
    assert_eq!(w.lock_commit("alpha"), mono.head());
    assert_eq!(w.lock_commit("beta"), mono.head());
}

#[test]
fn local_component() {
    let w = World::new();
    w.write("components/gamma/gamma.spec", &spec("gamma", "0.1", "1"));
    w.write("components/gamma/gamma.conf", "g\n");
    w.config("[components.gamma]\nspec = { type = \"local\", path = \"components/gamma/gamma.spec\" }\n");
    w.ok(&["render"]);
    assert!(
        w.read("specs/g/gamma/gamma.spec")
            .ends_with(&spec("gamma", "0.1", "1"))
    );
    assert_eq!(w.read("specs/g/gamma/gamma.conf"), "g\n");
    assert!(w.ok(&["render"]).contains("1 unchanged"));
    // Editing the local spec re-renders it.
    w.write("components/gamma/gamma.spec", &spec("gamma", "0.2", "1"));
    assert!(w.ok(&["render"]).contains("1 rendered"));
    assert!(
        w.read("specs/g/gamma/gamma.spec")
            .contains("Version:        0.2\n")
    );
}

#[test]
fn check_reports_drift_and_stale_directories() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    w.ok(&["render"]);
    w.ok(&["render", "--check"]);
    w.write("specs/a/alpha/alpha.conf", "hand edited\n");
    let out = w.fails(&["render", "--check"]);
    assert!(out.contains("drifted: alpha"), "{out}");
    assert!(out.contains("alpha.conf"), "{out}");
    assert_eq!(
        w.read("specs/a/alpha/alpha.conf"),
        "hand edited\n",
        "--check writes nothing"
    );
    // A whole-distro render trusts the fingerprint; naming the component
    // renders and compares it, and repairs the edit.
    let out = w.ok(&["render"]);
    assert!(out.contains("0 rendered, 1 unchanged"), "{out}");
    assert_eq!(w.read("specs/a/alpha/alpha.conf"), "hand edited\n");
    let out = w.ok(&["render", "alpha"]);
    assert!(out.contains("1 rendered, 0 unchanged"), "{out}");
    assert_ne!(w.read("specs/a/alpha/alpha.conf"), "hand edited\n");
    w.ok(&["render", "--check"]);
    let out = w.ok(&["render", "alpha"]);
    assert!(
        out.contains("0 rendered, 1 unchanged"),
        "identical: nothing written: {out}"
    );
    // `--force` repairs it too.
    w.write("specs/a/alpha/alpha.conf", "hand edited\n");
    w.ok(&["render", "--force"]);
    w.ok(&["render", "--check"]);
    // A directory azldev wrote (its marker says so) for a component that
    // is gone is stale; one it did not write is reported and kept.
    w.write("specs/o/orphan/orphan.spec", "Name: orphan\n");
    w.write(
        "specs/o/orphan/.azldev-rendered",
        "component = \"orphan\"\nfingerprint = \"sha256:0\"\n",
    );
    w.write("specs/u/unknown/unknown.spec", "Name: unknown\n");
    let out = w.fails(&["render", "--check", "--clean-stale"]);
    assert!(out.contains("stale: orphan"), "{out}");
    assert!(!out.contains("stale: unknown"), "{out}");
    let out = w.ok(&["render", "--clean-stale"]);
    assert!(!w.distro().join("specs/o").exists());
    assert!(out.contains("azldev did not write it"), "{out}");
    assert!(w.distro().join("specs/u/unknown/unknown.spec").is_file());
    w.ok(&["render", "--check", "--clean-stale"]);
}

#[test]
fn archive_overlays_refuse_a_sources_digest_that_is_not_hex() {
    // Upstream's `sources` is input: its digest names a file in the source
    // cache, so a path there must not reach the filesystem.
    let w = World::new();
    let up = w.upstream("alpha");
    up.commit(
        &[(
            "sources",
            Some("SHA512 (alpha-1.0.tar.gz) = ../../../../escaped\n"),
        )],
        "point outside the cache",
        "2024-01-02T00:00:00Z",
    );
    w.config(&format!(
        "{}[[components.alpha.source-files]]\nfilename = \"alpha-1.0.tar.gz\"\n\
         origin = {{ type = \"overlay\" }}\nreplace-upstream = true\nreplace-reason = \"test\"\n\
         hash = \"{}\"\nhash-type = \"SHA512\"\n\n\
         [[components.alpha.overlays]]\ntype = \"file-remove\"\narchive = \"alpha-1.0.tar.gz\"\nfile = \"x\"\n",
        upstream_component("alpha"),
        "0".repeat(128)
    ));
    let out = w.fails(&["render"]);
    assert!(out.contains("archive `alpha-1.0.tar.gz`"), "{out}");
    assert!(out.contains("is not a sha512 digest"), "{out}");
    assert!(!w.cache.path().join("escaped").exists());
    assert!(!w.root.path().join("escaped").exists());
}

#[test]
fn a_failing_component_does_not_stop_the_others() {
    let w = World::new();
    w.upstream("alpha");
    w.upstream("beta");
    w.config(&format!(
        "{}[[components.alpha.overlays]]\ndescription = \"drop docs\"\ntype = \"spec-remove-section\"\nsection = \"%files\"\npackage = \"docs\"\n{}",
        upstream_component("alpha"),
        upstream_component("beta")
    ));
    let out = w.fails(&["render"]);
    assert!(out.contains("1 rendered, 0 unchanged, 1 failed"), "{out}");
    assert!(out.contains("distro.toml:"), "points into TOML: {out}");
    assert!(out.contains("drop docs"), "{out}");
    assert!(!w.distro().join("specs/a/alpha").exists());
    assert!(!w.distro().join("locks/alpha.lock").exists());
    assert!(w.distro().join("specs/b/beta/beta.spec").exists());
    let json = w.azldev(&["render", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["components"][0]["name"], "alpha");
    assert_eq!(v["components"][0]["status"], "failed");
}

#[test]
fn locked_refuses_new_pins_and_bad_remotes_are_refused() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let out = w.fails(&["render", "--locked"]);
    assert!(out.contains("--locked"), "{out}");
    assert!(out.contains("azldev lock update alpha"), "{out}");
    w.ok(&["render"]);
    w.ok(&["render", "--locked", "--force"]);
    w.write(
        "distro.toml",
        "[distros.up]\ndist-git-base-uri = \"ext::sh -c touch% /tmp/pwned-$pkg\"\ndefault-version = \"1\"\n\
         [distros.up.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\n\
         [components.alpha]\nspec = { type = \"upstream\", upstream-distro = { name = \"up\", version = \"1\" } }\n",
    );
    let out = w.fails(&["render"]);
    assert!(out.contains("refused"), "{out}");
    assert!(!Path::new("/tmp/pwned-alpha").exists());
}

/// 300 components in one upstream repository, each a spec and a `.conf`
/// sidecar holding `conf`; returns a function committing another version.
fn many_components(w: &World, names: &[String]) -> impl Fn(&str, &str, &str) {
    let mono = Repo::init(w.root.path().join("mono"), "main");
    let commit = move |version: &str, conf: &str, date: &str| {
        let files: Vec<(String, String)> = names
            .iter()
            .flat_map(|n| {
                [
                    (format!("SPECS/{n}/{n}.spec"), spec(n, version, "1")),
                    (format!("SPECS/{n}/{n}.conf"), conf.to_owned()),
                ]
            })
            .collect();
        let refs: Vec<(&str, Option<&str>)> = files
            .iter()
            .map(|(p, c)| (p.as_str(), Some(c.as_str())))
            .collect();
        mono.commit(&refs, "update", date);
    };
    commit("1.0", "old\n", "2024-01-01T00:00:00Z");
    let mut toml = String::from(
        "[distros.mono]\ndist-git-base-uri = \"../mono\"\ndist-git-path = \"SPECS/$pkg\"\ndefault-version = \"1\"\n\
         [distros.mono.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\n",
    );
    for n in names {
        toml.push_str(&format!(
            "[components.{n}]\nspec = {{ type = \"upstream\", upstream-distro = {{ name = \"mono\", version = \"1\" }} }}\n"
        ));
    }
    w.write("distro.toml", &toml);
    commit
}

/// Start `azldev render -j 1` and SIGKILL it once `written` exists.
/// Returns whether it was still running when killed.
fn render_killed_when(w: &World, written: impl Fn() -> bool) -> bool {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(w.distro())
        .env("AZLDEV_CACHE_DIR", w.cache.path())
        .args(["render", "-j", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !written() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::thread::sleep(std::time::Duration::from_millis(10));
    let still_running = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    still_running
}

#[test]
fn interrupted_first_render_leaves_no_tree_and_the_next_one_completes() {
    let w = World::new();
    let names: Vec<String> = (0..300).map(|i| format!("pkg{i:03}")).collect();
    let _commit = many_components(&w, &names);
    // Pins first, so the render below only writes.
    w.ok(&["lock", "update", "--all"]);
    let building = w.distro().join(".specs.azldev-new");
    let first = building.join("p/pkg000/pkg000.conf");
    assert!(
        render_killed_when(&w, || first.exists()),
        "the render was interrupted part-way (machine too fast for this test?)"
    );
    // A first render publishes its tree whole or not at all.
    assert!(!w.distro().join("specs").exists());
    assert!(building.is_dir(), "the half-built tree is hidden beside");
    w.ok(&["render"]);
    assert!(!building.exists(), "the next render removes what was left");
    for n in &names {
        let conf = w.distro().join(format!("specs/p/{n}/{n}.conf"));
        assert_eq!(std::fs::read_to_string(conf).expect("conf"), "old\n");
    }
    w.ok(&["render", "--check"]);
}

#[test]
fn interrupted_render_leaves_previous_directories_intact() {
    let w = World::new();
    let names: Vec<String> = (0..300).map(|i| format!("pkg{i:03}")).collect();
    let commit = many_components(&w, &names);
    w.ok(&["render"]);
    commit("9.9", "new\n", "2024-02-01T00:00:00Z");
    w.ok(&["lock", "update", "--all"]);
    // Kill it (SIGKILL) once it has written some directories.
    let first = w.distro().join("specs/p/pkg000/pkg000.conf");
    assert!(
        render_killed_when(&w, || std::fs::read_to_string(&first).is_ok_and(|c| c != "old\n")),
        "the render was interrupted part-way (machine too fast for this test?)"
    );
    // Every directory is complete: entirely old or entirely new.
    let (mut old_count, mut new_count) = (0, 0);
    for n in &names {
        let dir = w.distro().join(format!("specs/p/{n}"));
        let spec_text = std::fs::read_to_string(dir.join(format!("{n}.spec"))).unwrap_or_default();
        let conf = std::fs::read_to_string(dir.join(format!("{n}.conf"))).unwrap_or_default();
        if spec_text.contains("Version:        1.0\n") && conf == "old\n" {
            old_count += 1;
        } else if spec_text.contains("Version:        9.9\n") && conf == "new\n" {
            new_count += 1;
        } else {
            panic!("{n} is damaged or a mix of old and new");
        }
    }
    assert!(
        new_count > 0 && old_count > 0,
        "interrupted part-way: {new_count} new, {old_count} old"
    );
    w.ok(&["render"]);
    w.ok(&["render", "--check"]);
    let leftovers: Vec<String> = std::fs::read_dir(w.distro().join("specs/p"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "staging leftovers: {leftovers:?}");
}

#[test]
fn demo_distro_rendered_tree_is_current() {
    // The repository's own demo distro: regenerate its upstreams (the same
    // bytes on every machine) where distro.toml expects them, then render
    // in memory and compare with the checked-in tree and pins.
    let root = azldev_e2e::demo::workspace_root();
    azldev_e2e::demo::generate(
        &azldev_e2e::demo::default_fixtures(),
        &azldev_e2e::demo::default_out(),
    )
    .expect("generate the demo upstreams");
    let cache = tempfile::tempdir().expect("cache");
    let locks_before: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(root.join("locks"))
        .expect("locks/")
        .map(|e| {
            let p = e.expect("entry").path();
            let data = std::fs::read(&p).expect("read");
            (p, data)
        })
        .collect();
    assert!(
        locks_before.len() >= 10,
        "the demo distro has its pins checked in"
    );
    let out = assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .current_dir(&root)
        .env("AZLDEV_CACHE_DIR", cache.path())
        .args(["render", "--check", "--locked", "--clean-stale"])
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the checked-in specs/ is not what `cargo xtask demo` renders:\n{text}"
    );
    assert!(
        text.contains(&format!(
            "0 rendered, {} unchanged, 0 drifted, 0 failed",
            // The toolchain seed's locks (`seed-<arch>.lock`) pin no component.
            locks_before
                .iter()
                .filter(|(p, _)| !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("seed-")))
                .count()
        )),
        "{text}"
    );
    for (p, data) in locks_before {
        assert_eq!(
            std::fs::read(&p).expect("read"),
            data,
            "{} unchanged",
            p.display()
        );
    }
}

#[test]
fn autorelease_and_autochangelog_expand_from_upstream_history() {
    let w = World::new();
    let spec_v = |version: &str| {
        format!(
            "Name:           delta\nVersion:        {version}\nRelease:        %autorelease\nSummary:        d\nLicense:        MIT\n\n%description\nd\n\n%files\n\n%changelog\n%autochangelog\n"
        )
    };
    let r = Repo::init(w.root.path().join("up").join("delta"), "main");
    r.commit(
        &[("delta.spec", Some(&spec_v("1.0")))],
        "Import 1.0",
        "2024-01-01T00:00:00Z",
    );
    r.commit(
        &[("delta.spec", Some(&spec_v("2.0")))],
        "Update to 2.0",
        "2024-02-01T00:00:00Z",
    );
    r.commit(
        &[("README", Some("x\n"))],
        "Fix the build",
        "2024-03-01T00:00:00Z",
    );
    r.commit(
        &[("README", Some("y\n"))],
        "Tweak docs\n\n[bump release: 5]",
        "2024-04-01T00:00:00Z",
    );
    w.config(&upstream_component("delta"));
    w.ok(&["render"]);
    let out = w.read("specs/d/delta/delta.spec");
    // rpmautospec's block first (release 5 from the bump), then azldev's
    // header, then the spec with the changelog expanded.
    assert!(out.starts_with("## START: Set by rpmautospec\n"), "{out}");
    assert!(out.contains("    release_number = 5;\n"), "{out}");
    let header = "## END: Set by rpmautospec\n\n# This spec file has been modified by azldev to include build configuration overlays.\n";
    assert!(out.contains(header), "{out}");
    assert!(
        out.contains("Release:        %autorelease\n"),
        "the macro stays; the block defines it"
    );
    let changelog = &out[out.find("%changelog\n").expect("changelog")..];
    let headers: Vec<&str> = changelog.lines().filter(|l| l.starts_with("* ")).collect();
    assert_eq!(
        headers,
        [
            "* Mon Apr 01 2024 Fixture Author <fixture@example.org> - 2.0-5",
            "* Fri Mar 01 2024 Fixture Author <fixture@example.org> - 2.0-2",
            "* Thu Feb 01 2024 Fixture Author <fixture@example.org> - 2.0-1",
            "* Mon Jan 01 2024 Fixture Author <fixture@example.org> - 1.0-1",
        ],
        "{changelog}"
    );
    assert!(changelog.contains("- Update to 2.0\n"), "{changelog}");
    assert!(!out.contains("%autochangelog"), "expanded");
}
