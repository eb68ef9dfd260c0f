//! `report.csv`: one line per input row, in input order, even though jobs finish out of order.
//!
//! Outcomes arrive in any order; the writer holds only those that cannot be written yet (rows
//! after a gap), so memory is bounded by the rows in flight, not by the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use super::failed_rows::FailedRows;
use super::{Action, RowOutcome, RowStatus};

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
    file: BufWriter<File>,
    /// One line, formatted by the csv crate (its quoting), then copied to `file`.
    line: Vec<u8>,
    failed: FailedRows,
    next: usize,
    pending: BTreeMap<usize, RowOutcome>,
    counts: BTreeMap<RowStatus, usize>,
    /// Rows written by [`ReportWriter::record_valid`], added to `counts` when asked.
    valid: usize,
    peak_pending: usize,
}

impl ReportWriter {
    /// Creates `report.csv` in `dir`; failed rows go to `failed`.
    pub fn create(dir: &Path, failed: FailedRows) -> Result<ReportWriter, ReportError> {
        let path = dir.join("report.csv");
        let wrap = |source: csv::Error| ReportError::Write { path: path.clone(), source };
        let file = super::private::create(&path).map_err(|e| wrap(e.into()))?;
        let mut report = ReportWriter {
            path,
            file: BufWriter::with_capacity(1 << 16, file),
            line: Vec::new(),
            failed,
            next: 0,
            pending: BTreeMap::new(),
            counts: BTreeMap::new(),
            valid: 0,
            peak_pending: 0,
        };
        if let Err(source) = report.write_line(REPORT_HEADER) {
            return Err(ReportError::Write { path: report.path, source });
        }
        Ok(report)
    }

    /// Writes one line, quoted as the csv crate quotes.
    fn write_line(&mut self, record: [&str; 8]) -> Result<(), csv::Error> {
        let mut line = csv::WriterBuilder::new()
            .buffer_capacity(256)
            .from_writer(std::mem::take(&mut self.line));
        line.write_record(record.map(super::guard::guard).iter().map(|c| c.as_ref()))?;
        self.line = line.into_inner().map_err(|e| e.into_error())?;
        self.file.write_all(&self.line)?;
        self.line.clear();
        Ok(())
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

    /// Writes the `valid` line of a row that needs nothing else (`zdbulk validate`) without
    /// building an outcome: a million valid rows cost no allocation.
    pub fn record_valid(&mut self, seq: usize, row: usize, key: &str) -> Result<(), ReportError> {
        let needs_quotes = key.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
        if needs_quotes || seq != self.next || !self.pending.is_empty() {
            let o = RowOutcome::new(seq, row, key.to_string(), Action::None, RowStatus::Valid);
            return self.record(o);
        }
        // The usual line, written as the csv crate would write it without going through it:
        // a million-row validate spends a good part of its time here.
        self.valid += 1;
        let mut number = itoa::Buffer::new();
        for part in [number.format(row), ",", key, ",none,valid,,,,\n"] {
            self.file.write_all(part.as_bytes()).map_err(|source| ReportError::Write {
                path: self.path.clone(),
                source: source.into(),
            })?;
        }
        self.next += 1;
        Ok(())
    }

    /// The report fields of an outcome; `number` holds the formatted row number.
    fn fields<'o>(o: &'o RowOutcome, number: &'o mut itoa::Buffer) -> [&'o str; 8] {
        [
            number.format(o.row),
            &o.key,
            o.action.as_str(),
            o.status.as_str(),
            "",
            o.job_id.as_deref().unwrap_or(""),
            o.error_code.as_deref().unwrap_or(""),
            o.message.as_deref().unwrap_or(""),
        ]
    }

    fn write(&mut self, o: RowOutcome) -> Result<(), ReportError> {
        *self.counts.entry(o.status).or_default() += 1;
        let mut number = itoa::Buffer::new();
        let mut id = itoa::Buffer::new();
        let mut record = Self::fields(&o, &mut number);
        if let Some(zendesk_id) = o.zendesk_id {
            record[4] = id.format(zendesk_id);
        }
        self.write_line(record)
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
    pub fn counts(&self) -> BTreeMap<RowStatus, usize> {
        let mut counts = self.counts.clone();
        if self.valid > 0 {
            *counts.entry(RowStatus::Valid).or_default() += self.valid;
        }
        counts
    }

    /// Checks that `total` rows were written, flushes both files, and returns the counts.
    pub fn finish(mut self, total: usize) -> Result<BTreeMap<RowStatus, usize>, ReportError> {
        if self.next != total || !self.pending.is_empty() {
            return Err(ReportError::Missing {
                count: total.saturating_sub(self.next),
                first: self.next,
            });
        }
        self.file
            .flush()
            .map_err(|e| ReportError::Write { path: self.path.clone(), source: e.into() })?;
        let counts = self.counts();
        self.failed.finish()?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::failed_rows::FailedFormat;

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
    fn valid_lines_are_written_as_the_csv_crate_writes_them() {
        let keys =
            ["ext-1", "", " a", "a b", "Café", "#x", "a,b", "say \"hi\"", "two\nlines", "cr\r"];
        let dir = tempfile::tempdir().unwrap();
        let failed =
            FailedRows::create(dir.path(), FailedFormat::Csv, vec!["name".into()]).unwrap();
        let mut w = ReportWriter::create(dir.path(), failed).unwrap();
        for (seq, key) in keys.iter().enumerate() {
            w.record_valid(seq, seq + 2, key).unwrap();
        }
        assert_eq!(w.finish(keys.len()).unwrap()[&RowStatus::Valid], keys.len());
        let mut expected = csv::Writer::from_writer(Vec::new());
        expected.write_record(REPORT_HEADER).unwrap();
        for (seq, key) in keys.iter().enumerate() {
            let row = (seq + 2).to_string();
            expected.write_record([row.as_str(), key, "none", "valid", "", "", "", ""]).unwrap();
        }
        let expected = String::from_utf8(expected.into_inner().unwrap()).unwrap();
        let written = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
        assert_eq!(written, expected);
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
