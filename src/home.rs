//! home (stub)

/// Errors of this area.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Placeholder.
    #[error("{0}")]
    Other(String),
}

impl HomeError {
    /// Exit code.
    pub fn exit_code(&self) -> u8 {
        crate::error::exit::IO
    }
}
