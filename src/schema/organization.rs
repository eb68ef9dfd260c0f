//! One organization row, its cells already mapped to API column names, checked and turned into
//! the API's write shape. Every problem of the row is reported, not just the first.

use serde_json::{json, Map, Value};

use super::value::{parse_bool, parse_cell};
use super::Schema;
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

/// Adds a value to the payload being built; builds nothing when only checking.
fn put(map: &mut Map<String, Value>, build: bool, key: &str, value: impl FnOnce() -> Value) {
    if build {
        map.insert(key.to_string(), value());
    }
}

/// Checks one row. `cells` pairs each API column name with the cell and the separators its
/// lists use. `require_name` is true when the row may create an organization. With `build`
/// false (`zdbulk validate`) the row is checked but no payload is built.
pub fn check_row(
    cells: &[(&str, &str, ListSeparator)],
    schema: &Schema,
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
    for &(column, raw, seps) in cells {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            match empty {
                EmptyCells::Keep => {}
                // `name` and `id` cannot be cleared: they identify the row.
                EmptyCells::Clear if column == "name" || column == "id" => {}
                EmptyCells::Clear => {
                    let cleared = match column {
                        "domain_names" | "tags" => json!([]),
                        _ => Value::Null,
                    };
                    match column.strip_prefix(FIELD_PREFIX) {
                        Some(key) => {
                            put(&mut fields, build, key, || Value::Null);
                        }
                        None => {
                            put(&mut out.body, build, column, || cleared);
                        }
                    }
                }
            }
            continue;
        }
        match column {
            "name" => {
                if trimmed.contains('|') {
                    error(
                        column,
                        format!("'{trimmed}' contains '|', which Zendesk does not allow in names"),
                    );
                } else {
                    out.name = Some(trimmed.to_string());
                    put(&mut out.body, build, "name", || json!(trimmed));
                }
            }
            "external_id" => {
                out.external_id = Some(trimmed.to_string());
                put(&mut out.body, build, "external_id", || json!(trimmed));
            }
            "domain_names" | "tags" => {
                let items: Vec<&str> = seps.split(trimmed);
                put(&mut out.body, build, column, || json!(items));
            }
            "details" | "notes" => {
                put(&mut out.body, build, column, || json!(raw));
            }
            "group_id" => match trimmed.parse::<u64>() {
                Ok(id) => {
                    put(&mut out.body, build, "group_id", || json!(id));
                }
                Err(_) => error(column, format!("'{trimmed}' is not a group id (a whole number)")),
            },
            "shared_tickets" | "shared_comments" => match parse_bool(trimmed) {
                Some(b) => {
                    put(&mut out.body, build, column, || json!(b));
                }
                None => error(column, format!("'{trimmed}' is not true/false, yes/no or 1/0")),
            },
            "id" => match trimmed.parse::<u64>() {
                Ok(id) if id > 0 => out.id = Some(id),
                _ => error(column, format!("'{trimmed}' is not an organization id")),
            },
            other => match other.strip_prefix(FIELD_PREFIX) {
                Some(key) => match schema.get(key) {
                    Some(def) => match parse_cell(def, raw, seps) {
                        Ok(v) => {
                            put(&mut fields, build, key, || v);
                        }
                        Err(reason) => error(column, reason),
                    },
                    None => {
                        let hint = match closest(key, schema.keys()) {
                            Some(c) => format!(" (did you mean '{FIELD_PREFIX}{c}'?)"),
                            None => String::new(),
                        };
                        error(
                            column,
                            format!("the account has no organization field '{key}'{hint}"),
                        );
                    }
                },
                None => error(other, "is not an organization column".to_string()),
            },
        }
    }
    if require_name && out.name.is_none() && out.id.is_none() {
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
    use crate::schema::{FieldDef, FieldOption, FieldType};

    const SEPS: ListSeparator = ListSeparator::Any;

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
        let p = check_row(&cells, &schema(), EmptyCells::Keep, true, true).unwrap();
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
        let errs = check_row(&cells, &schema(), EmptyCells::Keep, true, true).unwrap_err();
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
        let kept = check_row(&cells, &schema(), EmptyCells::Keep, true, true).unwrap();
        assert_eq!(Value::Object(kept.body), json!({"name": "Acme"}));
        let cleared = check_row(&cells, &schema(), EmptyCells::Clear, true, true).unwrap();
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
