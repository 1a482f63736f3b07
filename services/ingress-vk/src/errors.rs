//! VK API answers (providers.md §4.3): `{"response": …}` or
//! `{"error": {"error_code", "error_msg"}}` (with HTTP 200), sorted into what
//! the caller does next:
//! - 6 (too many requests per second), 9 (flood control), 10 (internal
//!   error), HTTP 5xx/429, an unreadable answer or none → retried later;
//! - 5 (authorization failed: the token was revoked) → the channel is
//!   flagged ERROR;
//! - 900, 901, 902 → the customer cannot be written to, in words an
//!   operator can act on;
//! - anything else → refused as sent.

use omnibus_ingress::lenient;
use omnibus_proto::message_failed::Kind;
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

/// A failed VK call, classified by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VkError {
    /// VK or the network failed, or VK is throttling; later may work.
    #[error("transient failure ({code:?}): {message}")]
    Transient { code: Option<i64>, message: String },
    /// The community token was refused.
    #[error("unauthorized ({code}): {message}")]
    Unauthorized { code: i64, message: String },
    /// This customer cannot be written to by the community.
    #[error("unreachable ({code}): {message}")]
    Unreachable { code: i64, message: String },
    /// VK refused the request as it was.
    #[error("rejected ({code}): {message}")]
    Rejected { code: i64, message: String },
}

impl VkError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::Transient { message, .. } => {
                format!("VK is unavailable or throttling right now ({message})")
            }
            Self::Unauthorized { message, .. } => format!(
                "VK refused the community's access_token (revoked or expired); create a new \
                 community token with the messages right and update the channel ({message})"
            ),
            Self::Unreachable {
                code: code::BLACKLISTED,
                ..
            } => {
                "the customer has blocked the community; nothing reaches them until they unblock it"
                    .to_owned()
            }
            Self::Unreachable {
                code: code::NOT_ALLOWED,
                ..
            } => "the customer has not allowed messages from the community, or forbade them; they \
                 must write to the community or allow its messages first"
                .to_owned(),
            Self::Unreachable { .. } => {
                "the customer's privacy settings do not let the community write to them".to_owned()
            }
            Self::Rejected {
                code: code::TOO_LONG,
                ..
            } => "the message is too long for VK; shorten it".to_owned(),
            Self::Rejected { message, .. } => format!("VK refused the message: {message}"),
        }
    }

    /// VK's error code, when VK answered with one.
    pub fn provider_code(&self) -> Option<i64> {
        match self {
            Self::Transient { code, .. } => *code,
            Self::Unauthorized { code, .. }
            | Self::Unreachable { code, .. }
            | Self::Rejected { code, .. } => Some(*code),
        }
    }

    /// True when waiting and trying again may work.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }

    /// True when the channel itself is unusable and should be flagged ERROR.
    pub fn flags_channel(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }

    /// How the message failed, for `MessageFailed.kind`.
    pub fn failure_kind(&self) -> Kind {
        match self {
            Self::Transient { .. } => Kind::GaveUp,
            Self::Unauthorized { .. } => Kind::Unauthorized,
            Self::Unreachable { .. } => Kind::RecipientBlocked,
            Self::Rejected { .. } => Kind::Rejected,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorObject {
    #[serde(deserialize_with = "lenient::i64")]
    error_code: i64,
    #[serde(deserialize_with = "lenient::string")]
    error_msg: String,
}

/// Reads an API answer: the `response` when VK accepted the call.
pub fn classify(http_status: u16, body: &[u8]) -> Result<Value, VkError> {
    if http_status == 429 || http_status >= 500 {
        return Err(VkError::Transient {
            code: None,
            message: format!("vk answered http {http_status}"),
        });
    }
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(response) = value.get("response") {
        return Ok(response.clone());
    }
    let Some(error) = value.get("error").and_then(lenient::decode::<ErrorObject>) else {
        return Err(VkError::Transient {
            code: None,
            message: format!("vk answered http {http_status} without its json"),
        });
    };
    let status = error.error_code;
    // Bounded: this text ends up in an operator-facing reason.
    let message: String = format!("{status} {}", error.error_msg)
        .chars()
        .take(200)
        .collect();
    Err(match status {
        code::TOO_MANY_REQUESTS | code::FLOOD_CONTROL | code::INTERNAL_ERROR => {
            VkError::Transient {
                code: Some(status),
                message,
            }
        }
        code::AUTH_FAILED => VkError::Unauthorized {
            code: status,
            message,
        },
        code::BLACKLISTED | code::NOT_ALLOWED | code::PRIVACY => VkError::Unreachable {
            code: status,
            message,
        },
        _ => VkError::Rejected {
            code: status,
            message,
        },
    })
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
