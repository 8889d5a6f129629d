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

pub const DEFAULT_PREFIX: &str = "{name} {sep} ";

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
                    let stamp = humantime::format_rfc3339_millis(now).to_string();
                    out.extend_from_slice(stamp.as_bytes());
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
                let stamp = humantime::format_rfc3339_millis(now).to_string();
                out.extend_from_slice(stamp.as_bytes());
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
    let padded = format!("{:<width$}", source.name, width = source.width);
    template
        .replace("{name}", &padded)
        .replace("{stream}", stream.short())
        .replace("{sep}", if continuation { "+" } else { "|" })
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
        let style = text_style(DEFAULT_PREFIX, false, false);
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
    fn colours_are_stable_and_in_range() {
        assert_eq!(color_for("web"), color_for("web"));
        assert!((31..=36).contains(&color_for("anything")));
    }
}
