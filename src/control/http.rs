//! A bounded HTTP/1.x request-head parser and response writer for rinit's read-only probe
//! endpoints (`GET /livez`, `/readyz`, `/status`, `/metrics`). Pure: bytes in, bytes out;
//! the server owns the socket, calls [`parse_head`] on everything read so far after each
//! read, and writes one [`response`] and closes.
//!
//! A line ends at LF, with an optional CR before it, and the head ends at the first empty
//! line (so CRLF CRLF, bare LF LF, and their mixtures). Each complete line is judged as
//! soon as it arrives: a bad request line or header line is refused at once, without
//! waiting for the rest of the head, so a garbage client is dropped fast. Only the first
//! [`MAX_HEAD`] bytes are ever looked at; whatever follows the head (a body, a pipelined
//! request) is ignored.

// Used by the HTTP server (driver) once it lands.

/// The largest request head rinit reads; larger is refused with 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// The longest request target (path and query); longer is refused with 414.
const MAX_TARGET: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// No end of head yet (and fewer than MAX_HEAD bytes): read more.
    Incomplete,
    Request {
        method: Method,
        path: &'a str,
    },
    /// Answer with this status and close: 400 malformed, 405 a method other than GET/HEAD
    /// (the response carries `Allow: GET, HEAD`), 414 target over 1 KiB, 431 head over
    /// MAX_HEAD, 505 not HTTP/1.0 or 1.1.
    Refuse(u16),
}

/// `received`: every byte read from the connection so far.
///
/// A head of exactly [`MAX_HEAD`] bytes (its empty line included) is read; once
/// `MAX_HEAD` bytes have arrived without an end of head within them, the answer is 431.
/// Every answer but `Incomplete` is final: more bytes never change it.
pub fn parse_head(received: &[u8]) -> Parsed<'_> {
    let window = &received[..received.len().min(MAX_HEAD)];
    let mut request = None;
    let mut start = 0;
    while let Some(len) = memchr::memchr(b'\n', &window[start..]) {
        let line = &window[start..start + len];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        start += len + 1;
        let verdict = match request {
            None => request_line(line).map(|r| request = Some(r)),
            Some((method, path)) if line.is_empty() => return Parsed::Request { method, path },
            Some(_) => header_line(line),
        };
        if let Err(status) = verdict {
            return Parsed::Refuse(status);
        }
    }
    if received.len() >= MAX_HEAD {
        Parsed::Refuse(431)
    } else {
        Parsed::Incomplete
    }
}

/// `METHOD SP TARGET SP HTTP/1.x` (its line end removed): the method and the path, or the
/// status to refuse with. Malformed (400) is judged first, then the version (505), the
/// target's length (414), the method (405).
fn request_line(line: &[u8]) -> Result<(Method, &str), u16> {
    let line = std::str::from_utf8(line).map_err(|_| 400u16)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    // An empty method is a line starting with a space (obs-fold); a tab is no tchar.
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if method.is_empty() || !method.bytes().all(tchar) {
        return Err(400);
    }
    if !target.starts_with('/') || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(400);
    }
    match version.strip_prefix("HTTP/") {
        Some("1.0" | "1.1") => {}
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            return Err(505);
        }
        _ => return Err(400),
    }
    if target.len() > MAX_TARGET {
        return Err(414);
    }
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => return Err(405),
    };
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Ok((method, path))
}

/// A header line (its line end removed) is not interpreted, only checked: UTF-8, a `:`,
/// no control byte but tab, and no leading whitespace (obs-fold).
fn header_line(line: &[u8]) -> Result<(), u16> {
    let ok = !matches!(line.first(), Some(b' ' | b'\t'))
        && line.contains(&b':')
        && line.iter().all(|&b| b == b'\t' || !b.is_ascii_control())
        && std::str::from_utf8(line).is_ok();
    if ok { Ok(()) } else { Err(400) }
}

/// A whole response with `Connection: close`, `Content-Length`, `Content-Type` (only when
/// `body` is non-empty: an empty body has no type) and `Cache-Control: no-store`, and for a
/// 405 `Allow: GET, HEAD`. For HEAD (`head_only`) the body is left out but the headers,
/// `Content-Length` and `Content-Type` included, are the GET's. `content_type` is rinit's
/// own constant, never outside input.
pub fn response(status: u16, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    debug_assert!(!content_type.contains(['\r', '\n']), "{content_type:?}");
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    if !body.is_empty() {
        head.push_str("Content-Type: ");
        head.push_str(content_type);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    head.push_str("Cache-Control: no-store\r\n");
    if status == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut out = head.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// The reason phrase for the statuses rinit uses (200, 400, 404, 405, 414, 431, 503, 505;
/// others "Unknown").
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Parsed<'_> {
        Parsed::Request {
            method: Method::Get,
            path,
        }
    }

    #[test]
    fn a_get_and_a_head_are_read() {
        assert_eq!(parse_head(b"GET /livez HTTP/1.1\r\n\r\n"), get("/livez"));
        assert_eq!(
            parse_head(b"HEAD /readyz HTTP/1.0\r\nHost: x\r\nUser-Agent: k\t8s\r\n\r\n"),
            Parsed::Request {
                method: Method::Head,
                path: "/readyz"
            }
        );
        // Header values may be any UTF-8.
        assert_eq!(
            parse_head("GET / HTTP/1.1\r\nX: é\r\n\r\n".as_bytes()),
            get("/")
        );
    }

    #[test]
    fn bare_lf_and_mixed_line_ends_end_the_head() {
        assert_eq!(
            parse_head(b"GET /status HTTP/1.1\nHost: x\n\n"),
            get("/status")
        );
        assert_eq!(parse_head(b"GET /status HTTP/1.1\r\n\n"), get("/status"));
        assert_eq!(parse_head(b"GET /status HTTP/1.1\n\r\n"), get("/status"));
    }

    #[test]
    fn the_query_and_fragment_are_stripped() {
        assert_eq!(
            parse_head(b"GET /metrics?x=1&y HTTP/1.1\r\n\r\n"),
            get("/metrics")
        );
        assert_eq!(
            parse_head(b"GET /metrics#top HTTP/1.1\r\n\r\n"),
            get("/metrics")
        );
        assert_eq!(parse_head(b"GET /?q HTTP/1.1\r\n\r\n"), get("/"));
    }

    #[test]
    fn bytes_after_the_head_are_ignored() {
        let request = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
        for tail in [&b"body"[..], b"POST / HTTP/1.1\r\n\r\n", b"\xff\0 \r\n\r\n"] {
            assert_eq!(parse_head(&[&request[..], tail].concat()), get("/livez"));
        }
    }

    #[test]
    fn every_prefix_of_a_valid_request_is_incomplete() {
        for request in [
            &b"GET /readyz?verbose HTTP/1.1\r\nHost: localhost:8080\r\nAccept: */*\r\n\r\n"[..],
            b"HEAD /livez HTTP/1.0\nX: y\n\n",
        ] {
            for len in 0..request.len() {
                assert_eq!(
                    parse_head(&request[..len]),
                    Parsed::Incomplete,
                    "{:?}",
                    request[..len].escape_ascii().to_string()
                );
            }
            assert!(matches!(parse_head(request), Parsed::Request { .. }));
        }
    }

    #[test]
    fn malformed_requests_are_400() {
        for request in [
            &b"\r\n\r\n"[..],
            b"\n",
            b"GET\r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b"GET / HTTP/1.1 x\r\n\r\n",
            b" GET / HTTP/1.1\r\n\r\n",
            b"\tGET / HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET * HTTP/1.1\r\n\r\n",
            b"GET http://host/ HTTP/1.1\r\n\r\n",
            b"GET /a\x01b HTTP/1.1\r\n\r\n",
            b"GET /\x7f HTTP/1.1\r\n\r\n",
            b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
            b"GET / http/1.1\r\n\r\n",
            b"GET / HTTP/\r\n\r\n",
            b"GET / HTTP/1.1x\r\n\r\n",
            b"GET / HTTP/1.1\r\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",
            b"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: \xff\r\n\r\n",
        ] {
            assert_eq!(
                parse_head(request),
                Parsed::Refuse(400),
                "{}",
                request.escape_ascii()
            );
        }
    }

    #[test]
    fn other_methods_are_405_case_sensitively() {
        for request in [
            &b"POST /livez HTTP/1.1\r\n\r\n"[..],
            b"get /livez HTTP/1.1\r\n\r\n",
            b"Head /livez HTTP/1.1\r\n\r\n",
            b"OPTIONS / HTTP/1.1\r\n\r\n",
            b"M-SEARCH / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse_head(request), Parsed::Refuse(405));
        }
        let text = String::from_utf8(response(405, "text/plain", b"", false)).unwrap();
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"), "{text}");
    }

    #[test]
    fn a_target_over_1_kib_is_414() {
        let target = format!("/{}", "a".repeat(MAX_TARGET - 1));
        let request = format!("GET {target} HTTP/1.1\r\n\r\n");
        assert_eq!(parse_head(request.as_bytes()), get(&target));
        let request = format!("GET {target}? HTTP/1.1\r\n\r\n");
        assert_eq!(parse_head(request.as_bytes()), Parsed::Refuse(414));
    }

    #[test]
    fn a_head_over_max_head_is_431() {
        let start = "GET / HTTP/1.1\r\nX: ";
        // Exactly MAX_HEAD bytes, its empty line included: read.
        let fits = format!("{start}{}\r\n\r\n", "a".repeat(MAX_HEAD - start.len() - 4));
        assert_eq!(fits.len(), MAX_HEAD);
        assert_eq!(parse_head(fits.as_bytes()), get("/"));
        // One more byte: refused, and as soon as MAX_HEAD bytes are in.
        let over = format!("{start}{}\r\n\r\n", "a".repeat(MAX_HEAD - start.len() - 3));
        assert_eq!(parse_head(over.as_bytes()), Parsed::Refuse(431));
        assert_eq!(
            parse_head(&over.as_bytes()[..MAX_HEAD]),
            Parsed::Refuse(431)
        );
        assert_eq!(
            parse_head(&over.as_bytes()[..MAX_HEAD - 1]),
            Parsed::Incomplete
        );
        // A request line that never ends.
        assert_eq!(parse_head(&[b'G'; MAX_HEAD]), Parsed::Refuse(431));
    }

    #[test]
    fn other_versions_are_505() {
        for version in ["HTTP/2.0", "HTTP/2", "HTTP/1.2", "HTTP/0.9", "HTTP/11"] {
            let request = format!("GET / {version}\r\n\r\n");
            assert_eq!(
                parse_head(request.as_bytes()),
                Parsed::Refuse(505),
                "{version}"
            );
        }
    }

    #[test]
    fn a_bad_complete_line_is_refused_before_the_head_ends() {
        assert_eq!(parse_head(b"POST / HTTP/1.1\r\n"), Parsed::Refuse(405));
        assert_eq!(parse_head(b"GET / HTTP/2.0\r\n"), Parsed::Refuse(505));
        assert_eq!(
            parse_head(b"\x16\x03\x01\x02\x00\x01\n"),
            Parsed::Refuse(400)
        );
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nbad\r\nHost:"),
            Parsed::Refuse(400)
        );
        // An incomplete line is not judged yet.
        assert_eq!(parse_head(b"\x16\x03\x01\x02\x00\x01"), Parsed::Incomplete);
    }

    #[test]
    fn a_small_200_response_exactly() {
        assert_eq!(
            response(200, "text/plain; charset=utf-8", b"ok\n", false),
            b"HTTP/1.1 200 OK\r\n\
              Content-Type: text/plain; charset=utf-8\r\n\
              Content-Length: 3\r\n\
              Cache-Control: no-store\r\n\
              Connection: close\r\n\
              \r\n\
              ok\n"
        );
    }

    #[test]
    fn a_head_response_has_the_body_length_but_no_body() {
        let full = response(503, "text/plain", b"not ready\n", false);
        let head = response(503, "text/plain", b"not ready\n", true);
        assert_eq!(full, [&head[..], b"not ready\n"].concat());
        let text = String::from_utf8(head).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nContent-Length: 10\r\n"), "{text}");
        assert!(text.contains("\r\nContent-Type: text/plain\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
    }

    #[test]
    fn an_empty_body_has_no_content_type() {
        assert_eq!(
            response(404, "text/plain", b"", false),
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nCache-Control: no-store\r\n\
              Connection: close\r\n\r\n"
        );
    }

    #[test]
    fn reasons() {
        for (status, text) in [
            (200, "OK"),
            (400, "Bad Request"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (414, "URI Too Long"),
            (431, "Request Header Fields Too Large"),
            (503, "Service Unavailable"),
            (505, "HTTP Version Not Supported"),
            (302, "Unknown"),
        ] {
            assert_eq!(reason(status), text);
        }
    }
}
