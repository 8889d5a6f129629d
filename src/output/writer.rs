//! A thread that writes whole lines to one of rinit's own fds (stdout or stderr), fed by
//! a bounded queue, so a slow or stalled reader of rinit's output never blocks the
//! reactor. rinit's fds stay blocking: their file description is shared with programs
//! that inherit it, and O_NONBLOCK would leak to them.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// In atomic mode, writes are cut at line boundaries to at most this size: a pipe write
/// of at most PIPE_BUF bytes is atomic, so lines cannot be torn by another writer of the
/// same pipe (a program with `output = "inherit"`).
pub const ATOMIC_WRITE: usize = 4096;

/// Spare buffers kept for reuse: one per chunk read would otherwise be allocated, and
/// freed by another thread, for every 64 KiB of output.
const SPARES: usize = 8;

struct State {
    queue: VecDeque<Vec<u8>>,
    /// Bytes queued plus bytes being written.
    bytes: usize,
    /// The reactor stopped reading programs' pipes because the queue was full; wake it
    /// when there is room again.
    reactor_waits: bool,
    /// The fd is gone (EPIPE, or another error): lines are dropped from now on.
    broken: bool,
    spare: Vec<Vec<u8>>,
    /// Bytes dropped because the queue was far over its limit (the reader stalled while
    /// programs kept exiting with output to drain); reported once the queue empties.
    dropped: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when lines are queued.
    work: Condvar,
    /// Signalled when the queue becomes empty.
    drained: Condvar,
    limit: usize,
    /// Cut writes to [`ATOMIC_WRITE`] bytes, at line boundaries.
    atomic: bool,
    fd: RawFd,
    /// Written to (one byte) to wake the reactor when room frees up.
    wake_fd: RawFd,
    name: &'static str,
    /// Says, once, that the fd is gone (as one of rinit's own lines, elsewhere).
    report: Option<Reporter>,
}

/// Writes one of rinit's own lines (to the other writer, in the configured format).
pub type Reporter = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

impl Writer {
    /// Starts the thread writing to `fd`. `limit`: queued bytes beyond which
    /// [`Writer::has_room`] says no. `wake_fd`: a non-blocking pipe the reactor polls.
    /// `atomic`: another process may write to the same fd, so cut writes to what a pipe
    /// writes atomically (slower: more, smaller writes).
    pub fn spawn(
        fd: RawFd,
        name: &'static str,
        limit: usize,
        atomic: bool,
        wake_fd: RawFd,
        report: Option<Reporter>,
    ) -> std::io::Result<Writer> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                reactor_waits: false,
                broken: false,
                spare: Vec::new(),
                dropped: 0,
            }),
            work: Condvar::new(),
            drained: Condvar::new(),
            limit,
            atomic,
            fd,
            wake_fd,
            name,
            report,
        });
        let for_thread = shared.clone();
        std::thread::Builder::new()
            .name(format!("rinit-{name}"))
            .spawn(move || write_loop(&for_thread))?;
        Ok(Writer { shared })
    }

    /// Whether the reactor may read more program output for this destination. When not,
    /// the writer wakes the reactor once the queue has drained to half the limit.
    pub fn has_room(&self) -> bool {
        let mut state = lock(&self.shared.state);
        let room = state.bytes < self.shared.limit;
        if !room {
            state.reactor_waits = true;
        }
        room
    }

    /// An empty buffer to format lines into, reused when possible.
    pub fn buffer(&self) -> Vec<u8> {
        lock(&self.shared.state).spare.pop().unwrap_or_default()
    }

    /// Queues formatted lines (one or more, each ending in a newline). Never blocks;
    /// callers check [`Writer::has_room`] before reading more input.
    pub fn push(&self, lines: Vec<u8>) {
        if lines.is_empty() {
            return;
        }
        let mut state = lock(&self.shared.state);
        if state.broken {
            return;
        }
        // The reactor stops reading at the limit; only drains at exit and rinit's own
        // lines go past it. Past four times the limit memory wins over completeness.
        if state.bytes > self.shared.limit * 4 {
            state.dropped += lines.len();
            return;
        }
        state.bytes += lines.len();
        state.queue.push_back(lines);
        self.shared.work.notify_one();
    }

    /// Waits until everything queued is written, or `deadline`. Returns whether it was.
    pub fn flush(&self, deadline: Instant) -> bool {
        let mut state = lock(&self.shared.state);
        while state.bytes > 0 && !state.broken {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.shared.drained.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

/// Locks, ignoring poisoning: the writer thread never panics while holding the lock,
/// and PID 1 must not stop because some thread did.
fn lock(mutex: &Mutex<State>) -> MutexGuard<'_, State> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_loop(shared: &Shared) {
    loop {
        let mut lines = {
            let mut state = lock(&shared.state);
            loop {
                if let Some(lines) = state.queue.pop_front() {
                    break lines;
                }
                state = match shared.work.wait(state) {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                };
            }
        };
        let written = if shared.atomic {
            write_in_atomic_pieces(shared.fd, &lines)
        } else {
            write_all(shared.fd, &lines)
        };
        let mut state = lock(&shared.state);
        state.bytes = state.bytes.saturating_sub(lines.len());
        // A burst can leave a huge buffer: let it go rather than hold its memory.
        if state.spare.len() < SPARES && lines.capacity() <= 256 * 1024 {
            lines.clear();
            state.spare.push(lines);
        }
        if let Err(err) = written
            && !state.broken
        {
            state.broken = true;
            state.queue.clear();
            state.bytes = 0;
            drop(state);
            report_broken(shared, &err);
            state = lock(&shared.state);
        }
        if state.reactor_waits && state.bytes <= shared.limit / 2 {
            state.reactor_waits = false;
            // SAFETY: one byte to a non-blocking pipe; if it is full the reactor is
            // already due to wake.
            unsafe { libc::write(shared.wake_fd, [1u8].as_ptr().cast(), 1) };
        }
        if state.bytes == 0 {
            let dropped = std::mem::take(&mut state.dropped);
            drop(state);
            if dropped > 0
                && let Some(report) = &shared.report
            {
                report(&format!(
                    "{dropped} bytes of program output to {} were dropped while it was not being read",
                    shared.name
                ));
            }
            shared.drained.notify_all();
        }
    }
}

/// Writes whole lines in pieces of at most [`ATOMIC_WRITE`] bytes (a longer line alone).
fn write_in_atomic_pieces(fd: RawFd, mut lines: &[u8]) -> std::io::Result<()> {
    while !lines.is_empty() {
        let end = piece_end(lines, ATOMIC_WRITE);
        write_all(fd, &lines[..end])?;
        lines = &lines[end..];
    }
    Ok(())
}

/// Where to cut `lines` (complete lines): after the last newline within `max` bytes, or
/// after the first line when that line alone is longer.
fn piece_end(lines: &[u8], max: usize) -> usize {
    if lines.len() <= max {
        return lines.len();
    }
    match memchr::memrchr(b'\n', &lines[..max]) {
        Some(newline) => newline + 1,
        None => memchr::memchr(b'\n', lines).map_or(lines.len(), |n| n + 1),
    }
}

fn write_all(fd: RawFd, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: writing from a live buffer of the given length.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                // Someone sharing the file description made it non-blocking: wait
                // until it can take more, as a blocking write would have.
                Some(libc::EAGAIN) => {
                    let mut pollfd = libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one live pollfd.
                    unsafe { libc::poll(&mut pollfd, 1, -1) };
                    continue;
                }
                _ => return Err(err),
            }
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Said once, on rinit's stderr directly (if stdout broke, stderr may still work).
fn report_broken(shared: &Shared, err: &std::io::Error) {
    if let Some(report) = &shared.report {
        report(&format!(
            "cannot write to {} ({err}); its output is dropped from now on, supervision goes on",
            shared.name
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_pieces_end_at_line_boundaries() {
        assert_eq!(piece_end(b"ab\ncd\n", 10), 6);
        assert_eq!(piece_end(b"ab\ncd\nef\n", 7), 6);
        assert_eq!(piece_end(b"abcdef\ngh\n", 4), 7, "a long line goes alone");
        assert_eq!(piece_end(b"abcdef", 4), 6);
    }
}
