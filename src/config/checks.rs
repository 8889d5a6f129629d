//! Readiness and health checks as the Plan holds them: plain data, validated, with
//! defaults applied. Both readers build these; the parsing of addresses and URLs is
//! here so that both accept exactly the same forms.

use std::net::SocketAddr;
use std::time::Duration;

/// When a program counts as ready (`ready = …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadySpec {
    pub kind: ReadyKind,
    /// Between two attempts of a probe.
    pub interval: Duration,
    /// One attempt of a probe, at most.
    pub timeout: Duration,
    /// From the spawn: not ready by then is a failed start.
    pub within: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadyKind {
    /// Spawned (exec succeeded): the default.
    Started,
    /// RUNNING: `startsecs` passed.
    Running,
    /// A probe succeeds.
    Probe(Probe),
    /// `READY=1` on `$NOTIFY_SOCKET` (sd_notify).
    Notify,
    /// A newline written to this fd (s6's notification-fd).
    Fd(i32),
    /// A line of the program's output contains this text.
    Log(String),
}

/// Something rinit tries, with a timeout, to learn whether a program is up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// A TCP connect succeeds.
    Tcp(SocketAddr),
    /// A GET answers 2xx or 3xx.
    Http(HttpTarget),
    /// The command exits 0 (run with the program's user, directory, environment).
    Exec(Vec<String>),
}

/// `http://HOST[:PORT]/PATH`, HOST an IP address or `localhost`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTarget {
    pub addr: SocketAddr,
    /// The `Host` header: HOST[:PORT] as written.
    pub host: String,
    /// Path and query, at least `/`.
    pub path: String,
}

/// A check that keeps running once the program is ready (`health = …`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSpec {
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    /// Failures in a row that make the program unhealthy (and restart it).
    pub failures: u32,
}

pub const READY_INTERVAL: Duration = Duration::from_millis(200);
pub const READY_TIMEOUT: Duration = Duration::from_secs(1);
pub const READY_WITHIN: Duration = Duration::from_secs(60);
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(10);
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);
pub const HEALTH_FAILURES: u32 = 3;

impl Default for ReadySpec {
    fn default() -> Self {
        ReadySpec {
            kind: ReadyKind::Started,
            interval: READY_INTERVAL,
            timeout: READY_TIMEOUT,
            within: READY_WITHIN,
        }
    }
}

impl ReadySpec {
    /// For `rinit check` and event lines: `tcp 127.0.0.1:5432`.
    pub fn describe(&self) -> String {
        match &self.kind {
            ReadyKind::Started => "started".into(),
            ReadyKind::Running => "running".into(),
            ReadyKind::Probe(probe) => probe.describe(),
            ReadyKind::Notify => "notify systemd".into(),
            ReadyKind::Fd(fd) => format!("fd {fd}"),
            ReadyKind::Log(text) => format!("log {text:?}"),
        }
    }
}

impl Probe {
    pub fn describe(&self) -> String {
        match self {
            Probe::Tcp(addr) => format!("tcp {addr}"),
            Probe::Http(target) => format!("http http://{}{}", target.host, target.path),
            Probe::Exec(command) => format!("exec {}", command.join(" ")),
        }
    }
}

/// `HOST:PORT` with HOST an IP address (v6 in brackets) or `localhost`. Names are not
/// resolved: a DNS lookup could block PID 1, and a check of the program's own service
/// is local.
pub fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    let expected = "HOST:PORT, HOST an IP address or localhost (for example 127.0.0.1:5432)";
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    match text.strip_prefix("localhost:").map(str::parse::<u16>) {
        Some(Ok(port)) => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
        _ => Err(format!("expected {expected}, found {text:?}")),
    }
}

/// `http://HOST[:PORT][/PATH]`; no TLS, no user info, no fragment.
pub fn parse_http_url(text: &str) -> Result<HttpTarget, String> {
    let expected = "http://HOST[:PORT]/PATH, HOST an IP address or localhost";
    let fail = || format!("expected {expected}, found {text:?}");
    let rest = text.strip_prefix("http://").ok_or_else(fail)?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') || path.contains('#') {
        return Err(fail());
    }
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(fail());
    }
    // A port is there when the authority ends in :DIGITS outside IPv6 brackets.
    let has_port = authority.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && (!host.contains(':') || host.ends_with(']'))
    });
    let with_port = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = parse_socket_addr(&with_port).map_err(|_| fail())?;
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok(HttpTarget {
        addr,
        host: authority.to_string(),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses_are_ip_literals_or_localhost() {
        let addr = |s: &str| parse_socket_addr(s).map(|a| a.to_string());
        assert_eq!(addr("127.0.0.1:5432").as_deref(), Ok("127.0.0.1:5432"));
        assert_eq!(addr("localhost:80").as_deref(), Ok("127.0.0.1:80"));
        assert_eq!(addr("[::1]:6379").as_deref(), Ok("[::1]:6379"));
        for bad in [
            "",
            "127.0.0.1",
            "db:5432",
            "localhost",
            "localhost:99999",
            ":80",
        ] {
            let err = parse_socket_addr(bad).unwrap_err();
            assert!(err.contains("HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn http_urls_keep_host_header_and_path() {
        let t = parse_http_url("http://127.0.0.1:8080/healthz?full=1").unwrap();
        assert_eq!(t.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.path, "/healthz?full=1");
        let t = parse_http_url("http://localhost").unwrap();
        assert_eq!(
            (
                t.addr.to_string().as_str(),
                t.host.as_str(),
                t.path.as_str()
            ),
            ("127.0.0.1:80", "localhost", "/")
        );
        let t = parse_http_url("http://[::1]:81/x").unwrap();
        assert_eq!(t.addr.to_string(), "[::1]:81");
        let t = parse_http_url("http://[::1]/").unwrap();
        assert_eq!(t.addr.to_string(), "[::1]:80");
        for bad in [
            "https://127.0.0.1/",
            "127.0.0.1:80",
            "http://",
            "http://example.com/",
            "http://u@127.0.0.1/",
            "http://127.0.0.1/a b",
            "http://127.0.0.1/#x",
            "http://127.0.0.1:x/",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
    }
}
