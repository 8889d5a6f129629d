//! rinit's check keys in a `[program:x]` section, one string each:
//! `rinit_ready=tcp:127.0.0.1:5432`, `rinit_health=http:http://127.0.0.1:8080/healthz`.
//! supervisord ignores keys it does not know, so the same file still runs under it.

use std::time::Duration;

use crate::config::checks::{parse_http_url, parse_socket_addr};
use crate::config::{Probe, ReadyKind, parse_duration};

const READY_KINDS: &str = "started, running, tcp:HOST:PORT, http:URL, exec:COMMAND, \
     notify:systemd, fd:N or log:TEXT";

/// `rinit_ready`: `started`, `running`, or `KIND:VALUE`.
pub(super) fn ready_kind(text: &str) -> Result<ReadyKind, String> {
    let text = text.trim();
    match text {
        "started" => return Ok(ReadyKind::Started),
        "running" => return Ok(ReadyKind::Running),
        _ => {}
    }
    let expected = || format!("expected {READY_KINDS}, found {text:?}");
    let (kind, value) = text.split_once(':').ok_or_else(expected)?;
    match kind {
        "fd" => value
            .parse::<i32>()
            .ok()
            .filter(|fd| (3..1024).contains(fd))
            .map(ReadyKind::Fd)
            .ok_or_else(|| format!("expected fd:N with N from 3 to 1023, found {text:?}")),
        "notify" if value == "systemd" => Ok(ReadyKind::Notify),
        "log" if !value.is_empty() => Ok(ReadyKind::Log(value.to_string())),
        "tcp" | "http" | "exec" => probe(text).map(ReadyKind::Probe),
        _ => Err(expected()),
    }
}

/// `rinit_health`, or a probe kind of `rinit_ready`: `tcp:…`, `http:…`, `exec:…`.
pub(super) fn probe(text: &str) -> Result<Probe, String> {
    let text = text.trim();
    let expected = || format!("expected tcp:HOST:PORT, http:URL or exec:COMMAND, found {text:?}");
    let (kind, value) = text.split_once(':').ok_or_else(expected)?;
    match kind {
        "tcp" => parse_socket_addr(value).map(Probe::Tcp),
        "http" => parse_http_url(value).map(Probe::Http),
        "exec" => match shlex::split(value) {
            Some(argv) if argv.first().is_some_and(|p| !p.is_empty()) => Ok(Probe::Exec(argv)),
            _ => Err(format!(
                "expected exec:COMMAND, a command with balanced quotes, found {text:?}"
            )),
        },
        _ => Err(expected()),
    }
}

/// A check's interval, timeout or `within`: above zero.
pub(super) fn duration(text: &str) -> Result<Duration, String> {
    match parse_duration("duration", text)? {
        d if d.is_zero() => Err(format!("expected a duration above zero, found {text:?}")),
        d => Ok(d),
    }
}

/// `rinit_health_failures`: 1 to 1000.
pub(super) fn failures(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| format!("expected a number of failures from 1 to 1000, found {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ready_kind_has_a_one_string_spelling() {
        assert_eq!(ready_kind("started"), Ok(ReadyKind::Started));
        assert_eq!(ready_kind(" running "), Ok(ReadyKind::Running));
        assert_eq!(ready_kind("notify:systemd"), Ok(ReadyKind::Notify));
        assert_eq!(ready_kind("fd:3"), Ok(ReadyKind::Fd(3)));
        assert_eq!(
            ready_kind("log:ready to accept connections"),
            Ok(ReadyKind::Log("ready to accept connections".into()))
        );
        assert_eq!(
            ready_kind("tcp:127.0.0.1:5432"),
            Ok(ReadyKind::Probe(Probe::Tcp(([127, 0, 0, 1], 5432).into())))
        );
        assert_eq!(
            ready_kind("exec:pg_isready -q"),
            Ok(ReadyKind::Probe(Probe::Exec(vec![
                "pg_isready".into(),
                "-q".into()
            ])))
        );
        assert!(matches!(
            ready_kind("http:http://127.0.0.1:8080/healthz"),
            Ok(ReadyKind::Probe(Probe::Http(_)))
        ));
        for bad in [
            "",
            "tcp",
            "fd:2",
            "fd:x",
            "log:",
            "notify:s6",
            "exec:",
            "exec:'x",
            "udp:1",
        ] {
            assert!(ready_kind(bad).is_err(), "{bad}");
        }
        assert!(probe("started").is_err());
        assert_eq!(
            duration("0").unwrap_err(),
            "expected a duration above zero, found \"0\""
        );
        assert_eq!(failures("3"), Ok(3));
        assert!(failures("0").is_err());
    }
}
