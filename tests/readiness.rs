//! Black-box tests of readiness, health checks and the drain delay: `ready = {tcp | http |
//! exec | notify | fd | log}` gating the next priority level, `within` making a failed start (retries,
//! then FATAL, never exit 0), `health` restarting an unhealthy program, `stop_delay` /
//! `--stop-delay` / `$RINIT_STOP_DELAY` in supervise and single-command mode, and the
//! supervisord spelling (`rinit_ready=…`). The real binary runs as PID 1 of a PID
//! namespace and as a subreaper; the programs are `sh` and the test helper
//! (examples/testprog.rs: `listen`, `http`, `say-after`, `notify`, `fd-ready`). Every wait is for a line or a
//! condition, with a deadline; timings are only loose bounds.

mod common;

use std::time::{Duration, Instant};

use common::lines::*;
use common::{
    BOTH_MODES, Launch, Mode, Outcome, Rinit, TempDir, children_of, launch, poll_until, start_with,
    supervise, testprog,
};

/// A TCP port that is free now, and that no other test of this run got: below the
/// ephemeral range (32768 and up), so neither `bind(0)` nor an outgoing connection can
/// take it in the meantime, and distinct within the run, so two tests running at once
/// never share one (a probe reaching another test's listener would pass too early).
fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = std::process::id() % 500 * 20;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + ((base + n) % 10_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The `N` of the first line `PREFIX…, N ms)`, e.g. of `db: ready (tcp ADDR, 812 ms)`.
fn ready_ms(lines: &[String], prefix: &str) -> u128 {
    let line = &lines[index(lines, &format!("{prefix}…"))];
    line.rsplit(", ")
        .next()
        .and_then(|tail| tail.strip_suffix(" ms)"))
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no 'N ms)' at the end of {line:?}"))
}

/// Whether `sig` is pending for process `pid` (sent but not yet taken by rinit).
fn signal_pending(pid: i32, sig: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let bit = 1u64 << (sig - 1);
    status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .any(|mask| mask & bit != 0)
}

/// Sends `sig` and waits until rinit has taken it, so a second one is not merged with it.
fn signal_and_wait_taken(rinit: &Rinit, sig: i32) {
    rinit.signal(sig);
    let taken = common::poll_until(|| (!signal_pending(rinit.pid, sig)).then_some(()));
    assert!(taken.is_some(), "rinit never took signal {sig}");
}

/// Level 1 listens only after 700 ms and has startsecs = 5: level 2 starts once the
/// port accepts, well before the 5 s mark, and the `ready (tcp …)` line says so.
/// Runs `toml` (level 1 `db` with a ready check, level 2 `web`) until `web` has
/// started, then stops it. Checks the gate: `db` became ready (its line starting with
/// `ready`) no sooner than `at_least_ms` after its spawn, `web` started after that and
/// well before `db`'s startsecs of 5 s, and `db` never counted as RUNNING. Returns the
/// outcome for the caller's own checks.
fn assert_gate_opens(mode: Mode, toml: &str, ready: &str, at_least_ms: u128) -> Outcome {
    let dir = TempDir::new();
    let launched = Instant::now();
    let mut rinit = supervise(mode, &dir, toml);
    wait_line(&rinit, "web: started");
    let web_started = launched.elapsed();
    wait_stdout(&rinit, "ready", 1);
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_last(&out, 0);
    let e = &out.stderr;
    assert_in_order(e, &["db: started", &format!("{ready}…"), "web: started"]);
    assert!(ready_ms(e, ready) >= at_least_ms, "{out:#?}");
    // Gated by the check, not by startsecs.
    assert!(
        web_started < Duration::from_secs(5),
        "web started only after {web_started:?}: {e:#?}"
    );
    assert!(!has(e, "db: running"), "{e:#?}");
    assert_eq!(count(e, "web: started"), 1, "{e:#?}");
    assert_eq!(count(e, "db: started"), 1, "{e:#?}");
    out
}

#[test]
fn a_tcp_ready_check_gates_the_next_priority_until_the_port_accepts() {
    in_both_modes(|mode| {
        let port = free_port();
        let toml = format!(
            "
[program.db]
command = ['@TP@', 'listen', '127.0.0.1:{port}', '700']
priority = 1
startsecs = 5
ready = {{ tcp = '127.0.0.1:{port}', interval = '50ms' }}

[program.web]
command = ['@TP@', 'sleep']
priority = 2
"
        );
        // Not ready before the listener was bound (after its 700 ms sleep).
        let ready = format!("db: ready (tcp 127.0.0.1:{port}, ");
        let out = assert_gate_opens(mode, &toml, &ready, 700);
        assert!(
            out.stdout.iter().any(|l| payload(l) == "listening"),
            "{out:#?}"
        );
    });
}

/// Never ready: each start is stopped after `within` (the program exits 0 on SIGTERM),
/// counts as a failed start, and after startretries the program is FATAL; the
/// container's code is 1, not the program's 0.
#[test]
fn not_ready_within_is_a_failed_start_retried_then_fatal_with_exit_code_1() {
    in_both_modes(|mode| {
        let port = free_port();
        let dir = TempDir::new();
        let toml = format!(
            "
[program.db]
command = ['@TP@', 'report']
priority = 1
startretries = 2
backoff = '100ms'
ready = {{ tcp = '127.0.0.1:{port}', interval = '50ms', within = '400ms' }}

[program.web]
command = ['@TP@', 'sleep']
priority = 2
"
        );
        let out = supervise(mode, &dir, &toml).finish();
        assert_last(&out, 1);
        let e = &out.stderr;
        assert_eq!(count(e, "db: started"), 3, "{e:#?}");
        assert_eq!(count(e, "db: not ready within 400ms"), 3, "{e:#?}");
        assert_eq!(count(e, "db: stopping with SIGTERM"), 3, "{e:#?}");
        assert_in_order(
            e,
            &[
                "db: started",
                "db: not ready within 400ms",
                "db: stopping with SIGTERM",
                "db: stopped (exit status 0)",
                "db: restarting in 100ms (attempt 1 of 2)",
                "db: started",
                "db: not ready within 400ms",
                "db: restarting in 200ms (attempt 2 of 2)",
                "db: started",
                "db: not ready within 400ms",
                "db: stopped (exit status 0)",
                "db: gave up (FATAL)",
                "db ended (code 1) and will not be restarted: shutting down",
            ],
        );
        assert!(!has(e, "db: ready…"), "{e:#?}");
        assert!(!has(e, "web: started"), "web must wait for db: {e:#?}");
        assert_eq!(
            out.stdout
                .iter()
                .filter(|l| payload(l) == "got SIGTERM")
                .count(),
            3,
            "{out:#?}"
        );
    });
}

/// An http check fails on 503 and passes on 200: level 2 waits while the server says 503
/// and starts once the test removes the flag file.
#[test]
fn an_http_ready_check_waits_for_a_2xx_answer() {
    in_both_modes(|mode| {
        let port = free_port();
        let dir = TempDir::new();
        let flag = dir.write("flag", "");
        let toml = format!(
            "
[program.api]
command = ['@TP@', 'http', '127.0.0.1:{port}', '{flag}']
priority = 1
ready = {{ http = 'http://127.0.0.1:{port}/healthz', interval = '100ms' }}

[program.web]
command = ['@TP@', 'sleep']
priority = 2
"
        );
        let mut rinit = supervise(mode, &dir, &toml);
        wait_stdout(&rinit, "http 503", 2);
        let before = rinit.stderr.all();
        assert!(
            !has(&before, "web: started"),
            "started on a 503: {before:#?}"
        );
        assert!(!has(&before, "api: ready…"), "{before:#?}");
        std::fs::remove_file(&flag).unwrap();
        wait_line(&rinit, "web: started");
        wait_stdout(&rinit, "ready", 2);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        let e = &out.stderr;
        assert_in_order(
            e,
            &[
                "api: started",
                &format!("api: ready (http http://127.0.0.1:{port}/healthz, …"),
                "web: started",
            ],
        );
        assert!(
            out.stdout.iter().any(|l| payload(l) == "http 200"),
            "{out:#?}"
        );
    });
}

/// An exec check runs with the program's directory and environment, its output
/// prefixed `NAME[ready]`; it passes once the file it tests exists.
#[test]
fn an_exec_ready_check_passes_on_exit_0_and_runs_in_the_programs_dir_and_env() {
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let toml = "
[program.app]
command = ['@TP@', 'sleep']
priority = 1
directory = '@DIR@'
environment = { MARK = 'from-env' }
ready = { exec = ['sh', '-c', 'echo probing $MARK in $PWD; test -e flag'], interval = '100ms' }

[program.web]
command = ['@TP@', 'sleep']
priority = 2
";
        let mut rinit = supervise(mode, &dir, toml);
        let probing = format!("probing from-env in {}", dir.path());
        rinit.stdout.wait_until(
            |lines| {
                lines
                    .iter()
                    .filter(|l| *l == &format!("app[ready] | {probing}"))
                    .count()
                    >= 2
            },
            "two failed exec checks",
        );
        let before = rinit.stderr.all();
        assert!(!has(&before, "web: started"), "{before:#?}");
        std::fs::write(dir.file("flag"), "").unwrap();
        wait_line(&rinit, "web: started");
        wait_stdout(&rinit, "ready", 2);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        assert_in_order(
            &out.stderr,
            &[
                "app: started",
                "app: ready (exec sh -c echo probing $MARK in $PWD; test -e flag, …",
                "web: started",
            ],
        );
    });
}

/// A log check: ready on the first output line containing the text.
#[test]
fn a_log_ready_check_passes_on_a_matching_output_line() {
    in_both_modes(|mode| {
        let toml = "
[program.db]
command = ['@TP@', 'say-after', '500', 'now accepting connections here']
priority = 1
startsecs = 5
ready = { log = 'accepting connections' }

[program.web]
command = ['@TP@', 'sleep']
priority = 2
";
        let out = assert_gate_opens(
            mode,
            toml,
            "db: ready (log \"accepting connections\", ",
            500,
        );
        assert!(
            out.stdout
                .iter()
                .any(|l| payload(l) == "now accepting connections here"),
            "{out:#?}"
        );
    });
}

/// A health check that starts failing: after `failures` in a row the program is
/// stopped and restarted by its policy; the counted failures are logged.
#[test]
fn failing_health_checks_restart_the_program() {
    in_both_modes(|mode| {
        let port = free_port();
        let dir = TempDir::new();
        let flag = dir.file("flag");
        let toml = format!(
            "
[program.web]
command = ['@TP@', 'http', '127.0.0.1:{port}', '{flag}']
startsecs = 0.1
backoff = '100ms'
health = {{ http = 'http://127.0.0.1:{port}/', interval = '100ms', failures = 2 }}
"
        );
        let mut rinit = supervise(mode, &dir, &toml);
        wait_line(&rinit, "web: running");
        // The check passes for a while: no restart.
        wait_stdout(&rinit, "http 200", 3);
        assert_eq!(count(&rinit.stderr.all(), "web: started"), 1);
        std::fs::write(&flag, "").unwrap();
        wait_line(&rinit, "web: unhealthy: restarting");
        std::fs::remove_file(&flag).unwrap();
        wait_count(&rinit, "web: started", 2);
        wait_stdout(&rinit, "ready", 2);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        let e = &out.stderr;
        assert_in_order(
            e,
            &[
                "web: started",
                "web: running",
                "web: health check failed (1 of 2): …",
                "web: health check failed (2 of 2): …",
                "web: unhealthy: restarting",
                "web: stopping with SIGTERM",
                "web: started",
            ],
        );
        let first_fail = index(e, "web: health check failed (1 of 2): …");
        assert!(
            e[first_fail].contains("503"),
            "the reason names the status: {e:#?}"
        );
    });
}

/// `[rinit] stop_delay`: on SIGTERM nothing is stopped before the delay is over.
#[test]
fn stop_delay_holds_the_stop_signal_back_in_supervise_mode() {
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let toml = "
[rinit]
stop_delay = '1s'

[program.web]
command = ['@TP@', 'report']
startsecs = 0.1
";
        let mut rinit = supervise(mode, &dir, toml);
        wait_line(&rinit, "web: running");
        wait_stdout(&rinit, "ready", 1);
        let sent = Instant::now();
        rinit.signal(libc::SIGTERM);
        wait_line(&rinit, "web: stopping with SIGTERM");
        let stopping_after = sent.elapsed();
        let out = rinit.finish();
        assert_last(&out, 0);
        assert!(
            stopping_after >= Duration::from_secs(1),
            "stopped before the drain delay: {stopping_after:?}"
        );
        assert_in_order(
            &out.stderr,
            &[
                "web: running",
                "received SIGTERM: shutting down",
                "web: stopping with SIGTERM",
                "web: stopped (exit status 0)",
            ],
        );
        assert_eq!(
            out.stdout.iter().map(|l| payload(l)).collect::<Vec<_>>(),
            ["ready", "got SIGTERM"]
        );
    });
}

/// The delay from `--stop-delay` and from `$RINIT_STOP_DELAY` (no `[rinit]` table).
#[test]
fn stop_delay_from_the_flag_and_the_environment() {
    let toml = "
[program.web]
command = ['@TP@', 'report']
";
    type Setup = (
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    let setups: [Setup; 2] = [
        (&["--stop-delay", "700ms"], &[]),
        (&[], &[("RINIT_STOP_DELAY", "700ms")]),
    ];
    std::thread::scope(|scope| {
        for (extra, env) in setups {
            scope.spawn(move || {
                let dir = TempDir::new();
                let mut rinit = launch(Mode::Subreaper, &dir.config(toml), extra, env);
                wait_stdout(&rinit, "ready", 1);
                let sent = Instant::now();
                rinit.signal(libc::SIGTERM);
                wait_line(&rinit, "web: stopping with SIGTERM");
                let stopping_after = sent.elapsed();
                let out = rinit.finish();
                assert_last(&out, 0);
                assert!(
                    stopping_after >= Duration::from_millis(700),
                    "{extra:?} {env:?}: {stopping_after:?}"
                );
            });
        }
    });
}

/// A second SIGTERM during the drain delay skips what is left of it: the programs are
/// stopped (politely) at once.
#[test]
fn a_second_sigterm_skips_the_stop_delay_in_supervise_mode() {
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let toml = "
[rinit]
stop_delay = '30s'

[program.web]
command = ['@TP@', 'report']
startsecs = 0.1
";
        let mut rinit = supervise(mode, &dir, toml);
        wait_line(&rinit, "web: running");
        wait_stdout(&rinit, "ready", 1);
        let sent = Instant::now();
        signal_and_wait_taken(&rinit, libc::SIGTERM);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        let took = sent.elapsed();
        assert_last(&out, 0);
        assert!(
            took < Duration::from_secs(15),
            "waited for the drain delay: {took:?}"
        );
        assert_in_order(
            &out.stderr,
            &["web: stopping with SIGTERM", "web: stopped (exit status 0)"],
        );
        assert!(
            out.stdout.iter().any(|l| payload(l) == "got SIGTERM"),
            "{out:#?}"
        );
    });
}

/// `rinit --stop-delay 1s -- CMD`: the child gets SIGTERM only after the delay, and a
/// second SIGTERM skips the rest of a long delay.
#[test]
fn stop_delay_in_single_command_mode() {
    std::thread::scope(|scope| {
        for mode in BOTH_MODES {
            scope.spawn(move || {
                let tp = testprog();
                let args = ["--stop-delay", "1s", "--", &tp, "report"];
                let mut rinit = start_with(mode, &args, Launch::default());
                rinit.stdout.wait_for("ready");
                let sent = Instant::now();
                rinit.signal(libc::SIGTERM);
                rinit.stdout.wait_for("got SIGTERM");
                let got_after = sent.elapsed();
                let out = rinit.finish();
                assert_eq!(out.code, 0, "{mode:?}: {out:?}");
                assert!(
                    got_after >= Duration::from_secs(1),
                    "{mode:?}: SIGTERM forwarded before the delay: {got_after:?}"
                );
            });
            scope.spawn(move || {
                let tp = testprog();
                let args = ["--stop-delay", "30s", "--", &tp, "report"];
                let mut rinit = start_with(mode, &args, Launch::default());
                rinit.stdout.wait_for("ready");
                let sent = Instant::now();
                signal_and_wait_taken(&rinit, libc::SIGTERM);
                rinit.signal(libc::SIGTERM);
                rinit.stdout.wait_for("got SIGTERM");
                let got_after = sent.elapsed();
                let out = rinit.finish();
                assert_eq!(out.code, 0, "{mode:?}: {out:?}");
                assert!(
                    got_after < Duration::from_secs(15),
                    "{mode:?}: the second SIGTERM did not skip the delay: {got_after:?}"
                );
            });
        }
    });
}

/// A supervisord file with `rinit_ready=tcp:…`: gated as in TOML.
#[test]
fn a_supervisord_file_with_rinit_ready_tcp_gates_like_toml() {
    in_both_modes(|mode| {
        let port = free_port();
        let dir = TempDir::new();
        let conf = dir.write(
            "supervisord.conf",
            &format!(
                "[supervisord]
nodaemon=true
rinit_stop_delay=100ms

[program:db]
command=@TP@ listen 127.0.0.1:{port} 700
priority=1
startsecs=5
rinit_ready=tcp:127.0.0.1:{port}
rinit_ready_interval=50ms
rinit_ready_timeout=1s
rinit_ready_within=30s

[program:web]
command=@TP@ sleep
priority=2
"
            ),
        );
        let launched = Instant::now();
        let mut rinit = launch(mode, &conf, &[], &[]);
        wait_line(&rinit, "web: started");
        let web_started = launched.elapsed();
        wait_stdout(&rinit, "ready", 1);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        let e = &out.stderr;
        let ready = format!("db: ready (tcp 127.0.0.1:{port}, ");
        assert_in_order(e, &["db: started", &format!("{ready}…"), "web: started"]);
        assert!(ready_ms(e, &ready) >= 700, "{out:#?}");
        assert!(web_started < Duration::from_secs(5), "{web_started:?}");
    });
}

/// supervisord spellings of within and health: not ready within → FATAL (code 1); a
/// failing `rinit_health` restarts the program.
#[test]
fn supervisord_rinit_ready_within_and_rinit_health() {
    let port = free_port();
    let dir = TempDir::new();
    let flag = dir.file("flag");
    let conf = dir.write(
        "supervisord.conf",
        &format!(
            "[supervisord]
nodaemon=true

[program:web]
command=@TP@ http 127.0.0.1:{port} {flag}
startsecs=1
rinit_health=http:http://127.0.0.1:{port}/
rinit_health_interval=100ms
rinit_health_timeout=1s
rinit_health_failures=2
"
        ),
    );
    let mut rinit = launch(Mode::Subreaper, &conf, &[], &[]);
    wait_line(&rinit, "web: running");
    wait_stdout(&rinit, "http 200", 2);
    std::fs::write(&flag, "").unwrap();
    wait_line(&rinit, "web: unhealthy: restarting");
    std::fs::remove_file(&flag).unwrap();
    wait_count(&rinit, "web: started", 2);
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_last(&out, 0);
    assert_in_order(
        &out.stderr,
        &[
            "web: health check failed (1 of 2): …",
            "web: health check failed (2 of 2): …",
            "web: unhealthy: restarting",
            "web: started",
        ],
    );

    let never = free_port();
    let conf = dir.write(
        "never.conf",
        &format!(
            "[supervisord]
nodaemon=true

[program:db]
command=@TP@ report
startretries=1
rinit_ready=exec:test -e {dir}/never
rinit_ready_interval=50ms
rinit_ready_within=300ms

[program:other]
command=@TP@ listen 127.0.0.1:{never} 0
",
            dir = dir.path()
        ),
    );
    let out = launch(Mode::Subreaper, &conf, &[], &[]).finish();
    assert_last(&out, 1);
    assert_eq!(
        count(&out.stderr, "db: not ready within 300ms"),
        2,
        "{out:#?}"
    );
    assert!(has(&out.stderr, "db: gave up (FATAL)"), "{out:#?}");
}

/// sd_notify: STATUS= lines are shown, READY=1 (possibly after other keys, in a later
/// datagram) opens the gate; a datagram from outside the program's group is ignored.
#[test]
fn a_notify_ready_check_opens_on_ready_1_from_the_program() {
    in_both_modes(|mode| {
        let toml = "
[program.db]
command = ['@TP@', 'notify', '400', 'STATUS=warming up', 'MAINPID=1\\nSTATUS=serving\\nREADY=1']
priority = 1
startsecs = 5
ready = { notify = 'systemd' }

[program.web]
command = ['@TP@', 'sleep']
priority = 2
";
        let out = assert_gate_opens(mode, toml, "db: ready (notify systemd, ", 400);
        let e = &out.stderr;
        assert_in_order(
            e,
            &[
                "db: status: warming up",
                "db: status: serving",
                "db: ready…",
            ],
        );
        assert!(!has(e, "ignored a notification…"), "{e:#?}");
    });
}

/// s6's notification-fd: the program writes a newline to fd N.
#[test]
fn an_fd_ready_check_opens_on_a_newline_on_that_fd() {
    in_both_modes(|mode| {
        let toml = "
[program.db]
command = ['@TP@', 'fd-ready', '5', '300']
priority = 1
startsecs = 5
ready = { fd = 5 }

[program.web]
command = ['@TP@', 'sleep']
priority = 2
";
        let out = assert_gate_opens(mode, toml, "db: ready (fd 5, ", 300);
        assert!(
            out.stdout.iter().any(|l| payload(l) == "notified"),
            "fd 5 was open in the program: {out:#?}"
        );
    });
}

/// A notification from a process outside the program's group does not make it ready.
#[test]
fn a_notification_from_outside_the_programs_group_is_ignored() {
    let dir = TempDir::new();
    let toml = "
[program.db]
command = ['@TP@', 'sleep']
priority = 1
ready = { notify = 'systemd', within = '30s' }

[program.web]
command = ['@TP@', 'sleep']
priority = 2
";
    let mut rinit = supervise(Mode::Subreaper, &dir, toml);
    wait_line(&rinit, "db: started");
    // The socket's path is in the program's environment.
    let pid = poll_until(|| children_of(rinit.pid).first().copied()).expect("db's pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("db's environment");
    let path = environ
        .split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(b"NOTIFY_SOCKET="))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .expect("NOTIFY_SOCKET in db's environment");
    let outsider = std::os::unix::net::UnixDatagram::unbound().unwrap();
    outsider.send_to(b"READY=1", &path).unwrap();
    wait_line(&rinit, "db: ignored a notification from pid…");
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_last(&out, 0);
    assert!(!has(&out.stderr, "db: ready"), "{out:#?}");
    assert!(!has(&out.stderr, "web: started"), "{out:#?}");
    assert!(
        !std::path::Path::new(&path).exists(),
        "the socket is removed at exit"
    );
}

/// An exec check that outlives its timeout is killed (its whole group), and a program
/// never ready is FATAL. The check ignores SIGTERM, so had it been left to the final
/// leftover sweep, the shutdown would wait out the whole grace period.
#[test]
fn an_exec_check_over_its_timeout_is_killed() {
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let toml = "
[rinit]
grace = '20s'

[program.db]
command = ['@TP@', 'report']
startretries = 0
ready = { exec = ['sh', '-c', 'trap \"\" TERM; sleep 30 & exec sleep 30'], timeout = '300ms', within = '1s' }
";
        let launched = Instant::now();
        let out = supervise(mode, &dir, toml).finish();
        let took = launched.elapsed();
        assert_last(&out, 1);
        let e = &out.stderr;
        assert_in_order(
            e,
            &[
                "db: started",
                "db: not ready within 1s",
                "db: gave up (FATAL)",
            ],
        );
        assert!(!e.iter().any(|l| l.contains("grace period")), "{e:#?}");
        assert!(took < Duration::from_secs(10), "{took:?}: {e:#?}");
    });
}
