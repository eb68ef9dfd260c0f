//! A run whose account could not be used at all (its field definitions could not be read):
//! it still leaves a run directory whose report has every row, `skipped`, with the failed file
//! holding them all and a summary saying why, so nothing the user gave goes unaccounted for.

use std::path::Path;

use super::rows::{Duplicates, RowChecker};
use crate::input::mapping::MappedHeader;
use crate::input::Input;
use crate::output::failed_rows::FailedRows;
use crate::output::report::ReportWriter;
use crate::output::summary::{failures_by_code, Summary};
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::plan::Mode;
use crate::resource::Layer;
use crate::schema::row::EmptyCells;
use crate::schema::Schema;

/// What the run was, for its summary.
pub(super) struct Unreached<'a> {
    pub(super) layer: &'static dyn Layer,
    pub(super) mapped: &'a MappedHeader,
    pub(super) dir: &'a Path,
    pub(super) base: Summary,
    pub(super) why: String,
}

impl Unreached<'_> {
    /// Writes every row of `input` as skipped, then the summary and report.html; returns the
    /// summary.
    pub(super) fn write(self, input: Input, failed: FailedRows) -> anyhow::Result<Summary> {
        let none = Duplicates::new();
        let schema = Schema::new(Vec::new());
        let checker = RowChecker::new(
            self.layer,
            self.mapped,
            &schema,
            EmptyCells::Keep,
            Mode::Upsert,
            &none,
        );
        let mut report = ReportWriter::create(self.dir, failed)?;
        let message = format!("not sent: {}", self.why);
        let mut rows = 0;
        for (seq, row) in input.enumerate() {
            let row = row?;
            let key = checker.key(&row).into_owned();
            let mut o = RowOutcome::new(seq, row.number, key, Action::None, RowStatus::Skipped);
            o.error_code = Some("ApiUnreachable".into());
            o.message = Some(message.clone());
            o.original = Some(row.cells);
            report.record(o)?;
            rows = seq + 1;
        }
        let counts = report.finish(rows)?;
        let mut summary = self.base;
        summary.rows = rows;
        summary.counts = Summary::counts_from(&counts);
        summary.failures = failures_by_code(&self.dir.join("report.csv"))?;
        summary.failed_rows = ["failed.csv", "failed.xlsx"]
            .iter()
            .map(|f| self.dir.join(f))
            .find(|p| p.exists())
            .map(|p| p.display().to_string());
        summary.warnings.push(self.why);
        summary.write(self.dir)?;
        crate::output::html::write(&summary, &[], self.dir)?;
        Ok(summary)
    }
}
