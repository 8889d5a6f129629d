//! Readiness and health of one program: two small pure machines beside its life in
//! `program.rs`. Time is injected; the driver runs the probe attempts they ask for and
//! reports each outcome; an attempt that outlives its timeout is cancelled here.
//!
//! ```text
//! readiness:  Idle ──spawned──► Waiting ──signal / probe passed / RUNNING──► Ready
//!                                  │ (probe every interval, each ≤ timeout)
//!                                  └──within passed──► TimedOut (a failed start)
//! health:     Idle ──ready──► Scheduled ──interval──► Probing ──passed──► Scheduled
//!                                                        └──failed (n in a row)──► Idle
//! ```

use std::time::{Duration, Instant};

use crate::config::{HealthSpec, ReadyKind, ReadySpec};

/// What a check asks of the driver, or reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckEvent {
    /// Start one probe attempt; answer with its outcome.
    StartProbe,
    /// The attempt under way took longer than the timeout: drop it (close, kill).
    CancelProbe,
    /// Readiness: the program is ready, `after` its spawn.
    Ready { after: Duration },
    /// Readiness: not ready `within` its spawn.
    NotReadyWithin,
    /// Health: an attempt failed; `in_a_row` of `of`.
    HealthFailed {
        reason: String,
        in_a_row: u32,
        of: u32,
    },
    /// Health: the last failure was the `of`-th in a row: restart the program.
    Unhealthy,
    /// Health: passed again after failing.
    Healthy,
}

/// A probe attempt in flight, or the next one's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    /// The next attempt starts at this time.
    Due(Instant),
    /// An attempt is under way; it is cancelled at this time.
    Running(Instant),
}

impl Attempt {
    fn time(self) -> Instant {
        match self {
            Attempt::Due(at) | Attempt::Running(at) => at,
        }
    }
}

/// Starts an attempt at `now`, or cancels one that timed out and schedules the next.
/// Returns the events and whether an attempt failed by timing out.
fn attempt_timer(
    attempt: &mut Attempt,
    interval: Duration,
    timeout: Duration,
    now: Instant,
) -> Option<CheckEvent> {
    match *attempt {
        Attempt::Due(at) if now >= at => {
            *attempt = Attempt::Running(now.checked_add(timeout).unwrap_or(now));
            Some(CheckEvent::StartProbe)
        }
        Attempt::Running(at) if now >= at => {
            *attempt = Attempt::Due(now.checked_add(interval).unwrap_or(now));
            Some(CheckEvent::CancelProbe)
        }
        Attempt::Due(_) | Attempt::Running(_) => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadyState {
    /// No process: before the first spawn, or after an exit.
    Idle,
    /// Spawned at `since`; `attempt` is set for probe kinds.
    Waiting {
        since: Instant,
        within: Option<Instant>,
        attempt: Option<Attempt>,
    },
    Ready,
    /// Not ready within its time; the program is being stopped as a failed start.
    TimedOut,
}

/// The first retry of a readiness probe; each next one waits twice as long, up to the
/// `interval`. A service is usually ready milliseconds after its first refusal: a fixed
/// 200 ms would make each priority level cost up to 200 ms for nothing.
const FIRST_RETRY: Duration = Duration::from_millis(5);

pub struct Readiness {
    spec: ReadySpec,
    state: ReadyState,
    /// Failed attempts since the spawn, for the retry delay.
    failed_attempts: u32,
}

impl Readiness {
    pub fn new(spec: ReadySpec) -> Self {
        Readiness {
            spec,
            state: ReadyState::Idle,
            failed_attempts: 0,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.state == ReadyState::Ready
    }

    /// An attempt is under way (its outcome is still wanted).
    pub fn is_probing(&self) -> bool {
        matches!(
            self.state,
            ReadyState::Waiting {
                attempt: Some(Attempt::Running(_)),
                ..
            }
        )
    }

    pub fn timer(&self) -> Option<Instant> {
        match self.state {
            ReadyState::Waiting {
                within, attempt, ..
            } => {
                let attempt = attempt.map(Attempt::time);
                within.into_iter().chain(attempt).min()
            }
            ReadyState::Idle | ReadyState::Ready | ReadyState::TimedOut => None,
        }
    }

    /// The delay before the next attempt: [`FIRST_RETRY`], doubling, up to `interval`.
    fn retry_delay(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failed_attempts).unwrap_or(u32::MAX);
        FIRST_RETRY.saturating_mul(factor).min(self.spec.interval)
    }

    /// The program was spawned.
    pub fn on_spawned(&mut self, now: Instant) -> Vec<CheckEvent> {
        self.failed_attempts = 0;
        if matches!(self.spec.kind, ReadyKind::Started) {
            self.state = ReadyState::Ready;
            return vec![CheckEvent::Ready {
                after: Duration::ZERO,
            }];
        }
        let probe = matches!(self.spec.kind, ReadyKind::Probe(_));
        self.state = ReadyState::Waiting {
            since: now,
            within: now.checked_add(self.spec.within),
            attempt: probe.then_some(Attempt::Due(now)),
        };
        // The first attempt right away: a fast service is ready within milliseconds.
        self.on_timer(now)
    }

    /// The program reached RUNNING (`startsecs` passed).
    pub fn on_running(&mut self, now: Instant) -> Vec<CheckEvent> {
        match self.spec.kind {
            ReadyKind::Running => self.become_ready(now),
            ReadyKind::Started
            | ReadyKind::Probe(_)
            | ReadyKind::Notify
            | ReadyKind::Fd(_)
            | ReadyKind::Log(_) => Vec::new(),
        }
    }

    /// The program said it is ready: `READY=1`, a newline on its fd, its log line.
    pub fn on_signalled(&mut self, now: Instant) -> Vec<CheckEvent> {
        match self.spec.kind {
            ReadyKind::Notify | ReadyKind::Fd(_) | ReadyKind::Log(_) => self.become_ready(now),
            ReadyKind::Started | ReadyKind::Running | ReadyKind::Probe(_) => Vec::new(),
        }
    }

    /// The outcome of the attempt under way (an outcome of a cancelled one is stale).
    pub fn on_probe(&mut self, passed: bool, now: Instant) -> Vec<CheckEvent> {
        let interval = self.retry_delay();
        if !passed && self.is_probing() {
            self.failed_attempts = self.failed_attempts.saturating_add(1);
        }
        match &mut self.state {
            ReadyState::Waiting {
                attempt: Some(attempt @ Attempt::Running(_)),
                ..
            } => {
                if passed {
                    return self.become_ready(now);
                }
                *attempt = Attempt::Due(now.checked_add(interval).unwrap_or(now));
                Vec::new()
            }
            ReadyState::Waiting { .. }
            | ReadyState::Idle
            | ReadyState::Ready
            | ReadyState::TimedOut => Vec::new(),
        }
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<CheckEvent> {
        let (interval, timeout) = (self.retry_delay(), self.spec.timeout);
        let probing = self.is_probing();
        match &mut self.state {
            ReadyState::Waiting {
                within, attempt, ..
            } => {
                if within.is_some_and(|w| now >= w) {
                    self.state = ReadyState::TimedOut;
                    let mut events = Vec::new();
                    if probing {
                        events.push(CheckEvent::CancelProbe);
                    }
                    events.push(CheckEvent::NotReadyWithin);
                    return events;
                }
                let event = attempt
                    .as_mut()
                    .and_then(|a| attempt_timer(a, interval, timeout, now));
                if event == Some(CheckEvent::CancelProbe) {
                    self.failed_attempts = self.failed_attempts.saturating_add(1);
                }
                event.into_iter().collect()
            }
            ReadyState::Idle | ReadyState::Ready | ReadyState::TimedOut => Vec::new(),
        }
    }

    /// The program's process is gone: whatever was under way is void.
    pub fn on_exit(&mut self) -> Vec<CheckEvent> {
        let probing = self.is_probing();
        self.state = ReadyState::Idle;
        if probing {
            vec![CheckEvent::CancelProbe]
        } else {
            Vec::new()
        }
    }

    fn become_ready(&mut self, now: Instant) -> Vec<CheckEvent> {
        match self.state {
            ReadyState::Waiting { since, .. } => {
                self.state = ReadyState::Ready;
                vec![CheckEvent::Ready {
                    after: now.saturating_duration_since(since),
                }]
            }
            // Ready once per spawn; nothing before a spawn or after giving up on it.
            ReadyState::Idle | ReadyState::Ready | ReadyState::TimedOut => Vec::new(),
        }
    }
}

pub struct Health {
    spec: HealthSpec,
    /// None while the program is not ready (no checks then).
    attempt: Option<Attempt>,
    failures_in_a_row: u32,
}

impl Health {
    pub fn new(spec: HealthSpec) -> Self {
        Health {
            spec,
            attempt: None,
            failures_in_a_row: 0,
        }
    }

    pub fn timer(&self) -> Option<Instant> {
        self.attempt.map(Attempt::time)
    }

    /// Failed `failures` times in a row: the program is being restarted for it.
    pub fn is_unhealthy(&self) -> bool {
        self.failures_in_a_row >= self.spec.failures.max(1)
    }

    /// The program became ready: the first check comes one interval later.
    pub fn on_ready(&mut self, now: Instant) {
        self.failures_in_a_row = 0;
        self.attempt = Some(Attempt::Due(
            now.checked_add(self.spec.interval).unwrap_or(now),
        ));
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<CheckEvent> {
        let (interval, timeout) = (self.spec.interval, self.spec.timeout);
        let Some(attempt) = &mut self.attempt else {
            return Vec::new();
        };
        match attempt_timer(attempt, interval, timeout, now) {
            Some(CheckEvent::CancelProbe) => {
                let mut events = vec![CheckEvent::CancelProbe];
                events.extend(self.failed("timed out".into()));
                events
            }
            Some(event) => vec![event],
            None => Vec::new(),
        }
    }

    pub fn on_probe(&mut self, outcome: Result<(), String>, now: Instant) -> Vec<CheckEvent> {
        let Some(attempt @ Attempt::Running(_)) = &mut self.attempt else {
            return Vec::new(); // stale: cancelled, or the program is gone
        };
        *attempt = Attempt::Due(now.checked_add(self.spec.interval).unwrap_or(now));
        match outcome {
            Ok(()) => {
                let was_failing = std::mem::take(&mut self.failures_in_a_row) > 0;
                if was_failing {
                    vec![CheckEvent::Healthy]
                } else {
                    Vec::new()
                }
            }
            Err(reason) => self.failed(reason),
        }
    }

    fn failed(&mut self, reason: String) -> Vec<CheckEvent> {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let of = self.spec.failures.max(1);
        let mut events = vec![CheckEvent::HealthFailed {
            reason,
            in_a_row: self.failures_in_a_row,
            of,
        }];
        if self.failures_in_a_row >= of {
            // The program is restarted; checks start again once it is ready again.
            self.attempt = None;
            events.push(CheckEvent::Unhealthy);
        }
        events
    }

    /// The program is stopping or gone: no more checks; an attempt under way is void.
    pub fn on_exit(&mut self) -> Vec<CheckEvent> {
        let running = matches!(self.attempt, Some(Attempt::Running(_)));
        self.attempt = None;
        if running {
            vec![CheckEvent::CancelProbe]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Probe;
    use crate::config::checks::{READY_TIMEOUT, READY_WITHIN};

    const MS: Duration = Duration::from_millis(1);

    fn tcp() -> Probe {
        Probe::Tcp(([127, 0, 0, 1], 5432).into())
    }

    fn ready(kind: ReadyKind) -> Readiness {
        Readiness::new(ReadySpec {
            kind,
            ..ReadySpec::default()
        })
    }

    fn health(failures: u32) -> Health {
        Health::new(HealthSpec {
            probe: tcp(),
            interval: 10_000 * MS,
            timeout: 1_000 * MS,
            failures,
        })
    }

    #[test]
    fn started_is_ready_at_the_spawn() {
        let mut r = ready(ReadyKind::Started);
        let t0 = Instant::now();
        assert_eq!(
            r.on_spawned(t0),
            [CheckEvent::Ready {
                after: Duration::ZERO
            }]
        );
        assert!(r.is_ready());
        assert_eq!(r.timer(), None, "nothing pending: no wakeups");
    }

    #[test]
    fn running_waits_for_running() {
        let mut r = ready(ReadyKind::Running);
        let t0 = Instant::now();
        assert!(r.on_spawned(t0).is_empty());
        assert!(r.on_signalled(t0).is_empty(), "not its kind of signal");
        assert_eq!(r.timer(), Some(t0 + READY_WITHIN));
        let t1 = t0 + 1_000 * MS;
        assert_eq!(r.on_running(t1), [CheckEvent::Ready { after: 1_000 * MS }]);
        assert_eq!(r.timer(), None);
    }

    #[test]
    fn a_probe_runs_at_once_then_every_interval_until_it_passes() {
        let mut r = ready(ReadyKind::Probe(tcp()));
        let t0 = Instant::now();
        assert_eq!(r.on_spawned(t0), [CheckEvent::StartProbe]);
        assert!(r.is_probing());
        assert_eq!(r.timer(), Some(t0 + READY_TIMEOUT));
        let t1 = t0 + 3 * MS;
        assert!(r.on_probe(false, t1).is_empty());
        assert!(!r.is_probing());
        assert_eq!(r.timer(), Some(t1 + FIRST_RETRY));
        assert!(r.on_timer(t1 + FIRST_RETRY - MS).is_empty());
        let t2 = t1 + FIRST_RETRY;
        assert_eq!(r.on_timer(t2), [CheckEvent::StartProbe]);
        assert_eq!(
            r.on_probe(true, t2 + 5 * MS),
            [CheckEvent::Ready {
                after: t2 + 5 * MS - t0
            }]
        );
        assert!(r.is_ready());
        assert!(
            r.on_probe(true, t2).is_empty(),
            "an outcome after ready is stale"
        );
    }

    #[test]
    fn retries_start_fast_and_double_up_to_the_interval() {
        let mut r = ready(ReadyKind::Probe(tcp()));
        let mut now = Instant::now();
        r.on_spawned(now);
        let mut gaps = Vec::new();
        for _ in 0..8 {
            r.on_probe(false, now);
            let next = r.timer().unwrap();
            gaps.push((next - now).as_millis());
            now = next;
            assert_eq!(r.on_timer(now), [CheckEvent::StartProbe]);
        }
        assert_eq!(gaps, [5, 10, 20, 40, 80, 160, 200, 200]);
        // A new spawn starts the schedule over.
        r.on_exit();
        r.on_spawned(now);
        r.on_probe(false, now);
        assert_eq!(r.timer(), Some(now + FIRST_RETRY));
    }

    #[test]
    fn an_attempt_over_its_timeout_is_cancelled_and_the_next_one_scheduled() {
        let mut r = ready(ReadyKind::Probe(tcp()));
        let t0 = Instant::now();
        r.on_spawned(t0);
        let t1 = t0 + READY_TIMEOUT;
        assert_eq!(r.on_timer(t1), [CheckEvent::CancelProbe]);
        assert_eq!(r.timer(), Some(t1 + FIRST_RETRY));
        assert!(
            r.on_probe(true, t1).is_empty(),
            "the cancelled attempt's outcome"
        );
        assert!(!r.is_ready());
    }

    #[test]
    fn not_ready_within_its_time_is_a_timeout_once() {
        let mut r = Readiness::new(ReadySpec {
            kind: ReadyKind::Probe(tcp()),
            within: 500 * MS,
            timeout: 1_000 * MS,
            ..ReadySpec::default()
        });
        let t0 = Instant::now();
        r.on_spawned(t0);
        assert_eq!(
            r.timer(),
            Some(t0 + 500 * MS),
            "within comes before the timeout"
        );
        assert_eq!(
            r.on_timer(t0 + 500 * MS),
            [CheckEvent::CancelProbe, CheckEvent::NotReadyWithin]
        );
        assert_eq!(r.timer(), None);
        assert!(r.on_timer(t0 + 900 * MS).is_empty());
        assert!(r.on_probe(true, t0 + 900 * MS).is_empty());
        assert!(!r.is_ready());
        // The retry starts over.
        r.on_exit();
        assert_eq!(r.on_spawned(t0 + 2_000 * MS), [CheckEvent::StartProbe]);
    }

    #[test]
    fn an_fd_or_a_log_line_is_ready_when_signalled_once() {
        for kind in [
            ReadyKind::Notify,
            ReadyKind::Fd(3),
            ReadyKind::Log("up".into()),
        ] {
            let mut r = ready(kind);
            let t0 = Instant::now();
            assert!(r.on_spawned(t0).is_empty());
            assert!(r.on_running(t0).is_empty());
            assert_eq!(
                r.on_signalled(t0 + 7 * MS),
                [CheckEvent::Ready { after: 7 * MS }]
            );
            assert!(
                r.on_signalled(t0 + 8 * MS).is_empty(),
                "the line may repeat"
            );
        }
    }

    #[test]
    fn an_exit_voids_the_attempt_and_a_signal_before_the_spawn_is_ignored() {
        let mut r = ready(ReadyKind::Probe(tcp()));
        let t0 = Instant::now();
        r.on_spawned(t0);
        assert_eq!(r.on_exit(), [CheckEvent::CancelProbe]);
        assert_eq!(r.timer(), None);
        let mut r = ready(ReadyKind::Log("up".into()));
        assert!(r.on_signalled(t0).is_empty());
        assert!(!r.is_ready());
    }

    #[test]
    fn health_checks_start_one_interval_after_ready() {
        let mut h = health(3);
        let t0 = Instant::now();
        assert_eq!(h.timer(), None);
        h.on_ready(t0);
        assert_eq!(h.timer(), Some(t0 + 10_000 * MS));
        assert!(h.on_timer(t0 + 9_999 * MS).is_empty());
        assert_eq!(h.on_timer(t0 + 10_000 * MS), [CheckEvent::StartProbe]);
        assert!(h.on_probe(Ok(()), t0 + 10_001 * MS).is_empty());
        assert_eq!(h.timer(), Some(t0 + 20_001 * MS));
    }

    #[test]
    fn failures_in_a_row_make_it_unhealthy_and_a_pass_resets_the_count() {
        let mut h = health(3);
        let t0 = Instant::now();
        h.on_ready(t0);
        let mut now = t0;
        let fail = |h: &mut Health, now: &mut Instant| {
            *now += 10_000 * MS;
            assert_eq!(h.on_timer(*now), [CheckEvent::StartProbe]);
            h.on_probe(Err("connection refused".into()), *now)
        };
        let failed = |n| CheckEvent::HealthFailed {
            reason: "connection refused".into(),
            in_a_row: n,
            of: 3,
        };
        assert_eq!(fail(&mut h, &mut now), [failed(1)]);
        assert_eq!(h.failures_in_a_row, 1);
        assert_eq!(fail(&mut h, &mut now), [failed(2)]);
        now += 10_000 * MS;
        h.on_timer(now);
        assert_eq!(h.on_probe(Ok(()), now), [CheckEvent::Healthy]);
        assert_eq!(h.failures_in_a_row, 0);
        assert_eq!(fail(&mut h, &mut now), [failed(1)]);
        assert_eq!(fail(&mut h, &mut now), [failed(2)]);
        assert_eq!(fail(&mut h, &mut now), [failed(3), CheckEvent::Unhealthy]);
        assert_eq!(h.timer(), None, "no checks while it restarts");
    }

    #[test]
    fn a_health_attempt_over_its_timeout_counts_as_a_failure() {
        let mut h = health(1);
        let t0 = Instant::now();
        h.on_ready(t0);
        h.on_timer(t0 + 10_000 * MS);
        assert_eq!(
            h.on_timer(t0 + 11_000 * MS),
            [
                CheckEvent::CancelProbe,
                CheckEvent::HealthFailed {
                    reason: "timed out".into(),
                    in_a_row: 1,
                    of: 1
                },
                CheckEvent::Unhealthy
            ]
        );
    }

    #[test]
    fn a_health_outcome_after_the_exit_is_stale() {
        let mut h = health(1);
        let t0 = Instant::now();
        h.on_ready(t0);
        h.on_timer(t0 + 10_000 * MS);
        assert_eq!(h.on_exit(), [CheckEvent::CancelProbe]);
        assert!(h.on_probe(Err("x".into()), t0 + 10_001 * MS).is_empty());
        assert_eq!(h.timer(), None);
    }
}
