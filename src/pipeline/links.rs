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
    /// Memberships not sent (the run stopped first), by organization.
    unsent: Vec<String>,
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
                before: None,
                links: vec![],
                mails: false,
            };
            full.extend(self.batcher.push(Op::Create, row));
        }
        let pending = wanted.len();
        let held =
            Held { outcome, original, pending, added: vec![], failed: vec![], unsent: vec![] };
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
            RowStatus::Skipped => held.unsent.push(o.key),
            _ => held.failed.push(format!(
                "'{}' ({})",
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
            "user {} is in Zendesk, but could not join organization {}",
            o.zendesk_id.unwrap_or_default(),
            h.failed.join("; ")
        ));
        o.original = Some(h.original);
        return o;
    }
    if !h.unsent.is_empty() {
        let done = o.status.as_str();
        let named = h.unsent.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
        o.status = RowStatus::Skipped;
        o.error_code = Some("MembershipsNotSent".into());
        o.message = Some(format!(
            "user {} was {done}, but organization {named} was not joined: the run stopped first; import the row again to add it",
            o.zendesk_id.unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user_row(seq: usize, status: RowStatus) -> RowOutcome {
        let mut o =
            RowOutcome::new(seq, seq + 2, format!("u{seq}@example.com"), Action::Create, status);
        o.zendesk_id = Some(100 + seq as u64);
        o
    }

    fn membership(seq: usize, org: &str, status: RowStatus, message: Option<&str>) -> RowOutcome {
        let mut o = RowOutcome::new(seq, seq + 2, org.into(), Action::Create, status);
        o.message = message.map(str::to_string);
        o
    }

    #[test]
    fn a_row_is_held_until_its_memberships_settle_and_a_failed_one_fails_it_naming_the_organization(
    ) {
        let mut links = Links::new(100);
        let wanted =
            vec![(7, "Acme".to_string()), (8, "Globex".to_string()), (9, "Initech".into())];
        // The user already belongs to Initech: only two memberships are sent.
        let (done, full) =
            links.hold(user_row(0, RowStatus::Created), wanted, &[9], vec!["cells".into()]);
        assert!(done.is_none() && full.is_empty());
        let batch = links.drain();
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].rows.len(), 2);
        assert_eq!(batch[0].rows[1].payload, item(100, 8));
        assert!(links.settled(membership(0, "Acme", RowStatus::Created, None)).is_none());
        let row = links
            .settled(membership(0, "Globex", RowStatus::Failed, Some("Organization: is full")))
            .expect("the row settles with its last membership");
        assert_eq!(row.status, RowStatus::Failed);
        assert_eq!(row.error_code.as_deref(), Some("MembershipFailed"));
        assert_eq!(
            row.message.as_deref(),
            Some("user 100 is in Zendesk, but could not join organization 'Globex' (Organization: is full)")
        );
        assert_eq!(row.original, Some(vec!["cells".to_string()]), "it goes to the failed file");
        assert!(links.is_empty());
    }

    #[test]
    fn an_unchanged_user_who_joins_organizations_is_updated_and_one_already_in_them_settles_at_once(
    ) {
        let mut links = Links::new(100);
        let (done, _) =
            links.hold(user_row(1, RowStatus::Unchanged), vec![(7, "Acme".into())], &[], vec![]);
        assert!(done.is_none());
        let row = links.settled(membership(1, "Acme", RowStatus::Created, None)).unwrap();
        assert_eq!((row.status, row.action), (RowStatus::Updated, Action::Update));
        assert_eq!(row.message.as_deref(), Some("added to organization 'Acme'"));
        let (done, full) =
            links.hold(user_row(2, RowStatus::Unchanged), vec![(7, "Acme".into())], &[7], vec![]);
        assert_eq!(done.map(|o| o.status), Some(RowStatus::Unchanged));
        assert!(full.is_empty() && links.is_empty());
    }

    #[test]
    fn rows_held_when_the_run_stops_are_skipped_saying_what_was_done() {
        let mut links = Links::new(100);
        links.hold(
            user_row(3, RowStatus::Created),
            vec![(7, "Acme".into())],
            &[],
            vec!["c".into()],
        );
        let rows = links.abandon("the run was interrupted");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].status, RowStatus::Skipped);
        assert!(rows[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("user 103 was created, but 1 of its memberships"));
        assert!(links.drain().is_empty());
    }
}
