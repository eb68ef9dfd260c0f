//! The exclusive lock on a `--state` file: one sandbox per state file at a time.
//!
//! Two sandboxes saving to one file would each write their own store over the other's, and
//! the last writer would silently win. So a sandbox with a state file holds an OS advisory
//! lock on `FILE.lock` beside it for its whole life; a second one is refused with an error
//! that names the file and the holder's pid. The lock is not on the state file itself,
//! because saving replaces that file (temp file + rename). The OS drops the lock when its
//! holder's file is closed, including when the process dies, so a lock file left behind by a
//! crash never blocks; it is never removed (removing it would let two processes lock two
//! different files of the same name). It holds the holder's pid while held, for the error.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// A held lock on a state file. Dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    /// The open lock file; the lock lives as long as it is open.
    file: File,
}

impl Drop for StateLock {
    /// Clears the pid while still holding the lock, so that a pid in the file means a holder
    /// that is running or died without stopping; closing the file then releases the lock.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// `FILE.lock` beside `FILE`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

impl StateLock {
    /// Takes the exclusive lock on `state`, without waiting: another holder is an error that
    /// says what to do, naming the holder's pid when it is recorded.
    pub fn acquire(state: &Path) -> anyhow::Result<StateLock> {
        let path = lock_path(state);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create the directory {}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("failed to open the lock file {}", path.display()))?;
        // Called through the trait: since Rust 1.89 `File` has an inherent `try_lock` too.
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                let holder = read_pid(&mut file).map(|pid| format!(" (pid {pid})"));
                let state = state.display();
                anyhow::bail!(
                    "another zdbulk sandbox is using {state}{holder}; wait for it to finish, \
                     or run `zdbulk sandbox --state {state}` once and point the imports at it \
                     with --url",
                    holder = holder.unwrap_or_default(),
                );
            }
            Err(fs4::TryLockError::Error(err)) => {
                return Err(err).with_context(|| format!("failed to lock {}", path.display()))
            }
        }
        // Best effort: the pid only makes the refusal of a second sandbox clearer.
        let _ = write_pid(&mut file);
        Ok(StateLock { file })
    }
}

/// The pid the holder wrote, if there is one yet.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn write_pid(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_state_file() {
        assert_eq!(
            lock_path(Path::new("a/.zdbulk/sandbox.json")),
            Path::new("a/.zdbulk/sandbox.json.lock")
        );
        assert_eq!(lock_path(Path::new("state")), Path::new("state.lock"));
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("new").join("state.json");
        let first = StateLock::acquire(&state).unwrap();
        let err = format!("{:#}", StateLock::acquire(&state).unwrap_err());
        assert!(
            err.contains(&format!("another zdbulk sandbox is using {}", state.display())),
            "{err}"
        );
        assert!(err.contains(&format!("(pid {})", std::process::id())), "{err}");
        assert!(err.contains("zdbulk sandbox --state"), "{err}");
        drop(first);
        // The lock file stays, without a pid, and does not block.
        assert_eq!(std::fs::read_to_string(lock_path(&state)).unwrap(), "");
        let _again = StateLock::acquire(&state).unwrap();
    }
}
