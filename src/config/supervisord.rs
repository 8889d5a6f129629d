//! supervisord's configuration format (an INI dialect) read into the same [`Plan`] as the
//! native TOML format, following supervisord 4.3.0 as described in
//! `specs/supervisord-dialect.md` (section numbers below refer to it).
//!
//! Reading happens in three steps, as in supervisord:
//! 1. the INI layer (§1.1–§1.3): Python's `RawConfigParser` with
//!    `inline_comment_prefixes=(';','#')` and `strict=False`, the main file first and
//!    then the files of its `[include]` (§1.5), all merged into one set of sections, with
//!    `%(here)s` replaced textually by each file's directory after that file is read;
//! 2. `%(name)s` expansion (§1.4), per key, with the names supervisord offers there;
//! 3. interpretation of `[supervisord]`, `[program:x]` and `[group:x]` (§2.1, §2.2, §2.5),
//!    with supervisord's defaults, and the start order of §3.3.
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
//! * `stdout_logfile`/`stderr_logfile`: `/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`
//!   (`/dev/stderr`, `/dev/fd/2`, `/proc/self/fd/2` for stderr) mean rinit's prefixed
//!   output, silently; any other value written (a file, `AUTO`, `NONE`) is a warning and
//!   the output is prefixed too. Left out, they are supervisord's `AUTO`, read as rinit's
//!   prefixed output without a warning. `*_logfile_maxbytes`/`*_backups` are validated and
//!   otherwise ignored until files are supported.
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

// Until main.rs reads supervisord files (then delete this line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Autorestart, DEFAULT_GRACE, OnExit, OutputSpec, Plan, ProgramOutput, ProgramSpec};
use super::{ConfigError, SystemUsers, UserDb};
use crate::plain::signal;

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

// ---------------------------------------------------------------------------------------
// The INI layer (§1.1–§1.3)

#[derive(Clone, Debug)]
struct Entry {
    value: String,
    file: PathBuf,
    line: usize,
}

#[derive(Debug)]
struct Section {
    name: String,
    file: PathBuf,
    line: usize,
    /// Lower-cased keys in first-seen order; a later value replaces an earlier one.
    keys: Vec<(String, Entry)>,
}

#[derive(Debug, Default)]
struct Ini {
    sections: Vec<Section>,
    /// `[DEFAULT]`: inherited by every section that lacks the key.
    defaults: Vec<(String, Entry)>,
}

fn set(keys: &mut Vec<(String, Entry)>, key: String, entry: Entry) {
    match keys.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = entry,
        None => keys.push((key, entry)),
    }
}

impl Ini {
    /// Parses one file into the sections read so far (Python's `RawConfigParser.read`),
    /// then replaces `%(here)s` everywhere with `here` (supervisord's `expand_here`).
    fn read(&mut self, text: &str, file: &Path, here: &str) -> Result<(), ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Where the current key's value is: (section index or None for DEFAULT, key).
        let mut current: Option<Option<usize>> = None;
        let mut option: Option<String> = None;
        // Lines of the value being read, joined at the end.
        let mut indent_level = 0usize;
        let mut pending: Vec<(Option<usize>, String, Vec<String>, usize)> = Vec::new();
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let mut comment_start = inline_comment_start(line);
            let trimmed = line.trim();
            if trimmed.starts_with(['#', ';']) {
                comment_start = Some(0);
            }
            let value = line[..comment_start.unwrap_or(line.len())].trim();
            if value.is_empty() {
                // An empty line inside a value is kept (empty_lines_in_values), unless
                // the line held a comment.
                if comment_start.is_none()
                    && current.is_some()
                    && option.is_some()
                    && let Some(last) = pending.last_mut()
                {
                    last.2.push(String::new());
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if current.is_some() && option.is_some() && indent > indent_level {
                if let Some(last) = pending.last_mut() {
                    last.2.push(value.to_string());
                }
                continue;
            }
            indent_level = indent;
            if let Some(header) = section_header(value) {
                if header == "DEFAULT" {
                    current = Some(None);
                } else {
                    let position = self.sections.iter().position(|s| s.name == header);
                    let position = position.unwrap_or_else(|| {
                        self.sections.push(Section {
                            name: header.to_string(),
                            file: file.to_path_buf(),
                            line: number,
                            keys: Vec::new(),
                        });
                        self.sections.len() - 1
                    });
                    current = Some(Some(position));
                }
                option = None;
                continue;
            }
            let Some(section) = current else {
                return Err(ConfigError::new(
                    file,
                    Some(number),
                    None,
                    format!("expected a section header like [program:NAME] before {line:?}"),
                ));
            };
            let Some(at) = value.find(['=', ':']) else {
                return Err(ConfigError::new(
                    file,
                    Some(number),
                    None,
                    format!("expected KEY=VALUE or [SECTION], found {line:?}"),
                ));
            };
            let key = value[..at].trim_end().to_lowercase();
            if key.is_empty() {
                return Err(ConfigError::new(
                    file,
                    Some(number),
                    None,
                    format!(
                        "expected a key before '{}', found {line:?}",
                        &value[at..=at]
                    ),
                ));
            }
            let first = value[at + 1..].trim().to_string();
            option = Some(key.clone());
            pending.push((section, key, vec![first], number));
        }
        for (section, key, lines, line) in pending {
            let entry = Entry {
                value: lines.join("\n").trim_end().to_string(),
                file: file.to_path_buf(),
                line,
            };
            match section {
                None => set(&mut self.defaults, key, entry),
                Some(index) => set(&mut self.sections[index].keys, key, entry),
            }
        }
        let replace = |keys: &mut Vec<(String, Entry)>| {
            for (_, entry) in keys.iter_mut() {
                if entry.value.contains("%(here)s") {
                    entry.value = entry.value.replace("%(here)s", here);
                }
            }
        };
        replace(&mut self.defaults);
        for section in &mut self.sections {
            replace(&mut section.keys);
        }
        Ok(())
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.name == name)
    }

    /// A key of a section, or of `[DEFAULT]`.
    fn get<'a>(&'a self, section: &'a Section, key: &str) -> Option<&'a Entry> {
        section
            .keys
            .iter()
            .chain(self.defaults.iter())
            .find(|(k, _)| k == key)
            .map(|(_, entry)| entry)
    }

    /// Every key of a section, `[DEFAULT]`'s included, in file order.
    fn keys<'a>(&'a self, section: &'a Section) -> Vec<(&'a str, &'a Entry)> {
        let mut keys: Vec<_> = section.keys.iter().map(|(k, e)| (k.as_str(), e)).collect();
        for (key, entry) in &self.defaults {
            if !section.keys.iter().any(|(k, _)| k == key) {
                keys.push((key, entry));
            }
        }
        keys
    }
}

/// Where an inline comment starts: the first `;` or `#` that begins the line or follows
/// whitespace (quotes do not protect).
fn inline_comment_start(line: &str) -> Option<usize> {
    let mut previous: Option<char> = None;
    for (at, c) in line.char_indices() {
        if matches!(c, ';' | '#') && previous.is_none_or(char::is_whitespace) {
            return Some(at);
        }
        previous = Some(c);
    }
    None
}

/// `[NAME]` (Python's `\[(?P<header>.+)\]` matched at the start of the stripped line).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

// ---------------------------------------------------------------------------------------
// `%(name)s` expansion (§1.4)

#[derive(Clone, Debug)]
enum Value {
    Str(String),
    Int(i64),
}

/// The names a key can expand. `ENV_X` is looked up in `extra_env`, then in the
/// environment.
struct Names<'a> {
    fixed: BTreeMap<&'static str, Value>,
    extra_env: Vec<(String, String)>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Names<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(value) = self.fixed.get(name) {
            return Some(value.clone());
        }
        let var = name.strip_prefix("ENV_")?;
        self.extra_env
            .iter()
            .rev()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
            .or_else(|| (self.env)(var))
            .map(Value::Str)
    }

    fn available(&self) -> String {
        let mut names: Vec<&str> = self.fixed.keys().copied().collect();
        names.push("ENV_*");
        names.join(", ")
    }
}

/// Python's `text % names`: `%(name)FLAGS WIDTH .PRECISION TYPE` and `%%`.
fn percent_format(text: &str, names: &Names) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let bad = |why: &str| format!("badly formatted: {why}");
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some(tail) = after.strip_prefix('(') else {
            return Err(bad("a '%' must be written '%%'"));
        };
        let end = tail.find(')').ok_or_else(|| bad("incomplete format key"))?;
        let name = &tail[..end];
        let spec = &tail[end + 1..];
        let flags_len = spec
            .find(|c: char| !matches!(c, '-' | '+' | ' ' | '#' | '0'))
            .unwrap_or(spec.len());
        let flags = &spec[..flags_len];
        let spec = &spec[flags_len..];
        let width_len = spec
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(spec.len());
        // Too many digits for a usize is over the cap below, not no width at all.
        let number = |digits: &str| match digits {
            "" => 0,
            digits => digits.parse().unwrap_or(usize::MAX),
        };
        let width = number(&spec[..width_len]);
        let spec = &spec[width_len..];
        let (precision, spec) = match spec.strip_prefix('.') {
            Some(spec) => {
                let len = spec
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(spec.len());
                (Some(number(&spec[..len])), &spec[len..])
            }
            None => (None, spec),
        };
        // A width or precision beyond any real use would only exhaust memory (and
        // Rust's formatter refuses widths past 65535).
        const MAX_WIDTH: usize = 4096;
        if width > MAX_WIDTH || precision.is_some_and(|p| p > MAX_WIDTH) {
            return Err(bad(&format!("width or precision over {MAX_WIDTH}")));
        }
        let conversion = spec
            .chars()
            .next()
            .ok_or_else(|| bad("incomplete format"))?;
        rest = &spec[conversion.len_utf8()..];
        let value = names.lookup(name).ok_or_else(|| {
            format!(
                "contains names ('{name}') which cannot be expanded. Available names: {}",
                names.available()
            )
        })?;
        let body = match (conversion, &value) {
            ('s', Value::Str(s)) => match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('s', Value::Int(n)) => n.to_string(),
            ('d' | 'i' | 'u', Value::Int(n)) => {
                let digits = n.unsigned_abs().to_string();
                let digits = format!("{digits:0>w$}", w = precision.unwrap_or(0));
                let sign = if *n < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                if flags.contains('0') && !flags.contains('-') {
                    let w = width.saturating_sub(sign.len());
                    format!("{sign}{digits:0>w$}")
                } else {
                    format!("{sign}{digits}")
                }
            }
            ('d' | 'i' | 'u', Value::Str(_)) => {
                return Err(format!(
                    "badly formatted: %({name}){conversion} needs a number, and {name} is a string"
                ));
            }
            _ => {
                return Err(bad(&format!("unsupported format character '{conversion}'")));
            }
        };
        if flags.contains('-') {
            out.push_str(&format!("{body:<width$}"));
        } else {
            out.push_str(&format!("{body:>width$}"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Value syntaxes (§2.9)

const TRUTHY: &[&str] = &["true", "yes", "on", "1"];
const FALSY: &[&str] = &["false", "no", "off", "0"];

fn boolean(text: &str) -> Result<bool, String> {
    let lower = text.to_lowercase();
    if TRUTHY.contains(&lower.as_str()) {
        Ok(true)
    } else if FALSY.contains(&lower.as_str()) {
        Ok(false)
    } else {
        Err(format!("not a valid boolean value: {text:?}"))
    }
}

/// Python's `int(text, radix)`: spaces around, an optional sign, digits with single
/// underscores between them.
fn py_int(text: &str, radix: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = if radix == 8 {
        digits
            .strip_prefix("0o")
            .or_else(|| digits.strip_prefix("0O"))
            .map(|d| d.strip_prefix('_').unwrap_or(d))
            .unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
    {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if negative { -n } else { n })
}

fn integer(text: &str) -> Result<i64, String> {
    py_int(text, 10).ok_or_else(|| format!("expected an integer, found {text:?}"))
}

fn non_negative<T: TryFrom<i64>>(text: &str) -> Result<T, String> {
    integer(text).and_then(|n| {
        T::try_from(n).map_err(|_| format!("expected a non-negative integer, found {text:?}"))
    })
}

fn octal(text: &str) -> Result<u32, String> {
    py_int(text, 8)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n <= 0o777)
        .ok_or_else(|| format!("expected an octal umask from 000 to 777, found {text:?}"))
}

/// `50MB`, `1GB`, `1024kb`, `1024`.
fn bytes(text: &str) -> Result<i64, String> {
    let lower = text.to_lowercase();
    let (number, factor) = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
    ]
    .iter()
    .find_map(|&(suffix, factor)| lower.strip_suffix(suffix).map(|n| (n, factor)))
    .unwrap_or((&lower, 1));
    let n = py_int(number, 10)
        .ok_or_else(|| format!("expected a size like 1024, 10KB, 50MB or 1GB, found {text:?}"))?;
    n.checked_mul(factor).ok_or_else(|| {
        format!(
            "expected a size of at most {} bytes, found {text:?}",
            i64::MAX
        )
    })
}

fn autorestart(text: &str) -> Result<Autorestart, String> {
    let lower = text.to_lowercase();
    if TRUTHY.contains(&lower.as_str()) {
        Ok(Autorestart::Always)
    } else if FALSY.contains(&lower.as_str()) {
        Ok(Autorestart::Never)
    } else if lower == "unexpected" {
        Ok(Autorestart::Unexpected)
    } else {
        Err(format!(
            "invalid 'autorestart' value {text:?} (expected true, false or unexpected)"
        ))
    }
}

fn exitcodes(text: &str) -> Result<Vec<i32>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|code| {
            py_int(code, 10)
                .filter(|n| (0..=255).contains(n))
                .map(|n| n as i32)
                .ok_or_else(|| {
                    format!("expected exit codes from 0 to 255 like 0,2, found {text:?}")
                })
        })
        .collect()
}

fn signal(text: &str) -> Result<libc::c_int, String> {
    signal::parse(text).ok_or_else(|| format!("value {text:?} is not a valid signal name"))
}

/// The two eventlisteners that containers carry only to make up for what supervisord
/// lacks, recognised by their command and events, and replaced by rinit's own behaviour.
fn recognise_listener(section: &Section) -> &'static str {
    let key = |name: &str| {
        section
            .keys
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, e)| e.value.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let (command, events) = (key("command"), key("events"));
    if command.contains("supervisor_stdout") {
        return "recognised supervisor_stdout: rinit prefixes every program's output itself; \
                section replaced by that";
    }
    let on_failure = [
        "process_state_fatal",
        "process_state_exited",
        "process_state",
    ]
    .iter()
    .any(|event| events.contains(event));
    let stops = ["kill", "shutdown", "stop", "exit"]
        .iter()
        .any(|word| command.contains(word));
    if on_failure && stops {
        return "recognised a listener that stops supervisord when a program fails: rinit \
                shuts the container down itself, with the program's exit code; section \
                replaced by that";
    }
    "eventlisteners are not supported by rinit, section ignored"
}

/// supervisord's `process_or_group_name`: stripped; no space, ':' or '/'.
fn process_or_group_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.contains([' ', ':', '/']) {
        return Err(format!(
            "Invalid name: {name:?} (a name cannot be empty or contain a space, ':' or '/')"
        ));
    }
    if name.len() > super::MAX_NAME_LEN {
        return Err(format!(
            "a name of {} characters (expected at most {})",
            name.len(),
            super::MAX_NAME_LEN
        ));
    }
    Ok(name.to_string())
}

/// `KEY=val,KEY2="v, 2"` as supervisord 4.3.0 reads it (§2.9): Python's non-POSIX
/// `shlex` with `/.+-():` added to the word characters, then KEY `=` VALUE and one
/// separator token (not checked), and `strip('\'"')` on each value. A key given twice
/// keeps its first place and its last value.
fn key_value_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = shlex_tokens(text)?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.len() < i + 3 || tokens[i + 1] != "=" {
            return Err(format!(
                "Unexpected end of key/value pairs in value {text:?}"
            ));
        }
        let key = tokens[i].clone();
        let value = tokens[i + 2].trim_matches(['\'', '"']).to_string();
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
        i += 4;
    }
    Ok(pairs)
}

/// Python's `list(shlex.shlex(text))` in non-POSIX mode, `wordchars += '/.+-():'`.
fn shlex_tokens(text: &str) -> Result<Vec<String>, String> {
    let word = |c: char| {
        c.is_ascii_alphanumeric()
            || "_/.+-():".contains(c)
            || (('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}')
    };
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let skip_comment = |i: &mut usize| {
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            i += 1;
        } else if c == '#' {
            skip_comment(&mut i);
        } else if word(c) {
            let mut token = String::new();
            while i < chars.len() {
                let c = chars[i];
                if word(c) || c == '\'' || c == '"' {
                    token.push(c);
                    i += 1;
                } else if c == '#' {
                    // Non-POSIX shlex skips the comment and goes on with the same word.
                    skip_comment(&mut i);
                } else {
                    break;
                }
            }
            tokens.push(token);
        } else if c == '\'' || c == '"' {
            let mut token = String::from(c);
            i += 1;
            loop {
                let Some(&next) = chars.get(i) else {
                    return Err(format!("No closing quotation in {text:?}"));
                };
                token.push(next);
                i += 1;
                if next == c {
                    break;
                }
            }
            tokens.push(token);
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    Ok(tokens)
}

/// One element of a glob pattern.
enum Glob {
    /// `*` (a run of them is one).
    Star,
    /// `?`
    One,
    Char(char),
    /// `[...]`: ranges (a single character is a range of one); `[!...]` negates.
    Class(bool, Vec<(char, char)>),
}

/// A pattern's elements, in one pass. A `[` without a closing `]` is a literal `[`; the
/// first `]` after the class's first character closes it (so `[]]` is a class of `]`).
fn compile(pattern: &[char]) -> Vec<Glob> {
    let last_close = pattern.iter().rposition(|&c| c == ']');
    let mut globs = Vec::new();
    let mut i = 0;
    while let Some(&c) = pattern.get(i) {
        i += 1;
        match c {
            '*' => {
                if !matches!(globs.last(), Some(Glob::Star)) {
                    globs.push(Glob::Star);
                }
            }
            '?' => globs.push(Glob::One),
            '[' => {
                let negate = pattern.get(i) == Some(&'!');
                let start = i + usize::from(negate);
                if last_close.is_none_or(|close| close <= start) {
                    globs.push(Glob::Char('['));
                    continue;
                }
                let mut j = start;
                let mut items = Vec::new();
                while let Some(&first) = pattern.get(j) {
                    if first == ']' && j > start {
                        break;
                    }
                    match (pattern.get(j + 1), pattern.get(j + 2)) {
                        (Some('-'), Some(&last)) if last != ']' => {
                            items.push((first, last));
                            j += 3;
                        }
                        _ => {
                            items.push((first, first));
                            j += 1;
                        }
                    }
                }
                globs.push(Glob::Class(negate, items));
                i = j + 1;
            }
            c => globs.push(Glob::Char(c)),
        }
    }
    globs
}

/// `*`, `?` and `[...]` (with `[!...]` and ranges) against one file name, as `fnmatch`.
/// Iterative, going back only to the last `*`: linear in the name for each element, so
/// no pattern can take exponential time or recurse deeply.
fn fnmatch(pattern: &[char], name: &[char]) -> bool {
    let globs = compile(pattern);
    let matches_one = |glob: &Glob, c: char| match glob {
        Glob::Star => false,
        Glob::One => true,
        Glob::Char(p) => *p == c,
        Glob::Class(negate, items) => {
            items.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negate
        }
    };
    let (mut g, mut n) = (0, 0);
    // Where to go on from after the last `*` seen: (element, name position).
    let mut resume: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(n) {
        match globs.get(g) {
            Some(Glob::Star) => {
                g += 1;
                resume = Some((g, n));
            }
            Some(glob) if matches_one(glob, c) => {
                g += 1;
                n += 1;
            }
            _ => match resume {
                // The last `*` takes one more character.
                Some((after_star, at)) => {
                    g = after_star;
                    n = at + 1;
                    resume = Some((after_star, at + 1));
                }
                None => return false,
            },
        }
    }
    globs.iter().skip(g).all(|glob| matches!(glob, Glob::Star))
}

fn has_magic(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// `glob.glob(pattern)` over the components of an absolute pattern.
fn glob(pattern: &Path, list_dir: &dyn Fn(&Path) -> std::io::Result<Vec<PathBuf>>) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    let components: Vec<_> = pattern.components().collect();
    for (index, component) in components.iter().enumerate() {
        let text = component.as_os_str().to_string_lossy();
        let last = index + 1 == components.len();
        let mut next = Vec::new();
        for base in &current {
            if has_magic(&text) || last {
                let Ok(children) = list_dir(if base.as_os_str().is_empty() {
                    Path::new("/")
                } else {
                    base
                }) else {
                    continue;
                };
                let pattern: Vec<char> = text.chars().collect();
                for child in children {
                    let Some(name) = child.file_name().map(|n| n.to_string_lossy().into_owned())
                    else {
                        continue;
                    };
                    // Like glob: a leading '.' is matched only by a leading '.'.
                    if name.starts_with('.') && !text.starts_with('.') {
                        continue;
                    }
                    let name: Vec<char> = name.chars().collect();
                    let matched = if has_magic(&text) {
                        fnmatch(&pattern, &name)
                    } else {
                        name == pattern
                    };
                    if matched {
                        next.push(base.join(child.file_name().unwrap_or_default()));
                    }
                }
            } else {
                next.push(base.join(component));
            }
        }
        current = next;
    }
    current
}

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

// ---------------------------------------------------------------------------------------
// Interpretation (§2)

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

struct Reader<'a> {
    path: &'a Path,
    /// The main file's directory.
    here: String,
    env: &'a dyn Fn(&str) -> Option<String>,
    users: &'a dyn UserDb,
    host: String,
    ini: Ini,
    warnings: Vec<String>,
    /// `[supervisord] environment`, in order.
    global_env: Vec<(String, String)>,
}

/// One supervisord process group: its (priority, name) sort key and its processes in
/// start order.
struct ProcessGroup {
    priority: i32,
    name: String,
    processes: Vec<ProgramSpec>,
}

impl Reader<'_> {
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

    fn section_error(&self, section: &Section, message: impl Into<String>) -> ConfigError {
        ConfigError::new(
            &section.file,
            Some(section.line),
            Some(format!("[{}]", section.name)),
            message,
        )
    }

    fn warn(&mut self, file: &Path, line: usize, what: &str, message: &str) {
        self.warnings
            .push(format!("{}:{line}: {what}: {message}", file.display()));
    }

    fn names(
        &self,
        fixed: &[(&'static str, Value)],
        extra_env: Vec<(String, String)>,
    ) -> Names<'_> {
        Names {
            fixed: fixed.iter().cloned().collect(),
            extra_env,
            env: self.env,
        }
    }

    fn expand(
        &self,
        entry: &Entry,
        section: &str,
        key: &str,
        names: &Names,
    ) -> Result<String, ConfigError> {
        let value = percent_format(&entry.value, names).map_err(|why| {
            self.error(
                entry,
                section,
                key,
                format!("format string {:?} {why}", entry.value),
            )
        })?;
        // No key can use one (a command, a path or an environment value with a NUL
        // could only fail when spawned), so it is refused here, as in the TOML format.
        if value.contains('\0') {
            return Err(self.error(
                entry,
                section,
                key,
                "a value cannot contain a NUL character",
            ));
        }
        Ok(value)
    }

    /// `[include] files=` (§1.5): only the main file's, read in order, each match list
    /// sorted.
    fn includes(
        &mut self,
        read_file: &dyn Fn(&Path) -> std::io::Result<String>,
        list_dir: &dyn Fn(&Path) -> std::io::Result<Vec<PathBuf>>,
    ) -> Result<(), ConfigError> {
        let Some(section) = self.ini.section("include") else {
            return Ok(());
        };
        let Some(entry) = self.ini.get(section, "files").cloned() else {
            return Err(self.section_error(
                section,
                ".ini file has [include] section, but no files setting",
            ));
        };
        let names = self.names(
            &[
                ("here", Value::Str(self.here.clone())),
                ("host_node_name", Value::Str(self.host.clone())),
            ],
            Vec::new(),
        );
        let files = self.expand(&entry, "include", "files", &names)?;
        let base = PathBuf::from(&self.here);
        for pattern in files.split_whitespace() {
            let pattern = base.join(pattern);
            let mut matches = glob(&pattern, list_dir);
            if matches.is_empty() {
                let message = format!(
                    "No file matches via include {:?}",
                    pattern.display().to_string()
                );
                self.warn(&entry.file, entry.line, "[include] files", &message);
                continue;
            }
            matches.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
            for file in matches {
                // Python's ConfigParser.read skips a file it cannot open, silently.
                let text = match read_file(&file) {
                    Ok(text) => text,
                    Err(err) => {
                        let message = format!(
                            "{}, skipped (as supervisord does)",
                            ConfigError::io(&file, err)
                        );
                        self.warn(&entry.file, entry.line, "[include] files", &message);
                        continue;
                    }
                };
                let here = directory_of(&file);
                self.ini.read(&text, &file, &here)?;
            }
        }
        Ok(())
    }

    fn plan(&mut self) -> Result<Plan, ConfigError> {
        let Some(index) = self
            .ini
            .sections
            .iter()
            .position(|s| s.name == "supervisord")
        else {
            return Err(ConfigError::new(
                self.path,
                None,
                None,
                ".ini file does not include supervisord section",
            ));
        };
        let (global_umask, global_user) = self.supervisord_section(index)?;

        // Which [group:x] each program belongs to (§2.5), in file order.
        let mut groups: Vec<(String, i32, Vec<String>, usize)> = Vec::new();
        let mut in_group: Vec<String> = Vec::new();
        let mut group_warnings = Vec::new();
        for index in 0..self.ini.sections.len() {
            let section = &self.ini.sections[index];
            let Some(raw) = section.name.strip_prefix("group:") else {
                continue;
            };
            let name = process_or_group_name(raw).map_err(|m| self.section_error(section, m))?;
            let names = self.names(
                &[("here", Value::Str(self.here.clone()))],
                self.global_env.clone(),
            );
            let mut priority = 999;
            let mut members = Vec::new();
            let mut programs_given = false;
            for (key, entry) in self.ini.keys(section) {
                let value = match key {
                    "programs" | "priority" => self.expand(entry, &section.name, key, &names)?,
                    // A [DEFAULT] key meant for programs is not reported here.
                    _ if !section.keys.iter().any(|(k, _)| k == key) => continue,
                    _ => {
                        let message = "unknown key, ignored (a [group] has programs and priority)";
                        let (file, line) = (entry.file.clone(), entry.line);
                        let what = format!("[{}] {key}", section.name);
                        group_warnings
                            .push(format!("{}:{line}: {what}: {message}", file.display()));
                        continue;
                    }
                };
                if key == "priority" {
                    priority = integer(&value)
                        .and_then(|n| {
                            i32::try_from(n).map_err(|_| format!("priority out of range: {n}"))
                        })
                        .map_err(|m| self.error(entry, &section.name, key, m))?;
                } else {
                    programs_given = true;
                    if !value.is_empty() {
                        for member in value.split(',') {
                            let member = member.trim().to_string();
                            if self.ini.section(&format!("program:{member}")).is_none() {
                                let message = if self
                                    .ini
                                    .section(&format!("fcgi-program:{member}"))
                                    .is_some()
                                {
                                    format!(
                                        "[{}] names fcgi-program {member}, which rinit does not support",
                                        section.name
                                    )
                                } else {
                                    format!(
                                        "[{}] names unknown program or fcgi-program {member}",
                                        section.name
                                    )
                                };
                                return Err(self.error(entry, &section.name, key, message));
                            }
                            in_group.push(member.clone());
                            members.push(member);
                        }
                    }
                }
            }
            if !programs_given {
                return Err(self.section_error(
                    section,
                    format!("[{}] requires a programs line", section.name),
                ));
            }
            groups.push((name, priority, members, index));
        }
        self.warnings.append(&mut group_warnings);

        let mut process_groups: Vec<ProcessGroup> = Vec::new();
        for index in 0..self.ini.sections.len() {
            let name = self.ini.sections[index].name.clone();
            if let Some(raw) = name.strip_prefix("program:") {
                let program = process_or_group_name(raw)
                    .map_err(|m| self.section_error(&self.ini.sections[index], m))?;
                if in_group.contains(&program) {
                    continue;
                }
                let (priority, processes) =
                    self.program(index, &program, &program, &global_umask, &global_user)?;
                process_groups.push(ProcessGroup {
                    priority,
                    name: program,
                    processes,
                });
            } else if name.starts_with("group:") || name == "supervisord" || name == "include" {
                continue;
            } else {
                let kind = name.split(':').next().unwrap_or_default();
                let message = match kind {
                    "eventlistener" => recognise_listener(&self.ini.sections[index]),
                    "fcgi-program" | "unix_http_server" | "inet_http_server" | "supervisorctl"
                    | "rpcinterface" | "ctlplugin" => "not supported by rinit, section ignored",
                    _ => "unknown section, ignored (section names are case-sensitive)",
                };
                let section = &self.ini.sections[index];
                let (file, line) = (section.file.clone(), section.line);
                self.warn(&file, line, &format!("[{name}]"), message);
            }
        }
        for (group, priority, members, _) in &groups {
            let mut processes = Vec::new();
            for member in members {
                let index = self
                    .ini
                    .sections
                    .iter()
                    .position(|s| s.name == format!("program:{member}"))
                    .unwrap_or_default();
                let (_, mut more) =
                    self.program(index, member, group, &global_umask, &global_user)?;
                processes.append(&mut more);
            }
            process_groups.push(ProcessGroup {
                priority: *priority,
                name: group.clone(),
                processes,
            });
        }
        // §3.3: groups by (priority, name); each process takes its group's priority.
        process_groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let mut programs: Vec<ProgramSpec> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for group in process_groups {
            for mut process in group.processes {
                process.priority = group.priority;
                process.group = Some(group.name.clone());
                if !seen.insert(process.name.clone()) {
                    return Err(ConfigError::new(
                        self.path,
                        None,
                        None,
                        format!(
                            "process name '{}' is used twice (rinit needs unique process names; is a program listed in two groups?)",
                            process.name
                        ),
                    ));
                }
                programs.push(process);
            }
        }
        if programs.is_empty() {
            return Err(ConfigError::new(
                self.path,
                None,
                None,
                "no programs defined (expected at least one [program:NAME] section)",
            ));
        }
        Ok(Plan {
            source: self.path.to_path_buf(),
            grace: DEFAULT_GRACE,
            programs,
            output: OutputSpec::default(),
        })
    }

    /// `[supervisord]` (§2.1): its environment, and the umask and user its children
    /// would inherit.
    fn supervisord_section(
        &mut self,
        index: usize,
    ) -> Result<(Option<u32>, Option<super::RunAs>), ConfigError> {
        let section = &self.ini.sections[index];
        let mut umask = None;
        let mut user = None;
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
            let name = "supervisord";
            let mut warn = |message: String| {
                warnings.push(format!(
                    "{}:{}: [supervisord] {key}: {message}",
                    entry.file.display(),
                    entry.line
                ));
            };
            if key == "environment" {
                // 4.3.0 expands it twice (§1.9).
                let once = self.expand(entry, name, key, &with_host)?;
                let twice = Entry {
                    value: once,
                    ..entry.clone()
                };
                let text = self.expand(&twice, name, key, &with_host)?;
                global_env = key_value_pairs(&text).map_err(|m| self.error(entry, name, key, m))?;
                continue;
            }
            let value = self.expand(entry, name, key, &names)?;
            let check =
                |result: Result<(), String>| result.map_err(|m| self.error(entry, name, key, m));
            match key {
                "umask" => {
                    umask = Some(octal(&value).map_err(|m| self.error(entry, name, key, m))?)
                }
                "user" => {
                    let found = self.users.user(&value).ok_or_else(|| {
                        self.error(entry, name, key, format!("Invalid user name {value}"))
                    })?;
                    if found.uid != 0 {
                        user = Some(found);
                    }
                }
                "nodaemon" | "silent" | "nocleanup" => check(boolean(&value).map(drop))?,
                "strip_ansi" => {
                    if boolean(&value).map_err(|m| self.error(entry, name, key, m))? {
                        warn("not supported by rinit, ignored (output is passed as it is)".into());
                    }
                }
                "minfds" | "minprocs" => {
                    let n = integer(&value).map_err(|m| self.error(entry, name, key, m))?;
                    let default = if key == "minfds" { 1024 } else { 200 };
                    if n != default {
                        warn("not applied by rinit (it does not raise resource limits; the container's limits apply)".into());
                    }
                }
                "logfile_maxbytes" => check(bytes(&value).map(drop))?,
                "logfile_backups" => check(integer(&value).map(drop))?,
                "loglevel" => {
                    const LEVELS: &[&str] = &[
                        "critical", "error", "warn", "info", "debug", "trace", "blather",
                    ];
                    if !LEVELS.contains(&value.to_lowercase().as_str()) {
                        return Err(self.error(
                            entry,
                            name,
                            key,
                            format!("invalid log level {value:?}"),
                        ));
                    }
                }
                "logfile" => {
                    let harmless = [
                        "/dev/null",
                        "/dev/stdout",
                        "/dev/fd/1",
                        "/proc/self/fd/1",
                        "/dev/stderr",
                        "/dev/fd/2",
                        "/proc/self/fd/2",
                    ];
                    if !harmless.contains(&value.as_str()) {
                        warn("ignored: rinit writes its own messages to its stderr".into());
                    }
                }
                "pidfile" | "childlogdir" | "identifier" => {}
                "directory" => warn("ignored: rinit does not change its own directory".into()),
                // A [DEFAULT] key meant for programs is not reported here.
                _ if !section.keys.iter().any(|(k, _)| k == key) => {}
                _ => warn("unknown key, ignored".into()),
            }
        }
        self.warnings.append(&mut warnings);
        self.global_env = global_env;
        Ok((umask, user))
    }

    /// The processes of `[program:x]` (§2.2) in group `group`, and the program's
    /// priority.
    fn program(
        &mut self,
        index: usize,
        program: &str,
        group: &str,
        global_umask: &Option<u32>,
        global_user: &Option<super::RunAs>,
    ) -> Result<(i32, Vec<ProgramSpec>), ConfigError> {
        let section = &self.ini.sections[index];
        let sname = section.name.clone();
        let mut common = vec![
            ("here", Value::Str(self.here.clone())),
            ("program_name", Value::Str(program.to_string())),
            ("group_name", Value::Str(group.to_string())),
            ("host_node_name", Value::Str(self.host.clone())),
        ];
        let names = self.names(&common, self.global_env.clone());
        let entries: Vec<(String, Entry)> = self
            .ini
            .keys(section)
            .into_iter()
            .map(|(k, e)| (k.to_string(), e.clone()))
            .collect();
        let entry = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, e)| e);
        let mut warnings = Vec::new();
        for (key, entry) in &entries {
            let what = format!("[{sname}] {key}");
            let at = format!("{}:{}", entry.file.display(), entry.line);
            if PROGRAM_IGNORED.contains(&key.as_str()) {
                let value = self.expand(entry, &sname, key, &names)?;
                let valid = if key.ends_with("_enabled") || key.ends_with("_syslog") {
                    boolean(&value).map(|b| b.then_some(()))
                } else if key.ends_with("_maxbytes") {
                    bytes(&value).map(|n| (n != 0).then_some(()))
                } else {
                    // serverurl
                    Ok((!value.trim().eq_ignore_ascii_case("auto")).then_some(()))
                };
                if valid
                    .map_err(|m| self.error(entry, &sname, key, m))?
                    .is_some()
                {
                    warnings.push(format!("{at}: {what}: not supported by rinit, ignored"));
                }
            } else if !PROGRAM_KEYS.contains(&key.as_str()) {
                warnings.push(format!("{at}: {what}: unknown key, ignored"));
            }
        }
        // Read before the numprocs loop: no process_num.
        let get = |key: &str, default: &str| -> Result<(String, Option<&Entry>), ConfigError> {
            match entry(key) {
                Some(e) => Ok((self.expand(e, &sname, key, &names)?, Some(e))),
                None => Ok((default.to_string(), None)),
            }
        };
        macro_rules! read {
            ($key:expr, $default:expr, $parse:expr) => {{
                let (text, at) = get($key, $default)?;
                match ($parse)(text.as_str()) {
                    Ok(value) => value,
                    Err(message) => {
                        return Err(match at {
                            Some(e) => self.error(e, &sname, $key, message),
                            None => self.section_error(&self.ini.sections[index], message),
                        });
                    }
                }
            }};
        }
        let priority: i32 = read!("priority", "999", |t: &str| integer(t)
            .and_then(|n| i32::try_from(n).map_err(|_| format!("priority out of range: {n}"))));
        let autostart = read!("autostart", "true", boolean);
        let autorestart = read!("autorestart", "unexpected", autorestart);
        let startsecs: u64 = read!("startsecs", "1", non_negative);
        let startretries: u32 = read!("startretries", "3", non_negative);
        let stopsignal = read!("stopsignal", "TERM", signal);
        let stopwaitsecs: u64 = read!("stopwaitsecs", "10", non_negative);
        let stopasgroup = read!("stopasgroup", "false", boolean);
        let killasgroup = match entry("killasgroup") {
            Some(_) => read!("killasgroup", "false", boolean),
            None => stopasgroup,
        };
        // Left out, killasgroup is stopasgroup: only a given one can disagree.
        if stopasgroup
            && !killasgroup
            && let Some(e) = entry("killasgroup")
        {
            return Err(self.error(
                e,
                &sname,
                "killasgroup",
                "Cannot set stopasgroup=true and killasgroup=false",
            ));
        }
        let exitcodes = read!("exitcodes", "0", exitcodes);
        let redirect_stderr = read!("redirect_stderr", "false", boolean);
        let numprocs = read!("numprocs", "1", integer);
        // supervisord has no limit; a typo like numprocs=100000000 would make PID 1 run
        // out of memory before anything starts.
        const MAX_NUMPROCS: i64 = 4096;
        if numprocs > MAX_NUMPROCS
            && let Some(e) = entry("numprocs")
        {
            return Err(self.error(
                e,
                &sname,
                "numprocs",
                format!("{numprocs} is more than rinit runs ({MAX_NUMPROCS} at most)"),
            ));
        }
        let numprocs_start = read!("numprocs_start", "0", integer);
        let user = match entry("user") {
            Some(e) => {
                let name = self.expand(e, &sname, "user", &names)?;
                Some(self.users.user(&name).ok_or_else(|| {
                    self.error(e, &sname, "user", format!("Invalid user name {name}"))
                })?)
            }
            None => global_user.clone(),
        };
        let umask = match entry("umask") {
            Some(_) => Some(read!("umask", "022", octal)),
            None => *global_umask,
        };
        let mut max_bytes = [0u64; 2];
        for (slot, key) in ["stdout_logfile_maxbytes", "stderr_logfile_maxbytes"]
            .into_iter()
            .enumerate()
        {
            let value = read!(key, "50MB", bytes);
            max_bytes[slot] = u64::try_from(value).unwrap_or(0);
            if value < 0
                && let Some(e) = entry(key)
            {
                let at = format!("{}:{}", e.file.display(), e.line);
                warnings.push(format!(
                    "{at}: [{sname}] {key}: {value} is negative: the file is never rotated"
                ));
            }
        }
        let mut backups = [0u32; 2];
        for (slot, key) in ["stdout_logfile_backups", "stderr_logfile_backups"]
            .into_iter()
            .enumerate()
        {
            // Capped: each backup is one rename per rotation.
            let value = read!(key, "10", integer);
            backups[slot] = u32::try_from(value).unwrap_or(0).min(1000);
            if i64::from(backups[slot]) != value
                && let Some(e) = entry(key)
            {
                let at = format!("{}:{}", e.file.display(), e.line);
                warnings.push(format!(
                    "{at}: [{sname}] {key}: {value} is out of range: {} backups are kept",
                    backups[slot]
                ));
            }
        }
        let process_name = entry("process_name")
            .map(|e| e.value.clone())
            .unwrap_or_else(|| "%(program_name)s".into());
        if let Some(e) = entry("process_name") {
            // Checked before expansion as well as after.
            process_or_group_name(&e.value)
                .map_err(|m| self.error(e, &sname, "process_name", m))?;
        }
        if numprocs > 1 && !process_name.contains("%(process_num)") {
            let message = "%(process_num) must be present within process_name when numprocs > 1";
            return Err(match entry("process_name") {
                Some(e) => self.error(e, &sname, "process_name", message),
                // numprocs > 1 was given (here or in [DEFAULT]).
                None => match entry("numprocs") {
                    Some(e) => self.error(e, &sname, "numprocs", message),
                    None => self.section_error(&self.ini.sections[index], message),
                },
            });
        }
        let process_name_entry = Entry {
            value: process_name,
            ..entry("process_name")
                .or(entry("numprocs"))
                .cloned()
                .unwrap_or(Entry {
                    value: String::new(),
                    file: self.ini.sections[index].file.clone(),
                    line: self.ini.sections[index].line,
                })
        };

        let mut processes = Vec::new();
        for process_num in numprocs_start..numprocs_start.saturating_add(numprocs.max(0)) {
            common.push(("process_num", Value::Int(process_num)));
            common.push(("numprocs", Value::Int(numprocs)));
            let names = self.names(&common, self.global_env.clone());
            common.truncate(4);
            let own_env = match entry("environment") {
                Some(e) => {
                    let text = self.expand(e, &sname, "environment", &names)?;
                    key_value_pairs(&text).map_err(|m| self.error(e, &sname, "environment", m))?
                }
                None => Vec::new(),
            };
            // command, process_name, directory and the logfiles also see this program's
            // own environment as ENV_*.
            let mut extra = self.global_env.clone();
            extra.extend(own_env.iter().cloned());
            let names = Names {
                extra_env: extra,
                ..names
            };
            let Some(command_entry) = entry("command") else {
                return Err(self.section_error(
                    &self.ini.sections[index],
                    format!("program section {sname} does not specify a command"),
                ));
            };
            let command_line = self.expand(command_entry, &sname, "command", &names)?;
            let command = shlex::split(&command_line).ok_or_else(|| {
                self.error(
                    command_entry,
                    &sname,
                    "command",
                    format!("expected a command line with balanced quotes, found {command_line:?}"),
                )
            })?;
            if command.first().is_none_or(String::is_empty) {
                return Err(self.error(command_entry, &sname, "command", "the command is empty"));
            }
            let name = self.expand(&process_name_entry, &sname, "process_name", &names)?;
            let name = process_or_group_name(&name)
                .map_err(|m| self.error(&process_name_entry, &sname, "process_name", m))?;
            let directory = match entry("directory") {
                Some(e) => Some(PathBuf::from(self.expand(
                    e,
                    &sname,
                    "directory",
                    &names,
                )?)),
                None => None,
            };
            let mut spec = ProgramSpec::with_defaults(&name, command);
            spec.priority = priority;
            spec.autostart = autostart;
            spec.autorestart = autorestart;
            spec.exitcodes = exitcodes.clone();
            spec.startsecs = Duration::from_secs(startsecs);
            spec.startretries = startretries;
            spec.stopsignal = stopsignal;
            spec.stopwaitsecs = Duration::from_secs(stopwaitsecs);
            spec.stopasgroup = stopasgroup;
            spec.killasgroup = killasgroup;
            spec.user = user.clone();
            spec.umask = umask;
            spec.directory = directory;
            spec.redirect_stderr = redirect_stderr;
            spec.on_exit = OnExit::Shutdown;
            spec.output = ProgramOutput::Prefixed;
            let mut environment = self.global_env.clone();
            for (key, value) in own_env {
                match environment.iter_mut().find(|(k, _)| *k == key) {
                    Some(pair) => pair.1 = value,
                    None => environment.push((key, value)),
                }
            }
            spec.environment = environment;
            for (key, paths) in [
                ("stdout_logfile", STDOUT_PATHS),
                ("stderr_logfile", STDERR_PATHS),
            ] {
                let Some(e) = entry(key) else { continue };
                // Expanded twice (§1.4).
                let once = self.expand(e, &sname, key, &names)?;
                let value = self.expand(
                    &Entry {
                        value: once,
                        ..e.clone()
                    },
                    &sname,
                    key,
                    &names,
                )?;
                let at = format!("{}:{}", e.file.display(), e.line);
                let slot = usize::from(key == "stderr_logfile");
                if slot == 0 {
                    spec.stdout_logfile = Some(value.clone());
                } else {
                    spec.stderr_logfile = Some(value.clone());
                }
                // A real file: written raw, with rotation, as supervisord does. NONE: a
                // file nobody reads. AUTO (supervisord's temporary file): rinit's output.
                // supervisord matches its keywords without regard to case.
                let keyword = value.to_ascii_uppercase();
                let to_stdout = slot == 1 && STDOUT_PATHS.contains(&value.as_str());
                let file = match keyword.as_str() {
                    _ if paths.contains(&value.as_str()) => None,
                    // The Docker idiom `stderr_logfile=/dev/stdout`: stderr into the
                    // stdout stream, prefixed, as with redirect_stderr.
                    _ if to_stdout => {
                        spec.redirect_stderr = true;
                        None
                    }
                    _ if slot == 0 && STDERR_PATHS.contains(&value.as_str()) => {
                        warnings.push(format!("{at}: [{sname}] {key}: {key}={value}: rinit writes a program's stdout to its own stdout, prefixed"));
                        None
                    }
                    "AUTO" | "SYSLOG" => {
                        let stream = &key[..6];
                        warnings.push(format!("{at}: [{sname}] {key}: {key}={value}: output goes to rinit's prefixed {stream}"));
                        None
                    }
                    "NONE" | "OFF" => Some(super::LogFileSettings {
                        path: PathBuf::from("/dev/null"),
                        max_bytes: 0,
                        backups: 0,
                    }),
                    _ => Some(super::LogFileSettings {
                        path: PathBuf::from(&value),
                        max_bytes: max_bytes[slot],
                        backups: backups[slot],
                    }),
                };
                if key == "stderr_logfile" && redirect_stderr {
                    warnings.push(format!("{at}: [{sname}] {key}: ignored: redirect_stderr=true sends stderr to stdout"));
                } else if slot == 0 {
                    spec.stdout_log = file;
                } else {
                    spec.stderr_log = file;
                }
            }
            processes.push(spec);
        }
        // A program with numprocs > 1 reads its keys once per process: one warning each.
        for warning in warnings {
            if !self.warnings.contains(&warning) {
                self.warnings.push(warning);
            }
        }
        // supervisord sorts a program's processes by (priority, name); the priority is
        // the same for all, so by name (as strings: w10 before w2).
        processes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((priority, processes))
    }
}

/// Entry points for the fuzz tests (`src/fuzz/`) into this module's private parsers.
#[cfg(test)]
pub(crate) mod fuzz_hooks {
    use super::*;

    /// `%(name)s` expansion with the names a `[program:x]` key sees.
    pub(crate) fn percent_format(
        text: &str,
        process_num: i64,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        let names = Names {
            fixed: [
                ("here", Value::Str("/etc/supervisor".into())),
                ("program_name", Value::Str("web".into())),
                ("group_name", Value::Str("web".into())),
                ("host_node_name", Value::Str("host".into())),
                ("process_num", Value::Int(process_num)),
                ("numprocs", Value::Int(2)),
            ]
            .into_iter()
            .collect(),
            extra_env: vec![("OWN".into(), "own value".into())],
            env,
        };
        super::percent_format(text, &names)
    }

    /// Every value syntax of §2.9 on `text` (results are discarded: they must not panic).
    pub(crate) fn values(text: &str) {
        let _ = boolean(text);
        let _ = py_int(text, 10);
        let _ = py_int(text, 8);
        let _ = integer(text);
        let _ = non_negative::<u32>(text);
        let _ = non_negative::<u64>(text);
        let _ = octal(text);
        let _ = bytes(text);
        let _ = super::autorestart(text);
        let _ = super::exitcodes(text);
        let _ = signal(text);
        let _ = process_or_group_name(text);
        let _ = inline_comment_start(text);
        let _ = section_header(text);
        let _ = looks_like_supervisord(text);
        let _ = has_magic(text);
    }

    /// `environment=`'s `KEY=val,...` reading.
    pub(crate) fn key_value_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
        super::key_value_pairs(text)
    }

    /// An `[include]` glob component against one file name.
    pub(crate) fn fnmatch(pattern: &str, name: &str) -> bool {
        let pattern: Vec<char> = pattern.chars().collect();
        let name: Vec<char> = name.chars().collect();
        super::fnmatch(&pattern, &name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::users::fake::FakeUsers;

    const MAIN: &str = "/etc/supervisor/supervisord.conf";
    const HEAD: &str = "[supervisord]\nnodaemon=true\n";

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/app".into()),
            "NUMPROCS" => Some("2".into()),
            "QUEUE" => Some("default".into()),
            _ => None,
        }
    }

    /// Reads `text` as MAIN, with `files` (absolute path, text) as the file system.
    /// [`read_with_reports`] without the report-only fields (group, log files), which
    /// `groups_and_logfiles_are_kept_for_reports` checks on its own.
    fn read_with(text: &str, files: &[(&str, &str)]) -> Result<(Plan, Vec<String>), ConfigError> {
        read_with_reports(text, files).map(|(mut plan, warnings)| {
            clear_reports(&mut plan);
            (plan, warnings)
        })
    }

    fn clear_reports(plan: &mut Plan) {
        for program in &mut plan.programs {
            program.group = None;
            program.stdout_logfile = None;
            program.stderr_logfile = None;
            program.stdout_log = None;
            program.stderr_log = None;
        }
    }

    #[test]
    fn real_log_files_are_written_with_supervisords_rotation_settings() {
        use crate::config::LogFileSettings as LogFileSpec;
        let text = format!(
            "{HEAD}[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\n\
             stdout_logfile_maxbytes=1KB\nstdout_logfile_backups=2\nstderr_logfile=NONE\n\
             [program:b]\ncommand=y\nstdout_logfile=/var/log/b.log\n"
        );
        let (plan, warnings) = read_with_reports(&text, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let log = |path: &str, max_bytes, backups| {
            Some(LogFileSpec {
                path: path.into(),
                max_bytes,
                backups,
            })
        };
        assert_eq!(plan.programs[0].stdout_log, log("/var/log/a.log", 1024, 2));
        assert_eq!(plan.programs[0].stderr_log, log("/dev/null", 0, 0));
        // supervisord's defaults: 50MB, 10 backups.
        assert_eq!(
            plan.programs[1].stdout_log,
            log("/var/log/b.log", 52_428_800, 10)
        );
        assert_eq!(plan.programs[1].stderr_log, None);
    }

    fn read_with_reports(
        text: &str,
        files: &[(&str, &str)],
    ) -> Result<(Plan, Vec<String>), ConfigError> {
        let files: Vec<(PathBuf, String)> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        let read_file = |path: &Path| {
            files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, t)| t.clone())
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        };
        let list_dir = |dir: &Path| {
            let children: Vec<PathBuf> = files
                .iter()
                .flat_map(|(p, _)| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
                .filter(|p| p.parent() == Some(dir))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if children.is_empty() {
                Err(std::io::Error::from(std::io::ErrorKind::NotFound))
            } else {
                Ok(children)
            }
        };
        parse(
            text,
            Path::new(MAIN),
            &env,
            &FakeUsers,
            &read_file,
            &list_dir,
        )
    }

    fn read(text: &str) -> (Plan, Vec<String>) {
        read_with(text, &[]).unwrap_or_else(|err| panic!("unexpected error: {err}"))
    }

    #[test]
    fn groups_and_logfiles_are_kept_for_reports() {
        let text = format!(
            "{HEAD}[group:g]\nprograms=a\n[program:a]\ncommand=x\nstdout_logfile=/dev/stdout\n\
             [program:b]\ncommand=y\nstderr_logfile=/dev/fd/2\n"
        );
        let (plan, _) = read_with_reports(&text, &[]).unwrap_or_else(|err| panic!("{err}"));
        let a = plan.programs.iter().find(|p| p.name == "a").unwrap();
        assert_eq!(a.group.as_deref(), Some("g"));
        assert_eq!(a.stdout_logfile.as_deref(), Some("/dev/stdout"));
        let b = plan.programs.iter().find(|p| p.name == "b").unwrap();
        assert_eq!(b.group.as_deref(), Some("b"));
        assert_eq!(b.stderr_logfile.as_deref(), Some("/dev/fd/2"));
    }

    fn programs(text: &str) -> Vec<ProgramSpec> {
        read(text).0.programs
    }

    /// The single program of `[program:web]` + `body`.
    fn program(body: &str) -> ProgramSpec {
        let mut programs = programs(&format!("{HEAD}[program:web]\n{body}\n"));
        assert_eq!(programs.len(), 1);
        programs.remove(0)
    }

    fn warnings(text: &str) -> Vec<String> {
        read(text).1
    }

    fn error(text: &str) -> String {
        match read_with(text, &[]) {
            Ok(plan) => panic!("expected an error, got {plan:?}"),
            Err(err) => err.to_string(),
        }
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    /// A program with supervisord's defaults.
    fn sv(name: &str, command: &[&str]) -> ProgramSpec {
        let mut spec = ProgramSpec::with_defaults(name, argv(command));
        spec.stopasgroup = false;
        spec.killasgroup = false;
        spec
    }

    fn names(programs: &[ProgramSpec]) -> Vec<(&str, i32)> {
        programs
            .iter()
            .map(|p| (p.name.as_str(), p.priority))
            .collect()
    }

    #[test]
    fn detects_the_format() {
        assert!(looks_like_supervisord("; x\n[program:web]\ncommand=x\n"));
        assert!(looks_like_supervisord("[supervisord]\r\nnodaemon=true\r\n"));
        assert!(looks_like_supervisord("[include]\nfiles=*.conf\n"));
        assert!(!looks_like_supervisord("[program.web]\ncommand = \"x\"\n"));
        assert!(!looks_like_supervisord("[rinit]\ngrace = 5\n"));
    }

    #[test]
    fn defaults_are_supervisords() {
        let (plan, warnings) = read(&format!("{HEAD}[program:app]\ncommand=/bin/app\n"));
        assert_eq!(
            plan,
            Plan {
                source: MAIN.into(),
                grace: DEFAULT_GRACE,
                programs: vec![sv("app", &["/bin/app"])],
                output: OutputSpec::default(),
            }
        );
        assert_eq!(warnings, Vec::<String>::new());
    }

    #[test]
    fn every_program_key() {
        let spec = program(
            "command=/usr/bin/app --port 80 \"a b\" c\\ d\n\
             priority=-5\nautostart=no\nautorestart=true\nexitcodes=0, 2\nstartsecs=0\n\
             startretries=10\nstopsignal=quit\nstopwaitsecs=30\nstopasgroup=true\n\
             directory=/srv/app\nuser=www-data\numask=027\n\
             environment=A=\"1\",B=two\nredirect_stderr=true\n\
             stdout_logfile=/proc/self/fd/1\nstdout_logfile_maxbytes=0\nstdout_logfile_backups=0",
        );
        let mut expected = sv("web", &["/usr/bin/app", "--port", "80", "a b", "c d"]);
        expected.priority = -5;
        expected.autostart = false;
        expected.autorestart = Autorestart::Always;
        expected.exitcodes = vec![0, 2];
        expected.startsecs = Duration::ZERO;
        expected.startretries = 10;
        expected.stopsignal = libc::SIGQUIT;
        expected.stopwaitsecs = Duration::from_secs(30);
        expected.stopasgroup = true;
        expected.killasgroup = true; // implied by stopasgroup
        expected.directory = Some("/srv/app".into());
        expected.user = FakeUsers.user("www-data");
        expected.umask = Some(0o027);
        expected.environment = vec![("A".into(), "1".into()), ("B".into(), "two".into())];
        expected.redirect_stderr = true;
        assert_eq!(spec, expected);
    }

    #[test]
    fn value_syntaxes() {
        assert_eq!(
            program("command=a\nautorestart=unexpected").autorestart,
            Autorestart::Unexpected
        );
        assert_eq!(
            program("command=a\nautorestart=OFF").autorestart,
            Autorestart::Never
        );
        assert!(program("command=a\nautostart=Yes").autostart);
        assert_eq!(
            program("command=a\nexitcodes=").exitcodes,
            Vec::<i32>::new()
        );
        assert_eq!(program("command=a\nstopsignal=9").stopsignal, libc::SIGKILL);
        assert_eq!(
            program("command=a\nstopsignal=SIGINT").stopsignal,
            libc::SIGINT
        );
        assert_eq!(program("command=a\npriority=+1_0").priority, 10);
        assert_eq!(program("command=a\numask=0o002").umask, Some(0o002));
        assert!(program("command=a\nkillasgroup=true").killasgroup);
        assert!(!program("command=a\nkillasgroup=true").stopasgroup);
        let e = |body: &str| error(&format!("{HEAD}[program:web]\ncommand=a\n{body}\n"));
        assert_eq!(
            e("autostart=maybe"),
            "/etc/supervisor/supervisord.conf:5: [program:web] autostart: not a valid boolean value: \"maybe\""
        );
        assert!(e("autorestart=sometimes").contains("invalid 'autorestart' value"));
        assert!(e("exitcodes=0,256").contains(":5: [program:web] exitcodes: expected exit codes"));
        assert!(e("exitcodes=-1").contains("exitcodes"));
        assert!(e("stopsignal=BOGUS").contains("value \"BOGUS\" is not a valid signal name"));
        assert!(e("startsecs=1.5").contains("expected an integer"));
        assert!(e("startsecs=-1").contains("non-negative"));
        assert!(e("stdout_logfile_maxbytes=5M").contains("expected a size"));
        assert!(e("user=nobody").contains("[program:web] user: Invalid user name nobody"));
        assert!(e("umask=8").contains("umask"));
        assert_eq!(
            e("stopasgroup=true\nkillasgroup=false"),
            "/etc/supervisor/supervisord.conf:6: [program:web] killasgroup: Cannot set stopasgroup=true and killasgroup=false"
        );
        assert_eq!(bytes("50MB"), Ok(52428800));
        assert_eq!(bytes("50 mb"), Ok(52428800));
        assert_eq!(bytes("1GB"), Ok(1073741824));
        assert_eq!(bytes("1024"), Ok(1024));
        assert!(bytes("5K").is_err());
    }

    #[test]
    fn errors_supervisord_rejects() {
        assert_eq!(
            error(&format!("{HEAD}[program:web]\nautostart=true\n")),
            "/etc/supervisor/supervisord.conf:3: [program:web]: program section program:web does not specify a command"
        );
        assert_eq!(
            error("[program:web]\ncommand=a\n"),
            "/etc/supervisor/supervisord.conf: .ini file does not include supervisord section"
        );
        assert_eq!(
            error(&format!("{HEAD}[program:web]\ncommand=a\nnumprocs=2\n")),
            "/etc/supervisor/supervisord.conf:5: [program:web] numprocs: %(process_num) must be present within process_name when numprocs > 1"
        );
        assert_eq!(
            error(&format!(
                "{HEAD}[program:web]\ncommand=a\n[group:g]\nprograms=web,db\n"
            )),
            "/etc/supervisor/supervisord.conf:6: [group:g] programs: [group:g] names unknown program or fcgi-program db"
        );
        assert_eq!(
            error(&format!("{HEAD}[include]\n")),
            "/etc/supervisor/supervisord.conf:3: [include]: .ini file has [include] section, but no files setting"
        );
        assert!(
            error(&format!("{HEAD}[program:web]\ncommand=\n")).contains("the command is empty")
        );
    }

    /// §1.1
    #[test]
    fn ini_lines_sections_and_keys() {
        let (plan, warnings) = read(
            "[supervisord]\r\nnodaemon = true\r\n\
             [program:a]\r\nCommand: /bin/a\r\nstartsecs\t= 0\r\nstartsecs=5\r\n\
             [Program:B]\ncommand=/bin/b\n\
             [DEFAULT]\nautorestart=false\n\
             [program:a]\npriority=7\n",
        );
        let mut a = sv("a", &["/bin/a"]);
        a.startsecs = Duration::from_secs(5);
        a.priority = 7;
        a.autorestart = Autorestart::Never;
        assert_eq!(plan.programs, vec![a]);
        assert_eq!(
            warnings,
            // [DEFAULT]'s autorestart is not reported as unknown in [supervisord].
            [
                "/etc/supervisor/supervisord.conf:7: [Program:B]: unknown section, ignored (section names are case-sensitive)"
            ]
        );
        assert_eq!(
            error("[supervisord]\nnodaemon\n"),
            "/etc/supervisor/supervisord.conf:2: expected KEY=VALUE or [SECTION], found \"nodaemon\""
        );
        assert!(
            error("command=x\n[supervisord]\n")
                .starts_with("/etc/supervisor/supervisord.conf:1: expected a section header")
        );
    }

    /// §1.2
    #[test]
    fn comments() {
        let command = |line: &str| program(&format!("command={line}")).command;
        assert_eq!(
            command("/usr/sbin/nginx -g \"daemon off;\" ; error_log x"),
            argv(&["/usr/sbin/nginx", "-g", "daemon off;"])
        );
        assert_eq!(
            command("/usr/sbin/nginx -g \"daemon off; error_log /dev/stderr;\""),
            argv(&[
                "/usr/sbin/nginx",
                "-g",
                "daemon off; error_log /dev/stderr;"
            ])
        );
        assert_eq!(
            command("bash -c 'if true; then x; fi'"),
            argv(&["bash", "-c", "if true; then x; fi"])
        );
        assert_eq!(command("x #c"), argv(&["x"]));
        assert_eq!(command("x#c"), argv(&["x#c"]));
        // Quotes do not protect: the value is cut, and the quote left open.
        assert!(
            error(&format!(
                "{HEAD}[program:web]\ncommand=bash -c 'foo ; bar'\n"
            ))
            .contains("balanced quotes, found \"bash -c 'foo\"")
        );
        assert_eq!(
            program("command=a\nuser=www-data\t\t ;").user,
            FakeUsers.user("www-data")
        );
        assert_eq!(
            programs(&format!(
                "{HEAD}  ; indented comment\n# other\n[program:web]\ncommand=a\n"
            ))
            .len(),
            1
        );
    }

    /// §1.3
    #[test]
    fn continuation_lines() {
        let spec = program(
            "command=%(ENV_HOME)s/wait_for_deps.sh\n    python3 -m uvicorn\n\n        --fd 0 ; comment\n; full comment\n  --x\nstartsecs=0",
        );
        assert_eq!(
            spec.command,
            argv(&[
                "/home/app/wait_for_deps.sh",
                "python3",
                "-m",
                "uvicorn",
                "--fd",
                "0",
                "--x"
            ])
        );
        assert_eq!(spec.startsecs, Duration::ZERO);
        let mut ini = Ini::default();
        ini.read("[s]\nk = a #x\n  b\n\n  c\n\n\nj=1\n", Path::new("/f"), "/")
            .unwrap();
        assert_eq!(ini.sections[0].keys[0].1.value, "a\nb\n\nc");
        assert_eq!(ini.sections[0].keys[1].1.value, "1");
    }

    /// §1.4
    #[test]
    fn expansions() {
        let host = hostname();
        let programs = programs(
            "[supervisord]\nenvironment=REGION=eu,PATH_X=%(here)s/bin\n\
             [program:worker]\nprocess_name=%(program_name)s-%(process_num)02d\nnumprocs=2\n\
             numprocs_start=1\npriority=%(ENV_NUMPROCS)s\n\
             command=run %(group_name)s %(process_num)d/%(numprocs)s %(host_node_name)s \
             %(ENV_REGION)s %(ENV_TOKEN)s %(ENV_PATH_X)s 100%%\n\
             environment=TOKEN=t%(process_num)03d\n\
             directory=/srv/%(ENV_TOKEN)s\n\
             [group:pool]\nprograms=worker\npriority=%(ENV_NUMPROCS)s\n",
        );
        let env = |n: i32| {
            vec![
                ("REGION".to_string(), "eu".to_string()),
                ("PATH_X".to_string(), "/etc/supervisor/bin".to_string()),
                ("TOKEN".to_string(), format!("t{n:03}")),
            ]
        };
        let expected: Vec<ProgramSpec> = (1..=2)
            .map(|n| {
                let mut spec = sv(
                    &format!("worker-{n:02}"),
                    &[
                        "run",
                        "pool",
                        &format!("{n}/2"),
                        &host,
                        "eu",
                        &format!("t{n:03}"),
                        "/etc/supervisor/bin",
                        "100%",
                    ],
                );
                spec.priority = 2;
                spec.environment = env(n);
                spec.directory = Some(format!("/srv/t{n:03}").into());
                spec
            })
            .collect();
        assert_eq!(programs, expected);

        let e = |body: &str| error(&format!("{HEAD}[program:web]\n{body}\n"));
        assert_eq!(
            e("command=run %(nope)s"),
            "/etc/supervisor/supervisord.conf:4: [program:web] command: format string \"run %(nope)s\" contains names ('nope') which cannot be expanded. Available names: group_name, here, host_node_name, numprocs, process_num, program_name, ENV_*"
        );
        assert!(e("command=run %(ENV_UNSET)s").contains("names ('ENV_UNSET')"));
        assert!(
            e("command=a\npriority=%(process_num)s")
                .contains("[program:web] priority: format string")
        );
        assert!(
            e("command=100%")
                .contains("[program:web] command: format string \"100%\" badly formatted")
        );
        assert!(e("command=%(program_name)d").contains("needs a number"));
        // logfiles are expanded twice: %% must be written %%%%.
        let web = read_with_reports(
            &format!("{HEAD}[program:web]\ncommand=a\nstdout_logfile=/l/%%%%%(program_name)s"),
            &[],
        )
        .unwrap_or_else(|err| panic!("{err}"))
        .0
        .programs
        .remove(0);
        assert_eq!(web.stdout_logfile.as_deref(), Some("/l/%web"));
        let names = Names {
            fixed: [("n", Value::Int(7)), ("s", Value::Str("ab".into()))]
                .into_iter()
                .collect(),
            extra_env: Vec::new(),
            env: &env_none,
        };
        assert_eq!(
            percent_format("%(n)5d|%(n)-3d|%(n)+d|%(s).1s|%(s)4s", &names),
            Ok("    7|7  |+7|a|  ab".into())
        );
    }

    fn env_none(_: &str) -> Option<String> {
        None
    }

    /// §1.5
    #[test]
    fn includes() {
        let main = format!(
            "{HEAD}[include]\nfiles=conf.d/*.conf /opt/extra/[ab]?.ini\n  none/*.conf\n\
             [program:web]\ncommand=/bin/web\npriority=1\n"
        );
        let (plan, warnings) = read_with(
            &main,
            &[
                (
                    "/etc/supervisor/conf.d/b.conf",
                    "[program:b]\ncommand=%(here)s/b\n[program:web]\npriority=2\n",
                ),
                (
                    "/etc/supervisor/conf.d/a.conf",
                    "[program:a]\ncommand=%(here)s/a\n[include]\nfiles=/x/*\n",
                ),
                (
                    "/etc/supervisor/conf.d/.hidden.conf",
                    "[program:hidden]\ncommand=x\n",
                ),
                ("/etc/supervisor/conf.d/c.txt", "[program:c]\ncommand=x\n"),
                ("/opt/extra/a1.ini", "[program:extra]\ncommand=%(here)s/e\n"),
                ("/opt/extra/c1.ini", "[program:c1]\ncommand=x\n"),
                ("/x/y", "[program:y]\ncommand=x\n"),
            ],
        )
        .unwrap();
        let mut web = sv("web", &["/bin/web"]);
        web.priority = 2;
        assert_eq!(
            plan.programs,
            vec![
                web,
                sv("a", &["/etc/supervisor/conf.d/a"]),
                sv("b", &["/etc/supervisor/conf.d/b"]),
                sv("extra", &["/opt/extra/e"]),
            ]
        );
        assert_eq!(
            warnings,
            [
                "/etc/supervisor/supervisord.conf:4: [include] files: No file matches via include \"/etc/supervisor/none/*.conf\""
            ]
        );
        let err = read_with(
            &main,
            &[("/etc/supervisor/conf.d/a.conf", "[program:a]\nbroken\n")],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "/etc/supervisor/conf.d/a.conf:2: expected KEY=VALUE or [SECTION], found \"broken\""
        );
        // [supervisord] may come from an include.
        let (plan, _) = read_with(
            "[include]\nfiles=/etc/s.conf\n[program:p]\ncommand=p\n",
            &[("/etc/s.conf", "[supervisord]\n")],
        )
        .unwrap();
        assert_eq!(plan.programs.len(), 1);
    }

    #[test]
    fn an_unreadable_include_is_skipped_with_a_warning() {
        let list_dir = |_: &Path| Ok(vec![PathBuf::from("/etc/supervisor/conf.d/a.conf")]);
        let read_file = |_: &Path| Err(std::io::Error::from_raw_os_error(libc::EACCES));
        let (plan, warnings) = parse(
            &format!("{HEAD}[include]\nfiles=conf.d/*.conf\n[program:p]\ncommand=p\n"),
            Path::new(MAIN),
            &env,
            &FakeUsers,
            &read_file,
            &list_dir,
        )
        .unwrap();
        assert_eq!(plan.programs.len(), 1);
        assert_eq!(
            warnings,
            [
                "/etc/supervisor/supervisord.conf:4: [include] files: cannot read /etc/supervisor/conf.d/a.conf: Permission denied, skipped (as supervisord does)"
            ]
        );
    }

    #[test]
    fn search_paths_are_supervisords() {
        assert_eq!(
            search_paths(Path::new("/usr/bin"), Path::new("/app")),
            [
                "/usr/bin/../etc/supervisord.conf",
                "/usr/bin/../supervisord.conf",
                "/app/supervisord.conf",
                "/app/etc/supervisord.conf",
                "/etc/supervisord.conf",
                "/etc/supervisor/supervisord.conf",
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn glob_patterns() {
        let m = |p: &str, n: &str| {
            fnmatch(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf.bak"));
        assert!(m("?.ini", "a.ini"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[]]", "]"));
        assert!(m("[x", "[x"));
    }

    /// §1.6
    #[test]
    fn names_are_validated() {
        assert!(
            error(&format!("{HEAD}[program:a b]\ncommand=x\n"))
                .contains("[program:a b]: Invalid name")
        );
        assert!(
            error(&format!(
                "{HEAD}[program:a]\ncommand=x\nprocess_name=a/%(process_num)s\n"
            ))
            .contains("[program:a] process_name: Invalid name")
        );
        assert!(
            error(&format!(
                "{HEAD}[program:a]\ncommand=x\n[group:g:h]\nprograms=a\n"
            ))
            .contains("[group:g:h]: Invalid name")
        );
        let long = "n".repeat(256);
        assert!(
            error(&format!("{HEAD}[program:{long}]\ncommand=x\n")).ends_with(&format!(
                "[program:{long}]: a name of 256 characters (expected at most 255)"
            ))
        );
        let message = error(&format!(
            "{HEAD}[program:a]\ncommand=x\nprocess_name={long}%(process_num)s\nnumprocs=2\n"
        ));
        assert!(
            message.ends_with(
                "[program:a] process_name: a name of 271 characters (expected at most 255)"
            ),
            "{message}"
        );
        assert_eq!(program("command=x").name, "web");
        assert_eq!(
            programs(&format!("{HEAD}[program: padded ]\ncommand=x\n"))[0].name,
            "padded"
        );
    }

    /// §2.9 environment
    #[test]
    fn environment_pairs() {
        let kv = |text: &str| key_value_pairs(text);
        let pairs = |list: &[(&str, &str)]| {
            Ok(list
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>())
        };
        assert_eq!(kv("A=x,B=y#z"), pairs(&[("A", "x"), ("B", "y")]));
        assert_eq!(kv("A=1;B=2"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(kv("A=1,B=2,"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(kv("A=a b"), pairs(&[("A", "a")]));
        assert_eq!(kv("A='\"x\"'"), pairs(&[("A", "x")]));
        assert_eq!(kv("A=\"\""), pairs(&[("A", "")]));
        assert_eq!(kv("A=x\"y\""), pairs(&[("A", "x\"y")]));
        assert_eq!(kv("A = 1"), pairs(&[("A", "1")]));
        assert_eq!(
            kv("P=/usr/bin:/bin,V=a.b-c+d"),
            pairs(&[("P", "/usr/bin:/bin"), ("V", "a.b-c+d")])
        );
        assert_eq!(
            kv("Q=\"a, b #c\",k=v"),
            pairs(&[("Q", "a, b #c"), ("k", "v")])
        );
        assert_eq!(kv("A=1,A=2"), pairs(&[("A", "2")]));
        assert_eq!(kv(""), pairs(&[]));
        for bad in ["A=1 B=2", "A=x=y", "A=1,,B=2", "A"] {
            assert!(
                kv(bad)
                    .unwrap_err()
                    .starts_with("Unexpected end of key/value pairs"),
                "{bad}"
            );
        }
        assert!(kv("A=\"x").unwrap_err().starts_with("No closing quotation"));
        // [supervisord] environment first, the program's own wins.
        let spec = programs(
            "[supervisord]\nenvironment=A=global,B=global\n[program:p]\ncommand=x\nenvironment=B=own,C=own\n",
        )
        .remove(0);
        assert_eq!(
            spec.environment,
            vec![
                ("A".to_string(), "global".to_string()),
                ("B".to_string(), "own".to_string()),
                ("C".to_string(), "own".to_string())
            ]
        );
    }

    /// §2.5 and §3.3: the order verified against supervisord (§4 C).
    #[test]
    fn groups_and_start_order() {
        let programs = programs(&format!(
            "{HEAD}[program:bbb]\ncommand=x\npriority=10\n[program:aaa]\ncommand=x\npriority=10\n\
             [program:ccc]\ncommand=x\npriority=10\n[program:first]\ncommand=x\npriority=5\n\
             [program:zero]\ncommand=x\n[program:exit2]\ncommand=x\n\
             [program:mid]\ncommand=x\npriority=10\n\
             [group:g]\nprograms=zz , aa\npriority=10\n\
             [program:aa]\ncommand=x\npriority=2\n[program:zz]\ncommand=x\npriority=1\n\
             [program:w]\ncommand=x\nnumprocs=11\nprocess_name=w%(process_num)d\npriority=20\n"
        ));
        let mut expected = vec![
            ("first", 5),
            ("aaa", 10),
            ("bbb", 10),
            ("ccc", 10),
            ("zz", 10),
            ("aa", 10),
            ("mid", 10),
        ];
        // numprocs: by process name, as strings.
        for n in [0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9] {
            expected.push((Box::leak(format!("w{n}").into_boxed_str()), 20));
        }
        expected.extend([("exit2", 999), ("zero", 999)]);
        assert_eq!(names(&programs), expected);
        // A member with numprocs: its processes by name, in the member's place.
        let programs = super::tests::programs(&format!(
            "{HEAD}[group:q]\nprograms=w,a\n[program:a]\ncommand=x\n\
             [program:w]\ncommand=x\nnumprocs=3\nnumprocs_start=9\nprocess_name=w%(process_num)d\n"
        ));
        assert_eq!(
            names(&programs),
            [("w10", 999), ("w11", 999), ("w9", 999), ("a", 999)]
        );
        // An empty group, and a group without programs.
        assert_eq!(
            names(&super::tests::programs(&format!(
                "{HEAD}[program:a]\ncommand=x\n[group:e]\nprograms=\n"
            ))),
            [("a", 999)]
        );
        assert!(
            error(&format!(
                "{HEAD}[program:a]\ncommand=x\n[group:e]\npriority=1\n"
            ))
            .contains("[group:e] requires a programs line")
        );
        assert!(
            error(&format!(
                "{HEAD}[program:a]\ncommand=x\n[group:e]\nprograms=a\n[group:f]\nprograms=a\n"
            ))
            .contains("process name 'a' is used twice")
        );
    }

    #[test]
    fn supervisord_section() {
        let text = "[supervisord]\nnodaemon=true\nuser=www-data\numask=002\nminfds=10000\n\
                    minprocs=200\nlogfile=/var/log/supervisord.log\npidfile=/run/s.pid\n\
                    loglevel=INFO\ndirectory=/tmp\nusername=x\n\
                    [program:a]\ncommand=x\n[program:b]\ncommand=x\numask=077\nuser=root\n";
        let (plan, warnings) = read(text);
        assert_eq!(plan.programs[0].user, FakeUsers.user("www-data"));
        assert_eq!(plan.programs[0].umask, Some(0o002));
        assert_eq!(plan.programs[1].user, FakeUsers.user("root"));
        assert_eq!(plan.programs[1].umask, Some(0o077));
        assert_eq!(
            warnings,
            [
                "/etc/supervisor/supervisord.conf:5: [supervisord] minfds: not applied by rinit (it does not raise resource limits; the container's limits apply)",
                "/etc/supervisor/supervisord.conf:7: [supervisord] logfile: ignored: rinit writes its own messages to its stderr",
                "/etc/supervisor/supervisord.conf:10: [supervisord] directory: ignored: rinit does not change its own directory",
                "/etc/supervisor/supervisord.conf:11: [supervisord] username: unknown key, ignored",
            ]
        );
        assert_eq!(program("command=x").user, None);
        assert!(
            error("[supervisord]\nnodaemon=perhaps\n[program:a]\ncommand=x\n")
                .contains("[supervisord] nodaemon: not a valid boolean value")
        );
        assert!(
            error("[supervisord]\nuser=nobody\n[program:a]\ncommand=x\n")
                .contains("[supervisord] user: Invalid user name nobody")
        );
    }

    #[test]
    fn unsupported_keys_and_sections_warn() {
        let text = format!(
            "{HEAD}[program:a]\ncommand=x\nstdout_capture_maxbytes=1MB\nstdout_events_enabled=true\n\
             stderr_events_enabled=false\nserverurl=http://x\nauto_start=true\nstdout_logfile=AUTO\n\
             stderr_logfile=/var/log/a.err\nredirect_stderr=false\n\
             [eventlistener:stdout]\ncommand=supervisor_stdout\nevents=PROCESS_LOG\n\
             [fcgi-program:f]\ncommand=x\nsocket=tcp://localhost:9000\n[inet_http_server]\nport=9001\n"
        );
        let at = |line: usize| format!("/etc/supervisor/supervisord.conf:{line}");
        assert_eq!(
            warnings(&text),
            [
                format!(
                    "{}: [program:a] stdout_capture_maxbytes: not supported by rinit, ignored",
                    at(5)
                ),
                format!(
                    "{}: [program:a] stdout_events_enabled: not supported by rinit, ignored",
                    at(6)
                ),
                format!(
                    "{}: [program:a] serverurl: not supported by rinit, ignored",
                    at(8)
                ),
                format!("{}: [program:a] auto_start: unknown key, ignored", at(9)),
                format!(
                    "{}: [program:a] stdout_logfile: stdout_logfile=AUTO: output goes to rinit's prefixed stdout",
                    at(10)
                ),
                format!(
                    "{}: [eventlistener:stdout]: recognised supervisor_stdout: rinit prefixes every program's output itself; section replaced by that",
                    at(13)
                ),
                format!(
                    "{}: [fcgi-program:f]: not supported by rinit, section ignored",
                    at(16)
                ),
                format!(
                    "{}: [inet_http_server]: not supported by rinit, section ignored",
                    at(19)
                ),
            ]
        );
        assert_eq!(
            warnings(&format!(
                "{HEAD}[program:a]\ncommand=x\nredirect_stderr=true\nstderr_logfile=/dev/stderr\n"
            )),
            [
                "/etc/supervisor/supervisord.conf:6: [program:a] stderr_logfile: ignored: redirect_stderr=true sends stderr to stdout"
            ]
        );
    }

    #[test]
    fn load_reports_an_unreadable_file() {
        let err = load(Path::new("/nonexistent/supervisord.conf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read /nonexistent/supervisord.conf: No such file or directory"
        );
    }

    /// The realistic example in tests/fixtures/supervisord: nginx + php-fpm in a group,
    /// a queue worker with numprocs=3 from an include directory.
    #[test]
    fn fixture() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/supervisord");
        let main = dir.join("supervisord.conf");
        let text = std::fs::read_to_string(&main).unwrap();
        assert!(looks_like_supervisord(&text));
        let list_dir = |dir: &Path| {
            std::fs::read_dir(dir)?
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<std::io::Result<Vec<_>>>()
        };
        let read_file = |path: &Path| std::fs::read_to_string(path);
        let env = |name: &str| (name == "HOME").then(|| "/root".to_string());
        let (mut plan, warnings) = parse(&text, &main, &env, &FakeUsers, &read_file, &list_dir)
            .unwrap_or_else(|err| panic!("{err}"));
        clear_reports(&mut plan);
        let conf_d = dir.join("conf.d");
        let global = vec![
            ("APP_ENV".to_string(), "production".to_string()),
            ("QUEUE_CONNECTION".to_string(), "redis".to_string()),
        ];
        let mut php = sv("php-fpm", &["php-fpm8.2", "-F", "-R"]);
        php.priority = 10;
        php.autorestart = Autorestart::Always;
        php.environment = global.clone();
        let mut nginx = sv(
            "nginx",
            &[
                "/usr/sbin/nginx",
                "-g",
                "daemon off; error_log /dev/stderr info;",
            ],
        );
        nginx.priority = 10;
        nginx.autorestart = Autorestart::Always;
        nginx.stopsignal = libc::SIGQUIT;
        nginx.stopwaitsecs = Duration::from_secs(20);
        nginx.redirect_stderr = true;
        nginx.environment = global.clone();
        let workers = (0..3).map(|n| {
            let artisan = format!("{}/../artisan", conf_d.display());
            let mut w = sv(
                &format!("worker_{n:02}"),
                &[
                    "php",
                    &artisan,
                    "queue:work",
                    "redis",
                    "--queue=emails,default",
                    "--sleep=3",
                    "--tries=3",
                ],
            );
            w.directory = Some("/var/www/html".into());
            w.user = FakeUsers.user("www-data");
            w.autorestart = Autorestart::Always;
            w.stopasgroup = true;
            w.killasgroup = true;
            w.stopwaitsecs = Duration::from_secs(3600);
            w.environment = global.clone();
            w.environment
                .push(("QUEUE".into(), "emails,default".into()));
            w.environment.push(("HOME".into(), "/var/www".into()));
            w
        });
        let mut expected = vec![php, nginx];
        expected.extend(workers);
        assert_eq!(plan.programs, expected);
        let main = main.display();
        let worker = conf_d.join("worker.conf");
        let worker = worker.display();
        assert_eq!(
            warnings,
            [
                format!(
                    "{main}:22: [include] files: No file matches via include \"{}\"",
                    dir.join("missing.d/*.ini").display()
                ),
                format!("{main}:3: [unix_http_server]: not supported by rinit, section ignored"),
                format!(
                    "{main}:15: [rpcinterface:supervisor]: not supported by rinit, section ignored"
                ),
                format!("{main}:18: [supervisorctl]: not supported by rinit, section ignored"),
                format!(
                    "{worker}:16: [program:worker] stdout_events_enabled: not supported by rinit, ignored"
                ),
            ]
        );
    }

    #[test]
    fn the_kill_supervisord_listener_is_recognised() {
        let section = Section {
            name: "eventlistener:quit".into(),
            file: PathBuf::from("/x"),
            line: 1,
            keys: vec![
                (
                    "command".into(),
                    Entry {
                        value: "sh -c 'kill -SIGQUIT $PPID'".into(),
                        file: PathBuf::from("/x"),
                        line: 2,
                    },
                ),
                (
                    "events".into(),
                    Entry {
                        value: "PROCESS_STATE_FATAL".into(),
                        file: PathBuf::from("/x"),
                        line: 3,
                    },
                ),
            ],
        };
        assert!(recognise_listener(&section).starts_with("recognised a listener that stops"));
        let other = Section {
            keys: Vec::new(),
            ..section
        };
        assert_eq!(
            recognise_listener(&other),
            "eventlisteners are not supported by rinit, section ignored"
        );
    }

    #[test]
    fn hostile_sizes_are_refused_not_obeyed() {
        let err = |body: &str| {
            read_with_reports(&format!("{HEAD}[program:w]\n{body}\n"), &[])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            err("command=echo %(process_num)070000d").contains("width or precision over 4096"),
            "{}",
            err("command=echo %(process_num)070000d")
        );
        let many = err("command=x\nnumprocs=100000000\nprocess_name=w%(process_num)d");
        assert!(
            many.contains("100000000 is more than rinit runs (4096 at most)"),
            "{many}"
        );
    }

    #[test]
    fn log_file_keywords_ignore_case_and_cross_stream_paths_map_to_rinits_streams() {
        let text = format!(
            "{HEAD}[program:a]\ncommand=x\nstdout_logfile=none\nstderr_logfile=/dev/stdout\n\
             [program:b]\ncommand=y\nstdout_logfile=Off\nstdout_logfile_backups=-3\n"
        );
        let (plan, warnings) = read_with_reports(&text, &[]).unwrap_or_else(|e| panic!("{e}"));
        let a = &plan.programs[0];
        assert_eq!(
            a.stdout_log.as_ref().map(|l| l.path.clone()),
            Some("/dev/null".into())
        );
        assert!(a.redirect_stderr, "stderr_logfile=/dev/stdout joins stdout");
        assert_eq!(a.stderr_log, None);
        let b = &plan.programs[1];
        assert_eq!(
            b.stdout_log.as_ref().map(|l| l.path.clone()),
            Some("/dev/null".into())
        );
        assert!(
            warnings
                .iter()
                .any(|w| w
                    .ends_with("stdout_logfile_backups: -3 is out of range: 0 backups are kept")),
            "{warnings:?}"
        );
    }
}
