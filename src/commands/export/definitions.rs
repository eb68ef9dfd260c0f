//! `zdbulk export organization-fields|user-fields`: the account's definitions, in its order, in
//! the definitions format `import organization-fields` and `validate --fields` read (`key,
//! title, type, description, position, active, regexp_for_validation, tag, options`).
//! Definitions are few (one listing), so there is no resume point: an interrupted export is
//! simply run again.

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use super::columns::{cells, definition_columns, select, Organizations};
use super::csv_out::CsvOut;
use super::records::OutFormat;
use super::xlsx_out;
use crate::resource::{layer, Resource};
use crate::zendesk::resources::cursor_all;
use crate::zendesk::Client;

/// Every definition of a field family, in the account's order.
pub async fn list(client: &Client, resource: Resource) -> anyhow::Result<Vec<Value>> {
    let plural = layer(resource).plural();
    cursor_all::<Value>(client, &format!("{plural}.json"), plural)
        .await
        .with_context(|| format!("failed to read the account's {}", resource.cli_name()))
}

/// Writes the definitions of `resource` to `output`; returns how many.
pub async fn export(
    client: &Client,
    resource: Resource,
    wanted: Option<&[String]>,
    output: &Path,
    format: OutFormat,
    excel: bool,
) -> anyhow::Result<u64> {
    let columns = select(definition_columns(), wanted)?;
    let defs = list(client, resource).await?;
    let none = Organizations::default();
    let header: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let rows = defs.iter().map(|d| cells(&columns, d, &none));
    match format {
        OutFormat::Csv => {
            let mut out = CsvOut::create(output, &header, excel)?;
            for row in rows {
                out.write_row(&row)?;
            }
            out.sync()?;
            Ok(defs.len() as u64)
        }
        OutFormat::Xlsx => {
            let kinds: Vec<_> = columns.iter().map(|c| c.kind).collect();
            let all = std::iter::once(header).chain(rows).map(Ok);
            xlsx_out::write_xlsx(output, resource.cli_name(), &kinds, all)
        }
    }
}
