//! The strict zip gate (SPEC §6): one pure, streaming, bounded inspection that every
//! entry point (sign, sign-job, layer publish, deploy check) uses.
//!
//! A zip passes only if every reader must see the same entries in it:
//!
//! 1. [`parse_end`] finds exactly one end record in the last [`TAIL_WINDOW`] bytes
//!    (`eocd.rs`);
//! 2. [`parse_central`] reads the central directory: names, methods, flags, ZIP64 fields,
//!    the entry count, unique names, a layout in which entries cannot overlap, and the
//!    declared total against the limit — all before any data is read (`central.rs`,
//!    `names.rs`);
//! 3. [`check_body`] reads the entries region once, in order, and checks each local
//!    header, data descriptor, CRC-32 and size, inflating with bounded memory and work
//!    (`body.rs`, `inflate.rs`).
//!
//! Each refusal is a [`ZipError`] naming the entry and the [`Rule`].
//!
//! ```
//! use signer::zipcheck::{self, Rule, ZipLimits};
//!
//! let not_a_zip = b"very not a zip file\n";
//! let err = zipcheck::inspect(&mut std::io::Cursor::new(not_a_zip), &ZipLimits::default()).unwrap_err();
//! let zipcheck::InspectError::Zip(err) = err else { panic!("I/O error") };
//! assert_eq!(err.rule(), &Rule::NotZip);
//! ```

mod body;
mod central;
mod eocd;
mod error;
mod inflate;
mod names;
mod parallel;

use std::io::{Read, Seek, SeekFrom};

pub use body::check_body;
pub use central::{Entry, EntryKind, Method, Tail, parse_central};
pub use eocd::{End, TAIL_WINDOW, parse_end};
pub use error::{InspectError, Rule, ZipError, method_name};
pub use inflate::{Budget, Scratch, check_entry_data};
pub use parallel::{MIN_RUN, Parallelism, ReadAt, inspect_parallel};

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
    /// Lambda's 262,144,000 unzipped bytes; 1,000,000 entries (Lambda sets no entry
    /// quota, and a large Node or Python function passes 65,535 files: ZIP64), 1024-byte
    /// names, and a 128 MiB central directory (a million entries with names of 60 bytes
    /// and Info-ZIP's extra fields take about 90 MiB).
    fn default() -> Self {
        Self {
            max_unzipped: crate::limits::MAX_UNZIPPED_BYTES,
            max_entries: 1_000_000,
            max_name_len: 1024,
            max_central_directory: 128 << 20,
        }
    }
}

/// What a successful inspection found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    /// Number of entries.
    pub entries: u64,
    /// Bytes the entries really inflate to.
    pub unzipped_size: u64,
}

/// The last [`TAIL_WINDOW`] bytes of a file (or all of a shorter one), and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndWindow {
    /// The file's length.
    pub file_len: u64,
    /// Its last `min(file_len, TAIL_WINDOW)` bytes.
    pub bytes: Vec<u8>,
}

/// Reads the [`EndWindow`] of a seekable file: where [`parse_end`] looks.
pub fn read_end_window<R: Read + Seek>(r: &mut R) -> std::io::Result<EndWindow> {
    let file_len = r.seek(SeekFrom::End(0))?;
    let window = file_len.min(TAIL_WINDOW);
    r.seek(SeekFrom::Start(file_len - window))?;
    // At most TAIL_WINDOW (128 KiB and a bit).
    let mut bytes = vec![0; usize::try_from(window).unwrap_or(0)];
    r.read_exact(&mut bytes)?;
    Ok(EndWindow { file_len, bytes })
}

/// Reads the tail of a seekable archive (the last [`TAIL_WINDOW`] bytes, then the central
/// directory) and parses it with [`parse_end`] and [`parse_central`].
pub fn read_tail<R: Read + Seek>(r: &mut R, limits: &ZipLimits) -> Result<Tail, InspectError> {
    let window = read_end_window(r)?;
    tail_from_window(r, &window, limits)
}

/// [`read_tail`] from a window already read: parses the end records in it, then reads the
/// central directory (from the window when it lies there) and parses it.
pub fn tail_from_window<R: Read + Seek>(
    r: &mut R,
    window: &EndWindow,
    limits: &ZipLimits,
) -> Result<Tail, InspectError> {
    let tail = &window.bytes;
    let window_start = window.file_len - tail.len() as u64;
    let end = parse_end(tail, window.file_len)?;
    if end.central_size > limits.max_central_directory {
        return Err(Rule::CentralDirectoryTooLarge { size: end.central_size, max: limits.max_central_directory }.into());
    }
    // parse_end checked that the central directory ends before the end records.
    let central = match end.central_offset.checked_sub(window_start) {
        Some(from) => {
            let from = usize::try_from(from).unwrap_or(usize::MAX);
            let to = from.saturating_add(usize::try_from(end.central_size).unwrap_or(usize::MAX));
            tail.get(from..to).map(<[u8]>::to_vec).unwrap_or_default()
        }
        None => {
            r.seek(SeekFrom::Start(end.central_offset))?;
            // At most max_central_directory, checked above.
            let mut central = vec![0; usize::try_from(end.central_size).unwrap_or(0)];
            r.read_exact(&mut central)?;
            central
        }
    };
    Ok(parse_central(central, end, limits)?)
}

/// All steps over a seekable archive: [`read_tail`], then [`check_body`] from offset 0.
pub fn inspect<R: Read + Seek>(r: &mut R, limits: &ZipLimits) -> Result<(Tail, Inspected), InspectError> {
    let tail = read_tail(r, limits)?;
    r.seek(SeekFrom::Start(0))?;
    let inspected = check_body(&tail, &mut *r, limits)?;
    Ok((tail, inspected))
}
