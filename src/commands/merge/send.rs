//! The merge loop: one `POST organizations/{id}/merge` a pair, at most [`WINDOW`] merges
//! running at once, each followed to `complete` (or `error`, retried as the docs say), within
//! the client's rate budget. Nothing is ever sent twice blindly: a merge whose answer was lost,
//! or that a stopped run sent without journaling its merge id, is looked up first (the
//! winner's merge records, then whether the loser still exists).
//!
//! Polls are batched: the losers of every merge due for a look are asked for with one
//! `organizations/show_many` (100 a request); a loser gone is a merge complete. Only merges
//! whose loser is still there after a first look have their record read (one list request for
//! all the merges into one winner), to tell `error` from still running.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::sync::watch;

use super::settle::{End, Sink};
use super::{Start, Work};
use crate::pipeline::journal::Entry;
use crate::zendesk::error::ApiError;
use crate::zendesk::models::OrganizationId;
use crate::zendesk::resources::OrganizationMerge;
use crate::zendesk::Client;

/// Merges running at once.
pub(crate) const WINDOW: usize = 30;
/// Times a merge that ends in `error` is sent again before it is reported failed.
const ERROR_RETRIES: u32 = 2;

/// How the loop ended.
pub(crate) struct Sent {
    /// Merges Zendesk accepted.
    pub(crate) merges: u64,
    /// What stopped it early (an interruption, the API).
    pub(crate) fatal: Option<anyhow::Error>,
}

struct Flight {
    work: Work,
    merge_id: String,
    sent: Instant,
    next: Instant,
    looks: u32,
}

/// A refusal that is the pair's (4xx but 429): its code and message. Other errors stop the run.
fn refusal(e: &ApiError) -> Option<(String, String)> {
    match e {
        ApiError::Status { status, body, .. } if (400..500).contains(status) && *status != 429 => {
            let code = body.code().unwrap_or("Refused").to_string();
            Some((code, format!("Zendesk refused the merge ({status}): {body}")))
        }
        _ => None,
    }
}

struct Loop<'a, 'b> {
    client: &'a Client,
    sink: &'a mut Sink<'b>,
    queue: VecDeque<Work>,
    flights: Vec<Flight>,
    estimate: Duration,
    merges: u64,
    /// `error` ends seen per pair.
    errors: HashMap<usize, u32>,
}

/// Runs the merges of `works` (and, first, the `--keep-fields` writes not yet done).
pub(crate) async fn send(
    client: &Client,
    works: Vec<Work>,
    keeps: Vec<(u64, Map<String, Value>)>,
    sink: &mut Sink<'_>,
    mut interrupt: watch::Receiver<u32>,
) -> anyhow::Result<Sent> {
    let mut l = Loop {
        client,
        sink,
        queue: VecDeque::new(),
        flights: Vec::new(),
        estimate: Duration::from_millis(600),
        merges: 0,
        errors: HashMap::new(),
    };
    let fatal = l.run(works, keeps, &mut interrupt).await.err();
    // What is left did not finish: a resume takes it up from the journal.
    for w in std::mem::take(&mut l.queue) {
        let message = "not merged: the run stopped first; `zdbulk resume` finishes it".into();
        l.sink.end(&w, End::Skipped { merge_id: None, message })?;
    }
    for f in std::mem::take(&mut l.flights) {
        let message = format!(
            "merge {} sent; the run stopped before it ended; `zdbulk resume` follows it",
            f.merge_id
        );
        l.sink.end(&f.work, End::Skipped { merge_id: Some(f.merge_id), message })?;
    }
    Ok(Sent { merges: l.merges, fatal })
}

impl Loop<'_, '_> {
    async fn run(
        &mut self,
        works: Vec<Work>,
        keeps: Vec<(u64, Map<String, Value>)>,
        interrupt: &mut watch::Receiver<u32>,
    ) -> anyhow::Result<()> {
        let refused = self.keep_fields(keeps).await?;
        let mut doubt = Vec::new();
        for w in works {
            if let Some(why) = refused.get(&w.winner) {
                let message = format!("not merged: copying the loser's values first failed: {why}");
                self.sink.end(&w, End::Failed { code: "KeepFieldsFailed".into(), message })?;
                continue;
            }
            match w.start.clone() {
                Start::Fresh => self.queue.push_back(w),
                Start::InDoubt => doubt.push(w),
                Start::Accepted(id) => self.fly(w, id),
            }
        }
        for w in doubt {
            self.settle_doubt(w).await?;
        }
        loop {
            if *interrupt.borrow() > 0 {
                return Err(crate::pipeline::engine::Interrupted.into());
            }
            while self.flights.len() < WINDOW {
                let Some(w) = self.queue.pop_front() else { break };
                self.submit(w).await?;
            }
            let Some(next) = self.flights.iter().map(|f| f.next).min() else {
                if self.queue.is_empty() {
                    return Ok(());
                }
                continue;
            };
            tokio::select! {
                _ = tokio::time::sleep_until(next.into()) => {}
                _ = interrupt.changed() => continue,
            }
            self.poll().await?;
        }
    }

    /// `--keep-fields`: one update a winner, before its merges. Returns the winners whose
    /// update Zendesk refused (their pairs are not merged).
    async fn keep_fields(
        &mut self,
        keeps: Vec<(u64, Map<String, Value>)>,
    ) -> anyhow::Result<HashMap<u64, String>> {
        let mut refused = HashMap::new();
        for (winner, values) in keeps {
            let values = Value::Object(values);
            self.sink.journal.append(&Entry::MergeKeep {
                winner,
                values: values.clone(),
                done: false,
            })?;
            let body = serde_json::json!({ "organization": values });
            let path = format!("organizations/{winner}.json");
            let sent: Result<Value, ApiError> =
                self.client.send_json(reqwest::Method::PUT, &path, &[], Some(&body)).await;
            match sent {
                Ok(_) => {
                    self.sink.journal.append(&Entry::MergeKeep { winner, values, done: true })?
                }
                Err(e) => match refusal(&e) {
                    Some((_, msg)) => {
                        refused.insert(winner, msg);
                    }
                    None => return Err(e.into()),
                },
            }
        }
        Ok(refused)
    }

    fn fly(&mut self, work: Work, merge_id: String) {
        let now = Instant::now();
        let next = now + self.estimate;
        self.flights.push(Flight { work, merge_id, sent: now, next, looks: 0 });
    }

    /// Sends one merge, journaled first.
    async fn submit(&mut self, w: Work) -> anyhow::Result<()> {
        self.sink.journal.append(&Entry::MergeSent { seq: w.seq })?;
        match self.client.organization_merges().create(w.loser, w.winner).await {
            Ok(m) => self.accepted(w, m.id),
            Err(ApiError::AnswerLost { .. }) => self.settle_doubt(w).await,
            Err(e) => match refusal(&e) {
                Some((code, message)) => self.sink.end(&w, End::Failed { code, message }),
                None => {
                    self.queue.push_front(w);
                    Err(e.into())
                }
            },
        }
    }

    fn accepted(&mut self, w: Work, merge_id: String) -> anyhow::Result<()> {
        self.sink
            .journal
            .append(&Entry::MergeAccepted { seq: w.seq, merge_id: merge_id.clone() })?;
        self.merges += 1;
        self.fly(w, merge_id);
        Ok(())
    }

    /// A merge that may have been sent: is there a record of it (then follow it), is the
    /// loser gone (then it is done), or neither (then it is sent, once more).
    async fn settle_doubt(&mut self, w: Work) -> anyhow::Result<()> {
        let merges = self.client.organization_merges().of_organization(w.winner).await?;
        let found = merges.into_iter().rev().find(|m| m.loser_id == w.loser);
        match found {
            Some(m) if m.status != "error" => {
                self.sink
                    .journal
                    .append(&Entry::MergeAccepted { seq: w.seq, merge_id: m.id.clone() })?;
                self.fly(w, m.id);
            }
            _ => {
                let ids = [OrganizationId(w.loser)];
                let there = self.client.organizations().show_many(&ids).await?;
                if there.is_empty() {
                    let message = format!("{}; the loser is gone already", w.note);
                    self.sink.end(&w, End::Complete { merge_id: None, message })?;
                } else {
                    self.queue.push_back(w);
                }
            }
        }
        Ok(())
    }

    /// Looks at every merge due: losers gone are merges complete; the others' records say
    /// whether they are still running or ended in error.
    async fn poll(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let (due, rest): (Vec<Flight>, Vec<Flight>) =
            std::mem::take(&mut self.flights).into_iter().partition(|f| f.next <= now);
        self.flights = rest;
        let ids: Vec<OrganizationId> = due.iter().map(|f| OrganizationId(f.work.loser)).collect();
        let there = match self.client.organizations().show_many(&ids).await {
            Ok(found) => {
                found.into_iter().map(|o| o.id.0).collect::<std::collections::HashSet<_>>()
            }
            Err(e) => {
                self.flights.extend(due);
                return Err(e.into());
            }
        };
        let mut look = Vec::new();
        for mut f in due {
            if !there.contains(&f.work.loser) {
                self.done(f, now)?;
            } else if f.looks == 0 {
                f.looks = 1;
                f.next = now + self.estimate;
                self.flights.push(f);
            } else {
                look.push(f);
            }
        }
        let records = match self.records(&look).await {
            Ok(r) => r,
            Err(e) => {
                self.flights.extend(look);
                return Err(e);
            }
        };
        for mut f in look {
            match records.get(&f.merge_id).map(|m| m.status.as_str()) {
                Some("complete") => self.done(f, now)?,
                Some("error") => self.errored(f).await?,
                _ => {
                    f.looks += 1;
                    let wait = self.estimate.mul_f64(1.0 + f.looks as f64 / 2.0);
                    f.next = now + wait.min(Duration::from_secs(30));
                    self.flights.push(f);
                }
            }
        }
        Ok(())
    }

    /// The records of `flights`' merges: one list a winner with several, else one show.
    async fn records(
        &self,
        flights: &[Flight],
    ) -> anyhow::Result<HashMap<String, OrganizationMerge>> {
        let mut by_winner: HashMap<u64, Vec<&Flight>> = HashMap::new();
        for f in flights {
            by_winner.entry(f.work.winner).or_default().push(f);
        }
        let mut out = HashMap::new();
        for (winner, fs) in by_winner {
            let api = self.client.organization_merges();
            let found = if fs.len() > 1 {
                api.of_organization(winner).await?
            } else {
                vec![api.show(&fs[0].merge_id).await?]
            };
            out.extend(found.into_iter().map(|m| (m.id.clone(), m)));
        }
        Ok(out)
    }

    fn done(&mut self, f: Flight, now: Instant) -> anyhow::Result<()> {
        let took = now.duration_since(f.sent);
        self.estimate =
            ((self.estimate + took) / 2).clamp(Duration::from_millis(200), Duration::from_secs(15));
        let message = f.work.note.clone();
        self.sink.end(&f.work, End::Complete { merge_id: Some(f.merge_id), message })
    }

    /// A merge that ended in `error` is sent again (the docs' remedy), a few times.
    async fn errored(&mut self, f: Flight) -> anyhow::Result<()> {
        let n = self.errors.entry(f.work.seq).or_default();
        *n += 1;
        if *n > ERROR_RETRIES {
            let message = format!(
                "the merge ended in error {} times (last: merge {}); nothing was merged",
                *n, f.merge_id
            );
            return self.sink.end(&f.work, End::Failed { code: "MergeError".into(), message });
        }
        self.queue.push_front(f.work);
        Ok(())
    }
}
