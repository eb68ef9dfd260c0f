//! `zdbulk import <organizations|users> FILE` and `zdbulk validate …`: read, map, validate,
//! plan, send in jobs, and write the run directory (`design.md` §2, §3). Everything here serves
//! every resource; what differs comes from its [`Layer`].

mod checks;
mod job;
mod reorder;
mod rows;
mod show;
mod unreached;
mod validate;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde_json::Value;

use crate::cli::{EmptyCells as CliEmpty, ImportArgs, ImportMode, Resource};
use crate::error::{usage_error, ExitStatus, StatusError};
use crate::input::mapping::{map_header, Dialect, Renames};
use crate::input::TextEncoding;
use crate::input::{open_input, InputFormat};
use crate::output::dialect::{uses_crlf, CsvDialect};
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::output::summary::{failures_by_code, Summary};
use crate::output::RowStatus;
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::memory::Memory;
use crate::pipeline::plan::Mode;
use crate::port::BulkImportsDisabled;
use crate::resource::{layer, Layer};
use crate::schema::definitions::read_definitions;
use crate::schema::row::EmptyCells;
use crate::schema::Schema;
use crate::settings::{resolve_target, Target};
use crate::zendesk::Client;
use checks::{check_args, check_field_columns, undecided_welcomes};
use job::{import_rows, ImportJob};
use rows::Duplicates;

/// Zendesk's job limit, the most `--max-jobs` may ask for.
const MAX_JOBS: usize = 30;

fn mode_of(m: ImportMode) -> Mode {
    match m {
        ImportMode::Upsert => Mode::Upsert,
        ImportMode::Create => Mode::Create,
        ImportMode::Update => Mode::Update,
        ImportMode::Delete => Mode::Delete,
    }
}

/// A run directory: `--run-dir`, or `zdbulk-runs/<UTC time>-<resource>`. A resumed run goes
/// on in its own: its report, failed file and summary are written anew, its journal goes on.
fn run_dir(args: &ImportArgs, cwd: &Path, resuming: bool) -> anyhow::Result<PathBuf> {
    if let (true, Some(dir)) = (resuming, &args.run_dir) {
        for old in ["failed.csv", "failed.xlsx"] {
            match std::fs::remove_file(dir.join(old)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("failed to replace {}", dir.join(old).display())))
                }
                _ => {}
            }
        }
        return Ok(dir.clone());
    }
    super::run_dir::create(args.run_dir.as_deref(), cwd, args.resource.cli_name())
}

/// The failed-rows file of a run: it opens the way the input did (its delimiter, line ends and
/// encoding, or its sheet's name).
fn failed_file(
    dir: &Path,
    format: &InputFormat,
    header: &[String],
    file: &Path,
) -> anyhow::Result<FailedRows> {
    Ok(match format {
        InputFormat::Csv { delimiter, encoding } => {
            FailedRows::create(dir, FailedFormat::Csv, header.to_vec())?.with_dialect(CsvDialect {
                delimiter: *delimiter,
                crlf: uses_crlf(file),
                encoding: *encoding,
            })
        }
        InputFormat::Xlsx { sheet } => {
            FailedRows::create(dir, FailedFormat::Xlsx, header.to_vec())?.with_sheet(sheet)
        }
    })
}

/// Whether `resource` is a family of field definitions rather than records.
pub(crate) fn is_definitions(resource: Resource) -> bool {
    matches!(resource, Resource::OrganizationFields | Resource::UserFields)
}

async fn account_schema(client: &Client, layer: &dyn Layer) -> anyhow::Result<Schema> {
    // A definitions file has no custom field columns to check.
    if is_definitions(layer.resource()) {
        return Ok(Schema::new(Vec::new()));
    }
    let what = format!("{} fields", layer.singular());
    let defs = match layer.resource() {
        Resource::Users => client.user_fields().list_all().await,
        _ => client.organization_fields().list_all().await,
    }
    .map_err(|e| api(e.into(), &format!("failed to read the account's {what}")))?;
    let values: Vec<Value> =
        defs.into_iter().filter_map(|d| serde_json::to_value(d).ok()).collect();
    Schema::from_api(&values)
        .map_err(|e| api(e.into(), &format!("the account's {what} cannot be used")))
}

/// Marks an error as "the API could not be used" (exit 3), keeping its causes.
pub(crate) fn api(err: anyhow::Error, message: &str) -> anyhow::Error {
    err.context(StatusError { message: message.to_string(), status: ExitStatus::Api })
}

fn format_label(f: &InputFormat) -> String {
    match f {
        InputFormat::Csv { delimiter, encoding } => {
            let d = match delimiter {
                b'\t' => "tab".to_string(),
                b => format!("'{}'", *b as char),
            };
            let enc = match encoding {
                TextEncoding::Utf8 => "UTF-8",
                TextEncoding::Utf8Bom => "UTF-8 with BOM",
                TextEncoding::Utf16Le => "UTF-16LE",
                TextEncoding::Utf16Be => "UTF-16BE",
                TextEncoding::Windows1252 => "Windows-1252",
            };
            format!("CSV, {d}-separated, {enc}")
        }
        InputFormat::Xlsx { sheet } => format!("XLSX, sheet '{sheet}'"),
    }
}

/// Runs `import` (or `validate` when `validate` is true).
pub async fn run(args: ImportArgs, validate: bool) -> anyhow::Result<ExitStatus> {
    run_with(args, validate, None).await
}

/// Runs the rest of an import whose journal is `memory` (`zdbulk resume`), in its directory
/// (`args.run_dir`).
pub async fn resume(args: ImportArgs, memory: Memory) -> anyhow::Result<ExitStatus> {
    run_with(args, false, Some(memory)).await
}

async fn run_with(
    args: ImportArgs,
    validate: bool,
    resume: Option<Memory>,
) -> anyhow::Result<ExitStatus> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    check_args(&args, validate)?;
    let layer = layer(args.resource);
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let input = open_input(&args.file, args.sheet.as_deref())?;
    let format = input.format().clone();
    let renames = match &args.map {
        Some(p) => Some(Renames::from_path(p)?),
        None => None,
    };
    let header = input.header().names();
    if let Some(r) = &renames {
        r.check_against(&header).map_err(|e| usage_error(e.to_string()))?;
    }
    let mapped = map_header(args.resource, &header, renames.as_ref()).map_err(|e| {
        // A workbook whose first sheet is not the data (instructions, a cover page): name
        // its sheets.
        let sheets = match (input.format(), &args.sheet) {
            (InputFormat::Xlsx { sheet }, None) => {
                let all = crate::input::sheet_names(&args.file);
                let names: Vec<String> = all.iter().map(|n| format!("'{n}'")).collect();
                (all.len() > 1).then(|| {
                    format!(
                        " (read from its first sheet '{sheet}'; its sheets are {}: choose the data's with --sheet NAME)",
                        names.join(", ")
                    )
                })
            }
            _ => None,
        };
        anyhow::Error::new(e).context(format!(
            "{}: the header row cannot be used{}",
            args.file.display(),
            sheets.unwrap_or_default()
        ))
    })?;
    let mut warnings: Vec<String> = input.warnings().to_vec();
    warnings.extend(mapped.warnings.iter().cloned());
    let mode = mode_of(args.mode);
    let offline = validate && args.fields.is_some();
    let dry_run = args.dry_run || validate;

    // Zendesk mails every user created with an e-mail address unless told not to: an import
    // that would do so without the user choosing stops here, before anything is written.
    if layer.facts().welcome_email
        && !dry_run
        && args.welcome_email.is_none()
        && matches!(mode, Mode::Upsert | Mode::Create)
    {
        let rows = tokio::task::block_in_place(|| undecided_welcomes(&args, &mapped))?;
        if let Some(first) = rows.first() {
            let n = rows.len();
            let some: Vec<String> = rows.iter().take(5).map(usize::to_string).collect();
            let more = if n > 5 { ", …" } else { "" };
            return Err(usage_error(format!(
                "{}: {n} row(s) (row {}{more}) have a name and an e-mail address and no `verified` or \
                 `skip_verify_email` value: each one that creates a user makes Zendesk send that person \
                 a welcome e-mail, so up to {n} people would be mailed (rows that update someone mail \
                 nobody). Nothing was sent. Choose with --welcome-email skip (sends skip_verify_email) \
                 or --welcome-email send, or fill a `verified` or `skip_verify_email` column; \
                 --dry-run counts exactly who would be mailed",
                args.file.display(),
                if n == 1 { first.to_string() } else { some.join(", ") }
            )));
        }
    }

    // Definitions: a file (validate --fields, no network) or the account's.
    let (target, client, schema): (Option<Target>, Option<Client>, Schema) = match (
        &args.fields,
        validate,
    ) {
        (Some(defs), true) => (None, None, read_definitions(defs)?),
        _ => {
            let target = resolve_target(&args.target, &cwd).await.map_err(|e| {
                    if validate {
                        e.context("validate checks against an account, or offline with --fields DEFS (a definitions file)")
                    } else {
                        e
                    }
                })?;
            warnings.extend(target.warnings.iter().cloned());
            let client = target.client(args.max_rpm)?;
            let schema = match account_schema(&client, layer).await {
                Ok(schema) => schema,
                // The account cannot be used at all: the run still accounts for every row.
                Err(err) if !validate => {
                    let dir = run_dir(&args, &cwd, resume.is_some())?;
                    let failed = failed_file(&dir, &format, &header, &args.file)?;
                    let now = chrono::Utc::now();
                    let base = Summary {
                        resource: args.resource.cli_name().into(),
                        input: args.file.display().to_string(),
                        mode: mode.as_str().into(),
                        dry_run,
                        dialect: dialect_name(mapped.dialect).into(),
                        rows: 0,
                        counts: Default::default(),
                        started_at: started.to_rfc3339(),
                        finished_at: now.to_rfc3339(),
                        duration_secs: clock.elapsed().as_secs_f64(),
                        api_requests: client.stats().requests,
                        rate_limit_waits: client.stats().rate_limited,
                        rate_limit_wait_secs: client.stats().rate_limit_wait.as_secs_f64(),
                        jobs: 0,
                        too_many_jobs: 0,
                        run_dir: dir.display().to_string(),
                        report: dir.join("report.csv").display().to_string(),
                        failed_rows: None,
                        target: Some(target.base_url.to_string()),
                        failures: Default::default(),
                        welcome_emails: None,
                        changes: None,
                        warnings: warnings.clone(),
                        exit_code: ExitStatus::Api.code(),
                    };
                    let why =
                        format!("the account could not be used ({err}: {})", err.root_cause());
                    let unreached =
                        unreached::Unreached { layer, mapped: &mapped, dir: &dir, base, why };
                    let summary = tokio::task::block_in_place(|| unreached.write(input, failed))?;
                    target.shutdown().await?;
                    if !args.json {
                        show::print(&summary, &dir, false, args.quiet);
                    }
                    eprintln!(
                        "nothing was sent; every row has a line in {} (skipped): import the file again once the account answers",
                        dir.join("report.csv").display()
                    );
                    return Err(err);
                }
                Err(err) => return Err(err),
            };
            (Some(target), Some(client), schema)
        }
    };
    check_field_columns(layer, &mapped, &schema, &args.file)?;
    if args.strict && !warnings.is_empty() {
        return Err(usage_error(format!(
            "--strict: nothing was sent because of {} warning(s): {}",
            warnings.len(),
            warnings.join("; ")
        )));
    }
    let dir = run_dir(&args, &cwd, resume.is_some())?;
    if !args.quiet {
        eprintln!(
            "reading {} ({}; {})",
            args.file.display(),
            format_label(&format),
            mapped.dialect
        );
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let failed = failed_file(&dir, &format, &header, &args.file)?;
    let empty = match args.empty_cells {
        CliEmpty::Keep => EmptyCells::Keep,
        CliEmpty::Clear => EmptyCells::Clear,
    };

    let mut run = RunResult::default();
    let (counts, rows) = if offline {
        let validation = validate::Validation {
            layer,
            file: &args.file,
            sheet: args.sheet.as_deref(),
            mapped: &mapped,
            schema: &schema,
            empty,
            mode,
            dir: &dir,
            failed,
        };
        let validated = tokio::task::block_in_place(|| validation.run(input))?;
        run.warnings = validated.late_warnings;
        (validated.counts, validated.rows)
    } else {
        let client = client.context("an import needs an account")?;
        // Rows sharing a unique key are found first: both must be refused before either is
        // sent.
        let (duplicates, total_rows) = tokio::task::block_in_place(|| {
            Duplicates::scan(layer, &args.file, args.sheet.as_deref(), &mapped)
        })?;
        let mut report = ReportWriter::create(&dir, failed)?;
        let job = ImportJob {
            args: &args,
            layer,
            mapped: mapped.clone(),
            schema,
            duplicates,
            empty,
            mode,
            dry_run,
            validate,
            resume,
            total_rows,
        };
        run = import_rows(job, client.clone(), input, &dir, &mut report).await?;
        // Field definitions take the file's order once they all exist.
        if is_definitions(args.resource) && !dry_run && run.fatal.is_none() {
            let done = reorder::reorder(
                &client,
                args.resource,
                &args.file,
                args.sheet.as_deref(),
                &mapped,
            )
            .await;
            match done {
                Ok(Some(note)) if !args.quiet => eprintln!("{note}"),
                Ok(_) => {}
                Err(e) => run.fatal = Some(e),
            }
        }
        let counts = report.finish(run.rows).context("failed to finish the report")?;
        (counts, run.rows)
    };
    run.rows = rows;
    if rows == 0 {
        run.warnings.push(format!("{} has a header but no data rows", args.file.display()));
    }
    // Warnings that came up while reading (the others were printed before the run).
    for w in &run.warnings {
        eprintln!("warning: {w}");
    }
    let warnings = {
        let mut w = warnings;
        w.extend(run.warnings.iter().cloned());
        w
    };
    let status = crate::error::run_status(&counts, run.fatal.as_ref());
    if !offline {
        // The run's last journal line, with the exit code the run ends with.
        Journal::open(&dir)?.append(&Entry::Finish {
            exit_code: status.code(),
            at: chrono::Utc::now().to_rfc3339(),
        })?;
    }
    let summary = Summary {
        resource: args.resource.cli_name().into(),
        input: args.file.display().to_string(),
        mode: if validate { "validate".into() } else { mode.as_str().into() },
        dry_run,
        dialect: dialect_name(mapped.dialect).into(),
        rows: run.rows,
        counts: Summary::counts_from(&counts),
        started_at: started.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        duration_secs: clock.elapsed().as_secs_f64(),
        api_requests: run.requests,
        rate_limit_waits: run.rate_limited,
        rate_limit_wait_secs: run.rate_limit_wait_secs,
        jobs: run.jobs,
        too_many_jobs: run.too_many_jobs,
        run_dir: dir.display().to_string(),
        report: dir.join("report.csv").display().to_string(),
        failed_rows: ["failed.csv", "failed.xlsx"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.exists())
            .map(|p| p.display().to_string()),
        target: target.as_ref().map(|t| t.base_url.to_string()),
        failures: failures_by_code(&dir.join("report.csv"))
            .with_context(|| format!("failed to read {}", dir.join("report.csv").display()))?,
        welcome_emails: (layer.facts().welcome_email && !offline).then_some(run.welcome_emails),
        changes: run.changes,
        warnings,
        exit_code: status.code(),
    };
    summary
        .write(&dir)
        .with_context(|| format!("failed to write {}", dir.join("summary.json").display()))?;
    crate::output::html::write(&summary, &run.timeline, &dir)
        .with_context(|| format!("failed to write {}", dir.join("report.html").display()))?;
    if let Some(t) = target {
        t.shutdown().await?;
    }
    show::print(&summary, &dir, args.json, args.quiet);
    if dry_run && !args.json && !args.quiet {
        show::first_changes(&run.first_changes, summary.changes.unwrap_or(0));
    }
    match run.fatal {
        Some(err) if status == ExitStatus::Interrupted => {
            drop(err);
            eprintln!("{}", show::finish_hint(&args, &dir));
            Ok(status)
        }
        Some(err) if err.downcast_ref::<BulkImportsDisabled>().is_some() => {
            let left = counts.get(&RowStatus::Skipped).copied().unwrap_or(0);
            Err(api(
                err,
                &format!(
                    "Zendesk refused the bulk import, so the run stopped; no row was lost: each has a line in {} and the {left} rows not sent are in the failed file. \
                     Bulk user imports are switched off on an account until Zendesk support enables them: ask them to enable data (bulk user) imports for this account, then import the failed file. \
                     Or import the failed file with --one-at-a-time: one request a row, one a second, so {left} rows take about {}",
                    dir.join("report.csv").display(),
                    show::duration_words(left as u64)
                ),
            ))
        }
        Some(err) => Err(api(
            err,
            &format!(
                "the run stopped early; every row has a line in {}; once the account answers again, finish the run with `zdbulk resume {}`",
                dir.join("report.csv").display(),
                dir.display()
            ),
        )),
        None => Ok(status),
    }
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Api => "api",
        Dialect::Legacy => "legacy",
        Dialect::DataImporter => "data-importer",
    }
}

#[derive(Default)]
struct RunResult {
    rows: usize,
    requests: u64,
    rate_limited: u64,
    rate_limit_wait_secs: f64,
    jobs: u64,
    welcome_emails: usize,
    warnings: Vec<String>,
    fatal: Option<anyhow::Error>,
    /// `TooManyJobs` answers.
    too_many_jobs: u64,
    /// Values changed (`changes.csv`), when the run planned against an account.
    changes: Option<u64>,
    /// The first of them, for a dry run's terminal.
    first_changes: Vec<crate::output::changes::ChangeLine>,
    /// Rows settled over time (report.html's chart).
    timeline: Vec<crate::output::timeline::Sample>,
}
