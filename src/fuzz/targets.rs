//! The fuzz targets: each takes any bytes, feeds them to one parser of outside input, and
//! checks what it can about the result. A panic (or a broken invariant, which panics) is
//! a finding.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Rng, Target, fnv1a};
use crate::config::supervisord::{self, fuzz_hooks};
use crate::config::toml::{self, UserDb};
use crate::config::{LogFormat, Plan, RunAs, describe};
use crate::output::format::{LineFormat, Source, Stream, Style};
use crate::output::lines::LineSplitter;

// ---------------------------------------------------------------------------------------
// Fakes: the environment and the user database, so runs do not depend on the machine.

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/root".into()),
        "PORT" => Some("8080".into()),
        "EMPTY" => Some(String::new()),
        "ARGS" => Some("-g 'daemon off;' \"x".into()),
        "NUMPROCS" => Some("3".into()),
        "BIG" => Some("99999999999999999999".into()),
        "PCT" => Some("%(here)s %(".into()),
        "DOLLAR" => Some("${HOME}$$".into()),
        "UNICODE" => Some("é𝄞\u{feff}".into()),
        "LONG" => Some("x".repeat(300)),
        _ => None,
    }
}

struct Users;

impl UserDb for Users {
    fn user(&self, name_or_uid: &str) -> Option<RunAs> {
        let (name, uid) = match name_or_uid {
            "root" | "0" => ("root", 0),
            "www-data" | "33" => ("www-data", 33),
            "nobody" | "65534" => ("nobody", 65534),
            _ => return None,
        };
        Some(RunAs {
            name: name.into(),
            uid,
            gid: uid,
            groups: vec![uid],
        })
    }
}

/// What every plan must satisfy, and what is done with it at run time without processes:
/// `rinit check`'s two renderings, and the output prefixes of every program.
fn check_plan(plan: &Plan, warnings: &[String]) -> bool {
    assert!(!plan.programs.is_empty(), "a plan without programs");
    let mut names = std::collections::HashSet::new();
    for spec in &plan.programs {
        assert!(names.insert(&spec.name), "program {:?} twice", spec.name);
        assert!(
            spec.command.first().is_some_and(|argv0| !argv0.is_empty()),
            "program {:?}: empty command",
            spec.name
        );
        // A NUL cannot be passed to exec: refused when the file is read.
        let strings = spec
            .command
            .iter()
            .chain(spec.environment.iter().flat_map(|(k, v)| [k, v]));
        assert!(
            strings.clone().all(|s| !s.contains('\0')),
            "program {:?}: a NUL in {:?}",
            spec.name,
            strings.collect::<Vec<_>>()
        );
        assert!(
            spec.directory
                .as_ref()
                .is_none_or(|d| !d.as_os_str().as_encoded_bytes().contains(&0)),
            "program {:?}: a NUL in the directory",
            spec.name
        );
        assert!(spec.umask.is_none_or(|mask| mask <= 0o777));
        assert!((1..=64).contains(&spec.stopsignal));
        assert!(spec.exitcodes.iter().all(|code| (0..=255).contains(code)));
    }
    let _ = describe::describe(plan);
    let json = describe::describe_json(plan, warnings);
    if let Err(err) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("rinit check --json is not JSON ({err}): {json}");
    }
    // As the mux formats lines: names padded to the longest one (at least "rinit").
    let width = plan.programs.iter().map(|p| p.name.len()).chain([5]).max();
    let width = width.unwrap_or(5);
    let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    for spec in &plan.programs {
        let style = match plan.output.format {
            LogFormat::Json => Style::Json,
            LogFormat::Text => Style::Text {
                prefix: spec.prefix.clone().unwrap_or(plan.output.prefix.clone()),
                timestamps: plan.output.timestamps,
                color: true,
            },
        };
        let source = Source {
            name: &spec.name,
            width,
            color: crate::output::format::color_for(&spec.name),
        };
        let format = LineFormat::new(&style, &source, Stream::Stderr);
        let mut out = Vec::new();
        format.write(b"a line", true, now, &mut out);
        let _ = format.overhead();
    }
    true
}

fn check_error(err: &toml::ConfigError, path: &Path) -> bool {
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()) || text.starts_with("cannot read "),
        "an error that does not name the file: {text}"
    );
    false
}

// ---------------------------------------------------------------------------------------
// (1) The TOML reader: the whole file's text.

fn toml_file(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let path = Path::new("/etc/rinit.toml");
    match toml::parse(&text, path, &env, &Users) {
        Ok(plan) => check_plan(&plan, &[]),
        Err(err) => check_error(&err, path),
    }
}

pub const TOML: Target = Target {
    name: "toml",
    tokens: &[
        "[program.",
        "[program.web]\n",
        "[rinit]\n",
        "[[program]]\n",
        "ready = ",
        "health = ",
        "{ tcp = \"127.0.0.1:80\" }",
        "{ http = \"http://localhost/\", within = \"1s\" }",
        "{ exec = [\"true\"], failures = 2 }",
        "{ notify = \"systemd\" }",
        "{ fd = 3 }",
        "{ log = \"up\" }",
        "stop_delay = ",
        "command = ",
        "\"\"\"",
        "'''",
        "\"",
        "'",
        "\\u0000",
        "\\U0010FFFF",
        "\\",
        " = ",
        ".",
        "[",
        "]",
        "{",
        "}",
        "[]",
        "{}",
        ", ",
        "0o",
        "0x",
        "0b",
        "1979-05-27T07:32:00Z",
        "true",
        "false",
        "${HOME}",
        "${NOPE:-d}",
        "${NOPE}",
        "${",
        ":-",
        "$$",
        "priority = ",
        "startsecs = ",
        "stopsignal = ",
        "\"RTMIN+",
        "\"RTMAX-",
        "umask = ",
        "user = ",
        "exitcodes = [",
        "environment = { ",
        "backoff = ",
        "backoff_max = ",
        "grace = ",
        "log_prefix = \"",
        "{name}",
        "{sep}",
        "{stream}",
        "\"500ms\"",
        "\"1m\"",
        "\"99999999999999999999h\"",
        "1e8",
        "# comment\n",
    ],
    max_len: 16 * 1024,
    run: toml_file,
};

// ---------------------------------------------------------------------------------------
// (2) The supervisord reader: a main file and the files it includes, written to a
// scratch directory and read back through globs. The input is the main file, then
// `\n--- PATH\n` and each other file's text (PATH relative to the main file's directory).

/// A scratch directory of this thread's own (tests run in parallel).
fn scratch_dir() -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    std::env::temp_dir().join(format!("rinit-fuzz-{}-{thread}", std::process::id()))
}

/// A file name from the fuzzer, kept inside the scratch directory.
fn relative_path(text: &str) -> PathBuf {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let parts: Vec<&str> = clean
        .split('/')
        .filter(|part| !part.is_empty() && *part != "." && *part != "..")
        .take(4)
        .collect();
    if parts.is_empty() {
        return PathBuf::from("x.conf");
    }
    parts
        .iter()
        .map(|part| &part[..part.len().min(64)])
        .collect()
}

/// Only paths inside `dir` are read or listed: a glob like `/dev/*` must not read the
/// machine's files (or /dev/zero forever).
fn inside(dir: &Path, path: &Path) -> bool {
    path.starts_with(dir) && !path.components().any(|c| c == Component::ParentDir)
}

fn denied() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::PermissionDenied)
}

fn supervisord_files(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let dir = scratch_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).expect("the scratch directory");
    let mut parts = text.split("\n--- ");
    let main = parts.next().unwrap_or_default();
    let main_path = dir.join("supervisord.conf");
    std::fs::write(&main_path, main).expect("the main file");
    for part in parts {
        let (name, body) = part.split_once('\n').unwrap_or((part, ""));
        let path = dir.join(relative_path(name));
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        // A name that is already a directory stays one.
        let _ = std::fs::write(&path, body);
    }
    let read_file = |path: &Path| {
        if !inside(&dir, path) {
            return Err(denied());
        }
        std::fs::read_to_string(path)
    };
    let list_dir = |path: &Path| {
        if !inside(&dir, path) {
            return Err(denied());
        }
        std::fs::read_dir(path)?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<Vec<_>>>()
    };
    // `rinit` chooses the format by content first; this target reads it as supervisord's
    // either way.
    let _ = supervisord::looks_like_supervisord(main);
    let result = supervisord::parse(main, &main_path, &env, &Users, &read_file, &list_dir);
    let accepted = match result {
        Ok((plan, warnings)) => check_plan(&plan, &warnings),
        Err(err) => check_error(&err, &dir),
    };
    let _ = std::fs::remove_dir_all(&dir);
    accepted
}

pub const SUPERVISORD: Target = Target {
    name: "supervisord",
    tokens: &[
        "[program:",
        "[program:web]\n",
        "[group:",
        "[supervisord]\n",
        "[include]\n",
        "rinit_ready=",
        "rinit_ready_within=",
        "rinit_health=",
        "rinit_health_failures=",
        "rinit_stop_delay=",
        "tcp:127.0.0.1:80",
        "notify:systemd",
        "[DEFAULT]\n",
        "[eventlistener:x]\n",
        "files = ",
        "*.conf",
        "conf.d/*.conf",
        "*",
        "?",
        "[!a-z]",
        "[]]",
        "%(here)s",
        "%(program_name)s",
        "%(process_num)02d",
        "%(process_num)d",
        "%(group_name)s",
        "%(host_node_name)s",
        "%(numprocs)d",
        "%(ENV_HOME)s",
        "%(ENV_NOPE)s",
        "%(ENV_BIG)s",
        "%(ENV_PCT)s",
        "%(",
        ")s",
        ")d",
        "%%",
        "%(here)-4096.4096s",
        "%(process_num)+099999d",
        "\n--- conf.d/a.conf\n",
        "\n--- conf.d/b.conf\n[program:b]\ncommand=b\n",
        "\n--- x.ini\n",
        "\n  ",
        "\n\t",
        "command=",
        "process_name=",
        "numprocs=",
        "numprocs_start=",
        "priority=",
        "programs=",
        "environment=",
        "A=\"1\",B='2'",
        "user=",
        "umask=",
        "stopsignal=",
        "exitcodes=",
        "stdout_logfile=",
        "stderr_logfile=",
        "_maxbytes=",
        "_backups=",
        "GB",
        "KB",
        "autorestart=",
        "redirect_stderr=true\n",
        "stopasgroup=true\n",
        " ;",
        " #",
    ],
    max_len: 16 * 1024,
    run: supervisord_files,
};

// ---------------------------------------------------------------------------------------
// (2b) supervisord's `%(name)s` expansion on its own (the first line's length picks
// process_num).

fn percent(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let process_num = match input.first().map(|b| b % 4) {
        Some(0) => i64::MIN,
        Some(1) => i64::MAX,
        Some(2) => -7,
        _ => 3,
    };
    let result = fuzz_hooks::percent_format(&text, process_num, &env);
    if let Ok(out) = &result
        && !text.contains('%')
    {
        assert_eq!(*out, text, "no '%', yet the text changed");
    }
    result.is_ok()
}

pub const PERCENT: Target = Target {
    name: "percent",
    tokens: &[
        "%(",
        ")s",
        ")d",
        ")i",
        ")u",
        ")x",
        "%%",
        "%",
        "here",
        "program_name",
        "process_num",
        "numprocs",
        "ENV_HOME",
        "ENV_OWN",
        "ENV_NOPE",
        "ENV_UNICODE",
        "-",
        "+",
        "#",
        "0",
        " ",
        ".",
        "4096",
        "4097",
        "99999999999999999999",
        "é",
    ],
    max_len: 2048,
    run: percent,
};

// ---------------------------------------------------------------------------------------
// (3) Command strings: shlex splitting as both readers use it, supervisord's
// `environment=` tokenizer, and a TOML `command = "..."` end to end.

/// `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn command(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let words = shlex::split(&text);
    let _ = fuzz_hooks::key_value_pairs(&text);
    let file = format!("[program.a]\ncommand = {}\n", toml_string(&text));
    let path = Path::new("/etc/rinit.toml");
    match toml::parse(&file, path, &env, &Users) {
        Ok(plan) => {
            check_plan(&plan, &[]);
            let Some(words) = words else {
                panic!("unbalanced quotes accepted: {:?}", plan.programs[0].command);
            };
            // Expansion happens per word: it never adds or removes arguments.
            assert_eq!(plan.programs[0].command.len(), words.len());
            true
        }
        Err(err) => check_error(&err, path),
    }
}

pub const COMMAND: Target = Target {
    name: "command",
    tokens: &[
        "\"",
        "'",
        "\\",
        "\\\"",
        "\\'",
        "\\\n",
        " ",
        "\t",
        "\n",
        "#",
        "${HOME}",
        "${ARGS}",
        "${NOPE:-a b}",
        "$$",
        "${",
        "=",
        ",",
        "A=\"1\",B='2'",
        "sh -c ",
        "''",
        "\"\"",
        "\0",
    ],
    max_len: 2048,
    run: command,
};

// ---------------------------------------------------------------------------------------
// (4) The line splitter: the input's first two bytes choose the cap, the input's hash
// the chunk boundaries. Checked against a reference model.

/// What the splitter must emit for `data`: each line (without its `\n`) cut into pieces
/// of at most `cap` bytes, the pieces after the first marked continued; an empty line is
/// one empty piece; a last line without `\n` only if non-empty.
fn reference(data: &[u8], cap: usize) -> Vec<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    // The text after the last newline: a partial line, or nothing.
    if lines.last().is_some_and(|last| last.is_empty()) {
        lines.pop();
    }
    for line in lines {
        if line.is_empty() {
            out.push((Vec::new(), false));
        }
        for (i, piece) in line.chunks(cap).enumerate() {
            out.push((piece.to_vec(), i > 0));
        }
    }
    out
}

fn lines(input: &[u8]) -> bool {
    let (head, data) = input.split_at(input.len().min(2));
    let (a, b) = (
        head.first().copied().unwrap_or(0),
        usize::from(head.get(1).copied().unwrap_or(0)),
    );
    let cap = match a % 4 {
        0 => 1 + b % 8,
        1 => 1 + b % 64,
        2 => 1 + b * 7,
        _ => 64 * 1024,
    };
    let mut rng = Rng::new(fnv1a(input));
    let mut splitter = LineSplitter::new(cap);
    let mut pieces: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let size = match rng.below(4) {
            0 => 0,
            1 => 1,
            2 => rng.below(cap + 2),
            _ => rng.below(rest.len() + 1),
        };
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        splitter.push(chunk, |p| pieces.push((p.text.to_vec(), p.continuation)));
        rest = tail;
    }
    splitter.finish(|p| pieces.push((p.text.to_vec(), p.continuation)));
    for (text, _) in &pieces {
        assert!(
            text.len() <= cap,
            "a piece of {} bytes over the cap {cap}",
            text.len()
        );
        assert!(!text.contains(&b'\n'), "a newline inside a piece");
    }
    // Concatenated, the pieces are the input: a newline before every piece that does
    // not continue the previous one, and the input's last newline, if any.
    let mut joined = Vec::new();
    for (i, (text, continuation)) in pieces.iter().enumerate() {
        if i > 0 && !continuation {
            joined.push(b'\n');
        }
        joined.extend_from_slice(text);
    }
    if data.last() == Some(&b'\n') {
        joined.push(b'\n');
    }
    assert_eq!(joined, data, "the pieces do not add up to the input");
    assert_eq!(pieces, reference(data, cap), "cap {cap}");
    true
}

pub const LINES: Target = Target {
    name: "lines",
    tokens: &["\n", "\r\n", "\n\n", "\0", "\u{feff}", "é"],
    max_len: 8192,
    run: lines,
};

// ---------------------------------------------------------------------------------------
// (5) The `${VAR}` expander.

fn expand(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let result = toml::expand(&text, &env);
    if !text.contains('$') {
        assert_eq!(
            result.as_deref(),
            Ok(&*text),
            "no '$', yet the text changed"
        );
    } else if !text.contains('{') {
        // Only `$$` means something without braces.
        assert_eq!(result, Ok(text.replace("$$", "$")));
    }
    result.is_ok()
}

pub const EXPAND: Target = Target {
    name: "expand",
    tokens: &[
        "$",
        "$$",
        "${",
        "}",
        ":-",
        "${HOME}",
        "${EMPTY:-d}",
        "${NOPE:-}",
        "${NOPE}",
        "${1X}",
        "${DOLLAR}",
        "${UNICODE}",
        "${LONG}",
        "{",
        "é",
    ],
    max_len: 2048,
    run: expand,
};

// ---------------------------------------------------------------------------------------
// Single values: durations (`--grace`, `RINIT_GRACE`, `startsecs = "..."`), signal
// names, supervisord's value syntaxes, and `[include]` glob patterns (`PATTERN\nNAME`).

fn values(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let duration = crate::config::parse_duration("grace", &text);
    if let Ok(duration) = duration {
        let _ = humantime::format_duration(duration).to_string();
    }
    if let Some(signal) = crate::plain::signal::parse(&text) {
        assert!((1..=64).contains(&signal), "signal {signal} from {text:?}");
        let _ = crate::plain::signal::name(signal);
    }
    fuzz_hooks::values(&text);
    let (pattern, name) = text.split_once('\n').unwrap_or((&text, "name.conf"));
    let matched = fuzz_hooks::fnmatch(pattern, name);
    if !pattern.contains(['*', '?', '[']) {
        assert_eq!(
            matched,
            pattern == name,
            "a pattern without magic is literal"
        );
    }
    if pattern.chars().all(|c| c == '*') && !pattern.is_empty() {
        assert!(matched, "{pattern:?} matches everything");
    }
    // Against the straightforward recursive matcher, where that one is quick enough.
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    if p.iter().filter(|&&c| c == '*').count() <= 4 && p.len() <= 40 && n.len() <= 40 {
        assert_eq!(
            matched,
            reference_fnmatch(&p, &n),
            "{pattern:?} against {name:?}"
        );
    }
    duration.is_ok()
}

/// The `[include]` glob matcher as first written (exponential in the number of `*`).
fn reference_fnmatch(pattern: &[char], name: &[char]) -> bool {
    /// After a '[': whether `c` matches, and the class's length with its ']'.
    fn class(pattern: &[char], c: char) -> Option<(bool, usize)> {
        let negate = pattern.first() == Some(&'!');
        let start = usize::from(negate);
        let mut i = start;
        let mut found = false;
        while i < pattern.len() {
            if pattern[i] == ']' && i > start {
                return Some((found != negate, i + 1));
            }
            if i + 2 < pattern.len() && pattern[i + 1] == '-' && pattern[i + 2] != ']' {
                found |= (pattern[i]..=pattern[i + 2]).contains(&c);
                i += 3;
            } else {
                found |= pattern[i] == c;
                i += 1;
            }
        }
        None
    }
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| reference_fnmatch(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && reference_fnmatch(&pattern[1..], &name[1..]),
        Some('[') => match name.first().and_then(|&c| class(&pattern[1..], c)) {
            Some((matches, len)) => matches && reference_fnmatch(&pattern[1 + len..], &name[1..]),
            None => {
                name.first() == Some(&'[')
                    && class(&pattern[1..], '[').is_none()
                    && reference_fnmatch(&pattern[1..], &name[1..])
            }
        },
        Some(&c) => name.first() == Some(&c) && reference_fnmatch(&pattern[1..], &name[1..]),
    }
}

pub const VALUES: Target = Target {
    name: "values",
    tokens: &[
        "ms",
        "s",
        "m",
        "h",
        "d",
        "us",
        "ns",
        "y",
        " ",
        ".",
        "e",
        "SIG",
        "RTMIN+",
        "RTMAX-",
        "TERM",
        "0o",
        "0O",
        "_",
        "-",
        "+",
        "kb",
        "MB",
        "gb",
        ",",
        "true",
        "off",
        "unexpected",
        "*",
        "?",
        "[",
        "]",
        "[!",
        "a-z",
        "\n",
        "[program:",
        "[supervisord]",
    ],
    max_len: 512,
    run: values,
};

// ---------------------------------------------------------------------------------------
// The `log_prefix` template and the rest of a line's format: line 1 the template, line 2
// the program's name, the rest the text; the first byte picks the style's switches.

fn format(input: &[u8]) -> bool {
    let flags = input.first().copied().unwrap_or(0);
    let text = String::from_utf8_lossy(input.get(1..).unwrap_or_default());
    let mut parts = text.splitn(3, '\n');
    let template = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let line = parts.next().unwrap_or_default().replace('\n', "");
    let style = if flags & 1 == 1 {
        Style::Json
    } else {
        Style::Text {
            prefix: template.to_string(),
            timestamps: flags & 2 != 0,
            color: flags & 4 != 0,
        }
    };
    // As the mux pads: to the longest name, at least "rinit".
    let width = name.len().max(5) + usize::from(flags >> 4) * 17;
    let source = Source {
        name,
        width,
        color: crate::output::format::color_for(name),
    };
    let stream = if flags & 8 != 0 {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    // Any time a clock can show, before 1970 and after 9999 included (both clamp).
    let offset = Duration::from_millis(fnv1a(input) % 400_000_000_000_000);
    let now: SystemTime = if flags & 64 != 0 {
        UNIX_EPOCH - offset
    } else {
        UNIX_EPOCH + offset
    };
    let format = LineFormat::new(&style, &source, stream);
    let mut out = Vec::new();
    format.write(line.as_bytes(), flags & 32 != 0, now, &mut out);
    assert_eq!(out.last(), Some(&b'\n'));
    // Pieces never hold a newline, and the template and the name here cannot either.
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        1,
        "one line in, one line out"
    );
    if matches!(style, Style::Json) {
        let json = std::str::from_utf8(&out).expect("JSON lines are UTF-8");
        if let Err(err) = serde_json::from_str::<serde_json::Value>(json) {
            panic!("not JSON ({err}): {json}");
        }
    }
    true
}

pub const FORMAT: Target = Target {
    name: "format",
    tokens: &[
        "{name}", "{sep}", "{stream}", "{", "}", "{{", "}}", "{name", "\n", "\u{1b}[", "é", "%s",
        "{0}", "{:>9999}",
    ],
    max_len: 2048,
    run: format,
};

// ---------------------------------------------------------------------------------------
// rinit's own arguments (NUL-separated; a first byte with its low bit set makes the last
// argument `$RINIT_GRACE`), and `/proc/PID/stat` lines (a process names itself: its
// comm may hold spaces and parentheses).

fn cli(input: &[u8]) -> bool {
    use std::os::unix::ffi::OsStringExt;
    let Some((&flags, rest)) = input.split_first() else {
        return false;
    };
    let mut args: Vec<std::ffi::OsString> = rest
        .split(|&b| b == 0)
        .map(|arg| std::ffi::OsString::from_vec(arg.to_vec()))
        .collect();
    let grace = if flags & 1 == 1 { args.pop() } else { None };
    let stop_delay = if flags & 2 == 2 { args.pop() } else { None };
    let result = crate::cli::parse(args, crate::cli::Env { grace, stop_delay });
    let _ = format!("{result:?}");
    let _ = crate::sys::tree::parse_ppid(&String::from_utf8_lossy(rest));
    result.is_ok()
}

pub const CLI: Target = Target {
    name: "cli",
    tokens: &[
        "\0",
        "--",
        "-c",
        "--config",
        "--config=",
        "--grace",
        "--grace=",
        "-v",
        "-s",
        "-g",
        "--single-child",
        "--json",
        "check",
        "-h",
        "--help",
        "-V",
        "--version",
        "\u{ff}",
        "\0--\0",
        ") ",
        "(",
        " Z ",
        " S ",
        "2147483648",
        "-1",
    ],
    max_len: 1024,
    run: cli,
};

// ---------------------------------------------------------------------------------------
// Readiness and health checks: addresses and URLs (both formats), supervisord's check
// values, sd_notify datagrams, and the HTTP status line a probe reads.

fn checks(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let addr = crate::config::checks::parse_socket_addr(&text);
    if let Ok(addr) = &addr {
        // What is accepted prints back as an address that is accepted again.
        let again = crate::config::checks::parse_socket_addr(&addr.to_string());
        assert_eq!(again.as_ref(), Ok(addr), "{text:?}");
    }
    if let Ok(target) = crate::config::checks::parse_http_url(&text) {
        assert!(
            target.path.starts_with('/'),
            "{text:?} gave path {:?}",
            target.path
        );
        assert!(
            !target.host.is_empty() && !target.path.contains(' '),
            "{text:?}"
        );
        let _ = crate::config::Probe::Http(target).describe();
    }
    fuzz_hooks::checks(&text);
    let (ready, status) = crate::sys::notify::parse_datagram(input);
    if ready {
        assert!(input.windows(7).any(|w| w == b"READY=1"), "{text:?}");
    }
    if let Some(status) = status {
        assert!(!status.contains('\n'), "a status is one line: {status:?}");
    }
    let outcome = crate::driver::probe::judge(input);
    if outcome == crate::driver::probe::Outcome::Passed {
        assert!(input.starts_with(b"HTTP/1."), "passed {text:?}");
    }
    addr.is_ok()
}

pub const CHECKS: Target = Target {
    name: "checks",
    tokens: &[
        "127.0.0.1",
        "localhost",
        "[::1]",
        ":",
        ":80",
        ":65535",
        ":99999",
        "http://",
        "https://",
        "/healthz",
        "?",
        "#",
        "@",
        "tcp:",
        "http:",
        "exec:",
        "notify:systemd",
        "fd:3",
        "log:",
        "started",
        "running",
        "READY=1",
        "STATUS=",
        "\n",
        "HTTP/1.1 ",
        "HTTP/1.0 ",
        "200",
        "503",
        " OK\r\n",
        "ms",
        "'",
    ],
    max_len: 512,
    run: checks,
};

// ---------------------------------------------------------------------------------------
// The control surface's HTTP request head (what a probe client sends rinit), and the
// responses rinit writes for each outcome.

/// Where a head ends (just past its first empty line, LF or CRLF, after the request
/// line), by a plain reading of the rule.
fn head_end(input: &[u8]) -> Option<usize> {
    let mut start = 0;
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' {
            let line = &input[start..i];
            if start > 0 && (line.is_empty() || line == b"\r") {
                return Some(i + 1);
            }
            start = i + 1;
        }
    }
    None
}

/// A response is one head (status line, a Content-Length that is the body's), then the
/// body unless `head_only`.
fn check_response(status: u16, body: &[u8], head_only: bool) {
    use crate::control::http::response;
    let out = response(status, "text/plain; charset=utf-8", body, head_only);
    let status_line = format!("HTTP/1.1 {status} ");
    assert!(
        out.starts_with(status_line.as_bytes()),
        "{:?}",
        out.escape_ascii().to_string()
    );
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an end of head");
    let head = std::str::from_utf8(&out[..end]).expect("a UTF-8 head");
    let lengths: Vec<&str> = head
        .split("\r\n")
        .filter_map(|line| line.strip_prefix("Content-Length: "))
        .collect();
    assert_eq!(lengths, [body.len().to_string()], "{head}");
    assert!(head.contains("\r\nConnection: close"), "{head}");
    assert_eq!(
        head.contains("\r\nAllow: GET, HEAD"),
        status == 405,
        "{head}"
    );
    let sent = &out[end + 4..];
    assert_eq!(sent, if head_only { &[][..] } else { body }, "{head}");
}

fn http(input: &[u8]) -> bool {
    use crate::control::http::{MAX_HEAD, Method, Parsed, parse_head, reason};
    let outcome = parse_head(input);
    let window = &input[..input.len().min(MAX_HEAD)];
    let shown = || String::from_utf8_lossy(&input[..input.len().min(200)]).into_owned();
    match &outcome {
        Parsed::Incomplete => {
            assert!(input.len() < MAX_HEAD, "{} bytes incomplete", input.len());
            assert_eq!(head_end(input), None, "{:?}", shown());
            // Fewer bytes are no more complete.
            for len in [input.len() / 2, input.len().saturating_sub(1)] {
                assert_eq!(
                    parse_head(&input[..len]),
                    Parsed::Incomplete,
                    "{:?}",
                    shown()
                );
            }
        }
        Parsed::Request { method, path } => {
            assert!(path.starts_with('/'), "{path:?}");
            assert!(!path.contains(['?', '#']), "{path:?}");
            assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path:?}");
            let line = match method {
                Method::Get => format!("GET {path}"),
                Method::Head => format!("HEAD {path}"),
            };
            assert!(input.starts_with(line.as_bytes()), "{:?}", shown());
            // Decided exactly at the head's end, within the first MAX_HEAD bytes.
            let end = head_end(input).expect("a request without an end of head");
            assert!(end <= MAX_HEAD, "a {end}-byte head read");
            assert_eq!(parse_head(&input[..end]), outcome, "{:?}", shown());
            assert_eq!(
                parse_head(&input[..end - 1]),
                Parsed::Incomplete,
                "{:?}",
                shown()
            );
        }
        Parsed::Refuse(431) => {
            assert!(input.len() >= MAX_HEAD, "431 for {} bytes", input.len());
            assert_eq!(head_end(window), None, "431 with an end of head");
        }
        Parsed::Refuse(status) => {
            assert!(
                [400, 405, 414, 505].contains(status),
                "refused with {status}"
            );
            assert_eq!(parse_head(window), outcome, "{:?}", shown());
            if let Some(end) = head_end(window) {
                assert_eq!(parse_head(&input[..end]), outcome, "{:?}", shown());
            }
        }
    }
    // Every answer but Incomplete is final: bytes appended never change it.
    if outcome != Parsed::Incomplete {
        let longer = [input, b"\r\n\r\nPOST / HTTP/1.1\r\n\r\n\xff\0"].concat();
        assert_eq!(parse_head(&longer), outcome, "{:?}", shown());
    }
    // Whatever the outcome, what rinit would write for it is well-formed.
    match outcome {
        Parsed::Incomplete => false,
        Parsed::Request { method, path } => {
            let head_only = method == Method::Head;
            check_response(200, path.as_bytes(), head_only);
            check_response(503, b"", head_only);
            true
        }
        Parsed::Refuse(status) => {
            check_response(status, reason(status).as_bytes(), false);
            check_response(status, b"", false);
            false
        }
    }
}

pub const HTTP: Target = Target {
    name: "http",
    tokens: &[
        "GET ",
        "HEAD ",
        "POST ",
        "get ",
        "/readyz",
        "/livez",
        "/metrics",
        "/status",
        "?x=1",
        "#f",
        " HTTP/1.1\r\n",
        " HTTP/1.0\r\n",
        " HTTP/1.1\n",
        "HTTP/2",
        "HTTP/1.2",
        "Host: x\r\n",
        "Accept: */*\r\n",
        "\r\n",
        "\n",
        "\r\n\r\n",
        "\n\n",
        " ",
        "\t",
        ":",
        "\u{0}",
        "\u{ff}",
    ],
    max_len: 9000,
    run: http,
};
