//! Planner and engine together against an in-memory account that can lose answers, fail
//! jobs and refuse with `TooManyJobs`: every row gets exactly one outcome, and no
//! organization is created twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::api::{Group, JobState, Port, ShowBy, SubmitError};
use super::batch::Op;
use super::engine::{self, EngineSettings};
use super::journal::{Entry, Journal};
use super::plan::{self, Mode, PlanSettings, RowIn, ValidRow};
use super::reconcile::JobEnd;
use super::reporter::Silent;
use crate::output::failed_rows::{FailedFormat, FailedRows};
use crate::output::report::ReportWriter;
use crate::resource::{layer, Resource};
use crate::schema::row::Payload;

#[derive(Default)]
struct Account {
    orgs: BTreeMap<u64, Value>,
    next_id: u64,
    jobs: HashMap<String, (Op, Vec<Value>, u32, Option<JobEnd>)>,
    submits: u32,
    creates_applied: u32,
    /// Submits whose answer is lost after the job was queued (by submit number).
    lose: Vec<u32>,
    /// Submits whose job ends failed after doing the first item.
    fail: Vec<u32>,
    /// Jobs allowed in flight before TooManyJobs.
    limit: usize,
    /// Lookups (`show_many`) fail, as an account that stopped answering.
    fail_lookups: bool,
    /// Searches and list pages served.
    searches: u32,
    lists: u32,
    /// The account's groups, and how often they were listed.
    groups: Vec<Group>,
    group_lists: u32,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<Account>>);

impl Fake {
    fn apply(acct: &mut Account, op: Op, item: &Value) -> Value {
        match op {
            Op::Create | Op::Upsert => {
                let name = item["name"].as_str().unwrap_or("").to_lowercase();
                if acct
                    .orgs
                    .values()
                    .any(|o| o["name"].as_str().unwrap_or("").to_lowercase() == name)
                {
                    return json!({"error": "DuplicateValue", "details": "Name: has already been taken"});
                }
                acct.next_id += 1;
                acct.creates_applied += 1;
                let mut rec = item.as_object().cloned().unwrap_or_default();
                rec.insert("id".into(), json!(acct.next_id));
                acct.orgs.insert(acct.next_id, Value::Object(rec));
                json!({"status": "Created", "id": acct.next_id})
            }
            Op::Update => {
                let id = item["id"].as_u64().unwrap_or(0);
                match acct.orgs.get_mut(&id) {
                    Some(rec) => {
                        for (k, v) in item.as_object().unwrap() {
                            rec[k] = v.clone();
                        }
                        json!({"action": "update", "id": id, "status": "Updated", "success": true})
                    }
                    None => json!({"index": 0, "error": "RecordNotFound", "details": "Not found"}),
                }
            }
            Op::Delete => {
                let id = item.as_u64().unwrap_or(0);
                acct.orgs.remove(&id);
                json!({"action": "delete", "id": id, "status": "Deleted", "success": true})
            }
        }
    }
}

impl Port for Fake {
    async fn show_many(
        &self,
        _resource: Resource,
        by: ShowBy,
        values: Vec<String>,
    ) -> anyhow::Result<Vec<Value>> {
        let a = self.0.lock().unwrap();
        if a.fail_lookups {
            anyhow::bail!("the account stopped answering");
        }
        Ok(match by {
            ShowBy::Ids => values
                .iter()
                .filter_map(|i| i.parse::<u64>().ok().and_then(|i| a.orgs.get(&i).cloned()))
                .collect(),
            ShowBy::ExternalIds => a
                .orgs
                .values()
                .filter(|o| {
                    o["external_id"]
                        .as_str()
                        .is_some_and(|x| values.iter().any(|i| i.eq_ignore_ascii_case(x)))
                })
                .cloned()
                .collect(),
        })
    }
    async fn search(
        &self,
        _resource: Resource,
        column: &'static str,
        value: String,
    ) -> anyhow::Result<Vec<Value>> {
        let mut a = self.0.lock().unwrap();
        a.searches += 1;
        Ok(a.orgs
            .values()
            .filter(|o| o[column].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&value)))
            .cloned()
            .collect())
    }
    async fn count(&self, _resource: Resource) -> anyhow::Result<u64> {
        Ok(self.0.lock().unwrap().orgs.len() as u64)
    }
    async fn list_page(
        &self,
        _resource: Resource,
        _after: Option<String>,
    ) -> anyhow::Result<(Vec<Value>, Option<String>)> {
        let mut a = self.0.lock().unwrap();
        a.lists += 1;
        Ok((a.orgs.values().cloned().collect(), None))
    }
    async fn groups(&self) -> anyhow::Result<Vec<Group>> {
        let mut a = self.0.lock().unwrap();
        a.group_lists += 1;
        Ok(a.groups.clone())
    }
    async fn memberships(&self, _of: Resource, _id: u64) -> anyhow::Result<Vec<Value>> {
        Ok(vec![])
    }
    async fn submit(
        &self,
        resource: Resource,
        op: Op,
        request: Value,
    ) -> Result<String, SubmitError> {
        let mut a = self.0.lock().unwrap();
        let pending = a.jobs.values().filter(|j| j.3.is_none()).count();
        if a.limit > 0 && pending >= a.limit {
            return Err(SubmitError::TooManyJobs);
        }
        a.submits += 1;
        let n = a.submits;
        let items: Vec<Value> = match op {
            Op::Delete => request["ids"].as_array().cloned().unwrap_or_default(),
            _ => request[layer(resource).plural()].as_array().cloned().unwrap_or_default(),
        };
        let id = format!("J{n}");
        a.jobs.insert(id.clone(), (op, items, n, None));
        if a.lose.contains(&n) {
            return Err(SubmitError::AnswerLost);
        }
        Ok(id)
    }
    async fn poll(&self, ids: Vec<String>) -> anyhow::Result<Vec<(String, JobState)>> {
        let mut a = self.0.lock().unwrap();
        let mut out = Vec::new();
        for id in ids {
            let Some((op, items, n, end)) = a.jobs.get(&id).cloned() else { continue };
            let end = match end {
                Some(e) => e,
                None => {
                    let e = if a.fail.contains(&n) {
                        Fake::apply(&mut a, op, &items[0]);
                        JobEnd::Failed("failed".into())
                    } else {
                        JobEnd::Completed(
                            items.iter().map(|i| Fake::apply(&mut a, op, i)).collect(),
                        )
                    };
                    a.jobs.get_mut(&id).unwrap().3 = Some(e.clone());
                    e
                }
            };
            out.push((id, JobState::Done(end)));
        }
        Ok(out)
    }
    async fn jobs_in_flight(&self) -> anyhow::Result<Vec<String>> {
        let a = self.0.lock().unwrap();
        Ok(a.jobs.iter().filter(|(_, j)| j.3.is_none()).map(|(k, _)| k.clone()).collect())
    }
}

fn row(seq: usize, name: &str, ext: Option<&str>, notes: &str) -> RowIn {
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    if let Some(x) = ext {
        body.insert("external_id".into(), json!(x));
    }
    body.insert("notes".into(), json!(notes));
    RowIn::Valid(ValidRow {
        seq,
        row: seq + 2,
        key: ext.unwrap_or(name).to_string(),
        payload: Payload {
            body,
            name: Some(name.into()),
            external_id: ext.map(str::to_string),
            ..Payload::default()
        },
        original: vec![name.into()],
    })
}

async fn import(fake: &Fake, mode: Mode, rows: Vec<RowIn>) -> (Vec<Vec<String>>, Vec<Entry>) {
    let dir = tempfile::tempdir().unwrap();
    let failed = FailedRows::create(dir.path(), FailedFormat::Csv, vec!["name".into()]).unwrap();
    let mut report = ReportWriter::create(dir.path(), failed).unwrap();
    let mut journal = Journal::open(dir.path()).unwrap();
    let n = rows.len();
    let (row_tx, row_rx) = mpsc::channel(64);
    let (_interrupt_tx, interrupt) = tokio::sync::watch::channel(0);
    let stop = engine::Stop { interrupt, aborted: Default::default() };
    let (plan_tx, plan_rx) = mpsc::channel(8);
    let planner = tokio::spawn(plan::plan(
        fake.clone(),
        PlanSettings {
            memory: None,
            changes: None,
            prune_options: false,
            layer: layer(Resource::Organizations),
            validate: false,
            welcome_emails: Default::default(),
            mode,
            dry_run: false,
            batch_size: 10,
            checkbox_tags: Arc::from(vec![]),
        },
        row_rx,
        plan_tx,
        stop.aborted.clone(),
    ));
    tokio::spawn(async move {
        for r in rows {
            row_tx.send(r).await.unwrap();
        }
    });
    let settings = EngineSettings {
        max_jobs: 4,
        initial_job_estimate: Duration::from_millis(5),
        min_poll_gap: Duration::from_millis(1),
        ..Default::default()
    };
    let end =
        engine::run(fake.clone(), settings, plan_rx, &mut report, &mut journal, &Silent, stop)
            .await
            .unwrap();
    assert!(end.fatal.is_none());
    planner.await.unwrap().unwrap();
    report.finish(n).unwrap();
    let mut r = csv::Reader::from_path(dir.path().join("report.csv")).unwrap();
    let lines = r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    (lines, Journal::read(dir.path()).unwrap())
}

fn statuses(lines: &[Vec<String>]) -> Vec<&str> {
    lines.iter().map(|l| l[3].as_str()).collect()
}

#[tokio::test]
async fn creates_then_reruns_unchanged_then_updates_only_changes() {
    let fake = Fake::default();
    let rows = |notes: &dyn Fn(usize) -> String| -> Vec<RowIn> {
        (0..25).map(|i| row(i, &format!("Org {i}"), Some(&format!("x{i}")), &notes(i))).collect()
    };
    let (lines, journal) = import(&fake, Mode::Upsert, rows(&|_| "n".into())).await;
    assert_eq!(statuses(&lines), vec!["created"; 25]);
    assert_eq!(
        lines.iter().map(|l| l[0].parse::<usize>().unwrap()).collect::<Vec<_>>(),
        (2..27).collect::<Vec<_>>()
    );
    assert_eq!(journal.iter().filter(|e| matches!(e, Entry::Batch { .. })).count(), 3);
    let (lines, _) = import(&fake, Mode::Upsert, rows(&|_| "n".into())).await;
    assert_eq!(statuses(&lines), vec!["unchanged"; 25]);
    let submits = fake.0.lock().unwrap().submits;
    assert_eq!(submits, 3, "an unchanged re-run sends no write");
    let (lines, _) = import(
        &fake,
        Mode::Upsert,
        rows(&|i| if i % 5 == 0 { "changed".into() } else { "n".into() }),
    )
    .await;
    let s = statuses(&lines);
    assert_eq!(s.iter().filter(|s| **s == "updated").count(), 5);
    assert_eq!(s.iter().filter(|s| **s == "unchanged").count(), 20);
}

#[tokio::test]
async fn lost_answers_and_failed_jobs_lose_no_row_and_create_nothing_twice() {
    let fake = Fake::default();
    {
        let mut a = fake.0.lock().unwrap();
        a.lose = vec![1, 3];
        a.fail = vec![2, 5];
        a.limit = 2;
    }
    let rows: Vec<RowIn> =
        (0..60).map(|i| row(i, &format!("Org {i}"), Some(&format!("x{i}")), "n")).collect();
    let (lines, journal) = import(&fake, Mode::Upsert, rows).await;
    assert_eq!(lines.len(), 60);
    assert_eq!(statuses(&lines), vec!["created"; 60], "{lines:?}");
    // What the lookups found is in the journal: the ids of rows confirmed after a lost answer.
    let found: Vec<u64> = journal
        .iter()
        .filter_map(|e| match e {
            Entry::Found { ids, .. } => Some(ids.iter().flatten().copied().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(!found.is_empty(), "{journal:?}");
    for line in lines.iter().filter(|l| l[7].contains("confirmed by lookup")) {
        assert!(found.contains(&line[4].parse().unwrap()), "{line:?} is journaled");
    }
    let a = fake.0.lock().unwrap();
    assert_eq!(a.orgs.len(), 60);
    assert_eq!(a.creates_applied, 60, "no organization created twice");
}

/// An update job that fails after applying part of its items: the rows it applied are found
/// applied by lookup and reported updated; the rest are sent again; none is reported failed.
#[tokio::test]
async fn a_failed_update_job_that_applied_part_of_its_items_is_checked_before_anything_is_resent() {
    let fake = Fake::default();
    let rows: Vec<RowIn> =
        (0..30).map(|i| row(i, &format!("Org {i}"), Some(&format!("x{i}")), "old")).collect();
    import(&fake, Mode::Create, rows).await;
    let updates_before = fake.0.lock().unwrap().submits;
    // The next update job (10 rows a job) fails after doing its first item; so does a lost answer.
    fake.0.lock().unwrap().fail = vec![updates_before + 1];
    fake.0.lock().unwrap().lose = vec![updates_before + 2];
    let rows: Vec<RowIn> =
        (0..30).map(|i| row(i, &format!("Org {i}"), Some(&format!("x{i}")), "new")).collect();
    let (lines, _) = import(&fake, Mode::Upsert, rows).await;
    assert_eq!(statuses(&lines), vec!["updated"; 30], "{lines:?}");
    let confirmed = lines.iter().filter(|l| l[7].contains("confirmed by lookup")).count();
    assert!(confirmed >= 1, "the applied item is confirmed, not re-sent: {lines:?}");
    let a = fake.0.lock().unwrap();
    assert!(a.orgs.values().all(|o| o["notes"] == "new"));
}

#[tokio::test]
async fn per_item_failures_are_reported_with_their_rows() {
    let fake = Fake::default();
    let mut rows: Vec<RowIn> = (0..5).map(|i| row(i, &format!("Org {i}"), None, "n")).collect();
    rows.push(row(5, "ORG 1", None, "n"));
    let (lines, _) = import(&fake, Mode::Create, rows).await;
    assert_eq!(statuses(&lines)[..5], vec!["created"; 5]);
    assert_eq!(lines[5][3], "failed");
    assert_eq!(lines[5][6], "DuplicateValue");
    assert_eq!(lines[5][0], "7");
}

#[tokio::test]
async fn update_mode_reports_missing_records_and_delete_mode_deletes() {
    let fake = Fake::default();
    import(
        &fake,
        Mode::Create,
        (0..3).map(|i| row(i, &format!("Org {i}"), Some(&format!("x{i}")), "n")).collect(),
    )
    .await;
    let (lines, _) = import(
        &fake,
        Mode::Update,
        vec![row(0, "Org 0", Some("x0"), "new"), row(1, "Nope", Some("missing"), "n")],
    )
    .await;
    assert_eq!(statuses(&lines), vec!["updated", "failed"]);
    assert_eq!(lines[1][7], "row 3: no organization has external_id 'missing'");
    assert_eq!(lines[1][2], "none", "nothing was sent for it");
    let (lines, _) = import(
        &fake,
        Mode::Delete,
        vec![row(0, "Org 0", Some("x0"), "n"), row(1, "Org 1", Some("X1"), "n")],
    )
    .await;
    assert_eq!(statuses(&lines), vec!["deleted", "deleted"]);
    assert_eq!(fake.0.lock().unwrap().orgs.len(), 1);
}

#[tokio::test]
async fn organizations_named_by_name_are_listed_once_when_that_costs_less_than_searching() {
    let fake = Fake::default();
    {
        let mut a = fake.0.lock().unwrap();
        for i in 1..=30u64 {
            let org = json!({"id": i, "name": format!("Org {i}"), "external_id": format!("x-{i}")});
            a.orgs.insert(i, org);
        }
    }
    let mut refs = super::refs::Refs::new(Resource::Organizations);
    // A few names: searched one by one.
    refs.resolve(&fake, &["org 1", "Org 2", "x-3"]).await.unwrap();
    assert_eq!(refs.get("ORG 1"), Some(Some(1)));
    assert_eq!(refs.get("x-3"), Some(Some(3)));
    assert_eq!(fake.0.lock().unwrap().searches, 2);
    // Many names: one listing (30 organizations, one page) instead of 25 searches.
    let names: Vec<String> = (4..=28).map(|i| format!("Org {i}")).chain(["Nope".into()]).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    refs.resolve(&fake, &names).await.unwrap();
    let (searches, lists) = {
        let a = fake.0.lock().unwrap();
        (a.searches, a.lists)
    };
    assert_eq!((searches, lists), (2, 1));
    assert_eq!(refs.get("org 28"), Some(Some(28)));
    assert_eq!(refs.get("nope"), Some(None), "an unknown name is known to name none");
    refs.resolve(&fake, &["Org 29", "missing"]).await.unwrap();
    assert_eq!(refs.get("Org 29"), Some(Some(29)));
    assert_eq!(fake.0.lock().unwrap().searches, 2, "nothing more is asked once all are known");
}

mod resume;
mod timing;
