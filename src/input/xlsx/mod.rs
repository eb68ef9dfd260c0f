//! The XLSX reader (calamine): one sheet, its first non-empty row as the header, and its data
//! rows one at a time. Which sheet and reading its cells is `sheet`; turning every kind of cell
//! into the text a CSV would have held is `cell`.

mod cell;
mod sheet;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, Range, Reader, Xlsx};

use super::{Header, InputError, Row};
pub use cell::{cell_to_string, CellProblem};
use sheet::{pick_sheet, read_sheet};

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
fn quoted_names(names: &[String]) -> String {
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

/// The sheets of a workbook, in order (empty when it cannot be read).
pub fn sheet_names(path: &Path) -> Vec<String> {
    let read = std::panic::catch_unwind(|| {
        let file = File::open(path).ok()?;
        let workbook: Xlsx<_> = Xlsx::new(BufReader::new(file)).ok()?;
        Some(workbook.sheet_names())
    });
    read.ok().flatten().unwrap_or_default()
}

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
        // The first sheet is empty, and others may hold the data: name them.
        if sheet.is_none() && names.len() > 1 {
            return Err(InputError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "its first sheet '{name}' is empty; its sheets are {}: choose one with --sheet NAME",
                    quoted_names(&names)
                ),
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_count_like_a_spreadsheet() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }
}
