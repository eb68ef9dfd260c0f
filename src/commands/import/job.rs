//! One import run against an account: the reading thread, the planner and the job engine
//! wired together with channels sized from the job window, and the run's journal.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::rows::{Duplicates, RowChecker};
use super::{RunResult, MAX_JOBS};
use crate::cli::{ImportArgs, WelcomeEmail};
use crate::input::mapping::MappedHeader;
use crate::output::changes::ChangeLog;
use crate::output::report::ReportWriter;
use crate::output::timeline::Timeline;
use crate::pipeline::batch::MAX_BATCH;
use crate::pipeline::engine::{self, EngineSettings, Stop};
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::memory::Memory;
use crate::pipeline::pending::settle_pending;
use crate::pipeline::plan::{self, Mode, PlanSettings, RowIn};
use crate::progress::Progress;
use crate::resource::Layer;
use crate::schema::row::EmptyCells;
use crate::schema::Schema;
use crate::zendesk::Client;
use std::collections::HashMap;

/// What one import (or validation against an account) runs with.
pub(super) struct ImportJob<'a> {
    pub(super) args: &'a ImportArgs,
    pub(super) layer: &'static dyn Layer,
    pub(super) mapped: MappedHeader,
    pub(super) schema: Schema,
    pub(super) duplicates: Duplicates,
    pub(super) empty: EmptyCells,
    pub(super) mode: Mode,
    pub(super) dry_run: bool,
    pub(super) validate: bool,
    /// The journal of the run being resumed.
    pub(super) resume: Option<Memory>,
    /// The file's data rows, counted before the run (the progress display's total).
    pub(super) total_rows: u64,
}

/// The options as `zdbulk resume` runs them again: paths absolute, the run directory this one,
/// and a `validate` run marked as the dry run it is (so nothing ever resumes it as an import).
fn replayable(args: &ImportArgs, dir: &Path, dry_run: bool) -> std::io::Result<ImportArgs> {
    let mut args = args.clone();
    args.dry_run = dry_run;
    args.file = std::path::absolute(&args.file)?;
    if let Some(m) = &args.map {
        args.map = Some(std::path::absolute(m)?);
    }
    args.run_dir = Some(std::path::absolute(dir)?);
    Ok(args)
}

/// Batches planned ahead of the job window, in windows: enough to refill it at once when a
/// poll settles a whole group, not tens of thousands of rows held as payloads.
const WINDOWS_AHEAD: usize = 2;

pub(super) async fn import_rows(
    job: ImportJob<'_>,
    client: Client,
    input: crate::input::Input,
    dir: &Path,
    report: &mut ReportWriter,
) -> anyhow::Result<RunResult> {
    let args = job.args;
    let mut journal = Journal::open(dir)?;
    match &job.resume {
        None => journal.append(&Entry::Start {
            resource: job.layer.plural().into(),
            input: args.file.display().to_string(),
            mode: job.mode.as_str().into(),
            target: client.base_url().to_string(),
            at: chrono::Utc::now().to_rfc3339(),
            args: Some(serde_json::to_value(replayable(args, dir, job.dry_run)?)?),
            cwd: std::env::current_dir().ok().map(|d| d.display().to_string()),
            fingerprint: Some(tokio::task::block_in_place(|| {
                crate::input::fingerprint(&args.file)
            })?),
        })?,
        Some(_) => journal.append(&Entry::Resume { at: chrono::Utc::now().to_rfc3339() })?,
    }
    let checkbox_tags: Arc<[String]> = job.schema.checkbox_tags().into();
    let progress = Progress::new(job.total_rows, args.quiet);
    // A resumed run first settles what the stopped one left in doubt: nothing is sent again
    // before the account says it is not there.
    let memory = match job.resume {
        Some(mut memory) => {
            settle_pending(&client, &mut memory, &mut journal, &checkbox_tags, &progress)
                .await
                .map_err(|e| super::api(e, "failed to check what the stopped run left in doubt"))?;
            Some(Arc::new(memory))
        }
        None => None,
    };
    let first_batch = memory.as_ref().map_or(0, |m| m.next_batch);
    let changes =
        Arc::new(ChangeLog::create(dir, column_names(job.layer, &job.mapped), memory.is_some())?);
    // One row a request, one request a second: more than a couple in flight would only wait
    // in line, and a Ctrl-C would have to wait for them all.
    // Field definitions have no bulk jobs either: one request a field, a few at a time.
    let definitions = super::is_definitions(args.resource);
    let one_at_a_time = args.one_at_a_time || definitions;
    let max_jobs = match (args.one_at_a_time, definitions) {
        (true, _) => 2,
        (_, true) => args.max_jobs.unwrap_or(4),
        _ => args.max_jobs.unwrap_or(MAX_JOBS),
    };
    // One row a request: a batch is one row, so a failure is that row's alone.
    let batch_size = if one_at_a_time { 1 } else { args.batch_size.unwrap_or(MAX_BATCH) };
    // Rows read ahead of the planner: one planning chunk's worth a few times over.
    let (row_tx, row_rx) = mpsc::channel::<RowIn>(4 * MAX_BATCH);
    let (plan_tx, plan_rx) = mpsc::channel(WINDOWS_AHEAD * max_jobs);
    let (layer, mode, empty) = (job.layer, job.mode, job.empty);
    let (mapped, schema, duplicates) = (job.mapped, job.schema, job.duplicates);
    let skip_welcome = args.welcome_email == Some(WelcomeEmail::Skip);
    let reader = std::thread::spawn(move || -> anyhow::Result<(usize, Vec<String>)> {
        let known = input.warnings().len();
        let checker = RowChecker::new(layer, &mapped, &schema, empty, mode, &duplicates);
        let mut input = input;
        let mut n = 0;
        for (seq, row) in input.by_ref().enumerate() {
            let row = row?;
            let mut checked = checker.check(seq, row);
            if let (true, RowIn::Valid(v)) = (skip_welcome, &mut checked) {
                let decided = ["verified", "skip_verify_email"];
                if !decided.iter().any(|k| v.payload.body.contains_key(*k)) {
                    v.payload.body.insert("skip_verify_email".into(), Value::Bool(true));
                }
            }
            if row_tx.blocking_send(checked).is_err() {
                break;
            }
            n = seq + 1;
        }
        // Only what came up while reading: the rest is the caller's already.
        Ok((n, input.warnings().get(known..).unwrap_or_default().to_vec()))
    });
    let aborted = Arc::new(AtomicBool::new(false));
    let welcome_emails = Arc::new(AtomicUsize::new(0));
    let settings = PlanSettings {
        layer,
        validate: job.validate,
        welcome_emails: welcome_emails.clone(),
        mode,
        dry_run: job.dry_run,
        batch_size,
        checkbox_tags: checkbox_tags.clone(),
        memory: memory.clone(),
        changes: Some(changes.clone()),
        prune_options: args.prune_options,
    };
    let planner =
        tokio::spawn(plan::plan(client.clone(), settings, row_rx, plan_tx, aborted.clone()));
    let (interrupt_tx, interrupt) = watch::channel(0u32);
    let ctrl_c = tokio::spawn(async move {
        // Ctrl-C and SIGTERM (what `timeout` and CI systems send) stop the run alike.
        while crate::commands::signals::stop_signal().await {
            interrupt_tx.send_modify(|n| *n += 1);
        }
    });
    let engine_settings = EngineSettings {
        max_jobs,
        // Memberships still go in bulk jobs of their own size.
        batch_size: if one_at_a_time { MAX_BATCH } else { batch_size },
        checkbox_tags,
        one_at_a_time,
        first_batch,
        memory,
        ..EngineSettings::default()
    };
    let stop = Stop { interrupt, aborted };
    // Rows settled over time, sampled once a second for report.html's chart.
    let timeline = Timeline::new(&progress);
    let clock = std::time::Instant::now();
    let engine_run = engine::run(
        client.clone(),
        engine_settings,
        plan_rx,
        report,
        &mut journal,
        &timeline,
        stop,
    );
    tokio::pin!(engine_run);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let end = loop {
        tokio::select! {
            end = &mut engine_run => break end?,
            _ = tick.tick() => timeline.sample(clock.elapsed().as_secs_f64(), client.stats().rate_limited),
        }
    };
    timeline.sample(clock.elapsed().as_secs_f64(), client.stats().rate_limited);
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
    let (changed, first_changes) = changes.finish()?;
    let stats = client.stats();
    // The `finish` line is written by the caller, once the exit code is known.
    Ok(RunResult {
        rows,
        requests: stats.requests,
        rate_limited: stats.rate_limited,
        rate_limit_wait_secs: stats.rate_limit_wait.as_secs_f64(),
        jobs: end.stats.jobs,
        too_many_jobs: end.stats.too_many_jobs,
        welcome_emails: welcome_emails.load(Ordering::Relaxed) + end.stats.welcome_emails as usize,
        warnings,
        fatal,
        changes: Some(changed),
        first_changes,
        timeline: timeline.samples(),
    })
}

/// The input's name for each API column, for `changes.csv`: a file's own headers (legacy and
/// data-importer names included), and a user's default organization under the column that
/// named it.
fn column_names(layer: &dyn Layer, mapped: &MappedHeader) -> HashMap<String, String> {
    let mut names: HashMap<String, String> =
        mapped.mapped().map(|c| (c.canonical.clone(), c.raw.clone())).collect();
    if let Some(field) = layer.facts().refs.as_ref().map(|r| r.default_field) {
        if let (false, Some(raw)) = (names.contains_key(field), names.get("organization").cloned())
        {
            names.insert(field.to_string(), raw);
        }
    }
    names
}
