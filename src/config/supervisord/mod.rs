//! supervisord's configuration format (an INI dialect) read into the same [`Plan`] as the
//! native TOML format, following supervisord 4.3.0 as described in
//! `specs/supervisord-dialect.md` (section numbers below refer to it).
//!
//! Reading happens in three steps, as in supervisord:
//! 1. the INI layer (§1.1–§1.3, [`ini`]): Python's `RawConfigParser` with
//!    `inline_comment_prefixes=(';','#')` and `strict=False`, the main file first and
//!    then the files of its `[include]` (§1.5, [`include`]), all merged into one set of
//!    sections, with `%(here)s` replaced textually by each file's directory after that
//!    file is read;
//! 2. `%(name)s` expansion (§1.4, [`expand`]), per key, with the names supervisord offers
//!    there;
//! 3. interpretation of `[supervisord]` ([`supervisord_section`]), `[program:x]`
//!    ([`program`]) and `[group:x]` ([`plan`]) (§2.1, §2.2, §2.5), with supervisord's
//!    defaults and value syntaxes ([`values`]), and the start order of §3.3 ([`plan`]).
//!
//! supervisord ignores unknown keys and sections silently; rinit reports each one as a
//! warning (one line each, `FILE:LINE: [SECTION] KEY: MESSAGE`), as it does every key it
//! reads but does not apply.
//!
//! **Decisions** (where rinit cannot simply do what supervisord does):
//! * `[supervisord]`: `environment` is added to every program (the program's own wins);
//!   `umask` becomes the default `umask` of programs, and a non-root `user` their default
//!   `user` (children inherit both from supervisord); `nodaemon`, `silent`, `nocleanup`,
//!   `loglevel`, `logfile_maxbytes`, `logfile_backups`, `pidfile`, `childlogdir`,
//!   `identifier`, `user=root`, `minfds`/`minprocs` at their defaults and `logfile` set to
//!   /dev/null or rinit's own stdout/stderr are validated and accepted silently (they are
//!   harmless or meaningless for rinit); any other `logfile`, `directory`, `minfds`,
//!   `minprocs`, `strip_ansi=true` and unknown keys produce one warning each.
//! * `stdout_logfile`/`stderr_logfile`: a path is written raw (no prefix), rotated as
//!   supervisord rotates it by `*_logfile_maxbytes` (default 50MB; 0 or less: never) and
//!   `*_logfile_backups` (default 10, at most 1000). `NONE`/`OFF` go to /dev/null;
//!   `AUTO`/`SYSLOG` go to rinit's prefixed output, with a warning (keywords in any
//!   case). `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1` (`/dev/stderr`, `/dev/fd/2`,
//!   `/proc/self/fd/2` for stderr) mean rinit's prefixed output, silently, and
//!   `stderr_logfile=/dev/stdout` joins stderr to the stdout stream, as
//!   `redirect_stderr=true` does. Left out, they are supervisord's `AUTO`, read as rinit's
//!   prefixed output without a warning.
//! * `stdout_capture_maxbytes`, `*_events_enabled`, `*_syslog`, `serverurl`: validated,
//!   then a warning when set to anything but their default.
//! * `[eventlistener:x]`, `[fcgi-program:x]`, `[unix_http_server]`, `[inet_http_server]`,
//!   `[supervisorctl]`, `[rpcinterface:x]`, `[ctlplugin:x]`, and unknown sections (such as
//!   `[Program:x]`): one warning each. A `[group:x]` naming an fcgi-program is an error.
//! * An include that matches but cannot be read is skipped with a warning (Python's
//!   ConfigParser skips it silently).
//! * A command is split with the `shlex` crate (POSIX rules, as Python's `shlex.split`);
//!   an empty command or unbalanced quotes are errors here (supervisord fails at spawn).
//! * Process names must be unique across the plan (a program listed in two groups, which
//!   supervisord runs twice, is an error), and a plan needs at least one process.
//! * `stopsignal=0` is refused (supervisord accepts it; it cannot stop anything).
//! * Every process gets rinit's `on_exit = shutdown` and its default backoff.
//!
//! **Priorities.** supervisord sorts its process groups (one per `[program:x]`, or one per
//! `[group:x]`) by (priority, name) and spawns everything in that order in one pass;
//! inside a `[group:x]` the members follow the `programs=` list and their own priorities
//! are ignored. rinit starts a priority level only once the level before it is RUNNING,
//! and starts equal priorities together, in `Plan` order. So every process gets the
//! priority of its supervisord group (a `[group:x]`'s priority for all its members, a
//! program's own priority otherwise) and `Plan.programs` lists the processes in
//! supervisord's exact spawn order. One supervisord priority is then one rinit level:
//! the order inside a level is supervisord's, and rinit's only addition is the wait
//! between levels of different priority. Giving each process a distinct priority instead
//! would make rinit wait for each one to be RUNNING before the next, which supervisord
//! never does.

mod checks;
mod expand;
#[cfg(test)]
pub(crate) mod fuzz_hooks;
mod include;
mod ini;
mod plan;
mod program;
mod supervisord_section;
#[cfg(test)]
mod tests;
mod values;

use std::path::{Path, PathBuf};

use self::ini::{Entry, Ini, Section};
use super::{ConfigError, Plan, SystemUsers, UserDb};

/// Section headers that only supervisord's INI format has.
const MARKERS: &[&str] = &[
    "[program:",
    "[group:",
    "[supervisord]",
    "[include]",
    "[eventlistener:",
    "[fcgi-program:",
    "[unix_http_server]",
    "[inet_http_server",
    "[supervisorctl]",
    "[rpcinterface:",
];

/// Whether `text` looks like a supervisord INI file rather than TOML: a line starting
/// with one of supervisord's section headers (TOML writes `[program.x]`, and
/// `[program:x]` is not a valid TOML table header).
pub fn looks_like_supervisord(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches('\u{feff}');
        MARKERS.iter().any(|marker| line.starts_with(marker))
    })
}

/// Reads a supervisord configuration file and the files it includes.
pub fn load(path: &Path) -> Result<(Plan, Vec<String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::io(path, err))?;
    let read_file = |path: &Path| std::fs::read_to_string(path);
    let list_dir = |dir: &Path| {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<Vec<_>>>()
    };
    parse(
        &text,
        path,
        &|name| std::env::var(name).ok(),
        &SystemUsers,
        &read_file,
        &list_dir,
    )
}

/// The same on text already read, with the environment, the user database and the file
/// system (for `[include]`) injected.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    users: &dyn UserDb,
    read_file: &dyn Fn(&Path) -> std::io::Result<String>,
    list_dir: &dyn Fn(&Path) -> std::io::Result<Vec<PathBuf>>,
) -> Result<(Plan, Vec<String>), ConfigError> {
    let mut reader = Reader {
        path,
        here: directory_of(path),
        env,
        users,
        host: hostname(),
        ini: Ini::default(),
        warnings: Vec::new(),
        global_env: Vec::new(),
    };
    reader.ini.read(text, path, &reader.here.clone())?;
    reader.includes(read_file, list_dir)?;
    let plan = reader.plan()?;
    Ok((plan, reader.warnings))
}

/// A supervisord file being read: the sections read so far, and what the reading found.
struct Reader<'a> {
    path: &'a Path,
    /// The main file's directory.
    here: String,
    env: &'a dyn Fn(&str) -> Option<String>,
    users: &'a dyn UserDb,
    /// `%(host_node_name)s`.
    host: String,
    ini: Ini,
    /// One line each, `FILE:LINE: [SECTION] KEY: MESSAGE`, in the order found.
    warnings: Vec<String>,
    /// `[supervisord] environment`, in order.
    global_env: Vec<(String, String)>,
}

impl Reader<'_> {
    /// An error at a key: `FILE:LINE: [SECTION] KEY: MESSAGE`.
    fn error(
        &self,
        entry: &Entry,
        section: &str,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::new(
            &entry.file,
            Some(entry.line),
            Some(format!("[{section}] {key}")),
            message,
        )
    }

    /// An error about a whole section: `FILE:LINE: [SECTION]: MESSAGE`.
    fn section_error(&self, section: &Section, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            &section.file,
            Some(section.line),
            Some(format!("[{}]", section.name)),
            message,
        )
    }

    /// A warning: `FILE:LINE: WHAT: MESSAGE`.
    fn warn(&mut self, file: &Path, line: usize, what: &str, message: &str) {
        self.warnings
            .push(format!("{}:{line}: {what}: {message}", file.display()));
    }
}

/// The directory a file is in (absolute): its `%(here)s`.
fn directory_of(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute
        .parent()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|| "/".into())
}

/// `platform.node()`: the node name of the UTS namespace (the container's hostname), or
/// "" when it cannot be known (as Python gives).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim_end_matches('\n').to_string())
        .unwrap_or_default()
}

/// Where supervisord looks for its file without `-c` (§1.7), in order: relative to the
/// executable's directory `exe_dir`, then to the working directory `cwd`, then in /etc.
pub fn search_paths(exe_dir: &Path, cwd: &Path) -> Vec<PathBuf> {
    vec![
        exe_dir.join("../etc/supervisord.conf"),
        exe_dir.join("../supervisord.conf"),
        cwd.join("supervisord.conf"),
        cwd.join("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
}
