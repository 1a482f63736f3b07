//! VK API answers (providers.md §4.3): `{"response": …}` or
//! `{"error": {"error_code", "error_msg"}}` (with HTTP 200), sorted into the
//! kit's classes ([`ProviderError`]: what the caller does next):
//! - 6 (too many requests per second), 9 (flood control), 10 (internal
//!   error), HTTP 5xx/429, an unreadable answer or none → retried later;
//! - 5 (authorization failed: the token was revoked) → the channel is
//!   flagged ERROR;
//! - 900, 901, 902 → the customer cannot be written to, in words an
//!   operator can act on;
//! - anything else → refused as sent.

use omnibus_ingress::{ProviderError, lenient};
use serde::Deserialize;
use serde_json::Value;

/// VK error codes Omnibus tells apart.
pub mod code {
    pub const AUTH_FAILED: i64 = 5;
    pub const TOO_MANY_REQUESTS: i64 = 6;
    pub const FLOOD_CONTROL: i64 = 9;
    pub const INTERNAL_ERROR: i64 = 10;
    pub const BLACKLISTED: i64 = 900;
    pub const NOT_ALLOWED: i64 = 901;
    pub const PRIVACY: i64 = 902;
    pub const TOO_LONG: i64 = 914;
}

/// A VK refusal in the kit's classes ([`ProviderError`]), with a reason an
/// operator can act on and VK's `error_code` as the code.
fn refusal(status: i64, message: String) -> ProviderError {
    let code = Some(status.to_string());
    match status {
        code::TOO_MANY_REQUESTS | code::FLOOD_CONTROL | code::INTERNAL_ERROR => {
            transient(code, &message)
        }
        code::AUTH_FAILED => ProviderError::unauthorized(
            format!(
                "VK refused the community's access_token (revoked or expired); create a new \
                 community token with the messages right and update the channel ({message})"
            ),
            code,
        ),
        code::BLACKLISTED => ProviderError::unreachable(
            "the customer has blocked the community; nothing reaches them until they unblock it",
            code,
        ),
        code::NOT_ALLOWED => ProviderError::unreachable(
            "the customer has not allowed messages from the community, or forbade them; they \
             must write to the community or allow its messages first",
            code,
        ),
        code::PRIVACY => ProviderError::unreachable(
            "the customer's privacy settings do not let the community write to them",
            code,
        ),
        code::TOO_LONG => {
            ProviderError::rejected("the message is too long for VK; shorten it", code)
        }
        _ => ProviderError::rejected(format!("VK refused the message: {message}"), code),
    }
}

/// VK or the network failed, or VK is throttling: retried later.
fn transient(code: Option<String>, message: &str) -> ProviderError {
    ProviderError::retry(
        format!("VK is unavailable or throttling right now ({message})"),
        code,
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorObject {
    #[serde(deserialize_with = "lenient::i64")]
    error_code: i64,
    #[serde(deserialize_with = "lenient::string")]
    error_msg: String,
}

/// Reads an API answer: the `response` when VK accepted the call, else the
/// refusal in the kit's classes.
pub fn classify(http_status: u16, body: &[u8]) -> Result<Value, ProviderError> {
    if http_status == 429 || http_status >= 500 {
        return Err(transient(None, &format!("vk answered http {http_status}")));
    }
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(response) = value.get("response") {
        return Ok(response.clone());
    }
    let Some(error) = value.get("error").and_then(lenient::decode::<ErrorObject>) else {
        let message = format!("vk answered http {http_status} without its json");
        return Err(transient(None, &message));
    };
    let status = error.error_code;
    // Bounded: this text ends up in an operator-facing reason.
    let message: String = format!("{status} {}", error.error_msg)
        .chars()
        .take(200)
        .collect();
    Err(refusal(status, message))
}

/// The id of what a send created: `messages.send` and `market.createComment`
/// answer a number, `wall.createComment` `{comment_id}`.
pub fn created_id(response: &Value) -> Option<String> {
    let id = match response {
        Value::Number(n) => n.as_i64(),
        Value::Object(o) => o.get("comment_id").and_then(Value::as_i64),
        _ => None,
    }?;
    (id > 0).then(|| id.to_string())
}

#[cfg(test)]
mod tests;
