//! A thread that writes whole lines to one of rinit's own fds (stdout or stderr), fed by
//! a bounded queue, so a slow or stalled reader of rinit's output never blocks the
//! reactor. rinit's fds stay blocking: their file description is shared with programs
//! that inherit it, and O_NONBLOCK would leak to them.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Instant;

use super::queue::Queue;

/// In atomic mode, writes are cut at line boundaries to at most this size: a pipe write
/// of at most PIPE_BUF bytes is atomic, so lines cannot be torn by another writer of the
/// same pipe (a program with `output = "inherit"`).
pub const ATOMIC_WRITE: usize = 4096;

/// Writes one of rinit's own lines (to the other writer, in the configured format).
pub type Reporter = Box<dyn Fn(&str) + Send + Sync>;

struct Target {
    fd: RawFd,
    /// Cut writes to [`ATOMIC_WRITE`] bytes, at line boundaries.
    atomic: bool,
    name: &'static str,
    /// Says, once, that the fd is gone, and what was dropped (as rinit's own lines).
    report: Option<Reporter>,
}

#[derive(Clone)]
pub struct Writer {
    queue: Arc<Queue>,
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
        let queue = Arc::new(Queue::new(limit, wake_fd));
        let target = Target {
            fd,
            atomic,
            name,
            report,
        };
        let for_thread = queue.clone();
        crate::sys::signals::spawn_thread(format!("rinit-{name}"), move || {
            write_loop(&for_thread, &target)
        })?;
        Ok(Writer { queue })
    }

    /// Whether the reactor may read more program output for this destination.
    pub fn has_room(&self) -> bool {
        self.queue.has_room()
    }

    /// An empty buffer to format lines into, reused when possible.
    pub fn buffer(&self) -> Vec<u8> {
        self.queue.buffer()
    }

    /// Queues formatted lines (one or more, each ending in a newline). Never blocks.
    pub fn push(&self, lines: Vec<u8>) {
        self.queue.push(lines);
    }

    /// Waits until everything queued is written, or `deadline`. Returns whether it was.
    pub fn flush(&self, deadline: Instant) -> bool {
        self.queue.flush(deadline)
    }
}

fn write_loop(queue: &Queue, target: &Target) {
    let mut broken = false;
    while let Some(lines) = queue.next() {
        let written = if broken {
            Ok(())
        } else if target.atomic {
            write_in_atomic_pieces(target.fd, &lines)
        } else {
            write_all(target.fd, &lines)
        };
        if let Err(err) = written {
            broken = true;
            queue.refuse();
            target.say(&format!(
                "cannot write to {} ({err}); its output is dropped from now on, supervision goes on",
                target.name
            ));
        }
        let dropped = queue.done(lines);
        if dropped > 0 {
            target.say(&format!(
                "{dropped} bytes of program output to {} were dropped while it was not being read",
                target.name
            ));
        }
    }
}

impl Target {
    fn say(&self, message: &str) {
        if let Some(report) = &self.report {
            report(message);
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
