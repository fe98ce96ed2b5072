//! Argument definitions (clap derive). Every command and flag has help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative overlay compiler for RPM distributions.
#[derive(Debug, Parser)]
#[command(name = "azldev", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,
    /// Print less (repeat for even less).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
    /// Print more (repeat for even more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// When to use colour; `auto` honours NO_COLOR and whether output is a terminal.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Output format of commands that report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReportFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and check RPM spec files.
    #[command(subcommand)]
    Spec(SpecCommand),
    /// Check, dump and describe the distro configuration.
    #[command(subcommand)]
    Config(crate::cmd::config::ConfigCommand),
    /// List, show, add and remove components.
    #[command(subcommand, alias = "comp")]
    Component(crate::cmd::component::ComponentCommand),
    /// Render components into the generated spec tree (pinned upstream →
    /// overlays → build configuration), incrementally and atomically.
    Render(crate::cmd::RenderArgs),
    /// Preview what a change does to the generated specs: render two
    /// revisions of the distro repository in memory and compare them.
    ///
    /// Exit status: 0 no difference, 1 differences, 2 error.
    Diff(crate::cmd::DiffArgs),
    /// Manage the upstream pins in `locks/`.
    #[command(subcommand)]
    Lock(crate::cmd::LockCommand),
    /// Download and verify source files into the local cache.
    #[command(subcommand)]
    Sources(crate::cmd::SourcesCommand),
    /// Buildroots: definitions read from mock configs.
    #[command(subcommand)]
    Buildroot(crate::cmd::buildroot::BuildrootCommand),
    /// Make the toolchain seed (RPMs converted from the host's packages).
    #[command(subcommand)]
    Toolchain(crate::cmd::toolchain::ToolchainCommand),
    /// Build components in dependency order; `--plan` prints the plan
    /// (per-arch build graph, order, cycles, unresolved BuildRequires).
    Build(crate::cmd::BuildArgs),
    /// Ask the build graph: what provides a capability, what a component
    /// requires, what must be rebuilt when one changes.
    #[command(subcommand)]
    Query(crate::cmd::QueryCommand),
    /// Images: list, show, build (root trees, formats, SBOMs) and boot-check them.
    #[command(subcommand)]
    Image(crate::cmd::image::ImageCommand),
    /// The local build repository: sign it.
    #[command(subcommand)]
    Repo(crate::cmd::image::RepoCommand),
    /// Print a shell completion script. The script asks `azldev` for
    /// candidates, so component, group and image names of the project in the
    /// current directory complete too (`--static`: commands and flags only).
    Completions {
        /// The shell to generate completions for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        /// A self-contained script that never runs `azldev` (no names).
        #[arg(long = "static")]
        static_script: bool,
    },
    /// Write man pages generated from the command definitions: `azldev.1`
    /// to standard output, or one page per command into DIR.
    Man(crate::cmd::ManArgs),
    /// The cache: where it is, and removing what failed work left in it.
    #[command(subcommand)]
    Cache(crate::cmd::cache::CacheCommand),
}

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Parse spec files and report structural problems.
    ///
    /// A directory is searched recursively for `*.spec`. Exit status is 0 only
    /// when every file is free of errors.
    Check(SpecCheckArgs),
}

#[derive(Debug, Args)]
pub struct SpecCheckArgs {
    /// Also verify that the syntax tree reproduces each file byte for byte.
    #[arg(long)]
    pub roundtrip: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Spec files or directories to search for `*.spec`.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}
