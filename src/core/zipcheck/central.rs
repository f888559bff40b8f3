//! The central directory: one header per entry (APPNOTE 4.3.12), its extra fields
//! (4.5), ZIP64 sizes and offsets (4.5.3), names, and the checks that need every entry
//! (uniqueness, layout, total size).

use std::sync::Arc;

use super::names::{self, MAX_SYMLINK_TARGET};
use super::{End, Rule, ZipError, ZipLimits, body};
use crate::reader::Reader;

/// Central-directory header signature, `PK\x01\x02`.
const CENTRAL_SIG: u32 = 0x0201_4b50;
/// Fixed part of a central-directory header.
const CENTRAL_FIXED: usize = 46;

/// Flag bit 0: traditional PKWARE encryption.
const FLAG_ENCRYPTED: u16 = 1;
/// Flag bit 3: sizes and CRC-32 follow the data in a data descriptor.
pub(crate) const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// Flag bit 5: compressed patched data.
const FLAG_PATCHED: u16 = 1 << 5;
/// Flag bit 6: strong encryption.
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
/// Flag bit 13: the central directory is encrypted and local header values are masked.
const FLAG_MASKED: u16 = 1 << 13;

/// Extra field: ZIP64 extended information.
const EXTRA_ZIP64: u16 = 0x0001;
/// Extra field: strong encryption header.
const EXTRA_STRONG_ENCRYPTION: u16 = 0x0017;
/// Extra field: WinZip AES encryption.
const EXTRA_AES: u16 = 0x9901;
/// Extra field: Info-ZIP Unicode Path.
const EXTRA_UNICODE_PATH: u16 = 0x7075;
/// Extra field: libarchive's `xl`, which repeats header fields (the external attributes
/// among them) in the local header, where streaming readers look.
const EXTRA_XL: u16 = 0x6c78;
/// Extra fields that change nothing about what an entry is (its name, type, mode or
/// sizes): times, owners, a comment, a jar marker, alignment padding. SECURITY.md, "Extra
/// fields", gives the reasoning per field.
const EXTRA_HARMLESS: [u16; 8] = [
    0x000a, // NTFS: modification, access and creation times
    0x5455, // extended timestamp (UT): times
    0x5855, // Info-ZIP Unix, old (UX): times, owner
    0x7855, // Info-ZIP Unix (Ux): owner
    0x7875, // Info-ZIP Unix, new (ux): owner
    0x6375, // Info-ZIP Unicode Comment: the entry's comment
    0xcafe, // jar marker: empty
    0xd935, // Android zipalign: padding
];
/// Extra fields that can make an entry a symlink, a device or another file for the
/// readers that honour them, and that no mainstream writer emits.
const EXTRA_TYPE_SETTING: [u16; 2] = [
    0x000d, // PKWARE Unix: times, owner, and a link target or device numbers
    0x756e, // ASi Unix: mode, owner and a link target
];

/// Method number of WinZip AES encryption.
const METHOD_AES: u16 = 99;
/// `S_IFMT`, `S_IFLNK`, `S_IFDIR` and `S_IFREG` of a Unix mode.
const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
/// "Version made by" host system 3: Unix, whose readers honour the mode.
const HOST_UNIX: u16 = 3;
/// The MS-DOS directory attribute, in the low byte of the external attributes.
const DOS_DIRECTORY: u32 = 0x10;

/// How an entry's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Method 0: the bytes as they are.
    Stored,
    /// Method 8: raw deflate (RFC 1951).
    Deflate,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory (its name ends with `/`).
    Directory,
    /// A symlink (Unix mode `S_IFLNK` in the external attributes); its data is the target.
    Symlink,
}

/// One central-directory entry, checked.
///
/// Compact, for archives of a million entries: the name is not copied out of the central
/// directory, which the entry shares; only a CP437 name with bytes above 0x7F, whose
/// decoded form differs from the stored bytes, is kept decoded beside it.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The central directory the name lies in (shared by every entry of the archive).
    pub(crate) central: Arc<Vec<u8>>,
    /// Where the stored name lies in it.
    pub(crate) name_at: u32,
    /// Its length in bytes.
    pub(crate) name_len: u16,
    /// The decoded name, when it differs from the stored bytes (CP437 above 0x7F); boxed
    /// twice so that the rest pay one pointer for it.
    pub(crate) decoded: Option<Box<Box<str>>>,
    /// File, directory or symlink.
    pub kind: EntryKind,
    /// Stored or deflate.
    pub method: Method,
    /// General-purpose flags.
    pub flags: u16,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Offset of its local header.
    pub local_offset: u64,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size as declared.
    pub uncompressed_size: u64,
    /// "Version made by": the host system and the writer's APPNOTE version.
    pub made_by: u16,
    /// The external file attributes, as stored.
    pub external_attributes: u32,
}

impl Entry {
    /// The name, decoded (UTF-8 when flagged, else CP437), as the gate checked it.
    pub fn name(&self) -> &str {
        match &self.decoded {
            Some(name) => name,
            // Checked as UTF-8 (or ASCII) when the entry was parsed.
            None => std::str::from_utf8(self.raw_name()).unwrap_or_default(),
        }
    }

    /// The name as a reader that takes stored bytes as UTF-8 whatever the flag reads it
    /// (the zip crate, Info-ZIP and libarchive on UTF-8 systems): the stored bytes when
    /// they are valid UTF-8, else [`Entry::name`]. For a name not flagged UTF-8 with
    /// non-ASCII bytes this differs from the CP437 reading, so both are checked.
    pub fn utf8_reading(&self) -> &str {
        std::str::from_utf8(self.raw_name()).unwrap_or_else(|_| self.name())
    }

    /// The name as stored.
    pub fn raw_name(&self) -> &[u8] {
        let at = self.name_at as usize;
        self.central.get(at..at + usize::from(self.name_len)).unwrap_or_default()
    }

    /// The Unix mode from the external attributes, when one is set.
    pub fn unix_mode(&self) -> Option<u32> {
        let mode = self.external_attributes >> 16;
        (mode != 0).then_some(mode)
    }

    /// Whether a data descriptor follows the data (flag bit 3).
    pub fn has_descriptor(&self) -> bool {
        self.flags & FLAG_DESCRIPTOR != 0
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name())
            .field("kind", &self.kind)
            .field("method", &self.method)
            .field("local_offset", &self.local_offset)
            .field("compressed_size", &self.compressed_size)
            .field("uncompressed_size", &self.uncompressed_size)
            .finish_non_exhaustive()
    }
}

/// The parsed end structures and central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    /// End records.
    pub end: End,
    /// Entries in central-directory order.
    pub entries: Vec<Entry>,
    /// The central directory as stored, every byte of it checked: what signing writes
    /// back, so it never reads the central directory a second time. The entries' names
    /// lie in it.
    pub central: Arc<Vec<u8>>,
}

/// Parses and checks the central directory.
///
/// `cd` is exactly the bytes `[end.central_offset, end.central_offset + end.central_size)`;
/// the [`Tail`] keeps them.
/// Pure. Besides each header it checks what needs every entry: the count, unique names,
/// a layout in which entries cannot overlap (from the central directory alone, before any
/// data is read) and the declared total against [`ZipLimits::max_unzipped`].
pub fn parse_central(cd: Vec<u8>, end: End, limits: &ZipLimits) -> Result<Tail, ZipError> {
    if end.central_size > limits.max_central_directory {
        return Err(Rule::CentralDirectoryTooLarge { size: end.central_size, max: limits.max_central_directory }.into());
    }
    if cd.len() as u64 != end.central_size {
        return Err(malformed(format!("{} bytes given for a central directory of {}", cd.len(), end.central_size)));
    }
    if end.entry_count > limits.max_entries {
        return Err(Rule::TooManyEntries { count: end.entry_count, max: limits.max_entries }.into());
    }
    // The count is now at most max_entries, and each entry takes at least 46 bytes.
    let capacity = usize::try_from(end.entry_count.min(cd.len() as u64 / CENTRAL_FIXED as u64)).unwrap_or(0);
    let mut entries = Vec::with_capacity(capacity);
    let cd = Arc::new(cd);
    let mut r = Reader::new(&cd);
    while r.left() > 0 {
        if entries.len() as u64 >= limits.max_entries {
            return Err(Rule::TooManyEntries { count: entries.len() as u64 + 1, max: limits.max_entries }.into());
        }
        entries.push(parse_entry(&mut r, &cd, limits)?);
    }
    if entries.len() as u64 != end.entry_count {
        return Err(Rule::EntryCount { declared: end.entry_count, found: entries.len() as u64 }.into());
    }
    if entries.is_empty() {
        return Err(Rule::Empty.into());
    }
    names::check_unique(&entries)?;
    body::plan(&entries, end.central_offset)?;
    declared_total(&entries, limits)?;
    Ok(Tail { end, entries, central: cd })
}

/// The declared uncompressed total, refused upfront when over the limit.
pub(crate) fn declared_total(entries: &[Entry], limits: &ZipLimits) -> Result<u64, ZipError> {
    let total = entries.iter().fold(0u64, |sum, e| sum.saturating_add(e.uncompressed_size));
    if total > limits.max_unzipped {
        return Err(Rule::UnzippedTooLarge { actual: total }.into());
    }
    Ok(total)
}

fn malformed(problem: String) -> ZipError {
    Rule::MalformedCentralDirectory { problem }.into()
}

/// The fixed fields of a central-directory header.
struct Fixed {
    made_by: u16,
    flags: u16,
    method: u16,
    crc32: u32,
    compressed: u32,
    uncompressed: u32,
    name_len: u16,
    extra_len: u16,
    comment_len: u16,
    disk: u16,
    external: u32,
    offset: u32,
}

impl Fixed {
    fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        (r.u32_le()? == CENTRAL_SIG).then_some(())?;
        let made_by = r.u16_le()?;
        let _needed = r.u16_le()?;
        let flags = r.u16_le()?;
        let method = r.u16_le()?;
        let _time_date = r.u32_le()?;
        Some(Self {
            made_by,
            flags,
            method,
            crc32: r.u32_le()?,
            compressed: r.u32_le()?,
            uncompressed: r.u32_le()?,
            name_len: r.u16_le()?,
            extra_len: r.u16_le()?,
            comment_len: r.u16_le()?,
            disk: r.u16_le()?,
            external: {
                let _internal = r.u16_le()?;
                r.u32_le()?
            },
            offset: r.u32_le()?,
        })
    }
}

fn parse_entry(r: &mut Reader<'_>, cd: &Arc<Vec<u8>>, limits: &ZipLimits) -> Result<Entry, ZipError> {
    let at = r.position();
    let fixed = r
        .take(CENTRAL_FIXED)
        .ok_or_else(|| malformed(format!("the header at byte {at} of the central directory is cut off")))?;
    let h = Fixed::parse(fixed).ok_or_else(|| {
        malformed(format!("no central directory header signature at byte {at} of the central directory"))
    })?;
    let variable =
        (|| Some((r.take(h.name_len.into())?, r.take(h.extra_len.into())?, r.take(h.comment_len.into())?)))();
    let (raw_name, extra, _comment) = variable.ok_or_else(|| {
        malformed(format!(
            "the name, extra field or comment of the header at byte {at} runs past the central directory"
        ))
    })?;
    let shown = names::display(raw_name, h.flags);
    let blame = |rule: Rule| ZipError::at(shown.clone(), rule);

    let name = names::check_name(raw_name, h.flags, limits.max_name_len).map_err(blame)?;
    let extras = Extras::parse(extra, Header::Central).map_err(|problem| {
        blame(
            problem
                .into_rule(|problem| Rule::MalformedCentralDirectory { problem: format!("its extra field {problem}") }),
        )
    })?;
    extras.check_xl(Header::Central, h.made_by, h.external).map_err(blame)?;
    if h.flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED) != 0
        || h.method == METHOD_AES
        || extras.encryption
    {
        return Err(blame(Rule::Encrypted));
    }
    if h.flags & FLAG_PATCHED != 0 {
        return Err(blame(Rule::UnsupportedFlags { flags: h.flags }));
    }
    let method = match h.method {
        0 => Method::Stored,
        8 => Method::Deflate,
        method => return Err(blame(Rule::UnsupportedMethod { method })),
    };
    if let Some(field) = extras.unicode_path {
        names::check_unicode_path(field, raw_name, &name).map_err(blame)?;
    }
    let sizes = zip64_central(extras.zip64, &h).map_err(|problem| blame(Rule::Zip64 { problem }))?;
    if sizes.disk != 0 {
        return Err(blame(Rule::MultiDisk));
    }
    if method == Method::Stored && sizes.compressed != sizes.uncompressed {
        return Err(blame(Rule::StoredSizes { compressed: sizes.compressed, uncompressed: sizes.uncompressed }));
    }

    // 7-Zip and others set a Unix mode on non-Unix hosts too, so any host counts: a
    // reader that ignores the mode sees a plain file or folder, never something the gate
    // did not check.
    let mode = h.external >> 16;
    let is_dir_name = name.ends_with('/');
    let file_type = |problem: &str| blame(Rule::FileType { problem: problem.to_owned() });
    match mode & S_IFMT {
        0 | S_IFREG | S_IFLNK => {}
        S_IFDIR if is_dir_name => {}
        S_IFDIR => return Err(file_type("a directory, but its name does not end with \"/\"")),
        0o010_000 => return Err(file_type("a FIFO (named pipe)")),
        0o020_000 => return Err(file_type("a character device")),
        0o060_000 => return Err(file_type("a block device")),
        0o140_000 => return Err(file_type("a socket")),
        _ => return Err(file_type(&format!("of unknown Unix file type {:#o}", mode & S_IFMT))),
    }
    if h.external & DOS_DIRECTORY != 0 && !is_dir_name {
        return Err(file_type("an MS-DOS directory, but its name does not end with \"/\""));
    }
    let kind = if mode & S_IFMT == S_IFLNK {
        // Readers honour a Unix mode only from a Unix host: elsewhere the same entry is a
        // plain file holding the target (Info-ZIP, libarchive, the zip crate).
        let host = h.made_by >> 8;
        if host != HOST_UNIX {
            return Err(file_type(&format!(
                "a symlink by its Unix mode, but it was made on host {host} (not Unix), where readers take it for \
                 a file"
            )));
        }
        let bad = |problem: &str| blame(Rule::BadSymlinkTarget { problem: problem.to_owned() });
        if name.ends_with('/') {
            return Err(bad("belongs to a link whose name ends with \"/\""));
        }
        if sizes.uncompressed > MAX_SYMLINK_TARGET {
            return Err(bad(&format!("is declared {} bytes long, more than {MAX_SYMLINK_TARGET}", sizes.uncompressed)));
        }
        EntryKind::Symlink
    } else if name.ends_with('/') {
        if sizes.uncompressed != 0 {
            return Err(blame(Rule::DirectoryWithData { size: sizes.uncompressed }));
        }
        EntryKind::Directory
    } else {
        EntryKind::File
    };
    // The name follows the fixed part; the central directory is at most 128 MiB.
    let name_at =
        u32::try_from(at + CENTRAL_FIXED).map_err(|_| malformed("the central directory is too large".into()))?;
    let decoded = (name.as_bytes() != raw_name).then(|| Box::new(name.into_boxed_str()));
    Ok(Entry {
        central: Arc::clone(cd),
        name_at,
        name_len: h.name_len,
        decoded,
        kind,
        method,
        flags: h.flags,
        crc32: h.crc32,
        local_offset: sizes.offset,
        compressed_size: sizes.compressed,
        uncompressed_size: sizes.uncompressed,
        made_by: h.made_by,
        external_attributes: h.external,
    })
}

/// Checks a libarchive `xl` extra field (0x6c78): a bitmap byte, then the fields it flags
/// in this order: version made by (bit 0, 2 bytes), internal attributes (bit 1, 2 bytes),
/// external attributes (bit 2, 4 bytes), comment (bit 3, a 2-byte length and the bytes).
/// libarchive takes the host and the file type from it, in the local header too, where
/// other readers have neither; so it must repeat the central directory's values exactly.
fn check_xl(field: &[u8], made_by: u16, external: u32) -> Result<(), &'static str> {
    let mut r = Reader::new(field);
    let bitmap = r.array::<1>().map(|[b]| b).ok_or("it is empty")?;
    if bitmap & !0x0f != 0 {
        return Err("it flags fields signer does not know");
    }
    let fields = (|| {
        let made = if bitmap & 1 != 0 { Some(r.u16_le()?) } else { None };
        if bitmap & 2 != 0 {
            r.u16_le()?;
        }
        let ext = if bitmap & 4 != 0 { Some(r.u32_le()?) } else { None };
        if bitmap & 8 != 0 {
            let len = r.u16_le()?;
            r.take(len.into())?;
        }
        r.finish()?;
        Some((made, ext))
    })();
    let (made, ext) = fields.ok_or("its fields do not match its length")?;
    if made.is_some_and(|m| m != made_by) || ext.is_some_and(|e| e != external) {
        return Err(
            "it gives a host system or file attributes other than the central directory's, which libarchive would use",
        );
    }
    Ok(())
}

/// Which header an extra field list belongs to, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// A local file header.
    Local,
    /// A central-directory header.
    Central,
}

impl Header {
    fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Central => "central",
        }
    }
}

/// Why an extra field list was refused.
#[derive(Debug)]
pub(crate) enum ExtraProblem {
    /// It does not parse: the caller's "malformed header" rule.
    Malformed(String),
    /// It parses, but holds a field the gate refuses.
    Refused(Rule),
}

impl ExtraProblem {
    /// The rule to report, with `malformed` for a list that does not parse.
    pub(crate) fn into_rule(self, malformed: impl FnOnce(String) -> Rule) -> Rule {
        match self {
            Self::Malformed(problem) => malformed(problem),
            Self::Refused(rule) => rule,
        }
    }
}

/// The extra fields the gate reads. Every other field must be on the allow-list of
/// [`EXTRA_HARMLESS`]; the list must parse, and no field may appear twice.
#[derive(Debug, Default)]
pub(crate) struct Extras<'a> {
    /// The ZIP64 extended information field's data.
    pub(crate) zip64: Option<&'a [u8]>,
    /// The Unicode Path field's data.
    pub(crate) unicode_path: Option<&'a [u8]>,
    /// libarchive's `xl` field's data.
    pub(crate) xl: Option<&'a [u8]>,
    /// A strong-encryption or AES field is present.
    pub(crate) encryption: bool,
}

impl<'a> Extras<'a> {
    /// Checks the `xl` field, if any, against the central header's "version made by" and
    /// external attributes (see [`check_xl`]).
    pub(crate) fn check_xl(&self, header: Header, made_by: u16, external: u32) -> Result<(), Rule> {
        let Some(field) = self.xl else { return Ok(()) };
        check_xl(field, made_by, external).map_err(|why| Rule::ExtraField { tag: EXTRA_XL, header: header.name(), why })
    }

    /// Parses a list of (tag, size, data) fields that must fill `bytes` exactly.
    pub(crate) fn parse(bytes: &'a [u8], header: Header) -> Result<Self, ExtraProblem> {
        let mut r = Reader::new(bytes);
        let mut extras = Self::default();
        // Fewer than 16 tags are accepted at all, so a 17th field repeats one of them.
        let mut seen = [None::<u16>; 16];
        let refuse = |tag, why| ExtraProblem::Refused(Rule::ExtraField { tag, header: header.name(), why });
        while r.left() > 0 {
            let field = (|| {
                let tag = r.u16_le()?;
                let size = r.u16_le()?;
                Some((tag, r.take(size.into())?))
            })();
            let (tag, data) =
                field.ok_or_else(|| ExtraProblem::Malformed(format!("is cut off at byte {}", r.position())))?;
            let free = seen.iter_mut().find(|s| s.is_none_or(|t| t == tag));
            match free {
                Some(slot) if slot.is_none() => *slot = Some(tag),
                _ => return Err(ExtraProblem::Malformed(format!("holds two fields of type {tag:#06x}"))),
            }
            match tag {
                EXTRA_ZIP64 => extras.zip64 = Some(data),
                EXTRA_UNICODE_PATH => extras.unicode_path = Some(data),
                EXTRA_XL => extras.xl = Some(data),
                EXTRA_STRONG_ENCRYPTION | EXTRA_AES => extras.encryption = true,
                0xcafe if !data.is_empty() => return Err(refuse(tag, "a jar marker holds no data")),
                _ if EXTRA_HARMLESS.contains(&tag) => {}
                _ if EXTRA_TYPE_SETTING.contains(&tag) => {
                    return Err(refuse(
                        tag,
                        "it can make the entry a symlink or a device for the readers that honour it",
                    ));
                }
                _ => return Err(refuse(tag, "signer accepts only extra fields known not to change what an entry is")),
            }
        }
        Ok(extras)
    }
}

/// Sizes, offset and disk after ZIP64 resolution.
struct Sizes {
    compressed: u64,
    uncompressed: u64,
    offset: u64,
    disk: u64,
}

/// Resolves the ZIP64 extra field of a central header: it holds exactly the fields whose
/// classic value is the 0xFFFFFFFF (0xFFFF for the disk) marker, in APPNOTE order.
fn zip64_central(zip64: Option<&[u8]>, h: &Fixed) -> Result<Sizes, String> {
    let mut fields = [
        Zip64Field::u64("uncompressed size", h.uncompressed),
        Zip64Field::u64("compressed size", h.compressed),
        Zip64Field::u64("local header offset", h.offset),
        Zip64Field { name: "disk number", value: h.disk.into(), marked: h.disk == u16::MAX, width: 4 },
    ];
    resolve_zip64(zip64, &mut fields)?;
    let [uncompressed, compressed, offset, disk] = fields.map(|f| f.value);
    Ok(Sizes { compressed, uncompressed, offset, disk })
}

/// One header field that the ZIP64 extra field may replace.
pub(crate) struct Zip64Field {
    /// Its name, for messages.
    pub(crate) name: &'static str,
    /// Its value: the classic one, then the ZIP64 one when marked.
    pub(crate) value: u64,
    /// Whether the classic value is the marker.
    pub(crate) marked: bool,
    /// Its width in the ZIP64 extra field.
    pub(crate) width: usize,
}

impl Zip64Field {
    /// A 32-bit size or offset, marked by 0xFFFFFFFF.
    pub(crate) fn u64(name: &'static str, classic: u32) -> Self {
        Self { name, value: classic.into(), marked: classic == u32::MAX, width: 8 }
    }
}

/// Replaces each marked field's value with the next one from the ZIP64 extra field, which
/// must hold exactly those. A marker without a ZIP64 field is refused: readers disagree on
/// whether it is a size of 4 GiB − 1 or a missing field.
pub(crate) fn resolve_zip64(zip64: Option<&[u8]>, fields: &mut [Zip64Field]) -> Result<(), String> {
    let needed: usize = fields.iter().filter(|f| f.marked).map(|f| f.width).sum();
    let Some(data) = zip64 else {
        return match fields.iter().find(|f| f.marked) {
            Some(field) => Err(format!("its {} is the ZIP64 marker but it has no ZIP64 extra field", field.name)),
            None => Ok(()),
        };
    };
    if data.len() != needed {
        return Err(format!(
            "its ZIP64 extra field holds {} bytes, but its 0xFFFFFFFF markers call for {needed}",
            data.len()
        ));
    }
    let mut r = Reader::new(data);
    for field in fields.iter_mut().filter(|f| f.marked) {
        let read = if field.width == 8 { r.u64_le() } else { r.u32_le().map(u64::from) };
        // Cannot fail: the length was checked above.
        field.value = read.unwrap_or(u64::MAX);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_record_stays_small() {
        // SECURITY.md's memory formula counts 64 bytes an entry: a million entries must fit
        // in twice their central directory.
        assert!(std::mem::size_of::<Entry>() <= 64, "{} bytes", std::mem::size_of::<Entry>());
    }
}
