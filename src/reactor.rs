//! The one place rinit sleeps: `ppoll` on the signalfd with a timeout equal to the
//! nearest deadline. With no deadline it sleeps until a signal arrives, so an idle rinit
//! makes no wakeups at all. (`ppoll` for its nanosecond timeout; the mask stays as is.)

use std::os::fd::RawFd;
use std::time::Instant;

use libc::c_int;

use crate::sys::signals::SignalFd;

/// After a failed `ppoll`: how long to pause before the caller tries again (the
/// driver's message says 10ms).
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

pub struct Reactor {
    signals: SignalFd,
    pending: Vec<c_int>,
    pollfds: Vec<libc::pollfd>,
    readable: Vec<RawFd>,
}

/// What woke the reactor.
pub struct Wake<'a> {
    /// Signals received, in order.
    pub signals: &'a [c_int],
    /// Watched fds that are ready (readable, or writable for those watched for
    /// writing), or at end of file or in error (a read or write will say).
    pub readable: &'a [RawFd],
    /// `ppoll` failed (only ENOMEM is possible): the caller says so; the reactor has
    /// paused briefly instead of spinning, and signals stay pending meanwhile.
    pub error: Option<std::io::Error>,
}

impl Reactor {
    pub fn new(signals: SignalFd) -> Self {
        Reactor {
            signals,
            pending: Vec::new(),
            pollfds: Vec::new(),
            readable: Vec::new(),
        }
    }

    /// Sleeps until a signal arrives, one of `watch` becomes readable, one of
    /// `watch_writable` writable (a connect in progress), or `deadline` passes (possibly
    /// returning nothing, on timeout).
    pub fn wait(
        &mut self,
        deadline: Option<Instant>,
        watch: &[RawFd],
        watch_writable: &[RawFd],
    ) -> Wake<'_> {
        self.pending.clear();
        self.readable.clear();
        let timeout = deadline.map(|d| timespec_until(d, Instant::now()));
        let timeout_ptr = timeout
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        self.pollfds.clear();
        let poll = |events| {
            move |&fd: &RawFd| libc::pollfd {
                fd,
                events,
                revents: 0,
            }
        };
        self.pollfds.push(poll(libc::POLLIN)(&self.signals.fd()));
        self.pollfds.extend(watch.iter().map(poll(libc::POLLIN)));
        self.pollfds
            .extend(watch_writable.iter().map(poll(libc::POLLOUT)));
        // SAFETY: pollfds is a live array of that many pollfd; timeout is valid or null;
        // a null mask leaves the signal mask unchanged.
        let rc = unsafe {
            libc::ppoll(
                self.pollfds.as_mut_ptr(),
                self.pollfds.len() as libc::nfds_t,
                timeout_ptr,
                std::ptr::null(),
            )
        };
        let mut error = None;
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                std::thread::sleep(RETRY_PAUSE);
                error = Some(err);
            }
        } else if rc > 0 {
            let ready =
                libc::POLLIN | libc::POLLOUT | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL;
            self.readable.extend(
                self.pollfds[1..]
                    .iter()
                    .filter(|p| p.revents & ready != 0)
                    .map(|p| p.fd),
            );
        }
        self.signals.drain(&mut self.pending);
        Wake {
            signals: &self.pending,
            readable: &self.readable,
            error,
        }
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
