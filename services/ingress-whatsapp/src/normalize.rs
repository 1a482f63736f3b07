//! Turns a WhatsApp webhook into Omnibus events, or says why a part of it
//! was skipped.
//!
//! Normalization is pure and deterministic: the same webhook on the same
//! channel always gives the same events, with ids derived from WhatsApp's
//! own (`omnibus_core::ids`), so a retried webhook or a replayed stream lands
//! on the same conversation, contact and message, and the event id
//! (`whatsapp:<channel>:<wamid>`) lets JetStream drop the repeat.
//!
//! One webhook can carry many entries, changes, messages and statuses; each
//! becomes its own event. Changes about another business number (several
//! numbers can share one Meta app and so one webhook URL) are skipped.

mod chat;
mod content;
mod edits;
mod forms;
pub mod other;

pub use chat::GROUP_PREFIX;
pub(crate) use chat::{Chat, Person};
use omnibus_proto::{AuthorKind, Direction, Event, MessageReceived, event::Payload};
use serde_json::Value;

use crate::wire::{self, Change, Message, MessagesValue, Notification, Profile};

/// The channel a webhook arrived on, as normalization needs it.
#[derive(Debug, Clone, Copy)]
pub struct ChannelView<'a> {
    /// Our channel id.
    pub id: &'a str,
    /// The business number this channel is (`phone_number_id` credential).
    pub phone_number_id: &'a str,
    /// The business account (`business_account_id` credential), if known.
    pub business_account_id: &'a str,
}

/// Where an event belongs on the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    /// On its conversation's subject (`event.conversation_id`).
    Conversation(Event),
    /// On the channel's template subject.
    Template(Event),
}

impl Routed {
    /// The event, wherever it goes.
    pub fn event(&self) -> &Event {
        match self {
            Self::Conversation(event) | Self::Template(event) => event,
        }
    }
}

/// Everything one webhook gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// Events to store, in the webhook's order; `recorded_at_ms` is 0.
    pub events: Vec<Routed>,
    /// What was left out and why, for logs.
    pub skipped: Vec<&'static str>,
}

/// Normalizes a webhook received on `channel`.
pub fn normalize(channel: &ChannelView<'_>, notification: &Notification) -> Normalized {
    let mut out = Normalized::default();
    for entry in &notification.entry {
        for change in &entry.changes {
            match change.field.as_str() {
                "messages" | "smb_message_echoes" | "calls" => {
                    messages_change(channel, change, &mut out);
                }
                "message_template_status_update" => {
                    other::template_status(channel, entry, &change.value, &mut out);
                }
                _ => out.skipped.push("webhook field Omnibus does not use"),
            }
        }
    }
    out
}

fn messages_change(channel: &ChannelView<'_>, change: &Change, out: &mut Normalized) {
    let Some(value) = wire::decode::<MessagesValue>(&change.value) else {
        out.skipped.push("unreadable change value");
        return;
    };
    if let Some(metadata) = &value.metadata
        && !channel.phone_number_id.is_empty()
        && metadata.phone_number_id != channel.phone_number_id
    {
        out.skipped.push("change for another phone number");
        return;
    }
    let profiles: Vec<Profile> = value.contacts.iter().filter_map(wire::decode).collect();
    for raw in &value.messages {
        match received(channel, &profiles, raw) {
            Some(event) => out.events.push(Routed::Conversation(event)),
            None => out.skipped.push("message without id or sender"),
        }
    }
    for raw in &value.message_echoes {
        match other::echo(channel, raw) {
            Some(event) => out.events.push(Routed::Conversation(event)),
            None => out.skipped.push("echo without id or recipient"),
        }
    }
    for raw in &value.statuses {
        match other::status(channel, raw) {
            Some(event) => out.events.push(Routed::Conversation(event)),
            None => out.skipped.push("status Omnibus does not track"),
        }
    }
    for raw in &value.calls {
        match other::call(channel, &profiles, raw) {
            Some(event) => out.events.push(Routed::Conversation(event)),
            None => out.skipped.push("call event without id or customer"),
        }
    }
    if !value.errors.is_empty() {
        // Account-level errors name no customer, so no conversation takes them.
        out.skipped.push("account-level webhook errors");
    }
}

/// A customer's message, or `None` when it names no sender or id. Edits
/// and deletions of an earlier message become `MessageEdited`.
fn received(channel: &ChannelView<'_>, profiles: &[Profile], raw: &Value) -> Option<Event> {
    let message = match wire::decode::<Message>(raw) {
        Some(message) => message,
        // A message of a shape we cannot read still gets a notice, keyed on
        // the id and sender if those at least are readable.
        None => unreadable(raw)?,
    };
    if message.id.is_empty() {
        return None;
    }
    let sender = Person::sender(&message, profiles);
    let chat = if message.group_id.trim().is_empty() {
        Chat::person(channel.id, &sender)
    } else {
        Chat::group(channel.id, &message.group_id, &sender)
    };
    if !chat.is_keyed() {
        return None;
    }
    if let Some(event) = edits::edited(channel, &chat, &message) {
        return Some(event);
    }
    let body = content::of(&message);
    let reply_to_wamid = body
        .reply_to_wamid
        .or_else(|| message.context.as_ref().map(|c| c.id.clone()))
        .filter(|id| !id.is_empty())
        .unwrap_or_default();
    let reply_to = if reply_to_wamid.is_empty() {
        String::new()
    } else {
        chat.message_id(&reply_to_wamid)
    };
    let author_name = match body.author {
        AuthorKind::Contact => chat.author_name(),
        _ => String::new(),
    };
    let payload = Payload::MessageReceived(MessageReceived {
        message_id: chat.message_id(&message.id),
        provider_message_id: message.id.clone(),
        peer: Some(chat.peer.clone()),
        text: body.text,
        attachments: body.attachments,
        reply_to_message_id: reply_to,
        reply_to_provider_message_id: reply_to_wamid,
        author_kind: body.author.into(),
        direction: Direction::Inbound.into(),
        author_name,
        contact_id: chat.contact_id.clone(),
        unshown_kind: body.unshown.unwrap_or_default(),
        linked_contact_id: chat.linked_contact_id.clone(),
        ..MessageReceived::default()
    });
    Some(chat.event(
        format!("whatsapp:{}:{}", channel.id, message.id),
        &message.timestamp,
        payload,
    ))
}

fn unreadable(raw: &Value) -> Option<Message> {
    let field = |name: &str| match &raw[name] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    Some(Message {
        id: field("id"),
        from: field("from"),
        from_user_id: field("from_user_id"),
        group_id: field("group_id"),
        timestamp: field("timestamp"),
        kind: "unreadable".into(),
        ..Message::default()
    })
}

fn profile_name<'a>(profiles: &'a [Profile], wa_id: &str) -> &'a str {
    chat::profile_of(profiles, wa_id, wa_id).map_or("", |p| p.profile.name.as_str())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_newer;
