//! Rows whose fate is unknown — their job failed, or the answer to the request that made it
//! was lost — looked up before anything is sent again, so that nothing is created twice.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api::{JobState, OrgApi};
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
    let ids: Vec<u64> = batch.rows.iter().filter_map(|r| r.id).collect();
    let by_id = if ids.is_empty() { vec![] } else { api.find_by_ids(ids).await? };
    let ext: Vec<String> = batch
        .rows
        .iter()
        .filter(|r| r.id.is_none())
        .filter_map(|r| r.external_id.clone())
        .collect();
    let by_ext = if ext.is_empty() { vec![] } else { api.find_by_external_ids(ext).await? };
    let mut out = Vec::with_capacity(batch.rows.len());
    for row in &batch.rows {
        let found = if let Some(id) = row.id {
            by_id.iter().find(|r| r.get("id").and_then(Value::as_u64) == Some(id)).cloned()
        } else if let Some(x) = &row.external_id {
            by_ext
                .iter()
                .find(|r| {
                    r.get("external_id")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.eq_ignore_ascii_case(x))
                })
                .cloned()
        } else if let Some(name) = &row.name {
            api.find_by_name(name.clone()).await?
        } else {
            None
        };
        out.push(found);
    }
    Ok(out)
}
