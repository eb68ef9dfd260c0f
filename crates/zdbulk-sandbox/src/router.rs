//! The whole sandbox as one axum service: routes, the `.json` suffix, and the gate every
//! request passes (faults, rate budget, authentication, counters).

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::config::SLOW_ANSWER_MS;
use super::errors::ApiError;
use super::faults::{self, Fault};
use super::limits;
use super::state::Shared;
use super::{auth, fields, groups, jobs, memberships, merges, oauth, organizations, stats, users};

/// The sandbox's routes behind its gate. Paths are matched after `.json` is stripped, so
/// `/api/v2/organizations.json` and `/api/v2/organizations` are the same endpoint.
pub fn app(sandbox: Shared) -> Router {
    Router::new()
        .merge(organizations::routes())
        .merge(users::routes())
        .merge(fields::routes())
        .merge(memberships::routes())
        .merge(merges::routes())
        .merge(groups::routes())
        .merge(jobs::routes())
        .merge(oauth::routes())
        .route("/sandbox/stats", get(stats::show))
        .fallback(invalid_endpoint)
        .method_not_allowed_fallback(invalid_endpoint)
        .layer(middleware::from_fn_with_state(sandbox.clone(), gate))
        .with_state(sandbox)
}

/// Strips a trailing `.json` from the path before routing (Zendesk accepts both forms).
pub async fn strip_json(mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if let Some(stripped) = path.strip_suffix(".json") {
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{stripped}?{q}"),
            None => stripped.to_string(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    next.run(req).await
}

async fn invalid_endpoint() -> Response {
    ApiError::InvalidEndpoint.into_response()
}

/// Every request except `/sandbox/*`: draw a fault, spend the rate budget, authenticate,
/// run the handler, then add the rate-limit headers and count the answer.
async fn gate(State(sb): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/sandbox/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let label = stats::endpoint_label(method.as_str(), &path);
    let fault = faults::draw(&sb);
    if fault == Some(Fault::Slow) {
        sb.stats.lock().unwrap_or_else(|e| e.into_inner()).fault("slow");
        tokio::time::sleep(Duration::from_millis(SLOW_ANSWER_MS)).await;
    }
    let budget = {
        let mut window = sb.rate.lock().unwrap_or_else(|e| e.into_inner());
        limits::take(&sb, &mut window)
    };
    let mut response = if budget.exceeded {
        sb.stats.lock().unwrap_or_else(|e| e.into_inner()).rate_limited += 1;
        limits::too_many_requests(&budget)
    } else if let Some(Fault::ServerError(code)) = fault {
        sb.stats.lock().unwrap_or_else(|e| e.into_inner()).fault("5xx");
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({"error": "InternalError", "description": "Injected server error"})))
            .into_response()
    } else if let Err(refusal) = auth::check(&sb, &method, &path, req.headers()) {
        refusal
    } else {
        if method != axum::http::Method::GET {
            sb.stats.lock().unwrap_or_else(|e| e.into_inner()).writes += 1;
        }
        next.run(req).await
    };
    limits::add_headers(response.headers_mut(), &budget);
    {
        let mut st = sb.stats.lock().unwrap_or_else(|e| e.into_inner());
        st.total_requests += 1;
        st.record(label, response.status().as_u16());
    }
    if fault == Some(Fault::Drop) && !budget.exceeded {
        sb.stats.lock().unwrap_or_else(|e| e.into_inner()).fault("drop");
        return dropped(response);
    }
    response
}

/// The answer's head is sent, then the connection breaks before the body: the request was
/// carried out, but the client cannot know its result.
fn dropped(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove("content-length");
    let stream = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection drop",
        ))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
