//! One sheet of a workbook: the one a user names, and its cells read one at a time, refusing
//! a sheet whose cells span a rectangle far larger than they fill.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Cell, Data, DataRef, Range, Xlsx, XlsxError};

use super::column_letters;
use crate::input::InputError;

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
pub(super) fn read_sheet(
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
pub(super) fn pick_sheet(names: &[String], wanted: &str) -> Option<String> {
    if let Some(exact) = names.iter().find(|n| *n == wanted) {
        return Some(exact.clone());
    }
    let mut folded = names.iter().filter(|n| n.trim().eq_ignore_ascii_case(wanted.trim()));
    match (folded.next(), folded.next()) {
        (Some(only), None) => Some(only.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheets_match_exactly_then_ignoring_case() {
        let names = vec!["Users".to_string(), "users2".to_string()];
        assert_eq!(pick_sheet(&names, "Users"), Some("Users".into()));
        assert_eq!(pick_sheet(&names, "USERS"), Some("Users".into()));
        assert_eq!(pick_sheet(&names, "Orgs"), None);
    }
}
