//! `azldev build --executor koji` end to end: the demo distro against a
//! hub started by the test (`tests/fixtures/koji/fakehub.py`, Koji's calls
//! and semantics; builds made with real rpmbuild), and `build --plan
//! --simulate`. No root needed.
//!
//! A real hub: set `AZLDEV_KOJI_HUB` to a profile name the koji CLI
//! configuration on this machine defines (`AZLDEV_KOJI_CONFIG` to read
//! another file; a Kerberos profile needs a ticket or its `keytab`) and
//! `AZLDEV_KOJI_TARGET` to a build target whose build tag has the demo's
//! buildroot; then `real_hub_builds_the_demo` submits scratch builds of the
//! demo components without in-distro build dependencies there, or, with
//! `AZLDEV_KOJI_SCRATCH=0`, real (tagged) builds of the whole demo, SRPMs
//! uploaded (use a throwaway target).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use azldev_e2e::copy_tree;
use azldev_koji::xmlrpc::Value;
use serde_json::Value as Json;

struct Hub {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Hub {
    fn start(fail: &[(&str, &str)]) -> Hub {
        Hub::start_with(fail, serde_json::json!({}))
    }

    /// A hub whose configuration also holds `extra`'s keys.
    fn start_with(fail: &[(&str, &str)], extra: Json) -> Hub {
        let dir = tempfile::tempdir().expect("tempdir");
        let fail: serde_json::Map<String, Json> = fail
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Json::from(*v)))
            .collect();
        let mut cfg = serde_json::json!({
            "users": {"builder": "s3cret"},
            // The build tag configured like the demo's buildroot.
            "targets": {"demo-target": {"build_tag": "demo-build", "dest_tag": "demo", "macros": {"dist": ".demo1"}}},
            "arches": ["x86_64", "aarch64"],
            "repo_delay": 0.2,
            "task_delay": 0.05,
            "fail": fail,
            "top": dir.path().join("top"),
        });
        if let (Some(c), Some(e)) = (cfg.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        std::fs::write(dir.path().join("hub.json"), cfg.to_string()).expect("config");
        let mut child = Command::new("python3")
            .arg(azldev_e2e::demo::workspace_root().join("tests/fixtures/koji/fakehub.py"))
            .arg(dir.path().join("hub.json"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port = line
            .trim()
            .trim_start_matches("PORT ")
            .parse()
            .expect("port number");
        let hub = Hub { child, port, dir };
        // An https-only hub (its `tls` setting) is named with https and its CA.
        let (scheme, ca) = match extra["tls"]["ca"].as_str() {
            Some(ca) => ("https", format!("serverca = {ca}\n")),
            None => ("http", String::new()),
        };
        std::fs::write(
            hub.conf(),
            format!(
                "[koji]\nserver = http://127.0.0.1:{0}/nothing-here\n\n[fake]\nserver = {scheme}://127.0.0.1:{0}/kojihub\nweburl = {scheme}://127.0.0.1:{0}/koji\ntopurl = {scheme}://127.0.0.1:{0}/kojifiles\nauthtype = password\nuser = builder\npassword = s3cret\n{ca}",
                hub.port
            ),
        )
        .expect("koji.conf");
        hub
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("koji.conf")
    }

    fn state(&self) -> Value {
        let p = azldev_koji::profile::load("fake", &[self.conf()]).expect("profile");
        azldev_koji::Session::new(p, Duration::from_secs(10))
            .expect("session")
            .call("_fakehub_state", &[])
            .expect("state")
    }

    fn builds(&self) -> Vec<(String, i64)> {
        self.state()
            .get("builds")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .map(|b| {
                (
                    b.get("src")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    b.get("state").and_then(Value::as_i64).unwrap_or(-1),
                )
            })
            .collect()
    }
}

struct Demo {
    root: tempfile::TempDir,
    cache: tempfile::TempDir,
    remote: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) -> String {
    azldev_e2e::git(dir, args, "2024-06-01T00:00:00Z")
}

impl Demo {
    /// The demo in a git repository, rendered, committed and pushed to a
    /// bare remote.
    fn new() -> Demo {
        let root = tempfile::tempdir().expect("tempdir");
        let src = azldev_e2e::demo::workspace_root();
        std::fs::copy(src.join("distro.toml"), root.path().join("distro.toml")).expect("distro.toml");
        for dir in ["components", "overlays", "locks", "mock"] {
            copy_tree(&src.join(dir), &root.path().join(dir));
        }
        std::fs::write(root.path().join(".gitignore"), "/target\n/build\n/out\n").expect("gitignore");
        azldev_e2e::demo::generate(
            &azldev_e2e::demo::default_fixtures(),
            &root.path().join("target/demo-upstreams"),
        )
        .expect("generate the demo upstreams");
        let d = Demo {
            root,
            cache: tempfile::tempdir().expect("cache"),
            remote: tempfile::tempdir().expect("remote"),
        };
        d.expect(0, &["render"], None);
        let r = d.root.path();
        git(d.remote.path(), &["init", "-q", "--bare", "-b", "main"]);
        git(r, &["init", "-q", "-b", "main"]);
        git(r, &["add", "-A"]);
        git(r, &["commit", "-q", "-m", "demo"]);
        git(
            r,
            &["remote", "add", "origin", &d.remote.path().display().to_string()],
        );
        git(r, &["push", "-q", "-u", "origin", "main"]);
        d
    }

    fn cmd(&self, args: &[&str], hub: Option<&Hub>) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("azldev"));
        c.current_dir(self.root.path())
            .env("AZLDEV_CACHE_DIR", self.cache.path())
            .env_remove("AZLDEV_JOBS")
            .env("AZLDEV_KOJI_POLL", "0.05")
            .env("AZLDEV_KOJI_MAX_POLL", "0.4")
            .args(args);
        if let Some(h) = hub {
            c.env("AZLDEV_KOJI_CONFIG", h.conf());
        }
        c
    }

    fn run(&self, args: &[&str], hub: Option<&Hub>) -> Output {
        self.cmd(args, hub).output().expect("runs")
    }

    fn expect(&self, code: i32, args: &[&str], hub: Option<&Hub>) -> (String, String) {
        let out = self.run(args, hub);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "azldev {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }
}

fn statuses(report: &Json) -> Vec<(String, String)> {
    report["arches"][0]["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

const KOJI: &[&str] = &[
    "build",
    "--executor",
    "koji",
    "--koji-profile",
    "fake",
    "--target",
    "demo-target",
];

#[test]
fn the_demo_builds_on_koji_from_scm_then_is_cached_and_scratch_builds_upload_srpms() {
    let hub = Hub::start(&[]);
    let d = Demo::new();
    let commit = git(d.root.path(), &["rev-parse", "HEAD"]);
    let mut args = KOJI.to_vec();
    args.extend(["-a", "--format", "json"]);
    let (out, err) = d.expect(0, &args, Some(&hub));
    let report: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["ok"], true, "{err}");
    let st = statuses(&report);
    assert!(st.len() >= 10, "{st:?}");
    assert!(st.iter().all(|(_, s)| s == "built"), "{st:?}");
    // SCM builds of the pushed commit; libgreet before greeter.
    let builds = hub.builds();
    let remote = d.remote.path().display().to_string();
    for (src, state) in &builds {
        assert!(src.starts_with(&format!("git+{remote}?specs/")), "{src}");
        assert!(src.ends_with(&format!("#{commit}")), "{src}");
        assert_eq!(*state, 2, "{src} CLOSED");
    }
    let pos = |n: &str| {
        builds
            .iter()
            .position(|(s, _)| s.contains(&format!("/{n}#")))
            .unwrap_or_else(|| panic!("{n} submitted: {builds:?}"))
    };
    assert!(pos("libgreet") < pos("greeter"));
    // Task ids and web URLs in the report; RPMs in the local repository.
    let greeter = &report["koji"]["builds"]["greeter"];
    assert!(
        greeter["url"]
            .as_str()
            .is_some_and(|u| u.contains("/koji/taskinfo?taskID=")),
        "{greeter}"
    );
    assert!(greeter["repo-wait-seconds"].as_f64().is_some(), "{greeter}");
    // This hub predates repository requests: its repository is polled.
    assert_eq!(report["koji"]["repo-requests"], false);
    assert!(
        greeter["repo-id"].as_i64().is_some() && greeter["repo-request"].is_null(),
        "{greeter}"
    );
    let packages = d.root.path().join("out/x86_64/Packages");
    let rpms: Vec<String> = std::fs::read_dir(&packages)
        .expect("Packages")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        rpms.iter()
            .any(|r| r.starts_with("libgreet-") && r.ends_with(".x86_64.rpm")),
        "{rpms:?}"
    );
    assert!(d.root.path().join("out/x86_64/repodata/repomd.xml").is_file());
    // Durations were recorded for the capacity planner.
    let times: Json = serde_json::from_slice(
        &std::fs::read(d.cache.path().join("build-times.json")).expect("build-times.json"),
    )
    .expect("JSON");
    assert!(times["x86_64/greeter"].as_f64().is_some(), "{times}");

    // Again: the local cache of Koji results holds everything.
    let (out, _) = d.expect(0, &args, Some(&hub));
    let report: Json = serde_json::from_str(&out).expect("JSON");
    assert!(statuses(&report).iter().all(|(_, s)| s == "cached"));
    assert_eq!(hub.builds().len(), builds.len(), "nothing submitted");

    // --rebuild: every NVR is tagged already, so nothing is submitted.
    let mut again = args.clone();
    again.push("--rebuild");
    let (out, _) = d.expect(0, &again, Some(&hub));
    let report: Json = serde_json::from_str(&out).expect("JSON");
    assert!(
        report["koji"]["builds"]
            .as_object()
            .expect("builds")
            .values()
            .all(|b| b["already-tagged"] == true)
    );
    assert_eq!(hub.builds().len(), builds.len(), "nothing submitted");

    // Both arches: x86_64 is cached; Koji built aarch64 with the same
    // tasks, so its RPMs come from topurl and nothing is submitted.
    let mut all = args.clone();
    all.extend(["--arch", "all"]);
    let (out, _) = d.expect(0, &all, Some(&hub));
    let report: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["arches"][1]["arch"], "aarch64");
    let aarch64: Vec<String> = report["arches"][1]["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap_or_default(),
                c["status"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert!(aarch64.iter().any(|c| c == "libgreet built"), "{aarch64:?}");
    assert_eq!(hub.builds().len(), builds.len(), "nothing submitted");
    let arm: Vec<String> = std::fs::read_dir(d.root.path().join("out/aarch64/Packages"))
        .expect("aarch64 Packages")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        arm.iter()
            .any(|r| r.starts_with("libgreet-") && r.ends_with(".aarch64.rpm")),
        "{arm:?}"
    );
    assert!(
        arm.iter().any(|r| r.ends_with(".noarch.rpm")),
        "noarch published for aarch64 too: {arm:?}"
    );

    // Scratch: SRPMs made here and uploaded; nothing tagged.
    let mut scratch = KOJI.to_vec();
    scratch.extend(["--scratch", "--rebuild", "hello", "--format", "json"]);
    let (out, _) = d.expect(0, &scratch, Some(&hub));
    let report: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(report["koji"]["scratch"], true);
    let last = hub.builds().last().cloned().expect("a build");
    assert!(
        last.0.starts_with("cli-build/azldev-") && last.0.ends_with(".src.rpm"),
        "{last:?}"
    );

    // An unpushed commit cannot be built from SCM.
    std::fs::write(d.root.path().join("README"), "local\n").expect("write");
    git(d.root.path(), &["add", "README"]);
    git(d.root.path(), &["commit", "-q", "-m", "local only"]);
    let (_, err) = d.expect(2, &args, Some(&hub));
    assert!(err.contains("is not on any remote-tracking branch"), "{err}");
    // Uncommitted changes to the rendered tree: SRPMs are uploaded.
    let spec = d.root.path().join("specs/h/hello/hello.spec");
    let mut text = std::fs::read_to_string(&spec).expect("spec");
    text.push('\n');
    std::fs::write(&spec, text).expect("write");
    let (out, _) = d.expect(0, &args, Some(&hub));
    let report: Json = serde_json::from_str(&out).expect("JSON");
    assert!(
        report["koji"]["source"]
            .as_str()
            .is_some_and(|s| s.contains("uncommitted changes: SRPMs are made here and uploaded")),
        "{report}"
    );
    let (_, err) = d.expect(0, KOJI, Some(&hub));
    assert!(err.contains("uncommitted changes"), "{err}");
}

#[test]
fn failures_show_koji_logs_and_ctrl_c_cancels_the_submitted_tasks() {
    let hub = Hub::start(&[("libgreet", "build"), ("wordlist", "hang")]);
    let d = Demo::new();
    let child = d
        .cmd(&[KOJI, &["-a"][..]].concat(), Some(&hub))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until wordlist's task is running on the hub, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let builds = hub.builds();
        let failed = builds.iter().any(|(s, st)| s.contains("/libgreet#") && *st == 5);
        let hanging = builds.iter().any(|(s, st)| s.contains("/wordlist#") && *st == 1);
        if failed && hanging {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hub never saw both builds: {builds:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("the Koji tasks this run submitted were cancelled"),
        "{stderr}"
    );
    let builds = hub.builds();
    let wordlist = builds
        .iter()
        .find(|(s, _)| s.contains("/wordlist#"))
        .expect("wordlist");
    assert_eq!(wordlist.1, 3, "CANCELED on the hub: {builds:?}");
    assert!(
        builds.iter().all(|(_, st)| *st != 1 && *st != 0),
        "nothing left running: {builds:?}"
    );
    // libgreet's failure: Koji's message, the downloaded build.log's tail,
    // and greeter (which BuildRequires libgreet-devel) blocked, not submitted.
    assert!(stderr.contains("libgreet failed (Build): Koji task"), "{stderr}");
    assert!(stderr.contains("mock exited with status 1"), "{stderr}");
    assert!(stderr.contains("| error: Bad exit status"), "{stderr}");
    assert!(
        stderr.contains("blocked greeter (x86_64): libgreet failed"),
        "{stderr}"
    );
    assert!(!builds.iter().any(|(s, _)| s.contains("/greeter#")), "{builds:?}");
    let logs: Vec<String> = std::fs::read_dir(d.root.path().join("build/logs/x86_64/libgreet"))
        .expect("log dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(logs.iter().any(|l| l.ends_with("-x86_64-build.log")), "{logs:?}");
}

#[test]
fn profile_errors_name_the_file_and_line() {
    let hub = Hub::start(&[]);
    let d = Demo::new();
    std::fs::write(
        hub.conf(),
        "[fake]\nserver = http://x/kojihub\nauthtype = kerberos\n[broken\n",
    )
    .expect("write");
    let (_, err) = d.expect(2, &[KOJI, &["hello"][..]].concat(), Some(&hub));
    assert!(err.contains(&format!("{}:4:1", hub.conf().display())), "{err}");
    std::fs::write(
        hub.conf(),
        "[fake]\nserver = http://127.0.0.1:9/kojihub\nauthtype = kerberos\n",
    )
    .expect("write");
    let no_ticket = format!("FILE:{}", hub.dir.path().join("no-such-ccache").display());
    let out = d
        .cmd(&[KOJI, &["hello"][..]].concat(), Some(&hub))
        .env("KRB5CCNAME", &no_ticket)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "profile `fake` ({}:3): Kerberos/GSSAPI login: no valid Kerberos ticket",
            hub.conf().display()
        )),
        "{err}"
    );
    let (_, err) = d.expect(
        2,
        &["build", "--executor", "koji", "--koji-profile", "fake", "hello"],
        Some(&hub),
    );
    assert!(err.contains("needs a build target"), "{err}");
    // The profile and target as settings (here from the environment).
    let out = d
        .cmd(&["build", "--executor", "koji", "hello"], Some(&hub))
        .env("AZLDEV_KOJI_PROFILE", "fake")
        .env("AZLDEV_KOJI_TARGET", "demo-target")
        .env("KRB5CCNAME", &no_ticket)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("profile `fake` ("), "{err}");
    assert!(err.contains("Kerberos/GSSAPI login"), "{err}");
}

/// A throwaway MIT Kerberos realm (`tests/fixtures/koji/krbrealm.py`);
/// the KDC stops when this is dropped.
struct Realm {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    _dir: tempfile::TempDir,
    info: Json,
}

impl Drop for Realm {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

impl Realm {
    fn start() -> Realm {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new("python3")
            .arg(azldev_e2e::demo::workspace_root().join("tests/fixtures/koji/krbrealm.py"))
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the realm's settings");
        let info: Json = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("krbrealm.py printed {line:?}: {e} (krb5-kdc, krb5-admin-server, krb5-user installed?)")
        });
        Realm {
            child,
            stdin,
            _dir: dir,
            info,
        }
    }

    fn path(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}"))
            .to_owned()
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.pem`) and a server certificate for localhost and 127.0.0.1
/// (`server.crt`, `server.key`) in `dir`.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=azldev e2e CA",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

#[test]
fn the_demo_builds_on_koji_with_a_kerberos_login() {
    let realm = Realm::start();
    let certs = tempfile::tempdir().expect("tempdir");
    certificates(certs.path());
    let c = |f: &str| certs.path().join(f).display().to_string();
    let hub = Hub::start_with(
        &[],
        // A Koji >= 1.35 hub: build-tag repositories are made on request;
        // https only, as a real hub's Kerberos login.
        serde_json::json!({
            "gssapi": {"keytab": realm.path("http_keytab"), "realm": "AZLDEV.TEST"},
            "repo_requests": true,
            "tls": {"cert": c("server.crt"), "key": c("server.key"), "ca": c("ca.pem")},
        }),
    );
    // The service principal is HTTP/localhost: the hub is named so. The
    // profile's `server` says http: the login (and the session after it)
    // switches to https, as the koji CLI's does; the old krbV options are
    // warned about.
    let conf = hub.dir.path().join("krb.conf");
    let profile = |auth: &str| {
        std::fs::write(
            &conf,
            format!(
                "[krb]\nserver = http://localhost:{0}/kojihub\nweburl = https://localhost:{0}/koji\ntopurl = https://localhost:{0}/kojifiles\n{auth}\nserverca = {1}\nkrbservice = host\n",
                hub.port,
                c("ca.pem")
            ),
        )
        .expect("krb.conf");
    };
    profile(&format!(
        "authtype = kerberos\nprincipal = {}\nkeytab = {}",
        realm.path("principal"),
        realm.path("user_keytab")
    ));
    let d = Demo::new();
    let run = |ccache: &str| {
        d.cmd(
            &[
                "build",
                "--executor",
                "koji",
                "--koji-profile",
                "krb",
                "--target",
                "demo-target",
                "-a",
                "--format",
                "json",
            ],
            None,
        )
        .env("AZLDEV_KOJI_CONFIG", &conf)
        .env("KRB5_CONFIG", realm.path("krb5_config"))
        .env("KRB5CCNAME", ccache)
        .output()
        .expect("runs")
    };
    let users_cache = hub.dir.path().join("users-ccache");
    let out = run(&format!("FILE:{}", users_cache.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: koji profile `krb`: {}:9: `krbservice = host` is not used",
            conf.display()
        )),
        "{stderr}"
    );
    let report: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["ok"], true, "{stderr}");
    let st = statuses(&report);
    assert!(st.len() >= 10 && st.iter().all(|(_, s)| s == "built"), "{st:?}");
    // greeter waited for a repository holding libgreet's NVR, made by a
    // repository request: its own, or an earlier one of this run (heartbeat
    // asks for one after systemd-rpm-macros; when libgreet was tagged
    // before that, the same repository serves greeter and it asks nothing).
    assert_eq!(report["koji"]["repo-requests"], true, "{}", report["koji"]);
    let builds = &report["koji"]["builds"];
    let greeter = &builds["greeter"];
    assert!(greeter["repo-id"].as_i64().is_some(), "{greeter}");
    let requested = builds
        .as_object()
        .expect("builds")
        .values()
        .any(|b| b["repo-request"].as_i64().is_some());
    assert!(requested, "{builds}");
    // Logged in as the keytab's principal; its ticket was kept in a
    // private cache under azldev's cache directory, removed after.
    let state = hub.state();
    let sessions: Vec<&str> = state
        .get("sessions")
        .and_then(Value::as_array)
        .expect("sessions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(sessions, ["builder"]);
    let builds = hub.builds();
    assert!(
        builds.len() >= 10 && builds.iter().all(|(_, s)| *s == 2),
        "{builds:?}"
    );
    let calls: Vec<&str> = state
        .get("calls")
        .and_then(Value::as_array)
        .expect("calls")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(calls.contains(&"repo.checkRequest") && !calls.contains(&"getRepo"));
    let private = d.cache.path().join("koji-krb5");
    assert!(
        std::fs::read_dir(&private)
            .expect("credentials dir")
            .next()
            .is_none(),
        "the private credential cache is removed"
    );
    assert!(
        !users_cache.exists(),
        "the user's credential cache is not touched"
    );

    // No keytab and no ticket: a clear error naming the profile file.
    profile("authtype = kerberos\nprincipal = builder");
    let out = run(&format!("FILE:{}", users_cache.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "profile `krb` ({}:5): Kerberos/GSSAPI login: no valid Kerberos ticket in FILE:{}",
            conf.display(),
            users_cache.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("run `kinit` first"), "{stderr}");
    assert_eq!(hub.builds().len(), builds.len(), "nothing submitted");
}

#[test]
fn simulate_replays_the_demo_plan() {
    let d = Demo::new();
    let (out, _) = d.expect(
        0,
        &[
            "build",
            "--plan",
            "--simulate",
            "0",
            "-a",
            "--format",
            "json",
            "--default-seconds",
            "10",
        ],
        None,
    );
    let unlimited: Json = serde_json::from_str(&out).expect("JSON");
    let (out, _) = d.expect(
        0,
        &[
            "build",
            "--plan",
            "--simulate",
            "1",
            "-a",
            "--format",
            "json",
            "--default-seconds",
            "10",
        ],
        None,
    );
    let one: Json = serde_json::from_str(&out).expect("JSON");
    let f = |v: &Json, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!((f(&unlimited, "makespan") - f(&unlimited, "critical-path-seconds")).abs() < 1e-6);
    assert!((f(&one, "makespan") - f(&one, "serial-seconds")).abs() < 1e-6);
    let path: Vec<&str> = unlimited["critical-path"]
        .as_array()
        .expect("path")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert!(path.len() >= 2, "libgreet → greeter at least: {path:?}");
    let (text, _) = d.expect(0, &["build", "--plan", "--simulate", "2", "-a"], None);
    assert!(text.contains("predicted makespan"), "{text}");
    assert!(text.contains("utilisation"), "{text}");
    assert!(text.contains("never recorded: estimated at 5m00s each"), "{text}");
}

/// Against a real hub, when one is configured (see the module's docs).
#[test]
fn real_hub_builds_the_demo() {
    let (Ok(profile), Ok(target)) = (
        std::env::var("AZLDEV_KOJI_HUB"),
        std::env::var("AZLDEV_KOJI_TARGET"),
    ) else {
        eprintln!(
            "skipped: set AZLDEV_KOJI_HUB (a koji profile) and AZLDEV_KOJI_TARGET to run against a real hub"
        );
        return;
    };
    let scratch = std::env::var("AZLDEV_KOJI_SCRATCH").map_or(true, |v| v != "0");
    let d = Demo::new();
    let mut args = vec![
        "build".to_owned(),
        "--executor".into(),
        "koji".into(),
        "--koji-profile".into(),
        profile,
        "--target".into(),
        target,
        "--format".into(),
        "json".into(),
    ];
    if scratch {
        // Scratch builds are not tagged, so a component that builds
        // against another demo component could not find it: only the
        // components without in-distro build dependencies.
        let (plan, _) = d.expect(0, &["build", "--plan", "-a", "--format", "json"], None);
        let plan: Json = serde_json::from_str(&plan).expect("plan JSON");
        let leaves: Vec<String> = plan["components"]
            .as_array()
            .expect("components")
            .iter()
            .filter(|c| c["excluded"] != true && c["depends-on"].as_array().is_none_or(Vec::is_empty))
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect();
        assert!(!leaves.is_empty(), "{plan}");
        args.push("--scratch".into());
        args.extend(leaves);
    } else {
        // Real builds of the whole demo, tagged into the target's
        // destination tag, each waiting for its dependencies' NVRs in the
        // build tag's repository. The hub cannot fetch this test's local
        // git remote: an uncommitted change makes azldev upload SRPMs.
        let spec = d.root.path().join("specs/h/hello/hello.spec");
        let mut text = std::fs::read_to_string(&spec).expect("spec");
        text.push('\n');
        std::fs::write(&spec, text).expect("write");
        args.push("-a".into());
    }
    let out = Command::new(assert_cmd::cargo::cargo_bin("azldev"))
        .current_dir(d.root.path())
        .env("AZLDEV_CACHE_DIR", d.cache.path())
        .args(&args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Json =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("azldev {args:?}: {e}\n{stderr}"));
    for (name, b) in report["koji"]["builds"].as_object().into_iter().flatten() {
        eprintln!("{name}: {} {}", b["state"], b["url"]);
    }
    assert_eq!(report["ok"], true, "{stderr}");
}

/// The capacity planner against a real local run of the demo: durations
/// recorded by `azldev build` replayed on the same number of builders
/// predict the run's wall time (the run also renders, plans and publishes,
/// which the replay does not count). Needs root, like the other build
/// tests, and shares their cache and lock.
#[test]
fn simulate_predicts_a_real_local_build_of_the_demo() {
    if rustix_uid() != 0 {
        eprintln!("skipped: local builds need root");
        return;
    }
    let cache = azldev_e2e::demo::workspace_root().join("target/azldev-test-cache");
    std::fs::create_dir_all(&cache).expect("cache");
    let lock = std::fs::File::create(cache.join("e2e-build.lock")).expect("lock file");
    lock.lock().expect("lock");
    let root = tempfile::tempdir_in(&cache).expect("tempdir");
    let src = azldev_e2e::demo::workspace_root();
    std::fs::copy(src.join("distro.toml"), root.path().join("distro.toml")).expect("distro.toml");
    for dir in ["components", "overlays", "locks", "mock"] {
        copy_tree(&src.join(dir), &root.path().join(dir));
    }
    azldev_e2e::demo::generate(
        &azldev_e2e::demo::default_fixtures(),
        &root.path().join("target/demo-upstreams"),
    )
    .expect("generate the demo upstreams");
    let run = |args: &[&str]| -> Json {
        let out = Command::new(assert_cmd::cargo::cargo_bin("azldev"))
            .current_dir(root.path())
            .env("AZLDEV_CACHE_DIR", &cache)
            .env_remove("AZLDEV_JOBS")
            .args(args)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "azldev {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Json::Null)
    };
    run(&["toolchain", "seed", "--arch", "x86_64"]);
    let mut lines = Vec::new();
    for jobs in ["1", "2"] {
        let report = run(&["build", "-a", "--rebuild", "-j", jobs, "--format", "json"]);
        let wall = report["seconds"].as_f64().expect("seconds");
        let built: f64 = report["arches"][0]["components"]
            .as_array()
            .expect("components")
            .iter()
            .filter_map(|c| c["seconds"].as_f64())
            .sum();
        let sim = run(&["build", "--plan", "--simulate", jobs, "-a", "--format", "json"]);
        let makespan = sim["makespan"].as_f64().expect("makespan");
        assert_eq!(sim["estimated"], 0, "every duration was recorded: {sim}");
        if jobs == "1" {
            assert!(
                (makespan - built).abs() < 1e-6,
                "one builder: the sum of the recorded builds"
            );
        }
        // The replay leaves out rendering, planning and publishing.
        assert!(
            makespan <= wall * 1.1,
            "-j {jobs}: predicted {makespan:.1}s, measured {wall:.1}s"
        );
        assert!(
            makespan >= wall * 0.5,
            "-j {jobs}: predicted {makespan:.1}s, measured {wall:.1}s"
        );
        lines.push(format!(
            "-j {jobs}: predicted {makespan:.1}s, measured {wall:.1}s"
        ));
    }
    eprintln!("{}", lines.join("; "));
}

fn rustix_uid() -> u32 {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(1)
}
