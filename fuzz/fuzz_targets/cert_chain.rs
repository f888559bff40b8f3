//! Fuzz target: see `signer::fuzzing::cert_chain`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| signer::fuzzing::cert_chain(data));
