//! User jobs: the items each bulk endpoint queues and the result each item gets.
//!
//! Items are checked when the job runs, not when it is queued, so two items of one batch
//! that claim the same email: the first wins, the second fails. Results follow the request
//! order (C1); a failed item carries its position as `id` (C1 shows that too), which is why
//! clients must reconcile by position and never trust `id` on an item with `error`.

use serde_json::{json, Map, Value};

use super::super::jobs::JobKind;
use super::super::state::{Ctx, Store};
use super::write::{self, Details, WriteError};

/// Which user a job item targets.
pub enum Target {
    /// By id.
    Id(u64),
    /// By external_id (any case).
    ExternalId(String),
}

impl Target {
    /// The item form stored in the job (`{"id":N}` or `{"external_id":X}`).
    pub fn to_item(&self) -> Value {
        match self {
            Target::Id(id) => json!({ "id": id }),
            Target::ExternalId(ext) => json!({ "external_id": ext }),
        }
    }

    fn from_item(item: &Value) -> Option<Target> {
        if let Some(id) = item.get("id").and_then(Value::as_u64) {
            return Some(Target::Id(id));
        }
        item.get("external_id").and_then(Value::as_str).map(|e| Target::ExternalId(e.to_string()))
    }

    fn resolve(&self, store: &Store) -> Option<u64> {
        match self {
            Target::Id(id) => store.users.get(*id).map(|u| u.id),
            Target::ExternalId(ext) => store.users.find_by_external_id(ext).map(|u| u.id),
        }
    }

    fn describe(&self) -> Value {
        match self {
            Target::Id(id) => json!(id),
            Target::ExternalId(ext) => json!(ext),
        }
    }
}

/// An `update_many` item: which user, and the changes for it.
pub fn update_item(target: &Target, changes: &Map<String, Value>) -> Value {
    json!({ "target": target.to_item(), "changes": changes })
}

/// Turns one item of a batch `update_many` (`{"id": N, ...}`) into an update item.
///
/// UNVERIFIED: R1 only shows items with `id`. An item without `id` is matched by its
/// `external_id` (which then cannot be changed by that item); an item with neither targets
/// nothing and fails as not found.
pub fn batch_update_item(item: &Value) -> Value {
    let mut changes = item.as_object().cloned().unwrap_or_default();
    let target = match changes.remove("id").and_then(|v| v.as_u64()) {
        Some(id) => Target::Id(id),
        None => match changes.remove("external_id") {
            Some(Value::String(ext)) => Target::ExternalId(ext),
            Some(Value::Number(n)) => Target::ExternalId(n.to_string()),
            _ => Target::Id(0),
        },
    };
    update_item(&target, &changes)
}

/// The failure item of C1: position as `index` and `id`.
fn failed(index: usize, error: &str, details: String) -> Value {
    json!({
        "index": index,
        "id": index,
        "error": error,
        "details": details,
        "status": "Failed",
    })
}

fn invalid(index: usize, error: &str, details: &Details) -> Value {
    failed(index, error, write::describe(details))
}

/// Does item `index` of a user job and returns its result.
pub fn run_item(store: &mut Store, ctx: &Ctx, kind: JobKind, index: usize, item: &Value) -> Value {
    match kind {
        JobKind::CreateUsers => match write::create(store, ctx, item) {
            Ok(id) => json!({ "id": id, "status": "Created" }),
            Err(details) => invalid(index, "UserCreateFailed", &details),
        },
        JobKind::UpdateUsers => {
            let target = item.get("target").and_then(Target::from_item);
            let Some(id) = target.as_ref().and_then(|t| t.resolve(store)) else {
                let what = target.map(|t| t.describe()).unwrap_or(Value::Null);
                return failed(index, "RecordNotFound", write::not_found(&what));
            };
            let changes = item.get("changes").cloned().unwrap_or_else(|| json!({}));
            match write::update(store, ctx, id, &changes) {
                Ok(()) => {
                    json!({ "id": id, "action": "update", "status": "Updated", "success": true })
                }
                Err(WriteError::Invalid(details)) => invalid(index, "UserUpdateError", &details),
                Err(WriteError::NotFound) => {
                    failed(index, "RecordNotFound", write::not_found(&json!(id)))
                }
            }
        }
        JobKind::CreateOrUpdateUsers => match write::upsert(store, ctx, item) {
            Ok((id, created)) => {
                let email = store.users.get(id).and_then(|u| u.email.clone());
                let status = if created { "Created" } else { "Updated" };
                json!({ "id": id, "status": status, "email": email })
            }
            // C1: failures of create_or_update_many say UserUpdateError, created or not.
            Err(details) => invalid(index, "UserUpdateError", &details),
        },
        JobKind::DestroyUsers => {
            let target = Target::from_item(item);
            let id = target.as_ref().and_then(|t| t.resolve(store));
            match id.map(|id| (id, write::delete(store, ctx, id))) {
                // UNVERIFIED: no completed users/destroy_many was recorded; the shape is
                // organizations/destroy_many's.
                Some((id, Ok(()))) => {
                    json!({ "id": id, "action": "delete", "status": "Deleted", "success": true })
                }
                _ => {
                    let what = target.map(|t| t.describe()).unwrap_or(Value::Null);
                    failed(index, "RecordNotFound", write::not_found(&what))
                }
            }
        }
        // Not a user job: the dispatcher in `jobs` never sends these here.
        _ => failed(index, "InvalidJob", "not a user job".into()),
    }
}
