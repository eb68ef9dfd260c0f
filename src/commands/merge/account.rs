//! What a merge needs to know of the account: every organization (to find each side of a pair
//! by id, external id or name) and how many members each has, read once, 100 a request.

use std::collections::HashMap;

use serde_json::Value;

use crate::zendesk::models::Organization;
use crate::zendesk::resources::cursor_all;
use crate::zendesk::Client;

/// The account's organizations, indexed.
#[derive(Debug, Default)]
pub(crate) struct Account {
    /// Every organization.
    pub(crate) orgs: Vec<Organization>,
    by_id: HashMap<u64, usize>,
    by_external_id: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    /// Members (organization memberships) by organization id.
    members: HashMap<u64, usize>,
}

/// Names and external ids compare trimmed and case-insensitively, as Zendesk compares them.
pub(crate) fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Account {
    /// Reads every organization and every membership.
    pub(crate) async fn read(client: &Client) -> anyhow::Result<Account> {
        let orgs = client.organizations().list_all().await?;
        let memberships: Vec<Value> =
            cursor_all(client, "organization_memberships.json", "organization_memberships").await?;
        let mut members: HashMap<u64, usize> = HashMap::new();
        for m in &memberships {
            if let Some(org) = m.get("organization_id").and_then(Value::as_u64) {
                *members.entry(org).or_default() += 1;
            }
        }
        Ok(Account::new(orgs, members))
    }

    /// An account of these organizations and member counts.
    pub(crate) fn new(orgs: Vec<Organization>, members: HashMap<u64, usize>) -> Account {
        let mut a = Account { members, ..Account::default() };
        for (i, o) in orgs.iter().enumerate() {
            a.by_id.insert(o.id.0, i);
            a.by_name.entry(fold(&o.name)).or_default().push(i);
            if let Some(ext) = o.external_id.as_deref().filter(|e| !e.trim().is_empty()) {
                a.by_external_id.entry(fold(ext)).or_default().push(i);
            }
        }
        a.orgs = orgs;
        a
    }

    /// The organization with this id.
    pub(crate) fn get(&self, id: u64) -> Option<&Organization> {
        self.by_id.get(&id).map(|&i| &self.orgs[i])
    }

    /// Ids of the organizations with this external id.
    pub(crate) fn with_external_id(&self, value: &str) -> Vec<u64> {
        self.ids(self.by_external_id.get(&fold(value)))
    }

    /// Ids of the organizations with this name.
    pub(crate) fn with_name(&self, value: &str) -> Vec<u64> {
        self.ids(self.by_name.get(&fold(value)))
    }

    fn ids(&self, found: Option<&Vec<usize>>) -> Vec<u64> {
        found.into_iter().flatten().map(|&i| self.orgs[i].id.0).collect()
    }

    /// How many members an organization has.
    pub(crate) fn members(&self, id: u64) -> usize {
        self.members.get(&id).copied().unwrap_or(0)
    }

    /// How an organization is named in messages: its name and id.
    pub(crate) fn label(&self, id: u64) -> String {
        match self.get(id) {
            Some(o) => format!("'{}' (id {id})", o.name),
            None => format!("id {id}"),
        }
    }
}
