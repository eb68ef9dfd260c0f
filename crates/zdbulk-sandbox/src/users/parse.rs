//! Reading the values of a user write: text, ids, booleans, tags, email addresses. Each
//! returns `Err(())` for a value of the wrong JSON type; the caller words the problem.

use serde_json::Value;

/// Whether `email` looks like an address Zendesk accepts: one `@`, a local part without
/// spaces, and a domain of dot-separated labels ending in an alphabetic top-level label.
/// (C1 shows `error@example.com_` refused.)
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    if local.is_empty() || domain.contains('@') || email.chars().any(char::is_whitespace) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld_ok = labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(char::is_alphabetic));
    labels.iter().all(label_ok) && tld_ok
}

/// A text value: null clears; numbers are taken as their text (external ids and phones are
/// often numeric in spreadsheets). `Err` for anything else.
pub fn text(value: &Value) -> Result<Option<String>, ()> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(()),
    }
}

/// A trimmed text value where blank means none.
pub fn trimmed(value: &Value) -> Result<Option<String>, ()> {
    Ok(text(value)?.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
}

/// An id value: null or "" clears; a number or a string of digits.
pub fn id_value(value: &Value) -> Result<Option<u64>, ()> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or(()),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

/// A boolean value; "true"/"false" strings are accepted as form posts send them.
pub fn boolean(value: &Value) -> Result<bool, ()> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(()),
    }
}

/// Tags: an array of strings, or one string of space- or comma-separated tags; null clears.
/// Duplicates are dropped, first one kept.
pub fn tag_list(value: &Value) -> Result<Vec<String>, ()> {
    let raw: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(s) => s.split([' ', ',']).map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or(()))
            .collect::<Result<_, _>>()?,
        _ => return Err(()),
    };
    let mut tags: Vec<String> = Vec::new();
    for tag in raw.into_iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn email_format() {
        for good in ["a@b.co", "first.last+tag@sub.example.com", "x_y@ex-ample.org"] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "badmail",
            "@b.co",
            "a@b",
            "a@@b.co",
            "a b@c.co",
            "error@example.com_",
            "a@-b.co",
            "a@b..co",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn tags_accept_strings_and_arrays_and_drop_duplicates() {
        assert_eq!(tag_list(&json!("a b,c a")).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(tag_list(&json!(["x", "x", " y "])).unwrap(), vec!["x", "y"]);
        assert!(tag_list(&json!([1])).is_err());
        assert!(tag_list(&json!(null)).unwrap().is_empty());
    }

    #[test]
    fn ids_booleans_and_texts() {
        assert_eq!(id_value(&json!("12")), Ok(Some(12)));
        assert_eq!(id_value(&json!("")), Ok(None));
        assert!(id_value(&json!(-1)).is_err());
        assert_eq!(boolean(&json!("TRUE")), Ok(true));
        assert!(boolean(&json!(1)).is_err());
        assert_eq!(text(&json!(123)), Ok(Some("123".into())));
        assert_eq!(trimmed(&json!("  ")), Ok(None));
        assert!(text(&json!({})).is_err());
    }
}
