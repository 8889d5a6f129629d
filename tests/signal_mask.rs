//! Every thread of rinit blocks every routed signal, from the first instruction of
//! `main` on, so a process-directed signal can only be read from the signalfd. A thread
//! with an empty mask would take SIGTERM's default action (rinit dies, its programs are
//! orphaned) or, as PID 1, swallow it.

mod common;

use common::TempDir;

/// The mask rinit runs with: every signal 1..=64 but SIGKILL, SIGSTOP (which cannot be
/// blocked) and the fault signals (which the kernel must be able to deliver).
fn expected_mask() -> u64 {
    let unblocked = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
        libc::SIGSYS,
    ];
    (1..=64)
        .filter(|sig| !unblocked.contains(sig))
        .fold(0, |mask, sig| mask | 1u64 << (sig - 1))
}

/// `SigBlk` of each of the process's threads, by thread id.
fn blocked_masks(pid: i32) -> Vec<(String, u64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("task directory");
    tasks
        .filter_map(|task| {
            let task = task.ok()?.file_name().to_string_lossy().into_owned();
            let status = std::fs::read_to_string(format!("/proc/{pid}/task/{task}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("SigBlk:"))?;
            let mask = u64::from_str_radix(line["SigBlk:".len()..].trim(), 16).ok()?;
            Some((task, mask))
        })
        .collect()
}

/// Waits until rinit has at least `threads` threads and every one blocks the full mask.
/// (A thread's first instruction sets its mask: until then, for the few instructions of
/// its start, the C library leaves its own reserved signals 32 and 33 unblocked.)
fn assert_every_thread_blocks(rinit: &common::Rinit, threads: usize, what: &str) {
    let mut last = Vec::new();
    let settled = common::poll_until(|| {
        last = blocked_masks(rinit.pid);
        let full = last.iter().all(|(_, mask)| *mask == expected_mask());
        (last.len() >= threads && full).then_some(())
    });
    assert!(
        settled.is_some(),
        "{what}: expected {threads}+ threads blocking {:016x}, got {:?}",
        expected_mask(),
        last.iter()
            .map(|(task, mask)| format!("{task}: {mask:016x}"))
            .collect::<Vec<_>>()
    );
}

/// A supervisord file with keys rinit does not act on: each one is a warning, printed
/// before supervision starts, which is what used to start an unblocked writer thread.
const WARNING_FILE: &str = "[supervisord]
foo=1
logfile=/tmp/ignored.log

[program:first]
command=@TP@ sleep
startsecs=0
priority=1

[program:second]
command=@TP@ sleep
startsecs=0
priority=2
";

#[test]
fn every_thread_blocks_the_routed_signals_in_supervise_mode_with_warnings() {
    let dir = TempDir::new();
    let conf = dir.write("supervisord.conf", WARNING_FILE);
    for mode in common::BOTH_MODES {
        let mut rinit = common::start(mode, &["-c", &conf]);
        rinit.stderr.wait_for("rinit  | second: running");
        assert!(
            rinit
                .stderr
                .all()
                .iter()
                .any(|l| l.contains("foo: unknown key")),
            "{mode:?}: the file must produce warnings: {:?}",
            rinit.stderr.all()
        );
        // The main thread, the stderr writer and the stdout writer.
        assert_every_thread_blocks(&rinit, 3, &format!("supervise, {mode:?}"));
        rinit.signal(libc::SIGTERM);
        assert_eq!(rinit.finish().code, 0, "{mode:?}");
    }
}

#[test]
fn every_thread_blocks_the_routed_signals_in_single_command_mode() {
    for mode in common::BOTH_MODES {
        // -v: rinit reports the spawn, which starts its stderr writer thread.
        let mut rinit = common::start(mode, &["-v", "--", &common::testprog(), "sleep"]);
        assert_every_thread_blocks(&rinit, 2, &format!("single command, {mode:?}"));
        rinit.signal(libc::SIGTERM);
        assert_eq!(rinit.finish().code, 143, "{mode:?}");
    }
}

#[test]
fn sigterm_stops_a_supervisord_file_with_warnings_gracefully() {
    let dir = TempDir::new();
    let conf = dir.write("supervisord.conf", WARNING_FILE);
    for mode in common::BOTH_MODES {
        let mut rinit = common::start(mode, &["-c", &conf]);
        rinit.stderr.wait_for("rinit  | second: running");
        rinit.signal(libc::SIGTERM);
        let out = rinit.finish();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        // Reverse priority, each stopped by its stopsignal, none killed.
        let stops: Vec<&String> = out
            .stderr
            .iter()
            .filter(|l| l.contains(": stopped (signal SIGTERM)"))
            .collect();
        assert_eq!(
            stops,
            [
                "rinit  | second: stopped (signal SIGTERM)",
                "rinit  | first: stopped (signal SIGTERM)"
            ],
            "{mode:?}: {out:?}"
        );
        assert!(
            !out.stderr.iter().any(|l| l.contains("SIGKILL")),
            "{mode:?}: {out:?}"
        );
    }
}
