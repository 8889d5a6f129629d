//! How a process ended, as a plain value. Pure; every layer may use it.

use libc::c_int;

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

    /// Decodes a `waitpid` status (pure bit arithmetic).
    pub fn from_wait_status(status: c_int) -> Self {
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
            ExitStatus::Signaled(sig) => write!(f, "signal {}", super::signal::name(sig)),
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
