//! rinit's own messages, written to a [`Sink`] that the caller passes in: the output
//! mux while programs are supervised (their format, in order with their lines), else
//! [`Stderr`]. No global sink: whoever owns the output owns where rinit's lines go.
//!
//! `eprintln!` panics when stderr is closed or broken; PID 1 must not, so no sink
//! panics on a write error, and none blocks the reactor.

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::output::mux::Mux;
use crate::output::writer::Writer;

/// `-v`: set once at start-up, before any line; a setting, not a sink.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns on informational messages (`-v`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Where one of rinit's lines goes.
pub trait Sink {
    fn line(&self, args: std::fmt::Arguments<'_>);
}

/// While supervising: through the mux, formatted like the programs' lines.
impl Sink for Mux {
    fn line(&self, args: std::fmt::Arguments<'_>) {
        self.own_line(&args.to_string());
    }
}

/// Without the mux (`rinit -- CMD`, or before supervision starts): `rinit: MESSAGE` on
/// stderr in one write, so it is not torn by programs sharing the same stderr, through
/// a writer thread started at the first line, so that a stalled stderr never blocks.
#[derive(Default)]
pub struct Stderr {
    /// The writer with its wake pipe (unused: nothing reads this writer's backpressure).
    writer: OnceLock<Option<(Writer, OwnedFd, OwnedFd)>>,
}

impl Stderr {
    fn writer(&self) -> Option<&Writer> {
        let plain = self.writer.get_or_init(|| {
            let flags = nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK;
            let (read, write) = nix::unistd::pipe2(flags).ok()?;
            let writer = Writer::spawn(2, "stderr", 1 << 20, false, write.as_raw_fd(), None);
            Some((writer.ok()?, read, write))
        });
        plain.as_ref().map(|(writer, _, _)| writer)
    }

    /// Before rinit exits: waits (at most until `deadline`) for its queued lines.
    pub fn flush(&self, deadline: std::time::Instant) {
        if let Some(Some((writer, _, _))) = self.writer.get() {
            writer.flush(deadline);
        }
    }
}

impl Sink for Stderr {
    fn line(&self, args: std::fmt::Arguments<'_>) {
        let line = format!("rinit: {args}\n");
        match self.writer() {
            Some(writer) => writer.push(line.into_bytes()),
            None => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
    }
}

/// A warning or error, always shown: `warn!(sink, "format", args...)`.
#[macro_export]
macro_rules! warn {
    ($sink:expr, $($arg:tt)*) => { $crate::log::Sink::line($sink, format_args!($($arg)*)) };
}

/// An event worth knowing only when debugging: shown with `-v`.
#[macro_export]
macro_rules! info {
    ($sink:expr, $($arg:tt)*) => {
        if $crate::log::verbose() { $crate::log::Sink::line($sink, format_args!($($arg)*)) }
    };
}
