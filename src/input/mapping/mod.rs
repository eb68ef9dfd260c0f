//! Maps a file's header names to the API's column names.
//!
//! Header names are trimmed and compared ignoring case; the field key after a custom-field
//! prefix keeps its case. `--map` renames come first, then the aliases of Zendesk's own import
//! formats (`zendesk-csv-formats.md`), whose dialect is recognised from the header set and
//! decides how list columns are split. Custom field keys are not checked here: any
//! `organization_fields.<key>` passes, and validation checks the key against the definitions.

mod renames;
mod tables;

use std::collections::HashMap;
use std::fmt;

use crate::resource::Resource;

pub use renames::Renames;
use tables::Tag;

/// The column a failed-rows file carries, which import reads past.
pub const ERROR_COLUMN: &str = "zdbulk_error";

/// Which naming a file's header follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The API's own names (also a data-importer organizations file: its names are the API's).
    Api,
    /// Zendesk's legacy Bulk actions importer (`default`, `shared`, `restriction`, ...).
    Legacy,
    /// Zendesk's Admin Center data importer (`emails`, `phones`, `organizations`, ...).
    DataImporter,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Api => "API column names",
            Dialect::Legacy => "Zendesk's legacy bulk import format",
            Dialect::DataImporter => "Zendesk's data importer format",
        })
    }
}

/// How a list column's cell is split into values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSeparator {
    /// Runs of spaces (legacy organization `default` and `tags`).
    Spaces,
    /// Commas (both importers' user `tags`).
    Commas,
    /// `|` (data-importer lists, user organizations).
    Pipes,
    /// Any of spaces, commas and `|` (API names, `design.md` §2).
    Any,
}

impl ListSeparator {
    /// Splits `cell` into its values, trimmed, dropping empty ones.
    pub fn split(self, cell: &str) -> Vec<&str> {
        self.pieces(cell).collect()
    }

    /// The values of `cell`, trimmed, empty ones dropped, without collecting them.
    pub fn pieces(self, cell: &str) -> impl Iterator<Item = &str> {
        let is_sep = move |c: char| match self {
            ListSeparator::Spaces => c.is_whitespace(),
            ListSeparator::Commas => c == ',',
            ListSeparator::Pipes => c == '|',
            ListSeparator::Any => c.is_whitespace() || c == ',' || c == '|',
        };
        cell.split(is_sep).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// One input column that maps to an API column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedColumn {
    /// Zero-based position in each row's cells.
    pub index: usize,
    /// The header as written in the file.
    pub raw: String,
    /// The API name: `external_id`, or `organization_fields.<key>` / `user_fields.<key>`.
    pub canonical: String,
    /// How to split the cell into a list, for list columns.
    pub separator: Option<ListSeparator>,
}

impl MappedColumn {
    /// The custom field key, for `organization_fields.<key>` and `user_fields.<key>` columns.
    pub fn custom_field_key(&self) -> Option<&str> {
        ["organization_fields.", "user_fields."]
            .iter()
            .find_map(|prefix| self.canonical.strip_prefix(prefix))
    }
}

/// A header mapped to API names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedHeader {
    /// One entry per input column, in file order; `None` for a column that is read past
    /// (`zdbulk_error`, a blank header, one `--map` renames to nothing).
    pub columns: Vec<Option<MappedColumn>>,
    /// The naming the header follows.
    pub dialect: Dialect,
    /// Things to tell the user (ignored columns).
    pub warnings: Vec<String>,
}

impl MappedHeader {
    /// The column mapped to `canonical`, if the file has it.
    pub fn column(&self, canonical: &str) -> Option<&MappedColumn> {
        self.columns.iter().flatten().find(|c| c.canonical == canonical)
    }

    /// The cell index of `canonical`, if the file has it.
    pub fn index_of(&self, canonical: &str) -> Option<usize> {
        self.column(canonical).map(|c| c.index)
    }

    /// How `canonical`'s cells split into lists, if it is a list column in this file.
    pub fn separator(&self, canonical: &str) -> Option<ListSeparator> {
        self.column(canonical).and_then(|c| c.separator)
    }

    /// The mapped columns, in file order.
    pub fn mapped(&self) -> impl Iterator<Item = &MappedColumn> {
        self.columns.iter().flatten()
    }
}

/// A header column that cannot be mapped, and what might help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownColumn {
    /// The header as written (and, if `--map` renamed it, what it became).
    pub column: String,
    /// Why, or what was probably meant.
    pub hint: Hint,
}

/// What an [`UnknownColumn`] message adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// Nothing close.
    None,
    /// The closest known column.
    DidYouMean(String),
    /// The name belongs to the other resource (`domain_names` in a users file).
    OtherResource(&'static str),
    /// A Zendesk importer column zdbulk does not import.
    Unsupported,
    /// A custom-field prefix with no key after it.
    EmptyKey,
}

impl fmt::Display for UnknownColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A header read from a file that is not text must not write control bytes to a
        // terminal: they are shown escaped, and a long one cut.
        let mut column = String::new();
        for c in self.column.chars().take(60) {
            if c.is_control() {
                column.extend(c.escape_debug());
            } else {
                column.push(c);
            }
        }
        if self.column.chars().count() > 60 {
            column.push('…');
        }
        match &self.hint {
            Hint::None => write!(f, "unknown column '{column}'"),
            Hint::DidYouMean(known) => {
                write!(f, "unknown column '{column}' (did you mean '{known}'?)")
            }
            Hint::OtherResource(other) => {
                write!(f, "unknown column '{column}' (it is a column of {other}: wrong resource?)")
            }
            Hint::Unsupported => write!(
                f,
                "unsupported column '{column}' (Zendesk's data importer reads it, zdbulk does not: \
                 remove it, or map it to nothing with --map)"
            ),
            Hint::EmptyKey => write!(f, "column '{column}' names no custom field key"),
        }
    }
}

/// Why a header cannot be mapped.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Columns no API name matches; every one is listed.
    #[error("{}", columns.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    UnknownColumns {
        /// The columns, in file order.
        columns: Vec<UnknownColumn>,
    },
    /// Names from Zendesk's legacy importer mixed with the API's or the data importer's.
    #[error(
        "columns '{first}' ({first_origin}) and '{second}' ({second_origin}) cannot be used \
         together: use one format"
    )]
    MixedDialect {
        /// A header of the first format.
        first: String,
        /// A header of the other format.
        second: String,
        /// Where the first header's name comes from.
        first_origin: &'static str,
        /// Where the second header's name comes from.
        second_origin: &'static str,
    },
    /// Two headers that set the same API column.
    #[error("columns '{first}' and '{second}' both set '{canonical}'")]
    DuplicateColumn {
        /// The API column.
        canonical: String,
        /// The first header setting it.
        first: String,
        /// The second header setting it.
        second: String,
    },
    /// The `--map` file could not be read.
    #[error("cannot read the --map file {}", path.display())]
    MapFile {
        /// The `--map` file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: Box<super::InputError>,
    },
    /// A row of the `--map` file is not a `from,to` pair.
    #[error("row {row} of the --map file {}: {reason}", path.display())]
    MapFileRow {
        /// The `--map` file.
        path: std::path::PathBuf,
        /// The spreadsheet row.
        row: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// What one header name resolves to.
enum Resolved {
    Column { canonical: String, name: &'static str, tag: Tag },
    Ignored(Option<String>),
    Unknown(Hint),
}

/// Maps the raw header of a `resource` file to API names, after applying `renames`.
pub fn map_header(
    resource: Resource,
    raw: &[String],
    renames: Option<&Renames>,
) -> Result<MappedHeader, MappingError> {
    let table = tables::table(resource);
    let mut warnings = Vec::new();
    let mut unknown = Vec::new();
    // (index, raw, canonical, matched name, tag)
    let mut found: Vec<(usize, &str, String, &'static str, Tag)> = Vec::new();
    for (index, header) in raw.iter().enumerate() {
        let trimmed = header.trim();
        let renamed = renames.and_then(|r| r.get(trimmed));
        let name = renamed.unwrap_or(trimmed);
        let shown = match (renamed, renames.and_then(|r| r.origin(trimmed))) {
            (Some(to), Some(at)) => format!("{trimmed}' (renamed by {at}) to '{to}"),
            (Some(to), None) => format!("{trimmed}' renamed to '{to}"),
            _ => trimmed.to_string(),
        };
        if name.is_empty() {
            if renamed.is_none() {
                warnings
                    .push(format!("column {} has no header; its values are ignored", index + 1));
            }
            continue;
        }
        match resolve(table, name) {
            Resolved::Column { canonical, name, tag } => {
                found.push((index, header.as_str(), canonical, name, tag))
            }
            Resolved::Ignored(warning) => warnings.extend(warning),
            Resolved::Unknown(Hint::None) => {
                unknown.push(UnknownColumn { column: shown, hint: suggest(resource, name) })
            }
            Resolved::Unknown(hint) => unknown.push(UnknownColumn { column: shown, hint }),
        }
    }

    let first_with = |wanted: &[Tag]| found.iter().find(|f| wanted.contains(&f.4));
    let legacy = first_with(&[Tag::Legacy]);
    if let (Some(l), Some(o)) = (legacy, first_with(&[Tag::DataImporter, Tag::NotLegacy])) {
        let (first, second) = if l.0 < o.0 { (l, o) } else { (o, l) };
        return Err(MappingError::MixedDialect {
            first: first.1.trim().to_string(),
            second: second.1.trim().to_string(),
            first_origin: first.4.origin(),
            second_origin: second.4.origin(),
        });
    }
    if !unknown.is_empty() {
        return Err(MappingError::UnknownColumns { columns: unknown });
    }
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (_, raw, canonical, _, _) in &found {
        if let Some(first) = seen.insert(canonical.as_str(), raw) {
            return Err(MappingError::DuplicateColumn {
                canonical: canonical.clone(),
                first: first.trim().to_string(),
                second: raw.trim().to_string(),
            });
        }
    }

    // A data-importer organizations file uses only API names (formats §2), so it is reported as
    // `Api`; its pipe-separated lists still split, since `Any` includes `|`.
    let dialect = if legacy.is_some() {
        Dialect::Legacy
    } else if first_with(&[Tag::DataImporter]).is_some() {
        Dialect::DataImporter
    } else {
        Dialect::Api
    };
    let mut columns = vec![None; raw.len()];
    for (index, raw, canonical, name, _) in found {
        // Custom fields share their prefix's rule: `organization_fields.` stands for them all.
        let kind = canonical.split_inclusive('.').next().unwrap_or_default();
        let separator = tables::separator(resource, kind, name, dialect);
        columns[index] = Some(MappedColumn {
            index,
            raw: raw.to_string(),
            canonical: canonical.clone(),
            separator,
        });
    }
    Ok(MappedHeader { columns, dialect, warnings })
}

/// Resolves one trimmed, non-empty header name against `table`.
fn resolve(table: &tables::Table, name: &str) -> Resolved {
    // UNVERIFIED: whether Zendesk's importers ignore header case (formats §3 infers it from
    // `Name, Email` in K1). Ignoring case and surrounding spaces is the lenient reading.
    let lower = name.to_lowercase();
    if lower == ERROR_COLUMN {
        return Resolved::Ignored(None);
    }
    // `External ID`, `Domain Names`, `external-id`: spaces and hyphens read as underscores
    // (no known name holds either, so this never makes two names one).
    let normal: String =
        lower.split([' ', '-', '_']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("_");
    if let Some(entry) = table.names.iter().find(|e| e.name == lower || e.name == normal) {
        return Resolved::Column {
            canonical: entry.canonical.to_string(),
            name: entry.name,
            tag: entry.tag,
        };
    }
    for prefix in table.prefixes {
        // Compare the prefix bytes only, so the key keeps its case and its byte offsets.
        let head = name.get(..prefix.prefix.len());
        if head.is_some_and(|h| h.eq_ignore_ascii_case(prefix.prefix)) {
            let key = name[prefix.prefix.len()..].trim();
            if key.is_empty() {
                return Resolved::Unknown(Hint::EmptyKey);
            }
            return Resolved::Column {
                canonical: format!("{}{key}", prefix.canonical),
                name: prefix.prefix,
                tag: prefix.tag,
            };
        }
    }
    if let Some((_, warning)) = table.ignored.iter().find(|(n, _)| *n == lower) {
        return Resolved::Ignored(Some((*warning).to_string()));
    }
    if table.unsupported.contains(&lower.as_str()) {
        return Resolved::Unknown(Hint::Unsupported);
    }
    Resolved::Unknown(Hint::None)
}

/// The closest known name to an unknown `name`, or a note that it belongs to the other
/// resource. Spaces and dashes count as underscores, so `External ID` finds `external_id`.
fn suggest(resource: Resource, name: &str) -> Hint {
    let normal: String =
        name.to_lowercase().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c }).collect();
    let table = tables::table(resource);
    // A misspelt custom-field prefix: suggest the right prefix with the same key.
    if let Some((head, key)) = name.split_once('.') {
        let head = format!("{}.", head.trim().to_lowercase());
        let close = table
            .prefixes
            .iter()
            .map(|p| (strsim::damerau_levenshtein(&head, p.prefix), p.canonical))
            .min();
        if let Some((distance, canonical)) = close {
            if distance <= 3 {
                return Hint::DidYouMean(format!("{canonical}{}", key.trim()));
            }
        }
    }
    let close =
        table.names.iter().map(|e| (strsim::damerau_levenshtein(&normal, e.name), e.name)).min();
    if let Some((distance, known)) = close {
        if distance <= (normal.chars().count() / 3).max(1) {
            return Hint::DidYouMean(known.to_string());
        }
    }
    if let Some((other, label)) = tables::sibling(resource) {
        let other = tables::table(other);
        let is_other = other.names.iter().any(|e| e.name == normal)
            || other.prefixes.iter().any(|p| normal.starts_with(p.prefix));
        if is_other {
            return Hint::OtherResource(label);
        }
    }
    Hint::None
}

#[cfg(test)]
mod tests;
