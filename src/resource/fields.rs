//! Field definitions (organization fields and user fields): their columns (`design.md` §2), the
//! key rules, and the one trap of this API — an update of a dropdown or multiselect that omits
//! options deletes them and their values from every record (`zendesk-api.md` §6) — handled by
//! merging the file's options with the account's: nothing is removed unless `--prune-options`.

use serde_json::{json, Map, Value};

use super::{Facts, Layer, Mode, Resource, UpsertStyle};
use crate::schema::row::{CellError, DefColumn, Kind, Payload};

/// The layer of one family of field definitions: both families are alike but for their facts.
pub struct Fields(&'static Facts);

/// The organization fields layer.
pub static ORGANIZATION_FIELDS: Fields = Fields(&ORGANIZATION_FACTS);
/// The user fields layer.
pub static USER_FIELDS: Fields = Fields(&USER_FACTS);

const ORGANIZATION_FACTS: Facts = Facts {
    resource: Resource::OrganizationFields,
    plural: "organization_fields",
    singular: "organization field",
    fields_key: "",
    unique_columns: &["key"],
    key_columns: &["key"],
    upsert: UpsertStyle::LookupThenWrite,
    external_key: "key",
    search_column: "key",
    refs: None,
    welcome_email: false,
};

const USER_FACTS: Facts = Facts {
    resource: Resource::UserFields,
    plural: "user_fields",
    singular: "user field",
    ..ORGANIZATION_FACTS
};

/// An option the account has that an update would remove (`--prune-options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Its label.
    pub name: String,
    /// Its tag: the value records hold.
    pub value: String,
}

/// What the fields of both families share.
fn column(name: &str) -> Option<Kind<'static>> {
    Some(match name {
        "key" => Kind::Definition(DefColumn::Key),
        "type" => Kind::Definition(DefColumn::Type),
        "options" => Kind::Definition(DefColumn::Options),
        "regexp_for_validation" => Kind::Definition(DefColumn::Pattern),
        "position" => Kind::Definition(DefColumn::Position),
        "title" | "description" => Kind::Text,
        "tag" => Kind::Word,
        "active" => Kind::Bool,
        _ => return None,
    })
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// Whole-row rules: a key to create by, options only where a type has them, a pattern only on
/// a regexp field.
fn row_rules(p: &Payload, mode: Mode, errors: &mut Vec<CellError>) {
    if mode != Mode::Delete && !p.seen.external_id && !p.seen.id {
        errors.push(CellError { column: "key".into(), reason: "is required".into() });
    }
    let kind = text(&Value::Object(p.body.clone()), "type").unwrap_or("text").to_string();
    let has_options = p.body.get("custom_field_options").is_some_and(|o| o != &json!([]));
    let options_refused = errors.iter().any(|e| e.column == "options");
    match (kind.as_str(), has_options) {
        _ if options_refused => {}
        ("dropdown" | "multiselect", false) if mode != Mode::Update && mode != Mode::Delete => {
            errors.push(CellError {
                column: "options".into(),
                reason: format!(
                    "a {kind} field needs its options: `Label=tag; Other label=other_tag`"
                ),
            })
        }
        ("dropdown" | "multiselect", _) => {}
        (_, true) => errors.push(CellError {
            column: "options".into(),
            reason: format!("a {kind} field has no options (only dropdown and multiselect do)"),
        }),
        _ => {}
    }
    if kind != "regexp" && p.body.get("regexp_for_validation").is_some_and(|v| !v.is_null()) {
        errors.push(CellError {
            column: "regexp_for_validation".into(),
            reason: format!("only a regexp field has a pattern, not a {kind} field"),
        });
    }
    if kind == "regexp" && mode == Mode::Create && p.body.get("regexp_for_validation").is_none() {
        errors.push(CellError {
            column: "regexp_for_validation".into(),
            reason: "a regexp field needs its pattern".into(),
        });
    }
}

/// The options of a definition as (label, tag) pairs.
fn options(v: Option<&Value>) -> Vec<(String, String, Option<u64>)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|o| {
                    let s = |k| text(o, k).unwrap_or_default().to_string();
                    (s("name"), s("value"), o.get("id").and_then(Value::as_u64))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A row's definition against the account's (`existing`): a type change is refused; options
/// are merged — the account's keep their ids, a label changed keeps its tag, new ones are added,
/// and one the file leaves out stays unless `prune` (then it is returned, to be named). The
/// body is left with only what differs in its options (none when they match).
pub fn against_existing(
    body: &mut Map<String, Value>,
    existing: &Value,
    prune: bool,
) -> Result<Vec<Removed>, String> {
    let had = text(existing, "type").unwrap_or("text");
    if let Some(want) = body.get("type").and_then(Value::as_str) {
        if want != had {
            return Err(format!(
                "changing the type of an existing field from {had} to {want} is refused: Zendesk cannot convert its values; create a field with another key instead"
            ));
        }
    }
    // The type is the account's; sending it again changes nothing.
    body.remove("type");
    let Some(wanted) = body.get("custom_field_options") else { return Ok(vec![]) };
    let wanted = options(Some(wanted));
    let current = options(existing.get("custom_field_options"));
    let mut merged: Vec<Value> = Vec::with_capacity(wanted.len() + current.len());
    for (name, value, _) in &wanted {
        let id = current.iter().find(|c| &c.1 == value).and_then(|c| c.2);
        merged.push(match id {
            Some(id) => json!({"id": id, "name": name, "value": value}),
            None => json!({"name": name, "value": value}),
        });
    }
    let mut removed = Vec::new();
    for (name, value, id) in &current {
        if wanted.iter().any(|w| &w.1 == value) {
            continue;
        }
        if prune {
            removed.push(Removed { name: name.clone(), value: value.clone() });
        } else {
            merged.push(json!({"id": id, "name": name, "value": value}));
        }
    }
    let same = merged.len() == current.len()
        && merged.iter().zip(&current).all(|(m, c)| {
            text(m, "name") == Some(c.0.as_str()) && text(m, "value") == Some(c.1.as_str())
        });
    if same {
        body.remove("custom_field_options");
    } else {
        body.insert("custom_field_options".into(), Value::Array(merged));
    }
    Ok(removed)
}

impl Layer for Fields {
    fn facts(&self) -> &'static Facts {
        self.0
    }
    fn column(&self, name: &str) -> Option<Kind<'static>> {
        column(name)
    }
    fn row_rules(&self, p: &Payload, mode: Mode, errors: &mut Vec<CellError>) {
        row_rules(p, mode, errors)
    }
    fn against_existing(
        &self,
        body: &mut Map<String, Value>,
        existing: &Value,
        prune: bool,
    ) -> Result<Vec<Removed>, String> {
        against_existing(body, existing, prune)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const TIER: &str = r#"{"id": 5, "key": "tier", "type": "dropdown", "custom_field_options": [
        {"id": 11, "name": "Free", "value": "free"}, {"id": 12, "name": "Pro", "value": "pro"},
        {"id": 13, "name": "Gold", "value": "gold"}]}"#;

    #[test]
    fn an_option_left_out_is_kept_with_its_id_and_a_new_label_keeps_its_tag() {
        let existing: Value = serde_json::from_str(TIER).unwrap();
        let mut body = map(json!({"key": "tier", "type": "dropdown", "custom_field_options": [
            {"name": "Free plan", "value": "free"}, {"name": "Pro", "value": "pro"},
            {"name": "Enterprise", "value": "enterprise"}]}));
        let removed = against_existing(&mut body, &existing, false).unwrap();
        assert!(removed.is_empty());
        assert_eq!(
            body["custom_field_options"],
            json!([{"id": 11, "name": "Free plan", "value": "free"},
                   {"id": 12, "name": "Pro", "value": "pro"},
                   {"name": "Enterprise", "value": "enterprise"},
                   {"id": 13, "name": "Gold", "value": "gold"}])
        );
        assert!(body.get("type").is_none());
    }

    #[test]
    fn prune_names_what_it_removes_and_the_same_options_send_none() {
        let existing: Value = serde_json::from_str(TIER).unwrap();
        let mut body = map(json!({"custom_field_options": [
            {"name": "Free", "value": "free"}, {"name": "Pro", "value": "pro"}]}));
        let removed = against_existing(&mut body, &existing, true).unwrap();
        assert_eq!(removed, vec![Removed { name: "Gold".into(), value: "gold".into() }]);
        assert_eq!(body["custom_field_options"].as_array().unwrap().len(), 2);
        let mut same = map(json!({"custom_field_options": [{"name": "Free", "value": "free"},
            {"name": "Pro", "value": "pro"}, {"name": "Gold", "value": "gold"}]}));
        against_existing(&mut same, &existing, false).unwrap();
        assert!(same.get("custom_field_options").is_none(), "nothing to send");
    }

    #[test]
    fn a_type_change_is_refused() {
        let existing: Value = serde_json::from_str(TIER).unwrap();
        let mut body = map(json!({"type": "text"}));
        let err = against_existing(&mut body, &existing, false).unwrap_err();
        assert!(err.starts_with("changing the type of an existing field from dropdown to text"));
    }
}
