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
    /// `TooManyJobs` answers: waits for the account's job limit.
    #[serde(default)]
    pub too_many_jobs: u64,
    /// The run directory.
    #[serde(default)]
    pub run_dir: String,
    /// The report.
    #[serde(default)]
    pub report: String,
    /// The failed rows, when any row failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_rows: Option<String>,
    /// The account's base URL (never credentials), when the run used one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Users imports: people Zendesk mails (or, in a dry run, would mail) a welcome e-mail,
    /// being created with an address and no `verified` / `skip_verify_email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub welcome_emails: Option<usize>,
    /// Failed, invalid and skipped rows by error code: how many, and the first one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub failures: BTreeMap<String, FailureGroup>,
    /// Values changed (or, in a dry run, that would change): the lines of `changes.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<u64>,
    /// Warnings (encoding fallbacks and the like).
    pub warnings: Vec<String>,
    /// The run's exit code.
    pub exit_code: u8,
}

/// The rows that failed for one reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailureGroup {
    /// How many rows.
    pub count: usize,
    /// The first of them (its row number as the file shows it).
    pub first_row: usize,
    /// That row's message.
    pub example: String,
    /// The first rows of the group (at most [`ROWS_SHOWN`]).
    pub rows: Vec<usize>,
}

/// How many rows of each failure group the summary lists.
pub const ROWS_SHOWN: usize = 20;

/// A message without its leading `row N, ` (the group names the row).
fn strip_row<'m>(message: &'m str, row: &str) -> &'m str {
    message
        .strip_prefix("row ")
        .and_then(|m| m.strip_prefix(row))
        .and_then(|m| m.strip_prefix(", "))
        .unwrap_or(message)
}

/// Groups the failed, invalid and skipped lines of a `report.csv` by error code (the status
/// word when a line has none), reading it once.
pub fn failures_by_code(report: &Path) -> std::io::Result<BTreeMap<String, FailureGroup>> {
    let mut groups: BTreeMap<String, FailureGroup> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(report).map_err(std::io::Error::other)?;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(std::io::Error::other)? {
        let field = |i: usize| crate::output::guard::unguard(record.get(i).unwrap_or_default());
        let status = field(3);
        if !matches!(status, "failed" | "invalid" | "skipped") {
            continue;
        }
        let code = match field(6) {
            "" => status.to_string(),
            code => code.to_string(),
        };
        let group = groups.entry(code).or_insert_with(|| FailureGroup {
            count: 0,
            first_row: field(0).parse().unwrap_or(0),
            // "row 18, tier: …" says its row already: the group names it.
            example: strip_row(field(7), field(0)).to_string(),
            rows: Vec::new(),
        });
        group.count += 1;
        if group.rows.len() < ROWS_SHOWN {
            group.rows.push(field(0).parse().unwrap_or(0));
        }
    }
    Ok(groups)
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
