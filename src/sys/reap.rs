//! Reaping: collect every exited child, ours or re-parented, without blocking.

use libc::{c_int, pid_t};

use crate::plain::ExitStatus;

/// Whether rinit still has children after a reaping pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remaining {
    Some,
    None,
}

/// `waitpid(-1, WNOHANG)` until nothing more is ready. Appends `(pid, status)` for each
/// reaped process and tells whether any child is left; an unexpected error (only
/// EINVAL is documented, for bad options, and ours are constant) is returned as is.
///
/// When rinit is PID 1 or a subreaper every descendant whose parent died is re-parented
/// to it, so "no child left" means "no descendant left".
pub fn reap_all(out: &mut Vec<(pid_t, ExitStatus)>) -> std::io::Result<Remaining> {
    loop {
        let mut status: c_int = 0;
        // SAFETY: status points to a live c_int.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            out.push((pid, ExitStatus::from_wait_status(status)));
            continue;
        }
        if pid == 0 {
            return Ok(Remaining::Some);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Ok(Remaining::None),
            _ => return Err(err),
        }
    }
}
