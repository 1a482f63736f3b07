//! Viber's answers to `send_message`, `get_account_info` and `set_webhook`,
//! sorted into what the caller does next (providers.md §3.4).
//!
//! Viber answers HTTP 200 with a non-zero `status` when it refuses, so the
//! `status` decides, not the HTTP code. The table:
//! - 0 → accepted (with the `message_token` statuses will name);
//! - 12 (too many requests), HTTP 5xx/429, an unreadable answer or no
//!   answer → retried later;
//! - 2 (bad token), 7/9 (bot blocked or suspended), 8 (bot not found),
//!   15 (bot not authorized) → the channel is flagged ERROR;
//! - 5 (not registered), 6 (not subscribed), 11 (no suitable device) → the
//!   customer cannot be reached, said in words an operator can act on;
//! - 3/4 (bad or missing data) and anything else → refused as sent.

use omnibus_ingress::lenient;
use omnibus_proto::message_failed::Kind;
use serde::Deserialize;

/// Viber's `status` codes Omnibus tells apart.
pub mod code {
    pub const OK: i64 = 0;
    pub const INVALID_AUTH_TOKEN: i64 = 2;
    pub const BAD_DATA: i64 = 3;
    pub const MISSING_DATA: i64 = 4;
    pub const RECEIVER_NOT_REGISTERED: i64 = 5;
    pub const RECEIVER_NOT_SUBSCRIBED: i64 = 6;
    pub const ACCOUNT_BLOCKED: i64 = 7;
    pub const ACCOUNT_NOT_FOUND: i64 = 8;
    pub const ACCOUNT_SUSPENDED: i64 = 9;
    pub const NO_SUITABLE_DEVICE: i64 = 11;
    pub const TOO_MANY_REQUESTS: i64 = 12;
    pub const ACCOUNT_NOT_AUTHORIZED: i64 = 15;
}

/// A failed Viber call, classified by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViberError {
    /// Viber or the network failed, or Viber is throttling; trying again
    /// later may work.
    #[error("transient failure ({code:?}): {message}")]
    Transient { code: Option<i64>, message: String },
    /// The bot's token or account is refused: no message can go out until
    /// the channel is fixed.
    #[error("unauthorized ({code}): {message}")]
    Unauthorized { code: i64, message: String },
    /// This customer cannot receive messages from the bot.
    #[error("unreachable ({code}): {message}")]
    Unreachable { code: i64, message: String },
    /// Viber refused the request as it was.
    #[error("rejected ({code}): {message}")]
    Rejected { code: i64, message: String },
}

impl ViberError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::Transient { message, .. } => {
                format!("Viber is unavailable or throttling right now ({message})")
            }
            Self::Unauthorized {
                code: code::ACCOUNT_BLOCKED | code::ACCOUNT_SUSPENDED,
                message,
            } => {
                format!("Viber has blocked or suspended the bot; contact Viber support ({message})")
            }
            Self::Unauthorized { message, .. } => format!(
                "Viber refused the channel's auth_token (revoked, or the bot is gone); update the \
                 channel's auth_token ({message})"
            ),
            Self::Unreachable {
                code: code::RECEIVER_NOT_SUBSCRIBED,
                ..
            } => "the customer unsubscribed from the bot; Viber delivers nothing until they write \
                 again"
                .to_owned(),
            Self::Unreachable {
                code: code::RECEIVER_NOT_REGISTERED,
                ..
            } => "the customer is not registered on Viber (any more)".to_owned(),
            Self::Unreachable { message, .. } => format!(
                "the customer has no Viber device that can receive this message ({message})"
            ),
            Self::Rejected { message, .. } => format!("Viber refused the message: {message}"),
        }
    }

    /// Viber's `status`, when Viber answered with one.
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

/// The common part of Viber's API answers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Answer {
    #[serde(deserialize_with = "lenient::i64")]
    pub status: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub status_message: String,
    /// `send_message`: the sent message's token.
    #[serde(deserialize_with = "lenient::u64")]
    pub message_token: u64,
    /// `get_account_info`: the bot's name.
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    /// `get_account_info`: the bot's URI (`viber://pa?chatURI=<uri>`).
    #[serde(deserialize_with = "lenient::string")]
    pub uri: String,
    /// `get_account_info`: the bot's avatar.
    #[serde(deserialize_with = "lenient::string")]
    pub icon: String,
    /// `get_account_info`: the webhook Viber calls now.
    #[serde(deserialize_with = "lenient::string")]
    pub webhook: String,
}

/// Reads an API answer: `Ok` when Viber accepted the call (`status` 0).
/// `http_status` is the HTTP code Viber answered with.
pub fn classify(http_status: u16, body: &[u8]) -> Result<Answer, ViberError> {
    if http_status == 429 || http_status >= 500 {
        return Err(ViberError::Transient {
            code: None,
            message: format!("viber answered http {http_status}"),
        });
    }
    let answer = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) if value.get("status").is_some() => {
            Answer::deserialize(&value).unwrap_or_default()
        }
        // Proxies and outages answer with HTML; what is not Viber's JSON is
        // not Viber's refusal either.
        _ => {
            return Err(ViberError::Transient {
                code: None,
                message: format!("viber answered http {http_status} without its json"),
            });
        }
    };
    let message = if answer.status_message.is_empty() {
        format!("status {}", answer.status)
    } else {
        // Bounded: this text ends up in an operator-facing reason.
        answer.status_message.chars().take(200).collect()
    };
    let status = answer.status;
    Err(match status {
        code::OK => return Ok(answer),
        code::TOO_MANY_REQUESTS => ViberError::Transient {
            code: Some(status),
            message,
        },
        code::INVALID_AUTH_TOKEN
        | code::ACCOUNT_BLOCKED
        | code::ACCOUNT_NOT_FOUND
        | code::ACCOUNT_SUSPENDED
        | code::ACCOUNT_NOT_AUTHORIZED => ViberError::Unauthorized {
            code: status,
            message,
        },
        code::RECEIVER_NOT_REGISTERED
        | code::RECEIVER_NOT_SUBSCRIBED
        | code::NO_SUITABLE_DEVICE => ViberError::Unreachable {
            code: status,
            message,
        },
        _ => ViberError::Rejected {
            code: status,
            message,
        },
    })
}

#[cfg(test)]
mod tests;
