//! References from one resource to another (a user's organizations, by external id or exact
//! name) resolved to ids: each distinct value is looked up once per run, external ids 100 a
//! request, the rest by name one request each — unless listing every organization once costs
//! fewer requests than the names still to search (files from Zendesk's legacy importer name
//! organizations, not their external ids).

use std::collections::HashMap;

use serde_json::Value;

use super::api::{Port, ShowBy};
use crate::resource::{layer, Resource};

/// What is known of referenced organizations, by value folded to lower case.
#[derive(Debug)]
pub struct Refs {
    /// The resource referred to.
    to: Resource,
    known: HashMap<String, Option<u64>>,
    /// Every organization's name and external id is known (all were listed): a value not
    /// known names none.
    complete: bool,
    /// Name searches sent so far.
    searches: u64,
    /// The account's organizations, once counted.
    count: Option<u64>,
}

/// Name searches after which listing every organization is considered.
const SEARCHES_BEFORE_LISTING: u64 = 20;

impl Refs {
    /// Nothing known yet of `to`'s records.
    pub fn new(to: Resource) -> Refs {
        Refs { to, known: HashMap::new(), complete: false, searches: 0, count: None }
    }

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
        if self.complete {
            for key in wanted {
                self.known.insert(key, None);
            }
            return Ok(());
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let by_ext = api.show_many(self.to, ShowBy::ExternalIds, wanted.clone()).await?;
        for org in by_ext {
            let (Some(x), Some(id)) = (
                org.get("external_id").and_then(Value::as_str),
                org.get("id").and_then(Value::as_u64),
            ) else {
                continue;
            };
            self.known.insert(x.trim().to_lowercase(), Some(id));
        }
        let names: Vec<String> =
            wanted.into_iter().filter(|k| !self.known.contains_key(k)).collect();
        if self.searches + names.len() as u64 >= SEARCHES_BEFORE_LISTING {
            let count = match self.count {
                Some(c) => c,
                None => *self.count.insert(api.count(self.to).await?),
            };
            // One request lists 100; one search finds one. Searching the names of this chunk
            // and the like of it again would cost more than listing them all once.
            if count.div_ceil(100) <= self.searches + names.len() as u64 {
                return self.list_all(api, names).await;
            }
        }
        for key in names {
            self.searches += 1;
            // Not an external id: an exact name (organization names are unique).
            let column = layer(self.to).search_column();
            let found = api.search(self.to, column, key.clone()).await?;
            let id = found
                .iter()
                .find(|o| {
                    o.get(column)
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.trim().to_lowercase() == key)
                })
                .and_then(|o| o.get("id").and_then(Value::as_u64));
            self.known.insert(key, id);
        }
        Ok(())
    }

    /// Lists every organization once, a page at a time: names and external ids known from
    /// then on (an external id wins over another organization's equal name, as in lookups).
    async fn list_all<A: Port>(&mut self, api: &A, names: Vec<String>) -> anyhow::Result<()> {
        let mut by_name: HashMap<String, u64> = HashMap::new();
        let mut after = None;
        loop {
            let (page, next) = api.list_page(self.to, after.take()).await?;
            for org in page {
                let Some(id) = org.get("id").and_then(Value::as_u64) else { continue };
                let text =
                    |key| org.get(key).and_then(Value::as_str).map(|v| v.trim().to_lowercase());
                if let Some(x) = text("external_id") {
                    self.known.insert(x, Some(id));
                }
                if let Some(n) = text(layer(self.to).search_column()) {
                    by_name.insert(n, id);
                }
            }
            match next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        for (name, id) in by_name {
            self.known.entry(name).or_insert(Some(id));
        }
        self.complete = true;
        for key in names {
            self.known.entry(key).or_insert(None);
        }
        Ok(())
    }
}
