//! `/webhooks/whatsapp/{channel_id}`: the `GET` subscription handshake and
//! `POST` deliveries (verify, normalize, store, answer).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use omnibus_core::secret::secrets_equal;
use omnibus_ingress::webhook::{BODY_LIMIT, WebhookError, count_answers, store_inbound};
use omnibus_proto::ChannelState;

use crate::normalize::{ChannelView, Routed, normalize};
use crate::service::Shared;
use crate::signature::{self, SIGNATURE_HEADER};
use crate::wire::parse_notification;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let router = Router::new()
        .route(
            "/webhooks/whatsapp/{channel_id}",
            get(handshake).post(receive),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared);
    count_answers(router, "whatsapp")
}

/// Meta's subscription check: echo `hub.challenge` when `hub.verify_token`
/// is the channel's `verify_token`.
#[tracing::instrument(skip_all, fields(channel_id = %channel_id))]
async fn handshake(
    State(shared): State<Arc<Shared>>,
    Path(channel_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebhookError> {
    let channel = shared
        .directory
        .get(&channel_id)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    if query.get("hub.mode").map(String::as_str) != Some("subscribe") {
        return Err(WebhookError::Forbidden("hub.mode must be subscribe"));
    }
    let Some(given) = query.get("hub.verify_token") else {
        return Err(WebhookError::Forbidden("hub.verify_token is missing"));
    };
    let matches = |channel: &ChannelState| {
        channel
            .credentials
            .get("verify_token")
            .is_some_and(|t| secrets_equal(given.as_bytes(), t.as_bytes()))
    };
    if !matches(&channel) {
        let fresh = shared.directory.fresh(&channel_id).await?;
        if !fresh.is_some_and(|c| matches(&c)) {
            return Err(WebhookError::Forbidden(
                "hub.verify_token does not match the channel's verify_token",
            ));
        }
    }
    let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
    tracing::info!("whatsapp webhook subscription verified");
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

#[tracing::instrument(skip_all, fields(channel_id = %channel_id))]
async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebhookError> {
    let channel = verify(&shared, &channel_id, &headers, &body).await?;
    let notification =
        parse_notification(&body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
    let credential = |key: &str| channel.credentials.get(key).map_or("", String::as_str);
    let view = ChannelView {
        id: &channel.id,
        phone_number_id: credential("phone_number_id"),
        business_account_id: credential("business_account_id"),
    };
    let normalized = normalize(&view, &notification);
    for why in &normalized.skipped {
        tracing::debug!(why, "part of a whatsapp webhook skipped");
    }
    // One by one, in order: the provider gets 200 only when all are stored,
    // and a retry after a partial failure is deduplicated event by event.
    for routed in normalized.events {
        match routed {
            Routed::Conversation(event) => store_inbound(&shared.bus, event).await?,
            Routed::Template(mut event) => {
                event.recorded_at_ms = omnibus_core::now_ms();
                let subject = shared.bus.subjects().template(&event.channel_id);
                shared.bus.publish(subject, &event).await?;
            }
        }
    }
    Ok(StatusCode::OK)
}

/// The channel exists and the body is signed with its app secret. A
/// mismatch re-reads the channel from the stream once, in case its
/// credentials just changed.
async fn verify(
    shared: &Shared,
    channel_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Arc<ChannelState>, WebhookError> {
    let channel = shared
        .directory
        .get(channel_id)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    let Some(given) = headers.get(SIGNATURE_HEADER).map(|v| v.as_bytes()) else {
        return Err(WebhookError::Unauthenticated(
            "missing X-Hub-Signature-256 header",
        ));
    };
    let signed_by = |channel: &ChannelState| {
        channel
            .credentials
            .get("app_secret")
            .is_some_and(|secret| signature::is_valid(secret, body, given))
    };
    if signed_by(&channel) {
        return Ok(channel);
    }
    match shared.directory.fresh(channel_id).await? {
        Some(fresh) if signed_by(&fresh) => Ok(fresh),
        Some(_) => Err(WebhookError::Unauthenticated(
            "X-Hub-Signature-256 does not match the body signed with the channel's app_secret",
        )),
        None => Err(WebhookError::UnknownChannel),
    }
}
