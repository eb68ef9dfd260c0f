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
use super::batch::Batch;
use super::job_time::JobTime;
use super::journal::{Entry, Journal};
use super::links::{organization_ids, Links};
use super::reconcile::JobEnd;
use super::recovery::{item_of, recover, Recovered};
use super::reporter::Reporter;
use crate::output::report::ReportWriter;
use crate::output::{RowOutcome, RowStatus};
use crate::resource::layer;

/// What the planner hands the engine, in any order.
#[derive(Debug)]
pub enum PlanMsg {
    /// A row settled without a job (invalid, unchanged, planned in a dry run).
    Outcome(RowOutcome),
    /// A batch to send.
    Batch(Batch),
    /// A row settled without a job that still has links to make once confirmed (a user left
    /// unchanged who joins more organizations, or one a resumed run knows it created: such a
    /// user has no memberships but those the run made, so none is looked up); its `original`
    /// holds the input cells.
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
    /// The first batch number (a resumed run goes on after its journal's last).
    pub first_batch: u64,
    /// `zdbulk resume`: the run's journal, which knows the memberships already made.
    pub memory: Option<std::sync::Arc<super::memory::Memory>>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            max_jobs: 30,
            // Each attempt after the first follows a lookup that found the row not done, so
            // another is safe; five makes a batch unlucky three times in a row (a failed job,
            // a lost answer) still land, at a few percent of faults.
            max_attempts: 5,
            // A first guess on the short side: it grows by half at each poll that finds the
            // job still running, so long jobs cost a few polls and short ones no waiting.
            initial_job_estimate: Duration::from_secs(1),
            min_poll_gap: Duration::from_millis(150),
            missing_polls: 5,
            batch_size: super::batch::MAX_BATCH,
            checkbox_tags: std::sync::Arc::from(Vec::new()),
            one_at_a_time: false,
            first_batch: 0,
            memory: None,
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
    /// Rows created that Zendesk mails a welcome e-mail.
    pub welcome_emails: u64,
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
    /// How many times the run was interrupted (Ctrl-C, SIGTERM): once, it stops submitting
    /// and follows the jobs in flight to their end; twice, it stops at once.
    pub interrupt: tokio::sync::watch::Receiver<u32>,
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
    let first_batch = settings.first_batch;
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
        next_batch: first_batch,
        budget_binding: false,
        last_poll: None,
    };
    let mut submitting: FuturesUnordered<BoxFuture<'static, Submitted>> = FuturesUnordered::new();
    let mut recovering: FuturesUnordered<BoxFuture<'static, Recovered>> = FuturesUnordered::new();
    let mut polling: Option<BoxFuture<'static, Polled>> = None;
    let mut input_open = true;
    let mut fatal: Option<anyhow::Error> = None;
    let mut to_send: Vec<(u64, Batch, Value)> = Vec::new();
    // Interrupted once: nothing more is sent, the jobs in flight are followed to their end.
    let mut draining = false;

    loop {
        // Fill the window: batches to re-send first, then new ones.
        while fatal.is_none()
            && !draining
            && e.in_flight.len() + submitting.len() + to_send.len() < e.window
        {
            let batch = match e.retry.pop_front() {
                Some(b) => b,
                None if input_open => match rx.try_recv() {
                    Ok(PlanMsg::Outcome(o)) => {
                        settle(report, reporter, o)?;
                        continue;
                    }
                    Ok(PlanMsg::Linked(o, links)) => {
                        let fresh = o.status == RowStatus::Created;
                        e.link(o, links, fresh, report, reporter)?;
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
                ids: batch.rows.iter().map(|r| r.id).collect(),
                before: if batch.rows.iter().any(|r| r.before.is_some()) {
                    batch.rows.iter().map(|r| r.before.clone()).collect()
                } else {
                    vec![]
                },
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

        // The first interrupt (Ctrl-C, SIGTERM) stops sending and lets the jobs in flight end,
        // so their rows are reported with what the jobs did; a second one stops at once, like
        // a dead API, leaving those rows unknown. Either way the run exits 130.
        let presses = *stop.interrupt.borrow_and_update();
        if fatal.is_none() && presses >= 2 {
            reporter.on_wait("interrupted again; stopping without waiting for the jobs in flight");
            e.abandon_in_flight(report, reporter, "the run was interrupted twice")?;
            fatal = Some(Interrupted.into());
        } else if fatal.is_none() && presses == 1 && !draining {
            draining = true;
            stop.aborted.store(true, std::sync::atomic::Ordering::SeqCst);
            let n = e.in_flight.len() + submitting.len();
            reporter.on_wait(&format!(
                "interrupted: waiting for the {n} jobs in flight to finish (Ctrl-C again to stop at once)"
            ));
        }
        let idle = submitting.is_empty()
            && recovering.is_empty()
            && polling.is_none()
            && e.linking.is_empty();
        if draining && fatal.is_none() && idle && e.in_flight.is_empty() {
            fatal = Some(Interrupted.into());
        }
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
        let can_take = fatal.is_none()
            && !draining
            && input_open
            && e.in_flight.len() + submitting.len() < e.window;
        tokio::select! {
            Some((batch_no, batch, result)) = submitting.next() => {
                match result {
                    Ok(Sent::Done(results)) => {
                        journal.write(&Entry::Results { batch: batch_no, status: "completed".into(), results: results.clone() })?;
                        let end = JobEnd::Completed(results);
                        e.settle_results(&batch, None, &end, &mut recovering, report, reporter)?;
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
                        let outcomes: Vec<_> = batch.rows.iter().map(|row| failed(row, batch.op, &code, &message, None)).collect();
                        let results = outcomes.iter().map(item_of).collect();
                        journal.append(&Entry::Results { batch: batch_no, status: "refused".into(), results })?;
                        for (row, o) in batch.rows.iter().zip(outcomes) {
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
                    Ok(found) => {
                        let resource = layer(batch.resource).plural().into();
                        let op = batch.op.as_str().into();
                        let seqs = batch.rows.iter().map(|r| r.seq).collect();
                        let ids = found
                            .iter()
                            .map(|f| f.as_ref().and_then(|v| v.get("id")).and_then(Value::as_u64))
                            .collect();
                        let organizations = if batch.resource == crate::resource::Resource::Memberships {
                            batch.rows.iter().filter_map(|r| r.payload.get("organization_id").and_then(Value::as_u64)).collect()
                        } else {
                            vec![]
                        };
                        let items = e.after_lookup(batch, found, report, reporter)?;
                        journal.write(&Entry::Found { resource, op, seqs, ids, items, organizations })?;
                    }
                    Err(err) => {
                        for row in &batch.rows {
                            let msg = format!("unknown: its job's answer was lost and the lookup failed ({err:#}); importing the file again finds it if it was written (by id, external_id or e-mail)");
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
                        let why = format!("could not be read ({err:#})");
                        settle(report, reporter, memberships_not_sent(o, original, &why))?;
                        fatal = Some(err);
                    }
                }
            }
            // Wakes the loop; the interrupt is handled at its top.
            _ = stop.interrupt.changed(), if fatal.is_none() => {}
            msg = rx.recv(), if can_take => {
                match msg {
                    Some(PlanMsg::Outcome(o)) => settle(report, reporter, o)?,
                    Some(PlanMsg::Linked(o, links)) => {
                        let fresh = o.status == RowStatus::Created;
                        e.link(o, links, fresh, report, reporter)?
                    }
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

mod settling;
pub(crate) use settling::{failed, UNFINDABLE};
use settling::{memberships_not_sent, settle, skipped};
mod timing;
