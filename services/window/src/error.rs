//! The service's errors and their one mapping to gRPC statuses.

use omnibus_bus::BusError;
use omnibus_core::ErrorCode;

/// Why a request to the window service failed, or why it could not start.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// The request is wrong; the message says how to fix it.
    #[error("{0}")]
    InvalidArgument(String),
    /// The addressed channel, conversation or template does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the channel does not allow it.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A dependency (an ingress, the projection) is down or slow; retrying is safe.
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

impl WindowError {
    /// The wire code for this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
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

    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::NotFound(format!("{what} {id:?} does not exist"))
    }
}

impl From<WindowError> for tonic::Status {
    fn from(err: WindowError) -> Self {
        let code = err.error_code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %err, "internal error");
        }
        code.status(err.to_string())
    }
}

/// Result of the service's operations.
pub type Result<T, E = WindowError> = std::result::Result<T, E>;
