//! One module per top-level command. Each returns the process exit code, or a
//! fatal error that `main` renders as a miette report (exit 2).

pub(crate) mod build;
mod build_koji;
mod build_run;
pub(crate) mod buildroot;
pub(crate) mod cache;
mod completions;
pub(crate) mod component;
pub(crate) mod config;
mod diff;
pub(crate) mod image;
mod image_boot;
mod man;
mod query;
pub(crate) mod render;
mod sources;
mod spec;
pub(crate) mod toolchain;

use std::process::ExitCode;

use crate::cli::Command;
use crate::output::Output;
use crate::settings::Settings;
pub(crate) use build::BuildArgs;
pub(crate) use diff::DiffArgs;
pub(crate) use man::ManArgs;
pub(crate) use query::QueryCommand;
pub(crate) use render::{LockCommand, RenderArgs};
pub(crate) use sources::SourcesCommand;

pub fn run(command: Command, out: &Output, settings: &Settings) -> miette::Result<ExitCode> {
    match command {
        Command::Spec(cmd) => spec::run(cmd, out),
        Command::Config(cmd) => config::run(cmd, out),
        Command::Component(component::ComponentCommand::Render(args)) => render::render(&args, out, settings),
        Command::Component(component::ComponentCommand::Outdated(mut args)) => {
            args.dry_run = true;
            render::lock_update(&args, true, out, settings)
        }
        Command::Component(cmd) => component::run(cmd, out, settings),
        Command::Render(args) => render::render(&args, out, settings),
        Command::Lock(cmd) => render::lock(&cmd, out, settings),
        Command::Diff(args) => diff::run(&args, out, settings),
        Command::Sources(cmd) => sources::run(&cmd, out, settings),
        Command::Toolchain(cmd) => toolchain::run(&cmd, out, settings),
        Command::Build(args) => build::run(&args, out, settings),
        Command::Query(cmd) => query::run(&cmd, out, settings),
        Command::Completions { shell, static_script } => completions::run(shell, static_script),
        Command::Man(args) => man::run(&args),
        Command::Cache(cmd) => cache::run(&cmd, out, settings),
        Command::Buildroot(cmd) => buildroot::run(&cmd, out, settings),
        Command::Image(cmd) => image::run(&cmd, out, settings),
        Command::Repo(cmd) => image::run_repo(&cmd, out),
    }
}
