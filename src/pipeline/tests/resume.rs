//! Resuming: a journal left by a killed run read back into a memory, and the rows it leaves in
//! doubt settled against the account before anything is sent again.

use serde_json::{json, Value};

use super::{Account, Fake};
use crate::pipeline::api::Port;
use crate::pipeline::batch::Op;
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::memory::{Memory, State};
use crate::pipeline::pending::settle_pending;
use crate::pipeline::reporter::Silent;
use crate::resource::Resource;

fn batch(no: u64, seqs: &[usize]) -> (Entry, Value) {
    let items: Vec<Value> = seqs
        .iter()
        .map(|s| json!({"name": format!("Org {s}"), "external_id": format!("x{s}")}))
        .collect();
    let request = json!({ "organizations": items });
    let entry = Entry::Batch {
        batch: no,
        resource: "organizations".into(),
        op: "create".into(),
        rows: seqs.iter().map(|s| s + 2).collect(),
        seqs: seqs.to_vec(),
        request: request.clone(),
        ids: vec![],
        before: vec![],
    };
    (entry, request)
}

fn known_status(m: &Memory, seq: usize) -> Option<String> {
    match m.row(seq)? {
        State::Known(k) => Some(k.status().as_str().to_string()),
        State::NotDone => Some("not done".into()),
        State::Sent(b) => Some(format!("sent in {b}")),
    }
}

/// A run killed with four batches out: one whose job id was journaled (its job still queued),
/// one whose answer never came (its job made anyway), one written but never sent, one with
/// its results. Settling polls the first, looks up the next two after the account's jobs have
/// ended, and leaves nothing in doubt; only the batch never sent is to be sent again.
#[tokio::test]
async fn a_killed_runs_batches_in_doubt_are_polled_or_looked_up_and_nothing_is_left_unknown() {
    let fake = Fake(Default::default());
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let (b0, r0) = batch(0, &[0, 1]);
    let (b1, r1) = batch(1, &[2, 3]);
    let (b2, _) = batch(2, &[4, 5]);
    let (b3, r3) = batch(3, &[6]);
    journal.append(&b0).unwrap();
    let j0 = fake.submit(Resource::Organizations, Op::Create, r0).await.unwrap();
    journal.append(&Entry::Job { batch: 0, job_id: j0 }).unwrap();
    journal.append(&b1).unwrap();
    // Its answer is lost: the job exists, the journal has no id for it.
    fake.submit(Resource::Organizations, Op::Create, r1).await.unwrap();
    journal.append(&b2).unwrap();
    journal.append(&b3).unwrap();
    let j3 = fake.submit(Resource::Organizations, Op::Create, r3).await.unwrap();
    let states = fake.poll(vec![j3.clone()]).await.unwrap();
    let crate::pipeline::api::JobState::Done(crate::pipeline::reconcile::JobEnd::Completed(
        results,
    )) = &states[0].1
    else {
        panic!("the fake completes a polled job")
    };
    journal.append(&Entry::Job { batch: 3, job_id: j3 }).unwrap();
    journal
        .append(&Entry::Results { batch: 3, status: "completed".into(), results: results.clone() })
        .unwrap();
    drop(journal);

    let mut memory = Memory::read(dir.path(), false).unwrap();
    assert!(memory.in_doubt());
    assert_eq!(memory.next_batch, 4);
    assert_eq!(memory.open_batches().iter().map(|b| b.batch).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(known_status(&memory, 6).as_deref(), Some("created"));

    let mut journal = Journal::open(dir.path()).unwrap();
    let settled = settle_pending(&fake, &mut memory, &mut journal, &[], &Silent).await.unwrap();
    assert_eq!((settled.polled, settled.looked_up), (1, 2));
    assert!(!memory.in_doubt());
    let status: Vec<Option<String>> = (0..7).map(|s| known_status(&memory, s)).collect();
    let want = ["created", "created", "created", "created", "not done", "not done", "created"];
    assert_eq!(status, want.map(|s| Some(s.to_string())));
    let Account { creates_applied, .. } = &*fake.0.lock().unwrap();
    assert_eq!(*creates_applied, 5, "settling sends nothing");

    // What settling learned is in the journal: read again, the memory is the same.
    drop(journal);
    let again = Memory::read(dir.path(), false).unwrap();
    let reread: Vec<Option<String>> = (0..7).map(|s| known_status(&again, s)).collect();
    assert_eq!(reread, status);
    assert!(again.open_batches().is_empty());
}

/// A failed job's rows, found in the account with the values they were sent with, are known;
/// a resume marks a finish line followed by a resume as not finished.
#[test]
fn found_lines_settle_rows_and_a_resume_line_reopens_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let (b0, _) = batch(0, &[0, 1]);
    journal.append(&b0).unwrap();
    journal.append(&Entry::Job { batch: 0, job_id: "J1".into() }).unwrap();
    journal.append(&Entry::Results { batch: 0, status: "failed".into(), results: vec![] }).unwrap();
    let memory = Memory::read(dir.path(), false).unwrap();
    let open = memory.open_batches();
    assert!(open[0].ended, "a failed job is looked up, not polled");
    journal
        .append(&Entry::Found {
            resource: "organizations".into(),
            op: "create".into(),
            seqs: vec![0, 1],
            ids: vec![Some(9), None],
            items: vec![json!({"id": 9, "status": "Created"}), Value::Null],
            organizations: vec![],
        })
        .unwrap();
    journal.append(&Entry::Finish { exit_code: 130, at: "t".into() }).unwrap();
    let memory = Memory::read(dir.path(), false).unwrap();
    assert_eq!(known_status(&memory, 0).as_deref(), Some("created"));
    assert_eq!(known_status(&memory, 1).as_deref(), Some("not done"));
    assert_eq!(memory.finished, Some(130));
    assert!(!memory.in_doubt());
    journal.append(&Entry::Resume { at: "t".into() }).unwrap();
    let memory = Memory::read(dir.path(), false).unwrap();
    assert_eq!((memory.finished, memory.resumes), (None, 1));
}

/// A resumed run whose lookups fail half-way through a chunk: the rows the journal knows were
/// reported already, and only the others are settled skipped — each row gets one outcome.
#[tokio::test]
async fn a_lookup_failing_after_remembered_rows_skips_only_the_others() {
    use crate::pipeline::engine::PlanMsg;
    use crate::pipeline::plan::{self, Mode, PlanSettings};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let (b0, _) = batch(0, &[0, 1]);
    journal.append(&b0).unwrap();
    let results =
        vec![json!({"id": 1, "status": "Created"}), json!({"id": 2, "status": "Created"})];
    journal.append(&Entry::Results { batch: 0, status: "completed".into(), results }).unwrap();
    let memory = Arc::new(Memory::read(dir.path(), false).unwrap());
    let fake = Fake(Default::default());
    fake.0.lock().unwrap().fail_lookups = true;
    let settings = PlanSettings {
        memory: Some(memory),
        changes: None,
        prune_options: false,
        layer: crate::resource::layer(Resource::Organizations),
        validate: false,
        welcome_emails: Default::default(),
        mode: Mode::Upsert,
        dry_run: false,
        batch_size: 10,
        checkbox_tags: Arc::from(vec![]),
    };
    let (row_tx, row_rx) = tokio::sync::mpsc::channel(16);
    let (plan_tx, mut plan_rx) = tokio::sync::mpsc::channel(16);
    for seq in 0..4 {
        let ext = format!("x{seq}");
        row_tx.send(super::row(seq, &format!("Org {seq}"), Some(&ext), "n")).await.unwrap();
    }
    drop(row_tx);
    let aborted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let planned = plan::plan(fake, settings, row_rx, plan_tx, aborted).await;
    assert!(planned.is_err(), "the failed lookup is the planner's error");
    let mut seen = Vec::new();
    while let Some(m) = plan_rx.recv().await {
        match m {
            PlanMsg::Outcome(o) | PlanMsg::Linked(o, _) => seen.push((o.seq, o.status)),
            PlanMsg::Batch(b) => panic!("nothing is sent: {b:?}"),
        }
    }
    seen.sort_by_key(|s| s.0);
    use crate::output::RowStatus::{Created, Skipped};
    assert_eq!(seen, vec![(0, Created), (1, Created), (2, Skipped), (3, Skipped)]);
}
