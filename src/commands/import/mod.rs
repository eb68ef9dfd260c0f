//! `zdbulk import organizations FILE` and `zdbulk validate organizations FILE`: read, map,
//! validate, plan, send in jobs, and write the run directory (`design.md` §2, §3).

mod rows;
mod show;
mod validate;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::cli::{EmptyCells as CliEmpty, ImportArgs, ImportMode, Resource};
use crate::error::{usage_error, ExitStatus, StatusError};
use crate::input::mapping::{map_header, Dialect, MappedHeader, Renames};
use crate::input::TextEncoding;
use crate::input::{open_input, InputFormat};
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::output::summary::Summary;
use crate::pipeline::batch::MAX_BATCH;
use crate::pipeline::engine::{self, EngineSettings, Interrupted, Stop};
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::plan::{self, Mode, PlanSettings, RowIn};
use crate::progress::Progress;
use crate::schema::definitions::read_definitions;
use crate::schema::organization::{closest, EmptyCells, FIELD_PREFIX};
use crate::schema::Schema;
use crate::settings::{resolve_target, Target};
use crate::zendesk::Client;
use rows::{Duplicates, RowChecker};

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

fn check_args(args: &ImportArgs, validate: bool) -> anyhow::Result<()> {
    let verb = if validate { "validate" } else { "import" };
    if args.resource != Resource::Organizations {
        let name = match args.resource {
            Resource::Users => "users",
            Resource::OrganizationFields => "organization-fields",
            Resource::UserFields => "user-fields",
            Resource::Organizations => "organizations",
        };
        return Err(usage_error(format!(
            "`zdbulk {verb} {name}` is not built yet in this version (organizations are)"
        )));
    }
    if let Some(n) = args.batch_size {
        if !(1..=MAX_BATCH).contains(&n) {
            return Err(usage_error(format!(
                "--batch-size {n} must be between 1 and {MAX_BATCH} (Zendesk's limit per job)"
            )));
        }
    }
    if let Some(n) = args.max_jobs {
        if !(1..=MAX_JOBS).contains(&n) {
            return Err(usage_error(format!(
                "--max-jobs {n} must be between 1 and {MAX_JOBS} (Zendesk's limit)"
            )));
        }
    }
    if args.max_rpm == Some(0) {
        return Err(usage_error("--max-rpm must be at least 1"));
    }
    if !validate && args.fields.is_some() {
        return Err(usage_error("--fields is for `zdbulk validate`; an import checks the account's own field definitions"));
    }
    Ok(())
}

/// A run directory: `--run-dir`, or `zdbulk-runs/<UTC time>-organizations`.
fn run_dir(args: &ImportArgs, cwd: &Path) -> anyhow::Result<PathBuf> {
    let dir = match &args.run_dir {
        Some(d) => d.clone(),
        None => {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            let base = cwd.join("zdbulk-runs");
            let mut dir = base.join(format!("{stamp}-organizations"));
            let mut n = 2;
            while dir.exists() {
                dir = base.join(format!("{stamp}-organizations-{n}"));
                n += 1;
            }
            dir
        }
    };
    if dir.join("report.csv").exists() || dir.join("journal.ndjson").exists() {
        return Err(usage_error(format!(
            "{} already holds a run; give another --run-dir (or leave it out for a new one)",
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("failed to create the run directory {}", dir.display()))?;
    Ok(dir)
}

/// Every custom field column must name a field of the account: refused before anything is
/// read further, with the closest known key.
fn check_field_columns(mapped: &MappedHeader, schema: &Schema, file: &Path) -> anyhow::Result<()> {
    let unknown: Vec<String> = mapped
        .mapped()
        .filter_map(|c| c.custom_field_key().map(|k| (c, k)))
        .filter(|(_, k)| schema.get(k).is_none())
        .map(|(c, k)| match closest(k, schema.keys()) {
            Some(near) => {
                format!("unknown column '{}' (did you mean '{FIELD_PREFIX}{near}'?)", c.raw)
            }
            None => {
                format!("unknown column '{}' (the account has no organization field '{k}')", c.raw)
            }
        })
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(usage_error(format!("{}: {}", file.display(), unknown.join("; "))))
    }
}

async fn account_schema(client: &Client) -> anyhow::Result<Schema> {
    let defs = client
        .organization_fields()
        .list_all()
        .await
        .map_err(|e| api(e.into(), "failed to read the account's organization fields"))?;
    let values: Vec<Value> =
        defs.into_iter().filter_map(|d| serde_json::to_value(d).ok()).collect();
    Schema::from_api(&values)
        .map_err(|e| api(e.into(), "the account's organization fields cannot be used"))
}

/// Marks an error as "the API could not be used" (exit 3), keeping its causes.
fn api(err: anyhow::Error, message: &str) -> anyhow::Error {
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
    let started = chrono::Utc::now();
    let clock = Instant::now();
    check_args(&args, validate)?;
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let input = open_input(&args.file, args.sheet.as_deref())?;
    let format = input.format().clone();
    let renames = match &args.map {
        Some(p) => Some(Renames::from_path(p)?),
        None => None,
    };
    let header = input.header().names();
    let mapped = map_header(args.resource, &header, renames.as_ref())
        .with_context(|| format!("{}: the header row cannot be used", args.file.display()))?;
    let mut warnings: Vec<String> = input.warnings().to_vec();
    warnings.extend(mapped.warnings.iter().cloned());

    // Definitions: a file (validate --fields, no network) or the account's.
    let (target, client, schema): (Option<Target>, Option<Client>, Schema) =
        match (&args.fields, validate) {
            (Some(defs), true) => (None, None, read_definitions(defs)?),
            _ => {
                let target = resolve_target(&args.target, &cwd).await?;
                warnings.extend(target.warnings.iter().cloned());
                let client = target.client(args.max_rpm)?;
                let schema = account_schema(&client).await?;
                (Some(target), Some(client), schema)
            }
        };
    check_field_columns(&mapped, &schema, &args.file)?;
    if args.strict && !warnings.is_empty() {
        return Err(usage_error(format!(
            "--strict: nothing was sent because of {} warning(s): {}",
            warnings.len(),
            warnings.join("; ")
        )));
    }
    let dir = run_dir(&args, &cwd)?;
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
    let failed_format = match format {
        InputFormat::Xlsx { .. } => FailedFormat::Xlsx,
        InputFormat::Csv { .. } => FailedFormat::Csv,
    };
    let mode = mode_of(args.mode);
    let empty = match args.empty_cells {
        CliEmpty::Keep => EmptyCells::Keep,
        CliEmpty::Clear => EmptyCells::Clear,
    };

    let mut run = RunResult::default();
    let (counts, rows) = if validate {
        let validation = validate::Validation {
            file: &args.file,
            sheet: args.sheet.as_deref(),
            mapped: &mapped,
            schema: &schema,
            empty,
            mode,
            dir: &dir,
            failed_format,
            header: &header,
        };
        let validated = tokio::task::block_in_place(|| validation.run(input))?;
        run.warnings = validated.late_warnings;
        (validated.counts, validated.rows)
    } else {
        let client = client.context("an import needs an account")?;
        // Rows sharing a name or external id are found first: both must be refused before
        // either is sent.
        let duplicates = tokio::task::block_in_place(|| {
            Duplicates::scan(&args.file, args.sheet.as_deref(), &mapped)
        })?;
        let failed = FailedRows::create(&dir, failed_format, header.clone())?;
        let mut report = ReportWriter::create(&dir, failed)?;
        run = import_rows(
            &args,
            client,
            input,
            mapped.clone(),
            schema,
            duplicates,
            empty,
            mode,
            &dir,
            &mut report,
        )
        .await?;
        let counts = report.finish(run.rows).context("failed to finish the report")?;
        (counts, run.rows)
    };
    run.rows = rows;
    // Warnings that came up while reading (the others were printed before the run).
    for w in &run.warnings {
        eprintln!("warning: {w}");
    }
    let warnings = {
        let mut w = warnings;
        w.extend(run.warnings.iter().cloned());
        w
    };
    let failures = counts.iter().filter(|(s, _)| s.is_failure()).map(|(_, n)| n).sum::<usize>();
    let status = match &run.fatal {
        Some(e) if e.downcast_ref::<Interrupted>().is_some() => ExitStatus::Interrupted,
        Some(_) => ExitStatus::Api,
        None if failures > 0 => ExitStatus::RowsFailed,
        None => ExitStatus::Success,
    };
    let summary = Summary {
        resource: "organizations".into(),
        input: args.file.display().to_string(),
        mode: if validate { "validate".into() } else { mode.as_str().into() },
        dry_run: args.dry_run || validate,
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
        warnings,
        exit_code: status.code(),
    };
    summary
        .write(&dir)
        .with_context(|| format!("failed to write {}", dir.join("summary.json").display()))?;
    if let Some(t) = target {
        t.shutdown().await?;
    }
    show::print(&summary, &dir, args.json, args.quiet);
    match run.fatal {
        Some(err) if status == ExitStatus::Interrupted => {
            eprintln!("interrupted: every row has a line in {}; import the file again to finish (rows already done are reported unchanged)", dir.join("report.csv").display());
            drop(err);
            Ok(status)
        }
        Some(err) => Err(api(
            err,
            &format!(
                "the run stopped early; every row has a line in {}",
                dir.join("report.csv").display()
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
    warnings: Vec<String>,
    fatal: Option<anyhow::Error>,
}

#[allow(clippy::too_many_arguments)]
async fn import_rows(
    args: &ImportArgs,
    client: Client,
    input: crate::input::Input,
    mapped: MappedHeader,
    schema: Schema,
    duplicates: Duplicates,
    empty: EmptyCells,
    mode: Mode,
    dir: &Path,
    report: &mut ReportWriter,
) -> anyhow::Result<RunResult> {
    let mut journal = Journal::open(dir)?;
    journal.append(&Entry::Start {
        resource: "organizations".into(),
        input: args.file.display().to_string(),
        mode: mode.as_str().into(),
        target: client.base_url().to_string(),
        at: chrono::Utc::now().to_rfc3339(),
    })?;
    let checkbox_tags: Vec<String> = schema.checkbox_tags();
    let (row_tx, row_rx) = mpsc::channel::<RowIn>(1024);
    let (plan_tx, plan_rx) = mpsc::channel(256);
    let reader = std::thread::spawn(move || -> anyhow::Result<(usize, Vec<String>)> {
        let known = input.warnings().len();
        let checker = RowChecker::new(&mapped, &schema, empty, mode, &duplicates);
        let mut input = input;
        let mut n = 0;
        for (seq, row) in input.by_ref().enumerate() {
            let row = row?;
            if row_tx.blocking_send(checker.check(seq, row)).is_err() {
                break;
            }
            n = seq + 1;
        }
        // Only what came up while reading: the rest is the caller's already.
        Ok((n, input.warnings().get(known..).unwrap_or_default().to_vec()))
    });
    let aborted = Arc::new(AtomicBool::new(false));
    let settings = PlanSettings {
        mode,
        dry_run: args.dry_run,
        batch_size: args.batch_size.unwrap_or(MAX_BATCH),
        checkbox_tags: checkbox_tags.into(),
    };
    let planner =
        tokio::spawn(plan::plan(client.clone(), settings, row_rx, plan_tx, aborted.clone()));
    let (interrupt_tx, interrupt) = watch::channel(false);
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = interrupt_tx.send(true);
        }
    });
    let progress = Progress::new(0, args.quiet);
    let engine_settings =
        EngineSettings { max_jobs: args.max_jobs.unwrap_or(MAX_JOBS), ..EngineSettings::default() };
    let stop = Stop { interrupt, aborted };
    let end = engine::run(
        client.clone(),
        engine_settings,
        plan_rx,
        report,
        &mut journal,
        &progress,
        stop,
    )
    .await?;
    progress.finish();
    ctrl_c.abort();
    let planned = planner.await.context("the planner stopped unexpectedly")?;
    let (rows, warnings) =
        reader.join().map_err(|_| anyhow::anyhow!("the file reader stopped unexpectedly"))??;
    let fatal = match (end.fatal, planned) {
        (Some(e), _) => Some(e),
        (None, Err(e)) => Some(e),
        (None, Ok(())) => None,
    };
    let stats = client.stats();
    journal.append(&Entry::Finish {
        exit_code: if fatal.is_some() { 3 } else { 0 },
        at: chrono::Utc::now().to_rfc3339(),
    })?;
    Ok(RunResult {
        rows,
        requests: stats.requests,
        rate_limited: stats.rate_limited,
        rate_limit_wait_secs: stats.rate_limit_wait.as_secs_f64(),
        jobs: end.stats.jobs,
        warnings,
        fatal,
    })
}
