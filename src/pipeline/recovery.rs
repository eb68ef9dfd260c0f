//! Rows whose fate is unknown — their job failed, or the answer to the request that made it
//! was lost — looked up before anything is sent again, so that nothing is created twice.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api::{find_records, JobState, OrgApi, RowKeys};
use super::batch::{Batch, Op};

/// A batch and its rows' records as found now (`None`: not found), in row order.
pub(super) type Recovered = (Batch, anyhow::Result<Vec<Option<Value>>>);

/// Looks up the rows of a batch whose job failed or whose answer was lost.
///
/// After a lost answer a job may still be queued: wait until every job the account had in
/// flight when the answer was lost has finished, so the lookup sees its effect.
pub(super) async fn recover<A: OrgApi>(api: A, batch: Batch, answer_lost: bool) -> Recovered {
    let result = async {
        if answer_lost {
            let pending = api.jobs_in_flight().await?;
            let deadline = Instant::now() + Duration::from_secs(600);
            let mut waiting = pending;
            while !waiting.is_empty() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let states = api.poll(waiting.clone()).await?;
                waiting = states
                    .into_iter()
                    .filter(|(_, s)| *s == JobState::Pending)
                    .map(|(id, _)| id)
                    .collect();
            }
        }
        lookup(&api, &batch).await
    }
    .await;
    (batch, result)
}

/// Finds each row's record now: by id, external id, or name, in that order of preference.
async fn lookup<A: OrgApi>(api: &A, batch: &Batch) -> anyhow::Result<Vec<Option<Value>>> {
    if batch.op == Op::Update {
        // An update can be sent again safely; nothing to look up.
        return Ok(vec![None; batch.rows.len()]);
    }
    let keys: Vec<RowKeys> = batch
        .rows
        .iter()
        .map(|r| RowKeys {
            id: r.id,
            external_id: r.external_id.as_deref(),
            name: r.name.as_deref(),
        })
        .collect();
    find_records(api, &keys).await
}
