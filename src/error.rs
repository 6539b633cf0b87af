//! Library errors.
//!
//! Owns the one error type of the library. It keeps **user mistakes** (bad input, unknown names,
//! a store of another format) apart from **internal errors** (I/O failures, bugs), so the CLI can
//! word them differently and tests can assert on the kind. Every user message says what was wrong,
//! where (file, row, column, span) and how to fix it.

use std::path::{Path, PathBuf};

/// The library's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The user gave something wrong: a bad file, a missing column, an unknown name.
    /// The message names the place and the fix.
    #[error("{0}")]
    User(String),
    /// An operating-system I/O failure on a path (disk full, permission denied, ...).
    #[error("{path}: {source}")]
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A bug or broken invariant inside `audience`; not the user's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A user mistake with its message.
    pub fn user(msg: impl Into<String>) -> Self {
        Error::User(msg.into())
    }

    /// An internal error with its message.
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }

    /// True when the error is the user's to fix (as opposed to an I/O failure or a bug).
    pub fn is_user(&self) -> bool {
        matches!(self, Error::User(_))
    }
}

/// Adds the path to an `io::Result`.
pub trait IoContext<T> {
    /// Maps the error to [`Error::Io`] with `path`.
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
