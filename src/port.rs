//! The pipeline's [`Port`] implemented with the Zendesk client: resource names become paths,
//! and HTTP errors become the pipeline's outcomes (job limit, lost answer, refusal, bulk
//! imports switched off, fatal). It lives outside the client, which knows nothing of the
//! pipeline.

use reqwest::Method;
use serde_json::Value;

use crate::pipeline::api::{Group, JobState, Port, ShowBy, SubmitError};
use crate::pipeline::batch::Op;
use crate::pipeline::reconcile::JobEnd;
use crate::resource::{layer, Resource};
use crate::zendesk::models::{JobId, JobState as ModelState};
use crate::zendesk::resources::{check_batch, cursor_all, cursor_page, MAX_PER_CALL};
use crate::zendesk::{ApiError, Client};

/// A bulk write of users or memberships was refused with 403: the account's bulk imports are
/// switched off until Zendesk support enables them (seed `004`, "Enablement").
#[derive(Debug, thiserror::Error)]
#[error("Zendesk answered {path} with 403 Forbidden ({detail}): bulk imports of users are not enabled on this account")]
pub struct BulkImportsDisabled {
    /// The endpoint that refused.
    pub path: String,
    /// Zendesk's words.
    pub detail: String,
}

/// `users/create_or_update` allows one request a second per account (`zendesk-api.md` §3,
/// endpoint limits): rows sent one at a time are spaced by this much, across every task of
/// the process (one process imports into one account).
const SINGLE_GAP: std::time::Duration = std::time::Duration::from_millis(1000);

/// Waits until the next single-row request may go.
async fn pace_single() {
    static NEXT: tokio::sync::Mutex<Option<tokio::time::Instant>> =
        tokio::sync::Mutex::const_new(None);
    let mut next = NEXT.lock().await;
    let now = tokio::time::Instant::now();
    let at = next.map_or(now, |n| n.max(now));
    tokio::time::sleep_until(at).await;
    *next = Some(at + SINGLE_GAP);
}

/// Whether an error means the write may have been done (its answer never arrived).
fn answer_lost(err: &ApiError) -> bool {
    match err {
        ApiError::AnswerLost { .. } => true,
        ApiError::RetriesExhausted { last, .. } => answer_lost(last),
        _ => false,
    }
}

fn submit_error(err: ApiError, resource: Resource, path: &str) -> SubmitError {
    if answer_lost(&err) {
        return SubmitError::AnswerLost;
    }
    match err {
        ApiError::TooManyJobs { .. } => SubmitError::TooManyJobs,
        ApiError::Status { status: 403, body, .. }
            if matches!(resource, Resource::Users | Resource::Memberships) =>
        {
            SubmitError::Fatal(
                BulkImportsDisabled { path: path.to_string(), detail: body.to_string() }.into(),
            )
        }
        ApiError::Status { status, body, .. } if (400..500).contains(&status) && status != 429 => {
            let text = body.to_string();
            let code = text.split(':').next().unwrap_or("Refused").trim().to_string();
            SubmitError::Refused { code, message: text }
        }
        other => SubmitError::Fatal(other.into()),
    }
}

/// The bulk endpoint of an operation on a resource.
fn bulk_path(plural: &str, op: Op) -> (Method, String) {
    match op {
        Op::Create => (Method::POST, format!("{plural}/create_many.json")),
        Op::Upsert => (Method::POST, format!("{plural}/create_or_update_many.json")),
        Op::Update => (Method::PUT, format!("{plural}/update_many.json")),
        Op::Delete => (Method::DELETE, format!("{plural}/destroy_many.json")),
    }
}

fn items(answer: &Value, key: &str) -> Vec<Value> {
    answer.get(key).and_then(Value::as_array).cloned().unwrap_or_default()
}

impl Port for Client {
    async fn show_many(
        &self,
        resource: Resource,
        by: ShowBy,
        values: Vec<String>,
    ) -> anyhow::Result<Vec<Value>> {
        if is_definitions(resource) {
            // Definitions are few: one listing finds them all, by key or id.
            let all = self.definitions(resource).await?;
            let key = match by {
                ShowBy::Ids => "id",
                ShowBy::ExternalIds => "key",
            };
            return Ok(all
                .into_iter()
                .filter(|d| {
                    let v = d
                        .get(key)
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
                    v.is_some_and(|v| values.contains(&v))
                })
                .collect());
        }
        let plural = layer(resource).plural();
        let path = format!("{plural}/show_many.json");
        let param = match by {
            ShowBy::Ids => "ids",
            ShowBy::ExternalIds => "external_ids",
        };
        let mut all = Vec::with_capacity(values.len());
        for chunk in values.chunks(MAX_PER_CALL) {
            let answer: Value = self.get_json(&path, &[(param, chunk.join(","))]).await?;
            all.extend(items(&answer, plural));
        }
        Ok(all)
    }

    async fn search(
        &self,
        resource: Resource,
        column: &'static str,
        value: String,
    ) -> anyhow::Result<Vec<Value>> {
        if is_definitions(resource) {
            let all = self.definitions(resource).await?;
            return Ok(all
                .into_iter()
                .filter(|d| d.get(column).and_then(Value::as_str) == Some(&value))
                .collect());
        }
        let plural = layer(resource).plural();
        let path = format!("{plural}/search.json");
        let query = match resource {
            // Users are searched with the search syntax (`email:ada@example.com`).
            Resource::Users => [("query", format!("{column}:{value}"))],
            _ => [(column, value)],
        };
        let answer: Value = self.get_json(&path, &query).await?;
        Ok(items(&answer, plural))
    }

    async fn count(&self, resource: Resource) -> anyhow::Result<u64> {
        let path = format!("{}/count.json", layer(resource).plural());
        let answer: Value = self.get_json(&path, &[]).await?;
        answer
            .get("count")
            .and_then(|c| c.get("value"))
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow::anyhow!("{path} answered without count.value"))
    }

    async fn list_page(
        &self,
        resource: Resource,
        after: Option<String>,
    ) -> anyhow::Result<(Vec<Value>, Option<String>)> {
        let plural = layer(resource).plural();
        let page =
            cursor_page::<Value>(self, &format!("{plural}.json"), plural, after.as_deref()).await?;
        Ok((page.items, page.next_cursor))
    }

    async fn groups(&self) -> anyhow::Result<Vec<Group>> {
        let all = cursor_all::<Value>(self, "groups.json", "groups").await?;
        Ok(all
            .iter()
            .filter_map(|g| {
                let id = g.get("id").and_then(Value::as_u64)?;
                let name = g.get("name").and_then(Value::as_str)?;
                Some(Group { id, name: name.to_string() })
            })
            .collect())
    }

    async fn memberships(&self, of: Resource, id: u64) -> anyhow::Result<Vec<Value>> {
        let path = format!("{}/{id}/organization_memberships.json", layer(of).plural());
        Ok(cursor_all::<Value>(self, &path, "organization_memberships").await?)
    }

    async fn submit(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> Result<String, SubmitError> {
        let plural = layer(resource).plural();
        let (method, path) = bulk_path(plural, op);
        let answer: Result<Value, ApiError> = match op {
            Op::Delete => {
                let ids: Vec<String> = request
                    .get("ids")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).map(|i| i.to_string()).collect())
                    .unwrap_or_default();
                match check_batch(&path, ids.len()) {
                    Ok(()) => {
                        let query = [("ids", ids.join(","))];
                        self.send_json::<Value, ()>(method, &path, &query, None).await
                    }
                    Err(e) => Err(e),
                }
            }
            _ => match check_batch(&path, items(&request, plural).len()) {
                Ok(()) => self.send_json(method, &path, &[], Some(&request)).await,
                Err(e) => Err(e),
            },
        };
        let answer = answer.map_err(|e| submit_error(e, resource, &path))?;
        answer
            .get("job_status")
            .and_then(|j| j.get("id"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                SubmitError::Fatal(anyhow::anyhow!("{path} answered without a job_status id"))
            })
    }

    async fn submit_each(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> Result<Vec<Value>, SubmitError> {
        if is_definitions(resource) {
            return self.write_definitions(resource, op, request).await;
        }
        let (singular, path, paced) = match (resource, op) {
            (Resource::Users, Op::Create | Op::Upsert) => {
                ("user", "users/create_or_update.json", true)
            }
            // No per-request limit is documented for single memberships.
            (Resource::Memberships, Op::Create) => {
                ("organization_membership", "organization_memberships.json", false)
            }
            _ => {
                let msg = "--one-at-a-time sends users to create or update, and their memberships";
                return Err(SubmitError::Fatal(anyhow::anyhow!(msg)));
            }
        };
        let mut results = Vec::new();
        for item in items(&request, layer(resource).plural()) {
            if paced {
                pace_single().await;
            }
            let body = serde_json::json!({ singular: item });
            let sent =
                self.send_json_status::<Value, _>(Method::POST, path, &[], Some(&body)).await;
            match one_result(sent, singular) {
                Ok(item) => results.push(item),
                Err(e) if results.is_empty() => return Err(submit_error(e, resource, path)),
                // Later rows of the batch were not sent: they are looked up, then sent again.
                Err(_) => break,
            }
        }
        Ok(results)
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

/// The result item of one record sent on its own (`submit_each`, field definitions): 201 is
/// `Created`, another success `Updated`; a refusal of this record alone (422 and the like) is
/// its result. Any other error is the caller's: the records after it were not sent.
fn one_result(sent: Result<(u16, Value), ApiError>, singular: &str) -> Result<Value, ApiError> {
    match sent {
        Ok((status, answer)) => {
            let id = answer.get(singular).and_then(|r| r.get("id")).cloned();
            let word = if status == 201 { "Created" } else { "Updated" };
            Ok(serde_json::json!({"id": id, "status": word}))
        }
        Err(ApiError::Status { status, body, .. })
            if (400..500).contains(&status) && status != 403 && status != 429 =>
        {
            let code = body.code().unwrap_or("Refused").to_string();
            Ok(serde_json::json!({"error": code, "details": body.to_string(), "status": "Failed"}))
        }
        Err(e) => Err(e),
    }
}

/// Whether `resource` is a family of field definitions (no bulk jobs: one request a field).
fn is_definitions(resource: Resource) -> bool {
    matches!(resource, Resource::OrganizationFields | Resource::UserFields)
}

impl Client {
    /// Every definition of a field family, in the account's order.
    async fn definitions(&self, resource: Resource) -> anyhow::Result<Vec<Value>> {
        let plural = layer(resource).plural();
        Ok(cursor_all::<Value>(self, &format!("{plural}.json"), plural).await?)
    }

    /// Creates or updates field definitions, one request each (`POST {plural}.json`,
    /// `PUT {plural}/{id}.json`); a refusal is that field's result.
    async fn write_definitions(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> Result<Vec<Value>, SubmitError> {
        let plural = layer(resource).plural();
        let singular = plural.trim_end_matches('s');
        let mut results = Vec::new();
        for mut item in items(&request, plural) {
            let (method, path) = match (op, item.get("id").and_then(Value::as_u64)) {
                (Op::Update, Some(id)) => (Method::PUT, format!("{plural}/{id}.json")),
                (Op::Create | Op::Upsert, _) => (Method::POST, format!("{plural}.json")),
                _ => {
                    let msg = "a field definition is created or updated by its id, never deleted by zdbulk";
                    return Err(SubmitError::Fatal(anyhow::anyhow!(msg)));
                }
            };
            if let Some(obj) = item.as_object_mut() {
                obj.remove("id");
                // Zendesk needs a title; a file without one uses the key.
                if method == Method::POST && !obj.contains_key("title") {
                    if let Some(key) = obj.get("key").cloned() {
                        obj.insert("title".into(), key);
                    }
                }
            }
            let body = serde_json::json!({ singular: item });
            let sent = self.send_json_status::<Value, _>(method, &path, &[], Some(&body)).await;
            match one_result(sent, singular) {
                Ok(item) => results.push(item),
                Err(e) if results.is_empty() => return Err(submit_error(e, resource, &path)),
                Err(_) => break,
            }
        }
        Ok(results)
    }
}
