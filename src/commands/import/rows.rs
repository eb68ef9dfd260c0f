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
    rows: KeyMap<Vec<u32>>,
}

/// Hashes a name or external id as compared: trimmed and case-folded. ASCII values (the
/// usual case) are folded into a stack buffer and hashed in one call.
fn key_hash(kind: u8, value: &str) -> u64 {
    let v = value.trim();
    let mut h = DefaultHasher::new();
    kind.hash(&mut h);
    let mut buf = [0u8; 128];
    if v.is_ascii() && v.len() <= buf.len() {
        for (b, c) in buf.iter_mut().zip(v.bytes()) {
            *b = c.to_ascii_lowercase();
        }
        h.write(&buf[..v.len()]);
    } else {
        h.write(v.to_lowercase().as_bytes());
    }
    h.finish()
}

/// The keys of the duplicate index are already hashes: hash them no further.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u8(&mut self, k: u8) {
        self.0 ^= u64::from(k);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// A map keyed by (kind, key hash).
pub type KeyMap<V> = HashMap<(u8, u64), V, std::hash::BuildHasherDefault<KeyHasher>>;

impl Duplicates {
    /// An empty index.
    pub fn new() -> Duplicates {
        Duplicates::default()
    }

    /// Notes that `row` has this `kind` value (0 name, 1 external id).
    pub fn observe(&mut self, first: &mut KeyMap<u32>, kind: u8, value: &str, row: usize) {
        if value.trim().is_empty() {
            return;
        }
        let key = (kind, key_hash(kind, value));
        let n = row as u32;
        match first.get(&key) {
            None => {
                first.insert(key, n);
            }
            Some(&f) => self.rows.entry(key).or_insert_with(|| vec![f]).push(n),
        }
    }

    /// Reads the file once and records every name and external id that appears twice.
    pub fn scan(
        path: &Path,
        sheet: Option<&str>,
        mapped: &MappedHeader,
    ) -> anyhow::Result<Duplicates> {
        let cols = key_columns(mapped);
        let mut dups = Duplicates::new();
        if cols.is_empty() {
            return Ok(dups);
        }
        let mut first = KeyMap::default();
        for row in open_input(path, sheet)? {
            let row = row?;
            for &(kind, i) in &cols {
                if let Some(v) = row.cells.get(i) {
                    dups.observe(&mut first, kind, v, row.number);
                }
            }
        }
        Ok(dups)
    }

    /// The other rows sharing this row's `kind` value (0 name, 1 external id), if any.
    fn others(&self, kind: u8, value: &str, row: usize) -> Option<Vec<u32>> {
        if self.rows.is_empty() {
            return None;
        }
        let rows = self.rows.get(&(kind, key_hash(kind, value)))?;
        Some(rows.iter().copied().filter(|r| *r as usize != row).collect())
    }

    /// Whether some name or external id appears twice.
    pub fn any(&self) -> bool {
        !self.rows.is_empty()
    }
}

/// The columns whose values must be unique in a file: (0 name | 1 external id, index).
pub fn key_columns(mapped: &MappedHeader) -> Vec<(u8, usize)> {
    [(0u8, "name"), (1u8, "external_id")]
        .into_iter()
        .filter_map(|(k, c)| mapped.index_of(c).map(|i| (k, i)))
        .collect()
}

/// Everything needed to check one row, with the header's lookups done once.
pub struct RowChecker<'a> {
    schema: &'a Schema,
    empty: EmptyCells,
    mode: Mode,
    duplicates: &'a Duplicates,
    /// (API column, cell index, list separator) of every mapped column.
    columns: Vec<(&'a str, usize, ListSeparator)>,
    name: Option<usize>,
    external_id: Option<usize>,
    id: Option<usize>,
    /// Build API payloads (import) or only check (validate).
    build: bool,
}

impl<'a> RowChecker<'a> {
    /// A checker for rows under this header.
    pub fn new(
        mapped: &'a MappedHeader,
        schema: &'a Schema,
        empty: EmptyCells,
        mode: Mode,
        duplicates: &'a Duplicates,
    ) -> RowChecker<'a> {
        RowChecker {
            schema,
            empty,
            mode,
            duplicates,
            columns: mapped
                .mapped()
                .map(|c| (c.canonical.as_str(), c.index, c.separator.unwrap_or(ListSeparator::Any)))
                .collect(),
            name: mapped.index_of("name"),
            external_id: mapped.index_of("external_id"),
            id: mapped.index_of("id"),
            build: true,
        }
    }

    /// Checks rows without building payloads (`zdbulk validate`).
    pub fn check_only(mut self) -> Self {
        self.build = false;
        self
    }
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
        let cell = |i: Option<usize>| i.and_then(|i| row.cells.get(i)).map(|s| s.trim());
        let key = cell(self.external_id)
            .filter(|s| !s.is_empty())
            .or(cell(self.name).filter(|s| !s.is_empty()))
            .or(cell(self.id))
            .unwrap_or("")
            .to_string();
        if let Some(problem) = &row.problem {
            return invalid(seq, &row, key, format!("row {}, {problem}", row.number));
        }
        let cells: Vec<(&str, &str, ListSeparator)> = self
            .columns
            .iter()
            .map(|&(canonical, i, sep)| {
                (canonical, row.cells.get(i).map(String::as_str).unwrap_or(""), sep)
            })
            .collect();
        let mut messages = Vec::new();
        for (kind, column, idx) in
            [(0u8, "name", self.name), (1u8, "external_id", self.external_id)]
        {
            if let Some(v) = cell(idx).filter(|v| !v.is_empty()) {
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
        match check_row(&cells, self.schema, self.empty, require_name, self.build) {
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
