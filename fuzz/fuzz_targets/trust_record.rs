//! Fuzz target: see `signer::fuzzing::trust_record`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| signer::fuzzing::trust_record(data));
