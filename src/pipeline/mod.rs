//! The import pipeline (`design.md` §3): read → map → validate → plan → batch → submit →
//! poll → reconcile → report.
//!
//! - [`plan`]: existing records looked up; create, update or nothing per row.
//! - [`engine`]: the job window, polling, recovery of lost answers.
//! - [`job_time`]: how long jobs take, learned from polls, so one poll settles a group.
//! - [`api`]: the narrow trait the pipeline needs from Zendesk.
//! - [`reporter`]: progress hooks.
//! - [`batch`]: planned rows and batches of at most 100.
//! - [`journal`]: the fsynced log of batches, jobs and results.
//! - [`memory`]: what a journal says each row came to (`resume`, `undo`).
//! - [`pending`]: rows a stopped run left in doubt, settled before `resume` sends anything.
//! - [`reconcile`]: job results matched to rows by position.
//! - `recovery`: rows of failed jobs and lost answers looked up before they are sent again.
//! - [`diff`]: whether an existing record already has a row's values.
//! - [`refs`]: references to other records (a user's organizations) resolved to ids.
//! - [`links`]: memberships made once a user exists, held rows, the second job stream.

pub mod api;
pub mod batch;
pub mod diff;
pub mod engine;
pub mod job_time;
pub mod journal;
pub mod links;
pub mod memory;
pub mod pending;
pub mod plan;
pub mod reconcile;
mod recovery;
pub mod refs;
pub mod reporter;

#[cfg(test)]
mod tests;
