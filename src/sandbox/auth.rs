//! Authentication of `/api/v2` requests: basic `email/token:TOKEN` and bearer tokens.
//! (Stub: being written.)

use axum::http::{HeaderMap, Method};
use axum::response::Response;

use super::state::Sandbox;

/// Checks the credentials of one request; `Err` is the refusal to send.
pub fn check(
    _sb: &Sandbox,
    _method: &Method,
    _path: &str,
    _headers: &HeaderMap,
) -> Result<(), Response> {
    Ok(())
}
