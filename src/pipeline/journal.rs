//! `journal.ndjson`: the append-only, fsynced log of a run that `resume` and `undo` read.
//!
//! A batch is written before it is sent, its job id as soon as it is known, and its results
//! when they come, each line synced to disk before the run goes on: after a crash the journal
//! says, for every batch, whether it may have reached Zendesk.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// The run started.
    Start {
        /// organizations, users, …
        resource: String,
        /// The input file.
        input: String,
        /// upsert, create, update or delete.
        mode: String,
        /// The account's base URL (never credentials).
        target: String,
        /// UTC time, RFC 3339.
        at: String,
        /// The command line's options, to run the rest of the run with (`zdbulk resume`);
        /// paths are absolute. Never credentials: those come from the environment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<Value>,
        /// The directory the run was started from (`--sandbox` keeps its state there).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        /// The input file's size and checksum: a resume refuses a file that has changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
    /// `zdbulk resume` took the run up again.
    Resume {
        /// UTC time, RFC 3339.
        at: String,
    },
    /// A batch about to be sent.
    Batch {
        /// Its number in this run.
        batch: u64,
        /// The resource (`organizations`, `users`, `organization_memberships`).
        #[serde(default)]
        resource: String,
        /// create, update, upsert or delete.
        op: String,
        /// The input rows (as the user numbers them) in request order.
        rows: Vec<usize>,
        /// Their 0-based data-row positions.
        seqs: Vec<usize>,
        /// The request body (or, for deletes, the ids).
        request: Value,
        /// The existing record each row was planned against (`null`: none known).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ids: Vec<Option<u64>>,
        /// For rows that change an existing record: that record's values of the fields the
        /// request writes, as they were before (`zdbulk undo --restore-updates` puts them back).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        before: Vec<Option<Value>>,
    },
    /// Zendesk accepted the batch as a job.
    Job {
        /// The batch.
        batch: u64,
        /// The job id.
        job_id: String,
    },
    /// The job ended.
    Results {
        /// The batch.
        batch: u64,
        /// completed, failed, refused (the request was answered with an error: each result
        /// holds it).
        status: String,
        /// The job's results, in request order (empty when it failed).
        results: Vec<Value>,
    },
    /// Rows whose fate was unknown (failed job, lost answer), looked up: the records found,
    /// by data-row position, and what that settles. A record found for a create was made by
    /// this run (`undo` reads it).
    Found {
        /// The resource (`organizations`, `users`, `organization_memberships`).
        resource: String,
        /// create, update, upsert or delete.
        op: String,
        /// The rows' 0-based data-row positions.
        seqs: Vec<usize>,
        /// The id found for each row (`null`: none).
        ids: Vec<Option<u64>>,
        /// What each row came to, in the shape of a job's result (`{"id", "status"}` when the
        /// record holds the row, `{"error", "details"}` when it failed); `null` when it was
        /// not done and is sent again.
        #[serde(default)]
        items: Vec<Value>,
        /// For memberships: each row's organization.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        organizations: Vec<u64>,
    },
    /// A merge run's row (`zdbulk merge organizations`), journaled for every row before any
    /// merge is sent: what it was checked to, so that a resume needs neither the file nor the
    /// account's past state to finish it.
    MergePair {
        /// 0-based data-row position.
        seq: usize,
        /// The row number the user sees.
        row: usize,
        /// The report's key.
        key: String,
        /// The row's cells (for the failed file).
        #[serde(default)]
        original: Vec<String>,
        /// Why the row was refused before anything was sent (`None`: it is merged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invalid: Option<String>,
        /// The organization merged away.
        #[serde(default)]
        loser: u64,
        /// The organization it is merged into (a chain's final winner).
        #[serde(default)]
        winner: u64,
        /// What the report says besides the outcome (users and domains that move, a chain).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// `--keep-fields`: the values written onto a winner before its merges.
    MergeKeep {
        /// The winner.
        winner: u64,
        /// The `organization` body of the update.
        values: Value,
        /// Whether the update was done (`false`: about to be sent).
        #[serde(default)]
        done: bool,
    },
    /// A merge request about to be sent.
    MergeSent {
        /// The row's position.
        seq: usize,
    },
    /// Zendesk accepted a merge: its Organization Merge record.
    MergeAccepted {
        /// The row's position.
        seq: usize,
        /// The merge record's id.
        merge_id: String,
    },
    /// A merge ended: `complete`, or `failed` with the reason.
    MergeEnded {
        /// The row's position.
        seq: usize,
        /// complete or failed.
        status: String,
        /// The merge record, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        merge_id: Option<String>,
        /// The reason of a failure, or a note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The run ended.
    Finish {
        /// The exit code.
        exit_code: u8,
        /// UTC time, RFC 3339.
        at: String,
    },
}

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal could not be written or synced.
    #[error("failed to write the journal {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The journal could not be read.
    #[error("failed to read the journal {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a journal entry.
    #[error("{path}, line {line}: not a journal entry: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Why.
        reason: String,
    },
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating or appending to) `journal.ndjson` in `dir`.
    pub fn open(dir: &Path) -> Result<Journal, JournalError> {
        let path = dir.join("journal.ndjson");
        let file = crate::output::private::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| JournalError::Write { path: path.clone(), source })?;
        Ok(Journal { path, file })
    }

    /// Appends one entry and syncs it to disk before returning.
    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        self.write(entry)?;
        self.sync()
    }

    /// Appends one entry without waiting for the disk; [`Journal::sync`] makes every entry
    /// written so far durable. A burst of batches is written, synced once, then sent.
    pub fn write(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry)
            .map_err(|e| JournalError::Write { path: self.path.clone(), source: e.into() })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|source| JournalError::Write { path: self.path.clone(), source })
    }

    /// Syncs every entry written so far to disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.file
            .sync_data()
            .map_err(|source| JournalError::Write { path: self.path.clone(), source })
    }

    /// Reads every entry of a journal. A torn last line (a crash mid-write) is ignored.
    pub fn read(dir: &Path) -> Result<Vec<Entry>, JournalError> {
        let mut entries = Vec::new();
        Journal::each(dir, |e| {
            entries.push(e);
            Ok(())
        })?;
        Ok(entries)
    }

    /// Calls `f` with each entry in order, one line in memory at a time. A torn last line (a
    /// crash mid-write: no line end) is ignored; any other line that is not an entry is an
    /// error naming it.
    pub fn each(
        dir: &Path,
        mut f: impl FnMut(Entry) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        use std::io::BufRead as _;
        let path = dir.join("journal.ndjson");
        let read = |source| JournalError::Read { path: path.clone(), source };
        let file = File::open(&path).map_err(read)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(read)? == 0 {
                return Ok(());
            }
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(&line) {
                Ok(e) => f(e)?,
                Err(_) if !line.ends_with('\n') => return Ok(()),
                Err(e) => {
                    return Err(JournalError::Corrupt {
                        path: path.clone(),
                        line: number,
                        reason: e.to_string(),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_tolerates_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let batch = Entry::Batch {
            batch: 1,
            resource: "organizations".into(),
            op: "create".into(),
            rows: vec![2, 3],
            seqs: vec![0, 1],
            request: json!({"organizations": [{"name": "A"}, {"name": "B"}]}),
            ids: vec![],
            before: vec![],
        };
        j.append(&batch).unwrap();
        j.append(&Entry::Job { batch: 1, job_id: "V3-1".into() }).unwrap();
        drop(j);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal.ndjson"))
            .unwrap();
        f.write_all(b"{\"type\":\"results\",\"bat").unwrap();
        let entries = Journal::read(dir.path()).unwrap();
        assert_eq!(entries, vec![batch, Entry::Job { batch: 1, job_id: "V3-1".into() }]);
    }

    #[test]
    fn a_corrupt_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("journal.ndjson"),
            "garbage\n{\"type\":\"job\",\"batch\":1,\"job_id\":\"x\"}\n",
        )
        .unwrap();
        assert!(matches!(Journal::read(dir.path()), Err(JournalError::Corrupt { line: 1, .. })));
    }
}
