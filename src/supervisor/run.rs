//! The supervisor's driver: performs what [`Supervisor`] decides (spawn, signal, kill,
//! exit) and feeds back what happened (spawned, reaped, signals, timers).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::time::Instant;

use libc::c_int;

use super::program::Notice;
use super::{Command, Reason, Supervisor};
use crate::cleanup;
use crate::config::Plan;
use crate::reactor::Reactor;
use crate::sys::{reap, signals, spawn, tree};

/// Runs the plan's programs until the supervisor decides to exit; returns the exit code.
pub fn run(plan: Plan, reactor: &mut Reactor) -> i32 {
    let grace = plan.grace;
    let mut supervisor = Supervisor::new(plan);
    let mut driver = Driver {
        grace,
        reaped: Vec::new(),
    };
    let commands = supervisor.start(Instant::now());
    if let Some(code) = driver.perform(&mut supervisor, commands) {
        return code;
    }
    loop {
        let received: Vec<c_int> = reactor.wait(supervisor.deadline()).to_vec();
        let now = Instant::now();
        for sig in received {
            if sig == libc::SIGCHLD {
                continue; // reaping happens after every wake, below
            }
            let commands = supervisor.on_signal(sig, now);
            if let Some(code) = driver.perform(&mut supervisor, commands) {
                return code;
            }
        }
        let commands = driver.reap(&mut supervisor, now);
        if let Some(code) = driver.perform(&mut supervisor, commands) {
            return code;
        }
        if supervisor.deadline().is_some_and(|d| now >= d) {
            let commands = supervisor.on_timer(now);
            if let Some(code) = driver.perform(&mut supervisor, commands) {
                return code;
            }
        }
    }
}

struct Driver {
    grace: std::time::Duration,
    reaped: Vec<(libc::pid_t, reap::ExitStatus)>,
}

impl Driver {
    fn reap(&mut self, supervisor: &mut Supervisor, now: Instant) -> Vec<Command> {
        self.reaped.clear();
        let remaining = reap::reap_all(&mut self.reaped);
        let exits: Vec<_> = self
            .reaped
            .iter()
            .filter_map(|&(pid, status)| Some((supervisor.program_by_pid(pid)?, status)))
            .collect();
        supervisor.on_reaped(exits, remaining == reap::Remaining::Some, now)
    }

    /// Performs commands, and those that their results lead to, in order. Returns the
    /// exit code when the supervisor decides to exit.
    fn perform(&mut self, supervisor: &mut Supervisor, commands: Vec<Command>) -> Option<i32> {
        let mut queue: VecDeque<Command> = commands.into();
        while let Some(command) = queue.pop_front() {
            match command {
                Command::Spawn(_) if !supervisor.may_spawn() => {}
                Command::Spawn(index) => {
                    let now = Instant::now();
                    let more = match spawn_program(supervisor, index) {
                        Ok(pid) => supervisor.on_spawned(index, pid, now),
                        Err(err) => {
                            supervisor.on_spawn_failed(index, err.exit_code(), err.to_string(), now)
                        }
                    };
                    queue.extend(more);
                }
                Command::Signal {
                    program,
                    sig,
                    group,
                } => signal_program(supervisor, program, sig, group),
                Command::KillLingeringGroup { program, pgid } => {
                    // Only while one of rinit's descendants is still in the group: then
                    // its id cannot have been reused.
                    if tree::group_has_descendants(pgid) {
                        let name = &supervisor.programs()[program].spec.name;
                        crate::warn!("{name}: its process group outlived it: sending SIGKILL");
                        // SAFETY: plain kill of a process group that still has members.
                        unsafe { libc::kill(-pgid, libc::SIGKILL) };
                    }
                }
                Command::Notice(index, notice) => {
                    let name = &supervisor.programs()[index].spec.name;
                    crate::warn!("{name}: {}", describe(&notice));
                }
                Command::ShuttingDown(reason) => {
                    crate::warn!("{}", self.explain(supervisor, &reason))
                }
                Command::TerminateRest => {
                    let count = cleanup::terminate_rest(&[]);
                    if count > 0 {
                        crate::warn!("sent SIGTERM to {count} leftover process(es)");
                    }
                }
                Command::KillEverything => {
                    let groups: Vec<_> = supervisor
                        .programs()
                        .iter()
                        .filter_map(|p| p.pid())
                        .collect();
                    cleanup::signal_rest(libc::SIGKILL, &groups);
                    for &pid in &groups {
                        // SAFETY: plain kill of an unreaped program's process group.
                        unsafe { libc::kill(-pid, libc::SIGKILL) };
                    }
                }
                Command::ReportSurvivors => cleanup::report_survivors(),
                Command::Exit(code) => {
                    crate::warn!("exiting with code {code}");
                    return Some(code);
                }
            }
        }
        None
    }

    fn explain(&self, supervisor: &Supervisor, reason: &Reason) -> String {
        match reason {
            Reason::Signal(sig) => format!("received {}: shutting down", signals::name(*sig)),
            Reason::ProgramEnded { program, ending } => {
                let name = &supervisor.programs()[*program].spec.name;
                format!(
                    "{name} ended (code {}) and will not be restarted: shutting down",
                    ending.code
                )
            }
            Reason::SecondSignal => "second stop signal: sending SIGKILL to everything".into(),
            Reason::GraceExpired => format!(
                "grace period ({}) over: sending SIGKILL to everything",
                humantime::format_duration(self.grace)
            ),
        }
    }
}

fn spawn_program(supervisor: &Supervisor, index: usize) -> Result<libc::pid_t, spawn::SpawnError> {
    let spec = &supervisor.programs()[index].spec;
    let argv: Vec<OsString> = spec.command.iter().map(OsString::from).collect();
    let request = spawn::SpawnRequest {
        argv: &argv,
        terminal: None,
        new_session: true,
        env: &spec.environment,
        directory: spec.directory.as_deref(),
        user: spec.user.as_ref(),
        umask: spec.umask,
    };
    spawn::spawn(&request)
}

fn signal_program(supervisor: &Supervisor, index: usize, sig: c_int, group: bool) {
    let Some(pid) = supervisor.programs()[index].pid() else {
        return;
    };
    if let Err(err) = tree::signal_child(pid, sig, group) {
        let name = &supervisor.programs()[index].spec.name;
        crate::warn!("{name}: cannot send {}: {err}", signals::name(sig));
    }
}

/// The text of an event line, after `rinit: NAME: `.
pub fn describe(notice: &Notice) -> String {
    let duration = |d: &std::time::Duration| humantime::format_duration(*d).to_string();
    match notice {
        Notice::Started { pid } => format!("started (pid {pid})"),
        Notice::SpawnFailed { message } => message.clone(),
        Notice::Running => "running".into(),
        Notice::Exited { status, expected } => format!(
            "exited with {status} ({})",
            if *expected { "expected" } else { "unexpected" }
        ),
        Notice::Restarting { delay, attempt, of } => match of {
            Some(of) => format!(
                "restarting in {} (attempt {attempt} of {of})",
                duration(delay)
            ),
            None => format!(
                "restarting in {} (restart {attempt} in a row)",
                duration(delay)
            ),
        },
        Notice::GaveUp => "gave up (FATAL)".into(),
        Notice::Stopping { sig } => format!("stopping with {}", signals::name(*sig)),
        Notice::StopTimeout => "did not stop in time: sending SIGKILL".into(),
        Notice::Stopped { status } => format!("stopped ({status})"),
        Notice::Done => "done: will not be restarted".into(),
    }
}
