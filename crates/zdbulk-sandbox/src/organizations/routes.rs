//! Organization endpoints under `/api/v2/organizations`: list, count, show, show_many,
//! search, create, create_or_update, update, destroy, create_many, update_many, destroy_many.

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::super::errors::{ApiError, ApiResult};
use super::super::jobs::{self, JobKind};
use super::super::pagination::{self, PageQuery};
use super::super::state::{Shared, Store};
use super::write::{self, OrgWrite};
use super::{create, destroy, job_item, render, update};

/// Most values one call may carry (records, ids or external ids).
const MAX_VALUES: usize = 100;

/// Organization routes.
pub fn routes() -> Router<Shared> {
    // `POST /organizations/create_or_update_many` does not exist in Zendesk: it falls on
    // `{id}`, which has no POST, and the router answers 404 InvalidEndpoint.
    Router::new()
        .route("/api/v2/organizations", get(list).post(create_one))
        .route("/api/v2/organizations/count", get(count))
        .route("/api/v2/organizations/show_many", get(show_many))
        .route("/api/v2/organizations/search", get(search))
        .route("/api/v2/organizations/create_or_update", post(create_or_update))
        .route("/api/v2/organizations/create_many", post(create_many))
        .route("/api/v2/organizations/update_many", put(update_many))
        .route("/api/v2/organizations/destroy_many", delete(destroy_many))
        .route("/api/v2/organizations/{id}", get(show).put(update_one).delete(destroy_one))
}

/// Parses a request body; an empty body reads as `null`.
pub(crate) fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    // UNVERIFIED: Zendesk's answer to malformed JSON; a 400 naming the problem is safe.
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("InvalidJSON", format!("the request body is not JSON: {e}"))
    })
}

/// Query parameters as pairs (the last of a repeated key wins).
pub(crate) fn query_param(raw: &Option<String>, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        raw.as_deref().and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
    pairs.into_iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A comma-separated list, blanks dropped.
pub(crate) fn split_list(raw: &str) -> Vec<String> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// A missing required parameter.
// UNVERIFIED: the body; this is the Rails `ParameterMissing` wording.
pub(crate) fn missing(name: &str) -> ApiError {
    ApiError::bad_request(
        "ParameterMissing",
        format!("param is missing or the value is empty: {name}"),
    )
}

/// A path id; a non-numeric one names no record.
// UNVERIFIED: Zendesk's answer for `/organizations/abc`; 404 RecordNotFound is the safe reading.
pub(crate) fn path_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// Ids from `?ids=`, all numeric, or a 400 naming the parameter.
fn numeric_ids(list: &[String], endpoint: &str) -> Result<Vec<u64>, ApiError> {
    list.iter().map(|s| s.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| {
        write::BadAttribute { attribute: "ids".into(), expected: "a list of integers" }
            .into_error(endpoint)
    })
}

/// Adds `x-zendesk-api-warn` naming dropped keys, in the recorded Ruby-hash form.
fn warn(response: &mut Response, action: &str, unpermitted: &[String]) {
    if unpermitted.is_empty() {
        return;
    }
    let keys = unpermitted.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
    let text = format!(
        "{{:allowed_parameters=>{{:controller=>\"organizations\", :action=>\"{action}\", \
         :unpermitted_keys=>[{keys}], :invalid_values=>[]}}}}"
    );
    if let Ok(value) = HeaderValue::from_str(&text) {
        response.headers_mut().insert("x-zendesk-api-warn", value);
    }
}

/// `{"organizations":[..],"next_page":null,"previous_page":null,"count":n}`, sorted by name as
/// recorded for show_many.
fn unpaged(store: &Store, sb: &Shared, mut ids: Vec<u64>) -> Response {
    ids.sort_unstable();
    ids.dedup();
    let mut orgs: Vec<_> = ids.iter().filter_map(|id| store.organizations.get(*id)).collect();
    orgs.sort_by_cached_key(|o| (o.name.to_lowercase(), o.id));
    let ctx = sb.ctx();
    let items: Vec<Value> = orgs.iter().map(|o| render(store, &ctx, o)).collect();
    let count = items.len();
    Json(json!({"organizations": items, "next_page": null, "previous_page": null, "count": count}))
        .into_response()
}

async fn list(State(sb): State<Shared>, Query(q): Query<PageQuery>) -> ApiResult {
    let store = sb.lock();
    // Page over bare ids and render only the page: lists stay cheap at tens of thousands.
    let keys = store.organizations.ids().map(|id| (id, json!(id)));
    let page = pagination::paginate(&q, keys, sb.base_url(), "/api/v2/organizations.json")?;
    let ctx = sb.ctx();
    let items =
        page.items.iter().filter_map(Value::as_u64).filter_map(|id| store.organizations.get(id));
    let items: Vec<Value> = items.map(|o| render(&store, &ctx, o)).collect();
    let page = pagination::Page { items, extra: page.extra };
    Ok(Json(page.into_body("organizations")).into_response())
}

async fn count(State(sb): State<Shared>) -> ApiResult {
    let n = sb.lock().organizations.len();
    Ok(Json(json!({"count": {"value": n, "refreshed_at": sb.ctx().now}})).into_response())
}

async fn show(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let id = path_id(&id)?;
    let store = sb.lock();
    let org = store.organizations.get(id).ok_or(ApiError::NotFound)?;
    Ok(Json(json!({"organization": render(&store, &sb.ctx(), org)})).into_response())
}

async fn show_many(State(sb): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let store = sb.lock();
    let ids = if let Some(ids) = query_param(&raw, "ids") {
        let ids = split_list(&ids);
        if ids.len() > MAX_VALUES {
            return Err(ApiError::TooManyValues);
        }
        numeric_ids(&ids, "api/v2/organizations/show_many")?
    } else if let Some(exts) = query_param(&raw, "external_ids") {
        let exts = split_list(&exts);
        if exts.len() > MAX_VALUES {
            return Err(ApiError::TooManyValues);
        }
        exts.iter().filter_map(|e| store.organizations.id_by_external_id(e)).collect()
    } else {
        // UNVERIFIED: show_many without either parameter; refused like a missing parameter.
        return Err(missing("ids"));
    };
    Ok(unpaged(&store, &sb, ids))
}

async fn search(State(sb): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let store = sb.lock();
    let ext = query_param(&raw, "external_id");
    let name = query_param(&raw, "name");
    let found = match (ext, name) {
        (Some(ext), None) => store.organizations.id_by_external_id(&ext),
        (None, Some(name)) => store.organizations.id_by_name(&name),
        // UNVERIFIED: the docs allow one criterion, not both; neither or both is a 400 here.
        _ => return Err(missing("external_id or name")),
    };
    Ok(unpaged(&store, &sb, found.into_iter().collect()))
}

/// The `organization` object of a single-record body, type-checked.
fn single(body: &Bytes, endpoint: &str) -> Result<OrgWrite, ApiError> {
    let body = parse_body(body)?;
    write::parse(&body["organization"], "organization", &[]).map_err(|bad| bad.into_error(endpoint))
}

/// 201 with a `Location` header, as recorded for creates.
fn created(store: &Store, sb: &Shared, id: u64) -> Response {
    let ctx = sb.ctx();
    let url = ctx.url("organizations", id);
    let body = store.organizations.get(id).map(|o| render(store, &ctx, o));
    let mut response = (StatusCode::CREATED, Json(json!({"organization": body}))).into_response();
    if let Ok(value) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn create_one(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    let w = single(&body, "api/v2/organizations")?;
    let mut store = sb.lock();
    let id = create(&mut store, &sb.ctx(), &w).map_err(|p| write::invalid(&p))?;
    let mut response = created(&store, &sb, id);
    warn(&mut response, "create", &w.unpermitted);
    Ok(response)
}

async fn update_one(State(sb): State<Shared>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let id = path_id(&id)?;
    let w = single(&body, "api/v2/organizations/update")?;
    let mut store = sb.lock();
    let ctx = sb.ctx();
    // The warning is sent on the 404 too, as recorded.
    let mut response = match update(&mut store, &ctx, id, &w).map_err(|p| write::invalid(&p))? {
        true => {
            let org = store.organizations.get(id).map(|o| render(&store, &ctx, o));
            Json(json!({"organization": org})).into_response()
        }
        false => ApiError::NotFound.into_response(),
    };
    warn(&mut response, "update", &w.unpermitted);
    Ok(response)
}

async fn destroy_one(State(sb): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let id = path_id(&id)?;
    let mut store = sb.lock();
    if destroy(&mut store, id) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

async fn create_or_update(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    let parsed = parse_body(&body)?;
    let obj = &parsed["organization"];
    let endpoint = "api/v2/organizations/create_or_update";
    let w = write::parse(obj, "organization", &["id"]).map_err(|bad| bad.into_error(endpoint))?;
    let mut store = sb.lock();
    let ctx = sb.ctx();
    // Matched by id or by external_id only; a name never matches (documented).
    // UNVERIFIED: an `id` that names no record falls through to external_id, then to create.
    let by_id = obj["id"].as_u64().filter(|id| store.organizations.contains(*id));
    let by_ext = match &w.external_id {
        Some(Some(ext)) => store.organizations.id_by_external_id(ext),
        _ => None,
    };
    match by_id.or(by_ext) {
        Some(id) => {
            update(&mut store, &ctx, id, &w).map_err(|p| write::invalid(&p))?;
            let org = store.organizations.get(id).map(|o| render(&store, &ctx, o));
            Ok(Json(json!({"organization": org})).into_response())
        }
        None => {
            let id = create(&mut store, &ctx, &w).map_err(|p| write::invalid(&p))?;
            Ok(created(&store, &sb, id))
        }
    }
}

/// The array under `key` in a bulk body, at most 100 long.
fn bulk_items(body: &Value, key: &str) -> Result<Vec<Value>, ApiError> {
    let items = body[key].as_array().ok_or_else(|| missing(key))?;
    if items.len() > MAX_VALUES {
        return Err(ApiError::TooManyValues);
    }
    Ok(items.clone())
}

async fn create_many(State(sb): State<Shared>, body: Bytes) -> ApiResult {
    let items = bulk_items(&parse_body(&body)?, "organizations")?;
    // Types are checked now (a 400 for the whole call); values when the job runs.
    for (i, item) in items.iter().enumerate() {
        write::parse(item, &format!("organizations.{i}"), &[])
            .map_err(|bad| bad.into_error("api/v2/organizations/create_many"))?;
    }
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::CreateOrganizations, items)
}

async fn update_many(State(sb): State<Shared>, RawQuery(raw): RawQuery, body: Bytes) -> ApiResult {
    let endpoint = "api/v2/organizations/update_many";
    let body = parse_body(&body)?;
    let ids = query_param(&raw, "ids").map(|s| split_list(&s));
    let exts = query_param(&raw, "external_ids").map(|s| split_list(&s));
    let items: Vec<Value> = if ids.is_some() || exts.is_some() {
        // Bulk: one change for every listed record, expanded to one job item each.
        let changes = body["organization"].clone();
        write::parse(&changes, "organization", &[]).map_err(|bad| bad.into_error(endpoint))?;
        let targets: Vec<(&str, Value)> = match (ids, exts) {
            (Some(ids), _) => {
                if ids.len() > MAX_VALUES {
                    return Err(ApiError::TooManyValues);
                }
                numeric_ids(&ids, endpoint)?.into_iter().map(|id| ("id", json!(id))).collect()
            }
            (None, Some(exts)) => {
                if exts.len() > MAX_VALUES {
                    return Err(ApiError::TooManyValues);
                }
                exts.into_iter().map(|e| ("external_id", json!(e))).collect()
            }
            (None, None) => Vec::new(),
        };
        targets.into_iter().map(|(by, key)| job_item(by, key, Some(changes.clone()))).collect()
    } else {
        // Batch: each item names its record by `id`, or else by `external_id`.
        let batch = bulk_items(&body, "organizations")?;
        let mut items = Vec::with_capacity(batch.len());
        for (i, item) in batch.into_iter().enumerate() {
            let prefix = format!("organizations.{i}");
            write::parse(&item, &prefix, &["id"]).map_err(|bad| bad.into_error(endpoint))?;
            let target = match (&item["id"], &item["external_id"]) {
                (Value::Number(n), _) if n.is_u64() => ("id", item["id"].clone()),
                (Value::Null, Value::String(ext)) => ("external_id", json!(ext)),
                (Value::Null, Value::Number(n)) => ("external_id", json!(n.to_string())),
                // UNVERIFIED: an item naming no record; it fails alone, as RecordNotFound.
                (Value::Null, _) => ("none", Value::Null),
                _ => {
                    let bad = write::BadAttribute {
                        attribute: format!("{prefix}.id"),
                        expected: "an integer",
                    };
                    return Err(bad.into_error(endpoint));
                }
            };
            items.push(job_item(target.0, target.1, Some(item)));
        }
        items
    };
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::UpdateOrganizations, items)
}

async fn destroy_many(State(sb): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult {
    let endpoint = "api/v2/organizations/destroy_many";
    let items: Vec<Value> = if let Some(ids) = query_param(&raw, "ids") {
        let ids = split_list(&ids);
        if ids.len() > MAX_VALUES {
            return Err(ApiError::TooManyValues);
        }
        numeric_ids(&ids, endpoint)?.into_iter().map(|id| job_item("id", json!(id), None)).collect()
    } else if let Some(exts) = query_param(&raw, "external_ids") {
        let exts = split_list(&exts);
        if exts.len() > MAX_VALUES {
            return Err(ApiError::TooManyValues);
        }
        exts.into_iter().map(|e| job_item("external_id", json!(e), None)).collect()
    } else {
        return Err(missing("ids"));
    };
    let mut store = sb.lock();
    jobs::submit(&sb, &mut store, JobKind::DestroyOrganizations, items)
}
