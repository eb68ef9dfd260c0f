//! Progress hooks the pipeline calls; `progress.rs` draws them, tests ignore them. Nothing
//! in the pipeline knows about terminals.

use crate::output::RowStatus;

/// Receives progress events. Every method has a do-nothing default.
pub trait Reporter: Send + Sync {
    /// `n` more rows were read and validated.
    fn on_rows_read(&self, _n: usize) {}
    /// A row reached its final status.
    fn on_row_settled(&self, _status: RowStatus) {}
    /// The number of jobs in flight changed.
    fn on_jobs_in_flight(&self, _n: usize) {}
    /// The run is waiting (`TooManyJobs`, a lost answer being checked).
    fn on_wait(&self, _reason: &str) {}
}

/// A reporter that shows nothing (off a terminal, `--quiet`, tests).
pub struct Silent;

impl Reporter for Silent {}
