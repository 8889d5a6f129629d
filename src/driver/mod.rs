//! The drivers: they perform what the pure machines in `supervisor/` decide (spawn,
//! signal, kill, exit) and feed back what happened (spawned, reaped, signals, timers,
//! readable pipes). Both modes run the same loop, [`drive`]; each says what an event
//! means through [`Mode`].

pub mod cleanup;
pub mod control;
pub mod probe;
pub mod single;
pub mod supervise;

use std::os::fd::RawFd;
use std::time::Instant;

use libc::{c_int, pid_t};

use crate::log::Sink;
use crate::plain::ExitStatus;
use crate::reactor::Reactor;
use crate::sys::reap::{self, Remaining};

/// What one mode does with each kind of event. `Some(code)`: rinit exits with it.
pub trait Mode {
    /// Where rinit's own lines go.
    fn log(&self) -> &dyn Sink;
    /// The nearest time [`Mode::on_deadline`] must be called, if any.
    fn deadline(&self) -> Option<Instant>;
    /// The fds to wait on for reading (pipes, sockets), besides the signalfd.
    fn watch(&self, _fds: &mut Vec<RawFd>) {}
    /// The fds to wait on for writing (a connect in progress).
    fn watch_writable(&self, _fds: &mut Vec<RawFd>) {}
    /// A watched fd is ready (or at its end, or in error).
    fn on_readable(&mut self, _fd: RawFd) -> Option<i32> {
        None
    }
    /// A signal other than SIGCHLD (reaping follows every wake-up anyway).
    fn on_signal(&mut self, sig: c_int, now: Instant) -> Option<i32>;
    /// After every wake-up: reap what exited and react.
    fn on_reap(&mut self, now: Instant) -> Option<i32>;
    /// The time from [`Mode::deadline`] has come.
    fn on_deadline(&mut self, now: Instant) -> Option<i32>;
}

/// The one loop: sleep in the reactor until a signal, a readable pipe or the nearest
/// deadline; then ready fds, signals, reaping and deadlines, in that order (output read
/// before the news of an exit). Returns the code rinit must exit with.
pub fn drive(mode: &mut impl Mode, reactor: &mut Reactor) -> i32 {
    let mut watch = Vec::new();
    let mut watch_writable = Vec::new();
    let mut received = Vec::new();
    let mut readable = Vec::new();
    loop {
        watch.clear();
        mode.watch(&mut watch);
        watch_writable.clear();
        mode.watch_writable(&mut watch_writable);
        let wake = reactor.wait(mode.deadline(), &watch, &watch_writable);
        received.clear();
        received.extend_from_slice(wake.signals);
        readable.clear();
        readable.extend_from_slice(wake.readable);
        if let Some(err) = wake.error {
            crate::warn!(mode.log(), "ppoll failed: {err}; retrying in 10ms");
        }
        let now = Instant::now();
        for &fd in &readable {
            if let Some(code) = mode.on_readable(fd) {
                return code;
            }
        }
        for &sig in &received {
            if sig == libc::SIGCHLD {
                continue;
            }
            if let Some(code) = mode.on_signal(sig, now) {
                return code;
            }
        }
        if let Some(code) = mode.on_reap(now) {
            return code;
        }
        if mode.deadline().is_some_and(|d| now >= d)
            && let Some(code) = mode.on_deadline(now)
        {
            return code;
        }
    }
}

/// Reaps everything that has exited into `out` (cleared first); tells whether rinit
/// still has children. On an unexpected waitpid error, says so and assumes it has.
pub fn reap(log: &dyn Sink, out: &mut Vec<(pid_t, ExitStatus)>) -> Remaining {
    out.clear();
    reap::reap_all(out).unwrap_or_else(|err| {
        crate::warn!(log, "waitpid failed: {err}");
        Remaining::Some
    })
}
