//! The resource layer: everything that differs between the resources zdbulk imports (names,
//! endpoints, columns, keys and their case rules, upsert style, how a record is found again).
//! The pipeline is written once and asks a [`Layer`] for these; adding a resource adds one
//! module here (`docs/architecture.md`).
//!
//! - [`organizations`]: organizations (lookup, then create or update).
//! - [`users`]: users (`create_or_update_many`; organizations as references).
//! - [`memberships`]: organization memberships, the second stream of a users import.

pub mod fields;
pub mod memberships;
pub mod organizations;
pub mod users;

use crate::schema::row::{CellError, Kind, Payload};

/// The resources zdbulk moves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    /// Organizations.
    Organizations,
    /// Users (end users, agents, admins).
    Users,
    /// Custom organization field definitions.
    OrganizationFields,
    /// Custom user field definitions.
    UserFields,
    /// Organization memberships (made from a users file's organization columns).
    #[value(skip)]
    Memberships,
}

impl Resource {
    /// The name users type (`organizations`, `organization-fields`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Resource::Organizations => "organizations",
            Resource::Users => "users",
            Resource::OrganizationFields => "organization-fields",
            Resource::UserFields => "user-fields",
            Resource::Memberships => "memberships",
        }
    }
}

/// How an upsert is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertStyle {
    /// Look records up (by id, external id, or the search column), then `create_many` the
    /// missing ones and `update_many` the changed ones (organizations have no bulk upsert).
    LookupThenWrite,
    /// Send rows to a bulk create-or-update endpoint, which matches them itself; rows with an
    /// external id are looked up first (100 a request) so that unchanged ones cost no write.
    BulkUpsert,
}

/// The mode an import runs in, as far as row rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Update what exists, create the rest.
    Upsert,
    /// Create every row.
    Create,
    /// Update existing records only.
    Update,
    /// Delete the records the rows name.
    Delete,
}

impl Mode {
    /// The mode's name, as the journal and summary write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Upsert => "upsert",
            Mode::Create => "create",
            Mode::Update => "update",
            Mode::Delete => "delete",
        }
    }
}

/// The plain facts of a resource: names, keys and how it is upserted.
#[derive(Debug)]
pub struct Facts {
    /// Which resource this is.
    pub resource: Resource,
    /// The API's plural: the path segment and the bulk body key (`organizations`).
    pub plural: &'static str,
    /// The singular, for messages (`organization`).
    pub singular: &'static str,
    /// The custom field family (`organization_fields`): the payload key, the definitions'
    /// endpoint, and (with a dot) the column prefix.
    pub fields_key: &'static str,
    /// The columns whose values must be unique within a file (compared trimmed, ignoring
    /// case).
    pub unique_columns: &'static [&'static str],
    /// The report's key for a row: the first of these columns that has a value.
    pub key_columns: &'static [&'static str],
    /// How an upsert is done.
    pub upsert: UpsertStyle,
    /// The record field a row's external id is matched against (`external_id`; a field
    /// definition's `key`).
    pub external_key: &'static str,
    /// The unique column that finds a record one request a value when a row has no id or
    /// external id (organizations: `name`; users: `email`; never a user's name, which is not
    /// unique).
    pub search_column: &'static str,
    /// What the rows' references (`Payload::refs`) name, if they make any.
    pub refs: Option<RefSpec>,
    /// Creating a record with an e-mail address makes Zendesk mail the person, unless the row
    /// says `verified` or `skip_verify_email`.
    pub welcome_email: bool,
}

/// References from one resource's rows to another's records (a user's organizations).
#[derive(Debug)]
pub struct RefSpec {
    /// The resource referred to, by external id or its search column (organizations: name).
    pub to: Resource,
    /// The write field that holds the default one's id (`organization_id`).
    pub default_field: &'static str,
}

/// What differs per resource: its [`Facts`], what each column is, and the rules over a whole
/// row. Implementations are unit structs; the pipeline holds them as `&'static dyn Layer`.
pub trait Layer: Send + Sync + 'static {
    /// The resource's facts.
    fn facts(&self) -> &'static Facts;
    /// What a standard column is, or `None` when this resource has no such column.
    fn column(&self, name: &str) -> Option<Kind<'static>>;
    /// Rules over a whole checked row (after its cells), for `mode`.
    fn row_rules(&self, _payload: &Payload, _mode: Mode, _errors: &mut Vec<CellError>) {}
    /// Fits a row's write to the record it updates (`existing`), before the two are compared:
    /// field definitions merge their options here. Returns what the write would remove from
    /// the account (options, under `prune`), or why the row cannot be written.
    fn against_existing(
        &self,
        _body: &mut serde_json::Map<String, serde_json::Value>,
        _existing: &serde_json::Value,
        _prune: bool,
    ) -> Result<Vec<fields::Removed>, String> {
        Ok(vec![])
    }

    /// Which resource this is.
    fn resource(&self) -> Resource {
        self.facts().resource
    }
    /// The API's plural (`organizations`).
    fn plural(&self) -> &'static str {
        self.facts().plural
    }
    /// The singular (`organization`).
    fn singular(&self) -> &'static str {
        self.facts().singular
    }
    /// The custom field family (`organization_fields`).
    fn fields_key(&self) -> &'static str {
        self.facts().fields_key
    }
    /// The columns unique within a file.
    fn unique_columns(&self) -> &'static [&'static str] {
        self.facts().unique_columns
    }
    /// The report's key columns, in order of preference.
    fn key_columns(&self) -> &'static [&'static str] {
        self.facts().key_columns
    }
    /// How an upsert is done.
    fn upsert(&self) -> UpsertStyle {
        self.facts().upsert
    }
    /// The unique column searched one value a request.
    fn search_column(&self) -> &'static str {
        self.facts().search_column
    }
}

/// The layer of a resource that imports records.
pub fn layer(resource: Resource) -> &'static dyn Layer {
    match resource {
        Resource::Users => &users::Users,
        Resource::Memberships => &memberships::Memberships,
        Resource::OrganizationFields => &fields::ORGANIZATION_FIELDS,
        Resource::UserFields => &fields::USER_FIELDS,
        _ => &organizations::Organizations,
    }
}

/// The value the report uses to name a payload's record: the first key column with a value.
pub fn payload_key(layer: &dyn Layer, p: &Payload) -> String {
    for column in layer.key_columns() {
        let v = match *column {
            "external_id" => p.external_id.clone(),
            "name" => p.name.clone(),
            "email" => p.email.clone(),
            // A field definition's key is its external identity.
            "key" => p.external_id.clone(),
            "id" => p.id.map(|i| i.to_string()),
            _ => None,
        };
        if let Some(v) = v {
            return v;
        }
    }
    String::new()
}

/// The value of the layer's search column in a payload (an organization's name, a user's
/// e-mail), if the row has one.
pub fn search_value<'p>(layer: &dyn Layer, p: &'p Payload) -> Option<&'p str> {
    match layer.search_column() {
        "email" => p.email.as_deref(),
        "name" => p.name.as_deref(),
        _ => None,
    }
}

/// How a payload's record is named in a message: `id 7`, `external_id 'a-1'`, `name 'Acme'`.
pub fn how_named(layer: &dyn Layer, p: &Payload) -> String {
    if let Some(id) = p.id {
        return format!("id {id}");
    }
    if let Some(x) = &p.external_id {
        if layer.key_columns() == ["key"] {
            return format!("key '{x}'");
        }
        return format!("external_id '{x}'");
    }
    match (layer.search_column(), search_value(layer, p)) {
        ("email", Some(email)) => format!("email '{email}'"),
        _ => format!("name '{}'", p.name.as_deref().unwrap_or_default()),
    }
}
