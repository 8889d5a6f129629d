//! `[supervisord]` (§2.1): what its programs inherit from it (environment, umask, user),
//! and its other keys, validated as supervisord would and otherwise not applied.

use super::Reader;
use super::expand::{Names, Value};
use super::ini::Entry;
use super::values::{boolean, bytes, integer, key_value_pairs, octal};
use crate::config::{ConfigError, RunAs};

const SECTION: &str = "supervisord";

/// supervisord's log levels, any case.
const LOG_LEVELS: &[&str] = &[
    "critical", "error", "warn", "info", "debug", "trace", "blather",
];

/// `logfile` values that need no warning: nothing, or rinit's own streams.
const HARMLESS_LOGFILES: &[&str] = &[
    "/dev/null",
    "/dev/stdout",
    "/dev/fd/1",
    "/proc/self/fd/1",
    "/dev/stderr",
    "/dev/fd/2",
    "/proc/self/fd/2",
];

/// What every program inherits from supervisord, as its children would, unless it sets
/// its own.
pub(super) struct Inherited {
    pub(super) umask: Option<u32>,
    /// A non-root `user`; `user=root` leaves programs to run as rinit does.
    pub(super) user: Option<RunAs>,
    /// `rinit_stop_delay`: rinit's drain delay (supervisord ignores the key).
    pub(super) stop_delay: std::time::Duration,
    /// `rinit_control_socket` and `rinit_http` (supervisord ignores them).
    pub(super) control: crate::config::ControlSpec,
}

impl Reader<'_> {
    /// `[supervisord]`, the section at `index`: its environment goes to `global_env`, its
    /// warnings to `warnings`.
    pub(super) fn supervisord_section(&mut self, index: usize) -> Result<Inherited, ConfigError> {
        let section = &self.ini.sections[index];
        let mut inherited = Inherited {
            umask: None,
            user: None,
            stop_delay: std::time::Duration::ZERO,
            control: Default::default(),
        };
        let names = self.names(&[("here", Value::Str(self.here.clone()))], Vec::new());
        let with_host = self.names(
            &[
                ("here", Value::Str(self.here.clone())),
                ("host_node_name", Value::Str(self.host.clone())),
            ],
            Vec::new(),
        );
        let mut warnings = Vec::new();
        let mut global_env = Vec::new();
        for (key, entry) in self.ini.keys(section) {
            if key == "environment" {
                global_env = self.global_environment(entry, &with_host)?;
                continue;
            }
            let value = self.expand(entry, SECTION, key, &names)?;
            let warning = match key {
                "umask" => {
                    let umask = octal(&value).map_err(|m| self.error(entry, SECTION, key, m))?;
                    inherited.umask = Some(umask);
                    None
                }
                "rinit_stop_delay" => {
                    inherited.stop_delay = crate::config::parse_duration(key, &value)
                        .map_err(|m| self.error(entry, SECTION, key, m))?;
                    None
                }
                "rinit_control_socket" => {
                    inherited.control.socket = Some(value.clone());
                    None
                }
                "rinit_http" if value.is_empty() => {
                    inherited.control.http = None;
                    None
                }
                "rinit_http" => {
                    let addr = crate::config::parse_socket_addr(&value)
                        .map_err(|m| self.error(entry, SECTION, key, m))?;
                    inherited.control.http = Some(addr);
                    None
                }
                "user" => {
                    let found = self.users.user(&value).ok_or_else(|| {
                        self.error(entry, SECTION, key, format!("Invalid user name {value}"))
                    })?;
                    if found.uid != 0 {
                        inherited.user = Some(found);
                    }
                    None
                }
                _ => {
                    let own = section.keys.iter().any(|(k, _)| k == key);
                    self.unapplied_setting(entry, key, &value, own)?
                }
            };
            if let Some(message) = warning {
                warnings.push(format!(
                    "{}:{}: [supervisord] {key}: {message}",
                    entry.file.display(),
                    entry.line
                ));
            }
        }
        self.warnings.append(&mut warnings);
        self.global_env = global_env;
        Ok(inherited)
    }

    /// `environment=`, which 4.3.0 expands twice (§1.9).
    fn global_environment(
        &self,
        entry: &Entry,
        names: &Names,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let key = "environment";
        let once = self.expand(entry, SECTION, key, names)?;
        let twice = Entry {
            value: once,
            ..entry.clone()
        };
        let text = self.expand(&twice, SECTION, key, names)?;
        key_value_pairs(&text).map_err(|m| self.error(entry, SECTION, key, m))
    }

    /// A key rinit does not apply, checked as supervisord checks it; the warning to give,
    /// if any. `own`: written in `[supervisord]` itself rather than `[DEFAULT]`.
    fn unapplied_setting(
        &self,
        entry: &Entry,
        key: &str,
        value: &str,
        own: bool,
    ) -> Result<Option<&'static str>, ConfigError> {
        let invalid = |message: String| self.error(entry, SECTION, key, message);
        let warning = match key {
            "nodaemon" | "silent" | "nocleanup" => {
                boolean(value).map_err(invalid)?;
                None
            }
            "strip_ansi" => boolean(value)
                .map_err(invalid)?
                .then_some("not supported by rinit, ignored (output is passed as it is)"),
            "minfds" | "minprocs" => {
                let n = integer(value).map_err(invalid)?;
                let default = if key == "minfds" { 1024 } else { 200 };
                (n != default).then_some(
                    "not applied by rinit (it does not raise resource limits; the container's limits apply)",
                )
            }
            "logfile_maxbytes" => {
                bytes(value).map_err(invalid)?;
                None
            }
            "logfile_backups" => {
                integer(value).map_err(invalid)?;
                None
            }
            "loglevel" => {
                if !LOG_LEVELS.contains(&value.to_ascii_lowercase().as_str()) {
                    return Err(invalid(format!("invalid log level {value:?}")));
                }
                None
            }
            "logfile" => (!HARMLESS_LOGFILES.contains(&value))
                .then_some("ignored: rinit writes its own messages to its stderr"),
            "pidfile" | "childlogdir" | "identifier" => None,
            "directory" => Some("ignored: rinit does not change its own directory"),
            // A [DEFAULT] key meant for programs is not reported here.
            _ if !own => None,
            _ => Some("unknown key, ignored"),
        };
        Ok(warning)
    }
}
