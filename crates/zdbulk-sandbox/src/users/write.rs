//! Writes to users: one validation of the API's write shape, shared by single calls, job
//! items and seeds, and the operations built on it (create, update, upsert, delete).
//!
//! Problems come back as a `details` map (attribute -> `[{"description", "error"?}]`), which a
//! single call answers as 422 `RecordInvalid` and a job item folds into its `details` string.

use serde_json::{Map, Value};

use super::super::memberships;
use super::super::state::{Ctx, Store};
use super::super::values;
use super::parse::{boolean, id_value, is_valid_email, tag_list, text, trimmed};
use super::User;

/// `details` of a refused write: attribute -> list of `{"description", "error"?}`.
pub type Details = Map<String, Value>;

/// Why an update or delete did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// The values were refused.
    Invalid(Details),
    /// No active user has that id.
    NotFound,
}

/// Roles a user can have.
const ROLES: [&str; 3] = ["end-user", "agent", "admin"];
/// Values of `ticket_restriction` (null means unrestricted).
const TICKET_RESTRICTIONS: [&str; 4] = ["organization", "groups", "assigned", "requested"];
/// Locales the sandbox knows, with their ids.
// UNVERIFIED: only en-US = 1 is recorded; the other ids are Zendesk's public locale list as
// remembered. An unknown locale is ignored (the user keeps the one it had).
const LOCALES: [(&str, u64); 6] =
    [("en-US", 1), ("es", 2), ("de", 8), ("fr", 16), ("pt-BR", 19), ("ja", 67)];

/// Adds one problem to `details`.
fn problem(details: &mut Details, attribute: &str, description: String, error: Option<&str>) {
    let mut item = Map::new();
    item.insert("description".into(), Value::String(description));
    if let Some(code) = error {
        item.insert("error".into(), Value::String(code.into()));
    }
    let list = details.entry(attribute.to_string()).or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        items.push(Value::Object(item));
    }
}

/// One line for a job result's `details`: every description, space-separated.
// UNVERIFIED: C1 shows one problem per failed item; several are joined with a space.
pub fn describe(details: &Details) -> String {
    let mut parts = Vec::new();
    for items in details.values() {
        for item in items.as_array().into_iter().flatten() {
            if let Some(text) = item.get("description").and_then(Value::as_str) {
                parts.push(text.to_string());
            }
        }
    }
    parts.join(" ")
}

/// "<Attribute>: is invalid", for values of the wrong JSON type.
// UNVERIFIED: no recording shows a type error on a user attribute; InvalidValue is the
// code Zendesk uses for other bad values.
fn invalid(details: &mut Details, attribute: &str, label: &str) {
    problem(details, attribute, format!("{label}: is invalid"), Some("InvalidValue"));
}

/// Applies a write (`input`, the API's user object) to `user`, checking every value against
/// the store. `user.id` is 0 for a user being created. Nothing in the store changes.
fn apply(
    store: &Store,
    user: &mut User,
    input: &Map<String, Value>,
    creating: bool,
) -> Result<(), Details> {
    let mut details = Details::new();
    // Whether an index hit is this very user (never true for a user being created).
    let self_id = user.id;
    let own = move |id: u64| self_id != 0 && id == self_id;

    match input.get("name").map(trimmed) {
        Some(Ok(Some(name))) => user.name = name,
        Some(Err(())) => invalid(&mut details, "name", "Name"),
        Some(Ok(None)) | None if creating || input.contains_key("name") => {
            // UNVERIFIED: the wording of a blank user name; "cannot be blank" is the mock's.
            problem(&mut details, "name", "Name: cannot be blank".into(), Some("BlankValue"));
        }
        _ => {}
    }

    if let Some(value) = input.get("email") {
        match trimmed(value) {
            // `email: null` or "" writes nothing: email is only added, never removed here.
            Ok(None) => {}
            Ok(Some(email)) if !is_valid_email(&email) => {
                // As recorded: no `error` key on email problems.
                problem(
                    &mut details,
                    "email",
                    format!("Email: {email} is not properly formatted"),
                    None,
                );
            }
            Ok(Some(email)) => match store.users.find_by_email(&email) {
                Some(other) if !own(other.id) => problem(
                    &mut details,
                    "email",
                    format!("Email: {email} is already being used by another user"),
                    None,
                ),
                _ => add_email(user, email),
            },
            Err(()) => problem(
                &mut details,
                "email",
                format!("Email: {value} is not properly formatted"),
                None,
            ),
        }
    }

    match input.get("external_id").map(trimmed) {
        None => {}
        Some(Err(())) => invalid(&mut details, "external_id", "External"),
        Some(Ok(None)) => user.external_id = None,
        Some(Ok(Some(ext))) => match store.users.find_by_external_id(&ext) {
            Some(other) if !own(other.id) => {
                // UNVERIFIED: the wording; Rails humanises `external_id` as "External", and
                // Zendesk prefixes the attribute and the value as it does for org names.
                problem(
                    &mut details,
                    "external_id",
                    format!("External: {ext} has already been taken"),
                    Some("DuplicateValue"),
                );
            }
            // The stored case becomes the request's case, as documented for create_or_update.
            _ => user.external_id = Some(ext),
        },
    }

    if let Some(value) = input.get("role") {
        match value.as_str().map(str::trim) {
            Some(role) if ROLES.contains(&role) => {
                if role != user.role && !input.contains_key("ticket_restriction") {
                    // UNVERIFIED: end-users default to "requested"; staff are unrestricted.
                    user.ticket_restriction =
                        if role == "end-user" { Some("requested".into()) } else { None };
                }
                user.role = role.to_string();
            }
            // UNVERIFIED: the wording of an unknown role.
            _ => problem(
                &mut details,
                "role",
                format!("Role: {} is not a valid role", value.as_str().unwrap_or_default()),
                Some("InvalidValue"),
            ),
        }
    }

    if let Some(value) = input.get("organization_id") {
        match id_value(value) {
            Ok(Some(org)) if !store.organizations.contains(org) => {
                // UNVERIFIED: the wording; Zendesk's message for an unknown organization
                // was not recorded.
                problem(
                    &mut details,
                    "organization_id",
                    format!("Organization: {org} does not exist"),
                    Some("InvalidValue"),
                );
            }
            Ok(org) => user.organization_id = org,
            Err(()) => invalid(&mut details, "organization_id", "Organization"),
        }
    }

    if let Some(value) = input.get("tags") {
        match tag_list(value) {
            Ok(tags) => user.tags = tags,
            Err(()) => invalid(&mut details, "tags", "Tags"),
        }
    }

    if let Some(value) = input.get("user_fields") {
        match value {
            Value::Object(map) => match values::check(&store.user_fields, map) {
                Ok(checked) => {
                    for (key, v) in checked.values {
                        if v.is_null() {
                            user.user_fields.remove(&key);
                        } else {
                            user.user_fields.insert(key, v);
                        }
                    }
                    for tag in checked.add_tags {
                        if !user.tags.contains(&tag) {
                            user.tags.push(tag);
                        }
                    }
                    user.tags.retain(|t| !checked.remove_tags.contains(t));
                }
                Err(problems) => {
                    // UNVERIFIED (open question 3): details keyed by the field key.
                    for p in problems {
                        problem(&mut details, &p.key, p.message, Some("InvalidValue"));
                    }
                }
            },
            Value::Null => {}
            _ => invalid(&mut details, "user_fields", "User fields"),
        }
    }

    let texts: [(&str, &str, &mut Option<String>); 5] = [
        ("phone", "Phone", &mut user.phone),
        ("alias", "Alias", &mut user.alias),
        ("signature", "Signature", &mut user.signature),
        ("details", "Details", &mut user.details),
        ("notes", "Notes", &mut user.notes),
    ];
    for (key, label, slot) in texts {
        if let Some(value) = input.get(key) {
            match text(value) {
                Ok(v) => *slot = v,
                Err(()) => invalid(&mut details, key, label),
            }
        }
    }

    let flags: [(&str, &str, &mut bool); 4] = [
        ("verified", "Verified", &mut user.verified),
        ("moderator", "Moderator", &mut user.moderator),
        ("only_private_comments", "Only private comments", &mut user.only_private_comments),
        ("suspended", "Suspended", &mut user.suspended),
    ];
    for (key, label, slot) in flags {
        if let Some(value) = input.get(key) {
            match boolean(value) {
                Ok(v) => *slot = v,
                Err(()) => invalid(&mut details, key, label),
            }
        }
    }

    match input.get("shared_phone_number") {
        None => {}
        Some(Value::Null) => user.shared_phone_number = None,
        Some(value) => match boolean(value) {
            Ok(v) => user.shared_phone_number = Some(v),
            Err(()) => invalid(&mut details, "shared_phone_number", "Shared phone number"),
        },
    }

    let ids: [(&str, &str, &mut Option<u64>); 2] = [
        ("default_group_id", "Default group", &mut user.default_group_id),
        ("custom_role_id", "Custom role", &mut user.custom_role_id),
    ];
    for (key, label, slot) in ids {
        if let Some(value) = input.get(key) {
            match id_value(value) {
                Ok(v) => *slot = v,
                Err(()) => invalid(&mut details, key, label),
            }
        }
    }

    match input.get("ticket_restriction") {
        None => {}
        Some(Value::Null) => user.ticket_restriction = None,
        Some(value) => match value.as_str().map(str::trim) {
            Some(r) if TICKET_RESTRICTIONS.contains(&r) => user.ticket_restriction = Some(r.into()),
            _ => invalid(&mut details, "ticket_restriction", "Ticket restriction"),
        },
    }

    if let Some(tz) = input.get("time_zone").and_then(Value::as_str).map(str::trim) {
        // UNVERIFIED: Zendesk maps Rails zone names ("Eastern Time (US & Canada)") to IANA
        // names; the sandbox stores the name as given and shows it in both attributes.
        if !tz.is_empty() {
            user.time_zone = tz.to_string();
        }
    }
    // "If both locale and locale_id are present, locale_id is ignored" (S4).
    let locale = match (input.get("locale").and_then(Value::as_str), input.get("locale_id")) {
        (Some(tag), _) => LOCALES.iter().find(|(t, _)| t.eq_ignore_ascii_case(tag.trim())),
        (None, Some(id)) => LOCALES.iter().find(|(_, i)| Some(*i) == id.as_u64()),
        (None, None) => None,
    };
    if let Some((tag, id)) = locale {
        user.locale = (*tag).to_string();
        user.locale_id = *id;
    }

    if details.is_empty() {
        Ok(())
    } else {
        Err(details)
    }
}

/// Adds an email identity: the primary one if the user has none, else a secondary one
/// (as recorded: a new email on update keeps the primary and adds an identity).
fn add_email(user: &mut User, email: String) {
    if user.email.is_none() {
        user.email = Some(email);
    } else if !user.emails().any(|e| e.eq_ignore_ascii_case(&email)) {
        user.secondary_emails.push(email);
    }
}

/// The user object of a write, or a problem when it is not an object.
fn as_object(body: &Value) -> Result<&Map<String, Value>, Details> {
    body.as_object().ok_or_else(|| {
        let mut details = Details::new();
        invalid(&mut details, "user", "User");
        details
    })
}

/// Creates a user; returns its id. Any `id` in the input is ignored (`{"id": ""}` is
/// accepted, as recorded).
pub fn create(store: &mut Store, ctx: &Ctx, body: &Value) -> Result<u64, Details> {
    let input = as_object(body)?;
    let mut user =
        User { created_at: ctx.now.clone(), updated_at: ctx.now.clone(), ..User::default() };
    apply(store, &mut user, input, true)?;
    user.id = store.next_id();
    let (id, org) = (user.id, user.organization_id);
    store.users.put(user);
    if let Some(org) = org {
        memberships::ensure(store, ctx, id, org);
    }
    Ok(id)
}

/// Updates the active user `id` with the write `body`.
pub fn update(store: &mut Store, ctx: &Ctx, id: u64, body: &Value) -> Result<(), WriteError> {
    let input = as_object(body).map_err(WriteError::Invalid)?;
    let existing = store.users.get(id).ok_or(WriteError::NotFound)?;
    let old_org = existing.organization_id;
    let mut user = existing.clone();
    apply(store, &mut user, input, false).map_err(WriteError::Invalid)?;
    if user != *existing {
        user.updated_at = ctx.now.clone();
    }
    let new_org = user.organization_id;
    store.users.put(user);
    if input.contains_key("organization_id") && new_org != old_org {
        // Writing organization_id sets the default organization and removes the other
        // memberships (S4). Rewriting the same value keeps memberships as they are, so
        // that a re-run import does not churn membership ids.
        memberships::remove_user(store, id);
        if let Some(org) = new_org {
            memberships::ensure(store, ctx, id, org);
        }
    } else if let Some(org) = new_org.filter(|_| input.contains_key("organization_id")) {
        memberships::ensure(store, ctx, id, org);
    }
    Ok(())
}

/// The existing active user a create-or-update write means, if any.
///
/// UNVERIFIED (open question 2): Zendesk does not say which wins when `external_id` and
/// `email` name two different users. The sandbox matches by external_id when given, else by
/// email, and refuses the write when both match different users (the safe reading: it
/// never merges or overwrites the wrong person).
pub fn find_match(store: &Store, body: &Value) -> Result<Option<u64>, Details> {
    let input = as_object(body)?;
    let field = |key: &str| input.get(key).and_then(|v| trimmed(v).ok().flatten());
    let by_ext =
        field("external_id").and_then(|e| store.users.find_by_external_id(&e)).map(|u| u.id);
    let by_email = field("email").and_then(|e| store.users.find_by_email(&e)).map(|u| u.id);
    match (by_ext, by_email) {
        (Some(a), Some(b)) if a != b => {
            // Seen from the user the external_id names, the email belongs to someone else.
            let mut details = Details::new();
            problem(
                &mut details,
                "email",
                format!(
                    "Email: {} is already being used by another user",
                    field("email").unwrap_or_default()
                ),
                None,
            );
            Err(details)
        }
        (Some(id), _) | (None, Some(id)) => Ok(Some(id)),
        (None, None) => Ok(None),
    }
}

/// Creates or updates the user the write matches; returns its id and whether it was created.
pub fn upsert(store: &mut Store, ctx: &Ctx, body: &Value) -> Result<(u64, bool), Details> {
    match find_match(store, body)? {
        Some(id) => match update(store, ctx, id, body) {
            Ok(()) => Ok((id, false)),
            Err(WriteError::Invalid(details)) => Err(details),
            // find_match only returns active users, and nothing ran in between.
            Err(WriteError::NotFound) => create(store, ctx, body).map(|id| (id, true)),
        },
        None => create(store, ctx, body).map(|id| (id, true)),
    }
}

/// Soft-deletes the active user `id`: inactive, email and external_id gone (so they are free
/// again), default organization cleared, memberships removed.
pub fn delete(store: &mut Store, ctx: &Ctx, id: u64) -> Result<(), WriteError> {
    let mut user = store.users.get(id).ok_or(WriteError::NotFound)?.clone();
    user.active = false;
    user.email = None;
    user.secondary_emails.clear();
    user.external_id = None;
    user.organization_id = None;
    user.updated_at = ctx.now.clone();
    store.users.put(user);
    memberships::remove_user(store, id);
    Ok(())
}

/// A `RecordNotFound` description for a job item.
pub fn not_found(what: &Value) -> String {
    // UNVERIFIED: no recording of a user job item whose user is missing.
    format!(
        "User {} not found",
        what.as_str().map(str::to_string).unwrap_or_else(|| what.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Ctx {
        Ctx { base_url: "http://x".into(), now: "2024-01-01T00:00:00Z".into() }
    }

    #[test]
    fn describe_joins_descriptions() {
        let mut d = Details::new();
        problem(&mut d, "email", "Email: x is not properly formatted".into(), None);
        problem(&mut d, "name", "Name: cannot be blank".into(), Some("BlankValue"));
        assert_eq!(describe(&d), "Email: x is not properly formatted Name: cannot be blank");
        assert_eq!(d["email"], json!([{"description": "Email: x is not properly formatted"}]));
    }

    #[test]
    fn create_requires_a_name_and_checks_role_and_org() {
        let mut store = Store::default();
        let err =
            create(&mut store, &ctx(), &json!({"id": "", "role": "boss", "organization_id": 42}))
                .unwrap_err();
        assert_eq!(err["name"][0]["error"], "BlankValue");
        assert_eq!(err["role"][0]["description"], "Role: boss is not a valid role");
        assert!(err.contains_key("organization_id"));
        assert!(store.users.users.is_empty());
    }

    #[test]
    fn email_and_external_id_are_unique_until_deleted() {
        let mut store = Store::default();
        let c = ctx();
        let id =
            create(&mut store, &c, &json!({"name": "A", "email": "a@x.co", "external_id": "E1"}))
                .unwrap();
        let dup = create(&mut store, &c, &json!({"name": "B", "email": "A@X.CO"})).unwrap_err();
        assert_eq!(
            dup["email"][0]["description"],
            "Email: A@X.CO is already being used by another user"
        );
        let dup = create(&mut store, &c, &json!({"name": "B", "external_id": "e1"})).unwrap_err();
        assert_eq!(dup["external_id"][0]["error"], "DuplicateValue");
        delete(&mut store, &c, id).unwrap();
        assert!(create(
            &mut store,
            &c,
            &json!({"name": "B", "email": "a@x.co", "external_id": "E1"})
        )
        .is_ok());
    }

    #[test]
    fn update_adds_a_secondary_email_and_keeps_the_primary() {
        let mut store = Store::default();
        let c = ctx();
        let id = create(&mut store, &c, &json!({"name": "A", "email": "a@x.co"})).unwrap();
        update(&mut store, &c, id, &json!({"email": "b@x.co"})).unwrap();
        let user = store.users.get(id).unwrap();
        assert_eq!(user.email.as_deref(), Some("a@x.co"));
        assert_eq!(user.secondary_emails, vec!["b@x.co"]);
        // The secondary identity is taken too.
        let other = create(&mut store, &c, &json!({"name": "B", "email": "b@x.co"}));
        assert!(other.is_err());
        assert_eq!(store.users.find_by_email("B@x.co").map(|u| u.id), Some(id));
    }

    #[test]
    fn find_match_prefers_external_id_and_refuses_two_users() {
        let mut store = Store::default();
        let c = ctx();
        let a =
            create(&mut store, &c, &json!({"name": "A", "email": "a@x.co", "external_id": "ea"}))
                .unwrap();
        let b = create(&mut store, &c, &json!({"name": "B", "email": "b@x.co"})).unwrap();
        assert_eq!(find_match(&store, &json!({"external_id": "EA"})).unwrap(), Some(a));
        assert_eq!(find_match(&store, &json!({"email": "b@x.co"})).unwrap(), Some(b));
        assert!(find_match(&store, &json!({"external_id": "ea", "email": "b@x.co"})).is_err());
        assert_eq!(find_match(&store, &json!({"email": "c@x.co"})).unwrap(), None);
    }

    #[test]
    fn role_change_resets_ticket_restriction() {
        let mut store = Store::default();
        let c = ctx();
        let id = create(&mut store, &c, &json!({"name": "A"})).unwrap();
        assert_eq!(store.users.get(id).unwrap().ticket_restriction.as_deref(), Some("requested"));
        update(&mut store, &c, id, &json!({"role": "admin"})).unwrap();
        assert_eq!(store.users.get(id).unwrap().ticket_restriction, None);
    }
}
