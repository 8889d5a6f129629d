//! Command-line arguments. Hand-written: a handful of flags do not justify a parser crate
//! in a binary with a size budget.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{DEFAULT_GRACE, parse_duration};

pub const USAGE: &str =
    "usage: rinit [OPTIONS] -- COMMAND [ARGS...]  |  rinit [-c FILE]  |  rinit check [-c FILE]";

pub const HELP: &str = "\
rinit: a small init for containers. It reaps every zombie, forwards signals, and either
runs one COMMAND as its child (a drop-in for tini and dumb-init) or supervises the
programs of a configuration file. It exits with the code of the program that ended
(128+N if killed by signal N).

usage: rinit [OPTIONS] -- COMMAND [ARGS...]   run COMMAND as rinit's child
       rinit [OPTIONS] [-c FILE]              supervise the programs of FILE
                                              (default: $RINIT_CONFIG, else /etc/rinit.toml,
                                              else where supervisord looks)
       rinit check [-c FILE] [--json]         validate FILE and print how it was read
       rinit status [NAME...] [--json|--ready|--live]   ask a running rinit (exit 0 fine,
                                              3 not, 4 rinit unreachable or unknown NAME)
       rinit start|stop|restart NAME...|all   as supervisorctl; NAME may be group:* or group:name
       rinit signal SIG NAME...|all           send SIG to each program's process group
       rinit wait [--ready] [NAME...] [--timeout 60s]   until running (or ready)
       rinit pid [NAME...]                    rinit's pid, or the programs'
       (linked as supervisorctl: status, start, stop, restart, signal, pid [-c FILE])

options:
  -c, --config FILE     the configuration file (TOML, or a supervisord INI file)
      --grace DURATION  the shutdown budget after SIGTERM/SIGINT, and for leftover
                        processes, before SIGKILL (default 8s; env RINIT_GRACE; overrides
                        [rinit] grace; e.g. 500ms, 3s, 1m, or a number of seconds)
      --stop-delay DURATION  on SIGTERM/SIGINT, report not ready and wait this long
                        before stopping anything, so traffic drains (default 0; env
                        RINIT_STOP_DELAY; overrides [rinit] stop_delay; part of --grace)
      --single-child    with -- COMMAND: forward signals to COMMAND only, not its group
  -v, --verbose         report signals, exits and reaping on stderr
  -s, -g                accepted for tini compatibility; both are always on in rinit
  -h, --help            show this help
  -V, --version         show the version
";

#[derive(Debug, PartialEq)]
pub enum Invocation {
    /// `rinit -- COMMAND`
    Run(RunArgs),
    /// `rinit [-c FILE]`
    Supervise(SuperviseArgs),
    /// `rinit check [-c FILE] [--json]`
    Check {
        config: Option<PathBuf>,
        json: bool,
    },
    /// `rinit status|start|stop|restart|signal|wait|pid ...`: a client of a running rinit.
    Client(crate::client::args::ClientArgs),
    Help,
    Version,
}

#[derive(Debug, PartialEq)]
pub struct RunArgs {
    pub argv: Vec<OsString>,
    pub grace: Duration,
    pub stop_delay: Duration,
    pub single_child: bool,
    pub verbose: bool,
}

#[derive(Debug, PartialEq)]
pub struct SuperviseArgs {
    /// `-c FILE`; `None` means look in the usual places.
    pub config: Option<PathBuf>,
    /// `--grace` or `$RINIT_GRACE`, which override the file's `[rinit] grace`.
    pub grace: Option<Duration>,
    /// `--stop-delay` or `$RINIT_STOP_DELAY`, which override `[rinit] stop_delay`.
    pub stop_delay: Option<Duration>,
    pub verbose: bool,
}

/// A usage error: the message is printed with the usage line, rinit exits 2.
#[derive(Debug, PartialEq)]
pub struct UsageError(pub String);

/// The environment variables rinit reads as defaults for its options.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `$RINIT_GRACE`
    pub grace: Option<OsString>,
    /// `$RINIT_STOP_DELAY`
    pub stop_delay: Option<OsString>,
}

/// Parses rinit's arguments (without argv[0]).
pub fn parse(args: impl IntoIterator<Item = OsString>, env: Env) -> Result<Invocation, UsageError> {
    let mut args = args.into_iter().peekable();
    let verb = args.peek().and_then(|a| a.to_str()).map(str::to_string);
    if let Some(verb) = verb.filter(|v| crate::client::args::VERBS.contains(&v.as_str())) {
        let rest: Vec<String> = args
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return crate::client::args::parse(&verb, rest)
            .map(Invocation::Client)
            .map_err(UsageError);
    }
    let mut grace = None;
    let mut stop_delay = None;
    let mut single_child = false;
    let mut verbose = false;
    let mut check = false;
    let mut config = None;
    let mut json = false;
    let mut argv = Vec::new();
    let mut seen_any = false;
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return Err(UsageError(format!(
                "unexpected argument {arg:?}; put the command after '--'"
            )));
        };
        let first = !std::mem::replace(&mut seen_any, true);
        match text {
            "--" => {
                argv.extend(args.by_ref());
                break;
            }
            "check" if first => check = true,
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            "-v" | "--verbose" => verbose = true,
            "--single-child" => single_child = true,
            "--json" => json = true,
            "-s" | "-g" => {}
            "-c" | "--config" => {
                let value = args
                    .next()
                    .ok_or_else(|| UsageError(format!("{text} needs a file")))?;
                config = Some(PathBuf::from(value));
            }
            _ if text.starts_with("--config=") => {
                config = Some(PathBuf::from(&text["--config=".len()..]));
            }
            "--grace" => {
                let value = args
                    .next()
                    .ok_or_else(|| UsageError("--grace needs a duration".into()))?;
                grace = Some(grace_duration("--grace", &value.to_string_lossy())?);
            }
            _ if text.starts_with("--grace=") => {
                grace = Some(grace_duration("--grace", &text["--grace=".len()..])?);
            }
            "--stop-delay" => {
                let value = args
                    .next()
                    .ok_or_else(|| UsageError("--stop-delay needs a duration".into()))?;
                stop_delay = Some(grace_duration("--stop-delay", &value.to_string_lossy())?);
            }
            _ if text.starts_with("--stop-delay=") => {
                let value = &text["--stop-delay=".len()..];
                stop_delay = Some(grace_duration("--stop-delay", value)?);
            }
            _ if text.starts_with('-') => {
                return Err(UsageError(format!("unknown option '{text}'")));
            }
            _ => {
                return Err(UsageError(format!(
                    "unexpected argument '{text}'; to run a command, put it after '--': rinit -- {text}"
                )));
            }
        }
    }
    let from_env = |what, value: Option<OsString>| match value {
        Some(value) => grace_duration(what, &value.to_string_lossy()).map(Some),
        None => Ok(None),
    };
    let grace = match grace {
        Some(grace) => Some(grace),
        None => from_env("RINIT_GRACE", env.grace)?,
    };
    let stop_delay = match stop_delay {
        Some(delay) => Some(delay),
        None => from_env("RINIT_STOP_DELAY", env.stop_delay)?,
    };
    if !argv.is_empty() {
        if check || config.is_some() {
            return Err(UsageError(
                "a command after '--' cannot be combined with check or -c".into(),
            ));
        }
        return Ok(Invocation::Run(RunArgs {
            argv,
            grace: grace.unwrap_or(DEFAULT_GRACE),
            stop_delay: stop_delay.unwrap_or_default(),
            single_child,
            verbose,
        }));
    }
    if single_child {
        return Err(UsageError(
            "--single-child applies only to rinit -- COMMAND".into(),
        ));
    }
    if check {
        return Ok(Invocation::Check { config, json });
    }
    if json {
        return Err(UsageError("--json applies only to rinit check".into()));
    }
    Ok(Invocation::Supervise(SuperviseArgs {
        config,
        grace,
        stop_delay,
        verbose,
    }))
}

/// `--grace`, `--stop-delay` or their variables (`what`): a bad duration is a usage
/// error.
fn grace_duration(what: &str, text: &str) -> Result<Duration, UsageError> {
    parse_duration(what, text).map_err(UsageError)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grace_env(grace: Option<OsString>) -> Env {
        Env {
            grace,
            stop_delay: None,
        }
    }

    fn parse_strs(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(OsString::from), Env::default())
    }

    fn run_args(args: &[&str]) -> RunArgs {
        match parse_strs(args) {
            Ok(Invocation::Run(run)) => run,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn command_after_double_dash_with_defaults() {
        let run = run_args(&["--", "nginx", "-g", "daemon off;"]);
        assert_eq!(run.argv, ["nginx", "-g", "daemon off;"]);
        assert_eq!(run.grace, DEFAULT_GRACE);
        assert!(!run.single_child);
        assert!(!run.verbose);
    }

    #[test]
    fn options_before_double_dash() {
        let run = run_args(&[
            "-v",
            "--single-child",
            "--grace",
            "2s",
            "-s",
            "-g",
            "--",
            "x",
        ]);
        assert!(run.verbose && run.single_child);
        assert_eq!(run.grace, Duration::from_secs(2));
        assert_eq!(
            run_args(&["--grace=250ms", "--", "x"]).grace,
            Duration::from_millis(250)
        );
        assert_eq!(
            run_args(&["--grace", "1.5", "--", "x"]).grace,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn flag_wins_over_environment() {
        let env = Some(OsString::from("3s"));
        let args = || ["--", "x"].iter().map(OsString::from);
        match parse(args(), grace_env(env.clone())) {
            Ok(Invocation::Run(run)) => assert_eq!(run.grace, Duration::from_secs(3)),
            other => panic!("{other:?}"),
        }
        let with_flag = ["--grace", "1s", "--", "x"].iter().map(OsString::from);
        match parse(with_flag, grace_env(env)) {
            Ok(Invocation::Run(run)) => assert_eq!(run.grace, Duration::from_secs(1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_version_and_no_command() {
        assert_eq!(parse_strs(&["--help"]), Ok(Invocation::Help));
        assert_eq!(parse_strs(&["-V"]), Ok(Invocation::Version));
        let default = Invocation::Supervise(SuperviseArgs {
            config: None,
            grace: None,
            stop_delay: None,
            verbose: false,
        });
        assert_eq!(parse_strs(&[]), Ok(default));
        assert!(matches!(parse_strs(&["--"]), Ok(Invocation::Supervise(_))));
    }

    #[test]
    fn config_and_check() {
        let supervise = parse_strs(&["-c", "/x.toml", "--grace", "3s", "-v"]);
        assert_eq!(
            supervise,
            Ok(Invocation::Supervise(SuperviseArgs {
                config: Some("/x.toml".into()),
                grace: Some(Duration::from_secs(3)),
                stop_delay: None,
                verbose: true,
            }))
        );
        assert_eq!(
            parse_strs(&["check", "--config=/y.toml"]),
            Ok(Invocation::Check {
                config: Some("/y.toml".into()),
                json: false
            })
        );
        assert_eq!(
            parse_strs(&["check"]),
            Ok(Invocation::Check {
                config: None,
                json: false
            })
        );
        assert!(parse_strs(&["-c", "/x.toml", "--", "true"]).is_err());
        assert!(parse_strs(&["--single-child"]).is_err());
        assert!(
            parse_strs(&["-v", "check"]).is_err(),
            "check must come first"
        );
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        assert_eq!(
            parse_strs(&["--frobnicate"]),
            Err(UsageError("unknown option '--frobnicate'".into()))
        );
        assert_eq!(
            parse_strs(&["nginx"]),
            Err(UsageError(
                "unexpected argument 'nginx'; to run a command, put it after '--': rinit -- nginx"
                    .into()
            ))
        );
        assert_eq!(
            parse_strs(&["--grace"]),
            Err(UsageError("--grace needs a duration".into()))
        );
        assert_eq!(
            parse_strs(&["--grace", "soon", "--", "x"]),
            Err(UsageError(
                "--grace: 'soon' is not a duration (expected e.g. 500ms, 8s, 1m, or seconds)"
                    .into()
            ))
        );
        assert!(parse_strs(&["--grace", "-1", "--", "x"]).is_err());
    }
}
