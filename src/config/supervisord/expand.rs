//! `%(name)s` expansion (§1.4): Python's `%` operator on a value, with the names
//! supervisord offers where the value is read.

use std::collections::BTreeMap;

use super::Reader;
use super::ini::Entry;
use crate::config::ConfigError;
/// What a name expands to: `%(name)s` takes either, `%(name)d` only a number.
#[derive(Clone, Debug)]
pub(super) enum Value {
    Str(String),
    Int(i64),
}

/// The names a key can expand. `ENV_X` is looked up in `extra_env`, then in the
/// environment.
pub(super) struct Names<'a> {
    pub(super) fixed: BTreeMap<&'static str, Value>,
    pub(super) extra_env: Vec<(String, String)>,
    pub(super) env: &'a dyn Fn(&str) -> Option<String>,
}

impl Names<'_> {
    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(value) = self.fixed.get(name) {
            return Some(value.clone());
        }
        let var = name.strip_prefix("ENV_")?;
        self.extra_env
            .iter()
            .rev()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.clone())
            .or_else(|| (self.env)(var))
            .map(Value::Str)
    }

    fn available(&self) -> String {
        let mut names: Vec<&str> = self.fixed.keys().copied().collect();
        names.push("ENV_*");
        names.join(", ")
    }
}

/// Python's `text % names`: `%(name)FLAGS WIDTH .PRECISION TYPE` and `%%`.
pub(super) fn percent_format(text: &str, names: &Names) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let bad = |why: &str| format!("badly formatted: {why}");
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
            continue;
        }
        let Some(tail) = after.strip_prefix('(') else {
            return Err(bad("a '%' must be written '%%'"));
        };
        let end = tail.find(')').ok_or_else(|| bad("incomplete format key"))?;
        let name = &tail[..end];
        let spec = &tail[end + 1..];
        let flags_len = spec
            .find(|c: char| !matches!(c, '-' | '+' | ' ' | '#' | '0'))
            .unwrap_or(spec.len());
        let flags = &spec[..flags_len];
        let spec = &spec[flags_len..];
        let width_len = spec
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(spec.len());
        // Too many digits for a usize is over the cap below, not no width at all.
        let number = |digits: &str| match digits {
            "" => 0,
            digits => digits.parse().unwrap_or(usize::MAX),
        };
        let width = number(&spec[..width_len]);
        let spec = &spec[width_len..];
        let (precision, spec) = match spec.strip_prefix('.') {
            Some(spec) => {
                let len = spec
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(spec.len());
                (Some(number(&spec[..len])), &spec[len..])
            }
            None => (None, spec),
        };
        // A width or precision beyond any real use would only exhaust memory (and
        // Rust's formatter refuses widths past 65535).
        const MAX_WIDTH: usize = 4096;
        if width > MAX_WIDTH || precision.is_some_and(|p| p > MAX_WIDTH) {
            return Err(bad(&format!("width or precision over {MAX_WIDTH}")));
        }
        let conversion = spec
            .chars()
            .next()
            .ok_or_else(|| bad("incomplete format"))?;
        rest = &spec[conversion.len_utf8()..];
        let value = names.lookup(name).ok_or_else(|| {
            format!(
                "contains names ('{name}') which cannot be expanded. Available names: {}",
                names.available()
            )
        })?;
        let body = match (conversion, &value) {
            ('s', Value::Str(s)) => match precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('s', Value::Int(n)) => n.to_string(),
            ('d' | 'i' | 'u', Value::Int(n)) => {
                let digits = n.unsigned_abs().to_string();
                let digits = format!("{digits:0>w$}", w = precision.unwrap_or(0));
                let sign = if *n < 0 {
                    "-"
                } else if flags.contains('+') {
                    "+"
                } else if flags.contains(' ') {
                    " "
                } else {
                    ""
                };
                if flags.contains('0') && !flags.contains('-') {
                    let w = width.saturating_sub(sign.len());
                    format!("{sign}{digits:0>w$}")
                } else {
                    format!("{sign}{digits}")
                }
            }
            ('d' | 'i' | 'u', Value::Str(_)) => {
                return Err(format!(
                    "badly formatted: %({name}){conversion} needs a number, and {name} is a string"
                ));
            }
            _ => {
                return Err(bad(&format!("unsupported format character '{conversion}'")));
            }
        };
        if flags.contains('-') {
            out.push_str(&format!("{body:<width$}"));
        } else {
            out.push_str(&format!("{body:>width$}"));
        }
    }
    out.push_str(rest);
    Ok(out)
}

impl Reader<'_> {
    /// The names a key can expand: `fixed` ones, and `ENV_X` from `extra_env` or the
    /// environment.
    pub(super) fn names(
        &self,
        fixed: &[(&'static str, Value)],
        extra_env: Vec<(String, String)>,
    ) -> Names<'_> {
        Names {
            fixed: fixed.iter().cloned().collect(),
            extra_env,
            env: self.env,
        }
    }

    /// An entry's value with its names expanded; `section` and `key` are for messages.
    pub(super) fn expand(
        &self,
        entry: &Entry,
        section: &str,
        key: &str,
        names: &Names,
    ) -> Result<String, ConfigError> {
        let value = percent_format(&entry.value, names).map_err(|why| {
            self.error(
                entry,
                section,
                key,
                format!("format string {:?} {why}", entry.value),
            )
        })?;
        // No key can use one (a command, a path or an environment value with a NUL
        // could only fail when spawned), so it is refused here, as in the TOML format.
        if value.contains('\0') {
            return Err(self.error(
                entry,
                section,
                key,
                "a value cannot contain a NUL character",
            ));
        }
        Ok(value)
    }
}
