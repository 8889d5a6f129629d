//! The programs' output: their pipes, read by the reactor, split into lines, formatted,
//! and queued to the writer threads of rinit's stdout and stderr.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use super::format::{self, LineFormat, Stream, Style};
use super::lines::LineSplitter;
use super::logfile::{LogFile, LogFileSpec};
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

/// How many bytes a pipe holds right now (FIONREAD); 0 if it cannot tell.
fn bytes_pending(fd: RawFd) -> usize {
    let mut pending: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut pending) } != 0 {
        return 0;
    }
    usize::try_from(pending).unwrap_or(0)
}

/// Whether fds 1 and 2 are the same file (`2>&1`, one pipe to a log collector): then one
/// writer must serve both, or two threads would interleave their writes.
fn same_file(a: RawFd, b: RawFd) -> bool {
    // SAFETY: fstat into zeroed stat buffers.
    unsafe {
        let (mut sa, mut sb): (libc::stat, libc::stat) = (std::mem::zeroed(), std::mem::zeroed());
        libc::fstat(a, &mut sa) == 0
            && libc::fstat(b, &mut sb) == 0
            && sa.st_dev == sb.st_dev
            && sa.st_ino == sb.st_ino
    }
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
    /// Written raw to this log file instead of `dest`.
    file: Option<Arc<LogFile>>,
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
    /// Another process writes to rinit's fds too: keep every write atomic.
    atomic: bool,
    /// Every log file, for the final flush.
    files: Vec<Arc<LogFile>>,
    file_reporter: Arc<dyn Fn(&str) + Send + Sync>,
    /// Programs waiting for a line containing this text (`ready = { log = … }`).
    ready_texts: Vec<(usize, Vec<u8>)>,
    /// Programs whose awaited line went by, since the last [`Mux::take_ready`].
    ready_seen: Vec<usize>,
    /// Bytes read from the programs' pipes.
    bytes_read: u64,
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
        // Reports go to stderr as rinit's own lines, stderr's own reports included
        // (dropped output; if stderr itself is gone, they are dropped too).
        let stderr_cell: Arc<OnceLock<Writer>> = Arc::new(OnceLock::new());
        let reporter = |cell: Arc<OnceLock<Writer>>| -> super::writer::Reporter {
            let own = LineFormat::new(&own_style, &own_source(width), Stream::Stderr);
            Box::new(move |text| {
                if let Some(to_stderr) = cell.get() {
                    let mut line = to_stderr.buffer();
                    own.write(text.as_bytes(), false, SystemTime::now(), &mut line);
                    to_stderr.push(line);
                }
            })
        };
        let stderr = Writer::spawn(
            2,
            "stderr",
            QUEUE_LIMIT,
            atomic,
            wake,
            Some(reporter(stderr_cell.clone())),
        )?;
        let _ = stderr_cell.set(stderr.clone());
        let report = reporter(stderr_cell.clone());
        let own_for_files = LineFormat::new(&own_style, &own_source(width), Stream::Stderr);
        let stdout = if same_file(1, 2) {
            stderr.clone()
        } else {
            Writer::spawn(1, "stdout", QUEUE_LIMIT, atomic, wake, Some(report))?
        };
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
            atomic,
            files: Vec::new(),
            ready_texts: Vec::new(),
            ready_seen: Vec::new(),
            bytes_read: 0,
            file_reporter: Arc::new(move |text: &str| {
                if let Some(to_stderr) = stderr_cell.get() {
                    let mut line = to_stderr.buffer();
                    own_for_files.write(text.as_bytes(), false, SystemTime::now(), &mut line);
                    to_stderr.push(line);
                }
            }),
        })
    }

    /// A log file (supervisord's `stdout_logfile=/path`) written by its own thread, its
    /// problems reported as rinit's own lines.
    pub fn log_file(&mut self, spec: LogFileSpec) -> std::io::Result<Arc<LogFile>> {
        let reporter = self.file_reporter.clone();
        let report: super::writer::Reporter = Box::new(move |text| reporter(text));
        let file = Arc::new(LogFile::spawn(
            spec,
            QUEUE_LIMIT,
            self._wake_write.as_raw_fd(),
            Some(report),
        )?);
        self.files.push(file.clone());
        Ok(file)
    }

    /// Starts reading a program's pipe (non-blocking from now on). With `file`, its
    /// lines go there, raw, instead of to `dest`.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        program: usize,
        name: &str,
        stream: Stream,
        file: Option<Arc<LogFile>>,
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
        // A log file holds the program's lines as it wrote them, as supervisord's do.
        let raw = Style::Text {
            prefix: String::new(),
            timestamps: false,
            color: false,
        };
        let format = LineFormat::new(if file.is_some() { &raw } else { &style }, &source, stream);
        // When another process shares rinit's fds, every line must fit one atomic write:
        // longer lines are cut into pieces (marked continued) that do.
        let cap = if self.atomic && file.is_none() {
            super::writer::ATOMIC_WRITE
                .saturating_sub(format.overhead())
                .max(256)
        } else {
            LINE_CAP
        };
        self.pipes.push(Pipe {
            fd,
            program,
            dest,
            file,
            format,
            splitter: LineSplitter::new(cap),
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
                .filter(|p| match (&p.file, p.dest) {
                    (Some(file), _) => file.has_room(),
                    (None, Dest::Stdout) => stdout_room,
                    (None, Dest::Stderr) => stderr_room,
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
            self.read_pipe(index, READ_CHUNK);
        }
    }

    /// Reads everything a program has written so far (its process has exited: what it
    /// wrote is in its pipes now), so its last lines come before the news of its exit.
    /// Only what is in the pipes now: a child that outlived the program and keeps
    /// writing must not keep rinit reading here; the rest comes through the reactor.
    pub fn drain_program(&mut self, program: usize) {
        let mut index = 0;
        while index < self.pipes.len() {
            if self.pipes[index].program == program {
                // One byte more than pending: enough to see the end of the pipe (and
                // so write a last line that has no newline) before the exit.
                let pending = bytes_pending(self.pipes[index].fd.as_raw_fd());
                if !self.read_pipe(index, pending + 1) {
                    continue; // removed at EOF; the same index is now the next pipe
                }
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

    /// Before rinit exits: reads every pipe to its end, waiting at most until
    /// `deadline` for the last writers to go; then ends what is left open.
    pub fn drain_all(&mut self, deadline: Instant) {
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
            // One chunk per pipe per round, so the deadline is checked between rounds.
            for fd in ready_fds {
                if let Some(index) = self.pipes.iter().position(|p| p.fd.as_raw_fd() == fd) {
                    self.read_pipe(index, READ_CHUNK);
                }
            }
        }
        // Whatever is still open (a process that outlived everything) ends its partial line.
        for index in (0..self.pipes.len()).rev() {
            self.close_pipe(index);
        }
    }

    /// At shutdown, before rinit's last line: waits (at most until `deadline`) for the
    /// log files to be written, then says how much output each dropped since it last
    /// failed, if it never worked again.
    pub fn finish_files(&self, deadline: Instant) {
        for file in &self.files {
            file.flush(deadline);
            file.report_lost();
        }
    }

    /// Bytes read from the programs' pipes so far, and bytes their log files dropped.
    pub fn counters(&self) -> (u64, u64) {
        let dropped = self.files.iter().map(|f| f.dropped_bytes()).sum();
        (self.bytes_read, dropped)
    }

    /// Waits (at most until `deadline`) for the writers to write everything queued.
    pub fn flush(&self, deadline: Instant) {
        for file in &self.files {
            file.flush(deadline);
        }
        self.stdout.flush(deadline);
        self.stderr.flush(deadline);
    }

    /// Reads up to `max` bytes from pipe `index`. Returns false if the pipe reached its
    /// end and was removed.
    fn read_pipe(&mut self, index: usize, max: usize) -> bool {
        let mut left = max;
        while left > 0 {
            let fd = self.pipes[index].fd.as_raw_fd();
            let want = left.min(self.buf.len());
            // SAFETY: reading into a live buffer of at least `want` bytes.
            let n = unsafe { libc::read(fd, self.buf.as_mut_ptr().cast(), want) };
            if n > 0 {
                self.bytes_read += n as u64;
                self.split(index, n as usize);
                left -= n as usize;
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
        let program = pipe.program;
        let wanted = self.ready_texts.iter().position(|(p, _)| *p == program);
        let text = wanted.map(|at| self.ready_texts[at].1.as_slice());
        let mut seen = false;
        let (format, lines) = (&pipe.format, &mut self.lines);
        pipe.splitter.push(&self.buf[..len], |piece| {
            if let Some(text) = text {
                seen |= piece.text.windows(text.len()).any(|w| w == text);
            }
            format.write(piece.text, piece.continuation, now, lines);
        });
        if let (true, Some(at)) = (seen, wanted) {
            self.ready_texts.swap_remove(at);
            self.ready_seen.push(program);
        }
        self.flush_lines(index);
    }

    /// Watch `program`'s lines (from now on, until seen once) for one containing `text`.
    pub fn await_line(&mut self, program: usize, text: &str) {
        self.ready_texts.retain(|(p, _)| *p != program);
        if !text.is_empty() {
            self.ready_texts.push((program, text.as_bytes().to_vec()));
        }
    }

    /// The programs whose awaited line went by since the last call.
    pub fn take_ready(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.ready_seen)
    }

    fn close_pipe(&mut self, index: usize) {
        let now = SystemTime::now();
        let mut pipe = self.pipes.remove(index);
        let (format, lines) = (&pipe.format, &mut self.lines);
        pipe.splitter.finish(|piece| {
            format.write(piece.text, piece.continuation, now, lines);
        });
        self.push_lines(pipe.dest, pipe.file.as_deref());
    }

    fn flush_lines(&mut self, index: usize) {
        let (dest, file) = (self.pipes[index].dest, self.pipes[index].file.clone());
        self.push_lines(dest, file.as_deref());
    }

    fn push_lines(&mut self, dest: Dest, file: Option<&LogFile>) {
        if self.lines.is_empty() {
            return;
        }
        let fresh = match (file, dest) {
            (Some(file), _) => file.buffer(),
            (None, Dest::Stdout) => self.stdout.buffer(),
            (None, Dest::Stderr) => self.stderr.buffer(),
        };
        let lines = std::mem::replace(&mut self.lines, fresh);
        match (file, dest) {
            (Some(file), _) => file.push(lines),
            (None, Dest::Stdout) => self.stdout.push(lines),
            (None, Dest::Stderr) => self.stderr.push(lines),
        }
    }
}
