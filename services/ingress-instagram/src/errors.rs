//! Graph's answers to Instagram sends, sorted into what the sender does
//! next: retry later, hand the message back to the window service, flag the
//! channel's token, or fail the message with a reason an operator can act
//! on. Credentials never reach these texts: only Graph's own message does,
//! and a token-looking word in it is redacted.

use serde_json::Value;

/// Codes meaning "too much, later" or a passing failure at Meta: 1, 2
/// (temporary), 4, 17, 32, 613 (app, user and page rate limits), 80002 and
/// 80006 (Instagram and Messenger rate limits).
const RETRYABLE_CODES: [i64; 8] = [1, 2, 4, 17, 32, 613, 80_002, 80_006];
/// Codes of a refused or expired token: 190 (invalid token), 102 (session),
/// 463/467 (expired), and 200-range permission errors.
const TOKEN_CODES: [i64; 4] = [190, 102, 463, 467];
/// Subcode of code 10: "This message is sent outside of allowed window".
pub const OUTSIDE_WINDOW_SUBCODE: i64 = 2_018_278;
/// Code 551: "This person isn't available right now".
pub const UNAVAILABLE_CODE: i64 = 551;

/// A refused or failed send, classified by what happens next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Throttled, or Meta or the network failed: try again later.
    #[error("transient failure ({code:?}): {message}")]
    Transient { code: Option<i64>, message: String },
    /// The 24-hour (or, tagged, 7-day) window is closed.
    #[error("outside the messaging window: {message}")]
    OutsideWindow { message: String },
    /// The token is invalid, expired or lacks a permission: flag the channel.
    #[error("unauthorized ({code}): {message}")]
    Unauthorized { code: i64, message: String },
    /// The customer cannot receive messages (blocked the account, left).
    #[error("recipient unavailable: {message}")]
    RecipientUnavailable { message: String },
    /// Refused as it was.
    #[error("rejected ({code}): {message}")]
    Rejected { code: i64, message: String },
}

impl SendError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::Transient { message, .. } => {
                format!("Instagram is unavailable or throttling right now ({message})")
            }
            Self::OutsideWindow { message } => format!(
                "the customer has not written for more than 24 hours (7 days with the \
                 HUMAN_AGENT tag); Instagram allows no message until they write again ({message})"
            ),
            Self::Unauthorized { message, .. } => format!(
                "Instagram refused the channel's access token (expired, revoked or missing a \
                 permission); update the channel's access_token ({message})"
            ),
            Self::RecipientUnavailable { message } => {
                format!("the customer cannot receive messages on Instagram ({message})")
            }
            Self::Rejected { message, .. } => format!("Instagram refused the message: {message}"),
        }
    }

    /// Graph's error code, when Graph answered with one.
    pub fn provider_code(&self) -> Option<i64> {
        match self {
            Self::Transient { code, .. } => *code,
            Self::OutsideWindow { .. } => Some(10),
            Self::Unauthorized { code, .. } | Self::Rejected { code, .. } => Some(*code),
            Self::RecipientUnavailable { .. } => Some(UNAVAILABLE_CODE),
        }
    }
}

/// Classifies a failed answer: its HTTP status and body (Graph's
/// `{"error": {message, code, error_subcode, type}}` when it sent one).
pub fn classify(http_status: u16, body: &[u8]) -> SendError {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| v["error"].clone())
        .unwrap_or_default();
    let code = error["code"].as_i64();
    let subcode = error["error_subcode"].as_i64().unwrap_or_default();
    let message = redact(error["message"].as_str().unwrap_or_default());
    let message = if message.is_empty() {
        format!("HTTP {http_status}")
    } else {
        message
    };
    let lower = message.to_lowercase();
    match code {
        _ if (code == Some(10) && subcode == OUTSIDE_WINDOW_SUBCODE)
            || lower.contains("outside of allowed window") =>
        {
            SendError::OutsideWindow { message }
        }
        Some(c) if TOKEN_CODES.contains(&c) || (200..300).contains(&c) => {
            SendError::Unauthorized { code: c, message }
        }
        Some(c) if RETRYABLE_CODES.contains(&c) => SendError::Transient {
            code: Some(c),
            message,
        },
        Some(UNAVAILABLE_CODE) => SendError::RecipientUnavailable { message },
        _ if http_status == 401 => SendError::Unauthorized {
            code: code.unwrap_or(190),
            message,
        },
        _ if http_status == 429 || http_status >= 500 => SendError::Transient { code, message },
        Some(c) => SendError::Rejected { code: c, message },
        None => SendError::Rejected { code: 0, message },
    }
}

/// Removes anything that looks like a Meta access token (`EAA…`, `IGAA…`,
/// `IGQV…`) from a provider's text before it is shown or logged.
pub fn redact(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let token = ["EAA", "IGAA", "IGQV"].iter().any(|p| word.starts_with(p));
            if token && word.len() > 20 {
                "<redacted>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(code: i64, subcode: i64, message: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "error": {
            "message": message, "type": "OAuthException", "code": code,
            "error_subcode": subcode, "fbtrace_id": "AbCdEf"
        }}))
        .unwrap()
    }

    #[test]
    fn the_error_table() {
        let window = graph(
            10,
            2_018_278,
            "(#10) This message is sent outside of allowed window.",
        );
        assert!(matches!(
            classify(400, &window),
            SendError::OutsideWindow { .. }
        ));
        let token = graph(
            190,
            463,
            "Error validating access token: Session has expired",
        );
        assert_eq!(classify(400, &token).provider_code(), Some(190));
        assert!(matches!(
            classify(400, &token),
            SendError::Unauthorized { .. }
        ));
        assert!(matches!(
            classify(400, &graph(200, 0, "(#200) Permissions error")),
            SendError::Unauthorized { .. }
        ));
        for code in [4, 17, 32, 613, 80_002] {
            assert!(
                matches!(
                    classify(400, &graph(code, 0, "rate")),
                    SendError::Transient { .. }
                ),
                "{code}"
            );
        }
        assert!(matches!(
            classify(429, b""),
            SendError::Transient { code: None, .. }
        ));
        assert!(matches!(
            classify(502, b"<html>"),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(401, b"{}"),
            SendError::Unauthorized { code: 190, .. }
        ));
        assert!(matches!(
            classify(
                400,
                &graph(551, 1_545_041, "This person isn't available right now.")
            ),
            SendError::RecipientUnavailable { .. }
        ));
        let bad = classify(400, &graph(100, 2_534_014, "(#100) Invalid parameter"));
        assert_eq!(bad.provider_code(), Some(100));
        assert!(
            bad.readable().contains("Invalid parameter"),
            "{}",
            bad.readable()
        );
    }

    #[test]
    fn texts_are_readable_and_never_carry_a_token() {
        let token = "IGAAT1234567890abcdefghijklmnop";
        let body = graph(190, 0, &format!("Malformed access token {token}"));
        let error = classify(400, &body);
        assert!(!error.readable().contains(token), "{}", error.readable());
        assert!(!error.to_string().contains(token));
        assert!(error.readable().contains("access_token"));
        assert!(
            classify(400, &graph(10, 2_018_278, "x"))
                .readable()
                .contains("24 hours")
        );
    }
}
