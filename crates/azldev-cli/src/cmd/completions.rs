use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell) -> miette::Result<ExitCode> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "azldev", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
