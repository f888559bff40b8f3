//! The crate's error, wrapping one error enum per area, and the single map from errors to
//! exit codes (SPEC §7).

use crate::{
    crypto::CryptoError,
    csc::CscError,
    deploy::InputError,
    format::FormatError,
    home::HomeError,
    jobs::JobError,
    layers::LayerError,
    model::{NameError, TextError},
    profiles::ProfileError,
    sign::SignError,
    store::StoreError,
    zipcheck::ZipError,
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

    /// The code of a store error.
    pub fn of_store(e: &super::StoreError) -> u8 {
        use super::StoreError::*;
        match e {
            NotFound { .. } | Missing { .. } => NOT_FOUND,
            AlreadyExists { .. } | Conflict { .. } => CONFLICT,
            BadUrl { .. } => USAGE,
            BadKey { .. } => INVALID,
            Backend { .. } | Corrupt { .. } | Open { .. } => IO,
            Home(e) => of_home(e),
            Trust(e) => of_trust(e),
            Custody(e) => of_custody(e),
        }
    }

    /// The code of an administrator error.
    fn of_admin(e: &crate::admins::AdminError) -> u8 {
        use crate::admins::AdminError::*;
        match e {
            Exists { .. } | AlreadyRevoked { .. } => CONFLICT,
            NotFound { .. } | NeedsRoot => NOT_FOUND,
        }
    }

    /// The code of a trust-root or trust-record error: a root that is not the pinned one
    /// denies; an untrusted record is invalid input (never an allow).
    pub fn of_trust(e: &crate::trust::TrustError) -> u8 {
        use crate::trust::TrustError::*;
        match e {
            RootMismatch { .. } => DENIED,
            NoPin { .. } | NoStoreRoot { .. } | NoRootKey { .. } => NOT_FOUND,
            SeveralAdminKeys { .. } => CONFLICT,
            BadPin { .. } => USAGE,
            NoCertificate { .. } | Untrusted { .. } | Stale { .. } | BadBundle { .. } => INVALID,
            Crypto(e) => of_crypto(e),
        }
    }

    /// The code of a home error.
    pub fn of_home(e: &super::HomeError) -> u8 {
        use super::HomeError::*;
        match e {
            AlreadyExists { .. } => CONFLICT,
            KeyNotFound { .. } => NOT_FOUND,
            Io { .. } => IO,
            BadKeyId { .. }
            | InsecureDir { .. }
            | InsecureKey { .. }
            | NotADirectory { .. }
            | NotAKeyFile { .. }
            | TooLarge { .. } => INVALID,
        }
    }

    /// The code of a key store error: a key that cannot be reached now (a locked token, a
    /// wrong PIN, denied KMS access) is a failure (6), like a store that does not answer.
    pub(crate) fn of_custody(e: &crate::custody::CustodyError) -> u8 {
        use crate::custody::CustodyError::*;
        match e {
            _ if e.is_unavailable() => IO,
            BadKeyStore { .. } | Unsupported { .. } | PinInUri { .. } => USAGE,
            NotHere { .. } => NOT_FOUND,
            BadReference { .. } => INVALID,
            Home(e) => of_home(e),
            Crypto(e) => of_crypto(e),
            _ => IO,
        }
    }

    /// The code of a key, certificate or signature error.
    pub(crate) fn of_crypto(e: &super::CryptoError) -> u8 {
        use super::CryptoError::*;
        match e {
            // A signature or chain that fails where signer is given one to use (a profile's
            // own chain, a TSA's root, a sealed record) is bad input; a package that fails
            // them is judged, and denied, by its verdict, not by an error.
            BadCertificate { .. }
            | BadKey { .. }
            | BadPem { .. }
            | KeyCertMismatch
            | UnsupportedAlgorithm { .. }
            | BadSignature
            | ChainInvalid { .. }
            | PlatformMismatch { .. } => INVALID,
            Rng | KeyUnavailable { .. } => IO,
        }
    }

    /// The code of a profile error.
    fn of_profile(e: &super::ProfileError) -> u8 {
        use super::ProfileError::*;
        match e {
            EmptyChain | ChainWithoutRoot | FutureRevocation { .. } | BadDefinition { .. } => INVALID,
            NoEffectiveTime | NoName { .. } => USAGE,
            NoRootCaKey { .. }
            | NotFound { .. }
            | NoVersion { .. }
            | VersionMissing { .. }
            | NoSuchVersion { .. }
            | NoVersionKey { .. } => NOT_FOUND,
            NameTaken { .. }
            | OwnChain { .. }
            | Canceled { .. }
            | CurrentVersionRevoked { .. }
            | RevocationLater { .. }
            | JobAlreadyRevoked { .. } => CONFLICT,
        }
    }

    /// The code of a profile-permission error.
    fn of_permission(e: &crate::permissions::PermissionError) -> u8 {
        use crate::permissions::PermissionError::*;
        match e {
            BadAction { .. } | BadPrincipal { .. } => INVALID,
            NoStatement { .. } => NOT_FOUND,
            StatementIdTaken { .. } | StaleRevision { .. } | TooMany { .. } => CONFLICT,
        }
    }

    /// The code of a code-signing config error.
    fn of_csc(e: &super::CscError) -> u8 {
        use super::CscError::*;
        match e {
            PublisherCount { .. } | NotAllowed { .. } | WouldBeEmpty { .. } | FileTooLarge { .. } | BadFile { .. } => {
                INVALID
            }
            UnknownPublisher { .. } | Deleted { .. } | NotFound { .. } => NOT_FOUND,
            NoFreeId | Contended { .. } => CONFLICT,
        }
    }

    /// The code of a signing-job error.
    fn of_job(e: &super::JobError) -> u8 {
        use super::JobError::*;
        match e {
            BadDestination { .. } | BadSource { .. } | EmptyPath | NoETag { .. } => INVALID,
            SourceNotFound { .. }
            | SourceVersion { .. }
            | NotFound { .. }
            | NoKeyNoWorker { .. }
            | SourceGone { .. } => NOT_FOUND,
            ProfileNotActive { .. }
            | TokenReused { .. }
            | Vanished { .. }
            | NotSucceeded { .. }
            | NotEnded { .. }
            | WaitTimedOut { .. }
            | WaitInterrupted { .. }
            | CanceledSince { .. }
            | RevokedSince { .. }
            | DestinationTaken { .. }
            | SourceChanged { .. } => CONFLICT,
        }
    }

    /// The code of a layer error.
    fn of_layer(e: &super::LayerError) -> u8 {
        use super::LayerError::*;
        match e {
            TooManyRuntimes { .. } | TooLarge { .. } => INVALID,
            VersionDeleted { .. } | VersionNotFound { .. } | NotFound { .. } => NOT_FOUND,
        }
    }

    /// The code of a signing refusal.
    fn of_sign(e: &super::SignError) -> u8 {
        use super::SignError::*;
        match e {
            AlreadySigned | CommentTooLong | NoCertificate | SourceChanged => INVALID,
        }
    }

    /// The exit code of any error the library returns: the one map from errors to
    /// codes. Nothing else decides a code, and no code is branched on.
    pub fn of(e: &super::Error) -> u8 {
        use super::Error::*;
        match e {
            Zip(_)
            | Format(_)
            | Name(_)
            | Text(_)
            | Deploy(_)
            | RevocationList { .. }
            | BothGiven { .. }
            | BrokenBlock { .. } => INVALID,
            FileTooLarge { .. } | NotAFilePath { .. } | NotAFile { .. } | NotAFolder { .. } => INVALID,
            Unsigned { .. } | NoFile { .. } => NOT_FOUND,
            Usage { .. } => USAGE,
            Crypto(e) => of_crypto(e),
            Store(e) => of_store(e),
            Trust(e) => of_trust(e),
            Admin(e) => of_admin(e),
            Timestamp(crate::timestamp::TimestampError::Unavailable { .. }) => IO,
            Timestamp(_) => INVALID,
            Home(e) => of_home(e),
            Custody(e) => of_custody(e),
            Profile(e) => of_profile(e),
            Permission(e) => of_permission(e),
            Csc(e) => of_csc(e),
            Job(e) => of_job(e),
            Layer(e) => of_layer(e),
            Sign(e) => of_sign(e),
            Io { source, .. } => of_io(source),
            // A broken invariant is a bug, not the caller's input: the "failure" code.
            Internal(_) => IO,
        }
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
    /// The trust root or a trust record.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
    /// Administrators.
    #[error(transparent)]
    Admin(#[from] crate::admins::AdminError),
    /// An RFC 3161 timestamp.
    #[error(transparent)]
    Timestamp(#[from] crate::timestamp::TimestampError),
    /// The home (private keys) failed.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// A key store (file, PKCS#11 token, AWS KMS) failed or refused.
    #[error(transparent)]
    Custody(#[from] crate::custody::CustodyError),
    /// A name or id broke its rule.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A signing profile, its versions or the root CA.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A profile's permissions (who may sign with it through `signer serve`).
    #[error(transparent)]
    Permission(#[from] crate::permissions::PermissionError),
    /// A description, reason or token out of bounds.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A code-signing config.
    #[error(transparent)]
    Csc(#[from] CscError),
    /// A signing job.
    #[error(transparent)]
    Job(#[from] JobError),
    /// A broken internal invariant: a bug in signer (exit 6), never the input's fault.
    #[error("internal error (a bug in signer; please report it): {0}")]
    Internal(String),
    /// A layer or layer version.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A signing refused apart from the zip gate.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A malformed deployment.
    #[error(transparent)]
    Deploy(#[from] InputError),
    /// A revocation list that is not one this store's root signed, or is stale.
    #[error("revocation list refused: {why}")]
    RevocationList {
        /// What is wrong with it.
        why: String,
    },
    /// A command line that cannot work as given, found after parsing: `-` for stdin named
    /// twice, a file sent to stdout where `--output json` prints its document, a man page
    /// asked for a command that does not exist.
    #[error("{why}")]
    Usage {
        /// What is wrong and what to do.
        why: String,
    },
    /// Two inputs where one is wanted (a config id and a config file…).
    #[error("{what}; give one")]
    BothGiven {
        /// The two, for people.
        what: String,
    },
    /// `signature show|export` of a package with no signature block.
    #[error("{package} carries no signature")]
    Unsigned {
        /// The package.
        package: String,
    },
    /// `signature show|export` of a package whose block does not parse.
    #[error("{package}: {reason}")]
    BrokenBlock {
        /// The package.
        package: String,
        /// Why.
        reason: String,
    },
    /// An input file that does not exist.
    #[error("no {what} {path}; {fix}")]
    NoFile {
        /// The path (and where it was named).
        path: String,
        /// Which file ("deployment file", …).
        what: &'static str,
        /// What to do.
        fix: &'static str,
    },
    /// An input file over its size limit.
    #[error("{path} is over the {max}-byte limit for this file")]
    FileTooLarge {
        /// The path.
        path: String,
        /// The limit.
        max: usize,
    },
    /// An output path with no file name.
    #[error("{path} is not a file path")]
    NotAFilePath {
        /// The path.
        path: String,
    },
    /// A folder argument names something that exists and is not a folder.
    #[error("{path} is not a folder; give a folder (it is created if missing)")]
    NotAFolder {
        /// The path as given.
        path: String,
    },
    /// An input path names something other than a regular file (a FIFO, a device, a
    /// socket, a directory), refused before anything is read from it.
    #[error("{path} is {kind}, not a regular file; give the path of a file")]
    NotAFile {
        /// The path as given.
        path: String,
        /// What it is instead ("a FIFO (named pipe)", "a directory", …).
        kind: &'static str,
    },
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
        exit::of(self)
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

/// Unit tests read an area error's code without wrapping it first.
#[cfg(test)]
pub(crate) trait ExitCode {
    /// The code the error maps to.
    fn exit_code(&self) -> u8;
}

#[cfg(test)]
impl ExitCode for CryptoError {
    fn exit_code(&self) -> u8 {
        exit::of_crypto(self)
    }
}

#[cfg(test)]
impl ExitCode for StoreError {
    fn exit_code(&self) -> u8 {
        exit::of_store(self)
    }
}

#[cfg(test)]
impl ExitCode for crate::custody::CustodyError {
    fn exit_code(&self) -> u8 {
        exit::of_custody(self)
    }
}

#[cfg(test)]
impl ExitCode for HomeError {
    fn exit_code(&self) -> u8 {
        exit::of_home(self)
    }
}
