//! The one place rinit sleeps: `poll` on the signal pipe with a timeout equal to the
//! nearest deadline. With no deadline it sleeps until a signal arrives, so an idle rinit
//! makes no wakeups at all.

use std::time::Instant;

use libc::c_int;

use crate::sys::signals::SignalPipe;

pub struct Reactor {
    signals: SignalPipe,
    pending: Vec<c_int>,
}

impl Reactor {
    pub fn new(signals: SignalPipe) -> Self {
        Reactor {
            signals,
            pending: Vec::new(),
        }
    }

    /// Sleeps until a signal arrives or `deadline` passes, then returns the signals
    /// received, in order (possibly none, on timeout).
    pub fn wait(&mut self, deadline: Option<Instant>) -> &[c_int] {
        self.pending.clear();
        let timeout_ms = deadline.map(|d| millis_until(d, Instant::now()));
        let mut fds = [libc::pollfd {
            fd: self.signals.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: fds is a live array of one pollfd.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms.unwrap_or(-1)) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                crate::warn!("poll failed: {err}");
            }
        }
        // Drain even on EINTR: the handler that interrupted poll wrote a byte.
        self.signals.drain(&mut self.pending);
        &self.pending
    }
}

/// Milliseconds to sleep until `deadline`, rounded up so rinit never wakes a little early
/// and spins; capped to what poll accepts.
fn millis_until(deadline: Instant, now: Instant) -> c_int {
    let left = deadline.saturating_duration_since(now);
    let ms = left.as_nanos().div_ceil(1_000_000);
    ms.min(c_int::MAX as u128) as c_int
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timeout_rounds_up_and_never_goes_negative() {
        let now = Instant::now();
        assert_eq!(millis_until(now, now), 0);
        assert_eq!(millis_until(now, now + Duration::from_secs(1)), 0);
        assert_eq!(millis_until(now + Duration::from_micros(1), now), 1);
        assert_eq!(millis_until(now + Duration::from_millis(1500), now), 1500);
        let far = now + Duration::from_secs(100 * 86_400);
        assert_eq!(millis_until(far, now), c_int::MAX);
    }
}
