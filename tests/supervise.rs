//! Black-box tests of supervise mode (`rinit -c FILE`): start order by priority, crash
//! loops and FATAL, oneshots, shutdown (stopwaitsecs, process groups, the global grace
//! period, a second stop signal), the exit code of every way a container can end,
//! configuration errors, and signal forwarding. The real binary runs as PID 1 of a PID
//! namespace and as a subreaper; the programs are `sh` and the test helper
//! (examples/testprog.rs). Every wait is for a line or a condition, with a deadline.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::lines::*;
use common::{BOTH_MODES, Launch, Mode, Rinit, TempDir, launch, start_with, supervise};

/// `rinit [extra...] -c DIR/rinit.toml`, with `env` added to its environment.
fn supervise_with(
    mode: Mode,
    dir: &TempDir,
    toml: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Rinit {
    launch(mode, &dir.config(toml), extra, env)
}

#[test]
fn with_ready_running_priorities_start_in_order_each_waiting_for_the_previous_to_be_running() {
    // File order is the reverse of the start order: priority, then name, decides.
    const TOML: &str = "
[program.c]
command = ['@TP@', 'sleep']
priority = 3
startsecs = 0.2
ready = 'running'

[program.b]
command = ['@TP@', 'sleep']
priority = 2
startsecs = 0.3
ready = 'running'

[program.a2]
command = ['@TP@', 'sleep']
priority = 1
startsecs = 0.3
ready = 'running'

[program.a]
command = ['@TP@', 'sleep']
priority = 1
startsecs = 0.5
ready = 'running'
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "c: running");
        wait_stdout(&rinit, "ready", 4);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        let e = &out.stderr;
        for name in ["a", "a2", "b", "c"] {
            assert_eq!(count(e, &format!("{name}: started")), 1, "{name}: {e:#?}");
        }
        let at = |text: &str| index(e, text);
        // Equal priorities start together (in name order): both before either runs.
        assert!(at("a: started") < at("a2: started"), "{e:#?}");
        assert!(at("a2: started") < at("a2: running"), "{e:#?}");
        assert!(at("a2: started") < at("a: running"), "{e:#?}");
        // b waits for every program of priority 1 to be RUNNING (a takes 0.5 s), c for b.
        assert!(at("a: running") < at("b: started"), "{e:#?}");
        assert!(at("a2: running") < at("b: started"), "{e:#?}");
        assert!(at("b: running") < at("c: started"), "{e:#?}");
        // Stop: reverse priority, one level at a time; a level's programs together.
        assert_in_order(
            e,
            &[
                "received SIGTERM: shutting down",
                "c: stopping with SIGTERM",
                "c: stopped (signal SIGTERM)",
                "b: stopping with SIGTERM",
                "b: stopped (signal SIGTERM)",
            ],
        );
        let stopping = [
            at("a: stopping with SIGTERM"),
            at("a2: stopping with SIGTERM"),
        ];
        let stopped = [
            at("a: stopped (signal SIGTERM)"),
            at("a2: stopped (signal SIGTERM)"),
        ];
        assert!(at("b: stopped (signal SIGTERM)") < stopping[0], "{e:#?}");
        assert!(stopping.iter().max() < stopped.iter().min(), "{e:#?}");
        assert_eq!(plain(&out.stdout), ["ready"; 4]);
    });
}

#[test]
fn a_crash_loop_goes_fatal_and_the_container_exits_with_its_code() {
    const TOML: &str = "
[program.web]
command = ['@TP@', 'sleep']
priority = 1
startsecs = 0.2
ready = 'running'

[program.crash]
command = ['sh', '-c', 'exit 7']
priority = 2
startretries = 2
backoff = '100ms'
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let out = supervise(mode, &dir, TOML).finish();
        assert_last(&out, 7);
        let e = &out.stderr;
        // One start and two retries, with a doubling delay, then FATAL.
        assert_eq!(count(e, "crash: started"), 3, "{e:#?}");
        assert_eq!(
            count(e, "crash: exited with exit status 7 (unexpected)"),
            3,
            "{e:#?}"
        );
        assert_in_order(
            e,
            &[
                "web: running",
                "crash: started",
                "crash: exited with exit status 7 (unexpected)",
                "crash: restarting in 100ms (attempt 1 of 2)",
                "crash: started",
                "crash: restarting in 200ms (attempt 2 of 2)",
                "crash: started",
                "crash: gave up (FATAL)",
                "crash ended (code 7) and will not be restarted: shutting down",
                "web: stopping with SIGTERM",
                "web: stopped (signal SIGTERM)",
            ],
        );
        assert_eq!(count(e, "web: started"), 1, "{e:#?}");
        assert_eq!(count(e, "crash: restarting in 400ms (attempt 3 of 2)"), 0);
    });
}

#[test]
fn a_failing_oneshot_blocks_later_priorities_and_its_code_is_the_exit_code() {
    const TOML: &str = "
[program.migrate]
command = ['sh', '-c', 'echo migrating; exit 4']
type = 'oneshot'
priority = 1
startretries = 3

[program.web]
command = ['@TP@', 'sleep']
priority = 2
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let out = supervise(mode, &dir, TOML).finish();
        assert_last(&out, 4);
        let e = &out.stderr;
        // No retries for a oneshot, whatever startretries says.
        assert_eq!(count(e, "migrate: started"), 1, "{e:#?}");
        assert_in_order(
            e,
            &[
                "migrate: started",
                "migrate: exited with exit status 4 (unexpected)",
                "migrate: gave up (FATAL)",
                "migrate ended (code 4) and will not be restarted: shutting down",
            ],
        );
        assert!(
            !e.iter()
                .any(|l| rinit_text(l).is_some_and(|t| t.starts_with("web"))),
            "web must never start: {e:#?}"
        );
        assert_eq!(plain(&out.stdout), ["migrating"]);
    });
}

#[test]
fn a_successful_oneshot_lets_the_next_priority_start() {
    // The oneshot takes a while, and has no startsecs: web waits for its exit.
    const TOML: &str = "
[program.migrate]
command = ['sh', '-c', 'sleep 0.3; echo migrated']
type = 'oneshot'
priority = 1

[program.web]
command = ['@TP@', 'sleep']
priority = 2
startsecs = 0.2
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "web: running");
        wait_stdout(&rinit, "ready", 1);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        let e = &out.stderr;
        assert_in_order(
            e,
            &[
                "migrate: started",
                "migrate: exited with exit status 0 (expected)",
                "migrate: done: will not be restarted",
                "web: started",
                "web: running",
                "received SIGTERM: shutting down",
                "web: stopping with SIGTERM",
                "web: stopped (signal SIGTERM)",
            ],
        );
        assert_eq!(count(e, "migrate: started"), 1, "{e:#?}");
        assert!(
            !e.iter()
                .any(|l| rinit_text(l).is_some_and(|t| t.starts_with("migrate"))
                    && l.contains("stop")),
            "a finished oneshot is not stopped: {e:#?}"
        );
        assert_eq!(plain(&out.stdout), ["migrated", "ready"]);
    });
}

#[test]
fn stop_sends_sigkill_after_stopwaitsecs_to_a_program_that_ignores_sigterm() {
    const TOML: &str = "
[program.stubborn]
command = ['@TP@', 'ignore-term']
startsecs = 0.2
stopwaitsecs = '1s'

[program.polite]
command = ['@TP@', 'sleep']
startsecs = 0.2
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "stubborn: running");
        wait_line(&rinit, "polite: running");
        wait_stdout(&rinit, "ready", 2);
        let stop = Instant::now();
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        let elapsed = stop.elapsed();
        // A stop that needed a program's own stopwaitsecs is still a clean stop.
        assert_last(&out, 0);
        let e = &out.stderr;
        assert_in_order(
            e,
            &[
                "received SIGTERM: shutting down",
                "polite: stopping with SIGTERM",
                "polite: stopped (signal SIGTERM)",
                "stubborn: did not stop in time: sending SIGKILL",
                "stubborn: stopped (signal SIGKILL)",
            ],
        );
        assert!(has(e, "stubborn: stopping with SIGTERM"), "{e:#?}");
        assert!(
            elapsed >= Duration::from_secs(1),
            "SIGKILL before stopwaitsecs: {elapsed:?}"
        );
        // The default grace (8 s) was not what ended it.
        assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
        assert!(!e.iter().any(|l| l.contains("grace period")), "{e:#?}");
    });
}

#[test]
fn the_stop_signal_goes_to_the_programs_whole_process_group() {
    // sh ignores SIGTERM (set after its child started, which keeps the default) and
    // waits for its child. Only if the group is signalled does the child get SIGTERM,
    // exit, and let sh finish before stopwaitsecs.
    const TOML: &str = "
[program.shell]
command = ['sh', '-c', '@TP@ report & trap \"\" TERM; wait; echo sh done']
startsecs = 0.2
stopwaitsecs = 5
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "shell: running");
        wait_stdout(&rinit, "ready", 1);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        assert_in_order(
            &out.stderr,
            &[
                "shell: stopping with SIGTERM",
                "shell: stopped (exit status 0)",
            ],
        );
        assert!(!has(
            &out.stderr,
            "shell: did not stop in time: sending SIGKILL"
        ));
        assert_eq!(plain(&out.stdout), ["ready", "got SIGTERM", "sh done"]);
    });
}

#[test]
fn stop_sigkills_the_group_when_the_program_exits_but_its_child_ignores_sigterm() {
    // sh exits on SIGTERM; its child ignores SIGTERM and stays in sh's process group.
    const TOML: &str = "
[rinit]
grace = '12s'

[program.shell]
command = ['sh', '-c', 'trap \"exit 0\" TERM; @TP@ ignore-term & echo child $!; wait']
startsecs = 0.2
stopwaitsecs = '1s'
";
    // Subreaper mode: the child's pid, as sh prints it, is a pid of the test's namespace.
    let dir = TempDir::new();
    let mut rinit = supervise(Mode::Subreaper, &dir, TOML);
    wait_line(&rinit, "shell: running");
    wait_stdout(&rinit, "ready", 1);
    let child: i32 = rinit
        .stdout
        .all()
        .iter()
        .find_map(|l| payload(l).strip_prefix("child ")?.parse().ok())
        .expect("sh prints its child's pid");
    let stop = Instant::now();
    rinit.signal(libc::SIGTERM);
    rinit.wait();
    let elapsed = stop.elapsed();
    let survived = common::is_alive(child);
    if survived {
        // SAFETY: killing the process this test started, so that nothing is left behind.
        unsafe { libc::kill(child, libc::SIGKILL) };
    }
    let out = rinit.finish();
    assert!(
        !survived,
        "the child (pid {child}) outlived rinit: {out:#?}"
    );
    assert_last(&out, 0);
    assert!(
        has(&out.stderr, "shell: stopped (exit status 0)"),
        "{out:#?}"
    );
    assert!(
        elapsed >= Duration::from_secs(1),
        "SIGKILL before stopwaitsecs: {elapsed:?}"
    );
    assert!(
        !out.stderr.iter().any(|l| l.contains("grace period")),
        "the group must get SIGKILL at stopwaitsecs, not at the grace period: {out:#?}"
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn the_grace_period_caps_the_whole_shutdown_and_exits_137() {
    const TOML: &str = "
[rinit]
grace = '@GRACE@'

[program.stubborn]
command = ['@TP@', 'ignore-term']
startsecs = 0.2
stopwaitsecs = 60
";
    /// The file's grace, rinit's flags, rinit's environment.
    type Variant = (
        &'static str,
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    );
    // The file's grace; then 60 s in the file overridden by --grace and by RINIT_GRACE.
    let variants: [Variant; 3] = [
        ("1s", &[], &[]),
        ("60s", &["--grace", "1s"], &[]),
        ("60s", &[], &[("RINIT_GRACE", "1")]),
    ];
    std::thread::scope(|scope| {
        for (grace, flags, env) in variants {
            for mode in BOTH_MODES {
                let name = format!("{mode:?} grace {grace} {flags:?} {env:?}");
                let test = move || {
                    let dir = TempDir::new();
                    let toml = TOML.replace("@GRACE@", grace);
                    let mut rinit = supervise_with(mode, &dir, &toml, flags, env);
                    wait_line(&rinit, "stubborn: running");
                    wait_stdout(&rinit, "ready", 1);
                    let stop = Instant::now();
                    rinit.signal(libc::SIGTERM);
                    let out = rinit.finish();
                    let elapsed = stop.elapsed();
                    assert_last(&out, 137);
                    assert_in_order(
                        &out.stderr,
                        &[
                            "received SIGTERM: shutting down",
                            "stubborn: stopping with SIGTERM",
                            "grace period (1s) over: sending SIGKILL to everything",
                            "stubborn: stopped (signal SIGKILL)",
                        ],
                    );
                    assert!(!has(
                        &out.stderr,
                        "stubborn: did not stop in time: sending SIGKILL"
                    ));
                    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
                    assert!(
                        elapsed < Duration::from_secs(20),
                        "waited for stopwaitsecs (60 s): {elapsed:?}"
                    );
                };
                std::thread::Builder::new()
                    .name(name)
                    .spawn_scoped(scope, test)
                    .unwrap();
            }
        }
    });
}

#[test]
fn a_second_stop_signal_kills_everything_at_once() {
    const TOML: &str = "
[rinit]
grace = 60

[program.stubborn]
command = ['@TP@', 'ignore-term']
startsecs = 0.2
stopwaitsecs = 60
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "stubborn: running");
        wait_stdout(&rinit, "ready", 1);
        let stop = Instant::now();
        rinit.signal(libc::SIGTERM);
        wait_line(&rinit, "stubborn: stopping with SIGTERM");
        rinit.signal(libc::SIGINT);
        let out = rinit.finish();
        assert_last(&out, 137);
        assert_in_order(
            &out.stderr,
            &[
                "received SIGTERM: shutting down",
                "stubborn: stopping with SIGTERM",
                "second stop signal: sending SIGKILL to everything",
                "stubborn: stopped (signal SIGKILL)",
            ],
        );
        assert!(stop.elapsed() < Duration::from_secs(20), "{out:#?}");
    });
}

/// One row of the exit-code table of supervise mode.
struct Row {
    what: &'static str,
    toml: &'static str,
    /// Send this signal once `rinit: LINE` is on stderr and `ready` lines on stdout.
    stop: Option<(&'static str, usize, libc::c_int)>,
    code: i32,
    /// rinit's lines, in this order.
    lines: &'static [&'static str],
}

const TABLE: &[Row] = &[
    Row {
        what: "external stop (SIGTERM)",
        toml: "
[program.web]
command = ['@TP@', 'sleep']
startsecs = 0.2
",
        stop: Some(("web: running", 1, libc::SIGTERM)),
        code: 0,
        lines: &[
            "received SIGTERM: shutting down",
            "web: stopping with SIGTERM",
            "web: stopped (signal SIGTERM)",
        ],
    },
    Row {
        what: "external stop (SIGINT), with stopsignal = INT",
        toml: "
[program.web]
command = ['@TP@', 'sleep']
startsecs = 0.2
stopsignal = 'INT'
",
        stop: Some(("web: running", 1, libc::SIGINT)),
        code: 0,
        lines: &[
            "received SIGINT: shutting down",
            "web: stopping with SIGINT",
            "web: stopped (signal SIGINT)",
        ],
    },
    Row {
        what: "a program goes FATAL: its exit code",
        toml: "
[program.crash]
command = ['sh', '-c', 'exit 7']
startretries = 1
backoff = '100ms'
",
        stop: None,
        code: 7,
        lines: &[
            "crash: exited with exit status 7 (unexpected)",
            "crash: restarting in 100ms (attempt 1 of 1)",
            "crash: gave up (FATAL)",
            "crash ended (code 7) and will not be restarted: shutting down",
        ],
    },
    Row {
        what: "a program killed by signal N goes FATAL: 128+N",
        toml: "
[program.crash]
command = ['@TP@', 'kill-self', '10']
startretries = 1
backoff = '100ms'
",
        stop: None,
        code: 138,
        lines: &[
            "crash: exited with signal SIGUSR1 (unexpected)",
            "crash: restarting in 100ms (attempt 1 of 1)",
            "crash: exited with signal SIGUSR1 (unexpected)",
            "crash: gave up (FATAL)",
            "crash ended (code 138) and will not be restarted: shutting down",
        ],
    },
    Row {
        what: "a running program killed by signal N, autorestart = false: 128+N",
        toml: "
[program.job]
command = ['@TP@', 'kill-self', '12']
startsecs = 0
autorestart = false
",
        stop: None,
        code: 140,
        lines: &[
            "job: running",
            "job: exited with signal SIGUSR2 (unexpected)",
            "job: done: will not be restarted",
            "job ended (code 140) and will not be restarted: shutting down",
        ],
    },
    Row {
        what: "a program that cannot be run: 127",
        toml: "
[program.nope]
command = 'no-such-command-xyz'
startretries = 0
",
        stop: None,
        code: 127,
        lines: &[
            "nope: cannot run 'no-such-command-xyz': No such file or directory",
            "nope: gave up (FATAL)",
            "nope ended (code 127) and will not be restarted: shutting down",
        ],
    },
    Row {
        what: "a oneshot fails: its exit code",
        toml: "
[program.migrate]
command = ['sh', '-c', 'exit 4']
type = 'oneshot'
",
        stop: None,
        code: 4,
        lines: &[
            "migrate: exited with exit status 4 (unexpected)",
            "migrate: gave up (FATAL)",
            "migrate ended (code 4) and will not be restarted: shutting down",
        ],
    },
    Row {
        what: "the grace period expires: 137",
        toml: "
[rinit]
grace = '1s'

[program.stubborn]
command = ['@TP@', 'ignore-term']
startsecs = 0.2
stopwaitsecs = 60
",
        stop: Some(("stubborn: running", 1, libc::SIGTERM)),
        code: 137,
        lines: &[
            "received SIGTERM: shutting down",
            "grace period (1s) over: sending SIGKILL to everything",
        ],
    },
    Row {
        what: "a service with autorestart = false exits 0: 0, and everything stops",
        toml: "
[program.web]
command = ['@TP@', 'sleep']
priority = 1
startsecs = 0.2
ready = 'running'

[program.job]
command = ['sh', '-c', 'exit 0']
priority = 2
startsecs = 0
autorestart = false
",
        stop: None,
        code: 0,
        lines: &[
            "web: running",
            "job: exited with exit status 0 (expected)",
            "job: done: will not be restarted",
            "job ended (code 0) and will not be restarted: shutting down",
            "web: stopping with SIGTERM",
            "web: stopped (signal SIGTERM)",
        ],
    },
    Row {
        what: "on_exit = 'ignore': the others keep running, and its code does not count",
        toml: "
[program.web]
command = ['@TP@', 'sleep']
priority = 1
startsecs = 0.2

[program.job]
command = ['sh', '-c', 'exit 5']
priority = 2
startsecs = 0
autorestart = false
on_exit = 'ignore'
",
        stop: Some(("job: done: will not be restarted", 1, libc::SIGTERM)),
        code: 0,
        lines: &[
            "job: exited with exit status 5 (unexpected)",
            "job: done: will not be restarted",
            "received SIGTERM: shutting down",
            "web: stopping with SIGTERM",
            "web: stopped (signal SIGTERM)",
        ],
    },
];

#[test]
fn exit_codes_of_supervise_mode() {
    std::thread::scope(|scope| {
        for row in TABLE {
            for mode in BOTH_MODES {
                let test = move || {
                    let dir = TempDir::new();
                    let mut rinit = supervise(mode, &dir, row.toml);
                    if let Some((line, ready, sig)) = row.stop {
                        wait_line(&rinit, line);
                        wait_stdout(&rinit, "ready", ready);
                        rinit.signal(sig);
                    }
                    let out = rinit.finish();
                    assert_last(&out, row.code);
                    assert_in_order(&out.stderr, row.lines);
                    let shutdowns = out.stderr.iter().filter(|l| l.ends_with("shutting down"));
                    assert_eq!(shutdowns.count(), 1, "{out:#?}");
                };
                std::thread::Builder::new()
                    .name(format!("{mode:?}: {}", row.what))
                    .spawn_scoped(scope, test)
                    .unwrap();
            }
        }
    });
}

#[test]
fn an_invalid_configuration_exits_2_before_anything_starts() {
    // (file, its line and key in the message)
    let cases = [
        (
            "
[program.web]
command = ['sh', '-c', 'echo RAN']
startsec = 1
",
            ":4: program.web: unknown key 'startsec' (did you mean 'startsecs'?)",
        ),
        (
            "
[program.first]
command = ['sh', '-c', 'echo RAN']
priority = 1

[program.web]
command = ['sh', '-c', 'echo RAN']
stopsignal = 'TREM'
",
            ":8: program.web.stopsignal: unknown signal 'TREM' \
             (expected a name like TERM or SIGTERM, or a number)",
        ),
    ];
    for (toml, message) in cases {
        for mode in BOTH_MODES {
            for check in [false, true] {
                let dir = TempDir::new();
                let args = if check { &["check"][..] } else { &[] };
                let out = supervise_with(mode, &dir, toml, args, &[]).finish();
                let what = format!("{mode:?} check={check}");
                assert_eq!(out.code, 2, "{what}: {out:#?}");
                let path = dir.file("rinit.toml");
                assert_eq!(out.stderr, [format!("rinit: {path}{message}")], "{what}");
                assert!(out.stdout.is_empty(), "nothing may start: {what}: {out:#?}");
            }
        }
    }
    let out = common::run(Mode::Subreaper, &["-c", "/nonexistent/rinit.toml"]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert_eq!(
        out.stderr,
        ["rinit: cannot read /nonexistent/rinit.toml: No such file or directory"]
    );
}

#[test]
fn check_prints_the_start_order_of_a_valid_file() {
    const TOML: &str = "
[rinit]
grace = '3s'

[program.web]
command = ['sh', '-c', 'echo RAN']
priority = 10

[program.debug]
command = ['sh', '-c', 'echo RAN']
priority = 20
autostart = false

[program.worker]
command = ['sh', '-c', 'echo RAN']
priority = 10

[program.migrate]
command = ['sh', '-c', 'echo RAN']
type = 'oneshot'
priority = 1
";
    let dir = TempDir::new();
    let path = dir.config(TOML);
    let expected = [
        format!("{path}: OK"),
        "grace: 3s (whole shutdown, then SIGKILL)".into(),
        "output: text, prefix \"{name} {sep} \", colour auto (on a terminal, unless NO_COLOR)"
            .into(),
        "start order:".into(),
        "  1. priority 1: migrate (oneshot)".into(),
        "  2. priority 10: web, worker".into(),
        "  3. priority 20: debug (not started: autostart = false)".into(),
    ];
    let by_flag = common::run(Mode::Subreaper, &["check", "-c", &path]);
    // $RINIT_CONFIG is used without -c, and -c wins over it.
    let launch = |value: &str| Launch {
        env: vec![("RINIT_CONFIG".into(), value.into())],
        ..Default::default()
    };
    let by_env = start_with(Mode::Subreaper, &["check"], launch(&path)).finish();
    let bad = dir.file("missing.toml");
    let flag_wins = start_with(Mode::Subreaper, &["check", "-c", &path], launch(&bad)).finish();
    for out in [by_flag, by_env, flag_wins] {
        assert_eq!(out.code, 0, "{out:#?}");
        assert!(out.stderr.is_empty(), "{out:#?}");
        assert!(out.stdout.len() > expected.len(), "{out:#?}");
        assert_eq!(plain(&out.stdout)[..expected.len()], expected, "{out:#?}");
        assert!(!plain(&out.stdout).contains(&"RAN"), "check runs nothing");
    }
}

#[test]
fn no_configuration_at_all_exits_2_with_two_lines() {
    if Path::new("/etc/rinit.toml").exists() {
        eprintln!(
            "SKIPPED no_configuration_at_all_exits_2_with_two_lines: /etc/rinit.toml exists on \
             this machine (it must not in CI)"
        );
        return;
    }
    // An empty $RINIT_CONFIG counts as unset; use it only if the test's own environment
    // has one to hide.
    let env = match std::env::var_os("RINIT_CONFIG") {
        Some(_) => vec![("RINIT_CONFIG".to_string(), String::new())],
        None => Vec::new(),
    };
    for args in [&[][..], &["check"][..]] {
        let launch = Launch {
            env: env.clone(),
            ..Default::default()
        };
        let out = start_with(Mode::Subreaper, args, launch).finish();
        assert_eq!(out.code, 2, "{args:?}: {out:#?}");
        assert_eq!(out.stderr.len(), 2, "{args:?}: {out:#?}");
        // Then where supervisord looks, relative to rinit's directory and the working
        // directory first, which vary.
        let tried = "rinit: no command given and no configuration found \
                     (tried $RINIT_CONFIG: unset, /etc/rinit.toml, ";
        assert!(out.stderr[0].starts_with(tried), "{out:#?}");
        assert!(
            out.stderr[0]
                .ends_with(", /etc/supervisord.conf, /etc/supervisor/supervisord.conf: not found)"),
            "{out:#?}"
        );
        assert!(out.stderr[1].starts_with("rinit: usage: "), "{out:#?}");
        assert!(out.stderr[1].contains("-c FILE"), "{out:#?}");
        assert!(out.stdout.is_empty(), "{out:#?}");
    }
}

#[test]
fn other_signals_are_forwarded_to_every_running_programs_group() {
    const TOML: &str = "
[program.one]
command = ['@TP@', 'report']
startsecs = 0.2

[program.two]
command = ['@TP@', 'report']
startsecs = 0.2

[program.tree]
command = ['@TP@', 'tree']
startsecs = 0.2
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        for name in ["one", "two", "tree"] {
            wait_line(&rinit, &format!("{name}: running"));
        }
        wait_stdout(&rinit, "ready", 3);
        rinit.signal(libc::SIGUSR1);
        wait_stdout(&rinit, "got SIGUSR1", 2);
        // The group, not only the program: tree's grandchild gets SIGUSR1 first.
        wait_stdout(&rinit, "parent got SIGUSR1", 1);
        wait_stdout(&rinit, "grandchild got SIGUSR1", 1);
        rinit.signal(libc::SIGHUP);
        wait_stdout(&rinit, "got SIGHUP", 2);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        for name in ["one", "two", "tree"] {
            assert!(
                has(&out.stderr, &format!("{name}: stopped (exit status 0)")),
                "{name}: {out:#?}"
            );
        }
        let count = |line: &str| plain(&out.stdout).iter().filter(|l| **l == line).count();
        assert_eq!(count("got SIGUSR1"), 2, "{out:#?}");
        assert_eq!(count("got SIGHUP"), 2, "{out:#?}");
        assert_eq!(count("got SIGTERM"), 2, "{out:#?}");
        assert_eq!(count("grandchild got SIGUSR2"), 0, "{out:#?}");
        assert!(
            !out.stderr.iter().any(|l| l.contains("cannot send")),
            "{out:#?}"
        );
    });
}

#[test]
fn leftover_processes_get_sigterm_at_the_end() {
    // The program starts a daemon (its own session, so not in the program's group),
    // which writes a file when it gets SIGTERM, then becomes `testprog sleep`.
    const TOML: &str = "
[program.spawner]
command = ['sh', '-c', '@TP@ daemon trap @DIR@/terminated 0 && exec @TP@ sleep']
startsecs = 0.2
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "spawner: running");
        wait_stdout(&rinit, "ready", 1);
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_last(&out, 0);
        assert_in_order(
            &out.stderr,
            &[
                "spawner: stopped (signal SIGTERM)",
                "sent SIGTERM to 1 leftover process(es)",
            ],
        );
        let written = std::fs::read_to_string(dir.file("terminated")).unwrap_or_default();
        assert_eq!(written, "terminated\n", "{out:#?}");
    });
}

#[test]
fn an_idle_supervisor_makes_no_wakeups() {
    const TOML: &str = "
[program.one]
command = ['@TP@', 'sleep']
startsecs = 0.2

[program.two]
command = ['@TP@', 'sleep']
startsecs = 0.2
";
    in_both_modes(|mode| {
        let dir = TempDir::new();
        let mut rinit = supervise(mode, &dir, TOML);
        wait_line(&rinit, "one: running");
        wait_line(&rinit, "two: running");
        rinit.wait_until_idle();
        let before = common::context_switches(rinit.pid);
        // A measurement window, not synchronisation: supervisord wakes once a second.
        std::thread::sleep(Duration::from_millis(2500));
        let after = common::context_switches(rinit.pid);
        assert_eq!(
            after,
            before,
            "{mode:?}: {} wakeups while idle",
            after - before
        );
        rinit.signal(libc::SIGTERM);
        assert_last(&rinit.finish(), 0);
    });
}
