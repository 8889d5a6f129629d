//! rinit's own messages on stderr.
//!
//! `eprintln!` panics when stderr is closed or broken; PID 1 must not, so every message
//! goes through [`write_line`], which ignores write errors.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns on informational messages (`-v`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Writes `rinit: MESSAGE\n` to stderr in one write, so it is not torn by programs
/// sharing the same stderr.
pub fn write_line(args: std::fmt::Arguments<'_>) {
    let line = format!("rinit: {args}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
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
