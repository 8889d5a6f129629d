//! The native configuration format: a TOML file read into a [`Plan`].
//!
//! The document is parsed into toml's spanned tree ([`DeTable`]) and walked by hand rather
//! than deserialised through serde: every value keeps its byte span, so every error can
//! name the file, the line, the full key (`program.web.startretries`) and what was
//! expected, and integers keep the radix they were written in (a umask must be octal).
//!
//! Every string value goes through `${VAR}` expansion (see [`expand`]) before it is
//! interpreted.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use libc::c_int;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

// Where the fuzz tests have always found them.
use super::{
    Autorestart, Backoff, Color, DEFAULT_GRACE, Kind, LogFormat, OnExit, OutputSpec, Plan,
    ProgramOutput, ProgramSpec, RunAs, SystemUsers,
};
pub use super::{ConfigError, UserDb};
use crate::plain::signal;

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
    "log_format",
    "log_prefix",
    "log_timestamps",
    "log_color",
];
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
];

/// The shortest restart delay: a crash-looping program with `startsecs = 0` is never
/// FATAL, so its delay is all that keeps it from spinning.
const MIN_BACKOFF: Duration = Duration::from_millis(100);

const DURATION: &str =
    "a duration (a number of seconds, or a string like \"500ms\", \"10s\", \"1m\")";
const UMASK: &str = "an octal umask from \"000\" to \"777\" (a string like \"022\", or 0o022)";

struct Reader<'a> {
    text: &'a str,
    path: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    users: &'a dyn UserDb,
}

impl Reader<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn error(&self, span: &Range<usize>, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            self.path,
            Some(self.line(span)),
            (!key.is_empty()).then(|| key.to_string()),
            message,
        )
    }

    fn expected(&self, value: &Value, key: &str, what: &str) -> ConfigError {
        self.error(
            &value.span(),
            key,
            format!("expected {what}, found {}", found(value.get_ref())),
        )
    }

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

    fn plan(&self, document: &DeTable) -> Result<Plan, ConfigError> {
        self.check_keys(document, "", TOP_KEYS)?;
        let mut grace = DEFAULT_GRACE;
        let mut output = OutputSpec::default();
        if let Some(rinit) = document.get("rinit") {
            let table = self.table(rinit, "rinit", "a table ([rinit])")?;
            self.check_keys(table, "rinit", RINIT_KEYS)?;
            if let Some(value) = table.get("grace") {
                grace = self.duration(value, "rinit.grace")?;
            }
            if let Some(value) = table.get("log_format") {
                output.format = match self.string(value, "rinit.log_format")?.as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(self.expected(
                            value,
                            "rinit.log_format",
                            "\"text\" or \"json\"",
                        ));
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
        }
        let mut programs = Vec::new();
        if let Some(table) = document.get("program") {
            let table = self.table(table, "program", "a table of programs ([program.NAME])")?;
            for (name, value) in in_file_order(table) {
                programs.push(self.program(name, value)?);
            }
        }
        if programs.is_empty() {
            return Err(ConfigError::new(
                self.path,
                None,
                None,
                "no programs defined (expected at least one [program.NAME] table)",
            ));
        }
        programs.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        Ok(Plan {
            source: self.path.to_path_buf(),
            grace,
            programs,
            output,
        })
    }

    fn program(&self, name: &Key, value: &Value) -> Result<ProgramSpec, ConfigError> {
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
        if name.get_ref().len() > super::MAX_NAME_LEN {
            return Err(self.error(
                &name.span(),
                "program",
                format!(
                    "a program name of {} characters (expected at most {})",
                    name.get_ref().len(),
                    super::MAX_NAME_LEN
                ),
            ));
        }
        let prefix = format!("program.{}", name.get_ref());
        let table = self.table(value, &prefix, "a table")?;
        self.check_keys(table, &prefix, PROGRAM_KEYS)?;
        let key = |field: &str| format!("{prefix}.{field}");

        let Some(command) = table.get("command") else {
            return Err(self.error(&name.span(), &prefix, "missing key 'command'"));
        };
        let command = self.command(command, &key("command"))?;
        let mut spec = ProgramSpec::with_defaults(name.get_ref(), command);
        let (mut backoff_given, mut backoff_max_given) = (false, false);

        for (field, value) in in_file_order(table) {
            let key = key(field.get_ref());
            let key = key.as_str();
            match field.get_ref().as_ref() {
                "command" => {}
                "priority" => {
                    spec.priority = self.integer(value, key, "an integer (i32)")?;
                }
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
                    backoff_given = true;
                }
                "backoff_max" => {
                    spec.backoff.max = self.duration(value, key)?;
                    backoff_max_given = true;
                }
                "backoff_reset" => spec.backoff.reset_after = self.duration(value, key)?,
                // check_keys lets only known keys through.
                unknown => {
                    return Err(self.error(
                        &field.span(),
                        &prefix,
                        format!("unknown key '{unknown}'"),
                    ));
                }
            }
        }
        self.check_backoff(
            &mut spec.backoff,
            table,
            &prefix,
            backoff_given,
            backoff_max_given,
        )?;
        Ok(spec)
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

    /// Rejects the first key (in file order) of `table` that is not in `known`.
    fn check_keys(&self, table: &DeTable, prefix: &str, known: &[&str]) -> Result<(), ConfigError> {
        let Some((unknown, _)) = in_file_order(table)
            .into_iter()
            .find(|(key, _)| !known.contains(&key.get_ref().as_ref()))
        else {
            return Ok(());
        };
        let name = unknown.get_ref();
        let mut message = format!("unknown key '{name}'");
        // The distance is at least the difference in length: a long key (it could be
        // megabytes) is not compared at all.
        let length = name.chars().count();
        if let Some(suggestion) = known
            .iter()
            .filter(|candidate| length.abs_diff(candidate.len()) <= 2)
            .map(|candidate| (edit_distance(name, candidate), candidate))
            .filter(|&(distance, _)| distance <= 2)
            .min_by_key(|&(distance, _)| distance)
            .map(|(_, candidate)| candidate)
        {
            message.push_str(&format!(" (did you mean '{suggestion}'?)"));
        }
        Err(self.error(&unknown.span(), prefix, message))
    }

    fn table<'v, 'i>(
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
    fn string(&self, value: &Value, key: &str) -> Result<String, ConfigError> {
        let DeValue::String(text) = value.get_ref() else {
            return Err(self.expected(value, key, "a string"));
        };
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

    fn boolean(&self, value: &Value, key: &str) -> Result<bool, ConfigError> {
        match value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.expected(value, key, "true or false")),
        }
    }

    /// An integer that fits `T`; `what` says which.
    fn integer<T: TryFrom<i64>>(
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

    fn duration(&self, value: &Value, key: &str) -> Result<Duration, ConfigError> {
        let duration = match value.get_ref() {
            DeValue::Integer(_) => self
                .integer::<u64>(value, key, DURATION)
                .map(Duration::from_secs)
                .ok(),
            DeValue::Float(float) => float
                .as_str()
                .parse::<f64>()
                .ok()
                .filter(|seconds| (0.0..1e9).contains(seconds))
                .map(Duration::from_secs_f64),
            DeValue::String(_) => crate::cli::parse_duration(key, &self.string(value, key)?).ok(),
            _ => None,
        };
        duration.ok_or_else(|| self.expected(value, key, DURATION))
    }

    fn command(&self, value: &Value, key: &str) -> Result<Vec<String>, ConfigError> {
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
                let expand_word = |word: String| {
                    let expanded = expand(&word, self.env)
                        .map_err(|message| self.error(&value.span(), key, message))?;
                    if expanded.contains('\0') {
                        return Err(self.error(
                            &value.span(),
                            key,
                            "a string cannot contain a NUL character",
                        ));
                    }
                    Ok(expanded)
                };
                words
                    .into_iter()
                    .map(expand_word)
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

    fn autorestart(&self, value: &Value, key: &str) -> Result<Autorestart, ConfigError> {
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

    fn exitcodes(&self, value: &Value, key: &str) -> Result<Vec<i32>, ConfigError> {
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

    fn stopsignal(&self, value: &Value, key: &str) -> Result<c_int, ConfigError> {
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

    fn user(&self, value: &Value, key: &str) -> Result<RunAs, ConfigError> {
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
    fn umask(&self, value: &Value, key: &str) -> Result<u32, ConfigError> {
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
    fn environment(&self, value: &Value, key: &str) -> Result<Vec<(String, String)>, ConfigError> {
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

/// A table's entries in the order they appear in the file, so the first error reported
/// is the first one in the file (the parser's map is sorted by key).
fn in_file_order<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t Key<'i>, &'t Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
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

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost 1.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// Expands `${VAR}` and `${VAR:-default}` (default when VAR is unset or empty) from `env`;
/// `$$` is a literal `$`. The default is taken literally, up to the first `}`.
///
/// A `$` followed by anything else is kept as it is, so a command like
/// `sh -c 'echo $HOME'` still hands `$HOME` to the shell (only the braced form is ours; a
/// shell's `$$` must be written `$$$$`).
pub(crate) fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail
                .find('}')
                .ok_or_else(|| format!("unterminated '${{' in {text:?} (expected '}}')"))?;
            let inner = &tail[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if default.is_some_and(|d| d.contains(['$', '{'])) {
                return Err(format!(
                    "'${{{inner}}}': a default cannot contain '$' or '{{' (defaults are not expanded)"
                ));
            }
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "invalid variable reference '${{{inner}}}' (expected ${{NAME}} or ${{NAME:-default}})"
                ));
            }
            match (
                env(name).filter(|value| !value.is_empty() || default.is_none()),
                default,
            ) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(format!(
                        "undefined variable '{name}' (give a default with ${{{name}:-value}})"
                    ));
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::users::fake::FakeUsers;

    const PATH: &str = "/etc/rinit.toml";

    fn env(name: &str) -> Option<String> {
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
                programs: vec![migrate, web],
                output: Default::default(),
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
                programs: vec![ProgramSpec::with_defaults("app", argv(&["/bin/app"]))],
                output: Default::default(),
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
        let spec =
            program("command = \"a\"\n[program.web.environment]\nB = \"2\"\nA = \"${EMPTY}\"");
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
    fn expansion() {
        let e = |text: &str| expand(text, &env);
        assert_eq!(e("${HOME}/x").unwrap(), "/root/x");
        assert_eq!(e("${NOPE:-d}|${EMPTY:-e}|${HOME:-f}").unwrap(), "d|e|/root");
        assert_eq!(e("${NOPE:-}").unwrap(), "");
        assert_eq!(e("${EMPTY}").unwrap(), "");
        assert_eq!(
            e("$$HOME $$${HOME} $HOME $ $").unwrap(),
            "$HOME $/root $HOME $ $"
        );
        assert_eq!(e("cost: 5$").unwrap(), "cost: 5$");
        assert_eq!(
            e("${NOPE}").unwrap_err(),
            "undefined variable 'NOPE' (give a default with ${NOPE:-value})"
        );
        assert_eq!(
            e("a${HOME").unwrap_err(),
            "unterminated '${' in \"a${HOME\" (expected '}')"
        );
        assert_eq!(
            e("${A B}").unwrap_err(),
            "invalid variable reference '${A B}' (expected ${NAME} or ${NAME:-default})"
        );
        assert!(e("${}").is_err());
        assert!(e("${1A}").is_err());
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
        let none =
            "/etc/rinit.toml: no programs defined (expected at least one [program.NAME] table)";
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
    fn edit_distances() {
        assert_eq!(edit_distance("startsec", "startsecs"), 1);
        assert_eq!(edit_distance("TREM", "TERM"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
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
            err.ends_with("program.a.backoff: expected at least 100ms (a shorter delay lets a crash loop spin)"),
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
}
