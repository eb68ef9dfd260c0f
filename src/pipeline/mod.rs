//! The import pipeline (`design.md` §3): read → map → validate → plan → batch → submit →
//! poll → reconcile → report.
//!
//! - [`journal`]: the fsynced log of batches, jobs and results.
//! - [`diff`]: whether an existing record already has a row's values.

pub mod diff;
pub mod journal;
