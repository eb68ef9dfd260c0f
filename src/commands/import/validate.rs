//! `zdbulk validate`: every row checked, `valid` or `invalid`, nothing sent.
//!
//! One pass, assuming no name or external id repeats while noting every one; if some did
//! repeat, rows written `valid` before their twin was seen are wrong, so the report is written
//! again with the complete index. Files without repeats are read once.
//!
//! A pass runs on two threads: one reads and decodes the file (and notes its keys), the other
//! checks rows and writes the report. Rows travel in chunks whose buffers go back to the
//! reader, so a CSV row's cells are allocated once per chunk slot, not once per row.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;

use anyhow::{anyhow, Context as _};

use super::rows::{Duplicates, KeySeen, RowChecker};
use crate::input::mapping::MappedHeader;
use crate::input::{open_input, Input, InputError, Row};
use crate::output::failed_rows::FailedRows;
use crate::output::report::ReportWriter;
use crate::output::RowStatus;
use crate::pipeline::plan::Mode;
use crate::resource::Layer;
use crate::schema::row::EmptyCells;
use crate::schema::Schema;

/// Rows per chunk handed from the reading thread to the checking one.
const CHUNK: usize = 1024;
/// Chunks read ahead of the checker (bounds memory: about 4 × 1024 rows).
const AHEAD: usize = 4;

/// What a file is checked against, and where the report goes.
pub(super) struct Validation<'a> {
    pub(super) layer: &'static dyn Layer,
    pub(super) file: &'a Path,
    pub(super) sheet: Option<&'a str>,
    pub(super) mapped: &'a MappedHeader,
    pub(super) schema: &'a Schema,
    pub(super) empty: EmptyCells,
    pub(super) mode: Mode,
    pub(super) dir: &'a Path,
    pub(super) failed: FailedRows,
}

/// Counts by status, and the number of data rows.
type Counts = (BTreeMap<RowStatus, usize>, usize);

/// What a validation found: counts by status, data rows, and the warnings that only came up
/// while reading (a late row that is not UTF-8), the earlier ones being the caller's.
pub(super) struct Validated {
    pub(super) counts: BTreeMap<RowStatus, usize>,
    pub(super) rows: usize,
    pub(super) late_warnings: Vec<String>,
}

impl Validation<'_> {
    /// Checks every row of `input` (already open at its first data row) and writes the run
    /// directory's report and failed rows.
    pub(super) fn run(&self, input: Input) -> anyhow::Result<Validated> {
        let known = input.warnings().len();
        let none = Duplicates::new();
        let checker =
            RowChecker::new(self.layer, self.mapped, self.schema, self.empty, self.mode, &none);
        let seen = KeySeen::new(self.layer, self.mapped);
        let ((counts, rows), duplicates, warnings) = self.pass(input, &checker, Some(seen))?;
        let late_warnings = warnings.get(known..).unwrap_or_default().to_vec();
        let duplicates = duplicates.unwrap_or_default();
        if !duplicates.any() {
            return Ok(Validated { counts, rows, late_warnings });
        }
        let input = open_input(self.file, self.sheet)?;
        let checker = RowChecker::new(
            self.layer,
            self.mapped,
            self.schema,
            self.empty,
            self.mode,
            &duplicates,
        );
        let ((counts, rows), _, _) = self.pass(input, &checker, None)?;
        Ok(Validated { counts, rows, late_warnings })
    }

    /// One pass over the file: reads on a thread of its own, checks and writes on this one.
    fn pass(
        &self,
        input: Input,
        checker: &RowChecker<'_>,
        seen: Option<KeySeen>,
    ) -> anyhow::Result<(Counts, Option<Duplicates>, Vec<String>)> {
        let failed = self.failed.fresh();
        let mut report = ReportWriter::create(self.dir, failed)?;
        let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<Row>, usize)>(AHEAD);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<Row>>();
        std::thread::scope(|scope| {
            let reading = scope.spawn(move || read_chunks(input, seen, &full_tx, &empty_rx));
            let mut seq = 0;
            let written = (|| -> anyhow::Result<()> {
                for (chunk, filled) in &full_rx {
                    for row in &chunk[..filled] {
                        match checker.check_only(row) {
                            Ok(None) => report.record_valid(seq, row.number, &checker.key(row))?,
                            Ok(Some(note)) => report.record(checker.valid_with(seq, row, note))?,
                            Err(message) => report.record(checker.invalid(seq, row, message))?,
                        }
                        seq += 1;
                    }
                    // The reader may have finished; then the chunk is simply dropped.
                    let _ = empty_tx.send(chunk);
                }
                Ok(())
            })();
            // Stop the reader early if writing failed: its next send finds no receiver.
            drop(full_rx);
            let read = reading.join().map_err(|_| anyhow!("the thread reading the file failed"))?;
            written?;
            let (input, duplicates) = read?;
            let counts = report.finish(seq).context("failed to finish the report")?;
            Ok(((counts, seq), duplicates, input.warnings().to_vec()))
        })
    }
}

/// The reading thread: fills chunks of rows (reusing the buffers the checker sends back),
/// notes each row's keys, and hands the chunks on. Rows read before an error are sent first.
/// At the end it finds the repeated keys, while the checker is still busy with the last
/// chunks.
fn read_chunks(
    mut input: Input,
    mut seen: Option<KeySeen>,
    full: &mpsc::SyncSender<(Vec<Row>, usize)>,
    empty: &mpsc::Receiver<Vec<Row>>,
) -> Result<(Input, Option<Duplicates>), InputError> {
    loop {
        let mut chunk = empty.try_recv().unwrap_or_else(|_| vec![Row::default(); CHUNK]);
        let mut filled = 0;
        let mut end = Ok(false);
        while filled < CHUNK {
            match input.read_row(&mut chunk[filled]) {
                Ok(true) => {
                    if let Some(seen) = &mut seen {
                        seen.observe(&chunk[filled]);
                    }
                    filled += 1;
                }
                other => {
                    end = other.map(|_| true);
                    break;
                }
            }
        }
        if filled > 0 && full.send((chunk, filled)).is_err() {
            // The checker stopped (it reports why); nothing more to read for.
            return Ok((input, None));
        }
        match end {
            Ok(false) => {}
            Ok(true) => return Ok((input, seen.map(KeySeen::finish))),
            Err(e) => return Err(e),
        }
    }
}
