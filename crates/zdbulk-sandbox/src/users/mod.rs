//! Users (`zendesk-api.md` §4 Users): the stored record, its unique-value indexes, and its
//! rendering in the recorded shape. The parts:
//! - [`write`]: validation of a write and the create / update / upsert / delete operations,
//!   shared by single calls, jobs and seeds;
//! - [`parse`]: reading the JSON values of a write;
//! - [`handlers`]: the HTTP routes;
//! - [`bulk`]: job items (`create_many`, `update_many`, `create_or_update_many`,
//!   `destroy_many`) and their result shapes.
//!
//! Deleting is soft, as in Zendesk: the record stays (shown by id with `active:false`), loses
//! its email and external_id, and drops out of lists, searches and the indexes.

mod bulk;
mod handlers;
mod parse;
mod write;

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::errors::ApiError;
use super::jobs::JobKind;
use super::state::{Ctx, Shared, Store};
use super::values;

/// Zendesk's default time zone for a new user, as recorded.
const DEFAULT_TIME_ZONE: &str = "America/New_York";
/// Zendesk's default locale for a new user, as recorded.
const DEFAULT_LOCALE: &str = "en-US";
/// The id of [`DEFAULT_LOCALE`], as recorded.
const DEFAULT_LOCALE_ID: u64 = 1;

/// One user as the sandbox stores it. Attributes Zendesk derives or never lets an API
/// client set (`photo`, `shared`, `last_login_at`, …) are not stored; [`render`] fills them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct User {
    /// Record id (0 only while a new user is being validated).
    pub id: u64,
    /// Display name (required, not unique).
    pub name: String,
    /// The primary email identity.
    pub email: Option<String>,
    /// Secondary email identities, added when an update sends a new `email`.
    pub secondary_emails: Vec<String>,
    /// Creation timestamp.
    pub created_at: String,
    /// Last change timestamp.
    pub updated_at: String,
    /// `time_zone` (the API also shows it as `iana_time_zone`).
    pub time_zone: String,
    /// Phone number as given.
    pub phone: Option<String>,
    /// Whether the phone number is shared.
    pub shared_phone_number: Option<bool>,
    /// Locale id.
    pub locale_id: u64,
    /// Locale tag.
    pub locale: String,
    /// Default organization.
    pub organization_id: Option<u64>,
    /// `end-user`, `agent` or `admin`.
    pub role: String,
    /// Whether the primary identity is verified.
    pub verified: bool,
    /// Unique (case-insensitive) external id, in the case last written.
    pub external_id: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Agent alias.
    pub alias: Option<String>,
    /// False once deleted.
    pub active: bool,
    /// Agent signature.
    pub signature: Option<String>,
    /// Free text.
    pub details: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Custom agent role.
    pub custom_role_id: Option<u64>,
    /// Community moderator.
    pub moderator: bool,
    /// Which tickets the user may see (`requested` for end-users).
    pub ticket_restriction: Option<String>,
    /// Agent may only make private comments.
    pub only_private_comments: bool,
    /// Suspended users cannot sign in.
    pub suspended: bool,
    /// Agent's default group.
    pub default_group_id: Option<u64>,
    /// Custom field values by key (unset keys are absent).
    pub user_fields: Map<String, Value>,
}

impl Default for User {
    fn default() -> Self {
        User {
            id: 0,
            name: String::new(),
            email: None,
            secondary_emails: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
            time_zone: DEFAULT_TIME_ZONE.into(),
            phone: None,
            shared_phone_number: None,
            locale_id: DEFAULT_LOCALE_ID,
            locale: DEFAULT_LOCALE.into(),
            organization_id: None,
            role: "end-user".into(),
            verified: false,
            external_id: None,
            tags: Vec::new(),
            alias: None,
            active: true,
            signature: None,
            details: None,
            notes: None,
            custom_role_id: None,
            moderator: false,
            ticket_restriction: Some("requested".into()),
            only_private_comments: false,
            suspended: false,
            default_group_id: None,
            user_fields: Map::new(),
        }
    }
}

impl User {
    /// Every email identity of the user, primary first.
    pub fn emails(&self) -> impl Iterator<Item = &String> {
        self.email.iter().chain(self.secondary_emails.iter())
    }
}

/// The account's users and their unique-value indexes.
///
/// Only `users` is saved; the indexes are rebuilt on load, so a state file cannot hold
/// indexes that disagree with the records.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserTable {
    /// Every user ever created, deleted ones included, by id.
    pub users: BTreeMap<u64, User>,
    /// Lowercased email (primary and secondary) of active users -> id.
    #[serde(skip)]
    by_email: HashMap<String, u64>,
    /// Lowercased external_id of active users -> id.
    #[serde(skip)]
    by_external_id: HashMap<String, u64>,
}

impl UserTable {
    /// Rebuilds the indexes that are not saved with the state.
    pub fn rebuild_indexes(&mut self) {
        self.by_email.clear();
        self.by_external_id.clear();
        let users = std::mem::take(&mut self.users);
        for user in users.values() {
            self.index(user);
        }
        self.users = users;
    }

    /// Whether an active (not deleted) user with this id exists.
    pub fn contains(&self, id: u64) -> bool {
        self.get(id).is_some()
    }

    /// The active user with this id.
    pub fn get(&self, id: u64) -> Option<&User> {
        self.users.get(&id).filter(|u| u.active)
    }

    /// The active user holding this email identity (any case).
    pub fn find_by_email(&self, email: &str) -> Option<&User> {
        self.by_email.get(&email.trim().to_lowercase()).and_then(|id| self.users.get(id))
    }

    /// The active user with this external_id (any case).
    pub fn find_by_external_id(&self, external_id: &str) -> Option<&User> {
        self.by_external_id.get(&external_id.to_lowercase()).and_then(|id| self.users.get(id))
    }

    /// Sets the default organization of a user (for memberships: a new default membership,
    /// or the organization deleted). Returns false when there is no such active user.
    pub fn set_organization_id(&mut self, user_id: u64, org_id: Option<u64>) -> bool {
        match self.users.get_mut(&user_id).filter(|u| u.active) {
            Some(user) => {
                user.organization_id = org_id;
                true
            }
            None => false,
        }
    }

    /// Clears `organization_id` on every user whose default organization was `org_id`.
    pub fn clear_organization(&mut self, org_id: u64) {
        for user in self.users.values_mut().filter(|u| u.organization_id == Some(org_id)) {
            user.organization_id = None;
        }
    }

    /// Number of active users.
    pub fn active_count(&self) -> usize {
        self.users.values().filter(|u| u.active).count()
    }

    /// Stores a user, replacing any record with its id and keeping the indexes in step.
    fn put(&mut self, user: User) {
        if let Some(old) = self.users.remove(&user.id) {
            self.unindex(&old);
        }
        self.index(&user);
        self.users.insert(user.id, user);
    }

    fn index(&mut self, user: &User) {
        if !user.active {
            return;
        }
        for email in user.emails() {
            self.by_email.insert(email.to_lowercase(), user.id);
        }
        if let Some(ext) = &user.external_id {
            self.by_external_id.insert(ext.to_lowercase(), user.id);
        }
    }

    fn unindex(&mut self, user: &User) {
        for email in user.emails() {
            let key = email.to_lowercase();
            if self.by_email.get(&key) == Some(&user.id) {
                self.by_email.remove(&key);
            }
        }
        if let Some(ext) = &user.external_id {
            let key = ext.to_lowercase();
            if self.by_external_id.get(&key) == Some(&user.id) {
                self.by_external_id.remove(&key);
            }
        }
    }
}

/// A user in the API's read shape: exactly the keys of the recordings, in their order.
pub fn render(store: &Store, ctx: &Ctx, user: &User) -> Value {
    // Zendesk documents `restricted_agent` as "false for admins and unrestricted agents";
    // end-users show true in every recording.
    let restricted_agent = match user.role.as_str() {
        "admin" => false,
        "agent" => user.ticket_restriction.is_some(),
        _ => true,
    };
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_string(), value);
    };
    put("id", json!(user.id));
    put("url", json!(ctx.url("users", user.id)));
    put("name", json!(user.name));
    put("email", json!(user.email));
    put("created_at", json!(user.created_at));
    put("updated_at", json!(user.updated_at));
    put("time_zone", json!(user.time_zone));
    put("iana_time_zone", json!(user.time_zone));
    put("phone", json!(user.phone));
    put("shared_phone_number", json!(user.shared_phone_number));
    put("photo", Value::Null);
    put("locale_id", json!(user.locale_id));
    put("locale", json!(user.locale));
    put("organization_id", json!(user.organization_id));
    put("role", json!(user.role));
    put("verified", json!(user.verified));
    put("external_id", json!(user.external_id));
    put("tags", json!(user.tags));
    put("alias", json!(user.alias));
    put("active", json!(user.active));
    put("shared", json!(false));
    put("shared_agent", json!(false));
    put("last_login_at", Value::Null);
    put("two_factor_auth_enabled", json!(false));
    put("signature", json!(user.signature));
    put("details", json!(user.details));
    put("notes", json!(user.notes));
    put("role_type", Value::Null);
    put("custom_role_id", json!(user.custom_role_id));
    put("moderator", json!(user.moderator));
    put("ticket_restriction", json!(user.ticket_restriction));
    put("only_private_comments", json!(user.only_private_comments));
    put("restricted_agent", json!(restricted_agent));
    put("suspended", json!(user.suspended));
    put("default_group_id", json!(user.default_group_id));
    put("report_csv", json!(false));
    put("user_fields", Value::Object(values::render(&store.user_fields, &user.user_fields)));
    Value::Object(map)
}

/// User routes (everything under `/api/v2/users` except `/users/me`, which auth owns).
pub fn routes() -> Router<Shared> {
    handlers::routes()
}

/// Does item `index` of a user job and returns its result.
pub fn run_job_item(
    store: &mut Store,
    ctx: &Ctx,
    kind: JobKind,
    index: usize,
    item: &Value,
) -> Value {
    bulk::run_item(store, ctx, kind, index, item)
}

/// Creates one user from its API write shape (used by seeds); returns the rendered user.
pub fn create_record(store: &mut Store, ctx: &Ctx, body: &Value) -> Result<Value, ApiError> {
    let id = write::create(store, ctx, body).map_err(ApiError::RecordInvalid)?;
    let user = store.users.users.get(&id).ok_or(ApiError::NotFound)?;
    Ok(render(store, ctx, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx { base_url: "http://x".into(), now: "2023-09-18T23:28:11Z".into() }
    }

    /// The keys of `TestUserCreateUpdateDelete.test_single_object_creation-create-single`.
    const RECORDED_KEYS: [&str; 37] = [
        "id",
        "url",
        "name",
        "email",
        "created_at",
        "updated_at",
        "time_zone",
        "iana_time_zone",
        "phone",
        "shared_phone_number",
        "photo",
        "locale_id",
        "locale",
        "organization_id",
        "role",
        "verified",
        "external_id",
        "tags",
        "alias",
        "active",
        "shared",
        "shared_agent",
        "last_login_at",
        "two_factor_auth_enabled",
        "signature",
        "details",
        "notes",
        "role_type",
        "custom_role_id",
        "moderator",
        "ticket_restriction",
        "only_private_comments",
        "restricted_agent",
        "suspended",
        "default_group_id",
        "report_csv",
        "user_fields",
    ];

    #[test]
    fn a_new_user_renders_as_recorded() {
        let mut store = Store::default();
        let user =
            create_record(&mut store, &ctx(), &json!({"id": "", "name": "testUser"})).unwrap();
        let keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, RECORDED_KEYS);
        let id = user["id"].as_u64().unwrap();
        assert_eq!(user["url"], format!("http://x/api/v2/users/{id}.json"));
        assert_eq!(user["time_zone"], "America/New_York");
        assert_eq!(user["iana_time_zone"], "America/New_York");
        assert_eq!(user["locale"], "en-US");
        assert_eq!(user["locale_id"], 1);
        assert_eq!(user["role"], "end-user");
        assert_eq!(user["ticket_restriction"], "requested");
        assert_eq!(user["restricted_agent"], true);
        assert_eq!(user["active"], true);
        assert_eq!(user["email"], Value::Null);
        assert_eq!(user["tags"], json!([]));
        assert_eq!(user["user_fields"], json!({}));
    }

    #[test]
    fn indexes_survive_a_save_and_load() {
        let mut store = Store::default();
        let c = ctx();
        create_record(
            &mut store,
            &c,
            &json!({"name": "A", "email": "a@x.co", "external_id": "Ext"}),
        )
        .unwrap();
        let saved = serde_json::to_string(&store.users).unwrap();
        let mut loaded: UserTable = serde_json::from_str(&saved).unwrap();
        assert!(loaded.find_by_email("a@x.co").is_none(), "indexes are not saved");
        loaded.rebuild_indexes();
        assert_eq!(loaded.find_by_email("A@X.CO").map(|u| u.name.as_str()), Some("A"));
        assert_eq!(loaded.find_by_external_id("ext").map(|u| u.name.as_str()), Some("A"));
    }

    #[test]
    fn twenty_thousand_users_stay_fast() {
        let mut store = Store::default();
        let c = ctx();
        let started = std::time::Instant::now();
        for i in 0..20_000 {
            let body = json!({"name": format!("U{i}"), "email": format!("u{i}@x.co"), "external_id": format!("e{i}")});
            write::create(&mut store, &c, &body).unwrap();
        }
        // Every create checks uniqueness through the indexes; a scan would make this
        // quadratic (minutes), not seconds, even in a debug build.
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
        assert_eq!(
            store.users.find_by_email("u19999@x.co").map(|u| u.name.as_str()),
            Some("U19999")
        );
    }
}
