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
