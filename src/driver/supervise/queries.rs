//! Answers to the control socket's requests and the HTTP endpoints, from the
//! supervisor's state at this instant; `start`, `stop` and `signal` also act.

use std::time::{Instant, SystemTime};

use super::Driver;
use crate::control::http::{self, Method};
use crate::control::request::{self, Condition, Format, Request};
use crate::control::status::{self, Counters, Snapshot};
use crate::driver::control::Incoming;
use crate::supervisor::program::{Program, State};
use crate::supervisor::set::{Command, Refusal};

impl Driver {
    /// Answers one request; returns rinit's exit code if what it asked for ends rinit.
    pub(super) fn answer(&mut self, token: std::os::fd::RawFd, incoming: Incoming) -> Option<i32> {
        let now = Instant::now();
        let (bytes, commands) = match incoming {
            Incoming::Control(Ok(request)) => {
                let (code, body, commands) = self.control_request(request, now);
                (request::response(code, &body), commands)
            }
            Incoming::Control(Err(message)) => (
                request::response(1, &format!("rinit: {message}\n")),
                Vec::new(),
            ),
            Incoming::Http { method, path } => (self.http_request(method, &path, now), Vec::new()),
            Incoming::HttpRefused(status) => {
                let text = format!("{}\n", http::reason(status));
                let bytes = http::response(status, "text/plain", text.as_bytes(), false);
                (bytes, Vec::new())
            }
        };
        self.control.reply(token, bytes);
        self.perform(commands)
    }

    fn snapshot(&self, now: Instant) -> Snapshot<'_> {
        let (output_bytes, dropped_bytes) = self.mux.counters();
        Snapshot {
            programs: self.supervisor.programs(),
            now,
            wall: SystemTime::now(),
            ready: self.supervisor.is_ready(),
            live: self.supervisor.is_live(),
            draining: self.supervisor.is_draining(),
            counters: Counters {
                reaped_orphans: self.reaped_orphans,
                output_bytes,
                dropped_bytes,
            },
        }
    }

    fn control_request(&mut self, request: Request, now: Instant) -> (i32, String, Vec<Command>) {
        let programs = self.supervisor.programs();
        match request {
            Request::Status { format, names } => {
                let (selected, errors) = status::select(programs, &names);
                let snapshot = self.snapshot(now);
                let mut body = String::new();
                match format {
                    Format::Json => body = status::json(&snapshot, &selected),
                    Format::Text | Format::Supervisorctl => {
                        for error in &errors {
                            body.push_str(error);
                            body.push('\n');
                        }
                        let plain = format == Format::Supervisorctl;
                        body.push_str(&status::text(&snapshot, &selected, plain));
                    }
                }
                let code = if !errors.is_empty() {
                    4
                } else if selected.iter().all(|&i| status::is_fine(&programs[i])) {
                    0
                } else {
                    3
                };
                (code, body, Vec::new())
            }
            Request::Ready => {
                let snapshot = self.snapshot(now);
                match snapshot.ready {
                    true => (0, "ready\n".into(), Vec::new()),
                    false => (3, status::not_ready(&snapshot), Vec::new()),
                }
            }
            Request::Live => {
                let (code, body) = liveness(programs);
                (code, body, Vec::new())
            }
            Request::Metrics => (0, status::metrics(&self.snapshot(now)), Vec::new()),
            Request::Is { condition, names } => {
                let (code, body) = self.condition(condition, &names);
                (code, body, Vec::new())
            }
            Request::Pid(names) if names.is_empty() => {
                (0, format!("{}\n", std::process::id()), Vec::new())
            }
            Request::Pid(names) => {
                let (selected, errors) = status::select(programs, &names);
                let mut body: String = errors.iter().map(|e| format!("{e}\n")).collect();
                let mut code = if errors.is_empty() { 0 } else { 1 };
                for &index in &selected {
                    let pid = programs[index].pid().unwrap_or(0);
                    if pid == 0 && code == 0 {
                        code = 7;
                    }
                    body.push_str(&format!("{pid}\n"));
                }
                (code, body, Vec::new())
            }
            Request::Start(names) => self.act(&names, now, Act::Start),
            Request::Stop(names) => self.act(&names, now, Act::Stop),
            Request::Signal { sig, names } => self.act(&names, now, Act::Signal(sig)),
        }
    }

    /// `start`, `stop` or `signal` of every program `names` select; one line each.
    fn act(&mut self, names: &[String], now: Instant, act: Act) -> (i32, String, Vec<Command>) {
        let (selected, errors) = status::select(self.supervisor.programs(), names);
        let mut body: String = errors.iter().map(|e| format!("{e}\n")).collect();
        let mut code = if errors.is_empty() { 0 } else { 1 };
        let mut commands = Vec::new();
        for index in selected {
            let name = status::namespec(&self.supervisor.programs()[index]);
            let outcome = match act {
                Act::Start => self.supervisor.request_start(index, now),
                Act::Stop => self.supervisor.request_stop(index, now),
                Act::Signal(sig) => self.supervisor.request_signal(index, sig),
            };
            let line = match (outcome, act) {
                (Ok(more), _) => {
                    commands.extend(more);
                    match act {
                        Act::Start => "starting",
                        Act::Stop => "stopping",
                        Act::Signal(_) => "signalled",
                    }
                }
                // As supervisorctl: already started is not an error.
                (Err(Refusal::AlreadyStarted), _) => "ERROR (already started)",
                (Err(Refusal::NotRunning), _) => {
                    code = code.max(7);
                    "ERROR (not running)"
                }
                (Err(Refusal::ShuttingDown), _) => {
                    code = code.max(1);
                    "ERROR (rinit is shutting down)"
                }
            };
            body.push_str(&format!("{name}: {line}\n"));
        }
        (code, body, commands)
    }

    /// `is CONDITION NAMES`: 0 when every program named (or every autostart one) is in
    /// it, 1 not yet, 7 when one can no longer get there, 4 for an unknown name.
    fn condition(&self, condition: Condition, names: &[String]) -> (i32, String) {
        let programs = self.supervisor.programs();
        let (mut selected, errors) = status::select(programs, names);
        if !errors.is_empty() {
            return (4, errors.iter().map(|e| format!("{e}\n")).collect());
        }
        if names.is_empty() {
            selected.retain(|&i| programs[i].spec.autostart);
        }
        let mut pending = String::new();
        for &index in &selected {
            let program = &programs[index];
            let name = status::namespec(program);
            let there = match condition {
                Condition::Running => match program.spec.kind {
                    crate::config::Kind::Service => program.state() == State::Running,
                    crate::config::Kind::Oneshot => program.counts_as_ready(),
                },
                Condition::Ready => program.counts_as_ready(),
                Condition::Stopped => !program.is_active(),
            };
            if there {
                continue;
            }
            let gone = matches!(program.state(), State::Fatal | State::Stopped)
                || (program.state() == State::Exited && program.ending().is_some());
            if condition != Condition::Stopped && (gone || self.supervisor.is_draining()) {
                let why = match program.spawn_error() {
                    _ if self.supervisor.is_draining() => "rinit is shutting down",
                    Some(_) => "spawn error",
                    None if program.state() == State::Fatal => "abnormal termination",
                    None => "not running",
                };
                return (7, format!("{name}: ERROR ({why})\n"));
            }
            let state = status::state_name(program.state());
            pending.push_str(&format!("{name}: {state}\n"));
        }
        match pending.is_empty() {
            true => (0, String::new()),
            false => (1, pending),
        }
    }

    /// `GET`/`HEAD` of `/livez`, `/readyz`, `/status` or `/metrics`.
    fn http_request(&self, method: Method, path: &str, now: Instant) -> Vec<u8> {
        let head_only = method == Method::Head;
        let text = "text/plain; charset=utf-8";
        let (code, kind, body) = match path {
            "/livez" => {
                let (code, body) = liveness(self.supervisor.programs());
                (if code == 0 { 200 } else { 503 }, text, body)
            }
            "/readyz" => {
                let snapshot = self.snapshot(now);
                match snapshot.ready {
                    true => (200, text, "ready\n".to_string()),
                    false => (503, text, status::not_ready(&snapshot)),
                }
            }
            "/status" => {
                let snapshot = self.snapshot(now);
                let all: Vec<usize> = (0..snapshot.programs.len()).collect();
                (200, "application/json", status::json(&snapshot, &all))
            }
            "/metrics" => {
                let kind = "text/plain; version=0.0.4; charset=utf-8";
                (200, kind, status::metrics(&self.snapshot(now)))
            }
            _ => (
                404,
                text,
                "not found: try /livez, /readyz, /status or /metrics\n".into(),
            ),
        };
        http::response(code, kind, body.as_bytes(), head_only)
    }
}

#[derive(Clone, Copy)]
enum Act {
    Start,
    Stop,
    Signal(libc::c_int),
}

/// Live unless a program is FATAL: (0, "live") or (3, the FATAL programs).
fn liveness(programs: &[Program]) -> (i32, String) {
    let fatal: String = programs
        .iter()
        .filter(|p| p.state() == State::Fatal)
        .map(|p| format!("FATAL: {}\n", status::namespec(p)))
        .collect();
    match fatal.is_empty() {
        true => (0, "live\n".into()),
        false => (3, fatal),
    }
}
