//! Entry points for the fuzz targets (`fuzz/fuzz_targets/*.rs`) and for the regression
//! test that replays their seeds (`tests/it/fuzz_seeds.rs`). Each function must never
//! panic, whatever the bytes; properties that must hold are checked with `assert!`, so a
//! violation is a fuzzer finding.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use crate::format::block;
use crate::zipcheck::{self, EntryKind, Method, Tail, ZipLimits};

/// The strict zip gate over arbitrary bytes, with small limits so inflation stays cheap.
/// A zip the gate accepts must also be accepted by a second run (determinism).
pub fn zip_inspect(data: &[u8]) {
    let limits = ZipLimits { max_unzipped: 1 << 20, ..ZipLimits::default() };
    let first = zipcheck::inspect(&mut Cursor::new(data), &limits).map(|(_, i)| i).ok();
    let second = zipcheck::inspect(&mut Cursor::new(data), &limits).map(|(_, i)| i).ok();
    assert_eq!(first, second, "the gate must be deterministic");
}

/// What [`zip_differential`] hands back for a zip the gate accepted, so that a caller can
/// compare further readers with the gate (the fuzz target compares the `zip` crate, which
/// this crate does not depend on: `fuzz/src/lib.rs`).
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The gate's end records and entries (central-directory order).
    pub tail: Tail,
    /// Where each entry's data begins (after its local header, name and extra field), in
    /// the same order as `tail.entries`, as the streaming view found it.
    pub data_offsets: Vec<u64>,
}

/// Differential testing of the gate: when it accepts `data` (with the same small limits as
/// [`zip_inspect`]), a streaming reader written from APPNOTE alone — one that walks the
/// local headers from offset 0 and never reads the central directory, as libarchive's
/// streaming mode or Java's `ZipInputStream` do — must see exactly the gate's entries:
/// the same names, methods, flags, sizes, CRC-32s and offsets, in offset order, and end
/// exactly where the central directory begins. A local extra field that declares a file
/// type must declare the gate's. Any disagreement panics (a finding).
///
/// Returns what the gate accepted, or `None` when it refused.
pub fn zip_differential(data: &[u8]) -> Option<Accepted> {
    let limits = ZipLimits { max_unzipped: 1 << 20, ..ZipLimits::default() };
    let (tail, inspected) = zipcheck::inspect(&mut Cursor::new(data), &limits).ok()?;
    let entries = &tail.entries;
    assert_eq!(inspected.entries, entries.len() as u64, "the gate counts the entries it returns");
    let declared: u64 = entries.iter().map(|e| e.uncompressed_size).sum();
    assert_eq!(inspected.unzipped_size, declared, "the gate inflated exactly the declared sizes");

    let (streamed, stop) = stream::entries(data)
        .unwrap_or_else(|why| panic!("the gate accepted a zip that a streaming reader cannot read: {why}"));
    let mut by_offset: Vec<usize> = (0..entries.len()).collect();
    by_offset.sort_by_key(|&i| entries.get(i).map(|e| e.local_offset));
    let names = |list: &mut dyn Iterator<Item = &[u8]>| {
        list.map(|n| String::from_utf8_lossy(n).into_owned()).collect::<Vec<_>>()
    };
    assert_eq!(
        streamed.len(),
        entries.len(),
        "a streaming reader sees other entries than the gate: {:?} against {:?}",
        names(&mut streamed.iter().map(|s| s.name.as_slice())),
        names(&mut by_offset.iter().filter_map(|&i| entries.get(i)).map(|e| e.raw_name())),
    );
    let mut data_offsets = vec![0; entries.len()];
    for (s, &i) in streamed.iter().zip(&by_offset) {
        let e = entries.get(i).expect("an index into the entries");
        let name = String::from_utf8_lossy(e.raw_name());
        let method = match e.method {
            Method::Stored => 0,
            Method::Deflate => 8,
        };
        let gate = (e.local_offset, e.raw_name(), method, e.flags, e.crc32, e.compressed_size, e.uncompressed_size);
        let seen =
            (s.local_offset, s.name.as_slice(), s.method, s.flags, s.crc32, s.compressed_size, s.uncompressed_size);
        assert_eq!(
            seen, gate,
            "{name:?}: a streaming reader (offset, name, method, flags, CRC-32, compressed, uncompressed) \
             against the gate's"
        );
        for (field, kind) in &s.declared_kinds {
            assert_eq!(*kind, Some(e.kind), "{name:?}: its local extra field {field:#06x} declares another file type");
        }
        *data_offsets.get_mut(i).expect("an index into the entries") = s.data_offset;
    }
    assert_eq!(
        stop, tail.end.central_offset,
        "a streaming reader stops at another offset than the central directory's"
    );
    Some(Accepted { tail, data_offsets })
}

/// A streaming zip reader, written from APPNOTE 6.3.10 (4.3.7 local header, 4.3.9 data
/// descriptor, 4.5.3 ZIP64 extra field) for [`zip_differential`]; it shares no code with
/// the gate. It reads the entries region front to back and never looks at the central
/// directory, so it finds where an entry's data ends the way a streaming reader must:
/// from the local sizes, or, with flag bit 3, by inflating to the end of the deflate
/// stream, or, for a stored entry, by scanning for the first descriptor signature whose
/// CRC-32 and size fit the bytes before it (libarchive's way).
mod stream {
    use flate2::{Decompress, FlushDecompress, Status};

    const LOCAL_SIG: u32 = 0x0403_4b50;
    const DESCRIPTOR_SIG: [u8; 4] = *b"PK\x07\x08";
    const FLAG_ENCRYPTED: u16 = 1;
    const FLAG_STREAMED: u16 = 1 << 3;
    const MARKER: u32 = u32::MAX;
    /// More output than this is not worth inflating: the gate's limit is 1 MiB.
    const MAX_INFLATE: u64 = 2 << 20;

    /// One entry as the streaming reader saw it.
    #[derive(Debug)]
    pub(super) struct Streamed {
        pub(super) local_offset: u64,
        pub(super) name: Vec<u8>,
        pub(super) method: u16,
        pub(super) flags: u16,
        pub(super) crc32: u32,
        pub(super) compressed_size: u64,
        pub(super) uncompressed_size: u64,
        pub(super) data_offset: u64,
        /// File types that local extra fields declare: (field tag, the gate's kind it
        /// means, or `None` for one the gate has no kind for).
        pub(super) declared_kinds: Vec<(u16, Option<super::EntryKind>)>,
    }

    /// Reads the entries from offset 0 up to the first signature that is not a local
    /// header; returns them and that offset. An error is an entry the reader cannot read.
    pub(super) fn entries(data: &[u8]) -> Result<(Vec<Streamed>, u64), String> {
        let mut out = Vec::new();
        let mut at = 0u64;
        loop {
            if u32::from_le_bytes(le(data, at)?) != LOCAL_SIG {
                return Ok((out, at));
            }
            let (entry, next) = entry(data, at)?;
            out.push(entry);
            at = next;
        }
    }

    fn slice(data: &[u8], at: u64, len: u64) -> Result<&[u8], String> {
        let range = (|| {
            let start = usize::try_from(at).ok()?;
            Some(start..start.checked_add(usize::try_from(len).ok()?)?)
        })();
        range
            .and_then(|r| data.get(r))
            .ok_or_else(|| format!("{len} bytes at offset {at} run past the end of the file"))
    }

    fn le<const N: usize>(data: &[u8], at: u64) -> Result<[u8; N], String> {
        Ok(slice(data, at, N as u64)?.try_into().expect("N bytes"))
    }

    fn u16_at(data: &[u8], at: u64) -> Result<u16, String> {
        le(data, at).map(u16::from_le_bytes)
    }

    fn u32_at(data: &[u8], at: u64) -> Result<u32, String> {
        le(data, at).map(u32::from_le_bytes)
    }

    fn u64_at(data: &[u8], at: u64) -> Result<u64, String> {
        le(data, at).map(u64::from_le_bytes)
    }

    /// One entry from its local header at `at`; returns it and where the next one begins.
    fn entry(data: &[u8], at: u64) -> Result<(Streamed, u64), String> {
        let header = |off: u64| at + off;
        let needed_by = u16_at(data, header(4))?;
        let flags = u16_at(data, header(6))?;
        let method = u16_at(data, header(8))?;
        let local_crc = u32_at(data, header(14))?;
        let local_compressed = u32_at(data, header(18))?;
        let local_uncompressed = u32_at(data, header(22))?;
        let name_len = u64::from(u16_at(data, header(26))?);
        let extra_len = u64::from(u16_at(data, header(28))?);
        let name = slice(data, header(30), name_len)?.to_vec();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let extra = slice(data, header(30) + name_len, extra_len)?;
        let data_offset = header(30) + name_len + extra_len;
        if flags & FLAG_ENCRYPTED != 0 {
            return Err(format!("{shown:?} is encrypted"));
        }
        let fields = extra_fields(extra).map_err(|why| format!("{shown:?}: {why}"))?;

        // ZIP64: the field holds the uncompressed, then the compressed size, each only
        // when the header's is the 0xFFFFFFFF marker.
        let zip64 = fields.iter().find(|(tag, _)| *tag == 0x0001).map(|(_, d)| *d);
        let mut compressed = u64::from(local_compressed);
        let mut uncompressed = u64::from(local_uncompressed);
        if let Some(z) = zip64 {
            let mut off = 0;
            for (value, classic) in [(&mut uncompressed, local_uncompressed), (&mut compressed, local_compressed)] {
                if classic == MARKER {
                    *value = u64_at(z, off).map_err(|why| format!("{shown:?}: its ZIP64 field: {why}"))?;
                    off += 8;
                }
            }
        }
        let declared_kinds = declared_kinds(&fields, (needed_by >> 8) as u8);

        let (crc32, compressed_size, uncompressed_size, next) = match (method, flags & FLAG_STREAMED != 0) {
            (0 | 8, false) => {
                let bytes = slice(data, data_offset, compressed)?;
                let (crc, len) = if method == 8 {
                    let (consumed, crc, len) = inflate(bytes)?;
                    if consumed != compressed {
                        return Err(format!("{shown:?}: its deflate stream takes {consumed} bytes, not {compressed}"));
                    }
                    (crc, len)
                } else {
                    (crc32fast::hash(bytes), compressed)
                };
                if (crc, len) != (local_crc, uncompressed) {
                    return Err(format!(
                        "{shown:?}: its data has CRC-32 {crc:08x} and {len} bytes, its header says \
                         {local_crc:08x} and {uncompressed}"
                    ));
                }
                (crc, compressed, len, data_offset + compressed)
            }
            (8, true) => {
                let (consumed, crc, len) =
                    inflate(data.get(usize::try_from(data_offset).unwrap_or(usize::MAX)..).unwrap_or_default())?;
                let mut d = data_offset + consumed;
                if le::<4>(data, d).ok() == Some(DESCRIPTOR_SIG) {
                    d += 4;
                }
                let (got_crc, got_compressed, got_uncompressed, next) = descriptor(data, d, zip64.is_some())?;
                if (got_crc, got_compressed, got_uncompressed) != (crc, consumed, len) {
                    return Err(format!(
                        "{shown:?}: its data descriptor says CRC-32 {got_crc:08x}, {got_compressed} and \
                         {got_uncompressed} bytes; the data has {crc:08x}, {consumed} and {len}"
                    ));
                }
                (crc, consumed, len, next)
            }
            (0, true) => {
                let (crc, len, next) = scan_stored(data, data_offset, zip64.is_some())
                    .ok_or_else(|| format!("{shown:?}: no data descriptor fits its stored data"))?;
                (crc, len, len, next)
            }
            (method, _) => return Err(format!("{shown:?}: method {method}")),
        };
        let entry = Streamed {
            local_offset: at,
            name,
            method,
            flags,
            crc32,
            compressed_size,
            uncompressed_size,
            data_offset,
            declared_kinds,
        };
        Ok((entry, next))
    }

    /// The (tag, data) list of an extra field, which must fill it exactly.
    fn extra_fields(extra: &[u8]) -> Result<Vec<(u16, &[u8])>, String> {
        let mut out = Vec::new();
        let mut at = 0u64;
        while at < extra.len() as u64 {
            let tag = u16_at(extra, at).map_err(|why| format!("its extra field: {why}"))?;
            let len = u16_at(extra, at + 2).map_err(|why| format!("its extra field: {why}"))?;
            out.push((
                tag,
                slice(extra, at + 4, len.into()).map_err(|why| format!("its extra field {tag:#06x}: {why}"))?,
            ));
            at += 4 + u64::from(len);
        }
        Ok(out)
    }

    /// Maps the type bits of a Unix mode to the gate's kinds (`Some(None)`: a type the
    /// gate has no kind for; `None`: no type given).
    fn kind_of_mode(mode: u32) -> Option<Option<super::EntryKind>> {
        use super::EntryKind::{Directory, File, Symlink};
        match mode & 0o170_000 {
            0 => None,
            0o100_000 => Some(Some(File)),
            0o040_000 => Some(Some(Directory)),
            0o120_000 => Some(Some(Symlink)),
            _ => Some(None),
        }
    }

    /// The file types that local extra fields declare: Info-ZIP's experimental "xl"
    /// field 0x6c78 (external attributes in the local header, which libarchive reads when
    /// streaming), ASi Unix 0x756e (a Unix mode) and PKWARE Unix 0x000d (whose variable
    /// part is a link target or a device, APPNOTE 4.5.7).
    fn declared_kinds(fields: &[(u16, &[u8])], mut system: u8) -> Vec<(u16, Option<super::EntryKind>)> {
        let mut out = Vec::new();
        for &(tag, d) in fields {
            match tag {
                0x6c78 => {
                    // A bitmap of 7 bits a byte, the high bit saying another byte follows;
                    // then bit 0: version made by, bit 1: internal, bit 2: external
                    // attributes.
                    let Some(&bitmap) = d.first() else { continue };
                    let mut at = 1u64;
                    let mut last = bitmap;
                    while last & 0x80 != 0 {
                        let Some(&b) = d.get(usize::try_from(at).unwrap_or(usize::MAX)) else { break };
                        last = b;
                        at += 1;
                    }
                    if bitmap & 1 != 0 {
                        let Ok(made_by) = u16_at(d, at) else { continue };
                        system = (made_by >> 8) as u8;
                        at += 2;
                    }
                    if bitmap & 2 != 0 {
                        at += 2;
                    }
                    if bitmap & 4 != 0 {
                        let Ok(external) = u32_at(d, at) else { continue };
                        let kind = match system {
                            3 => kind_of_mode(external >> 16),
                            0 if external & 0x10 != 0 => Some(Some(super::EntryKind::Directory)),
                            0 => Some(Some(super::EntryKind::File)),
                            _ => None,
                        };
                        out.extend(kind.map(|k| (tag, k)));
                    }
                }
                0x756e => {
                    // CRC-32 (4), mode (2), size or device (4), uid (2), gid (2), link.
                    if let Ok(mode) = u16_at(d, 4) {
                        out.extend(kind_of_mode(mode.into()).map(|k| (tag, k)));
                    }
                }
                0x000d if d.len() > 12 => out.push((tag, Some(super::EntryKind::Symlink))),
                _ => {}
            }
        }
        out
    }

    /// Inflates a raw deflate stream from the start of `input` to its end; returns the
    /// bytes it took, and the CRC-32 and length of what it gave.
    fn inflate(input: &[u8]) -> Result<(u64, u32, u64), String> {
        let mut d = Decompress::new(false);
        let mut out = vec![0u8; 32 << 10];
        let mut crc = crc32fast::Hasher::new();
        loop {
            let (was_in, was_out) = (d.total_in(), d.total_out());
            let rest = input.get(usize::try_from(was_in).unwrap_or(usize::MAX)..).unwrap_or_default();
            let status =
                d.decompress(rest, &mut out, FlushDecompress::None).map_err(|e| format!("bad deflate data: {e}"))?;
            let produced = usize::try_from(d.total_out() - was_out).unwrap_or(usize::MAX);
            crc.update(out.get(..produced).unwrap_or_default());
            if d.total_out() > MAX_INFLATE {
                return Err("inflates to more than 2 MiB".into());
            }
            match status {
                Status::StreamEnd => return Ok((d.total_in(), crc.finalize(), d.total_out())),
                _ if (d.total_in(), d.total_out()) == (was_in, was_out) => {
                    return Err("the deflate stream is cut off".into());
                }
                _ => {}
            }
        }
    }

    /// A data descriptor's CRC-32 and sizes at `at` (past its signature, if any), and
    /// where it ends.
    fn descriptor(data: &[u8], at: u64, zip64: bool) -> Result<(u32, u64, u64, u64), String> {
        let crc = u32_at(data, at)?;
        if zip64 {
            Ok((crc, u64_at(data, at + 4)?, u64_at(data, at + 12)?, at + 20))
        } else {
            Ok((crc, u32_at(data, at + 4)?.into(), u32_at(data, at + 8)?.into(), at + 12))
        }
    }

    /// Stored data of unknown length: the first descriptor signature after `from` whose
    /// CRC-32 and compressed size are those of the bytes before it (and whose uncompressed
    /// size is the same) ends it. Returns the CRC-32, the length and where the descriptor
    /// ends.
    fn scan_stored(data: &[u8], from: u64, zip64: bool) -> Option<(u32, u64, u64)> {
        let start = usize::try_from(from).ok()?;
        let body = data.get(start..)?;
        let mut crc = crc32fast::Hasher::new();
        let mut hashed = 0;
        for p in 0..body.len() {
            if body.get(p..p + 4) != Some(&DESCRIPTOR_SIG[..]) {
                continue;
            }
            crc.update(body.get(hashed..p)?);
            hashed = p;
            let len = p as u64;
            let Ok((got_crc, compressed, uncompressed, end)) = descriptor(data, from + len + 4, zip64) else {
                continue;
            };
            if got_crc == crc.clone().finalize() && compressed == len && uncompressed == len {
                return Some((got_crc, len, end));
            }
        }
        None
    }
}

/// The signature-block parser: whatever parses re-encodes to the same bytes (one
/// encoding per block).
pub fn signature_block(data: &[u8]) {
    if let Ok(b) = block::parse(data) {
        let again = block::encode(&b.payload, &b.signature, b.timestamp.as_deref()).expect("a parsed block re-encodes");
        assert!(data.ends_with(&again), "parse → encode must give the same bytes");
        assert_eq!(again.len(), b.len);
        assert_eq!(block::payload(&b.statement).expect("statement encodes"), b.payload);
    }
}

/// Certificate parsing and chain validation over arbitrary PEM or DER: never panics.
pub fn cert_chain(data: &[u8]) {
    let certs = match std::str::from_utf8(data) {
        Ok(text) => crate::crypto::parse_pem_certs(text).unwrap_or_default(),
        Err(_) => vec![data.to_vec()],
    };
    for c in &certs {
        let _ = crate::crypto::cert_info(c);
    }
    if let (Some(leaf), Some(anchor)) = (certs.first(), certs.last()) {
        let mid = certs.get(1..certs.len().saturating_sub(1)).unwrap_or_default();
        let _ = crate::crypto::validate_chain(leaf, mid, anchor, crate::model::Timestamp::from_unix(1_800_000_000));
    }
}

/// The root certificate of a test TSA (`fixtures/tsa/`), which issued the seed token.
const FUZZ_TSA_ROOT: &[u8] = include_bytes!("../../fixtures/tsa/root.der");

/// RFC 3161 token checks over arbitrary bytes: never panic; a token that verifies for the
/// seed's signature bytes describes the same stamp.
pub fn timestamp_token(data: &[u8]) {
    let described = crate::timestamp::describe(data);
    if let Ok(stamp) = crate::timestamp::verify(data, b"sig", FUZZ_TSA_ROOT) {
        assert_eq!(described.ok(), Some(stamp), "a verified token describes its own stamp");
    }
}

/// Sealed trust records over arbitrary bytes: never panic, and nothing opens under a key
/// that never sealed anything.
pub fn trust_record(data: &[u8]) {
    let _ = crate::trust::signed_by("profiles/App/profile.json", data);
    let _ = crate::trust::is_plain_record(data);
    let root = crate::trust::Root::resolve(&crate::trust::Pin::Certificate(FUZZ_TSA_ROOT.to_vec()), FUZZ_TSA_ROOT);
    if let Ok(root) = root {
        let opened = crate::trust::open::<serde_json::Value>(
            "profiles/App/profile.json",
            data,
            &crate::trust::Opener::root(&root),
        );
        assert!(opened.is_err(), "a record opened under a root whose key seals nothing");
    }
}

/// The deploy-check input parser: never panics; what parses has every bound in range.
pub fn deploy_json(data: &[u8]) {
    if let Ok(d) = crate::deploy::parse(data) {
        assert!(data.len() <= crate::deploy::MAX_INPUT_BYTES);
        assert!(d.layers.len() <= crate::deploy::MAX_LAYER_ENTRIES);
        assert!(d.code.len() <= crate::deploy::MAX_CODE_LEN && !d.code.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::stream;
    use crate::zipcheck::EntryKind;

    /// A local header (APPNOTE 4.3.7) with its name and extra field.
    fn local(name: &[u8], flags: u16, crc: u32, size: u32, extra: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend(0x0403_4b50u32.to_le_bytes());
        for v in [20u16, flags, 0, 0, 0] {
            h.extend(v.to_le_bytes());
        }
        for v in [crc, size, size] {
            h.extend(v.to_le_bytes());
        }
        h.extend((name.len() as u16).to_le_bytes());
        h.extend((extra.len() as u16).to_le_bytes());
        h.extend(name);
        h.extend(extra);
        h
    }

    fn descriptor(data: &[u8]) -> Vec<u8> {
        let mut d = b"PK\x07\x08".to_vec();
        d.extend(crc32fast::hash(data).to_le_bytes());
        d.extend((data.len() as u32).to_le_bytes());
        d.extend((data.len() as u32).to_le_bytes());
        d
    }

    #[test]
    fn a_stored_entry_with_a_descriptor_ends_at_the_first_descriptor_that_fits() {
        // The data of "a" holds a descriptor that fits its first 9 bytes, then the local
        // header of "evil": a streaming reader sees two entries where the central
        // directory may list one.
        let inner = [local(b"evil", 0, crc32fast::hash(b"pwned"), 5, b""), b"pwned".to_vec()].concat();
        let data = [b"harmless\n".to_vec(), descriptor(b"harmless\n"), inner].concat();
        let zip = [local(b"a", 8, 0, 0, b""), data.clone(), descriptor(&data), b"PK\x01\x02".to_vec()].concat();
        let (entries, stop) = stream::entries(&zip).unwrap();
        let names: Vec<&[u8]> = entries.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, [&b"a"[..], b"evil"]);
        assert_eq!(entries.first().map(|e| e.compressed_size), Some(9));
        // It stops at the outer descriptor, which is no local header.
        assert_eq!(stop, (30 + 1 + 9 + 16 + 34 + 5) as u64);
    }

    #[test]
    fn a_stored_entry_whose_descriptor_has_no_signature_cannot_be_streamed() {
        let data = b"no signature".to_vec();
        let unsigned = descriptor(&data).split_off(4);
        let zip = [local(b"b", 8, 0, 0, b""), data, unsigned, b"PK\x01\x02".to_vec()].concat();
        assert!(stream::entries(&zip).is_err());
    }

    #[test]
    fn local_extra_fields_declare_file_types() {
        // "xl" with bit 0 (made by Unix) and bit 2 (external attributes: a symlink); without
        // bit 0 the host would be the local header's (version needed: MS-DOS here).
        let made_by = 3u16 << 8 | 30;
        let xl = [&0x6c78u16.to_le_bytes()[..], &7u16.to_le_bytes(), &[5], &made_by.to_le_bytes()].concat();
        let xl = [xl, (0o120_777u32 << 16).to_le_bytes().to_vec()].concat();
        let mut asi = [&0x756eu16.to_le_bytes()[..], &14u16.to_le_bytes(), &[0; 4]].concat();
        asi.extend(0o040_755u16.to_le_bytes());
        asi.extend([0; 8]);
        let extra = [xl, asi].concat();
        let zip = [local(b"c", 0, crc32fast::hash(b"x"), 1, &extra), b"x".to_vec(), b"PK\x01\x02".to_vec()].concat();
        let (entries, _) = stream::entries(&zip).unwrap();
        let kinds = entries.first().map(|e| e.declared_kinds.clone()).unwrap();
        assert_eq!(kinds, [(0x6c78, Some(EntryKind::Symlink)), (0x756e, Some(EntryKind::Directory))]);
    }
}
