//! Webhook parsers never panic (issue 11): property tests of the Telegram
//! and WhatsApp parsers and normalizers with random bytes, random JSON and
//! mutations of real payloads (the fixtures the end-to-end tests post).
//! Every input ends in a status of the contract: 400 when the parser
//! refuses it, 200 otherwise (stored or ignored), never a panic; and every
//! event a webhook yields can be published (its id becomes a NATS header).
//!
//! 12,000 cases per parser (4,000 per strategy), a few seconds in all.

use std::sync::LazyLock;

use omnibus_bus::header_safe;
use omnibus_core::ids::is_valid_id;
use omnibus_ingress_telegram::{normalize as tg_normalize, wire as tg_wire};
use omnibus_ingress_whatsapp::normalize::{self as wa_normalize, ChannelView, Routed};
use omnibus_ingress_whatsapp::wire as wa_wire;
use omnibus_proto::Event;
use omnibus_whatsapp_standin::webhook::{self as wa, Customer, MESSAGE_KINDS, PHONE_NUMBER_ID};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

const CASES: u32 = 4_000;
const CHANNEL: &str = "ch_0190a1b2c3d4e5f6";

// === what a webhook answers ===

/// The status the Telegram webhook gives `body` after verification.
fn telegram_status(body: &[u8]) -> u16 {
    let Ok(update) = tg_wire::parse_update(body) else {
        return 400;
    };
    match tg_normalize::normalize(CHANNEL, &update) {
        tg_normalize::Normalized::Event(event) => publishable(&event),
        tg_normalize::Normalized::Ignored(_) => {}
    }
    200
}

/// The status the WhatsApp webhook gives `body` after verification.
fn whatsapp_status(body: &[u8]) -> u16 {
    let Ok(notification) = wa_wire::parse_notification(body) else {
        return 400;
    };
    let view = ChannelView {
        id: CHANNEL,
        phone_number_id: PHONE_NUMBER_ID,
        business_account_id: wa::BUSINESS_ACCOUNT_ID,
    };
    for routed in wa_normalize::normalize(&view, &notification).events {
        if let Routed::Conversation(event) = &routed {
            assert!(is_valid_id(&event.conversation_id), "{event:?}");
        }
        publishable(routed.event());
    }
    200
}

/// The event can go on the stream: an id, a header-safe `Nats-Msg-Id`.
fn publishable(event: &Event) {
    assert!(!event.id.is_empty(), "an event without an id: {event:?}");
    let header = header_safe(&event.id);
    assert!(
        !header.contains(['\r', '\n']),
        "unsafe header {header:?} from {:?}",
        event.id
    );
}

// === fixtures: real payloads ===

/// Built once: the property bodies pick from them thousands of times.
static TELEGRAM: LazyLock<Vec<Value>> = LazyLock::new(telegram_fixtures);
static WHATSAPP: LazyLock<Vec<Value>> = LazyLock::new(whatsapp_fixtures);

fn telegram_fixtures() -> Vec<Value> {
    let from =
        json!({"id": 100200300, "is_bot": false, "first_name": "Sojan", "username": "sojan"});
    let private = json!({"id": 100200300, "type": "private", "first_name": "Sojan"});
    let group = json!({"id": -1001234567890_i64, "type": "supergroup", "title": "Support"});
    let message = |extra: Value| {
        let mut m = json!({"message_id": 17, "date": 1631132077, "from": from, "chat": private});
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        m
    };
    vec![
        json!({"update_id": 734512001, "message": message(json!({"text": "Hello, I need help"}))}),
        json!({"update_id": 734512002, "message": message(json!({
        "caption": "see attached",
        "photo": [
            {"file_id": "AgACAgIAAxkBAAIB", "file_unique_id": "AQAD1", "width": 90, "height": 51, "file_size": 1055},
            {"file_id": "AgACAgIAAxkBAAIC", "file_unique_id": "AQAD2", "width": 1280, "height": 720, "file_size": 98456}
        ]}))}),
        json!({"update_id": 734512003, "message": message(json!({
            "document": {"file_id": "BQACAgIAAxkBAAIDZ", "file_unique_id": "AgADw", "file_name": "invoice.pdf", "mime_type": "application/pdf", "file_size": 48213}}))}),
        json!({"update_id": 734512004, "message": message(json!({
            "voice": {"file_id": "AwACAgIAAxkBAAIE", "file_unique_id": "AgADx", "duration": 4, "mime_type": "audio/ogg", "file_size": 7310}}))}),
        json!({"update_id": 734512005, "message": message(json!({
            "sticker": {"file_id": "CAACAgIAAxkBAAIF", "file_unique_id": "AgADy", "width": 512, "height": 512, "is_animated": false, "is_video": false, "type": "regular", "emoji": "👍"}}))}),
        json!({"update_id": 734512006, "message": message(json!({
            "location": {"latitude": 55.7558, "longitude": 37.6173}}))}),
        json!({"update_id": 734512007, "message": message(json!({
            "contact": {"phone_number": "+79123456789", "first_name": "Ivan", "user_id": 42}}))}),
        json!({"update_id": 734512008, "message": message(json!({
            "text": "and this", "reply_to_message": {"message_id": 16, "date": 1631132000, "chat": private, "text": "earlier"}}))}),
        json!({"update_id": 734512009, "edited_message": message(json!({"text": "Hello, I need help!", "edit_date": 1631132099}))}),
        json!({"update_id": 734512010, "message": {"message_id": 5, "date": 1631132077, "from": from, "chat": group, "text": "in a group"}}),
        json!({"update_id": 734512011, "channel_post": {"message_id": 1, "date": 1631132077, "chat": {"id": -100987, "type": "channel", "title": "News"}, "text": "x"}}),
        json!({"update_id": 734512012, "callback_query": {"id": "4382bfdwdsb323b2d9", "from": from, "data": "yes", "chat_instance": "-1234"}}),
        json!({"update_id": 734512013, "my_chat_member": {"chat": private, "from": from, "date": 1631132077,
            "old_chat_member": {"status": "member", "user": from}, "new_chat_member": {"status": "kicked", "user": from}}}),
    ]
}

fn whatsapp_fixtures() -> Vec<Value> {
    let customer = Customer::default();
    let now = 1_700_000_000;
    let mut fixtures: Vec<Value> = MESSAGE_KINDS
        .iter()
        .filter_map(|kind| {
            wa::sample(
                kind,
                &customer.wa_id,
                "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ=",
                now,
            )
        })
        .map(|message| wa::messages(PHONE_NUMBER_ID, &customer, vec![message]))
        .collect();
    let quoted = wa::replying_to(
        wa::text(&customer.wa_id, "wamid.2", now, "this one"),
        "15550783881",
        "wamid.1",
    );
    fixtures.push(wa::messages(PHONE_NUMBER_ID, &customer, vec![quoted]));
    fixtures.push(wa::statuses(
        PHONE_NUMBER_ID,
        vec![
            wa::status("wamid.out1", "delivered", now, &customer.wa_id),
            wa::failed_status(
                "wamid.out2",
                now,
                &customer.wa_id,
                131047,
                "Re-engagement message",
                "more than 24 hours",
            ),
        ],
    ));
    fixtures.push(wa::template_status(
        594425479261596_i64,
        "order_update",
        "en_US",
        "APPROVED",
        "NONE",
    ));
    fixtures.push(wa::echo(
        PHONE_NUMBER_ID,
        &customer.wa_id,
        "wamid.echo1",
        now,
        "sent from the phone",
    ));
    fixtures.push(wa::call(
        PHONE_NUMBER_ID,
        &customer,
        "wacid.1",
        "connect",
        now,
    ));
    let batch = wa::batch(&fixtures[..3]);
    fixtures.push(batch);
    fixtures
}

// === strategies ===

/// Any JSON value, a few levels deep, with strings that like to break
/// things (line breaks, NULs, long digits, non-ASCII).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z0-9 ._:\r\n\u{0}é😀-]{0,24}".prop_map(Value::from),
        "[0-9]{1,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Object keys: mostly the providers' own, so random JSON reaches deep.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "update_id", "message", "edited_message", "text", "chat", "from", "id", "date",
            "photo", "caption", "object", "entry", "changes", "value", "field", "messages",
            "statuses", "contacts", "wa_id", "type", "timestamp", "metadata",
            "phone_number_id", "context", "errors", "calls", "message_echoes",
        ]).prop_map(str::to_owned),
        1 => "[a-z_]{1,12}",
    ]
}

/// One change to a fixture: where (an index into its paths) and what.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    Stringify(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any_json()).prop_map(|(at, v)| Mutation::Replace(at, v)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Stringify),
    ]
}

/// `fixture` with `mutations` applied, serialized.
fn mutated(fixture: &Value, mutations: &[Mutation]) -> Vec<u8> {
    let mut value = fixture.clone();
    for mutation in mutations {
        let paths = omnibus_testkit::fuzz::paths(&value);
        let pick = |at: usize| paths[at % paths.len()].clone();
        match mutation {
            Mutation::Replace(at, new) => *pointer(&mut value, &pick(*at)) = new.clone(),
            Mutation::Remove(at) => remove(&mut value, &pick(*at)),
            Mutation::Stringify(at) => {
                let target = pointer(&mut value, &pick(*at));
                *target = Value::String(match &*target {
                    Value::String(s) => format!("{s}\r\n{s}"),
                    other => other.to_string(),
                });
            }
        }
    }
    serde_json::to_vec(&value).expect("json")
}

fn pointer<'a>(value: &'a mut Value, path: &str) -> &'a mut Value {
    value.pointer_mut(path).expect("a path of this value")
}

fn remove(value: &mut Value, path: &str) {
    let Some((parent, last)) = path.rsplit_once('/') else {
        *value = Value::Null;
        return;
    };
    match pointer(value, parent) {
        Value::Object(map) => {
            map.remove(&last.replace("~1", "/").replace("~0", "~"));
        }
        Value::Array(items) => {
            if let Ok(i) = last.parse::<usize>() {
                items.remove(i);
            }
        }
        _ => {}
    }
}

fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

// === the properties ===

proptest! {
    #![proptest_config(config())]

    #[test]
    fn telegram_random_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert!(matches!(telegram_status(&body), 200 | 400));
    }

    #[test]
    fn telegram_random_json(value in any_json(), update_id in any::<i64>()) {
        let mut body = value;
        if let Value::Object(map) = &mut body {
            map.insert("update_id".into(), update_id.into());
        }
        let bytes = serde_json::to_vec(&body).unwrap();
        prop_assert!(matches!(telegram_status(&bytes), 200 | 400));
    }

    #[test]
    fn telegram_mutated_fixtures(
        which in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let body = mutated(&TELEGRAM[which % TELEGRAM.len()], &mutations);
        prop_assert!(matches!(telegram_status(&body), 200 | 400));
    }

    #[test]
    fn whatsapp_random_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assert!(matches!(whatsapp_status(&body), 200 | 400));
    }

    #[test]
    fn whatsapp_random_json(value in any_json()) {
        let mut body = value;
        if let Value::Object(map) = &mut body {
            map.insert("object".into(), "whatsapp_business_account".into());
            map.entry("entry").or_insert_with(|| json!([]));
        }
        let bytes = serde_json::to_vec(&body).unwrap();
        prop_assert!(matches!(whatsapp_status(&bytes), 200 | 400));
    }

    #[test]
    fn whatsapp_mutated_fixtures(
        which in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let body = mutated(&WHATSAPP[which % WHATSAPP.len()], &mutations);
        prop_assert!(matches!(whatsapp_status(&body), 200 | 400));
    }
}

#[test]
fn the_fixtures_are_accepted_as_they_are() {
    for fixture in TELEGRAM.iter() {
        assert_eq!(
            telegram_status(fixture.to_string().as_bytes()),
            200,
            "{fixture}"
        );
    }
    for fixture in WHATSAPP.iter() {
        assert_eq!(
            whatsapp_status(fixture.to_string().as_bytes()),
            200,
            "{fixture}"
        );
    }
    assert_eq!(telegram_status(b"not json"), 400);
    assert_eq!(whatsapp_status(br#"{"object":"page","entry":[]}"#), 400);
}
