//! Hand-written conversion of the prost types to `serde_json::Value` (prost
//! types do not implement serde): enums as their short names ("TELEGRAM",
//! "OPEN", "SENT"), timestamps as RFC 3339 UTC, unset messages as `null`.

use omnibus_proto::{
    Attachment, AttachmentKind, AuthorKind, Channel, ChannelKind, ChannelSettings, ChannelStatus,
    CloseReason, Contact, Conversation, ConversationStatus, Direction, Location, Message,
    MessageStatus, Schedule, SharedContact, TemplateRef,
};
use prost_types::Timestamp;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Formats a protobuf timestamp as RFC 3339 UTC, e.g. `2021-09-08T20:14:37Z`.
/// Returns `None` for an unset or out-of-range timestamp.
pub fn rfc3339(ts: Option<&Timestamp>) -> Option<String> {
    let ts = ts?;
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

fn timestamp(ts: Option<&Timestamp>) -> Value {
    rfc3339(ts).map_or(Value::Null, Value::String)
}

macro_rules! short_names {
    ($($(#[$doc:meta])* $fn_name:ident: $enum:ty => $prefix:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $fn_name(value: i32) -> String {
                match <$enum>::try_from(value) {
                    Ok(known) => {
                        let name = known.as_str_name();
                        name.strip_prefix($prefix).unwrap_or(name).to_owned()
                    }
                    Err(_) => value.to_string(),
                }
            }
        )*
    };
}

short_names! {
    /// Returns e.g. "TELEGRAM" (an unknown number stays a number).
    channel_kind: ChannelKind => "CHANNEL_KIND_";
    /// Returns e.g. "ACTIVE".
    channel_status: ChannelStatus => "CHANNEL_STATUS_";
    /// Returns e.g. "INBOUND".
    direction: Direction => "DIRECTION_";
    /// Returns e.g. "OPERATOR".
    author_kind: AuthorKind => "AUTHOR_KIND_";
    /// Returns e.g. "DELIVERED".
    message_status: MessageStatus => "MESSAGE_STATUS_";
    /// Returns e.g. "OPEN".
    conversation_status: ConversationStatus => "CONVERSATION_STATUS_";
    /// Returns e.g. "INACTIVITY".
    close_reason: CloseReason => "CLOSE_REASON_";
    /// Returns e.g. "IMAGE".
    attachment_kind: AttachmentKind => "ATTACHMENT_KIND_";
}

/// Converts a `Channel`; credentials are never part of it.
pub fn channel(c: &Channel) -> Value {
    json!({
        "id": c.id,
        "kind": channel_kind(c.kind),
        "name": c.name,
        "status": channel_status(c.status),
        "status_reason": c.status_reason,
        "webhook_path": c.webhook_path,
        "api_base_url": c.api_base_url,
        "credential_keys": c.credential_keys,
        "settings": c.settings.as_ref().map_or(Value::Null, settings),
        "created_at": timestamp(c.created_at.as_ref()),
        "updated_at": timestamp(c.updated_at.as_ref()),
    })
}

/// Converts `ChannelSettings`; unset optional numbers are `null`.
pub fn settings(s: &ChannelSettings) -> Value {
    let auto_replies: Vec<Value> = s
        .auto_replies
        .iter()
        .map(|r| json!({"text": r.text, "delay_seconds": r.delay_seconds}))
        .collect();
    json!({
        "inactivity_close_seconds": s.inactivity_close_seconds,
        "closing_message": s.closing_message,
        "auto_replies": auto_replies,
        "schedule": s.schedule.as_ref().map_or(Value::Null, schedule),
        "off_hours_message": s.off_hours_message,
        "default_template": s.default_template,
        "unanswered_after_seconds": s.unanswered_after_seconds,
        "routing": s.routing.as_ref().map_or(Value::Null, routing),
    })
}

fn routing(r: &omnibus_proto::Routing) -> Value {
    json!({
        "operator_id": r.operator_id,
        "group_id": r.group_id,
        "bot_id": r.bot_id,
        "fallback_operator_id": r.fallback_operator_id,
        "fallback_group_id": r.fallback_group_id,
        "bot_timeout_seconds": r.bot_timeout_seconds,
    })
}

fn schedule(s: &Schedule) -> Value {
    let weekly: Vec<Value> = s
        .weekly
        .iter()
        .map(|w| json!({"weekday": w.weekday, "open": w.open, "close": w.close}))
        .collect();
    json!({"timezone": s.timezone, "weekly": weekly, "holidays": s.holidays})
}

/// Converts a `Conversation`, including its last message.
pub fn conversation(c: &Conversation) -> Value {
    json!({
        "id": c.id,
        "channel_id": c.channel_id,
        "channel_kind": channel_kind(c.channel_kind),
        "contact_id": c.contact_id,
        "title": c.title,
        "status": conversation_status(c.status),
        "close_reason": close_reason(c.close_reason),
        "assignee_id": c.assignee_id,
        "group_id": c.group_id,
        "is_group": c.is_group,
        "unread_count": c.unread_count,
        "unanswered": c.unanswered,
        "last_message": c.last_message.as_ref().map_or(Value::Null, message),
        "created_at": timestamp(c.created_at.as_ref()),
        "updated_at": timestamp(c.updated_at.as_ref()),
    })
}

/// Converts a `Message`.
pub fn message(m: &Message) -> Value {
    let attachments: Vec<Value> = m.attachments.iter().map(attachment).collect();
    json!({
        "id": m.id,
        "conversation_id": m.conversation_id,
        "direction": direction(m.direction),
        "author_kind": author_kind(m.author_kind),
        "author_name": m.author_name,
        "operator_id": m.operator_id,
        "text": m.text,
        "attachments": attachments,
        "status": message_status(m.status),
        "failure_reason": m.failure_reason,
        "provider_message_id": m.provider_message_id,
        "reply_to_message_id": m.reply_to_message_id,
        "idempotency_key": m.idempotency_key,
        "edited": m.edited,
        "template": m.template.as_ref().map_or(Value::Null, template),
        "created_at": timestamp(m.created_at.as_ref()),
        "updated_at": timestamp(m.updated_at.as_ref()),
    })
}

/// Converts an `Attachment`.
pub fn attachment(a: &Attachment) -> Value {
    json!({
        "kind": attachment_kind(a.kind),
        "url": a.url,
        "provider_file_id": a.provider_file_id,
        "mime_type": a.mime_type,
        "file_name": a.file_name,
        "size_bytes": a.size_bytes,
        "location": a.location.as_ref().map_or(Value::Null, location),
        "contact": a.contact.as_ref().map_or(Value::Null, shared_contact),
    })
}

fn location(l: &Location) -> Value {
    json!({"latitude": l.latitude, "longitude": l.longitude, "title": l.title, "address": l.address})
}

fn shared_contact(c: &SharedContact) -> Value {
    json!({"name": c.name, "phone": c.phone, "provider_user_id": c.provider_user_id})
}

fn template(t: &TemplateRef) -> Value {
    json!({
        "name": t.name,
        "language": t.language,
        "parameters": t.parameters,
        "named_parameters": t.named_parameters,
    })
}

/// Converts a `Contact`.
pub fn contact(c: &Contact) -> Value {
    json!({
        "id": c.id,
        "display_name": c.display_name,
        "phones": c.phones,
        "emails": c.emails,
        "is_group": c.is_group,
        "identities": c.identities.iter().map(|i| json!({
            "id": i.id,
            "channel_id": i.channel_id,
            "channel_kind": ChannelKind::try_from(i.channel_kind)
                .map_or("UNSPECIFIED", |k| k.as_str_name().trim_start_matches("CHANNEL_KIND_")),
            "provider_user_id": i.provider_user_id,
            "username": i.username,
            "phone": i.phone,
            "display_name": i.display_name,
        })).collect::<Vec<_>>(),
        "created_at": timestamp(c.created_at.as_ref()),
        "updated_at": timestamp(c.updated_at.as_ref()),
    })
}

/// Wraps a page of items: `{"<key>": [...], "next_page_token": ".."}`.
pub fn page(key: &str, items: Vec<Value>, next_page_token: &str) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(key.to_owned(), Value::Array(items));
    object.insert("next_page_token".to_owned(), json!(next_page_token));
    Value::Object(object)
}

#[cfg(test)]
mod tests;
