//! The control socket and the HTTP endpoints, served from the reactor: non-blocking
//! listeners and connections with bounded buffers, a bounded number of connections and
//! one deadline per connection. A client that sends nothing, or reads nothing, costs a
//! slot until its deadline, never the reactor's time.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::control::http::{self, Method, Parsed};
use crate::control::request::{self, MAX_REQUEST, Request};
use crate::log::Sink;
use crate::sys::socket;

/// Where the control socket is unless configured, and where it falls back to.
pub const DEFAULT_SOCKET: &str = "/run/rinit.sock";
pub const FALLBACK_SOCKET: &str = "@rinit";

/// Connections open at once, per listener; a new one beyond this pushes out the oldest
/// that has not finished its request.
const MAX_CONNECTIONS: usize = 16;
/// A whole exchange (request in, response out) must fit in this.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(3);
/// Connections accepted per wake-up, so a flood cannot hold the reactor.
const ACCEPTS_PER_WAKE: usize = 16;

/// What a connection asked for.
pub enum Incoming {
    Control(Result<Request, String>),
    Http {
        method: Method,
        path: String,
    },
    /// An HTTP request refused with this status.
    HttpRefused(u16),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Control,
    Http,
}

struct Listener {
    fd: OwnedFd,
    kind: Kind,
}

struct Connection {
    fd: OwnedFd,
    kind: Kind,
    received: Vec<u8>,
    /// The response, once there is one, and how much of it is written.
    reply: Option<(Vec<u8>, usize)>,
    deadline: Instant,
}

pub struct Server {
    listeners: Vec<Listener>,
    connections: Vec<Connection>,
    /// The socket file to remove at exit.
    socket_file: Option<String>,
    /// The control socket's address, for rinit's first line.
    pub control_address: Option<String>,
    own_uid: u32,
}

impl Server {
    /// Opens the control socket (`socket`: a path, `@name`, or `""` for none; a path
    /// that cannot be bound falls back to [`FALLBACK_SOCKET`]) and the HTTP listener.
    /// Problems are said on `log`, never fatal.
    pub fn open(socket: &str, http: Option<SocketAddr>, log: &dyn Sink) -> Server {
        // SAFETY: geteuid cannot fail.
        let own_uid = unsafe { libc::geteuid() };
        let mut server = Server {
            listeners: Vec::new(),
            connections: Vec::new(),
            socket_file: None,
            control_address: None,
            own_uid,
        };
        if !socket.is_empty() {
            let mut address = socket.to_string();
            let mut bound = socket::listen_unix(&address, 64);
            if let Err(err) = &bound
                && !address.starts_with('@')
            {
                crate::warn!(
                    log,
                    "cannot create the control socket {address}: {err}; using {FALLBACK_SOCKET} instead"
                );
                address = FALLBACK_SOCKET.to_string();
                bound = socket::listen_unix(&address, 64);
            }
            match bound {
                Ok(fd) => {
                    if !address.starts_with('@') {
                        server.socket_file = Some(address.clone());
                    }
                    server.control_address = Some(address);
                    server.listeners.push(Listener {
                        fd,
                        kind: Kind::Control,
                    });
                }
                Err(err) => crate::warn!(
                    log,
                    "cannot create the control socket {address}: {err}; `rinit status` will not reach this rinit"
                ),
            }
        }
        if let Some(addr) = http {
            match socket::listen_tcp(addr, 64) {
                Ok(fd) => server.listeners.push(Listener {
                    fd,
                    kind: Kind::Http,
                }),
                Err(err) => crate::warn!(log, "cannot listen for HTTP on {addr}: {err}"),
            }
        }
        server
    }

    /// Listeners and connections still reading.
    pub fn watch(&self, fds: &mut Vec<RawFd>) {
        fds.extend(self.listeners.iter().map(|l| l.fd.as_raw_fd()));
        let reading = self.connections.iter().filter(|c| c.reply.is_none());
        fds.extend(reading.map(|c| c.fd.as_raw_fd()));
    }

    /// Connections with a response still to write.
    pub fn watch_writable(&self, fds: &mut Vec<RawFd>) {
        let writing = self.connections.iter().filter(|c| c.reply.is_some());
        fds.extend(writing.map(|c| c.fd.as_raw_fd()));
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.connections.iter().map(|c| c.deadline).min()
    }

    pub fn owns(&self, fd: RawFd) -> bool {
        self.listeners.iter().any(|l| l.fd.as_raw_fd() == fd)
            || self.connections.iter().any(|c| c.fd.as_raw_fd() == fd)
    }

    /// A watched fd of ours is ready: accepts, reads, or writes. Returns a complete
    /// request and its connection's token for [`Server::reply`].
    pub fn on_ready(
        &mut self,
        fd: RawFd,
        now: Instant,
        log: &dyn Sink,
    ) -> Option<(RawFd, Incoming)> {
        if let Some(listener) = self.listeners.iter().position(|l| l.fd.as_raw_fd() == fd) {
            self.accept(listener, now, log);
            return None;
        }
        let at = self
            .connections
            .iter()
            .position(|c| c.fd.as_raw_fd() == fd)?;
        if self.connections[at].reply.is_some() {
            self.write(at);
            return None;
        }
        self.read(at)
    }

    fn accept(&mut self, listener: usize, now: Instant, log: &dyn Sink) {
        let kind = self.listeners[listener].kind;
        for _ in 0..ACCEPTS_PER_WAKE {
            let fd = match socket::accept(self.listeners[listener].fd.as_raw_fd()) {
                Ok(Some(fd)) => fd,
                Ok(None) => return,
                Err(err) => {
                    // EMFILE and the like: the pending connection stays queued and is
                    // retried at the next wake-up.
                    crate::warn!(log, "cannot accept a connection: {err}");
                    return;
                }
            };
            if kind == Kind::Control {
                // Only root and rinit's own user may control it (this is also all that
                // guards an abstract socket, which has no file mode).
                let uid = socket::peer_uid(fd.as_raw_fd());
                if !uid.is_ok_and(|uid| uid == 0 || uid == self.own_uid) {
                    let refusal = request::response(4, "rinit: permission denied\n");
                    let _ = socket::write_some(fd.as_raw_fd(), &refusal);
                    continue;
                }
            }
            let open = self.connections.iter().filter(|c| c.kind == kind);
            if open.count() >= MAX_CONNECTIONS {
                // The oldest of those still sending their request makes room; if all
                // are being answered, the new one waits for none of them.
                let oldest = self
                    .connections
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.kind == kind && c.reply.is_none())
                    .min_by_key(|(_, c)| c.deadline)
                    .map(|(i, _)| i);
                match oldest {
                    Some(at) => drop(self.connections.remove(at)),
                    None => continue,
                }
            }
            self.connections.push(Connection {
                fd,
                kind,
                received: Vec::new(),
                reply: None,
                deadline: now + EXCHANGE_DEADLINE,
            });
        }
    }

    fn read(&mut self, at: usize) -> Option<(RawFd, Incoming)> {
        let connection = &mut self.connections[at];
        let limit = match connection.kind {
            Kind::Control => MAX_REQUEST + 1,
            Kind::Http => http::MAX_HEAD + 1,
        };
        let mut buf = [0u8; 2048];
        let mut ended = false;
        while connection.received.len() < limit {
            let room = (limit - connection.received.len()).min(buf.len());
            match socket::read_some(connection.fd.as_raw_fd(), &mut buf[..room]) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => connection.received.extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    ended = true;
                    break;
                }
            }
        }
        let token = connection.fd.as_raw_fd();
        let incoming = match connection.kind {
            Kind::Control => {
                let received = &connection.received;
                match received.iter().position(|&b| b == b'\n') {
                    Some(end) => Some(Incoming::Control(request::parse(&received[..end]))),
                    None if received.len() > MAX_REQUEST => Some(Incoming::Control(Err(format!(
                        "a request over {MAX_REQUEST} bytes"
                    )))),
                    // A request without its newline at the end of the stream counts.
                    None if ended && !received.is_empty() => {
                        Some(Incoming::Control(request::parse(received)))
                    }
                    None => None,
                }
            }
            Kind::Http => match http::parse_head(&connection.received) {
                Parsed::Incomplete => None,
                Parsed::Request { method, path } => Some(Incoming::Http {
                    method,
                    path: path.to_string(),
                }),
                Parsed::Refuse(status) => Some(Incoming::HttpRefused(status)),
            },
        };
        if incoming.is_none() && ended {
            self.connections.remove(at);
        }
        incoming.map(|incoming| (token, incoming))
    }

    /// The response to the request of connection `token`: written now as far as the
    /// socket takes it, the rest when it is writable again.
    pub fn reply(&mut self, token: RawFd, bytes: Vec<u8>) {
        if let Some(at) = self
            .connections
            .iter()
            .position(|c| c.fd.as_raw_fd() == token)
        {
            self.connections[at].reply = Some((bytes, 0));
            self.write(at);
        }
    }

    fn write(&mut self, at: usize) {
        let connection = &mut self.connections[at];
        let Some((bytes, written)) = &mut connection.reply else {
            return;
        };
        while *written < bytes.len() {
            match socket::write_some(connection.fd.as_raw_fd(), &bytes[*written..]) {
                Ok(0) => return, // full: the rest when it is writable
                Ok(n) => *written += n,
                Err(_) => break, // the client went away
            }
        }
        let connection = self.connections.remove(at);
        close_gently(&connection.fd);
    }

    /// Drops every connection whose deadline has passed.
    pub fn expire(&mut self, now: Instant) {
        self.connections.retain(|c| c.deadline > now);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(path) = &self.socket_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Ends our side after a response: what the client sent beyond its request is read
/// away first, or closing with unread data would reset the connection and the client
/// could lose the response.
fn close_gently(fd: &OwnedFd) {
    let mut buf = [0u8; 1024];
    for _ in 0..8 {
        if !matches!(socket::read_some(fd.as_raw_fd(), &mut buf), Ok(n) if n > 0) {
            break;
        }
    }
    // SAFETY: plain shutdown(2) of our socket's sending side.
    unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) };
}
