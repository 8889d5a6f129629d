//! The bounded queue between the reactor and an output thread (a writer of rinit's own
//! stdout or stderr, or a log file). The reactor pushes chunks of whole lines and never
//! blocks; the thread takes them one by one. When the queue holds more than its limit,
//! `has_room` says no (the reactor stops reading programs' pipes), and the thread wakes
//! the reactor through a pipe once it has drained to half the limit.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Spare buffers kept for reuse: one per chunk read would otherwise be allocated, and
/// freed by another thread, for every 64 KiB of output.
const SPARES: usize = 8;
/// A buffer this large after a burst is let go rather than kept.
const SPARE_MAX: usize = 256 * 1024;

struct State {
    chunks: VecDeque<Vec<u8>>,
    /// Bytes queued plus bytes being written.
    bytes: usize,
    /// The reactor stopped reading because the queue was full; wake it when there is
    /// room again.
    reactor_waits: bool,
    /// The destination is gone for good: chunks are dropped from now on.
    refusing: bool,
    /// No more chunks will come: the thread exits once the queue is written.
    closing: bool,
    spare: Vec<Vec<u8>>,
    /// Bytes dropped because the queue was far over its limit; reported once it empties.
    dropped: usize,
}

pub struct Queue {
    state: Mutex<State>,
    /// Signalled when a chunk is queued, or on close.
    work: Condvar,
    /// Signalled when the queue becomes empty.
    drained: Condvar,
    limit: usize,
    /// Written to (one byte) to wake the reactor when room frees up.
    wake_fd: RawFd,
}

impl Queue {
    pub fn new(limit: usize, wake_fd: RawFd) -> Queue {
        Queue {
            state: Mutex::new(State {
                chunks: VecDeque::new(),
                bytes: 0,
                reactor_waits: false,
                refusing: false,
                closing: false,
                spare: Vec::new(),
                dropped: 0,
            }),
            work: Condvar::new(),
            drained: Condvar::new(),
            limit,
            wake_fd,
        }
    }

    /// Locks, ignoring poisoning: the output threads never panic while holding the
    /// lock, and PID 1 must not stop because some thread did.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the reactor may read more program output for this destination. When not,
    /// the thread wakes the reactor once the queue has drained to half the limit.
    pub fn has_room(&self) -> bool {
        let mut state = self.lock();
        let room = state.bytes < self.limit;
        if !room {
            state.reactor_waits = true;
        }
        room
    }

    /// An empty buffer to put lines into, reused when possible.
    pub fn buffer(&self) -> Vec<u8> {
        self.lock().spare.pop().unwrap_or_default()
    }

    /// Queues a chunk of whole lines. Never blocks; callers check [`Queue::has_room`]
    /// before reading more input. The reactor stops reading at the limit: only drains
    /// of exited programs and rinit's own lines go past it, and past four times the
    /// limit memory wins over completeness (the bytes dropped are counted).
    pub fn push(&self, lines: Vec<u8>) {
        if lines.is_empty() {
            return;
        }
        let mut state = self.lock();
        if state.refusing {
            return;
        }
        if state.bytes > self.limit * 4 {
            state.dropped += lines.len();
            return;
        }
        state.bytes += lines.len();
        state.chunks.push_back(lines);
        self.work.notify_one();
    }

    /// Waits until everything queued is written (or refused), or `deadline`. Returns
    /// whether it was.
    pub fn flush(&self, deadline: Instant) -> bool {
        let mut state = self.lock();
        while state.bytes > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = match self.drained.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    /// No more chunks will come: the thread exits once the queue is written.
    pub fn close(&self) {
        self.lock().closing = true;
        self.work.notify_one();
    }

    /// For the thread: the next chunk, waiting for one; None once closed and empty.
    pub fn next(&self) -> Option<Vec<u8>> {
        let mut state = self.lock();
        loop {
            if let Some(chunk) = state.chunks.pop_front() {
                return Some(chunk);
            }
            if state.closing {
                return None;
            }
            state = match self.work.wait(state) {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
        }
    }

    /// For the thread: the destination is gone for good. What is queued is discarded
    /// and later chunks are refused.
    pub fn refuse(&self) {
        let mut state = self.lock();
        state.refusing = true;
        let discarded: usize = state.chunks.drain(..).map(|chunk| chunk.len()).sum();
        state.bytes = state.bytes.saturating_sub(discarded);
    }

    /// For the thread: `chunk` (from [`Queue::next`]) is written, or lost. Returns the
    /// bytes dropped for want of room once the queue has emptied, for a report.
    pub fn done(&self, mut chunk: Vec<u8>) -> usize {
        let mut state = self.lock();
        state.bytes = state.bytes.saturating_sub(chunk.len());
        if state.spare.len() < SPARES && chunk.capacity() <= SPARE_MAX {
            chunk.clear();
            state.spare.push(chunk);
        }
        if state.reactor_waits && state.bytes <= self.limit / 2 {
            state.reactor_waits = false;
            // SAFETY: one byte to a non-blocking pipe; if it is full the reactor is
            // already due to wake.
            unsafe { libc::write(self.wake_fd, [1u8].as_ptr().cast(), 1) };
        }
        let mut dropped = 0;
        if state.bytes == 0 {
            dropped = std::mem::take(&mut state.dropped);
            self.drained.notify_all();
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(limit: usize) -> (Queue, std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .unwrap();
        use std::os::fd::AsRawFd;
        (Queue::new(limit, write.as_raw_fd()), read, write)
    }

    #[test]
    fn room_backpressure_and_the_wake_byte() {
        use std::os::fd::AsRawFd;
        let (q, read, _write) = queue(10);
        assert!(q.has_room());
        q.push(b"0123456789ab\n".to_vec());
        assert!(!q.has_room(), "over the limit");
        let chunk = q.next().unwrap();
        assert_eq!(q.done(chunk), 0);
        assert!(q.has_room());
        let mut byte = [0u8; 4];
        // SAFETY: reading into a live buffer.
        let n = unsafe { libc::read(read.as_raw_fd(), byte.as_mut_ptr().cast(), 4) };
        assert_eq!(n, 1, "the reactor was woken once");
    }

    #[test]
    fn past_four_times_the_limit_output_is_dropped_and_counted() {
        let (q, _read, _write) = queue(10);
        q.push(vec![b'x'; 41]);
        q.push(vec![b'y'; 5]);
        let chunk = q.next().unwrap();
        assert_eq!(chunk.len(), 41);
        assert_eq!(q.done(chunk), 5, "reported once the queue is empty");
        assert!(q.flush(Instant::now()));
    }

    #[test]
    fn refused_chunks_are_discarded_and_flush_returns() {
        let (q, _read, _write) = queue(100);
        q.push(b"a\n".to_vec());
        q.push(b"b\n".to_vec());
        let first = q.next().unwrap();
        q.refuse();
        q.push(b"c\n".to_vec());
        assert_eq!(q.done(first), 0);
        assert!(q.flush(Instant::now()));
        q.close();
        assert_eq!(q.next(), None);
    }

    #[test]
    fn buffers_are_reused_but_not_huge_ones() {
        let (q, _read, _write) = queue(1 << 30);
        let mut small = Vec::with_capacity(1024);
        small.push(b'\n');
        q.push(small);
        let chunk = q.next().unwrap();
        q.done(chunk);
        assert_eq!(q.buffer().capacity(), 1024);
        let mut huge = Vec::with_capacity(SPARE_MAX + 1);
        huge.push(b'\n');
        q.push(huge);
        let chunk = q.next().unwrap();
        q.done(chunk);
        assert_eq!(q.buffer().capacity(), 0, "not kept");
    }
}
