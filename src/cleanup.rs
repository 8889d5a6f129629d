//! Leftover processes: what both modes do once their own children are gone, so that
//! nothing is left behind (see README, "Nothing left behind").

use std::time::Duration;

use libc::{c_int, pid_t};

use crate::sys::tree;

/// How long rinit waits for processes to disappear after SIGKILL before it exits anyway.
/// SIGKILL is final; only a process stuck in the kernel (D state, a hung NFS mount) or
/// one rinit could not signal outlives it, and waiting forever would hang the container.
pub const KILL_WAIT: Duration = Duration::from_secs(2);

/// Signals every descendant of rinit; returns how many were signalled. When they cannot
/// be found (no usable /proc), falls back to the given process groups, where most
/// leftovers live (a group id cannot be reused while any member exists).
pub fn signal_rest(sig: c_int, fallback_groups: &[pid_t]) -> usize {
    match tree::signal_descendants(sig) {
        Ok(count) => count,
        Err(err) => {
            if sig != libc::SIGCONT {
                crate::warn!("cannot find leftover processes ({err}); signalling process groups");
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
pub fn terminate_rest(fallback_groups: &[pid_t]) -> usize {
    let count = signal_rest(libc::SIGTERM, fallback_groups);
    signal_rest(libc::SIGCONT, fallback_groups);
    count
}

/// Says what is still alive [`KILL_WAIT`] after SIGKILL, before rinit exits anyway.
pub fn report_survivors() {
    let wait = humantime::format_duration(KILL_WAIT);
    match tree::my_descendants() {
        Ok(pids) => crate::warn!(
            "{} process(es) still exist {wait} after SIGKILL, exiting anyway: {pids:?}",
            pids.len()
        ),
        Err(_) => crate::warn!("processes still exist {wait} after SIGKILL, exiting anyway"),
    }
}
