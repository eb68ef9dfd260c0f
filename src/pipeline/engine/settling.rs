//! Rows reaching their end: job results reconciled, rows whose fate was unknown settled after
//! their lookup, users held for their memberships, and every row still open when the run
//! stops given a line.

use std::collections::HashMap;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt as _, StreamExt as _};
use serde_json::Value;
use tokio::sync::mpsc;

use tokio::time::Instant;

use super::{Engine, InFlight, PlanMsg};
use crate::output::report::ReportWriter;
use crate::output::{RowOutcome, RowStatus};
use crate::pipeline::api::{JobState, Port};
use crate::pipeline::batch::{Batch, Op, PlannedRow};
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::reconcile::{reconcile, JobEnd};
use crate::pipeline::recovery::{item_of, judge, recover, Recovered};
use crate::pipeline::reporter::Reporter;
use crate::resource::Resource;

impl<A: Port> Engine<A> {
    /// A row is settled as `o`: a membership goes to its user row, a user row with links is
    /// held until they are made, and anything else is written to the report. `row` is the
    /// planned row it came from, when the job answered for it.
    pub(super) fn finish(
        &mut self,
        o: RowOutcome,
        batch: &Batch,
        row: Option<&PlannedRow>,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<()> {
        if o.status == RowStatus::Created && row.is_some_and(|r| r.mails) {
            self.stats.welcome_emails += 1;
        }
        let mut o = o;
        if o.status == RowStatus::Created && row.is_some_and(unfindable) && o.message.is_none() {
            o.message = Some(UNFINDABLE.into());
        }
        if batch.resource == Resource::Memberships {
            // A membership no row waits for (one sent on its own: undo checks those itself
            // once the engine is done; or a late second answer for one already settled) adds
            // nothing to the report.
            if let Some(user_row) = self.links.settled(o) {
                settle(report, reporter, user_row)?;
            }
            return Ok(());
        }
        match row {
            Some(r) if !r.links.is_empty() => {
                // A new user belongs to no organization but its default. An updated one is
                // looked up: whether a write of `organization_id` drops the others is
                // documented for `PUT users/{id}` only (`zendesk-api.md` §4), so nothing is
                // assumed.
                let fresh = o.status == RowStatus::Created;
                let mut o = o;
                o.original = Some(r.original.clone());
                self.link(o, r.links.clone(), fresh, report, reporter)
            }
            _ => settle(report, reporter, o),
        }
    }

    /// A row that wants `links`: made at once for a `fresh` record (it has no other
    /// memberships), else once its memberships have been looked up.
    pub(super) fn link(
        &mut self,
        mut o: RowOutcome,
        links: Vec<(u64, String)>,
        fresh: bool,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<()> {
        let ok = matches!(o.status, RowStatus::Created | RowStatus::Updated | RowStatus::Unchanged);
        // A resumed run made some of them already: they are reported, not sent again.
        let mut links = links;
        if let (true, Some(memory)) = (ok, &self.settings.memory) {
            let made = memory.linked(o.seq);
            let (done, rest): (Vec<_>, Vec<_>) =
                links.into_iter().partition(|(org, _)| made.contains(org));
            links = rest;
            if !done.is_empty() {
                let named: Vec<String> = done.iter().map(|(_, n)| format!("'{n}'")).collect();
                let added = format!("added to organization {}", named.join(", "));
                o.message = Some(match o.message.take() {
                    Some(m) => format!("{m}; {added}"),
                    None => added,
                });
                if o.status == RowStatus::Unchanged {
                    o.status = RowStatus::Updated;
                    o.action = crate::output::Action::Update;
                }
            }
        }
        let Some(user) = o.zendesk_id.filter(|_| ok && !links.is_empty()) else {
            return settle(report, reporter, o);
        };
        let original = o.original.take().unwrap_or_default();
        if fresh {
            let (done, full) = self.links.hold(o, links, &[], original);
            self.retry.extend(full);
            if let Some(o) = done {
                settle(report, reporter, o)?;
            }
            return Ok(());
        }
        let api = self.api.clone();
        self.linking.push(
            async move {
                let found = api.memberships(Resource::Users, user).await;
                (o, links, original, found)
            }
            .boxed(),
        );
        Ok(())
    }

    pub(super) fn absorb(
        &mut self,
        states: Vec<(String, JobState)>,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
        journal: &mut Journal,
        recovering: &mut FuturesUnordered<BoxFuture<'static, Recovered>>,
    ) -> anyhow::Result<()> {
        let answered: HashMap<String, JobState> = states.into_iter().collect();
        let sent = self.last_poll.unwrap_or_else(Instant::now);
        self.learn(&answered, sent);
        let ids: Vec<String> = self.in_flight.keys().cloned().collect();
        for id in ids {
            let state = answered.get(&id).cloned().unwrap_or(JobState::Missing);
            let end = match state {
                JobState::Pending => {
                    if let Some(job) = self.in_flight.get_mut(&id) {
                        job.seen_pending = true;
                        job.pending_age = sent.saturating_duration_since(job.submitted);
                    }
                    continue;
                }
                JobState::Missing => {
                    let Some(job) = self.in_flight.get_mut(&id) else { continue };
                    job.misses += 1;
                    if job.misses < self.settings.missing_polls {
                        continue;
                    }
                    JobEnd::Failed(format!("job {id} disappeared from job_statuses"))
                }
                JobState::Done(end) => end,
            };
            let Some(job) = self.in_flight.remove(&id) else { continue };
            if self.window < self.settings.max_jobs {
                self.window += 1;
            }
            let (status, results) = match &end {
                JobEnd::Completed(r) => ("completed", r.clone()),
                JobEnd::Failed(_) => ("failed", vec![]),
            };
            journal.write(&Entry::Results {
                batch: job.batch_no,
                status: status.into(),
                results,
            })?;
            self.settle_results(&job.batch, Some(&id), &end, recovering, report, reporter)?;
        }
        journal.sync()?;
        reporter.on_jobs_in_flight(self.in_flight.len());
        Ok(())
    }

    /// A batch's end (a job's, or the results of rows sent one at a time) matched to its rows:
    /// each row with a result is finished, the rest are looked up before anything is re-sent.
    pub(super) fn settle_results(
        &mut self,
        batch: &Batch,
        job_id: Option<&str>,
        end: &JobEnd,
        recovering: &mut FuturesUnordered<BoxFuture<'static, Recovered>>,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<()> {
        let settled = reconcile(batch, job_id, end);
        for o in settled.outcomes {
            let row = batch.rows.iter().find(|r| r.seq == o.seq && r.key == o.key);
            self.finish(o, batch, row, report, reporter)?;
        }
        if !settled.unknown.is_empty() {
            self.stats.recoveries += 1;
            let rest = Batch { resource: batch.resource, op: batch.op, rows: settled.unknown };
            recovering.push(recover(self.api.clone(), rest, false).boxed());
        }
        Ok(())
    }

    /// Rows whose fate was unknown, now looked up: settle what is done (a record that holds
    /// the row's values, a delete that is gone), re-send the rest. Returns what each row came
    /// to, for the journal (`null`: sent again).
    pub(super) fn after_lookup(
        &mut self,
        batch: Batch,
        found: Vec<Option<Value>>,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<Vec<Value>> {
        let tags = self.settings.checkbox_tags.clone();
        let verdicts = judge(&batch, found, &tags, Some(self.settings.max_attempts));
        let mut resend = Vec::new();
        let mut items = Vec::with_capacity(batch.rows.len());
        for (row, verdict) in batch.rows.iter().zip(verdicts) {
            match verdict {
                Some(o) => {
                    items.push(item_of(&o));
                    self.finish(o, &batch, Some(row), report, reporter)?;
                }
                None => {
                    items.push(Value::Null);
                    let mut row = row.clone();
                    row.attempts += 1;
                    resend.push(row);
                }
            }
        }
        if !resend.is_empty() {
            self.retry.push_back(Batch { resource: batch.resource, op: batch.op, rows: resend });
        }
        Ok(items)
    }

    /// The API is gone: rows of jobs in flight get a line saying their fate is unknown.
    pub(super) fn abandon_in_flight(
        &mut self,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
        why: &str,
    ) -> anyhow::Result<()> {
        let jobs: Vec<(String, InFlight)> = self.in_flight.drain().collect();
        for (id, job) in jobs {
            for row in &job.batch.rows {
                let msg =
                    format!("unknown: job {id} was in flight and {why}; it may still finish: importing the file again finds what it wrote (by id, external_id or e-mail)");
                self.finish(skipped(row, job.batch.op, &msg), &job.batch, None, report, reporter)?;
            }
        }
        Ok(())
    }

    /// The run stops early: every row not settled yet gets a `skipped` line.
    pub(super) async fn abandon(
        &mut self,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
        rx: &mut mpsc::Receiver<PlanMsg>,
        err: &anyhow::Error,
    ) -> anyhow::Result<()> {
        self.abandon_in_flight(report, reporter, "the run stopped")?;
        let msg = format!("not sent: the run stopped ({err:#})");
        for batch in std::mem::take(&mut self.retry) {
            for row in &batch.rows {
                self.finish(skipped(row, batch.op, &msg), &batch, None, report, reporter)?;
            }
        }
        while let Some((o, _, original, _)) = self.linking.next().await {
            let why = format!("were not sent: the run stopped ({err:#})");
            settle(report, reporter, memberships_not_sent(o, original, &why))?;
        }
        // The planner settles what it still reads as skipped once it sees the abort; take
        // everything until it is done, so no row goes without a line.
        while let Some(m) = rx.recv().await {
            match m {
                PlanMsg::Outcome(o) | PlanMsg::Linked(o, _) => settle(report, reporter, o)?,
                PlanMsg::Batch(b) => {
                    for row in &b.rows {
                        settle(report, reporter, skipped(row, b.op, &msg))?;
                    }
                }
            }
        }
        for o in self.links.abandon(&format!("the run stopped ({err:#})")) {
            settle(report, reporter, o)?;
        }
        Ok(())
    }
}

/// A user row whose memberships were never sent (`why` says why), skipped so that importing it
/// again adds them.
pub(super) fn memberships_not_sent(
    mut o: RowOutcome,
    original: Vec<String>,
    why: &str,
) -> RowOutcome {
    o.status = RowStatus::Skipped;
    o.error_code = Some("MembershipsNotSent".into());
    o.message = Some(format!("its memberships {why}; import the file again to add them"));
    o.original = Some(original);
    o
}

use crate::pipeline::recovery::unfindable;
pub(crate) use crate::pipeline::recovery::UNFINDABLE;

pub(super) fn settle(
    report: &mut ReportWriter,
    reporter: &dyn Reporter,
    o: RowOutcome,
) -> anyhow::Result<()> {
    reporter.on_row_settled(o.status);
    report.record(o)?;
    Ok(())
}

pub(crate) fn failed(
    row: &PlannedRow,
    op: Op,
    code: &str,
    message: &str,
    job: Option<&str>,
) -> RowOutcome {
    let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), op.action(), RowStatus::Failed);
    o.zendesk_id = row.id;
    o.job_id = job.map(str::to_string);
    o.error_code = Some(code.to_string());
    o.message = Some(message.to_string());
    o.original = Some(row.original.clone());
    o
}

pub(super) fn skipped(row: &PlannedRow, op: Op, message: &str) -> RowOutcome {
    let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), op.action(), RowStatus::Skipped);
    o.zendesk_id = row.id;
    o.message = Some(message.to_string());
    o.original = Some(row.original.clone());
    o
}
