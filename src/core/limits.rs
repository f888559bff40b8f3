//! Lambda's limits as named constants (SPEC §3), and the pure checks that apply them.
//!
//! The error texts follow Lambda's own wording, which users search for.

/// Unzipped size of one package (function or layer), and of a function plus all its layers.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// Layers one function may use.
pub const MAX_LAYERS: usize = 5;
/// Ephemeral storage (`/tmp`) bounds, whole MB.
pub const EPHEMERAL_STORAGE_MB: std::ops::RangeInclusive<u32> = 512..=10_240;
/// Memory bounds, MB.
pub const MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10_240;
/// Timeout bounds, seconds.
pub const TIMEOUT_S: std::ops::RangeInclusive<u32> = 1..=900;
/// Allowed publishers in one code-signing config.
pub const ALLOWED_PUBLISHERS: std::ops::RangeInclusive<usize> = 1..=20;

/// Lambda's message for a function whose code and layers together are too large.
pub fn combined_size_message(actual: u64) -> String {
    format!(
        "Function code combined with layers exceeds the maximum allowed size of {MAX_UNZIPPED_BYTES} bytes. The actual size is {actual} bytes."
    )
}

/// Lambda's message for one package that is too large once unzipped.
pub fn unzipped_size_message(actual: u64) -> String {
    format!("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes. The actual size is {actual} bytes.")
}
