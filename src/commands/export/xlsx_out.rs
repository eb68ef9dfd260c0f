//! The XLSX an export writes, made in one pass from a finished CSV spool (an XLSX cannot be
//! appended to, so a resumed export spools to CSV and converts at the end). rust_xlsxwriter's
//! constant-memory mode streams rows to disk. Cells are typed by their column: numbers,
//! booleans and dates as such, ids and all text as strings (never formulas, so no guard is
//! needed); a bold frozen header row with an autofilter, and widths from the first rows.

use std::path::Path;

use anyhow::Context as _;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::columns::CellKind;
use crate::output::guard::unguard;
use crate::output::private;
use crate::schema::value::parse_date;

/// Rows an XLSX sheet holds, the header included.
pub const MAX_ROWS: u64 = 1_048_576;

/// Whole numbers from this magnitude on are not exact in a spreadsheet (2^53): written as text.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Rows read to size the columns.
const WIDTH_SAMPLE: usize = 200;

/// Reads the spool's rows (header first), guards removed.
fn spool_rows(spool: &Path) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Vec<String>>>> {
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(spool)
        .with_context(|| format!("failed to read the spool {}", spool.display()))?;
    let path = spool.display().to_string();
    Ok(reader.into_records().map(move |r| {
        let record = r.with_context(|| format!("failed to read the spool {path}"))?;
        Ok(record.iter().map(|c| unguard(c).to_string()).collect())
    }))
}

/// Column widths (in characters) from the header and the first rows.
fn widths(header: &[String], kinds: &[CellKind], sample: &[Vec<String>]) -> Vec<f64> {
    header
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let longest = sample
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0);
            let floor = match kinds.get(i) {
                Some(CellKind::Date) => 11,
                Some(CellKind::Id) => 14,
                _ => 6,
            };
            (longest.max(name.chars().count() + 3).max(floor).min(60)) as f64 + 1.0
        })
        .collect()
}

struct Formats {
    header: Format,
    date: Format,
}

fn write_cell(
    sheet: &mut Worksheet,
    formats: &Formats,
    row: u32,
    col: u16,
    kind: CellKind,
    cell: &str,
) -> Result<(), XlsxError> {
    if cell.is_empty() {
        return Ok(());
    }
    match kind {
        CellKind::Number => match cell.parse::<f64>() {
            Ok(n) if n.is_finite() && (n.fract() != 0.0 || n.abs() < MAX_EXACT) => {
                sheet.write_number(row, col, n)?;
            }
            _ => {
                sheet.write_string(row, col, cell)?;
            }
        },
        CellKind::Bool => match cell {
            "true" => {
                sheet.write_boolean(row, col, true)?;
            }
            "false" => {
                sheet.write_boolean(row, col, false)?;
            }
            _ => {
                sheet.write_string(row, col, cell)?;
            }
        },
        CellKind::Date => {
            use chrono::Datelike as _;
            let date = parse_date(cell).filter(|_| cell.len() == 10).and_then(|d| {
                ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8).ok()
            });
            match date {
                // Excel's dates start in 1900; earlier days stay text.
                Some(d) if cell.get(..4).is_some_and(|y| y >= "1900") => {
                    sheet.write_datetime_with_format(row, col, d, &formats.date)?;
                }
                _ => {
                    sheet.write_string(row, col, cell)?;
                }
            }
        }
        CellKind::Id | CellKind::Text => {
            sheet.write_string(row, col, cell)?;
        }
    }
    Ok(())
}

/// Writes `rows` (header first) to `out` as one sheet named `sheet_name`, typed by `kinds`.
/// The workbook is built beside `out` and renamed onto it, so `out` is whole or absent.
pub fn write_xlsx(
    out: &Path,
    sheet_name: &str,
    kinds: &[CellKind],
    rows: impl Iterator<Item = anyhow::Result<Vec<String>>>,
) -> anyhow::Result<u64> {
    let mut rows = rows.peekable();
    let header = match rows.next() {
        Some(h) => h?,
        None => anyhow::bail!("nothing to write to {}", out.display()),
    };
    // The first rows size the columns; the rest stream through.
    let mut sample: Vec<Vec<String>> = Vec::new();
    while sample.len() < WIDTH_SAMPLE {
        match rows.next() {
            Some(r) => sample.push(r?),
            None => break,
        }
    }
    let xlsx =
        |e: XlsxError| anyhow::Error::new(e).context(format!("failed to write {}", out.display()));
    let formats = Formats {
        header: Format::new().set_bold(),
        date: Format::new().set_num_format("yyyy-mm-dd"),
    };
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet_with_constant_memory();
    sheet.set_name(sheet_name).map_err(xlsx)?;
    for (i, w) in widths(&header, kinds, &sample).into_iter().enumerate() {
        sheet.set_column_width(i as u16, w).map_err(xlsx)?;
    }
    for (i, name) in header.iter().enumerate() {
        sheet.write_string_with_format(0, i as u16, name, &formats.header).map_err(xlsx)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
    let mut n: u32 = 0;
    for row in sample.into_iter().map(Ok).chain(rows) {
        let row = row?;
        n += 1;
        if u64::from(n) >= MAX_ROWS {
            anyhow::bail!(
                "{}: an XLSX sheet holds at most {} records; export to .csv instead",
                out.display(),
                MAX_ROWS - 1
            );
        }
        for (i, cell) in row.iter().enumerate() {
            let kind = kinds.get(i).copied().unwrap_or(CellKind::Text);
            write_cell(sheet, &formats, n, i as u16, kind, cell).map_err(|e| {
                xlsx(e).context(format!(
                    "record {n}, column '{}'",
                    header.get(i).map_or("", |h| h.as_str())
                ))
            })?;
        }
    }
    let last_col = header.len().saturating_sub(1) as u16;
    sheet.autofilter(0, 0, n, last_col).map_err(xlsx)?;
    let tmp = super::state::sibling(out, ".zdbulk-tmp.xlsx");
    workbook.save(&tmp).map_err(xlsx)?;
    private::restrict(&tmp).with_context(|| format!("failed to write {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("failed to write {}", out.display()))?;
    Ok(u64::from(n))
}

/// Converts a finished spool into the XLSX `out`.
pub fn spool_to_xlsx(
    spool: &Path,
    out: &Path,
    sheet_name: &str,
    kinds: &[CellKind],
) -> anyhow::Result<u64> {
    write_xlsx(out, sheet_name, kinds, spool_rows(spool)?)
}

#[cfg(test)]
mod tests {
    use calamine::{open_workbook_auto, Data, Reader as _};

    use super::*;

    #[test]
    fn cells_are_typed_and_text_is_never_a_formula() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.xlsx");
        let rows = vec![
            vec!["id", "n", "b", "d", "t"],
            vec!["9007199254740993", "12", "true", "2024-01-02", "=HYPERLINK(\"http://x\")"],
            vec!["2", "5.5", "false", "", "+15551234567"],
        ];
        let kinds =
            [CellKind::Id, CellKind::Number, CellKind::Bool, CellKind::Date, CellKind::Text];
        let it = rows.into_iter().map(|r| Ok(r.into_iter().map(String::from).collect()));
        assert_eq!(write_xlsx(&out, "organizations", &kinds, it).unwrap(), 2);
        let mut wb = open_workbook_auto(&out).unwrap();
        let range = wb.worksheet_range("organizations").unwrap();
        let r: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        assert_eq!(r[1][0], Data::String("9007199254740993".into()));
        assert_eq!(r[1][1], Data::Float(12.0));
        assert_eq!(r[1][2], Data::Bool(true));
        assert!(matches!(r[1][3], Data::DateTime(_)), "{:?}", r[1][3]);
        assert_eq!(r[1][4], Data::String("=HYPERLINK(\"http://x\")".into()));
        assert_eq!(r[2][4], Data::String("+15551234567".into()));
        assert_eq!(r[2][3], Data::Empty);
    }
}
