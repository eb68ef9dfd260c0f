//! `zdbulk export <organizations|users|organization-fields|user-fields> -o FILE.csv|FILE.xlsx`:
//! every record once, in the columns and value forms `import` reads, so an export can be
//! edited and imported again with no mapping (`docs/exporting.md`).
//!
//! - [`columns`]: which columns, and each record value as import reads it.
//! - [`records`]: organizations and users, cursor page by cursor page, resumable.
//! - [`definitions`]: field definitions in the definitions format.
//! - [`csv_out`], [`xlsx_out`]: the writers; [`state`]: the resume point.

mod columns;
mod csv_out;
mod definitions;
mod records;
mod state;
mod xlsx_out;

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

use crate::cli::{ExportArgs, TargetArgs};
use crate::error::{usage_error, ExitStatus, StatusError};
use crate::resource::Resource;
use crate::settings::resolve_target;
use crate::zendesk::{ApiError, Client};
use columns::{available, select, FieldInfo};
use records::{Ended, OutFormat, RecordExport};
use state::ExportState;

/// The output's format, from its extension.
fn format_of(path: &Path) -> anyhow::Result<OutFormat> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(OutFormat::Csv),
        Some("xlsx") => Ok(OutFormat::Xlsx),
        _ => {
            Err(usage_error(format!("-o {}: the output must end in .csv or .xlsx", path.display())))
        }
    }
}

/// Parses `--since`: `YYYY-MM-DD` (midnight UTC) or RFC 3339.
fn parse_since(raw: &str) -> anyhow::Result<DateTime<Utc>> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(usage_error(format!(
        "--since '{raw}' is not a date: give YYYY-MM-DD (midnight UTC) or an RFC 3339 time such as 2026-01-31T09:00:00Z"
    )))
}

/// Refuses an output that cannot be written before anything is asked of the account.
fn check_writable(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        return Err(usage_error(format!("cannot write {}: it is a directory", path.display())));
    }
    let existed = path.exists();
    let opened = crate::output::private::options().append(true).create(true).open(path);
    match opened {
        Ok(_) if !existed => {
            let _ = std::fs::remove_file(path);
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(usage_error(format!("cannot write {}: {e}", path.display()))),
    }
}

/// The command that continues an interrupted export.
fn resume_hint(args: &ExportArgs) -> String {
    let mut cmd =
        format!("zdbulk export {} -o {} --resume", args.resource.cli_name(), args.output.display());
    let TargetArgs { sandbox, subdomain, url } = &args.target;
    if *sandbox {
        cmd.push_str(" --sandbox");
    } else if let Some(s) = subdomain {
        cmd.push_str(&format!(" --subdomain {s}"));
    } else if let Some(u) = url {
        cmd.push_str(&format!(" --url {u}"));
    }
    cmd
}

fn is_definitions(resource: Resource) -> bool {
    matches!(resource, Resource::OrganizationFields | Resource::UserFields)
}

/// Runs `zdbulk export`.
pub async fn run(args: ExportArgs) -> anyhow::Result<ExitStatus> {
    let format = format_of(&args.output)?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    if args.max_rpm == Some(0) {
        return Err(usage_error("--max-rpm must be at least 1"));
    }
    if args.excel && format == OutFormat::Xlsx {
        return Err(usage_error("--excel shapes a CSV for Excel; an .xlsx output needs no flag"));
    }
    if is_definitions(args.resource) && since.is_some() {
        return Err(usage_error(
            "--since is for organizations and users; field definitions are exported whole",
        ));
    }
    check_writable(&args.output)?;
    let state_path = ExportState::path_for(&args.output);
    let saved = if is_definitions(args.resource) { None } else { ExportState::load(&state_path)? };
    if args.resume && saved.is_none() && !is_definitions(args.resource) {
        return Err(usage_error(format!(
            "nothing to resume: {} does not exist (the export finished, or never started); run it without --resume",
            state_path.display()
        )));
    }
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let target = resolve_target(&args.target, &cwd).await?;
    for w in &target.warnings {
        eprintln!("warning: {w}");
    }
    let client = target.client(args.max_rpm)?;
    let result = export(&args, &client, format, since, saved).await;
    target.shutdown().await?;
    result
}

async fn export(
    args: &ExportArgs,
    client: &Client,
    format: OutFormat,
    since: Option<DateTime<Utc>>,
    saved: Option<ExportState>,
) -> anyhow::Result<ExitStatus> {
    let clock = Instant::now();
    let what = args.resource.cli_name();
    if is_definitions(args.resource) {
        let n = definitions::export(
            client,
            args.resource,
            args.columns.as_deref(),
            &args.output,
            format,
            args.excel,
        )
        .await
        .map_err(api_status)?;
        if args.json {
            print_json(args, n as u64, n as u64, client, clock, ExitStatus::Success);
        } else if !args.quiet {
            eprintln!("exported {n} {what} to {}", args.output.display());
        }
        return Ok(ExitStatus::Success);
    }
    let family = match args.resource {
        Resource::Users => Resource::UserFields,
        _ => Resource::OrganizationFields,
    };
    let fields: Vec<FieldInfo> = definitions::list(client, family)
        .await
        .map_err(api_status)?
        .iter()
        .filter_map(FieldInfo::from_api)
        .collect();
    let all = available(args.resource, &fields);
    let since_text = since.map(|s| s.to_rfc3339());
    let (columns, state, resuming) = match saved.filter(|_| args.resume) {
        Some(state) => {
            let columns = resumed_columns(args, &state, all, since_text.as_deref(), format)?;
            (columns, state, true)
        }
        None => {
            if saved_exists(&args.output) && !args.quiet {
                eprintln!(
                    "note: an interrupted export of {} is set aside; this one starts over (use --resume to continue one)",
                    args.output.display()
                );
            }
            let columns = select(all, args.columns.as_deref())?;
            let names = columns.iter().map(|c| c.name.clone()).collect();
            let state = ExportState::new(what, format.as_str(), names, since_text, args.excel);
            (columns, state, false)
        }
    };
    let (stop_tx, stop) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        if super::signals::stop_signal().await {
            let _ = stop_tx.send(true);
        }
    });
    let export = RecordExport {
        client,
        resource: args.resource,
        columns,
        since,
        output: &args.output,
        format,
        excel: args.excel,
        state,
        resuming,
        quiet: args.quiet,
        stop,
    };
    let ended = export.run().await;
    watcher.abort();
    let (ended, state) = ended.map_err(|e| {
        if is_api(&e) {
            e.context(StatusError {
                message: format!(
                    "the export stopped early; what was written is kept: continue it once the account answers again with `{}`",
                    resume_hint(args)
                ),
                status: ExitStatus::Api,
            })
        } else {
            e
        }
    })?;
    let requests = client.stats().requests;
    if args.json {
        let status = match ended {
            Ended::Done => ExitStatus::Success,
            Ended::Interrupted => ExitStatus::Interrupted,
        };
        print_json(args, state.records, state.scanned, client, clock, status);
    }
    match ended {
        Ended::Done => {
            if !args.quiet && !args.json {
                let skipped = state.scanned.saturating_sub(state.records);
                let filtered = if since.is_some() {
                    format!(", {skipped} not updated since --since left out")
                } else {
                    String::new()
                };
                eprintln!(
                    "exported {} {what} to {} ({requests} requests, {:.1} s{filtered})",
                    state.records,
                    args.output.display(),
                    clock.elapsed().as_secs_f64()
                );
            }
            Ok(ExitStatus::Success)
        }
        Ended::Interrupted => {
            eprintln!(
                "interrupted: {} {what} are written; to continue without duplicating or losing one, run:\n  {}",
                state.records,
                resume_hint(args)
            );
            Ok(ExitStatus::Interrupted)
        }
    }
}

/// The one JSON document `--json` prints at the end of an export.
fn print_json(
    args: &ExportArgs,
    records: u64,
    scanned: u64,
    client: &Client,
    clock: Instant,
    status: ExitStatus,
) {
    let stats = client.stats();
    let doc = serde_json::json!({
        "resource": args.resource.cli_name(),
        "output": args.output.display().to_string(),
        "records": records,
        "scanned": scanned,
        "api_requests": stats.requests,
        "rate_limit_waits": stats.rate_limited,
        "duration_secs": clock.elapsed().as_secs_f64(),
        "target": client.base_url().to_string(),
        "exit_code": status.code(),
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
}

fn saved_exists(output: &Path) -> bool {
    ExportState::path_for(output).exists()
}

/// The columns of a resumed export: the ones it started with. Options given again must agree
/// with the state, or the file would mix two exports.
fn resumed_columns(
    args: &ExportArgs,
    state: &ExportState,
    all: Vec<columns::Column>,
    since: Option<&str>,
    format: OutFormat,
) -> anyhow::Result<Vec<columns::Column>> {
    let differs = |what: &str| {
        usage_error(format!(
            "--resume: the interrupted export of {} was started with other {what}; give the same options, or start over without --resume",
            args.output.display()
        ))
    };
    if state.resource != args.resource.cli_name() || state.format != format.as_str() {
        return Err(differs("a resource or format"));
    }
    if let Some(cols) = &args.columns {
        let given: Vec<&str> = cols.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
        if given != state.columns.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(differs("--columns"));
        }
    }
    if since.is_some() && since != state.since.as_deref() {
        return Err(differs("--since"));
    }
    if args.excel && !state.excel {
        return Err(differs("--excel"));
    }
    let columns = select(all, Some(&state.columns))
        .context("--resume: a column of the interrupted export is gone from the account")?;
    Ok(columns)
}

/// Whether an error came from the API (exit 3) rather than from the files.
fn is_api(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<ApiError>().is_some())
}

/// Marks API errors as such (exit 3).
fn api_status(err: anyhow::Error) -> anyhow::Error {
    if is_api(&err) {
        err.context(StatusError {
            message: "the account could not be read".into(),
            status: ExitStatus::Api,
        })
    } else {
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_day_or_an_rfc3339_time() {
        assert_eq!(parse_since("2026-01-31").unwrap().to_rfc3339(), "2026-01-31T00:00:00+00:00");
        assert_eq!(
            parse_since("2026-01-31T09:00:00+01:00").unwrap().to_rfc3339(),
            "2026-01-31T08:00:00+00:00"
        );
        let err = parse_since("31/01/2026").unwrap_err().to_string();
        assert!(err.starts_with("--since '31/01/2026' is not a date"), "{err}");
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(format_of(Path::new("a.CSV")).unwrap(), OutFormat::Csv);
        assert_eq!(format_of(Path::new("a.xlsx")).unwrap(), OutFormat::Xlsx);
        assert!(format_of(Path::new("a.txt")).is_err());
    }
}
