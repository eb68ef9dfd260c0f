//! OAuth (`oauth.md` §10): the authorization codes and tokens the sandbox has issued, the
//! scope and PKCE rules, and the routes `/oauth/authorizations/new`, `/oauth/tokens`,
//! `/api/v2/users/me` and `/api/v2/oauth/tokens/*`.
//!
//! Expiry instants are wall-clock unix milliseconds, so a token saved in `--state` keeps its
//! deadline across a restart. TTLs are sandbox seconds: under `--time-scale 60` a 30-minute
//! token lives 30 real seconds.

mod api;
mod authorize;
mod token;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::state::Shared;

/// The scopes the sandbox's client may ask for (`oauth.md` §7): the broad pair and the two
/// resources zdbulk writes. Anything else is refused with `invalid_scope`, as Zendesk does
/// since 2026-08-10 for scopes outside a client's allowed set.
pub const ALLOWED_SCOPES: [&str; 6] =
    ["read", "write", "organizations:read", "organizations:write", "users:read", "users:write"];

/// Access-token TTL when the request names none (Zendesk's default for new clients).
pub const DEFAULT_ACCESS_TTL_SECS: u64 = 1800;
/// Refresh-token TTL when the request names none (30 days).
pub const DEFAULT_REFRESH_TTL_SECS: u64 = 2_592_000;
/// How long an authorization code may be exchanged.
pub const CODE_TTL_SECS: u64 = 120;
/// Allowed `expires_in`. UNVERIFIED: Zendesk's wording is unclear about inclusive bounds;
/// inclusive is the reading that accepts the documented extremes.
pub const ACCESS_TTL_RANGE: RangeInclusive<u64> = 300..=172_800;
/// Allowed `refresh_token_expires_in` (inclusive, as above).
pub const REFRESH_TTL_RANGE: RangeInclusive<u64> = 604_800..=7_776_000;

/// Authorization codes, access tokens and refresh tokens, keyed by their secret values.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuthStore {
    codes: BTreeMap<String, AuthCode>,
    access: BTreeMap<String, AccessToken>,
    refresh: BTreeMap<String, RefreshToken>,
    /// Refresh tokens already rotated out, with their family, so a reuse can be told from
    /// an unknown token (and punished).
    spent: BTreeMap<String, Spent>,
}

/// A refresh token a refresh has replaced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spent {
    /// The login it belonged to.
    pub family: u64,
    /// When it would have died anyway; forgotten after that.
    pub expires_at_ms: u64,
}

/// A code handed to a redirect URI, waiting to be exchanged once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request; the exchange must repeat it.
    pub redirect_uri: String,
    /// The scopes the user approved.
    pub scopes: Vec<String>,
    /// The PKCE S256 challenge; empty when a confidential client asked without PKCE.
    pub code_challenge: String,
    /// Wall-clock unix ms after which the code is dead.
    pub expires_at_ms: u64,
}

/// A live access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    /// The token's record id (`/api/v2/oauth/tokens/{id}`).
    pub id: u64,
    /// The client it was issued to.
    pub client_id: String,
    /// Its granted scopes.
    pub scopes: Vec<String>,
    /// When it was issued, in Zendesk's timestamp format.
    pub created_at: String,
    /// Wall-clock unix ms after which it is dead.
    pub expires_at_ms: u64,
    /// The refresh token issued with it, if any.
    pub refresh_token: Option<String>,
    /// The login (first grant's id) it descends from through refreshes.
    #[serde(default)]
    pub family: u64,
}

/// A live refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    /// The client it was issued to.
    pub client_id: String,
    /// The scopes a refresh may grant again (or narrow).
    pub scopes: Vec<String>,
    /// Wall-clock unix ms after which it is dead.
    pub expires_at_ms: u64,
    /// The access token issued with it; a refresh deletes both.
    pub access_token: String,
    /// The login (first grant's id) it descends from through refreshes.
    #[serde(default)]
    pub family: u64,
}

/// What [`OAuthStore::issue`] hands out.
#[derive(Debug)]
pub struct Issued {
    /// The access token's secret.
    pub access_token: String,
    /// The refresh token's secret, when one was asked for.
    pub refresh_token: Option<String>,
}

impl OAuthStore {
    /// The access token `secret` if it is live at `now_ms`; a dead one is forgotten.
    pub fn live_access(&mut self, secret: &str, now_ms: u64) -> Option<&AccessToken> {
        let expired = self.access.get(secret)?.expires_at_ms <= now_ms;
        if expired {
            self.access.remove(secret);
            return None;
        }
        self.access.get(secret)
    }

    /// Kills an access token but leaves its refresh token usable (the `token-expire` fault:
    /// the client is expected to refresh).
    pub fn expire_access(&mut self, secret: &str) {
        self.access.remove(secret);
    }

    /// The live access token with record id `id`, with its secret.
    pub fn access_by_id(&self, id: u64, now_ms: u64) -> Option<(&String, &AccessToken)> {
        self.access.iter().find(|(_, t)| t.id == id && t.expires_at_ms > now_ms)
    }

    /// Revokes the access token with record id `id` and the refresh token issued with it.
    /// UNVERIFIED: Zendesk does not say whether revoking an access token also kills its
    /// refresh token; killing both is the safe reading (a logout must end the session).
    pub fn revoke(&mut self, id: u64) -> bool {
        let Some(secret) = self.access.iter().find(|(_, t)| t.id == id).map(|(s, _)| s.clone())
        else {
            return false;
        };
        if let Some(token) = self.access.remove(&secret) {
            if let Some(refresh) = token.refresh_token {
                self.refresh.remove(&refresh);
            }
        }
        true
    }

    /// Stores a new authorization code and returns it.
    pub fn insert_code(&mut self, code: AuthCode) -> String {
        let secret = random_secret(24);
        self.codes.insert(secret.clone(), code);
        secret
    }

    /// Removes and returns a code: a code is spent by any exchange that names it, even a
    /// failed one, so a stolen code cannot be retried with guessed verifiers.
    pub fn take_code(&mut self, code: &str) -> Option<AuthCode> {
        self.codes.remove(code)
    }

    /// The refresh token `secret` if it is live at `now_ms`; a dead one is forgotten.
    pub fn live_refresh(&mut self, secret: &str, now_ms: u64) -> Option<&RefreshToken> {
        let expired = self.refresh.get(secret)?.expires_at_ms <= now_ms;
        if expired {
            self.refresh.remove(secret);
            return None;
        }
        self.refresh.get(secret)
    }

    /// Deletes a refresh token and the access token issued with it (rotation), and
    /// remembers it as spent. Returns its family.
    pub fn rotate_out(&mut self, refresh_secret: &str) -> Option<u64> {
        let old = self.refresh.remove(refresh_secret)?;
        self.access.remove(&old.access_token);
        let spent = Spent { family: old.family, expires_at_ms: old.expires_at_ms };
        self.spent.insert(refresh_secret.to_string(), spent);
        Some(old.family)
    }

    /// The family of a refresh token that was already rotated out, if `secret` is one.
    pub fn spent_family(&self, secret: &str) -> Option<u64> {
        self.spent.get(secret).map(|s| s.family)
    }

    /// Revokes every live token of a family (a reused refresh token: whoever holds the
    /// current pair may be a thief, so the whole login ends).
    pub fn revoke_family(&mut self, family: u64) {
        self.access.retain(|_, t| t.family != family);
        self.refresh.retain(|_, t| t.family != family);
    }

    /// Issues an access token (and a refresh token when `refresh_ttl_ms` is given).
    pub fn issue(&mut self, grant: Grant, now_ms: u64) -> Issued {
        let family = grant.family.unwrap_or(grant.id);
        let access_token = random_secret(32);
        let refresh_token = grant.refresh_ttl_ms.map(|ttl| {
            let secret = random_secret(32);
            self.refresh.insert(
                secret.clone(),
                RefreshToken {
                    client_id: grant.client_id.clone(),
                    scopes: grant.scopes.clone(),
                    expires_at_ms: now_ms.saturating_add(ttl),
                    access_token: access_token.clone(),
                    family,
                },
            );
            secret
        });
        self.access.insert(
            access_token.clone(),
            AccessToken {
                id: grant.id,
                client_id: grant.client_id,
                scopes: grant.scopes,
                created_at: timestamp(now_ms),
                expires_at_ms: now_ms.saturating_add(grant.access_ttl_ms),
                refresh_token: refresh_token.clone(),
                family,
            },
        );
        Issued { access_token, refresh_token }
    }

    /// Forgets every code and token that is past its deadline, so the state file does not
    /// grow with a long benchmark's dead tokens.
    pub fn prune(&mut self, now_ms: u64) {
        self.codes.retain(|_, c| c.expires_at_ms > now_ms);
        self.access.retain(|_, t| t.expires_at_ms > now_ms);
        self.refresh.retain(|_, t| t.expires_at_ms > now_ms);
        self.spent.retain(|_, t| t.expires_at_ms > now_ms);
    }
}

/// What one token grant hands out (input of [`OAuthStore::issue`]).
#[derive(Debug)]
pub struct Grant {
    /// The access token's record id.
    pub id: u64,
    /// The client.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Access-token lifetime in real milliseconds.
    pub access_ttl_ms: u64,
    /// Refresh-token lifetime in real milliseconds, or `None` for no refresh token.
    pub refresh_ttl_ms: Option<u64>,
    /// The family a refresh continues; `None` starts a new one (named by `id`).
    pub family: Option<u64>,
}

/// The OAuth routes, including the two `/api/v2` endpoints that are about the caller's
/// identity and token rather than the account's records.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/oauth/tokens", post(token::create))
        .route("/oauth/authorizations/new", get(authorize::new))
        .route("/api/v2/users/me", get(api::me))
        .route("/api/v2/oauth/tokens/current", get(api::current).delete(api::revoke_current))
        .route("/api/v2/oauth/tokens/{id}", delete(api::revoke))
}

/// Now, as wall-clock unix milliseconds (the unit of every stored deadline).
pub fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Real milliseconds that `sandbox_secs` of sandbox time last under `time_scale`.
pub fn real_ms(sandbox_secs: u64, time_scale: f64) -> u64 {
    // A non-positive scale would be a configuration bug; real time is the harmless fallback.
    let scale = if time_scale > 0.0 { time_scale } else { 1.0 };
    (sandbox_secs as f64 * 1000.0 / scale).round() as u64
}

/// Zendesk's timestamp format for a wall-clock unix millisecond instant.
pub fn timestamp(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A random URL-safe secret of `bytes` random bytes. It comes from the thread generator,
/// not the seeded fault generator, so issuing tokens does not shift the fault sequence.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The S256 challenge of a PKCE verifier: `BASE64URL-NOPAD(SHA256(verifier))` (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is the one `challenge` was made from.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    pkce_challenge(verifier) == challenge
}

/// Parses a space-separated scope string into distinct scopes, in the order given.
pub fn parse_scopes(raw: &str) -> Result<Vec<String>, OAuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in raw.split_whitespace() {
        if !ALLOWED_SCOPES.contains(&scope) {
            return Err(OAuthError::invalid_scope(format!("scope '{scope}' is not allowed")));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        // UNVERIFIED: zdk reports an empty scope means full access on Zendesk; refusing it
        // keeps clients honest (oauth.md §7: never send an empty scope).
        return Err(OAuthError::invalid_request("scope is missing"));
    }
    Ok(scopes)
}

/// Which of the sandbox's clients a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Has a secret; may use client credentials; PKCE optional.
    Confidential,
    /// No secret; PKCE required; no client credentials (oauth.md §2, §3).
    Public,
}

/// The kind of the client `client_id` names, if it is one of the sandbox's.
pub fn client_kind(creds: &crate::config::Credentials, client_id: &str) -> Option<ClientKind> {
    if client_id == creds.client_id {
        Some(ClientKind::Confidential)
    } else if client_id == creds.public_client_id {
        Some(ClientKind::Public)
    } else {
        None
    }
}

/// An RFC 6749 error answer: `{"error":..,"error_description":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The RFC 6749 error code.
    pub error: &'static str,
    /// The human description.
    pub description: String,
}

impl OAuthError {
    /// 400 `invalid_request` with what was wrong.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    /// 401 `invalid_client`. UNVERIFIED: the status is not documented; 401 is RFC 6749's.
    pub fn invalid_client() -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "The client identifier provided is invalid, the client failed to \
                          authenticate, the client did not include its credentials, provided \
                          multiple client credentials, or used unknown credentials."
                .into(),
        }
    }

    /// The same error with another status: the authorization page answers a bad client with
    /// 400, where the token endpoint answers 401.
    pub fn with_status(self, status: StatusCode) -> Self {
        OAuthError { status, ..self }
    }

    /// 400 `invalid_grant` (dead, spent, foreign code or refresh token; PKCE mismatch).
    pub fn invalid_grant() -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant",
            description: "The provided authorization grant is invalid, expired, revoked, does \
                          not match the redirection URI used in the authorization request, or \
                          was issued to another client."
                .into(),
        }
    }

    /// 400 `invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_scope",
            description: description.into(),
        }
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type() -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: "The authorization grant type is not supported by the authorization \
                          server."
                .into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.error, "error_description": self.description})))
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches("another-verifier", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        // The challenge is unpadded base64url, not the plain verifier.
        assert!(!pkce_matches(verifier, verifier));
    }

    #[test]
    fn scopes_parse_dedupe_and_refuse_unknown_or_empty() {
        assert_eq!(parse_scopes(" read  write read").unwrap(), vec!["read", "write"]);
        assert_eq!(parse_scopes("users:write read").unwrap(), vec!["users:write", "read"]);
        assert_eq!(parse_scopes("read tickets:write").unwrap_err().error, "invalid_scope");
        assert_eq!(parse_scopes("  ").unwrap_err().error, "invalid_request");
    }

    #[test]
    fn ttls_shrink_with_the_time_scale() {
        assert_eq!(real_ms(1800, 1.0), 1_800_000);
        assert_eq!(real_ms(1800, 60.0), 30_000);
        assert_eq!(real_ms(300, 300.0), 1000);
        assert_eq!(real_ms(10, 0.0), 10_000);
    }

    #[test]
    fn refresh_rotation_deletes_the_old_pair() {
        let mut store = OAuthStore::default();
        let grant = |id| Grant {
            id,
            client_id: "c".into(),
            scopes: vec!["read".into()],
            access_ttl_ms: 1000,
            refresh_ttl_ms: Some(5000),
            family: None,
        };
        let first = store.issue(grant(1), 0);
        let refresh = first.refresh_token.unwrap();
        assert!(store.live_access(&first.access_token, 10).is_some());
        assert_eq!(store.rotate_out(&refresh), Some(1));
        assert!(store.live_access(&first.access_token, 10).is_none());
        assert!(store.live_refresh(&refresh, 10).is_none());
        assert_eq!(store.spent_family(&refresh), Some(1));
        // Deadlines are exclusive: at expires_at the token is already dead.
        let second = store.issue(grant(2), 0);
        assert!(store.live_access(&second.access_token, 999).is_some());
        assert!(store.live_access(&second.access_token, 1000).is_none());
    }

    #[test]
    fn secrets_are_url_safe_and_distinct() {
        let a = random_secret(32);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(a, random_secret(32));
    }
}
