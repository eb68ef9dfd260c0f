//! Custom field values on records, checked against their field's definition. (Stub: being
//! written.)

use serde_json::{Map, Value};

use super::fields::FieldTable;

/// A custom field value the definitions refuse.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    /// The field key.
    pub key: String,
    /// What is wrong, as Zendesk would word it.
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
pub fn check(_defs: &FieldTable, input: &Map<String, Value>) -> Result<Checked, Vec<FieldProblem>> {
    Ok(Checked { values: input.clone(), ..Default::default() })
}

/// Renders stored values with every defined key present (unset: null, checkbox: false).
pub fn render(_defs: &FieldTable, stored: &Map<String, Value>) -> Map<String, Value> {
    stored.clone()
}
