//! `azldev`: the command-line front end. Parses arguments, sets up output,
//! dispatches to a command module and turns its outcome into an exit code.
//! All logic lives in the library crates; this crate only prints.

mod cli;
mod cmd;
mod output;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: rendering thousands of components allocates per file and per
/// line on every core; glibc's allocator spends a tenth of a full render's
/// time in `malloc`/`free` there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut cli = cli::Cli::parse();
    let settings = match settings::Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    cli.global.color = settings.color(cli.global.color);
    let out = output::Output::new(&cli.global);
    if let Some(dir) = &cli.global.directory
        && let Err(err) = std::env::set_current_dir(dir)
    {
        out.fatal(&miette::miette!(
            "cannot change to directory {}: {err}",
            dir.display()
        ));
        return ExitCode::from(2);
    }
    match cmd::run(cli.command, &out, &settings) {
        Ok(code) => code,
        Err(report) => {
            out.fatal(&report);
            ExitCode::from(2)
        }
    }
}
