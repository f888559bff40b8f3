//! The layers of `src/` (README, "Layout"), checked: the pure core names no effect, the
//! library knows nothing of the command line, and clap lives in the binary (issue #15).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The code of a file, comments left out (doc comments may name anything).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Each file under `root` that names one of `words`, with the word.
fn offences(root: &Path, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for f in rust_files(root) {
        let code = code(&f);
        for w in words {
            if code.contains(w) {
                found.push(format!("{} names {w}", f.strip_prefix(root).unwrap_or(&f).display()));
            }
        }
    }
    found
}

fn src(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
}

/// What the pure core may not name: the edges (store, home, clock, locations), the use
/// cases above it, the async runtime, the file system and the environment.
const EFFECTS: &[&str] = &[
    "crate::store",
    "crate::home",
    "crate::clock",
    "crate::location",
    "crate::edge",
    "crate::ops",
    "crate::profiles",
    "crate::csc",
    "crate::jobs",
    "crate::judge",
    "crate::layers",
    "crate::signing",
    "crate::worker",
    "tokio",
    "object_store",
    "std::fs",
    "File::open",
    "std::env",
    "SystemTime",
];

#[test]
fn the_core_names_no_effect() {
    let found = offences(&src("src/core"), EFFECTS);
    assert!(found.is_empty(), "the pure core reaches an effect:\n{}", found.join("\n"));
}

#[test]
fn the_library_knows_nothing_of_the_command_line() {
    for dir in ["src/core", "src/ops", "src/edge", "src/serve"] {
        let found = offences(&src(dir), &["clap", "crate::cli", "anyhow", "indicatif"]);
        assert!(found.is_empty(), "{dir} depends on the command line:\n{}", found.join("\n"));
    }
}

#[test]
fn the_check_sees_an_offence() {
    // A core file that reaches the store is caught, and a comment that names it is not.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zipcheck")).unwrap();
    std::fs::write(dir.path().join("ok.rs"), "//! Reads no `crate::clock`.\nfn f() {}\n").unwrap();
    std::fs::write(dir.path().join("zipcheck/bad.rs"), "use crate::store::Store;\n").unwrap();
    assert_eq!(offences(dir.path(), EFFECTS), ["zipcheck/bad.rs names crate::store"]);
}
