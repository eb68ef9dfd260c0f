//! Organization memberships: the second stream of a users import. A user row's
//! `organization`/`organizations` cells become `{user_id, organization_id}` items sent with
//! `organization_memberships/create_many` once the user exists; memberships the account
//! already has are not sent again.

use serde_json::{json, Map, Value};

use super::{Layer, Mode, Resource, UpsertStyle};
use crate::schema::row::{CellError, Kind, Payload};

/// The memberships layer. It has no file of its own: its rows come from users.
pub struct Memberships;

impl Layer for Memberships {
    fn resource(&self) -> Resource {
        Resource::Memberships
    }
    fn plural(&self) -> &'static str {
        "organization_memberships"
    }
    fn singular(&self) -> &'static str {
        "organization membership"
    }
    fn fields_key(&self) -> &'static str {
        "organization_membership_fields"
    }
    fn column(&self, _name: &str) -> Option<Kind<'static>> {
        None
    }
    fn unique_columns(&self) -> &'static [&'static str] {
        &[]
    }
    fn key_columns(&self) -> &'static [&'static str] {
        &["id"]
    }
    fn upsert(&self) -> UpsertStyle {
        UpsertStyle::LookupThenWrite
    }
    fn search_column(&self) -> &'static str {
        "id"
    }
    fn row_rules(&self, _p: &Payload, _mode: Mode, _errors: &mut Vec<CellError>) {}
}

/// The write shape of one membership.
pub fn item(user_id: u64, organization_id: u64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("user_id".into(), json!(user_id));
    m.insert("organization_id".into(), json!(organization_id));
    m
}
