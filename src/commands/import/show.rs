//! What a user sees at the end of a run: the summary table (or `summary.json` on stdout with
//! `--json`), and after an interruption the command that finishes the run.

use std::path::Path;

use crate::cli::{ImportArgs, ImportMode};
use crate::output::summary::Summary;

/// `n thing` or `n things`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Prints the summary table (or JSON), and where the report and failed rows are. `--quiet`
/// hides the progress display only: the counts and the paths are still printed.
pub fn print(summary: &Summary, dir: &Path, json: bool, _quiet: bool) {
    if json {
        match serde_json::to_string_pretty(summary) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("warning: failed to print the summary as JSON: {e}"),
        }
        return;
    }
    let verb = if summary.mode == "validate" {
        "validated"
    } else if summary.dry_run {
        "planned (dry run)"
    } else if summary.exit_code == 130 {
        "stopped (interrupted)"
    } else if summary.exit_code == 3 {
        "stopped (the API could not be used)"
    } else {
        "imported"
    };
    println!(
        "{} of {} {verb} in {:.1}s",
        count(summary.rows as u64, "row", "rows"),
        summary.input,
        summary.duration_secs
    );
    for (status, n) in &summary.counts {
        println!("  {status:<10} {n:>8}");
    }
    if !summary.failures.is_empty() {
        println!("  by error code:");
        for (code, g) in &summary.failures {
            let example: String = g.example.chars().take(100).collect();
            let more = if g.example.chars().count() > 100 { "…" } else { "" };
            println!("    {code:<24} {:>6}  e.g. row {}: {example}{more}", g.count, g.first_row);
        }
    }
    if let Some(n) = summary.welcome_emails.filter(|n| *n > 0) {
        let verb = if summary.dry_run { "would be" } else { "were" };
        let who = if n == 1 { "person" } else { "people" };
        println!("  {n} {who} {verb} sent a welcome e-mail by Zendesk");
    }
    if let Some(n) = summary.changes {
        let verb = if summary.dry_run { "would change" } else { "changed" };
        println!("  {} {verb} (changes.csv)", count(n, "value", "values"));
    }
    if summary.mode != "validate" {
        let waits = summary.rate_limit_waits + summary.too_many_jobs;
        println!(
            "  {}, {}, {}",
            count(summary.api_requests, "API request", "API requests"),
            count(summary.jobs, "job", "jobs"),
            count(waits, "wait for the account's limits", "waits for the account's limits"),
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

/// What an interrupted run says: every row has a line, and the exact commands that finish it:
/// `zdbulk resume` on its directory, or an import of the rows it did not do (the failed file
/// holds them, and only them once the jobs in flight ran to their end).
pub fn finish_hint(args: &ImportArgs, dir: &Path) -> String {
    let report = dir.join("report.csv");
    let failed =
        ["failed.csv", "failed.xlsx"].map(|f| dir.join(f)).into_iter().find(|p| p.exists());
    let Some(failed) = failed else {
        return format!("interrupted: every row was done; the report is {}", report.display());
    };
    let mut command = format!(
        "zdbulk import {} {}",
        args.resource.cli_name(),
        quoted(&failed.display().to_string())
    );
    let t = &args.target;
    if t.sandbox {
        command.push_str(" --sandbox");
    } else if let Some(s) = &t.subdomain {
        command.push_str(&format!(" --subdomain {}", quoted(s)));
    } else if let Some(u) = &t.url {
        command.push_str(&format!(" --url {}", quoted(u)));
    }
    if args.mode != ImportMode::Upsert {
        command.push_str(&format!(" --mode {}", super::mode_of(args.mode).as_str()));
    }
    if let Some(w) = args.welcome_email {
        command.push_str(match w {
            crate::cli::WelcomeEmail::Send => " --welcome-email send",
            crate::cli::WelcomeEmail::Skip => " --welcome-email skip",
        });
    }
    if args.one_at_a_time {
        command.push_str(" --one-at-a-time");
    }
    format!(
        "interrupted: every row has a line in {}; the rows not done are in {}. To finish the run, run:\n  zdbulk resume {}\n(or import only the rows not done, as a new run: {command})",
        report.display(),
        failed.display(),
        quoted(&dir.display().to_string())
    )
}

/// A dry run's first changes, one line each: `row 5 notes: 'x' -> 'y'`.
pub fn first_changes(lines: &[crate::output::changes::ChangeLine], total: u64) {
    if lines.is_empty() {
        return;
    }
    let more = total.saturating_sub(lines.len() as u64);
    let of = if more > 0 { format!(" (first {} of {total})", lines.len()) } else { String::new() };
    println!("changes{of}:");
    for c in lines {
        let old = if c.old.is_empty() { "(empty)".to_string() } else { format!("'{}'", c.old) };
        let new = if c.new.is_empty() { "(empty)".to_string() } else { format!("'{}'", c.new) };
        println!("  row {} ({}) {}: {old} -> {new}", c.row, c.key, c.column);
    }
}

/// A shell word: as it is when it holds nothing a shell would read, else in single quotes.
fn quoted(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `secs` seconds in words: `45 s`, `12 min`, `3 h 20 min`.
pub fn duration_words(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600).div_ceil(60)),
    }
}
