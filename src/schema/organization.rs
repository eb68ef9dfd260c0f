//! One organization row, its cells already mapped to API column names, checked and turned into
//! the API's write shape. Every problem of the row is reported, not just the first.

use serde_json::{json, Map, Value};

use super::value::{check_cell, parse_bool, trim};
use super::{FieldDef, Schema};
use crate::input::mapping::ListSeparator;

/// What an empty cell means (`--empty-cells`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyCells {
    /// Leave the value as it is: the key is not sent.
    Keep,
    /// Clear the value: null, or an empty list.
    Clear,
}

/// One problem in one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// The API column name (`name`, `organization_fields.tier`).
    pub column: String,
    /// What is wrong, naming the value.
    pub reason: String,
}

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.column, self.reason)
    }
}

/// A checked organization row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgPayload {
    /// The API write shape: `{"name": …, "organization_fields": {…}, …}`.
    pub body: Map<String, Value>,
    /// `id` when the row names one.
    pub id: Option<u64>,
    /// The trimmed name, if any.
    pub name: Option<String>,
    /// The trimmed external id, if any.
    pub external_id: Option<String>,
}

impl OrgPayload {
    /// What the report calls this row: its external id, else its name, else its id.
    pub fn key(&self) -> String {
        self.external_id
            .clone()
            .or_else(|| self.name.clone())
            .or_else(|| self.id.map(|i| i.to_string()))
            .unwrap_or_default()
    }
}

/// The columns an organization row may have besides `organization_fields.<key>`.
pub const STANDARD_COLUMNS: &[&str] = &[
    "name",
    "external_id",
    "domain_names",
    "tags",
    "details",
    "notes",
    "group_id",
    "shared_tickets",
    "shared_comments",
    "id",
];

/// The prefix of custom field columns.
pub const FIELD_PREFIX: &str = "organization_fields.";

/// Suggests the closest of `candidates` to `wanted`, if any is close enough to be a typo.
pub fn closest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(&wanted.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(wanted.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// What a column is, decided once per file so each row's cells are checked without looking
/// anything up.
#[derive(Debug, Clone)]
enum Kind<'s> {
    Name,
    ExternalId,
    /// `domain_names`, `tags`.
    List,
    /// `details`, `notes`: kept as written.
    Text,
    GroupId,
    /// `shared_tickets`, `shared_comments`.
    Shared,
    Id,
    /// A custom field of the account.
    Field(&'s FieldDef),
    /// `organization_fields.<key>` the account does not have: the message, with a suggestion.
    UnknownField(String),
    /// Not an organization column at all.
    Foreign,
}

/// One column of an organization file, resolved against the account's fields.
#[derive(Debug, Clone)]
pub struct OrgColumn<'s> {
    /// The API column name (`name`, `organization_fields.tier`).
    name: &'s str,
    kind: Kind<'s>,
    separator: ListSeparator,
}

impl<'s> OrgColumn<'s> {
    /// Resolves the API column `name` (lists split by `separator`) against `schema`.
    pub fn resolve(name: &'s str, separator: ListSeparator, schema: &'s Schema) -> OrgColumn<'s> {
        let kind = match name {
            "name" => Kind::Name,
            "external_id" => Kind::ExternalId,
            "domain_names" | "tags" => Kind::List,
            "details" | "notes" => Kind::Text,
            "group_id" => Kind::GroupId,
            "shared_tickets" | "shared_comments" => Kind::Shared,
            "id" => Kind::Id,
            other => match other.strip_prefix(FIELD_PREFIX) {
                Some(key) => match schema.get(key) {
                    Some(def) => Kind::Field(def),
                    None => {
                        let hint = match closest(key, schema.keys()) {
                            Some(c) => format!(" (did you mean '{FIELD_PREFIX}{c}'?)"),
                            None => String::new(),
                        };
                        Kind::UnknownField(format!(
                            "the account has no organization field '{key}'{hint}"
                        ))
                    }
                },
                None => Kind::Foreign,
            },
        };
        OrgColumn { name, kind, separator }
    }
}

/// Checks one row. `cells` pairs each resolved column with its cell. `require_name` is true
/// when the row may create an organization. With `build` false (`zdbulk validate`) the row is
/// checked but no payload is built, and a valid row allocates nothing.
pub fn check_row<'c, 's: 'c>(
    cells: impl IntoIterator<Item = (&'c OrgColumn<'s>, &'c str)>,
    empty: EmptyCells,
    require_name: bool,
    build: bool,
) -> Result<OrgPayload, Vec<CellError>> {
    let mut out = OrgPayload::default();
    let mut fields = Map::new();
    let mut errors = Vec::new();
    let mut error = |column: &str, reason: String| {
        errors.push(CellError { column: column.to_string(), reason })
    };
    let mut named = false;
    for (col, raw) in cells {
        let column = col.name;
        let trimmed = trim(raw);
        if trimmed.is_empty() {
            if empty == EmptyCells::Keep || !build {
                continue;
            }
            match &col.kind {
                // `name` and `id` cannot be cleared: they identify the row.
                Kind::Name | Kind::Id => {}
                Kind::Field(def) => {
                    fields.insert(def.key.clone(), Value::Null);
                }
                Kind::UnknownField(_) | Kind::Foreign => {}
                Kind::List => {
                    out.body.insert(column.to_string(), json!([]));
                }
                _ => {
                    out.body.insert(column.to_string(), Value::Null);
                }
            }
            continue;
        }
        match &col.kind {
            Kind::Name => {
                if trimmed.contains('|') {
                    error(
                        column,
                        format!("'{trimmed}' contains '|', which Zendesk does not allow in names"),
                    );
                } else {
                    named = true;
                    if build {
                        out.name = Some(trimmed.to_string());
                        out.body.insert("name".into(), json!(trimmed));
                    }
                }
            }
            Kind::ExternalId => {
                if build {
                    out.external_id = Some(trimmed.to_string());
                    out.body.insert("external_id".into(), json!(trimmed));
                }
            }
            Kind::List => {
                if build {
                    let items: Vec<&str> = col.separator.split(trimmed);
                    out.body.insert(column.to_string(), json!(items));
                }
            }
            Kind::Text => {
                if build {
                    out.body.insert(column.to_string(), json!(raw));
                }
            }
            Kind::GroupId => match trimmed.parse::<u64>() {
                Ok(id) if build => {
                    out.body.insert("group_id".into(), json!(id));
                }
                Ok(_) => {}
                Err(_) => error(column, format!("'{trimmed}' is not a group id (a whole number)")),
            },
            Kind::Shared => match parse_bool(trimmed) {
                Some(b) if build => {
                    out.body.insert(column.to_string(), json!(b));
                }
                Some(_) => {}
                None => error(column, format!("'{trimmed}' is not true/false, yes/no or 1/0")),
            },
            Kind::Id => match trimmed.parse::<u64>() {
                Ok(id) if id > 0 => out.id = Some(id),
                _ => error(column, format!("'{trimmed}' is not an organization id")),
            },
            Kind::Field(def) => match check_cell(def, raw, col.separator) {
                Ok(v) if build => {
                    fields.insert(def.key.clone(), v.into_json(def));
                }
                Ok(_) => {}
                Err(reason) => error(column, reason),
            },
            Kind::UnknownField(message) => error(column, message.clone()),
            Kind::Foreign => error(column, "is not an organization column".to_string()),
        }
    }
    if require_name && !named && out.id.is_none() {
        error("name", "is required to create an organization".to_string());
    }
    if !fields.is_empty() {
        out.body.insert("organization_fields".into(), Value::Object(fields));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{FieldOption, FieldType};

    const SEPS: ListSeparator = ListSeparator::Any;

    /// Checks `cells` (API column, cell) the way a file with those columns is checked.
    fn check(
        cells: &[(&str, &str, ListSeparator)],
        empty: EmptyCells,
        build: bool,
    ) -> Result<OrgPayload, Vec<CellError>> {
        let schema = schema();
        let columns: Vec<OrgColumn> =
            cells.iter().map(|&(c, _, sep)| OrgColumn::resolve(c, sep, &schema)).collect();
        check_row(columns.iter().zip(cells.iter().map(|c| c.1)), empty, true, build)
    }

    fn schema() -> Schema {
        let tier = FieldDef::build(
            "tier".into(),
            "Tier".into(),
            FieldType::Dropdown,
            true,
            None,
            None,
            vec![
                FieldOption { name: "Free".into(), value: "free".into() },
                FieldOption { name: "Pro".into(), value: "pro".into() },
            ],
        )
        .unwrap();
        let seats = FieldDef::build(
            "seats".into(),
            "Seats".into(),
            FieldType::Integer,
            true,
            None,
            None,
            vec![],
        )
        .unwrap();
        Schema::new([tier, seats])
    }

    #[test]
    fn builds_the_api_shape() {
        let cells = [
            ("name", " Acme ", SEPS),
            ("external_id", "A-1", SEPS),
            ("domain_names", "acme.com|acme.io", SEPS),
            ("tags", "vip gold", SEPS),
            ("shared_tickets", "YES", SEPS),
            ("organization_fields.tier", "Pro", SEPS),
            ("organization_fields.seats", "12", SEPS),
        ];
        let p = check(&cells, EmptyCells::Keep, true).unwrap();
        assert_eq!(
            Value::Object(p.body.clone()),
            json!({"name": "Acme", "external_id": "A-1", "domain_names": ["acme.com", "acme.io"],
                   "tags": ["vip", "gold"], "shared_tickets": true,
                   "organization_fields": {"tier": "pro", "seats": 12}})
        );
        assert_eq!(p.key(), "A-1");
    }

    #[test]
    fn reports_every_problem_with_column_and_value() {
        let cells = [
            ("name", "A|B", SEPS),
            ("organization_fields.tier", "Gold", SEPS),
            ("organization_fields.seatz", "3", SEPS),
            ("group_id", "Support", SEPS),
        ];
        let errs = check(&cells, EmptyCells::Keep, true).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "name: 'A|B' contains '|', which Zendesk does not allow in names",
                "organization_fields.tier: 'Gold' is not an option (options: free, pro)",
                "organization_fields.seatz: the account has no organization field 'seatz' (did you mean 'organization_fields.seats'?)",
                "group_id: 'Support' is not a group id (a whole number)",
                "name: is required to create an organization",
            ]
        );
    }

    #[test]
    fn empty_cells_keep_or_clear() {
        let cells = [
            ("name", "Acme", SEPS),
            ("notes", "", SEPS),
            ("tags", " ", SEPS),
            ("organization_fields.tier", "", SEPS),
        ];
        let kept = check(&cells, EmptyCells::Keep, true).unwrap();
        assert_eq!(Value::Object(kept.body), json!({"name": "Acme"}));
        let cleared = check(&cells, EmptyCells::Clear, true).unwrap();
        assert_eq!(
            Value::Object(cleared.body),
            json!({"name": "Acme", "notes": null, "tags": [], "organization_fields": {"tier": null}})
        );
    }

    #[test]
    fn closest_suggests_only_near_misses() {
        let cols = ["external_id", "name", "notes"];
        assert_eq!(closest("extrnal_id", cols.iter().copied()), Some("external_id"));
        assert_eq!(closest("zzzzzz", cols.iter().copied()), None);
    }
}
