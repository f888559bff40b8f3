//! The crate's error, wrapping one error enum per area, and the single map from errors to
//! exit codes (SPEC §7).

use crate::{
    crypto::CryptoError, format::FormatError, home::HomeError, model::NameError, store::StoreError, zipcheck::ZipError,
};

/// Exit codes (SPEC §7).
pub mod exit {
    /// Success, or allowed.
    pub const OK: u8 = 0;
    /// Denied by verification or a deploy check.
    pub const DENIED: u8 = 1;
    /// Usage error.
    pub const USAGE: u8 = 2;
    /// Invalid input: not a zip, hostile, over a limit.
    pub const INVALID: u8 = 3;
    /// Not found.
    pub const NOT_FOUND: u8 = 4;
    /// Conflict: exists, canceled, wrong state.
    pub const CONFLICT: u8 = 5;
    /// Store or I/O failure.
    pub const IO: u8 = 6;

    /// The code of a local I/O error: a file that does not exist is "not found", the
    /// rest is an I/O failure.
    pub fn of_io(e: &std::io::Error) -> u8 {
        if e.kind() == std::io::ErrorKind::NotFound { NOT_FOUND } else { IO }
    }
}

/// Any error the library returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A zip was refused by the strict gate.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// A signature block or statement is malformed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// A key, certificate or signature problem.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The object store failed or holds something unexpected.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The home (private keys) failed.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// A name or id broke its rule.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Input was refused (not a zip, already signed, over a limit…).
    #[error("{0}")]
    Invalid(String),
    /// Something does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An input path names something other than a regular file (a FIFO, a device, a
    /// socket, a directory), refused before anything is read from it.
    #[error("{path} is {kind}, not a regular file; give the path of a file")]
    NotAFile {
        /// The path as given.
        path: String,
        /// What it is instead ("a FIFO (named pipe)", "a directory", …).
        kind: &'static str,
    },
    /// The request conflicts with the state (exists, canceled, wrong state).
    #[error("{0}")]
    Conflict(String),
    /// Local I/O failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code this error maps to (SPEC §7).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Zip(_) | Self::Format(_) | Self::Name(_) | Self::Invalid(_) | Self::NotAFile { .. } => exit::INVALID,
            Self::Crypto(e) => e.exit_code(),
            Self::Store(e) => e.exit_code(),
            Self::Home(e) => e.exit_code(),
            Self::NotFound(_) => exit::NOT_FOUND,
            Self::Conflict(_) => exit::CONFLICT,
            Self::Io { source, .. } => exit::of_io(source),
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}

impl From<crate::zipcheck::InspectError> for Error {
    fn from(e: crate::zipcheck::InspectError) -> Self {
        match e {
            crate::zipcheck::InspectError::Zip(z) => Self::Zip(z),
            crate::zipcheck::InspectError::Io(io) => Self::io("reading the zip", io),
        }
    }
}
