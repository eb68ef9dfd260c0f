//! An organization write: type-checked when the request arrives, validated against the
//! account when it is carried out (at once for single calls, when the job runs for bulk ones).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use super::super::errors::ApiError;
use super::super::fields::FieldTable;
use super::super::values::{self, Checked};
use super::OrgTable;

/// A write to an organization after type checks: `Some` for each key the request carried.
#[derive(Debug, Default, Clone)]
pub struct OrgWrite {
    /// The name as sent (trimmed later; `null` reads as blank).
    pub name: Option<String>,
    /// The external id (`None` inside clears it).
    pub external_id: Option<Option<String>>,
    /// `shared_tickets`.
    pub shared_tickets: Option<bool>,
    /// `shared_comments`.
    pub shared_comments: Option<bool>,
    /// Replaces the whole list.
    pub domain_names: Option<Vec<String>>,
    /// `details`.
    pub details: Option<Option<String>>,
    /// `notes`.
    pub notes: Option<Option<String>>,
    /// `group_id`.
    pub group_id: Option<Option<u64>>,
    /// Replaces the whole list.
    pub tags: Option<Vec<String>>,
    /// Custom field values to change (merged into the stored ones).
    pub fields: Option<Map<String, Value>>,
    /// Keys that are not attributes, as `prefix.key` (for the warning header).
    pub unpermitted: Vec<String>,
}

/// A value of the wrong type: Zendesk refuses these at the door with a 400, before any job.
// UNVERIFIED: recorded (zenpy#578) for users/create_many `id: null` only; the sandbox applies
// the same 400 to every wrongly typed organization attribute, refusing the whole call.
#[derive(Debug, Clone, PartialEq)]
pub struct BadAttribute {
    /// `organization.group_id`, `organizations.3.tags`, ...
    pub attribute: String,
    /// "an integer", "a boolean", ...
    pub expected: &'static str,
}

impl BadAttribute {
    /// The 400 answer, in the envelope of Zendesk's parameter checks (zenpy#578);
    /// `endpoint` is e.g. `api/v2/organizations/create_many`.
    pub fn into_error(self, endpoint: &str) -> ApiError {
        let attr = self.attribute;
        ApiError::raw(
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {
                    "title": "Invalid attribute",
                    "message": format!(
                        "You passed an invalid value for the {attr} attribute. Invalid parameter: \
                         {attr} must be {} from {endpoint}",
                        self.expected
                    )
                }})),
            )
                .into_response(),
        )
    }
}

/// One validation problem: the attribute it is filed under and Zendesk's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// `name`, `external_id`, `organization_fields`.
    pub attribute: &'static str,
    /// "Name: Acme has already been taken".
    pub description: String,
    /// `DuplicateValue`, `BlankValue`, `InvalidValue`.
    pub error: &'static str,
}

/// The 422 `RecordInvalid` of a single call, problems grouped by attribute.
pub fn invalid(problems: &[Problem]) -> ApiError {
    let mut details = Map::new();
    for p in problems {
        let entry = details.entry(p.attribute).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(json!({"description": p.description, "error": p.error}));
        }
    }
    ApiError::RecordInvalid(details)
}

/// The `details` string of a failed job item. Recorded for a duplicate name only:
/// "Name:  <name> has already been taken", with two spaces after the colon.
// UNVERIFIED: other problems are assumed to follow the same pattern (one extra space after
// the attribute's colon), joined with ", " when there are several.
pub fn job_details(problems: &[Problem]) -> String {
    problems.iter().map(|p| p.description.replacen(": ", ":  ", 1)).collect::<Vec<_>>().join(", ")
}

/// A string, or a number written as one (external ids are often numeric in spreadsheets).
// UNVERIFIED: whether Zendesk coerces numbers to strings for `name` and `external_id`;
// accepting them is the reading under which spreadsheet ids still import.
fn string_like(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A list of strings: an array, or one string of space- or comma-separated words.
// UNVERIFIED: the single-string form is documented for ticket tags; the sandbox accepts it
// for organization tags and domain names too. Items are trimmed and deduplicated, case kept.
fn string_list(v: &Value) -> Option<Vec<String>> {
    let raw: Vec<String> = match v {
        Value::Null => Vec::new(),
        Value::String(s) => s.split([' ', ',']).map(str::to_string).collect(),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<_>>()?
        }
        _ => return None,
    };
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for item in raw {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    Some(out)
}

fn optional_text(v: &Value) -> Option<Option<String>> {
    match v {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => None,
    }
}

/// Type-checks one organization object. `prefix` names it in errors (`organization`,
/// `organizations.4`); keys in `matching` (such as `id` in update_many) are neither
/// attributes nor warnings.
pub fn parse(obj: &Value, prefix: &str, matching: &[&str]) -> Result<OrgWrite, BadAttribute> {
    let bad = |key: &str, expected| BadAttribute { attribute: format!("{prefix}.{key}"), expected };
    let map = match obj {
        Value::Object(map) => map,
        Value::Null => return Ok(OrgWrite::default()),
        _ => return Err(BadAttribute { attribute: prefix.to_string(), expected: "a hash" }),
    };
    let mut w = OrgWrite::default();
    for (key, v) in map {
        match key.as_str() {
            "name" => {
                w.name = Some(match v {
                    Value::Null => String::new(),
                    other => string_like(other).ok_or_else(|| bad(key, "a string"))?,
                })
            }
            "external_id" => {
                w.external_id = Some(match v {
                    Value::Null => None,
                    // A blank external id clears it rather than claiming the empty string.
                    other => string_like(other)
                        .ok_or_else(|| bad(key, "a string"))
                        .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))?,
                })
            }
            "shared_tickets" => {
                w.shared_tickets = Some(v.as_bool().ok_or_else(|| bad(key, "a boolean"))?)
            }
            "shared_comments" => {
                w.shared_comments = Some(v.as_bool().ok_or_else(|| bad(key, "a boolean"))?)
            }
            "domain_names" => {
                w.domain_names = Some(string_list(v).ok_or_else(|| bad(key, "an array"))?)
            }
            "tags" => w.tags = Some(string_list(v).ok_or_else(|| bad(key, "an array"))?),
            "details" => w.details = Some(optional_text(v).ok_or_else(|| bad(key, "a string"))?),
            "notes" => w.notes = Some(optional_text(v).ok_or_else(|| bad(key, "a string"))?),
            "group_id" => {
                w.group_id = Some(match v {
                    Value::Null => None,
                    other => Some(other.as_u64().ok_or_else(|| bad(key, "an integer"))?),
                })
            }
            "organization_fields" => {
                w.fields = Some(match v {
                    Value::Null => Map::new(),
                    Value::Object(m) => m.clone(),
                    _ => return Err(bad(key, "a hash")),
                })
            }
            other if matching.contains(&other) => {}
            // Unknown keys are dropped, with a warning header, as Zendesk does (recorded).
            other => w.unpermitted.push(format!("{prefix}.{other}")),
        }
    }
    Ok(w)
}

/// What validation hands to the apply step: the trimmed name and the checked field values.
#[derive(Debug, Default)]
pub struct Validated {
    /// The trimmed name, when the write sets one.
    pub name: Option<String>,
    /// Custom field values after their definitions' checks.
    pub fields: Option<Checked>,
}

/// Checks a write against the account. `current` is the id of the organization being
/// updated (`None` for a create, where a name is required).
pub fn validate(
    table: &OrgTable,
    defs: &FieldTable,
    w: &OrgWrite,
    current: Option<u64>,
) -> Result<Validated, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut out = Validated::default();
    let name = match (&w.name, current) {
        (Some(n), _) => Some(n.trim().to_string()),
        (None, None) => Some(String::new()),
        (None, Some(_)) => None,
    };
    if let Some(name) = name {
        if let Some(p) = name_problem(table, &name, current) {
            problems.push(p);
        }
        out.name = Some(name);
    }
    if let Some(Some(ext)) = &w.external_id {
        if table.id_by_external_id(ext).is_some_and(|id| Some(id) != current) {
            problems.push(Problem {
                attribute: "external_id",
                // UNVERIFIED: the wording; "External" is how Rails humanizes external_id.
                description: format!("External: {ext} has already been taken"),
                error: "DuplicateValue",
            });
        }
    }
    if let Some(fields) = &w.fields {
        match values::check(defs, fields) {
            Ok(checked) => out.fields = Some(checked),
            Err(found) => problems.extend(found.into_iter().map(|p| Problem {
                // UNVERIFIED: no recording shows a refused custom field value; the sandbox
                // files them under `organization_fields` with the field module's wording.
                attribute: "organization_fields",
                description: p.message,
                error: "InvalidValue",
            })),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The problem with a trimmed name, if any: blank, a `|`, or taken by another organization.
pub fn name_problem(table: &OrgTable, name: &str, current: Option<u64>) -> Option<Problem> {
    if name.is_empty() {
        // UNVERIFIED: the wording (a mock's "Name cannot be blank", in the recorded style).
        return Some(Problem {
            attribute: "name",
            description: "Name: cannot be blank".into(),
            error: "BlankValue",
        });
    }
    if name.contains('|') {
        // UNVERIFIED for the API: Zendesk's help center says such a name is not created; the
        // sandbox refuses it so that imports learn about it before going live.
        return Some(Problem {
            attribute: "name",
            description: format!("Name: {name} cannot contain the character |"),
            error: "InvalidValue",
        });
    }
    if table.id_by_name(name).is_some_and(|id| Some(id) != current) {
        return Some(Problem {
            attribute: "name",
            description: format!("Name: {name} has already been taken"),
            error: "DuplicateValue",
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_only_present_keys_and_flags_unknown_ones() {
        let w = parse(&json!({"name": " Acme ", "id": 5, "colour": "red"}), "organization", &[])
            .unwrap();
        assert_eq!(w.name.as_deref(), Some(" Acme "));
        assert!(w.notes.is_none() && w.tags.is_none());
        assert_eq!(w.unpermitted, vec!["organization.id", "organization.colour"]);
        let w = parse(&json!({"id": 5, "notes": null}), "organizations.0", &["id"]).unwrap();
        assert!(w.unpermitted.is_empty());
        assert_eq!(w.notes, Some(None));
    }

    #[test]
    fn parse_refuses_wrong_types_naming_the_attribute() {
        let err = parse(&json!({"group_id": "x"}), "organizations.3", &[]).unwrap_err();
        assert_eq!(err.attribute, "organizations.3.group_id");
        assert!(parse(&json!({"shared_tickets": "yes"}), "o", &[]).is_err());
        assert!(parse(&json!({"tags": [1]}), "o", &[]).is_err());
        assert!(parse(&json!([1]), "o", &[]).is_err());
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated_and_blank_external_id_clears() {
        let w = parse(
            &json!({"tags": "a b,a", "domain_names": [" x.com ", "x.com"],
                              "external_id": "  "}),
            "o",
            &[],
        )
        .unwrap();
        assert_eq!(w.tags.unwrap(), vec!["a", "b"]);
        assert_eq!(w.domain_names.unwrap(), vec!["x.com"]);
        assert_eq!(w.external_id, Some(None));
        let w = parse(&json!({"external_id": 42}), "o", &[]).unwrap();
        assert_eq!(w.external_id, Some(Some("42".into())));
    }

    #[test]
    fn job_details_have_two_spaces_as_recorded() {
        let p = Problem {
            attribute: "name",
            description: "Name: X has already been taken".into(),
            error: "DuplicateValue",
        };
        assert_eq!(job_details(&[p]), "Name:  X has already been taken");
    }
}
