//! The XLSX reader (calamine): one sheet, its first non-empty row as the header, and one
//! function that turns every kind of cell into the text a CSV would have held.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{CellErrorType, Data, ExcelDateTime, ExcelDateTimeType, Range, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike};

use super::{Header, InputError, Row};

/// Days between Excel's 1900 and 1904 date systems.
const EXCEL_1904_OFFSET_DAYS: f64 = 1462.0;
/// Floats up to this magnitude are exact integers in an f64 (2^53).
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// The data rows of one sheet. calamine reads a sheet whole, so the cells are held here and
/// turned into rows one at a time.
pub(super) struct XlsxRows {
    range: Range<Data>,
    header_names: Vec<String>,
    /// The sheet row number (1-based) of the range's first row.
    first_row: usize,
    /// The next range row (0-based) to read.
    next: usize,
}

/// Opens the workbook in `file` and reads the chosen sheet's header. Returns the header, the
/// rows, and the sheet's name.
pub(super) fn open(
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
    let range = workbook.worksheet_range(&name).map_err(xlsx_err)?;
    // `start` is the absolute (row, column) of the range's first cell; the range begins at the
    // first used cell, not necessarily A1.
    let Some((start_row, _)) = range.start() else {
        return Err(InputError::Empty { path: path.to_path_buf() });
    };
    let mut rows =
        XlsxRows { range, header_names: Vec::new(), first_row: start_row as usize + 1, next: 0 };
    let (header_row, mut names) = loop {
        let Some((number, cells)) = rows.next_cells() else {
            return Err(InputError::Empty { path: path.to_path_buf() });
        };
        if cells.iter().any(|c| !c.is_empty()) {
            break (number, cells);
        }
    };
    // The range is as wide as the widest row; header cells past the last name are not columns.
    let width = names.iter().rposition(|c| !c.is_empty()).map_or(0, |i| i + 1);
    names.truncate(width);
    rows.header_names = names.clone();
    Ok((Header::from_names(names, header_row), rows, name))
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
    /// The next row with any value in it, or `None` after the last. Empty rows, trailing ones
    /// included, are skipped: they hold nothing to import.
    pub(super) fn next_row(&mut self) -> Option<Row> {
        loop {
            let (number, raw) = self.next_raw()?;
            if raw.iter().all(|c| matches!(c, Data::Empty)) {
                continue;
            }
            return Some(self.to_row(number, &raw));
        }
    }

    fn next_raw(&mut self) -> Option<(usize, Vec<Data>)> {
        let (height, width) = self.range.get_size();
        if self.next >= height {
            return None;
        }
        let r = self.next;
        self.next += 1;
        let cells =
            (0..width).map(|c| self.range.get((r, c)).cloned().unwrap_or(Data::Empty)).collect();
        Some((self.first_row + r, cells))
    }

    /// Like `next_raw`, converted; for the header (an error cell there becomes its text and
    /// fails mapping as an unknown column).
    fn next_cells(&mut self) -> Option<(usize, Vec<String>)> {
        let (number, raw) = self.next_raw()?;
        let cells = raw.iter().map(|c| cell_to_string(c).unwrap_or_else(|e| e.to_string()));
        Some((number, cells.collect()))
    }

    fn to_row(&self, number: usize, raw: &[Data]) -> Row {
        let columns = self.header_names.len();
        let used = raw.iter().rposition(|c| !matches!(c, Data::Empty)).map_or(0, |i| i + 1);
        let mut row = Row { number, cells: Vec::with_capacity(columns), problem: None };
        for (index, cell) in raw.iter().take(columns.max(used)).enumerate() {
            match cell_to_string(cell) {
                Ok(text) => row.cells.push(text),
                Err(error) => {
                    let column = self.header_names.get(index).map_or("", String::as_str);
                    row.add_problem(format!(
                        "column '{column}' (row {number}) holds the Excel error {error}"
                    ));
                    // Keep the error's text so the failed-rows file shows what was there.
                    row.cells.push(error.to_string());
                }
            }
        }
        row.cells.resize(columns.max(used), String::new());
        if used > columns {
            row.add_problem(format!(
                "row {number} has {used} cells but the header has {columns} columns"
            ));
        }
        row
    }
}

/// Turns one cell into the text a CSV would hold, or the Excel error it holds.
///
/// Whole floats print as integers (`1234`, not `1234.0`: ids typed into Excel are floats);
/// dates print as `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS` when they have a time; times alone
/// (a serial below 1) as `HH:MM:SS`; durations as `H:MM:SS`.
pub fn cell_to_string(cell: &Data) -> Result<String, CellErrorType> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => float_to_string(*f),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => datetime_to_string(dt),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(e.clone()),
    })
}

fn float_to_string(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() <= MAX_EXACT_INT {
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
            cell_to_string(&Data::Float(9_007_199_254_740_992.0)),
            Ok("9007199254740992".into())
        );
    }

    #[test]
    fn other_floats_print_shortest_round_trip() {
        assert_eq!(cell_to_string(&Data::Float(12.5)), Ok("12.5".into()));
        assert_eq!(cell_to_string(&Data::Float(0.1)), Ok("0.1".into()));
        let big = 1.0e20;
        let text = cell_to_string(&Data::Float(big)).unwrap();
        assert_eq!(text.parse::<f64>().unwrap(), big);
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
