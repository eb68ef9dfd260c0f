//! Zendesk's error bodies, parsed leniently, and [`ApiError`], the one error type of the client.
//!
//! Zendesk answers errors in several envelopes (zendesk-api.md §7, §3, §4):
//! - `{"error":"RecordNotFound","description":"Not found"}` (the common one),
//! - `{"error":{"title":"Invalid attribute","message":"…"}}` (request-schema validation),
//! - `{"errors":[{"code":"InvalidPaginationDepth","title":"…"}]}` (newer endpoints),
//! - `{"error":"invalid_token","error_description":"…"}` (OAuth, RFC 6749),
//! - plain text (`Number of allowed API requests per minute exceeded`, 429s, proxies).
//!
//! [`ZendeskErrorBody::parse`] accepts all of them and never fails, so an odd body can never
//! hide the status that came with it.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// The `error` key of a Zendesk error body: a code string, or an object `{title, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ErrorValue {
    /// `"error":"RecordNotFound"`.
    Code(String),
    /// `"error":{"title":"Invalid attribute","message":"…"}`.
    Object {
        /// Short title, e.g. `Invalid attribute`.
        #[serde(default)]
        title: Option<String>,
        /// Long message.
        #[serde(default)]
        message: Option<String>,
    },
}

/// One item of the `errors:[…]` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorItem {
    /// Machine code, e.g. `InvalidPaginationDepth`.
    #[serde(default)]
    pub code: Option<String>,
    /// Human title.
    #[serde(default)]
    pub title: Option<String>,
    /// Longer explanation, when given.
    #[serde(default)]
    pub detail: Option<String>,
}

/// A Zendesk error body. Every field is optional; [`ZendeskErrorBody::parse`] never fails.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ZendeskErrorBody {
    /// `error`: a code string or a `{title, message}` object.
    #[serde(default)]
    pub error: Option<ErrorValue>,
    /// `description` (Zendesk) or `error_description` (OAuth).
    #[serde(default, alias = "error_description")]
    pub description: Option<String>,
    /// `details`: per-attribute validation errors, kept as JSON.
    #[serde(default)]
    pub details: Option<Value>,
    /// `errors:[{code, title}]`, the newer envelope.
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
    /// `current_job_ids` of a TooManyJobs answer (zendesk-api.md §2).
    #[serde(default, deserialize_with = "lenient_strings")]
    pub current_job_ids: Vec<String>,
    /// The body as text when it was not a JSON object (truncated to 500 characters).
    #[serde(skip)]
    pub text: Option<String>,
}

impl ZendeskErrorBody {
    /// Parses any body: JSON in one of Zendesk's envelopes, or anything else kept as text.
    pub fn parse(bytes: &[u8]) -> ZendeskErrorBody {
        match serde_json::from_slice::<ZendeskErrorBody>(bytes) {
            Ok(body) => body,
            Err(_) => {
                let text = String::from_utf8_lossy(bytes).trim().to_string();
                let text = if text.chars().count() > 500 {
                    format!("{}…", text.chars().take(500).collect::<String>())
                } else {
                    text
                };
                ZendeskErrorBody { text: (!text.is_empty()).then_some(text), ..Default::default() }
            }
        }
    }

    /// The machine code: `error` when a string, else the first `errors[].code`, else the
    /// `error.title`.
    pub fn code(&self) -> Option<&str> {
        match &self.error {
            Some(ErrorValue::Code(code)) => Some(code),
            Some(ErrorValue::Object { title, .. }) => {
                self.errors.iter().find_map(|e| e.code.as_deref()).or(title.as_deref())
            }
            None => self.errors.iter().find_map(|e| e.code.as_deref()),
        }
    }

    /// Whether this is Zendesk's TooManyJobs answer (zendesk-api.md §2).
    pub fn is_too_many_jobs(&self) -> bool {
        self.code() == Some("TooManyJobs")
    }

    /// Whether this is an OAuth `invalid_token` rejection (oauth.md §6).
    pub fn is_invalid_token(&self) -> bool {
        self.code() == Some("invalid_token")
    }
}

impl fmt::Display for ZendeskErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match &self.error {
            Some(ErrorValue::Code(code)) => parts.push(code.clone()),
            Some(ErrorValue::Object { title, message }) => {
                parts.extend(title.iter().cloned());
                parts.extend(message.iter().cloned());
            }
            None => {}
        }
        for item in &self.errors {
            parts.extend(item.code.iter().cloned());
            parts.extend(item.title.iter().cloned());
        }
        parts.extend(self.description.iter().cloned());
        if let Some(details) = &self.details {
            parts.push(details.to_string());
        }
        parts.extend(self.text.iter().cloned());
        if parts.is_empty() {
            f.write_str("(empty body)")
        } else {
            f.write_str(&parts.join(": "))
        }
    }
}

/// Accepts a list of strings or numbers (job ids have been both).
fn lenient_strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let value = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(value
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect())
}

/// Everything that can go wrong talking to Zendesk. URLs in messages are redacted (no
/// user-info); credentials never appear.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Zendesk answered with a non-2xx status that is not one of the cases below.
    #[error("{method} {url} answered {status}: {body}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// HTTP method.
        method: String,
        /// The request URL, redacted.
        url: String,
        /// The parsed error body (boxed: it is large, and errors travel in every `Result`).
        body: Box<ZendeskErrorBody>,
    },
    /// A 429 answer (the caller sees this only inside [`ApiError::RetriesExhausted`]).
    #[error("{method} {url} was rate limited (429); retry after {}s", retry_after.as_secs_f64())]
    RateLimited {
        /// HTTP method.
        method: String,
        /// The request URL, redacted.
        url: String,
        /// How long Zendesk asked to wait (`Retry-After`, or the 10 s default).
        retry_after: Duration,
    },
    /// Too many jobs queued or running (zendesk-api.md §2). Not retried by the client: the
    /// pipeline shrinks its window of jobs in flight instead.
    #[error("{method} {url} answered {status} TooManyJobs ({} jobs in flight): {description}", current_job_ids.len())]
    TooManyJobs {
        /// HTTP status code (429 or 400; UNVERIFIED which one Zendesk uses).
        status: u16,
        /// HTTP method.
        method: String,
        /// The request URL, redacted.
        url: String,
        /// The ids of the jobs Zendesk counts against the limit.
        current_job_ids: Vec<String>,
        /// Zendesk's description.
        description: String,
    },
    /// The request certainly did not reach Zendesk (connection refused, DNS, TLS).
    #[error("could not connect for {method} {url}")]
    Transport {
        /// HTTP method.
        method: String,
        /// The request URL, redacted.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The request was sent but its answer was lost (connection dropped, timeout, body
    /// unreadable). For a write the change may have been made: look the rows up before
    /// sending them again.
    #[error("the answer to {method} {url} was lost after the request was sent; the change may have been made")]
    AnswerLost {
        /// HTTP method.
        method: String,
        /// The request URL, redacted.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Every retry the policy allows was used.
    #[error("request failed after {retries} retries in {:.1}s", elapsed.as_secs_f64())]
    RetriesExhausted {
        /// How many retries were made.
        retries: u32,
        /// Time from the first attempt to giving up.
        elapsed: Duration,
        /// The last attempt's error.
        #[source]
        last: Box<ApiError>,
    },
    /// The base URL would send credentials in clear text to a non-loopback host.
    #[error("refusing to send credentials over plain http to {url}: use https (plain http is only allowed to a loopback address)")]
    InsecureUrl {
        /// The offending URL, redacted.
        url: String,
    },
    /// The base URL cannot be used (not http(s), no host, or a path that does not join).
    #[error("invalid zendesk url {url}: {reason}")]
    BadUrl {
        /// The offending URL, redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Authentication failed: a 401 answer, or the OAuth token endpoint refused to mint.
    #[error("authentication failed for {url}: {reason}")]
    Auth {
        /// The request URL, redacted.
        url: String,
        /// HTTP status, when there was an answer.
        status: Option<u16>,
        /// What Zendesk said (never a secret).
        reason: String,
    },
    /// A 2xx body that is not the JSON the client expected.
    #[error("unexpected answer from {url}")]
    Decode {
        /// The request URL, redacted.
        url: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// More items than one bulk call accepts were handed to the client (a caller bug).
    #[error("{given} items given to {what}, which accepts at most {max}")]
    BatchTooLarge {
        /// The call, e.g. `organizations/create_many`.
        what: String,
        /// How many items were given.
        given: usize,
        /// The limit.
        max: usize,
    },
}

impl ApiError {
    /// The HTTP status of the answer behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } | ApiError::TooManyJobs { status, .. } => Some(*status),
            ApiError::RateLimited { .. } => Some(429),
            ApiError::Auth { status, .. } => *status,
            ApiError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_envelope() {
        let b = ZendeskErrorBody::parse(br#"{"error":"RecordNotFound","description":"Not found"}"#);
        assert_eq!(b.code(), Some("RecordNotFound"));
        assert_eq!(b.to_string(), "RecordNotFound: Not found");

        let b = ZendeskErrorBody::parse(
            br#"{"error":{"title":"Invalid attribute","message":"users.0.id must be an integer"}}"#,
        );
        assert_eq!(b.code(), Some("Invalid attribute"));
        assert!(b.to_string().contains("users.0.id must be an integer"));

        let b = ZendeskErrorBody::parse(
            br#"{"errors":[{"code":"InvalidPaginationDepth","title":"limited to page 100"}]}"#,
        );
        assert_eq!(b.code(), Some("InvalidPaginationDepth"));

        let b = ZendeskErrorBody::parse(
            br#"{"error":"invalid_token","error_description":"The access token provided is expired"}"#,
        );
        assert!(b.is_invalid_token());
        assert_eq!(b.description.as_deref(), Some("The access token provided is expired"));

        let b = ZendeskErrorBody::parse(b"Number of allowed API requests per minute exceeded");
        assert_eq!(b.code(), None);
        assert_eq!(b.to_string(), "Number of allowed API requests per minute exceeded");

        assert_eq!(ZendeskErrorBody::parse(b"").to_string(), "(empty body)");
    }

    #[test]
    fn too_many_jobs_keeps_the_job_ids() {
        let b = ZendeskErrorBody::parse(
            br#"{"error":"TooManyJobs","description":"Too many jobs","current_job_ids":["a1",2]}"#,
        );
        assert!(b.is_too_many_jobs());
        assert_eq!(b.current_job_ids, vec!["a1".to_string(), "2".to_string()]);
    }

    #[test]
    fn record_invalid_details_are_shown() {
        let b = ZendeskErrorBody::parse(
            br#"{"error":"RecordInvalid","description":"Record validation errors","details":{"name":[{"description":"Name: x has already been taken","error":"DuplicateValue"}]}}"#,
        );
        assert!(b.to_string().contains("has already been taken"));
    }
}
