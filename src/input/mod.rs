//! Input files: one row type out of CSV and XLSX readers, and the header mapping to API names.
//!
//! [`open_input`] picks a reader by extension (sniffing the ZIP magic for anything else), reads
//! the header row, and returns an [`Input`] that yields the data rows one at a time. The CSV
//! reader streams: memory does not grow with the file. The XLSX reader holds one sheet's cells
//! (calamine reads a sheet whole), which Excel's own limit of 1,048,576 rows bounds.
//!
//! A row that cannot be read as the header says (ragged, an Excel error cell) is not an `Err`:
//! it comes out as a [`Row`] whose `problem` says why, so validation can report that row
//! invalid and carry on (`style.md` §7.2: a bad row is data). `Err` items are reserved for
//! the file itself failing (I/O, a corrupt workbook).

mod csv;
mod encoding;
pub mod mapping;
mod xlsx;
pub use xlsx::sheet_names;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use encoding::TextEncoding;
pub use mapping::{
    map_header, Dialect, ListSeparator, MappedColumn, MappedHeader, MappingError, Renames,
};
pub use xlsx::{cell_to_string, CellProblem};

/// One data row as the user sees it in their file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// The row number a spreadsheet shows for this row: the header is row 1 when it is the
    /// file's first row, the first data row after it row 2. Rows that hold nothing are skipped
    /// but keep their numbers, so they do not shift the rows after them. For CSV a record is
    /// one row even when a quoted value spans several lines, and a blank line is an (empty)
    /// row, as a spreadsheet opening the file shows them. For XLSX it is the sheet's own row
    /// number.
    pub number: usize,
    /// The cell values, untrimmed, one per header column (more or fewer only when `problem`
    /// says the row is ragged). Empty cells are `""`.
    pub cells: Vec<String>,
    /// Why this row cannot be used as read (ragged row, Excel error cell), if it cannot.
    /// Validation reports such a row invalid with this message.
    pub problem: Option<String>,
}

impl Row {
    /// Adds a problem to the row, keeping any earlier one (joined with `; `).
    fn add_problem(&mut self, problem: String) {
        self.problem = Some(match self.problem.take() {
            Some(earlier) => format!("{earlier}; {problem}"),
            None => problem,
        });
    }
}

/// The note `failed.csv` puts at the start of a short row's `zdbulk_error`: the row is written
/// padded (so `zdbulk_error` stays in its column, also after a spreadsheet re-saves the
/// file), and this note records how many cells it really had. Reading the file back, a row
/// whose note says so and whose missing cells are all still empty is refused again, instead
/// of importing the padding as empty cells ("leave as it is", or with `--empty-cells clear`,
/// "clear it").
pub fn short_row_note(cells: usize, columns: usize) -> String {
    format!("{SHORT_ROW_NOTE}{cells} of {columns} cells] ")
}

const SHORT_ROW_NOTE: &str = "[short row: ";

/// The cell count a [`short_row_note`] at the start of `text` records.
pub fn short_row_cells(text: &str) -> Option<usize> {
    let rest = text.trim_start().strip_prefix(SHORT_ROW_NOTE)?;
    let (count, _) = rest.split_once(" of ")?;
    count.parse().ok()
}

/// One header column as written in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Zero-based position of the column in every row's `cells`.
    pub index: usize,
    /// The header text as written (a leading byte-order mark removed, nothing trimmed).
    pub name: String,
}

/// The header row of an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The columns, in file order.
    pub columns: Vec<Column>,
    /// The row number of the header itself (1 unless the file starts with empty rows or
    /// records).
    pub row: usize,
}

impl Header {
    /// The raw header names in file order, as [`map_header`] takes them.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    fn from_names(names: Vec<String>, row: usize) -> Header {
        let columns =
            names.into_iter().enumerate().map(|(index, name)| Column { index, name }).collect();
        Header { columns, row }
    }
}

/// Which reader read the file, and how; the failed-rows writer mirrors it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputFormat {
    /// Delimited text.
    Csv {
        /// The field delimiter found in the header lines (`,` `;` tab or `|`).
        delimiter: u8,
        /// The text encoding the file was read in.
        encoding: TextEncoding,
    },
    /// An Excel workbook.
    Xlsx {
        /// The sheet that was read.
        sheet: String,
    },
}

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or its first bytes read.
    #[error("cannot open {}", path.display())]
    Open {
        /// The input file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Reading CSV records failed part-way (an I/O error, not a bad value).
    #[error("cannot read {} at row {row}", path.display())]
    Csv {
        /// The input file.
        path: PathBuf,
        /// The row that was being read.
        row: usize,
        /// What the CSV reader said.
        #[source]
        source: ::csv::Error,
    },
    /// The workbook could not be opened or the sheet read.
    #[error("cannot read workbook {}", path.display())]
    Xlsx {
        /// The input file.
        path: PathBuf,
        /// What calamine said.
        #[source]
        source: calamine::XlsxError,
    },
    /// `--sheet` names a sheet the workbook does not have.
    #[error("no sheet '{sheet}' in {}: the sheets are {}", path.display(), quoted_list(available))]
    NoSheet {
        /// The input file.
        path: PathBuf,
        /// The sheet asked for.
        sheet: String,
        /// The workbook's sheets, in order.
        available: Vec<String>,
    },
    /// The file (or sheet) has no header row.
    #[error("{} is empty: expected a header row", path.display())]
    Empty {
        /// The input file.
        path: PathBuf,
    },
    /// Two header cells carry the same name (compared trimmed, ignoring case).
    #[error("column '{column}' appears twice in the header of {}", path.display())]
    DuplicateColumn {
        /// The input file.
        path: PathBuf,
        /// The repeated header name.
        column: String,
    },
    /// A spreadsheet format zdbulk does not read.
    #[error("cannot read {}: {reason}", path.display())]
    Unsupported {
        /// The input file.
        path: PathBuf,
        /// What to do instead.
        reason: String,
    },
}

fn quoted_list(items: &[String]) -> String {
    items.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

/// An open input file: its header, format and warnings, and an iterator over its data rows.
///
/// Rows come out in file order; fully empty rows are skipped (they hold nothing to import, and
/// spreadsheets leave them behind). After an `Err` item the iterator ends.
pub struct Input {
    path: PathBuf,
    format: InputFormat,
    header: Header,
    warnings: Vec<String>,
    rows: Rows,
    /// The position of a `zdbulk_error` column (a failed-rows file read back), if any.
    error_column: Option<usize>,
}

enum Rows {
    Csv(Box<csv::CsvRows>),
    Xlsx(xlsx::XlsxRows),
}

impl Input {
    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The reader used and its settings (delimiter, encoding, sheet).
    pub fn format(&self) -> &InputFormat {
        &self.format
    }

    /// The header row.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Warnings for the user, e.g. `file is not UTF-8; read as Windows-1252`. Most are known
    /// once the file is open; a CSV whose first megabyte is UTF-8 but a later row is not adds
    /// one while reading, so print them again (or only) after the last row.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl Input {
    /// Reads the next data row into `row`, reusing its cells' buffers (a CSV row then costs
    /// no allocation); `false` at the end. The iterator allocates a fresh row each time.
    pub fn read_row(&mut self, row: &mut Row) -> Result<bool, InputError> {
        let read = match &mut self.rows {
            Rows::Csv(rows) => rows.read_row(row, &mut self.warnings)?,
            Rows::Xlsx(rows) => rows.next_row().map(|next| *row = next).is_some(),
        };
        if read {
            if let Some(column) = self.error_column {
                self.check_short_row_note(column, row);
            }
        }
        Ok(read)
    }

    /// Refuses a row that a failed-rows file marked short while its missing cells are still
    /// all empty: the padding was zdbulk's, not the user's.
    fn check_short_row_note(&self, error_column: usize, row: &mut Row) {
        let Some(had) = row.cells.get(error_column).and_then(|note| short_row_cells(note)) else {
            return;
        };
        let data: Vec<usize> =
            (0..self.header.columns.len()).filter(|&i| i != error_column).collect();
        let missing = data.get(had..).unwrap_or_default();
        if missing.is_empty()
            || missing.iter().any(|&i| row.cells.get(i).is_some_and(|c| !c.trim().is_empty()))
        {
            return;
        }
        let names: Vec<String> =
            missing.iter().map(|&i| format!("'{}'", self.header.columns[i].name)).collect();
        row.add_problem(format!(
            "row {} had {had} of {} cells in the file it came from (zdbulk_error says so) and \
             its missing cells {} are still empty: fill them in, or delete the note \
             '{}' from zdbulk_error to import the row with those cells empty",
            row.number,
            data.len(),
            names.join(", "),
            short_row_note(had, data.len()).trim_end(),
        ));
    }
}

impl Iterator for Input {
    type Item = Result<Row, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut row = Row { number: 0, cells: Vec::new(), problem: None };
        match self.read_row(&mut row) {
            Ok(true) => Some(Ok(row)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Opens a CSV or XLSX file and reads its header row.
///
/// A file's size and CRC-32, as `bytes:crc`: the journal keeps it so that `zdbulk resume`
/// refuses an input file that changed since the run started.
pub fn fingerprint(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(format!("{bytes}:{:08x}", hasher.finalize()))
}

/// What a file's first bytes say it is.
enum Sniffed {
    /// A ZIP archive: an XLSX workbook.
    Zip,
    /// Text (in any encoding the CSV reader takes).
    Text,
    /// Something zdbulk cannot read, and what it is.
    Refused(String),
}

fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(b"PK\x03\x04") {
        return Sniffed::Zip;
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Sniffed::Refused(
            "it is an old Excel 97-2003 (.xls) workbook; save it as .xlsx or .csv".into(),
        );
    }
    let boms: [&[u8]; 3] = [b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF"];
    if boms.iter().any(|b| head.starts_with(b)) {
        return Sniffed::Text;
    }
    let zeros = head.iter().filter(|b| **b == 0).count();
    if zeros == 0 {
        return Sniffed::Text;
    }
    // Every other byte zero: UTF-16 text whose byte-order mark is missing.
    let odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    let even = head.iter().step_by(2).filter(|b| **b == 0).count();
    if head.len() >= 4 && (odd * 10 >= head.len() * 4 || even * 10 >= head.len() * 4) {
        return Sniffed::Refused(
            "it looks like UTF-16 text without a byte-order mark; save it as UTF-8 (or UTF-16 with a BOM)".into(),
        );
    }
    Sniffed::Refused("it holds binary data, not CSV text or an XLSX workbook".into())
}

/// `.csv`, `.tsv` and `.txt` are read as CSV; `.xlsx` and `.xlsm` as a workbook (its first sheet,
/// or `sheet`); any other name by its first bytes: a ZIP archive is a workbook, anything else
/// CSV. `sheet` is ignored for CSV.
pub fn open_input(path: &Path, sheet: Option<&str>) -> Result<Input, InputError> {
    let open_err = |source| InputError::Open { path: path.to_path_buf(), source };
    let mut file = File::open(path).map_err(open_err)?;
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if let Some(other @ ("xls" | "xlsb" | "ods" | "numbers")) = ext.as_deref() {
        return Err(InputError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(".{other} files are not supported; save it as .xlsx or .csv"),
        });
    }
    // What the file is, from its first bytes, whatever its name says.
    let mut head = vec![0u8; 4096];
    let n = read_up_to(&mut file, &mut head).map_err(open_err)?;
    head.truncate(n);
    // Rewinding a fresh File cannot fail in practice, but reopening is simpler than reasoning
    // about it and costs one syscall.
    file = File::open(path).map_err(open_err)?;
    let mut warnings = Vec::new();
    let named = ext.as_deref().unwrap_or("");
    let is_workbook = match sniff(&head) {
        Sniffed::Zip => {
            if matches!(named, "csv" | "tsv" | "txt") {
                warnings.push(format!(
                    "{} is named .{named} but is an XLSX workbook (a ZIP file); read as XLSX",
                    path.display()
                ));
            }
            true
        }
        Sniffed::Text => {
            if matches!(named, "xlsx" | "xlsm") {
                warnings.push(format!(
                    "{} is named .{named} but holds CSV text; read as CSV",
                    path.display()
                ));
            }
            false
        }
        Sniffed::Refused(reason) => {
            return Err(InputError::Unsupported { path: path.to_path_buf(), reason })
        }
    };
    let header_check = |header: &Header| check_duplicates(path, header);
    if is_workbook {
        let (header, rows, sheet) = xlsx::open(path, file, sheet)?;
        header_check(&header)?;
        Ok(Input {
            path: path.to_path_buf(),
            format: InputFormat::Xlsx { sheet },
            warnings,
            rows: Rows::Xlsx(rows),
            error_column: error_column(&header),
            header,
        })
    } else {
        if let Some(sheet) = sheet {
            return Err(InputError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("--sheet '{sheet}' is for XLSX workbooks, and this file is CSV text: leave --sheet out"),
            });
        }
        let mut opened = csv::open(path, file)?;
        header_check(&opened.header)?;
        warnings.append(&mut opened.warnings);
        opened.warnings = warnings;
        Ok(Input {
            path: path.to_path_buf(),
            format: InputFormat::Csv { delimiter: opened.delimiter, encoding: opened.encoding },
            error_column: error_column(&opened.header),
            header: opened.header,
            warnings: opened.warnings,
            rows: Rows::Csv(Box::new(opened.rows)),
        })
    }
}

/// The position of the `zdbulk_error` column, compared as the header mapping compares it.
fn error_column(header: &Header) -> Option<usize> {
    header.columns.iter().position(|c| c.name.trim().eq_ignore_ascii_case(mapping::ERROR_COLUMN))
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Rejects a header that names the same column twice. Aliases of one column (`email` and
/// `emails`) are [`map_header`]'s to find; this catches the plain repeats. Blank header cells
/// are not names, so several of them are fine.
fn check_duplicates(path: &Path, header: &Header) -> Result<(), InputError> {
    let mut seen = std::collections::HashSet::new();
    for column in &header.columns {
        let name = column.name.trim().to_lowercase();
        if !name.is_empty() && !seen.insert(name) {
            return Err(InputError::DuplicateColumn {
                path: path.to_path_buf(),
                column: column.name.trim().to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
