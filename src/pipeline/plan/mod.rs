//! Planning: what each valid row needs. References to other records (a user's
//! organizations) are resolved to ids; existing records are looked up (by id, by external id
//! with `show_many`, 100 a request, else by the resource's search column) and only what
//! changes is sent; rows whose values already match are settled `unchanged` with no request.
//! Resources with a bulk create-or-update (users) send rows the lookup cannot tell apart
//! straight to it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::api::Port;
use super::batch::{Batcher, MAX_BATCH};
use super::engine::PlanMsg;
use super::refs::Refs;
use crate::output::{Action, RowOutcome, RowStatus};
use crate::resource::{Layer, Resource};
use crate::schema::row::Payload;

pub use crate::resource::Mode;

/// How long a partly filled chunk waits for the reader before it is planned as it is.
const FILL_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// A row that passed validation.
#[derive(Debug, Clone)]
pub struct ValidRow {
    /// 0-based data-row position.
    pub seq: usize,
    /// The row number the user sees.
    pub row: usize,
    /// What the report calls the row.
    pub key: String,
    /// The checked payload.
    pub payload: Payload,
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
#[derive(Clone)]
pub struct PlanSettings {
    /// The resource layer.
    pub layer: &'static dyn Layer,
    /// `zdbulk validate` against an account: rows that would be sent or are unchanged are
    /// `valid`, rows an import would refuse are `invalid`.
    pub validate: bool,
    /// Counts rows planned to create a user with an e-mail address that neither `verified`
    /// nor `skip_verify_email` decides: Zendesk would mail them.
    pub welcome_emails: Arc<AtomicUsize>,
    /// Tags that checkbox fields add on their own (ignored when tags are compared).
    pub checkbox_tags: Arc<[String]>,
    /// The import mode.
    pub mode: Mode,
    /// Plan and report, send nothing.
    pub dry_run: bool,
    /// Rows per job.
    pub batch_size: usize,
    /// `zdbulk resume`: the run's journal. Rows it knows the result of are reported with it
    /// and not planned again.
    pub memory: Option<Arc<super::memory::Memory>>,
    /// Where each value a planned row changes is written (`changes.csv`).
    pub changes: Option<Arc<crate::output::changes::ChangeLog>>,
    /// Field definitions: options the file leaves out are removed (`--prune-options`).
    pub prune_options: bool,
}

/// Plans every row from `rows` and sends outcomes and batches to `tx`. Once `aborted` is
/// set (the run stopped early), every row still to plan is settled `skipped`.
pub async fn plan<A: Port>(
    api: A,
    settings: PlanSettings,
    mut rows: mpsc::Receiver<RowIn>,
    tx: mpsc::Sender<PlanMsg>,
    aborted: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut batcher = Batcher::new(settings.layer.resource(), settings.batch_size);
    let to = settings.layer.facts().refs.as_ref().map_or(Resource::Organizations, |r| r.to);
    let mut planner =
        Planner { api, settings, refs: Refs::new(to), groups: None, done: Default::default() };
    let mut chunk: Vec<ValidRow> = Vec::with_capacity(MAX_BATCH);
    loop {
        if aborted.load(Ordering::SeqCst) {
            return skip_rest(chunk, &mut batcher, rows, &tx).await;
        }
        // Take what is ready; plan a chunk when it is full or input pauses. A reader only a
        // little behind is waited for a moment: a lookup of a partial chunk costs a request
        // that a full one would share.
        let next = match rows.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::error::TryRecvError::Empty) if chunk.is_empty() => rows.recv().await,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout(FILL_WAIT, rows.recv()).await {
                    Ok(r) => r,
                    Err(_) => {
                        if let Err(err) = planner.plan_chunk(&chunk, &mut batcher, &tx).await {
                            return abort_with(
                                err,
                                &planner,
                                chunk,
                                &mut batcher,
                                rows,
                                &tx,
                                &aborted,
                            )
                            .await;
                        }
                        chunk.clear();
                        rows.recv().await
                    }
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
        };
        match next {
            Some(RowIn::Settled(o)) => send(&tx, PlanMsg::Outcome(o)).await?,
            Some(RowIn::Valid(r)) => {
                chunk.push(r);
                if chunk.len() >= MAX_BATCH {
                    if let Err(err) = planner.plan_chunk(&chunk, &mut batcher, &tx).await {
                        return abort_with(err, &planner, chunk, &mut batcher, rows, &tx, &aborted)
                            .await;
                    }
                    chunk.clear();
                }
            }
            None => break,
        }
    }
    if !chunk.is_empty() {
        if let Err(err) = planner.plan_chunk(&chunk, &mut batcher, &tx).await {
            return abort_with(err, &planner, chunk, &mut batcher, rows, &tx, &aborted).await;
        }
    }
    for batch in batcher.drain() {
        send(&tx, PlanMsg::Batch(batch)).await?;
    }
    Ok(())
}

/// A lookup failed: the API cannot be used. The rows of the chunk with neither an outcome
/// nor a batch yet (planning may have stopped half-way through it), and every row still to
/// come, are reported skipped; the error is returned once the input is drained.
async fn abort_with<A: Port>(
    err: anyhow::Error,
    planner: &Planner<A>,
    chunk: Vec<ValidRow>,
    batcher: &mut Batcher,
    rows: mpsc::Receiver<RowIn>,
    tx: &mpsc::Sender<PlanMsg>,
    aborted: &AtomicBool,
) -> anyhow::Result<()> {
    aborted.store(true, Ordering::SeqCst);
    let undone = chunk.into_iter().filter(|r| !planner.is_done(r.seq)).collect();
    skip_rest(undone, batcher, rows, tx).await?;
    Err(err.context(format!("failed to look up existing {}", planner.settings.layer.plural())))
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
        send(tx, PlanMsg::Outcome(skipped_outcome(r.seq, r.row, r.key, r.original))).await?;
    }
    for batch in batcher.drain() {
        for r in batch.rows {
            send(tx, PlanMsg::Outcome(skipped_outcome(r.seq, r.row, r.key, r.original))).await?;
        }
    }
    while let Some(r) = rows.recv().await {
        let msg = match r {
            RowIn::Settled(o) => o,
            RowIn::Valid(r) => skipped_outcome(r.seq, r.row, r.key, r.original),
        };
        send(tx, PlanMsg::Outcome(msg)).await?;
    }
    Ok(())
}

async fn send(tx: &mpsc::Sender<PlanMsg>, msg: PlanMsg) -> anyhow::Result<()> {
    tx.send(msg).await.map_err(|_| anyhow::anyhow!("the job engine stopped before planning ended"))
}

mod planner;
use planner::Planner;
