//! A Koji hub session over XML-RPC (ureq, rustls): calls with positional
//! and keyword arguments (Koji's `__starstar` convention), login by
//! password (`login`), client certificate (`sslLogin`) or Kerberos/GSSAPI
//! (`sslLogin` through SPNEGO, [`crate::gssapi`]), the session's
//! `session-id`/`session-key`/`callnum` query arguments, chunked uploads
//! (`uploadFile`) and downloads of task output (`downloadTaskOutput`) and
//! of files under `topurl`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use md5::{Digest, Md5};

use crate::profile::{Auth, Profile};
use crate::xmlrpc::{self, Value, XmlRpcError};

/// What can go wrong talking to a hub.
#[derive(Debug, thiserror::Error)]
pub enum KojiError {
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{method}: {source}")]
    Protocol {
        method: String,
        #[source]
        source: XmlRpcError,
    },
    /// The hub answered with a fault (Koji's `GenericError` is 1000,
    /// `AuthError` 1002, `BuildError` 1005 …).
    #[error("{method}: Koji fault {code}: {message}")]
    Fault {
        method: String,
        code: i64,
        message: String,
    },
    #[error("login: {0}")]
    Auth(String),
    /// Kerberos/GSSAPI login failed: no ticket, a curl without GSS-API,
    /// the hub refused it… `origin` is the profile's `file:line`.
    #[error("profile `{profile}` ({origin}): Kerberos/GSSAPI login: {message}")]
    Gssapi {
        profile: String,
        origin: String,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Other(String),
}

/// A logged-in (or anonymous) session.
#[derive(Debug)]
pub struct Session {
    agent: ureq::Agent,
    pub profile: Profile,
    /// `(session-id, session-key)` after login.
    session: Mutex<Option<(i64, String)>>,
    callnum: AtomicU64,
    /// A logged-in session's calls go one at a time: the hub refuses a
    /// call number that is not after the last one it saw (as Koji's does).
    serial: Mutex<()>,
    /// Retries of a read-only call after a transport failure.
    pub retries: u32,
    /// Where a Kerberos login made from a keytab keeps its private
    /// credential cache (a directory created and removed by the login).
    pub credentials_dir: PathBuf,
    /// Environment given to the Kerberos tools (`curl`, `kinit`, `klist`)
    /// on top of the process's, e.g. `KRB5_CONFIG` or `KRB5CCNAME`.
    pub krb5_env: BTreeMap<String, String>,
    timeout: Duration,
    /// Where calls go: the profile's `server`, switched to https by an SSL
    /// or GSSAPI login (as the koji CLI's logins do, see
    /// [`crate::profile::https_url`]).
    base: Mutex<String>,
}

fn tls_config(profile: &Profile) -> Result<ureq::tls::TlsConfig, KojiError> {
    use ureq::tls::{ClientCert, PemItem, RootCerts, TlsConfig, parse_pem};
    let mut b = TlsConfig::builder();
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| KojiError::File {
            path: p.display().to_string(),
            message: e.to_string(),
        })
    };
    if let Some(ca) = &profile.serverca {
        let bytes = read(ca)?;
        let mut certs = Vec::new();
        for item in parse_pem(&bytes) {
            if let Ok(PemItem::Certificate(c)) = item {
                certs.push(c);
            }
        }
        if certs.is_empty() {
            return Err(KojiError::File {
                path: ca.display().to_string(),
                message: "serverca holds no PEM certificate".into(),
            });
        }
        b = b.root_certs(RootCerts::new_with_certs(&certs));
    }
    if let Auth::Ssl { cert } = &profile.auth {
        let bytes = read(cert)?;
        let mut chain = Vec::new();
        let mut key = None;
        for item in parse_pem(&bytes) {
            match item {
                Ok(PemItem::Certificate(c)) => chain.push(c),
                Ok(PemItem::PrivateKey(k)) => key = Some(k),
                Ok(_) => {}
                Err(e) => {
                    return Err(KojiError::File {
                        path: cert.display().to_string(),
                        message: e.to_string(),
                    });
                }
            }
        }
        let (false, Some(key)) = (chain.is_empty(), key) else {
            return Err(KojiError::File {
                path: cert.display().to_string(),
                message: "the client certificate file needs a PEM certificate and its private key".into(),
            });
        };
        b = b.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
    }
    Ok(b.build())
}

/// Methods safe to repeat after a transport failure.
fn idempotent(method: &str) -> bool {
    [
        "get",
        "list",
        "repoInfo",
        "download",
        "checkUpload",
        "echo",
        "hello",
        "repo.checkRequest",
        "repo.get",
        "system.",
        "tagLastChangeEvent",
    ]
    .iter()
    .any(|p| method.starts_with(p))
}

impl Session {
    /// A session for `profile` (not logged in yet).
    ///
    /// # Errors
    /// The TLS files of the profile cannot be read.
    pub fn new(profile: Profile, timeout: Duration) -> Result<Session, KojiError> {
        let tls = tls_config(&profile)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .tls_config(tls)
            .build()
            .into();
        Ok(Session {
            agent,
            base: Mutex::new(profile.server.clone()),
            profile,
            session: Mutex::new(None),
            callnum: AtomicU64::new(0),
            serial: Mutex::new(()),
            retries: 3,
            credentials_dir: std::env::temp_dir().join("azldev-koji"),
            krb5_env: BTreeMap::new(),
            timeout,
        })
    }

    /// The URL of a call (`<server>/ssllogin` for `sslLogin`, where a hub
    /// asks for the client certificate) and the session's headers: the
    /// session goes both as query arguments (`session-id`, `session-key`,
    /// `callnum`) and as the `Koji-Session-*` headers newer hubs read.
    fn url(&self, method: &str) -> (String, Vec<(&'static str, String)>) {
        let base = if method == "sslLogin" {
            format!(
                "{}/ssllogin",
                crate::profile::https_url(&self.base_url()).trim_end_matches('/')
            )
        } else {
            self.base_url()
        };
        let guard = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &*guard {
            Some((id, key)) => {
                let n = self.callnum.fetch_add(1, Ordering::SeqCst);
                let sep = if base.contains('?') { '&' } else { '?' };
                (
                    format!(
                        "{base}{sep}session-id={id}&session-key={}&callnum={n}",
                        encode_query(key)
                    ),
                    vec![
                        ("Koji-Session-Id", id.to_string()),
                        ("Koji-Session-Key", key.clone()),
                        ("Koji-Session-Callnum", n.to_string()),
                    ],
                )
            }
            None => (base, Vec::new()),
        }
    }

    /// The URL calls go to: `server`, or its https form after an SSL or
    /// GSSAPI login.
    #[must_use]
    pub fn base_url(&self) -> String {
        self.base
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Calls `method` with positional arguments.
    ///
    /// # Errors
    /// Transport, protocol or a fault.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, KojiError> {
        self.call_kw(method, params, BTreeMap::new())
    }

    /// Calls `method` with positional and keyword arguments (sent as a
    /// final struct marked `__starstar`, as Koji's client does).
    ///
    /// # Errors
    /// Transport, protocol or a fault.
    pub fn call_kw(
        &self,
        method: &str,
        params: &[Value],
        kwargs: BTreeMap<String, Value>,
    ) -> Result<Value, KojiError> {
        let mut all = params.to_vec();
        if !kwargs.is_empty() {
            let mut k = kwargs;
            k.insert("__starstar".into(), Value::Bool(true));
            all.push(Value::Struct(k));
        }
        let body = xmlrpc::encode_call(method, &all).map_err(|source| KojiError::Protocol {
            method: method.to_owned(),
            source,
        })?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.post(method, &body) {
                Err(KojiError::Http { url, message }) if idempotent(method) && attempt <= self.retries => {
                    let _ = (url, message);
                    std::thread::sleep(Duration::from_millis(200 * (1 << attempt)));
                }
                other => return other,
            }
        }
    }

    fn post(&self, method: &str, body: &[u8]) -> Result<Value, KojiError> {
        let _one = self.logged_in().then(|| {
            self.serial
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        });
        let (url, headers) = self.url(method);
        let shown = url.split('?').next().unwrap_or_default().to_owned();
        let http = |message: String| KojiError::Http {
            url: shown.clone(),
            message,
        };
        let mut req = self.agent.post(&url).header("Content-Type", "text/xml");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let mut resp = req.send(body).map_err(|e| http(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| http(e.to_string()))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(http(format!(
                "HTTP {status}: {}",
                text.lines().take(3).collect::<Vec<_>>().join(" ")
            )));
        }
        xmlrpc::parse_response(&bytes).map_err(|e| match e {
            XmlRpcError::Fault { code, message } => KojiError::Fault {
                method: method.to_owned(),
                code,
                message,
            },
            source => KojiError::Protocol {
                method: method.to_owned(),
                source,
            },
        })
    }

    /// Logs in as the profile says (nothing for `noauth`).
    ///
    /// # Errors
    /// Refused credentials; for Kerberos/GSSAPI also no ticket, a curl
    /// without GSS-API support (see [`crate::gssapi`]).
    pub fn login(&self) -> Result<(), KojiError> {
        let info = match &self.profile.auth {
            Auth::None => return Ok(()),
            Auth::Gssapi { principal, keytab } => crate::gssapi::Login {
                profile: &self.profile,
                principal: principal.as_deref(),
                keytab: keytab.as_deref(),
                dir: &self.credentials_dir,
                env: &self.krb5_env,
                timeout: self.timeout,
            }
            .run(),
            Auth::Password { user, password } => {
                if user.is_empty() {
                    return Err(KojiError::Auth(format!(
                        "profile `{}` has authtype = password but no `user`",
                        self.profile.name
                    )));
                }
                self.call("login", &[Value::str(user.clone()), Value::str(password.clone())])
            }
            Auth::Ssl { .. } => self.call("sslLogin", &[]),
        }
        .map_err(|e| match e {
            KojiError::Fault { code, message, .. } => KojiError::Auth(format!("fault {code}: {message}")),
            other => other,
        })?;
        let id = info.get("session-id").and_then(Value::as_i64);
        let key = info.get("session-key").and_then(Value::as_str);
        match (id, key) {
            (Some(id), Some(key)) => {
                *self
                    .session
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((id, key.to_owned()));
                // The koji CLI's SSL and GSSAPI logins move the session to
                // https for good.
                if matches!(self.profile.auth, Auth::Ssl { .. } | Auth::Gssapi { .. }) {
                    *self
                        .base
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) =
                        crate::profile::https_url(&self.profile.server);
                }
                Ok(())
            }
            _ => Err(KojiError::Auth(
                "the hub's answer has no session-id and session-key".into(),
            )),
        }
    }

    /// Whether the session is logged in.
    #[must_use]
    pub fn logged_in(&self) -> bool {
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// Uploads `file` into the hub's work directory `server_dir` in chunks
    /// (`uploadFile(path, name, size, md5, offset, data)`, each chunk's
    /// MD5 checked by the hub), then asks the hub to verify the whole file
    /// (offset -1, its size and MD5). Returns `server_dir/<name>`.
    ///
    /// # Errors
    /// The file cannot be read, or the hub refuses a chunk.
    pub fn upload(&self, file: &Path, server_dir: &str, chunk: usize) -> Result<String, KojiError> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| KojiError::Other(format!("{}: no file name", file.display())))?;
        let bytes = std::fs::read(file).map_err(|e| KojiError::File {
            path: file.display().to_string(),
            message: e.to_string(),
        })?;
        let chunk = chunk.max(1);
        let mut offset = 0usize;
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        loop {
            let end = (offset + chunk).min(bytes.len());
            let part = &bytes[offset..end];
            let ok = self.call(
                "uploadFile",
                &[
                    Value::str(server_dir),
                    Value::str(name.clone()),
                    Value::Int(part.len() as i64),
                    Value::str(hex(&Md5::digest(part))),
                    Value::Int(offset as i64),
                    Value::str(xmlrpc::base64_encode(part)),
                ],
            )?;
            if ok.as_bool() == Some(false) {
                return Err(KojiError::Other(format!(
                    "uploadFile refused the chunk of {name} at offset {offset}"
                )));
            }
            offset = end;
            if offset >= bytes.len() {
                break;
            }
        }
        let ok = self.call(
            "uploadFile",
            &[
                Value::str(server_dir),
                Value::str(name.clone()),
                Value::Int(bytes.len() as i64),
                Value::str(hex(&Md5::digest(&bytes))),
                Value::Int(-1),
                Value::str(""),
            ],
        )?;
        if ok.as_bool() == Some(false) {
            return Err(KojiError::Other(format!(
                "the hub could not verify the upload of {name}"
            )));
        }
        Ok(format!("{server_dir}/{name}"))
    }

    /// The whole of one task output file (`downloadTaskOutput` in chunks).
    ///
    /// # Errors
    /// The hub refuses.
    pub fn download_task_output(&self, task: i64, file: &str) -> Result<Vec<u8>, KojiError> {
        const CHUNK: i64 = 1 << 20;
        let mut out = Vec::new();
        loop {
            let v = self.call(
                "downloadTaskOutput",
                &[
                    Value::Int(task),
                    Value::str(file),
                    Value::Int(out.len() as i64),
                    Value::Int(CHUNK),
                ],
            )?;
            let data = match v {
                Value::Base64(b) => b,
                Value::Str(s) => xmlrpc::base64_decode(&s).map_err(KojiError::Other)?,
                other => {
                    return Err(KojiError::Other(format!("downloadTaskOutput returned {other:?}")));
                }
            };
            let n = data.len();
            out.extend(data);
            if n < CHUNK as usize {
                return Ok(out);
            }
        }
    }

    /// GETs a file (under `topurl`) into `dest`, written beside and renamed.
    ///
    /// # Errors
    /// Transport or a non-200 answer.
    pub fn download(&self, url: &str, dest: &Path) -> Result<(), KojiError> {
        let http = |message: String| KojiError::Http {
            url: url.to_owned(),
            message,
        };
        let mut resp = self.agent.get(url).call().map_err(|e| http(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(http(format!("HTTP {}", resp.status())));
        }
        let part = dest.with_extension("part");
        let mut f = std::fs::File::create(&part).map_err(|e| http(e.to_string()))?;
        let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(|e| http(e.to_string()))?;
            if n == 0 {
                break;
            }
            std::io::Write::write_all(&mut f, &buf[..n]).map_err(|e| http(e.to_string()))?;
        }
        drop(f);
        std::fs::rename(&part, dest).map_err(|e| http(e.to_string()))
    }
}

fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
