//! The signed package (SECURITY.md, "The signed package"): the source zip, unchanged up to
//! its archive comment, with a signature block appended to that comment.
//!
//! > The block is printable ASCII and sits at the very end of the archive comment, which
//! > ends at the end of the file. It is `HEADER`, the statement line, the signature line
//! > and the trailer. The signature is over the *payload*: the bytes from the start of
//! > the block through the newline that ends the statement. The statement carries the
//! > digest of every byte of the package before the block ([`digest`]).
//!
//! Because every zip structure begins with `PK` followed by a byte below 0x09, a block of
//! printable ASCII can never be read as a zip record, so no reader can be led by it to an
//! end record or entry the verifier did not check.

pub mod block;
pub mod digest;
pub mod statement;

pub use block::{Block, SIGNER_TRAILER_SUFFIX};
pub use statement::{ContentDigest, Statement};

/// The first line of every block; names the format version.
pub const HEADER: &[u8] = b"signer-signature/v1\n";
/// The statement's `type` value for format version 1.
pub const STATEMENT_TYPE: &str = "signer-package-statement/v1";
/// The prefix of the signature line.
pub const SIGNATURE_PREFIX: &[u8] = b"signature ";
/// How the timestamp line starts (issue 13).
pub const TIMESTAMP_PREFIX: &[u8] = b"timestamp ";
/// The timestamp line's exact length, LF included: the block's length must be known
/// before the signature exists (the zip comment length before it counts the block), so
/// the token is padded with `.` to this length. Holds a token of up to 6,132 bytes.
pub const TIMESTAMP_LINE_LEN: usize = 8192;
/// The largest block accepted: it must fit in a zip comment (65,535 bytes) with room
/// for a short original comment.
pub const MAX_BLOCK_LEN: usize = 60_000;

/// A signature block or statement that does not parse, or parses in more than one way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The block is malformed.
    #[error("malformed signature block: {0}")]
    Malformed(String),
    /// The statement is malformed or not in canonical form.
    #[error("malformed signed statement: {0}")]
    Statement(String),
    /// The block would not fit in the archive comment.
    #[error(
        "the signature block ({block} bytes) and the zip's own comment ({comment} bytes) do not fit in a zip comment (65,535 bytes); remove the archive comment (zip -z) and sign again"
    )]
    TooLarge {
        /// Block length.
        block: usize,
        /// Original comment length.
        comment: usize,
    },
}
