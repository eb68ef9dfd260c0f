//! The `/api/v2/users` routes. Every handler locks the store once, so each answer is one
//! consistent view (jobs due by then have run).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::errors::{ApiError, ApiResult};
use super::super::jobs::{self, JobKind};
use super::super::pagination::{self, PageQuery, MAX_PAGE_SIZE};
use super::super::state::{Ctx, Shared, Store};
use super::bulk::{self, Target};
use super::write::{self, WriteError};
use super::{render, User, UserTable};

/// Items one bulk call may carry.
const MAX_ITEMS: usize = 100;

/// The user routes. `/users/me` is not here: the auth module answers it.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v2/users", get(list).post(create))
        .route("/api/v2/users/count", get(count))
        .route("/api/v2/users/show_many", get(show_many))
        .route("/api/v2/users/search", get(search))
        .route("/api/v2/users/create_or_update", post(create_or_update))
        .route("/api/v2/users/create_many", post(create_many))
        .route("/api/v2/users/create_or_update_many", post(create_or_update_many))
        .route("/api/v2/users/update_many", put(update_many))
        .route("/api/v2/users/destroy_many", axum::routing::delete(destroy_many))
        .route("/api/v2/users/{id}", get(show).put(update).delete(destroy))
}

/// `ids`, `external_ids` and `include_deleted` of show_many, update_many and destroy_many.
#[derive(Debug, Default, Deserialize)]
struct ManyQuery {
    ids: Option<String>,
    external_ids: Option<String>,
    include_deleted: Option<String>,
}

impl ManyQuery {
    /// The targets named by `ids` or `external_ids` (ids win when both are given), or None
    /// when neither is. Ids that are not numbers target nothing (id 0).
    fn targets(&self) -> Option<Vec<Target>> {
        let split = |s: &String| -> Vec<String> {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
        };
        if let Some(ids) = self.ids.as_ref().filter(|s| !s.trim().is_empty()) {
            return Some(split(ids).iter().map(|s| Target::Id(s.parse().unwrap_or(0))).collect());
        }
        let ext = self.external_ids.as_ref().filter(|s| !s.trim().is_empty())?;
        Some(split(ext).into_iter().map(Target::ExternalId).collect())
    }
}

/// The request body as JSON (`null` when empty).
fn parse_body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    // UNVERIFIED: Zendesk's answer to a body that is not JSON was not recorded.
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("InvalidJSON", format!("The request body is not valid JSON: {e}"))
    })
}

/// `body[key]` when it is present with the expected JSON type.
fn member<'a>(body: &'a Value, key: &str, want_array: bool) -> Result<&'a Value, ApiError> {
    match body.get(key) {
        Some(v) if (want_array && v.is_array()) || (!want_array && v.is_object()) => Ok(v),
        // UNVERIFIED: the 400 for a missing envelope key was not recorded.
        _ => Err(ApiError::bad_request("ParameterMissing", format!("Parameter {key} is required"))),
    }
}

fn parse_id(raw: &str) -> Result<u64, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::NotFound)
}

fn user_answer(status: StatusCode, store: &Store, ctx: &Ctx, id: u64, location: bool) -> ApiResult {
    let user = store.users.users.get(&id).ok_or(ApiError::NotFound)?;
    let mut response = (status, Json(json!({ "user": render(store, ctx, user) }))).into_response();
    if location {
        if let Ok(value) = HeaderValue::from_str(&ctx.url("users", id)) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    Ok(response)
}

/// `{"users":[..],"next_page":null,"previous_page":null,"count":n}`, as recorded for
/// show_many.
fn user_list(store: &Store, ctx: &Ctx, users: &[&User]) -> Response {
    let rendered: Vec<Value> = users.iter().map(|u| render(store, ctx, u)).collect();
    let count = rendered.len();
    Json(json!({ "users": rendered, "next_page": null, "previous_page": null, "count": count }))
        .into_response()
}

/// A page size as the pagination module reads it (invalid values: it answers the error).
fn page_size(raw: Option<&String>) -> usize {
    raw.and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n >= 1)
        .map_or(MAX_PAGE_SIZE, |n| n.min(MAX_PAGE_SIZE))
}

/// The active users a page can show, each with `Some` if it must be rendered. Rendering
/// every user for every page would dominate at 20,000 users, so a cursor page gets only the
/// size+1 users past its cursor (enough for `has_more`), and an offset page gets every
/// active id (for `count`) but only its own users marked for rendering.
fn window<'a>(q: &PageQuery, table: &'a UserTable) -> Vec<(u64, Option<&'a User>)> {
    let active = |u: &&User| u.active;
    let cursor = |c: &Option<String>| c.as_deref().and_then(pagination::decode_cursor);
    if q.size.is_some() || q.after.is_some() || q.before.is_some() {
        let take = page_size(q.size.as_ref()) + 1;
        let picked: Vec<&User> = if q.before.is_some() {
            let Some(key) = cursor(&q.before) else { return Vec::new() };
            let mut back: Vec<&User> =
                table.users.range(..key).rev().map(|(_, u)| u).filter(active).take(take).collect();
            back.reverse();
            back
        } else if q.after.is_some() {
            let Some(key) = cursor(&q.after) else { return Vec::new() };
            let from = key.saturating_add(1);
            table.users.range(from..).map(|(_, u)| u).filter(active).take(take).collect()
        } else {
            table.users.values().filter(active).take(take).collect()
        };
        return picked.into_iter().map(|u| (u.id, Some(u))).collect();
    }
    let per_page = page_size(q.per_page.as_ref());
    let page = q.page.as_ref().and_then(|s| s.trim().parse::<usize>().ok()).unwrap_or(1).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let end = start.saturating_add(per_page);
    table
        .users
        .values()
        .filter(active)
        .enumerate()
        .map(|(i, u)| (u.id, (start..end).contains(&i).then_some(u)))
        .collect()
}

async fn list(State(sb): State<Shared>, Query(q): Query<PageQuery>) -> ApiResult {
    let ctx = sb.ctx();
    let store = sb.lock();
    let items = window(&q, &store.users)
        .into_iter()
        .map(|(id, user)| (id, user.map_or(Value::Null, |u| render(&store, &ctx, u))));
    let page = pagination::paginate(&q, items, &ctx.base_url, "/api/v2/users.json")?;
    Ok(Json(page.into_body("users")).into_response())
}

async fn count(State(sb): State<Shared>) -> ApiResult {
    let ctx = sb.ctx();
    let store = sb.lock();
    // The shape of Zendesk's count endpoints (OAS `CountObject`).
    let value = store.users.active_count();
    Ok(Json(json!({ "count": { "value": value, "refreshed_at": ctx.now } })).into_response())
}

async fn show(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let ctx = sb.ctx();
    let store = sb.lock();
    // Deleted users are still shown by id, with `active:false`, as Zendesk does.
    user_answer(StatusCode::OK, &store, &ctx, id, false)
}

async fn show_many(State(sb): State<Shared>, Query(q): Query<ManyQuery>) -> ApiResult {
    let Some(targets) = q.targets() else {
        return Err(ApiError::bad_request("InvalidValue", "ids or external_ids is required"));
    };
    // UNVERIFIED: the body for more than 100 values; the TooManyValues form is assumed (§4).
    if targets.len() > MAX_ITEMS {
        return Err(ApiError::TooManyValues);
    }
    let include_deleted =
        q.include_deleted.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ctx = sb.ctx();
    let store = sb.lock();
    let mut found: Vec<&User> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Id(id) => store.users.users.get(id).filter(|u| u.active || include_deleted),
            Target::ExternalId(ext) => store.users.find_by_external_id(ext),
        })
        .collect();
    // R1 answers sorted by id, whatever the order asked.
    found.sort_by_key(|u| u.id);
    found.dedup_by_key(|u| u.id);
    Ok(user_list(&store, &ctx, &found))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    query: Option<String>,
    external_id: Option<String>,
}

/// Whether a user matches one term of a search query.
fn term_matches(user: &User, term: &str) -> bool {
    let unquote = |v: &str| v.trim_matches('"').to_string();
    match term.split_once(':') {
        Some(("type", v)) => v.eq_ignore_ascii_case("user"),
        Some(("email", v)) => user.emails().any(|e| e.eq_ignore_ascii_case(&unquote(v))),
        Some(("external_id", v)) => {
            user.external_id.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&unquote(v)))
        }
        Some(("name", v)) => user.name.eq_ignore_ascii_case(&unquote(v)),
        Some(("role", v)) => user.role.eq_ignore_ascii_case(v),
        _ => {
            let needle = unquote(term).to_lowercase();
            user.name.to_lowercase().contains(&needle)
                || user.emails().any(|e| e.to_lowercase().contains(&needle))
        }
    }
}

async fn search(State(sb): State<Shared>, Query(q): Query<SearchQuery>) -> ApiResult {
    let ctx = sb.ctx();
    let store = sb.lock();
    let found: Vec<&User> = match (&q.external_id, &q.query) {
        (Some(ext), _) => store.users.find_by_external_id(ext.trim()).into_iter().collect(),
        (None, Some(query)) if !query.trim().is_empty() => {
            let terms: Vec<&str> = query.split_whitespace().collect();
            match terms.as_slice() {
                // The common exact look-ups go through the indexes.
                [t] if t.starts_with("email:") => store
                    .users
                    .find_by_email(t["email:".len()..].trim_matches('"'))
                    .into_iter()
                    .collect(),
                [t] if t.starts_with("external_id:") => store
                    .users
                    .find_by_external_id(t["external_id:".len()..].trim_matches('"'))
                    .into_iter()
                    .collect(),
                _ => store
                    .users
                    .users
                    .values()
                    .filter(|u| u.active && terms.iter().all(|t| term_matches(u, t)))
                    .collect(),
            }
        }
        // UNVERIFIED: the answer to a search with no criteria.
        _ => return Err(ApiError::bad_request("InvalidValue", "query or external_id is required")),
    };
    Ok(user_list(&store, &ctx, &found))
}

async fn create(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let user = member(&body, "user", false)?;
    let ctx = sb.ctx();
    let mut store = sb.lock();
    let id = write::create(&mut store, &ctx, user).map_err(ApiError::RecordInvalid)?;
    user_answer(StatusCode::CREATED, &store, &ctx, id, true)
}

async fn create_or_update(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let user = member(&body, "user", false)?;
    let ctx = sb.ctx();
    let mut store = sb.lock();
    let (id, created) = write::upsert(&mut store, &ctx, user).map_err(ApiError::RecordInvalid)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    user_answer(status, &store, &ctx, id, created)
}

async fn update(State(sb): State<Shared>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = parse_id(&id)?;
    let body = parse_body(&body)?;
    let ctx = sb.ctx();
    let mut store = sb.lock();
    // UNVERIFIED: updating a deleted user answers 404, as if it were gone.
    if !store.users.contains(id) {
        return Err(ApiError::NotFound);
    }
    let user = member(&body, "user", false)?;
    match write::update(&mut store, &ctx, id, user) {
        Ok(()) => user_answer(StatusCode::OK, &store, &ctx, id, false),
        Err(WriteError::Invalid(details)) => Err(ApiError::RecordInvalid(details)),
        Err(WriteError::NotFound) => Err(ApiError::NotFound),
    }
}

async fn destroy(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let id = parse_id(&id)?;
    let ctx = sb.ctx();
    let mut store = sb.lock();
    // UNVERIFIED: deleting an already deleted user answers 404.
    match write::delete(&mut store, &ctx, id) {
        // As recorded (R3): 200 with the user, now inactive, without email or external_id.
        Ok(()) => user_answer(StatusCode::OK, &store, &ctx, id, false),
        Err(_) => Err(ApiError::NotFound),
    }
}

/// The `users` array of a create_many / create_or_update_many body, at most 100 items.
fn user_items(body: &Bytes) -> Result<Vec<Value>, ApiError> {
    let body = parse_body(body)?;
    let items = member(&body, "users", true)?.as_array().cloned().unwrap_or_default();
    if items.len() > MAX_ITEMS {
        return Err(ApiError::TooManyUsers);
    }
    Ok(items)
}

async fn create_many(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    sb.check_bulk_imports()?;
    let items = user_items(&body)?;
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::CreateUsers, items)
}

async fn create_or_update_many(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    sb.check_bulk_imports()?;
    // UNVERIFIED: the over-100 wording here; create_many's ("Maximum 100 users may be
    // created per call") is assumed.
    let items = user_items(&body)?;
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::CreateOrUpdateUsers, items)
}

async fn update_many(
    State(sb): State<Shared>,
    Query(q): Query<ManyQuery>,
    body: Bytes,
) -> ApiResult {
    sb.check_bulk_imports()?;
    let body = parse_body(&body)?;
    let items: Vec<Value> = match q.targets() {
        // Bulk: one change for every user named in the query.
        Some(targets) => {
            let changes = member(&body, "user", false)?.as_object().cloned().unwrap_or_default();
            if targets.len() > MAX_ITEMS {
                return Err(ApiError::TooManyValues);
            }
            targets.iter().map(|t| bulk::update_item(t, &changes)).collect()
        }
        // Batch: each item names its user.
        None => {
            let users = member(&body, "users", true)?.as_array().cloned().unwrap_or_default();
            // UNVERIFIED: the over-100 body for update_many; the TooManyValues form (§4).
            if users.len() > MAX_ITEMS {
                return Err(ApiError::TooManyValues);
            }
            users.iter().map(bulk::batch_update_item).collect()
        }
    };
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::UpdateUsers, items)
}

async fn destroy_many(State(sb): State<Shared>, Query(q): Query<ManyQuery>) -> ApiResult {
    sb.check_bulk_imports()?;
    let Some(targets) = q.targets() else {
        return Err(ApiError::bad_request("InvalidValue", "ids or external_ids is required"));
    };
    // UNVERIFIED: the over-100 body for destroy_many; the TooManyValues form (§4).
    if targets.len() > MAX_ITEMS {
        return Err(ApiError::TooManyValues);
    }
    let items = targets.iter().map(Target::to_item).collect();
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::DestroyUsers, items)
}
