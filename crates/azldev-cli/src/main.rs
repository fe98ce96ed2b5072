//! `azldev`: the command-line front end. Parses arguments, sets up output,
//! dispatches to a command module and turns its outcome into an exit code.
//! All logic lives in the library crates; this crate only prints.

mod cli;
mod cmd;
mod complete;
mod output;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: rendering thousands of components allocates per file and per
/// line on every core; glibc's allocator spends a tenth of a full render's
/// time in `malloc`/`free` there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status of a command whose output pipe was closed (as for a process
/// killed by SIGPIPE: 128 + 13).
const EXIT_BROKEN_PIPE: i32 = 141;

/// Rust ignores SIGPIPE, so writing to a closed pipe (`azldev … | head -1`)
/// is an error, which `print!` turns into a panic. Every command ends
/// quietly then instead: no message, exit 141.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        let broken = std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string();
        if msg.starts_with("failed printing to std") && (msg.contains("os error 32") || msg.contains(&broken))
        {
            std::process::exit(EXIT_BROKEN_PIPE);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_broken_pipe();
    // `COMPLETE=bash azldev -- …`: the completion script asking for candidates.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command).complete();
    let mut cli = cli::Cli::parse();
    let settings = match settings::Settings::load() {
        Ok(s) => s,
        Err(e) => {
            let out = output::Output::new(&cli.global);
            for d in &e.diagnostics {
                eprint!("{}", out.render(d));
            }
            eprintln!(
                "error: the tool settings have {} problem{}",
                e.diagnostics.len(),
                if e.diagnostics.len() == 1 { "" } else { "s" }
            );
            return ExitCode::from(2);
        }
    };
    azldev_overlay::set_archive_limits(settings.archive);
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
