//! Turns a VK Callback API notification into Omnibus events.
//!
//! Normalization is pure and deterministic: event and message ids derive
//! from VK's own ids (`omnibus_core::ids`), so a notification VK delivers
//! twice, under one `event_id` or two, lands on the same message once.
//!
//! - `message_new` → the customer's `MessageReceived` (private dialogs and
//!   group chats; replies, forwarded messages and every attachment kind);
//! - `message_reply` → the community's own message, written by an admin in
//!   VK (EXTERNAL_DEVICE, not sent again); it carries the `random_id` a send
//!   was made with, so the echo of a message Omnibus sent is matched to it;
//! - `message_edit` → `MessageEdited` of a customer's message;
//! - `message_allow` / `message_deny` → a SYSTEM message;
//! - `message_read` → our message READ;
//! - `wall_reply_new` / `market_comment_new` → a comment conversation per
//!   commenting user per post or item (see [`comments`]).

pub mod comments;
mod content;

use omnibus_core::ids;
use omnibus_proto::{
    AuthorKind, DeliveryStatusChanged, Direction, Event, MessageEdited, MessageReceived,
    MessageStatus, Peer, event::Payload,
};

use crate::wire::{CHAT_PEER_BASE, Message, Notification, Permission, Read};

/// The channel a notification arrived on, as normalization needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelView<'a> {
    /// Our channel id.
    pub id: &'a str,
    /// The community (`group_id` credential); 0 when unknown.
    pub group_id: i64,
}

/// What one notification gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// Events to store before answering `ok`; `recorded_at_ms` is 0.
    pub events: Vec<Event>,
    /// What was left out and why, for logs.
    pub skipped: Vec<&'static str>,
}

impl Normalized {
    pub(crate) fn skip(why: &'static str) -> Self {
        Self {
            skipped: vec![why],
            ..Self::default()
        }
    }

    pub(crate) fn event(event: Event) -> Self {
        Self {
            events: vec![event],
            ..Self::default()
        }
    }
}

/// Normalizes a (verified) notification received on `channel`.
pub fn normalize(channel: &ChannelView<'_>, notification: &Notification) -> Normalized {
    match notification.kind.as_str() {
        "message_new" => message(channel, notification, false),
        "message_reply" => message(channel, notification, true),
        "message_edit" => edit(channel, notification),
        "message_allow" | "message_deny" => permission(channel, notification),
        "message_read" => read(channel, notification),
        "wall_reply_new" | "market_comment_new" => comments::comment(channel, notification),
        "confirmation" => Normalized::default(),
        _ => Normalized::skip("vk event Omnibus does not use"),
    }
}

fn message(channel: &ChannelView<'_>, notification: &Notification, echo: bool) -> Normalized {
    let Some(message) = notification.message() else {
        return Normalized::skip("unreadable message");
    };
    if message.peer_id == 0 || (message.id == 0 && message.conversation_message_id == 0) {
        return Normalized::skip("message without a dialog or an id");
    }
    let community_wrote = echo || message.out == 1 || message.from_id < 0;
    let chat = Chat::of_message(channel.id, &message);
    let body = content::of(&message);
    let reply_to = message
        .reply_message
        .as_deref()
        .and_then(key_of)
        .map(|key| chat.message_id(&key))
        .unwrap_or_default();
    let (author_kind, direction) = if community_wrote {
        (AuthorKind::ExternalDevice, Direction::Outbound)
    } else {
        (AuthorKind::Contact, Direction::Inbound)
    };
    let key = key_of(&message).unwrap_or_default();
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&key),
        provider_message_id: provider_id(&message),
        peer: Some(chat.peer.clone()),
        text: body.text,
        attachments: body.attachments,
        reply_to_message_id: reply_to,
        author_kind: author_kind.into(),
        direction: direction.into(),
        author_name: String::new(),
        contact_id: chat.contact_id.clone(),
        echo_key: echo_key(&message, community_wrote),
        unshown_kind: body.unshown.unwrap_or_default(),
        ..MessageReceived::default()
    });
    let id = format!("vk:{}:msg:{}:{key}", channel.id, message.peer_id);
    Normalized::event(chat.event(id, message.date, payload))
}

/// The `random_id` of the community's own message, as the key Omnibus sent
/// it with (`crate::plan::random_id`), so the projection can tell our echo
/// from an admin's message.
fn echo_key(message: &Message, community_wrote: bool) -> String {
    if community_wrote && message.random_id != 0 {
        message.random_id.to_string()
    } else {
        String::new()
    }
}

fn edit(channel: &ChannelView<'_>, notification: &Notification) -> Normalized {
    let Some(message) = notification.message() else {
        return Normalized::skip("unreadable edit");
    };
    let Some(key) = key_of(&message).filter(|_| message.peer_id != 0) else {
        return Normalized::skip("edit without a dialog or an id");
    };
    let chat = Chat::of_message(channel.id, &message);
    let body = content::of(&message);
    let payload = Payload::MessageEdited(MessageEdited {
        message_id: chat.message_id(&key),
        provider_message_id: provider_id(&message),
        text: body.text,
        attachments: body.attachments,
        peer: Some(chat.peer.clone()),
        contact_id: chat.contact_id.clone(),
        deleted: false,
    });
    // The same edit may come twice; a later edit of the same message has
    // another text, hence the event id carries a digest of it.
    let digest = ids::inbound_message_id(channel.id, &key, &message.text);
    let id = format!("vk:{}:edit:{}:{key}:{digest}", channel.id, message.peer_id);
    Normalized::event(chat.event(id, message.date, payload))
}

fn permission(channel: &ChannelView<'_>, notification: &Notification) -> Normalized {
    let Some(user) = notification
        .object::<Permission>()
        .filter(|p| p.user_id > 0)
    else {
        return Normalized::skip("permission change without a user");
    };
    let allowed = notification.kind == "message_allow";
    let chat = Chat::private(channel.id, user.user_id);
    let text = if allowed {
        "the customer allowed messages from the community"
    } else {
        "the customer forbade messages from the community; messages to them fail until they allow \
         them again"
    };
    // VK names no message; the event id keys the change, so a repeat of
    // this delivery is one message and a later change another.
    let key = format!("{}:{}", notification.kind, notification.event_id);
    let message_id = chat.message_id(&key);
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: message_id.clone(),
        peer: Some(chat.peer.clone()),
        text: text.to_owned(),
        author_kind: AuthorKind::System.into(),
        direction: Direction::Inbound.into(),
        contact_id: chat.contact_id.clone(),
        ..MessageReceived::default()
    });
    Normalized::event(chat.event(format!("vk:{}:{message_id}", channel.id), 0, payload))
}

/// `message_read`: VK says up to which message the customer read; the
/// message it names becomes READ (statuses only move forward).
fn read(channel: &ChannelView<'_>, notification: &Notification) -> Normalized {
    let Some(read) = notification.object::<Read>() else {
        return Normalized::skip("unreadable read receipt");
    };
    let peer_id = if read.peer_id != 0 {
        read.peer_id
    } else {
        read.from_id
    };
    if peer_id <= 0 || read.read_message_id <= 0 {
        return Normalized::skip("read receipt without a dialog or a message");
    }
    let chat = Chat::private(channel.id, peer_id);
    let payload = Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        message_id: String::new(),
        provider_message_id: read.read_message_id.to_string(),
        status: MessageStatus::Read.into(),
        failure_reason: String::new(),
        and_earlier: false,
    });
    let id = format!("vk:{}:read:{peer_id}:{}", channel.id, read.read_message_id);
    Normalized::event(chat.event(id, 0, payload))
}

/// A message's key among the dialog's: its id, else its number in the dialog.
fn key_of(message: &Message) -> Option<String> {
    match (message.id, message.conversation_message_id) {
        (id, _) if id > 0 => Some(id.to_string()),
        (_, cmid) if cmid > 0 => Some(format!("c{cmid}")),
        _ => None,
    }
}

fn provider_id(message: &Message) -> String {
    if message.id > 0 {
        message.id.to_string()
    } else {
        String::new()
    }
}

/// One dialog (or comment thread) of the community: its ids and the peer.
pub(crate) struct Chat<'a> {
    channel_id: &'a str,
    pub peer: Peer,
    pub contact_id: String,
}

impl<'a> Chat<'a> {
    /// A private dialog with user `user_id`.
    pub fn private(channel_id: &'a str, user_id: i64) -> Self {
        let user = user_id.to_string();
        Self {
            channel_id,
            contact_id: ids::contact_id(channel_id, &user),
            peer: Peer {
                provider_chat_id: user.clone(),
                provider_user_id: user,
                username: format!("id{user_id}"),
                ..Peer::default()
            },
        }
    }

    /// The dialog a message is in: private, or a group chat (whose contact
    /// is the chat itself).
    fn of_message(channel_id: &'a str, message: &Message) -> Self {
        if message.peer_id < CHAT_PEER_BASE {
            return Self::private(channel_id, message.peer_id);
        }
        let peer = message.peer_id.to_string();
        Self {
            channel_id,
            contact_id: ids::contact_id(channel_id, &peer),
            peer: Peer {
                provider_chat_id: peer,
                provider_user_id: message.from_id.to_string(),
                is_group: true,
                chat_title: format!("VK chat {}", message.peer_id - CHAT_PEER_BASE),
                ..Peer::default()
            },
        }
    }

    pub fn message_id(&self, key: &str) -> String {
        ids::inbound_message_id(self.channel_id, &self.peer.provider_chat_id, key)
    }

    /// The event, at `date` (Unix seconds; 0 when VK gives none).
    pub fn event(&self, id: String, date: i64, payload: Payload) -> Event {
        Event {
            id,
            occurred_at_ms: date.clamp(0, i64::MAX / 1000) * 1000,
            recorded_at_ms: 0,
            channel_id: self.channel_id.to_owned(),
            conversation_id: ids::conversation_id(self.channel_id, &self.peer.provider_chat_id),
            payload: Some(payload),
        }
    }
}

#[cfg(test)]
mod tests;
