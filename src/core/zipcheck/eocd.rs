//! The end records: end of central directory (EOCD), and the ZIP64 locator and end record.
//!
//! APPNOTE 4.3.14–4.3.16. The gate accepts exactly one reading of the end of a file:
//!
//! * the EOCD is the **last** EOCD signature in the file and its comment reaches
//!   **exactly** the end of the file (no trailing bytes, no cut-off comment), or the end
//!   of the file less at most [`MAX_PADDING`] zero bytes: the padding bsdtar writes to a
//!   pipe, which no reader takes for anything and which signing drops;
//! * no other EOCD candidate in the window has a comment that also reaches the end of the
//!   file (a comment hiding an EOCD), and when the last candidate is broken no earlier one
//!   that a lenient reader could fall back on exists (Go issue 66869);
//! * a ZIP64 locator right before the EOCD makes the archive ZIP64: the locator must point at
//!   a ZIP64 end record just before it, and each classic field must hold either the ZIP64
//!   value or its 0xFFFF/0xFFFFFFFF marker, so readers that use either agree;
//! * the central directory ends exactly where the end records begin.
//!
//! Signature blocks live in the archive comment. They are printable ASCII, so they never
//! contain a zip signature, and [`End::comment`] keeps their bytes.

use super::{Rule, ZipError};
use crate::reader::Reader;

/// EOCD signature, `PK\x05\x06`.
pub(crate) const EOCD_SIG: u32 = 0x0605_4b50;
/// ZIP64 end-of-central-directory locator signature, `PK\x06\x07`.
const LOCATOR_SIG: u32 = 0x0706_4b50;
/// ZIP64 end-of-central-directory record signature, `PK\x06\x06`.
const ZIP64_END_SIG: u32 = 0x0606_4b50;
/// Central-directory header signature, `PK\x01\x02`.
const CENTRAL_SIG: u32 = 0x0201_4b50;

/// Fixed size of the EOCD record.
pub(crate) const EOCD_LEN: u64 = 22;
/// Size of the ZIP64 locator.
const LOCATOR_LEN: u64 = 20;
/// Size of a ZIP64 end record without extensible data (the only kind accepted).
const ZIP64_END_LEN: u64 = 56;
/// The longest archive comment.
const MAX_COMMENT: u64 = 65_535;
/// The most zero bytes accepted after the end record (bsdtar pads what it writes to a pipe
/// to its 10,240-byte blocks; Windows' `tar.exe` is bsdtar).
pub const MAX_PADDING: u64 = 65_536;
/// Fixed part of a central-directory header.
const CENTRAL_FIXED: usize = 46;

/// How many bytes from the end of a file [`parse_end`] needs at most: an EOCD with the
/// longest comment, the ZIP64 locator and the ZIP64 end record, and the padding.
pub const TAIL_WINDOW: u64 = EOCD_LEN + MAX_COMMENT + LOCATOR_LEN + ZIP64_END_LEN + MAX_PADDING;

/// The end-of-central-directory structures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    /// Offset of the central directory (= end of the entries region).
    pub central_offset: u64,
    /// Size of the central directory.
    pub central_size: u64,
    /// Entries the end records declare.
    pub entry_count: u64,
    /// Offset of the (classic) end-of-central-directory record.
    pub eocd_offset: u64,
    /// Offset of the archive comment (= `eocd_offset + 22`).
    pub comment_offset: u64,
    /// The archive comment.
    pub comment: Vec<u8>,
    /// Offset of the ZIP64 end record, when the archive is ZIP64.
    pub zip64_offset: Option<u64>,
    /// The end records as stored, from [`End::records_offset`] to the comment (the ZIP64
    /// end record and locator if any, then the EOCD without its comment): what signing
    /// writes back, so it never reads them a second time.
    pub records: Vec<u8>,
    /// Zero bytes after the comment (at most [`MAX_PADDING`]).
    pub padding: u64,
}

impl End {
    /// Where the end records begin: the ZIP64 end record if any, else the EOCD. The
    /// central directory ends exactly here.
    pub fn records_offset(&self) -> u64 {
        self.zip64_offset.unwrap_or(self.eocd_offset)
    }
}

/// The fields of one classic EOCD record.
struct Eocd {
    disk: u16,
    central_disk: u16,
    entries_on_disk: u16,
    entries: u16,
    central_size: u32,
    central_offset: u32,
    comment_len: u16,
}

impl Eocd {
    fn parse(r: &mut Reader<'_>) -> Option<Self> {
        (r.u32_le()? == EOCD_SIG).then_some(())?;
        Some(Self {
            disk: r.u16_le()?,
            central_disk: r.u16_le()?,
            entries_on_disk: r.u16_le()?,
            entries: r.u16_le()?,
            central_size: r.u32_le()?,
            central_offset: r.u32_le()?,
            comment_len: r.u16_le()?,
        })
    }
}

/// Parses the end records from the last bytes of a file.
///
/// `tail` is the last `min(file_len, TAIL_WINDOW)` bytes of a file of `file_len` bytes.
/// Pure: no I/O, and every offset is checked against `file_len`.
pub fn parse_end(tail: &[u8], file_len: u64) -> Result<End, ZipError> {
    let tail_len = tail.len() as u64;
    // Offset of tail[0] in the file; a tail longer than the file is no tail of it.
    let base = file_len.checked_sub(tail_len).ok_or(Rule::NotZip)?;
    let sig = EOCD_SIG.to_le_bytes();
    let candidates: Vec<u64> =
        tail.windows(sig.len()).enumerate().filter(|(_, w)| *w == sig).map(|(i, _)| base + i as u64).collect();
    let (&last, earlier) = candidates.split_last().ok_or(Rule::NotZip)?;

    // A lenient reader that skips a broken last record falls back on an earlier one whose
    // comment fits in the file; a strict reader that wants the comment to reach the end
    // picks any record for which it does.
    let fallback = |fits: &dyn Fn(u64) -> bool| -> Option<u64> {
        earlier.iter().rev().copied().find(|&at| comment_end(tail, base, at).is_some_and(fits))
    };
    let Some(end_of_comment) = comment_end(tail, base, last) else {
        if let Some(first) = fallback(&|end| end <= file_len) {
            return Err(Rule::AmbiguousEndRecord { first, second: last }.into());
        }
        return Err(malformed_end("the record is cut off by the end of the file"));
    };
    if end_of_comment > file_len {
        if let Some(first) = fallback(&|end| end <= file_len) {
            return Err(Rule::AmbiguousEndRecord { first, second: last }.into());
        }
        return Err(malformed_end(&format!(
            "its comment is declared to run {} bytes past the end of the file",
            end_of_comment - file_len
        )));
    }
    // Readers that want the comment to reach the end of the file, or the end of the
    // padding, may pick another candidate for which it does.
    if let Some(first) = fallback(&|end| end == file_len || end == end_of_comment) {
        return Err(Rule::AmbiguousEndRecord { first, second: last }.into());
    }
    let padding = file_len - end_of_comment;
    if padding > 0 {
        let after = tail.get(local(base, end_of_comment)..).unwrap_or_default();
        if padding > MAX_PADDING || after.iter().any(|&b| b != 0) {
            return Err(Rule::BytesAfterEndRecord { len: padding }.into());
        }
    }

    let at = local(base, last);
    let mut r = Reader::new(tail.get(at..).unwrap_or_default());
    let eocd = Eocd::parse(&mut r).ok_or_else(|| malformed_end("the record is cut off"))?;
    let comment = r.take(usize::from(eocd.comment_len)).ok_or_else(|| malformed_end("the comment is cut off"))?;

    let zip64 = locator_at(tail, base, last);
    let values = match zip64 {
        Some(locator) => zip64_values(tail, base, locator, &eocd)?,
        None => classic_values(&eocd)?,
    };
    let zip64_offset = zip64.map(|locator| locator - ZIP64_END_LEN);
    let records_from = local(base, zip64_offset.unwrap_or(last));
    let records = tail.get(records_from..local(base, last + EOCD_LEN)).unwrap_or_default().to_vec();
    let end = End {
        central_offset: values.central_offset,
        central_size: values.central_size,
        entry_count: values.entries,
        eocd_offset: last,
        comment_offset: last + EOCD_LEN,
        comment: comment.to_vec(),
        zip64_offset,
        records,
        padding,
    };
    check_central_bounds(tail, base, &end)?;
    Ok(end)
}

/// Where the comment of the EOCD candidate at file offset `at` ends, if its fixed part
/// lies in the window.
fn comment_end(tail: &[u8], base: u64, at: u64) -> Option<u64> {
    let mut r = Reader::new(tail.get(local(base, at)..)?);
    let eocd = Eocd::parse(&mut r)?;
    Some(at + EOCD_LEN + u64::from(eocd.comment_len))
}

/// The index in `tail` of file offset `at`; past the end of any tail when `at` is not in it.
fn local(base: u64, at: u64) -> usize {
    at.checked_sub(base).and_then(|i| usize::try_from(i).ok()).unwrap_or(usize::MAX)
}

fn malformed_end(problem: &str) -> ZipError {
    Rule::MalformedEndRecord { problem: problem.to_owned() }.into()
}

fn zip64_problem(problem: String) -> ZipError {
    Rule::Zip64 { problem }.into()
}

/// Entry count, central directory size and offset, as the end records give them.
struct Values {
    entries: u64,
    central_size: u64,
    central_offset: u64,
}

fn classic_values(eocd: &Eocd) -> Result<Values, ZipError> {
    if eocd.disk != 0 || eocd.central_disk != 0 || eocd.entries_on_disk != eocd.entries {
        return Err(Rule::MultiDisk.into());
    }
    Ok(Values {
        entries: eocd.entries.into(),
        central_size: eocd.central_size.into(),
        central_offset: eocd.central_offset.into(),
    })
}

/// File offset of a ZIP64 locator right before the EOCD at `eocd_at`, if there is one.
fn locator_at(tail: &[u8], base: u64, eocd_at: u64) -> Option<u64> {
    let at = eocd_at.checked_sub(LOCATOR_LEN).filter(|&at| at >= base)?;
    let mut r = Reader::new(tail.get(local(base, at)..)?);
    (r.u32_le()? == LOCATOR_SIG).then_some(at)
}

/// Reads the ZIP64 locator at `locator` and the record before it, and checks them against
/// the classic record.
fn zip64_values(tail: &[u8], base: u64, locator: u64, eocd: &Eocd) -> Result<Values, ZipError> {
    let mut r = Reader::new(tail.get(local(base, locator)..).unwrap_or_default());
    let (record_disk, record_offset, disks) = (|| {
        r.u32_le()?;
        Some((r.u32_le()?, r.u64_le()?, r.u32_le()?))
    })()
    .ok_or_else(|| zip64_problem("the ZIP64 locator is cut off".into()))?;
    let expected = locator.checked_sub(ZIP64_END_LEN).filter(|&at| at >= base);
    if Some(record_offset) != expected {
        return Err(zip64_problem(format!(
            "the ZIP64 locator points at offset {record_offset}, not at a ZIP64 end record of {ZIP64_END_LEN} bytes right before it"
        )));
    }
    if record_disk != 0 || disks > 1 {
        return Err(Rule::MultiDisk.into());
    }
    let mut r = Reader::new(tail.get(local(base, record_offset)..).unwrap_or_default());
    let record = (|| {
        let sig = r.u32_le()?;
        let size = r.u64_le()?;
        let _made_by = r.u16_le()?;
        let _needed = r.u16_le()?;
        Some((sig, size, r.u32_le()?, r.u32_le()?, r.u64_le()?, r.u64_le()?, r.u64_le()?, r.u64_le()?))
    })();
    let Some((sig, size, disk, central_disk, on_disk, entries, central_size, central_offset)) = record else {
        return Err(zip64_problem("the ZIP64 end record is cut off".into()));
    };
    if sig != ZIP64_END_SIG {
        return Err(zip64_problem("there is a ZIP64 locator but no ZIP64 end record where it points".into()));
    }
    if size != ZIP64_END_LEN - 12 {
        return Err(zip64_problem(format!(
            "the ZIP64 end record declares {size} bytes, not {} (extensible data is not supported)",
            ZIP64_END_LEN - 12
        )));
    }
    if disk != 0 || central_disk != 0 || on_disk != entries {
        return Err(Rule::MultiDisk.into());
    }
    agree("disk number", eocd.disk.into(), 0, 0xFFFF)?;
    agree("central directory disk number", eocd.central_disk.into(), 0, 0xFFFF)?;
    agree("entries on this disk", eocd.entries_on_disk.into(), on_disk, 0xFFFF)?;
    agree("entry count", eocd.entries.into(), entries, 0xFFFF)?;
    agree("central directory size", eocd.central_size.into(), central_size, 0xFFFF_FFFF)?;
    agree("central directory offset", eocd.central_offset.into(), central_offset, 0xFFFF_FFFF)?;
    Ok(Values { entries, central_size, central_offset })
}

/// A classic field must hold the ZIP64 value or the marker that defers to it.
fn agree(field: &str, classic: u64, zip64: u64, marker: u64) -> Result<(), ZipError> {
    if classic == zip64 || classic == marker {
        return Ok(());
    }
    Err(zip64_problem(format!("the end record's {field} is {classic}, the ZIP64 end record's {zip64}")))
}

/// The central directory must end exactly where the end records begin.
fn check_central_bounds(tail: &[u8], base: u64, end: &End) -> Result<(), ZipError> {
    let records = end.records_offset();
    let bounds = || Rule::CentralDirectoryBounds { offset: end.central_offset, size: end.central_size, end: records };
    let central_end = end.central_offset.checked_add(end.central_size).ok_or_else(bounds)?;
    if central_end == records {
        return Ok(());
    }
    if central_end < records {
        // A prefix (a launcher script, a self-extractor) shifts every offset by its length.
        // Say so when the central directory is really there, shifted: it is the common case.
        let shift = records - central_end;
        if shifted_central_directory(tail, base, records - end.central_size, records, end.entry_count) {
            return Err(Rule::BytesBeforeFirstEntry { len: shift }.into());
        }
    }
    Err(bounds().into())
}

/// Whether `[start, stop)` holds exactly `count` central-directory headers back to back.
fn shifted_central_directory(tail: &[u8], base: u64, start: u64, stop: u64, count: u64) -> bool {
    let (Some(from), Some(to)) = (start.checked_sub(base), stop.checked_sub(base)) else {
        return false;
    };
    let (Ok(from), Ok(to)) = (usize::try_from(from), usize::try_from(to)) else {
        return false;
    };
    let Some(bytes) = tail.get(from..to) else {
        return false;
    };
    let mut r = Reader::new(bytes);
    let mut found = 0u64;
    while r.left() > 0 {
        let header = (|| {
            let fixed = r.take(CENTRAL_FIXED)?;
            let mut h = Reader::new(fixed);
            (h.u32_le()? == CENTRAL_SIG).then_some(())?;
            h.take(24)?;
            let lens = [h.u16_le()?, h.u16_le()?, h.u16_le()?];
            r.take(lens.iter().map(|&n| usize::from(n)).sum())
        })();
        if header.is_none() {
            return false;
        }
        found += 1;
    }
    found == count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EOCD record with `comment`.
    fn eocd(entries: u16, size: u32, offset: u32, comment: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&EOCD_SIG.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        v.extend_from_slice(&entries.to_le_bytes());
        v.extend_from_slice(&entries.to_le_bytes());
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(&offset.to_le_bytes());
        v.extend_from_slice(&(comment.len() as u16).to_le_bytes());
        v.extend_from_slice(comment);
        v
    }

    fn rule(tail: &[u8]) -> Rule {
        parse_end(tail, tail.len() as u64).unwrap_err().rule
    }

    #[test]
    fn an_empty_archive_has_one_end_record() {
        let bytes = eocd(0, 0, 0, b"signature block");
        let end = parse_end(&bytes, bytes.len() as u64).unwrap();
        assert_eq!(end.comment, b"signature block");
        assert_eq!((end.eocd_offset, end.comment_offset, end.zip64_offset), (0, 22, None));
    }

    #[test]
    fn the_tail_window_is_offset_into_the_file() {
        let mut file = vec![0u8; 100];
        file.extend(eocd(0, 0, 100, b""));
        // Entries region [0,100) is not part of the tail here: only the last 30 bytes are.
        let tail = &file[file.len() - 30..];
        let end = parse_end(tail, file.len() as u64).unwrap();
        assert_eq!(end.eocd_offset, 100);
    }

    #[test]
    fn no_signature_is_not_a_zip() {
        assert_eq!(rule(b"very not a zip file\n"), Rule::NotZip);
        assert_eq!(rule(b""), Rule::NotZip);
        assert_eq!(parse_end(&[0; 30], 10).unwrap_err().rule, Rule::NotZip);
    }

    #[test]
    fn the_comment_must_reach_exactly_the_end() {
        let mut bytes = eocd(0, 0, 0, b"abc");
        bytes.push(b'!');
        assert_eq!(rule(&bytes), Rule::BytesAfterEndRecord { len: 1 });
        let bytes = eocd(0, 0, 0, b"abc");
        let cut = &bytes[..bytes.len() - 1];
        assert!(matches!(rule(cut), Rule::MalformedEndRecord { .. }));
        assert!(matches!(rule(&bytes[..10]), Rule::MalformedEndRecord { .. }));
    }

    #[test]
    fn a_comment_hiding_an_end_record_is_ambiguous() {
        let inner = eocd(0, 0, 0, b"");
        let outer = eocd(0, 0, 0, &inner);
        assert_eq!(rule(&outer), Rule::AmbiguousEndRecord { first: 0, second: 22 });
    }

    #[test]
    fn a_broken_last_record_with_a_fallback_is_ambiguous() {
        // Go issue 66869: the last record's comment is cut off, an earlier one fits.
        let mut bytes = eocd(0, 0, 0, b"");
        bytes.extend(eocd(0, 0, 0, b"x"));
        bytes.pop();
        assert_eq!(rule(&bytes), Rule::AmbiguousEndRecord { first: 0, second: 22 });
    }

    #[test]
    fn zero_padding_after_the_end_record_is_measured_not_refused() {
        let mut bytes = eocd(0, 0, 0, b"c");
        bytes.extend([0; 10_240 - 23]);
        let end = parse_end(&bytes, bytes.len() as u64).unwrap();
        assert_eq!((end.padding, end.comment.as_slice()), (10_240 - 23, &b"c"[..]));
        assert_eq!(end.records.len() as u64, EOCD_LEN);
        let mut over = eocd(0, 0, 0, b"");
        over.extend(vec![0; MAX_PADDING as usize + 1]);
        assert_eq!(rule(&over), Rule::BytesAfterEndRecord { len: MAX_PADDING + 1 });
        let mut junk = eocd(0, 0, 0, b"");
        junk.extend([0, 0, 7, 0]);
        assert_eq!(rule(&junk), Rule::BytesAfterEndRecord { len: 4 });
        // An earlier record whose comment ends where the last one's does is a second reading.
        let mut inner = eocd(0, 0, 0, b"");
        let mut outer = eocd(0, 0, 0, &[]);
        inner.extend(&outer);
        inner[20] = outer.len() as u8;
        inner.extend([0; 16]);
        outer.clear();
        assert_eq!(rule(&inner), Rule::AmbiguousEndRecord { first: 0, second: 22 });
    }

    #[test]
    fn disks_must_be_zero() {
        let mut bytes = eocd(1, 0, 0, b"");
        bytes[4] = 1;
        assert_eq!(rule(&bytes), Rule::MultiDisk);
        let mut bytes = eocd(1, 0, 0, b"");
        bytes[8] = 2;
        assert_eq!(rule(&bytes), Rule::MultiDisk);
    }

    #[test]
    fn the_central_directory_must_end_at_the_end_record() {
        let mut file = vec![0u8; 10];
        file.extend(eocd(1, 4, 4, b""));
        assert_eq!(rule(&file), Rule::CentralDirectoryBounds { offset: 4, size: 4, end: 10 });
        let bytes = eocd(1, u32::MAX, u32::MAX, b"");
        assert!(matches!(rule(&bytes), Rule::CentralDirectoryBounds { .. }));
    }
}
