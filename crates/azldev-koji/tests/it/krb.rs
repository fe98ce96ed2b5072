//! Kerberos/GSSAPI login for real: a throwaway MIT Kerberos realm made by
//! the test (`tests/fixtures/koji/krbrealm.py`: its own kdc.conf and
//! krb5.conf, `kdb5_util create -s`, principals and keytabs from
//! `kadmin.local`, `krb5kdc -n` on a free port), the fake hub accepting
//! SPNEGO at `/ssllogin` with python3-gssapi and the `HTTP/localhost`
//! keytab, and azldev's login through `curl --negotiate`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use azldev_koji::xmlrpc::Value;
use azldev_koji::{KojiError, Session, profile};

use crate::hub::Hub;

/// A running realm; the KDC stops when this is dropped.
pub struct Realm {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Kept alive while the realm runs (its files are removed after).
    _dir: tempfile::TempDir,
    /// The hubs' TLS certificates (`crate::hub::certificates`).
    certs: tempfile::TempDir,
    pub info: serde_json::Value,
}

impl Drop for Realm {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Realm {
    pub fn start() -> Realm {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = crate::hub::script().with_file_name("krbrealm.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the realm prints its settings");
        let info: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "krbrealm.py printed {line:?}: {e} (are krb5-kdc, krb5-admin-server and krb5-user installed?)"
            )
        });
        let certs = tempfile::tempdir().expect("tempdir");
        crate::hub::certificates(certs.path());
        Realm {
            child,
            stdin,
            _dir: dir,
            certs,
            info,
        }
    }

    pub fn path(&self, key: &str) -> PathBuf {
        PathBuf::from(self.info[key].as_str().unwrap_or_else(|| panic!("{key}")))
    }

    pub fn principal(&self) -> String {
        self.info["principal"].as_str().expect("principal").to_owned()
    }

    /// The hubs' `tls` settings: https only, with a certificate for
    /// `localhost` signed by [`Realm::ca`].
    pub fn tls(&self) -> serde_json::Value {
        let c = |f: &str| self.certs.path().join(f).display().to_string();
        serde_json::json!({"cert": c("server.crt"), "key": c("server.key"), "ca": c("ca.pem")})
    }

    pub fn ca(&self) -> PathBuf {
        self.certs.path().join("ca.pem")
    }

    /// A hub (https only, as a real hub's `/ssllogin`) that accepts SPNEGO
    /// with the realm's `HTTP/localhost` keys.
    pub fn hub(&self, realm: &str) -> Hub {
        Hub::start_with(
            &[],
            serde_json::json!({
                "gssapi": {"keytab": self.path("http_keytab"), "realm": realm},
                "tls": self.tls(),
            }),
        )
    }

    /// `kinit -k` of the user into `ccache`.
    pub fn kinit(&self, ccache: &Path) {
        let out = Command::new("kinit")
            .env("KRB5_CONFIG", self.path("krb5_config"))
            .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
            .arg("-k")
            .arg("-t")
            .arg(self.path("user_keytab"))
            .arg(self.principal())
            .output()
            .expect("kinit runs");
        assert!(
            out.status.success(),
            "kinit: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A session for a Kerberos profile of `hub` (served as `localhost`, the
/// host of the service principal), the realm's krb5.conf given to the tools.
/// The profile names the hub with `http://`, which the https-only hub does
/// not speak: the login switches to https as the koji CLI's does.
fn session(hub: &Hub, realm: &Realm, auth: &str, env: &[(&str, String)]) -> (Session, PathBuf) {
    let conf = hub.dir.path().join("krb.conf");
    std::fs::write(
        &conf,
        format!(
            "[krb]\nserver = http://localhost:{}/kojihub\n{auth}\nserverca = {}\n",
            hub.port,
            realm.ca().display()
        ),
    )
    .expect("koji.conf");
    let mut s = Session::new(
        profile::load("krb", std::slice::from_ref(&conf)).expect("profile"),
        Duration::from_secs(30),
    )
    .expect("session");
    s.credentials_dir = hub.dir.path().join("credentials");
    s.krb5_env.insert(
        "KRB5_CONFIG".into(),
        realm.path("krb5_config").display().to_string(),
    );
    for (k, v) in env {
        s.krb5_env.insert((*k).to_owned(), v.clone());
    }
    (s, conf)
}

fn user(s: &Session) -> Option<String> {
    s.call("getLoggedInUser", &[])
        .expect("getLoggedInUser")
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[test]
fn kerberos_login_with_a_keytab_or_the_users_ticket() {
    let realm = Realm::start();
    let hub = realm.hub("AZLDEV.TEST");
    let keytab = realm.path("user_keytab");

    // A keytab and principal: a ticket in a private credential cache,
    // removed after the login; the session works for ordinary calls.
    let (s, _) = session(
        &hub,
        &realm,
        &format!(
            "authtype = kerberos\nprincipal = {}\nkeytab = {}",
            realm.principal(),
            keytab.display()
        ),
        &[(
            "KRB5CCNAME",
            format!("FILE:{}", hub.dir.path().join("unused-cc").display()),
        )],
    );
    assert_eq!(s.base_url(), format!("http://localhost:{}/kojihub", hub.port));
    let started = std::time::Instant::now();
    s.login().expect("GSSAPI login with a keytab");
    // Logged in over https, and the session's calls stay there (the hub
    // speaks nothing else).
    assert_eq!(s.base_url(), format!("https://localhost:{}/kojihub", hub.port));
    eprintln!(
        "Kerberos login (curl -V, kinit -k, curl --negotiate): {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    assert!(s.logged_in());
    assert_eq!(user(&s).as_deref(), Some("builder"));
    let left: Vec<_> = std::fs::read_dir(&s.credentials_dir)
        .expect("credentials dir")
        .collect();
    assert!(
        left.is_empty(),
        "the private credential cache is removed: {left:?}"
    );
    assert!(
        !hub.dir.path().join("unused-cc").exists(),
        "the user's cache is not touched"
    );
    // The hub saw one refusal per login (curl's first request carries no
    // token, the hub asks for Negotiate) and then a session for builder.
    let state = hub.state();
    assert_eq!(
        state.get("sessions"),
        Some(&Value::Array(vec![Value::str("builder")]))
    );

    // No keytab: the user's own credential cache.
    let cc = hub.dir.path().join("user-cc");
    realm.kinit(&cc);
    let (s, _) = session(
        &hub,
        &realm,
        "authtype = kerberos\nprincipal = builder",
        &[("KRB5CCNAME", format!("FILE:{}", cc.display()))],
    );
    s.login().expect("GSSAPI login with the user's ticket");
    assert_eq!(user(&s).as_deref(), Some("builder"));
    assert!(cc.is_file(), "the user's cache is kept");

    // The cache holds another principal than the profile's.
    let (s, conf) = session(
        &hub,
        &realm,
        "authtype = kerberos\nprincipal = someone@AZLDEV.TEST",
        &[("KRB5CCNAME", format!("FILE:{}", cc.display()))],
    );
    let e = s.login().expect_err("wrong principal");
    let m = e.to_string();
    assert!(matches!(e, KojiError::Gssapi { .. }), "{m}");
    assert!(
        m.contains("is for `builder@AZLDEV.TEST`") && m.contains("someone@AZLDEV.TEST"),
        "{m}"
    );
    assert!(
        m.contains(&format!("{}:4", conf.display())),
        "names the profile file: {m}"
    );

    // No ticket at all: said plainly, with the profile file and a hint.
    let (s, conf) = session(
        &hub,
        &realm,
        "authtype = kerberos",
        &[(
            "KRB5CCNAME",
            format!("FILE:{}", hub.dir.path().join("no-such-cc").display()),
        )],
    );
    let e = s.login().expect_err("no ticket");
    let m = e.to_string();
    assert!(
        m.contains("no valid Kerberos ticket") && m.contains("no-such-cc"),
        "{m}"
    );
    assert!(m.contains("run `kinit` first"), "{m}");
    assert!(
        m.contains(&format!("profile `krb` ({}:3)", conf.display())),
        "{m}"
    );
    assert!(!s.logged_in());

    // A keytab without the principal's keys: kinit's reason.
    let (s, _) = session(
        &hub,
        &realm,
        &format!(
            "authtype = kerberos\nprincipal = builder\nkeytab = {}",
            realm.path("http_keytab").display()
        ),
        &[],
    );
    let e = s.login().expect_err("wrong keytab");
    let m = e.to_string();
    assert!(m.contains("no ticket for builder from keytab"), "{m}");
    // A keytab without a principal.
    let (s, _) = session(
        &hub,
        &realm,
        &format!("authtype = kerberos\nkeytab = {}", keytab.display()),
        &[],
    );
    let e = s.login().expect_err("no principal");
    assert!(e.to_string().contains("needs the `principal`"), "{e}");
    // A keytab that is not there.
    let (s, conf) = session(
        &hub,
        &realm,
        "authtype = kerberos\nprincipal = builder\nkeytab = /nonexistent/builder.keytab",
        &[],
    );
    let e = s.login().expect_err("no keytab file");
    let m = e.to_string();
    assert!(
        m.contains("keytab /nonexistent/builder.keytab:") && m.contains(&format!("{}:5", conf.display())),
        "{m}"
    );
}

#[test]
fn a_hub_that_refuses_the_kerberos_login_says_why() {
    let realm = Realm::start();
    let keytab = realm.path("user_keytab");
    let auth = format!(
        "authtype = kerberos\nprincipal = {}\nkeytab = {}",
        realm.principal(),
        keytab.display()
    );
    // The hub's realm policy refuses the principal: Koji's AuthError.
    let hub = realm.hub("OTHER.TEST");
    let (s, _) = session(&hub, &realm, &auth, &[]);
    let e = s.login().expect_err("refused");
    let m = e.to_string();
    assert!(
        m.contains("the hub refused the login: fault 1002") && m.contains("not in realm OTHER.TEST"),
        "{m}"
    );
    // A hub without the service's keys cannot accept the token: 401.
    let wrong = Hub::start_with(
        &[],
        serde_json::json!({"gssapi": {"keytab": keytab, "realm": "AZLDEV.TEST"}, "tls": realm.tls()}),
    );
    let (s, _) = session(&wrong, &realm, &auth, &[]);
    let e = s.login().expect_err("401");
    let m = e.to_string();
    assert!(m.contains("refused the login (HTTP 401)"), "{m}");
    let refusals = wrong.state();
    let refusals = refusals
        .get("negotiate-refusals")
        .and_then(Value::as_array)
        .expect("refusals");
    assert!(
        refusals
            .iter()
            .filter_map(Value::as_str)
            .any(|r| r.starts_with("GSSAPI:")),
        "the hub rejected the token itself: {refusals:?}"
    );
}

#[test]
fn kerberos_login_over_verified_tls() {
    let realm = Realm::start();
    let certs = tempfile::tempdir().expect("tempdir");
    crate::hub::certificates(certs.path());
    let c = |f: &str| certs.path().join(f).display().to_string();
    let hub = Hub::start_with(
        &[],
        serde_json::json!({
            "gssapi": {"keytab": realm.path("http_keytab"), "realm": "AZLDEV.TEST"},
            "tls": {"cert": c("server.crt"), "key": c("server.key"), "ca": c("ca.pem")},
        }),
    );
    let auth = format!(
        "authtype = gssapi\nprincipal = {}\nkeytab = {}",
        realm.principal(),
        realm.path("user_keytab").display()
    );
    let conf = hub.dir.path().join("tls.conf");
    let load = |serverca: &str| {
        std::fs::write(
            &conf,
            format!(
                "[tls]\nserver = https://localhost:{}/kojihub\n{serverca}\n{auth}\n",
                hub.port
            ),
        )
        .expect("conf");
        let mut s = Session::new(
            profile::load("tls", std::slice::from_ref(&conf)).expect("profile"),
            Duration::from_secs(30),
        )
        .expect("session");
        s.credentials_dir = hub.dir.path().join("credentials");
        s.krb5_env.insert(
            "KRB5_CONFIG".into(),
            realm.path("krb5_config").display().to_string(),
        );
        s
    };
    // curl verifies the hub with the profile's serverca, then the session
    // goes on over rustls with the same CA.
    let s = load(&format!("serverca = {}", c("ca.pem")));
    s.login().expect("Kerberos login over https");
    assert_eq!(user(&s).as_deref(), Some("builder"));
    // Without serverca the hub is not trusted: curl's reason.
    let s = load("");
    let e = s.login().expect_err("untrusted");
    let m = e.to_string();
    assert!(matches!(e, KojiError::Http { .. }), "{m}");
    assert!(
        m.contains("curl --negotiate failed") && m.contains("SSL certificate problem"),
        "{m}"
    );
}

/// The koji CLI's old krbV options are warned about at their line, and not
/// used: with `krbservice = host` (a `host/localhost` principal the hub has
/// no keys for) the login still authenticates to `HTTP@localhost`.
#[test]
fn old_krbv_options_are_warned_about_and_not_used() {
    let realm = Realm::start();
    let hub = realm.hub("AZLDEV.TEST");
    let (s, conf) = session(
        &hub,
        &realm,
        &format!(
            "authtype = kerberos\nprincipal = {}\nkeytab = {}\nkrbservice = host\nkrb_rdns = false\nkrb_canon_host = yes",
            realm.principal(),
            realm.path("user_keytab").display()
        ),
        &[],
    );
    let warnings: Vec<String> = s.profile.warnings.iter().map(ToString::to_string).collect();
    let at = |line: usize| format!("{}:{line}: ", conf.display());
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&at(8)) && warnings[0].contains("`krb_canon_host = yes` is not used"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with(&at(7)) && warnings[1].contains("`krb_rdns = false` is not used"),
        "{warnings:?}"
    );
    assert!(
        warnings[2].starts_with(&at(6))
            && warnings[2].contains("`krbservice = host` is not used")
            && warnings[2].contains("HTTP@<server host>"),
        "{warnings:?}"
    );
    s.login().expect("the login uses HTTP@localhost");
    assert_eq!(user(&s).as_deref(), Some("builder"));
}
