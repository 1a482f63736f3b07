//! Turns a Wazzup webhook into Omnibus events, or says why a part of it
//! was skipped.
//!
//! One Wazzup account (one API key) has one webhook URL for all of its
//! channels, and each Wazzup channel the operator connected is its own
//! Omnibus channel. So a delivery is normalized against the whole account
//! ([`Account`]): each message goes to the Omnibus channel of its
//! `channelId`, each status to the message it refers to ([`Sends`]).
//! Normalization is pure and deterministic: event ids derive from Wazzup's
//! (`wazzup:<channel>:<messageId>`), so a retried delivery is dropped.

pub mod content;
pub mod message;
pub mod status;

use std::collections::HashMap;

use omnibus_proto::Event;

use crate::wire::Webhook;

/// One Wazzup channel connected to Omnibus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// Our channel id.
    pub channel_id: String,
    /// Wazzup's `channelId` (the `channel_id` credential).
    pub wazzup_channel_id: String,
}

/// The Omnibus channels of one Wazzup account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    pub channels: Vec<Linked>,
}

impl Account {
    /// Our channel of Wazzup's `channelId`.
    pub fn channel_of(&self, wazzup_channel_id: &str) -> Option<&str> {
        self.channels
            .iter()
            .find(|c| c.wazzup_channel_id == wazzup_channel_id)
            .map(|c| c.channel_id.as_str())
    }
}

/// An outbound message Omnibus sent through Wazzup, as a status needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRef {
    pub channel_id: String,
    pub conversation_id: String,
    /// Our message id.
    pub message_id: String,
}

/// Finds our message by Wazzup's `messageId` (recorded at send time).
pub trait Sends {
    fn find(&self, wazzup_message_id: &str) -> Option<SentRef>;
}

impl Sends for HashMap<String, SentRef> {
    fn find(&self, wazzup_message_id: &str) -> Option<SentRef> {
        self.get(wazzup_message_id).cloned()
    }
}

/// Everything one delivery gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    /// Events to store, in the delivery's order; `recorded_at_ms` is 0.
    pub events: Vec<Event>,
    /// What was left out and why, for logs.
    pub skipped: Vec<&'static str>,
}

/// Normalizes a delivery for `account`.
pub fn normalize(account: &Account, webhook: &Webhook, sends: &dyn Sends) -> Normalized {
    let mut out = Normalized::default();
    for raw in &webhook.messages {
        message::message(account, raw, &mut out);
    }
    for raw in &webhook.statuses {
        status::status(raw, sends, &mut out);
    }
    out
}

/// True when the delivery names something of `account`: a message on one
/// of its channels, or a status of a message sent through one. Without a
/// `webhook_token` that is all that tells Wazzup's deliveries from others.
pub fn names_account(account: &Account, webhook: &Webhook, sends: &dyn Sends) -> bool {
    let known_channel = webhook.messages.iter().any(|m| {
        m["channelId"]
            .as_str()
            .is_some_and(|id| account.channel_of(id).is_some())
    });
    let known_status = webhook.statuses.iter().any(|s| {
        s["messageId"].as_str().is_some_and(|id| {
            sends.find(id).is_some_and(|sent| {
                account
                    .channels
                    .iter()
                    .any(|c| c.channel_id == sent.channel_id)
            })
        })
    });
    known_channel || known_status
}

#[cfg(test)]
mod tests;
