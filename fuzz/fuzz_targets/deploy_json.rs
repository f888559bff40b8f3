//! Fuzz target: see `signer::fuzzing::deploy_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| signer::fuzzing::deploy_json(data));
