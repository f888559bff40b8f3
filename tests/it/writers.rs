//! Real zip writers (issue #11, point 5): a small but realistic function tree, zipped by
//! every writer people package functions with (Info-ZIP, Python's zipfile, bsdtar, 7-Zip,
//! jar, Go's archive/zip, yazl, archiver, jszip, adm-zip), signs and verifies, and every
//! reader agrees with the source tree on the SIGNED package: `unzip -Z1` and `unzip -t`,
//! Python's zipfile (the central directory, with the entries' bytes), and a streaming read
//! from a pipe (`bsdtar -tvf -` and `bsdtar -xf -`, whose extracted bytes are compared with
//! the source). A tree of 70,000 files (ZIP64, more than 65,535 entries) goes through
//! Python and Info-ZIP the same way.
//!
//! The writers are real programs: `scripts/test.sh` installs them (Debian's zip, unzip,
//! libarchive-tools and p7zip-full; the npm libraries of `tests/writers/package.json` into
//! `target/npm-writers`) and sets `SIGNER_TEST_WRITERS=1`, in which mode a missing writer
//! fails the test. Under plain `cargo test` a missing writer is skipped with a notice. Go is
//! optional in both modes (its row runs where `go` is on the PATH).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::util::{Env, Run};

/// What a writer is expected to make of the tree's directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dirs {
    /// An entry for every directory.
    All,
    /// Entries for the empty directories only (the others are implied by their files).
    EmptyOnly,
    /// No directory entries at all (files only).
    None,
}

/// What a writer does with a symlink in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Links {
    /// Stored as a link: Unix mode 0o120777, the target as the entry's bytes.
    Kept,
    /// Followed: stored as a regular file with the target's bytes.
    Followed,
}

/// What `signer sign` must do with the writer's zip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Signs, verifies, and every reader sees the source tree in the signed package.
    Accepted,
    /// Refused with exit 3 and a message that contains this text.
    Refused(&'static str),
}

/// One writer: a shell script run with `$SRC` (the tree), `$OUT` (the zip to write) and
/// `$W` (tests/writers) set, in `$SRC`.
struct Writer {
    name: &'static str,
    /// The programs it needs on the PATH.
    needs: &'static [&'static str],
    /// The npm package it needs under the writers' node_modules.
    npm: Option<&'static str>,
    /// Runs even in strict mode only where its programs exist.
    optional: bool,
    script: &'static str,
    dirs: Dirs,
    links: Links,
    /// Entries the writer adds beyond the tree (present, contents not compared).
    extra: &'static [&'static str],
    /// Debian's `unzip` shows this writer's non-ASCII names through the MS-DOS code page
    /// (made-by host 0, although the UTF-8 flag is set), on its zip as on the signed package:
    /// `unzip -Z1` is then held to the source for ASCII names only.
    unzip_oem_names: bool,
    expect: Expect,
}

const fn w(
    name: &'static str,
    needs: &'static [&'static str],
    script: &'static str,
    dirs: Dirs,
    links: Links,
) -> Writer {
    Writer {
        name,
        needs,
        npm: None,
        optional: false,
        script,
        dirs,
        links,
        extra: &[],
        unzip_oem_names: false,
        expect: Expect::Accepted,
    }
}

const fn npm(name: &'static str, package: &'static str, script: &'static str, dirs: Dirs, links: Links) -> Writer {
    Writer { npm: Some(package), ..w(name, &["node"], script, dirs, links) }
}

/// The writers and what each must give: the behaviour issue #11 wants.
const WRITERS: &[Writer] = &[
    w("zip -r", &["zip"], r#"zip -qr "$OUT" ."#, Dirs::All, Links::Followed),
    w("zip -r -y", &["zip"], r#"zip -qry "$OUT" ."#, Dirs::All, Links::Kept),
    w("zip -r -X", &["zip"], r#"zip -qrX "$OUT" ."#, Dirs::All, Links::Followed),
    w("zip -r -0 (stored)", &["zip"], r#"zip -qr0 "$OUT" ."#, Dirs::All, Links::Followed),
    // Not seekable: data descriptors after every file's data (the empty file's too, stored).
    w("zip -r - to a pipe", &["zip"], r#"zip -qr - . | cat > "$OUT""#, Dirs::All, Links::Followed),
    w("python zipfile deflate", &["python3"], r#"python3 "$W/pyzip.py" deflate "$SRC" "$OUT""#, Dirs::All, Links::Kept),
    w("python zipfile stored", &["python3"], r#"python3 "$W/pyzip.py" stored "$SRC" "$OUT""#, Dirs::All, Links::Kept),
    w("python3 -m zipfile -c", &["python3"], r#"python3 -m zipfile -c "$OUT" ."#, Dirs::All, Links::Followed),
    // A `./` root entry, and every name under `./`.
    w("bsdtar -a -cf", &["bsdtar"], r#"bsdtar -a -cf "$OUT" -C "$SRC" ."#, Dirs::All, Links::Kept),
    // To a pipe bsdtar pads its output with zeros to whole 10,240-byte blocks.
    w(
        "bsdtar --format zip to a pipe",
        &["bsdtar"],
        r#"bsdtar --format zip -cf - -C "$SRC" . | cat > "$OUT""#,
        Dirs::All,
        Links::Kept,
    ),
    w("7z a -tzip", &["7z"], r#"7z a -tzip -bd -bso0 "$OUT" ."#, Dirs::All, Links::Kept),
    Writer {
        extra: &["META-INF/", "META-INF/MANIFEST.MF"],
        unzip_oem_names: true,
        ..w("jar cf", &["jar"], r#"jar cf "$OUT" -C "$SRC" ."#, Dirs::All, Links::Followed)
    },
    Writer {
        optional: true,
        ..w("go archive/zip", &["go"], r#"cd "$W" && go run gozip.go "$SRC" "$OUT""#, Dirs::All, Links::Kept)
    },
    npm("yazl", "yazl", r#"node "$W/zip.js" yazl "$SRC" "$OUT""#, Dirs::EmptyOnly, Links::Kept),
    Writer {
        expect: Expect::Refused("forceZip64Format"),
        ..npm(
            "yazl forceZip64Format (one file)",
            "yazl",
            r#"node "$W/zip.js" yazl-zip64 "$SRC" "$OUT" pkg/core/util.py"#,
            Dirs::EmptyOnly,
            Links::Kept,
        )
    },
    npm(
        "archiver (as serverless)",
        "archiver",
        r#"node "$W/zip.js" archiver "$SRC" "$OUT""#,
        Dirs::None,
        Links::Followed,
    ),
    npm("jszip", "jszip", r#"node "$W/zip.js" jszip "$SRC" "$OUT""#, Dirs::All, Links::Kept),
    npm("adm-zip addLocalFolder", "adm-zip", r#"node "$W/zip.js" adm-zip "$SRC" "$OUT""#, Dirs::All, Links::Followed),
];

/// The writers of the 70,000-file tree.
const BIG_WRITERS: &[Writer] = &[
    w(
        "python zipfile, 70,000 files",
        &["python3"],
        r#"python3 "$W/pyzip.py" deflate "$SRC" "$OUT""#,
        Dirs::All,
        Links::Kept,
    ),
    w("zip -r, 70,000 files", &["zip"], r#"zip -qr "$OUT" ."#, Dirs::All, Links::Followed),
];

/// The readers every accepted row is read back with.
const READERS: &[&str] = &["unzip", "python3", "bsdtar", "sh", "cat"];

#[test]
fn every_writer_s_zip_signs_verifies_and_reads_back_as_the_source_tree() {
    let src = scratch();
    function_tree(src.path());
    run_table(WRITERS, src.path());
}

#[test]
fn seventy_thousand_files_zip64_from_python_and_info_zip() {
    let src = scratch();
    for d in 0..70 {
        let dir = src.path().join(format!("d{d:02}"));
        std::fs::create_dir(&dir).unwrap();
        for i in 0..1000 {
            std::fs::write(dir.join(format!("f{i:04}.txt")), format!("{d}/{i}\n")).unwrap();
        }
    }
    run_table(BIG_WRITERS, src.path());
}

/// A function as people deploy one: a handler, a package with an empty `__init__.py` and a
/// nested package, a file with a UTF-8 name, a node_modules subtree with a symlink to a
/// sibling file, an executable script, an empty directory, and a blob worth deflating.
fn function_tree(root: &Path) {
    let file = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    file(
        "handler.py",
        b"import json\n\nfrom pkg.core.util import add\n\n\ndef handler(event, context):\n    return {\"statusCode\": 200, \"body\": json.dumps(add(1, 2))}\n",
    );
    file("requirements.txt", b"requests==2.32.3\n");
    file("pkg/__init__.py", b"");
    file("pkg/core/__init__.py", b"from .util import add\n");
    file("pkg/core/util.py", b"def add(a, b):\n    return a + b\n");
    file("pkg/naïve café ü.txt", "déjà vu — ünïcödé\n".as_bytes());
    let mut blob: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    blob.extend(b"abc".repeat(30_000));
    file("pkg/core/blob.bin", &blob);
    file(
        "node_modules/left-pad/package.json",
        b"{\"name\":\"left-pad\",\"version\":\"1.3.0\",\"main\":\"index.js\"}\n",
    );
    file("node_modules/left-pad/index.js", b"module.exports = (s, n) => String(s).padStart(n);\n");
    std::os::unix::fs::symlink("index.js", root.join("node_modules/left-pad/main.js")).unwrap();
    file("bin/tool.sh", b"#!/bin/sh\necho tool\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("bin/tool.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(root.join("empty")).unwrap();
}

/// Runs every row (two at a time), then fails once, listing every row that failed.
fn run_table(rows: &'static [Writer], src: &Path) {
    let strict = std::env::var_os("SIGNER_TEST_WRITERS").is_some_and(|v| v == "1");
    let missing_readers: Vec<&str> = READERS.iter().copied().filter(|r| !on_path(r)).collect();
    if !missing_readers.is_empty() {
        assert!(!strict, "SIGNER_TEST_WRITERS=1 but these readers are missing: {missing_readers:?}");
        eprintln!("skipping the writers test: no {missing_readers:?} (scripts/test.sh installs them)");
        return;
    }
    let tree = read_source(src);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(row) = rows.get(i) else { break };
                    let outcome = match missing(row) {
                        Some(what) if strict && !row.optional => {
                            Err(format!("SIGNER_TEST_WRITERS=1 but the writer is missing: {what}"))
                        }
                        Some(what) => {
                            eprintln!("writers: skipping `{}`: {what} (scripts/test.sh installs it)", row.name);
                            Ok("skipped")
                        }
                        None => check_row(row, src, &tree).map(|()| "ok"),
                    };
                    results.lock().unwrap().push((i, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut failed = Vec::new();
    for (i, outcome) in &results {
        let name = rows[*i].name;
        match outcome {
            Ok(what) => eprintln!("writers: {name}: {what}"),
            Err(e) => {
                eprintln!("writers: {name}: FAILED: {e}");
                failed.push(format!("`{name}`: {e}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} of {} writers failed:\n{}", failed.len(), rows.len(), failed.join("\n"));
}

/// A temporary directory for a tree of many small files: in memory (`/dev/shm`) where there
/// is one, as creating 70,000 files on a busy disk takes a minute and on tmpfs two seconds.
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("signer-writers-").tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap()
}

/// Why a row cannot run here, if it cannot.
fn missing(row: &Writer) -> Option<String> {
    if let Some(p) = row.needs.iter().find(|p| !on_path(p)) {
        return Some(format!("no `{p}` on the PATH"));
    }
    if let Some(pkg) = row.npm {
        let dir = node_modules().join(pkg);
        if !dir.join("package.json").is_file() {
            return Some(format!("no npm package {pkg} at {}", dir.display()));
        }
    }
    None
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The writers' node_modules: `SIGNER_TEST_NODE_MODULES`, or where scripts/test.sh puts it.
fn node_modules() -> PathBuf {
    std::env::var_os("SIGNER_TEST_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm-writers/node_modules"))
}

fn writers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/writers")
}

/// A command in the UTF-8 locale (names with non-ASCII bytes must not be escaped).
fn command(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("LC_ALL", "C.UTF-8").env("LANG", "C.UTF-8");
    c
}

/// Runs `sh -c SCRIPT sh ARGS…`.
fn sh(script: &str, args: &[&Path]) -> Run {
    command("sh").arg("-c").arg(script).arg("sh").args(args).output().unwrap().into()
}

fn check_row(row: &Writer, src: &Path, tree: &Tree) -> Result<(), String> {
    let env = Env::new();
    let zip = env.path("fn.zip");
    let made: Run = command("sh")
        .arg("-c")
        .arg(row.script)
        .current_dir(src)
        .env("SRC", src)
        .env("OUT", &zip)
        .env("W", writers_dir())
        .env("NODE_PATH", node_modules())
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap()
        .into();
    if made.code != 0 || !zip.is_file() {
        return Err(format!("the writer failed (exit {}): {}{}", made.code, made.stdout, made.stderr));
    }

    env.run(["init"]).expect(0);
    env.json(["profile", "create", "Writers"]).expect(0);
    let signed = env.path("fn.signed.zip");
    let sign = env.json(["sign", "--profile", "Writers", zip.to_str().unwrap(), "-o", signed.to_str().unwrap()]);
    match row.expect {
        Expect::Refused(needle) => {
            let message = error_message(&sign);
            if sign.code != 3 || !message.contains(needle) {
                return Err(format!("expected exit 3 naming {needle:?}, got exit {}: {message}", sign.code));
            }
            if signed.exists() {
                return Err("a refused sign left its output behind".into());
            }
            return Ok(());
        }
        Expect::Accepted if sign.code != 0 => {
            return Err(format!("sign exit {}: {}", sign.code, error_message(&sign)));
        }
        Expect::Accepted => {}
    }
    let verify = env.json(["verify", signed.to_str().unwrap()]);
    if verify.code != 0 {
        return Err(format!("verify exit {}: {}{}", verify.code, verify.stdout, verify.stderr));
    }
    let decision = verify.json()["decision"].clone();
    if decision != "allow" {
        return Err(format!("verify decided {decision}: {}", verify.stdout));
    }

    let expected = expected_entries(row, tree);
    let extra: BTreeSet<&str> = row.extra.iter().copied().collect();

    // Info-ZIP: the names (as it lists the writer's own zip), and every entry's CRC.
    let listed = sh(r#"unzip -Z1 "$1""#, &[&signed]);
    if listed.code != 0 {
        return Err(format!("unzip -Z1 exit {}: {}", listed.code, listed.stderr));
    }
    let unsigned = sh(r#"unzip -Z1 "$1""#, &[&zip]);
    if unsigned.stdout != listed.stdout {
        return Err(format!(
            "unzip -Z1 lists the signed package otherwise than the writer's zip:\n{}\nvs\n{}",
            listed.stdout, unsigned.stdout
        ));
    }
    let mut unzip_names: View = listed.stdout.lines().filter_map(norm).map(|n| (n, String::new())).collect();
    let mut want = project(&expected, Detail::Names);
    if row.unzip_oem_names {
        let non_ascii = |v: &View| v.keys().filter(|n| !n.is_ascii()).count();
        if non_ascii(&unzip_names) != non_ascii(&want) {
            return Err(format!(
                "unzip -Z1 on the signed package: not as many non-ASCII names as the source: {unzip_names:?}"
            ));
        }
        unzip_names.retain(|n, _| n.is_ascii());
        want.retain(|n, _| n.is_ascii());
    }
    compare("unzip -Z1", &unzip_names, &want, &extra)?;
    let tested = sh(r#"unzip -tq "$1""#, &[&signed]);
    if tested.code != 0 {
        return Err(format!("unzip -tq exit {}: {}{}", tested.code, tested.stdout, tested.stderr));
    }

    // Python's zipfile: the central directory, kinds and bytes.
    let py = command("python3").arg("-c").arg(PY_READER).arg(&signed).output().unwrap();
    let py: Run = py.into();
    if py.code != 0 {
        return Err(format!("python zipfile exit {}: {}", py.code, py.stderr));
    }
    let rows: Vec<(String, String, String)> = serde_json::from_str(&py.stdout).unwrap();
    let python: View = rows
        .into_iter()
        .filter_map(|(name, kind, data)| norm(&name).map(|n| (n, describe_seen(&kind, &data))))
        .collect();
    compare("python zipfile", &python, &project(&expected, Detail::Full), &extra)?;

    // Streaming from a pipe: libarchive sees only the local headers, so a symlink is a file
    // holding its target, and sizes written after the data are not known while listing.
    let streamed = streaming(&expected);
    let listing = sh(r#"cat "$1" | bsdtar -tvf -"#, &[&signed]);
    if listing.code != 0 {
        return Err(format!("cat | bsdtar -tvf - exit {}: {}", listing.code, listing.stderr));
    }
    let bsdtar: View = listing.stdout.lines().filter_map(parse_tv).collect();
    compare("cat | bsdtar -tvf -", &bsdtar, &project(&streamed, Detail::Kinds), &extra)?;
    let out = scratch();
    let extracted = sh(r#"cat "$1" | bsdtar -xf - -C "$2""#, &[&signed, out.path()]);
    if extracted.code != 0 {
        return Err(format!("cat | bsdtar -xf - exit {}: {}", extracted.code, extracted.stderr));
    }
    let on_disk = project(&read_source(out.path()), Detail::Full);
    compare("cat | bsdtar -xf - (extracted)", &on_disk, &project(&with_parents(&streamed), Detail::Full), &extra)?;
    Ok(())
}

/// The message of a `--output json` error, or what the command printed.
fn error_message(run: &Run) -> String {
    serde_json::from_str::<serde_json::Value>(&run.stdout)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{}{}", run.stdout, run.stderr))
}

/// Lists a zip with Python's zipfile as JSON [name, kind, sha256-or-target]. A name
/// without the UTF-8 flag is taken as the raw bytes it was written as (Info-ZIP writes
/// UTF-8 names without the flag; zipfile decodes those as CP437).
const PY_READER: &str = r#"
import hashlib, json, stat, sys, zipfile
out = []
with zipfile.ZipFile(sys.argv[1]) as zf:
    assert zf.testzip() is None
    for info in zf.infolist():
        name = info.orig_filename
        if not info.flag_bits & 0x800:
            name = name.encode("cp437").decode("utf-8", "replace")
        data = zf.read(info)
        if name.endswith("/"):
            out.append([name, "dir", ""])
        elif stat.S_ISLNK(info.external_attr >> 16):
            out.append([name, "link", data.decode("utf-8", "replace")])
        else:
            out.append([name, "file", hashlib.sha256(data).hexdigest()])
print(json.dumps(out))
"#;

/// One node of a tree: a directory, a file's bytes, or a symlink's target.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(Vec<u8>),
    Link(String),
}

/// Relative paths (`/`-separated, directories ending in `/`) to their nodes.
type Tree = BTreeMap<String, Node>;

/// What a reader saw: a name and a description of the entry at the detail it can see.
type View = BTreeMap<String, String>;

#[derive(Clone, Copy)]
enum Detail {
    Names,
    Kinds,
    Full,
}

fn project(tree: &Tree, detail: Detail) -> View {
    tree.iter()
        .map(|(name, node)| {
            let d = match (detail, node) {
                (Detail::Names, _) => String::new(),
                (_, Node::Dir) => "dir".to_owned(),
                (Detail::Kinds, Node::File(_)) => "file".to_owned(),
                (Detail::Kinds, Node::Link(t)) => format!("link -> {t}"),
                (Detail::Full, Node::File(bytes)) => format!("file sha256:{}", hex::encode(Sha256::digest(bytes))),
                (Detail::Full, Node::Link(t)) => format!("link -> {t}"),
            };
            (name.clone(), d)
        })
        .collect()
}

fn describe_seen(kind: &str, data: &str) -> String {
    match kind {
        "dir" => "dir".to_owned(),
        "link" => format!("link -> {data}"),
        _ => format!("file sha256:{data}"),
    }
}

/// Compares what a reader saw with what it should see; the writer's own extra entries must
/// be there, and are not compared.
fn compare(reader: &str, seen: &View, want: &View, extra: &BTreeSet<&str>) -> Result<(), String> {
    let mut problems = Vec::new();
    for e in extra {
        if !seen.contains_key(*e) {
            problems.push(format!("the writer's entry {e:?} is missing"));
        }
    }
    for (name, d) in want {
        match seen.get(name) {
            None => problems.push(format!("missing {name:?}")),
            Some(s) if s != d => problems.push(format!("{name:?} is {s:?}, the source has {d:?}")),
            Some(_) => {}
        }
    }
    for name in seen.keys() {
        if !want.contains_key(name) && !extra.contains(name.as_str()) {
            problems.push(format!("unexpected {name:?}"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("{reader} on the signed package: {}", problems.join("; "))) }
}

/// A name as a reader printed it, without a leading `./`; `None` for the root itself.
fn norm(name: &str) -> Option<String> {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    (!n.is_empty() && n != ".").then(|| n.to_owned())
}

/// One line of `bsdtar -tv`: `MODE LINKS OWNER GROUP SIZE MON DAY TIME NAME[ -> TARGET]`.
fn parse_tv(line: &str) -> Option<(String, String)> {
    let mut rest = line;
    for _ in 0..8 {
        rest = rest.trim_start();
        rest = &rest[rest.find(' ')?..];
    }
    let rest = &rest[1..];
    let kind = line.chars().next()?;
    let (name, d) = match kind {
        'd' => (rest.to_owned(), "dir".to_owned()),
        'l' => {
            let (n, t) = rest.split_once(" -> ")?;
            (n.to_owned(), format!("link -> {t}"))
        }
        _ => (rest.to_owned(), "file".to_owned()),
    };
    norm(&name).map(|n| (n, d))
}

/// The tree under `root`, as [`Tree`].
fn read_source(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.insert(rel, Node::Link(std::fs::read_link(&path).unwrap().to_str().unwrap().to_owned()));
            } else if meta.is_dir() {
                out.insert(format!("{rel}/"), Node::Dir);
                walk(root, &path, out);
            } else {
                out.insert(rel, Node::File(std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

/// The entries a writer makes of the tree.
fn expected_entries(row: &Writer, tree: &Tree) -> Tree {
    let mut out = Tree::new();
    for (name, node) in tree {
        match node {
            Node::Dir => {
                let empty = !tree.keys().any(|k| k != name && k.starts_with(name.as_str()));
                if row.dirs == Dirs::All || (row.dirs == Dirs::EmptyOnly && empty) {
                    out.insert(name.clone(), Node::Dir);
                }
            }
            Node::File(_) => {
                out.insert(name.clone(), node.clone());
            }
            Node::Link(target) => {
                let node = match row.links {
                    Links::Kept => node.clone(),
                    Links::Followed => {
                        let parent = name.rsplit_once('/').map_or("", |(p, _)| p);
                        let at = if parent.is_empty() { target.clone() } else { format!("{parent}/{target}") };
                        tree.get(&at).cloned().unwrap_or_else(|| panic!("{name} -> {at}: not in the tree"))
                    }
                };
                out.insert(name.clone(), node);
            }
        }
    }
    out
}

/// What a streaming reader makes of the entries: a symlink is a file holding its target.
fn streaming(entries: &Tree) -> Tree {
    entries
        .iter()
        .map(|(name, node)| {
            let node = match node {
                Node::Link(t) => Node::File(t.as_bytes().to_vec()),
                other => other.clone(),
            };
            (name.clone(), node)
        })
        .collect()
}

/// The entries and every directory they imply, as extraction creates them.
fn with_parents(entries: &Tree) -> Tree {
    let mut out = entries.clone();
    for name in entries.keys() {
        let mut end = 0;
        while let Some(i) = name[end..].find('/') {
            end += i + 1;
            if end < name.len() {
                out.entry(name[..end].to_owned()).or_insert(Node::Dir);
            }
        }
    }
    out
}
