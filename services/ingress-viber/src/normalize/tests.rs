use omnibus_proto::{AttachmentKind, AuthorKind, Direction, MessageStatus, event::Payload};
use omnibus_viber_standin::callbacks;
use serde_json::Value;

use super::*;
use crate::wire::parse_callback;

const USER: &str = "01234567890A=";
const CHANNEL: ChannelView<'static> = ChannelView {
    id: "ch_viber",
    bot_name: "Acme Support",
    bot_avatar: "",
    welcome_message: "",
};

fn run(channel: &ChannelView<'_>, callback: &Value) -> Normalized {
    let body = serde_json::to_vec(callback).expect("json");
    normalize(channel, &parse_callback(&body).expect("a viber callback"))
}

fn received(callback: &Value) -> (Event, MessageReceived) {
    let out = run(&CHANNEL, callback);
    assert_eq!(out.events.len(), 1, "{:?}", out.skipped);
    let event = out.events[0].clone();
    let Some(Payload::MessageReceived(message)) = event.payload.clone() else {
        panic!("not a message: {event:?}");
    };
    (event, message)
}

#[test]
fn a_text_message_is_the_customers_with_stable_ids() {
    let callback = callbacks::message(
        4912661846655238145,
        USER,
        "John McClane",
        callbacks::text("hi"),
    );
    let (event, message) = received(&callback);
    assert_eq!(event.id, "viber:ch_viber:4912661846655238145");
    assert_eq!(
        event.conversation_id,
        ids::conversation_id("ch_viber", USER)
    );
    assert_eq!(event.occurred_at_ms, 1_457_764_197_627 + 145);
    assert_eq!(message.text, "hi");
    assert_eq!(message.provider_message_id, "4912661846655238145");
    assert_eq!(
        message.message_id,
        ids::inbound_message_id("ch_viber", USER, "4912661846655238145")
    );
    assert_eq!(message.contact_id, ids::contact_id("ch_viber", USER));
    assert_eq!(message.author_kind, AuthorKind::Contact as i32);
    assert_eq!(message.direction, Direction::Inbound as i32);
    let peer = message.peer.expect("a peer");
    assert_eq!(
        (peer.provider_chat_id.as_str(), peer.first_name.as_str()),
        (USER, "John McClane")
    );
    assert_eq!(received(&callback).0, event, "deterministic");
}

#[test]
fn every_message_kind_carries_its_content() {
    let cases: Vec<(Value, AttachmentKind, &str)> = vec![
        (
            callbacks::picture("https://dl.example/p.jpg", "the box"),
            AttachmentKind::Image,
            "the box",
        ),
        (
            callbacks::video("https://dl.example/v.mp4", 5_000_000),
            AttachmentKind::Video,
            "",
        ),
        (
            callbacks::file("https://dl.example/f.pdf", "invoice.pdf", 20_480),
            AttachmentKind::Document,
            "",
        ),
        (callbacks::sticker(46105), AttachmentKind::Sticker, ""),
        (
            callbacks::contact("Holly", "+15550001111"),
            AttachmentKind::Contact,
            "",
        ),
        (
            callbacks::location(51.5, -0.12),
            AttachmentKind::Location,
            "",
        ),
    ];
    for (n, (body, kind, text)) in cases.into_iter().enumerate() {
        let (_, message) = received(&callbacks::message(100 + n as u64, USER, "J", body));
        assert_eq!(message.text, text, "{kind:?}");
        assert_eq!(message.attachments.len(), 1, "{kind:?}");
        let attachment = &message.attachments[0];
        assert_eq!(attachment.kind, kind as i32);
        match kind {
            AttachmentKind::Document => {
                assert_eq!(attachment.file_name, "invoice.pdf");
                assert_eq!(attachment.size_bytes, 20_480);
                assert_eq!(attachment.url, "https://dl.example/f.pdf");
            }
            AttachmentKind::Sticker => assert_eq!(attachment.provider_file_id, "46105"),
            AttachmentKind::Contact => {
                let card = attachment.contact.clone().expect("a card");
                assert_eq!(
                    (card.name.as_str(), card.phone.as_str()),
                    ("Holly", "+15550001111")
                );
            }
            AttachmentKind::Location => {
                let place = attachment.location.clone().expect("a place");
                assert_eq!((place.latitude, place.longitude), (51.5, -0.12));
            }
            _ => assert!(attachment.url.starts_with("https://dl.example/")),
        }
    }
    let (_, link) = received(&callbacks::message(
        200,
        USER,
        "J",
        callbacks::url("https://example.com/o/1"),
    ));
    assert_eq!(link.text, "https://example.com/o/1");
    assert!(link.attachments.is_empty());
}

#[test]
fn unknown_kinds_still_tell_the_operator() {
    let body = serde_json::json!({ "type": "rich_media", "rich_media": {} });
    let (_, message) = received(&callbacks::message(300, USER, "J", body));
    assert!(message.text.contains("rich_media"), "{}", message.text);
    assert_eq!(message.unshown_kind, "rich_media", "counted by the kit");
    assert_eq!(message.author_kind(), AuthorKind::System);
}

#[test]
fn statuses_move_our_message_by_its_token() {
    let cases = [
        ("delivered", MessageStatus::Delivered),
        ("seen", MessageStatus::Read),
        ("failed", MessageStatus::Failed),
    ];
    for (name, status) in cases {
        let out = run(
            &CHANNEL,
            &callbacks::status(name, 777, USER, "keyboard is not valid"),
        );
        let event = &out.events[0];
        assert_eq!(event.id, format!("viber:ch_viber:status:777:{name}"));
        assert_eq!(
            event.conversation_id,
            ids::conversation_id("ch_viber", USER)
        );
        let Some(Payload::DeliveryStatusChanged(changed)) = &event.payload else {
            panic!("not a status");
        };
        assert_eq!(
            (changed.provider_message_id.as_str(), changed.status),
            ("777", status as i32)
        );
        assert!(changed.message_id.is_empty());
        if status == MessageStatus::Failed {
            assert!(changed.failure_reason.contains("keyboard is not valid"));
        }
    }
}

#[test]
fn subscriptions_are_system_messages() {
    let (event, subscribed) = received(&callbacks::subscribed(11, USER, "John McClane"));
    assert_eq!(subscribed.author_kind, AuthorKind::System as i32);
    assert!(subscribed.text.contains("subscribed"));
    assert_eq!(
        subscribed.peer.as_ref().map(|p| p.first_name.as_str()),
        Some("John McClane")
    );
    assert_eq!(
        event.conversation_id,
        ids::conversation_id("ch_viber", USER)
    );
    let (other, unsubscribed) = received(&callbacks::unsubscribed(12, USER));
    assert!(
        unsubscribed.text.contains("unsubscribed"),
        "{}",
        unsubscribed.text
    );
    assert_ne!(other.id, event.id);
    assert!(!other.id.contains(USER), "user ids stay out of event ids");
}

#[test]
fn conversation_started_opens_nothing_and_answers_the_welcome() {
    let started = callbacks::conversation_started(13, USER, "John McClane");
    let silent = run(&CHANNEL, &started);
    assert!(silent.events.is_empty() && silent.answer.is_none());
    let channel = ChannelView {
        welcome_message: "Welcome! Write your order number.",
        ..CHANNEL
    };
    let welcomed = run(&channel, &started);
    assert!(
        welcomed.events.is_empty(),
        "no conversation until the customer writes"
    );
    let answer = welcomed.answer.expect("a welcome message");
    assert_eq!(answer["type"], "text");
    assert_eq!(answer["text"], "Welcome! Write your order number.");
    assert_eq!(answer["sender"]["name"], "Acme Support");
    assert!(
        answer.get("receiver").is_none(),
        "viber addresses the welcome itself"
    );
}

#[test]
fn webhook_checks_and_unusable_callbacks_store_nothing() {
    assert_eq!(
        run(&CHANNEL, &callbacks::webhook(14)),
        Normalized::default()
    );
    let nameless = serde_json::json!({ "event": "message", "message_token": 5, "message": { "type": "text", "text": "x" } });
    assert!(run(&CHANNEL, &nameless).events.is_empty());
    let tokenless = callbacks::status("seen", 0, USER, "");
    assert!(run(&CHANNEL, &tokenless).events.is_empty());
    assert!(
        run(&CHANNEL, &serde_json::json!({ "event": "client_status" }))
            .events
            .is_empty()
    );
}
