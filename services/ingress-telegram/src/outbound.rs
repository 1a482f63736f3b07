//! Delivering outbound messages through the Bot API.
//!
//! A send command is acknowledged only after its outcome (dispatched or
//! failed) is stored, so a crash never loses a message. A crash between
//! Telegram's answer and storing the outcome can send it twice: the Bot API
//! has no idempotency key, so at-least-once is the strongest promise.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omnibus_bus::{BusError, Delivery, WorkError};
use omnibus_ingress::outcome;
use omnibus_proto::{Event, MessageRequested, event::Payload, message_failed::Kind};
use tracing::Instrument as _;

use crate::client::{ApiError, BotApi, OutboundMessage, send_with_retries};
use crate::service::Shared;

pub(crate) async fn deliver(shared: Arc<Shared>, delivery: Delivery) -> Result<(), WorkError> {
    let span = delivery.span("ingress-telegram-send");
    async move {
        let Ok(event) = &delivery.event else {
            return Err(WorkError::Reject("undecodable send command".into()));
        };
        let Some(Payload::MessageRequested(request)) = &event.payload else {
            return Err(WorkError::Reject("not a send command".into()));
        };
        let outcome = send(&shared, event, request).await?;
        record(&shared, event, request, outcome).await
    }
    .instrument(span)
    .await
}

/// What happened to a message at Telegram.
enum Outcome {
    Sent {
        provider_message_id: String,
        attempts: u32,
    },
    Failed {
        kind: Kind,
        reason: String,
        code: String,
        attempts: u32,
    },
}

async fn send(
    shared: &Shared,
    event: &Event,
    request: &MessageRequested,
) -> Result<Outcome, WorkError> {
    let channel = shared
        .directory
        .get(&event.channel_id)
        .await
        .map_err(retry)?;
    let token = channel
        .as_ref()
        .and_then(|c| c.credentials.get("bot_token"));
    let (Some(channel), Some(token)) = (&channel, token) else {
        return Ok(Outcome::Failed {
            kind: Kind::NotSent,
            reason: "the channel was deleted before the message could be sent".into(),
            code: String::new(),
            attempts: 0,
        });
    };
    let api = BotApi::new(
        shared.http.clone(),
        shared.api_base(&channel.api_base_url),
        token,
    );
    let message = OutboundMessage {
        chat_id: request.provider_chat_id.clone(),
        text: request.text.clone(),
        reply_to_provider_message_id: request.reply_to_provider_message_id.parse().ok(),
        attachments: request.attachments.clone(),
    };
    let started = Instant::now();
    let sent = send_with_retries(&api, &message, &shared.config.retry).await;
    let failure = sent.as_ref().err().map(|(error, _)| failure_code(error));
    omnibus_metrics::provider_send("telegram", started.elapsed(), failure.as_deref());
    Ok(match sent {
        Ok((sent, attempts)) => Outcome::Sent {
            provider_message_id: sent.message_id.to_string(),
            attempts,
        },
        Err((error, attempts)) => Outcome::Failed {
            kind: failure_kind(&error),
            reason: error.readable(),
            code: error
                .provider_code()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            attempts,
        },
    })
}

/// The failure's label in `/metrics`: Telegram's error code, `0` when
/// refused before calling Telegram, `unavailable` without an answer.
fn failure_code(error: &ApiError) -> String {
    match error {
        ApiError::Transient(_) => "unavailable".to_owned(),
        _ => error.provider_code().unwrap_or(0).to_string(),
    }
}

fn failure_kind(error: &ApiError) -> Kind {
    match error {
        ApiError::Blocked(_) => Kind::RecipientBlocked,
        ApiError::Unauthorized(_) => Kind::Unauthorized,
        ApiError::Rejected { .. } => Kind::Rejected,
        ApiError::RetryAfter(_) | ApiError::Transient(_) => Kind::GaveUp,
    }
}

/// Stores the outcome, retrying for a while: returning an error here would
/// redeliver the command and send the message again.
async fn record(
    shared: &Shared,
    event: &Event,
    request: &MessageRequested,
    outcome: Outcome,
) -> Result<(), WorkError> {
    let mut failures = 0;
    loop {
        let stored = match &outcome {
            Outcome::Sent {
                provider_message_id,
                attempts,
            } => {
                tracing::info!(message_id = %request.message_id, attempts, "message sent");
                outcome::dispatched(
                    &shared.bus,
                    event,
                    &request.message_id,
                    provider_message_id.clone(),
                    *attempts,
                )
                .await
            }
            Outcome::Failed {
                kind,
                reason,
                code,
                attempts,
            } => {
                tracing::warn!(message_id = %request.message_id, reason, "message failed");
                outcome::failed(
                    &shared.bus,
                    event,
                    &request.message_id,
                    *kind,
                    reason.clone(),
                    code.clone(),
                    *attempts,
                )
                .await
            }
        };
        match stored {
            Ok(()) => return Ok(()),
            Err(err) if failures < 30 => {
                failures += 1;
                tracing::warn!(error = %err, "cannot store a delivery outcome yet, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(retry(err)),
        }
    }
}

fn retry(err: BusError) -> WorkError {
    WorkError::Retry {
        delay: Duration::from_secs(2),
        reason: err.to_string(),
    }
}
