//! Undo's writes, sent through the import's job engine (`pipeline::engine::run`): deletes and
//! restores become batches of planned rows, so jobs, the job window, polling, lost answers,
//! retries, the journal and the report are the import's own. Lines that need no write go to
//! the engine as settled outcomes.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};

use super::plan::{memberships_now, Line, Step};
use super::scan::What;
use crate::output::report::{ReportError, ReportWriter};
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::batch::{Batch, Batcher, Op, PlannedRow, MAX_BATCH};
use crate::pipeline::engine::{self, EngineSettings, Interrupted, PlanMsg, Stop};
use crate::pipeline::journal::Journal;
use crate::progress::Progress;
use crate::resource::{memberships, Resource};
use crate::zendesk::Client;

/// The header of undo's failed-rows file: each failed line's own columns.
pub(super) const FAILED_HEADER: [&str; 4] = ["row", "key", "zendesk_id", "undo"];

/// How the writes ended.
pub(super) struct Sent {
    /// Jobs Zendesk accepted.
    pub(super) jobs: u64,
    /// What stopped the engine early (an interruption, the API).
    pub(super) fatal: Option<anyhow::Error>,
}

fn what_word(line: &Line) -> &'static str {
    match (&line.done.what, &line.step) {
        (What::Membership { .. }, _) => "remove membership",
        (_, Step::Restore(_)) => "restore",
        (_, Step::Delete | Step::Gone) => "delete",
        _ => "list",
    }
}

fn outcome(line: &Line, action: Action, status: RowStatus) -> RowOutcome {
    let d = &line.done;
    let mut o = RowOutcome::new(line.seq, d.row, d.key.clone(), action, status);
    o.zendesk_id = Some(d.id);
    o
}

fn original(line: &Line) -> Vec<String> {
    let d = &line.done;
    vec![d.row.to_string(), d.key.clone(), d.id.to_string(), what_word(line).into()]
}

/// The line of a record that needs no write (or, in a dry run, what would be written).
pub(super) fn settled(line: &Line) -> RowOutcome {
    let with = |action, status, message: &str| {
        let mut o = outcome(line, action, status);
        o.message = (!message.is_empty()).then(|| message.to_string());
        o
    };
    match &line.step {
        Step::Delete => with(Action::Delete, RowStatus::Planned, ""),
        Step::Restore(values) => {
            let v: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            with(Action::Update, RowStatus::Planned, &format!("writes back {}", v.join(", ")))
        }
        Step::Gone => with(Action::Delete, RowStatus::Deleted, "already gone"),
        Step::Restored => with(
            Action::None,
            RowStatus::Unchanged,
            "already holds the values it had before the run",
        ),
        Step::Listed(msg) => with(Action::None, RowStatus::Unchanged, msg),
        Step::NotRestorable(msg) => {
            let mut o = with(Action::None, RowStatus::Unchanged, &format!("not restorable: {msg}"));
            o.error_code = Some("NotRestorable".into());
            o
        }
    }
}

fn planned(line: &Line, payload: Map<String, Value>) -> PlannedRow {
    PlannedRow {
        seq: line.seq,
        row: line.done.row,
        key: line.done.key.clone(),
        payload,
        id: Some(line.done.id),
        external_id: None,
        search: None,
        links: vec![],
        mails: false,
        original: original(line),
        attempts: 0,
        before: None,
    }
}

/// Sends the deletes and restores of `lines` and writes every line to `report`.
pub(super) async fn send(
    client: Client,
    resource: Resource,
    lines: &[Line],
    report: &mut ReportWriter,
    journal: &mut Journal,
    quiet: bool,
) -> anyhow::Result<Sent> {
    let mut deletes = Batcher::new(resource, MAX_BATCH);
    let mut updates = Batcher::new(resource, MAX_BATCH);
    let mut links = Batcher::new(Resource::Memberships, MAX_BATCH);
    let mut msgs: Vec<PlanMsg> = Vec::new();
    let mut removed = Vec::new();
    for line in lines {
        let full = match (&line.step, &line.done.what) {
            (Step::Delete, What::Membership { user, organization }) => {
                removed.push(line.clone());
                // The pair finds the membership again after a lost answer; only the id is sent.
                let payload = user.map(|u| memberships::item(u, *organization)).unwrap_or_default();
                links.push(Op::Delete, planned(line, payload))
            }
            (Step::Delete, _) => deletes.push(Op::Delete, planned(line, Map::new())),
            (Step::Restore(values), _) => updates.push(Op::Update, planned(line, values.clone())),
            _ => {
                msgs.push(PlanMsg::Outcome(settled(line)));
                None
            }
        };
        msgs.extend(full.map(PlanMsg::Batch));
    }
    let rest: Vec<Batch> = [deletes, updates, links].iter_mut().flat_map(Batcher::drain).collect();
    msgs.extend(rest.into_iter().map(PlanMsg::Batch));

    let (tx, rx) = mpsc::channel(msgs.len().max(1));
    for m in msgs {
        tx.try_send(m).map_err(|_| anyhow::anyhow!("undo's plan did not fit its channel"))?;
    }
    drop(tx);
    let (interrupt_tx, interrupt) = watch::channel(0u32);
    let ctrl_c = tokio::spawn(async move {
        while crate::commands::signals::stop_signal().await {
            interrupt_tx.send_modify(|n| *n += 1);
        }
    });
    let progress = Progress::new(lines.len() as u64, quiet);
    let stop = Stop { interrupt, aborted: Arc::new(AtomicBool::new(false)) };
    let settings = EngineSettings::default();
    let end = engine::run(client.clone(), settings, rx, report, journal, &progress, stop).await;
    progress.finish();
    ctrl_c.abort();
    let end = end?;
    check_memberships(&client, &removed, end.fatal.as_ref(), report).await?;
    Ok(Sent { jobs: end.stats.jobs, fatal: end.fatal })
}

/// The engine hands a membership's result to the user row it holds for it, and undo holds
/// none: each removed membership is looked up once the engine is done instead, and its line
/// says whether it is gone. A line the engine already wrote (a batch never sent when the run
/// stopped) is left as it is.
async fn check_memberships(
    client: &Client,
    removed: &[Line],
    fatal: Option<&anyhow::Error>,
    report: &mut ReportWriter,
) -> anyhow::Result<()> {
    if removed.is_empty() {
        return Ok(());
    }
    let done: Vec<_> = removed.iter().map(|l| l.done.clone()).collect();
    let exist = memberships_now(client, &done).await;
    let interrupted = fatal.is_some_and(|e| e.downcast_ref::<Interrupted>().is_some());
    for line in removed {
        let o = match &exist {
            Ok(exist) if !exist.contains(&line.done.id) => {
                outcome(line, Action::Delete, RowStatus::Deleted)
            }
            Ok(_) => {
                let (status, msg) = if interrupted || fatal.is_some() {
                    (RowStatus::Skipped, "not removed: the undo stopped first; run it again")
                } else {
                    (RowStatus::Failed, "still there after its delete job; run the undo again")
                };
                let mut o = outcome(line, Action::Delete, status);
                o.message = Some(msg.into());
                o
            }
            Err(e) => {
                let mut o = outcome(line, Action::Delete, RowStatus::Skipped);
                o.message = Some(format!(
                    "unknown: whether it is gone could not be checked ({e:#}); run the undo again"
                ));
                o
            }
        };
        let mut o = o;
        if o.status.is_failure() {
            o.original = Some(original(line));
        }
        match report.record(o) {
            Ok(()) | Err(ReportError::Duplicate { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
