//! `[project.signing]`: the key by keyring name or as a file inside the
//! project; every mistake reported at file:line:column, all together.

use azldev_config::signing::SigningKey;

use crate::support::{Project, load_files};

fn shorts(l: &azldev_config::Loaded) -> Vec<String> {
    l.diagnostics.iter().map(|d| d.short()).collect()
}

#[test]
fn a_keyring_key_or_a_key_file_inside_the_project() {
    let (_p, l) = load_files(&[(
        "distro.toml",
        "[project]\ndescription = \"x\"\n\n[project.signing]\nkey = \" Demo Signer <sign@example.invalid> \"\n",
    )]);
    assert!(l.diagnostics.is_empty(), "{:?}", shorts(&l));
    let k = l.config.signing_key().expect("a key");
    assert_eq!(
        k.key,
        SigningKey::Keyring("Demo Signer <sign@example.invalid>".into())
    );
    assert_eq!(l.config.describe(&k.loc), "distro.toml:5:7");

    // A key file, relative to the file that names it (an included one),
    // and the later file wins over the root's `key`.
    let (p, l) = load_files(&[
        (
            "distro.toml",
            "includes = [\"conf/*.toml\"]\n[project.signing]\nkey = \"ABCD\"\n",
        ),
        (
            "conf/sign.toml",
            "[project.signing]\nkey-file = \"../keys/./signing.asc\"\n",
        ),
        ("keys/signing.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n"),
    ]);
    assert!(l.diagnostics.is_empty(), "{:?}", shorts(&l));
    let k = l.config.signing_key().expect("a key");
    assert_eq!(k.key, SigningKey::File(p.path("keys/signing.asc")));
    assert_eq!(l.config.describe(&k.loc), "conf/sign.toml:2:12");

    // None configured.
    let (_p, l) = load_files(&[("distro.toml", "[project]\ndescription = \"x\"\n")]);
    assert!(l.config.signing_key().is_none());
}

#[test]
fn key_files_that_leave_the_project_are_errors_at_the_value() {
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.asc"), "key").expect("write");
    let p = Project::new(&[("distro.toml", "")]);
    std::os::unix::fs::symlink(outside.path().join("secret.asc"), p.path("link.asc")).expect("symlink");
    let cases: &[(&str, &[&str])] = &[
        (
            "[project.signing]\nkey-file = \"../../etc/passwd\"\n",
            &["distro.toml:2:12: signing key file `../../etc/passwd` is outside the project"],
        ),
        (
            "[project.signing]\nkey-file = \"/etc/passwd\"\n",
            &["distro.toml:2:12: signing key file `/etc/passwd` is outside the project"],
        ),
        (
            // A symbolic link out of the project.
            "[project.signing]\nkey-file = \"link.asc\"\n",
            &["distro.toml:2:12: signing key file `link.asc` is outside the project"],
        ),
        (
            "[project.signing]\nkey-file = \"keys/missing.asc\"\n",
            &["distro.toml:2:12: signing key file `keys/missing.asc` does not exist"],
        ),
        (
            "[project.signing]\nkey = \"A\"\nkey-file = \"link.asc\"\n",
            &[
                "distro.toml:3:12: `[project.signing]` sets both `key` and `key-file`",
                "distro.toml:3:12: signing key file `link.asc` is outside the project",
            ],
        ),
        (
            "[project.signing]\nkey = \"  \"\n",
            &["distro.toml:2:7: `signing.key` is empty"],
        ),
        (
            "[project.signing]\n",
            &["distro.toml:1:1: `[project.signing]` names no key"],
        ),
        (
            "[project.signing]\nkey = \"A\"\nfile = \"x\"\n",
            &["distro.toml:3:1: unknown key `file` in `project.signing`"],
        ),
    ];
    for (text, want) in cases {
        std::fs::write(p.path("distro.toml"), text).expect("write");
        let l = p.load("distro.toml");
        let got = shorts(&l);
        assert_eq!(got, *want, "{text:?}");
    }
}
