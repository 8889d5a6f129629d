//! Black-box tests of faults rinit must survive while it supervises: running out of
//! file descriptors (EMFILE) and of processes (fork fails with EAGAIN) when a program is
//! restarted, a log file on a full filesystem, and 1,000 programs at once (from a TOML
//! file and from a supervisord file with `numprocs = 1000`). Each test checks that
//! rinit goes on supervising, reports the problem once per occurrence as one of its own
//! lines, recovers when the fault goes away, and leaks nothing (fds, processes).
//! A closed stdout (EPIPE) and a stalled stdout are tested in tests/output.rs.
//!
//! Limits are lowered from the outside, on the running rinit (prlimit), to exactly
//! what it uses right after a program has exited, so that its next restart is the
//! first thing to need more: no timing guesses.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{BOTH_MODES, DEADLINE, Launch, Mode, Rinit, TempDir, poll_until, start_with};

// ------------------------------------------------------------------------------------
// Reading rinit's lines.

/// The text of rinit's own line in the default text format (`rinit | TEXT`, the name
/// padded to the longest program name).
fn own(line: &str) -> Option<&str> {
    line.strip_prefix("rinit")?
        .trim_start_matches(' ')
        .strip_prefix("| ")
}

/// What rinit's own line says about program `name` (`rinit | NAME: TEXT`).
fn about<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    own(line)?.strip_prefix(name)?.strip_prefix(": ")
}

/// rinit's lines about `name`, in order.
fn lines_about<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    lines.iter().filter_map(|l| about(l, name)).collect()
}

/// A line about a failed spawn: not one of the usual events of a start or an exit.
fn is_spawn_failure(text: &str) -> bool {
    text.starts_with("cannot ")
}

/// The pid in `NAME: started (pid N)`.
fn started_pid(text: &str) -> Option<i32> {
    text.strip_prefix("started (pid ")?
        .strip_suffix(')')?
        .parse()
        .ok()
}

fn assert_last_own(lines: &[String], text: &str) {
    assert_eq!(
        lines.last().and_then(|l| own(l)),
        Some(text),
        "last line of stderr: {lines:#?}"
    );
}

/// No panic message, no line of rinit's outside its format.
fn assert_no_panic(lines: &[String]) {
    assert!(
        !lines.iter().any(|l| l.contains("panicked")),
        "rinit panicked: {lines:#?}"
    );
}

// ------------------------------------------------------------------------------------
// Looking at processes.

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The numbers of a process's open fds.
fn open_fds(pid: i32) -> BTreeSet<i32> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/PID/fd")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The soft RLIMIT_NOFILE that leaves the process exactly `slack` more fds: new fds
/// take the lowest free numbers, and fail with EMFILE once none is left below the
/// limit, so the limit is the number of the (`slack` + 1)th free one.
fn fd_limit_leaving(pid: i32, slack: usize) -> u64 {
    let fds = open_fds(pid);
    (0..).filter(|n| !fds.contains(n)).nth(slack).unwrap_or(0) as u64
}

/// Every process below `root`, from one scan of /proc.
fn descendants(root: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        if let Some(ppid) = common::stat_fields(pid).and_then(|f| f[1].parse().ok()) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
        for &child in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            found.push(child);
            stack.push(child);
        }
    }
    found
}

/// Tasks (threads included, zombies too until reaped) of rinit and its descendants:
/// what RLIMIT_NPROC counts for rinit's uid when nothing else runs as that uid.
fn tasks_of_tree(rinit: i32) -> u64 {
    std::iter::once(rinit)
        .chain(descendants(rinit))
        .map(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .map(|d| d.count() as u64)
                .unwrap_or(0)
        })
        .sum()
}

/// The soft limit of `which` ("Max open files", "Max processes") in /proc/PID/limits,
/// which anyone may read; u64::MAX for unlimited.
fn soft_limit(pid: i32, which: &str) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with(which))
        .unwrap_or_else(|| panic!("no {which} in {limits}"));
    match line[which.len()..].split_whitespace().next() {
        Some("unlimited") => u64::MAX,
        Some(n) => n.parse().expect("a limit"),
        None => panic!("no value in {line:?}"),
    }
}

/// Sets the soft RLIMIT_NOFILE of `pid`, keeping its hard limit (raising a hard limit
/// needs CAP_SYS_RESOURCE, which the test may not have, even as root).
fn set_soft_fd_limit(pid: i32, soft: u64) {
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit reads the limits into a live struct.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    let new = libc::rlimit {
        rlim_cur: soft.min(old.rlim_max),
        rlim_max: old.rlim_max,
    };
    // SAFETY: as above, with a live new limit.
    let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_NOFILE, &new, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

// ------------------------------------------------------------------------------------
// Exhausting a resource at a restart.

/// A program that crash-loops quickly (`crash`, restarted every 300 ms, counting as
/// RUNNING at once) beside one that runs for good and reports the signals it gets
/// (`steady`).
const CRASH_AND_STEADY: &str = r#"
[program.crash]
command = ["@CRASH@", "exit", "3"]
startsecs = 0
startretries = 1000
backoff = "300ms"
backoff_max = "300ms"

[program.steady]
command = ["@CRASH@", "report"]
startsecs = 0
"#;

/// Lowers one of rinit's limits so that a restart of `crash` fails. Right after crash
/// has exited (its exit line comes after its pipes are read to their end and closed,
/// and after it is reaped), the limit is set to what rinit uses then (`usage`), so the
/// next spawn is the first thing that needs more. If the measure came too late (the
/// restart was already under way and succeeded), the limit goes back up (`set(None)`)
/// and the next exit is tried. Returns the index in stderr of the failure's line.
fn exhaust_at_a_restart(
    rinit: &Rinit,
    usage: impl Fn() -> u64,
    set: impl Fn(Option<u64>),
) -> usize {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let mark = rinit.stderr.all().len();
        let exited = |l: &[String]| {
            l.iter()
                .skip(mark)
                .position(|l| about(l, "crash").is_some_and(|t| t.starts_with("exited with")))
                .map(|i| mark + i)
        };
        rinit
            .stderr
            .wait_until(|l| exited(l).is_some(), "crash to exit");
        let exit = exited(&rinit.stderr.all()).expect("just seen");
        set(Some(usage()));
        // The next spawn: it fails, or it had begun before the limit was set.
        let outcome = |l: &[String]| {
            l.iter().enumerate().skip(exit + 1).find_map(|(i, l)| {
                let text = about(l, "crash")?;
                (is_spawn_failure(text) || started_pid(text).is_some()).then_some(i)
            })
        };
        rinit
            .stderr
            .wait_until(|l| outcome(l).is_some(), "crash's next spawn");
        let lines = rinit.stderr.all();
        let at = outcome(&lines).expect("just seen");
        if about(&lines[at], "crash").is_some_and(is_spawn_failure) {
            return at;
        }
        set(None);
        assert!(Instant::now() < deadline, "no restart of crash ever failed");
    }
}

/// What both exhaustion tests check once a restart has failed (`failed_at`, the index
/// of its line) and the limit has been raised again by the test: the failure was one
/// line in rinit's format saying `reason`, followed by a failed start's restart line;
/// every later failure too; steady was left alone; crash is started again.
fn assert_failed_start_and_recovery(rinit: &Rinit, failed_at: usize, reason: &str) {
    let lines = rinit.stderr.all();
    let text = about(&lines[failed_at], "crash").unwrap();
    assert!(text.contains(reason), "{text:?} does not say {reason:?}");
    // crash gets started again after the last failure.
    let started_again = |l: &[String]| {
        let crash = lines_about(l, "crash");
        let last_failure = crash.iter().rposition(|t| is_spawn_failure(t));
        last_failure.is_some_and(|f| crash[f..].iter().any(|t| started_pid(t).is_some()))
            && crash.last().is_some_and(|t| t.starts_with("restarting"))
    };
    rinit.stderr.wait_until(
        started_again,
        "crash to be started again, and to exit again",
    );
    let lines = rinit.stderr.all();
    let crash = lines_about(&lines, "crash");
    // One line per failed spawn, each followed by the restart line of a failed start
    // (BACKOFF: "attempt N of 1000"), counted from 1 in a row.
    let failures: Vec<usize> = (0..crash.len())
        .filter(|&i| is_spawn_failure(crash[i]))
        .collect();
    assert!(!failures.is_empty());
    for (n, &i) in failures.iter().enumerate() {
        assert!(crash[i].contains(reason), "{:#?}", crash);
        let want = format!("restarting in 300ms (attempt {} of 1000)", n + 1);
        assert_eq!(crash.get(i + 1), Some(&want.as_str()), "{crash:#?}");
    }
    // Failures in a row: nothing else about crash came between them.
    let (first, last) = (failures[0], *failures.last().unwrap());
    assert_eq!(last - first + 1, failures.len() * 2 - 1, "{crash:#?}");
    // steady was started once and never touched.
    assert_started_once(&lines, "steady");
}

/// rinit's only lines about `name` say it started and is running.
fn assert_started_once(lines: &[String], name: &str) {
    let events = lines_about(lines, name);
    assert!(
        events.len() == 2 && started_pid(events[0]).is_some() && events[1] == "running",
        "{name}: {lines:#?}"
    );
}

/// steady's pid as the test sees it (the host pid, in both modes).
fn steady_pid(rinit: &Rinit) -> i32 {
    poll_until(|| {
        descendants(rinit.pid).into_iter().find(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.ends_with(b"report\0"))
        })
    })
    .expect("steady's process")
}

/// steady still gets the signals rinit forwards, and its output still comes through.
fn assert_steady_forwarded(rinit: &Rinit, sig: i32, name: &str) {
    rinit.signal(sig);
    rinit.stdout.wait_for(&format!("steady | got {name}"));
}

/// Writes the crash/steady configuration, with the test helper at `helper`.
fn crash_config(dir: &TempDir, helper: &str) -> String {
    dir.config(&CRASH_AND_STEADY.replace("@CRASH@", helper))
}

#[test]
fn out_of_fds_a_restart_fails_is_reported_once_retried_and_nothing_leaks() {
    std::thread::scope(|scope| {
        for mode in BOTH_MODES {
            std::thread::Builder::new()
                .name(format!("{mode:?}"))
                .spawn_scoped(scope, move || out_of_fds(mode))
                .unwrap();
        }
    });
}

fn out_of_fds(mode: Mode) {
    let dir = TempDir::new();
    let config = crash_config(&dir, &common::testprog());
    let mut rinit = start_with(mode, &["-c", &config], Launch::default());
    rinit.stdout.wait_for("steady | ready");
    let pid = rinit.pid;
    let original = soft_limit(pid, "Max open files");
    let failed_at = exhaust_at_a_restart(
        &rinit,
        || fd_limit_leaving(pid, 0),
        |soft| set_soft_fd_limit(pid, soft.unwrap_or(original)),
    );
    // While no fd is left, rinit's fds stay as they are: every new one fails.
    let exhausted = open_fds(pid).len();
    let steady = steady_pid(&rinit);
    assert_steady_forwarded(&rinit, libc::SIGUSR1, "SIGUSR1");
    // A spawn needs several fds (two pipes, copies of their write ends, the pipe that
    // reports an exec error): with 1, 2, 3… fds to spare, each restart fails one step
    // later, until one succeeds. No step may leak what the earlier ones got: back
    // between restarts, rinit has the fds it had with none to spare.
    for slack in 1.. {
        assert!(slack < 64, "a spawn never succeeded");
        let mark = rinit.stderr.all().len();
        set_soft_fd_limit(pid, fd_limit_leaving(pid, slack));
        let outcome = |l: &[String]| {
            l[mark..].iter().find_map(|l| {
                let text = about(l, "crash")?;
                (is_spawn_failure(text) || started_pid(text).is_some()).then(|| text.to_string())
            })
        };
        rinit
            .stderr
            .wait_until(|l| outcome(l).is_some(), "crash's next spawn");
        if outcome(&rinit.stderr.all()).is_some_and(|t| started_pid(&t).is_some()) {
            break;
        }
        let settled = poll_until(|| (open_fds(pid).len() == exhausted).then_some(()));
        assert!(
            settled.is_some(),
            "a spawn that failed with {slack} fds to spare leaked: {} fds open, {exhausted} \
             before: {:?}",
            open_fds(pid).len(),
            open_fds(pid)
        );
    }
    set_soft_fd_limit(pid, original);
    assert_failed_start_and_recovery(&rinit, failed_at, "Too many open files");
    assert!(common::is_alive(steady), "steady died");
    assert_eq!(steady_pid(&rinit), steady, "steady was replaced");
    // No fd leaked: between two runs of crash, rinit has the fds it had while every
    // spawn failed (a leak would keep the count above it for good).
    let settled = poll_until(|| (open_fds(pid).len() == exhausted).then_some(()));
    assert!(
        settled.is_some(),
        "rinit keeps {} fds open, {exhausted} before: {:?}",
        open_fds(pid).len(),
        open_fds(pid)
    );
    assert_steady_forwarded(&rinit, libc::SIGUSR2, "SIGUSR2");
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_eq!(out.code, 0, "{out:#?}");
    assert_no_panic(&out.stderr);
    assert_last_own(&out.stderr, "exiting with code 0");
    assert_eq!(
        lines_about(&out.stderr, "steady").last(),
        Some(&"stopped (exit status 0)"),
        "{out:#?}"
    );
}

#[test]
fn out_of_processes_a_restart_fails_is_reported_once_retried_and_nothing_leaks() {
    // RLIMIT_NPROC does not apply to root (uid 0 of the first user namespace) or to
    // CAP_SYS_RESOURCE/CAP_SYS_ADMIN there. As root, rinit runs as an otherwise unused
    // uid (setpriv), and the limit is set by a prlimit of that uid (one process may
    // set another's limits when their uids match). Otherwise rinit runs as root of a
    // user namespace of its own: the kernel counts its processes in that namespace, and
    // the test, owning the namespace, may set the limit directly.
    let dir = TempDir::new();
    let uid = 50000 + std::process::id() % 10000;
    // Its files must be readable by that uid wherever the checkout is: copies here.
    let helper = dir.file("testprog");
    std::fs::copy(common::testprog(), &helper).expect("copy testprog");
    let binary = dir.file("rinit");
    std::fs::copy(common::rinit_path(), &binary).expect("copy rinit");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = crash_config(&dir, &helper);
    let as_uid = [
        "setpriv".to_string(),
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".to_string(),
    ];
    let mut wrapper: Vec<String> = if is_root() {
        as_uid.to_vec()
    } else {
        vec!["unshare".into(), "--user".into(), "--map-root-user".into()]
    };
    // The wrapper ends by exec'ing the copy (the harness's path of rinit becomes $0).
    wrapper.extend(["sh".into(), "-c".into(), format!("exec '{binary}' \"$@\"")]);
    let launch = Launch {
        wrapper,
        ..Default::default()
    };
    let mut rinit = start_with(Mode::Subreaper, &["-c", &config], launch);
    rinit.stdout.wait_for("steady | ready");
    let pid = rinit.pid;
    let original = soft_limit(pid, "Max processes");
    let set = |soft: Option<u64>| {
        let soft = soft.unwrap_or(original);
        let value = if soft == u64::MAX {
            "unlimited".to_string()
        } else {
            soft.to_string()
        };
        // Soft limit only ("N:"): raising the hard one back would need privileges.
        let mut prlimit: Vec<String> = if is_root() { as_uid.to_vec() } else { vec![] };
        prlimit.extend([
            "prlimit".into(),
            format!("--pid={pid}"),
            format!("--nproc={value}:"),
        ]);
        let status = Command::new(&prlimit[0])
            .args(&prlimit[1..])
            .status()
            .expect("prlimit");
        assert!(status.success(), "{prlimit:?} failed");
    };
    let failed_at = exhaust_at_a_restart(&rinit, || tasks_of_tree(pid), set);
    let exhausted = tasks_of_tree(pid);
    let steady = steady_pid(&rinit);
    assert_steady_forwarded(&rinit, libc::SIGUSR1, "SIGUSR1");
    rinit.stderr.wait_until(
        |l| {
            lines_about(l, "crash")
                .iter()
                .filter(|t| is_spawn_failure(t))
                .count()
                >= 2
        },
        "a second failed restart",
    );
    set(None);
    assert_failed_start_and_recovery(&rinit, failed_at, "cannot start a process for");
    assert!(common::is_alive(steady), "steady died");
    // Nothing left over: between two runs of crash, rinit's tree has the tasks it had
    // while every fork failed (its own threads and steady; a zombie would count too).
    let settled = poll_until(|| (tasks_of_tree(pid) == exhausted).then_some(()));
    assert!(
        settled.is_some(),
        "{} tasks, {exhausted} before",
        tasks_of_tree(pid)
    );
    assert_steady_forwarded(&rinit, libc::SIGUSR2, "SIGUSR2");
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_eq!(out.code, 0, "{out:#?}");
    assert_no_panic(&out.stderr);
    assert_last_own(&out.stderr, "exiting with code 0");
}

// ------------------------------------------------------------------------------------
// A log file on a full filesystem.

#[test]
fn a_log_file_on_a_full_filesystem_drops_and_counts_its_output_and_nothing_else() {
    // A 64 KiB tmpfs, mounted in a mount namespace of rinit's own, holds `full`'s
    // stdout_logfile; full writes 30,000 lines (169 KB) there, `other` the same to
    // rinit's stdout.
    let dir = TempDir::new();
    let logs = dir.file("logs");
    std::fs::create_dir(&logs).unwrap();
    let path = format!("{logs}/full.log");
    let config = dir.write(
        "supervisord.conf",
        "[supervisord]
nodaemon = true

[program:full]
command = sh -c 'seq 1 30000; echo done-writing >&2; exec @TP@ sleep'
stdout_logfile = @DIR@/logs/full.log
startsecs = 0

[program:other]
command = sh -c 'seq 1 30000; echo done-writing >&2; exec @TP@ sleep'
startsecs = 0
",
    );
    // Not root: a user namespace of its own lets rinit mount there.
    let mut wrapper = vec!["unshare".to_string()];
    if !is_root() {
        wrapper.extend(["--user".into(), "--map-root-user".into()]);
    }
    let mount = format!("mount -t tmpfs -o size=64k rinit-test '{logs}' && exec \"$0\" \"$@\"");
    wrapper.extend(["--mount".into(), "sh".into(), "-c".into(), mount]);
    let launch = Launch {
        wrapper,
        ..Default::default()
    };
    let mut rinit = start_with(Mode::Subreaper, &["-c", &config], launch);
    let full_report = format!(
        "cannot write to log file {path} (No space left on device (os error 28)); \
         its output is dropped, trying again every 10s"
    );
    rinit.stderr.wait_until(
        |l| {
            l.iter().any(|l| own(l) == Some(full_report.as_str()))
                && l.iter().any(|l| l == "full  | done-writing")
                && l.iter().any(|l| l == "other | done-writing")
        },
        "the report of the full disk, and both programs done writing",
    );
    rinit.stdout.wait_for("other | ready");
    // The file as rinit's mount namespace has it; kept open, it stays readable after
    // rinit (and with it the namespace and the mount) is gone.
    let mut file =
        poll_until(|| std::fs::File::open(format!("/proc/{}/root{path}", rinit.pid)).ok())
            .expect("the log file");
    assert_started_once(&rinit.stderr.all(), "full");
    assert_started_once(&rinit.stderr.all(), "other");
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    assert_eq!(out.code, 0, "{out:#?}");
    assert_no_panic(&out.stderr);
    assert_last_own(&out.stderr, "exiting with code 0");

    // full's stdout: the file holds its first lines, whole; the rest was dropped, and
    // the count of what was dropped is exact.
    let mut expected = String::new();
    for n in 1..=30000 {
        expected.push_str(&format!("{n}\n"));
    }
    expected.push_str("ready\n");
    let mut kept = String::new();
    file.read_to_string(&mut kept).unwrap();
    assert!(
        !kept.is_empty() && kept.len() < 64 * 1024,
        "{} bytes",
        kept.len()
    );
    assert!(
        kept.ends_with('\n'),
        "a torn last line: {:?}",
        &kept[kept.len().saturating_sub(20)..]
    );
    assert!(
        expected.starts_with(&kept),
        "the file is not the start of full's output"
    );
    let (lines, bytes) = (
        expected.lines().count() - kept.lines().count(),
        expected.len() - kept.len(),
    );
    let reports: Vec<&str> = out
        .stderr
        .iter()
        .filter_map(|l| own(l))
        .filter(|t| t.contains(&path))
        .collect();
    assert_eq!(
        reports,
        [
            full_report.clone(),
            format!(
                "log file {path} could not be written: {lines} lines ({bytes} bytes) of output were dropped"
            )
        ],
        "{:#?}",
        out.stderr
    );
    // other's output, to rinit's stdout, is complete and exact; full's is not there.
    let mut want: Vec<String> = (1..=30000).map(|n| format!("other | {n}")).collect();
    want.push("other | ready".into());
    assert_eq!(out.stdout.len(), want.len());
    assert!(
        out.stdout == want,
        "rinit's stdout is not other's output, exactly"
    );
    // Supervision was not disturbed: each program started once and stopped on SIGTERM.
    for name in ["full", "other"] {
        let events = lines_about(&out.stderr, name);
        assert_eq!(events.len(), 4, "{:#?}", out.stderr);
        assert_eq!(
            events[1..],
            [
                "running",
                "stopping with SIGTERM",
                "stopped (signal SIGTERM)"
            ]
        );
    }
}

// ------------------------------------------------------------------------------------
// 1,000 programs.

/// The 1,000-program tests, one at a time: 2,000 processes at once are enough load for
/// a 2-core machine.
static MANY: Mutex<()> = Mutex::new(());

/// A soft limit of 1024 open files, a common default in containers: rinit needs two
/// pipes per program, so it must raise its own limit (and give its children the
/// original back).
fn soft_fd_limit_1024() -> std::io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with a live struct; async-signal-safe.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        limit.rlim_cur = limit.rlim_cur.min(1024);
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Runs 1,000 programs named `names` from `config` in `mode`: all start (and say
/// `ready`), then SIGTERM stops them all within the grace period and rinit exits 0,
/// leaving no process behind.
fn thousand(mode: Mode, dir: &TempDir, config: &str, names: &[String]) {
    let _one_at_a_time = MANY.lock().unwrap_or_else(|p| p.into_inner());
    let launch = Launch {
        pre_exec: Some(soft_fd_limit_1024),
        ..Default::default()
    };
    let mut rinit = start_with(mode, &["-c", config], launch);
    let width = names.iter().map(String::len).max().unwrap();
    rinit
        .stdout
        .wait_until(|l| l.len() >= names.len(), "every program's ready line");
    rinit.stderr.wait_until(
        |l| {
            l.iter()
                .filter(|l| own(l).is_some_and(|t| t.ends_with(": running")))
                .count()
                >= names.len()
        },
        "every program running",
    );
    let family = descendants(rinit.pid);
    let programs: Vec<i32> = with_marker(&dir.path())
        .into_iter()
        .filter(|pid| family.contains(pid))
        .collect();
    assert_eq!(programs.len(), names.len());
    // rinit raised its own fd limit and gave its programs the one it was started with.
    let started_with = soft_limit(std::process::id() as i32, "Max open files").min(1024);
    assert!(
        soft_limit(rinit.pid, "Max open files") > 2 * names.len() as u64,
        "rinit's fd limit was not raised (is the hard limit below 2,000?)"
    );
    for &pid in &programs {
        assert_eq!(soft_limit(pid, "Max open files"), started_with);
    }
    let sent = Instant::now();
    rinit.signal(libc::SIGTERM);
    let out = rinit.finish();
    let took = sent.elapsed();
    assert_eq!(
        out.code,
        0,
        "{:#?}",
        &out.stderr[out.stderr.len().saturating_sub(50)..]
    );
    assert!(
        took < Duration::from_secs(8),
        "stopping took {took:?}, the grace is 8s"
    );
    assert_no_panic(&out.stderr);
    assert_last_own(&out.stderr, "exiting with code 0");
    let mut ready: Vec<&str> = out.stdout.iter().map(String::as_str).collect();
    ready.sort_unstable();
    let mut want: Vec<String> = names
        .iter()
        .map(|n| format!("{n:width$} | ready"))
        .collect();
    want.sort_unstable();
    assert!(ready == want, "not one ready line per program");
    for name in names {
        let events = lines_about(&out.stderr, name);
        assert_eq!(
            events[1..],
            [
                "running",
                "stopping with SIGTERM",
                "stopped (signal SIGTERM)"
            ],
            "{name}: {events:?}"
        );
    }
    assert!(
        !out.stderr.iter().any(|l| l.contains("SIGKILL")),
        "something was SIGKILLed"
    );
    let left = with_marker(&dir.path());
    assert!(left.is_empty(), "programs outlived rinit: {left:?}");
}

/// Live processes with `marker` in their command line.
fn with_marker(marker: &str) -> Vec<i32> {
    let Ok(proc) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    proc.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&pid| common::is_alive(pid))
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect()
}

#[test]
fn a_thousand_programs_from_toml_start_and_stop_in_both_modes() {
    for mode in BOTH_MODES {
        let dir = TempDir::new();
        let names: Vec<String> = (1..=1000).map(|n| format!("p{n:04}")).collect();
        let mut toml = String::new();
        for name in &names {
            toml.push_str(&format!(
                "[program.{name}]\ncommand = ['@TP@', 'sleep', '@DIR@']\n\n"
            ));
        }
        let config = dir.config(&toml);
        thousand(mode, &dir, &config, &names);
    }
}

#[test]
fn a_thousand_processes_from_supervisord_numprocs_start_and_stop_in_both_modes() {
    for mode in BOTH_MODES {
        let dir = TempDir::new();
        let names: Vec<String> = (0..1000).map(|n| format!("w_{n:04}")).collect();
        let config = dir.write(
            "supervisord.conf",
            "[supervisord]
nodaemon = true

[program:w]
command = @TP@ sleep @DIR@
process_name = %(program_name)s_%(process_num)04d
numprocs = 1000
",
        );
        thousand(mode, &dir, &config, &names);
    }
}
