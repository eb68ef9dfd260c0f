//! Rows a stopped run left in doubt, settled before `zdbulk resume` sends anything: batches with
//! a job id are polled (their results taken as they are); batches whose job failed, expired or
//! was never journaled (the process died during the request) are looked up by their keys.
//! Nothing is sent again until the account says it is not there.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::api::{JobState, Port};
use super::batch::{Batch, PlannedRow};
use super::journal::{Entry, Journal};
use super::memory::{Memory, OpenBatch};
use super::reconcile::JobEnd;
use super::recovery::{item_of, judge, recover};
use super::reporter::Reporter;
use crate::resource::{layer, Resource};

/// How long jobs a stopped run left running are waited for.
const JOB_WAIT: Duration = Duration::from_secs(15 * 60);

/// What settling the rows in doubt did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Settled {
    /// Batches whose job's results were read.
    pub polled: usize,
    /// Batches whose rows were looked up.
    pub looked_up: usize,
}

/// Settles every batch `memory` leaves in doubt, writing what it learns to `journal` and to
/// `memory`: afterwards no row is in doubt.
pub async fn settle_pending<A: Port>(
    api: &A,
    memory: &mut Memory,
    journal: &mut Journal,
    checkbox_tags: &[String],
    reporter: &dyn Reporter,
) -> anyhow::Result<Settled> {
    let open = memory.open_batches();
    let mut settled = Settled::default();
    if open.is_empty() {
        return Ok(settled);
    }
    reporter.on_wait(&format!("checking the {} batches the run left in doubt", open.len()));
    let (mut polling, mut lookup): (Vec<OpenBatch>, Vec<OpenBatch>) =
        open.into_iter().partition(|b| b.job_id.is_some() && !b.ended);
    let deadline = Instant::now() + JOB_WAIT;
    while !polling.is_empty() {
        let ids: Vec<String> = polling.iter().filter_map(|b| b.job_id.clone()).collect();
        let states: HashMap<String, JobState> = api.poll(ids).await?.into_iter().collect();
        let mut still = Vec::new();
        for b in polling {
            let state = b.job_id.as_ref().and_then(|id| states.get(id));
            match state {
                Some(JobState::Done(JobEnd::Completed(results))) => {
                    let e = Entry::Results {
                        batch: b.batch,
                        status: "completed".into(),
                        results: results.clone(),
                    };
                    journal.write(&e)?;
                    memory.apply(&e);
                    settled.polled += 1;
                    // A short result list leaves its last rows in doubt: they are looked up.
                    if results.len() < b.rows.len() {
                        let rows = b.rows.iter().skip(results.len()).cloned().collect();
                        lookup.push(OpenBatch { rows, ..b });
                    }
                }
                Some(JobState::Pending) => still.push(b),
                // Failed, killed, or expired from job_statuses: its rows are looked up.
                _ => lookup.push(b),
            }
        }
        journal.sync()?;
        if let Some(b) = still.first() {
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "job {} of the stopped run is still running after {} minutes; nothing was sent again: run `zdbulk resume` again later",
                    b.job_id.as_deref().unwrap_or("?"),
                    JOB_WAIT.as_secs() / 60
                );
            }
            reporter.on_wait("waiting for the stopped run's jobs to finish");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        polling = still;
    }
    // A request whose answer never came may still have made a job: the first lookup waits
    // for the account's jobs in flight to end (`recover` does), so it sees their effect.
    let mut wait = lookup.iter().any(|b| b.job_id.is_none());
    for open in lookup {
        let batch = planned(&open);
        let (batch, found) = recover(api.clone(), batch, wait).await;
        wait = false;
        let found = found?;
        let ids = found
            .iter()
            .map(|f| f.as_ref().and_then(|v| v.get("id")).and_then(Value::as_u64))
            .collect();
        let items = judge(&batch, found, checkbox_tags, None)
            .iter()
            .map(|o| o.as_ref().map_or(Value::Null, item_of))
            .collect();
        let e = Entry::Found {
            resource: layer(batch.resource).plural().into(),
            op: batch.op.as_str().into(),
            seqs: batch.rows.iter().map(|r| r.seq).collect(),
            ids,
            items,
            organizations: open.rows.iter().filter_map(|r| r.organization).collect(),
        };
        journal.append(&e)?;
        memory.apply(&e);
        settled.looked_up += 1;
    }
    Ok(settled)
}

/// A batch in doubt as planned rows, with what finds each again: its id, external id, or
/// search column (an organization's name, a user's e-mail); a membership by its two ids.
fn planned(open: &OpenBatch) -> Batch {
    let search_column =
        (open.resource != Resource::Memberships).then(|| layer(open.resource).search_column());
    let rows = open
        .rows
        .iter()
        .map(|r| {
            let mut payload: Map<String, Value> = r.item.as_object().cloned().unwrap_or_default();
            payload.remove("id");
            let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_string);
            PlannedRow {
                seq: r.seq,
                row: r.row,
                key: String::new(),
                id: r.id,
                external_id: text("external_id"),
                search: search_column.and_then(text),
                links: vec![],
                mails: false,
                original: vec![],
                attempts: 0,
                before: None,
                payload,
            }
        })
        .collect();
    Batch { resource: open.resource, op: open.op, rows }
}
