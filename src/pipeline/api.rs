//! What the pipeline needs from Zendesk, as a narrow trait: the pipeline is tested against
//! the sandbox through the real client, and nothing in it knows about HTTP.

use std::collections::HashMap;
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

/// How one row is found in the account: by id, else external id, else name.
#[derive(Debug, Clone, Copy)]
pub struct RowKeys<'a> {
    /// The organization id, when the row names one.
    pub id: Option<u64>,
    /// The external id (matched ignoring case).
    pub external_id: Option<&'a str>,
    /// The name (matched ignoring case).
    pub name: Option<&'a str>,
}

/// Finds each row's record as the account has it now (`None`: not found), in row order:
/// ids and external ids with one request each for up to 100 rows, names one search each.
pub async fn find_records<A: OrgApi>(
    api: &A,
    rows: &[RowKeys<'_>],
) -> anyhow::Result<Vec<Option<Value>>> {
    let ids: Vec<u64> = rows.iter().filter_map(|r| r.id).collect();
    let by_id: HashMap<u64, Value> = if ids.is_empty() {
        HashMap::new()
    } else {
        api.find_by_ids(ids)
            .await?
            .into_iter()
            .filter_map(|v| v.get("id").and_then(Value::as_u64).map(|id| (id, v)))
            .collect()
    };
    let ext: Vec<String> = rows
        .iter()
        .filter(|r| r.id.is_none())
        .filter_map(|r| r.external_id.map(str::to_string))
        .collect();
    let by_ext: HashMap<String, Value> = if ext.is_empty() {
        HashMap::new()
    } else {
        api.find_by_external_ids(ext)
            .await?
            .into_iter()
            .filter_map(|v| {
                let key = v.get("external_id").and_then(Value::as_str)?.to_lowercase();
                Some((key, v))
            })
            .collect()
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let found = if let Some(id) = r.id {
            by_id.get(&id).cloned()
        } else if let Some(x) = r.external_id {
            by_ext.get(&x.to_lowercase()).cloned()
        } else if let Some(name) = r.name {
            // UNVERIFIED for large accounts: one search per name-only row. Rows with an
            // external_id cost one request per 100 rows instead.
            api.find_by_name(name.to_string()).await?
        } else {
            None
        };
        out.push(found);
    }
    Ok(out)
}
