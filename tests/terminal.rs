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

#[test]
fn shell_gets_the_terminal_with_job_control_and_its_exit_code_comes_back() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave: OwnedFd = pty.slave;
    let mut command = Command::new("unshare");
    command
        .args(common::unshare_args())
        .arg(common::rinit_path())
        .args(["--", "bash", "--norc", "--noprofile", "-i"])
        .env("PS1", "PROMPT$ ")
        .env("TERM", "dumb")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe. A new session whose controlling
    // terminal is the pty, as a container runtime gives PID 1 with `-t`.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().expect("start rinit");
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
    let mut term = Terminal { master, screen };

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

    let deadline = Instant::now() + common::DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "rinit did not exit:\n{}",
            term.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let screen = term.screen();
    assert_eq!(status.code(), Some(7), "{screen}");
    assert!(
        !screen.contains("no job control"),
        "bash did not get the terminal:\n{screen}"
    );
    assert!(!screen.contains("rinit:"), "rinit complained:\n{screen}");
}
