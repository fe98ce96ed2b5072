//! `azldev image boot NAME --arch A [--image-format raw|qcow2|iso]`: the
//! boot check of a disk image or of the live ISO (attached as a CD-ROM).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use azldev_buildroot::arch::Arch;
use azldev_image::boot::{self, BootError, qemu::BootCheck};
use azldev_image::format::Format;
use clap::Args;

use crate::cli::ReportFormat;
use crate::output::Output;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct BootArgs {
    /// The image (a name under `[images]`).
    #[arg(value_name = "NAME", add = clap_complete::engine::ArgValueCandidates::new(crate::complete::images))]
    pub name: String,
    /// Architecture of the image.
    #[arg(long, default_value = "x86_64", value_parser = super::toolchain::parse_arch)]
    pub arch: Arch,
    /// Seconds to wait for the marker.
    #[arg(long, default_value_t = 300, value_name = "S")]
    pub timeout: u64,
    /// The disk image to boot (raw, qcow2 or a live ISO, by its extension);
    /// default: the image's built raw, qcow2 or ISO under the output directory.
    #[arg(long, value_name = "PATH", conflicts_with = "image_format")]
    pub disk: Option<PathBuf>,
    /// Which built artefact to boot: `raw`, `qcow2` or `iso` (the live ISO,
    /// attached as a CD-ROM); default: the first built of raw, qcow2, iso.
    #[arg(long, value_name = "FORMAT", value_parser = ["raw", "qcow2", "iso"])]
    pub image_format: Option<String>,
    /// The console line that means success (default `AZLDEV-BOOT-OK <NAME> <ARCH>`).
    #[arg(long, value_name = "TEXT")]
    pub marker: Option<String>,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub memory: u32,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
}

/// Where `azldev image build` puts an image's bootable artefacts
/// (`<output-dir>/images/<name>/<arch>/`): `only` that format, or raw,
/// qcow2 and the ISO in this order.
fn disk_candidates(output_dir: &Path, name: &str, arch: Arch, only: Option<Format>) -> Vec<PathBuf> {
    let dir = output_dir.join("images").join(name).join(arch.rpm());
    let all = [Format::Raw, Format::Qcow2, Format::Iso];
    let formats: &[Format] = match &only {
        Some(f) => std::slice::from_ref(f),
        None => &all,
    };
    formats
        .iter()
        .map(|f| dir.join(azldev_image::pipeline::artifact_name(name, *f)))
        .collect()
}

pub fn run(args: &BootArgs, out: &Output, _settings: &Settings) -> miette::Result<ExitCode> {
    let loaded = super::config::load_valid_project(out)?;
    let images = &loaded.config.merged.images;
    // Without any image in the configuration, `--disk` still boots a file.
    if !images.is_empty() && !images.contains_key(&args.name) {
        return Err(super::image::unknown_image(&loaded.config, &args.name));
    }
    let dirs = super::toolchain::ProjectDirs::of(&loaded.config);
    let disk = match &args.disk {
        Some(d) => d.clone(),
        None => {
            let only: Option<Format> = match &args.image_format {
                Some(f) => Some(f.parse().map_err(miette::Report::msg)?),
                None => None,
            };
            let candidates = disk_candidates(&dirs.output_dir, &args.name, args.arch, only);
            candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
                miette::miette!(
                    help = format!(
                        "build it with `azldev image build {} --arch {} --image-format {}`, or pass --disk",
                        args.name,
                        args.arch,
                        args.image_format.as_deref().unwrap_or("raw")
                    ),
                    "no built disk of image `{}` for {} (looked for {})",
                    args.name,
                    args.arch,
                    candidates
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?
        }
    };
    let log_dir = dirs
        .log_dir
        .join("boot")
        .join(format!("{}-{}", args.name, args.arch));
    let check = BootCheck {
        disk,
        arch: args.arch,
        marker: args
            .marker
            .clone()
            .unwrap_or_else(|| boot::marker(&args.name, args.arch)),
        timeout: Duration::from_secs(args.timeout),
        log_dir,
        memory_mib: args.memory,
    };
    // Ctrl-C: the check kills qemu and returns.
    let _ = ctrlc::set_handler(azldev_buildroot::run::cancel);
    if out.verbosity >= 0 && args.format == ReportFormat::Text {
        eprintln!(
            "booting {} ({}) under qemu, waiting for `{}` (console: {})",
            check.disk.display(),
            args.arch,
            check.marker,
            check.log_dir.join("console.log").display()
        );
    }
    match check.run() {
        Ok(report) => {
            match args.format {
                ReportFormat::Json => {
                    let mut v = serde_json::to_value(&report).map_err(miette::Report::msg)?;
                    v["passed"] = serde_json::Value::Bool(true);
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&v).map_err(miette::Report::msg)?
                    );
                }
                ReportFormat::Text if out.verbosity >= 0 => println!(
                    "{} {}: booted, `{}` after {:.1}s{}",
                    args.name,
                    args.arch,
                    report.marker,
                    report.marker_seconds,
                    if report.powered_off {
                        ", powered off"
                    } else {
                        " (stopped by azldev)"
                    }
                ),
                ReportFormat::Text => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (BootError::Timeout { .. } | BootError::Panic { .. } | BootError::Stopped { .. })) => {
            if args.format == ReportFormat::Json {
                println!(
                    "{}",
                    serde_json::json!({ "arch": args.arch, "passed": false, "error": e.to_string() })
                );
            }
            eprintln!("{} {}: boot check failed: {e}", args.name, args.arch);
            Ok(ExitCode::from(1))
        }
        Err(BootError::Cancelled) => Err(miette::miette!("interrupted; qemu was stopped")),
        Err(e) => Err(miette::miette!("{e}")),
    }
}
