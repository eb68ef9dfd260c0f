//! The engine's poll timing against an account whose jobs take time on tokio's paused clock:
//! one poll settles a whole group, the budget and the job window bind as expected, and one
//! slow job holds nobody back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::Fake;
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::pipeline::api::{JobState, Port, ShowBy, SubmitError};
use crate::pipeline::batch::Op;
use crate::pipeline::engine::{self, EngineSettings};
use crate::pipeline::journal::Journal;
use crate::pipeline::reporter::Silent;
use crate::resource::Resource;

/// An account whose jobs take `job_time` (on tokio's clock) and whose request budget is
/// `rpm` a minute: for the poll timing, which the instant account above cannot show.
#[derive(Clone)]
struct Timed {
    inner: Fake,
    job_time: Duration,
    /// One job (by id) that takes longer than the others.
    slow: Option<(&'static str, Duration)>,
    rpm: Option<u32>,
    submitted: Arc<Mutex<HashMap<String, tokio::time::Instant>>>,
    polls: Arc<Mutex<u32>>,
}

impl Port for Timed {
    async fn show_many(
        &self,
        resource: Resource,
        by: ShowBy,
        values: Vec<String>,
    ) -> anyhow::Result<Vec<Value>> {
        self.inner.show_many(resource, by, values).await
    }
    async fn search(
        &self,
        resource: Resource,
        column: &'static str,
        value: String,
    ) -> anyhow::Result<Vec<Value>> {
        self.inner.search(resource, column, value).await
    }
    async fn count(&self, resource: Resource) -> anyhow::Result<u64> {
        self.inner.count(resource).await
    }
    async fn list_page(
        &self,
        resource: Resource,
        after: Option<String>,
    ) -> anyhow::Result<(Vec<Value>, Option<String>)> {
        self.inner.list_page(resource, after).await
    }
    async fn groups(&self) -> anyhow::Result<Vec<super::super::api::Group>> {
        self.inner.groups().await
    }
    async fn memberships(&self, of: Resource, id: u64) -> anyhow::Result<Vec<Value>> {
        self.inner.memberships(of, id).await
    }
    async fn submit(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> Result<String, SubmitError> {
        let id = self.inner.submit(resource, op, request).await?;
        self.submitted.lock().unwrap().insert(id.clone(), tokio::time::Instant::now());
        Ok(id)
    }
    async fn poll(&self, ids: Vec<String>) -> anyhow::Result<Vec<(String, JobState)>> {
        *self.polls.lock().unwrap() += 1;
        let now = tokio::time::Instant::now();
        let (done, pending): (Vec<String>, Vec<String>) = ids.into_iter().partition(|id| {
            let time = match self.slow {
                Some((slow, time)) if slow == id => time,
                _ => self.job_time,
            };
            self.submitted.lock().unwrap().get(id).is_some_and(|t| now >= *t + time)
        });
        let mut states = self.inner.poll(done).await?;
        states.extend(pending.into_iter().map(|id| (id, JobState::Pending)));
        Ok(states)
    }
    async fn jobs_in_flight(&self) -> anyhow::Result<Vec<String>> {
        self.inner.jobs_in_flight().await
    }
    fn requests_per_minute(&self) -> Option<u32> {
        self.rpm
    }
}

/// Creates `jobs` × 10 rows in jobs of 10 through a window of `window` jobs taking
/// `job_time` each, under a budget of `rpm` requests a minute; returns the polls it took.
async fn polls_for(rpm: Option<u32>, window: usize, jobs: usize, job_time: Duration) -> u32 {
    polls_with(rpm, window, jobs, job_time, None).await
}

/// As [`polls_for`], with one job taking longer.
async fn polls_with(
    rpm: Option<u32>,
    window: usize,
    jobs: usize,
    job_time: Duration,
    slow: Option<(&'static str, Duration)>,
) -> u32 {
    let api = Timed {
        inner: Fake::default(),
        job_time,
        slow,
        rpm,
        submitted: Default::default(),
        polls: Default::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let failed = FailedRows::create(dir.path(), FailedFormat::Csv, vec!["name".into()]).unwrap();
    let mut report = ReportWriter::create(dir.path(), failed).unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let (plan_tx, plan_rx) = mpsc::channel(jobs + 1);
    for b in 0..jobs {
        let rows = (0..10)
            .map(|i| {
                let seq = b * 10 + i;
                let name = format!("Org {seq}");
                let mut payload = Map::new();
                payload.insert("name".into(), json!(name));
                crate::pipeline::batch::PlannedRow {
                    seq,
                    row: seq + 2,
                    key: name.clone(),
                    payload,
                    id: None,
                    external_id: None,
                    search: Some(name),
                    links: vec![],
                    mails: false,
                    original: vec![],
                    attempts: 0,
                    before: None,
                }
            })
            .collect();
        plan_tx
            .send(engine::PlanMsg::Batch(crate::pipeline::batch::Batch {
                resource: Resource::Organizations,
                op: Op::Create,
                rows,
            }))
            .await
            .unwrap();
    }
    drop(plan_tx);
    let (_interrupt_tx, interrupt) = tokio::sync::watch::channel(0);
    let stop = engine::Stop { interrupt, aborted: Default::default() };
    let settings = EngineSettings { max_jobs: window, ..Default::default() };
    let end = engine::run(api.clone(), settings, plan_rx, &mut report, &mut journal, &Silent, stop)
        .await
        .unwrap();
    assert!(end.fatal.is_none());
    assert_eq!(report.finish(jobs * 10).unwrap()[&crate::output::RowStatus::Created], jobs * 10);
    let polls = *api.polls.lock().unwrap();
    assert_eq!(u64::from(polls), end.stats.polls);
    polls
}

#[tokio::test(start_paused = true)]
async fn when_the_budget_binds_nearly_every_poll_settles_a_whole_group() {
    // 5 jobs a second could use 300 requests a minute; the budget allows 100: every poll
    // that finds a job still running costs a create, so polls come late and settle groups.
    let second = Duration::from_secs(1);
    let binding = polls_for(Some(100), 5, 100, second).await;
    assert!(binding <= 100 / 5 + 3, "{binding} polls for 100 jobs in groups of 5");
    // With requests to spare, polls come as early as jobs may be done, a few of them early.
    let free = polls_for(None, 5, 100, second).await;
    assert!(free > binding, "{free} polls without a binding budget, {binding} with one");
}

#[tokio::test(start_paused = true)]
async fn with_ten_second_jobs_one_poll_settles_each_round_and_the_window_stays_full() {
    // The job window binds: 450 jobs are 15 rounds of 30 jobs of 10 s.
    let started = tokio::time::Instant::now();
    let polls = polls_for(Some(700), 30, 450, Duration::from_secs(10)).await;
    // A few polls find the job time from a 1 s guess, a few narrow it; then one a round,
    // and now and then a probe a little earlier.
    assert!(polls <= 15 + 12, "{polls} polls for 15 rounds");
    // Each round starts less than 2 % of a job's time after the one before ends.
    let took = started.elapsed();
    assert!(took <= Duration::from_secs(153), "{took:?} for 150 s of jobs");
}

#[tokio::test(start_paused = true)]
async fn one_slow_job_does_not_hold_back_the_jobs_after_it() {
    // 300 jobs of 10 s through a window of 30 (10 rounds); job 40 takes a minute.
    let started = tokio::time::Instant::now();
    let ten = Duration::from_secs(10);
    polls_with(Some(700), 30, 300, ten, Some(("J40", Duration::from_secs(60)))).await;
    // Its slot is busy for six rounds; the other 29 keep their pace.
    let took = started.elapsed();
    assert!(took <= Duration::from_secs(118), "{took:?} for 100 s of jobs and one slow one");
}
