//! `zdbulk merge organizations PAIRS` (and `--suggest`): merge duplicate organizations in
//! bulk from a reviewed file of `loser,winner` pairs (`docs/merging.md`).
//!
//! Everything is checked before anything is sent (`pairs`), a dry run writes the plan
//! (`plan`: users and domain names that move, values lost, in `changes.csv`), a real run asks
//! for confirmation, then sends one merge a pair and follows each to its end (`send`),
//! journaling every step so that `zdbulk resume` finishes it (`resume`). The run directory is
//! an import's: `report.csv`, `failed.csv` (re-runnable as it is), `summary.json`,
//! `changes.csv`, `journal.ndjson`.

mod account;
mod finish;
mod pairs;
mod plan;
mod resume;
mod send;
mod settle;
mod suggest;

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use crate::cli::MergeArgs;
use crate::error::{usage_error, ExitStatus};
use crate::output::changes::ChangeLog;
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::pipeline::journal::{Entry, Journal};
use crate::settings::resolve_target;
use account::Account;
use finish::Run;

pub(crate) use resume::resume;

/// How a pair's merge starts (a resume knows more than a first run).
#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// Never sent.
    Fresh,
    /// Sent, with no merge id journaled: look it up before anything is sent again.
    InDoubt,
    /// Accepted as this merge: follow it.
    Accepted(String),
}

/// A pair to merge.
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub(crate) seq: usize,
    pub(crate) row: usize,
    pub(crate) key: String,
    pub(crate) original: Vec<String>,
    pub(crate) loser: u64,
    pub(crate) winner: u64,
    /// What the report says of it (what moves, a chain).
    pub(crate) note: String,
    pub(crate) start: Start,
}

/// The account of a merge (or `--suggest`): its target resolved (warnings printed), a client,
/// and every organization read.
pub(crate) async fn connect(
    args: &MergeArgs,
    cwd: &std::path::Path,
) -> anyhow::Result<(crate::settings::Target, crate::zendesk::Client, Account)> {
    let target = resolve_target(&args.target, cwd).await?;
    for w in &target.warnings {
        eprintln!("warning: {w}");
    }
    let client = target.client(args.max_rpm)?;
    let account = Account::read(&client).await.map_err(|e| {
        crate::commands::import::api(e, "failed to read the account's organizations")
    })?;
    Ok((target, client, account))
}

/// The run directory's name.
const RUN_NAME: &str = "merge-organizations";

/// Runs `zdbulk merge`.
pub async fn run(args: MergeArgs) -> anyhow::Result<ExitStatus> {
    if args.suggest {
        return suggest::run(args).await;
    }
    let started_at = chrono::Utc::now();
    let Some(file) = args.file.clone() else {
        return Err(usage_error("give the pairs file to merge, or --suggest -o FILE"));
    };
    if !file.is_file() {
        return Err(usage_error(format!("{}: no such file", file.display())));
    }
    let file = std::path::absolute(&file).unwrap_or(file);
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let (target, client, account) = connect(&args, &cwd).await?;
    let checked = pairs::read(&file, args.sheet.as_deref(), &account)?;
    let (steps, keeps) = plan::plan(&account, &checked.pairs, args.keep_fields);
    let valid = checked.pairs.iter().filter(|p| p.invalid.is_none()).count();
    if !args.dry_run && valid > 0 {
        confirm(valid, args.yes)?;
    }
    let dir = crate::commands::run_dir::create(args.run_dir.as_deref(), &cwd, RUN_NAME)?;
    let changes = ChangeLog::create(&dir, HashMap::new(), false)?;
    let format = if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
        FailedFormat::Xlsx
    } else {
        FailedFormat::Csv
    };
    let failed = FailedRows::create(&dir, format, checked.header.clone())?;
    let report = ReportWriter::create(&dir, failed)?;
    let mut invalid = Vec::new();
    let mut works = Vec::new();
    for p in &checked.pairs {
        match (&p.invalid, steps.get(&p.seq)) {
            (None, Some(step)) => {
                changes.add(p.row, &p.key, &step.changes)?;
                works.push(Work {
                    seq: p.seq,
                    row: p.row,
                    key: p.key.clone(),
                    original: p.original.clone(),
                    loser: p.loser,
                    winner: p.winner,
                    note: step.note(&account, p),
                    start: Start::Fresh,
                });
            }
            (why, _) => {
                let why =
                    why.clone().unwrap_or_else(|| "an organization of the pair is gone".into());
                invalid.push(settle::invalid(p.seq, p.row, &p.key, &p.original, &why));
            }
        }
    }
    let journal = if args.dry_run {
        None
    } else {
        let mut j = Journal::open(&dir)?;
        start_journal(&mut j, &args, &file, &cwd, client.base_url().as_str(), &checked, &works)?;
        Some(j)
    };
    let keeps: Vec<_> = keeps.into_iter().collect();
    let run = Run {
        dir,
        input: file,
        rows: checked.pairs.len(),
        dry_run: args.dry_run,
        quiet: args.quiet,
        json: args.json,
        started_at,
        warnings: target.warnings.clone(),
        changes: Some(changes),
    };
    let status = run.finish(&client, report, journal, invalid, works, keeps).await;
    target.shutdown().await?;
    status
}

/// The journal's first lines: the start (with the options, for resume) and every pair as
/// checked, synced once before the first merge is sent.
fn start_journal(
    j: &mut Journal,
    args: &MergeArgs,
    file: &Path,
    cwd: &Path,
    target: &str,
    checked: &pairs::PairsFile,
    works: &[Work],
) -> anyhow::Result<()> {
    let mut saved = args.clone();
    saved.file = Some(file.to_path_buf());
    saved.run_dir = None;
    let mut saved = serde_json::to_value(&saved)?;
    saved["pairs_header"] = Value::from(checked.header.clone());
    j.write(&Entry::Start {
        resource: "organizations".into(),
        input: file.display().to_string(),
        mode: "merge".into(),
        target: target.to_string(),
        at: chrono::Utc::now().to_rfc3339(),
        args: Some(saved),
        cwd: Some(cwd.display().to_string()),
        fingerprint: crate::input::fingerprint(file).ok(),
    })?;
    let notes: HashMap<usize, &str> = works.iter().map(|w| (w.seq, w.note.as_str())).collect();
    for p in &checked.pairs {
        j.write(&Entry::MergePair {
            seq: p.seq,
            row: p.row,
            key: p.key.clone(),
            original: p.original.clone(),
            invalid: p.invalid.clone().or_else(|| {
                (!notes.contains_key(&p.seq)).then(|| "an organization of the pair is gone".into())
            }),
            loser: p.loser,
            winner: p.winner,
            note: notes.get(&p.seq).map(|n| n.to_string()),
        })?;
    }
    j.sync()?;
    Ok(())
}

/// A merge cannot be undone: on a terminal, ask; without one, `--yes` must say it.
fn confirm(organizations: usize, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    let what = format!(
        "merging deletes {organizations} organization{} (each loser, once its users and domain names have moved to its winner); this cannot be undone",
        if organizations == 1 { "" } else { "s" }
    );
    if !std::io::stdin().is_terminal() {
        return Err(usage_error(format!(
            "{what}, and there is no terminal to confirm on: review the plan with --dry-run, then pass --yes; nothing was merged"
        )));
    }
    eprint!("{what}.\nType 'merge' to go on: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).context("failed to read the answer")?;
    if answer.trim() != "merge" {
        return Err(usage_error("not confirmed; nothing was merged"));
    }
    Ok(())
}
