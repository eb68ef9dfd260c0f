//! A new run directory: the one given (`--run-dir`), or `zdbulk-runs/<UTC time>-<name>` under
//! the current directory (`-2`, `-3`, … when that exists); never one that holds a run already.
//! Created 0700.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::usage_error;

/// Creates the run directory `given`, or a new one named `<UTC time>-<name>` under
/// `cwd/zdbulk-runs`.
pub(crate) fn create(given: Option<&Path>, cwd: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(d) => d.to_path_buf(),
        None => {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
            let base = cwd.join("zdbulk-runs");
            let mut dir = base.join(format!("{stamp}-{name}"));
            let mut n = 2;
            while dir.exists() {
                dir = base.join(format!("{stamp}-{name}-{n}"));
                n += 1;
            }
            dir
        }
    };
    if dir.join("report.csv").exists() || dir.join("journal.ndjson").exists() {
        return Err(usage_error(format!(
            "{} already holds a run; give another --run-dir (or leave it out for a new one)",
            dir.display()
        )));
    }
    crate::output::private::create_dir(&dir)
        .with_context(|| format!("failed to create the run directory {}", dir.display()))?;
    Ok(dir)
}
