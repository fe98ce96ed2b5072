//! Kerberos/GSSAPI login without a GSSAPI library.
//!
//! A Koji hub authenticates Kerberos users at `<server>/ssllogin`, where
//! its web server runs the SPNEGO ("Negotiate") exchange and hands the
//! authenticated principal to the hub's `sslLogin` call, which answers
//! with a session (`session-id`, `session-key`) like the other logins.
//! azldev forbids unsafe code and links no C library, so the exchange is
//! made by `curl --negotiate -u :` (Debian's curl is built with GSS-API
//! and SPNEGO): one POST of the `sslLogin` call, run through the crate's
//! runner with a timeout. The session it returns is then used by the
//! ordinary client.
//!
//! Credentials, as the profile says:
//! - `keytab` (with `principal`): `kinit -k -t <keytab> <principal>` into
//!   a private credential cache (`KRB5CCNAME=FILE:…` in a directory
//!   created for this login and removed after it);
//! - no keytab: the user's credential cache (`KRB5CCNAME` or the
//!   krb5.conf default), checked with `klist -s` first so that "no
//!   ticket" is said plainly; a `principal`, when given, must be the
//!   cache's default principal.
//!
//! As the koji CLI's `gssapi_login`, the exchange goes to the https form
//! of `server` ([`crate::profile::https_url`]: an `http://` URL switched to
//! `https://`), and the session's later calls follow it there; `serverca`
//! is passed to curl as `--cacert`. The service is curl's default, `HTTP`
//! at the URL's host (`requests-gssapi`'s too); the koji CLI's old krbV
//! options `krbservice`, `krb_rdns`, `krb_canon_host` and
//! `krb_server_realm` are not read by its GSSAPI login, and a profile that
//! sets them gets a warning ([`crate::profile::Profile::warnings`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use azldev_build::run::{self, RunError};

use crate::client::KojiError;
use crate::profile::Profile;
use crate::xmlrpc::{self, Value, XmlRpcError};

/// A directory made for one login, removed when dropped.
struct Private(PathBuf);

impl Drop for Private {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn private_dir(parent: &Path) -> Result<Private, std::io::Error> {
    std::fs::create_dir_all(parent)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = parent.join(format!("krb5-{}-{stamp}", std::process::id()));
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(&dir)?;
    Ok(Private(dir))
}

/// What the login needs from the session.
pub(crate) struct Login<'a> {
    pub profile: &'a Profile,
    pub principal: Option<&'a str>,
    pub keytab: Option<&'a Path>,
    /// Parent of the private credential-cache directory.
    pub dir: &'a Path,
    /// Extra environment for the tools.
    pub env: &'a BTreeMap<String, String>,
    pub timeout: Duration,
}

impl Login<'_> {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.envs(self.env);
        cmd
    }

    fn err(&self, key: &str, message: impl Into<String>) -> KojiError {
        KojiError::Gssapi {
            profile: self.profile.name.clone(),
            origin: self.profile.origin_of(key),
            message: message.into(),
        }
    }

    fn tool(&self, key: &str, program: &str, e: &RunError) -> KojiError {
        match e {
            RunError::Spawn { .. } => self.err(
                key,
                format!(
                    "cannot run `{program}` ({e}); install Debian's {}",
                    if program == "curl" { "curl" } else { "krb5-user" }
                ),
            ),
            RunError::Timeout { .. } => self.err(key, e.to_string()),
            RunError::Failed { status, tail, .. } => {
                self.err(key, format!("`{program}` failed ({status}): {}", one_line(tail)))
            }
        }
    }

    /// curl must speak SPNEGO.
    fn check_curl(&self) -> Result<(), KojiError> {
        let mut cmd = self.command("curl");
        cmd.arg("-V");
        let out = run::run(cmd, Duration::from_secs(30)).map_err(|e| self.tool("authtype", "curl", &e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if curl_negotiates(&text) {
            Ok(())
        } else {
            let first = text.lines().next().unwrap_or_default();
            Err(self.err(
                "authtype",
                format!(
                    "this curl has no GSS-API/SPNEGO support ({first}); azldev logs in to Koji with Kerberos through `curl --negotiate`: install a curl built with GSS-API (Debian's curl is)"
                ),
            ))
        }
    }

    /// A ticket in a private cache from the keytab; the `KRB5CCNAME` to use.
    fn kinit(&self, keytab: &Path, private: &Path) -> Result<String, KojiError> {
        let Some(principal) = self.principal else {
            return Err(self.err("keytab", "a keytab needs the `principal` to obtain a ticket for"));
        };
        if let Err(e) = std::fs::File::open(keytab) {
            return Err(self.err("keytab", format!("keytab {}: {e}", keytab.display())));
        }
        let ccache = format!("FILE:{}", private.join("ccache").display());
        let mut cmd = self.command("kinit");
        cmd.env("KRB5CCNAME", &ccache)
            .arg("-k")
            .arg("-t")
            .arg(keytab)
            .arg(principal);
        run::run(cmd, self.timeout).map_err(|e| match e {
            RunError::Failed { tail, .. } => self.err(
                "keytab",
                format!(
                    "no ticket for {principal} from keytab {}: {}",
                    keytab.display(),
                    one_line(&tail)
                ),
            ),
            other => self.tool("keytab", "kinit", &other),
        })?;
        Ok(ccache)
    }

    /// The user's own cache must hold a ticket (for `principal`, if set).
    fn check_user_cache(&self) -> Result<(), KojiError> {
        let cache = self
            .env
            .get("KRB5CCNAME")
            .cloned()
            .or_else(|| std::env::var("KRB5CCNAME").ok())
            .unwrap_or_else(|| "the default credential cache".into());
        let hint = "run `kinit` first, or set `keytab` and `principal` in the profile";
        let mut cmd = self.command("klist");
        cmd.arg("-s");
        match run::run(cmd, Duration::from_secs(30)) {
            Ok(_) => {}
            // No klist here: curl's answer will tell.
            Err(RunError::Spawn { .. }) => return Ok(()),
            Err(RunError::Failed { .. }) => {
                return Err(self.err("authtype", format!("no valid Kerberos ticket in {cache}: {hint}")));
            }
            Err(e) => return Err(self.tool("authtype", "klist", &e)),
        }
        let Some(want) = self.principal else {
            return Ok(());
        };
        let out = run::run(self.command("klist"), Duration::from_secs(30))
            .map_err(|e| self.tool("principal", "klist", &e))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let have = text
            .lines()
            .find_map(|l| l.strip_prefix("Default principal:"))
            .map(str::trim)
            .unwrap_or_default();
        let same = have == want || (!want.contains('@') && have.split('@').next() == Some(want));
        if same {
            Ok(())
        } else {
            Err(self.err(
                "principal",
                format!("the ticket in {cache} is for `{have}`, the profile's principal is `{want}`: {hint}"),
            ))
        }
    }

    /// Runs the exchange; the `sslLogin` answer (a session).
    pub(crate) fn run(&self) -> Result<Value, KojiError> {
        self.check_curl()?;
        let private = private_dir(self.dir).map_err(|e| {
            self.err(
                "authtype",
                format!("cannot create a private directory in {}: {e}", self.dir.display()),
            )
        })?;
        let ccache = match self.keytab {
            Some(k) => Some(self.kinit(k, &private.0)?),
            None => {
                self.check_user_cache()?;
                None
            }
        };
        let request = private.0.join("request.xml");
        let response = private.0.join("response.xml");
        let body = xmlrpc::encode_call("sslLogin", &[]).map_err(|source| KojiError::Protocol {
            method: "sslLogin".into(),
            source,
        })?;
        std::fs::write(&request, body)
            .map_err(|e| self.err("authtype", format!("{}: {e}", request.display())))?;
        let url = format!(
            "{}/ssllogin",
            crate::profile::https_url(&self.profile.server).trim_end_matches('/')
        );
        let mut cmd = self.command("curl");
        if let Some(c) = &ccache {
            cmd.env("KRB5CCNAME", c);
        }
        cmd.args(["-sS", "--negotiate", "-u", ":", "-X", "POST"])
            .args(["-H", "Content-Type: text/xml", "-H", "User-Agent: azldev"])
            .arg("--max-time")
            .arg(self.timeout.as_secs().max(1).to_string())
            .arg("--data-binary")
            .arg(format!("@{}", request.display()))
            .arg("-o")
            .arg(&response)
            .args(["-w", "%{http_code}"]);
        if let Some(ca) = &self.profile.serverca {
            cmd.arg("--cacert").arg(ca);
        }
        cmd.arg(&url);
        let out = run::run(cmd, self.timeout + Duration::from_secs(5)).map_err(|e| match e {
            RunError::Failed { tail, status, .. } => KojiError::Http {
                url: url.clone(),
                message: format!("curl --negotiate failed ({status}): {}", curl_error(&tail)),
            },
            other => self.tool("authtype", "curl", &other),
        })?;
        let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let bytes = std::fs::read(&response).unwrap_or_default();
        match code.as_str() {
            "200" => {}
            "401" => {
                let why = if ccache.is_some() {
                    "the hub did not accept the ticket obtained from the keytab"
                } else {
                    "the hub did not accept the ticket in the credential cache (or curl found none)"
                };
                return Err(self.err(
                    "authtype",
                    format!(
                        "{url} refused the login (HTTP 401): {why}; {}",
                        one_line(&String::from_utf8_lossy(&bytes))
                    ),
                ));
            }
            other => {
                return Err(KojiError::Http {
                    url,
                    message: format!("HTTP {other}: {}", one_line(&String::from_utf8_lossy(&bytes))),
                });
            }
        }
        xmlrpc::parse_response(&bytes).map_err(|e| match e {
            XmlRpcError::Fault { code, message } => self.err(
                "authtype",
                format!("the hub refused the login: fault {code}: {message}"),
            ),
            source => KojiError::Protocol {
                method: "sslLogin".into(),
                source,
            },
        })
    }
}

/// Whether `curl -V` lists SPNEGO (or GSS-API) among its features.
fn curl_negotiates(version: &str) -> bool {
    version
        .lines()
        .find_map(|l| l.strip_prefix("Features:"))
        .unwrap_or_default()
        .split_whitespace()
        .any(|f| f == "SPNEGO" || f == "GSS-API")
}

/// curl's own error line (`curl: (N) …`), else the last lines.
fn curl_error(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.starts_with("curl: ("))
        .map_or_else(|| one_line(stderr), |l| l.trim().to_owned())
}

/// The last non-empty lines of `text`, joined (for one-line errors).
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_features_decide() {
        let debian = "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1 OpenSSL/3.0.22\nProtocols: http https\nFeatures: alt-svc AsynchDNS brotli GSS-API HSTS HTTP2 HTTPS-proxy IDN IPv6 Kerberos Largefile libz NTLM SPNEGO SSL\n";
        assert!(curl_negotiates(debian));
        let tiny = "curl 8.5.0 (x86_64-alpine-linux-musl) libcurl/8.5.0 mbedTLS/3.5\nProtocols: http https\nFeatures: AsynchDNS HSTS IPv6 Largefile SSL threadsafe\n";
        assert!(!curl_negotiates(tiny));
        // "Kerberos" alone, or a mention outside the features, is not enough.
        assert!(!curl_negotiates("curl x SPNEGO\nFeatures: Kerberos SSL\n"));
    }

    #[test]
    fn curl_errors_keep_curls_line() {
        let e = "curl: (60) SSL certificate problem: unable to get local issuer certificate\nMore details here: https://curl.se/docs/sslcerts.html\n\ncurl failed to verify the legitimacy\n";
        assert_eq!(
            curl_error(e),
            "curl: (60) SSL certificate problem: unable to get local issuer certificate"
        );
        assert_eq!(curl_error("odd\nthing"), "odd thing");
    }

    #[test]
    fn one_line_keeps_the_last_lines() {
        assert_eq!(one_line("a\n\nb\n c \nd\n"), "b c d");
        assert_eq!(one_line(""), "");
    }

    #[test]
    fn the_private_directory_is_removed() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = private_dir(&d.path().join("krb")).expect("created");
        let path = p.0.clone();
        std::fs::write(path.join("ccache"), "x").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        drop(p);
        assert!(!path.exists());
    }
}
