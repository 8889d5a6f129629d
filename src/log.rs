//! rinit's own messages on stderr.
//!
//! `eprintln!` panics when stderr is closed or broken; PID 1 must not, so every message
//! goes through [`write_line`], which ignores write errors.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::output::writer::Writer;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns on informational messages (`-v`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

type SharedMux = Arc<Mutex<crate::output::mux::Mux>>;

/// Set while rinit supervises programs: its lines then go through the output mux, in
/// the programs' format, and never block.
static MUX: Mutex<Option<SharedMux>> = Mutex::new(None);

pub fn set_mux(mux: SharedMux) {
    *MUX.lock().unwrap_or_else(|p| p.into_inner()) = Some(mux);
}

/// The mux, while lines go through it.
pub fn mux() -> Option<SharedMux> {
    MUX.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Stops routing lines through the mux (before it is flushed for the last time).
pub fn take_mux() -> Option<SharedMux> {
    MUX.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Writes one of rinit's lines: through the mux when supervising, else `rinit: MESSAGE`
/// to stderr in one write, so it is not torn by programs sharing the same stderr.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let mux = MUX.lock().ok().and_then(|guard| guard.clone());
    if let Some(mux) = mux
        && let Ok(mux) = mux.try_lock()
    {
        mux.own_line(&text);
        return;
    }
    let line = format!("rinit: {text}\n");
    match plain_writer() {
        Some(writer) => writer.push(line.into_bytes()),
        None => {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// The writer of rinit's lines without the mux, with its wake pipe (unused: nothing
/// reads this writer's backpressure).
static PLAIN: OnceLock<Option<(Writer, OwnedFd, OwnedFd)>> = OnceLock::new();

/// Without the mux (`rinit -- CMD`, or before supervision starts), rinit's lines go
/// through their own writer thread, started at the first line, so that a stalled stderr
/// never blocks the reactor.
fn plain_writer() -> Option<&'static Writer> {
    let plain = PLAIN.get_or_init(|| {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .ok()?;
        let writer = Writer::spawn(2, "stderr", 1 << 20, false, write.as_raw_fd(), None).ok()?;
        Some((writer, read, write))
    });
    plain.as_ref().map(|(writer, _, _)| writer)
}

/// Before rinit exits: waits (at most until `deadline`) for its queued lines.
pub fn flush(deadline: std::time::Instant) {
    if let Some(Some((writer, _, _))) = PLAIN.get() {
        writer.flush(deadline);
    }
}

/// A warning or error: always shown.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::write_line(format_args!($($arg)*)) };
}

/// An event worth knowing only when debugging: shown with `-v`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        if $crate::log::verbose() { $crate::log::write_line(format_args!($($arg)*)) }
    };
}
