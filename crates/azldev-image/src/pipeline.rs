//! One image for one architecture, end to end: the cache key, the root
//! tree, the size budget, every format, the release artefacts, published
//! atomically into `<out>/<image>/<arch>/`.
//!
//! The key digests everything the bytes depend on: the resolved
//! description, the content of every file it reads, the formats, the arch,
//! releasever and dnf options, and each repository's `repomd.xml` (so the
//! exact packages available). A second build with the same key finds
//! `image.json` and its artefacts intact and does nothing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use azldev_buildroot::base::RepoSpec;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::artifacts;
use crate::desc::ImageSpec;
use crate::format::{Artifact, Format, FormatInput, RootFs};
use crate::root::{self, RootError, RootInfo, RootRequest};

/// Any writer's error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Writes one format of a root to a path (`format::write`).
pub type Writer<'w> = &'w (dyn Fn(Format, &FormatInput<'_>, &Path) -> Result<Artifact, BoxError> + Sync);

/// Makes the EFI system partition's tree for disk formats: given the root,
/// the description, `SOURCE_DATE_EPOCH`, the image's seed (the disk's
/// identifiers, [`crate::format::disk_ids`]), the format it is for (the
/// disks share one; [`Format::Iso`] gets its own) and a scratch directory,
/// returns the ESP directory and the initramfs's size.
pub type EspMaker<'w> =
    &'w (dyn Fn(&Path, &ImageSpec, i64, &[u8; 32], Format, &Path) -> Result<EspTree, BoxError> + Sync);

/// What an [`EspMaker`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspTree {
    pub dir: PathBuf,
    /// Bytes of the initramfs in it.
    pub initrd_size: Option<u64>,
}

/// Failures of building an image.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImageError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    OverBudget(#[from] artifacts::OverBudget),
    #[error("image `{image}` ({arch}): writing {format} failed: {source}")]
    Format {
        image: String,
        arch: String,
        format: Format,
        #[source]
        source: BoxError,
    },
    #[error("image `{image}` ({arch}): the EFI system partition for {format}: {source}")]
    Esp {
        image: String,
        arch: String,
        format: Format,
        #[source]
        source: BoxError,
    },
    #[error("repository `{id}` has no readable repodata/repomd.xml at {url}")]
    Repo { id: String, url: String },
    #[error("{} exists and was not written by azldev (no image.json); remove it or choose another -o", .0.display())]
    NotOurs(PathBuf),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ImageError {
    let what = what.into();
    move |source| ImageError::Io { what, source }
}

/// Everything one build needs.
#[derive(Clone)]
pub struct BuildRequest<'a> {
    pub spec: &'a ImageSpec,
    /// The description's files (definition, scripts, files).
    pub inputs: &'a [PathBuf],
    /// The definition file (kiwi: copied into the root for `config.sh`).
    pub definition_path: &'a Path,
    pub repos: Vec<RepoSpec>,
    pub releasever: String,
    pub dnf_main: BTreeMap<String, String>,
    /// Formats to write (the description's unless overridden).
    pub formats: Vec<Format>,
    /// `<out>/<image>/<arch>`.
    pub out_dir: PathBuf,
    /// Scratch (the root is made here and removed afterwards).
    pub work_dir: PathBuf,
    pub log_dir: PathBuf,
    /// The distro's name (SBOM package URLs).
    pub distro: String,
    pub writer: Writer<'a>,
    pub esp: Option<EspMaker<'a>>,
    /// Build even when the cache says it is current.
    pub rebuild: bool,
}

impl std::fmt::Debug for BuildRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildRequest")
            .field("image", &self.spec.name)
            .field("arch", &self.spec.arch)
            .field("formats", &self.formats)
            .field("out_dir", &self.out_dir)
            .finish_non_exhaustive()
    }
}

/// A file written beside the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReleaseFile {
    pub path: PathBuf,
    /// `manifest`, `sbom`, `sizes`.
    pub kind: String,
    pub sha256: String,
}

/// What a build produced (also stored as `image.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ImageReport {
    pub image: String,
    pub arch: String,
    pub key: String,
    /// `built` or `cached`.
    pub status: String,
    pub source_date_epoch: i64,
    pub packages: usize,
    pub root_size: u64,
    pub size_budget: Option<u64>,
    /// Bytes of the disk formats' initramfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initrd_size: Option<u64>,
    /// Bytes of the ISO's (live) initramfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso_initrd_size: Option<u64>,
    pub artifacts: Vec<Artifact>,
    pub release_files: Vec<ReleaseFile>,
    pub seconds: f64,
    /// Where the time of a build went, in seconds: `root` (dnf, scripts,
    /// scrub), `esp` (boot tree and initramfs), one `format <name>` per
    /// format written (formats are written in parallel), `publish`
    /// (release files, the swap), `cleanup` (the root and scratch removed).
    #[serde(default)]
    pub timings: BTreeMap<String, f64>,
}

/// Hex of bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        use std::fmt::Write as _;
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// sha256 of a file, hex.
pub fn sha256_file(p: &Path) -> std::io::Result<String> {
    let mut f = fs::File::open(p)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

fn repomd(repo: &RepoSpec) -> Result<Vec<u8>, ImageError> {
    for url in &repo.baseurl {
        if let Some(p) = azldev_buildroot::base::local_path(url.trim_end_matches('/'))
            && let Ok(b) = fs::read(p.join("repodata/repomd.xml"))
        {
            return Ok(b);
        }
    }
    Err(ImageError::Repo {
        id: repo.id.clone(),
        url: repo.baseurl.first().cloned().unwrap_or_default(),
    })
}

/// The cache key (and format seed) of a request.
pub fn key(req: &BuildRequest<'_>) -> Result<[u8; 32], ImageError> {
    let mut h = Sha256::new();
    h.update(b"azldev-image\x001\0");
    h.update(env!("CARGO_PKG_VERSION"));
    h.update([0]);
    h.update(serde_json::to_vec(req.spec).expect("serialisable"));
    for p in req.inputs {
        h.update(p.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default());
        h.update([0]);
        h.update(fs::read(p).map_err(io_err(format!("read {}", p.display())))?);
        h.update([0]);
    }
    h.update(serde_json::to_vec(&req.formats).expect("serialisable"));
    h.update(req.releasever.as_bytes());
    h.update(serde_json::to_vec(&req.dnf_main).expect("serialisable"));
    h.update(req.distro.as_bytes());
    for r in &req.repos {
        h.update(r.id.as_bytes());
        h.update([0]);
        h.update(repomd(r)?);
    }
    Ok(h.finalize().into())
}

/// File name of a format's artefact.
pub fn artifact_name(image: &str, f: Format) -> String {
    let ext = match f {
        Format::Tar => "tar",
        Format::TarXz => "tar.xz",
        Format::Oci => "oci",
        Format::OciArchive => "oci.tar",
        Format::Ext4 => "ext4",
        Format::Erofs => "erofs",
        Format::Squashfs => "squashfs",
        Format::Raw => "raw",
        Format::Qcow2 => "qcow2",
        Format::Vhd => "vhd",
        Format::Vhdx => "vhdx",
        Format::Iso => "iso",
    };
    format!("{image}.{ext}")
}

/// The stored report of a previous build when it is current and intact.
fn cached(req: &BuildRequest<'_>, key_hex: &str) -> Option<ImageReport> {
    let stored: ImageReport = serde_json::from_slice(&fs::read(req.out_dir.join("image.json")).ok()?).ok()?;
    if stored.key != key_hex {
        return None;
    }
    let intact = stored.artifacts.iter().all(|a| {
        a.path
            .symlink_metadata()
            .is_ok_and(|m| m.is_dir() || m.len() == a.size)
    }) && stored.release_files.iter().all(|f| f.path.is_file());
    intact.then_some(stored)
}

/// Builds (or finds cached) one image for one architecture.
pub fn build(req: &BuildRequest<'_>) -> Result<ImageReport, ImageError> {
    let start = Instant::now();
    let spec = req.spec;
    // One build of an image and arch at a time; whoever holds the lock
    // removes what killed runs left (their root trees, their staging
    // directories): no live run owns them.
    fs::create_dir_all(&req.work_dir).map_err(io_err(format!("create {}", req.work_dir.display())))?;
    let lock_path = req.work_dir.join(format!("{}-{}.lock", spec.name, spec.arch));
    let lock = fs::File::create(&lock_path).map_err(io_err(format!("create {}", lock_path.display())))?;
    lock.lock()
        .map_err(io_err(format!("lock {}", lock_path.display())))?;
    let parent = req
        .out_dir
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let out_name = req
        .out_dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    remove_leftovers(&req.work_dir, &format!("{}-{}-", spec.name, spec.arch));
    remove_leftovers(&parent, &format!(".tmp-{out_name}-"));
    let seed = key(req)?;
    let key_hex = hex(&seed);
    if !req.rebuild
        && let Some(mut r) = cached(req, &key_hex)
    {
        r.status = "cached".into();
        r.seconds = start.elapsed().as_secs_f64();
        return Ok(r);
    }
    if req.out_dir.exists() && !req.out_dir.join("image.json").is_file() {
        let empty = fs::read_dir(&req.out_dir).is_ok_and(|mut d| d.next().is_none());
        if !empty {
            return Err(ImageError::NotOurs(req.out_dir.clone()));
        }
    }
    let tag = format!("{}-{}-{}", spec.name, spec.arch, std::process::id());
    let work = req.work_dir.join(&tag);
    let cleanup = RemoveOnDrop(work.clone());
    let root_dir = work.join("root");
    let log = req.log_dir.join(format!("image-{}-{}.log", spec.name, spec.arch));
    let mut timings: BTreeMap<String, f64> = BTreeMap::new();
    let phase = Instant::now();
    let info: RootInfo = root::make(&RootRequest {
        spec,
        repos: req.repos.clone(),
        releasever: req.releasever.clone(),
        dnf_main: req.dnf_main.clone(),
        definition_path: req.definition_path,
        root: &root_dir,
        scratch: &work.join("dnf"),
        log: &log,
        source_date_epoch: None,
    })?;
    let root_size = artifacts::tree_size(&root_dir);
    timings.insert("root".into(), phase.elapsed().as_secs_f64());
    artifacts::check_budget(spec, &info.packages, root_size)?;

    // Publish into a staging directory beside the destination, then swap.
    fs::create_dir_all(&parent).map_err(io_err(format!("create {}", parent.display())))?;
    let staging = parent.join(format!(".tmp-{out_name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(io_err(format!("create {}", staging.display())))?;
    let staging_guard = RemoveOnDrop(staging.clone());

    let phase = Instant::now();
    // One ESP for the disks, one for the ISO (it has no root partition: its
    // live initramfs boots /LiveOS/squashfs.img; the maker knows which it
    // writes).
    let make_esp = |f: Format| -> Result<Option<EspTree>, ImageError> {
        let Some(make) = req.esp else {
            return Ok(None);
        };
        let esp_scratch = work.join(format!("esp-scratch-{f}"));
        fs::create_dir_all(&esp_scratch).map_err(io_err("create the ESP scratch directory"))?;
        make(&root_dir, spec, info.source_date_epoch, &seed, f, &esp_scratch)
            .map(Some)
            .map_err(|source| ImageError::Esp {
                image: spec.name.clone(),
                arch: spec.arch.to_string(),
                format: f,
                source,
            })
    };
    let esp = match req.formats.iter().find(|f| f.is_disk() && **f != Format::Iso) {
        Some(f) => make_esp(*f)?,
        None => None,
    };
    let esp_iso = if req.formats.contains(&Format::Iso) {
        make_esp(Format::Iso)?
    } else {
        None
    };
    if esp.is_some() || esp_iso.is_some() {
        timings.insert("esp".into(), phase.elapsed().as_secs_f64());
    }
    let container = spec
        .container
        .as_ref()
        .map(|c| c.value.clone())
        .unwrap_or_default();
    let cmdline = spec.kernel_cmdline.as_ref().map(|c| c.value.clone());
    // Formats made from another's artefact (qcow2, vhd, vhdx from the raw
    // disk; the ISO from the squashfs) are written after it, reusing it;
    // the raw disk or squashfs is then written even when not asked for.
    let mut first: Vec<Format> = Vec::new();
    let mut then: Vec<Format> = Vec::new();
    for &f in &req.formats {
        match f.made_from() {
            Some(base) => {
                if !first.contains(&base) {
                    first.push(base);
                }
                then.push(f);
            }
            None if !first.contains(&f) => first.push(f),
            None => {}
        }
    }
    let helper_dir = work.join("bases");
    fs::create_dir_all(&helper_dir).map_err(io_err(format!("create {}", helper_dir.display())))?;
    // Where a format's artefact is written: staging when asked for.
    let target = |f: Format| {
        if req.formats.contains(&f) {
            staging.join(artifact_name(&spec.name, f))
        } else {
            helper_dir.join(artifact_name(&spec.name, f))
        }
    };
    let write_one = |f: Format, raw_disk: Option<&Path>, squashfs: Option<&Path>| {
        let scratch = work.join(format!("scratch-{f}"));
        fs::create_dir_all(&scratch).map_err(io_err(format!("create {}", scratch.display())))?;
        let input = FormatInput {
            root: &root_dir,
            name: &spec.name,
            arch: spec.arch,
            source_date_epoch: info.source_date_epoch,
            seed,
            // The ISO's ESP has its own (live) initramfs.
            esp: if f == Format::Iso { &esp_iso } else { &esp }
                .as_ref()
                .map(|e| e.dir.as_path()),
            root_fs: spec
                .root_filesystem
                .as_ref()
                .map_or(RootFs::default(), |r| r.value),
            disk_size: spec.disk_size.as_ref().map(|d| d.value),
            kernel_cmdline: cmdline.as_deref(),
            container: &container,
            log: Some(&log),
            scratch: &scratch,
            raw_disk,
            squashfs,
        };
        let out = target(f);
        let t = Instant::now();
        let mut a = (req.writer)(f, &input, &out).map_err(|source| ImageError::Format {
            image: spec.name.clone(),
            arch: spec.arch.to_string(),
            format: f,
            source,
        })?;
        let took = t.elapsed().as_secs_f64();
        let _ = fs::remove_dir_all(&scratch);
        a.path = req.out_dir.join(artifact_name(&spec.name, f));
        Ok::<(Artifact, f64), ImageError>((a, took))
    };
    let mut done: BTreeMap<Format, Artifact> = BTreeMap::new();
    let firsts: Vec<Result<(Artifact, f64), ImageError>> =
        first.par_iter().map(|&f| write_one(f, None, None)).collect();
    for (f, r) in first.iter().zip(firsts) {
        let (a, took) = r?;
        timings.insert(format!("format {f}"), took);
        done.insert(*f, a);
    }
    let raw_disk = done.contains_key(&Format::Raw).then(|| target(Format::Raw));
    let squashfs = done
        .contains_key(&Format::Squashfs)
        .then(|| target(Format::Squashfs));
    let thens: Vec<Result<(Artifact, f64), ImageError>> = then
        .par_iter()
        .map(|&f| write_one(f, raw_disk.as_deref(), squashfs.as_deref()))
        .collect();
    for (f, r) in then.iter().zip(thens) {
        let (a, took) = r?;
        timings.insert(format!("format {f}"), took);
        done.insert(*f, a);
    }
    let mut arts = Vec::new();
    for f in &req.formats {
        if let Some(a) = done.remove(f) {
            arts.push(a);
        }
    }

    let phase = Instant::now();
    let mut release_files = Vec::new();
    let seed_hex = key_hex.clone();
    for (kind, name, text) in [
        (
            "manifest",
            format!("{}.manifest.json", spec.name),
            artifacts::manifest(spec, &info.packages),
        ),
        (
            "sbom",
            format!("{}.spdx.json", spec.name),
            artifacts::sbom(
                spec,
                &info.packages,
                &req.distro,
                &seed_hex,
                info.source_date_epoch,
            ),
        ),
        ("sizes", format!("{}.sizes.txt", spec.name), {
            let mut s = artifacts::size_report(spec, &info.packages, root_size);
            let at = s.find('\n').map_or(0, |i| i + 1);
            if let Some(n) = esp_iso.as_ref().and_then(|e| e.initrd_size) {
                s.insert_str(
                    at,
                    &format!("# ISO initramfs {} ({n} bytes)\n", artifacts::human(n)),
                );
            }
            if let Some(n) = esp.as_ref().and_then(|e| e.initrd_size) {
                s.insert_str(at, &format!("# initramfs {} ({n} bytes)\n", artifacts::human(n)));
            }
            s
        }),
    ] {
        fs::write(staging.join(&name), &text).map_err(io_err(format!("write {name}")))?;
        release_files.push(ReleaseFile {
            path: req.out_dir.join(&name),
            kind: kind.to_owned(),
            sha256: hex(&Sha256::digest(text.as_bytes())),
        });
    }
    let report = ImageReport {
        image: spec.name.clone(),
        arch: spec.arch.to_string(),
        key: key_hex,
        status: "built".into(),
        source_date_epoch: info.source_date_epoch,
        packages: info.packages.len(),
        root_size,
        size_budget: spec.size_budget.as_ref().map(|b| b.value),
        initrd_size: esp.as_ref().and_then(|e| e.initrd_size),
        iso_initrd_size: esp_iso.as_ref().and_then(|e| e.initrd_size),
        artifacts: arts,
        release_files,
        seconds: 0.0,
        timings: BTreeMap::new(),
    };
    fs::write(
        staging.join("image.json"),
        serde_json::to_vec_pretty(&report).expect("serialisable"),
    )
    .map_err(io_err("write image.json"))?;
    if req.out_dir.exists() {
        // One atomic swap: the destination is the old build or the new
        // one at every instant, even if this process is killed here; the
        // old one is then in the staging directory, which the guard removes.
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &staging,
            rustix::fs::CWD,
            &req.out_dir,
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .map_err(|e| ImageError::Io {
            what: format!("replace {}", req.out_dir.display()),
            source: e.into(),
        })?;
        drop(staging_guard);
    } else {
        fs::rename(&staging, &req.out_dir).map_err(io_err(format!("publish {}", req.out_dir.display())))?;
        std::mem::forget(staging_guard);
    }
    timings.insert("publish".into(), phase.elapsed().as_secs_f64());
    // The root goes now, inside the time reported: its subtrees in
    // parallel (tens of thousands of files), then whatever is left.
    let phase = Instant::now();
    remove_tree(&work);
    drop(cleanup);
    timings.insert("cleanup".into(), phase.elapsed().as_secs_f64());
    let mut report = report;
    report.seconds = start.elapsed().as_secs_f64();
    report.timings = timings;
    Ok(report)
}

/// Removes the entries of `dir` named `<prefix><digits>` (a process id):
/// what killed runs left behind.
fn remove_leftovers(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

/// Removes a tree the build made, directories' entries in parallel (best
/// effort: what is left is removed by the caller's `remove_dir_all`).
fn remove_tree(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let entries: Vec<fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.par_iter().for_each(|e| {
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            remove_tree(&e.path());
            let _ = fs::remove_dir(e.path());
        } else {
            let _ = fs::remove_file(e.path());
        }
    });
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
