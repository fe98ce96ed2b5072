//! `[project.signing]`: the key `azldev repo sign` signs with when the
//! command line names none. Either `key` (a secret key of the user's GnuPG
//! keyring) or `key-file` (an armored secret key inside the project: azldev
//! reads only inside the project, so a path that leaves it is an error at
//! the value).

use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;
use crate::fs::Fs;
use crate::load::Config;
use crate::raw::Signing;
use crate::source::SourceMap;
use crate::span::{Loc, Sp};

/// Which key signs, as the project configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKey {
    /// Key id, fingerprint or user id in the user's keyring.
    Keyring(String),
    /// An armored secret key file (absolute, inside the project).
    File(PathBuf),
}

/// The configured signing key and where it is written.
#[derive(Debug, Clone)]
pub struct ConfiguredKey {
    pub key: SigningKey,
    pub loc: Loc,
}

impl Config {
    /// `[project.signing]`'s key, when the project names one (the load has
    /// checked it: one of `key` / `key-file`, the file inside the project).
    #[must_use]
    pub fn signing_key(&self) -> Option<ConfiguredKey> {
        let s = self.merged.project.signing.as_ref()?;
        if let Some(f) = s.key_file.as_ref().filter(|f| !f.trim().is_empty()) {
            return Some(ConfiguredKey {
                key: SigningKey::File(crate::paths::normalize(
                    &self.files.dir_of(&f.loc).join(f.as_str()),
                )),
                loc: f.loc.clone(),
            });
        }
        let k = s.key.as_ref().filter(|k| !k.trim().is_empty())?;
        Some(ConfiguredKey {
            key: SigningKey::Keyring(k.trim().to_owned()),
            loc: k.loc.clone(),
        })
    }
}

/// Checks `[project.signing]`: exactly one of `key` and `key-file`, not
/// blank; the file inside the project (symbolic links resolved) and
/// present.
pub(crate) fn check(
    fs: &dyn Fs,
    files: &SourceMap,
    root: &Path,
    signing: Option<&Sp<Signing>>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(s) = signing else { return };
    let blank = |v: &Option<Sp<String>>| v.as_ref().is_some_and(|v| v.trim().is_empty());
    for (name, v) in [("key", &s.key), ("key-file", &s.key_file)] {
        if blank(v)
            && let Some(v) = v
        {
            out.push(
                Diagnostic::error("config::signing-key", format!("`signing.{name}` is empty"))
                    .at(files, &v.loc, "empty")
                    .help("name a key (`key`) or an armored secret key file in the project (`key-file`)"),
            );
        }
    }
    match (&s.key, &s.key_file) {
        (None, None) => out.push(
            Diagnostic::error("config::signing-key", "`[project.signing]` names no key")
                .at(files, &s.loc, "no `key` or `key-file`")
                .help(
                    "set `key` (id, fingerprint or user id in your GnuPG keyring) or `key-file` (an armored \
                     secret key inside the project)",
                ),
        ),
        (Some(_), Some(f)) => out.push(
            Diagnostic::error(
                "config::signing-key",
                "`[project.signing]` sets both `key` and `key-file`",
            )
            .at(files, &f.loc, "one of the two")
            .help("keep one: `key` names a key of your keyring, `key-file` a key file in the project"),
        ),
        _ => {}
    }
    let Some(f) = s.key_file.as_ref().filter(|f| !f.trim().is_empty()) else {
        return;
    };
    let path = files.dir_of(&f.loc).join(f.as_str());
    let real = crate::paths::resolve(fs, &path);
    let root = crate::paths::resolve(fs, root);
    if !real.starts_with(&root) {
        out.push(
            Diagnostic::error(
                "config::signing-key-outside",
                format!("signing key file `{}` is outside the project", f.value),
            )
            .at(files, &f.loc, format!("resolves to {}", real.display()))
            .help(
                "azldev reads only inside the project (the directory of the root file): put the key file \
                 there, or name a key of your keyring with `key`",
            ),
        );
    } else if !fs.is_file(&real) {
        out.push(
            Diagnostic::error(
                "config::signing-key-missing",
                format!("signing key file `{}` does not exist", f.value),
            )
            .at(
                files,
                &f.loc,
                format!(
                    "looked for {}",
                    real.strip_prefix(&root).unwrap_or(&real).display()
                ),
            ),
        );
    }
}
