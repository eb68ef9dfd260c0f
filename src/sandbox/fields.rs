//! Organization and user field definitions: list, show (id or key), create, update, delete,
//! reorder. (Stub: being written.)

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::ApiError;
use super::state::{Ctx, Shared, Store};

/// Which family of fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `organization_fields`.
    Organization,
    /// `user_fields`.
    User,
}

/// The field definitions of one family.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldTable {}

/// Field routes, for both families.
pub fn routes() -> Router<Shared> {
    Router::new()
}

/// Creates one field from its API write shape; returns the rendered field.
pub fn create_field(
    _store: &mut Store,
    _ctx: &Ctx,
    _kind: FieldKind,
    _body: &Value,
) -> Result<Value, ApiError> {
    Err(ApiError::InvalidEndpoint)
}
