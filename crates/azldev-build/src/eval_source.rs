//! The evaluator producer: `azldev_spec::eval` over the rpm macro files of
//! the target (no process per spec), with the rpmspec producer as the
//! fallback for every spec the evaluator reports anything unresolved in —
//! so an evaluation is either complete or not used, never a guess.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use azldev_spec::eval::{MacroContext, evaluate};

use crate::source::{FactsError, FactsSource, SpecInput};
use crate::{Arch, SpecFacts};

/// Where sidecar files appear to the evaluator.
const SOURCEDIR: &str = "/builddir/src";

/// Facts from the evaluator, falling back to another source.
#[derive(Debug)]
pub struct EvalSource<F> {
    contexts: BTreeMap<Arch, MacroContext>,
    fallback: F,
    evaluated: AtomicUsize,
    fell_back: AtomicUsize,
}

/// rpm's macro files for `arch` under `root` (`/` for the host, a base
/// root's directory otherwise), in rpm's load order: `macros`,
/// `macros.d/macros.*`, `platform/<arch>-linux/macros`, `/etc/rpm/macros*`.
pub fn macro_files(root: &Path, arch: Arch) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut add = |p: std::path::PathBuf| {
        if let Ok(b) = std::fs::read(&p) {
            files.push((p.display().to_string(), b));
        }
    };
    add(root.join("usr/lib/rpm/macros"));
    let sorted = |dir: std::path::PathBuf| {
        let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v.into_iter()
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("macros"))
                    && p.is_file()
            })
            .collect::<Vec<_>>()
    };
    for p in sorted(root.join("usr/lib/rpm/macros.d")) {
        add(p);
    }
    add(root.join(format!("usr/lib/rpm/platform/{}-linux/macros", arch.rpm())));
    for p in sorted(root.join("etc/rpm")) {
        add(p);
    }
    files
}

impl<F: FactsSource> EvalSource<F> {
    /// Contexts for every arch from `files(arch)`.
    pub fn new(files: impl Fn(Arch) -> Vec<(String, Vec<u8>)>, fallback: F) -> Self {
        let contexts = Arch::ALL
            .iter()
            .map(|a| {
                let mut c = MacroContext::for_target(a.rpm());
                for (name, bytes) in files(*a) {
                    c.load_file(&name, &bytes);
                }
                (*a, c)
            })
            .collect();
        EvalSource {
            contexts,
            fallback,
            evaluated: AtomicUsize::new(0),
            fell_back: AtomicUsize::new(0),
        }
    }

    /// (evaluated, fell back to the other source) so far.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.evaluated.load(Ordering::Relaxed),
            self.fell_back.load(Ordering::Relaxed),
        )
    }
}

impl<F: FactsSource> FactsSource for EvalSource<F> {
    fn facts(&self, input: &SpecInput, arch: Arch) -> Result<SpecFacts, FactsError> {
        let (Some(spec), Some(ctx)) = (input.spec(), self.contexts.get(&arch)) else {
            return self.fallback.facts(input, arch);
        };
        // Sidecar files the spec may `%{load:}` (build options in
        // `<name>.azl.macros`), as rpmspec would find them in %_sourcedir.
        let sidecars: Vec<(&String, &Vec<u8>)> = input
            .files
            .iter()
            .filter(|(p, _)| p.ends_with(".macros") && !p.contains('/'))
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
        if ev.unresolved.is_empty() && !ev.facts.name.is_empty() {
            self.evaluated.fetch_add(1, Ordering::Relaxed);
            return Ok(ev.facts);
        }
        self.fell_back.fetch_add(1, Ordering::Relaxed);
        self.fallback.facts(input, arch)
    }
}
