//! Links made once a record exists: a user's organization memberships beyond the default one,
//! sent as a second stream of bulk jobs through the same job window. A user row is held until
//! its memberships are settled; a membership that fails fails its row, naming the
//! organization. Memberships the account already has are not sent again.

use std::collections::HashMap;

use serde_json::Value;

use super::batch::{Batch, Batcher, Op, PlannedRow};
use crate::output::{Action, RowOutcome, RowStatus};
use crate::resource::memberships::item;
use crate::resource::Resource;

/// A row waiting for its memberships.
struct Held {
    outcome: RowOutcome,
    original: Vec<String>,
    pending: usize,
    added: Vec<String>,
    failed: Vec<String>,
}

/// Rows held for their links, and the membership batches being filled.
pub struct Links {
    batcher: Batcher,
    held: HashMap<usize, Held>,
}

impl Links {
    /// No row held.
    pub fn new(batch_size: usize) -> Links {
        Links { batcher: Batcher::new(Resource::Memberships, batch_size), held: HashMap::new() }
    }

    /// Whether no row is waiting.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// A user row settled as `outcome` wants these links; `existing` are the organizations it
    /// already belongs to. Returns the row when nothing is left to send, and any full batch.
    pub fn hold(
        &mut self,
        outcome: RowOutcome,
        links: Vec<(u64, String)>,
        existing: &[u64],
        original: Vec<String>,
    ) -> (Option<RowOutcome>, Vec<Batch>) {
        let Some(user) = outcome.zendesk_id else { return (Some(outcome), vec![]) };
        let wanted: Vec<(u64, String)> =
            links.into_iter().filter(|(org, _)| !existing.contains(org)).collect();
        if wanted.is_empty() {
            return (Some(outcome), vec![]);
        }
        let mut full = Vec::new();
        for (org, named) in &wanted {
            let row = PlannedRow {
                seq: outcome.seq,
                row: outcome.row,
                key: named.clone(),
                payload: item(user, *org),
                id: None,
                external_id: None,
                search: None,
                original: vec![],
                attempts: 0,
                links: vec![],
            };
            full.extend(self.batcher.push(Op::Create, row));
        }
        let held = Held { outcome, original, pending: wanted.len(), added: vec![], failed: vec![] };
        self.held.insert(held.outcome.seq, held);
        (None, full)
    }

    /// The partly filled membership batches.
    pub fn drain(&mut self) -> Vec<Batch> {
        self.batcher.drain()
    }

    /// One membership settled (`o.key` names its organization). Returns the user row once all
    /// of its memberships are settled.
    pub fn settled(&mut self, o: RowOutcome) -> Option<RowOutcome> {
        let held = self.held.get_mut(&o.seq)?;
        held.pending = held.pending.saturating_sub(1);
        match o.status {
            RowStatus::Created => held.added.push(o.key),
            _ => held.failed.push(format!(
                "'{}': {}",
                o.key,
                o.message.or(o.error_code).unwrap_or_else(|| "not added".into())
            )),
        }
        if held.pending > 0 {
            return None;
        }
        let held = self.held.remove(&o.seq)?;
        Some(finish(held))
    }

    /// The run stopped: every held row is settled saying which memberships were not sent.
    pub fn abandon(&mut self, why: &str) -> Vec<RowOutcome> {
        self.batcher.drain();
        self.held
            .drain()
            .map(|(_, mut h)| {
                let user = h.outcome.zendesk_id.unwrap_or_default();
                let done = h.outcome.status.as_str();
                h.outcome.status = RowStatus::Skipped;
                h.outcome.error_code = Some("MembershipsNotSent".into());
                h.outcome.message = Some(format!(
                    "user {user} was {done}, but {} of its memberships were not confirmed: {why}; import the file again to add them",
                    h.pending
                ));
                h.outcome.original = Some(h.original);
                h.outcome
            })
            .collect()
    }
}

fn finish(h: Held) -> RowOutcome {
    let mut o = h.outcome;
    if !h.failed.is_empty() {
        o.status = RowStatus::Failed;
        o.error_code = Some("MembershipFailed".into());
        o.message = Some(format!(
            "user {} is in Zendesk, but joining organization {} failed",
            o.zendesk_id.unwrap_or_default(),
            h.failed.join("; ")
        ));
        o.original = Some(h.original);
        return o;
    }
    if o.status == RowStatus::Unchanged {
        o.status = RowStatus::Updated;
        o.action = Action::Update;
    }
    let added = h.added.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
    o.message = Some(match o.message.take() {
        Some(m) => format!("{m}; added to organization {added}"),
        None => format!("added to organization {added}"),
    });
    o
}

/// The organization ids of a list of memberships.
pub fn organization_ids(memberships: &[Value]) -> Vec<u64> {
    memberships.iter().filter_map(|m| m.get("organization_id").and_then(Value::as_u64)).collect()
}
