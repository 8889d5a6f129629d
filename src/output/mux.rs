//! The programs' output: their pipes, read by the reactor, split into lines, formatted,
//! and queued to the writer threads of rinit's stdout and stderr.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Instant, SystemTime};

use super::format::{self, LineFormat, Stream, Style};
use super::lines::LineSplitter;
use super::writer::Writer;

/// The longest line written as one piece; longer lines are split and marked continued.
pub const LINE_CAP: usize = 64 * 1024;
/// Bytes queued for one of rinit's fds before the reactor stops reading programs' pipes.
const QUEUE_LIMIT: usize = 1024 * 1024;
/// Bytes read from one pipe per wakeup, so that one chatty program cannot starve others.
const READ_CHUNK: usize = 64 * 1024;

/// Where a line goes: rinit's stdout or stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Stdout,
    Stderr,
}

/// rinit as the source of its own lines (white when coloured).
fn own_source(width: usize) -> format::Source<'static> {
    format::Source {
        name: "rinit",
        width,
        color: 37,
    }
}

/// One open pipe from a program.
struct Pipe {
    fd: OwnedFd,
    program: usize,
    dest: Dest,
    format: LineFormat,
    splitter: LineSplitter,
}

pub struct Mux {
    pipes: Vec<Pipe>,
    width: usize,
    stdout: Writer,
    stderr: Writer,
    /// The reactor watches it: the writers write a byte when they have room again.
    wake_read: OwnedFd,
    _wake_write: OwnedFd,
    buf: Vec<u8>,
    lines: Vec<u8>,
    /// The style of rinit's own lines.
    own_style: Style,
}

impl Mux {
    /// `names`: every program's name (for the padding width); `own_style`: the style of
    /// rinit's own lines.
    /// `atomic`: some program writes to rinit's stdout and stderr directly (`output =
    /// "inherit"`), so rinit's writes must stay small enough not to be torn.
    pub fn new(names: &[&str], own_style: Style, atomic: bool) -> std::io::Result<Mux> {
        let (wake_read, wake_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)?;
        let width = names.iter().map(|n| n.len()).chain([5]).max().unwrap_or(5);
        let wake = wake_write.as_raw_fd();
        // Nowhere to say that stderr itself is gone.
        let stderr = Writer::spawn(2, "stderr", QUEUE_LIMIT, atomic, wake, None)?;
        let own = LineFormat::new(&own_style, &own_source(width), Stream::Stderr);
        let to_stderr = stderr.clone();
        let report: super::writer::Reporter = Box::new(move |text| {
            let mut line = to_stderr.buffer();
            own.write(text.as_bytes(), false, SystemTime::now(), &mut line);
            to_stderr.push(line);
        });
        let stdout = Writer::spawn(1, "stdout", QUEUE_LIMIT, atomic, wake, Some(report))?;
        Ok(Mux {
            pipes: Vec::new(),
            width,
            stdout,
            stderr,
            wake_read,
            _wake_write: wake_write,
            buf: vec![0; READ_CHUNK],
            lines: Vec::new(),
            own_style,
        })
    }

    /// Starts reading a program's pipe (non-blocking from now on).
    pub fn add(
        &mut self,
        program: usize,
        name: &str,
        stream: Stream,
        dest: Dest,
        style: Style,
        fd: OwnedFd,
    ) {
        // SAFETY: fcntl on an fd we own; the pipe's read end is ours alone.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        let source = format::Source {
            name,
            width: self.width,
            color: format::color_for(name),
        };
        self.pipes.push(Pipe {
            fd,
            program,
            dest,
            format: LineFormat::new(&style, &source, stream),
            splitter: LineSplitter::new(LINE_CAP),
        });
    }

    /// The fds the reactor should wait on: the wake pipe, and every program pipe whose
    /// destination has room (the others wait: backpressure to the programs).
    pub fn watch(&self, out: &mut Vec<RawFd>) {
        out.push(self.wake_read.as_raw_fd());
        let stdout_room = self.stdout.has_room();
        let stderr_room = self.stderr.has_room();
        out.extend(
            self.pipes
                .iter()
                .filter(|p| match p.dest {
                    Dest::Stdout => stdout_room,
                    Dest::Stderr => stderr_room,
                })
                .map(|p| p.fd.as_raw_fd()),
        );
    }

    /// An fd from [`Mux::watch`] is readable.
    pub fn on_readable(&mut self, fd: RawFd) {
        if fd == self.wake_read.as_raw_fd() {
            let mut sink = [0u8; 64];
            // SAFETY: reading into a live buffer; the pipe is non-blocking.
            while unsafe { libc::read(fd, sink.as_mut_ptr().cast(), sink.len()) } > 0 {}
            return;
        }
        if let Some(index) = self.pipes.iter().position(|p| p.fd.as_raw_fd() == fd) {
            self.read_pipe(index, 1);
        }
    }

    /// Reads everything a program has written so far (its process has exited: what it
    /// wrote is in its pipes now), so its last lines come before the news of its exit.
    pub fn drain_program(&mut self, program: usize) {
        let mut index = 0;
        while index < self.pipes.len() {
            if self.pipes[index].program == program && !self.read_pipe(index, usize::MAX) {
                continue; // removed at EOF; the same index is now the next pipe
            }
            index += 1;
        }
    }

    /// rinit's own event line, in the same format as the programs' lines.
    pub fn own_line(&self, text: &str) {
        let style = &self.own_style;
        let source = own_source(self.width);
        let mut out = Vec::new();
        let now = SystemTime::now();
        format::format_line(
            style,
            &source,
            Stream::Stderr,
            text.as_bytes(),
            false,
            now,
            &mut out,
        );
        self.stderr.push(out);
    }

    /// Before rinit exits: reads every pipe to its end (waiting at most until
    /// `deadline` for the last writers to go), then waits for the writers to finish.
    pub fn finish(&mut self, deadline: Instant) {
        while !self.pipes.is_empty() {
            let mut fds: Vec<libc::pollfd> = self
                .pipes
                .iter()
                .map(|p| libc::pollfd {
                    fd: p.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // SAFETY: a live array of pollfd.
            let ready = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    left.as_millis().min(60_000) as i32 + 1,
                )
            };
            if ready <= 0 {
                break;
            }
            let ready_fds: Vec<RawFd> = fds
                .iter()
                .filter(|p| p.revents != 0)
                .map(|p| p.fd)
                .collect();
            for fd in ready_fds {
                if let Some(index) = self.pipes.iter().position(|p| p.fd.as_raw_fd() == fd) {
                    self.read_pipe(index, usize::MAX);
                }
            }
        }
        // Whatever is still open (a process that outlived everything) ends its partial line.
        for index in (0..self.pipes.len()).rev() {
            self.close_pipe(index);
        }
        self.stdout.flush(deadline);
        self.stderr.flush(deadline);
    }

    /// Reads up to `chunks` chunks from pipe `index`. Returns false if the pipe reached
    /// its end and was removed.
    fn read_pipe(&mut self, index: usize, chunks: usize) -> bool {
        for _ in 0..chunks {
            let fd = self.pipes[index].fd.as_raw_fd();
            // SAFETY: reading into a live buffer of the given length.
            let n = unsafe { libc::read(fd, self.buf.as_mut_ptr().cast(), self.buf.len()) };
            if n > 0 {
                self.split(index, n as usize);
                continue;
            }
            if n < 0 {
                let err = std::io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return true,
                    _ => {} // treat any other error as the end of the pipe
                }
            }
            self.close_pipe(index);
            return false;
        }
        true
    }

    fn split(&mut self, index: usize, len: usize) {
        let now = SystemTime::now();
        let pipe = &mut self.pipes[index];
        let (format, lines) = (&pipe.format, &mut self.lines);
        pipe.splitter.push(&self.buf[..len], |piece| {
            format.write(piece.text, piece.continuation, now, lines);
        });
        self.flush_lines(index);
    }

    fn close_pipe(&mut self, index: usize) {
        let now = SystemTime::now();
        let mut pipe = self.pipes.remove(index);
        let (format, lines) = (&pipe.format, &mut self.lines);
        pipe.splitter.finish(|piece| {
            format.write(piece.text, piece.continuation, now, lines);
        });
        let dest = pipe.dest;
        self.push_lines(dest);
    }

    fn flush_lines(&mut self, index: usize) {
        let dest = self.pipes[index].dest;
        self.push_lines(dest);
    }

    fn push_lines(&mut self, dest: Dest) {
        if self.lines.is_empty() {
            return;
        }
        let fresh = self.stdout.buffer();
        let lines = std::mem::replace(&mut self.lines, fresh);
        match dest {
            Dest::Stdout => self.stdout.push(lines),
            Dest::Stderr => self.stderr.push(lines),
        }
    }
}
