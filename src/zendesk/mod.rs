//! The Zendesk Support API client the pipeline uses: one [`Client`] (cheap to clone, one
//! `reqwest::Client` inside) with retries, a shared rate gate and pacer, and OAuth.
//!
//! Module map:
//! - [`auth`]: [`Credentials`] and the `Authorization` header (Basic, Bearer, client credentials).
//! - [`error`]: [`ApiError`] and Zendesk's error bodies.
//! - [`retry`]: [`RetryPolicy`], what is retried and after how long.
//! - [`rate_limit`]: budget headers, the rate gate, the `max_rpm` pacer, [`ClientStats`].
//! - [`models`]: serde types and id newtypes.
//! - [`resources`]: one handler per resource (`client.organizations().show_many(..)`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), zdbulk::zendesk::ApiError> {
//! use zdbulk::zendesk::{Client, ClientSettings, Credentials};
//! let settings = ClientSettings::new(
//!     url::Url::parse("https://acme.zendesk.com").unwrap(),
//!     Credentials::Bearer("token".into()),
//! );
//! let client = Client::new(settings)?;
//! let orgs = client.organizations().list_all().await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod error;
pub mod models;
pub mod rate_limit;
pub mod resources;
pub mod retry;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, AUTHORIZATION};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;
use url::Url;

pub use auth::Credentials;
pub use error::{ApiError, ZendeskErrorBody};
pub use rate_limit::ClientStats;
pub use retry::RetryPolicy;

use auth::{Authenticator, MintContext};
use rate_limit::RateLimiter;
use retry::{Decision, RequestKind};

/// Everything a [`Client`] is built from (resolved by the settings layer).
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The account root, e.g. `https://acme.zendesk.com` or `http://127.0.0.1:8080`.
    pub base_url: Url,
    /// How to authenticate.
    pub credentials: Credentials,
    /// Retries after backoff for one request.
    pub max_retries: u32,
    /// First backoff delay; zero in tests.
    pub retry_base_delay: Duration,
    /// Timeout of one attempt (connect, send, answer).
    pub timeout: Duration,
    /// Cap on requests a minute (`--max-rpm`), so live integrations keep their share.
    pub max_rpm: Option<u32>,
}

impl ClientSettings {
    /// Settings with the defaults: 5 retries from 500 ms, 60 s timeout, no rpm cap.
    pub fn new(base_url: Url, credentials: Credentials) -> ClientSettings {
        ClientSettings {
            base_url,
            credentials,
            max_retries: 5,
            retry_base_delay: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
            max_rpm: None,
        }
    }
}

/// The Zendesk API client. Clones share the connection pool, the token, the rate gate and
/// the counters.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Authenticator,
    policy: RetryPolicy,
    limiter: RateLimiter,
    max_rpm: Option<u32>,
}

/// A successful answer's body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// A failed attempt: the error, plus what the answer said about retrying it.
struct Failure {
    err: ApiError,
    /// `Retry-After` of a 503 (a DB timeout or deadlock, zendesk-api.md §7).
    retry_after: Option<Duration>,
    /// A 401 whose body or `WWW-Authenticate` says `invalid_token` (oauth.md §6).
    invalid_token: bool,
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure { err, retry_after: None, invalid_token: false }
    }
}

/// Returns the URL as text with any user-info removed, for messages and logs.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        // Both setters only fail for URLs that cannot have user-info, which then has none.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

/// Whether `url` names a loopback host (127.0.0.0/8, ::1, localhost).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

impl Client {
    /// Builds a client. Refuses plain http to anything but a loopback address, because the
    /// credentials would cross the network in clear text.
    pub fn new(settings: ClientSettings) -> Result<Client, ApiError> {
        let mut base = settings.base_url;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => return Err(ApiError::InsecureUrl { url: redact_url(&base) }),
            other => {
                return Err(ApiError::BadUrl {
                    url: redact_url(&base),
                    reason: format!("scheme {other} is not http or https"),
                })
            }
        }
        if base.host().is_none() {
            return Err(ApiError::BadUrl { url: redact_url(&base), reason: "no host".into() });
        }
        // Credentials belong in the header only; user-info in the URL is dropped.
        base = Url::parse(&redact_url(&base))
            .map_err(|e| ApiError::BadUrl { url: redact_url(&base), reason: e.to_string() })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(concat!("zdbulk/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the Authorization header elsewhere; Zendesk does not
            // redirect API calls, so none are followed.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::BadUrl {
                url: redact_url(&base),
                reason: format!("http client: {e}"),
            })?;
        let auth = Authenticator::new(settings.credentials, &base)?;
        let policy = RetryPolicy {
            max_retries: settings.max_retries,
            base_delay: settings.retry_base_delay,
            ..RetryPolicy::default()
        };
        let limiter = RateLimiter::new(settings.max_rpm);
        let max_rpm = settings.max_rpm;
        Ok(Client { inner: Arc::new(Inner { http, base, auth, policy, limiter, max_rpm }) })
    }

    /// The `--max-rpm` cap, if one was set.
    pub fn max_rpm(&self) -> Option<u32> {
        self.inner.max_rpm
    }

    /// The account root the client talks to (always ends with `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A snapshot of the counters (requests, retries, 429 waits, budgets).
    pub fn stats(&self) -> ClientStats {
        self.inner.limiter.stats()
    }

    /// `/api/v2/{path}` as a URL with the query appended.
    fn api_url(&self, path: &str, query: &[(&str, String)]) -> Result<Url, ApiError> {
        let mut url = self.inner.base.join("api/v2/").and_then(|u| u.join(path)).map_err(|e| {
            ApiError::BadUrl {
                url: format!("{}api/v2/{path}", self.inner.base),
                reason: e.to_string(),
            }
        })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Posts `body` to the account's OAuth token endpoint (`/oauth/tokens`), with the
    /// client's retries, as a write (an authorization code or refresh token is spent by the
    /// first answer, lost or not). The client's own credentials are not sent.
    pub(crate) async fn token_grant(
        &self,
        body: &serde_json::Value,
    ) -> Result<auth::TokenAnswer, ApiError> {
        let inner = &self.inner;
        let token_url = inner.base.join("oauth/tokens").map_err(|e| ApiError::BadUrl {
            url: redact_url(&inner.base),
            reason: e.to_string(),
        })?;
        let ctx = MintContext { http: &inner.http, policy: &inner.policy, limiter: &inner.limiter };
        inner.limiter.acquire().await;
        auth::post_token(ctx, &token_url, retry::RequestKind::Write, body).await
    }

    /// DELETEs `/api/v2/{path}` and returns the status, ignoring the body (a 204 has none).
    pub async fn delete(&self, path: &str) -> Result<u16, ApiError> {
        let url = self.api_url(path, &[])?;
        self.execute(Method::DELETE, &url, None).await.map(|a| a.status)
    }

    /// GETs `/api/v2/{path}` and decodes the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        self.send_json::<T, ()>(Method::GET, path, query, None).await
    }

    /// Sends a request to `/api/v2/{path}` with an optional JSON body and decodes the JSON
    /// answer, with the retries of [`RetryPolicy`].
    pub async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        self.send_json_status(method, path, query, body).await.map(|(_, t)| t)
    }

    /// As [`Client::send_json`], with the answer's status code (`create_or_update` says 201
    /// for a record it created and 200 for one it updated).
    pub async fn send_json_status<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<(u16, T), ApiError> {
        let url = self.api_url(path, query)?;
        // Serializing can only fail for maps with non-string keys, a caller bug; it is
        // reported as a decode error on this URL rather than a panic.
        let body = match body {
            Some(b) => Some(
                serde_json::to_vec(b)
                    .map_err(|e| ApiError::Decode { url: redact_url(&url), source: e })?,
            ),
            None => None,
        };
        let answer = self.execute(method, &url, body).await?;
        serde_json::from_slice(&answer.body)
            .map(|t| (answer.status, t))
            .map_err(|e| ApiError::Decode { url: redact_url(&url), source: e })
    }

    /// The retry loop around [`Client::attempt`].
    async fn execute(
        &self,
        method: Method,
        url: &Url,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, ApiError> {
        let inner = &self.inner;
        let kind = RequestKind::of(&method);
        let started = Instant::now();
        let mut retries = 0u32;
        let mut rate_waits = 0u32;
        let mut renewed = false;
        // Minting a token retries on its own, with the same policy; its error is final here.
        let mint =
            MintContext { http: &inner.http, policy: &inner.policy, limiter: &inner.limiter };
        loop {
            inner.limiter.acquire().await;
            let (used, minted) = inner.auth.current(mint).await?;
            if minted {
                inner.limiter.count_mint();
            }
            let failure = match self.attempt(&method, url, body.as_deref(), &used.header).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            let err = failure.err;
            // A rejected OAuth token: mint a new one (once per request) and go again. The
            // rejected attempt did nothing, so this is safe for writes too.
            if failure.invalid_token && inner.auth.can_renew() && !renewed {
                renewed = true;
                let (_, minted) = inner.auth.renew_after_rejection(mint, &used).await?;
                if minted {
                    inner.limiter.count_mint();
                }
                continue;
            }
            match inner.policy.decide(kind, &err, retries) {
                Decision::GiveUp => return Err(err),
                Decision::RateLimited(wait) => {
                    rate_waits += 1;
                    if rate_waits > inner.policy.max_rate_limit_waits {
                        return Err(exhausted(retries + rate_waits - 1, started, err));
                    }
                    // Every worker waits: the next acquire() sleeps until the gate opens.
                    inner.limiter.pause_all(wait);
                }
                Decision::Backoff(delay) => {
                    if retries >= inner.policy.max_retries {
                        return Err(exhausted(retries + rate_waits, started, err));
                    }
                    retries += 1;
                    inner.limiter.count_retry();
                    // 503 with Retry-After: wait at least what Zendesk asked (this request
                    // only: it is not a rate limit).
                    let delay = failure.retry_after.map_or(delay, |asked| delay.max(asked));
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One attempt: send, read the whole answer, map a non-2xx status to its error.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        auth: &reqwest::header::HeaderValue,
    ) -> Result<Answer, Failure> {
        let shown = redact_url(url);
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, auth.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(body) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let resp = req.send().await.map_err(|e| -> Failure {
            // Only a failed connect proves the request never left; anything else (timeout,
            // reset, closed connection) may have reached Zendesk.
            if e.is_connect() {
                ApiError::Transport { method: method.to_string(), url: shown.clone(), source: e }
            } else {
                ApiError::AnswerLost { method: method.to_string(), url: shown.clone(), source: e }
            }
            .into()
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        self.inner.limiter.observe(status, &headers);
        let bytes = resp.bytes().await.map_err(|e| -> Failure {
            ApiError::AnswerLost { method: method.to_string(), url: shown.clone(), source: e }
                .into()
        })?;
        if (200..300).contains(&status) {
            return Ok(Answer { status, body: bytes.to_vec() });
        }
        Err(status_failure(method, shown, status, &headers, &bytes))
    }
}

/// Maps a non-2xx answer to its [`Failure`].
fn status_failure(
    method: &Method,
    url: String,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Failure {
    let body = ZendeskErrorBody::parse(bytes);
    let method = method.to_string();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = retry::parse_retry_after(header("retry-after"));
    // TooManyJobs first, whatever the status (429 or 400; UNVERIFIED which): it must not be
    // retried blindly like an ordinary 429.
    if body.is_too_many_jobs() {
        return ApiError::TooManyJobs {
            status,
            method,
            url,
            current_job_ids: body.current_job_ids.clone(),
            description: body.description.clone().unwrap_or_default(),
        }
        .into();
    }
    match status {
        429 => ApiError::RateLimited {
            method,
            url,
            retry_after: retry_after.unwrap_or(retry::DEFAULT_RETRY_AFTER),
        }
        .into(),
        401 => {
            let invalid_token = body.is_invalid_token()
                || header("www-authenticate").is_some_and(|v| v.contains("invalid_token"));
            let err = ApiError::Auth { url, status: Some(401), reason: body.to_string() };
            Failure { err, retry_after: None, invalid_token }
        }
        _ => Failure {
            err: ApiError::Status { status, method, url, body: Box::new(body) },
            retry_after: if (500..600).contains(&status) { retry_after } else { None },
            invalid_token: false,
        },
    }
}

fn exhausted(retries: u32, started: Instant, last: ApiError) -> ApiError {
    ApiError::RetriesExhausted { retries, elapsed: started.elapsed(), last: Box::new(last) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> ClientSettings {
        ClientSettings::new(Url::parse(url).unwrap(), Credentials::Bearer("t".into()))
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://acme.zendesk.com",
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://[::1]:9000",
            "http://localhost:3000",
        ] {
            assert!(Client::new(settings(ok)).is_ok(), "{ok}");
        }
        for bad in ["http://acme.zendesk.com", "http://10.0.0.1", "http://[::2]"] {
            let err = Client::new(settings(bad)).unwrap_err();
            assert!(matches!(err, ApiError::InsecureUrl { .. }), "{bad}: {err}");
        }
        assert!(matches!(
            Client::new(settings("ftp://acme.zendesk.com")).unwrap_err(),
            ApiError::BadUrl { .. }
        ));
    }

    #[test]
    fn urls_are_shown_without_user_info() {
        let url = Url::parse("https://me:secret@acme.zendesk.com/api/v2/x.json").unwrap();
        assert_eq!(redact_url(&url), "https://acme.zendesk.com/api/v2/x.json");
        let client = Client::new(settings("https://me:secret@acme.zendesk.com/sub")).unwrap();
        assert_eq!(client.base_url().as_str(), "https://acme.zendesk.com/sub/");
        let api = client.api_url("organizations.json", &[("page[size]", "100".into())]).unwrap();
        assert_eq!(
            api.as_str(),
            "https://acme.zendesk.com/sub/api/v2/organizations.json?page%5Bsize%5D=100"
        );
    }
}
