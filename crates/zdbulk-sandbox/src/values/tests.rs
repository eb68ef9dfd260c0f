//! Unit tests of custom field values: every type's accepted and refused values, checkbox
//! tags, and render defaults. Definitions are made through `create_field`, as the API does.

use serde_json::{json, Map, Value};

use super::{check, render};
use crate::fields::{create_field, update_field, FieldKind, FieldTable};
use crate::state::{Ctx, Store};

fn ctx() -> Ctx {
    Ctx { base_url: "http://localhost".into(), now: "2024-01-01T00:00:00Z".into() }
}

/// A store whose organization fields are one of each type.
fn store() -> Store {
    let mut store = Store::default();
    let defs = [
        json!({"key": "crm_owner", "title": "CRM owner"}),
        json!({"key": "notes", "title": "Notes", "type": "textarea"}),
        json!({"key": "partner", "title": "Partner", "type": "checkbox", "tag": "partner_org"}),
        json!({"key": "plain_box", "title": "No tag", "type": "checkbox"}),
        json!({"key": "renewal", "title": "Renewal", "type": "date"}),
        json!({"key": "seats", "title": "Seats", "type": "integer"}),
        json!({"key": "arr", "title": "ARR", "type": "decimal"}),
        json!({"key": "code", "title": "Code", "type": "regexp", "regexp_for_validation": r"\A[A-Z]{3}-[0-9]{4}\z"}),
        json!({"key": "tier", "title": "Tier", "type": "dropdown", "custom_field_options": [
            {"name": "Free", "value": "free"}, {"name": "Pro", "value": "pro"}, {"name": "Enterprise", "value": "enterprise"}]}),
        json!({"key": "products", "title": "Products", "type": "multiselect", "custom_field_options": [
            {"name": "Support", "value": "support"}, {"name": "Guide", "value": "guide"}]}),
        json!({"key": "owner", "title": "Owner", "type": "lookup", "relationship_target_type": "zen:user"}),
        json!({"key": "retired", "title": "Retired", "active": false}),
    ];
    for def in defs {
        create_field(&mut store, &ctx(), FieldKind::Organization, &def).unwrap();
    }
    store
}

fn input(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

/// The stored value of one accepted write.
fn accepted(defs: &FieldTable, key: &str, value: Value) -> Value {
    let checked = check(defs, &input(json!({ key: value.clone() })))
        .unwrap_or_else(|p| panic!("{key}={value} refused: {p:?}"));
    checked.values[key].clone()
}

/// The message of one refused write.
fn refused(defs: &FieldTable, key: &str, value: Value) -> String {
    match check(defs, &input(json!({ key: value.clone() }))) {
        Ok(c) => panic!("{key}={value} accepted as {:?}", c.values),
        Err(problems) => {
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].key, key);
            problems[0].message.clone()
        }
    }
}

#[test]
fn text_accepts_strings_and_stringifies_numbers() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "crm_owner", json!("Ana")), json!("Ana"));
    assert_eq!(accepted(defs, "crm_owner", json!(42)), json!("42"));
    assert_eq!(accepted(defs, "notes", json!("two\nlines")), json!("two\nlines"));
    assert!(refused(defs, "crm_owner", json!(true)).contains("true is not text"));
    assert!(refused(defs, "notes", json!(["a"])).starts_with("notes: "));
}

#[test]
fn checkbox_takes_booleans_and_moves_its_tag() {
    let s = store();
    let defs = &s.organization_fields;
    let on = check(defs, &input(json!({"partner": true}))).unwrap();
    assert_eq!(on.values["partner"], json!(true));
    assert_eq!(on.add_tags, vec!["partner_org"]);
    assert!(on.remove_tags.is_empty());
    let off = check(defs, &input(json!({"partner": false}))).unwrap();
    assert_eq!(off.remove_tags, vec!["partner_org"]);
    let cleared = check(defs, &input(json!({"partner": null}))).unwrap();
    assert_eq!(cleared.values["partner"], Value::Null);
    assert_eq!(cleared.remove_tags, vec!["partner_org"]);
    // A checkbox without a tag moves no tags.
    let plain = check(defs, &input(json!({"plain_box": true}))).unwrap();
    assert!(plain.add_tags.is_empty() && plain.remove_tags.is_empty());
    assert!(refused(defs, "partner", json!("yes")).contains("'yes' is not true or false"));
}

#[test]
fn date_accepts_days_and_datetimes_and_refuses_impossible_days() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "renewal", json!("2024-02-29")), json!("2024-02-29T00:00:00+00:00"));
    // As R3 sent it.
    assert_eq!(
        accepted(defs, "renewal", json!("2020-08-19T20:50:04.000Z")),
        json!("2020-08-19T00:00:00+00:00")
    );
    // The read-back form is accepted again.
    assert_eq!(
        accepted(defs, "renewal", json!("2020-08-19T00:00:00+00:00")),
        json!("2020-08-19T00:00:00+00:00")
    );
    for bad in ["2023-02-29", "2024-13-01", "24-01-01", "2024/01/01", "2024-01-01Tnoon", "soon"] {
        assert!(refused(defs, "renewal", json!(bad)).contains("is not a date"), "{bad}");
    }
    assert!(refused(defs, "renewal", json!(20240101)).contains("is not a date"));
}

#[test]
fn integer_accepts_integers_and_integer_strings() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "seats", json!(3039)), json!(3039));
    assert_eq!(accepted(defs, "seats", json!(" -12 ")), json!(-12));
    assert_eq!(refused(defs, "seats", json!(12.5)), "seats: 12.5 is not an integer");
    assert_eq!(refused(defs, "seats", json!("12.5")), "seats: '12.5' is not an integer");
    assert!(refused(defs, "seats", json!("many")).contains("is not an integer"));
}

#[test]
fn decimal_accepts_numbers_and_numeric_strings() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "arr", json!(5.1)), json!(5.1));
    assert_eq!(accepted(defs, "arr", json!("5.25")), json!(5.25));
    assert_eq!(accepted(defs, "arr", json!("7")), json!(7));
    for bad in ["abc", "inf", "NaN", "1,5"] {
        assert!(refused(defs, "arr", json!(bad)).contains("is not a number"), "{bad}");
    }
}

#[test]
fn regexp_applies_the_ruby_pattern() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "code", json!("ABC-1234")), json!("ABC-1234"));
    let message = refused(defs, "code", json!("abc-1234"));
    assert!(message.contains("'abc-1234' does not match"), "{message}");
    // `\z` anchors the end: a trailing newline does not slip through.
    refused(defs, "code", json!("ABC-1234\n"));
}

#[test]
fn dropdown_takes_an_option_value() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "tier", json!("pro")), json!("pro"));
    assert_eq!(
        refused(defs, "tier", json!("gold")),
        "tier: 'gold' is not an option (options: free, pro, enterprise)"
    );
    // The option's name is not its value.
    refused(defs, "tier", json!("Pro"));
    assert_eq!(accepted(defs, "tier", json!("")), Value::Null);
}

#[test]
fn multiselect_takes_a_list_or_one_value() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(
        accepted(defs, "products", json!(["guide", "support", "guide"])),
        json!(["guide", "support"])
    );
    assert_eq!(accepted(defs, "products", json!("guide")), json!(["guide"]));
    assert_eq!(accepted(defs, "products", json!([])), Value::Null);
    assert!(refused(defs, "products", json!(["guide", "talk"])).contains("'talk' is not an option"));
}

#[test]
fn lookup_takes_a_record_id() {
    let s = store();
    let defs = &s.organization_fields;
    assert_eq!(accepted(defs, "owner", json!(6100000000001u64)), json!(6100000000001u64));
    assert_eq!(accepted(defs, "owner", json!("42")), json!(42));
    assert!(refused(defs, "owner", json!("bob")).contains("is not a record id"));
    refused(defs, "owner", json!(-3));
}

#[test]
fn null_clears_every_type() {
    let s = store();
    let defs = &s.organization_fields;
    for def in defs.iter().filter(|d| d.active) {
        assert_eq!(accepted(defs, &def.key, Value::Null), Value::Null, "{}", def.key);
    }
}

#[test]
fn unknown_and_inactive_keys_are_refused_and_all_problems_reported() {
    let s = store();
    let defs = &s.organization_fields;
    let problems = check(
        defs,
        &input(json!({"teir": "pro", "retired": "x", "seats": "x", "crm_owner": "ok"})),
    )
    .unwrap_err();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, vec!["teir", "retired", "seats"]);
    assert!(problems[0].message.starts_with("teir: no such field (fields: crm_owner"));
    assert_eq!(problems[1].message, "retired: the field is inactive");
}

#[test]
fn render_shows_every_key_with_defaults() {
    let s = store();
    let defs = &s.organization_fields;
    let out = render(defs, &Map::new());
    assert_eq!(out.len(), defs.len());
    assert_eq!(out["partner"], json!(false));
    assert_eq!(out["tier"], Value::Null);
    assert_eq!(out["retired"], Value::Null);
    let keys: Vec<&String> = out.keys().collect();
    assert_eq!(keys[0], "crm_owner");

    let mut stored =
        check(defs, &input(json!({"seats": 3, "partner": true, "products": ["guide"]})))
            .unwrap()
            .values;
    // A value left behind by a deleted field.
    stored.insert("gone".into(), json!(1));
    let out = render(defs, &stored);
    assert_eq!(out["seats"], json!(3));
    assert_eq!(out["partner"], json!(true));
    assert!(!out.contains_key("gone"), "keys with no definition are not shown");
}

#[test]
fn render_drops_values_of_removed_options() {
    let mut s = store();
    let stored = input(json!({"tier": "enterprise", "products": ["support", "guide"]}));
    let tier = s.organization_fields.find("tier").unwrap();
    let body = json!({"custom_field_options": [{"name": "Free", "value": "free"}, {"name": "Pro", "value": "pro"}]});
    update_field(&mut s, &ctx(), FieldKind::Organization, tier, &body).unwrap();
    let products = s.organization_fields.find("products").unwrap();
    let body = json!({"custom_field_options": [{"name": "Support", "value": "support"}]});
    update_field(&mut s, &ctx(), FieldKind::Organization, products, &body).unwrap();
    let out = render(&s.organization_fields, &stored);
    assert_eq!(out["tier"], Value::Null);
    assert_eq!(out["products"], json!(["support"]));
}

#[test]
fn render_nulls_values_of_the_wrong_kind() {
    let s = store();
    let out = render(
        &s.organization_fields,
        &input(json!({"seats": "old text", "renewal": 5, "partner": "x"})),
    );
    assert_eq!(out["seats"], Value::Null);
    assert_eq!(out["renewal"], Value::Null);
    assert_eq!(out["partner"], json!(false));
}

#[test]
fn sample_seed_fields_are_accepted_and_its_values_check() {
    let seed: Value = serde_json::from_str(include_str!("../sample_seed.json")).unwrap();
    let mut s = Store::default();
    for (section, kind) in
        [("organization_fields", FieldKind::Organization), ("user_fields", FieldKind::User)]
    {
        for def in seed[section].as_array().unwrap() {
            create_field(&mut s, &ctx(), kind, def).unwrap_or_else(|e| panic!("{def}: {e:?}"));
        }
    }
    let checked = check(
        &s.organization_fields,
        &input(json!({"tier": "pro", "account_code": "ABC-1234", "renewal_date": "2025-06-30", "partner": true})),
    )
    .unwrap();
    assert_eq!(checked.add_tags, vec!["partner_org"]);
    assert!(check(&s.user_fields, &input(json!({"badge_code": "X12"}))).is_err());
}
