//! Shared harness: runs the real rinit binary, as PID 1 of a fresh PID namespace
//! (`unshare --pid --fork --mount-proc`) or as a plain child (a subreaper), and waits for
//! conditions with deadlines instead of sleeping.
#![allow(dead_code)] // each test file uses a different part of the harness

pub mod lines;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long any wait may take before a test fails. Generous: only a failing test ever
/// waits this long, and a loaded 2-core CI machine can be slow.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// The binary under test: `$RINIT_BIN` when set (integration/test points it at the
/// static musl build that ships), else the one cargo just built.
pub fn rinit_path() -> PathBuf {
    std::env::var_os("RINIT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rinit")))
}

/// The test helper, built by `cargo test` from `examples/testprog.rs`.
pub fn testprog() -> String {
    let cargo_rinit = PathBuf::from(env!("CARGO_BIN_EXE_rinit"));
    let bin_dir = cargo_rinit
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let path = bin_dir.join("examples").join("testprog");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test`, which builds examples",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// Where rinit runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// PID 1 of a new PID namespace.
    Pid1,
    /// A direct child of the test: not PID 1, so rinit is a subreaper.
    Subreaper,
}

/// Lines collected from a pipe by a background thread, and whether it reached EOF.
#[derive(Clone, Default)]
pub struct Lines(Arc<(Mutex<LinesSoFar>, Condvar)>);

/// The lines read so far, and whether the pipe reached EOF.
type LinesSoFar = (Vec<String>, bool);

impl Lines {
    fn collect(self, pipe: impl Read + Send + 'static) {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let (state, changed) = &*self.0;
                state.lock().unwrap().0.push(line);
                changed.notify_all();
            }
            let (state, changed) = &*self.0;
            state.lock().unwrap().1 = true;
            changed.notify_all();
        });
    }

    pub fn all(&self) -> Vec<String> {
        self.0.0.lock().unwrap().0.clone()
    }

    /// Waits until every writer of the pipe has closed it.
    pub fn wait_eof(&self) {
        let (state, changed) = &*self.0;
        let deadline = Instant::now() + DEADLINE;
        let mut guard = state.lock().unwrap();
        while !guard.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "pipe still open; got {:?}", guard.0);
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Waits until a line equal to `want` has arrived; panics with what did arrive.
    pub fn wait_for(&self, want: &str) {
        self.wait_until(|lines| lines.iter().any(|l| l == want), want);
    }

    /// Waits until `done(lines)` holds.
    pub fn wait_until(&self, done: impl Fn(&[String]) -> bool, what: &str) {
        let (state, changed) = &*self.0;
        let deadline = Instant::now() + DEADLINE;
        let mut guard = state.lock().unwrap();
        while !done(&guard.0) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what:?}; got {:?}",
                guard.0
            );
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }
}

pub struct Rinit {
    child: Child,
    /// rinit's pid as seen from the test (the host).
    pub pid: i32,
    pub stdout: Lines,
    pub stderr: Lines,
    pub mode: Mode,
    /// Its control socket (each rinit under test has its own).
    pub control: String,
    /// The exit status, once collected.
    status: Option<std::process::ExitStatus>,
}

/// Options for starting rinit.
#[derive(Default)]
pub struct Launch {
    pub env: Vec<(String, String)>,
    /// Run in the child before exec: e.g. set up an odd inherited signal state.
    pub pre_exec: Option<fn() -> std::io::Result<()>>,
    /// Subreaper mode only: a command that ends by exec'ing rinit (so rinit keeps its pid),
    /// e.g. `unshare --mount sh -c '...; exec "$0" "$@"'`.
    pub wrapper: Vec<String>,
}

pub fn start<S: AsRef<OsStr>>(mode: Mode, args: &[S]) -> Rinit {
    start_with(mode, args, Launch::default())
}

pub fn start_with<S: AsRef<OsStr>>(mode: Mode, args: &[S], launch: Launch) -> Rinit {
    let mut command = match mode {
        Mode::Pid1 => {
            let mut c = Command::new("unshare");
            c.args(unshare_args()).arg(rinit_path());
            c
        }
        Mode::Subreaper if !launch.wrapper.is_empty() => {
            let mut c = Command::new(&launch.wrapper[0]);
            c.args(&launch.wrapper[1..]).arg(rinit_path());
            c
        }
        Mode::Subreaper => Command::new(rinit_path()),
    };
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Every rinit under test gets its own control socket, unless the test picks one:
    // tests run in parallel, and /run/rinit.sock is the machine's own.
    let control = match launch.env.iter().find(|(k, _)| k == "RINIT_CONTROL_SOCKET") {
        Some((_, socket)) => socket.clone(),
        None => unique_socket(),
    };
    command.env("RINIT_CONTROL_SOCKET", &control);
    command.envs(launch.env.iter().map(|(k, v)| (k, v)));
    if let Some(hook) = launch.pre_exec {
        // SAFETY: the hooks used by the tests only make async-signal-safe calls.
        unsafe { command.pre_exec(hook) };
    }
    let mut child = command.spawn().expect("cannot start rinit");
    let stdout = Lines::default();
    let stderr = Lines::default();
    stdout.clone().collect(child.stdout.take().unwrap());
    stderr.clone().collect(child.stderr.take().unwrap());
    let mut rinit = Rinit {
        pid: child.id() as i32,
        child,
        stdout,
        stderr,
        mode,
        control,
        status: None,
    };
    if mode == Mode::Pid1 {
        rinit.pid = rinit.find_rinit_under_unshare();
    }
    rinit
}

/// A control socket path of its own for one rinit under test.
pub fn unique_socket() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir();
    format!(
        "{}/rinit-test-{}-{n}.sock",
        dir.display(),
        std::process::id()
    )
}

/// `unshare` flags for a PID namespace; unprivileged users also need a user namespace.
pub fn unshare_args() -> Vec<&'static str> {
    let mut args = vec!["--pid", "--fork", "--mount-proc"];
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        args.extend(["--user", "--map-root-user"]);
    }
    args
}

/// Polls `probe` every few milliseconds until it returns Some or the deadline passes.
pub fn poll_until<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fields of `/proc/PID/stat` after the command name: state is [0], ppid is [1].
pub fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

pub fn children_of(parent: i32) -> Vec<i32> {
    let mut children = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return children;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if stat_fields(pid).is_some_and(|f| f[1] == parent.to_string()) {
            children.push(pid);
        }
    }
    children
}

pub fn zombie_children_of(parent: i32) -> usize {
    children_of(parent)
        .into_iter()
        .filter(|&pid| stat_fields(pid).is_some_and(|f| f[0] == "Z"))
        .count()
}

pub fn is_alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|f| f[0] != "Z")
}

/// `voluntary_ctxt_switches + nonvoluntary_ctxt_switches` from /proc/PID/status.
pub fn context_switches(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

impl Rinit {
    /// The host pid of unshare's one child, which is rinit; 0 if everything has already
    /// exited (a quick command), in which case no test needs the pid.
    fn find_rinit_under_unshare(&mut self) -> i32 {
        let unshare = self.child.id() as i32;
        let found = poll_until(|| {
            if let Some(&pid) = children_of(unshare).first() {
                return Some(pid);
            }
            self.status = self.child.try_wait().expect("try_wait");
            self.status.map(|_| 0)
        });
        found.unwrap_or_else(|| panic!("unshare ({unshare}) never started rinit"))
    }

    /// Waits until rinit sleeps in poll, so measurements start from a quiet state.
    pub fn wait_until_idle(&self) {
        let ppoll = libc::SYS_ppoll.to_string();
        let idle = poll_until(|| {
            let syscall = std::fs::read_to_string(format!("/proc/{}/syscall", self.pid)).ok()?;
            (syscall.split_whitespace().next()? == ppoll).then_some(())
        });
        assert!(idle.is_some(), "rinit never went to sleep in poll");
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: plain kill of rinit's host pid.
        assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0, "kill rinit failed");
    }

    /// Waits for rinit to exit and returns its exit code. Panics if it was killed by a
    /// signal (rinit must always exit by itself) or if the deadline passes.
    pub fn wait(&mut self) -> i32 {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if self.status.is_none() {
                self.status = self.child.try_wait().expect("try_wait");
            }
            if let Some(status) = self.status {
                return status
                    .code()
                    .unwrap_or_else(|| panic!("rinit died: {status:?}"));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("rinit did not exit; stderr: {:?}", self.stderr.all());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for exit and for both pipes to reach EOF.
    pub fn finish(&mut self) -> Outcome {
        let code = self.wait();
        // EOF also proves no descendant of rinit still holds the pipes open.
        self.stdout.wait_eof();
        self.stderr.wait_eof();
        Outcome {
            code,
            stdout: self.stdout.all(),
            stderr: self.stderr.all(),
        }
    }
}

impl Drop for Rinit {
    fn drop(&mut self) {
        if self.status.is_none() && self.child.try_wait().ok().flatten().is_none() {
            // A failed test must leave nothing behind. As PID 1, killing rinit takes the
            // namespace down; as a subreaper, its children would outlive it: kill them
            // and their process groups first.
            for child in children_of(self.pid) {
                // SAFETY: killing processes this test started.
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

#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

/// Runs rinit to completion.
pub fn run<S: AsRef<OsStr>>(mode: Mode, args: &[S]) -> Outcome {
    start(mode, args).finish()
}

pub const BOTH_MODES: [Mode; 2] = [Mode::Pid1, Mode::Subreaper];

/// A fresh directory for one test's files, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rinit-test-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    pub fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    /// Writes `text` to the file `name`, with `@DIR@` replaced by this directory and
    /// `@TP@` by the test helper's path; returns the file's path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.file(name);
        let text = text
            .replace("@DIR@", &self.path())
            .replace("@TP@", &testprog());
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes a configuration as `rinit.toml` (see [`TempDir::write`]).
    pub fn config(&self, toml: &str) -> String {
        self.write("rinit.toml", toml)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `rinit [extra...] -c FILE`, with `env` added to its environment.
pub fn launch(mode: Mode, file: &str, extra: &[&str], env: &[(&str, &str)]) -> Rinit {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    args.extend(["-c".to_string(), file.to_string()]);
    let launch = Launch {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    start_with(mode, &args, launch)
}

/// `rinit -c DIR/rinit.toml` with `toml` written there (`@TP@`, `@DIR@` replaced).
pub fn supervise(mode: Mode, dir: &TempDir, toml: &str) -> Rinit {
    launch(mode, &dir.config(toml), &[], &[])
}
