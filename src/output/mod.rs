//! What a run leaves behind (`design.md` §2, run directory): the per-row report, the failed
//! rows ready to import again, and the summary.
//!
//! - [`RowOutcome`], [`Action`], [`RowStatus`]: what happened to one input row.
//! - [`report`][]: `report.csv`, every row exactly once, in input order, with bounded memory.
//! - [`failed_rows`][]: `failed.csv` / `failed.xlsx`, original columns plus `zdbulk_error`.
//! - [`changes`][]: `changes.csv`, every value a run changes, old and new.
//! - [`summary`][]: `summary.json`.
//! - [`html`][]: `report.html`, the page a migration lead forwards.
//! - [`timeline`][]: rows settled over time, for its chart.
//! - [`guard`][]: the formula-injection guard of every CSV written and read.
//! - [`private`][]: run directories 0700 and their files 0600.

pub mod changes;
pub mod dialect;
pub mod failed_rows;
pub mod guard;
pub mod html;
pub mod private;
pub mod report;
pub mod summary;
pub mod timeline;

use serde::Serialize;

/// What was (or, in a dry run, would be) sent for a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A create.
    Create,
    /// An update.
    Update,
    /// A delete.
    Delete,
    /// Nothing.
    None,
}

impl Action {
    /// The word in `report.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::None => "none",
        }
    }
}

/// What became of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// Zendesk created the record.
    Created,
    /// Zendesk updated the record.
    Updated,
    /// The record already had these values; nothing was sent.
    Unchanged,
    /// Zendesk deleted the record.
    Deleted,
    /// Zendesk refused the row, or its job failed.
    Failed,
    /// The row did not pass validation; nothing was sent.
    Invalid,
    /// The row was not attempted (e.g. the run stopped first).
    Skipped,
    /// Dry run: what would be sent.
    Planned,
    /// `zdbulk validate`: the row passed.
    Valid,
}

impl RowStatus {
    /// The word in `report.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Created => "created",
            RowStatus::Updated => "updated",
            RowStatus::Unchanged => "unchanged",
            RowStatus::Deleted => "deleted",
            RowStatus::Failed => "failed",
            RowStatus::Invalid => "invalid",
            RowStatus::Skipped => "skipped",
            RowStatus::Planned => "planned",
            RowStatus::Valid => "valid",
        }
    }

    /// Whether the row goes to the failed-rows file (and makes the exit code 1).
    pub fn is_failure(self) -> bool {
        matches!(self, RowStatus::Failed | RowStatus::Invalid | RowStatus::Skipped)
    }
}

/// What happened to one input row: one line of `report.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RowOutcome {
    /// 0-based position among the data rows; the report is written in this order.
    pub seq: usize,
    /// The row number the user sees (header = 1).
    pub row: usize,
    /// The row's identity: external id, else name, else id.
    pub key: String,
    /// What was sent.
    pub action: Action,
    /// What became of it.
    pub status: RowStatus,
    /// The Zendesk record id, when known.
    pub zendesk_id: Option<u64>,
    /// The job that carried it, when there was one.
    pub job_id: Option<String>,
    /// Zendesk's or zdbulk's error code.
    pub error_code: Option<String>,
    /// A readable explanation naming column and value where there is one.
    pub message: Option<String>,
    /// The row's original cells, kept for failed rows only.
    pub original: Option<Vec<String>>,
}

impl RowOutcome {
    /// An outcome with no id, job or error.
    pub fn new(seq: usize, row: usize, key: String, action: Action, status: RowStatus) -> Self {
        RowOutcome {
            seq,
            row,
            key,
            action,
            status,
            zendesk_id: None,
            job_id: None,
            error_code: None,
            message: None,
            original: None,
        }
    }
}
