//! A run's memory: what its journal says each row came to. `zdbulk resume` finishes a run from
//! it (rows known are reported as they were, rows in doubt are settled first, the rest are
//! planned again); `zdbulk undo` reverses what it lists as created and updated.
//!
//! The journal is read one line at a time. Batches are kept only until their results come, so
//! memory holds one small entry a row, not the requests.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::Value;

use super::batch::Op;
use super::journal::{Entry, Journal, JournalError};
use super::reconcile::{is_failure, status_of};
use crate::cli::ImportArgs;
use crate::output::RowStatus;
use crate::resource::{layer, Resource};

/// How the run started.
#[derive(Debug, Clone)]
pub struct Started {
    /// The resource its file holds.
    pub resource: Resource,
    /// The input file, as journaled.
    pub input: String,
    /// upsert, create, update or delete.
    pub mode: String,
    /// The account's base URL.
    pub target: String,
    /// The options it ran with (`None` in journals written before `resume` existed).
    pub args: Option<ImportArgs>,
    /// The directory it was started from.
    pub cwd: Option<String>,
    /// The input file's size and checksum.
    pub fingerprint: Option<String>,
}

/// What became of a row (or of one of its memberships), as far as the journal knows.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Sent in this batch, with no answer yet: it may or may not have reached Zendesk.
    Sent(u64),
    /// Looked up after a lost answer and not found done: it is planned again.
    NotDone,
    /// Its result.
    Known(Known),
}

/// A row's result: the job's (or the lookup's) item for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    /// What it was sent with.
    pub op: Op,
    /// The result item (`{"id", "status"}` or `{"error", "details"}`).
    pub item: Value,
    /// The job that carried it.
    pub job_id: Option<String>,
    /// The values the record held before (updates; kept when asked for).
    pub before: Option<Value>,
}

impl Known {
    /// created, updated, deleted or failed.
    pub fn status(&self) -> RowStatus {
        status_of(self.op, &self.item)
    }

    /// The record's id, for a row that succeeded.
    pub fn id(&self) -> Option<u64> {
        (!is_failure(&self.item)).then(|| self.item.get("id").and_then(Value::as_u64)).flatten()
    }
}

/// A batch whose rows the journal leaves in doubt.
#[derive(Debug, Clone)]
pub struct OpenBatch {
    /// Its number.
    pub batch: u64,
    /// Its resource.
    pub resource: Resource,
    /// Its operation.
    pub op: Op,
    /// The job id, when Zendesk's answer was journaled.
    pub job_id: Option<String>,
    /// The job ended without results (failed, killed): look its rows up, do not poll.
    pub ended: bool,
    /// Its rows, in request order.
    pub rows: Vec<OpenRow>,
}

/// One row of a batch in doubt: enough to find its record again.
#[derive(Debug, Clone)]
pub struct OpenRow {
    /// The row number the user sees.
    pub row: usize,
    /// The 0-based data-row position.
    pub seq: usize,
    /// The request item sent for it (`null` for deletes).
    pub item: Value,
    /// The existing record it was planned against.
    pub id: Option<u64>,
    /// For a membership: its organization.
    pub organization: Option<u64>,
    /// The values the record held before (kept when asked for).
    pub before: Option<Value>,
}

/// Everything a journal says.
#[derive(Debug, Default)]
pub struct Memory {
    /// How the run started (`None`: the journal has no start line).
    pub started: Option<Started>,
    /// The exit code of the last finish, when nothing was resumed after it.
    pub finished: Option<u8>,
    /// How many times the run was resumed.
    pub resumes: usize,
    /// The first batch number not used yet.
    pub next_batch: u64,
    keep_before: bool,
    rows: HashMap<usize, State>,
    /// Memberships by (user row, organization): ordered, so one row's are one range.
    links: BTreeMap<(usize, u64), State>,
    batches: HashMap<u64, OpenBatch>,
}

fn resource_of(plural: &str) -> Option<Resource> {
    [
        Resource::Organizations,
        Resource::Users,
        Resource::Memberships,
        Resource::OrganizationFields,
        Resource::UserFields,
    ]
    .into_iter()
    .find(|r| layer(*r).plural() == plural)
}

fn op_of(s: &str) -> Option<Op> {
    [Op::Create, Op::Update, Op::Upsert, Op::Delete].into_iter().find(|o| o.as_str() == s)
}

fn organization_of(item: &Value) -> Option<u64> {
    item.get("organization_id").and_then(Value::as_u64)
}

impl Memory {
    /// Reads the journal of `dir`. `keep_before` keeps the values updated records had
    /// (`undo` needs them; `resume` does not).
    pub fn read(dir: &Path, keep_before: bool) -> Result<Memory, JournalError> {
        let mut memory = Memory { keep_before, ..Memory::default() };
        Journal::each(dir, |e| {
            memory.apply(&e);
            Ok(())
        })?;
        Ok(memory)
    }

    fn state(&mut self, resource: Resource, seq: usize, org: Option<u64>) -> Option<&mut State> {
        match (resource, org) {
            (Resource::Memberships, Some(org)) => {
                Some(self.links.entry((seq, org)).or_insert(State::NotDone))
            }
            (Resource::Memberships, None) => None,
            _ => Some(self.rows.entry(seq).or_insert(State::NotDone)),
        }
    }

    /// Takes one journal entry into account (entries are applied in journal order; the
    /// latest word on a row wins).
    pub fn apply(&mut self, entry: &Entry) {
        match entry {
            Entry::Start { resource, input, mode, target, args, cwd, fingerprint, .. } => {
                let parsed: Option<ImportArgs> =
                    args.as_ref().and_then(|a| serde_json::from_value(a.clone()).ok());
                let resource = parsed
                    .as_ref()
                    .map(|a| a.resource)
                    .or_else(|| resource_of(resource))
                    .unwrap_or(Resource::Organizations);
                self.started = Some(Started {
                    resource,
                    input: input.clone(),
                    mode: mode.clone(),
                    target: target.clone(),
                    args: parsed,
                    cwd: cwd.clone(),
                    fingerprint: fingerprint.clone(),
                });
            }
            Entry::Resume { .. } => {
                self.finished = None;
                self.resumes += 1;
            }
            Entry::Finish { exit_code, .. } => self.finished = Some(*exit_code),
            Entry::Batch { batch, resource, op, rows, seqs, request, ids, before } => {
                self.next_batch = self.next_batch.max(batch + 1);
                let (Some(res), Some(op)) = (resource_of(resource), op_of(op)) else { return };
                let items: Vec<Value> = request
                    .get(layer(res).plural())
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let deletes: Vec<u64> = request
                    .get("ids")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default();
                let mut open = OpenBatch {
                    batch: *batch,
                    resource: res,
                    op,
                    job_id: None,
                    ended: false,
                    rows: Vec::with_capacity(rows.len()),
                };
                for (i, (&row, &seq)) in rows.iter().zip(seqs).enumerate() {
                    let item = items.get(i).cloned().unwrap_or(Value::Null);
                    let id = ids
                        .get(i)
                        .copied()
                        .flatten()
                        .or_else(|| item.get("id").and_then(Value::as_u64))
                        .or_else(|| deletes.get(i).copied().filter(|_| op == Op::Delete));
                    let organization = organization_of(&item);
                    if let Some(s) = self.state(res, seq, organization) {
                        *s = State::Sent(*batch);
                    }
                    let before =
                        if self.keep_before { before.get(i).cloned().flatten() } else { None };
                    open.rows.push(OpenRow { row, seq, item, id, organization, before });
                }
                self.batches.insert(*batch, open);
            }
            Entry::Job { batch, job_id } => {
                if let Some(b) = self.batches.get_mut(batch) {
                    b.job_id = Some(job_id.clone());
                }
            }
            Entry::Results { batch, results, .. } if results.is_empty() => {
                // Failed or killed: its rows are looked up next (a `found` line follows).
                if let Some(b) = self.batches.get_mut(batch) {
                    b.ended = true;
                }
            }
            Entry::Results { batch, results, .. } => {
                let Some(open) = self.batches.remove(batch) else { return };
                for (r, item) in open.rows.iter().zip(results) {
                    let known = Known {
                        op: open.op,
                        item: item.clone(),
                        job_id: open.job_id.clone(),
                        before: r.before.clone(),
                    };
                    if let Some(s) = self.state(open.resource, r.seq, r.organization) {
                        if *s == State::Sent(open.batch) {
                            *s = State::Known(known);
                        }
                    }
                }
                // Rows past the end of a short result list stay in doubt: keep what finds them.
                if results.len() < open.rows.len() {
                    let mut rest = open;
                    rest.rows.drain(..results.len());
                    rest.ended = true;
                    self.batches.insert(rest.batch, rest);
                }
            }
            // A merge run's lines: `commands::merge` reads them itself.
            Entry::MergePair { .. }
            | Entry::MergeKeep { .. }
            | Entry::MergeSent { .. }
            | Entry::MergeAccepted { .. }
            | Entry::MergeEnded { .. } => {}
            Entry::Found { resource, op, seqs, items, organizations, .. } => {
                let (Some(res), Some(op)) = (resource_of(resource), op_of(op)) else { return };
                for (i, &seq) in seqs.iter().enumerate() {
                    let org = organizations.get(i).copied();
                    let item = items.get(i).filter(|v| !v.is_null());
                    let before = match (item, self.state(res, seq, org)) {
                        (Some(_), Some(State::Sent(b))) => {
                            let b = *b;
                            self.batches
                                .get(&b)
                                .and_then(|o| o.rows.iter().find(|r| r.seq == seq))
                                .and_then(|r| r.before.clone())
                        }
                        _ => None,
                    };
                    let state = match item {
                        None => State::NotDone,
                        Some(item) => {
                            State::Known(Known { op, item: item.clone(), job_id: None, before })
                        }
                    };
                    if let Some(s) = self.state(res, seq, org) {
                        *s = state;
                    }
                }
            }
        }
    }
}

impl Memory {
    /// What the journal says of a row of the run's own resource (`None`: never sent).
    pub fn row(&self, seq: usize) -> Option<&State> {
        self.rows.get(&seq)
    }

    /// The organizations this run added the user of row `seq` to.
    pub fn linked(&self, seq: usize) -> Vec<u64> {
        self.links
            .range((seq, 0)..=(seq, u64::MAX))
            .filter(|(_, st)| matches!(st, State::Known(k) if k.status() == RowStatus::Created))
            .map(|((_, org), _)| *org)
            .collect()
    }

    /// Whether any row has been sent and is not settled yet.
    pub fn in_doubt(&self) -> bool {
        self.rows.values().chain(self.links.values()).any(|s| matches!(s, State::Sent(_)))
    }

    /// The batches whose rows are still in doubt, each with those rows only, in batch order.
    pub fn open_batches(&self) -> Vec<OpenBatch> {
        let mut open: Vec<OpenBatch> = self
            .batches
            .values()
            .filter_map(|b| {
                let rows: Vec<OpenRow> = b
                    .rows
                    .iter()
                    .filter(|r| {
                        let state = match b.resource {
                            Resource::Memberships => {
                                r.organization.and_then(|o| self.links.get(&(r.seq, o)))
                            }
                            _ => self.rows.get(&r.seq),
                        };
                        state == Some(&State::Sent(b.batch))
                    })
                    .cloned()
                    .collect();
                (!rows.is_empty()).then(|| OpenBatch { rows, ..b.clone() })
            })
            .collect();
        open.sort_by_key(|b| b.batch);
        open
    }

    /// Every row of the run's resource with a result, by data-row position.
    pub fn known_rows(&self) -> impl Iterator<Item = (usize, &Known)> {
        self.rows.iter().filter_map(|(seq, s)| match s {
            State::Known(k) => Some((*seq, k)),
            _ => None,
        })
    }

    /// Every membership with a result: (user row position, organization, result).
    pub fn known_links(&self) -> impl Iterator<Item = (usize, u64, &Known)> {
        self.links.iter().filter_map(|((seq, org), s)| match s {
            State::Known(k) => Some((*seq, *org, k)),
            _ => None,
        })
    }
}
