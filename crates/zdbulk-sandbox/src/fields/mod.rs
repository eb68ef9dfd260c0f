//! Organization and user field definitions: the table each family keeps, how a field is
//! rendered, and creation from the API write shape. Routes are in `routes`, the write rules
//! (create and update validation) in `write`.

mod routes;
mod write;

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::state::{Ctx, Store};

pub use routes::routes;

/// Which family of fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `organization_fields`.
    Organization,
    /// `user_fields`.
    User,
}

impl FieldKind {
    /// The collection name, also the envelope key of lists: `organization_fields`.
    pub fn collection(self) -> &'static str {
        match self {
            FieldKind::Organization => "organization_fields",
            FieldKind::User => "user_fields",
        }
    }

    /// The envelope key of one field: `organization_field`.
    pub fn singular(self) -> &'static str {
        match self {
            FieldKind::Organization => "organization_field",
            FieldKind::User => "user_field",
        }
    }

    /// The body key of a reorder request: `organization_field_ids`.
    pub fn ids_param(self) -> &'static str {
        match self {
            FieldKind::Organization => "organization_field_ids",
            FieldKind::User => "user_field_ids",
        }
    }

    /// This family's table in the store.
    pub fn table(self, store: &Store) -> &FieldTable {
        match self {
            FieldKind::Organization => &store.organization_fields,
            FieldKind::User => &store.user_fields,
        }
    }

    /// This family's table in the store, to change it.
    pub fn table_mut(self, store: &mut Store) -> &mut FieldTable {
        match self {
            FieldKind::Organization => &mut store.organization_fields,
            FieldKind::User => &mut store.user_fields,
        }
    }
}

/// The type of a custom field (OAS CreateUserField / CreateOrganizationField).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Single-line text (the default).
    Text,
    /// Multi-line text.
    Textarea,
    /// A boolean that may add a tag to the record.
    Checkbox,
    /// A calendar date.
    Date,
    /// A whole number.
    Integer,
    /// A decimal number.
    Decimal,
    /// Text that must match `regexp_for_validation`.
    Regexp,
    /// One option's value.
    Dropdown,
    /// The id of another record.
    Lookup,
    /// Several options' values.
    Multiselect,
}

/// Every type, in the order error messages list them.
pub const FIELD_TYPES: [FieldType; 10] = [
    FieldType::Text,
    FieldType::Textarea,
    FieldType::Checkbox,
    FieldType::Date,
    FieldType::Integer,
    FieldType::Decimal,
    FieldType::Regexp,
    FieldType::Dropdown,
    FieldType::Lookup,
    FieldType::Multiselect,
];

impl FieldType {
    /// The API name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Checkbox => "checkbox",
            FieldType::Date => "date",
            FieldType::Integer => "integer",
            FieldType::Decimal => "decimal",
            FieldType::Regexp => "regexp",
            FieldType::Dropdown => "dropdown",
            FieldType::Lookup => "lookup",
            FieldType::Multiselect => "multiselect",
        }
    }

    /// The type with this API name.
    pub fn parse(name: &str) -> Option<FieldType> {
        FIELD_TYPES.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether the type carries `custom_field_options`.
    pub fn has_options(self) -> bool {
        matches!(self, FieldType::Dropdown | FieldType::Multiselect)
    }
}

/// One option of a dropdown or multiselect field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldOption {
    /// Option id (from the account's id sequence).
    pub id: u64,
    /// The label agents see.
    pub name: String,
    /// The dynamic-content placeholder, or the name.
    pub raw_name: String,
    /// The tag stored on records.
    pub value: String,
}

/// One custom field definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldDef {
    /// Field id.
    pub id: u64,
    /// The field's type; fixed at creation.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The key records use; fixed at creation.
    pub key: String,
    /// Title.
    pub title: String,
    /// Description (`""` when none, as R3 shows).
    pub description: String,
    /// Dynamic-content placeholder of the title, or the title.
    pub raw_title: String,
    /// Dynamic-content placeholder of the description, or the description.
    pub raw_description: String,
    /// Explicit position; `None` until one is given (see [`render_field`]).
    pub position: Option<i64>,
    /// Whether records may be given values for it.
    pub active: bool,
    /// The validation pattern (regexp fields; date fields carry Zendesk's date pattern).
    pub regexp_for_validation: Option<String>,
    /// Checkbox only: the tag a checked box adds to the record.
    pub tag: Option<String>,
    /// Dropdown and multiselect only: the options, in display order.
    pub options: Vec<FieldOption>,
    /// Lookup only: `zen:user`, `zen:organization`, ...
    pub relationship_target_type: Option<String>,
    /// Lookup only: the autocomplete filter, kept as given.
    pub relationship_filter: Value,
    /// Creation time.
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// The compiled pattern, built on first use (it is not saved with the state).
    #[serde(skip)]
    compiled: OnceLock<Option<Regex>>,
}

impl FieldDef {
    /// The compiled `regexp_for_validation`, if the field has one that compiles (writes
    /// refuse patterns that do not, so `None` only means "no pattern").
    pub fn pattern(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| {
                self.regexp_for_validation.as_deref().and_then(|p| compile_pattern(p).ok())
            })
            .as_ref()
    }

    /// Whether `value` is the value of one of the options.
    pub fn has_option(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value == value)
    }

    fn sort_key(&self) -> (i64, u64) {
        (self.position.unwrap_or(0), self.id)
    }
}

/// Compiles a Ruby pattern as Zendesk (a Rails app) would apply it.
///
/// The `regex` crate knows `\A` and `\z` as Ruby does. Ruby's `\Z` (end, before an optional
/// final newline) becomes `\n?\z`, and `\h` (hex digit) becomes a class. Ruby's `^`/`$` are
/// always line anchors, so multi-line mode is on. Look-around and backreferences have no
/// equivalent here: such patterns are refused (a stricter reading than Zendesk's).
pub fn compile_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Z') => out.push_str(r"\n?\z"),
            Some('h') => out.push_str("[0-9a-fA-F]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    regex::RegexBuilder::new(&out).multi_line(true).build()
}

/// The field definitions of one family, kept in display order (position, then id).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldTable {
    fields: Vec<FieldDef>,
}

impl FieldTable {
    /// The fields in display order.
    pub fn iter(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter()
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The field with this key.
    pub fn get(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The index of the field named in a path: its numeric id, or its key (keys are never
    /// digits only, so the two cannot be confused).
    pub fn find(&self, id_or_key: &str) -> Option<usize> {
        match id_or_key.parse::<u64>() {
            Ok(id) => self.fields.iter().position(|f| f.id == id),
            Err(_) => self.fields.iter().position(|f| f.key == id_or_key),
        }
    }

    /// Puts the fields back in display order after a position changed.
    fn sort(&mut self) {
        self.fields.sort_by_key(FieldDef::sort_key);
    }
}

/// Zendesk's position for a field created without one, in the create answer only.
const UNSET_POSITION_ON_CREATE: i64 = 9999;

/// Renders a field as the API shows it. `just_created` picks the position an unpositioned
/// field shows: as recorded (R1 TestOrganizationFieldsCreateUpdateDelete), the create
/// answer says 9999 and every later read says 0. Odd, but real, so it is kept.
pub fn render_field(def: &FieldDef, ctx: &Ctx, kind: FieldKind, just_created: bool) -> Value {
    let default_position = if just_created { UNSET_POSITION_ON_CREATE } else { 0 };
    let mut out = Map::new();
    out.insert("url".into(), json!(ctx.url(kind.collection(), def.id)));
    out.insert("id".into(), json!(def.id));
    out.insert("type".into(), json!(def.field_type.as_str()));
    out.insert("key".into(), json!(def.key));
    out.insert("title".into(), json!(def.title));
    out.insert("description".into(), json!(def.description));
    out.insert("raw_title".into(), json!(def.raw_title));
    out.insert("raw_description".into(), json!(def.raw_description));
    out.insert("position".into(), json!(def.position.unwrap_or(default_position)));
    out.insert("active".into(), json!(def.active));
    out.insert("system".into(), json!(false));
    out.insert("regexp_for_validation".into(), json!(def.regexp_for_validation));
    out.insert("created_at".into(), json!(def.created_at));
    out.insert("updated_at".into(), json!(def.updated_at));
    // The type-specific keys come after `updated_at`, as in R3's user_fields list.
    match def.field_type {
        FieldType::Checkbox => {
            out.insert("tag".into(), json!(def.tag));
        }
        FieldType::Dropdown | FieldType::Multiselect => {
            // UNVERIFIED: R3 (2021) shows options without `position`; the current OAS lists
            // it. The sandbox includes it (the index in the list); readers ignore extra keys.
            let options: Vec<Value> = def
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    json!({"id": o.id, "name": o.name, "raw_name": o.raw_name, "value": o.value, "position": i})
                })
                .collect();
            out.insert("custom_field_options".into(), Value::Array(options));
        }
        FieldType::Lookup => {
            out.insert("relationship_target_type".into(), json!(def.relationship_target_type));
            out.insert("relationship_filter".into(), def.relationship_filter.clone());
        }
        _ => {}
    }
    Value::Object(out)
}

/// Creates one field from its API write shape (the object inside the `organization_field`
/// or `user_field` envelope); returns the rendered field as the create answer shows it.
pub fn create_field(
    store: &mut Store,
    ctx: &Ctx,
    kind: FieldKind,
    body: &Value,
) -> Result<Value, ApiError> {
    let draft = write::validate_create(kind.table(store), body)?;
    let id = store.next_id();
    let def = draft.build(store, id, ctx.now.clone(), ctx.now.clone());
    let rendered = render_field(&def, ctx, kind, true);
    let table = kind.table_mut(store);
    table.fields.push(def);
    table.sort();
    Ok(rendered)
}

/// Updates the field at `index` from its API write shape; returns the rendered field.
pub fn update_field(
    store: &mut Store,
    ctx: &Ctx,
    kind: FieldKind,
    index: usize,
    body: &Value,
) -> Result<Value, ApiError> {
    let table = kind.table(store);
    let Some(current) = table.fields.get(index) else { return Err(ApiError::NotFound) };
    let draft = write::validate_update(table, current, body)?;
    let (id, created_at) = (current.id, current.created_at.clone());
    let def = draft.build(store, id, created_at, ctx.now.clone());
    let table = kind.table_mut(store);
    match table.fields.get_mut(index) {
        Some(slot) => *slot = def,
        None => return Err(ApiError::NotFound),
    }
    table.sort();
    let def = table.fields.iter().find(|f| f.id == id).ok_or(ApiError::NotFound)?;
    Ok(render_field(def, ctx, kind, false))
}

/// Deletes the field at `index`. Records keep their stored values, but `values::render`
/// only shows defined keys, so the values disappear from every record at once.
pub fn delete_field(store: &mut Store, kind: FieldKind, index: usize) -> Result<(), ApiError> {
    let table = kind.table_mut(store);
    if index >= table.fields.len() {
        return Err(ApiError::NotFound);
    }
    table.fields.remove(index);
    Ok(())
}

/// Gives the listed fields positions 0, 1, 2, ... in the order given (as R3's account shows
/// positions 0..7). Fields not listed keep theirs.
pub fn reorder(store: &mut Store, kind: FieldKind, ids: &[u64]) -> Result<(), ApiError> {
    let table = kind.table_mut(store);
    if let Some(unknown) = ids.iter().find(|id| !table.fields.iter().any(|f| f.id == **id)) {
        // UNVERIFIED: what Zendesk does with an unknown id in a reorder; refusing the whole
        // request is the safe reading (a half-applied order is worse than none).
        return Err(ApiError::invalid(
            kind.ids_param(),
            format!("{}: {unknown} is not a field of this account", kind.ids_param()),
            Some("InvalidValue"),
        ));
    }
    for (position, id) in ids.iter().enumerate() {
        if let Some(def) = table.fields.iter_mut().find(|f| f.id == *id) {
            def.position = Some(position as i64);
        }
    }
    table.sort();
    Ok(())
}
