//! What undo does to each record the run touched, decided against the account as it is now:
//! records looked up first, so that an undo run again (after an interruption, or after it
//! finished) deletes only what still exists and never fails on what is already gone.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::scan::{Done, What};
use crate::pipeline::api::{find_records, Port, RowKeys};
use crate::pipeline::diff::would_change;
use crate::resource::{layer, Resource};

/// What undo does to one record.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    /// Delete it (it exists and the run created it).
    Delete,
    /// Nothing: it is gone already (an earlier undo, or someone else, deleted it).
    Gone,
    /// Write these values back.
    Restore(Map<String, Value>),
    /// Nothing: it holds the values it had before the run already.
    Restored,
    /// Nothing: listed with the values it had before (`--restore-updates` was not given).
    Listed(String),
    /// Nothing: it cannot be put back as it was; the message says why.
    NotRestorable(String),
}

/// One line of the undo's report.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    /// The line's position in the report.
    pub(super) seq: usize,
    /// What the run did.
    pub(super) done: Done,
    /// What undo does.
    pub(super) step: Step,
}

/// Fields a restore does not write back, and why (the safe reading of `zendesk-api.md` §4).
fn held_back(resource: Resource, field: &str) -> Option<&'static str> {
    match (resource, field) {
        // "`email` is writable on create only. On update it adds a secondary email."
        (Resource::Users, "email") => {
            Some("Zendesk adds a second address instead of replacing the primary one")
        }
        // "Writing `organization_id` on update sets the default org and removes all other
        // memberships" (documented for PUT users/{id}; UNVERIFIED for update_many, so the
        // safe reading: it would remove memberships the user had before the run).
        (Resource::Users, "organization_id") => {
            Some("writing it would remove the user's other memberships")
        }
        _ => None,
    }
}

/// The values to write back: the before-values that differ from the record now, less the
/// fields held back (named with their reason).
fn restore_values(
    resource: Resource,
    before: &Map<String, Value>,
    now: &Value,
) -> (Map<String, Value>, Vec<String>) {
    let mut write = Map::new();
    let mut held = Vec::new();
    for (field, value) in before {
        let mut one = Map::new();
        one.insert(field.clone(), value.clone());
        if !would_change(&one, now, &[]) {
            continue;
        }
        match held_back(resource, field) {
            Some(why) => held.push(format!("{field} was {value} ({why}; set it by hand)")),
            None => {
                write.insert(field.clone(), value.clone());
            }
        }
    }
    (write, held)
}

/// The before-values of a record, for the report.
fn listed(before: &Map<String, Value>) -> String {
    let values: Vec<String> = before.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("updated by the run; before it: {}", values.join(", "))
}

/// Decides what undo does to each record, looking the records up as they are now.
pub(super) async fn plan<A: Port>(
    api: &A,
    resource: Resource,
    done: Vec<Done>,
    restore: bool,
) -> anyhow::Result<Vec<Line>> {
    // The records to look up: those to delete, and those to restore.
    let wanted = |d: &Done| match &d.what {
        What::Created => true,
        What::Updated { before: Some(_) } => restore,
        _ => false,
    };
    let ids: Vec<u64> = done.iter().filter(|d| wanted(d)).map(|d| d.id).collect();
    let keys: Vec<RowKeys> =
        ids.iter().map(|&id| RowKeys { id: Some(id), external_id: None, search: None }).collect();
    let found = find_records(api, layer(resource), &keys).await?;
    let now: HashMap<u64, Value> =
        ids.into_iter().zip(found).filter_map(|(i, f)| Some((i, f?))).collect();
    let links = memberships_now(api, &done).await?;

    let mut lines = Vec::with_capacity(done.len());
    for (seq, d) in done.into_iter().enumerate() {
        let step = match &d.what {
            What::Created if now.contains_key(&d.id) => Step::Delete,
            What::Created => Step::Gone,
            What::Deleted => Step::NotRestorable(
                "deleted by the run: the API has no way to bring a deleted record back; import its row again to recreate it (with a new id)".into(),
            ),
            What::Updated { before: None } => Step::NotRestorable(
                "updated by the run, which did not look the record up first: its values before are not known".into(),
            ),
            What::Updated { before: Some(before) } => {
                let before = before.as_object().cloned().unwrap_or_default();
                match (restore, now.get(&d.id)) {
                    (false, _) => Step::Listed(format!(
                        "{}; --restore-updates writes them back",
                        listed(&before)
                    )),
                    (true, None) => Step::NotRestorable(
                        "updated by the run, and no longer exists".into(),
                    ),
                    (true, Some(record)) => {
                        let (write, held) = restore_values(resource, &before, record);
                        match (write.is_empty(), held.is_empty()) {
                            (true, true) => Step::Restored,
                            (true, false) => Step::NotRestorable(held.join("; ")),
                            (false, _) => Step::Restore(write),
                        }
                    }
                }
            }
            What::Membership { .. } if links.contains(&d.id) => Step::Delete,
            What::Membership { .. } => Step::Gone,
        };
        lines.push(Line { seq, done: d, step });
    }
    Ok(lines)
}

/// The ids of the memberships the run added that still exist: each user's memberships read
/// once (an organization's when the journal does not name the user).
pub(super) async fn memberships_now<A: Port>(
    api: &A,
    done: &[Done],
) -> anyhow::Result<std::collections::HashSet<u64>> {
    let mut asked = std::collections::HashSet::new();
    let mut exist = std::collections::HashSet::new();
    for d in done {
        let What::Membership { user, organization } = &d.what else { continue };
        let (of, id) = match user {
            Some(u) => (Resource::Users, *u),
            None => (Resource::Organizations, *organization),
        };
        if !asked.insert((of, id)) {
            continue;
        }
        let found = match api.memberships(of, id).await {
            Ok(found) => found,
            // A user deleted since has no memberships left.
            Err(e) if not_found(&e) => vec![],
            Err(e) => return Err(e),
        };
        for m in found {
            if let Some(id) = m.get("id").and_then(Value::as_u64) {
                exist.insert(id);
            }
        }
    }
    Ok(exist)
}

/// Whether an error is Zendesk's 404 (the record is gone).
fn not_found(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        matches!(
            c.downcast_ref::<crate::zendesk::ApiError>(),
            Some(crate::zendesk::ApiError::Status { status: 404, .. })
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_differs_is_written_back_and_risky_user_fields_are_held_back() {
        let before = json!({"notes": "old", "tags": ["a"], "email": "a@x.test", "organization_id": 1,
                            "user_fields": {"tier": null}});
        let now = json!({"notes": "new", "tags": ["A"], "email": "b@x.test", "organization_id": 2,
                         "user_fields": {"tier": "gold"}});
        let before = before.as_object().cloned().unwrap();
        let (write, held) = restore_values(Resource::Users, &before, &now);
        assert_eq!(Value::Object(write), json!({"notes": "old", "user_fields": {"tier": null}}));
        assert_eq!(held.len(), 2, "{held:?}");
        assert!(held[0].starts_with("email was \"a@x.test\""), "{held:?}");
        assert!(held[1].contains("other memberships"), "{held:?}");
        // An organization's fields are all written back.
        let (write, held) = restore_values(Resource::Organizations, &before, &now);
        assert!(held.is_empty() && write.contains_key("organization_id"));
    }
}
