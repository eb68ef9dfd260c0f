//! `POST /oauth/tokens`: the client-credentials, authorization-code and refresh-token grants
//! (`oauth.md` §2–5), with JSON or form-encoded bodies.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{
    client_kind, parse_scopes, pkce_matches, real_ms, wall_ms, ClientKind, Grant, OAuthError,
    ACCESS_TTL_RANGE, DEFAULT_ACCESS_TTL_SECS, DEFAULT_REFRESH_TTL_SECS, REFRESH_TTL_RANGE,
};
use crate::state::{Sandbox, Shared, Store};

/// `POST /oauth/tokens`: 201 with the token object, or an RFC 6749 error.
pub async fn create(State(sb): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&sb, &headers, &body) {
        // UNVERIFIED: the docs show 201 and clients must accept any 2xx; 201 catches clients
        // that insist on 200 (the oauth2 crate does).
        Ok(token) => (StatusCode::CREATED, Json(token)).into_response(),
        Err(err) => err.into_response(),
    }
}

fn exchange(sb: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(headers, body)?;
    let grant_type = params
        .text("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is missing"))?;
    match grant_type {
        "client_credentials" => client_credentials(sb, &params),
        "authorization_code" => authorization_code(sb, &params),
        "refresh_token" => refresh_token(sb, &params),
        _ => Err(OAuthError::unsupported_grant_type()),
    }
}

/// The request's parameters, from a JSON object or a form body.
struct Params(Map<String, Value>);

impl Params {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        // UNVERIFIED: the docs ask for JSON but Zendesk's own examples send forms; both
        // are accepted (oauth.md §1).
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| OAuthError::invalid_request("the form body is malformed"))?;
            return Ok(Params(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Params(map)),
            _ => Err(OAuthError::invalid_request(
                "the body must be a JSON object or application/x-www-form-urlencoded",
            )),
        }
    }

    /// A non-empty string parameter.
    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    /// A string parameter that must be there.
    fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.text(name).ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
    }

    /// A number of seconds, given as a JSON number or a decimal string (forms carry strings).
    fn seconds(&self, name: &str) -> Result<Option<u64>, OAuthError> {
        let parsed = match self.0.get(name) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            Some(_) => None,
        };
        parsed.map(Some).ok_or_else(|| {
            OAuthError::invalid_request(format!("{name} is not a number of seconds"))
        })
    }
}

/// Checks `client_id` always and `client_secret` when given or `secret_required`; returns
/// the client and its kind. A public client has no secret, so one sent is refused.
/// UNVERIFIED: HTTP Basic client authentication is not accepted; the secret goes in the body.
/// UNVERIFIED: what Zendesk answers a public client that sends a secret; invalid_client is
/// the strict reading.
fn check_client(
    sb: &Sandbox,
    params: &Params,
    secret_required: bool,
) -> Result<(String, ClientKind), OAuthError> {
    let creds = &sb.config.credentials;
    let id = params.text("client_id").ok_or_else(OAuthError::invalid_client)?;
    let kind = client_kind(creds, id).ok_or_else(OAuthError::invalid_client)?;
    match (kind, params.text("client_secret")) {
        (ClientKind::Public, Some(_)) => Err(OAuthError::invalid_client()),
        (ClientKind::Confidential, Some(secret)) if secret != creds.client_secret => {
            Err(OAuthError::invalid_client())
        }
        (ClientKind::Confidential, None) if secret_required => Err(OAuthError::invalid_client()),
        _ => Ok((id.to_string(), kind)),
    }
}

/// The requested TTLs in sandbox seconds: `(access, refresh)`, refresh only when asked.
fn ttls(
    sb: &Sandbox,
    params: &Params,
    with_refresh: bool,
) -> Result<(u64, Option<u64>), OAuthError> {
    // UNVERIFIED: the error for an out-of-range TTL is undocumented; 400 invalid_request.
    let asked = params.seconds("expires_in")?;
    // The sandbox's own default (`--access-token-ttl`) is not a request, so it is not held
    // to the requested range.
    let access =
        asked.unwrap_or(sb.config.access_ttl_secs.unwrap_or(DEFAULT_ACCESS_TTL_SECS)).max(1);
    if asked.is_some() && !ACCESS_TTL_RANGE.contains(&access) {
        return Err(OAuthError::invalid_request(format!(
            "expires_in must be between {} and {} seconds",
            ACCESS_TTL_RANGE.start(),
            ACCESS_TTL_RANGE.end()
        )));
    }
    if !with_refresh {
        // UNVERIFIED: client credentials issue no refresh token, so its TTL is ignored.
        return Ok((access, None));
    }
    let refresh = params.seconds("refresh_token_expires_in")?.unwrap_or(DEFAULT_REFRESH_TTL_SECS);
    if !REFRESH_TTL_RANGE.contains(&refresh) {
        return Err(OAuthError::invalid_request(format!(
            "refresh_token_expires_in must be between {} and {} seconds",
            REFRESH_TTL_RANGE.start(),
            REFRESH_TTL_RANGE.end()
        )));
    }
    if access >= refresh {
        return Err(OAuthError::invalid_request(
            "expires_in must be less than refresh_token_expires_in",
        ));
    }
    Ok((access, Some(refresh)))
}

/// The scopes of a code or refresh exchange: the original ones, or a subset of them.
/// UNVERIFIED: Zendesk does not say whether these grants may narrow scopes; a subset is
/// accepted, anything wider is `invalid_scope`.
fn narrowed(params: &Params, original: &[String]) -> Result<Vec<String>, OAuthError> {
    let Some(raw) = params.text("scope") else { return Ok(original.to_vec()) };
    let asked = parse_scopes(raw)?;
    match asked.iter().find(|s| !original.contains(s)) {
        Some(extra) => Err(OAuthError::invalid_scope(format!("scope '{extra}' was not granted"))),
        None => Ok(asked),
    }
}

fn client_credentials(sb: &Sandbox, params: &Params) -> Result<Value, OAuthError> {
    let (client_id, kind) = check_client(sb, params, true)?;
    // "For security reasons, public clients are not allowed to use this grant type" [Z];
    // the error is not documented (oauth.md §10.2 suggests 401 invalid_client).
    if kind == ClientKind::Public {
        return Err(OAuthError::invalid_client());
    }
    // UNVERIFIED: a missing scope is refused (invalid_request) rather than read as full access.
    let scopes = parse_scopes(params.text("scope").unwrap_or(""))?;
    let (access_ttl, _) = ttls(sb, params, false)?;
    let scale = sb.config.time_scale;
    let now = wall_ms();
    let mut store = sb.lock();
    store.oauth.prune(now);
    let id = store.next_id();
    let scope = scopes.join(" ");
    let grant = Grant {
        id,
        client_id,
        scopes,
        access_ttl_ms: real_ms(access_ttl, scale),
        refresh_ttl_ms: None,
        family: None,
    };
    let issued = store.oauth.issue(grant, now);
    // Zendesk documents no refresh_token for this grant.
    Ok(json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "scope": scope,
        "expires_in": access_ttl,
    }))
}

fn authorization_code(sb: &Sandbox, params: &Params) -> Result<Value, OAuthError> {
    // A public PKCE client has no secret; a confidential one may send it, and then it must match.
    let (client_id, _) = check_client(sb, params, false)?;
    // Everything is checked before the code is looked up, so a malformed request does not
    // spend it.
    let code = params.required("code")?;
    let redirect_uri = params.required("redirect_uri")?;
    let verifier = params.text("code_verifier");
    let has_secret = params.text("client_secret").is_some();
    let (access_ttl, refresh_ttl) = ttls(sb, params, true)?;
    let refresh_ttl = refresh_ttl.unwrap_or(DEFAULT_REFRESH_TTL_SECS);
    let now = wall_ms();
    let mut store = sb.lock();
    let granted = store.oauth.take_code(code).ok_or_else(OAuthError::invalid_grant)?;
    if granted.expires_at_ms <= now
        || granted.client_id != client_id
        || granted.redirect_uri != redirect_uri
    {
        return Err(OAuthError::invalid_grant());
    }
    // With PKCE the verifier proves the caller started the login; without (a confidential
    // client only, the authorize endpoint made sure), the secret does.
    let proven = match (granted.code_challenge.is_empty(), verifier) {
        (false, Some(verifier)) => pkce_matches(verifier, &granted.code_challenge),
        (false, None) => false,
        (true, _) => has_secret,
    };
    if !proven {
        return Err(OAuthError::invalid_grant());
    }
    let scopes = narrowed(params, &granted.scopes)?;
    store.oauth.prune(now);
    Ok(issue_pair(sb, &mut store, client_id, scopes, (access_ttl, refresh_ttl), None, now))
}

fn refresh_token(sb: &Sandbox, params: &Params) -> Result<Value, OAuthError> {
    let (client_id, _) = check_client(sb, params, false)?;
    let secret = params.required("refresh_token")?;
    let (access_ttl, refresh_ttl) = ttls(sb, params, true)?;
    let refresh_ttl = refresh_ttl.unwrap_or(DEFAULT_REFRESH_TTL_SECS);
    let now = wall_ms();
    let mut store = sb.lock();
    let Some(old) = store.oauth.live_refresh(secret, now).cloned() else {
        // Reuse detection. UNVERIFIED: oauth.md does not say Zendesk revokes a login whose
        // spent refresh token comes back; the sandbox does (RFC 9700 §4.14.2), the strict
        // reading, so a client that passes here never relies on reuse being tolerated.
        if let Some(family) = store.oauth.spent_family(secret) {
            store.oauth.revoke_family(family);
        }
        return Err(OAuthError::invalid_grant());
    };
    if old.client_id != client_id {
        return Err(OAuthError::invalid_grant());
    }
    let scopes = narrowed(params, &old.scopes)?;
    // Rotation: a successful refresh deletes the previous access and refresh tokens
    // (oauth.md §4), so the old access token 401s and the old refresh token is invalid_grant.
    store.oauth.rotate_out(secret);
    store.oauth.prune(now);
    let ttls = (access_ttl, refresh_ttl);
    Ok(issue_pair(sb, &mut store, client_id, scopes, ttls, Some(old.family), now))
}

/// Issues an access + refresh pair and renders the §3 response.
fn issue_pair(
    sb: &Sandbox,
    store: &mut Store,
    client_id: String,
    scopes: Vec<String>,
    (access_ttl, refresh_ttl): (u64, u64),
    family: Option<u64>,
    now: u64,
) -> Value {
    let scale = sb.config.time_scale;
    let scope = scopes.join(" ");
    let grant = Grant {
        id: store.next_id(),
        client_id,
        scopes,
        access_ttl_ms: real_ms(access_ttl, scale),
        refresh_ttl_ms: Some(real_ms(refresh_ttl, scale)),
        family,
    };
    let issued = store.oauth.issue(grant, now);
    json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "bearer",
        "scope": scope,
        "expires_in": access_ttl,
        "refresh_token_expires_in": refresh_ttl,
    })
}
