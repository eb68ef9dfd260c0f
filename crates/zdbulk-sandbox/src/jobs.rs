//! Background jobs: the `queued` → `working` → `completed` (or `failed`) lifecycle of bulk
//! calls, the 30-job limit, and the `job_statuses` endpoints.
//!
//! A job does all of its items at the moment it completes, in request order, and its results
//! keep that order (`zendesk-api.md` §1). Time is sandbox time, so `--time-scale` speeds jobs
//! up. Jobs advance lazily whenever the store is locked, which keeps every answer consistent.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::{ApiError, ApiResult};
use super::pagination;
use super::state::{Ctx, Sandbox, Shared, Store};
use super::{memberships, organizations, users};

/// What a job does to each of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// `organizations/create_many`.
    CreateOrganizations,
    /// `organizations/update_many` (batch, or bulk expanded to one item per id).
    UpdateOrganizations,
    /// `organizations/destroy_many`.
    DestroyOrganizations,
    /// `users/create_many`.
    CreateUsers,
    /// `users/update_many`.
    UpdateUsers,
    /// `users/create_or_update_many`.
    CreateOrUpdateUsers,
    /// `users/destroy_many`.
    DestroyUsers,
    /// `organization_memberships/create_many`.
    CreateMemberships,
    /// `organization_memberships/destroy_many`.
    DestroyMemberships,
}

impl JobKind {
    /// `job_type` as seen in 2024 recordings ("Bulk Create Organization", "Bulk Update User"
    /// for users/destroy_many). Names not seen in a recording are UNVERIFIED guesses.
    fn job_type(self) -> &'static str {
        match self {
            JobKind::CreateOrganizations => "Bulk Create Organization",
            JobKind::UpdateOrganizations => "Bulk Update Organization",
            JobKind::DestroyOrganizations => "Bulk Delete Organization",
            JobKind::CreateUsers => "Bulk Create User",
            JobKind::UpdateUsers | JobKind::DestroyUsers => "Bulk Update User",
            JobKind::CreateOrUpdateUsers => "Bulk Create Or Update User",
            JobKind::CreateMemberships => "Bulk Create Organization Membership",
            JobKind::DestroyMemberships => "Bulk Delete Organization Membership",
        }
    }

    /// The `message` while working on item `n` (1-based), as recorded where seen.
    fn working_message(self, n: usize) -> String {
        match self {
            JobKind::CreateOrganizations => format!("Creating organization #{n}"),
            JobKind::UpdateOrganizations => format!("Updating organization #{n}"),
            JobKind::DestroyOrganizations => format!("Deleting Organization #{n}"),
            JobKind::CreateUsers => format!("Creating User #{n}"),
            JobKind::UpdateUsers | JobKind::CreateOrUpdateUsers => format!("Updating user #{n}"),
            JobKind::DestroyUsers => format!("Deleting user #{n}"),
            JobKind::CreateMemberships => format!("Creating organization membership #{n}"),
            JobKind::DestroyMemberships => format!("Deleting organization membership #{n}"),
        }
    }
}

/// The final state of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Every item was attempted; results hold one entry per item.
    Completed,
    /// The job died part-way (fault injection): some items may have been done, results null.
    Failed,
}

/// One background job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// `V3-` and 32 hex digits, as in 2023–24 recordings.
    pub id: String,
    /// What it does.
    pub kind: JobKind,
    /// The items, in request order.
    pub items: Vec<Value>,
    /// Sandbox ms when it was queued.
    pub queued_at: u64,
    /// Sandbox ms when it starts working.
    pub starts_at: u64,
    /// Sandbox ms when it completes.
    pub due_at: u64,
    /// Set once it has finished.
    pub outcome: Option<Outcome>,
    /// One result per item once completed.
    pub results: Option<Vec<Value>>,
    /// "Completed at …" once finished.
    pub final_message: Option<String>,
}

/// All jobs of the account, by id, plus the order they were created in.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct JobTable {
    /// Jobs by id.
    pub jobs: BTreeMap<String, Job>,
    /// Ids in creation order (for listing).
    pub order: Vec<String>,
    /// Jobs run to an end since start (for stats).
    pub finished: u64,
    /// The most jobs ever queued or running at once.
    pub peak_in_flight: usize,
}

impl JobTable {
    /// Ids of the jobs still queued or working.
    pub fn in_flight(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|id| self.jobs.get(*id).is_some_and(|j| j.outcome.is_none()))
            .cloned()
            .collect()
    }
}

/// Runs every job whose time has come, in the order they come due.
pub fn advance(sandbox: &Sandbox, store: &mut Store) {
    let now = sandbox.now_ms();
    let mut due: Vec<(u64, String)> = store
        .jobs
        .jobs
        .values()
        .filter(|j| j.outcome.is_none() && j.due_at <= now)
        .map(|j| (j.due_at, j.id.clone()))
        .collect();
    if due.is_empty() {
        return;
    }
    due.sort();
    let ctx = sandbox.ctx();
    for (_, id) in due {
        let fail = {
            let p = sandbox.config.faults.job_fail;
            p > 0.0 && sandbox.rng.lock().unwrap_or_else(|e| e.into_inner()).gen_bool(p)
        };
        if fail {
            sandbox.stats.lock().unwrap_or_else(|e| e.into_inner()).fault("job-fail");
        }
        run_job(sandbox, store, &ctx, &id, fail);
    }
}

fn run_job(sandbox: &Sandbox, store: &mut Store, ctx: &Ctx, id: &str, fail: bool) {
    let Some(job) = store.jobs.jobs.get(id) else { return };
    let kind = job.kind;
    let items = job.items.clone();
    // A failed job does a prefix of its items and then stops: the client cannot know how
    // many, which is the case `zdbulk` must handle by looking rows up before re-sending.
    let done = if fail {
        sandbox.rng.lock().unwrap_or_else(|e| e.into_inner()).gen_range(0..=items.len())
    } else {
        items.len()
    };
    let mut results = Vec::with_capacity(done);
    for (index, item) in items.iter().enumerate().take(done) {
        results.push(run_item(store, ctx, kind, index, item));
    }
    let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S +0000");
    if let Some(job) = store.jobs.jobs.get_mut(id) {
        if fail {
            job.outcome = Some(Outcome::Failed);
            job.final_message = Some(format!("Failed at {stamp}: the job was interrupted"));
        } else {
            job.outcome = Some(Outcome::Completed);
            job.results = Some(results);
            job.final_message = Some(format!("Completed at {stamp}"));
        }
    }
    store.jobs.finished += 1;
}

fn run_item(store: &mut Store, ctx: &Ctx, kind: JobKind, index: usize, item: &Value) -> Value {
    match kind {
        JobKind::CreateOrganizations
        | JobKind::UpdateOrganizations
        | JobKind::DestroyOrganizations => {
            organizations::run_job_item(store, ctx, kind, index, item)
        }
        JobKind::CreateUsers
        | JobKind::UpdateUsers
        | JobKind::CreateOrUpdateUsers
        | JobKind::DestroyUsers => users::run_job_item(store, ctx, kind, index, item),
        JobKind::CreateMemberships | JobKind::DestroyMemberships => {
            memberships::run_job_item(store, ctx, kind, index, item)
        }
    }
}

/// Jobs loaded from a saved state finish at the first look: the clock they ran on is gone.
pub fn rebase_loaded(store: &mut Store) {
    for job in store.jobs.jobs.values_mut().filter(|j| j.outcome.is_none()) {
        job.queued_at = 0;
        job.starts_at = 0;
        job.due_at = 0;
    }
}

/// A job id no job of the store has: `V3-` and 32 hex digits, drawn from the per-start id
/// generator (not the fault generator, so ids differ between processes and restarts while a
/// fault seed still gives one fault sequence), and drawn again on the (astronomically rare)
/// clash with a job loaded from state.
fn new_job_id(sandbox: &Sandbox, store: &Store) -> String {
    let mut rng = sandbox.id_rng.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let id = format!("V3-{:032x}", rng.gen::<u128>());
        if !store.jobs.jobs.contains_key(&id) {
            return id;
        }
    }
}

/// Queues a job, or refuses with 429 `TooManyJobs` when the account's job window is full.
///
/// The answer is 200 with the `queued` job status, as recorded, plus the
/// `zendesk-ratelimit-inflight-jobs` header.
pub fn submit(sandbox: &Sandbox, store: &mut Store, kind: JobKind, items: Vec<Value>) -> ApiResult {
    let limit = sandbox.config.job_limit;
    let in_flight = store.jobs.in_flight();
    if in_flight.len() >= limit {
        sandbox.stats.lock().unwrap_or_else(|e| e.into_inner()).too_many_jobs += 1;
        return Err(ApiError::TooManyJobs { current_job_ids: in_flight, limit });
    }
    let id = new_job_id(sandbox, store);
    let now = sandbox.now_ms();
    let starts_at = now + sandbox.config.job_delay_ms;
    let due_at = starts_at + sandbox.config.job_item_ms * items.len() as u64;
    let job = Job {
        id: id.clone(),
        kind,
        items,
        queued_at: now,
        starts_at,
        due_at,
        outcome: None,
        results: None,
        final_message: None,
    };
    let body = render(sandbox, &job);
    store.jobs.jobs.insert(id.clone(), job);
    store.jobs.order.push(id);
    let now_in_flight = in_flight.len() + 1;
    store.jobs.peak_in_flight = store.jobs.peak_in_flight.max(now_in_flight);
    let mut response = (StatusCode::OK, Json(json!({ "job_status": body }))).into_response();
    let header = format!("total={limit}; remaining={}; resets=60", limit - now_in_flight);
    if let Ok(value) = HeaderValue::from_str(&header) {
        response.headers_mut().insert("zendesk-ratelimit-inflight-jobs", value);
    }
    Ok(response)
}

/// The job status object as Zendesk renders it at this moment.
fn render(sandbox: &Sandbox, job: &Job) -> Value {
    let total = job.items.len();
    let url = format!("{}/api/v2/job_statuses/{}.json", sandbox.base_url(), job.id);
    let (status, progress, message, results) = match job.outcome {
        Some(Outcome::Completed) => {
            ("completed", json!(total), json!(job.final_message), json!(job.results))
        }
        Some(Outcome::Failed) => ("failed", Value::Null, json!(job.final_message), Value::Null),
        None => {
            let now = sandbox.now_ms();
            if now < job.starts_at {
                ("queued", Value::Null, Value::Null, Value::Null)
            } else {
                let per_item = sandbox.config.job_item_ms.max(1);
                let done =
                    (((now - job.starts_at) / per_item) as usize).min(total.saturating_sub(1));
                ("working", json!(done), json!(job.kind.working_message(done + 1)), Value::Null)
            }
        }
    };
    json!({
        "id": job.id,
        "job_type": job.kind.job_type(),
        "url": url,
        "total": total,
        "progress": progress,
        "status": status,
        "message": message,
        "results": results,
    })
}

/// `job_statuses` routes: list (cursor), show_many, show.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v2/job_statuses", get(list))
        .route("/api/v2/job_statuses/show_many", get(show_many))
        .route("/api/v2/job_statuses/{id}", get(show))
}

async fn show(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let store = sb.lock();
    let job = store.jobs.jobs.get(&id).ok_or(ApiError::NotFound)?;
    Ok(Json(json!({ "job_status": render(&sb, job) })).into_response())
}

#[derive(Deserialize)]
struct IdsQuery {
    ids: Option<String>,
}

async fn show_many(State(sb): State<Shared>, Query(q): Query<IdsQuery>) -> ApiResult {
    let Some(ids) = q.ids.filter(|s| !s.trim().is_empty()) else {
        return Err(ApiError::bad_request("InvalidValue", "ids is required"));
    };
    let ids: Vec<&str> = ids.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if ids.len() > 100 {
        return Err(ApiError::TooManyValues);
    }
    let store = sb.lock();
    let statuses: Vec<Value> =
        ids.iter().filter_map(|id| store.jobs.jobs.get(*id)).map(|j| render(&sb, j)).collect();
    Ok(Json(json!({ "job_statuses": statuses })).into_response())
}

async fn list(State(sb): State<Shared>, Query(q): Query<pagination::PageQuery>) -> ApiResult {
    let store = sb.lock();
    // Newest first, as Zendesk sorts by completion and creation date descending; the cursor
    // walks the creation sequence number.
    let n = store.jobs.order.len() as u64;
    let items = store
        .jobs
        .order
        .iter()
        .rev()
        .enumerate()
        .filter_map(|(i, id)| store.jobs.jobs.get(id).map(|j| (n - i as u64, render(&sb, j))));
    let items: Vec<(u64, Value)> = items.collect();
    let page = pagination::cursor_only(
        &q,
        items.into_iter(),
        sb.base_url(),
        "/api/v2/job_statuses.json",
        true,
    )?;
    Ok(Json(page.into_body("job_statuses")).into_response())
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng as _;

    use super::*;
    use crate::config::SandboxConfig;

    fn stored_job(id: &str) -> Job {
        Job {
            id: id.into(),
            kind: JobKind::CreateOrganizations,
            items: vec![],
            queued_at: 0,
            starts_at: 0,
            due_at: 0,
            outcome: Some(Outcome::Completed),
            results: Some(vec![]),
            final_message: None,
        }
    }

    #[test]
    fn an_id_a_stored_job_has_is_drawn_again() {
        let sandbox = Sandbox::new(SandboxConfig::default());
        *sandbox.id_rng.lock().unwrap() = StdRng::seed_from_u64(5);
        let mut same = StdRng::seed_from_u64(5);
        let first = format!("V3-{:032x}", same.gen::<u128>());
        let second = format!("V3-{:032x}", same.gen::<u128>());
        let mut store = Store::default();
        store.jobs.jobs.insert(first.clone(), stored_job(&first));
        assert_eq!(new_job_id(&sandbox, &store), second);
    }

    #[test]
    fn job_ids_differ_between_starts_and_keep_their_format() {
        let store = Store::default();
        let a = new_job_id(&Sandbox::new(SandboxConfig::default()), &store);
        let b = new_job_id(&Sandbox::new(SandboxConfig::default()), &store);
        assert_ne!(a, b, "the first job of two starts with one fault seed");
        for id in [&a, &b] {
            let hex = id.strip_prefix("V3-").unwrap();
            assert_eq!(hex.len(), 32, "{id}");
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{id}");
        }
    }
}
