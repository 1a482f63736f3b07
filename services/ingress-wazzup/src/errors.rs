//! Wazzup's errors made readable: the error codes of `status: error`
//! webhooks (providers.md §6.3) and the answers of `POST /v3/message`,
//! sorted into what happens next.

use serde_json::Value;

/// A failed status, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// `24_HOURS_EXCEEDED` (WABA) or `7_DAYS_EXCEEDED` (Instagram): the
    /// window service decides again, as for WhatsApp's 131047.
    OutsideWindow { code: String, reason: String },
    /// Anything else: the message fails with this reason.
    Failed { code: String, reason: String },
}

/// Reads a status's `error`, whichever shape it has (`"CODE"`,
/// `{"error": "CODE", "description": …}`, `{"code": …}`).
pub fn status_error(error: Option<&Value>) -> StatusError {
    let (code, description) = match error {
        Some(Value::String(code)) => (code.clone(), String::new()),
        Some(Value::Object(map)) => {
            let text = |key: &str| map.get(key).and_then(Value::as_str).unwrap_or_default();
            let code = [text("error"), text("code"), text("errorCode")]
                .into_iter()
                .find(|c| !c.is_empty())
                .unwrap_or_default()
                .to_owned();
            (code, text("description").to_owned())
        }
        _ => (String::new(), String::new()),
    };
    let code = code.trim().to_ascii_uppercase();
    let reason = readable(&code, &description);
    if code == "24_HOURS_EXCEEDED" || code == "7_DAYS_EXCEEDED" {
        StatusError::OutsideWindow { code, reason }
    } else {
        StatusError::Failed { code, reason }
    }
}

/// An operator's words for Wazzup's error `code`.
pub fn readable(code: &str, description: &str) -> String {
    let known = match code {
        "BAD_CONTACT" => "the customer's number or account does not exist in this messenger",
        "CHATID_IGSID_MISMATCH" => "the Instagram chat does not belong to this Instagram account",
        "TOO_LONG_TEXT" => "the text is too long for this messenger",
        "BAD_LINK" => "the messenger refused a link in the message",
        "TOO_BIG_CONTENT" => "the file is too big (Wazzup takes up to 50 MB)",
        "SPAM" => "the messenger refused the message as spam",
        "24_HOURS_EXCEEDED" => {
            "the customer has not written for more than 24 hours; only an approved template can \
             be sent"
        }
        "7_DAYS_EXCEEDED" => "the customer has not written on Instagram for more than 7 days",
        "CHANNEL_BLOCKED" | "CHANNEL_NOT_ACTIVE" => {
            "the Wazzup channel is blocked or switched off; check it in Wazzup"
        }
        "" => "Wazzup could not deliver the message",
        _ => "",
    };
    let mut text = if known.is_empty() {
        format!("Wazzup could not deliver the message ({code})")
    } else if code.is_empty() {
        known.to_owned()
    } else {
        format!("{known} ({code})")
    };
    if !description.is_empty() && !description.eq_ignore_ascii_case(code) {
        text.push_str(": ");
        text.push_str(description);
    }
    text
}

/// What a failed `POST /v3/message` means for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// `repeatedCrmMessageId`: Wazzup already has this message (a retry
    /// after a lost answer); it is sent, not to be sent again.
    #[error("already sent")]
    AlreadySent,
    /// 429 or a failure at Wazzup or on the way: try again later.
    #[error("transient failure (HTTP {http_status}): {message}")]
    Transient { http_status: u16, message: String },
    /// The API key was refused, or the channel is gone: flag the channel.
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    /// Refused as it was.
    #[error("rejected ({code}): {message}")]
    Rejected { code: String, message: String },
}

impl SendError {
    /// Explains the failure to an operator, in words they can act on.
    pub fn readable(&self) -> String {
        match self {
            Self::AlreadySent => "Wazzup already had this message".to_owned(),
            Self::Transient { message, .. } => {
                format!("Wazzup is unavailable or throttling right now ({message})")
            }
            Self::Unauthorized { message } => format!(
                "Wazzup refused the channel's API key or no longer has its channel; update the \
                 channel's api_key or channel_id ({message})"
            ),
            Self::Rejected { message, .. } => format!("Wazzup refused the message: {message}"),
        }
    }
}

/// Classifies a failed answer by its HTTP status and `{error, description}`.
pub fn classify(http_status: u16, body: &[u8]) -> SendError {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    let code = value["error"].as_str().unwrap_or_default().to_owned();
    let description = value["description"].as_str().unwrap_or_default();
    let message = match (code.is_empty(), description.is_empty()) {
        (true, true) => format!("HTTP {http_status}"),
        (false, true) => code.clone(),
        (_, false) => description.to_owned(),
    };
    match (http_status, code.as_str()) {
        (_, "repeatedCrmMessageId") => SendError::AlreadySent,
        (401 | 403, _) | (_, "unauthorized" | "channelNotFound" | "channelBlocked") => {
            SendError::Unauthorized { message }
        }
        (429 | 408, _) | (500.., _) => SendError::Transient {
            http_status,
            message,
        },
        _ => SendError::Rejected { code, message },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn status_errors_are_readable_and_windows_go_back() {
        let window = status_error(Some(
            &json!({ "error": "24_HOURS_EXCEEDED", "description": "" }),
        ));
        assert!(
            matches!(window, StatusError::OutsideWindow { ref code, .. } if code == "24_HOURS_EXCEEDED")
        );
        assert!(matches!(
            status_error(Some(&json!("7_DAYS_EXCEEDED"))),
            StatusError::OutsideWindow { .. }
        ));
        for (code, words) in [
            ("BAD_CONTACT", "does not exist"),
            ("SPAM", "spam"),
            ("TOO_BIG_CONTENT", "50 MB"),
            ("SOMETHING_NEW", "SOMETHING_NEW"),
        ] {
            let StatusError::Failed { reason, .. } = status_error(Some(&json!({ "error": code })))
            else {
                panic!("{code} is not a window error");
            };
            assert!(reason.contains(words), "{code}: {reason}");
        }
        let StatusError::Failed { reason, .. } = status_error(None) else {
            panic!("no error is a plain failure");
        };
        assert_eq!(reason, "Wazzup could not deliver the message");
    }

    #[test]
    fn the_send_error_table() {
        let body =
            |e: &str| serde_json::to_vec(&json!({ "error": e, "description": "d" })).unwrap();
        assert_eq!(
            classify(400, &body("repeatedCrmMessageId")),
            SendError::AlreadySent
        );
        assert!(matches!(
            classify(429, b""),
            SendError::Transient {
                http_status: 429,
                ..
            }
        ));
        assert!(matches!(
            classify(503, b"<html>"),
            SendError::Transient { .. }
        ));
        assert!(matches!(
            classify(401, &body("unauthorized")),
            SendError::Unauthorized { .. }
        ));
        assert!(matches!(
            classify(400, &body("channelNotFound")),
            SendError::Unauthorized { .. }
        ));
        let rejected = classify(400, &body("messageTextTooLong"));
        assert!(
            matches!(rejected, SendError::Rejected { ref code, .. } if code == "messageTextTooLong")
        );
        assert!(
            rejected
                .readable()
                .starts_with("Wazzup refused the message")
        );
    }
}
