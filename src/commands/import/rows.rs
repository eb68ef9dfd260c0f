//! Turning input rows into checked rows: the in-file duplicate index (a first pass over the
//! file) and the per-row checks that name the row, column and value.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use crate::input::mapping::{ListSeparator, MappedHeader};
use crate::input::{open_input, Row};
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::plan::{Mode, RowIn, ValidRow};
use crate::schema::organization::{check_row, EmptyCells};
use crate::schema::Schema;

/// Rows that share a name or an external id (case-insensitive, trimmed) with another row.
///
/// The first pass keeps a 64-bit hash per key, not the key, so memory stays small for
/// million-row files; rows are only flagged when their hashes collide *and* appear twice,
/// and a 64-bit collision among a million keys has odds around 1 in 30 million.
#[derive(Debug, Default)]
pub struct Duplicates {
    rows: HashMap<(u8, u64), Vec<u32>>,
}

fn key_hash(kind: u8, value: &str) -> u64 {
    let mut h = DefaultHasher::new();
    kind.hash(&mut h);
    value.trim().to_lowercase().hash(&mut h);
    h.finish()
}

impl Duplicates {
    /// Reads the file once and records every name and external id that appears twice.
    pub fn scan(
        path: &Path,
        sheet: Option<&str>,
        mapped: &MappedHeader,
    ) -> anyhow::Result<Duplicates> {
        let cols: Vec<(u8, usize)> = [(0u8, "name"), (1u8, "external_id")]
            .into_iter()
            .filter_map(|(k, c)| mapped.index_of(c).map(|i| (k, i)))
            .collect();
        if cols.is_empty() {
            return Ok(Duplicates::default());
        }
        let mut first: HashMap<(u8, u64), u32> = HashMap::new();
        let mut dups: HashMap<(u8, u64), Vec<u32>> = HashMap::new();
        for row in open_input(path, sheet)? {
            let row = row?;
            for &(kind, i) in &cols {
                let Some(v) = row.cells.get(i).filter(|v| !v.trim().is_empty()) else { continue };
                let key = (kind, key_hash(kind, v));
                let n = row.number as u32;
                match first.get(&key) {
                    None => {
                        first.insert(key, n);
                    }
                    Some(&f) => dups.entry(key).or_insert_with(|| vec![f]).push(n),
                }
            }
        }
        Ok(Duplicates { rows: dups })
    }

    /// The other rows sharing this row's `kind` value (0 name, 1 external id), if any.
    fn others(&self, kind: u8, value: &str, row: usize) -> Option<Vec<u32>> {
        let rows = self.rows.get(&(kind, key_hash(kind, value)))?;
        Some(rows.iter().copied().filter(|r| *r as usize != row).collect())
    }
}

/// Everything needed to check one row.
pub struct RowChecker<'a> {
    /// The header mapping.
    pub mapped: &'a MappedHeader,
    /// The account's (or the file's) field definitions.
    pub schema: &'a Schema,
    /// What empty cells mean.
    pub empty: EmptyCells,
    /// The import mode.
    pub mode: Mode,
    /// In-file duplicates.
    pub duplicates: &'a Duplicates,
}

fn invalid(seq: usize, row: &Row, key: String, message: String) -> RowIn {
    let mut o = RowOutcome::new(seq, row.number, key, Action::None, RowStatus::Invalid);
    o.error_code = Some("Invalid".into());
    o.message = Some(message);
    o.original = Some(row.cells.clone());
    RowIn::Settled(o)
}

fn join_rows(rows: &[u32]) -> String {
    rows.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

impl RowChecker<'_> {
    /// Checks one data row (`seq` is its 0-based position).
    pub fn check(&self, seq: usize, row: Row) -> RowIn {
        let cell =
            |c: &str| self.mapped.index_of(c).and_then(|i| row.cells.get(i)).map(|s| s.trim());
        let key = cell("external_id")
            .filter(|s| !s.is_empty())
            .or(cell("name").filter(|s| !s.is_empty()))
            .or(cell("id"))
            .unwrap_or("")
            .to_string();
        if let Some(problem) = &row.problem {
            return invalid(seq, &row, key, format!("row {}, {problem}", row.number));
        }
        let cells: Vec<(&str, &str, ListSeparator)> = self
            .mapped
            .mapped()
            .map(|c| {
                let raw = row.cells.get(c.index).map(String::as_str).unwrap_or("");
                (c.canonical.as_str(), raw, c.separator.unwrap_or(ListSeparator::Any))
            })
            .collect();
        let mut messages = Vec::new();
        for (kind, column) in [(0u8, "name"), (1u8, "external_id")] {
            if let Some(v) = cell(column).filter(|v| !v.is_empty()) {
                if let Some(others) = self.duplicates.others(kind, v, row.number) {
                    messages.push(format!(
                        "row {}, {column}: '{v}' is also on row {} of this file (case-insensitive)",
                        row.number,
                        join_rows(&others)
                    ));
                }
            }
        }
        let require_name = self.mode == Mode::Create;
        match check_row(&cells, self.schema, self.empty, require_name) {
            Ok(payload) if messages.is_empty() => {
                if matches!(self.mode, Mode::Update | Mode::Delete)
                    && payload.id.is_none()
                    && payload.external_id.is_none()
                    && payload.name.is_none()
                {
                    return invalid(
                        seq,
                        &row,
                        key,
                        format!(
                            "row {}: needs an id, external_id or name to find the organization",
                            row.number
                        ),
                    );
                }
                RowIn::Valid(ValidRow { seq, row: row.number, payload, original: row.cells })
            }
            Ok(_) => invalid(seq, &row, key, messages.join("; ")),
            Err(errors) => {
                messages.extend(errors.iter().map(|e| format!("row {}, {e}", row.number)));
                invalid(seq, &row, key, messages.join("; "))
            }
        }
    }
}
