//! `POST /webhooks/telegram/{channel_id}`: verify, normalize, store, answer.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use omnibus_core::secret::secrets_equal;
use omnibus_ingress::webhook::{BODY_LIMIT, WebhookError, count_answers, store_inbound};

use crate::normalize::{Normalized, normalize};
use crate::service::Shared;
use crate::wire::parse_update;

/// The header Telegram sends with the secret given to `setWebhook`.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let router = Router::new()
        .route("/webhooks/telegram/{channel_id}", post(receive))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared);
    count_answers(router, "telegram")
}

#[tracing::instrument(skip_all, fields(channel_id = %channel_id))]
async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebhookError> {
    verify(&shared, &channel_id, &headers).await?;
    let update = parse_update(&body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
    match normalize(&channel_id, &update) {
        Normalized::Ignored(why) => {
            tracing::debug!(update_id = update.update_id, why, "update ignored");
        }
        Normalized::Event(event) => {
            tracing::Span::current().record("conversation_id", event.conversation_id.as_str());
            store_inbound(&shared.bus, event).await?;
        }
    }
    Ok(StatusCode::OK)
}

/// The channel exists and the secret header matches it. A mismatch re-reads
/// the channel from the stream once, in case its secret just changed.
async fn verify(
    shared: &Shared,
    channel_id: &str,
    headers: &HeaderMap,
) -> Result<(), WebhookError> {
    let channel = shared
        .directory
        .get(channel_id)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    let Some(given) = headers.get(SECRET_HEADER).map(|v| v.as_bytes()) else {
        return Err(WebhookError::Unauthenticated(
            "missing X-Telegram-Bot-Api-Secret-Token header",
        ));
    };
    let matches =
        |secret: Option<&String>| secret.is_some_and(|s| secrets_equal(given, s.as_bytes()));
    if matches(channel.credentials.get("secret_token")) {
        return Ok(());
    }
    let fresh = shared
        .directory
        .fresh(channel_id)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    if matches(fresh.credentials.get("secret_token")) {
        return Ok(());
    }
    Err(WebhookError::Forbidden(
        "X-Telegram-Bot-Api-Secret-Token does not match the channel's secret_token",
    ))
}
