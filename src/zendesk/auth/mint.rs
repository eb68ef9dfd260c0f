//! Minting an OAuth token, retried like any other request: transient faults at the token
//! endpoint back off within the [`RetryPolicy`], answers that say the credentials are wrong
//! are final at once, and a failed round is shared by the workers that waited for it.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::{Authenticator, CachedToken, Grant};
use crate::zendesk::error::{ApiError, ZendeskErrorBody};
use crate::zendesk::rate_limit::RateLimiter;
use crate::zendesk::redact_url;
use crate::zendesk::retry::{self, Decision, RequestKind, RetryPolicy, StatusClass};

/// A failed mint round, kept so the workers that waited for it share its error instead of
/// each starting a new round of retries (30 workers × 5 retries would hold a dying run for
/// minutes). Stored as text: [`ApiError`] is not `Clone`.
pub(super) struct FailedMint {
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

/// What the token endpoint handed out (oauth.md §2–4). `Debug` prints no secret.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    /// The bearer token.
    pub(crate) access_token: String,
    /// The refresh token (authorization-code and refresh grants only).
    #[serde(default)]
    pub(crate) refresh_token: Option<String>,
    /// Seconds the access token lives, when it expires.
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
    /// Seconds the refresh token lives, when it expires.
    #[serde(default)]
    pub(crate) refresh_token_expires_in: Option<u64>,
    /// The granted scopes, space-separated.
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The start of the reason of an `invalid_grant` refusal, which [`is_invalid_grant`] reads.
const REFUSED_GRANT: &str = "the token endpoint refused the grant";

/// Whether `err` is the token endpoint's `invalid_grant`: a code or refresh token that is
/// dead, spent, revoked or foreign.
pub(crate) fn is_invalid_grant(err: &ApiError) -> bool {
    matches!(err, ApiError::Auth { reason, .. } if reason.starts_with(REFUSED_GRANT))
}

impl CachedToken {
    /// The token of an answer, renewed at 80 % of its lifetime (oauth.md §4, as zdk does), so
    /// a long run never sends a token in its last seconds.
    pub(super) fn of(answer: &TokenAnswer) -> CachedToken {
        let renew_at = answer
            .expires_in
            .map(|secs| Instant::now() + Duration::from_millis(secs.saturating_mul(800)));
        let expires_at = answer.expires_in.map(|secs| Instant::now() + Duration::from_secs(secs));
        CachedToken { access_token: answer.access_token.clone(), renew_at, expires_at }
    }
}

impl Authenticator {
    /// Mints a token for this authenticator's grant. `stale` is the token just found expired
    /// or rejected, if any (the refresh grant must not renew a token another process has
    /// already replaced).
    pub(super) async fn mint(
        &self,
        ctx: MintContext<'_>,
        stale: Option<&str>,
    ) -> Result<CachedToken, ApiError> {
        match &self.grant {
            Some(Grant::ClientCredentials { client_id, client_secret, scope }) => {
                let body = serde_json::json!({
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "scope": scope,
                });
                // Repeating a client-credentials request does no harm (a token whose answer
                // was lost is never used and expires), so it is retried as a read.
                let answer = post_token(ctx, &self.token_url, RequestKind::Read, &body).await?;
                Ok(CachedToken::of(&answer))
            }
            Some(Grant::Refresh { login }) => self.renew_login(ctx, login, stale).await,
            None => Err(ApiError::Auth {
                url: redact_url(&self.token_url),
                status: None,
                reason: "no credentials to authenticate with".into(),
            }),
        }
    }
}

/// Posts `body` to the token endpoint with the retries of `ctx.policy`: 5xx, 408, 409,
/// timeouts and connection failures are retried with the policy's backoff and limit, a 429
/// closes the client's rate gate for `Retry-After` as on `/api/v2`, and a lost answer is
/// retried only for a [`RequestKind::Read`] (a refresh whose answer was lost may have rotated
/// the pair: sending the old refresh token again would be a reuse). Every error returned is
/// an [`ApiError::Auth`] naming the token endpoint, wrapped in
/// [`ApiError::RetriesExhausted`] when the retries ran out; never an `AnswerLost`, which the
/// pipeline would read as "the write may have been done".
pub(crate) async fn post_token(
    ctx: MintContext<'_>,
    token_url: &Url,
    kind: RequestKind,
    body: &Value,
) -> Result<TokenAnswer, ApiError> {
    let started = Instant::now();
    let mut retries = 0u32;
    let mut rate_waits = 0u32;
    loop {
        let failure = match post_once(ctx, token_url, body).await {
            Ok(tok) => return Ok(tok),
            Err(failure) => failure,
        };
        let err = failure.err;
        let exhausted = |retries: u32, last: ApiError| ApiError::RetriesExhausted {
            retries,
            elapsed: started.elapsed(),
            last: Box::new(mint_error(token_url, body, last)),
        };
        match ctx.policy.decide(kind, &err, retries) {
            Decision::GiveUp => return Err(mint_error(token_url, body, err)),
            Decision::RateLimited(wait) => {
                rate_waits += 1;
                if rate_waits > ctx.policy.max_rate_limit_waits {
                    return Err(exhausted(retries + rate_waits - 1, err));
                }
                ctx.limiter.pause_all(wait);
            }
            Decision::Backoff(delay) => {
                if retries >= ctx.policy.max_retries {
                    return Err(exhausted(retries + rate_waits, err));
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

/// One request to the token endpoint. JSON body (oauth.md §1: the docs say JSON); any 2xx
/// is success (the docs show 201, the live status is unknown).
async fn post_once(
    ctx: MintContext<'_>,
    token_url: &Url,
    body: &Value,
) -> Result<TokenAnswer, MintFailure> {
    let url = redact_url(token_url);
    let method = "POST".to_string();
    let answer = ctx.http.post(token_url.clone()).json(body).send().await.map_err(|e| {
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
        return serde_json::from_slice(&bytes).map_err(|e| {
            let reason = format!("the token endpoint answered {status} without a token: {e}");
            ApiError::Auth { url: url.clone(), status: Some(status), reason }.into()
        });
    }
    let answer_body = ZendeskErrorBody::parse(&bytes);
    let code = answer_body.code().unwrap_or_default();
    let class = retry::classify_status(RequestKind::Read, status);
    if FINAL_OAUTH_ERRORS.contains(&code) || class == StatusClass::Fail {
        let refused = match code {
            "invalid_scope" => "the token endpoint refused the requested scope",
            "invalid_grant" => REFUSED_GRANT,
            "unauthorized_client" => {
                "the token endpoint refused the grant for this client (client credentials need a Confidential client)"
            }
            "unsupported_grant_type" | "invalid_request" => "the token endpoint refused the request",
            _ => "the token endpoint refused the client credentials",
        };
        let reason = scrub(body, format!("{refused} ({status}): {answer_body}"));
        return Err(ApiError::Auth { url, status: Some(status), reason }.into());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = retry::parse_retry_after(header("retry-after"));
    if class == StatusClass::RateLimit {
        let retry_after = retry_after.unwrap_or(retry::DEFAULT_RETRY_AFTER);
        return Err(ApiError::RateLimited { method, url, retry_after }.into());
    }
    Err(MintFailure {
        err: ApiError::Status { status, method, url, body: Box::new(answer_body) },
        retry_after: if (500..600).contains(&status) { retry_after } else { None },
    })
}

/// The error of a token request that ended: already `Auth` when final; a transient failure
/// (the last one, or one the policy would not retry) becomes an `Auth` that names the token
/// endpoint and says what happened, with the causes as text.
fn mint_error(token_url: &Url, body: &Value, err: ApiError) -> ApiError {
    let what = match &err {
        ApiError::Auth { .. } => return err,
        ApiError::Status { status, body, .. } => format!("answered {status}: {body}"),
        ApiError::RateLimited { .. } => "kept answering 429 (rate limited)".to_string(),
        ApiError::Transport { source, .. } => {
            format!("could not be reached: {}", crate::error::chain(source))
        }
        ApiError::AnswerLost { source, .. } => {
            format!(
                "did not answer (timeout or dropped connection): {}",
                crate::error::chain(source)
            )
        }
        other => crate::error::chain(other),
    };
    ApiError::Auth {
        url: redact_url(token_url),
        status: err.status(),
        reason: scrub(body, format!("no token could be minted: the token endpoint {what}")),
    }
}

/// Removes every secret the request carried from a message, should a server ever echo one.
fn scrub(body: &Value, mut text: String) -> String {
    for key in ["client_secret", "refresh_token", "code", "code_verifier"] {
        if let Some(secret) = body.get(key).and_then(Value::as_str).filter(|s| s.len() >= 4) {
            text = text.replace(secret, "[redacted]");
        }
    }
    text
}

impl FailedMint {
    pub(super) fn of(err: &ApiError) -> FailedMint {
        let (exhausted, last) = match err {
            ApiError::RetriesExhausted { retries, elapsed, last } => {
                (Some((*retries, *elapsed)), &**last)
            }
            other => (None, other),
        };
        let reason = match last {
            ApiError::Auth { reason, .. } => reason.clone(),
            other => crate::error::chain(other),
        };
        FailedMint { exhausted, status: last.status(), reason }
    }

    /// The error again, for a worker that waited for this round.
    pub(super) fn error(&self, token_url: &Url) -> ApiError {
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
