//! Users: the organization family plus create_or_update_many. (Stub: being written.)

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::ApiError;
use super::jobs::JobKind;
use super::state::{Ctx, Shared, Store};

/// The account's users and their unique-value indexes.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserTable {}

impl UserTable {
    /// Rebuilds the indexes that are not saved with the state.
    pub fn rebuild_indexes(&mut self) {}

    /// Whether an active (not deleted) user with this id exists.
    pub fn contains(&self, _id: u64) -> bool {
        false
    }
}

/// User routes.
pub fn routes() -> Router<Shared> {
    Router::new()
}

/// Does item `index` of a user job and returns its result.
pub fn run_job_item(
    _store: &mut Store,
    _ctx: &Ctx,
    _kind: JobKind,
    index: usize,
    _item: &Value,
) -> Value {
    json!({"index": index})
}

/// Creates one user from its API write shape (used by seeds).
pub fn create_record(_store: &mut Store, _ctx: &Ctx, _body: &Value) -> Result<Value, ApiError> {
    Err(ApiError::InvalidEndpoint)
}
