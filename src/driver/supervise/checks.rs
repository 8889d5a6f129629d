//! The supervise driver's side of readiness and health checks: probe attempts (tcp and
//! http sockets, exec children), notification fds, notify sockets and awaited log lines,
//! each turned into the supervisor's probe outcomes and ready signals.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::PathBuf;
use std::time::Instant;

use libc::pid_t;

use super::{Driver, credentials, style_for};
use crate::config::{Probe, ReadyKind};
use crate::driver::probe::{Attempt, Outcome};
use crate::output::format::Stream;
use crate::output::mux::Dest;
use crate::supervisor::program::Check;
use crate::sys::notify::{self, NotifySocket};
use crate::sys::{spawn, tree};

/// `ready = { notify = "systemd" }`: a socket per program, kept across its restarts,
/// in a directory of this rinit's own (removed at the end).
#[derive(Default)]
pub(super) struct Notify {
    dir: Option<PathBuf>,
    pub(super) sockets: Vec<(usize, NotifySocket)>,
}

impl Notify {
    /// The program's socket, made at its first start.
    pub(super) fn socket(&mut self, program: usize) -> std::io::Result<&NotifySocket> {
        if let Some(at) = self.sockets.iter().position(|(p, _)| *p == program) {
            return Ok(&self.sockets[at].1);
        }
        if self.dir.is_none() {
            self.dir = runtime_dir().ok();
        }
        let socket = match &self.dir {
            Some(dir) => NotifySocket::bind(&dir.join(format!("notify-{program}.sock")))?,
            // No writable directory at all (a bare image): an abstract socket.
            None => NotifySocket::bind_abstract(&format!(
                "rinit-{}-{}-notify-{program}",
                std::process::id(),
                stamp()
            ))?,
        };
        self.sockets.push((program, socket));
        Ok(&self.sockets[self.sockets.len() - 1].1)
    }
}

impl Drop for Notify {
    fn drop(&mut self) {
        self.sockets.clear();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Nanoseconds since the epoch: with the pid, a name no other rinit is using.
fn stamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A fresh directory for rinit's sockets: under `/run` (a tmpfs in containers), else
/// the temporary directory. Named by pid and start time: rinits in other PID namespaces
/// may share `/run` and all be pid 1.
fn runtime_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let name = format!("rinit-{}-{}", std::process::id(), stamp());
    let mut last = None;
    for base in [PathBuf::from("/run"), std::env::temp_dir()] {
        let dir = base.join(&name);
        match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::from_raw_os_error(libc::ENOENT)))
}

/// One probe attempt under way.
pub(super) enum ProbeRun {
    /// tcp or http: a socket the reactor watches.
    Net(Attempt),
    /// exec: a child of its own, leading its own process group.
    Exec(pid_t),
}

impl Driver {
    /// The sockets of probe attempts waiting to write (connect, request) or to read.
    pub(super) fn net_probes(&self, writable: bool) -> impl Iterator<Item = RawFd> + '_ {
        self.probes.values().filter_map(move |run| match run {
            ProbeRun::Net(attempt) if attempt.wants_write() == writable => Some(attempt.fd()),
            ProbeRun::Net(_) | ProbeRun::Exec(_) => None,
        })
    }

    /// A notification fd is readable: a newline means ready; its end (the program and
    /// everything holding it closed it) means it is of no more use.
    pub(super) fn read_notification(&mut self, at: usize) -> Option<i32> {
        let mut buf = [0u8; 512];
        let (fd, program) = (self.ready_fds[at].0.as_raw_fd(), self.ready_fds[at].1);
        // A bounded read per wake-up: a program that writes without end cannot keep the
        // reactor here (poll wakes it again for the rest).
        for _ in 0..16 {
            // SAFETY: reading into a live buffer; the fd is non-blocking.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                if buf[..n as usize].contains(&b'\n') {
                    // Ready once: the fd has served its purpose (s6 closes it too).
                    self.ready_fds.swap_remove(at);
                    let commands = self.supervisor.on_ready_signal(program, Instant::now());
                    return self.perform(commands);
                }
                continue;
            }
            let err = std::io::Error::last_os_error();
            if n < 0 && err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            if n == 0 || err.raw_os_error() != Some(libc::EAGAIN) {
                self.ready_fds.swap_remove(at);
            }
            return None;
        }
        None
    }

    /// Datagrams on a program's notify socket: believed only from a process of the
    /// program's own process group (its pid is the group's id).
    pub(super) fn read_notify_socket(&mut self, at: usize) -> Option<i32> {
        let mut buf = [0u8; 4096];
        let program = self.notify.sockets[at].0;
        let mut commands = Vec::new();
        let mut ignored = None;
        // At most 64 datagrams per wake-up, and one line for those ignored: a flood
        // from a stranger costs it a slot in the poll, not the reactor's time or the log.
        for _ in 0..64 {
            let Some((len, sender)) = self.notify.sockets[at].1.receive(&mut buf) else {
                break;
            };
            let group = self.supervisor.programs()[program].pid();
            let own =
                group.is_some_and(|pgid| sender == pgid || tree::read_pgrp(sender) == Some(pgid));
            let name = self.name(program);
            if !own {
                let (first, count) = ignored.unwrap_or((sender, 0));
                ignored = Some((first, count + 1));
                continue;
            }
            let (ready, status) = notify::parse_datagram(&buf[..len]);
            if let Some(status) = status {
                crate::warn!(&self.mux, "{name}: status: {status}");
            }
            if ready {
                commands.extend(self.supervisor.on_ready_signal(program, Instant::now()));
            }
        }
        if let Some((sender, count)) = ignored {
            let name = self.name(program);
            let more = if count > 1 {
                format!(" (and {} more)", count - 1)
            } else {
                String::new()
            };
            crate::warn!(
                &self.mux,
                "{name}: ignored a notification from pid {sender}, not of its group{more}"
            );
        }
        self.perform(commands)
    }

    /// Programs whose awaited log line went by are ready.
    pub(super) fn lines_seen(&mut self) -> Option<i32> {
        let now = Instant::now();
        let mut commands = Vec::new();
        for program in self.mux.take_ready() {
            commands.extend(self.supervisor.on_ready_signal(program, now));
        }
        self.perform(commands)
    }

    /// Starts an attempt of a program's probe. `Some(outcome)` when it is decided at
    /// once (it could not start, or a loopback connect was refused straight away).
    pub(super) fn start_probe(
        &mut self,
        program: usize,
        check: Check,
    ) -> Option<Result<(), String>> {
        let spec = &self.supervisor.programs()[program].spec;
        let probe = match (check, &spec.ready.kind, &spec.health) {
            (Check::Ready, ReadyKind::Probe(probe), _) => probe.clone(),
            (Check::Health, _, Some(health)) => health.probe.clone(),
            _ => return Some(Err("no probe configured".into())),
        };
        if let Probe::Exec(command) = &probe {
            return match self.spawn_exec_probe(program, check, command) {
                Ok(pid) => {
                    self.probes.insert((program, check), ProbeRun::Exec(pid));
                    None
                }
                Err(err) => Some(Err(err.to_string())),
            };
        }
        match Attempt::start(&probe) {
            Ok(attempt) => match attempt.outcome() {
                Some(Outcome::Passed) => Some(Ok(())),
                Some(Outcome::Failed(reason)) => Some(Err(reason.clone())),
                None => {
                    self.probes.insert((program, check), ProbeRun::Net(attempt));
                    None
                }
            },
            Err(err) => Some(Err(err.to_string())),
        }
    }

    /// An exec probe: the program's user, directory and environment, its own process
    /// group, its output prefixed `NAME[ready]` or `NAME[health]`.
    pub(super) fn spawn_exec_probe(
        &mut self,
        program: usize,
        check: Check,
        command: &[String],
    ) -> Result<pid_t, spawn::SpawnError> {
        let Driver {
            supervisor,
            mux,
            styles,
            ..
        } = self;
        let spec = &supervisor.programs()[program].spec;
        let argv: Vec<OsString> = command.iter().map(OsString::from).collect();
        let (reader, writer) = os_pipe::pipe().map_err(|error| spawn::SpawnError {
            program: command.first().cloned().unwrap_or_default(),
            error,
            step: Some("cannot create the output pipe".into()),
        })?;
        let request = spawn::SpawnRequest {
            argv: &argv,
            terminal: None,
            new_session: true,
            env: &spec.environment,
            directory: spec.directory.as_deref(),
            user: credentials(spec),
            umask: spec.umask,
            stdout: Some(writer.as_fd()),
            stderr: Some(writer.as_fd()),
            extra_fd: None,
        };
        let pid = spawn::spawn(&request)?;
        drop(writer);
        let which = match check {
            Check::Ready => "ready",
            Check::Health => "health",
        };
        let label = format!("{}[{which}]", spec.name);
        let style = style_for(&styles.spec, spec.prefix.as_deref(), Dest::Stdout);
        mux.add(
            program,
            &label,
            Stream::Stdout,
            None,
            Dest::Stdout,
            style,
            reader.into(),
        );
        Ok(pid)
    }
}
