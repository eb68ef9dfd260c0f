//! `summary.json`: counts by status, durations, API usage, jobs and the exit code of a run.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::RowStatus;

/// Everything `summary.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The resource imported.
    pub resource: String,
    /// The input file.
    pub input: String,
    /// upsert, create, update, delete or validate.
    pub mode: String,
    /// Whether nothing was written.
    pub dry_run: bool,
    /// The header dialect recognised (api, legacy, data-importer).
    pub dialect: String,
    /// Data rows read.
    pub rows: usize,
    /// Rows by status.
    pub counts: BTreeMap<String, usize>,
    /// UTC start, RFC 3339.
    pub started_at: String,
    /// UTC end, RFC 3339.
    pub finished_at: String,
    /// Wall-clock seconds.
    pub duration_secs: f64,
    /// API requests made.
    pub api_requests: u64,
    /// Times the run waited on a 429.
    pub rate_limit_waits: u64,
    /// Seconds spent waiting on 429s.
    pub rate_limit_wait_secs: f64,
    /// Bulk jobs submitted.
    pub jobs: u64,
    /// Users imports: people Zendesk mails (or, in a dry run, would mail) a welcome e-mail,
    /// being created with an address and no `verified` / `skip_verify_email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub welcome_emails: Option<usize>,
    /// Values changed (or, in a dry run, that would change): the lines of `changes.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<u64>,
    /// Warnings (encoding fallbacks and the like).
    pub warnings: Vec<String>,
    /// The run's exit code.
    pub exit_code: u8,
}

impl Summary {
    /// Counts keyed by the report's status words.
    pub fn counts_from(counts: &BTreeMap<RowStatus, usize>) -> BTreeMap<String, usize> {
        counts.iter().map(|(s, n)| (s.as_str().to_string(), *n)).collect()
    }

    /// Writes `summary.json` in `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        super::private::write(&dir.join("summary.json"), &json)
    }
}
