//! One spreadsheet cell checked against one custom field and turned into the JSON value the
//! API expects. Errors are the reason only (`'Gold' is not an option (options: …)`); the
//! caller adds the row and column.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::{FieldDef, FieldType};
use crate::input::mapping::ListSeparator;

/// `str::trim`, with a fast path for the usual cell, which neither starts nor ends with
/// whitespace or a non-ASCII character (every Unicode space is one of those).
pub fn trim(s: &str) -> &str {
    let plain = |b: &u8| *b > b' ' && b.is_ascii();
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if plain(a) && plain(b) => s,
        (None, _) | (_, None) => s,
        _ => s.trim(),
    }
}

/// Parses a boolean the way the design allows: true/false, yes/no, 1/0, in any case.
pub fn parse_bool(raw: &str) -> Option<bool> {
    let s = trim(raw);
    let is = |word: &str| s.eq_ignore_ascii_case(word);
    if is("true") || is("yes") || s == "1" {
        Some(true)
    } else if is("false") || is("no") || s == "0" {
        Some(false)
    } else {
        None
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

/// Parses a date cell: `YYYY-MM-DD`, `YYYY/MM/DD`, or an ISO date-time (its date part). The
/// year is 1 to 9999: chrono also reads `-001` and `20240`, which the API's `YYYY-MM-DD`
/// cannot hold (and which are typos).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    use chrono::Datelike as _;
    let s = trim(raw);
    if let Some(d) = fast_date(s) {
        return Some(d).filter(|d| d.year() >= 1);
    }
    let date_part = s.split(['T', ' ']).next().unwrap_or(s);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date_part, "%Y/%m/%d"))
        .ok()
        .filter(|d| date_part.len() >= 8 && (1..=9999).contains(&d.year()))
}

fn options_list(def: &FieldDef) -> String {
    def.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(", ")
}

/// Resolves one dropdown/multiselect entry: a tag (exact, then case-insensitive) or a label
/// (case-insensitive), which is turned into its tag.
fn resolve_option<'d>(def: &'d FieldDef, raw: &str) -> Result<&'d str, String> {
    let s = trim(raw);
    if let Some(o) = def.options.iter().find(|o| o.value == s) {
        return Ok(&o.value);
    }
    if let Some(o) = def
        .options
        .iter()
        .find(|o| o.value.eq_ignore_ascii_case(s) || trim(&o.name).eq_ignore_ascii_case(s))
    {
        return Ok(&o.value);
    }
    Err(format!("'{s}' is not an option (options: {})", options_list(def)))
}

/// A cell that passed its field's check, still borrowed from the cell or the field's options:
/// checking allocates nothing (`zdbulk validate` checks millions of cells), and only an import
/// turns it into the API value with [`Checked::into_json`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Checked<'a> {
    /// Text kept as written (text, textarea).
    Text(&'a str),
    /// A checkbox.
    Bool(bool),
    /// A date.
    Date(NaiveDate),
    /// A whole number.
    Integer(i64),
    /// A decimal number.
    Decimal(f64),
    /// A trimmed value that matched the field's pattern.
    Matched(&'a str),
    /// A dropdown option's tag.
    Tag(&'a str),
    /// A multiselect cell (trimmed) whose every entry is an option.
    Tags(&'a str, ListSeparator),
    /// The id of a lookup field's record.
    Id(u64),
}

impl Checked<'_> {
    /// The value the API expects for this cell of `def`.
    pub fn into_json(self, def: &FieldDef) -> Value {
        match self {
            Checked::Text(s) | Checked::Matched(s) | Checked::Tag(s) => json!(s),
            Checked::Bool(b) => json!(b),
            Checked::Date(d) => {
                use chrono::Datelike as _;
                json!(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
            }
            Checked::Integer(n) => json!(n),
            Checked::Decimal(x) => json!(x),
            Checked::Tags(s, separator) => {
                let mut tags: Vec<&str> = Vec::new();
                // Every entry resolved when the cell was checked; a repeat is sent once.
                for tag in separator.pieces(s).filter_map(|p| resolve_option(def, p).ok()) {
                    if !tags.contains(&tag) {
                        tags.push(tag);
                    }
                }
                json!(tags)
            }
            Checked::Id(id) => json!(id),
        }
    }
}

/// Checks a non-empty cell against a field, allocating nothing unless the cell is invalid.
pub fn check_cell<'a>(
    def: &'a FieldDef,
    raw: &'a str,
    separator: ListSeparator,
) -> Result<Checked<'a>, String> {
    if !def.active {
        return Err(format!("field '{}' is inactive and cannot be written", def.key));
    }
    let s = trim(raw);
    match def.field_type {
        FieldType::Text | FieldType::Textarea => Ok(Checked::Text(raw)),
        FieldType::Checkbox => parse_bool(s).map(Checked::Bool).ok_or_else(|| {
            format!("'{s}' is not a checkbox value (use true/false, yes/no or 1/0)")
        }),
        FieldType::Date => parse_date(s)
            .map(Checked::Date)
            .ok_or_else(|| format!("'{s}' is not a date (use YYYY-MM-DD)")),
        FieldType::Integer => s
            .parse::<i64>()
            .map(Checked::Integer)
            .map_err(|_| format!("'{s}' is not a whole number")),
        FieldType::Decimal => match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Checked::Decimal(x)),
            _ => Err(format!("'{s}' is not a decimal number")),
        },
        FieldType::Regexp => match &def.pattern {
            Some(p) if !p.is_match(s) => Err(format!(
                "'{s}' does not match the field's pattern {}",
                def.pattern_source.as_deref().unwrap_or("")
            )),
            _ => Ok(Checked::Matched(s)),
        },
        FieldType::Dropdown => resolve_option(def, s).map(Checked::Tag),
        FieldType::Multiselect => {
            for part in separator.pieces(s) {
                resolve_option(def, part)?;
            }
            Ok(Checked::Tags(s, separator))
        }
        FieldType::Lookup => match s.parse::<u64>() {
            Ok(id) if id > 0 => Ok(Checked::Id(id)),
            _ => Err(format!("'{s}' is not the id of a record")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{FieldDef, FieldOption, FieldType};

    const SEPS: ListSeparator = ListSeparator::Any;

    /// Checks a cell and returns the API value, as an import sends it.
    fn parse_cell(def: &FieldDef, raw: &str, separator: ListSeparator) -> Result<Value, String> {
        check_cell(def, raw, separator).map(|c| c.into_json(def))
    }

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
    fn trim_matches_str_trim() {
        for s in
            ["", " ", "a", " a", "a ", "\ta b\n", "é ", " é", "\u{a0}x\u{a0}", "x\u{2003}", "~"]
        {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
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
