//! The set of programs: start order by priority, the shutdown decision, stop order and
//! rinit's exit code; the deadlines and escalation are the shared [`Endgame`]'s. Pure,
//! like [`Program`]: events in (with `now`), commands out; `driver/supervise.rs`
//! performs them.
//!
//! Start: programs of equal priority start together; the next priority starts once every
//! program before it is RUNNING (startsecs elapsed), or is a oneshot that finished well.
//!
//! Shutdown, on SIGTERM/SIGINT or when a program ends for good and its `on_exit` says so:
//! priorities stop in reverse order, one level at a time, each program with its
//! stopsignal and stopwaitsecs. `grace` caps the whole shutdown: when it passes,
//! everything left is SIGKILLed. Then leftover processes get SIGTERM (same deadline),
//! and rinit exits once nothing is left.

use std::time::Instant;

use libc::{c_int, pid_t};

use super::endgame::{Endgame, Event, KillReason, Phase, Step};
use super::program::{Action, Check, Ending, Notice, Program};
use crate::config::{Kind, OnExit, Plan};
use crate::plain::ExitStatus;
use crate::plain::signal;

/// What the runtime must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Spawn(usize),
    Signal {
        program: usize,
        sig: c_int,
        group: bool,
    },
    /// SIGKILL the remaining members of a stopped program's process group.
    KillLingeringGroup {
        program: usize,
        pgid: pid_t,
    },
    Notice(usize, Notice),
    /// Start one attempt of a program's probe; answer with `on_probe`.
    StartProbe {
        program: usize,
        check: Check,
    },
    /// Drop a program's probe attempt under way.
    CancelProbe {
        program: usize,
        check: Check,
    },
    ShuttingDown(Reason),
    /// SIGTERM then SIGCONT to every remaining descendant.
    TerminateRest,
    /// SIGKILL to every program's process group and every descendant.
    KillEverything,
    ReportSurvivors,
    Exit(i32),
}

/// Why rinit is shutting down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    Signal(c_int),
    /// This program ended for good and its `on_exit` is `shutdown`.
    ProgramEnded {
        program: usize,
        ending: Ending,
    },
    /// A second SIGTERM/SIGINT: everything gets SIGKILL now.
    SecondSignal,
    /// The global grace period is over: everything gets SIGKILL now.
    GraceExpired,
}

/// Why an operator's request (`rinit start`, `stop`, `signal`) was not carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    ShuttingDown,
    AlreadyStarted,
    NotRunning,
}

pub struct Supervisor {
    programs: Vec<Program>,
    /// Program indices grouped by priority, lowest priority value first.
    levels: Vec<Vec<usize>>,
    /// Levels `0..started_levels` have been started.
    started_levels: usize,
    /// The shutdown: its phase, the global deadline, the escalation to SIGKILL.
    endgame: Endgame,
    exit_code: i32,
    /// Endings already acted upon.
    handled: Vec<bool>,
    /// Whether rinit had any child left after the last reaping pass.
    children_left: bool,
    /// The shutdown was asked for by a signal, not caused by a program.
    external_stop: bool,
}

impl Supervisor {
    pub fn new(plan: Plan) -> Self {
        let mut levels: Vec<Vec<usize>> = Vec::new();
        let mut last_priority = None;
        for (index, spec) in plan.programs.iter().enumerate() {
            if last_priority != Some(spec.priority) {
                levels.push(Vec::new());
                last_priority = Some(spec.priority);
            }
            if let Some(level) = levels.last_mut() {
                level.push(index);
            }
        }
        let count = plan.programs.len();
        Supervisor {
            programs: plan.programs.into_iter().map(Program::new).collect(),
            levels,
            started_levels: 0,
            endgame: Endgame::new(plan.grace, plan.stop_delay),
            exit_code: 0,
            handled: vec![false; count],
            children_left: false,
            external_stop: false,
        }
    }

    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// Whether a Spawn command may still be carried out: not once a shutdown has begun
    /// (a Spawn queued in the same pass as the shutdown decision is dropped).
    pub fn may_spawn(&self) -> bool {
        self.endgame.phase() == Phase::Running
    }

    /// A stop has begun: the drain delay, or later (`/readyz` answers 503).
    pub fn is_draining(&self) -> bool {
        self.endgame.phase() != Phase::Running
    }

    /// The whole container is ready: every autostart program is a ready service or a
    /// oneshot that finished well, and no stop has begun. (A program an operator
    /// stopped is not ready.)
    pub fn is_ready(&self) -> bool {
        !self.is_draining()
            && self
                .programs
                .iter()
                .filter(|p| p.spec.autostart)
                .all(Program::counts_as_ready)
    }

    /// No program is FATAL (it gave up and will not come back by itself).
    pub fn is_live(&self) -> bool {
        !self
            .programs
            .iter()
            .any(|p| p.state() == super::program::State::Fatal)
    }

    /// An operator's `start` of one program (also one that is not autostart).
    pub fn request_start(&mut self, index: usize, now: Instant) -> Result<Vec<Command>, Refusal> {
        if !self.may_spawn() {
            return Err(Refusal::ShuttingDown);
        }
        let actions = self.programs[index]
            .start_on_request()
            .ok_or(Refusal::AlreadyStarted)?;
        // Its next ending is news again.
        self.handled[index] = false;
        Ok(self.after(index, actions, now))
    }

    /// An operator's `stop` of one program: it stays stopped, and its stop is not an
    /// ending (its `on_exit` does not apply).
    pub fn request_stop(&mut self, index: usize, now: Instant) -> Result<Vec<Command>, Refusal> {
        if !self.may_spawn() {
            return Err(Refusal::ShuttingDown);
        }
        let actions = self.programs[index]
            .stop_on_request(now)
            .ok_or(Refusal::NotRunning)?;
        Ok(self.after(index, actions, now))
    }

    /// An operator's `signal`: to the program's process group.
    pub fn request_signal(&self, index: usize, sig: c_int) -> Result<Vec<Command>, Refusal> {
        if !self.programs[index].is_active() {
            return Err(Refusal::NotRunning);
        }
        Ok(vec![Command::Signal {
            program: index,
            sig,
            group: true,
        }])
    }

    pub fn program_by_pid(&self, pid: pid_t) -> Option<usize> {
        self.programs.iter().position(|p| p.pid() == Some(pid))
    }

    /// The next time `on_timer` must be called.
    pub fn deadline(&self) -> Option<Instant> {
        let programs = self.programs.iter().filter_map(Program::timer);
        programs.chain(self.endgame.deadline()).min()
    }

    pub fn start(&mut self, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        self.step(now, &mut out);
        out
    }

    pub fn on_spawned(&mut self, index: usize, pid: pid_t, now: Instant) -> Vec<Command> {
        self.children_left = true;
        let actions = self.programs[index].on_spawned(pid, now);
        self.after(index, actions, now)
    }

    pub fn on_spawn_failed(
        &mut self,
        index: usize,
        code: i32,
        message: String,
        now: Instant,
    ) -> Vec<Command> {
        let actions = self.programs[index].on_spawn_failed(code, message, now);
        self.after(index, actions, now)
    }

    /// The outcome of a program's probe attempt (`Err`: why it failed).
    pub fn on_probe(
        &mut self,
        index: usize,
        check: Check,
        outcome: Result<(), String>,
        now: Instant,
    ) -> Vec<Command> {
        let actions = self.programs[index].on_probe(check, outcome, now);
        self.after(index, actions, now)
    }

    /// A program said it is ready (notify socket, notification fd, log line).
    pub fn on_ready_signal(&mut self, index: usize, now: Instant) -> Vec<Command> {
        let actions = self.programs[index].on_ready_signal(now);
        self.after(index, actions, now)
    }

    /// One program's process was reaped (and nothing else changed).
    #[cfg(test)]
    fn on_exit(&mut self, index: usize, status: ExitStatus, now: Instant) -> Vec<Command> {
        let children_left = self.children_left;
        self.on_reaped(vec![(index, status)], children_left, now)
    }

    /// A reaping pass finished: `exits` are the programs' processes reaped in it, and
    /// `children_left` tells whether rinit still has any child at all.
    pub fn on_reaped(
        &mut self,
        exits: Vec<(usize, ExitStatus)>,
        children_left: bool,
        now: Instant,
    ) -> Vec<Command> {
        self.children_left = children_left;
        let mut out = Vec::new();
        for (index, status) in exits {
            let actions = self.programs[index].on_exit(status, now);
            out.extend(self.translate(index, actions));
        }
        self.feed(Event::Reaped { children_left }, None, now, &mut out);
        self.step(now, &mut out);
        out
    }

    pub fn on_signal(&mut self, sig: c_int, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        if signal::is_stop_request(sig) {
            let cause = Reason::Signal(sig);
            self.feed(Event::StopRequest, Some(cause), now, &mut out);
        } else if signal::is_forwarded(sig) && self.endgame.forwards_signals() {
            for (index, program) in self.programs.iter().enumerate() {
                if program.is_active() {
                    out.push(Command::Signal {
                        program: index,
                        sig,
                        group: true,
                    });
                }
            }
        }
        self.step(now, &mut out);
        out
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        if self.endgame.deadline().is_some_and(|d| now >= d) {
            self.feed(Event::Deadline, None, now, &mut out);
            if self.endgame.phase() == Phase::Done {
                return out;
            }
        }
        for index in 0..self.programs.len() {
            if self.programs[index].timer().is_some_and(|t| now >= t) {
                let actions = self.programs[index].on_timer(now);
                out.extend(self.translate(index, actions));
            }
        }
        self.step(now, &mut out);
        out
    }

    fn after(&mut self, index: usize, actions: Vec<Action>, now: Instant) -> Vec<Command> {
        let mut out = self.translate(index, actions);
        self.step(now, &mut out);
        out
    }

    fn translate(&self, index: usize, actions: Vec<Action>) -> Vec<Command> {
        actions
            .into_iter()
            .map(|action| match action {
                Action::Spawn => Command::Spawn(index),
                Action::Signal { sig, group } => Command::Signal {
                    program: index,
                    sig,
                    group,
                },
                Action::Notice(notice) => Command::Notice(index, notice),
                Action::KillLingeringGroup { pgid } => Command::KillLingeringGroup {
                    program: index,
                    pgid,
                },
                Action::StartProbe(check) => Command::StartProbe {
                    program: index,
                    check,
                },
                Action::CancelProbe(check) => Command::CancelProbe {
                    program: index,
                    check,
                },
            })
            .collect()
    }

    /// Moves the whole set forward after any event: act on endings, start the next
    /// priority, or carry the shutdown on.
    fn step(&mut self, now: Instant, out: &mut Vec<Command>) {
        if self.endgame.phase() == Phase::Running {
            self.act_on_endings(now, out);
        }
        match self.endgame.phase() {
            Phase::Running => self.start_ready_levels(out),
            Phase::Stopping => self.continue_stopping(now, out),
            // The drain delay: the programs run on untouched until it ends.
            Phase::Delaying => {}
            // Reaps, deadlines and signals move these on, through the endgame.
            Phase::Draining | Phase::Killing | Phase::Done => {}
        }
    }

    /// Feeds the endgame and performs its steps in this mode's terms. `cause`: why the
    /// programs are to be stopped, if this event may begin the shutdown.
    fn feed(&mut self, event: Event, cause: Option<Reason>, now: Instant, out: &mut Vec<Command>) {
        let before = self.endgame.phase();
        if let Some(step) = self.endgame.on(event, now) {
            match step {
                Step::StopOwn => {
                    let reason = cause.unwrap_or(Reason::Signal(libc::SIGTERM));
                    self.external_stop = matches!(reason, Reason::Signal(_));
                    for program in &mut self.programs {
                        program.forbid_restarts();
                    }
                    out.push(Command::ShuttingDown(reason));
                    self.continue_stopping(now, out);
                }
                Step::TerminateRest => out.push(Command::TerminateRest),
                Step::Kill(reason) => {
                    // An external stop that had to kill a program is not a clean stop.
                    // Leftover processes (Draining) never change the code, and a
                    // program that caused the shutdown keeps its own.
                    if self.external_stop && before == Phase::Stopping {
                        self.exit_code = 128 + libc::SIGKILL;
                    }
                    out.push(Command::ShuttingDown(match reason {
                        KillReason::GraceExpired => Reason::GraceExpired,
                        KillReason::RepeatedStopSignal => Reason::SecondSignal,
                    }));
                    out.push(Command::KillEverything);
                }
                Step::KillAgain => out.push(Command::KillEverything),
                Step::Exit => out.push(Command::Exit(self.exit_code)),
                Step::ExitDespiteSurvivors => {
                    out.push(Command::ReportSurvivors);
                    out.push(Command::Exit(self.exit_code));
                }
            }
        }
    }

    fn act_on_endings(&mut self, now: Instant, out: &mut Vec<Command>) {
        for index in 0..self.programs.len() {
            let Some(ending) = self.programs[index].ending() else {
                continue;
            };
            if std::mem::replace(&mut self.handled[index], true) {
                continue;
            }
            let spec = &self.programs[index].spec;
            let finished_oneshot = spec.kind == Kind::Oneshot && ending.success;
            if spec.on_exit == OnExit::Shutdown && !finished_oneshot {
                self.exit_code = ending.code;
                let cause = Reason::ProgramEnded {
                    program: index,
                    ending,
                };
                self.feed(Event::Shutdown, Some(cause), now, out);
                return;
            }
        }
    }

    fn start_ready_levels(&mut self, out: &mut Vec<Command>) {
        while self.started_levels < self.levels.len() {
            let previous_ready = self.levels[..self.started_levels]
                .iter()
                .flatten()
                .all(|&i| self.programs[i].lets_next_priority_start());
            if !previous_ready {
                return;
            }
            for &index in &self.levels[self.started_levels] {
                if self.programs[index].spec.autostart {
                    let actions = self.programs[index].start();
                    out.extend(self.translate(index, actions));
                }
            }
            self.started_levels += 1;
        }
    }

    /// Stops the highest priority level that still has a running process; lower levels
    /// wait until it is fully stopped. With nothing left running, deals with leftovers.
    fn continue_stopping(&mut self, now: Instant, out: &mut Vec<Command>) {
        // Pending restarts never happen now.
        for index in 0..self.programs.len() {
            if !self.programs[index].is_active() {
                let actions = self.programs[index].stop(now, None);
                out.extend(self.translate(index, actions));
            }
        }
        let active_levels: Vec<usize> = (0..self.levels.len())
            .filter(|&l| self.levels[l].iter().any(|&i| self.programs[i].is_active()))
            .collect();
        match active_levels.last() {
            Some(&level) => {
                // Each level still to stop gets an equal share of the time left, so that
                // a program ignoring its stop signal cannot leave the levels below it no
                // time for a clean stop (they would only see the final SIGKILL).
                // (The last level needs no cap: the global deadline is its limit.)
                let cap = self
                    .endgame
                    .deadline()
                    .filter(|_| active_levels.len() > 1)
                    .map(|deadline| {
                        let left = deadline.saturating_duration_since(now);
                        now + left / active_levels.len() as u32
                    });
                for index in self.levels[level].clone() {
                    let actions = self.programs[index].stop(now, cap);
                    out.extend(self.translate(index, actions));
                }
            }
            None => {
                let others_left = self.children_left;
                self.feed(Event::OwnGone { others_left }, None, now, out);
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::super::endgame::KILL_WAIT;
    use super::super::program;
    use super::*;
    use crate::config::{Autorestart, Probe, ProgramSpec, ReadyKind};
    use std::path::PathBuf;
    use std::time::Duration;

    const SEC: Duration = Duration::from_secs(1);

    /// A service gating the next level until RUNNING (`ready = "running"`), as every
    /// program did before readiness checks.
    fn program(name: &str, priority: i32) -> ProgramSpec {
        let mut spec = ProgramSpec::with_defaults(name, vec![name.into()]);
        spec.priority = priority;
        spec.ready.kind = ReadyKind::Running;
        spec
    }

    fn probed(name: &str, priority: i32) -> ProgramSpec {
        let mut spec = program(name, priority);
        spec.ready.kind = ReadyKind::Probe(Probe::Tcp(([127, 0, 0, 1], 1).into()));
        spec
    }

    fn supervisor(mut programs: Vec<ProgramSpec>) -> Supervisor {
        programs.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        Supervisor::new(Plan {
            source: PathBuf::from("test.toml"),
            grace: 8 * SEC,
            stop_delay: Duration::ZERO,
            programs,
            output: Default::default(),
            control: Default::default(),
        })
    }

    fn spawns(commands: &[Command]) -> Vec<usize> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Spawn(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    fn signals_sent(commands: &[Command]) -> Vec<(usize, c_int)> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Signal { program, sig, .. } => Some((*program, *sig)),
                _ => None,
            })
            .collect()
    }

    /// Spawns every program the commands ask for, with pid 100 + index.
    fn spawn_all(s: &mut Supervisor, commands: &[Command], now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        for index in spawns(commands) {
            out.extend(s.on_spawned(index, 100 + index as pid_t, now));
        }
        out
    }

    #[test]
    fn priorities_start_in_order_each_waiting_for_the_previous_to_run() {
        // Indices after sorting: a(1)=0, b(1)=1, c(2)=2, d(3)=3.
        let mut s = supervisor(vec![
            program("d", 3),
            program("c", 2),
            program("b", 1),
            program("a", 1),
        ]);
        let t0 = Instant::now();
        let first = s.start(t0);
        assert_eq!(spawns(&first), [0, 1], "equal priorities start together");
        assert!(spawns(&spawn_all(&mut s, &first, t0)).is_empty());
        // a is RUNNING, b not yet: c waits.
        s.programs[0].on_timer(t0 + SEC);
        assert!(spawns(&s.on_reaped(vec![], true, t0 + SEC)).is_empty());
        let out = s.on_timer(t0 + SEC); // b's startsecs
        assert_eq!(spawns(&out), [2]);
        let out = s.on_spawned(2, 102, t0 + SEC);
        assert!(spawns(&out).is_empty());
        let out = s.on_timer(t0 + 2 * SEC);
        assert_eq!(spawns(&out), [3]);
    }

    #[test]
    fn a_oneshot_gates_later_priorities_until_it_succeeds() {
        let mut migrate = program("migrate", 1);
        migrate.kind = Kind::Oneshot;
        let mut s = supervisor(vec![migrate, program("web", 2)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        assert_eq!(spawns(&out), [0]);
        spawn_all(&mut s, &out, t0);
        assert!(spawns(&s.on_timer(t0 + 10 * SEC)).is_empty());
        let out = s.on_exit(0, ExitStatus::Exited(0), t0 + 10 * SEC);
        assert_eq!(spawns(&out), [1]);
        assert!(!out.iter().any(|c| matches!(c, Command::ShuttingDown(_))));
    }

    #[test]
    fn a_failing_oneshot_blocks_later_priorities_and_shuts_down_with_its_code() {
        let mut migrate = program("migrate", 1);
        migrate.kind = Kind::Oneshot;
        let mut s = supervisor(vec![migrate, program("web", 2)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        let out = s.on_reaped(vec![(0, ExitStatus::Exited(3))], false, t0);
        assert!(spawns(&out).is_empty(), "web must not start");
        assert!(out.contains(&Command::ShuttingDown(Reason::ProgramEnded {
            program: 0,
            ending: Ending {
                code: 3,
                success: false
            }
        })));
        assert_eq!(out.last(), Some(&Command::Exit(3)));
    }

    #[test]
    fn fatal_program_shuts_down_with_its_code_stopping_the_others_in_reverse() {
        let mut s = supervisor(vec![program("db", 1), program("web", 2), program("app", 3)]);
        let t0 = Instant::now();
        let mut now = t0;
        let mut out = s.start(now);
        for _ in 0..3 {
            spawn_all(&mut s, &out, now);
            now += SEC;
            out = s.on_timer(now);
        }
        assert!(
            s.programs
                .iter()
                .all(|p| p.state() == program::State::Running)
        );
        // web (index 1) crash-loops: it ran past startsecs, so first a restart...
        s.programs[1].spec.autorestart = Autorestart::Never;
        let out = s.on_exit(1, ExitStatus::Exited(9), now);
        assert!(out.contains(&Command::ShuttingDown(Reason::ProgramEnded {
            program: 1,
            ending: Ending {
                code: 9,
                success: false
            }
        })));
        // Highest priority first: only app (index 2) is signalled now.
        assert_eq!(signals_sent(&out), [(2, libc::SIGTERM), (2, libc::SIGCONT)]);
        let out = s.on_exit(2, ExitStatus::Signaled(libc::SIGTERM), now);
        assert_eq!(signals_sent(&out), [(0, libc::SIGTERM), (0, libc::SIGCONT)]);
        s.on_reaped(vec![], false, now);
        let out = s.on_exit(0, ExitStatus::Exited(0), now);
        assert_eq!(out.last(), Some(&Command::Exit(9)));
    }

    #[test]
    fn external_stop_exits_0_and_leftovers_get_sigterm() {
        let mut s = supervisor(vec![program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_reaped(vec![], true, t0);
        let out = s.on_signal(libc::SIGTERM, t0);
        assert_eq!(signals_sent(&out), [(0, libc::SIGTERM), (0, libc::SIGCONT)]);
        assert_eq!(s.deadline(), Some(t0 + 8 * SEC));
        let out = s.on_exit(0, ExitStatus::Signaled(libc::SIGTERM), t0);
        assert_eq!(out.last(), Some(&Command::TerminateRest));
        let out = s.on_reaped(vec![], false, t0);
        assert_eq!(out.last(), Some(&Command::Exit(0)));
    }

    #[test]
    fn the_global_deadline_caps_stopwaitsecs_and_forces_137() {
        let mut spec = program("slow", 1);
        spec.stopwaitsecs = 60 * SEC;
        let mut s = supervisor(vec![spec]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_reaped(vec![], true, t0);
        s.on_signal(libc::SIGTERM, t0);
        assert_eq!(s.deadline(), Some(t0 + 8 * SEC));
        let out = s.on_timer(t0 + 8 * SEC);
        assert!(out.contains(&Command::KillEverything));
        s.on_exit(0, ExitStatus::Signaled(libc::SIGKILL), t0 + 8 * SEC);
        let out = s.on_reaped(vec![], false, t0 + 8 * SEC);
        assert_eq!(out.last(), Some(&Command::Exit(137)));
    }

    #[test]
    fn a_second_stop_signal_kills_everything_at_once() {
        let mut s = supervisor(vec![program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_signal(libc::SIGINT, t0);
        let out = s.on_signal(libc::SIGINT, t0);
        assert!(out.contains(&Command::ShuttingDown(Reason::SecondSignal)));
        assert!(out.contains(&Command::KillEverything));
    }

    #[test]
    fn survivors_of_sigkill_do_not_keep_rinit_forever() {
        let mut s = supervisor(vec![program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_signal(libc::SIGTERM, t0);
        s.on_timer(t0 + 8 * SEC);
        let end = t0 + 8 * SEC + KILL_WAIT;
        let out = s.on_timer(end);
        assert_eq!(out, [Command::ReportSurvivors, Command::Exit(137)]);
    }

    #[test]
    fn other_signals_are_forwarded_to_every_running_program() {
        let mut s = supervisor(vec![program("a", 1), program("b", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        let out = s.on_signal(libc::SIGHUP, t0);
        assert_eq!(signals_sent(&out), [(0, libc::SIGHUP), (1, libc::SIGHUP)]);
        assert!(s.on_signal(libc::SIGCHLD, t0).is_empty());
    }

    #[test]
    fn on_exit_ignore_leaves_the_others_running() {
        let mut spec = program("job", 1);
        spec.on_exit = OnExit::Ignore;
        spec.autorestart = Autorestart::Never;
        spec.startsecs = Duration::ZERO;
        let mut s = supervisor(vec![spec, program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        let out = s.on_exit(0, ExitStatus::Exited(1), t0);
        assert!(!out.iter().any(|c| matches!(c, Command::ShuttingDown(_))));
    }

    #[test]
    fn a_service_that_ends_well_still_ends_the_container_with_its_code() {
        let mut spec = program("job", 1);
        spec.autorestart = Autorestart::Unexpected;
        spec.startsecs = Duration::ZERO;
        let mut s = supervisor(vec![spec]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        let out = s.on_reaped(vec![(0, ExitStatus::Exited(0))], false, t0);
        assert_eq!(out.last(), Some(&Command::Exit(0)));
    }

    #[test]
    fn nothing_is_spawned_once_a_shutdown_has_begun() {
        let mut s = supervisor(vec![program("a", 1), program("b", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        assert_eq!(spawns(&out), [0, 1]);
        // a cannot even be started and has no retries: shutdown, before b's Spawn runs.
        s.programs[0].spec.startretries = 0;
        s.on_spawn_failed(0, 127, "cannot run 'a'".into(), t0);
        assert!(!s.may_spawn());
    }

    #[test]
    fn levels_share_the_grace_period_so_lower_ones_still_get_their_stop_signal() {
        let mut db = program("db", 1);
        db.stopwaitsecs = 60 * SEC;
        let mut web = program("web", 2);
        web.stopwaitsecs = 60 * SEC;
        let mut s = supervisor(vec![db, web]);
        let t0 = Instant::now();
        let mut out = s.start(t0);
        for _ in 0..2 {
            spawn_all(&mut s, &out, t0);
            out = s.on_timer(t0 + SEC);
        }
        s.on_signal(libc::SIGTERM, t0 + SEC);
        // Two levels, 8 s left: web is SIGKILLed after 4 s, not after its 60 s.
        let out = s.on_timer(t0 + 5 * SEC);
        assert_eq!(signals_sent(&out), [(1, libc::SIGKILL)]);
        let out = s.on_exit(1, ExitStatus::Signaled(libc::SIGKILL), t0 + 5 * SEC);
        assert_eq!(signals_sent(&out), [(0, libc::SIGTERM), (0, libc::SIGCONT)]);
    }

    #[test]
    fn leftovers_at_the_deadline_do_not_turn_a_clean_stop_into_137() {
        let mut s = supervisor(vec![program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_signal(libc::SIGTERM, t0);
        let out = s.on_reaped(vec![(0, ExitStatus::Exited(0))], true, t0);
        assert_eq!(out.last(), Some(&Command::TerminateRest));
        let out = s.on_timer(t0 + 8 * SEC);
        assert!(out.contains(&Command::KillEverything));
        let out = s.on_reaped(vec![], false, t0 + 8 * SEC);
        assert_eq!(out.last(), Some(&Command::Exit(0)));
    }

    #[test]
    fn a_program_caused_shutdown_keeps_its_code_even_when_forced() {
        let mut job = program("job", 1);
        job.startsecs = Duration::ZERO;
        job.autorestart = Autorestart::Never;
        let mut slow = program("slow", 2);
        slow.startsecs = Duration::ZERO;
        let mut s = supervisor(vec![job, slow]);
        let t0 = Instant::now();
        let mut out = s.start(t0);
        for _ in 0..2 {
            out = spawn_all(&mut s, &out, t0);
        }
        s.on_exit(0, ExitStatus::Exited(0), t0);
        s.on_timer(t0 + 8 * SEC);
        let out = s.on_reaped(
            vec![(1, ExitStatus::Signaled(libc::SIGKILL))],
            false,
            t0 + 8 * SEC,
        );
        assert_eq!(out.last(), Some(&Command::Exit(0)));
    }

    #[test]
    fn an_ignored_failure_lets_the_next_priority_start() {
        let mut job = program("job", 1);
        job.kind = Kind::Oneshot;
        job.on_exit = OnExit::Ignore;
        let mut s = supervisor(vec![job, program("web", 2)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        let out = s.on_exit(0, ExitStatus::Exited(1), t0);
        assert_eq!(spawns(&out), [1]);
    }

    fn probes_started(commands: &[Command]) -> Vec<usize> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::StartProbe { program, .. } => Some(*program),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn with_the_default_readiness_every_level_starts_at_once() {
        let mut programs = Vec::new();
        for level in 0..10 {
            let mut spec = program(&format!("p{level}"), level);
            spec.ready.kind = ReadyKind::Started;
            programs.push(spec);
        }
        let mut s = supervisor(programs);
        let t0 = Instant::now();
        let mut out = s.start(t0);
        let mut started = spawns(&out);
        for _ in 0..10 {
            out = spawn_all(&mut s, &out, t0);
            started.extend(spawns(&out));
        }
        assert_eq!(started, (0..10).collect::<Vec<_>>(), "no time passed");
    }

    #[test]
    fn the_next_level_starts_when_the_probe_passes_not_before() {
        let mut s = supervisor(vec![probed("db", 1), program("app", 2)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        let out = spawn_all(&mut s, &out, t0);
        assert_eq!(probes_started(&out), [0], "the first attempt at once");
        // Refused: app waits, also past startsecs (RUNNING is not ready here).
        let out = s.on_probe(0, Check::Ready, Err("refused".into()), t0);
        assert!(spawns(&out).is_empty());
        let t1 = t0 + Duration::from_millis(1_200);
        let out = s.on_timer(t1);
        assert!(spawns(&out).is_empty());
        assert_eq!(probes_started(&out), [0]);
        let out = s.on_probe(0, Check::Ready, Ok(()), t1);
        assert_eq!(spawns(&out), [1]);
        assert!(out.contains(&Command::Notice(
            0,
            Notice::Ready {
                after: Duration::from_millis(1_200)
            }
        )));
    }

    #[test]
    fn not_ready_within_is_a_failed_start_and_fatal_never_exits_0() {
        let mut db = probed("db", 1);
        db.ready.within = 2 * SEC;
        db.startretries = 1;
        let mut s = supervisor(vec![db, program("app", 2)]);
        let t0 = Instant::now();
        let mut now = t0;
        let out = s.start(now);
        spawn_all(&mut s, &out, now);
        for attempt in 0..2 {
            now += 2 * SEC;
            // Let every attempt time out until `within` passes.
            let out = s.on_timer(now);
            assert!(
                out.contains(&Command::Notice(0, Notice::NotReady { within: 2 * SEC })),
                "attempt {attempt}: {out:?}"
            );
            assert_eq!(signals_sent(&out), [(0, libc::SIGTERM), (0, libc::SIGCONT)]);
            // It exits cleanly on SIGTERM: still a failed start.
            let out = s.on_exit(0, ExitStatus::Exited(0), now);
            if attempt == 0 {
                assert!(
                    out.iter()
                        .any(|c| matches!(c, Command::Notice(0, Notice::Restarting { .. }))),
                    "{out:?}"
                );
                now += 10 * SEC;
                let out = s.on_timer(now);
                assert_eq!(spawns(&out), [0]);
                spawn_all(&mut s, &out, now);
            } else {
                assert!(out.contains(&Command::Notice(0, Notice::GaveUp)), "{out:?}");
                assert!(spawns(&out).is_empty(), "app never starts");
                assert!(out.contains(&Command::ShuttingDown(Reason::ProgramEnded {
                    program: 0,
                    ending: Ending {
                        code: 1,
                        success: false
                    }
                })));
                let out = s.on_reaped(vec![], false, now);
                assert_eq!(out.last(), Some(&Command::Exit(1)), "FATAL is never 0");
            }
        }
    }

    #[test]
    fn an_unhealthy_program_is_stopped_and_restarted_by_its_policy() {
        let mut web = program("web", 1);
        web.ready.kind = ReadyKind::Started;
        web.health = Some(crate::config::HealthSpec {
            probe: Probe::Tcp(([127, 0, 0, 1], 1).into()),
            interval: SEC,
            timeout: SEC,
            failures: 2,
        });
        let mut s = supervisor(vec![web]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        let mut now = t0;
        for n in 1..=2 {
            now += SEC;
            assert_eq!(probes_started(&s.on_timer(now)), [0]);
            let out = s.on_probe(0, Check::Health, Err("refused".into()), now);
            assert!(out.contains(&Command::Notice(
                0,
                Notice::HealthFailed {
                    reason: "refused".into(),
                    in_a_row: n,
                    of: 2
                }
            )));
            if n == 2 {
                assert!(out.contains(&Command::Notice(0, Notice::Unhealthy)));
                assert_eq!(signals_sent(&out), [(0, libc::SIGTERM), (0, libc::SIGCONT)]);
            }
        }
        let out = s.on_exit(0, ExitStatus::Signaled(libc::SIGTERM), now);
        assert!(
            out.iter()
                .any(|c| matches!(c, Command::Notice(0, Notice::Restarting { .. }))),
            "{out:?}"
        );
        assert!(!out.iter().any(|c| matches!(c, Command::ShuttingDown(_))));
    }

    #[test]
    fn an_unhealthy_program_without_restarts_has_ended_and_on_exit_decides() {
        let mut web = program("web", 1);
        web.ready.kind = ReadyKind::Started;
        web.autorestart = Autorestart::Never;
        web.health = Some(crate::config::HealthSpec {
            probe: Probe::Tcp(([127, 0, 0, 1], 1).into()),
            interval: SEC,
            timeout: SEC,
            failures: 1,
        });
        let mut s = supervisor(vec![web]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_timer(t0 + SEC);
        let out = s.on_probe(0, Check::Health, Err("refused".into()), t0 + SEC);
        assert!(out.contains(&Command::Notice(0, Notice::Unhealthy)));
        let out = s.on_exit(0, ExitStatus::Signaled(libc::SIGTERM), t0 + SEC);
        assert!(
            out.contains(&Command::ShuttingDown(Reason::ProgramEnded {
                program: 0,
                ending: Ending {
                    code: 128 + libc::SIGTERM,
                    success: false
                }
            })),
            "{out:?}"
        );
    }

    #[test]
    fn an_operators_stop_is_not_an_ending_and_start_brings_it_back() {
        let mut s = supervisor(vec![program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_timer(t0 + SEC);
        assert!(s.is_ready());
        let out = s.request_stop(0, t0 + 2 * SEC).unwrap();
        assert_eq!(signals_sent(&out), [(0, libc::SIGTERM), (0, libc::SIGCONT)]);
        let out = s.on_exit(0, ExitStatus::Signaled(libc::SIGTERM), t0 + 2 * SEC);
        assert!(
            !out.iter()
                .any(|c| matches!(c, Command::ShuttingDown(_) | Command::Exit(_))),
            "a stopped program must not end the container: {out:?}"
        );
        assert!(!s.is_ready() && s.is_live());
        assert_eq!(s.request_stop(0, t0 + 3 * SEC), Err(Refusal::NotRunning));
        let out = s.request_start(0, t0 + 3 * SEC).unwrap();
        assert_eq!(spawns(&out), [0]);
        spawn_all(&mut s, &out, t0 + 3 * SEC);
        assert_eq!(
            s.request_start(0, t0 + 3 * SEC),
            Err(Refusal::AlreadyStarted)
        );
        assert_eq!(s.programs[0].restarts(), 1);
        // Restarts are allowed again: a crash after the new start is restarted.
        s.on_timer(t0 + 4 * SEC);
        let out = s.on_exit(0, ExitStatus::Exited(1), t0 + 5 * SEC);
        assert!(
            out.iter()
                .any(|c| matches!(c, Command::Notice(0, program::Notice::Restarting { .. }))),
            "{out:?}"
        );
    }

    #[test]
    fn nothing_starts_or_stops_on_request_once_rinit_is_stopping() {
        let mut s = supervisor(vec![program("web", 1)]);
        let t0 = Instant::now();
        let out = s.start(t0);
        spawn_all(&mut s, &out, t0);
        s.on_signal(libc::SIGTERM, t0 + SEC);
        assert!(s.is_draining() && !s.is_ready());
        assert_eq!(s.request_start(0, t0 + SEC), Err(Refusal::ShuttingDown));
        assert_eq!(s.request_stop(0, t0 + SEC), Err(Refusal::ShuttingDown));
        assert!(
            s.request_signal(0, libc::SIGHUP).is_ok(),
            "signals still reach it"
        );
    }
}
