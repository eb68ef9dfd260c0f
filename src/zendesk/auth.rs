//! Credentials and the `Authorization` header: API token (Basic), bearer token, and the OAuth
//! client-credentials grant with a cached, shared, renewed token (oauth.md §1, §2, §6).
//!
//! Minting a token is retried like any other request ([`RetryPolicy`]): a 5xx, a 429, a
//! timeout or a dropped connection at the token endpoint must not end a run that would have
//! survived the same fault on `/api/v2`. Only answers that say the credentials themselves are
//! wrong (`invalid_client`, `invalid_grant`, …, any other 4xx) are final at once.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::error::{ApiError, ZendeskErrorBody};
use super::rate_limit::RateLimiter;
use super::redact_url;
use super::retry::{self, Decision, RequestKind, RetryPolicy, StatusClass};

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
/// variant here, with its own arm in [`Authenticator::mint_once`] (persist the rotated pair
/// before use, oauth.md §4); the caching, the mutex, the retries and the 401 handling stay as
/// they are. One caution for that arm: a lost answer to a refresh may have rotated the pair
/// (the old refresh token then gives `invalid_grant`), so after a lost answer it must re-read
/// the store before sending the refresh again (oauth.md §4). Client credentials have no such
/// state: a token minted and lost is simply never used.
#[derive(Clone)]
enum Grant {
    ClientCredentials { client_id: String, client_secret: String, scope: String },
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

/// A failed mint round, kept so the workers that waited for it share its error instead of
/// each starting a new round of retries (30 workers × 5 retries would hold a dying run for
/// minutes). Stored as text: [`ApiError`] is not `Clone`.
struct FailedMint {
    /// `Some((retries, elapsed))` when the round ended because its retries ran out.
    exhausted: Option<(u32, Duration)>,
    status: Option<u16>,
    reason: String,
}

/// One failed attempt at the token endpoint.
struct MintFailure {
    /// Transient ones are `Status`, `RateLimited`, `Transport` or `AnswerLost`, which the
    /// policy retries; final ones are already `Auth`.
    err: ApiError,
    /// `Retry-After` of a 5xx.
    retry_after: Option<Duration>,
}

impl From<ApiError> for MintFailure {
    fn from(err: ApiError) -> Self {
        MintFailure { err, retry_after: None }
    }
}

/// The client's parts minting needs: its connection pool, retry rule and rate gate.
#[derive(Clone, Copy)]
pub(crate) struct MintContext<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) policy: &'a RetryPolicy,
    pub(crate) limiter: &'a RateLimiter,
}

/// OAuth error codes (RFC 6749 §5.2) that say the client, its secret, the grant or the scope
/// is wrong: asking again cannot help, and hammering a token endpoint with a bad secret is how
/// clients get locked out.
const FINAL_OAUTH_ERRORS: &[&str] = &[
    "invalid_client",
    "unauthorized_client",
    "invalid_grant",
    "invalid_scope",
    "unsupported_grant_type",
    "invalid_request",
];

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
    /// retries of [`RetryPolicy`]). Returns whether a token was minted (for the counters).
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
        // UNVERIFIED (oauth.md §4): whether a failed pre-emptive renewal should keep the old
        // token. A transient failure is retried like any request; once the retries run out,
        // or the secret is refused, the error is returned rather than hidden behind a token
        // about to expire.
        self.mint_locked(&mut state, seen, ctx).await.map(|u| (u, true))
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
        let minted = self.mint(ctx).await;
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

    /// Mints a token with the retries of `ctx.policy`, as a read: repeating a
    /// client-credentials request does no harm (a token whose answer was lost is never used
    /// and expires), so 5xx, 408, 409, timeouts and dropped connections are retried with the
    /// policy's backoff and limit, and a 429 closes the client's rate gate for `Retry-After`
    /// as on `/api/v2`. Every error returned is an [`ApiError::Auth`] naming the token
    /// endpoint, wrapped in [`ApiError::RetriesExhausted`] when the retries ran out; never an
    /// `AnswerLost`, which the pipeline would read as "the write may have been done".
    async fn mint(&self, ctx: MintContext<'_>) -> Result<CachedToken, ApiError> {
        let started = Instant::now();
        let mut retries = 0u32;
        let mut rate_waits = 0u32;
        loop {
            let failure = match self.mint_once(ctx).await {
                Ok(tok) => return Ok(tok),
                Err(failure) => failure,
            };
            let err = failure.err;
            match ctx.policy.decide(RequestKind::Read, &err, retries) {
                Decision::GiveUp => return Err(self.mint_error(err)),
                Decision::RateLimited(wait) => {
                    rate_waits += 1;
                    if rate_waits > ctx.policy.max_rate_limit_waits {
                        return Err(self.exhausted(retries + rate_waits - 1, started, err));
                    }
                    ctx.limiter.pause_all(wait);
                }
                Decision::Backoff(delay) => {
                    if retries >= ctx.policy.max_retries {
                        return Err(self.exhausted(retries + rate_waits, started, err));
                    }
                    retries += 1;
                    ctx.limiter.count_retry();
                    let delay = failure.retry_after.map_or(delay, |asked| delay.max(asked));
                    tokio::time::sleep(delay).await;
                }
            }
            // The retry is a request like any other: it waits for the rate gate and pacer.
            ctx.limiter.acquire().await;
        }
    }

    /// One request to the token endpoint. JSON body (oauth.md §1: the docs say JSON); any
    /// 2xx is success (the docs show 201, the live status is unknown).
    async fn mint_once(&self, ctx: MintContext<'_>) -> Result<CachedToken, MintFailure> {
        let url = redact_url(&self.token_url);
        let Some(Grant::ClientCredentials { client_id, client_secret, scope }) = &self.grant else {
            let reason = "no oauth grant".to_string();
            return Err(ApiError::Auth { url, status: None, reason }.into());
        };
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": scope,
        });
        let method = "POST".to_string();
        let answer =
            ctx.http.post(self.token_url.clone()).json(&body).send().await.map_err(|e| {
                if e.is_connect() {
                    ApiError::Transport { method: method.clone(), url: url.clone(), source: e }
                } else {
                    ApiError::AnswerLost { method: method.clone(), url: url.clone(), source: e }
                }
            })?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        ctx.limiter.observe(status, &headers);
        let bytes = answer.bytes().await.map_err(|e| ApiError::AnswerLost {
            method: method.clone(),
            url: url.clone(),
            source: e,
        })?;
        if (200..300).contains(&status) {
            let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| {
                let reason = format!("the token endpoint answered {status} without a token: {e}");
                ApiError::Auth { url: url.clone(), status: Some(status), reason }
            })?;
            // Renew at 80 % of the lifetime (oauth.md §4, as zdk does), so a long run never
            // sends a token in its last seconds.
            let renew_at = answer
                .expires_in
                .map(|secs| Instant::now() + Duration::from_millis(secs.saturating_mul(800)));
            return Ok(CachedToken { access_token: answer.access_token, renew_at });
        }
        let body = ZendeskErrorBody::parse(&bytes);
        let code = body.code().unwrap_or_default();
        let class = retry::classify_status(RequestKind::Read, status);
        if FINAL_OAUTH_ERRORS.contains(&code) || class == StatusClass::Fail {
            let refused = match code {
                "invalid_scope" => "refused the requested scope",
                "invalid_grant" => "refused the grant",
                "unauthorized_client" => {
                    "refused the grant for this client (client credentials need a Confidential client)"
                }
                "unsupported_grant_type" | "invalid_request" => "refused the request",
                _ => "refused the client credentials",
            };
            let reason = self.scrub(format!("the token endpoint {refused} ({status}): {body}"));
            return Err(ApiError::Auth { url, status: Some(status), reason }.into());
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let retry_after = retry::parse_retry_after(header("retry-after"));
        if class == StatusClass::RateLimit {
            let retry_after = retry_after.unwrap_or(retry::DEFAULT_RETRY_AFTER);
            return Err(ApiError::RateLimited { method, url, retry_after }.into());
        }
        Err(MintFailure {
            err: ApiError::Status { status, method, url, body: Box::new(body) },
            retry_after: if (500..600).contains(&status) { retry_after } else { None },
        })
    }

    /// The error of a mint that ended: already `Auth` when final; a transient failure (the
    /// last one, or one the policy would not retry) becomes an `Auth` that names the token
    /// endpoint and says what happened, with the causes as text.
    fn mint_error(&self, err: ApiError) -> ApiError {
        let what = match &err {
            ApiError::Auth { .. } => return err,
            ApiError::Status { status, body, .. } => format!("answered {status}: {body}"),
            ApiError::RateLimited { .. } => "kept answering 429 (rate limited)".to_string(),
            ApiError::Transport { source, .. } => {
                format!("could not be reached: {}", error_chain(source))
            }
            ApiError::AnswerLost { source, .. } => {
                format!("did not answer (timeout or dropped connection): {}", error_chain(source))
            }
            other => error_chain(other),
        };
        ApiError::Auth {
            url: redact_url(&self.token_url),
            status: err.status(),
            reason: self.scrub(format!("no token could be minted: the token endpoint {what}")),
        }
    }

    fn exhausted(&self, retries: u32, started: Instant, last: ApiError) -> ApiError {
        ApiError::RetriesExhausted {
            retries,
            elapsed: started.elapsed(),
            last: Box::new(self.mint_error(last)),
        }
    }

    /// Removes the client secret from a message, should a server ever echo it back.
    fn scrub(&self, text: String) -> String {
        match &self.grant {
            Some(Grant::ClientCredentials { client_secret, .. })
                if !client_secret.is_empty() && text.contains(client_secret.as_str()) =>
            {
                text.replace(client_secret.as_str(), "[redacted]")
            }
            _ => text,
        }
    }
}

impl FailedMint {
    fn of(err: &ApiError) -> FailedMint {
        let (exhausted, last) = match err {
            ApiError::RetriesExhausted { retries, elapsed, last } => {
                (Some((*retries, *elapsed)), &**last)
            }
            other => (None, other),
        };
        let reason = match last {
            ApiError::Auth { reason, .. } => reason.clone(),
            other => error_chain(other),
        };
        FailedMint { exhausted, status: last.status(), reason }
    }

    /// The error again, for a worker that waited for this round.
    fn error(&self, token_url: &Url) -> ApiError {
        let auth = ApiError::Auth {
            url: redact_url(token_url),
            status: self.status,
            reason: self.reason.clone(),
        };
        match self.exhausted {
            Some((retries, elapsed)) => {
                ApiError::RetriesExhausted { retries, elapsed, last: Box::new(auth) }
            }
            None => auth,
        }
    }
}

/// An error and its causes, joined with `: `.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
        let (http, policy, limiter) =
            (reqwest::Client::new(), RetryPolicy::default(), RateLimiter::new(None));
        let ctx = MintContext { http: &http, policy: &policy, limiter: &limiter };
        let (used, minted) = auth.current(ctx).await.unwrap();
        // The example of oauth.md §6.
        assert_eq!(used.header.to_str().unwrap(), "Basic bWVAYWNtZS5jb20vdG9rZW46czNjcjN0");
        assert!(!minted);
        assert!(used.header.is_sensitive());
    }
}
