//! Serde types of the Telegram Bot API `Update`, as POSTed to our webhook.
//!
//! The types are tolerant on purpose: Telegram adds fields over time, so
//! unknown fields are ignored, every field has a default, and ids are `i64`
//! (they exceed 32 bits). Only the fields Omnibus uses are modelled.
//!
//! [`parse_update`] draws the line between "reject" and "accept": a body is
//! refused (HTTP 400) only when it is not JSON or has no integer `update_id`.
//! Anything else is accepted, so that Telegram does not keep retrying an
//! update we cannot use; a body that fails the typed decoding is kept as
//! [`Update::malformed`] and ignored later.

use omnibus_core::ErrorCode;
use serde::Deserialize;

/// Why a webhook body was refused; every variant means HTTP 400.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON at all.
    #[error("body is not json: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The body is JSON but not an object.
    #[error("body is not a json object")]
    NotAnObject,
    /// The object has no `update_id`, or it is not an integer that fits `i64`.
    #[error("update_id is missing or not an integer")]
    NoUpdateId,
}

impl ParseError {
    /// The error code of every parse error: the request is wrong.
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

/// Parses a webhook body into an [`Update`].
///
/// Fails only when the body is not JSON or not an object with an integer
/// `update_id`. A body whose other fields have unexpected types is still
/// accepted, with [`Update::malformed`] set. Never panics: serde_json limits
/// nesting depth, and numbers that do not fit are refused, not truncated.
pub fn parse_update(body: &[u8]) -> Result<Update, ParseError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(ParseError::NotJson)?;
    let object = value.as_object().ok_or(ParseError::NotAnObject)?;
    let update_id = object
        .get("update_id")
        .and_then(serde_json::Value::as_i64)
        .ok_or(ParseError::NoUpdateId)?;
    match Update::deserialize(&value) {
        Ok(update) => Ok(update),
        Err(e) => Ok(Update {
            update_id,
            malformed: Some(e.to_string()),
            ..Update::default()
        }),
    }
}

/// One incoming update; at most one of the optional kinds is present.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Update {
    /// Increases with every update; the key to drop redeliveries.
    pub update_id: i64,
    /// A new message in a private chat or a group.
    pub message: Option<Message>,
    /// A new version of a message the bot has already seen.
    pub edited_message: Option<Message>,
    /// A post in a channel the bot administers (not a support conversation).
    pub channel_post: Option<Message>,
    /// An edited channel post.
    pub edited_channel_post: Option<Message>,
    /// A press on an inline keyboard button.
    pub callback_query: Option<CallbackQuery>,
    /// The bot's own membership changed (e.g. the user blocked it).
    pub my_chat_member: Option<ChatMemberUpdated>,
    /// Another member's status changed in a chat the bot administers.
    pub chat_member: Option<ChatMemberUpdated>,
    /// Set by [`parse_update`] when the body had an integer `update_id` but
    /// did not decode into these types; holds the decoding error for logs.
    #[serde(skip)]
    pub malformed: Option<String>,
}

/// A message (or a channel post), as far as Omnibus reads it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Message {
    /// Unique inside its chat only.
    pub message_id: i64,
    /// The sender; absent for messages sent on behalf of a chat.
    pub from: Option<User>,
    /// The chat sending on its own behalf (anonymous admins, channels).
    pub sender_chat: Option<Chat>,
    /// The conversation the message belongs to.
    pub chat: Option<Chat>,
    /// Unix seconds.
    pub date: i64,
    /// Unix seconds of the last edit, on edited messages.
    pub edit_date: Option<i64>,
    pub text: Option<String>,
    /// Text that comes with media, instead of `text`.
    pub caption: Option<String>,
    /// The same photo in several sizes, smallest first.
    pub photo: Vec<PhotoSize>,
    pub document: Option<Document>,
    pub voice: Option<Voice>,
    pub audio: Option<Audio>,
    pub video: Option<Video>,
    pub video_note: Option<VideoNote>,
    /// Telegram also fills `document` for animations, for old clients.
    pub animation: Option<Animation>,
    pub sticker: Option<Sticker>,
    /// Telegram also fills `location` for venues.
    pub location: Option<Location>,
    pub venue: Option<Venue>,
    pub contact: Option<Contact>,
    /// The message this one replies to, in the same chat.
    pub reply_to_message: Option<Box<Message>>,
    /// Shared by the messages of one album.
    pub media_group_id: Option<String>,
    /// Every field not modelled above: names the kind of a message Omnibus
    /// cannot show (`crate::unshown`).
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A Telegram user or bot.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct User {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

/// A private chat, a group, a supergroup or a channel.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Chat {
    /// Negative for groups and channels.
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: ChatKind,
    /// The name of a group or channel.
    pub title: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The `type` of a [`Chat`]; kinds Telegram may add later are `Other`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    Private,
    Group,
    Supergroup,
    Channel,
    #[default]
    #[serde(other)]
    Other,
}

impl ChatKind {
    /// True for chats with several members, where the conversation is the group.
    pub fn is_group(self) -> bool {
        matches!(self, Self::Group | Self::Supergroup)
    }
}

/// One size of a photo.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PhotoSize {
    /// Use this to download the file through `getFile`.
    pub file_id: String,
    /// Stable across bots; cannot be used to download.
    pub file_unique_id: String,
    pub width: i64,
    pub height: i64,
    pub file_size: Option<u64>,
}

/// A general file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Document {
    pub file_id: String,
    pub file_unique_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A voice note recorded in the app.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Voice {
    pub file_id: String,
    pub file_unique_id: String,
    /// Seconds.
    pub duration: i64,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A music file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Audio {
    pub file_id: String,
    pub file_unique_id: String,
    pub duration: i64,
    pub performer: Option<String>,
    pub title: Option<String>,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A video file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Video {
    pub file_id: String,
    pub file_unique_id: String,
    pub width: i64,
    pub height: i64,
    pub duration: i64,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A round video message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct VideoNote {
    pub file_id: String,
    pub file_unique_id: String,
    /// Diameter in pixels.
    pub length: i64,
    pub duration: i64,
    pub file_size: Option<u64>,
}

/// A GIF or a soundless H.264 video.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Animation {
    pub file_id: String,
    pub file_unique_id: String,
    pub width: i64,
    pub height: i64,
    pub duration: i64,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<u64>,
}

/// A sticker: static WebP, animated TGS or video WebM.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Sticker {
    pub file_id: String,
    pub file_unique_id: String,
    pub width: i64,
    pub height: i64,
    pub is_animated: bool,
    pub is_video: bool,
    pub emoji: Option<String>,
    pub set_name: Option<String>,
    pub file_size: Option<u64>,
}

/// A point on the map.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

/// A named place.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Venue {
    pub location: Location,
    pub title: String,
    pub address: String,
}

/// A shared phone contact.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub phone_number: String,
    pub first_name: String,
    pub last_name: Option<String>,
    /// Set when the contact is a Telegram user.
    pub user_id: Option<i64>,
    pub vcard: Option<String>,
}

/// A press on an inline keyboard button.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    /// The message with the button; may be an "inaccessible" stub.
    pub message: Option<Message>,
    pub data: Option<String>,
}

/// A change of a member's status in a chat.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ChatMemberUpdated {
    pub chat: Chat,
    pub from: User,
    pub date: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT_UPDATE: &str = r#"{
      "update_id": 734512001,
      "message": {
        "message_id": 1,
        "from": { "id": 100200300, "is_bot": false, "first_name": "Sojan", "last_name": "Jose",
                  "username": "sojan", "language_code": "en" },
        "chat": { "id": 100200300, "first_name": "Sojan", "last_name": "Jose", "username": "sojan",
                  "type": "private" },
        "date": 1631132077,
        "text": "test"
      }
    }"#;

    #[test]
    fn parses_a_text_message() {
        let update = parse_update(TEXT_UPDATE.as_bytes()).expect("valid update");
        assert_eq!(update.update_id, 734512001);
        assert_eq!(update.malformed, None);
        let message = update.message.expect("message");
        assert_eq!(message.text.as_deref(), Some("test"));
        assert_eq!(message.date, 1631132077);
        let chat = message.chat.expect("chat");
        assert_eq!(chat.kind, ChatKind::Private);
        assert_eq!(
            message.from.expect("from").last_name.as_deref(),
            Some("Jose")
        );
    }

    #[test]
    fn ids_beyond_32_bits_and_unknown_fields_are_fine() {
        let body = br#"{"update_id": 1, "brand_new_kind": {"x": 1},
            "message": {"message_id": 5, "chat": {"id": -1001234567890, "type": "supergroup",
            "title": "Support", "is_forum": true}, "date": 1, "text": "hi", "new_field": [1]}}"#;
        let update = parse_update(body).expect("valid update");
        let chat = update.message.and_then(|m| m.chat).expect("chat");
        assert_eq!(chat.id, -1001234567890);
        assert!(chat.kind.is_group());
    }

    #[test]
    fn unknown_chat_kinds_are_other() {
        let body = br#"{"update_id": 1, "message": {"chat": {"id": 1, "type": "hyperchat"}}}"#;
        let chat = parse_update(body)
            .ok()
            .and_then(|u| u.message?.chat)
            .expect("chat");
        assert_eq!(chat.kind, ChatKind::Other);
    }

    #[test]
    fn refuses_bodies_without_an_integer_update_id() {
        let cases: &[&[u8]] = &[
            b"",
            b"   ",
            b"not json",
            b"{",
            b"[]",
            b"[1, 2]",
            b"null",
            b"42",
            b"\"update\"",
            b"{}",
            b"{\"update_id\": null}",
            b"{\"update_id\": \"1\"}",
            b"{\"update_id\": 1.5}",
            b"{\"update_id\": 1e300}",
            b"{\"update_id\": 99999999999999999999999999999}",
            b"{\"update_id\": 18446744073709551615}",
            b"{\"update_id\": 1, \"message\": {\"date\": 1e400}}",
            b"\xff\xfe\x00garbage",
        ];
        for body in cases {
            assert!(
                parse_update(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn wrong_types_below_the_update_id_are_kept_as_malformed() {
        let cases: &[&[u8]] = &[
            br#"{"update_id": 7, "message": "hello"}"#,
            br#"{"update_id": 7, "message": {"message_id": "one"}}"#,
            br#"{"update_id": 7, "message": {"chat": {"id": 99999999999999999999}}}"#,
            br#"{"update_id": 7, "message": {"photo": {"file_id": 1}}}"#,
            br#"{"update_id": 7, "edited_message": {"date": -1.5}}"#,
            br#"{"update_id": 7, "callback_query": 5}"#,
        ];
        for body in cases {
            let update = parse_update(body).expect("accepted");
            assert_eq!(update.update_id, 7);
            assert!(
                update.malformed.is_some(),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(update.message, None);
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let depth = 100_000;
        let mut body = "[".repeat(depth);
        body.push_str(&"]".repeat(depth));
        assert!(parse_update(body.as_bytes()).is_err());

        let mut nested = String::from(r#"{"update_id": 1, "message": "#);
        for _ in 0..depth {
            nested.push_str(r#"{"reply_to_message": "#);
        }
        nested.push_str("null");
        nested.push_str(&"}".repeat(depth + 1));
        assert!(parse_update(nested.as_bytes()).is_err());
    }

    #[test]
    fn moderately_nested_replies_decode() {
        let mut body = String::from(r#"{"update_id": 1, "message": "#);
        for id in 0..20 {
            body.push_str(&format!(r#"{{"message_id": {id}, "reply_to_message": "#));
        }
        body.push_str("null");
        body.push_str(&"}".repeat(21));
        let update = parse_update(body.as_bytes()).expect("accepted");
        assert_eq!(update.malformed, None);
        let reply = update
            .message
            .and_then(|m| m.reply_to_message)
            .expect("reply");
        assert_eq!(reply.message_id, 1);
    }

    #[test]
    fn random_bytes_never_panic() {
        // A small xorshift generator: deterministic, no extra dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = br#"{}[]:,"0123456789-.eE truefalsnul\update_idmessagechat"#;
        for _ in 0..2_000 {
            let mut body = Vec::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                body.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = parse_update(&body);
        }
    }

    #[test]
    fn errors_map_to_invalid_argument() {
        let err = parse_update(b"").expect_err("empty body");
        assert_eq!(err.error_code(), ErrorCode::InvalidArgument);
        assert!(err.to_string().starts_with("body is not json"));
    }
}
