//! Field order after a definitions import: when the file lists fields in another order than the
//! account keeps them, and has no `position` column to say otherwise, one
//! `PUT {fields}/reorder.json` puts the file's fields in the file's order, in the places those
//! fields held (the account's other fields stay where they are).

use std::path::Path;

use anyhow::Context as _;
use reqwest::Method;
use serde_json::{json, Value};

use crate::input::mapping::MappedHeader;
use crate::input::open_input;
use crate::resource::Resource;
use crate::zendesk::Client;

/// The account's ids in the order that puts `wanted` (keys, in file order) in file order;
/// `None` when it already is.
pub(super) fn new_order(account: &[(u64, String)], wanted: &[String]) -> Option<Vec<u64>> {
    let slots: Vec<usize> = account
        .iter()
        .enumerate()
        .filter(|(_, (_, k))| wanted.contains(k))
        .map(|(i, _)| i)
        .collect();
    let in_file_order: Vec<u64> = wanted
        .iter()
        .filter_map(|k| account.iter().find(|(_, key)| key == k).map(|(id, _)| *id))
        .collect();
    let mut ids: Vec<u64> = account.iter().map(|(id, _)| *id).collect();
    for (slot, id) in slots.iter().zip(&in_file_order) {
        ids[*slot] = *id;
    }
    let before: Vec<u64> = account.iter().map(|(id, _)| *id).collect();
    (ids != before).then_some(ids)
}

/// Reorders the account's `resource` fields to the file's order, if needed; returns what it
/// did, in words.
pub(super) async fn reorder(
    client: &Client,
    resource: Resource,
    file: &Path,
    sheet: Option<&str>,
    mapped: &MappedHeader,
) -> anyhow::Result<Option<String>> {
    let (Some(key), None) = (mapped.index_of("key"), mapped.index_of("position")) else {
        return Ok(None);
    };
    let mut wanted: Vec<String> = Vec::new();
    for row in open_input(file, sheet)? {
        let row = row?;
        if let Some(k) = row.cells.get(key).map(|c| c.trim()).filter(|c| !c.is_empty()) {
            wanted.push(k.to_string());
        }
    }
    let plural = crate::resource::layer(resource).plural();
    let listed = match resource {
        Resource::UserFields => client.user_fields().list_all().await,
        _ => client.organization_fields().list_all().await,
    }
    .with_context(|| format!("failed to read the account's {plural} to order them"))?;
    let account: Vec<(u64, String)> = listed.into_iter().map(|d| (d.id.0, d.key)).collect();
    let Some(ids) = new_order(&account, &wanted) else { return Ok(None) };
    let param = format!("{}_ids", plural.trim_end_matches('s'));
    let body = json!({ param: ids });
    client
        .send_json::<Value, _>(Method::PUT, &format!("{plural}/reorder.json"), &[], Some(&body))
        .await
        .with_context(|| format!("failed to reorder the account's {plural}"))?;
    Ok(Some(format!("{plural} reordered to the file's order")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_fields_take_the_places_they_held_in_its_order() {
        let account: Vec<(u64, String)> =
            [(1, "a"), (2, "x"), (3, "b"), (4, "c")].map(|(i, k)| (i, k.to_string())).to_vec();
        let wanted = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(new_order(&account, &wanted(&["c", "a", "b"])), Some(vec![4, 2, 1, 3]));
        assert_eq!(new_order(&account, &wanted(&["a", "b", "c"])), None, "already in order");
        assert_eq!(new_order(&account, &wanted(&["b"])), None);
    }
}
