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

/// Membership routes.
pub fn routes() -> Router<Shared> {
    Router::new()
}

/// Does item `index` of a membership job and returns its result.
pub fn run_job_item(_store: &mut Store, _ctx: &Ctx, _kind: JobKind, index: usize, _item: &Value) -> Value {
    json!({"index": index})
}
