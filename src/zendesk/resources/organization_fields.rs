//! `/api/v2/organization_fields`: the organization field definitions.

use super::super::error::ApiError;
use super::super::models::FieldDef;
use super::super::Client;

/// Handler for organization field definitions; from [`Client::organization_fields`].
#[derive(Debug, Clone, Copy)]
pub struct OrganizationFields<'c> {
    pub(crate) client: &'c Client,
}

impl OrganizationFields<'_> {
    /// Every organization field definition, following cursor pages.
    ///
    /// ```no_run
    /// # async fn demo(client: zdbulk::zendesk::Client) -> Result<(), zdbulk::zendesk::ApiError> {
    /// let fields = client.organization_fields().list_all().await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_all(self) -> Result<Vec<FieldDef>, ApiError> {
        super::cursor_all(self.client, "organization_fields.json", "organization_fields").await
    }
}
