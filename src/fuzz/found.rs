//! What the bugs the fuzzer found now give: a clear error (file, line, key, what was
//! expected), or the right answer, instead of a panic or a hang. The repros themselves
//! are in `tests/fuzz/crashes/` and `tests/fuzz/corpus/`.

use std::path::{Path, PathBuf};

use crate::config::RunAs;
use crate::config::supervisord::{self, fuzz_hooks};
use crate::config::toml::UserDb;

struct NoUsers;

impl UserDb for NoUsers {
    fn user(&self, _: &str) -> Option<RunAs> {
        None
    }
}

const MAIN: &str = "/etc/supervisord.conf";

/// Reads `text` as MAIN, with no other file.
fn supervisord_error(text: &str) -> String {
    let nothing = |_: &Path| Err::<String, _>(std::io::Error::from(std::io::ErrorKind::NotFound));
    let no_dir = |_: &Path| Ok::<Vec<PathBuf>, std::io::Error>(Vec::new());
    match supervisord::parse(
        text,
        Path::new(MAIN),
        &|_| None,
        &NoUsers,
        &nothing,
        &no_dir,
    ) {
        Ok((plan, _)) => panic!("expected an error, got {plan:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn a_size_too_large_for_64_bits_is_an_error() {
    assert_eq!(
        supervisord_error(
            "[supervisord]\n[program:a]\ncommand=a\nstdout_logfile_maxbytes=72036854775807MB\n"
        ),
        "/etc/supervisord.conf:4: [program:a] stdout_logfile_maxbytes: expected a size of at \
         most 9223372036854775807 bytes, found \"72036854775807MB\""
    );
}

#[test]
fn a_nul_in_a_supervisord_value_is_an_error() {
    assert_eq!(
        supervisord_error("[supervisord]\n[program:r]\ncommand=\0\n"),
        "/etc/supervisord.conf:3: [program:r] command: a value cannot contain a NUL character"
    );
}

#[test]
fn a_format_width_too_long_to_parse_is_over_the_cap() {
    let message = supervisord_error(
        "[supervisord]\n[program:a]\ncommand=a %(here)99999999999999999999999s\n",
    );
    assert!(
        message.starts_with("/etc/supervisord.conf:3: [program:a] command: format string")
            && message.ends_with("badly formatted: width or precision over 4096"),
        "{message}"
    );
    let precision = fuzz_hooks::percent_format("%(here).99999999999999999999s", 0, &|_| None);
    assert_eq!(
        precision,
        Err("badly formatted: width or precision over 4096".into())
    );
}

#[test]
fn include_globs_take_linear_time_and_no_deep_recursion() {
    let name = "a".repeat(200);
    assert!(!fuzz_hooks::fnmatch(
        &format!("{}*b", "*a".repeat(40)),
        &name
    ));
    assert!(fuzz_hooks::fnmatch(&format!("{}*", "*a".repeat(40)), &name));
    assert!(fuzz_hooks::fnmatch(&"*".repeat(1_000_000), "anything"));
    assert!(!fuzz_hooks::fnmatch(
        &format!("{}x", "*".repeat(1_000_000)),
        "y"
    ));
    assert!(fuzz_hooks::fnmatch(
        &"[".repeat(100_000),
        &"[".repeat(100_000)
    ));
    // The classes as before.
    assert!(fuzz_hooks::fnmatch("[]]x", "]x"));
    assert!(fuzz_hooks::fnmatch("[!a-c]?.conf", "d1.conf"));
    assert!(!fuzz_hooks::fnmatch("[!a-c]?.conf", "b1.conf"));
    assert!(fuzz_hooks::fnmatch("[a-]", "-"));
    assert!(fuzz_hooks::fnmatch("[x", "[x"));
}

/// Found: a program name of 65,536 characters or more was read, and then the output mux
/// padded every name to that width and `format!` panicked ("Formatting argument out of
/// range"): PID 1 aborted at start. Both readers now refuse names over
/// `config::MAX_NAME_LEN` (the targets panic on any reader panic).
#[test]
fn a_program_name_too_long_to_pad_is_refused() {
    let name = "a".repeat(65_536);
    let toml = format!("[program.{name}]\ncommand = \"x\"\n");
    (super::targets::TOML.run)(toml.as_bytes());
    let supervisord = format!("[supervisord]\n[program:{name}]\ncommand=x\n");
    (super::targets::SUPERVISORD.run)(supervisord.as_bytes());
}

/// Found: with `log_timestamps` (and always in JSON), a clock before 1970 panicked in
/// humantime ("all times should be after the epoch") and one past 9999 made its Display
/// fail, which `to_string()` turned into a panic. Timestamps are now rinit's own and
/// clamp to 1970..=9999.
#[test]
fn a_clock_outside_1970_to_9999_does_not_panic() {
    use crate::output::format::{LineFormat, Source, Stream, Style};
    use std::time::{Duration, UNIX_EPOCH};
    let source = Source {
        name: "web",
        width: 5,
        color: 31,
    };
    let styles = [
        Style::Json,
        Style::Text {
            prefix: "{name} ".into(),
            timestamps: true,
            color: false,
        },
    ];
    let before = UNIX_EPOCH - Duration::from_secs(1);
    let after = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
    for style in &styles {
        for now in [before, after] {
            let mut out = Vec::new();
            LineFormat::new(style, &source, Stream::Stdout).write(b"x", false, now, &mut out);
        }
    }
}
