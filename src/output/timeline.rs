//! The run over time, for `report.html`'s chart: rows settled and waits for the account's
//! limits, sampled once a second while the run goes on. A reporter that counts, beside the
//! progress display it forwards to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::output::RowStatus;
use crate::pipeline::reporter::Reporter;

/// One sample: seconds since the start, rows settled so far, waits so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the run started.
    pub secs: f64,
    /// Rows settled so far.
    pub rows: u64,
    /// Waits for the account's limits so far (429s, `TooManyJobs`).
    pub waits: u64,
}

/// Counts what the pipeline reports and forwards it to `inner`.
pub struct Timeline<'r> {
    inner: &'r dyn Reporter,
    settled: AtomicU64,
    job_waits: AtomicU64,
    samples: Mutex<Vec<Sample>>,
}

impl<'r> Timeline<'r> {
    /// A timeline forwarding to `inner` (the progress display).
    pub fn new(inner: &'r dyn Reporter) -> Timeline<'r> {
        Timeline {
            inner,
            settled: AtomicU64::new(0),
            job_waits: AtomicU64::new(0),
            samples: Mutex::new(vec![Sample { secs: 0.0, rows: 0, waits: 0 }]),
        }
    }

    /// Records a sample now: `secs` into the run, `rate_limited` 429 waits so far.
    pub fn sample(&self, secs: f64, rate_limited: u64) {
        let s = Sample {
            secs,
            rows: self.settled.load(Ordering::Relaxed),
            waits: rate_limited + self.job_waits.load(Ordering::Relaxed),
        };
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).push(s);
    }

    /// Every sample so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Reporter for Timeline<'_> {
    fn on_rows_read(&self, n: usize) {
        self.inner.on_rows_read(n)
    }
    fn on_row_settled(&self, status: RowStatus) {
        self.settled.fetch_add(1, Ordering::Relaxed);
        self.inner.on_row_settled(status)
    }
    fn on_jobs_in_flight(&self, n: usize) {
        self.inner.on_jobs_in_flight(n)
    }
    fn on_wait(&self, reason: &str) {
        if reason.contains("job limit") {
            self.job_waits.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.on_wait(reason)
    }
}

/// The width of the chart's bars: 10 seconds for a run under 10 minutes, a minute under 3
/// hours, 5 minutes beyond.
pub fn bucket_secs(samples: &[Sample]) -> u64 {
    match samples.last().map_or(0.0, |s| s.secs) {
        t if t < 600.0 => 10,
        t if t < 3.0 * 3600.0 => 60,
        _ => 300,
    }
}

/// Rows settled in each `bucket` seconds of the run (the last may be partial), and whether
/// the run waited for the account's limits in it.
pub fn per_bucket(samples: &[Sample], bucket: u64) -> Vec<(u64, bool)> {
    let Some(last) = samples.last() else { return vec![] };
    let width = bucket.max(1) as f64;
    let buckets = (last.secs / width).floor() as usize + 1;
    let mut out = vec![(0u64, false); buckets];
    for pair in samples.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let m = ((b.secs / width).floor() as usize).min(buckets - 1);
        out[m].0 += b.rows.saturating_sub(a.rows);
        out[m].1 |= b.waits > a.waits;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_per_minute_with_the_minutes_that_waited() {
        let s = |secs, rows, waits| Sample { secs, rows, waits };
        let samples = [s(0.0, 0, 0), s(30.0, 100, 0), s(61.0, 250, 1), s(125.0, 300, 1)];
        assert_eq!(per_bucket(&samples, 60), vec![(100, false), (150, true), (50, false)]);
        assert_eq!(bucket_secs(&samples), 10);
        assert_eq!(per_bucket(&samples, 10).len(), 13);
    }
}
