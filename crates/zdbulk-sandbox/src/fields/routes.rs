//! HTTP routes of both field families: list, create, show, update, delete (by id or key),
//! reorder, and `user_fields/show_many?keys=`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{create_field, delete_field, render_field, reorder, update_field, FieldKind};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{self, PageQuery};
use crate::state::Shared;

/// Field routes, for both families.
pub fn routes() -> Router<Shared> {
    let mut router = Router::new();
    for kind in [FieldKind::Organization, FieldKind::User] {
        let base = format!("/api/v2/{}", kind.collection());
        router = router
            .route(
                &base,
                get(move |State(sb): State<Shared>, Query(q): Query<PageQuery>| list(sb, q, kind))
                    .post(move |State(sb): State<Shared>, body: Bytes| create(sb, body, kind)),
            )
            .route(
                &format!("{base}/reorder"),
                put(move |State(sb): State<Shared>, body: Bytes| reorder_fields(sb, body, kind)),
            )
            .route(
                &format!("{base}/{{id}}"),
                get(move |State(sb): State<Shared>, Path(id): Path<String>| show(sb, id, kind))
                    .put(move |State(sb): State<Shared>, Path(id): Path<String>, body: Bytes| {
                        update(sb, id, body, kind)
                    })
                    .delete(move |State(sb): State<Shared>, Path(id): Path<String>| {
                        delete(sb, id, kind)
                    }),
            );
    }
    router.route("/api/v2/user_fields/show_many", get(show_many))
}

/// Parses a request body and takes the object out of its envelope (`organization_field`).
fn envelope(body: &Bytes, name: &str) -> Result<Value, ApiError> {
    // UNVERIFIED: the exact 400 Zendesk sends for a body that is not JSON or lacks its
    // envelope; a 400 that names the problem is the safe reading.
    let parsed: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("InvalidJSON", format!("The request body is not valid JSON: {e}"))
    })?;
    match parsed.get(name) {
        Some(inner) if inner.is_object() => Ok(inner.clone()),
        _ => {
            Err(ApiError::bad_request("ParameterMissing", format!("Parameter {name} is required")))
        }
    }
}

async fn list(sb: Shared, q: PageQuery, kind: FieldKind) -> ApiResult {
    let ctx = sb.ctx();
    let store = sb.lock();
    // `paginate` wants ascending keys, and fields are listed by position, not id: the key is
    // the field's ordinal in display order. A reorder between pages shifts a cursor walk,
    // which is acceptable for a list that is read whole and rarely changes.
    let items = kind
        .table(&store)
        .iter()
        .enumerate()
        .map(|(i, def)| (i as u64 + 1, render_field(def, &ctx, kind, false)));
    let path = format!("/api/v2/{}.json", kind.collection());
    let page = pagination::paginate(&q, items, &ctx.base_url, &path)?;
    Ok(Json(page.into_body(kind.collection())).into_response())
}

async fn create(sb: Shared, body: Bytes, kind: FieldKind) -> ApiResult {
    let field = envelope(&body, kind.singular())?;
    let ctx = sb.ctx();
    let rendered = {
        let mut store = sb.lock();
        create_field(&mut store, &ctx, kind, &field)?
    };
    let location = rendered.get("url").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut response =
        (StatusCode::CREATED, Json(json!({ kind.singular(): rendered }))).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn show(sb: Shared, id: String, kind: FieldKind) -> ApiResult {
    let ctx = sb.ctx();
    let store = sb.lock();
    let table = kind.table(&store);
    let def = table.find(&id).and_then(|i| table.iter().nth(i)).ok_or(ApiError::NotFound)?;
    Ok(Json(json!({ kind.singular(): render_field(def, &ctx, kind, false) })).into_response())
}

async fn update(sb: Shared, id: String, body: Bytes, kind: FieldKind) -> ApiResult {
    let ctx = sb.ctx();
    let mut store = sb.lock();
    // An unknown field is 404 before the body is looked at (R1 sends a full body to an
    // unknown id and gets RecordNotFound).
    let index = kind.table(&store).find(&id).ok_or(ApiError::NotFound)?;
    let field = envelope(&body, kind.singular())?;
    let rendered = update_field(&mut store, &ctx, kind, index, &field)?;
    Ok(Json(json!({ kind.singular(): rendered })).into_response())
}

async fn delete(sb: Shared, id: String, kind: FieldKind) -> ApiResult {
    let mut store = sb.lock();
    let index = kind.table(&store).find(&id).ok_or(ApiError::NotFound)?;
    delete_field(&mut store, kind, index)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reorder_fields(sb: Shared, body: Bytes, kind: FieldKind) -> ApiResult {
    let parsed: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("InvalidJSON", format!("The request body is not valid JSON: {e}"))
    })?;
    let param = kind.ids_param();
    let Some(raw) = parsed.get(param).and_then(Value::as_array) else {
        return Err(ApiError::bad_request(
            "ParameterMissing",
            format!("Parameter {param} is required"),
        ));
    };
    let mut ids = Vec::with_capacity(raw.len());
    for item in raw {
        // Ids may come as numbers or numeric strings, as elsewhere in the API.
        let id = item.as_u64().or_else(|| item.as_str().and_then(|s| s.trim().parse().ok()));
        match id {
            Some(id) => ids.push(id),
            None => {
                return Err(ApiError::invalid(
                    param,
                    format!("{param}: {item} is not an id"),
                    Some("InvalidValue"),
                ))
            }
        }
    }
    let mut store = sb.lock();
    reorder(&mut store, kind, &ids)?;
    // The reference shows `200 OK` with a `null` body.
    Ok(Json(Value::Null).into_response())
}

/// `?keys=a,b`.
#[derive(Debug, Deserialize)]
struct KeysQuery {
    keys: Option<String>,
}

async fn show_many(State(sb): State<Shared>, Query(q): Query<KeysQuery>) -> ApiResult {
    let keys: Vec<&str> = q
        .keys
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .collect();
    if keys.len() > pagination::MAX_PAGE_SIZE {
        return Err(ApiError::TooManyValues);
    }
    let ctx = sb.ctx();
    let store = sb.lock();
    let kind = FieldKind::User;
    // Unknown keys are left out, as show_many does for unknown ids elsewhere.
    let fields: Vec<Value> = kind
        .table(&store)
        .iter()
        .filter(|def| keys.contains(&def.key.as_str()))
        .map(|def| render_field(def, &ctx, kind, false))
        .collect();
    Ok(Json(json!({ kind.collection(): fields })).into_response())
}
