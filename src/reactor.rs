//! The one place rinit sleeps: `ppoll` on the signalfd with a timeout equal to the
//! nearest deadline. With no deadline it sleeps until a signal arrives, so an idle rinit
//! makes no wakeups at all. (`ppoll` for its nanosecond timeout; the mask stays as is.)

use std::time::Instant;

use libc::c_int;

use crate::sys::signals::SignalFd;

pub struct Reactor {
    signals: SignalFd,
    pending: Vec<c_int>,
}

impl Reactor {
    pub fn new(signals: SignalFd) -> Self {
        Reactor {
            signals,
            pending: Vec::new(),
        }
    }

    /// Sleeps until a signal arrives or `deadline` passes, then returns the signals
    /// received, in order (possibly none, on timeout).
    pub fn wait(&mut self, deadline: Option<Instant>) -> &[c_int] {
        self.pending.clear();
        let timeout = deadline.map(|d| timespec_until(d, Instant::now()));
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        let mut fds = [libc::pollfd {
            fd: self.signals.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: fds is a live array of one pollfd; timeout is valid or null; a null
        // mask leaves the signal mask unchanged.
        let rc = unsafe { libc::ppoll(fds.as_mut_ptr(), 1, timeout_ptr, std::ptr::null()) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                // Only ENOMEM is possible with valid arguments. Pause briefly instead
                // of spinning; signals stay pending in the signalfd meanwhile.
                crate::warn!("ppoll failed: {err}; retrying in 10ms");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        self.signals.drain(&mut self.pending);
        &self.pending
    }
}

/// Time left until `deadline`, never negative, capped at a century (well within
/// time_t) for absurd grace periods.
fn timespec_until(deadline: Instant, now: Instant) -> libc::timespec {
    const CAP_SECS: u64 = 100 * 365 * 86_400;
    let left = deadline.saturating_duration_since(now);
    let (secs, nanos) = if left.as_secs() >= CAP_SECS {
        (CAP_SECS, 0)
    } else {
        (left.as_secs(), left.subsec_nanos())
    };
    // SAFETY: timespec is plain data; zero is a valid value.
    let mut timespec: libc::timespec = unsafe { std::mem::zeroed() };
    timespec.tv_sec = secs as _;
    timespec.tv_nsec = nanos as _;
    timespec
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parts(t: libc::timespec) -> (u64, u64) {
        (t.tv_sec as u64, t.tv_nsec as u64)
    }

    #[test]
    fn timeout_is_exact_never_negative_and_capped() {
        let now = Instant::now();
        assert_eq!(parts(timespec_until(now, now)), (0, 0));
        assert_eq!(
            parts(timespec_until(now, now + Duration::from_secs(1))),
            (0, 0)
        );
        let later = now + Duration::from_millis(1500);
        assert_eq!(parts(timespec_until(later, now)), (1, 500_000_000));
        let far = now + Duration::from_secs(1_000 * 365 * 86_400);
        assert_eq!(parts(timespec_until(far, now)), (100 * 365 * 86_400, 0));
    }
}
