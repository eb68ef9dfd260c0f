//! Organization merges: `POST /api/v2/organizations/{id}/merge` and the `organization_merges`
//! records that follow it through `new` → `in progress` → `complete` (or `error`).
//!
//! A merge takes time like a job (`job_delay_ms` queued, then `job_item_ms` for each
//! membership of the loser, all scaled by `--time-scale`), and is carried out when it comes
//! due, whenever the store is locked: the loser's memberships (and with them its users'
//! `organization_id`) and domain names move to the winner, the loser is deleted, and its field
//! values, tags, notes and details are not carried over. The `job-fail` fault knob ends a
//! merge in `error` with nothing done; repeating the call retries it, as the docs say.

mod routes;

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::state::{Ctx, Sandbox, Store};
use super::{memberships, organizations};

pub use routes::routes;

/// Zendesk's merge statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MergeStatus {
    /// Queued.
    #[serde(rename = "new")]
    New,
    /// Started.
    #[serde(rename = "in progress")]
    InProgress,
    /// Failed; nothing was done.
    #[serde(rename = "error")]
    Error,
    /// Done.
    #[serde(rename = "complete")]
    Complete,
}

impl MergeStatus {
    fn word(self) -> &'static str {
        match self {
            MergeStatus::New => "new",
            MergeStatus::InProgress => "in progress",
            MergeStatus::Error => "error",
            MergeStatus::Complete => "complete",
        }
    }
}

/// One organization merge record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Merge {
    /// A ULID, as Zendesk's are.
    pub id: String,
    /// Creation order (the list's cursor key).
    pub seq: u64,
    /// The organization merged away.
    pub loser_id: u64,
    /// The organization that stays.
    pub winner_id: u64,
    /// Sandbox ms when it starts.
    pub starts_at: u64,
    /// Sandbox ms when it is carried out.
    pub due_at: u64,
    /// `error` or `complete` once it has ended.
    pub ended: Option<MergeStatus>,
}

/// Every merge of the account.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MergeTable {
    /// Merges by id.
    pub merges: BTreeMap<String, Merge>,
    /// The last `seq` handed out.
    pub last_seq: u64,
}

impl MergeTable {
    /// A merge still queued or running that involves `org` (as loser or winner).
    pub fn pending_with(&self, org: u64) -> Option<&Merge> {
        self.merges
            .values()
            .find(|m| m.ended.is_none() && (m.loser_id == org || m.winner_id == org))
    }
}

/// A merge's status at sandbox time `now`.
fn status(m: &Merge, now: u64) -> MergeStatus {
    match m.ended {
        Some(s) => s,
        None if now >= m.starts_at => MergeStatus::InProgress,
        None => MergeStatus::New,
    }
}

/// The `organization_merge` object.
pub fn render(ctx: &Ctx, m: &Merge, now: u64) -> Value {
    json!({
        "id": m.id,
        "loser_id": m.loser_id,
        "status": status(m, now).word(),
        "url": format!("{}/api/v2/organization_merges/{}.json", ctx.base_url, m.id),
        "winner_id": m.winner_id,
    })
}

/// A new ULID-shaped id (26 Crockford base32 characters) from the per-start id generator.
fn new_id(sandbox: &Sandbox, store: &Store) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = sandbox.id_rng.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let tail: String =
            (0..24).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
        let id = format!("01{tail}");
        if !store.merges.merges.contains_key(&id) {
            return id;
        }
    }
}

/// Queues a merge of `loser` into `winner` (both checked by the caller) and returns it.
pub fn queue(sandbox: &Sandbox, store: &mut Store, loser: u64, winner: u64) -> Merge {
    let now = sandbox.now_ms();
    let members = memberships::count_of_organization(store, loser) as u64;
    let starts_at = now + sandbox.config.job_delay_ms;
    let due_at = starts_at + sandbox.config.job_item_ms * (members + 1);
    store.merges.last_seq += 1;
    let m = Merge {
        id: new_id(sandbox, store),
        seq: store.merges.last_seq,
        loser_id: loser,
        winner_id: winner,
        starts_at,
        due_at,
        ended: None,
    };
    store.merges.merges.insert(m.id.clone(), m.clone());
    m
}

/// Carries out every merge whose time has come, in the order they come due.
pub fn advance(sandbox: &Sandbox, store: &mut Store) {
    let now = sandbox.now_ms();
    let mut due: Vec<(u64, u64, String)> = store
        .merges
        .merges
        .values()
        .filter(|m| m.ended.is_none() && m.due_at <= now)
        .map(|m| (m.due_at, m.seq, m.id.clone()))
        .collect();
    if due.is_empty() {
        return;
    }
    due.sort();
    for (_, _, id) in due {
        let fail = {
            let p = sandbox.config.faults.job_fail;
            p > 0.0 && sandbox.rng.lock().unwrap_or_else(|e| e.into_inner()).gen_bool(p)
        };
        let Some((loser, winner)) = store.merges.merges.get(&id).map(|m| (m.loser_id, m.winner_id))
        else {
            continue;
        };
        let ended = if fail {
            sandbox.stats.lock().unwrap_or_else(|e| e.into_inner()).fault("merge-error");
            MergeStatus::Error
        } else if organizations::merge_into(store, loser, winner) {
            MergeStatus::Complete
        } else {
            MergeStatus::Error
        };
        if let Some(m) = store.merges.merges.get_mut(&id) {
            m.ended = Some(ended);
        }
    }
}

/// After loading state: merges that were running are carried out at the first lock.
pub fn rebase_loaded(store: &mut Store) {
    for m in store.merges.merges.values_mut().filter(|m| m.ended.is_none()) {
        m.starts_at = 0;
        m.due_at = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;

    fn ctx() -> Ctx {
        Ctx { base_url: "http://x".into(), now: "2024-01-01T00:00:00Z".into() }
    }

    #[test]
    fn a_merge_moves_users_and_domains_and_deletes_the_loser() {
        let sb =
            Sandbox::new(SandboxConfig { job_delay_ms: 0, job_item_ms: 0, ..Default::default() });
        let c = ctx();
        let mut store = Store::default();
        let a = organizations::create_record(
            &mut store,
            &c,
            &json!({"name": "A", "domain_names": ["a.com"], "tags": ["x"]}),
        )
        .unwrap()["id"]
            .as_u64()
            .unwrap();
        let b = organizations::create_record(
            &mut store,
            &c,
            &json!({"name": "B", "domain_names": ["b.com"]}),
        )
        .unwrap()["id"]
            .as_u64()
            .unwrap();
        let user = store.next_id();
        memberships::ensure(&mut store, &c, user, a);
        let m = queue(&sb, &mut store, a, b);
        assert_eq!(render(&c, &m, m.starts_at)["status"], "in progress");
        assert_eq!(
            render(&c, &m, m.starts_at.saturating_sub(1))["status"],
            if m.starts_at > 0 { "new" } else { "in progress" }
        );
        advance(&sb, &mut store);
        assert_eq!(store.merges.merges[&m.id].ended, Some(MergeStatus::Complete));
        assert!(!store.organizations.contains(a));
        assert!(store.memberships.find(user, b).is_some());
        assert_eq!(organizations::domain_names_of(&store, b), vec!["b.com", "a.com"]);
    }
}
