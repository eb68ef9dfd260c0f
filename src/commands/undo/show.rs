//! What a user sees at the end of an undo: what it did (or, in a dry run, would do), or that
//! nothing is left to undo, and where its report is.

use std::path::Path;

use crate::output::summary::Summary;

/// Prints the summary (or `summary.json` with `--json`); `work` is how many records needed a
/// write.
pub(super) fn print(
    summary: &Summary,
    dir: &Path,
    import_dir: &Path,
    work: usize,
    json: bool,
    quiet: bool,
) {
    if json {
        match serde_json::to_string_pretty(summary) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("warning: failed to print the summary as JSON: {e}"),
        }
        return;
    }
    if work == 0 {
        // Said even under --quiet: it is the answer to the question the user asked.
        eprintln!(
            "nothing left to undo: every record {} created is gone already{}",
            import_dir.display(),
            if summary.rows > 0 { " and nothing else can be written back" } else { "" }
        );
    }
    if quiet {
        return;
    }
    let verb = if summary.dry_run { "would be undone (dry run)" } else { "undone" };
    println!(
        "{} records of {} {verb} in {:.1}s",
        summary.rows, summary.input, summary.duration_secs
    );
    for (status, n) in &summary.counts {
        println!("  {status:<10} {n:>8}");
    }
    println!("  {} API requests, {} jobs", summary.api_requests, summary.jobs);
    println!("report: {}", dir.join("report.csv").display());
    let failed = dir.join("failed.csv");
    if failed.exists() {
        println!("failed: {} (run the undo again to retry them)", failed.display());
    }
}
