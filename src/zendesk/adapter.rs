//! The pipeline's view of Zendesk ([`OrgApi`]) implemented with this client: the one place
//! where HTTP errors become the pipeline's outcomes (job limit, lost answer, refusal, fatal).

use serde_json::Value;

use super::models::{JobId, JobState as ModelState, OrganizationId};
use super::{ApiError, Client};
use crate::pipeline::api::{JobState, OrgApi, SubmitError};
use crate::pipeline::batch::Op;
use crate::pipeline::reconcile::JobEnd;

fn to_values<T: serde::Serialize>(items: Vec<T>) -> anyhow::Result<Vec<Value>> {
    items.into_iter().map(|i| serde_json::to_value(i).map_err(anyhow::Error::from)).collect()
}

/// Whether an error means the write may have been done (its answer never arrived).
fn answer_lost(err: &ApiError) -> bool {
    match err {
        ApiError::AnswerLost { .. } => true,
        ApiError::RetriesExhausted { last, .. } => answer_lost(last),
        _ => false,
    }
}

fn submit_error(err: ApiError) -> SubmitError {
    if answer_lost(&err) {
        return SubmitError::AnswerLost;
    }
    match err {
        ApiError::TooManyJobs { .. } => SubmitError::TooManyJobs,
        ApiError::Status { status, body, .. } if (400..500).contains(&status) && status != 429 => {
            let text = body.to_string();
            let code = text.split(':').next().unwrap_or("Refused").trim().to_string();
            SubmitError::Refused { code, message: text }
        }
        other => SubmitError::Fatal(other.into()),
    }
}

impl OrgApi for Client {
    async fn find_by_external_ids(&self, external_ids: Vec<String>) -> anyhow::Result<Vec<Value>> {
        to_values(self.organizations().show_many_by_external_ids(&external_ids).await?)
    }

    async fn find_by_ids(&self, ids: Vec<u64>) -> anyhow::Result<Vec<Value>> {
        let ids: Vec<OrganizationId> = ids.into_iter().map(OrganizationId).collect();
        to_values(self.organizations().show_many(&ids).await?)
    }

    async fn find_by_name(&self, name: String) -> anyhow::Result<Option<Value>> {
        let found = self.organizations().search_by_name(&name).await?;
        let exact = found.into_iter().find(|o| o.name.trim().eq_ignore_ascii_case(name.trim()));
        exact.map(|o| serde_json::to_value(o).map_err(anyhow::Error::from)).transpose()
    }

    async fn submit(&self, op: Op, request: Value) -> Result<String, SubmitError> {
        let orgs = self.organizations();
        let items =
            || request.get("organizations").and_then(Value::as_array).cloned().unwrap_or_default();
        let result = match op {
            Op::Create => orgs.create_many(&items()).await,
            Op::Update => orgs.update_many(&items()).await,
            Op::Delete => {
                let ids: Vec<OrganizationId> = request
                    .get("ids")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).map(OrganizationId).collect())
                    .unwrap_or_default();
                orgs.destroy_many(&ids).await
            }
        };
        result.map(|job| job.id.0).map_err(submit_error)
    }

    async fn poll(&self, job_ids: Vec<String>) -> anyhow::Result<Vec<(String, JobState)>> {
        let ids: Vec<JobId> = job_ids.into_iter().map(JobId).collect();
        let statuses = self.job_statuses().show_many(&ids).await?;
        Ok(statuses
            .into_iter()
            .map(|s| {
                let state = match s.status {
                    ModelState::Completed => {
                        let results = s.results.unwrap_or_default();
                        JobState::Done(JobEnd::Completed(
                            results
                                .into_iter()
                                .filter_map(|r| serde_json::to_value(r).ok())
                                .collect(),
                        ))
                    }
                    ModelState::Failed | ModelState::Killed => JobState::Done(JobEnd::Failed(
                        s.message.unwrap_or_else(|| "the job failed".into()),
                    )),
                    _ => JobState::Pending,
                };
                (s.id.0, state)
            })
            .collect())
    }

    fn budget_binding(&self) -> bool {
        let stats = self.stats();
        stats.budget_waits > 0 || stats.rate_limited > 0
    }

    fn requests_per_minute(&self) -> Option<u32> {
        let account = self.stats().budget.and_then(|b| b.limit);
        match (account, self.max_rpm()) {
            (Some(a), Some(m)) => Some(a.min(m)),
            (a, m) => a.or(m),
        }
    }

    async fn jobs_in_flight(&self) -> anyhow::Result<Vec<String>> {
        let page: Value =
            self.get_json("job_statuses.json", &[("page[size]", "100".to_string())]).await?;
        Ok(page
            .get("job_statuses")
            .and_then(Value::as_array)
            .map(|jobs| {
                jobs.iter()
                    .filter(|j| {
                        matches!(
                            j.get("status").and_then(Value::as_str),
                            Some("queued" | "working")
                        )
                    })
                    .filter_map(|j| j.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}
