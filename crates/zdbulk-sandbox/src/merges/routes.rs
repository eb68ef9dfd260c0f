//! Merge endpoints: `POST organizations/{id}/merge`, `GET organization_merges/{id}` and
//! `GET organizations/{id}/merges` (cursor-paginated).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::super::errors::{ApiError, ApiResult};
use super::super::organizations::{missing, parse_body, path_id};
use super::super::pagination::{self, PageQuery};
use super::super::state::Shared;
use super::{queue, render};

/// Merge routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v2/organizations/{id}/merge", post(merge))
        .route("/api/v2/organizations/{id}/merges", get(list))
        .route("/api/v2/organization_merges/{id}", get(show))
}

/// Starts a merge of `{id}` into `organization_merge.winner_id`.
// UNVERIFIED: the answers to a bad body, an unknown winner, a self-merge and a merge of an
// organization already being merged are not documented; the sandbox answers 400, 422 and 422.
async fn merge(State(sb): State<Shared>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let loser = path_id(&id)?;
    let body = parse_body(&body)?;
    let winner = body
        .get("organization_merge")
        .and_then(|m| m.get("winner_id"))
        .and_then(Value::as_u64)
        .ok_or_else(|| missing("organization_merge.winner_id"))?;
    let mut store = sb.lock();
    if !store.organizations.contains(loser) {
        return Err(ApiError::NotFound);
    }
    if !store.organizations.contains(winner) {
        return Err(ApiError::invalid("winner_id", "Winner organization not found", None));
    }
    if loser == winner {
        return Err(ApiError::invalid(
            "winner_id",
            "An organization cannot be merged into itself",
            None,
        ));
    }
    // Several merges may go into one winner at once; an organization being merged away (or
    // receiving users) cannot also be merged away, nor can one being merged away receive.
    let winner_leaving = store.merges.pending_with(winner).is_some_and(|m| m.loser_id == winner);
    if store.merges.pending_with(loser).is_some() || winner_leaving {
        return Err(ApiError::invalid(
            "base",
            "One of the organizations is already being merged",
            Some("MergeInProgress"),
        ));
    }
    let m = queue(&sb, &mut store, loser, winner);
    let now = sb.now_ms();
    Ok(Json(json!({"organization_merge": render(&sb.ctx(), &m, now)})).into_response())
}

async fn show(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let store = sb.lock();
    let m = store.merges.merges.get(&id).ok_or(ApiError::NotFound)?;
    let now = sb.now_ms();
    Ok(Json(json!({"organization_merge": render(&sb.ctx(), m, now)})).into_response())
}

/// The merges an organization took part in, as winner or loser, oldest first. A deleted
/// loser's merges are still listed.
async fn list(
    State(sb): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let org = path_id(&id)?;
    let store = sb.lock();
    let now = sb.now_ms();
    let ctx = sb.ctx();
    let mut mine: Vec<_> =
        store.merges.merges.values().filter(|m| m.winner_id == org || m.loser_id == org).collect();
    if mine.is_empty() && !store.organizations.contains(org) {
        return Err(ApiError::NotFound);
    }
    mine.sort_by_key(|m| m.seq);
    let items = mine.into_iter().map(|m| (m.seq, render(&ctx, m, now)));
    let path = format!("/api/v2/organizations/{org}/merges.json");
    let page = pagination::cursor_only(&q, items, sb.base_url(), &path, false)?;
    Ok(Json(page.into_body("organization_merges")).into_response())
}
