//! One cell as text: the text a CSV would have held for every kind of cell (numbers, dates,
//! times, durations), or the problem that keeps a cell from being read (`CellProblem`).

use calamine::{CellErrorType, Data, ExcelDateTime, ExcelDateTimeType};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Timelike};

/// Days between Excel's 1900 and 1904 date systems.
const EXCEL_1904_OFFSET_DAYS: f64 = 1462.0;
/// Whole floats below this magnitude are exact integers in an f64 (2^53); from it on, an f64
/// cannot tell neighbouring integers apart (2^53 + 1 is stored as 2^53), so a whole number
/// this large may be a rounded version of what was typed.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

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
    pub(super) fn describe(&self, column: &str, row: usize) -> String {
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
}
