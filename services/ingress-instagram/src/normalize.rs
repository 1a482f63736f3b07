//! Turns an Instagram webhook into Omnibus events, or says why a part of it
//! was skipped.
//!
//! Normalization is pure and deterministic: the same webhook on the same
//! channel always gives the same events, with ids derived from Instagram's
//! own (`omnibus_core::ids`), so a retried webhook or a replayed stream lands
//! on the same conversation, contact and message, and the event id
//! (`instagram:<channel>:<mid>`) lets JetStream drop the repeat.
//!
//! - Direct (`messaging[]`, `standby[]`, and the dashboard's test shape
//!   `changes[]` with `field: messages`): one conversation per customer
//!   (IGSID), see [`direct`];
//! - comments (`changes[]` with `field: comments`, or the same directly in
//!   the entry): one conversation per commenting user per post, see
//!   [`comment`].

pub mod comment;
pub mod direct;

use std::collections::HashMap;

use omnibus_core::ids;
use omnibus_proto::{Event, Peer, event::Payload};
use serde_json::Value;

use crate::wire::{Entry, Notification};

/// The channel a webhook arrived on, as normalization needs it.
#[derive(Debug, Clone, Copy)]
pub struct ChannelView<'a> {
    /// Our channel id.
    pub id: &'a str,
    /// The professional account (`account_id` credential); empty when not
    /// known, then taken from each entry.
    pub account_id: &'a str,
}

/// Everything one webhook gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// Events to store, in the webhook's order; `recorded_at_ms` is 0.
    pub events: Vec<Event>,
    /// What was left out and why, for logs.
    pub skipped: Vec<&'static str>,
}

/// Links of the posts comments are under, by media id: looked up from the
/// Graph API before normalizing (see [`media_ids`]); a post missing here
/// leaves the conversation's `subject_url` empty.
pub type Permalinks = HashMap<String, String>;

/// Normalizes a webhook received on `channel`.
pub fn normalize(
    channel: &ChannelView<'_>,
    notification: &Notification,
    permalinks: &Permalinks,
) -> Normalized {
    let mut out = Normalized::default();
    for entry in &notification.entry {
        if !channel.account_id.is_empty() && !entry.id.is_empty() && entry.id != channel.account_id
        {
            out.skipped.push("entry for another Instagram account");
            continue;
        }
        let account = if channel.account_id.is_empty() {
            entry.id.as_str()
        } else {
            channel.account_id
        };
        let view = ChannelView {
            id: channel.id,
            account_id: account,
        };
        for raw in entry.messaging.iter().chain(&entry.standby) {
            direct::messaging(&view, raw, &mut out);
        }
        for (field, value) in changes(entry) {
            match field {
                "messages" => direct::messaging(&view, value, &mut out),
                "comments" | "live_comments" => {
                    comment::comment(&view, entry, value, permalinks, &mut out);
                }
                _ => out.skipped.push("webhook field Omnibus does not use"),
            }
        }
    }
    out
}

/// The media ids of every comment in the webhook, to look their links up.
pub fn media_ids(notification: &Notification) -> Vec<String> {
    let mut found: Vec<String> = notification
        .entry
        .iter()
        .flat_map(changes)
        .filter(|(field, _)| matches!(*field, "comments" | "live_comments"))
        .filter_map(|(_, value)| value["media"]["id"].as_str().map(str::to_owned))
        .filter(|id| !id.is_empty())
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The entry's `changes[]`, and a change written straight into the entry.
fn changes(entry: &Entry) -> impl Iterator<Item = (&str, &Value)> {
    let inline = (!entry.field.is_empty()).then_some((entry.field.as_str(), &entry.value));
    entry
        .changes
        .iter()
        .map(|c| (c.field.as_str(), &c.value))
        .chain(inline)
}

/// One customer's chat on a channel: its ids and the peer.
pub(crate) struct Chat<'a> {
    channel_id: &'a str,
    /// The provider chat id: the IGSID for Direct, `comment:<media>:<user>`
    /// for a comment thread.
    chat_key: String,
    pub peer: Peer,
    pub contact_id: String,
}

impl<'a> Chat<'a> {
    /// The Direct chat with the customer `igsid`.
    pub fn direct(channel_id: &'a str, igsid: &str) -> Self {
        Self::new(channel_id, igsid.to_owned(), igsid, "")
    }

    /// The comment thread of `user` under the post `media_id`.
    pub fn comments(channel_id: &'a str, media_id: &str, user: &str, username: &str) -> Self {
        Self::new(channel_id, comment_chat_id(media_id, user), user, username)
    }

    fn new(channel_id: &'a str, chat_key: String, user: &str, username: &str) -> Self {
        let peer = Peer {
            provider_chat_id: chat_key.clone(),
            provider_user_id: user.to_owned(),
            username: username.to_owned(),
            ..Peer::default()
        };
        Self {
            channel_id,
            // The contact is the person, the same in Direct and comments.
            contact_id: ids::contact_id(channel_id, user),
            chat_key,
            peer,
        }
    }

    /// Our id of the message Instagram knows as `provider_id` in this chat.
    pub fn message_id(&self, provider_id: &str) -> String {
        ids::inbound_message_id(self.channel_id, &self.chat_key, provider_id)
    }

    pub fn event(&self, id: String, occurred_at_ms: i64, payload: Payload) -> Event {
        Event {
            id: format!("instagram:{}:{id}", self.channel_id),
            occurred_at_ms,
            recorded_at_ms: 0,
            channel_id: self.channel_id.to_owned(),
            conversation_id: ids::conversation_id(self.channel_id, &self.chat_key),
            payload: Some(payload),
        }
    }
}

/// The provider chat id of a comment thread: `comment:<media id>:<user id>`.
pub fn comment_chat_id(media_id: &str, user: &str) -> String {
    format!("comment:{media_id}:{user}")
}

/// The post and user of a comment thread's chat id, or `None` for Direct.
pub fn parse_comment_chat_id(chat_id: &str) -> Option<(&str, &str)> {
    let rest = chat_id.strip_prefix("comment:")?;
    let (media, user) = rest.split_once(':')?;
    (!media.is_empty() && !user.is_empty()).then_some((media, user))
}

#[cfg(test)]
mod tests;
