//! Batches: at most [`MAX_BATCH`] planned rows sent in one bulk call.

use serde_json::{json, Map, Value};

use crate::output::Action;
use crate::resource::{layer, Resource};

/// Zendesk's limit of items in one bulk call (`create_many`, `update_many`, `destroy_many`,
/// `show_many`): more is a 400 `TooManyValues` (`zendesk-api.md` §4).
pub const MAX_BATCH: usize = 100;

/// What a batch asks Zendesk to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `create_many`.
    Create,
    /// `update_many` (batch form, each item with its `id`).
    Update,
    /// `create_or_update_many` (users): Zendesk matches each item by e-mail or external id.
    Upsert,
    /// `destroy_many?ids=`.
    Delete,
}

impl Op {
    /// The word used in the journal and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Upsert => "upsert",
            Op::Delete => "delete",
        }
    }

    /// The report's `action` for a row sent with this operation (an upsert's is known from
    /// its result, or from the planner's lookup; until then, a create).
    pub fn action(self) -> Action {
        match self {
            Op::Create | Op::Upsert => Action::Create,
            Op::Update => Action::Update,
            Op::Delete => Action::Delete,
        }
    }
}

/// A row that passed validation and planning, waiting for its job.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRow {
    /// 0-based data-row position (report order).
    pub seq: usize,
    /// The row number the user sees.
    pub row: usize,
    /// The report's key for the row.
    pub key: String,
    /// The API write shape (for updates it includes `id`).
    pub payload: Map<String, Value>,
    /// The existing record's id (updates, deletes) once known.
    pub id: Option<u64>,
    /// The row's external id, to look it up after a lost answer.
    pub external_id: Option<String>,
    /// The value of its resource's search column (an organization's name, a user's e-mail),
    /// the other way to find it again.
    pub search: Option<String>,
    /// Records to link once this one exists: (organization id, as the file named it).
    pub links: Vec<(u64, String)>,
    /// Creating it makes Zendesk mail the person (an address, and no `verified` or
    /// `skip_verify_email`): counted when it comes back created.
    pub mails: bool,
    /// The original cells, for the failed-rows file.
    pub original: Vec<String>,
    /// How many times this row has been sent already.
    pub attempts: u32,
    /// For a row that changes an existing record: that record's values of the fields the row
    /// writes, as they were (journaled for `zdbulk undo --restore-updates`).
    pub before: Option<Value>,
}

/// Up to [`MAX_BATCH`] rows of one operation on one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The resource.
    pub resource: Resource,
    /// The operation.
    pub op: Op,
    /// The rows, in request order.
    pub rows: Vec<PlannedRow>,
}

impl Batch {
    /// The request body of `create_many`/`update_many`, or the id list of `destroy_many`.
    pub fn request(&self) -> Value {
        let items = |with_id: bool| -> Value {
            let items = self.rows.iter().map(|r| {
                let mut item = r.payload.clone();
                if let (true, Some(id)) = (with_id, r.id) {
                    item.insert("id".into(), json!(id));
                }
                Value::Object(item)
            });
            let mut body = Map::new();
            body.insert(layer(self.resource).plural().into(), Value::Array(items.collect()));
            Value::Object(body)
        };
        match self.op {
            Op::Create | Op::Upsert => items(false),
            Op::Update => items(true),
            Op::Delete => json!({"ids": self.rows.iter().filter_map(|r| r.id).collect::<Vec<_>>()}),
        }
    }
}

/// Collects planned rows of one resource into batches of one operation, at most `size` rows
/// each.
#[derive(Debug)]
pub struct Batcher {
    resource: Resource,
    size: usize,
    creates: Vec<PlannedRow>,
    updates: Vec<PlannedRow>,
    upserts: Vec<PlannedRow>,
    deletes: Vec<PlannedRow>,
}

impl Batcher {
    /// A batcher of batches of `size` rows (clamped to 1..=[`MAX_BATCH`]).
    pub fn new(resource: Resource, size: usize) -> Batcher {
        Batcher {
            resource,
            size: size.clamp(1, MAX_BATCH),
            creates: vec![],
            updates: vec![],
            upserts: vec![],
            deletes: vec![],
        }
    }

    /// Adds a row; returns a batch when one is full.
    pub fn push(&mut self, op: Op, row: PlannedRow) -> Option<Batch> {
        let (size, resource) = (self.size, self.resource);
        let buf = self.buffer(op);
        buf.push(row);
        (buf.len() >= size).then(|| Batch { resource, op, rows: std::mem::take(buf) })
    }

    fn buffer(&mut self, op: Op) -> &mut Vec<PlannedRow> {
        match op {
            Op::Create => &mut self.creates,
            Op::Update => &mut self.updates,
            Op::Upsert => &mut self.upserts,
            Op::Delete => &mut self.deletes,
        }
    }

    /// The partly filled batches left at the end.
    pub fn drain(&mut self) -> Vec<Batch> {
        let resource = self.resource;
        [Op::Create, Op::Upsert, Op::Update, Op::Delete]
            .into_iter()
            .filter_map(|op| {
                let rows = std::mem::take(self.buffer(op));
                (!rows.is_empty()).then_some(Batch { resource, op, rows })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: usize) -> PlannedRow {
        PlannedRow {
            seq,
            row: seq + 2,
            key: format!("k{seq}"),
            payload: Map::new(),
            id: Some(seq as u64 + 1),
            external_id: None,
            search: None,
            links: vec![],
            mails: false,
            original: vec![],
            attempts: 0,
            before: None,
        }
    }

    #[test]
    fn every_row_lands_in_exactly_one_batch_in_order_and_none_exceeds_the_limit() {
        for size in [1, 7, 100, 250] {
            let mut b = Batcher::new(Resource::Organizations, size);
            let mut batches = Vec::new();
            for seq in 0..1013 {
                let op = if seq % 3 == 0 { Op::Update } else { Op::Create };
                batches.extend(b.push(op, row(seq)));
            }
            batches.extend(b.drain());
            let mut seen: Vec<usize> =
                batches.iter().flat_map(|b| b.rows.iter().map(|r| r.seq)).collect();
            assert!(batches
                .iter()
                .all(|b| !b.rows.is_empty() && b.rows.len() <= size.min(MAX_BATCH)));
            for batch in &batches {
                let seqs: Vec<usize> = batch.rows.iter().map(|r| r.seq).collect();
                assert!(seqs.windows(2).all(|w| w[0] < w[1]), "order kept inside a batch");
            }
            seen.sort();
            assert_eq!(seen, (0..1013).collect::<Vec<_>>());
        }
    }

    #[test]
    fn update_requests_carry_the_id() {
        let mut r = row(0);
        r.payload.insert("notes".into(), json!("x"));
        let b = Batch { resource: Resource::Organizations, op: Op::Update, rows: vec![r.clone()] };
        assert_eq!(b.request(), json!({"organizations": [{"notes": "x", "id": 1}]}));
        let u = Batch { resource: Resource::Users, op: Op::Upsert, rows: vec![r] };
        assert_eq!(u.request(), json!({"users": [{"notes": "x"}]}));
        let d = Batch { resource: Resource::Users, op: Op::Delete, rows: vec![row(4)] };
        assert_eq!(d.request(), json!({"ids": [5]}));
    }
}
