//! The `zip` crate's view for the `zip_differential` fuzz target: a zip the gate accepted
//! must read the same in the `zip` crate (a seeking reader that trusts the central
//! directory). It lives here because the signer crate does not depend on the `zip` crate;
//! `tests/it/fuzz_seeds.rs` includes this file to replay the seeds through it too.

use std::io::{Cursor, Read};

use signer::fuzzing::Accepted;
use signer::zipcheck::{EntryKind, Method};
use zip::{CompressionMethod, System, ZipArchive};

/// Special bits (set-user-ID, set-group-ID, sticky), which the `zip` crate clears.
const SPECIAL_BITS: u32 = 0o7000;

/// Panics unless the `zip` crate reads `data` as the gate did: the same number of entries,
/// each (in central-directory order) with the same name, local header offset (so the same
/// order by offset), data offset (the streaming view's), sizes, CRC-32, method,
/// directory-ness, symlink-ness and Unix mode; no two entries overlapping; and each
/// entry's data reading back to its declared size and CRC-32.
pub fn zip_crate_agrees(data: &[u8], accepted: &Accepted) {
    let entries = &accepted.tail.entries;
    let mut archive = ZipArchive::new(Cursor::new(data))
        .unwrap_or_else(|e| panic!("the gate accepted a zip that the zip crate refuses: {e}"));
    assert_eq!(archive.len(), entries.len(), "the zip crate counts other entries");
    assert_eq!(archive.offset(), 0, "the zip crate sees bytes before the archive");
    assert_eq!(archive.central_directory_start(), accepted.tail.end.central_offset, "central directory offset");
    assert_eq!(archive.comment(), accepted.tail.end.comment.as_slice(), "archive comment");
    let overlapping = archive.has_overlapping_entries().unwrap_or_else(|e| panic!("the zip crate: {e}"));
    assert!(!overlapping, "the zip crate finds overlapping entries");

    for (i, (e, &data_offset)) in entries.iter().zip(&accepted.data_offsets).enumerate() {
        let mut f =
            archive.by_index(i).unwrap_or_else(|err| panic!("{:?}: the zip crate cannot open it: {err}", e.name()));
        let name =
            f.name().map(|n| n.into_owned()).unwrap_or_else(|err| panic!("{:?}: the zip crate: {err}", e.name()));
        // The zip crate takes a name's bytes as UTF-8 when they are, flag or not: the gate
        // checked that reading too (see `Entry::utf8_reading`).
        assert!(
            name == e.name() || name == e.utf8_reading(),
            "the zip crate decodes {name:?} otherwise: {:?}",
            e.name()
        );
        // The zip crate gives the Info-ZIP Unicode Path as the raw name when there is one;
        // the gate checked that it names the same as the stored name.
        if f.name_raw() != e.raw_name() {
            assert_eq!(f.name_raw(), e.name().as_bytes(), "{name:?}: raw name");
        }
        assert_eq!(f.header_start(), e.local_offset, "{name:?}: local header offset");
        assert_eq!(f.compressed_size(), e.compressed_size, "{name:?}: compressed size");
        assert_eq!(f.size(), e.uncompressed_size, "{name:?}: uncompressed size");
        assert_eq!(f.crc32(), e.crc32, "{name:?}: CRC-32");
        let method = match e.method {
            Method::Stored => CompressionMethod::Stored,
            Method::Deflate => CompressionMethod::Deflated,
        };
        assert_eq!(f.compression(), method, "{name:?}: method");
        assert!(!f.encrypted(), "{name:?}: the zip crate sees it encrypted");
        assert_eq!(f.is_dir(), e.kind == EntryKind::Directory, "{name:?}: is it a directory ({:?})", e.kind);
        assert_eq!(f.is_symlink(), e.kind == EntryKind::Symlink, "{name:?}: is it a symlink ({:?})", e.kind);
        // On an MS-DOS host the zip crate makes a mode from the DOS attributes instead of
        // reading the Unix one; the kinds above still have to agree.
        if f.system() != System::Dos {
            let theirs = f.unix_mode().filter(|&m| m != 0);
            let ours = e.unix_mode().map(|m| m & !SPECIAL_BITS).filter(|&m| m != 0);
            assert_eq!(theirs, ours, "{name:?}: Unix mode");
        }
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap_or_else(|err| panic!("{name:?}: the zip crate cannot read its data: {err}"));
        assert_eq!(content.len() as u64, e.uncompressed_size, "{name:?}: the zip crate reads another length");
        assert_eq!(crc32fast::hash(&content), e.crc32, "{name:?}: the zip crate reads other bytes");
        assert_eq!(f.data_start(), Some(data_offset), "{name:?}: the zip crate finds its data elsewhere");
    }
}
