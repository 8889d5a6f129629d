//! What `rinit status`, `/status`, `/readyz` and `/metrics` say, rendered from the
//! supervisor's programs at one instant. Pure: the time comes in as `now` (monotonic)
//! and `wall` (the same instant on the wall clock).

use std::fmt::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::config::Kind;
use crate::output::format::{civil_from_days, json_string};
use crate::supervisor::program::{Program, State};

/// rinit's own counters, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Processes reaped that were neither programs nor checks: orphans.
    pub reaped_orphans: u64,
    /// Bytes read from the programs' pipes.
    pub output_bytes: u64,
    /// Bytes lost to log files that could not be written.
    pub dropped_bytes: u64,
}

/// The programs and rinit's state at one instant.
pub struct Snapshot<'a> {
    pub programs: &'a [Program],
    pub now: Instant,
    pub wall: SystemTime,
    pub ready: bool,
    pub live: bool,
    pub draining: bool,
    pub counters: Counters,
}

/// `NAME` as supervisorctl shows it: `group:name`, or `name` alone in its own group.
pub fn namespec(program: &Program) -> String {
    let spec = &program.spec;
    match &spec.group {
        Some(group) if *group != spec.name => format!("{group}:{}", spec.name),
        _ => spec.name.clone(),
    }
}

/// The programs `names` select, in start order, each once: `all`, `name`, `group:name`,
/// `group:*` or `group` (every member). Also the error line of each name that selects
/// nothing. No names: every program.
pub fn select(programs: &[Program], names: &[String]) -> (Vec<usize>, Vec<String>) {
    if names.is_empty() || names.iter().any(|n| n == "all") {
        return ((0..programs.len()).collect(), Vec::new());
    }
    let mut chosen = vec![false; programs.len()];
    let mut errors = Vec::new();
    for name in names {
        let (group, member) = match name.split_once(':') {
            Some((group, "" | "*")) => (Some(group), None),
            Some((group, member)) => (Some(group), Some(member)),
            None => (None, Some(name.as_str())),
        };
        let matches = |p: &Program| match (group, member) {
            (Some(g), Some(m)) => in_group(p) == g && p.spec.name == m,
            (Some(g), None) => in_group(p) == g,
            // A bare name: the program of that name, else the group of that name.
            (None, Some(m)) => {
                p.spec.name == m || (!programs.iter().any(|q| q.spec.name == m) && in_group(p) == m)
            }
            (None, None) => false,
        };
        let mut found = false;
        for (index, program) in programs.iter().enumerate() {
            if matches(program) {
                chosen[index] = true;
                found = true;
            }
        }
        if !found {
            let what = if member.is_none() {
                "no such group"
            } else {
                "no such process"
            };
            errors.push(format!("{name}: ERROR ({what})"));
        }
    }
    let selected = (0..programs.len()).filter(|&i| chosen[i]).collect();
    (selected, errors)
}

/// The group a program is in: its own name when it has none.
fn in_group(program: &Program) -> &str {
    program.spec.group.as_deref().unwrap_or(&program.spec.name)
}

/// supervisord's state names.
pub fn state_name(state: State) -> &'static str {
    match state {
        State::Stopped => "STOPPED",
        State::Starting => "STARTING",
        State::Running => "RUNNING",
        State::Backoff => "BACKOFF",
        State::Stopping => "STOPPING",
        State::Exited => "EXITED",
        State::Fatal => "FATAL",
    }
}

/// Whether a program is as it should be: running, ready and not unhealthy, or finished
/// with an expected exit code. STOPPED, FATAL, an unexpected exit, not ready or
/// unhealthy is not.
pub fn is_fine(program: &Program) -> bool {
    match program.state() {
        State::Running => program.counts_as_ready() && !program.is_unhealthy(),
        State::Exited => program
            .last_exit()
            .is_some_and(|(_, status)| program.spec.is_expected(status)),
        State::Starting | State::Backoff | State::Stopping | State::Stopped | State::Fatal => false,
    }
}

/// What supervisorctl shows after the state: the uptime, the stop time, or the error.
fn description(program: &Program, snapshot: &Snapshot) -> String {
    match program.state() {
        State::Running => {
            let up = program
                .started_at()
                .map_or(0, |t| snapshot.now.saturating_duration_since(t).as_secs());
            let pid = program.pid().unwrap_or(0);
            format!("pid {pid}, uptime {}", uptime(up))
        }
        State::Backoff | State::Fatal => match program.spawn_error() {
            Some(error) => error.to_string(),
            None => "Exited too quickly (process log may have details)".into(),
        },
        State::Stopped | State::Exited => match program.last_exit() {
            Some((at, _)) => stop_time(wall_of(at, snapshot)),
            None => "Not started".into(),
        },
        State::Starting | State::Stopping => String::new(),
    }
}

/// rinit's additions after supervisorctl's description, for a program with a process.
fn readiness(program: &Program) -> Option<&'static str> {
    match program.state() {
        _ if program.is_unhealthy() => Some("unhealthy"),
        State::Starting | State::Running | State::Backoff | State::Stopping
            if program.spec.kind == Kind::Service =>
        {
            Some(if program.counts_as_ready() {
                "ready"
            } else {
                "not ready"
            })
        }
        _ => None,
    }
}

/// supervisorctl's table: the name padded to the longest (at least 30) plus 3, the
/// state padded to 10, the description; rinit's readiness after it unless `plain`.
pub fn text(snapshot: &Snapshot, selected: &[usize], plain: bool) -> String {
    let programs = snapshot.programs;
    let names: Vec<String> = selected.iter().map(|&i| namespec(&programs[i])).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0).max(30) + 3;
    let mut out = String::new();
    for (&index, name) in selected.iter().zip(&names) {
        let program = &programs[index];
        let mut desc = description(program, snapshot);
        if let Some(extra) = readiness(program).filter(|_| !plain) {
            if !desc.is_empty() {
                desc.push_str(", ");
            }
            desc.push_str(extra);
        }
        let state = state_name(program.state());
        let _ = writeln!(out, "{name:<width$}{state:<10}{desc}");
    }
    out
}

/// The `status --json` document (also `/status`).
pub fn json(snapshot: &Snapshot, selected: &[usize]) -> String {
    let mut out = Vec::new();
    let flag = |b: bool| if b { "true" } else { "false" };
    out.extend_from_slice(
        format!(
            "{{\"ready\":{},\"live\":{},\"draining\":{},\"programs\":[",
            flag(snapshot.ready),
            flag(snapshot.live),
            flag(snapshot.draining)
        )
        .as_bytes(),
    );
    for (n, &index) in selected.iter().enumerate() {
        let program = &snapshot.programs[index];
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        json_string(program.spec.name.as_bytes(), &mut out);
        out.extend_from_slice(b",\"group\":");
        let group = program.spec.group.as_deref().unwrap_or(&program.spec.name);
        json_string(group.as_bytes(), &mut out);
        let state = state_name(program.state());
        let pid = program.pid().map_or("null".into(), |p| p.to_string());
        let uptime = match (program.state(), program.started_at()) {
            (State::Running, Some(t)) => snapshot.now.saturating_duration_since(t).as_secs(),
            _ => 0,
        };
        let health = match (program.has_health_check(), program.is_unhealthy()) {
            (false, _) => "null",
            (true, false) => "\"healthy\"",
            (true, true) => "\"unhealthy\"",
        };
        let _ = write!(
            Bytes(&mut out),
            ",\"state\":\"{state}\",\"pid\":{pid},\"uptime_seconds\":{uptime},\"ready\":{},\"health\":{health},\"fine\":{},\"restarts\":{},\"last_exit_code\":",
            flag(program.counts_as_ready()),
            flag(is_fine(program)),
            program.restarts(),
        );
        match program.last_exit() {
            Some((_, status)) => out.extend_from_slice(status.code().to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"description\":");
        json_string(description(program, snapshot).as_bytes(), &mut out);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
    String::from_utf8_lossy(&out).into_owned()
}

/// Why the container is not ready: one line per reason (empty when it is ready).
pub fn not_ready(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    if snapshot.draining {
        out.push_str("draining: rinit is stopping\n");
    }
    for program in snapshot.programs {
        if program.spec.autostart && !program.counts_as_ready() {
            let state = state_name(program.state());
            let _ = writeln!(out, "not ready: {} ({state})", namespec(program));
        }
    }
    out
}

/// The Prometheus text exposition format (version 0.0.4).
pub fn metrics(snapshot: &Snapshot) -> String {
    let mut out = String::new();
    let programs = snapshot.programs;
    let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(&Program) -> String| {
        let _ = writeln!(out, "# HELP rinit_program_{name} {help}");
        let _ = writeln!(out, "# TYPE rinit_program_{name} {kind}");
        for program in programs {
            let label = &program.spec.name;
            let _ = writeln!(
                out,
                "rinit_program_{name}{{program=\"{label}\"}} {}",
                value(program)
            );
        }
    };
    let bit = |b: bool| if b { "1" } else { "0" }.to_string();
    family(
        "up",
        "gauge",
        "1 when the program's process is RUNNING.",
        &|p| bit(p.state() == State::Running),
    );
    family("ready", "gauge", "1 when the program is ready.", &|p| {
        bit(p.counts_as_ready())
    });
    family(
        "healthy",
        "gauge",
        "0 when its health check failed too often in a row.",
        &|p| bit(!p.is_unhealthy()),
    );
    family(
        "restarts_total",
        "counter",
        "Processes started after the first.",
        &|p| p.restarts().to_string(),
    );
    family(
        "last_exit_code",
        "gauge",
        "The last exit code (128+N: signal N); -1 before any exit.",
        &|p| p.last_exit().map_or(-1, |(_, s)| s.code()).to_string(),
    );
    family(
        "start_time_seconds",
        "gauge",
        "When the current process started, in Unix time; 0 without one.",
        &|p| match (p.pid(), p.started_at()) {
            (Some(_), Some(at)) => unix_seconds(wall_of(at, snapshot)).to_string(),
            _ => "0".into(),
        },
    );
    let _ = writeln!(
        out,
        "# HELP rinit_program_state The program's supervisord state (1 for the current one)."
    );
    let _ = writeln!(out, "# TYPE rinit_program_state gauge");
    const STATES: [State; 7] = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Backoff,
        State::Stopping,
        State::Exited,
        State::Fatal,
    ];
    for program in programs {
        for state in STATES {
            let _ = writeln!(
                out,
                "rinit_program_state{{program=\"{}\",state=\"{}\"}} {}",
                program.spec.name,
                state_name(state),
                bit(program.state() == state)
            );
        }
    }
    let counters = snapshot.counters;
    let own: [(&str, &str, &str, u64); 4] = [
        (
            "reaped_orphans_total",
            "counter",
            "Processes reaped that were not rinit's programs or checks.",
            counters.reaped_orphans,
        ),
        (
            "output_bytes_total",
            "counter",
            "Bytes read from the programs' output.",
            counters.output_bytes,
        ),
        (
            "output_dropped_bytes_total",
            "counter",
            "Output bytes lost to log files that could not be written.",
            counters.dropped_bytes,
        ),
        (
            "draining",
            "gauge",
            "1 once a stop has begun.",
            u64::from(snapshot.draining),
        ),
    ];
    for (name, kind, help, value) in own {
        let _ = writeln!(out, "# HELP rinit_{name} {help}");
        let _ = writeln!(out, "# TYPE rinit_{name} {kind}");
        let _ = writeln!(out, "rinit_{name} {value}");
    }
    out
}

/// `fmt::Write` into bytes.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The wall-clock time of a monotonic instant in the past.
fn wall_of(at: Instant, snapshot: &Snapshot) -> SystemTime {
    let ago = snapshot.now.saturating_duration_since(at);
    snapshot.wall.checked_sub(ago).unwrap_or(UNIX_EPOCH)
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Python's `str(timedelta)` of whole seconds: `H:MM:SS`, or `N day(s), H:MM:SS`.
pub fn uptime(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest / 60 % 60, rest % 60);
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

/// supervisorctl's stop time, `%b %d %I:%M %p`, in UTC (a scratch image has no zone
/// database).
pub fn stop_time(at: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = unix_seconds(at);
    let (_, month, day) = civil_from_days(seconds / 86_400);
    let in_day = seconds % 86_400;
    let (hour, minute) = (in_day / 3600, in_day / 60 % 60);
    let twelve = match hour % 12 {
        0 => 12,
        h => h,
    };
    let half = if hour < 12 { "AM" } else { "PM" };
    let month = MONTHS[(month as usize).clamp(1, 12) - 1];
    format!("{month} {day:02} {twelve:02}:{minute:02} {half}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProgramSpec;
    use crate::plain::ExitStatus;
    use std::time::Duration;

    const SEC: Duration = Duration::from_secs(1);

    fn program(name: &str, group: Option<&str>) -> Program {
        let mut spec = ProgramSpec::with_defaults(name, vec![name.into()]);
        spec.group = group.map(str::to_string);
        spec.startsecs = Duration::ZERO;
        Program::new(spec)
    }

    fn snapshot(programs: &[Program], now: Instant) -> Snapshot<'_> {
        Snapshot {
            programs,
            now,
            wall: UNIX_EPOCH + Duration::from_secs(1_764_700_000),
            ready: true,
            live: true,
            draining: false,
            counters: Counters::default(),
        }
    }

    #[test]
    fn uptimes_and_stop_times_are_written_as_supervisorctl_writes_them() {
        assert_eq!(uptime(5), "0:00:05");
        assert_eq!(uptime(3 * 3600 + 62), "3:01:02");
        assert_eq!(uptime(86_400 + 1), "1 day, 0:00:01");
        assert_eq!(uptime(3 * 86_400), "3 days, 0:00:00");
        // 2025-12-02 18:26:40 UTC.
        let at = UNIX_EPOCH + Duration::from_secs(1_764_700_000);
        assert_eq!(stop_time(at), "Dec 02 06:26 PM");
        assert_eq!(stop_time(UNIX_EPOCH), "Jan 01 12:00 AM");
        assert_eq!(stop_time(UNIX_EPOCH + 12 * 3600 * SEC), "Jan 01 12:00 PM");
    }

    #[test]
    fn names_select_programs_groups_and_members() {
        let programs = [
            program("web", Some("front")),
            program("api", Some("front")),
            program("db", None),
        ];
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let select = |list: &[&str]| select(&programs, &names(list));
        assert_eq!(select(&[]), (vec![0, 1, 2], vec![]));
        assert_eq!(select(&["all"]).0, [0, 1, 2]);
        assert_eq!(select(&["front:*"]), (vec![0, 1], vec![]));
        assert_eq!(select(&["front:"]).0, [0, 1]);
        assert_eq!(select(&["front"]).0, [0, 1], "a bare group name");
        assert_eq!(select(&["front:api", "db"]).0, [1, 2]);
        assert_eq!(select(&["api", "api"]).0, [1], "each once, in start order");
        assert_eq!(
            select(&["nope", "back:*", "front:nope"]),
            (
                vec![],
                vec![
                    "nope: ERROR (no such process)".to_string(),
                    "back:*: ERROR (no such group)".to_string(),
                    "front:nope: ERROR (no such process)".to_string(),
                ]
            )
        );
    }

    #[test]
    fn the_table_has_supervisorctls_columns_and_rinits_readiness() {
        let t0 = Instant::now();
        let mut programs = [program("web", Some("front")), program("db", None)];
        programs[0].start();
        programs[0].on_spawned(42, t0);
        let now = t0 + 3723 * SEC;
        let snap = snapshot(&programs, now);
        let table = text(&snap, &[0, 1], false);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "{:<33}{:<10}pid 42, uptime 1:02:03, ready",
                "front:web", "RUNNING"
            )
        );
        assert_eq!(
            lines[1],
            format!("{:<33}{:<10}Not started", "db", "STOPPED")
        );
        let plain = text(&snap, &[0], true);
        assert!(plain.ends_with("uptime 1:02:03\n"), "{plain:?}");
        assert!(is_fine(&programs[0]));
        assert!(!is_fine(&programs[1]), "STOPPED is not fine");
    }

    #[test]
    fn an_expected_exit_is_fine_and_an_unexpected_one_is_not() {
        let t0 = Instant::now();
        let mut ok = program("job", None);
        ok.spec.kind = Kind::Oneshot;
        ok.start();
        ok.on_spawned(7, t0);
        ok.on_exit(ExitStatus::Exited(0), t0 + SEC);
        assert_eq!(ok.state(), State::Exited);
        assert!(is_fine(&ok));
        let mut bad = program("svc", None);
        bad.spec.autorestart = crate::config::Autorestart::Never;
        bad.start();
        bad.on_spawned(8, t0);
        bad.on_exit(ExitStatus::Exited(3), t0 + SEC);
        assert_eq!(bad.state(), State::Exited);
        assert!(!is_fine(&bad));
        let programs = [ok, bad];
        let snap = snapshot(&programs, t0 + 2 * SEC);
        let json = json(&snap, &[0, 1]);
        assert!(
            json.contains("\"name\":\"job\",\"group\":\"job\",\"state\":\"EXITED\",\"pid\":null"),
            "{json}"
        );
        assert!(
            json.contains("\"fine\":false,\"restarts\":0,\"last_exit_code\":3"),
            "{json}"
        );
    }

    #[test]
    fn metrics_have_one_sample_per_program_and_state() {
        let t0 = Instant::now();
        let mut web = program("web", None);
        web.start();
        web.on_spawned(42, t0);
        let programs = [web];
        let mut snap = snapshot(&programs, t0 + 10 * SEC);
        snap.counters.reaped_orphans = 3;
        let text = metrics(&snap);
        for line in [
            "rinit_program_up{program=\"web\"} 1",
            "rinit_program_restarts_total{program=\"web\"} 0",
            "rinit_program_last_exit_code{program=\"web\"} -1",
            "rinit_program_start_time_seconds{program=\"web\"} 1764699990",
            "rinit_program_state{program=\"web\",state=\"RUNNING\"} 1",
            "rinit_program_state{program=\"web\",state=\"FATAL\"} 0",
            "rinit_reaped_orphans_total 3",
            "rinit_draining 0",
            "# TYPE rinit_program_restarts_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        let samples = text
            .lines()
            .filter(|l| l.starts_with("rinit_program_state{"))
            .count();
        assert_eq!(samples, 7);
    }
}
