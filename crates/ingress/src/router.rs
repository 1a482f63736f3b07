//! `/webhooks/<messenger>/{channel_id}`: find the channel, verify (by
//! header before the body is read where the messenger can), read the body
//! up to [`BODY_LIMIT`], normalize, store every event, then answer 200 with
//! the messenger's body. Every answer is counted in `/metrics`.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use omnibus_proto::ChannelState;
use tracing::Instrument as _;

use crate::messenger::{Answer, Messenger, Routed, Verdict, Webhook};
use crate::runtime::Shared;
use crate::webhook::{BODY_LIMIT, WebhookError, count_answers, store_inbound};

pub(crate) fn router<M: Messenger>(shared: Arc<Shared<M>>) -> Router {
    let path = format!("/webhooks/{}/{{channel_id}}", M::name());
    let mut route = post(receive::<M>);
    if M::HANDSHAKE {
        route = route.get(handshake::<M>);
    }
    let router = Router::new().route(&path, route).with_state(shared);
    count_answers(router, M::name())
}

#[tracing::instrument(skip_all, fields(messenger = M::name(), channel_id = %channel_id))]
async fn handshake<M: Messenger>(
    State(shared): State<Arc<Shared<M>>>,
    Path(channel_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebhookError> {
    let directory = &shared.context.directory;
    let channel = directory
        .get(&channel_id)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    let answer = match shared.messenger.handshake(&channel, &query) {
        Ok(answer) => answer,
        Err(WebhookError::Forbidden(_) | WebhookError::Unauthenticated(_)) => {
            // The verify token may have just changed.
            let fresh = directory
                .fresh(&channel_id)
                .await?
                .ok_or(WebhookError::UnknownChannel)?;
            shared.messenger.handshake(&fresh, &query)?
        }
        Err(other) => return Err(other),
    };
    tracing::info!("webhook subscription verified");
    Ok(respond(answer))
}

#[tracing::instrument(skip_all, fields(messenger = M::name(), channel_id = %channel_id, conversation_id))]
async fn receive<M: Messenger>(
    State(shared): State<Arc<Shared<M>>>,
    Path(channel_id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, WebhookError> {
    if declared_length(&headers).is_some_and(|length| length > BODY_LIMIT) {
        return Err(WebhookError::TooLarge);
    }
    let messenger = &shared.messenger;
    let directory = &shared.context.directory;
    let mut channel = directory
        .get(&channel_id)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    if let Verdict::Invalid(_) = messenger.verify(&channel, &headers, None) {
        channel = reverify(&shared, &channel_id, &headers, None).await?;
    }
    let needs_body = matches!(
        messenger.verify(&channel, &headers, None),
        Verdict::NeedsBody
    );
    let body = read_body(request.into_body()).await?;
    if needs_body
        && !matches!(
            messenger.verify(&channel, &headers, Some(&body)),
            Verdict::Valid
        )
    {
        channel = reverify(&shared, &channel_id, &headers, Some(&body)).await?;
    }
    let scoped = scoped(&channel);
    let webhook = Webhook {
        channel_id: &scoped.id,
        headers: &headers,
        body: &body,
        directory,
    };
    let mut inbound = messenger
        .receive(&shared.context, &scoped, &webhook)
        .await?;
    for routed in &mut inbound.events {
        let (Routed::Conversation(event) | Routed::Template(event)) = routed;
        // Only what names the scope (Wazzup routes some to sibling channels).
        if scoped.id != channel.id && event.channel_id == scoped.id {
            event.channel_id.clone_from(&channel.id);
        }
    }
    for why in &inbound.skipped {
        tracing::debug!(why, "part of a webhook not stored");
    }
    // One by one, in order: the provider gets 200 only when all are stored,
    // and a retry after a partial failure is deduplicated event by event.
    let mut stored = Vec::new();
    let keep = inbound.follow_up.then_some(&mut stored);
    let result = store_all::<M>(&shared.context.bus, inbound.events, keep).await;
    // Also after a partial failure: the retry finds those events duplicate.
    follow_up(&shared, &channel, &body, stored);
    result?;
    Ok(respond(inbound.answer))
}

/// Stores `events` in order; the newly stored conversation events are
/// pushed to `stored` when there is one (the delivery is followed up).
async fn store_all<M: Messenger>(
    bus: &omnibus_bus::Bus,
    events: Vec<Routed>,
    mut stored: Option<&mut Vec<omnibus_proto::Event>>,
) -> Result<(), WebhookError> {
    for routed in events {
        match routed {
            Routed::Conversation(event) => {
                tracing::Span::current().record("conversation_id", event.conversation_id.as_str());
                let kept = stored.is_some().then(|| event.clone());
                if store_inbound(bus, M::name(), event).await?
                    && let (Some(stored), Some(event)) = (stored.as_deref_mut(), kept)
                {
                    stored.push(event);
                }
            }
            Routed::Template(mut event) => {
                event.recorded_at_ms = omnibus_core::now_ms();
                let subject = bus.subjects().template(&event.channel_id);
                bus.publish(subject, &event).await?;
            }
        }
    }
    Ok(())
}

/// Runs the messenger's [`after_stored`](Messenger::after_stored) for the
/// newly stored events, off the answer's path: the provider's webhook is
/// answered at once, and a duplicate delivery (nothing newly stored) has
/// no follow-up.
fn follow_up<M: Messenger>(
    shared: &Arc<Shared<M>>,
    channel: &Arc<ChannelState>,
    body: &Bytes,
    stored: Vec<omnibus_proto::Event>,
) {
    if stored.is_empty() {
        return;
    }
    let (shared, channel, body) = (shared.clone(), channel.clone(), body.clone());
    tokio::spawn(
        async move {
            shared
                .messenger
                .after_stored(&shared.context, &channel, &body, stored)
                .await;
        }
        .in_current_span(),
    );
}

/// The channel as ids derive from it: a channel that re-creates a deleted
/// one of the same account (`conversation_scope`) derives conversation,
/// contact and message ids from the old one, so its customers' chats land
/// in their old conversations; the events still name the channel itself.
fn scoped(channel: &Arc<ChannelState>) -> Arc<ChannelState> {
    if channel.conversation_scope.is_empty() || channel.conversation_scope == channel.id {
        return channel.clone();
    }
    let mut scoped = ChannelState::clone(channel);
    scoped.id.clone_from(&channel.conversation_scope);
    Arc::new(scoped)
}

/// Verification failed with the channel held: re-reads it once from the
/// stream (its credentials may have just changed) and verifies again.
async fn reverify<M: Messenger>(
    shared: &Shared<M>,
    channel_id: &str,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Arc<ChannelState>, WebhookError> {
    let directory = &shared.context.directory;
    let proof = fingerprint(headers, body);
    let fresh = directory
        .recheck(channel_id, proof)
        .await?
        .ok_or(WebhookError::UnknownChannel)?;
    let refused = match shared.messenger.verify(&fresh, headers, body) {
        Verdict::Valid => return Ok(fresh),
        // Only the header phase may defer to the body.
        Verdict::NeedsBody if body.is_none() => return Ok(fresh),
        Verdict::NeedsBody => WebhookError::Forbidden("the webhook could not be verified"),
        Verdict::Invalid(err) => err,
    };
    directory.refused(channel_id, proof);
    Err(refused)
}

/// Identifies a webhook's proof (its headers, and the body when verified
/// with it), so the same refused proof repeated costs no stream lookup. The
/// hasher's keys are random per process.
fn fingerprint(headers: &HeaderMap, body: Option<&[u8]>) -> u64 {
    static KEYS: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(std::hash::RandomState::new);
    let proof: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    keys.hash_one((proof, body))
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

async fn read_body(body: Body) -> Result<Bytes, WebhookError> {
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|err| {
        let too_large =
            std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            })
            .any(|e| e.is::<http_body_util::LengthLimitError>());
        if too_large {
            WebhookError::TooLarge
        } else {
            WebhookError::BadRequest("the body could not be read".into())
        }
    })
}

fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Empty => StatusCode::OK.into_response(),
        Answer::Text(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response(),
        Answer::Json(value) => (StatusCode::OK, axum::Json(value)).into_response(),
    }
}
