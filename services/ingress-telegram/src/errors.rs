//! Telegram's answers, sorted into what the kit can act on: Bot API error
//! codes (the HTTP status) become [`ApiError`] for the operator's words,
//! then [`ProviderError`] for the kit (retry, fail, flag the channel).

use std::time::Duration;

use omnibus_ingress::ProviderError;
use omnibus_proto::message_failed::Kind;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A failed Bot API call, classified by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// HTTP 429: wait this long, then try again.
    #[error("rate limited, retry after {0:?}")]
    RetryAfter(Duration),
    /// Telegram or the network failed (5xx, timeout, refused connection,
    /// unreadable answer); trying again later may work.
    #[error("transient failure: {0}")]
    Transient(String),
    /// HTTP 403: the customer blocked the bot, deleted their account, or
    /// never started a chat with it. Retrying will not help.
    #[error("recipient unreachable: {0}")]
    Blocked(String),
    /// HTTP 401 or 404: the bot token is invalid or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Telegram refused the request as it was (HTTP 400 and anything else).
    /// `code` 0 means it was refused here, before calling Telegram.
    #[error("rejected ({code}): {description}")]
    Rejected { code: i64, description: String },
}

impl ApiError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::RetryAfter(wait) => format!(
                "Telegram is rate limiting the bot; retry in {} s",
                wait.as_secs().max(1)
            ),
            Self::Transient(reason) => format!("Telegram is unavailable right now ({reason})"),
            Self::Blocked(description) => blocked_reason(description),
            Self::Unauthorized(description) => format!(
                "Telegram refused the bot token; check the channel credentials ({description})"
            ),
            Self::Rejected { description, .. } => {
                format!("Telegram refused the message: {description}")
            }
        }
    }

    /// Telegram's `error_code` (the HTTP status), when Telegram answered.
    pub fn provider_code(&self) -> Option<i64> {
        match self {
            Self::RetryAfter(_) => Some(429),
            Self::Transient(_) => None,
            Self::Blocked(_) => Some(403),
            Self::Unauthorized(_) => Some(401),
            Self::Rejected { code: 0, .. } => None,
            Self::Rejected { code, .. } => Some(*code),
        }
    }
}

/// Tells the common 403 causes apart; descriptions vary in case.
fn blocked_reason(description: &str) -> String {
    let lower = description.to_lowercase();
    let why = if lower.contains("deactivated") {
        "the customer's Telegram account is deleted"
    } else if lower.contains("can't initiate") || lower.contains("can not initiate") {
        "the customer has not started a chat with the bot"
    } else if lower.contains("kicked") || lower.contains("not a member") {
        "the bot was removed from the chat"
    } else {
        "the customer blocked the bot"
    };
    format!("{why} ({description})")
}

/// Telegram's answer envelope: `{ok, result}` or `{ok:false, error_code, ...}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    ok: bool,
    result: Option<Value>,
    error_code: Option<i64>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Default, Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

/// Decodes an answer into its `result`, or classifies the failure.
pub(crate) fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ApiError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| unreadable(status))?;
    if !envelope.ok || !(200..300).contains(&status) {
        return Err(classify(status, &envelope));
    }
    let result = envelope.result.ok_or_else(|| unreadable(status))?;
    serde_json::from_value(result).map_err(|_| unreadable(status))
}

fn unreadable(status: u16) -> ApiError {
    ApiError::Transient(format!("unreadable answer from telegram (http {status})"))
}

/// Sorts a failed answer by HTTP status, falling back to `error_code` when
/// the status itself says success.
fn classify(status: u16, envelope: &Envelope) -> ApiError {
    let code = match status {
        200..=299 => envelope.error_code.unwrap_or(i64::from(status)),
        _ => i64::from(status),
    };
    let description = envelope
        .description
        .clone()
        .unwrap_or_else(|| format!("http {code}"));
    match code {
        429 => {
            let seconds = envelope.parameters.as_ref().and_then(|p| p.retry_after);
            ApiError::RetryAfter(Duration::from_secs(seconds.unwrap_or(1).max(1)))
        }
        500..=599 => ApiError::Transient(description),
        403 => ApiError::Blocked(description),
        401 | 404 => ApiError::Unauthorized(description),
        _ => ApiError::Rejected { code, description },
    }
}

impl From<ApiError> for ProviderError {
    fn from(error: ApiError) -> Self {
        let reason = error.readable();
        let code = error.provider_code().map(|c| c.to_string());
        match error {
            ApiError::RetryAfter(wait) => Self::Retry {
                after: Some(wait),
                reason,
                code,
            },
            ApiError::Transient(_) => Self::Retry {
                after: None,
                reason,
                code,
            },
            ApiError::Blocked(_) => Self::Fail {
                kind: Kind::RecipientBlocked,
                reason,
                code,
            },
            ApiError::Unauthorized(_) => Self::Unauthorized { reason, code },
            ApiError::Rejected { .. } => Self::Fail {
                kind: Kind::Rejected,
                reason,
                code,
            },
        }
    }
}

/// A refusal made here, before calling Telegram.
pub(crate) fn local_rejection(description: &str) -> ApiError {
    ApiError::Rejected {
        code: 0,
        description: description.to_owned(),
    }
}

/// The kit's classification of a Bot API answer: its `result`.
pub(crate) fn classify_answer(status: u16, body: &[u8]) -> Result<Value, ProviderError> {
    decode::<Value>(status, body).map_err(ProviderError::from)
}

#[cfg(test)]
mod tests;
