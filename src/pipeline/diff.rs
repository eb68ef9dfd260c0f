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
    let without_checkbox_tags = |list: &[Value]| -> Vec<Value> {
        list.iter()
            .filter(|t| {
                !t.as_str().is_some_and(|t| checkbox_tags.iter().any(|c| c.eq_ignore_ascii_case(t)))
            })
            .cloned()
            .collect()
    };
    for (key, want) in payload {
        let have = existing.get(key);
        let same = match (key.as_str(), want) {
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
            ("organization_fields" | "user_fields", Value::Object(fields)) => {
                let stored = have.and_then(Value::as_object);
                fields.iter().all(|(k, v)| same_scalar(v, stored.and_then(|s| s.get(k))))
            }
            (_, w) => same_scalar(w, have),
        };
        if !same {
            return true;
        }
    }
    false
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
