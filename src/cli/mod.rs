//! The command line, as clap parses it: raw arguments only, no I/O and no resolution.
//!
//! Commands turn these `*Args` into validated settings before doing anything.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};

mod examples;
use examples::*;

/// Move Zendesk Support organizations, users and custom fields between CSV/XLSX and Zendesk.
///
/// Exit codes: 0 every row succeeded; 1 the run finished but some rows failed or were invalid
/// (the report says which); 2 usage, configuration or input-file error, nothing written;
/// 3 the API could not be used (auth, permission, retries exhausted); 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "zdbulk", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Whether the command asked for `--json`: then every exit prints one JSON document on
    /// stdout, errors included.
    pub fn wants_json(&self) -> bool {
        match &self.command {
            Command::Import(a) => a.json,
            Command::Validate(a) => a.json,
            Command::Resume(a) => a.json,
            Command::Undo(a) => a.json,
            Command::Merge(a) => a.json,
            Command::Export(a) => a.json,
            _ => false,
        }
    }
}

/// The subcommands of `design.md` §1.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a CSV or XLSX file into Zendesk in 100-row bulk jobs.
    #[command(after_long_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Check a file against the account's (or an exported) field definitions; write nothing.
    #[command(after_long_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Finish an interrupted run without creating duplicates.
    #[command(after_long_help = RESUME_EXAMPLES)]
    Resume(RunDirArgs),
    /// Delete what an import run created, and list (or restore) what it updated.
    #[command(after_long_help = UNDO_EXAMPLES)]
    Undo(UndoArgs),
    /// Export records to CSV or XLSX, custom fields as columns, in the form import reads.
    #[command(after_long_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Merge duplicate organizations in bulk from a reviewed file of pairs (irreversible).
    #[command(after_long_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Log in with OAuth, or manage the stored token.
    #[command(after_long_help = AUTH_EXAMPLES)]
    Auth(AuthArgs),
    /// Run a local Zendesk-compatible server to rehearse against.
    #[command(after_long_help = SANDBOX_EXAMPLES)]
    Sandbox(SandboxArgs),
}

/// What `zdbulk merge` merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeResource {
    /// Organizations (`POST organizations/{id}/merge`).
    Organizations,
}

/// Arguments of `merge`; the journal keeps them (`zdbulk resume` finishes a merge run).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct MergeArgs {
    /// What to merge.
    #[arg(value_enum)]
    pub resource: MergeResource,
    /// The CSV or XLSX file of `loser,winner` pairs (not with --suggest).
    #[arg(required_unless_present = "suggest", conflicts_with = "suggest")]
    pub file: Option<PathBuf>,
    /// The target account.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Check the pairs and write the plan (users and domain names that move, values that would
    /// be lost, in changes.csv); merge nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Before merging, copy the loser's custom field values, tags, details and notes onto the
    /// winner where the winner has none (Zendesk does not carry them over).
    #[arg(long)]
    pub keep_fields: bool,
    /// Do not ask for confirmation (required without a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Read the account and propose duplicate pairs (same name, shared domain) to review.
    #[arg(long, requires = "output")]
    pub suggest: bool,
    /// With --suggest: the pairs file to write.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The XLSX sheet to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Where to write the report (default: zdbulk-runs/<UTC time>-merge-organizations/).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// At most this many requests a minute, leaving room for other integrations.
    #[arg(long, value_name = "N")]
    pub max_rpm: Option<u32>,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub use crate::resource::Resource;

/// Where the Zendesk account is: one of `--sandbox`, `--subdomain`, `--url`.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct TargetArgs {
    /// Use an embedded sandbox whose state persists in ./.zdbulk/sandbox.json.
    #[arg(long, conflicts_with_all = ["subdomain", "url"])]
    pub sandbox: bool,
    /// The account's subdomain: `acme` means https://acme.zendesk.com.
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    pub subdomain: Option<String>,
    /// The account's base URL, e.g. http://127.0.0.1:8080 for a running `zdbulk sandbox`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// What to do with each row of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportMode {
    /// Update the records that exist, create the others.
    #[default]
    Upsert,
    /// Create every row.
    Create,
    /// Update existing records only.
    Update,
    /// Delete the records the rows name.
    Delete,
}

/// What an empty cell means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyCells {
    /// Leave the value as it is.
    #[default]
    Keep,
    /// Clear the value.
    Clear,
}

/// Whether people created with an e-mail address get Zendesk's welcome e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WelcomeEmail {
    /// Zendesk mails each new user (its default).
    Send,
    /// No e-mail: rows without `verified` are sent with `skip_verify_email: true`.
    Skip,
}

/// Arguments of `import` and `validate`; the journal keeps them (`zdbulk resume` runs the rest
/// of a run with them).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ImportArgs {
    /// The resource the file holds.
    #[arg(value_enum)]
    pub resource: Resource,
    /// The CSV or XLSX file to read.
    pub file: PathBuf,
    /// The target account.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Upsert (default), create, update or delete.
    #[arg(long, value_enum, default_value_t)]
    pub mode: ImportMode,
    /// Validate and plan against the account, but send no write.
    #[arg(long)]
    pub dry_run: bool,
    /// The XLSX sheet to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// A CSV of `from,to` column renames for files from other systems.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Field definitions to validate against offline (`validate` only).
    #[arg(long, value_name = "DEFS")]
    pub fields: Option<PathBuf>,
    /// Where to write the report (default: zdbulk-runs/<UTC time>-<resource>/).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// At most this many jobs in flight (Zendesk allows 30).
    #[arg(long, value_name = "N")]
    pub max_jobs: Option<usize>,
    /// At most this many requests a minute, leaving room for other integrations.
    #[arg(long, value_name = "N")]
    pub max_rpm: Option<u32>,
    /// Rows per bulk job, 1 to 100.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Whether an empty cell keeps or clears the value.
    #[arg(long, value_enum, default_value_t)]
    pub empty_cells: EmptyCells,
    /// Users: whether people created with an e-mail address get Zendesk's welcome e-mail. An
    /// import that would mail people stops before any write until this (or a `verified` /
    /// `skip_verify_email` column) decides.
    #[arg(long, value_enum, value_name = "send|skip")]
    pub welcome_email: Option<WelcomeEmail>,
    /// Users: send each row with its own `users/create_or_update` request instead of bulk jobs,
    /// for accounts whose bulk imports are switched off. Zendesk allows one such request a
    /// second: 3,600 rows an hour.
    #[arg(long)]
    pub one_at_a_time: bool,
    /// Field definitions: remove the options of a dropdown or multiselect that the file leaves
    /// out, and with them their values on every record (a dry run names each and counts the
    /// records holding it). Without it, options are only added or renamed, never removed.
    #[arg(long)]
    #[serde(default)]
    pub prune_options: bool,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `validate`: what an import reads, without the options of sending.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The resource the file holds.
    #[arg(value_enum)]
    pub resource: Resource,
    /// The CSV or XLSX file to read.
    pub file: PathBuf,
    /// The target account (not needed with --fields).
    #[command(flatten)]
    pub target: TargetArgs,
    /// The XLSX sheet to read (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// A CSV of `from,to` column renames for files from other systems.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
    /// Field definitions to validate against offline, instead of the account's.
    #[arg(long, value_name = "DEFS")]
    pub fields: Option<PathBuf>,
    /// Where to write the report (default: zdbulk-runs/<UTC time>-<resource>/).
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// At most this many requests a minute, leaving room for other integrations.
    #[arg(long, value_name = "N")]
    pub max_rpm: Option<u32>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ValidateArgs {
    /// The import options a validation runs with: an upsert that sends nothing.
    pub fn into_import(self) -> ImportArgs {
        ImportArgs {
            resource: self.resource,
            file: self.file,
            target: self.target,
            mode: ImportMode::Upsert,
            dry_run: true,
            sheet: self.sheet,
            map: self.map,
            fields: self.fields,
            run_dir: self.run_dir,
            max_jobs: None,
            max_rpm: self.max_rpm,
            batch_size: None,
            empty_cells: EmptyCells::Keep,
            welcome_email: None,
            one_at_a_time: false,
            prune_options: false,
            strict: self.strict,
            quiet: self.quiet,
            json: self.json,
        }
    }
}

/// Arguments of `resume`.
#[derive(Debug, Clone, Args)]
pub struct RunDirArgs {
    /// The run directory of the import.
    pub run_dir: PathBuf,
    /// The target account (default: the one the run used).
    #[command(flatten)]
    pub target: TargetArgs,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `undo`.
#[derive(Debug, Clone, Args)]
pub struct UndoArgs {
    /// The run directory of the import to undo.
    pub run_dir: PathBuf,
    /// The target account (default: the one the import ran against).
    #[command(flatten)]
    pub target: TargetArgs,
    /// Look up and report what would be done, but send no write.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write back the values the records the run updated had before it.
    #[arg(long)]
    pub restore_updates: bool,
    /// Where to write this undo's report (default: zdbulk-runs/<UTC time>-undo-<resource>/).
    #[arg(long = "run-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// No progress display.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The resource to export.
    #[arg(value_enum)]
    pub resource: Resource,
    /// The file to write: .csv or .xlsx.
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// The target account.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Only these columns, in this order (import's column names, comma-separated), e.g.
    /// `id,name,external_id,organization_fields.tier`.
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Only records updated at or after this time: `YYYY-MM-DD` (midnight UTC) or RFC 3339
    /// (`2026-01-31T09:00:00Z`).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// CSV for Excel: a UTF-8 byte-order mark and CRLF line ends.
    #[arg(long)]
    pub excel: bool,
    /// Continue an interrupted export of the same file from its last written page.
    #[arg(long)]
    pub resume: bool,
    /// At most this many requests a minute, leaving room for other integrations.
    #[arg(long, value_name = "N")]
    pub max_rpm: Option<u32>,
    /// No progress display and no closing line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON document at the end (errors too): the file, records, requests, exit code.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `auth`.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// What to do with the login.
    #[command(subcommand)]
    pub action: AuthAction,
}

/// The `auth` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum AuthAction {
    /// Sign in through the browser (OAuth authorization code with PKCE) and store the login.
    ///
    /// The login is kept per account, in the OS keyring where one works, else in a 0600 file
    /// under the config directory (`ZDBULK_CONFIG_DIR`, or ~/.config/zdbulk). Commands use it
    /// when neither ZENDESK_OAUTH_TOKEN nor ZENDESK_CLIENT_ID/ZENDESK_CLIENT_SECRET is set.
    #[command(after_long_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Show the stored login: account, user, scopes, expiry and where it is stored.
    Status(AuthStatusArgs),
    /// Revoke the stored login's token at Zendesk and forget it.
    Logout(AuthTargetArgs),
}

/// The default port of the login's loopback redirect: the redirect URL to register on the
/// OAuth client is `http://127.0.0.1:8765/callback` (docs/auth.md).
pub const DEFAULT_LOGIN_PORT: u16 = 8765;

/// The account of an `auth` subcommand.
#[derive(Debug, Clone, Args)]
pub struct AuthTargetArgs {
    /// The account's subdomain: `acme` means https://acme.zendesk.com.
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    pub subdomain: Option<String>,
    /// The account's base URL, e.g. http://127.0.0.1:8080 for a running `zdbulk sandbox`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

impl AuthTargetArgs {
    /// As the target of the other commands (never the embedded sandbox).
    pub fn target(&self) -> TargetArgs {
        TargetArgs { sandbox: false, subdomain: self.subdomain.clone(), url: self.url.clone() }
    }
}

/// Arguments of `auth login`.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// The account.
    #[command(flatten)]
    pub account: AuthTargetArgs,
    /// The OAuth client's unique identifier (a Public client with PKCE, docs/auth.md).
    #[arg(long, value_name = "ID")]
    pub client_id: String,
    /// Space-separated scopes to ask for.
    #[arg(long, default_value = crate::zendesk::auth::DEFAULT_SCOPE)]
    pub scope: String,
    /// Port of the loopback redirect `http://127.0.0.1:PORT/callback` (register that exact
    /// URL on the client); 0 picks a free one.
    #[arg(long, default_value_t = DEFAULT_LOGIN_PORT)]
    pub port: u16,
    /// Do not listen: paste the URL the browser was redirected to (for SSH sessions).
    #[arg(long)]
    pub paste: bool,
    /// Print the sign-in URL without trying to open a browser.
    #[arg(long)]
    pub no_browser: bool,
}

/// Arguments of `auth status`.
#[derive(Debug, Clone, Args)]
pub struct AuthStatusArgs {
    /// The account.
    #[command(flatten)]
    pub account: AuthTargetArgs,
    /// Print the status as JSON (still without any token).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sandbox`. Defaults behave like a Zendesk Enterprise account.
#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Requests allowed in one (sandbox) minute, as the account's plan would.
    #[arg(long, value_name = "N", default_value_t = 700)]
    pub rate_limit: u32,
    /// Jobs that may be queued or running at once.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub job_limit: usize,
    /// Milliseconds a job stays queued before it starts working.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub job_delay_ms: u64,
    /// Milliseconds a job spends on each item while working.
    #[arg(long, value_name = "N", default_value_t = 80)]
    pub job_item_ms: u64,
    /// Run faster than real time: with F, a minute of rate budget and all job times last 1/F
    /// as long. Times in headers stay in real seconds.
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    pub time_scale: f64,
    /// Load state from FILE at start and save it there (atomically) while running and at exit.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Field definitions and records to start with (JSON; see docs/sandbox.md).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Fault injection, e.g. 5xx=0.05,drop=0.02,slow=0.01,job-fail=0.01,token-expire=0.001.
    #[arg(long, value_name = "SPEC")]
    pub faults: Option<String>,
    /// Seed of the fault-injection random generator, for repeatable runs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fault_seed: u64,
    /// The admin email accepted with the API token.
    #[arg(long, default_value = "admin@sandbox.test")]
    pub email: String,
    /// The API token accepted for that email (basic auth `email/token:TOKEN`).
    #[arg(long, default_value = "sandbox-token")]
    pub api_token: String,
    /// The OAuth client identifier accepted by /oauth/tokens.
    #[arg(long, default_value = "zdbulk-sandbox")]
    pub client_id: String,
    /// The OAuth client secret accepted by /oauth/tokens.
    #[arg(long, default_value = "sandbox-secret")]
    pub client_secret: String,
    /// The public OAuth client (PKCE, no secret) that `zdbulk auth login` can use.
    #[arg(long, default_value = "zdbulk-cli")]
    pub public_client_id: String,
    /// Access-token lifetime in sandbox seconds when a request names none (Zendesk: 1800);
    /// a small value makes tokens expire, and be refreshed, often.
    #[arg(long, value_name = "SECS")]
    pub access_token_ttl: Option<u64>,
    /// Act as an account whose data imports are not enabled: the bulk user writes
    /// (users/create_many, create_or_update_many, update_many, destroy_many and
    /// organization_memberships/create_many) answer 403 Forbidden.
    #[arg(long)]
    pub no_bulk_imports: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_defaults_are_enterprise_like() {
        let cli = Cli::try_parse_from(["zdbulk", "sandbox"]).unwrap();
        let Command::Sandbox(args) = cli.command else { panic!("not sandbox") };
        assert_eq!(args.rate_limit, 700);
        assert_eq!(args.job_limit, 30);
        assert_eq!(args.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(args.email, "admin@sandbox.test");
        assert_eq!(args.time_scale, 1.0);
        assert!(!args.no_bulk_imports, "bulk imports are on unless asked");
    }

    #[test]
    fn undo_takes_the_import_directory_and_its_own_run_directory_apart() {
        let cli = Cli::try_parse_from([
            "zdbulk",
            "undo",
            "zdbulk-runs/a",
            "--run-dir",
            "out",
            "--restore-updates",
            "--sandbox",
        ])
        .unwrap();
        let Command::Undo(args) = cli.command else { panic!("not undo") };
        assert_eq!(args.run_dir, PathBuf::from("zdbulk-runs/a"));
        assert_eq!(args.out_dir, Some(PathBuf::from("out")));
        assert!(args.restore_updates && args.target.sandbox && !args.dry_run);
    }

    #[test]
    fn export_takes_columns_as_a_list_and_its_own_options() {
        let cli = Cli::try_parse_from([
            "zdbulk",
            "export",
            "users",
            "-o",
            "people.csv",
            "--columns",
            "id,email,user_fields.vip",
            "--since",
            "2026-01-01",
            "--excel",
            "--resume",
            "--sandbox",
        ])
        .unwrap();
        let Command::Export(args) = cli.command else { panic!("not export") };
        assert_eq!(args.resource, Resource::Users);
        assert_eq!(args.columns.unwrap(), ["id", "email", "user_fields.vip"]);
        assert_eq!(args.since.as_deref(), Some("2026-01-01"));
        assert!(args.excel && args.resume && args.target.sandbox && !args.quiet);
    }

    #[test]
    fn sandbox_target_excludes_url() {
        let err = Cli::try_parse_from([
            "zdbulk",
            "import",
            "organizations",
            "a.csv",
            "--sandbox",
            "--url",
            "x",
        ]);
        assert!(err.is_err());
    }
}
