//! The native configuration format: a TOML file read into a [`Plan`].
//!
//! The document is parsed into toml's spanned tree ([`DeTable`]) and walked by hand rather
//! than deserialised through serde: every value keeps its byte span, so every error can
//! name the file, the line, the full key (`program.web.startretries`) and what was
//! expected, and integers keep the radix they were written in (a umask must be octal).
//!
//! Every string value goes through `${VAR}` expansion ([`expand`]) before it is
//! interpreted. Here: the document and `[rinit]`; in [`keys`], which keys a table may
//! have; in [`values`], what a value means; in [`program`], a `[program.NAME]` table.

mod checks;
mod expand;
mod keys;
mod program;
#[cfg(test)]
mod tests;
mod values;

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use self::keys::in_file_order;
use super::{Color, ControlSpec, DEFAULT_GRACE, LogFormat, OutputSpec, Plan, SystemUsers};
// Where the fuzz tests have always found them.
#[cfg(test)]
pub(crate) use self::expand::expand;
pub use super::{ConfigError, UserDb};

/// Reads and validates a TOML configuration file.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::io(path, err))?;
    parse(&text, path, &|name| std::env::var(name).ok(), &SystemUsers)
}

/// The same on text already read, with the environment and the user database injected.
pub fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    users: &dyn UserDb,
) -> Result<Plan, ConfigError> {
    let reader = Reader {
        text,
        path,
        env,
        users,
    };
    let document = DeTable::parse(text).map_err(|err| reader.syntax_error(&err))?;
    reader.plan(document.get_ref())
}

type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

const TOP_KEYS: &[&str] = &["rinit", "program"];
const RINIT_KEYS: &[&str] = &[
    "grace",
    "stop_delay",
    "log_format",
    "log_prefix",
    "log_timestamps",
    "log_color",
    "control_socket",
    "http",
];

/// A TOML document being read: its text (for line numbers), where it came from, and
/// where `${VAR}` and users are looked up.
struct Reader<'a> {
    text: &'a str,
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    users: &'a dyn UserDb,
}

impl Reader<'_> {
    /// The line (from 1) a span starts on.
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at `span`: `FILE:LINE: KEY: MESSAGE` (no KEY when `key` is empty).
    fn error(&self, span: &Range<usize>, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            self.path,
            Some(self.line(span)),
            (!key.is_empty()).then(|| key.to_string()),
            message,
        )
    }

    /// toml's parse error, with a clearer message for a table or key given twice.
    fn syntax_error(&self, err: &toml::de::Error) -> ConfigError {
        let span = err.span().unwrap_or(0..0);
        let mut message = format!("invalid TOML: {}", err.message().trim_end());
        if err.message() == "duplicate key" {
            // Bytes: the span need not start on a character boundary.
            let before = &self.text.as_bytes()[..span.start.min(self.text.len())];
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let line = self.text[line_start..].lines().next().unwrap_or("").trim();
            let name = self.text.get(span.clone()).unwrap_or("?");
            message = match (line.starts_with('['), line.find(']')) {
                (true, Some(end)) => {
                    let header = line[..end].trim_matches(['[', ']', ' ', '\t']);
                    format!("table [{header}] is defined more than once")
                }
                _ => format!("key '{name}' is defined more than once"),
            };
        }
        ConfigError::new(
            self.path,
            err.span().map(|span| self.line(&span)),
            None,
            message,
        )
    }

    /// The whole document: `[rinit]`, then every `[program.NAME]`, in start order.
    fn plan(&self, document: &DeTable) -> Result<Plan, ConfigError> {
        self.check_keys(document, "", TOP_KEYS)?;
        let mut control = ControlSpec::default();
        let (grace, stop_delay, output) = match document.get("rinit") {
            Some(rinit) => self.rinit_table(rinit, &mut control)?,
            None => (DEFAULT_GRACE, Duration::ZERO, OutputSpec::default()),
        };
        let mut programs = Vec::new();
        if let Some(table) = document.get("program") {
            let table = self.table(table, "program", "a table of programs ([program.NAME])")?;
            for (name, value) in in_file_order(table) {
                programs.push(self.program(name, value)?);
            }
        }
        if programs.is_empty() {
            return Err(ConfigError::whole_file(
                self.path,
                "no programs defined (expected at least one [program.NAME] table)",
            ));
        }
        programs.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        Ok(Plan {
            source: self.path.to_path_buf(),
            grace,
            stop_delay,
            programs,
            output,
            control,
        })
    }

    /// `[rinit]`: the shutdown budget, the drain delay, how output lines look, and where
    /// rinit answers queries (into `control`).
    fn rinit_table(
        &self,
        rinit: &Value,
        control: &mut ControlSpec,
    ) -> Result<(Duration, Duration, OutputSpec), ConfigError> {
        let mut grace = DEFAULT_GRACE;
        let mut stop_delay = Duration::ZERO;
        let mut output = OutputSpec::default();
        let table = self.table(rinit, "rinit", "a table ([rinit])")?;
        self.check_keys(table, "rinit", RINIT_KEYS)?;
        if let Some(value) = table.get("grace") {
            grace = self.duration(value, "rinit.grace")?;
        }
        if let Some(value) = table.get("stop_delay") {
            stop_delay = self.duration(value, "rinit.stop_delay")?;
        }
        if let Some(value) = table.get("log_format") {
            output.format = match self.string(value, "rinit.log_format")?.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    let expected = "\"text\" or \"json\"";
                    return Err(self.expected(value, "rinit.log_format", expected));
                }
            };
        }
        if let Some(value) = table.get("log_prefix") {
            output.prefix = self.string(value, "rinit.log_prefix")?;
        }
        if let Some(value) = table.get("log_timestamps") {
            output.timestamps = self.boolean(value, "rinit.log_timestamps")?;
        }
        if let Some(value) = table.get("log_color") {
            output.color = match self.string(value, "rinit.log_color")?.as_str() {
                "auto" => Color::Auto,
                "always" => Color::Always,
                "never" => Color::Never,
                _ => {
                    let expected = "\"auto\", \"always\" or \"never\"";
                    return Err(self.expected(value, "rinit.log_color", expected));
                }
            };
        }
        if let Some(value) = table.get("control_socket") {
            control.socket = Some(self.string(value, "rinit.control_socket")?);
        }
        if let Some(value) = table.get("http") {
            let text = self.string(value, "rinit.http")?;
            control.http = match text.as_str() {
                "" => None,
                text => Some(
                    crate::config::parse_socket_addr(text)
                        .map_err(|m| self.error(&value.span(), "rinit.http", m))?,
                ),
            };
        }
        Ok((grace, stop_delay, output))
    }
}
