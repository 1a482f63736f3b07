//! Viber's answers to `send_message`, `get_account_info` and `set_webhook`,
//! sorted into the kit's classes ([`ProviderError`]: what the caller does
//! next; providers.md §3.4).
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

use omnibus_ingress::{ProviderError, lenient};
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

/// A Viber refusal in the kit's classes ([`ProviderError`]), with a reason
/// an operator can act on and Viber's `status` as the code.
fn refusal(status: i64, message: String) -> ProviderError {
    let code = Some(status.to_string());
    match status {
        code::TOO_MANY_REQUESTS => transient(code, &message),
        code::ACCOUNT_BLOCKED | code::ACCOUNT_SUSPENDED => ProviderError::unauthorized(
            format!("Viber has blocked or suspended the bot; contact Viber support ({message})"),
            code,
        ),
        code::INVALID_AUTH_TOKEN | code::ACCOUNT_NOT_FOUND | code::ACCOUNT_NOT_AUTHORIZED => {
            ProviderError::unauthorized(
                format!(
                    "Viber refused the channel's auth_token (revoked, or the bot is gone); \
                     update the channel's auth_token ({message})"
                ),
                code,
            )
        }
        code::RECEIVER_NOT_SUBSCRIBED => ProviderError::unreachable(
            "the customer unsubscribed from the bot; Viber delivers nothing until they write \
             again",
            code,
        ),
        code::RECEIVER_NOT_REGISTERED => {
            ProviderError::unreachable("the customer is not registered on Viber (any more)", code)
        }
        code::NO_SUITABLE_DEVICE => ProviderError::unreachable(
            format!("the customer has no Viber device that can receive this message ({message})"),
            code,
        ),
        _ => ProviderError::rejected(format!("Viber refused the message: {message}"), code),
    }
}

/// Viber or the network failed, or Viber is throttling: retried later.
fn transient(code: Option<String>, message: &str) -> ProviderError {
    ProviderError::retry(
        format!("Viber is unavailable or throttling right now ({message})"),
        code,
    )
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

/// Reads an API answer: `Ok` when Viber accepted the call (`status` 0),
/// else the refusal in the kit's classes. `http_status` is the HTTP code
/// Viber answered with.
pub fn classify(http_status: u16, body: &[u8]) -> Result<Answer, ProviderError> {
    if http_status == 429 || http_status >= 500 {
        return Err(transient(
            None,
            &format!("viber answered http {http_status}"),
        ));
    }
    let answer = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) if value.get("status").is_some() => {
            Answer::deserialize(&value).unwrap_or_default()
        }
        // Proxies and outages answer with HTML; what is not Viber's JSON is
        // not Viber's refusal either.
        _ => {
            let message = format!("viber answered http {http_status} without its json");
            return Err(transient(None, &message));
        }
    };
    if answer.status == code::OK {
        return Ok(answer);
    }
    let message = if answer.status_message.is_empty() {
        format!("status {}", answer.status)
    } else {
        // Bounded: this text ends up in an operator-facing reason.
        answer.status_message.chars().take(200).collect()
    };
    Err(refusal(answer.status, message))
}

#[cfg(test)]
mod tests;
