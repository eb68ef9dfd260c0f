//! A merge pair's lines: the report's outcome for each way a pair can end, and the journal
//! line that says so, written together so that the report and a resume agree.

use super::Work;
use crate::output::report::ReportWriter;
use crate::output::{Action, RowOutcome, RowStatus};
use crate::pipeline::journal::{Entry, Journal};
use crate::pipeline::reporter::Reporter;
use crate::progress::Progress;

/// Where a pair's end is written.
pub(crate) struct Sink<'a> {
    pub(crate) report: &'a mut ReportWriter,
    pub(crate) journal: &'a mut Journal,
    pub(crate) progress: &'a Progress,
}

/// How a pair ended.
#[derive(Debug, Clone)]
pub(crate) enum End {
    /// Merged: the loser is gone.
    Complete { merge_id: Option<String>, message: String },
    /// Not merged.
    Failed { code: String, message: String },
    /// Not finished: the run stopped first (not journaled: a resume takes it up).
    Skipped { merge_id: Option<String>, message: String },
}

/// The report line of a pair that ended `end`.
pub(crate) fn outcome(w: &Work, end: &End) -> RowOutcome {
    let mut o = RowOutcome::new(w.seq, w.row, w.key.clone(), Action::Delete, RowStatus::Deleted);
    o.zendesk_id = Some(w.loser);
    match end {
        End::Complete { merge_id, message } => {
            o.job_id = merge_id.clone();
            o.message = Some(message.clone());
        }
        End::Failed { code, message } => {
            o.status = RowStatus::Failed;
            o.error_code = Some(code.clone());
            o.message = Some(message.clone());
            o.original = Some(w.original.clone());
        }
        End::Skipped { merge_id, message } => {
            o.status = RowStatus::Skipped;
            o.job_id = merge_id.clone();
            o.message = Some(message.clone());
            o.original = Some(w.original.clone());
        }
    }
    o
}

impl Sink<'_> {
    /// Writes a pair's end to the journal (not a skip) and to the report.
    pub(crate) fn end(&mut self, w: &Work, end: End) -> anyhow::Result<()> {
        let entry = match &end {
            End::Complete { merge_id, message } => Some(Entry::MergeEnded {
                seq: w.seq,
                status: "complete".into(),
                merge_id: merge_id.clone(),
                message: Some(message.clone()),
            }),
            End::Failed { code, message } => Some(Entry::MergeEnded {
                seq: w.seq,
                status: "failed".into(),
                merge_id: None,
                message: Some(format!("{code}: {message}")),
            }),
            End::Skipped { .. } => None,
        };
        if let Some(e) = entry {
            self.journal.append(&e)?;
        }
        self.record(outcome(w, &end))
    }

    /// Writes one report line.
    pub(crate) fn record(&mut self, o: RowOutcome) -> anyhow::Result<()> {
        self.progress.on_row_settled(o.status);
        self.report.record(o)?;
        Ok(())
    }
}

/// The line of a row refused before anything was sent.
pub(crate) fn invalid(
    seq: usize,
    row: usize,
    key: &str,
    original: &[String],
    why: &str,
) -> RowOutcome {
    let mut o = RowOutcome::new(seq, row, key.to_string(), Action::None, RowStatus::Invalid);
    o.error_code = Some("InvalidPair".into());
    o.message = Some(why.to_string());
    o.original = Some(original.to_vec());
    o
}

/// The line of a pair a dry run would merge.
pub(crate) fn planned(w: &Work) -> RowOutcome {
    let mut o = RowOutcome::new(w.seq, w.row, w.key.clone(), Action::Delete, RowStatus::Planned);
    o.zendesk_id = Some(w.loser);
    o.message = Some(w.note.clone());
    o
}
