//! References from one resource to another (a user's organizations, by external id or exact
//! name) resolved to ids: each distinct value is looked up once per run, external ids 100 a
//! request, the rest by name one request each.

use std::collections::HashMap;

use serde_json::Value;

use super::api::{Port, ShowBy};
use crate::resource::Resource;

/// What is known of referenced organizations, by value folded to lower case.
#[derive(Debug, Default)]
pub struct Refs {
    known: HashMap<String, Option<u64>>,
}

impl Refs {
    /// The id a value refers to: `Some(None)` when no organization has it, `None` when it was
    /// never looked up.
    pub fn get(&self, value: &str) -> Option<Option<u64>> {
        self.known.get(&value.trim().to_lowercase()).copied()
    }

    /// Looks up every value not known yet.
    pub async fn resolve<A: Port>(&mut self, api: &A, values: &[&str]) -> anyhow::Result<()> {
        let mut wanted: Vec<String> = Vec::new();
        for v in values {
            let key = v.trim().to_lowercase();
            if !self.known.contains_key(&key) && !wanted.contains(&key) {
                wanted.push(key);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let by_ext =
            api.show_many(Resource::Organizations, ShowBy::ExternalIds, wanted.clone()).await?;
        for org in by_ext {
            let (Some(x), Some(id)) = (
                org.get("external_id").and_then(Value::as_str),
                org.get("id").and_then(Value::as_u64),
            ) else {
                continue;
            };
            self.known.insert(x.trim().to_lowercase(), Some(id));
        }
        for key in wanted {
            if self.known.contains_key(&key) {
                continue;
            }
            // Not an external id: an exact name (organization names are unique).
            let found = api.search(Resource::Organizations, "name", key.clone()).await?;
            let id = found
                .iter()
                .find(|o| {
                    o.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.trim().to_lowercase() == key)
                })
                .and_then(|o| o.get("id").and_then(Value::as_u64));
            self.known.insert(key, id);
        }
        Ok(())
    }
}
