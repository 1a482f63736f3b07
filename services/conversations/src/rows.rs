//! Database rows → API messages.

use omnibus_core::clock::timestamp;
use omnibus_core::kind::webhook_path;
use omnibus_proto::{Channel, ChannelKind, Conversation, Message};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::codec::{self, Attachments};

/// Columns selected for a channel, in [`channel`]'s order.
pub const CHANNEL_COLUMNS: &str = "id, kind, name, status, status_reason, settings, api_base_url, \
     credential_keys, created_at_ms, updated_at_ms";

/// Columns selected for a conversation.
/// `contact_id` is the person (see `contacts`), not the per-channel identity.
pub const CONVERSATION_COLUMNS: &str = "id, channel_id, channel_kind, \
     COALESCE((SELECT l.person_id FROM ct_links l WHERE l.identity_id = contact_id), contact_id) \
     AS contact_id, title, is_group, \
     status, close_reason, assignee_id, group_id, unread_count, unanswered, last_message_id, \
     last_activity_ms, created_at_ms, updated_at_ms, subject_url";

/// Columns selected for a message.
pub const MESSAGE_COLUMNS: &str = "id, seq, conversation_id, direction, author_kind, author_name, \
     operator_id, text, attachments, template, status, failure_reason, provider_message_id, \
     reply_to_message_id, edited, deleted, idempotency_key, created_at_ms, updated_at_ms";

fn text(row: &AnyRow, column: &str) -> Result<String, sqlx::Error> {
    row.try_get::<String, _>(column)
}

fn int(row: &AnyRow, column: &str) -> Result<i64, sqlx::Error> {
    row.try_get::<i64, _>(column)
}

fn enum32(row: &AnyRow, column: &str) -> Result<i32, sqlx::Error> {
    Ok(int(row, column)? as i32)
}

/// A channel row.
pub fn channel(row: &AnyRow) -> Result<Channel, sqlx::Error> {
    let id = text(row, "id")?;
    let kind = enum32(row, "kind")?;
    let keys = text(row, "credential_keys")?;
    Ok(Channel {
        webhook_path: webhook_path(
            ChannelKind::try_from(kind).unwrap_or(ChannelKind::Unspecified),
            &id,
        ),
        id,
        kind,
        name: text(row, "name")?,
        status: enum32(row, "status")?,
        settings: Some(codec::decode(&text(row, "settings")?)),
        created_at: timestamp(int(row, "created_at_ms")?),
        updated_at: timestamp(int(row, "updated_at_ms")?),
        status_reason: text(row, "status_reason")?,
        api_base_url: text(row, "api_base_url")?,
        credential_keys: keys
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A conversation row, without its last message (filled in by the caller).
pub fn conversation(row: &AnyRow) -> Result<Conversation, sqlx::Error> {
    Ok(Conversation {
        id: text(row, "id")?,
        channel_id: text(row, "channel_id")?,
        channel_kind: enum32(row, "channel_kind")?,
        contact_id: text(row, "contact_id")?,
        title: text(row, "title")?,
        status: enum32(row, "status")?,
        close_reason: enum32(row, "close_reason")?,
        assignee_id: text(row, "assignee_id")?,
        unread_count: int(row, "unread_count")?.clamp(0, i64::from(u32::MAX)) as u32,
        unanswered: int(row, "unanswered")? != 0,
        last_message: None,
        created_at: timestamp(int(row, "created_at_ms")?),
        updated_at: timestamp(int(row, "updated_at_ms")?),
        group_id: text(row, "group_id")?,
        is_group: int(row, "is_group")? != 0,
        subject_url: text(row, "subject_url")?,
    })
}

/// A message row.
pub fn message(row: &AnyRow) -> Result<Message, sqlx::Error> {
    let template = text(row, "template")?;
    Ok(Message {
        id: text(row, "id")?,
        conversation_id: text(row, "conversation_id")?,
        direction: enum32(row, "direction")?,
        author_kind: enum32(row, "author_kind")?,
        text: text(row, "text")?,
        attachments: codec::decode::<Attachments>(&text(row, "attachments")?).items,
        status: enum32(row, "status")?,
        failure_reason: text(row, "failure_reason")?,
        provider_message_id: text(row, "provider_message_id")?,
        created_at: timestamp(int(row, "created_at_ms")?),
        updated_at: timestamp(int(row, "updated_at_ms")?),
        reply_to_message_id: text(row, "reply_to_message_id")?,
        author_name: text(row, "author_name")?,
        operator_id: text(row, "operator_id")?,
        edited: int(row, "edited")? != 0,
        idempotency_key: text(row, "idempotency_key")?,
        template: (!template.is_empty()).then(|| codec::decode(&template)),
        deleted: int(row, "deleted")? != 0,
    })
}
