//! One entry's data: inflate (or copy), CRC-32 and size, with bounded work.
//!
//! [`check_entry_data`] reads exactly the entry's compressed bytes from any reader, so the
//! sequential walk in [`super::check_body`] and a later parallel one (entries inflated on
//! several threads from a file opened by range) can share it.

use std::io::{self, Read};

use flate2::{Decompress, FlushDecompress, Status};

use super::central::{Entry, EntryKind, Method};
use super::names::{self, MAX_SYMLINK_TARGET};
use super::{InspectError, Rule, ZipError};

/// Bytes per read of stored data, and bytes of inflated output per step.
const CHUNK: usize = 1 << 20;
/// Bytes per read of compressed input.
const INPUT_CHUNK: usize = 256 << 10;

/// What the entries of one archive may still inflate to.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: u64,
    used: u64,
}

impl Budget {
    /// A budget of `limit` bytes, none used yet.
    pub fn new(limit: u64) -> Self {
        Self { limit, used: 0 }
    }

    /// Bytes reserved so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Reserves an entry's declared size before any of it is inflated.
    fn reserve(&mut self, declared: u64) -> Result<(), Rule> {
        let total = self.used.saturating_add(declared);
        if total > self.limit {
            return Err(Rule::UnzippedTooLarge { actual: total });
        }
        self.used = total;
        Ok(())
    }
}

/// Buffers and inflater reused from entry to entry (about 1.25 MiB in all).
pub struct Scratch {
    output: Vec<u8>,
    input: Vec<u8>,
    inflater: Decompress,
}

impl Scratch {
    /// Fresh buffers.
    pub fn new() -> Self {
        Self { output: vec![0; CHUNK], input: vec![0; INPUT_CHUNK], inflater: Decompress::new(false) }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// Checks one entry's data and returns its uncompressed size.
///
/// `data` must yield the entry's `compressed_size` bytes (a [`Read::take`] of the archive
/// at the data's offset). The entry's declared size is reserved from `budget` first, and
/// inflation stops one byte past it, so the work is bounded by the declared size whatever
/// the data. A deflate stream must end exactly at the last compressed byte. The CRC-32
/// and the size must match the central directory; a symlink's target must stay inside.
pub fn check_entry_data<R: Read>(
    entry: &Entry,
    mut data: R,
    budget: &mut Budget,
    scratch: &mut Scratch,
) -> Result<u64, InspectError> {
    let blame = |rule: Rule| InspectError::Zip(ZipError::at(entry.name().to_owned(), rule));
    budget.reserve(entry.uncompressed_size).map_err(blame)?;
    let mut sink =
        Sink { crc: crc32fast::Hasher::new(), size: 0, target: (entry.kind == EntryKind::Symlink).then(Vec::new) };
    match entry.method {
        Method::Stored => copy(entry, &mut data, &mut sink, scratch)?,
        Method::Deflate => inflate(entry, &mut data, &mut sink, scratch)?,
    }
    if sink.size < entry.uncompressed_size {
        return Err(blame(Rule::SizeShort { declared: entry.uncompressed_size, actual: sink.size }));
    }
    let actual = sink.crc.finalize();
    if actual != entry.crc32 {
        return Err(blame(Rule::CrcMismatch { declared: entry.crc32, actual }));
    }
    if let Some(target) = &sink.target {
        names::check_symlink_target(entry.name(), target).map_err(blame)?;
    }
    Ok(sink.size)
}

/// Where the uncompressed bytes go: the CRC, the count and, for a symlink, its target.
struct Sink {
    crc: crc32fast::Hasher,
    size: u64,
    target: Option<Vec<u8>>,
}

impl Sink {
    fn write(&mut self, bytes: &[u8]) {
        self.crc.update(bytes);
        self.size += bytes.len() as u64;
        if let Some(target) = &mut self.target {
            let room = usize::try_from(MAX_SYMLINK_TARGET).unwrap_or(0).saturating_sub(target.len());
            target.extend(bytes.iter().take(room));
        }
    }
}

/// Stored data: CRC-32 only, in large reads. With a data descriptor, the data must not
/// hold the descriptor's signature: a streaming reader has no size for the entry and
/// ends it at the first signature it finds (libarchive checks only that the CRC-32 after
/// it matches the bytes before it, which a crafted entry can arrange).
fn copy<R: Read>(entry: &Entry, data: &mut R, sink: &mut Sink, scratch: &mut Scratch) -> Result<(), InspectError> {
    if entry.compressed_size != entry.uncompressed_size {
        let rule = Rule::StoredSizes { compressed: entry.compressed_size, uncompressed: entry.uncompressed_size };
        return Err(ZipError::at(entry.name().to_owned(), rule).into());
    }
    let mut scan = entry.has_descriptor().then(SignatureScan::default);
    let mut left = entry.compressed_size;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(scratch.output.len());
        let buf = scratch.output.get_mut(..want).unwrap_or_default();
        let n = read_some(data, buf, entry)?;
        let got = buf.get(..n).unwrap_or_default();
        if let Some(offset) = scan.as_mut().and_then(|s| s.find(got)) {
            return Err(ZipError::at(entry.name().to_owned(), Rule::DescriptorSignatureInData { offset }).into());
        }
        sink.write(got);
        left -= n as u64;
    }
    Ok(())
}

/// The data descriptor signature, `PK\x07\x08`, as it appears in the bytes.
const DESCRIPTOR_SIG: [u8; 4] = *b"PK\x07\x08";

/// Finds [`DESCRIPTOR_SIG`] in data read piece by piece, across the pieces' boundaries.
#[derive(Default)]
struct SignatureScan {
    /// The last bytes scanned (up to 3, the most a signature can have before a boundary).
    carry: [u8; 3],
    /// How many of `carry` are filled.
    carried: usize,
    /// Bytes scanned so far.
    seen: u64,
}

impl SignatureScan {
    /// The offset (from the first byte scanned) of the first signature that `piece`
    /// completes, if any.
    fn find(&mut self, piece: &[u8]) -> Option<u64> {
        // A signature across the boundary: the carried bytes, then up to 3 of the piece.
        let mut joint = [0u8; 6];
        let carried = self.carry.get(..self.carried).unwrap_or_default();
        let head = piece.get(..piece.len().min(3)).unwrap_or_default();
        let joint_len = carried.len() + head.len();
        for (slot, &b) in joint.iter_mut().zip(carried.iter().chain(head)) {
            *slot = b;
        }
        let start = self.seen - carried.len() as u64;
        let found = find_descriptor_sig(joint.get(..joint_len).unwrap_or_default())
            .map(|i| start + i as u64)
            .or_else(|| find_descriptor_sig(piece).map(|i| self.seen + i as u64));
        // Keep the last 3 bytes of everything scanned.
        let tail: &[u8] = if piece.len() >= 3 {
            piece.get(piece.len() - 3..).unwrap_or_default()
        } else {
            joint.get(joint_len.saturating_sub(3)..joint_len).unwrap_or_default()
        };
        self.carried = tail.len();
        for (slot, &b) in self.carry.iter_mut().zip(tail) {
            *slot = b;
        }
        self.seen += piece.len() as u64;
        found
    }
}

/// The index of the first [`DESCRIPTOR_SIG`] in `hay`.
fn find_descriptor_sig(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = hay.get(from..)?.iter().position(|&b| b == b'P') {
        let at = from + i;
        if hay.get(at..at + 4) == Some(&DESCRIPTOR_SIG[..]) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Deflate data: inflate into a bounded buffer, at most one byte past the declared size.
fn inflate<R: Read>(entry: &Entry, data: &mut R, sink: &mut Sink, scratch: &mut Scratch) -> Result<(), InspectError> {
    let blame = |rule: Rule| InspectError::Zip(ZipError::at(entry.name().to_owned(), rule));
    let corrupt = |problem: String| blame(Rule::CorruptData { problem });
    let Scratch { output, input, inflater } = scratch;
    inflater.reset(false);
    let declared = entry.uncompressed_size;
    let mut unread = entry.compressed_size;
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        if start == end && unread > 0 {
            let want = usize::try_from(unread).unwrap_or(usize::MAX).min(input.len());
            end = read_some(data, input.get_mut(..want).unwrap_or_default(), entry)?;
            start = 0;
            unread -= end as u64;
        }
        // Room for one byte past the declared size, to see that the data exceeds it.
        let room = usize::try_from(declared.saturating_add(1).saturating_sub(sink.size))
            .unwrap_or(usize::MAX)
            .min(output.len());
        let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
        let available = input.get(start..end).unwrap_or_default();
        let out = output.get_mut(..room).unwrap_or_default();
        let status = inflater.decompress(available, out, FlushDecompress::None).map_err(|e| corrupt(e.to_string()))?;
        let consumed = usize::try_from(inflater.total_in() - before_in).unwrap_or(usize::MAX);
        let written = usize::try_from(inflater.total_out() - before_out).unwrap_or(usize::MAX);
        start = start.saturating_add(consumed).min(end);
        sink.write(out.get(..written).unwrap_or_default());
        if sink.size > declared {
            return Err(blame(Rule::SizeExceeded { declared }));
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError if consumed == 0 && written == 0 => {
                let problem = if start == end && unread == 0 {
                    "the stream is cut off before its last block"
                } else {
                    "the inflater stopped making progress"
                };
                return Err(corrupt(problem.to_owned()));
            }
            Status::Ok | Status::BufError => {}
        }
    }
    let trailing = (end - start) as u64 + unread;
    if trailing > 0 {
        return Err(blame(Rule::TrailingCompressedData { len: trailing }));
    }
    Ok(())
}

/// Reads at least one byte. The reader ending early is an I/O failure (the archive was
/// cut short underneath us), not a property of the zip: the layout was checked already.
fn read_some<R: Read>(data: &mut R, buf: &mut [u8], entry: &Entry) -> Result<usize, InspectError> {
    loop {
        match data.read(buf) {
            Ok(0) => {
                return Err(InspectError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the zip ended inside the data of entry \"{}\"", entry.name().escape_debug()),
                )));
            }
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(InspectError::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::DeflateEncoder};

    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn entry(method: Method, data: &[u8], compressed: &[u8]) -> Entry {
        Entry {
            central: std::sync::Arc::new(b"f".to_vec()),
            name_at: 0,
            name_len: 1,
            decoded: None,
            kind: EntryKind::File,
            method,
            flags: 0,
            crc32: crc32fast::hash(data),
            local_offset: 0,
            compressed_size: compressed.len() as u64,
            uncompressed_size: data.len() as u64,
            made_by: 0x031e,
            external_attributes: 0o100_644 << 16,
        }
    }

    fn run(e: &Entry, compressed: &[u8]) -> Result<u64, Rule> {
        let mut budget = Budget::new(u64::MAX);
        match check_entry_data(e, compressed, &mut budget, &mut Scratch::new()) {
            Ok(n) => Ok(n),
            Err(InspectError::Zip(z)) => Err(z.rule),
            Err(InspectError::Io(e)) => panic!("io: {e}"),
        }
    }

    #[test]
    fn deflate_and_stored_data_pass() {
        let data = b"hello hello hello hello".repeat(1000);
        let z = deflate(&data);
        assert_eq!(run(&entry(Method::Deflate, &data, &z), &z), Ok(data.len() as u64));
        assert_eq!(run(&entry(Method::Stored, &data, &data), &data), Ok(data.len() as u64));
        let empty = deflate(b"");
        assert_eq!(run(&entry(Method::Deflate, b"", &empty), &empty), Ok(0));
    }

    #[test]
    fn inflation_stops_one_byte_past_the_declared_size() {
        let data = vec![0u8; 10 << 20];
        let z = deflate(&data);
        let mut e = entry(Method::Deflate, &data, &z);
        e.uncompressed_size = 1000;
        assert_eq!(run(&e, &z), Err(Rule::SizeExceeded { declared: 1000 }));
        e.uncompressed_size = 11 << 20;
        assert_eq!(run(&e, &z), Err(Rule::SizeShort { declared: 11 << 20, actual: 10 << 20 }));
    }

    #[test]
    fn the_stream_must_end_at_the_compressed_size() {
        let data = b"some text some text".to_vec();
        let mut z = deflate(&data);
        z.extend_from_slice(b"hidden");
        assert_eq!(run(&entry(Method::Deflate, &data, &z), &z), Err(Rule::TrailingCompressedData { len: 6 }));
        let z = deflate(&data);
        let cut = &z[..z.len() - 2];
        assert!(matches!(run(&entry(Method::Deflate, &data, cut), cut), Err(Rule::CorruptData { .. })));
        let junk = [0xffu8; 8];
        assert!(matches!(run(&entry(Method::Deflate, &data, &junk), &junk), Err(Rule::CorruptData { .. })));
    }

    #[test]
    fn crc_and_budget_are_checked() {
        let data = b"abc".to_vec();
        let mut e = entry(Method::Stored, &data, &data);
        e.crc32 ^= 1;
        assert!(matches!(run(&e, &data), Err(Rule::CrcMismatch { .. })));
        let e = entry(Method::Stored, &data, &data);
        let mut budget = Budget::new(5);
        check_entry_data(&e, &data[..], &mut budget, &mut Scratch::new()).unwrap();
        let err = check_entry_data(&e, &data[..], &mut budget, &mut Scratch::new()).unwrap_err();
        assert!(matches!(err, InspectError::Zip(ZipError { rule: Rule::UnzippedTooLarge { actual: 6 }, .. })));
    }

    #[test]
    fn the_descriptor_signature_is_found_across_every_boundary() {
        let mut data = [b'x'; 20];
        data[9..13].copy_from_slice(b"PK\x07\x08");
        for cut in 0..data.len() {
            for cut2 in cut..data.len() {
                let mut scan = SignatureScan::default();
                let found: Vec<u64> =
                    [&data[..cut], &data[cut..cut2], &data[cut2..]].iter().filter_map(|p| scan.find(p)).collect();
                assert_eq!(found.first(), Some(&9), "pieces cut at {cut} and {cut2}");
            }
        }
        let mut scan = SignatureScan::default();
        assert_eq!(scan.find(b"PK\x07"), None);
        assert_eq!(scan.find(b"\x09PK\x07\x08"), Some(4));
    }

    #[test]
    fn a_short_reader_is_an_io_error() {
        let data = b"abcdef".to_vec();
        let e = entry(Method::Stored, &data, &data);
        let err = check_entry_data(&e, &data[..3], &mut Budget::new(100), &mut Scratch::new()).unwrap_err();
        assert!(matches!(err, InspectError::Io(ref e) if e.kind() == io::ErrorKind::UnexpectedEof));
    }
}
