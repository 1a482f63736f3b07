//! `type: edit` and `type: revoke`: the customer changed or deleted an
//! earlier message. Both become `MessageEdited` of the original, as Telegram
//! edits and Instagram unsends do: an edit carries the new text or caption
//! (and media), a deletion is marked deleted and keeps the text for the
//! operator (the conversations service keeps it).

use omnibus_proto::{Event, MessageEdited, event::Payload};

use super::{ChannelView, Chat, content};
use crate::wire::Message;

/// The `MessageEdited` of `message` when it is an edit or a deletion that
/// names the original; `None` for every other message (and for an edit
/// too broken to apply, which then becomes a notice like any unknown type).
pub(super) fn edited(
    channel: &ChannelView<'_>,
    chat: &Chat<'_>,
    message: &Message,
) -> Option<Event> {
    let (original, deleted) = match message.kind.as_str() {
        "edit" => (message.edit.as_ref()?.original_message_id.as_str(), false),
        "revoke" => (message.revoke.as_ref()?.original_message_id.as_str(), true),
        _ => return None,
    };
    if original.is_empty() {
        return None;
    }
    let (text, attachments) = if deleted {
        (String::new(), Vec::new())
    } else {
        let now = message.edit.as_ref()?.message.as_deref()?;
        let body = content::of(now);
        (body.text, body.attachments)
    };
    let payload = Payload::MessageEdited(MessageEdited {
        message_id: chat.message_id(original),
        provider_message_id: original.to_owned(),
        text,
        attachments,
        peer: Some(chat.peer.clone()),
        contact_id: chat.contact_id.clone(),
        deleted,
    });
    Some(chat.event(
        format!("whatsapp:{}:{}", channel.id, message.id),
        &message.timestamp,
        payload,
    ))
}
