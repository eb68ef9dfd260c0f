//! `/api/v2/job_statuses`: follow the bulk jobs.

use serde_json::Value;

use super::super::error::ApiError;
use super::super::models::{JobId, JobStatus};
use super::super::Client;
use super::{take, MAX_PER_CALL};

/// Handler for job statuses; from [`Client::job_statuses`].
#[derive(Debug, Clone, Copy)]
pub struct JobStatuses<'c> {
    pub(crate) client: &'c Client,
}

impl JobStatuses<'_> {
    /// One job (`GET job_statuses/{id}.json`). A 404 right after queueing is plausible
    /// (zendesk-api.md §1); the caller decides whether to wait and ask again.
    pub async fn show(self, id: &JobId) -> Result<JobStatus, ApiError> {
        let path = format!("job_statuses/{}.json", encode_segment(&id.0));
        let answer: Value = self.client.get_json(&path, &[]).await?;
        take(self.client, &path, answer, "job_status")
    }

    /// Several jobs in one request (`GET job_statuses/show_many.json?ids=a,b,c`): the
    /// pipeline polls every job in flight with one call. More than 100 ids are split.
    /// Jobs Zendesk no longer knows are simply absent from the answer.
    ///
    /// ```no_run
    /// # async fn demo(client: zdbulk::zendesk::Client) -> Result<(), zdbulk::zendesk::ApiError> {
    /// use zdbulk::zendesk::models::JobId;
    /// let jobs = client.job_statuses().show_many(&[JobId::from("V3-abc")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn show_many(self, ids: &[JobId]) -> Result<Vec<JobStatus>, ApiError> {
        let path = "job_statuses/show_many.json";
        let mut all = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_PER_CALL) {
            let joined = chunk.iter().map(|id| id.0.as_str()).collect::<Vec<_>>().join(",");
            let answer: Value = self.client.get_json(path, &[("ids", joined)]).await?;
            let jobs: Vec<JobStatus> = take(self.client, path, answer, "job_statuses")?;
            all.extend(jobs);
        }
        Ok(all)
    }
}

/// Percent-encodes one path segment (job ids are `V3-` + hex, but nothing is assumed).
fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%5F", "_")
}
