//! `ready = …` and `health = …` of a `[program.NAME]`: exactly one kind per check, and
//! its timing keys beside it in the same inline table.

use toml::de::{DeTable, DeValue};

use super::keys::in_file_order;
use super::{Reader, Value};
use crate::config::checks::{self, HEALTH_FAILURES, HEALTH_INTERVAL, HEALTH_TIMEOUT};
use crate::config::{ConfigError, HealthSpec, Probe, ReadyKind, ReadySpec};

const READY_KINDS: &str = "\"started\", \"running\", or a table with one of tcp, http, exec, \
     notify, fd, log (and interval, timeout, within)";
const READY_KEYS: &[&str] = &[
    "tcp", "http", "exec", "notify", "fd", "log", "interval", "timeout", "within",
];
const HEALTH_KEYS: &[&str] = &["tcp", "http", "exec", "interval", "timeout", "failures"];

impl Reader<'_> {
    pub(super) fn ready(&self, value: &Value, key: &str) -> Result<ReadySpec, ConfigError> {
        let mut spec = ReadySpec::default();
        let table = match value.get_ref() {
            DeValue::String(_) => {
                spec.kind = match self.string(value, key)?.as_str() {
                    "started" => ReadyKind::Started,
                    "running" => ReadyKind::Running,
                    _ => return Err(self.expected(value, key, READY_KINDS)),
                };
                return Ok(spec);
            }
            DeValue::Table(table) => table,
            _ => return Err(self.expected(value, key, READY_KINDS)),
        };
        self.check_keys(table, key, READY_KEYS)?;
        let mut kind = None;
        for (field, value) in in_file_order(table) {
            let sub = format!("{key}.{}", field.get_ref());
            let sub = sub.as_str();
            let this = match field.get_ref().as_ref() {
                "interval" => {
                    spec.interval = self.positive_duration(value, sub)?;
                    continue;
                }
                "timeout" => {
                    spec.timeout = self.positive_duration(value, sub)?;
                    continue;
                }
                "within" => {
                    spec.within = self.positive_duration(value, sub)?;
                    continue;
                }
                "fd" => {
                    let what = "a file descriptor from 3 to 1023";
                    let fd = self.integer::<i32>(value, sub, what)?;
                    if !(3..1024).contains(&fd) {
                        return Err(self.expected(value, sub, what));
                    }
                    ReadyKind::Fd(fd)
                }
                "notify" => match self.string(value, sub)?.as_str() {
                    "systemd" => ReadyKind::Notify,
                    _ => return Err(self.expected(value, sub, "\"systemd\"")),
                },
                "log" => {
                    let text = self.string(value, sub)?;
                    if text.is_empty() || text.contains('\n') {
                        return Err(self.expected(value, sub, "a non-empty text on one line"));
                    }
                    ReadyKind::Log(text)
                }
                _ => ReadyKind::Probe(self.probe(field.get_ref(), value, sub)?),
            };
            if kind.replace(this).is_some() {
                return Err(self.error(
                    &value.span(),
                    key,
                    "expected one kind of check, found two",
                ));
            }
        }
        spec.kind = kind.ok_or_else(|| self.expected(value, key, READY_KINDS))?;
        Ok(spec)
    }

    pub(super) fn health(&self, value: &Value, key: &str) -> Result<HealthSpec, ConfigError> {
        let what = "a table with one of tcp, http, exec (and interval, timeout, failures)";
        let table: &DeTable = self.table(value, key, what)?;
        self.check_keys(table, key, HEALTH_KEYS)?;
        let (mut interval, mut timeout, mut failures) =
            (HEALTH_INTERVAL, HEALTH_TIMEOUT, HEALTH_FAILURES);
        let mut probe = None;
        for (field, value) in in_file_order(table) {
            let sub = format!("{key}.{}", field.get_ref());
            let sub = sub.as_str();
            match field.get_ref().as_ref() {
                "interval" => interval = self.positive_duration(value, sub)?,
                "timeout" => timeout = self.positive_duration(value, sub)?,
                "failures" => {
                    failures = self
                        .integer(value, sub, "a number of failures from 1 to 1000")
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or_else(|| {
                            self.expected(value, sub, "a number of failures from 1 to 1000")
                        })?;
                }
                name => {
                    if probe.replace(self.probe(name, value, sub)?).is_some() {
                        let message = "expected one kind of check, found two";
                        return Err(self.error(&value.span(), key, message));
                    }
                }
            }
        }
        let probe = probe.ok_or_else(|| self.expected(value, key, what))?;
        Ok(HealthSpec {
            probe,
            interval,
            timeout,
            failures,
        })
    }

    /// `tcp = "HOST:PORT"`, `http = "http://…"`, `exec = [..]` or `exec = "cmd args"`.
    fn probe(&self, kind: &str, value: &Value, key: &str) -> Result<Probe, ConfigError> {
        let parsed = match kind {
            "tcp" => checks::parse_socket_addr(&self.string(value, key)?).map(Probe::Tcp),
            "http" => checks::parse_http_url(&self.string(value, key)?).map(Probe::Http),
            _ => return Ok(Probe::Exec(self.command(value, key)?)),
        };
        parsed.map_err(|message| self.error(&value.span(), key, message))
    }

    fn positive_duration(
        &self,
        value: &Value,
        key: &str,
    ) -> Result<std::time::Duration, ConfigError> {
        let duration = self.duration(value, key)?;
        if duration.is_zero() {
            return Err(self.expected(value, key, "a duration above zero"));
        }
        Ok(duration)
    }
}
