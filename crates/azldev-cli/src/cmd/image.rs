//! `azldev image …`: the image stage.

use std::process::ExitCode;

use clap::Subcommand;

use crate::output::Output;
use crate::settings::Settings;

/// `azldev image …`
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Boot an image's disk under qemu-system (TCG; OVMF for x86_64, AAVMF
    /// for aarch64) and wait for its marker on the serial console.
    ///
    /// Exit status: 0 the marker came, 1 it did not (timeout, kernel panic,
    /// the machine stopped), 2 error.
    Boot(super::image_boot::BootArgs),
}

pub fn run(cmd: &ImageCommand, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match cmd {
        ImageCommand::Boot(args) => super::image_boot::run(args, out, settings),
    }
}
