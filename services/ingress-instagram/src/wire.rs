//! serde types of Meta's Instagram messaging webhooks (providers.md §5.2,
//! §5.3) and a parser that tolerates what Meta adds over time.
//!
//! Every field is optional and list elements are decoded one by one, so one
//! event of a shape we do not know costs nothing else in the webhook. Ids
//! may arrive as strings or numbers, timestamps in seconds or milliseconds.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The top-level object of every webhook (`object: instagram`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Notification {
    pub object: String,
    pub entry: Vec<Entry>,
}

/// One professional account's events.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Entry {
    /// The professional account (IGID) the events are about.
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub time: i64,
    /// Direct messages, reactions, read receipts.
    #[serde(deserialize_with = "lenient_list")]
    pub messaging: Vec<Value>,
    /// The same as `messaging`, while another app holds thread control.
    #[serde(deserialize_with = "lenient_list")]
    pub standby: Vec<Value>,
    /// Comments, and the dashboard's test messages (`field: messages`).
    #[serde(deserialize_with = "lenient_list")]
    pub changes: Vec<Change>,
    /// A change written straight into the entry (Meta's examples page).
    pub field: String,
    pub value: Value,
}

/// One change: `field` says how to read `value`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Change {
    pub field: String,
    pub value: Value,
}

/// One element of `messaging[]` / `standby[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Messaging {
    pub sender: Party,
    pub recipient: Party,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient_i64")]
    pub timestamp: i64,
    pub message: Option<DirectMessage>,
    pub read: Option<Read>,
    pub reaction: Option<Reaction>,
    pub postback: Option<Postback>,
    pub referral: Option<Referral>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Party {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
}

/// A Direct message (or an echo of one the business sent).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct DirectMessage {
    pub mid: String,
    pub text: String,
    #[serde(deserialize_with = "lenient_list")]
    pub attachments: Vec<Value>,
    pub is_echo: bool,
    pub is_deleted: bool,
    pub is_unsupported: bool,
    pub reply_to: Option<ReplyTo>,
    pub quick_reply: Option<QuickReply>,
}

/// One attachment of a Direct message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    pub payload: AttachmentPayload,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AttachmentPayload {
    pub url: String,
    pub title: String,
}

/// What a message answers: another message, or a story.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ReplyTo {
    pub mid: String,
    pub story: Option<Story>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Story {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct QuickReply {
    pub payload: String,
}

/// A read receipt: the customer has seen `mid` (and what came before it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Read {
    pub mid: String,
    #[serde(deserialize_with = "lenient_i64")]
    pub watermark: i64,
}

/// A reaction to a message, or its removal (`action: unreact`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Reaction {
    pub mid: String,
    pub action: String,
    pub reaction: String,
    pub emoji: String,
}

/// An icebreaker or button pressed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Postback {
    pub mid: String,
    pub title: String,
    pub payload: String,
}

/// A referral (`source: STORY_MENTION` in one form of story mentions).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Referral {
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// The `value` of a `comments` change.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Comment {
    /// The comment's id.
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub from: Commenter,
    pub text: String,
    pub media: Media,
    /// Present when the comment answers another comment.
    #[serde(deserialize_with = "lenient_string")]
    pub parent_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Commenter {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub username: String,
}

/// The post (or reel, or ad) a comment is under.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Media {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub media_product_type: String,
}

/// Why a body is not an Instagram webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not an Instagram webhook: {0}")]
    NotInstagram(String),
}

/// Parses a webhook body. Refuses what is not Meta's envelope at all (not
/// JSON, another `object`, no `entry` list); tolerates everything inside.
pub fn parse_notification(body: &[u8]) -> Result<Notification, ParseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ParseError::NotInstagram("expected a JSON object".into()));
    };
    match object.get("object").and_then(Value::as_str) {
        None => {}
        Some(name) if name.eq_ignore_ascii_case("instagram") => {}
        Some(other) => {
            return Err(ParseError::NotInstagram(format!(
                "object is {other:?}, expected \"instagram\""
            )));
        }
    }
    let Some(entries) = object.get("entry").and_then(Value::as_array) else {
        return Err(ParseError::NotInstagram("no entry list".into()));
    };
    Ok(Notification {
        object: "instagram".into(),
        entry: entries
            .iter()
            .map(|e| decode(e).unwrap_or_default())
            .collect(),
    })
}

/// Decodes one element, or `None` when it is not of that shape.
pub fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// Unix seconds or milliseconds → milliseconds (Meta uses both).
pub fn to_ms(time: i64) -> i64 {
    if (0..100_000_000_000).contains(&time) {
        time.saturating_mul(1000)
    } else {
        time.max(0)
    }
}

/// A list, or nothing (`null` or another type), element by element: an
/// element of another shape is left out, not the whole list.
fn lenient_list<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.iter().filter_map(decode).collect(),
        _ => Vec::new(),
    })
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or_default(),
        Value::String(s) => s.trim().parse().unwrap_or_default(),
        _ => 0,
    })
}
