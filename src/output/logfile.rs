//! supervisord-style log files (`stdout_logfile=/path`, `_maxbytes`, `_backups`): a
//! program's raw output appended to a file that rotates like Python's
//! RotatingFileHandler. Written by a thread fed by a bounded queue, as in
//! [`super::writer`], so a slow disk never blocks the reactor.
//!
//! Differences from supervisord, on purpose:
//! * Rotation is decided *before* a chunk is written ([`needs_rotation`]), like the
//!   stdlib handler, so a file never exceeds `max_bytes` unless a single chunk does;
//!   supervisord checks after writing and leaves files at `max_bytes` or a bit over.
//!   Chunks are whole lines, so a line never straddles two files.
//! * A file that is not a regular file (`/dev/stdout`, a pipe) is never rotated, as in
//!   Python since bpo-45401; supervisord fails at the first rollover there (dialect
//!   spec §3.6).
//! * Errors (cannot open, rename or write) are reported once; output is dropped from
//!   then on, but the thread tries again (reopen, and rotate if due) when output arrives
//!   at least [`RETRY`] after the failure, and says so, with the lines and bytes lost,
//!   when writing works again, or at shutdown if it never does ([`LogFile::report_lost`]).
//!   A disk that filled up and was cleaned recovers without a restart. A write that
//!   fails halfway (a full disk) has its torn last line cut off again, so the file holds
//!   whole lines only and the count of what was lost is exact.
//!
//! Parent directories are not created (supervisord does not): that is an open error.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::queue::Queue;
use super::writer::Reporter;

/// After an error, output arriving sooner than this is dropped without trying again.
pub const RETRY: Duration = Duration::from_secs(10);

/// Where rotated output goes and how big it may grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFileSpec {
    pub path: PathBuf,
    /// Rotate before a write would make the file larger than this; 0: never rotate.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` newest … `path.N` oldest); 0: truncate instead.
    /// The config layer should bound it: a rotation plans one rename per backup.
    pub backups: u32,
}

/// Whether to rotate before appending `incoming` bytes (whole lines) to a file of
/// `current` bytes. Never with `max_bytes` 0 (rotation off), never an empty file (a
/// chunk larger than `max_bytes` is written whole into a fresh file), otherwise when the
/// file would grow past `max_bytes`.
pub fn needs_rotation(current: u64, incoming: u64, max_bytes: u64) -> bool {
    // current + incoming > max_bytes, without overflow.
    max_bytes > 0 && current > 0 && (current > max_bytes || incoming > max_bytes - current)
}

/// `path.n` (the suffix appended to the whole name, as supervisord does).
pub fn backup_path(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// The file a rotation deletes (the oldest backup, `path.backups`) and the renames it
/// then performs, in order: `path.(backups-1)` → `path.backups` … `path` → `path.1`.
/// Missing files are skipped when the plan is carried out. With `backups` 0 there is
/// nothing to delete or rename: the file is truncated instead.
pub fn rotation_plan(path: &Path, backups: u32) -> (Option<PathBuf>, Vec<(PathBuf, PathBuf)>) {
    if backups == 0 {
        return (None, Vec::new());
    }
    let mut renames = Vec::with_capacity(backups as usize);
    for n in (1..backups).rev() {
        renames.push((backup_path(path, n), backup_path(path, n + 1)));
    }
    renames.push((path.to_path_buf(), backup_path(path, 1)));
    (Some(backup_path(path, backups)), renames)
}

struct Shared {
    queue: Queue,
    report: Option<Reporter>,
    path: PathBuf,
    /// Output dropped since writing last failed, not yet reported. Shared so that the
    /// final report at shutdown can say it if writing never worked again; whoever
    /// reports takes it, so it is said once.
    lost: Mutex<Lost>,
    /// Every byte ever dropped (for `/metrics`).
    dropped_total: std::sync::atomic::AtomicU64,
}

/// Output dropped because the file could not be written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lost {
    lines: u64,
    bytes: u64,
}

impl Lost {
    fn add(&mut self, dropped: &[u8]) {
        if dropped.is_empty() {
            return;
        }
        // Chunks are whole lines; a last line without a newline (a pipe's end) counts.
        let newlines = memchr::memchr_iter(b'\n', dropped).count() as u64;
        self.lines += newlines + u64::from(!dropped.ends_with(b"\n"));
        self.bytes += dropped.len() as u64;
    }

    fn describe(&self) -> String {
        let lines = if self.lines == 1 { "line" } else { "lines" };
        format!("{} {lines} ({} bytes)", self.lines, self.bytes)
    }
}

impl Shared {
    fn say(&self, message: &str) {
        if let Some(report) = &self.report {
            report(message);
        }
    }

    fn lost(&self) -> std::sync::MutexGuard<'_, Lost> {
        self.lost.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A thread appending whole-line chunks to a log file, rotating it as needed. Dropping
/// the handle lets the thread write what is queued, close the file and exit.
pub struct LogFile {
    shared: Arc<Shared>,
}

impl LogFile {
    /// Starts the thread, which opens the file (O_APPEND|O_CREAT|O_CLOEXEC, mode 0644)
    /// right away; an open error is reported, not returned. `limit`: queued bytes beyond
    /// which [`LogFile::has_room`] says no. `wake_fd`: a non-blocking pipe the reactor
    /// polls. `report`: says, once per failure, that output is being dropped.
    pub fn spawn(
        spec: LogFileSpec,
        limit: usize,
        wake_fd: RawFd,
        report: Option<Reporter>,
    ) -> std::io::Result<LogFile> {
        LogFile::spawn_retrying(spec, limit, wake_fd, report, RETRY)
    }

    fn spawn_retrying(
        spec: LogFileSpec,
        limit: usize,
        wake_fd: RawFd,
        report: Option<Reporter>,
        retry: Duration,
    ) -> std::io::Result<LogFile> {
        let shared = Arc::new(Shared {
            queue: Queue::new(limit, wake_fd),
            report,
            path: spec.path.clone(),
            lost: Mutex::default(),
            dropped_total: Default::default(),
        });
        let for_thread = shared.clone();
        crate::sys::signals::spawn_thread("rinit-logfile".into(), move || {
            write_loop(&for_thread, Sink::new(spec, retry))
        })?;
        Ok(LogFile { shared })
    }

    /// Whether the reactor may read more output for this file.
    pub fn has_room(&self) -> bool {
        self.shared.queue.has_room()
    }

    /// An empty buffer to put lines into, reused when possible.
    pub fn buffer(&self) -> Vec<u8> {
        self.shared.queue.buffer()
    }

    /// Queues whole lines (each ending in a newline). Never blocks; callers check
    /// [`LogFile::has_room`] before reading more.
    pub fn push(&self, lines: Vec<u8>) {
        self.shared.queue.push(lines);
    }

    /// Waits until everything queued is written (or dropped after an error), or
    /// `deadline`. Returns whether it was.
    pub fn flush(&self, deadline: Instant) -> bool {
        self.shared.queue.flush(deadline)
    }

    /// At shutdown, after [`LogFile::flush`]: says how much output was dropped since
    /// the file last failed, if it never worked again (else that was said then).
    /// Bytes dropped since the file was started.
    pub fn dropped_bytes(&self) -> u64 {
        self.shared
            .dropped_total
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn report_lost(&self) {
        let lost = std::mem::take(&mut *self.shared.lost());
        if lost.bytes > 0 {
            self.shared.say(&format!(
                "log file {} could not be written: {} of output were dropped",
                self.shared.path.display(),
                lost.describe()
            ));
        }
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        self.shared.queue.close();
    }
}

fn write_loop(shared: &Shared, mut sink: Sink) {
    sink.start(shared);
    while let Some(lines) = shared.queue.next() {
        // Cut at line boundaries to what the current file can still take, so that the
        // file rotates between lines and never grows past max_bytes (unless one line
        // alone is longer).
        let mut rest: &[u8] = &lines;
        while !rest.is_empty() {
            let end = sink.piece_end(rest);
            sink.append(shared, &rest[..end]);
            rest = &rest[end..];
        }
        let dropped = shared.queue.done(lines);
        if dropped > 0 {
            shared.say(&format!(
                "{dropped} bytes of program output to {} were dropped while it was not being written fast enough",
                shared.path.display()
            ));
        }
    }
}

/// The thread's side: the open file and what it knows about it.
struct Sink {
    spec: LogFileSpec,
    /// None after an error (or before the first open).
    file: Option<File>,
    /// Bytes in the file.
    size: u64,
    /// A regular file with a size limit.
    rotates: bool,
    /// An error was reported and writing has not worked since.
    failing: bool,
    /// Output arriving before this is dropped without trying again.
    retry_at: Option<Instant>,
    /// [`RETRY`], shorter in tests.
    retry: Duration,
}

/// Why a chunk was not (wholly) written.
struct Failure {
    /// What failed: "open", "rotate", "write to".
    what: &'static str,
    /// None when the chunk was dropped without trying (waiting to retry).
    err: Option<std::io::Error>,
    /// Bytes of the chunk that reached the file before the error.
    written: usize,
}

impl Failure {
    fn before_writing(what: &'static str, err: Option<std::io::Error>) -> Failure {
        Failure {
            what,
            err,
            written: 0,
        }
    }
}

impl Sink {
    /// How much of `lines` (whole lines) to write next: what fits the current file, or
    /// a fresh one if it is full; at least one line.
    fn piece_end(&self, lines: &[u8]) -> usize {
        let max = self.spec.max_bytes;
        if !self.rotates || max == 0 {
            return lines.len();
        }
        let room = match max.saturating_sub(self.size) {
            0 => max,
            room => room,
        };
        let room = usize::try_from(room).unwrap_or(usize::MAX).min(lines.len());
        if room == lines.len() {
            return lines.len();
        }
        match memchr::memrchr(b'\n', &lines[..room]) {
            Some(newline) => newline + 1,
            None => memchr::memchr(b'\n', lines).map_or(lines.len(), |n| n + 1),
        }
    }

    fn new(spec: LogFileSpec, retry: Duration) -> Sink {
        Sink {
            spec,
            file: None,
            size: 0,
            rotates: false,
            failing: false,
            retry_at: None,
            retry,
        }
    }

    fn start(&mut self, shared: &Shared) {
        if let Err(err) = self.open(false) {
            self.fail(shared, "open", &err);
        }
    }

    fn open(&mut self, truncate: bool) -> std::io::Result<()> {
        let mut options = OpenOptions::new();
        // std refuses append with truncate; O_TRUNC as a custom flag works.
        options
            .append(true)
            .create(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC | if truncate { libc::O_TRUNC } else { 0 });
        let file = options.open(&self.spec.path)?;
        let metadata = file.metadata()?;
        self.rotates = metadata.is_file() && self.spec.max_bytes > 0;
        self.size = metadata.len();
        self.file = Some(file);
        Ok(())
    }

    fn fail(&mut self, shared: &Shared, what: &str, err: &std::io::Error) {
        self.file = None;
        self.retry_at = Some(Instant::now() + self.retry);
        if !self.failing {
            self.failing = true;
            shared.say(&format!(
                "cannot {what} log file {} ({err}); its output is dropped, trying again every {}s",
                self.spec.path.display(),
                self.retry.as_secs()
            ));
        }
    }

    /// Appends one chunk of whole lines, rotating first if it is due.
    fn append(&mut self, shared: &Shared, lines: &[u8]) {
        let len = lines.len() as u64;
        if let Err(failure) = self.try_append(lines, len) {
            let kept = self.keep_whole_lines(&lines[..failure.written]);
            self.size += kept as u64;
            shared.lost().add(&lines[kept..]);
            let dropped = (lines.len() - kept) as u64;
            shared
                .dropped_total
                .fetch_add(dropped, std::sync::atomic::Ordering::Relaxed);
            if let Some(err) = failure.err {
                self.fail(shared, failure.what, &err);
            }
            return;
        }
        self.size += len;
        if self.failing {
            self.failing = false;
            self.retry_at = None;
            let lost = std::mem::take(&mut *shared.lost());
            shared.say(&format!(
                "writing to log file {} again; {} of output were dropped",
                self.spec.path.display(),
                lost.describe()
            ));
        }
    }

    /// After a write that failed halfway: how much of `written` stays in the file. The
    /// whole lines do; a torn last line is cut off again (so the next line written does
    /// not join it), unless that fails or the file is not a regular one, and then it
    /// stays and counts as written.
    fn keep_whole_lines(&mut self, written: &[u8]) -> usize {
        let whole = memchr::memrchr(b'\n', written).map_or(0, |newline| newline + 1);
        let torn = (written.len() - whole) as u64;
        if torn == 0 {
            return whole;
        }
        let Some(file) = &self.file else {
            return written.len();
        };
        match file.metadata() {
            Ok(meta) if meta.is_file() && meta.len() >= torn => {
                match file.set_len(meta.len() - torn) {
                    Ok(()) => whole,
                    Err(_) => written.len(),
                }
            }
            _ => written.len(),
        }
    }

    fn try_append(&mut self, lines: &[u8], len: u64) -> Result<(), Failure> {
        if self.file.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return Err(Failure::before_writing("open", None));
            }
            self.open(false)
                .map_err(|err| Failure::before_writing("open", Some(err)))?;
        }
        if self.rotates && needs_rotation(self.size, len, self.spec.max_bytes) {
            // Closed before the renames, as supervisord does.
            self.file = None;
            rotate(&self.spec).map_err(|err| Failure::before_writing("rotate", Some(err)))?;
            self.open(self.spec.backups == 0)
                .map_err(|err| Failure::before_writing("open", Some(err)))?;
        }
        let Some(file) = &mut self.file else {
            return Err(Failure::before_writing("open", None));
        };
        write_all(file, lines).map_err(|(written, err)| Failure {
            what: "write to",
            err: Some(err),
            written,
        })
    }
}

/// Carries out [`rotation_plan`]; files that are not there are skipped (supervisord
/// ignores ENOENT too: a cleanup script may have removed them).
fn rotate(spec: &LogFileSpec) -> std::io::Result<()> {
    let missing_ok = |result: std::io::Result<()>| match result {
        Err(err) if err.kind() != ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    };
    let (deleted, renames) = rotation_plan(&spec.path, spec.backups);
    if let Some(deleted) = deleted {
        missing_ok(std::fs::remove_file(deleted))?;
    }
    for (from, to) in renames {
        missing_ok(std::fs::rename(from, to))?;
    }
    Ok(())
}

/// Err((bytes written before the error, the error)).
fn write_all(file: &mut File, bytes: &[u8]) -> Result<(), (usize, std::io::Error)> {
    let mut written = 0;
    while written < bytes.len() {
        match file.write(&bytes[written..]) {
            Ok(0) => return Err((written, ErrorKind::WriteZero.into())),
            Ok(n) => written += n,
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            // `/dev/stdout` whose file description someone made non-blocking: wait as
            // a blocking write would have.
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                let mut pollfd = libc::pollfd {
                    fd: file.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one live pollfd.
                unsafe { libc::poll(&mut pollfd, 1, -1) };
            }
            Err(err) => return Err((written, err)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn rotation_is_never_needed_without_a_limit_or_into_an_empty_file() {
        for current in 0..40 {
            for incoming in 0..40 {
                assert!(!needs_rotation(current, incoming, 0));
                assert!(!needs_rotation(0, incoming, current));
            }
        }
    }

    #[test]
    fn rotation_is_needed_exactly_when_the_file_would_exceed_the_limit() {
        for max in 1..25u64 {
            for current in 1..30u64 {
                for incoming in 0..30u64 {
                    assert_eq!(
                        needs_rotation(current, incoming, max),
                        current + incoming > max,
                        "current {current} incoming {incoming} max {max}"
                    );
                }
            }
        }
        assert!(!needs_rotation(100, 150, 250), "reaching the limit is fine");
        assert!(needs_rotation(200, 100, 250));
        assert!(
            needs_rotation(300, 0, 250),
            "a file already over it rotates"
        );
        assert!(
            !needs_rotation(0, 1000, 250),
            "a big chunk goes whole into a fresh file"
        );
        assert!(
            needs_rotation(1000, 1, 250),
            "and the next chunk starts another"
        );
        assert!(
            needs_rotation(u64::MAX, u64::MAX, u64::MAX - 1),
            "no overflow"
        );
        assert!(!needs_rotation(u64::MAX, 0, u64::MAX));
        assert!(needs_rotation(1, u64::MAX, u64::MAX));
        assert!(!needs_rotation(u64::MAX - 1, 1, u64::MAX));
    }

    #[test]
    fn no_backups_means_no_renames() {
        assert_eq!(rotation_plan(Path::new("/l/app.log"), 0), (None, vec![]));
    }

    #[test]
    fn rotation_plans_shift_backups_oldest_first() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            rotation_plan(Path::new("/l/app.log"), 1),
            (
                Some(p("/l/app.log.1")),
                vec![(p("/l/app.log"), p("/l/app.log.1"))]
            )
        );
        assert_eq!(
            rotation_plan(Path::new("rel/out"), 3),
            (
                Some(p("rel/out.3")),
                vec![
                    (p("rel/out.2"), p("rel/out.3")),
                    (p("rel/out.1"), p("rel/out.2")),
                    (p("rel/out"), p("rel/out.1")),
                ]
            )
        );
        for backups in 1..40u32 {
            let path = Path::new("/var/log/x");
            let (deleted, renames) = rotation_plan(path, backups);
            assert_eq!(deleted, Some(backup_path(path, backups)));
            assert_eq!(renames.len(), backups as usize);
            assert_eq!(
                renames.last().unwrap(),
                &(path.to_path_buf(), backup_path(path, 1))
            );
            for (i, (from, to)) in renames.iter().enumerate() {
                // Each destination was deleted or already moved on by an earlier step,
                // and is never a later source (nothing is overwritten before it moves).
                assert!(
                    i == 0 && Some(to) == deleted.as_ref() || renames[i - 1].0 == *to,
                    "backups {backups} step {i}"
                );
                assert!(renames[i + 1..].iter().all(|(later, _)| later != to));
                assert_ne!(from, to);
            }
        }
    }

    #[test]
    fn backup_names_append_to_the_whole_name() {
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(
            backup_path(Path::new("a.log"), 12),
            PathBuf::from("a.log.12")
        );
        let odd = Path::new(std::ffi::OsStr::from_bytes(b"/t/\xff"));
        assert_eq!(backup_path(odd, 1).as_os_str().as_bytes(), b"/t/\xff.1");
    }

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "rinit-logfile-{}-{}-{name}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&self.0)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        }

        fn read(&self, name: &str) -> Vec<u8> {
            std::fs::read(self.0.join(name)).unwrap()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A non-blocking pipe, as the reactor's wake pipe.
    struct Pipe([RawFd; 2]);

    impl Pipe {
        fn new() -> Pipe {
            let mut fds = [0; 2];
            // SAFETY: two live ints for the fds.
            let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
            assert_eq!(rc, 0);
            Pipe(fds)
        }

        fn woken(&self) -> bool {
            let mut byte = [0u8; 16];
            // SAFETY: reading into a live buffer.
            unsafe { libc::read(self.0[0], byte.as_mut_ptr().cast(), byte.len()) > 0 }
        }
    }

    impl Drop for Pipe {
        fn drop(&mut self) {
            // SAFETY: our own fds.
            unsafe {
                libc::close(self.0[0]);
                libc::close(self.0[1]);
            }
        }
    }

    type Reports = Arc<Mutex<Vec<String>>>;

    fn spawn(dir: &TempDir, max_bytes: u64, backups: u32, pipe: &Pipe) -> (LogFile, Reports) {
        let reports = Reports::default();
        let sink = reports.clone();
        let spec = LogFileSpec {
            path: dir.0.join("out.log"),
            max_bytes,
            backups,
        };
        let report: Reporter = Box::new(move |line| sink.lock().unwrap().push(line.to_owned()));
        let log = LogFile::spawn(spec, 1 << 20, pipe.0[1], Some(report)).unwrap();
        (log, reports)
    }

    /// Chunk `i`: 99 copies of a digit and a newline.
    fn chunk(i: u8) -> Vec<u8> {
        let mut chunk = vec![b'0' + i; 99];
        chunk.push(b'\n');
        chunk
    }

    fn chunks(range: std::ops::Range<u8>) -> Vec<u8> {
        range.flat_map(chunk).collect()
    }

    fn flushed(log: &LogFile) {
        assert!(log.flush(Instant::now() + Duration::from_secs(10)));
    }

    #[test]
    fn rotates_keeping_the_configured_backups() {
        let dir = TempDir::new("rotate");
        let pipe = Pipe::new();
        let (log, reports) = spawn(&dir, 250, 2, &pipe);
        for i in 0..10 {
            let mut buffer = log.buffer();
            buffer.extend(chunk(i));
            log.push(buffer);
        }
        flushed(&log);
        assert_eq!(dir.names(), ["out.log", "out.log.1", "out.log.2"]);
        assert_eq!(dir.read("out.log"), chunks(8..10));
        assert_eq!(dir.read("out.log.1"), chunks(6..8));
        assert_eq!(dir.read("out.log.2"), chunks(4..6));
        assert!(reports.lock().unwrap().is_empty());
    }

    #[test]
    fn existing_content_counts_and_a_big_chunk_rotates_between_its_lines() {
        let dir = TempDir::new("existing");
        std::fs::write(dir.0.join("out.log"), chunks(0..2)).unwrap();
        std::fs::write(dir.0.join("out.log.1"), b"old\n").unwrap();
        let pipe = Pipe::new();
        let (log, _reports) = spawn(&dir, 250, 1, &pipe);
        // Three 100-byte lines in one chunk: the existing 200 bytes leave no room for
        // the first, so rotate; two fit the fresh file; the third rotates again.
        log.push(chunks(2..5));
        log.push(chunk(5));
        flushed(&log);
        assert_eq!(dir.names(), ["out.log", "out.log.1"]);
        assert_eq!(dir.read("out.log.1"), chunks(2..4));
        assert_eq!(dir.read("out.log"), chunks(4..6));
    }

    #[test]
    fn a_line_longer_than_max_bytes_goes_whole_into_a_fresh_file() {
        let dir = TempDir::new("long-line");
        let pipe = Pipe::new();
        let (log, _reports) = spawn(&dir, 250, 1, &pipe);
        log.push(chunk(0));
        let long = [b"x".repeat(400), b"\n".to_vec()].concat();
        log.push(long.clone());
        flushed(&log);
        assert_eq!(dir.read("out.log.1"), chunk(0));
        assert_eq!(dir.read("out.log"), long);
    }

    #[test]
    fn no_backups_truncates() {
        let dir = TempDir::new("truncate");
        let pipe = Pipe::new();
        let (log, _reports) = spawn(&dir, 250, 0, &pipe);
        for i in 0..10 {
            log.push(chunk(i));
        }
        flushed(&log);
        assert_eq!(dir.names(), ["out.log"]);
        assert_eq!(dir.read("out.log"), chunks(8..10));
    }

    #[test]
    fn no_limit_never_rotates() {
        let dir = TempDir::new("unlimited");
        let pipe = Pipe::new();
        let (log, _reports) = spawn(&dir, 0, 2, &pipe);
        for i in 0..10 {
            log.push(chunk(i));
        }
        flushed(&log);
        assert_eq!(dir.names(), ["out.log"]);
        assert_eq!(dir.read("out.log"), chunks(0..10));
    }

    #[test]
    fn creates_the_file_0644_at_start() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("mode");
        let pipe = Pipe::new();
        let (log, _reports) = spawn(&dir, 0, 0, &pipe);
        log.push(chunk(0));
        flushed(&log);
        // Read, not set: the umask is the whole process's.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|line| line.strip_prefix("Umask:"))
            .map_or(0o022, |umask| u32::from_str_radix(umask.trim(), 8).unwrap());
        let mode = std::fs::metadata(dir.0.join("out.log"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644 & !umask);
    }

    #[test]
    fn an_unwritable_path_is_reported_once() {
        let dir = TempDir::new("unwritable");
        let pipe = Pipe::new();
        let reports = Reports::default();
        let sink = reports.clone();
        let spec = LogFileSpec {
            path: dir.0.join("missing").join("out.log"),
            max_bytes: 250,
            backups: 2,
        };
        let report: Reporter = Box::new(move |line| sink.lock().unwrap().push(line.to_owned()));
        let log = LogFile::spawn(spec, 1 << 20, pipe.0[1], Some(report)).unwrap();
        for i in 0..5 {
            log.push(chunk(i));
        }
        flushed(&log);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 1, "{reports:?}");
        assert!(reports[0].contains("missing/out.log"), "{reports:?}");
        assert_eq!(dir.names(), Vec::<String>::new(), "parents are not created");
    }

    #[test]
    fn a_full_queue_wakes_the_reactor_once_drained() {
        let dir = TempDir::new("wake");
        let pipe = Pipe::new();
        let spec = LogFileSpec {
            path: dir.0.join("out.log"),
            max_bytes: 0,
            backups: 0,
        };
        let log = LogFile::spawn(spec, 10, pipe.0[1], None).unwrap();
        assert!(log.has_room());
        log.push(vec![b'x'; 4 << 20]);
        let waited = !log.has_room();
        flushed(&log);
        // The thread may have written it all before has_room looked.
        assert_eq!(pipe.woken(), waited);
        assert!(log.has_room());
        assert_eq!(dir.read("out.log").len(), 4 << 20);
    }

    #[test]
    fn lost_output_counts_lines_and_bytes() {
        let mut lost = Lost::default();
        lost.add(b"");
        assert_eq!(lost, Lost::default());
        lost.add(b"a\nbc\n");
        lost.add(b"no newline");
        assert_eq!(
            lost,
            Lost {
                lines: 3,
                bytes: 15
            }
        );
        assert_eq!(lost.describe(), "3 lines (15 bytes)");
        assert_eq!(Lost { lines: 1, bytes: 2 }.describe(), "1 line (2 bytes)");
    }

    #[test]
    fn output_lost_until_shutdown_is_reported_at_shutdown_once() {
        let dir = TempDir::new("never");
        let pipe = Pipe::new();
        let reports = Reports::default();
        let sink = reports.clone();
        let spec = LogFileSpec {
            path: dir.0.join("missing").join("out.log"),
            max_bytes: 0,
            backups: 0,
        };
        let report: Reporter = Box::new(move |line| sink.lock().unwrap().push(line.to_owned()));
        let log = LogFile::spawn(spec, 1 << 20, pipe.0[1], Some(report)).unwrap();
        for i in 0..3 {
            log.push(chunk(i));
        }
        flushed(&log);
        log.report_lost();
        log.report_lost();
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(
            reports[1]
                .ends_with("could not be written: 3 lines (300 bytes) of output were dropped"),
            "{reports:?}"
        );
    }

    #[test]
    fn writing_resumes_after_an_error_and_says_what_was_lost() {
        let dir = TempDir::new("resume");
        let pipe = Pipe::new();
        let reports = Reports::default();
        let sink = reports.clone();
        let spec = LogFileSpec {
            path: dir.0.join("later").join("out.log"),
            max_bytes: 250,
            backups: 1,
        };
        let report: Reporter = Box::new(move |line| sink.lock().unwrap().push(line.to_owned()));
        let log = LogFile::spawn_retrying(spec, 1 << 20, pipe.0[1], Some(report), Duration::ZERO)
            .unwrap();
        log.push(chunk(0));
        log.push(chunk(1));
        flushed(&log);
        assert_eq!(reports.lock().unwrap().len(), 1);
        std::fs::create_dir(dir.0.join("later")).unwrap();
        log.push(chunk(2));
        flushed(&log);
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert!(
            reports[1].contains("again; 2 lines (200 bytes) of output were dropped"),
            "{reports:?}"
        );
        assert_eq!(
            std::fs::read(dir.0.join("later/out.log")).unwrap(),
            chunk(2)
        );
    }
}
