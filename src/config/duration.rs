//! Durations, read the same way wherever rinit takes one: `--grace`, `$RINIT_GRACE` and
//! the TOML format's duration strings.

use std::time::Duration;

/// A duration: a plain number of seconds (`3`, `0.5`) or humantime syntax (`500ms`, `1m`).
/// The error names `what` (the flag, variable or key the text came from).
pub fn parse_duration(what: &str, text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let number = text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !text.is_empty();
    if number {
        if let Some(duration) = parse_seconds(text) {
            return Ok(duration);
        }
    } else if let Ok(duration) = humantime::parse_duration(text) {
        return Ok(duration);
    }
    Err(format!(
        "{what}: '{text}' is not a duration (expected e.g. 500ms, 8s, 1m, or seconds)"
    ))
}

/// `3`, `0.5`, `.25`: decimal seconds, below a billion, to the nanosecond. (Not through
/// f64: float parsing and printing would cost the static binary about 10 KiB.)
pub fn parse_seconds(text: &str) -> Option<Duration> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if secs >= 1_000_000_000 {
        return None;
    }
    let mut nanos = 0;
    for (place, b) in fraction.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - place as u32);
    }
    Some(Duration::new(secs, nanos))
}

/// Seconds as a decimal number: `10`, `1.5`, `0.25` (JSON and reports).
pub fn format_seconds(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return d.as_secs().to_string();
    }
    let fraction = format!("{nanos:09}");
    format!("{}.{}", d.as_secs(), fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_or_humantime() {
        assert_eq!(parse_duration("x", "3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("x", " 0.5 "), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("x", "1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("x", "250ms"), Ok(Duration::from_millis(250)));
        // A number is seconds or nothing: never handed on to humantime.
        assert!(parse_duration("x", "-1").is_err());
        assert!(parse_duration("x", "1e9").is_err());
        assert!(parse_duration("x", "NaN").is_err());
        assert_eq!(
            parse_duration("--grace", " soon "),
            Err(
                "--grace: 'soon' is not a duration (expected e.g. 500ms, 8s, 1m, or seconds)"
                    .into()
            )
        );
    }
}
