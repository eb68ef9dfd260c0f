//! The final summary a user sees: a table, or `summary.json` on stdout with `--json`.

use std::path::Path;

use crate::output::summary::Summary;

/// Prints the summary table (or JSON), and where the report and failed rows are.
pub fn print(summary: &Summary, dir: &Path, json: bool, quiet: bool) {
    if json {
        match serde_json::to_string_pretty(summary) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("warning: failed to print the summary as JSON: {e}"),
        }
        return;
    }
    if quiet {
        return;
    }
    let verb = if summary.mode == "validate" {
        "validated"
    } else if summary.dry_run {
        "planned (dry run)"
    } else {
        "imported"
    };
    let rows = if summary.rows == 1 { "row" } else { "rows" };
    println!(
        "{} {rows} of {} {verb} in {:.1}s",
        summary.rows, summary.input, summary.duration_secs
    );
    for (status, n) in &summary.counts {
        println!("  {status:<10} {n:>8}");
    }
    if let Some(n) = summary.welcome_emails.filter(|n| *n > 0) {
        let verb = if summary.dry_run { "would be" } else { "were" };
        let who = if n == 1 { "person" } else { "people" };
        println!("  {n} {who} {verb} sent a welcome e-mail by Zendesk");
    }
    if summary.mode != "validate" {
        println!(
            "  {} API requests, {} jobs, {} rate-limit waits",
            summary.api_requests, summary.jobs, summary.rate_limit_waits
        );
    }
    println!("report: {}", dir.join("report.csv").display());
    for name in ["failed.csv", "failed.xlsx"] {
        let p = dir.join(name);
        if p.exists() {
            println!("failed rows: {} (fix them and import this file again)", p.display());
        }
    }
}
