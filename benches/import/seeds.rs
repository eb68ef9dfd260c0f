//! The sandbox seeds the scenarios start from: the sample seed, with extra records or fields.

use serde_json::Value;
use zdbulk_sandbox::SAMPLE_SEED;

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
