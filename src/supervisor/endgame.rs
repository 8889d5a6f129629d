//! The shutdown endgame both modes share, as a pure state machine: stop rinit's own
//! processes within one grace budget, SIGTERM what they left behind, SIGKILL everything
//! when the budget is spent or a second stop signal arrives, and exit once nothing is
//! left, or [`KILL_WAIT`] after SIGKILL whatever survived.
//!
//! ```text
//! Running ──stop request──► Delaying ──stop_delay, or a 2nd request──► Stopping
//!    │      (stop_delay > 0: not ready, traffic drains; part of the grace budget)
//! Running ──stop request / shutdown──► Stopping ──own gone, others left──► Draining
//!    │  (deadline = now + grace)          │      (SIGTERM the rest, deadline kept)│
//!    └──own gone, others left (deadline = now + grace)───────────────────────────►┤
//!                                         │                                       │
//!        2nd stop request or deadline ────┴───────────────► Killing ◄─────────────┘
//!                                                (SIGKILL; again while any remain)
//!   nothing left (any phase) ──► Done (exit)      Killing ──KILL_WAIT──► Done (report)
//! ```
//!
//! What "stop the own processes" means is the mode's business ([`Step::StopOwn`]):
//! forward the signal to the one child, or stop the programs' priority levels in
//! reverse. The exit code is the mode's business too: [`Step::Exit`] carries none.

use std::time::{Duration, Instant};

/// How long rinit waits for processes to disappear after SIGKILL before it exits anyway.
/// SIGKILL is final; only a process stuck in the kernel (D state, a hung NFS mount) or
/// one rinit could not signal outlives it, and waiting forever would hang the container.
pub const KILL_WAIT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nothing asked for a stop yet.
    Running,
    /// An outside stop request arrived; rinit reports itself not ready and waits
    /// `stop_delay` (the drain delay) before it stops anything.
    Delaying,
    /// rinit's own processes are being stopped; the grace deadline runs.
    Stopping,
    /// rinit's own processes are gone; what they left behind was sent SIGTERM.
    Draining,
    /// Everything was sent SIGKILL; waiting at most [`KILL_WAIT`] for the last reap.
    Killing,
    /// rinit is exiting.
    Done,
}

/// What happened, as far as the endgame is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// SIGTERM or SIGINT reached rinit.
    StopRequest,
    /// Something other than a signal decided on a shutdown (a program ended for good).
    Shutdown,
    /// rinit's own processes (the child, or every program) are gone; `others_left`:
    /// whether rinit still has any child (leftovers, orphans).
    OwnGone { others_left: bool },
    /// A reaping pass finished; `children_left`: whether rinit still has any child.
    Reaped { children_left: bool },
    /// The time from [`Endgame::deadline`] has come (a call before it changes nothing).
    Deadline,
}

/// What the mode must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Begin stopping rinit's own processes, the mode's way.
    StopOwn,
    /// SIGTERM then SIGCONT to every remaining descendant (stopped ones must wake up
    /// to die gracefully).
    TerminateRest,
    /// SIGKILL to everything, and say why.
    Kill(KillReason),
    /// SIGKILL again: something may have forked between the last scan and the kill.
    KillAgain,
    /// Exit rinit.
    Exit,
    /// Processes survived SIGKILL for [`KILL_WAIT`]: report them, then exit regardless.
    ExitDespiteSurvivors,
}

/// Why the endgame escalated to SIGKILL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillReason {
    GraceExpired,
    RepeatedStopSignal,
}

pub struct Endgame {
    grace: Duration,
    stop_delay: Duration,
    phase: Phase,
    /// When the next Deadline event is due: the end of the drain delay, of the grace
    /// budget, or of the wait after SIGKILL.
    deadline: Option<Instant>,
    /// The end of the grace budget, once a shutdown began.
    grace_end: Option<Instant>,
    /// SIGTERM/SIGINT received so far: the second one kills at once.
    stop_requests: u32,
}

impl Endgame {
    pub fn new(grace: Duration, stop_delay: Duration) -> Self {
        Endgame {
            grace,
            stop_delay,
            phase: Phase::Running,
            deadline: None,
            grace_end: None,
            stop_requests: 0,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When [`Event::Deadline`] is due, if ever; `None` lets rinit sleep until a signal.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether signals other than stop requests still go to rinit's own processes:
    /// not once they are gone (leftovers get only the endgame's signals).
    pub fn forwards_signals(&self) -> bool {
        matches!(
            self.phase,
            Phase::Running | Phase::Delaying | Phase::Stopping
        )
    }

    /// Decides every phase × event pair; see the module's diagram. At most one step.
    pub fn on(&mut self, event: Event, now: Instant) -> Option<Step> {
        use Event::*;
        use Phase::*;
        if event == StopRequest {
            self.stop_requests = self.stop_requests.saturating_add(1);
        }
        match (self.phase, event) {
            (Running, StopRequest) if !self.stop_delay.is_zero() => {
                self.grace_end = self.grace_deadline(now);
                let delay_end = now.checked_add(self.stop_delay);
                self.deadline = match (delay_end, self.grace_end) {
                    (Some(delay), Some(grace)) => Some(delay.min(grace)),
                    (delay, grace) => delay.or(grace),
                };
                self.phase = Delaying;
                None
            }
            (Running, StopRequest | Shutdown) => {
                self.grace_end = self.grace_deadline(now);
                self.stop_own()
            }
            // The drain delay ends early on a second request, or when it is over; a
            // program ending meanwhile changes nothing (the stop is coming anyway).
            (Delaying, StopRequest) => self.stop_own(),
            (Delaying, Deadline) if self.is_due(now) => self.stop_own(),
            (Delaying, Deadline | Shutdown | Reaped { .. }) => None,
            // A first stop request during a shutdown with another cause keeps the
            // deadline; only a second one kills at once.
            (Stopping | Draining, StopRequest) if self.stop_requests >= 2 => {
                self.kill(KillReason::RepeatedStopSignal, now)
            }
            (Stopping | Draining, StopRequest) | (Killing | Done, StopRequest) => None,
            (Stopping | Draining | Killing | Done, Shutdown) => None,
            (
                Running | Delaying | Stopping | Draining | Killing,
                OwnGone { others_left: false },
            ) => self.finish(),
            (Done, OwnGone { .. }) => None,
            (Running, OwnGone { others_left: true }) => {
                self.grace_end = self.grace_deadline(now);
                self.deadline = self.grace_end;
                self.phase = Draining;
                Some(Step::TerminateRest)
            }
            // A stop under way keeps its deadline: the grace period is one budget for
            // the whole shutdown, not one per step.
            (Delaying | Stopping, OwnGone { others_left: true }) => {
                self.deadline = self.grace_end;
                self.phase = Draining;
                Some(Step::TerminateRest)
            }
            (Draining, OwnGone { others_left: true }) => None,
            (Killing, OwnGone { others_left: true }) => Some(Step::KillAgain),
            // While the own processes run, reaps are the mode's business (orphans, a
            // restart); it reports OwnGone when they are all gone.
            (Running | Stopping, Reaped { .. }) => None,
            (
                Draining | Killing,
                Reaped {
                    children_left: false,
                },
            ) => self.finish(),
            (
                Draining,
                Reaped {
                    children_left: true,
                },
            ) => None,
            (
                Killing,
                Reaped {
                    children_left: true,
                },
            ) => Some(Step::KillAgain),
            (Done, Reaped { .. }) => None,
            (Running | Done, Deadline) => None,
            (Stopping | Draining | Killing, Deadline) if !self.is_due(now) => None,
            (Stopping | Draining, Deadline) => self.kill(KillReason::GraceExpired, now),
            (Killing, Deadline) => {
                self.finish();
                Some(Step::ExitDespiteSurvivors)
            }
        }
    }

    fn stop_own(&mut self) -> Option<Step> {
        self.phase = Phase::Stopping;
        self.deadline = self.grace_end;
        Some(Step::StopOwn)
    }

    fn is_due(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|deadline| now >= deadline)
    }

    /// `now + grace`; an absurd grace that overflows the clock means no deadline.
    fn grace_deadline(&self, now: Instant) -> Option<Instant> {
        now.checked_add(self.grace)
    }

    fn kill(&mut self, reason: KillReason, now: Instant) -> Option<Step> {
        self.phase = Phase::Killing;
        self.deadline = now.checked_add(KILL_WAIT);
        Some(Step::Kill(reason))
    }

    fn finish(&mut self) -> Option<Step> {
        self.phase = Phase::Done;
        self.deadline = None;
        Some(Step::Exit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(8);
    const DELAY: Duration = Duration::from_secs(3);
    const EVENTS: [Event; 7] = [
        Event::StopRequest,
        Event::Shutdown,
        Event::OwnGone { others_left: true },
        Event::OwnGone { others_left: false },
        Event::Reaped {
            children_left: true,
        },
        Event::Reaped {
            children_left: false,
        },
        Event::Deadline,
    ];

    /// The steps an event leads to, and the phase after it.
    type Outcome = (Option<Step>, Phase);

    /// An endgame brought into `phase` the way a run would, at `t0`.
    fn in_phase(phase: Phase, t0: Instant) -> Endgame {
        let delay = if phase == Phase::Delaying {
            DELAY
        } else {
            Duration::ZERO
        };
        let mut e = Endgame::new(GRACE, delay);
        match phase {
            Phase::Running => {}
            Phase::Delaying => {
                e.on(Event::StopRequest, t0);
            }
            Phase::Stopping => {
                e.on(Event::Shutdown, t0);
            }
            Phase::Draining => {
                e.on(Event::OwnGone { others_left: true }, t0);
            }
            Phase::Killing => {
                e.on(Event::Shutdown, t0);
                e.on(Event::Deadline, t0 + GRACE);
            }
            Phase::Done => {
                e.on(Event::OwnGone { others_left: false }, t0);
            }
        }
        assert_eq!(e.phase(), phase);
        e
    }

    #[test]
    fn every_phase_and_event_pair_has_the_decided_outcome() {
        use Phase::*;
        use Step::*;
        let t0 = Instant::now();
        // (phase, event index in EVENTS) → (steps, phase after), with the event at the
        // phase's deadline where it has one.
        let table: [(Phase, [Outcome; 7]); 6] = [
            (
                Running,
                [
                    (Some(StopOwn), Stopping),
                    (Some(StopOwn), Stopping),
                    (Some(TerminateRest), Draining),
                    (Some(Exit), Done),
                    (None, Running),
                    (None, Running),
                    (None, Running),
                ],
            ),
            (
                Delaying,
                [
                    (Some(StopOwn), Stopping), // a second request skips the delay
                    (None, Delaying),
                    (Some(TerminateRest), Draining),
                    (Some(Exit), Done),
                    (None, Delaying),
                    (None, Delaying),
                    (Some(StopOwn), Stopping),
                ],
            ),
            (
                Stopping,
                [
                    (None, Stopping), // the first stop request: the shutdown had a cause
                    (None, Stopping),
                    (Some(TerminateRest), Draining),
                    (Some(Exit), Done),
                    (None, Stopping),
                    (None, Stopping),
                    (Some(Kill(KillReason::GraceExpired)), Killing),
                ],
            ),
            (
                Draining,
                [
                    (None, Draining),
                    (None, Draining),
                    (None, Draining),
                    (Some(Exit), Done),
                    (None, Draining),
                    (Some(Exit), Done),
                    (Some(Kill(KillReason::GraceExpired)), Killing),
                ],
            ),
            (
                Killing,
                [
                    (None, Killing),
                    (None, Killing),
                    (Some(KillAgain), Killing),
                    (Some(Exit), Done),
                    (Some(KillAgain), Killing),
                    (Some(Exit), Done),
                    (Some(ExitDespiteSurvivors), Done),
                ],
            ),
            (
                Done,
                [
                    (None, Done),
                    (None, Done),
                    (None, Done),
                    (None, Done),
                    (None, Done),
                    (None, Done),
                    (None, Done),
                ],
            ),
        ];
        for (phase, outcomes) in table {
            for (event, (steps, after)) in EVENTS.into_iter().zip(outcomes) {
                let mut e = in_phase(phase, t0);
                let at = e.deadline().unwrap_or(t0);
                assert_eq!(e.on(event, at), steps, "{phase:?} × {event:?}");
                assert_eq!(e.phase(), after, "{phase:?} × {event:?}");
            }
        }
    }

    #[test]
    fn a_deadline_event_before_the_deadline_changes_nothing() {
        let t0 = Instant::now();
        for phase in [Phase::Stopping, Phase::Draining, Phase::Killing] {
            let mut e = in_phase(phase, t0);
            let early = e.deadline().map(|d| d - Duration::from_millis(1));
            assert_eq!(e.on(Event::Deadline, early.unwrap_or(t0)), None);
            assert_eq!(e.phase(), phase);
        }
    }

    #[test]
    fn one_grace_budget_for_the_whole_shutdown() {
        let t0 = Instant::now();
        let mut e = Endgame::new(GRACE, Duration::ZERO);
        e.on(Event::StopRequest, t0);
        assert_eq!(e.deadline(), Some(t0 + GRACE));
        let later = t0 + Duration::from_secs(3);
        e.on(Event::OwnGone { others_left: true }, later);
        assert_eq!(e.deadline(), Some(t0 + GRACE), "kept, not restarted");
        assert_eq!(
            e.on(Event::Deadline, t0 + GRACE),
            Some(Step::Kill(KillReason::GraceExpired))
        );
        assert_eq!(e.deadline(), Some(t0 + GRACE + KILL_WAIT));
    }

    #[test]
    fn leftovers_of_a_child_that_ended_by_itself_get_a_fresh_budget() {
        let t0 = Instant::now();
        let mut e = Endgame::new(GRACE, Duration::ZERO);
        let t1 = t0 + Duration::from_secs(100);
        e.on(Event::OwnGone { others_left: true }, t1);
        assert_eq!(e.deadline(), Some(t1 + GRACE));
    }

    #[test]
    fn the_second_stop_request_kills_whatever_caused_the_first() {
        let t0 = Instant::now();
        let mut e = Endgame::new(GRACE, Duration::ZERO);
        assert_eq!(e.on(Event::StopRequest, t0), Some(Step::StopOwn));
        assert_eq!(
            e.on(Event::StopRequest, t0),
            Some(Step::Kill(KillReason::RepeatedStopSignal))
        );
        // Leftovers draining after a stop: the second request still kills.
        let mut e = Endgame::new(GRACE, Duration::ZERO);
        e.on(Event::StopRequest, t0);
        e.on(Event::OwnGone { others_left: true }, t0);
        assert_eq!(
            e.on(Event::StopRequest, t0),
            Some(Step::Kill(KillReason::RepeatedStopSignal))
        );
    }

    #[test]
    fn the_drain_delay_is_part_of_the_grace_budget() {
        let t0 = Instant::now();
        let mut e = Endgame::new(GRACE, DELAY);
        assert_eq!(e.on(Event::StopRequest, t0), None);
        assert_eq!(e.phase(), Phase::Delaying);
        assert_eq!(e.deadline(), Some(t0 + DELAY));
        assert_eq!(
            e.on(Event::Deadline, t0 + DELAY - Duration::from_millis(1)),
            None
        );
        assert_eq!(e.on(Event::Deadline, t0 + DELAY), Some(Step::StopOwn));
        assert_eq!(e.deadline(), Some(t0 + GRACE), "not t0 + DELAY + GRACE");
        // A delay longer than the budget ends with it.
        let mut e = Endgame::new(GRACE, 2 * GRACE);
        e.on(Event::StopRequest, t0);
        assert_eq!(e.deadline(), Some(t0 + GRACE));
        assert_eq!(e.on(Event::Deadline, t0 + GRACE), Some(Step::StopOwn));
        assert_eq!(
            e.on(Event::Deadline, t0 + GRACE),
            Some(Step::Kill(KillReason::GraceExpired))
        );
    }

    #[test]
    fn a_shutdown_caused_by_a_program_does_not_wait_the_drain_delay() {
        let t0 = Instant::now();
        let mut e = Endgame::new(GRACE, DELAY);
        assert_eq!(e.on(Event::Shutdown, t0), Some(Step::StopOwn));
    }

    #[test]
    fn after_a_skipped_delay_the_next_request_kills() {
        let t0 = Instant::now();
        let mut e = Endgame::new(GRACE, DELAY);
        e.on(Event::StopRequest, t0);
        assert_eq!(e.on(Event::StopRequest, t0), Some(Step::StopOwn));
        assert_eq!(
            e.on(Event::StopRequest, t0),
            Some(Step::Kill(KillReason::RepeatedStopSignal))
        );
    }

    #[test]
    fn signals_are_forwarded_only_while_the_own_processes_live() {
        let t0 = Instant::now();
        let forwards = |phase| in_phase(phase, t0).forwards_signals();
        assert!(forwards(Phase::Running) && forwards(Phase::Stopping));
        assert!(forwards(Phase::Delaying));
        assert!(!forwards(Phase::Draining) && !forwards(Phase::Killing));
        assert!(!forwards(Phase::Done));
    }

    #[test]
    fn an_absurd_grace_period_means_no_deadline_instead_of_a_panic() {
        let t0 = Instant::now();
        let mut e = Endgame::new(Duration::MAX, Duration::ZERO);
        e.on(Event::StopRequest, t0);
        assert_eq!(e.deadline(), None);
        assert_eq!(e.on(Event::Deadline, t0), None);
    }
}
