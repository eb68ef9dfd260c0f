//! The end of a merge run, first or resumed: invalid rows and dry-run plans go straight to the
//! report, real merges through the loop (`send`), then `summary.json`, the journal's finish
//! line and what the user sees.

use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::settle::{self, Sink};
use super::{send, Work};
use crate::error::ExitStatus;
use crate::output::changes::ChangeLog;
use crate::output::report::ReportWriter;
use crate::output::summary::Summary;
use crate::output::RowOutcome;
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::reporter::Reporter;
use crate::progress::Progress;
use crate::zendesk::Client;

/// One merge run's settings.
pub(crate) struct Run {
    pub(crate) dir: PathBuf,
    pub(crate) input: PathBuf,
    pub(crate) rows: usize,
    pub(crate) dry_run: bool,
    pub(crate) quiet: bool,
    pub(crate) json: bool,
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    pub(crate) warnings: Vec<String>,
    /// `changes.csv` (a resumed run keeps the first run's).
    pub(crate) changes: Option<ChangeLog>,
}

impl Run {
    /// Settles every row: `done` lines as they are, `works` merged (or planned, without a
    /// journal), then writes the summary and returns the exit status.
    pub(crate) async fn finish(
        self,
        client: &Client,
        mut report: ReportWriter,
        mut journal: Option<Journal>,
        done: Vec<RowOutcome>,
        works: Vec<Work>,
        keeps: Vec<(u64, Map<String, Value>)>,
    ) -> anyhow::Result<ExitStatus> {
        let progress = Progress::new(self.rows as u64, self.quiet || self.json);
        for o in done {
            progress.on_row_settled(o.status);
            report.record(o)?;
        }
        let (merges, fatal) = match journal.as_mut() {
            None => {
                for w in &works {
                    report.record(settle::planned(w))?;
                }
                (0, None)
            }
            Some(j) => {
                let (tx, rx) = watch::channel(0u32);
                let signals = tokio::spawn(async move {
                    while crate::commands::signals::stop_signal().await {
                        tx.send_modify(|n| *n += 1);
                    }
                    // No signals to watch: keep the sender, so the loop never sees a change.
                    std::future::pending::<()>().await;
                });
                let mut sink = Sink { report: &mut report, journal: j, progress: &progress };
                let sent = send::send(client, works, keeps, &mut sink, rx).await;
                signals.abort();
                let sent = sent?;
                (sent.merges, sent.fatal)
            }
        };
        progress.finish();
        let changes = match &self.changes {
            Some(c) => Some(c.finish()?.0),
            None => None,
        };
        let counts = report.finish(self.rows).context("failed to finish the report")?;
        let status = crate::error::run_status(&counts, fatal.as_ref());
        if let Some(j) = journal.as_mut() {
            let at = chrono::Utc::now().to_rfc3339();
            j.append(&Entry::Finish { exit_code: status.code(), at })?;
        }
        let stats = client.stats();
        let finished = chrono::Utc::now();
        let summary = Summary {
            resource: "organizations".into(),
            input: self.input.display().to_string(),
            mode: "merge".into(),
            dry_run: self.dry_run,
            dialect: "pairs".into(),
            rows: self.rows,
            counts: Summary::counts_from(&counts),
            started_at: self.started_at.to_rfc3339(),
            finished_at: finished.to_rfc3339(),
            duration_secs: (finished - self.started_at).num_milliseconds() as f64 / 1000.0,
            api_requests: stats.requests,
            rate_limit_waits: stats.rate_limited,
            rate_limit_wait_secs: stats.rate_limit_wait.as_secs_f64(),
            jobs: merges,
            too_many_jobs: 0,
            run_dir: self.dir.display().to_string(),
            report: self.dir.join("report.csv").display().to_string(),
            failed_rows: Some(self.dir.join("failed.csv"))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string()),
            target: Some(client.base_url().to_string()),
            failures: crate::output::summary::failures_by_code(&self.dir.join("report.csv"))
                .with_context(|| {
                    format!("failed to read {}", self.dir.join("report.csv").display())
                })?,
            welcome_emails: None,
            changes,
            warnings: self.warnings.clone(),
            exit_code: status.code(),
        };
        summary.write(&self.dir).with_context(|| {
            format!("failed to write {}", self.dir.join("summary.json").display())
        })?;
        crate::output::html::write(&summary, &[], &self.dir).with_context(|| {
            format!("failed to write {}", self.dir.join("report.html").display())
        })?;
        self.print(&summary);
        match fatal {
            Some(_) if status == ExitStatus::Interrupted => {
                eprintln!(
                    "interrupted: every pair has a line in {}; run `zdbulk resume {}` to finish (no merge is sent twice)",
                    self.dir.join("report.csv").display(),
                    self.dir.display()
                );
                Ok(status)
            }
            Some(err) => Err(crate::commands::import::api(
                err,
                &format!(
                    "the merge run stopped early; every pair has a line in {}; run `zdbulk resume {}` to finish",
                    self.dir.join("report.csv").display(),
                    self.dir.display()
                ),
            )),
            None => Ok(status),
        }
    }

    fn print(&self, summary: &Summary) {
        if self.json {
            match serde_json::to_string_pretty(summary) {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("warning: failed to print the summary as JSON: {e}"),
            }
            return;
        }
        if self.quiet {
            return;
        }
        let verb = if self.dry_run { "planned (dry run; nothing merged)" } else { "merged" };
        println!(
            "{} pairs of {} {verb} in {:.1}s",
            summary.rows, summary.input, summary.duration_secs
        );
        for (status, n) in &summary.counts {
            println!("  {status:<10} {n:>8}");
        }
        println!("  {} API requests, {} merges sent", summary.api_requests, summary.jobs);
        if let Some(n) = summary.changes {
            let what = if self.dry_run { "would be lost or kept" } else { "lost or kept" };
            println!("  {n} values of losers {what}: {}", self.dir.join("changes.csv").display());
        }
        println!("report: {}", self.dir.join("report.csv").display());
        for name in ["failed.csv", "failed.xlsx"] {
            let failed = self.dir.join(name);
            if failed.exists() {
                println!("failed: {} (fix and merge that file again)", failed.display());
            }
        }
    }
}
