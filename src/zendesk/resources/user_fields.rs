//! `/api/v2/user_fields`: the user field definitions.

use super::super::error::ApiError;
use super::super::models::FieldDef;
use super::super::Client;

/// Handler for user field definitions; from [`Client::user_fields`].
#[derive(Debug, Clone, Copy)]
pub struct UserFields<'c> {
    pub(crate) client: &'c Client,
}

impl UserFields<'_> {
    /// Every user field definition, following cursor pages.
    ///
    /// ```no_run
    /// # async fn demo(client: zdbulk::zendesk::Client) -> Result<(), zdbulk::zendesk::ApiError> {
    /// let fields = client.user_fields().list_all().await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_all(self) -> Result<Vec<FieldDef>, ApiError> {
        super::cursor_all(self.client, "user_fields.json", "user_fields").await
    }
}
