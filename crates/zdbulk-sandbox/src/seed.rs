//! Seeds: field definitions and records a sandbox starts with (`--seed FILE`).
//!
//! The format is one JSON object with any of `organization_fields`, `user_fields`, `groups`,
//! `organizations` and `users`, each an array of objects in the API's own write shape. They
//! are created in that order through the same code as the API, so seeds are validated too.

use anyhow::{anyhow, Context as _};
use serde_json::Value;

use super::errors::ApiError;
use super::fields::{self, FieldKind};
use super::state::{Ctx, Store};
use super::{groups, organizations, users};

/// Applies a seed document to the store.
pub fn apply(store: &mut Store, ctx: &Ctx, text: &str) -> anyhow::Result<()> {
    let doc: Value = serde_json::from_str(text).context("the seed is not valid JSON")?;
    let section = |name: &str| -> Vec<Value> {
        doc.get(name).and_then(Value::as_array).cloned().unwrap_or_default()
    };
    for (i, field) in section("organization_fields").iter().enumerate() {
        fields::create_field(store, ctx, FieldKind::Organization, field)
            .map_err(|e| describe(e, "organization_fields", i))?;
    }
    for (i, field) in section("user_fields").iter().enumerate() {
        fields::create_field(store, ctx, FieldKind::User, field)
            .map_err(|e| describe(e, "user_fields", i))?;
    }
    for (i, group) in section("groups").iter().enumerate() {
        groups::create_record(store, ctx, group).map_err(|e| describe(e, "groups", i))?;
    }
    for (i, org) in section("organizations").iter().enumerate() {
        organizations::create_record(store, ctx, org)
            .map_err(|e| describe(e, "organizations", i))?;
    }
    for (i, user) in section("users").iter().enumerate() {
        users::create_record(store, ctx, user).map_err(|e| describe(e, "users", i))?;
    }
    Ok(())
}

fn describe(err: ApiError, section: &str, index: usize) -> anyhow::Error {
    let detail = match err {
        ApiError::RecordInvalid(details) => Value::Object(details).to_string(),
        ApiError::BadRequest { error, description } => format!("{error}: {description}"),
        other => format!("{other:?}"),
    };
    anyhow!("seed {section}[{index}] was refused: {detail}")
}
