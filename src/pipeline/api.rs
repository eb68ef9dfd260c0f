//! What the pipeline needs from Zendesk, as a narrow trait ([`Port`]) over every resource:
//! the pipeline is tested against an in-memory account and the sandbox, and nothing in it
//! knows about HTTP.

use std::collections::HashMap;
use std::future::Future;

use serde_json::Value;

use super::batch::Op;
use super::reconcile::JobEnd;
use crate::resource::{Layer, Resource};

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

/// A group of the account, as far as resolving its name needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
}

/// How `show_many` is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowBy {
    /// `?ids=`.
    Ids,
    /// `?external_ids=` (matched ignoring case).
    ExternalIds,
}

/// The pipeline's port to Zendesk: the reads and writes it needs, for any resource. The client
/// is adapted to it in `crate::port`; tests use an in-memory account.
pub trait Port: Clone + Send + Sync + 'static {
    /// Records of `resource` with these ids or external ids (at most 100).
    fn show_many(
        &self,
        resource: Resource,
        by: ShowBy,
        values: Vec<String>,
    ) -> impl Future<Output = anyhow::Result<Vec<Value>>> + Send;

    /// Records of `resource` whose `column` (a unique one: an organization's name, a user's
    /// e-mail) is `value`, compared ignoring case.
    fn search(
        &self,
        resource: Resource,
        column: &'static str,
        value: String,
    ) -> impl Future<Output = anyhow::Result<Vec<Value>>> + Send;

    /// How many records of `resource` the account has.
    fn count(&self, resource: Resource) -> impl Future<Output = anyhow::Result<u64>> + Send;

    /// One cursor page (100 records) of `resource`, and the cursor of the next one.
    fn list_page(
        &self,
        resource: Resource,
        after: Option<String>,
    ) -> impl Future<Output = anyhow::Result<(Vec<Value>, Option<String>)>> + Send;

    /// Every group of the account (`groups.json`, a cursor page of 100 a request).
    fn groups(&self) -> impl Future<Output = anyhow::Result<Vec<Group>>> + Send;

    /// Every membership of one user (`of` = users) or one organization (`of` = organizations).
    fn memberships(
        &self,
        of: Resource,
        id: u64,
    ) -> impl Future<Output = anyhow::Result<Vec<Value>>> + Send;

    /// Sends one bulk call of `resource`; returns the job id.
    fn submit(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> impl Future<Output = Result<String, SubmitError>> + Send;

    /// Sends a batch's items one request each, without a job (`--one-at-a-time`, for
    /// accounts whose bulk imports are switched off); returns one result item per row, in
    /// the shapes a job's results have.
    fn submit_each(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> impl Future<Output = Result<Vec<Value>, SubmitError>> + Send {
        async move {
            let _ = (resource, op, request);
            Err(SubmitError::Fatal(anyhow::anyhow!("this account cannot take rows one at a time")))
        }
    }

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

/// How one row is found in the account: by id, else external id, else its search column.
#[derive(Debug, Clone, Copy)]
pub struct RowKeys<'a> {
    /// The record id, when the row names one.
    pub id: Option<u64>,
    /// The external id (matched ignoring case).
    pub external_id: Option<&'a str>,
    /// The value of the resource's search column (an organization's name, a user's e-mail),
    /// matched ignoring case; `None` when it must not be searched.
    pub search: Option<&'a str>,
}

fn text_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// Finds each row's record as the account has it now (`None`: not found), in row order:
/// ids and external ids with one request for up to 100 rows, search values one request each.
pub async fn find_records<A: Port>(
    api: &A,
    layer: &dyn Layer,
    rows: &[RowKeys<'_>],
) -> anyhow::Result<Vec<Option<Value>>> {
    let resource = layer.resource();
    let ids: Vec<String> = rows.iter().filter_map(|r| r.id.map(|i| i.to_string())).collect();
    let by_id: HashMap<u64, Value> = if ids.is_empty() {
        HashMap::new()
    } else {
        api.show_many(resource, ShowBy::Ids, ids)
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
        api.show_many(resource, ShowBy::ExternalIds, ext)
            .await?
            .into_iter()
            .filter_map(|v| Some((text_of(&v, layer.facts().external_key)?.to_lowercase(), v)))
            .collect()
    };
    let column = layer.search_column();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let found = if let Some(id) = r.id {
            by_id.get(&id).cloned()
        } else if let Some(x) = r.external_id {
            by_ext.get(&x.to_lowercase()).cloned()
        } else if let Some(value) = r.search {
            // UNVERIFIED for large accounts: one search per row named only by its search
            // column. Rows with an external_id cost one request per 100 rows instead.
            let wanted = value.trim();
            api.search(resource, column, wanted.to_string())
                .await?
                .into_iter()
                .find(|v| text_of(v, column).is_some_and(|t| t.trim().eq_ignore_ascii_case(wanted)))
        } else {
            None
        };
        out.push(found);
    }
    Ok(out)
}
