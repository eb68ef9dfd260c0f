//! Organization memberships: list, create, create_many, destroy_many. (Stub: being written.)

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::jobs::JobKind;
use super::state::{Ctx, Shared, Store};

/// The account's organization memberships.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MembershipTable {}

/// Makes `user_id` a member of `org_id` (default membership if it has none); returns the
/// membership id. Used when a user is written with `organization_id`.
pub fn ensure(_store: &mut Store, _ctx: &Ctx, _user_id: u64, _org_id: u64) -> u64 {
    0
}

/// Removes every membership of a user (user deleted).
pub fn remove_user(_store: &mut Store, _user_id: u64) {}

/// Removes every membership of an organization (organization deleted).
pub fn remove_organization(_store: &mut Store, _org_id: u64) {}

/// Membership routes.
pub fn routes() -> Router<Shared> {
    Router::new()
}

/// Does item `index` of a membership job and returns its result.
pub fn run_job_item(
    _store: &mut Store,
    _ctx: &Ctx,
    _kind: JobKind,
    index: usize,
    _item: &Value,
) -> Value {
    json!({"index": index})
}
