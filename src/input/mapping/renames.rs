//! `--map FILE`: column renames for files from other systems, applied before aliases.
//!
//! The file is a CSV (or XLSX) of `from,to` rows; a first row that reads `from,to` is a header
//! and skipped. `from` is compared trimmed and ignoring case, like every header name. An empty
//! `to` drops the column (its values are read past).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::MappingError;
use crate::input::open_input;

/// Header renames, from a `--map` file or built in code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Lowercased, trimmed `from` -> trimmed `to`.
    by_from: HashMap<String, String>,
    /// The `--map` file, and the row each `from` is on (messages name them).
    source: Option<PathBuf>,
    rows: HashMap<String, (String, usize)>,
}

impl Renames {
    /// Builds renames from `(from, to)` pairs; a `from` given twice is an error.
    pub fn new<I, F, T>(pairs: I) -> Result<Renames, String>
    where
        I: IntoIterator<Item = (F, T)>,
        F: AsRef<str>,
        T: AsRef<str>,
    {
        let mut renames = Renames::default();
        for (from, to) in pairs {
            renames.insert(from.as_ref(), to.as_ref())?;
        }
        Ok(renames)
    }

    fn insert(&mut self, from: &str, to: &str) -> Result<(), String> {
        let key = from.trim().to_lowercase();
        if key.is_empty() {
            return Err("the 'from' column is empty".to_string());
        }
        if self.by_from.insert(key, to.trim().to_string()).is_some() {
            return Err(format!("'{}' is renamed twice", from.trim()));
        }
        Ok(())
    }

    /// Reads a `--map` file.
    pub fn from_path(path: &Path) -> Result<Renames, MappingError> {
        let map_err = |source| MappingError::MapFile { path: path.to_path_buf(), source };
        let row_err =
            |row, reason| MappingError::MapFileRow { path: path.to_path_buf(), row, reason };
        let input = open_input(path, None).map_err(|e| map_err(Box::new(e)))?;
        let header = input.header().clone();
        let names = header.names();
        if names.len() != 2 {
            let reason = format!("expected 2 columns (from,to), found {}", names.len());
            return Err(row_err(header.row, reason));
        }
        let mut renames = Renames { source: Some(path.to_path_buf()), ..Renames::default() };
        let is_header = names[0].trim().eq_ignore_ascii_case("from")
            && names[1].trim().eq_ignore_ascii_case("to");
        if !is_header {
            renames.insert(&names[0], &names[1]).map_err(|r| row_err(header.row, r))?;
            renames.note_row(&names[0], header.row);
        }
        for row in input {
            let row = row.map_err(|e| map_err(Box::new(e)))?;
            match (&row.problem, row.cells.as_slice()) {
                (None, [from, to]) => {
                    renames.insert(from, to).map_err(|r| row_err(row.number, r))?;
                    renames.note_row(from, row.number);
                }
                _ => {
                    let reason = format!("expected 2 cells (from,to), found {}", row.cells.len());
                    return Err(row_err(row.number, reason));
                }
            }
        }
        Ok(renames)
    }

    fn note_row(&mut self, from: &str, row: usize) {
        self.rows.insert(from.trim().to_lowercase(), (from.trim().to_string(), row));
    }

    /// Where the rename of `header` is written: `map.csv, row 3`.
    pub fn origin(&self, header: &str) -> Option<String> {
        let (_, row) = self.rows.get(&header.trim().to_lowercase())?;
        let path = self.source.as_ref()?;
        Some(format!("{}, row {row}", path.display()))
    }

    /// Every rename whose `from` is not a column of `header`: a typo in the map (or a map made
    /// for another file) would otherwise rename nothing, silently.
    pub fn check_against(&self, header: &[String]) -> Result<(), MappingError> {
        let have: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut missing: Vec<&(String, usize)> =
            self.rows.iter().filter(|(k, _)| !have.contains(k)).map(|(_, v)| v).collect();
        missing.sort_by_key(|(_, row)| *row);
        let Some((from, row)) = missing.first() else { return Ok(()) };
        let Some(path) = &self.source else { return Ok(()) };
        let columns: Vec<&str> = header.iter().map(|h| h.trim()).collect();
        Err(MappingError::MapFileRow {
            path: path.clone(),
            row: *row,
            reason: format!(
                "the file has no column '{from}' to rename (its columns: {})",
                columns.join(", ")
            ),
        })
    }

    /// What `header` (trimmed) is renamed to, if anything.
    pub fn get(&self, header: &str) -> Option<&str> {
        self.by_from.get(&header.trim().to_lowercase()).map(String::as_str)
    }

    /// How many renames there are.
    pub fn len(&self) -> usize {
        self.by_from.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_from.is_empty()
    }
}
