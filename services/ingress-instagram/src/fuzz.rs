//! Property tests: the parser and normalizer never panic, whatever arrives
//! (issue 11): random bytes, random JSON, and mutations of every real
//! payload fixture, 10,000 cases each.

use omnibus_instagram_standin::webhook;
use omnibus_testkit::fuzz::CASES;
use omnibus_testkit::fuzz::shaped::mutate;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::normalize::{ChannelView, Permalinks, normalize};
use crate::wire::parse_notification;

fn run(body: &[u8]) {
    if let Ok(notification) = parse_notification(body) {
        let permalinks = Permalinks::new();
        for account in ["", webhook::ACCOUNT_ID] {
            let view = ChannelView {
                id: "ch_fuzz",
                account_id: account,
            };
            let _ = normalize(&view, &notification, &permalinks);
        }
        let _ = crate::normalize::media_ids(&notification);
    }
}

/// Every fixture the stand-in builds, as real payloads.
/// Random JSON with Instagram's field names.
fn any_json() -> impl Strategy<Value = Value> {
    omnibus_testkit::fuzz::shaped::json(
        vec![
            "object",
            "entry",
            "id",
            "messaging",
            "standby",
            "changes",
            "field",
            "value",
            "sender",
            "recipient",
            "message",
            "mid",
            "text",
            "attachments",
            "reply_to",
            "story",
            "read",
            "reaction",
            "from",
            "media",
            "is_echo",
            "is_deleted",
            "type",
            "payload",
            "url",
            "timestamp",
            "time",
            "referral",
            "postback",
        ],
        vec![
            "instagram",
            "messages",
            "comments",
            "unreact",
            "image",
            "story_mention",
            webhook::ACCOUNT_ID,
        ],
    )
}

fn fixtures() -> Vec<Value> {
    let mut all: Vec<Value> = webhook::DIRECT_KINDS
        .iter()
        .map(|k| webhook::messaging(vec![webhook::sample(k, "m_1")]))
        .collect();
    all.push(webhook::dashboard_test(webhook::sample("text", "m_2")));
    all.push(webhook::comment("1786", "What's the price?"));
    all.push(webhook::comment_inline("1786", "What's the price?"));
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
        run(&serde_json::to_vec(&json!({ "object": "instagram", "entry": [value] })).unwrap());
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
}
