//! Command-line arguments. Hand-written: a handful of flags do not justify a parser crate
//! in a binary with a size budget.

use std::ffi::OsString;
use std::time::Duration;

/// The default grace period: leaves 2 s of Docker's default 10 s stop timeout for the
/// SIGKILL escalation and the final reaping, before Docker kills rinit itself.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(8);

pub const USAGE: &str = "usage: rinit [OPTIONS] -- COMMAND [ARGS...]";

pub const HELP: &str = "\
rinit: a small init for containers. It runs COMMAND as its child, reaps every zombie,
forwards signals, and exits with COMMAND's exit code (128+N if killed by signal N).

usage: rinit [OPTIONS] -- COMMAND [ARGS...]

options:
      --grace DURATION  how long to wait after SIGTERM/SIGINT, and for leftover processes
                        after COMMAND exits, before SIGKILL (default 8s; env RINIT_GRACE;
                        e.g. 500ms, 3s, 1m, or a number of seconds)
      --single-child    forward signals to COMMAND only, not to its process group
  -v, --verbose         report signals, exits and reaping on stderr
  -s, -g                accepted for tini compatibility; both are always on in rinit
  -h, --help            show this help
  -V, --version         show the version
";

#[derive(Debug, PartialEq)]
pub enum Invocation {
    Run(RunArgs),
    Help,
    Version,
    /// No command given.
    Nothing,
}

#[derive(Debug, PartialEq)]
pub struct RunArgs {
    pub argv: Vec<OsString>,
    pub grace: Duration,
    pub single_child: bool,
    pub verbose: bool,
}

/// A usage error: the message is printed with the usage line, rinit exits 2.
#[derive(Debug, PartialEq)]
pub struct UsageError(pub String);

/// Parses rinit's arguments (without argv[0]). `grace_env` is `$RINIT_GRACE`.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    grace_env: Option<OsString>,
) -> Result<Invocation, UsageError> {
    let mut args = args.into_iter();
    let mut grace = None;
    let mut single_child = false;
    let mut verbose = false;
    let mut argv = Vec::new();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return Err(UsageError(format!(
                "unexpected argument {arg:?}; put the command after '--'"
            )));
        };
        match text {
            "--" => {
                argv.extend(args.by_ref());
                break;
            }
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            "-v" | "--verbose" => verbose = true,
            "--single-child" => single_child = true,
            "-s" | "-g" => {}
            "--grace" => {
                let value = args
                    .next()
                    .ok_or_else(|| UsageError("--grace needs a duration".into()))?;
                grace = Some(parse_duration("--grace", &value.to_string_lossy())?);
            }
            _ if text.starts_with("--grace=") => {
                grace = Some(parse_duration("--grace", &text["--grace=".len()..])?);
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
    if argv.is_empty() {
        return Ok(Invocation::Nothing);
    }
    let grace = match (grace, grace_env) {
        (Some(grace), _) => grace,
        (None, Some(env)) => parse_duration("RINIT_GRACE", &env.to_string_lossy())?,
        (None, None) => DEFAULT_GRACE,
    };
    Ok(Invocation::Run(RunArgs {
        argv,
        grace,
        single_child,
        verbose,
    }))
}

/// A duration: a plain number of seconds (`3`, `0.5`) or humantime syntax (`500ms`, `1m`).
pub fn parse_duration(what: &str, text: &str) -> Result<Duration, UsageError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if (0.0..1e9).contains(&seconds) {
            return Ok(Duration::from_secs_f64(seconds));
        }
    } else if let Ok(duration) = humantime::parse_duration(text) {
        return Ok(duration);
    }
    Err(UsageError(format!(
        "{what}: '{text}' is not a duration (expected e.g. 500ms, 8s, 1m, or seconds)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(OsString::from), None)
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
        match parse(args(), env.clone()) {
            Ok(Invocation::Run(run)) => assert_eq!(run.grace, Duration::from_secs(3)),
            other => panic!("{other:?}"),
        }
        let with_flag = ["--grace", "1s", "--", "x"].iter().map(OsString::from);
        match parse(with_flag, env) {
            Ok(Invocation::Run(run)) => assert_eq!(run.grace, Duration::from_secs(1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help_version_and_nothing() {
        assert_eq!(parse_strs(&["--help"]), Ok(Invocation::Help));
        assert_eq!(parse_strs(&["-V"]), Ok(Invocation::Version));
        assert_eq!(parse_strs(&[]), Ok(Invocation::Nothing));
        assert_eq!(parse_strs(&["--"]), Ok(Invocation::Nothing));
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
