use omnibus_proto::message_failed::Kind;
use serde_json::json;

use super::*;

fn answer(status: i64, message: &str) -> Vec<u8> {
    json!({ "status": status, "status_message": message, "chat_hostname": "SN-CHAT-05_" })
        .to_string()
        .into_bytes()
}

#[test]
fn status_zero_is_accepted_with_its_token() {
    let body = br#"{"status":0,"status_message":"ok","message_token":5098034272017990000}"#;
    let accepted = classify(200, body).expect("accepted");
    assert_eq!(accepted.message_token, 5_098_034_272_017_990_000);
}

#[test]
fn the_error_table() {
    let cases = [
        (12, "tooManyRequests", true, false, Kind::GaveUp),
        (2, "invalidAuthToken", false, true, Kind::Unauthorized),
        (7, "publicAccountBlocked", false, true, Kind::Unauthorized),
        (9, "publicAccountSuspended", false, true, Kind::Unauthorized),
        (
            5,
            "receiverNotRegistered",
            false,
            false,
            Kind::RecipientBlocked,
        ),
        (
            6,
            "receiverNotSubscribed",
            false,
            false,
            Kind::RecipientBlocked,
        ),
        (
            11,
            "receiverNoSuitableDevice",
            false,
            false,
            Kind::RecipientBlocked,
        ),
        (3, "badData", false, false, Kind::Rejected),
        (4, "missingData", false, false, Kind::Rejected),
        (99, "generalError", false, false, Kind::Rejected),
    ];
    for (status, message, transient, flags, kind) in cases {
        let error = classify(200, &answer(status, message)).expect_err("refused");
        assert_eq!(error.is_transient(), transient, "{status}");
        assert_eq!(error.flags_channel(), flags, "{status}");
        assert_eq!(error.failure_kind(), kind, "{status}");
        assert_eq!(error.code(), Some(status.to_string().as_str()));
    }
}

#[test]
fn operators_read_what_to_do() {
    let reason = |status, message| {
        let error = classify(200, &answer(status, message)).expect_err("refused");
        error.reason().to_owned()
    };
    let unsubscribed = reason(6, "receiverNotSubscribed");
    assert!(
        unsubscribed.contains("the customer unsubscribed"),
        "{unsubscribed}"
    );
    assert!(reason(5, "receiverNotRegistered").contains("not registered on Viber"));
    assert!(reason(2, "invalidAuthToken").contains("auth_token"));
    assert!(reason(3, "badData").contains("badData"));
}

#[test]
fn outages_are_retried() {
    for (http, body) in [
        (502, &b"<html>bad gateway</html>"[..]),
        (429, b""),
        (200, b"not json"),
        (200, b"{}"),
    ] {
        let error = classify(http, body).expect_err("not accepted");
        assert!(error.is_transient(), "{http} {body:?}");
        assert_eq!(error.code(), None);
    }
}
