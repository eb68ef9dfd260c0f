//! When to poll: whether the request budget or the job window binds, when the next poll is
//! due, and what each poll teaches about how long jobs take.

use std::collections::HashMap;

use tokio::time::Instant;

use super::{Engine, InFlight};
use crate::pipeline::api::{JobState, Port};

impl<A: Port> Engine<A> {
    /// Whether the request budget, not the job window, bounds the run: the budget has run out
    /// already, or the window would cycle faster than the budget allows (the window's jobs
    /// per job time, in requests a minute, above nine tenths of the budget). Then every poll
    /// costs a create, and time is what there is to spare.
    pub(super) fn budget_binds(&self) -> bool {
        self.budget_binding
            || self.api.requests_per_minute().is_some_and(|limit| {
                let job_secs = self.time.estimate().as_secs_f64().max(0.05);
                self.window as f64 * 60.0 / job_secs > f64::from(limit) * 0.9
            })
    }

    /// When to poll next.
    ///
    /// - Jobs no poll has seen yet: when the newest of them is expected to be done, so one
    ///   poll settles the whole group and the window is refilled in one burst (groups stay
    ///   together, and polls stay a small share of the request budget).
    /// - Jobs a poll saw still running and now overdue (stragglers): soon again while the
    ///   youngest of them is only a little late (a twentieth of a job's time), then backing
    ///   off in proportion to its age. A job some other group's poll saw running is not a
    ///   straggler until its own time is up.
    /// - When the request budget binds, a fifth of a job's time later than expected and a
    ///   quarter of it between looks: a late poll only costs time the budget makes spare,
    ///   while one that finds a job still running costs a request a create needed.
    pub(super) fn next_poll_at(&self) -> Option<Instant> {
        let now = Instant::now();
        let binds = self.budget_binds();
        let estimate = self.time.estimate();
        let expected = if binds { estimate.mul_f64(1.2) } else { estimate };
        // A job another group's poll saw running is still part of its own group until it is
        // due: only overdue jobs are stragglers. The youngest of them sets the pace of second
        // looks (a job only a little late is looked at soon; one long overdue, more rarely).
        let overdue = |j: &InFlight| j.seen_pending && now >= j.submitted + expected;
        let fresh = self.in_flight.values().filter(|j| !overdue(j)).map(|j| j.submitted).max();
        let seen = self.in_flight.values().filter(|j| overdue(j)).map(|j| j.submitted).max();
        let group = fresh.map(|t| t + expected);
        let straggler = seen.map(|t| {
            let age = now - t;
            let soon = if binds { 0.25 } else { 0.05 };
            let gap = if age < estimate.mul_f64(1.5) {
                estimate.mul_f64(soon)
            } else {
                age.mul_f64(0.25)
            };
            self.last_poll.unwrap_or(now) + gap.max(self.settings.min_poll_gap)
        });
        let at = match (group, straggler) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(match self.last_poll {
            Some(last) => at.max(last + self.settings.min_poll_gap),
            None => at,
        })
    }

    /// Learns how long jobs take from one poll's answer (`sent`: when the poll went out):
    /// the oldest job still running, or, when every job asked about is done, the newest one.
    ///
    /// A job still running although a job submitted after it has finished is a straggler,
    /// not news about job times: it gets its own second looks, but if its age counted, one
    /// slow job would hold every later group back for as long as it ran.
    pub(super) fn learn(&mut self, answered: &HashMap<String, JobState>, sent: Instant) {
        self.budget_binding = self.budget_binding || self.api.budget_binding();
        let probe = !self.budget_binds();
        let age = |j: &InFlight| sent.saturating_duration_since(j.submitted);
        let state = |id: &String| answered.get(id);
        let newest_done = self
            .in_flight
            .iter()
            .filter(|(id, _)| matches!(state(id), Some(JobState::Done(_))))
            .map(|(_, j)| j.submitted)
            .chain(self.newest_done)
            .max();
        let mut any_pending = false;
        let mut pending = None;
        for (id, job) in &self.in_flight {
            if matches!(state(id), Some(JobState::Pending)) {
                any_pending = true;
                if newest_done.is_none_or(|done| job.submitted > done) {
                    pending = pending.max(Some(age(job)));
                }
            }
        }
        self.newest_done = newest_done;
        if let Some(a) = pending {
            self.time.running(a);
        }
        if any_pending {
            return;
        }
        // Only jobs this poll asked about (jobs accepted while it was out are not in it).
        let Some(newest) = self
            .in_flight
            .iter()
            .filter(|(id, _)| answered.contains_key(*id))
            .map(|(_, j)| j)
            .max_by_key(|j| j.submitted)
        else {
            return;
        };
        let seen_running = newest.seen_pending.then_some(newest.pending_age);
        self.time.done(age(newest), seen_running, probe);
    }
}
