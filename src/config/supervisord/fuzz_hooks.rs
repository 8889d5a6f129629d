//! Entry points for the fuzz tests (`src/fuzz/`) into this module's private parsers.

use super::expand::{self, Names, Value};
use super::include::{self, has_magic};
use super::ini::{inline_comment_start, section_header};
use super::looks_like_supervisord;
use super::values::{
    self, autorestart, boolean, bytes, exitcodes, integer, non_negative, octal,
    process_or_group_name, py_int, signal,
};

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
    expand::percent_format(text, &names)
}

/// rinit's check values (`rinit_ready=`, `rinit_health=`, their timings).
pub(crate) fn checks(text: &str) {
    let _ = super::checks::ready_kind(text);
    let _ = super::checks::probe(text);
    let _ = super::checks::duration(text);
    let _ = super::checks::failures(text);
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
    let _ = autorestart(text);
    let _ = exitcodes(text);
    let _ = signal(text);
    let _ = process_or_group_name(text);
    let _ = inline_comment_start(text);
    let _ = section_header(text);
    let _ = looks_like_supervisord(text);
    let _ = has_magic(text);
}

/// `environment=`'s `KEY=val,...` reading.
pub(crate) fn key_value_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    values::key_value_pairs(text)
}

/// An `[include]` glob component against one file name.
pub(crate) fn fnmatch(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    include::fnmatch(&pattern, &name)
}
