//! Mock configs: the real azl4 files of the corpus, and small files written
//! here for every form the reader supports and every construct it refuses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use azldev_buildroot::mock::{LoadOptions, MockConfig, MockError, load};

/// `../shared/corpus` next to the workspace; a missing corpus fails the test.
fn corpus() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        dir.is_dir(),
        "the test corpus is missing: expected {}",
        dir.display()
    );
    dir.canonicalize().expect("canonical corpus path")
}

fn azl4_mock_dir() -> PathBuf {
    corpus().join("azl4/distro/mock/azl4")
}

/// A directory of files (relative path, text).
fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in list {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn load_ok(dir: &Path, name: &str) -> MockConfig {
    let opts = LoadOptions {
        confine_to: Some(dir.to_path_buf()),
        vars: BTreeMap::new(),
    };
    match load(&dir.join(name), &opts) {
        Ok(c) => c,
        Err(e) => panic!(
            "{e}\n{}",
            e.diagnostics()
                .iter()
                .map(|d| d.short())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// The diagnostics of a failing load, as `file:line:column: message` with the
/// file name only.
fn load_errs(dir: &Path, name: &str) -> Vec<String> {
    let opts = LoadOptions {
        confine_to: Some(dir.to_path_buf()),
        vars: BTreeMap::new(),
    };
    let e = load(&dir.join(name), &opts).expect_err("the config is refused");
    assert!(matches!(e, MockError::Invalid { .. }), "{e}");
    e.diagnostics()
        .iter()
        .map(|d| {
            let mut o = d.origin.clone();
            o.file = PathBuf::from(o.file.file_name().expect("file name"));
            format!("{o}: {}", d.message)
        })
        .collect()
}

fn names(c: &MockConfig) -> Vec<&str> {
    c.setup_packages.iter().map(|p| p.value.as_str()).collect()
}

#[test]
fn every_azl4_config_loads() {
    let mut count = 0;
    for stage in ["stage1", "stage2"] {
        let dir = azl4_mock_dir().join(stage);
        for entry in std::fs::read_dir(&dir).expect("stage dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            // The .tpl files are loaded on their own too: they are mock
            // configs missing only the arch.
            let cfg = load(&path, &LoadOptions::default());
            if name.ends_with(".tpl") {
                let e = cfg.expect_err("a template alone has no target_arch");
                let d: Vec<String> = e.diagnostics().iter().map(|d| d.message.clone()).collect();
                assert_eq!(d, ["the config never sets config_opts['target_arch']"], "{name}");
            } else {
                let c = cfg.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(c.files.len(), 2, "{name} includes its template");
            }
            count += 1;
        }
    }
    assert_eq!(count, 6);
}

/// What is read from each azl4 .cfg, paths relative to the corpus.
#[test]
fn azl4_configs_snapshot() {
    let corpus = corpus();
    for stage in ["stage1", "stage2"] {
        for arch in ["x86_64", "aarch64"] {
            let path = azl4_mock_dir()
                .join(stage)
                .join(format!("azurelinux-4.0-{arch}.cfg"));
            let opts = LoadOptions {
                confine_to: Some(corpus.join("azl4")),
                vars: BTreeMap::new(),
            };
            let mut c = load(&path, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(c.target_arch.value, arch);
            c.relativize(&corpus);
            insta::assert_json_snapshot!(format!("azl4_{stage}_{arch}"), c);
        }
    }
}

#[test]
fn azl4_stage2_facts() {
    let path = azl4_mock_dir().join("stage2/azurelinux-4.0-aarch64.cfg");
    let c = load(&path, &LoadOptions::default()).expect("loads");
    let tpl = path.with_file_name("azurelinux-4.0.tpl");
    assert_eq!(c.files, [path.clone(), tpl.clone()]);
    assert_eq!(c.target_arch.origin.file, path);
    assert_eq!((c.target_arch.origin.line, c.target_arch.origin.column), (2, 1));
    assert_eq!(c.releasever.as_ref().map(|r| r.value.as_str()), Some("4.0"));
    assert_eq!(c.dist.as_ref().map(|r| r.value.as_str()), Some("azl4"));
    assert_eq!(
        c.root.as_ref().map(|r| r.value.as_str()),
        Some("azl-4.0-stage2-aarch64")
    );
    assert_eq!(c.package_manager.as_ref().map(|r| r.value.as_str()), Some("dnf5"));
    assert_eq!(c.macros["%dist"].value, ".azl4");
    assert_eq!(c.macros["%dist"].origin.line, 49);
    let pkgs = names(&c);
    assert_eq!(pkgs.len(), 22);
    assert_eq!(pkgs[..3], ["bash", "bzip2", "coreutils"]);
    assert_eq!(pkgs[21], "xz");
    // Each package comes from its own `+=` line: bash on 16, xz on 37.
    assert_eq!(c.setup_packages[0].origin.file, tpl);
    assert_eq!(c.setup_packages[0].origin.line, 16);
    assert_eq!(c.setup_packages[21].origin.line, 37);
    let ids: Vec<&str> = c.repos.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["base", "sdk"]);
    assert_eq!(
        c.repos[0].baseurl,
        ["https://stcontroltowerdevjwisitg.blob.core.windows.net/alpha2-prod/base/aarch64"]
    );
    assert!(
        c.repos
            .iter()
            .all(|r| r.enabled && !r.gpgcheck && r.skip_if_unavailable == Some(false))
    );
    // The `[base]` header is line 90 of the template.
    assert_eq!((c.repos[0].origin.line, c.repos[0].origin.column), (90, 1));
    assert_eq!(c.dnf_main["user_agent"], "Mock (azl-4.0-stage2-aarch64; aarch64)");
    assert_eq!(c.dnf_main["module_platform_id"], "platform:f4.0");
    assert_eq!(
        c.options["plugin_conf"].value["rpmautospec_opts"]["cmd_base"],
        serde_json::json!(["/usr/bin/rpmautospec", "process-distgit"])
    );
}

#[test]
fn azl4_stage1_templating_as_mock_does_it() {
    let c = load(
        &azl4_mock_dir().join("stage1/azurelinux-4.0-x86_64.cfg"),
        &LoadOptions::default(),
    )
    .expect("loads");
    // `mirrored` is not set: Jinja's undefined is false, so `@build` and the
    // koji repository enabled by `{{ not mirrored }}`.
    assert_eq!(names(&c), ["@build"]);
    assert_eq!(c.repos.len(), 1);
    let local = &c.repos[0];
    assert_eq!(local.id, "local");
    assert!(local.enabled);
    assert_eq!(local.cost, Some(2000));
    assert_eq!(
        local.baseurl,
        ["https://kojipkgs.fedoraproject.org/repos/f43-build/latest/x86_64/"]
    );
    assert_eq!(
        c.legal_host_arches.as_ref().map(|l| l.value.clone()),
        Some(vec!["x86_64".to_owned()])
    );
}

#[test]
fn every_literal_form() {
    let dir = files(&[(
        "a.cfg",
        r#"config_opts['target_arch'] = "x86_64"
config_opts['s1'] = 'single \'q\' \t tab \x41 \u00e9 \101'
config_opts['s2'] = "double \"q\""
config_opts['s3'] = '''triple 'single'
line two'''
config_opts['s4'] = """triple "double"
"""
config_opts['s5'] = r'raw \n' "adjacent"
config_opts['b'] = [True, False, None]
config_opts['n'] = (1, -2, 0x10, 1_000, 2.5)
config_opts['one'] = ('x',)
config_opts['empty'] = ((), [], {})
config_opts['d'] = {
    'k': 'v',  # comment
    2: [1, 2,],
}
config_opts['paren'] = ('a'
    'b')
config_opts['cont'] = 1 + \
    2
"#,
    )]);
    let c = load_ok(dir.path(), "a.cfg");
    let o = |k: &str| c.options[k].value.clone();
    assert_eq!(o("s1"), serde_json::json!("single 'q' \t tab A é A"));
    assert_eq!(o("s2"), serde_json::json!("double \"q\""));
    assert_eq!(o("s3"), serde_json::json!("triple 'single'\nline two"));
    assert_eq!(o("s4"), serde_json::json!("triple \"double\"\n"));
    assert_eq!(o("s5"), serde_json::json!("raw \\nadjacent"));
    assert_eq!(o("b"), serde_json::json!([true, false, null]));
    assert_eq!(o("n"), serde_json::json!([1, -2, 16, 1000, 2.5]));
    assert_eq!(o("one"), serde_json::json!(["x"]));
    assert_eq!(o("empty"), serde_json::json!([[], [], {}]));
    assert_eq!(o("d"), serde_json::json!({"k": "v", "2": [1, 2]}));
    assert_eq!(o("paren"), serde_json::json!("ab"));
    assert_eq!(o("cont"), serde_json::json!(3));
    assert_eq!(
        (c.options["d"].origin.line, c.options["d"].origin.column),
        (13, 1)
    );
}

#[test]
fn appends_nested_keys_and_reads() {
    let dir = files(&[(
        "a.cfg",
        "config_opts['target_arch'] = 'aarch64'\n\
         config_opts['chroot_setup_cmd'] = 'install'\n\
         config_opts['chroot_setup_cmd'] += ' bash @core'\n\
         config_opts['chroot_setup_cmd'] += \" 'quoted name'\"\n\
         config_opts['chroot_additional_packages'] = ['extra']\n\
         config_opts['chroot_additional_packages'] += ('more',)\n\
         config_opts['macros']['%dist'] = '.x'\n\
         config_opts['macros']['%_smp_mflags'] = 4\n\
         config_opts['plugin_conf']['root_cache_opts']['age_check'] = False\n\
         config_opts['plugin_conf']['mine'] = {'a': {'b': 1}}\n\
         config_opts['plugin_conf']['mine']['a']['b'] += 1\n\
         config_opts['lst'] = [1, 2]\n\
         config_opts['lst'][-1] = 'two'\n\
         config_opts['mirrored'] = config_opts['target_arch'] != 'i686' and not False\n\
         config_opts['copy'] = config_opts['plugin_conf']['mine']['a']\n\
         config_opts['yum.conf'] = '[main]\\n'\n",
    )]);
    let c = load_ok(dir.path(), "a.cfg");
    assert_eq!(names(&c), ["bash", "@core", "quoted name", "extra", "more"]);
    let lines: Vec<u32> = c.setup_packages.iter().map(|p| p.origin.line).collect();
    assert_eq!(lines, [3, 3, 4, 6, 6]);
    assert_eq!(c.macros["%dist"].value, ".x");
    assert_eq!(c.macros["%_smp_mflags"].value, "4");
    assert_eq!(c.macros["%_smp_mflags"].origin.line, 8);
    assert_eq!(
        c.options["plugin_conf"].value,
        serde_json::json!({"root_cache_opts": {"age_check": false}, "mine": {"a": {"b": 2}}})
    );
    assert_eq!(c.options["plugin_conf"].origin.line, 11);
    assert_eq!(c.options["lst"].value, serde_json::json!([1, "two"]));
    assert_eq!(c.options["mirrored"].value, serde_json::json!(true));
    assert_eq!(c.options["copy"].value, serde_json::json!({"b": 2}));
    // `yum.conf` is mock's alias of `dnf.conf`.
    assert!(c.repos.is_empty());
    assert!(c.dnf_main.is_empty());
    assert!(!c.options.contains_key("yum.conf"));
}

#[test]
fn groupinstall_and_the_mock_default_setup_command() {
    let dir = files(&[
        (
            "g.cfg",
            "config_opts['target_arch'] = 'x86_64'\nconfig_opts['chroot_setup_cmd'] = ('groupinstall', 'build', '@x')\n",
        ),
        ("d.cfg", "config_opts['target_arch'] = 'x86_64'\n"),
    ]);
    assert_eq!(names(&load_ok(dir.path(), "g.cfg")), ["@build", "@x"]);
    let d = load_ok(dir.path(), "d.cfg");
    assert_eq!(names(&d), ["@buildsys-build"]);
    assert!(d.setup_packages[0].origin.is_mock_default());
}

#[test]
fn templates_render_like_mock() {
    let dir = files(&[(
        "t.cfg",
        "config_opts['target_arch'] = 'aarch64'\n\
         config_opts['releasever'] = 43\n\
         config_opts['root'] = 'f{{ releasever }}-{{ target_arch }}'\n\
         config_opts['mirrored'] = False\n\
         config_opts['chroot_setup_cmd'] = 'install @{% if mirrored %}buildsys-{% endif %}build'\n\
         config_opts['dnf_vars'] = {'infra': 'ci'}\n\
         config_opts['dnf.conf'] = \"\"\"\n[main]\ngpgcheck=1\nuser_agent={{ user_agent }}\n\n\
         [seed]\nname=Seed $releasever $basearch\nbaseurl=file://{{ project_dir }}/build/seed/$basearch/\n  https://m/$releasever_major/$infra/\nenabled={{ not mirrored }}\ngpgcheck=no\ncost=5\npriority=-1\n\
         {% if mirrored %}\n[mirror]\nmetalink=https://x\n{% endif %}\n\
         [off]\nname=off\nenabled=0\nmetalink=https://m?arch=$basearch\nmodule_hotfixes=1\n\"\"\"\n",
    )]);
    let opts = LoadOptions {
        confine_to: None,
        vars: [("project_dir".to_owned(), serde_json::json!("/p"))].into(),
    };
    let c = load(&dir.path().join("t.cfg"), &opts).expect("loads");
    assert_eq!(c.releasever.as_ref().map(|r| r.value.as_str()), Some("43"));
    assert_eq!(c.root.as_ref().map(|r| r.value.as_str()), Some("f43-aarch64"));
    assert_eq!(names(&c), ["@build"]);
    assert_eq!(c.dnf_main["user_agent"], "Mock (f43-aarch64; aarch64)");
    let ids: Vec<&str> = c.repos.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["seed", "off"]);
    let seed = &c.repos[0];
    assert_eq!(seed.name.as_deref(), Some("Seed 43 aarch64"));
    assert_eq!(
        seed.baseurl,
        ["file:///p/build/seed/aarch64/", "https://m/43/ci/"]
    );
    assert!(seed.enabled, "`{{{{ not mirrored }}}}` renders True");
    assert!(!seed.gpgcheck);
    assert_eq!((seed.cost, seed.priority), (Some(5), Some(-1)));
    assert_eq!(
        seed.origin.line, 12,
        "the [seed] header inside the triple-quoted string"
    );
    let off = &c.repos[1];
    assert!(!off.enabled);
    assert!(off.gpgcheck, "inherits [main] gpgcheck");
    assert_eq!(off.metalink.as_deref(), Some("https://m?arch=aarch64"));
    assert_eq!(off.options.get("module_hotfixes").map(String::as_str), Some("1"));
    let vars: Vec<(&str, &str)> = c.dnf_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        vars,
        [
            ("arch", "aarch64"),
            ("basearch", "aarch64"),
            ("infra", "ci"),
            ("releasever", "43"),
            ("releasever_major", "43"),
            ("releasever_minor", ""),
        ]
    );
    // The rendered text, dnf's own variables left for dnf.
    let text = c.dnf_conf.as_deref().expect("dnf.conf");
    assert!(text.contains("enabled=True\n"), "{text}");
    assert!(text.contains("name=Seed $releasever $basearch\n"), "{text}");
    assert!(!text.contains("[mirror]"), "{text}");
}

#[test]
fn includes_are_relative_to_the_including_file() {
    let dir = files(&[
        (
            "cfg/a.cfg",
            "config_opts['target_arch'] = 'x86_64'\ninclude('templates/b.tpl')\nconfig_opts['dist'] += '.after'\n",
        ),
        (
            "cfg/templates/b.tpl",
            "config_opts['dist'] = 'b'\ninclude('../../common/c.tpl')\n",
        ),
        ("common/c.tpl", "config_opts['macros']['%c'] = '1'\n"),
    ]);
    let c = load_ok(dir.path(), "cfg/a.cfg");
    let rel: Vec<PathBuf> = c
        .files
        .iter()
        .map(|f| f.strip_prefix(dir.path()).expect("inside").to_path_buf())
        .collect();
    assert_eq!(
        rel,
        [
            PathBuf::from("cfg/a.cfg"),
            "cfg/templates/b.tpl".into(),
            "common/c.tpl".into()
        ]
    );
    assert_eq!(c.dist.as_ref().map(|d| d.value.as_str()), Some("b.after"));
    assert_eq!(c.macros["%c"].origin.file, dir.path().join("common/c.tpl"));
}

#[test]
fn include_cycles_and_escapes_are_errors() {
    let outside = files(&[("evil.tpl", "config_opts['x'] = 1\n")]);
    let evil = outside.path().join("evil.tpl");
    let dir = files(&[
        (
            "a.cfg",
            "config_opts['target_arch'] = 'x86_64'\ninclude('b.tpl')\n",
        ),
        ("b.tpl", "config_opts['y'] = 1\n  # comment\ninclude('a.cfg')\n"),
        (
            "c.cfg",
            &format!(
                "config_opts['target_arch'] = 'x86_64'\ninclude('{}')\ninclude('missing.tpl')\n",
                evil.display()
            ),
        ),
        (
            "d.cfg",
            "config_opts['target_arch'] = 'x86_64'\ninclude('e.tpl')\ninclude('e.tpl')\n",
        ),
        ("e.tpl", "config_opts['dist'] = 'e'\n"),
    ]);
    let e = load_errs(dir.path(), "a.cfg");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("b.tpl:3:1: include cycle: "), "{e:?}");
    assert!(e[0].contains("a.cfg → ") && e[0].ends_with("a.cfg"), "{e:?}");

    let e = load_errs(dir.path(), "c.cfg");
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e[0].starts_with("c.cfg:2:1: included file ") && e[0].contains("is outside"),
        "{e:?}"
    );
    assert!(e[1].starts_with("c.cfg:3:1: cannot read included file"), "{e:?}");

    // Mock skips a second include of the same file, with a warning.
    let d = load_ok(dir.path(), "d.cfg");
    assert_eq!(d.files.len(), 2);
    assert_eq!(d.warnings.len(), 1);
    assert!(d.warnings[0].contains("d.cfg:3:1:"), "{:?}", d.warnings);

    // The root itself must be inside the allowed directory.
    let opts = LoadOptions {
        confine_to: Some(dir.path().to_path_buf()),
        vars: BTreeMap::new(),
    };
    assert!(matches!(load(&evil, &opts), Err(MockError::Outside { .. })));
}

#[test]
fn every_unsupported_construct_is_reported_with_its_position() {
    let dir = files(&[(
        "bad.cfg",
        "import os\n\
         config_opts['target_arch'] = 'x86_64'\n\
         if config_opts['target_arch'] == 'x86_64':\n    config_opts['a'] = 1\n\
         config_opts.update({'b': 2})\n\
         config_opts['c'] = os.uname()\n\
         config_opts['d'] = len('x')\n\
         config_opts['e'] = 'a' % 2\n\
         x = 1\n\
         config_opts['f'] = f'{x}'\n\
         config_opts['g'] -= 1\n\
         config_opts['h'] = 1 if True else 2\n\
         config_opts['missing']['k'] = 1\n\
         config_opts['i'] = 'unterminated\n\
         config_opts['j'] = [x for x in y]\n\
         config_opts['k'] = 'a' + 1\n\
         include('nope.tpl')\n\
         config_opts['dist'] += 'x'\n",
    )]);
    let mut e = load_errs(dir.path(), "bad.cfg");
    // The message of a missing file is the operating system's.
    let include = e
        .iter_mut()
        .find(|m| m.starts_with("bad.cfg:17:1: "))
        .expect("include error");
    assert!(include.contains("nope.tpl"), "{include}");
    include.truncate("bad.cfg:17:1: cannot read included file".len());
    assert_eq!(
        e,
        [
            // Lexing problems come first, then the statements in order.
            "bad.cfg:14:20: unterminated string (a newline before the closing quote)",
            "bad.cfg:1:1: `import` statements are not supported",
            "bad.cfg:3:1: `if` statements are not supported",
            "bad.cfg:5:12: `config_opts.update` is not supported",
            "bad.cfg:6:20: name `os` is not supported",
            "bad.cfg:7:20: name `len` is not supported",
            "bad.cfg:8:24: operator `%` is not supported",
            "bad.cfg:9:1: assignment to `x` is not supported",
            "bad.cfg:10:20: f-strings are not supported",
            "bad.cfg:11:18: operator `-=` is not supported (only `=` and `+=`)",
            "bad.cfg:12:22: conditional expressions (`a if c else b`) are not supported",
            "bad.cfg:15:21: name `x` is not supported",
            "bad.cfg:13:13: config_opts['missing'] is not set",
            "bad.cfg:16:20: cannot add a int to a str",
            "bad.cfg:17:1: cannot read included file",
            "bad.cfg:18:1: config_opts['dist'] is not set, so `+=` has nothing to add to",
        ]
    );
}

#[test]
fn template_and_dnf_conf_problems_point_at_their_lines() {
    let dir = files(&[(
        "t.cfg",
        "config_opts['target_arch'] = 'x86_64'\n\
         config_opts['root'] = '{{ root }}x'\n\
         config_opts['dnf.conf'] = \"\"\"\n[main]\nbest=1\n\n[r]\nbaseurl=http://x/\nenabled=perhaps\ncost=high\n\n[norepo]\nname=x\njunk line\n\"\"\"\n\
         config_opts['broken'] = '{% if %}'\n",
    )]);
    let e = load_errs(dir.path(), "t.cfg");
    assert_eq!(e.len(), 6, "{e:#?}");
    assert!(
        e[0].starts_with("t.cfg:2:1: config_opts['root']: the template does not settle after 5 renders"),
        "{e:?}"
    );
    assert_eq!(
        e[1],
        "t.cfg:14:1: dnf.conf: expected `key=value` or `[section]`, found `junk line`"
    );
    assert_eq!(e[2], "t.cfg:10:1: dnf.conf: [r] cost=high: not an integer");
    assert!(
        e[3].starts_with("t.cfg:9:1: dnf.conf: [r] enabled=perhaps: not a boolean"),
        "{e:?}"
    );
    assert_eq!(
        e[4],
        "t.cfg:12:1: dnf.conf: enabled repository [norepo] has no baseurl, metalink or mirrorlist"
    );
    assert!(
        e[5].starts_with("t.cfg:16:1: config_opts['broken']: template error"),
        "{e:?}"
    );
}

#[test]
fn a_diagnostic_renders_with_its_source() {
    let dir = files(&[("x.cfg", "config_opts['target_arch'] = 'x86_64'\nimport os\n")]);
    let e = load(&dir.path().join("x.cfg"), &LoadOptions::default()).expect_err("refused");
    let d = &e.diagnostics()[0];
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, d)
        .expect("renders");
    assert!(out.contains("`import` statements are not supported"), "{out}");
    assert!(out.contains("x.cfg:2:1"), "{out}");
    assert!(out.contains("import os"), "{out}");
    assert_eq!(
        e.to_string(),
        format!("mock config {}: 1 problem", dir.path().join("x.cfg").display())
    );
}

#[test]
fn jinja_macros_loops_and_filters() {
    let dir = files(&[(
        "j.cfg",
        "config_opts['target_arch'] = 'x86_64'\n\
         config_opts['releasever'] = '41'\n\
         config_opts['package_manager'] = '{% if releasever|int >= 40 %}dnf5{% else %}dnf{% endif %}'\n\
         config_opts['dnf.conf'] = \"\"\"\n\
         {%- macro keys() -%}\nk-$releasever\n{%- for v in [releasever|int, releasever|int - 1] %} k-{{ v }}{% endfor %}\n{%- endmacro %}\n\
         [r]\nbaseurl=http://r/{{ target_arch|upper }}/\ngpgkey={{ keys() }}\n\"\"\"\n",
    )]);
    let c = load_ok(dir.path(), "j.cfg");
    assert_eq!(c.package_manager.as_ref().map(|p| p.value.as_str()), Some("dnf5"));
    assert_eq!(c.repos.len(), 1);
    assert_eq!(c.repos[0].baseurl, ["http://r/X86_64/"]);
    assert_eq!(c.repos[0].options["gpgkey"], "k-$releasever k-41 k-40");
}

#[test]
fn crlf_line_endings_and_a_final_line_without_newline() {
    let dir = files(&[(
        "w.cfg",
        "# windows\r\nconfig_opts['target_arch'] = 'x86_64'\r\nconfig_opts['dnf.conf'] = '''\r\n[main]\r\n\r\n[r]\r\nbaseurl=http://r/\r\n'''\r\nconfig_opts['dist'] = 'x'",
    )]);
    let c = load_ok(dir.path(), "w.cfg");
    assert_eq!(
        c.dist.as_ref().map(|d| (d.value.as_str(), d.origin.line)),
        Some(("x", 9))
    );
    assert_eq!(c.repos[0].baseurl, ["http://r/"]);
    assert_eq!(c.repos[0].origin.line, 6);
}

#[test]
fn target_arch_must_be_a_string() {
    let dir = files(&[
        ("none.cfg", "config_opts['target_arch'] = None\n"),
        ("list.cfg", "config_opts['target_arch'] = ['x86_64']\n"),
        ("empty.cfg", "config_opts['target_arch'] = '{{ nothing }}'\n"),
    ]);
    assert_eq!(
        load_errs(dir.path(), "none.cfg"),
        ["none.cfg:1:1: config_opts['target_arch'] is None"]
    );
    assert_eq!(
        load_errs(dir.path(), "list.cfg"),
        ["list.cfg:1:1: config_opts['target_arch'] must be a string, not list"]
    );
    assert_eq!(
        load_errs(dir.path(), "empty.cfg"),
        ["empty.cfg:1:1: config_opts['target_arch'] is empty"]
    );
}
