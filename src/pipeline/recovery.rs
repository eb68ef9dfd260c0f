//! Rows whose fate is unknown — their job failed, or the answer to the request that made it
//! was lost — looked up before anything is sent again, so that nothing is created twice.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use std::collections::HashMap;

use super::api::{find_records, JobState, Port, RowKeys};
use super::batch::Batch;
use crate::resource::{layer, Resource};

/// A batch and its rows' records as found now (`None`: not found), in row order.
pub(super) type Recovered = (Batch, anyhow::Result<Vec<Option<Value>>>);

/// Looks up the rows of a batch whose job failed or whose answer was lost.
///
/// After a lost answer a job may still be queued: wait until every job the account had in
/// flight when the answer was lost has finished, so the lookup sees its effect.
pub(super) async fn recover<A: Port>(api: A, batch: Batch, answer_lost: bool) -> Recovered {
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

/// Finds each row's record now: by id, external id, or search column, in that order of
/// preference; a membership by its user's memberships.
async fn lookup<A: Port>(api: &A, batch: &Batch) -> anyhow::Result<Vec<Option<Value>>> {
    if batch.resource == Resource::Memberships {
        return lookup_memberships(api, batch).await;
    }
    let keys: Vec<RowKeys> = batch
        .rows
        .iter()
        .map(|r| RowKeys {
            id: r.id,
            external_id: r.external_id.as_deref(),
            search: r.search.as_deref(),
        })
        .collect();
    find_records(api, layer(batch.resource), &keys).await
}

/// Memberships are found through their users' lists (one request a user of the batch).
async fn lookup_memberships<A: Port>(api: &A, batch: &Batch) -> anyhow::Result<Vec<Option<Value>>> {
    let id_of =
        |r: &super::batch::PlannedRow, key: &str| r.payload.get(key).and_then(Value::as_u64);
    let mut of_user: HashMap<u64, Vec<Value>> = HashMap::new();
    for r in &batch.rows {
        let Some(user) = id_of(r, "user_id") else { continue };
        if let std::collections::hash_map::Entry::Vacant(slot) = of_user.entry(user) {
            slot.insert(api.memberships(Resource::Users, user).await?);
        }
    }
    Ok(batch
        .rows
        .iter()
        .map(|r| {
            let (user, org) = (id_of(r, "user_id")?, id_of(r, "organization_id")?);
            of_user
                .get(&user)?
                .iter()
                .find(|m| m.get("organization_id").and_then(Value::as_u64) == Some(org))
                .cloned()
        })
        .collect())
}
