//! `/api/v2/organizations`: look-ups for the upsert plan, the full list for export, and the
//! bulk writes that queue jobs.

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::super::error::ApiError;
use super::super::models::{CursorPage, JobStatus, Organization, OrganizationId};
use super::super::Client;
use super::{check_batch, take, MAX_PER_CALL};

/// Handler for organizations; from [`Client::organizations`].
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'c> {
    pub(crate) client: &'c Client,
}

impl Organizations<'_> {
    /// Organizations by id (`show_many.json?ids=`), 100 a call; longer lists are split.
    /// Unknown ids are absent from the answer, and Zendesk sorts by name, not request order.
    pub async fn show_many(self, ids: &[OrganizationId]) -> Result<Vec<Organization>, ApiError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.show_many_by("ids", &ids).await
    }

    /// Organizations by external id (`show_many.json?external_ids=`), 100 a call.
    ///
    /// UNVERIFIED: Zendesk has no escape for a comma inside an external id in this list; the
    /// values are sent comma-joined as they are, so the caller should look such ids up with
    /// [`Organizations::search_by_external_id`] instead.
    ///
    /// ```no_run
    /// # async fn demo(client: zdbulk::zendesk::Client) -> Result<(), zdbulk::zendesk::ApiError> {
    /// let found = client.organizations().show_many_by_external_ids(&["acme-1".to_string()]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn show_many_by_external_ids(
        &self,
        external_ids: &[String],
    ) -> Result<Vec<Organization>, ApiError> {
        self.show_many_by("external_ids", external_ids).await
    }

    async fn show_many_by(
        &self,
        param: &str,
        values: &[String],
    ) -> Result<Vec<Organization>, ApiError> {
        let path = "organizations/show_many.json";
        let mut all = Vec::with_capacity(values.len());
        for chunk in values.chunks(MAX_PER_CALL) {
            let answer: Value = self.client.get_json(path, &[(param, chunk.join(","))]).await?;
            let orgs: Vec<Organization> = take(self.client, path, answer, "organizations")?;
            all.extend(orgs);
        }
        Ok(all)
    }

    /// Organizations whose name matches exactly, case-insensitively (`search.json?name=`).
    /// Names are unique, so the first page is the whole answer.
    pub async fn search_by_name(self, name: &str) -> Result<Vec<Organization>, ApiError> {
        self.search("name", name).await
    }

    /// Organizations whose external id matches exactly (`search.json?external_id=`).
    pub async fn search_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Vec<Organization>, ApiError> {
        self.search("external_id", external_id).await
    }

    async fn search(self, param: &str, value: &str) -> Result<Vec<Organization>, ApiError> {
        let path = "organizations/search.json";
        let answer: Value = self.client.get_json(path, &[(param, value.to_string())]).await?;
        take(self.client, path, answer, "organizations")
    }

    /// One cursor page of every organization (`organizations.json?page[size]=100`); pass the
    /// previous page's `next_cursor` to go on. For exports that stream.
    pub async fn list_page(
        &self,
        after: Option<&str>,
    ) -> Result<CursorPage<Organization>, ApiError> {
        super::cursor_page(self.client, "organizations.json", "organizations", after).await
    }

    /// Every organization, following cursor pages until `meta.has_more` is false.
    pub async fn list_all(self) -> Result<Vec<Organization>, ApiError> {
        super::cursor_all(self.client, "organizations.json", "organizations").await
    }

    /// Queues a job creating up to 100 organizations (`POST create_many.json`). Items are
    /// whatever the pipeline builds (`{"name":…,"external_id":…,…}`).
    ///
    /// ```no_run
    /// # async fn demo(client: zdbulk::zendesk::Client) -> Result<(), zdbulk::zendesk::ApiError> {
    /// let job = client.organizations()
    ///     .create_many(&[serde_json::json!({"name": "Acme", "external_id": "acme-1"})])
    ///     .await?;
    /// println!("queued {}", job.id);
    /// # Ok(()) }
    /// ```
    pub async fn create_many<T: Serialize>(
        &self,
        organizations: &[T],
    ) -> Result<JobStatus, ApiError> {
        self.write_many(Method::POST, "organizations/create_many.json", organizations).await
    }

    /// Queues a job updating up to 100 organizations, each identified by its `id` (batch
    /// form `{"organizations":[{"id":…,…}]}`).
    pub async fn update_many<T: Serialize>(
        &self,
        organizations: &[T],
    ) -> Result<JobStatus, ApiError> {
        self.write_many(Method::PUT, "organizations/update_many.json", organizations).await
    }

    async fn write_many<T: Serialize>(
        &self,
        method: Method,
        path: &str,
        organizations: &[T],
    ) -> Result<JobStatus, ApiError> {
        check_batch(path, organizations.len())?;
        let body = json!({ "organizations": organizations });
        let answer: Value = self.client.send_json(method, path, &[], Some(&body)).await?;
        take(self.client, path, answer, "job_status")
    }

    /// Queues a job deleting up to 100 organizations by id (`DELETE destroy_many.json?ids=`).
    pub async fn destroy_many(self, ids: &[OrganizationId]) -> Result<JobStatus, ApiError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.destroy_many_by("ids", &ids).await
    }

    /// Queues a job deleting up to 100 organizations by external id.
    pub async fn destroy_many_by_external_ids(
        &self,
        external_ids: &[String],
    ) -> Result<JobStatus, ApiError> {
        self.destroy_many_by("external_ids", external_ids).await
    }

    async fn destroy_many_by(self, param: &str, values: &[String]) -> Result<JobStatus, ApiError> {
        let path = "organizations/destroy_many.json";
        check_batch(path, values.len())?;
        let query = [(param, values.join(","))];
        let answer: Value =
            self.client.send_json::<Value, ()>(Method::DELETE, path, &query, None).await?;
        take(self.client, path, answer, "job_status")
    }
}
