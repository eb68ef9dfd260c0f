//! Credentials and the `Authorization` header: API token (Basic), bearer token, and the OAuth
//! client-credentials and refresh-token grants with a cached, shared, renewed token
//! (oauth.md §1, §2, §4, §6).
//!
//! Minting a token is retried like any other request ([`RetryPolicy`](crate::zendesk::RetryPolicy)): a 5xx, a 429, a
//! timeout or a dropped connection at the token endpoint must not end a run that would have
//! survived the same fault on `/api/v2`. Only answers that say the credentials themselves are
//! wrong (`invalid_client`, `invalid_grant`, …, any other 4xx) are final at once.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use reqwest::header::HeaderValue;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::error::ApiError;
use super::redact_url;

mod mint;
mod refresh;
pub mod store;

use mint::FailedMint;
pub(crate) use mint::{post_token, MintContext, TokenAnswer};
pub use refresh::login_command;
use store::LoginRef;

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
    /// The login stored by `zdbulk auth login`: its access token, refreshed with its refresh
    /// token (rotation-safe, oauth.md §4) before it expires and once on a 401 `invalid_token`.
    StoredLogin(LoginRef),
    /// None: only the token endpoint can be used (`zdbulk auth login` before it has a token).
    None,
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
            Credentials::StoredLogin(login) => f.debug_tuple("StoredLogin").field(login).finish(),
            Credentials::None => f.write_str("None"),
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
    /// When it stops working, if Zendesk said.
    expires_at: Option<Instant>,
}

impl fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedToken").field("renew_at", &self.renew_at).finish_non_exhaustive()
    }
}

/// The OAuth grant used to mint tokens. Both share the caching, the mutex, the retries and
/// the 401 handling; only how a token is obtained differs (`mint.rs`, `refresh.rs`).
#[derive(Clone)]
enum Grant {
    /// Mint with the client's secret; nothing to keep.
    ClientCredentials { client_id: String, client_secret: String, scope: String },
    /// Take the stored login's token, refreshing (and saving the rotated pair) when it is due
    /// or rejected.
    Refresh { login: LoginRef },
}

/// Produces `Authorization` headers; shared by every clone of a client.
pub(crate) struct Authenticator {
    static_header: Option<HeaderValue>,
    grant: Option<Grant>,
    token_url: Url,
    /// The current token. A tokio mutex, held across the mint and its retries, so 30
    /// workers that all find the token missing mint it once: the first mints, the others wait
    /// and reuse its token, or its error when every retry failed.
    cache: Mutex<TokenState>,
    /// Mint rounds finished (success or failure), bumped under `cache`. A worker reads it
    /// before waiting for the lock, so it can tell that a round ended while it waited.
    rounds: AtomicU64,
}

/// What `cache` guards.
#[derive(Default)]
struct TokenState {
    token: Option<CachedToken>,
    /// Why the last mint round failed; cleared by a successful one.
    failed: Option<FailedMint>,
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
            Credentials::StoredLogin(login) => (None, Some(Grant::Refresh { login })),
            Credentials::None => (None, None),
        };
        Ok(Authenticator {
            static_header,
            grant,
            token_url,
            cache: Mutex::new(TokenState::default()),
            rounds: AtomicU64::new(0),
        })
    }

    /// Whether a 401 `invalid_token` can be cured by minting a new token.
    pub(crate) fn can_renew(&self) -> bool {
        self.grant.is_some()
    }

    /// The header for the next request, minting a token first when needed (with the
    /// retries of [`RetryPolicy`](crate::zendesk::RetryPolicy)). Returns whether a token was minted (for the counters).
    pub(crate) async fn current(&self, ctx: MintContext<'_>) -> Result<(UsedAuth, bool), ApiError> {
        if let Some(h) = &self.static_header {
            return Ok((UsedAuth { header: h.clone(), token: None }, false));
        }
        let seen = self.rounds.load(Ordering::SeqCst);
        let mut state = self.cache.lock().await;
        if let Some(tok) = state.token.as_ref() {
            if tok.renew_at.is_none_or(|at| Instant::now() < at) {
                return self.used(tok).map(|u| (u, false));
            }
        }
        // oauth.md §4 (tool policy): a pre-emptive renewal that fails (its retries spent) keeps
        // the current token until it expires, trying again at most every 30 s meanwhile; only
        // a token that has run out makes the error the caller's.
        match self.mint_locked(&mut state, seen, ctx).await {
            Ok(used) => Ok((used, true)),
            Err(err) => {
                let now = Instant::now();
                let Some(tok) =
                    state.token.as_mut().filter(|t| t.expires_at.is_some_and(|end| end > now))
                else {
                    return Err(err);
                };
                let left = tok.expires_at.map_or(Duration::ZERO, |end| end - now);
                tok.renew_at = Some(now + (left / 2).min(Duration::from_secs(30)));
                let used = self.used(tok);
                state.failed = None;
                used.map(|u| (u, false))
            }
        }
    }

    /// After a 401 `invalid_token` for `stale`: mint a new token (with retries) unless
    /// another worker has already replaced it, and return the header to retry with.
    pub(crate) async fn renew_after_rejection(
        &self,
        ctx: MintContext<'_>,
        stale: &UsedAuth,
    ) -> Result<(UsedAuth, bool), ApiError> {
        let seen = self.rounds.load(Ordering::SeqCst);
        let mut state = self.cache.lock().await;
        if let Some(tok) = state.token.as_ref() {
            if stale.token.as_deref() != Some(tok.access_token.as_str()) {
                return self.used(tok).map(|u| (u, false));
            }
        }
        self.mint_locked(&mut state, seen, ctx).await.map(|u| (u, true))
    }

    /// Mints under the lock, unless a round that failed ended while this worker waited for
    /// the lock (`seen` is the round count it read before waiting): then that round's error
    /// is returned, as a successful round's token would have been reused.
    async fn mint_locked(
        &self,
        state: &mut TokenState,
        seen: u64,
        ctx: MintContext<'_>,
    ) -> Result<UsedAuth, ApiError> {
        if let Some(failed) = &state.failed {
            if self.rounds.load(Ordering::SeqCst) != seen {
                return Err(failed.error(&self.token_url));
            }
        }
        let stale = state.token.as_ref().map(|t| t.access_token.clone());
        let minted = self.mint(ctx, stale.as_deref()).await;
        self.rounds.fetch_add(1, Ordering::SeqCst);
        match minted.and_then(|tok| Ok((self.used(&tok)?, tok))) {
            Ok((used, tok)) => {
                state.token = Some(tok);
                state.failed = None;
                Ok(used)
            }
            Err(err) => {
                state.failed = Some(FailedMint::of(&err));
                Err(err)
            }
        }
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
        let (http, policy, limiter) = (
            reqwest::Client::new(),
            crate::zendesk::RetryPolicy::default(),
            crate::zendesk::rate_limit::RateLimiter::new(None),
        );
        let ctx = MintContext { http: &http, policy: &policy, limiter: &limiter };
        let (used, minted) = auth.current(ctx).await.unwrap();
        // The example of oauth.md §6.
        assert_eq!(used.header.to_str().unwrap(), "Basic bWVAYWNtZS5jb20vdG9rZW46czNjcjN0");
        assert!(!minted);
        assert!(used.header.is_sensitive());
    }
}
