//! Credentials and the `Authorization` header: API token (Basic), bearer token, and the OAuth
//! client-credentials grant with a cached, shared, renewed token (oauth.md §1, §2, §6).

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::error::{ApiError, ZendeskErrorBody};
use super::redact_url;

/// Scope requested when none is given: an empty scope must never be sent (oauth.md §7).
pub const DEFAULT_SCOPE: &str = "read write";

/// How the client authenticates. `Debug` prints no secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Legacy API token: `Authorization: Basic base64("{email}/token:{token}")`.
    Basic {
        /// The agent's email.
        email: String,
        /// The API token.
        token: String,
    },
    /// An OAuth access token sent as it is: `Authorization: Bearer {token}`.
    Bearer(String),
    /// OAuth client-credentials grant: a token is minted at `{base}/oauth/tokens`, cached,
    /// renewed at about 80 % of its lifetime, and re-minted once on a 401 `invalid_token`.
    ClientCredentials {
        /// The client's unique identifier (a string, not the numeric id).
        client_id: String,
        /// The client's secret.
        client_secret: String,
        /// Space-separated scopes; empty means [`DEFAULT_SCOPE`].
        scope: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { email, .. } => {
                f.debug_struct("Basic").field("email", email).field("token", &"[redacted]").finish()
            }
            Credentials::Bearer(_) => f.debug_tuple("Bearer").field(&"[redacted]").finish(),
            Credentials::ClientCredentials { client_id, scope, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .field("scope", scope)
                .finish(),
        }
    }
}

/// A minted access token. `Debug` prints no secret.
#[derive(Clone)]
struct CachedToken {
    access_token: String,
    /// When to mint a fresh one; `None` when Zendesk gave no `expires_in` (then only a 401
    /// makes us renew).
    renew_at: Option<Instant>,
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken").field("renew_at", &self.renew_at).finish_non_exhaustive()
    }
}

/// The OAuth grant used to mint tokens.
///
/// Extension point: the stored login of `zdbulk auth login` adds a `RefreshToken { store }`
/// variant here, with its own arm in [`Authenticator::mint`] (persist the rotated pair before
/// use, oauth.md §4); the caching, the mutex and the 401 handling stay as they are.
#[derive(Clone)]
enum Grant {
    ClientCredentials { client_id: String, client_secret: String, scope: String },
}

/// Produces `Authorization` headers; shared by every clone of a client.
pub(crate) struct Authenticator {
    static_header: Option<HeaderValue>,
    grant: Option<Grant>,
    token_url: Url,
    /// The current token. A tokio mutex, held across the mint request, so 30 workers that
    /// all find the token missing mint it once: the first mints, the others wait and reuse.
    cache: Mutex<Option<CachedToken>>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator").field("token_url", &redact_url(&self.token_url)).finish()
    }
}

/// The header value currently used, kept so a 401 can tell whether it was already renewed.
#[derive(Clone, Debug)]
pub(crate) struct UsedAuth {
    pub(crate) header: HeaderValue,
    /// The access token, for OAuth grants only.
    token: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Authenticator {
    /// Builds the authenticator; `base` is the account root (`https://acme.zendesk.com/`).
    pub(crate) fn new(credentials: Credentials, base: &Url) -> Result<Authenticator, ApiError> {
        let token_url = base
            .join("oauth/tokens")
            .map_err(|e| ApiError::BadUrl { url: redact_url(base), reason: e.to_string() })?;
        let header = |value: String| {
            let mut v = HeaderValue::from_str(&value).map_err(|_| ApiError::Auth {
                url: redact_url(base),
                status: None,
                reason: "credentials contain characters not allowed in an http header".into(),
            })?;
            v.set_sensitive(true);
            Ok::<_, ApiError>(v)
        };
        let (static_header, grant) = match credentials {
            Credentials::Basic { email, token } => {
                let raw = format!("{email}/token:{token}");
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                (Some(header(format!("Basic {encoded}"))?), None)
            }
            Credentials::Bearer(token) => (Some(header(format!("Bearer {token}"))?), None),
            Credentials::ClientCredentials { client_id, client_secret, scope } => {
                let scope = if scope.trim().is_empty() { DEFAULT_SCOPE.to_string() } else { scope };
                (None, Some(Grant::ClientCredentials { client_id, client_secret, scope }))
            }
        };
        Ok(Authenticator { static_header, grant, token_url, cache: Mutex::new(None) })
    }

    /// Whether a 401 `invalid_token` can be cured by minting a new token.
    pub(crate) fn can_renew(&self) -> bool {
        self.grant.is_some()
    }

    /// The header for the next request, minting a token first when needed. Returns whether
    /// a token was minted (for the counters).
    pub(crate) async fn current(
        &self,
        http: &reqwest::Client,
    ) -> Result<(UsedAuth, bool), ApiError> {
        if let Some(h) = &self.static_header {
            return Ok((UsedAuth { header: h.clone(), token: None }, false));
        }
        let mut cache = self.cache.lock().await;
        if let Some(tok) = cache.as_ref() {
            if tok.renew_at.is_none_or(|at| Instant::now() < at) {
                return self.used(tok).map(|u| (u, false));
            }
        }
        // UNVERIFIED (oauth.md §4): whether a failed pre-emptive renewal should keep the old
        // token. For client credentials a failed mint means the secret no longer works, so
        // the error is returned rather than hidden behind a token about to expire.
        let tok = self.mint(http).await?;
        let used = self.used(&tok)?;
        *cache = Some(tok);
        Ok((used, true))
    }

    /// After a 401 `invalid_token` for `stale`: mint a new token unless another worker has
    /// already replaced it, and return the header to retry with.
    pub(crate) async fn renew_after_rejection(
        &self,
        http: &reqwest::Client,
        stale: &UsedAuth,
    ) -> Result<(UsedAuth, bool), ApiError> {
        let mut cache = self.cache.lock().await;
        if let Some(tok) = cache.as_ref() {
            if stale.token.as_deref() != Some(tok.access_token.as_str()) {
                return self.used(tok).map(|u| (u, false));
            }
        }
        let tok = self.mint(http).await?;
        let used = self.used(&tok)?;
        *cache = Some(tok);
        Ok((used, true))
    }

    fn used(&self, tok: &CachedToken) -> Result<UsedAuth, ApiError> {
        let mut header =
            HeaderValue::from_str(&format!("Bearer {}", tok.access_token)).map_err(|_| {
                ApiError::Auth {
                    url: redact_url(&self.token_url),
                    status: None,
                    reason: "the token endpoint returned a token that is not a valid header".into(),
                }
            })?;
        header.set_sensitive(true);
        Ok(UsedAuth { header, token: Some(tok.access_token.clone()) })
    }

    /// One request to the token endpoint. JSON body (oauth.md §1: the docs say JSON); any
    /// 2xx is success (the docs show 201, the live status is unknown).
    async fn mint(&self, http: &reqwest::Client) -> Result<CachedToken, ApiError> {
        let url = redact_url(&self.token_url);
        let Some(Grant::ClientCredentials { client_id, client_secret, scope }) = &self.grant else {
            return Err(ApiError::Auth { url, status: None, reason: "no oauth grant".into() });
        };
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        });
        let method = "POST".to_string();
        let answer = http.post(self.token_url.clone()).json(&body).send().await.map_err(|e| {
            if e.is_connect() {
                ApiError::Transport { method: method.clone(), url: url.clone(), source: e }
            } else {
                ApiError::AnswerLost { method: method.clone(), url: url.clone(), source: e }
            }
        })?;
        let status = answer.status();
        let bytes = answer.bytes().await.map_err(|e| ApiError::AnswerLost {
            method,
            url: url.clone(),
            source: e,
        })?;
        if !status.is_success() {
            let body = ZendeskErrorBody::parse(&bytes);
            return Err(ApiError::Auth {
                url,
                status: Some(status.as_u16()),
                reason: format!("the token endpoint refused the client credentials: {body}"),
            });
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { url, source: e })?;
        // Renew at 80 % of the lifetime (oauth.md §4, as zdk does), so a long run never
        // sends a token in its last seconds.
        let renew_at = answer
            .expires_in
            .map(|secs| Instant::now() + Duration::from_millis(secs.saturating_mul(800)));
        Ok(CachedToken { access_token: answer.access_token, renew_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_secret() {
        let shown = format!(
            "{:?} {:?} {:?}",
            Credentials::Basic { email: "me@acme.com".into(), token: "s3cr3t".into() },
            Credentials::Bearer("tok-123".into()),
            Credentials::ClientCredentials {
                client_id: "acme_cli".into(),
                client_secret: "hush".into(),
                scope: String::new()
            }
        );
        for secret in ["s3cr3t", "tok-123", "hush"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("me@acme.com") && shown.contains("acme_cli"));
    }

    #[tokio::test]
    async fn basic_header_is_email_slash_token() {
        let base = Url::parse("https://acme.zendesk.com/").unwrap();
        let creds = Credentials::Basic { email: "me@acme.com".into(), token: "s3cr3t".into() };
        let auth = Authenticator::new(creds, &base).unwrap();
        let (used, minted) = auth.current(&reqwest::Client::new()).await.unwrap();
        // The example of oauth.md §6.
        assert_eq!(used.header.to_str().unwrap(), "Basic bWVAYWNtZS5jb20vdG9rZW46czNjcjN0");
        assert!(!minted);
        assert!(used.header.is_sensitive());
    }
}
