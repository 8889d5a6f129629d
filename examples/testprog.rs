//! A small program with predictable behaviour, used by rinit's tests and benchmarks
//! as the command rinit supervises. Statically linked with the musl target, it also runs
//! inside the minimal busybox container of the OCI tests.
//!
//! Every mode that keeps running prints `ready` once it is set up, so tests can wait
//! for a condition instead of sleeping.

use std::io::{Read, Write};

use libc::c_int;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let num = |i: usize| arg(i).parse::<i32>().unwrap_or_else(|_| usage());
    match arg(0) {
        "exit" => std::process::exit(num(1)),
        "kill-self" => kill_self(num(1)),
        "sleep" => {
            say("ready");
            pause_forever()
        }
        "ignore-term" => {
            unsafe {
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
                libc::signal(libc::SIGINT, libc::SIG_IGN);
            }
            say("ready");
            pause_forever()
        }
        "report" => report(),
        "leave-group" => {
            leave_group();
            report()
        }
        "sigstate" => sigstate(),
        "orphans" => orphans(num(1)),
        "daemon" => daemon(arg(1), arg(2), num(3)),
        "tree" => tree(),
        "listen" => listen(arg(1), num(2)),
        "http" => http(arg(1), arg(2)),
        "notify" => notify(num(1), &args[2..]),
        "fd-ready" => {
            std::thread::sleep(std::time::Duration::from_millis(num(2) as u64));
            let fd = num(1);
            // SAFETY: a plain write of a newline to an fd the test says is open.
            let written = unsafe { libc::write(fd, b"\n".as_ptr().cast(), 1) };
            say(if written == 1 {
                "notified"
            } else {
                "fd not open"
            });
            pause_forever()
        }
        "say-after" => {
            std::thread::sleep(std::time::Duration::from_millis(num(1) as u64));
            say(arg(2));
            pause_forever()
        }
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: testprog exit N | kill-self SIG | sleep | ignore-term | report | sigstate |\n\
         \x20      leave-group | orphans N | daemon ignore|trap FILE CODE | tree |\n\
         \x20      listen ADDR DELAY_MS | http ADDR FLAGFILE | say-after DELAY_MS TEXT |\n\
         \x20      notify DELAY_MS DATAGRAM... | fd-ready FD DELAY_MS"
    );
    std::process::exit(2)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn pause_forever() -> ! {
    loop {
        unsafe { libc::pause() };
    }
}

fn kill_self(sig: c_int) -> ! {
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    std::process::exit(99)
}

fn name(sig: c_int) -> String {
    signal_hook::low_level::signal_name(sig)
        .map(str::to_string)
        // Real-time signals named from 34, as the kernel, glibc and Docker number them.
        .unwrap_or_else(|| match sig {
            34.. => format!("SIGRTMIN+{}", sig - 34),
            _ => format!("signal {sig}"),
        })
}

/// Blocks every signal, 32..=34 included: the raw syscall, because the C libraries'
/// signal-set functions hide the real-time signals they reserve.
fn block_all() -> u64 {
    let all: u64 = !0;
    let size = std::mem::size_of::<u64>();
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            &all,
            std::ptr::null_mut::<u64>(),
            size,
        )
    };
    all
}

fn next_signal(set: &u64) -> c_int {
    let size = std::mem::size_of::<u64>();
    loop {
        let null = std::ptr::null_mut::<libc::c_void>();
        let sig = unsafe { libc::syscall(libc::SYS_rt_sigtimedwait, set, null, null, size) };
        if sig > 0 {
            return sig as c_int;
        }
    }
}

/// Prints `got SIGX` for every signal received; exits 0 after SIGTERM.
fn report() -> ! {
    let set = block_all();
    say("ready");
    loop {
        let sig = next_signal(&set);
        say(&format!("got {}", name(sig)));
        if sig == libc::SIGTERM {
            std::process::exit(0);
        }
    }
}

/// Moves this process out of the process group rinit made for it: into the group of a
/// child it forks, so the original group no longer exists. (Then `report`.)
fn leave_group() {
    let child = unsafe { libc::fork() };
    if child == 0 {
        unsafe { libc::setpgid(0, 0) };
        pause_forever();
    }
    unsafe { libc::setpgid(child, child) };
    if unsafe { libc::setpgid(0, child) } != 0 {
        eprintln!("testprog: setpgid: {}", std::io::Error::last_os_error());
        std::process::exit(1);
    }
}

/// The signal mask and process group rinit gives its child. (Ignored signals cannot be
/// checked here: the Rust runtime ignores SIGPIPE before main. Tests use grep for that.)
fn sigstate() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines().filter(|line| line.starts_with("SigBlk:")) {
        say(&line.replace('\t', " "));
    }
    let (pid, pgid) = unsafe { (libc::getpid(), libc::getpgrp()) };
    say(&format!("own-group: {}", pid == pgid));
}

/// Creates `count` orphans: each forked child forks a grandchild and exits at once, so the
/// grandchild is re-parented to the init and exits immediately after.
fn orphans(count: i32) -> ! {
    for _ in 0..count {
        match unsafe { libc::fork() } {
            0 => {
                unsafe { libc::fork() };
                unsafe { libc::_exit(0) };
            }
            pid if pid > 0 => unsafe {
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            },
            _ => {
                eprintln!("testprog: fork failed");
                std::process::exit(1)
            }
        }
    }
    say("orphans done");
    pause_forever()
}

/// Starts a daemon (setsid, re-parented to the init) that ignores SIGTERM (`ignore`) or
/// writes `terminated` to FILE on SIGTERM (`trap`), prints `daemon PID`, exits CODE.
fn daemon(kind: &str, file: &str, code: i32) -> ! {
    let mut fds = [0; 2];
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    let intermediate = unsafe { libc::fork() };
    if intermediate == 0 {
        unsafe { libc::setsid() };
        if unsafe { libc::fork() } != 0 {
            unsafe { libc::_exit(0) };
        }
        let set = block_all();
        if kind == "ignore" {
            unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
        }
        let pid = unsafe { libc::getpid() }.to_string();
        unsafe { libc::write(fds[1], pid.as_ptr().cast(), pid.len()) };
        unsafe { libc::close(fds[1]) };
        // A daemon lets go of its caller's stdio (so `$(testprog daemon ...)` returns).
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        for fd in 0..=2 {
            unsafe { libc::dup2(null, fd) };
        }
        loop {
            if next_signal(&set) == libc::SIGTERM && kind == "trap" {
                let _ = std::fs::write(file, "terminated\n");
                std::process::exit(0);
            }
        }
    }
    unsafe { libc::close(fds[1]) };
    unsafe { libc::waitpid(intermediate, std::ptr::null_mut(), 0) };
    let mut pid = String::new();
    let mut pipe = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
    let _ = pipe.read_to_string(&mut pid);
    say(&format!("daemon {pid}"));
    std::process::exit(code)
}

/// A parent and a grandchild in the same process group. On SIGUSR1 the parent prints
/// `parent got SIGUSR1` and sends SIGUSR2 to the grandchild, which prints the first
/// signal it received: SIGUSR1 if the group was signalled, SIGUSR2 if only the parent was.
fn tree() -> ! {
    let set = block_all();
    let grandchild = unsafe { libc::fork() };
    if grandchild == 0 {
        let sig = next_signal(&set);
        say(&format!("grandchild got {}", name(sig)));
        std::process::exit(0);
    }
    say("ready");
    loop {
        match next_signal(&set) {
            libc::SIGUSR1 => {
                say("parent got SIGUSR1");
                unsafe { libc::kill(grandchild, libc::SIGUSR2) };
            }
            libc::SIGTERM => {
                unsafe { libc::kill(grandchild, libc::SIGKILL) };
                std::process::exit(0);
            }
            _ => {}
        }
    }
}

/// Sleeps DELAY_MS, then listens on ADDR (prints `listening`) and accepts connections
/// forever, closing each at once.
fn listen(addr: &str, delay_ms: i32) -> ! {
    std::thread::sleep(std::time::Duration::from_millis(delay_ms as u64));
    let listener = std::net::TcpListener::bind(addr).unwrap_or_else(|err| {
        eprintln!("testprog: cannot listen on {addr}: {err}");
        std::process::exit(1)
    });
    say("listening");
    for stream in listener.incoming() {
        drop(stream);
    }
    pause_forever()
}

/// An HTTP/1.1 server on ADDR (prints `ready` once listening): every request gets
/// `503` while FLAGFILE exists, else `200`; each is logged as `http 200` or `http 503`.
fn http(addr: &str, flag: &str) -> ! {
    let listener = std::net::TcpListener::bind(addr).unwrap_or_else(|err| {
        eprintln!("testprog: cannot listen on {addr}: {err}");
        std::process::exit(1)
    });
    say("ready");
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let (code, text) = if std::path::Path::new(flag).exists() {
            (503, "Service Unavailable")
        } else {
            (200, "OK")
        };
        let body = format!("{code}\n");
        let _ = write!(
            stream,
            "HTTP/1.1 {code} {text}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.flush();
        say(&format!("http {code}"));
    }
    pause_forever()
}

/// sd_notify: after `delay_ms`, each DATAGRAM (with `\n` for newlines) as one datagram
/// to `$NOTIFY_SOCKET`, 50 ms apart; then sleeps.
fn notify(delay_ms: i32, datagrams: &[String]) -> ! {
    std::thread::sleep(std::time::Duration::from_millis(delay_ms as u64));
    let path = std::env::var_os("NOTIFY_SOCKET").unwrap_or_default();
    let socket = std::os::unix::net::UnixDatagram::unbound().expect("a datagram socket");
    for datagram in datagrams {
        let datagram = datagram.replace("\\n", "\n");
        match socket.send_to(datagram.as_bytes(), &path) {
            Ok(_) => say("sent"),
            Err(err) => say(&format!("cannot send: {err}")),
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    pause_forever()
}
