//! The errors of the gRPC services and their one mapping to gRPC statuses,
//! shared by every service with an API (conversations, window,
//! notifications), so a code means the same thing everywhere.

use omnibus_bus::BusError;
use omnibus_core::ErrorCode;

/// Why a request to a service failed, or why it could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is wrong; the message says how.
    #[error("{0}")]
    InvalidArgument(String),
    /// The addressed thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Valid, but not allowed in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A dependency is down or slow; retrying is safe.
    #[error("{0}")]
    Unavailable(String),
    /// The event stream refused or could not be reached.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// The projection database failed.
    #[error("database error: {0}")]
    Database(#[from] omnibus_store::sqlx::Error),
    /// The store failed (e.g. at start).
    #[error(transparent)]
    Store(#[from] omnibus_store::StoreError),
}

impl ServiceError {
    /// The wire code for this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Bus(err) => err.error_code(),
            Self::Database(err) => match err {
                omnibus_store::sqlx::Error::PoolTimedOut
                | omnibus_store::sqlx::Error::PoolClosed
                | omnibus_store::sqlx::Error::Io(_) => ErrorCode::Unavailable,
                _ => ErrorCode::Internal,
            },
            Self::Store(err) => err.error_code(),
        }
    }

    /// INVALID_ARGUMENT with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidArgument(message.into())
    }

    /// NOT_FOUND, naming what was looked for.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::NotFound(format!("{what} {id:?} not found"))
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

/// Result of a service's operations.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;
