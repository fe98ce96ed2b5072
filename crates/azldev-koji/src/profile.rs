//! Koji client profiles, read from the files the koji CLI reads and with
//! its semantics: `/etc/koji.conf`, `/etc/koji.conf.d/*.conf`,
//! `~/.koji/config.d/*.conf`, `~/.koji/config` in that order, a later file
//! overriding an earlier one key by key; a profile is an INI section (the
//! default one is `[koji]`). `AZLDEV_KOJI_CONFIG` (a `:`-separated list of
//! files and directories; a directory stands for its `*.conf` files,
//! sorted) replaces the list, for tests and for anyone who keeps profiles
//! elsewhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A problem in a profile file: file, line, column and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct ProfileError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// How the client logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anonymous: read-only calls only.
    None,
    /// `login(user, password)`.
    Password { user: String, password: String },
    /// `sslLogin()` over TLS with a client certificate (a PEM file holding
    /// the certificate chain and its key, as the koji CLI's `cert`).
    Ssl { cert: PathBuf },
    /// Kerberos/GSSAPI (SPNEGO on `<server>/ssllogin`, see
    /// [`crate::gssapi`]): with `keytab` (and `principal`), a ticket is
    /// obtained into a private credential cache; without, the user's
    /// credential cache (`KRB5CCNAME`) is used, and `principal`, when
    /// given, must be its default principal.
    Gssapi {
        principal: Option<String>,
        keytab: Option<PathBuf>,
    },
}

/// One profile, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// The hub's XML-RPC URL (`server`).
    pub server: String,
    /// The web UI (`weburl`), for task links.
    pub weburl: Option<String>,
    /// Where packages and work files are served (`topurl`).
    pub topurl: Option<String>,
    /// CA bundle that signs the hub's certificate (`serverca`).
    pub serverca: Option<PathBuf>,
    pub auth: Auth,
    /// Every key as written (after overrides), for what is not modelled.
    pub raw: BTreeMap<String, String>,
    /// Where each key came from (`file:line`).
    pub origin: BTreeMap<String, String>,
    /// Options the profile sets that have no effect (see [`ignored`]).
    pub warnings: Vec<ProfileWarning>,
}

/// An option of a profile that azldev (like the koji CLI) does not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ProfileWarning {
    pub file: PathBuf,
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// The Kerberos options of the koji CLI's old `krbV` login (`krbLogin`)
/// that its GSSAPI login (`gssapi_login`, `requests-gssapi`: one SPNEGO
/// exchange with `HTTP@<host of server>` on `<server>/ssllogin`, over
/// https) no longer reads, and what decides instead; azldev's login
/// (`curl --negotiate`, the same exchange) follows the koji CLI. A
/// Kerberos profile that sets one gets a warning at its line rather than
/// silence; `krbservice = HTTP` (what is used anyway) gets none.
fn ignored(key: &str, value: &str) -> Option<String> {
    match key {
        "krbservice" if !value.eq_ignore_ascii_case("HTTP") => Some(format!(
            "`krbservice = {value}` is not used: Kerberos logins authenticate to the hub's HTTP \
             service (`HTTP@<server host>`), as the koji CLI's GSSAPI login does; the hub's web \
             server must accept that principal"
        )),
        "krb_rdns" | "krb_canon_host" => Some(format!(
            "`{key} = {value}` is not used: the Kerberos library canonicalizes the server's host \
             name as krb5.conf says (`rdns`, `dns_canonicalize_hostname` in [libdefaults]), as for \
             the koji CLI's GSSAPI login"
        )),
        "krb_server_realm" => Some(format!(
            "`krb_server_realm = {value}` is not used: the Kerberos library maps the server's host \
             to its realm as krb5.conf says ([domain_realm]), as for the koji CLI's GSSAPI login"
        )),
        _ => None,
    }
}

/// `server` as the koji CLI's SSL and GSSAPI logins use it: an `http://`
/// URL switched to `https://` (host, port and path kept; a query or
/// fragment dropped), an `https://` one unchanged. After such a login the
/// session's calls go to this URL too.
#[must_use]
pub fn https_url(server: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("", server));
    if scheme.eq_ignore_ascii_case("https") {
        return server.to_owned();
    }
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    format!("https://{}", &rest[..end])
}

impl Profile {
    /// Where `key` was set (`file:line`), else where the profile's
    /// `server` was, for errors that name the profile file.
    #[must_use]
    pub fn origin_of(&self, key: &str) -> String {
        self.origin
            .get(key)
            .or_else(|| self.origin.get("server"))
            .cloned()
            .unwrap_or_else(|| format!("profile [{}]", self.name))
    }
}

/// The configuration files in the koji CLI's order (later overrides).
#[must_use]
pub fn default_files() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("AZLDEV_KOJI_CONFIG") {
        return std::env::split_paths(&list).flat_map(|p| expand(&p)).collect();
    }
    let mut files = vec![PathBuf::from("/etc/koji.conf")];
    files.extend(expand(Path::new("/etc/koji.conf.d")));
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        files.extend(expand(&home.join(".koji/config.d")));
        files.push(home.join(".koji/config"));
    }
    files
}

/// A directory's `*.conf` files (sorted), or the path itself.
fn expand(p: &Path) -> Vec<PathBuf> {
    if p.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|f| f.extension().is_some_and(|x| x == "conf") && f.is_file())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    } else {
        vec![p.to_owned()]
    }
}

/// Sections of an INI text: section → key → (value, line). Python
/// `configparser` rules: `key = value` or `key: value`, `#`/`;` comment
/// lines, indented continuation lines, keys lower-cased.
type Sections = BTreeMap<String, BTreeMap<String, (String, usize)>>;

/// Parses one INI file.
///
/// # Errors
/// A line that is neither a section, an option, a comment nor a
/// continuation, with its line and column.
pub fn parse_ini(file: &Path, text: &str) -> Result<Sections, ProfileError> {
    let mut out: Sections = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut last_key: Option<String> = None;
    let err = |line: usize, column: usize, message: String| ProfileError {
        file: file.to_owned(),
        line,
        column,
        message,
    };
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            last_key = None;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if indent > 0
            && let (Some(s), Some(k)) = (&section, &last_key)
        {
            if let Some(entry) = out.get_mut(s).and_then(|m| m.get_mut(k)) {
                entry.0.push('\n');
                entry.0.push_str(trimmed);
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(err(n, indent + 1, "a section header must end with `]`".into()));
            };
            section = Some(name.trim().to_owned());
            out.entry(name.trim().to_owned()).or_default();
            last_key = None;
            continue;
        }
        let Some(sep) = trimmed.find(['=', ':']) else {
            return Err(err(n, indent + 1, format!("`{trimmed}` is not `key = value`")));
        };
        let Some(s) = &section else {
            return Err(err(n, indent + 1, "an option before any [section]".into()));
        };
        let key = trimmed[..sep].trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(err(n, indent + 1, "an option without a name".into()));
        }
        let value = trimmed[sep + 1..].trim().to_owned();
        out.entry(s.clone()).or_default().insert(key.clone(), (value, n));
        last_key = Some(key);
    }
    Ok(out)
}

fn tilde(v: &str) -> PathBuf {
    match (v.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(v),
    }
}

/// Reads `profile` from `files` (missing files are skipped, as the koji
/// CLI does).
///
/// # Errors
/// A file that cannot be parsed; a profile no file defines; a profile
/// without `server`; an unknown `authtype`.
pub fn load(profile: &str, files: &[PathBuf]) -> Result<Profile, ProfileError> {
    let mut merged: BTreeMap<String, String> = BTreeMap::new();
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    let mut found: Option<(PathBuf, usize)> = None;
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let sections = parse_ini(f, &text)?;
        if let Some(s) = sections.get(profile) {
            let first_line = s.values().map(|(_, l)| *l).min().unwrap_or(1);
            found.get_or_insert((f.clone(), first_line));
            for (k, (v, line)) in s {
                merged.insert(k.clone(), v.clone());
                origin.insert(k.clone(), format!("{}:{line}", f.display()));
            }
        }
    }
    let Some((first_file, _)) = found else {
        return Err(ProfileError {
            file: files.last().cloned().unwrap_or_default(),
            line: 0,
            column: 0,
            message: format!(
                "no Koji profile `[{profile}]` in {}",
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let at = |key: &str| -> (PathBuf, usize) {
        origin
            .get(key)
            .and_then(|o| o.rsplit_once(':'))
            .map_or((first_file.clone(), 0), |(f, l)| {
                (PathBuf::from(f), l.parse().unwrap_or(0))
            })
    };
    let Some(server) = merged.get("server").cloned() else {
        return Err(ProfileError {
            file: first_file,
            line: 0,
            column: 0,
            message: format!("profile `[{profile}]` has no `server`"),
        });
    };
    let get = |k: &str| merged.get(k).filter(|v| !v.is_empty()).cloned();
    let cert = get("cert").map(|c| tilde(&c));
    let auth = match get("authtype").as_deref() {
        Some("noauth") => Auth::None,
        Some("password") => Auth::Password {
            user: get("user").unwrap_or_default(),
            password: get("password").unwrap_or_default(),
        },
        Some("ssl") => match cert {
            Some(cert) => Auth::Ssl { cert },
            None => {
                let (file, line) = at("authtype");
                return Err(ProfileError {
                    file,
                    line,
                    column: 1,
                    message: "authtype = ssl needs `cert` (a PEM with the client certificate and key)".into(),
                });
            }
        },
        Some("kerberos" | "gssapi") => Auth::Gssapi {
            principal: get("principal"),
            keytab: get("keytab").map(|k| tilde(&k)),
        },
        Some(other) => {
            let (file, line) = at("authtype");
            return Err(ProfileError {
                file,
                line,
                column: 1,
                message: format!("unknown authtype `{other}` (password, ssl, kerberos, gssapi or noauth)"),
            });
        }
        // The koji CLI's choice when authtype is not set: a certificate
        // that exists, else a user and password, else GSSAPI with a
        // keytab and principal. (The koji CLI also tries GSSAPI when the
        // user has a ticket; azldev stays anonymous then.)
        None => match (
            cert,
            get("user"),
            get("password"),
            get("keytab"),
            get("principal"),
        ) {
            (Some(cert), ..) if cert.is_file() => Auth::Ssl { cert },
            (_, Some(user), Some(password), ..) => Auth::Password { user, password },
            (_, _, _, Some(keytab), Some(principal)) => Auth::Gssapi {
                principal: Some(principal),
                keytab: Some(tilde(&keytab)),
            },
            _ => Auth::None,
        },
    };
    let mut warnings = Vec::new();
    if matches!(auth, Auth::Gssapi { .. }) {
        for (key, value) in &merged {
            if let Some(message) = ignored(key, value) {
                let (file, line) = at(key);
                warnings.push(ProfileWarning {
                    file,
                    line,
                    key: key.clone(),
                    message,
                });
            }
        }
    }
    Ok(Profile {
        name: profile.to_owned(),
        server,
        weburl: get("weburl"),
        topurl: get("topurl"),
        serverca: get("serverca").map(|c| tilde(&c)),
        auth,
        raw: merged,
        origin,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_as_the_koji_client_makes_them() {
        assert_eq!(
            https_url("http://hub.example:8080/kojihub"),
            "https://hub.example:8080/kojihub"
        );
        assert_eq!(https_url("HTTP://hub/kojihub?x=1#f"), "https://hub/kojihub");
        assert_eq!(https_url("https://hub/kojihub"), "https://hub/kojihub");
        assert_eq!(https_url("HTTPS://hub/kojihub?x=1"), "HTTPS://hub/kojihub?x=1");
        assert_eq!(https_url("hub/kojihub"), "https://hub/kojihub");
    }

    #[test]
    fn krbv_options_are_warned_about_only_where_kerberos_logs_in() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = write(
            d.path(),
            "k.conf",
            "[k]\nserver = https://h/kojihub\nauthtype = kerberos\nkrbservice = HTTP\nkrb_server_realm = EX\n\
             [p]\nserver = https://h/kojihub\nauthtype = password\nuser = u\npassword = p\nkrbservice = host\nkrb_rdns = false\n",
        );
        let k = load("k", std::slice::from_ref(&f)).expect("k");
        // `krbservice = HTTP` is what is used anyway.
        assert_eq!(k.warnings.len(), 1, "{:?}", k.warnings);
        assert_eq!(
            (k.warnings[0].key.as_str(), k.warnings[0].line),
            ("krb_server_realm", 5)
        );
        assert!(
            k.warnings[0]
                .to_string()
                .starts_with(&format!("{}:5: ", f.display()))
        );
        let p = load("p", &[f]).expect("p");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn later_files_override_key_by_key() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = write(
            d.path(),
            "a.conf",
            "[koji]\nserver = https://a/kojihub\ntopurl = https://a/kojifiles\n; comment\n[other]\nserver: https://o/hub\n",
        );
        let b = write(
            d.path(),
            "b.conf",
            "# later\n[koji]\nserver = https://b/kojihub\nauthtype = password\nuser = me\npassword = s3cret\n",
        );
        let p = load("koji", &[a.clone(), d.path().join("missing.conf"), b.clone()]).expect("loads");
        assert_eq!(p.server, "https://b/kojihub");
        assert_eq!(p.topurl.as_deref(), Some("https://a/kojifiles"));
        assert_eq!(
            p.auth,
            Auth::Password {
                user: "me".into(),
                password: "s3cret".into()
            }
        );
        assert_eq!(p.origin["server"], format!("{}:3", b.display()));
        let o = load("other", &[a, b]).expect("loads");
        assert_eq!(o.server, "https://o/hub");
        assert_eq!(o.auth, Auth::None);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = write(d.path(), "a.conf", "[koji]\nserver = x\n  more\nnot an option\n");
        let e = load("koji", std::slice::from_ref(&a)).expect_err("bad line");
        assert_eq!((e.line, e.column), (4, 1), "{e}");
        assert!(e.to_string().starts_with(&format!("{}:4:1:", a.display())), "{e}");
        let b = write(d.path(), "b.conf", "[koji]\nserver = x\nauthtype = magic\n");
        let e = load("koji", &[b]).expect_err("bad authtype");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("magic"));
        let c = write(d.path(), "c.conf", "[koji]\nserver = x\n");
        let e = load("nope", &[c]).expect_err("no profile");
        assert!(e.message.contains("[nope]"), "{e}");
    }

    #[test]
    fn ssl_and_gssapi_profiles() {
        let d = tempfile::tempdir().expect("tempdir");
        let cert = write(d.path(), "client.pem", "x");
        let a = write(
            d.path(),
            "a.conf",
            &format!(
                "[s]\nserver = https://h/kojihub\ncert = {}\nserverca = /ca.pem\n[k]\nserver = https://h/kojihub\nauthtype = kerberos\nprincipal = me@EX\n",
                cert.display()
            ),
        );
        let s = load("s", std::slice::from_ref(&a)).expect("loads");
        assert_eq!(s.auth, Auth::Ssl { cert });
        assert_eq!(s.serverca, Some(PathBuf::from("/ca.pem")));
        let k = load("k", std::slice::from_ref(&a)).expect("loads");
        assert_eq!(
            k.auth,
            Auth::Gssapi {
                principal: Some("me@EX".into()),
                keytab: None,
            }
        );
        // No authtype, a keytab and a principal: Kerberos (as the koji CLI).
        let b = write(
            d.path(),
            "b.conf",
            "[kt]\nserver = https://h/kojihub\nprincipal = svc@EX\nkeytab = ~/svc.keytab\n",
        );
        let kt = load("kt", &[b]).expect("loads");
        let Auth::Gssapi { principal, keytab } = &kt.auth else {
            panic!("{:?}", kt.auth)
        };
        assert_eq!(principal.as_deref(), Some("svc@EX"));
        assert!(
            keytab
                .as_ref()
                .is_some_and(|k| k.ends_with("svc.keytab") && !k.starts_with("~"))
        );
        assert!(
            kt.origin_of("keytab").ends_with("b.conf:4"),
            "{}",
            kt.origin_of("keytab")
        );
    }
}
