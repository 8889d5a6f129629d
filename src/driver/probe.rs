//! One attempt of a `tcp` or `http` probe, as a non-blocking socket that the reactor
//! drives: PID 1 must never wait in `connect`, `send` or `recv`. Timing (interval,
//! timeout, retries) is not here: the supervisor's check machine decides it, and a timed
//! out attempt is simply dropped, which closes its socket.

use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use libc::{c_int, c_void, socklen_t};

use crate::config::checks::{HttpTarget, Probe};

/// The longest status line read: a health endpoint's is a few dozen bytes, and a bound
/// keeps a misbehaving peer from growing rinit's memory.
const STATUS_LINE_LIMIT: usize = 1024;

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Why, in a few words for the event line: `connection refused`, `HTTP 503`.
    Failed(String),
}

/// One attempt of a tcp or http probe.
#[derive(Debug)]
pub struct Attempt {
    fd: OwnedFd,
    /// The GET to send once connected; `None` for a tcp probe.
    request: Option<Vec<u8>>,
    /// The response so far (http only): `got` bytes of a `STATUS_LINE_LIMIT` buffer.
    buf: Vec<u8>,
    got: usize,
    state: State,
}

#[derive(Debug)]
enum State {
    Connecting,
    /// This many bytes of the request are written.
    Sending(usize),
    Receiving,
    Done(Outcome),
}

impl Attempt {
    /// Starts the attempt: a non-blocking, close-on-exec socket with its connect in
    /// progress. Err for an exec probe (a process, not a socket) or when no socket can be
    /// made; a connect that fails at once (a refusal on loopback can) is an attempt
    /// already decided, see [`Attempt::outcome`].
    pub fn start(probe: &Probe) -> io::Result<Attempt> {
        let (addr, request) = match probe {
            Probe::Tcp(addr) => (*addr, None),
            Probe::Http(target) => (target.addr, Some(request(target))),
            Probe::Exec(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an exec probe runs a command, not a socket",
                ));
            }
        };
        let domain = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain syscall, no pointers.
        let fd = unsafe { libc::socket(domain, flags, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd was just returned by socket() and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let buf = vec![0; request.as_ref().map_or(0, |_| STATUS_LINE_LIMIT)];
        let mut attempt = Attempt {
            fd,
            request,
            buf,
            got: 0,
            state: State::Connecting,
        };
        match connect(attempt.fd.as_raw_fd(), &addr) {
            Ok(()) => attempt.state = attempt.connected(),
            // EINTR: the connect goes on asynchronously, as with EINPROGRESS.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) => {}
            Err(e) => attempt.state = State::Done(Outcome::Failed(reason(&e))),
        }
        Ok(attempt)
    }

    /// The fd to wait on.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Wait for writability (connect in progress, request being written) rather than
    /// readability (response being read).
    pub fn wants_write(&self) -> bool {
        matches!(self.state, State::Connecting | State::Sending(_))
    }

    /// The outcome if the attempt is decided (at [`Attempt::start`], for an immediate
    /// refusal, or by an earlier [`Attempt::advance`]).
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.state {
            State::Done(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// The fd is ready (or in error, or hung up): goes as far as it can without blocking.
    /// `Some` once decided, and again on every later call; `None` means wait again.
    pub fn advance(&mut self) -> Option<Outcome> {
        loop {
            let next = match &self.state {
                State::Done(outcome) => return Some(outcome.clone()),
                State::Connecting => match self.connect_result() {
                    Ok(true) => self.connected(),
                    Ok(false) => return None,
                    Err(e) => State::Done(Outcome::Failed(reason(&e))),
                },
                State::Sending(sent) => match self.send_from(*sent) {
                    Ok(Some(sent)) => State::Sending(sent),
                    Ok(None) => State::Receiving,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                    Err(e) => State::Done(Outcome::Failed(reason(&e))),
                },
                State::Receiving => match self.receive() {
                    Ok(Some(outcome)) => State::Done(outcome),
                    Ok(None) => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                    Err(e) => State::Done(Outcome::Failed(reason(&e))),
                },
            };
            self.state = next;
        }
    }

    /// What follows a completed connect: a tcp probe has passed, an http one sends.
    fn connected(&self) -> State {
        match self.request {
            None => State::Done(Outcome::Passed),
            Some(_) => State::Sending(0),
        }
    }

    /// Whether the connect has completed: its error from `SO_ERROR`, else connected or
    /// still in progress (a wake-up need not mean the connect is over).
    fn connect_result(&self) -> io::Result<bool> {
        let fd = self.fd();
        let mut err: c_int = 0;
        let mut len = size_of::<c_int>() as socklen_t;
        // SAFETY: err and len are live and len holds err's size.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut err as *mut c_int).cast::<c_void>(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
        // SAFETY: an all-zero sockaddr_storage is a valid value.
        let mut peer: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
        // SAFETY: peer and len are live and len holds peer's size.
        let rc = unsafe {
            libc::getpeername(
                fd,
                (&mut peer as *mut libc::sockaddr_storage).cast::<libc::sockaddr>(),
                &mut len,
            )
        };
        if rc == 0 {
            // A connect to a free port of the ephemeral range can meet itself (TCP
            // simultaneous open: the kernel picked that very port as the source). That is
            // no listener: fail, or a probe could pass before the program listens.
            // SAFETY: an all-zero sockaddr_storage is a valid value.
            let mut local: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let mut local_len = size_of::<libc::sockaddr_storage>() as socklen_t;
            // SAFETY: local and local_len are live and local_len holds local's size.
            let named = unsafe {
                libc::getsockname(
                    fd,
                    (&mut local as *mut libc::sockaddr_storage).cast::<libc::sockaddr>(),
                    &mut local_len,
                )
            } == 0;
            let bytes = |a: &libc::sockaddr_storage, n: socklen_t| {
                // SAFETY: the first n bytes of a sockaddr_storage the kernel filled in.
                unsafe {
                    std::slice::from_raw_parts(
                        (a as *const libc::sockaddr_storage).cast::<u8>(),
                        n as usize,
                    )
                }
                .to_vec()
            };
            if named && local_len == len && bytes(&local, local_len) == bytes(&peer, len) {
                return Err(io::Error::from_raw_os_error(libc::ECONNREFUSED));
            }
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOTCONN) => Ok(false),
            _ => Err(e),
        }
    }

    /// Sends the request from `sent` on: `Some(sent)` after a partial write, `None` when
    /// all is written. MSG_NOSIGNAL: a peer that reset must not raise SIGPIPE in PID 1.
    fn send_from(&self, sent: usize) -> io::Result<Option<usize>> {
        let rest = self.request.as_deref().and_then(|r| r.get(sent..));
        let rest = rest.unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        loop {
            // SAFETY: rest is a live slice of rest.len() bytes.
            let n = unsafe {
                libc::send(
                    self.fd(),
                    rest.as_ptr().cast::<c_void>(),
                    rest.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n >= 0 {
                return Ok(Some(sent + n as usize));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Reads once: `Some` when the status line is complete (judged), the peer closed,
    /// or the bound is reached; `None` to read again at once.
    fn receive(&mut self) -> io::Result<Option<Outcome>> {
        // Never empty: a full buffer without a newline has already failed the attempt.
        let room = &mut self.buf[self.got..];
        // SAFETY: room is a live, writable slice of room.len() bytes.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                room.as_mut_ptr().cast::<c_void>(),
                room.len(),
                0,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        if n == 0 {
            let reason = "connection closed before a status line";
            return Ok(Some(Outcome::Failed(reason.into())));
        }
        let before = self.got;
        self.got += n as usize;
        let received = &self.buf[..self.got];
        match received[before..].iter().position(|&b| b == b'\n') {
            Some(at) => Ok(Some(judge(&received[..before + at]))),
            None if self.got == self.buf.len() => {
                Ok(Some(Outcome::Failed("status line too long".into())))
            }
            None => Ok(None),
        }
    }
}

/// The GET for `target`; `Connection: close` so that a server need not keep the
/// connection open for a client that reads no further than the status line.
fn request(target: &HttpTarget) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rinit\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        target.path, target.host
    )
    .into_bytes()
}

/// `HTTP/1.x NNN[ reason]` (without its `\n`): 2xx and 3xx pass.
pub(crate) fn judge(line: &[u8]) -> Outcome {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let parsed = line.strip_prefix(b"HTTP/1.").and_then(|rest| match rest {
        [minor, b' ', a, b, c, tail @ ..]
            if minor.is_ascii_digit()
                && [a, b, c].iter().all(|d| d.is_ascii_digit())
                && tail.first().is_none_or(|&t| t == b' ') =>
        {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    });
    match parsed {
        Some(code) if (200..400).contains(&code) => Outcome::Passed,
        Some(code) => Outcome::Failed(format!("HTTP {code}")),
        None => {
            let excerpt = String::from_utf8_lossy(&line[..line.len().min(40)]);
            Outcome::Failed(format!("not an HTTP status line: {excerpt:?}"))
        }
    }
}

/// `connect(2)` to `addr`, IPv4 or IPv6.
fn connect(fd: RawFd, addr: &SocketAddr) -> io::Result<()> {
    let rc = match addr {
        SocketAddr::V4(v4) => {
            // SAFETY: an all-zero sockaddr_in is a valid value.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = v4.port().to_be();
            sa.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            // SAFETY: sa is a live sockaddr_in and the length is its size.
            unsafe {
                libc::connect(
                    fd,
                    (&sa as *const libc::sockaddr_in).cast::<libc::sockaddr>(),
                    size_of::<libc::sockaddr_in>() as socklen_t,
                )
            }
        }
        SocketAddr::V6(v6) => {
            // SAFETY: an all-zero sockaddr_in6 is a valid value.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = v6.port().to_be();
            sa.sin6_flowinfo = v6.flowinfo();
            sa.sin6_addr.s6_addr = v6.ip().octets();
            sa.sin6_scope_id = v6.scope_id();
            // SAFETY: sa is a live sockaddr_in6 and the length is its size.
            unsafe {
                libc::connect(
                    fd,
                    (&sa as *const libc::sockaddr_in6).cast::<libc::sockaddr>(),
                    size_of::<libc::sockaddr_in6>() as socklen_t,
                )
            }
        }
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The errno text alone, lower case: `connection refused`, not
/// `Connection refused (os error 111)`.
fn reason(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text
        .rsplit_once(" (os error ")
        .map_or(text.as_str(), |(t, _)| t);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => "unknown error".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};

    /// Polls the attempt's fd as it asks and advances it until decided; `pending` runs
    /// after every undecided step. Panics after 5 s rather than hang the suite.
    fn drive_with(attempt: &mut Attempt, mut pending: impl FnMut(&Attempt)) -> Outcome {
        if let Some(outcome) = attempt.outcome() {
            return outcome.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "attempt undecided after 5 s");
            let events = if attempt.wants_write() {
                libc::POLLOUT
            } else {
                libc::POLLIN
            };
            let mut pfd = libc::pollfd {
                fd: attempt.fd(),
                events,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, 5000) as c_int;
            // SAFETY: pfd is a live pollfd, count 1.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                assert_eq!(
                    io::Error::last_os_error().kind(),
                    io::ErrorKind::Interrupted
                );
            }
            if rc > 0 {
                match attempt.advance() {
                    Some(outcome) => return outcome,
                    None => pending(attempt),
                }
            }
        }
    }

    fn drive(attempt: &mut Attempt) -> Outcome {
        drive_with(attempt, |_| {})
    }

    fn http(addr: SocketAddr, host: &str, path: &str) -> Probe {
        Probe::Http(HttpTarget {
            addr,
            host: host.into(),
            path: path.into(),
        })
    }

    fn listener() -> (TcpListener, SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        (listener, addr)
    }

    /// Reads a request up to its blank line (bounded by a read timeout).
    fn read_request(stream: &mut TcpStream) -> String {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // The client sends nothing after the request: its end is the end of the data.
        let mut request = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while !request.ends_with(b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&chunk[..n]),
            }
        }
        String::from_utf8_lossy(&request).into_owned()
    }

    /// One connection: reads the request, writes `response` (errors ignored: the client
    /// closes once it has the status line), returns the request.
    fn serve(response: &[u8]) -> (SocketAddr, JoinHandle<String>) {
        let (listener, addr) = listener();
        let response = response.to_vec();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let request = read_request(&mut stream);
            let _ = stream.write_all(&response);
            request
        });
        (addr, server)
    }

    fn http_outcome(response: &[u8]) -> Outcome {
        let (addr, server) = serve(response);
        let mut attempt = Attempt::start(&http(addr, "localhost", "/")).unwrap();
        let outcome = drive(&mut attempt);
        drop(attempt);
        server.join().unwrap();
        outcome
    }

    #[test]
    fn tcp_passes_when_the_connect_completes() {
        let (listener, addr) = listener();
        let mut attempt = Attempt::start(&Probe::Tcp(addr)).unwrap();
        // SAFETY: fcntl on an fd we own.
        let (fl, fd_fl) = unsafe {
            (
                libc::fcntl(attempt.fd(), libc::F_GETFL),
                libc::fcntl(attempt.fd(), libc::F_GETFD),
            )
        };
        assert_ne!(fl & libc::O_NONBLOCK, 0);
        assert_ne!(fd_fl & libc::FD_CLOEXEC, 0);
        assert_eq!(drive(&mut attempt), Outcome::Passed);
        assert_eq!(
            attempt.advance(),
            Some(Outcome::Passed),
            "decided stays decided"
        );
        // Dropping the attempt closes the socket: the server reads EOF.
        drop(attempt);
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(stream.read(&mut [0u8; 8]).unwrap(), 0);
    }

    #[test]
    fn tcp_fails_on_a_closed_port() {
        let (listener, addr) = listener();
        drop(listener);
        let mut attempt = Attempt::start(&Probe::Tcp(addr)).unwrap();
        match drive(&mut attempt) {
            Outcome::Failed(reason) => assert!(reason.contains("refused"), "{reason}"),
            Outcome::Passed => panic!("passed against a closed port"),
        }
    }

    #[test]
    fn exec_probes_are_not_sockets() {
        assert!(Attempt::start(&Probe::Exec(vec!["true".into()])).is_err());
    }

    #[test]
    fn http_2xx_and_3xx_pass_others_fail() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert_eq!(http_outcome(ok), Outcome::Passed);
        let found = b"HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n";
        assert_eq!(http_outcome(found), Outcome::Passed);
        assert_eq!(http_outcome(b"HTTP/1.0 204\n"), Outcome::Passed);
        let unavailable = b"HTTP/1.1 503 Service Unavailable\r\n\r\n";
        assert_eq!(
            http_outcome(unavailable),
            Outcome::Failed("HTTP 503".into())
        );
        let not_found = b"HTTP/1.1 404 Not Found\r\n\r\n";
        assert_eq!(http_outcome(not_found), Outcome::Failed("HTTP 404".into()));
    }

    #[test]
    fn http_sends_the_host_header_and_the_path() {
        let (addr, server) = serve(b"HTTP/1.1 200 OK\r\n\r\n");
        let probe = http(addr, "app.test:8080", "/healthz?full=1");
        let mut attempt = Attempt::start(&probe).unwrap();
        assert_eq!(drive(&mut attempt), Outcome::Passed);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /healthz?full=1 HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(request.contains("\r\nHost: app.test:8080\r\n"), "{request}");
        assert!(request.contains("\r\nConnection: close\r\n"), "{request}");
    }

    #[test]
    fn http_fails_when_the_server_closes_without_answering() {
        assert_eq!(
            http_outcome(b""),
            Outcome::Failed("connection closed before a status line".into())
        );
        assert_eq!(
            http_outcome(b"HTTP/1.1 200 OK"),
            Outcome::Failed("connection closed before a status line".into())
        );
    }

    #[test]
    fn http_fails_on_a_malformed_status_line() {
        for garbage in [
            &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
            b"HTTP/1.1 abc OK\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/2 200\r\n",
            b"\r\n",
        ] {
            match http_outcome(garbage) {
                Outcome::Failed(reason) => {
                    assert!(reason.starts_with("not an HTTP status line"), "{reason}")
                }
                Outcome::Passed => panic!("passed: {garbage:?}"),
            }
        }
    }

    #[test]
    fn http_status_lines_are_bounded() {
        let mut long = b"HTTP/1.1 200 ".to_vec();
        long.resize(3 * STATUS_LINE_LIMIT, b'x');
        assert_eq!(
            http_outcome(&long),
            Outcome::Failed("status line too long".into())
        );
        // A line that just fits, its \n the last byte of the buffer, passes.
        let mut fits = b"HTTP/1.1 200 ".to_vec();
        fits.resize(STATUS_LINE_LIMIT - 2, b'x');
        fits.extend_from_slice(b"\r\n");
        assert_eq!(http_outcome(&fits), Outcome::Passed);
    }

    #[test]
    fn http_status_line_in_one_byte_writes_passes() {
        let (listener, addr) = listener();
        let (go, wait) = mpsc::channel::<()>();
        let line = b"HTTP/1.1 200 OK\r\n";
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_nodelay(true).unwrap();
            read_request(&mut stream);
            // One byte each time the client has read all there was.
            for byte in line {
                if wait.recv().is_err() {
                    return;
                }
                if stream.write_all(&[*byte]).is_err() {
                    return;
                }
            }
        });
        let mut attempt = Attempt::start(&http(addr, "localhost", "/")).unwrap();
        let mut reads = 0;
        let outcome = drive_with(&mut attempt, |attempt| {
            if !attempt.wants_write() {
                reads += 1;
                let _ = go.send(());
            }
        });
        assert_eq!(outcome, Outcome::Passed);
        assert_eq!(reads, line.len(), "one wait per byte");
        drop(go);
        server.join().unwrap();
    }

    #[test]
    fn http_resumes_a_partial_write() {
        let (listener, addr) = listener();
        let (go, wait) = mpsc::channel::<()>();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // Not a byte read until the client has had to wait to write.
            if wait.recv().is_err() {
                return String::new();
            }
            let request = read_request(&mut stream);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
            request
        });
        let path = format!("/{}", "a".repeat(1 << 20));
        let mut attempt = Attempt::start(&http(addr, "localhost", &path)).unwrap();
        let small: c_int = 4096;
        // SAFETY: small is a live c_int and the length is its size.
        let rc = unsafe {
            libc::setsockopt(
                attempt.fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&small as *const c_int).cast::<c_void>(),
                size_of::<c_int>() as socklen_t,
            )
        };
        assert_eq!(rc, 0);
        let mut write_waits = 0;
        let outcome = drive_with(&mut attempt, |attempt| {
            if attempt.wants_write() {
                write_waits += 1;
                let _ = go.send(());
            }
        });
        assert_eq!(outcome, Outcome::Passed);
        assert!(write_waits > 0);
        drop(go);
        let request = server.join().unwrap();
        assert!(request.starts_with(&format!("GET {path} HTTP/1.1\r\n")));
        assert_eq!(request.len(), request_len(&path));
    }

    fn request_len(path: &str) -> usize {
        let target = HttpTarget {
            addr: SocketAddr::from(([127, 0, 0, 1], 80)),
            host: "localhost".into(),
            path: path.into(),
        };
        request(&target).len()
    }

    #[test]
    fn reasons_are_errno_texts() {
        let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(reason(&refused), "connection refused");
    }
}
