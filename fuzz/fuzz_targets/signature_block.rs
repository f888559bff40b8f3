//! Fuzz target: see `signer::fuzzing::signature_block`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| signer::fuzzing::signature_block(data));
