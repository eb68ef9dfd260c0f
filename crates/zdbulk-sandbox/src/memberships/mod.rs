//! Organization memberships: the table, and the hooks that keep memberships in step when
//! users and organizations come and go; `routes` has the HTTP side.
//!
//! A user's first membership is their default (`default: true`); the others render
//! `default: null`, as Zendesk's docs show.

mod routes;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::jobs::JobKind;
use super::state::{Ctx, Store};

pub use routes::routes;

/// Most memberships one call may carry.
const MAX_VALUES: usize = 100;

/// One membership of a user in an organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Membership {
    /// Record id.
    pub id: u64,
    /// The member.
    pub user_id: u64,
    /// The organization.
    pub organization_id: u64,
    /// Whether this is the user's default organization.
    pub default: bool,
    /// `view_tickets`.
    pub view_tickets: bool,
    /// Zendesk timestamp.
    pub created_at: String,
    /// Zendesk timestamp.
    pub updated_at: String,
}

/// The saved part of [`MembershipTable`]; loading goes through it so the indexes are built
/// (the store's own rebuild step does not know about memberships).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MembershipRecords {
    memberships: BTreeMap<u64, Membership>,
}

/// The account's organization memberships.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(from = "MembershipRecords")]
pub struct MembershipTable {
    /// Records by id.
    memberships: BTreeMap<u64, Membership>,
    /// (user, organization) → membership id.
    #[serde(skip)]
    by_pair: HashMap<(u64, u64), u64>,
    /// User → their membership ids, oldest first (ids grow).
    #[serde(skip)]
    by_user: HashMap<u64, BTreeSet<u64>>,
    /// Organization → its membership ids.
    #[serde(skip)]
    by_org: HashMap<u64, BTreeSet<u64>>,
}

impl From<MembershipRecords> for MembershipTable {
    fn from(saved: MembershipRecords) -> Self {
        let mut table = MembershipTable::default();
        for m in saved.memberships.into_values() {
            table.insert(m);
        }
        table
    }
}

impl MembershipTable {
    fn insert(&mut self, m: Membership) {
        self.by_pair.insert((m.user_id, m.organization_id), m.id);
        self.by_user.entry(m.user_id).or_default().insert(m.id);
        self.by_org.entry(m.organization_id).or_default().insert(m.id);
        self.memberships.insert(m.id, m);
    }

    fn remove(&mut self, id: u64) -> Option<Membership> {
        let m = self.memberships.remove(&id)?;
        self.by_pair.remove(&(m.user_id, m.organization_id));
        if let Some(set) = self.by_user.get_mut(&m.user_id) {
            set.remove(&id);
        }
        if let Some(set) = self.by_org.get_mut(&m.organization_id) {
            set.remove(&id);
        }
        Some(m)
    }

    /// After a user's default membership went away, their oldest remaining one takes over.
    // UNVERIFIED: which membership Zendesk promotes; the oldest is the predictable choice.
    fn promote_default(&mut self, user_id: u64) {
        let ids: Vec<u64> = self.by_user.get(&user_id).into_iter().flatten().copied().collect();
        if ids.iter().any(|id| self.memberships.get(id).is_some_and(|m| m.default)) {
            return;
        }
        if let Some(m) = ids.first().and_then(|id| self.memberships.get_mut(id)) {
            m.default = true;
        }
    }

    /// The membership of `user_id` in `org_id`, if any.
    pub fn find(&self, user_id: u64, org_id: u64) -> Option<u64> {
        self.by_pair.get(&(user_id, org_id)).copied()
    }
}

/// Points a user's `organization_id` at the organization of their default membership, or
/// at none: Zendesk's `organization_id` is the default organization.
fn sync_user(store: &mut Store, user_id: u64) {
    let org = store
        .memberships
        .by_user
        .get(&user_id)
        .into_iter()
        .flatten()
        .filter_map(|id| store.memberships.memberships.get(id))
        .find(|m| m.default)
        .map(|m| m.organization_id);
    store.users.set_organization_id(user_id, org);
}

/// Creates a membership without checks; the first of a user becomes their default.
fn add(store: &mut Store, ctx: &Ctx, user_id: u64, org_id: u64, view_tickets: bool) -> u64 {
    let id = store.next_id();
    let first = store.memberships.by_user.get(&user_id).is_none_or(BTreeSet::is_empty);
    store.memberships.insert(Membership {
        id,
        user_id,
        organization_id: org_id,
        default: first,
        view_tickets,
        created_at: ctx.now.clone(),
        updated_at: ctx.now.clone(),
    });
    sync_user(store, user_id);
    id
}

/// Makes `user_id` a member of `org_id` (default membership if it has none); returns the
/// membership id. Used when a user is written with `organization_id`.
#[allow(dead_code, reason = "called by the users module, written alongside")]
pub fn ensure(store: &mut Store, ctx: &Ctx, user_id: u64, org_id: u64) -> u64 {
    match store.memberships.find(user_id, org_id) {
        Some(id) => id,
        None => add(store, ctx, user_id, org_id, false),
    }
}

/// Removes every membership of a user (user deleted).
#[allow(dead_code, reason = "called by the users module, written alongside")]
pub fn remove_user(store: &mut Store, user_id: u64) {
    let ids: Vec<u64> = store.memberships.by_user.remove(&user_id).into_iter().flatten().collect();
    for id in ids {
        store.memberships.remove(id);
    }
}

/// Removes every membership of an organization (organization deleted).
pub fn remove_organization(store: &mut Store, org_id: u64) {
    let ids: Vec<u64> = store.memberships.by_org.remove(&org_id).into_iter().flatten().collect();
    for id in ids {
        if let Some(m) = store.memberships.remove(id) {
            store.memberships.promote_default(m.user_id);
            sync_user(store, m.user_id);
        }
    }
}

/// How many memberships an organization has.
pub fn count_of_organization(store: &Store, org_id: u64) -> usize {
    store.memberships.by_org.get(&org_id).map_or(0, BTreeSet::len)
}

/// Moves every membership of `from` to `to` (an organization merge): a user who is a member
/// of both keeps the one in `to`, which becomes their default if the moved one was; the
/// users' `organization_id` follows their default membership.
pub fn move_organization(store: &mut Store, from: u64, to: u64) {
    let ids: Vec<u64> = store.memberships.by_org.remove(&from).into_iter().flatten().collect();
    for id in ids {
        let Some(mut m) = store.memberships.remove(id) else { continue };
        let user = m.user_id;
        match store.memberships.find(user, to) {
            Some(existing) => {
                if m.default {
                    if let Some(kept) = store.memberships.memberships.get_mut(&existing) {
                        kept.default = true;
                    }
                }
            }
            None => {
                m.organization_id = to;
                store.memberships.insert(m);
            }
        }
        store.memberships.promote_default(user);
        sync_user(store, user);
    }
}

/// Deletes one membership; false when there is none with this id.
fn destroy(store: &mut Store, id: u64) -> bool {
    match store.memberships.remove(id) {
        Some(m) => {
            store.memberships.promote_default(m.user_id);
            sync_user(store, m.user_id);
            true
        }
        None => false,
    }
}

/// Renders a membership; `organization_name` is read at render time so renames show.
fn render(store: &Store, ctx: &Ctx, m: &Membership) -> Value {
    json!({
        "url": ctx.url("organization_memberships", m.id),
        "id": m.id,
        "user_id": m.user_id,
        "organization_id": m.organization_id,
        // Zendesk's docs show `default: null` on memberships that are not the default.
        "default": if m.default { json!(true) } else { Value::Null },
        "organization_name": store.organizations.name_of(m.organization_id),
        "view_tickets": m.view_tickets,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    })
}

/// Checks one membership write against the account; returns (user, org, view_tickets).
// UNVERIFIED: every wording here. The docs say only "422 if the user is already assigned to
// the organization"; unknown records are 422s filed under their attribute.
fn validate(
    store: &Store,
    obj: &Value,
) -> Result<(u64, u64, bool), (&'static str, String, &'static str)> {
    let org_id = obj["organization_id"].as_u64();
    let user_id = obj["user_id"].as_u64();
    // The organization is checked first, so a bad organization is reported whatever the user.
    let org_id = org_id.filter(|id| store.organizations.contains(*id)).ok_or((
        "organization_id",
        "Organization: cannot be blank".to_string(),
        "BlankValue",
    ))?;
    let user_id = user_id.filter(|id| store.users.contains(*id)).ok_or((
        "user_id",
        "User: cannot be blank".to_string(),
        "BlankValue",
    ))?;
    if store.memberships.find(user_id, org_id).is_some() {
        return Err((
            "user_id",
            "User: is already a member of this organization".to_string(),
            "DuplicateValue",
        ));
    }
    // UNVERIFIED: `view_tickets` defaults to false when the write leaves it out.
    Ok((user_id, org_id, obj["view_tickets"].as_bool().unwrap_or(false)))
}

/// Does item `index` of a membership job and returns its result.
// UNVERIFIED: failure items. The OAS `FailedResult` shape (`id`, `action`, `success`,
// `error`, `details`) is the only evidence for memberships; `index` is added as recorded for
// organizations so clients can match by position.
pub fn run_job_item(
    store: &mut Store,
    ctx: &Ctx,
    kind: JobKind,
    index: usize,
    item: &Value,
) -> Value {
    let failed = |action: &str, id: Option<u64>, error: &str, details: String| {
        json!({"index": index, "action": action, "id": id, "success": false,
               "error": error, "details": details})
    };
    match kind {
        JobKind::CreateMemberships => match validate(store, item) {
            Ok((user_id, org_id, view)) => {
                let id = add(store, ctx, user_id, org_id, view);
                json!({"action": "create", "id": id, "status": "Created", "success": true})
            }
            Err((_, description, _)) => {
                failed("create", None, "OrganizationMembershipCreateFailed", description)
            }
        },
        JobKind::DestroyMemberships => match item.as_u64() {
            Some(id) if destroy(store, id) => {
                json!({"action": "delete", "id": id, "status": "Deleted", "success": true})
            }
            id => failed("delete", id, "RecordNotFound", "Not found".into()),
        },
        // The job engine routes only membership kinds here.
        _ => failed("unknown", None, "InvalidJob", "not a membership job".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx { base_url: "http://x".into(), now: "2024-01-01T00:00:00Z".into() }
    }

    fn org(store: &mut Store, name: &str) -> u64 {
        let org = super::super::organizations::create_record(store, &ctx(), &json!({"name": name}));
        org.unwrap()["id"].as_u64().unwrap()
    }

    #[test]
    fn first_membership_is_default_and_ensure_is_idempotent() {
        let mut store = Store::default();
        let (a, b) = (org(&mut store, "A"), org(&mut store, "B"));
        let m1 = ensure(&mut store, &ctx(), 7, a);
        let m2 = ensure(&mut store, &ctx(), 7, b);
        assert_eq!(ensure(&mut store, &ctx(), 7, a), m1);
        let r1 = render(&store, &ctx(), &store.memberships.memberships[&m1]);
        let r2 = render(&store, &ctx(), &store.memberships.memberships[&m2]);
        assert_eq!(r1["default"], json!(true));
        assert_eq!(r2["default"], Value::Null);
        assert_eq!(r1["organization_name"], "A");
        assert_eq!(r1["url"], format!("http://x/api/v2/organization_memberships/{m1}.json"));
    }

    #[test]
    fn removing_the_default_organization_promotes_the_next_membership() {
        let mut store = Store::default();
        let (a, b) = (org(&mut store, "A"), org(&mut store, "B"));
        ensure(&mut store, &ctx(), 7, a);
        let m2 = ensure(&mut store, &ctx(), 7, b);
        ensure(&mut store, &ctx(), 8, a);
        remove_organization(&mut store, a);
        assert_eq!(store.memberships.memberships.len(), 1);
        assert!(store.memberships.memberships[&m2].default);
        assert_eq!(store.memberships.find(8, a), None);
        remove_user(&mut store, 7);
        assert!(store.memberships.memberships.is_empty());
    }

    #[test]
    fn saved_tables_rebuild_their_indexes_on_load() {
        let mut store = Store::default();
        let a = org(&mut store, "A");
        let m = ensure(&mut store, &ctx(), 7, a);
        let text = serde_json::to_string(&store.memberships).unwrap();
        let loaded: MembershipTable = serde_json::from_str(&text).unwrap();
        assert_eq!(loaded.find(7, a), Some(m));
    }

    #[test]
    fn job_items_report_unknown_records_one_by_one() {
        let mut store = Store::default();
        let a = org(&mut store, "A");
        let m = ensure(&mut store, &ctx(), 7, a);
        let c = ctx();
        let gone = run_job_item(&mut store, &c, JobKind::DestroyMemberships, 0, &json!(m));
        assert_eq!(
            gone,
            json!({"action": "delete", "id": m, "status": "Deleted", "success": true})
        );
        let again = run_job_item(&mut store, &c, JobKind::DestroyMemberships, 1, &json!(m));
        assert_eq!(again["error"], "RecordNotFound");
        assert_eq!(again["index"], 1);
        let bad = run_job_item(
            &mut store,
            &c,
            JobKind::CreateMemberships,
            2,
            &json!({"user_id": 7, "organization_id": 1}),
        );
        assert_eq!(bad["success"], false);
        assert_eq!(bad["details"], "Organization: cannot be blank");
    }
}
