use std::time::Duration;

use super::*;
use crate::botapi::SentMessage;

fn failure(status: u16, body: &str) -> ApiError {
    decode::<SentMessage>(status, body.as_bytes()).expect_err("a failure")
}

#[test]
fn answers_are_classified_by_status() {
    let rate = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
    assert_eq!(
        failure(429, rate),
        ApiError::RetryAfter(Duration::from_secs(7))
    );
    let no_params = r#"{"ok":false,"error_code":429,"description":"Too Many Requests"}"#;
    assert_eq!(
        failure(429, no_params),
        ApiError::RetryAfter(Duration::from_secs(1))
    );
    let down = r#"{"ok":false,"error_code":500,"description":"Internal Server Error"}"#;
    assert_eq!(
        failure(500, down),
        ApiError::Transient("Internal Server Error".into())
    );
    let blocked =
        r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;
    assert_eq!(
        failure(403, blocked),
        ApiError::Blocked("Forbidden: bot was blocked by the user".into())
    );
    let token = r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
    assert_eq!(
        failure(401, token),
        ApiError::Unauthorized("Unauthorized".into())
    );
    let not_found = r#"{"ok":false,"error_code":404,"description":"Not Found"}"#;
    assert_eq!(
        failure(404, not_found),
        ApiError::Unauthorized("Not Found".into())
    );
    let bad = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
    assert_eq!(
        failure(400, bad),
        ApiError::Rejected {
            code: 400,
            description: "Bad Request: chat not found".into()
        }
    );
    let conflict = r#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request"}"#;
    assert!(matches!(
        failure(409, conflict),
        ApiError::Rejected { code: 409, .. }
    ));
}

#[test]
fn unreadable_answers_are_transient() {
    for (status, body) in [
        (502, "<html>Bad Gateway</html>"),
        (200, ""),
        (200, r#"{"ok":true}"#),
        (200, r#"{"ok":true,"result":{"message_id":"three"}}"#),
    ] {
        assert!(
            matches!(failure(status, body), ApiError::Transient(_)),
            "{status} {body}"
        );
    }
    let sent = decode::<SentMessage>(200, br#"{"ok":true,"result":{"message_id":3,"date":1}}"#);
    assert_eq!(sent, Ok(SentMessage { message_id: 3 }));
}

#[test]
fn readable_reasons_speak_to_operators() {
    let cases = [
        (
            ApiError::Blocked("Forbidden: bot was blocked by the user".into()),
            "the customer blocked the bot (Forbidden: bot was blocked by the user)",
        ),
        (
            ApiError::Blocked("Forbidden: user is deactivated".into()),
            "the customer's Telegram account is deleted (Forbidden: user is deactivated)",
        ),
        (
            ApiError::Blocked("Forbidden: bot can't initiate conversation with a user".into()),
            "the customer has not started a chat with the bot \
             (Forbidden: bot can't initiate conversation with a user)",
        ),
        (
            ApiError::Rejected {
                code: 400,
                description: "Bad Request: chat not found".into(),
            },
            "Telegram refused the message: Bad Request: chat not found",
        ),
        (
            ApiError::Unauthorized("Unauthorized".into()),
            "Telegram refused the bot token; check the channel credentials (Unauthorized)",
        ),
        (
            ApiError::RetryAfter(Duration::from_secs(30)),
            "Telegram is rate limiting the bot; retry in 30 s",
        ),
    ];
    for (error, reason) in cases {
        assert_eq!(error.readable(), reason);
    }
}
