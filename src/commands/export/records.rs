//! Organizations and users, every record once: cursor pages of 100 (`page[after]`), each
//! written and synced before the resume point moves past it, so memory holds one page (and,
//! for users, the organization labels and memberships they name) whatever the account's size.
//! `--since` keeps the records whose `updated_at` is at or after it (filtered here: the
//! incremental export endpoints cost a request of a 10-a-minute budget each, see
//! `docs/exporting.md`).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use super::columns::{cells, organization_ids, Column, Organizations};
use super::csv_out::CsvOut;
use super::state::{sibling, ExportState};
use super::xlsx_out;
use crate::pipeline::api::{Port, ShowBy};
use crate::progress::Progress;
use crate::resource::Resource;
use crate::zendesk::resources::MAX_PER_CALL;
use crate::zendesk::Client;

/// The output's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// CSV, written in place page by page.
    Csv,
    /// XLSX, made from a CSV spool once every page is written.
    Xlsx,
}

impl OutFormat {
    /// The name the state file keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            OutFormat::Csv => "csv",
            OutFormat::Xlsx => "xlsx",
        }
    }
}

/// One export of records.
pub struct RecordExport<'a> {
    /// The account.
    pub client: &'a Client,
    /// Organizations or users.
    pub resource: Resource,
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// Only records updated at or after this.
    pub since: Option<DateTime<Utc>>,
    /// The file asked for.
    pub output: &'a Path,
    /// Its format.
    pub format: OutFormat,
    /// `--excel` (CSV only).
    pub excel: bool,
    /// Where the export stands (fresh, or loaded for `--resume`).
    pub state: ExportState,
    /// Whether `state` was loaded from an interrupted export.
    pub resuming: bool,
    /// Draw no progress.
    pub quiet: bool,
    /// Turns true on Ctrl-C or SIGTERM.
    pub stop: watch::Receiver<bool>,
}

/// How the export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every record is in the output.
    Done,
    /// Stopped by a signal at a page boundary; `--resume` continues.
    Interrupted,
}

/// The spool an XLSX export writes first: `FILE.zdbulk-spool.csv` beside it.
pub fn spool_path(output: &Path) -> PathBuf {
    sibling(output, ".zdbulk-spool.csv")
}

/// Waits for `fut`, or returns `None` as soon as a stop is asked for: a page fetched but not
/// written is simply fetched again by `--resume`.
async fn or_stop<T>(
    stop: &mut watch::Receiver<bool>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    if *stop.borrow() {
        return None;
    }
    tokio::select! {
        r = fut => Some(r),
        _ = stop.wait_for(|s| *s) => None,
    }
}

/// Parses an RFC 3339 `updated_at`; a record without one is always kept.
fn updated_since(record: &Value, since: Option<&DateTime<Utc>>) -> bool {
    let Some(since) = since else { return true };
    match record.get("updated_at").and_then(Value::as_str).map(DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => t.with_timezone(&Utc) >= *since,
        _ => true,
    }
}

impl RecordExport<'_> {
    /// Runs the export to its end or to a stop; the state file is kept until the output is
    /// whole.
    pub async fn run(mut self) -> anyhow::Result<(Ended, ExportState)> {
        let state_path = ExportState::path_for(self.output);
        let data = match self.format {
            OutFormat::Csv => self.output.to_path_buf(),
            OutFormat::Xlsx => spool_path(self.output),
        };
        // The spool is ours alone: no BOM, LF.
        let excel = self.excel && self.format == OutFormat::Csv;
        let header: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let mut out = if self.resuming {
            CsvOut::reopen(&data, self.state.bytes, excel)?
        } else {
            let mut out = CsvOut::create(&data, &header, excel)?;
            self.state.bytes = out.sync()?;
            self.state.save(&state_path)?;
            out
        };
        let total = if self.state.listing_done {
            None
        } else {
            or_stop(&mut self.stop, self.client.count(self.resource)).await.and_then(Result::ok)
        };
        let progress = Progress::new(total.unwrap_or(0), self.quiet);
        progress.advance(self.state.scanned);
        let mut orgs = Organizations::default();
        if !self.state.listing_done && self.columns.iter().any(Column::needs_organizations) {
            progress.note("reading organization memberships");
            let Some(members) = self.memberships().await? else {
                progress.finish();
                return Ok((Ended::Interrupted, self.state));
            };
            orgs.members = members;
            progress.note("");
        }
        while !self.state.listing_done {
            let after = self.state.next_cursor.clone();
            let Some(page) =
                or_stop(&mut self.stop, self.client.list_page(self.resource, after.clone())).await
            else {
                progress.finish();
                return Ok((Ended::Interrupted, self.state));
            };
            let (records, next) = page.with_context(|| {
                format!("failed to read a page of {}", self.resource.cli_name())
            })?;
            let kept: Vec<&Value> =
                records.iter().filter(|r| updated_since(r, self.since.as_ref())).collect();
            if self.columns.iter().any(Column::needs_organizations)
                && !self.label_organizations(&kept, &mut orgs).await?
            {
                progress.finish();
                return Ok((Ended::Interrupted, self.state));
            }
            for record in &kept {
                out.write_row(&cells(&self.columns, record, &orgs))?;
            }
            // The page is on disk before the state moves past it.
            self.state.bytes = out.sync()?;
            self.state.records += kept.len() as u64;
            self.state.scanned += records.len() as u64;
            // A cursor equal to the one just used would loop forever.
            match next {
                Some(n) if after.as_deref() != Some(n.as_str()) && !records.is_empty() => {
                    self.state.next_cursor = Some(n)
                }
                _ => {
                    self.state.next_cursor = None;
                    self.state.listing_done = true;
                }
            }
            self.state.save(&state_path)?;
            progress.advance(records.len() as u64);
        }
        drop(out);
        if self.format == OutFormat::Xlsx {
            progress.note("writing the XLSX file");
            let kinds: Vec<_> = self.columns.iter().map(|c| c.kind).collect();
            let sheet = self.resource.cli_name();
            tokio::task::block_in_place(|| {
                xlsx_out::spool_to_xlsx(&data, self.output, sheet, &kinds)
            })?;
            std::fs::remove_file(&data)
                .with_context(|| format!("failed to remove the spool {}", data.display()))?;
        }
        ExportState::remove(&state_path)?;
        progress.finish();
        Ok((Ended::Done, self.state))
    }

    /// Every membership of the account, by user (one listing, 100 a request: cheaper than one
    /// request per user). `None` when stopped.
    async fn memberships(
        &mut self,
    ) -> anyhow::Result<Option<std::collections::HashMap<u64, Vec<u64>>>> {
        let mut by_user: std::collections::HashMap<u64, Vec<u64>> = Default::default();
        let mut after: Option<String> = None;
        loop {
            let Some(page) = or_stop(
                &mut self.stop,
                self.client.list_page(Resource::Memberships, after.clone()),
            )
            .await
            else {
                return Ok(None);
            };
            let (items, next) = page.context("failed to read the organization memberships")?;
            for m in &items {
                let user = m.get("user_id").and_then(Value::as_u64);
                let org = m.get("organization_id").and_then(Value::as_u64);
                if let (Some(u), Some(o)) = (user, org) {
                    by_user.entry(u).or_default().push(o);
                }
            }
            match next {
                Some(n) if after.as_deref() != Some(n.as_str()) && !items.is_empty() => {
                    after = Some(n)
                }
                _ => return Ok(Some(by_user)),
            }
        }
    }

    /// Looks up the labels of the organizations this page's users name that are not known
    /// yet (`show_many`, 100 ids a request). `false` when stopped.
    async fn label_organizations(
        &mut self,
        users: &[&Value],
        orgs: &mut Organizations,
    ) -> anyhow::Result<bool> {
        let mut missing: Vec<u64> = users
            .iter()
            .flat_map(|u| organization_ids(u, orgs))
            .filter(|id| !orgs.labels.contains_key(id))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(MAX_PER_CALL) {
            let ids: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let fut = self.client.show_many(Resource::Organizations, ShowBy::Ids, ids);
            let Some(found) = or_stop(&mut self.stop, fut).await else { return Ok(false) };
            let found = found.context("failed to look up the users' organizations")?;
            for org in found {
                let Some(id) = org.get("id").and_then(Value::as_u64) else { continue };
                let label = org
                    .get("external_id")
                    .and_then(Value::as_str)
                    .filter(|x| !x.trim().is_empty())
                    .or_else(|| org.get("name").and_then(Value::as_str))
                    .unwrap_or_default();
                orgs.labels.insert(id, label.to_string());
            }
            // An organization that is gone is named by nothing: its cell stays empty.
            for id in chunk {
                orgs.labels.entry(*id).or_default();
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn since_keeps_records_updated_at_or_after_it() {
        let since: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        assert!(updated_since(&json!({"updated_at": "2026-01-01T00:00:00Z"}), Some(&since)));
        assert!(!updated_since(&json!({"updated_at": "2025-12-31T23:59:59Z"}), Some(&since)));
        assert!(updated_since(&json!({"updated_at": "2026-01-01T01:00:00+02:00"}), None));
        assert!(!updated_since(&json!({"updated_at": "2026-01-01T01:00:00+02:00"}), Some(&since)));
        assert!(updated_since(&json!({}), Some(&since)));
    }
}
