//! Shared helpers for the integration tests.

use std::path::PathBuf;

/// The shared corpus of third-party zips, beside the repository.
#[allow(dead_code)]
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}
