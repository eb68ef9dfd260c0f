//! `zdbulk resume RUN_DIR` on a merge run: the journal alone says what each pair came to.
//! Pairs that ended are reported as they were; merges accepted are followed; merges sent
//! without a journaled merge id are looked up (the winner's merge records, then whether the
//! loser still exists) before anything is sent again; the rest are sent.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::{Map, Value};

use super::finish::Run;
use super::{settle, Start, Work};
use crate::cli::{MergeArgs, RunDirArgs};
use crate::error::{usage_error, ExitStatus};
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::journal::{Entry, Journal};
use crate::settings::resolve_target;

/// What the journal says of one pair.
#[derive(Default)]
struct Known {
    pair: Option<Entry>,
    sent: bool,
    merge_id: Option<String>,
    ended: Option<(String, Option<String>, Option<String>)>,
}

/// Finishes the merge run in `dir`.
pub(crate) async fn resume(dir: PathBuf, args: RunDirArgs) -> anyhow::Result<ExitStatus> {
    let shown = dir.display().to_string();
    let entries = Journal::read(&dir)
        .map_err(|e| usage_error(format!("{shown}: the journal cannot be read: {e}")))?;
    let mut saved: Option<Value> = None;
    let mut cwd: Option<String> = None;
    let mut finished: Option<u8> = None;
    let mut known: HashMap<usize, Known> = HashMap::new();
    let mut keeps: Vec<(u64, Map<String, Value>, bool)> = Vec::new();
    for e in entries {
        match &e {
            Entry::Start { args, cwd: c, .. } => {
                saved = args.clone();
                cwd = c.clone();
            }
            Entry::Resume { .. } => finished = None,
            Entry::Finish { exit_code, .. } => finished = Some(*exit_code),
            Entry::MergePair { seq, .. } => known.entry(*seq).or_default().pair = Some(e.clone()),
            Entry::MergeSent { seq } => known.entry(*seq).or_default().sent = true,
            Entry::MergeAccepted { seq, merge_id } => {
                known.entry(*seq).or_default().merge_id = Some(merge_id.clone())
            }
            Entry::MergeEnded { seq, status, merge_id, message } => {
                known.entry(*seq).or_default().ended =
                    Some((status.clone(), merge_id.clone(), message.clone()))
            }
            Entry::MergeKeep { winner, values, done } => {
                let values = values.as_object().cloned().unwrap_or_default();
                match keeps.iter_mut().find(|k| k.0 == *winner) {
                    Some(k) => k.2 |= *done,
                    None => keeps.push((*winner, values, *done)),
                }
            }
            _ => {}
        }
    }
    let saved =
        saved.ok_or_else(|| usage_error(format!("{shown}: the journal has no start line")))?;
    let merge: MergeArgs = serde_json::from_value(saved.clone())
        .map_err(|e| usage_error(format!("{shown}: the journal's options cannot be read: {e}")))?;
    if let Some(code) = finished.filter(|c| *c <= 1) {
        println!(
            "{shown}: the merge run finished (exit code {code}); nothing to resume and nothing was sent. Its report is {}",
            dir.join("report.csv").display()
        );
        return Ok(ExitStatus::Success);
    }
    let t = &args.target;
    let target_args = if t.sandbox || t.subdomain.is_some() || t.url.is_some() {
        t.clone()
    } else {
        if merge.target.sandbox {
            if let Some(c) = cwd.as_deref().map(std::path::Path::new).filter(|d| d.is_dir()) {
                std::env::set_current_dir(c)
                    .with_context(|| format!("failed to enter {}", c.display()))?;
            }
        }
        merge.target.clone()
    };
    tokio::task::block_in_place(|| {
        super::super::resume::cut_torn_tail(&dir.join("journal.ndjson"))
    })?;
    let here = std::env::current_dir().context("failed to read the current directory")?;
    let target = resolve_target(&target_args, &here).await?;
    let client = target.client(merge.max_rpm)?;
    let mut journal = Journal::open(&dir)?;
    journal.append(&Entry::Resume { at: chrono::Utc::now().to_rfc3339() })?;
    if !args.quiet {
        eprintln!("resuming the merge run {shown}");
    }
    let header: Vec<String> = saved
        .get("pairs_header")
        .and_then(Value::as_array)
        .map(|h| h.iter().map(|c| c.as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default();
    let input = merge.file.clone().unwrap_or_default();
    let format = if input.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) {
        FailedFormat::Xlsx
    } else {
        FailedFormat::Csv
    };
    let report = ReportWriter::create(&dir, FailedRows::create(&dir, format, header)?)?;
    let mut seqs: Vec<usize> = known.keys().copied().collect();
    seqs.sort_unstable();
    let (mut done, mut works) = (Vec::new(), Vec::new());
    for seq in seqs {
        let k = &known[&seq];
        let Some(Entry::MergePair { row, key, original, invalid, loser, winner, note, .. }) =
            &k.pair
        else {
            continue;
        };
        if let Some(why) = invalid {
            done.push(settle::invalid(seq, *row, key, original, why));
            continue;
        }
        let work = Work {
            seq,
            row: *row,
            key: key.clone(),
            original: original.clone(),
            loser: *loser,
            winner: *winner,
            note: note.clone().unwrap_or_default(),
            start: match (&k.merge_id, k.sent) {
                (Some(id), _) => Start::Accepted(id.clone()),
                (None, true) => Start::InDoubt,
                (None, false) => Start::Fresh,
            },
        };
        match &k.ended {
            Some((status, merge_id, message)) => done.push(ended(&work, status, merge_id, message)),
            None => works.push(work),
        }
    }
    let rows = known.len();
    let pending: Vec<u64> = works.iter().map(|w| w.winner).collect();
    let keeps = keeps
        .into_iter()
        .filter(|(w, _, done)| !done && pending.contains(w))
        .map(|(w, v, _)| (w, v))
        .collect();
    let run = Run {
        dir: dir.clone(),
        input,
        rows,
        dry_run: false,
        quiet: args.quiet,
        json: args.json,
        started_at: chrono::Utc::now(),
        warnings: target.warnings.clone(),
        changes: None,
    };
    let status = run.finish(&client, report, Some(journal), done, works, keeps).await;
    target.shutdown().await?;
    status
}

/// The report line of a pair the journal says ended.
fn ended(
    w: &Work,
    status: &str,
    merge_id: &Option<String>,
    message: &Option<String>,
) -> RowOutcome {
    let mut o = RowOutcome::new(w.seq, w.row, w.key.clone(), Action::Delete, RowStatus::Deleted);
    o.zendesk_id = Some(w.loser);
    o.job_id = merge_id.clone();
    o.message = message.clone();
    if status != "complete" {
        o.status = RowStatus::Failed;
        if let Some((code, msg)) = message.as_deref().and_then(|m| m.split_once(": ")) {
            o.error_code = Some(code.to_string());
            o.message = Some(msg.to_string());
        }
        o.original = Some(w.original.clone());
    }
    o
}
