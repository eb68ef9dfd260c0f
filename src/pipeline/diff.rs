//! Whether an existing record already holds the values a row would write, so that upserts send
//! nothing for rows that match (status `unchanged`).

use serde_json::{Map, Value};

/// Compares two scalar values the way Zendesk stores them: numbers by value, dates by their
/// calendar day (`2024-01-02` equals `2024-01-02T00:00:00+00:00`), null equal to a missing
/// value, and `false` equal to null for checkboxes.
fn same_scalar(want: &Value, have: Option<&Value>) -> bool {
    let have = have.unwrap_or(&Value::Null);
    match (want, have) {
        (Value::Null, Value::Null) | (Value::Null, Value::Bool(false)) => true,
        (Value::Bool(false), Value::Null) => true,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) => {
            a == b
                || (is_date(a)
                    && b.len() > 10
                    && b.starts_with(a.as_str())
                    && b.as_bytes()[10] == b'T')
        }
        (Value::Array(a), Value::Array(b)) => same_set(a, b, false),
        (a, b) => a == b,
    }
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-'
}

/// Lists compare as sets; tags also ignore case (Zendesk stores tags in lower case).
fn same_set(a: &[Value], b: &[Value], fold_case: bool) -> bool {
    let norm = |v: &[Value]| {
        let mut out: Vec<String> = v
            .iter()
            .map(|x| match x {
                Value::String(s) if fold_case => s.to_lowercase(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        out.sort();
        out.dedup();
        out
    };
    norm(a) == norm(b)
}

/// The values `existing` holds for the fields `payload` writes, as they are before the write:
/// what `zdbulk undo --restore-updates` writes back. A custom field map keeps only the keys
/// written; a field the record lacks is `null` (undo clears it again).
pub fn before_values(payload: &Map<String, Value>, existing: &Value) -> Value {
    let mut out = Map::new();
    for (key, want) in payload {
        if key == "skip_verify_email" || key == "id" {
            continue;
        }
        let have = existing.get(key).cloned().unwrap_or(Value::Null);
        let value = match (want, have) {
            (Value::Object(fields), Value::Object(had)) => Value::Object(
                fields
                    .keys()
                    .map(|k| (k.clone(), had.get(k).cloned().unwrap_or(Value::Null)))
                    .collect(),
            ),
            (Value::Object(fields), _) => {
                Value::Object(fields.keys().map(|k| (k.clone(), Value::Null)).collect())
            }
            (_, have) => have,
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// Whether writing `payload` to `existing` would change anything.
///
/// `checkbox_tags` are the tags checkbox fields add to a record when set: Zendesk keeps them
/// in `tags` on its own, so they are left out when tags are compared.
pub fn would_change(
    payload: &Map<String, Value>,
    existing: &Value,
    checkbox_tags: &[String],
) -> bool {
    payload.iter().any(|(key, want)| match (key.as_str(), want) {
        ("organization_fields" | "user_fields", Value::Object(fields)) => {
            let stored = existing.get(key).and_then(Value::as_object);
            fields.iter().any(|(k, v)| !same_scalar(v, stored.and_then(|s| s.get(k))))
        }
        _ => !same_value(key, want, existing, checkbox_tags),
    })
}

/// Whether `existing` already holds `want` in `key` (a standard field).
fn same_value(key: &str, want: &Value, existing: &Value, checkbox_tags: &[String]) -> bool {
    let without_checkbox_tags = |list: &[Value]| -> Vec<Value> {
        list.iter()
            .filter(|t| {
                !t.as_str().is_some_and(|t| checkbox_tags.iter().any(|c| c.eq_ignore_ascii_case(t)))
            })
            .cloned()
            .collect()
    };
    let have = existing.get(key);
    match (key, want) {
        // Write-only: Zendesk never returns it.
        ("skip_verify_email", _) => true,
        // Addresses are compared ignoring case (Zendesk stores them in lower case).
        ("email", Value::String(w)) => {
            have.and_then(Value::as_str).is_some_and(|h| h.eq_ignore_ascii_case(w))
        }
        // A user's time zone may be written as an IANA name and read back as Zendesk's own
        // name beside `iana_time_zone`.
        ("time_zone", Value::String(w)) => [have, existing.get("iana_time_zone")]
            .into_iter()
            .flatten()
            .any(|h| h.as_str().is_some_and(|h| h.eq_ignore_ascii_case(w))),
        ("tags", Value::Array(w)) => {
            let have = have.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
            same_set(&without_checkbox_tags(w), &without_checkbox_tags(have), true)
        }
        (_, w) => same_scalar(w, have),
    }
}

/// One value a row changes: the API column (`notes`, `organization_fields.tier`), what the
/// record holds now (`null` for a record to create) and what the row writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueChange {
    /// The API column.
    pub column: String,
    /// The value now.
    pub old: Value,
    /// The value written.
    pub new: Value,
}

/// Every value writing `payload` changes on `existing` (`None`: a record to create, whose
/// every value is new), one custom field at a time.
pub fn changes(
    payload: &Map<String, Value>,
    existing: Option<&Value>,
    checkbox_tags: &[String],
) -> Vec<ValueChange> {
    let none = Value::Null;
    let record = existing.unwrap_or(&none);
    let mut out = Vec::new();
    for (key, want) in payload {
        if key == "skip_verify_email" || key == "id" {
            continue;
        }
        match (key.as_str(), want) {
            // A definition's options, as its file writes them: `Label=tag; Other=other`.
            ("custom_field_options", _) => {
                let cell = |v: Option<&Value>| -> Value {
                    let Some(list) = v.and_then(Value::as_array) else { return Value::Null };
                    let text = |o: &Value, k: &str| {
                        o.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
                    };
                    let parts: Vec<String> = list
                        .iter()
                        .map(|o| format!("{}={}", text(o, "name"), text(o, "value")))
                        .collect();
                    Value::String(parts.join("; "))
                };
                let (old, new) = (cell(record.get(key)), cell(Some(want)));
                if old != new {
                    out.push(ValueChange { column: "options".into(), old, new });
                }
            }
            ("organization_fields" | "user_fields", Value::Object(fields)) => {
                let stored = record.get(key).and_then(Value::as_object);
                for (k, v) in fields {
                    let have = stored.and_then(|s| s.get(k));
                    let changed = match existing {
                        None => !v.is_null(),
                        Some(_) => !same_scalar(v, have),
                    };
                    if changed {
                        out.push(ValueChange {
                            column: format!("{key}.{k}"),
                            old: have.cloned().unwrap_or(Value::Null),
                            new: v.clone(),
                        });
                    }
                }
            }
            _ if existing.is_none() && !want.is_null()
                || existing.is_some() && !same_value(key, want, record, checkbox_tags) =>
            {
                out.push(ValueChange {
                    column: key.clone(),
                    old: record.get(key).cloned().unwrap_or(Value::Null),
                    new: want.clone(),
                });
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn would_change_(payload: &Map<String, Value>, existing: &Value) -> bool {
        would_change(payload, existing, &[])
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn equal_values_are_unchanged() {
        let existing = json!({"name": "Acme", "tags": ["gold", "vip"], "domain_names": ["a.com"],
            "notes": null, "organization_fields": {"tier": "pro", "seats": 12, "renewal": "2024-01-02T00:00:00+00:00", "partner": false}});
        let payload = map(
            json!({"name": "Acme", "tags": ["VIP", "gold"], "domain_names": ["a.com"],
            "notes": null, "organization_fields": {"tier": "pro", "seats": 12.0, "renewal": "2024-01-02", "partner": null}}),
        );
        assert!(!would_change(&payload, &existing, &[]));
        // A checkbox's tag on the record is Zendesk's doing, not a difference.
        let with_tag = json!({"name": "Acme", "tags": ["gold", "partner_org"]});
        let payload = map(json!({"name": "Acme", "tags": ["gold"]}));
        assert!(!would_change(&payload, &with_tag, &["partner_org".to_string()]));
        assert!(would_change(&payload, &with_tag, &[]));
    }

    #[test]
    fn changes_lists_each_value_that_moves_and_a_new_record_lists_its_values() {
        let existing = json!({"name": "Acme", "notes": "x", "tags": ["gold"],
            "organization_fields": {"tier": "pro", "seats": 3}});
        let payload = map(json!({"name": "Acme", "notes": "y", "tags": ["GOLD"],
            "organization_fields": {"tier": "pro", "seats": 4, "renewal": "2025-01-01"}}));
        let c = changes(&payload, Some(&existing), &[]);
        let cols: Vec<(&str, Value, Value)> =
            c.iter().map(|c| (c.column.as_str(), c.old.clone(), c.new.clone())).collect();
        assert_eq!(
            cols,
            vec![
                ("notes", json!("x"), json!("y")),
                ("organization_fields.seats", json!(3), json!(4)),
                ("organization_fields.renewal", Value::Null, json!("2025-01-01")),
            ]
        );
        let created = changes(
            &map(
                json!({"name": "New", "notes": null, "organization_fields": {"tier": "pro", "seats": null}}),
            ),
            None,
            &[],
        );
        let cols: Vec<&str> = created.iter().map(|c| c.column.as_str()).collect();
        assert_eq!(cols, vec!["name", "organization_fields.tier"]);
        assert!(created.iter().all(|c| c.old.is_null()));
    }

    #[test]
    fn any_difference_is_a_change() {
        let existing =
            json!({"name": "Acme", "notes": "x", "organization_fields": {"tier": "pro"}});
        assert!(would_change_(&map(json!({"name": "ACME"})), &existing));
        assert!(would_change_(&map(json!({"notes": null})), &existing));
        assert!(would_change_(&map(json!({"organization_fields": {"tier": "free"}})), &existing));
        assert!(would_change_(&map(json!({"organization_fields": {"seats": 3}})), &existing));
        assert!(would_change_(&map(json!({"domain_names": ["b.com"]})), &existing));
    }
}
