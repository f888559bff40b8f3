//! The entries region `[0, central_offset)`: layout, local headers and data descriptors.
//!
//! The entries must tile the region exactly, in offset order: the first local header at
//! offset 0, each next one right where the previous entry's data (and data descriptor)
//! ends, the last entry ending at the central directory. So no two entries share a byte
//! (the overlapping-entry bombs of Fifield 2019), and no byte is left that no entry
//! accounts for. [`plan`] checks what the central directory alone can show, before any
//! data is read; [`check_body`] walks the region once, in order, and checks the rest.

use std::io::{BufReader, Read};

use super::central::{Entry, Extras, Header, Method, Tail, Zip64Field, declared_total, resolve_zip64};
use super::inflate::{Budget, Scratch, check_entry_data};
use super::{InspectError, Inspected, Rule, ZipError, ZipLimits, names};
use crate::reader::Reader;

/// Local header signature, `PK\x03\x04`.
const LOCAL_SIG: u32 = 0x0403_4b50;
/// Fixed part of a local header.
const LOCAL_FIXED: usize = 30;
/// Data descriptor signature, `PK\x07\x08` (optional in the descriptor).
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
/// Buffer between the body reader and the header parser; large data reads bypass it.
const READ_BUFFER: usize = 64 << 10;

/// Entry indices in offset order, after checking what the central directory alone shows:
/// the first entry at offset 0, no two at the same offset, and room for each entry's
/// header, name, data and smallest descriptor before the next one.
pub(crate) fn plan(entries: &[Entry], central_offset: u64) -> Result<Vec<u32>, ZipError> {
    // u32 indices: at most a million entries, and 4 bytes each.
    let mut order: Vec<u32> = (0..entries.len()).map(|i| u32::try_from(i).unwrap_or(u32::MAX)).collect();
    order.sort_by_key(|&i| (entries.get(i as usize).map_or(u64::MAX, |e| e.local_offset), i));
    let entry = |k: usize| order.get(k).and_then(|&i| entries.get(i as usize));
    if let Some(first) = entry(0).filter(|e| e.local_offset != 0) {
        if first.local_offset >= central_offset {
            return Err(ZipError::at(first.name().to_owned(), Rule::OverlapsCentralDirectory));
        }
        return Err(Rule::BytesBeforeFirstEntry { len: first.local_offset }.into());
    }
    for (i, e) in (0..order.len()).filter_map(|k| entry(k).map(|e| (k, e))) {
        let next = entry(i + 1);
        let blame = |rule: Rule| ZipError::at(e.name().to_owned(), rule);
        if e.local_offset >= central_offset {
            return Err(blame(Rule::OverlapsCentralDirectory));
        }
        let smallest_end = [LOCAL_FIXED as u64, e.raw_name().len() as u64, e.compressed_size, min_descriptor(e)]
            .iter()
            .try_fold(e.local_offset, |sum, &n| sum.checked_add(n));
        let limit = next.map_or(central_offset, |n| n.local_offset);
        if smallest_end.is_none_or(|end| end > limit) {
            return Err(match next {
                Some(n) if n.local_offset < central_offset => {
                    ZipError::at(n.name().to_owned(), Rule::OverlappingEntries { other: e.name().to_owned() })
                }
                _ => blame(Rule::OverlapsCentralDirectory),
            });
        }
    }
    Ok(order)
}

/// The smallest data descriptor an entry may have: 12 bytes (no signature, 32-bit sizes).
fn min_descriptor(e: &Entry) -> u64 {
    if e.has_descriptor() { 12 } else { 0 }
}

/// Checks the entries region `[0, central_offset)`, read once, in order.
///
/// Reads exactly `tail.end.central_offset` bytes from `body` when the zip is accepted
/// (and never more), with buffers of a few MiB whatever the input. Every local header must
/// agree with the central directory, every entry's data must inflate to its declared size
/// and CRC-32, and the entries must tile the region (see the module docs). Errors from
/// `body` are [`InspectError::Io`].
pub fn check_body<R: Read>(tail: &Tail, body: R, limits: &ZipLimits) -> Result<Inspected, InspectError> {
    let entries = &tail.entries;
    let central_offset = tail.end.central_offset;
    let order = plan(entries, central_offset)?;
    declared_total(entries, limits)?;
    let mut body = BufReader::with_capacity(READ_BUFFER, body.take(central_offset));
    let mut budget = Budget::new(limits.max_unzipped);
    let mut scratch = Scratch::new();
    let mut header = Vec::new();
    let mut unzipped = 0u64;
    for (k, e) in order.iter().filter_map(|&i| entries.get(i as usize)).enumerate() {
        let bound = Bound::after(e, order.get(k + 1).and_then(|&i| entries.get(i as usize)), central_offset);
        let local = read_local(&mut body, e, &bound, &mut header)?;
        let descriptor = descriptor_len(e, &local, &bound)?;
        unzipped += check_entry_data(e, (&mut body).take(e.compressed_size), &mut budget, &mut scratch)?;
        if let Some(len) = descriptor {
            read_descriptor(&mut body, e, &local, len)?;
        }
    }
    Ok(Inspected { entries: entries.len() as u64, unzipped_size: unzipped })
}

/// Where an entry must end: at the next entry's local header, or at the central directory.
struct Bound {
    /// That offset.
    at: u64,
    /// The refusal when the entry runs past it.
    overlap: ZipError,
}

impl Bound {
    fn after(e: &Entry, next: Option<&Entry>, central_offset: u64) -> Self {
        match next {
            Some(n) => Self {
                at: n.local_offset,
                overlap: ZipError::at(n.name().to_owned(), Rule::OverlappingEntries { other: e.name().to_owned() }),
            },
            None => {
                Self { at: central_offset, overlap: ZipError::at(e.name().to_owned(), Rule::OverlapsCentralDirectory) }
            }
        }
    }
}

/// What the gate needs from a local header once it agrees with the central directory.
struct Local {
    /// Where the data ends (and the data descriptor, if any, begins).
    data_end: u64,
    /// It has a ZIP64 extra field, so its data descriptor has 64-bit sizes.
    zip64: bool,
}

/// Reads the local header at the current position (= `e.local_offset`) and compares it
/// with the central directory. The header and data must fit before `bound`, which is
/// checked before the name and extra field are read.
fn read_local<R: Read>(body: &mut R, e: &Entry, bound: &Bound, buf: &mut Vec<u8>) -> Result<Local, InspectError> {
    let blame = |rule: Rule| InspectError::Zip(ZipError::at(e.name().to_owned(), rule));
    let malformed = |problem: String| blame(Rule::MalformedLocalHeader { offset: e.local_offset, problem });
    // `plan` made room for the fixed part before the bound.
    let mut fixed = [0u8; LOCAL_FIXED];
    body.read_exact(&mut fixed)?;
    let mut r = Reader::new(&fixed);
    let parsed = (|| {
        let sig = r.u32_le()?;
        let _needed = r.u16_le()?;
        let flags = r.u16_le()?;
        let method = r.u16_le()?;
        let _time_date = r.u32_le()?;
        let crc32 = r.u32_le()?;
        let compressed = r.u32_le()?;
        let uncompressed = r.u32_le()?;
        Some((sig, flags, method, crc32, compressed, uncompressed, r.u16_le()?, r.u16_le()?))
    })();
    let Some((sig, flags, method, crc32, compressed, uncompressed, name_len, extra_len)) = parsed else {
        return Err(malformed("it is cut off".into()));
    };
    if sig != LOCAL_SIG {
        return Err(malformed("there is no local header signature".into()));
    }
    // Fields in the fixed part first: a header overwritten with junk is a mismatch,
    // whatever lengths the junk gives.
    let mismatch =
        |field: &'static str, local: String, central: String| blame(Rule::LocalMismatch { field, local, central });
    if flags != e.flags {
        return Err(mismatch("flags", format!("{flags:#06x}"), format!("{:#06x}", e.flags)));
    }
    let central_method = match e.method {
        Method::Stored => 0,
        Method::Deflate => 8,
    };
    if method != central_method {
        return Err(mismatch("compression method", method.to_string(), central_method.to_string()));
    }
    // With a data descriptor, the local header may leave CRC-32 and sizes zero.
    let streamed = e.has_descriptor();
    let agrees = |local: u64, central: u64| local == central || (streamed && local == 0);
    if !agrees(crc32.into(), e.crc32.into()) {
        return Err(mismatch("CRC-32", format!("{crc32:08x}"), format!("{:08x}", e.crc32)));
    }
    if usize::from(name_len) != e.raw_name().len() {
        return Err(mismatch("name length", name_len.to_string(), e.raw_name().len().to_string()));
    }
    let variable = usize::from(name_len) + usize::from(extra_len);
    let data_end = [LOCAL_FIXED as u64, variable as u64, e.compressed_size]
        .iter()
        .try_fold(e.local_offset, |sum, &n| sum.checked_add(n));
    match data_end {
        Some(end) if end.saturating_add(min_descriptor(e)) <= bound.at => {}
        _ => return Err(bound.overlap.clone().into()),
    }
    let data_end = data_end.unwrap_or(u64::MAX);
    buf.resize(variable, 0);
    body.read_exact(buf)?;
    let (name, extra) = buf.split_at(usize::from(name_len).min(buf.len()));
    if name != e.raw_name() {
        let show = |raw: &[u8]| format!("\"{}\"", names::display(raw, flags).escape_debug());
        return Err(mismatch("name", show(name), show(e.raw_name())));
    }
    let extras = Extras::parse(extra, Header::Local).map_err(|problem| {
        blame(problem.into_rule(|problem| Rule::MalformedLocalHeader {
            offset: e.local_offset,
            problem: format!("its extra field {problem}"),
        }))
    })?;
    extras.check_xl(Header::Local, e.made_by, e.external_attributes).map_err(blame)?;
    if let Some(field) = extras.unicode_path {
        names::check_unicode_path(field, name, e.name()).map_err(blame)?;
    }
    let mut sizes =
        [Zip64Field::u64("uncompressed size", uncompressed), Zip64Field::u64("compressed size", compressed)];
    resolve_zip64(extras.zip64, &mut sizes).map_err(|problem| blame(Rule::Zip64 { problem }))?;
    let [uncompressed, compressed] = sizes.map(|f| f.value);
    if !agrees(compressed, e.compressed_size) {
        return Err(mismatch("compressed size", compressed.to_string(), e.compressed_size.to_string()));
    }
    if !agrees(uncompressed, e.uncompressed_size) {
        return Err(mismatch("uncompressed size", uncompressed.to_string(), e.uncompressed_size.to_string()));
    }
    Ok(Local { data_end, zip64: extras.zip64.is_some() })
}

/// The length of the entry's data descriptor: the entry must end exactly at its bound, so
/// without a descriptor nothing may be left, and with one what is left must be one of its
/// two lengths (with or without the signature). Checked before the data is read, so
/// nothing overlapping is ever inflated.
fn descriptor_len(e: &Entry, local: &Local, bound: &Bound) -> Result<Option<u64>, ZipError> {
    let Some(left) = bound.at.checked_sub(local.data_end) else {
        return Err(bound.overlap.clone());
    };
    if !e.has_descriptor() {
        if left > 0 {
            return Err(Rule::BytesBetweenEntries { offset: local.data_end, len: left }.into());
        }
        return Ok(None);
    }
    let (short, long) = if local.zip64 { (20, 24) } else { (12, 16) };
    if left < short {
        return Err(bound.overlap.clone());
    }
    if !local.zip64 && (left == 20 || left == 24) {
        let problem = format!(
            "takes {left} bytes, the size of a ZIP64 descriptor, after a local header without a ZIP64 extra field \
             (readers disagree on whether its sizes are 32 or 64 bits wide; yazl writes this with forceZip64Format: \
             build the zip without that option)"
        );
        return Err(ZipError::at(e.name().to_owned(), Rule::DataDescriptor { problem }));
    }
    if left > long {
        return Err(Rule::BytesBetweenEntries { offset: local.data_end + long, len: left - long }.into());
    }
    if left != short && left != long {
        let problem = format!("would take {left} bytes; it must take {short} (without signature) or {long} (with)");
        return Err(ZipError::at(e.name().to_owned(), Rule::DataDescriptor { problem }));
    }
    Ok(Some(left))
}

/// Reads a data descriptor of `len` bytes and checks it against the central directory.
fn read_descriptor<R: Read>(body: &mut R, e: &Entry, local: &Local, len: u64) -> Result<(), InspectError> {
    let bad = |problem: String| InspectError::Zip(ZipError::at(e.name().to_owned(), Rule::DataDescriptor { problem }));
    let mut bytes = [0u8; 24];
    let bytes = bytes.get_mut(..usize::try_from(len).unwrap_or(usize::MAX)).unwrap_or_default();
    body.read_exact(bytes)?;
    let mut r = Reader::new(bytes);
    let with_signature = len == 16 || len == 24;
    let read = (|| {
        if with_signature && r.u32_le()? != DESCRIPTOR_SIG {
            return Some(None);
        }
        let crc32 = r.u32_le()?;
        let sizes = if local.zip64 { (r.u64_le()?, r.u64_le()?) } else { (r.u32_le()?.into(), r.u32_le()?.into()) };
        Some(Some((crc32, sizes.0, sizes.1)))
    })();
    let Some(Some((crc32, compressed, uncompressed))) = read else {
        return Err(bad(format!("of {len} bytes has no signature, but only a descriptor with one has {len} bytes")));
    };
    // A streaming reader finds the end of stored data by its descriptor's signature, and
    // takes a descriptor whose CRC-32 reads as the signature for one that has it.
    if !with_signature && e.method == Method::Stored {
        return Err(bad(
            "of a stored entry has no signature, so a streaming reader cannot find where the data ends".to_owned()
        ));
    }
    if !with_signature && crc32 == DESCRIPTOR_SIG {
        return Err(bad(
            "has no signature, and its CRC-32 reads as one, so a streaming reader takes it for a longer descriptor"
                .to_owned(),
        ));
    }
    let fields = [
        ("CRC-32", u64::from(crc32), u64::from(e.crc32)),
        ("compressed size", compressed, e.compressed_size),
        ("uncompressed size", uncompressed, e.uncompressed_size),
    ];
    for (field, descriptor, central) in fields {
        if descriptor != central {
            return Err(bad(format!("says {field} {descriptor}, the central directory {central}")));
        }
    }
    Ok(())
}
