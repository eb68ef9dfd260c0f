//! Organizations: their columns, keys (name and external id, both unique and compared ignoring
//! case) and upsert by lookup, since the API has no bulk create-or-update for them
//! (`zendesk-api.md` §4).

use super::{Facts, Layer, Mode, Resource, UpsertStyle};
use crate::schema::row::{CellError, Kind, Payload};

/// The organizations layer.
pub struct Organizations;

const FACTS: Facts = Facts {
    resource: Resource::Organizations,
    plural: "organizations",
    singular: "organization",
    fields_key: "organization_fields",
    unique_columns: &["name", "external_id"],
    key_columns: &["external_id", "name", "id"],
    upsert: UpsertStyle::LookupThenWrite,
    // Organization names are unique (ignoring case), so a name finds one record.
    external_key: "external_id",
    search_column: "name",
    refs: None,
    welcome_email: false,
};

impl Layer for Organizations {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }
    fn column(&self, name: &str) -> Option<Kind<'static>> {
        Some(match name {
            "name" => Kind::Name { no_pipe: true },
            "external_id" => Kind::ExternalId,
            "domain_names" | "tags" => Kind::List,
            "details" | "notes" => Kind::Text,
            "group_id" => Kind::Group,
            "shared_tickets" | "shared_comments" => Kind::Bool,
            "id" => Kind::Id,
            _ => return None,
        })
    }
    fn row_rules(&self, p: &Payload, mode: Mode, errors: &mut Vec<CellError>) {
        if mode == Mode::Create && !p.seen.name && !p.seen.id {
            errors.push(CellError {
                column: "name".into(),
                reason: "is required to create an organization".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::input::mapping::ListSeparator;
    use crate::resource::payload_key;
    use crate::schema::row::{check_row, Column, EmptyCells, RowRules};
    use crate::schema::{FieldDef, FieldOption, FieldType, Schema};

    const SEPS: ListSeparator = ListSeparator::Any;

    /// Checks `cells` (API column, cell) the way a file with those columns is checked.
    fn check(cells: &[(&str, &str)], empty: EmptyCells) -> Result<Payload, Vec<CellError>> {
        let schema = schema();
        let columns: Vec<Column> =
            cells.iter().map(|&(c, _)| Column::resolve(&Organizations, c, SEPS, &schema)).collect();
        let rules = RowRules { layer: &Organizations, mode: Mode::Create, empty, build: true };
        check_row(columns.iter().zip(cells.iter().map(|c| c.1)), rules)
    }

    fn schema() -> Schema {
        let options = vec![
            FieldOption { name: "Free".into(), value: "free".into() },
            FieldOption { name: "Pro".into(), value: "pro".into() },
        ];
        let tier = FieldDef::build(
            "tier".into(),
            "Tier".into(),
            FieldType::Dropdown,
            true,
            None,
            None,
            options,
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
            ("name", " Acme "),
            ("external_id", "A-1"),
            ("domain_names", "acme.com|acme.io"),
            ("tags", "vip gold"),
            ("shared_tickets", "YES"),
            ("organization_fields.tier", "Pro"),
            ("organization_fields.seats", "12"),
        ];
        let p = check(&cells, EmptyCells::Keep).unwrap();
        assert_eq!(
            Value::Object(p.body.clone()),
            json!({"name": "Acme", "external_id": "A-1", "domain_names": ["acme.com", "acme.io"],
                   "tags": ["vip", "gold"], "shared_tickets": true,
                   "organization_fields": {"tier": "pro", "seats": 12}})
        );
        assert_eq!(payload_key(&Organizations, &p), "A-1");
    }

    #[test]
    fn reports_every_problem_with_column_and_value() {
        let cells = [
            ("name", "A|B"),
            ("organization_fields.tier", "Gold"),
            ("organization_fields.seatz", "3"),
            ("email", "x@y.z"),
        ];
        let errs = check(&cells, EmptyCells::Keep).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "name: 'A|B' contains '|', which Zendesk does not allow in names",
                "organization_fields.tier: 'Gold' is not an option (options: free, pro)",
                "organization_fields.seatz: the account has no organization field 'seatz' (did you mean 'organization_fields.seats'?)",
                "email: is not a column of organizations",
                "name: is required to create an organization",
            ]
        );
    }

    #[test]
    fn a_group_is_an_id_or_a_name_to_resolve() {
        let p = check(&[("name", "Acme"), ("group_id", " 42 ")], EmptyCells::Keep).unwrap();
        assert_eq!(Value::Object(p.body), json!({"name": "Acme", "group_id": 42}));
        assert_eq!(p.group, None);
        let p =
            check(&[("name", "Acme"), ("group_id", " Tier 2 Support ")], EmptyCells::Keep).unwrap();
        assert_eq!(Value::Object(p.body), json!({"name": "Acme"}));
        let g = p.group.unwrap();
        assert_eq!((g.field.as_str(), g.name.as_str()), ("group_id", "Tier 2 Support"));
        assert!(p.seen.group_name);
        // A number that is not a whole one is a mistyped id, not a name.
        for bad in ["-3", "12.5"] {
            let errs = check(&[("name", "Acme"), ("group_id", bad)], EmptyCells::Keep).unwrap_err();
            assert_eq!(
                errs[0].to_string(),
                format!("group_id: '{bad}' is not a group id (a whole number) or a group's name")
            );
        }
    }

    #[test]
    fn empty_cells_keep_or_clear() {
        let cells =
            [("name", "Acme"), ("notes", ""), ("tags", " "), ("organization_fields.tier", "")];
        let kept = check(&cells, EmptyCells::Keep).unwrap();
        assert_eq!(Value::Object(kept.body), json!({"name": "Acme"}));
        let cleared = check(&cells, EmptyCells::Clear).unwrap();
        assert_eq!(
            Value::Object(cleared.body),
            json!({"name": "Acme", "notes": null, "tags": [], "organization_fields": {"tier": null}})
        );
    }
}
