//! Entry points for the fuzz targets (`fuzz/fuzz_targets/*.rs`) and for the regression
//! test that replays their seeds (`tests/it/fuzz_seeds.rs`). Each function must never
//! panic, whatever the bytes; properties that must hold are checked with `assert!`, so a
//! violation is a fuzzer finding.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use crate::format::block;
use crate::zipcheck::{self, ZipLimits};

/// The strict zip gate over arbitrary bytes, with small limits so inflation stays cheap.
/// A zip the gate accepts must also be accepted by a second run (determinism).
pub fn zip_inspect(data: &[u8]) {
    let limits = ZipLimits { max_unzipped: 1 << 20, ..ZipLimits::default() };
    let first = zipcheck::inspect(&mut Cursor::new(data), &limits).map(|(_, i)| i).ok();
    let second = zipcheck::inspect(&mut Cursor::new(data), &limits).map(|(_, i)| i).ok();
    assert_eq!(first, second, "the gate must be deterministic");
}

/// The signature-block parser: whatever parses re-encodes to the same bytes (one
/// encoding per block).
pub fn signature_block(data: &[u8]) {
    if let Ok(b) = block::parse(data) {
        let again = block::encode(&b.payload, &b.signature).expect("a parsed block re-encodes");
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

/// The deploy-check input parser: never panics; what parses has every bound in range.
pub fn deploy_json(data: &[u8]) {
    if let Ok(d) = crate::deploy::parse(data) {
        assert!(data.len() <= crate::deploy::MAX_INPUT_BYTES);
        assert!(d.layers.len() <= crate::deploy::MAX_LAYER_ENTRIES);
        assert!(d.code.len() <= crate::deploy::MAX_CODE_LEN && !d.code.is_empty());
    }
}
