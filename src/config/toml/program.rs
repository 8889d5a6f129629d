//! A `[program.NAME]` table read into a [`ProgramSpec`]: its name, its keys in file
//! order, and the backoff bounds checked together.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;
use toml::de::DeTable;

use super::keys::in_file_order;
use super::{Key, Reader, Value};
use crate::config::{Backoff, ConfigError, Kind, MAX_NAME_LEN, OnExit, ProgramOutput, ProgramSpec};

/// The keys a `[program.NAME]` table may have.
const PROGRAM_KEYS: &[&str] = &[
    "command",
    "priority",
    "autostart",
    "autorestart",
    "exitcodes",
    "startsecs",
    "startretries",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "directory",
    "user",
    "umask",
    "environment",
    "type",
    "on_exit",
    "backoff",
    "backoff_max",
    "backoff_reset",
    "output",
    "redirect_stderr",
    "log_prefix",
    "ready",
    "health",
];

/// The shortest restart delay: a crash-looping program with `startsecs = 0` is never
/// FATAL, so its delay is all that keeps it from spinning.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

impl Reader<'_> {
    /// `[program.NAME]`, NAME being `name` and its table `value`.
    pub(super) fn program(&self, name: &Key, value: &Value) -> Result<ProgramSpec, ConfigError> {
        self.check_program_name(name)?;
        let prefix = format!("program.{}", name.get_ref());
        let table = self.table(value, &prefix, "a table")?;
        self.check_keys(table, &prefix, PROGRAM_KEYS)?;
        let Some(command) = table.get("command") else {
            return Err(self.error(&name.span(), &prefix, "missing key 'command'"));
        };
        let command = self.command(command, &format!("{prefix}.command"))?;
        let mut spec = ProgramSpec::with_defaults(name.get_ref(), command);
        for (field, value) in in_file_order(table) {
            self.program_key(&mut spec, &prefix, field, value)?;
        }
        self.check_backoff(
            &mut spec.backoff,
            table,
            &prefix,
            table.get("backoff").is_some(),
            table.get("backoff_max").is_some(),
        )?;
        Ok(spec)
    }

    /// A name that can be a label in every output line: letters, digits, `_`, `.` and
    /// `-`, at most [`MAX_NAME_LEN`] bytes.
    fn check_program_name(&self, name: &Key) -> Result<(), ConfigError> {
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if name.get_ref().is_empty() || !name.get_ref().chars().all(valid) {
            return Err(self.error(
                &name.span(),
                "program",
                format!(
                    "invalid program name '{}' (expected letters, digits, '_', '.' or '-')",
                    name.get_ref()
                ),
            ));
        }
        if name.get_ref().len() > MAX_NAME_LEN {
            return Err(self.error(
                &name.span(),
                "program",
                format!(
                    "a program name of {} characters (expected at most {})",
                    name.get_ref().len(),
                    MAX_NAME_LEN
                ),
            ));
        }
        Ok(())
    }

    /// One key of a program's table (`prefix` is `program.NAME`), applied to `spec`.
    fn program_key(
        &self,
        spec: &mut ProgramSpec,
        prefix: &str,
        field: &Key,
        value: &Value,
    ) -> Result<(), ConfigError> {
        let key = format!("{prefix}.{}", field.get_ref());
        let key = key.as_str();
        match field.get_ref().as_ref() {
            // Read first, by `program`.
            "command" => {}
            "priority" => spec.priority = self.integer(value, key, "an integer (i32)")?,
            "autostart" => spec.autostart = self.boolean(value, key)?,
            "autorestart" => spec.autorestart = self.autorestart(value, key)?,
            "exitcodes" => spec.exitcodes = self.exitcodes(value, key)?,
            "startsecs" => spec.startsecs = self.duration(value, key)?,
            "startretries" => {
                spec.startretries = self.integer(value, key, "a non-negative integer")?;
            }
            "stopsignal" => spec.stopsignal = self.stopsignal(value, key)?,
            "stopwaitsecs" => spec.stopwaitsecs = self.duration(value, key)?,
            "stopasgroup" => spec.stopasgroup = self.boolean(value, key)?,
            "killasgroup" => spec.killasgroup = self.boolean(value, key)?,
            "directory" => {
                let directory = self.string(value, key)?;
                if !Path::new(&directory).is_absolute() {
                    return Err(self.error(
                        &value.span(),
                        key,
                        format!("expected an absolute path, found {directory:?}"),
                    ));
                }
                spec.directory = Some(directory.into());
            }
            "user" => spec.user = Some(self.user(value, key)?),
            "ready" => spec.ready = self.ready(value, key)?,
            "health" => spec.health = Some(self.health(value, key)?),
            "umask" => spec.umask = Some(self.umask(value, key)?),
            "environment" => spec.environment = self.environment(value, key)?,
            "type" => {
                spec.kind = match self.string(value, key)?.as_str() {
                    "service" => Kind::Service,
                    "oneshot" => Kind::Oneshot,
                    _ => return Err(self.expected(value, key, "\"service\" or \"oneshot\"")),
                }
            }
            "output" => {
                spec.output = match self.string(value, key)?.as_str() {
                    "prefixed" => ProgramOutput::Prefixed,
                    "inherit" => ProgramOutput::Inherit,
                    _ => return Err(self.expected(value, key, "\"prefixed\" or \"inherit\"")),
                }
            }
            "redirect_stderr" => spec.redirect_stderr = self.boolean(value, key)?,
            "log_prefix" => spec.prefix = Some(self.string(value, key)?),
            "on_exit" => {
                spec.on_exit = match self.string(value, key)?.as_str() {
                    "shutdown" => OnExit::Shutdown,
                    "ignore" => OnExit::Ignore,
                    _ => return Err(self.expected(value, key, "\"shutdown\" or \"ignore\"")),
                }
            }
            "backoff" => {
                spec.backoff.initial = self.duration(value, key)?;
                if spec.backoff.initial < MIN_BACKOFF {
                    return Err(self.error(
                        &value.span(),
                        key,
                        "expected at least 100ms (a shorter delay lets a crash loop spin)",
                    ));
                }
            }
            "backoff_max" => spec.backoff.max = self.duration(value, key)?,
            "backoff_reset" => spec.backoff.reset_after = self.duration(value, key)?,
            // check_keys lets only known keys through.
            unknown => {
                return Err(self.error(&field.span(), prefix, format!("unknown key '{unknown}'")));
            }
        }
        Ok(())
    }

    /// `backoff_max` must not be below `backoff` when both are given; when only one is,
    /// the other's default gives way rather than making a valid-looking line an error.
    fn check_backoff(
        &self,
        backoff: &mut Backoff,
        table: &DeTable,
        prefix: &str,
        initial_given: bool,
        max_given: bool,
    ) -> Result<(), ConfigError> {
        if backoff.max >= backoff.initial {
            return Ok(());
        }
        match (initial_given, max_given) {
            (true, false) => backoff.max = backoff.initial,
            (false, true) => backoff.initial = backoff.max,
            _ => {
                // Both were given (with neither, the defaults are in order).
                let span = table.get("backoff_max").map_or(0..0, Spanned::span);
                return Err(self.error(
                    &span,
                    &format!("{prefix}.backoff_max"),
                    format!(
                        "expected at least backoff ({}), found {}",
                        humantime::format_duration(backoff.initial),
                        humantime::format_duration(backoff.max)
                    ),
                ));
            }
        }
        Ok(())
    }
}
