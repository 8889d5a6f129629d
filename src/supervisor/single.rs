//! The decisions of single-command mode (`rinit -- CMD`), as a pure state machine.
//!
//! Events come in with the current time; actions come out. No syscalls, no clock: the
//! driver in `driver/single.rs` performs the actions and feeds back what happened. The
//! shutdown itself is the shared [`Endgame`]; what is single-command mode's own: every
//! forwardable signal goes to the child, a stop request is forwarded as it came (SIGINT
//! stays SIGINT, as with tini), and rinit exits with the child's code.
//!
//! ```text
//! Running ──TERM/INT──► Stopping ──child exits──► Draining ──all gone──► exit(child's code)
//!    │                     │  (deadline = now+grace)   │ (TERM+CONT to the rest,
//!    │                     │                           │  deadline kept or now+grace)
//!    └──child exits────────┼──────────────────────────►┘
//!                          └─2nd TERM/INT or deadline─► Killing ──all gone──► exit
//!                                                          └──KILL_WAIT passes──► exit anyway
//! ```

use std::time::{Duration, Instant};

use libc::c_int;

use super::endgame::{Endgame, Event, Step};
#[cfg(test)]
use super::endgame::{KILL_WAIT, Phase};
use crate::plain::ExitStatus;
use crate::plain::signal;

pub use super::endgame::KillReason;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Pass this signal on to the child (or its group, as configured).
    Forward(c_int),
    /// SIGTERM then SIGCONT to every remaining descendant (stopped ones must wake up to
    /// die gracefully).
    TerminateRest,
    /// SIGKILL to the child's process group and to every descendant.
    KillEverything,
    /// Processes survived SIGKILL for [`KILL_WAIT`](super::endgame::KILL_WAIT): report them, then exit regardless.
    ReportSurvivors,
    /// Exit rinit with this code.
    Exit(i32),
}

pub struct Policy {
    endgame: Endgame,
    /// The child's status, once it was reaped.
    status: Option<ExitStatus>,
    kill_reason: Option<KillReason>,
    /// The first stop request: forwarded as it came, also after a drain delay.
    stop_signal: Option<c_int>,
}

impl Policy {
    /// `stop_delay`: the drain delay before a stop request is forwarded.
    pub fn new(grace: Duration, stop_delay: Duration) -> Self {
        Policy {
            endgame: Endgame::new(grace, stop_delay),
            status: None,
            kill_reason: None,
            stop_signal: None,
        }
    }

    #[cfg(test)]
    pub fn phase(&self) -> Phase {
        self.endgame.phase()
    }

    /// When the driver must call [`Policy::on_deadline`], if ever. `None` means rinit may
    /// sleep until a signal arrives.
    pub fn deadline(&self) -> Option<Instant> {
        self.endgame.deadline()
    }

    pub fn kill_reason(&self) -> Option<KillReason> {
        self.kill_reason
    }

    /// A signal was delivered to rinit.
    pub fn on_signal(&mut self, sig: c_int, now: Instant) -> Vec<Action> {
        if signal::is_stop_request(sig) {
            let step = self.endgame.on(Event::StopRequest, now);
            let first = *self.stop_signal.get_or_insert(sig);
            return self.perform(step, first);
        }
        if signal::is_forwarded(sig) && self.endgame.forwards_signals() {
            vec![Action::Forward(sig)]
        } else {
            Vec::new()
        }
    }

    /// A reaping pass finished. `child` is the main child's status if it was reaped in
    /// this pass; `others_left` tells whether rinit still has any child at all.
    pub fn on_reaped(
        &mut self,
        child: Option<ExitStatus>,
        others_left: bool,
        now: Instant,
    ) -> Vec<Action> {
        let event = match child {
            Some(status) => {
                self.status = Some(status);
                Event::OwnGone { others_left }
            }
            None => Event::Reaped {
                children_left: others_left,
            },
        };
        let step = self.endgame.on(event, now);
        self.perform(step, self.stop_signal.unwrap_or(libc::SIGTERM))
    }

    /// The deadline returned by [`Policy::deadline`] has passed.
    pub fn on_deadline(&mut self, now: Instant) -> Vec<Action> {
        let step = self.endgame.on(Event::Deadline, now);
        self.perform(step, self.stop_signal.unwrap_or(libc::SIGTERM))
    }

    /// The child's code; 137 while it was never reaped (it was SIGKILLed, and may be
    /// the survivor itself).
    fn exit_code(&self) -> i32 {
        self.status.map_or(128 + libc::SIGKILL, ExitStatus::code)
    }

    /// The endgame's step, in single-command mode's terms. `stop_signal`: the signal
    /// that asked for the stop, forwarded as it came.
    fn perform(&mut self, step: Option<Step>, stop_signal: c_int) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(step) = step {
            match step {
                Step::StopOwn => {
                    let sig = stop_signal;
                    // SIGCONT too: a stopped child (Ctrl-Z, SIGSTOP) could not act on it.
                    actions.extend([Action::Forward(sig), Action::Forward(libc::SIGCONT)]);
                }
                Step::TerminateRest => actions.push(Action::TerminateRest),
                Step::Kill(reason) => {
                    self.kill_reason = Some(reason);
                    actions.push(Action::KillEverything);
                }
                Step::KillAgain => actions.push(Action::KillEverything),
                Step::Exit => actions.push(Action::Exit(self.exit_code())),
                Step::ExitDespiteSurvivors => {
                    actions.extend([Action::ReportSurvivors, Action::Exit(self.exit_code())])
                }
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(8);

    fn start() -> (Policy, Instant) {
        (Policy::new(GRACE, Duration::ZERO), Instant::now())
    }

    #[test]
    fn child_exit_with_nothing_left_exits_with_its_code() {
        let (mut p, t0) = start();
        assert_eq!(
            p.on_reaped(Some(ExitStatus::Exited(3)), false, t0),
            vec![Action::Exit(3)]
        );
        assert_eq!(p.phase(), Phase::Done);
    }

    #[test]
    fn death_by_signal_exits_128_plus_n() {
        let (mut p, t0) = start();
        let status = ExitStatus::Signaled(libc::SIGUSR1);
        assert_eq!(
            p.on_reaped(Some(status), false, t0),
            vec![Action::Exit(138)]
        );
    }

    #[test]
    fn orphans_reaped_while_running_change_nothing() {
        let (mut p, t0) = start();
        assert!(p.on_reaped(None, true, t0).is_empty());
        assert_eq!(p.phase(), Phase::Running);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn forwards_every_forwardable_signal_while_running() {
        let (mut p, t0) = start();
        for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGWINCH, 34] {
            assert_eq!(p.on_signal(sig, t0), vec![Action::Forward(sig)]);
        }
        assert!(p.on_signal(libc::SIGCHLD, t0).is_empty());
        assert!(p.on_signal(libc::SIGPIPE, t0).is_empty());
        assert_eq!(p.phase(), Phase::Running);
    }

    #[test]
    fn stop_signal_forwards_and_arms_the_grace_deadline() {
        let (mut p, t0) = start();
        assert_eq!(
            p.on_signal(libc::SIGTERM, t0),
            vec![
                Action::Forward(libc::SIGTERM),
                Action::Forward(libc::SIGCONT)
            ]
        );
        assert_eq!(p.phase(), Phase::Stopping);
        assert_eq!(p.deadline(), Some(t0 + GRACE));
        // Other signals are still forwarded while stopping.
        assert_eq!(
            p.on_signal(libc::SIGUSR2, t0),
            vec![Action::Forward(libc::SIGUSR2)]
        );
    }

    #[test]
    fn deadline_escalates_to_kill_but_not_before() {
        let (mut p, t0) = start();
        p.on_signal(libc::SIGINT, t0);
        assert!(
            p.on_deadline(t0 + GRACE - Duration::from_millis(1))
                .is_empty()
        );
        assert_eq!(p.on_deadline(t0 + GRACE), vec![Action::KillEverything]);
        assert_eq!(p.phase(), Phase::Killing);
        assert_eq!(p.kill_reason(), Some(KillReason::GraceExpired));
        assert_eq!(p.deadline(), Some(t0 + GRACE + KILL_WAIT));
        let killed = ExitStatus::Signaled(libc::SIGKILL);
        assert_eq!(
            p.on_reaped(Some(killed), false, t0 + GRACE),
            vec![Action::Exit(137)]
        );
    }

    #[test]
    fn second_stop_signal_kills_at_once() {
        let (mut p, t0) = start();
        p.on_signal(libc::SIGINT, t0);
        assert_eq!(
            p.on_signal(libc::SIGINT, t0 + Duration::from_millis(5)),
            vec![Action::KillEverything]
        );
        assert_eq!(p.kill_reason(), Some(KillReason::RepeatedStopSignal));
        // Further stop signals while killing do nothing more.
        assert!(p.on_signal(libc::SIGTERM, t0).is_empty());
    }

    #[test]
    fn leftovers_after_child_exit_get_term_then_kill_at_deadline() {
        let (mut p, t0) = start();
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            p.on_reaped(Some(ExitStatus::Exited(5)), true, t1),
            vec![Action::TerminateRest]
        );
        assert_eq!(p.phase(), Phase::Draining);
        assert_eq!(p.deadline(), Some(t1 + GRACE));
        // Non-stop signals are not forwarded to leftovers.
        assert!(p.on_signal(libc::SIGHUP, t1).is_empty());
        assert_eq!(p.on_deadline(t1 + GRACE), vec![Action::KillEverything]);
        // Something forked in between: kill again on the next reap.
        assert_eq!(p.on_reaped(None, true, t1), vec![Action::KillEverything]);
        // The code is still the main child's, not the leftovers'.
        assert_eq!(p.on_reaped(None, false, t1), vec![Action::Exit(5)]);
    }

    #[test]
    fn leftovers_that_exit_on_term_end_it_with_the_childs_code() {
        let (mut p, t0) = start();
        p.on_reaped(Some(ExitStatus::Exited(5)), true, t0);
        assert!(p.on_reaped(None, true, t0).is_empty());
        assert_eq!(p.on_reaped(None, false, t0), vec![Action::Exit(5)]);
    }

    #[test]
    fn stop_keeps_one_deadline_for_the_whole_shutdown() {
        let (mut p, t0) = start();
        p.on_signal(libc::SIGTERM, t0);
        let t1 = t0 + Duration::from_secs(3);
        let status = ExitStatus::Signaled(libc::SIGTERM);
        assert_eq!(
            p.on_reaped(Some(status), true, t1),
            vec![Action::TerminateRest]
        );
        assert_eq!(p.deadline(), Some(t0 + GRACE));
        assert_eq!(p.on_reaped(None, false, t1), vec![Action::Exit(143)]);
    }

    #[test]
    fn first_stop_signal_while_draining_keeps_the_deadline_and_a_second_kills() {
        let (mut p, t0) = start();
        p.on_reaped(Some(ExitStatus::Exited(0)), true, t0);
        let t1 = t0 + Duration::from_millis(500);
        assert!(p.on_signal(libc::SIGTERM, t1).is_empty());
        assert_eq!(p.phase(), Phase::Draining);
        assert_eq!(p.deadline(), Some(t0 + GRACE));
        assert_eq!(p.on_signal(libc::SIGINT, t1), vec![Action::KillEverything]);
        assert_eq!(p.kill_reason(), Some(KillReason::RepeatedStopSignal));
    }

    #[test]
    fn stop_then_child_exit_then_stop_again_kills() {
        let (mut p, t0) = start();
        p.on_signal(libc::SIGTERM, t0);
        p.on_reaped(Some(ExitStatus::Exited(0)), true, t0);
        assert_eq!(p.on_signal(libc::SIGTERM, t0), vec![Action::KillEverything]);
    }

    #[test]
    fn survivors_of_sigkill_do_not_keep_rinit_forever() {
        let (mut p, t0) = start();
        p.on_signal(libc::SIGTERM, t0);
        p.on_deadline(t0 + GRACE);
        assert!(p.on_deadline(t0 + GRACE + KILL_WAIT / 2).is_empty());
        assert_eq!(
            p.on_deadline(t0 + GRACE + KILL_WAIT),
            vec![Action::ReportSurvivors, Action::Exit(137)]
        );
        assert_eq!(p.phase(), Phase::Done);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn survivors_after_the_child_was_reaped_keep_the_childs_code() {
        let (mut p, t0) = start();
        p.on_reaped(Some(ExitStatus::Exited(4)), true, t0);
        p.on_deadline(t0 + GRACE);
        let end = t0 + GRACE + KILL_WAIT;
        assert_eq!(
            p.on_deadline(end),
            vec![Action::ReportSurvivors, Action::Exit(4)]
        );
    }

    #[test]
    fn an_absurd_grace_period_means_no_deadline_instead_of_a_panic() {
        let mut p = Policy::new(Duration::MAX, Duration::ZERO);
        let t0 = Instant::now();
        p.on_signal(libc::SIGTERM, t0);
        assert_eq!(p.deadline(), None);
        p.on_reaped(Some(ExitStatus::Exited(0)), true, t0);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn the_drain_delay_forwards_the_first_stop_signal_when_it_ends() {
        let mut p = Policy::new(GRACE, Duration::from_secs(3));
        let t0 = Instant::now();
        assert!(
            p.on_signal(libc::SIGINT, t0).is_empty(),
            "nothing during the delay"
        );
        assert_eq!(
            p.on_signal(libc::SIGHUP, t0),
            vec![Action::Forward(libc::SIGHUP)]
        );
        assert_eq!(p.deadline(), Some(t0 + Duration::from_secs(3)));
        assert_eq!(
            p.on_deadline(t0 + Duration::from_secs(3)),
            vec![
                Action::Forward(libc::SIGINT),
                Action::Forward(libc::SIGCONT)
            ]
        );
        assert_eq!(p.deadline(), Some(t0 + GRACE));
    }

    #[test]
    fn a_second_stop_signal_skips_the_drain_delay() {
        let mut p = Policy::new(GRACE, Duration::from_secs(3));
        let t0 = Instant::now();
        p.on_signal(libc::SIGTERM, t0);
        assert_eq!(
            p.on_signal(libc::SIGTERM, t0),
            vec![
                Action::Forward(libc::SIGTERM),
                Action::Forward(libc::SIGCONT)
            ]
        );
    }
}
