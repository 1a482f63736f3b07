//! Errors of the timers service.

use omnibus_core::ErrorCode;

/// Why the timers service could not start or do its work.
#[derive(Debug, thiserror::Error)]
pub enum TimersError {
    /// The projection store failed.
    #[error("store: {0}")]
    Store(#[from] omnibus_store::StoreError),
    /// A query failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The event stream failed.
    #[error("bus: {0}")]
    Bus(#[from] omnibus_bus::BusError),
}

impl TimersError {
    /// The wire-level code of this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            TimersError::Store(err) => err.error_code(),
            TimersError::Database(_) | TimersError::Bus(_) => ErrorCode::Unavailable,
        }
    }
}
