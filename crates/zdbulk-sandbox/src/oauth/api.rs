//! The `/api/v2` endpoints about the caller rather than the account: `GET /users/me`, and
//! the current OAuth token's introspection and revocation (`oauth.md` §1, §10.4).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{timestamp, wall_ms, AccessToken};
use crate::auth::{self, Caller};
use crate::errors::ApiError;
use crate::state::{Ctx, Sandbox, Shared};

/// The admin's user id. It lies below the ids the store hands out, so it never clashes with a
/// created record.
pub const ADMIN_USER_ID: u64 = 6_000_000_000_001;

/// The numeric id of the sandbox's OAuth client, as token records show it.
const CLIENT_RECORD_ID: u64 = 6_000_000_000_002;

/// How many leading characters of a token's secret its record shows.
const SHOWN_CHARS: usize = 6;

/// `GET /api/v2/users/me`: the admin for valid credentials, else the anonymous user with
/// 200, as Zendesk does (recording `node-zendesk.authentication_test_incorrect_token`).
pub async fn me(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    let body = match auth::identify(&sb, &headers) {
        Some(_) => json!({"user": admin_user(&sb.ctx(), &sb.config.credentials.email)}),
        // Exactly the recorded body: the recording keeps only `name`.
        None => json!({"user": {"name": "Anonymous user"}}),
    };
    Json(body).into_response()
}

/// The admin in the full user shape of the recorded `POST /api/v2/users` answer.
fn admin_user(ctx: &Ctx, email: &str) -> Value {
    json!({
        "id": ADMIN_USER_ID,
        "url": ctx.url("users", ADMIN_USER_ID),
        "name": "Sandbox Admin",
        "email": email,
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "time_zone": "America/New_York",
        "iana_time_zone": "America/New_York",
        "phone": null,
        "shared_phone_number": null,
        "photo": null,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": null,
        "role": "admin",
        "verified": true,
        "external_id": null,
        "tags": [],
        "alias": null,
        "active": true,
        "shared": false,
        "shared_agent": false,
        "last_login_at": null,
        "two_factor_auth_enabled": false,
        "signature": null,
        "details": null,
        "notes": null,
        "role_type": null,
        "custom_role_id": null,
        "moderator": true,
        // Agents and admins have no ticket restriction.
        "ticket_restriction": null,
        "only_private_comments": false,
        "restricted_agent": false,
        "suspended": false,
        "default_group_id": null,
        "report_csv": true,
        "user_fields": {}
    })
}

/// `GET /api/v2/oauth/tokens/current`: the bearer token the request carries.
/// UNVERIFIED: with basic credentials there is no current token; 404 `RecordNotFound`.
pub async fn current(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    match auth::identify(&sb, &headers) {
        Some(Caller::Bearer { secret, token }) => {
            Json(json!({"token": render(&sb.ctx(), &secret, &token)})).into_response()
        }
        _ => ApiError::NotFound.into_response(),
    }
}

/// One token record; the secrets are cut to their first characters, never shown whole.
fn render(ctx: &Ctx, secret: &str, token: &AccessToken) -> Value {
    let shown = |s: &str| s.chars().take(SHOWN_CHARS).collect::<String>();
    json!({
        "id": token.id,
        "url": ctx.url("oauth/tokens", token.id),
        "user_id": ADMIN_USER_ID,
        "client_id": CLIENT_RECORD_ID,
        "token": shown(secret),
        "refresh_token": token.refresh_token.as_deref().map(shown),
        "scopes": token.scopes,
        "created_at": token.created_at,
        "expires_at": timestamp(token.expires_at_ms),
        "used_at": ctx.now,
    })
}

/// `DELETE /api/v2/oauth/tokens/{id}`: 204, and the token (and its refresh token) is dead.
pub async fn revoke(
    State(sb): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match id.parse::<u64>() {
        Ok(id) => revoke_id(&sb, &headers, Some(id)),
        Err(_) => ApiError::NotFound.into_response(),
    }
}

/// `DELETE /api/v2/oauth/tokens/current`: revokes the bearer token the request carries.
/// UNVERIFIED: Zendesk documents `current` for GET only; accepting it for DELETE too is harmless.
pub async fn revoke_current(State(sb): State<Shared>, headers: HeaderMap) -> Response {
    revoke_id(&sb, &headers, None)
}

fn revoke_id(sb: &Sandbox, headers: &HeaderMap, id: Option<u64>) -> Response {
    let caller = auth::identify(sb, headers);
    let own_id = match &caller {
        Some(Caller::Bearer { token, .. }) => Some(token.id),
        _ => None,
    };
    let Some(id) = id.or(own_id) else { return ApiError::NotFound.into_response() };
    // A token may always revoke itself (logout); another token takes an admin or `write`.
    let allowed = own_id == Some(id) || caller.as_ref().is_some_and(|c| c.has_scope("write"));
    let mut store = sb.lock();
    if store.oauth.access_by_id(id, wall_ms()).is_none() {
        return ApiError::NotFound.into_response();
    }
    if !allowed {
        return auth::forbidden("write");
    }
    store.oauth.revoke(id);
    StatusCode::NO_CONTENT.into_response()
}
