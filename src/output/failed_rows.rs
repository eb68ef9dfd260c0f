//! `failed.csv` / `failed.xlsx`: the failed, invalid and skipped rows with their original
//! columns, plus a `zdbulk_error` column that import ignores — fix the cells, import the file.
//!
//! The file is created at the first failed row; a run where every row succeeded leaves none.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::RowOutcome;
use crate::input::{short_row_cells, short_row_note};

/// The column that carries the reason; `import` ignores a column of this name.
pub const ERROR_COLUMN: &str = "zdbulk_error";

/// Which format to write: the input's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedFormat {
    /// `failed.csv`.
    Csv,
    /// `failed.xlsx`.
    Xlsx,
}

/// Errors writing the failed rows.
#[derive(Debug, thiserror::Error)]
pub enum FailedRowsError {
    /// The CSV file could not be written.
    #[error("failed to write {path}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: csv::Error,
    },
    /// The XLSX file could not be written.
    #[error("failed to write {path}")]
    Xlsx {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
}

enum Sink {
    None,
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Xlsx(Box<rust_xlsxwriter::Workbook>, u32),
}

/// The failed-rows file of a run.
pub struct FailedRows {
    path: PathBuf,
    format: FailedFormat,
    /// How `failed.csv` is written: the input's own dialect.
    dialect: super::dialect::CsvDialect,
    /// The sheet name of `failed.xlsx`: the input's.
    sheet: Option<String>,
    header: Vec<String>,
    sink: Sink,
    count: usize,
}

impl FailedRows {
    /// Prepares `failed.csv` or `failed.xlsx` in `dir` with the input's header.
    pub fn create(
        dir: &Path,
        format: FailedFormat,
        header: Vec<String>,
    ) -> Result<FailedRows, FailedRowsError> {
        let name = match format {
            FailedFormat::Csv => "failed.csv",
            FailedFormat::Xlsx => "failed.xlsx",
        };
        let (dialect, sheet) = (Default::default(), None);
        Ok(FailedRows {
            path: dir.join(name),
            format,
            dialect,
            sheet,
            header,
            sink: Sink::None,
            count: 0,
        })
    }

    /// The same file, with nothing written yet (a run that writes it again from the start).
    pub fn fresh(&self) -> FailedRows {
        FailedRows {
            path: self.path.clone(),
            format: self.format,
            dialect: self.dialect,
            sheet: self.sheet.clone(),
            header: self.header.clone(),
            sink: Sink::None,
            count: 0,
        }
    }

    /// Writes `failed.csv` in the input's dialect (delimiter, line ends, encoding).
    pub fn with_dialect(mut self, dialect: super::dialect::CsvDialect) -> FailedRows {
        self.dialect = dialect;
        self
    }

    /// Names `failed.xlsx`'s sheet as the input's.
    pub fn with_sheet(mut self, sheet: &str) -> FailedRows {
        self.sheet = Some(sheet.to_string());
        self
    }

    fn header_with_error(&self) -> Vec<String> {
        let mut h: Vec<String> =
            self.header.iter().filter(|c| c.as_str() != ERROR_COLUMN).cloned().collect();
        h.push(ERROR_COLUMN.to_string());
        h
    }

    /// Row cells without a previous `zdbulk_error` column (a re-run of a failed file).
    fn cells_of(&self, original: &[String]) -> Vec<String> {
        original
            .iter()
            .zip(self.header.iter().map(Some).chain(std::iter::repeat(None)))
            .filter(|(_, h)| h.map(|h| h.as_str()) != Some(ERROR_COLUMN))
            .map(|(c, _)| c.clone())
            .collect()
    }

    fn open(&mut self) -> Result<(), FailedRowsError> {
        let header = self.header_with_error();
        match self.format {
            FailedFormat::Csv => {
                let csv_err =
                    |source: csv::Error| FailedRowsError::Csv { path: self.path.clone(), source };
                let file = super::private::create(&self.path).map_err(|e| csv_err(e.into()))?;
                // Flexible: a row with more cells than the header keeps them all (after the
                // error column), rather than losing them or failing the file.
                let terminator = if self.dialect.crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                };
                let mut w = csv::WriterBuilder::new()
                    .flexible(true)
                    .delimiter(self.dialect.delimiter)
                    .terminator(terminator)
                    .from_writer(BufWriter::new(file));
                let guarded: Vec<_> = header.iter().map(|c| super::guard::guard(c)).collect();
                w.write_record(guarded.iter().map(|c| c.as_bytes())).map_err(csv_err)?;
                self.sink = Sink::Csv(Box::new(w));
            }
            FailedFormat::Xlsx => {
                let mut wb = rust_xlsxwriter::Workbook::new();
                let sheet = wb.add_worksheet();
                if let Some(name) = &self.sheet {
                    // A name Excel refuses (too long, odd characters) keeps the default one.
                    let _ = sheet.set_name(name);
                }
                for (col, name) in header.iter().enumerate() {
                    sheet.write_string(0, col as u16, name).map_err(|source| {
                        FailedRowsError::Xlsx { path: self.path.clone(), source }
                    })?;
                }
                self.sink = Sink::Xlsx(Box::new(wb), 1);
            }
        }
        Ok(())
    }

    /// Appends one failed row: its original cells and the reason.
    pub fn push(&mut self, outcome: &RowOutcome) -> Result<(), FailedRowsError> {
        if matches!(self.sink, Sink::None) {
            self.open()?;
        }
        let original = outcome.original.as_deref().unwrap_or(&[]);
        let mut cells = self.cells_of(original);
        let width = self.header_with_error().len() - 1;
        // Cells past the header's last column (a ragged row) follow the error column, so
        // that every column keeps its name and nothing the row held is lost.
        let extra = if cells.len() > width { cells.split_off(width) } else { Vec::new() };
        // A short row is padded so that zdbulk_error stays the last named column (written
        // short, the reason would sit under a data column, and become its value once a
        // spreadsheet re-saved the file with every row full width). The note before the
        // reason records the real cell count: reading the file back refuses the row again
        // while the padding is still empty (`input::short_row_note`). A row marked so in a
        // failed file being re-imported keeps its note.
        let note = if cells.len() < width {
            Some(short_row_note(cells.len(), width))
        } else {
            self.header
                .iter()
                .position(|h| h.as_str() == ERROR_COLUMN)
                .and_then(|e| original.get(e))
                .and_then(|old| short_row_cells(old))
                .map(|had| short_row_note(had, width))
        };
        cells.resize(width, String::new());
        let reason = match (&outcome.error_code, &outcome.message) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (None, Some(msg)) => msg.clone(),
            (Some(code), None) => code.clone(),
            (None, None) => outcome.status.as_str().to_string(),
        };
        cells.push(note.unwrap_or_default() + &reason);
        cells.extend(extra);
        let path = self.path.clone();
        match &mut self.sink {
            Sink::Csv(w) => {
                let guarded: Vec<_> = cells.iter().map(|c| super::guard::guard(c)).collect();
                let bytes = guarded.iter().map(|c| c.as_bytes());
                w.write_record(bytes).map_err(|source| FailedRowsError::Csv { path, source })?
            }
            Sink::Xlsx(wb, row) => {
                let sheet = wb
                    .worksheet_from_index(0)
                    .map_err(|source| FailedRowsError::Xlsx { path: path.clone(), source })?;
                for (col, value) in cells.iter().enumerate() {
                    sheet
                        .write_string(*row, col as u16, value)
                        .map_err(|source| FailedRowsError::Xlsx { path: path.clone(), source })?;
                }
                *row += 1;
            }
            Sink::None => {}
        }
        self.count += 1;
        Ok(())
    }

    /// How many rows were written.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Flushes the file; returns its path if any row failed.
    pub fn finish(self) -> Result<Option<PathBuf>, FailedRowsError> {
        let path = self.path;
        match self.sink {
            Sink::None => return Ok(None),
            Sink::Csv(mut w) => {
                w.flush()
                    .map_err(|e| FailedRowsError::Csv { path: path.clone(), source: e.into() })?;
                drop(w);
                super::dialect::transcode(&path, self.dialect.encoding)
                    .map_err(|e| FailedRowsError::Csv { path: path.clone(), source: e.into() })?
            }
            Sink::Xlsx(mut wb, _) => wb
                .save(&path)
                .map_err(|source| FailedRowsError::Xlsx { path: path.clone(), source })
                .and_then(|()| {
                    super::private::restrict(&path).map_err(|e| FailedRowsError::Xlsx {
                        path: path.clone(),
                        source: rust_xlsxwriter::XlsxError::IoError(e),
                    })
                })?,
        }
        Ok(Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{Action, RowStatus};

    fn failed(cells: &[&str], msg: &str) -> RowOutcome {
        let mut o = RowOutcome::new(0, 2, "k".into(), Action::None, RowStatus::Invalid);
        o.original = Some(cells.iter().map(|s| s.to_string()).collect());
        o.message = Some(msg.into());
        o
    }

    #[test]
    fn no_failures_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = FailedRows::create(dir.path(), FailedFormat::Csv, vec!["name".into()]).unwrap();
        assert_eq!(f.finish().unwrap(), None);
        assert!(!dir.path().join("failed.csv").exists());
    }

    #[test]
    fn a_rerun_file_replaces_its_old_error_column() {
        let dir = tempfile::tempdir().unwrap();
        let header = vec!["name".into(), ERROR_COLUMN.into(), "notes".into()];
        let mut f = FailedRows::create(dir.path(), FailedFormat::Csv, header).unwrap();
        f.push(&failed(&["Acme", "old reason", "n"], "new reason")).unwrap();
        f.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("failed.csv")).unwrap();
        assert_eq!(text, "name,notes,zdbulk_error\nAcme,n,new reason\n");
    }

    #[test]
    fn ragged_rows_keep_every_cell() {
        let dir = tempfile::tempdir().unwrap();
        let header = vec!["name".into(), "notes".into()];
        let mut f = FailedRows::create(dir.path(), FailedFormat::Csv, header).unwrap();
        f.push(&failed(&["Acme", "n", "extra 1", "extra 2"], "too many cells")).unwrap();
        f.push(&failed(&["Beta"], "too few cells")).unwrap();
        f.finish().unwrap();
        let text = std::fs::read_to_string(dir.path().join("failed.csv")).unwrap();
        assert_eq!(
            text,
            "name,notes,zdbulk_error\nAcme,n,too many cells,extra 1,extra 2\n\
             Beta,,[short row: 1 of 2 cells] too few cells\n"
        );
    }

    #[test]
    fn a_short_row_read_back_is_refused_until_its_cells_are_filled() {
        let dir = tempfile::tempdir().unwrap();
        let header = vec!["name".into(), "notes".into(), "tags".into()];
        for format in [FailedFormat::Csv, FailedFormat::Xlsx] {
            let mut f = FailedRows::create(dir.path(), format, header.clone()).unwrap();
            f.push(&failed(&["Beta"], "row 2 has 1 cells but the header has 3 columns")).unwrap();
            f.push(&failed(&["Gamma", "g"], "short too")).unwrap();
            f.push(&failed(&["Delta", "", ""], "not short")).unwrap();
            let path = f.finish().unwrap().unwrap();
            let rows: Vec<_> = crate::input::open_input(&path, None)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert_eq!(rows.len(), 3, "{format:?}");
            assert_eq!(rows[0].cells[..3], ["Beta", "", ""], "{format:?}");
            assert_eq!(
                rows[0].problem.as_deref(),
                Some(
                    "row 2 had 1 of 3 cells in the file it came from (zdbulk_error says so) and \
                     its missing cells 'notes', 'tags' are still empty: fill them in, or delete \
                     the note '[short row: 1 of 3 cells]' from zdbulk_error to import the row \
                     with those cells empty"
                ),
                "{format:?}"
            );
            assert!(rows[1].problem.as_deref().unwrap().contains("missing cells 'tags'"));
            assert_eq!(rows[2].problem, None, "{format:?}");

            // Filled in, the row reads clean; failing again, it keeps its note.
            let mut again = FailedRows::create(dir.path(), format, header_of(&path)).unwrap();
            let filled = failed(&["Beta", "", "vip", "[short row: 1 of 3 cells] old"], "x");
            again.push(&filled).unwrap();
            let path = again.finish().unwrap().unwrap();
            let rows: Vec<_> = crate::input::open_input(&path, None)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert_eq!(rows[0].cells, ["Beta", "", "vip", "[short row: 1 of 3 cells] x"]);
            assert_eq!(rows[0].problem, None, "{format:?}");
        }
    }

    fn header_of(path: &Path) -> Vec<String> {
        crate::input::open_input(path, None).unwrap().header().names()
    }

    #[test]
    fn xlsx_is_written_and_readable() {
        use calamine::{Reader, Xlsx};
        let dir = tempfile::tempdir().unwrap();
        let mut f =
            FailedRows::create(dir.path(), FailedFormat::Xlsx, vec!["name".into()]).unwrap();
        f.push(&failed(&["Acme"], "bad")).unwrap();
        let path = f.finish().unwrap().unwrap();
        let mut wb: Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let range = wb.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<Vec<String>> =
            range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        assert_eq!(rows, vec![vec!["name", "zdbulk_error"], vec!["Acme", "bad"]]);
    }
}
