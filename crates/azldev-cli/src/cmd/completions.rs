use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::env::EnvCompleter;

use crate::cli::Cli;

pub fn run(shell: clap_complete::Shell, static_script: bool) -> miette::Result<ExitCode> {
    let mut cmd = Cli::command();
    if static_script {
        clap_complete::generate(shell, &mut cmd, "azldev", &mut std::io::stdout());
        return Ok(ExitCode::SUCCESS);
    }
    let completer: &dyn EnvCompleter = match shell {
        clap_complete::Shell::Bash => &clap_complete::env::Bash,
        clap_complete::Shell::Elvish => &clap_complete::env::Elvish,
        clap_complete::Shell::Fish => &clap_complete::env::Fish,
        clap_complete::Shell::PowerShell => &clap_complete::env::Powershell,
        clap_complete::Shell::Zsh => &clap_complete::env::Zsh,
        other => return Err(miette::miette!("no dynamic completion for {other}; use --static")),
    };
    let mut buf = Vec::new();
    completer
        .write_registration("COMPLETE", "azldev", "azldev", "azldev", &mut buf)
        .map_err(|e| miette::miette!("cannot write the completion script: {e}"))?;
    crate::cmd::config::emit(&String::from_utf8_lossy(&buf))?;
    Ok(ExitCode::SUCCESS)
}
