//! The configuration model: a validated, normalised [`Plan`]. Front-ends (the native
//! TOML reader and the supervisord INI reader) produce a `Plan`; everything downstream
//! knows only this module's types.

pub mod checks;
pub use checks::{HealthSpec, Probe, ReadyKind, ReadySpec, parse_socket_addr};
pub mod describe;
pub mod duration;
mod error;
pub mod supervisord;
pub mod toml;
mod users;

pub use duration::parse_duration;
pub use error::ConfigError;
pub use users::{RunAs, SystemUsers, UserDb};

use std::path::PathBuf;
use std::time::Duration;

use libc::c_int;

/// The default grace period (the global shutdown budget): leaves 2 s of Docker's default
/// 10 s stop timeout for the SIGKILL escalation and the final reaping, before Docker kills
/// rinit itself.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(8);

/// Where rinit looks for its configuration when neither `-c` nor `$RINIT_CONFIG` says.
pub const DEFAULT_CONFIG: &str = "/etc/rinit.toml";

/// The longest program (or group) name, in bytes. Every output line is padded to the
/// longest name, so a name must stay a label: a longer one is a mistake, and past 65,535
/// it could not even be padded.
pub const MAX_NAME_LEN: usize = 255;

/// Where the configuration is: `-c FILE`, else `$RINIT_CONFIG`, else
/// [`DEFAULT_CONFIG`], else where supervisord looks (`fallbacks`, in order).
/// The error lists what was tried.
pub fn locate(
    explicit: Option<PathBuf>,
    env: Option<std::ffi::OsString>,
    exists: impl Fn(&std::path::Path) -> bool,
    fallbacks: &[PathBuf],
) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let default = PathBuf::from(DEFAULT_CONFIG);
    let candidates = std::iter::once(&default).chain(fallbacks);
    if let Some(found) = candidates.clone().find(|path| exists(path)) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = candidates.map(|p| p.display().to_string()).collect();
    Err(format!(
        "no command given and no configuration found (tried $RINIT_CONFIG: unset, {}: not found)",
        tried.join(", ")
    ))
}

/// Reads a configuration file in whichever format its content shows: supervisord's INI
/// dialect (a `[program:x]`, `[supervisord]`... section) or rinit's TOML. Returns the
/// plan and the warnings (keys and sections read but ignored).
pub fn load(path: &std::path::Path) -> Result<(Plan, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::io(path, err))?;
    if supervisord::looks_like_supervisord(&text) {
        let (plan, mut warnings) = supervisord::load(path)?;
        // supervisord refuses a log file whose directory does not exist; rinit would
        // only find out at run time, so `rinit check` says it now.
        for program in &plan.programs {
            for log in [&program.stdout_log, &program.stderr_log]
                .into_iter()
                .flatten()
            {
                let dir = log.path.parent().filter(|d| !d.as_os_str().is_empty());
                if dir.is_some_and(|d| !d.is_dir()) {
                    warnings.push(format!(
                        "{}: [program:{}] log file {}: its directory does not exist",
                        path.display(),
                        program.name,
                        log.path.display()
                    ));
                }
            }
        }
        Ok((plan, warnings))
    } else {
        toml::load(path).map(|plan| (plan, Vec::new()))
    }
}

/// Everything rinit needs to run a set of programs.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The file the plan was read from, for messages.
    pub source: PathBuf,
    /// `[rinit] grace`: one deadline for the whole shutdown; when it passes, everything
    /// left is SIGKILLed.
    pub grace: Duration,
    /// `[rinit] stop_delay`: on an outside stop, how long rinit reports itself not
    /// ready before it stops anything (part of `grace`).
    pub stop_delay: Duration,
    /// Programs sorted by (priority, name): the start order.
    pub programs: Vec<ProgramSpec>,
    /// How the programs' output lines (and rinit's own) look.
    pub output: OutputSpec,
    /// Where rinit answers `rinit status` and probes.
    pub control: ControlSpec,
}

/// `[rinit] control_socket` and `http`, as the file gives them (the environment's
/// `RINIT_CONTROL_SOCKET` and `RINIT_HTTP` override them at run time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControlSpec {
    /// The control socket's path; `None`: not set (the default path); `""`: off.
    pub socket: Option<String>,
    /// The read-only HTTP endpoints' address; `None`: off.
    pub http: Option<std::net::SocketAddr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// `PREFIX LINE`.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// Colour the prefix when the destination is a terminal and `NO_COLOR` is unset.
    Auto,
    Always,
    Never,
}

/// `[rinit] log_*`: the format of every line rinit writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: LogFormat,
    /// The text-format prefix template (see `output::format::Style`).
    pub prefix: String,
    pub timestamps: bool,
    pub color: Color,
}

/// `[rinit] log_prefix` unless set: `web | ...`.
pub const DEFAULT_PREFIX: &str = "{name} {sep} ";

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            format: LogFormat::Text,
            prefix: DEFAULT_PREFIX.to_string(),
            timestamps: false,
            color: Color::Auto,
        }
    }
}

/// Where a program's stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramOutput {
    /// Through pipes read by rinit: whole lines, prefixed, never blocking rinit.
    Prefixed,
    /// rinit's own stdout and stderr, as they are: no pipe, no prefix (for programs that
    /// want a terminal, or zero overhead).
    Inherit,
}

/// What to do when a program has ended and will not be restarted (it exited and its
/// restart policy says no, or it went FATAL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnExit {
    /// Stop everything and exit rinit with the program's exit code (the default: the
    /// orchestrator then heals the container).
    Shutdown,
    /// Leave it stopped; keep the other programs running.
    Ignore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Autorestart {
    Always,
    Never,
    /// Restart only when the exit code is not in `exitcodes` (or death by signal).
    Unexpected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A long-running program (supervisord's only kind).
    Service,
    /// An init task (a migration, a template render): later priorities start only after
    /// it exited with an expected code; it is never restarted.
    Oneshot,
}

/// Exponential restart delay: `initial`, doubled after each restart up to `max`; back
/// to `initial` once the program has stayed up for `reset_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub reset_after: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProgramSpec {
    pub name: String,
    /// argv; argv[0] is looked up in PATH when it has no slash.
    pub command: Vec<String>,
    pub kind: Kind,
    /// Lower starts first and stops last.
    pub priority: i32,
    pub autostart: bool,
    pub autorestart: Autorestart,
    /// Exit codes that count as expected.
    pub exitcodes: Vec<i32>,
    /// How long a program must stay up to count as started (RUNNING).
    pub startsecs: Duration,
    /// How many failed starts (exits before `startsecs`) are retried before FATAL.
    pub startretries: u32,
    pub stopsignal: c_int,
    /// How long to wait after `stopsignal` before SIGKILL.
    pub stopwaitsecs: Duration,
    /// Send `stopsignal` to the program's process group rather than its pid.
    pub stopasgroup: bool,
    /// Send SIGKILL to the program's process group rather than its pid.
    pub killasgroup: bool,
    pub directory: Option<PathBuf>,
    pub user: Option<RunAs>,
    pub umask: Option<u32>,
    /// Added to (or overriding) rinit's own environment, in this order.
    pub environment: Vec<(String, String)>,
    pub on_exit: OnExit,
    pub backoff: Backoff,
    pub output: ProgramOutput,
    /// The program's stderr goes into its stdout stream (supervisord's `redirect_stderr`).
    pub redirect_stderr: bool,
    /// This program's own prefix template, instead of `[rinit] log_prefix`.
    pub prefix: Option<String>,
    /// The supervisord group it belongs to (supervisord files; for reports).
    pub group: Option<String>,
    /// `stdout_logfile` / `stderr_logfile` as configured (supervisord files; reports).
    pub stdout_logfile: Option<String>,
    pub stderr_logfile: Option<String>,
    /// Write the stream, raw, to this file with rotation, instead of rinit's output
    /// (supervisord's `stdout_logfile=/path`, with `_maxbytes` and `_backups`).
    pub stdout_log: Option<LogFileSettings>,
    pub stderr_log: Option<LogFileSettings>,
    /// When it counts as ready: the start gate of the next priority waits for it.
    pub ready: ReadySpec,
    /// A check that restarts it when it fails `failures` times in a row.
    pub health: Option<HealthSpec>,
}

/// A log file a stream is written to, raw, with supervisord's rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFileSettings {
    pub path: PathBuf,
    /// Rotate before a write would make the file larger than this; 0: never rotate.
    pub max_bytes: u64,
    /// Rotated files kept (`path.1` newest … `path.N` oldest); 0: truncate instead.
    pub backups: u32,
}

impl ProgramSpec {
    /// A program with every key at its native-format default, for tests and front-ends.
    pub fn with_defaults(name: &str, command: Vec<String>) -> Self {
        ProgramSpec {
            name: name.to_string(),
            command,
            kind: Kind::Service,
            priority: 999,
            autostart: true,
            autorestart: Autorestart::Unexpected,
            exitcodes: vec![0],
            startsecs: Duration::from_secs(1),
            startretries: 3,
            stopsignal: libc::SIGTERM,
            stopwaitsecs: Duration::from_secs(10),
            stopasgroup: true,
            killasgroup: true,
            directory: None,
            user: None,
            umask: None,
            environment: Vec::new(),
            on_exit: OnExit::Shutdown,
            backoff: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(30),
                reset_after: Duration::from_secs(60),
            },
            output: ProgramOutput::Prefixed,
            redirect_stderr: false,
            prefix: None,
            group: None,
            stdout_logfile: None,
            stderr_logfile: None,
            stdout_log: None,
            stderr_log: None,
            ready: ReadySpec::default(),
            health: None,
        }
    }

    /// Whether an exit status counts as expected (`exitcodes`); death by signal never does.
    pub fn is_expected(&self, status: crate::plain::ExitStatus) -> bool {
        match status {
            crate::plain::ExitStatus::Exited(code) => self.exitcodes.contains(&code),
            crate::plain::ExitStatus::Signaled(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_prefers_flag_then_environment_then_default() {
        let never = |_: &std::path::Path| false;
        let always = |_: &std::path::Path| true;
        let flag = Some(PathBuf::from("/a.toml"));
        let env = Some(std::ffi::OsString::from("/b.toml"));
        let supervisord = [PathBuf::from("/etc/supervisord.conf")];
        assert_eq!(
            locate(flag, env.clone(), never, &supervisord),
            Ok("/a.toml".into())
        );
        assert_eq!(locate(None, env, never, &supervisord), Ok("/b.toml".into()));
        assert_eq!(
            locate(None, None, always, &supervisord),
            Ok("/etc/rinit.toml".into())
        );
        let only_supervisord = |p: &std::path::Path| p.ends_with("supervisord.conf");
        assert_eq!(
            locate(None, None, only_supervisord, &supervisord),
            Ok("/etc/supervisord.conf".into())
        );
        assert_eq!(
            locate(None, Some("".into()), never, &supervisord),
            Err(
                "no command given and no configuration found (tried $RINIT_CONFIG: unset, \
                 /etc/rinit.toml, /etc/supervisord.conf: not found)"
                    .into()
            )
        );
    }
}
