//! The INI layer (§1.1–§1.3): Python's `RawConfigParser` with
//! `inline_comment_prefixes=(';','#')` and `strict=False`: sections, `KEY=VALUE` and
//! `KEY: VALUE` lines, continuation lines, comments and `[DEFAULT]`, with the file and
//! line of every key kept for messages.

use std::path::{Path, PathBuf};

use crate::config::ConfigError;

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) value: String,
    /// Where the key was written: the file and the line of its first line.
    pub(super) file: PathBuf,
    pub(super) line: usize,
}

#[derive(Debug)]
pub(super) struct Section {
    pub(super) name: String,
    /// Where the section's header was first written.
    pub(super) file: PathBuf,
    pub(super) line: usize,
    /// Lower-cased keys in first-seen order; a later value replaces an earlier one.
    pub(super) keys: Vec<(String, Entry)>,
}

/// Every section read so far, from the main file and its includes, merged.
#[derive(Debug, Default)]
pub(super) struct Ini {
    /// In the order their headers first appear.
    pub(super) sections: Vec<Section>,
    /// `[DEFAULT]`: inherited by every section that lacks the key.
    defaults: Vec<(String, Entry)>,
}

/// Sets `key`, keeping the place of an earlier value.
fn set(keys: &mut Vec<(String, Entry)>, key: String, entry: Entry) {
    match keys.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = entry,
        None => keys.push((key, entry)),
    }
}

impl Ini {
    /// Parses one file into the sections read so far (Python's `RawConfigParser.read`),
    /// then replaces `%(here)s` everywhere with `here` (supervisord's `expand_here`).
    pub(super) fn read(&mut self, text: &str, file: &Path, here: &str) -> Result<(), ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Where the current key's value is: (section index or None for DEFAULT, key).
        let mut current: Option<Option<usize>> = None;
        let mut option: Option<String> = None;
        // Lines of the value being read, joined at the end.
        let mut indent_level = 0usize;
        let mut pending: Vec<(Option<usize>, String, Vec<String>, usize)> = Vec::new();
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let mut comment_start = inline_comment_start(line);
            let trimmed = line.trim();
            if trimmed.starts_with(['#', ';']) {
                comment_start = Some(0);
            }
            let value = line[..comment_start.unwrap_or(line.len())].trim();
            if value.is_empty() {
                // An empty line inside a value is kept (empty_lines_in_values), unless
                // the line held a comment.
                if comment_start.is_none()
                    && current.is_some()
                    && option.is_some()
                    && let Some(last) = pending.last_mut()
                {
                    last.2.push(String::new());
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if current.is_some() && option.is_some() && indent > indent_level {
                if let Some(last) = pending.last_mut() {
                    last.2.push(value.to_string());
                }
                continue;
            }
            indent_level = indent;
            if let Some(header) = section_header(value) {
                if header == "DEFAULT" {
                    current = Some(None);
                } else {
                    let position = self.sections.iter().position(|s| s.name == header);
                    let position = position.unwrap_or_else(|| {
                        self.sections.push(Section {
                            name: header.to_string(),
                            file: file.to_path_buf(),
                            line: number,
                            keys: Vec::new(),
                        });
                        self.sections.len() - 1
                    });
                    current = Some(Some(position));
                }
                option = None;
                continue;
            }
            let Some(section) = current else {
                return Err(ConfigError::new(
                    file,
                    Some(number),
                    None,
                    format!("expected a section header like [program:NAME] before {line:?}"),
                ));
            };
            let Some(at) = value.find(['=', ':']) else {
                return Err(ConfigError::new(
                    file,
                    Some(number),
                    None,
                    format!("expected KEY=VALUE or [SECTION], found {line:?}"),
                ));
            };
            let key = value[..at].trim_end().to_ascii_lowercase();
            if key.is_empty() {
                return Err(ConfigError::new(
                    file,
                    Some(number),
                    None,
                    format!(
                        "expected a key before '{}', found {line:?}",
                        &value[at..=at]
                    ),
                ));
            }
            let first = value[at + 1..].trim().to_string();
            option = Some(key.clone());
            pending.push((section, key, vec![first], number));
        }
        for (section, key, lines, line) in pending {
            let entry = Entry {
                value: lines.join("\n").trim_end().to_string(),
                file: file.to_path_buf(),
                line,
            };
            match section {
                None => set(&mut self.defaults, key, entry),
                Some(index) => set(&mut self.sections[index].keys, key, entry),
            }
        }
        let replace = |keys: &mut Vec<(String, Entry)>| {
            for (_, entry) in keys.iter_mut() {
                if entry.value.contains("%(here)s") {
                    entry.value = entry.value.replace("%(here)s", here);
                }
            }
        };
        replace(&mut self.defaults);
        for section in &mut self.sections {
            replace(&mut section.keys);
        }
        Ok(())
    }

    /// The section whose header is `name` (`program:web`).
    pub(super) fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|section| section.name == name)
    }

    /// A key of a section, or of `[DEFAULT]`.
    pub(super) fn get<'a>(&'a self, section: &'a Section, key: &str) -> Option<&'a Entry> {
        section
            .keys
            .iter()
            .chain(self.defaults.iter())
            .find(|(k, _)| k == key)
            .map(|(_, entry)| entry)
    }

    /// Every key of a section, `[DEFAULT]`'s included, in file order.
    pub(super) fn keys<'a>(&'a self, section: &'a Section) -> Vec<(&'a str, &'a Entry)> {
        let mut keys: Vec<_> = section.keys.iter().map(|(k, e)| (k.as_str(), e)).collect();
        for (key, entry) in &self.defaults {
            if !section.keys.iter().any(|(k, _)| k == key) {
                keys.push((key, entry));
            }
        }
        keys
    }
}

/// Where an inline comment starts: the first `;` or `#` that begins the line or follows
/// whitespace (quotes do not protect).
pub(super) fn inline_comment_start(line: &str) -> Option<usize> {
    let mut previous: Option<char> = None;
    for (at, c) in line.char_indices() {
        if matches!(c, ';' | '#') && previous.is_none_or(char::is_whitespace) {
            return Some(at);
        }
        previous = Some(c);
    }
    None
}

/// `[NAME]` (Python's `\[(?P<header>.+)\]` matched at the start of the stripped line).
pub(super) fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}
