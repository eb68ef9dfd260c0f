//! `GET /oauth/authorizations/new`: the authorization-code + PKCE consent page, auto-approved
//! (`oauth.md` §3, §10.1).
//!
//! Sandbox-only knob: `deny=1` in the query plays a user who clicks "Deny", so clients can test
//! the `access_denied` path.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::{
    client_kind, parse_scopes, real_ms, wall_ms, AuthCode, ClientKind, OAuthError, CODE_TTL_SECS,
};
use crate::state::Shared;

/// The text Zendesk puts in `error_description` when the user denies access.
const DENIED: &str = "The end-user or authorization server denied the request.";

/// `GET /oauth/authorizations/new`: 302 to the redirect URI with `code` and `state`, or with
/// an error; 400 JSON when the client or redirect URI is bad (never redirect to an
/// unvalidated URI, RFC 6749 §4.1.2.1).
pub async fn new(State(sb): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        match serde_urlencoded::from_str(query.as_deref().unwrap_or("")) {
            Ok(pairs) => pairs,
            Err(_) => return OAuthError::invalid_request("the query is malformed").into_response(),
        };
    let param = |name: &str| {
        pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    };

    let Some((client_id, kind)) =
        param("client_id").and_then(|id| Some((id, client_kind(&sb.config.credentials, id)?)))
    else {
        return OAuthError::invalid_client().with_status(StatusCode::BAD_REQUEST).into_response();
    };
    let Some(raw_redirect) = param("redirect_uri") else {
        return OAuthError::invalid_request("redirect_uri is missing").into_response();
    };
    let redirect = match checked_redirect(raw_redirect) {
        Ok(url) => url,
        Err(why) => return OAuthError::invalid_request(why).into_response(),
    };
    let state = param("state");

    // From here on the redirect URI is trusted, so errors travel back to it.
    if param("response_type") != Some("code") {
        return redirect_error(
            redirect,
            state,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    let scopes = match parse_scopes(param("scope").unwrap_or("")) {
        Ok(scopes) => scopes,
        Err(err) => return redirect_error(redirect, state, err.error, &err.description),
    };
    // Zendesk requires PKCE of public clients; a confidential one may use PKCE, its secret
    // at the exchange, or both (oauth.md §3). Only S256 (plain is refused, as Zendesk does).
    let challenge = match param("code_challenge") {
        None if kind == ClientKind::Public => {
            return redirect_error(redirect, state, "invalid_request", "code_challenge is missing")
        }
        None => "",
        Some(challenge) => {
            if param("code_challenge_method") != Some("S256") {
                return redirect_error(
                    redirect,
                    state,
                    "invalid_request",
                    "code_challenge_method must be S256",
                );
            }
            if !is_s256_challenge(challenge) {
                return redirect_error(
                    redirect,
                    state,
                    "invalid_request",
                    "code_challenge is not a base64url SHA-256 digest",
                );
            }
            challenge
        }
    };
    if param("deny") == Some("1") {
        return redirect_error(redirect, state, "access_denied", DENIED);
    }

    let now = wall_ms();
    let code = {
        let mut store = sb.lock();
        store.oauth.prune(now);
        store.oauth.insert_code(AuthCode {
            client_id: client_id.to_string(),
            redirect_uri: raw_redirect.to_string(),
            scopes,
            code_challenge: challenge.to_string(),
            expires_at_ms: now + real_ms(CODE_TTL_SECS, sb.config.time_scale),
        })
    };
    let mut target = redirect;
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = state {
        target.query_pairs_mut().append_pair("state", state);
    }
    found(&target)
}

/// A redirect URI Zendesk would accept: absolute, no fragment, https unless the host is
/// `localhost` or `127.0.0.1`.
/// UNVERIFIED: the sandbox has no list of registered URIs, so any URI passing these rules is
/// taken as registered, on any port (zdk reports any loopback port works).
fn checked_redirect(raw: &str) -> Result<Url, String> {
    let url =
        Url::parse(raw).map_err(|_| format!("redirect_uri '{raw}' is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect_uri '{raw}' must not have a fragment"));
    }
    let loopback = matches!(url.host_str(), Some("localhost") | Some("127.0.0.1"));
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(format!("redirect_uri '{raw}' must be https unless it is localhost or 127.0.0.1")),
    }
}

/// Whether `challenge` can be an S256 challenge: 43 base64url characters (32 bytes, no padding).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// 302 to the redirect URI with `error`, `error_description` and `state`.
fn redirect_error(
    mut target: Url,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    target
        .query_pairs_mut()
        .append_pair("error", error)
        .append_pair("error_description", description);
    if let Some(state) = state {
        target.query_pairs_mut().append_pair("state", state);
    }
    found(&target)
}

fn found(target: &Url) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, target.as_str().to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_must_be_https_or_loopback() {
        assert!(checked_redirect("https://app.example.com/cb").is_ok());
        assert!(checked_redirect("http://127.0.0.1:8765/callback").is_ok());
        assert!(checked_redirect("http://localhost:1/cb").is_ok());
        assert!(checked_redirect("http://example.com/cb").is_err());
        assert!(checked_redirect("/callback").is_err());
        assert!(checked_redirect("https://app.example.com/cb#frag").is_err());
        assert!(checked_redirect("javascript:alert(1)").is_err());
    }

    #[test]
    fn s256_challenges_have_the_digest_shape() {
        assert!(is_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!is_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM="));
        assert!(!is_s256_challenge("short"));
    }
}
