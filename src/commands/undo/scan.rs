//! What an import run did, read from its journal: the records it created, updated and
//! deleted, and the memberships it added, each with the input row it came from.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::output::RowStatus;
use crate::pipeline::journal::{Entry, Journal, JournalError};
use crate::pipeline::memory::Memory;
use crate::resource::{layer, Resource};

/// What the run did to one record.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum What {
    /// It created the record.
    Created,
    /// It updated the record; `before` holds the values of the fields it wrote, as they were
    /// (`None`: not known, the record was not looked up first).
    Updated {
        /// The values before the run.
        before: Option<Value>,
    },
    /// It deleted the record.
    Deleted,
    /// It added a user (not one it created) to an organization; the record is the membership.
    Membership {
        /// The user, when the journal names it.
        user: Option<u64>,
        /// The organization.
        organization: u64,
    },
}

/// One record the run touched.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Done {
    /// The input row, as the user numbers it.
    pub(super) row: usize,
    /// The row's key (external id, e-mail, name or id), as the run sent it.
    pub(super) key: String,
    /// The record's id (for a membership, the membership's).
    pub(super) id: u64,
    /// What the run did.
    pub(super) what: What,
}

/// What the journal says of each data row beyond its result: its row number, its key, and
/// the user each membership was for.
#[derive(Default)]
struct Rows {
    number: HashMap<usize, usize>,
    key: HashMap<usize, String>,
    user_of: HashMap<(usize, u64), u64>,
}

fn text(item: &Value, field: &str) -> Option<String> {
    item.get(field).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The key a report shows for a request item: external id, e-mail, name, else its id.
fn key_of(item: &Value, id: Option<u64>) -> Option<String> {
    text(item, "external_id")
        .or_else(|| text(item, "email"))
        .or_else(|| text(item, "name"))
        .or_else(|| id.map(|i| i.to_string()))
}

fn read_rows(dir: &Path, resource: Resource) -> Result<Rows, JournalError> {
    let mut rows = Rows::default();
    let own = layer(resource).plural();
    let links = layer(Resource::Memberships).plural();
    Journal::each(dir, |entry| {
        let Entry::Batch { resource: res, rows: numbers, seqs, request, ids, .. } = entry else {
            return Ok(());
        };
        let items = request.get(&res).and_then(Value::as_array);
        for (i, (&number, &seq)) in numbers.iter().zip(&seqs).enumerate() {
            rows.number.insert(seq, number);
            let item = items.and_then(|a| a.get(i)).unwrap_or(&Value::Null);
            if res == own && !rows.key.contains_key(&seq) {
                let id = ids.get(i).copied().flatten();
                if let Some(k) = key_of(item, id) {
                    rows.key.insert(seq, k);
                }
            } else if res == links {
                let id = |f: &str| item.get(f).and_then(Value::as_u64);
                if let (Some(user), Some(org)) = (id("user_id"), id("organization_id")) {
                    rows.user_of.insert((seq, org), user);
                }
            }
        }
        Ok(())
    })?;
    Ok(rows)
}

/// Every record the run touched, by input row; memberships come after every record (their
/// report lines are written once the engine is done, see `send`).
pub(super) fn done(
    dir: &Path,
    memory: &Memory,
    resource: Resource,
) -> Result<Vec<Done>, JournalError> {
    let rows = read_rows(dir, resource)?;
    let number = |seq: usize| rows.number.get(&seq).copied().unwrap_or(seq + 2);
    let mut out = Vec::new();
    let mut created_users = std::collections::HashSet::new();
    for (seq, known) in memory.known_rows() {
        let Some(id) = known.id() else { continue };
        let what = match known.status() {
            RowStatus::Created => {
                created_users.insert(seq);
                What::Created
            }
            RowStatus::Updated => What::Updated { before: known.before.clone() },
            RowStatus::Deleted => What::Deleted,
            _ => continue,
        };
        let key = rows.key.get(&seq).cloned().unwrap_or_else(|| id.to_string());
        out.push((seq, Done { row: number(seq), key, id, what }));
    }
    for (seq, organization, known) in memory.known_links() {
        // A user the run created takes its memberships with it when it is deleted.
        if known.status() != RowStatus::Created || created_users.contains(&seq) {
            continue;
        }
        let Some(id) = known.id() else { continue };
        let user = rows.user_of.get(&(seq, organization)).copied();
        let who = match user {
            Some(u) => format!("user {u}"),
            None => rows.key.get(&seq).cloned().unwrap_or_else(|| "the user".into()),
        };
        let key = format!("{who} in organization {organization}");
        out.push((
            seq,
            Done { row: number(seq), key, id, what: What::Membership { user, organization } },
        ));
    }
    out.sort_by_key(|(seq, d)| (matches!(d.what, What::Membership { .. }), *seq, d.id));
    Ok(out.into_iter().map(|(_, d)| d).collect())
}
