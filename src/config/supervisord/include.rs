//! `[include]` (§1.5): the main file's `files=` patterns, matched as Python's `glob`
//! does, and the files read in order into the same sections.

use std::path::{Path, PathBuf};

use super::expand::Value;
use super::{Reader, directory_of};
use crate::config::ConfigError;

impl Reader<'_> {
    /// `[include] files=` (§1.5): only the main file's, read in order, each match list
    /// sorted.
    pub(super) fn includes(
        &mut self,
        read_file: &dyn Fn(&Path) -> std::io::Result<String>,
        list_dir: &dyn Fn(&Path) -> std::io::Result<Vec<PathBuf>>,
    ) -> Result<(), ConfigError> {
        let Some(section) = self.ini.section("include") else {
            return Ok(());
        };
        let Some(entry) = self.ini.get(section, "files").cloned() else {
            return Err(self.section_error(
                section,
                ".ini file has [include] section, but no files setting",
            ));
        };
        let names = self.names(
            &[
                ("here", Value::Str(self.here.clone())),
                ("host_node_name", Value::Str(self.host.clone())),
            ],
            Vec::new(),
        );
        let files = self.expand(&entry, "include", "files", &names)?;
        let base = PathBuf::from(&self.here);
        for pattern in files.split_whitespace() {
            let pattern = base.join(pattern);
            let mut matches = glob(&pattern, list_dir);
            if matches.is_empty() {
                let message = format!(
                    "No file matches via include {:?}",
                    pattern.display().to_string()
                );
                self.warn(&entry.file, entry.line, "[include] files", &message);
                continue;
            }
            matches.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
            for file in matches {
                // Python's ConfigParser.read skips a file it cannot open, silently.
                let text = match read_file(&file) {
                    Ok(text) => text,
                    Err(err) => {
                        let message = format!(
                            "{}, skipped (as supervisord does)",
                            ConfigError::io(&file, err)
                        );
                        self.warn(&entry.file, entry.line, "[include] files", &message);
                        continue;
                    }
                };
                let here = directory_of(&file);
                self.ini.read(&text, &file, &here)?;
            }
        }
        Ok(())
    }
}

/// One element of a glob pattern.
enum Glob {
    /// `*` (a run of them is one).
    Star,
    /// `?`
    One,
    Char(char),
    /// `[...]`: ranges (a single character is a range of one); `[!...]` negates.
    Class(bool, Vec<(char, char)>),
}

/// A pattern's elements, in one pass. A `[` without a closing `]` is a literal `[`; the
/// first `]` after the class's first character closes it (so `[]]` is a class of `]`).
fn compile(pattern: &[char]) -> Vec<Glob> {
    let last_close = pattern.iter().rposition(|&c| c == ']');
    let mut globs = Vec::new();
    let mut i = 0;
    while let Some(&c) = pattern.get(i) {
        i += 1;
        match c {
            '*' => {
                if !matches!(globs.last(), Some(Glob::Star)) {
                    globs.push(Glob::Star);
                }
            }
            '?' => globs.push(Glob::One),
            '[' => {
                let negate = pattern.get(i) == Some(&'!');
                let start = i + usize::from(negate);
                if last_close.is_none_or(|close| close <= start) {
                    globs.push(Glob::Char('['));
                    continue;
                }
                let mut j = start;
                let mut items = Vec::new();
                while let Some(&first) = pattern.get(j) {
                    if first == ']' && j > start {
                        break;
                    }
                    match (pattern.get(j + 1), pattern.get(j + 2)) {
                        (Some('-'), Some(&last)) if last != ']' => {
                            items.push((first, last));
                            j += 3;
                        }
                        _ => {
                            items.push((first, first));
                            j += 1;
                        }
                    }
                }
                globs.push(Glob::Class(negate, items));
                i = j + 1;
            }
            c => globs.push(Glob::Char(c)),
        }
    }
    globs
}

/// `*`, `?` and `[...]` (with `[!...]` and ranges) against one file name, as `fnmatch`.
/// Iterative, going back only to the last `*`: linear in the name for each element, so
/// no pattern can take exponential time or recurse deeply.
pub(super) fn fnmatch(pattern: &[char], name: &[char]) -> bool {
    let globs = compile(pattern);
    let matches_one = |glob: &Glob, c: char| match glob {
        Glob::Star => false,
        Glob::One => true,
        Glob::Char(p) => *p == c,
        Glob::Class(negate, items) => {
            items.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)) != *negate
        }
    };
    let (mut g, mut n) = (0, 0);
    // Where to go on from after the last `*` seen: (element, name position).
    let mut resume: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(n) {
        match globs.get(g) {
            Some(Glob::Star) => {
                g += 1;
                resume = Some((g, n));
            }
            Some(glob) if matches_one(glob, c) => {
                g += 1;
                n += 1;
            }
            _ => match resume {
                // The last `*` takes one more character.
                Some((after_star, at)) => {
                    g = after_star;
                    n = at + 1;
                    resume = Some((after_star, at + 1));
                }
                None => return false,
            },
        }
    }
    globs.iter().skip(g).all(|glob| matches!(glob, Glob::Star))
}

/// Whether a path component is a pattern rather than a name.
pub(super) fn has_magic(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// `glob.glob(pattern)` over the components of an absolute pattern.
pub(super) fn glob(
    pattern: &Path,
    list_dir: &dyn Fn(&Path) -> std::io::Result<Vec<PathBuf>>,
) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    let components: Vec<_> = pattern.components().collect();
    for (index, component) in components.iter().enumerate() {
        let text = component.as_os_str().to_string_lossy();
        let last = index + 1 == components.len();
        let mut next = Vec::new();
        for base in &current {
            if has_magic(&text) || last {
                let Ok(children) = list_dir(if base.as_os_str().is_empty() {
                    Path::new("/")
                } else {
                    base
                }) else {
                    continue;
                };
                let pattern: Vec<char> = text.chars().collect();
                for child in children {
                    let Some(name) = child.file_name().map(|n| n.to_string_lossy().into_owned())
                    else {
                        continue;
                    };
                    // Like glob: a leading '.' is matched only by a leading '.'.
                    if name.starts_with('.') && !text.starts_with('.') {
                        continue;
                    }
                    let name: Vec<char> = name.chars().collect();
                    let matched = if has_magic(&text) {
                        fnmatch(&pattern, &name)
                    } else {
                        name == pattern
                    };
                    if matched {
                        next.push(base.join(child.file_name().unwrap_or_default()));
                    }
                }
            } else {
                next.push(base.join(component));
            }
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_patterns() {
        let m = |p: &str, n: &str| {
            fnmatch(
                &p.chars().collect::<Vec<_>>(),
                &n.chars().collect::<Vec<_>>(),
            )
        };
        assert!(m("*.conf", "a.conf"));
        assert!(!m("*.conf", "a.conf.bak"));
        assert!(m("?.ini", "a.ini"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[]]", "]"));
        assert!(m("[x", "[x"));
    }
}
