//! Source files: merging upstream's `sources` with a component's
//! `source-files`, a content-addressed cache, and a parallel, resumable,
//! hash-verifying fetcher.
//!
//! Files are stored as `<root>/<hashtype>/<hash>` (hash type lower-case).
//! Local (`file://` and path) URLs are copied; `http(s)` URLs go through a
//! [`Transport`] (the `http` feature provides [`HttpTransport`]). A download
//! is written to `<hash>.part` first, continued with an HTTP `Range` request
//! when interrupted, verified, then renamed into place. Fetchers of the same
//! file serialise on `<hash>.lock`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::sources::SourceLine;

/// Hash algorithms of source files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashKind {
    Md5,
    Sha256,
    Sha512,
}

impl HashKind {
    /// Parse `SHA512`, `sha256`, `MD5`, … (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "md5" => Some(Self::Md5),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Lower-case name, as Fedora's lookaside URLs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Self::Md5 => 32,
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// Where a `source-files` entry comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraOrigin {
    /// The lookaside cache (no `origin`).
    Lookaside,
    /// `origin = { type = "download", uri }`; a relative path is resolved
    /// against `base_dir` (the defining file's directory).
    Uri { uri: String, base_dir: PathBuf },
    /// Produced by the build (`custom`, `overlay`): nothing to fetch.
    Generated,
}

/// A component's `source-files` entry, independent of the configuration types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraSource {
    pub filename: String,
    pub hash_kind: Option<HashKind>,
    pub hash: Option<String>,
    pub origin: ExtraOrigin,
    pub replace_upstream: bool,
}

/// The lookaside cache of a distro: a URL template with `$pkg`, `$filename`,
/// `$hashtype`, `$hash`, and the directory relative paths are resolved against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookaside {
    pub template: String,
    pub base_dir: PathBuf,
    /// The package name in the lookaside (`$pkg`).
    pub pkg: String,
    /// The distro's `disable-origins`: files with an `origin.uri` come from
    /// the lookaside too, never from their origin.
    pub origins_disabled: bool,
}

impl Lookaside {
    /// The template expanded for one file.
    pub fn url(&self, filename: &str, kind: HashKind, hash: &str) -> String {
        self.template
            .replace("$pkg", &self.pkg)
            .replace("$filename", filename)
            .replace("$hashtype", kind.as_str())
            .replace("$hash", hash)
    }
}

/// One file to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchItem {
    pub filename: String,
    pub hash_kind: HashKind,
    /// Lower-case hex.
    pub hash: String,
    /// `http(s)://…`, `file://…` or a path.
    pub url: String,
    /// Relative paths in `url` are resolved against it.
    pub base_dir: PathBuf,
    /// Where else to get the file when `url` fails (tried in order, each
    /// `(url, base_dir)`): the lookaside, for a file with an origin.
    pub fallbacks: Vec<(String, PathBuf)>,
}

/// Errors of merging, caching and fetching source files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourcesError {
    #[error("`{0}` is both in upstream's `sources` and in `source-files`; set `replace-upstream = true`")]
    Duplicate(String),
    #[error("`{0}` is listed twice in `source-files`")]
    DuplicateEntry(String),
    #[error("`{0}` has `replace-upstream = true` but upstream's `sources` has no such file")]
    NothingToReplace(String),
    #[error("`{filename}`: unsupported hash type `{hash_type}` (expected SHA512, SHA256 or MD5)")]
    UnknownHashType { filename: String, hash_type: String },
    #[error("`{0}`: no hash (every fetched file is verified)")]
    MissingHash(String),
    #[error("`{filename}`: `{hash}` is not a {kind} digest")]
    BadHash {
        filename: String,
        kind: &'static str,
        hash: String,
    },
    #[error("`{0}` comes from the lookaside cache, but the distro has no `lookaside-base-uri`")]
    NoLookaside(String),
    #[error("`{filename}`: {url}: no HTTP transport available")]
    NoTransport { filename: String, url: String },
    #[error("`{filename}`: {url}: {message}")]
    Transfer {
        filename: String,
        url: String,
        message: String,
    },
    #[error("`{filename}`: {kind} mismatch: expected {expected}, got {actual} (file deleted)")]
    HashMismatch {
        filename: String,
        kind: &'static str,
        expected: String,
        actual: String,
    },
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("`{filename}`: every source failed: {}", attempts.join("; "))]
    AllFailed { filename: String, attempts: Vec<String> },
}

/// Merge upstream's `sources` lines with `source-files` entries into the list
/// of files to fetch (upstream order first, then new entries). An entry
/// replaces a same-named upstream line only with `replace_upstream`; entries
/// with a generated origin are not fetched.
pub fn merge(
    upstream: &[SourceLine],
    extra: &[ExtraSource],
    lookaside: Option<&Lookaside>,
) -> Result<Vec<FetchItem>, SourcesError> {
    let mut seen = std::collections::BTreeSet::new();
    for e in extra {
        if !seen.insert(e.filename.as_str()) {
            return Err(SourcesError::DuplicateEntry(e.filename.clone()));
        }
        let upstream_has = upstream.iter().any(|u| u.filename == e.filename);
        match (upstream_has, e.replace_upstream) {
            (true, false) => return Err(SourcesError::Duplicate(e.filename.clone())),
            (false, true) => return Err(SourcesError::NothingToReplace(e.filename.clone())),
            _ => {}
        }
    }
    let from_lookaside = |filename: &str, kind: HashKind, hash: &str| -> Result<FetchItem, SourcesError> {
        let l = lookaside.ok_or_else(|| SourcesError::NoLookaside(filename.to_owned()))?;
        Ok(FetchItem {
            filename: filename.to_owned(),
            hash_kind: kind,
            hash: hash.to_owned(),
            url: l.url(filename, kind, hash),
            base_dir: l.base_dir.clone(),
            fallbacks: Vec::new(),
        })
    };
    let mut out = Vec::new();
    let extra_item = |e: &ExtraSource| -> Result<Option<FetchItem>, SourcesError> {
        if e.origin == ExtraOrigin::Generated {
            return Ok(None);
        }
        let (Some(kind), Some(hash)) = (e.hash_kind, e.hash.as_deref()) else {
            return Err(SourcesError::MissingHash(e.filename.clone()));
        };
        let hash = checked_hash(&e.filename, kind, hash)?;
        match &e.origin {
            ExtraOrigin::Uri { .. } if lookaside.is_some_and(|l| l.origins_disabled) => {
                from_lookaside(&e.filename, kind, &hash).map(Some)
            }
            // The origin first (a new file is only there); the lookaside
            // when the origin fails (moved, gone, or rewritten upstream).
            ExtraOrigin::Uri { uri, base_dir } => Ok(Some(FetchItem {
                filename: e.filename.clone(),
                hash_kind: kind,
                hash: hash.clone(),
                url: uri.clone(),
                base_dir: base_dir.clone(),
                fallbacks: lookaside
                    .map(|l| (l.url(&e.filename, kind, &hash), l.base_dir.clone()))
                    .into_iter()
                    .collect(),
            })),
            _ => from_lookaside(&e.filename, kind, &hash).map(Some),
        }
    };
    for u in upstream {
        if let Some(e) = extra.iter().find(|e| e.filename == u.filename) {
            out.extend(extra_item(e)?);
            continue;
        }
        let kind = HashKind::parse(&u.hash_type).ok_or_else(|| SourcesError::UnknownHashType {
            filename: u.filename.clone(),
            hash_type: u.hash_type.clone(),
        })?;
        let hash = checked_hash(&u.filename, kind, &u.hash)?;
        out.push(from_lookaside(&u.filename, kind, &hash)?);
    }
    for e in extra.iter().filter(|e| !e.replace_upstream) {
        out.extend(extra_item(e)?);
    }
    Ok(out)
}

/// `hash` trimmed and lower-cased, when it is a `kind` digest in hex (so
/// that [`SourceCache::path`] stays inside the cache).
pub fn checked_hash(filename: &str, kind: HashKind, hash: &str) -> Result<String, SourcesError> {
    let h = hash.trim().to_ascii_lowercase();
    if h.len() != kind.hex_len() || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SourcesError::BadHash {
            filename: filename.to_owned(),
            kind: kind.as_str(),
            hash: hash.to_owned(),
        });
    }
    Ok(h)
}

/// The content-addressed cache of source files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCache {
    root: PathBuf,
}

impl SourceCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `sources/` next to [`crate::GitCache::default_root`] (so under
    /// `$AZLDEV_CACHE_DIR` when it is set).
    pub fn default_root() -> PathBuf {
        let git = crate::GitCache::default_root();
        git.parent()
            .map_or_else(|| PathBuf::from("sources"), |p| p.join("sources"))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a file with this digest is stored. `hash` must be hex (as
    /// [`merge`] guarantees), so it cannot escape the cache.
    pub fn path(&self, kind: HashKind, hash: &str) -> PathBuf {
        self.root.join(kind.as_str()).join(hash)
    }

    fn part_path(&self, kind: HashKind, hash: &str) -> PathBuf {
        self.root.join(kind.as_str()).join(format!("{hash}.part"))
    }
}

/// A response body from a [`Transport`].
pub struct Body {
    /// Whether the server honoured the requested offset (HTTP 206 whose
    /// `Content-Range` starts there); when false the body starts at byte 0.
    pub resumed: bool,
    pub reader: Box<dyn Read + Send>,
}

/// Limits on a download; see [`HttpTransport::new`] and [`fetch_one_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest wait for a response, and for each read of its body (a
    /// server that accepts and never answers, or stops sending).
    pub read_timeout: std::time::Duration,
    /// A transfer slower than this many bytes per second …
    pub low_speed_limit: u64,
    /// … for this long is abandoned (a server trickling bytes).
    pub low_speed_time: std::time::Duration,
    /// Largest file accepted, in bytes (a response without a length, or a
    /// lying one, cannot fill the disk).
    pub max_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            read_timeout: std::time::Duration::from_secs(60),
            low_speed_limit: 1024,
            low_speed_time: std::time::Duration::from_secs(60),
            max_size: 8 << 30,
        }
    }
}

/// Why a download was abandoned by [`Limits`] (the partial file is removed).
#[derive(Debug)]
struct LimitExceeded(String);

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitExceeded {}

/// A body reader enforcing the size cap and the low-speed limit.
struct Limited<R> {
    inner: R,
    limits: Limits,
    /// Bytes already in the file before this body (a resumed download).
    offset: u64,
    read: u64,
    window_start: std::time::Instant,
    window_bytes: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.offset + self.read > self.limits.max_size {
            return Err(std::io::Error::other(LimitExceeded(format!(
                "larger than the {} bytes `fetch-max-size` allows",
                self.limits.max_size
            ))));
        }
        self.window_bytes += n as u64;
        let elapsed = self.window_start.elapsed();
        if elapsed >= self.limits.low_speed_time {
            let need = self
                .limits
                .low_speed_limit
                .saturating_mul(elapsed.as_secs().max(1));
            if self.window_bytes < need {
                return Err(std::io::Error::other(LimitExceeded(format!(
                    "slower than {} bytes/s for {}s (`fetch-low-speed-limit`, `fetch-low-speed-time`)",
                    self.limits.low_speed_limit,
                    elapsed.as_secs()
                ))));
            }
            self.window_start = std::time::Instant::now();
            self.window_bytes = 0;
        }
        Ok(n)
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// Downloads `http(s)` URLs.
pub trait Transport: Sync {
    /// GET `url`, asking for the bytes from `offset` on when it is non-zero.
    /// Errors are messages (status line, connection error).
    fn get(&self, url: &str, offset: u64) -> Result<Body, String>;

    /// The limits downloads through this transport observe.
    fn limits(&self) -> Limits {
        Limits::default()
    }
}

/// [`Transport`] over `ureq` with rustls.
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct HttpTransport {
    agent: ureq::Agent,
    limits: Limits,
}

#[cfg(feature = "http")]
impl Default for HttpTransport {
    fn default() -> Self {
        Self::new(&Limits::default())
    }
}

#[cfg(feature = "http")]
impl HttpTransport {
    /// A transport whose waits for a response and for each read of a body
    /// end after `limits.read_timeout`.
    #[must_use]
    pub fn new(limits: &Limits) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(std::time::Duration::from_secs(30)))
            .timeout_recv_response(Some(limits.read_timeout))
            .timeout_per_read(Some(limits.read_timeout))
            .user_agent(concat!("azldev/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            limits: *limits,
        }
    }
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/TOTAL` value.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn content_range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

#[cfg(feature = "http")]
impl Transport for HttpTransport {
    fn limits(&self) -> Limits {
        self.limits
    }

    fn get(&self, url: &str, offset: u64) -> Result<Body, String> {
        let mut req = self.agent.get(url);
        if offset > 0 {
            req = req.header("Range", format!("bytes={offset}-"));
        }
        let resp = req.call().map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        // A 206 whose range does not start where asked is not appended:
        // the download restarts from zero.
        let range_ok = resp
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .and_then(content_range_start)
            == Some(offset);
        match status {
            200 => Ok(Body {
                resumed: false,
                reader: Box::new(resp.into_body().into_reader()),
            }),
            206 if offset > 0 && range_ok => Ok(Body {
                resumed: true,
                reader: Box::new(resp.into_body().into_reader()),
            }),
            206 if offset > 0 => self.get(url, 0),
            206 => Err("HTTP 206 to a request for the whole file".to_owned()),
            s => Err(format!("HTTP {s}")),
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// Downloaded or copied, and verified.
    Fetched,
    /// Already in the cache with the right digest.
    Cached,
}

/// The result of one [`FetchItem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    pub item: FetchItem,
    pub result: Result<Fetched, SourcesError>,
}

/// How many times an interrupted download is resumed within one fetch.
const ATTEMPTS: usize = 3;

/// Fetch every item into the cache, in parallel, calling `on_done` as each
/// finishes. Results are in the order of `items`.
pub fn fetch_all(
    cache: &SourceCache,
    transport: Option<&dyn Transport>,
    items: &[FetchItem],
    on_done: &(dyn Fn(&FetchReport) + Sync),
) -> Vec<FetchReport> {
    items
        .par_iter()
        .map(|item| {
            let r = FetchReport {
                item: item.clone(),
                result: fetch_one(cache, transport, item),
            };
            on_done(&r);
            r
        })
        .collect()
}

/// Fetch one item into the cache (see the module documentation).
pub fn fetch_one(
    cache: &SourceCache,
    transport: Option<&dyn Transport>,
    item: &FetchItem,
) -> Result<Fetched, SourcesError> {
    let dest = cache.path(item.hash_kind, &item.hash);
    if dest.is_file() {
        if digest_file(&dest, item.hash_kind)? == item.hash {
            return Ok(Fetched::Cached);
        }
        remove(&dest)?;
    }
    let dir = dest.parent().unwrap_or(cache.root());
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, &e))?;
    // Fetchers of the same file (other threads, other processes) take turns;
    // whoever waited finds it cached.
    let _lock = lock(&dir.join(format!("{}.lock", item.hash)))?;
    if dest.is_file() {
        if digest_file(&dest, item.hash_kind)? == item.hash {
            return Ok(Fetched::Cached);
        }
        remove(&dest)?;
    }
    let mut attempts = Vec::new();
    let sources =
        std::iter::once((&item.url, &item.base_dir)).chain(item.fallbacks.iter().map(|(u, b)| (u, b)));
    for (i, (url, base_dir)) in sources.enumerate() {
        if i > 0 {
            // What an earlier source left half-done is not resumed from
            // another one.
            let _ = std::fs::remove_file(cache.part_path(item.hash_kind, &item.hash));
        }
        match fetch_from(cache, transport, item, url, base_dir, &dest) {
            Ok(()) => return Ok(Fetched::Fetched),
            // Only the first failure when there is nothing else to try.
            Err(e) if item.fallbacks.is_empty() => return Err(e),
            Err(e) => attempts.push(e.to_string()),
        }
    }
    Err(SourcesError::AllFailed {
        filename: item.filename.clone(),
        attempts,
    })
}

/// Fetch `item` from `url` into `dest` (the cache entry; its lock held).
fn fetch_from(
    cache: &SourceCache,
    transport: Option<&dyn Transport>,
    item: &FetchItem,
    url: &str,
    base_dir: &Path,
    dest: &Path,
) -> Result<(), SourcesError> {
    let dir = dest.parent().unwrap_or(cache.root());
    let lower = url.to_ascii_lowercase();
    let part = if lower.starts_with("http://") || lower.starts_with("https://") {
        let transport = transport.ok_or_else(|| SourcesError::NoTransport {
            filename: item.filename.clone(),
            url: url.to_owned(),
        })?;
        let part = cache.part_path(item.hash_kind, &item.hash);
        // A complete `.part` (interrupted before the rename) needs no request:
        // asking for the bytes after its end would be refused (416).
        let complete = part.is_file() && digest_file(&part, item.hash_kind)? == item.hash;
        if !complete {
            download(transport, item, url, &part)?;
        }
        part
    } else {
        let src = match url.strip_prefix("file://") {
            Some(p) => PathBuf::from(p),
            None => base_dir.join(url),
        };
        let tmp = dir.join(format!(".{}.tmp-{}", item.hash, std::process::id()));
        std::fs::copy(&src, &tmp).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            SourcesError::Transfer {
                filename: item.filename.clone(),
                url: src.display().to_string(),
                message: e.to_string(),
            }
        })?;
        tmp
    };
    let actual = digest_file(&part, item.hash_kind)?;
    if actual != item.hash {
        remove(&part)?;
        return Err(SourcesError::HashMismatch {
            filename: item.filename.clone(),
            kind: item.hash_kind.as_str(),
            expected: item.hash.clone(),
            actual,
        });
    }
    std::fs::rename(&part, dest).map_err(|e| io_err(dest, &e))
}

/// Download into `part`, continuing what is there; retried a few times when
/// the transfer breaks off.
fn download(transport: &dyn Transport, item: &FetchItem, url: &str, part: &Path) -> Result<(), SourcesError> {
    let fail = |message: String| SourcesError::Transfer {
        filename: item.filename.clone(),
        url: url.to_owned(),
        message,
    };
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let body = transport.get(url, offset).map_err(fail)?;
        let mut file = if body.resumed {
            OpenOptions::new().append(true).create(true).open(part)
        } else {
            File::create(part)
        }
        .map_err(|e| io_err(part, &e))?;
        let mut reader = Limited {
            inner: body.reader,
            limits: transport.limits(),
            offset: if body.resumed { offset } else { 0 },
            read: 0,
            window_start: std::time::Instant::now(),
            window_bytes: 0,
        };
        match std::io::copy(&mut reader, &mut file) {
            Ok(_) => return file.flush().map_err(|e| io_err(part, &e)),
            Err(e) if e.get_ref().is_some_and(|i| i.is::<LimitExceeded>()) => {
                // Over a limit: nothing of it stays in the cache.
                drop(file);
                let _ = std::fs::remove_file(part);
                return Err(fail(e.to_string()));
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(fail(format!(
        "transfer interrupted ({last}); run again to resume"
    )))
}

/// Lower-case hex digest of a file.
pub fn digest_file(path: &Path, kind: HashKind) -> Result<String, SourcesError> {
    fn run<D: md5::Digest>(mut r: impl Read) -> std::io::Result<String> {
        let mut d = D::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            d.update(&buf[..n]);
        }
        Ok(d.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
    let f = File::open(path).map_err(|e| io_err(path, &e))?;
    match kind {
        HashKind::Md5 => run::<md5::Md5>(f),
        HashKind::Sha256 => run::<sha2::Sha256>(f),
        HashKind::Sha512 => run::<sha2::Sha512>(f),
    }
    .map_err(|e| io_err(path, &e))
}

/// The digest of `data` as lower-case hex.
pub fn digest_bytes(data: &[u8], kind: HashKind) -> String {
    fn run<D: md5::Digest>(data: &[u8]) -> String {
        D::digest(data).iter().map(|b| format!("{b:02x}")).collect()
    }
    match kind {
        HashKind::Md5 => run::<md5::Md5>(data),
        HashKind::Sha256 => run::<sha2::Sha256>(data),
        HashKind::Sha512 => run::<sha2::Sha512>(data),
    }
}

/// An exclusive lock held until the returned file is dropped.
fn lock(path: &Path) -> Result<File, SourcesError> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, &e))?;
    f.lock().map_err(|e| io_err(path, &e))?;
    Ok(f)
}

fn remove(path: &Path) -> Result<(), SourcesError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(path, &e)),
        _ => Ok(()),
    }
}

fn io_err(path: &Path, e: &std::io::Error) -> SourcesError {
    SourcesError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H512: &str = "63f98622e13b0f177e7300c0c302067ac6fcbc9fca2b886c571e863123065fce023c9e02e5033df3faa5b026a14340c88009e74737f02ef7cf8cf97a3080d4e2";

    fn up(name: &str) -> SourceLine {
        SourceLine {
            filename: name.into(),
            hash_type: "SHA512".into(),
            hash: H512.into(),
        }
    }

    fn extra(name: &str, replace: bool, origin: ExtraOrigin) -> ExtraSource {
        ExtraSource {
            filename: name.into(),
            hash_kind: Some(HashKind::Sha256),
            hash: Some("ab".repeat(32)),
            origin,
            replace_upstream: replace,
        }
    }

    fn lookaside() -> Lookaside {
        Lookaside {
            template: "https://la.example/$pkg/$filename/$hashtype/$hash/$filename".into(),
            base_dir: PathBuf::from("/d"),
            pkg: "curl".into(),
            origins_disabled: false,
        }
    }

    #[test]
    fn origins_first_then_the_lookaside_unless_origins_are_disabled() {
        let extra = ExtraSource {
            filename: "x.tar.gz".into(),
            hash_kind: Some(HashKind::Sha256),
            hash: Some("ab".repeat(32)),
            origin: ExtraOrigin::Uri {
                uri: "https://origin.example/x.tar.gz".into(),
                base_dir: PathBuf::from("/c"),
            },
            replace_upstream: false,
        };
        let v = merge(&[], std::slice::from_ref(&extra), Some(&lookaside())).expect("merges");
        assert_eq!(v[0].url, "https://origin.example/x.tar.gz");
        let hash = "ab".repeat(32);
        assert_eq!(
            v[0].fallbacks,
            [(
                format!("https://la.example/curl/x.tar.gz/sha256/{hash}/x.tar.gz"),
                PathBuf::from("/d")
            )]
        );
        // Without a lookaside there is nothing to fall back on.
        let v = merge(&[], std::slice::from_ref(&extra), None).expect("merges");
        assert!(v[0].fallbacks.is_empty());
        // `disable-origins`: the lookaside only.
        let disabled = Lookaside {
            origins_disabled: true,
            ..lookaside()
        };
        let v = merge(&[], std::slice::from_ref(&extra), Some(&disabled)).expect("merges");
        assert_eq!(
            v[0].url,
            format!("https://la.example/curl/x.tar.gz/sha256/{hash}/x.tar.gz")
        );
        assert!(v[0].fallbacks.is_empty());
    }

    #[test]
    fn upstream_lines_use_the_lookaside_template() {
        let v = merge(&[up("a.tar.gz")], &[], Some(&lookaside())).expect("merges");
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].url,
            format!("https://la.example/curl/a.tar.gz/sha512/{H512}/a.tar.gz")
        );
        assert_eq!(v[0].hash_kind, HashKind::Sha512);
    }

    #[test]
    fn same_name_without_replace_is_an_error() {
        let e = merge(
            &[up("a.tar.gz")],
            &[extra("a.tar.gz", false, ExtraOrigin::Lookaside)],
            Some(&lookaside()),
        );
        assert_eq!(e, Err(SourcesError::Duplicate("a.tar.gz".into())));
    }

    #[test]
    fn replace_upstream_takes_the_entry_in_place() {
        let uri = ExtraOrigin::Uri {
            uri: "https://x.example/a.tar.gz".into(),
            base_dir: PathBuf::from("/c"),
        };
        let v = merge(
            &[up("a.tar.gz"), up("b.tar.gz")],
            &[
                extra("a.tar.gz", true, uri),
                extra("new.txt", false, ExtraOrigin::Lookaside),
            ],
            Some(&lookaside()),
        )
        .expect("merges");
        let names: Vec<_> = v.iter().map(|i| i.filename.as_str()).collect();
        assert_eq!(names, ["a.tar.gz", "b.tar.gz", "new.txt"]);
        assert_eq!(v[0].url, "https://x.example/a.tar.gz");
        assert_eq!(v[0].hash_kind, HashKind::Sha256);
        assert_eq!(v[0].base_dir, PathBuf::from("/c"));
        assert!(v[2].url.contains("/new.txt/sha256/"));
    }

    #[test]
    fn replace_without_upstream_line_is_an_error() {
        let e = merge(
            &[],
            &[extra("a", true, ExtraOrigin::Lookaside)],
            Some(&lookaside()),
        );
        assert_eq!(e, Err(SourcesError::NothingToReplace("a".into())));
    }

    #[test]
    fn generated_entries_replace_but_are_not_fetched() {
        let v = merge(
            &[up("a.tar.gz")],
            &[extra("a.tar.gz", true, ExtraOrigin::Generated)],
            Some(&lookaside()),
        )
        .expect("merges");
        assert!(v.is_empty());
    }

    #[test]
    fn entries_need_hashes_and_lookaside() {
        let mut e = extra("a", false, ExtraOrigin::Lookaside);
        e.hash = None;
        assert_eq!(
            merge(&[], &[e], Some(&lookaside())),
            Err(SourcesError::MissingHash("a".into()))
        );
        assert_eq!(
            merge(&[up("a")], &[], None),
            Err(SourcesError::NoLookaside("a".into()))
        );
        let dup = [
            extra("x", false, ExtraOrigin::Lookaside),
            extra("x", false, ExtraOrigin::Lookaside),
        ];
        assert_eq!(
            merge(&[], &dup, Some(&lookaside())),
            Err(SourcesError::DuplicateEntry("x".into()))
        );
    }

    #[test]
    fn bad_hashes_and_types_are_refused() {
        let mut bad = up("a");
        bad.hash = "../../etc".into();
        assert!(matches!(
            merge(&[bad], &[], Some(&lookaside())),
            Err(SourcesError::BadHash { .. })
        ));
        let mut odd = up("a");
        odd.hash_type = "BLAKE2B".into();
        assert!(matches!(
            merge(&[odd], &[], Some(&lookaside())),
            Err(SourcesError::UnknownHashType { .. })
        ));
        let md5 = SourceLine {
            filename: "old.tgz".into(),
            hash_type: "MD5".into(),
            hash: "d41d8cd98f00b204e9800998ecf8427e".into(),
        };
        let v = merge(&[md5], &[], Some(&lookaside())).expect("md5 ok");
        assert!(v[0].url.contains("/md5/d41d8cd98f00b204e9800998ecf8427e/"));
    }

    #[test]
    fn local_copy_verifies_and_caches() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), b"").expect("write");
        let cache = SourceCache::new(dir.path().join("cache"));
        let item = FetchItem {
            filename: "f".into(),
            hash_kind: HashKind::Md5,
            hash: "d41d8cd98f00b204e9800998ecf8427e".into(),
            url: "f".into(),
            base_dir: dir.path().to_path_buf(),
            fallbacks: Vec::new(),
        };
        assert_eq!(fetch_one(&cache, None, &item), Ok(Fetched::Fetched));
        assert_eq!(fetch_one(&cache, None, &item), Ok(Fetched::Cached));
        let mut wrong = item.clone();
        wrong.hash = "0".repeat(32);
        assert!(matches!(
            fetch_one(&cache, None, &wrong),
            Err(SourcesError::HashMismatch { .. })
        ));
        assert!(!cache.path(HashKind::Md5, &wrong.hash).exists());
    }
}
