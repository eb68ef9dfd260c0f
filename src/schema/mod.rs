//! Custom field definitions as zdbulk validates against them: read from the API's JSON
//! (`/api/v2/organization_fields`) or from a definitions file (`design.md` §2), and the checks
//! that turn a spreadsheet cell into the value Zendesk expects.
//!
//! - [`FieldDef`], [`FieldType`], [`Schema`]: the definitions.
//! - [`value`]: one cell checked against one field.
//! - [`row`]: one row checked column by column and turned into an API payload.

pub mod definitions;
pub mod row;
pub mod value;

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

/// The types of user and organization fields (`zendesk-api.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// true or false; setting it true adds the field's tag to the record.
    Checkbox,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A whole number.
    Integer,
    /// A decimal number.
    Decimal,
    /// Text matching the field's `regexp_for_validation`.
    Regexp,
    /// One option, written as its tag (`value`).
    Dropdown,
    /// Several options, written as their tags.
    Multiselect,
    /// The id of a related record.
    Lookup,
}

impl FieldType {
    /// Parses the API's `type` string.
    pub fn parse(s: &str) -> Option<FieldType> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "text" | "" => FieldType::Text,
            "textarea" => FieldType::Textarea,
            "checkbox" => FieldType::Checkbox,
            "date" => FieldType::Date,
            "integer" => FieldType::Integer,
            "decimal" => FieldType::Decimal,
            "regexp" => FieldType::Regexp,
            "dropdown" | "tagger" => FieldType::Dropdown,
            "multiselect" => FieldType::Multiselect,
            "lookup" => FieldType::Lookup,
            _ => return None,
        })
    }

    /// The API's name for the type.
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
            FieldType::Multiselect => "multiselect",
            FieldType::Lookup => "lookup",
        }
    }
}

/// One option of a dropdown or multiselect field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    /// The label users see.
    pub name: String,
    /// The tag stored on records.
    pub value: String,
}

/// One custom field definition.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// The key used in `organization_fields.<key>`.
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its type.
    pub field_type: FieldType,
    /// Inactive fields cannot be written.
    pub active: bool,
    /// The pattern of a regexp field, compiled (Ruby anchors translated).
    pub pattern: Option<Regex>,
    /// The pattern as Zendesk stores it, for messages.
    pub pattern_source: Option<String>,
    /// The tag a checkbox adds.
    pub tag: Option<String>,
    /// Dropdown and multiselect options, in order.
    pub options: Vec<FieldOption>,
}

/// A definition that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field '{key}': {reason}")]
pub struct DefinitionError {
    /// The field key (or `#N` when the key itself is missing).
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// Translates a Ruby-flavoured pattern (`\A`, `\z`, `\Z`) into Rust regex syntax.
pub fn compile_pattern(source: &str) -> Result<Regex, regex::Error> {
    let translated = source.replace("\\A", "^").replace("\\z", "$").replace("\\Z", "$");
    Regex::new(&translated)
}

impl FieldDef {
    /// Builds a definition from the API's JSON object.
    pub fn from_api(v: &Value) -> Result<FieldDef, DefinitionError> {
        let key = v.get("key").and_then(Value::as_str).unwrap_or("").to_string();
        let err = |reason: String| DefinitionError { key: key.clone(), reason };
        if key.is_empty() {
            return Err(err("has no key".into()));
        }
        let raw_type = v.get("type").and_then(Value::as_str).unwrap_or("text");
        let field_type =
            FieldType::parse(raw_type).ok_or_else(|| err(format!("unknown type '{raw_type}'")))?;
        let options = v
            .get("custom_field_options")
            .and_then(Value::as_array)
            .map(|opts| {
                opts.iter()
                    .map(|o| FieldOption {
                        name: o.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                        value: o.get("value").and_then(Value::as_str).unwrap_or("").to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let pattern_source = v
            .get("regexp_for_validation")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        FieldDef::build(
            key.clone(),
            v.get("title").and_then(Value::as_str).unwrap_or(&key).to_string(),
            field_type,
            v.get("active").and_then(Value::as_bool).unwrap_or(true),
            pattern_source,
            v.get("tag").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
            options,
        )
    }

    /// Builds a definition, compiling its pattern.
    pub fn build(
        key: String,
        title: String,
        field_type: FieldType,
        active: bool,
        pattern_source: Option<String>,
        tag: Option<String>,
        options: Vec<FieldOption>,
    ) -> Result<FieldDef, DefinitionError> {
        let pattern = match (&pattern_source, field_type) {
            (Some(src), FieldType::Regexp) => {
                Some(compile_pattern(src).map_err(|e| DefinitionError {
                    key: key.clone(),
                    reason: format!("regexp_for_validation '{src}' does not compile: {e}"),
                })?)
            }
            _ => None,
        };
        Ok(FieldDef { key, title, field_type, active, pattern, pattern_source, tag, options })
    }
}

/// The custom field definitions of one resource, by key.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: BTreeMap<String, FieldDef>,
}

impl Schema {
    /// A schema of these definitions.
    pub fn new(defs: impl IntoIterator<Item = FieldDef>) -> Schema {
        Schema { fields: defs.into_iter().map(|d| (d.key.clone(), d)).collect() }
    }

    /// Builds a schema from the API's list of field objects.
    pub fn from_api(values: &[Value]) -> Result<Schema, DefinitionError> {
        Ok(Schema::new(values.iter().map(FieldDef::from_api).collect::<Result<Vec<_>, _>>()?))
    }

    /// The definition of a key.
    pub fn get(&self, key: &str) -> Option<&FieldDef> {
        self.fields.get(key)
    }

    /// All keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// The tags checkbox fields add to records when set.
    pub fn checkbox_tags(&self) -> Vec<String> {
        self.fields
            .values()
            .filter(|f| f.field_type == FieldType::Checkbox)
            .filter_map(|f| f.tag.clone())
            .collect()
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_api_definitions() {
        let s = Schema::from_api(&[
            json!({"key": "tier", "type": "dropdown", "title": "Tier", "active": true,
                   "custom_field_options": [{"name": "Free", "value": "free"}]}),
            json!({"key": "code", "type": "regexp", "regexp_for_validation": "\\A[A-Z]{3}\\z"}),
        ])
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get("tier").unwrap().options[0].value, "free");
        let code = s.get("code").unwrap();
        assert!(code.pattern.as_ref().unwrap().is_match("ABC"));
        assert!(!code.pattern.as_ref().unwrap().is_match("ABCD"));
    }

    #[test]
    fn refuses_unknown_type_and_bad_pattern() {
        let e = FieldDef::from_api(&json!({"key": "k", "type": "colour"})).unwrap_err();
        assert_eq!(e.to_string(), "field 'k': unknown type 'colour'");
        let e = FieldDef::from_api(
            &json!({"key": "k", "type": "regexp", "regexp_for_validation": "("}),
        )
        .unwrap_err();
        assert!(e.reason.contains("does not compile"), "{e}");
    }
}
