//! `${VAR}` expansion of string values.

/// Expands `${VAR}` and `${VAR:-default}` (default when VAR is unset or empty) from `env`;
/// `$$` is a literal `$`. The default is taken literally, up to the first `}`.
///
/// A `$` followed by anything else is kept as it is, so a command like
/// `sh -c 'echo $HOME'` still hands `$HOME` to the shell (only the braced form is ours; a
/// shell's `$$` must be written `$$$$`).
pub(crate) fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail
                .find('}')
                .ok_or_else(|| format!("unterminated '${{' in {text:?} (expected '}}')"))?;
            let inner = &tail[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            if default.is_some_and(|d| d.contains(['$', '{'])) {
                return Err(format!(
                    "'${{{inner}}}': a default cannot contain '$' or '{{' (defaults are not expanded)"
                ));
            }
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(format!(
                    "invalid variable reference '${{{inner}}}' (expected ${{NAME}} or ${{NAME:-default}})"
                ));
            }
            match (
                env(name).filter(|value| !value.is_empty() || default.is_none()),
                default,
            ) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(format!(
                        "undefined variable '{name}' (give a default with ${{{name}:-value}})"
                    ));
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::tests::env;
    use super::*;

    #[test]
    fn expansion() {
        let e = |text: &str| expand(text, &env);
        assert_eq!(e("${HOME}/x").unwrap(), "/root/x");
        assert_eq!(e("${NOPE:-d}|${EMPTY:-e}|${HOME:-f}").unwrap(), "d|e|/root");
        assert_eq!(e("${NOPE:-}").unwrap(), "");
        assert_eq!(e("${EMPTY}").unwrap(), "");
        assert_eq!(
            e("$$HOME $$${HOME} $HOME $ $").unwrap(),
            "$HOME $/root $HOME $ $"
        );
        assert_eq!(e("cost: 5$").unwrap(), "cost: 5$");
        assert_eq!(
            e("${NOPE}").unwrap_err(),
            "undefined variable 'NOPE' (give a default with ${NOPE:-value})"
        );
        assert_eq!(
            e("a${HOME").unwrap_err(),
            "unterminated '${' in \"a${HOME\" (expected '}')"
        );
        assert_eq!(
            e("${A B}").unwrap_err(),
            "invalid variable reference '${A B}' (expected ${NAME} or ${NAME:-default})"
        );
        assert!(e("${}").is_err());
        assert!(e("${1A}").is_err());
    }
}
