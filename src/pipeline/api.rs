//! What the pipeline needs from Zendesk, as a narrow trait: the pipeline is tested against
//! the sandbox through the real client, and nothing in it knows about HTTP.

use std::future::Future;

use serde_json::Value;

use super::batch::Op;
use super::reconcile::JobEnd;

/// Why a bulk call was not accepted.
#[derive(Debug)]
pub enum SubmitError {
    /// `TooManyJobs`: the account's job window is full; shrink ours and try later.
    TooManyJobs,
    /// The request went out but its answer was lost: a job may exist. Look the rows up
    /// before sending them again.
    AnswerLost,
    /// Zendesk refused this batch (a 4xx other than the job limit): its rows fail.
    Refused {
        /// Zendesk's error code.
        code: String,
        /// Zendesk's description.
        message: String,
    },
    /// The API cannot be used (authentication, retries exhausted): the run stops.
    Fatal(anyhow::Error),
}

/// The state of one job, as one poll saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum JobState {
    /// `queued` or `working`.
    Pending,
    /// Finished.
    Done(JobEnd),
    /// Not in the answer (unknown or expired).
    Missing,
}

/// The organization operations the pipeline uses.
pub trait OrgApi: Clone + Send + Sync + 'static {
    /// Organizations with these external ids (at most 100).
    fn find_by_external_ids(
        &self,
        external_ids: Vec<String>,
    ) -> impl Future<Output = anyhow::Result<Vec<Value>>> + Send;

    /// Organizations with these ids (at most 100).
    fn find_by_ids(&self, ids: Vec<u64>)
        -> impl Future<Output = anyhow::Result<Vec<Value>>> + Send;

    /// The organization with this exact name (case-insensitive), if any.
    fn find_by_name(
        &self,
        name: String,
    ) -> impl Future<Output = anyhow::Result<Option<Value>>> + Send;

    /// Sends one bulk call; returns the job id.
    fn submit(
        &self,
        op: Op,
        request: Value,
    ) -> impl Future<Output = Result<String, SubmitError>> + Send;

    /// The states of these jobs, in one request.
    fn poll(
        &self,
        job_ids: Vec<String>,
    ) -> impl Future<Output = anyhow::Result<Vec<(String, JobState)>>> + Send;

    /// Ids of the account's jobs that are queued or working now.
    fn jobs_in_flight(&self) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;

    /// Whether the request budget has run out during this run: polls then cost requests
    /// that creates need, so the engine polls less eagerly.
    fn budget_binding(&self) -> bool {
        false
    }

    /// The requests a minute this run may send, once known: the account's budget (from the
    /// answers' headers) or `--max-rpm`, whichever is lower.
    fn requests_per_minute(&self) -> Option<u32> {
        None
    }
}
