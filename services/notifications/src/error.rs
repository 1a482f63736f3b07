//! The service's errors and their one mapping to gRPC statuses.

use omnibus_bus::BusError;
use omnibus_core::ErrorCode;

/// Why a request to the notifications service failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is wrong; the message says how to fix it.
    #[error("{0}")]
    InvalidArgument(String),
    /// The addressed webhook does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A dependency is down or slow; retrying is safe.
    #[error("{0}")]
    Unavailable(String),
    /// The event stream refused or could not be reached.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The projection database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The store failed (e.g. migrating at start).
    #[error(transparent)]
    Store(#[from] omnibus_store::StoreError),
}

impl ServiceError {
    /// The wire code for this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Bus(err) => err.error_code(),
            Self::Database(err) => match err {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    ErrorCode::Unavailable
                }
                _ => ErrorCode::Internal,
            },
            Self::Store(err) => err.error_code(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }
}

impl From<ServiceError> for tonic::Status {
    fn from(err: ServiceError) -> Self {
        let code = err.error_code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %err, "internal error");
        }
        code.status(err.to_string())
    }
}

/// Result of the service's operations.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
