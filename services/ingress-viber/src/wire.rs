//! serde types of Viber's REST bot API callbacks (providers.md §3.3) and a
//! parser that tolerates what Viber adds over time.
//!
//! One callback is one JSON object with an `event` field. Every field is
//! optional: `message` callbacks carry `sender`, `subscribed` and
//! `conversation_started` carry `user`, statuses and `unsubscribed` carry
//! `user_id`. `message_token` is a 64-bit integer (sometimes written as
//! text by proxies), `timestamp` is Unix milliseconds.

use omnibus_ingress::lenient;
use serde::Deserialize;
use serde_json::Value;

/// One callback.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Callback {
    /// `message`, `delivered`, `seen`, `failed`, `subscribed`,
    /// `unsubscribed`, `conversation_started`, `webhook`, …
    pub event: String,
    /// Unix milliseconds.
    #[serde(deserialize_with = "lenient::i64")]
    pub timestamp: i64,
    /// Viber's id of the message (or of the callback, for events that have
    /// no message); 0 when absent.
    #[serde(deserialize_with = "lenient::u64")]
    pub message_token: u64,
    /// Who wrote (`message`).
    #[serde(deserialize_with = "lenient::option")]
    pub sender: Option<User>,
    /// Who subscribed or opened the chat (`subscribed`, `conversation_started`).
    #[serde(deserialize_with = "lenient::option")]
    pub user: Option<User>,
    /// Whose message a status is about, or who unsubscribed.
    #[serde(deserialize_with = "lenient::string")]
    pub user_id: String,
    /// The message itself (`message`); decoded on its own by [`Callback::message`].
    pub message: Value,
    /// Why a message failed (`failed`).
    #[serde(deserialize_with = "lenient::string")]
    pub desc: String,
    /// `conversation_started`: `open` (the customer opened the chat).
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// `conversation_started`: the deep link's `context`.
    #[serde(deserialize_with = "lenient::string")]
    pub context: String,
    /// `conversation_started`: whether the customer is already subscribed.
    #[serde(deserialize_with = "lenient::bool")]
    pub subscribed: bool,
}

impl Callback {
    /// The `message` of a `message` callback, when it has a readable one.
    pub fn message(&self) -> Option<Message> {
        lenient::decode(&self.message)
    }
}

/// A Viber user: the customer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct User {
    /// Unique per user per bot (base64-like, e.g. `01234567890A=`).
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub avatar: String,
    #[serde(deserialize_with = "lenient::string")]
    pub language: String,
    #[serde(deserialize_with = "lenient::string")]
    pub country: String,
}

/// The `message` object of a `message` callback.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Message {
    /// `text`, `picture`, `video`, `file`, `sticker`, `contact`,
    /// `location`, `url`, `rich_media`, …
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// The text, or a picture's or video's caption.
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    /// The media's URL (`picture`, `video`, `file`, `url`, `sticker`).
    #[serde(deserialize_with = "lenient::string")]
    pub media: String,
    #[serde(deserialize_with = "lenient::string")]
    pub thumbnail: String,
    #[serde(deserialize_with = "lenient::string")]
    pub file_name: String,
    /// Bytes (`video`, `file`).
    #[serde(deserialize_with = "lenient::u64")]
    pub size: u64,
    /// Seconds (`video`).
    #[serde(deserialize_with = "lenient::u64")]
    pub duration: u64,
    #[serde(deserialize_with = "lenient::string")]
    pub sticker_id: String,
    #[serde(deserialize_with = "lenient::option")]
    pub contact: Option<Contact>,
    #[serde(deserialize_with = "lenient::option")]
    pub location: Option<Place>,
    /// What the bot attached to its last message, echoed back.
    #[serde(deserialize_with = "lenient::string")]
    pub tracking_data: String,
}

/// A shared contact card.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Contact {
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub phone_number: String,
}

/// A shared location.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Place {
    #[serde(deserialize_with = "lenient::f64")]
    pub lat: f64,
    #[serde(deserialize_with = "lenient::f64")]
    pub lon: f64,
}

/// Why a body is not a Viber callback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("not a viber callback: {0}")]
    NotViber(&'static str),
}

/// Parses a callback body. Only the envelope must be right (a JSON object
/// with a string `event`); odd fields inside become defaults.
pub fn parse_callback(body: &[u8]) -> Result<Callback, ParseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ParseError::NotViber("expected a JSON object"));
    };
    match object.get("event").and_then(Value::as_str) {
        Some(event) if !event.is_empty() => {}
        _ => return Err(ParseError::NotViber("no event field")),
    }
    Callback::deserialize(&value).map_err(|_| ParseError::NotViber("unreadable callback"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_message_is_read() {
        let body = br#"{"event":"message","timestamp":1457764197627,
            "message_token":4912661846655238145,
            "sender":{"id":"01234567890A=","name":"John McClane","api_version":1},
            "message":{"type":"text","text":"hi","tracking_data":"t"},"silent":false,
            "chat_hostname":"SN-CHAT-05_"}"#;
        let callback = parse_callback(body).expect("a viber callback");
        assert_eq!(callback.event, "message");
        assert_eq!(callback.message_token, 4_912_661_846_655_238_145);
        assert_eq!(callback.timestamp, 1_457_764_197_627);
        assert_eq!(
            callback.sender.as_ref().map(|s| s.id.as_str()),
            Some("01234567890A=")
        );
        let message = callback.message().expect("a message");
        assert_eq!(
            (message.kind.as_str(), message.text.as_str()),
            ("text", "hi")
        );
    }

    #[test]
    fn tokens_written_as_text_are_read() {
        let callback = parse_callback(br#"{"event":"seen","message_token":"5098034272017990000"}"#)
            .expect("a viber callback");
        assert_eq!(callback.message_token, 5_098_034_272_017_990_000);
    }

    #[test]
    fn bodies_that_are_not_callbacks_are_refused() {
        assert!(matches!(
            parse_callback(b"nope"),
            Err(ParseError::NotJson(_))
        ));
        for body in [&b"[]"[..], b"{}", br#"{"event":""}"#, br#"{"event":5}"#] {
            assert!(
                matches!(parse_callback(body), Err(ParseError::NotViber(_))),
                "{body:?}"
            );
        }
    }

    #[test]
    fn odd_fields_become_defaults() {
        let callback = parse_callback(
            br#"{"event":"message","sender":"x","message":{"type":"location","location":{"lat":"1.5","lon":null}}}"#,
        );
        let callback = callback.expect("only the envelope must be right");
        assert!(callback.sender.is_none());
        let place = callback
            .message()
            .and_then(|m| m.location)
            .expect("a place");
        assert_eq!((place.lat, place.lon), (1.5, 0.0));
    }
}
