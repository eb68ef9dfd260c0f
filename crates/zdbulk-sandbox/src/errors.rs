//! Error answers in Zendesk's own shapes (`zendesk-api.md` §7).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// The text of the 403 a bulk user write gets when bulk imports are off.
pub const IMPORTS_DISABLED: &str = "Data imports are not enabled for this account";

/// An error answer of the sandbox. Each variant renders the body Zendesk sends for that case.
#[derive(Debug)]
pub enum ApiError {
    /// 404 `RecordNotFound`: an unknown id.
    NotFound,
    /// 404 `InvalidEndpoint`: an unknown path or method.
    InvalidEndpoint,
    /// 400 `TooManyValues` with the organizations/tickets wording (two spaces, as recorded).
    TooManyValues,
    /// 400 `TooManyValues` with the users wording: "Maximum 100 users may be created per call".
    TooManyUsers,
    /// 422 `RecordInvalid`: `details` maps an attribute to its problems.
    RecordInvalid(Map<String, Value>),
    /// 400 with an `{"error":..,"description":..}` body (bad parameters).
    BadRequest { error: String, description: String },
    /// 400 `InvalidPaginationDepth` in the `errors` array shape.
    PaginationDepth,
    /// 403 `Forbidden`: a bulk user write on an account whose data imports are not enabled.
    ImportsDisabled,
    /// 429 `TooManyJobs` with the ids of the jobs in flight.
    TooManyJobs { current_job_ids: Vec<String>, limit: usize },
    /// A ready-made answer (auth failures carry their own headers). Boxed, so that results
    /// carrying an `ApiError` stay small.
    Raw(Box<Response>),
}

impl ApiError {
    /// A ready-made answer as an error.
    pub fn raw(response: Response) -> Self {
        ApiError::Raw(Box::new(response))
    }

    /// A 422 `RecordInvalid` with one problem on one attribute.
    pub fn invalid(attribute: &str, description: impl Into<String>, error: Option<&str>) -> Self {
        let mut item = Map::new();
        item.insert("description".into(), Value::String(description.into()));
        if let Some(code) = error {
            item.insert("error".into(), Value::String(code.into()));
        }
        let mut details = Map::new();
        details.insert(attribute.into(), Value::Array(vec![Value::Object(item)]));
        ApiError::RecordInvalid(details)
    }

    /// A 400 with the given error code and description.
    pub fn bad_request(error: &str, description: impl Into<String>) -> Self {
        ApiError::BadRequest { error: error.into(), description: description.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "RecordNotFound", "description": "Not found"})),
            )
                .into_response(),
            ApiError::InvalidEndpoint => (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "InvalidEndpoint", "description": "Not found"})),
            )
                .into_response(),
            ApiError::TooManyValues => (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": "TooManyValues",
                    "description": "Parameter  cannot specify more than 100 values",
                    "max_count": 100
                })),
            )
                .into_response(),
            ApiError::TooManyUsers => (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": "TooManyValues",
                    "description": "Maximum 100 users may be created per call"
                })),
            )
                .into_response(),
            ApiError::RecordInvalid(details) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": details
                })),
            )
                .into_response(),
            ApiError::BadRequest { error, description } => (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": error, "description": description})),
            )
                .into_response(),
            ApiError::PaginationDepth => (
                StatusCode::BAD_REQUEST,
                Json(json!({"errors": [{
                    "code": "InvalidPaginationDepth",
                    "title": "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records (page * per_page)",
                    "detail": "There are limits to the depth of offset pagination. Use cursor pagination (page[size], page[after]) to fetch more records."
                }]})),
            )
                .into_response(),
            // UNVERIFIED: the body. Zendesk documents only "a 403 Forbidden error is returned
            // if data imports are not enabled"; one third-party report shows
            // `{"error":"Forbidden","message":"Data imports are not enabled"}`. Both
            // `description` (Zendesk's usual key) and `message` are sent so either reading
            // parses.
            ApiError::ImportsDisabled => (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "error": "Forbidden",
                    "description": IMPORTS_DISABLED,
                    "message": IMPORTS_DISABLED
                })),
            )
                .into_response(),
            ApiError::TooManyJobs { current_job_ids, limit } => {
                // UNVERIFIED: Zendesk documents the body but not the status; 429 is the safe
                // reading (a client that retries on 429 after a wait does the right thing).
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({
                        "error": "TooManyJobs",
                        "description": "Too many OrganizationBulkJobV2 jobs are currently queued or running. Try again later.",
                        "current_job_ids": current_job_ids
                    })),
                )
                    .into_response();
                let header = format!("total={limit}; remaining=0; resets=60");
                if let Ok(value) = HeaderValue::from_str(&header) {
                    response.headers_mut().insert("zendesk-ratelimit-inflight-jobs", value);
                }
                response
            }
            ApiError::Raw(response) => *response,
        }
    }
}

/// The result type of sandbox handlers.
pub type ApiResult = Result<Response, ApiError>;
