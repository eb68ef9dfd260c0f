//! Organization memberships: the second stream of a users import. A user row's
//! `organization`/`organizations` cells become `{user_id, organization_id}` items sent with
//! `organization_memberships/create_many` once the user exists; memberships the account
//! already has are not sent again.

use serde_json::{json, Map, Value};

use super::{Facts, Layer, Resource, UpsertStyle};
use crate::schema::row::Kind;

/// The memberships layer. It has no file of its own: its rows come from users.
pub struct Memberships;

const FACTS: Facts = Facts {
    resource: Resource::Memberships,
    plural: "organization_memberships",
    singular: "organization membership",
    fields_key: "organization_membership_fields",
    unique_columns: &[],
    key_columns: &["id"],
    upsert: UpsertStyle::LookupThenWrite,
    external_key: "external_id",
    search_column: "id",
    refs: None,
    welcome_email: false,
};

impl Layer for Memberships {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }
    fn column(&self, _name: &str) -> Option<Kind<'static>> {
        None
    }
}

/// The write shape of one membership.
pub fn item(user_id: u64, organization_id: u64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("user_id".into(), json!(user_id));
    m.insert("organization_id".into(), json!(organization_id));
    m
}
