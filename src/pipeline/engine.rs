//! Jobs: batches submitted within the account's job window, every job in flight polled with
//! one `job_statuses/show_many` request, results reconciled to rows, and rows whose fate is
//! unknown (failed job, lost answer) looked up before anything is sent again.
//!
//! Polling is timed by when jobs are expected to finish (learned from the jobs seen so far),
//! so one poll usually settles a whole group of jobs: polls stay a small share of requests
//! while the window stays full.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt as _, StreamExt as _};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::api::{JobState, Port, SubmitError};
use super::batch::{Batch, Op, PlannedRow};
use super::diff::would_change;
use super::job_time::JobTime;
use super::journal::{Entry, Journal};
use super::links::{organization_ids, Links};
use super::reconcile::{reconcile, JobEnd};
use super::recovery::{recover, Recovered};
use super::reporter::Reporter;
use crate::output::report::ReportWriter;
use crate::output::{Action, RowOutcome, RowStatus};
use crate::resource::{layer, Resource};

/// What the planner hands the engine, in any order.
#[derive(Debug)]
pub enum PlanMsg {
    /// A row settled without a job (invalid, unchanged, planned in a dry run).
    Outcome(RowOutcome),
    /// A batch to send.
    Batch(Batch),
    /// A row settled without a job that still has links to make once confirmed (a user left
    /// unchanged who joins more organizations); its `original` holds the input cells.
    Linked(RowOutcome, Vec<(u64, String)>),
}

/// The engine's limits.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Most jobs in flight (Zendesk allows 30).
    pub max_jobs: usize,
    /// How many times a row may be sent before it is reported failed.
    pub max_attempts: u32,
    /// The first guess of how long a job takes, before any was seen.
    pub initial_job_estimate: Duration,
    /// The shortest time between two polls.
    pub min_poll_gap: Duration,
    /// How many polls may miss a job before it counts as gone.
    pub missing_polls: u32,
    /// Rows per job (memberships are batched like rows).
    pub batch_size: usize,
    /// Tags checkbox fields add on their own (ignored when a looked-up record is compared).
    pub checkbox_tags: std::sync::Arc<[String]>,
    /// Send rows one request each instead of bulk jobs (`--one-at-a-time`).
    pub one_at_a_time: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_jobs: 30,
            max_attempts: 3,
            // A first guess on the short side: it grows by half at each poll that finds the
            // job still running, so long jobs cost a few polls and short ones no waiting.
            initial_job_estimate: Duration::from_secs(1),
            min_poll_gap: Duration::from_millis(150),
            missing_polls: 5,
            batch_size: super::batch::MAX_BATCH,
            checkbox_tags: std::sync::Arc::from(Vec::new()),
            one_at_a_time: false,
        }
    }
}

/// Counters of one engine run.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Jobs accepted by Zendesk.
    pub jobs: u64,
    /// `job_statuses/show_many` requests.
    pub polls: u64,
    /// Most jobs in flight at once.
    pub peak_in_flight: usize,
    /// `TooManyJobs` answers.
    pub too_many_jobs: u64,
    /// Batches whose rows had to be looked up (failed job, lost answer).
    pub recoveries: u64,
}

/// How the engine ended: its counters, and the error that stopped it early, if any.
pub struct EngineEnd {
    /// Counters.
    pub stats: EngineStats,
    /// Set when the API could not be used; every row still got a report line.
    pub fatal: Option<anyhow::Error>,
}

struct InFlight {
    batch_no: u64,
    batch: Batch,
    submitted: Instant,
    misses: u32,
    /// A poll has seen this job queued or working.
    seen_pending: bool,
    /// The job's age when a poll last saw it running: a lower bound of its duration.
    pending_age: Duration,
}

/// What a submit gave: a job to follow, or (one request a row) the results themselves.
enum Sent {
    Job(String),
    Done(Vec<Value>),
}

type Submitted = (u64, Batch, Result<Sent, SubmitError>);
/// A held row's existing memberships, looked up: (outcome, links, original cells, result).
type Linking = (RowOutcome, Vec<(u64, String)>, Vec<String>, anyhow::Result<Vec<Value>>);
type Polled = anyhow::Result<Vec<(String, JobState)>>;

/// How the run is told to stop early, and tells the planner it stopped.
#[derive(Clone)]
pub struct Stop {
    /// Set to true to interrupt the run (Ctrl-C).
    pub interrupt: tokio::sync::watch::Receiver<bool>,
    /// Set by the engine when the run stops early: the planner then settles every row it
    /// still gets as `skipped` instead of planning it.
    pub aborted: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The error an interrupted run ends with.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Runs batches from `rx` to completion, writing every row's outcome to `report`.
pub async fn run<A: Port>(
    api: A,
    settings: EngineSettings,
    mut rx: mpsc::Receiver<PlanMsg>,
    report: &mut ReportWriter,
    journal: &mut Journal,
    reporter: &dyn Reporter,
    mut stop: Stop,
) -> anyhow::Result<EngineEnd> {
    let mut e = Engine {
        links: Links::new(settings.batch_size),
        linking: FuturesUnordered::new(),
        api,
        window: settings.max_jobs.max(1),
        time: JobTime::new(settings.initial_job_estimate),
        newest_done: None,
        settings,
        stats: EngineStats::default(),
        in_flight: HashMap::new(),
        retry: VecDeque::new(),
        next_batch: 0,
        budget_binding: false,
        last_poll: None,
    };
    let mut submitting: FuturesUnordered<BoxFuture<'static, Submitted>> = FuturesUnordered::new();
    let mut recovering: FuturesUnordered<BoxFuture<'static, Recovered>> = FuturesUnordered::new();
    let mut polling: Option<BoxFuture<'static, Polled>> = None;
    let mut input_open = true;
    let mut fatal: Option<anyhow::Error> = None;
    let mut to_send: Vec<(u64, Batch, Value)> = Vec::new();

    loop {
        // Fill the window: batches to re-send first, then new ones.
        while fatal.is_none() && e.in_flight.len() + submitting.len() + to_send.len() < e.window {
            let batch = match e.retry.pop_front() {
                Some(b) => b,
                None if input_open => match rx.try_recv() {
                    Ok(PlanMsg::Outcome(o)) => {
                        settle(report, reporter, o)?;
                        continue;
                    }
                    Ok(PlanMsg::Linked(o, links)) => {
                        e.link(o, links, false, report, reporter)?;
                        continue;
                    }
                    Ok(PlanMsg::Batch(b)) => b,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        // Nothing else to send: partly filled membership batches go now.
                        if !e.links.is_empty() && e.in_flight.len() + submitting.len() < e.window {
                            e.retry.extend(e.links.drain());
                            if !e.retry.is_empty() {
                                continue;
                            }
                        }
                        break;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        input_open = false;
                        break;
                    }
                },
                None if !e.links.is_empty() => {
                    e.retry.extend(e.links.drain());
                    match e.retry.pop_front() {
                        Some(b) => b,
                        None => break,
                    }
                }
                None => break,
            };
            let batch_no = e.next_batch;
            e.next_batch += 1;
            // The body is built once: the journal records exactly what is sent.
            let request = batch.request();
            journal.write(&Entry::Batch {
                batch: batch_no,
                resource: layer(batch.resource).plural().into(),
                op: batch.op.as_str().into(),
                rows: batch.rows.iter().map(|r| r.row).collect(),
                seqs: batch.rows.iter().map(|r| r.seq).collect(),
                request: request.clone(),
            })?;
            to_send.push((batch_no, batch, request));
        }
        // Every batch is on disk before any of them is sent: one sync for the burst.
        if !to_send.is_empty() {
            journal.sync()?;
        }
        for (batch_no, batch, request) in to_send.drain(..) {
            let api = e.api.clone();
            let each = e.settings.one_at_a_time;
            submitting.push(
                async move {
                    let (resource, op) = (batch.resource, batch.op);
                    let result = if each {
                        api.submit_each(resource, op, request).await.map(Sent::Done)
                    } else {
                        api.submit(resource, op, request).await.map(Sent::Job)
                    };
                    (batch_no, batch, result)
                }
                .boxed(),
            );
        }

        // An interrupt (Ctrl-C) stops the run like a dead API does, but exits 130.
        if fatal.is_none() && *stop.interrupt.borrow_and_update() {
            reporter.on_wait("interrupted; settling the rows in flight");
            e.abandon_in_flight(report, reporter, "the run was interrupted")?;
            fatal = Some(Interrupted.into());
        }
        let idle = submitting.is_empty()
            && recovering.is_empty()
            && polling.is_none()
            && e.linking.is_empty();
        let linked = e.links.is_empty();
        if e.in_flight.is_empty()
            && e.retry.is_empty()
            && idle
            && linked
            && !input_open
            && fatal.is_none()
        {
            break;
        }
        if let Some(err) = fatal.take() {
            stop.aborted.store(true, std::sync::atomic::Ordering::SeqCst);
            if idle {
                e.abandon(report, reporter, &mut rx, &err).await?;
                return Ok(EngineEnd { stats: e.stats, fatal: Some(err) });
            }
            fatal = Some(err);
        }

        let poll_at = e.next_poll_at();
        let can_take =
            fatal.is_none() && input_open && e.in_flight.len() + submitting.len() < e.window;
        tokio::select! {
            Some((batch_no, batch, result)) = submitting.next() => {
                match result {
                    Ok(Sent::Done(results)) => {
                        journal.write(&Entry::Results { batch: batch_no, status: "completed".into(), results: results.clone() })?;
                        let settled = reconcile(&batch, "", &JobEnd::Completed(results));
                        for mut o in settled.outcomes {
                            o.job_id = None;
                            let row = batch.rows.iter().find(|r| r.seq == o.seq && r.key == o.key);
                            e.finish(o, &batch, row, report, reporter)?;
                        }
                        if !settled.unknown.is_empty() {
                            let rest = Batch { resource: batch.resource, op: batch.op, rows: settled.unknown };
                            recovering.push(recover(e.api.clone(), rest, false).boxed());
                        }
                    }
                    Ok(Sent::Job(job_id)) => {
                        // Synced with the next burst or poll: a lost job id only means the
                        // rows are looked up again.
                        journal.write(&Entry::Job { batch: batch_no, job_id: job_id.clone() })?;
                        e.stats.jobs += 1;
                        let job = InFlight {
                            batch_no,
                            batch,
                            submitted: Instant::now(),
                            misses: 0,
                            seen_pending: false,
                            pending_age: Duration::ZERO,
                        };
                        e.in_flight.insert(job_id, job);
                        e.stats.peak_in_flight = e.stats.peak_in_flight.max(e.in_flight.len());
                        reporter.on_jobs_in_flight(e.in_flight.len());
                    }
                    Err(SubmitError::TooManyJobs) => {
                        // The account runs other jobs too: fit our window to what is left.
                        e.stats.too_many_jobs += 1;
                        e.window = e.in_flight.len().max(1);
                        reporter.on_wait("the account's job limit is reached; waiting for jobs to finish");
                        if e.in_flight.is_empty() {
                            tokio::time::sleep(e.time.estimate().min(Duration::from_secs(5))).await;
                        }
                        e.retry.push_back(batch);
                    }
                    Err(SubmitError::AnswerLost) => {
                        e.stats.recoveries += 1;
                        reporter.on_wait("an answer was lost; checking whether its rows were written");
                        recovering.push(recover(e.api.clone(), batch, true).boxed());
                    }
                    Err(SubmitError::Refused { code, message }) => {
                        journal.append(&Entry::Results { batch: batch_no, status: "refused".into(), results: vec![] })?;
                        for row in &batch.rows {
                            let o = failed(row, batch.op, &code, &message, None);
                            e.finish(o, &batch, Some(row), report, reporter)?;
                        }
                    }
                    Err(SubmitError::Fatal(err)) => {
                        for row in &batch.rows {
                            let msg = format!("not sent: the run stopped ({err:#})");
                            e.finish(skipped(row, batch.op, &msg), &batch, None, report, reporter)?;
                        }
                        fatal = Some(err);
                    }
                }
            }
            Some(result) = async { match polling.as_mut() { Some(p) => Some(p.await), None => None } } => {
                polling = None;
                match result {
                    Ok(states) => e.absorb(states, report, reporter, journal, &mut recovering)?,
                    Err(err) => {
                        // Polls are reads: the client already retried them; the API is gone.
                        fatal = Some(err);
                        e.abandon_in_flight(report, reporter, "its job's status could not be read")?;
                    }
                }
            }
            Some((batch, result)) = recovering.next() => {
                match result {
                    Ok(found) => e.after_lookup(batch, found, report, reporter)?,
                    Err(err) => {
                        for row in &batch.rows {
                            let msg = format!("unknown: its job's answer was lost and the lookup failed ({err:#}); `zdbulk resume` checks it");
                            e.finish(skipped(row, batch.op, &msg), &batch, None, report, reporter)?;
                        }
                        fatal = Some(err);
                    }
                }
            }
            Some((o, links, original, result)) = e.linking.next() => {
                match result {
                    Ok(memberships) => {
                        let existing = organization_ids(&memberships);
                        let (done, full) = e.links.hold(o, links, &existing, original);
                        e.retry.extend(full);
                        if let Some(o) = done {
                            settle(report, reporter, o)?;
                        }
                    }
                    Err(err) => {
                        let mut o = o;
                        o.status = RowStatus::Skipped;
                        o.error_code = Some("MembershipsNotSent".into());
                        o.message = Some(format!("its memberships could not be read ({err:#}); import the file again to add them"));
                        o.original = Some(original);
                        settle(report, reporter, o)?;
                        fatal = Some(err);
                    }
                }
            }
            // Wakes the loop; the interrupt is handled at its top.
            _ = stop.interrupt.changed(), if fatal.is_none() => {}
            msg = rx.recv(), if can_take => {
                match msg {
                    Some(PlanMsg::Outcome(o)) => settle(report, reporter, o)?,
                    Some(PlanMsg::Linked(o, links)) => e.link(o, links, false, report, reporter)?,
                    Some(PlanMsg::Batch(b)) => e.retry.push_back(b),
                    None => input_open = false,
                }
            }
            _ = tokio::time::sleep_until(poll_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))),
                if polling.is_none() && poll_at.is_some() && fatal.is_none() => {
                let ids: Vec<String> = e.in_flight.keys().cloned().collect();
                let api = e.api.clone();
                e.stats.polls += 1;
                e.last_poll = Some(Instant::now());
                polling = Some(async move { api.poll(ids).await }.boxed());
            }
        }
    }
    Ok(EngineEnd { stats: e.stats, fatal })
}

struct Engine<A> {
    api: A,
    /// Rows held for their memberships, and the membership batches being filled.
    links: Links,
    /// Existing memberships being looked up for rows that join organizations.
    linking: FuturesUnordered<BoxFuture<'static, Linking>>,
    settings: EngineSettings,
    window: usize,
    stats: EngineStats,
    in_flight: HashMap<String, InFlight>,
    retry: VecDeque<Batch>,
    next_batch: u64,
    /// How long jobs take.
    time: JobTime,
    /// When the newest job found done so far was submitted.
    newest_done: Option<Instant>,
    /// Whether the request budget has run out during the run (polls then cost creates).
    budget_binding: bool,
    last_poll: Option<Instant>,
}

impl<A: Port> Engine<A> {
    /// A row is settled as `o`: a membership goes to its user row, a user row with links is
    /// held until they are made, and anything else is written to the report. `row` is the
    /// planned row it came from, when the job answered for it.
    fn finish(
        &mut self,
        o: RowOutcome,
        batch: &Batch,
        row: Option<&PlannedRow>,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<()> {
        if batch.resource == Resource::Memberships {
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
    fn link(
        &mut self,
        mut o: RowOutcome,
        links: Vec<(u64, String)>,
        fresh: bool,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<()> {
        let ok = matches!(o.status, RowStatus::Created | RowStatus::Updated | RowStatus::Unchanged);
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

    /// Whether the request budget, not the job window, bounds the run: the budget has run out
    /// already, or the window would cycle faster than the budget allows (the window's jobs
    /// per job time, in requests a minute, above nine tenths of the budget). Then every poll
    /// costs a create, and time is what there is to spare.
    fn budget_binds(&self) -> bool {
        self.budget_binding
            || self.api.requests_per_minute().is_some_and(|limit| {
                let job_secs = self.time.estimate().as_secs_f64().max(0.05);
                self.window as f64 * 60.0 / job_secs > f64::from(limit) * 0.9
            })
    }

    /// When to poll next.
    ///
    /// - Jobs no poll has seen yet: when the newest of them is expected to be done, so one
    ///   poll settles the whole group and the window is refilled in one burst (groups stay
    ///   together, and polls stay a small share of the request budget).
    /// - Jobs a poll saw still running and now overdue (stragglers): soon again while the
    ///   youngest of them is only a little late (a twentieth of a job's time), then backing
    ///   off in proportion to its age. A job some other group's poll saw running is not a
    ///   straggler until its own time is up.
    /// - When the request budget binds, a fifth of a job's time later than expected and a
    ///   quarter of it between looks: a late poll only costs time the budget makes spare,
    ///   while one that finds a job still running costs a request a create needed.
    fn next_poll_at(&self) -> Option<Instant> {
        let now = Instant::now();
        let binds = self.budget_binds();
        let estimate = self.time.estimate();
        let expected = if binds { estimate.mul_f64(1.2) } else { estimate };
        // A job another group's poll saw running is still part of its own group until it is
        // due: only overdue jobs are stragglers. The youngest of them sets the pace of second
        // looks (a job only a little late is looked at soon; one long overdue, more rarely).
        let overdue = |j: &InFlight| j.seen_pending && now >= j.submitted + expected;
        let fresh = self.in_flight.values().filter(|j| !overdue(j)).map(|j| j.submitted).max();
        let seen = self.in_flight.values().filter(|j| overdue(j)).map(|j| j.submitted).max();
        let group = fresh.map(|t| t + expected);
        let straggler = seen.map(|t| {
            let age = now - t;
            let soon = if binds { 0.25 } else { 0.05 };
            let gap = if age < estimate.mul_f64(1.5) {
                estimate.mul_f64(soon)
            } else {
                age.mul_f64(0.25)
            };
            self.last_poll.unwrap_or(now) + gap.max(self.settings.min_poll_gap)
        });
        let at = match (group, straggler) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(match self.last_poll {
            Some(last) => at.max(last + self.settings.min_poll_gap),
            None => at,
        })
    }

    /// Learns how long jobs take from one poll's answer (`sent`: when the poll went out):
    /// the oldest job still running, or, when every job asked about is done, the newest one.
    ///
    /// A job still running although a job submitted after it has finished is a straggler,
    /// not news about job times: it gets its own second looks, but if its age counted, one
    /// slow job would hold every later group back for as long as it ran.
    fn learn(&mut self, answered: &HashMap<String, JobState>, sent: Instant) {
        self.budget_binding = self.budget_binding || self.api.budget_binding();
        let probe = !self.budget_binds();
        let age = |j: &InFlight| sent.saturating_duration_since(j.submitted);
        let state = |id: &String| answered.get(id);
        let newest_done = self
            .in_flight
            .iter()
            .filter(|(id, _)| matches!(state(id), Some(JobState::Done(_))))
            .map(|(_, j)| j.submitted)
            .chain(self.newest_done)
            .max();
        let mut any_pending = false;
        let mut pending = None;
        for (id, job) in &self.in_flight {
            if matches!(state(id), Some(JobState::Pending)) {
                any_pending = true;
                if newest_done.is_none_or(|done| job.submitted > done) {
                    pending = pending.max(Some(age(job)));
                }
            }
        }
        self.newest_done = newest_done;
        if let Some(a) = pending {
            self.time.running(a);
        }
        if any_pending {
            return;
        }
        // Only jobs this poll asked about (jobs accepted while it was out are not in it).
        let Some(newest) = self
            .in_flight
            .iter()
            .filter(|(id, _)| answered.contains_key(*id))
            .map(|(_, j)| j)
            .max_by_key(|j| j.submitted)
        else {
            return;
        };
        let seen_running = newest.seen_pending.then_some(newest.pending_age);
        self.time.done(age(newest), seen_running, probe);
    }

    fn absorb(
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
            let settled = reconcile(&job.batch, &id, &end);
            for o in settled.outcomes {
                let row = job.batch.rows.iter().find(|r| r.seq == o.seq && r.key == o.key);
                self.finish(o, &job.batch, row, report, reporter)?;
            }
            if !settled.unknown.is_empty() {
                self.stats.recoveries += 1;
                let batch =
                    Batch { resource: job.batch.resource, op: job.batch.op, rows: settled.unknown };
                recovering.push(recover(self.api.clone(), batch, false).boxed());
            }
        }
        journal.sync()?;
        reporter.on_jobs_in_flight(self.in_flight.len());
        Ok(())
    }

    /// Rows whose fate was unknown, now looked up: settle what is done (a record that holds
    /// the row's values, a delete that is gone), re-send the rest. A row that cannot be found
    /// again (a user with neither e-mail nor external id) is never sent twice.
    fn after_lookup(
        &mut self,
        batch: Batch,
        found: Vec<Option<Value>>,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
    ) -> anyhow::Result<()> {
        let mut resend = Vec::new();
        for (row, record) in batch.rows.iter().zip(found) {
            let id = record.as_ref().and_then(|r| r.get("id")).and_then(Value::as_u64);
            let applied = record.as_ref().is_some_and(|rec| {
                batch.resource == Resource::Memberships
                    || batch.op == Op::Create
                    || !would_change(&row.payload, rec, &self.settings.checkbox_tags)
            });
            let findable = batch.resource == Resource::Memberships
                || row.id.is_some()
                || row.external_id.is_some()
                || row.search.is_some();
            let confirmed = |status: RowStatus, action: Action| {
                let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), action, status);
                o.zendesk_id = id.or(row.id);
                o.message = Some("confirmed by lookup after its job's answer was lost".into());
                o
            };
            let o = match (batch.op, id) {
                (Op::Delete, None) => {
                    let mut o = confirmed(RowStatus::Deleted, Action::Delete);
                    o.message = None;
                    Some(o)
                }
                (Op::Create, Some(_)) if applied => {
                    Some(confirmed(RowStatus::Created, Action::Create))
                }
                (Op::Update | Op::Upsert, Some(_)) if applied => Some(if row.id.is_some() {
                    confirmed(RowStatus::Updated, Action::Update)
                } else {
                    confirmed(RowStatus::Created, Action::Create)
                }),
                (Op::Create | Op::Upsert, None) if !findable => {
                    let msg = "unknown: its job failed and a user named by neither e-mail nor external_id cannot be found again safely (names are not unique); check Zendesk before importing this row again";
                    Some(failed(row, batch.op, "Unconfirmed", msg, None))
                }
                _ if row.attempts + 1 >= self.settings.max_attempts => {
                    let msg =
                        format!("sent {} times; its job never reported a result", row.attempts + 1);
                    Some(failed(row, batch.op, "JobFailed", &msg, None))
                }
                _ => None,
            };
            match o {
                Some(o) => self.finish(o, &batch, Some(row), report, reporter)?,
                None => {
                    let mut row = row.clone();
                    row.attempts += 1;
                    resend.push(row);
                }
            }
        }
        if !resend.is_empty() {
            self.retry.push_back(Batch { resource: batch.resource, op: batch.op, rows: resend });
        }
        Ok(())
    }

    /// The API is gone: rows of jobs in flight get a line saying their fate is unknown.
    fn abandon_in_flight(
        &mut self,
        report: &mut ReportWriter,
        reporter: &dyn Reporter,
        why: &str,
    ) -> anyhow::Result<()> {
        let jobs: Vec<(String, InFlight)> = self.in_flight.drain().collect();
        for (id, job) in jobs {
            for row in &job.batch.rows {
                let msg =
                    format!("unknown: job {id} was in flight and {why}; `zdbulk resume` checks it");
                self.finish(skipped(row, job.batch.op, &msg), &job.batch, None, report, reporter)?;
            }
        }
        Ok(())
    }

    /// The run stops early: every row not settled yet gets a `skipped` line.
    async fn abandon(
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
        while let Some((mut o, _, original, _)) = self.linking.next().await {
            o.status = RowStatus::Skipped;
            o.error_code = Some("MembershipsNotSent".into());
            o.message = Some(format!("its memberships were not sent: the run stopped ({err:#}); import the file again to add them"));
            o.original = Some(original);
            settle(report, reporter, o)?;
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

fn settle(report: &mut ReportWriter, reporter: &dyn Reporter, o: RowOutcome) -> anyhow::Result<()> {
    reporter.on_row_settled(o.status);
    report.record(o)?;
    Ok(())
}

fn failed(row: &PlannedRow, op: Op, code: &str, message: &str, job: Option<&str>) -> RowOutcome {
    let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), op.action(), RowStatus::Failed);
    o.zendesk_id = row.id;
    o.job_id = job.map(str::to_string);
    o.error_code = Some(code.to_string());
    o.message = Some(message.to_string());
    o.original = Some(row.original.clone());
    o
}

fn skipped(row: &PlannedRow, op: Op, message: &str) -> RowOutcome {
    let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), op.action(), RowStatus::Skipped);
    o.zendesk_id = row.id;
    o.message = Some(message.to_string());
    o.original = Some(row.original.clone());
    o
}
