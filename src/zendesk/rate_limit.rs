//! Rate limiting shared by every worker of one client: the rate gate ("no request before
//! instant T", closed by a 429 or an exhausted budget), the `max_rpm` pacer, the latest
//! budget read from Zendesk's headers, and the counters of [`ClientStats`].

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// The per-minute request budget Zendesk last reported (zendesk-api.md §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateBudget {
    /// Requests allowed per window (`x-rate-limit`, `ratelimit-limit`, `rate-limit`).
    pub limit: Option<u32>,
    /// Requests left in the window: the smallest of the `*-remaining` headers present.
    pub remaining: Option<u32>,
    /// Time until the window resets (`ratelimit-reset`, `rate-limit-reset`).
    pub reset: Option<Duration>,
}

/// The job budget of `zendesk-ratelimit-inflight-jobs: total=30; remaining=29; resets=60`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobBudget {
    /// Most jobs that may be queued or running at once.
    pub total: u32,
    /// Jobs that can still be queued.
    pub remaining: u32,
    /// Seconds until the limit resets, when given.
    pub resets: Option<Duration>,
}

/// A snapshot of a client's counters, for `summary.json` and progress messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientStats {
    /// HTTP requests sent to the API (every attempt counts; OAuth minting does not).
    pub requests: u64,
    /// Retries after a backoff (5xx, 408, 409, connection errors, lost answers on reads).
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Times an exhausted budget (`remaining: 0`) closed the gate until the reset.
    pub budget_waits: u64,
    /// Wall-clock time the rate gate was closed (429s and exhausted budgets together).
    pub rate_limit_wait: Duration,
    /// OAuth tokens minted.
    pub tokens_minted: u64,
    /// The latest request budget Zendesk reported.
    pub budget: Option<RateBudget>,
    /// The latest job budget Zendesk reported.
    pub inflight_jobs: Option<JobBudget>,
}

/// Reads the request budget from any of the header spellings Zendesk has used.
pub fn read_budget(headers: &HeaderMap) -> Option<RateBudget> {
    let num = |name: &str| -> Option<u32> {
        headers.get(name)?.to_str().ok()?.trim().parse::<u32>().ok()
    };
    let limit =
        num("x-rate-limit").or_else(|| num("ratelimit-limit")).or_else(|| num("rate-limit"));
    let remaining = ["x-rate-limit-remaining", "ratelimit-remaining", "rate-limit-remaining"]
        .iter()
        .filter_map(|n| num(n))
        .min();
    let reset = num("ratelimit-reset").or_else(|| num("rate-limit-reset"));
    if limit.is_none() && remaining.is_none() && reset.is_none() {
        return None;
    }
    Some(RateBudget { limit, remaining, reset: reset.map(|s| Duration::from_secs(s.into())) })
}

/// Reads `zendesk-ratelimit-inflight-jobs` (zendesk-api.md §2).
pub fn read_job_budget(headers: &HeaderMap) -> Option<JobBudget> {
    let value = headers.get("zendesk-ratelimit-inflight-jobs")?.to_str().ok()?;
    let mut total = None;
    let mut remaining = None;
    let mut resets = None;
    for part in value.split(';') {
        let Some((key, val)) = part.split_once('=') else { continue };
        let val = val.trim().parse::<u32>().ok();
        match key.trim() {
            "total" => total = val,
            "remaining" => remaining = val,
            "resets" => resets = val.map(|s| Duration::from_secs(s.into())),
            _ => {}
        }
    }
    Some(JobBudget { total: total?, remaining: remaining?, resets })
}

/// Spaces requests so that at most `max_rpm` start in any minute: one slot every
/// `60 s / max_rpm`, handed out in order (a token bucket of depth one). Pure: tests feed it
/// instants.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer for `max_rpm` requests a minute (`max_rpm` of 0 is treated as 1).
    pub fn new(max_rpm: u32) -> Pacer {
        Pacer { interval: Duration::from_secs(60) / max_rpm.max(1), next: None }
    }

    /// Reserves the next free slot at or after `now` and returns when it starts.
    pub fn reserve(&mut self, now: Instant) -> Instant {
        let slot = match self.next {
            Some(next) if next > now => next,
            _ => now,
        };
        self.next = Some(slot + self.interval);
        slot
    }
}

#[derive(Debug, Default)]
struct State {
    gate: Option<Instant>,
    pacer: Option<Pacer>,
    /// Requests the budget still allows in the current window, counted down as requests go
    /// out (so 30 workers sending at once do not overrun it), and when the window ends.
    left: Option<(u32, Instant)>,
    stats: ClientStats,
}

/// The shared limiter: one per client, behind the client's `Arc`.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    state: Mutex<State>,
}

impl RateLimiter {
    /// A limiter with an optional `max_rpm` cap.
    pub(crate) fn new(max_rpm: Option<u32>) -> RateLimiter {
        RateLimiter {
            state: Mutex::new(State { pacer: max_rpm.map(Pacer::new), ..State::default() }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counters inconsistent in a way
        // that matters, so a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may be sent: the gate is open and a pacing slot is ours.
    pub(crate) async fn acquire(&self) {
        loop {
            let gate = self.lock().gate;
            if let Some(gate) = gate {
                if gate > Instant::now() {
                    tokio::time::sleep_until(gate).await;
                    // The gate may have moved while we slept: look again.
                    continue;
                }
            }
            // The budget the last answers reported, less what was sent since: when none is
            // left, wait for the window to end instead of collecting 429s.
            let wait_for_window = {
                let mut state = self.lock();
                let now = Instant::now();
                match state.left {
                    Some((_, end)) if end <= now => {
                        state.left = None;
                        None
                    }
                    Some((0, end)) => Some(end),
                    Some((n, end)) => {
                        state.left = Some((n - 1, end));
                        None
                    }
                    None => None,
                }
            };
            if let Some(end) = wait_for_window {
                let mut state = self.lock();
                if close_gate(&mut state, end.saturating_duration_since(Instant::now())) {
                    state.stats.budget_waits += 1;
                }
                continue;
            }
            let slot = self.lock().pacer.as_mut().map(|p| p.reserve(Instant::now()));
            if let Some(slot) = slot {
                tokio::time::sleep_until(slot).await;
                // A 429 may have closed the gate while we waited for our slot.
                if self.lock().gate.is_some_and(|g| g > Instant::now()) {
                    continue;
                }
            }
            self.lock().stats.requests += 1;
            return;
        }
    }

    /// Closes the gate for every worker for `wait`, after a 429.
    pub(crate) fn pause_all(&self, wait: Duration) {
        let mut state = self.lock();
        state.stats.rate_limited += 1;
        close_gate(&mut state, wait);
    }

    /// Reads the budget headers of an answer; an exhausted budget closes the gate until the
    /// window resets. `status` 429 is left to [`RateLimiter::pause_all`] (its `Retry-After`
    /// is the better number).
    pub(crate) fn observe(&self, status: u16, headers: &HeaderMap) {
        let budget = read_budget(headers);
        let jobs = read_job_budget(headers);
        let mut state = self.lock();
        if let Some(jobs) = jobs {
            state.stats.inflight_jobs = Some(jobs);
        }
        let Some(budget) = budget else { return };
        state.stats.budget = Some(budget);
        if status == 429 {
            return;
        }
        if let (Some(remaining), Some(reset)) = (budget.remaining, budget.reset) {
            let now = Instant::now();
            let end = now + reset;
            state.left = match state.left {
                // The same window: the smaller count wins (answers arrive out of order, and
                // requests sent since are already counted down).
                Some((left, old_end))
                    if old_end > now && end <= old_end + Duration::from_secs(2) =>
                {
                    Some((left.min(remaining), old_end))
                }
                _ => Some((remaining, end)),
            };
        }
        if let (Some(0), Some(reset)) = (budget.remaining, budget.reset) {
            // Answers in flight all report the empty budget; one wait is counted, and the
            // gate only moves if an answer asks for a later reset.
            let was_open = state.gate.is_none_or(|g| g <= Instant::now());
            if !reset.is_zero() && close_gate(&mut state, reset) && was_open {
                state.stats.budget_waits += 1;
            }
        }
    }

    /// Counts one retry after backoff.
    pub(crate) fn count_retry(&self) {
        self.lock().stats.retries += 1;
    }

    /// Counts one minted OAuth token.
    pub(crate) fn count_mint(&self) {
        self.lock().stats.tokens_minted += 1;
    }

    /// A copy of the counters.
    pub(crate) fn stats(&self) -> ClientStats {
        self.lock().stats.clone()
    }
}

/// Moves the gate to `now + wait` if that is later; adds the extra closed time to the wait
/// total (wall-clock, so 30 workers waiting together count once). True if it moved.
fn close_gate(state: &mut State, wait: Duration) -> bool {
    let now = Instant::now();
    let until = now + wait;
    let from = state.gate.filter(|g| *g > now).unwrap_or(now);
    if until <= from {
        return false;
    }
    state.stats.rate_limit_wait += until - from;
    state.gate = Some(until);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn reads_every_spelling() {
        // 2021 (R3): only the x- pair.
        let b =
            read_budget(&headers(&[("X-Rate-Limit", "700"), ("X-Rate-Limit-Remaining", "668")]));
        assert_eq!(b, Some(RateBudget { limit: Some(700), remaining: Some(668), reset: None }));
        // 2023-09 (R1).
        let b = read_budget(&headers(&[
            ("rate-limit", "700"),
            ("rate-limit-remaining", "665"),
            ("rate-limit-reset", "21"),
        ]));
        assert_eq!(b.unwrap().reset, Some(Duration::from_secs(21)));
        assert_eq!(b.unwrap().limit, Some(700));
        // 2024 and the documented names; the smallest remaining wins.
        let b = read_budget(&headers(&[
            ("x-rate-limit", "700"),
            ("x-rate-limit-remaining", "699"),
            ("ratelimit-limit", "700"),
            ("ratelimit-remaining", "12"),
            ("ratelimit-reset", "41"),
        ]))
        .unwrap();
        assert_eq!((b.remaining, b.reset), (Some(12), Some(Duration::from_secs(41))));
        assert_eq!(read_budget(&headers(&[("content-type", "application/json")])), None);
    }

    #[test]
    fn reads_the_job_budget() {
        let h =
            headers(&[("zendesk-ratelimit-inflight-jobs", "total=30; remaining=29; resets=60")]);
        assert_eq!(
            read_job_budget(&h),
            Some(JobBudget { total: 30, remaining: 29, resets: Some(Duration::from_secs(60)) })
        );
        let h = headers(&[("zendesk-ratelimit-inflight-jobs", "garbage")]);
        assert_eq!(read_job_budget(&h), None);
    }

    #[test]
    fn pacer_never_allows_more_than_max_rpm_in_a_minute() {
        let start = Instant::now();
        let mut pacer = Pacer::new(60);
        let slots: Vec<Instant> = (0..150).map(|_| pacer.reserve(start)).collect();
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(*slot, start + Duration::from_secs(i as u64));
        }
        // Any 60 s window holds at most 60 slots.
        for (i, a) in slots.iter().enumerate() {
            let in_window =
                slots[i..].iter().filter(|s| **s < *a + Duration::from_secs(60)).count();
            assert!(in_window <= 60, "{in_window} slots in the window starting at slot {i}");
        }
        // An idle pacer does not save up a burst.
        let later = start + Duration::from_secs(1000);
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later), later + Duration::from_secs(1));
    }

    #[test]
    fn exhausted_budget_closes_the_gate_once() {
        let limiter = RateLimiter::new(None);
        let h = headers(&[("x-rate-limit-remaining", "0"), ("ratelimit-reset", "5")]);
        limiter.observe(200, &h);
        limiter.observe(200, &h);
        let stats = limiter.stats();
        assert_eq!(stats.budget_waits, 1);
        assert!(stats.rate_limit_wait >= Duration::from_secs(5));
        assert!(stats.rate_limit_wait < Duration::from_secs(6));
        // A 429's own headers do not double the wait.
        limiter
            .observe(429, &headers(&[("x-rate-limit-remaining", "0"), ("ratelimit-reset", "50")]));
        assert_eq!(limiter.stats().budget_waits, 1);
    }

    #[test]
    fn overlapping_429s_count_wall_time_once() {
        let limiter = RateLimiter::new(None);
        limiter.pause_all(Duration::from_secs(10));
        limiter.pause_all(Duration::from_secs(10));
        let stats = limiter.stats();
        assert_eq!(stats.rate_limited, 2);
        assert!(stats.rate_limit_wait < Duration::from_secs(11), "{:?}", stats.rate_limit_wait);
    }

    #[tokio::test]
    async fn requests_in_flight_count_against_the_reported_budget() {
        let limiter = RateLimiter::new(None);
        limiter
            .observe(200, &headers(&[("x-rate-limit-remaining", "2"), ("ratelimit-reset", "30")]));
        // Two requests may go; the third waits for the window instead of drawing a 429.
        limiter.acquire().await;
        limiter.acquire().await;
        let third = tokio::time::timeout(Duration::from_millis(100), limiter.acquire()).await;
        assert!(third.is_err(), "the third request waited");
        assert_eq!(limiter.stats().budget_waits, 1);
        // A new window (a later reset, more left) lets requests go again.
        let fresh = RateLimiter::new(None);
        fresh.observe(200, &headers(&[("x-rate-limit-remaining", "0"), ("ratelimit-reset", "1")]));
        fresh.observe(
            200,
            &headers(&[("x-rate-limit-remaining", "699"), ("ratelimit-reset", "60")]),
        );
        assert_eq!(fresh.lock().left.map(|(n, _)| n), Some(699));
    }
}
