//! `azldev toolchain seed`: a toolchain seed repository made of RPMs
//! converted from the host distribution's packages.

use std::path::PathBuf;
use std::process::ExitCode;

use azldev_buildroot::arch::Arch;
use azldev_buildroot::seed::{self, SeedOptions};
use clap::{Args, Subcommand};

use crate::cli::ReportFormat;
use crate::output::Output;
use crate::settings::Settings;

/// `azldev toolchain …`
#[derive(Debug, Subcommand)]
pub enum ToolchainCommand {
    /// Make the toolchain seed: the closure of a package set from the host's
    /// Debian archive, each .deb converted into a real RPM, plus a
    /// `filesystem` package, as one createrepo_c repository per arch.
    ///
    /// Pinned by `<lock-dir>/seed-<arch>.lock`; cached by content (a second
    /// run with the same inputs does nothing).
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Architecture of the seed.
    #[arg(long, default_value = "x86_64", value_parser = parse_arch)]
    pub arch: Arch,
    /// Output repository (default: `<project>/build/seed/<arch>`).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Re-resolve the package set (newest versions the archive serves) and
    /// rewrite the lock.
    #[arg(long)]
    pub update: bool,
    /// Packages to request (comma-separated or repeated); implies --update.
    #[arg(long, value_delimiter = ',', value_name = "PKG")]
    pub include: Option<Vec<String>>,
    /// Debian mirror (default: the lock's, else http://deb.debian.org/debian).
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Debian suite (default: the lock's, else the host's codename).
    #[arg(long, value_name = "SUITE")]
    pub suite: Option<String>,
    /// Conversions at once (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

pub(crate) fn parse_arch(s: &str) -> Result<Arch, String> {
    s.parse()
}

/// The project's directories, each relative to the file that set it.
#[derive(Debug, Clone)]
pub(crate) struct ProjectDirs {
    pub root: PathBuf,
    pub lock_dir: PathBuf,
    pub log_dir: PathBuf,
    #[allow(dead_code, reason = "the build stage's scratch directory; not read yet")]
    pub work_dir: PathBuf,
    pub output_dir: PathBuf,
}

impl ProjectDirs {
    pub fn of(config: &azldev_config::Config) -> ProjectDirs {
        let p = &config.merged.project;
        let root = config.root_dir.clone();
        let dir = |v: &Option<azldev_config::span::Sp<String>>, default: &str| {
            v.as_ref().map_or_else(
                || root.join(default),
                |d| config.files.dir_of(&d.loc).join(&d.value),
            )
        };
        ProjectDirs {
            lock_dir: dir(&p.lock_dir, "locks"),
            log_dir: dir(&p.log_dir, "build/logs"),
            work_dir: dir(&p.work_dir, "build/work"),
            output_dir: dir(&p.output_dir, "out"),
            root,
        }
    }

    /// The default seed repository of an arch.
    pub fn seed_repo(&self, arch: Arch) -> PathBuf {
        self.root.join("build/seed").join(arch.rpm())
    }
}

pub fn run(cmd: &ToolchainCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match cmd {
        ToolchainCommand::Seed(args) => seed_cmd(args, out, settings),
    }
}

fn seed_cmd(args: &SeedArgs, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    let loaded = super::config::load_valid_project(out)?;
    let dirs = ProjectDirs::of(&loaded.config);
    let opts = SeedOptions {
        arch: args.arch,
        lock_path: dirs.lock_dir.join(format!("seed-{}.lock", args.arch)),
        out_dir: args.output.clone().unwrap_or_else(|| dirs.seed_repo(args.arch)),
        cache_dir: settings.cache_root(),
        log_dir: dirs.log_dir.clone(),
        update: args.update || args.include.is_some(),
        include: args.include.clone(),
        mirror: args.mirror.clone(),
        suite: args.suite.clone(),
        jobs: args
            .jobs
            .or(settings.jobs)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
    };
    if out.verbosity >= 0 && args.format == ReportFormat::Text {
        eprintln!(
            "seeding {} from Debian packages (logs: {})",
            args.arch,
            dirs.log_dir.join(format!("seed-{}", args.arch)).display()
        );
    }
    let report = seed::seed(&opts).map_err(|e| miette::miette!("{e}"))?;
    match args.format {
        ReportFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(miette::Report::msg)?
            );
        }
        ReportFormat::Text if out.verbosity >= 0 => {
            if report.up_to_date {
                println!(
                    "{}: seed up to date ({} packages) in {} [{:.1}s]",
                    report.arch,
                    report.packages,
                    report.repository.display(),
                    report.seconds
                );
            } else {
                println!(
                    "{}: seed of {} RPMs ({} converted, {} cached{}) in {} [{:.1}s]",
                    report.arch,
                    report.packages,
                    report.converted,
                    report.cached,
                    if report.resolved { ", lock re-resolved" } else { "" },
                    report.repository.display(),
                    report.seconds
                );
            }
        }
        ReportFormat::Text => {}
    }
    Ok(ExitCode::SUCCESS)
}
