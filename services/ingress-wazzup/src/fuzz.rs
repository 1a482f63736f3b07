//! Property tests: the parser, normalizer and phone reader never panic,
//! whatever arrives (issue 11): random bytes, random JSON, and mutations of
//! every real payload fixture, 10,000 cases each.

use std::collections::HashMap;

use omnibus_testkit::fuzz::CASES;
use omnibus_testkit::fuzz::shaped::mutate;
use omnibus_wazzup_standin::webhook;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::normalize::{Account, Linked, SentRef, names_account, normalize};
use crate::wire::parse_webhook;

fn run(body: &[u8]) {
    let Ok(parsed) = parse_webhook(body) else {
        return;
    };
    let account = Account {
        channels: vec![Linked {
            channel_id: "ch_fuzz".into(),
            wazzup_channel_id: webhook::CHANNEL_ID.into(),
        }],
    };
    let sends = HashMap::from([(
        "out-1".to_owned(),
        SentRef {
            channel_id: "ch_fuzz".into(),
            conversation_id: "cv_fuzz".into(),
            message_id: "msg_fuzz".into(),
        },
    )]);
    let _ = normalize(&account, &parsed, &sends);
    let _ = names_account(&account, &parsed, &sends);
}

/// Random JSON with Wazzup's field names.
fn any_json() -> impl Strategy<Value = Value> {
    omnibus_testkit::fuzz::shaped::json(
        vec![
            "test",
            "messages",
            "statuses",
            "messageId",
            "channelId",
            "chatType",
            "chatId",
            "type",
            "text",
            "contentUri",
            "isEcho",
            "isEdited",
            "isDeleted",
            "contact",
            "crmMessageId",
            "quotedMessage",
            "status",
            "error",
            "dateTime",
            "timestamp",
            "authorName",
            "authorId",
            "phone",
            "name",
        ],
        vec![
            webhook::CHANNEL_ID,
            "whatsgroup",
            "error",
            "24_HOURS_EXCEEDED",
            "vcard",
            "geo",
            "out-1",
            "msg_x-1",
            "2025-07-27T14:50:59.220Z",
        ],
    )
}

fn fixtures() -> Vec<Value> {
    let mut all: Vec<Value> = webhook::MESSAGE_KINDS
        .iter()
        .map(|k| webhook::messages(vec![webhook::sample(k, "m-1")]))
        .collect();
    all.push(webhook::messages_and_statuses(
        vec![webhook::group("g-1", "Oleg", "7903", "Hi")],
        vec![
            webhook::status("out-1", "read", None),
            webhook::status("out-1", "error", Some("24_HOURS_EXCEEDED")),
        ],
    ));
    all.push(webhook::messages(vec![webhook::our_echo(
        "out-1", "msg_a-1", "x",
    )]));
    all.push(webhook::test());
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        run(&body);
    }

    #[test]
    fn random_json_never_panics(value in any_json()) {
        run(&serde_json::to_vec(&value).unwrap());
        run(&serde_json::to_vec(&json!({ "messages": [value.clone()], "statuses": [value] })).unwrap());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in any::<usize>(),
        choice in any::<usize>(),
        with in any_json(),
    ) {
        let fixtures = fixtures();
        let mut fixture = fixtures[which % fixtures.len()].clone();
        mutate(&mut fixture, choice, with);
        run(&serde_json::to_vec(&fixture).unwrap());
    }

    #[test]
    fn phones_and_times_never_panic(text in ".{0,40}") {
        let _ = crate::phone::to_e164(&text);
        let _ = crate::wire::date_time_ms(&text);
    }
}
