//! Turns a Viber callback into Omnibus events and the answer Viber gets.
//!
//! Normalization is pure and deterministic: the same callback on the same
//! channel always gives the same events, with ids derived from Viber's own
//! (`omnibus_core::ids`), so a retried callback or a replayed stream lands on
//! the same conversation, contact and message, and the event id
//! (`viber:<channel>:<message_token>`) lets JetStream drop the repeat.
//!
//! - `message` → `MessageReceived` from the customer;
//! - `delivered`, `seen`, `failed` → `DeliveryStatusChanged` of our message,
//!   known by its `message_token`;
//! - `subscribed`, `unsubscribed` → a SYSTEM message in the customer's
//!   conversation (a subscription opens it; after an unsubscription Viber
//!   refuses sends with status 6, which the error table words for the operator);
//! - `conversation_started` → no event (no conversation opens until the
//!   customer writes or subscribes), but the answer carries the channel's
//!   welcome message when it has one: the only message Viber lets a bot send
//!   before that;
//! - `webhook` (Viber checking the URL) and anything else → nothing, 200.

mod content;

use omnibus_core::ids;
use omnibus_proto::{
    AuthorKind, DeliveryStatusChanged, Direction, Event, MessageReceived, MessageStatus, Peer,
    event::Payload,
};
use serde_json::{Value, json};

use crate::wire::{Callback, User};

/// The channel a callback arrived on, as normalization needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelView<'a> {
    /// Our channel id.
    pub id: &'a str,
    /// The bot's name, the `sender.name` of everything it sends.
    pub bot_name: &'a str,
    /// The bot's avatar URL (may be empty).
    pub bot_avatar: &'a str,
    /// `ChannelSettings.welcome_message` (empty: none).
    pub welcome_message: &'a str,
}

/// What one callback gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// Events to store before answering; `recorded_at_ms` is 0.
    pub events: Vec<Event>,
    /// The JSON body of the 200 answer: a welcome message for
    /// `conversation_started`, otherwise `None` (an empty 200).
    pub answer: Option<Value>,
    /// What was left out and why, for logs.
    pub skipped: Vec<&'static str>,
}

impl Normalized {
    fn skip(why: &'static str) -> Self {
        Self {
            skipped: vec![why],
            ..Self::default()
        }
    }

    fn event(event: Event) -> Self {
        Self {
            events: vec![event],
            ..Self::default()
        }
    }
}

/// Normalizes a callback received on `channel`.
pub fn normalize(channel: &ChannelView<'_>, callback: &Callback) -> Normalized {
    match callback.event.as_str() {
        "message" => message(channel, callback),
        "delivered" | "seen" | "failed" => status(channel, callback),
        "subscribed" | "unsubscribed" => subscription(channel, callback),
        "conversation_started" => Normalized {
            answer: welcome(channel),
            ..Normalized::default()
        },
        "webhook" => Normalized::default(),
        _ => Normalized::skip("viber event Omnibus does not use"),
    }
}

fn message(channel: &ChannelView<'_>, callback: &Callback) -> Normalized {
    let Some(sender) = callback.sender.as_ref().filter(|s| !s.id.is_empty()) else {
        return Normalized::skip("message without a sender");
    };
    if callback.message_token == 0 {
        return Normalized::skip("message without a message_token");
    }
    let chat = Chat::new(channel.id, &sender.id, sender);
    let token = callback.message_token.to_string();
    let body = content::of(callback.message().as_ref());
    let author_kind = if body.unshown.is_some() {
        AuthorKind::System
    } else {
        AuthorKind::Contact
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&token),
        provider_message_id: token.clone(),
        peer: Some(chat.peer.clone()),
        text: body.text,
        attachments: body.attachments,
        author_kind: author_kind.into(),
        direction: Direction::Inbound.into(),
        author_name: chat.peer.first_name.clone(),
        contact_id: chat.contact_id(),
        unshown_kind: body.unshown.unwrap_or_default(),
        ..MessageReceived::default()
    });
    let id = format!("viber:{}:{token}", channel.id);
    Normalized::event(chat.event(id, callback.timestamp, payload))
}

/// A delivery status of one of our messages. Viber names only the message
/// token, so `message_id` stays empty and the conversations service finds
/// the message by `provider_message_id`. The event id includes the status,
/// so `delivered` and `seen` of one message are both kept, each once.
fn status(channel: &ChannelView<'_>, callback: &Callback) -> Normalized {
    if callback.user_id.is_empty() || callback.message_token == 0 {
        return Normalized::skip("status without a user or message_token");
    }
    let (status, failure_reason) = match callback.event.as_str() {
        "delivered" => (MessageStatus::Delivered, String::new()),
        "seen" => (MessageStatus::Read, String::new()),
        _ => (MessageStatus::Failed, failure_reason(&callback.desc)),
    };
    let chat = Chat::new(channel.id, &callback.user_id, &User::default());
    let token = callback.message_token.to_string();
    let payload = Payload::DeliveryStatusChanged(DeliveryStatusChanged {
        message_id: String::new(),
        provider_message_id: token.clone(),
        status: status.into(),
        failure_reason,
        ..Default::default()
    });
    let id = format!("viber:{}:status:{token}:{}", channel.id, callback.event);
    Normalized::event(chat.event(id, callback.timestamp, payload))
}

fn failure_reason(desc: &str) -> String {
    let desc = desc.trim();
    if desc.is_empty() {
        "Viber could not deliver the message".to_owned()
    } else {
        format!("Viber could not deliver the message: {desc}")
    }
}

/// `subscribed` / `unsubscribed` as a SYSTEM message the operator sees.
fn subscription(channel: &ChannelView<'_>, callback: &Callback) -> Normalized {
    let subscribed = callback.event == "subscribed";
    let user = match (&callback.user, subscribed) {
        (Some(user), true) => user.clone(),
        _ => User {
            id: callback.user_id.clone(),
            ..User::default()
        },
    };
    if user.id.is_empty() {
        return Normalized::skip("subscription without a user");
    }
    // A subscription has a token; without one the time tells two apart.
    let key = match callback.message_token {
        0 => format!("{}:at:{}", callback.event, callback.timestamp),
        token => format!("{}:{token}", callback.event),
    };
    let chat = Chat::new(channel.id, &user.id, &user);
    let text = if subscribed {
        "the customer subscribed to the bot"
    } else {
        "the customer unsubscribed from the bot; messages to them fail until they write again"
    };
    let message_id = chat.message_id(&key);
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: message_id.clone(),
        peer: Some(chat.peer.clone()),
        text: text.to_owned(),
        author_kind: AuthorKind::System.into(),
        direction: Direction::Inbound.into(),
        contact_id: chat.contact_id(),
        ..MessageReceived::default()
    });
    // Keyed on our message id: a user id may hold any character.
    let id = format!("viber:{}:{message_id}", channel.id);
    Normalized::event(chat.event(id, callback.timestamp, payload))
}

/// The welcome message, in `send_message` form without a `receiver`.
fn welcome(channel: &ChannelView<'_>) -> Option<Value> {
    let text = channel.welcome_message.trim();
    if text.is_empty() {
        return None;
    }
    Some(json!({
        "sender": crate::plan::sender(channel.bot_name, channel.bot_avatar),
        "type": "text",
        "text": text,
    }))
}

/// One customer's chat with the bot: its ids and the peer.
struct Chat<'a> {
    channel_id: &'a str,
    peer: Peer,
}

impl<'a> Chat<'a> {
    fn new(channel_id: &'a str, user_id: &str, user: &User) -> Self {
        let peer = Peer {
            provider_chat_id: user_id.to_owned(),
            provider_user_id: user_id.to_owned(),
            first_name: user.name.trim().to_owned(),
            ..Peer::default()
        };
        Self { channel_id, peer }
    }

    fn message_id(&self, key: &str) -> String {
        ids::inbound_message_id(self.channel_id, &self.peer.provider_chat_id, key)
    }

    fn contact_id(&self) -> String {
        ids::contact_id(self.channel_id, &self.peer.provider_user_id)
    }

    fn event(&self, id: String, occurred_at_ms: i64, payload: Payload) -> Event {
        Event {
            id,
            occurred_at_ms: occurred_at_ms.max(0),
            recorded_at_ms: 0,
            channel_id: self.channel_id.to_owned(),
            conversation_id: ids::conversation_id(self.channel_id, &self.peer.provider_chat_id),
            payload: Some(payload),
        }
    }
}

#[cfg(test)]
mod tests;
