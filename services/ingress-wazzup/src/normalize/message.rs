//! `messages[]`: incoming messages, echoes of what the business sent from
//! its phone or Wazzup's app, echoes of our own sends, edits and deletes,
//! and group chats with the author named on each message.

use omnibus_core::ids;
use omnibus_proto::{
    AuthorKind, DeliveryStatusChanged, Direction, Event, MessageEdited, MessageReceived,
    MessageStatus, Peer, event::Payload,
};
use serde_json::Value;

use super::{Account, Normalized, content};
use crate::phone;
use crate::wire::{self, Message};

/// One `messages[]` element.
pub(super) fn message(account: &Account, raw: &Value, out: &mut Normalized) {
    let Some(message) = wire::decode::<Message>(raw) else {
        out.skipped.push("unreadable message");
        return;
    };
    if message.message_id.is_empty() || message.chat_id.is_empty() {
        out.skipped.push("message without id or chat");
        return;
    }
    let Some(channel_id) = account.channel_of(&message.channel_id) else {
        out.skipped
            .push("message of a Wazzup channel not connected to Omnibus");
        return;
    };
    let chat = Chat::new(channel_id, &message);
    if message.is_deleted || message.is_edited {
        out.events.push(edit(&chat, &message));
    } else if message.is_echo && our_message_id(&message.crm_message_id).is_some() {
        out.events.push(our_echo(&chat, &message));
    } else {
        out.events.push(received(&chat, &message));
    }
}

/// Our message id in a `crmMessageId` (`msg_…`, or `msg_…-<n>` for the
/// n-th part of a message sent in several), or `None` when it is not ours.
pub fn our_message_id(crm_message_id: &str) -> Option<&str> {
    let id = crm_message_id.split('-').next().unwrap_or_default();
    (id.starts_with("msg_") && ids::is_valid_id(id)).then_some(id)
}

fn received(chat: &Chat<'_>, message: &Message) -> Event {
    let body = content::of(message);
    let (author, direction) = if message.is_echo {
        (AuthorKind::ExternalDevice, Direction::Outbound)
    } else {
        (body.author, Direction::Inbound)
    };
    let author_name = if chat.peer.is_group || message.is_echo {
        message.author_name.clone()
    } else {
        chat.peer.first_name.clone()
    };
    let reply_to = message
        .quoted_message
        .as_ref()
        .map(|quoted| quoted_id(chat, quoted))
        .unwrap_or_default();
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&message.message_id),
        provider_message_id: message.message_id.clone(),
        peer: Some(chat.peer.clone()),
        text: body.text,
        attachments: body.attachments,
        reply_to_message_id: reply_to,
        author_kind: author.into(),
        direction: direction.into(),
        author_name,
        contact_id: chat.contact_id.clone(),
        unshown_kind: body.unshown.unwrap_or_default(),
        ..MessageReceived::default()
    });
    chat.event(message.message_id.clone(), message, payload)
}

/// Our id of a quoted message: ours when it carries our `crmMessageId`,
/// else the id of the message as received.
fn quoted_id(chat: &Chat<'_>, quoted: &Value) -> String {
    if let Some(ours) = quoted["crmMessageId"].as_str().and_then(our_message_id) {
        return ours.to_owned();
    }
    quoted["messageId"]
        .as_str()
        .filter(|id| !id.is_empty())
        .map(|id| chat.message_id(id))
        .unwrap_or_default()
}

/// An edit or delete: the message keeps its id; a deleted one keeps its
/// text for the operator (the event carries none).
fn edit(chat: &Chat<'_>, message: &Message) -> Event {
    let deleted = message.is_deleted;
    let body = content::of(message);
    let (text, attachments) = if deleted {
        (String::new(), Vec::new())
    } else {
        (body.text, body.attachments)
    };
    // Each edit is its own event: keyed on what the text became.
    let version = ids::inbound_message_id("edit", &message.message_id, &text);
    let key = if deleted {
        format!("{}:deleted", message.message_id)
    } else {
        format!("{}:edit:{version}", message.message_id)
    };
    let payload = Payload::MessageEdited(MessageEdited {
        message_id: chat.message_id(&message.message_id),
        provider_message_id: message.message_id.clone(),
        text,
        attachments,
        peer: Some(chat.peer.clone()),
        contact_id: chat.contact_id.clone(),
        deleted,
    });
    chat.event(key, message, payload)
}

/// Wazzup's echo of a message Omnibus sent: never shown again, it tells
/// which Wazzup message ours is (and that it went out).
fn our_echo(chat: &Chat<'_>, message: &Message) -> Event {
    let ours = our_message_id(&message.crm_message_id).unwrap_or_default();
    let payload = Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        message_id: ours.to_owned(),
        provider_message_id: message.message_id.clone(),
        status: MessageStatus::Sent.into(),
        ..DeliveryStatusChanged::default()
    });
    chat.event(format!("{}:echo", message.message_id), message, payload)
}

/// One chat on a channel: `<chatType>:<chatId>`, its contact and peer.
struct Chat<'a> {
    channel_id: &'a str,
    key: String,
    peer: Peer,
    contact_id: String,
}

impl<'a> Chat<'a> {
    fn new(channel_id: &'a str, message: &Message) -> Self {
        let key = chat_key(&message.chat_type, &message.chat_id);
        let is_group = message.chat_type.ends_with("group");
        let contact = &message.contact;
        let phone = match message.chat_type.as_str() {
            "whatsapp" | "viber" => phone::to_e164(&message.chat_id),
            _ => phone::to_e164(&contact.phone),
        };
        let peer = if is_group {
            Peer {
                provider_chat_id: key.clone(),
                provider_user_id: message.author_id.clone(),
                first_name: message.author_name.clone(),
                is_group: true,
                chat_title: contact.name.clone(),
                ..Peer::default()
            }
        } else {
            let username = match message.chat_type.as_str() {
                "instagram" => message.chat_id.clone(),
                _ => contact.username.clone(),
            };
            Peer {
                provider_chat_id: key.clone(),
                provider_user_id: message.chat_id.clone(),
                first_name: contact.name.clone(),
                username,
                phone: phone.unwrap_or_default(),
                ..Peer::default()
            }
        };
        Self {
            channel_id,
            // A group's contact is the group; a person's is keyed like the chat.
            contact_id: ids::contact_id(channel_id, &key),
            key,
            peer,
        }
    }

    fn message_id(&self, wazzup_id: &str) -> String {
        ids::inbound_message_id(self.channel_id, &self.key, wazzup_id)
    }

    fn event(&self, key: String, message: &Message, payload: Payload) -> Event {
        Event {
            id: format!("wazzup:{}:{key}", self.channel_id),
            occurred_at_ms: wire::date_time_ms(&message.date_time),
            recorded_at_ms: 0,
            channel_id: self.channel_id.to_owned(),
            conversation_id: ids::conversation_id(self.channel_id, &self.key),
            payload: Some(payload),
        }
    }
}

/// The provider chat id of a Wazzup chat: `<chatType>:<chatId>`, so the
/// send plan knows the transport of a conversation.
pub fn chat_key(chat_type: &str, chat_id: &str) -> String {
    let chat_type = if chat_type.is_empty() {
        "whatsapp"
    } else {
        chat_type
    };
    format!("{chat_type}:{chat_id}")
}
