//! `zdbulk resume RUN_DIR`: finishes an import from its journal, whatever stopped it (Ctrl-C,
//! SIGKILL, power loss, an API that stopped answering). Rows the journal knows are reported as
//! they were, rows in doubt are settled against the account first, the rest are sent; the
//! report, failed rows and summary come out as if the run had never stopped.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::RunDirArgs;
use crate::error::{usage_error, ExitStatus};
use crate::pipeline::memory::Memory;

/// Runs `zdbulk resume`.
pub async fn run(args: RunDirArgs) -> anyhow::Result<ExitStatus> {
    let dir = std::fs::canonicalize(&args.run_dir)
        .or_else(|_| std::path::absolute(&args.run_dir))
        .with_context(|| format!("failed to read the path {}", args.run_dir.display()))?;
    if !dir.join("journal.ndjson").is_file() {
        return Err(usage_error(format!(
            "{} is not a run directory: it has no journal.ndjson; give the directory an import wrote (zdbulk-runs/<time>-<resource>, or its --run-dir)",
            dir.display()
        )));
    }
    let memory = Memory::read(&dir, false)
        .map_err(|e| usage_error(format!("{}: the journal cannot be read: {e}", dir.display())))?;
    let Some(started) = memory.started.clone() else {
        return Err(usage_error(format!(
            "{}: the journal has no start line, so nothing was sent: run the import again",
            dir.display()
        )));
    };
    if started.mode == "merge" {
        return super::merge::resume(dir, args).await;
    }
    let Some(mut import) = started.args.clone() else {
        return Err(usage_error(format!(
            "{}: this run was written by an older zdbulk that did not journal its options; import its failed file instead (it holds the rows not done)",
            dir.display()
        )));
    };
    if import.dry_run {
        return Err(usage_error(format!(
            "{}: a dry run sends nothing, so there is nothing to resume; run the import without --dry-run",
            dir.display()
        )));
    }
    if let Some(code) = memory.finished.filter(|c| *c <= 1 && !memory.in_doubt()) {
        println!("{}", finished(&dir, code));
        return Ok(ExitStatus::Success);
    }
    let t = &args.target;
    if t.sandbox || t.subdomain.is_some() || t.url.is_some() {
        import.target = t.clone();
    } else if import.target.sandbox {
        // The embedded sandbox keeps its state under the directory the run started from.
        if let Some(cwd) = started.cwd.as_deref().map(Path::new).filter(|d| d.is_dir()) {
            std::env::set_current_dir(cwd)
                .with_context(|| format!("failed to enter {}", cwd.display()))?;
        }
    }
    check_input(&import.file, started.fingerprint.as_deref())?;
    tokio::task::block_in_place(|| cut_torn_tail(&dir.join("journal.ndjson")))?;
    import.run_dir = Some(dir.clone());
    import.quiet = args.quiet;
    import.json = args.json;
    if !args.quiet {
        let again = if memory.resumes > 0 { " again" } else { "" };
        eprintln!(
            "resuming{again} {} ({} {}, mode {})",
            dir.display(),
            import.resource.cli_name(),
            import.file.display(),
            started.mode
        );
    }
    super::import::resume(import, memory).await
}

/// The input must be the file the run started with: rows are matched to the journal by their
/// position in it.
fn check_input(file: &Path, fingerprint: Option<&str>) -> anyhow::Result<()> {
    if !file.is_file() {
        return Err(usage_error(format!(
            "the run's input file {} is gone; resume reads the rows not yet sent from it: put it back where it was",
            file.display()
        )));
    }
    let Some(want) = fingerprint else { return Ok(()) };
    let have = tokio::task::block_in_place(|| crate::input::fingerprint(file))
        .with_context(|| format!("failed to read {}", file.display()))?;
    if have != want {
        return Err(usage_error(format!(
            "{} changed since the run started (its size or checksum differ): resume matches rows to its journal by their place in the file, so it needs the file as it was. Restore it, or import the changed file as a new run (upsert finds what this run created)",
            file.display()
        )));
    }
    Ok(())
}

/// Cuts off a last journal line a crash left without its end (readers skip it), before resume
/// appends: a line written after it would glue onto it, and the journal would no longer read.
pub(super) fn cut_torn_tail(path: &Path) -> anyhow::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let fail = || format!("failed to repair the journal {}", path.display());
    let mut file =
        std::fs::OpenOptions::new().read(true).write(true).open(path).with_context(fail)?;
    let len = file.metadata().with_context(fail)?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 1 << 16];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let buf = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start)).with_context(fail)?;
        file.read_exact(buf).with_context(fail)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        file.set_len(end).with_context(fail)?;
        file.sync_all().with_context(fail)?;
    }
    Ok(())
}

/// What resuming a finished run says.
fn finished(dir: &Path, code: u8) -> String {
    let report = dir.join("report.csv");
    let failed =
        ["failed.csv", "failed.xlsx"].map(|f| dir.join(f)).into_iter().find(|p| p.exists());
    match (code, failed) {
        (1, Some(failed)) => format!(
            "{}: the run finished (exit code 1); nothing to resume and nothing was sent. Its report is {}; the rows that failed are in {}: fix them and import that file",
            dir.display(),
            report.display(),
            failed.display()
        ),
        _ => format!(
            "{}: the run finished (exit code {code}); nothing to resume and nothing was sent. Its report is {}",
            dir.display(),
            report.display()
        ),
    }
}
