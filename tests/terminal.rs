//! `docker run -it img rinit -- bash`: rinit as PID 1 on a pseudo-terminal hands the
//! terminal to its child, so Ctrl-C and Ctrl-Z reach the shell's jobs, not rinit, and the
//! shell's exit code comes back out.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct Terminal {
    master: std::fs::File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn type_text(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    fn wait_for_text(&self, want: &str) {
        let found = common::poll_until(|| self.screen().contains(want).then_some(()));
        assert!(
            found.is_some(),
            "never saw {want:?} on the terminal:\n{}",
            self.screen()
        );
    }

    /// Waits until a process running `argv` is the terminal's foreground process group.
    fn wait_for_foreground(&self, argv: &str) -> i32 {
        let cmdline = argv.replace(' ', "\0") + "\0";
        let found = common::poll_until(|| {
            // SAFETY: tcgetpgrp on the master fd we own.
            let foreground = unsafe { libc::tcgetpgrp(self.master.as_raw_fd()) };
            let dir = std::fs::read_dir("/proc").ok()?;
            dir.flatten().find_map(|entry| {
                let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let pgrp: i32 = common::stat_fields(pid)?.get(2)?.parse().ok()?;
                (cmd == cmdline.as_bytes() && pgrp == foreground).then_some(pid)
            })
        });
        found.unwrap_or_else(|| panic!("{argv} never ran in the foreground:\n{}", self.screen()))
    }
}

/// Starts `rinit ARGS` as PID 1 of a PID namespace, in a new session whose controlling
/// terminal is a fresh pty, as a container runtime starts PID 1 with `-t`. stdout and
/// stderr are the pty; stdin too unless `stdin_null` (`docker run -t` without `-i`).
fn start_on_pty(rinit_args: &[&str], stdin_null: bool) -> (Terminal, Tree) {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    for fd in [pty.master.as_raw_fd(), pty.slave.as_raw_fd()] {
        // SAFETY: fcntl on fds we own. Close-on-exec, so rinit, bash and their children
        // hold only the slave copies given as stdio and a hang-up reaches them.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    let slave: OwnedFd = pty.slave;
    let stdin = if stdin_null {
        Stdio::null()
    } else {
        Stdio::from(slave.try_clone().unwrap())
    };
    let mut command = Command::new("unshare");
    command
        .args(common::unshare_args())
        .arg(common::rinit_path())
        .args(rinit_args)
        .env("PS1", "PROMPT$ ")
        .env("TERM", "dumb")
        .stdin(stdin)
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(1, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().expect("start rinit");
    let master = std::fs::File::from(pty.master);
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut reader = master.try_clone().unwrap();
    let sink = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (Terminal { master, screen }, Tree { unshare: child })
}

/// The unshare process; if a test fails midway, SIGKILL to rinit (namespace PID 1)
/// takes the whole namespace down, so nothing is left running.
struct Tree {
    unshare: std::process::Child,
}

impl Tree {
    fn wait(&mut self, term: &Terminal) -> std::process::ExitStatus {
        let deadline = Instant::now() + common::DEADLINE;
        loop {
            if let Some(status) = self.unshare.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "rinit did not exit:\n{}",
                term.screen()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        if self.unshare.try_wait().ok().flatten().is_none() {
            for pid in common::children_of(self.unshare.id() as i32) {
                // SAFETY: killing the rinit this test started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = self.unshare.kill();
            let _ = self.unshare.wait();
        }
    }
}

#[test]
fn shell_gets_the_terminal_with_job_control_and_its_exit_code_comes_back() {
    let (mut term, mut tree) = start_on_pty(&["--", "bash", "--norc", "--noprofile", "-i"], false);
    term.wait_for_text("PROMPT$ ");
    // Ctrl-C interrupts the foreground job; bash and rinit survive.
    term.type_text("sleep 1000\n");
    term.wait_for_foreground("sleep 1000");
    term.type_text("\x03");
    term.type_text("echo alive-$((40+2))\n");
    term.wait_for_text("alive-42");
    // Ctrl-Z stops the foreground job; bash reports it and can resume it with fg.
    term.type_text("sleep 1001\n");
    let sleeper = term.wait_for_foreground("sleep 1001");
    term.type_text("\x1a");
    term.wait_for_text("Stopped");
    assert_eq!(
        common::stat_fields(sleeper).unwrap()[0],
        "T",
        "sleep was not stopped"
    );
    term.type_text("fg\n");
    let resumed = common::poll_until(|| (common::stat_fields(sleeper)?[0] == "S").then_some(()));
    assert!(
        resumed.is_some(),
        "fg did not resume the job:\n{}",
        term.screen()
    );
    term.wait_for_foreground("sleep 1001");
    term.type_text("\x03");
    term.type_text("echo fg-status-$?\n");
    term.wait_for_text("fg-status-130");
    term.type_text("exit 7\n");

    let status = tree.wait(&term);
    let screen = term.screen();
    assert_eq!(status.code(), Some(7), "{screen}");
    assert!(
        !screen.contains("no job control"),
        "bash did not get the terminal:\n{screen}"
    );
    assert!(!screen.contains("rinit:"), "rinit complained:\n{screen}");
}

#[test]
fn terminal_on_stdout_only_is_handed_over_too() {
    // `docker run -t` without `-i`: stdin is not the terminal, stdout is. Configuring it
    // from a background process group would stop the child with SIGTTOU forever.
    let script = "stty -echo <&1 && echo configured-$((6*7))";
    let (term, mut tree) = start_on_pty(&["--", "sh", "-c", script], true);
    term.wait_for_text("configured-42");
    assert_eq!(tree.wait(&term).code(), Some(0), "{}", term.screen());
}
