//! The sandbox seeds the scenarios start from: the sample seed, with extra records or fields.

use serde_json::Value;
use zdbulk_sandbox::SAMPLE_SEED;

use crate::files::{user_cells, USER_COLUMNS};

/// Organizations a membership scenario's people belong to, created by the seed.
pub const MEMBER_ORGS: usize = 20;

/// The sample seed plus `MEMBER_ORGS` organizations (`Member org N`, external id `mo-N`).
pub fn seed_with_orgs() -> String {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let orgs: Vec<Value> = (0..MEMBER_ORGS)
        .map(|i| serde_json::json!({"name": format!("Member org {i}"), "external_id": format!("mo-{i}")}))
        .collect();
    seed["organizations"] = Value::Array(orgs);
    seed.to_string()
}

/// The sample seed plus three user fields, nine in all.
pub fn seed_with_nine_user_fields() -> String {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let extra = serde_json::json!([
        {"key": "cost_center", "title": "Cost center", "type": "text"},
        {"key": "office", "title": "Office", "type": "dropdown", "custom_field_options": [
            {"name": "Paris", "value": "paris"}, {"name": "Lagos", "value": "lagos"},
            {"name": "Osaka", "value": "osaka"}]},
        {"key": "contract_end", "title": "Contract end", "type": "date"}
    ]);
    seed["user_fields"].as_array_mut().unwrap().extend(extra.as_array().unwrap().iter().cloned());
    seed.to_string()
}

/// The sample seed plus the `n` people of [`crate::files::write_users`], stored as its create
/// import would store them, so that an update, delete or re-run scenario starts from them
/// without spending requests (or the first rate window) on creating them.
pub fn seed_with_users(n: usize) -> String {
    let mut seed: Value = serde_json::from_str(SAMPLE_SEED).unwrap();
    let columns: Vec<&str> = USER_COLUMNS.split(',').collect();
    let users: Vec<Value> = (0..n)
        .map(|i| {
            let cells = user_cells(i);
            let mut user = serde_json::Map::new();
            let mut fields = serde_json::Map::new();
            for (column, cell) in columns.iter().zip(cells.split(',')) {
                // The values the client sends: numbers and booleans typed, the rest text.
                let value = match *column {
                    "verified" | "user_fields.vip" => Value::Bool(cell == "true"),
                    "user_fields.employee_number" => cell.parse::<u64>().unwrap().into(),
                    _ => cell.into(),
                };
                match column.strip_prefix("user_fields.") {
                    Some(key) => fields.insert(key.into(), value),
                    None => user.insert((*column).into(), value),
                };
            }
            user.insert("user_fields".into(), fields.into());
            user.into()
        })
        .collect();
    seed["users"] = Value::Array(users);
    seed.to_string()
}
