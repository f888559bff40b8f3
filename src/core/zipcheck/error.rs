//! Refusals: one [`Rule`] per way a zip can be hostile, ambiguous or malformed.
//!
//! Each message names what is wrong, why it is refused and what to do, so that the
//! person holding the zip can fix it without reading this code (STYLE practice 11).

use std::fmt;

/// A refusal: the entry (when one is to blame) and the rule it broke.
///
/// Displays as `entry "a/../b": path contains ".." (refused: …); rebuild the zip …
/// [zip rule dot-dot]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipError {
    /// The entry name (decoded for display), when one entry is to blame.
    pub entry: Option<String>,
    /// The rule that was broken.
    pub rule: Rule,
}

impl ZipError {
    /// A refusal of the archive as a whole.
    pub fn new(rule: Rule) -> Self {
        Self { entry: None, rule }
    }

    /// A refusal that blames one entry.
    pub fn at(entry: impl Into<String>, rule: Rule) -> Self {
        Self { entry: Some(entry.into()), rule }
    }

    /// The rule that was broken.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }
}

impl From<Rule> for ZipError {
    fn from(rule: Rule) -> Self {
        Self::new(rule)
    }
}

impl fmt::Display for ZipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            // Names are attacker-chosen: escape control characters and quotes.
            Some(name) => write!(f, "entry \"{}\": {}", name.escape_debug(), self.rule)?,
            None => write!(f, "{}", self.rule)?,
        }
        write!(f, " [zip rule {}]", self.rule.id())
    }
}

impl std::error::Error for ZipError {}

/// Inspection failed: either the zip was refused or reading failed.
///
/// The body reader may be a tee that also hashes and writes; its failures are
/// [`InspectError::Io`], never a verdict on the zip.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The zip was refused.
    #[error(transparent)]
    Zip(#[from] ZipError),
    /// Reading (or a tee'd write) failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<Rule> for InspectError {
    fn from(rule: Rule) -> Self {
        Self::Zip(ZipError::new(rule))
    }
}

/// The rules of the strict zip gate (SPEC §6), one variant each.
///
/// [`Rule::id`] gives a stable kebab-case name for tables, logs and JSON.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rule {
    /// A name is absolute.
    #[error(
        "absolute path (refused: it could write outside the extraction folder); rebuild the zip with relative paths"
    )]
    AbsolutePath,
    /// Several end-of-central-directory records could be the real one.
    #[error(
        "the zip has more than one plausible end-of-central-directory record (at offsets {first} and {second}) \
         (refused: readers that pick a different one see different entries); rebuild the zip with a standard tool"
    )]
    AmbiguousEndRecord {
        /// Offset of the earlier candidate.
        first: u64,
        /// Offset of the later candidate.
        second: u64,
    },
    /// The name contains a backslash.
    #[error(
        "name contains a backslash (refused: Windows tools read it as a folder separator, others as part of the name); \
         rebuild the zip with / as the separator"
    )]
    Backslash,
    /// A symlink's target is malformed (empty, too long, not UTF-8, control characters…).
    #[error(
        "symlink target {problem} (refused: it cannot be checked safely); replace the symlink with the file it points to"
    )]
    BadSymlinkTarget {
        /// What is wrong with it.
        problem: String,
    },
    /// Bytes after the end-of-central-directory record (and its comment).
    #[error(
        "{len} bytes after the end-of-central-directory record (refused: trailing data belongs to no entry); \
         remove them or rebuild the zip"
    )]
    BytesAfterEndRecord {
        /// How many bytes follow.
        len: u64,
    },
    /// The archive does not start with its first entry.
    #[error(
        "{len} bytes before the first entry (refused: a prefix, such as a launcher script or another archive, \
         belongs to no entry); rebuild the zip without the prefix"
    )]
    BytesBeforeFirstEntry {
        /// How many bytes precede the first entry.
        len: u64,
    },
    /// Bytes between two entries, or between the last entry and the central directory.
    #[error(
        "{len} bytes at offset {offset} belong to no entry (refused: hidden data between entries); \
         rebuild the zip with a standard tool"
    )]
    BytesBetweenEntries {
        /// Where the unaccounted bytes start.
        offset: u64,
        /// How many there are.
        len: u64,
    },
    /// The central directory does not end where the end records begin.
    #[error(
        "the central directory (offset {offset}, {size} bytes) does not end where the end records begin \
         (offset {end}) (refused: the bytes in between, or the size, are unaccounted for); rebuild the zip with a standard tool"
    )]
    CentralDirectoryBounds {
        /// Declared offset of the central directory.
        offset: u64,
        /// Declared size of the central directory.
        size: u64,
        /// Where the ZIP64 end record, or the end record, begins.
        end: u64,
    },
    /// The central directory is larger than [`super::ZipLimits::max_central_directory`].
    #[error(
        "the central directory is {size} bytes, more than the {max} allowed (refused: it is read into memory); \
         use fewer entries or shorter names"
    )]
    CentralDirectoryTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A name contains a control character (NUL, newline, escape…).
    #[error(
        "name contains the control character U+{code:04X} (refused: it hides or truncates names in listings and file systems); \
         rename the file"
    )]
    ControlCharacter {
        /// The character's code point.
        code: u32,
    },
    /// The deflate stream is corrupt or ends early.
    #[error("corrupt deflate data: {problem} (refused: its contents cannot be checked); rebuild the zip")]
    CorruptData {
        /// What went wrong.
        problem: String,
    },
    /// The data's CRC-32 differs from the one declared.
    #[error(
        "its data has CRC-32 {actual:08x}, not the {declared:08x} declared (refused: the data is corrupt or was altered); \
         rebuild the zip"
    )]
    CrcMismatch {
        /// The CRC-32 in the central directory.
        declared: u32,
        /// The CRC-32 of the data.
        actual: u32,
    },
    /// A data descriptor is malformed or disagrees with the central directory.
    #[error(
        "its data descriptor {problem} (refused: streaming readers would see a different entry); rebuild the zip with a standard tool"
    )]
    DataDescriptor {
        /// What is wrong with it.
        problem: String,
    },
    /// A descriptor signature inside the stored data of an entry with a data descriptor.
    #[error(
        "it is stored with a data descriptor, and its data holds a data descriptor signature (PK\\x07\\x08) at \
         byte {offset} of its data (refused: a streaming reader such as `bsdtar -xf -` ends the entry there and reads what \
         follows as other entries); store it deflated, or write the zip to a seekable file so no data descriptor is needed"
    )]
    DescriptorSignatureInData {
        /// Where the signature starts, counted from the entry's first data byte.
        offset: u64,
    },
    /// A directory entry carries data.
    #[error(
        "directory entry declares {size} bytes of data (refused: unzip tools drop it, so it is hidden data); \
         rebuild the zip"
    )]
    DirectoryWithData {
        /// Declared uncompressed size.
        size: u64,
    },
    /// A path segment is `..`.
    #[error("path contains \"..\" (refused: it could write outside the extraction folder); rebuild the zip without it")]
    DotDot,
    /// A name starts with a drive letter (`C:`).
    #[error(
        "name starts with a drive letter (refused: it could write outside the extraction folder on Windows); \
         rebuild the zip with relative paths"
    )]
    DriveLetter,
    /// Two entries have the same name once ASCII case and `/` runs are ignored.
    #[error(
        "same name as entry \"{}\" once letter case, repeated or trailing \"/\" and \".\" are ignored \
         (refused: extraction would keep one or the other depending on the tool and file system); \
         remove or rename one of them",
        .other.escape_debug()
    )]
    DuplicateName {
        /// The earlier entry with the same name.
        other: String,
    },
    /// The archive holds no entries.
    #[error("the zip has no entries (refused: an empty package deploys nothing); add the function's files to the zip")]
    Empty,
    /// A name is empty (or only `/` and `.`).
    #[error("empty name (refused: it names no file); rebuild the zip without it")]
    EmptyName,
    /// Encrypted entry (traditional, strong or AES encryption, or a masked central directory).
    #[error("encrypted (refused: its contents cannot be checked); rebuild the zip without a password")]
    Encrypted,
    /// The end record's entry count disagrees with the central directory.
    #[error(
        "the end record declares {declared} entries but the central directory holds {found} \
         (refused: readers would disagree on the entries); rebuild the zip with a standard tool"
    )]
    EntryCount {
        /// Entries the end record declares.
        declared: u64,
        /// Entries the central directory holds.
        found: u64,
    },
    /// An extra field that is unknown, or that can change what an entry is for some readers.
    #[error(
        "its {header} header carries extra field {tag:#06x} ({}) (refused: {why}); rebuild the zip without it \
         (Info-ZIP: zip -X leaves out extra attributes)",
        extra_field_name(*.tag)
    )]
    ExtraField {
        /// The field's header ID.
        tag: u16,
        /// `"local"` or `"central"`.
        header: &'static str,
        /// Why it is refused.
        why: &'static str,
    },
    /// The external attributes give a type the name and data do not (a device, a FIFO, a
    /// directory without a trailing `/`…).
    #[error(
        "its attributes make it {problem} (refused: readers that follow the attributes and readers that follow the \
         name would extract different things); rebuild the zip from regular files, folders and symlinks"
    )]
    FileType {
        /// What the attributes say.
        problem: String,
    },
    /// An entry lies under a name that is a file or symlink, not a directory.
    #[error(
        "lies under \"{}\", which is a file or symlink, not a directory (refused: extraction would fail or write \
         through the symlink); remove or rename one of them",
        .file.escape_debug()
    )]
    FileUsedAsDirectory {
        /// The file or symlink entry.
        file: String,
    },
    /// A name is flagged UTF-8 but is not.
    #[error(
        "name is flagged as UTF-8 but is not valid UTF-8 (refused: readers would decode it differently); \
         rebuild the zip with UTF-8 names"
    )]
    InvalidUtf8,
    /// A local header disagrees with the central directory.
    #[error(
        "its local header disagrees with the central directory on the {field} (local {local}, central {central}) \
         (refused: readers that stream local headers would see a different entry); rebuild the zip with a standard tool"
    )]
    LocalMismatch {
        /// Which field.
        field: &'static str,
        /// The local header's value.
        local: String,
        /// The central directory's value.
        central: String,
    },
    /// A central-directory header is malformed.
    #[error(
        "malformed central directory: {problem} (refused: the entries cannot be read one way only); rebuild the zip with a standard tool"
    )]
    MalformedCentralDirectory {
        /// What is wrong.
        problem: String,
    },
    /// The end-of-central-directory record is malformed.
    #[error(
        "malformed end-of-central-directory record: {problem} (refused: the archive cannot be read one way only); \
         rebuild the zip with a standard tool"
    )]
    MalformedEndRecord {
        /// What is wrong.
        problem: String,
    },
    /// A local header is missing or malformed.
    #[error(
        "malformed local header at offset {offset}: {problem} (refused: readers that stream local headers would \
         see a different entry); rebuild the zip with a standard tool"
    )]
    MalformedLocalHeader {
        /// The local header's offset.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// The archive spans several disks.
    #[error("the zip spans several disks (refused: multi-disk archives are not supported); rebuild it as one file")]
    MultiDisk,
    /// A name is longer than [`super::ZipLimits::max_name_len`].
    #[error(
        "name is {len} bytes, more than the {max} allowed (refused: file systems cannot hold it); use a shorter name"
    )]
    NameTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a zip at all: no end-of-central-directory record.
    #[error(
        "not a zip archive: no end-of-central-directory record in its last 128 KiB (refused: nothing says where \
         the entries are); pass a .zip file"
    )]
    NotZip,
    /// The entries of the archive overlap or share bytes (the zip-bomb layout).
    #[error(
        "its bytes overlap those of entry \"{}\" (refused: overlapping entries are the zip-bomb technique and \
         let readers disagree); rebuild the zip with a standard tool",
        .other.escape_debug()
    )]
    OverlappingEntries {
        /// The other entry.
        other: String,
    },
    /// An entry's bytes run into (or lie in) the central directory.
    #[error(
        "its local header or data lies in or runs into the central directory (refused: the same bytes would be read \
         as two things); rebuild the zip with a standard tool"
    )]
    OverlapsCentralDirectory,
    /// The data inflates to more than the declared size.
    #[error(
        "its data inflates to more than the {declared} bytes declared (refused: a size that understates the data \
         is how zip bombs pass limits); rebuild the zip"
    )]
    SizeExceeded {
        /// Declared uncompressed size.
        declared: u64,
    },
    /// The data inflates to less than the declared size.
    #[error(
        "its data inflates to {actual} bytes, not the {declared} declared (refused: the entry is truncated or its \
         header lies); rebuild the zip"
    )]
    SizeShort {
        /// Declared uncompressed size.
        declared: u64,
        /// What the data inflates to.
        actual: u64,
    },
    /// A stored entry's compressed and uncompressed sizes differ.
    #[error(
        "stored (uncompressed) entry declares {compressed} compressed but {uncompressed} uncompressed bytes \
         (refused: readers would disagree on its end); rebuild the zip"
    )]
    StoredSizes {
        /// Declared compressed size.
        compressed: u64,
        /// Declared uncompressed size.
        uncompressed: u64,
    },
    /// A symlink's target is absolute or leaves the package.
    #[error(
        "symlink to \"{}\" points outside the package (refused: it would expose or overwrite files \
         of the host); replace it with the file it points to or a target inside the package",
        .target.escape_debug()
    )]
    SymlinkOutside {
        /// The target.
        target: String,
    },
    /// The archive contains too many entries.
    #[error(
        "{count} entries, more than the {max} allowed (refused: too many to deploy); \
         move some files into a layer or drop unneeded ones"
    )]
    TooManyEntries {
        /// How many the archive declares or holds.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// Bytes follow the end of the deflate stream inside the entry's compressed range.
    #[error(
        "{len} bytes follow the end of its deflate stream (refused: hidden data inside the entry); rebuild the zip"
    )]
    TrailingCompressedData {
        /// How many bytes follow.
        len: u64,
    },
    /// A Unicode Path extra field (0x7075) names a different file than the header.
    #[error(
        "its Unicode Path extra field names a different file than its header (refused: some unzip tools use one name, \
         others the other); rebuild the zip with a standard tool"
    )]
    UnicodePathMismatch,
    /// General-purpose flags the gate does not support (patched data).
    #[error(
        "general-purpose flags {flags:#06x} are not supported (refused: its data cannot be checked); rebuild the zip with a standard tool"
    )]
    UnsupportedFlags {
        /// The flags.
        flags: u16,
    },
    /// A compression method other than stored (0) or deflate (8).
    #[error(
        "compressed with {} (method {method}) (refused: only stored (0) and deflate (8) are read by every \
         unzip tool and can be checked); rebuild the zip with deflate",
        method_name(*.method)
    )]
    UnsupportedMethod {
        /// The method number.
        method: u16,
    },
    /// The entries inflate to more than [`super::ZipLimits::max_unzipped`].
    #[error(
        "{} Make the package smaller, for example by moving dependencies into a layer.",
        crate::limits::unzipped_size_message(*.actual)
    )]
    UnzippedTooLarge {
        /// The declared (or inflated) total.
        actual: u64,
    },
    /// Inconsistent ZIP64 records or extra fields.
    #[error(
        "inconsistent ZIP64 records: {problem} (refused: readers that use the ZIP64 values and readers that use \
         the classic ones would disagree); rebuild the zip with a standard tool"
    )]
    Zip64 {
        /// What is inconsistent.
        problem: String,
    },
}

impl Rule {
    /// A stable kebab-case name for the rule, for tables, logs and JSON.
    pub fn id(&self) -> &'static str {
        match self {
            Self::AbsolutePath => "absolute-path",
            Self::AmbiguousEndRecord { .. } => "ambiguous-end-record",
            Self::DescriptorSignatureInData { .. } => "descriptor-signature-in-data",
            Self::ExtraField { .. } => "extra-field",
            Self::FileType { .. } => "file-type",
            Self::Backslash => "backslash",
            Self::BadSymlinkTarget { .. } => "bad-symlink-target",
            Self::BytesAfterEndRecord { .. } => "bytes-after-end-record",
            Self::BytesBeforeFirstEntry { .. } => "bytes-before-first-entry",
            Self::BytesBetweenEntries { .. } => "bytes-between-entries",
            Self::CentralDirectoryBounds { .. } => "central-directory-bounds",
            Self::CentralDirectoryTooLarge { .. } => "central-directory-too-large",
            Self::ControlCharacter { .. } => "control-character",
            Self::CorruptData { .. } => "corrupt-data",
            Self::CrcMismatch { .. } => "crc-mismatch",
            Self::DataDescriptor { .. } => "data-descriptor",
            Self::DirectoryWithData { .. } => "directory-with-data",
            Self::DotDot => "dot-dot",
            Self::DriveLetter => "drive-letter",
            Self::DuplicateName { .. } => "duplicate-name",
            Self::Empty => "empty",
            Self::EmptyName => "empty-name",
            Self::Encrypted => "encrypted",
            Self::EntryCount { .. } => "entry-count",
            Self::FileUsedAsDirectory { .. } => "file-used-as-directory",
            Self::InvalidUtf8 => "invalid-utf8",
            Self::LocalMismatch { .. } => "local-central-mismatch",
            Self::MalformedCentralDirectory { .. } => "malformed-central-directory",
            Self::MalformedEndRecord { .. } => "malformed-end-record",
            Self::MalformedLocalHeader { .. } => "malformed-local-header",
            Self::MultiDisk => "multi-disk",
            Self::NameTooLong { .. } => "name-too-long",
            Self::NotZip => "not-a-zip",
            Self::OverlappingEntries { .. } => "overlapping-entries",
            Self::OverlapsCentralDirectory => "overlaps-central-directory",
            Self::SizeExceeded { .. } => "size-exceeded",
            Self::SizeShort { .. } => "size-short",
            Self::StoredSizes { .. } => "stored-sizes",
            Self::SymlinkOutside { .. } => "symlink-outside",
            Self::TooManyEntries { .. } => "too-many-entries",
            Self::TrailingCompressedData { .. } => "trailing-compressed-data",
            Self::UnicodePathMismatch => "unicode-path-mismatch",
            Self::UnsupportedFlags { .. } => "unsupported-flags",
            Self::UnsupportedMethod { .. } => "unsupported-method",
            Self::UnzippedTooLarge { .. } => "unzipped-too-large",
            Self::Zip64 { .. } => "inconsistent-zip64",
        }
    }

    /// Every rule id, in variant order, for checking tables against the rules that exist.
    pub const IDS: &'static [&'static str] = &[
        "absolute-path",
        "ambiguous-end-record",
        "backslash",
        "bad-symlink-target",
        "bytes-after-end-record",
        "bytes-before-first-entry",
        "bytes-between-entries",
        "central-directory-bounds",
        "central-directory-too-large",
        "control-character",
        "corrupt-data",
        "crc-mismatch",
        "data-descriptor",
        "descriptor-signature-in-data",
        "directory-with-data",
        "dot-dot",
        "drive-letter",
        "duplicate-name",
        "empty",
        "empty-name",
        "encrypted",
        "entry-count",
        "extra-field",
        "file-type",
        "file-used-as-directory",
        "invalid-utf8",
        "local-central-mismatch",
        "malformed-central-directory",
        "malformed-end-record",
        "malformed-local-header",
        "multi-disk",
        "name-too-long",
        "not-a-zip",
        "overlapping-entries",
        "overlaps-central-directory",
        "size-exceeded",
        "size-short",
        "stored-sizes",
        "symlink-outside",
        "too-many-entries",
        "trailing-compressed-data",
        "unicode-path-mismatch",
        "unsupported-flags",
        "unsupported-method",
        "unzipped-too-large",
        "inconsistent-zip64",
    ];
}

/// The usual name of an extra field (APPNOTE 4.5.2 and 4.6, and Info-ZIP's
/// `proginfo/extrafld.txt`).
pub fn extra_field_name(tag: u16) -> &'static str {
    match tag {
        0x0001 => "ZIP64",
        0x0007 => "AV Info",
        0x000a => "NTFS",
        0x000d => "PKWARE Unix",
        0x0017 => "strong encryption",
        0x5455 => "extended timestamp",
        0x5855 => "Info-ZIP Unix, old",
        0x6375 => "Info-ZIP Unicode Comment",
        0x6c78 => "libarchive xl",
        0x7075 => "Info-ZIP Unicode Path",
        0x756e => "ASi Unix",
        0x7855 => "Info-ZIP Unix",
        0x7875 => "Info-ZIP Unix, new",
        0x9901 => "WinZip AES",
        0xcafe => "jar marker",
        0xd935 => "Android alignment",
        _ => "unknown",
    }
}

/// The usual name of a zip compression method (APPNOTE 4.4.5).
pub fn method_name(method: u16) -> &'static str {
    match method {
        0 => "stored",
        1 => "Shrink",
        2..=5 => "Reduce",
        6 => "Implode",
        8 => "deflate",
        9 => "Deflate64",
        10 => "PKWARE DCL Implode",
        12 => "bzip2",
        14 => "LZMA",
        16 => "IBM z/OS CMPSC",
        18 => "IBM TERSE",
        19 => "IBM LZ77",
        20 | 93 => "Zstandard",
        94 => "MP3",
        95 => "XZ",
        96 => "JPEG",
        97 => "WavPack",
        98 => "PPMd",
        99 => "AES encryption",
        _ => "an unknown method",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant.
    fn every_rule() -> Vec<Rule> {
        let s = || "x".to_owned();
        vec![
            Rule::AbsolutePath,
            Rule::AmbiguousEndRecord { first: 1, second: 2 },
            Rule::Backslash,
            Rule::BadSymlinkTarget { problem: s() },
            Rule::BytesAfterEndRecord { len: 1 },
            Rule::BytesBeforeFirstEntry { len: 1 },
            Rule::BytesBetweenEntries { offset: 1, len: 1 },
            Rule::CentralDirectoryBounds { offset: 1, size: 1, end: 1 },
            Rule::CentralDirectoryTooLarge { size: 2, max: 1 },
            Rule::ControlCharacter { code: 0 },
            Rule::CorruptData { problem: s() },
            Rule::CrcMismatch { declared: 1, actual: 2 },
            Rule::DataDescriptor { problem: s() },
            Rule::DescriptorSignatureInData { offset: 1 },
            Rule::DirectoryWithData { size: 1 },
            Rule::DotDot,
            Rule::DriveLetter,
            Rule::DuplicateName { other: s() },
            Rule::Empty,
            Rule::EmptyName,
            Rule::Encrypted,
            Rule::EntryCount { declared: 1, found: 2 },
            Rule::ExtraField { tag: 0x756e, header: "local", why: "s" },
            Rule::FileType { problem: s() },
            Rule::FileUsedAsDirectory { file: s() },
            Rule::InvalidUtf8,
            Rule::LocalMismatch { field: "flags", local: s(), central: s() },
            Rule::MalformedCentralDirectory { problem: s() },
            Rule::MalformedEndRecord { problem: s() },
            Rule::MalformedLocalHeader { offset: 0, problem: s() },
            Rule::MultiDisk,
            Rule::NameTooLong { len: 2, max: 1 },
            Rule::NotZip,
            Rule::OverlappingEntries { other: s() },
            Rule::OverlapsCentralDirectory,
            Rule::SizeExceeded { declared: 1 },
            Rule::SizeShort { declared: 2, actual: 1 },
            Rule::StoredSizes { compressed: 1, uncompressed: 2 },
            Rule::SymlinkOutside { target: s() },
            Rule::TooManyEntries { count: 2, max: 1 },
            Rule::TrailingCompressedData { len: 1 },
            Rule::UnicodePathMismatch,
            Rule::UnsupportedFlags { flags: 32 },
            Rule::UnsupportedMethod { method: 12 },
            Rule::UnzippedTooLarge { actual: 262_144_001 },
            Rule::Zip64 { problem: s() },
        ]
    }

    #[test]
    fn every_rule_has_one_listed_id() {
        let ids: Vec<&str> = every_rule().iter().map(Rule::id).collect();
        assert_eq!(ids, Rule::IDS, "IDS lists every rule's id, in variant order");
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn every_message_says_why_and_what_to_do() {
        for rule in every_rule() {
            let text = rule.to_string();
            if let Rule::UnzippedTooLarge { actual } = rule {
                assert!(text.starts_with(&crate::limits::unzipped_size_message(actual)), "{text}");
                continue;
            }
            assert!(text.contains("(refused: ") && text.contains("); "), "{text}");
        }
    }

    #[test]
    fn the_entry_is_named_and_escaped() {
        let e = ZipError::at("a/../b", Rule::DotDot);
        assert_eq!(
            e.to_string(),
            "entry \"a/../b\": path contains \"..\" (refused: it could write outside the extraction folder); \
             rebuild the zip without it [zip rule dot-dot]"
        );
        assert_eq!(ZipError::at("a\"\n", Rule::EmptyName).to_string().lines().count(), 1);
        assert_eq!(ZipError::new(Rule::Empty).to_string(), format!("{} [zip rule empty]", Rule::Empty));
    }
}
