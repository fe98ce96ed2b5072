//! Source-file fetching against a local HTTP server started by the test on
//! 127.0.0.1: a `std` `TcpListener` in a thread that serves files, honours
//! `Range`, and can be told to corrupt bytes, ignore `Range`, or drop the
//! connection half-way.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use azldev_source::{
    FetchItem, Fetched, HashKind, HttpTransport, Limits, SourceCache, SourcesError, Transport, digest_file,
    fetch_all, fetch_one,
};

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    /// Serve every byte XOR 0xff.
    corrupt: bool,
    /// Answer `Range` requests with the whole file (200).
    ignore_range: bool,
    /// Drop this many of the next responses half-way through the body.
    drops: usize,
    /// Every request: path and the `Range` start (0 without one).
    log: Vec<(String, u64)>,
    /// Misbehaviour for the next responses (each consumes one).
    misbehave: Vec<Misbehave>,
}

/// Ways a hostile or broken server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Misbehave {
    /// Accept, read the request, never answer.
    Silent,
    /// Headers, then one byte every half second.
    Trickle,
    /// 200 without a length, then zeros for ever.
    Endless,
    /// 206 whose `Content-Range` starts at byte 1, not where asked.
    WrongRange,
}

struct Server {
    addr: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let s = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        Server { addr, state }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }

    fn put(&self, path: &str, data: &[u8]) -> String {
        self.with(|s| s.files.insert(path.to_owned(), data.to_vec()));
        format!("{}{path}", self.addr)
    }

    fn log(&self) -> Vec<(String, u64)> {
        self.with(|s| s.log.clone())
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range = 0u64;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("range")
            && let Some(n) = v.trim().strip_prefix("bytes=").and_then(|r| r.strip_suffix('-'))
        {
            range = n.parse().unwrap_or(0);
        }
    }
    let (file, corrupt, ignore_range, drop, misbehave) = {
        let mut s = state.lock().expect("state");
        s.log.push((path.clone(), range));
        let drop = s.drops > 0;
        if drop {
            s.drops -= 1;
        }
        let misbehave = (!s.misbehave.is_empty()).then(|| s.misbehave.remove(0));
        (
            s.files.get(&path).cloned(),
            s.corrupt,
            s.ignore_range,
            drop,
            misbehave,
        )
    };
    let mut out = stream;
    match misbehave {
        Some(Misbehave::Silent) => {
            std::thread::sleep(std::time::Duration::from_secs(30));
            return;
        }
        Some(Misbehave::Trickle) => {
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n");
            for _ in 0..60 {
                if out.write_all(b"x").and_then(|()| out.flush()).is_err() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            return;
        }
        Some(Misbehave::Endless) => {
            let _ = out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let zeros = vec![0u8; 64 * 1024];
            while out.write_all(&zeros).is_ok() {}
            return;
        }
        Some(Misbehave::WrongRange) if range > 0 => {
            let data = file.unwrap_or_default();
            let body = &data[1..];
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 1-{}/{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                data.len() - 1,
                data.len(),
                body.len()
            );
            let _ = out.write_all(head.as_bytes());
            let _ = out.write_all(body);
            return;
        }
        _ => {}
    }
    let Some(mut data) = file else {
        let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    if corrupt {
        data.iter_mut().for_each(|b| *b ^= 0xff);
    }
    let total = data.len();
    let (status, body, content_range) = if range > 0 && !ignore_range {
        let start = usize::try_from(range).unwrap_or(total).min(total);
        (
            "206 Partial Content",
            data[start..].to_vec(),
            format!(
                "Content-Range: bytes {start}-{}/{total}\r\n",
                total.saturating_sub(1)
            ),
        )
    } else {
        ("200 OK", data, String::new())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\n{content_range}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(head.as_bytes());
    if drop {
        let _ = out.write_all(&body[..body.len() / 2]);
        let _ = out.flush();
        let _ = out.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = out.write_all(&body);
}

/// Deterministic test data, big enough to arrive in several reads.
fn data(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn digest(kind: HashKind, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("x");
    std::fs::write(&p, bytes).expect("write");
    digest_file(&p, kind).expect("digest")
}

fn item(url: &str, kind: HashKind, bytes: &[u8]) -> FetchItem {
    FetchItem {
        filename: url.rsplit('/').next().unwrap_or(url).to_owned(),
        hash_kind: kind,
        hash: digest(kind, bytes),
        url: url.to_owned(),
        base_dir: PathBuf::from("/"),
        fallbacks: Vec::new(),
    }
}

fn part(cache: &SourceCache, it: &FetchItem) -> PathBuf {
    cache
        .root()
        .join(it.hash_kind.as_str())
        .join(format!("{}.part", it.hash))
}

fn cached(cache: &SourceCache, it: &FetchItem) -> Vec<u8> {
    std::fs::read(cache.path(it.hash_kind, &it.hash)).expect("cached file")
}

fn setup() -> (Server, tempfile::TempDir, SourceCache, HttpTransport) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = SourceCache::new(dir.path().join("sources"));
    (Server::start(), dir, cache, HttpTransport::default())
}

#[test]
fn downloads_verifies_and_then_uses_the_cache() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(1, 200_000);
    let it = item(&srv.put("/pkg/a.tar.gz", &bytes), HashKind::Sha512, &bytes);
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(cached(&cache, &it), bytes);
    assert!(
        cache
            .path(it.hash_kind, &it.hash)
            .ends_with(Path::new("sha512").join(&it.hash))
    );
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Cached));
    assert_eq!(srv.log().len(), 1, "a cached file is not downloaded again");
}

#[test]
fn wrong_bytes_fail_and_leave_nothing_behind() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(2, 50_000);
    let it = item(&srv.put("/b.tar.xz", &bytes), HashKind::Sha256, &bytes);
    srv.with(|s| s.corrupt = true);
    let r = fetch_one(&cache, Some(&http), &it);
    assert!(matches!(r, Err(SourcesError::HashMismatch { .. })), "{r:?}");
    assert!(!cache.path(it.hash_kind, &it.hash).exists());
    assert!(!part(&cache, &it).exists());
    // Fixed on the server: the next run succeeds.
    srv.with(|s| s.corrupt = false);
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
}

#[test]
fn a_corrupted_cache_entry_is_replaced() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(3, 10_000);
    let it = item(&srv.put("/c.tgz", &bytes), HashKind::Md5, &bytes);
    let dest = cache.path(it.hash_kind, &it.hash);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::write(&dest, b"bit rot").expect("write");
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(cached(&cache, &it), bytes);
}

#[test]
fn a_dropped_connection_resumes_with_range() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(4, 300_000);
    let it = item(&srv.put("/d.tar.gz", &bytes), HashKind::Sha512, &bytes);
    srv.with(|s| s.drops = 1);
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(cached(&cache, &it), bytes);
    let log = srv.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].1, 0);
    assert!(
        log[1].1 > 0,
        "second request continues from the part file: {log:?}"
    );
    assert!(!part(&cache, &it).exists());
}

#[test]
fn repeated_drops_keep_the_part_file_for_the_next_run() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(5, 400_000);
    let it = item(&srv.put("/e.tar.gz", &bytes), HashKind::Sha256, &bytes);
    srv.with(|s| s.drops = 10);
    let r = fetch_one(&cache, Some(&http), &it);
    assert!(matches!(r, Err(SourcesError::Transfer { .. })), "{r:?}");
    let kept = std::fs::metadata(part(&cache, &it))
        .expect("part file kept")
        .len();
    assert!(kept > 0 && kept < bytes.len() as u64);
    srv.with(|s| s.drops = 0);
    let before = srv.log().len();
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(srv.log()[before].1, kept, "the next run asks for the rest only");
    assert_eq!(cached(&cache, &it), bytes);
}

#[test]
fn a_server_ignoring_range_restarts_from_zero() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(6, 100_000);
    let it = item(&srv.put("/f.tar.gz", &bytes), HashKind::Sha512, &bytes);
    let p = part(&cache, &it);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, b"stale partial bytes").expect("write");
    srv.with(|s| s.ignore_range = true);
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(srv.log()[0].1, 19);
    assert_eq!(cached(&cache, &it), bytes);
}

#[test]
fn missing_files_and_missing_transport_are_errors() {
    let (srv, _d, cache, http) = setup();
    let it = item(&format!("{}/nope", srv.addr), HashKind::Md5, b"x");
    let r = fetch_one(&cache, Some(&http), &it);
    match r {
        Err(SourcesError::Transfer { message, .. }) => assert!(message.contains("404"), "{message}"),
        other => panic!("{other:?}"),
    }
    let r = fetch_one(&cache, None, &it);
    assert!(matches!(r, Err(SourcesError::NoTransport { .. })), "{r:?}");
}

#[test]
fn fetch_all_runs_in_parallel_and_reports_each_file() {
    let (srv, _d, cache, http) = setup();
    let mut items = Vec::new();
    for (i, kind) in [HashKind::Md5, HashKind::Sha256, HashKind::Sha512]
        .into_iter()
        .enumerate()
    {
        for j in 0..4u8 {
            let seed = u8::try_from(i).expect("small") * 10 + j;
            let bytes = data(seed, 20_000 + usize::from(j));
            items.push(item(&srv.put(&format!("/g{i}-{j}"), &bytes), kind, &bytes));
        }
    }
    let bad = data(99, 1000);
    let mut broken = item(&srv.put("/bad", &bad), HashKind::Sha256, &bad);
    broken.hash = "0".repeat(64);
    items.push(broken);
    let seen = Mutex::new(0usize);
    let on_done = |_: &azldev_source::FetchReport| *seen.lock().expect("count") += 1;
    let transport: &dyn Transport = &http;
    let reports = fetch_all(&cache, Some(transport), &items, &on_done);
    assert_eq!(*seen.lock().expect("count"), items.len());
    let fetched = reports
        .iter()
        .filter(|r| r.result == Ok(Fetched::Fetched))
        .count();
    assert_eq!(fetched, 12);
    assert!(matches!(
        reports[12].result,
        Err(SourcesError::HashMismatch { .. })
    ));
    let again = fetch_all(&cache, Some(transport), &items[..12], &|_| {});
    assert!(again.iter().all(|r| r.result == Ok(Fetched::Cached)));
}

#[test]
fn file_urls_and_relative_paths_are_copied() {
    let (_srv, d, cache, _http) = setup();
    let bytes = data(7, 5000);
    std::fs::write(d.path().join("local.tar"), &bytes).expect("write");
    let mut it = item("local.tar", HashKind::Sha256, &bytes);
    it.base_dir = d.path().to_path_buf();
    assert_eq!(fetch_one(&cache, None, &it), Ok(Fetched::Fetched));
    let mut by_url = item("x", HashKind::Sha512, &bytes);
    by_url.url = format!("file://{}", d.path().join("local.tar").display());
    assert_eq!(fetch_one(&cache, None, &by_url), Ok(Fetched::Fetched));
    assert_eq!(cached(&cache, &by_url), bytes);
}

#[test]
fn the_same_file_twice_is_downloaded_once() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(8, 500_000);
    let it = item(&srv.put("/shared.tar.gz", &bytes), HashKind::Sha512, &bytes);
    let items = vec![it.clone(), it.clone(), it];
    let reports = fetch_all(&cache, Some(&http), &items, &|_| {});
    let fetched = reports
        .iter()
        .filter(|r| r.result == Ok(Fetched::Fetched))
        .count();
    let cached_n = reports.iter().filter(|r| r.result == Ok(Fetched::Cached)).count();
    assert_eq!((fetched, cached_n), (1, 2), "{reports:?}");
    assert_eq!(srv.log().len(), 1);
}

#[test]
fn a_complete_part_file_is_used_without_a_request() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(9, 30_000);
    let it = item(&srv.put("/h.tar.gz", &bytes), HashKind::Sha256, &bytes);
    let p = part(&cache, &it);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, &bytes).expect("write");
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert!(srv.log().is_empty());
    assert_eq!(cached(&cache, &it), bytes);
}

#[test]
fn a_failing_origin_falls_back_to_the_lookaside() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(9, 30_000);
    let mirror = srv.put("/lookaside/f.tar.gz", &bytes);
    // The origin is gone (404): the lookaside copy is fetched.
    let mut it = item(&format!("{}/origin/f.tar.gz", srv.addr), HashKind::Sha512, &bytes);
    it.fallbacks = vec![(mirror.clone(), PathBuf::from("/"))];
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(cached(&cache, &it), bytes);
    let paths: Vec<String> = srv.log().into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["/origin/f.tar.gz", "/lookaside/f.tar.gz"]);

    // The origin serves other bytes (rewritten upstream): the lookaside's
    // are the ones the digest names.
    let (srv, _d, cache, http) = setup();
    let origin = srv.put("/origin/g.tar.gz", &data(10, 1_000));
    let mirror = srv.put("/lookaside/g.tar.gz", &bytes);
    let mut it = item(&origin, HashKind::Sha256, &bytes);
    it.fallbacks = vec![(mirror, PathBuf::from("/"))];
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    assert_eq!(cached(&cache, &it), bytes);

    // Both fail: one error naming every attempt, nothing left behind.
    let (srv, _d, cache, http) = setup();
    let mut it = item(&format!("{}/origin/h", srv.addr), HashKind::Sha256, b"h");
    it.fallbacks = vec![(format!("{}/lookaside/h", srv.addr), PathBuf::from("/"))];
    match fetch_one(&cache, Some(&http), &it) {
        Err(e @ SourcesError::AllFailed { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("/origin/h") && msg.contains("/lookaside/h"), "{msg}");
            assert_eq!(msg.matches("404").count(), 2, "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!cache.path(it.hash_kind, &it.hash).exists());
    assert!(!part(&cache, &it).exists());
}

/// Limits small enough for a test: 1 s to answer or send, at least 1000
/// bytes/s over 2 s, at most 1 MB.
fn strict() -> HttpTransport {
    HttpTransport::new(&Limits {
        read_timeout: std::time::Duration::from_secs(1),
        low_speed_limit: 1000,
        low_speed_time: std::time::Duration::from_secs(2),
        max_size: 1_000_000,
    })
}

fn assert_clean(cache: &SourceCache, it: &FetchItem) {
    assert!(!cache.path(it.hash_kind, &it.hash).exists());
    assert!(!part(cache, it).exists(), "no partial file left");
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (srv, _d, cache, _) = setup();
    let bytes = data(7, 1000);
    let it = item(&srv.put("/silent", &bytes), HashKind::Sha256, &bytes);
    srv.with(|s| s.misbehave = vec![Misbehave::Silent]);
    let start = std::time::Instant::now();
    let r = fetch_one(&cache, Some(&strict()), &it);
    assert!(matches!(r, Err(SourcesError::Transfer { .. })), "{r:?}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_clean(&cache, &it);
}

#[test]
fn a_trickling_server_is_abandoned() {
    let (srv, _d, cache, _) = setup();
    let bytes = data(8, 1000);
    let it = item(&srv.put("/trickle", &bytes), HashKind::Sha256, &bytes);
    srv.with(|s| s.misbehave = vec![Misbehave::Trickle]);
    let start = std::time::Instant::now();
    let r = fetch_one(&cache, Some(&strict()), &it);
    match &r {
        Err(SourcesError::Transfer { message, .. }) => assert!(message.contains("slower than"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert_clean(&cache, &it);
}

#[test]
fn a_response_without_a_length_is_capped() {
    let (srv, _d, cache, _) = setup();
    let bytes = data(9, 1000);
    let it = item(&srv.put("/endless", &bytes), HashKind::Sha256, &bytes);
    srv.with(|s| s.misbehave = vec![Misbehave::Endless]);
    let r = fetch_one(&cache, Some(&strict()), &it);
    match &r {
        Err(SourcesError::Transfer { message, .. }) => {
            assert!(message.contains("fetch-max-size"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_clean(&cache, &it);
}

#[test]
fn a_mismatching_content_range_restarts_from_zero() {
    let (srv, _d, cache, http) = setup();
    let bytes = data(10, 100_000);
    let it = item(&srv.put("/range", &bytes), HashKind::Sha512, &bytes);
    let p = part(&cache, &it);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, &bytes[..5000]).expect("write");
    srv.with(|s| s.misbehave = vec![Misbehave::WrongRange]);
    assert_eq!(fetch_one(&cache, Some(&http), &it), Ok(Fetched::Fetched));
    let log = srv.log();
    assert_eq!(log.iter().map(|l| l.1).collect::<Vec<_>>(), [5000, 0], "{log:?}");
    assert_eq!(cached(&cache, &it), bytes);
    assert!(!p.exists());
}
