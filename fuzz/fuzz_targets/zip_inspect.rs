//! Fuzz target: see `signer::fuzzing::zip_inspect`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| signer::fuzzing::zip_inspect(data));
