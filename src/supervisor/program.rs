//! One program's life, as a pure state machine with supervisord's states.
//!
//! Events come in with the current time (`now`); actions come out. No syscalls, no
//! clock reads: the driver spawns, signals and reaps, then reports back. Restart policy,
//! startsecs, startretries and the restart delay all live here.
//!
//! ```text
//!   STOPPED ─start─► (spawn) ─► STARTING ─startsecs─► RUNNING
//!                                  │ exit                │ exit
//!                                  ▼                     ▼
//!              FATAL ◄─retries─ BACKOFF ─delay─► spawn   EXITED ─restart policy─► spawn
//!                     exhausted                              (after the restart delay)
//!   STARTING/RUNNING ─stop─► STOPPING ─exit─► STOPPED   (SIGKILL after stopwaitsecs)
//! ```

use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use super::check::{CheckEvent, Health, Readiness};
use crate::config::{Autorestart, Kind, OnExit, ProgramSpec};
use crate::plain::ExitStatus;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Fork and exec the program; answer with `on_spawned` or `on_spawn_failed`.
    Spawn,
    /// Send a signal to the program's pid, or to its process group.
    Signal { sig: c_int, group: bool },
    /// SIGKILL what is left of the process group `pgid` (the program's own process is
    /// gone), if any of rinit's descendants is still in it.
    KillLingeringGroup { pgid: pid_t },
    /// Something worth a line on stderr.
    Notice(Notice),
    /// Start one attempt of this check's probe; answer with `on_probe`.
    StartProbe(Check),
    /// Drop the attempt under way (close its socket, kill its process).
    CancelProbe(Check),
}

/// Which of a program's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    Ready,
    Health,
}

/// What happens when a stop rinit began itself (not a shutdown) has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterStop {
    /// Stay stopped: a shutdown, or a stop asked for.
    Stay,
    /// Not ready within its time: a failed start (BACKOFF, or FATAL).
    FailedStart,
    /// Unhealthy: as if it had exited unexpectedly (the restart policy decides).
    Restart,
}

/// Events rinit reports about a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Started {
        pid: pid_t,
    },
    SpawnFailed {
        message: String,
    },
    Running,
    Exited {
        status: ExitStatus,
        expected: bool,
    },
    Restarting {
        delay: Duration,
        attempt: u32,
        of: Option<u32>,
    },
    GaveUp,
    Stopping {
        sig: c_int,
    },
    StopTimeout,
    Stopped {
        status: ExitStatus,
    },
    Done,
    Ready {
        after: Duration,
    },
    NotReady {
        within: Duration,
    },
    HealthFailed {
        reason: String,
        in_a_row: u32,
        of: u32,
    },
    Unhealthy,
    Healthy,
}

/// How a program ended for good (it will not be restarted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ending {
    pub code: i32,
    /// Ended as it should: an expected exit code (a finished oneshot, a service told
    /// not to restart). A FATAL program or an unexpected exit is not a success.
    pub success: bool,
}

pub struct Program {
    pub spec: ProgramSpec,
    state: State,
    pid: Option<pid_t>,
    started_at: Option<Instant>,
    /// Exits before `startsecs` since the last time the program reached RUNNING.
    failed_starts: u32,
    /// Restarts in a row without the program staying up `backoff.reset_after`.
    restarts_in_a_row: u32,
    /// When `on_timer` must be called: end of startsecs, end of a restart delay, or the
    /// stop timeout.
    timer: Option<Instant>,
    /// Set once rinit is shutting down: exits are final.
    no_restarts: bool,
    /// The process group of a program whose own process exited while stopping: its
    /// other members get SIGKILL when the stop timer runs out.
    lingering_group: Option<pid_t>,
    ending: Option<Ending>,
    readiness: Readiness,
    health: Option<Health>,
    after_stop: AfterStop,
    /// When the process last ended (for `rinit status`).
    ended_at: Option<Instant>,
    last_exit: Option<ExitStatus>,
    /// Why the last spawn failed, until the next spawn works.
    spawn_error: Option<String>,
    /// Processes started over the program's life.
    spawns: u32,
}

impl Program {
    pub fn new(spec: ProgramSpec) -> Self {
        Program {
            readiness: Readiness::new(spec.ready.clone()),
            health: spec.health.clone().map(Health::new),
            after_stop: AfterStop::Stay,
            spec,
            state: State::Stopped,
            pid: None,
            started_at: None,
            failed_starts: 0,
            restarts_in_a_row: 0,
            timer: None,
            no_restarts: false,
            lingering_group: None,
            ending: None,
            ended_at: None,
            last_exit: None,
            spawn_error: None,
            spawns: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// When the current process was started (the uptime's origin).
    pub fn started_at(&self) -> Option<Instant> {
        self.started_at
    }

    /// When the last process ended, and how.
    pub fn last_exit(&self) -> Option<(Instant, ExitStatus)> {
        self.ended_at.zip(self.last_exit)
    }

    /// Why the last spawn failed, if the program has not started since.
    pub fn spawn_error(&self) -> Option<&str> {
        self.spawn_error.as_deref()
    }

    /// Processes started after the first one: restarts, by policy or by request.
    pub fn restarts(&self) -> u32 {
        self.spawns.saturating_sub(1)
    }

    /// Its health check has failed `failures` times in a row (it is being restarted).
    pub fn is_unhealthy(&self) -> bool {
        self.health.as_ref().is_some_and(Health::is_unhealthy)
    }

    /// Whether it has a health check at all.
    pub fn has_health_check(&self) -> bool {
        self.health.is_some()
    }

    pub fn pid(&self) -> Option<pid_t> {
        self.pid
    }

    /// The nearest time `on_timer` must be called: its own timer or a check's.
    pub fn timer(&self) -> Option<Instant> {
        let checks = self.readiness.timer().into_iter();
        let checks = checks.chain(self.health.as_ref().and_then(Health::timer));
        checks.chain(self.timer).min()
    }

    /// Ready since its last spawn (see `ready`).
    pub fn is_ready(&self) -> bool {
        self.readiness.is_ready()
    }

    /// Set when the program has ended for good.
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// A process exists (or is being stopped).
    pub fn is_active(&self) -> bool {
        matches!(
            self.state,
            State::Starting | State::Running | State::Stopping
        )
    }

    /// Whether programs of the next priority may start: this one is a ready service, or
    /// has ended for good successfully (a oneshot that finished), or was never to be
    /// started.
    pub fn lets_next_priority_start(&self) -> bool {
        match self.state {
            State::Starting | State::Running if self.spec.kind == Kind::Service => self.is_ready(),
            State::Stopped => !self.spec.autostart,
            // With on_exit = "ignore" a failure is accepted: the rest goes on. (No
            // ending while it starts, backs off or is being stopped.)
            State::Starting
            | State::Running
            | State::Backoff
            | State::Stopping
            | State::Exited
            | State::Fatal => self
                .ending
                .is_some_and(|e| e.success || self.spec.on_exit == OnExit::Ignore),
        }
    }

    /// An operator's `start`: as [`Program::start`], and restarts are allowed again
    /// (an operator's `stop` forbade them). None: a process exists already.
    pub fn start_on_request(&mut self) -> Option<Vec<Action>> {
        if self.is_active() {
            return None;
        }
        self.no_restarts = false;
        self.after_stop = AfterStop::Stay;
        self.lingering_group = None;
        Some(self.start())
    }

    /// An operator's `stop`: as [`Program::stop`]; a pending restart is cancelled too.
    /// None: nothing to stop (no process, no restart pending).
    pub fn stop_on_request(&mut self, now: Instant) -> Option<Vec<Action>> {
        match self.state {
            State::Starting | State::Running | State::Stopping => Some(self.stop(now, None)),
            State::Backoff | State::Exited if self.ending.is_none() => Some(self.stop(now, None)),
            State::Backoff | State::Exited | State::Stopped | State::Fatal => None,
        }
    }

    /// Ready as far as the container is concerned: a service that is up and ready, or a
    /// oneshot that finished well.
    pub fn counts_as_ready(&self) -> bool {
        match self.spec.kind {
            Kind::Service => {
                matches!(self.state, State::Starting | State::Running) && self.is_ready()
            }
            Kind::Oneshot => self.ending.is_some_and(|e| e.success),
        }
    }

    /// Start the program (from STOPPED, EXITED, FATAL or BACKOFF).
    pub fn start(&mut self) -> Vec<Action> {
        match self.state {
            State::Stopped | State::Exited | State::Fatal | State::Backoff => {
                self.failed_starts = 0;
                self.ending = None;
                self.timer = None;
                vec![Action::Spawn]
            }
            // A process exists already, or is being stopped.
            State::Starting | State::Running | State::Stopping => Vec::new(),
        }
    }

    pub fn on_spawned(&mut self, pid: pid_t, now: Instant) -> Vec<Action> {
        self.pid = Some(pid);
        self.spawns = self.spawns.saturating_add(1);
        self.spawn_error = None;
        self.started_at = Some(now);
        let mut actions = vec![Action::Notice(Notice::Started { pid })];
        self.after_stop = AfterStop::Stay;
        let events = self.readiness.on_spawned(now);
        actions.extend(self.checked(Check::Ready, events, now));
        if self.spec.kind == Kind::Oneshot || self.spec.startsecs.is_zero() {
            // A oneshot is judged by its exit, not by how long it ran.
            self.state = if self.spec.kind == Kind::Oneshot {
                State::Starting
            } else {
                State::Running
            };
            self.timer = None;
            if self.state == State::Running {
                actions.push(Action::Notice(Notice::Running));
                let events = self.readiness.on_running(now);
                actions.extend(self.checked(Check::Ready, events, now));
                self.count_a_good_start();
            }
        } else {
            self.state = State::Starting;
            self.timer = now.checked_add(self.spec.startsecs);
        }
        actions
    }

    /// fork or exec failed (`code` is 127 or 126, as a shell would exit).
    pub fn on_spawn_failed(&mut self, code: i32, message: String, now: Instant) -> Vec<Action> {
        self.pid = None;
        self.started_at = Some(now);
        self.ended_at = Some(now);
        self.last_exit = Some(ExitStatus::Exited(code));
        self.spawn_error = Some(message.clone());
        let mut actions = vec![Action::Notice(Notice::SpawnFailed { message })];
        actions.extend(self.failed_start(ExitStatus::Exited(code), now));
        actions
    }

    /// The program's process was reaped.
    pub fn on_exit(&mut self, status: ExitStatus, now: Instant) -> Vec<Action> {
        if self.is_active() {
            self.ended_at = Some(now);
            self.last_exit = Some(status);
        }
        let pid = self.pid.take();
        let timer = self.timer.take();
        let stop_deadline = timer;
        let expected = self.spec.is_expected(status);
        let was_ready = self.readiness.is_ready();
        let mut actions = self.checks_void();
        if self.state == State::Starting
            && self.spec.kind == Kind::Service
            && timer.is_some_and(|t| now >= t)
        {
            // startsecs had elapsed when it exited; the timer just was not handled yet.
            self.state = State::Running;
            if was_ready {
                self.failed_starts = 0;
            }
            actions.push(Action::Notice(Notice::Running));
        }
        if self.state == State::Stopping {
            match std::mem::replace(&mut self.after_stop, AfterStop::Stay) {
                AfterStop::Stay => {}
                AfterStop::FailedStart => {
                    self.state = State::Starting;
                    self.timer = None;
                    actions.push(Action::Notice(Notice::Stopped { status }));
                    actions.extend(self.kill_rest_of_group(pid));
                    actions.extend(self.failed_start(status, now));
                    return actions;
                }
                // Judged like an unexpected exit of a RUNNING program.
                AfterStop::Restart => {
                    self.state = State::Running;
                    actions.extend(self.exit_from_state(status, false, pid, None, now));
                    return actions;
                }
            }
        }
        actions.extend(self.exit_from_state(status, expected, pid, stop_deadline, now));
        actions
    }

    fn exit_from_state(
        &mut self,
        status: ExitStatus,
        expected: bool,
        pid: Option<pid_t>,
        stop_deadline: Option<Instant>,
        now: Instant,
    ) -> Vec<Action> {
        match self.state {
            State::Stopping => {
                self.state = State::Stopped;
                // Children in its group got the stop signal too (stopasgroup); those
                // still alive at the stop deadline get the group SIGKILL all the same.
                if self.spec.killasgroup && stop_deadline.is_some() {
                    self.lingering_group = pid;
                    self.timer = stop_deadline;
                }
                vec![Action::Notice(Notice::Stopped { status })]
            }
            State::Starting if self.spec.kind == Kind::Oneshot => {
                let mut actions = vec![Action::Notice(Notice::Exited { status, expected })];
                if expected {
                    self.state = State::Exited;
                    self.ending = Some(Ending {
                        code: status.code(),
                        success: true,
                    });
                    actions.push(Action::Notice(Notice::Done));
                } else {
                    self.state = State::Fatal;
                    self.ending = Some(Ending {
                        code: fatal_code(status),
                        success: false,
                    });
                    actions.push(Action::Notice(Notice::GaveUp));
                }
                actions
            }
            State::Starting => {
                let mut actions = vec![Action::Notice(Notice::Exited { status, expected })];
                actions.extend(self.kill_rest_of_group(pid));
                actions.extend(self.failed_start(status, now));
                actions
            }
            State::Running => {
                let mut actions = vec![Action::Notice(Notice::Exited { status, expected })];
                actions.extend(self.kill_rest_of_group(pid));
                self.state = State::Exited;
                let restart = match self.spec.autorestart {
                    Autorestart::Always => true,
                    Autorestart::Never => false,
                    Autorestart::Unexpected => !expected,
                };
                if restart && !self.no_restarts {
                    let delay = self.next_delay(now);
                    self.timer = now.checked_add(delay);
                    actions.push(Action::Notice(Notice::Restarting {
                        delay,
                        attempt: self.restarts_in_a_row,
                        of: None,
                    }));
                } else {
                    self.ending = Some(Ending {
                        code: status.code(),
                        success: expected,
                    });
                    actions.push(Action::Notice(Notice::Done));
                }
                actions
            }
            // No process in these states: not a reap of ours; nothing to do.
            State::Stopped | State::Backoff | State::Exited | State::Fatal => Vec::new(),
        }
    }

    /// The time returned by [`Program::timer`] has come.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = self.own_timer(now);
        if self.readiness.timer().is_some_and(|at| now >= at) {
            let events = self.readiness.on_timer(now);
            actions.extend(self.checked(Check::Ready, events, now));
        }
        if let Some(health) = &mut self.health
            && health.timer().is_some_and(|at| now >= at)
        {
            let events = health.on_timer(now);
            actions.extend(self.checked(Check::Health, events, now));
        }
        actions
    }

    fn own_timer(&mut self, now: Instant) -> Vec<Action> {
        if self.timer.is_none_or(|at| now < at) {
            return Vec::new();
        }
        self.timer = None;
        match self.state {
            State::Starting => {
                self.state = State::Running;
                let mut actions = vec![Action::Notice(Notice::Running)];
                let events = self.readiness.on_running(now);
                actions.extend(self.checked(Check::Ready, events, now));
                self.count_a_good_start();
                actions
            }
            State::Backoff | State::Exited => vec![Action::Spawn],
            State::Stopped => match self.lingering_group.take() {
                Some(pgid) => vec![Action::KillLingeringGroup { pgid }],
                None => Vec::new(),
            },
            State::Stopping => vec![
                Action::Notice(Notice::StopTimeout),
                Action::Signal {
                    sig: libc::SIGKILL,
                    group: self.spec.killasgroup,
                },
            ],
            // No timer is armed in these states.
            State::Running | State::Fatal => Vec::new(),
        }
    }

    /// Stop the program: `stopsignal`, then SIGKILL after `stopwaitsecs`. A pending
    /// restart is cancelled. No restart happens afterwards.
    /// `cap`: SIGKILL no later than this, even if `stopwaitsecs` is longer (the
    /// supervisor shares the global grace period among the levels still to stop).
    pub fn stop(&mut self, now: Instant, cap: Option<Instant>) -> Vec<Action> {
        self.no_restarts = true;
        self.after_stop = AfterStop::Stay;
        self.begin_stop(now, cap)
    }

    fn begin_stop(&mut self, now: Instant, cap: Option<Instant>) -> Vec<Action> {
        match self.state {
            State::Starting | State::Running => {
                self.state = State::Stopping;
                let own = now.checked_add(self.spec.stopwaitsecs);
                self.timer = match (own, cap) {
                    (Some(own), Some(cap)) => Some(own.min(cap)),
                    (own, cap) => own.or(cap),
                };
                let sig = self.spec.stopsignal;
                let group = self.spec.stopasgroup;
                let mut actions = self.checks_void();
                actions.extend([
                    Action::Notice(Notice::Stopping { sig }),
                    Action::Signal { sig, group },
                ]);
                if sig != libc::SIGKILL && sig != libc::SIGCONT {
                    // A stopped (SIGSTOP, Ctrl-Z) program could not act on it.
                    actions.push(Action::Signal {
                        sig: libc::SIGCONT,
                        group,
                    });
                }
                actions
            }
            State::Backoff | State::Exited if self.ending.is_none() => {
                self.state = State::Stopped;
                self.timer = None;
                Vec::new()
            }
            // Nothing to stop: ended for good (the ending is kept), or already so.
            State::Backoff | State::Exited | State::Stopped | State::Stopping | State::Fatal => {
                Vec::new()
            }
        }
    }

    /// A service's process died on its own: what is left of its group (with
    /// killasgroup) goes with it, so a restart does not pile up stale helpers holding
    /// ports and files. (A oneshot may leave a daemon behind on purpose: not touched.)
    fn kill_rest_of_group(&self, pid: Option<pid_t>) -> Vec<Action> {
        match pid {
            Some(pgid) if self.spec.killasgroup && self.spec.kind == Kind::Service => {
                vec![Action::KillLingeringGroup { pgid }]
            }
            _ => Vec::new(),
        }
    }

    /// A probe attempt's outcome (`Err`: why it failed).
    pub fn on_probe(
        &mut self,
        check: Check,
        outcome: Result<(), String>,
        now: Instant,
    ) -> Vec<Action> {
        let events = match check {
            Check::Ready => self.readiness.on_probe(outcome.is_ok(), now),
            Check::Health => match &mut self.health {
                Some(health) => health.on_probe(outcome, now),
                None => Vec::new(),
            },
        };
        self.checked(check, events, now)
    }

    /// The program said it is ready (`READY=1`, its notification fd, its log line).
    pub fn on_ready_signal(&mut self, now: Instant) -> Vec<Action> {
        let events = self.readiness.on_signalled(now);
        self.checked(Check::Ready, events, now)
    }

    /// The checks' events, as this program's actions.
    fn checked(&mut self, check: Check, events: Vec<CheckEvent>, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        for event in events {
            match event {
                CheckEvent::StartProbe => actions.push(Action::StartProbe(check)),
                CheckEvent::CancelProbe => actions.push(Action::CancelProbe(check)),
                CheckEvent::Ready { after } => {
                    actions.push(Action::Notice(Notice::Ready { after }));
                    self.count_a_good_start();
                    if let Some(health) = &mut self.health {
                        health.on_ready(now);
                    }
                }
                CheckEvent::NotReadyWithin => {
                    let within = self.spec.ready.within;
                    actions.push(Action::Notice(Notice::NotReady { within }));
                    self.after_stop = AfterStop::FailedStart;
                    actions.extend(self.begin_stop(now, None));
                }
                CheckEvent::HealthFailed {
                    reason,
                    in_a_row,
                    of,
                } => actions.push(Action::Notice(Notice::HealthFailed {
                    reason,
                    in_a_row,
                    of,
                })),
                CheckEvent::Unhealthy => {
                    actions.push(Action::Notice(Notice::Unhealthy));
                    self.after_stop = AfterStop::Restart;
                    actions.extend(self.begin_stop(now, None));
                }
                CheckEvent::Healthy => actions.push(Action::Notice(Notice::Healthy)),
            }
        }
        actions
    }

    /// RUNNING and ready: the start worked, failed starts count from zero again. (RUNNING
    /// alone is not enough: a program not ready within its time failed to start.)
    fn count_a_good_start(&mut self) {
        if self.state == State::Running && self.readiness.is_ready() {
            self.failed_starts = 0;
        }
    }

    /// The process is stopping or gone: attempts under way are void.
    fn checks_void(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        for _ in self.readiness.on_exit() {
            actions.push(Action::CancelProbe(Check::Ready));
        }
        if let Some(health) = &mut self.health {
            for _ in health.on_exit() {
                actions.push(Action::CancelProbe(Check::Health));
            }
        }
        actions
    }

    /// Forget about restarts from now on (rinit is shutting down) without stopping.
    pub fn forbid_restarts(&mut self) {
        self.no_restarts = true;
    }

    fn failed_start(&mut self, status: ExitStatus, now: Instant) -> Vec<Action> {
        self.failed_starts += 1;
        let out_of_retries = self.failed_starts > self.spec.startretries;
        // A oneshot is never retried, not even when it could not be started.
        if out_of_retries || self.no_restarts || self.spec.kind == Kind::Oneshot {
            self.state = State::Fatal;
            self.ending = Some(Ending {
                code: fatal_code(status),
                success: false,
            });
            return vec![Action::Notice(Notice::GaveUp)];
        }
        self.state = State::Backoff;
        let delay = self.next_delay(now);
        self.timer = now.checked_add(delay);
        vec![Action::Notice(Notice::Restarting {
            delay,
            attempt: self.failed_starts,
            of: Some(self.spec.startretries),
        })]
    }

    /// The delay before the next restart: `initial`, doubling with each restart in a row,
    /// capped at `max`; the count starts over once the program stayed up `reset_after`.
    fn next_delay(&mut self, now: Instant) -> Duration {
        let backoff = self.spec.backoff;
        let stayed_up = self
            .started_at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        if stayed_up >= backoff.reset_after {
            self.restarts_in_a_row = 0;
        }
        let factor = 1u32.checked_shl(self.restarts_in_a_row).unwrap_or(u32::MAX);
        self.restarts_in_a_row = self.restarts_in_a_row.saturating_add(1);
        backoff.initial.saturating_mul(factor).min(backoff.max)
    }
}

/// A FATAL program never ends the container with 0: its last exit may have been a
/// clean 0 (it exited when rinit stopped it for not being ready), and still it failed.
fn fatal_code(status: ExitStatus) -> i32 {
    match status.code() {
        0 => 1,
        code => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn spec() -> ProgramSpec {
        ProgramSpec::with_defaults("web", vec!["web".into()])
    }

    fn spawned(spec: ProgramSpec, now: Instant) -> Program {
        let mut p = Program::new(spec);
        assert_eq!(p.start(), vec![Action::Spawn]);
        p.on_spawned(100, now);
        p
    }

    fn notices(actions: &[Action]) -> Vec<Notice> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Notice(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn starting_becomes_running_after_startsecs_not_before() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        assert_eq!(p.state(), State::Starting);
        assert_eq!(p.timer(), Some(t0 + SEC));
        assert!(p.on_timer(t0 + SEC / 2).is_empty());
        assert_eq!(p.state(), State::Starting);
        assert_eq!(p.on_timer(t0 + SEC), vec![Action::Notice(Notice::Running)]);
        assert_eq!(p.state(), State::Running);
        assert!(p.lets_next_priority_start());
    }

    #[test]
    fn startsecs_zero_is_running_at_once() {
        let mut s = spec();
        s.startsecs = Duration::ZERO;
        let p = spawned(s, Instant::now());
        assert_eq!(p.state(), State::Running);
        assert_eq!(p.timer(), None);
    }

    #[test]
    fn quick_exits_back_off_exponentially_then_go_fatal() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        let mut now = t0;
        // startretries = 3: three retries, delays 1 s, 2 s, 4 s; the fourth failure is FATAL.
        for (attempt, delay) in [(1, 1), (2, 2), (3, 4)] {
            let actions = p.on_exit(ExitStatus::Exited(1), now);
            assert_eq!(p.state(), State::Backoff);
            let delay = Duration::from_secs(delay);
            assert!(notices(&actions).contains(&Notice::Restarting {
                delay,
                attempt,
                of: Some(3)
            }));
            assert_eq!(p.timer(), Some(now + delay));
            now += delay;
            assert_eq!(p.on_timer(now), vec![Action::Spawn]);
            p.on_spawned(100 + attempt as pid_t, now);
        }
        let actions = p.on_exit(ExitStatus::Exited(3), now);
        assert_eq!(p.state(), State::Fatal);
        assert!(notices(&actions).contains(&Notice::GaveUp));
        assert_eq!(
            p.ending(),
            Some(Ending {
                code: 3,
                success: false
            })
        );
        assert!(!p.lets_next_priority_start());
    }

    #[test]
    fn even_an_expected_code_before_startsecs_is_a_failed_start() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        p.on_exit(ExitStatus::Exited(0), t0);
        assert_eq!(p.state(), State::Backoff);
    }

    #[test]
    fn reaching_running_resets_the_retry_count() {
        let mut s = spec();
        s.startretries = 1;
        let t0 = Instant::now();
        let mut p = spawned(s, t0);
        p.on_exit(ExitStatus::Exited(1), t0);
        p.on_timer(t0 + SEC);
        p.on_spawned(101, t0 + SEC);
        p.on_timer(t0 + 2 * SEC); // RUNNING
        p.on_exit(ExitStatus::Exited(1), t0 + 3 * SEC); // unexpected: restart
        p.on_timer(t0 + 10 * SEC);
        p.on_spawned(102, t0 + 10 * SEC);
        p.on_exit(ExitStatus::Exited(1), t0 + 10 * SEC); // first failed start again
        assert_eq!(p.state(), State::Backoff);
    }

    #[test]
    fn autorestart_unexpected_restarts_only_unexpected_codes() {
        let t0 = Instant::now();
        let mut s = spec();
        s.exitcodes = vec![0, 2];
        let mut p = spawned(s.clone(), t0);
        p.on_timer(t0 + SEC);
        let actions = p.on_exit(ExitStatus::Exited(2), t0 + 2 * SEC);
        assert_eq!(p.state(), State::Exited);
        assert!(notices(&actions).contains(&Notice::Done));
        assert_eq!(
            p.ending(),
            Some(Ending {
                code: 2,
                success: true
            })
        );

        let mut p = spawned(s, t0);
        p.on_timer(t0 + SEC);
        p.on_exit(ExitStatus::Signaled(libc::SIGSEGV), t0 + 2 * SEC);
        assert_eq!(p.state(), State::Exited);
        assert_eq!(p.ending(), None);
        assert_eq!(p.timer(), Some(t0 + 3 * SEC));
        assert_eq!(p.on_timer(t0 + 3 * SEC), vec![Action::Spawn]);
    }

    #[test]
    fn autorestart_always_and_never() {
        let t0 = Instant::now();
        let mut s = spec();
        s.autorestart = Autorestart::Always;
        let mut p = spawned(s.clone(), t0);
        p.on_timer(t0 + SEC);
        p.on_exit(ExitStatus::Exited(0), t0 + 2 * SEC);
        assert_eq!(p.ending(), None);
        assert!(p.timer().is_some());

        s.autorestart = Autorestart::Never;
        let mut p = spawned(s, t0);
        p.on_timer(t0 + SEC);
        p.on_exit(ExitStatus::Exited(1), t0 + 2 * SEC);
        assert_eq!(
            p.ending(),
            Some(Ending {
                code: 1,
                success: false
            })
        );
    }

    #[test]
    fn restart_delay_doubles_is_capped_and_resets_after_staying_up() {
        let t0 = Instant::now();
        let mut s = spec();
        s.autorestart = Autorestart::Always;
        s.startsecs = Duration::ZERO;
        s.backoff.max = 4 * SEC;
        s.backoff.reset_after = 60 * SEC;
        let mut p = spawned(s, t0);
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..5 {
            now += SEC; // ran 1 s each time: a crash loop
            p.on_exit(ExitStatus::Exited(1), now);
            let delay = p.timer().unwrap() - now;
            delays.push(delay.as_secs());
            now += delay;
            p.on_timer(now);
            p.on_spawned(200, now);
        }
        assert_eq!(delays, [1, 2, 4, 4, 4]);
        now += 60 * SEC; // stayed up a minute
        p.on_exit(ExitStatus::Exited(1), now);
        assert_eq!(p.timer(), Some(now + SEC));
    }

    #[test]
    fn oneshot_success_lets_the_next_priority_start_and_failure_is_fatal() {
        let t0 = Instant::now();
        let mut s = spec();
        s.kind = Kind::Oneshot;
        let mut p = spawned(s.clone(), t0);
        assert_eq!(p.state(), State::Starting);
        assert!(!p.lets_next_priority_start());
        assert_eq!(p.timer(), None, "a oneshot has no startsecs timer");
        p.on_exit(ExitStatus::Exited(0), t0 + 5 * SEC);
        assert_eq!(p.state(), State::Exited);
        assert!(p.lets_next_priority_start());

        let mut p = spawned(s, t0);
        p.on_exit(ExitStatus::Exited(4), t0);
        assert_eq!(p.state(), State::Fatal);
        assert_eq!(
            p.ending(),
            Some(Ending {
                code: 4,
                success: false
            })
        );
        assert!(!p.lets_next_priority_start());
    }

    #[test]
    fn stop_sends_stopsignal_then_sigkill_after_stopwaitsecs() {
        let t0 = Instant::now();
        let mut s = spec();
        s.stopsignal = libc::SIGINT;
        s.stopasgroup = false;
        s.killasgroup = true;
        let mut p = spawned(s, t0);
        p.on_timer(t0 + SEC);
        let actions = p.stop(t0 + 2 * SEC, None);
        assert!(actions.contains(&Action::Signal {
            sig: libc::SIGINT,
            group: false
        }));
        assert_eq!(p.state(), State::Stopping);
        assert_eq!(p.timer(), Some(t0 + 12 * SEC));
        let actions = p.on_timer(t0 + 12 * SEC);
        assert!(actions.contains(&Action::Signal {
            sig: libc::SIGKILL,
            group: true
        }));
        let actions = p.on_exit(ExitStatus::Signaled(libc::SIGKILL), t0 + 12 * SEC);
        assert_eq!(p.state(), State::Stopped);
        assert!(notices(&actions).contains(&Notice::Stopped {
            status: ExitStatus::Signaled(libc::SIGKILL)
        }));
        assert_eq!(p.ending(), None, "a requested stop is not an ending");
    }

    #[test]
    fn the_rest_of_the_group_is_killed_at_the_stop_deadline_after_the_program_exits() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        p.on_timer(t0 + SEC);
        p.stop(t0 + SEC, None);
        p.on_exit(ExitStatus::Exited(0), t0 + 2 * SEC);
        assert_eq!(p.state(), State::Stopped);
        assert!(
            !p.is_active(),
            "the next level need not wait for the stragglers"
        );
        assert_eq!(p.timer(), Some(t0 + 11 * SEC));
        assert_eq!(
            p.on_timer(t0 + 11 * SEC),
            vec![Action::KillLingeringGroup { pgid: 100 }]
        );
        assert_eq!(p.timer(), None);
        assert!(p.on_timer(t0 + 12 * SEC).is_empty());
    }

    #[test]
    fn without_killasgroup_nothing_lingers() {
        let t0 = Instant::now();
        let mut s = spec();
        s.killasgroup = false;
        let mut p = spawned(s, t0);
        p.stop(t0, None);
        p.on_exit(ExitStatus::Exited(0), t0);
        assert_eq!(p.timer(), None);
    }

    #[test]
    fn stop_cancels_a_pending_restart() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        p.on_exit(ExitStatus::Exited(1), t0);
        assert_eq!(p.state(), State::Backoff);
        assert!(p.stop(t0, None).is_empty());
        assert_eq!(p.state(), State::Stopped);
        assert_eq!(p.timer(), None);
    }

    #[test]
    fn after_forbid_restarts_an_exit_is_final() {
        let t0 = Instant::now();
        let mut s = spec();
        s.autorestart = Autorestart::Always;
        let mut p = spawned(s, t0);
        p.on_timer(t0 + SEC);
        p.forbid_restarts();
        p.on_exit(ExitStatus::Exited(0), t0 + 2 * SEC);
        assert!(p.ending().is_some());
        assert_eq!(p.timer(), None);
    }

    #[test]
    fn spawn_failure_counts_as_a_failed_start_with_the_shell_code() {
        let t0 = Instant::now();
        let mut s = spec();
        s.startretries = 0;
        let mut p = Program::new(s);
        p.start();
        let actions = p.on_spawn_failed(127, "cannot run 'x'".into(), t0);
        assert_eq!(p.state(), State::Fatal);
        assert_eq!(
            notices(&actions)[0],
            Notice::SpawnFailed {
                message: "cannot run 'x'".into()
            }
        );
        assert_eq!(p.ending().map(|e| e.code), Some(127));
    }

    #[test]
    fn not_autostarted_programs_do_not_hold_back_the_next_priority() {
        let mut s = spec();
        s.autostart = false;
        s.on_exit = OnExit::Ignore;
        let p = Program::new(s);
        assert!(p.lets_next_priority_start());
    }

    #[test]
    fn a_oneshot_that_cannot_be_started_is_fatal_at_once() {
        let mut s = spec();
        s.kind = Kind::Oneshot;
        let mut p = Program::new(s);
        p.start();
        p.on_spawn_failed(127, "cannot run".into(), Instant::now());
        assert_eq!(p.state(), State::Fatal);
    }

    #[test]
    fn stop_is_capped_and_continues_a_stopped_program() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        let actions = p.stop(t0, Some(t0 + 3 * SEC));
        assert_eq!(p.timer(), Some(t0 + 3 * SEC), "capped below stopwaitsecs");
        assert!(actions.contains(&Action::Signal {
            sig: libc::SIGCONT,
            group: true
        }));
    }

    #[test]
    fn an_exit_after_startsecs_whose_timer_was_not_yet_handled_is_not_a_failed_start() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        let actions = p.on_exit(ExitStatus::Exited(1), t0 + SEC);
        assert!(notices(&actions).contains(&Notice::Running));
        assert_eq!(p.state(), State::Exited, "not BACKOFF");
    }

    #[test]
    fn a_crashed_service_takes_the_rest_of_its_group_with_it() {
        let t0 = Instant::now();
        let mut p = spawned(spec(), t0);
        p.on_timer(t0 + SEC);
        let actions = p.on_exit(ExitStatus::Exited(1), t0 + 2 * SEC);
        assert!(actions.contains(&Action::KillLingeringGroup { pgid: 100 }));
        let mut s = spec();
        s.kind = Kind::Oneshot;
        let mut p = spawned(s, t0);
        let actions = p.on_exit(ExitStatus::Exited(0), t0);
        assert!(
            !actions
                .iter()
                .any(|a| matches!(a, Action::KillLingeringGroup { .. }))
        );
    }

    #[test]
    fn an_ignored_failure_opens_the_gate() {
        let mut s = spec();
        s.kind = Kind::Oneshot;
        s.on_exit = OnExit::Ignore;
        let t0 = Instant::now();
        let mut p = spawned(s, t0);
        p.on_exit(ExitStatus::Exited(1), t0);
        assert!(p.lets_next_priority_start());
    }
}
