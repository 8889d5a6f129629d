//! The one error type of both readers: what is wrong, and where.

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration that cannot be read or is not valid. Displays as
/// `FILE:LINE: KEY: MESSAGE`, without LINE when it cannot be known and without KEY for
/// syntax errors and file-wide problems.
#[derive(Debug)]
pub struct ConfigError {
    path: PathBuf,
    line: Option<usize>,
    key: Option<String>,
    message: String,
    /// Set when the file could not be read.
    io: Option<std::io::Error>,
}

impl ConfigError {
    /// An error at `path` (and `line`, `key` when known).
    pub(crate) fn new(
        path: &Path,
        line: Option<usize>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            line,
            key,
            message: message.into(),
            io: None,
        }
    }

    /// An error about the file as a whole: `FILE: MESSAGE`.
    pub(crate) fn whole_file(path: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError::new(path, None, None, message)
    }

    /// `path` could not be read.
    pub(crate) fn io(path: &Path, err: std::io::Error) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            line: None,
            key: None,
            message: String::new(),
            io: Some(err),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        if let Some(err) = &self.io {
            // "No such file or directory", without std's " (os error 2)".
            let text = err.to_string();
            let text = match err.raw_os_error() {
                Some(code) => text
                    .strip_suffix(&format!(" (os error {code})"))
                    .unwrap_or(&text)
                    .to_string(),
                None => text,
            };
            return write!(f, "cannot read {path}: {text}");
        }
        write!(f, "{path}")?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|err| err as _)
    }
}
