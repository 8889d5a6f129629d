//! Leftover processes: what both modes do once their own children are gone, so that
//! nothing is left behind (see README, "Nothing left behind").

use libc::{c_int, pid_t};

use crate::log::Sink;
use crate::supervisor::endgame::KILL_WAIT;
use crate::sys::tree;

/// Signals every descendant of rinit; returns how many were signalled. When they cannot
/// be found (no usable /proc), falls back to the given process groups, where most
/// leftovers live (a group id cannot be reused while any member exists).
pub fn signal_rest(log: &dyn Sink, sig: c_int, fallback_groups: &[pid_t]) -> usize {
    match tree::signal_descendants(sig) {
        Ok(count) => count,
        Err(err) => {
            if sig != libc::SIGCONT {
                crate::warn!(
                    log,
                    "cannot find leftover processes ({err}); signalling process groups"
                );
            }
            fallback_groups
                .iter()
                // SAFETY: plain kill of a process group.
                .filter(|&&group| unsafe { libc::kill(-group, sig) } == 0)
                .count()
        }
    }
}

/// SIGTERM, then SIGCONT so that stopped processes can act on it. Returns the count.
pub fn terminate_rest(log: &dyn Sink, fallback_groups: &[pid_t]) -> usize {
    let count = signal_rest(log, libc::SIGTERM, fallback_groups);
    signal_rest(log, libc::SIGCONT, fallback_groups);
    count
}

/// Says what is still alive [`KILL_WAIT`] after SIGKILL, before rinit exits anyway.
pub fn report_survivors(log: &dyn Sink) {
    let wait = humantime::format_duration(KILL_WAIT);
    match tree::my_descendants() {
        Ok(pids) => crate::warn!(
            log,
            "{} process(es) still exist {wait} after SIGKILL, exiting anyway: {pids:?}",
            pids.len()
        ),
        Err(_) => crate::warn!(
            log,
            "processes still exist {wait} after SIGKILL, exiting anyway"
        ),
    }
}
