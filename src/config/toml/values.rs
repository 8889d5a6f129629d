//! Value conversion: a TOML value to what a key means (a duration, a signal, a user...),
//! with `${VAR}` expansion of strings, and an error that says where the value is and
//! what was expected.

use std::time::Duration;

use libc::c_int;
use toml::de::{DeTable, DeValue};

use super::expand::expand;
use super::{Reader, Value};
use crate::config::{Autorestart, ConfigError, RunAs, parse_duration};
use crate::plain::signal;

pub(super) const DURATION: &str =
    "a duration (a number of seconds, or a string like \"500ms\", \"10s\", \"1m\")";
pub(super) const UMASK: &str =
    "an octal umask from \"000\" to \"777\" (a string like \"022\", or 0o022)";

impl Reader<'_> {
    /// An error at `value`: expected `what`, found what it is.
    pub(super) fn expected(&self, value: &Value, key: &str, what: &str) -> ConfigError {
        self.error(
            &value.span(),
            key,
            format!("expected {what}, found {}", found(value.get_ref())),
        )
    }

    pub(super) fn table<'v, 'i>(
        &self,
        value: &'v Value<'i>,
        key: &str,
        what: &str,
    ) -> Result<&'v DeTable<'i>, ConfigError> {
        match value.get_ref() {
            DeValue::Table(table) => Ok(table),
            _ => Err(self.expected(value, key, what)),
        }
    }

    /// A string value, `${VAR}`-expanded.
    pub(super) fn string(&self, value: &Value, key: &str) -> Result<String, ConfigError> {
        let DeValue::String(text) = value.get_ref() else {
            return Err(self.expected(value, key, "a string"));
        };
        self.expanded(text, value, key)
    }

    /// `text` (all or part of `value`) `${VAR}`-expanded; a NUL is refused here, as no
    /// key can use one.
    fn expanded(&self, text: &str, value: &Value, key: &str) -> Result<String, ConfigError> {
        let expanded =
            expand(text, self.env).map_err(|message| self.error(&value.span(), key, message))?;
        if expanded.contains('\0') {
            return Err(self.error(
                &value.span(),
                key,
                "a string cannot contain a NUL character",
            ));
        }
        Ok(expanded)
    }

    pub(super) fn boolean(&self, value: &Value, key: &str) -> Result<bool, ConfigError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.expected(value, key, "true or false")),
        }
    }

    /// An integer that fits `T`; `what` says which.
    pub(super) fn integer<T: TryFrom<i64>>(
        &self,
        value: &Value,
        key: &str,
        what: &str,
    ) -> Result<T, ConfigError> {
        match value.get_ref() {
            DeValue::Integer(int) => i64::from_str_radix(int.as_str(), int.radix())
                .ok()
                .and_then(|n| T::try_from(n).ok())
                .ok_or_else(|| self.expected(value, key, what)),
            _ => Err(self.expected(value, key, what)),
        }
    }

    pub(super) fn duration(&self, value: &Value, key: &str) -> Result<Duration, ConfigError> {
        let duration = match value.get_ref() {
            DeValue::Integer(_) => self
                .integer::<u64>(value, key, DURATION)
                .map(Duration::from_secs)
                .ok(),
            DeValue::Float(float) => {
                crate::config::duration::parse_seconds(&float.as_str().replace('_', ""))
            }
            DeValue::String(_) => parse_duration(key, &self.string(value, key)?).ok(),
            _ => None,
        };
        duration.ok_or_else(|| self.expected(value, key, DURATION))
    }

    pub(super) fn command(&self, value: &Value, key: &str) -> Result<Vec<String>, ConfigError> {
        let argv = match value.get_ref() {
            DeValue::String(line) => {
                // Split first, then expand each word: a variable's value stays one
                // argument, and quotes inside it cannot add arguments.
                let words = shlex::split(line).ok_or_else(|| {
                    self.error(
                        &value.span(),
                        key,
                        format!("expected a command line with balanced quotes, found {line:?}"),
                    )
                })?;
                words
                    .iter()
                    .map(|word| self.expanded(word, value, key))
                    .collect::<Result<Vec<_>, _>>()?
            }
            DeValue::Array(items) => items
                .iter()
                .map(|item| self.string(item, key))
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(self.expected(
                    value,
                    key,
                    "a command (an array of strings, or a string)",
                ));
            }
        };
        match argv.first() {
            None => Err(self.expected(value, key, "a non-empty command")),
            Some(program) if program.is_empty() => Err(self.error(
                &value.span(),
                key,
                "expected a program to run, found an empty string",
            )),
            Some(_) => Ok(argv),
        }
    }

    pub(super) fn autorestart(&self, value: &Value, key: &str) -> Result<Autorestart, ConfigError> {
        const WHAT: &str = "true, false or \"unexpected\"";
        match value.get_ref() {
            DeValue::Boolean(true) => Ok(Autorestart::Always),
            DeValue::Boolean(false) => Ok(Autorestart::Never),
            DeValue::String(_) if self.string(value, key)? == "unexpected" => {
                Ok(Autorestart::Unexpected)
            }
            _ => Err(self.expected(value, key, WHAT)),
        }
    }

    pub(super) fn exitcodes(&self, value: &Value, key: &str) -> Result<Vec<i32>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.expected(value, key, "an array of exit codes like [0, 2]"));
        };
        items
            .iter()
            .map(|item| {
                let code: u8 = self.integer(item, key, "exit codes from 0 to 255")?;
                Ok(i32::from(code))
            })
            .collect()
    }

    pub(super) fn stopsignal(&self, value: &Value, key: &str) -> Result<c_int, ConfigError> {
        let signal = match value.get_ref() {
            DeValue::Integer(_) => {
                let signal: c_int = self.integer(value, key, "a signal number from 1 to 64")?;
                if !(1..=signal::MAX_SIGNAL).contains(&signal) {
                    return Err(self.expected(value, key, "a signal number from 1 to 64"));
                }
                signal
            }
            DeValue::String(_) => {
                let name = self.string(value, key)?;
                signal::parse(&name).ok_or_else(|| {
                    self.error(
                        &value.span(),
                        key,
                        format!(
                            "unknown signal '{name}' (expected a name like TERM or SIGTERM, or a number)"
                        ),
                    )
                })?
            }
            _ => return Err(self.expected(value, key, "a signal name like \"TERM\", or a number")),
        };
        // These stop (pause) a process rather than end it: a stop that can never succeed.
        if matches!(
            signal,
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
        ) {
            return Err(self.error(
                &value.span(),
                key,
                format!(
                    "expected a signal that ends a program (e.g. TERM, INT, QUIT, KILL), found {}, which only pauses it",
                    signal::name(signal)
                ),
            ));
        }
        Ok(signal)
    }

    pub(super) fn user(&self, value: &Value, key: &str) -> Result<RunAs, ConfigError> {
        let name = match value.get_ref() {
            DeValue::Integer(_) => self
                .integer::<u32>(value, key, "a user name or uid")?
                .to_string(),
            DeValue::String(_) => self.string(value, key)?,
            _ => return Err(self.expected(value, key, "a user name or uid")),
        };
        self.users
            .user(&name)
            .ok_or_else(|| self.error(&value.span(), key, format!("no such user '{name}'")))
    }

    /// A string of octal digits (`"022"`, `"0022"`, `"0o022"`) or an integer written in
    /// TOML octal (`0o022`). A decimal integer is refused: `umask = 22` is ambiguous.
    pub(super) fn umask(&self, value: &Value, key: &str) -> Result<u32, ConfigError> {
        let mask = match value.get_ref() {
            DeValue::Integer(int) if int.radix() == 8 || int.as_str() == "0" => {
                u32::from_str_radix(int.as_str(), int.radix()).ok()
            }
            DeValue::String(_) => {
                let text = self.string(value, key)?;
                let digits = text.strip_prefix("0o").unwrap_or(&text);
                if !digits.is_empty() && digits.bytes().all(|b| matches!(b, b'0'..=b'7')) {
                    u32::from_str_radix(digits, 8).ok()
                } else {
                    None
                }
            }
            _ => None,
        };
        mask.filter(|&mask| mask <= 0o777)
            .ok_or_else(|| self.expected(value, key, UMASK))
    }

    /// A table of strings, in key order (the file's order is not kept by the parser).
    pub(super) fn environment(
        &self,
        value: &Value,
        key: &str,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let table = self.table(value, key, "a table of strings, like { KEY = \"value\" }")?;
        table
            .iter()
            .map(|(name, value)| {
                let name_text = name.get_ref();
                if name_text.is_empty() || name_text.contains(['=', '\0']) {
                    return Err(self.error(
                        &name.span(),
                        key,
                        format!("invalid variable name {name_text:?} (it cannot be empty or contain '=')"),
                    ));
                }
                let value = self.string(value, &format!("{key}.{name_text}"))?;
                Ok((name_text.to_string(), value))
            })
            .collect()
    }
}

/// A value as it appears in messages after "found".
fn found(value: &DeValue) -> String {
    match value {
        DeValue::String(text) => format!("{text:?}"),
        DeValue::Integer(int) => int.to_string(),
        DeValue::Float(float) => float.to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(datetime) => format!("the datetime {datetime}"),
        DeValue::Array(_) => "an array".into(),
        DeValue::Table(_) => "a table".into(),
    }
}
