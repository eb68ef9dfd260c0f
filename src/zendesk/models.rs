//! Serde types for what Zendesk sends: id newtypes, organizations, field definitions, job
//! statuses and their result items. Deserialization is lenient where the recordings and the
//! OpenAPI file disagree (zendesk-api.md §1): every optional key is `#[serde(default)]` and
//! unknown keys are ignored.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Accepts a JSON number or a string holding one; what octocrab's id types accept.
fn u64_from_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => {
            n.as_u64().ok_or_else(|| serde::de::Error::custom(format!("bad id {n}")))
        }
        Value::String(s) => {
            s.trim().parse().map_err(|_| serde::de::Error::custom(format!("bad id {s:?}")))
        }
        other => Err(serde::de::Error::custom(format!("expected an id, got {other}"))),
    }
}

/// Like [`u64_from_number_or_string`] but never fails: anything else is `None`.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A string, or any other JSON value as its JSON text (null is `None`).
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                u64_from_number_or_string(d).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                $name(id)
            }
        }
    )+};
}

id_type! {
    /// An organization's id.
    OrganizationId;
    /// A user's id.
    UserId;
    /// A custom field definition's id (organization or user field).
    FieldId;
    /// A dropdown or multiselect option's id.
    FieldOptionId;
}

/// A job status id (`V3-` plus 32 hex characters in 2023–24; older ones have no prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(JobId(s)),
            Value::Number(n) => Ok(JobId(n.to_string())),
            other => Err(serde::de::Error::custom(format!("expected a job id, got {other}"))),
        }
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JobId {
    fn from(id: &str) -> Self {
        JobId(id.to_string())
    }
}

/// An organization as Zendesk returns it (every key of the recordings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// The id.
    pub id: OrganizationId,
    /// API URL of the record.
    #[serde(default)]
    pub url: Option<String>,
    /// Unique name (trimmed before validation).
    pub name: String,
    /// Whether end users of the org see each other's tickets.
    #[serde(default)]
    pub shared_tickets: bool,
    /// Whether end users of the org can comment on each other's tickets.
    #[serde(default)]
    pub shared_comments: bool,
    /// Unique (case-insensitive) external id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Creation time, as Zendesk wrote it.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time, as Zendesk wrote it.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Domain names.
    #[serde(default)]
    pub domain_names: Vec<String>,
    /// Details text.
    #[serde(default)]
    pub details: Option<String>,
    /// Notes text.
    #[serde(default)]
    pub notes: Option<String>,
    /// Group id.
    #[serde(default)]
    pub group_id: Option<u64>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values by field key (`{}` when no fields exist).
    #[serde(default)]
    pub organization_fields: Map<String, Value>,
}

/// A dropdown or multiselect option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldOption {
    /// The option id (`null` for a new option in an update).
    #[serde(default)]
    pub id: Option<FieldOptionId>,
    /// The label.
    #[serde(default)]
    pub name: String,
    /// The label before dynamic-content rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_name: Option<String>,
    /// The tag stored on records.
    #[serde(default)]
    pub value: String,
    /// Ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
}

/// A custom field definition (organization or user field; the same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The id.
    pub id: FieldId,
    /// API URL of the definition.
    #[serde(default)]
    pub url: Option<String>,
    /// `text`, `textarea`, `checkbox`, `date`, `integer`, `decimal`, `regexp`, `dropdown`,
    /// `lookup`, `multiselect` (kept as a string: the schema module interprets it).
    #[serde(rename = "type")]
    pub field_type: String,
    /// The key used in `organization_fields` / `user_fields`.
    pub key: String,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// The title before dynamic-content rendering.
    #[serde(default)]
    pub raw_title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Description before dynamic-content rendering.
    #[serde(default)]
    pub raw_description: Option<String>,
    /// Ordering.
    #[serde(default)]
    pub position: Option<i64>,
    /// Whether the field is active (true when absent, Zendesk's default).
    #[serde(default = "yes")]
    pub active: bool,
    /// Whether it is a system field.
    #[serde(default)]
    pub system: bool,
    /// The regexp a `regexp` (and, on real accounts, `date`) value must match.
    #[serde(default)]
    pub regexp_for_validation: Option<String>,
    /// The tag a checked checkbox adds to the record.
    #[serde(default)]
    pub tag: Option<String>,
    /// Options of a dropdown or multiselect.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub custom_field_options: Vec<FieldOption>,
    /// Target of a lookup field.
    #[serde(default)]
    pub relationship_target_type: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time.
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn yes() -> bool {
    true
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A job's state. `killed` is not documented (node-zendesk handles it), so it and any
/// unknown value are accepted rather than failing the whole poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting to start.
    Queued,
    /// Running; `progress` is set, `results` is still null.
    Working,
    /// Done; `results` holds one item per request item, in request order.
    Completed,
    /// The job as a whole failed.
    Failed,
    /// Killed (UNVERIFIED: only node-zendesk mentions it; treated as terminal).
    Killed,
    /// A value Zendesk did not document; not terminal, so polling goes on until its
    /// deadline.
    Other(String),
}

impl JobState {
    /// Whether the job will not change any more.
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobState::Completed | JobState::Failed | JobState::Killed)
    }
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.to_ascii_lowercase().as_str() {
            "queued" => JobState::Queued,
            "working" => JobState::Working,
            "completed" => JobState::Completed,
            "failed" => JobState::Failed,
            "killed" => JobState::Killed,
            _ => JobState::Other(s),
        })
    }
}

impl Serialize for JobState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            JobState::Queued => "queued",
            JobState::Working => "working",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Killed => "killed",
            JobState::Other(other) => other,
        })
    }
}

/// A job status (`{"job_status":{…}}` and the items of `{"job_statuses":[…]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// The job id.
    pub id: JobId,
    /// Its API URL.
    #[serde(default)]
    pub url: Option<String>,
    /// The state.
    pub status: JobState,
    /// Items in the job.
    #[serde(default)]
    pub total: Option<u64>,
    /// Items done so far.
    #[serde(default)]
    pub progress: Option<u64>,
    /// "Creating organization #31", "Completed at … +0000".
    #[serde(default)]
    pub message: Option<String>,
    /// One item per request item once completed. The OAS also allows the object
    /// `{"success":bool}` (permanent ticket deletion); anything not a list reads as `None`.
    #[serde(default, deserialize_with = "results_list")]
    pub results: Option<Vec<JobResult>>,
    /// "Bulk Create Organization" … (2024 recordings only).
    #[serde(default)]
    pub job_type: Option<String>,
}

fn results_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<JobResult>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(serde::de::Error::custom))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Ok(None),
    }
}

/// One result item: the union of every recorded shape (zendesk-api.md §1):
/// `{"status":"Created","id":…}`, `{"action":"update","id":…,"status":"Updated","success":true}`,
/// `{"index":1,"error":"OrganizationUpdateFailed","id":…,"details":"…"}`,
/// `{"id":2,"error":"UserUpdateError","details":"…","status":"Failed"}`.
///
/// Never trust `id` on a failed item: for create_or_update_many it is the item's *position*,
/// not a record id. Match results to requests by position ([`JobResult::record_id`] hides the
/// id of failures).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// Position in the request (failure items of update_many carry it).
    #[serde(default, deserialize_with = "lenient_usize", skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// A record id on success; maybe a position on failure.
    #[serde(default, deserialize_with = "lenient_u64", skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// "Created", "Updated", "Deleted", "Failed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// "create", "update", "delete".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Present on update and delete items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Error code, e.g. "OrganizationUpdateFailed".
    #[serde(default, deserialize_with = "lenient_string", skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Error text, e.g. "Name:  x has already been taken" (objects kept as JSON text).
    #[serde(default, deserialize_with = "lenient_string", skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Present on users/create_or_update_many items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Present on some user items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

fn lenient_usize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    Ok(lenient_u64(d)?.and_then(|n| usize::try_from(n).ok()))
}

impl JobResult {
    /// Whether this item failed: an `error` is present, `success` is false, or `status` is
    /// "Failed".
    pub fn is_failure(&self) -> bool {
        self.error.is_some()
            || self.success == Some(false)
            || self.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("failed"))
    }

    /// The record id of a successful item; `None` for failures, whose `id` may be a
    /// position (zendesk-api.md §1).
    pub fn record_id(&self) -> Option<u64> {
        if self.is_failure() {
            None
        } else {
            self.id
        }
    }
}

/// `meta` of a cursor page.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CursorMeta {
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// Cursor for the next page.
    #[serde(default)]
    pub after_cursor: Option<String>,
    /// Cursor for the previous page.
    #[serde(default)]
    pub before_cursor: Option<String>,
}

/// One page of a cursor-paginated list.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<T> {
    /// The records.
    pub items: Vec<T>,
    /// The cursor for the next page, when `has_more`.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_numbers_and_numeric_strings() {
        let a: OrganizationId = serde_json::from_str("6164110479770").unwrap();
        let b: OrganizationId = serde_json::from_str("\"6164110479770\"").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "6164110479770");
        assert!(serde_json::from_str::<UserId>("\"abc\"").is_err());
        let j: JobId = serde_json::from_str("42").unwrap();
        assert_eq!(j, JobId::from("42"));
    }

    #[test]
    fn job_results_accept_the_union_of_shapes() {
        let items: Vec<JobResult> = serde_json::from_str(
            r#"[{"status":"Created","id":6164110479770},
                {"action":"update","id":6164094806938,"status":"Updated","success":true},
                {"index":1,"error":"OrganizationUpdateFailed","id":6164094809242,"details":"Name:  x has already been taken"},
                {"id":2,"error":"UserUpdateError","details":"Name: Email: x is not properly formatted","status":"Failed"},
                {"id":3,"status":"Failed"},
                {"id":"4","success":false,"details":{"name":["taken"]}}]"#,
        )
        .unwrap();
        let failures: Vec<bool> = items.iter().map(JobResult::is_failure).collect();
        assert_eq!(failures, vec![false, false, true, true, true, true]);
        assert_eq!(items[0].record_id(), Some(6164110479770));
        assert_eq!(items[2].index, Some(1));
        // The id of a failed item is never handed out as a record id.
        assert_eq!(items[3].id, Some(2));
        assert_eq!(items[3].record_id(), None);
        assert_eq!(items[5].details.as_deref(), Some(r#"{"name":["taken"]}"#));
    }

    #[test]
    fn job_state_accepts_unknown_values() {
        let s: JobState = serde_json::from_str("\"killed\"").unwrap();
        assert!(s.is_terminal());
        let s: JobState = serde_json::from_str("\"paused\"").unwrap();
        assert_eq!(s, JobState::Other("paused".into()));
        assert!(!s.is_terminal());
        let j: JobStatus =
            serde_json::from_str(r#"{"id":"x","status":"completed","results":{"success":true}}"#)
                .unwrap();
        assert_eq!(j.results, None);
    }
}
