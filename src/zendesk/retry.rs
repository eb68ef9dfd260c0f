//! When a failed request is tried again, and after how long: [`RetryPolicy`].

use std::time::Duration;

use rand::Rng;

use super::error::ApiError;

/// Whether repeating a request can do harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// GET: repeating it changes nothing.
    Read,
    /// POST/PUT/DELETE: repeating it may create, change or delete twice.
    Write,
}

impl RequestKind {
    /// The kind of a request with this method.
    pub fn of(method: &reqwest::Method) -> RequestKind {
        if *method == reqwest::Method::GET || *method == reqwest::Method::HEAD {
            RequestKind::Read
        } else {
            RequestKind::Write
        }
    }
}

/// What to do with a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// Give up: the answer is final (4xx other than those below).
    Fail,
    /// Retry after a jittered exponential backoff.
    Backoff,
    /// Wait `Retry-After` with every worker, then retry (429).
    RateLimit,
}

/// What the client does after one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Return the error to the caller.
    GiveUp,
    /// Sleep this long (this request only), then try again.
    Backoff(Duration),
    /// Close the shared rate gate for this long (all workers), then try again.
    RateLimited(Duration),
}

/// The retry rule of the Zendesk client.
///
/// **Reads** (GET, idempotent): retried after a jittered exponential backoff on 5xx, 408 and
/// 409, on connection errors and on lost answers (timeouts, dropped connections), up to
/// `max_retries` times.
///
/// **Writes** (POST/PUT/DELETE, which queue bulk jobs): retried only when the request
/// certainly did not reach Zendesk (a connection error before sending) or was answered with
/// a status that says nothing was done: 5xx, 408, 409 and 429. A *lost answer* on a write is
/// never retried: the job may have been queued, so the client returns
/// [`ApiError::AnswerLost`] and the caller looks the rows up before re-sending them.
///
/// **429** (both kinds): wait `Retry-After` seconds (10 s when absent, as Zendesk's Ruby
/// client does; zendesk-api.md §3), and the wait pauses *every* worker of the client (the
/// shared rate gate), then retry; at most `max_rate_limit_waits` times for one request.
///
/// **TooManyJobs** (429 or 400 with `error: TooManyJobs`) is never retried here: it is
/// returned as [`ApiError::TooManyJobs`] so the pipeline can shrink its window of jobs.
///
/// Every other status (400, 401, 403, 404, 422, …) is final. A 401 `invalid_token` is
/// handled before this policy, by minting a new OAuth token once.
///
/// **The OAuth token endpoint** follows this policy too, as a read (a client-credentials
/// token minted twice does no harm), with the same limits; OAuth errors that say the
/// credentials are wrong (`invalid_client`, `invalid_grant`, …) are final whatever their
/// status (`auth.rs`).
///
/// Backoff: `base_delay × 2^attempt`, capped at `max_delay`, with "equal jitter" (a uniform
/// draw in the upper half) so that 30 workers failing together do not retry together. A zero
/// `base_delay` (tests) means no delay at all.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after backoff for one request (429 waits are counted separately).
    pub max_retries: u32,
    /// First backoff delay; zero in tests.
    pub base_delay: Duration,
    /// Longest single backoff.
    pub max_delay: Duration,
    /// 429 waits for one request before giving up.
    pub max_rate_limit_waits: u32,
}

/// Wait on a 429 without `Retry-After` (zendesk-api.md §3: the Ruby client's default).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_rate_limit_waits: 20,
        }
    }
}

/// Classifies a status code for a request of this kind (see [`RetryPolicy`]). Reads and
/// writes agree on every status today (they differ on lost answers, in
/// [`RetryPolicy::decide`]); the kind is a parameter so that a difference stays one line.
pub fn classify_status(_kind: RequestKind, status: u16) -> StatusClass {
    match status {
        429 => StatusClass::RateLimit,
        // 408: the server gave up waiting for the request, so it did not act on it.
        // 409: "concurrent writes to the same resource; retry" (zendesk-api.md §7).
        408 | 409 => StatusClass::Backoff,
        // A 5xx answer is read as "not done": Zendesk documents 5xx as temporary and 503 as
        // a DB timeout or deadlock (zendesk-api.md §7), so a write is retried too.
        // UNVERIFIED: a 502/504 from a proxy in front of Zendesk could hide a write that was
        // done; the safe reading chosen follows the documented "treat any 5xx as temporary",
        // and the pipeline's reconciliation catches duplicates (unique names/external_ids).
        500..=599 => StatusClass::Backoff,
        _ => StatusClass::Fail,
    }
}

impl RetryPolicy {
    /// The backoff before retry number `attempt + 1` (attempt counts from 0).
    pub fn backoff(&self, attempt: u32) -> Duration {
        if self.base_delay.is_zero() {
            return Duration::ZERO;
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// Decides what follows `err` for a request of `kind` that has already been retried
    /// `retries` times after backoff (429 waits are counted by the caller).
    pub fn decide(&self, kind: RequestKind, err: &ApiError, retries: u32) -> Decision {
        match err {
            ApiError::RateLimited { retry_after, .. } => Decision::RateLimited(*retry_after),
            ApiError::Status { status, .. } => match classify_status(kind, *status) {
                StatusClass::Backoff => Decision::Backoff(self.backoff(retries)),
                StatusClass::RateLimit => Decision::RateLimited(DEFAULT_RETRY_AFTER),
                StatusClass::Fail => Decision::GiveUp,
            },
            // Certainly not sent: safe to repeat whatever the method.
            ApiError::Transport { .. } => Decision::Backoff(self.backoff(retries)),
            ApiError::AnswerLost { .. } => match kind {
                RequestKind::Read => Decision::Backoff(self.backoff(retries)),
                // The write may have been done: never repeat it blindly.
                RequestKind::Write => Decision::GiveUp,
            },
            _ => Decision::GiveUp,
        }
    }
}

/// Parses `Retry-After`: seconds (integer or decimal) or an HTTP date. `None` when absent or
/// unreadable, so the caller falls back to [`DEFAULT_RETRY_AFTER`].
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let value = value?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(3600.0)));
        }
        return None;
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_list(kind: RequestKind, class: StatusClass) -> Vec<u16> {
        (400..=599).filter(|s| classify_status(kind, *s) == class).collect()
    }

    /// The retry table, written down: every status 400..=599 and what it gets.
    #[test]
    fn retried_status_codes() {
        let five_xx: Vec<u16> = (500..=599).collect();
        for kind in [RequestKind::Read, RequestKind::Write] {
            assert_eq!(class_list(kind, StatusClass::RateLimit), vec![429], "{kind:?}");
            let mut backoff = vec![408, 409];
            backoff.extend(&five_xx);
            assert_eq!(class_list(kind, StatusClass::Backoff), backoff, "{kind:?}");
            let fail: Vec<u16> = (400..=499).filter(|s| ![408, 409, 429].contains(s)).collect();
            assert_eq!(class_list(kind, StatusClass::Fail), fail, "{kind:?}");
        }
        // The statuses that matter most, spelled out.
        for s in [400, 401, 403, 404, 413, 422] {
            assert_eq!(classify_status(RequestKind::Write, s), StatusClass::Fail, "{s}");
        }
    }

    #[test]
    fn zero_base_delay_means_no_wait() {
        let p = RetryPolicy { base_delay: Duration::ZERO, ..RetryPolicy::default() };
        assert_eq!(p.backoff(0), Duration::ZERO);
        assert_eq!(p.backoff(10), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let d0 = p.backoff(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100), "{d0:?}");
            let d3 = p.backoff(3);
            assert!(d3 >= Duration::from_millis(400) && d3 <= Duration::from_millis(800), "{d3:?}");
            let d9 = p.backoff(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_secs(1), "{d9:?}");
        }
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after(Some("27")), Some(Duration::from_secs(27)));
        assert_eq!(parse_retry_after(Some(" 0.25 ")), Some(Duration::from_millis(250)));
        assert_eq!(parse_retry_after(None), None);
        assert_eq!(parse_retry_after(Some("soon")), None);
        assert_eq!(parse_retry_after(Some("-3")), None);
        // An HTTP date in the past means "now".
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
    }
}
