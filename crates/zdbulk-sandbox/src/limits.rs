//! The per-minute request budget: a fixed one-minute window (as recorded: `ratelimit-reset`
//! counts down and `remaining` refills all at once), with Zendesk's headers on every answer.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::Sandbox;

/// A sandbox minute, in sandbox milliseconds.
const WINDOW_MS: u64 = 60_000;

/// Requests counted in the current window.
#[derive(Debug, Default)]
pub struct RateWindow {
    window: u64,
    used: u32,
}

/// The budget as one answer reports it.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Requests a minute.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Real seconds until the window resets.
    pub reset_secs: u64,
    /// Whether this request was over the budget.
    pub exceeded: bool,
}

/// Counts one request against the budget.
pub fn take(sandbox: &Sandbox, window: &mut RateWindow) -> Budget {
    let now = sandbox.now_ms();
    let index = now / WINDOW_MS;
    if index != window.window {
        window.window = index;
        window.used = 0;
    }
    let limit = sandbox.config.rate_limit;
    let exceeded = window.used >= limit;
    if !exceeded {
        window.used += 1;
    }
    let reset_ms = (index + 1) * WINDOW_MS - now;
    Budget {
        limit,
        remaining: limit - window.used,
        reset_secs: sandbox.real_secs(reset_ms),
        exceeded,
    }
}

/// Adds `x-rate-limit`, `x-rate-limit-remaining`, `ratelimit-limit`, `ratelimit-remaining` and
/// `ratelimit-reset` to an answer.
pub fn add_headers(headers: &mut HeaderMap, budget: &Budget) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("x-rate-limit", budget.limit.to_string());
    put("x-rate-limit-remaining", budget.remaining.to_string());
    put("ratelimit-limit", budget.limit.to_string());
    put("ratelimit-remaining", budget.remaining.to_string());
    put("ratelimit-reset", budget.reset_secs.to_string());
}

/// The account-level 429: plain text, as Zendesk sends it, with `Retry-After` in real seconds.
pub fn too_many_requests(budget: &Budget) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [("content-type", "text/plain; charset=UTF-8")],
        "Number of allowed API requests per minute exceeded",
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&budget.reset_secs.to_string()) {
        response.headers_mut().insert("retry-after", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;

    #[test]
    fn budget_runs_out_then_refuses() {
        let sb = Sandbox::new(SandboxConfig { rate_limit: 3, ..Default::default() });
        let mut w = RateWindow::default();
        let seen: Vec<(u32, bool)> =
            (0..4).map(|_| take(&sb, &mut w)).map(|b| (b.remaining, b.exceeded)).collect();
        assert_eq!(seen, vec![(2, false), (1, false), (0, false), (0, true)]);
        let b = take(&sb, &mut w);
        assert!(b.reset_secs >= 1 && b.reset_secs <= 60, "reset {}", b.reset_secs);
    }

    #[test]
    fn time_scale_shortens_the_reset_in_real_seconds() {
        let sb = Sandbox::new(SandboxConfig { time_scale: 60.0, ..Default::default() });
        let mut w = RateWindow::default();
        assert_eq!(take(&sb, &mut w).reset_secs, 1);
    }
}
