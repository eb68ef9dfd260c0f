//! The only user of indicatif: a progress display for imports and exports on a terminal. Off a terminal
//! and under `--quiet` nothing is drawn (`Progress::hidden`).

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::RowStatus;
use crate::pipeline::reporter::Reporter;

/// A progress display: rows done of the total, jobs in flight, waits.
pub struct Progress {
    rows: ProgressBar,
    status: ProgressBar,
    failed: AtomicU64,
    jobs: AtomicU64,
}

impl Progress {
    /// Draws on stderr when it is a terminal and `quiet` is false; otherwise draws nothing.
    pub fn new(total_rows: u64, quiet: bool) -> Progress {
        let target = if !quiet && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let rows = multi.add(ProgressBar::new(total_rows));
        let style = ProgressStyle::with_template(
            "{bar:40.cyan/blue} {pos}/{len} rows  {per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        rows.set_style(style);
        let status = multi.add(ProgressBar::new_spinner());
        status.enable_steady_tick(Duration::from_millis(250));
        Progress { rows, status, failed: AtomicU64::new(0), jobs: AtomicU64::new(0) }
    }

    /// A display that draws nothing.
    pub fn hidden() -> Progress {
        Progress::new(0, true)
    }

    fn refresh(&self, wait: Option<&str>) {
        let jobs = self.jobs.load(Ordering::Relaxed);
        let failed = self.failed.load(Ordering::Relaxed);
        let mut msg = format!("{jobs} jobs in flight, {failed} rows failed or invalid");
        if let Some(w) = wait {
            msg.push_str(" — ");
            msg.push_str(w);
        }
        self.status.set_message(msg);
    }

    /// Counts `n` more rows (records) done, for commands that are not a pipeline (export).
    pub fn advance(&self, n: u64) {
        self.rows.inc(n);
    }

    /// Shows what is being done now (empty: nothing).
    pub fn note(&self, message: &str) {
        self.status.set_message(message.to_string());
    }

    /// Clears the display.
    pub fn finish(&self) {
        self.rows.finish_and_clear();
        self.status.finish_and_clear();
    }
}

impl Reporter for Progress {
    fn on_row_settled(&self, status: RowStatus) {
        self.rows.inc(1);
        if status.is_failure() {
            self.failed.fetch_add(1, Ordering::Relaxed);
            self.refresh(None);
        }
    }

    fn on_jobs_in_flight(&self, n: usize) {
        self.jobs.store(n as u64, Ordering::Relaxed);
        self.refresh(None);
    }

    fn on_wait(&self, reason: &str) {
        self.refresh(Some(reason));
    }
}
