//! Counters for benchmarks and tests, served at `GET /sandbox/stats` (not a Zendesk endpoint).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use super::state::Shared;

/// What the sandbox has served since it started.
#[derive(Debug, Default, Serialize)]
pub struct Stats {
    /// Requests by endpoint (`POST /api/v2/organizations/create_many`) and status code.
    pub requests: BTreeMap<String, BTreeMap<u16, u64>>,
    /// All requests counted against the rate budget.
    pub total_requests: u64,
    /// Account-level 429s sent because the budget was spent.
    pub rate_limited: u64,
    /// `TooManyJobs` refusals.
    pub too_many_jobs: u64,
    /// Injected faults by kind (`5xx`, `drop`, `slow`, `token-expire`).
    pub faults: BTreeMap<String, u64>,
    /// Requests that may have changed state, to know when to save.
    pub writes: u64,
}

impl Stats {
    /// Counts one answer.
    pub fn record(&mut self, endpoint: String, status: u16) {
        *self.requests.entry(endpoint).or_default().entry(status).or_default() += 1;
    }

    /// Counts one injected fault.
    pub fn fault(&mut self, kind: &str) {
        *self.faults.entry(kind.to_string()).or_default() += 1;
    }
}

/// `GET /api/v2/organizations/61000001` → `GET /api/v2/organizations/{id}`: ids, job ids and
/// merge ids
/// become `{id}`, so counters group by endpoint.
pub fn endpoint_label(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            let ulid =
                s.len() == 26 && s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
            if !s.is_empty()
                && (s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with("V3-") || ulid)
            {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    format!("{method} {}", segments.join("/"))
}

/// `GET /sandbox/stats`.
pub async fn show(State(sb): State<Shared>) -> Response {
    let (jobs_run, in_flight, peak) = {
        let store = sb.lock();
        (store.jobs.finished, store.jobs.in_flight().len(), store.jobs.peak_in_flight)
    };
    let stats = sb.stats.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({
        "requests": stats.requests,
        "total_requests": stats.total_requests,
        "rate_limited": stats.rate_limited,
        "too_many_jobs": stats.too_many_jobs,
        "faults": stats.faults,
        "jobs_run": jobs_run,
        "jobs_in_flight": in_flight,
        "peak_jobs_in_flight": peak,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_group_ids() {
        assert_eq!(
            endpoint_label("GET", "/api/v2/organizations/6100000000001"),
            "GET /api/v2/organizations/{id}"
        );
        assert_eq!(
            endpoint_label("GET", "/api/v2/job_statuses/V3-abc"),
            "GET /api/v2/job_statuses/{id}"
        );
        assert_eq!(
            endpoint_label("POST", "/api/v2/users/create_many"),
            "POST /api/v2/users/create_many"
        );
    }
}
