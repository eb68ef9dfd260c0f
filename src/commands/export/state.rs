//! The resume point of an export: a small JSON file next to the output holding the cursor
//! after the last page fully written and synced, and the byte length of the data file at that
//! point. It is replaced atomically (write, sync, rename) after each page, so whatever kills
//! the process, the file names a page boundary: `--resume` truncates the data back to it and
//! asks for the next page.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::output::private;

/// The format version of the state file.
const VERSION: u32 = 1;

/// Where an interrupted export stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportState {
    /// The format version.
    pub version: u32,
    /// The resource exported (`organizations`).
    pub resource: String,
    /// `csv` or `xlsx`.
    pub format: String,
    /// The columns, in order.
    pub columns: Vec<String>,
    /// `--since`, as RFC 3339.
    pub since: Option<String>,
    /// `--excel`.
    pub excel: bool,
    /// The cursor of the next page to fetch (`None` with `listing_done` false: the first).
    pub next_cursor: Option<String>,
    /// Every page is written; only the XLSX conversion (if any) is left.
    pub listing_done: bool,
    /// Length of the data file (the CSV, or the XLSX's spool) after the last page.
    pub bytes: u64,
    /// Records written.
    pub records: u64,
    /// Records read (more than written under `--since`).
    pub scanned: u64,
}

impl ExportState {
    /// A fresh state, before the first page.
    pub fn new(
        resource: &str,
        format: &str,
        columns: Vec<String>,
        since: Option<String>,
        excel: bool,
    ) -> ExportState {
        ExportState {
            version: VERSION,
            resource: resource.into(),
            format: format.into(),
            columns,
            since,
            excel,
            next_cursor: None,
            listing_done: false,
            bytes: 0,
            records: 0,
            scanned: 0,
        }
    }

    /// The state file of an output: `FILE.zdbulk-export.json` beside it.
    pub fn path_for(output: &Path) -> PathBuf {
        sibling(output, ".zdbulk-export.json")
    }

    /// Reads the state file, if there is one.
    pub fn load(path: &Path) -> anyhow::Result<Option<ExportState>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("failed to read the export state {}", path.display())))
            }
        };
        let state: ExportState = serde_json::from_str(&text).with_context(|| {
            format!("{} is not an export state file (delete it to start over)", path.display())
        })?;
        if state.version != VERSION {
            anyhow::bail!(
                "{} was written by another version of zdbulk (delete it to start over)",
                path.display()
            );
        }
        Ok(Some(state))
    }

    /// Replaces the state file atomically: a crash leaves the old one or the new one.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let tmp = sibling(path, ".tmp");
        let write = || -> std::io::Result<()> {
            let mut f = private::create(&tmp)?;
            f.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
            f.sync_data()?;
            std::fs::rename(&tmp, path)
        };
        write().with_context(|| format!("failed to write the export state {}", path.display()))
    }

    /// Removes the state file (the export is complete).
    pub fn remove(path: &Path) -> anyhow::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow::Error::new(e)
                .context(format!("failed to remove the export state {}", path.display()))),
            _ => Ok(()),
        }
    }
}

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_sits_beside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("orgs.csv");
        let path = ExportState::path_for(&out);
        assert_eq!(path, dir.path().join("orgs.csv.zdbulk-export.json"));
        assert_eq!(ExportState::load(&path).unwrap(), None);
        let mut s = ExportState::new("organizations", "csv", vec!["id".into()], None, false);
        s.next_cursor = Some("abc".into());
        s.bytes = 42;
        s.save(&path).unwrap();
        assert_eq!(ExportState::load(&path).unwrap(), Some(s));
        ExportState::remove(&path).unwrap();
        ExportState::remove(&path).unwrap();
        assert!(!path.exists());
    }
}
