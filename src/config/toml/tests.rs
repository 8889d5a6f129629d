//! The reader end to end: `parse` on whole documents, and the exact messages of its
//! errors.

use std::path::Path;
use std::time::Duration;

use super::values::{DURATION, UMASK};
use super::*;
use crate::config::users::fake::FakeUsers;
use crate::config::{
    Autorestart, Backoff, Color, DEFAULT_GRACE, Kind, LogFormat, OnExit, OutputSpec, ProgramOutput,
    ProgramSpec,
};
const PATH: &str = "/etc/rinit.toml";

/// The environment of every test here (and of `expand`'s).
pub(super) fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/root".into()),
        "PORT" => Some("8080".into()),
        "EMPTY" => Some(String::new()),
        "ARGS" => Some("-g 'daemon off;'".into()),
        _ => None,
    }
}

fn try_parse(text: &str) -> Result<Plan, ConfigError> {
    parse(text, Path::new(PATH), &env, &FakeUsers)
}

fn plan(text: &str) -> Plan {
    try_parse(text).unwrap_or_else(|err| panic!("unexpected error: {err}"))
}

fn program(body: &str) -> ProgramSpec {
    let mut plan = plan(&format!("[program.web]\n{body}\n"));
    assert_eq!(plan.programs.len(), 1);
    plan.programs.remove(0)
}

fn error(text: &str) -> String {
    match try_parse(text) {
        Ok(plan) => panic!("expected an error, got {plan:?}"),
        Err(err) => err.to_string(),
    }
}

/// The error for `body` as the second line onward of `[program.web]`.
fn program_error(body: &str) -> String {
    error(&format!("[program.web]\n{body}\n"))
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

#[test]
fn full_example() {
    let text = r#"
[rinit]
grace = "5s"            # global shutdown budget

[program.web]
command = ["nginx", "-g", "daemon off;"]
priority = 10
autostart = true
autorestart = true
exitcodes = [0, 2]
startsecs = 2
startretries = 5
stopsignal = "QUIT"
stopwaitsecs = "15s"
stopasgroup = false
killasgroup = false
directory = "/srv"
user = "www-data"
umask = "027"
environment = { PORT = "${PORT}", HOME_DIR = "${HOME}/web" }
type = "service"
on_exit = "ignore"
backoff = "500ms"
backoff_max = "1m"
backoff_reset = 120

[program.migrate]
command = "/app/migrate --all"
type = "oneshot"
priority = 1
"#;
    let mut web = ProgramSpec::with_defaults("web", argv(&["nginx", "-g", "daemon off;"]));
    web.priority = 10;
    web.autorestart = Autorestart::Always;
    web.exitcodes = vec![0, 2];
    web.startsecs = Duration::from_secs(2);
    web.startretries = 5;
    web.stopsignal = libc::SIGQUIT;
    web.stopwaitsecs = Duration::from_secs(15);
    web.stopasgroup = false;
    web.killasgroup = false;
    web.directory = Some("/srv".into());
    web.user = FakeUsers.user("www-data");
    web.umask = Some(0o027);
    web.environment = vec![
        ("HOME_DIR".into(), "/root/web".into()),
        ("PORT".into(), "8080".into()),
    ];
    web.on_exit = OnExit::Ignore;
    web.backoff = Backoff {
        initial: Duration::from_millis(500),
        max: Duration::from_secs(60),
        reset_after: Duration::from_secs(120),
    };
    let mut migrate = ProgramSpec::with_defaults("migrate", argv(&["/app/migrate", "--all"]));
    migrate.kind = Kind::Oneshot;
    migrate.priority = 1;
    assert_eq!(
        plan(text),
        Plan {
            source: PATH.into(),
            grace: Duration::from_secs(5),
            stop_delay: Duration::ZERO,
            programs: vec![migrate, web],
            output: Default::default(),
            control: Default::default(),
        }
    );
}

#[test]
fn defaults() {
    let plan = plan("[program.app]\ncommand = [\"/bin/app\"]\n");
    assert_eq!(
        plan,
        Plan {
            source: PATH.into(),
            grace: DEFAULT_GRACE,
            stop_delay: Duration::ZERO,
            programs: vec![ProgramSpec::with_defaults("app", argv(&["/bin/app"]))],
            output: Default::default(),
            control: Default::default(),
        }
    );
}

#[test]
fn command_as_string_is_split_like_a_shell() {
    let spec = program(r#"command = "nginx -g 'daemon off;' \"a b\" c\\ d""#);
    assert_eq!(
        spec.command,
        argv(&["nginx", "-g", "daemon off;", "a b", "c d"])
    );
    // Split first, then expanded: a value stays one argument, quotes and all.
    assert_eq!(
        program(r#"command = "nginx ${ARGS}""#).command,
        argv(&["nginx", "-g 'daemon off;'"])
    );
    // An array is taken as it is: no splitting, but expansion.
    assert_eq!(
        program(r#"command = ["sh", "-c", "echo $HOME ${HOME} $$"]"#).command,
        argv(&["sh", "-c", "echo $HOME /root $"])
    );
}

#[test]
fn programs_sorted_by_priority_then_name() {
    let plan = plan(
        "[program.c]\ncommand = \"c\"\npriority = 5\n\
         [program.b]\ncommand = \"b\"\n\
         [program.a]\ncommand = \"a\"\n\
         [program.z]\ncommand = \"z\"\npriority = -1\n\
         [program.d]\ncommand = \"d\"\npriority = 5\n",
    );
    let names: Vec<&str> = plan.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["z", "c", "d", "a", "b"]);
}

#[test]
fn value_forms() {
    assert_eq!(
        program("command = \"a\"\nstartsecs = 0.5").startsecs,
        Duration::from_millis(500)
    );
    assert_eq!(
        program("command = \"a\"\nstartsecs = \"3\"").startsecs,
        Duration::from_secs(3)
    );
    assert_eq!(
        program("command = \"a\"\nstopsignal = 9").stopsignal,
        libc::SIGKILL
    );
    assert_eq!(
        program("command = \"a\"\nstopsignal = \"sigint\"").stopsignal,
        libc::SIGINT
    );
    assert_eq!(
        program("command = \"a\"\nstopsignal = \"RTMIN+3\"").stopsignal,
        37
    );
    assert_eq!(
        program("command = \"a\"\nstopsignal = \"KILL\"").stopsignal,
        libc::SIGKILL
    );
    assert_eq!(
        program("command = \"a\"\nautorestart = false").autorestart,
        Autorestart::Never
    );
    assert_eq!(
        program("command = \"a\"\nautorestart = \"unexpected\"").autorestart,
        Autorestart::Unexpected
    );
    assert_eq!(program("command = \"a\"\numask = 0o022").umask, Some(0o022));
    assert_eq!(
        program("command = \"a\"\numask = \"0o022\"").umask,
        Some(0o022)
    );
    assert_eq!(
        program("command = \"a\"\numask = \"0022\"").umask,
        Some(0o022)
    );
    assert_eq!(program("command = \"a\"\numask = 0").umask, Some(0));
    assert_eq!(
        program("command = \"a\"\nuser = 33").user,
        FakeUsers.user("33")
    );
    assert_eq!(
        program("command = \"a\"\nexitcodes = []").exitcodes,
        Vec::<i32>::new()
    );
    assert_eq!(program("command = \"a\"\npriority = 1_000").priority, 1000);
    // Sub-table form, keys sorted.
    let spec = program("command = \"a\"\n[program.web.environment]\nB = \"2\"\nA = \"${EMPTY}\"");
    assert_eq!(
        spec.environment,
        [("A".into(), String::new()), ("B".into(), "2".into())]
    );
}

#[test]
fn backoff_defaults_give_way_to_a_single_given_bound() {
    let spec = program("command = \"a\"\nbackoff = \"1m\"");
    assert_eq!(spec.backoff.initial, Duration::from_secs(60));
    assert_eq!(spec.backoff.max, Duration::from_secs(60));
    let spec = program("command = \"a\"\nbackoff_max = \"500ms\"");
    assert_eq!(spec.backoff.initial, Duration::from_millis(500));
    assert_eq!(spec.backoff.max, Duration::from_millis(500));
}

#[test]
fn expansion_applies_to_every_string_value() {
    let text = "[rinit]\ngrace = \"${NOPE:-3}s\"\n[program.web]\ncommand = \"a\"\n\
                directory = \"${HOME}\"\nuser = \"${NOPE:-www-data}\"\n\
                stopsignal = \"${NOPE:-INT}\"\ntype = \"${NOPE:-oneshot}\"\n";
    let plan = plan(text);
    assert_eq!(plan.grace, Duration::from_secs(3));
    let spec = &plan.programs[0];
    assert_eq!(spec.directory, Some("/root".into()));
    assert_eq!(spec.user, FakeUsers.user("www-data"));
    assert_eq!(spec.stopsignal, libc::SIGINT);
    assert_eq!(spec.kind, Kind::Oneshot);
}

#[test]
fn undefined_variable_names_key_and_variable() {
    assert_eq!(
        program_error("command = [\"app\",\n  \"--port=${WEB_PORT}\"]"),
        "/etc/rinit.toml:3: program.web.command: undefined variable 'WEB_PORT' \
         (give a default with ${WEB_PORT:-value})"
    );
    assert_eq!(
        program_error("command = \"a\"\nenvironment = { X = \"${NOPE}\" }"),
        "/etc/rinit.toml:3: program.web.environment.X: undefined variable 'NOPE' \
         (give a default with ${NOPE:-value})"
    );
}

#[test]
fn the_documented_messages() {
    assert_eq!(
        program_error("command = \"a\"\n\n\n\n\nstartretries = -1"),
        "/etc/rinit.toml:7: program.web.startretries: expected a non-negative integer, found -1"
    );
    assert_eq!(
        program_error("startsec = 1\ncommand = \"a\""),
        "/etc/rinit.toml:2: program.web: unknown key 'startsec' (did you mean 'startsecs'?)"
    );
    assert_eq!(
        program_error("command = \"a\"\nuser = \"postgres\""),
        "/etc/rinit.toml:3: program.web.user: no such user 'postgres'"
    );
    assert_eq!(
        program_error("command = \"a\"\nstopsignal = \"TREM\""),
        "/etc/rinit.toml:3: program.web.stopsignal: unknown signal 'TREM' \
         (expected a name like TERM or SIGTERM, or a number)"
    );
}

#[test]
fn unknown_keys_everywhere() {
    assert_eq!(
        error("[programs.web]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:1: unknown key 'programs' (did you mean 'program'?)"
    );
    assert_eq!(
        error("[rinit]\ngrace = 1\nverbose = true\n[program.a]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:3: rinit: unknown key 'verbose'"
    );
    assert_eq!(
        program_error("command = \"a\"\nCommand = \"b\""),
        "/etc/rinit.toml:3: program.web: unknown key 'Command' (did you mean 'command'?)"
    );
    assert_eq!(
        error("title = \"x\"\n[program.a]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:1: unknown key 'title'"
    );
}

#[test]
fn wrong_types() {
    let cases = [
        (
            "priority = \"10\"",
            "priority: expected an integer (i32), found \"10\"",
        ),
        (
            "priority = 3000000000",
            "priority: expected an integer (i32), found 3000000000",
        ),
        (
            "autostart = \"yes\"",
            "autostart: expected true or false, found \"yes\"",
        ),
        (
            "autorestart = \"always\"",
            "autorestart: expected true, false or \"unexpected\", found \"always\"",
        ),
        (
            "exitcodes = 0",
            "exitcodes: expected an array of exit codes like [0, 2], found 0",
        ),
        (
            "exitcodes = [\"0\"]",
            "exitcodes: expected exit codes from 0 to 255, found \"0\"",
        ),
        (
            "startsecs = true",
            &format!("startsecs: expected {DURATION}, found true"),
        ),
        (
            "stopwaitsecs = [1]",
            &format!("stopwaitsecs: expected {DURATION}, found an array"),
        ),
        (
            "stopsignal = 1.5",
            "stopsignal: expected a signal name like \"TERM\", or a number, found 1.5",
        ),
        (
            "directory = 1979-05-27",
            "directory: expected a string, found the datetime 1979-05-27",
        ),
        ("user = -1", "user: expected a user name or uid, found -1"),
        (
            "environment = [\"A=1\"]",
            "environment: expected a table of strings, like { KEY = \"value\" }, found an array",
        ),
        (
            "environment = { PORT = 8080 }",
            "environment.PORT: expected a string, found 8080",
        ),
        (
            "type = \"daemon\"",
            "type: expected \"service\" or \"oneshot\", found \"daemon\"",
        ),
        (
            "on_exit = \"restart\"",
            "on_exit: expected \"shutdown\" or \"ignore\", found \"restart\"",
        ),
    ];
    for (line, message) in cases {
        assert_eq!(
            program_error(&format!("command = \"a\"\n{line}")),
            format!("/etc/rinit.toml:3: program.web.{message}"),
            "for {line}"
        );
    }
    assert_eq!(
        program_error("command = 42"),
        "/etc/rinit.toml:2: program.web.command: expected a command (an array of strings, or a string), found 42"
    );
    assert_eq!(
        program_error("command = [\"a\", 1]"),
        "/etc/rinit.toml:2: program.web.command: expected a string, found 1"
    );
    assert_eq!(
        error("[rinit]\ngrace = \"soon\"\n"),
        format!("/etc/rinit.toml:2: rinit.grace: expected {DURATION}, found \"soon\"")
    );
    assert_eq!(
        error("rinit = 8\n[program.a]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:1: rinit: expected a table ([rinit]), found 8"
    );
    assert_eq!(
        error("program = \"a\"\n"),
        "/etc/rinit.toml:1: program: expected a table of programs ([program.NAME]), found \"a\""
    );
    assert_eq!(
        error("[[program]]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:1: program: expected a table of programs ([program.NAME]), found an array"
    );
    assert_eq!(
        error("[program]\nweb = \"a\"\n"),
        "/etc/rinit.toml:2: program.web: expected a table, found \"a\""
    );
}

#[test]
fn impossible_values() {
    let cases = [
        ("startsecs = -1", format!("startsecs: expected {DURATION}, found -1")),
        ("stopwaitsecs = -0.5", format!("stopwaitsecs: expected {DURATION}, found -0.5")),
        ("backoff = \"-1s\"", format!("backoff: expected {DURATION}, found \"-1s\"")),
        ("command = []", "command: expected a non-empty command, found an array".into()),
        ("command = \"  \"", "command: expected a non-empty command, found \"  \"".into()),
        ("command = [\"\", \"x\"]", "command: expected a program to run, found an empty string".into()),
        (
            "command = \"nginx -g 'daemon off;\"",
            "command: expected a command line with balanced quotes, found \"nginx -g 'daemon off;\"".into(),
        ),
        ("exitcodes = [0, 256]", "exitcodes: expected exit codes from 0 to 255, found 256".into()),
        ("exitcodes = [-1]", "exitcodes: expected exit codes from 0 to 255, found -1".into()),
        ("stopsignal = 0", "stopsignal: expected a signal number from 1 to 64, found 0".into()),
        ("stopsignal = 65", "stopsignal: expected a signal number from 1 to 64, found 65".into()),
        (
            "stopsignal = \"STOP\"",
            "stopsignal: expected a signal that ends a program (e.g. TERM, INT, QUIT, KILL), \
             found SIGSTOP, which only pauses it"
                .into(),
        ),
        (
            "stopsignal = \"sigtstp\"",
            "stopsignal: expected a signal that ends a program (e.g. TERM, INT, QUIT, KILL), \
             found SIGTSTP, which only pauses it"
                .into(),
        ),
        (
            "stopsignal = 21",
            "stopsignal: expected a signal that ends a program (e.g. TERM, INT, QUIT, KILL), \
             found SIGTTIN, which only pauses it"
                .into(),
        ),
        ("directory = \"srv\"", "directory: expected an absolute path, found \"srv\"".into()),
        ("directory = \"${NOPE:-}\"", "directory: expected an absolute path, found \"\"".into()),
        ("umask = \"1000\"", format!("umask: expected {UMASK}, found \"1000\"")),
        ("umask = 0o1000", format!("umask: expected {UMASK}, found 0o1000")),
        ("umask = \"089\"", format!("umask: expected {UMASK}, found \"089\"")),
        ("umask = 18", format!("umask: expected {UMASK}, found 18")),
        ("umask = \"\"", format!("umask: expected {UMASK}, found \"\"")),
        (
            "environment = { \"A=B\" = \"1\" }",
            "environment: invalid variable name \"A=B\" (it cannot be empty or contain '=')".into(),
        ),
        ("command = [\"a\\u0000b\"]", "command: a string cannot contain a NUL character".into()),
    ];
    for (line, message) in cases {
        let body = if line.starts_with("command") {
            format!("\n{line}")
        } else {
            format!("command = \"a\"\n{line}")
        };
        assert_eq!(
            program_error(&body),
            format!("/etc/rinit.toml:3: program.web.{message}"),
            "for {line}"
        );
    }
    assert_eq!(
        program_error("command = \"a\"\nbackoff = \"10s\"\nbackoff_max = \"5s\""),
        "/etc/rinit.toml:4: program.web.backoff_max: expected at least backoff (10s), found 5s"
    );
}

#[test]
fn program_tables() {
    assert_eq!(
        error("[program.web]\npriority = 1\n"),
        "/etc/rinit.toml:1: program.web: missing key 'command'"
    );
    assert_eq!(
        error("[program.\"web server\"]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:1: program: invalid program name 'web server' \
         (expected letters, digits, '_', '.' or '-')"
    );
    assert_eq!(
        error("[program.\"\"]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:1: program: invalid program name '' \
         (expected letters, digits, '_', '.' or '-')"
    );
    let long = "n".repeat(256);
    assert_eq!(
        error(&format!("[program.{long}]\ncommand = \"a\"\n")),
        "/etc/rinit.toml:1: program: a program name of 256 characters (expected at most 255)"
    );
    let longest = "n".repeat(255);
    assert_eq!(
        plan(&format!("[program.{longest}]\ncommand = \"a\"\n")).programs[0].name,
        longest
    );
    let plan = plan("[program.\"a-b_c.1\"]\ncommand = \"a\"\n");
    assert_eq!(plan.programs[0].name, "a-b_c.1");
    let none = "/etc/rinit.toml: no programs defined (expected at least one [program.NAME] table)";
    assert_eq!(error(""), none);
    assert_eq!(error("[rinit]\ngrace = 3\n"), none);
    assert_eq!(error("[program]\n"), none);
}

#[test]
fn syntax_errors() {
    assert_eq!(
        error("[program.web]\ncommand = \"a\"\n\n[program.web]\npriority = 1\n"),
        "/etc/rinit.toml:4: table [program.web] is defined more than once"
    );
    assert_eq!(
        error("[program.web]\ncommand = \"a\"\ncommand = \"b\"\n"),
        "/etc/rinit.toml:3: key 'command' is defined more than once"
    );
    assert_eq!(
        error("[program.web]\ncommand = \"a\n"),
        "/etc/rinit.toml:2: invalid TOML: invalid basic string, expected `\"`"
    );
    assert_eq!(
        program_error("command = \"a\"\numask = -0o22"),
        "/etc/rinit.toml:3: invalid TOML: integers with a radix cannot be signed, expected nothing"
    );
}

#[test]
fn load_reports_a_missing_file() {
    let err = load(Path::new("/nonexistent/rinit.toml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read /nonexistent/rinit.toml: No such file or directory"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_default_cannot_hide_another_reference() {
    let err = error("[program.a]\ncommand = \"x ${A:-${B}}\"\n");
    assert!(err.contains("a default cannot contain '$' or '{'"), "{err}");
}

#[test]
fn backoff_below_100ms_is_refused() {
    let err = error("[program.a]\ncommand = \"x\"\nbackoff = 0\n");
    assert!(
        err.ends_with(
            "program.a.backoff: expected at least 100ms (a shorter delay lets a crash loop spin)"
        ),
        "{err}"
    );
}

#[test]
fn output_settings() {
    let text = "[rinit]\nlog_format = \"json\"\nlog_prefix = \"[{name}] \"\n\
                log_timestamps = true\nlog_color = \"never\"\n\
                [program.web]\ncommand = \"a\"\noutput = \"inherit\"\n\
                redirect_stderr = true\nlog_prefix = \"\"\n";
    let plan = plan(text);
    assert_eq!(
        plan.output,
        OutputSpec {
            format: LogFormat::Json,
            prefix: "[{name}] ".into(),
            timestamps: true,
            color: Color::Never,
        }
    );
    let web = &plan.programs[0];
    assert_eq!(web.output, ProgramOutput::Inherit);
    assert!(web.redirect_stderr);
    assert_eq!(web.prefix.as_deref(), Some(""));
    assert_eq!(
        error("[rinit]\nlog_format = \"xml\"\n[program.a]\ncommand = \"a\"\n"),
        "/etc/rinit.toml:2: rinit.log_format: expected \"text\" or \"json\", found \"xml\""
    );
    assert_eq!(
        error("[program.a]\ncommand = \"a\"\noutput = \"file\"\n"),
        "/etc/rinit.toml:3: program.a.output: expected \"prefixed\" or \"inherit\", found \"file\""
    );
}
