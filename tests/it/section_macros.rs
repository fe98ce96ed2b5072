//! Section-generating macros known from the project's macro files: a
//! distro version's buildroot definition (`config_opts['macros']` of its
//! mock config) defines `%my_scriptlets`, which no table lists and which
//! expands (through another macro) to `%post`/`%postun`; an overlay that
//! removes `%check` before a line calling it leaves that line in place.

use super::World;

/// A local spec whose `%check` is followed by `line` (a macro call that
/// generates `%post`/`%postun`) and `%files`.
fn spec_with(line: &str) -> String {
    format!(
        "Name:           gamma\nVersion:        1.0\nRelease:        1%{{?dist}}\nSummary:        Gamma\nLicense:        MIT\n\n\
         %description\nGamma.\n\n%build\nmake\n\n%check\nmake check\n\n{line}\n\n%files\n/usr/lib/libgamma.so.1\n\n\
         %changelog\n* Mon Jan 01 2024 Fixture Author <fixture@example.org> - 1.0-1\n- Initial\n"
    )
}

/// The distro, with the mock config when `mock` is set, and gamma local
/// with an overlay removing `%check`.
fn setup(w: &World, line: &str, mock: bool) {
    let mock_key = if mock {
        "mock-config-x86_64 = \"mock/up-x86_64.cfg\"\n"
    } else {
        ""
    };
    w.write(
        "distro.toml",
        &format!(
            "[project]\nrendered-specs-dir = \"specs\"\n\n\
             [distros.up]\ndefault-version = \"1\"\n\
             [distros.up.versions.1]\nrelease-ver = \"1\"\n{mock_key}\n\
             [components.gamma]\nspec = {{ type = \"local\", path = \"components/gamma/gamma.spec\" }}\n\n\
             [[components.gamma.overlays]]\ndescription = \"No tests\"\ntype = \"spec-remove-section\"\nsection = \"%check\"\n"
        ),
    );
    w.write(
        "mock/up-x86_64.cfg",
        "config_opts['target_arch'] = 'x86_64'\n\
         config_opts['releasever'] = '1'\n\
         config_opts['macros']['%dist'] = '.up1'\n\
         config_opts['macros']['%my_ldconfig_pair'] = '%{?ldconfig:\\n%post -p %ldconfig\\n%postun -p %ldconfig\\n}'\n\
         config_opts['macros']['%my_scriptlets'] = '%{expand:%%my_ldconfig_pair}'\n",
    );
    w.write("components/gamma/gamma.spec", &spec_with(line));
}

fn rendered(w: &World) -> String {
    w.read("specs/g/gamma/gamma.spec")
}

#[test]
fn a_macro_the_distro_macros_define_ends_check() {
    let w = World::new();
    setup(&w, "%my_scriptlets", true);
    w.ok(&["render"]);
    let spec = rendered(&w);
    assert!(!spec.contains("%check") && !spec.contains("make check"), "{spec}");
    assert!(
        spec.contains("%build\nmake\n\n%my_scriptlets\n\n%files\n"),
        "the line stays, between the sections around it:\n{spec}"
    );
    assert!(w.ok(&["render", "--check"]).contains("0 drifted"));
    // rpm agrees that the line generates sections: with the macros
    // defined, the parsed spec has the scriptlets.
    let out = std::process::Command::new("rpmspec")
        .args([
            "-P",
            "--define",
            "ldconfig /sbin/ldconfig",
            "--define",
            "my_ldconfig_pair %{?ldconfig:\n%post -p %ldconfig\n%postun -p %ldconfig\n}",
            "--define",
            "my_scriptlets %{expand:%%my_ldconfig_pair}",
        ])
        .arg(w.distro().join("specs/g/gamma/gamma.spec"))
        .output()
        .expect("rpmspec runs");
    let parsed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(parsed.contains("%post -p /sbin/ldconfig"), "{parsed}");
}

#[test]
fn without_the_macro_files_only_the_table_is_known() {
    // No mock config: `%my_scriptlets` is body text of `%check` and goes
    // with it…
    let w = World::new();
    setup(&w, "%my_scriptlets", false);
    w.ok(&["render"]);
    let spec = rendered(&w);
    assert!(spec.contains("%build\nmake\n\n%files\n"), "{spec}");
    assert!(!spec.contains("%my_scriptlets"), "{spec}");
    // …while the table's `%{?ldconfig_scriptlets}` stays either way.
    let w = World::new();
    setup(&w, "%{?ldconfig_scriptlets}", false);
    w.ok(&["render"]);
    let spec = rendered(&w);
    assert!(
        spec.contains("%build\nmake\n\n%{?ldconfig_scriptlets}\n\n%files\n"),
        "{spec}"
    );
}
