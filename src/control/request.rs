//! The control socket's protocol: one request line in, one response out, then the
//! connection closes.
//!
//! ```text
//! request:  VERB [ARG...]\n            (words separated by spaces, at most MAX_REQUEST bytes)
//! response: CODE\n BODY                (CODE: the exit code the client exits with;
//!                                       BODY: what it prints on stdout)
//! ```
//!
//! Verbs: `status [--json|--supervisorctl] [NAME...]`, `ready`, `live`,
//! `is running|ready|stopped [NAME...]` (for `wait`, `start` and `stop`, which poll),
//! `start NAME...`, `stop NAME...`, `signal SIG NAME...`, `pid [NAME...]`, `metrics`.
//! A NAME is `name`, `group:name`, `group:*` or `all`.

use libc::c_int;

use crate::plain::signal;

/// The longest request line rinit reads; a longer one is refused.
pub const MAX_REQUEST: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    Status {
        format: Format,
        names: Vec<String>,
    },
    /// The container's readiness (`status --ready`, `/readyz`).
    Ready,
    /// The container's liveness (`status --live`, `/livez`).
    Live,
    /// Whether the programs named (or every autostart one) are in this condition now.
    Is {
        condition: Condition,
        names: Vec<String>,
    },
    Start(Vec<String>),
    Stop(Vec<String>),
    Signal {
        sig: c_int,
        names: Vec<String>,
    },
    /// rinit's pid without names, else each program's (0: not running).
    Pid(Vec<String>),
    /// The Prometheus text exposition.
    Metrics,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// supervisorctl's columns, with rinit's readiness and health after them.
    Text,
    Json,
    /// supervisorctl's columns exactly.
    Supervisorctl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// RUNNING (a oneshot: finished well). A program that gave up answers FATAL.
    Running,
    Ready,
    /// No process left (STOPPED, EXITED, FATAL).
    Stopped,
}

/// Parses one request line (without its newline). The error is the reply's text.
pub fn parse(line: &[u8]) -> Result<Request, String> {
    let line = std::str::from_utf8(line).map_err(|_| "the request is not UTF-8".to_string())?;
    let mut words = line.split_ascii_whitespace();
    let verb = words.next().ok_or("an empty request")?;
    let rest: Vec<String> = words.map(str::to_string).collect();
    let names = |rest: Vec<String>| -> Result<Vec<String>, String> {
        match rest.iter().find(|w| w.starts_with('-')) {
            Some(flag) => Err(format!("unknown option {flag}")),
            None => Ok(rest),
        }
    };
    let some_names = |verb: &str, rest: Vec<String>| {
        let rest = names(rest)?;
        if rest.is_empty() {
            return Err(format!("{verb} requires a process name"));
        }
        Ok(rest)
    };
    match verb {
        "status" => {
            let mut format = Format::Text;
            let mut names = Vec::new();
            for word in rest {
                match word.as_str() {
                    "--json" => format = Format::Json,
                    "--supervisorctl" => format = Format::Supervisorctl,
                    flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                    _ => names.push(word),
                }
            }
            Ok(Request::Status { format, names })
        }
        "ready" | "live" | "metrics" if !rest.is_empty() => {
            Err(format!("{verb} takes no arguments"))
        }
        "ready" => Ok(Request::Ready),
        "live" => Ok(Request::Live),
        "metrics" => Ok(Request::Metrics),
        "is" => {
            let mut rest = rest.into_iter();
            let condition = match rest.next().as_deref() {
                Some("running") => Condition::Running,
                Some("ready") => Condition::Ready,
                Some("stopped") => Condition::Stopped,
                _ => return Err("is requires running, ready or stopped".into()),
            };
            let names = names(rest.collect())?;
            Ok(Request::Is { condition, names })
        }
        "start" => Ok(Request::Start(some_names(verb, rest)?)),
        "stop" => Ok(Request::Stop(some_names(verb, rest)?)),
        "signal" => {
            let mut rest = rest.into_iter();
            let sig = rest.next();
            let names = names(rest.collect())?;
            let (Some(sig), false) = (sig, names.is_empty()) else {
                return Err("signal requires a signal name and a process name".into());
            };
            let sig = signal::parse(&sig).ok_or_else(|| format!("bad signal name {sig}"))?;
            Ok(Request::Signal { sig, names })
        }
        "pid" => Ok(Request::Pid(names(rest)?)),
        _ => Err(format!("unknown command {verb:?}")),
    }
}

/// The request line for `request` (the client's side of [`parse`]).
pub fn encode(request: &Request) -> String {
    let join = |verb: &str, names: &[String]| {
        let mut line = verb.to_string();
        for name in names {
            line.push(' ');
            line.push_str(name);
        }
        line.push('\n');
        line
    };
    match request {
        Request::Status { format, names } => {
            let verb = match format {
                Format::Text => "status",
                Format::Json => "status --json",
                Format::Supervisorctl => "status --supervisorctl",
            };
            join(verb, names)
        }
        Request::Ready => join("ready", &[]),
        Request::Live => join("live", &[]),
        Request::Metrics => join("metrics", &[]),
        Request::Is { condition, names } => {
            let verb = match condition {
                Condition::Running => "is running",
                Condition::Ready => "is ready",
                Condition::Stopped => "is stopped",
            };
            join(verb, names)
        }
        Request::Start(names) => join("start", names),
        Request::Stop(names) => join("stop", names),
        Request::Signal { sig, names } => join(&format!("signal {sig}"), names),
        Request::Pid(names) => join("pid", names),
    }
}

/// A response: the client's exit code, then what it prints.
pub fn response(code: i32, body: &str) -> Vec<u8> {
    let mut out = format!("{code}\n").into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// The client's reading of a response: (exit code, body). None: not a response.
pub fn parse_response(bytes: &[u8]) -> Option<(i32, &[u8])> {
    let end = bytes.iter().position(|&b| b == b'\n')?;
    let code = std::str::from_utf8(&bytes[..end]).ok()?.parse().ok()?;
    Some((code, &bytes[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_request_round_trips_through_its_line() {
        let requests = [
            Request::Status {
                format: Format::Text,
                names: names(&["web", "db:*"]),
            },
            Request::Status {
                format: Format::Json,
                names: vec![],
            },
            Request::Status {
                format: Format::Supervisorctl,
                names: names(&["all"]),
            },
            Request::Ready,
            Request::Live,
            Request::Metrics,
            Request::Is {
                condition: Condition::Ready,
                names: names(&["web"]),
            },
            Request::Is {
                condition: Condition::Running,
                names: vec![],
            },
            Request::Is {
                condition: Condition::Stopped,
                names: names(&["a", "b"]),
            },
            Request::Start(names(&["web"])),
            Request::Stop(names(&["all"])),
            Request::Signal {
                sig: libc::SIGHUP,
                names: names(&["g:web"]),
            },
            Request::Pid(vec![]),
        ];
        for request in requests {
            let line = encode(&request);
            assert!(line.ends_with('\n') && line.len() < MAX_REQUEST);
            assert_eq!(parse(line.trim_end().as_bytes()), Ok(request), "{line:?}");
        }
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let error = |line: &str| parse(line.as_bytes()).unwrap_err();
        assert_eq!(error(""), "an empty request");
        assert_eq!(error("reread"), "unknown command \"reread\"");
        assert_eq!(error("start"), "start requires a process name");
        assert_eq!(error("stop --all"), "unknown option --all");
        assert_eq!(error("status --yaml"), "unknown option --yaml");
        assert_eq!(
            error("signal HUP"),
            "signal requires a signal name and a process name"
        );
        assert_eq!(error("signal NOPE web"), "bad signal name NOPE");
        assert_eq!(error("ready now"), "ready takes no arguments");
        assert_eq!(error("is up"), "is requires running, ready or stopped");
        assert_eq!(parse(b"\xff"), Err("the request is not UTF-8".into()));
        assert_eq!(
            parse(b"signal term web"),
            Ok(Request::Signal {
                sig: libc::SIGTERM,
                names: names(&["web"])
            })
        );
    }

    #[test]
    fn responses_carry_the_code_first() {
        let bytes = response(3, "web  STOPPED\n");
        assert_eq!(bytes, b"3\nweb  STOPPED\n");
        assert_eq!(parse_response(&bytes), Some((3, &b"web  STOPPED\n"[..])));
        assert_eq!(parse_response(b"0\n"), Some((0, &b""[..])));
        assert_eq!(parse_response(b"x\n"), None);
        assert_eq!(parse_response(b"0"), None);
    }
}
