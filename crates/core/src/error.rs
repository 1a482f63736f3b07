//! One error vocabulary, mapped to gRPC and HTTP in one place.

/// What went wrong, as a caller can act on it. Every library error exposes
/// one of these so the API edges never guess a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The request itself is wrong; the message says how to fix it.
    InvalidArgument,
    /// The addressed thing does not exist (or was deleted).
    NotFound,
    /// It already exists.
    AlreadyExists,
    /// The request is valid but the state does not allow it now.
    FailedPrecondition,
    /// Missing or wrong credentials.
    Unauthenticated,
    /// Credentials are valid but not for this.
    PermissionDenied,
    /// A concurrent change got there first; retry.
    Aborted,
    /// A dependency (NATS, the database, a provider) cannot be reached; retry.
    Unavailable,
    /// It took too long.
    DeadlineExceeded,
    /// A bug or an unexpected state.
    Internal,
}

impl ErrorCode {
    /// The gRPC status code for this error.
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument => tonic::Code::InvalidArgument,
            Self::NotFound => tonic::Code::NotFound,
            Self::AlreadyExists => tonic::Code::AlreadyExists,
            Self::FailedPrecondition => tonic::Code::FailedPrecondition,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::PermissionDenied => tonic::Code::PermissionDenied,
            Self::Aborted => tonic::Code::Aborted,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::DeadlineExceeded => tonic::Code::DeadlineExceeded,
            Self::Internal => tonic::Code::Internal,
        }
    }

    /// The HTTP status for this error.
    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::InvalidArgument => S::BAD_REQUEST,
            Self::NotFound => S::NOT_FOUND,
            Self::AlreadyExists | Self::FailedPrecondition | Self::Aborted => S::CONFLICT,
            Self::Unauthenticated => S::UNAUTHORIZED,
            Self::PermissionDenied => S::FORBIDDEN,
            Self::Unavailable => S::SERVICE_UNAVAILABLE,
            Self::DeadlineExceeded => S::GATEWAY_TIMEOUT,
            Self::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// A `tonic::Status` with this code and a message a person can act on.
    pub fn status(self, message: impl Into<String>) -> tonic::Status {
        tonic::Status::new(self.grpc_code(), message)
    }
}
