//! store (stub)

/// Errors of this area.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Placeholder.
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// Exit code.
    pub fn exit_code(&self) -> u8 {
        crate::error::exit::IO
    }
}
