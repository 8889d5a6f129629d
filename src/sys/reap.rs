//! Reaping: collect every exited child, ours or re-parented, without blocking.

use libc::{c_int, pid_t};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(c_int),
}

impl ExitStatus {
    /// The shell convention, which is also what Docker reports: the exit status, or
    /// 128+N for death by signal N.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }

    fn from_wait_status(status: c_int) -> Self {
        if libc::WIFSIGNALED(status) {
            ExitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        }
    }
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            ExitStatus::Exited(code) => write!(f, "exit status {code}"),
            ExitStatus::Signaled(sig) => write!(f, "signal {}", super::signals::name(sig)),
        }
    }
}

/// Whether rinit still has children after a reaping pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remaining {
    Some,
    None,
}

/// `waitpid(-1, WNOHANG)` until nothing more is ready. Appends `(pid, status)` for each
/// reaped process and tells whether any child is left.
///
/// When rinit is PID 1 or a subreaper every descendant whose parent died is re-parented
/// to it, so "no child left" means "no descendant left".
pub fn reap_all(out: &mut Vec<(pid_t, ExitStatus)>) -> Remaining {
    loop {
        let mut status: c_int = 0;
        // SAFETY: status points to a live c_int.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            out.push((pid, ExitStatus::from_wait_status(status)));
            continue;
        }
        if pid == 0 {
            return Remaining::Some;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Remaining::None,
            _ => {
                // Only EINVAL is documented, for bad options; ours are constant.
                crate::warn!("waitpid failed: {}", std::io::Error::last_os_error());
                return Remaining::Some;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(ExitStatus::Exited(0).code(), 0);
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(libc::SIGKILL).code(), 137);
        assert_eq!(ExitStatus::Signaled(libc::SIGTERM).code(), 143);
    }

    #[test]
    fn decodes_wait_statuses() {
        // Encoded as the kernel does: exit code in bits 8..16, signal in bits 0..7.
        assert_eq!(ExitStatus::from_wait_status(5 << 8), ExitStatus::Exited(5));
        assert_eq!(ExitStatus::from_wait_status(9), ExitStatus::Signaled(9));
        assert_eq!(
            ExitStatus::from_wait_status(9 | 0x80),
            ExitStatus::Signaled(9)
        );
    }
}
