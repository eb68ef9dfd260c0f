//! zdbulk moves Zendesk Support organizations, users and custom field definitions between
//! spreadsheets (CSV, XLSX) and Zendesk, in 100-item bulk jobs, with a per-row report.
//!
//! Module map:
//! - [`cli`]: the clap command line (raw arguments, no I/O).
//! - [`commands`]: one module per subcommand.
//! - [`env`]: every environment variable name as a documented constant.
//! - [`error`]: exit codes and the `error:` / `caused by:` printer.
//! - [`pipeline`]: the import pipeline: plan, batch, submit, poll, reconcile, journal.
//! - [`progress`]: the progress display (the only indicatif user).
//! - [`output`]: the run directory: report.csv, failed rows, summary.json.
//! - [`settings`]: the target account and credentials, resolved from flags and environment.
//! - [`schema`]: custom field definitions and the checks of cells and rows against them.
//! - [`input`]: CSV and XLSX readers yielding one row type, and header mapping to API names.
//! - [`resource`]: what differs per resource (organizations, users, memberships).
//! - [`port`]: the pipeline's port to Zendesk, implemented with the client.
//! - the sandbox, the Zendesk-compatible server used for rehearsals, tests and benchmarks, is
//!   the `zdbulk-sandbox` crate (`crates/zdbulk-sandbox`); `--sandbox` and `zdbulk sandbox` start
//!   it in-process. It shares no code with the client side; the two speak JSON over HTTP only.
//! - [`zendesk`]: the Zendesk API client (auth, retries, rate limits, models, resources).

pub mod cli;
pub mod commands;
pub mod env;
pub mod error;
pub mod input;
pub mod output;
pub mod pipeline;
pub mod port;
pub mod progress;
pub mod resource;
pub mod schema;
pub mod settings;
pub mod zendesk;

use error::ExitStatus;

/// Runs one parsed command line and returns the exit status it earned.
pub async fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    commands::dispatch(cli).await
}
