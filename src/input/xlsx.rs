//! The XLSX reader (calamine): one sheet, its first non-empty row as the header, and one
//! function that turns every kind of cell into the text a CSV would have held.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{
    Cell, CellErrorType, Data, DataRef, ExcelDateTime, ExcelDateTimeType, Range, Reader, Xlsx,
    XlsxError,
};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike};

use super::{Header, InputError, Row};

/// Days between Excel's 1900 and 1904 date systems.
const EXCEL_1904_OFFSET_DAYS: f64 = 1462.0;
/// Whole floats below this magnitude are exact integers in an f64 (2^53); from it on, an f64
/// cannot tell neighbouring integers apart (2^53 + 1 is stored as 2^53), so a whole number
/// this large may be a rounded version of what was typed.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// The data rows of one sheet. calamine reads a sheet whole, so the cells are held here and
/// turned into rows one at a time.
pub(super) struct XlsxRows {
    range: Range<Data>,
    header_names: Vec<String>,
    /// Formulas whose cell holds no computed value (a file written by a program that does not
    /// calculate formulas), by absolute (row, column); calamine reads such a cell as empty.
    uncomputed: BTreeMap<(u32, u32), String>,
    /// The absolute column of the table's first column (the range's first column).
    first_column: u32,
    /// How many columns a row is read across: the range's, widened to any uncomputed formula.
    width: u32,
    /// The next absolute row (0-based) to read.
    next: u32,
    /// The last absolute row (0-based) that holds a value or an uncomputed formula.
    last: u32,
}

/// Opens the workbook in `file` and reads the chosen sheet's header. Returns the header, the
/// rows, and the sheet's name.
///
/// calamine panics on some damaged workbooks (a shared-string index past the table, a cell
/// reference too long for a number); such a panic is caught here and becomes an error that
/// names the file, as a damaged ZIP archive does.
pub(super) fn open(
    path: &Path,
    file: File,
    sheet: Option<&str>,
) -> Result<(Header, XlsxRows, String), InputError> {
    let opened =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| open_workbook(path, file, sheet)));
    opened.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(InputError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "the workbook is damaged (the XLSX reader failed: {what}); open it in Excel \
                 and save it again, or save the sheet as .csv"
            ),
        })
    })
}

fn open_workbook(
    path: &Path,
    file: File,
    sheet: Option<&str>,
) -> Result<(Header, XlsxRows, String), InputError> {
    let xlsx_err = |source| InputError::Xlsx { path: path.to_path_buf(), source };
    let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(file)).map_err(xlsx_err)?;
    let names = workbook.sheet_names();
    let name = match sheet {
        None => {
            names.first().cloned().ok_or_else(|| InputError::Empty { path: path.to_path_buf() })?
        }
        Some(wanted) => pick_sheet(&names, wanted).ok_or_else(|| InputError::NoSheet {
            path: path.to_path_buf(),
            sheet: wanted.to_string(),
            available: names.clone(),
        })?,
    };
    let (range, formulas) = read_sheet(&mut workbook, &name, path)?;
    // `start` is the absolute (row, column) of the range's first cell; the range begins at the
    // first used cell, not necessarily A1.
    let (Some((start_row, first_column)), Some((end_row, end_column))) =
        (range.start(), range.end())
    else {
        return Err(InputError::Empty { path: path.to_path_buf() });
    };
    // A second pass over the sheet, for the formulas: a formula saved without its result
    // (openpyxl and other libraries that do not calculate) has no value, and calamine reads
    // it as an empty cell — which would mean "leave as it is" instead of what the user meant.
    let (top, left) = formulas.start().unwrap_or_default();
    let uncomputed: BTreeMap<(u32, u32), String> = formulas
        .used_cells()
        .filter_map(|(r, c, formula)| {
            let at = (top + r as u32, left + c as u32);
            let has_value = range.get_value(at).is_some_and(|v| !matches!(v, Data::Empty));
            (!formula.is_empty() && !has_value && at.1 >= first_column)
                .then(|| (at, formula.clone()))
        })
        .collect();
    let last = uncomputed.keys().map(|&(r, _)| r).max().unwrap_or(end_row).max(end_row);
    let right = uncomputed.keys().map(|&(_, c)| c).max().unwrap_or(end_column).max(end_column);
    let mut rows = XlsxRows {
        range,
        header_names: Vec::new(),
        uncomputed,
        first_column,
        width: right - first_column + 1,
        next: start_row,
        last,
    };
    let (header_row, mut names) = loop {
        let Some((number, cells)) = rows.next_cells() else {
            return Err(InputError::Empty { path: path.to_path_buf() });
        };
        if cells.iter().any(|c| !c.is_empty()) {
            break (number, cells);
        }
    };
    // Formulas above and in the header row are not data (a title cell, a header formula).
    rows.uncomputed.retain(|&(row, _), _| row as usize + 1 > header_row);
    // The range is as wide as the widest row; header cells past the last name are not columns.
    let width = names.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
    names.truncate(width);
    rows.header_names = names.clone();
    Ok((Header::from_names(names, header_row), rows, name))
}

/// How many cells the rectangle a sheet's cells span may hold for every cell in use, past
/// [`SPAN_FLOOR`]. calamine allocates the whole rectangle, so one stray cell at XFD1048576
/// would ask for 17 billion cells and abort the process; a real table, however sparse, fills
/// far more than one cell in 64.
const SPAN_PER_CELL: u64 = 64;
/// A rectangle this small is always read, whatever few cells it holds.
const SPAN_FLOOR: u64 = 1 << 22;

/// Reads the values and the formulas of sheet `name`, as `worksheet_range` and
/// `worksheet_formula` do, but from the cells one at a time, so that a sheet whose cells span
/// a rectangle far larger than they fill is refused instead of allocated.
fn read_sheet(
    workbook: &mut Xlsx<BufReader<File>>,
    name: &str,
    path: &Path,
) -> Result<(Range<Data>, Range<String>), InputError> {
    let xlsx_err = |source| InputError::Xlsx { path: path.to_path_buf(), source };
    let mut values: Vec<Cell<Data>> = Vec::new();
    let mut formulas: Vec<Cell<String>> = Vec::new();
    // A chart sheet is no worksheet: it reads as empty, as `worksheet_range` reads it.
    match workbook.worksheet_cells_reader(name) {
        Ok(mut reader) => {
            while let Some(cell) = reader.next_cell().map_err(xlsx_err)? {
                if !matches!(cell.get_value(), DataRef::Empty) {
                    values.push(Cell::new(cell.get_position(), cell.get_value().clone().into()));
                }
            }
        }
        Err(XlsxError::NotAWorksheet(_)) => {}
        Err(e) => return Err(xlsx_err(e)),
    }
    match workbook.worksheet_cells_reader(name) {
        Ok(mut reader) => {
            while let Some(cell) = reader.next_formula().map_err(xlsx_err)? {
                if !cell.get_value().is_empty() {
                    formulas.push(cell);
                }
            }
        }
        Err(XlsxError::NotAWorksheet(_)) => {}
        Err(e) => return Err(xlsx_err(e)),
    }
    let positions = values.iter().map(Cell::get_position);
    let positions = positions.chain(formulas.iter().map(Cell::get_position));
    let bounds = positions.fold(None, |b: Option<((u32, u32), (u32, u32))>, (r, c)| {
        Some(match b {
            None => ((r, c), (r, c)),
            Some(((r0, c0), (r1, c1))) => ((r0.min(r), c0.min(c)), (r1.max(r), c1.max(c))),
        })
    });
    if let Some(((top, left), (bottom, right))) = bounds {
        let span = (u64::from(bottom - top) + 1) * (u64::from(right - left) + 1);
        let used = (values.len() + formulas.len()) as u64;
        if span > SPAN_FLOOR && span > used.saturating_mul(SPAN_PER_CELL) {
            let at = |r: u32, c: u32| format!("{}{}", column_letters(c as usize), u64::from(r) + 1);
            return Err(InputError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "sheet '{name}' has cells from {} to {}, a rectangle of {span} cells of \
                     which only {used} are used: delete the rows and columns outside the \
                     table (or save the table as .csv) and try again",
                    at(top, left),
                    at(bottom, right),
                ),
            });
        }
    }
    Ok((Range::from_sparse(values), Range::from_sparse(formulas)))
}

/// The sheet named `wanted`: an exact match, else the only case-insensitive one.
fn pick_sheet(names: &[String], wanted: &str) -> Option<String> {
    if let Some(exact) = names.iter().find(|n| *n == wanted) {
        return Some(exact.clone());
    }
    let mut folded = names.iter().filter(|n| n.trim().eq_ignore_ascii_case(wanted.trim()));
    match (folded.next(), folded.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

impl XlsxRows {
    /// The next row with any value (or uncomputed formula) in it, or `None` after the last.
    /// Empty rows, trailing ones included, are skipped: they hold nothing to import. Rows keep
    /// the sheet's own numbers, so a skipped row does not shift the ones after it.
    pub(super) fn next_row(&mut self) -> Option<Row> {
        loop {
            let (number, raw) = self.next_raw()?;
            let absolute = (number - 1) as u32;
            let formulas = self.formulas_in(absolute);
            if formulas.is_empty() && raw.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            return Some(self.to_row(number, &raw, &formulas));
        }
    }

    /// The uncomputed formulas of absolute row `row`, as (index in the row, formula).
    fn formulas_in(&self, row: u32) -> Vec<(usize, String)> {
        self.uncomputed
            .range((row, 0)..=(row, u32::MAX))
            .map(|(&(_, column), formula)| ((column - self.first_column) as usize, formula.clone()))
            .collect()
    }

    /// The next sheet row's cells (empty ones as [`Data::Empty`]) and its 1-based number.
    fn next_raw(&mut self) -> Option<(usize, Vec<Data>)> {
        if self.next > self.last {
            return None;
        }
        let row = self.next;
        self.next += 1;
        let cells = (0..self.width)
            .map(|c| {
                self.range.get_value((row, self.first_column + c)).cloned().unwrap_or(Data::Empty)
            })
            .collect();
        Some((row as usize + 1, cells))
    }

    /// Like `next_raw`, converted; for the header (an error cell there becomes its text and
    /// fails mapping as an unknown column).
    fn next_cells(&mut self) -> Option<(usize, Vec<String>)> {
        let (number, raw) = self.next_raw()?;
        let cells = raw.iter().map(|c| cell_to_string(c).unwrap_or_else(|e| e.to_string()));
        Some((number, cells.collect()))
    }

    /// The name of the column at `index`: the header's, or the sheet's column letters past it.
    fn column_name(&self, index: usize) -> String {
        match self.header_names.get(index) {
            Some(name) => name.clone(),
            None => column_letters(self.first_column as usize + index),
        }
    }

    fn to_row(&self, number: usize, raw: &[Data], formulas: &[(usize, String)]) -> Row {
        let columns = self.header_names.len();
        let used = raw
            .iter()
            .rposition(|c| !matches!(c, Data::Empty))
            .map_or(0, |i| i + 1)
            .max(formulas.iter().map(|(i, _)| i + 1).max().unwrap_or(0));
        let mut row = Row { number, cells: Vec::with_capacity(columns), problem: None };
        for (index, cell) in raw.iter().take(columns.max(used)).enumerate() {
            match cell_to_string(cell) {
                Ok(text) => row.cells.push(text),
                Err(problem) => {
                    let column = self.column_name(index);
                    row.add_problem(problem.describe(&column, number));
                    // Keep what was there so the failed-rows file shows it.
                    row.cells.push(problem.text());
                }
            }
        }
        row.cells.resize(columns.max(used), String::new());
        for (index, formula) in formulas {
            let column = self.column_name(*index);
            row.add_problem(format!(
                "column '{column}' (row {number}) holds the formula '={formula}' with no \
                 computed value (the file was saved by a program that does not calculate \
                 formulas); open and save it in Excel, or replace the formulas by their values"
            ));
            // The formula, not an empty cell, goes to the failed-rows file; written there it
            // is neutralised like any cell starting with `=`.
            if let Some(cell) = row.cells.get_mut(*index) {
                *cell = format!("={formula}");
            }
        }
        if used > columns {
            row.add_problem(format!(
                "row {number} has {used} cells but the header has {columns} columns"
            ));
        }
        row
    }
}

/// The spreadsheet letters of a 0-based column index: 0 is `A`, 26 is `AA`.
fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Why a cell cannot be read as text.
#[derive(Debug, Clone, PartialEq)]
pub enum CellProblem {
    /// The cell holds an Excel error (`#DIV/0!`, `#N/A`, …).
    Error(CellErrorType),
    /// The cell holds a whole number too large for a spreadsheet to keep exactly (2^53 or
    /// more in magnitude): what was typed may already have been rounded.
    InexactNumber(f64),
}

impl CellProblem {
    /// The cell's text as the failed-rows file shows it.
    pub fn text(&self) -> String {
        match self {
            CellProblem::Error(e) => e.to_string(),
            CellProblem::InexactNumber(f) => format!("{f}"),
        }
    }

    /// The row problem for this cell in `column` of row `row`.
    fn describe(&self, column: &str, row: usize) -> String {
        match self {
            CellProblem::Error(e) => {
                format!("column '{column}' (row {row}) holds the Excel error {e}")
            }
            CellProblem::InexactNumber(f) => format!(
                "column '{column}' (row {row}) holds the number {f}, too large for Excel to keep \
                 exactly (it keeps 15 to 17 digits; the value may already be rounded): format \
                 the column as Text in Excel, type the value again, and save"
            ),
        }
    }
}

impl std::fmt::Display for CellProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// Turns one cell into the text a CSV would hold, or the Excel error it holds.
///
/// Whole floats print as integers (`1234`, not `1234.0`: ids typed into Excel are floats);
/// dates print as `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS` when they have a time; times alone
/// (a serial below 1) as `HH:MM:SS`; durations as `H:MM:SS`.
pub fn cell_to_string(cell: &Data) -> Result<String, CellProblem> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() >= MAX_EXACT_INT => {
            return Err(CellProblem::InexactNumber(*f))
        }
        Data::Float(f) => float_to_string(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => datetime_to_string(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(CellProblem::Error(e.clone())),
    })
}

fn float_to_string(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < MAX_EXACT_INT {
        // Exact: the value is a whole number well inside i64.
        (f as i64).to_string()
    } else {
        // Display is the shortest text that reads back as the same f64.
        f.to_string()
    }
}

fn datetime_to_string(dt: &ExcelDateTime) -> String {
    let value = dt.as_f64();
    // calamine keeps the date system and the kind private unless its `dates` feature is on;
    // comparing with values built through its public constructor recovers both.
    let is_1904 = [ExcelDateTimeType::DateTime, ExcelDateTimeType::TimeDelta]
        .into_iter()
        .any(|kind| *dt == ExcelDateTime::new(value, kind, true));
    let is_duration = *dt == ExcelDateTime::new(value, ExcelDateTimeType::TimeDelta, is_1904);
    if is_duration {
        return duration_to_string(value);
    }
    let mut serial = if is_1904 { value + EXCEL_1904_OFFSET_DAYS } else { value };
    if !is_1904 && (0.0..1.0).contains(&serial) {
        // A time of day with no date (Excel's day 0 is not a real date).
        return duration_to_string(serial);
    }
    // Excel counts 1900-02-29, which did not exist; serials before it are one day off.
    if serial < 60.0 {
        serial += 1.0;
    }
    let seconds = (serial * 86_400.0).round();
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|d| d.and_hms_opt(0, 0, 0));
    let moment: Option<NaiveDateTime> = epoch.and_then(|e| {
        // Saturating cast: an absurd serial fails checked_add below instead of wrapping.
        e.checked_add_signed(TimeDelta::try_seconds(seconds as i64)?)
    });
    match moment {
        Some(m) if m.num_seconds_from_midnight() == 0 => m.format("%Y-%m-%d").to_string(),
        Some(m) => m.format("%Y-%m-%dT%H:%M:%S").to_string(),
        None => float_to_string(value),
    }
}

fn duration_to_string(days: f64) -> String {
    let total = (days * 86_400.0).round() as i64;
    let sign = if total < 0 { "-" } else { "" };
    let total = total.unsigned_abs();
    format!("{sign}{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(value: f64) -> Data {
        Data::DateTime(ExcelDateTime::new(value, ExcelDateTimeType::DateTime, false))
    }

    #[test]
    fn empty_is_empty_text() {
        assert_eq!(cell_to_string(&Data::Empty), Ok(String::new()));
    }

    #[test]
    fn string_is_kept_as_is() {
        let text = "  Acme, Inc. ";
        assert_eq!(cell_to_string(&Data::String(text.into())), Ok(text.to_string()));
    }

    #[test]
    fn whole_floats_print_as_integers() {
        assert_eq!(cell_to_string(&Data::Float(1234.0)), Ok("1234".into()));
        assert_eq!(cell_to_string(&Data::Float(-7.0)), Ok("-7".into()));
        assert_eq!(
            cell_to_string(&Data::Float(9_007_199_254_740_991.0)),
            Ok("9007199254740991".into())
        );
    }

    #[test]
    fn other_floats_print_shortest_round_trip() {
        assert_eq!(cell_to_string(&Data::Float(12.5)), Ok("12.5".into()));
        assert_eq!(cell_to_string(&Data::Float(0.1)), Ok("0.1".into()));
        // A large number with a fraction is a decimal, kept to the digits the f64 holds.
        assert_eq!(
            cell_to_string(&Data::Float(4_503_599_627_370_495.5)),
            Ok("4503599627370495.5".into())
        );
        assert_eq!(cell_to_string(&Data::Float(-1.5e-7)), Ok("-0.00000015".into()));
    }

    #[test]
    fn whole_numbers_from_two_to_the_53_are_refused_not_rounded() {
        // 12345678901234567890 typed into Excel is stored as the nearest f64; printing that
        // as digits would import a different id than the one typed.
        for f in
            [12_345_678_901_234_567_890.0, 9_007_199_254_740_992.0, -9_007_199_254_740_993.0, 1e20]
        {
            assert_eq!(cell_to_string(&Data::Float(f)), Err(CellProblem::InexactNumber(f)), "{f}");
        }
        let problem = CellProblem::InexactNumber(12_345_678_901_234_567_890.0);
        assert_eq!(problem.text(), "12345678901234567000");
        let message = problem.describe("external_id", 7);
        assert!(
            message.starts_with(
                "column 'external_id' (row 7) holds the number 12345678901234567000, too large"
            ),
            "{message}"
        );
        assert!(message.contains("format the column as Text in Excel"), "{message}");
    }

    #[test]
    fn column_letters_count_like_a_spreadsheet() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn int_prints_digits() {
        assert_eq!(cell_to_string(&Data::Int(360_000_123_456)), Ok("360000123456".into()));
    }

    #[test]
    fn bool_prints_true_false() {
        assert_eq!(cell_to_string(&Data::Bool(true)), Ok("true".into()));
        assert_eq!(cell_to_string(&Data::Bool(false)), Ok("false".into()));
    }

    #[test]
    fn datetime_prints_date_or_date_and_time() {
        // 45306 is 2024-01-15 in the 1900 system.
        assert_eq!(cell_to_string(&date(45306.0)), Ok("2024-01-15".into()));
        assert_eq!(cell_to_string(&date(45306.75)), Ok("2024-01-15T18:00:00".into()));
        // Float noise from Excel rounds to the second.
        assert_eq!(cell_to_string(&date(44484.7916666667)), Ok("2021-10-15T19:00:00".into()));
        assert_eq!(cell_to_string(&date(25569.0)), Ok("1970-01-01".into()));
        assert_eq!(cell_to_string(&date(0.5)), Ok("12:00:00".into()));
    }

    #[test]
    fn datetime_in_the_1904_system() {
        let d = Data::DateTime(ExcelDateTime::new(43844.0, ExcelDateTimeType::DateTime, true));
        assert_eq!(cell_to_string(&d), Ok("2024-01-15".into()));
    }

    #[test]
    fn duration_prints_hours_minutes_seconds() {
        let d = Data::DateTime(ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false));
        assert_eq!(cell_to_string(&d), Ok("36:00:00".into()));
    }

    #[test]
    fn iso_texts_are_kept() {
        let dt = "2024-01-15T10:00:00";
        assert_eq!(cell_to_string(&Data::DateTimeIso(dt.into())), Ok(dt.to_string()));
        assert_eq!(cell_to_string(&Data::DurationIso("PT1H30M".into())), Ok("PT1H30M".into()));
    }

    #[test]
    fn error_cells_are_errors() {
        let e = cell_to_string(&Data::Error(CellErrorType::Div0)).unwrap_err();
        assert_eq!(e.to_string(), "#DIV/0!");
        let e = cell_to_string(&Data::Error(CellErrorType::NA)).unwrap_err();
        assert_eq!(e.to_string(), "#N/A");
    }

    #[test]
    fn sheets_match_exactly_then_ignoring_case() {
        let names = vec!["Users".to_string(), "users2".to_string()];
        assert_eq!(pick_sheet(&names, "Users"), Some("Users".into()));
        assert_eq!(pick_sheet(&names, "USERS"), Some("Users".into()));
        assert_eq!(pick_sheet(&names, "Orgs"), None);
    }
}
