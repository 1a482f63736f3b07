//! The non-message parts of a webhook: delivery statuses, echoes of what
//! the business sent from its phone, call notices and template status
//! updates.

use omnibus_proto::{
    AuthorKind, DeliveryStatusChanged, Direction, Event, MessageReceived, MessageStatus,
    TemplateChanged, TemplateState, TemplateStatus, event::Payload, template_changed::Change,
};
use serde_json::Value;

use super::{ChannelView, Chat, Normalized, Routed, content};
use crate::wire::{self, Call, Entry, Message, Profile, Status};

/// A delivery status of one of our messages, to a customer named by phone
/// or (without a known phone) by user id, or to a group. WhatsApp names
/// only its own message id, so `message_id` stays empty: the conversations service finds
/// the message by `provider_message_id` (and keeps statuses that arrive
/// before the send was recorded). The event id includes the status, so
/// `read` and `delivered` of one message are both kept, each once.
pub(super) fn status(channel: &ChannelView<'_>, raw: &Value) -> Option<Event> {
    let status = wire::decode::<Status>(raw)?;
    // A customer without a known phone is named by their user id only.
    let recipient = if status.recipient_id.is_empty() {
        &status.recipient_user_id
    } else {
        &status.recipient_id
    };
    if status.id.is_empty() || recipient.is_empty() {
        return None;
    }
    let (value, failure_reason) = match status.status.as_str() {
        "sent" => (MessageStatus::Sent, String::new()),
        "delivered" => (MessageStatus::Delivered, String::new()),
        "read" => (MessageStatus::Read, String::new()),
        "failed" => (MessageStatus::Failed, failure_reason(&status)),
        _ => return None,
    };
    let chat = if status.recipient_type == "group" {
        Chat::group(channel.id, recipient, &Default::default())
    } else {
        Chat::new(channel.id, recipient, "")
    };
    let payload = Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        message_id: String::new(),
        provider_message_id: status.id.clone(),
        status: value.into(),
        failure_reason,
        and_earlier: false,
    });
    let id = format!(
        "whatsapp:{}:status:{}:{}",
        channel.id, status.id, status.status
    );
    Some(chat.event(id, &status.timestamp, payload))
}

/// `"131047 Re-engagement message"`: the code first, so callers can match
/// on it, then the title an operator reads.
fn failure_reason(status: &Status) -> String {
    match status.errors.first() {
        Some(error) => {
            let title = if error.title.is_empty() {
                &error.message
            } else {
                &error.title
            };
            format!("{} {title}", error.code).trim().to_owned()
        }
        None => "WhatsApp could not deliver the message".to_owned(),
    }
}

/// A message the business sent from the WhatsApp Business app on its phone
/// (`smb_message_echoes`): an OUTBOUND message by an EXTERNAL_DEVICE, in the
/// conversation with the customer it went `to`.
pub(super) fn echo(channel: &ChannelView<'_>, raw: &Value) -> Option<Event> {
    let message = wire::decode::<Message>(raw)?;
    if message.id.is_empty() || message.to.is_empty() {
        return None;
    }
    let chat = Chat::new(channel.id, &message.to, "");
    let body = content::of(&message);
    let reply_to = message
        .context
        .as_ref()
        .filter(|c| !c.id.is_empty())
        .map(|c| chat.message_id(&c.id))
        .unwrap_or_default();
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&message.id),
        provider_message_id: message.id.clone(),
        peer: Some(chat.peer.clone()),
        text: body.text,
        attachments: body.attachments,
        reply_to_message_id: reply_to,
        author_kind: AuthorKind::ExternalDevice.into(),
        direction: Direction::Outbound.into(),
        author_name: String::new(),
        contact_id: chat.contact_id.clone(),
        echo_key: String::new(),
        unshown_kind: body.unshown.unwrap_or_default(),
        ..MessageReceived::default()
    });
    let id = format!("whatsapp:{}:{}", channel.id, message.id);
    Some(chat.event(id, &message.timestamp, payload))
}

/// A call event (Business Calling API) as a SYSTEM notice in the customer's
/// conversation: calls cannot be answered through Omnibus, but the operator
/// should know the customer tried.
pub(super) fn call(channel: &ChannelView<'_>, profiles: &[Profile], raw: &Value) -> Option<Event> {
    let call = wire::decode::<Call>(raw)?;
    let from_customer = !call.direction.eq_ignore_ascii_case("BUSINESS_INITIATED");
    let wa_id = if from_customer { &call.from } else { &call.to };
    if call.id.is_empty() || wa_id.is_empty() {
        return None;
    }
    let chat = Chat::new(channel.id, wa_id, super::profile_name(profiles, wa_id));
    let key = format!("call:{}:{}", call.id, call.event);
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&key),
        provider_message_id: call.id.clone(),
        peer: Some(chat.peer.clone()),
        text: call_text(&call, from_customer),
        attachments: Vec::new(),
        reply_to_message_id: String::new(),
        author_kind: AuthorKind::System.into(),
        direction: Direction::Inbound.into(),
        author_name: String::new(),
        contact_id: chat.contact_id.clone(),
        echo_key: String::new(),
        ..MessageReceived::default()
    });
    let id = format!("whatsapp:{}:{key}", channel.id);
    Some(chat.event(id, &call.timestamp, payload))
}

fn call_text(call: &Call, from_customer: bool) -> String {
    let who = if from_customer {
        "The customer called on WhatsApp"
    } else {
        "WhatsApp call to the customer"
    };
    match call.event.as_str() {
        "connect" => format!("{who} (ringing)"),
        "terminate" if call.duration > 0 => format!(
            "{who}; the call ended after {} s ({})",
            call.duration,
            call.status.to_lowercase()
        ),
        "terminate" => format!("{who}; missed ({})", call.status.to_lowercase()),
        other => format!("{who} ({other})"),
    }
}

/// `message_template_status_update`: a template's review status changed.
/// Published on the channel's template subject as `TemplateChanged{STATUS}`.
pub(super) fn template_status(
    channel: &ChannelView<'_>,
    entry: &Entry,
    raw: &Value,
    out: &mut Normalized,
) {
    if !channel.business_account_id.is_empty()
        && !entry.id.is_empty()
        && entry.id != channel.business_account_id
    {
        out.skipped
            .push("template update for another business account");
        return;
    }
    let Some(update) = wire::decode::<wire::TemplateStatus>(raw) else {
        out.skipped.push("unreadable template status update");
        return;
    };
    let Some(status) = template_status_of(&update.event) else {
        out.skipped.push("template status Omnibus does not track");
        return;
    };
    if update.message_template_name.is_empty() {
        out.skipped.push("template status update without a name");
        return;
    }
    let reason = update
        .reason
        .filter(|r| !r.is_empty() && r != "NONE")
        .unwrap_or_default();
    let template = TemplateState {
        name: update.message_template_name.clone(),
        language: update.message_template_language.clone(),
        status: status.into(),
        status_reason: reason,
        provider_template_id: update.message_template_id.clone(),
        ..TemplateState::default()
    };
    let key = if update.message_template_id.is_empty() {
        format!("{}:{}", template.name, template.language)
    } else {
        update.message_template_id.clone()
    };
    let event = Event {
        id: format!(
            "whatsapp:{}:template:{key}:{}:{}",
            channel.id, update.event, entry.time
        ),
        occurred_at_ms: wire::seconds_to_ms(&entry.time),
        recorded_at_ms: 0,
        channel_id: channel.id.to_owned(),
        conversation_id: String::new(),
        payload: Some(Payload::TemplateChanged(TemplateChanged {
            change: Change::Status.into(),
            template: Some(template),
        })),
    };
    out.events.push(Routed::Template(event));
}

/// Meta's template statuses in ours. FLAGGED and REINSTATED templates can
/// still be sent; IN_APPEAL ones cannot until the appeal succeeds.
pub fn template_status_of(event: &str) -> Option<TemplateStatus> {
    Some(match event.to_ascii_uppercase().as_str() {
        "APPROVED" | "REINSTATED" | "FLAGGED" => TemplateStatus::Approved,
        "PENDING" => TemplateStatus::Pending,
        "REJECTED" | "IN_APPEAL" => TemplateStatus::Rejected,
        "PAUSED" => TemplateStatus::Paused,
        "DISABLED" | "DELETED" | "PENDING_DELETION" | "ARCHIVED" => TemplateStatus::Disabled,
        _ => return None,
    })
}
