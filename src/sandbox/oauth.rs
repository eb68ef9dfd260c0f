//! OAuth: `/oauth/authorizations/new`, `/oauth/tokens`, token introspection and revocation.
//! (Stub: being written.)

use axum::Router;
use serde::{Deserialize, Serialize};

use super::state::Shared;

/// Authorization codes, access tokens and refresh tokens.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthStore {}

/// OAuth routes.
pub fn routes() -> Router<Shared> {
    Router::new()
}
