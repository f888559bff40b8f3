//! crypto (stub)

/// Errors of this area.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Placeholder.
    #[error("{0}")]
    Other(String),
}

impl CryptoError {
    /// Exit code.
    pub fn exit_code(&self) -> u8 {
        crate::error::exit::IO
    }
}
