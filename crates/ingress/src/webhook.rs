//! Webhook answers. A provider gets 200 only once the event is stored on the
//! stream (or recognised as a duplicate); everything else answers with the
//! status the contract names and stores nothing.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use omnibus_bus::{Bus, BusError};
use omnibus_proto::Event;
use serde_json::json;

/// Largest webhook body accepted (1 MiB); larger ones get 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Why a webhook was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No such channel for this messenger, or it was deleted.
    #[error("unknown channel")]
    UnknownChannel,
    /// The verification header or field is missing.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The verification did not match.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The body is not the provider's format.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than [`BODY_LIMIT`].
    #[error("the body is larger than 1 MiB")]
    TooLarge,
    /// The event would exceed the stream's largest message; a retry cannot
    /// help, so the provider gets 413 rather than 503.
    #[error("the webhook's event is too large to store")]
    EventTooLarge(#[source] BusError),
    /// The stream could not store the event; the provider should retry.
    #[error("the event stream is unavailable, retry later")]
    Unavailable(#[source] BusError),
}

impl WebhookError {
    /// The HTTP status of this answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::UnknownChannel => StatusCode::NOT_FOUND,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge | Self::EventTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Unavailable(source) = &self {
            tracing::warn!(error = %source, "webhook not stored, answering 503");
        } else {
            tracing::debug!(%status, error = %self, "webhook refused");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Counts every answer of `router`'s webhooks for `messenger` by status in
/// `/metrics`, refusals before the handler runs (e.g. 413) included.
pub fn count_answers(router: Router, messenger: &'static str) -> Router {
    router.layer(axum::middleware::map_response(
        move |response: Response| async move {
            omnibus_metrics::webhook_answered(messenger, response.status().as_u16());
            response
        },
    ))
}

impl From<BusError> for WebhookError {
    fn from(err: BusError) -> Self {
        match err {
            BusError::TooLarge(_) => Self::EventTooLarge(err),
            _ => Self::Unavailable(err),
        }
    }
}

/// Stores an inbound event on its conversation's subject; returns once the
/// stream acknowledged it: true when it was new, false for a duplicate.
/// A message of a kind Omnibus cannot show is counted for `messenger` when
/// newly stored.
pub async fn store_inbound(
    bus: &Bus,
    messenger: &str,
    mut event: Event,
) -> Result<bool, WebhookError> {
    if event.recorded_at_ms == 0 {
        event.recorded_at_ms = omnibus_core::now_ms();
    }
    let subject = bus.subjects().conversation(&event.conversation_id);
    let published = bus.publish(subject, &event).await?;
    tracing::debug!(
        event_id = %event.id,
        sequence = published.sequence,
        duplicate = published.duplicate,
        "webhook stored"
    );
    crate::unshown::count_stored(messenger, &event, published.duplicate);
    Ok(!published.duplicate)
}
