use std::collections::HashMap;

use omnibus_core::ids;
use omnibus_proto::{
    AttachmentKind, AuthorKind, Direction, MessageReceived, MessageStatus, event::Payload,
};
use omnibus_wazzup_standin::webhook::{
    self, CHANNEL_ID, CHAT_ID, GROUP_CHAT_ID, INSTAGRAM_CHANNEL_ID, MESSAGE_KINDS,
    SECOND_CHANNEL_ID,
};
use serde_json::Value;

use super::message::chat_key;
use super::*;
use crate::wire::parse_webhook;

fn account() -> Account {
    let link = |channel_id: &str, wazzup: &str| Linked {
        channel_id: channel_id.into(),
        wazzup_channel_id: wazzup.into(),
    };
    Account {
        channels: vec![link("ch_a", CHANNEL_ID), link("ch_b", SECOND_CHANNEL_ID)],
    }
}

fn sends() -> HashMap<String, SentRef> {
    HashMap::from([(
        "out-1".to_owned(),
        SentRef {
            channel_id: "ch_a".into(),
            conversation_id: "cv_1".into(),
            message_id: "msg_1".into(),
        },
    )])
}

fn run(body: &Value) -> Normalized {
    let webhook = parse_webhook(&serde_json::to_vec(body).unwrap()).unwrap();
    normalize(&account(), &webhook, &sends())
}

fn received(body: &Value) -> MessageReceived {
    let out = run(body);
    assert_eq!(out.events.len(), 1, "{out:?}");
    match out.events[0].payload.clone() {
        Some(Payload::MessageReceived(m)) => m,
        other => panic!("expected MessageReceived, got {other:?}"),
    }
}

#[test]
fn a_text_lands_on_the_channel_of_its_channel_id_with_an_e164_phone() {
    let out = run(&webhook::messages(vec![webhook::text(
        CHANNEL_ID, "m-1", "Hello",
    )]));
    let event = &out.events[0];
    assert_eq!(event.id, "wazzup:ch_a:m-1");
    assert_eq!(event.channel_id, "ch_a");
    let key = chat_key("whatsapp", CHAT_ID);
    assert_eq!(event.conversation_id, ids::conversation_id("ch_a", &key));
    assert_eq!(event.occurred_at_ms, 1_753_627_859_220);
    let Some(Payload::MessageReceived(message)) = &event.payload else {
        panic!("not a message");
    };
    assert_eq!(message.text, "Hello");
    assert_eq!(message.direction(), Direction::Inbound);
    let peer = message.peer.clone().unwrap();
    assert_eq!(peer.phone, "+79011112233");
    assert_eq!(peer.first_name, "Ivan");
}

#[test]
fn several_numbers_of_one_key_are_several_channels() {
    let body = webhook::messages(vec![
        webhook::text(CHANNEL_ID, "m-1", "to the first number"),
        webhook::text(SECOND_CHANNEL_ID, "m-2", "to the second number"),
        webhook::text(INSTAGRAM_CHANNEL_ID, "m-3", "to a channel not connected"),
    ]);
    let out = run(&body);
    let channels: Vec<&str> = out.events.iter().map(|e| e.channel_id.as_str()).collect();
    assert_eq!(channels, ["ch_a", "ch_b"]);
    assert_ne!(out.events[0].conversation_id, out.events[1].conversation_id);
    assert_eq!(
        out.skipped,
        ["message of a Wazzup channel not connected to Omnibus"]
    );
}

#[test]
fn every_message_kind_gives_one_event() {
    for kind in MESSAGE_KINDS {
        let out = run(&webhook::messages(vec![webhook::sample(kind, "m-1")]));
        assert_eq!(out.events.len(), 1, "{kind}: {out:?}");
    }
}

#[test]
fn media_vcards_locations_calls_and_unsupported() {
    for (kind, expected) in [
        ("image", AttachmentKind::Image),
        ("video", AttachmentKind::Video),
        ("audio", AttachmentKind::Audio),
        ("document", AttachmentKind::Document),
        ("vcard", AttachmentKind::Contact),
        ("geo", AttachmentKind::Location),
    ] {
        let message = received(&webhook::messages(vec![webhook::sample(kind, "m-1")]));
        assert_eq!(message.attachments.len(), 1, "{kind}");
        assert_eq!(message.attachments[0].kind(), expected, "{kind}");
    }
    let image = received(&webhook::messages(vec![webhook::sample("image", "m-9")]));
    assert_eq!(
        image.attachments[0].url,
        "https://store.wazzup24.com/m-9.bin"
    );
    let card = received(&webhook::messages(vec![webhook::sample("vcard", "m-1")]));
    let contact = card.attachments[0].contact.clone().unwrap();
    assert_eq!(
        (contact.name.as_str(), contact.phone.as_str()),
        ("Anna Petrova", "+79161234567")
    );
    let geo = received(&webhook::messages(vec![webhook::sample("geo", "m-1")]));
    assert!((geo.attachments[0].location.clone().unwrap().latitude - 55.751244).abs() < 1e-9);
    let call = received(&webhook::messages(vec![webhook::sample(
        "missing_call",
        "m-1",
    )]));
    assert_eq!(
        (call.text.as_str(), call.author_kind()),
        ("Missed call from the customer", AuthorKind::System)
    );
    let odd = received(&webhook::messages(vec![webhook::sample(
        "unsupported",
        "m-1",
    )]));
    assert_eq!(odd.author_kind(), AuthorKind::System);
    assert_eq!(odd.unshown_kind, "unsupported", "counted by the kit");
    let template = received(&webhook::messages(vec![webhook::sample(
        "wapi_template",
        "m-1",
    )]));
    assert_eq!(template.text, "Your order 123 is ready");
}

#[test]
fn quotes_edits_and_deletes_keep_the_message_they_are_about() {
    let key = chat_key("whatsapp", CHAT_ID);
    let quoted = received(&webhook::messages(vec![webhook::sample("quoted", "m-2")]));
    assert_eq!(
        quoted.reply_to_message_id,
        ids::inbound_message_id("ch_a", &key, "earlier-1")
    );
    let original = ids::inbound_message_id("ch_a", &key, "m-1");
    for (kind, deleted, text) in [("edited", false, "Edited text"), ("deleted", true, "")] {
        let out = run(&webhook::messages(vec![webhook::sample(kind, "m-1")]));
        let Some(Payload::MessageEdited(edit)) = &out.events[0].payload else {
            panic!("{kind} is not an edit");
        };
        assert_eq!(edit.message_id, original, "{kind}");
        assert_eq!(
            (edit.deleted, edit.text.as_str()),
            (deleted, text),
            "{kind}"
        );
    }
    let mut again = webhook::sample("edited", "m-1");
    again["text"] = "Edited twice".into();
    let first = run(&webhook::messages(vec![webhook::sample("edited", "m-1")]));
    let second = run(&webhook::messages(vec![again]));
    assert_ne!(first.events[0].id, second.events[0].id, "each edit is kept");
}

#[test]
fn echoes_from_the_phone_are_external_and_ours_are_matched_not_shown() {
    let echo = received(&webhook::messages(vec![webhook::sample("echo", "m-5")]));
    assert_eq!(echo.direction(), Direction::Outbound);
    assert_eq!(echo.author_kind(), AuthorKind::ExternalDevice);
    assert_eq!(echo.author_name, "Maria");
    let ours = run(&webhook::messages(vec![webhook::our_echo(
        "out-7",
        "msg_abc-1",
        "Hi",
    )]));
    let Some(Payload::DeliveryStatusChanged(status)) = &ours.events[0].payload else {
        panic!("our echo is not a status");
    };
    assert_eq!(status.message_id, "msg_abc");
    assert_eq!(status.provider_message_id, "out-7");
    assert_eq!(status.status(), MessageStatus::Sent);
}

#[test]
fn group_chats_name_the_author_on_each_message() {
    let message = received(&webhook::messages(vec![webhook::group(
        "g-1",
        "Oleg",
        "79035556677",
        "Price?",
    )]));
    let peer = message.peer.clone().unwrap();
    assert!(peer.is_group);
    assert_eq!(peer.chat_title, "Wholesale buyers");
    assert_eq!(peer.provider_chat_id, chat_key("whatsgroup", GROUP_CHAT_ID));
    assert_eq!(message.author_name, "Oleg");
    let other = received(&webhook::messages(vec![webhook::group(
        "g-2",
        "Anna",
        "79035550000",
        "Hi",
    )]));
    assert_eq!(
        message.contact_id, other.contact_id,
        "the group is the contact"
    );
}

#[test]
fn statuses_go_to_the_message_they_refer_to_forward_and_readable() {
    let body = webhook::messages_and_statuses(
        vec![webhook::text(CHANNEL_ID, "m-1", "Hello")],
        vec![
            webhook::status("out-1", "delivered", None),
            webhook::status("out-1", "error", Some("BAD_CONTACT")),
            webhook::status("unknown", "read", None),
        ],
    );
    let out = run(&body);
    assert_eq!(out.events.len(), 3, "{out:?}");
    let Some(Payload::DeliveryStatusChanged(delivered)) = &out.events[1].payload else {
        panic!("not a status");
    };
    assert_eq!(out.events[1].conversation_id, "cv_1");
    assert_eq!(delivered.message_id, "msg_1");
    assert_eq!(delivered.status(), MessageStatus::Delivered);
    let Some(Payload::DeliveryStatusChanged(failed)) = &out.events[2].payload else {
        panic!("not a status");
    };
    assert_eq!(failed.status(), MessageStatus::Failed);
    assert!(
        failed.failure_reason.contains("does not exist"),
        "{}",
        failed.failure_reason
    );
    assert_ne!(out.events[1].id, out.events[2].id);
    assert!(
        out.skipped
            .contains(&"status of a message Omnibus did not send")
    );
}

#[test]
fn a_closed_window_goes_back_to_the_window_service() {
    let out = run(&webhook::statuses(vec![webhook::status(
        "out-1",
        "error",
        Some("24_HOURS_EXCEEDED"),
    )]));
    let Some(Payload::MessageOutsideWindow(window)) = &out.events[0].payload else {
        panic!("not an outside-window event");
    };
    assert_eq!(window.message_id, "msg_1");
    assert_eq!(window.provider_code, "24_HOURS_EXCEEDED");
}

#[test]
fn without_a_token_only_bodies_naming_the_account_are_accepted() {
    let parse = |body: &Value| parse_webhook(&serde_json::to_vec(body).unwrap()).unwrap();
    let ours = parse(&webhook::messages(vec![webhook::text(
        CHANNEL_ID, "m", "x",
    )]));
    let others = parse(&webhook::messages(vec![webhook::text(
        "another-channel",
        "m",
        "x",
    )]));
    let our_status = parse(&webhook::statuses(vec![webhook::status(
        "out-1", "read", None,
    )]));
    let unknown_status = parse(&webhook::statuses(vec![webhook::status(
        "nope", "read", None,
    )]));
    assert!(names_account(&account(), &ours, &sends()));
    assert!(!names_account(&account(), &others, &sends()));
    assert!(names_account(&account(), &our_status, &sends()));
    assert!(!names_account(&account(), &unknown_status, &sends()));
    assert!(!names_account(
        &account(),
        &parse(&webhook::test()),
        &sends()
    ));
}
