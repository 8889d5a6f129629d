//! Durations, read the same way wherever rinit takes one: `--grace`, `$RINIT_GRACE` and
//! the TOML format's duration strings.

use std::time::Duration;

/// A duration: a plain number of seconds (`3`, `0.5`) or humantime syntax (`500ms`, `1m`).
/// The error names `what` (the flag, variable or key the text came from).
pub fn parse_duration(what: &str, text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if (0.0..1e9).contains(&seconds) {
            return Ok(Duration::from_secs_f64(seconds));
        }
    } else if let Ok(duration) = humantime::parse_duration(text) {
        return Ok(duration);
    }
    Err(format!(
        "{what}: '{text}' is not a duration (expected e.g. 500ms, 8s, 1m, or seconds)"
    ))
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
