//! Batches: at most [`MAX_BATCH`] planned rows sent in one bulk call.

use serde_json::{json, Map, Value};

use crate::output::Action;

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
    /// `destroy_many?ids=`.
    Delete,
}

impl Op {
    /// The word used in the journal and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    /// The report's `action` for a row sent with this operation.
    pub fn action(self) -> Action {
        match self {
            Op::Create => Action::Create,
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
    /// The row's name and external id, to look it up after a lost answer.
    pub name: Option<String>,
    /// Its external id.
    pub external_id: Option<String>,
    /// The original cells, for the failed-rows file.
    pub original: Vec<String>,
    /// How many times this row has been sent already.
    pub attempts: u32,
}

/// Up to [`MAX_BATCH`] rows of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The operation.
    pub op: Op,
    /// The rows, in request order.
    pub rows: Vec<PlannedRow>,
}

impl Batch {
    /// The request body of `create_many`/`update_many`, or the id list of `destroy_many`.
    pub fn request(&self) -> Value {
        match self.op {
            Op::Create => {
                json!({"organizations": self.rows.iter().map(|r| Value::Object(r.payload.clone())).collect::<Vec<_>>()})
            }
            Op::Update => json!({"organizations": self.rows.iter().map(|r| {
                let mut item = r.payload.clone();
                if let Some(id) = r.id {
                    item.insert("id".into(), json!(id));
                }
                Value::Object(item)
            }).collect::<Vec<_>>()}),
            Op::Delete => json!({"ids": self.rows.iter().filter_map(|r| r.id).collect::<Vec<_>>()}),
        }
    }
}

/// Collects planned rows into batches of one operation, at most `size` rows each.
#[derive(Debug)]
pub struct Batcher {
    size: usize,
    creates: Vec<PlannedRow>,
    updates: Vec<PlannedRow>,
    deletes: Vec<PlannedRow>,
}

impl Batcher {
    /// A batcher of batches of `size` rows (clamped to 1..=[`MAX_BATCH`]).
    pub fn new(size: usize) -> Batcher {
        Batcher {
            size: size.clamp(1, MAX_BATCH),
            creates: vec![],
            updates: vec![],
            deletes: vec![],
        }
    }

    /// Adds a row; returns a batch when one is full.
    pub fn push(&mut self, op: Op, row: PlannedRow) -> Option<Batch> {
        let size = self.size;
        let buf = self.buffer(op);
        buf.push(row);
        (buf.len() >= size).then(|| Batch { op, rows: std::mem::take(buf) })
    }

    fn buffer(&mut self, op: Op) -> &mut Vec<PlannedRow> {
        match op {
            Op::Create => &mut self.creates,
            Op::Update => &mut self.updates,
            Op::Delete => &mut self.deletes,
        }
    }

    /// The partly filled batches left at the end.
    pub fn drain(&mut self) -> Vec<Batch> {
        [Op::Create, Op::Update, Op::Delete]
            .into_iter()
            .filter_map(|op| {
                let rows = std::mem::take(self.buffer(op));
                (!rows.is_empty()).then_some(Batch { op, rows })
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
            name: None,
            external_id: None,
            original: vec![],
            attempts: 0,
        }
    }

    #[test]
    fn every_row_lands_in_exactly_one_batch_in_order_and_none_exceeds_the_limit() {
        for size in [1, 7, 100, 250] {
            let mut b = Batcher::new(size);
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
        let b = Batch { op: Op::Update, rows: vec![r] };
        assert_eq!(b.request(), json!({"organizations": [{"notes": "x", "id": 1}]}));
        let d = Batch { op: Op::Delete, rows: vec![row(4)] };
        assert_eq!(d.request(), json!({"ids": [5]}));
    }
}
