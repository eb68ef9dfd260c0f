//! The planner of one chunk of rows: references resolved, existing records looked up, and for
//! each row a decision — send it with an operation, or settle it (unchanged, invalid, not
//! found, a conflict) without a request.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{send, Mode, PlanSettings, ValidRow};
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::api::{find_records, Group, Port, RowKeys};
use crate::pipeline::batch::{Batcher, Op, PlannedRow};
use crate::pipeline::diff::{before_values, changes, would_change, ValueChange};
use crate::pipeline::engine::PlanMsg;
use crate::pipeline::memory::State;
use crate::pipeline::reconcile::outcome_of;
use crate::pipeline::refs::Refs;
use crate::resource::fields::Removed;
use crate::resource::{how_named, layer, payload_key, search_value, Layer, Resource, UpsertStyle};
use crate::schema::row::Payload;

/// A row whose references are resolved: its payload (with the default organization's id)
/// and its links (organizations to join once it exists).
type Resolved<'c> = (&'c ValidRow, Payload, Vec<(u64, String)>);

pub(super) struct Planner<A> {
    pub(super) api: A,
    pub(super) settings: PlanSettings,
    pub(super) refs: Refs,
    /// The account's groups, listed once per run, when a row first names a group.
    pub(super) groups: Option<Vec<Group>>,
    /// The rows of the chunk being planned that are settled or batched already: if planning
    /// stops half-way (a lookup fails), only the others are settled `skipped`.
    pub(super) done: std::sync::Mutex<std::collections::HashSet<usize>>,
}

/// What planning decided for one row.
enum Decision {
    /// Send it with this operation (and the existing record's id, if any), and what the
    /// write removes from the account, in words (options pruned), if anything.
    Send(Op, Option<u64>, Option<String>),
    /// Settled without a request.
    Settled(RowOutcome),
}

fn outcome(r: &ValidRow, action: Action, status: RowStatus) -> RowOutcome {
    RowOutcome::new(r.seq, r.row, r.key.clone(), action, status)
}

fn refused(r: &ValidRow, action: Action, status: RowStatus, code: &str, msg: String) -> RowOutcome {
    let mut o = outcome(r, action, status);
    o.error_code = Some(code.into());
    o.message = Some(msg);
    o.original = Some(r.original.clone());
    o
}

fn text<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

impl<A: Port> Planner<A> {
    fn layer(&self) -> &'static dyn Layer {
        self.settings.layer
    }

    /// Notes that the row at `seq` has its outcome or its batch.
    fn mark(&self, seq: usize) {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).insert(seq);
    }

    /// Whether the row at `seq` of the chunk being planned has its outcome or its batch.
    pub(super) fn is_done(&self, seq: usize) -> bool {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).contains(&seq)
    }

    /// Sends a row's outcome, noting it is settled.
    async fn emit(
        &self,
        tx: &mpsc::Sender<PlanMsg>,
        seq: usize,
        msg: PlanMsg,
    ) -> anyhow::Result<()> {
        self.mark(seq);
        send(tx, msg).await
    }

    /// Resolves the rows' references; a row naming a record that does not exist is settled
    /// `invalid` here. Returns the rows left, with their links (records to join once they
    /// exist).
    async fn resolve_refs<'c>(
        &mut self,
        chunk: &'c [ValidRow],
        tx: &mpsc::Sender<PlanMsg>,
    ) -> anyhow::Result<Vec<Resolved<'c>>> {
        let Some(spec) = self.layer().facts().refs.as_ref() else {
            return Ok(chunk.iter().map(|r| (r, r.payload.clone(), Vec::new())).collect());
        };
        let (field, to) = (spec.default_field, layer(spec.to).singular());
        let values: Vec<&str> =
            chunk.iter().flat_map(|r| r.payload.refs.iter().map(String::as_str)).collect();
        self.refs.resolve(&self.api, &values).await?;
        let mut out = Vec::with_capacity(chunk.len());
        for r in chunk {
            let mut payload = r.payload.clone();
            let mut links = Vec::new();
            let mut missing = Vec::new();
            for (i, value) in r.payload.refs.iter().enumerate() {
                match self.refs.get(value).flatten() {
                    Some(id) if i == 0 && r.payload.default_ref => {
                        payload.body.insert(field.into(), json!(id));
                    }
                    Some(id) => {
                        let default = payload.body.get(field).and_then(Value::as_u64);
                        if default != Some(id) && !links.iter().any(|l: &(u64, String)| l.0 == id) {
                            links.push((id, value.clone()));
                        }
                    }
                    None => {
                        let column = r.payload.ref_columns.get(i).map_or("organization", |c| c);
                        missing.push(format!(
                            "row {}, {column}: no {to} has the external_id or name '{value}'",
                            r.row
                        ));
                    }
                }
            }
            if missing.is_empty() {
                out.push((r, payload, links));
                continue;
            }
            let msg = format!("{}; import the {to} first or correct the value", missing.join("; "));
            let o = refused(r, Action::None, RowStatus::Invalid, "UnknownOrganization", msg);
            self.emit(tx, r.seq, PlanMsg::Outcome(o)).await?;
        }
        Ok(out)
    }

    /// Writes the id of each group a row names into its body; a name no group has settles
    /// the row `invalid`, naming the row, the column and the value and listing some of the
    /// account's groups. The groups are listed once per run, and only if a row names one.
    async fn resolve_groups<'c>(
        &mut self,
        rows: Vec<Resolved<'c>>,
        tx: &mpsc::Sender<PlanMsg>,
    ) -> anyhow::Result<Vec<Resolved<'c>>> {
        if rows.iter().all(|(_, p, _)| p.group.is_none()) {
            return Ok(rows);
        }
        let groups = match self.groups.take() {
            Some(g) => g,
            None => self.api.groups().await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for (r, mut payload, links) in rows {
            let Some(wanted) = payload.group.take() else {
                out.push((r, payload, links));
                continue;
            };
            let folded = wanted.name.trim().to_lowercase();
            // Listed in id order: of two groups with one name (Zendesk may allow it), the
            // older one is taken.
            match groups.iter().find(|g| g.name.trim().to_lowercase() == folded) {
                Some(g) => {
                    payload.body.insert(wanted.field, json!(g.id));
                    out.push((r, payload, links));
                }
                None => {
                    let msg = format!(
                        "row {}, {}: no group is named '{}'; {}",
                        r.row,
                        wanted.column,
                        wanted.name,
                        some_groups(&groups)
                    );
                    let o = refused(r, Action::None, RowStatus::Invalid, "UnknownGroup", msg);
                    self.emit(tx, r.seq, PlanMsg::Outcome(o)).await?;
                }
            }
        }
        self.groups = Some(groups);
        Ok(out)
    }

    /// The existing record of each row, when the mode and resource need one.
    async fn existing(&self, rows: &[Resolved<'_>]) -> anyhow::Result<Vec<Option<Value>>> {
        let mode = self.settings.mode;
        if mode == Mode::Create {
            return Ok(vec![None; rows.len()]);
        }
        // A bulk upsert matches rows itself: only rows with an id or external id are looked up
        // (100 a request), to leave out the unchanged ones; a row without a name is also
        // searched by its search column, since it can only update someone.
        let bulk = mode == Mode::Upsert && self.layer().upsert() == UpsertStyle::BulkUpsert;
        let keys: Vec<RowKeys> = rows
            .iter()
            .map(|(_, p, _)| RowKeys {
                id: p.id,
                external_id: p.external_id.as_deref(),
                // A dry run finds those named only by e-mail too (a search each), so that what
                // it says is what the run will do.
                search: if bulk && p.name.is_some() && !self.settings.dry_run {
                    None
                } else {
                    search_value(self.layer(), p)
                },
            })
            .collect();
        find_records(&self.api, self.layer(), &keys).await
    }

    /// A found user whose e-mail address belongs to someone else: both are named, nothing is
    /// guessed.
    async fn conflict(&self, p: &Payload, record: &Value) -> anyhow::Result<Option<String>> {
        let (Some(email), Some(id)) = (&p.email, record.get("id").and_then(Value::as_u64)) else {
            return Ok(None);
        };
        if text(record, "email").is_some_and(|e| e.eq_ignore_ascii_case(email)) {
            return Ok(None);
        }
        let other = self
            .api
            .search(self.layer().resource(), self.layer().search_column(), email.clone())
            .await?
            .into_iter()
            .find(|u| text(u, "email").is_some_and(|e| e.eq_ignore_ascii_case(email)));
        Ok(other.and_then(|u| u.get("id").and_then(Value::as_u64)).filter(|o| *o != id).map(|o| {
            format!(
                "email '{email}' belongs to user {o} and {} to user {id}: two different people; correct the row or merge the users in Zendesk first",
                how_named(self.layer(), p)
            )
        }))
    }

    async fn decide(
        &self,
        r: &ValidRow,
        payload: &mut Payload,
        record: Option<&Value>,
    ) -> anyhow::Result<Decision> {
        let mode = self.settings.mode;
        let layer = self.layer();
        let id = record.and_then(|v| v.get("id")).and_then(Value::as_u64);
        let bulk = layer.upsert() == UpsertStyle::BulkUpsert;
        Ok(match (mode, record, id) {
            (Mode::Create, _, _) => Decision::Send(Op::Create, None, None),
            (Mode::Delete, Some(_), Some(id)) => Decision::Send(Op::Delete, Some(id), None),
            (Mode::Upsert | Mode::Update, Some(existing), Some(id)) => {
                let prune = self.settings.prune_options;
                let removed = match layer.against_existing(&mut payload.body, existing, prune) {
                    Ok(removed) => removed,
                    Err(msg) => {
                        let msg = format!("row {}, type: {msg}", r.row);
                        let o = refused(r, Action::None, RowStatus::Invalid, "TypeChange", msg);
                        return Ok(Decision::Settled(o));
                    }
                };
                let note = if removed.is_empty() {
                    None
                } else {
                    Some(self.holders(existing, &removed).await?)
                };
                if bulk {
                    if let Some(msg) = self.conflict(payload, existing).await? {
                        let msg = format!("row {}, {msg}", r.row);
                        let o =
                            refused(r, Action::None, RowStatus::Failed, "IdentityConflict", msg);
                        return Ok(Decision::Settled(o));
                    }
                }
                // The default organization already set is not written again: writing it
                // would drop the user's other memberships (`zendesk-api.md` §4, Users).
                if let Some(field) = layer.facts().refs.as_ref().map(|r| r.default_field) {
                    let default = payload.body.get(field).and_then(Value::as_u64);
                    if default.is_some() && default == existing.get(field).and_then(Value::as_u64) {
                        payload.body.remove(field);
                    }
                }
                if would_change(&payload.body, existing, &self.settings.checkbox_tags) {
                    let op = if bulk && payload.id.is_none() && mode == Mode::Upsert {
                        Op::Upsert
                    } else {
                        Op::Update
                    };
                    Decision::Send(op, Some(id), note)
                } else {
                    let mut o = outcome(r, Action::None, RowStatus::Unchanged);
                    o.zendesk_id = Some(id);
                    Decision::Settled(o)
                }
            }
            (Mode::Upsert, None, _) if payload.id.is_none() && payload.name.is_some() => {
                Decision::Send(if bulk { Op::Upsert } else { Op::Create }, None, None)
            }
            (Mode::Upsert, None, _) if payload.id.is_none() => {
                let msg = format!(
                    "row {}, name: is required: no {} has {}, and creating one needs a name",
                    r.row,
                    layer.singular(),
                    how_named(layer, payload)
                );
                Decision::Settled(refused(r, Action::None, RowStatus::Invalid, "NameRequired", msg))
            }
            // A delete run again: the record is gone already, which is what the row asks.
            (Mode::Delete, None, _) => {
                let mut o = outcome(r, Action::None, RowStatus::Unchanged);
                o.message = Some(format!(
                    "already gone: no {} has {}",
                    layer.singular(),
                    how_named(layer, payload)
                ));
                Decision::Settled(o)
            }
            _ => {
                let msg = format!(
                    "row {}: no {} has {}",
                    r.row,
                    layer.singular(),
                    how_named(layer, payload)
                );
                Decision::Settled(refused(
                    r,
                    Action::None,
                    RowStatus::Failed,
                    "RecordNotFound",
                    msg,
                ))
            }
        })
    }

    /// What pruning `removed` options of the definition `existing` takes from the account, in
    /// words: each option and how many records hold it, counted over every record.
    async fn holders(&self, existing: &Value, removed: &[Removed]) -> anyhow::Result<String> {
        let key = text(existing, "key").unwrap_or_default();
        let (records, family) = match self.layer().resource() {
            Resource::UserFields => (Resource::Users, "user_fields"),
            _ => (Resource::Organizations, "organization_fields"),
        };
        let mut counts = vec![0u64; removed.len()];
        let mut after = None;
        loop {
            let (page, next) = self.api.list_page(records, after).await?;
            for record in &page {
                let value = record.get(family).and_then(|f| f.get(key));
                for (n, option) in counts.iter_mut().zip(removed) {
                    let holds = match value {
                        Some(Value::String(s)) => s == &option.value,
                        Some(Value::Array(a)) => {
                            a.iter().any(|v| v.as_str() == Some(&option.value))
                        }
                        _ => false,
                    };
                    *n += u64::from(holds);
                }
            }
            match next {
                Some(n) if !page.is_empty() => after = Some(n),
                _ => break,
            }
        }
        let what = layer(records).plural();
        let each: Vec<String> = removed
            .iter()
            .zip(counts)
            .map(|(o, n)| format!("'{}' ({}), held by {n} {what}", o.name, o.value))
            .collect();
        Ok(format!(
            "--prune-options removes option {} of field '{key}': their values are removed from those records",
            each.join("; ")
        ))
    }

    /// Whether a planned create would make Zendesk mail the person.
    fn mails(&self, op: Op, id: Option<u64>, p: &Payload) -> bool {
        matches!(op, Op::Create | Op::Upsert)
            && id.is_none()
            && p.email.is_some()
            && self.layer().facts().welcome_email
            && !p.body.get("verified").is_some_and(|v| v == &json!(true))
            && !p.body.get("skip_verify_email").is_some_and(|v| v == &json!(true))
    }

    pub(super) async fn plan_chunk(
        &mut self,
        chunk: &[ValidRow],
        batcher: &mut Batcher,
        tx: &mpsc::Sender<PlanMsg>,
    ) -> anyhow::Result<()> {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let rows = self.resolve_refs(chunk, tx).await?;
        let rows = self.resolve_groups(rows, tx).await?;
        let rows = self.remembered(rows, tx).await?;
        let found = self.existing(&rows).await?;
        let layer = self.layer();
        for ((r, mut payload, links), record) in rows.into_iter().zip(found) {
            let decision = self.decide(r, &mut payload, record.as_ref()).await?;
            let (op, id, note) = match decision {
                Decision::Settled(mut o) => {
                    if self.settings.validate {
                        relabel(&mut o);
                    }
                    let msg = if links.is_empty() || o.status.is_failure() || self.settings.dry_run
                    {
                        PlanMsg::Outcome(o)
                    } else {
                        o.original = Some(r.original.clone());
                        PlanMsg::Linked(o, links)
                    };
                    self.emit(tx, r.seq, msg).await?;
                    continue;
                }
                Decision::Send(op, id, note) => (op, id, note),
            };
            if let (Some(log), false) = (&self.settings.changes, op == Op::Delete) {
                let key =
                    if r.key.is_empty() { payload_key(layer, &payload) } else { r.key.clone() };
                let mut moved =
                    changes(&payload.body, record.as_ref(), &self.settings.checkbox_tags);
                // A new user's organizations beyond the default: the ones it joins.
                if record.is_none() && !links.is_empty() {
                    let names = links.iter().map(|(_, n)| Value::String(n.clone())).collect();
                    moved.push(ValueChange {
                        column: "organizations".into(),
                        old: Value::Null,
                        new: Value::Array(names),
                    });
                }
                log.add(r.row, &key, &moved)?;
            }
            // A dry run counts who would be mailed; a run counts who was (rows that come back
            // created), since a bulk upsert may find someone by e-mail instead.
            let mails = self.mails(op, id, &payload);
            if mails && self.settings.dry_run {
                self.settings.welcome_emails.fetch_add(1, Ordering::Relaxed);
            }
            if self.settings.dry_run {
                let action =
                    if id.is_some() && op != Op::Delete { Action::Update } else { op.action() };
                let status =
                    if self.settings.validate { RowStatus::Valid } else { RowStatus::Planned };
                let mut o = outcome(r, action, status);
                o.zendesk_id = id;
                o.message = note;
                let findable = id.is_some()
                    || payload.external_id.is_some()
                    || search_value(layer, &payload).is_some();
                if !findable && op != Op::Delete {
                    o.message = Some(crate::pipeline::engine::UNFINDABLE.into());
                }
                self.emit(tx, r.seq, PlanMsg::Outcome(o)).await?;
                continue;
            }
            // What the record held before, for `zdbulk undo --restore-updates`.
            let before = match (op, record.as_ref()) {
                (Op::Update | Op::Upsert, Some(rec)) => Some(before_values(&payload.body, rec)),
                _ => None,
            };
            let planned = PlannedRow {
                seq: r.seq,
                row: r.row,
                key: if r.key.is_empty() { payload_key(layer, &payload) } else { r.key.clone() },
                id,
                external_id: payload.external_id.clone(),
                search: search_value(layer, &payload).map(str::to_string),
                payload: payload.body,
                original: r.original.clone(),
                attempts: 0,
                before,
                links,
                mails,
            };
            self.mark(r.seq);
            if let Some(batch) = batcher.push(op, planned) {
                send(tx, PlanMsg::Batch(batch)).await?;
            }
        }
        Ok(())
    }
}

impl<A: Port> Planner<A> {
    /// `zdbulk resume`: rows whose result the run's journal holds are reported with it (and
    /// go on to their memberships); the others are returned, to be planned.
    async fn remembered<'c>(
        &self,
        rows: Vec<Resolved<'c>>,
        tx: &mpsc::Sender<PlanMsg>,
    ) -> anyhow::Result<Vec<Resolved<'c>>> {
        let Some(memory) = self.settings.memory.clone() else { return Ok(rows) };
        let layer = self.layer();
        let mut rest = Vec::with_capacity(rows.len());
        for (r, payload, links) in rows {
            let known = match memory.row(r.seq) {
                Some(State::Known(k)) => k,
                // Settled before planning began (`pending`): not reached in practice, and
                // never sent again if it is.
                Some(State::Sent(_)) => {
                    let msg = format!(
                        "row {}: its batch is still in doubt; run `zdbulk resume` again",
                        r.row
                    );
                    let o = refused(r, Action::None, RowStatus::Skipped, "InDoubt", msg);
                    self.emit(tx, r.seq, PlanMsg::Outcome(o)).await?;
                    continue;
                }
                Some(State::NotDone) | None => {
                    rest.push((r, payload, links));
                    continue;
                }
            };
            let stub = PlannedRow {
                seq: r.seq,
                row: r.row,
                key: if r.key.is_empty() { payload_key(layer, &payload) } else { r.key.clone() },
                id: payload.id,
                external_id: None,
                search: None,
                payload: Default::default(),
                original: r.original.clone(),
                attempts: 0,
                before: None,
                links: vec![],
                mails: false,
            };
            let mut o = outcome_of(known.op, &stub, &known.item, known.job_id.as_deref());
            if let Some(m) = text(&known.item, "message") {
                o.message = Some(m.to_string());
            }
            if let Some(log) = &self.settings.changes {
                log.carry(r.row)?;
            }
            if o.status == RowStatus::Created && self.mails(known.op, None, &payload) {
                self.settings.welcome_emails.fetch_add(1, Ordering::Relaxed);
            }
            let msg = if links.is_empty() || o.status.is_failure() {
                PlanMsg::Outcome(o)
            } else {
                o.original = Some(r.original.clone());
                PlanMsg::Linked(o, links)
            };
            self.emit(tx, r.seq, msg).await?;
        }
        Ok(rest)
    }
}

/// The account's groups for a message: up to 10 names, and how many more there are.
fn some_groups(groups: &[Group]) -> String {
    const SHOWN: usize = 10;
    if groups.is_empty() {
        return "the account has no groups".into();
    }
    let names: Vec<String> = groups.iter().take(SHOWN).map(|g| format!("'{}'", g.name)).collect();
    let more = groups.len().saturating_sub(SHOWN);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("the account's groups: {}{tail}", names.join(", "))
}

/// `zdbulk validate` against an account: what an import would send or leave is `valid`, what
/// it would refuse is `invalid`.
fn relabel(o: &mut RowOutcome) {
    o.status = match o.status {
        RowStatus::Unchanged | RowStatus::Planned => RowStatus::Valid,
        RowStatus::Failed => RowStatus::Invalid,
        other => other,
    };
}
