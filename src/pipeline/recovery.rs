//! Rows whose fate is unknown — their job failed, or the answer to the request that made it
//! was lost — looked up before anything is sent again, so that nothing is created twice.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use std::collections::HashMap;

use super::api::{find_records, JobState, Port, RowKeys};
use super::batch::{Batch, Op, PlannedRow};
use super::diff::would_change;
use crate::output::{Action, RowOutcome, RowStatus};
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

/// What a created record that no key can find again is told.
pub(crate) const UNFINDABLE: &str = "no e-mail, external_id or id: a later import cannot find this record again and would create another; add an external_id to import this row again safely";

/// Whether nothing but its name identifies a row's record (names are not unique).
pub(crate) fn unfindable(r: &PlannedRow) -> bool {
    r.id.is_none() && r.external_id.is_none() && r.search.is_none()
}

/// What a lookup settles for each row of a batch whose fate was unknown: its outcome when the
/// account shows the row done (a record that holds its values, a delete that is gone) or when
/// it must not be sent again (a row no key finds, a row sent `max_attempts` times); `None`
/// when it is to be sent again. `found` is each row's record as found now, in row order.
pub(crate) fn judge(
    batch: &Batch,
    found: Vec<Option<Value>>,
    checkbox_tags: &[String],
    max_attempts: Option<u32>,
) -> Vec<Option<RowOutcome>> {
    batch
        .rows
        .iter()
        .zip(found)
        .map(|(row, record)| {
            let id = record.as_ref().and_then(|r| r.get("id")).and_then(Value::as_u64);
            let applied = record.as_ref().is_some_and(|rec| {
                batch.resource == Resource::Memberships
                    || batch.op == Op::Create
                    || !would_change(&row.payload, rec, checkbox_tags)
            });
            let findable = batch.resource == Resource::Memberships || !unfindable(row);
            let confirmed = |status: RowStatus, action: Action| {
                let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), action, status);
                o.zendesk_id = id.or(row.id);
                o.message = Some("confirmed by lookup after its job's answer was lost".into());
                o
            };
            match (batch.op, id) {
                (Op::Delete, None) => {
                    let mut o = confirmed(RowStatus::Deleted, Action::Delete);
                    o.message = None;
                    Some(o)
                }
                (Op::Create, Some(_)) if applied => {
                    Some(confirmed(RowStatus::Created, Action::Create))
                }
                (Op::Update | Op::Upsert, Some(_)) if applied => Some(if row.id.is_some() {
                    confirmed(RowStatus::Updated, Action::Update)
                } else {
                    confirmed(RowStatus::Created, Action::Create)
                }),
                (Op::Create | Op::Upsert, None) if !findable => {
                    let msg = "unknown: its job failed and a user named by neither e-mail nor external_id cannot be found again safely (names are not unique); check Zendesk before importing this row again";
                    Some(crate::pipeline::engine::failed(row, batch.op, "Unconfirmed", msg, None))
                }
                _ if max_attempts.is_some_and(|m| row.attempts + 1 >= m) => {
                    let msg =
                        format!("sent {} times; its job never reported a result", row.attempts + 1);
                    Some(crate::pipeline::engine::failed(row, batch.op, "JobFailed", &msg, None))
                }
                _ => None,
            }
        })
        .collect()
}

/// A settled row as a job's result item, for the journal: `{"id", "status"}` when done,
/// `{"error", "details"}` when it failed.
pub(crate) fn item_of(o: &RowOutcome) -> Value {
    let mut item = serde_json::Map::new();
    if o.status.is_failure() {
        item.insert("error".into(), o.error_code.clone().unwrap_or_else(|| "Failed".into()).into());
        item.insert("details".into(), o.message.clone().unwrap_or_default().into());
        return Value::Object(item);
    }
    if let Some(id) = o.zendesk_id {
        item.insert("id".into(), id.into());
    }
    let status = match o.status {
        RowStatus::Updated => "Updated",
        RowStatus::Deleted => "Deleted",
        _ => "Created",
    };
    item.insert("status".into(), status.into());
    if let Some(m) = &o.message {
        item.insert("message".into(), m.clone().into());
    }
    Value::Object(item)
}
