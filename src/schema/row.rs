//! One row, its cells already mapped to API column names, checked column by column and turned
//! into the API's write shape. What each column is comes from the resource layer
//! (`resource::Layer::column`); the checks are written once here. Every problem of the row is
//! reported, not just the first.

use serde_json::{json, Map, Value};

use super::definitions::definition_cell;
use super::value::{check_cell, parse_bool, trim};
use super::{FieldDef, Schema};
use crate::input::mapping::ListSeparator;
use crate::resource::{Layer, Mode};

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

/// A checked row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// The API write shape: `{"name": …, "organization_fields": {…}, …}`.
    pub body: Map<String, Value>,
    /// `id` when the row names one.
    pub id: Option<u64>,
    /// The trimmed name, if any.
    pub name: Option<String>,
    /// The trimmed external id, if any.
    pub external_id: Option<String>,
    /// The trimmed e-mail address, if any.
    pub email: Option<String>,
    /// Records this one refers to by external id or name (a user's organizations), resolved
    /// to ids by the planner. When `default_ref` is set the first is the default one.
    pub refs: Vec<String>,
    /// The column each of `refs` came from (`organization`, `organizations`), for messages.
    pub ref_columns: Vec<String>,
    /// Whether `refs[0]` is the default (a user's `organization`, as opposed to
    /// `organizations`).
    pub default_ref: bool,
    /// A group given by name rather than id (a legacy file's `group` column), resolved to
    /// its id by the planner. Boxed: rarely set, and rows travel by value.
    pub group: Option<Box<GroupName>>,
    /// Which cells had values, also when no payload is built (`zdbulk validate`).
    pub seen: Seen,
}

/// A group named in a row, to be resolved to its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName {
    /// The API column its id goes to (`group_id`).
    pub field: String,
    /// The column as messages name it: as the file wrote it, with the API column when it
    /// differs (`group (group_id)`).
    pub column: String,
    /// The name, trimmed, as written.
    pub name: String,
}

/// Which cells of a row had values: what whole-row rules need, kept without allocating.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// A name.
    pub name: bool,
    /// An external id.
    pub external_id: bool,
    /// An e-mail address.
    pub email: bool,
    /// An id.
    pub id: bool,
    /// The `role` cell's value, as the API spells it.
    pub role: Option<&'static str>,
    /// Columns holding related records' ids that have a value (`custom_role_id`).
    pub custom_role_id: bool,
    /// References to other records (a user's organizations).
    pub refs: bool,
    /// The id of the default referenced record given as such (a user's `organization_id`).
    pub ref_id: bool,
    /// A group given by name (resolved only against the account).
    pub group_name: bool,
}

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
pub enum Kind<'s> {
    /// The record's name (trimmed); `no_pipe` refuses `|` (organization names).
    Name {
        /// Refuse `|` in the value.
        no_pipe: bool,
    },
    /// The external id (trimmed).
    ExternalId,
    /// An e-mail address (trimmed, syntax checked).
    Email,
    /// Text kept as written (`details`, `notes`).
    Text,
    /// One trimmed word or line (`phone`, `time_zone`, `locale`).
    Word,
    /// A list split by the column's separator (`domain_names`, `tags`).
    List,
    /// The id of a related record (`organization_id`, `custom_role_id`).
    Number,
    /// A group: its id (a whole number) or its name, compared trimmed and ignoring case
    /// (`group_id`, which a legacy file's `group` column maps to). Zendesk's legacy importer
    /// picks the group by name; its data importer takes the id.
    Group,
    /// true or false.
    Bool,
    /// One of a fixed set of words (`role`), compared ignoring case.
    OneOf(&'static [&'static str]),
    /// The record's own id.
    Id,
    /// References to other records by external id or exact name (a user's organizations);
    /// `default` when the first one is the record's default.
    Reference {
        /// The first value is the default one.
        default: bool,
    },
    /// A custom field of the account.
    Field(&'s FieldDef),
    /// A custom field column the account does not have: the message, with a suggestion.
    UnknownField(String),
    /// A column of a field definitions file that needs its own check.
    Definition(DefColumn),
    /// Not a column of this resource at all.
    Foreign,
}

/// The columns of a field definitions file with checks of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefColumn {
    /// `key`: letters, digits and underscores, not digits only.
    Key,
    /// `type`: one of the field types.
    Type,
    /// `options`: `Label=tag; Other label=other_tag`, each tag once.
    Options,
    /// `regexp_for_validation`: a pattern that compiles.
    Pattern,
    /// `position`: a whole number.
    Position,
}

/// One column of a file, resolved against the resource and the account's fields.
#[derive(Debug, Clone)]
pub struct Column<'s> {
    /// The API column name (`name`, `organization_fields.tier`).
    pub name: &'s str,
    /// What it is.
    pub kind: Kind<'s>,
    /// How its lists are split.
    pub separator: ListSeparator,
}

impl<'s> Column<'s> {
    /// Resolves the API column `name` of a `layer` file against `schema`.
    pub fn resolve(
        layer: &dyn Layer,
        name: &'s str,
        separator: ListSeparator,
        schema: &'s Schema,
    ) -> Column<'s> {
        let prefix = layer.fields_key();
        let custom = name.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.'));
        let kind = match (layer.column(name), custom) {
            (Some(kind), _) => kind,
            (None, Some(key)) => match schema.get(key) {
                Some(def) => Kind::Field(def),
                None => {
                    let hint = match closest(key, schema.keys()) {
                        Some(c) => format!(" (did you mean '{prefix}.{c}'?)"),
                        None => String::new(),
                    };
                    Kind::UnknownField(format!(
                        "the account has no {} field '{key}'{hint}",
                        layer.singular()
                    ))
                }
            },
            (None, None) => Kind::Foreign,
        };
        Column { name, kind, separator }
    }
}

/// Whether `s` looks like an e-mail address: one `@`, something before it, a dotted domain
/// after it, no spaces. Zendesk's own rule is not published; this refuses what it surely
/// refuses (UNVERIFIED beyond that) without refusing unusual but valid addresses.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';' || c == '<' || c == '>')
}

/// Whether a cell names `word` of a fixed set: any case, and a space or `_` for its `-`
/// (`End user`, `end_user` and `END-USER` are `end-user`).
fn same_word(word: &str, cell: &str) -> bool {
    word.len() == cell.len()
        && word
            .bytes()
            .zip(cell.bytes())
            .all(|(w, c)| w.eq_ignore_ascii_case(&c) || (w == b'-' && (c == b' ' || c == b'_')))
}

/// Whether `column` holds the id of the default record the rows refer to (`organization_id`).
fn is_ref_field(layer: &dyn Layer, column: &str) -> bool {
    layer.facts().refs.as_ref().is_some_and(|r| r.default_field == column)
}

/// How a row is checked: the resource, the mode and what empty cells mean.
#[derive(Clone, Copy)]
pub struct RowRules<'l> {
    /// The resource layer.
    pub layer: &'l dyn Layer,
    /// The import mode.
    pub mode: Mode,
    /// What an empty cell means.
    pub empty: EmptyCells,
    /// Build the payload (import) or only check (`zdbulk validate`: a valid row allocates
    /// nothing).
    pub build: bool,
}

/// Checks one row. `cells` pairs each resolved column with its cell.
pub fn check_row<'c, 's: 'c>(
    cells: impl IntoIterator<Item = (&'c Column<'s>, &'c str)>,
    rules: RowRules<'_>,
) -> Result<Payload, Vec<CellError>> {
    let build = rules.build;
    let mut out = Payload::default();
    let mut fields = Map::new();
    let mut errors = Vec::new();
    let mut error = |column: &str, reason: String| {
        errors.push(CellError { column: column.to_string(), reason })
    };
    for (col, raw) in cells {
        let column = col.name;
        let trimmed = trim(raw);
        if trimmed.is_empty() {
            if rules.empty == EmptyCells::Keep || !build {
                continue;
            }
            match &col.kind {
                // Keys cannot be cleared: they identify the row.
                Kind::Name { .. } | Kind::Id | Kind::ExternalId | Kind::Email => {}
                Kind::Reference { .. } | Kind::UnknownField(_) | Kind::Foreign => {}
                Kind::Definition(_) => {}
                Kind::Field(def) => {
                    fields.insert(def.key.clone(), Value::Null);
                }
                Kind::List => {
                    out.body.insert(column.to_string(), json!([]));
                }
                _ => {
                    out.body.insert(column.to_string(), Value::Null);
                }
            }
            continue;
        }
        // A definition's key given counts as given, valid or not: one message says what is
        // wrong with it, not also that it is missing.
        if matches!(col.kind, Kind::Definition(DefColumn::Key)) {
            out.seen.external_id = true;
        }
        match &col.kind {
            Kind::Name { no_pipe: true } if trimmed.contains('|') => error(
                column,
                format!("'{trimmed}' contains '|', which Zendesk does not allow in names"),
            ),
            Kind::Name { .. } => {
                out.seen.name = true;
                if build {
                    out.name = Some(trimmed.to_string());
                    out.body.insert("name".into(), json!(trimmed));
                }
            }
            Kind::ExternalId => {
                out.seen.external_id = true;
                if build {
                    out.external_id = Some(trimmed.to_string());
                    out.body.insert("external_id".into(), json!(trimmed));
                }
            }
            // Zendesk's data importer lists several addresses (or phones) with `|`; a user
            // is written with one, and dropping the others silently would lose them.
            Kind::Email | Kind::Word
                if col.separator == ListSeparator::Pipes
                    && col.separator.pieces(trimmed).nth(1).is_some() =>
            {
                let n = col.separator.pieces(trimmed).count();
                error(column, format!("'{trimmed}' holds {n} values: zdbulk writes one per user (the others would be lost); keep one, and add the rest in Zendesk"))
            }
            Kind::Email if !is_email(trimmed) => {
                error(column, format!("'{trimmed}' is not an e-mail address"))
            }
            Kind::Email => {
                out.seen.email = true;
                if build {
                    out.email = Some(trimmed.to_string());
                    out.body.insert(column.to_string(), json!(trimmed));
                }
            }
            Kind::Word => {
                if build {
                    out.body.insert(column.to_string(), json!(trimmed));
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
            Kind::Number if trimmed.parse::<u64>().is_ok() && is_ref_field(rules.layer, column) => {
                out.seen.ref_id = true;
                if let (true, Ok(id)) = (build, trimmed.parse::<u64>()) {
                    out.body.insert(column.to_string(), json!(id));
                }
            }
            Kind::Number => match trimmed.parse::<u64>() {
                Ok(_) if column == "custom_role_id" && !build => out.seen.custom_role_id = true,
                Ok(id) if build => {
                    out.seen.custom_role_id |= column == "custom_role_id";
                    out.body.insert(column.to_string(), json!(id));
                }
                Ok(_) => {}
                Err(_) => error(column, format!("'{trimmed}' is not an id (a whole number)")),
            },
            Kind::Group => match trimmed.parse::<u64>() {
                Ok(id) => {
                    if build {
                        out.body.insert(column.to_string(), json!(id));
                    }
                }
                // `-3` or `12.5` is a mistyped id, not a group's name.
                Err(_) if trimmed.parse::<f64>().is_ok() => error(
                    column,
                    format!("'{trimmed}' is not a group id (a whole number) or a group's name"),
                ),
                Err(_) => {
                    out.seen.group_name = true;
                    if build {
                        out.group = Some(Box::new(GroupName {
                            field: column.to_string(),
                            column: column.to_string(),
                            name: trimmed.to_string(),
                        }));
                    }
                }
            },
            Kind::Bool => match parse_bool(trimmed) {
                Some(b) if build => {
                    out.body.insert(column.to_string(), json!(b));
                }
                Some(_) => {}
                None => error(column, format!("'{trimmed}' is not true/false, yes/no or 1/0")),
            },
            Kind::OneOf(words) => match words.iter().find(|w| same_word(w, trimmed)) {
                Some(w) => {
                    if column == "role" {
                        out.seen.role = Some(w);
                    }
                    if build {
                        out.body.insert(column.to_string(), json!(w));
                    }
                }
                None => error(column, format!("'{trimmed}' is not one of {}", words.join(", "))),
            },
            Kind::Id => match trimmed.parse::<u64>() {
                Ok(id) if id > 0 => {
                    out.seen.id = true;
                    out.id = Some(id);
                }
                _ => error(column, format!("'{trimmed}' is not a record id")),
            },
            Kind::Reference { .. } if !build => out.seen.refs = true,
            Kind::Reference { default } => {
                out.seen.refs = true;
                let mut values = col.separator.pieces(trimmed);
                if *default {
                    // The default goes first, whatever else lists it.
                    if let Some(first) = values.next() {
                        if let Some(at) =
                            out.refs.iter().position(|r| r.eq_ignore_ascii_case(first))
                        {
                            out.refs.remove(at);
                            out.ref_columns.remove(at);
                        }
                        out.refs.insert(0, first.to_string());
                        out.ref_columns.insert(0, column.to_string());
                        out.default_ref = true;
                    }
                }
                for v in values {
                    if !out.refs.iter().any(|r| r.eq_ignore_ascii_case(v)) {
                        out.refs.push(v.to_string());
                        out.ref_columns.push(column.to_string());
                    }
                }
            }
            Kind::Field(def) => match check_cell(def, raw, col.separator) {
                Ok(v) if build => {
                    fields.insert(def.key.clone(), v.into_json(def));
                }
                Ok(_) => {}
                Err(reason) => error(column, reason),
            },
            Kind::Definition(which) => match definition_cell(*which, trimmed) {
                Ok(v) => {
                    if *which == DefColumn::Key && build {
                        out.external_id = Some(trimmed.to_string());
                        out.name = Some(trimmed.to_string());
                    }
                    if build {
                        let key = match which {
                            DefColumn::Options => "custom_field_options",
                            _ => column,
                        };
                        out.body.insert(key.to_string(), v);
                    }
                }
                Err(reason) => error(column, reason),
            },
            Kind::UnknownField(message) => error(column, message.clone()),
            Kind::Foreign => error(column, format!("is not a column of {}", rules.layer.plural())),
        }
    }
    rules.layer.row_rules(&out, rules.mode, &mut errors);
    if !fields.is_empty() {
        out.body.insert(rules.layer.fields_key().into(), Value::Object(fields));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
