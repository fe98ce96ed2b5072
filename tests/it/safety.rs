//! Hostile or careless input (issue 16): what azldev may delete, read and
//! publish, limits on what it fetches and unpacks, names and numbers rpm
//! rejects, exit codes and closed pipes. One test (or more) per class,
//! through the binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use azldev_e2e::spec;

use super::{World, upstream_component};

fn project(specs_dir: &str, components: &str) -> String {
    format!(
        "[project]\nrendered-specs-dir = \"{specs_dir}\"\n\n\
         [distros.up]\ndist-git-base-uri = \"../up/$pkg\"\ndefault-version = \"1\"\n\
         [distros.up.versions.1]\nrelease-ver = \"1\"\ndist-git-branch = \"main\"\n\n{components}"
    )
}

/// Class 1: `--clean-stale` removes only directories azldev wrote (they
/// carry its marker); a user's directory in the output tree is kept.
#[test]
fn clean_stale_removes_only_what_azldev_wrote() {
    let w = World::new();
    w.upstream("alpha");
    w.upstream("beta");
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        upstream_component("beta")
    ));
    w.ok(&["render"]);
    let marker = w.read("specs/b/beta/.azldev-rendered");
    assert!(marker.contains("component = \"beta\""), "{marker}");
    // The user keeps their own files in the tree, in the place of a
    // component azldev does not know, and beside one it does.
    w.write("specs/m/mine/notes.txt", "precious\n");
    w.write("specs/a/alpha-notes/todo.txt", "precious too\n");
    w.config(&upstream_component("alpha"));
    let out = w.ok(&["render", "--clean-stale"]);
    assert!(
        !w.distro().join("specs/b").exists(),
        "beta was azldev's: removed\n{out}"
    );
    assert_eq!(w.read("specs/m/mine/notes.txt"), "precious\n");
    assert_eq!(w.read("specs/a/alpha-notes/todo.txt"), "precious too\n");
    assert!(out.contains("azldev did not write it"), "{out}");
    // A user's directory where a component goes is not replaced either.
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        upstream_component("mine")
    ));
    w.upstream("mine");
    let out = w.fails(&["render"]);
    assert!(out.contains("azldev did not write it"), "{out}");
    assert_eq!(w.read("specs/m/mine/notes.txt"), "precious\n");
}

/// Class 1: output directories that hold or are the project, its
/// configuration, locks or VCS metadata are refused at validation, with
/// file, line and column; `-o` may point outside the project but is
/// never cleaned of what azldev did not write.
#[test]
fn dangerous_output_directories_are_refused() {
    let w = World::new();
    w.upstream("alpha");
    w.write("components/alpha.toml", &upstream_component("alpha"));
    std::fs::create_dir_all(w.distro().join(".git")).expect("mkdir");
    for (dir, why) in [
        (".", "project root"),
        ("/", "contains the project"),
        ("..", "contains the project"),
        (".git", "version-control"),
        ("locks", "lock directory"),
        ("components", "components/alpha.toml"),
        ("../elsewhere", "outside the project"),
    ] {
        w.write(
            "distro.toml",
            &format!("includes = [\"components/*.toml\"]\n{}", project(dir, "")),
        );
        let out = w.fails(&["config", "check"]);
        assert!(out.contains("rendered-specs-dir"), "{dir}: {out}");
        assert!(out.contains(why), "{dir}: {out}");
        assert!(out.contains("distro.toml:3:22"), "{dir}: file:line:column\n{out}");
        let out = w.azldev(&["render", "--clean-stale"]);
        assert_eq!(out.status.code(), Some(2), "{dir}: render refuses");
    }
    assert!(w.distro().join("components/alpha.toml").is_file());
    w.write(
        "distro.toml",
        &format!("includes = [\"components/*.toml\"]\n{}", project("specs", "")),
    );
    // -o: outside is fine, the project root is not.
    let out = w.azldev(&["render", "-o", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("project root"));
    let outside = w.root.path().join("outside");
    std::fs::create_dir_all(outside.join("z/zzz")).expect("mkdir");
    std::fs::write(outside.join("z/zzz/keep"), "x").expect("write");
    w.ok(&["render", "--clean-stale", "-o", outside.to_str().expect("utf-8")]);
    assert!(outside.join("a/alpha/alpha.spec").is_file());
    assert!(
        outside.join("z/zzz/keep").is_file(),
        "-o is never cleaned of what azldev did not write"
    );
}

/// Class 2: local specs and includes are confined to the project; a local
/// component publishes the files its spec refers to, not its whole
/// directory.
#[test]
fn reads_stay_inside_the_project() {
    let w = World::new();
    w.write("../secret.toml", "[components.leak]\nsecret = \"hunter2\"\n");
    std::fs::create_dir_all(w.root.path().join("elsewhere")).expect("mkdir");
    std::fs::write(w.root.path().join("elsewhere/x.spec"), spec("x", "1", "1")).expect("write");
    for (components, key) in [
        (
            "[components.x]\nspec = { type = \"local\", path = \"../elsewhere/x.spec\" }\n",
            "outside the project",
        ),
        (
            "[components.x]\nspec = { type = \"local\", path = \"/etc/hostname\" }\n",
            "outside the project",
        ),
    ] {
        w.config(components);
        let out = w.fails(&["config", "check"]);
        assert!(out.contains(key) && out.contains("distro.toml:"), "{out}");
        assert_eq!(w.azldev(&["render"]).status.code(), Some(2));
        assert!(!w.distro().join("specs").exists());
    }
    w.write(
        "distro.toml",
        &format!("includes = [\"../secret.toml\"]\n{}", project("specs", "")),
    );
    let out = w.fails(&["config", "check"]);
    assert!(
        out.contains("outside the project") && out.contains("distro.toml:1:"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2"),
        "foreign contents are never echoed: {out}"
    );
    // A local component: only what its spec refers to is published.
    w.write("components/delta/delta.spec", &spec("delta", "0.1", "1"));
    w.write("components/delta/delta.conf", "d\n");
    w.write("components/delta/private-notes.txt", "not for publication\n");
    w.config("[components.delta]\nspec = { type = \"local\", path = \"components/delta/delta.spec\" }\n");
    w.ok(&["render"]);
    let mut files: Vec<String> = std::fs::read_dir(w.distro().join("specs/d/delta"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, [".azldev-rendered", "delta.conf", "delta.spec"]);
}

/// Class 4: the incremental shortcut keys on the output (the marker's
/// fingerprint), not on the lock; leftovers of killed renders go every time.
#[test]
fn the_shortcut_trusts_the_output_and_leftovers_go() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    w.ok(&["render"]);
    // A render into another directory writes the locks for a changed
    // overlay; specs/ still holds the old output.
    w.config(&format!(
        "{}[[components.alpha.overlays]]\ntype = \"spec-update-tag\"\ntag = \"Release\"\nvalue = \"7%{{?dist}}\"\n",
        upstream_component("alpha")
    ));
    w.ok(&["render", "-o", "../other"]);
    let out = w.ok(&["render"]);
    assert!(out.contains("1 rendered, 0 unchanged"), "{out}");
    assert!(
        w.read("specs/a/alpha/alpha.spec")
            .contains("Release:        7%{?dist}")
    );
    w.ok(&["render", "--check"]);
    // A render killed between writing the directory's staging copy and
    // swapping it in, and one killed while building a first tree.
    w.write("specs/a/.alpha.azldev-staging/alpha.spec", "half\n");
    w.write(".specs.azldev-new/a/alpha/alpha.spec", "half\n");
    let out = w.ok(&["render"]);
    assert!(out.contains("0 rendered, 1 unchanged"), "{out}");
    assert!(!w.distro().join("specs/a/.alpha.azldev-staging").exists());
    assert!(!w.distro().join(".specs.azldev-new").exists());
    // A directory whose marker was lost is not trusted.
    std::fs::remove_file(w.distro().join("specs/a/alpha/.azldev-rendered")).expect("rm");
    let out = w.fails(&["render", "--check"]);
    assert!(out.contains(".azldev-rendered (missing)"), "{out}");
}

/// Class 7: component names and Source/Patch numbers rpm rejects.
#[test]
fn names_and_numbers_rpm_rejects() {
    let w = World::new();
    let long = "a".repeat(300);
    for (name, rule) in [
        ("-rf", "must start with a letter"),
        ("a:b", "`:` is not allowed"),
        ("héllo", "not allowed"),
        (long.as_str(), "at most 200"),
    ] {
        w.config(&format!("[components.\"{name}\"]\n"));
        let out = w.fails(&["config", "check"]);
        assert!(
            out.contains("invalid component name") && out.contains(rule),
            "{name}: {out}"
        );
        assert!(out.contains("distro.toml:"), "{out}");
    }
    w.write(
        "x.spec",
        "Name: x\nVersion: 1\nSource4294967295: ok.tar\nSource4294967296: a.tar\nPatch99999999999999999999: p\n",
    );
    let out = w.fails(&["spec", "check", "x.spec"]);
    assert!(
        out.contains("x.spec:4:1") && out.contains("source-number-range"),
        "{out}"
    );
    assert!(out.contains("x.spec:5:1"), "{out}");
    assert!(!out.contains("x.spec:3:1"), "{out}");
}

/// Class 8: a closed pipe ends any command quietly.
#[test]
fn a_closed_pipe_ends_quietly() {
    let w = World::new();
    let mut text = String::from("Name: x\nVersion: 1\n");
    for i in 0..20_000 {
        text.push_str(&format!("Foo{i}: bar\n"));
    }
    w.write("big.spec", &text);
    for args in [
        &["spec", "check", "big.spec"][..],
        &["spec", "check", "--format", "json", "big.spec"],
    ] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("azldev"))
            .current_dir(w.distro())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("read");
        // The reader goes away (`| head -1`).
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty());
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.is_empty(), "quiet: {stderr}");
        assert!(
            matches!(out.status.code(), Some(0 | 141)),
            "{args:?}: {:?}",
            out.status
        );
    }
    assert!(Path::new(&w.distro()).is_dir());
}

/// Class 3: links in an upstream repository are published as the file
/// they point at when it is in the directory, refused (naming the path)
/// when they leave it; an overlay cannot create `.git/…`.
#[test]
fn links_and_vcs_metadata_are_not_published() {
    let w = World::new();
    let up = w.upstream("alpha");
    // `alpha.conf` (Source1) becomes a link to a file in the repository.
    std::fs::create_dir_all(up.dir.join("conf")).expect("mkdir");
    std::fs::write(up.dir.join("conf/real.conf"), "real = 1\n").expect("write");
    std::fs::remove_file(up.dir.join("alpha.conf")).expect("rm");
    std::os::unix::fs::symlink("conf/real.conf", up.dir.join("alpha.conf")).expect("symlink");
    up.commit(&[], "link inside", "2024-01-02T00:00:00Z");
    w.config(&upstream_component("alpha"));
    w.ok(&["render"]);
    let published = w.distro().join("specs/a/alpha/alpha.conf");
    assert!(!published.is_symlink(), "the content is published, not the link");
    assert_eq!(w.read("specs/a/alpha/alpha.conf"), "real = 1\n");
    // A link out of the repository.
    std::fs::remove_file(up.dir.join("alpha.conf")).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", up.dir.join("alpha.conf")).expect("symlink");
    up.commit(&[], "link outside", "2024-01-03T00:00:00Z");
    w.ok(&["lock", "update", "alpha"]);
    let out = w.fails(&["render"]);
    assert!(
        out.contains("`alpha.conf` is a symbolic link to `/etc/passwd`"),
        "{out}"
    );
    assert_eq!(
        w.read("specs/a/alpha/alpha.conf"),
        "real = 1\n",
        "the old directory stays"
    );
    // A local component's link that dangles.
    w.write("components/delta/delta.spec", &spec("delta", "0.1", "1"));
    std::os::unix::fs::symlink("../../../secret", w.distro().join("components/delta/delta.conf"))
        .expect("symlink");
    w.config("[components.delta]\nspec = { type = \"local\", path = \"components/delta/delta.spec\" }\n");
    let out = w.fails(&["render", "delta"]);
    assert!(out.contains("`delta.conf` is a symbolic link"), "{out}");
    assert!(!w.distro().join("specs/d/delta").exists());
    // An overlay that adds `.git/config`.
    w.write("hooks.txt", "[core]\nhooksPath = /tmp/evil\n");
    std::fs::remove_file(w.distro().join("components/delta/delta.conf")).expect("rm");
    w.write("components/delta/delta.conf", "d\n");
    w.config(
        "[components.delta]\nspec = { type = \"local\", path = \"components/delta/delta.spec\" }\n\
         [[components.delta.overlays]]\ntype = \"file-add\"\nfile = \".git/config\"\nsource = \"hooks.txt\"\n",
    );
    let out = w.fails(&["render", "delta"]);
    assert!(out.contains("`.git/config` cannot be published"), "{out}");
    assert!(!w.distro().join("specs/d/delta").exists());
}

/// Class 6: an archive overlay over the member cap fails with the setting
/// named, instead of unpacking it (here through `AZLDEV_*`).
#[test]
fn archive_members_are_capped() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let out = assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .current_dir(w.distro())
        .env("AZLDEV_CACHE_DIR", w.cache.path())
        .env("AZLDEV_ARCHIVE_MAX_MEMBER_SIZE", "0")
        .args(["render"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "0 is not a size");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AZLDEV_ARCHIVE_MAX_MEMBER_SIZE"), "{stderr}");
    assert!(stderr.contains("must be a positive integer"), "{stderr}");
}

/// Class 8: tool-settings errors are diagnostics with file, line, column
/// and did-you-mean.
#[test]
fn settings_errors_are_diagnostics() {
    let w = World::new();
    w.upstream("alpha");
    w.config(&upstream_component("alpha"));
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join("azldev")).expect("mkdir");
    std::fs::write(
        home.path().join("azldev/config.toml"),
        "offline = false\njobz = 4\nfetch-max-size = -1\n",
    )
    .expect("write");
    let out = assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .current_dir(w.distro())
        .env("XDG_CONFIG_HOME", home.path())
        .env("NO_COLOR", "1")
        .args(["render"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown setting `jobz`"), "{stderr}");
    assert!(stderr.contains("config.toml:2:1"), "{stderr}");
    assert!(stderr.contains("did you mean `jobs`?"), "{stderr}");
    assert!(
        stderr.contains("`fetch-max-size` must be a positive integer"),
        "{stderr}"
    );
    assert!(stderr.contains("config.toml:3:18"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
