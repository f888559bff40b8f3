//! Entry names and symlink targets: decoding (UTF-8 or CP437), the path rules, and
//! uniqueness once case and `/` runs are ignored.
//!
//! The path rules only look at ASCII bytes (`/`, `\`, `.`, `:`, control characters), which
//! mean the same in UTF-8 and CP437, so a name passes or fails them whichever way a reader
//! decodes it.

use std::hash::{BuildHasher, Hasher, RandomState};

use super::central::{Entry, EntryKind};
use super::{Rule, ZipError};

/// General-purpose flag bit 11: the name (and comment) are UTF-8.
pub(crate) const FLAG_UTF8: u16 = 1 << 11;
/// The longest symlink target accepted (Linux's `PATH_MAX`).
pub(crate) const MAX_SYMLINK_TARGET: u64 = 4096;

/// Decodes a name: UTF-8 when flag bit 11 is set (and then it must be valid), otherwise
/// CP437, as APPNOTE appendix D says.
pub(crate) fn decode(raw: &[u8], flags: u16) -> Result<String, Rule> {
    if flags & FLAG_UTF8 != 0 {
        return std::str::from_utf8(raw).map(str::to_owned).map_err(|_| Rule::InvalidUtf8);
    }
    Ok(cp437(raw))
}

/// A name for error messages: decoded, or lossily when it is not valid UTF-8.
pub(crate) fn display(raw: &[u8], flags: u16) -> String {
    decode(raw, flags).unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

/// CP437 to UTF-8: ASCII as is, 0x80–0xFF through the table.
pub(crate) fn cp437(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| match b.checked_sub(0x80) {
            None => char::from(b),
            Some(high) => CP437_HIGH.get(usize::from(high)).copied().unwrap_or(char::REPLACEMENT_CHARACTER),
        })
        .collect()
}

/// Checks one raw name against the path rules and returns it decoded.
pub(crate) fn check_name(raw: &[u8], flags: u16, max_len: usize) -> Result<String, Rule> {
    if raw.len() > max_len {
        return Err(Rule::NameTooLong { len: raw.len(), max: max_len });
    }
    if raw.is_empty() {
        return Err(Rule::EmptyName);
    }
    let name = decode(raw, flags)?;
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Rule::ControlCharacter { code: c.into() });
    }
    if name.contains('\\') {
        return Err(Rule::Backslash);
    }
    if name.starts_with('/') {
        return Err(Rule::AbsolutePath);
    }
    if has_drive_letter(&name) {
        return Err(Rule::DriveLetter);
    }
    if name.split('/').any(|segment| segment == "..") {
        return Err(Rule::DotDot);
    }
    // `./` alone is the root folder that `bsdtar -cf fn.zip -C dir .` (and Windows'
    // `tar.exe`) writes: a directory entry every reader extracts as the folder itself.
    if segments(&name).next().is_none() && name != "./" {
        return Err(Rule::EmptyName);
    }
    Ok(name)
}

/// `C:…`: a letter and a colon.
fn has_drive_letter(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!((bytes.next(), bytes.next()), (Some(letter), Some(b':')) if letter.is_ascii_alphabetic())
}

/// The segments that name something: not empty, not `.`.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty() && *s != ".")
}

/// Whether the first `k` segments of `a` (all of them for `usize::MAX`) are `b`'s whole
/// name as extraction on a case-insensitive file system sees it: segments only (no empty
/// or `.` ones), ASCII case ignored.
fn same_path(a: &str, k: usize, b: &str) -> bool {
    let (mut x, mut y) = (segments(a).take(k), segments(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p.eq_ignore_ascii_case(q) => {}
            _ => return false,
        }
    }
}

/// Hashes of a name's path as [`same_path`] compares it: after each segment (the hash of
/// that prefix), the last one the whole path's. Keyed at random per archive, so crafted
/// names cannot collide on purpose.
fn path_hashes<'a>(state: &'a RandomState, name: &'a str) -> impl Iterator<Item = u64> + 'a {
    let mut hasher = state.build_hasher();
    segments(name).map(move |segment| {
        for b in segment.bytes() {
            hasher.write_u8(b.to_ascii_lowercase());
        }
        hasher.write_u8(b'/');
        hasher.clone().finish()
    })
}

/// No two entries may name the same path (once case and `/` runs are ignored), and no
/// entry may lie under a file or symlink — under either reading of a name that is not
/// flagged UTF-8: CP437 (APPNOTE, Python, Windows) and its bytes as UTF-8 (the zip crate,
/// Info-ZIP and libarchive on UTF-8 systems). Two names distinct in one reading may be
/// one path in the other.
pub(crate) fn check_unique(entries: &[Entry]) -> Result<(), ZipError> {
    check_unique_as(entries, Entry::name)?;
    check_unique_as(entries, Entry::utf8_reading)
}

/// [`check_unique`] for one reading of the names.
///
/// Each path's hash with its entry, sorted (12 bytes per entry, no copy of any name); then
/// equal neighbours are compared, and each folder of each name is looked up:
/// O(n log n + total name length).
fn check_unique_as(entries: &[Entry], name: fn(&Entry) -> &str) -> Result<(), ZipError> {
    let state = RandomState::new();
    let mut by_path: Vec<(u64, u32)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (path_hashes(&state, name(e)).last().unwrap_or(0), u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    by_path.sort_unstable();
    let at = |i: u32| entries.get(i as usize);
    // The entries whose path hashes to `h`, in central-directory order.
    let with_hash = |h: u64| {
        let from = by_path.partition_point(|&(x, _)| x < h);
        by_path.get(from..).unwrap_or_default().iter().take_while(move |&&(x, _)| x == h).filter_map(|&(_, i)| at(i))
    };
    for run in by_path.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
        for (k, &(_, later)) in run.iter().enumerate().skip(1) {
            let Some(e) = at(later) else { continue };
            let earlier = run.iter().take(k).filter_map(|&(_, i)| at(i));
            if let Some(other) = earlier.clone().find(|o| same_path(name(o), usize::MAX, name(e))) {
                return Err(ZipError::at(name(e), Rule::DuplicateName { other: name(other).to_owned() }));
            }
        }
    }
    for e in entries {
        let folders = segments(name(e)).count().saturating_sub(1);
        for (k, h) in path_hashes(&state, name(e)).enumerate().take(folders) {
            let file = with_hash(h).find(|o| o.kind != EntryKind::Directory && same_path(name(e), k + 1, name(o)));
            if let Some(file) = file {
                return Err(ZipError::at(name(e), Rule::FileUsedAsDirectory { file: name(file).to_owned() }));
            }
        }
    }
    Ok(())
}

/// Checks an Info-ZIP Unicode Path extra field (0x7075: version 1, CRC-32 of the header
/// name, UTF-8 name). Some readers use it instead of the header name, so it must name the
/// same file under one of the header name's readings (CP437 or UTF-8).
pub(crate) fn check_unicode_path(field: &[u8], raw: &[u8], decoded: &str) -> Result<(), Rule> {
    let mut r = crate::reader::Reader::new(field);
    let parsed = (|| {
        let version = r.array::<1>()?;
        let crc = r.u32_le()?;
        Some((version, crc, r.rest()))
    })();
    let Some(([1], crc, name)) = parsed else {
        return Err(Rule::UnicodePathMismatch);
    };
    let same = crc == crc32fast::hash(raw)
        && (name == decoded.as_bytes() || std::str::from_utf8(raw).is_ok_and(|utf8| utf8.as_bytes() == name));
    if same { Ok(()) } else { Err(Rule::UnicodePathMismatch) }
}

/// Checks a symlink's target: UTF-8 without control characters or backslashes, relative,
/// and resolving inside the package from the link's folder.
///
/// `..` may only lead the target: after a name, it would step back out of whatever that
/// name resolves to, which may be another symlink (`l -> .` makes `l/..` the parent of the
/// package). Leading `..` steps out of real folders, which the name rules keep inside.
pub(crate) fn check_symlink_target(link: &str, target: &[u8]) -> Result<(), Rule> {
    let bad = |problem: &str| Rule::BadSymlinkTarget { problem: problem.to_owned() };
    if target.is_empty() {
        return Err(bad("is empty"));
    }
    let text = std::str::from_utf8(target).map_err(|_| bad("is not valid UTF-8"))?;
    let outside = || Rule::SymlinkOutside { target: text.to_owned() };
    if text.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    if text.contains('\\') {
        return Err(bad("contains a backslash"));
    }
    if text.starts_with('/') || has_drive_letter(text) {
        return Err(outside());
    }
    // Folders between the package root and the link.
    let mut depth = segments(link).count().saturating_sub(1);
    let mut named = false;
    for segment in segments(text) {
        if segment != ".." {
            named = true;
        } else if named {
            return Err(outside());
        } else {
            depth = depth.checked_sub(1).ok_or_else(outside)?;
        }
    }
    Ok(())
}

/// CP437 code points for bytes 0x80–0xFF.
const CP437_HIGH: [char; 128] = [
    '\u{00C7}', '\u{00FC}', '\u{00E9}', '\u{00E2}', '\u{00E4}', '\u{00E0}', '\u{00E5}', '\u{00E7}', //
    '\u{00EA}', '\u{00EB}', '\u{00E8}', '\u{00EF}', '\u{00EE}', '\u{00EC}', '\u{00C4}', '\u{00C5}', //
    '\u{00C9}', '\u{00E6}', '\u{00C6}', '\u{00F4}', '\u{00F6}', '\u{00F2}', '\u{00FB}', '\u{00F9}', //
    '\u{00FF}', '\u{00D6}', '\u{00DC}', '\u{00A2}', '\u{00A3}', '\u{00A5}', '\u{20A7}', '\u{0192}', //
    '\u{00E1}', '\u{00ED}', '\u{00F3}', '\u{00FA}', '\u{00F1}', '\u{00D1}', '\u{00AA}', '\u{00BA}', //
    '\u{00BF}', '\u{2310}', '\u{00AC}', '\u{00BD}', '\u{00BC}', '\u{00A1}', '\u{00AB}', '\u{00BB}', //
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{2561}', '\u{2562}', '\u{2556}', //
    '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255D}', '\u{255C}', '\u{255B}', '\u{2510}', //
    '\u{2514}', '\u{2534}', '\u{252C}', '\u{251C}', '\u{2500}', '\u{253C}', '\u{255E}', '\u{255F}', //
    '\u{255A}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256C}', '\u{2567}', //
    '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}', '\u{2552}', '\u{2553}', '\u{256B}', //
    '\u{256A}', '\u{2518}', '\u{250C}', '\u{2588}', '\u{2584}', '\u{258C}', '\u{2590}', '\u{2580}', //
    '\u{03B1}', '\u{00DF}', '\u{0393}', '\u{03C0}', '\u{03A3}', '\u{03C3}', '\u{00B5}', '\u{03C4}', //
    '\u{03A6}', '\u{0398}', '\u{03A9}', '\u{03B4}', '\u{221E}', '\u{03C6}', '\u{03B5}', '\u{2229}', //
    '\u{2261}', '\u{00B1}', '\u{2265}', '\u{2264}', '\u{2320}', '\u{2321}', '\u{00F7}', '\u{2248}', //
    '\u{00B0}', '\u{2219}', '\u{00B7}', '\u{221A}', '\u{207F}', '\u{00B2}', '\u{25A0}', '\u{00A0}', //
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str) -> Result<String, Rule> {
        check_name(name.as_bytes(), FLAG_UTF8, 1024)
    }

    #[test]
    fn ordinary_names_pass() {
        for name in ["a", "a/b/c.txt", "dir/", "./a", "a/./b", "世界", "ab:c", "x/a:b", "..a/b..", "a/.../b"] {
            assert_eq!(check(name).as_deref(), Ok(name), "{name}");
        }
    }

    #[test]
    fn each_path_rule_is_named() {
        let cases: &[(&[u8], u16, Rule)] = &[
            (b"", 0, Rule::EmptyName),
            (b"././", 0, Rule::EmptyName),
            (b".//", 0, Rule::EmptyName),
            (b"/x", 0, Rule::AbsolutePath),
            (b"/", 0, Rule::AbsolutePath),
            (b"a/../b", 0, Rule::DotDot),
            (b"..", 0, Rule::DotDot),
            (b"a\\b", 0, Rule::Backslash),
            (b"C:/x", 0, Rule::DriveLetter),
            (b"c:x", 0, Rule::DriveLetter),
            (b"a\0b", 0, Rule::ControlCharacter { code: 0 }),
            (b"a\nb", 0, Rule::ControlCharacter { code: 10 }),
            (b"a\x7f", 0, Rule::ControlCharacter { code: 0x7f }),
            ("a\u{85}".as_bytes(), FLAG_UTF8, Rule::ControlCharacter { code: 0x85 }),
            (b"\xff", FLAG_UTF8, Rule::InvalidUtf8),
        ];
        for (raw, flags, rule) in cases {
            assert_eq!(check_name(raw, *flags, 1024), Err(rule.clone()), "{raw:?}");
        }
        assert_eq!(check_name(b"abcd", 0, 3), Err(Rule::NameTooLong { len: 4, max: 3 }));
    }

    #[test]
    fn names_without_the_utf8_flag_are_cp437() {
        assert_eq!(decode(b"filename_with_\x91o\x86.txt", 0).unwrap(), "filename_with_æoå.txt");
        assert_eq!(decode("世界".as_bytes(), 0).unwrap(), "Σ╕ûτòî", "what CP437 readers show");
        assert_eq!(cp437(&[0x80, 0xff, b'a']), "Ç\u{a0}a");
        let all: Vec<u8> = (0x80..=0xff).collect();
        assert_eq!(cp437(&all).chars().count(), 128);
    }

    #[test]
    fn paths_ignore_case_and_slash_runs_and_hash_alike() {
        let state = RandomState::new();
        let hashes = |name| path_hashes(&state, name).collect::<Vec<_>>();
        for (a, b) in [("A/B", "a/b"), ("a//b", "a/b"), ("a/b/", "a/b"), ("./a/./b", "a/b")] {
            assert!(same_path(a, usize::MAX, b), "{a} ~ {b}");
            assert_eq!(hashes(a), hashes(b), "{a} ~ {b}");
        }
        assert!(!same_path("a/b", usize::MAX, "a/bc"));
        assert_ne!(hashes("a/b"), hashes("a/bc"));
        // "ab/c" and "a/bc" are other paths: the separator is hashed too.
        assert_ne!(hashes("ab/c").last(), hashes("a/bc").last());
        // Prefixes: the folders of a path, one hash each.
        assert!(same_path("a/b/c", 2, "A/b"));
        assert_eq!(hashes("a/b/c")[1], *hashes("a/b").last().unwrap());
    }

    #[test]
    fn symlink_targets_must_stay_inside() {
        let ok = [("l", "a"), ("l", "."), ("d/l", "../x"), ("d/e/l", "../../x/y"), ("d/l", "./../x"), ("l", "a/b/")];
        for (link, target) in ok {
            assert_eq!(check_symlink_target(link, target.as_bytes()), Ok(()), "{link} -> {target}");
        }
        let outside = [
            ("l", ".."),
            ("l", "../target"),
            ("d/l", "../../x"),
            ("l", "/etc/passwd"),
            ("l", "C:/x"),
            ("l", "a/../b"),
            ("d/l", "x/../../y"),
        ];
        for (link, target) in outside {
            assert_eq!(
                check_symlink_target(link, target.as_bytes()),
                Err(Rule::SymlinkOutside { target: target.into() }),
                "{link} -> {target}"
            );
        }
        for target in [&b""[..], b"\xff", b"a\0", b"a\\b"] {
            assert!(matches!(check_symlink_target("l", target), Err(Rule::BadSymlinkTarget { .. })), "{target:?}");
        }
    }

    #[test]
    fn unicode_path_fields_must_name_the_same_file() {
        let raw = "世界".as_bytes();
        let field = |crc: u32, name: &[u8]| [&[1u8][..], &crc.to_le_bytes(), name].concat();
        let crc = crc32fast::hash(raw);
        let cp = cp437(raw);
        assert_eq!(check_unicode_path(&field(crc, raw), raw, &cp), Ok(()));
        assert_eq!(check_unicode_path(&field(crc, cp.as_bytes()), raw, &cp), Ok(()));
        assert_eq!(check_unicode_path(&field(crc, b"../evil"), raw, &cp), Err(Rule::UnicodePathMismatch));
        assert_eq!(check_unicode_path(&field(crc ^ 1, raw), raw, &cp), Err(Rule::UnicodePathMismatch));
        assert_eq!(check_unicode_path(&[1, 0], raw, &cp), Err(Rule::UnicodePathMismatch));
    }
}
