//! Field definitions read from a file (`design.md` §2): the columns `key, title, type,
//! description, position, active, regexp_for_validation, tag, options`, where `options` is
//! `Label=tag; Other label=other_tag`. `zdbulk validate --fields DEFS` checks rows against
//! such a file with no network at all.

use std::path::Path;

use anyhow::{anyhow, Context as _};

use super::row::DefColumn;
use super::value::parse_bool;
use super::{compile_pattern, FieldDef, FieldOption, FieldType, Schema};
use crate::input::open_input;

/// Parses an `options` cell: `Label=tag; Other label=other_tag` (a bare `tag` is its own label).
pub fn parse_options(cell: &str) -> Result<Vec<FieldOption>, String> {
    let mut out = Vec::new();
    for part in cell.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = match part.rsplit_once('=') {
            Some((n, v)) => (n.trim(), v.trim()),
            None => (part, part),
        };
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(format!("option '{part}' needs a tag without spaces after '='"));
        }
        out.push(FieldOption { name: name.to_string(), value: value.to_string() });
    }
    Ok(out)
}

/// Checks one cell of a definitions file's column that has rules of its own, and gives its API
/// value (`options` as `custom_field_options`).
pub fn definition_cell(column: DefColumn, cell: &str) -> Result<serde_json::Value, String> {
    use serde_json::json;
    match column {
        DefColumn::Key => {
            let ok = cell.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(format!(
                    "'{cell}' is not a field key: use letters, digits and underscores only"
                ));
            }
            if cell.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("'{cell}' is not a field key: it cannot be digits only"));
            }
            Ok(json!(cell))
        }
        DefColumn::Type => match FieldType::parse(cell) {
            Some(t) => Ok(json!(t.as_str())),
            None => Err(format!(
                "'{cell}' is not a field type (text, textarea, checkbox, date, integer, decimal, regexp, dropdown, multiselect, lookup)"
            )),
        },
        DefColumn::Options => {
            let options = parse_options(cell)?;
            let mut seen: Vec<&str> = Vec::new();
            for o in &options {
                if seen.contains(&o.value.as_str()) {
                    return Err(format!(
                        "tag '{}' is used by two options; each option needs its own tag",
                        o.value
                    ));
                }
                seen.push(&o.value);
            }
            Ok(json!(options
                .iter()
                .map(|o| json!({"name": o.name, "value": o.value}))
                .collect::<Vec<_>>()))
        }
        DefColumn::Pattern => match compile_pattern(cell) {
            Ok(_) => Ok(json!(cell)),
            Err(e) => {
                let text = e.to_string();
                let why = text.lines().last().unwrap_or_default().trim_start_matches("error: ");
                Err(format!("'{cell}' is not a pattern that compiles ({why})"))
            }
        },
        DefColumn::Position => cell
            .parse::<u64>()
            .map(|n| json!(n))
            .map_err(|_| format!("'{cell}' is not a position (a whole number)")),
    }
}

/// Reads a definitions file (CSV or XLSX) into a schema. Errors name the file, row and column.
pub fn read_definitions(path: &Path) -> anyhow::Result<Schema> {
    let input = open_input(path, None)?;
    let names: Vec<String> =
        input.header().names().iter().map(|n| n.trim().to_lowercase()).collect();
    let col = |name: &str| names.iter().position(|n| n == name);
    let key_col = col("key").ok_or_else(|| anyhow!("{}: no 'key' column", path.display()))?;
    let (title, typ, active, pattern, tag, options) = (
        col("title"),
        col("type"),
        col("active"),
        col("regexp_for_validation"),
        col("tag"),
        col("options"),
    );
    let mut defs = Vec::new();
    // The row each key was defined in: a key given twice would silently replace a field.
    let mut rows_of = std::collections::HashMap::new();
    for row in input {
        let row = row?;
        let cell =
            |i: Option<usize>| i.and_then(|i| row.cells.get(i)).map(|s| s.trim()).unwrap_or("");
        let at = |column: &str| format!("{}, row {}, {column}", path.display(), row.number);
        let key = cell(Some(key_col)).to_string();
        if key.is_empty() {
            return Err(anyhow!("{}: a field needs a key", at("key")));
        }
        if let Some(first) = rows_of.insert(key.clone(), row.number) {
            return Err(anyhow!("{}: field '{key}' is already defined in row {first}", at("key")));
        }
        let raw_type = cell(typ);
        let field_type = FieldType::parse(raw_type)
            .ok_or_else(|| anyhow!("{}: '{raw_type}' is not a field type", at("type")))?;
        let is_active = match cell(active) {
            "" => true,
            v => {
                parse_bool(v).ok_or_else(|| anyhow!("{}: '{v}' is not true/false", at("active")))?
            }
        };
        let opts = parse_options(cell(options)).map_err(|e| anyhow!("{}: {e}", at("options")))?;
        let def = FieldDef::build(
            key.clone(),
            if cell(title).is_empty() { key.clone() } else { cell(title).to_string() },
            field_type,
            is_active,
            Some(cell(pattern).to_string()).filter(|s| !s.is_empty()),
            Some(cell(tag).to_string()).filter(|s| !s.is_empty()),
            opts,
        )
        .with_context(|| at("regexp_for_validation"))?;
        defs.push(def);
    }
    Ok(Schema::new(defs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_cell_parses_labels_and_tags() {
        let o = parse_options("Free=free; Pro plan=pro ;enterprise").unwrap();
        let pairs: Vec<(&str, &str)> =
            o.iter().map(|o| (o.name.as_str(), o.value.as_str())).collect();
        assert_eq!(
            pairs,
            vec![("Free", "free"), ("Pro plan", "pro"), ("enterprise", "enterprise")]
        );
        assert!(parse_options("Bad=two words").is_err());
    }

    #[test]
    fn reads_a_definitions_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fields.csv");
        std::fs::write(
            &path,
            "key,title,type,active,regexp_for_validation,tag,options\n\
             tier,Tier,dropdown,true,,,Free=free; Pro=pro\n\
             code,Code,regexp,,^[A-Z]{3}$,,\n\
             partner,Partner,checkbox,false,,partner_org,\n",
        )
        .unwrap();
        let s = read_definitions(&path).unwrap();
        assert_eq!(s.get("tier").unwrap().options.len(), 2);
        assert!(s.get("code").unwrap().pattern.as_ref().unwrap().is_match("ABC"));
        assert!(!s.get("partner").unwrap().active);
        std::fs::write(&path, "key,type\nx,colour\n").unwrap();
        let err = read_definitions(&path).unwrap_err().to_string();
        assert!(err.ends_with("fields.csv, row 2, type: 'colour' is not a field type"), "{err}");
    }
}
