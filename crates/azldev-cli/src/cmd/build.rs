//! `azldev build` (for now only `--plan`): the per-arch build graph of the
//! distro as it renders now, and the plan for the components asked for.
//!
//! Every component is rendered in memory by the render pipeline (never read
//! from the `specs/` tree), its facts come from rpmspec (cached by content
//! under `<cache>/facts`), and the graph is built over all of them, so a
//! named component's closure is complete. `--format json` prints one plan
//! object for one arch, and an array of them (x86_64 first) for
//! `--arch all`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use azldev_build::graph::{Buildroot, Graph, GraphOptions};
use azldev_build::plan::{Plan, share_noarch, to_dot, to_text};
use azldev_build::{Arch, FactsError, FactsSource, MacroInputs, RpmspecSource, SpecInput};
use azldev_config::Config;
use azldev_config::fs::RealFs;
use clap::{Args, ValueEnum};

use super::render::Selection;
use crate::output::Output;
use crate::settings::Settings;

/// Which architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchChoice {
    #[value(name = "x86_64")]
    X86_64,
    Aarch64,
    All,
}

impl ArchChoice {
    pub fn arches(self) -> Vec<Arch> {
        match self {
            ArchChoice::X86_64 => vec![Arch::X86_64],
            ArchChoice::Aarch64 => vec![Arch::Aarch64],
            ArchChoice::All => Arch::ALL.to_vec(),
        }
    }
}

/// Plan output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    #[default]
    Text,
    Json,
    /// Graphviz.
    Dot,
}

/// How the graph is made; shared by `build --plan` and `query`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Target architecture.
    #[arg(long, value_enum, default_value = "x86_64")]
    pub arch: ArchChoice,
    /// A file listing what the buildroot's repositories provide (one
    /// capability name per line, `#` comments), e.g. from `dnf repoquery
    /// --provides`. Without it, every requirement nothing in the distro
    /// provides is taken as external; with it, the rest is unresolved.
    #[arg(long, value_name = "FILE")]
    pub buildroot_provides: Option<PathBuf>,
    /// Never touch the network; fail when something is not cached.
    #[arg(long)]
    pub offline: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub select: Selection,
    /// Print the build plan (what is built, for which arch, in which order)
    /// and build nothing. Exit 1 when it reports cycles, unresolved
    /// BuildRequires or components that could not be evaluated. A spec with
    /// %generate_buildrequires also depends on what its last build's
    /// dynamic BuildRequires resolved to; specs the macro evaluator cannot
    /// evaluate are asked of rpmspec in the base root (on the host until
    /// one exists; the plan's notes say which).
    #[arg(long)]
    pub plan: bool,
    #[command(flatten)]
    pub graph: GraphArgs,
    /// Output format (`dot` only with --plan).
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// Report what would be rebuilt and why; build nothing.
    #[arg(long, conflicts_with = "plan")]
    pub check: bool,
    /// Skip `%check`.
    #[arg(long)]
    pub no_check: bool,
    /// Rebuild even what the build cache holds.
    #[arg(long)]
    pub rebuild: bool,
    /// Keep going after a failure (the default: a failure blocks only its
    /// dependents).
    #[arg(short = 'k', long, conflicts_with = "fail_fast")]
    pub keep_going: bool,
    /// Start no new build after the first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// With --plan: replay the plan on N builders per arch (0: unlimited)
    /// with the durations earlier runs recorded, and print the predicted
    /// makespan, critical path and utilisation.
    #[arg(long, value_name = "N", requires = "plan")]
    pub simulate: Option<usize>,
    /// With --simulate: seconds assumed for a build never recorded
    /// (default: the median of the recorded ones, else 300).
    #[arg(long, value_name = "SECONDS", requires = "simulate")]
    pub default_seconds: Option<f64>,
    /// Where builds run: `local` (isolated layers of the base root) or
    /// `koji` (a Koji hub; see --koji-profile, --target).
    #[arg(long, value_enum, default_value = "local")]
    pub executor: ExecutorChoice,
    /// Koji client profile (a section of ~/.koji/config or
    /// /etc/koji.conf.d/*.conf; setting `koji-profile`; default `koji`).
    #[arg(long, value_name = "PROFILE")]
    pub koji_profile: Option<String>,
    /// Koji build target (setting `koji-target`).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Koji scratch builds: SRPMs made here and uploaded, nothing tagged.
    #[arg(long)]
    pub scratch: bool,
}

/// Where builds run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ExecutorChoice {
    #[default]
    Local,
    Koji,
}

/// Everything needed to build graphs: the rendered components and the
/// facts producer.
pub(crate) struct Distro {
    pub inputs: Vec<SpecInput>,
    /// Components that failed to render, with the error.
    pub render_failures: Vec<(String, String)>,
    /// Where spec facts come from (today rpmspec on the host; the macro
    /// evaluator goes in front of it with `azldev_build::Fallback`).
    pub source: Box<dyn FactsSource>,
    pub opts: GraphOptions,
    /// `<cache>/builds`: per arch, the dynamic BuildRequires builds
    /// recorded (`azldev_build::sched::dynamic_records`).
    pub builds_dir: PathBuf,
    /// The project's `output-dir` (its local repositories, per arch).
    pub output_dir: PathBuf,
    /// The rpmspec fallback (a clone sharing its counters).
    pub rpmspec: RpmspecSource,
    /// `bootstrap-prebuilt` entries: (component, entry, where written).
    bootstrap_decls: Vec<(String, String, String)>,
}

/// Load the project in the current directory and prepare its graph inputs.
pub(crate) fn load_distro(
    out: &Output,
    settings: &Settings,
    args: &GraphArgs,
) -> miette::Result<(Config, Distro)> {
    let config = super::config::load_valid_project(out)?.config;
    let buildroot = match &args.buildroot_provides {
        None => Buildroot::Unknown,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| miette::miette!("cannot read {}: {e}", p.display()))?;
            Buildroot::Known(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| l.split_whitespace().next().unwrap_or(l).to_owned())
                    .collect(),
            )
        }
    };
    let mut ropts = crate::cmd::render::project_options(&config);
    ropts.offline = args.offline || settings.offline;
    ropts.jobs = args.jobs.or(settings.jobs);
    let distro = distro_from(&config, &RealFs, settings, ropts, buildroot)?;
    Ok((config, distro))
}

/// Render every component of `config` in memory (files read through `fs`,
/// with `ropts`; its cache and source store come from `settings`) and set
/// up the facts producer.
pub(crate) fn distro_from(
    config: &Config,
    fs: &dyn azldev_config::fs::Fs,
    settings: &Settings,
    mut ropts: azldev_render::Options,
    buildroot: Buildroot,
) -> miette::Result<Distro> {
    ropts.cache = azldev_source::GitCache::new(settings.git_cache());
    ropts.sources = settings.source_store();
    ropts.store_produced = true;
    let rendered = azldev_render::render_in_memory(config, fs, &[], &ropts);
    let mut inputs = Vec::new();
    let mut render_failures = Vec::new();
    for (name, r) in rendered {
        match r {
            Ok(r) => inputs.push(SpecInput::new(
                name.clone(),
                r.tree
                    .files
                    .into_iter()
                    .filter(|(_, f)| f.mode != azldev_overlay::FileMode::Symlink)
                    .map(|(p, f)| (p, f.data))
                    .collect(),
            )),
            Err(e) => render_failures.push((name, e.to_string())),
        }
    }
    let mut bootstrap = BTreeMap::new();
    let mut bootstrap_decls = Vec::new();
    for (name, c) in &config.components {
        if let Some(b) = &c.config.build
            && !b.bootstrap_prebuilt.is_empty()
        {
            bootstrap.insert(
                name.clone(),
                b.bootstrap_prebuilt
                    .iter()
                    .map(|s| s.value.trim().to_owned())
                    .collect(),
            );
            for cap in &b.bootstrap_prebuilt {
                bootstrap_decls.push((
                    name.clone(),
                    cap.value.trim().to_owned(),
                    config.describe(&cap.loc),
                ));
            }
        }
    }
    // The buildroot definition of each arch (read once for both uses).
    let base_specs: BTreeMap<Arch, azldev_buildroot::base::BaseSpec> = Arch::ALL
        .iter()
        .filter_map(|a| {
            let def = super::buildroot::load_definition(config, *a, None, None).ok()?;
            Some((*a, super::buildroot::base_spec(&def, config).ok()?))
        })
        .collect();
    // rpmspec, for what the evaluator cannot evaluate, runs in the base
    // roots that exist (isolated, read-only; never made here), else on
    // the host (noted in the plan).
    let roots: Vec<azldev_buildroot::base::BaseRoot> = if azldev_buildroot::base::is_root() {
        let dirs = super::toolchain::ProjectDirs::of(config);
        let all = azldev_buildroot::base::BaseRoots::new(&settings.cache_root(), &dirs.log_dir);
        base_specs
            .values()
            .filter_map(|spec| all.find(spec).ok().flatten())
            .collect()
    } else {
        Vec::new()
    };
    // The buildroot definition's macros (`%dist`, `%vendor`…), per arch,
    // as the base root holds them: the evaluator loads them after the
    // host's macro files (the seed's rpm is the host's), so a plan says
    // what a build will make whether or not a base root exists yet.
    let definition_macros: BTreeMap<Arch, Vec<u8>> = base_specs
        .iter()
        .map(|(a, spec)| (*a, azldev_buildroot::base::macros_file(&spec.macros).into_bytes()))
        .collect();
    let macros_path = format!("/{}", azldev_buildroot::base::MACROS_FILE);
    // rpmspec on the host (no base root yet) loads them too, when they are
    // the same for both arches (its inputs are not per arch).
    let host_inputs = {
        let mut v = definition_macros.values();
        match (v.next(), v.next()) {
            (Some(a), b) if b.is_none_or(|b| b == a) => MacroInputs {
                files: vec![(macros_path.clone(), a.clone())],
                defines: Vec::new(),
            },
            _ => MacroInputs::default(),
        }
    };
    let source = RpmspecSource::in_roots(roots, Some(settings.facts_cache()), host_inputs)
        .map_err(|e| miette::miette!("rpmspec is needed to evaluate specs: {e}"))?;
    let rpmspec = source.clone();
    Ok(Distro {
        inputs,
        render_failures,
        // The evaluator over the host's rpm macro files (the seed's rpm is
        // Debian's, the host's too); rpmspec for what it cannot evaluate.
        source: Box::new(
            azldev_build::eval_source::EvalSource::new(
                move |a| {
                    let mut files = azldev_build::eval_source::macro_files(std::path::Path::new("/"), a);
                    if let Some(m) = definition_macros.get(&a) {
                        files.push((macros_path.clone(), m.clone()));
                    }
                    files
                },
                source,
            )
            .with_probe(std::sync::Arc::new(azldev_build::eval_source::DirProbe {
                root: std::path::PathBuf::from("/"),
            }))
            .with_shell(azldev_build::eval_source::root_shell(std::path::Path::new("/")))
            .with_cache(Some(settings.facts_cache())),
        ),
        opts: GraphOptions {
            buildroot,
            bootstrap,
            dynamic: BTreeMap::new(),
        },
        builds_dir: settings.cache_root().join("builds"),
        output_dir: super::toolchain::ProjectDirs::of(config).output_dir,
        rpmspec,
        bootstrap_decls,
    })
}

impl Distro {
    /// What a plan of `arch` should say about the rpmspec fallback, when
    /// `asked` specs went to it.
    pub fn rpmspec_note(&self, arch: Arch, asked: usize) -> Option<String> {
        (asked > 0).then(|| {
            format!(
                "{asked} spec(s) the macro evaluator cannot evaluate were asked of rpmspec, {}",
                self.rpmspec.describe(arch)
            )
        })
    }

    /// The graph of `arch` over every rendered component, and the
    /// components whose facts failed.
    pub fn graph(&self, arch: Arch, jobs: Option<usize>) -> (Graph, Vec<FactsError>) {
        let run = || {
            let (ok, failed) = azldev_build::facts(self.source.as_ref(), &self.inputs, arch);
            // The facts caches are only caches: a failure to write one is
            // a warning, the graph stands.
            if let Err(e) = self.source.flush() {
                eprintln!("warning: cannot write the spec facts cache: {e}");
            }
            // Dynamic BuildRequires (`%generate_buildrequires`) as the
            // components' last builds on this arch resolved them.
            let mut opts = self.opts.clone();
            opts.dynamic = azldev_build::sched::dynamic_records(
                &self.builds_dir.join(arch.rpm()),
                &self.output_dir.join(arch.rpm()),
            )
            .into_iter()
            .map(|(n, r)| (n, r.buildrequires))
            .collect();
            (Graph::build(arch, ok, &opts), failed)
        };
        match jobs.and_then(|j| rayon::ThreadPoolBuilder::new().num_threads(j).build().ok()) {
            Some(pool) => pool.install(run),
            None => run(),
        }
    }

    /// Warn about `bootstrap-prebuilt` entries that match no BuildRequires.
    fn check_bootstrap(&self, graph: &Graph) {
        for (name, cap, loc) in &self.bootstrap_decls {
            let Some(i) = graph.node(name) else { continue };
            let asked = graph.nodes[i]
                .facts
                .buildrequires
                .iter()
                .filter_map(|d| azldev_build::dep::Req::parse(&d.text).ok())
                .any(|r| r.atoms().iter().any(|a| a.name == *cap));
            if !asked {
                eprintln!(
                    "warning: {loc}: `bootstrap-prebuilt` names `{cap}`, which no BuildRequires of {name} asks for on {}",
                    graph.arch
                );
            }
        }
    }
}

/// The selected component names (empty: all).
pub(crate) fn selected(config: &Config, sel: &Selection) -> miette::Result<Vec<String>> {
    let mut names = sel.names.clone();
    for g in &sel.group {
        let groups = &config.merged.component_groups;
        let group = groups.get(g.as_str()).ok_or_else(|| {
            match azldev_config::suggest::closest(g, groups.keys().map(String::as_str)) {
                Some(n) => miette::miette!(help = format!("did you mean `{n}`?"), "no component group `{g}`"),
                None => miette::miette!("no component group `{g}`"),
            }
        })?;
        names.extend(group.value.components.iter().map(|c| c.value.clone()));
    }
    for n in &names {
        if !config.components.contains_key(n) {
            return Err(super::component::unknown_component(config, n));
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

pub fn run(args: &BuildArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let (config, distro) = load_distro(out, settings, &args.graph)?;
    if !args.plan && args.executor == ExecutorChoice::Koji {
        return super::build_koji::build(args, &config, &distro, out, settings);
    }
    if !args.plan {
        return super::build_run::build(args, &config, &distro, out, settings);
    }
    let plans = plans(args, &config, &distro, out, settings)?;
    if let Some(n) = args.simulate {
        return super::build_koji::simulate(args, &plans, n, settings);
    }
    match args.format {
        PlanFormat::Json => {
            let json = if plans.len() == 1 {
                serde_json::to_string_pretty(&plans[0])
            } else {
                serde_json::to_string_pretty(&serde_json::json!({ "plans": plans }))
            }
            .map_err(|e| miette::miette!("{e}"))?;
            println!("{json}");
        }
        PlanFormat::Dot => print!("{}", to_dot(&plans)),
        PlanFormat::Text => {
            for p in &plans {
                print!("{}", to_text(p));
            }
        }
    }
    Ok(if plans.iter().any(Plan::has_problems) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The plan of every selected arch (noarch components shared).
pub(crate) fn plans(
    args: &BuildArgs,
    config: &Config,
    distro: &Distro,
    out: &Output,
    settings: &Settings,
) -> miette::Result<Vec<Plan>> {
    let names = selected(config, &args.select)?;
    let hashes: BTreeMap<&str, String> = distro
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), azldev_build::input_hash(i)))
        .collect();
    let mut plans: Vec<Plan> = Vec::new();
    for arch in args.graph.arch.arches() {
        let asked = distro.rpmspec.asked();
        let ran = distro.rpmspec.runs();
        let (graph, failed) = distro.graph(arch, args.graph.jobs.or(settings.jobs));
        let note = distro.rpmspec_note(arch, distro.rpmspec.asked() - asked);
        if out.verbosity > 0 {
            eprintln!(
                "{arch}: rpmspec asked for {} spec(s), run for {} (the rest from its cache), {}",
                distro.rpmspec.asked() - asked,
                distro.rpmspec.runs() - ran,
                distro.rpmspec.describe(arch)
            );
        }
        if out.verbosity >= 0 {
            distro.check_bootstrap(&graph);
        }
        let mut errors: Vec<azldev_build::PlanError> = distro
            .render_failures
            .iter()
            .map(|(c, e)| azldev_build::PlanError {
                component: c.clone(),
                message: format!("render: {e}"),
            })
            .collect();
        errors.extend(failed.iter().map(|e| azldev_build::PlanError {
            component: e.component(),
            message: e.to_string(),
        }));
        let known: Vec<String> = names
            .iter()
            .filter(|n| graph.node(n).is_some())
            .cloned()
            .collect();
        if !names.is_empty() && known.is_empty() {
            for e in &errors {
                eprintln!("error: {}: {}", e.component, e.message);
            }
            return Err(miette::miette!("none of the named components could be evaluated"));
        }
        let mut plan = graph
            .plan(&known, &|n| hashes.get(n).cloned())
            .map_err(|e| miette::miette!("{e}"))?;
        plan.errors = errors;
        plan.notes.extend(note);
        plans.push(plan);
    }
    share_noarch(&mut plans);
    Ok(plans)
}

/// `azldev diff`'s check: BuildRequires at the head side that name a
/// package this change removes (a removed sub-package, or every package
/// of a removed component named like it) and that nothing in the distro
/// provides any more. Evaluated on the head side's graph for x86_64 (all
/// components rendered in memory, facts from the cache or rpmspec); only
/// run when the diff removes a package. Returns the warning lines.
pub(crate) fn removed_provides_warnings(
    report: &azldev_diff::Report,
    head: &azldev_diff::Side,
    settings: &Settings,
    offline: bool,
    jobs: Option<usize>,
) -> Vec<String> {
    let mut removed: BTreeMap<String, String> = BTreeMap::new();
    for c in &report.components {
        if c.status == azldev_diff::Status::Removed {
            removed.insert(c.name.clone(), c.name.clone());
        }
        for n in &c.notes {
            if let Some(p) = n.strip_prefix("sub-package removed: ") {
                removed.insert(p.trim().to_owned(), c.name.clone());
            }
        }
    }
    if removed.is_empty() {
        return Vec::new();
    }
    let config = head.config();
    let mut ropts = crate::cmd::render::project_options(config);
    ropts.offline = offline || settings.offline;
    ropts.jobs = jobs.or(settings.jobs);
    if let Some(c) = &head.commit {
        ropts.release_history = azldev_render::ReleaseHistory::At(c.clone());
    }
    let distro = match distro_from(config, head.fs(), settings, ropts, Buildroot::Unknown) {
        Ok(d) => d,
        Err(e) => {
            return vec![format!(
                "warning: cannot check what the removed packages provided: {e}"
            )];
        }
    };
    let (graph, _) = distro.graph(Arch::X86_64, jobs.or(settings.jobs));
    unprovided(&graph, &removed)
}

/// BuildRequires in `graph` not satisfied in-distro that name a removed
/// package (`removed`: package → the component it came from).
fn unprovided(graph: &Graph, removed: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for n in &graph.nodes {
        for r in &n.requirements {
            if matches!(
                r.resolution,
                azldev_build::graph::Resolution::InDistro | azldev_build::graph::Resolution::Prebuilt
            ) {
                continue;
            }
            let Ok(req) = azldev_build::dep::Req::parse(&r.text) else {
                continue;
            };
            for a in req.atoms() {
                if let Some(from) = removed.get(&a.name) {
                    let line = r.line.map(|l| format!(" (line {l})")).unwrap_or_default();
                    out.push(format!(
                        "warning: {} BuildRequires `{}`{line}: this change removes {} (from {from}) and nothing else in the distro provides it",
                        n.name, r.text, a.name
                    ));
                }
            }
        }
    }
    out
}

/// `azldev render`'s check: for the components it rewrote, the packages
/// their spec had in the committed tree (git HEAD of the distro
/// repository) and has no more; when there are any, the BuildRequires of
/// the distro as it renders now that named them and that nothing else
/// provides (see [`removed_provides_warnings`]). Nothing when the project
/// is not in a git repository.
pub(crate) fn render_removed_warnings(
    config: &Config,
    report: &azldev_render::Report,
    out_dir: &std::path::Path,
    settings: &Settings,
    offline: bool,
    jobs: Option<usize>,
) -> Vec<String> {
    use azldev_config::fs::Fs as _;
    let rewritten: Vec<&str> = report
        .components
        .iter()
        .filter(|c| c.status == azldev_render::Status::Rendered)
        .map(|c| c.name.as_str())
        .collect();
    if rewritten.is_empty() {
        return Vec::new();
    }
    let Ok(repo) = azldev_diff::DistroRepo::discover(&config.root_dir) else {
        return Vec::new();
    };
    let Ok(head) = repo.resolve("HEAD") else {
        return Vec::new();
    };
    let committed = repo.fs(&head);
    // `%package` lines, to parse only specs where one went away.
    let headers = |bytes: &[u8]| -> Vec<Vec<u8>> {
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"%package"))
            .map(<[u8]>::to_vec)
            .collect()
    };
    let packages = |bytes: &[u8]| -> Vec<String> {
        azldev_spec::Spec::parse(bytes)
            .packages()
            .iter()
            .map(|p| p.name.clone())
            .filter(|n| !n.contains('%'))
            .collect()
    };
    let mut removed: BTreeMap<String, String> = BTreeMap::new();
    for name in rewritten {
        let spec = azldev_render::component_dir(out_dir, name).join(format!("{name}.spec"));
        let (Ok(old), Ok(new)) = (committed.read(&spec), std::fs::read(&spec)) else {
            continue;
        };
        let kept = headers(&new);
        if headers(&old).iter().all(|h| kept.contains(h)) {
            continue;
        }
        let now = packages(&new);
        for p in packages(&old) {
            if !now.contains(&p) {
                removed.insert(p, name.to_owned());
            }
        }
    }
    if removed.is_empty() {
        return Vec::new();
    }
    let mut ropts = crate::cmd::render::project_options(config);
    ropts.offline = offline || settings.offline;
    ropts.jobs = jobs.or(settings.jobs);
    let distro = match distro_from(config, &RealFs, settings, ropts, Buildroot::Unknown) {
        Ok(d) => d,
        Err(e) => {
            return vec![format!(
                "warning: cannot check what the removed packages provided: {e}"
            )];
        }
    };
    let (graph, _) = distro.graph(Arch::X86_64, jobs.or(settings.jobs));
    unprovided(&graph, &removed)
}
