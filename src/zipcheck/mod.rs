//! The strict zip gate (SPEC §6): one pure, streaming, bounded inspection that every
//! entry point (sign, sign-job, layer publish, deploy check) uses.
//!
//! STUB: interface only; the implementation lands with the zip-gate work.

use std::io::{Read, Seek};

/// Bounds on attacker-chosen work.
#[derive(Debug, Clone)]
pub struct ZipLimits {
    /// Total bytes the entries may inflate to.
    pub max_unzipped: u64,
    /// Entries in one archive.
    pub max_entries: u64,
    /// Bytes in one entry name.
    pub max_name_len: usize,
    /// Bytes of central directory read into memory.
    pub max_central_directory: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self { max_unzipped: crate::limits::MAX_UNZIPPED_BYTES, max_entries: 65_535, max_name_len: 1024, max_central_directory: 64 << 20 }
    }
}

/// A refusal: the entry (when one is to blame) and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}")]
pub struct ZipError {
    /// The entry name, when one entry is to blame.
    pub entry: Option<String>,
    /// The rule, in words.
    pub rule: String,
}

/// Inspection failed: either the zip was refused or reading failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The zip was refused.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// Reading (or a tee'd write) failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How many bytes from the end of a file [`parse_end`] needs at most.
pub const TAIL_WINDOW: u64 = 22 + 65_535 + 20 + 56;

/// The end-of-central-directory structures.
#[derive(Debug, Clone)]
pub struct End {
    /// Offset of the central directory (= end of the entries region).
    pub central_offset: u64,
    /// Size of the central directory.
    pub central_size: u64,
    /// Entries the end record declares.
    pub entry_count: u64,
    /// Offset of the (classic) end-of-central-directory record.
    pub eocd_offset: u64,
    /// Offset of the archive comment (= `eocd_offset + 22`).
    pub comment_offset: u64,
    /// The archive comment.
    pub comment: Vec<u8>,
}

/// One central-directory entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The name.
    pub name: String,
    /// Offset of its local header.
    pub local_offset: u64,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size as declared.
    pub uncompressed_size: u64,
}

/// The parsed end structures and central directory.
#[derive(Debug, Clone)]
pub struct Tail {
    /// End records.
    pub end: End,
    /// Entries in central-directory order.
    pub entries: Vec<Entry>,
}

/// What a successful inspection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    /// Number of entries.
    pub entries: u64,
    /// Bytes the entries really inflate to.
    pub unzipped_size: u64,
}

/// Parses the end records from the last bytes of a file.
pub fn parse_end(_tail: &[u8], _file_len: u64) -> Result<End, ZipError> {
    todo!()
}

/// Parses the central directory.
pub fn parse_central(_cd: &[u8], _end: End, _limits: &ZipLimits) -> Result<Tail, ZipError> {
    todo!()
}

/// Checks the entries region `[0, central_offset)`, read once, in order.
pub fn check_body<R: Read>(_tail: &Tail, _body: R, _limits: &ZipLimits) -> Result<Inspected, InspectError> {
    todo!()
}

/// Reads the tail of a seekable archive and parses it.
pub fn read_tail<R: Read + Seek>(_r: &mut R, _limits: &ZipLimits) -> Result<Tail, InspectError> {
    todo!()
}

/// All steps over a seekable archive.
pub fn inspect<R: Read + Seek>(_r: &mut R, _limits: &ZipLimits) -> Result<(Tail, Inspected), InspectError> {
    todo!()
}
