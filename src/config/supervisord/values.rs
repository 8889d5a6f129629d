//! Value syntaxes (§2.9): what supervisord accepts for booleans, integers, octal
//! umasks, byte sizes, `autorestart`, exit codes, signals, names and `environment=`.
//! Each returns supervisord's message on a bad value; the caller adds where it was.

use crate::config::{Autorestart, MAX_NAME_LEN};
use crate::plain::signal;

const TRUTHY: &[&str] = &["true", "yes", "on", "1"];
const FALSY: &[&str] = &["false", "no", "off", "0"];

/// `true`, `yes`, `on`, `1` or `false`, `no`, `off`, `0`, in any case.
pub(super) fn boolean(text: &str) -> Result<bool, String> {
    let lower = text.to_ascii_lowercase();
    if TRUTHY.contains(&lower.as_str()) {
        Ok(true)
    } else if FALSY.contains(&lower.as_str()) {
        Ok(false)
    } else {
        Err(format!("not a valid boolean value: {text:?}"))
    }
}

/// Python's `int(text, radix)`: spaces around, an optional sign, digits with single
/// underscores between them.
pub(super) fn py_int(text: &str, radix: u32) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = if radix == 8 {
        digits
            .strip_prefix("0o")
            .or_else(|| digits.strip_prefix("0O"))
            .map(|d| d.strip_prefix('_').unwrap_or(d))
            .unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c == '_' || c.is_digit(radix))
    {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if negative { -n } else { n })
}

/// A decimal integer, as Python's `int(text)`.
pub(super) fn integer(text: &str) -> Result<i64, String> {
    py_int(text, 10).ok_or_else(|| format!("expected an integer, found {text:?}"))
}

pub(super) fn non_negative<T: TryFrom<i64>>(text: &str) -> Result<T, String> {
    integer(text).and_then(|n| {
        T::try_from(n).map_err(|_| format!("expected a non-negative integer, found {text:?}"))
    })
}

/// A umask: octal digits (`022`, `0o022`) up to 0o777.
pub(super) fn octal(text: &str) -> Result<u32, String> {
    py_int(text, 8)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n <= 0o777)
        .ok_or_else(|| format!("expected an octal umask from 000 to 777, found {text:?}"))
}

/// `50MB`, `1GB`, `1024kb`, `1024`.
pub(super) fn bytes(text: &str) -> Result<i64, String> {
    let lower = text.to_ascii_lowercase();
    let (number, factor) = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
    ]
    .iter()
    .find_map(|&(suffix, factor)| lower.strip_suffix(suffix).map(|n| (n, factor)))
    .unwrap_or((&lower, 1));
    let n = py_int(number, 10)
        .ok_or_else(|| format!("expected a size like 1024, 10KB, 50MB or 1GB, found {text:?}"))?;
    n.checked_mul(factor).ok_or_else(|| {
        format!(
            "expected a size of at most {} bytes, found {text:?}",
            i64::MAX
        )
    })
}

/// `autorestart`: a boolean, or `unexpected`.
pub(super) fn autorestart(text: &str) -> Result<Autorestart, String> {
    let lower = text.to_ascii_lowercase();
    if TRUTHY.contains(&lower.as_str()) {
        Ok(Autorestart::Always)
    } else if FALSY.contains(&lower.as_str()) {
        Ok(Autorestart::Never)
    } else if lower == "unexpected" {
        Ok(Autorestart::Unexpected)
    } else {
        Err(format!(
            "invalid 'autorestart' value {text:?} (expected true, false or unexpected)"
        ))
    }
}

/// `exitcodes`: `0,2`, each from 0 to 255; empty means none.
pub(super) fn exitcodes(text: &str) -> Result<Vec<i32>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|code| {
            py_int(code, 10)
                .filter(|n| (0..=255).contains(n))
                .map(|n| n as i32)
                .ok_or_else(|| {
                    format!("expected exit codes from 0 to 255 like 0,2, found {text:?}")
                })
        })
        .collect()
}

/// `stopsignal`: a name (`TERM`, `SIGTERM`, any case) or a number.
pub(super) fn signal(text: &str) -> Result<libc::c_int, String> {
    signal::parse(text).ok_or_else(|| format!("value {text:?} is not a valid signal name"))
}

/// supervisord's `process_or_group_name`: stripped; no space, ':' or '/'.
pub(super) fn process_or_group_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.contains([' ', ':', '/']) {
        return Err(format!(
            "Invalid name: {name:?} (a name cannot be empty or contain a space, ':' or '/')"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "a name of {} characters (expected at most {})",
            name.len(),
            MAX_NAME_LEN
        ));
    }
    Ok(name.to_string())
}

/// `KEY=val,KEY2="v, 2"` as supervisord 4.3.0 reads it (§2.9): Python's non-POSIX
/// `shlex` with `/.+-():` added to the word characters, then KEY `=` VALUE and one
/// separator token (not checked), and `strip('\'"')` on each value. A key given twice
/// keeps its first place and its last value.
pub(super) fn key_value_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = shlex_tokens(text)?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens.len() < i + 3 || tokens[i + 1] != "=" {
            return Err(format!(
                "Unexpected end of key/value pairs in value {text:?}"
            ));
        }
        let key = tokens[i].clone();
        let value = tokens[i + 2].trim_matches(['\'', '"']).to_string();
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(pair) => pair.1 = value,
            None => pairs.push((key, value)),
        }
        i += 4;
    }
    Ok(pairs)
}

/// Python's `list(shlex.shlex(text))` in non-POSIX mode, `wordchars += '/.+-():'`.
fn shlex_tokens(text: &str) -> Result<Vec<String>, String> {
    let word = |c: char| {
        c.is_ascii_alphanumeric()
            || "_/.+-():".contains(c)
            || (('\u{c0}'..='\u{ff}').contains(&c) && c != '\u{d7}' && c != '\u{f7}')
    };
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let skip_comment = |i: &mut usize| {
        while *i < chars.len() && chars[*i] != '\n' {
            *i += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            i += 1;
        } else if c == '#' {
            skip_comment(&mut i);
        } else if word(c) {
            let mut token = String::new();
            while i < chars.len() {
                let c = chars[i];
                if word(c) || c == '\'' || c == '"' {
                    token.push(c);
                    i += 1;
                } else if c == '#' {
                    // Non-POSIX shlex skips the comment and goes on with the same word.
                    skip_comment(&mut i);
                } else {
                    break;
                }
            }
            tokens.push(token);
        } else if c == '\'' || c == '"' {
            let mut token = String::from(c);
            i += 1;
            loop {
                let Some(&next) = chars.get(i) else {
                    return Err(format!("No closing quotation in {text:?}"));
                };
                token.push(next);
                i += 1;
                if next == c {
                    break;
                }
            }
            tokens.push(token);
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes() {
        assert_eq!(bytes("50MB"), Ok(52428800));
        assert_eq!(bytes("50 mb"), Ok(52428800));
        assert_eq!(bytes("1GB"), Ok(1073741824));
        assert_eq!(bytes("1024"), Ok(1024));
        assert!(bytes("5K").is_err());
    }

    /// §2.9 environment
    #[test]
    fn environment_pairs() {
        let kv = |text: &str| key_value_pairs(text);
        let pairs = |list: &[(&str, &str)]| {
            Ok(list
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>())
        };
        assert_eq!(kv("A=x,B=y#z"), pairs(&[("A", "x"), ("B", "y")]));
        assert_eq!(kv("A=1;B=2"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(kv("A=1,B=2,"), pairs(&[("A", "1"), ("B", "2")]));
        assert_eq!(kv("A=a b"), pairs(&[("A", "a")]));
        assert_eq!(kv("A='\"x\"'"), pairs(&[("A", "x")]));
        assert_eq!(kv("A=\"\""), pairs(&[("A", "")]));
        assert_eq!(kv("A=x\"y\""), pairs(&[("A", "x\"y")]));
        assert_eq!(kv("A = 1"), pairs(&[("A", "1")]));
        assert_eq!(
            kv("P=/usr/bin:/bin,V=a.b-c+d"),
            pairs(&[("P", "/usr/bin:/bin"), ("V", "a.b-c+d")])
        );
        assert_eq!(
            kv("Q=\"a, b #c\",k=v"),
            pairs(&[("Q", "a, b #c"), ("k", "v")])
        );
        assert_eq!(kv("A=1,A=2"), pairs(&[("A", "2")]));
        assert_eq!(kv(""), pairs(&[]));
        for bad in ["A=1 B=2", "A=x=y", "A=1,,B=2", "A"] {
            assert!(
                kv(bad)
                    .unwrap_err()
                    .starts_with("Unexpected end of key/value pairs"),
                "{bad}"
            );
        }
        assert!(kv("A=\"x").unwrap_err().starts_with("No closing quotation"));
    }
}
