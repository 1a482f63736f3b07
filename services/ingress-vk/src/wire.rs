//! serde types of VK's Callback API (providers.md §4.1, §4.2) and a parser
//! that tolerates what VK adds over time.
//!
//! Every notification is `{type, object, group_id, event_id, v, secret}`.
//! `object` is decoded by `type` on its own, so an odd object costs only
//! itself. `message_new` and `message_reply` are read in both shapes:
//! `object.message` (API 5.103+) and the older `object` as the message.

use omnibus_ingress::lenient;
use serde::Deserialize;
use serde_json::Value;

/// Peer ids from this number on are group chats (`2000000000 + chat_id`).
pub const CHAT_PEER_BASE: i64 = 2_000_000_000;

/// One Callback API notification.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Notification {
    /// `confirmation`, `message_new`, `message_reply`, …
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// The event's object; read with [`Notification::message`] and friends.
    pub object: Value,
    #[serde(deserialize_with = "lenient::i64")]
    pub group_id: i64,
    /// "If it passed twice or more — you should ignore it."
    #[serde(deserialize_with = "lenient::string")]
    pub event_id: String,
    /// The API version the objects are written in.
    #[serde(deserialize_with = "lenient::string")]
    pub v: String,
    /// The server's secret key, as set in the community's settings.
    #[serde(deserialize_with = "lenient::string")]
    pub secret: String,
}

impl Notification {
    /// The message of `message_new`, `message_reply` or `message_edit`,
    /// in either shape.
    pub fn message(&self) -> Option<Message> {
        match self.object.get("message") {
            Some(message) if message.is_object() => lenient::decode(message),
            _ => lenient::decode(&self.object),
        }
    }

    /// The object of any other event.
    pub fn object<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        lenient::decode(&self.object)
    }
}

/// A message (`messages_message` in VK's schema).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Message {
    /// The message's id in the community's dialogs (0 in some chat events).
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    /// Unix seconds.
    #[serde(deserialize_with = "lenient::i64")]
    pub date: i64,
    /// Who wrote: a user, or `-<group id>` for the community itself.
    #[serde(deserialize_with = "lenient::i64")]
    pub from_id: i64,
    /// The dialog: the user, or `2000000000 + chat_id` for a group chat.
    #[serde(deserialize_with = "lenient::i64")]
    pub peer_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    /// 1 for the community's own messages.
    #[serde(deserialize_with = "lenient::i64")]
    pub out: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub conversation_message_id: i64,
    /// The sender's de-duplication key (ours on `message_reply` after
    /// `messages.send`).
    #[serde(deserialize_with = "lenient::i64")]
    pub random_id: i64,
    /// The administrator who wrote a community message from VK itself.
    #[serde(deserialize_with = "lenient::i64")]
    pub admin_author_id: i64,
    #[serde(deserialize_with = "lenient::list")]
    pub attachments: Vec<Attachment>,
    #[serde(deserialize_with = "lenient::list")]
    pub fwd_messages: Vec<Message>,
    #[serde(deserialize_with = "lenient::option")]
    pub reply_message: Option<Box<Message>>,
    #[serde(deserialize_with = "lenient::option")]
    pub geo: Option<Geo>,
}

/// One attachment: `type` names the field that holds it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Attachment {
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    #[serde(deserialize_with = "lenient::option")]
    pub photo: Option<Photo>,
    #[serde(deserialize_with = "lenient::option")]
    pub doc: Option<Doc>,
    #[serde(deserialize_with = "lenient::option")]
    pub audio_message: Option<AudioMessage>,
    #[serde(deserialize_with = "lenient::option")]
    pub sticker: Option<Sticker>,
    #[serde(deserialize_with = "lenient::option")]
    pub link: Option<Link>,
    #[serde(deserialize_with = "lenient::option")]
    pub wall: Option<Wall>,
    #[serde(deserialize_with = "lenient::option")]
    pub video: Option<Media>,
    #[serde(deserialize_with = "lenient::option")]
    pub audio: Option<Media>,
}

/// What VK attachments of every kind share: an owner, an id, an access key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Media {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub owner_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(deserialize_with = "lenient::string")]
    pub title: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Photo {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub owner_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    #[serde(deserialize_with = "lenient::list")]
    pub sizes: Vec<Size>,
}

/// One rendition of a photo or a sticker.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Size {
    #[serde(deserialize_with = "lenient::string")]
    pub url: String,
    #[serde(deserialize_with = "lenient::u64")]
    pub width: u64,
    #[serde(deserialize_with = "lenient::u64")]
    pub height: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Doc {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub owner_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(deserialize_with = "lenient::string")]
    pub title: String,
    #[serde(deserialize_with = "lenient::string")]
    pub ext: String,
    #[serde(deserialize_with = "lenient::u64")]
    pub size: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub url: String,
}

/// A voice message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AudioMessage {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub owner_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub access_key: String,
    #[serde(deserialize_with = "lenient::u64")]
    pub duration: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub link_ogg: String,
    #[serde(deserialize_with = "lenient::string")]
    pub link_mp3: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Sticker {
    #[serde(deserialize_with = "lenient::i64")]
    pub sticker_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub product_id: i64,
    #[serde(deserialize_with = "lenient::list")]
    pub images: Vec<Size>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Link {
    #[serde(deserialize_with = "lenient::string")]
    pub url: String,
    #[serde(deserialize_with = "lenient::string")]
    pub title: String,
}

/// A reposted wall post.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Wall {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    /// The wall's owner; older versions say `to_id`.
    #[serde(deserialize_with = "lenient::i64")]
    pub owner_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub to_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub from_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
}

/// A shared location.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Geo {
    #[serde(deserialize_with = "lenient::option")]
    pub coordinates: Option<Coordinates>,
    #[serde(deserialize_with = "lenient::option")]
    pub place: Option<Place>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Coordinates {
    #[serde(deserialize_with = "lenient::f64")]
    pub latitude: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub longitude: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Place {
    #[serde(deserialize_with = "lenient::string")]
    pub title: String,
}

/// `message_allow` / `message_deny`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Permission {
    #[serde(deserialize_with = "lenient::i64")]
    pub user_id: i64,
}

/// `message_read`: the customer read our messages up to `read_message_id`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Read {
    #[serde(deserialize_with = "lenient::i64")]
    pub from_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub peer_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub read_message_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub conversation_message_id: i64,
}

/// `wall_reply_new` and `market_comment_new`: a comment under a wall post or
/// a market item.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Comment {
    #[serde(deserialize_with = "lenient::i64")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub from_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub date: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    /// `wall_reply_new`: the post and its wall's owner.
    #[serde(deserialize_with = "lenient::i64")]
    pub post_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub post_owner_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub owner_id: i64,
    /// `market_comment_new`: the item and its owner (the community, negative).
    #[serde(deserialize_with = "lenient::i64")]
    pub item_id: i64,
    #[serde(deserialize_with = "lenient::i64")]
    pub market_owner_id: i64,
    /// The comment this one answers, if any.
    #[serde(deserialize_with = "lenient::i64")]
    pub reply_to_comment: i64,
    /// The author of the comment this one answers, if any.
    #[serde(deserialize_with = "lenient::i64")]
    pub reply_to_user: i64,
    #[serde(deserialize_with = "lenient::list")]
    pub attachments: Vec<Attachment>,
}

/// Why a body is not a Callback API notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("not a vk callback: {0}")]
    NotVk(&'static str),
}

/// Parses a notification. Only the envelope must be right (a JSON object
/// with a string `type`); odd fields inside become defaults.
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ParseError::NotVk("expected a JSON object"));
    };
    match object.get("type").and_then(Value::as_str) {
        Some(kind) if !kind.is_empty() => {}
        _ => return Err(ParseError::NotVk("no type field")),
    }
    Notification::deserialize(&value).map_err(|_| ParseError::NotVk("unreadable notification"))
}

#[cfg(test)]
mod tests;
