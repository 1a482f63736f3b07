//! Who a message is from and which conversation it belongs to.
//!
//! A customer is keyed on their phone number (`from`, `wa_id`) as before
//! usernames existed, so existing conversations go on; a customer whose
//! phone WhatsApp withholds (they took a username) is keyed on their
//! business-scoped user id (BSUID, `from_user_id`, `US.1349…`). When a
//! message names both, the event links the user id's contact to the
//! phone's, and the contacts service joins them into one contact.
//!
//! A message with a `group_id` belongs to the group's conversation
//! (`group:<group_id>`), its author named on each message.

use omnibus_core::ids;
use omnibus_proto::{Event, Peer, event::Payload};

use crate::wire::{self, Message, Profile};

/// The prefix of a group's chat key; the send plan addresses a chat with
/// it as a group.
pub const GROUP_PREFIX: &str = "group:";

/// A person as a webhook names them; any field may be empty.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Person<'a> {
    /// Digits, with or without `+`.
    pub phone: &'a str,
    /// The business-scoped user id.
    pub user_id: &'a str,
    pub name: &'a str,
    pub username: &'a str,
}

impl<'a> Person<'a> {
    /// A person known by one id, a phone number or a user id (statuses,
    /// echoes and calls name only one).
    pub fn by_id(id: &'a str, name: &'a str) -> Self {
        if is_phone(id) {
            Self {
                phone: id,
                name,
                ..Self::default()
            }
        } else {
            Self {
                user_id: id,
                name,
                ..Self::default()
            }
        }
    }

    /// The writer of `message`, with what `contacts[]` says about them.
    pub fn sender(message: &'a Message, profiles: &'a [Profile]) -> Self {
        let profile = profile_of(profiles, &message.from, &message.from_user_id);
        let user_id = if message.from_user_id.is_empty() {
            profile.map_or("", |p| p.user_id.as_str())
        } else {
            &message.from_user_id
        };
        Self {
            phone: &message.from,
            user_id,
            name: profile.map_or("", |p| p.profile.name.as_str()),
            username: profile.map_or("", Profile::username),
        }
    }

    fn phone_digits(&self) -> &'a str {
        self.phone.trim().trim_start_matches('+')
    }

    /// The person's key: the phone, else the user id.
    fn key(&self) -> &'a str {
        let phone = self.phone_digits();
        if phone.is_empty() {
            self.user_id.trim()
        } else {
            phone
        }
    }

    /// How an operator tells them apart: name, username, phone.
    fn display(&self) -> String {
        [self.name.trim(), self.username.trim()]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| match self.phone_digits() {
                "" => String::new(),
                digits => format!("+{digits}"),
            })
    }
}

/// The profile of whoever wrote: by phone, by user id, or the only one.
pub(crate) fn profile_of<'a>(
    profiles: &'a [Profile],
    phone: &str,
    user_id: &str,
) -> Option<&'a Profile> {
    profiles
        .iter()
        .find(|p| {
            (!phone.is_empty() && p.wa_id == phone) || (!user_id.is_empty() && p.user_id == user_id)
        })
        .or_else(|| (profiles.len() == 1).then(|| &profiles[0]))
}

/// A phone number in WhatsApp's form (digits, maybe a `+`), as opposed to
/// a business-scoped user id (`US.1349…`).
pub(crate) fn is_phone(id: &str) -> bool {
    let digits = id.trim().trim_start_matches('+');
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// One chat on a channel: its ids and the peer.
pub(crate) struct Chat<'a> {
    channel_id: &'a str,
    key: String,
    pub peer: Peer,
    pub contact_id: String,
    /// The contact of the customer's user id, when the chat is keyed on
    /// their phone and the webhook named both.
    pub linked_contact_id: String,
}

impl<'a> Chat<'a> {
    /// The chat with the customer `id` (phone digits or a user id), whose
    /// profile name is `name` (empty when the webhook does not say).
    pub fn new(channel_id: &'a str, id: &str, name: &str) -> Self {
        Self::person(channel_id, &Person::by_id(id, name))
    }

    /// The chat with `person`, keyed on their phone, else their user id.
    pub fn person(channel_id: &'a str, person: &Person<'_>) -> Self {
        let key = person.key().to_owned();
        let phone = person.phone_digits();
        let user_id = person.user_id.trim();
        let peer = Peer {
            provider_chat_id: key.clone(),
            provider_user_id: key.clone(),
            first_name: person.name.trim().to_owned(),
            username: person.username.trim().to_owned(),
            phone: if phone.is_empty() {
                String::new()
            } else {
                format!("+{phone}")
            },
            ..Peer::default()
        };
        let linked_contact_id = if phone.is_empty() || user_id.is_empty() {
            String::new()
        } else {
            ids::contact_id(channel_id, user_id)
        };
        Self {
            channel_id,
            contact_id: ids::contact_id(channel_id, &key),
            key,
            peer,
            linked_contact_id,
        }
    }

    /// The group `group_id`, `author` writing in it.
    pub fn group(channel_id: &'a str, group_id: &str, author: &Person<'_>) -> Self {
        let group_id = group_id.trim();
        let key = format!("{GROUP_PREFIX}{group_id}");
        let short: String = group_id.chars().take(12).collect();
        let peer = Peer {
            provider_chat_id: key.clone(),
            provider_user_id: author.key().to_owned(),
            first_name: author.display(),
            is_group: true,
            chat_title: format!("WhatsApp group {short}"),
            ..Peer::default()
        };
        Self {
            channel_id,
            // A group's contact is the group.
            contact_id: ids::contact_id(channel_id, &key),
            key,
            peer,
            linked_contact_id: String::new(),
        }
    }

    /// Whether the chat has a customer or group to key on.
    pub fn is_keyed(&self) -> bool {
        !self.key.is_empty() && self.key != GROUP_PREFIX
    }

    /// The name on the customer's messages: the member's in a group.
    pub fn author_name(&self) -> String {
        self.peer.first_name.clone()
    }

    /// Our id of the message WhatsApp knows as `wamid` in this chat.
    pub fn message_id(&self, wamid: &str) -> String {
        ids::inbound_message_id(self.channel_id, &self.key, wamid)
    }

    pub fn conversation_id(&self) -> String {
        ids::conversation_id(self.channel_id, &self.key)
    }

    pub fn event(&self, id: String, timestamp: &str, payload: Payload) -> Event {
        Event {
            id,
            occurred_at_ms: wire::seconds_to_ms(timestamp),
            recorded_at_ms: 0,
            channel_id: self.channel_id.to_owned(),
            conversation_id: self.conversation_id(),
            payload: Some(payload),
        }
    }
}
