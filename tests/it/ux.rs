//! A maintainer's day (issue 17, items 5–9): render-time overlay reports,
//! commands that fit a distro repository, CLI habits, bot output.

use super::{World, upstream_component};

/// A component whose upstream spec has a `-extras` sub-package.
fn extras_upstream(w: &World, pkg: &str) {
    let spec = azldev_e2e::spec(pkg, "1.0", "1").replace(
        "%files\n",
        &format!("%package extras\nSummary: Extras\n\n%description extras\nExtras.\n\n%files extras\n/usr/share/{pkg}\n\n%files\n"),
    );
    let r = azldev_e2e::Repo::init(w.root.path().join("up").join(pkg), "main");
    r.commit(
        &[
            (&format!("{pkg}.spec"), Some(&spec)),
            (&format!("{pkg}.conf"), Some("setting = 1\n")),
            ("sources", Some(&format!("SHA512 ({pkg}-1.0.tar.gz) = 00\n"))),
        ],
        "import",
        "2024-01-01T00:00:00Z",
    );
}

/// Item 5: every failing overlay of a component is reported, numbered as its
/// file numbers it, with the caret under the value at fault and the nearest
/// package, section or tag suggested.
#[test]
fn overlay_failures_point_at_the_value_and_suggest() {
    let w = World::new();
    extras_upstream(&w, "tinyping");
    w.config(&format!(
        "{}overlay-files = [\"overlays/{{component}}/*.overlay.toml\"]\n",
        upstream_component("tinyping")
    ));
    // Three overlays in one overlay file: the 1st and 3rd fail.
    w.write(
        "overlays/tinyping/fix.overlay.toml",
        "[metadata]\ncategory = \"azl-temp-workaround\"\nupstream-status = \"unknown\"\n\n\
         [[overlays]]\ntype = \"spec-append-lines\"\nsection = \"%files\"\npackage = \"extra\"\nlines = [\"/usr/share/x\"]\n\n\
         [[overlays]]\ntype = \"spec-update-tag\"\ntag = \"Summary\"\nvalue = \"Pings\"\n\n\
         [[overlays]]\ntype = \"spec-prepend-lines\"\nsection = \"%descriptoin\"\nlines = [\"x\"]\n\n\
         [[overlays]]\ntype = \"spec-remove-tag\"\ntag = \"Licence\"\n",
    );
    let out = w.azldev(&["render", "--color", "never"]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    // Numbered within the file, 1-based, with the file's name.
    assert!(
        text.contains("overlay 1 (spec-append-lines) in overlays/tinyping/fix.overlay.toml"),
        "{text}"
    );
    assert!(
        text.contains("overlay 3 (spec-prepend-lines) in overlays/tinyping/fix.overlay.toml"),
        "{text}"
    );
    assert!(
        text.contains("overlay 4 (spec-remove-tag) in overlays/tinyping/fix.overlay.toml"),
        "{text}"
    );
    assert!(
        !text.contains("overlay 2 "),
        "the good overlay is not reported: {text}"
    );
    // The caret is under the value: line 8 `package = "extra"`, column 11.
    assert!(text.contains("fix.overlay.toml:8:11"), "{text}");
    assert!(text.contains("did you mean `extras`?"), "{text}");
    assert!(text.contains("did you mean `%description`?"), "{text}");
    assert!(text.contains("did you mean `License`?"), "{text}");
    assert!(!w.distro().join("specs/t/tinyping").exists());
    // JSON: one error string naming every failure.
    let json = w.azldev(&["render", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let err = v["components"][0]["error"].as_str().expect("error");
    assert_eq!(err.matches("(spec-").count(), 3, "{err}");
    assert!(err.contains("did you mean `License`?"), "{err}");
    let located = &v["components"][0]["overlay-errors"];
    assert_eq!(located[0]["path"], "overlays/tinyping/fix.overlay.toml", "{v}");
    assert_eq!(located[0]["line"], 8, "{v}");
    assert_eq!(located[0]["column"], 11, "{v}");
    assert_eq!(located[0]["help"], "did you mean `extras`?", "{v}");
    assert_eq!(located.as_array().map(Vec::len), Some(3), "{v}");
}

/// Item 5: an unknown component name on the command line is suggested like
/// `component show` does.
#[test]
fn render_suggests_a_misspelt_component() {
    let w = World::new();
    w.upstream("tinyping");
    w.config(&upstream_component("tinyping"));
    // `render`, `lock update`, `build` (and `build --plan`) name
    // components the same way, before any buildroot is needed, and exit 2
    // (a usage error) without rendering anything.
    for args in [
        &["render", "tinypnig"][..],
        &["render", "tinyping", "tinypnig"],
        &["render", "--check", "tinypnig"],
        &["lock", "update", "tinypnig"],
        &["build", "tinypnig"],
        &["build", "--plan", "tinypnig"],
    ] {
        let o = w.azldev(args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: an unknown name is a usage error"
        );
        let out = String::from_utf8_lossy(&o.stderr);
        assert!(
            out.contains("no component named `tinypnig`") && out.contains("did you mean `tinyping`?"),
            "{args:?}: {out}"
        );
        assert!(!w.distro().join("specs").exists(), "{args:?} rendered something");
    }
}

/// Completion candidates for the word at `index` of `words` (the way the
/// bash script made by `azldev completions bash` asks for them).
fn complete(w: &World, words: &[&str], index: usize) -> Vec<String> {
    let out = assert_cmd::Command::cargo_bin("azldev")
        .expect("azldev binary")
        .current_dir(w.distro())
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", index.to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .arg("--")
        .args(words)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .split(['\u{b}', '\n'])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && !s.starts_with('-'))
        .collect()
}

/// Item 8: azldev (Go) spellings, one JSON style, completion of names, man
/// pages.
#[test]
fn habits_from_azldev_and_cargo() {
    let w = World::new();
    w.upstream("alpha");
    w.upstream("beta");
    w.config(&format!(
        "{}{}[component-groups.base]\ncomponents = [\"alpha\"]\n\n\
         [images.vm-small]\ndescription = \"a VM\"\n\n[images.container-min]\ndescription = \"a container\"\n",
        upstream_component("alpha"),
        upstream_component("beta")
    ));
    // `comp` is `component`; `component render -a` is `render -a`.
    assert_eq!(w.ok(&["comp", "list"]), w.ok(&["component", "list"]));
    let out = w.ok(&["component", "render", "-a"]);
    assert!(out.contains("2 rendered"), "{out}");
    assert!(w.distro().join("specs/a/alpha/alpha.spec").is_file());
    assert!(w.ok(&["config", "generate-schema"]).contains("\"$schema\""));

    // JSON: objects with kebab-case keys.
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["render", "--format", "json", "--force"]).stdout).expect("json");
    assert!(v["components"][0].get("lock-changed").is_some(), "{v}");
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["component", "list", "--format", "json"]).stdout).expect("json");
    assert_eq!(v["components"][1]["name"], "beta", "{v}");
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["lock", "update", "--format", "json"]).stdout).expect("json");
    assert!(v["components"].is_array(), "{v}");
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["config", "check", "--format", "json"]).stdout).expect("json");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["components"], 2, "{v}");

    // Names complete from the project in the current directory.
    assert_eq!(complete(&w, &["azldev", "render", ""], 2), ["alpha", "beta"]);
    assert_eq!(complete(&w, &["azldev", "comp", "show", "b"], 3), ["beta"]);
    assert_eq!(complete(&w, &["azldev", "render", "-g", ""], 3), ["base"]);
    assert_eq!(
        complete(&w, &["azldev", "image", "show", ""], 3),
        ["container-min", "vm-small"]
    );
    assert_eq!(
        complete(&w, &["azldev", "image", "build", "c"], 3),
        ["container-min"]
    );
    assert_eq!(complete(&w, &["azldev", "image", "boot", "v"], 3), ["vm-small"]);
    let script = w.ok(&["completions", "bash"]);
    assert!(script.contains("COMPLETE=\"bash\""), "{script}");

    // Man pages from the clap definitions.
    let man = w.ok(&["man"]);
    assert!(man.starts_with(".ie") || man.contains(".TH azldev 1"), "{man}");
    let dir = w.root.path().join("man");
    w.ok(&["man", "--out-dir", dir.to_str().expect("utf-8")]);
    let render = std::fs::read_to_string(dir.join("azldev-render.1")).expect("azldev-render.1");
    assert!(render.contains(".TH azldev-render 1"), "{render}");
    assert!(render.contains("clean\\-stale"), "{render}");
    assert!(dir.join("azldev-lock-update.1").is_file());
    assert!(dir.join("azldev-component-show.1").is_file());
}

/// Item 8: `config check --format json` reports the diagnostics, exit 1.
#[test]
fn config_check_json_reports_diagnostics() {
    let w = World::new();
    w.config("[components.a]\nrelase = {}\n");
    let out = w.azldev(&["config", "check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false, "{v}");
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error", "{v}");
    assert_eq!(d["path"], "distro.toml", "{v}");
    assert!(d["line"].as_u64().is_some_and(|l| l > 1), "{v}");
    assert!(d["help"].as_str().is_some_and(|h| h.contains("release")), "{v}");
}

/// `component list PATTERN` that matches nothing says so (exit 1), with the
/// nearest name; one that matches lists and exits 0.
#[test]
fn component_list_pattern_matching_nothing_says_so() {
    let w = World::new();
    w.config("[components.alpha]\n[components.beta]\n");
    let out = w.azldev(&["component", "list", "alhpa*"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains("no component matches `alhpa*` (did you mean `alpha`?)"),
        "{err}"
    );
    let out = w.azldev(&["component", "list", "al*"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("alpha"));
}

/// A configuration with errors: `config check` answers "problems found"
/// (exit 1); every command that needs the configuration prints the same
/// diagnostics and stops as a usage error (exit 2), writing nothing.
#[test]
fn commands_stop_on_a_broken_configuration_with_exit_2() {
    let w = World::new();
    w.config("[components.a]\nrelase = {}\n");
    let out = w.azldev(&["config", "check"]);
    assert_eq!(out.status.code(), Some(1));
    for args in [
        &["render"][..],
        &["build", "--plan", "-a"],
        &["component", "list"],
        &["component", "show", "a"],
        &["buildroot", "show"],
        &["image", "list"],
        &["sources", "fetch"],
        &["toolchain", "seed", "--arch", "x86_64"],
        &["image", "boot", "x"],
    ] {
        let out = w.azldev(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "azldev {args:?}:\n{err}");
        assert!(
            err.contains("distro.toml"),
            "azldev {args:?} names the file:\n{err}"
        );
        assert!(
            err.contains("fix the configuration first"),
            "azldev {args:?}:\n{err}"
        );
    }
    assert!(!w.distro().join("specs").exists(), "nothing rendered");
}

/// Item 7: `render --check` reports stale directories and orphaned locks
/// without `--clean-stale`; `component show` gives the pin and the
/// rendered directory; `component remove` lists, or with `--purge` removes,
/// what the component leaves, and no empty file stays.
#[test]
fn commands_that_fit_a_distro_repository() {
    let w = World::new();
    w.upstream("alpha");
    w.upstream("beta");
    w.config(&upstream_component("alpha"));
    w.write(
        "distro.toml",
        &format!("includes = [\"comps/*.comp.toml\"]\n{}", w.read("distro.toml")),
    );
    w.write(
        "comps/beta.comp.toml",
        &format!(
            "# beta, from up\n{}overlay-files = [\"../overlays/{{component}}/*.overlay.toml\"]\n",
            upstream_component("beta")
        ),
    );
    w.write(
        "overlays/beta/vendor.overlay.toml",
        "[metadata]\ncategory = \"azl-branding-policy\"\nupstream-status = \"inapplicable\"\n\n[[overlays]]\ntype = \"spec-set-tag\"\ntag = \"Vendor\"\nvalue = \"Demo\"\n",
    );
    w.ok(&["render"]);
    let commit = w.lock_commit("beta");

    // `component show`: pinned commit, upstream URL, rendered directory.
    let show = w.ok(&["component", "show", "beta"]);
    assert!(show.contains(&format!("# pinned-commit: {commit}")), "{show}");
    assert!(show.contains("# upstream-url: ../up/beta"), "{show}");
    assert!(show.contains("# rendered-dir: specs/b/beta"), "{show}");
    let v: serde_json::Value = serde_json::from_slice(
        &w.azldev(&["component", "show", "beta", "--format", "json"])
            .stdout,
    )
    .expect("json");
    assert_eq!(v["pinned-commit"], commit.as_str(), "{v}");
    assert_eq!(v["lock-file"], "locks/beta.lock", "{v}");

    // Without --purge: removed from its file, the rest listed and kept.
    let backup = w.read("comps/beta.comp.toml");
    let out = w.ok(&["component", "remove", "beta"]);
    assert!(
        out.contains("removed comps/beta.comp.toml (nothing left in it)"),
        "{out}"
    );
    assert!(
        !w.distro().join("comps/beta.comp.toml").exists(),
        "no empty file is left"
    );
    assert!(
        out.contains("overlay file overlays/beta/vendor.overlay.toml"),
        "{out}"
    );
    assert!(out.contains("lock locks/beta.lock"), "{out}");
    assert!(out.contains("rendered directory specs/b/beta/"), "{out}");
    assert!(w.distro().join("locks/beta.lock").is_file());

    // `render --check` reports both leftovers, without --clean-stale.
    let out = w.fails(&["render", "--check"]);
    assert!(out.contains("stale: beta"), "{out}");
    assert!(out.contains("orphaned lock: beta"), "{out}");
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["render", "--check", "--format", "json"]).stdout).expect("json");
    assert_eq!(v["orphan-locks"][0], "beta", "{v}");
    assert!(
        w.distro().join("specs/b/beta").is_dir(),
        "--check removes nothing"
    );

    // With --purge: overlay file (and its emptied directory), lock and the
    // rendered directory azldev wrote go too.
    w.write("comps/beta.comp.toml", &backup);
    let removed = w.azldev(&["component", "remove", "beta", "--purge", "--format", "json"]);
    assert!(removed.status.success());
    let v: serde_json::Value = serde_json::from_slice(&removed.stdout).expect("json");
    assert_eq!(v["removed"][0], "comps/beta.comp.toml", "{v}");
    assert!(
        v["removed"]
            .as_array()
            .is_some_and(|r| r.iter().any(|p| p == "locks/beta.lock")),
        "{v}"
    );
    let out = String::from_utf8_lossy(&removed.stderr).into_owned();
    assert!(
        out.contains("removed overlay file overlays/beta/vendor.overlay.toml"),
        "{out}"
    );
    assert!(!w.distro().join("overlays/beta").exists(), "{out}");
    assert!(!w.distro().join("locks/beta.lock").exists(), "{out}");
    assert!(!w.distro().join("specs/b/beta").exists(), "{out}");
    w.ok(&["render", "--check"]);
}

/// Item 7: `azldev cache dir|clean`: a failed first clone's `.init`
/// directory is removed; one whose entry is locked is kept.
#[test]
fn cache_dir_and_clean() {
    let w = World::new();
    w.config("");
    let dir = w.ok(&["cache", "dir"]);
    assert_eq!(dir.trim(), w.cache.path().display().to_string());
    let git = w.cache.path().join("git");
    std::fs::create_dir_all(git.join("gone-1234.init/objects")).expect("mkdir");
    std::fs::create_dir_all(git.join("busy-5678.init")).expect("mkdir");
    std::fs::create_dir_all(git.join("kept-0000")).expect("mkdir");
    let held = std::fs::File::create(git.join("busy-5678.lock")).expect("lock file");
    held.lock().expect("lock");
    let out = w.ok(&["cache", "clean"]);
    assert!(out.contains("1 failed clone removed"), "{out}");
    assert!(!git.join("gone-1234.init").exists());
    assert!(git.join("busy-5678.init").is_dir(), "in use: kept");
    assert!(git.join("kept-0000").is_dir(), "complete entries are kept");
    std::fs::create_dir_all(git.join("again-1.init")).expect("mkdir");
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["cache", "clean", "--format", "json"]).stdout).expect("json");
    assert_eq!(
        v["removed"][0],
        git.join("again-1.init").display().to_string(),
        "{v}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["cache", "dir", "--format", "json"]).stdout).expect("json");
    assert_eq!(v["git"], git.display().to_string(), "{v}");
}

/// An upstream whose spec has a long `%description` (a big diff when added).
fn big_upstream(w: &World, pkg: &str, lines: usize) {
    let body: String = (0..lines)
        .map(|i| format!("Line {i} of {pkg}: a description long enough to make the comment big.\n"))
        .collect();
    let spec = azldev_e2e::spec(pkg, "1.0", "1").replace("%description\n", &format!("%description\n{body}"));
    let r = azldev_e2e::Repo::init(w.root.path().join("up").join(pkg), "main");
    r.commit(
        &[
            (&format!("{pkg}.spec"), Some(&spec)),
            (&format!("{pkg}.conf"), Some("setting = 1\n")),
            ("sources", Some(&format!("SHA512 ({pkg}-1.0.tar.gz) = 00\n"))),
        ],
        "import",
        "2024-01-01T00:00:00Z",
    );
}

/// Item 9: pull-request output for bots: under GitHub's comment limit with a
/// note, only non-zero summary rows, `--name-only --format json`, and a
/// report (not just an exit code) when the head's configuration is broken.
#[test]
fn diff_output_for_bots() {
    let w = World::new();
    w.upstream("alpha");
    let names = ["big1", "big2", "big3", "big4"];
    for n in names {
        big_upstream(&w, n, 1500);
    }
    w.config(&upstream_component("alpha"));
    let repo = azldev_e2e::Repo::init(w.distro(), "main");
    repo.commit(&[], "one", "2024-05-01T00:00:00Z");
    // Each new component has an overlay rewriting its 1,500 lines: the
    // diff (against upstream) is 3,000 lines a component.
    let all: String = std::iter::once("alpha")
        .map(upstream_component)
        .chain(names.iter().map(|n| {
            format!(
                "{}[[components.{n}.overlays]]\ntype = \"spec-search-replace\"\nregex = '^Line '\nreplacement = \"Row \"\n",
                upstream_component(n)
            )
        }))
        .collect();
    w.config(&all);
    repo.commit(&[], "two", "2024-05-02T00:00:00Z");

    let out = w.azldev(&["diff", "HEAD~1", "HEAD", "--format", "markdown"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).expect("utf-8");
    assert!(md.chars().count() <= 65_536, "{} characters", md.chars().count());
    assert!(
        md.contains("Diffs cut to 150 lines each"),
        "{}",
        &md[md.len() - 400..]
    );
    assert!(md.contains("| added | 4 |"), "{md}");
    // Shown against upstream: the overlay's lines, not whole new files.
    assert!(
        md.contains("new: shown against its upstream at the pinned commit"),
        "{md}"
    );
    assert!(md.contains("-Line 0 of big1"), "{md}");
    assert!(md.contains("+++ b/specs/b/big1/big1.spec"), "{md}");
    assert!(!md.contains("new file mode"), "{md}");
    assert!(!md.contains("| removed |"), "zero rows are left out");
    assert!(!md.contains("| changed |"), "zero rows are left out");

    let out = w.azldev(&["diff", "HEAD~1", "HEAD", "--name-only", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let listed: Vec<&str> = v["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(listed, names);
    // The full JSON report: kebab-case keys like every other command's.
    let v: serde_json::Value =
        serde_json::from_slice(&w.azldev(&["diff", "HEAD~1", "HEAD", "--format", "json"]).stdout)
            .expect("json");
    assert_eq!(v["summary"]["lines-added"], 6000, "{}", v["summary"]);
    assert_eq!(
        v["components"][0]["files"][0]["new-path"],
        "specs/b/big1/big1.spec"
    );
    assert_eq!(v["components"][0]["status"], "added");

    // The head (working tree) does not load: the report says so.
    w.write(
        "distro.toml",
        &format!("{}[components.gamma]\nrelase = {{}}\n", w.read("distro.toml")),
    );
    let out = w.azldev(&["diff", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(2));
    let md = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        md.contains("**The configuration at `working tree` does not load** (1 error)"),
        "{md}"
    );
    assert!(md.contains("distro.toml:"), "{md}");
    assert!(md.contains("relase"), "{md}");
    let out = w.azldev(&["diff", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["config-errors"][0]["label"], "working tree", "{v}");
    assert_eq!(
        v["config-errors"][0]["diagnostics"][0]["path"], "distro.toml",
        "{v}"
    );
}

/// Item 7: `component outdated` (= `lock update --dry-run`, moved ones only)
/// and `lock update` show the upstream version change; the dry run writes
/// nothing.
#[test]
fn outdated_and_lock_update_show_versions() {
    let w = World::new();
    let a = w.upstream("alpha");
    w.upstream("beta");
    let first = a.head();
    w.config(&format!(
        "{}{}",
        upstream_component("alpha"),
        upstream_component("beta")
    ));
    w.ok(&["render"]);
    assert!(!w.ok(&["component", "outdated"]).contains("alpha:"));
    let second = a.commit(
        &[("alpha.spec", Some(&azldev_e2e::spec("alpha", "1.1", "1")))],
        "update to 1.1",
        "2024-02-01T00:00:00Z",
    );
    let out = w.ok(&["component", "outdated"]);
    let line = format!(
        "alpha: {} -> {} (version 1.0 -> 1.1)",
        &first[..12],
        &second[..12]
    );
    assert!(out.contains(&line), "{out}");
    assert!(!out.contains("beta:"), "only what moved: {out}");
    let v: serde_json::Value = serde_json::from_slice(
        &w.azldev(&["lock", "update", "--dry-run", "--format", "json"])
            .stdout,
    )
    .expect("json");
    let alpha = &v["components"][0];
    assert_eq!(alpha["old-version"], "1.0", "{v}");
    assert_eq!(alpha["new-version"], "1.1", "{v}");
    assert_eq!(w.lock_commit("alpha"), first, "a dry run writes nothing");
    let out = w.ok(&["lock", "update"]);
    assert!(out.contains(&line), "{out}");
    assert_eq!(w.lock_commit("alpha"), second);
    assert!(
        !w.ok(&["comp", "outdated"]).contains("alpha:"),
        "up to date again"
    );
}

/// Item 7: `component add` writes the file the layout implies, checks the
/// upstream has the package, adds a local spec and joins a group.
#[test]
fn component_add_follows_the_layout() {
    let w = World::new();
    w.upstream("alpha");
    w.upstream("beta");
    w.config(
        "[default-component-config]\nspec = { type = \"upstream\", upstream-distro = { name = \"up\", version = \"1\" } }\n\n\
         [component-groups.base]\ncomponents = [\"alpha\"]\n",
    );
    w.write(
        "distro.toml",
        &format!("includes = [\"comps/*.comp.toml\"]\n{}", w.read("distro.toml")),
    );
    w.write("comps/alpha.comp.toml", &upstream_component("alpha"));
    w.write(
        "comps/zeta.comp.toml",
        "[components.zeta]\nspec = { type = \"local\", path = \"../local/zeta.spec\" }\n",
    );
    w.write("local/zeta.spec", &azldev_e2e::spec("zeta", "1", "1"));
    w.write("local/new.spec", &azldev_e2e::spec("new", "1", "1"));
    // The spec's Source1 (render refuses a spec whose files exist nowhere).
    w.write("local/new.conf", "key = value\n");
    let distro = w.read("distro.toml");

    // One file per component here: beta gets comps/beta.comp.toml.
    let added = w.azldev(&["component", "add", "beta", "-g", "base", "--format", "json"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&added.stdout).expect("json");
    assert_eq!(v["file"], "comps/beta.comp.toml", "{v}");
    let out = String::from_utf8_lossy(&added.stderr).into_owned();
    assert!(
        out.contains("added component `beta` at comps/beta.comp.toml:1"),
        "{out}"
    );
    assert!(out.contains("added `beta` to group `base`"), "{out}");
    assert!(
        w.read("distro.toml")
            .contains("components = [\"alpha\", \"beta\"]"),
        "{}",
        w.read("distro.toml")
    );
    // The upstream distro defaults apply (the file only names it).
    assert_eq!(w.read("comps/beta.comp.toml"), "[components.beta]\n");
    w.ok(&["render", "beta"]);

    // An upstream without the package: refused, nothing written.
    let out = w.azldev(&["component", "add", "nosuch", "-g", "base"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot add `nosuch`"), "{err}");
    assert!(!w.distro().join("comps/nosuch.comp.toml").exists());
    assert!(!w.read("distro.toml").contains("nosuch"));

    // A local spec, written relative to the new file.
    let out = w.ok(&["component", "add", "new", "--spec", "local/new.spec"]);
    assert!(out.contains("comps/new.comp.toml"), "{out}");
    assert_eq!(
        w.read("comps/new.comp.toml"),
        "[components.new]\nspec = { type = \"local\", path = \"../local/new.spec\" }\n"
    );
    w.ok(&["render", "new"]);
    assert!(w.distro().join("specs/n/new/new.spec").is_file());
    assert_ne!(w.read("distro.toml"), distro);
}
