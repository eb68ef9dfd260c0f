//! One module per subcommand; [`dispatch`] sends a parsed command line to its module.

mod auth;
mod export;
mod import;
mod merge;
mod resume;
mod run_dir;
mod sandbox;
mod signals;
mod undo;

use crate::cli::{Cli, Command};
use crate::error::ExitStatus;

/// Runs the subcommand of `cli`.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Import(args) => import::run(args, false).await,
        Command::Validate(args) => import::run(args.into_import(), true).await,
        Command::Resume(args) => resume::run(args).await,
        Command::Undo(args) => undo::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Merge(args) => merge::run(args).await,
        Command::Auth(args) => auth::run(args).await,
    }
}
