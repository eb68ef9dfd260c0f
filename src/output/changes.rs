//! `changes.csv`: one line per value a run changes (or, in a dry run, would change) —
//! `row, key, column, old, new` — named with the input file's own column names. Written as rows
//! are planned, so memory does not grow with the file; the first few are kept for the terminal.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::pipeline::diff::ValueChange;

/// How many changes a dry run shows on the terminal.
pub const SHOWN: usize = 10;

/// Errors of the changes file.
#[derive(Debug, thiserror::Error)]
#[error("failed to write {path}")]
pub struct ChangesError {
    path: PathBuf,
    #[source]
    source: csv::Error,
}

/// One line of `changes.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLine {
    /// The row number the user sees.
    pub row: usize,
    /// The row's key.
    pub key: String,
    /// The input's column name.
    pub column: String,
    /// The value now ("" for a record to create, or an empty value).
    pub old: String,
    /// The value written.
    pub new: String,
}

struct Inner {
    writer: csv::Writer<BufWriter<File>>,
    count: u64,
    first: Vec<ChangeLine>,
    /// A resumed run's earlier file, read as rows the journal knows are carried over.
    earlier: Option<csv::Reader<File>>,
    pending: Option<csv::StringRecord>,
    /// Where that file was kept aside (removed once the new one is complete).
    earlier_path: Option<PathBuf>,
}

/// The open `changes.csv` of a run.
pub struct ChangeLog {
    path: PathBuf,
    /// API column → the input's name for it (`organization_fields.tier` → `custom_fields.tier`).
    names: HashMap<String, String>,
    inner: Mutex<Inner>,
}

/// A value as a cell: text as it is, lists joined with `|` (as import reads them), nothing for
/// null.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("|"),
        other => other.to_string(),
    }
}

impl ChangeLog {
    /// Creates `changes.csv` in `dir` (0600). `names` maps API columns to the input's names.
    /// A resumed run passes `resume`: the earlier file is kept aside and its lines are carried
    /// over for the rows the journal knows ([`ChangeLog::carry`]).
    pub fn create(
        dir: &Path,
        names: HashMap<String, String>,
        resume: bool,
    ) -> Result<ChangeLog, ChangesError> {
        let path = dir.join("changes.csv");
        let fail = |e: csv::Error| ChangesError { path: path.clone(), source: e };
        let old = dir.join("changes.before-resume.csv");
        // A resume interrupted before it finished left the earlier file aside already.
        if resume && path.exists() && !old.exists() {
            std::fs::rename(&path, &old).map_err(|e| fail(e.into()))?;
        }
        let (earlier, earlier_path) = if resume && old.exists() {
            (Some(csv::Reader::from_path(&old).map_err(fail)?), Some(old))
        } else {
            (None, None)
        };
        let file = crate::output::private::create(&path).map_err(|e| fail(e.into()))?;
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        writer.write_record(["row", "key", "column", "old", "new"]).map_err(fail)?;
        let inner =
            Inner { writer, count: 0, first: Vec::new(), earlier, pending: None, earlier_path };
        Ok(ChangeLog { path, names, inner: Mutex::new(inner) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the changes of one row.
    pub fn add(&self, row: usize, key: &str, changes: &[ValueChange]) -> Result<(), ChangesError> {
        let mut inner = self.lock();
        for c in changes {
            let line = ChangeLine {
                row,
                key: key.to_string(),
                column: self.names.get(&c.column).cloned().unwrap_or_else(|| c.column.clone()),
                old: cell(&c.old),
                new: cell(&c.new),
            };
            inner.write(&line).map_err(|e| ChangesError { path: self.path.clone(), source: e })?;
        }
        Ok(())
    }

    /// A resumed run: carries over the earlier file's lines for `row`, which the journal says
    /// was done. Rows are carried in increasing order; lines of rows passed over are dropped
    /// (they are planned again and write their own).
    pub fn carry(&self, row: usize) -> Result<(), ChangesError> {
        let mut inner = self.lock();
        let fail = |e: csv::Error| ChangesError { path: self.path.clone(), source: e };
        loop {
            let record = match inner.pending.take() {
                Some(r) => r,
                None => {
                    let Some(reader) = inner.earlier.as_mut() else { return Ok(()) };
                    let mut r = csv::StringRecord::new();
                    if !reader.read_record(&mut r).map_err(fail)? {
                        inner.earlier = None;
                        return Ok(());
                    }
                    r
                }
            };
            let at: usize = record.get(0).and_then(|r| r.parse().ok()).unwrap_or(0);
            if at < row {
                continue;
            }
            if at > row {
                inner.pending = Some(record);
                return Ok(());
            }
            let field = |i| record.get(i).unwrap_or_default().to_string();
            let line =
                ChangeLine { row, key: field(1), column: field(2), old: field(3), new: field(4) };
            inner.write(&line).map_err(fail)?;
        }
    }

    /// Flushes the file; returns how many values change and the first few.
    pub fn finish(&self) -> Result<(u64, Vec<ChangeLine>), ChangesError> {
        let mut inner = self.lock();
        inner
            .writer
            .flush()
            .map_err(|e| ChangesError { path: self.path.clone(), source: e.into() })?;
        inner.earlier = None;
        if let Some(old) = inner.earlier_path.take() {
            std::fs::remove_file(&old)
                .map_err(|e| ChangesError { path: old.clone(), source: e.into() })?;
        }
        Ok((inner.count, inner.first.clone()))
    }
}

impl Inner {
    fn write(&mut self, line: &ChangeLine) -> Result<(), csv::Error> {
        let row = line.row.to_string();
        let cells = [&row, &line.key, &line.column, &line.old, &line.new];
        self.writer
            .write_record(cells.map(|c| super::guard::guard(c)).iter().map(|c| c.as_ref()))?;
        self.count += 1;
        if self.first.len() < SHOWN {
            self.first.push(line.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(column: &str, old: Value, new: Value) -> ValueChange {
        ValueChange { column: column.into(), old, new }
    }

    fn lines(dir: &Path) -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(dir.join("changes.csv")).unwrap();
        r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect()
    }

    #[test]
    fn writes_input_names_and_cells_and_a_resume_carries_the_rows_it_knows() {
        let dir = tempfile::tempdir().unwrap();
        let names = HashMap::from([(
            "organization_fields.tier".to_string(),
            "custom_fields.tier".to_string(),
        )]);
        let log = ChangeLog::create(dir.path(), names.clone(), false).unwrap();
        log.add(2, "A-1", &[change("notes", json!("x"), json!("y"))]).unwrap();
        log.add(3, "A-2", &[change("tags", Value::Null, json!(["a", "b"]))]).unwrap();
        log.add(4, "A-3", &[change("organization_fields.tier", json!("free"), json!("pro"))])
            .unwrap();
        let (n, first) = log.finish().unwrap();
        assert_eq!(n, 3);
        assert_eq!(first[1].new, "a|b");
        assert_eq!(
            lines(dir.path()),
            vec![
                vec!["2", "A-1", "notes", "x", "y"],
                vec!["3", "A-2", "tags", "", "a|b"],
                vec!["4", "A-3", "custom_fields.tier", "free", "pro"],
            ]
        );
        drop(log);
        // Resumed: rows 2 and 4 were done; row 3 is planned again and writes its own line.
        let log = ChangeLog::create(dir.path(), names, true).unwrap();
        log.carry(2).unwrap();
        log.carry(4).unwrap();
        log.add(3, "A-2", &[change("tags", Value::Null, json!(["a"]))]).unwrap();
        assert_eq!(log.finish().unwrap().0, 3);
        let rows: Vec<String> = lines(dir.path()).iter().map(|l| l.join(",")).collect();
        assert_eq!(
            rows,
            vec!["2,A-1,notes,x,y", "4,A-3,custom_fields.tier,free,pro", "3,A-2,tags,,a"]
        );
        assert!(!dir.path().join("changes.before-resume.csv").exists());
    }
}
