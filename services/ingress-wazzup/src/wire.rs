//! serde types of Wazzup's v3 webhook (providers.md §6.2, §6.3) and a
//! parser that tolerates what Wazzup adds over time.
//!
//! One body may carry `messages` and `statuses` together, or be the
//! `{"test": true}` connection check. Every element is decoded on its own,
//! so one odd message costs nothing else in the body.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A webhook body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Webhook {
    /// `true` on the connection check Wazzup sends when the URL is set.
    #[serde(deserialize_with = "lenient_bool")]
    pub test: bool,
    #[serde(deserialize_with = "lenient_list")]
    pub messages: Vec<Value>,
    #[serde(deserialize_with = "lenient_list")]
    pub statuses: Vec<Value>,
}

/// One message, incoming or an echo of one sent by the business.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Message {
    #[serde(deserialize_with = "lenient_string")]
    pub message_id: String,
    pub date_time: String,
    #[serde(deserialize_with = "lenient_string")]
    pub channel_id: String,
    /// `whatsapp`, `whatsgroup`, `instagram`, `telegram`, `telegroup`, `vk`,
    /// `viber`, `avito`, `max`, `maxgroup`.
    pub chat_type: String,
    #[serde(deserialize_with = "lenient_string")]
    pub chat_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_echo: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_edited: bool,
    #[serde(deserialize_with = "lenient_bool")]
    pub is_deleted: bool,
    pub text: String,
    pub content_uri: String,
    pub status: String,
    pub contact: Contact,
    pub author_name: String,
    #[serde(deserialize_with = "lenient_string")]
    pub author_id: String,
    /// Our message id, on echoes of what Omnibus sent.
    pub crm_message_id: String,
    pub quoted_message: Option<Value>,
    pub error: Option<Value>,
}

/// The customer (or, in a group, the group) a message is with.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Contact {
    pub name: String,
    pub avatar_uri: String,
    pub username: String,
    #[serde(deserialize_with = "lenient_string")]
    pub phone: String,
}

/// A delivery status of an outbound message.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Status {
    #[serde(deserialize_with = "lenient_string")]
    pub message_id: String,
    pub timestamp: String,
    pub status: String,
    pub error: Option<Value>,
}

/// Why a body is not a Wazzup webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not a Wazzup webhook: {0}")]
    NotWazzup(String),
}

/// Parses a webhook body: a JSON object with `test`, `messages` or
/// `statuses` (lists, when present). Other Wazzup deliveries
/// (`channelsUpdates`, `createContact`, …) parse to an empty webhook.
pub fn parse_webhook(body: &[u8]) -> Result<Webhook, ParseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(ParseError::NotWazzup("expected a JSON object".into()));
    };
    for list in ["messages", "statuses"] {
        if object
            .get(list)
            .is_some_and(|v| !v.is_array() && !v.is_null())
        {
            return Err(ParseError::NotWazzup(format!("{list} is not a list")));
        }
    }
    Ok(Webhook::deserialize(&value).unwrap_or_default())
}

/// Decodes one element, or `None` when it is not of that shape.
pub fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// Wazzup's `dateTime` (`2025-07-27T14:50:59.220Z`, sometimes without the
/// `Z`) → unix ms; 0 when unreadable.
pub fn date_time_ms(text: &str) -> i64 {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00:00"));
    let mut date_parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (Some(Some(year)), Some(Some(month)), Some(Some(day))) =
        (date_parts.next(), date_parts.next(), date_parts.next())
    else {
        return 0;
    };
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock_parts = clock.splitn(3, ':').map(|p| p.parse::<i64>().unwrap_or(0));
    let (hour, minute, second) = (
        clock_parts.next().unwrap_or(0),
        clock_parts.next().unwrap_or(0),
        clock_parts.next().unwrap_or(0),
    );
    let digits: String = fraction
        .chars()
        .take(3)
        .filter(char::is_ascii_digit)
        .collect();
    let millis = format!("{digits:0<3}").parse::<i64>().unwrap_or(0);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1970..=9999).contains(&year) {
        return 0;
    }
    let days = days_from_civil(year, month, day);
    ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A list, or nothing when `null`.
fn lenient_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items,
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

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wazzup_times_are_read_with_or_without_z() {
        assert_eq!(date_time_ms("1970-01-01T00:00:01.5Z"), 1500);
        assert_eq!(date_time_ms("2025-07-27T14:50:59.220Z"), 1_753_627_859_220);
        assert_eq!(date_time_ms("2025-07-27T14:50:59.220"), 1_753_627_859_220);
        assert_eq!(date_time_ms("garbage"), 0);
        assert_eq!(date_time_ms("2025-13-01T00:00:00"), 0);
    }

    #[test]
    fn bodies_of_other_shapes_are_refused() {
        assert!(parse_webhook(b"[]").is_err());
        assert!(parse_webhook(b"not json").is_err());
        assert!(parse_webhook(br#"{"messages": 5}"#).is_err());
        assert!(parse_webhook(br#"{"test": true}"#).unwrap().test);
        let both = parse_webhook(br#"{"messages":[{}],"statuses":[{},{}],"x":1}"#).unwrap();
        let half = parse_webhook(br#"{"messages":null,"statuses":[{}],"test":"x"}"#).unwrap();
        assert_eq!(
            (half.messages.len(), half.statuses.len(), half.test),
            (0, 1, false)
        );
        assert_eq!((both.messages.len(), both.statuses.len()), (1, 2));
    }
}
