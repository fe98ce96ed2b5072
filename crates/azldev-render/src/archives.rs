//! Source archives for archive overlays.
//!
//! Upstream keeps its tarballs in the lookaside cache (listed in `sources`),
//! not in git, so the upstream tree has nothing for an archive overlay to
//! edit. Before the overlays run, every archive they name that the tree
//! lacks is taken from the content-addressed source cache (the one `azldev
//! sources fetch` fills), fetched from the lookaside first when it is not
//! there yet. After the overlays, the repacked archive is stored in the
//! same cache under its new digest — the digest its `source-files` entry
//! (`origin.type = "overlay"`) declares and the rendered `sources` file now
//! lists — and leaves the tree: like every lookaside file, it is not part
//! of the rendered directory.

use std::path::PathBuf;
use std::sync::Arc;

use azldev_config::raw::{HashType, OriginType};
use azldev_config::{Config, ResolvedComponent};
use azldev_overlay::{ComponentTree, FileMode, TreeFile};
use azldev_source::{FetchItem, HashKind, Lookaside, SourceCache, Transport, checked_hash, parse_sources};

use crate::RenderError;

/// Where source archives come from and where produced ones go.
#[derive(Clone)]
pub struct SourceStore {
    pub cache: SourceCache,
    /// For `http(s)` lookaside URLs; without it only local ones work.
    pub transport: Option<Arc<dyn Transport + Send>>,
}

impl std::fmt::Debug for SourceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceStore")
            .field("cache", &self.cache)
            .field("transport", &self.transport.is_some())
            .finish()
    }
}

impl SourceStore {
    /// The default cache ([`SourceCache::default_root`]), no HTTP.
    pub fn local() -> Self {
        Self {
            cache: SourceCache::new(SourceCache::default_root()),
            transport: None,
        }
    }
}

fn kind_of(t: HashType) -> HashKind {
    match t {
        HashType::Sha256 => HashKind::Sha256,
        HashType::Sha512 => HashKind::Sha512,
    }
}

/// The lookaside of the component's upstream distro (else the project's
/// default distro), with the component's upstream name as `$pkg`.
pub fn lookaside(config: &Config, c: &ResolvedComponent) -> Option<Lookaside> {
    let spec = c.config.spec.as_ref().map(|s| &s.value);
    let distro = distro_of(config, c)?;
    let uri = distro.lookaside_base_uri.as_ref()?;
    let pkg = spec
        .and_then(|s| s.upstream_name.as_ref())
        .map_or_else(|| c.name.clone(), |n| n.value.clone());
    Some(Lookaside {
        template: uri.value.clone(),
        base_dir: config.files.dir_of(&uri.loc),
        pkg,
        origins_disabled: origins_disabled(config, c),
    })
}

/// The component's upstream distro (else the project's default distro).
fn distro_of<'a>(config: &'a Config, c: &ResolvedComponent) -> Option<&'a azldev_config::raw::Distro> {
    let spec = c.config.spec.as_ref().map(|s| &s.value);
    let distro_ref =
        spec.and_then(|s| s.upstream_distro.as_ref())
            .or(config.merged.project.default_distro.as_ref())?;
    config
        .merged
        .distros
        .get(distro_ref.value.name.value.as_str())
        .map(|d| &d.value)
}

/// Whether that distro says `disable-origins = true`: source files come
/// from its lookaside only.
pub fn origins_disabled(config: &Config, c: &ResolvedComponent) -> bool {
    distro_of(config, c)
        .and_then(|d| d.disable_origins.as_ref())
        .is_some_and(|f| f.value)
}

/// The archives the component's overlays edit (each once, in order).
fn edited_archives(c: &ResolvedComponent) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for ro in &c.overlays {
        if let Some(a) = &ro.overlay.value.archive
            && !out.contains(&a.value.as_str())
        {
            out.push(a.value.as_str());
        }
    }
    out
}

/// Where the archives the component's overlays produce are kept: the
/// digests their `source-files` entries (`origin.type = "overlay"`)
/// declare.
pub(crate) fn produced_paths(c: &ResolvedComponent, store: &SourceStore) -> Vec<PathBuf> {
    c.overlays
        .iter()
        .filter_map(|ro| ro.archive_source.as_ref())
        .filter(|sf| {
            sf.value
                .origin
                .as_ref()
                .is_some_and(|o| o.value.kind.value == OriginType::Overlay)
        })
        .filter_map(|sf| {
            let hash = sf.value.hash.as_ref()?.value.trim().to_ascii_lowercase();
            let kind = kind_of(sf.value.hash_type.as_ref()?.value);
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| store.cache.path(kind, &hash))
        })
        .collect()
}

/// An archive taken from the source cache into the tree.
#[derive(Debug)]
pub(crate) struct Loaded {
    path: String,
}

/// Put every archive the overlays edit that the tree lacks, and that the
/// tree's `sources` file lists, into the tree from the source cache
/// (fetching it into the cache first unless `offline`). Archives neither
/// in the tree nor in `sources` are left to the overlay engine's error.
pub(crate) fn load(
    tree: &mut ComponentTree,
    config: &Config,
    c: &ResolvedComponent,
    store: &SourceStore,
    offline: bool,
) -> Result<Vec<Loaded>, RenderError> {
    let archives = edited_archives(c);
    if archives.is_empty() {
        return Ok(Vec::new());
    }
    let listed = match tree.files.get("sources") {
        Some(f) => parse_sources(&String::from_utf8_lossy(&f.data)).map_err(|(line, text)| {
            RenderError::Upstream(format!("sources:{line}: not a sources line: {text}"))
        })?,
        None => Vec::new(),
    };
    let mut loaded = Vec::new();
    for archive in archives {
        if tree.files.contains_key(archive) {
            continue;
        }
        let Some(line) = listed.iter().find(|l| l.filename == archive) else {
            continue;
        };
        let fail = |why: String| {
            RenderError::Upstream(format!(
                "archive `{archive}` (edited by an archive overlay): {why}"
            ))
        };
        let kind = HashKind::parse(&line.hash_type)
            .ok_or_else(|| fail(format!("unsupported hash type `{}` in `sources`", line.hash_type)))?;
        // Upstream's `sources` is input: only a hex digest names a cache file.
        let hash = checked_hash(archive, kind, &line.hash).map_err(|e| fail(e.to_string()))?;
        let cached = store.cache.path(kind, &hash);
        let fetched = !cached.is_file();
        if fetched {
            let lookaside = lookaside(config, c).ok_or_else(|| {
                fail("not in the source cache, and the distro has no `lookaside-base-uri`".into())
            })?;
            let url = lookaside.url(archive, kind, &hash);
            let remote = url.starts_with("http://") || url.starts_with("https://");
            if offline && remote {
                return Err(fail(format!(
                    "not in the source cache ({}), and --offline forbids fetching {url}",
                    cached.display()
                )));
            }
            let item = FetchItem {
                filename: archive.to_owned(),
                hash_kind: kind,
                hash: hash.clone(),
                url,
                base_dir: lookaside.base_dir.clone(),
                fallbacks: Vec::new(),
            };
            let transport = store.transport.as_deref().map(|t| t as &dyn Transport);
            azldev_source::fetch_one(&store.cache, transport, &item)
                .map_err(|e| fail(format!("not in the source cache, and fetching it failed: {e}")))?;
        }
        let data = std::fs::read(&cached).map_err(|e| fail(format!("{}: {e}", cached.display())))?;
        // The cache is content-addressed; a file changed behind our back
        // must not be edited and published under a trusted name. (A fresh
        // fetch was verified already.)
        if !fetched {
            let actual = azldev_source::digest_bytes(&data, kind);
            if actual != hash {
                return Err(fail(format!(
                    "{} does not match its digest (expected {hash}, got {actual}); delete it and fetch again",
                    cached.display()
                )));
            }
        }
        tree.files.insert(
            archive.to_owned(),
            TreeFile {
                data,
                mode: FileMode::Regular,
            },
        );
        loaded.push(Loaded {
            path: archive.to_owned(),
        });
    }
    Ok(loaded)
}

/// After the overlays: take the archives [`load`] brought in out of the
/// tree and, when `keep`, store each under the digest the (rewritten)
/// `sources` file gives it.
pub(crate) fn store_produced(
    tree: &mut ComponentTree,
    loaded: Vec<Loaded>,
    store: &SourceStore,
    keep: bool,
) -> Result<(), RenderError> {
    if loaded.is_empty() {
        return Ok(());
    }
    let listed = tree
        .files
        .get("sources")
        .and_then(|f| parse_sources(&String::from_utf8_lossy(&f.data)).ok())
        .unwrap_or_default();
    for l in loaded {
        let Some(file) = tree.files.remove(&l.path) else {
            continue;
        };
        if !keep {
            continue;
        }
        let fail = |why: String| RenderError::Upstream(format!("archive `{}`: {why}", l.path));
        let line = listed
            .iter()
            .find(|s| s.filename == l.path)
            .ok_or_else(|| fail("no longer listed in `sources`".into()))?;
        let kind = HashKind::parse(&line.hash_type)
            .ok_or_else(|| fail(format!("unsupported hash type `{}`", line.hash_type)))?;
        let hash = checked_hash(&l.path, kind, &line.hash).map_err(|e| fail(e.to_string()))?;
        let dest = store.cache.path(kind, &hash);
        if !dest.is_file() {
            azldev_source::write_atomic(&dest, &file.data).map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(())
}
