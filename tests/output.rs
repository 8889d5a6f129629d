//! Black-box tests of the programs' output (issue 4): every line of every program reaches
//! rinit's stdout or stderr whole, prefixed, once and in order; long lines are split into
//! continued pieces; a last line without newline is written at EOF; bytes pass untouched
//! in text mode; JSON lines parse; colour only on a terminal; redirect_stderr and
//! `output = "inherit"`; output survives restarts; and a stalled or closed stdout never
//! stops rinit from supervising. rinit's stdout and stderr are captured as raw bytes (not
//! as UTF-8 lines), so `\r`, invalid UTF-8 and missing newlines are seen as they are.

mod common;

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{DEADLINE, TempDir};

/// Bytes read from one of rinit's fds by a background thread, and whether it hit EOF.
#[derive(Clone, Default)]
struct Capture(Arc<(Mutex<Captured>, Condvar)>);

/// The bytes read so far, and whether the fd reached EOF.
type Captured = (Vec<u8>, bool);

impl Capture {
    fn start(mut from: impl Read + Send + 'static) -> Capture {
        let capture = Capture::default();
        let sink = capture.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break, // EIO: a pty's last slave is closed
                };
                let (state, changed) = &*sink.0;
                state.lock().unwrap().0.extend_from_slice(&buf[..n]);
                changed.notify_all();
            }
            let (state, changed) = &*sink.0;
            state.lock().unwrap().1 = true;
            changed.notify_all();
        });
        capture
    }

    fn bytes(&self) -> Vec<u8> {
        self.0.0.lock().unwrap().0.clone()
    }

    /// The complete lines so far (lossy UTF-8, without their `\n`).
    fn lines(&self) -> Vec<String> {
        lines_of(&self.0.0.lock().unwrap().0)
    }

    /// Waits until `done(complete lines)` holds; panics with what arrived.
    fn wait_until(&self, what: &str, done: impl Fn(&[String]) -> bool) {
        let (state, changed) = &*self.0;
        let deadline = Instant::now() + DEADLINE;
        let mut guard = state.lock().unwrap();
        loop {
            let lines = lines_of(&guard.0);
            if done(&lines) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; got {lines:#?}"
            );
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    fn wait_eof(&self) {
        let (state, changed) = &*self.0;
        let deadline = Instant::now() + DEADLINE;
        let mut guard = state.lock().unwrap();
        while !guard.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "still open after rinit exited");
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }
}

/// Complete lines (a last piece without `\n` is left out), lossy UTF-8.
fn lines_of(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = bytes
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    lines.pop();
    lines
}

/// How to start rinit.
#[derive(Default)]
struct Start {
    /// PID 1 of a fresh PID namespace (else a plain child: a subreaper).
    pid1: bool,
    /// rinit's stdout; None: a pipe captured by the test.
    stdout: Option<OwnedFd>,
    env: Vec<(&'static str, &'static str)>,
    /// Environment variables removed (so the test's own environment does not leak in).
    env_remove: Vec<&'static str>,
    /// A new session whose controlling terminal is rinit's stdout (a pty).
    controlling_tty: bool,
}

struct Run {
    child: Child,
    /// rinit's pid as the test sees it.
    pid: i32,
    stdout: Option<Capture>,
    stderr: Capture,
    status: Option<std::process::ExitStatus>,
}

/// `rinit -c CONFIG`.
fn start(config: &str, how: Start) -> Run {
    let mut command = if how.pid1 {
        let mut c = Command::new("unshare");
        c.args(common::unshare_args()).arg(common::rinit_path());
        c
    } else {
        Command::new(common::rinit_path())
    };
    command
        .args(["-c", config])
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    for key in how.env_remove {
        command.env_remove(key);
    }
    command.envs(how.env);
    let captured = how.stdout.is_none();
    match how.stdout {
        Some(fd) => command.stdout(Stdio::from(fd)),
        None => command.stdout(Stdio::piped()),
    };
    if how.controlling_tty {
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(1, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn().expect("cannot start rinit");
    drop(command); // closes our copy of a stdout fd given to rinit
    let stdout = captured.then(|| Capture::start(child.stdout.take().unwrap()));
    let stderr = Capture::start(child.stderr.take().unwrap());
    let mut run = Run {
        pid: child.id() as i32,
        child,
        stdout,
        stderr,
        status: None,
    };
    if how.pid1 {
        let unshare = run.pid;
        let found = common::poll_until(|| common::children_of(unshare).first().copied());
        run.pid = found.unwrap_or_else(|| panic!("unshare ({unshare}) never started rinit"));
    }
    run
}

impl Run {
    fn signal(&self, sig: i32) {
        // SAFETY: plain kill of the rinit this test started.
        assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0, "kill rinit failed");
    }

    /// Waits for rinit to exit by itself and returns its exit code.
    fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.status = Some(status);
                return status
                    .code()
                    .unwrap_or_else(|| panic!("rinit died: {status:?}"));
            }
            assert!(
                Instant::now() < deadline,
                "rinit did not exit; stderr: {:#?}",
                self.stderr.lines()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for exit and for the captured pipes' EOF; returns the exit code.
    fn finish(&mut self) -> i32 {
        let code = self.wait();
        if let Some(stdout) = &self.stdout {
            stdout.wait_eof();
        }
        self.stderr.wait_eof();
        code
    }

    fn out(&self) -> &Capture {
        self.stdout.as_ref().expect("stdout is not captured")
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.status.is_none() && self.child.try_wait().ok().flatten().is_none() {
            for child in common::children_of(self.pid) {
                // SAFETY: killing processes this test started, and their groups.
                unsafe {
                    libc::kill(-child, libc::SIGKILL);
                    libc::kill(child, libc::SIGKILL);
                }
            }
            // SAFETY: as above.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The text of rinit's own line in the default text format (`rinit | TEXT`, the name
/// padded to the longest program name).
fn own(line: &str) -> Option<&str> {
    line.strip_prefix("rinit")?
        .trim_start_matches(' ')
        .strip_prefix("| ")
}

/// How many of rinit's own lines equal `text`.
fn count_own(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|l| own(l) == Some(text)).count()
}

/// How many `NAME: started (pid N)` lines there are.
fn count_started(lines: &[String], name: &str) -> usize {
    lines
        .iter()
        .filter(|l| started_pid(l, name).is_some())
        .count()
}

/// N in rinit's line `NAME: started (pid N)`.
fn started_pid(line: &str, name: &str) -> Option<i32> {
    own(line)?
        .strip_prefix(&format!("{name}: started (pid "))?
        .strip_suffix(')')?
        .parse()
        .ok()
}

fn position(lines: &[String], want: &str) -> usize {
    lines
        .iter()
        .position(|l| l == want)
        .unwrap_or_else(|| panic!("no line {want:?} in {lines:#?}"))
}

fn assert_last_own(lines: &[String], text: &str) {
    assert_eq!(
        lines.last().and_then(|l| own(l)),
        Some(text),
        "last line of stderr: {lines:#?}"
    );
}

/// A pipe (read end, write end), close-on-exec on both ends.
fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2")
}

/// Bytes waiting in a pipe.
fn queued(fd: &OwnedFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD into a live int.
    assert_eq!(
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) },
        0
    );
    n as usize
}

/// `wchar` from /proc/PID/io: the bytes the process has passed to write(2) so far.
fn wchar(pid: i32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` sleeps inside write(2).
fn blocked_in_write(pid: i32) -> bool {
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    common::stat_fields(pid).is_some_and(|f| f[0] == "S")
        && syscall.split_whitespace().next() == Some(&libc::SYS_write.to_string())
}

// ---------------------------------------------------------------------------------------

#[test]
fn four_programs_of_100000_lines_each_arrive_whole_once_and_in_order() {
    const LINES: usize = 100_000;
    let dir = TempDir::new();
    let gen_lines = dir.write(
        "gen.sh",
        &format!(
            "awk -v p=$1 'BEGIN {{ for (i = 1; i <= {LINES}; i++) \
             printf \"p%d-%06d-abcdefghijklmnopqrstuvwxyz\\n\", p, i }}'\n"
        ),
    );
    // p1..p3 print and exit; p4 prints, says so on stderr, and waits to be stopped.
    let mut toml = String::new();
    for p in 1..=3 {
        toml += &format!(
            "[program.p{p}]\ncommand = ['sh', '{gen_lines}', '{p}']\nautorestart = false\n\
             on_exit = 'ignore'\nstartsecs = 0\n\n"
        );
    }
    toml += &format!(
        "[program.p4]\ncommand = ['sh', '-c', 'sh {gen_lines} 4; echo p4-done >&2; exec sleep 1000']\n\
         startsecs = 0\n"
    );
    let config = dir.write("rinit.toml", &toml);
    let mut rinit = start(
        &config,
        Start {
            pid1: true,
            ..Default::default()
        },
    );
    rinit
        .stderr
        .wait_until("p1..p3 to exit and p4 to finish printing", |lines| {
            (1..=3).all(|p| {
                count_own(
                    lines,
                    &format!("p{p}: exited with exit status 0 (expected)"),
                ) == 1
            }) && lines.iter().any(|l| l == "p4    | p4-done")
        });
    // What p4 wrote may still be in its pipe or rinit's queue: shutdown writes it all.
    rinit.signal(libc::SIGTERM);
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());

    let out = rinit.out().bytes();
    assert_eq!(out.last(), Some(&b'\n'), "stdout ends inside a line");
    let mut next = [1usize; 4];
    for (n, line) in out[..out.len() - 1].split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line).unwrap_or_else(|_| {
            panic!("line {n} is not UTF-8: {:?}", String::from_utf8_lossy(line))
        });
        let p = (1..=4)
            .find(|p| line.starts_with(&format!("p{p}    | ")))
            .unwrap_or_else(|| panic!("line {n} has no program's prefix: {line:?}"));
        let want = format!(
            "p{p}    | p{p}-{:06}-abcdefghijklmnopqrstuvwxyz",
            next[p - 1]
        );
        assert_eq!(
            line, want,
            "line {n} of stdout (torn, lost or out of order)"
        );
        next[p - 1] += 1;
    }
    assert_eq!(next, [LINES + 1; 4], "lines missing at the end");
    let e = rinit.stderr.lines();
    assert_last_own(&e, "exiting with code 0");
}

#[test]
fn a_stalled_stdout_does_not_stop_restarts_or_shutdown() {
    let dir = TempDir::new();
    // flood fills rinit's stdout queue (its pipe is never read); crash prints ~50 KB
    // (less than its own pipe holds) and exits 1 after it has counted as started.
    let config = dir.write(
        "rinit.toml",
        "
[rinit]
grace = '3s'

[program.flood]
command = ['yes', 'flood-line']
startsecs = 0

[program.crash]
command = ['sh', '-c', 'seq -f crash-%g 5000; sleep 0.2; exit 1']
startsecs = 0.1
autorestart = true
backoff = '100ms'
backoff_max = '100ms'
",
    );
    let (stalled, stdout) = pipe();
    // SAFETY: fcntl on a pipe we own: its smallest size, one page.
    assert_eq!(
        unsafe { libc::fcntl(stalled.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) },
        4096
    );
    let mut rinit = start(
        &config,
        Start {
            stdout: Some(stdout),
            ..Default::default()
        },
    );
    rinit
        .stderr
        .wait_until("flood to start", |l| count_started(l, "flood") == 1);
    let flood = rinit
        .stderr
        .lines()
        .iter()
        .find_map(|l| started_pid(l, "flood"))
        .unwrap();
    // Backpressure: once rinit's queue is full, flood is held back (blocked writing to
    // its pipe, which rinit no longer reads) for good. Sample how much flood has written
    // at each start of crash until 4 starts in a row (3 restarts) saw the same amount.
    let mut samples: Vec<Option<u64>> = Vec::new();
    let mut starts = 0;
    loop {
        starts += 1;
        rinit
            .stderr
            .wait_until(&format!("crash's start {starts}"), |l| {
                count_started(l, "crash") >= starts
            });
        samples.push(wchar(flood));
        let last = &samples[samples.len().saturating_sub(4)..];
        if last.len() == 4 && last[0].is_some() && last.iter().all(|s| *s == last[0]) {
            break;
        }
        assert!(starts < 40, "flood was never held back: {samples:?}");
    }
    // Still stalled: flood wrote nothing more, and nobody read rinit's stdout.
    assert!(blocked_in_write(flood));
    assert_eq!(wchar(flood), *samples.last().unwrap());
    assert_eq!(queued(&stalled), 4096);

    let sent = Instant::now();
    rinit.signal(libc::SIGTERM);
    let code = rinit.finish();
    let took = sent.elapsed();
    let e = rinit.stderr.lines();
    assert_eq!(code, 0, "{e:#?}");
    // The programs stop at once; then at most 2 s to write what is left (it cannot be).
    assert!(took < Duration::from_secs(5), "rinit took {took:?} to exit");
    assert_last_own(&e, "exiting with code 0");
    assert_eq!(
        count_own(&e, "flood: stopped (signal SIGTERM)"),
        1,
        "{e:#?}"
    );
    assert!(
        !e.iter().any(|l| l.contains("SIGKILL")),
        "something had to be killed: {e:#?}"
    );
    let restarts = count_own(&e, "crash: exited with exit status 1 (unexpected)");
    assert!(restarts >= 3, "{e:#?}");
    // What did get through is the programs' first lines, whole.
    let mut got = Vec::new();
    std::fs::File::from(stalled).read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 4096);
    let lines = lines_of(&got);
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l == "flood | flood-line" || l.starts_with("crash | crash-")),
        "{lines:?}"
    );
}

#[test]
fn a_closed_stdout_is_reported_once_and_supervision_goes_on() {
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        "
[program.out]
command = ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo \"out $i\"; sleep 0.01; done']
startsecs = 0

[program.crash]
command = ['sh', '-c', 'echo \"crash on stderr\" >&2; sleep 0.05; exit 1']
startsecs = 0
autorestart = true
backoff = '100ms'
backoff_max = '100ms'
",
    );
    let (reader, stdout) = pipe();
    drop(reader);
    let mut rinit = start(
        &config,
        Start {
            stdout: Some(stdout),
            ..Default::default()
        },
    );
    let gone = |l: &String| l.contains("cannot write to stdout");
    rinit
        .stderr
        .wait_until("the news that stdout is gone", |l| l.iter().any(gone));
    let lines = rinit.stderr.lines();
    let crashes = |l: &[String]| l.iter().filter(|l| *l == "crash | crash on stderr").count();
    let (before, started) = (crashes(&lines), count_started(&lines, "crash"));
    rinit.stderr.wait_until("crash to go on restarting", |l| {
        crashes(l) >= before + 3 && count_started(l, "crash") >= started + 3
    });
    let out = rinit
        .stderr
        .lines()
        .iter()
        .find_map(|l| started_pid(l, "out"))
        .unwrap();
    assert!(common::is_alive(out), "out died");
    rinit.signal(libc::SIGTERM);
    let code = rinit.finish();
    let e = rinit.stderr.lines();
    assert_eq!(code, 0, "{e:#?}");
    assert_eq!(e.iter().filter(|l| gone(l)).count(), 1, "{e:#?}");
    assert_eq!(count_started(&e, "out"), 1, "out was restarted: {e:#?}");
    assert_eq!(count_own(&e, "out: stopped (signal SIGTERM)"), 1, "{e:#?}");
    assert_last_own(&e, "exiting with code 0");
}

#[test]
fn last_line_without_newline_long_lines_crlf_empty_lines_and_binary_pass_as_they_are() {
    let dir = TempDir::new();
    let script = dir.write(
        "edge.sh",
        "printf 'first\\r\\n\\nsecond\\n'
printf '\\377\\376 binary\\n'
head -c 65536 /dev/zero | tr '\\0' a; echo
head -c 150000 /dev/zero | tr '\\0' b; echo
printf 'err without newline' >&2
printf 'last without newline'
",
    );
    let config = dir.write(
        "rinit.toml",
        &format!(
            "[program.edge]\ncommand = ['sh', '{script}']\nautorestart = false\nstartsecs = 0\n"
        ),
    );
    let mut rinit = start(&config, Start::default());
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
    let mut want: Vec<u8> = Vec::new();
    want.extend_from_slice(b"edge  | first\r\nedge  | \nedge  | second\n");
    want.extend_from_slice(b"edge  | \xff\xfe binary\n");
    // Exactly the cap (64 KiB) is one line; longer lines come in continued pieces.
    for (sep, byte, len) in [
        (b'|', b'a', 65536),
        (b'|', b'b', 65536),
        (b'+', b'b', 65536),
        (b'+', b'b', 150_000 - 2 * 65536),
    ] {
        want.extend_from_slice(b"edge  ");
        want.extend_from_slice(&[sep, b' ']);
        want.extend(std::iter::repeat_n(byte, len));
        want.push(b'\n');
    }
    want.extend_from_slice(b"edge  | last without newline\n");
    let got = rinit.out().bytes();
    if got != want {
        let (g, w) = (lines_of(&got), lines_of(&want));
        let short = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|l| l.chars().take(40).collect::<String>() + &format!("..({})", l.len()))
                .collect()
        };
        panic!(
            "stdout differs:\n got {:#?}\nwant {:#?}",
            short(&g),
            short(&w)
        );
    }
    // The last stderr line, without newline, is written before the news of the exit.
    let e = rinit.stderr.lines();
    let last = position(&e, "edge  | err without newline");
    let exited = position(&e, "rinit | edge: exited with exit status 0 (expected)");
    assert!(last < exited, "{e:#?}");
    assert_last_own(&e, "exiting with code 0");
}

/// One line of JSON output, as Python's json module read it.
#[derive(Debug, PartialEq)]
struct Record {
    program: String,
    stream: String,
    message: String,
    continued: bool,
}

fn record(program: &str, stream: &str, message: &str, continued: bool) -> Record {
    Record {
        program: program.into(),
        stream: stream.into(),
        message: message.into(),
        continued,
    }
}

/// Parses every line of `bytes` with Python's JSON parser; panics if one is not a JSON
/// object with exactly time (RFC 3339 UTC with ms), program, stream, message and an
/// optional `continued: true`.
fn parse_json_lines(bytes: &[u8]) -> Vec<Record> {
    const CHECK: &str = r#"
import json, re, sys
time = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z')
data = sys.stdin.buffer.read()
if data and not data.endswith(b'\n'):
    sys.exit('BAD: no newline at the end')
for n, raw in enumerate(data.split(b'\n')[:-1], 1):
    try:
        obj = json.loads(raw.decode('utf-8'))
        keys = set(obj) - {'continued'}
        assert keys == {'time', 'program', 'stream', 'message'}, sorted(obj)
        assert obj.get('continued', True) is True, obj['continued']
        assert all(isinstance(obj[k], str) for k in keys), obj
        assert time.fullmatch(obj['time']), obj['time']
        assert obj['stream'] in ('stdout', 'stderr'), obj['stream']
        message = obj['message'].encode('utf-8').hex()
    except Exception as e:
        sys.exit(f'BAD line {n}: {e!r}: {raw[:300]!r}')
    print(obj['program'], obj['stream'], 'continued' if 'continued' in obj else '-', message)
"#;
    let mut python = Command::new("python3")
        .args(["-c", CHECK])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = python.stdin.take().unwrap();
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = python.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "not JSON lines: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            let hex = f.get(3).copied().unwrap_or("");
            let message: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            record(
                f[0],
                f[1],
                &String::from_utf8(message).unwrap(),
                f[2] == "continued",
            )
        })
        .collect()
}

#[test]
fn json_lines_parse_with_the_expected_fields_for_programs_and_rinit() {
    let dir = TempDir::new();
    let script = dir.write(
        "json.sh",
        "printf 'plain\\n'
printf '\"quoted\" back\\\\slash\\ttab\\r\\n'
printf '\\377bad\\n'
printf '\\n'
head -c 70000 /dev/zero | tr '\\0' y; echo
printf 'to-err\\n' >&2
printf 'last'
",
    );
    let config = dir.write(
        "rinit.toml",
        &format!(
            "[rinit]\nlog_format = 'json'\n\n[program.js]\ncommand = ['sh', '{script}']\n\
             autorestart = false\nstartsecs = 0\n"
        ),
    );
    let mut rinit = start(&config, Start::default());
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
    let out = parse_json_lines(&rinit.out().bytes());
    let y = |n| "y".repeat(n);
    assert_eq!(
        out,
        [
            record("js", "stdout", "plain", false),
            record("js", "stdout", "\"quoted\" back\\slash\ttab\r", false),
            record("js", "stdout", "\u{fffd}bad", false),
            record("js", "stdout", "", false),
            record("js", "stdout", &y(65536), false),
            record("js", "stdout", &y(70000 - 65536), true),
            record("js", "stdout", "last", false),
        ]
    );
    let err = parse_json_lines(&rinit.stderr.bytes());
    let js: Vec<&Record> = err.iter().filter(|r| r.program == "js").collect();
    assert_eq!(js, [&record("js", "stderr", "to-err", false)]);
    let own: Vec<&str> = err
        .iter()
        .filter(|r| r.program != "js")
        .map(|r| {
            assert_eq!((r.program.as_str(), r.stream.as_str()), ("rinit", "stderr"));
            assert!(!r.continued);
            r.message.as_str()
        })
        .collect();
    assert!(
        own[0].starts_with("js: started (pid ") && own[0].ends_with(')'),
        "{own:#?}"
    );
    assert!(
        own.contains(&"js: exited with exit status 0 (expected)"),
        "{own:#?}"
    );
    assert_eq!(own.last(), Some(&"exiting with code 0"));
}

#[test]
fn json_mode_stays_json_when_stdout_is_closed() {
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        "
[rinit]
log_format = 'json'

[program.out]
command = ['sh', '-c', 'while :; do echo out; sleep 0.01; done']
startsecs = 0
",
    );
    let (reader, stdout) = pipe();
    drop(reader);
    let mut rinit = start(
        &config,
        Start {
            stdout: Some(stdout),
            ..Default::default()
        },
    );
    rinit
        .stderr
        .wait_until("the news that stdout is gone", |l| {
            l.iter().any(|l| l.contains("cannot write to stdout"))
        });
    rinit.signal(libc::SIGTERM);
    assert_eq!(rinit.finish(), 0);
    let err = parse_json_lines(&rinit.stderr.bytes());
    assert_eq!(
        err.iter()
            .filter(|r| r.program == "rinit" && r.message.contains("cannot write to stdout"))
            .count(),
        1,
        "{err:#?}"
    );
}

/// Runs the program `color` (one line on stdout, one on stderr) with `log_color`, on a
/// pty or a pipe; returns (stdout with the pty's `\r\n` made `\n`, stderr).
fn colour_run(log_color: &str, pty: bool, no_color: Option<&'static str>) -> (String, String) {
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        &format!(
            "[rinit]\nlog_color = '{log_color}'\n\n[program.color]\n\
             command = ['sh', '-c', 'echo hello; echo oops >&2']\nautorestart = false\nstartsecs = 0\n"
        ),
    );
    let mut how = Start {
        env_remove: vec!["NO_COLOR"],
        env: no_color.map(|v| vec![("NO_COLOR", v)]).unwrap_or_default(),
        ..Default::default()
    };
    let mut screen = None;
    if pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        for fd in [pty.master.as_raw_fd(), pty.slave.as_raw_fd()] {
            // SAFETY: fcntl on fds we own: no other child may inherit them.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        how.stdout = Some(pty.slave);
        how.controlling_tty = true;
        screen = Some(Capture::start(std::fs::File::from(pty.master)));
    }
    let mut rinit = start(&config, how);
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
    let stdout = match &screen {
        Some(screen) => {
            screen.wait_eof();
            screen.bytes()
        }
        None => rinit.out().bytes(),
    };
    let stdout = String::from_utf8(stdout).unwrap().replace("\r\n", "\n");
    (stdout, String::from_utf8(rinit.stderr.bytes()).unwrap())
}

#[test]
fn colour_only_on_a_terminal_and_not_with_no_color() {
    // On a pty, with NO_COLOR unset: the prefix is coloured (31..=36, stable per name).
    let (out, err) = colour_run("auto", true, None);
    let code = out
        .strip_prefix("\x1b[3")
        .and_then(|rest| rest.strip_suffix("mcolor | \x1b[0mhello\n"))
        .unwrap_or_else(|| panic!("not one coloured line: {out:?}"));
    assert!(["1", "2", "3", "4", "5", "6"].contains(&code), "{out:?}");
    // stderr is a pipe: no colour there, for the program's lines or rinit's.
    assert!(!err.contains('\x1b'), "{err:?}");
    assert!(err.lines().any(|l| l == "color | oops"), "{err:?}");
    // An empty NO_COLOR counts as unset; `always` colours a pipe too, the same way.
    assert_eq!(colour_run("auto", true, Some("")).0, out);
    assert_eq!(colour_run("always", false, None).0, out);
    for (log_color, pty, no_color) in [
        ("auto", true, Some("1")),
        ("auto", false, None),
        ("never", true, None),
    ] {
        let (out, err) = colour_run(log_color, pty, no_color);
        assert_eq!(
            out, "color | hello\n",
            "log_color = {log_color}, pty: {pty}, NO_COLOR: {no_color:?}"
        );
        assert!(!err.contains('\x1b'), "{err:?}");
    }
}

#[test]
fn redirect_stderr_joins_the_stdout_stream_and_inherit_is_unprefixed() {
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        "
[program.redir]
command = ['sh', '-c', 'echo to-out; echo to-err >&2; echo to-out-2']
redirect_stderr = true
autorestart = false
on_exit = 'ignore'
startsecs = 0

[program.inh]
command = ['sh', '-c', 'echo inh-out; echo inh-err >&2']
output = 'inherit'
autorestart = false
on_exit = 'ignore'
startsecs = 0
",
    );
    let mut rinit = start(&config, Start::default());
    rinit.stderr.wait_until("both programs to exit", |l| {
        ["redir", "inh"]
            .iter()
            .all(|name| count_own(l, &format!("{name}: exited with exit status 0 (expected)")) == 1)
    });
    rinit.signal(libc::SIGTERM);
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
    let mut out = rinit.out().lines();
    out.sort(); // the two programs run at the same time
    assert_eq!(
        out,
        [
            "inh-out",
            "redir | to-err",
            "redir | to-out",
            "redir | to-out-2"
        ]
    );
    // One pipe for both streams: the order the program wrote them in.
    let redir: Vec<String> = rinit
        .out()
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("redir"))
        .collect();
    assert_eq!(
        redir,
        ["redir | to-out", "redir | to-err", "redir | to-out-2"]
    );
    let e = rinit.stderr.lines();
    let programs: Vec<&String> = e.iter().filter(|l| own(l).is_none()).collect();
    assert_eq!(programs, ["inh-err"], "{e:#?}");
}

#[test]
fn prefixed_lines_are_not_torn_by_an_inherit_program_sharing_the_pipe() {
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        "
[program.pre]
command = ['yes', 'pre-line-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']
startsecs = 0

[program.inh]
command = ['sh', '-c', 'while :; do echo inh-line-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb; done']
output = 'inherit'
startsecs = 0
",
    );
    let (reader, stdout) = pipe();
    let mut rinit = start(
        &config,
        Start {
            stdout: Some(stdout),
            ..Default::default()
        },
    );
    // A slow reader: the pipe is full most of the time, so both writers wait for room.
    let mut reader = std::fs::File::from(reader);
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let n = reader.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_micros(200));
    }
    rinit.signal(libc::SIGTERM);
    reader.read_to_end(&mut got).unwrap();
    assert_eq!(rinit.finish(), 0);
    let lines = lines_of(&got);
    let pre = "pre   | pre-line-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let inh = "inh-line-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert!(lines.iter().any(|l| l == pre) && lines.iter().any(|l| l == inh));
    // `yes` killed by SIGTERM in the middle of a write leaves its last line partial:
    // written at the pipe's end, as it is, and not a tear. Only the last `pre` line may be.
    let last_pre = lines.iter().rposition(|l| l.starts_with("pre   | "));
    let torn: Vec<&String> = lines
        .iter()
        .enumerate()
        .filter(|&(i, l)| {
            let partial_last = Some(i) == last_pre && pre.starts_with(l.as_str());
            l != pre && l != inh && !partial_last
        })
        .map(|(_, l)| l)
        .collect();
    assert!(
        torn.is_empty(),
        "{} torn lines of {}: {:?}",
        torn.len(),
        lines.len(),
        &torn[..torn.len().min(5)]
    );
}

#[test]
fn every_run_of_a_restarted_program_is_written_in_order() {
    let dir = TempDir::new();
    // Each run: 2000 lines, a last line without newline on each stream, exit 1; the
    // fifth run exits 0, which is expected, so rinit ends with code 0.
    let script = dir.write(
        "again.sh",
        "n=$(cat @DIR@/count 2>/dev/null || echo 0)
n=$((n + 1))
echo $n > @DIR@/count
awk -v n=$n 'BEGIN { for (i = 1; i <= 2000; i++) printf \"run %d line %d\\n\", n, i }'
printf 'run %d end' $n
printf 'run %d on stderr' $n >&2
[ $n -ge 5 ] && exit 0
exit 1
",
    );
    let config = dir.write(
        "rinit.toml",
        &format!(
            "[program.again]\ncommand = ['sh', '{script}']\nstartsecs = 0\n\
             autorestart = 'unexpected'\nbackoff = '100ms'\nbackoff_max = '100ms'\n"
        ),
    );
    let mut rinit = start(&config, Start::default());
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
    let mut want = String::new();
    for n in 1..=5 {
        for i in 1..=2000 {
            want += &format!("again | run {n} line {i}\n");
        }
        want += &format!("again | run {n} end\n");
    }
    let got = String::from_utf8(rinit.out().bytes()).unwrap();
    if got != want {
        let (g, w) = (lines_of(got.as_bytes()), lines_of(want.as_bytes()));
        let at = g
            .iter()
            .zip(&w)
            .position(|(a, b)| a != b)
            .unwrap_or(g.len().min(w.len()));
        panic!(
            "stdout differs at line {at} ({} lines, want {}): got {:?}, want {:?}",
            g.len(),
            w.len(),
            g.get(at),
            w.get(at)
        );
    }
    // On stderr, each run's last line comes between its start and the news of its exit.
    let e = rinit.stderr.lines();
    let mut from = 0;
    for n in 1..=5 {
        let status = if n < 5 {
            "1 (unexpected)"
        } else {
            "0 (expected)"
        };
        let started = from
            + e[from..]
                .iter()
                .position(|l| started_pid(l, "again").is_some())
                .unwrap_or_else(|| panic!("run {n} never started: {e:#?}"));
        let line = position(&e, &format!("again | run {n} on stderr"));
        let exited = started
            + e[started..]
                .iter()
                .position(|l| {
                    own(l) == Some(format!("again: exited with exit status {status}").as_str())
                })
                .unwrap_or_else(|| panic!("run {n} never exited: {e:#?}"));
        assert!(started < line && line < exited, "run {n}: {e:#?}");
        from = exited + 1;
    }
    assert_eq!(count_started(&e, "again"), 5, "{e:#?}");
    assert_last_own(&e, "exiting with code 0");
}

#[test]
fn prefix_templates_per_program_prefixes_and_timestamps() {
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        "
[rinit]
log_prefix = '[{name}:{stream}] {sep} '
log_timestamps = true

[program.bare]
command = ['sh', '-c', 'echo bare line; echo bare err >&2']
type = 'oneshot'
priority = 1
log_prefix = ''

[program.tmpl]
command = ['sh', '-c', 'echo out-line; echo err-line >&2; head -c 70000 /dev/zero | tr \"\\0\" z; echo']
priority = 2
autorestart = false
startsecs = 0
",
    );
    let begin = SystemTime::now() - Duration::from_secs(1);
    let mut rinit = start(&config, Start::default());
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
    let end = SystemTime::now() + Duration::from_secs(1);
    // Every line: `YYYY-MM-DDTHH:MM:SS.mmmZ TEXT`, at a time during the run.
    let untimed = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                let (stamp, text) = l.split_at_checked(25).unwrap_or_else(|| panic!("{l:?}"));
                assert!(
                    stamp.len() == 25 && stamp.as_bytes()[19] == b'.' && stamp.ends_with("Z "),
                    "{l:?}"
                );
                let t = humantime::parse_rfc3339(stamp.trim_end())
                    .unwrap_or_else(|e| panic!("{l:?}: {e}"));
                assert!(begin <= t && t <= end, "{l:?}");
                text.to_string()
            })
            .collect()
    };
    let out = untimed(rinit.out().lines());
    assert_eq!(
        out,
        [
            "bare line".to_string(),
            "[tmpl :out] | out-line".to_string(),
            format!("[tmpl :out] | {}", "z".repeat(65536)),
            format!("[tmpl :out] + {}", "z".repeat(70000 - 65536)),
        ]
    );
    let e = untimed(rinit.stderr.lines());
    let programs: Vec<&String> = e
        .iter()
        .filter(|l| !l.starts_with("[rinit:err] | "))
        .collect();
    assert_eq!(programs, ["bare err", "[tmpl :err] | err-line"], "{e:#?}");
    assert_eq!(
        e.last().map(String::as_str),
        Some("[rinit:err] | exiting with code 0")
    );
}

#[test]
fn a_child_that_keeps_writing_after_its_program_exited_does_not_hold_rinit() {
    // The oneshot exits while the `yes` it started keeps its stdout pipe full: rinit must
    // read only what was there at the exit, report it, and go on (start the next level,
    // handle SIGTERM) while the rest of the output flows through the reactor.
    let dir = TempDir::new();
    let config = dir.write(
        "rinit.toml",
        "
[program.setup]
type = 'oneshot'
priority = 1
command = ['sh', '-c', 'yes flood & sleep 0.2; exit 0']

[program.web]
priority = 2
command = ['@TP@', 'sleep']
startsecs = 0
",
    );
    let mut rinit = start(&config, Start::default());
    let started = common::poll_until(|| {
        rinit
            .stderr
            .lines()
            .iter()
            .any(|l| started_pid(l, "web").is_some())
            .then_some(())
    });
    assert!(
        started.is_some(),
        "web never started: {:#?}",
        rinit.stderr.lines()
    );
    rinit.signal(libc::SIGTERM);
    assert_eq!(rinit.finish(), 0, "{:#?}", rinit.stderr.lines());
}

#[test]
fn stdout_and_stderr_on_one_pipe_do_not_tear_each_other() {
    // `rinit 2>&1 | collector`: one writer must serve both, or two threads would
    // interleave their (large) writes inside lines.
    let dir = TempDir::new();
    let line_a = "a".repeat(300);
    let line_b = "b".repeat(300);
    let config = dir.write(
        "rinit.toml",
        &format!(
            "
[program.outp]
command = ['sh', '-c', 'for i in $(seq 3000); do echo {line_a}; done']
startsecs = 0
on_exit = 'ignore'

[program.errp]
command = ['sh', '-c', 'for i in $(seq 3000); do echo {line_b} >&2; done; sleep 0.5']
startsecs = 0
"
        ),
    );
    let rinit = common::rinit_path();
    let mut child = Command::new("sh")
        .args(["-c", "exec \"$0\" -c \"$1\" 2>&1"])
        .arg(&rinit)
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run rinit");
    // A slow reader (a throttle, not synchronisation): the pipe stays full, so both
    // streams' writes pile up and would interleave if two threads wrote them.
    let mut reader = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_micros(100));
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let lines = lines_of(&got);
    let want_a = format!("outp  | {line_a}");
    let want_b = format!("errp  | {line_b}");
    let count = |want: &str| lines.iter().filter(|l| *l == want).count();
    assert_eq!(count(&want_a), 3000);
    assert_eq!(count(&want_b), 3000);
    let torn: Vec<&String> = lines
        .iter()
        .filter(|l| **l != want_a && **l != want_b && own(l).is_none())
        .collect();
    assert!(
        torn.is_empty(),
        "{} torn: {:?}",
        torn.len(),
        &torn[..torn.len().min(3)]
    );
}
