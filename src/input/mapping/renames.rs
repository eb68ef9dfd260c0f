//! `--map FILE`: column renames for files from other systems, applied before aliases.
//!
//! The file is a CSV (or XLSX) of `from,to` rows; a first row that reads `from,to` is a header
//! and skipped. `from` is compared trimmed and ignoring case, like every header name. An empty
//! `to` drops the column (its values are read past).

use std::collections::HashMap;
use std::path::Path;

use super::MappingError;
use crate::input::open_input;

/// Header renames, from a `--map` file or built in code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Lowercased, trimmed `from` -> trimmed `to`.
    by_from: HashMap<String, String>,
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
        let mut renames = Renames::default();
        let is_header = names[0].trim().eq_ignore_ascii_case("from")
            && names[1].trim().eq_ignore_ascii_case("to");
        if !is_header {
            renames.insert(&names[0], &names[1]).map_err(|r| row_err(header.row, r))?;
        }
        for row in input {
            let row = row.map_err(|e| map_err(Box::new(e)))?;
            match (&row.problem, row.cells.as_slice()) {
                (None, [from, to]) => {
                    renames.insert(from, to).map_err(|r| row_err(row.number, r))?
                }
                _ => {
                    let reason = format!("expected 2 cells (from,to), found {}", row.cells.len());
                    return Err(row_err(row.number, reason));
                }
            }
        }
        Ok(renames)
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
