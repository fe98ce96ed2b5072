//! `azldev man`: man pages from the clap definitions (`clap_mangen`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory};

use crate::cli::Cli;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `azldev.1` and one `azldev-COMMAND[-SUB].1` per command into DIR.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

fn page(cmd: &clap::Command) -> miette::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .map_err(|e| miette::miette!("cannot render the man page of {}: {e}", cmd.get_name()))?;
    Ok(buf)
}

/// `cmd` and every subcommand below it; after `build`, clap names them
/// `azldev-render`, `azldev-lock-update`…
fn pages(cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned();
    out.push((name, cmd.clone()));
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        pages(sub, out);
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> miette::Result<()> {
    let tmp = path.with_extension("1.azldev-tmp");
    std::fs::write(&tmp, data).map_err(|e| miette::miette!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        miette::miette!("cannot write {}: {e}", path.display())
    })
}

pub fn run(args: &ManArgs) -> miette::Result<ExitCode> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = &args.out_dir else {
        crate::cmd::config::emit(&String::from_utf8_lossy(&page(&cmd)?))?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|e| miette::miette!("cannot create {}: {e}", dir.display()))?;
    let mut all = Vec::new();
    pages(&cmd, &mut all);
    for (name, c) in &all {
        write_atomic(&dir.join(format!("{name}.1")), &page(c)?)?;
    }
    eprintln!("wrote {} man pages to {}", all.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}
