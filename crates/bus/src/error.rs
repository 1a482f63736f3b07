//! Bus errors, each mapped to an [`ErrorCode`] for the API edges.

use omnibus_core::ErrorCode;

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// NATS cannot be reached or did not answer in time.
    #[error("nats is unavailable: {0}")]
    Unavailable(String),
    /// The stream refused the operation.
    #[error("jetstream error: {0}")]
    JetStream(String),
    /// The subject moved on since the caller read it (optimistic concurrency).
    #[error("the subject changed concurrently; read it again and retry")]
    Conflict,
    /// The event is larger than the server's `max_payload`; retrying cannot
    /// help (webhooks answer 413).
    #[error("the event is too large for the stream: {0}")]
    TooLarge(String),
    /// The NATS connection settings are unusable (an unreadable credentials
    /// file or CA bundle); retrying will not help.
    #[error("{0}")]
    Config(String),
    /// A stored payload is not a valid event.
    #[error("cannot decode event at sequence {sequence}: {source}")]
    Decode {
        /// Stream sequence of the bad message.
        sequence: u64,
        /// What prost said.
        source: prost::DecodeError,
    },
}

impl BusError {
    /// The wire code callers should see.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Conflict => ErrorCode::Aborted,
            Self::TooLarge(_) => ErrorCode::InvalidArgument,
            Self::JetStream(_) | Self::Config(_) | Self::Decode { .. } => ErrorCode::Internal,
        }
    }

    pub(crate) fn unavailable(err: impl std::fmt::Display) -> Self {
        Self::Unavailable(err.to_string())
    }

    pub(crate) fn jetstream(err: impl std::fmt::Display) -> Self {
        Self::JetStream(err.to_string())
    }
}
