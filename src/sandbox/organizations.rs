//! Organizations: list, show, count, show_many, search, create, create_or_update, update,
//! create_many, update_many, destroy, destroy_many. (Stub: being written.)

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::errors::ApiError;
use super::jobs::JobKind;
use super::state::{Ctx, Shared, Store};

/// The account's organizations and their unique-value indexes.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OrgTable {}

impl OrgTable {
    /// Rebuilds the indexes that are not saved with the state.
    pub fn rebuild_indexes(&mut self) {}

    /// Whether an organization with this id exists.
    pub fn contains(&self, _id: u64) -> bool {
        false
    }

    /// The name of the organization with this id.
    pub fn name_of(&self, _id: u64) -> Option<String> {
        None
    }
}

/// Organization routes.
pub fn routes() -> Router<Shared> {
    Router::new()
}

/// Does item `index` of an organization job and returns its result.
pub fn run_job_item(
    _store: &mut Store,
    _ctx: &Ctx,
    _kind: JobKind,
    index: usize,
    _item: &Value,
) -> Value {
    json!({"index": index})
}

/// Creates one organization from its API write shape (used by seeds).
pub fn create_record(_store: &mut Store, _ctx: &Ctx, _body: &Value) -> Result<Value, ApiError> {
    Err(ApiError::InvalidEndpoint)
}
