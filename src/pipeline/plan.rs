//! Planning: what each valid row needs. Upserts look existing organizations up (by id, by
//! external id with `show_many`, 100 a request, else by name) and send only what changes;
//! rows whose values already match are settled `unchanged` with no request at all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::api::{find_records, OrgApi, RowKeys};
use super::batch::{Batcher, Op, PlannedRow, MAX_BATCH};
use super::diff::would_change;
use super::engine::PlanMsg;
use crate::output::{Action, RowOutcome, RowStatus};
use crate::schema::organization::OrgPayload;

/// What the import does with each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Update what exists, create the rest.
    Upsert,
    /// Create every row.
    Create,
    /// Update existing records only.
    Update,
    /// Delete the records the rows name.
    Delete,
}

impl Mode {
    /// The mode's name, as the journal and summary write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Upsert => "upsert",
            Mode::Create => "create",
            Mode::Update => "update",
            Mode::Delete => "delete",
        }
    }
}

/// A row that passed validation.
#[derive(Debug, Clone)]
pub struct ValidRow {
    /// 0-based data-row position.
    pub seq: usize,
    /// The row number the user sees.
    pub row: usize,
    /// The checked payload.
    pub payload: OrgPayload,
    /// The original cells.
    pub original: Vec<String>,
}

/// What the reader hands the planner.
#[derive(Debug)]
pub enum RowIn {
    /// A row to plan.
    Valid(ValidRow),
    /// A row already settled (invalid).
    Settled(RowOutcome),
}

/// The planner's settings.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    /// Tags that checkbox fields add on their own (ignored when tags are compared).
    pub checkbox_tags: Arc<[String]>,
    /// The import mode.
    pub mode: Mode,
    /// Plan and report, send nothing.
    pub dry_run: bool,
    /// Rows per job.
    pub batch_size: usize,
}

/// Plans every row from `rows` and sends outcomes and batches to `tx`. Once `aborted` is
/// set (the run stopped early), every row still to plan is settled `skipped`.
pub async fn plan<A: OrgApi>(
    api: A,
    settings: PlanSettings,
    mut rows: mpsc::Receiver<RowIn>,
    tx: mpsc::Sender<PlanMsg>,
    aborted: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut batcher = Batcher::new(settings.batch_size);
    let mut chunk: Vec<ValidRow> = Vec::with_capacity(MAX_BATCH);
    loop {
        if aborted.load(Ordering::SeqCst) {
            return skip_rest(chunk, &mut batcher, rows, &tx).await;
        }
        // Take what is ready without waiting; plan a chunk when it is full or input pauses.
        let next = match rows.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::error::TryRecvError::Empty) => {
                if !chunk.is_empty() {
                    if let Err(err) = plan_chunk(&api, &settings, &chunk, &mut batcher, &tx).await {
                        return abort_with(err, chunk, &mut batcher, rows, &tx, &aborted).await;
                    }
                    chunk.clear();
                }
                rows.recv().await
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        match next {
            Some(RowIn::Settled(o)) => send(&tx, PlanMsg::Outcome(o)).await?,
            Some(RowIn::Valid(r)) => {
                chunk.push(r);
                if chunk.len() >= MAX_BATCH {
                    if let Err(err) = plan_chunk(&api, &settings, &chunk, &mut batcher, &tx).await {
                        return abort_with(err, chunk, &mut batcher, rows, &tx, &aborted).await;
                    }
                    chunk.clear();
                }
            }
            None => break,
        }
    }
    if !chunk.is_empty() {
        if let Err(err) = plan_chunk(&api, &settings, &chunk, &mut batcher, &tx).await {
            return abort_with(err, chunk, &mut batcher, rows, &tx, &aborted).await;
        }
    }
    for batch in batcher.drain() {
        send(&tx, PlanMsg::Batch(batch)).await?;
    }
    Ok(())
}

/// A lookup failed: the API cannot be used. Every row not yet settled is reported skipped,
/// and the error is returned once the input is drained.
async fn abort_with(
    err: anyhow::Error,
    chunk: Vec<ValidRow>,
    batcher: &mut Batcher,
    rows: mpsc::Receiver<RowIn>,
    tx: &mpsc::Sender<PlanMsg>,
    aborted: &AtomicBool,
) -> anyhow::Result<()> {
    aborted.store(true, Ordering::SeqCst);
    skip_rest(chunk, batcher, rows, tx).await?;
    Err(err.context("failed to look up existing organizations"))
}

fn skipped_outcome(seq: usize, row: usize, key: String, original: Vec<String>) -> RowOutcome {
    let mut o = RowOutcome::new(seq, row, key, Action::None, RowStatus::Skipped);
    o.message = Some("not sent: the run stopped before this row; import the file again".into());
    o.original = Some(original);
    o
}

/// Settles everything still held or still to come as `skipped`.
async fn skip_rest(
    chunk: Vec<ValidRow>,
    batcher: &mut Batcher,
    mut rows: mpsc::Receiver<RowIn>,
    tx: &mpsc::Sender<PlanMsg>,
) -> anyhow::Result<()> {
    for r in chunk {
        let key = r.payload.key();
        send(tx, PlanMsg::Outcome(skipped_outcome(r.seq, r.row, key, r.original))).await?;
    }
    for batch in batcher.drain() {
        for r in batch.rows {
            send(tx, PlanMsg::Outcome(skipped_outcome(r.seq, r.row, r.key, r.original))).await?;
        }
    }
    while let Some(r) = rows.recv().await {
        let msg = match r {
            RowIn::Settled(o) => o,
            RowIn::Valid(r) => skipped_outcome(r.seq, r.row, r.payload.key(), r.original),
        };
        send(tx, PlanMsg::Outcome(msg)).await?;
    }
    Ok(())
}

async fn send(tx: &mpsc::Sender<PlanMsg>, msg: PlanMsg) -> anyhow::Result<()> {
    tx.send(msg).await.map_err(|_| anyhow::anyhow!("the job engine stopped before planning ended"))
}

/// Finds the existing record of each row (for modes that need one).
async fn existing<A: OrgApi>(api: &A, chunk: &[ValidRow]) -> anyhow::Result<Vec<Option<Value>>> {
    let keys: Vec<RowKeys> = chunk
        .iter()
        .map(|r| RowKeys {
            id: r.payload.id,
            external_id: r.payload.external_id.as_deref(),
            name: r.payload.name.as_deref(),
        })
        .collect();
    find_records(api, &keys).await
}

fn planned_row(r: &ValidRow, id: Option<u64>) -> PlannedRow {
    PlannedRow {
        seq: r.seq,
        row: r.row,
        key: r.payload.key(),
        payload: r.payload.body.clone(),
        id,
        name: r.payload.name.clone(),
        external_id: r.payload.external_id.clone(),
        original: r.original.clone(),
        attempts: 0,
    }
}

fn how_named(p: &OrgPayload) -> String {
    if let Some(id) = p.id {
        format!("id {id}")
    } else if let Some(x) = &p.external_id {
        format!("external_id '{x}'")
    } else {
        format!("name '{}'", p.name.clone().unwrap_or_default())
    }
}

async fn plan_chunk<A: OrgApi>(
    api: &A,
    settings: &PlanSettings,
    chunk: &[ValidRow],
    batcher: &mut Batcher,
    tx: &mpsc::Sender<PlanMsg>,
) -> anyhow::Result<()> {
    let found = match settings.mode {
        Mode::Create => vec![None; chunk.len()],
        _ => existing(api, chunk).await?,
    };
    for (r, record) in chunk.iter().zip(found) {
        let id = record.as_ref().and_then(|v| v.get("id")).and_then(Value::as_u64);
        let decision: Result<(Op, Option<u64>), RowOutcome> = match (settings.mode, &record, id) {
            (Mode::Create, _, _) => Ok((Op::Create, None)),
            (Mode::Delete, Some(_), Some(id)) => Ok((Op::Delete, Some(id))),
            (Mode::Upsert | Mode::Update, Some(existing), Some(id)) => {
                if would_change(&r.payload.body, existing, &settings.checkbox_tags) {
                    Ok((Op::Update, Some(id)))
                } else {
                    let mut o = RowOutcome::new(
                        r.seq,
                        r.row,
                        r.payload.key(),
                        Action::None,
                        RowStatus::Unchanged,
                    );
                    o.zendesk_id = Some(id);
                    Err(o)
                }
            }
            (Mode::Upsert, None, _) if r.payload.id.is_none() && r.payload.name.is_some() => {
                Ok((Op::Create, None))
            }
            (Mode::Upsert, None, _) if r.payload.id.is_none() => {
                let mut o = RowOutcome::new(
                    r.seq,
                    r.row,
                    r.payload.key(),
                    Action::None,
                    RowStatus::Invalid,
                );
                o.error_code = Some("NameRequired".into());
                o.message = Some(format!(
                    "row {}, name: is required to create an organization (none has {})",
                    r.row,
                    how_named(&r.payload)
                ));
                o.original = Some(r.original.clone());
                Err(o)
            }
            _ => {
                let action =
                    if settings.mode == Mode::Delete { Action::Delete } else { Action::Update };
                let mut o =
                    RowOutcome::new(r.seq, r.row, r.payload.key(), action, RowStatus::Failed);
                o.error_code = Some("RecordNotFound".into());
                o.message = Some(format!("no organization has {}", how_named(&r.payload)));
                o.original = Some(r.original.clone());
                Err(o)
            }
        };
        match decision {
            Err(outcome) => send(tx, PlanMsg::Outcome(outcome)).await?,
            Ok((op, id)) if settings.dry_run => {
                let action = op.action();
                let mut o =
                    RowOutcome::new(r.seq, r.row, r.payload.key(), action, RowStatus::Planned);
                o.zendesk_id = id;
                send(tx, PlanMsg::Outcome(o)).await?;
            }
            Ok((op, id)) => {
                if let Some(batch) = batcher.push(op, planned_row(r, id)) {
                    send(tx, PlanMsg::Batch(batch)).await?;
                }
            }
        }
    }
    Ok(())
}
