//! Users: their columns, keys (e-mail and external id, unique and compared ignoring case;
//! never the name, which people share), bulk `create_or_update_many`, and organizations named
//! by external id or exact name, which the planner resolves to ids.

use super::{Facts, Layer, Mode, RefSpec, Resource, UpsertStyle};
use crate::schema::row::{CellError, Kind, Payload};

/// The users layer.
pub struct Users;

/// The roles the API accepts (`zendesk-api.md` §4, Users).
pub const ROLES: &[&str] = &["end-user", "agent", "admin"];

/// Ticket restrictions (`zendesk-csv-formats.md` §3).
const RESTRICTIONS: &[&str] = &["organization", "groups", "assigned", "requested"];

const FACTS: Facts = Facts {
    resource: Resource::Users,
    plural: "users",
    singular: "user",
    fields_key: "user_fields",
    unique_columns: &["email", "external_id"],
    key_columns: &["email", "external_id", "id", "name"],
    upsert: UpsertStyle::BulkUpsert,
    external_key: "external_id",
    search_column: "email",
    refs: Some(RefSpec { to: Resource::Organizations, default_field: "organization_id" }),
    welcome_email: true,
};

impl Layer for Users {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }
    fn column(&self, name: &str) -> Option<Kind<'static>> {
        Some(match name {
            // People share names: `|` is fine in them, and they identify nobody.
            "name" => Kind::Name { no_pipe: false },
            "email" => Kind::Email,
            "external_id" => Kind::ExternalId,
            "role" => Kind::OneOf(ROLES),
            "ticket_restriction" => Kind::OneOf(RESTRICTIONS),
            "phone" | "time_zone" | "locale" => Kind::Word,
            "organization" => Kind::Reference { default: true },
            "organizations" => Kind::Reference { default: false },
            "organization_id" | "custom_role_id" => Kind::Number,
            "tags" => Kind::List,
            "details" | "notes" => Kind::Text,
            "verified" | "skip_verify_email" | "shared_phone_number" => Kind::Bool,
            "id" => Kind::Id,
            _ => return None,
        })
    }
    fn row_rules(&self, p: &Payload, mode: Mode, errors: &mut Vec<CellError>) {
        let s = p.seen;
        let mut error = |column: &str, reason: &str| {
            errors.push(CellError { column: column.into(), reason: reason.into() })
        };
        match mode {
            Mode::Create if !s.name => error("name", "is required to create a user"),
            Mode::Upsert if !s.name && !s.email && !s.external_id && !s.id => error(
                "name",
                "is required: a row with no email, external_id or id creates a user, and a user needs a name",
            ),
            Mode::Update | Mode::Delete if !s.email && !s.external_id && !s.id => error(
                "id",
                "an id, external_id or email is needed to find the user (names are not unique)",
            ),
            _ => {}
        }
        if s.custom_role_id && matches!(s.role, Some("end-user" | "admin")) {
            error("custom_role_id", "only agents have a custom role (role is not 'agent')");
        }
        if s.refs && s.ref_id {
            error("organization_id", "give either organization_id or organization(s), not both");
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
    use crate::schema::Schema;

    fn check(cells: &[(&str, &str)], mode: Mode) -> Result<Payload, Vec<String>> {
        let schema = Schema::default();
        let columns: Vec<Column> = cells
            .iter()
            .map(|&(c, _)| {
                let sep = if c.starts_with("organization") {
                    ListSeparator::Pipes
                } else {
                    ListSeparator::Any
                };
                Column::resolve(&Users, c, sep, &schema)
            })
            .collect();
        let rules = RowRules { layer: &Users, mode, empty: EmptyCells::Keep, build: true };
        check_row(columns.iter().zip(cells.iter().map(|c| c.1)), rules)
            .map_err(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn builds_the_api_shape_with_references_apart() {
        let p = check(
            &[
                ("name", "Ada | Lovelace"),
                ("email", " Ada@Example.com "),
                ("role", "Agent"),
                ("organization", "acme-1"),
                ("organizations", "Globex|acme-1|Initech"),
                ("verified", "yes"),
                ("phone", "+44 20 7946 0000"),
            ],
            Mode::Upsert,
        )
        .unwrap();
        assert_eq!(
            Value::Object(p.body.clone()),
            json!({"name": "Ada | Lovelace", "email": "Ada@Example.com", "role": "agent",
                   "verified": true, "phone": "+44 20 7946 0000"})
        );
        assert_eq!(p.refs, vec!["acme-1", "Globex", "Initech"]);
        assert!(p.default_ref);
        assert_eq!(payload_key(&Users, &p), "Ada@Example.com");
    }

    #[test]
    fn refuses_bad_email_role_and_misplaced_custom_role() {
        let errs =
            check(&[("email", "ada@"), ("role", "manager"), ("custom_role_id", "7")], Mode::Upsert)
                .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "email: 'ada@' is not an e-mail address",
                "role: 'manager' is not one of end-user, agent, admin",
                "name: is required: a row with no email, external_id or id creates a user, and a user needs a name",
            ]
        );
        let errs =
            check(&[("name", "A"), ("role", "end-user"), ("custom_role_id", "7")], Mode::Upsert)
                .unwrap_err();
        assert_eq!(
            errs,
            vec!["custom_role_id: only agents have a custom role (role is not 'agent')"]
        );
    }

    #[test]
    fn update_needs_a_unique_key_never_a_name() {
        let errs = check(&[("name", "Ada")], Mode::Update).unwrap_err();
        assert!(errs[0].contains("names are not unique"), "{errs:?}");
        assert!(check(&[("email", "a@b.co")], Mode::Update).is_ok());
    }

    #[test]
    fn several_addresses_in_a_data_importer_cell_are_refused_not_dropped() {
        let schema = Schema::default();
        let col = Column::resolve(&Users, "email", ListSeparator::Pipes, &schema);
        let rules =
            RowRules { layer: &Users, mode: Mode::Upsert, empty: EmptyCells::Keep, build: true };
        let errs = check_row([(&col, "a@example.com|b@example.com")], rules).unwrap_err();
        assert!(errs[0].to_string().contains("holds 2 values"), "{errs:?}");
        assert!(check_row([(&col, "a@example.com")], rules).is_ok());
    }

    #[test]
    fn roles_are_read_in_any_case_with_a_space_or_underscore_for_the_hyphen() {
        for cell in ["End user", "end_user", "END-USER"] {
            let p = check(&[("name", "A"), ("role", cell)], Mode::Upsert).unwrap();
            assert_eq!(p.body["role"], "end-user", "{cell}");
        }
        assert!(check(&[("name", "A"), ("role", "enduser x")], Mode::Upsert).is_err());
    }

    #[test]
    fn organization_id_beside_organization_is_refused_when_validating_too() {
        let schema = Schema::default();
        let cells = [("organization_id", "7"), ("organization", "acme"), ("name", "A")];
        let columns: Vec<Column> = cells
            .iter()
            .map(|&(c, _)| Column::resolve(&Users, c, ListSeparator::Pipes, &schema))
            .collect();
        for build in [true, false] {
            let rules =
                RowRules { layer: &Users, mode: Mode::Upsert, empty: EmptyCells::Keep, build };
            let errs = check_row(columns.iter().zip(cells.iter().map(|c| c.1)), rules).unwrap_err();
            assert!(errs[0].to_string().contains("not both"), "build {build}: {errs:?}");
        }
    }
}
