//! The organization membership routes: list (all, one user's, one organization's), show,
//! create, create_many, destroy, destroy_many.

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::super::errors::{ApiError, ApiResult};
use super::super::jobs::{self, JobKind};
use super::super::organizations::{missing, parse_body, path_id, query_param, split_list};
use super::super::pagination::{self, PageQuery};
use super::super::state::{Shared, Store};
use super::{add, destroy, render, validate, MAX_VALUES};

/// Membership routes, including the lists scoped to one user or one organization.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v2/organization_memberships", get(list).post(create_one))
        .route("/api/v2/organization_memberships/create_many", post(create_many))
        .route("/api/v2/organization_memberships/destroy_many", delete(destroy_many))
        .route("/api/v2/organization_memberships/{id}", get(show).delete(destroy_one))
        .route("/api/v2/users/{id}/organization_memberships", get(list_for_user))
        .route("/api/v2/organizations/{id}/organization_memberships", get(list_for_org))
}

/// One page of the memberships `ids` (ascending), in the list shape; `path` is the
/// collection's path as its links show it. Every list route paginates through here.
fn page_of(
    sb: &Shared,
    store: &Store,
    q: &PageQuery,
    ids: impl Iterator<Item = u64>,
    path: &str,
) -> ApiResult {
    let keys = ids.map(|id| (id, json!(id)));
    let page = pagination::paginate(q, keys, sb.base_url(), path)?;
    let ctx = sb.ctx();
    let items = page.items.iter().filter_map(Value::as_u64);
    let items = items.filter_map(|id| store.memberships.memberships.get(&id));
    let items: Vec<Value> = items.map(|m| render(store, &ctx, m)).collect();
    let page = pagination::Page { items, extra: page.extra };
    Ok(Json(page.into_body("organization_memberships")).into_response())
}

async fn list(State(sb): State<Shared>, Query(q): Query<PageQuery>) -> ApiResult {
    let store = sb.lock();
    let ids = store.memberships.memberships.keys().copied();
    page_of(&sb, &store, &q, ids, "/api/v2/organization_memberships.json")
}

/// `GET /users/{id}/organization_memberships`. A deleted user is still known (its show
/// answers), so it lists as empty rather than 404.
// UNVERIFIED: Zendesk's answer for a deleted user's memberships.
async fn list_for_user(
    State(sb): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let id = path_id(&id)?;
    let store = sb.lock();
    if !store.users.users.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let ids = store.memberships.by_user.get(&id).into_iter().flatten().copied();
    let path = format!("/api/v2/users/{id}/organization_memberships.json");
    page_of(&sb, &store, &q, ids, &path)
}

/// `GET /organizations/{id}/organization_memberships`.
async fn list_for_org(
    State(sb): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult {
    let id = path_id(&id)?;
    let store = sb.lock();
    if !store.organizations.contains(id) {
        return Err(ApiError::NotFound);
    }
    let ids = store.memberships.by_org.get(&id).into_iter().flatten().copied();
    let path = format!("/api/v2/organizations/{id}/organization_memberships.json");
    page_of(&sb, &store, &q, ids, &path)
}

async fn show(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let id = path_id(&id)?;
    let store = sb.lock();
    let m = store.memberships.memberships.get(&id).ok_or(ApiError::NotFound)?;
    Ok(Json(json!({"organization_membership": render(&store, &sb.ctx(), m)})).into_response())
}

async fn create_one(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut store = sb.lock();
    let (user_id, org_id, view) = validate(&store, &body["organization_membership"]).map_err(
        |(attr, description, error)| {
            let mut details = Map::new();
            details.insert(attr.into(), json!([{"description": description, "error": error}]));
            ApiError::RecordInvalid(details)
        },
    )?;
    let ctx = sb.ctx();
    let id = add(&mut store, &ctx, user_id, org_id, view);
    let body = store.memberships.memberships.get(&id).map(|m| render(&store, &ctx, m));
    let mut response =
        (StatusCode::CREATED, Json(json!({"organization_membership": body}))).into_response();
    if let Ok(value) = HeaderValue::from_str(&ctx.url("organization_memberships", id)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn destroy_one(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let id = path_id(&id)?;
    if destroy(&mut sb.lock(), id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

async fn create_many(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    sb.check_bulk_imports()?;
    let body = parse_body(&body)?;
    // UNVERIFIED: the body key (`organization_memberships`, by analogy with the other bulk calls).
    let key = "organization_memberships";
    let items = body[key].as_array().ok_or_else(|| missing(key))?;
    if items.len() > MAX_VALUES {
        return Err(ApiError::TooManyValues);
    }
    let items = items.clone();
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::CreateMemberships, items)
}

async fn destroy_many(State(sb): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let ids = query_param(&raw, "ids").map(|s| split_list(&s)).ok_or_else(|| missing("ids"))?;
    if ids.len() > MAX_VALUES {
        return Err(ApiError::TooManyValues);
    }
    // A non-numeric id names no membership: it fails alone when the job runs.
    let items: Vec<Value> =
        ids.iter().map(|s| s.parse::<u64>().map(|n| json!(n)).unwrap_or(json!(s))).collect();
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::DestroyMemberships, items)
}
