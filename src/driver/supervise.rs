//! The supervisor's driver: performs what [`Supervisor`] decides (spawn, signal, kill,
//! exit) and feeds back what happened (spawned, reaped, signals, timers).

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use super::probe::Outcome;
use super::{Mode, cleanup};
use crate::config::{Color, LogFormat, Plan, ProgramOutput, ReadyKind};
use crate::log::Sink;
use crate::output::format::{Stream, Style};
use crate::output::logfile::{LogFile, LogFileSpec};
use crate::output::mux::{Dest, Mux};
use crate::plain::{ExitStatus, signal};
use crate::reactor::Reactor;
use crate::supervisor::program::{Check, Notice};
use crate::supervisor::set::{Command, Reason, Supervisor};
use crate::sys::{reap, spawn, tree};
use checks::{Notify, ProbeRun};

mod checks;
mod queries;

/// Runs the plan's programs until the supervisor decides to exit; returns the exit code.
/// `log` takes rinit's lines until the output mux exists.
pub fn run(plan: Plan, reactor: &mut Reactor, log: &dyn Sink) -> i32 {
    // Two pipes per program. If the limit cannot be raised, rinit goes on with the one
    // it has: a spawn that runs out of fds is reported then, as a failed start.
    let _ = spawn::raise_fd_limit();
    let grace = plan.grace;
    let styles = Styles::new(&plan);
    let names: Vec<&str> = plan.programs.iter().map(|p| p.name.as_str()).collect();
    let atomic = plan
        .programs
        .iter()
        .any(|p| p.output == ProgramOutput::Inherit);
    let mux = match Mux::new(&names, styles.own.clone(), atomic) {
        Ok(mux) => mux,
        Err(err) => {
            crate::warn!(log, "cannot start the output threads: {err}");
            return 1;
        }
    };
    let socket = plan
        .control
        .socket
        .clone()
        .unwrap_or_else(|| super::control::DEFAULT_SOCKET.to_string());
    let control = super::control::Server::open(&socket, plan.control.http, &mux);
    let mut driver = Driver {
        control,
        reaped_orphans: 0,
        supervisor: Supervisor::new(plan),
        grace,
        reaped: Vec::new(),
        mux,
        styles,
        log_files: HashMap::new(),
        probes: HashMap::new(),
        ready_fds: Vec::new(),
        notify: Notify::default(),
    };
    let commands = driver.supervisor.start(Instant::now());
    let code = match driver.perform(commands) {
        Some(code) => code,
        None => super::drive(&mut driver, reactor),
    };
    driver.finish(code);
    code
}

/// Once everything has stopped: how long to wait for the programs' pipes to end, then
/// how long to wait for the last lines to be written.
const FINAL_DRAIN: Duration = Duration::from_secs(1);
const FINAL_FLUSH: Duration = Duration::from_secs(2);

/// The line styles: per program and destination, and rinit's own.
struct Styles {
    spec: crate::config::OutputSpec,
    own: Style,
}

impl Styles {
    fn new(plan: &Plan) -> Self {
        let spec = plan.output.clone();
        let own = style_for(&spec, None, Dest::Stderr);
        Styles { spec, own }
    }
}

/// The style of lines going to `dest`: colour only where it is wanted and possible.
fn style_for(spec: &crate::config::OutputSpec, prefix: Option<&str>, dest: Dest) -> Style {
    match spec.format {
        LogFormat::Json => Style::Json,
        LogFormat::Text => {
            let fd = if dest == Dest::Stdout { 1 } else { 2 };
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            // SAFETY: isatty only queries the fd.
            let tty = unsafe { libc::isatty(fd) } == 1;
            let color = match spec.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => tty && !no_color,
            };
            Style::Text {
                prefix: prefix.unwrap_or(&spec.prefix).to_string(),
                timestamps: spec.timestamps,
                color,
            }
        }
    }
}

struct Driver {
    /// The control socket and the HTTP endpoints.
    control: super::control::Server,
    /// Processes reaped that were neither programs nor checks.
    reaped_orphans: u64,
    supervisor: Supervisor,
    grace: Duration,
    reaped: Vec<(pid_t, ExitStatus)>,
    /// The programs' pipes, and rinit's own lines, in one order.
    mux: Mux,
    styles: Styles,
    /// Log files by path.
    log_files: HashMap<PathBuf, Arc<LogFile>>,
    /// Probe attempts under way, by program and check.
    probes: HashMap<(usize, Check), ProbeRun>,
    /// Notification fds (`ready = { fd = N }`): read ends, by program.
    ready_fds: Vec<(OwnedFd, usize)>,
    notify: Notify,
}

impl Mode for Driver {
    fn log(&self) -> &dyn Sink {
        &self.mux
    }

    fn deadline(&self) -> Option<Instant> {
        let deadlines = self.supervisor.deadline().into_iter();
        deadlines.chain(self.control.deadline()).min()
    }

    fn watch(&self, fds: &mut Vec<RawFd>) {
        self.control.watch(fds);
        self.mux.watch(fds);
        fds.extend(self.net_probes(false));
        fds.extend(self.ready_fds.iter().map(|(fd, _)| fd.as_raw_fd()));
        fds.extend(self.notify.sockets.iter().map(|(_, socket)| socket.fd()));
    }

    fn watch_writable(&self, fds: &mut Vec<RawFd>) {
        fds.extend(self.net_probes(true));
        self.control.watch_writable(fds);
    }

    fn on_readable(&mut self, fd: RawFd) -> Option<i32> {
        if self.control.owns(fd) {
            let incoming = self.control.on_ready(fd, Instant::now(), &self.mux);
            return incoming.and_then(|(token, incoming)| self.answer(token, incoming));
        }
        let probe = self.probes.iter_mut().find_map(|(&key, run)| match run {
            ProbeRun::Net(attempt) if attempt.fd() == fd => Some((key, attempt.advance()?)),
            ProbeRun::Net(_) | ProbeRun::Exec(_) => None,
        });
        if let Some(((program, check), outcome)) = probe {
            self.probes.remove(&(program, check));
            let outcome = match outcome {
                Outcome::Passed => Ok(()),
                Outcome::Failed(reason) => Err(reason),
            };
            let commands = self
                .supervisor
                .on_probe(program, check, outcome, Instant::now());
            return self.perform(commands);
        }
        if let Some(at) = self.ready_fds.iter().position(|(r, _)| r.as_raw_fd() == fd) {
            return self.read_notification(at);
        }
        if let Some(at) = self.notify.sockets.iter().position(|(_, s)| s.fd() == fd) {
            return self.read_notify_socket(at);
        }
        self.mux.on_readable(fd);
        self.lines_seen()
    }

    fn on_signal(&mut self, sig: c_int, now: Instant) -> Option<i32> {
        let commands = self.supervisor.on_signal(sig, now);
        self.perform(commands)
    }

    fn on_reap(&mut self, now: Instant) -> Option<i32> {
        let remaining = super::reap(&self.mux, &mut self.reaped);
        let supervisor = &self.supervisor;
        let exits: Vec<_> = self
            .reaped
            .iter()
            .filter_map(|&(pid, status)| Some((supervisor.program_by_pid(pid)?, status)))
            .collect();
        // What a program wrote before it exited is in its pipes: read it now, so its
        // last lines come before the news of its exit.
        for &(index, _) in &exits {
            self.mux.drain_program(index);
        }
        if let Some(code) = self.lines_seen() {
            return Some(code);
        }
        let mut probe_results = Vec::new();
        let orphans = self.reaped.len() - exits.len();
        for &(pid, status) in &self.reaped {
            let key = self.probes.iter().find_map(|(&key, run)| match run {
                ProbeRun::Exec(p) if *p == pid => Some(key),
                ProbeRun::Exec(_) | ProbeRun::Net(_) => None,
            });
            if let Some(key) = key {
                self.probes.remove(&key);
                let outcome = match status {
                    ExitStatus::Exited(0) => Ok(()),
                    other => Err(format!("exited with {other}")),
                };
                probe_results.push((key, outcome));
            }
        }
        self.reaped_orphans += (orphans - probe_results.len()) as u64;
        let children_left = remaining == reap::Remaining::Some;
        let mut commands = self.supervisor.on_reaped(exits, children_left, now);
        for ((program, check), outcome) in probe_results {
            commands.extend(self.supervisor.on_probe(program, check, outcome, now));
        }
        self.perform(commands)
    }

    fn on_deadline(&mut self, now: Instant) -> Option<i32> {
        self.control.expire(now);
        if self.supervisor.deadline().is_none_or(|d| now < d) {
            return None;
        }
        let commands = self.supervisor.on_timer(now);
        self.perform(commands)
    }
}

impl Driver {
    /// Every program's pipes to their end, then the exit line, then every line written:
    /// lossless, but bounded, since a pipe held open by a process outside rinit's reach,
    /// or a stalled reader of rinit's stdout, must not keep a stopped container alive.
    fn finish(&mut self, code: i32) {
        self.mux.drain_all(Instant::now() + FINAL_DRAIN);
        // Output lost to a log file that never recovered (a full disk) is said before
        // the exit line, which stays the last.
        let flush_by = Instant::now() + FINAL_FLUSH;
        self.mux.finish_files(flush_by);
        crate::warn!(&self.mux, "exiting with code {code}");
        self.mux.flush(flush_by);
    }

    /// Performs commands, and those that their results lead to, in order. Returns the
    /// exit code when the supervisor decides to exit.
    fn perform(&mut self, commands: Vec<Command>) -> Option<i32> {
        let mut queue: VecDeque<Command> = commands.into();
        while let Some(command) = queue.pop_front() {
            match command {
                Command::Spawn(_) if !self.supervisor.may_spawn() => {}
                Command::Spawn(index) => {
                    let now = Instant::now();
                    let more = match self.spawn_program(index) {
                        Ok(pid) => {
                            if let ReadyKind::Log(text) =
                                &self.supervisor.programs()[index].spec.ready.kind
                            {
                                self.mux.await_line(index, text);
                            }
                            self.supervisor.on_spawned(index, pid, now)
                        }
                        Err(err) => {
                            let (code, message) = (err.exit_code(), err.to_string());
                            self.supervisor.on_spawn_failed(index, code, message, now)
                        }
                    };
                    queue.extend(more);
                }
                Command::Signal {
                    program,
                    sig,
                    group,
                } => self.signal_program(program, sig, group),
                Command::KillLingeringGroup { program, pgid } => {
                    // Only while one of rinit's descendants is still in the group: then
                    // its id cannot have been reused.
                    if tree::group_has_descendants(pgid) {
                        let name = self.name(program);
                        crate::warn!(
                            &self.mux,
                            "{name}: its process group outlived it: sending SIGKILL"
                        );
                        // SAFETY: plain kill of a process group that still has members.
                        unsafe { libc::kill(-pgid, libc::SIGKILL) };
                    }
                }
                // Ready at the spawn is the default: no line for each start.
                Command::Notice(index, Notice::Ready { .. })
                    if matches!(
                        self.supervisor.programs()[index].spec.ready.kind,
                        ReadyKind::Started
                    ) => {}
                Command::Notice(index, notice) => {
                    let how = self.supervisor.programs()[index].spec.ready.describe();
                    let text = describe(&notice, &how);
                    crate::warn!(&self.mux, "{}: {text}", self.name(index));
                }
                Command::StartProbe { program, check } => {
                    if let Some(outcome) = self.start_probe(program, check) {
                        let now = Instant::now();
                        queue.extend(self.supervisor.on_probe(program, check, outcome, now));
                    }
                }
                Command::CancelProbe { program, check } => {
                    if let Some(ProbeRun::Exec(pid)) = self.probes.remove(&(program, check)) {
                        // SAFETY: plain kill of the probe's own, still unreaped group.
                        // Reaped later as any orphan: its outcome is no longer wanted.
                        unsafe { libc::kill(-pid, libc::SIGKILL) };
                    }
                }
                Command::ShuttingDown(reason) => {
                    crate::warn!(&self.mux, "{}", self.explain(&reason))
                }
                Command::TerminateRest => {
                    let count = cleanup::terminate_rest(&self.mux, &[]);
                    if count > 0 {
                        crate::warn!(&self.mux, "sent SIGTERM to {count} leftover process(es)");
                    }
                }
                Command::KillEverything => {
                    let groups: Vec<_> = self
                        .supervisor
                        .programs()
                        .iter()
                        .filter_map(|p| p.pid())
                        .collect();
                    cleanup::signal_rest(&self.mux, libc::SIGKILL, &groups);
                    for &pid in &groups {
                        // SAFETY: plain kill of an unreaped program's process group.
                        unsafe { libc::kill(-pid, libc::SIGKILL) };
                    }
                }
                Command::ReportSurvivors => cleanup::report_survivors(&self.mux),
                Command::Exit(code) => return Some(code),
            }
        }
        None
    }

    fn name(&self, index: usize) -> &str {
        &self.supervisor.programs()[index].spec.name
    }

    fn explain(&self, reason: &Reason) -> String {
        match reason {
            Reason::Signal(sig) => format!("received {}: shutting down", signal::name(*sig)),
            Reason::ProgramEnded { program, ending } => {
                let name = self.name(*program);
                format!(
                    "{name} ended (code {}) and will not be restarted: shutting down",
                    ending.code
                )
            }
            Reason::SecondSignal => "second stop signal: sending SIGKILL to everything".into(),
            Reason::GraceExpired => format!(
                "grace period ({}) over: sending SIGKILL to everything",
                humantime::format_duration(self.grace)
            ),
        }
    }
}

impl Driver {
    /// Spawns a program with pipes for its output (unless it inherits rinit's) and hands
    /// their read ends to the mux.
    fn spawn_program(&mut self, index: usize) -> Result<pid_t, spawn::SpawnError> {
        // Disjoint borrows: the spec is read while the mux and the log files change.
        let Driver {
            supervisor,
            mux,
            log_files,
            styles,
            ready_fds,
            notify,
            ..
        } = self;
        let spec = &supervisor.programs()[index].spec;
        let mut with_socket = None;
        if matches!(spec.ready.kind, ReadyKind::Notify) {
            let socket = notify.socket(index).map_err(|error| spawn::SpawnError {
                program: spec.command.first().cloned().unwrap_or_default(),
                error,
                step: Some("cannot create the notify socket".into()),
            })?;
            let mut env = spec.environment.clone();
            let path = socket.address().to_string();
            env.push(("NOTIFY_SOCKET".into(), path));
            with_socket = Some(env);
        }
        let argv: Vec<OsString> = spec.command.iter().map(OsString::from).collect();
        let notification = match spec.ready.kind {
            ReadyKind::Fd(target) => Some((
                os_pipe::pipe().map_err(|error| spawn::SpawnError {
                    program: spec.command.first().cloned().unwrap_or_default(),
                    error,
                    step: Some("cannot create the notification pipe".into()),
                })?,
                target,
            )),
            _ => None,
        };
        let pipes = match spec.output {
            ProgramOutput::Inherit => None,
            ProgramOutput::Prefixed => Some(pipes(spec).map_err(|error| spawn::SpawnError {
                program: spec.command.first().cloned().unwrap_or_default(),
                error,
                step: Some("cannot create the output pipes".into()),
            })?),
        };
        let request = spawn::SpawnRequest {
            argv: &argv,
            terminal: None,
            new_session: true,
            env: with_socket.as_deref().unwrap_or(&spec.environment),
            directory: spec.directory.as_deref(),
            user: credentials(spec),
            umask: spec.umask,
            stdout: pipes.as_ref().map(|p| p.stdout.1.as_fd()),
            stderr: pipes.as_ref().map(|p| match &p.stderr {
                Some((_, writer)) => writer.as_fd(),
                None => p.stdout.1.as_fd(),
            }),
            extra_fd: notification
                .as_ref()
                .map(|((_, writer), target)| (writer.as_fd(), *target)),
        };
        let pid = spawn::spawn(&request)?;
        if let Some(((reader, _), _)) = notification {
            let reader = OwnedFd::from(reader);
            // SAFETY: fcntl on an fd we own: the reactor must never block reading it.
            unsafe {
                let flags = libc::fcntl(reader.as_raw_fd(), libc::F_GETFL);
                libc::fcntl(reader.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
            }
            ready_fds.retain(|(_, program)| *program != index);
            ready_fds.push((reader, index));
        }
        // The write ends now belong to the child alone (ours close here), so its exit
        // (and its children's) brings EOF.
        if let Some(pipes) = pipes {
            let stdout_file = log_file(mux, log_files, spec.stdout_log.as_ref());
            let stderr_file = log_file(mux, log_files, spec.stderr_log.as_ref());
            let stdout_style = style_for(&styles.spec, spec.prefix.as_deref(), Dest::Stdout);
            let (reader, _) = pipes.stdout;
            let (name, stream) = (&spec.name, Stream::Stdout);
            mux.add(
                index,
                name,
                stream,
                stdout_file,
                Dest::Stdout,
                stdout_style,
                reader.into(),
            );
            if let Some((reader, _)) = pipes.stderr {
                let style = style_for(&styles.spec, spec.prefix.as_deref(), Dest::Stderr);
                let stream = Stream::Stderr;
                mux.add(
                    index,
                    name,
                    stream,
                    stderr_file,
                    Dest::Stderr,
                    style,
                    reader.into(),
                );
            }
        }
        Ok(pid)
    }

    fn signal_program(&self, index: usize, sig: c_int, group: bool) {
        let Some(pid) = self.supervisor.programs()[index].pid() else {
            return;
        };
        if let Err(err) = tree::signal_child(pid, sig, group) {
            let name = self.name(index);
            crate::warn!(
                &self.mux,
                "{name}: cannot send {}: {err}",
                signal::name(sig)
            );
        }
    }
}

/// A log file, started at its first use and kept across restarts (so rotation sizes
/// carry over). One per path: programs, processes and streams naming the same file
/// share one writer, or each would rotate the file under the others. None without
/// one, or if its thread cannot start (said once; the output then goes to rinit's).
fn log_file(
    mux: &mut Mux,
    files: &mut HashMap<PathBuf, Arc<LogFile>>,
    settings: Option<&crate::config::LogFileSettings>,
) -> Option<Arc<LogFile>> {
    let settings = settings?;
    let spec = LogFileSpec {
        path: settings.path.clone(),
        max_bytes: settings.max_bytes,
        backups: settings.backups,
    };
    let key = std::path::absolute(&spec.path).unwrap_or_else(|_| spec.path.clone());
    if let Some(file) = files.get(&key) {
        return Some(file.clone());
    }
    match mux.log_file(spec.clone()) {
        Ok(file) => {
            files.insert(key, file.clone());
            Some(file)
        }
        Err(err) => {
            crate::warn!(&*mux, "cannot start writing {}: {err}", spec.path.display());
            None
        }
    }
}

/// The user a program (and its exec checks) runs as, for the kernel layer.
fn credentials(spec: &crate::config::ProgramSpec) -> Option<spawn::Credentials<'_>> {
    spec.user.as_ref().map(|user| spawn::Credentials {
        uid: user.uid,
        gid: user.gid,
        groups: &user.groups,
    })
}

fn pipes(spec: &crate::config::ProgramSpec) -> std::io::Result<Pipes> {
    let stdout = os_pipe::pipe()?;
    let stderr = if spec.redirect_stderr {
        None
    } else {
        Some(os_pipe::pipe()?)
    };
    Ok(Pipes { stdout, stderr })
}

/// A program's output pipes, (read end, write end); no stderr pipe with redirect_stderr.
struct Pipes {
    stdout: (os_pipe::PipeReader, os_pipe::PipeWriter),
    stderr: Option<(os_pipe::PipeReader, os_pipe::PipeWriter)>,
}

/// The text of an event line, after `rinit: NAME: `.
/// `how`: the readiness check, for the `ready` line.
pub fn describe(notice: &Notice, how: &str) -> String {
    let duration = |d: &std::time::Duration| humantime::format_duration(*d).to_string();
    match notice {
        Notice::Started { pid } => format!("started (pid {pid})"),
        Notice::SpawnFailed { message } => message.clone(),
        Notice::Running => "running".into(),
        Notice::Exited { status, expected } => format!(
            "exited with {status} ({})",
            if *expected { "expected" } else { "unexpected" }
        ),
        Notice::Restarting { delay, attempt, of } => match of {
            Some(of) => format!(
                "restarting in {} (attempt {attempt} of {of})",
                duration(delay)
            ),
            None => format!(
                "restarting in {} (restart {attempt} in a row)",
                duration(delay)
            ),
        },
        Notice::GaveUp => "gave up (FATAL)".into(),
        Notice::Stopping { sig } => format!("stopping with {}", signal::name(*sig)),
        Notice::StopTimeout => "did not stop in time: sending SIGKILL".into(),
        Notice::Stopped { status } => format!("stopped ({status})"),
        Notice::Done => "done: will not be restarted".into(),
        Notice::Ready { after } => format!(
            "ready ({how}, {} ms)",
            u64::try_from(after.as_millis()).unwrap_or(u64::MAX)
        ),
        Notice::NotReady { within } => format!("not ready within {}", duration(within)),
        Notice::HealthFailed {
            reason,
            in_a_row,
            of,
        } => format!("health check failed ({in_a_row} of {of}): {reason}"),
        Notice::Unhealthy => "unhealthy: restarting".into(),
        Notice::Healthy => "healthy again".into(),
    }
}
