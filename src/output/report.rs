//! `report.csv`: one line per input row, in input order, even though jobs finish out of order.
//!
//! Outcomes arrive in any order; the writer holds only those that cannot be written yet (rows
//! after a gap), so memory is bounded by the rows in flight, not by the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::failed_rows::FailedRows;
use super::{RowOutcome, RowStatus};

/// The columns of `report.csv` (`design.md` §2).
pub const REPORT_HEADER: [&str; 8] =
    ["row", "key", "action", "status", "zendesk_id", "job_id", "error_code", "message"];

/// Errors writing the report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report file could not be created or written.
    #[error("failed to write {path}")]
    Write {
        /// The report path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// The failed-rows file could not be written.
    #[error(transparent)]
    Failed(#[from] super::failed_rows::FailedRowsError),
    /// Some rows never got an outcome: a bug, reported rather than hidden.
    #[error(
        "{count} rows have no outcome (first missing: data row {first}); the report is incomplete"
    )]
    Missing {
        /// How many.
        count: usize,
        /// The first missing sequence number.
        first: usize,
    },
    /// The same row got two outcomes: a bug.
    #[error("row {row} got two outcomes")]
    Duplicate {
        /// The row number.
        row: usize,
    },
}

/// Writes outcomes in input order, and the failed rows beside them.
pub struct ReportWriter {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    failed: FailedRows,
    next: usize,
    pending: BTreeMap<usize, RowOutcome>,
    counts: BTreeMap<RowStatus, usize>,
    peak_pending: usize,
}

impl ReportWriter {
    /// Creates `report.csv` in `dir`; failed rows go to `failed`.
    pub fn create(dir: &Path, failed: FailedRows) -> Result<ReportWriter, ReportError> {
        let path = dir.join("report.csv");
        let wrap = |source: csv::Error| ReportError::Write { path: path.clone(), source };
        let file = File::create(&path).map_err(|e| wrap(e.into()))?;
        let mut writer = csv::Writer::from_writer(BufWriter::new(file));
        writer.write_record(REPORT_HEADER).map_err(wrap)?;
        Ok(ReportWriter {
            path,
            writer,
            failed,
            next: 0,
            pending: BTreeMap::new(),
            counts: BTreeMap::new(),
            peak_pending: 0,
        })
    }

    /// Takes one row's outcome; writes every outcome that is now next in input order.
    pub fn record(&mut self, outcome: RowOutcome) -> Result<(), ReportError> {
        if outcome.seq < self.next || self.pending.contains_key(&outcome.seq) {
            return Err(ReportError::Duplicate { row: outcome.row });
        }
        if outcome.seq == self.next && self.pending.is_empty() {
            // The common case (in-order rows): no detour through the pending map.
            self.write(outcome)?;
            self.next += 1;
            return Ok(());
        }
        self.pending.insert(outcome.seq, outcome);
        self.peak_pending = self.peak_pending.max(self.pending.len());
        while let Some(outcome) = self.pending.remove(&self.next) {
            self.write(outcome)?;
            self.next += 1;
        }
        Ok(())
    }

    fn write(&mut self, o: RowOutcome) -> Result<(), ReportError> {
        *self.counts.entry(o.status).or_default() += 1;
        let row = o.row.to_string();
        let id = o.zendesk_id.map(|i| i.to_string()).unwrap_or_default();
        let record: [&str; 8] = [
            &row,
            &o.key,
            o.action.as_str(),
            o.status.as_str(),
            &id,
            o.job_id.as_deref().unwrap_or(""),
            o.error_code.as_deref().unwrap_or(""),
            o.message.as_deref().unwrap_or(""),
        ];
        self.writer
            .write_record(record)
            .map_err(|source| ReportError::Write { path: self.path.clone(), source })?;
        if o.status.is_failure() {
            self.failed.push(&o)?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn written(&self) -> usize {
        self.next
    }

    /// The most outcomes ever held back waiting for an earlier row.
    pub fn peak_pending(&self) -> usize {
        self.peak_pending
    }

    /// Counts by status of the rows written so far.
    pub fn counts(&self) -> &BTreeMap<RowStatus, usize> {
        &self.counts
    }

    /// Checks that `total` rows were written, flushes both files, and returns the counts.
    pub fn finish(mut self, total: usize) -> Result<BTreeMap<RowStatus, usize>, ReportError> {
        if self.next != total || !self.pending.is_empty() {
            return Err(ReportError::Missing {
                count: total.saturating_sub(self.next),
                first: self.next,
            });
        }
        self.writer
            .flush()
            .map_err(|e| ReportError::Write { path: self.path.clone(), source: e.into() })?;
        self.failed.finish()?;
        Ok(self.counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::failed_rows::FailedFormat;
    use crate::output::Action;

    fn outcome(seq: usize, status: RowStatus) -> RowOutcome {
        let mut o = RowOutcome::new(seq, seq + 2, format!("k{seq}"), Action::Create, status);
        o.original = Some(vec![format!("name{seq}")]);
        o
    }

    #[test]
    fn writes_in_input_order_whatever_the_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let failed =
            FailedRows::create(dir.path(), FailedFormat::Csv, vec!["name".into()]).unwrap();
        let mut w = ReportWriter::create(dir.path(), failed).unwrap();
        for seq in [2, 0, 3, 1] {
            let status = if seq == 3 { RowStatus::Failed } else { RowStatus::Created };
            w.record(outcome(seq, status)).unwrap();
        }
        assert_eq!(w.peak_pending(), 3);
        let counts = w.finish(4).unwrap();
        assert_eq!(counts[&RowStatus::Created], 3);
        let text = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
        let rows: Vec<&str> = text.lines().map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(rows, vec!["row", "2", "3", "4", "5"]);
        let failed = std::fs::read_to_string(dir.path().join("failed.csv")).unwrap();
        assert_eq!(failed.lines().collect::<Vec<_>>(), vec!["name,zdbulk_error", "name3,failed"]);
    }

    #[test]
    fn missing_and_duplicate_rows_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let failed =
            FailedRows::create(dir.path(), FailedFormat::Csv, vec!["name".into()]).unwrap();
        let mut w = ReportWriter::create(dir.path(), failed).unwrap();
        w.record(outcome(0, RowStatus::Created)).unwrap();
        assert!(matches!(
            w.record(outcome(0, RowStatus::Created)),
            Err(ReportError::Duplicate { row: 2 })
        ));
        w.record(outcome(2, RowStatus::Created)).unwrap();
        assert!(matches!(w.finish(3), Err(ReportError::Missing { count: 2, first: 1 })));
    }
}
