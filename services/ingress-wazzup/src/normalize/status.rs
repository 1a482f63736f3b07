//! `statuses[]`: sent, delivered, read and error of our outbound messages,
//! found by Wazzup's `messageId` (Wazzup names nothing else). Statuses of
//! messages Omnibus did not send (written from the phone) are skipped.

use omnibus_proto::{
    DeliveryStatusChanged, Event, MessageOutsideWindow, MessageStatus, event::Payload,
};
use serde_json::Value;

use super::{Normalized, Sends};
use crate::errors::{StatusError, status_error};
use crate::wire::{self, Status};

/// One `statuses[]` element.
pub(super) fn status(raw: &Value, sends: &dyn Sends, out: &mut Normalized) {
    let Some(status) = wire::decode::<Status>(raw) else {
        out.skipped.push("unreadable status");
        return;
    };
    let value = match status.status.as_str() {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "error" => MessageStatus::Failed,
        _ => {
            out.skipped.push("status Omnibus does not track");
            return;
        }
    };
    if status.message_id.is_empty() {
        out.skipped.push("status without message id");
        return;
    }
    let Some(sent) = sends.find(&status.message_id) else {
        out.skipped.push("status of a message Omnibus did not send");
        return;
    };
    let event = |key: String, payload| Event {
        id: format!(
            "wazzup:{}:status:{}:{key}",
            sent.channel_id, status.message_id
        ),
        occurred_at_ms: wire::date_time_ms(&status.timestamp),
        recorded_at_ms: 0,
        channel_id: sent.channel_id.clone(),
        conversation_id: sent.conversation_id.clone(),
        payload: Some(payload),
    };
    let failure = (value == MessageStatus::Failed).then(|| status_error(status.error.as_ref()));
    if let Some(StatusError::OutsideWindow { code, reason }) = &failure {
        // As WhatsApp's 131047: the window service decides again.
        let payload = Payload::MessageOutsideWindow(MessageOutsideWindow {
            message_id: sent.message_id.clone(),
            provider_code: code.clone(),
            reason: reason.clone(),
        });
        out.events.push(event("window".into(), payload));
        return;
    }
    let failure_reason = match failure {
        Some(StatusError::Failed { reason, .. }) => reason,
        _ => String::new(),
    };
    let payload = Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        message_id: sent.message_id.clone(),
        provider_message_id: status.message_id.clone(),
        status: value.into(),
        failure_reason,
        and_earlier: false,
    });
    out.events.push(event(status.status.clone(), payload));
}
