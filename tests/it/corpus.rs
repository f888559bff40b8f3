//! The third-party corpus (`fixtures/third-party/`, vendored with each upstream and
//! licence): every zip there, with the outcome the gate must give and the rule it must
//! name (STYLE practice 7).
//!
//! Upstream projects accept some files that the gate refuses (a prefix, a truncated
//! comment, duplicate names, a symlink to `..`): the gate is stricter on purpose, and the
//! table records the rule. The corpus table in SECURITY.md is rendered from this table; run
//! with `UPDATE_CORPUS_MD=1` to rewrite it.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use signer::zipcheck::{self, InspectError, Inspected, Rule, ZipLimits};

use crate::util::corpus_dir;

/// What the gate must do with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Accepted.
    Accept,
    /// Refused, naming this rule ([`Rule::id`]).
    Refuse(&'static str),
}

use Expect::{Accept, Refuse};

/// Every file of the corpus (but its READMEs, checksums and base64 copies).
const CASES: &[(&str, Expect)] = &[
    ("elixir-unzip-malformed/abc.zip", Accept),
    ("elixir-unzip-malformed/bad_central_directory.zip", Refuse("malformed-central-directory")),
    ("elixir-unzip-malformed/bad_eocd.zip", Refuse("malformed-end-record")),
    ("elixir-unzip-malformed/bad_file_header.zip", Refuse("local-central-mismatch")),
    ("elixir-unzip-malformed/crc_mismatch.zip", Refuse("overlaps-central-directory")),
    ("go-archive-zip/comment-truncated.zip", Refuse("ambiguous-end-record")),
    ("go-archive-zip/crc32-not-streamed.zip", Accept),
    ("go-archive-zip/dd.zip", Accept),
    ("go-archive-zip/dupdir.zip", Refuse("duplicate-name")),
    ("go-archive-zip/from-reader_test/base-offset-plus-overflow.zip", Refuse("malformed-end-record")),
    ("go-archive-zip/from-reader_test/biggest.zip", Accept),
    ("go-archive-zip/from-reader_test/compressed-directory-jar.zip", Accept),
    ("go-archive-zip/from-reader_test/cve-2021-27919-dotdot-path.zip", Refuse("dot-dot")),
    ("go-archive-zip/from-reader_test/cve-2021-33196-huge-file-count.zip", Refuse("multi-disk")),
    ("go-archive-zip/from-reader_test/cve-2021-39293-dirsize-overflow.zip", Refuse("bytes-after-end-record")),
    ("go-archive-zip/from-reader_test/cve-2021-41772-slash-names.zip", Refuse("absolute-path")),
    ("go-archive-zip/from-reader_test/issue10956.zip", Refuse("inconsistent-zip64")),
    ("go-archive-zip/from-reader_test/issue10957.zip", Refuse("multi-disk")),
    ("go-archive-zip/from-reader_test/issue11146.zip", Refuse("multi-disk")),
    ("go-archive-zip/from-reader_test/issue12449.zip", Refuse("inconsistent-zip64")),
    ("go-archive-zip/from-reader_test/r.zip", Accept),
    ("go-archive-zip/go-no-datadesc-sig.zip", Refuse("data-descriptor")),
    ("go-archive-zip/go-with-datadesc-sig.zip", Accept),
    ("go-archive-zip/gophercolor16x16.png", Refuse("not-a-zip")),
    ("go-archive-zip/readme.notzip", Refuse("not-a-zip")),
    ("go-archive-zip/readme.zip", Refuse("bytes-after-end-record")),
    ("go-archive-zip/subdir.zip", Accept),
    ("go-archive-zip/symlink.zip", Refuse("symlink-outside")),
    ("go-archive-zip/test-badbase.zip", Refuse("central-directory-bounds")),
    ("go-archive-zip/test-baddirsz.zip", Refuse("central-directory-bounds")),
    ("go-archive-zip/test-prefix.zip", Refuse("bytes-after-end-record")),
    ("go-archive-zip/test-trailing-junk.zip", Refuse("bytes-after-end-record")),
    ("go-archive-zip/test.zip", Accept),
    ("go-archive-zip/time-22738.zip", Accept),
    ("go-archive-zip/time-7zip.zip", Accept),
    ("go-archive-zip/time-go.zip", Accept),
    ("go-archive-zip/time-infozip.zip", Accept),
    ("go-archive-zip/time-osx.zip", Accept),
    ("go-archive-zip/time-win7.zip", Accept),
    ("go-archive-zip/time-winrar.zip", Accept),
    ("go-archive-zip/time-winzip.zip", Accept),
    ("go-archive-zip/unix.zip", Accept),
    ("go-archive-zip/utf8-7zip.zip", Accept),
    ("go-archive-zip/utf8-infozip.zip", Accept),
    ("go-archive-zip/utf8-osx.zip", Accept),
    ("go-archive-zip/utf8-winrar.zip", Accept),
    ("go-archive-zip/utf8-winzip.zip", Accept),
    ("go-archive-zip/winxp.zip", Accept),
    ("go-archive-zip/zip64-2.zip", Accept),
    ("go-archive-zip/zip64.zip", Accept),
    ("python-zipfile/from-test_core/bad-crc-bzip2.zip", Refuse("unsupported-method")),
    ("python-zipfile/from-test_core/bad-crc-deflate.zip", Refuse("crc-mismatch")),
    ("python-zipfile/from-test_core/bad-crc-lzma.zip", Refuse("unsupported-method")),
    ("python-zipfile/from-test_core/bad-crc-stored.zip", Refuse("crc-mismatch")),
    ("python-zipfile/from-test_core/bad-crc-zstd.zip", Refuse("unsupported-method")),
    ("python-zipfile/from-test_core/overlap-full-different-names.zip", Refuse("overlapping-entries")),
    ("python-zipfile/from-test_core/overlap-full-different-names2.zip", Refuse("overlapping-entries")),
    ("python-zipfile/from-test_core/overlap-full-same-name.zip", Refuse("duplicate-name")),
    ("python-zipfile/from-test_core/overlap-quoted.zip", Refuse("overlapping-entries")),
    ("python-zipfile/from-test_core/overlap-with-archive-comment.zip", Refuse("overlaps-central-directory")),
    ("python-zipfile/from-test_core/overlap-with-central-dir.zip", Refuse("overlaps-central-directory")),
    ("python-zipfile/zip_cp437_header.zip", Accept),
    ("python-zipfile/zipdir.zip", Accept),
    ("python-zipfile/zipdir_backslash.zip", Refuse("backslash")),
    ("zip-bombs/elixir-unzip/full_overlap.zip", Refuse("overlapping-entries")),
    ("zip-bombs/elixir-unzip/quoted_overlap.zip", Refuse("overlapping-entries")),
    ("zip-bombs/fifield/overlap.zip", Refuse("overlapping-entries")),
    ("zip-bombs/fifield/zbbz2.zip", Refuse("unsupported-method")),
    ("zip-bombs/fifield/zblg.zip", Refuse("overlapping-entries")),
    ("zip-bombs/fifield/zbsm.extra.zip", Refuse("overlapping-entries")),
    ("zip-bombs/fifield/zbsm.zip", Refuse("overlapping-entries")),
];

/// Why the outcome is what it is, where upstream expects otherwise or it is not obvious.
const NOTES: &[(&str, &str)] = &[
    (
        "elixir-unzip-malformed/bad_file_header.zip",
        "local header overwritten with `x`: its flags disagree with the central directory",
    ),
    (
        "elixir-unzip-malformed/crc_mismatch.zip",
        "the central directory declares 20 compressed bytes where the data has 6, so the entry runs into the \
         central directory before its CRC-32 is even checked",
    ),
    (
        "go-archive-zip/comment-truncated.zip",
        "Go issue 66869: the last end record is cut off and an earlier one would fit",
    ),
    ("go-archive-zip/dupdir.zip", "Go opens it: `a/b` is both a file and a directory"),
    (
        "go-archive-zip/from-reader_test/biggest.zip",
        "one level: `bigger.zip`, 18,404 bytes; only recursive extraction explodes, and Lambda extracts one level",
    ),
    (
        "go-archive-zip/from-reader_test/cve-2021-33196-huge-file-count.zip",
        "the ZIP64 end record says 1 entry on this disk of 2^64 − 1 in all; a huge count on one disk is \
         refused as too-many-entries before any allocation (see zipgate.rs)",
    ),
    (
        "go-archive-zip/from-reader_test/cve-2021-39293-dirsize-overflow.zip",
        "the last end record's comment stops 1 byte short of the end of the file",
    ),
    (
        "go-archive-zip/from-reader_test/issue12449.zip",
        "Go opens it; bytes before the end record look like a ZIP64 locator, which readers that always \
         honour a locator (CPython) follow: two readings, refused",
    ),
    (
        "go-archive-zip/from-reader_test/r.zip",
        "the quine is well-formed: one entry of 440 bytes; only recursive extraction never ends",
    ),
    (
        "go-archive-zip/go-no-datadesc-sig.zip",
        "Go opens it; a stored entry whose data descriptor has no signature: a streaming reader \
         (libarchive) cannot find where its data ends",
    ),
    ("go-archive-zip/readme.zip", "Go opens it: the comment length is 1 byte short of the bytes that follow"),
    ("go-archive-zip/symlink.zip", "Go opens it: `symlink` → `../target` leaves the package"),
    ("go-archive-zip/test-badbase.zip", "Go opens it by guessing a base offset"),
    ("go-archive-zip/test-baddirsz.zip", "Go opens it despite the wrong central directory size"),
    (
        "go-archive-zip/test-prefix.zip",
        "Go opens it; it has 14 trailing bytes as well as the 43-byte prefix (which alone is refused as \
         bytes-before-first-entry, see zipgate.rs)",
    ),
    ("go-archive-zip/test-trailing-junk.zip", "Go opens it"),
    ("go-archive-zip/utf8-osx.zip", "no UTF-8 flag: the name is read as CP437"),
    ("python-zipfile/from-test_core/overlap-full-same-name.zip", "two entries named `a` at one local header"),
    ("python-zipfile/zip_cp437_header.zip", "CP437 name `filename_with_æoå.txt`"),
    ("python-zipfile/zipdir_backslash.zip", "CPython extracts `a\\b\\c` as a literal name on POSIX"),
    ("zip-bombs/fifield/zbbz2.zip", "bzip2 bomb: refused by method before its layout is checked"),
    ("zip-bombs/fifield/zblg.zip", "281 TB declared; refused from the central directory alone"),
];

/// A generous bound for one file; the gate takes milliseconds.
const PER_FILE: Duration = Duration::from_secs(10);

fn corpus_files() -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if path.is_dir() {
                walk(root, &path, out);
            } else if !(rel.ends_with("README.md") || rel == "SHA256SUMS" || rel.ends_with(".base64")) {
                out.push(rel);
            }
        }
    }
    let root = corpus_dir();
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    files.sort();
    files
}

/// The gate's verdict on one corpus file, read through a `File` as a signer would.
fn run(rel: &str) -> (Result<Inspected, zipcheck::ZipError>, Duration) {
    let mut file = File::open(corpus_dir().join(rel)).unwrap();
    let start = Instant::now();
    let outcome = match zipcheck::inspect(&mut file, &ZipLimits::default()) {
        Ok((_, inspected)) => Ok(inspected),
        Err(InspectError::Zip(e)) => Err(e),
        Err(InspectError::Io(e)) => panic!("{rel}: I/O error: {e}"),
    };
    (outcome, start.elapsed())
}

#[test]
fn every_corpus_file_is_in_the_table() {
    let files = corpus_files();
    let listed: Vec<&str> = CASES.iter().map(|(rel, _)| *rel).collect();
    let missing: Vec<&String> = files.iter().filter(|f| !listed.contains(&f.as_str())).collect();
    assert!(missing.is_empty(), "corpus files missing from CASES: {missing:?}");
    let stale: Vec<&&str> = listed.iter().filter(|l| !files.iter().any(|f| f == *l)).collect();
    assert!(stale.is_empty(), "CASES entries with no file: {stale:?}");
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "a file is listed twice");
    for (rel, expect) in CASES {
        if let Refuse(id) = expect {
            assert!(Rule::IDS.contains(id), "{rel}: no rule {id:?}");
        }
    }
    for (rel, _) in NOTES {
        assert!(listed.contains(rel), "note for an unlisted file {rel}");
    }
}

#[test]
fn every_corpus_file_gets_its_outcome_in_bounded_time() {
    let mut wrong = Vec::new();
    for (rel, expect) in CASES {
        let (outcome, elapsed) = run(rel);
        assert!(elapsed < PER_FILE, "{rel} took {elapsed:?}");
        let got = match &outcome {
            Ok(_) => Accept,
            Err(e) => Refuse(e.rule().id()),
        };
        if got != *expect {
            let detail = outcome.map_or_else(|e| e.to_string(), |i| format!("{i:?}"));
            wrong.push(format!("{rel}: expected {expect:?}, got {got:?}: {detail}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The markdown table of outcomes, from [`CASES`], [`NOTES`] and a run of the gate.
fn render() -> String {
    let mut md = String::from("| file | outcome | rule | note |\n|---|---|---|---|\n");
    for (rel, _) in CASES {
        let (outcome, _) = run(rel);
        let (verdict, rule) = match outcome {
            Ok(i) => {
                let entries = if i.entries == 1 { "entry" } else { "entries" };
                (format!("accept ({} {entries}, {} bytes unzipped)", i.entries, i.unzipped_size), String::new())
            }
            Err(e) => ("refuse".to_owned(), format!("`{}`", e.rule().id())),
        };
        let note = NOTES.iter().find(|(n, _)| n == rel).map_or("", |(_, note)| note);
        md.push_str(&format!("| `{rel}` | {verdict} | {rule} | {note} |\n"));
    }
    md
}

const TABLE_BEGIN: &str = "<!-- corpus-table:begin (generated by tests/it/corpus.rs) -->\n";
const TABLE_END: &str = "<!-- corpus-table:end -->";

#[test]
fn the_corpus_table_in_security_md_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("SECURITY.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (before, rest) = doc.split_once(TABLE_BEGIN).expect("SECURITY.md has the corpus-table markers");
    let (table, after) = rest.split_once(TABLE_END).expect("SECURITY.md has the corpus-table end marker");
    let md = render();
    if std::env::var_os("UPDATE_CORPUS_MD").is_some() {
        std::fs::write(&path, format!("{before}{TABLE_BEGIN}{md}{TABLE_END}{after}")).unwrap();
    } else {
        assert!(table == md, "the corpus table in SECURITY.md is out of date: run with UPDATE_CORPUS_MD=1");
    }
}
