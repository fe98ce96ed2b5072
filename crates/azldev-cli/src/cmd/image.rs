//! `azldev image list|show|build` (`image boot`: `image_boot.rs`) and `azldev repo sign`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use azldev_buildroot::arch::Arch;
use azldev_buildroot::base::RepoSpec;
use azldev_config::Config;
use azldev_image::desc::{DescError, Description, ImageEntry, ImageSpec};
use azldev_image::format::Format;
use azldev_image::pipeline::{self, BoxError, BuildRequest, ImageReport};
use clap::{Args, Subcommand};

use crate::cli::ReportFormat;
use crate::cmd::buildroot::{Which, base_spec, load_definition, select_version};
use crate::cmd::config::emit;
use crate::cmd::toolchain::ProjectDirs;
use crate::output::Output;
use crate::settings::Settings;

/// `azldev image …`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List the images the distro defines.
    List(ListArgs),
    /// Show an image's description resolved for an architecture: packages,
    /// formats, users, files, scripts, container settings, each with the
    /// file:line:column that set it.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
    /// Build an image: a root tree installed with dnf from the distro's
    /// repositories and the local build repository, written in each format,
    /// with a package manifest, an SPDX SBOM and a size report beside it.
    /// Cached by content: a second run with the same inputs does nothing.
    #[command(disable_version_flag = true)]
    Build(BuildArgs),
    /// Boot an image's disk under qemu-system (TCG; OVMF for x86_64, AAVMF
    /// for aarch64) and wait for its marker on the serial console.
    ///
    /// A live ISO (`--image-format iso`) is attached as a CD-ROM.
    ///
    /// Exit status: 0 the marker came, 1 it did not (timeout, kernel panic,
    /// the machine stopped), 2 error.
    Boot(super::image_boot::BootArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The image.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::complete::images))]
    pub name: String,
    /// Target architecture: x86_64, aarch64 or all (default: the host's).
    #[arg(long, value_name = "ARCH", value_parser = ["x86_64", "aarch64", "all"])]
    pub arch: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The image.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::complete::images))]
    pub name: String,
    /// Target architecture: x86_64, aarch64 or all (default: the host's).
    #[arg(long, value_name = "ARCH", value_parser = ["x86_64", "aarch64", "all"])]
    pub arch: Option<String>,
    /// Write only these formats (default: every format the description lists).
    #[arg(long = "image-format", value_name = "F")]
    pub image_format: Vec<String>,
    /// Output directory (default: `<output-dir>/images`); the image goes to
    /// `DIR/<image>/<arch>/`.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Build even when the cached image is current.
    #[arg(long)]
    pub rebuild: bool,
    #[command(flatten)]
    pub which: Which,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// `azldev repo …`
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Sign the local build repository: every RPM with `rpmsign --addsign`,
    /// the metadata regenerated, and `repodata/repomd.xml.asc` (a detached
    /// armored signature). The key is `--key`, a GnuPG key of the signing
    /// user's keyring (`GNUPGHOME` is honoured), else the project's
    /// `[project.signing]` (`key`, or `key-file`: an armored secret key in
    /// the project). Reproducible: each signature is
    /// made at `SOURCE_DATE_EPOCH` when set, else at its RPM's build time
    /// (`repomd.xml`: the newest), never before the key's creation.
    #[command(disable_version_flag = true)]
    Sign(SignArgs),
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Architecture: x86_64, aarch64 or all (default: all).
    #[arg(long, value_name = "ARCH", value_parser = ["x86_64", "aarch64", "all"])]
    pub arch: Option<String>,
    /// The GnuPG key (id, fingerprint or user id); overrides the project's
    /// `[project.signing]` (`key` or `key-file`).
    #[arg(long, env = "AZLDEV_SIGNING_KEY", value_name = "KEY")]
    pub key: Option<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

pub fn run(cmd: &ImageCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match cmd {
        ImageCommand::List(args) => list(args, out),
        ImageCommand::Show(args) => show(args, out),
        ImageCommand::Build(args) => build(args, out, settings),
        ImageCommand::Boot(args) => super::image_boot::run(args, out, settings),
    }
}

pub fn run_repo(cmd: &RepoCommand, out: &Output) -> miette::Result<ExitCode> {
    match cmd {
        RepoCommand::Sign(args) => sign(args, out),
    }
}

fn arches(arg: Option<&str>) -> miette::Result<Vec<Arch>> {
    Ok(match arg {
        Some("all") => Arch::ALL.to_vec(),
        Some(a) => vec![a.parse::<Arch>().map_err(miette::Report::msg)?],
        None => vec![Arch::host().unwrap_or(Arch::X86_64)],
    })
}

/// `no image named NAME`, with the nearest name as help.
pub(crate) fn unknown_image(config: &Config, name: &str) -> miette::Report {
    let names = config.merged.images.keys().map(String::as_str);
    match azldev_config::suggest::closest(name, names) {
        Some(n) => miette::miette!(help = format!("did you mean `{n}`?"), "no image named `{name}`"),
        None => miette::miette!(
            help = "`azldev image list` shows the images",
            "no image named `{name}`"
        ),
    }
}

/// `[images.NAME]` as the image crate reads it.
fn entry(config: &Config, name: &str) -> miette::Result<ImageEntry> {
    let Some(img) = config.merged.images.get(name) else {
        return Err(unknown_image(config, name));
    };
    let declared_at = config.files.describe(&img.loc);
    let Some(def) = &img.value.definition else {
        return Err(miette::miette!(
            help = "add `definition = { type = \"toml\", path = \"NAME.image.toml\" }` (or type = \"kiwi\")",
            "image `{name}` ({declared_at}) has no definition"
        ));
    };
    let kind = def
        .value
        .kind
        .as_ref()
        .map_or_else(|| "kiwi".to_owned(), |k| k.value.clone());
    let Some(path) = &def.value.path else {
        return Err(miette::miette!(
            "image `{name}`: the definition at {} has no `path`",
            config.files.describe(&def.loc)
        ));
    };
    let package_groups = config
        .merged
        .package_groups
        .iter()
        .map(|(k, g)| {
            (
                k.clone(),
                g.value.packages.iter().map(|p| p.value.clone()).collect(),
            )
        })
        .collect();
    Ok(ImageEntry {
        name: name.to_owned(),
        description: img.value.description.as_ref().map(|d| d.value.clone()),
        kind,
        path: config.files.dir_of(&path.loc).join(&path.value),
        profile: def.value.profile.as_ref().map(|p| p.value.clone()),
        declared_at,
        display_root: config.root_dir.clone(),
        package_groups,
    })
}

/// Loads a description; an invalid one prints its problems (exit 1).
fn load(config: &Config, name: &str) -> miette::Result<Result<(ImageEntry, Description), ExitCode>> {
    let e = entry(config, name)?;
    match Description::load(&e) {
        Ok(d) => Ok(Ok((e, d))),
        Err(DescError::Invalid { image, problems }) => {
            for p in &problems {
                eprintln!("{:?}", miette::Report::new(p.clone()));
            }
            eprintln!(
                "error: the description of image `{image}` has {} problem{}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            Ok(Err(ExitCode::from(1)))
        }
        Err(e) => Err(miette::Report::new(e)),
    }
}

fn project(out: &Output) -> miette::Result<Result<Config, ExitCode>> {
    let loaded = super::config::load_valid_project(out)?;
    Ok(Ok(loaded.config))
}

fn list(args: &ListArgs, out: &Output) -> miette::Result<ExitCode> {
    let config = match project(out)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let mut rows = Vec::new();
    for name in config.merged.images.keys() {
        let e = entry(&config, name)?;
        rows.push(serde_json::json!({
            "name": name,
            "description": e.description,
            "type": e.kind,
            "definition": e.path.strip_prefix(&config.root_dir).unwrap_or(&e.path),
            "profile": e.profile,
            "declared-at": e.declared_at,
        }));
    }
    match args.format {
        ReportFormat::Json => emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "images": rows }))
                .map_err(miette::Report::msg)?
        ))?,
        ReportFormat::Text => {
            let mut s = String::new();
            if rows.is_empty() {
                s.push_str("no images\n");
            }
            // Columns as wide as their widest cell.
            let cells: Vec<[String; 4]> = rows
                .iter()
                .map(|r| {
                    let str_of = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                    let profile = r["profile"]
                        .as_str()
                        .map(|p| format!(" (profile {p})"))
                        .unwrap_or_default();
                    [
                        str_of("name"),
                        str_of("type"),
                        format!("{}{profile}", str_of("definition")),
                        str_of("description"),
                    ]
                })
                .collect();
            let width = |i: usize| cells.iter().map(|c| c[i].chars().count()).max().unwrap_or(0);
            let (w0, w1, w2) = (width(0), width(1), width(2));
            for [name, kind, def, desc] in &cells {
                let _ = writeln!(s, "{name:w0$}  {kind:w1$}  {def:w2$}  {desc}");
            }
            emit(&s)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_text(s: &ImageSpec) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "image {} ({}){}",
        s.name,
        s.arch,
        s.description
            .as_ref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        t,
        "  definition: {} {}{} (declared at {})",
        s.kind,
        s.definition,
        s.profile
            .as_ref()
            .map(|p| format!(", profile {p}"))
            .unwrap_or_default(),
        s.declared_at
    );
    let list = |t: &mut String, title: &str, items: Vec<(String, &str)>| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(t, "  {title} ({}):", items.len());
        for (v, from) in items {
            let _ = writeln!(t, "    {v:40} {from}");
        }
    };
    list(
        &mut t,
        "formats",
        s.formats
            .iter()
            .map(|f| (f.value.to_string(), f.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "bootstrap packages",
        s.bootstrap_packages
            .iter()
            .map(|p| (p.value.clone(), p.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "packages",
        s.packages
            .iter()
            .map(|p| (p.value.clone(), p.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "removed packages",
        s.remove_packages
            .iter()
            .map(|p| (p.value.clone(), p.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "users",
        s.users
            .iter()
            .map(|u| (u.value.name.clone(), u.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "files",
        s.files
            .iter()
            .map(|f| (f.value.path.clone(), f.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "services",
        s.services
            .iter()
            .map(|f| (f.value.clone(), f.from.as_str()))
            .collect(),
    );
    list(
        &mut t,
        "scripts",
        s.scripts
            .iter()
            .map(|f| {
                (
                    f.value
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    f.from.as_str(),
                )
            })
            .collect(),
    );
    let mut single = Vec::new();
    if let Some(c) = &s.kernel_cmdline {
        single.push(("kernel command line".to_owned(), c.value.clone(), c.from.as_str()));
    }
    if let Some(r) = &s.root_filesystem {
        single.push((
            "root filesystem".to_owned(),
            serde_json::to_value(r.value)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            r.from.as_str(),
        ));
    }
    if let Some(d) = &s.disk_size {
        single.push((
            "disk size".to_owned(),
            azldev_image::artifacts::human(d.value),
            d.from.as_str(),
        ));
    }
    if let Some(d) = &s.esp_size {
        single.push((
            "ESP size".to_owned(),
            azldev_image::artifacts::human(d.value),
            d.from.as_str(),
        ));
    }
    if let Some(i) = &s.initrd {
        let v = &i.value;
        let mut desc = serde_json::to_value(v.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_owned))
            .unwrap_or_default();
        if !v.modules.is_empty() {
            let _ = write!(desc, ", modules {}", v.modules.join(" "));
        }
        if !v.programs.is_empty() {
            let _ = write!(desc, ", programs {}", v.programs.join(" "));
        }
        if let Some(init) = &v.init {
            let _ = write!(desc, ", init {init}");
        }
        single.push(("initrd".to_owned(), desc, i.from.as_str()));
    }
    if let Some(b) = &s.size_budget {
        single.push((
            "size budget".to_owned(),
            azldev_image::artifacts::human(b.value),
            b.from.as_str(),
        ));
    }
    if let Some(c) = &s.container {
        let v = &c.value;
        let mut desc = format!(
            "{}:{}",
            v.name.as_deref().unwrap_or(&s.name),
            v.tag.as_deref().unwrap_or("latest")
        );
        if !v.entrypoint.is_empty() {
            let _ = write!(desc, " entrypoint {:?}", v.entrypoint);
        }
        if !v.cmd.is_empty() {
            let _ = write!(desc, " cmd {:?}", v.cmd);
        }
        single.push(("container".to_owned(), desc, c.from.as_str()));
    }
    for (k, v) in &s.settings {
        single.push((k.clone(), v.value.clone(), v.from.as_str()));
    }
    for r in &s.repositories {
        single.push((
            format!("repository {}", r.value.alias.as_deref().unwrap_or("")),
            format!(
                "{} (not used: azldev installs from the distro's repositories)",
                r.value.source
            ),
            r.from.as_str(),
        ));
    }
    for (k, v, from) in single {
        let _ = writeln!(t, "  {k}: {v}  ({from})");
    }
    t
}

fn show(args: &ShowArgs, out: &Output) -> miette::Result<ExitCode> {
    let config = match project(out)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (_, desc) = match load(&config, &args.name)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let specs: Vec<ImageSpec> = arches(args.arch.as_deref())?
        .into_iter()
        .map(|a| desc.resolve(a))
        .collect();
    match args.format {
        ReportFormat::Json => {
            let v = if specs.len() == 1 {
                serde_json::to_value(&specs[0])
            } else {
                serde_json::to_value(&specs)
            }
            .map_err(miette::Report::msg)?;
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?
            ))?;
        }
        ReportFormat::Text => emit(&specs.iter().map(show_text).collect::<Vec<_>>().join("\n"))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn write_format(
    f: Format,
    input: &azldev_image::format::FormatInput<'_>,
    out: &Path,
) -> Result<azldev_image::format::Artifact, BoxError> {
    azldev_image::format::write(f, input, out).map_err(|e| Box::new(e) as BoxError)
}

/// The ESP tree of disk formats: systemd-boot, the root's kernel and an
/// initramfs (`boot::esp`): azldev's minimal one mounting the root partition
/// (`root=PARTUUID=…` from the seed) and switching to the description's
/// `init`, or the root itself with `[initrd] kind = "root"` (and always
/// for an ISO).
fn make_esp(
    root: &Path,
    spec: &ImageSpec,
    sde: i64,
    seed: &[u8; 32],
    format: Format,
    scratch: &Path,
) -> Result<azldev_image::pipeline::EspTree, BoxError> {
    let out = scratch.join("esp");
    let ids = azldev_image::format::disk_ids(seed);
    let initrd = spec.initrd.as_ref().map(|i| i.value.clone()).unwrap_or_default();
    let mut root_fs = spec.root_filesystem.as_ref().map(|r| r.value).unwrap_or_default();
    let root_device = if format == Format::Iso {
        // The ISO has no root partition: its root is /LiveOS/squashfs.img
        // on the medium its volume id names.
        root_fs = azldev_image::format::RootFs::Squashfs;
        format!("live:LABEL={}", azldev_image::format::iso_volume_id(&spec.name))
    } else {
        format!("PARTUUID={}", ids.root_partuuid)
    };
    let rep = azldev_image::boot::esp::write(
        &azldev_image::boot::esp::EspInput {
            root,
            name: &spec.name,
            arch: spec.arch,
            cmdline: spec.kernel_cmdline.as_ref().map_or("", |c| c.value.as_str()),
            init: spec.init.as_ref().map_or("/sbin/init", |i| i.value.as_str()),
            initrd: &initrd,
            root_fs,
            root_device: &root_device,
            extra: BTreeMap::new(),
            source_date_epoch: sde,
        },
        &out,
    )
    .map_err(|e| Box::new(e) as BoxError)?;
    Ok(azldev_image::pipeline::EspTree {
        dir: out,
        initrd_size: Some(rep.initrd_bytes),
    })
}

fn build(args: &BuildArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let config = match project(out)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (entry, desc) = match load(&config, &args.name)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let mut formats_override = Vec::new();
    for f in &args.image_format {
        let f: Format = f.parse().map_err(miette::Report::msg)?;
        if !formats_override.contains(&f) {
            formats_override.push(f);
        }
    }
    let dirs = ProjectDirs::of(&config);
    let out_root = args
        .output
        .clone()
        .unwrap_or_else(|| dirs.output_dir.join("images"));
    let (distro, _) = select_version(
        &config,
        args.which.distro.as_deref(),
        args.which.version.as_deref(),
    )?;
    let _ = settings;
    let mut reports: Vec<ImageReport> = Vec::new();
    let wanted = arches(args.arch.as_deref())?;
    for arch in wanted {
        if !desc.arches().contains(&arch) {
            return Err(miette::miette!(
                "image `{}` is not built for {arch} (its description limits it to {})",
                args.name,
                desc.arches()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let spec = desc.resolve(arch);
        let formats: Vec<Format> = if formats_override.is_empty() {
            spec.formats.iter().map(|f| f.value).collect()
        } else {
            formats_override.clone()
        };
        let def = load_definition(
            &config,
            arch,
            args.which.distro.as_deref(),
            args.which.version.as_deref(),
        )?;
        let base = base_spec(&def, &config)?;
        let mut repos = base.repos.clone();
        let local = dirs.output_dir.join(arch.rpm());
        let has_local = local.join("repodata/repomd.xml").is_file();
        if has_local {
            repos.push(RepoSpec {
                id: "azldev-local".into(),
                baseurl: vec![format!("file://{}", local.display())],
                gpgcheck: false,
                options: BTreeMap::from([("cost".to_owned(), "500".to_owned())]),
            });
        }
        let req = BuildRequest {
            spec: &spec,
            inputs: desc.inputs(),
            definition_path: &entry.path,
            repos,
            releasever: base.releasever.clone(),
            dnf_main: base.dnf_main.clone(),
            formats,
            out_dir: out_root.join(&args.name).join(arch.rpm()),
            work_dir: dirs.work_dir.join("image"),
            log_dir: dirs.log_dir.join("image"),
            distro: distro.clone(),
            writer: &write_format,
            esp: Some(&make_esp),
            rebuild: args.rebuild,
        };
        let r = match pipeline::build(&req) {
            Ok(r) => r,
            // A found problem, not a failure to work: exit 1.
            Err(e @ pipeline::ImageError::OverBudget(_)) => {
                eprintln!("{:?}", miette::Report::new(e));
                return Ok(ExitCode::from(1));
            }
            Err(e @ pipeline::ImageError::Root(azldev_image::root::RootError::Install { .. }))
                if !has_local =>
            {
                return Err(miette::Report::new(e).wrap_err(format!(
                    "there is no local build repository at {}: build the distro's packages first \
                     (`azldev build -a --arch {arch}`)",
                    local.display()
                )));
            }
            Err(e) => return Err(miette::Report::new(e)),
        };
        if args.format == ReportFormat::Text && out.verbosity >= 0 {
            let mut s = format!(
                "{} ({}): {} {} packages, root {}{}\n",
                r.image,
                r.arch,
                if r.status == "cached" {
                    "cached;".to_owned()
                } else {
                    format!("built in {:.1}s;", r.seconds)
                },
                r.packages,
                azldev_image::artifacts::human(r.root_size),
                r.size_budget
                    .map(|b| format!(" (budget {})", azldev_image::artifacts::human(b)))
                    .unwrap_or_default()
            );
            if let Some(n) = r.initrd_size {
                s.insert_str(
                    s.len() - 1,
                    &format!(", initramfs {}", azldev_image::artifacts::human(n)),
                );
            }
            if let Some(n) = r.iso_initrd_size {
                s.insert_str(
                    s.len() - 1,
                    &format!(", ISO initramfs {}", azldev_image::artifacts::human(n)),
                );
            }
            for a in &r.artifacts {
                let _ = writeln!(
                    s,
                    "  {:12} {}  sha256:{}",
                    a.format.to_string(),
                    a.path.display(),
                    a.sha256
                );
            }
            for f in &r.release_files {
                let _ = writeln!(s, "  {:12} {}  sha256:{}", f.kind, f.path.display(), f.sha256);
            }
            emit(&s)?;
        }
        reports.push(r);
    }
    if args.format == ReportFormat::Json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "images": reports }))
                .map_err(miette::Report::msg)?
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `SOURCE_DATE_EPOCH` when set: the time of every signature.
fn source_date_epoch() -> miette::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<i64>().map(Some).map_err(|_| {
            miette::miette!("SOURCE_DATE_EPOCH must be a number of seconds since 1970, not `{v}`")
        }),
        _ => Ok(None),
    }
}

fn sign(args: &SignArgs, out: &Output) -> miette::Result<ExitCode> {
    let config = match project(out)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let dirs = ProjectDirs::of(&config);
    // `--key` (or AZLDEV_SIGNING_KEY), else the project's key.
    let configured = config.signing_key();
    let (key, from_config) = match (&args.key, &configured) {
        (Some(k), _) if !k.trim().is_empty() => (azldev_image::sign::Key::Keyring(k.trim()), None),
        (_, Some(c)) => (
            match &c.key {
                azldev_config::signing::SigningKey::Keyring(k) => azldev_image::sign::Key::Keyring(k),
                azldev_config::signing::SigningKey::File(f) => azldev_image::sign::Key::File(f),
            },
            Some(config.describe(&c.loc)),
        ),
        _ => {
            return Err(miette::miette!(
                help = "give --key KEY (or AZLDEV_SIGNING_KEY), or name it in distro.toml:\n  \
                        [project.signing]\n  key = \"KEY\"          # id, fingerprint or user id in your keyring\n  \
                        # key-file = \"keys/signing.asc\"   # or an armored secret key in the project",
                "no signing key"
            ));
        }
    };
    let wanted = match args.arch.as_deref() {
        None | Some("all") => Arch::ALL.to_vec(),
        Some(a) => vec![a.parse::<Arch>().map_err(miette::Report::msg)?],
    };
    let mut done = Vec::new();
    for arch in wanted {
        let repo = dirs.output_dir.join(arch.rpm());
        if !repo.join("repodata/repomd.xml").is_file() {
            if args.arch.is_some() && args.arch.as_deref() != Some("all") {
                return Err(miette::miette!(
                    help = "build first: azldev build -a --arch {arch}",
                    "no local repository at {}",
                    repo.display()
                ));
            }
            continue;
        }
        let log = dirs.log_dir.join(format!("sign-{arch}.log"));
        let r = azldev_image::sign::sign_repo_with(&repo, key, &log, source_date_epoch()?).map_err(|e| {
            let r = miette::Report::new(e);
            match &from_config {
                Some(at) => r.wrap_err(format!("signing with the key configured at {at}")),
                None => r,
            }
        })?;
        if args.format == ReportFormat::Text && out.verbosity >= 0 {
            println!(
                "{arch}: signed {} RPMs ({} already signed) and {}",
                r.signed,
                r.already,
                r.signature.display()
            );
        }
        done.push(serde_json::json!({
            "arch": arch,
            "repository": repo,
            "signed": r.signed,
            "already-signed": r.already,
            "signature": r.signature,
            "time": r.time,
        }));
    }
    if args.format == ReportFormat::Json {
        emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "repositories": done }))
                .map_err(miette::Report::msg)?
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
