//! rinit's own lines as the tests read them: `rinit | TEXT` (or `rinit: TEXT` before
//! the output mux runs), matched, counted, ordered and waited for.

use super::{BOTH_MODES, Mode, Outcome, Rinit};

/// Runs `test` in both modes at once, each in a thread named after its mode (so a
/// failure says which mode failed).
pub fn in_both_modes(test: impl Fn(Mode) + Sync) {
    std::thread::scope(|scope| {
        for mode in BOTH_MODES {
            let test = &test;
            std::thread::Builder::new()
                .name(format!("{mode:?}"))
                .spawn_scoped(scope, move || test(mode))
                .unwrap();
        }
    });
}

/// A line without its `NAME | ` prefix (the default text format).
pub fn payload(line: &str) -> &str {
    match line.find(" | ") {
        Some(at) if !line[..at].trim_end().contains(' ') => &line[at + 3..],
        _ => line,
    }
}

/// The text of one of rinit's own lines: `rinit | TEXT` (or `rinit: TEXT`).
pub fn rinit_text(line: &str) -> Option<&str> {
    line.strip_prefix("rinit: ").or_else(|| {
        let text = payload(line);
        (line.starts_with("rinit ") && text.len() < line.len()).then_some(text)
    })
}

/// Whether `line` is rinit's line TEXT. A TEXT ending in `: started` matches
/// `NAME: started (pid N)`; a TEXT ending in `…` matches any line starting with the rest.
pub fn is(line: &str, text: &str) -> bool {
    let Some(rest) = rinit_text(line) else {
        return false;
    };
    if let Some(prefix) = text.strip_suffix('…') {
        return rest.starts_with(prefix);
    }
    match text.strip_suffix(": started") {
        Some(name) => rest
            .strip_prefix(&format!("{name}: started (pid "))
            .is_some_and(|pid| pid.ends_with(')')),
        None => rest == text,
    }
}

/// The index of the first line matching `text` (see [`is`]).
pub fn index(lines: &[String], text: &str) -> usize {
    lines
        .iter()
        .position(|l| is(l, text))
        .unwrap_or_else(|| panic!("no line 'rinit | {text}' in {lines:#?}"))
}

pub fn count(lines: &[String], text: &str) -> usize {
    lines.iter().filter(|l| is(l, text)).count()
}

pub fn has(lines: &[String], text: &str) -> bool {
    count(lines, text) > 0
}

/// Every `texts` line appears, in this order (other lines may come in between).
pub fn assert_in_order(lines: &[String], texts: &[&str]) {
    let mut from = 0;
    for text in texts {
        match lines[from..].iter().position(|l| is(l, text)) {
            Some(i) => from += i + 1,
            None => panic!(
                "expected 'rinit | {text}' after line {from}, in the order {texts:#?}; got {lines:#?}"
            ),
        }
    }
}

pub fn assert_last(out: &Outcome, code: i32) {
    assert_eq!(out.code, code, "{out:#?}");
    let last = out.stderr.last().map(String::as_str).unwrap_or_default();
    assert!(is(last, &format!("exiting with code {code}")), "{out:#?}");
}

/// Waits for rinit's line TEXT on stderr (see [`is`]).
pub fn wait_line(rinit: &Rinit, text: &str) {
    rinit
        .stderr
        .wait_until(|lines| has(lines, text), &format!("rinit | {text}"));
}

/// Waits until rinit's line TEXT has appeared `n` times.
pub fn wait_count(rinit: &Rinit, text: &str, n: usize) {
    rinit.stderr.wait_until(
        |lines| count(lines, text) >= n,
        &format!("{n} x rinit | {text}"),
    );
}

/// Waits until stdout holds `n` lines whose text is `line`.
pub fn wait_stdout(rinit: &Rinit, line: &str, n: usize) {
    rinit.stdout.wait_until(
        |lines| lines.iter().filter(|l| payload(l) == line).count() >= n,
        &format!("{n} x {line:?} on stdout"),
    );
}

/// Lines without their prefixes.
pub fn plain(lines: &[String]) -> Vec<&str> {
    lines.iter().map(|l| payload(l)).collect()
}
