//! `[program:x]` (§2.2): a section's keys read into one [`ProgramSpec`] per process
//! (`numprocs`), with supervisord's defaults, by key family: process control, stopping,
//! user and umask, the processes' own keys (command, name, directory, environment), and
//! log files.

use std::path::PathBuf;
use std::time::Duration;

use super::Reader;
use super::expand::{Names, Value};
use super::ini::{Entry, Section};
use super::supervisord_section::Inherited;
use super::values::{
    autorestart, boolean, bytes, exitcodes, integer, key_value_pairs, non_negative, octal,
    process_or_group_name, signal,
};
use crate::config::{ConfigError, LogFileSettings, OnExit, ProgramOutput, ProgramSpec};

/// `[program:x]` keys that map onto a [`ProgramSpec`] (or are validated and needed to
/// build one).
const PROGRAM_KEYS: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stderr_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "environment",
    "directory",
    "umask",
    // rinit's own (supervisord ignores keys it does not know).
    "rinit_ready",
    "rinit_ready_interval",
    "rinit_ready_timeout",
    "rinit_ready_within",
    "rinit_health",
    "rinit_health_interval",
    "rinit_health_timeout",
    "rinit_health_failures",
];

/// `[program:x]` keys supervisord has and rinit does not apply (validated, then one
/// warning each).
const PROGRAM_IGNORED: &[&str] = &[
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "serverurl",
];

/// rinit's own prefixed output, by file descriptor.
const STDOUT_PATHS: &[&str] = &["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];
const STDERR_PATHS: &[&str] = &["/dev/stderr", "/dev/fd/2", "/proc/self/fd/2"];

/// supervisord has no limit; a typo like numprocs=100000000 would make PID 1 run out of
/// memory before anything starts.
const MAX_NUMPROCS: i64 = 4096;

/// `*_logfile_maxbytes` and `*_logfile_backups`: index 0 for stdout, 1 for stderr.
struct Rotation {
    max_bytes: [u64; 2],
    backups: [u32; 2],
}

/// `numprocs` and `numprocs_start`: the processes are numbered `first..first + count`.
struct ProcessCount {
    count: i64,
    first: i64,
}

/// One `[program:x]` section being read: its keys (`[DEFAULT]`'s included), the names
/// its values can expand, and the warnings found so far.
struct ProgramSection<'r, 'a> {
    reader: &'r Reader<'a>,
    section: &'r Section,
    entries: Vec<(&'r str, &'r Entry)>,
    /// `here`, `program_name`, `group_name` and `host_node_name`.
    common: Vec<(&'static str, Value)>,
    /// What the keys read once for all processes expand (no `process_num`).
    names: Names<'r>,
    warnings: Vec<String>,
}

impl Reader<'_> {
    /// The processes of `[program:x]` (the section at `index`) in group `group`, sorted
    /// as supervisord sorts them, and the program's priority.
    pub(super) fn program(
        &mut self,
        index: usize,
        program: &str,
        group: &str,
        inherited: &Inherited,
    ) -> Result<(i32, Vec<ProgramSpec>), ConfigError> {
        let mut section = ProgramSection::new(self, index, program, group);
        section.warn_unsupported_keys()?;
        // Read before the processes: these keys cannot use %(process_num)s.
        let mut template = ProgramSpec::with_defaults("", Vec::new());
        section.process_control(&mut template)?;
        section.stopping(&mut template)?;
        template.exitcodes = section.read("exitcodes", "0", exitcodes)?;
        template.redirect_stderr = section.read("redirect_stderr", "false", boolean)?;
        let count = section.process_count()?;
        section.identity(&mut template, inherited)?;
        section.checks(&mut template)?;
        // rinit's own choices for every supervisord process.
        template.on_exit = OnExit::Shutdown;
        template.output = ProgramOutput::Prefixed;
        let rotation = section.rotation()?;
        let process_name = section.process_name(count.count)?;
        let mut processes = Vec::new();
        for process_num in count.first..count.first.saturating_add(count.count.max(0)) {
            let process = section.process(&template, process_num, count.count, &process_name)?;
            processes.push(section.with_log_files(process, &rotation, template.redirect_stderr)?);
        }
        let warnings = section.warnings;
        // A program with numprocs > 1 reads its keys once per process: one warning each.
        for warning in warnings {
            if !self.warnings.contains(&warning) {
                self.warnings.push(warning);
            }
        }
        // supervisord sorts a program's processes by (priority, name); the priority is
        // the same for all, so by name (as strings: w10 before w2).
        processes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((template.priority, processes))
    }
}

impl<'r, 'a> ProgramSection<'r, 'a> {
    fn new(reader: &'r Reader<'a>, index: usize, program: &str, group: &str) -> Self {
        let section = &reader.ini.sections[index];
        let common = vec![
            ("here", Value::Str(reader.here.clone())),
            ("program_name", Value::Str(program.to_string())),
            ("group_name", Value::Str(group.to_string())),
            ("host_node_name", Value::Str(reader.host.clone())),
        ];
        ProgramSection {
            reader,
            section,
            entries: reader.ini.keys(section),
            names: reader.names(&common, reader.global_env.clone()),
            common,
            warnings: Vec::new(),
        }
    }

    fn entry(&self, key: &str) -> Option<&'r Entry> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, entry)| entry)
    }

    fn error(&self, entry: &Entry, key: &str, message: impl Into<String>) -> ConfigError {
        self.reader.error(entry, &self.section.name, key, message)
    }

    fn section_error(&self, message: impl Into<String>) -> ConfigError {
        self.reader.section_error(self.section, message)
    }

    fn expand(&self, entry: &Entry, key: &str, names: &Names) -> Result<String, ConfigError> {
        self.reader.expand(entry, &self.section.name, key, names)
    }

    /// A warning at `entry`: `FILE:LINE: [program:x] KEY: MESSAGE`.
    fn warn(&mut self, entry: &Entry, key: &str, message: &str) {
        self.warnings.push(format!(
            "{}:{}: [{}] {key}: {message}",
            entry.file.display(),
            entry.line,
            self.section.name
        ));
    }

    /// `key`'s value, or `default` when it is not given, expanded and parsed; a bad
    /// value is an error at its key.
    fn read<T>(
        &self,
        key: &str,
        default: &str,
        parse: fn(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let (text, given) = self.text(key, default)?;
        parse(text.as_str()).map_err(|message| self.invalid(given, key, message))
    }

    /// `key`'s value expanded, or `default`; and the entry, when the key was given.
    fn text(&self, key: &str, default: &str) -> Result<(String, Option<&'r Entry>), ConfigError> {
        let given = self.entry(key);
        let text = match given {
            Some(entry) => self.expand(entry, key, &self.names)?,
            None => default.to_string(),
        };
        Ok((text, given))
    }

    /// The error for a bad value of `key`: at its entry, or at the section when the
    /// default was read.
    fn invalid(&self, given: Option<&Entry>, key: &str, message: String) -> ConfigError {
        match given {
            Some(entry) => self.error(entry, key, message),
            None => self.section_error(message),
        }
    }

    /// One warning for each key rinit does not apply (validated first) or does not know.
    fn warn_unsupported_keys(&mut self) -> Result<(), ConfigError> {
        for (key, entry) in self.entries.clone() {
            if PROGRAM_IGNORED.contains(&key) {
                let value = self.expand(entry, key, &self.names)?;
                let valid = if key.ends_with("_enabled") || key.ends_with("_syslog") {
                    boolean(&value).map(|b| b.then_some(()))
                } else if key.ends_with("_maxbytes") {
                    bytes(&value).map(|n| (n != 0).then_some(()))
                } else {
                    // serverurl
                    Ok((!value.trim().eq_ignore_ascii_case("auto")).then_some(()))
                };
                if valid.map_err(|m| self.error(entry, key, m))?.is_some() {
                    self.warn(entry, key, "not supported by rinit, ignored");
                }
            } else if !PROGRAM_KEYS.contains(&key) {
                self.warn(entry, key, "unknown key, ignored");
            }
        }
        Ok(())
    }

    /// `priority`, `autostart`, `autorestart`, `startsecs` and `startretries`.
    fn process_control(&self, spec: &mut ProgramSpec) -> Result<(), ConfigError> {
        spec.priority = self.read("priority", "999", |text| {
            integer(text)
                .and_then(|n| i32::try_from(n).map_err(|_| format!("priority out of range: {n}")))
        })?;
        spec.autostart = self.read("autostart", "true", boolean)?;
        spec.autorestart = self.read("autorestart", "unexpected", autorestart)?;
        spec.startsecs = Duration::from_secs(self.read("startsecs", "1", non_negative)?);
        spec.startretries = self.read("startretries", "3", non_negative)?;
        Ok(())
    }

    /// `stopsignal`, `stopwaitsecs`, `stopasgroup` and `killasgroup`.
    fn stopping(&self, spec: &mut ProgramSpec) -> Result<(), ConfigError> {
        spec.stopsignal = self.read("stopsignal", "TERM", signal)?;
        spec.stopwaitsecs = Duration::from_secs(self.read("stopwaitsecs", "10", non_negative)?);
        spec.stopasgroup = self.read("stopasgroup", "false", boolean)?;
        let given = self.entry("killasgroup");
        spec.killasgroup = match given {
            Some(_) => self.read("killasgroup", "false", boolean)?,
            None => spec.stopasgroup,
        };
        // Left out, killasgroup is stopasgroup: only a given one can disagree.
        if spec.stopasgroup
            && !spec.killasgroup
            && let Some(entry) = given
        {
            return Err(self.error(
                entry,
                "killasgroup",
                "Cannot set stopasgroup=true and killasgroup=false",
            ));
        }
        Ok(())
    }

    /// `rinit_ready*` and `rinit_health*`: rinit's readiness and health checks.
    fn checks(&self, spec: &mut ProgramSpec) -> Result<(), ConfigError> {
        use super::checks::{duration, failures, probe, ready_kind};
        spec.ready.kind = self.read("rinit_ready", "started", ready_kind)?;
        spec.ready.interval = self.read("rinit_ready_interval", "200ms", duration)?;
        spec.ready.timeout = self.read("rinit_ready_timeout", "1s", duration)?;
        spec.ready.within = self.read("rinit_ready_within", "60s", duration)?;
        let given = self.entry("rinit_health").is_some();
        let timing = [
            "rinit_health_interval",
            "rinit_health_timeout",
            "rinit_health_failures",
        ];
        if !given && let Some(entry) = timing.iter().find_map(|key| self.entry(key)) {
            return Err(self.error(entry, "rinit_health", "missing: the timing needs a check"));
        }
        if given {
            spec.health = Some(crate::config::HealthSpec {
                probe: self.read("rinit_health", "", probe)?,
                interval: self.read("rinit_health_interval", "10s", duration)?,
                timeout: self.read("rinit_health_timeout", "1s", duration)?,
                failures: self.read("rinit_health_failures", "3", failures)?,
            });
        }
        Ok(())
    }

    /// `numprocs` (at most [`MAX_NUMPROCS`]) and `numprocs_start`.
    fn process_count(&self) -> Result<ProcessCount, ConfigError> {
        let count = self.read("numprocs", "1", integer)?;
        if count > MAX_NUMPROCS
            && let Some(entry) = self.entry("numprocs")
        {
            return Err(self.error(
                entry,
                "numprocs",
                format!("{count} is more than rinit runs ({MAX_NUMPROCS} at most)"),
            ));
        }
        let first = self.read("numprocs_start", "0", integer)?;
        Ok(ProcessCount { count, first })
    }

    /// `user` and `umask`, else what `[supervisord]` passes on.
    fn identity(&self, spec: &mut ProgramSpec, inherited: &Inherited) -> Result<(), ConfigError> {
        spec.user = match self.entry("user") {
            Some(entry) => {
                let name = self.expand(entry, "user", &self.names)?;
                Some(self.reader.users.user(&name).ok_or_else(|| {
                    self.error(entry, "user", format!("Invalid user name {name}"))
                })?)
            }
            None => inherited.user.clone(),
        };
        spec.umask = match self.entry("umask") {
            Some(_) => Some(self.read("umask", "022", octal)?),
            None => inherited.umask,
        };
        Ok(())
    }

    /// `*_logfile_maxbytes` (default 50MB) and `*_logfile_backups` (default 10), with a
    /// warning for a value rinit cannot take as it is.
    fn rotation(&mut self) -> Result<Rotation, ConfigError> {
        let mut rotation = Rotation {
            max_bytes: [0; 2],
            backups: [0; 2],
        };
        for (slot, key) in ["stdout_logfile_maxbytes", "stderr_logfile_maxbytes"]
            .into_iter()
            .enumerate()
        {
            let value = self.read(key, "50MB", bytes)?;
            rotation.max_bytes[slot] = u64::try_from(value).unwrap_or(0);
            if value < 0
                && let Some(entry) = self.entry(key)
            {
                let message = format!("{value} is negative: the file is never rotated");
                self.warn(entry, key, &message);
            }
        }
        for (slot, key) in ["stdout_logfile_backups", "stderr_logfile_backups"]
            .into_iter()
            .enumerate()
        {
            // Capped: each backup is one rename per rotation.
            let value = self.read(key, "10", integer)?;
            rotation.backups[slot] = u32::try_from(value).unwrap_or(0).min(1000);
            if i64::from(rotation.backups[slot]) != value
                && let Some(entry) = self.entry(key)
            {
                let kept = rotation.backups[slot];
                self.warn(
                    entry,
                    key,
                    &format!("{value} is out of range: {kept} backups are kept"),
                );
            }
        }
        Ok(rotation)
    }

    /// `process_name` (default `%(program_name)s`), not yet expanded, as an entry that
    /// errors can point at; it must hold `%(process_num)` when `numprocs` > 1.
    fn process_name(&self, numprocs: i64) -> Result<Entry, ConfigError> {
        let given = self.entry("process_name");
        let process_name = given
            .map(|entry| entry.value.clone())
            .unwrap_or_else(|| "%(program_name)s".into());
        if let Some(entry) = given {
            // Checked before expansion as well as after.
            process_or_group_name(&entry.value)
                .map_err(|m| self.error(entry, "process_name", m))?;
        }
        if numprocs > 1 && !process_name.contains("%(process_num)") {
            let message = "%(process_num) must be present within process_name when numprocs > 1";
            return Err(match given {
                Some(entry) => self.error(entry, "process_name", message),
                // numprocs > 1 was given (here or in [DEFAULT]).
                None => match self.entry("numprocs") {
                    Some(entry) => self.error(entry, "numprocs", message),
                    None => self.section_error(message),
                },
            });
        }
        Ok(Entry {
            value: process_name,
            ..given.or(self.entry("numprocs")).cloned().unwrap_or(Entry {
                value: String::new(),
                file: self.section.file.clone(),
                line: self.section.line,
            })
        })
    }

    /// Process `process_num` of the program: `template` with the keys that can use
    /// `%(process_num)s` (environment, command, process name, directory).
    fn process(
        &self,
        template: &ProgramSpec,
        process_num: i64,
        numprocs: i64,
        process_name: &Entry,
    ) -> Result<ProcessDraft<'r>, ConfigError> {
        let mut fixed = self.common.clone();
        fixed.push(("process_num", Value::Int(process_num)));
        fixed.push(("numprocs", Value::Int(numprocs)));
        let names = self.reader.names(&fixed, self.reader.global_env.clone());
        let own_env = match self.entry("environment") {
            Some(entry) => {
                let text = self.expand(entry, "environment", &names)?;
                key_value_pairs(&text).map_err(|m| self.error(entry, "environment", m))?
            }
            None => Vec::new(),
        };
        // command, process_name, directory and the logfiles also see this program's own
        // environment as ENV_*.
        let mut extra = self.reader.global_env.clone();
        extra.extend(own_env.iter().cloned());
        let names = Names {
            extra_env: extra,
            ..names
        };
        let command = self.command(&names)?;
        let name = self.expand(process_name, "process_name", &names)?;
        let name = process_or_group_name(&name)
            .map_err(|m| self.error(process_name, "process_name", m))?;
        let directory = match self.entry("directory") {
            Some(entry) => Some(PathBuf::from(self.expand(entry, "directory", &names)?)),
            None => None,
        };
        // The template's settings, field by field: a whole `template.clone()` costs
        // kilobytes of code. Log files come next; the group comes with the plan.
        let mut spec = ProgramSpec::with_defaults(&name, command);
        spec.priority = template.priority;
        spec.autostart = template.autostart;
        spec.autorestart = template.autorestart;
        spec.exitcodes = template.exitcodes.clone();
        spec.startsecs = template.startsecs;
        spec.startretries = template.startretries;
        spec.stopsignal = template.stopsignal;
        spec.stopwaitsecs = template.stopwaitsecs;
        spec.stopasgroup = template.stopasgroup;
        spec.killasgroup = template.killasgroup;
        spec.user = template.user.clone();
        spec.umask = template.umask;
        spec.directory = directory;
        spec.redirect_stderr = template.redirect_stderr;
        spec.on_exit = template.on_exit;
        spec.output = template.output;
        spec.ready = template.ready.clone();
        spec.health = template.health.clone();
        spec.environment = merged_environment(&self.reader.global_env, own_env);
        Ok(ProcessDraft { spec, names })
    }

    /// `command`, split as a POSIX shell would.
    fn command(&self, names: &Names) -> Result<Vec<String>, ConfigError> {
        let Some(entry) = self.entry("command") else {
            return Err(self.section_error(format!(
                "program section {} does not specify a command",
                self.section.name
            )));
        };
        let line = self.expand(entry, "command", names)?;
        let command = shlex::split(&line).ok_or_else(|| {
            self.error(
                entry,
                "command",
                format!("expected a command line with balanced quotes, found {line:?}"),
            )
        })?;
        if command.first().is_none_or(String::is_empty) {
            return Err(self.error(entry, "command", "the command is empty"));
        }
        Ok(command)
    }

    /// The process with `stdout_logfile` and `stderr_logfile` applied. `redirect_stderr`
    /// is the program's own setting (a `stderr_logfile=/dev/stdout` does not count).
    fn with_log_files(
        &mut self,
        process: ProcessDraft,
        rotation: &Rotation,
        redirect_stderr: bool,
    ) -> Result<ProgramSpec, ConfigError> {
        let ProcessDraft { mut spec, names } = process;
        for key in ["stdout_logfile", "stderr_logfile"] {
            let Some(entry) = self.entry(key) else {
                continue;
            };
            // Expanded twice (§1.4).
            let once = self.expand(entry, key, &names)?;
            let twice = Entry {
                value: once,
                ..entry.clone()
            };
            let value = self.expand(&twice, key, &names)?;
            let stderr = key == "stderr_logfile";
            if stderr {
                spec.stderr_logfile = Some(value.clone());
            } else {
                spec.stdout_logfile = Some(value.clone());
            }
            let file = self.log_destination(&mut spec, entry, key, &value, rotation);
            if stderr && redirect_stderr {
                self.warn(
                    entry,
                    key,
                    "ignored: redirect_stderr=true sends stderr to stdout",
                );
            } else if stderr {
                spec.stderr_log = file;
            } else {
                spec.stdout_log = file;
            }
        }
        Ok(spec)
    }

    /// Where a `*_logfile` value sends its stream: a file (`Some`), or rinit's prefixed
    /// output (`None`). A real file is written raw, with rotation, as supervisord does;
    /// NONE is a file nobody reads; AUTO (supervisord's temporary file) and SYSLOG are
    /// rinit's output. supervisord matches its keywords without regard to case.
    fn log_destination(
        &mut self,
        spec: &mut ProgramSpec,
        entry: &Entry,
        key: &str,
        value: &str,
        rotation: &Rotation,
    ) -> Option<LogFileSettings> {
        let slot = usize::from(key == "stderr_logfile");
        let own_stream = if slot == 0 {
            STDOUT_PATHS
        } else {
            STDERR_PATHS
        };
        let keyword = value.to_ascii_uppercase();
        match keyword.as_str() {
            _ if own_stream.contains(&value) => None,
            // The Docker idiom `stderr_logfile=/dev/stdout`: stderr into the stdout
            // stream, prefixed, as with redirect_stderr.
            _ if slot == 1 && STDOUT_PATHS.contains(&value) => {
                spec.redirect_stderr = true;
                None
            }
            _ if slot == 0 && STDERR_PATHS.contains(&value) => {
                let message = format!(
                    "{key}={value}: rinit writes a program's stdout to its own stdout, prefixed"
                );
                self.warn(entry, key, &message);
                None
            }
            "AUTO" | "SYSLOG" => {
                let stream = &key[..6];
                let message = format!("{key}={value}: output goes to rinit's prefixed {stream}");
                self.warn(entry, key, &message);
                None
            }
            "NONE" | "OFF" => Some(LogFileSettings {
                path: PathBuf::from("/dev/null"),
                max_bytes: 0,
                backups: 0,
            }),
            _ => Some(LogFileSettings {
                path: PathBuf::from(value),
                max_bytes: rotation.max_bytes[slot],
                backups: rotation.backups[slot],
            }),
        }
    }
}

/// A process with everything but its log files, and the names those expand.
struct ProcessDraft<'r> {
    spec: ProgramSpec,
    names: Names<'r>,
}

/// `[supervisord] environment` with the program's own on top: a variable set in both
/// keeps the global place and takes the program's value.
fn merged_environment(
    global: &[(String, String)],
    own: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut environment = global.to_vec();
    for (key, value) in own {
        match environment.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => environment.push((key, value)),
        }
    }
    environment
}
