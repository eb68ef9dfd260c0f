//! One spreadsheet cell checked against one custom field and turned into the JSON value the
//! API expects. Errors are the reason only (`'Gold' is not an option (options: …)`); the
//! caller adds the row and column.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::{FieldDef, FieldType};
use crate::input::mapping::ListSeparator;

/// Parses a boolean the way the design allows: true/false, yes/no, 1/0, in any case.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Reads `YYYY-MM-DD` (or `/`) without the general format parser: the common case of a
/// million-row file.
fn fast_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || !(b[4] == b'-' && b[7] == b'-' || b[4] == b'/' && b[7] == b'/') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// Parses a date cell: `YYYY-MM-DD`, `YYYY/MM/DD`, or an ISO date-time (its date part).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    if let Some(d) = fast_date(s) {
        return Some(d);
    }
    let date_part = s.split(['T', ' ']).next().unwrap_or(s);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date_part, "%Y/%m/%d"))
        .ok()
        .filter(|_| date_part.len() >= 8)
}

fn options_list(def: &FieldDef) -> String {
    def.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(", ")
}

/// Resolves one dropdown/multiselect entry: a tag (exact, then case-insensitive) or a label
/// (case-insensitive), which is turned into its tag.
fn resolve_option(def: &FieldDef, raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if let Some(o) = def.options.iter().find(|o| o.value == s) {
        return Ok(o.value.clone());
    }
    if let Some(o) = def
        .options
        .iter()
        .find(|o| o.value.eq_ignore_ascii_case(s) || o.name.trim().eq_ignore_ascii_case(s))
    {
        return Ok(o.value.clone());
    }
    Err(format!("'{s}' is not an option (options: {})", options_list(def)))
}

/// Checks a non-empty cell against a field and returns the API value.
pub fn parse_cell(def: &FieldDef, raw: &str, separator: ListSeparator) -> Result<Value, String> {
    if !def.active {
        return Err(format!("field '{}' is inactive and cannot be written", def.key));
    }
    let s = raw.trim();
    match def.field_type {
        FieldType::Text | FieldType::Textarea => Ok(json!(raw)),
        FieldType::Checkbox => parse_bool(s).map(Value::Bool).ok_or_else(|| {
            format!("'{s}' is not a checkbox value (use true/false, yes/no or 1/0)")
        }),
        FieldType::Date => parse_date(s)
            .map(|d| {
                use chrono::Datelike as _;
                json!(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
            })
            .ok_or_else(|| format!("'{s}' is not a date (use YYYY-MM-DD)")),
        FieldType::Integer => {
            s.parse::<i64>().map(|n| json!(n)).map_err(|_| format!("'{s}' is not a whole number"))
        }
        FieldType::Decimal => match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(json!(x)),
            _ => Err(format!("'{s}' is not a decimal number")),
        },
        FieldType::Regexp => match &def.pattern {
            Some(p) if !p.is_match(s) => Err(format!(
                "'{s}' does not match the field's pattern {}",
                def.pattern_source.as_deref().unwrap_or("")
            )),
            _ => Ok(json!(s)),
        },
        FieldType::Dropdown => resolve_option(def, s).map(Value::String),
        FieldType::Multiselect => {
            let mut tags = Vec::new();
            for part in separator.split(s) {
                let tag = resolve_option(def, part)?;
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            Ok(json!(tags))
        }
        FieldType::Lookup => match s.parse::<u64>() {
            Ok(id) if id > 0 => Ok(json!(id)),
            _ => Err(format!("'{s}' is not the id of a record")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{FieldDef, FieldOption, FieldType};

    const SEPS: ListSeparator = ListSeparator::Any;

    fn def(t: FieldType) -> FieldDef {
        let options = ["free", "pro", "enterprise"]
            .iter()
            .map(|v| FieldOption {
                name: format!("{}{}", v[..1].to_uppercase(), &v[1..]),
                value: v.to_string(),
            })
            .collect();
        let pattern = (t == FieldType::Regexp).then(|| "\\A[A-Z]{3}-[0-9]{4}\\z".to_string());
        FieldDef::build("f".into(), "F".into(), t, true, pattern, None, options).unwrap()
    }

    #[test]
    fn text_keeps_the_cell() {
        assert_eq!(parse_cell(&def(FieldType::Text), " a b ", SEPS).unwrap(), json!(" a b "));
        assert_eq!(parse_cell(&def(FieldType::Textarea), "x\ny", SEPS).unwrap(), json!("x\ny"));
    }

    #[test]
    fn checkbox_accepts_the_documented_spellings() {
        let d = def(FieldType::Checkbox);
        for (raw, want) in [
            ("TRUE", true),
            ("yes", true),
            ("1", true),
            ("False", false),
            ("NO", false),
            ("0", false),
        ] {
            assert_eq!(parse_cell(&d, raw, SEPS).unwrap(), json!(want), "{raw}");
        }
        assert!(parse_cell(&d, "maybe", SEPS)
            .unwrap_err()
            .contains("'maybe' is not a checkbox value"));
    }

    #[test]
    fn date_is_normalised_and_checked() {
        let d = def(FieldType::Date);
        assert_eq!(parse_cell(&d, "2024-02-29", SEPS).unwrap(), json!("2024-02-29"));
        assert_eq!(parse_cell(&d, "2024/03/01", SEPS).unwrap(), json!("2024-03-01"));
        assert_eq!(parse_cell(&d, "2024-03-01T10:00:00Z", SEPS).unwrap(), json!("2024-03-01"));
        assert!(parse_cell(&d, "2023-02-29", SEPS).unwrap_err().contains("is not a date"));
        assert!(parse_cell(&d, "tomorrow", SEPS).is_err());
    }

    #[test]
    fn integer_and_decimal() {
        assert_eq!(parse_cell(&def(FieldType::Integer), " 42 ", SEPS).unwrap(), json!(42));
        assert!(parse_cell(&def(FieldType::Integer), "4.5", SEPS)
            .unwrap_err()
            .contains("not a whole number"));
        assert_eq!(parse_cell(&def(FieldType::Decimal), "4.5", SEPS).unwrap(), json!(4.5));
        assert!(parse_cell(&def(FieldType::Decimal), "NaN", SEPS).is_err());
        assert!(parse_cell(&def(FieldType::Decimal), "abc", SEPS)
            .unwrap_err()
            .contains("not a decimal"));
    }

    #[test]
    fn regexp_uses_the_pattern() {
        let d = def(FieldType::Regexp);
        assert_eq!(parse_cell(&d, "ABC-1234", SEPS).unwrap(), json!("ABC-1234"));
        assert!(parse_cell(&d, "abc-1234", SEPS).unwrap_err().contains("does not match"));
    }

    #[test]
    fn dropdown_takes_tags_or_labels_and_names_the_options() {
        let d = def(FieldType::Dropdown);
        assert_eq!(parse_cell(&d, "pro", SEPS).unwrap(), json!("pro"));
        assert_eq!(parse_cell(&d, "Enterprise", SEPS).unwrap(), json!("enterprise"));
        assert_eq!(
            parse_cell(&d, "Gold", SEPS).unwrap_err(),
            "'Gold' is not an option (options: free, pro, enterprise)"
        );
    }

    #[test]
    fn multiselect_splits_resolves_and_dedups() {
        let d = def(FieldType::Multiselect);
        assert_eq!(parse_cell(&d, "free|Pro, pro", SEPS).unwrap(), json!(["free", "pro"]));
        assert!(parse_cell(&d, "free gold", SEPS).unwrap_err().contains("'gold' is not an option"));
    }

    #[test]
    fn lookup_needs_an_id() {
        assert_eq!(parse_cell(&def(FieldType::Lookup), "123", SEPS).unwrap(), json!(123));
        assert!(parse_cell(&def(FieldType::Lookup), "acme", SEPS).is_err());
    }

    #[test]
    fn inactive_fields_refuse_writes() {
        let mut d = def(FieldType::Text);
        d.active = false;
        assert!(parse_cell(&d, "x", SEPS).unwrap_err().contains("inactive"));
    }
}
