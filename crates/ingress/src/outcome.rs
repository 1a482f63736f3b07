//! Recording what happened to an outbound message, as events on its
//! conversation. Ids are derived from the message id, so a retried record
//! (or a redelivered command) is dropped by the stream's dedupe.

use omnibus_bus::{Bus, BusError};
use omnibus_proto::{
    ChannelFlagged, ChannelStatus, Event, MessageDispatched, MessageFailed, MessageOutsideWindow,
    event::Payload, message_failed::Kind,
};

/// The provider accepted the message.
pub async fn dispatched(
    bus: &Bus,
    command: &Event,
    message_id: &str,
    provider_message_id: String,
    attempts: u32,
) -> Result<(), BusError> {
    let payload = Payload::MessageDispatched(MessageDispatched {
        message_id: message_id.to_owned(),
        provider_message_id,
        attempts,
    });
    record(bus, command, format!("dispatched:{message_id}"), payload).await
}

/// The message will not be delivered; `reason` is for the operator.
pub async fn failed(
    bus: &Bus,
    command: &Event,
    message_id: &str,
    kind: Kind,
    reason: String,
    provider_code: String,
    attempts: u32,
) -> Result<(), BusError> {
    let payload = Payload::MessageFailed(MessageFailed {
        message_id: message_id.to_owned(),
        kind: kind as i32,
        reason,
        provider_code,
        attempts,
    });
    record(bus, command, format!("failed:{message_id}"), payload).await
}

/// The provider refused the message because the customer's window is
/// closed (WhatsApp 131047); the window service decides what happens next
/// (hold it behind the default template, or fail it).
pub async fn outside_window(
    bus: &Bus,
    command: &Event,
    message_id: &str,
    provider_code: String,
    reason: String,
) -> Result<(), BusError> {
    let payload = Payload::MessageOutsideWindow(MessageOutsideWindow {
        message_id: message_id.to_owned(),
        provider_code,
        reason,
    });
    // Keyed on the command, not the message: a message held after a first
    // refusal and released later may be refused again, and that must not be
    // dropped as a duplicate.
    record(
        bus,
        command,
        format!("outside_window:{}", command.id),
        payload,
    )
    .await
}

/// Flags the command's channel as unusable (`ChannelFlagged{ERROR}` on its
/// health subject), e.g. after the provider refused our credentials; the
/// conversations service shows it until the next channel update. The id is
/// per message, so every refused message re-asserts the flag once.
pub async fn flag_channel(
    bus: &Bus,
    command: &Event,
    message_id: &str,
    reason: String,
) -> Result<(), BusError> {
    let now = omnibus_core::now_ms();
    let event = Event {
        id: format!("flagged:{}:{message_id}", command.channel_id),
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id: command.channel_id.clone(),
        conversation_id: String::new(),
        payload: Some(Payload::ChannelFlagged(ChannelFlagged {
            status: ChannelStatus::Error as i32,
            reason,
        })),
    };
    bus.publish(bus.subjects().channel_health(&command.channel_id), &event)
        .await
        .map(|_| ())
}

async fn record(bus: &Bus, command: &Event, id: String, payload: Payload) -> Result<(), BusError> {
    let now = omnibus_core::now_ms();
    let event = Event {
        id,
        occurred_at_ms: now,
        recorded_at_ms: now,
        channel_id: command.channel_id.clone(),
        conversation_id: command.conversation_id.clone(),
        payload: Some(payload),
    };
    bus.publish(
        bus.subjects().conversation(&command.conversation_id),
        &event,
    )
    .await
    .map(|_| ())
}
