use omnibus_proto::message_failed::Kind;
use serde_json::json;

use super::*;

fn error(code: i64, message: &str) -> Vec<u8> {
    json!({ "error": { "error_code": code, "error_msg": message, "request_params": [] } })
        .to_string()
        .into_bytes()
}

#[test]
fn responses_are_accepted_with_their_id() {
    let sent = classify(200, br#"{"response":4813}"#).expect("accepted");
    assert_eq!(created_id(&sent).as_deref(), Some("4813"));
    let comment =
        classify(200, br#"{"response":{"comment_id":95,"parents_stack":[]}}"#).expect("accepted");
    assert_eq!(created_id(&comment).as_deref(), Some("95"));
    assert_eq!(created_id(&json!(0)), None);
}

#[test]
fn the_error_table() {
    let cases = [
        (6, true, false, Kind::GaveUp),
        (9, true, false, Kind::GaveUp),
        (10, true, false, Kind::GaveUp),
        (5, false, true, Kind::Unauthorized),
        (900, false, false, Kind::RecipientBlocked),
        (901, false, false, Kind::RecipientBlocked),
        (902, false, false, Kind::RecipientBlocked),
        (914, false, false, Kind::Rejected),
        (100, false, false, Kind::Rejected),
    ];
    for (code, transient, flags, kind) in cases {
        let refused = classify(200, &error(code, "something")).expect_err("refused");
        assert_eq!(refused.is_transient(), transient, "{code}");
        assert_eq!(refused.flags_channel(), flags, "{code}");
        assert_eq!(refused.failure_kind(), kind, "{code}");
        assert_eq!(refused.code(), Some(code.to_string().as_str()));
    }
}

#[test]
fn operators_read_what_to_do() {
    let reason = |code| {
        classify(200, &error(code, "x"))
            .expect_err("refused")
            .reason()
            .to_owned()
    };
    assert!(reason(901).contains("the customer has not allowed messages from the community"));
    assert!(reason(901).contains("forbade"));
    assert!(reason(900).contains("blocked the community"));
    assert!(reason(902).contains("privacy settings"));
    assert!(reason(5).contains("access_token"));
}

#[test]
fn outages_are_retried() {
    for (http, body) in [
        (502, &b"<html></html>"[..]),
        (429, b""),
        (200, b"not json"),
        (200, b"{}"),
    ] {
        assert!(
            classify(http, body)
                .expect_err("not accepted")
                .is_transient(),
            "{http}"
        );
    }
}
