//! One module per subcommand; [`dispatch`] sends a parsed command line to its module.

mod export;
mod import;
mod resume;
mod run_dir;
mod sandbox;
mod signals;
mod undo;

use crate::cli::{Cli, Command};
use crate::error::{usage_error, ExitStatus};

/// Runs the subcommand of `cli`.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Import(args) => import::run(args, false).await,
        Command::Validate(args) => import::run(args, true).await,
        Command::Resume(args) => resume::run(args).await,
        Command::Undo(args) => undo::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Auth(_) => not_built("auth"),
    }
}

/// Commands of the design that later issues build; they say so and exit 2.
fn not_built(name: &str) -> anyhow::Result<ExitStatus> {
    Err(usage_error(format!("`zdbulk {name}` is not built yet in this version")))
}
