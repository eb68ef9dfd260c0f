//! zdbulk moves Zendesk Support organizations, users and custom field definitions between
//! spreadsheets (CSV, XLSX) and Zendesk, in 100-item bulk jobs, with a per-row report.
//!
//! Module map:
//! - [`cli`]: the clap command line (raw arguments, no I/O).
//! - [`commands`]: one module per subcommand.
//! - [`error`]: exit codes and the `error:` / `caused by:` printer.
//! - [`input`]: CSV and XLSX readers yielding one row type, and header mapping to API names.
//! - [`sandbox`]: the Zendesk-compatible server used for rehearsals, tests and benchmarks. It
//!   shares no code with the client side; the two speak JSON over HTTP only.

pub mod cli;
pub mod commands;
pub mod error;
pub mod input;
pub mod sandbox;

use error::ExitStatus;

/// Runs one parsed command line and returns the exit status it earned.
pub async fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    commands::dispatch(cli).await
}
