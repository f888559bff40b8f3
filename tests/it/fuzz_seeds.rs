//! Replays every committed fuzz seed and finding (`fuzz/seeds/<target>/`) through the
//! fuzz entry points, so `cargo test` catches a regression without a fuzzer.

use std::path::{Path, PathBuf};

/// The `zip` crate's view of the `zip_differential` target, shared with the fuzz crate
/// (which has the `zip` crate as a dependency; the signer crate only as a dev-dependency).
#[path = "../../fuzz/src/lib.rs"]
mod zip_crate_view;

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out
}

#[test]
fn zip_inspect_seeds() {
    for (_, data) in seeds("zip_inspect") {
        signer::fuzzing::zip_inspect(&data);
    }
}

/// A committed finding (`crash-…`, as cargo fuzz names them) need not pass the gate; the
/// other seeds are valid zips that must, or the differential target compares nothing.
fn is_finding(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("crash-"))
}

#[test]
fn zip_differential_seeds() {
    for (path, data) in seeds("zip_differential") {
        let accepted = signer::fuzzing::zip_differential(&data);
        if let Some(accepted) = &accepted {
            zip_crate_view::zip_crate_agrees(&data, accepted);
        }
        if accepted.is_none() && !is_finding(&path) {
            let limits = signer::zipcheck::ZipLimits { max_unzipped: 1 << 20, ..Default::default() };
            let refusal = signer::zipcheck::inspect(&mut std::io::Cursor::new(&data), &limits).err();
            panic!("{} should pass the gate: {refusal:?}", path.display());
        }
    }
}

#[test]
fn signature_block_seeds_round_trip() {
    for (path, data) in seeds("signature_block") {
        signer::fuzzing::signature_block(&data);
        assert!(signer::format::block::parse(&data).is_ok(), "{} should parse", path.display());
    }
}

#[test]
fn cert_chain_seeds() {
    for (_, data) in seeds("cert_chain") {
        signer::fuzzing::cert_chain(&data);
    }
}

#[test]
fn deploy_json_seeds() {
    for (path, data) in seeds("deploy_json") {
        signer::fuzzing::deploy_json(&data);
        let parsed = signer::deploy::parse(&data);
        assert_eq!(parsed.is_ok(), !path.ends_with("deep.json"), "{}: {parsed:?}", path.display());
    }
}

#[test]
fn timestamp_token_seeds() {
    let mut verified = 0;
    for (_, data) in seeds("timestamp_token") {
        signer::fuzzing::timestamp_token(&data);
        verified += usize::from(signer::timestamp::describe(&data).is_ok());
    }
    assert!(verified > 0, "the seed token should at least parse");
}

#[test]
fn trust_record_seeds() {
    for (_, data) in seeds("trust_record") {
        signer::fuzzing::trust_record(&data);
    }
}
