//! Single-command mode: `rinit [OPTIONS] -- CMD [ARGS...]`, the tini / dumb-init drop-in.
//!
//! This file performs what [`Policy`] decides; the decisions themselves are pure and
//! tested in `supervisor/single.rs`.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use super::{Mode, cleanup};
use crate::log::Sink;
use crate::plain::{ExitStatus, signal};
use crate::reactor::Reactor;
use crate::supervisor::single::{Action, KillReason, Policy};
use crate::sys::{reap, spawn, tree, tty};

pub struct Options {
    pub argv: Vec<OsString>,
    pub grace: Duration,
    /// The drain delay: how long a stop request waits before it is forwarded.
    pub stop_delay: Duration,
    /// Forward signals to the child only, not to its whole process group.
    pub single_child: bool,
}

/// Runs the command as rinit's child and returns the code rinit must exit with.
pub fn run(options: Options, reactor: &mut Reactor, log: &dyn Sink) -> i32 {
    let terminal = tty::foreground_terminal();
    let request = spawn::SpawnRequest {
        terminal,
        ..spawn::SpawnRequest::command(&options.argv)
    };
    let child = match spawn::spawn(&request) {
        Ok(pid) => pid,
        Err(err) => {
            crate::warn!(log, "{err}");
            return err.exit_code();
        }
    };
    crate::info!(log, "started {:?} as pid {child}", options.argv[0]);

    let mut driver = Driver {
        log,
        child,
        child_alive: true,
        single_child: options.single_child,
        gave_terminal: terminal,
        policy: Policy::new(options.grace, options.stop_delay),
        orphans_reaped: 0,
        kill_announced: false,
        reaped: Vec::new(),
    };
    // The child may already have exited before the first wait: reap once up front.
    if let Some(code) = driver.on_reap(Instant::now()) {
        return code;
    }
    super::drive(&mut driver, reactor)
}

struct Driver<'a> {
    log: &'a dyn Sink,
    child: pid_t,
    child_alive: bool,
    single_child: bool,
    gave_terminal: Option<std::os::fd::RawFd>,
    policy: Policy,
    orphans_reaped: u64,
    kill_announced: bool,
    reaped: Vec<(pid_t, ExitStatus)>,
}

impl Mode for Driver<'_> {
    fn log(&self) -> &dyn Sink {
        self.log
    }

    fn deadline(&self) -> Option<Instant> {
        self.policy.deadline()
    }

    fn on_signal(&mut self, sig: c_int, now: Instant) -> Option<i32> {
        let actions = self.policy.on_signal(sig, now);
        crate::info!(self.log, "received {}", signal::name(sig));
        self.perform(actions)
    }

    /// Reaps everything that has exited and lets the policy react.
    fn on_reap(&mut self, now: Instant) -> Option<i32> {
        let remaining = super::reap(self.log, &mut self.reaped);
        let mut child_status = None;
        for &(pid, status) in &self.reaped {
            if pid == self.child {
                child_status = Some(status);
            } else {
                self.orphans_reaped += 1;
            }
        }
        if let Some(status) = child_status {
            self.child_alive = false;
            crate::info!(self.log, "child {} exited with {status}", self.child);
            if let Some(fd) = self.gave_terminal.take() {
                tty::take_terminal_back(fd);
            }
        }
        if child_status.is_none() && self.reaped.is_empty() && remaining == reap::Remaining::Some {
            return None; // nothing happened
        }
        let others_left = remaining == reap::Remaining::Some;
        let actions = self.policy.on_reaped(child_status, others_left, now);
        self.perform(actions)
    }

    fn on_deadline(&mut self, now: Instant) -> Option<i32> {
        let actions = self.policy.on_deadline(now);
        self.perform(actions)
    }
}

impl Driver<'_> {
    fn perform(&mut self, actions: Vec<Action>) -> Option<i32> {
        for action in actions {
            match action {
                Action::Forward(sig) => self.forward(sig),
                Action::TerminateRest => {
                    let count = cleanup::terminate_rest(self.log, &[self.child]);
                    crate::warn!(
                        self.log,
                        "main process exited; sent SIGTERM to {count} leftover process(es)"
                    );
                }
                Action::KillEverything => self.kill_everything(),
                Action::ReportSurvivors => cleanup::report_survivors(self.log),
                Action::Exit(code) => {
                    crate::info!(
                        self.log,
                        "exiting with {code} ({} orphans reaped)",
                        self.orphans_reaped
                    );
                    return Some(code);
                }
            }
        }
        None
    }

    fn forward(&self, sig: c_int) {
        if !self.child_alive {
            return;
        }
        if let Err(err) = tree::signal_child(self.child, sig, !self.single_child) {
            crate::warn!(self.log, "cannot forward {}: {err}", signal::name(sig));
        }
    }

    fn kill_everything(&mut self) {
        // Descendants first, while the child is still alive to be counted among them;
        // then its group, for anything the scan could not see.
        let count = cleanup::signal_rest(self.log, libc::SIGKILL, &[self.child]);
        if self.child_alive {
            // SAFETY: plain kill of the child's (still valid) process group.
            unsafe { libc::kill(-self.child, libc::SIGKILL) };
        }
        if !self.kill_announced {
            self.kill_announced = true;
            let why = match self.policy.kill_reason() {
                Some(KillReason::RepeatedStopSignal) => "second stop signal",
                Some(KillReason::GraceExpired) | None => "grace period over",
            };
            crate::warn!(self.log, "{why}: sent SIGKILL to {count} process(es)");
        }
    }
}
