//! Turning one piece of a program's output into the bytes rinit writes: a prefix (or a
//! JSON object), the text, a newline. Pure: the time is passed in.

use std::time::SystemTime;

/// Which of a program's streams a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn short(self) -> &'static str {
        match self {
            Stream::Stdout => "out",
            Stream::Stderr => "err",
        }
    }

    fn long(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// How lines look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// `PREFIX TEXT`. The prefix template may use `{name}` (padded to the longest
    /// program name), `{stream}` (`out` or `err`) and `{sep}` (`|`, or `+` on the
    /// pieces that continue a line longer than the cap). An empty template: no prefix.
    Text {
        prefix: String,
        timestamps: bool,
        color: bool,
    },
    /// One JSON object per line: time, program, stream, message (and `continued`).
    Json,
}

/// Who wrote a line.
pub struct Source<'a> {
    pub name: &'a str,
    /// The width names are padded to (the longest program name).
    pub width: usize,
    /// An ANSI colour number (31..=36), stable per name.
    pub color: u8,
}

/// A stable colour for a name, so a program keeps its colour across restarts and runs.
pub fn color_for(name: &str) -> u8 {
    let hash = name.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    31 + (hash % 6) as u8
}

/// Everything about a line's format that does not change from line to line, computed
/// once per pipe: the rendered prefixes, or the fixed part of the JSON object.
pub struct LineFormat {
    kind: FormatKind,
}

enum FormatKind {
    Text {
        prefix: Vec<u8>,
        continued_prefix: Vec<u8>,
        timestamps: bool,
    },
    Json {
        /// `","program":NAME,"stream":STREAM,"message":`
        middle: Vec<u8>,
    },
}

impl LineFormat {
    pub fn new(style: &Style, source: &Source<'_>, stream: Stream) -> Self {
        let kind = match style {
            Style::Text {
                prefix,
                timestamps,
                color,
            } => {
                let render = |continuation| {
                    if prefix.is_empty() {
                        return Vec::new();
                    }
                    let rendered = render_prefix(prefix, source, stream, continuation);
                    let text = if *color {
                        format!("\x1b[{}m{rendered}\x1b[0m", source.color)
                    } else {
                        rendered
                    };
                    text.into_bytes()
                };
                FormatKind::Text {
                    prefix: render(false),
                    continued_prefix: render(true),
                    timestamps: *timestamps,
                }
            }
            Style::Json => {
                let mut middle = b"\",\"program\":".to_vec();
                json_string(source.name.as_bytes(), &mut middle);
                middle.extend_from_slice(b",\"stream\":\"");
                middle.extend_from_slice(stream.long().as_bytes());
                middle.extend_from_slice(b"\",\"message\":");
                FormatKind::Json { middle }
            }
        };
        LineFormat { kind }
    }

    /// Bytes a line takes besides its text (prefix, timestamp, newline; for JSON, the
    /// fixed part: escaping can make a JSON line longer still).
    pub fn overhead(&self) -> usize {
        const TIMESTAMP: usize = "2026-11-22T06:34:50.313Z ".len();
        match &self.kind {
            FormatKind::Text {
                continued_prefix,
                timestamps,
                ..
            } => continued_prefix.len() + if *timestamps { TIMESTAMP } else { 0 } + 1,
            FormatKind::Json { middle } => middle.len() + TIMESTAMP + 40,
        }
    }

    /// Appends the formatted line (with its newline) to `out`.
    pub fn write(&self, text: &[u8], continuation: bool, now: SystemTime, out: &mut Vec<u8>) {
        match &self.kind {
            FormatKind::Text {
                prefix,
                continued_prefix,
                timestamps,
            } => {
                if *timestamps {
                    push_timestamp(now, out);
                    out.push(b' ');
                }
                out.extend_from_slice(if continuation {
                    continued_prefix
                } else {
                    prefix
                });
                out.extend_from_slice(text);
            }
            FormatKind::Json { middle } => {
                out.extend_from_slice(b"{\"time\":\"");
                push_timestamp(now, out);
                out.extend_from_slice(middle);
                json_string(text, out);
                if continuation {
                    out.extend_from_slice(b",\"continued\":true");
                }
                out.push(b'}');
            }
        }
        out.push(b'\n');
    }
}

/// Appends one formatted line (with its newline) to `out`. For many lines of the same
/// source, build a [`LineFormat`] once instead.
pub fn format_line(
    style: &Style,
    source: &Source<'_>,
    stream: Stream,
    text: &[u8],
    continuation: bool,
    now: SystemTime,
    out: &mut Vec<u8>,
) {
    LineFormat::new(style, source, stream).write(text, continuation, now, out);
}

fn render_prefix(
    template: &str,
    source: &Source<'_>,
    stream: Stream,
    continuation: bool,
) -> String {
    // By hand: `format!`'s width panics past 65,535, and a name must never abort PID 1.
    let mut padded = String::with_capacity(source.width.max(source.name.len()));
    padded.push_str(source.name);
    padded.extend(std::iter::repeat_n(
        ' ',
        source.width.saturating_sub(source.name.chars().count()),
    ));
    template
        .replace("{name}", &padded)
        .replace("{stream}", stream.short())
        .replace("{sep}", if continuation { "+" } else { "|" })
}

/// Appends `now` as RFC 3339 UTC with milliseconds (`2026-11-22T06:34:50.313Z`). It
/// cannot fail: a clock outside 1970..=9999 (a container with a wrong clock) is clamped
/// to the nearest end, so the line is still written and still parses.
pub fn push_timestamp(now: SystemTime, out: &mut Vec<u8>) {
    /// 9999-12-31T23:59:59.999Z, in milliseconds since the epoch.
    const LAST_MS: u64 = 253_402_300_799_999;
    let ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .min(LAST_MS);
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, in_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let fields: [(u64, usize); 7] = [
        (year, 4),
        (month, 2),
        (day, 2),
        (in_day / 3600, 2),
        (in_day / 60 % 60, 2),
        (in_day % 60, 2),
        (millis, 3),
    ];
    for (i, (value, digits)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b"--T::."[i - 1]);
        }
        for place in (0..digits).rev() {
            out.push(b'0' + (value / 10u64.pow(place as u32) % 10) as u8);
        }
    }
    out.push(b'Z');
}

/// (year, month, day) of a day count since 1970-01-01, in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`, for non-negative days only).
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A JSON string. Bytes that are not UTF-8 become U+FFFD: JSON text must be UTF-8.
pub fn json_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn t() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
    }

    fn text_style(prefix: &str, timestamps: bool, color: bool) -> Style {
        Style::Text {
            prefix: prefix.into(),
            timestamps,
            color,
        }
    }

    fn render(style: &Style, stream: Stream, text: &[u8], continuation: bool) -> Vec<u8> {
        let source = Source {
            name: "web",
            width: 6,
            color: 32,
        };
        let mut out = Vec::new();
        format_line(style, &source, stream, text, continuation, t(), &mut out);
        out
    }

    #[test]
    fn default_prefix_pads_the_name() {
        let style = text_style("{name} {sep} ", false, false);
        assert_eq!(
            render(&style, Stream::Stdout, b"GET / 200", false),
            b"web    | GET / 200\n"
        );
        assert_eq!(
            render(&style, Stream::Stdout, b"rest", true),
            b"web    + rest\n"
        );
    }

    #[test]
    fn templates_timestamps_no_prefix_and_colour() {
        let style = text_style("[{name}:{stream}] ", false, false);
        assert_eq!(
            render(&style, Stream::Stderr, b"x", false),
            b"[web   :err] x\n"
        );
        assert_eq!(
            render(&text_style("", false, false), Stream::Stdout, b"x", false),
            b"x\n"
        );
        let stamped = render(&text_style("", true, false), Stream::Stdout, b"x", false);
        assert_eq!(stamped, b"2023-11-14T22:13:20.123Z x\n");
        let coloured = render(
            &text_style("{name}| ", false, true),
            Stream::Stdout,
            b"x",
            false,
        );
        assert_eq!(coloured, b"\x1b[32mweb   | \x1b[0mx\n");
    }

    #[test]
    fn bytes_pass_through_in_text_mode() {
        let style = text_style("", false, false);
        assert_eq!(
            render(&style, Stream::Stdout, b"\xff\r", false),
            b"\xff\r\n"
        );
    }

    #[test]
    fn json_lines_escape_and_mark_continuations() {
        let out = render(
            &Style::Json,
            Stream::Stderr,
            b"say \"hi\"\t\\ \x01 \xff",
            true,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"program\":\"web\",\"stream\":\"stderr\",\
             \"message\":\"say \\\"hi\\\"\\t\\\\ \\u0001 \u{fffd}\",\"continued\":true}\n"
        );
    }

    #[test]
    fn timestamps_match_humantime_and_clamp_outside_1970_to_9999() {
        let stamp = |now: SystemTime| {
            let mut out = Vec::new();
            push_timestamp(now, &mut out);
            String::from_utf8(out).unwrap()
        };
        // Against humantime over the whole range it handles, leap days and centuries.
        let mut seconds: u64 = 0;
        while seconds < 253_402_300_800 {
            for extra_ms in [0, 1, 999] {
                let now = UNIX_EPOCH + Duration::from_millis(seconds * 1000 + extra_ms);
                let want = humantime::format_rfc3339_millis(now).to_string();
                assert_eq!(stamp(now), want);
            }
            seconds = seconds * 3 / 2 + 86_399;
        }
        for date in [951_782_400, 4_107_542_400, 1_709_164_800] {
            // 2000-02-29, 2100-03-01, 2024-02-29
            let now = UNIX_EPOCH + Duration::from_secs(date);
            assert_eq!(
                stamp(now),
                humantime::format_rfc3339_millis(now).to_string()
            );
        }
        assert_eq!(stamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(stamp(before), "1970-01-01T00:00:00.000Z");
        let after = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert_eq!(stamp(after), "9999-12-31T23:59:59.999Z");
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert_eq!(stamp(far), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn names_longer_than_format_widths_allow_are_padded_without_panic() {
        let name = "n".repeat(70_000);
        let source = Source {
            name: &name,
            width: 70_001,
            color: 31,
        };
        let mut out = Vec::new();
        let style = text_style("{name}|", false, false);
        LineFormat::new(&style, &source, Stream::Stdout).write(b"x", false, t(), &mut out);
        assert_eq!(out.len(), 70_001 + "|x\n".len());
    }

    #[test]
    fn colours_are_stable_and_in_range() {
        assert_eq!(color_for("web"), color_for("web"));
        assert!((31..=36).contains(&color_for("anything")));
    }
}
