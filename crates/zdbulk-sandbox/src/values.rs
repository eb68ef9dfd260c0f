//! Custom field values on records (`organization_fields` / `user_fields`), checked against
//! their field's definition on every write and rendered on every read.
//!
//! Stored values are kept in their read-back form, so [`render`] only fills in defaults and
//! drops what the definitions no longer allow; it never touches the stored records.

use serde_json::{Map, Number, Value};

use super::fields::{FieldDef, FieldTable, FieldType};

#[cfg(test)]
mod tests;

/// A custom field value the definitions refuse.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    /// The field key.
    pub key: String,
    /// What is wrong, naming the key and the value (wording UNVERIFIED: no recording of a
    /// refused custom field value exists).
    pub message: String,
}

/// Values that passed: normalised values to store, and tags that checkboxes add or remove.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Normalised values by key (`null` clears).
    pub values: Map<String, Value>,
    /// Tags of checkboxes set to true.
    pub add_tags: Vec<String>,
    /// Tags of checkboxes set to false or cleared.
    pub remove_tags: Vec<String>,
}

/// Checks the `organization_fields` / `user_fields` object of a write against the definitions.
/// Every problem is reported, not only the first.
pub fn check(defs: &FieldTable, input: &Map<String, Value>) -> Result<Checked, Vec<FieldProblem>> {
    let mut checked = Checked::default();
    let mut problems = Vec::new();
    for (key, value) in input {
        let problem = |message: String| FieldProblem { key: key.clone(), message };
        let Some(def) = defs.get(key) else {
            // UNVERIFIED: Zendesk may drop unknown keys silently. Refusing is the safe reading
            // for a rehearsal sandbox: it catches typos in column names before the real run.
            let known: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
            problems.push(problem(format!("{key}: no such field (fields: {})", known.join(", "))));
            continue;
        };
        if !def.active {
            // UNVERIFIED: Zendesk may accept values for inactive fields; refusing shows the
            // client a value it would not see in the agent interface.
            problems.push(problem(format!("{key}: the field is inactive")));
            continue;
        }
        match normalise(def, value) {
            Ok(stored) => {
                if let (FieldType::Checkbox, Some(tag)) = (def.field_type, &def.tag) {
                    // As recorded in R3: a checked box adds its tag, false or null removes it.
                    if stored == Value::Bool(true) {
                        checked.add_tags.push(tag.clone());
                    } else {
                        checked.remove_tags.push(tag.clone());
                    }
                }
                checked.values.insert(key.clone(), stored);
            }
            Err(message) => problems.push(problem(format!("{key}: {message}"))),
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// How a value appears in a message: strings quoted, anything else as JSON.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// The stored form of one value, or why it is refused (without the key).
fn normalise(def: &FieldDef, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    // UNVERIFIED: an empty string clears every non-text field (Zendesk's agent interface
    // clears a field that way); text fields store it as given.
    if value.as_str().is_some_and(|s| s.trim().is_empty())
        && !matches!(def.field_type, FieldType::Text | FieldType::Textarea)
    {
        return Ok(Value::Null);
    }
    match def.field_type {
        FieldType::Text | FieldType::Textarea => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => Err(format!("{} is not text", show(value))),
        },
        // UNVERIFIED: whether "true"/"1" strings are accepted; only JSON booleans are, so a
        // client that sends strings finds out here rather than on the real account.
        FieldType::Checkbox => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(format!("{} is not true or false", show(value))),
        },
        FieldType::Date => value
            .as_str()
            .and_then(parse_date)
            .map(Value::String)
            .ok_or_else(|| format!("{} is not a date (YYYY-MM-DD)", show(value))),
        FieldType::Integer => {
            integer(value).ok_or_else(|| format!("{} is not an integer", show(value)))
        }
        FieldType::Decimal => {
            decimal(value).ok_or_else(|| format!("{} is not a number", show(value)))
        }
        FieldType::Regexp => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(format!("{} is not text", show(value))),
            };
            let pattern = def.regexp_for_validation.as_deref().unwrap_or("");
            match def.pattern() {
                Some(re) if re.is_match(&text) => Ok(Value::String(text)),
                _ => Err(format!("'{text}' does not match {pattern}")),
            }
        }
        FieldType::Dropdown => match option_value(value) {
            Some(tag) if def.has_option(&tag) => Ok(Value::String(tag)),
            _ => Err(not_an_option(def, value)),
        },
        FieldType::Multiselect => {
            // A single value is accepted as a list of one.
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            let mut tags: Vec<Value> = Vec::with_capacity(items.len());
            for item in items {
                match option_value(item) {
                    Some(tag) if def.has_option(&tag) => {
                        let tag = Value::String(tag);
                        if !tags.contains(&tag) {
                            tags.push(tag);
                        }
                    }
                    _ => return Err(not_an_option(def, item)),
                }
            }
            // UNVERIFIED: an empty list is stored as a cleared field (null).
            Ok(if tags.is_empty() { Value::Null } else { Value::Array(tags) })
        }
        // UNVERIFIED: whether the target record must exist; definitions alone cannot tell,
        // so only the id's form is checked.
        FieldType::Lookup => {
            let id = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse::<u64>().ok()));
            match id {
                Some(id) if id > 0 => Ok(Value::from(id)),
                _ => Err(format!("{} is not a record id", show(value))),
            }
        }
    }
}

/// A dropdown or multiselect value: the option's tag (numbers are read as their text).
fn option_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn not_an_option(def: &FieldDef, value: &Value) -> String {
    let options: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
    format!("{} is not an option (options: {})", show(value), options.join(", "))
}

/// A whole number, from a JSON integer or a string of one.
fn integer(value: &Value) -> Option<Value> {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(value.clone()),
        Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
        _ => None,
    }
}

/// A decimal number, from a JSON number or a numeric string (digits, sign, point, exponent).
fn decimal(value: &Value) -> Option<Value> {
    match value {
        Value::Number(_) => Some(value.clone()),
        Value::String(s) => {
            let s = s.trim();
            // `f64::from_str` also reads "inf" and "NaN", which are no decimals.
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
                return None;
            }
            if let Ok(i) = s.parse::<i64>() {
                return Some(Value::from(i));
            }
            s.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number)
        }
        _ => None,
    }
}

/// `YYYY-MM-DD`, or an ISO datetime whose date part is kept (R3 sent
/// `2020-08-19T20:50:04.000Z`), as the read-back form R3 shows: `2020-08-19T00:00:00+00:00`.
/// UNVERIFIED: a datetime with an offset keeps the date as written, not converted to UTC.
fn parse_date(text: &str) -> Option<String> {
    let text = text.trim();
    let date = text.get(..10)?;
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)) {
        return None;
    }
    let (year, month, day) =
        (date[..4].parse().ok()?, date[5..7].parse().ok()?, date[8..].parse().ok()?);
    chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let rest = &text[10..];
    if !rest.is_empty() {
        let full_ok = chrono::DateTime::parse_from_rfc3339(text).is_ok()
            || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
            || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").is_ok();
        if !full_ok {
            return None;
        }
    }
    Some(format!("{date}T00:00:00+00:00"))
}

/// Renders stored values with every defined key present (unset: null, checkbox: false).
/// Values the definitions no longer allow (an option removed, a key re-created with another
/// type) render as null, or are filtered out of a multiselect list.
pub fn render(defs: &FieldTable, stored: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::with_capacity(defs.len());
    for def in defs.iter() {
        let value = shown(def, stored.get(&def.key).unwrap_or(&Value::Null));
        out.insert(def.key.clone(), value);
    }
    out
}

/// One stored value as it reads back. Cheap: a kind check, or an option scan.
fn shown(def: &FieldDef, value: &Value) -> Value {
    let keep = match def.field_type {
        FieldType::Checkbox => return Value::Bool(value.as_bool().unwrap_or(false)),
        FieldType::Text | FieldType::Textarea | FieldType::Date | FieldType::Regexp => {
            value.is_string()
        }
        FieldType::Integer | FieldType::Lookup => value.is_i64() || value.is_u64(),
        FieldType::Decimal => value.is_number(),
        FieldType::Dropdown => value.as_str().is_some_and(|tag| def.has_option(tag)),
        FieldType::Multiselect => {
            let Some(items) = value.as_array() else { return Value::Null };
            let kept: Vec<Value> = items
                .iter()
                .filter(|v| v.as_str().is_some_and(|tag| def.has_option(tag)))
                .cloned()
                .collect();
            return if kept.is_empty() { Value::Null } else { Value::Array(kept) };
        }
    };
    if keep {
        value.clone()
    } else {
        Value::Null
    }
}
