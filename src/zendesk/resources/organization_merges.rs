//! Organization merges: `POST organizations/{id}/merge`, `GET organization_merges/{id}` and
//! `GET organizations/{id}/merges`. A merge is irreversible: the loser is deleted.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::error::ApiError;
use super::super::Client;
use super::take;

/// An Organization Merge record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationMerge {
    /// Its id (a ULID string).
    pub id: String,
    /// The organization merged away (deleted once complete).
    pub loser_id: u64,
    /// The organization that stays.
    pub winner_id: u64,
    /// `new`, `in progress`, `error` or `complete`.
    pub status: String,
}

impl OrganizationMerge {
    /// Whether it has ended (`complete` or `error`).
    pub fn ended(&self) -> bool {
        matches!(self.status.as_str(), "complete" | "error")
    }
}

/// Handler for merges; from [`Client::organization_merges`].
#[derive(Debug, Clone, Copy)]
pub struct OrganizationMerges<'c> {
    pub(crate) client: &'c Client,
}

impl OrganizationMerges<'_> {
    /// Starts merging `loser` into `winner`. Never repeated blindly by the client: a lost
    /// answer comes back as [`ApiError::AnswerLost`], and the caller looks the merge up.
    pub async fn create(self, loser: u64, winner: u64) -> Result<OrganizationMerge, ApiError> {
        let path = format!("organizations/{loser}/merge.json");
        let body = json!({"organization_merge": {"winner_id": winner}});
        let answer: Value = self.client.send_json(Method::POST, &path, &[], Some(&body)).await?;
        take(self.client, &path, answer, "organization_merge")
    }

    /// One merge by id.
    pub async fn show(self, id: &str) -> Result<OrganizationMerge, ApiError> {
        let seg: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
        let path = format!("organization_merges/{seg}.json");
        let answer: Value = self.client.get_json(&path, &[]).await?;
        take(self.client, &path, answer, "organization_merge")
    }

    /// Every merge an organization took part in (cursor pages of 100): one request answers
    /// for all the merges into one winner.
    pub async fn of_organization(self, id: u64) -> Result<Vec<OrganizationMerge>, ApiError> {
        let path = format!("organizations/{id}/merges.json");
        super::cursor_all(self.client, &path, "organization_merges").await
    }
}
