//! The plan of a merge: for each pair, how many users and domain names move to the winner,
//! and which of the loser's values Zendesk would drop (custom field values, tags, details,
//! notes: "other organization fields and their values will not be carried over"). With
//! `--keep-fields` the loser's values are copied onto the winner where the winner has none,
//! before the merge; the plan says which.
//!
//! Each value is a `changes.csv` line: `old` is the loser's value, `new` what the winner holds
//! after the merge (empty: the value is lost).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::account::Account;
use super::pairs::Pair;
use crate::pipeline::diff::ValueChange;

/// What merging one pair does.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// Users (memberships) that move.
    pub(crate) users: usize,
    /// Domain names that move.
    pub(crate) domains: usize,
    /// The loser's values, and what the winner holds afterwards.
    pub(crate) changes: Vec<ValueChange>,
}

impl Step {
    /// The report's note for the pair.
    pub(crate) fn note(&self, account: &Account, pair: &Pair) -> String {
        let lost = self.changes.iter().filter(|c| is_empty(&c.new) || c.new != c.old).count();
        let mut note = format!(
            "into {}: {} users and {} domain names move; {} values of the loser are lost",
            account.label(pair.winner),
            self.users,
            self.domains,
            lost
        );
        if let Some(chain) = &pair.chain {
            note.push_str("; ");
            note.push_str(chain);
        }
        note
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Plans every valid pair; with `keep`, also the values to write onto each winner first
/// (the `organization` body of one update a winner).
pub(crate) fn plan(
    account: &Account,
    pairs: &[Pair],
    keep: bool,
) -> (HashMap<usize, Step>, HashMap<u64, Map<String, Value>>) {
    let mut steps = HashMap::new();
    let mut writes: HashMap<u64, Map<String, Value>> = HashMap::new();
    for p in pairs.iter().filter(|p| p.invalid.is_none()) {
        let (Some(l), Some(w)) = (account.get(p.loser), account.get(p.winner)) else { continue };
        let write = writes.entry(p.winner).or_default();
        let mut changes = Vec::new();
        // Standard text fields, then custom fields, then tags.
        let mut values: Vec<(String, Value, Value)> = vec![
            ("details".into(), json_str(&l.details), json_str(&w.details)),
            ("notes".into(), json_str(&l.notes), json_str(&w.notes)),
        ];
        for (k, v) in &l.organization_fields {
            let now = w.organization_fields.get(k).cloned().unwrap_or(Value::Null);
            values.push((format!("organization_fields.{k}"), v.clone(), now));
        }
        for (column, old, winner_has) in values {
            if is_empty(&old) || old == winner_has {
                continue;
            }
            let planned = planned_value(write, &column);
            let new = match (is_empty(&winner_has), planned) {
                (false, _) => winner_has,
                (true, Some(v)) => v,
                (true, None) if keep => {
                    set_planned(write, &column, old.clone());
                    old.clone()
                }
                (true, None) => Value::Null,
            };
            changes.push(ValueChange { column, old, new });
        }
        let missing: Vec<String> = l.tags.iter().filter(|t| !w.tags.contains(t)).cloned().collect();
        if !missing.is_empty() {
            if keep {
                let mut all: Vec<Value> = match write.get("tags") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => w.tags.iter().map(|t| Value::from(t.as_str())).collect(),
                };
                for t in &missing {
                    if !all.iter().any(|x| x.as_str() == Some(t)) {
                        all.push(Value::from(t.as_str()));
                    }
                }
                write.insert("tags".into(), Value::Array(all));
            }
            let list = Value::Array(missing.iter().map(|t| Value::from(t.as_str())).collect());
            let new = if keep { list.clone() } else { Value::Null };
            changes.push(ValueChange { column: "tags".into(), old: list, new });
        }
        let domains = l
            .domain_names
            .iter()
            .filter(|d| !w.domain_names.iter().any(|x| x.eq_ignore_ascii_case(d)))
            .count();
        steps.insert(p.seq, Step { users: account.members(p.loser), domains, changes });
    }
    writes.retain(|_, w| !w.is_empty());
    (steps, writes)
}

fn json_str(s: &Option<String>) -> Value {
    s.as_deref().map(Value::from).unwrap_or(Value::Null)
}

fn planned_value(write: &Map<String, Value>, column: &str) -> Option<Value> {
    match column.strip_prefix("organization_fields.") {
        Some(k) => write.get("organization_fields").and_then(|f| f.get(k)).cloned(),
        None => write.get(column).cloned(),
    }
}

fn set_planned(write: &mut Map<String, Value>, column: &str, v: Value) {
    match column.strip_prefix("organization_fields.") {
        Some(k) => {
            let fields =
                write.entry("organization_fields").or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(f) = fields {
                f.insert(k.to_string(), v);
            }
        }
        None => {
            write.insert(column.to_string(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zendesk::models::Organization;
    use serde_json::json;

    fn org(v: Value) -> Organization {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn names_what_is_lost_and_what_keep_fields_keeps() {
        let acc = Account::new(
            vec![
                org(json!({"id": 1, "name": "L", "notes": "n", "tags": ["a", "b"],
                    "domain_names": ["l.com"], "organization_fields": {"tier": "gold", "region": "eu"}})),
                org(
                    json!({"id": 2, "name": "W", "tags": ["a"], "organization_fields": {"tier": "free", "region": null}}),
                ),
            ],
            HashMap::from([(1, 3)]),
        );
        let pair = Pair {
            seq: 0,
            row: 2,
            key: "L -> W".into(),
            original: vec![],
            loser: 1,
            winner: 2,
            invalid: None,
            chain: None,
        };
        let (steps, writes) = plan(&acc, std::slice::from_ref(&pair), false);
        let s = &steps[&0];
        assert_eq!((s.users, s.domains), (3, 1));
        let cols: Vec<(&str, Value)> =
            s.changes.iter().map(|c| (c.column.as_str(), c.new.clone())).collect();
        assert!(cols.contains(&("notes", Value::Null)));
        assert!(cols.contains(&("organization_fields.tier", json!("free"))));
        assert!(cols.contains(&("organization_fields.region", Value::Null)));
        assert!(cols.contains(&("tags", Value::Null)));
        assert!(writes.is_empty());
        let (_, writes) = plan(&acc, &[pair], true);
        assert_eq!(
            Value::Object(writes[&2].clone()),
            json!({"notes": "n", "organization_fields": {"region": "eu"}, "tags": ["a", "b"]})
        );
    }
}
