//! How long jobs take, learned from what polls see, so that one poll settles a whole group
//! of jobs: early enough to keep the job window full, late enough not to find them running.
//!
//! Two bounds are kept: an age at which a job was seen still running (jobs take longer) and
//! one at which the newest job of a group was found done (jobs take at most that). Polls aim
//! at the middle while the two are far apart, which halves the gap at every poll, and at the
//! upper bound once they are within 2 %: a poll then almost never finds a job running and
//! waits at most a fiftieth of a job's time too long. Every few such polls, one probes a
//! little earlier, so that jobs getting faster are noticed; jobs getting slower are noticed
//! by the poll that finds them running.

use std::time::Duration;

/// How close the bounds must be to poll at the upper one.
const CLOSE: f64 = 0.02;
/// Polls at the upper bound between two probes a little earlier.
const PROBE_EVERY: u32 = 6;
/// How much earlier a probe looks, as a share of the upper bound (less than [`CLOSE`], so a
/// probe that finds jobs running leaves the bounds close).
const PROBE: f64 = 0.015;
/// The farthest a run of successful probes looks earlier.
const MAX_PROBE: f64 = 0.25;

/// The learned job time.
#[derive(Debug, Clone)]
pub struct JobTime {
    estimate: Duration,
    /// The largest age at which a job was seen running: jobs take longer.
    lower: Duration,
    /// The smallest age at which a group's newest job was found done.
    upper: Option<Duration>,
    /// Whether a job has been seen finishing (the estimate is then learned, not guessed).
    explored: bool,
    /// Polls at the upper bound since the last probe.
    settled: u32,
    /// The estimate is a probe: if it finds every job done, probe again at once, twice as
    /// far (jobs are getting faster, or the upper bound was far too high).
    probing: bool,
    /// How much earlier the next probe looks.
    step: f64,
}

impl JobTime {
    /// Starts from a guess (on the short side: it grows by half at each poll that finds
    /// jobs running, so long jobs cost a few polls and short ones no waiting).
    pub fn new(guess: Duration) -> JobTime {
        JobTime {
            estimate: guess,
            lower: Duration::ZERO,
            upper: None,
            explored: false,
            settled: 0,
            probing: false,
            step: PROBE,
        }
    }

    /// How long after its submission a job is expected to be done.
    pub fn estimate(&self) -> Duration {
        self.estimate
    }

    /// A poll found a job still running at `age`.
    pub fn running(&mut self, age: Duration) {
        self.probing = false;
        self.step = PROBE;
        self.lower = self.lower.max(age);
        if self.upper.is_some_and(|u| u <= age) {
            // Jobs got slower: what was enough is no longer.
            self.upper = None;
        }
        let floor = if self.explored { age } else { age.mul_f64(1.5) };
        self.estimate = self.estimate.max(floor);
    }

    /// A poll found every job it asked about done, the newest at `age`; `seen_running` is
    /// the age at which an earlier poll saw that job running, if one did. `probe` is false
    /// when polls are dear (the request budget binds): then no earlier look is tried.
    pub fn done(&mut self, age: Duration, seen_running: Option<Duration>, probe: bool) {
        self.explored = true;
        let probe_hit = self.probing && seen_running.is_none();
        self.probing = false;
        if let Some(running) = seen_running {
            self.lower = self.lower.max(running);
        }
        let upper = self.upper.map_or(age, |u| u.min(age));
        self.upper = Some(upper);
        if self.lower >= upper {
            // One job ran longer than another finished: the older bound is stale.
            self.lower = upper.mul_f64(1.0 - CLOSE);
        }
        let close = (upper - self.lower).as_secs_f64() <= upper.as_secs_f64() * CLOSE;
        self.step = if probe_hit { (self.step * 2.0).min(MAX_PROBE) } else { PROBE };
        self.estimate = if !probe {
            upper
        } else if probe_hit || close && seen_running.is_none() && self.settled + 1 >= PROBE_EVERY {
            self.settled = 0;
            self.probing = true;
            upper.mul_f64(1.0 - self.step)
        } else if !close {
            // Aiming below the upper bound is a probe too: if it finds every job done, the
            // lower bound may be stale (jobs got faster), and the next look goes further.
            self.probing = true;
            (self.lower + upper) / 2
        } else {
            self.settled += 1;
            upper
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Polls jobs that take `job` with the learned timing, as the engine does: a first look
    /// at the estimate, then second looks a twentieth of it apart. Returns the polls each of
    /// `rounds` groups took.
    fn simulate(time: &mut JobTime, job: impl Fn(usize) -> Duration, rounds: usize) -> Vec<u32> {
        (0..rounds)
            .map(|round| {
                let job = job(round);
                let gap = time.estimate() / 20;
                let mut at = time.estimate();
                let mut polls = 1;
                let mut seen = None;
                while at < job {
                    time.running(at);
                    seen = Some(at);
                    at = (at + gap).max(time.estimate());
                    polls += 1;
                }
                time.done(at, seen, true);
                polls
            })
            .collect()
    }

    #[test]
    fn a_steady_job_time_is_found_and_then_one_poll_settles_each_group() {
        let mut time = JobTime::new(ms(1_000));
        let polls = simulate(&mut time, |_| ms(10_000), 40);
        // Finding 10 s from a 1 s guess takes a handful of polls, narrowing a few more.
        assert!(polls[..6].iter().sum::<u32>() <= 16, "{polls:?}");
        // Then one poll a group, except for an occasional probe.
        let later: u32 = polls[10..].iter().sum();
        assert!(later <= 30 + 30 / PROBE_EVERY + 1, "{later} polls for 30 groups: {polls:?}");
        // Never more than 2 % late.
        assert!(time.estimate() <= ms(10_200), "{:?}", time.estimate());
        assert!(time.estimate() >= ms(10_000) || time.settled == 0);
    }

    #[test]
    fn slower_and_faster_jobs_are_followed() {
        let mut time = JobTime::new(ms(1_000));
        simulate(&mut time, |_| ms(5_000), 20);
        simulate(&mut time, |_| ms(8_000), 10);
        assert!(
            time.estimate() >= ms(8_000) && time.estimate() <= ms(8_200),
            "{:?}",
            time.estimate()
        );
        simulate(&mut time, |_| ms(6_000), 20);
        assert!(time.estimate() <= ms(6_150), "{:?}", time.estimate());
        // A far too high bound comes down in a few rounds, not dozens.
        let mut time = JobTime::new(ms(1_000));
        time.running(ms(59_000));
        simulate(&mut time, |_| ms(10_000), 16);
        assert!(time.estimate() <= ms(10_500), "{:?}", time.estimate());
    }

    #[test]
    fn without_probes_the_estimate_is_the_upper_bound() {
        let mut time = JobTime::new(ms(1_000));
        time.running(ms(1_000));
        time.done(ms(1_500), Some(ms(1_000)), false);
        assert_eq!(time.estimate(), ms(1_500));
        time.done(ms(1_500), None, false);
        assert_eq!(time.estimate(), ms(1_500));
    }
}
