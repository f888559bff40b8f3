//! Fuzz target: see `signer::fuzzing::timestamp_token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| signer::fuzzing::timestamp_token(data));
