//! Normalization of every message type, from webhooks in Meta's real shape.

use omnibus_core::ids;
use omnibus_proto::{
    AttachmentKind, AuthorKind, Direction, Event, MessageReceived, MessageStatus, TemplateStatus,
    event::Payload, template_changed::Change,
};
use omnibus_whatsapp_standin::webhook::{self, Customer, MESSAGE_KINDS, PHONE_NUMBER_ID};
use serde_json::{Value, json};

use super::*;
use crate::wire::parse_notification;

pub(super) const CHANNEL: &str = "ch_wa1";
pub(super) const WA_ID: &str = "16505551234";
pub(super) const TS: i64 = 1_749_416_383;

fn view() -> ChannelView<'static> {
    ChannelView {
        id: CHANNEL,
        phone_number_id: PHONE_NUMBER_ID,
        business_account_id: webhook::BUSINESS_ACCOUNT_ID,
    }
}

pub(super) fn run(payload: &Value) -> Normalized {
    let notification = parse_notification(payload.to_string().as_bytes()).expect("a webhook");
    normalize(&view(), &notification)
}

pub(super) fn only_event(payload: &Value) -> Event {
    let mut out = run(payload);
    assert_eq!(out.events.len(), 1, "{out:?}");
    match out.events.remove(0) {
        Routed::Conversation(event) | Routed::Template(event) => event,
    }
}

pub(super) fn received(message: Value) -> MessageReceived {
    let payload = webhook::messages(PHONE_NUMBER_ID, &Customer::default(), vec![message]);
    match only_event(&payload).payload {
        Some(Payload::MessageReceived(received)) => received,
        other => panic!("not a MessageReceived: {other:?}"),
    }
}

fn sample(kind: &str) -> MessageReceived {
    received(webhook::sample(kind, WA_ID, &format!("wamid.{kind}"), TS).expect("a sample"))
}

#[test]
fn a_text_message_opens_the_customers_conversation() {
    let payload = webhook::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        vec![webhook::text(
            WA_ID,
            "wamid.A1",
            TS,
            "Does it come in another color?",
        )],
    );
    let event = only_event(&payload);
    assert_eq!(event.id, "whatsapp:ch_wa1:wamid.A1");
    assert_eq!(event.occurred_at_ms, TS * 1000, "the provider's time");
    assert_eq!(event.channel_id, CHANNEL);
    assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, WA_ID));
    let Some(Payload::MessageReceived(m)) = event.payload else {
        panic!("not a MessageReceived");
    };
    assert_eq!(
        m.message_id,
        ids::inbound_message_id(CHANNEL, WA_ID, "wamid.A1")
    );
    assert_eq!(m.provider_message_id, "wamid.A1");
    assert_eq!(m.text, "Does it come in another color?");
    assert_eq!(m.author_kind(), AuthorKind::Contact);
    assert_eq!(m.direction(), Direction::Inbound);
    assert_eq!(m.author_name, "Sheena Nelson");
    assert_eq!(m.contact_id, ids::contact_id(CHANNEL, WA_ID));
    let peer = m.peer.expect("peer");
    assert_eq!(peer.first_name, "Sheena Nelson");
    assert_eq!(peer.phone, "+16505551234", "E.164 with +");
    assert_eq!(peer.provider_chat_id, WA_ID);
    assert_eq!(peer.provider_user_id, WA_ID);
}

#[test]
fn media_keep_the_media_id_mime_type_caption_and_file_name() {
    let cases = [
        (
            "image",
            AttachmentKind::Image,
            "image/jpeg",
            "Photo of the damaged box",
            "2754859441498128",
        ),
        (
            "video",
            AttachmentKind::Video,
            "video/mp4",
            "Unboxing",
            "1184104909773373",
        ),
        (
            "document",
            AttachmentKind::Document,
            "application/pdf",
            "My invoice",
            "1229413348612353",
        ),
        (
            "sticker",
            AttachmentKind::Sticker,
            "image/webp",
            "",
            "1312245659870264",
        ),
        (
            "audio",
            AttachmentKind::Audio,
            "audio/mpeg",
            "",
            "1003383421387256",
        ),
        (
            "voice",
            AttachmentKind::Voice,
            "audio/ogg; codecs=opus",
            "",
            "1003383421387257",
        ),
    ];
    for (kind, attachment_kind, mime, caption, media_id) in cases {
        let m = sample(kind);
        assert_eq!(m.text, caption, "{kind}");
        assert_eq!(m.attachments.len(), 1, "{kind}");
        let a = &m.attachments[0];
        assert_eq!(a.kind(), attachment_kind, "{kind}");
        assert_eq!(a.mime_type, mime, "{kind}");
        assert_eq!(a.provider_file_id, media_id, "{kind}");
        assert_eq!(m.author_kind(), AuthorKind::Contact, "{kind}");
    }
    assert_eq!(
        sample("document").attachments[0].file_name,
        "invoice-A12345.pdf"
    );
}

#[test]
fn locations_and_contact_cards_become_attachments() {
    let place = sample("location").attachments.remove(0);
    assert_eq!(place.kind(), AttachmentKind::Location);
    let location = place.location.expect("location");
    assert!((location.latitude - 37.483307).abs() < 1e-9);
    assert!((location.longitude + 122.148981).abs() < 1e-9);
    assert_eq!(location.title, "Philz Coffee");
    assert_eq!(location.address, "101 Forest Ave, Palo Alto, CA 94301");

    let card = sample("contacts").attachments.remove(0);
    assert_eq!(card.kind(), AttachmentKind::Contact);
    let contact = card.contact.expect("contact");
    assert_eq!(contact.name, "Barbara Johnson");
    assert_eq!(contact.phone, "+1 (940) 555-1234");
    assert_eq!(contact.provider_user_id, "19405551234");
}

#[test]
fn button_and_list_replies_read_as_the_chosen_title() {
    assert_eq!(sample("button_reply").text, "Change");
    assert_eq!(sample("list_reply").text, "Express Shipping");
    assert_eq!(sample("button").text, "Stop promotions");
    for kind in ["button_reply", "list_reply", "button"] {
        assert_eq!(sample(kind).author_kind(), AuthorKind::Contact, "{kind}");
    }
}

#[test]
fn a_reply_points_at_the_quoted_message() {
    let quoted = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
    let message = webhook::replying_to(
        webhook::text(WA_ID, "wamid.R1", TS, "this one"),
        WA_ID,
        quoted,
    );
    let m = received(message);
    assert_eq!(
        m.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, WA_ID, quoted)
    );
    assert_eq!(
        m.reply_to_provider_message_id, quoted,
        "for answers to our messages"
    );
    assert_eq!(m.text, "this one");
}

#[test]
fn a_reaction_is_its_emoji_on_the_reacted_message() {
    let m = sample("reaction");
    assert_eq!(m.text, "\u{1F44D}");
    let reacted = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
    assert_eq!(
        m.reply_to_message_id,
        ids::inbound_message_id(CHANNEL, WA_ID, reacted)
    );
    assert_eq!(m.reply_to_provider_message_id, reacted);
    let removed = received(webhook::message(
        WA_ID,
        "wamid.R2",
        TS,
        "reaction",
        json!({"message_id": reacted, "emoji": ""}),
    ));
    assert_eq!(removed.text, "(removed a reaction)");
}

#[test]
fn unsupported_errors_and_system_messages_are_kept_as_system_notices() {
    for kind in ["unsupported", "errors", "system"] {
        let m = sample(kind);
        assert_eq!(m.author_kind(), AuthorKind::System, "{kind}");
        assert_eq!(m.direction(), Direction::Inbound, "{kind}");
        assert!(!m.text.is_empty(), "{kind}");
        assert!(
            m.peer.is_some(),
            "{kind}: still the customer's conversation"
        );
    }
    let unsupported = sample("unsupported").text;
    assert!(
        unsupported.contains("131051 Message type unknown"),
        "{unsupported}"
    );
    assert!(unsupported.contains("poll"), "{unsupported}");
    assert!(sample("errors").text.contains("131060"));
    assert!(sample("system").text.contains("changed from"));
    let unknown = received(webhook::message(
        WA_ID,
        "wamid.U",
        TS,
        "hologram",
        json!({}),
    ));
    assert_eq!(unknown.author_kind(), AuthorKind::System);
    assert!(unknown.text.contains("hologram"));
}

#[test]
fn a_call_notice_becomes_a_system_message_in_the_conversation() {
    let m = received(json!({
        "from": WA_ID, "id": "wamid.C1", "timestamp": TS.to_string(), "type": "unsupported",
        "errors": [{"code": 131051, "title": "Message type unknown",
                    "error_data": {"details": "Voice call is not supported"}}],
        "unsupported": {"type": "call"}
    }));
    assert_eq!(m.author_kind(), AuthorKind::System);
    assert!(m.text.contains("tried to call"), "{}", m.text);

    let payload = webhook::call(
        PHONE_NUMBER_ID,
        &Customer::default(),
        "wacid.1",
        "terminate",
        TS,
    );
    let event = only_event(&payload);
    assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, WA_ID));
    assert_eq!(event.id, "whatsapp:ch_wa1:call:wacid.1:terminate");
    let Some(Payload::MessageReceived(call)) = event.payload else {
        panic!("not a message");
    };
    assert_eq!(call.author_kind(), AuthorKind::System);
    assert!(call.text.contains("42 s"), "{}", call.text);
}

#[test]
fn every_sample_kind_gives_exactly_one_message() {
    for kind in MESSAGE_KINDS {
        let m = sample(kind);
        assert!(
            !m.text.is_empty() || !m.attachments.is_empty(),
            "{kind} says something"
        );
        assert_eq!(m.provider_message_id, format!("wamid.{kind}"));
    }
}

#[test]
fn statuses_name_the_wamid_and_never_our_message_id() {
    let payload = webhook::statuses(
        PHONE_NUMBER_ID,
        vec![
            webhook::status("wamid.OUT1", "read", TS + 5, WA_ID),
            webhook::status("wamid.OUT1", "delivered", TS + 3, WA_ID),
            webhook::failed_status(
                "wamid.OUT2",
                TS,
                WA_ID,
                131047,
                "Re-engagement message",
                "24h",
            ),
            webhook::status("wamid.OUT3", "deleted", TS, WA_ID),
        ],
    );
    let out = run(&payload);
    assert_eq!(out.events.len(), 3, "the unknown status is skipped");
    let statuses: Vec<(String, DeliveryStatus)> = out
        .events
        .iter()
        .map(|r| {
            let event = r.event();
            assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, WA_ID));
            let Some(Payload::DeliveryStatusChanged(s)) = &event.payload else {
                panic!("not a status");
            };
            assert!(s.message_id.is_empty());
            (
                event.id.clone(),
                (
                    s.provider_message_id.clone(),
                    s.status(),
                    s.failure_reason.clone(),
                ),
            )
        })
        .collect();
    assert_eq!(statuses[0].0, "whatsapp:ch_wa1:status:wamid.OUT1:read");
    assert_eq!(statuses[0].1.1, MessageStatus::Read);
    assert_eq!(statuses[1].1.1, MessageStatus::Delivered);
    assert_eq!(
        statuses[2].1,
        (
            "wamid.OUT2".into(),
            MessageStatus::Failed,
            "131047 Re-engagement message".into()
        )
    );
}

type DeliveryStatus = (String, MessageStatus, String);

#[test]
fn echoes_are_outbound_messages_from_the_business_phone() {
    let payload = webhook::echo(PHONE_NUMBER_ID, WA_ID, "wamid.E1", TS, "Sent from my phone");
    let event = only_event(&payload);
    assert_eq!(event.conversation_id, ids::conversation_id(CHANNEL, WA_ID));
    let Some(Payload::MessageReceived(m)) = event.payload else {
        panic!("not a message");
    };
    assert_eq!(m.direction(), Direction::Outbound);
    assert_eq!(m.author_kind(), AuthorKind::ExternalDevice);
    assert_eq!(m.text, "Sent from my phone");
}

#[test]
fn template_status_updates_go_to_the_template_subject() {
    let payload = webhook::template_status(
        1_234_567,
        "order_update",
        "en_US",
        "REJECTED",
        "INVALID_FORMAT",
    );
    let mut out = run(&payload);
    let Routed::Template(event) = out.events.remove(0) else {
        panic!("not a template event");
    };
    assert!(event.conversation_id.is_empty());
    let Some(Payload::TemplateChanged(changed)) = event.payload else {
        panic!("not TemplateChanged");
    };
    assert_eq!(changed.change(), Change::Status);
    let template = changed.template.expect("template");
    assert_eq!(template.name, "order_update");
    assert_eq!(template.language, "en_US");
    assert_eq!(template.status(), TemplateStatus::Rejected);
    assert_eq!(template.status_reason, "INVALID_FORMAT");
    assert_eq!(template.provider_template_id, "1234567");
    let approved = webhook::template_status(1, "order_update", "en_US", "APPROVED", "NONE");
    let Routed::Template(event) = run(&approved).events.remove(0) else {
        panic!("not a template event");
    };
    let Some(Payload::TemplateChanged(changed)) = event.payload else {
        panic!("not TemplateChanged");
    };
    assert_eq!(
        changed.template.as_ref().unwrap().status_reason,
        "",
        "NONE is no reason"
    );
}

#[test]
fn changes_for_another_number_are_skipped_but_ours_in_the_same_webhook_are_kept() {
    let ours = webhook::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        vec![webhook::text(WA_ID, "wamid.OURS", TS, "mine")],
    );
    let theirs = webhook::messages(
        "999000111222333",
        &Customer::default(),
        vec![webhook::text(WA_ID, "wamid.THEIRS", TS, "not mine")],
    );
    let out = run(&webhook::batch(&[theirs, ours]));
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].event().id, "whatsapp:ch_wa1:wamid.OURS");
    assert!(out.skipped.contains(&"change for another phone number"));
}

#[test]
fn many_messages_in_one_webhook_are_each_an_event_in_order() {
    let messages = (1..=5)
        .map(|i| webhook::text(WA_ID, &format!("wamid.M{i}"), TS + i, &format!("part {i}")))
        .collect();
    let out = run(&webhook::messages(
        PHONE_NUMBER_ID,
        &Customer::default(),
        messages,
    ));
    let ids: Vec<&str> = out.events.iter().map(|r| r.event().id.as_str()).collect();
    assert_eq!(
        ids,
        (1..=5)
            .map(|i| format!("whatsapp:ch_wa1:wamid.M{i}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn odd_shapes_inside_a_webhook_do_not_cost_the_rest() {
    let payload = json!({"object": "whatsapp_business_account", "entry": [
        {"id": 1, "changes": [
            {"field": "messages", "value": {"metadata": {"phone_number_id": PHONE_NUMBER_ID},
                "messages": [
                    {"from": WA_ID, "id": "wamid.BAD", "timestamp": 1, "type": "image", "image": "oops"},
                    {"id": "wamid.NOFROM", "type": "text", "text": {"body": "?"}},
                    42,
                    {"from": 16505551234_i64, "id": "wamid.OK", "timestamp": TS, "type": "text",
                     "text": {"body": "fine"}}
                ]}},
            {"field": "messages", "value": "not an object"},
            {"field": "account_update", "value": {}}
        ]},
        "garbage"
    ]});
    let out = run(&payload);
    let ids: Vec<&str> = out.events.iter().map(|r| r.event().id.as_str()).collect();
    assert_eq!(
        ids,
        ["whatsapp:ch_wa1:wamid.BAD", "whatsapp:ch_wa1:wamid.OK"]
    );
    let Some(Payload::MessageReceived(bad)) = &out.events[0].event().payload else {
        panic!("a notice");
    };
    assert_eq!(
        bad.author_kind(),
        AuthorKind::System,
        "unreadable, still shown"
    );
}

#[test]
fn the_parser_never_panics_on_truncated_or_garbage_bodies() {
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    for kind in MESSAGE_KINDS {
        let message = webhook::sample(kind, WA_ID, "wamid.F", TS).unwrap();
        bodies.push(
            webhook::messages(PHONE_NUMBER_ID, &Customer::default(), vec![message])
                .to_string()
                .into_bytes(),
        );
    }
    bodies.push(
        webhook::statuses(
            PHONE_NUMBER_ID,
            vec![webhook::status("w", "read", TS, WA_ID)],
        )
        .to_string()
        .into_bytes(),
    );
    bodies.push(
        webhook::template_status(1, "t", "en", "APPROVED", "NONE")
            .to_string()
            .into_bytes(),
    );
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut tried = 0;
    for body in &bodies {
        for cut in (0..body.len()).step_by(7) {
            check(&body[..cut]);
            tried += 1;
        }
        for _ in 0..200 {
            let mut mutated = body.clone();
            let at = usize::try_from(next() % mutated.len() as u64).unwrap_or(0);
            mutated[at] = (next() & 0xff) as u8;
            check(&mutated);
            tried += 1;
        }
    }
    for _ in 0..500 {
        let garbage: Vec<u8> = (0..(next() % 64)).map(|_| (next() & 0xff) as u8).collect();
        check(&garbage);
    }
    assert!(tried > 1000);

    fn check(body: &[u8]) {
        if let Ok(notification) = parse_notification(body) {
            let _ = normalize(&view(), &notification);
        }
    }
}

#[test]
fn bodies_that_are_not_whatsapp_webhooks_are_refused() {
    for body in [
        &b"{not json"[..],
        b"[]",
        b"{}",
        br#"{"object":"instagram","entry":[]}"#,
        b"\"x\"",
    ] {
        assert!(
            parse_notification(body).is_err(),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert!(parse_notification(br#"{"object":"whatsapp_business_account","entry":[]}"#).is_ok());
}
