//! Black-box tests of `rinit -- CMD`: the real binary as PID 1 of a PID namespace and as a
//! subreaper. Every assertion is on exit codes and output.

mod common;

use std::time::{Duration, Instant};

use common::{BOTH_MODES, Mode, run, start, testprog};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `rinit [flags] -- testprog ARGS`
fn with_testprog(flags: &[&str], prog_args: &[&str]) -> Vec<String> {
    let mut all = args(flags);
    all.push("--".into());
    all.push(testprog());
    all.extend(args(prog_args));
    all
}

#[test]
fn exit_status_is_passed_through() {
    for mode in BOTH_MODES {
        for code in [0, 3, 255] {
            let out = run(mode, &with_testprog(&[], &["exit", &code.to_string()]));
            assert_eq!(out.code, code, "{mode:?}: {out:?}");
            assert!(out.stderr.is_empty(), "rinit must be silent: {out:?}");
        }
    }
}

#[test]
fn death_by_signal_n_exits_128_plus_n() {
    for mode in BOTH_MODES {
        for (sig, code) in [
            (libc::SIGUSR1, 138),
            (libc::SIGTERM, 143),
            (libc::SIGKILL, 137),
        ] {
            let out = run(mode, &with_testprog(&[], &["kill-self", &sig.to_string()]));
            assert_eq!(out.code, code, "{mode:?} signal {sig}: {out:?}");
        }
    }
}

#[test]
fn missing_command_exits_127_with_a_clear_message() {
    let out = run(Mode::Pid1, &args(&["--", "no-such-command-xyz"]));
    assert_eq!(out.code, 127);
    assert_eq!(
        out.stderr,
        ["rinit: cannot run 'no-such-command-xyz': No such file or directory"]
    );
}

#[test]
fn non_executable_command_exits_126() {
    let dir = common::TempDir::new();
    let file = dir.file("not-executable");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    let out = run(Mode::Pid1, &args(&["--", &file]));
    assert_eq!(out.code, 126);
    assert_eq!(
        out.stderr,
        [format!("rinit: cannot run '{file}': Permission denied")]
    );
}

#[test]
fn bad_flags_print_usage_and_exit_2() {
    let out = run(Mode::Subreaper, &args(&["--frobnicate", "--", "true"]));
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        [
            "rinit: unknown option '--frobnicate'",
            "rinit: usage: rinit [OPTIONS] -- COMMAND [ARGS...]  |  rinit [-c FILE]  |  rinit check [-c FILE]  (see rinit --help)"
        ]
    );
    let out = run(Mode::Subreaper, &args(&["--grace", "soon", "--", "true"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr[0].contains("'soon' is not a duration"),
        "{out:?}"
    );
}

#[test]
fn help_and_version() {
    let out = run(Mode::Subreaper, &args(&["--help"]));
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .iter()
            .any(|l| l.starts_with("usage: rinit [OPTIONS] -- COMMAND [ARGS...]"))
    );
    assert!(out.stdout.iter().any(|l| l.contains("--grace DURATION")));
    let out = run(Mode::Subreaper, &args(&["--version"]));
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, [format!("rinit {}", env!("CARGO_PKG_VERSION"))]);
}

#[test]
fn no_command_explains_usage_in_two_lines() {
    let out = run(Mode::Subreaper, &Vec::<String>::new());
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.len(), 2, "{out:?}");
    assert!(out.stderr[1].contains("rinit [OPTIONS] -- COMMAND"));
}

#[test]
fn a_bare_command_without_double_dash_is_refused_with_a_hint() {
    let out = run(Mode::Subreaper, &args(&["true"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr[0].contains("put it after '--': rinit -- true"),
        "{out:?}"
    );
}

#[test]
fn reaps_ten_thousand_orphans() {
    for mode in BOTH_MODES {
        let mut rinit = start(mode, &with_testprog(&[], &["orphans", "10000"]));
        rinit.stdout.wait_for("orphans done");
        let pid = rinit.pid;
        // Every orphan has exited; once rinit has reaped them, its only child is testprog.
        let settled = common::poll_until(|| {
            let children = common::children_of(pid);
            (children.len() == 1 && common::zombie_children_of(pid) == 0).then_some(())
        });
        assert!(
            settled.is_some(),
            "{mode:?}: {} zombies among {} children",
            common::zombie_children_of(pid),
            common::children_of(pid).len()
        );
        rinit.signal(libc::SIGTERM);
        assert_eq!(rinit.finish().code, 143, "{mode:?}");
    }
}

#[test]
fn forwards_the_documented_signals_and_not_sigchld() {
    let rt_min = 34; // as the kernel, glibc and Docker number it
    let forwarded = [
        (libc::SIGHUP, "SIGHUP".to_string()),
        (libc::SIGQUIT, "SIGQUIT".into()),
        (libc::SIGUSR1, "SIGUSR1".into()),
        (libc::SIGUSR2, "SIGUSR2".into()),
        (libc::SIGWINCH, "SIGWINCH".into()),
        (libc::SIGALRM, "SIGALRM".into()),
        (libc::SIGCONT, "SIGCONT".into()),
        (libc::SIGTSTP, "SIGTSTP".into()),
        (rt_min, "SIGRTMIN+0".into()),
        (rt_min + 5, "SIGRTMIN+5".into()),
        (
            libc::SIGRTMAX(),
            format!("SIGRTMIN+{}", libc::SIGRTMAX() - rt_min),
        ),
    ];
    for mode in BOTH_MODES {
        let mut rinit = start(mode, &with_testprog(&[], &["report"]));
        rinit.stdout.wait_for("ready");
        for (sig, name) in &forwarded {
            rinit.signal(*sig);
            rinit.stdout.wait_for(&format!("got {name}"));
        }
        // SIGCHLD must not be forwarded. Standard signals are delivered before real-time
        // ones, so had it been forwarded it would be reported before the sentinel.
        rinit.signal(libc::SIGCHLD);
        rinit.signal(rt_min + 1);
        rinit.stdout.wait_for("got SIGRTMIN+1");
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let mut expected: Vec<String> = vec!["ready".into()];
        expected.extend(forwarded.iter().map(|(_, n)| format!("got {n}")));
        expected.extend(["got SIGRTMIN+1".into(), "got SIGTERM".into()]);
        assert_eq!(out.stdout, expected, "{mode:?}");
    }
}

#[test]
fn stray_signals_neither_kill_rinit_nor_reach_the_child() {
    let strays = [
        libc::SIGPIPE,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGURG,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
        libc::SIGSTKFLT,
        libc::SIGSYS,
        libc::SIGBUS,
        libc::SIGTRAP,
        libc::SIGSEGV,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGABRT,
        libc::SIGCHLD,
    ];
    for mode in BOTH_MODES {
        let mut rinit = start(mode, &with_testprog(&[], &["report"]));
        rinit.stdout.wait_for("ready");
        for sig in strays {
            rinit.signal(sig);
        }
        // Twice: a fault-signal handler that merely reset itself would die the second time.
        for sig in strays {
            rinit.signal(sig);
        }
        rinit.signal(libc::SIGUSR1);
        rinit.stdout.wait_for("got SIGUSR1");
        assert!(common::is_alive(rinit.pid), "{mode:?}");
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(
            out.stdout,
            ["ready", "got SIGUSR1", "got SIGTERM"],
            "{mode:?}"
        );
    }
}

#[test]
fn signals_reserved_by_the_c_library_are_forwarded_not_fatal() {
    // 32 and 33 (glibc) and 34 (musl) are hidden by the C libraries' signal-set
    // functions; rinit must still catch them. A child that leaves them at their default
    // action dies of them: proof that rinit forwarded them and survived.
    for mode in BOTH_MODES {
        for sig in [32, 33, 34] {
            let mut rinit = start(mode, &with_testprog(&[], &["sleep"]));
            rinit.stdout.wait_for("ready");
            rinit.signal(sig);
            let out = rinit.finish();
            assert_eq!(out.code, 128 + sig, "{mode:?} signal {sig}: {out:?}");
        }
    }
}

#[test]
fn signals_go_to_the_whole_group_by_default() {
    let mut rinit = start(Mode::Pid1, &with_testprog(&[], &["tree"]));
    rinit.stdout.wait_for("ready");
    rinit.signal(libc::SIGUSR1);
    rinit.stdout.wait_for("grandchild got SIGUSR1");
    rinit.signal(libc::SIGTERM);
    assert_eq!(rinit.finish().code, 0);
}

#[test]
fn single_child_flag_signals_only_the_child() {
    let mut rinit = start(Mode::Pid1, &with_testprog(&["--single-child"], &["tree"]));
    rinit.stdout.wait_for("ready");
    rinit.signal(libc::SIGUSR1);
    rinit.stdout.wait_for("parent got SIGUSR1");
    // The grandchild's first signal is the parent's SIGUSR2, not rinit's SIGUSR1.
    rinit.stdout.wait_for("grandchild got SIGUSR2");
    rinit.signal(libc::SIGTERM);
    assert_eq!(rinit.finish().code, 0);
}

#[test]
fn a_child_that_leaves_its_process_group_still_gets_signals() {
    let mut rinit = start(Mode::Pid1, &with_testprog(&[], &["leave-group"]));
    rinit.stdout.wait_for("ready");
    rinit.signal(libc::SIGUSR1);
    rinit.stdout.wait_for("got SIGUSR1");
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_eq!(out.code, 0, "{out:?}");
    // The forked holder of the new group is a leftover.
    assert_eq!(
        out.stderr,
        ["rinit: main process exited; sent SIGTERM to 1 leftover process(es)"]
    );
}

/// Before exec: ignore SIGINT and SIGQUIT, block SIGUSR1 and SIGTERM, as a careless parent
/// of rinit might. rinit must not pass any of that on.
fn inherit_odd_signal_state() -> std::io::Result<()> {
    // SAFETY: async-signal-safe calls between fork and exec.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    Ok(())
}

#[test]
fn child_starts_with_empty_mask_default_dispositions_and_its_own_group() {
    for mode in BOTH_MODES {
        let launch = || common::Launch {
            pre_exec: Some(inherit_odd_signal_state),
            ..Default::default()
        };
        // grep is C and leaves signals alone, so it shows exactly what rinit passed on.
        let grep = args(&["--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]);
        let out = common::start_with(mode, &grep, launch()).finish();
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            out.stdout,
            ["SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000"],
            "{mode:?}"
        );
        let out = common::start_with(mode, &with_testprog(&[], &["sigstate"]), launch()).finish();
        assert_eq!(
            out.stdout,
            ["SigBlk: 0000000000000000", "own-group: true"],
            "{mode:?}"
        );
    }
}

#[test]
fn rinit_itself_handles_inherited_blocked_and_ignored_signals() {
    let launch = common::Launch {
        pre_exec: Some(inherit_odd_signal_state),
        ..Default::default()
    };
    let mut rinit = common::start_with(Mode::Subreaper, &with_testprog(&[], &["report"]), launch);
    rinit.stdout.wait_for("ready");
    rinit.signal(libc::SIGQUIT); // was ignored
    rinit.stdout.wait_for("got SIGQUIT");
    rinit.signal(libc::SIGUSR1); // was blocked
    rinit.stdout.wait_for("got SIGUSR1");
    rinit.signal(libc::SIGTERM); // was blocked
    rinit.stdout.wait_for("got SIGTERM");
    assert_eq!(rinit.finish().code, 0);
}

fn close_stdin_and_stdout() -> std::io::Result<()> {
    // SAFETY: close is async-signal-safe.
    unsafe {
        libc::close(0);
        libc::close(1);
    }
    Ok(())
}

#[test]
fn closed_standard_fds_are_opened_on_dev_null() {
    // A runtime may start PID 1 with fds closed; the child must not inherit a hole that
    // its first open() would fill.
    let launch = common::Launch {
        pre_exec: Some(close_stdin_and_stdout),
        ..Default::default()
    };
    // (sh execs readlink directly, so $PPID is rinit, whose fds the child inherits.)
    let script = "readlink /proc/$PPID/fd/0 /proc/$PPID/fd/1 >&2";
    let command = args(&["--", "sh", "-c", script]);
    let out = common::start_with(Mode::Subreaper, &command, launch).finish();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, ["/dev/null", "/dev/null"]);
}

#[test]
fn grace_period_then_sigkill() {
    for mode in BOTH_MODES {
        let mut rinit = start(mode, &with_testprog(&["--grace", "1s"], &["ignore-term"]));
        rinit.stdout.wait_for("ready");
        let sent = Instant::now();
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        let took = sent.elapsed();
        assert_eq!(out.code, 137, "{mode:?}: {out:?}");
        assert!(
            took >= Duration::from_secs(1),
            "killed before the grace period: {took:?}"
        );
        assert_eq!(
            out.stderr,
            ["rinit: grace period over: sent SIGKILL to 1 process(es)"]
        );
    }
}

#[test]
fn grace_period_from_environment() {
    let launch = common::Launch {
        env: vec![("RINIT_GRACE".into(), "500ms".into())],
        ..Default::default()
    };
    let mut rinit = common::start_with(Mode::Pid1, &with_testprog(&[], &["ignore-term"]), launch);
    rinit.stdout.wait_for("ready");
    let sent = Instant::now();
    rinit.signal(libc::SIGINT);
    assert_eq!(rinit.finish().code, 137);
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

#[test]
fn second_stop_signal_kills_at_once() {
    for (first, second) in [(libc::SIGINT, libc::SIGINT), (libc::SIGTERM, libc::SIGINT)] {
        let mut rinit = start(
            Mode::Pid1,
            &with_testprog(&["-v", "--grace", "60s"], &["ignore-term"]),
        );
        rinit.stdout.wait_for("ready");
        let sent = Instant::now();
        rinit.signal(first);
        rinit.stderr.wait_until(
            |lines| lines.iter().any(|l| l.starts_with("rinit: received SIG")),
            "first signal received",
        );
        rinit.signal(second);
        let out = rinit.finish();
        assert_eq!(out.code, 137, "{out:?}");
        assert!(
            sent.elapsed() < Duration::from_secs(30),
            "waited for the grace period"
        );
        assert!(
            out.stderr
                .iter()
                .any(|l| l.starts_with("rinit: second stop signal: sent SIGKILL"))
        );
    }
}

#[test]
fn leftover_descendants_get_sigterm_and_rinit_keeps_the_main_code() {
    for mode in BOTH_MODES {
        let dir = common::TempDir::new();
        let marker = dir.file("terminated");
        let mut rinit = start(mode, &with_testprog(&[], &["daemon", "trap", &marker, "5"]));
        let out = rinit.finish();
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");
        // Written by the daemon's SIGTERM handler: the kernel's SIGKILL at namespace exit
        // would not have run it.
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap_or_default(),
            "terminated\n"
        );
        assert_eq!(
            out.stderr,
            ["rinit: main process exited; sent SIGTERM to 1 leftover process(es)"]
        );
    }
}

#[test]
fn leftovers_that_ignore_sigterm_are_killed_after_the_grace_period() {
    for mode in BOTH_MODES {
        let started = Instant::now();
        let mut rinit = start(
            mode,
            &with_testprog(&["--grace", "1"], &["daemon", "ignore", "-", "6"]),
        );
        rinit
            .stdout
            .wait_until(|l| l.iter().any(|l| l.starts_with("daemon ")), "daemon pid");
        let out = rinit.finish();
        assert_eq!(out.code, 6, "{mode:?}: {out:?}");
        assert!(started.elapsed() >= Duration::from_secs(1), "{mode:?}");
        assert_eq!(
            out.stderr,
            [
                "rinit: main process exited; sent SIGTERM to 1 leftover process(es)",
                "rinit: grace period over: sent SIGKILL to 1 process(es)"
            ],
            "{mode:?}"
        );
        if mode == Mode::Subreaper {
            let pid: i32 = out.stdout[0]["daemon ".len()..].parse().unwrap();
            assert!(!common::is_alive(pid), "daemon {pid} survived rinit");
        }
    }
}

#[test]
fn a_stopped_child_is_continued_so_it_can_act_on_sigterm() {
    let mut rinit = start(Mode::Pid1, &with_testprog(&["--grace", "60s"], &["report"]));
    rinit.stdout.wait_for("ready");
    let child = common::children_of(rinit.pid)[0];
    // SAFETY: stopping the test's own grandchild.
    unsafe { libc::kill(child, libc::SIGSTOP) };
    let stopped = common::poll_until(|| (common::stat_fields(child)?[0] == "T").then_some(()));
    assert!(stopped.is_some());
    let sent = Instant::now();
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        sent.elapsed() < Duration::from_secs(30),
        "waited for the grace period"
    );
    assert_eq!(out.stdout[1], "got SIGTERM");
}

#[test]
fn stopped_leftovers_are_continued_so_they_can_act_on_sigterm() {
    for mode in BOTH_MODES {
        let dir = common::TempDir::new();
        let marker = dir.file("terminated");
        let script = format!(
            "d=$({} daemon trap {marker} 0); kill -STOP ${{d#daemon }}; exit 5",
            testprog()
        );
        let started = Instant::now();
        let out = run(mode, &args(&["--grace", "60s", "--", "sh", "-c", &script]));
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited for the grace period"
        );
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap_or_default(),
            "terminated\n"
        );
    }
}

#[test]
fn without_a_usable_proc_leftovers_in_the_main_group_are_still_stopped() {
    // A mount namespace whose /proc is gone: rinit cannot list its descendants.
    let launch = common::Launch {
        wrapper: args(&[
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "umount -l /proc && exec \"$0\" \"$@\"",
        ]),
        ..Default::default()
    };
    let started = Instant::now();
    let command = args(&["--grace", "60s", "--", "sh", "-c", "sleep 1000 & exit 3"]);
    let out = common::start_with(Mode::Subreaper, &command, launch).finish();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "waited for the grace period"
    );
    assert!(
        out.stderr[0].starts_with("rinit: cannot find leftover processes"),
        "{out:?}"
    );
}

#[test]
fn as_subreaper_orphans_are_adopted_and_strangers_are_never_signalled() {
    // A process outside rinit's tree, started by the test itself.
    let mut stranger = std::process::Command::new(testprog())
        .arg("sleep")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut rinit = start(
        Mode::Subreaper,
        &with_testprog(&["--grace", "300ms"], &["daemon", "ignore", "-", "0"]),
    );
    rinit
        .stdout
        .wait_until(|l| l.iter().any(|l| l.starts_with("daemon ")), "daemon pid");
    let line = rinit.stdout.all()[0].clone();
    let daemon: i32 = line["daemon ".len()..].parse().unwrap();
    let parent = common::poll_until(|| {
        let fields = common::stat_fields(daemon)?;
        (fields[1] == rinit.pid.to_string()).then_some(())
    });
    assert!(
        parent.is_some(),
        "the orphaned daemon was not re-parented to rinit"
    );
    assert_eq!(rinit.finish().code, 0);
    assert!(!common::is_alive(daemon));
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "rinit signalled a process outside its tree"
    );
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

#[test]
fn idle_rinit_makes_no_wakeups() {
    for mode in BOTH_MODES {
        let mut rinit = start(mode, &with_testprog(&[], &["sleep"]));
        rinit.stdout.wait_for("ready");
        rinit.wait_until_idle();
        let before = common::context_switches(rinit.pid);
        // A measurement window, not synchronisation: tini would wake once a second here.
        std::thread::sleep(Duration::from_millis(2500));
        let after = common::context_switches(rinit.pid);
        assert_eq!(
            after,
            before,
            "{mode:?}: rinit woke up {} times while idle",
            after - before
        );
        rinit.signal(libc::SIGTERM);
        assert_eq!(rinit.finish().code, 143);
    }
}
