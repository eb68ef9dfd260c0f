//! The columns of an export, named and written exactly as `import` reads them: standard
//! fields first (`id` leading, so an edited file updates by id), then one custom field column
//! per active definition in the account's order, each record value in a form import accepts.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::usage_error;
use crate::resource::Resource;
use crate::schema::row::closest;
use crate::schema::FieldType;

/// How a column's cells are typed in XLSX (CSV holds text only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text, written as a string (never a formula).
    Text,
    /// A Zendesk id: text, so Excel cannot round it.
    Id,
    /// A number.
    Number,
    /// true or false.
    Bool,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// Where a column's value comes from in a record.
#[derive(Debug, Clone)]
enum Source {
    /// A scalar field of the record.
    Scalar(&'static str),
    /// A list field, written `a|b`.
    List(&'static str),
    /// A user's default organization, by external id (or name when it has none).
    DefaultOrg,
    /// A user's other organizations, `|`-separated.
    OtherOrgs,
    /// A custom field of this type.
    Field(String, FieldType),
    /// A definition's own value, written only for the types import takes it on
    /// (`regexp_for_validation` on regexp fields, `tag` on checkboxes).
    Definition(&'static str),
    /// A definition's options: `Label=tag; Other=other_tag`.
    Options,
}

/// One column of the export.
#[derive(Debug, Clone)]
pub struct Column {
    /// The header: import's column name.
    pub name: String,
    /// How XLSX types its cells.
    pub kind: CellKind,
    source: Source,
}

impl Column {
    /// Whether the column needs the user's organizations looked up.
    pub fn needs_organizations(&self) -> bool {
        matches!(self.source, Source::DefaultOrg | Source::OtherOrgs)
    }
}

use CellKind::{Bool, Id, Text};

/// Organizations' standard columns, as `docs/importing.md` names them.
const ORGANIZATION_COLUMNS: &[(&str, CellKind, bool)] = &[
    ("id", Id, false),
    ("name", Text, false),
    ("external_id", Text, false),
    ("domain_names", Text, true),
    ("tags", Text, true),
    ("details", Text, false),
    ("notes", Text, false),
    ("group_id", Id, false),
    ("shared_tickets", Bool, false),
    ("shared_comments", Bool, false),
];

/// Users' standard columns (`organization` and `organizations` are placed by
/// [`available`]); `email` is left out of nothing: it is how people are found.
const USER_COLUMNS: &[(&str, CellKind, bool)] = &[
    ("id", Id, false),
    ("name", Text, false),
    ("email", Text, false),
    ("external_id", Text, false),
    ("role", Text, false),
    ("phone", Text, false),
    ("tags", Text, true),
    ("details", Text, false),
    ("notes", Text, false),
    ("time_zone", Text, false),
    ("locale", Text, false),
    ("verified", Bool, false),
    ("shared_phone_number", Bool, false),
    ("ticket_restriction", Text, false),
    ("custom_role_id", Id, false),
];

/// The columns of a definitions file, as `import organization-fields` and `validate --fields`
/// read them.
pub fn definition_columns() -> Vec<Column> {
    let col = |name: &'static str, kind: CellKind, source: Source| Column {
        name: name.to_string(),
        kind,
        source,
    };
    vec![
        col("key", Text, Source::Scalar("key")),
        col("title", Text, Source::Scalar("title")),
        col("type", Text, Source::Scalar("type")),
        col("description", Text, Source::Scalar("description")),
        col("position", CellKind::Number, Source::Scalar("position")),
        col("active", Bool, Source::Scalar("active")),
        col("regexp_for_validation", Text, Source::Definition("regexp_for_validation")),
        col("tag", Text, Source::Definition("tag")),
        col("options", Text, Source::Options),
    ]
}

/// A definition's value of `key`, left empty where import would refuse it: a pattern on a
/// field that is not a regexp field (Zendesk gives date fields one), a tag on a field that is
/// not a checkbox.
fn definition_value(def: &Value, key: &str) -> String {
    let kind = def.get("type").and_then(Value::as_str).and_then(FieldType::parse);
    match (key, kind) {
        ("regexp_for_validation", Some(FieldType::Regexp)) | ("tag", Some(FieldType::Checkbox)) => {
            scalar(def.get(key))
        }
        _ => String::new(),
    }
}

/// A definition's options as its file writes them.
fn options_cell(def: &Value) -> String {
    let Some(options) = def.get("custom_field_options").and_then(Value::as_array) else {
        return String::new();
    };
    let text =
        |o: &Value, k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let parts: Vec<String> =
        options.iter().map(|o| format!("{}={}", text(o, "name"), text(o, "value"))).collect();
    parts.join("; ")
}

/// A custom field definition as the export needs it: key, type, active.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// The key.
    pub key: String,
    /// The type (unknown types are written as text).
    pub field_type: FieldType,
    /// Inactive fields are left out: import refuses to write them.
    pub active: bool,
}

impl FieldInfo {
    /// Reads a definition from the API's JSON object.
    pub fn from_api(v: &Value) -> Option<FieldInfo> {
        let key = v.get("key").and_then(Value::as_str).filter(|k| !k.is_empty())?;
        let raw = v.get("type").and_then(Value::as_str).unwrap_or("text");
        Some(FieldInfo {
            key: key.to_string(),
            field_type: FieldType::parse(raw).unwrap_or(FieldType::Text),
            active: v.get("active").and_then(Value::as_bool).unwrap_or(true),
        })
    }
}

fn std_column(name: &'static str, kind: CellKind, list: bool) -> Column {
    let source = if list { Source::List(name) } else { Source::Scalar(name) };
    Column { name: name.to_string(), kind, source }
}

/// Every column an export of `resource` can have, in the default order.
pub fn available(resource: Resource, fields: &[FieldInfo]) -> Vec<Column> {
    let (standard, prefix) = match resource {
        Resource::Users => (USER_COLUMNS, "user_fields"),
        _ => (ORGANIZATION_COLUMNS, "organization_fields"),
    };
    let mut out: Vec<Column> = Vec::new();
    for &(name, kind, list) in standard {
        out.push(std_column(name, kind, list));
        // A user's organizations follow the phone, as the import's column table lists them.
        if resource == Resource::Users && name == "phone" {
            out.push(Column {
                name: "organization".into(),
                kind: Text,
                source: Source::DefaultOrg,
            });
            out.push(Column {
                name: "organizations".into(),
                kind: Text,
                source: Source::OtherOrgs,
            });
        }
    }
    for f in fields.iter().filter(|f| f.active) {
        let kind = match f.field_type {
            FieldType::Checkbox => Bool,
            FieldType::Date => CellKind::Date,
            FieldType::Integer | FieldType::Decimal => CellKind::Number,
            FieldType::Lookup => Id,
            _ => Text,
        };
        out.push(Column {
            name: format!("{prefix}.{}", f.key),
            kind,
            source: Source::Field(f.key.clone(), f.field_type),
        });
    }
    out
}

/// The columns `--columns` names, in its order; an unknown or repeated name is a usage error
/// naming the closest known column.
pub fn select(all: Vec<Column>, wanted: Option<&[String]>) -> anyhow::Result<Vec<Column>> {
    let Some(wanted) = wanted else { return Ok(all) };
    let mut out: Vec<Column> = Vec::new();
    for raw in wanted {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if out.iter().any(|c| c.name == name) {
            return Err(usage_error(format!("--columns names '{name}' twice")));
        }
        match all.iter().find(|c| c.name == name) {
            Some(c) => out.push(c.clone()),
            None => {
                let hint = match closest(name, all.iter().map(|c| c.name.as_str())) {
                    Some(near) => format!(" (did you mean '{near}'?)"),
                    None => {
                        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
                        format!(" (columns: {})", names.join(", "))
                    }
                };
                return Err(usage_error(format!("--columns: unknown column '{name}'{hint}")));
            }
        }
    }
    if out.is_empty() {
        return Err(usage_error("--columns names no column"));
    }
    Ok(out)
}

/// What names a user's organizations: each organization's label (external id, else name), and
/// each user's memberships.
#[derive(Debug, Default)]
pub struct Organizations {
    /// Organization id → its external id, or its name when it has none.
    pub labels: HashMap<u64, String>,
    /// User id → the organizations it belongs to, in membership order.
    pub members: HashMap<u64, Vec<u64>>,
}

/// A scalar JSON value as import reads it.
fn scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => list(items),
        Some(other) => other.to_string(),
    }
}

/// A list as import reads it: `a|b`.
fn list(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    parts.join("|")
}

/// A custom field value as import accepts it for the field's type.
fn field_value(v: Option<&Value>, field_type: FieldType) -> String {
    match (field_type, v) {
        // Zendesk reads an unset checkbox as false.
        (FieldType::Checkbox, None | Some(Value::Null)) => "false".into(),
        // `2020-08-19T00:00:00+00:00` is the day 2020-08-19.
        (FieldType::Date, Some(Value::String(s))) => {
            let b = s.as_bytes();
            if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && s.is_char_boundary(10) {
                s[..10].to_string()
            } else {
                s.clone()
            }
        }
        _ => scalar(v),
    }
}

/// The record's cells under `columns`, as import reads them (no formula guard yet: the
/// writer adds it).
pub fn cells(columns: &[Column], record: &Value, orgs: &Organizations) -> Vec<String> {
    columns
        .iter()
        .map(|c| match &c.source {
            Source::Scalar(key) => scalar(record.get(*key)),
            Source::List(key) => match record.get(*key) {
                Some(Value::Array(items)) => list(items),
                other => scalar(other),
            },
            Source::DefaultOrg => record
                .get("organization_id")
                .and_then(Value::as_u64)
                .and_then(|id| orgs.labels.get(&id).cloned())
                .unwrap_or_default(),
            Source::OtherOrgs => {
                let default = record.get("organization_id").and_then(Value::as_u64);
                let user = record.get("id").and_then(Value::as_u64).unwrap_or_default();
                let labels: Vec<&str> = orgs
                    .members
                    .get(&user)
                    .map(|ids| {
                        ids.iter()
                            .filter(|id| Some(**id) != default)
                            .filter_map(|id| orgs.labels.get(id).map(String::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                labels.join("|")
            }
            Source::Definition(key) => definition_value(record, key),
            Source::Options => options_cell(record),
            Source::Field(key, field_type) => {
                let family = if c.name.starts_with("user_fields.") {
                    "user_fields"
                } else {
                    "organization_fields"
                };
                field_value(record.get(family).and_then(|f| f.get(key.as_str())), *field_type)
            }
        })
        .collect()
}

/// The organization ids a user record names (default and memberships): the labels needed.
pub fn organization_ids(record: &Value, orgs: &Organizations) -> Vec<u64> {
    let mut ids: Vec<u64> =
        record.get("organization_id").and_then(Value::as_u64).into_iter().collect();
    if let Some(user) = record.get("id").and_then(Value::as_u64) {
        ids.extend(orgs.members.get(&user).into_iter().flatten().copied());
    }
    ids
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields() -> Vec<FieldInfo> {
        [
            json!({"key": "tier", "type": "dropdown"}),
            json!({"key": "seats", "type": "integer"}),
            json!({"key": "renewal", "type": "date"}),
            json!({"key": "partner", "type": "checkbox"}),
            json!({"key": "products", "type": "multiselect"}),
            json!({"key": "old", "type": "text", "active": false}),
        ]
        .iter()
        .filter_map(FieldInfo::from_api)
        .collect()
    }

    #[test]
    fn organization_columns_start_with_id_and_leave_inactive_fields_out() {
        let cols = available(Resource::Organizations, &fields());
        let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names[0], "id");
        assert!(names.contains(&"organization_fields.tier"));
        assert!(!names.contains(&"organization_fields.old"));
        let record = json!({"id": 7, "name": "Acme", "tags": ["a", "b"], "domain_names": [],
            "shared_tickets": false, "notes": null, "organization_fields": {"tier": "pro",
            "seats": 12, "renewal": "2024-01-02T00:00:00+00:00", "partner": null,
            "products": ["talk", "chat"]}});
        let row = cells(&cols, &record, &Organizations::default());
        let get = |n: &str| row[names.iter().position(|c| *c == n).unwrap()].as_str();
        assert_eq!(get("id"), "7");
        assert_eq!(get("tags"), "a|b");
        assert_eq!(get("domain_names"), "");
        assert_eq!(get("shared_tickets"), "false");
        assert_eq!(get("notes"), "");
        assert_eq!(get("organization_fields.seats"), "12");
        assert_eq!(get("organization_fields.renewal"), "2024-01-02");
        assert_eq!(get("organization_fields.partner"), "false");
        assert_eq!(get("organization_fields.products"), "talk|chat");
    }

    #[test]
    fn users_name_their_organizations_by_external_id_else_name() {
        let cols = select(
            available(Resource::Users, &[]),
            Some(&["id".into(), "organization".into(), "organizations".into()]),
        )
        .unwrap();
        let mut orgs = Organizations::default();
        orgs.labels.insert(1, "acme-1".into());
        orgs.labels.insert(2, "Globex".into());
        orgs.labels.insert(3, "ini-3".into());
        orgs.members.insert(9, vec![1, 2, 3]);
        let row = cells(&cols, &json!({"id": 9, "organization_id": 1}), &orgs);
        assert_eq!(row, vec!["9", "acme-1", "Globex|ini-3"]);
    }

    #[test]
    fn definitions_write_options_and_only_the_values_import_takes() {
        let cols = definition_columns();
        let tier = json!({"key": "tier", "title": "Tier", "type": "dropdown", "position": 2,
            "active": true, "description": null, "custom_field_options": [
            {"name": "Free", "value": "free"}, {"name": "Pro plan", "value": "pro"}]});
        assert_eq!(
            cells(&cols, &tier, &Organizations::default()),
            vec!["tier", "Tier", "dropdown", "", "2", "true", "", "", "Free=free; Pro plan=pro"]
        );
        let date = json!({"key": "d", "type": "date", "regexp_for_validation": "\\A\\d\\z"});
        assert_eq!(cells(&cols, &date, &Organizations::default())[6], "");
    }

    #[test]
    fn unknown_columns_name_the_closest() {
        let err =
            select(available(Resource::Organizations, &fields()), Some(&["extrnal_id".into()]))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--columns: unknown column 'extrnal_id' (did you mean 'external_id'?)"
        );
        let err = select(
            available(Resource::Organizations, &fields()),
            Some(&["organization_fields.teir".into()]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean 'organization_fields.tier'"), "{err}");
    }
}
