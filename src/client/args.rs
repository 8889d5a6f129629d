//! The client commands' arguments: `rinit status|start|stop|restart|signal|wait|pid`,
//! and the same binary run as `supervisorctl`.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::parse_duration;
use crate::plain::signal;

/// The verbs that make `rinit VERB ...` a client of a running rinit.
pub const VERBS: &[&str] = &[
    "status", "start", "stop", "restart", "signal", "wait", "pid",
];

/// How long `rinit wait` waits unless `--timeout` says.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientArgs {
    /// `-c FILE`: where to read the control socket's address from.
    pub config: Option<PathBuf>,
    pub action: Action,
    /// Run as `supervisorctl`: its output and exit codes.
    pub supervisorctl: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Status {
        names: Vec<String>,
        view: View,
    },
    Start(Vec<String>),
    Stop(Vec<String>),
    Restart(Vec<String>),
    Signal {
        sig: libc::c_int,
        names: Vec<String>,
    },
    Wait {
        ready: bool,
        names: Vec<String>,
        timeout: Duration,
    },
    Pid(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Text,
    Json,
    /// `--ready`: the container's readiness.
    Ready,
    /// `--live`: the container's liveness.
    Live,
}

/// `rinit VERB ARGS...` (`verb` is one of [`VERBS`]).
pub fn parse(verb: &str, args: Vec<String>) -> Result<ClientArgs, String> {
    let mut config = None;
    let mut view = View::Text;
    let mut ready = false;
    let mut timeout = DEFAULT_WAIT;
    let mut words = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match (verb, arg.as_str()) {
            (_, "-c" | "--config") => {
                config = Some(PathBuf::from(args.next().ok_or("-c needs a file")?));
            }
            ("status", "--json") => view = View::Json,
            ("status", "--ready") => view = View::Ready,
            ("status", "--live") => view = View::Live,
            ("wait", "--ready") => ready = true,
            ("wait", "--timeout") => {
                let value = args.next().ok_or("--timeout needs a duration")?;
                timeout = parse_duration("--timeout", &value)?;
            }
            (_, flag) if flag.starts_with('-') && !is_signal_number(verb, &words, flag) => {
                return Err(format!("{verb}: unknown option '{flag}'"));
            }
            _ => words.push(arg),
        }
    }
    if matches!(view, View::Ready | View::Live) && !words.is_empty() {
        return Err("status --ready and --live take no names".into());
    }
    let action = action(verb, words, view, ready, timeout)?;
    Ok(ClientArgs {
        config,
        action,
        supervisorctl: false,
    })
}

/// `kill -9`-style habits: a signal written `-9` is not an option.
fn is_signal_number(verb: &str, words: &[String], flag: &str) -> bool {
    verb == "signal" && words.is_empty() && flag[1..].parse::<u8>().is_ok()
}

fn action(
    verb: &str,
    words: Vec<String>,
    view: View,
    ready: bool,
    timeout: Duration,
) -> Result<Action, String> {
    let named = |words: Vec<String>| {
        if words.is_empty() {
            Err(format!("{verb} requires a process name (or all)"))
        } else {
            Ok(words)
        }
    };
    Ok(match verb {
        "status" => Action::Status { names: words, view },
        "start" => Action::Start(named(words)?),
        "stop" => Action::Stop(named(words)?),
        "restart" => Action::Restart(named(words)?),
        "signal" => {
            let mut words = words.into_iter();
            let sig = words
                .next()
                .ok_or("signal requires a signal name and a process name")?;
            let number = sig.trim_start_matches('-');
            let sig = signal::parse(number).ok_or(format!("signal: bad signal name {sig}"))?;
            let names: Vec<String> = words.collect();
            if names.is_empty() {
                return Err("signal requires a signal name and a process name".into());
            }
            Action::Signal { sig, names }
        }
        "wait" => Action::Wait {
            ready,
            names: words,
            timeout,
        },
        "pid" => Action::Pid(words),
        _ => return Err(format!("unknown command {verb}")),
    })
}

/// The same binary run as `supervisorctl` (a symlink): `[-c FILE] COMMAND ARGS...`.
/// `-s URL`, `-u USER` and `-p PASSWORD` are accepted and ignored.
pub fn parse_supervisorctl(args: Vec<String>) -> Result<ClientArgs, String> {
    let mut config = None;
    let mut args = args.into_iter();
    let command = loop {
        let Some(arg) = args.next() else {
            return Err(
                "supervisorctl (rinit): the interactive shell is not supported; give a command: status, start, stop, restart, signal or pid"
                    .into(),
            );
        };
        match arg.as_str() {
            "-c" | "--configuration" => {
                config = Some(PathBuf::from(args.next().ok_or("-c needs a file")?));
            }
            "-s" | "--serverurl" | "-u" | "--username" | "-p" | "--password" => {
                args.next();
            }
            _ if arg.starts_with("--configuration=") => {
                config = Some(PathBuf::from(&arg["--configuration=".len()..]));
            }
            _ if arg.starts_with("--serverurl=")
                || arg.starts_with("--username=")
                || arg.starts_with("--password=") => {}
            "-i" | "--interactive" => {
                return Err("supervisorctl (rinit): the interactive shell is not supported".into());
            }
            _ if arg.starts_with('-') => {
                return Err(format!("supervisorctl (rinit): unknown option '{arg}'"));
            }
            _ => break arg,
        }
    };
    let words: Vec<String> = args.collect();
    let action = match command.as_str() {
        "status" | "start" | "stop" | "restart" | "signal" | "pid" => {
            action(&command, words, View::Text, false, DEFAULT_WAIT)?
        }
        other => {
            return Err(format!(
                "supervisorctl (rinit): '{other}' is not supported: rinit reads its configuration once, at start (supported: status, start, stop, restart, signal, pid)"
            ));
        }
    };
    Ok(ClientArgs {
        config,
        action,
        supervisorctl: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn rinit(verb: &str, args: &[&str]) -> Result<Action, String> {
        parse(verb, words(args)).map(|a| a.action)
    }

    #[test]
    fn rinit_commands() {
        assert_eq!(
            rinit("status", &["web", "--json"]),
            Ok(Action::Status {
                names: words(&["web"]),
                view: View::Json
            })
        );
        assert_eq!(
            rinit("status", &["--ready"]),
            Ok(Action::Status {
                names: vec![],
                view: View::Ready
            })
        );
        assert!(rinit("status", &["--live", "web"]).is_err());
        assert_eq!(
            rinit("restart", &["all"]),
            Ok(Action::Restart(words(&["all"])))
        );
        assert_eq!(
            rinit("start", &[]),
            Err("start requires a process name (or all)".into())
        );
        assert_eq!(
            rinit("signal", &["HUP", "g:*"]),
            Ok(Action::Signal {
                sig: libc::SIGHUP,
                names: words(&["g:*"])
            })
        );
        assert_eq!(
            rinit("signal", &["-9", "web"]),
            Ok(Action::Signal {
                sig: libc::SIGKILL,
                names: words(&["web"])
            })
        );
        assert!(rinit("signal", &["NOPE", "web"]).is_err());
        assert!(rinit("signal", &["HUP"]).is_err());
        assert_eq!(
            rinit("wait", &["--ready", "db", "--timeout", "5s"]),
            Ok(Action::Wait {
                ready: true,
                names: words(&["db"]),
                timeout: Duration::from_secs(5)
            })
        );
        assert_eq!(
            rinit("stop", &["--force", "web"]),
            Err("stop: unknown option '--force'".into())
        );
        let with_config = parse("status", words(&["-c", "/etc/x.conf"])).unwrap();
        assert_eq!(with_config.config, Some(PathBuf::from("/etc/x.conf")));
    }

    #[test]
    fn supervisorctl_commands() {
        let args = parse_supervisorctl(words(&["-c", "/etc/supervisord.conf", "status"])).unwrap();
        assert!(args.supervisorctl);
        assert_eq!(args.config, Some(PathBuf::from("/etc/supervisord.conf")));
        assert_eq!(
            parse_supervisorctl(words(&["-s", "unix:///x", "restart", "web"]))
                .unwrap()
                .action,
            Action::Restart(words(&["web"]))
        );
        let reread = parse_supervisorctl(words(&["reread"])).unwrap_err();
        assert!(reread.contains("'reread' is not supported"), "{reread}");
        assert!(parse_supervisorctl(vec![]).is_err());
        assert!(parse_supervisorctl(words(&["tail", "-f", "web"])).is_err());
    }
}
