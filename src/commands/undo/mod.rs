//! `zdbulk undo RUN_DIR [--dry-run] [--restore-updates]`: delete what an import run created,
//! remove the memberships it added to people it did not create, and list (or write back) the
//! values of the records it updated, reading the run's journal (`design.md` §1, §2).
//!
//! Undo is itself a run with its own directory, and may be run again at any time: records are
//! looked up first, and what is gone already is reported so, never as a failure.

mod plan;
mod scan;
mod send;
mod show;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde_json::Value;

use crate::cli::{TargetArgs, UndoArgs};
use crate::error::{usage_error, ExitStatus};
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::output::summary::Summary;
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::memory::{Memory, Started};
use crate::resource::{layer, Resource};
use crate::settings::resolve_target;
use plan::Step;

/// What the journal says of the run, checked: an import that finished with nothing in doubt.
fn import_run(dir: &Path) -> anyhow::Result<(Memory, Started)> {
    let shown = dir.display();
    if !dir.join("journal.ndjson").is_file() {
        return Err(usage_error(format!(
            "{shown} is not an import run directory (it has no journal.ndjson): give the directory an import wrote, zdbulk-runs/<time>-<resource>/"
        )));
    }
    let memory = Memory::read(dir, true).map_err(|e| {
        usage_error(format!("{shown}: its journal cannot be read ({e}); nothing was sent"))
    })?;
    let started = memory.started.clone();
    let Some(started) = started.filter(|s| s.mode != "undo" && s.mode != "merge") else {
        return Err(usage_error(format!(
            "{shown} is not an import run (its journal does not start one, or it is an undo): give the directory an import wrote"
        )));
    };
    let summary: Option<Value> =
        std::fs::read(dir.join("summary.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let said = |k: &str| summary.as_ref().and_then(|s| s.get(k)).cloned();
    let dry = started.args.as_ref().is_some_and(|a| a.dry_run)
        || said("dry_run") == Some(Value::Bool(true))
        || said("mode") == Some(Value::from("validate"));
    if dry {
        return Err(usage_error(format!(
            "{shown} is a dry run or a validation: it changed nothing in Zendesk, so there is nothing to undo"
        )));
    }
    if !matches!(started.resource, Resource::Organizations | Resource::Users) {
        return Err(usage_error(format!(
            "{shown} imported {}: undo handles organizations and users runs",
            layer(started.resource).plural()
        )));
    }
    if memory.finished.is_none() || memory.in_doubt() {
        return Err(usage_error(format!(
            "{shown} did not finish, or some of its rows were sent without an answer: undo would not know what it created. Finish it first with `zdbulk resume {shown}`, then undo it"
        )));
    }
    Ok((memory, started))
}

/// The account: the undo's own target flags, else the one the import ran against (`--sandbox`
/// state lives where the import was started).
fn target_of(args: &UndoArgs, started: &Started) -> (TargetArgs, PathBuf) {
    let given = &args.target;
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if given.sandbox || given.subdomain.is_some() || given.url.is_some() {
        return (given.clone(), here);
    }
    let journaled = started.args.as_ref().map(|a| a.target.clone());
    let target = journaled.unwrap_or(TargetArgs {
        sandbox: false,
        subdomain: None,
        url: Some(started.target.clone()),
    });
    let cwd = started.cwd.as_ref().map(PathBuf::from).unwrap_or(here);
    (target, cwd)
}

/// The undo's run directory: `--run-dir`, or `zdbulk-runs/<UTC time>-undo-<resource>`.
fn out_dir(args: &UndoArgs, resource: Resource) -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let name = format!("undo-{}", layer(resource).plural());
    crate::commands::run_dir::create(args.out_dir.as_deref(), &cwd, &name)
}

use super::import::api;

/// Runs `zdbulk undo`.
pub async fn run(args: UndoArgs) -> anyhow::Result<ExitStatus> {
    let started_at = chrono::Utc::now();
    let clock = Instant::now();
    let import_dir = args.run_dir.clone();
    let (memory, started) = import_run(&import_dir)?;
    let resource = started.resource;
    let done = scan::done(&import_dir, &memory, resource)
        .with_context(|| format!("failed to read the journal of {}", import_dir.display()))?;
    drop(memory);
    let (target_args, cwd) = target_of(&args, &started);
    let target = resolve_target(&target_args, &cwd).await?;
    for w in &target.warnings {
        eprintln!("warning: {w}");
    }
    let client = target.client(None)?;
    let lines = plan::plan(&client, resource, done, args.restore_updates)
        .await
        .map_err(|e| api(e, "failed to look up the records the run touched"))?;
    let dir = out_dir(&args, resource)?;
    let failed = FailedRows::create(
        &dir,
        FailedFormat::Csv,
        send::FAILED_HEADER.map(String::from).to_vec(),
    )?;
    let mut report = ReportWriter::create(&dir, failed)?;
    let mut journal = Journal::open(&dir)?;
    journal.append(&Entry::Start {
        resource: layer(resource).plural().into(),
        input: std::path::absolute(&import_dir).unwrap_or(import_dir.clone()).display().to_string(),
        mode: "undo".into(),
        target: client.base_url().to_string(),
        at: started_at.to_rfc3339(),
        args: None,
        cwd: Some(cwd.display().to_string()),
        fingerprint: None,
    })?;
    let work = lines.iter().filter(|l| matches!(l.step, Step::Delete | Step::Restore(_))).count();
    let (jobs, fatal) = if args.dry_run {
        for line in &lines {
            report.record(send::settled(line))?;
        }
        (0, None)
    } else {
        let sent =
            send::send(client.clone(), resource, &lines, &mut report, &mut journal, args.quiet)
                .await?;
        (sent.jobs, sent.fatal)
    };
    let counts = report.finish(lines.len()).context("failed to finish the report")?;
    let status = crate::error::run_status(&counts, fatal.as_ref());
    journal
        .append(&Entry::Finish { exit_code: status.code(), at: chrono::Utc::now().to_rfc3339() })?;
    let stats = client.stats();
    let summary = Summary {
        resource: layer(resource).plural().into(),
        input: import_dir.display().to_string(),
        mode: "undo".into(),
        dry_run: args.dry_run,
        dialect: "journal".into(),
        rows: lines.len(),
        counts: Summary::counts_from(&counts),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        duration_secs: clock.elapsed().as_secs_f64(),
        api_requests: stats.requests,
        rate_limit_waits: stats.rate_limited,
        rate_limit_wait_secs: stats.rate_limit_wait.as_secs_f64(),
        jobs,
        too_many_jobs: 0,
        run_dir: dir.display().to_string(),
        report: dir.join("report.csv").display().to_string(),
        failed_rows: Some(dir.join("failed.csv"))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string()),
        target: Some(target.base_url.to_string()),
        failures: crate::output::summary::failures_by_code(&dir.join("report.csv"))
            .with_context(|| format!("failed to read {}", dir.join("report.csv").display()))?,
        welcome_emails: None,
        changes: None,
        warnings: target.warnings.clone(),
        exit_code: status.code(),
    };
    summary
        .write(&dir)
        .with_context(|| format!("failed to write {}", dir.join("summary.json").display()))?;
    crate::output::html::write(&summary, &[], &dir)
        .with_context(|| format!("failed to write {}", dir.join("report.html").display()))?;
    target.shutdown().await?;
    show::print(&summary, &dir, &import_dir, work, args.json, args.quiet);
    match fatal {
        Some(_) if status == ExitStatus::Interrupted => {
            eprintln!(
                "interrupted: every record has a line in {}; run `zdbulk undo {}` again to finish (what is gone already is not sent twice)",
                dir.join("report.csv").display(),
                import_dir.display()
            );
            Ok(status)
        }
        Some(err) => Err(api(
            err,
            &format!(
                "the undo stopped early; every record has a line in {}; run it again to finish",
                dir.join("report.csv").display()
            ),
        )),
        None => Ok(status),
    }
}
