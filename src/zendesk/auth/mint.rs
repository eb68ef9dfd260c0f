//! Minting an OAuth token, retried like any other request: transient faults at the token
//! endpoint back off within the [`RetryPolicy`], answers that say the credentials are wrong
//! are final at once, and a failed round is shared by the workers that waited for it.

use std::time::Duration;

use serde::Deserialize;
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

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Authenticator {
    /// Mints a token with the retries of `ctx.policy`, as a read: repeating a
    /// client-credentials request does no harm (a token whose answer was lost is never used
    /// and expires), so 5xx, 408, 409, timeouts and dropped connections are retried with the
    /// policy's backoff and limit, and a 429 closes the client's rate gate for `Retry-After`
    /// as on `/api/v2`. Every error returned is an [`ApiError::Auth`] naming the token
    /// endpoint, wrapped in [`ApiError::RetriesExhausted`] when the retries ran out; never an
    /// `AnswerLost`, which the pipeline would read as "the write may have been done".
    pub(super) async fn mint(&self, ctx: MintContext<'_>) -> Result<CachedToken, ApiError> {
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
    pub(super) fn of(err: &ApiError) -> FailedMint {
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
