//! The evaluator producer: `azldev_spec::eval` over the rpm macro files of
//! the target (no process per spec), with another producer (rpmspec) as
//! the fallback for every spec the evaluator reports anything unresolved
//! in or that it says rpm would reject — so an evaluation is either
//! complete or not used, never a guess.
//!
//! Results are cached by content: one pack file per arch and macro
//! context under the cache directory (`eval-<arch>-<context>.pack`),
//! holding for each spec (keyed by the SHA-256 of the context and of what
//! rpm reads while parsing the spec, see [`SpecInput::parse_digest`]) its
//! facts or the note "ask the fallback". The context's digest covers the
//! macro files' names and bytes and the evaluator's own source text, so a
//! changed evaluator never reads an older one's answers. A warm plan
//! therefore hashes the specs and reads one file per arch.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use azldev_spec::eval::{Asked, MacroContext, RootProbe, SOURCE_FINGERPRINT, Shell, evaluate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::source::{FactsError, FactsSource, ParseRefs, SpecInput, Stored};
use crate::{Arch, SpecFacts};

/// Where sidecar files appear to the evaluator.
const SOURCEDIR: &str = "/builddir/src";
/// `%_topdir` for the evaluator.
const TOPDIR: &str = "/builddir/build";
/// The pack file's first bytes; bump when the format or `Entry` changes.
const PACK_MAGIC: &[u8] = b"azldev eval facts pack 1\n";

/// One cached answer.
#[derive(Serialize, Deserialize)]
enum Entry {
    /// The evaluation was complete, resting on these answers of the root
    /// probe (checked again before the entry is used).
    Facts(Stored, Vec<Asked>),
    /// The evaluator could not answer: ask the fallback (which caches its
    /// own answers).
    Fallback,
}

/// A cached entry's bytes: a range of a shared buffer (the pack file as
/// read) or its own allocation (new this run).
#[derive(Clone)]
struct Slot {
    buf: Arc<[u8]>,
    start: usize,
    end: usize,
    used: bool,
}

#[derive(Default)]
struct Pack {
    slots: HashMap<[u8; 32], Slot>,
    /// Entries added since the pack was read.
    added: usize,
}

impl Pack {
    /// Parse a pack file; `None` when it is not one (ignored: rebuilt).
    fn parse(bytes: Vec<u8>) -> Option<Pack> {
        let rest = bytes.strip_prefix(PACK_MAGIC)?;
        let base = PACK_MAGIC.len();
        let mut ranges = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let key: [u8; 32] = rest.get(i..i + 32)?.try_into().ok()?;
            let len = u32::from_le_bytes(rest.get(i + 32..i + 36)?.try_into().ok()?) as usize;
            let start = base + i + 36;
            let end = start.checked_add(len)?;
            if end > bytes.len() {
                return None;
            }
            ranges.push((key, start, end));
            i += 36 + len;
        }
        let buf: Arc<[u8]> = Arc::from(bytes.into_boxed_slice());
        let slots = ranges
            .into_iter()
            .map(|(key, start, end)| {
                (
                    key,
                    Slot {
                        buf: buf.clone(),
                        start,
                        end,
                        used: false,
                    },
                )
            })
            .collect();
        Some(Pack { slots, added: 0 })
    }

    /// The bytes of the file: every entry used this run, plus unused ones
    /// while they are not more than the used ones (specs of other
    /// projects sharing the cache, older revisions), newest keys first is
    /// not knowable, so the unused kept are the first in key order.
    fn serialize(&self) -> Vec<u8> {
        let mut keys: Vec<(&[u8; 32], &Slot)> = self.slots.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        let used = keys.iter().filter(|(_, s)| s.used).count();
        let mut unused_budget = used.max(64);
        let mut out = Vec::with_capacity(keys.iter().map(|(_, s)| s.end - s.start + 36).sum::<usize>() + 32);
        out.extend_from_slice(PACK_MAGIC);
        for (k, s) in keys {
            if !s.used {
                if unused_budget == 0 {
                    continue;
                }
                unused_budget -= 1;
            }
            let body = &s.buf[s.start..s.end];
            out.extend_from_slice(k);
            out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(body);
        }
        out
    }
}

struct ArchCtx {
    ctx: MacroContext,
    /// SHA-256 of the evaluator's source, the arch and the macro files.
    digest: [u8; 32],
    pack: OnceLock<Mutex<Pack>>,
}

/// A root directory as `%(…)` would see it from inside (`/` for the
/// host): whether a path exists, a program on the default `PATH`, and the
/// environment the rpmspec producer runs with.
#[derive(Debug, Clone)]
pub struct DirProbe {
    pub root: PathBuf,
}

const DEFAULT_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

impl RootProbe for DirProbe {
    fn exists(&self, path: &str) -> bool {
        if self.root == Path::new("/") {
            return Path::new(path).exists();
        }
        // Inside another root a link is not followed (it may point out).
        std::fs::symlink_metadata(self.root.join(path.trim_start_matches('/'))).is_ok()
    }

    fn program(&self, name: &str) -> bool {
        DEFAULT_PATH.iter().any(|d| self.exists(&format!("{d}/{name}")))
    }

    fn env(&self, name: &str) -> Option<String> {
        if name == "LC_ALL" {
            // What the rpmspec producer sets.
            return Some("C.UTF-8".to_owned());
        }
        // rpmspec on the host inherits azldev's environment; in another
        // root it starts from an empty one.
        if self.root == Path::new("/") {
            std::env::var(name).ok()
        } else {
            None
        }
    }
}

/// Facts from the evaluator, falling back to another source.
pub struct EvalSource<F> {
    contexts: BTreeMap<Arch, ArchCtx>,
    fallback: F,
    probe: Option<Arc<dyn RootProbe>>,
    cache_dir: Option<PathBuf>,
    evaluated: AtomicUsize,
    fell_back: AtomicUsize,
    hits: AtomicUsize,
}

impl<F: std::fmt::Debug> std::fmt::Debug for EvalSource<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalSource")
            .field("fallback", &self.fallback)
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

/// rpm's macro files for `arch` under `root` (`/` for the host, a base
/// root's directory otherwise), in the order of rpm's macro path:
/// `macros`, `macros.d/macros.*`, `platform/<arch>-linux/macros`,
/// `fileattrs/*.attr`, `debian/macros` (Debian's rpm), `/etc/rpm/macros.*`,
/// `/etc/rpm/macros`, `/etc/rpm/<arch>-linux/macros`.
pub fn macro_files(root: &Path, arch: Arch) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut add = |p: std::path::PathBuf| {
        if p.is_file()
            && let Ok(b) = std::fs::read(&p)
        {
            files.push((p.display().to_string(), b));
        }
    };
    let sorted = |dir: std::path::PathBuf, keep: &dyn Fn(&str) -> bool| {
        let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v.retain(|p| p.file_name().is_some_and(|n| keep(&n.to_string_lossy())));
        v
    };
    let target = format!("{}-linux", arch.rpm());
    add(root.join("usr/lib/rpm/macros"));
    for p in sorted(root.join("usr/lib/rpm/macros.d"), &|n| n.starts_with("macros.")) {
        add(p);
    }
    add(root.join(format!("usr/lib/rpm/platform/{target}/macros")));
    for p in sorted(root.join("usr/lib/rpm/fileattrs"), &|n| n.ends_with(".attr")) {
        add(p);
    }
    add(root.join("usr/lib/rpm/debian/macros"));
    for p in sorted(root.join("etc/rpm"), &|n| n.starts_with("macros.")) {
        add(p);
    }
    add(root.join("etc/rpm/macros"));
    add(root.join(format!("etc/rpm/{target}/macros")));
    files
}

/// The root's `/bin/sh`: dash when it is (or links to) dash, else bash.
pub fn root_shell(root: &Path) -> Shell {
    let sh = root.join("bin/sh");
    let target = std::fs::read_link(&sh)
        .or_else(|_| std::fs::read_link(root.join("usr/bin/sh")))
        .map(|t| t.to_string_lossy().into_owned())
        .unwrap_or_default();
    if target.ends_with("dash") {
        Shell::Dash
    } else {
        Shell::Bash
    }
}

fn context_digest(arch: Arch, files: &[(String, Vec<u8>)]) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(PACK_MAGIC);
    for s in SOURCE_FINGERPRINT {
        field(s);
    }
    field(arch.rpm().as_bytes());
    field(SOURCEDIR.as_bytes());
    field(TOPDIR.as_bytes());
    for (n, b) in files {
        field(n.as_bytes());
        field(b);
    }
    h.finalize().into()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl<F: FactsSource> EvalSource<F> {
    /// Contexts for every arch from `files(arch)`, no cache.
    pub fn new(files: impl Fn(Arch) -> Vec<(String, Vec<u8>)>, fallback: F) -> Self {
        let contexts = Arch::ALL
            .iter()
            .map(|a| {
                let files = files(*a);
                let mut c = MacroContext::for_target(a.rpm());
                for (name, bytes) in &files {
                    c.load_file(name, bytes);
                }
                // rpmspec is run with its own `_topdir` (the default reads
                // `$HOME`); where it is does not change the facts.
                c.define("_topdir", TOPDIR);
                (
                    *a,
                    ArchCtx {
                        ctx: c,
                        digest: context_digest(*a, &files),
                        pack: OnceLock::new(),
                    },
                )
            })
            .collect();
        EvalSource {
            contexts,
            fallback,
            probe: None,
            cache_dir: None,
            evaluated: AtomicUsize::new(0),
            fell_back: AtomicUsize::new(0),
            hits: AtomicUsize::new(0),
        }
    }

    /// Answer `%(…)`'s questions about the root with `probe` (the root the
    /// macro files come from).
    #[must_use]
    pub fn with_probe(mut self, probe: Arc<dyn RootProbe>) -> Self {
        for ac in self.contexts.values_mut() {
            ac.ctx.set_probe(probe.clone());
        }
        self.probe = Some(probe);
        self
    }

    /// The `/bin/sh` `%(…)` runs with (bash unless told).
    #[must_use]
    pub fn with_shell(mut self, shell: Shell) -> Self {
        for ac in self.contexts.values_mut() {
            ac.ctx.set_shell(shell);
            // Part of the context: another shell, other answers.
            let mut h = Sha256::new();
            h.update(ac.digest);
            h.update(format!("{shell:?}").as_bytes());
            ac.digest = h.finalize().into();
        }
        self
    }

    /// Cache results under `dir` (see the module docs).
    #[must_use]
    pub fn with_cache(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// (evaluated, fell back to the other source) so far; cache hits count
    /// as what they record.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.evaluated.load(Ordering::Relaxed),
            self.fell_back.load(Ordering::Relaxed),
        )
    }

    /// Answers read from the cache so far.
    pub fn cache_hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    fn pack_path(&self, arch: Arch, digest: &[u8; 32]) -> Option<PathBuf> {
        self.cache_dir
            .as_ref()
            .map(|d| d.join(format!("eval-{}-{}.pack", arch.rpm(), &hex(digest)[..24])))
    }

    fn pack<'a>(&self, arch: Arch, ac: &'a ArchCtx) -> Option<&'a Mutex<Pack>> {
        let path = self.pack_path(arch, &ac.digest)?;
        Some(ac.pack.get_or_init(|| {
            let pack = std::fs::read(&path)
                .ok()
                .and_then(Pack::parse)
                .unwrap_or_default();
            Mutex::new(pack)
        }))
    }

    /// Evaluate without the cache: the facts, or `None` when the fallback
    /// must answer.
    fn evaluate(
        &self,
        input: &SpecInput,
        spec: &[u8],
        ctx: &MacroContext,
        arch: Arch,
    ) -> Option<(SpecFacts, Vec<Asked>)> {
        // Sidecar files rpm may read while parsing (build options in
        // `<name>.azl.macros`, `%include`d files), as rpmspec would find
        // them in %_sourcedir.
        let refs = ParseRefs::of(spec);
        let spec_path = input.spec_path();
        let sidecars: Vec<(&String, &Vec<u8>)> = input
            .files
            .iter()
            .filter(|(p, _)| **p != spec_path && !p.contains('/') && refs.reads(p))
            .collect();
        let owned;
        let ctx = if sidecars.is_empty() {
            ctx
        } else {
            let mut c = ctx.clone();
            c.define("_sourcedir", SOURCEDIR);
            for (p, b) in sidecars {
                c.provide_file(&format!("{SOURCEDIR}/{p}"), b);
            }
            owned = c;
            &owned
        };
        let ev = evaluate(spec, ctx, arch.rpm());
        (ev.unresolved.is_empty() && ev.error.is_none() && !ev.facts.name.is_empty())
            .then_some((ev.facts, ev.asked))
    }
}

impl<F: FactsSource> FactsSource for EvalSource<F> {
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        let (Some(spec), Some(ac)) = (input.spec(), self.contexts.get(&arch)) else {
            return self.fallback.facts(input, arch);
        };
        let pack = self.pack(arch, ac);
        let key: [u8; 32] = pack.map_or([0; 32], |_| {
            let mut h = Sha256::new();
            h.update(ac.digest);
            h.update(input.parse_digest());
            h.finalize().into()
        });
        if let Some(pack) = pack {
            let slot = {
                let mut p = pack.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                p.slots.get_mut(&key).map(|s| {
                    s.used = true;
                    s.clone()
                })
            };
            let entry = slot.and_then(|s| serde_json::from_slice::<Entry>(&s.buf[s.start..s.end]).ok());
            // Facts resting on the root's answers stand while they hold.
            let holds = |asked: &[Asked]| {
                asked
                    .iter()
                    .all(|a| self.probe.as_deref().is_some_and(|p| a.holds(p)))
            };
            if let Some(entry) = entry.filter(|e| !matches!(e, Entry::Facts(_, a) if !holds(a))) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return match entry {
                    Entry::Facts(f, _) => {
                        self.evaluated.fetch_add(1, Ordering::Relaxed);
                        Ok(f.into())
                    }
                    Entry::Fallback => {
                        self.fell_back.fetch_add(1, Ordering::Relaxed);
                        self.fallback.facts(input, arch)
                    }
                };
            }
        }
        let facts = self.evaluate(input, spec, &ac.ctx, arch);
        if let Some(pack) = pack {
            let entry = match &facts {
                Some((f, asked)) => Entry::Facts(Stored::from(f), asked.clone()),
                None => Entry::Fallback,
            };
            if let Ok(bytes) = serde_json::to_vec(&entry) {
                let end = bytes.len();
                let mut p = pack.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                p.slots.insert(
                    key,
                    Slot {
                        buf: Arc::from(bytes.into_boxed_slice()),
                        start: 0,
                        end,
                        used: true,
                    },
                );
                p.added += 1;
            }
        }
        match facts {
            Some((f, _)) => {
                self.evaluated.fetch_add(1, Ordering::Relaxed);
                Ok(f)
            }
            None => {
                self.fell_back.fetch_add(1, Ordering::Relaxed);
                self.fallback.facts(input, arch)
            }
        }
    }

    /// Write the packs that gained entries (atomically: a temporary file
    /// renamed over the old one), then flush the fallback.
    fn flush(&self) -> Result<(), FactsError> {
        for (arch, ac) in &self.contexts {
            let (Some(path), Some(pack)) = (self.pack_path(*arch, &ac.digest), ac.pack.get()) else {
                continue;
            };
            let bytes = {
                let mut p = pack.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if p.added == 0 {
                    continue;
                }
                p.added = 0;
                p.serialize()
            };
            let io = |e: std::io::Error, p: &Path| FactsError::Io {
                path: p.to_owned(),
                message: e.to_string(),
            };
            let dir = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io(e, dir))?;
            std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| io(e, &path))?;
            tmp.persist(&path).map_err(|e| io(e.error, &path))?;
        }
        self.fallback.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;

    /// A fallback that counts its calls.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl FactsSource for Counting {
        fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Err(FactsError::Unsupported {
                component: input.name.clone(),
                arch,
                reason: "fallback".into(),
            })
        }
    }

    /// A root where `/opt/marker` exists or not.
    #[derive(Debug, Default)]
    struct Marker(AtomicBool);

    impl RootProbe for Marker {
        fn exists(&self, path: &str) -> bool {
            path == "/opt/marker" && self.0.load(Ordering::Relaxed)
        }
        fn program(&self, name: &str) -> bool {
            matches!(name, "cat" | "uname")
        }
        fn env(&self, _: &str) -> Option<String> {
            None
        }
    }

    fn input(name: &str, extra: &str) -> SpecInput {
        let spec = format!(
            "Name: {name}\nVersion: 1\nRelease: 1\nSummary: s\nLicense: MIT\n{extra}%description\nd\n"
        );
        SpecInput::new(
            name,
            [(format!("{name}.spec"), spec.into_bytes())]
                .into_iter()
                .collect(),
        )
    }

    fn source(dir: &Path, probe: Arc<Marker>) -> EvalSource<Counting> {
        EvalSource::new(
            |_| vec![("m".into(), b"%_isa %{nil}\n".to_vec())],
            Counting::default(),
        )
        .with_probe(probe)
        .with_cache(Some(dir.to_owned()))
    }

    #[test]
    fn facts_are_cached_by_content_and_probe_answers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let probe = Arc::new(Marker::default());
        let plain = input("plain", "BuildRequires: gcc\n");
        let probed = input(
            "probed",
            "BuildRequires: %(test -e /opt/marker && echo yes || echo no)\n",
        );
        let shell = input("shell", "BuildRequires: %(uname -m)\n");
        let src = source(dir.path(), probe.clone());
        let f = src.facts(&plain, Arch::X86_64).expect("evaluated");
        assert_eq!(f.buildrequires[0].text, "gcc");
        assert_eq!(
            src.facts(&probed, Arch::X86_64).expect("evaluated").buildrequires[0].text,
            "no"
        );
        assert!(src.facts(&shell, Arch::X86_64).is_err());
        assert_eq!(src.fallback.0.load(Ordering::Relaxed), 1);
        assert_eq!(src.cache_hits(), 0);
        src.flush().expect("written");

        // A fresh producer answers from the pack; the unevaluable spec
        // goes straight to the fallback.
        let src = source(dir.path(), probe.clone());
        assert_eq!(src.facts(&plain, Arch::X86_64).expect("cached"), f);
        assert!(src.facts(&shell, Arch::X86_64).is_err());
        assert_eq!(src.cache_hits(), 2);
        // The root changed: the probed entry no longer holds.
        probe.0.store(true, Ordering::Relaxed);
        assert_eq!(
            src.facts(&probed, Arch::X86_64).expect("evaluated").buildrequires[0].text,
            "yes"
        );
        assert_eq!(src.cache_hits(), 2);
        // Another arch, another pack; a changed spec, another key.
        assert!(src.facts(&plain, Arch::Aarch64).is_ok());
        assert!(
            src.facts(&input("plain", "BuildRequires: make\n"), Arch::X86_64)
                .is_ok()
        );
        assert_eq!(src.cache_hits(), 2);
    }

    #[test]
    fn pack_round_trips_and_rejects_garbage() {
        let mut p = Pack::default();
        for k in 0..3u8 {
            let body = vec![k; usize::from(k) + 1];
            let end = body.len();
            p.slots.insert(
                [k; 32],
                Slot {
                    buf: Arc::from(body.into_boxed_slice()),
                    start: 0,
                    end,
                    used: true,
                },
            );
        }
        let bytes = p.serialize();
        let q = Pack::parse(bytes.clone()).expect("a pack");
        assert_eq!(q.slots.len(), 3);
        let s = &q.slots[&[2; 32]];
        assert_eq!(&s.buf[s.start..s.end], &[2, 2, 2]);
        assert!(Pack::parse(b"something else".to_vec()).is_none());
        // Truncated: refused whole, not half read.
        assert!(Pack::parse(bytes[..bytes.len() - 1].to_vec()).is_none());
    }
}
