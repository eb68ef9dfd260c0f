//! Reconciliation: a finished job's results matched to its rows **by position** (results come
//! back in request order; `zendesk-api.md` §1). The `id` of a failed item is never trusted: for
//! users it is the item's position, not a record.

use serde_json::Value;

use super::batch::{Batch, Op, PlannedRow};
use crate::output::{Action, RowOutcome, RowStatus};

/// How a job ended, as far as reconciliation cares.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    /// `completed`, with its results.
    Completed(Vec<Value>),
    /// `failed` or `killed`: some items may have been done; none can be told apart.
    Failed(String),
}

/// Rows settled by a job, and rows whose fate must be looked up before anything is re-sent.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Final outcomes.
    pub outcomes: Vec<RowOutcome>,
    /// Rows with no usable result.
    pub unknown: Vec<PlannedRow>,
}

/// Whether a result item is a failure: an `error`, `success: false`, or `status: "Failed"`.
pub fn is_failure(item: &Value) -> bool {
    item.get("error").is_some_and(|e| !e.is_null())
        || item.get("success") == Some(&Value::Bool(false))
        || item.get("status").and_then(Value::as_str) == Some("Failed")
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// What a result item says became of a row sent with `op`.
pub fn status_of(op: Op, item: &Value) -> RowStatus {
    if is_failure(item) {
        return RowStatus::Failed;
    }
    match (op, item.get("status").and_then(Value::as_str)) {
        (Op::Create | Op::Upsert, Some("Updated")) => RowStatus::Updated,
        (Op::Create | Op::Upsert, _) => RowStatus::Created,
        (Op::Update, _) => RowStatus::Updated,
        (Op::Delete, _) => RowStatus::Deleted,
    }
}

/// An outcome for one row from one result item.
pub fn outcome_of(op: Op, row: &PlannedRow, item: &Value, job_id: Option<&str>) -> RowOutcome {
    let mut o = RowOutcome::new(row.seq, row.row, row.key.clone(), op.action(), RowStatus::Failed);
    o.job_id = job_id.map(str::to_string);
    if is_failure(item) {
        if op == Op::Upsert && row.id.is_some() {
            o.action = Action::Update;
        }
        o.error_code = text(item.get("error")).or_else(|| Some("Failed".into()));
        o.message = text(item.get("details")).or_else(|| text(item.get("description")));
        // A create that meets a record with the same key: re-running a `--mode create` import
        // (instead of finishing it) is the usual cause, and an upsert is the way out.
        if op == Op::Create {
            if let Some(m) = o.message.as_mut().filter(|m| m.contains("already")) {
                m.push_str(
                    " (it exists already: if an earlier run of this file was interrupted, finish that run with `zdbulk resume RUN_DIR` instead; or import the row with --mode upsert, the default, to update it)",
                );
            }
        }
        o.zendesk_id = row.id;
        o.original = Some(row.original.clone());
        return o;
    }
    o.zendesk_id = item.get("id").and_then(Value::as_u64).or(row.id);
    o.status = status_of(op, item);
    if o.status == RowStatus::Updated {
        o.action = Action::Update;
    }
    o
}

/// Matches a finished job's results to the batch's rows by position.
pub fn reconcile(batch: &Batch, job_id: Option<&str>, end: &JobEnd) -> Reconciled {
    let mut out = Reconciled::default();
    match end {
        JobEnd::Completed(results) => {
            for (i, row) in batch.rows.iter().enumerate() {
                match results.get(i) {
                    Some(item) => out.outcomes.push(outcome_of(batch.op, row, item, job_id)),
                    None => out.unknown.push(row.clone()),
                }
            }
        }
        JobEnd::Failed(_) => out.unknown = batch.rows.clone(),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Resource;
    use serde_json::{json, Map};

    fn row(seq: usize) -> PlannedRow {
        PlannedRow {
            seq,
            row: seq + 2,
            key: format!("k{seq}"),
            payload: Map::new(),
            id: Some(100 + seq as u64),
            external_id: None,
            search: Some(format!("n{seq}")),
            links: vec![],
            mails: false,
            original: vec![format!("n{seq}")],
            attempts: 0,
            before: None,
        }
    }

    #[test]
    fn recorded_update_results_map_by_position() {
        // The shapes of TestOrganizationCreateUpdateDelete.test_multiple_update_half_full_objects.
        let batch = Batch {
            resource: Resource::Organizations,
            op: Op::Update,
            rows: vec![row(0), row(1), row(2)],
        };
        let results = vec![
            json!({"action": "update", "id": 100, "status": "Updated", "success": true}),
            json!({"index": 1, "error": "OrganizationUpdateFailed", "id": 999,
                   "details": "Name:  testOrganizationa46 has already been taken"}),
            json!({"action": "update", "id": 102, "status": "Updated", "success": true}),
        ];
        let r = reconcile(&batch, Some("V3-1"), &JobEnd::Completed(results));
        assert!(r.unknown.is_empty());
        let s: Vec<RowStatus> = r.outcomes.iter().map(|o| o.status).collect();
        assert_eq!(s, vec![RowStatus::Updated, RowStatus::Failed, RowStatus::Updated]);
        let failed = &r.outcomes[1];
        assert_eq!(failed.error_code.as_deref(), Some("OrganizationUpdateFailed"));
        assert_eq!(
            failed.message.as_deref(),
            Some("Name:  testOrganizationa46 has already been taken")
        );
        assert_eq!(failed.zendesk_id, Some(101), "the failed item's id is not trusted");
        assert_eq!(failed.original, Some(vec!["n1".to_string()]));
    }

    #[test]
    fn a_create_that_meets_an_existing_record_points_to_upsert() {
        let batch = Batch { resource: Resource::Organizations, op: Op::Create, rows: vec![row(0)] };
        let item = json!({"index": 0, "error": "DuplicateValue", "details": "Name: has already been taken"});
        let r = reconcile(&batch, Some("V3-9"), &JobEnd::Completed(vec![item]));
        let message = r.outcomes[0].message.clone().unwrap();
        assert!(
            message.starts_with("Name: has already been taken (it exists already"),
            "{message}"
        );
        assert!(message.contains("--mode upsert"), "{message}");
    }

    #[test]
    fn create_results_give_ids_and_a_short_result_list_leaves_rows_unknown() {
        let batch =
            Batch { resource: Resource::Organizations, op: Op::Create, rows: vec![row(0), row(1)] };
        let r = reconcile(
            &batch,
            Some("V3-2"),
            &JobEnd::Completed(vec![json!({"status": "Created", "id": 7})]),
        );
        assert_eq!(r.outcomes[0].status, RowStatus::Created);
        assert_eq!(r.outcomes[0].zendesk_id, Some(7));
        assert_eq!(r.unknown.len(), 1);
        assert_eq!(r.unknown[0].seq, 1);
    }

    #[test]
    fn user_failure_shape_is_a_failure_and_failed_jobs_leave_everything_unknown() {
        assert!(is_failure(
            &json!({"id": 2, "error": "UserUpdateError", "details": "x", "status": "Failed"})
        ));
        assert!(!is_failure(&json!({"status": "Created", "id": 1})));
        let batch =
            Batch { resource: Resource::Organizations, op: Op::Create, rows: vec![row(0), row(1)] };
        let r = reconcile(&batch, Some("V3-3"), &JobEnd::Failed("boom".into()));
        assert!(r.outcomes.is_empty());
        assert_eq!(r.unknown.len(), 2);
    }
}
