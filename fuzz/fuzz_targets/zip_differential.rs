//! Fuzz target: see `signer::fuzzing::zip_differential` (the gate against a streaming
//! reader) and `signer_fuzz::zip_crate_agrees` (against the `zip` crate).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(accepted) = signer::fuzzing::zip_differential(data) {
        signer_fuzz::zip_crate_agrees(data, &accepted);
    }
});
