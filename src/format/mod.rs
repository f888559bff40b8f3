//! format (stub)

/// Errors of this area.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Placeholder.
    #[error("{0}")]
    Other(String),
}

impl FormatError {
    /// Exit code.
    pub fn exit_code(&self) -> u8 {
        crate::error::exit::IO
    }
}
