//! Turning input rows into checked rows: the in-file duplicate index (a first pass over the
//! file, over the resource's unique columns) and the per-row checks that name the row, column
//! and value.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, Hasher};
use std::path::Path;

use crate::input::mapping::{ListSeparator, MappedHeader};
use crate::input::{open_input, Row};
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::plan::{Mode, RowIn, ValidRow};
use crate::resource::Layer;
use crate::schema::row::{check_row, Column, EmptyCells, Payload, RowRules};
use crate::schema::value::trim;
use crate::schema::Schema;

/// Rows that share a value of a unique column (an organization's name or external id, a
/// user's e-mail or external id; case-insensitive, trimmed) with another row.
///
/// Built by [`KeySeen`] from a 64-bit hash per key, not the key, so memory stays small for
/// million-row files; rows are only flagged when their hashes collide *and* appear twice,
/// and a 64-bit collision among a million keys has odds around 1 in 30 million.
#[derive(Debug, Default)]
pub struct Duplicates {
    rows: KeyMap<Vec<u32>>,
}

/// Hashes a name or external id as compared: trimmed and case-folded. ASCII values (the
/// usual case) are folded into a stack buffer and hashed in one call.
fn key_hash(kind: u8, value: &str) -> u64 {
    let v = trim(value);
    let mut h = foldhash::quality::FixedState::with_seed(0x7a64_62756c6b).build_hasher();
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
type KeyMap<V> = HashMap<(u8, u64), V, std::hash::BuildHasherDefault<KeyHasher>>;

/// The unique columns' values of a file as its rows are read: a 64-bit hash and the row
/// number per key (12 bytes), in row order. At the end a sorted copy of the hashes shows
/// whether any repeats; only then are the rows gathered. Cheaper in time and memory than a
/// hash map updated on every row (a million rows: 12 MB a column, plus 8 MB while sorting).
#[derive(Debug)]
pub struct KeySeen {
    /// The unique columns: (position in the layer's list, cell index).
    columns: Vec<(u8, usize)>,
    /// Per column, the hash of every non-empty cell, and its row number.
    keys: Vec<(Vec<u64>, Vec<u32>)>,
}

impl KeySeen {
    /// Collects the unique columns of a `layer` file under this header.
    pub fn new(layer: &dyn Layer, mapped: &MappedHeader) -> KeySeen {
        let columns = key_columns(layer, mapped);
        let keys = columns.iter().map(|_| Default::default()).collect();
        KeySeen { columns, keys }
    }

    /// Notes the row's name and external id.
    pub fn observe(&mut self, row: &Row) {
        for (&(kind, i), (hashes, rows)) in self.columns.iter().zip(&mut self.keys) {
            if let Some(v) = row.cells.get(i).filter(|v| !trim(v).is_empty()) {
                hashes.push(key_hash(kind, v));
                rows.push(row.number as u32);
            }
        }
    }

    /// The keys seen more than once, with every row they are on.
    pub fn finish(self) -> Duplicates {
        let mut found = KeyMap::<Vec<u32>>::default();
        for (&(kind, _), (hashes, rows)) in self.columns.iter().zip(self.keys) {
            let mut sorted = hashes.clone();
            sorted.sort_unstable();
            let repeated: HashSet<u64> =
                sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
            drop(sorted);
            if repeated.is_empty() {
                continue;
            }
            for (hash, row) in hashes.into_iter().zip(rows) {
                if repeated.contains(&hash) {
                    found.entry((kind, hash)).or_default().push(row);
                }
            }
        }
        Duplicates { rows: found }
    }
}

impl Duplicates {
    /// An empty index: no key repeats.
    pub fn new() -> Duplicates {
        Duplicates::default()
    }

    /// Reads the file once and records every unique column's value that appears twice; also
    /// returns how many data rows the file has (the progress display's total).
    pub fn scan(
        layer: &dyn Layer,
        path: &Path,
        sheet: Option<&str>,
        mapped: &MappedHeader,
    ) -> anyhow::Result<(Duplicates, u64)> {
        let mut seen = KeySeen::new(layer, mapped);
        let mut rows = 0;
        for row in open_input(path, sheet)? {
            seen.observe(&row?);
            rows += 1;
        }
        Ok((seen.finish(), rows))
    }

    /// The other rows sharing this row's value of unique column `kind`, if any.
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

/// The columns whose values must be unique in a file: (position in the layer's list, index).
fn key_columns(layer: &dyn Layer, mapped: &MappedHeader) -> Vec<(u8, usize)> {
    layer
        .unique_columns()
        .iter()
        .enumerate()
        .filter_map(|(k, c)| mapped.index_of(c).map(|i| (k as u8, i)))
        .collect()
}

/// Everything needed to check one row, with the header's columns resolved once.
pub struct RowChecker<'a> {
    rules: RowRules<'a>,
    duplicates: &'a Duplicates,
    /// Every mapped column, resolved against the schema, with its cell index.
    columns: Vec<(Column<'a>, usize)>,
    /// The unique columns: (position in the layer's list, name, cell index).
    unique: Vec<(u8, &'static str, usize)>,
    /// The key columns in order of preference, with their cell index.
    keys: Vec<(&'static str, usize)>,
    /// API column names whose header in the file reads otherwise, with that header: messages
    /// name both (`restriction (ticket_restriction)`).
    shown: HashMap<String, String>,
}

impl<'a> RowChecker<'a> {
    /// A checker for rows of a `layer` file under this header.
    pub fn new(
        layer: &'a dyn Layer,
        mapped: &'a MappedHeader,
        schema: &'a Schema,
        empty: EmptyCells,
        mode: Mode,
        duplicates: &'a Duplicates,
    ) -> RowChecker<'a> {
        RowChecker {
            rules: RowRules { layer, mode, empty, build: true },
            duplicates,
            columns: mapped
                .mapped()
                .map(|c| {
                    let separator = c.separator.unwrap_or(ListSeparator::Any);
                    (Column::resolve(layer, &c.canonical, separator, schema), c.index)
                })
                .collect(),
            unique: layer
                .unique_columns()
                .iter()
                .enumerate()
                .filter_map(|(k, c)| mapped.index_of(c).map(|i| (k as u8, *c, i)))
                .collect(),
            keys: layer
                .key_columns()
                .iter()
                .filter_map(|c| mapped.index_of(c).map(|i| (*c, i)))
                .collect(),
            shown: mapped
                .mapped()
                .filter(|c| !c.raw.trim().eq_ignore_ascii_case(&c.canonical))
                .map(|c| (c.canonical.clone(), format!("{} ({})", c.raw.trim(), c.canonical)))
                .collect(),
        }
    }
}

fn invalid(seq: usize, row: &Row, key: String, message: String) -> RowOutcome {
    let mut o = RowOutcome::new(seq, row.number, key, Action::None, RowStatus::Invalid);
    o.error_code = Some("Invalid".into());
    o.message = Some(message);
    o.original = Some(row.cells.clone());
    o
}

fn join_rows(rows: &[u32]) -> String {
    rows.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

impl RowChecker<'_> {
    /// The trimmed cell at `i`, if the row has one.
    fn cell<'r>(&self, row: &'r Row, i: usize) -> Option<&'r str> {
        row.cells.get(i).map(|s| trim(s))
    }

    /// What the report calls the row: the first of its resource's key columns with a value
    /// (an id as a number, the way the import's report writes it).
    pub fn key<'r>(&self, row: &'r Row) -> Cow<'r, str> {
        for &(column, i) in &self.keys {
            let Some(v) = self.cell(row, i).filter(|s| !s.is_empty()) else { continue };
            if column == "id" {
                if let Ok(n) = v.parse::<u64>() {
                    if n.to_string() != v {
                        return Cow::Owned(n.to_string());
                    }
                }
            }
            return Cow::Borrowed(v);
        }
        Cow::Borrowed("")
    }

    /// Checks one row: its payload (built only when `build`), or every problem in one message
    /// naming the row, columns and values.
    fn verdict(&self, row: &Row, build: bool) -> Result<Payload, String> {
        if let Some(problem) = &row.problem {
            // The readers' messages mostly name the row already.
            return Err(if problem.starts_with("row ") {
                problem.clone()
            } else {
                format!("row {}, {problem}", row.number)
            });
        }
        let mut messages = Vec::new();
        if self.duplicates.any() {
            for &(kind, column, idx) in &self.unique {
                let Some(v) = self.cell(row, idx).filter(|v| !v.is_empty()) else { continue };
                if let Some(others) = self.duplicates.others(kind, v, row.number) {
                    messages.push(format!(
                        "row {}, {column}: '{v}' is also on row {} of this file (case-insensitive)",
                        row.number,
                        join_rows(&others)
                    ));
                }
            }
        }
        let cells = self
            .columns
            .iter()
            .map(|(column, i)| (column, row.cells.get(*i).map(String::as_str).unwrap_or("")));
        let rules = RowRules { build, ..self.rules };
        match check_row(cells, rules) {
            Ok(payload) if messages.is_empty() => Ok(payload),
            Ok(_) => Err(messages.join("; ")),
            Err(errors) => {
                messages.extend(errors.iter().map(|e| {
                    let column = self.shown.get(&e.column).unwrap_or(&e.column);
                    format!("row {}, {column}: {}", row.number, e.reason)
                }));
                Err(messages.join("; "))
            }
        }
    }

    /// Checks one data row for an import (`seq` is its 0-based position).
    pub fn check(&self, seq: usize, row: Row) -> RowIn {
        match self.verdict(&row, true) {
            Ok(mut payload) => RowIn::Valid(ValidRow {
                payload: {
                    // Messages name the column as the file wrote it (`group (group_id)`).
                    if let Some(g) = &mut payload.group {
                        if let Some(shown) = self.shown.get(&g.column) {
                            g.column = shown.clone();
                        }
                    }
                    payload
                },
                seq,
                row: row.number,
                key: self.key(&row).into_owned(),
                original: row.cells,
            }),
            Err(message) => {
                RowIn::Settled(invalid(seq, &row, self.key(&row).into_owned(), message))
            }
        }
    }

    /// Checks one data row and builds nothing (`zdbulk validate`): a valid row costs no
    /// allocation. The error is the row's message; a valid row may come with a note of what
    /// only the account can tell.
    pub fn check_only(&self, row: &Row) -> Result<Option<String>, String> {
        let payload = self.verdict(row, false)?;
        Ok(self.offline_note(&payload))
    }

    /// What offline validation cannot know about a valid row.
    fn offline_note(&self, p: &Payload) -> Option<String> {
        let layer = self.rules.layer;
        let s = p.seen;
        let mut notes = Vec::new();
        if self.rules.mode == Mode::Upsert && !s.name && !s.id {
            notes.push(format!(
                "valid only if the account has this {} already (found by {}): none is created without a name",
                layer.singular(),
                if s.external_id { "external_id" } else { layer.search_column() }
            ));
        }
        if s.refs {
            notes.push("its organizations are not checked offline (they must exist)".into());
        }
        if s.group_name {
            notes.push("its group is named, and names are not checked offline (a group of that name must exist)".into());
        }
        if matches!(self.rules.mode, Mode::Update | Mode::Delete) {
            notes.push(format!("whether the {} exists is not checked offline", layer.singular()));
        }
        (!notes.is_empty()).then(|| format!("not checked offline: {}", notes.join("; ")))
    }

    /// The valid outcome of a row with a note of what was not checked.
    pub fn valid_with(&self, seq: usize, row: &Row, note: String) -> RowOutcome {
        let key = self.key(row).into_owned();
        let mut o = RowOutcome::new(seq, row.number, key, Action::None, RowStatus::Valid);
        o.message = Some(note);
        o
    }

    /// The invalid outcome of a row [`RowChecker::check_only`] refused with `message`.
    pub fn invalid(&self, seq: usize, row: &Row, message: String) -> RowOutcome {
        invalid(seq, row, self.key(row).into_owned(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::map_header;
    use crate::resource::organizations::Organizations;
    use crate::resource::Resource;

    fn row(number: usize, name: &str, external_id: &str) -> Row {
        Row { number, cells: vec![name.into(), external_id.into()], problem: None }
    }

    #[test]
    fn repeats_are_found_trimmed_and_ignoring_case_with_every_row() {
        let header = vec!["name".to_string(), "external_id".to_string()];
        let mapped = map_header(Resource::Organizations, &header, None).unwrap();
        let mut seen = KeySeen::new(&Organizations, &mapped);
        for r in [
            row(2, "Acme", "a-1"),
            row(3, "Beta", ""),
            row(4, " ACME ", "a-2"),
            row(5, "Gamma", " A-1"),
            row(6, "acme", ""),
            row(7, "", ""),
            row(8, "Delta", "d"),
        ] {
            seen.observe(&r);
        }
        let dups = seen.finish();
        assert!(dups.any());
        assert_eq!(dups.others(0, "acme", 2), Some(vec![4, 6]));
        assert_eq!(dups.others(0, "Acme", 6), Some(vec![2, 4]));
        assert_eq!(dups.others(1, "a-1", 5), Some(vec![2]));
        // Names and external ids are compared within their own column only.
        assert_eq!(dups.others(1, "acme", 2), None);
        assert_eq!(dups.others(0, "Delta", 8), None);
        assert_eq!(dups.others(0, "", 7), None);
    }

    #[test]
    fn a_file_without_repeats_has_none() {
        let header = vec!["name".to_string()];
        let mapped = map_header(Resource::Organizations, &header, None).unwrap();
        let mut seen = KeySeen::new(&Organizations, &mapped);
        for n in 0..5_000 {
            seen.observe(&Row { number: n + 2, cells: vec![format!("Org {n}")], problem: None });
        }
        assert!(!seen.finish().any());
    }

    /// The first pass counts the data rows: the progress display's total ("300/300 rows").
    #[test]
    fn the_first_pass_counts_the_data_rows_for_the_progress_display() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgs.csv");
        std::fs::write(&path, "name,notes\nAcme,a\n\n,\nBeta,\"two\nlines\"\nGamma,g\n").unwrap();
        let header = vec!["name".to_string(), "notes".to_string()];
        let mapped = map_header(Resource::Organizations, &header, None).unwrap();
        let (_, rows) = Duplicates::scan(&Organizations, &path, None, &mapped).unwrap();
        assert_eq!(rows, 3, "blank rows are not data; a quoted line break is one row");
    }
}
