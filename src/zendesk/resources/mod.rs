//! One handler per resource, borrowed from the client: `client.organizations()`,
//! `client.organization_fields()`, `client.user_fields()`, `client.job_statuses()`,
//! `client.organization_merges()`.
//!
//! Requests use `.json` paths, as the recorded clients do.

pub mod job_statuses;
pub mod organization_fields;
pub mod organization_merges;
pub mod organizations;
pub mod user_fields;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;
use super::models::{CursorMeta, CursorPage};
use super::Client;

pub use job_statuses::JobStatuses;
pub use organization_fields::OrganizationFields;
pub use organization_merges::{OrganizationMerge, OrganizationMerges};
pub use organizations::Organizations;
pub use user_fields::UserFields;

/// Most items (ids, external ids, records) one call accepts (zendesk-api.md §4).
pub const MAX_PER_CALL: usize = 100;

/// Cursor page size: the maximum most endpoints allow (zendesk-api.md §5).
pub const PAGE_SIZE: usize = 100;

impl Client {
    /// Organizations: show_many, search, list, create/update/destroy_many.
    pub fn organizations(&self) -> Organizations<'_> {
        Organizations { client: self }
    }

    /// Organization merges: start one, follow it.
    pub fn organization_merges(&self) -> OrganizationMerges<'_> {
        OrganizationMerges { client: self }
    }

    /// Organization field definitions.
    pub fn organization_fields(&self) -> OrganizationFields<'_> {
        OrganizationFields { client: self }
    }

    /// User field definitions.
    pub fn user_fields(&self) -> UserFields<'_> {
        UserFields { client: self }
    }

    /// Job statuses: show and show_many.
    pub fn job_statuses(&self) -> JobStatuses<'_> {
        JobStatuses { client: self }
    }
}

/// Takes `key` out of a JSON object answer and decodes it.
pub(crate) fn take<T: DeserializeOwned>(
    client: &Client,
    path: &str,
    mut answer: Value,
    key: &str,
) -> Result<T, ApiError> {
    let value = answer.get_mut(key).map(Value::take).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| ApiError::Decode {
        url: format!("{}api/v2/{path}", client.base_url()),
        source: e,
    })
}

/// Fetches one cursor page of `path` (`page[size]=100`, then `page[after]=cursor`). The next
/// page is asked for with `after_cursor` rather than by following `links.next`, so a link
/// naming another host could never receive the credentials.
pub(crate) async fn cursor_page<T: DeserializeOwned>(
    client: &Client,
    path: &str,
    key: &str,
    after: Option<&str>,
) -> Result<CursorPage<T>, ApiError> {
    let mut query = vec![("page[size]", PAGE_SIZE.to_string())];
    if let Some(after) = after {
        query.push(("page[after]", after.to_string()));
    }
    let answer: Value = client.get_json(path, &query).await?;
    let meta: Option<CursorMeta> = take(client, path, answer.clone(), "meta")?;
    let items: Vec<T> = take(client, path, answer, key)?;
    let next_cursor = meta.filter(|m| m.has_more).and_then(|m| m.after_cursor);
    Ok(CursorPage { items, next_cursor })
}

/// Every record of a cursor-paginated list.
pub(crate) async fn cursor_all<T: DeserializeOwned>(
    client: &Client,
    path: &str,
    key: &str,
) -> Result<Vec<T>, ApiError> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page: CursorPage<T> = cursor_page(client, path, key, after.as_deref()).await?;
        all.extend(page.items);
        match page.next_cursor {
            // A cursor equal to the one just used would loop forever; stop instead.
            Some(next) if after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => return Ok(all),
        }
    }
}

/// Refuses more than [`MAX_PER_CALL`] items for one call (the caller batches).
pub(crate) fn check_batch(what: &str, given: usize) -> Result<(), ApiError> {
    if given > MAX_PER_CALL {
        return Err(ApiError::BatchTooLarge { what: what.to_string(), given, max: MAX_PER_CALL });
    }
    Ok(())
}
